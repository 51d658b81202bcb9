/* core/store — SQLite connection, statement cache, transactions (store.h). */
#include "store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

#define CACHE_SLOTS 512

typedef struct cached {
    const char *sql;
    sqlite3_stmt *stmt;
} cached;

struct tp_store {
    sqlite3 *db;
    char path[1024];
    cached cache[CACHE_SLOTS];
    int in_txn;
    int memory;
    int sync_full;
    int (*commit_hook)(tp_store *st, void *arg);
    void *commit_arg;
};

static int check_schema_version(tp_store *st, char *why, size_t whylen)
{
    sqlite3_stmt *s = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version == 0) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", TP_SCHEMA_VERSION);
        return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    }
    if (version != TP_SCHEMA_VERSION) {
        snprintf(why, whylen,
                 "%s has schema version %d; this tidepool uses version %d "
                 "(start with a new --data-dir)",
                 st->path, version, TP_SCHEMA_VERSION);
        return -1;
    }
    return 0;
}

tp_store *tp_store_open(const char *data_dir, char *why, size_t whylen)
{
    tp_store *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    int memory = !data_dir || !*data_dir;
    st->memory = memory;
    if (memory) {
        snprintf(st->path, sizeof st->path, ":memory:");
    } else {
        if (mkdir(data_dir, 0755) != 0) {
            struct stat sb;
            if (stat(data_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
                snprintf(why, whylen, "cannot create data dir %s", data_dir);
                free(st);
                return NULL;
            }
        }
        snprintf(st->path, sizeof st->path, "%s/tidepool.db", data_dir);
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(st->path, &st->db, flags, NULL) != SQLITE_OK) {
        snprintf(why, whylen, "cannot open %s: %s", st->path, sqlite3_errmsg(st->db));
        sqlite3_close(st->db);
        free(st);
        return NULL;
    }
    /* 16 KiB pages: in a WITHOUT ROWID table a row larger than about a
     * quarter page spills into its own overflow page, so with 4 KiB pages
     * every 1 KB item cost a whole extra page (5x memory, measured). The
     * page size only takes effect before the first table is created. */
    const char *pragmas = memory ? "PRAGMA page_size=16384; PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;"
                                 : "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                   "PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;"
                                   "CREATE TABLE IF NOT EXISTS tp_meta(key TEXT PRIMARY KEY,"
                                   " value INTEGER NOT NULL) WITHOUT ROWID;";
    if (sqlite3_exec(st->db, pragmas, NULL, NULL, NULL) != SQLITE_OK ||
        check_schema_version(st, why, whylen) != 0) {
        if (!*why)
            snprintf(why, whylen, "cannot set up %s: %s", st->path, sqlite3_errmsg(st->db));
        sqlite3_close(st->db);
        free(st);
        return NULL;
    }
    sqlite3_busy_timeout(st->db, 5000);
    return st;
}

void tp_store_close(tp_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < CACHE_SLOTS; i++)
        sqlite3_finalize(st->cache[i].stmt);
    sqlite3_close(st->db);
    free(st);
}

int tp_store_set_sync(tp_store *st, int full)
{
    if (st->memory)
        return 0;
    if (tp_store_exec(st, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") != 0)
        return -1;
    st->sync_full = full;
    return 0;
}

const char *tp_store_sync_mode(const tp_store *st)
{
    return st->memory ? "none" : st->sync_full ? "full" : "normal";
}

sqlite3 *tp_store_db(tp_store *st) { return st->db; }

const char *tp_store_path(const tp_store *st) { return st->path; }

int tp_store_exec(tp_store *st, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        tp_log_msg(TP_LOG_ERROR, "store: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

sqlite3_stmt *tp_store_stmt(tp_store *st, const char *sql)
{
    size_t h = ((uintptr_t)sql >> 3) % CACHE_SLOTS;
    for (size_t k = 0; k < CACHE_SLOTS; k++) {
        cached *c = &st->cache[(h + k) % CACHE_SLOTS];
        if (c->sql == sql) {
            sqlite3_reset(c->stmt);
            sqlite3_clear_bindings(c->stmt);
            return c->stmt;
        }
        if (!c->sql) {
            if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->stmt, NULL) !=
                SQLITE_OK) {
                tp_log_msg(TP_LOG_ERROR, "store: prepare failed: %s: %s", sqlite3_errmsg(st->db), sql);
                c->stmt = NULL;
                return NULL;
            }
            c->sql = sql;
            return c->stmt;
        }
    }
    tp_log_msg(TP_LOG_ERROR, "store: statement cache full");
    return NULL;
}

/* BEGIN/COMMIT/ROLLBACK run for every call: prepared once, not re-parsed. */
static const char sql_begin[] = "BEGIN", sql_commit[] = "COMMIT", sql_rollback[] = "ROLLBACK";

static int run_cached(tp_store *st, const char *sql)
{
    sqlite3_stmt *s = tp_store_stmt(st, sql);
    if (!s)
        return tp_store_exec(st, sql);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int tp_store_begin(tp_store *st)
{
    if (st->in_txn)
        return 0;
    if (run_cached(st, sql_begin) != 0)
        return -1;
    st->in_txn = 1;
    return 0;
}

int tp_store_commit(tp_store *st)
{
    if (!st->in_txn)
        return 0;
    if (st->commit_hook && st->commit_hook(st, st->commit_arg) != 0) {
        st->in_txn = 0;
        run_cached(st, sql_rollback);
        return -1;
    }
    st->in_txn = 0;
    if (run_cached(st, sql_commit) != 0) {
        run_cached(st, sql_rollback);
        return -1;
    }
    return 0;
}

void tp_store_rollback(tp_store *st)
{
    if (!st->in_txn)
        return;
    st->in_txn = 0;
    run_cached(st, sql_rollback);
}

int tp_store_in_txn(const tp_store *st) { return st->in_txn; }

void tp_store_set_commit_hook(tp_store *st, int (*fn)(tp_store *st, void *arg), void *arg)
{
    st->commit_hook = fn;
    st->commit_arg = arg;
}

int tp_store_meta_get(tp_store *st, const char *key, int64_t *value)
{
    sqlite3_stmt *s = tp_store_stmt(st, "SELECT value FROM tp_meta WHERE key=?1");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *value = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int tp_store_meta_put(tp_store *st, const char *key, int64_t value)
{
    sqlite3_stmt *s = tp_store_stmt(st, "INSERT INTO tp_meta(key, value) VALUES(?1, ?2)"
                                        " ON CONFLICT(key) DO UPDATE SET value=excluded.value");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, value);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int tp_store_wipe(tp_store *st)
{
    /* Collect names first: deleting while stepping sqlite_master is unsafe. */
    char *names[256];
    int n = 0;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT name FROM sqlite_master WHERE type='table' "
                           "AND name NOT LIKE 'sqlite_%'",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    while (n < 256 && sqlite3_step(s) == SQLITE_ROW)
        names[n++] = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char sql[512];
        snprintf(sql, sizeof sql, "DELETE FROM \"%s\"", names[i]);
        if (tp_store_exec(st, sql) != 0)
            rc = -1;
        free(names[i]);
    }
    return rc;
}

void tp_store_checkpoint(tp_store *st)
{
    sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}
