/* handlers/kinesis_restore — seeds/001's pipeline: a restore tool puts
 * DynamoDB put requests onto a Kinesis stream, and a Kinesis-triggered
 * handler executes them.
 *
 *   kinesis_restore_producer  the restore tool: puts `count` put requests
 *                             {"TableName": T, "Item": {...}} (base64 in
 *                             Kinesis, as every record's data is) at `rate`
 *                             records a second, one PutRecord each (or
 *                             PutRecords of `batch`), the item's id as the
 *                             partition key
 *   kinesis_restore_writer    the seed's Lambda: for each record of the
 *                             Kinesis event, decodes the data and PutItems
 *                             it, one call at a time
 *
 * The producer's event: {"stream": "restore", "table": "historical",
 * "count": 500, "start": 0, "rate": 193, "batch": 1, "chunk": 100000,
 * "function": "restore-producer"}. A Lambda runs at most 900 s, so with
 * "chunk" and "function" an invocation puts at most chunk records and then
 * invokes the function again (InvocationType Event) for the rest. Record i's item is
 * shaped like the seed's example: {"id": {"S": "rec-<i>"}, "updated_at":
 * {"N": ...}, "rate": {"N": ...}}. Records (or PutRecords entries) that
 * Kinesis refuses with ProvisionedThroughputExceededException are put
 * again 100 ms later.
 *
 * Writer environment:
 *   TABLE_NAME       overrides the request's TableName
 *   SDK_MAX_ATTEMPTS, SDK_BASE_MS, SDK_MAX_BACKOFF_MS: the retry policy
 *                    for throttled calls (default TP_RETRY_SDK_DYNAMODB)
 *   FAIL_KEY=K       records with partition key K fail (a poison record):
 *                    the batch fails with a function error, or with
 *                    REPORT_ITEM_FAILURES=1 the response names the first
 *                    of them in {"batchItemFailures": [...]}
 * A PutItem that fails after its retries fails the batch the same way
 * (with REPORT_ITEM_FAILURES=1: from that record on). PutItem of the same
 * request twice is idempotent, so a redelivered batch does no harm. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/json.h"
#include "tidepool/handler.h"

int tp_handler_kinesis_restore_producer(tp_ctx *ctx, const char *event_json, size_t len,
                                        tp_response *response);
int tp_handler_kinesis_restore_writer(tp_ctx *ctx, const char *event_json, size_t len,
                                      tp_response *response);

#define PUT_RECORDS_MAX 500

static int64_t env_int(tp_ctx *ctx, const char *name, int64_t dflt)
{
    const char *v = tp_getenv(ctx, name);
    return v && *v ? strtoll(v, NULL, 10) : dflt;
}

static int respond_error(tp_response *response, const char *type, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "errorType", type && *type ? type : "Error");
    cJSON_AddStringToObject(o, "errorMessage", message ? message : "");
    char *text = tp_json_print(o);
    cJSON_Delete(o);
    if (text)
        tp_respond(response, text, strlen(text));
    free(text);
    return 1;
}

/* --- the producer ----------------------------------------------------------- */

/* Record i's put request, base64 (owned). */
static char *put_request_b64(const char *table, int64_t i)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"TableName\":\"%s\",\"Item\":{\"updated_at\":{\"N\":\"%" PRId64 "\"},"
             "\"id\":{\"S\":\"rec-%" PRId64 "\"},\"rate\":{\"N\":\"0.%06" PRId64 "\"}}}",
             table, 1447203612 + i, i, (i * 7919) % 1000000);
    tp_buf b;
    tp_buf_init(&b);
    tp_base64_encode(json, strlen(json), &b);
    return b.data;
}

static int is_throttle(const tp_error *err)
{
    return strcmp(err->code, "ProvisionedThroughputExceededException") == 0 ||
           strcmp(err->code, "LimitExceededException") == 0;
}

/* Puts records first..first+n-1 with PutRecords, again for those refused. */
static int put_batch(tp_ctx *ctx, const char *stream, const char *table, int64_t first, int64_t n,
                     tp_error *err)
{
    int64_t todo[PUT_RECORDS_MAX];
    int64_t left = n;
    for (int64_t k = 0; k < n; k++)
        todo[k] = first + k;
    while (left > 0) {
        cJSON *q = cJSON_CreateObject();
        cJSON_AddStringToObject(q, "StreamName", stream);
        cJSON *recs = cJSON_AddArrayToObject(q, "Records");
        for (int64_t k = 0; k < left; k++) {
            char key[32];
            snprintf(key, sizeof key, "rec-%" PRId64, todo[k]);
            char *data = put_request_b64(table, todo[k]);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "Data", data ? data : "");
            cJSON_AddStringToObject(e, "PartitionKey", key);
            cJSON_AddItemToArray(recs, e);
            free(data);
        }
        char *text = tp_json_print(q), *resp = NULL;
        cJSON_Delete(q);
        int rc = tp_call(ctx, "Kinesis_20131202.PutRecords", text, &resp, err);
        free(text);
        if (rc != 0) {
            free(resp);
            if (!is_throttle(err))
                return -1;
            tp_sleep_ms(ctx, 100);
            continue;
        }
        cJSON *out = tp_json_parse_str(resp);
        free(resp);
        int64_t again = 0, k = 0;
        const cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(out, "Records"))
        {
            if (tp_json_str(r, "ErrorCode") && k < left)
                todo[again++] = todo[k];
            k++;
        }
        cJSON_Delete(out);
        left = again;
        if (left > 0)
            tp_sleep_ms(ctx, 100);
    }
    return 0;
}

static int put_one(tp_ctx *ctx, const char *stream, const char *table, int64_t i, tp_error *err)
{
    char *data = put_request_b64(table, i);
    size_t cap = strlen(stream) + (data ? strlen(data) : 0) + 128;
    char *q = malloc(cap);
    if (!q) {
        free(data);
        return -1;
    }
    snprintf(q, cap, "{\"StreamName\":\"%s\",\"Data\":\"%s\",\"PartitionKey\":\"rec-%" PRId64 "\"}",
             stream, data ? data : "", i);
    free(data);
    int rc;
    for (;;) {
        char *resp = NULL;
        rc = tp_call(ctx, "Kinesis_20131202.PutRecord", q, &resp, err);
        free(resp);
        if (rc == 0 || !is_throttle(err))
            break;
        tp_sleep_ms(ctx, 100);
    }
    free(q);
    return rc;
}

int tp_handler_kinesis_restore_producer(tp_ctx *ctx, const char *event_json, size_t len,
                                        tp_response *response)
{
    cJSON *ev = tp_json_parse(event_json, len);
    const char *stream = tp_json_str(ev, "stream"), *table = tp_json_str(ev, "table");
    int64_t count = tp_json_int(ev, "count", 0), start = tp_json_int(ev, "start", 0);
    int64_t rate = tp_json_int(ev, "rate", 193), batch = tp_json_int(ev, "batch", 1);
    if (!stream || !table || rate < 1) {
        cJSON_Delete(ev);
        return respond_error(response, "BadEvent", "the event needs stream, table and a rate");
    }
    if (batch < 1)
        batch = 1;
    if (batch > PUT_RECORDS_MAX)
        batch = PUT_RECORDS_MAX;
    int64_t t0 = tp_now_ms(ctx), done = 0;
    tp_error err;
    memset(&err, 0, sizeof err);
    int rc = 0;
    const char *self = tp_json_str(ev, "function");
    int64_t chunk = tp_json_int(ev, "chunk", 0), total = count;
    if (self && chunk > 0 && count > chunk)
        count = chunk;
    while (done < count) {
        /* record `done` goes at t0 + done / rate */
        int64_t due = t0 + done * 1000 / rate, now = tp_now_ms(ctx);
        if (due > now)
            tp_sleep_ms(ctx, due - now);
        int64_t n = count - done < batch ? count - done : batch;
        int r = n == 1 && batch == 1 ? put_one(ctx, stream, table, start + done, &err)
                                     : put_batch(ctx, stream, table, start + done, n, &err);
        if (r != 0) {
            tp_log(ctx, "put failed after %" PRId64 " records: %s: %s", done, err.code, err.message);
            rc = respond_error(response, err.code, err.message);
            break;
        }
        done += n;
    }
    if (rc == 0 && total > count) {
        /* the rest in a new invocation */
        cJSON_DeleteItemFromObjectCaseSensitive(ev, "start");
        cJSON_DeleteItemFromObjectCaseSensitive(ev, "count");
        cJSON_AddNumberToObject(ev, "start", (double)(start + count));
        cJSON_AddNumberToObject(ev, "count", (double)(total - count));
        char *payload = tp_json_print(ev);
        cJSON *q = cJSON_CreateObject();
        cJSON_AddStringToObject(q, "FunctionName", self);
        cJSON_AddStringToObject(q, "InvocationType", "Event");
        cJSON_AddStringToObject(q, "Payload", payload ? payload : "{}");
        free(payload);
        char *text = tp_json_print(q), *resp = NULL;
        cJSON_Delete(q);
        if (tp_call(ctx, "Lambda_20150331.Invoke", text, &resp, &err) != 0)
            rc = respond_error(response, err.code, err.message);
        free(text);
        free(resp);
    }
    if (rc == 0)
        tp_log(ctx, "put %" PRId64 " records in %" PRId64 " ms", done, tp_now_ms(ctx) - t0);
    cJSON_Delete(ev);
    return rc;
}

/* --- the writer --------------------------------------------------------------- */

static void use_sdk_retries(tp_ctx *ctx)
{
    tp_retry_policy policy = TP_RETRY_SDK_DYNAMODB;
    policy.max_attempts = (int)env_int(ctx, "SDK_MAX_ATTEMPTS", policy.max_attempts);
    policy.base_ms = env_int(ctx, "SDK_BASE_MS", policy.base_ms);
    policy.max_backoff_ms = env_int(ctx, "SDK_MAX_BACKOFF_MS", policy.max_backoff_ms);
    tp_set_retry_policy(ctx, &policy);
}

/* The record's data as a put request -> PutItem. */
static int execute(tp_ctx *ctx, const char *table, const char *b64, tp_error *err)
{
    tp_buf raw;
    tp_buf_init(&raw);
    cJSON *q = NULL;
    if (b64 && tp_base64_decode(b64, strlen(b64), &raw) == 0)
        q = tp_json_parse(raw.data ? raw.data : "", raw.len);
    tp_buf_free(&raw);
    if (!cJSON_IsObject(q) || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(q, "Item"))) {
        cJSON_Delete(q);
        snprintf(err->code, sizeof err->code, "BadRecord");
        snprintf(err->message, sizeof err->message, "the record's data is not a put request");
        return -1;
    }
    if (table) {
        cJSON *t = cJSON_CreateString(table);
        if (cJSON_GetObjectItemCaseSensitive(q, "TableName"))
            cJSON_ReplaceItemInObjectCaseSensitive(q, "TableName", t);
        else
            cJSON_AddItemToObject(q, "TableName", t);
    }
    char *text = tp_json_print(q), *resp = NULL;
    cJSON_Delete(q);
    int rc = tp_call(ctx, "DynamoDB_20120810.PutItem", text, &resp, err);
    free(text);
    free(resp);
    return rc;
}

int tp_handler_kinesis_restore_writer(tp_ctx *ctx, const char *event_json, size_t len,
                                      tp_response *response)
{
    use_sdk_retries(ctx);
    const char *table = tp_getenv(ctx, "TABLE_NAME");
    if (table && !*table)
        table = NULL;
    const char *fail_key = tp_getenv(ctx, "FAIL_KEY");
    int report = env_int(ctx, "REPORT_ITEM_FAILURES", 0) == 1;
    cJSON *ev = tp_json_parse(event_json, len);
    const cJSON *r;
    int64_t done = 0;
    tp_error err;
    memset(&err, 0, sizeof err);
    int rc = 0;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(ev, "Records"))
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(r, "kinesis");
        const char *key = tp_json_str(k, "partitionKey"), *seq = tp_json_str(k, "sequenceNumber");
        int failed = 0;
        if (fail_key && key && strcmp(key, fail_key) == 0) {
            snprintf(err.code, sizeof err.code, "PoisonRecord");
            snprintf(err.message, sizeof err.message, "cannot restore record %s", key);
            failed = 1;
        } else if (execute(ctx, table, tp_json_str(k, "data"), &err) != 0) {
            failed = 1;
        }
        if (failed) {
            tp_log(ctx, "record %s failed: %s: %s (after %" PRId64 " records)", key ? key : "?",
                   err.code, err.message, done);
            if (report && strcmp(err.code, TP_HANDLER_TIMEOUT_CODE) != 0)
                tp_respondf(response, "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}",
                            seq ? seq : "");
            else
                rc = respond_error(response, err.code, err.message);
            break;
        }
        done++;
    }
    cJSON_Delete(ev);
    return rc;
}
