/* core/store — the SQLite database every service keeps its state in.
 *
 * In memory by default; with a data dir, one file in WAL mode so a kill -9
 * loses nothing that was acknowledged: a commit has written its WAL frames
 * (to the OS) before it returns, and synchronous=NORMAL fsyncs only at WAL
 * checkpoints, so a process crash loses nothing while a power loss or OS
 * crash can take the last commits (the file stays consistent).
 * tp_store_set_sync(st, 1) (serve --sync) makes it synchronous=FULL: every
 * commit fsyncs the WAL, durable against power loss too, at one fsync per
 * write.
 * One connection, used only under the engine lock. Prepared statements are
 * cached by the address of their (static) SQL text. */
#ifndef TP_CORE_STORE_H
#define TP_CORE_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* Bump when any service's schema changes shape. */
#define TP_SCHEMA_VERSION 1

typedef struct tp_store tp_store;

/* data_dir NULL or "" = in memory. On failure returns NULL and writes why. */
tp_store *tp_store_open(const char *data_dir, char *why, size_t whylen);
void tp_store_close(tp_store *st);
/* full 1: synchronous=FULL (fsync per commit); 0: NORMAL. No-op in memory.
 * 0 ok, -1 on an SQLite error. */
int tp_store_set_sync(tp_store *st, int full);
/* "full", "normal" or "none" (in memory): what a commit survives. */
const char *tp_store_sync_mode(const tp_store *st);
sqlite3 *tp_store_db(tp_store *st);
const char *tp_store_path(const tp_store *st);   /* ":memory:" or the file */
int tp_store_exec(tp_store *st, const char *sql);
/* Returns a cached, reset statement for this SQL (keyed by pointer: pass a
 * string literal or other static text). NULL on a prepare error (logged). */
sqlite3_stmt *tp_store_stmt(tp_store *st, const char *sql);
int tp_store_begin(tp_store *st);
int tp_store_commit(tp_store *st);
void tp_store_rollback(tp_store *st);
int tp_store_in_txn(const tp_store *st);
/* Runs fn inside every transaction just before its COMMIT (a failure rolls
 * the transaction back): what must be written with every change. NULL
 * removes it. */
void tp_store_set_commit_hook(tp_store *st, int (*fn)(tp_store *st, void *arg), void *arg);
/* The store's own key -> integer table (tp_meta). get: 0 with *value, 1
 * when absent, -1 on error. */
int tp_store_meta_get(tp_store *st, const char *key, int64_t *value);
int tp_store_meta_put(tp_store *st, const char *key, int64_t value);
/* Deletes every row of every table (the schema stays). */
int tp_store_wipe(tp_store *st);
/* Checkpoints the WAL (used at clean shutdown). */
void tp_store_checkpoint(tp_store *st);

#endif
