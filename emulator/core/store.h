/* core/store — the SQLite database every service keeps its state in.
 *
 * In memory by default; with a data dir, one file in WAL mode so a kill -9
 * loses nothing that was acknowledged (synchronous=NORMAL is durable against
 * process crashes in WAL mode; only power loss can take the last commits).
 * One connection, used only under the engine lock. Prepared statements are
 * cached by the address of their (static) SQL text. */
#ifndef TP_CORE_STORE_H
#define TP_CORE_STORE_H

#include <sqlite3.h>
#include <stddef.h>

/* Bump when any service's schema changes shape. */
#define TP_SCHEMA_VERSION 1

typedef struct tp_store tp_store;

/* data_dir NULL or "" = in memory. On failure returns NULL and writes why. */
tp_store *tp_store_open(const char *data_dir, char *why, size_t whylen);
void tp_store_close(tp_store *st);
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
/* Deletes every row of every table (the schema stays). */
int tp_store_wipe(tp_store *st);
/* Checkpoints the WAL (used at clean shutdown). */
void tp_store_checkpoint(tp_store *st);

#endif
