/* sqs/throughput — FIFO queues' API-call limits on the service-neutral
 * throughput model (capacity/throughput.h). Standard queues are unlimited.
 *
 * AWS: a FIFO queue takes 300 calls per second per action (SendMessage,
 * ReceiveMessage, DeleteMessage); a batch call counts once, which is how
 * batching reaches 3,000 messages per second. In high-throughput mode
 * (DeduplicationScope messageGroup + FifoThroughputLimit
 * perMessageGroupId) the queue takes what its region allows (70,000 calls
 * per second in us-east-1, us-west-2 and eu-west-1; 19,000 in us-east-2
 * and eu-central-1; AWS's lower figures elsewhere are taken as 9,000 here,
 * a setting) and each message group, living in one partition, 300 sends
 * per second. A call over the limit fails with RequestThrottled (the
 * model's error for every SQS operation, HTTP 403 "Request is
 * throttled."; AWS's FIFO guide calls it a ThrottlingException).
 *
 * Buckets: resource "queue" (part "group" for a message group), one
 * dimension per action, holding one second of calls and starting full, so
 * on tidepool's clock the 301st call within a second is refused, every
 * run alike. Limits come from, first match: a run-time override (POST
 * /_tidepool/capacity {"queue": Q, "group"?: G, "SendMessage": N, ...}),
 * the config file's "capacity": {"sqs": {"queues": {Q: {"SendMessage": N,
 * "ReceiveMessage": N, "DeleteMessage": N}}}}, then "capacity": {"sqs":
 * {"fifo_calls_per_second": 300, "high_throughput_calls_per_second": N,
 * "group_calls_per_second": 300}}. A call refused costs nothing; a
 * parked long poll is counted once, on its first run. */
#include <cjson/cJSON.h>
#include <string.h>

#include "capacity/throughput.h"
#include "core/json.h"
#include "sqs.h"

#define SQS_GROUP_CALLS_PER_S 300

static const char *const ACTIONS[] = {"SendMessage", "ReceiveMessage", "DeleteMessage"};
#define NACTIONS ((int)(sizeof ACTIONS / sizeof ACTIONS[0]))

static const cJSON *sqs_config(const tp_core *core)
{
    const cJSON *c = core->config ? cJSON_GetObjectItemCaseSensitive(core->config, "capacity") : NULL;
    return c ? cJSON_GetObjectItemCaseSensitive(c, "sqs") : NULL;
}

static int high_throughput(const sqs_queue *q)
{
    const char *scope = sqs_queue_str(q, "DeduplicationScope");
    const char *limit = sqs_queue_str(q, "FifoThroughputLimit");
    return scope && strcmp(scope, "messageGroup") == 0 && limit &&
           strcmp(limit, "perMessageGroupId") == 0;
}

/* AWS's high-throughput calls per second for the queue's region. */
static int64_t region_rate(const char *region)
{
    static const char *const top[] = {"us-east-1", "us-west-2", "eu-west-1"};
    static const char *const mid[] = {"us-east-2", "eu-central-1"};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        if (strcmp(region, top[i]) == 0)
            return 70000;
    for (size_t i = 0; i < sizeof mid / sizeof mid[0]; i++)
        if (strcmp(region, mid[i]) == 0)
            return 19000;
    return 9000;
}

static void describe(tp_req *r, const sqs_queue *q, const char *group, tp_cap_resource *res)
{
    memset(res, 0, sizeof *res);
    res->service = "sqs";
    res->resource_label = "queue";
    res->name = q->name;
    res->part_label = "group";
    res->part = group;
    res->generation = q->id;
    res->start_full = 1;
    res->ndims = NACTIONS;
    res->fixed_burst = 1;   /* calls per second, overridden or not */
    const cJSON *c = sqs_config(r->core);
    int64_t rate;
    if (group)
        rate = c ? tp_json_int(c, "group_calls_per_second", SQS_GROUP_CALLS_PER_S)
                 : SQS_GROUP_CALLS_PER_S;
    else if (high_throughput(q))
        rate = c ? tp_json_int(c, "high_throughput_calls_per_second", region_rate(q->region))
                 : region_rate(q->region);
    else
        rate = c ? tp_json_int(c, "fifo_calls_per_second", TP_CAP_SQS_FIFO_CALLS_PER_S)
                 : TP_CAP_SQS_FIFO_CALLS_PER_S;
    const cJSON *queues = c ? cJSON_GetObjectItemCaseSensitive(c, "queues") : NULL;
    const cJSON *qc = queues && !group ? cJSON_GetObjectItemCaseSensitive(queues, q->name) : NULL;
    for (int k = 0; k < NACTIONS; k++) {
        res->dim[k].name = ACTIONS[k];
        res->dim[k].rate = qc ? tp_json_int(qc, ACTIONS[k], rate) : rate;
        res->dim[k].burst_ms = 1000;
    }
}

static int take(tp_req *r, const sqs_queue *q, const char *group, int k)
{
    tp_cap_resource res;
    describe(r, q, group, &res);
    if (!tp_cap_admit(r, &res, k))
        return 0;
    tp_cap_charge(r, &res, k, 1);
    return 1;
}

int sqs_throughput_admit(tp_req *r, const sqs_queue *q, const char *action, const char *group,
                         tp_error *err)
{
    if (!q->fifo || r->park_rerun)
        return 0;
    int k = 0;
    while (k < NACTIONS && strcmp(ACTIONS[k], action) != 0)
        k++;
    if (k == NACTIONS)
        return 0;
    int ht = high_throughput(q);
    /* the group first: a refused call must not have used the queue's */
    if (ht && group && *group && k == 0) {
        tp_cap_resource res;
        describe(r, q, group, &res);
        if (!tp_cap_admit(r, &res, k))
            return tp_fail(err, TP_ERR_SQS_REQUEST_THROTTLED, "Request is throttled.");
        if (!take(r, q, NULL, k))
            return tp_fail(err, TP_ERR_SQS_REQUEST_THROTTLED, "Request is throttled.");
        tp_cap_charge(r, &res, k, 1);
        return 0;
    }
    if (!take(r, q, NULL, k))
        return tp_fail(err, TP_ERR_SQS_REQUEST_THROTTLED, "Request is throttled.");
    return 0;
}
