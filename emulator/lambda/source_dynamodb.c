/* lambda/source_dynamodb — DynamoDB streams as an event source: the
 * stream-like source that poller.c's lanes read. It lists shards with
 * DescribeStream, reads them with GetShardIterator and GetRecords (through
 * lambda_call_internal; lambda/ never includes streams/), and names what a
 * record's sequence number, arrival time and partition key are. The event
 * record is the GetRecords record with eventSourceARN appended, which is
 * what Lambda sends. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "esm.h"

static const esm_stream_api api = {"DynamoDBStreams_20120810", "StreamArn", "SequenceNumber",
                                    "TrimmedDataAccessException", INT64_MAX};

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
        cJSON_AddStringToObject(in, "StreamArn", m->source_arn);
        if (*start)
            cJSON_AddStringToObject(in, "ExclusiveStartShardId", start);
        if (call(core, m, "DescribeStream", in, &out, err) != 0) {
            free(v);
            return NULL;
        }
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(out, "StreamDescription");
        const cJSON *sh;
        cJSON_ArrayForEach(sh, cJSON_GetObjectItemCaseSensitive(d, "Shards"))
        {
            if (*n == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                esm_shard *g = realloc(v, ncap * sizeof *g);
                if (!g)
                    break;
                v = g;
                cap = ncap;
            }
            esm_shard *s = &v[(*n)++];
            memset(s, 0, sizeof *s);
            const char *id = tp_json_str(sh, "ShardId"), *parent = tp_json_str(sh, "ParentShardId");
            const char *end = tp_json_str(tp_json_path(sh, "SequenceNumberRange"), "EndingSequenceNumber");
            snprintf(s->id, sizeof s->id, "%s", id ? id : "");
            snprintf(s->parent, sizeof s->parent, "%s", parent ? parent : "");
            s->closed = end != NULL;
            snprintf(s->end_seq, sizeof s->end_seq, "%s", end ? end : "");
        }
        const char *more = tp_json_str(d, "LastEvaluatedShardId");
        if (more)
            snprintf(start, sizeof start, "%s", more);
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
    return esm_stream_iterator(core, m, &api, shard, after, -1);
}

static int read_page(tp_core *core, const esm_mapping *m, const char *it, int64_t limit,
                     cJSON **records, char **next, tp_error *err)
{
    return esm_stream_read_page(core, m, &api, it, limit, records, next, err);
}

static cJSON *event_record(const esm_mapping *m, const char *shard, cJSON *rec)
{
    (void)shard;
    cJSON_AddStringToObject(rec, "eventSourceARN", m->source_arn);
    return rec;
}

static const char *record_seq(const cJSON *rec)
{
    const char *s = tp_json_str(tp_json_path(rec, "dynamodb"), "SequenceNumber");
    return s ? s : "";
}

/* ApproximateCreationDateTime: whole seconds, all the API gives */
static int64_t arrival_ms(const cJSON *rec)
{
    return tp_json_int(tp_json_path(rec, "dynamodb"), "ApproximateCreationDateTime", 0) * 1000;
}

/* The first of Keys, as the record writer puts the hash key first. */
static char *partition_key(const cJSON *rec)
{
    const cJSON *keys = tp_json_path(rec, "dynamodb.Keys");
    const cJSON *pk = keys ? keys->child : NULL;
    return pk ? tp_json_print(pk) : NULL;
}

static int exists(tp_req *r, const char *arn, tp_error *err)
{
    cJSON *in = cJSON_CreateObject(), *res = NULL;
    cJSON_AddStringToObject(in, "StreamArn", arn);
    tp_json_add_int(in, "Limit", 1);
    tp_error e = {0};
    int rc = lambda_call_internal(r->core, r->account, r->region,
                                  "DynamoDBStreams_20120810.DescribeStream", in, &res, &e);
    cJSON_Delete(in);
    cJSON_Delete(res);
    if (rc == 0)
        return 0;
    if (strcmp(e.code, "ResourceNotFoundException") == 0 || strcmp(e.code, "ValidationException") == 0)
        return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER, "Stream not found: %s", arn);
    *err = e;
    return -1;
}

/* arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL */
static int owns(const char *arn)
{
    return arn && strncmp(arn, "arn:aws:dynamodb:", 17) == 0 && strstr(arn, ":table/") &&
           strstr(arn, "/stream/");
}

static const char *const positions[] = {"TRIM_HORIZON", "LATEST", NULL};

static const esm_stream_source stream = {
    .batch_info = "DDBStreamBatchInfo",
    .starting_positions = positions,
    .poll_setting = "poll_interval_ms",
    .poll_default_ms = 250,
    .list_shards = list_shards,
    .iterator = iterator,
    .read = read_page,
    .event_record = event_record,
    .seq = record_seq,
    .arrival_ms = arrival_ms,
    .partition_key = partition_key,
};

const esm_source esm_dynamodb_source = {
    .kind = "dynamodb",
    .owns = owns,
    .exists = exists,
    .stream = &stream,
};
