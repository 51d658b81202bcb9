/* dynamodb/stream_writer — the stream record writer and the stream/shard life cycle
 * (streams.h has the schema and the state diagrams).
 *
 * Everything here runs inside the caller's transaction: an item write's
 * (streams_emit), a table change's (streams_table_sync) or a timer event's
 * (streams_trim). Nothing here BEGINs or COMMITs. The Streams API lives in
 * api.c and only reads these tables (plus streams_roll). */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/trace.h"
#include "attr.h"
#include "streams.h"

const char streams_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS streams_streams("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, region TEXT NOT NULL, table_name TEXT NOT NULL,"
    "  table_id INTEGER NOT NULL,"
    "  arn TEXT NOT NULL UNIQUE, label TEXT NOT NULL,"
    "  view_type TEXT NOT NULL, key_schema TEXT NOT NULL,"
    "  status TEXT NOT NULL,"                       /* ENABLED DISABLED */
    "  shard_count INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  disabled_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS streams_by_table ON streams_streams(account, region, table_name, id);"
    "CREATE INDEX IF NOT EXISTS streams_by_table_id ON streams_streams(table_id, status);"
    "CREATE TABLE IF NOT EXISTS streams_shards("
    "  id INTEGER PRIMARY KEY,"
    "  stream_id INTEGER NOT NULL, shard_id TEXT NOT NULL,"
    "  parent_shard_id TEXT NOT NULL DEFAULT '',"
    "  slot INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, closed_ms INTEGER NOT NULL DEFAULT 0,"
    "  start_seq INTEGER NOT NULL, end_seq INTEGER,"
    /* the highest seq trimmed from this shard (0: none); api.c answers
     * TrimmedDataAccessException for positions at or below it */
    "  trimmed_seq INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE(stream_id, shard_id));"
    "CREATE INDEX IF NOT EXISTS streams_shards_open ON streams_shards(stream_id, closed_ms, slot);"
    "CREATE TABLE IF NOT EXISTS streams_records("
    "  seq INTEGER PRIMARY KEY,"
    "  shard INTEGER NOT NULL, stream_id INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, event_name TEXT NOT NULL,"
    "  record TEXT NOT NULL, size INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS streams_records_by_shard ON streams_records(shard, seq);"
    "CREATE INDEX IF NOT EXISTS streams_records_by_age ON streams_records(created_ms);"
    "CREATE TABLE IF NOT EXISTS streams_state("
    "  name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;";

/* --- small helpers ------------------------------------------------------ */

static sqlite3_stmt *stmt(tp_core *core, const char *sql) { return tp_store_stmt(core->store, sql); }

/* Steps a statement that returns no rows and resets it: 0 ok, -1 err. */
static int done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int storage_error(tp_core *core, tp_error *err)
{
    tp_log_msg(TP_LOG_ERROR, "streams: storage error: %s", sqlite3_errmsg(tp_store_db(core->store)));
    return tp_fail(err, TP_ERR_INTERNAL, "storage error");
}

int64_t streams_setting(const tp_core *core, const char *name, int64_t dflt)
{
    const cJSON *o = core && core->config ? cJSON_GetObjectItemCaseSensitive(core->config, "streams")
                                          : NULL;
    return tp_json_int(o, name, dflt);
}

/* Sequence numbers are 24 digits, "1000" then the counter in 20 digits, so
 * their text sorts like their value (AWS's are 21-40 digits). */
#define SEQ_PREFIX "1000"

void streams_seq_format(int64_t seq, char out[32])
{
    snprintf(out, 32, SEQ_PREFIX "%020" PRId64, seq < 0 ? 0 : seq);
}

int streams_seq_parse(const char *text, int64_t *seq)
{
    size_t n = text ? strlen(text) : 0;
    if (n != 24 || strncmp(text, SEQ_PREFIX, 4) != 0)
        return -1;
    int64_t v = 0;
    for (size_t i = 4; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    *seq = v;
    return 0;
}

/* The last sequence number handed out (0 before the first). */
static int seq_last(tp_core *core, int64_t *out)
{
    static const char sql[] = "SELECT value FROM streams_state WHERE name='seq'";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int seq_next(tp_core *core, int64_t *out)
{
    static const char sql[] =
        "INSERT INTO streams_state(name, value) VALUES('seq', 1)"
        " ON CONFLICT(name) DO UPDATE SET value=value+1";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st || done(st) != 0)
        return -1;
    return seq_last(core, out);
}

/* "shardId-00000001700000000000-1a2b3c4d": creation ms, then 8 hex digits
 * derived from the stream and slot so that replays give the same ids. */
static void shard_id_make(const char *arn, int64_t slot, int64_t created_ms, char out[64])
{
    char seed[1200];
    int n = snprintf(seed, sizeof seed, "%s|%" PRId64 "|%" PRId64, arn, slot, created_ms);
    uint32_t h = tp_crc32(seed, n > 0 ? (size_t)n : 0);
    snprintf(out, 64, "shardId-%020" PRId64 "-%08x", created_ms, (unsigned)h);
}

static int shard_open(tp_core *core, int64_t stream_id, const char *arn, int64_t slot,
                      const char *parent, int64_t created_ms)
{
    static const char sql[] =
        "INSERT INTO streams_shards(stream_id, shard_id, parent_shard_id, slot, created_ms, start_seq)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
    int64_t last;
    if (seq_last(core, &last) != 0)
        return -1;
    char sid[64];
    shard_id_make(arn, slot, created_ms, sid);
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, stream_id);
    sqlite3_bind_text(st, 2, sid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, parent ? parent : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, slot);
    sqlite3_bind_int64(st, 5, created_ms);
    sqlite3_bind_int64(st, 6, last + 1);
    return done(st);
}

/* Closes one shard at closed_ms: its range ends at its last record. */
static int shard_close(tp_core *core, int64_t shard_row, int64_t closed_ms)
{
    static const char sql[] =
        "UPDATE streams_shards SET closed_ms=?2,"
        " end_seq=COALESCE((SELECT MAX(seq) FROM streams_records WHERE shard=?1), start_seq)"
        " WHERE id=?1";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, shard_row);
    sqlite3_bind_int64(st, 2, closed_ms);
    return done(st);
}

/* --- rollover ------------------------------------------------------------ */

typedef struct due_shard {
    int64_t row, stream_id, slot, created_ms;
    char shard_id[64];
    char arn[1100];
} due_shard;

int streams_roll(tp_core *core, int64_t stream_id, int64_t now_ms)
{
    /* Two texts so that the one-stream form (every write) uses the index. */
    static const char all_sql[] =
        "SELECT s.id, s.stream_id, s.slot, s.created_ms, s.shard_id, t.arn"
        " FROM streams_shards s JOIN streams_streams t ON t.id = s.stream_id"
        " WHERE s.closed_ms = 0 AND t.status = 'ENABLED' AND s.created_ms + ?1 <= ?2"
        " AND ?3 = 0 ORDER BY s.id";
    static const char one_sql[] =
        "SELECT s.id, s.stream_id, s.slot, s.created_ms, s.shard_id, t.arn"
        " FROM streams_shards s JOIN streams_streams t ON t.id = s.stream_id"
        " WHERE s.stream_id = ?3 AND s.closed_ms = 0 AND t.status = 'ENABLED'"
        " AND s.created_ms + ?1 <= ?2 ORDER BY s.id";
    const char *sql = stream_id ? one_sql : all_sql;
    int64_t every = streams_setting(core, "shard_rollover_ms", STREAMS_DEFAULT_ROLLOVER_MS);
    if (every <= 0)
        return 0;
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, every);
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_int64(st, 3, stream_id);
    due_shard *due = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            due_shard *grown = realloc(due, ncap * sizeof *grown);
            if (!grown)
                break;
            due = grown;
            cap = ncap;
        }
        due_shard *d = &due[n++];
        d->row = sqlite3_column_int64(st, 0);
        d->stream_id = sqlite3_column_int64(st, 1);
        d->slot = sqlite3_column_int64(st, 2);
        d->created_ms = sqlite3_column_int64(st, 3);
        snprintf(d->shard_id, sizeof d->shard_id, "%s", (const char *)sqlite3_column_text(st, 4));
        snprintf(d->arn, sizeof d->arn, "%s", (const char *)sqlite3_column_text(st, 5));
    }
    sqlite3_reset(st);
    int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
    /* Each generation closes exactly `every` after it opened, however late
     * this runs: the lineage is a function of virtual time alone. */
    static const char last_sql[] = "SELECT id FROM streams_shards WHERE stream_id=?1 AND shard_id=?2";
    for (size_t i = 0; ok && i < n; i++) {
        due_shard *d = &due[i];
        int64_t row = d->row, opened = d->created_ms;
        char parent[64];
        snprintf(parent, sizeof parent, "%s", d->shard_id);
        while (ok && opened + every <= now_ms) {
            int64_t at = opened + every;
            if (shard_close(core, row, at) != 0 ||
                shard_open(core, d->stream_id, d->arn, d->slot, parent, at) != 0) {
                ok = 0;
                break;
            }
            shard_id_make(d->arn, d->slot, at, parent);
            sqlite3_stmt *q = stmt(core, last_sql);
            if (!q) {
                ok = 0;
                break;
            }
            sqlite3_bind_int64(q, 1, d->stream_id);
            sqlite3_bind_text(q, 2, parent, -1, SQLITE_TRANSIENT);
            ok = sqlite3_step(q) == SQLITE_ROW;
            row = ok ? sqlite3_column_int64(q, 0) : 0;
            sqlite3_reset(q);
            opened = at;
        }
    }
    free(due);
    return ok ? 0 : -1;
}

/* --- stream life cycle ---------------------------------------------------- */

/* Disables a stream: its open shards close now, its records stay. */
static int stream_disable(tp_core *core, int64_t stream_id, int64_t now_ms)
{
    static const char shards_sql[] = "SELECT id FROM streams_shards WHERE stream_id=?1 AND closed_ms=0";
    static const char sql[] = "UPDATE streams_streams SET status='DISABLED', disabled_ms=?2 WHERE id=?1";
    if (streams_roll(core, stream_id, now_ms) != 0)
        return -1;
    sqlite3_stmt *st = stmt(core, shards_sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, stream_id);
    int64_t rows[64];
    size_t n = 0;
    int rc;
    /* Open shards are one per slot; slots are few, but loop in case. */
    for (;;) {
        n = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 64)
            rows[n++] = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (shard_close(core, rows[i], now_ms) != 0)
                return -1;
        if (n < 64)
            break;
    }
    st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, stream_id);
    sqlite3_bind_int64(st, 2, now_ms);
    return done(st);
}

static int arn_taken(tp_core *core, const char *arn, int *taken)
{
    static const char sql[] = "SELECT 1 FROM streams_streams WHERE arn=?1";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, arn, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    *taken = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* "2024-01-01T00:00:00.000", as table.c labels streams. */
static void label_at(int64_t ms, char out[40])
{
    tp_format_iso8601(ms, out, 40);
    size_t n = strlen(out);
    if (n && out[n - 1] == 'Z')
        out[n - 1] = '\0';
}

static int stream_create(tp_req *r, int64_t table_id, const char *table_name, cJSON *desc,
                         const char *view)
{
    static const char sql[] =
        "INSERT INTO streams_streams(account, region, table_name, table_id, arn, label, view_type,"
        " key_schema, status, shard_count, created_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
        " 'ENABLED', ?9, ?10)";
    tp_core *core = r->core;
    const char *arn = tp_json_str(desc, "LatestStreamArn");
    const char *label = tp_json_str(desc, "LatestStreamLabel");
    const char *table_arn = tp_json_str(desc, "TableArn");
    char arn_buf[1100], label_buf[40];
    snprintf(arn_buf, sizeof arn_buf, "%s", arn ? arn : "");
    snprintf(label_buf, sizeof label_buf, "%s", label ? label : "");
    int taken = 1;
    if (arn_taken(core, arn_buf, &taken) != 0)
        return -1;
    /* The virtual clock can stand still across a disable/enable or a
     * delete/create: move the label on by a millisecond until it is new. */
    for (int64_t ms = r->now_ms + 1; taken && table_arn; ms++) {
        label_at(ms, label_buf);
        snprintf(arn_buf, sizeof arn_buf, "%s/stream/%s", table_arn, label_buf);
        if (arn_taken(core, arn_buf, &taken) != 0)
            return -1;
    }
    if (taken)
        return -1;
    if (!arn || strcmp(arn, arn_buf) != 0) {
        cJSON_ReplaceItemInObjectCaseSensitive(desc, "LatestStreamArn", cJSON_CreateString(arn_buf));
        cJSON_ReplaceItemInObjectCaseSensitive(desc, "LatestStreamLabel", cJSON_CreateString(label_buf));
    }
    int64_t shards = streams_setting(core, "shards_per_table", STREAMS_DEFAULT_SHARDS);
    if (shards < 1)
        shards = 1;
    if (shards > 1000)
        shards = 1000;
    char *ks = tp_json_print(cJSON_GetObjectItemCaseSensitive(desc, "KeySchema"));
    sqlite3_stmt *st = stmt(core, sql);
    if (!st) {
        free(ks);
        return -1;
    }
    sqlite3_bind_text(st, 1, r->account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, r->region, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, table_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, table_id);
    sqlite3_bind_text(st, 5, arn_buf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, label_buf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, view, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 8, ks ? ks : "[]", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 9, shards);
    sqlite3_bind_int64(st, 10, r->now_ms);
    int rc = done(st);
    free(ks);
    if (rc != 0)
        return -1;
    int64_t id = sqlite3_last_insert_rowid(tp_store_db(core->store));
    for (int64_t slot = 0; slot < shards; slot++)
        if (shard_open(core, id, arn_buf, slot, NULL, r->now_ms) != 0)
            return -1;
    return 0;
}

int streams_table_sync(tp_req *r, int64_t table_id, const char *table_name, cJSON *desc,
                       tp_error *err)
{
    static const char sql[] =
        "SELECT id, arn FROM streams_streams WHERE table_id=?1 AND status='ENABLED'";
    const cJSON *spec = desc ? cJSON_GetObjectItemCaseSensitive(desc, "StreamSpecification") : NULL;
    int enabled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(spec, "StreamEnabled"));
    const char *view = tp_json_str(spec, "StreamViewType");
    const char *want = tp_json_str(desc, "LatestStreamArn");
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return storage_error(r->core, err);
    sqlite3_bind_int64(st, 1, table_id);
    int64_t cur = 0;
    char cur_arn[1100] = "";
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        cur = sqlite3_column_int64(st, 0);
        snprintf(cur_arn, sizeof cur_arn, "%s", (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return storage_error(r->core, err);
    if (enabled && view && want && cur && strcmp(cur_arn, want) == 0)
        return 0;
    if (cur && stream_disable(r->core, cur, r->now_ms) != 0)
        return storage_error(r->core, err);
    if (enabled && view && stream_create(r, table_id, table_name, desc, view) != 0)
        return storage_error(r->core, err);
    return 0;
}

/* --- the record writer ------------------------------------------------- */

typedef struct live_stream {
    int64_t id, shard_count;
    char view[24];
} live_stream;

/* 1 found, 0 no enabled stream, -1 error. */
static int live_stream_get(tp_core *core, int64_t table_id, live_stream *s)
{
    static const char sql[] =
        "SELECT id, view_type, shard_count FROM streams_streams WHERE table_id=?1 AND status='ENABLED'";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, table_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        s->id = sqlite3_column_int64(st, 0);
        snprintf(s->view, sizeof s->view, "%s", (const char *)sqlite3_column_text(st, 1));
        s->shard_count = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int items_equal(const cJSON *a, const cJSON *b)
{
    cJSON *wa = cJSON_CreateObject(), *wb = cJSON_CreateObject();
    int eq = 0;
    if (wa && wb && cJSON_AddItemToObject(wa, "M", cJSON_CreateObjectReference(a->child)) &&
        cJSON_AddItemToObject(wb, "M", cJSON_CreateObjectReference(b->child)))
        eq = ddb_attr_equal(wa, wb);
    cJSON_Delete(wa);
    cJSON_Delete(wb);
    return eq;
}

/* The open shard of a slot (its row id), or 0. */
static int64_t open_shard(tp_core *core, int64_t stream_id, int64_t slot)
{
    static const char sql[] =
        "SELECT id FROM streams_shards WHERE stream_id=?1 AND slot=?2 AND closed_ms=0"
        " ORDER BY id DESC LIMIT 1";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, stream_id);
    sqlite3_bind_int64(st, 2, slot);
    int64_t row = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return row;
}

/* The trace's "stream_record" {stream, shard, sequence_number, event, keys}. */
static void trace_record(tp_core *core, int64_t stream_id, int64_t shard, const char *seq,
                         const char *event, const cJSON *hv, const cJSON *rv, const ddb_table *t)
{
    static const char sql[] =
        "SELECT t.arn, s.shard_id FROM streams_shards s JOIN streams_streams t ON t.id = s.stream_id"
        " WHERE s.id=?1 AND t.id=?2";
    if (!core->trace)
        return;
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, shard);
    sqlite3_bind_int64(st, 2, stream_id);
    cJSON *f = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "stream", (const char *)sqlite3_column_text(st, 0));
        cJSON_AddStringToObject(f, "shard", (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_reset(st);
    if (!f)
        return;
    /* "seq" is the trace event's own number: the record's goes as
     * sequence_number */
    cJSON_AddStringToObject(f, "sequence_number", seq);
    cJSON_AddStringToObject(f, "event", event);
    cJSON *keys = cJSON_AddObjectToObject(f, "keys");
    if (hv)
        cJSON_AddItemToObject(keys, t->hash.name, cJSON_Duplicate(hv, 1));
    if (rv)
        cJSON_AddItemToObject(keys, t->range.name, cJSON_Duplicate(rv, 1));
    tp_trace_emit(core, "stream_record", f);
    cJSON_Delete(f);
}

int streams_emit(tp_req *r, const ddb_table *t, const cJSON *old_item, const cJSON *new_item,
                 int by_ttl, tp_error *err)
{
    if (!old_item && !new_item)
        return 0;
    /* A table that never had a stream has no LatestStreamArn: skip the query. */
    if (t->desc && !cJSON_GetObjectItemCaseSensitive(t->desc, "LatestStreamArn"))
        return 0;
    live_stream s;
    int found = live_stream_get(r->core, t->id, &s);
    if (found < 0)
        return storage_error(r->core, err);
    if (!found)
        return 0;
    if (old_item && new_item && items_equal(old_item, new_item))
        return 0;
    if (streams_roll(r->core, s.id, r->now_ms) != 0)
        return storage_error(r->core, err);

    const cJSON *any = new_item ? new_item : old_item;
    const cJSON *hv = cJSON_GetObjectItemCaseSensitive(any, t->hash.name);
    const cJSON *rv = t->range.name[0] ? cJSON_GetObjectItemCaseSensitive(any, t->range.name) : NULL;
    char *hv_text = hv ? tp_json_print(hv) : NULL;
    uint32_t h = hv_text ? tp_crc32(hv_text, strlen(hv_text)) : 0;
    free(hv_text);
    int64_t slot = s.shard_count > 1 ? (int64_t)(h % (uint32_t)s.shard_count) : 0;
    int64_t shard = open_shard(r->core, s.id, slot);
    int64_t seq;
    if (!shard || seq_next(r->core, &seq) != 0)
        return storage_error(r->core, err);

    const char *name = !old_item ? "INSERT" : !new_item ? "REMOVE" : "MODIFY";
    int with_new = new_item && (!strcmp(s.view, "NEW_IMAGE") || !strcmp(s.view, "NEW_AND_OLD_IMAGES"));
    int with_old = old_item && (!strcmp(s.view, "OLD_IMAGE") || !strcmp(s.view, "NEW_AND_OLD_IMAGES"));

    char event_id[33], seq_text[32];
    tp_rng_string(&r->core->rng, "0123456789abcdef", event_id, 32);
    event_id[32] = '\0';
    streams_seq_format(seq, seq_text);

    cJSON *rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "eventID", event_id);
    cJSON_AddStringToObject(rec, "eventName", name);
    cJSON_AddStringToObject(rec, "eventVersion", "1.1");
    cJSON_AddStringToObject(rec, "eventSource", "aws:dynamodb");
    cJSON_AddStringToObject(rec, "awsRegion", r->region);
    cJSON *d = cJSON_AddObjectToObject(rec, "dynamodb");
    /* Epoch seconds, rounded down (as Lambda's events and GetRecords show). */
    tp_json_add_int(d, "ApproximateCreationDateTime", r->now_ms / 1000);
    cJSON *keys = cJSON_AddObjectToObject(d, "Keys");
    if (hv)
        cJSON_AddItemToObject(keys, t->hash.name, cJSON_Duplicate(hv, 1));
    if (rv)
        cJSON_AddItemToObject(keys, t->range.name, cJSON_Duplicate(rv, 1));
    /* SizeBytes: the keys and the images carried, each sized as an item
     * (seeds/000: Keys 9 + NewImage 34 = 43). */
    size_t size = ddb_item_size(keys);
    if (with_new) {
        cJSON_AddItemToObject(d, "NewImage", cJSON_Duplicate(new_item, 1));
        size += ddb_item_size(new_item);
    }
    if (with_old) {
        cJSON_AddItemToObject(d, "OldImage", cJSON_Duplicate(old_item, 1));
        size += ddb_item_size(old_item);
    }
    cJSON_AddStringToObject(d, "SequenceNumber", seq_text);
    tp_json_add_int(d, "SizeBytes", (int64_t)size);
    cJSON_AddStringToObject(d, "StreamViewType", s.view);
    if (by_ttl) {
        cJSON *who = cJSON_AddObjectToObject(rec, "userIdentity");
        cJSON_AddStringToObject(who, "type", "Service");
        cJSON_AddStringToObject(who, "principalId", "dynamodb.amazonaws.com");
    }
    char *text = tp_json_print(rec);
    cJSON_Delete(rec);
    if (!text)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");

    static const char sql[] =
        "INSERT INTO streams_records(seq, shard, stream_id, created_ms, event_name, record, size)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    sqlite3_stmt *st = stmt(r->core, sql);
    int rc = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, seq);
        sqlite3_bind_int64(st, 2, shard);
        sqlite3_bind_int64(st, 3, s.id);
        sqlite3_bind_int64(st, 4, r->now_ms);
        sqlite3_bind_text(st, 5, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 7, (int64_t)size);
        rc = done(st);
    }
    free(text);
    if (rc == 0)
        trace_record(r->core, s.id, shard, seq_text, name, hv, rv, t);
    return rc == 0 ? 0 : storage_error(r->core, err);
}

/* --- trimming ------------------------------------------------------------ */

int streams_trim(tp_core *core, int64_t now_ms)
{
    /* Remember each shard's trim point before its records go (api.c). */
    static const char mark_sql[] =
        "UPDATE streams_shards SET trimmed_seq = (SELECT MAX(seq) FROM streams_records r"
        " WHERE r.shard = streams_shards.id AND r.created_ms <= ?1)"
        " WHERE id IN (SELECT shard FROM streams_records WHERE created_ms <= ?1)";
    static const char records_sql[] = "DELETE FROM streams_records WHERE created_ms <= ?1";
    static const char shards_sql[] =
        "DELETE FROM streams_shards WHERE closed_ms > 0 AND closed_ms <= ?1"
        " AND NOT EXISTS (SELECT 1 FROM streams_records r WHERE r.shard = streams_shards.id)";
    static const char gone_records_sql[] =
        "DELETE FROM streams_records WHERE stream_id IN (SELECT id FROM streams_streams"
        " WHERE status='DISABLED' AND disabled_ms <= ?1)";
    static const char gone_shards_sql[] =
        "DELETE FROM streams_shards WHERE stream_id IN (SELECT id FROM streams_streams"
        " WHERE status='DISABLED' AND disabled_ms <= ?1)";
    static const char gone_streams_sql[] =
        "DELETE FROM streams_streams WHERE status='DISABLED' AND disabled_ms <= ?1";
    const char *const steps[] = {mark_sql,         records_sql,     shards_sql,
                                 gone_records_sql, gone_shards_sql, gone_streams_sql};
    int64_t keep = streams_setting(core, "retention_ms", STREAMS_DEFAULT_RETENTION_MS);
    if (streams_roll(core, 0, now_ms) != 0)
        return -1;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        sqlite3_stmt *st = stmt(core, steps[i]);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, now_ms - keep);
        if (done(st) != 0)
            return -1;
    }
    return 0;
}

static void trim_event(struct tp_core *core, void *arg, int64_t due_ms);

static int arm_trim(tp_core *core, int64_t due_ms)
{
    return tp_sched_at(core->sched, due_ms, trim_event, NULL) ? 0 : -1;
}

static void trim_event(struct tp_core *core, void *arg, int64_t due_ms)
{
    (void)arg;
    int64_t every = streams_setting(core, "trim_interval_ms", STREAMS_DEFAULT_TRIM_INTERVAL_MS);
    if (every > 0 && arm_trim(core, due_ms + every) != 0)
        tp_log_msg(TP_LOG_ERROR, "streams: cannot re-arm the trim event");
    if (tp_store_exec(core->store, "SAVEPOINT streams_trim") != 0)
        return;
    if (streams_trim(core, due_ms) != 0) {
        tp_log_msg(TP_LOG_ERROR, "streams: trimming failed: %s", sqlite3_errmsg(tp_store_db(core->store)));
        tp_store_exec(core->store, "ROLLBACK TO streams_trim");
    }
    tp_store_exec(core->store, "RELEASE streams_trim");
}

int streams_start(tp_core *core)
{
    int64_t every = streams_setting(core, "trim_interval_ms", STREAMS_DEFAULT_TRIM_INTERVAL_MS);
    if (every <= 0)
        return 0;
    return arm_trim(core, tp_clock_now_ms(core->clock) + every);
}

/* --- the control API's view ------------------------------------------- */

cJSON *streams_debug_list(tp_core *core, int64_t now_ms)
{
    static const char streams_sql[] =
        "SELECT id, account, region, table_name, arn, label, view_type, status, created_ms,"
        " disabled_ms, shard_count FROM streams_streams ORDER BY id";
    static const char shards_sql[] =
        "SELECT s.id, s.shard_id, s.parent_shard_id, s.slot, s.created_ms, s.closed_ms,"
        " s.start_seq, s.end_seq,"
        " (SELECT COUNT(*) FROM streams_records r WHERE r.shard = s.id),"
        " (SELECT COUNT(*) FROM streams_records r WHERE r.shard = s.id AND r.event_name='INSERT'),"
        " (SELECT COUNT(*) FROM streams_records r WHERE r.shard = s.id AND r.event_name='MODIFY'),"
        " (SELECT COUNT(*) FROM streams_records r WHERE r.shard = s.id AND r.event_name='REMOVE')"
        " FROM streams_shards s WHERE s.stream_id=?1 ORDER BY s.id";
    /* Rollover is lazy: bring lineage up to date first (the caller holds the
     * engine lock inside a transaction). */
    if (streams_roll(core, 0, now_ms) != 0)
        return NULL;
    sqlite3_stmt *st = stmt(core, streams_sql);
    if (!st)
        return NULL;
    cJSON *out = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(out, "Streams");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddItemToArray(list, s);
        const char *names[] = {NULL, "Account", "Region", "TableName", "StreamArn", "StreamLabel",
                               "StreamViewType", "StreamStatus"};
        for (int c = 1; c <= 7; c++)
            cJSON_AddStringToObject(s, names[c], (const char *)sqlite3_column_text(st, c));
        tp_json_add_int(s, "CreatedMs", sqlite3_column_int64(st, 8));
        tp_json_add_int(s, "DisabledMs", sqlite3_column_int64(st, 9));
        tp_json_add_int(s, "ShardCount", sqlite3_column_int64(st, 10));
        tp_json_add_int(s, "_id", sqlite3_column_int64(st, 0));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(out);
        return NULL;
    }
    cJSON *s;
    cJSON_ArrayForEach(s, list)
    {
        cJSON *idn = cJSON_DetachItemFromObjectCaseSensitive(s, "_id");
        int64_t id = (int64_t)idn->valuedouble;
        cJSON_Delete(idn);
        int64_t total = 0;
        cJSON *shards = cJSON_AddArrayToObject(s, "Shards");
        sqlite3_stmt *q = stmt(core, shards_sql);
        if (!q) {
            cJSON_Delete(out);
            return NULL;
        }
        sqlite3_bind_int64(q, 1, id);
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
            char seq[32];
            cJSON *sh = cJSON_CreateObject();
            cJSON_AddItemToArray(shards, sh);
            cJSON_AddStringToObject(sh, "ShardId", (const char *)sqlite3_column_text(q, 1));
            const char *parent = (const char *)sqlite3_column_text(q, 2);
            if (parent && *parent)
                cJSON_AddStringToObject(sh, "ParentShardId", parent);
            tp_json_add_int(sh, "Slot", sqlite3_column_int64(q, 3));
            tp_json_add_int(sh, "CreatedMs", sqlite3_column_int64(q, 4));
            int64_t closed = sqlite3_column_int64(q, 5);
            cJSON_AddBoolToObject(sh, "Open", closed == 0);
            if (closed)
                tp_json_add_int(sh, "ClosedMs", closed);
            cJSON *range = cJSON_AddObjectToObject(sh, "SequenceNumberRange");
            streams_seq_format(sqlite3_column_int64(q, 6), seq);
            cJSON_AddStringToObject(range, "StartingSequenceNumber", seq);
            if (sqlite3_column_type(q, 7) != SQLITE_NULL) {
                streams_seq_format(sqlite3_column_int64(q, 7), seq);
                cJSON_AddStringToObject(range, "EndingSequenceNumber", seq);
            }
            cJSON *counts = cJSON_AddObjectToObject(sh, "Records");
            int64_t n = sqlite3_column_int64(q, 8);
            tp_json_add_int(counts, "Total", n);
            tp_json_add_int(counts, "INSERT", sqlite3_column_int64(q, 9));
            tp_json_add_int(counts, "MODIFY", sqlite3_column_int64(q, 10));
            tp_json_add_int(counts, "REMOVE", sqlite3_column_int64(q, 11));
            total += n;
        }
        sqlite3_reset(q);
        tp_json_add_int(s, "RecordCount", total);
        if (rc != SQLITE_DONE) {
            cJSON_Delete(out);
            return NULL;
        }
    }
    return out;
}
