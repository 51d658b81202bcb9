/* runner/report — the HTML report of one run (report.h). */
#include "runner/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

/* Built into the binary from emulator/control/ui/report.html (CMake). */
extern const char tp_ui_report_html[];

#define MAX_EVENTS 20000   /* timeline events kept; the rest are counted */
#define MAX_ROUTINE 10000  /* of which requests, throttles and SDK retries (floods) */
#define MAX_SECONDS 3000   /* series wider than this are folded into wider bins */
#define LAT_BUCKETS 16     /* latency histogram: [0,1) [1,2) [2,4) ... ms */

typedef enum agg { AGG_SUM, AGG_MAX } agg;

/* One series: group ("table"), resource ("positions"), metric ("write_consumed"). */
typedef struct series {
    char group[16], resource[160], metric[40];
    agg how;
    double *v;        /* per virtual second since the run's start */
    size_t n;
} series;

typedef struct running {
    char function[160];
    int64_t now;
} running;

struct tp_report {
    series *s;
    size_t n_s, cap_s;
    running *run;         /* concurrency per function */
    size_t n_run;
    cJSON *events;        /* [[t_ms, type, label], ...] */
    int64_t n_events, n_routine, dropped_events;
    cJSON *mapping_functions; /* {mapping: function} */
    cJSON *latency;       /* {function: [LAT_BUCKETS counts]} */
    cJSON *batch_sizes;   /* {mapping: {size: count}} */
    int64_t end_ms;
};

tp_report *tp_report_new(void)
{
    tp_report *rp = calloc(1, sizeof *rp);
    if (!rp)
        return NULL;
    rp->events = cJSON_CreateArray();
    rp->latency = cJSON_CreateObject();
    rp->batch_sizes = cJSON_CreateObject();
    rp->mapping_functions = cJSON_CreateObject();
    return rp;
}

void tp_report_free(tp_report *rp)
{
    if (!rp)
        return;
    for (size_t i = 0; i < rp->n_s; i++)
        free(rp->s[i].v);
    free(rp->s);
    free(rp->run);
    cJSON_Delete(rp->events);
    cJSON_Delete(rp->latency);
    cJSON_Delete(rp->batch_sizes);
    cJSON_Delete(rp->mapping_functions);
    free(rp);
}

static series *series_get(tp_report *rp, const char *group, const char *resource,
                          const char *metric, agg how)
{
    for (size_t i = 0; i < rp->n_s; i++)
        if (strcmp(rp->s[i].metric, metric) == 0 && strcmp(rp->s[i].resource, resource) == 0 &&
            strcmp(rp->s[i].group, group) == 0)
            return &rp->s[i];
    if (rp->n_s == rp->cap_s) {
        size_t cap = rp->cap_s ? rp->cap_s * 2 : 32;
        series *ns = realloc(rp->s, cap * sizeof *ns);
        if (!ns)
            return NULL;
        rp->s = ns;
        rp->cap_s = cap;
    }
    series *s = &rp->s[rp->n_s++];
    memset(s, 0, sizeof *s);
    snprintf(s->group, sizeof s->group, "%s", group);
    snprintf(s->resource, sizeof s->resource, "%s", resource);
    snprintf(s->metric, sizeof s->metric, "%s", metric);
    s->how = how;
    return s;
}

static void put(tp_report *rp, const char *group, const char *resource, const char *metric,
                agg how, int64_t t_ms, double value)
{
    if (!resource || !*resource || t_ms < 0)
        return;
    series *s = series_get(rp, group, resource, metric, how);
    if (!s)
        return;
    size_t sec = (size_t)(t_ms / 1000);
    if (sec >= s->n) {
        size_t n = sec + 1;
        double *nv = realloc(s->v, n * sizeof *nv);
        if (!nv)
            return;
        for (size_t i = s->n; i < n; i++)
            nv[i] = 0;
        s->v = nv;
        s->n = n;
    }
    if (how == AGG_SUM)
        s->v[sec] += value;
    else if (value > s->v[sec])
        s->v[sec] = value;
}

static int64_t *concurrency(tp_report *rp, const char *function)
{
    for (size_t i = 0; i < rp->n_run; i++)
        if (strcmp(rp->run[i].function, function) == 0)
            return &rp->run[i].now;
    running *nr = realloc(rp->run, (rp->n_run + 1) * sizeof *nr);
    if (!nr)
        return NULL;
    rp->run = nr;
    running *r = &rp->run[rp->n_run++];
    memset(r, 0, sizeof *r);
    snprintf(r->function, sizeof r->function, "%s", function);
    return &r->now;
}

static const char *str(const cJSON *ev, const char *name)
{
    const char *s = tp_json_str(ev, name);
    return s ? s : "";
}

static double num(const cJSON *ev, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, name);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The capacity model's resource: a table (and index), a stream (and shard), a queue. */
static void capacity_resource(const cJSON *ev, char *out, size_t cap)
{
    static const char *const names[] = {"table", "stream", "queue", "resource"};
    const char *base = "";
    for (size_t i = 0; i < sizeof names / sizeof *names && !*base; i++)
        base = str(ev, names[i]);
    const char *part = str(ev, "index");
    snprintf(out, cap, "%s%s%s", base, *part ? " / " : "", part);
}

/* A short line for the timeline. */
static void event_label(const cJSON *ev, const char *type, char *out, size_t cap)
{
    static const char *const keys[] = {"function", "operation", "outcome", "error", "error_type",
                                       "table", "queue", "shard", "size", "attempt",
                                       "duration_ms", "kind", "reason", "state", "records",
                                       "condition", "delay_ms", "messages", "pollers", "mapping"};
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof keys / sizeof *keys && o + 1 < cap; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, keys[i]);
        int w = 0;
        if (cJSON_IsString(v))
            w = snprintf(out + o, cap - o, "%s%s=%.80s", o ? " " : "", keys[i], v->valuestring);
        else if (cJSON_IsNumber(v))
            w = snprintf(out + o, cap - o, "%s%s=%.0f", o ? " " : "", keys[i], v->valuedouble);
        if (w > 0)
            o += (size_t)w < cap - o ? (size_t)w : cap - o - 1;
    }
    (void)type;
}

static void add_event(tp_report *rp, const cJSON *ev, const char *type, int64_t t)
{
    int routine = strcmp(type, "request") == 0 || strcmp(type, "throttle") == 0 ||
                  strcmp(type, "sdk_retry") == 0;
    if (rp->n_events >= MAX_EVENTS || (routine && rp->n_routine >= MAX_ROUTINE)) {
        rp->dropped_events++;
        return;
    }
    rp->n_routine += routine;
    char label[400];
    event_label(ev, type, label, sizeof label);
    cJSON *row = cJSON_CreateArray();
    cJSON_AddItemToArray(row, cJSON_CreateNumber((double)t));
    cJSON_AddItemToArray(row, cJSON_CreateString(type));
    cJSON_AddItemToArray(row, cJSON_CreateString(label));
    cJSON_AddItemToArray(rp->events, row);
    rp->n_events++;
}

static int latency_bucket(double ms)
{
    int b = 0;
    for (double edge = 1; ms >= edge && b < LAT_BUCKETS - 1; edge *= 2)
        b++;
    return b;
}

static void count_in(cJSON *obj, const char *key, const char *sub, int n_slots, int slot)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!o) {
        o = n_slots ? cJSON_CreateArray() : cJSON_CreateObject();
        for (int i = 0; i < n_slots; i++)
            cJSON_AddItemToArray(o, cJSON_CreateNumber(0));
        cJSON_AddItemToObject(obj, key, o);
    }
    cJSON *c = n_slots ? cJSON_GetArrayItem(o, slot) : cJSON_GetObjectItemCaseSensitive(o, sub);
    if (!c) {
        c = cJSON_CreateNumber(0);
        cJSON_AddItemToObject(o, sub, c);
    }
    cJSON_SetNumberValue(c, c->valuedouble + 1);
}

void tp_report_event(tp_report *rp, const cJSON *ev, int64_t t)
{
    const char *type = tp_json_str(ev, "type");
    if (!rp || !type)
        return;
    if (t > rp->end_ms)
        rp->end_ms = t;
    char res[200];
    const char *fn = str(ev, "function"), *mapping = str(ev, "mapping");
    if (strcmp(type, "consume") == 0) {
        capacity_resource(ev, res, sizeof res);
        char m[40];
        snprintf(m, sizeof m, "%s_consumed", str(ev, "kind"));
        put(rp, "table", res, m, AGG_SUM, t, num(ev, "units"));
        return;   /* one per charged call: too many for the timeline */
    }
    if (strcmp(type, "throttle") == 0) {
        capacity_resource(ev, res, sizeof res);
        char m[40];
        snprintf(m, sizeof m, "%s_throttled", str(ev, "kind"));
        put(rp, "table", res, m, AGG_SUM, t, 1);
        snprintf(m, sizeof m, "%s_provisioned", str(ev, "kind"));
        put(rp, "table", res, m, AGG_MAX, t, num(ev, "rate"));
    } else if (strcmp(type, "stream_record") == 0) {
        put(rp, "stream", str(ev, "stream"), "records_in", AGG_SUM, t, 1);
    } else if (strcmp(type, "batch") == 0) {
        const char *key = mapping;
        if (*mapping && *fn && !cJSON_GetObjectItemCaseSensitive(rp->mapping_functions, mapping))
            cJSON_AddStringToObject(rp->mapping_functions, mapping, fn);
        put(rp, "mapping", key, "records_out", AGG_SUM, t, num(ev, "size"));
        put(rp, "mapping", key, "batches", AGG_SUM, t, 1);
        char size[32];
        snprintf(size, sizeof size, "%.0f", num(ev, "size"));
        count_in(rp->batch_sizes, key, size, 0, 0);
        if (*str(ev, "shard"))
            put(rp, "shard", str(ev, "shard"), "records_out", AGG_SUM, t, num(ev, "size"));
    } else if (strcmp(type, "delete") == 0) {
        /* an SQS mapping deleting what its function handled */
        put(rp, "queue", str(ev, "queue"), "deleted", AGG_SUM, t, num(ev, "messages"));
    } else if (strcmp(type, "scale") == 0) {
        put(rp, "mapping", mapping, "pollers", AGG_MAX, t, num(ev, "pollers"));
    } else if (strcmp(type, "retry") == 0 || strcmp(type, "bisect") == 0 ||
               strcmp(type, "discard") == 0) {
        char m[40];
        snprintf(m, sizeof m, "%s", strcmp(type, "retry") == 0 ? "retries" : strcmp(type, "bisect") == 0 ? "bisects" : "discards");
        put(rp, "mapping", mapping, m, AGG_SUM, t, 1);
        if (*str(ev, "queue"))   /* messages left to become visible again */
            put(rp, "queue", str(ev, "queue"), "returned", AGG_SUM, t, num(ev, "messages"));
        const char *owner = tp_json_str(rp->mapping_functions, mapping);
        if (strcmp(type, "discard") == 0)
            put(rp, "function", *fn ? fn : owner, "discarded", AGG_SUM, t, 1);
    } else if (strcmp(type, "invoke_start") == 0) {
        int64_t *c = concurrency(rp, fn);
        if (c) {
            ++*c;
            put(rp, "function", fn, "concurrency", AGG_MAX, t, (double)*c);
        }
    } else if (strcmp(type, "invoke_end") == 0) {
        int64_t *c = concurrency(rp, fn);
        if (c && *c > 0)
            --*c;
        char m[40];
        snprintf(m, sizeof m, "%s", str(ev, "outcome"));
        put(rp, "function", fn, m, AGG_SUM, t, 1);
        if (c)
            put(rp, "function", fn, "concurrency", AGG_MAX, t, (double)*c);
        count_in(rp->latency, fn, NULL, LAT_BUCKETS, latency_bucket(num(ev, "duration_ms")));
    } else if (strcmp(type, "invoke_throttled") == 0) {
        put(rp, "function", fn, "throttled", AGG_SUM, t, 1);
    } else if (strcmp(type, "sqs_dead_letter") == 0) {
        put(rp, "queue", str(ev, "queue"), "dead_lettered", AGG_SUM, t, 1);
    }
    add_event(rp, ev, type, t);
}

/* The series folded into bins of w seconds, as {"group": {"resource": {"metric": [...]}}}. */
static cJSON *series_json(const tp_report *rp, size_t w, size_t bins)
{
    cJSON *root = cJSON_CreateObject();
    for (size_t i = 0; i < rp->n_s; i++) {
        const series *s = &rp->s[i];
        cJSON *g = cJSON_GetObjectItemCaseSensitive(root, s->group);
        if (!g)
            cJSON_AddItemToObject(root, s->group, g = cJSON_CreateObject());
        cJSON *r = cJSON_GetObjectItemCaseSensitive(g, s->resource);
        if (!r)
            cJSON_AddItemToObject(g, s->resource, r = cJSON_CreateObject());
        cJSON *arr = cJSON_CreateArray();
        for (size_t b = 0; b < bins; b++) {
            double v = 0;
            for (size_t k = b * w; k < (b + 1) * w && k < s->n; k++)
                v = s->how == AGG_SUM ? v + s->v[k] : (s->v[k] > v ? s->v[k] : v);
            /* three decimals: the same bytes whatever the summing order's last bits */
            cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)(int64_t)(v * 1000 + 0.5) / 1000));
        }
        cJSON_AddItemToObject(r, s->metric, arr);
    }
    return root;
}

static cJSON *summary_json(const tp_scenario_summary *s)
{
    static const char *const names[] = {
        "writes", "write_errors", "producer_retries", "writes_lost", "requests", "request_errors",
        "throttles", "faults", "sdk_retries", "stream_records", "batches", "batch_retries",
        "bisects", "discards", "checkpoints", "invocations", "invocations.success",
        "invocations.error", "invocations.timeout", "invocations.throttled",
        "records_delivered", "deliveries", "duplicate_records", "lag.p50_ms", "lag.p99_ms",
        "lag.max_ms", "iterator_age_max_ms", "out_of_order", "trace_events"};
    cJSON *rows = cJSON_CreateArray();
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        double v;
        if (tp_scenario_metric(s, names[i], &v) != 0)
            continue;
        cJSON *row = cJSON_CreateArray();
        cJSON_AddItemToArray(row, cJSON_CreateString(names[i]));
        cJSON_AddItemToArray(row, cJSON_CreateNumber(v));
        cJSON_AddItemToArray(rows, row);
    }
    for (size_t i = 0; i < s->n_probes; i++) {
        char name[80];
        snprintf(name, sizeof name, "probe.%s", s->probes[i].name);
        cJSON *row = cJSON_CreateArray();
        cJSON_AddItemToArray(row, cJSON_CreateString(name));
        cJSON_AddItemToArray(row, s->probes[i].ok ? cJSON_CreateNumber(s->probes[i].value)
                                                  : cJSON_CreateString("failed"));
        cJSON_AddItemToArray(rows, row);
    }
    for (size_t i = 0; i < s->n_stages; i++) {
        const tp_scenario_stage *g = &s->stages[i];
        char name[80];
        snprintf(name, sizeof name, "stage.%s.duration_ms", g->name);
        cJSON *row = cJSON_CreateArray();
        cJSON_AddItemToArray(row, cJSON_CreateString(name));
        cJSON_AddItemToArray(row, cJSON_CreateNumber(g->start_ms < 0 ? -1 : (double)(g->end_ms - g->start_ms)));
        cJSON_AddItemToArray(rows, row);
    }
    return rows;
}

/* Invocations: [start_ms, end_ms, function, outcome, batch_size, attempt, iterator_age_ms]. */
static cJSON *invocations_json(const tp_scenario_summary *s)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < s->n_inv && i < MAX_EVENTS; i++) {
        const tp_scenario_invocation *v = &s->inv[i];
        cJSON *row = cJSON_CreateArray();
        cJSON_AddItemToArray(row, cJSON_CreateNumber((double)v->start_ms));
        cJSON_AddItemToArray(row, cJSON_CreateNumber((double)v->end_ms));
        cJSON_AddItemToArray(row, cJSON_CreateString(v->function));
        cJSON_AddItemToArray(row, cJSON_CreateString(v->outcome));
        cJSON_AddItemToArray(row, cJSON_CreateNumber((double)v->batch_size));
        cJSON_AddItemToArray(row, cJSON_CreateNumber((double)v->attempt));
        cJSON_AddItemToArray(row, cJSON_CreateNumber((double)v->iterator_age_ms));
        cJSON_AddItemToArray(a, row);
    }
    return a;
}

/* JSON inside <script>: "</script" would end the element and "<!--" change
 * how it is read; a '<' only occurs inside strings, where \u003c is the same. */
static void put_script_json(FILE *f, const char *json)
{
    for (const char *p = json; *p; p++) {
        if (*p == '<')
            fputs("\\u003c", f);
        else
            fputc(*p, f);
    }
}

int tp_report_write(const tp_report *rp, const char *path, const cJSON *fixture,
                    const tp_scenario_summary *s, char *why, size_t why_cap)
{
    int64_t end = s->end_ms > rp->end_ms ? s->end_ms : rp->end_ms;
    size_t secs = (size_t)(end / 1000) + 1;
    size_t w = (secs + MAX_SECONDS - 1) / MAX_SECONDS;
    size_t bins = (secs + w - 1) / w;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "name", s->name);
    tp_json_add_int(d, "start_ms", s->start_ms);
    tp_json_add_int(d, "end_ms", end);
    tp_json_add_int(d, "bin_ms", (int64_t)w * 1000);
    cJSON_AddItemToObject(d, "series", series_json(rp, w, bins));
    cJSON_AddItemToObject(d, "latency", cJSON_Duplicate(rp->latency, 1));
    cJSON_AddItemToObject(d, "batch_sizes", cJSON_Duplicate(rp->batch_sizes, 1));
    cJSON_AddItemToObject(d, "mapping_functions", cJSON_Duplicate(rp->mapping_functions, 1));
    cJSON_AddItemToObject(d, "summary", summary_json(s));
    cJSON_AddItemToObject(d, "invocations", invocations_json(s));
    cJSON_AddItemToObject(d, "events", cJSON_Duplicate(rp->events, 1));
    tp_json_add_int(d, "events_dropped", rp->dropped_events);
    cJSON_AddItemToObject(d, "fixture", fixture ? cJSON_Duplicate(fixture, 1) : cJSON_CreateNull());
    char *json = tp_json_print(d);
    cJSON_Delete(d);
    if (!json) {
        snprintf(why, why_cap, "out of memory writing the report");
        return -1;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(why, why_cap, "cannot write %s: %s", path, strerror(errno));
        free(json);
        return -1;
    }
    static const char mark[] = "/*TP_REPORT_DATA*/";
    const char *at = strstr(tp_ui_report_html, mark);
    if (!at) {
        fputs(tp_ui_report_html, f);
    } else {
        fwrite(tp_ui_report_html, 1, (size_t)(at - tp_ui_report_html), f);
        put_script_json(f, json);
        fputs(at + strlen(mark), f);
    }
    free(json);
    if (fclose(f) != 0) {
        snprintf(why, why_cap, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
