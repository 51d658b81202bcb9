/* capacity/throughput — the throughput model: token buckets per resource.
 *
 * Service-neutral. capacity/ knows rates, bursts and costs, never a
 * service's resource format: the service that owns a resource (a DynamoDB
 * table or GSI, an SQS FIFO queue or message group, a Kinesis shard)
 * describes its buckets in a tp_cap_resource on every call, and capacity/
 * keeps the buckets, applies run-time overrides, counts throttles, charges
 * costs, emits the "throttle" trace event and the Prometheus lines. The
 * owner turns a refusal into its own AWS error.
 *
 * Buckets live in memory per tp_core, keyed by (account, region, service,
 * resource name, part) and driven only by the request's clock reading
 * (tp_req.now_ms), so in virtual time the same calls at the same times
 * throttle the same way every run. POST /_tidepool/reset clears them
 * (tp_capacity_reset).
 *
 * A resource has up to TP_CAP_MAX_DIMS dimensions, one bucket each (a
 * table: "read", "write"; a shard: "in_bytes", "in_records", "out_bytes",
 * "out_calls"; a FIFO queue: one per API action). Each call passes the
 * rates the owner wants now; when one differs from the bucket's, the
 * bucket is refilled at its old rate up to now and switched (so a change
 * applies from the moment the owner sees it). A run-time override (POST
 * /_tidepool/capacity) wins over the owner's rate and gets the generic
 * burst (tp_capacity_burst_ms). A new generation (the resource was
 * deleted and created again) starts the buckets over.
 *
 * Generic settings in the config file's "capacity" object:
 * "enforce" (true: false turns throttling off, tp_capacity_enforced),
 * "burst_seconds" (300: how much unused capacity a provisioned bucket
 * holds, tp_capacity_burst_ms) and "start_full" (true: new buckets start
 * full, tp_capacity_start_full) and "trace_consumed" (false: when true,
 * every charge is also a "consume" trace event {service, <resource_label>,
 * <part_label>?, kind, units}, from which `tidepool run` draws consumed
 * capacity per second and per minute). Each owner reads its own section beside
 * them (DynamoDB: "tables", "on_demand_max_read/write"; see
 * dynamodb/capacity.h).
 *
 * How an owner uses it (one call per admission, one per charge):
 *
 *     tp_cap_resource res = {.service = "dynamodb",
 *                            .resource_label = "table", .name = "orders",
 *                            .part_label = "index", .part = NULL,
 *                            .generation = table_id,
 *                            .start_full = tp_capacity_start_full(core),
 *                            .ndims = 2,
 *                            .dim = {{"read", 5, 300000}, {"write", 5, 300000}}};
 *     if (!tp_cap_admit(r, &res, 1))
 *         return tp_fail(err, TP_ERR_PROVISIONED_THROUGHPUT_EXCEEDED, ...);
 *     ... do the work ...
 *     tp_cap_charge(r, &res, 1, units);
 *
 * Recipes for the services that come next (AWS's published limits):
 *
 *   SQS FIFO (sqs/): 300 API calls per second per action (SendMessage,
 *   ReceiveMessage, DeleteMessage; a batch call counts once, which is how
 *   batching reaches 3,000 messages/s: 300 calls x 10 messages) per queue;
 *   with FifoThroughputLimit perMessageGroupId (high throughput) the limit
 *   applies per message group (part = the MessageGroupId). Requests over
 *   it get RequestThrottled (sqs/throughput.c, which does this; its dims
 *   set fixed_burst: one second). Resource: .service "sqs",
 *   .resource_label "queue", .part_label "group", dims
 *   {"SendMessage", TP_CAP_SQS_FIFO_CALLS_PER_S, 1000},
 *   {"ReceiveMessage", ...}, {"DeleteMessage", ...}; charge 1 unit a call.
 *   The high-throughput per-group rate is unverified against AWS (AWS
 *   publishes per-region partition limits); TP_CAP_SQS_FIFO_HT_CALLS_PER_S
 *   is a setting, not a fact.
 *
 *   Kinesis (kinesis/): per shard 1 MiB/s or 1,000 records/s in, 2 MiB/s
 *   and 5 GetRecords calls/s out. Resource: .service "kinesis",
 *   .resource_label "stream", .part_label "shard" (the shard id), dims
 *   {"in_bytes", TP_CAP_KINESIS_IN_BYTES_PER_S, 1000},
 *   {"in_records", TP_CAP_KINESIS_IN_RECORDS_PER_S, 1000},
 *   {"out_bytes", TP_CAP_KINESIS_OUT_BYTES_PER_S, 1000},
 *   {"out_calls", TP_CAP_KINESIS_OUT_CALLS_PER_S, 1000}. PutRecord:
 *   admit in_bytes and in_records, charge bytes and 1 record; PutRecords:
 *   per record (a refused record gets ErrorCode
 *   ProvisionedThroughputExceededException); GetRecords: admit out_calls
 *   and out_bytes, charge 1 call and the bytes returned. Units are plain
 *   numbers (bytes count as units), so a 1 MiB/s bucket is rate 1048576.
 *
 * tests/unit/test_bucket.c drives a Kinesis shard and a FIFO queue
 * through this API. */
#ifndef TP_CAPACITY_THROUGHPUT_H
#define TP_CAPACITY_THROUGHPUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/core.h"
#include "core/error.h"

typedef struct cJSON cJSON;

#define TP_CAP_MAX_DIMS 4

/* AWS's published limits, for the owners above. */
#define TP_CAP_SQS_FIFO_CALLS_PER_S 300        /* per API action, per queue */
#define TP_CAP_SQS_FIFO_BATCH_MESSAGES 10      /* 300 calls x 10 = 3,000 messages/s */
#define TP_CAP_SQS_FIFO_HT_CALLS_PER_S 3000    /* per message group: a setting (unverified) */
#define TP_CAP_KINESIS_IN_BYTES_PER_S 1048576  /* 1 MiB/s per shard */
#define TP_CAP_KINESIS_IN_RECORDS_PER_S 1000
#define TP_CAP_KINESIS_OUT_BYTES_PER_S 2097152 /* 2 MiB/s per shard */
#define TP_CAP_KINESIS_OUT_CALLS_PER_S 5       /* GetRecords calls per shard */

/* One bucket as the owner wants it now. */
typedef struct tp_cap_dim {
    const char *name;     /* "read", "in_bytes", "SendMessage": the trace's and metrics' "kind" */
    int64_t rate;         /* units per second, >= 0 (0 refuses everything) */
    int64_t burst_ms;     /* the bucket holds rate * burst_ms / 1000 units */
    const char *why;      /* NULL, or the owner's name for a refusal by this bucket
                           * (DynamoDB's "TableWriteProvisionedThroughputExceeded"):
                           * the throttle trace event's "reason", counted per reason
                           * in tidepool_throttle_reasons_total */
} tp_cap_dim;

/* A resource's key space cut into ranges with their own buckets
 * (capacity/keyrange.h; DynamoDB's partitions). A keyed admission
 * (tp_cap_admit_key) passes the resource's bucket first, then the bucket
 * of the range holding the key; a range that refuses for split_after_ms,
 * from more than one key, splits between them. The count only grows. */
typedef struct tp_cap_ranges {
    const char *label;               /* "partition": the trace's and metrics' name */
    int count;                       /* at least this many ranges now */
    int64_t rate[TP_CAP_MAX_DIMS];   /* each range's rate of each dim (units/s) */
    int64_t burst_ms[TP_CAP_MAX_DIMS];  /* each range's bucket holds this much of its rate */
    int64_t split_after_ms;          /* 0: never split for heat */
    const char *why[TP_CAP_MAX_DIMS];   /* the reason a range refusal is traced with */
} tp_cap_ranges;

/* A resource's buckets. Labels name the resource and part in the trace,
 * GET /_tidepool/capacity, the metrics and overrides ({"table": "orders",
 * "index": "byUser", "write": 10}); strings are borrowed for the call. */
typedef struct tp_cap_resource {
    const char *service;         /* "dynamodb", "sqs", "kinesis" */
    const char *resource_label;  /* "table", "queue", "stream" */
    const char *name;
    const char *part_label;      /* "index", "group", "shard" */
    const char *part;            /* NULL or "": the resource itself */
    const char *id;              /* NULL, or the resource's full identifier (an ARN):
                                  * the throttle trace event's "resource" */
    int64_t generation;          /* the resource's incarnation (e.g. its row id) */
    int start_full;              /* new buckets start full */
    int ndims;
    tp_cap_dim dim[TP_CAP_MAX_DIMS];
    const tp_cap_ranges *ranges; /* NULL: no key ranges */
    int fixed_burst;             /* a run-time override keeps each dim's burst_ms (a
                                  * per-second limit such as SQS FIFO's) instead of
                                  * taking the generic burst */
} tp_cap_resource;

/* 1 when bucket dim of res (as r's account and region) is positive
 * (admit), 0 when it refuses: counted as a throttle and traced. */
int tp_cap_admit(tp_req *r, const tp_cap_resource *res, int dim);
/* Takes units from bucket dim after the work (the level may go negative). */
void tp_cap_charge(tp_req *r, const tp_cap_resource *res, int dim, double units);

/* Keyed admission: TP_CAP_ADMITTED, TP_CAP_REFUSED (the resource's
 * bucket, as tp_cap_admit) or TP_CAP_REFUSED_RANGE (the key's range: its
 * own counter and a "throttle" trace event naming the range). Without
 * res->ranges it is tp_cap_admit. */
enum { TP_CAP_REFUSED = 0, TP_CAP_ADMITTED = 1, TP_CAP_REFUSED_RANGE = 2 };
int tp_cap_admit_key(tp_req *r, const tp_cap_resource *res, int dim, uint32_t key_hash);
/* tp_cap_charge, and the same units from the key's range. */
void tp_cap_charge_key(tp_req *r, const tp_cap_resource *res, int dim, double units,
                       uint32_t key_hash);

/* Re-describes existing buckets when the owner's resource changed (e.g.
 * UpdateTable): for every bucket group of (service, generation),
 * describe(arg, account, region, part, &res) fills the resource as it is
 * now (returns 0; non-zero leaves that group alone), and each bucket is
 * refilled at its old rate up to now_ms and switched, so the change
 * applies from that moment, not from the next use. */
typedef int (*tp_cap_describe_fn)(void *arg, const char *account, const char *region,
                                  const char *part, tp_cap_resource *res);
void tp_cap_reconfigure(tp_core *core, const char *service, int64_t generation,
                        tp_cap_describe_fn describe, void *arg, int64_t now_ms);

/* Generic settings ("capacity": {"burst_seconds", "start_full"}). */
int64_t tp_capacity_burst_ms(const tp_core *core);
int tp_capacity_start_full(const tp_core *core);
/* "enforce" (true; `tidepool serve --capacity off` sets it false): when
 * false tp_cap_admit admits everything, so nothing throttles, while costs
 * are still charged, reported and counted. */
int tp_capacity_enforced(const tp_core *core);

/* Forgets every bucket and run-time override of this core. */
void tp_capacity_reset(tp_core *core);
/* Drops the core's capacity state entirely (engine teardown). */
void tp_capacity_free(tp_core *core);
/* GET /_tidepool/capacity: every bucket (new array), each {"service",
 * "account", "region", <resource_label>: name, <part_label>: part or null,
 * "kind", "rate", "level", "burst", "consumed", "throttled"}, and for a
 * resource with key ranges "partitions": [{"range": "LLLLLLLL-HHHHHHHH"
 * (hex hashes), "rate", "level", "consumed", "throttled"}]. */
cJSON *tp_capacity_list(tp_core *core);
/* POST /_tidepool/capacity: string members name the bucket group by its
 * labels ({"table": T, "index"?: I} for DynamoDB, {"queue": Q, "group"?: G},
 * {"stream": S, "shard"?: H}) plus optional "account" and "region"; number
 * members (>= 0) set the rate of the dimension of that name ("read",
 * "write", "in_bytes", ...). Without a part label it applies to the
 * resource itself, not its parts. Returns 0, or -1 with why filled. */
int tp_capacity_override(tp_core *core, const cJSON *body, char *why, size_t whylen);
/* Prometheus text: tidepool_consumed_capacity_units_total,
 * tidepool_throttled_requests_total, tidepool_bucket_level, labelled
 * {account, region, <resource_label>, <part_label>, kind}, and
 * tidepool_throttle_reasons_total with a "reason" label for buckets whose
 * owner names its refusals (tp_cap_dim.why, tp_cap_ranges.why), and per
 * key range tidepool_partition_consumed_units_total and
 * tidepool_partition_throttled_requests_total (label <ranges label>). */
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
