/* handlers/echo — a test handler: answers with the event it was given.
 *
 *   {"getenv": true}           -> {"env": <the GREETING environment variable or null>}
 *   {"fail": true, ...}        -> a function error: returns non-zero with
 *                                 {"errorMessage": ..., "errorType": "EchoError"}
 *   anything else              -> the event itself
 *
 * It logs one line per invocation, so Invoke's LogType Tail and the
 * invocation log have something to show. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "tidepool/handler.h"

int tp_handler_echo(tp_ctx *ctx, const char *event_json, size_t len, tp_response *response);

int tp_handler_echo(tp_ctx *ctx, const char *event_json, size_t len, tp_response *response)
{
    tp_log(ctx, "echo: %zu bytes", len);
    cJSON *ev = cJSON_ParseWithLength(event_json, len);
    int rc = 0;
    if (cJSON_IsObject(ev) && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "fail"))) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(ev, "message");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "errorMessage",
                                cJSON_IsString(m) ? m->valuestring : "echo was asked to fail");
        cJSON_AddStringToObject(o, "errorType", "EchoError");
        char *text = cJSON_PrintUnformatted(o);
        if (text)
            tp_respond(response, text, strlen(text));
        free(text);
        cJSON_Delete(o);
        rc = 1;
    } else if (cJSON_IsObject(ev) &&
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "getenv"))) {
        const char *g = tp_getenv(ctx, "GREETING");
        cJSON *o = cJSON_CreateObject();
        if (g)
            cJSON_AddStringToObject(o, "env", g);
        else
            cJSON_AddNullToObject(o, "env");
        char *text = cJSON_PrintUnformatted(o);
        if (text)
            tp_respond(response, text, strlen(text));
        free(text);
        cJSON_Delete(o);
    } else {
        tp_respond(response, event_json, len);
    }
    cJSON_Delete(ev);
    return rc;
}
