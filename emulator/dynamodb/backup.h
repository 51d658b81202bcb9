/* dynamodb/backup — on-demand backups (backup.c) and point-in-time recovery
 * (backup_pitr.c), on tidepool's clock.
 *
 * A backup is a copy of the table's rows taken inside the CreateBackup
 * transaction (ddb_backup_items), plus what AWS calls the source table's
 * details and feature details (the schema, throughput, indexes, stream,
 * TTL and SSE settings at that moment, ddb_backups.source). A restore is a
 * CreateTable of a new table built from those details and the request's
 * overrides, the rows copied in and every index rebuilt from them — all in
 * the restore's one transaction.
 *
 * Backup status (BackupStatus):
 *
 *   CreateBackup --> CREATING --(now >= available_ms)--> AVAILABLE
 *   DeleteBackup (AVAILABLE) --> DELETED: the rows go; later calls get
 *        BackupNotFoundException
 *   SYSTEM backups (made when a table with PITR is deleted) expire at
 *        expiry_ms and are then not found.
 *
 * The CREATING -> AVAILABLE step is read, not scheduled: available_ms is
 * created_ms + the "backup_delay_ms" setting (default 0), and every reader
 * compares it with its clock reading (backup_status()). The CreateBackup
 * response itself says CREATING, as AWS's does.
 *
 * Point-in-time recovery keeps item history while it is on: every item
 * change of a table whose ddb_pitr row exists appends the new image (NULL
 * for a delete) to ddb_pitr_log, stamped with the write's clock reading
 * and a per-key sequence (ddb_pitr_note, called by ddb_item_write and
 * ddb_item_remove, the two places an item is stored or removed). Enabling
 * PITR first logs every current item at the enabling time, so the log
 * alone says what the table held at any moment T since: for each key the
 * newest entry with t_ms <= T, when it is not a delete. Disabling PITR
 * drops the history (as AWS's does); the retention window moves forward
 * with the clock and superseded versions older than it are compacted away. */
#ifndef TP_DDB_BACKUP_H
#define TP_DDB_BACKUP_H

#include <stdint.h>

#include "core/buf.h"
#include "ddb.h"

/* Appended to ddb_schema_sql (service.c). */
#define DDB_BACKUP_SCHEMA_SQL                                                                  \
    "CREATE TABLE IF NOT EXISTS ddb_backups("                                                  \
    "  id INTEGER PRIMARY KEY,"                                                                \
    "  account TEXT NOT NULL, region TEXT NOT NULL, table_name TEXT NOT NULL,"                 \
    "  arn TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,"                             \
    "  created_ms INTEGER NOT NULL, available_ms INTEGER NOT NULL,"                            \
    "  expiry_ms INTEGER NOT NULL DEFAULT 0,"                                                  \
    "  size_bytes INTEGER NOT NULL, item_count INTEGER NOT NULL,"                              \
    "  source TEXT NOT NULL,"                                                                  \
    "  UNIQUE(account, region, arn));"                                                         \
    "CREATE TABLE IF NOT EXISTS ddb_backup_items("                                             \
    "  backup_id INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,"                        \
    "  item TEXT NOT NULL, size INTEGER NOT NULL,"                                             \
    "  PRIMARY KEY(backup_id, hk, rk)) WITHOUT ROWID;"                                         \
    "CREATE TABLE IF NOT EXISTS ddb_pitr("                                                     \
    "  table_id INTEGER PRIMARY KEY, enabled_ms INTEGER NOT NULL,"                             \
    "  period_days INTEGER NOT NULL, earliest_ms INTEGER NOT NULL);"                           \
    "CREATE TABLE IF NOT EXISTS ddb_pitr_log("                                                 \
    "  table_id INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL, seq INTEGER NOT NULL,"   \
    "  t_ms INTEGER NOT NULL, item TEXT, size INTEGER NOT NULL,"                               \
    "  PRIMARY KEY(table_id, hk, rk, seq)) WITHOUT ROWID;"

/* Records one item change for point-in-time recovery when the table has it
 * on (item NULL: the key was deleted). A no-op otherwise. 0 ok, -1 err. */
int ddb_pitr_note(tp_req *r, int64_t table_id, const tp_buf *hk, const tp_buf *rk,
                  const cJSON *item, int64_t size, tp_error *err);

/* DeleteTable, before the items go: a table with PITR on leaves a SYSTEM
 * backup of its rows (kept 35 days, as AWS keeps it) and its history goes. */
int ddb_backup_table_deleting(tp_req *r, const ddb_table *t, tp_error *err);

/* --- shared by backup.c and backup_pitr.c -------------------------------- */

/* What a backup keeps of its table besides the rows: {"AttributeDefinitions",
 * "SourceTableDetails", "SourceTableFeatureDetails"} (new tree). */
cJSON *ddb_backup_source_of(tp_req *r, const ddb_table *t);

/* Restores into a new table named by in's TargetTableName, from source (as
 * ddb_backup_source_of made it) and in's overrides; copy_rows fills the new
 * table's ddb_items (table_id given) in the same transaction. summary is
 * the RestoreSummary (taken over). *out is the restore's answer. */
typedef int (*ddb_restore_rows_fn)(tp_req *r, void *arg, int64_t new_table_id);
int ddb_restore_table(tp_req *r, const cJSON *in, const cJSON *source, ddb_restore_rows_fn copy_rows,
                      void *arg, cJSON *summary, cJSON **out, tp_error *err);

/* backup_pitr.c: 1 when the table has PITR on, 0 off, -1 storage error;
 * ddb_pitr_forget turns it off and drops the history (0 ok, -1 err). */
int ddb_pitr_enabled(tp_req *r, int64_t table_id);
int ddb_pitr_forget(tp_req *r, int64_t table_id);

/* Epoch seconds (a timestamp member) as ms, rounded; -1 when absent. */
int64_t ddb_backup_time_ms(const cJSON *in, const char *name);

#endif
