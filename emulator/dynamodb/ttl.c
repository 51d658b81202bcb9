/* dynamodb/ttl — DescribeTimeToLive and UpdateTimeToLive: the setting only
 * (ddb_tables.ttl_attr / ttl_status). Expiring items is the TTL sweeper's
 * job, which reads the same columns.
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
#include <string.h>

#include "core/json.h"
#include "core/store.h"
#include "ddb.h"

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
