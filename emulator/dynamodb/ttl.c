/* dynamodb/ttl — DescribeTimeToLive and UpdateTimeToLive (the setting,
 * ddb_tables.ttl_attr / ttl_status), and the sweep that expires items
 * (bottom of the file), which reads the same columns.
 *
 *   DISABLED --UpdateTimeToLive(Enabled, attr)--> ENABLED
 *   ENABLED  --UpdateTimeToLive(!Enabled, same attr)--> DISABLED
 *
 * A second change within the cooldown after the last one is refused as AWS
 * refuses it ("modified multiple times within a fixed interval"; about 30
 * minutes on AWS, setting "ttl_cooldown_ms", 0 turns it off). Messages are
 * AWS's, from the ack-api-quirks live catalogue. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/sched.h"
#include "core/store.h"
#include "ddb.h"
#include "index.h"
#include "item.h"
#include "dynamodb/streams.h"

#define TTL_COOLDOWN_MS INT64_C(1800000)

static int state_error(const ddb_table *t, tp_error *err)
{
    return tp_fail(err, TP_ERR_VALIDATION,
                   "Cannot describe time to live while table is in %s state: Current table state is %s",
                   t->status, t->status);
}

int ddb_describe_time_to_live(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    ddb_table t;
    if (ddb_table_load(r, tp_json_str(in, "TableName"), &t, err) != 0)
        return -1;
    int rc = 0;
    if (!strcmp(t.status, "CREATING") || !strcmp(t.status, "DELETING")) {
        rc = state_error(&t, err);
    } else {
        int on = !strcmp(t.ttl_status, "ENABLED");
        *out = cJSON_CreateObject();
        cJSON *d = cJSON_AddObjectToObject(*out, "TimeToLiveDescription");
        cJSON_AddStringToObject(d, "TimeToLiveStatus", on ? "ENABLED" : "DISABLED");
        if (on && t.ttl_attr[0])
            cJSON_AddStringToObject(d, "AttributeName", t.ttl_attr);
    }
    ddb_table_release(&t);
    return rc;
}

static int last_change(tp_req *r, int64_t id, int64_t *ms)
{
    static const char sql[] = "SELECT ttl_changed_ms FROM ddb_tables WHERE id=?1";
    sqlite3_stmt *st = tp_store_stmt(r->core->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    *ms = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

int ddb_update_time_to_live(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    static const char sql[] =
        "UPDATE ddb_tables SET ttl_attr=?1, ttl_status=?2, ttl_changed_ms=?3 WHERE id=?4";
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(in, "TimeToLiveSpecification");
    const char *attr = tp_json_str(spec, "AttributeName");
    int enable = tp_json_bool(spec, "Enabled", 0);
    ddb_table t;
    int rc = ddb_table_find(r, tp_json_str(in, "TableName"), &t, err);
    if (rc < 0)
        return -1;
    /* A CREATING table is unknown to the TTL service: same text as missing.
     * A DELETING one still takes the change, as AWS's does. */
    if (rc == 1 || !strcmp(t.status, "CREATING")) {
        if (rc == 0)
            ddb_table_release(&t);
        return tp_fail(err, TP_ERR_RESOURCE_NOT_FOUND,
                       "Requested resource not found: Table: %s not found", t.name);
    }
    int on = !strcmp(t.ttl_status, "ENABLED");
    int64_t changed = 0, cooldown = ddb_setting(r->core, "ttl_cooldown_ms", TTL_COOLDOWN_MS);
    rc = 0;
    if (on && strcmp(t.ttl_attr, attr ? attr : "") != 0)
        rc = tp_fail(err, TP_ERR_VALIDATION,
                     "TimeToLive is active on a different AttributeName: current AttributeName is %s",
                     t.ttl_attr);
    else if (on && enable)
        rc = tp_fail(err, TP_ERR_VALIDATION, "TimeToLive is already enabled");
    else if (!on && !enable)
        rc = tp_fail(err, TP_ERR_VALIDATION, "TimeToLive is already disabled");
    else if (last_change(r, t.id, &changed) != 0)
        rc = tp_fail(err, TP_ERR_INTERNAL, "storage error");
    else if (changed > 0 && cooldown > 0 && r->now_ms - changed < cooldown)
        rc = tp_fail(err, TP_ERR_VALIDATION,
                     "Time to live has been modified multiple times within a fixed interval");
    if (rc == 0) {
        sqlite3_stmt *st = tp_store_stmt(r->core->store, sql);
        if (!st) {
            rc = tp_fail(err, TP_ERR_INTERNAL, "storage error");
        } else {
            sqlite3_bind_text(st, 1, enable ? attr : "", -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 2, enable ? "ENABLED" : "DISABLED", -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, r->now_ms);
            sqlite3_bind_int64(st, 4, t.id);
            if (sqlite3_step(st) != SQLITE_DONE)
                rc = tp_fail(err, TP_ERR_INTERNAL, "storage error: %s",
                             sqlite3_errmsg(tp_store_db(r->core->store)));
            sqlite3_reset(st);
        }
    }
    ddb_table_release(&t);
    if (rc != 0)
        return rc;
    *out = cJSON_CreateObject();
    cJSON *s = cJSON_AddObjectToObject(*out, "TimeToLiveSpecification");
    cJSON_AddBoolToObject(s, "Enabled", enable);
    cJSON_AddStringToObject(s, "AttributeName", attr ? attr : "");
    return 0;
}

/* --- the sweep ------------------------------------------------------------
 *
 * One scheduler event every ttl_sweep_interval_ms (default 60 s, <= 0 turns
 * expiry off) on tidepool's clock, armed by ddb_service_start (so also after
 * a reset) and re-armed by each run. It deletes, from every ACTIVE or
 * UPDATING table with TTL ENABLED, the items whose TTL attribute is a
 * Number of epoch seconds in the past by more than ttl_delay_ms (default 0).
 * Until then an expired item stays readable, as on AWS, where deletion
 * comes "typically within a few days". Items whose value is not a Number,
 * or lies more than five years in the past (AWS's rule, which keeps
 * e.g. small counters from being taken for timestamps) are left alone;
 * values in milliseconds are far in the future and so never expire. */

#define TTL_SWEEP_MS INT64_C(60000)
#define TTL_MAX_AGE_MS (INT64_C(1826) * 86400000)   /* five years, one leap day */

int ddb_ttl_delete_item(tp_req *r, const ddb_table *t, const cJSON *item, int64_t size,
                        tp_error *err)
{
    tp_buf hk, rk;
    tp_buf_init(&hk);
    tp_buf_init(&rk);
    int rc = 0;
    if (ddb_key_of_item(t, item, &hk, &rk, err) != 0 ||
        ddb_item_remove(r, t->id, &hk, &rk, err) != 0 ||
        ddb_index_apply(r, t, item, NULL, err) != 0 ||
        streams_emit(r, t, item, NULL, 1, err) != 0)
        rc = -1;
    else if (ddb_table_add_usage(r, t->id, -1, -size) != 0)
        rc = tp_fail(err, TP_ERR_INTERNAL, "storage error");
    tp_buf_free(&hk);
    tp_buf_free(&rk);
    return rc;
}

/* 1 when item has expired at now_ms under AWS's rules. */
static int expired(const cJSON *item, const char *attr, int64_t now_ms, int64_t delay_ms)
{
    const char *text = tp_json_str(cJSON_GetObjectItemCaseSensitive(item, attr), "N");
    if (!text)
        return 0;
    char *end = NULL;
    double at_ms = strtod(text, &end) * 1000.0;
    if (!end || *end)
        return 0;
    return at_ms + (double)delay_ms < (double)now_ms && at_ms >= (double)(now_ms - TTL_MAX_AGE_MS);
}

typedef struct doomed {
    cJSON *item;
    int64_t size;
} doomed;

/* Collects the expired items of one table (caller frees). */
static int collect_expired(tp_core *core, const ddb_table *t, int64_t now_ms, int64_t delay_ms,
                           doomed **out, size_t *n)
{
    static const char sql[] = "SELECT item, size FROM ddb_items WHERE table_id=?1";
    sqlite3_stmt *st = tp_store_stmt(core->store, sql);
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, t->id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *item = tp_json_parse((const char *)sqlite3_column_text(st, 0),
                                            (size_t)sqlite3_column_bytes(st, 0));
        if (!item || !expired(item, t->ttl_attr, now_ms, delay_ms)) {
            cJSON_Delete(item);
            continue;
        }
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            doomed *grown = realloc(*out, ncap * sizeof *grown);
            if (!grown) {
                cJSON_Delete(item);
                rc = SQLITE_NOMEM;
                break;
            }
            *out = grown;
            cap = ncap;
        }
        (*out)[(*n)++] = (doomed){.item = item, .size = sqlite3_column_int64(st, 1)};
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Each deletion is all or nothing (a savepoint inside the event's
 * transaction): a failure leaves that item for the next sweep. */
static void sweep_table(tp_core *core, const char *account, const char *region, const char *name,
                        int64_t now_ms, int64_t delay_ms)
{
    tp_req r = {.core = core, .account = account, .region = region, .request_id = "",
                .now_ms = now_ms};
    ddb_table t;
    tp_error err;
    if (ddb_table_find(&r, name, &t, &err) != 0)
        return;
    doomed *items = NULL;
    size_t n = 0;
    if (!strcmp(t.ttl_status, "ENABLED") && t.ttl_attr[0] &&
        collect_expired(core, &t, now_ms, delay_ms, &items, &n) != 0)
        tp_log_msg(TP_LOG_ERROR, "dynamodb: TTL sweep of %s could not read items", name);
    for (size_t i = 0; i < n; i++) {
        if (tp_store_exec(core->store, "SAVEPOINT ddb_ttl") != 0)
            break;
        if (ddb_ttl_delete_item(&r, &t, items[i].item, items[i].size, &err) != 0) {
            tp_log_msg(TP_LOG_ERROR, "dynamodb: TTL deletion in %s failed: %s", name, err.message);
            tp_store_exec(core->store, "ROLLBACK TO ddb_ttl");
        }
        tp_store_exec(core->store, "RELEASE ddb_ttl");
    }
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(items[i].item);
    free(items);
    ddb_table_release(&t);
}

typedef struct sweep_target {
    char account[32], region[64], name[256];
} sweep_target;

static void sweep_event(struct tp_core *core, void *arg, int64_t due_ms);

static int arm_sweep(tp_core *core, int64_t due_ms)
{
    return tp_sched_at(core->sched, due_ms, sweep_event, NULL) ? 0 : -1;
}

static void sweep_event(struct tp_core *core, void *arg, int64_t due_ms)
{
    static const char sql[] =
        "SELECT account, region, name FROM ddb_tables WHERE ttl_status='ENABLED' AND ttl_attr != ''"
        " AND status IN ('ACTIVE', 'UPDATING') ORDER BY id";
    (void)arg;
    int64_t interval = ddb_setting(core, "ttl_sweep_interval_ms", TTL_SWEEP_MS);
    int64_t delay = ddb_setting(core, "ttl_delay_ms", 0);
    if (interval > 0 && arm_sweep(core, due_ms + interval) != 0)
        tp_log_msg(TP_LOG_ERROR, "dynamodb: cannot re-arm the TTL sweep");
    sqlite3_stmt *st = tp_store_stmt(core->store, sql);
    if (!st)
        return;
    sweep_target *targets = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            sweep_target *grown = realloc(targets, ncap * sizeof *grown);
            if (!grown)
                break;
            targets = grown;
            cap = ncap;
        }
        sweep_target *tg = &targets[n++];
        snprintf(tg->account, sizeof tg->account, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(tg->region, sizeof tg->region, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(tg->name, sizeof tg->name, "%s", (const char *)sqlite3_column_text(st, 2));
    }
    sqlite3_reset(st);
    for (size_t i = 0; i < n; i++)
        sweep_table(core, targets[i].account, targets[i].region, targets[i].name, due_ms, delay);
    free(targets);
}

int ddb_ttl_start(tp_core *core)
{
    int64_t interval = ddb_setting(core, "ttl_sweep_interval_ms", TTL_SWEEP_MS);
    if (interval <= 0)
        return 0;
    return arm_sweep(core, tp_clock_now_ms(core->clock) + interval);
}
