/* kinesis/stream — streams and their settings: CreateStream, DeleteStream,
 * DescribeStream(Summary), ListStreams, retention, encryption, stream mode,
 * enhanced monitoring, DescribeLimits, and the status machine in kin.h
 * (the only place a stream's status changes: kin_stream_settle). */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/sched.h"
#include "kin.h"

#define DEFAULT_RETENTION_HOURS 24
#define MAX_RETENTION_HOURS 8760
#define ON_DEMAND_SHARDS 4
#define ON_DEMAND_STREAM_LIMIT 50
#define DEFAULT_SHARD_LIMIT 500

static sqlite3_stmt *stmt(tp_core *core, const char *sql) { return tp_store_stmt(core->store, sql); }

static int storage_error(tp_error *err) { return tp_fail(err, TP_ERR_INTERNAL, "storage error"); }

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

int64_t kin_setting(const tp_core *core, const char *name, int64_t dflt)
{
    const cJSON *k = core && core->config ? cJSON_GetObjectItemCaseSensitive(core->config, "kinesis")
                                          : NULL;
    const cJSON *v = k ? cJSON_GetObjectItemCaseSensitive(k, name) : NULL;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0)
        return dflt;
    return (int64_t)v->valuedouble;
}

int64_t kin_shard_limit(const tp_core *core) { return kin_setting(core, "shard_limit", DEFAULT_SHARD_LIMIT); }

cJSON *kin_timestamp(int64_t ms) { return cJSON_CreateNumber((double)ms / 1000.0); }

void kin_stream_arn(const tp_req *r, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "arn:aws:kinesis:%s:%s:stream/%s", r->region, r->account, name);
}

/* --- loading ------------------------------------------------------------ */

#define STREAM_COLS                                                                            \
    "id, name, arn, status, mode, retention_hours, created_ms, encryption, key_id, monitoring," \
    " next_shard"

static void stream_from_row(sqlite3_stmt *st, kin_stream *s)
{
    memset(s, 0, sizeof *s);
    s->id = sqlite3_column_int64(st, 0);
    copy_col(s->name, sizeof s->name, st, 1);
    copy_col(s->arn, sizeof s->arn, st, 2);
    copy_col(s->status, sizeof s->status, st, 3);
    copy_col(s->mode, sizeof s->mode, st, 4);
    s->retention_hours = sqlite3_column_int64(st, 5);
    s->created_ms = sqlite3_column_int64(st, 6);
    copy_col(s->encryption, sizeof s->encryption, st, 7);
    copy_col(s->key_id, sizeof s->key_id, st, 8);
    copy_col(s->monitoring, sizeof s->monitoring, st, 9);
    s->next_shard = sqlite3_column_int64(st, 10);
}

/* 0 found, 1 missing, -1 error. */
static int stream_by_name(tp_req *r, const char *name, kin_stream *s)
{
    static const char sql[] = "SELECT " STREAM_COLS
                              " FROM kin_streams WHERE account=?1 AND region=?2 AND name=?3";
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, r->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        stream_from_row(st, s);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int kin_stream_by_id(tp_core *core, int64_t id, kin_stream *s)
{
    static const char sql[] = "SELECT " STREAM_COLS " FROM kin_streams WHERE id=?1";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        stream_from_row(st, s);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

/* "arn:aws:kinesis:REGION:ACCOUNT:stream/NAME": the name, when the ARN is
 * this caller's; NULL otherwise. */
static const char *arn_stream_name(const tp_req *r, const char *arn, char *name, size_t cap)
{
    char want[256];
    snprintf(want, sizeof want, "arn:aws:kinesis:%s:%s:stream/", r->region, r->account);
    size_t n = strlen(want);
    if (strncmp(arn, want, n) != 0 || !arn[n] || strchr(arn + n, '/'))
        return NULL;
    snprintf(name, cap, "%s", arn + n);
    return name;
}

static void name_from_arn(const char *arn, char *name, size_t cap)
{
    const char *p = strstr(arn, ":stream/");
    p = p ? p + 8 : arn;
    size_t n = strcspn(p, "/");
    snprintf(name, cap, "%.*s", (int)n, p);
}

int kin_stream_by_arn(tp_req *r, const char *arn, kin_stream *s, tp_error *err)
{
    char name[256];
    if (!arn_stream_name(r, arn, name, sizeof name))
        return 1;
    int rc = stream_by_name(r, name, s);
    if (rc < 0)
        return storage_error(err);
    if (rc == 0)
        kin_trim(r->core, s, r->now_ms);
    return rc;
}

int kin_stream_from_request(tp_req *r, const cJSON *in, kin_stream *s, tp_error *err)
{
    const char *name = tp_json_str(in, "StreamName"), *arn = tp_json_str(in, "StreamARN");
    char from_arn[256];
    if (!name && !arn)
        /* unverified wording */
        return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                       "Either StreamName or StreamARN should be provided.");
    if (arn) {
        if (!arn_stream_name(r, arn, from_arn, sizeof from_arn)) {
            name_from_arn(arn, from_arn, sizeof from_arn);
            return tp_fail(err, TP_ERR_RESOURCE_NOT_FOUND, "Stream %s under account %s not found.",
                           from_arn, r->account);
        }
        if (name && strcmp(name, from_arn) != 0)
            /* unverified wording */
            return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                           "StreamARN %s and StreamName %s do not refer to the same stream.", arn,
                           name);
        name = from_arn;
    }
    int rc = stream_by_name(r, name, s);
    if (rc < 0)
        return storage_error(err);
    if (rc == 1)
        return tp_fail(err, TP_ERR_RESOURCE_NOT_FOUND, "Stream %s under account %s not found.",
                       name, r->account);
    if (kin_trim(r->core, s, r->now_ms) != 0)
        return storage_error(err);
    return 0;
}

int kin_stream_require_active(tp_req *r, const kin_stream *s, tp_error *err)
{
    if (strcmp(s->status, "ACTIVE") == 0)
        return 0;
    return tp_fail(err, TP_ERR_RESOURCE_IN_USE,
                   "Stream %s under account %s not ACTIVE, instead in state %s", s->name,
                   r->account, s->status);
}

int64_t kin_open_shard_count(tp_core *core, int64_t stream_id)
{
    static const char sql[] = "SELECT count(*) FROM kin_shards WHERE stream_id=?1 AND closed_ms=0";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, stream_id);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

/* Open shards of the caller's provisioned streams: what the shard limit counts. */
int64_t kin_account_open_shards(tp_req *r)
{
    static const char sql[] =
        "SELECT count(*) FROM kin_shards h JOIN kin_streams s ON s.id=h.stream_id"
        " WHERE s.account=?1 AND s.region=?2 AND h.closed_ms=0 AND s.mode='PROVISIONED'";
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, r->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->region, -1, SQLITE_STATIC);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

static int64_t on_demand_streams(tp_req *r)
{
    static const char sql[] = "SELECT count(*) FROM kin_streams"
                              " WHERE account=?1 AND region=?2 AND mode='ON_DEMAND'";
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, r->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->region, -1, SQLITE_STATIC);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

/* --- retention ------------------------------------------------------------ */

int kin_trim(tp_core *core, const kin_stream *s, int64_t now_ms)
{
    /* A record's sequence number starts with "49" and its arrival ms in 14
     * digits (kin.h), so "arrived before the horizon" is one range of
     * kin_records_by_seq: a call that trims nothing costs one seek, however
     * many shards the stream has. A record never outlives its shard (a
     * closed shard goes only once all its records are past the horizon). */
    static const char del_records[] =
        "DELETE FROM kin_records WHERE stream_id=?1"
        " AND seq < '49' || printf('%014d', max(?2, 0))";
    static const char del_shards[] =
        "DELETE FROM kin_shards WHERE stream_id=?1 AND closed_ms>0 AND closed_ms<?2";
    int64_t horizon = now_ms - s->retention_hours * 3600000LL;
    const char *sqls[] = {del_records, del_shards};
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *st = stmt(core, sqls[i]);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, s->id);
        sqlite3_bind_int64(st, 2, horizon);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

/* --- the status machine ----------------------------------------------------- */

static int set_status(tp_core *core, int64_t id, const char *status, int64_t due_ms,
                      const char *pending)
{
    static const char sql[] =
        "UPDATE kin_streams SET status=?1, status_due_ms=?2, pending=?3 WHERE id=?4";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, due_ms);
    sqlite3_bind_text(st, 3, pending ? pending : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int drop_stream(tp_core *core, int64_t id)
{
    static const char *const sqls[] = {
        "DELETE FROM kin_records WHERE stream_id=?1", "DELETE FROM kin_shards WHERE stream_id=?1",
        "DELETE FROM kin_tags WHERE stream_id=?1", "DELETE FROM kin_streams WHERE id=?1"};
    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
        sqlite3_stmt *st = stmt(core, sqls[i]);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, id);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return kin_consumers_drop(core, id);
}

/* The end of a transition: CREATING/UPDATING -> ACTIVE (applying what
 * was pending), DELETING -> gone. */
static int kin_stream_settle(tp_core *core, int64_t id, int64_t now_ms)
{
    kin_stream s;
    if (kin_stream_by_id(core, id, &s) != 0)
        return 0;
    if (strcmp(s.status, "DELETING") == 0)
        return drop_stream(core, id);
    static const char sql[] = "SELECT pending FROM kin_streams WHERE id=?1";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    cJSON *pending = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) > 0)
        pending = tp_json_parse((const char *)sqlite3_column_text(st, 0),
                                (size_t)sqlite3_column_bytes(st, 0));
    sqlite3_reset(st);
    int rc = 0;
    if (pending)
        rc = kin_shards_apply(core, &s, pending, now_ms);
    cJSON_Delete(pending);
    return rc == 0 ? set_status(core, id, "ACTIVE", 0, "") : -1;
}

static void settle_event(tp_core *core, void *arg, int64_t due_ms)
{
    int64_t id = (int64_t)(intptr_t)arg;
    static const char sql[] = "SELECT status_due_ms FROM kin_streams WHERE id=?1";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, id);
    int64_t due = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    if (due != due_ms)
        return;   /* stale: re-armed since, or gone */
    if (kin_stream_settle(core, id, due_ms) != 0)
        tp_log_msg(TP_LOG_ERROR, "kinesis: settling stream %" PRId64 " failed", id);
}

/* Enter status; with a 0 delay settle at once, else at now + delay. */
static int transition(tp_req *r, int64_t id, const char *status, const char *delay_setting,
                      const char *pending, tp_error *err)
{
    int64_t delay = kin_setting(r->core, delay_setting, 0);
    int64_t due = delay > 0 ? r->now_ms + delay : 0;
    if (set_status(r->core, id, status, due, pending) != 0)
        return storage_error(err);
    if (delay <= 0)
        return kin_stream_settle(r->core, id, r->now_ms) == 0 ? 0 : storage_error(err);
    return tp_sched_at(r->core->sched, due, settle_event, (void *)(intptr_t)id) ? 0
                                                                                : storage_error(err);
}

int kin_stream_begin_update(tp_req *r, const kin_stream *s, const cJSON *pending, tp_error *err)
{
    char *text = pending ? tp_json_print(pending) : NULL;
    int rc = transition(r, s->id, "UPDATING", "update_delay_ms", text, err);
    free(text);
    return rc;
}

int kin_service_start(tp_core *core)
{
    static const char sql[] = "SELECT id, status_due_ms FROM kin_streams WHERE status_due_ms > 0";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0), due = sqlite3_column_int64(st, 1);
        if (!tp_sched_at(core->sched, due, settle_event, (void *)(intptr_t)id)) {
            sqlite3_reset(st);
            return -1;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* --- CreateStream / DeleteStream ------------------------------------------ */

static int shard_limit_fail(tp_req *r, int64_t current, int64_t more, tp_error *err)
{
    return tp_fail(err, TP_ERR_LIMIT_EXCEEDED,
                   "This request would exceed the shard limit for the account %s in %s. Current "
                   "shard count for the account: %" PRId64 ". Limit: %" PRId64
                   ". Number of additional shards that would have resulted from this request: "
                   "%" PRId64 ". Refer to the AWS Service Limits page "
                   "(https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for "
                   "current limits and how to request higher limits.",
                   r->account, r->region, current, kin_shard_limit(r->core), more);
}

int kin_check_shard_limit(tp_req *r, int64_t more, tp_error *err);
int kin_check_shard_limit(tp_req *r, int64_t more, tp_error *err)
{
    int64_t cur = kin_account_open_shards(r);
    if (cur + more > kin_shard_limit(r->core))
        return shard_limit_fail(r, cur, more, err);
    return 0;
}

int kin_create_stream(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    const char *name = tp_json_str(in, "StreamName");
    const cJSON *mode_d = cJSON_GetObjectItemCaseSensitive(in, "StreamModeDetails");
    const char *mode = mode_d ? tp_json_str(mode_d, "StreamMode") : NULL;
    const cJSON *count_j = cJSON_GetObjectItemCaseSensitive(in, "ShardCount");
    if (!mode)
        mode = "PROVISIONED";
    int64_t count = cJSON_IsNumber(count_j) ? (int64_t)count_j->valuedouble : 0;
    if (strcmp(mode, "PROVISIONED") == 0 && !count_j)
        /* unverified wording */
        return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                       "ShardCount is required for streams in PROVISIONED mode.");
    if (strcmp(mode, "ON_DEMAND") == 0) {
        if (count_j)
            /* unverified wording */
            return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                           "ShardCount cannot be specified for streams in ON_DEMAND mode.");
        count = ON_DEMAND_SHARDS;
    }
    kin_stream s;
    int rc = stream_by_name(r, name, &s);
    if (rc < 0)
        return storage_error(err);
    if (rc == 0)
        return tp_fail(err, TP_ERR_RESOURCE_IN_USE, "Stream %s under account %s already exists.",
                       name, r->account);
    if (strcmp(mode, "PROVISIONED") == 0 && kin_check_shard_limit(r, count, err) != 0)
        return -1;
    if (strcmp(mode, "ON_DEMAND") == 0 && on_demand_streams(r) >= ON_DEMAND_STREAM_LIMIT)
        /* unverified wording */
        return tp_fail(err, TP_ERR_LIMIT_EXCEEDED,
                       "This request would exceed the on-demand stream count limit for the account "
                       "%s in %s. Limit: %d.",
                       r->account, r->region, ON_DEMAND_STREAM_LIMIT);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(in, "Tags");
    if (tags && kin_tags_check_add(r, -1, tags, err) != 0)
        return -1;
    char arn[512];
    kin_stream_arn(r, name, arn, sizeof arn);
    static const char sql[] =
        "INSERT INTO kin_streams(account, region, name, arn, status, mode, retention_hours,"
        " created_ms) VALUES(?1, ?2, ?3, ?4, 'CREATING', ?5, ?6, ?7)";
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return storage_error(err);
    sqlite3_bind_text(st, 1, r->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, arn, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, mode, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, DEFAULT_RETENTION_HOURS);
    sqlite3_bind_int64(st, 7, r->now_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return storage_error(err);
    if (stream_by_name(r, name, &s) != 0 || kin_shards_create(r->core, &s, (int)count, r->now_ms) != 0)
        return storage_error(err);
    if (tags && kin_tags_put(r->core, s.id, tags) != 0)
        return storage_error(err);
    if (transition(r, s.id, "CREATING", "create_delay_ms", NULL, err) != 0)
        return -1;
    *out = cJSON_CreateObject();
    return 0;
}

int kin_delete_stream(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    kin_stream s;
    if (kin_stream_from_request(r, in, &s, err) != 0)
        return -1;
    if (strcmp(s.status, "DELETING") == 0)
        /* unverified wording */
        return tp_fail(err, TP_ERR_RESOURCE_IN_USE, "Stream %s under account %s is being deleted.",
                       s.name, r->account);
    if (!tp_json_bool(in, "EnforceConsumerDeletion", 0) && kin_consumer_count(r->core, s.id) > 0)
        /* unverified wording */
        return tp_fail(err, TP_ERR_RESOURCE_IN_USE,
                       "Stream %s under account %s has registered consumers. Deregister them or "
                       "set EnforceConsumerDeletion.",
                       s.name, r->account);
    if (transition(r, s.id, "DELETING", "delete_delay_ms", NULL, err) != 0)
        return -1;
    *out = cJSON_CreateObject();
    return 0;
}

/* --- describing ------------------------------------------------------------ */

static cJSON *mode_details(const kin_stream *s)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "StreamMode", s->mode);
    return m;
}

static cJSON *monitoring_json(const kin_stream *s)
{
    cJSON *arr = cJSON_CreateArray(), *e = cJSON_CreateObject();
    cJSON *metrics = tp_json_parse_str(s->monitoring);
    if (!cJSON_IsArray(metrics)) {
        cJSON_Delete(metrics);
        metrics = cJSON_CreateArray();
    }
    cJSON_AddItemToObject(e, "ShardLevelMetrics", metrics);
    cJSON_AddItemToArray(arr, e);
    return arr;
}

static void add_common(cJSON *d, const kin_stream *s)
{
    cJSON_AddStringToObject(d, "StreamName", s->name);
    cJSON_AddStringToObject(d, "StreamARN", s->arn);
    cJSON_AddStringToObject(d, "StreamStatus", s->status);
    cJSON_AddItemToObject(d, "StreamModeDetails", mode_details(s));
}

static void add_settings(cJSON *d, const kin_stream *s)
{
    tp_json_add_int(d, "RetentionPeriodHours", s->retention_hours);
    cJSON_AddItemToObject(d, "StreamCreationTimestamp", kin_timestamp(s->created_ms));
    cJSON_AddItemToObject(d, "EnhancedMonitoring", monitoring_json(s));
    cJSON_AddStringToObject(d, "EncryptionType", s->encryption);
    if (strcmp(s->encryption, "KMS") == 0)
        cJSON_AddStringToObject(d, "KeyId", s->key_id);
}

int kin_describe_stream(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    kin_stream s;
    if (kin_stream_from_request(r, in, &s, err) != 0)
        return -1;
    int64_t limit = tp_json_int(in, "Limit", 100);
    const char *start = tp_json_str(in, "ExclusiveStartShardId");
    int64_t after = -1;
    if (start) {
        kin_shard sh;
        int rc = kin_shard_find(r->core, &s, start, &sh);
        if (rc < 0)
            return storage_error(err);
        if (rc == 0)
            after = sh.index;
        else {
            /* AWS lists the shards after the id even when it names no shard */
            const char *d = strrchr(start, '-');
            after = strtoll(d ? d + 1 : start, NULL, 10);
        }
    }
    cJSON *d = cJSON_CreateObject(), *shards = cJSON_CreateArray();
    add_common(d, &s);
    int more = 0;
    if (kin_shards_list(r->core, &s, after, limit, shards, &more) != 0) {
        cJSON_Delete(d);
        cJSON_Delete(shards);
        return storage_error(err);
    }
    cJSON_AddItemToObject(d, "Shards", shards);
    cJSON_AddBoolToObject(d, "HasMoreShards", more);
    add_settings(d, &s);
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "StreamDescription", d);
    return 0;
}

int kin_describe_stream_summary(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    kin_stream s;
    if (kin_stream_from_request(r, in, &s, err) != 0)
        return -1;
    cJSON *d = cJSON_CreateObject();
    add_common(d, &s);
    add_settings(d, &s);
    tp_json_add_int(d, "OpenShardCount", kin_open_shard_count(r->core, s.id));
    tp_json_add_int(d, "ConsumerCount", kin_consumer_count(r->core, s.id));
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "StreamDescriptionSummary", d);
    return 0;
}

/* ListStreams' NextToken: the last name of the page, base64-free but
 * opaque enough ("tp1:" + name); AWS's tokens are opaque too. */
#define TOKEN_PREFIX "tp1:"

int kin_list_streams(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    int64_t limit = tp_json_int(in, "Limit", 100);
    const char *start = tp_json_str(in, "ExclusiveStartStreamName");
    const char *token = tp_json_str(in, "NextToken");
    if (token) {
        if (strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0)
            /* unverified wording */
            return tp_fail(err, TP_ERR_INVALID_ARGUMENT, "Invalid NextToken.");
        start = token + strlen(TOKEN_PREFIX);
    }
    static const char sql[] = "SELECT " STREAM_COLS " FROM kin_streams"
                              " WHERE account=?1 AND region=?2 AND name>?3 ORDER BY name LIMIT ?4";
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return storage_error(err);
    sqlite3_bind_text(st, 1, r->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, start ? start : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, limit + 1);
    cJSON *names = cJSON_CreateArray(), *sums = cJSON_CreateArray();
    int64_t n = 0;
    int more = 0;
    char last[129] = "";
    while (sqlite3_step(st) == SQLITE_ROW) {
        kin_stream s;
        stream_from_row(st, &s);
        if (n == limit) {
            more = 1;
            break;
        }
        n++;
        cJSON_AddItemToArray(names, cJSON_CreateString(s.name));
        cJSON *e = cJSON_CreateObject();
        add_common(e, &s);
        cJSON_AddItemToObject(e, "StreamCreationTimestamp", kin_timestamp(s.created_ms));
        cJSON_AddItemToArray(sums, e);
        snprintf(last, sizeof last, "%s", s.name);
    }
    sqlite3_reset(st);
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "StreamNames", names);
    cJSON_AddBoolToObject(*out, "HasMoreStreams", more);
    if (more) {
        char tok[160];
        snprintf(tok, sizeof tok, TOKEN_PREFIX "%s", last);
        cJSON_AddStringToObject(*out, "NextToken", tok);
    }
    cJSON_AddItemToObject(*out, "StreamSummaries", sums);
    return 0;
}

/* --- retention ------------------------------------------------------------- */

static int set_retention(tp_req *r, const kin_stream *s, int64_t hours, tp_error *err)
{
    static const char sql[] = "UPDATE kin_streams SET retention_hours=?1 WHERE id=?2";
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return storage_error(err);
    sqlite3_bind_int64(st, 1, hours);
    sqlite3_bind_int64(st, 2, s->id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : storage_error(err);
}

static int retention_bounds(int64_t h, tp_error *err)
{
    if (h < DEFAULT_RETENTION_HOURS)
        return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                       "Minimum allowed retention period is %d hours. Requested retention period "
                       "(%" PRId64 " hours) is too short.",
                       DEFAULT_RETENTION_HOURS, h);
    if (h > MAX_RETENTION_HOURS)
        return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                       "Maximum allowed retention period is %d hours. Requested retention period "
                       "(%" PRId64 " hours) is too long.",
                       MAX_RETENTION_HOURS, h);
    return 0;
}

int kin_increase_retention(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    kin_stream s;
    if (kin_stream_from_request(r, in, &s, err) != 0)
        return -1;
    int64_t h = tp_json_int(in, "RetentionPeriodHours", 0);
    if (retention_bounds(h, err) != 0 || kin_stream_require_active(r, &s, err) != 0)
        return -1;
    if (h < s.retention_hours)
        return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                       "Requested retention period (%" PRId64 " hours) for stream %s can not be "
                       "shorter than existing retention period (%" PRId64
                       " hours). Use DecreaseRetentionPeriod API.",
                       h, s.name, s.retention_hours);
    if (set_retention(r, &s, h, err) != 0)
        return -1;
    *out = cJSON_CreateObject();
    return 0;
}

int kin_decrease_retention(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    kin_stream s;
    if (kin_stream_from_request(r, in, &s, err) != 0)
        return -1;
    int64_t h = tp_json_int(in, "RetentionPeriodHours", 0);
    if (retention_bounds(h, err) != 0 || kin_stream_require_active(r, &s, err) != 0)
        return -1;
    if (h > s.retention_hours)
        return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                       "Requested retention period (%" PRId64 " hours) for stream %s can not be "
                       "longer than existing retention period (%" PRId64
                       " hours). Use IncreaseRetentionPeriod API.",
                       h, s.name, s.retention_hours);
    if (set_retention(r, &s, h, err) != 0)
        return -1;
    s.retention_hours = h;
    if (kin_trim(r->core, &s, r->now_ms) != 0)
        return storage_error(err);
    *out = cJSON_CreateObject();
    return 0;
}

/* --- encryption and mode (recorded; the stream passes through UPDATING) ---- */

static int set_text(tp_req *r, int64_t id, const char *sql, const char *a, const char *b,
                    tp_error *err)
{
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return storage_error(err);
    sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, b ? b : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : storage_error(err);
}

static int encryption(tp_req *r, cJSON *in, cJSON **out, tp_error *err, int start)
{
    static const char sql[] = "UPDATE kin_streams SET encryption=?1, key_id=?2 WHERE id=?3";
    kin_stream s;
    if (kin_stream_from_request(r, in, &s, err) != 0 || kin_stream_require_active(r, &s, err) != 0)
        return -1;
    const char *type = tp_json_str(in, "EncryptionType"), *key = tp_json_str(in, "KeyId");
    if (start && strcmp(type, "KMS") != 0)
        /* unverified wording */
        return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                       "EncryptionType must be KMS to start stream encryption.");
    if (set_text(r, s.id, sql, start ? "KMS" : "NONE", start ? key : "", err) != 0 ||
        kin_stream_begin_update(r, &s, NULL, err) != 0)
        return -1;
    *out = cJSON_CreateObject();
    return 0;
}

int kin_start_encryption(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    return encryption(r, in, out, err, 1);
}

int kin_stop_encryption(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    return encryption(r, in, out, err, 0);
}

int kin_update_stream_mode(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    static const char sql[] = "UPDATE kin_streams SET mode=?1, pending=?2 WHERE id=?3";
    kin_stream s;
    if (kin_stream_from_request(r, in, &s, err) != 0 || kin_stream_require_active(r, &s, err) != 0)
        return -1;
    const char *mode = tp_json_str(cJSON_GetObjectItemCaseSensitive(in, "StreamModeDetails"),
                                   "StreamMode");
    if (strcmp(mode, s.mode) == 0)
        /* unverified wording */
        return tp_fail(err, TP_ERR_INVALID_ARGUMENT, "Stream %s under account %s is already in %s mode.",
                       s.name, r->account, mode);
    if (strcmp(mode, "PROVISIONED") == 0 &&
        kin_check_shard_limit(r, kin_open_shard_count(r->core, s.id), err) != 0)
        return -1;
    if (set_text(r, s.id, sql, mode, "", err) != 0 || kin_stream_begin_update(r, &s, NULL, err) != 0)
        return -1;
    *out = cJSON_CreateObject();
    return 0;
}

int kin_describe_limits(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    (void)in;
    (void)err;
    *out = cJSON_CreateObject();
    tp_json_add_int(*out, "ShardLimit", kin_shard_limit(r->core));
    tp_json_add_int(*out, "OpenShardCount", kin_account_open_shards(r));
    tp_json_add_int(*out, "OnDemandStreamCount", on_demand_streams(r));
    tp_json_add_int(*out, "OnDemandStreamCountLimit", ON_DEMAND_STREAM_LIMIT);
    return 0;
}

/* --- enhanced monitoring (recorded) ---------------------------------------- */

static const char *const all_metrics[] = {
    "IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
    "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds", NULL};

static int metric_in(const cJSON *arr, const char *m)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (cJSON_IsString(e) && (strcmp(e->valuestring, m) == 0 || strcmp(e->valuestring, "ALL") == 0))
            return 1;
    }
    return 0;
}

static int monitoring(tp_req *r, cJSON *in, cJSON **out, tp_error *err, int enable)
{
    /* ?2 is bound by set_text and unused here */
    static const char sql[] = "UPDATE kin_streams SET monitoring=?1 WHERE id=?3 AND ?2 IS NOT NULL";
    kin_stream s;
    if (kin_stream_from_request(r, in, &s, err) != 0 || kin_stream_require_active(r, &s, err) != 0)
        return -1;
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(in, "ShardLevelMetrics");
    cJSON *cur = tp_json_parse_str(s.monitoring);
    if (!cJSON_IsArray(cur)) {
        cJSON_Delete(cur);
        cur = cJSON_CreateArray();
    }
    cJSON *next = cJSON_CreateArray();
    for (int i = 0; all_metrics[i]; i++) {
        int had = metric_in(cur, all_metrics[i]), asked = metric_in(want, all_metrics[i]);
        if (enable ? (had || asked) : (had && !asked))
            cJSON_AddItemToArray(next, cJSON_CreateString(all_metrics[i]));
    }
    char *text = tp_json_print(next);
    int rc = set_text(r, s.id, sql, text ? text : "[]", "", err);
    free(text);
    if (rc != 0) {
        cJSON_Delete(cur);
        cJSON_Delete(next);
        return -1;
    }
    *out = cJSON_CreateObject();
    cJSON_AddStringToObject(*out, "StreamName", s.name);
    cJSON_AddItemToObject(*out, "CurrentShardLevelMetrics", cur);
    cJSON_AddItemToObject(*out, "DesiredShardLevelMetrics", next);
    cJSON_AddStringToObject(*out, "StreamARN", s.arn);
    return 0;
}

int kin_enable_monitoring(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    return monitoring(r, in, out, err, 1);
}

int kin_disable_monitoring(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    return monitoring(r, in, out, err, 0);
}
