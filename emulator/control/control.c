/* control/control — /_tidepool/ endpoints (control.h). */
#include "control.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/dispatch.h"
#include "core/json.h"
#include "capacity/throughput.h"
#include "dynamodb/streams.h"
#include "observe.h"
#include "lambda/lambda.h"

static int reply(tp_buf *out, int status, cJSON *body)
{
    char *text = tp_json_print(body);
    cJSON_Delete(body);
    tp_buf_puts(out, text ? text : "{}");
    free(text);
    return status;
}

static int fail(tp_buf *out, int status, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", message);
    return reply(out, status, o);
}

static cJSON *clock_json(const tp_control_ops *ops)
{
    cJSON *c = cJSON_CreateObject();
    int64_t now = tp_clock_now_ms(ops->core->clock);
    char iso[40];
    tp_format_iso8601(now, iso, sizeof iso);
    cJSON_AddStringToObject(c, "mode", tp_clock_mode_name(tp_clock_mode_get(ops->core->clock)));
    tp_json_add_int(c, "now_ms", now);
    cJSON_AddStringToObject(c, "now", iso);
    tp_json_add_int(c, "pending_events", (int64_t)ops->pending_events(ops->ctx));
    return c;
}

static int health(const tp_control_ops *ops, tp_buf *out)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddStringToObject(o, "version", TP_VERSION);
    cJSON *svcs = cJSON_AddArrayToObject(o, "services");
    for (size_t i = 0; i < tp_dispatch_service_count(ops->core->dispatch); i++)
        cJSON_AddItemToArray(svcs, cJSON_CreateString(tp_dispatch_service(ops->core->dispatch, i)->name));
    cJSON_AddItemToObject(o, "clock", clock_json(ops));
    cJSON_AddStringToObject(o, "storage", tp_store_path(ops->core->store));
    cJSON_AddStringToObject(o, "sync", tp_store_sync_mode(ops->core->store));
    return reply(out, 200, o);
}

static int clock_post(const tp_control_ops *ops, const char *body, size_t len, tp_buf *out)
{
    cJSON *in = tp_json_parse(body, len);
    if (!cJSON_IsObject(in)) {
        cJSON_Delete(in);
        return fail(out, 400, "body must be a JSON object such as {\"advance_ms\": 1000}");
    }
    const cJSON *adv = cJSON_GetObjectItemCaseSensitive(in, "advance_ms");
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(in, "to_ms");
    const cJSON *idle = cJSON_GetObjectItemCaseSensitive(in, "until_idle_ms");
    if (idle) {
        /* {"until_idle_ms": MAX}: run until pipelines are idle, at most MAX ms */
        int64_t max = cJSON_IsNumber(idle) ? (int64_t)idle->valuedouble : -1;
        cJSON_Delete(in);
        if (tp_clock_mode_get(ops->core->clock) != TP_CLOCK_VIRTUAL)
            return fail(out, 400, "the clock is real; start tidepool with --clock virtual to move it");
        if (max < 0 || !ops->run_until_idle)
            return fail(out, 400, "until_idle_ms must be a number of milliseconds >= 0");
        int64_t moved = ops->run_until_idle(ops->ctx, max);
        cJSON *o = clock_json(ops);
        tp_json_add_int(o, "advanced_ms", moved);
        return reply(out, 200, o);
    }
    int64_t ms = -1;
    if (cJSON_IsNumber(adv))
        ms = (int64_t)adv->valuedouble;
    else if (cJSON_IsNumber(to))
        ms = (int64_t)to->valuedouble - tp_clock_now_ms(ops->core->clock);
    cJSON_Delete(in);
    if (tp_clock_mode_get(ops->core->clock) != TP_CLOCK_VIRTUAL)
        return fail(out, 400, "the clock is real; start tidepool with --clock virtual to move it");
    if (ms < 0)
        return fail(out, 400,
                    "give {\"advance_ms\": N} with N >= 0, or {\"to_ms\": T} with T not in the past");
    int64_t ran = ops->advance(ops->ctx, ms);
    if (ran < 0)
        return fail(out, 500, "advancing the clock failed");
    cJSON *o = clock_json(ops);
    tp_json_add_int(o, "events_run", ran);
    return reply(out, 200, o);
}

/* GET /_tidepool/invocations[?since=ID&function=NAME&limit=N] (lambda.h). */
typedef struct invocations_query {
    int64_t since, limit;
    char function[128];
    cJSON *result;
} invocations_query;

static int invocations_query_run(tp_core *core, void *arg)
{
    invocations_query *q = arg;
    q->result = lambda_invocations_list(core, q->since, *q->function ? q->function : NULL, q->limit);
    return q->result ? 0 : -1;
}

static int invocations_get(const tp_control_ops *ops, const char *query, tp_buf *out)
{
    invocations_query q = {0};
    for (const char *p = query; p && *p;) {
        size_t n = strcspn(p, "&");
        char *end = NULL;
        if (strncmp(p, "since=", 6) == 0) {
            q.since = strtoll(p + 6, &end, 10);
            if (end == p + 6 || (*end && *end != '&') || q.since < 0)
                return fail(out, 400, "since must be an invocation id");
        } else if (strncmp(p, "limit=", 6) == 0) {
            q.limit = strtoll(p + 6, &end, 10);
            if (end == p + 6 || (*end && *end != '&') || q.limit < 0)
                return fail(out, 400, "limit must be a number >= 0");
        } else if (strncmp(p, "function=", 9) == 0) {
            snprintf(q.function, sizeof q.function, "%.*s", (int)(n - 9), p + 9);
        } else {
            return fail(out, 400, "unknown parameter; use since, function and limit");
        }
        p += n;
        if (*p == '&')
            p++;
    }
    if (!ops->locked || ops->locked(ops->ctx, invocations_query_run, &q) != 0) {
        cJSON_Delete(q.result);
        return fail(out, 500, "reading the invocations failed");
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "invocations", q.result);
    return reply(out, 200, o);
}

/* GET /_tidepool/streams: streams, shards and record counts (streams.h). */
typedef struct streams_query {
    cJSON *result;
} streams_query;

static int streams_query_run(tp_core *core, void *arg)
{
    streams_query *q = arg;
    q->result = streams_debug_list(core, tp_clock_now_ms(core->clock));
    return q->result ? 0 : -1;
}

static int streams_get(const tp_control_ops *ops, tp_buf *out)
{
    streams_query q = {0};
    if (!ops->locked || ops->locked(ops->ctx, streams_query_run, &q) != 0) {
        cJSON_Delete(q.result);
        return fail(out, 500, "reading the streams failed");
    }
    return reply(out, 200, q.result);
}

/* Built into the binary from emulator/control/ui/live.html (CMake). */
extern const char tp_ui_live_html[];

int tp_control_handle(const tp_control_ops *ops, const char *method, const char *path,
                      const char *body, size_t len, tp_buf *out)
{
    int observed = tp_observe_handle(ops, method, path, body, len, out);
    if (observed)
        return observed;   /* faults, trace, metrics (observe.c) */
    char bare[512];        /* the other endpoints ignore a query string */
    const char *query = strchr(path, '?');
    snprintf(bare, sizeof bare, "%.*s", (int)strcspn(path, "?"), path);
    path = bare;
    const char *p = path + strlen("/_tidepool/");
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (strcmp(p, "ui") == 0 || strcmp(p, "ui/") == 0) {
        /* the live view: one page built into the binary (ui/live.html) that
         * reads this API and the services' own */
        if (get) {
            tp_buf_puts(out, tp_ui_live_html);
            return 200;
        }
    } else if (strcmp(p, "health") == 0) {
        if (get)
            return health(ops, out);
    } else if (strcmp(p, "reset") == 0) {
        if (post) {
            if (ops->reset(ops->ctx) != 0)
                return fail(out, 500, "reset failed");
            tp_capacity_control_reset(ops);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddBoolToObject(o, "reset", 1);
            return reply(out, 200, o);
        }
    } else if (strcmp(p, "capacity") == 0) {
        int st = tp_capacity_control(ops, method, body, len, out);
        if (st >= 0)
            return st;
    } else if (strcmp(p, "streams") == 0) {
        if (get)
            return streams_get(ops, out);
    } else if (strcmp(p, "invocations") == 0) {
        if (get)
            return invocations_get(ops, query ? query + 1 : NULL, out);
    } else if (strcmp(p, "clock") == 0) {
        if (get)
            return reply(out, 200, clock_json(ops));
        if (post)
            return clock_post(ops, body, len, out);
    } else {
        char msg[300];
        snprintf(msg, sizeof msg, "no control endpoint %.200s", path);
        return fail(out, 404, msg);
    }
    char msg[300];
    snprintf(msg, sizeof msg, "%s is not allowed on %.200s", method, path);
    return fail(out, 405, msg);
}
