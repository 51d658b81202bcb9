/* dynamodb/service — DynamoDB's action table, storage schema and start-up
 * hook, handed to the engine as one tp_service. */
#include <stddef.h>

#include "core/dispatch.h"
#include "core/shape.h"
#include "backup.h"
#include "ddb.h"
#include "index.h"
#include "shapes.gen.h"

const char ddb_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS ddb_tables("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  hash_name TEXT NOT NULL, hash_type TEXT NOT NULL,"
    "  range_name TEXT NOT NULL DEFAULT '', range_type TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL,"
    "  status_due_ms INTEGER NOT NULL DEFAULT 0,"   /* when a transitional status ends */
    "  pending TEXT NOT NULL DEFAULT '',"           /* what settles then (table.c), JSON */
    "  item_count INTEGER NOT NULL DEFAULT 0,"
    "  size_bytes INTEGER NOT NULL DEFAULT 0,"
    "  ttl_attr TEXT NOT NULL DEFAULT '', ttl_status TEXT NOT NULL DEFAULT 'DISABLED',"
    "  ttl_changed_ms INTEGER NOT NULL DEFAULT 0,"  /* last TTL change: AWS's cooldown (ttl.c) */
    "  desc TEXT NOT NULL,"
    "  UNIQUE(account, region, name));"
    "CREATE TABLE IF NOT EXISTS ddb_items("
    "  table_id INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,"
    "  item TEXT NOT NULL, size INTEGER NOT NULL,"
    "  PRIMARY KEY(table_id, hk, rk)) WITHOUT ROWID;"
    /* Secondary index entries (index.c): keyed in the order a Query on the
     * index reads them — index hash key, index range key, table key. */
    "CREATE TABLE IF NOT EXISTS ddb_index_items("
    "  table_id INTEGER NOT NULL, index_name TEXT NOT NULL,"
    "  ihk BLOB NOT NULL, irk BLOB NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,"
    "  item TEXT NOT NULL, size INTEGER NOT NULL,"
    "  PRIMARY KEY(table_id, index_name, ihk, irk, hk, rk)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS ddb_tags("
    "  table_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY(table_id, key)) WITHOUT ROWID;"
    /* TransactWriteItems' ClientRequestTokens (transact.c): the request's
     * hash and first response, until the 10-minute window ends. */
    "CREATE TABLE IF NOT EXISTS ddb_tx_tokens("
    "  account TEXT NOT NULL, region TEXT NOT NULL, token TEXT NOT NULL,"
    "  hash TEXT NOT NULL, response TEXT NOT NULL, expires_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(account, region, token)) WITHOUT ROWID;"
    DDB_BACKUP_SCHEMA_SQL DDB_COLLECTION_SCHEMA_SQL;

static const tp_action ddb_actions[] = {
#define DDB_ACTION(Name, fn, fl)                                                               \
    {.target = DDB_TARGET_PREFIX #Name, .service = "dynamodb", .name = #Name,                  \
     .input = &tp_dynamodb_input_##Name, .run = fn, .flags = (fl)},
#include "actions.def"
#undef DDB_ACTION
};

const tp_service ddb_service = {
    .name = "dynamodb",
    .schema_sql = ddb_schema_sql,
    .actions = ddb_actions,
    .nactions = sizeof ddb_actions / sizeof ddb_actions[0],
    .start = ddb_service_start,
};
