/* lambda/source_kinesis — Kinesis data streams as an event source: the
 * stream-like source that poller.c's lanes read, like source_dynamodb.c.
 * It lists shards with ListShards, reads them with GetShardIterator and
 * GetRecords (through lambda_call_internal; lambda/ never includes
 * kinesis/), and turns a GetRecords record into Lambda's Kinesis event
 * record:
 *
 *   {"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey", "sequenceNumber",
 *                "data" (base64), "approximateArrivalTimestamp" (epoch seconds)},
 *    "eventSource": "aws:kinesis", "eventVersion": "1.0",
 *    "eventID": "shardId-...:<sequenceNumber>", "eventName": "aws:kinesis:record",
 *    "invokeIdentityArn" (the function's role), "awsRegion", "eventSourceARN"}
 *
 * StartingPosition AT_TIMESTAMP: a lane that has not checkpointed yet reads
 * from an AT_TIMESTAMP iterator at the mapping's StartingPositionTimestamp
 * (children of a later reshard too: their records are all newer). Filters
 * see only {"data": <the decoded data as JSON>} (Lambda filters Kinesis
 * records on the data key only; data that is not JSON matches no pattern
 * on it). Shards are polled once a second ("kinesis_poll_interval_ms"). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/json.h"
#include "esm.h"

static const esm_stream_api api = {"Kinesis_20131202", "StreamARN", "StartingSequenceNumber",
                                    "InvalidArgumentException", 10000};

static int call(tp_core *core, const esm_mapping *m, const char *op, cJSON *in, cJSON **out,
                tp_error *err)
{
    return esm_stream_call(core, m, &api, op, in, out, err);
}

static esm_shard *list_shards(tp_core *core, const esm_mapping *m, size_t *n, tp_error *err)
{
    esm_shard *v = NULL;
    size_t cap = 0;
    *n = 0;
    char start[80] = "";
    for (;;) {
        cJSON *in = cJSON_CreateObject(), *out = NULL;
        cJSON_AddStringToObject(in, "StreamARN", m->source_arn);
        tp_json_add_int(in, "MaxResults", 1000);
        if (*start)
            cJSON_AddStringToObject(in, "ExclusiveStartShardId", start);
        if (call(core, m, "ListShards", in, &out, err) != 0) {
            free(v);
            return NULL;
        }
        const cJSON *sh;
        int got = 0;
        cJSON_ArrayForEach(sh, cJSON_GetObjectItemCaseSensitive(out, "Shards"))
        {
            if (*n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                esm_shard *g = realloc(v, ncap * sizeof *g);
                if (!g)
                    break;
                v = g;
                cap = ncap;
            }
            esm_shard *s = &v[(*n)++];
            memset(s, 0, sizeof *s);
            const char *id = tp_json_str(sh, "ShardId"), *parent = tp_json_str(sh, "ParentShardId");
            const char *adj = tp_json_str(sh, "AdjacentParentShardId");
            const char *end = tp_json_str(tp_json_path(sh, "SequenceNumberRange"), "EndingSequenceNumber");
            snprintf(s->id, sizeof s->id, "%s", id ? id : "");
            snprintf(s->parent, sizeof s->parent, "%s", parent ? parent : "");
            snprintf(s->adjacent, sizeof s->adjacent, "%s", adj ? adj : "");
            s->closed = end != NULL;
            snprintf(s->end_seq, sizeof s->end_seq, "%s", end ? end : "");
            snprintf(start, sizeof start, "%s", s->id);
            got++;
        }
        int more = tp_json_str(out, "NextToken") != NULL && got > 0;
        cJSON_Delete(out);
        if (!more)
            break;
    }
    if (!v)
        v = calloc(1, sizeof *v);
    return v;
}

static char *iterator(tp_core *core, const esm_mapping *m, const char *shard, const char *after)
{
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(m->conf, "StartingPositionTimestamp");
    int at_time = strcmp(m->starting_position, "AT_TIMESTAMP") == 0 && cJSON_IsNumber(ts);
    return esm_stream_iterator(core, m, &api, shard, after, at_time ? ts->valuedouble : -1);
}

static int read_page(tp_core *core, const esm_mapping *m, const char *it, int64_t limit,
                     cJSON **records, char **next, tp_error *err)
{
    return esm_stream_read_page(core, m, &api, it, limit, records, next, err);
}

static void move_member(cJSON *to, const char *as, cJSON *from, const char *name)
{
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(from, name);
    if (v)
        cJSON_AddItemToObject(to, as, v);
    else
        cJSON_AddStringToObject(to, as, "");
}

static cJSON *event_record(const esm_mapping *m, const char *shard, cJSON *rec)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON *k = cJSON_AddObjectToObject(ev, "kinesis");
    cJSON_AddStringToObject(k, "kinesisSchemaVersion", "1.0");
    move_member(k, "partitionKey", rec, "PartitionKey");
    move_member(k, "sequenceNumber", rec, "SequenceNumber");
    move_member(k, "data", rec, "Data");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(rec, "ApproximateArrivalTimestamp");
    cJSON_AddNumberToObject(k, "approximateArrivalTimestamp", cJSON_IsNumber(at) ? at->valuedouble : 0);
    cJSON_AddStringToObject(ev, "eventSource", "aws:kinesis");
    cJSON_AddStringToObject(ev, "eventVersion", "1.0");
    const char *seq = tp_json_str(k, "sequenceNumber");
    size_t idn = strlen(shard) + strlen(seq) + 2;
    char *id = malloc(idn);
    if (id) {
        snprintf(id, idn, "%s:%s", shard, seq);
        cJSON_AddStringToObject(ev, "eventID", id);
        free(id);
    }
    cJSON_AddStringToObject(ev, "eventName", "aws:kinesis:record");
    cJSON_AddStringToObject(ev, "invokeIdentityArn", m->role);
    cJSON_AddStringToObject(ev, "awsRegion", m->region);
    cJSON_AddStringToObject(ev, "eventSourceARN", m->source_arn);
    cJSON_Delete(rec);
    return ev;
}

static const char *record_seq(const cJSON *rec)
{
    const char *s = tp_json_str(tp_json_path(rec, "kinesis"), "sequenceNumber");
    return s ? s : "";
}

static int64_t arrival_ms(const cJSON *rec)
{
    const cJSON *at = tp_json_path(rec, "kinesis.approximateArrivalTimestamp");
    return cJSON_IsNumber(at) ? (int64_t)llround(at->valuedouble * 1000.0) : 0;
}

static char *partition_key(const cJSON *rec)
{
    const char *k = tp_json_str(tp_json_path(rec, "kinesis"), "partitionKey");
    return k ? strdup(k) : NULL;
}

/* {"data": <decoded JSON>}, or {} when the data is not JSON. */
static cJSON *filter_view(const cJSON *rec)
{
    cJSON *view = cJSON_CreateObject();
    const char *b64 = tp_json_str(tp_json_path(rec, "kinesis"), "data");
    tp_buf raw;
    tp_buf_init(&raw);
    if (b64 && tp_base64_decode(b64, strlen(b64), &raw) == 0) {
        cJSON *data = tp_json_parse(raw.data ? raw.data : "", raw.len);
        if (data)
            cJSON_AddItemToObject(view, "data", data);
    }
    tp_buf_free(&raw);
    return view;
}

static int exists(tp_req *r, const char *arn, tp_error *err)
{
    cJSON *in = cJSON_CreateObject(), *res = NULL;
    cJSON_AddStringToObject(in, "StreamARN", arn);
    tp_error e = {0};
    int rc = lambda_call_internal(r->core, r->account, r->region,
                                  "Kinesis_20131202.DescribeStreamSummary", in, &res, &e);
    cJSON_Delete(in);
    cJSON_Delete(res);
    if (rc == 0)
        return 0;
    if (strcmp(e.code, "ResourceNotFoundException") == 0 || strcmp(e.code, "InvalidArgumentException") == 0 ||
        strcmp(e.code, "ValidationException") == 0)
        /* unverified wording for Kinesis (Lambda's DynamoDB stream answer) */
        return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER, "Stream not found: %s", arn);
    *err = e;
    return -1;
}

/* arn:aws:kinesis:REGION:ACCOUNT:stream/NAME (a consumer's ARN, for
 * enhanced fan-out, is not taken: tidepool has no SubscribeToShard push) */
static int owns(const char *arn)
{
    return arn && strncmp(arn, "arn:aws:kinesis:", 16) == 0 && strstr(arn, ":stream/") &&
           !strstr(arn, "/consumer/");
}

static const char *const positions[] = {"TRIM_HORIZON", "LATEST", "AT_TIMESTAMP", NULL};

static const esm_stream_source stream = {
    .batch_info = "KinesisBatchInfo",
    .arrival_millis = 1,
    .starting_positions = positions,
    .poll_setting = "kinesis_poll_interval_ms",
    .poll_default_ms = 1000,
    .read_gap_setting = "kinesis_read_gap_ms",
    .read_gap_default_ms = 200,
    .list_shards = list_shards,
    .iterator = iterator,
    .read = read_page,
    .event_record = event_record,
    .seq = record_seq,
    .arrival_ms = arrival_ms,
    .partition_key = partition_key,
    .filter_view = filter_view,
};

const esm_source esm_kinesis_source = {
    .kind = "kinesis",
    .owns = owns,
    .exists = exists,
    .stream = &stream,
};
