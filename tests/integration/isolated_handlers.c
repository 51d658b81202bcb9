/* isolated_handlers — handlers that break the process they run in, loaded
 * with `tidepool serve --handlers libtp_isolated_handlers.so` and run with
 * "isolation": "process" (test_process_isolation.py): in tidepool-worker,
 * not in tidepool.
 *
 *   isolated.segv    writes through a null pointer
 *   isolated.spin    computes forever, never calling tidepool
 *   isolated.sleepy  tp_sleep_ms(500), then PutItem {"pk": request id} into
 *                    the table the event's "table" names; answers
 *                    {"remaining_before": ms, "remaining_after": ms} */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tidepool/handler.h"

int tp_handlers_init(tp_handler_registry *reg);

static int segv(tp_ctx *ctx, const char *event, size_t len, tp_response *r)
{
    tp_log(ctx, "about to crash");
    volatile int *p = NULL;
    *p = 1;
    return 0;
}

static int spin(tp_ctx *ctx, const char *event, size_t len, tp_response *r)
{
    volatile unsigned long n = 0;
    for (;;)
        n++;
    return 0;
}

static int sleepy(tp_ctx *ctx, const char *event, size_t len, tp_response *r)
{
    int64_t before = tp_remaining_ms(ctx);
    tp_sleep_ms(ctx, 500);
    char body[256];
    snprintf(body, sizeof body, "{\"TableName\":\"isolated\",\"Item\":{\"pk\":{\"S\":\"%s\"}}}",
             tp_request_id(ctx));
    char *out = NULL;
    tp_error err;
    if (tp_call(ctx, "DynamoDB_20120810.PutItem", body, &out, &err) != 0) {
        tp_respondf(r, "{\"errorType\":\"%s\",\"errorMessage\":\"put failed\"}", err.code);
        return 1;
    }
    free(out);
    tp_respondf(r, "{\"remaining_before\":%lld,\"remaining_after\":%lld}", (long long)before,
                (long long)tp_remaining_ms(ctx));
    return 0;
}

int tp_handlers_init(tp_handler_registry *reg)
{
    if (tp_register_handler(reg, "isolated.segv", segv) != 0 ||
        tp_register_handler(reg, "isolated.spin", spin) != 0 ||
        tp_register_handler(reg, "isolated.sleepy", sleepy) != 0)
        return -1;
    return 0;
}
