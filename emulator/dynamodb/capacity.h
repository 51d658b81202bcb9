/* dynamodb/capacity — how DynamoDB's actions meet the throughput model
 * (capacity/throughput.h), with AWS's throttling messages.
 *
 * The table bucket is checked before an action does its work; a write's
 * GSI buckets after the work, on the indexes the write actually touched
 * (the action then fails and its transaction rolls back, so nothing was
 * written); the actual cost is charged after success, and for a write
 * whose condition failed. A refused request costs nothing. LSI writes and
 * reads are charged to the table; GSI ones to the index. */
#ifndef TP_DDB_CAPACITY_H
#define TP_DDB_CAPACITY_H

#include "capacity/throughput.h"
#include "ddb.h"
#include "index.h"

#define TP_CAP_TABLE_MESSAGE                                                                       \
    "The level of configured provisioned throughput for the table was exceeded. Consider "         \
    "increasing your provisioning level with the UpdateTable API."
#define TP_CAP_GSI_MESSAGE                                                                         \
    "The level of configured provisioned throughput for one or more global secondary indexes of " \
    "the table was exceeded. Consider increasing your provisioning level for the "                  \
    "under-provisioned global secondary indexes with the UpdateTable API"
#define TP_CAP_TXN_MESSAGE                                                                         \
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically "   \
    "scaling your table or index so please try again shortly. If exceptions persist, check if "    \
    "you have a hot key: "                                                                         \
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html."

/* The two buckets of a table or GSI (the dimensions of its tp_cap_resource). */
typedef enum { TP_CAP_READ = 0, TP_CAP_WRITE = 1 } tp_cap_kind;

/* Why a bucket refused: ThrottlingReason's LimitType. */
typedef enum {
    DDB_LIMIT_PROVISIONED = 0,   /* ProvisionedThroughputExceeded: a provisioned table or GSI */
    DDB_LIMIT_ACCOUNT,           /* AccountLimitExceeded: an on-demand table's per-table quota */
    DDB_LIMIT_KEY_RANGE,         /* KeyRangeThroughputExceeded: one partition's limit */
    DDB_LIMIT_MAX_ON_DEMAND      /* MaxOnDemandThroughputExceeded: OnDemandThroughput */
} ddb_limit;

/* ThrottlingReason.reason, e.g. "IndexWriteKeyRangeThroughputExceeded"
 * (index: 1 for a GSI, 0 for the table). Static. */
const char *ddb_throttle_reason(int index, tp_cap_kind kind, ddb_limit limit);
/* Adds {"reason", "resource"} to the request's error members'
 * ThrottlingReasons (r->error_fields; once per pair). Every refusal by
 * ddb_cap_admit does this, so whichever throttling exception the action
 * then raises (ProvisionedThroughputExceededException, or a batch all of
 * whose items were refused) carries why; an exception without the member
 * (TransactionCanceledException) replaces the fields. */
void ddb_capacity_add_reason(tp_req *r, const char *reason, const char *resource);

/* Where a table's or GSI's rates come from, first match wins: a run-time
 * override (POST /_tidepool/capacity {"table", "index"?, "read"?,
 * "write"?}, applied by capacity/), the config file's "capacity":
 * {"tables": {NAME: {"read": R, "write": W, "gsi": {INDEX: {"read": R,
 * "write": W}}}}}, the table's (or GSI's) current ProvisionedThroughput in
 * its stored description (so UpdateTable takes effect as soon as it is
 * applied; desc's TableName names the table). A provisioned bucket holds "burst_seconds" (300) of unused
 * capacity; a PAY_PER_REQUEST table throttles only at its ceilings
 * ("on_demand_max_read" / "on_demand_max_write", 40000 units/s by
 * default), with no burst beyond one second. */
void ddb_capacity_describe(const tp_core *core, const char *table, int64_t table_id,
                           const cJSON *desc, const char *index, tp_cap_resource *res);
/* Admission and charge for a table (index NULL) or GSI given by its stored
 * description: 1 admit / 0 refused (a throttle). */
int ddb_cap_admit(tp_req *r, int64_t table_id, const char *table, const cJSON *desc,
                  const char *index, tp_cap_kind kind);
void ddb_cap_charge(tp_req *r, int64_t table_id, const char *table, const cJSON *desc,
                    const char *index, tp_cap_kind kind, double units);
/* A table's stored description changed (UpdateTable applied throughput or
 * billing mode): its existing buckets (table and GSIs) switch to the rates
 * desc now gives, from now_ms. */
void ddb_capacity_table_changed(tp_core *core, int64_t table_id, const cJSON *desc,
                                int64_t now_ms);

/* Partitions (capacity/'s key ranges) of a table (index NULL) or GSI
 * whose buckets res describes: enough for its throughput (provisioned:
 * its rates; on-demand: its WarmThroughput) and, for a table, its size,
 * at the config file's "capacity": {"partitions": {"read_units" (3000),
 * "write_units" (1000), "size_bytes" (10 GiB), "burst_seconds" (10),
 * "split_for_heat_seconds" (300), "adaptive" (true), "enabled" (true),
 * "on_demand_warm_read" (12000), "on_demand_warm_write" (4000)}}.
 * Returns 0, or -1 when partitions are off. */
int ddb_partitions_describe(const tp_core *core, const ddb_table *t, const char *index,
                            const tp_cap_resource *res, tp_cap_ranges *pr);
/* The key-space hash of an encoded partition key (its partition). */
uint32_t ddb_partition_hash(const tp_buf *hk);
/* Admission of a table (index NULL) or GSI read or write; hk the encoded
 * partition key it goes to (NULL: the resource as a whole, as a Scan).
 * TP_CAP_ADMITTED, TP_CAP_REFUSED (the table's or GSI's bucket) or
 * TP_CAP_REFUSED_RANGE (the key's partition); a refusal adds its
 * ThrottlingReason. */
int ddb_cap_admit_key(tp_req *r, const ddb_table *t, const char *index, tp_cap_kind kind,
                      const tp_buf *hk);
/* -1 with ProvisionedThroughputExceededException for a refusal
 * (ddb_cap_admit_key's answer): the table's, the GSI's or the hot key's
 * message. */
int ddb_capacity_refused(int admitted, int index, tp_error *err);

/* DynamoDB glue. -1 with ProvisionedThroughputExceededException when the
 * table's bucket of that kind, or hk's partition, refuses. */
int ddb_capacity_admit(tp_req *r, const ddb_table *t, tp_cap_kind kind, const tp_buf *hk,
                       tp_error *err);
/* After a write's work: -1 with the GSI message when a GSI the write
 * touched (rep) refuses; otherwise charges table_units plus LSI units to
 * the table (and hk's partition) and each GSI's units to the GSI, and
 * returns 0. */
int ddb_capacity_settle_write(tp_req *r, const ddb_table *t, double table_units,
                              const ddb_index_report *rep, const tp_buf *hk, tp_error *err);
/* Charges units to the table (index NULL; hk's partition too when given)
 * or to a GSI. */
void ddb_capacity_charge(tp_req *r, const ddb_table *t, const char *index,
                         tp_cap_kind kind, double units, const tp_buf *hk);
/* 1 when index names a GSI of t. */
int ddb_capacity_is_gsi(const ddb_table *t, const char *index);

#endif
