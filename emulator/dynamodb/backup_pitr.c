/* dynamodb/backup_pitr — point-in-time recovery: UpdateContinuousBackups,
 * DescribeContinuousBackups, RestoreTableToPointInTime, and the history
 * every item write adds to while PITR is on (ddb_pitr_note). How the
 * history answers "what did the table hold at T" is in backup.h.
 *
 * The restorable window, on tidepool's clock: EarliestRestorableDateTime is
 * when PITR was turned on (to the second), moving forward to now minus
 * RecoveryPeriodInDays (35 unless set); LatestRestorableDateTime is now
 * minus the "pitr_latest_lag_ms" setting (AWS's is "typically 5 minutes":
 * 300000 by default), never before the earliest. As recorded on AWS, a
 * RestoreDateTime later than the advertised latest but not in the future
 * is accepted; UseLatestRestorableTime restores the advertised latest. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "core/json.h"
#include "core/store.h"

#define DAY_MS (86400LL * 1000)
#define DEFAULT_PERIOD_DAYS 35
#define DEFAULT_LAG_MS (5LL * 60 * 1000)

static int str_eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static int storage_error(tp_req *r, tp_error *err)
{
    return tp_fail(err, TP_ERR_INTERNAL, "storage error: %s",
                   sqlite3_errmsg(tp_store_db(r->core->store)));
}

static sqlite3_stmt *stmt(tp_req *r, const char *sql) { return tp_store_stmt(r->core->store, sql); }

static int exec_id(tp_req *r, const char *sql, int64_t id)
{
    sqlite3_stmt *st = stmt(r, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* --- state and history ------------------------------------------------------- */

typedef struct pitr_state {
    int64_t enabled_ms, period_days, earliest_ms;
} pitr_state;

/* 1 with *s filled when PITR is on, 0 when off, -1 on a storage error. */
static int load_state(tp_req *r, int64_t table_id, pitr_state *s)
{
    static const char sql[] =
        "SELECT enabled_ms, period_days, earliest_ms FROM ddb_pitr WHERE table_id=?1";
    sqlite3_stmt *st = stmt(r, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, table_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && s) {
        s->enabled_ms = sqlite3_column_int64(st, 0);
        s->period_days = sqlite3_column_int64(st, 1);
        s->earliest_ms = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int ddb_pitr_enabled(tp_req *r, int64_t table_id) { return load_state(r, table_id, NULL); }

int ddb_pitr_forget(tp_req *r, int64_t table_id)
{
    static const char del_log[] = "DELETE FROM ddb_pitr_log WHERE table_id=?1";
    static const char del_row[] = "DELETE FROM ddb_pitr WHERE table_id=?1";
    return exec_id(r, del_log, table_id) == 0 && exec_id(r, del_row, table_id) == 0 ? 0 : -1;
}

int ddb_pitr_note(tp_req *r, int64_t table_id, const tp_buf *hk, const tp_buf *rk,
                  const cJSON *item, int64_t size, tp_error *err)
{
    static const char sql[] =
        "INSERT INTO ddb_pitr_log(table_id, hk, rk, seq, t_ms, item, size) SELECT ?1, ?2, ?3,"
        " coalesce((SELECT max(seq) FROM ddb_pitr_log WHERE table_id=?1 AND hk=?2 AND rk=?3), 0) + 1,"
        " ?4, ?5, ?6";
    int on = ddb_pitr_enabled(r, table_id);
    if (on <= 0)
        return on == 0 ? 0 : storage_error(r, err);
    char *text = item ? tp_json_print(item) : NULL;
    sqlite3_stmt *st = stmt(r, sql);
    if (!st || (item && !text)) {
        free(text);
        return storage_error(r, err);
    }
    sqlite3_bind_int64(st, 1, table_id);
    sqlite3_bind_blob(st, 2, hk->data ? hk->data : "", (int)hk->len, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, rk->data ? rk->data : "", (int)rk->len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, r->now_ms);
    if (text)
        sqlite3_bind_text(st, 5, text, -1, free);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_int64(st, 6, item ? size : 0);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : storage_error(r, err);
}

/* Moves the window's start to now - period when that is later, and drops
 * the versions nothing in the window can see any more: for each key, what
 * precedes its newest entry at or before the new start. */
static int advance_window(tp_req *r, int64_t table_id, pitr_state *s)
{
    static const char upd[] = "UPDATE ddb_pitr SET earliest_ms=?2 WHERE table_id=?1";
    static const char compact[] =
        "DELETE FROM ddb_pitr_log WHERE table_id=?1 AND t_ms <= ?2 AND seq <"
        " (SELECT max(m.seq) FROM ddb_pitr_log m WHERE m.table_id=?1 AND m.hk=ddb_pitr_log.hk"
        " AND m.rk=ddb_pitr_log.rk AND m.t_ms <= ?2)";
    int64_t start = r->now_ms - s->period_days * DAY_MS;
    start -= start % 1000;
    if (start <= s->earliest_ms)
        return 0;
    s->earliest_ms = start;
    const char *const sqls[] = {upd, compact};
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *st = stmt(r, sqls[i]);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, table_id);
        sqlite3_bind_int64(st, 2, start);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

static int64_t latest_ms(tp_req *r, const pitr_state *s)
{
    int64_t latest = r->now_ms - ddb_setting(r->core, "pitr_latest_lag_ms", DEFAULT_LAG_MS);
    return latest < s->earliest_ms ? s->earliest_ms : latest;
}

static void add_time(cJSON *obj, const char *name, int64_t ms)
{
    cJSON_AddNumberToObject(obj, name, (double)ms / 1000.0);
}

/* {"ContinuousBackupsDescription": ...}; s NULL when PITR is off. */
static cJSON *description(tp_req *r, const char *cb_status, const pitr_state *s)
{
    cJSON *out = cJSON_CreateObject();
    cJSON *d = cJSON_AddObjectToObject(out, "ContinuousBackupsDescription");
    cJSON_AddStringToObject(d, "ContinuousBackupsStatus", cb_status);
    cJSON *p = cJSON_AddObjectToObject(d, "PointInTimeRecoveryDescription");
    cJSON_AddStringToObject(p, "PointInTimeRecoveryStatus", s ? "ENABLED" : "DISABLED");
    if (s) {
        tp_json_add_int(p, "RecoveryPeriodInDays", s->period_days);
        add_time(p, "EarliestRestorableDateTime", s->earliest_ms);
        add_time(p, "LatestRestorableDateTime", latest_ms(r, s));
    }
    return out;
}

/* The table for a continuous-backups call: a missing or DELETING one is
 * TableNotFoundException. */
static int load_table(tp_req *r, const char *name, ddb_table *t, tp_error *err)
{
    int rc = ddb_table_find(r, name, t, err);
    if (rc < 0)
        return -1;
    if (rc == 1 || str_eq(t->status, "DELETING")) {
        tp_fail(err, TP_ERR_TABLE_NOT_FOUND, "Table not found: %s", t->name);
        ddb_table_release(t);
        return -1;
    }
    return 0;
}

/* --- UpdateContinuousBackups, DescribeContinuousBackups ---------------------- */

int ddb_describe_continuous_backups(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    ddb_table t;
    if (load_table(r, tp_json_str(in, "TableName"), &t, err) != 0)
        return -1;
    pitr_state s;
    int on = load_state(r, t.id, &s);
    int creating = str_eq(t.status, "CREATING");
    ddb_table_release(&t);
    if (on < 0 || (on == 1 && advance_window(r, t.id, &s) != 0))
        return storage_error(r, err);
    /* A table still being created has no continuous backups yet. */
    *out = description(r, creating ? "DISABLED" : "ENABLED", on == 1 ? &s : NULL);
    return 0;
}

int ddb_update_continuous_backups(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    static const char ins[] = "INSERT INTO ddb_pitr(table_id, enabled_ms, period_days, earliest_ms)"
                              " VALUES(?1, ?2, ?3, ?4)";
    static const char set_period[] = "UPDATE ddb_pitr SET period_days=?2 WHERE table_id=?1";
    /* Enabling starts the history with every item as it is now. */
    static const char baseline[] =
        "INSERT INTO ddb_pitr_log(table_id, hk, rk, seq, t_ms, item, size)"
        " SELECT table_id, hk, rk, 1, ?2, item, size FROM ddb_items WHERE table_id=?1";
    ddb_table t;
    if (load_table(r, tp_json_str(in, "TableName"), &t, err) != 0)
        return -1;
    int64_t id = t.id;
    int creating = str_eq(t.status, "CREATING");
    ddb_table_release(&t);
    if (creating)
        return tp_fail(err, TP_ERR_CONTINUOUS_BACKUPS_UNAVAILABLE,
                       "Backups are being enabled for the table. Please retry later.");
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(in, "PointInTimeRecoverySpecification");
    int enable = tp_json_bool(spec, "PointInTimeRecoveryEnabled", 0);
    int64_t period = tp_json_int(spec, "RecoveryPeriodInDays", 0);
    pitr_state s;
    int on = load_state(r, id, &s);
    if (on < 0)
        return storage_error(r, err);
    if (!enable) {
        if (on && ddb_pitr_forget(r, id) != 0)
            return storage_error(r, err);
        *out = description(r, "ENABLED", NULL);
        return 0;
    }
    int rc = 0;
    if (!on) {
        s.enabled_ms = r->now_ms;
        s.earliest_ms = r->now_ms - r->now_ms % 1000;
        s.period_days = period > 0 ? period : DEFAULT_PERIOD_DAYS;
        sqlite3_stmt *st = stmt(r, ins);
        if (!st)
            return storage_error(r, err);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, s.enabled_ms);
        sqlite3_bind_int64(st, 3, s.period_days);
        sqlite3_bind_int64(st, 4, s.earliest_ms);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(st);
        if (rc == 0 && (st = stmt(r, baseline)) != NULL) {
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int64(st, 2, s.earliest_ms);
            rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
            sqlite3_reset(st);
        } else if (rc == 0) {
            rc = -1;
        }
    } else {
        /* The old period applies up to now: a longer one cannot bring back
         * history that already left the window. */
        rc = advance_window(r, id, &s);
        if (rc == 0 && period > 0 && period != s.period_days) {
            s.period_days = period;
            sqlite3_stmt *st = stmt(r, set_period);
            rc = -1;
            if (st) {
                sqlite3_bind_int64(st, 1, id);
                sqlite3_bind_int64(st, 2, period);
                rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
                sqlite3_reset(st);
            }
            if (rc == 0)
                rc = advance_window(r, id, &s);
        }
    }
    if (rc != 0)
        return storage_error(r, err);
    *out = description(r, "ENABLED", &s);
    return 0;
}

/* --- RestoreTableToPointInTime ------------------------------------------------ */

/* The source table's name from SourceTableName or SourceTableArn (exactly
 * one of them), with the checks AWS makes on the ARN. */
static int source_name(tp_req *r, const cJSON *in, char *out, size_t cap, tp_error *err)
{
    const char *name = tp_json_str(in, "SourceTableName"), *arn = tp_json_str(in, "SourceTableArn");
    if (!name == !arn)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Specify either SourceTableName or SourceTableArn, but not both");
    if (name) {
        snprintf(out, cap, "%s", name);
        return 0;
    }
    char region[64] = "", account[64] = "", table[300] = "";
    if (sscanf(arn, "arn:aws:dynamodb:%63[^:]:%63[^:]:table/%299s", region, account, table) != 3 ||
        strchr(table, '/') || strlen(table) < 3 || strlen(table) > 255)
        return tp_fail(err, TP_ERR_VALIDATION, "Invalid DynamoDB table ARN: %s", arn);
    if (!str_eq(account, r->account))
        return tp_fail(err, TP_ERR_ACCESS_DENIED, "Access is denied");
    if (!str_eq(region, r->region)) {
        if (!cJSON_GetObjectItemCaseSensitive(in, "SSESpecificationOverride"))
            return tp_fail(err, TP_ERR_VALIDATION, "Invalid Request: sseSpecificationOverride must "
                           "be provided for cross-region restores");
        /* tidepool keeps each region apart: the table is not found here. */
        return tp_fail(err, TP_ERR_TABLE_NOT_FOUND, "Table not found: %s", table);
    }
    snprintf(out, cap, "%s", table);
    return 0;
}

typedef struct pitr_copy {
    int64_t source_id, at_ms;
} pitr_copy;

/* The table as of at_ms: per key, the newest logged version at or before
 * it, unless that version is a delete. */
static int copy_history_rows(tp_req *r, void *arg, int64_t new_table_id)
{
    static const char sql[] =
        "INSERT INTO ddb_items(table_id, hk, rk, item, size)"
        " SELECT ?1, l.hk, l.rk, l.item, l.size FROM ddb_pitr_log l"
        " WHERE l.table_id=?2 AND l.t_ms <= ?3 AND l.item IS NOT NULL AND l.seq ="
        " (SELECT max(m.seq) FROM ddb_pitr_log m WHERE m.table_id=?2 AND m.hk=l.hk AND m.rk=l.rk"
        " AND m.t_ms <= ?3)";
    const pitr_copy *c = arg;
    sqlite3_stmt *st = stmt(r, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, new_table_id);
    sqlite3_bind_int64(st, 2, c->source_id);
    sqlite3_bind_int64(st, 3, c->at_ms);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int ddb_restore_table_to_point_in_time(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    char name[300];
    if (source_name(r, in, name, sizeof name, err) != 0)
        return -1;
    ddb_table t;
    if (load_table(r, name, &t, err) != 0)
        return -1;
    int latest_wanted = tp_json_bool(in, "UseLatestRestorableTime", 0);
    int64_t at = ddb_backup_time_ms(in, "RestoreDateTime");
    int rc = 0;
    pitr_state s = {0};
    int on = 0;
    if (at < 0 && !latest_wanted)
        rc = tp_fail(err, TP_ERR_VALIDATION, "Invalid Request: Either one of RestoreDateTime or "
                     "UseLatestRestorableTime must be specified, but not both");
    else if (at >= 0 && latest_wanted)
        rc = tp_fail(err, TP_ERR_VALIDATION, "Invalid Request: Both RestoreDateTime and "
                     "UseLatestRestorableTime cannot be set for point-in-time restore request. "
                     "Please specify either RestoreDateTime time or UseLatestRestorableTime");
    else if (!str_eq(t.status, "ACTIVE"))
        rc = tp_fail(err, TP_ERR_TABLE_IN_USE, "Source table is being created, changed or deleted");
    else if ((on = load_state(r, t.id, &s)) < 0 || (on == 1 && advance_window(r, t.id, &s) != 0))
        rc = storage_error(r, err);
    else if (!on)
        rc = tp_fail(err, TP_ERR_PITR_UNAVAILABLE,
                     "Point in time recovery is not enabled for the source table");
    if (rc == 0) {
        if (latest_wanted)
            at = latest_ms(r, &s);
        /* unverified wording */
        if (at < s.earliest_ms || at > r->now_ms)
            rc = tp_fail(err, TP_ERR_INVALID_RESTORE_TIME, "RestoreDateTime must be within "
                         "EarliestRestorableDateTime and LatestRestorableDateTime for table %s",
                         t.name);
    }
    if (rc != 0) {
        ddb_table_release(&t);
        return rc;
    }
    /* The restored table takes the source's settings as they are now, as
     * AWS's restore does; only the rows come from the past. */
    cJSON *source = ddb_backup_source_of(r, &t);
    cJSON *summary = cJSON_CreateObject();
    cJSON_AddItemToObject(summary, "SourceTableArn", cJSON_Duplicate(
        cJSON_GetObjectItemCaseSensitive(t.desc, "TableArn"), 1));
    add_time(summary, "RestoreDateTime", at);
    cJSON_AddBoolToObject(summary, "RestoreInProgress", 1);
    pitr_copy c = {.source_id = t.id, .at_ms = at};
    ddb_table_release(&t);
    rc = ddb_restore_table(r, in, source, copy_history_rows, &c, summary, out, err);
    cJSON_Delete(source);
    return rc;
}
