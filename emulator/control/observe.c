/* control/observe — fault rules, trace and metrics endpoints (observe.h). */
#include "observe.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity/faults.h"
#include "capacity/throughput.h"
#include "core/json.h"
#include "core/trace.h"

#define PREFIX "/_tidepool/"

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

/* The endpoint name after /_tidepool/ without the query: "trace", "faults/x". */
static int endpoint_is(const char *path, const char *name, const char **rest)
{
    if (strncmp(path, PREFIX, strlen(PREFIX)) != 0)
        return 0;
    const char *p = path + strlen(PREFIX);
    size_t n = strlen(name);
    if (strncmp(p, name, n) != 0 || (p[n] && p[n] != '?' && p[n] != '/'))
        return 0;
    if (rest)
        *rest = p + n;
    return 1;
}

static int not_allowed(const char *method, const char *path, tp_buf *out)
{
    char msg[300];
    snprintf(msg, sizeof msg, "%s is not allowed on %.200s", method, path);
    return fail(out, 405, msg);
}

static int faults_endpoint(const tp_control_ops *ops, const char *method, const char *path,
                           const char *rest, const char *body, size_t len, tp_buf *out)
{
    tp_faults *f = ops->core->faults;
    if (!f)
        return fail(out, 500, "fault injection is not set up");
    char id[128] = "";
    if (*rest == '/')
        snprintf(id, sizeof id, "%.*s", (int)strcspn(rest + 1, "?"), rest + 1);
    if (*id) {
        if (strcmp(method, "DELETE") != 0)
            return not_allowed(method, path, out);
        if (tp_faults_remove(f, id) != 0) {
            char msg[200];
            snprintf(msg, sizeof msg, "no fault rule with id %s", id);
            return fail(out, 404, msg);
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "deleted", id);
        return reply(out, 200, o);
    }
    if (strcmp(method, "GET") == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "rules", tp_faults_list(f));
        return reply(out, 200, o);
    }
    if (strcmp(method, "DELETE") == 0) {
        size_t n = tp_faults_count(f);
        tp_faults_remove_all(f);
        cJSON *o = cJSON_CreateObject();
        tp_json_add_int(o, "deleted", (int64_t)n);
        return reply(out, 200, o);
    }
    if (strcmp(method, "POST") == 0) {
        cJSON *in = tp_json_parse(body, len);
        if (!in) {
            return fail(out, 400,
                        "body must be a fault rule such as {\"operation\": \"GetItem\", \"every\": 2, "
                        "\"error\": {\"code\": \"InternalServerError\", \"status\": 500}}");
        }
        char why[512] = "";
        char rid[64] = "";
        int rc = tp_faults_add(f, in, 0, rid, sizeof rid, why, sizeof why);
        cJSON_Delete(in);
        if (rc != 0)
            return fail(out, 400, why);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", rid);
        return reply(out, 200, o);
    }
    return not_allowed(method, path, out);
}

static int trace_endpoint(const tp_control_ops *ops, const char *method, const char *path,
                          const char *rest, tp_buf *out)
{
    if (*rest == '/')
        return 0;   /* not ours: the dispatcher answers 404 */
    if (strcmp(method, "DELETE") == 0) {
        tp_trace_clear_events(ops->core->trace);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "cleared", 1);
        return reply(out, 200, o);
    }
    if (strcmp(method, "GET") != 0)
        return not_allowed(method, path, out);
    unsigned long long since = 0;
    const char *q = strchr(rest, '?');
    for (const char *p = q; p && *p;) {
        p++;
        if (strncmp(p, "since=", 6) == 0) {
            char *end;
            since = strtoull(p + 6, &end, 10);
            if (end == p + 6 || (*end && *end != '&'))
                return fail(out, 400, "since must be an event sequence number (the \"seq\" of an event)");
        }
        p = strchr(p, '&');
    }
    tp_trace_dump(ops->core->trace, since, out);
    return 200;
}

static int capacity_metrics_run(tp_core *core, void *arg)
{
    tp_capacity_metrics(core, arg);
    return 0;
}

static int metrics_endpoint(const tp_control_ops *ops, const char *method, const char *path,
                            const char *rest, tp_buf *out)
{
    if (*rest == '/')
        return 0;
    if (strcmp(method, "GET") != 0)
        return not_allowed(method, path, out);
    tp_trace_metrics(ops->core->trace, out);
    /* the capacity model's state lives under the engine lock */
    tp_buf cap;
    tp_buf_init(&cap);
    if (ops->locked && ops->locked(ops->ctx, capacity_metrics_run, &cap) == 0 && cap.len)
        tp_buf_append(out, cap.data, cap.len);
    tp_buf_free(&cap);
    return 200;
}

int tp_observe_handle(const tp_control_ops *ops, const char *method, const char *path,
                      const char *body, size_t len, tp_buf *out)
{
    const char *rest;
    if (endpoint_is(path, "faults", &rest))
        return faults_endpoint(ops, method, path, rest, body, len, out);
    if (endpoint_is(path, "trace", &rest))
        return trace_endpoint(ops, method, path, rest, out);
    if (endpoint_is(path, "metrics", &rest))
        return metrics_endpoint(ops, method, path, rest, out);
    return 0;
}

const char *tp_observe_content_type(const char *method, const char *path)
{
    const char *rest;
    if (strcmp(method, "GET") == 0 && endpoint_is(path, "trace", &rest) && *rest != '/')
        return "application/x-ndjson";
    if (strcmp(method, "GET") == 0 && endpoint_is(path, "metrics", &rest) && *rest != '/')
        return "text/plain; version=0.0.4";
    if (strcmp(method, "GET") == 0 && (strcmp(path, PREFIX "ui") == 0 || strcmp(path, PREFIX "ui/") == 0 ||
                                       strncmp(path, PREFIX "ui?", strlen(PREFIX "ui?")) == 0))
        return "text/html; charset=utf-8";
    return "application/json";
}
