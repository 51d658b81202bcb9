/* sample_handlers — a handler library as a user would build one: compiled
 * against tidepool/handler.h only, loaded with `tidepool serve --handlers
 * libtp_sample_handlers.so`. test_handler_library.py drives it.
 *
 *   sample.upper   answers {"upper": "<the event's "text", upper-cased>"}
 *                  and, when the event names a "table", puts
 *                  {"pk": text, "by": request id} there with tp_call.
 *   sample.recorder  for each record of a stream batch, adds 1 to "n" of the
 *                  item {"seq": <its SequenceNumber>} in the table named by
 *                  the function's RECORD_TABLE: how often each record was
 *                  delivered (test_durability.py). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tidepool/handler.h"

int tp_handlers_init(tp_handler_registry *reg);

/* The value of a top-level "key": "value" string member (no escapes). */
static int member(const char *json, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(json, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    if (*p++ != '"')
        return -1;
    size_t n = strcspn(p, "\"");
    if (n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = 0;
    return 0;
}

static int upper(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    char text[256], table[256];
    if (member(event, "text", text, sizeof text) != 0)
        return tp_respondf(resp, "{\"errorType\":\"BadEvent\",\"errorMessage\":\"no text\"}"), 1;
    for (char *p = text; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (member(event, "table", table, sizeof table) == 0) {
        char req[800], *out = NULL;
        tp_error err;
        snprintf(req, sizeof req,
                 "{\"TableName\":\"%s\",\"Item\":{\"pk\":{\"S\":\"%s\"},\"by\":{\"S\":\"%s\"}}}",
                 table, text, tp_request_id(ctx));
        if (tp_call(ctx, "DynamoDB_20120810.PutItem", req, &out, &err) != 0) {
            tp_respondf(resp, "{\"errorType\":\"%s\",\"errorMessage\":\"%s\"}", err.code,
                        err.message);
            return 1;
        }
        free(out);
    }
    tp_log(ctx, "upper-cased %zu bytes", strlen(text));
    return tp_respondf(resp, "{\"upper\":\"%s\"}", text) < 0;
}

static int recorder(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    (void)len;
    const char *table = tp_getenv(ctx, "RECORD_TABLE");
    if (!table)
        return tp_respondf(resp, "{\"errorType\":\"Config\",\"errorMessage\":\"no RECORD_TABLE\"}"), 1;
    static const char pat[] = "\"SequenceNumber\":\"";
    int n = 0;
    for (const char *p = strstr(event, pat); p; p = strstr(p, pat)) {
        p += sizeof pat - 1;
        size_t m = strcspn(p, "\"");
        if (m == 0 || m > 64)
            return tp_respondf(resp, "{\"errorType\":\"BadEvent\",\"errorMessage\":\"bad seq\"}"), 1;
        char req[512], *out = NULL;
        tp_error err;
        snprintf(req, sizeof req,
                 "{\"TableName\":\"%s\",\"Key\":{\"seq\":{\"S\":\"%.*s\"}},"
                 "\"UpdateExpression\":\"ADD n :one\","
                 "\"ExpressionAttributeValues\":{\":one\":{\"N\":\"1\"}}}",
                 table, (int)m, p);
        if (tp_call(ctx, "DynamoDB_20120810.UpdateItem", req, &out, &err) != 0) {
            tp_respondf(resp, "{\"errorType\":\"%s\",\"errorMessage\":\"%s\"}", err.code,
                        err.message);
            return 1;
        }
        free(out);
        n++;
    }
    return tp_respondf(resp, "{\"recorded\":%d}", n) < 0;
}

int tp_handlers_init(tp_handler_registry *reg)
{
    return tp_register_handler(reg, "sample.upper", upper) ||
           tp_register_handler(reg, "sample.recorder", recorder);
}
