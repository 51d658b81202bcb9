/* handlers/idempotent_writer — seeds/003's stream consumer: applies each
 * change of an `accounts` item (stream NEW_AND_OLD_IMAGES) to a ledger.
 *
 * Per record: delta = NewImage.balance - OldImage.balance (0 when absent),
 * then UpdateItem on the ledger table, key account = the item's id:
 * ADD applied_total :delta, entry_count 1.
 *
 *   idempotent_writer              applies unconditionally: a batch seen
 *                                  again applies again
 *   idempotent_writer_conditional  SET last_seq = the record's stream
 *                                  SequenceNumber, on condition that the
 *                                  ledger's last_seq is older: a batch
 *                                  seen again changes nothing
 *
 * Environment: LEDGER_TABLE (default "ledger"); FAIL_AFTER=N makes the
 * function fail after applying N records of a batch, once per batch (the
 * first delivery: a marker item "fail-marker#<first eventID>" written
 * with attribute_not_exists says whether it failed this batch before). */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tidepool/handler.h"

int tp_handler_idempotent_writer(tp_ctx *ctx, const char *event_json, size_t len,
                                 tp_response *response);
int tp_handler_idempotent_writer_conditional(tp_ctx *ctx, const char *event_json, size_t len,
                                             tp_response *response);

static const char *attr_n(const cJSON *image, const char *name)
{
    const cJSON *a = image ? cJSON_GetObjectItemCaseSensitive(image, name) : NULL;
    const cJSON *v = a ? cJSON_GetObjectItemCaseSensitive(a, "N") : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *attr_s(const cJSON *image, const char *name)
{
    const cJSON *a = image ? cJSON_GetObjectItemCaseSensitive(image, name) : NULL;
    const cJSON *v = a ? cJSON_GetObjectItemCaseSensitive(a, "S") : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int respond_error(tp_response *response, const char *type, const char *message)
{
    tp_respondf(response, "{\"errorMessage\":\"%s\",\"errorType\":\"%s\"}", message, type);
    return 1;
}

/* 1 when this is the first time this batch fails (the marker was new). */
static int first_failure(tp_ctx *ctx, const char *table, const char *event_id)
{
    char body[512], *out = NULL;
    snprintf(body, sizeof body,
             "{\"TableName\":\"%s\",\"Item\":{\"account\":{\"S\":\"fail-marker#%s\"}},"
             "\"ConditionExpression\":\"attribute_not_exists(account)\"}",
             table, event_id);
    tp_error err;
    if (tp_call(ctx, "DynamoDB_20120810.PutItem", body, &out, &err) != 0)
        return 0;
    free(out);
    return 1;
}

static int apply_batch(tp_ctx *ctx, const char *event_json, size_t len, tp_response *response,
                       int conditional)
{
    const char *table = tp_getenv(ctx, "LEDGER_TABLE");
    if (!table || !*table)
        table = "ledger";
    const char *fa = tp_getenv(ctx, "FAIL_AFTER");
    int64_t fail_after = fa && *fa ? strtoll(fa, NULL, 10) : -1;

    cJSON *ev = cJSON_ParseWithLength(event_json, len);
    const cJSON *records = cJSON_GetObjectItemCaseSensitive(ev, "Records");
    const cJSON *first = cJSON_GetArrayItem(records, 0);
    const char *first_id =
        first ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "eventID")) : NULL;
    int64_t applied = 0, skipped = 0;
    int rc = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, records)
    {
        if (fail_after >= 0 && applied + skipped == fail_after && first_id &&
            first_failure(ctx, table, first_id)) {
            tp_log(ctx, "failing mid-batch after %" PRId64 " of %d records", applied + skipped,
                   cJSON_GetArraySize(records));
            rc = respond_error(response, "MidBatchFailure",
                               "the consumer failed in the middle of the batch");
            break;
        }
        const cJSON *db = cJSON_GetObjectItemCaseSensitive(r, "dynamodb");
        const cJSON *ni = cJSON_GetObjectItemCaseSensitive(db, "NewImage");
        const cJSON *oi = cJSON_GetObjectItemCaseSensitive(db, "OldImage");
        const char *id = attr_s(ni, "id");
        const char *seq = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(db, "SequenceNumber"));
        if (!id || !seq)
            continue;
        const char *nb = attr_n(ni, "balance"), *ob = attr_n(oi, "balance");
        long long delta = (nb ? strtoll(nb, NULL, 10) : 0) - (ob ? strtoll(ob, NULL, 10) : 0);
        char body[1024], *out = NULL;
        if (conditional)
            snprintf(body, sizeof body,
                     "{\"TableName\":\"%s\",\"Key\":{\"account\":{\"S\":\"%s\"}},"
                     "\"UpdateExpression\":\"SET last_seq = :seq ADD applied_total :d, entry_count :one\","
                     "\"ConditionExpression\":\"attribute_not_exists(last_seq) OR last_seq < :seq\","
                     "\"ExpressionAttributeValues\":{\":seq\":{\"N\":\"%s\"},\":d\":{\"N\":\"%lld\"},"
                     "\":one\":{\"N\":\"1\"}}}",
                     table, id, seq, delta);
        else
            snprintf(body, sizeof body,
                     "{\"TableName\":\"%s\",\"Key\":{\"account\":{\"S\":\"%s\"}},"
                     "\"UpdateExpression\":\"ADD applied_total :d, entry_count :one\","
                     "\"ExpressionAttributeValues\":{\":d\":{\"N\":\"%lld\"},\":one\":{\"N\":\"1\"}}}",
                     table, id, delta);
        tp_error err;
        if (tp_call(ctx, "DynamoDB_20120810.UpdateItem", body, &out, &err) != 0) {
            if (conditional && strcmp(err.code, "ConditionalCheckFailedException") == 0) {
                skipped++;
                continue;
            }
            tp_log(ctx, "ledger update failed: %s: %s", err.code, err.message);
            rc = respond_error(response, err.code, "ledger update failed");
            break;
        }
        free(out);
        applied++;
    }
    tp_log(ctx, "applied %" PRId64 " records, %" PRId64 " already applied", applied, skipped);
    cJSON_Delete(ev);
    return rc;
}

int tp_handler_idempotent_writer(tp_ctx *ctx, const char *event_json, size_t len,
                                 tp_response *response)
{
    return apply_batch(ctx, event_json, len, response, 0);
}

int tp_handler_idempotent_writer_conditional(tp_ctx *ctx, const char *event_json, size_t len,
                                             tp_response *response)
{
    return apply_batch(ctx, event_json, len, response, 1);
}
