/* handlers/quote_fanout — seeds/000's stream handler: fans each quote out
 * to every position holding its symbol.
 *
 * For each record of the batch (a `quotes` item: symbol, price, ts) it logs
 * "quote to stream latency: N" (ms from the quote's ts to now, as the seed
 * does), then per record: "query for SYMBOL", Query the positions table
 * (key symbol + id) page by page, and one UpdateItem per position setting
 * the price. Calls go through the SDK-like retry policy, so throttles are
 * retried with backoff and, after the last attempt, the error ends the
 * invocation as a function error named after it (the seed's "Invoke Error
 * ProvisionedThroughputExceededException").
 *
 *   quote_fanout             SET price, quote_ts; ADD applied 1 — a
 *                            redelivered batch applies again (applied > 1)
 *   quote_fanout_idempotent  the same, conditional on the quote being newer
 *                            than the one the position has: a redelivered
 *                            batch changes nothing
 *
 * Environment: POSITIONS_TABLE (default "positions"), SDK_MAX_ATTEMPTS,
 * SDK_BASE_MS, SDK_MAX_BACKOFF_MS (default: the AWS SDK for JavaScript
 * v2's DynamoDB policy, 11 attempts from 50 ms, as the seed's function
 * used). */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tidepool/handler.h"

int tp_handler_quote_fanout(tp_ctx *ctx, const char *event_json, size_t len,
                            tp_response *response);
int tp_handler_quote_fanout_idempotent(tp_ctx *ctx, const char *event_json, size_t len,
                                       tp_response *response);

static const char *attr_str(const cJSON *image, const char *name, const char *type)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(image, name);
    const cJSON *v = a ? cJSON_GetObjectItemCaseSensitive(a, type) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t env_int(tp_ctx *ctx, const char *name, int64_t dflt)
{
    const char *v = tp_getenv(ctx, name);
    return v && *v ? strtoll(v, NULL, 10) : dflt;
}

static int fail_with(tp_response *response, const tp_error *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "errorType", err->code[0] ? err->code : "Error");
    cJSON_AddStringToObject(o, "errorMessage", err->message);
    char *text = cJSON_PrintUnformatted(o);
    if (text)
        tp_respond(response, text, strlen(text));
    free(text);
    cJSON_Delete(o);
    return 1;
}

static int is_timeout(const tp_error *err) { return strcmp(err->code, TP_HANDLER_TIMEOUT_CODE) == 0; }

/* Updates every position of one symbol; 0, or -1 with err. */
static int fan_out(tp_ctx *ctx, const char *table, const char *symbol, const char *price,
                   const char *ts, int idempotent, int64_t *updated, int64_t *skipped,
                   tp_error *err)
{
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "TableName", table);
    cJSON_AddStringToObject(q, "KeyConditionExpression", "symbol = :s");
    cJSON_AddStringToObject(q, "ProjectionExpression", "id");
    cJSON *vals = cJSON_AddObjectToObject(q, "ExpressionAttributeValues");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(vals, ":s"), "S", symbol);
    int rc = 0;
    for (;;) {
        char *body = cJSON_PrintUnformatted(q), *resp = NULL;
        rc = tp_call(ctx, "DynamoDB_20120810.Query", body, &resp, err);
        free(body);
        if (rc != 0)
            break;
        cJSON *page = cJSON_Parse(resp);
        free(resp);
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(page, "Items"))
        {
            const char *id = attr_str(it, "id", "S");
            if (!id)
                continue;
            char upd[1024];
            if (idempotent)
                snprintf(upd, sizeof upd,
                         "{\"TableName\":\"%s\",\"Key\":{\"symbol\":{\"S\":\"%s\"},\"id\":{\"S\":"
                         "\"%s\"}},\"UpdateExpression\":\"SET price = :p, quote_ts = :ts ADD "
                         "applied :one\",\"ConditionExpression\":\"attribute_not_exists(quote_ts) "
                         "OR quote_ts < :ts\",\"ExpressionAttributeValues\":{\":p\":{\"N\":\"%s\"},"
                         "\":ts\":{\"N\":\"%s\"},\":one\":{\"N\":\"1\"}}}",
                         table, symbol, id, price, ts);
            else
                snprintf(upd, sizeof upd,
                         "{\"TableName\":\"%s\",\"Key\":{\"symbol\":{\"S\":\"%s\"},\"id\":{\"S\":"
                         "\"%s\"}},\"UpdateExpression\":\"SET price = :p, quote_ts = :ts ADD "
                         "applied :one\",\"ExpressionAttributeValues\":{\":p\":{\"N\":\"%s\"},"
                         "\":ts\":{\"N\":\"%s\"},\":one\":{\"N\":\"1\"}}}",
                         table, symbol, id, price, ts);
            char *out = NULL;
            if (tp_call(ctx, "DynamoDB_20120810.UpdateItem", upd, &out, err) != 0) {
                if (idempotent && strcmp(err->code, "ConditionalCheckFailedException") == 0) {
                    (*skipped)++;
                    continue;
                }
                rc = -1;
                break;
            }
            free(out);
            (*updated)++;
        }
        const cJSON *lek = cJSON_GetObjectItemCaseSensitive(page, "LastEvaluatedKey");
        if (rc != 0 || !cJSON_IsObject(lek)) {
            cJSON_Delete(page);
            break;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(q, "ExclusiveStartKey");
        cJSON_AddItemToObject(q, "ExclusiveStartKey", cJSON_Duplicate(lek, 1));
        cJSON_Delete(page);
    }
    cJSON_Delete(q);
    return rc;
}

static int quote_fanout(tp_ctx *ctx, const char *event_json, size_t len, tp_response *response,
                        int idempotent)
{
    tp_retry_policy policy = TP_RETRY_SDK_DYNAMODB;
    policy.max_attempts = (int)env_int(ctx, "SDK_MAX_ATTEMPTS", policy.max_attempts);
    policy.base_ms = env_int(ctx, "SDK_BASE_MS", policy.base_ms);
    policy.max_backoff_ms = env_int(ctx, "SDK_MAX_BACKOFF_MS", policy.max_backoff_ms);
    tp_set_retry_policy(ctx, &policy);
    const char *table = tp_getenv(ctx, "POSITIONS_TABLE");
    if (!table || !*table)
        table = "positions";

    cJSON *ev = cJSON_ParseWithLength(event_json, len);
    const cJSON *records = cJSON_GetObjectItemCaseSensitive(ev, "Records");
    const cJSON *r;
    int64_t now = tp_now_ms(ctx);
    cJSON_ArrayForEach(r, records)
    {
        const cJSON *img = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(r, "dynamodb"), "NewImage");
        const char *ts = attr_str(img, "ts", "N");
        if (ts)
            tp_log(ctx, "quote to stream latency: %" PRId64, now - (int64_t)strtoll(ts, NULL, 10));
    }
    int rc = 0;
    tp_error err;
    memset(&err, 0, sizeof err);
    cJSON_ArrayForEach(r, records)
    {
        const cJSON *img = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(r, "dynamodb"), "NewImage");
        const char *symbol = attr_str(img, "symbol", "S"), *price = attr_str(img, "price", "N"),
                   *ts = attr_str(img, "ts", "N");
        if (!symbol || !price || !ts)
            continue;
        tp_log(ctx, "query for %s", symbol);
        int64_t updated = 0, skipped = 0;
        if (fan_out(ctx, table, symbol, price, ts, idempotent, &updated, &skipped, &err) != 0) {
            if (!is_timeout(&err))
                tp_log(ctx, "Invoke Error %s: %s (after %" PRId64 " positions of %s)", err.code,
                       err.message, updated, symbol);
            rc = fail_with(response, &err);
            break;
        }
        if (idempotent)
            tp_log(ctx, "updated %" PRId64 " positions (%" PRId64 " already had this quote)",
                   updated, skipped);
        else
            tp_log(ctx, "updated %" PRId64 " positions", updated);
    }
    cJSON_Delete(ev);
    return rc;
}

int tp_handler_quote_fanout(tp_ctx *ctx, const char *event_json, size_t len,
                            tp_response *response)
{
    return quote_fanout(ctx, event_json, len, response, 0);
}

int tp_handler_quote_fanout_idempotent(tp_ctx *ctx, const char *event_json, size_t len,
                                       tp_response *response)
{
    return quote_fanout(ctx, event_json, len, response, 1);
}
