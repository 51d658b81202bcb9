/* capacity/throughput — provisioned throughput per table and per GSI.
 *
 * One read and one write token bucket (bucket.h) per (account, region,
 * table[, index]), kept in memory per tp_core, driven only by the request's
 * clock reading (tp_req.now_ms), so in virtual time the same calls at the
 * same times throttle the same way every run. POST /_tidepool/reset clears
 * them (tp_capacity_reset).
 *
 * The rate of a bucket, first match wins: a run-time override (POST
 * /_tidepool/capacity), the config file's "capacity": {"tables": {NAME:
 * {"read": R, "write": W, "gsi": {INDEX: {"read": R, "write": W}}}}}, the
 * table's (or GSI's) current ProvisionedThroughput in its stored
 * description (so UpdateTable takes effect as soon as it is applied). A
 * provisioned bucket holds up to 300 s of unused capacity ("capacity":
 * {"burst_seconds": 300}) and starts full ("start_full": true). A
 * PAY_PER_REQUEST table throttles only at its ceilings ("on_demand_max_read"
 * / "on_demand_max_write", 40000 units/s by default), with no burst beyond
 * one second.
 *
 * How DynamoDB's actions use the buckets (and AWS's throttling messages)
 * is in dynamodb/capacity.h. */
#ifndef TP_CAPACITY_THROUGHPUT_H
#define TP_CAPACITY_THROUGHPUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/core.h"
#include "core/error.h"

typedef struct cJSON cJSON;

typedef enum { TP_CAP_READ = 0, TP_CAP_WRITE = 1 } tp_cap_kind;

/* Generic: index NULL = the table. desc is the stored TableDescription.
 * admit returns 1 when the bucket is positive, 0 when it refuses (counted
 * as a throttle). */
int tp_capacity_admit(tp_req *r, int64_t table_id, const char *table, const cJSON *desc,
                      const char *index, tp_cap_kind kind);
void tp_capacity_charge(tp_req *r, int64_t table_id, const char *table, const cJSON *desc,
                        const char *index, tp_cap_kind kind, double units);

/* Forgets every bucket and run-time override of this core. */
void tp_capacity_reset(tp_core *core);
/* Drops the core's capacity state entirely (engine teardown). */
void tp_capacity_free(tp_core *core);
/* GET /_tidepool/capacity: every bucket (new array). */
cJSON *tp_capacity_list(tp_core *core);
/* POST /_tidepool/capacity: {"table", "read"?, "write"?, "index"?,
 * "account"?, "region"?}. Returns 0, or -1 with why filled. */
int tp_capacity_override(tp_core *core, const cJSON *body, char *why, size_t whylen);
/* A table's stored description changed (UpdateTable applied throughput or
 * billing mode): every existing bucket of table_id (table and GSIs) is
 * refilled at its old rate up to now_ms and switched to the rate desc now
 * gives, so the change applies from that moment, not from the next use. */
void tp_capacity_table_changed(tp_core *core, int64_t table_id, const cJSON *desc, int64_t now_ms);
/* Prometheus text: tidepool_consumed_capacity_units_total,
 * tidepool_throttled_requests_total, tidepool_bucket_level. */
void tp_capacity_metrics(tp_core *core, tp_buf *out);

/* Control endpoint glue (control/control.c calls these). tp_capacity_control
 * handles GET / POST /_tidepool/capacity and returns the HTTP status, or -1
 * when the method is not allowed; tp_capacity_control_reset runs
 * tp_capacity_reset under the engine lock (POST /_tidepool/reset). */
struct tp_control_ops;
int tp_capacity_control(const struct tp_control_ops *ops, const char *method, const char *body,
                        size_t len, tp_buf *out);
void tp_capacity_control_reset(const struct tp_control_ops *ops);

#endif
