/* capacity/throughput — per table and per GSI token buckets (throughput.h). */
#include "throughput.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucket.h"
#include "control/control.h"
#include "core/json.h"
#include "core/trace.h"

#define CAP_DEFAULT_BURST_S 300
#define CAP_DEFAULT_ON_DEMAND 40000

typedef struct cap_entry {
    struct cap_entry *next;
    tp_core *core;
    char account[16], region[32], table[256], index[256];
    int64_t table_id;
    tp_bucket b[2];              /* TP_CAP_READ, TP_CAP_WRITE */
    int64_t consumed_milli[2];
    int64_t throttled[2];
} cap_entry;

typedef struct cap_override {
    struct cap_override *next;
    tp_core *core;
    char account[16], region[32], table[256], index[256];   /* account/region "": any */
    int64_t rate[2];                                         /* -1: not overridden */
} cap_override;

/* Only touched under the engine lock (actions and locked control calls). */
/* Every bucket and override of one engine, hung on its tp_core. */
struct tp_capacity {
    cap_entry *entries;
    cap_override *overrides;
};

/* The core's capacity state, made on first use; NULL only on OOM, which
 * the callers cannot survive anyway. */
static struct tp_capacity *cap(tp_core *core)
{
    if (!core->capacity)
        core->capacity = calloc(1, sizeof *core->capacity);
    if (!core->capacity)
        abort();
    return core->capacity;
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static const cJSON *cap_config(const tp_core *core)
{
    return core->config ? cJSON_GetObjectItemCaseSensitive(core->config, "capacity") : NULL;
}

static int64_t cap_setting(const tp_core *core, const char *name, int64_t dflt)
{
    const cJSON *c = cap_config(core);
    return c ? tp_json_int(c, name, dflt) : dflt;
}

static int64_t num_member(const cJSON *o, const char *name)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

static const cJSON *find_gsi(const cJSON *desc, const char *index)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(desc, "GlobalSecondaryIndexes"))
    {
        const char *n = tp_json_str(g, "IndexName");
        if (n && strcmp(n, index) == 0)
            return g;
    }
    return NULL;
}

static int is_on_demand(const cJSON *desc)
{
    const char *bm = tp_json_str(cJSON_GetObjectItemCaseSensitive(desc, "BillingModeSummary"),
                                 "BillingMode");
    return bm && strcmp(bm, "PAY_PER_REQUEST") == 0;
}

/* The run-time override of a bucket (first match wins), or -1. */
static int64_t override_rate(const tp_core *core, const char *account, const char *region,
                             const char *table, const char *index, tp_cap_kind kind)
{
    for (cap_override *o = core->capacity ? core->capacity->overrides : NULL; o; o = o->next) {
        if (o->core != core || strcmp(o->table, table) != 0 ||
            strcmp(o->index, index ? index : "") != 0 || o->rate[kind] < 0 ||
            (o->account[0] && strcmp(o->account, account) != 0) ||
            (o->region[0] && strcmp(o->region, region) != 0))
            continue;
        return o->rate[kind];
    }
    return -1;
}

/* The rate and burst a bucket should have now. */
static void resolve_rate(tp_core *core, const char *account, const char *region, const char *table,
                         const cJSON *desc, const char *index, tp_cap_kind kind, int64_t *rate,
                         int64_t *burst_ms)
{
    const char *key = kind == TP_CAP_READ ? "read" : "write";
    *burst_ms = cap_setting(core, "burst_seconds", CAP_DEFAULT_BURST_S) * 1000;
    int64_t ov = override_rate(core, account, region, table, index, kind);
    if (ov >= 0) {
        *rate = ov;
        return;
    }
    const cJSON *tables = cJSON_GetObjectItemCaseSensitive(cap_config(core), "tables");
    const cJSON *tc = tables ? cJSON_GetObjectItemCaseSensitive(tables, table) : NULL;
    if (tc && index) {
        const cJSON *gc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(tc, "gsi"), index);
        tc = gc;
    }
    int64_t v = num_member(tc, key);
    if (v >= 0) {
        *rate = v;
        return;
    }
    if (is_on_demand(desc)) {
        *rate = cap_setting(core, kind == TP_CAP_READ ? "on_demand_max_read" : "on_demand_max_write",
                            CAP_DEFAULT_ON_DEMAND);
        *burst_ms = 1000;
        return;
    }
    const cJSON *owner = index ? find_gsi(desc, index) : desc;
    const cJSON *pt = owner ? cJSON_GetObjectItemCaseSensitive(owner, "ProvisionedThroughput") : NULL;
    v = num_member(pt, kind == TP_CAP_READ ? "ReadCapacityUnits" : "WriteCapacityUnits");
    *rate = v > 0 ? v : 0;
}

static cap_entry *entry_for(tp_req *r, int64_t table_id, const char *table, const cJSON *desc,
                            const char *index, tp_cap_kind kind)
{
    const char *ix = index ? index : "";
    cap_entry *e;
    for (e = cap(r->core)->entries; e; e = e->next)
        if (e->core == r->core && strcmp(e->table, table) == 0 && strcmp(e->index, ix) == 0 &&
            strcmp(e->account, r->account) == 0 && strcmp(e->region, r->region) == 0)
            break;
    int fresh = !e || e->table_id != table_id;   /* new, or the table was recreated */
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e)
            return NULL;
        e->core = r->core;
        copy(e->account, sizeof e->account, r->account);
        copy(e->region, sizeof e->region, r->region);
        copy(e->table, sizeof e->table, table);
        copy(e->index, sizeof e->index, ix);
        e->next = cap(r->core)->entries;
        cap(r->core)->entries = e;
    }
    int full = tp_json_bool(cap_config(r->core), "start_full", 1);
    for (int k = 0; k < 2; k++) {
        int64_t rate, burst;
        resolve_rate(r->core, r->account, r->region, table, desc, index, (tp_cap_kind)k, &rate,
                     &burst);
        if (fresh)
            tp_bucket_init(&e->b[k], rate, burst, full, r->now_ms);
        else if (rate != e->b[k].rate || burst != e->b[k].burst_ms)
            tp_bucket_set_rate(&e->b[k], rate, burst, r->now_ms);
    }
    e->table_id = table_id;
    (void)kind;
    return e;
}

int tp_capacity_admit(tp_req *r, int64_t table_id, const char *table, const cJSON *desc,
                      const char *index, tp_cap_kind kind)
{
    cap_entry *e = entry_for(r, table_id, table, desc, index, kind);
    if (!e)
        return 1;
    if (tp_bucket_admit(&e->b[kind], r->now_ms))
        return 1;
    e->throttled[kind]++;
    cJSON *f = cJSON_CreateObject();
    if (f) {
        cJSON_AddStringToObject(f, "service", "dynamodb");
        if (r->request_id)
            cJSON_AddStringToObject(f, "request_id", r->request_id);
        cJSON_AddStringToObject(f, "account", e->account);
        cJSON_AddStringToObject(f, "region", e->region);
        cJSON_AddStringToObject(f, "table", e->table);
        if (e->index[0])
            cJSON_AddStringToObject(f, "index", e->index);
        cJSON_AddStringToObject(f, "kind", kind == TP_CAP_READ ? "read" : "write");
        tp_json_add_int(f, "rate", e->b[kind].rate);
        cJSON_AddNumberToObject(f, "level", (double)e->b[kind].level / 1000.0);
        tp_trace_emit(r->core, "throttle", f);
        cJSON_Delete(f);
    }
    return 0;
}

void tp_capacity_charge(tp_req *r, int64_t table_id, const char *table, const cJSON *desc,
                        const char *index, tp_cap_kind kind, double units)
{
    cap_entry *e = entry_for(r, table_id, table, desc, index, kind);
    if (!e)
        return;
    int64_t m = tp_units_to_milli(units);
    tp_bucket_refill(&e->b[kind], r->now_ms);
    tp_bucket_charge(&e->b[kind], m);
    e->consumed_milli[kind] += m;
}

void tp_capacity_reset(tp_core *core)
{
    for (cap_entry **pp = &cap(core)->entries; *pp;) {
        cap_entry *e = *pp;
        if (e->core == core) {
            *pp = e->next;
            free(e);
        } else {
            pp = &e->next;
        }
    }
    for (cap_override **pp = &cap(core)->overrides; *pp;) {
        cap_override *o = *pp;
        if (o->core == core) {
            *pp = o->next;
            free(o);
        } else {
            pp = &o->next;
        }
    }
}

static void add_milli(cJSON *o, const char *name, int64_t milli)
{
    cJSON_AddNumberToObject(o, name, (double)milli / 1000.0);
}

cJSON *tp_capacity_list(tp_core *core)
{
    cJSON *arr = cJSON_CreateArray();
    int64_t now = tp_clock_now_ms(core->clock);
    for (cap_entry *e = cap(core)->entries; e; e = e->next) {
        if (e->core != core)
            continue;
        for (int k = 0; k < 2; k++) {
            tp_bucket_refill(&e->b[k], now);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "account", e->account);
            cJSON_AddStringToObject(o, "region", e->region);
            cJSON_AddStringToObject(o, "table", e->table);
            if (e->index[0])
                cJSON_AddStringToObject(o, "index", e->index);
            else
                cJSON_AddNullToObject(o, "index");
            cJSON_AddStringToObject(o, "kind", k == TP_CAP_READ ? "read" : "write");
            tp_json_add_int(o, "rate", e->b[k].rate);
            add_milli(o, "level", e->b[k].level);
            add_milli(o, "burst", tp_bucket_capacity(&e->b[k]));
            add_milli(o, "consumed", e->consumed_milli[k]);
            tp_json_add_int(o, "throttled", e->throttled[k]);
            cJSON_AddItemToArray(arr, o);
        }
    }
    return arr;
}

int tp_capacity_override(tp_core *core, const cJSON *body, char *why, size_t whylen)
{
    const char *table = tp_json_str(body, "table");
    if (!cJSON_IsObject(body) || !table || !table[0]) {
        snprintf(why, whylen, "give {\"table\": NAME, \"read\": R, \"write\": W} (\"index\", "
                              "\"account\", \"region\" optional)");
        return -1;
    }
    int64_t rate[2] = {num_member(body, "read"), num_member(body, "write")};
    if (rate[0] < 0 && rate[1] < 0) {
        snprintf(why, whylen, "give \"read\" and/or \"write\" as numbers >= 0");
        return -1;
    }
    const char *index = tp_json_str(body, "index"), *account = tp_json_str(body, "account"),
               *region = tp_json_str(body, "region");
    cap_override *o;
    for (o = cap(core)->overrides; o; o = o->next)
        if (o->core == core && strcmp(o->table, table) == 0 &&
            strcmp(o->index, index ? index : "") == 0 &&
            strcmp(o->account, account ? account : "") == 0 &&
            strcmp(o->region, region ? region : "") == 0)
            break;
    if (!o) {
        o = calloc(1, sizeof *o);
        if (!o) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        o->core = core;
        copy(o->table, sizeof o->table, table);
        copy(o->index, sizeof o->index, index);
        copy(o->account, sizeof o->account, account);
        copy(o->region, sizeof o->region, region);
        o->rate[0] = o->rate[1] = -1;
        o->next = cap(core)->overrides;
        cap(core)->overrides = o;
    }
    for (int k = 0; k < 2; k++)
        if (rate[k] >= 0)
            o->rate[k] = rate[k];
    /* The new rate applies from now: each affected bucket is refilled at
     * its old rate up to this moment, then switched (not at its next use). */
    int64_t now = tp_clock_now_ms(core->clock);
    int64_t burst = cap_setting(core, "burst_seconds", CAP_DEFAULT_BURST_S) * 1000;
    for (cap_entry *e = cap(core)->entries; e; e = e->next) {
        if (e->core != core)
            continue;
        for (int k = 0; k < 2; k++) {
            int64_t v = override_rate(core, e->account, e->region, e->table,
                                      e->index[0] ? e->index : NULL, (tp_cap_kind)k);
            if (v >= 0 && (v != e->b[k].rate || burst != e->b[k].burst_ms))
                tp_bucket_set_rate(&e->b[k], v, burst, now);
        }
    }
    return 0;
}

void tp_capacity_table_changed(tp_core *core, int64_t table_id, const cJSON *desc, int64_t now_ms)
{
    for (cap_entry *e = cap(core)->entries; e; e = e->next) {
        if (e->core != core || e->table_id != table_id)
            continue;
        for (int k = 0; k < 2; k++) {
            int64_t rate, burst;
            resolve_rate(core, e->account, e->region, e->table, desc,
                         e->index[0] ? e->index : NULL, (tp_cap_kind)k, &rate, &burst);
            if (rate != e->b[k].rate || burst != e->b[k].burst_ms)
                tp_bucket_set_rate(&e->b[k], rate, burst, now_ms);
        }
    }
}

static void label_esc(tp_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            tp_buf_printf(out, "\\%c", *s);
        else if (*s == '\n')
            tp_buf_puts(out, "\\n");
        else
            tp_buf_append(out, s, 1);
    }
}

static void metric_line(tp_buf *out, const char *metric, const cap_entry *e, int k, int64_t milli,
                        int is_count)
{
    tp_buf_printf(out, "%s{account=\"", metric);
    label_esc(out, e->account);
    tp_buf_puts(out, "\",region=\"");
    label_esc(out, e->region);
    tp_buf_puts(out, "\",table=\"");
    label_esc(out, e->table);
    tp_buf_puts(out, "\",index=\"");
    label_esc(out, e->index);
    tp_buf_printf(out, "\",kind=\"%s\"} ", k == TP_CAP_READ ? "read" : "write");
    if (is_count)
        tp_buf_printf(out, "%lld\n", (long long)milli);
    else
        tp_buf_printf(out, "%s%lld.%03lld\n", milli < 0 ? "-" : "",
                      (long long)(milli < 0 ? -milli : milli) / 1000,
                      (long long)(milli < 0 ? -milli : milli) % 1000);
}

void tp_capacity_metrics(tp_core *core, tp_buf *out)
{
    int64_t now = tp_clock_now_ms(core->clock);
    static const struct {
        const char *name, *type, *help;
    } m[] = {
        {"tidepool_consumed_capacity_units_total", "counter", "Capacity units charged"},
        {"tidepool_throttled_requests_total", "counter", "Requests refused by a bucket"},
        {"tidepool_bucket_level", "gauge", "Capacity units in the bucket now"},
    };
    for (int i = 0; i < 3; i++) {
        tp_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m[i].name, m[i].help, m[i].name,
                      m[i].type);
        for (cap_entry *e = cap(core)->entries; e; e = e->next) {
            if (e->core != core)
                continue;
            for (int k = 0; k < 2; k++) {
                if (i == 0)
                    metric_line(out, m[i].name, e, k, e->consumed_milli[k], 0);
                else if (i == 1)
                    metric_line(out, m[i].name, e, k, e->throttled[k], 1);
                else {
                    tp_bucket_refill(&e->b[k], now);
                    metric_line(out, m[i].name, e, k, e->b[k].level, 0);
                }
            }
        }
    }
}

/* --- /_tidepool/capacity ---------------------------------------------------- */

typedef struct cap_call {
    const cJSON *body;
    cJSON *result;
    char why[200];
    int rc;
} cap_call;

static int cap_list_run(tp_core *core, void *arg)
{
    cap_call *c = arg;
    c->result = tp_capacity_list(core);
    return c->result ? 0 : -1;
}

static int cap_override_run(tp_core *core, void *arg)
{
    cap_call *c = arg;
    c->rc = tp_capacity_override(core, c->body, c->why, sizeof c->why);
    return 0;
}

static int cap_reset_run(tp_core *core, void *arg)
{
    (void)arg;
    tp_capacity_reset(core);
    return 0;
}

void tp_capacity_control_reset(const tp_control_ops *ops)
{
    if (ops->locked)
        ops->locked(ops->ctx, cap_reset_run, NULL);
}

static int cap_reply(tp_buf *out, int status, cJSON *body)
{
    char *text = tp_json_print(body);
    cJSON_Delete(body);
    tp_buf_puts(out, text ? text : "{}");
    free(text);
    return status;
}

static int cap_error(tp_buf *out, int status, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", message);
    return cap_reply(out, status, o);
}

int tp_capacity_control(const tp_control_ops *ops, const char *method, const char *body,
                        size_t len, tp_buf *out)
{
    cap_call c;
    memset(&c, 0, sizeof c);
    if (!ops->locked)
        return cap_error(out, 500, "no engine");
    if (strcmp(method, "GET") == 0) {
        if (ops->locked(ops->ctx, cap_list_run, &c) != 0) {
            cJSON_Delete(c.result);
            return cap_error(out, 500, "reading the buckets failed");
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "buckets", c.result);
        return cap_reply(out, 200, o);
    }
    if (strcmp(method, "POST") != 0)
        return -1;
    cJSON *in = tp_json_parse(body, len);
    c.body = in;
    if (!cJSON_IsObject(in)) {
        cJSON_Delete(in);
        return cap_error(out, 400, "body must be a JSON object such as "
                                   "{\"table\": \"orders\", \"read\": 5, \"write\": 5}");
    }
    int lrc = ops->locked(ops->ctx, cap_override_run, &c);
    cJSON_Delete(in);
    if (lrc != 0)
        return cap_error(out, 500, "setting the capacity failed");
    if (c.rc != 0)
        return cap_error(out, 400, c.why);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    return cap_reply(out, 200, o);
}

void tp_capacity_free(tp_core *core)
{
    if (!core->capacity)
        return;
    tp_capacity_reset(core);
    free(core->capacity);
    core->capacity = NULL;
}
