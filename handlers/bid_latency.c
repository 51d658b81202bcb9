/* handlers/bid_latency — seeds/004's stream handler: how long after a bid
 * was written does the handler see it?
 *
 * For each record (a `bids` item: id, created_ms = the writer's clock when
 * it wrote the bid) it logs "bid ID lag N ms" (handler start minus
 * created_ms), the number the seed's author correlated by hand from
 * CloudWatch logs. The runner's summary computes the same lag from the
 * trace for every record.
 *
 * Environment, to answer the seed's two open questions by demonstration:
 *   SLEEP_MS=N      the handler works N ms per batch (longer than the
 *                   250 ms polling interval: the shard waits, nothing
 *                   overlaps — the next batch starts when this one ends)
 *   FAIL_BID=ID     the batch holding bid ID fails (a poison record): the
 *                   mapping retries it; records behind it on the shard
 *                   wait until it succeeds, is discarded or bisected away
 *   REPORT_ITEM_FAILURES=1  with FAIL_BID, answer {"batchItemFailures":
 *                   [{"itemIdentifier": <its SequenceNumber>}]} instead of
 *                   failing the whole batch (the mapping needs
 *                   FunctionResponseTypes ["ReportBatchItemFailures"]) */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tidepool/handler.h"

int tp_handler_bid_latency(tp_ctx *ctx, const char *event_json, size_t len,
                           tp_response *response);

static const char *attr(const cJSON *image, const char *name, const char *type)
{
    const cJSON *a = image ? cJSON_GetObjectItemCaseSensitive(image, name) : NULL;
    const cJSON *v = a ? cJSON_GetObjectItemCaseSensitive(a, type) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int tp_handler_bid_latency(tp_ctx *ctx, const char *event_json, size_t len,
                           tp_response *response)
{
    int64_t start = tp_now_ms(ctx);
    const char *fail_bid = tp_getenv(ctx, "FAIL_BID");
    const char *rif = tp_getenv(ctx, "REPORT_ITEM_FAILURES");
    int report = rif && strcmp(rif, "1") == 0;
    const char *sl = tp_getenv(ctx, "SLEEP_MS");
    int64_t sleep_ms = sl && *sl ? strtoll(sl, NULL, 10) : 0;

    cJSON *ev = cJSON_ParseWithLength(event_json, len);
    const cJSON *r;
    const char *failed_seq = NULL;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(ev, "Records"))
    {
        const cJSON *db = cJSON_GetObjectItemCaseSensitive(r, "dynamodb");
        const cJSON *img = cJSON_GetObjectItemCaseSensitive(db, "NewImage");
        const char *id = attr(img, "id", "S"), *created = attr(img, "created_ms", "N");
        const char *seq = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(db, "SequenceNumber"));
        if (!id)
            continue;
        if (created)
            tp_log(ctx, "bid %s lag %" PRId64 " ms", id, start - (int64_t)strtoll(created, NULL, 10));
        if (fail_bid && strcmp(fail_bid, id) == 0 && !failed_seq)
            failed_seq = seq ? seq : "";
    }
    if (sleep_ms > 0)
        tp_sleep_ms(ctx, sleep_ms);
    int rc = 0;
    if (failed_seq && report) {
        tp_log(ctx, "reporting bid %s as a batch item failure", fail_bid);
        tp_respondf(response, "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}", failed_seq);
    } else if (failed_seq) {
        tp_log(ctx, "bid %s is poison: failing the batch", fail_bid);
        tp_respondf(response,
                    "{\"errorMessage\":\"cannot process bid %s\",\"errorType\":\"PoisonBid\"}",
                    fail_bid);
        rc = 1;
    }
    cJSON_Delete(ev);
    return rc;
}
