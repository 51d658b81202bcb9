/* dynamodb/index — secondary index storage (GSIs and LSIs) and its upkeep.
 *
 * Every index entry is a row of ddb_index_items
 *
 *   (table_id, index_name, ihk, irk, hk, rk) -> projected item, size
 *
 * ordered by index hash key, index range key, then the table's key: the
 * order a Query on the index reads (DynamoDB breaks ties between equal index
 * keys by the table key). ihk/irk use keycodec's order-preserving encoding;
 * an index key made of several attributes (multi-attribute GSI keys) stores
 * each part escaped (0x00 -> 00 FF) and terminated (00 01), so that the
 * concatenation still sorts part by part. ddb_index_key_encode is that
 * encoding: a later Query must build its bounds with it.
 *
 * Indexes are sparse: an item lacking any key attribute of an index (or
 * holding it with another type) has no entry in it. The entry holds the
 * projected item: table key and index key attributes, plus NonKeyAttributes
 * for INCLUDE, plus everything for ALL. IndexSizeBytes is the sum of the
 * projected items' sizes (ddb_item_size), ItemCount the number of entries.
 *
 * GSIs being CREATING or DELETING are not maintained by writes: a CREATING
 * GSI is filled by ddb_index_backfill when it turns ACTIVE (table.c's
 * settle), a DELETING one loses its rows by ddb_index_drop at the same
 * point. All of it runs in the caller's transaction. */
#ifndef TP_DDB_INDEX_H
#define TP_DDB_INDEX_H

#include <stdint.h>

#include "core/buf.h"

/* Item collection sizes (tables with local secondary indexes), kept as
 * running sums so a write reads one row instead of summing its whole
 * collection: ddb_lsi names each LSI of each table (filled when the table
 * row is inserted), and triggers on ddb_items and ddb_index_items add and
 * subtract item sizes of those tables in ddb_collections, in the writing
 * statement's transaction (a rollback undoes them with the write). INSERT
 * OR REPLACE does not fire delete triggers (recursive_triggers is off), so
 * the insert triggers run BEFORE the row lands and subtract the row it
 * replaces. The last two statements bring a data directory written before
 * these tables existed up to date (no-ops otherwise). */
#define DDB_COLLECTION_SCHEMA_SQL                                                              \
    "CREATE TABLE IF NOT EXISTS ddb_lsi("                                                      \
    "  table_id INTEGER NOT NULL, index_name TEXT NOT NULL,"                                   \
    "  PRIMARY KEY(table_id, index_name)) WITHOUT ROWID;"                                      \
    "CREATE TABLE IF NOT EXISTS ddb_collections("                                              \
    "  table_id INTEGER NOT NULL, hk BLOB NOT NULL, bytes INTEGER NOT NULL,"                   \
    "  PRIMARY KEY(table_id, hk)) WITHOUT ROWID;"                                              \
    "CREATE TRIGGER IF NOT EXISTS ddb_lsi_add AFTER INSERT ON ddb_tables BEGIN"                \
    "  INSERT OR IGNORE INTO ddb_lsi(table_id, index_name)"                                    \
    "    SELECT NEW.id, json_extract(value, '$.IndexName')"                                    \
    "    FROM json_each(NEW.desc, '$.LocalSecondaryIndexes'); END;"                            \
    "CREATE TRIGGER IF NOT EXISTS ddb_lsi_drop AFTER DELETE ON ddb_tables BEGIN"               \
    "  DELETE FROM ddb_lsi WHERE table_id=OLD.id;"                                             \
    "  DELETE FROM ddb_collections WHERE table_id=OLD.id; END;"                                \
    "CREATE TRIGGER IF NOT EXISTS ddb_coll_item_put BEFORE INSERT ON ddb_items"                \
    "  WHEN EXISTS(SELECT 1 FROM ddb_lsi WHERE table_id=NEW.table_id) BEGIN"                   \
    "  INSERT INTO ddb_collections(table_id, hk, bytes) VALUES(NEW.table_id, NEW.hk,"          \
    "    NEW.size - coalesce((SELECT size FROM ddb_items WHERE table_id=NEW.table_id"          \
    "      AND hk=NEW.hk AND rk=NEW.rk), 0))"                                                  \
    "  ON CONFLICT(table_id, hk) DO UPDATE SET bytes=bytes+excluded.bytes; END;"               \
    "CREATE TRIGGER IF NOT EXISTS ddb_coll_item_del AFTER DELETE ON ddb_items"                 \
    "  WHEN EXISTS(SELECT 1 FROM ddb_lsi WHERE table_id=OLD.table_id) BEGIN"                   \
    "  UPDATE ddb_collections SET bytes=bytes-OLD.size WHERE table_id=OLD.table_id"            \
    "    AND hk=OLD.hk; END;"                                                                  \
    "CREATE TRIGGER IF NOT EXISTS ddb_coll_item_upd AFTER UPDATE OF size ON ddb_items"         \
    "  WHEN EXISTS(SELECT 1 FROM ddb_lsi WHERE table_id=OLD.table_id) BEGIN"                   \
    "  UPDATE ddb_collections SET bytes=bytes-OLD.size+NEW.size WHERE table_id=OLD.table_id"   \
    "    AND hk=OLD.hk; END;"                                                                  \
    "CREATE TRIGGER IF NOT EXISTS ddb_coll_entry_put BEFORE INSERT ON ddb_index_items"         \
    "  WHEN EXISTS(SELECT 1 FROM ddb_lsi WHERE table_id=NEW.table_id"                          \
    "    AND index_name=NEW.index_name) BEGIN"                                                 \
    "  INSERT INTO ddb_collections(table_id, hk, bytes) VALUES(NEW.table_id, NEW.hk,"          \
    "    NEW.size - coalesce((SELECT size FROM ddb_index_items WHERE table_id=NEW.table_id"    \
    "      AND index_name=NEW.index_name AND ihk=NEW.ihk AND irk=NEW.irk AND hk=NEW.hk"        \
    "      AND rk=NEW.rk), 0))"                                                                \
    "  ON CONFLICT(table_id, hk) DO UPDATE SET bytes=bytes+excluded.bytes; END;"               \
    "CREATE TRIGGER IF NOT EXISTS ddb_coll_entry_del AFTER DELETE ON ddb_index_items"          \
    "  WHEN EXISTS(SELECT 1 FROM ddb_lsi WHERE table_id=OLD.table_id"                          \
    "    AND index_name=OLD.index_name) BEGIN"                                                 \
    "  UPDATE ddb_collections SET bytes=bytes-OLD.size WHERE table_id=OLD.table_id"            \
    "    AND hk=OLD.hk; END;"                                                                  \
    "CREATE TEMP TABLE IF NOT EXISTS ddb_lsi_new AS SELECT t.id AS table_id,"                  \
    "  json_extract(l.value, '$.IndexName') AS index_name"                                     \
    "  FROM ddb_tables t, json_each(t.desc, '$.LocalSecondaryIndexes') l"                      \
    "  WHERE NOT EXISTS(SELECT 1 FROM ddb_lsi WHERE table_id=t.id);"                           \
    "INSERT OR REPLACE INTO ddb_collections(table_id, hk, bytes)"                              \
    "  SELECT table_id, hk, sum(size) FROM ("                                                  \
    "    SELECT i.table_id, i.hk, i.size FROM ddb_items i"                                     \
    "      WHERE i.table_id IN (SELECT table_id FROM ddb_lsi_new)"                             \
    "    UNION ALL SELECT x.table_id, x.hk, x.size FROM ddb_index_items x"                     \
    "      JOIN ddb_lsi_new n ON n.table_id=x.table_id AND n.index_name=x.index_name)"         \
    "  GROUP BY table_id, hk;"                                                                 \
    "INSERT OR IGNORE INTO ddb_lsi SELECT table_id, index_name FROM ddb_lsi_new;"              \
    "DROP TABLE temp.ddb_lsi_new;"
#include "ddb.h"

#define DDB_MAX_INDEXES 25   /* 5 LSIs + 20 GSIs */

/* What one item change did to one index. */
typedef struct ddb_index_change {
    char name[256];
    int global;              /* 1 GSI, 0 LSI */
    int puts, deletes;       /* entry writes: a key move is 1 delete + 1 put */
    double units;            /* write capacity units, AWS's rules (below) */
} ddb_index_change;

/* The indexes one or more item changes wrote to (only those written). */
typedef struct ddb_index_report {
    int n;
    ddb_index_change idx[DDB_MAX_INDEXES];
} ddb_index_report;

/* Maintains every GSI and LSI of t for one item change, in the caller's
 * transaction. old_item is the stored item before the write (NULL when
 * there was none), new_item the stored item after it (NULL for a delete);
 * both must have t's key (the same key when both are given). Call it right
 * after ddb_item_write / ddb_item_remove, from every write path (PutItem,
 * DeleteItem, UpdateItem, BatchWriteItem, transactions, the TTL sweep).
 *
 * Capacity (AWS's documented rules, per index): entry added = 1 write of
 * the new projected item; removed = 1 write of the old one; index key
 * changed = delete + put (both charged); same index key but the projected
 * item changed = 1 write of the larger of the two; projected item unchanged
 * or item in the index neither before nor after = nothing. Each write is 1
 * WCU per started KB of the projected entry, at least 1.
 *
 * An empty string or binary for an index key attribute fails with AWS's
 * ValidationException (the caller's transaction then rolls back).
 * ddb_index_apply_report also adds what it did to *rep (merging by index
 * name, so a batch can pass one report for all its items); rep may be
 * NULL. ddb_index_apply is ddb_index_apply_report without a report. */
int ddb_index_apply_report(tp_req *r, const ddb_table *t, const cJSON *old_item,
                           const cJSON *new_item, ddb_index_report *rep, tp_error *err);
int ddb_index_apply(tp_req *r, const ddb_table *t, const cJSON *old_item, const cJSON *new_item,
                    tp_error *err);

/* The up-front part of ddb_index_apply's checks: AWS's ValidationException
 * for an empty string / binary in any index's key attribute of item (every
 * index, whatever its status). A write path may call it before evaluating
 * its condition, so the error comes first, as on AWS. */
int ddb_index_check_item(const ddb_table *t, const cJSON *item, tp_error *err);

/* ConsumedCapacity for a write, indexes included: ReturnConsumedCapacity
 * TOTAL gives the sum of table and index units; INDEXES adds Table,
 * LocalSecondaryIndexes and GlobalSecondaryIndexes maps (only indexes that
 * were written appear). NONE/absent adds nothing. rep may be NULL. */
void ddb_index_add_consumed(cJSON *out, const cJSON *in, const char *table, double table_units,
                            const ddb_index_report *rep);

/* Encodes one side (the HASH or the RANGE part) of an index key, as stored
 * in ihk / irk. names/types hold n attribute names and their 'S'/'N'/'B'
 * types; values is the item (or key map) to take them from. Returns 1 when
 * an attribute is missing or of another type (the item is not indexed),
 * 0 on success, -1 with err set on a bad value. */
int ddb_index_key_encode(const char *const *names, const char *types, int n, const cJSON *values,
                         tp_buf *out, tp_error *err);

/* Entries and bytes of one index (0, 0 for an empty or unknown one). */
int ddb_index_stats(tp_core *core, int64_t table_id, const char *index, int64_t *count,
                    int64_t *bytes);
/* Writes ItemCount and IndexSizeBytes of every index in a TableDescription
 * (the one ddb_table_describe built) from the stored entries. */
void ddb_index_fill_stats(tp_core *core, int64_t table_id, cJSON *table_description);
/* Removes the entries of one index, or of every index when index is NULL. */
int ddb_index_drop(tp_core *core, int64_t table_id, const char *index);
/* Rebuilds one index of a table from the table's items. desc is the
 * table's stored description, which must already hold the index (in
 * GlobalSecondaryIndexes or LocalSecondaryIndexes) and its attribute
 * definitions. */
int ddb_index_backfill(tp_core *core, int64_t table_id, const cJSON *desc, const char *index);

/* Tables with local secondary indexes: after a write to the partition hk,
 * fails with ItemCollectionSizeLimitExceededException once the item
 * collection (the partition's items plus their LSI entries) passes the
 * limit (setting "item_collection_limit_bytes", AWS's 10 GB by default),
 * and, with want_size (ReturnItemCollectionMetrics SIZE), sets
 * *metrics to {ItemCollectionKey, SizeEstimateRangeGB} (caller owns it).
 * key_source holds the partition key attribute (the item or the Key).
 * Tables without LSIs: no-op, *metrics NULL. */
int ddb_item_collection_check(tp_req *r, const ddb_table *t, const tp_buf *hk,
                              const cJSON *key_source, int want_size, cJSON **metrics,
                              tp_error *err);
/* 1 when the request asked for ReturnItemCollectionMetrics SIZE. */
int ddb_wants_collection_metrics(const cJSON *in);

#endif
