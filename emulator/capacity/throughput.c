/* capacity/throughput — token buckets per resource, described by their
 * owners (throughput.h). */
#include "throughput.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucket.h"
#include "keyrange.h"
#include "control/control.h"
#include "core/json.h"
#include "core/trace.h"

#define CAP_DEFAULT_BURST_S 300

/* One bucket group: a resource or one of its parts, as one account and
 * region see it. */
typedef struct cap_entry {
    struct cap_entry *next;
    char account[16], region[32];
    char service[32], resource_label[32], part_label[32];
    char name[256], part[256];
    int64_t generation;
    int ndims;
    char dim_name[TP_CAP_MAX_DIMS][32];
    tp_bucket b[TP_CAP_MAX_DIMS];
    int64_t consumed_milli[TP_CAP_MAX_DIMS];
    int64_t throttled[TP_CAP_MAX_DIMS];
    int fixed_burst[TP_CAP_MAX_DIMS];   /* the owner's tp_cap_dim.fixed_burst */
    char why[TP_CAP_MAX_DIMS][64];      /* the owner's tp_cap_dim.why, as last described */
    char id[320];                       /* the owner's tp_cap_resource.id */
    /* Key ranges (tp_cap_ranges), when the owner describes them. */
    tp_keyranges kr;
    char range_label[32];
    char range_why[TP_CAP_MAX_DIMS][64];
    int64_t range_throttled[TP_CAP_MAX_DIMS];
} cap_entry;

/* A run-time override: the POST body as given (labels and rates). */
typedef struct cap_override {
    struct cap_override *next;
    cJSON *body;
} cap_override;

/* Every bucket and override of one engine, hung on its tp_core. Only
 * touched under the engine lock (actions and locked control calls). */
struct tp_capacity {
    cap_entry *entries;
    cap_override *overrides;
};

/* The core's capacity state, made on first use (OOM: abort, which the
 * callers could not survive anyway). */
static struct tp_capacity *cap(tp_core *core)
{
    if (!core->capacity)
        core->capacity = calloc(1, sizeof *core->capacity);
    if (!core->capacity)
        abort();
    return core->capacity;
}

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static const cJSON *cap_config(const tp_core *core)
{
    return core->config ? cJSON_GetObjectItemCaseSensitive(core->config, "capacity") : NULL;
}

int64_t tp_capacity_burst_ms(const tp_core *core)
{
    const cJSON *c = cap_config(core);
    return (c ? tp_json_int(c, "burst_seconds", CAP_DEFAULT_BURST_S) : CAP_DEFAULT_BURST_S) * 1000;
}

int tp_capacity_start_full(const tp_core *core)
{
    const cJSON *c = cap_config(core);
    return c ? tp_json_bool(c, "start_full", 1) : 1;
}

int tp_capacity_enforced(const tp_core *core)
{
    const cJSON *c = cap_config(core);
    return c ? tp_json_bool(c, "enforce", 1) : 1;
}

static int streq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* 1 when override body o names bucket group e. */
static int override_matches(const cJSON *o, const cap_entry *e)
{
    const char *name = tp_json_str(o, e->resource_label);
    if (!name || strcmp(name, e->name) != 0)
        return 0;
    const char *part = tp_json_str(o, e->part_label);
    if (!streq(part, e->part))
        return 0;
    const char *account = tp_json_str(o, "account"), *region = tp_json_str(o, "region");
    return (!account || strcmp(account, e->account) == 0) &&
           (!region || strcmp(region, e->region) == 0);
}

/* The overridden rate of dimension k of e (first match wins), or -1. */
static int64_t override_rate(const tp_core *core, const cap_entry *e, int k)
{
    for (cap_override *o = core->capacity ? core->capacity->overrides : NULL; o; o = o->next) {
        if (!override_matches(o->body, e))
            continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o->body, e->dim_name[k]);
        if (cJSON_IsNumber(v) && v->valuedouble >= 0)
            return (int64_t)v->valuedouble;
    }
    return -1;
}

/* Brings bucket k of e to the rate the owner (or an override) wants now. */
static void apply_rate(tp_core *core, cap_entry *e, int k, const tp_cap_dim *d, int fixed_burst,
                       int fresh, int start_full, int64_t now_ms)
{
    int64_t rate = d->rate, burst = d->burst_ms;
    int64_t ov = override_rate(core, e, k);
    e->fixed_burst[k] = fixed_burst;
    if (ov >= 0) {
        rate = ov;
        if (!fixed_burst)
            burst = tp_capacity_burst_ms(core);
    }
    if (fresh)
        tp_bucket_init(&e->b[k], rate, burst, start_full, now_ms);
    else if (rate != e->b[k].rate || burst != e->b[k].burst_ms)
        tp_bucket_set_rate(&e->b[k], rate, burst, now_ms);
}

static cap_entry *find_entry(tp_core *core, const char *account, const char *region,
                             const tp_cap_resource *res)
{
    for (cap_entry *e = cap(core)->entries; e; e = e->next)
        if (strcmp(e->name, res->name) == 0 && streq(e->part, res->part) &&
            strcmp(e->account, account) == 0 && strcmp(e->region, region) == 0 &&
            strcmp(e->service, res->service) == 0)
            return e;
    return NULL;
}

static cap_entry *entry_for(tp_req *r, const tp_cap_resource *res)
{
    cap_entry *e = find_entry(r->core, r->account, r->region, res);
    int fresh = !e || e->generation != res->generation;   /* new, or recreated */
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e)
            return NULL;
        copy(e->account, sizeof e->account, r->account);
        copy(e->region, sizeof e->region, r->region);
        copy(e->service, sizeof e->service, res->service);
        copy(e->resource_label, sizeof e->resource_label, res->resource_label);
        copy(e->part_label, sizeof e->part_label, res->part_label);
        copy(e->name, sizeof e->name, res->name);
        copy(e->part, sizeof e->part, res->part);
        e->next = cap(r->core)->entries;
        cap(r->core)->entries = e;
    }
    int n = res->ndims < 0 ? 0 : res->ndims > TP_CAP_MAX_DIMS ? TP_CAP_MAX_DIMS : res->ndims;
    if (n != e->ndims) {   /* new, or the owner changed its dimensions */
        e->ndims = n;
        for (int k = 0; k < n; k++)
            copy(e->dim_name[k], sizeof e->dim_name[k], res->dim[k].name);
        fresh = 1;
        memset(e->consumed_milli, 0, sizeof e->consumed_milli);
        memset(e->throttled, 0, sizeof e->throttled);
    }
    /* A recreated resource's buckets start over; its counters go on (they
     * are totals for the name, as the metrics are). */
    if (fresh)
        tp_keyranges_free(&e->kr);
    copy(e->id, sizeof e->id, res->id);
    for (int k = 0; k < n; k++)
        copy(e->why[k], sizeof e->why[k], res->dim[k].why);
    for (int k = 0; k < n; k++)
        apply_rate(r->core, e, k, &res->dim[k], res->fixed_burst, fresh, res->start_full,
                   r->now_ms);
    e->generation = res->generation;
    return e;
}

int tp_cap_admit(tp_req *r, const tp_cap_resource *res, int dim)
{
    cap_entry *e = entry_for(r, res);
    if (!e || dim < 0 || dim >= e->ndims)
        return 1;
    /* Enforcement off: every request is admitted; charges, levels and the
     * metrics go on as before (a bucket simply runs into debt). */
    if (!tp_capacity_enforced(r->core) || tp_bucket_admit(&e->b[dim], r->now_ms))
        return 1;
    e->throttled[dim]++;
    cJSON *f = cJSON_CreateObject();
    if (f) {
        cJSON_AddStringToObject(f, "service", e->service);
        if (r->request_id)
            cJSON_AddStringToObject(f, "request_id", r->request_id);
        cJSON_AddStringToObject(f, "account", e->account);
        cJSON_AddStringToObject(f, "region", e->region);
        cJSON_AddStringToObject(f, e->resource_label, e->name);
        if (e->part[0])
            cJSON_AddStringToObject(f, e->part_label, e->part);
        cJSON_AddStringToObject(f, "kind", e->dim_name[dim]);
        tp_json_add_int(f, "rate", e->b[dim].rate);
        cJSON_AddNumberToObject(f, "level", (double)e->b[dim].level / 1000.0);
        if (e->why[dim][0])
            cJSON_AddStringToObject(f, "reason", e->why[dim]);
        if (e->id[0])
            cJSON_AddStringToObject(f, "resource", e->id);
        tp_trace_emit(r->core, "throttle", f);
        cJSON_Delete(f);
    }
    return 0;
}

void tp_cap_charge(tp_req *r, const tp_cap_resource *res, int dim, double units)
{
    cap_entry *e = entry_for(r, res);
    if (!e || dim < 0 || dim >= e->ndims)
        return;
    int64_t m = tp_units_to_milli(units);
    tp_bucket_refill(&e->b[dim], r->now_ms);
    tp_bucket_charge(&e->b[dim], m);
    e->consumed_milli[dim] += m;
    const cJSON *c = cap_config(r->core);
    if (m > 0 && c && tp_json_bool(c, "trace_consumed", 0)) {
        cJSON *f = cJSON_CreateObject();
        if (f) {
            cJSON_AddStringToObject(f, "service", e->service);
            cJSON_AddStringToObject(f, e->resource_label, e->name);
            if (e->part[0])
                cJSON_AddStringToObject(f, e->part_label, e->part);
            cJSON_AddStringToObject(f, "kind", e->dim_name[dim]);
            cJSON_AddNumberToObject(f, "units", (double)m / 1000.0);
            tp_trace_emit(r->core, "consume", f);
            cJSON_Delete(f);
        }
    }
}

/* Brings e's key ranges to what res describes; 0, or -1 (no ranges). */
static int shape_ranges(tp_req *r, cap_entry *e, const tp_cap_resource *res)
{
    const tp_cap_ranges *g = res->ranges;
    if (!g || e->ndims == 0)
        return -1;
    copy(e->range_label, sizeof e->range_label, g->label ? g->label : "range");
    for (int k = 0; k < e->ndims; k++)
        copy(e->range_why[k], sizeof e->range_why[k], g->why[k]);
    /* Ranges start full whatever the resource's start_full says: a range's
     * bucket is a rate limit, the resource's bucket holds the burst. */
    if (tp_keyranges_shape(&e->kr, g->count, e->ndims, g->rate, g->burst_ms, 1, r->now_ms) != 0)
        return -1;
    return e->kr.n > 0 ? 0 : -1;
}

static void range_name(char *buf, size_t n, const tp_keyranges *kr, int i)
{
    snprintf(buf, n, "%08x-%08x", (unsigned)kr->r[i].lo, (unsigned)tp_keyranges_hi(kr, i));
}

static cJSON *range_event(const cap_entry *e, const tp_req *r)
{
    cJSON *f = cJSON_CreateObject();
    if (!f)
        return NULL;
    cJSON_AddStringToObject(f, "service", e->service);
    if (r->request_id)
        cJSON_AddStringToObject(f, "request_id", r->request_id);
    cJSON_AddStringToObject(f, "account", e->account);
    cJSON_AddStringToObject(f, "region", e->region);
    cJSON_AddStringToObject(f, e->resource_label, e->name);
    if (e->part[0])
        cJSON_AddStringToObject(f, e->part_label, e->part);
    return f;
}

int tp_cap_admit_key(tp_req *r, const tp_cap_resource *res, int dim, uint32_t key_hash)
{
    if (!tp_cap_admit(r, res, dim))
        return TP_CAP_REFUSED;
    cap_entry *e = res->ranges ? entry_for(r, res) : NULL;
    if (!e || dim < 0 || dim >= e->ndims || shape_ranges(r, e, res) != 0)
        return TP_CAP_ADMITTED;
    int i = tp_keyranges_find(&e->kr, key_hash);
    tp_keyrange *x = &e->kr.r[i];
    if (!tp_capacity_enforced(r->core) || tp_bucket_admit(&x->b[dim], r->now_ms)) {
        tp_keyranges_cool(&e->kr, i, r->now_ms);
        return TP_CAP_ADMITTED;
    }
    x->throttled[dim]++;
    e->range_throttled[dim]++;
    char name[32];
    range_name(name, sizeof name, &e->kr, i);
    cJSON *f = range_event(e, r);
    if (f) {
        cJSON_AddStringToObject(f, e->range_label, name);
        cJSON_AddStringToObject(f, "kind", e->dim_name[dim]);
        tp_json_add_int(f, "rate", x->b[dim].rate);
        cJSON_AddNumberToObject(f, "level", (double)x->b[dim].level / 1000.0);
        if (e->range_why[dim][0])
            cJSON_AddStringToObject(f, "reason", e->range_why[dim]);
        if (e->id[0])
            cJSON_AddStringToObject(f, "resource", e->id);
        tp_trace_emit(r->core, "throttle", f);
        cJSON_Delete(f);
    }
    if (tp_keyranges_heat(&e->kr, i, key_hash, r->now_ms, res->ranges->split_after_ms)) {
        char a[32], b[32];
        range_name(a, sizeof a, &e->kr, i);
        range_name(b, sizeof b, &e->kr, i + 1);
        f = range_event(e, r);
        if (f) {
            cJSON_AddStringToObject(f, e->range_label, name);
            cJSON *into = cJSON_AddArrayToObject(f, "into");
            cJSON_AddItemToArray(into, cJSON_CreateString(a));
            cJSON_AddItemToArray(into, cJSON_CreateString(b));
            cJSON_AddStringToObject(f, "cause", "heat");
            tp_json_add_int(f, "ranges", e->kr.n);
            tp_trace_emit(r->core, "split", f);
            cJSON_Delete(f);
        }
    }
    return TP_CAP_REFUSED_RANGE;
}

void tp_cap_charge_key(tp_req *r, const tp_cap_resource *res, int dim, double units,
                       uint32_t key_hash)
{
    tp_cap_charge(r, res, dim, units);
    cap_entry *e = res->ranges ? entry_for(r, res) : NULL;
    if (!e || dim < 0 || dim >= e->ndims || shape_ranges(r, e, res) != 0)
        return;
    tp_keyrange *x = &e->kr.r[tp_keyranges_find(&e->kr, key_hash)];
    int64_t m = tp_units_to_milli(units);
    tp_bucket_refill(&x->b[dim], r->now_ms);
    tp_bucket_charge(&x->b[dim], m);
    x->consumed_milli[dim] += m;
}

void tp_cap_reconfigure(tp_core *core, const char *service, int64_t generation,
                        tp_cap_describe_fn describe, void *arg, int64_t now_ms)
{
    for (cap_entry *e = cap(core)->entries; e; e = e->next) {
        if (e->generation != generation || strcmp(e->service, service) != 0)
            continue;
        tp_cap_resource res;
        memset(&res, 0, sizeof res);
        if (describe(arg, e->account, e->region, e->part[0] ? e->part : NULL, &res) != 0)
            continue;
        for (int k = 0; k < e->ndims && k < res.ndims; k++)
            apply_rate(core, e, k, &res.dim[k], res.fixed_burst, 0, 0, now_ms);
    }
}

void tp_capacity_reset(tp_core *core)
{
    struct tp_capacity *c = cap(core);
    while (c->entries) {
        cap_entry *e = c->entries;
        c->entries = e->next;
        tp_keyranges_free(&e->kr);
        free(e);
    }
    while (c->overrides) {
        cap_override *o = c->overrides;
        c->overrides = o->next;
        cJSON_Delete(o->body);
        free(o);
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
        for (int k = 0; k < e->ndims; k++) {
            tp_bucket_refill(&e->b[k], now);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "service", e->service);
            cJSON_AddStringToObject(o, "account", e->account);
            cJSON_AddStringToObject(o, "region", e->region);
            cJSON_AddStringToObject(o, e->resource_label, e->name);
            if (e->part[0])
                cJSON_AddStringToObject(o, e->part_label, e->part);
            else
                cJSON_AddNullToObject(o, e->part_label);
            cJSON_AddStringToObject(o, "kind", e->dim_name[k]);
            tp_json_add_int(o, "rate", e->b[k].rate);
            add_milli(o, "level", e->b[k].level);
            add_milli(o, "burst", tp_bucket_capacity(&e->b[k]));
            add_milli(o, "consumed", e->consumed_milli[k]);
            tp_json_add_int(o, "throttled", e->throttled[k]);
            if (e->kr.n > 0) {
                cJSON *parts = cJSON_AddArrayToObject(o, "partitions");
                for (int i = 0; i < e->kr.n; i++) {
                    tp_keyrange *x = &e->kr.r[i];
                    char name[32];
                    range_name(name, sizeof name, &e->kr, i);
                    tp_bucket_refill(&x->b[k], now);
                    cJSON *p = cJSON_CreateObject();
                    cJSON_AddStringToObject(p, "range", name);
                    tp_json_add_int(p, "rate", x->b[k].rate);
                    add_milli(p, "level", x->b[k].level);
                    add_milli(p, "consumed", x->consumed_milli[k]);
                    tp_json_add_int(p, "throttled", x->throttled[k]);
                    cJSON_AddItemToArray(parts, p);
                }
            }
            cJSON_AddItemToArray(arr, o);
        }
    }
    return arr;
}

/* 1 when the two bodies name the same bucket group (same string members). */
static int same_target(const cJSON *a, const cJSON *b)
{
    int na = 0, nb = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, a)
    {
        if (!cJSON_IsString(m))
            continue;
        na++;
        const char *v = tp_json_str(b, m->string);
        if (!v || strcmp(v, m->valuestring) != 0)
            return 0;
    }
    cJSON_ArrayForEach(m, b) nb += cJSON_IsString(m) ? 1 : 0;
    return na == nb;
}

int tp_capacity_override(tp_core *core, const cJSON *body, char *why, size_t whylen)
{
    static const char usage[] =
        "give {\"table\": NAME, \"read\": R, \"write\": W} (\"index\", \"account\", \"region\" "
        "optional), or another resource's labels and rates ({\"queue\": Q, \"group\": G, "
        "\"SendMessage\": N}, {\"stream\": S, \"shard\": H, \"in_bytes\": N})";
    int labels = 0, rates = 0;
    const cJSON *m;
    const cJSON *members = cJSON_IsObject(body) ? body : NULL;
    cJSON_ArrayForEach(m, members)
    {
        if (cJSON_IsString(m) && m->valuestring[0]) {
            if (strcmp(m->string, "account") != 0 && strcmp(m->string, "region") != 0)
                labels++;
        } else if (cJSON_IsNumber(m) && m->valuedouble >= 0) {
            rates++;
        } else {
            snprintf(why, whylen, "\"%.60s\": rates are numbers >= 0, labels non-empty strings",
                     m->string ? m->string : "");
            return -1;
        }
    }
    if (!cJSON_IsObject(body) || labels == 0) {
        snprintf(why, whylen, "%s", usage);
        return -1;
    }
    if (rates == 0) {
        snprintf(why, whylen, "give \"read\" and/or \"write\" (or the resource's own rates) as "
                              "numbers >= 0");
        return -1;
    }
    cap_override *o;
    for (o = cap(core)->overrides; o; o = o->next)
        if (same_target(o->body, body))
            break;
    if (!o) {
        o = calloc(1, sizeof *o);
        if (!o || !(o->body = cJSON_CreateObject())) {
            free(o);
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        cJSON_ArrayForEach(m, body) if (cJSON_IsString(m))
            cJSON_AddStringToObject(o->body, m->string, m->valuestring);
        o->next = cap(core)->overrides;
        cap(core)->overrides = o;
    }
    cJSON_ArrayForEach(m, body)
    {
        if (!cJSON_IsNumber(m))
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(o->body, m->string);
        cJSON_AddNumberToObject(o->body, m->string, m->valuedouble);
    }
    /* The new rate applies from now: each affected bucket is refilled at
     * its old rate up to this moment, then switched (not at its next use). */
    int64_t now = tp_clock_now_ms(core->clock);
    int64_t burst = tp_capacity_burst_ms(core);
    for (cap_entry *e = cap(core)->entries; e; e = e->next) {
        for (int k = 0; k < e->ndims; k++) {
            int64_t v = override_rate(core, e, k);
            int64_t b = e->fixed_burst[k] ? e->b[k].burst_ms : burst;
            if (v >= 0 && (v != e->b[k].rate || b != e->b[k].burst_ms))
                tp_bucket_set_rate(&e->b[k], v, b, now);
        }
    }
    return 0;
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

/* One sample; range (a key range's name, under e's range label) and
 * reason are extra labels when given. */
static void metric_line(tp_buf *out, const char *metric, const cap_entry *e, int k, int64_t milli,
                        int is_count, const char *range, const char *reason)
{
    tp_buf_printf(out, "%s{account=\"", metric);
    label_esc(out, e->account);
    tp_buf_puts(out, "\",region=\"");
    label_esc(out, e->region);
    tp_buf_printf(out, "\",%s=\"", e->resource_label);
    label_esc(out, e->name);
    tp_buf_printf(out, "\",%s=\"", e->part_label);
    label_esc(out, e->part);
    if (range) {
        tp_buf_printf(out, "\",%s=\"", e->range_label);
        label_esc(out, range);
    }
    tp_buf_puts(out, "\",kind=\"");
    label_esc(out, e->dim_name[k]);
    if (reason) {
        tp_buf_puts(out, "\",reason=\"");
        label_esc(out, reason);
    }
    tp_buf_puts(out, "\"} ");
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
            for (int k = 0; k < e->ndims; k++) {
                if (i == 0)
                    metric_line(out, m[i].name, e, k, e->consumed_milli[k], 0, NULL, NULL);
                else if (i == 1)
                    metric_line(out, m[i].name, e, k, e->throttled[k], 1, NULL, NULL);
                else {
                    tp_bucket_refill(&e->b[k], now);
                    metric_line(out, m[i].name, e, k, e->b[k].level, 0, NULL, NULL);
                }
            }
        }
    }
    /* Why the buckets refused, for owners that name it (one reason per
     * bucket: the limit that bucket stands for). */
    static const char reasons[] = "tidepool_throttle_reasons_total";
    tp_buf_printf(out, "# HELP %s Requests refused, by the owner's reason\n# TYPE %s counter\n",
                  reasons, reasons);
    for (cap_entry *e = cap(core)->entries; e; e = e->next)
        for (int k = 0; k < e->ndims; k++) {
            if (e->why[k][0] && e->throttled[k] > 0)
                metric_line(out, reasons, e, k, e->throttled[k], 1, NULL, e->why[k]);
            if (e->range_why[k][0] && e->range_throttled[k] > 0)
                metric_line(out, reasons, e, k, e->range_throttled[k], 1, NULL, e->range_why[k]);
        }
    /* Per key range (partition): what it consumed and refused. */
    static const struct {
        const char *name, *help;
    } pm[] = {
        {"tidepool_partition_consumed_units_total", "Capacity units charged to a key range"},
        {"tidepool_partition_throttled_requests_total", "Requests refused by a key range"},
    };
    for (int i = 0; i < 2; i++) {
        int any = 0;
        for (cap_entry *e = cap(core)->entries; e; e = e->next) {
            for (int j = 0; j < e->kr.n; j++) {
                if (!any++)
                    tp_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", pm[i].name,
                                  pm[i].help, pm[i].name);
                char name[32];
                range_name(name, sizeof name, &e->kr, j);
                for (int k = 0; k < e->ndims; k++)
                    metric_line(out, pm[i].name, e, k,
                                i == 0 ? e->kr.r[j].consumed_milli[k] : e->kr.r[j].throttled[k],
                                i == 1, name, NULL);
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
