/* kinesis/service — Kinesis Data Streams' action table, storage schema and
 * start-up hook, handed to the engine as one tp_service. */
#include <stddef.h>

#include "core/dispatch.h"
#include "core/shape.h"
#include "kin.h"
#include "shapes.gen.h"

static const char kin_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS kin_streams("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, arn TEXT NOT NULL,"
    "  status TEXT NOT NULL, mode TEXT NOT NULL,"
    "  retention_hours INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
    "  encryption TEXT NOT NULL DEFAULT 'NONE', key_id TEXT NOT NULL DEFAULT '',"
    "  monitoring TEXT NOT NULL DEFAULT '[]',"
    "  next_shard INTEGER NOT NULL DEFAULT 0,"
    "  counter INTEGER NOT NULL DEFAULT 0,"        /* the last record's counter */
    "  last_ms INTEGER NOT NULL DEFAULT 0,"        /* the last record's arrival */
    "  status_due_ms INTEGER NOT NULL DEFAULT 0,"  /* when a transitional status ends */
    "  pending TEXT NOT NULL DEFAULT '',"          /* what settles then, JSON */
    "  scale_log TEXT NOT NULL DEFAULT '[]',"      /* UpdateShardCount times (24 h limit) */
    "  UNIQUE(account, region, name));"
    "CREATE TABLE IF NOT EXISTS kin_shards("
    "  stream_id INTEGER NOT NULL, idx INTEGER NOT NULL,"
    "  parent TEXT NOT NULL DEFAULT '', adjacent TEXT NOT NULL DEFAULT '',"
    "  hash_lo TEXT NOT NULL, hash_hi TEXT NOT NULL,"
    "  start_seq TEXT NOT NULL, end_seq TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL, closed_ms INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY(stream_id, idx)) WITHOUT ROWID;"
    /* Sequence numbers are fixed-width decimals: text order is their order. */
    "CREATE TABLE IF NOT EXISTS kin_records("
    "  stream_id INTEGER NOT NULL, idx INTEGER NOT NULL, seq TEXT NOT NULL,"
    "  pkey TEXT NOT NULL, data BLOB NOT NULL, arrival_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(stream_id, idx, seq)) WITHOUT ROWID;"
    /* Trimming (kin_trim) runs on every call that names a stream: by
     * arrival across all shards in one range, not one seek per shard. A
     * sequence number starts with its arrival ms, so seq order is arrival
     * order within a stream. */
    "CREATE INDEX IF NOT EXISTS kin_records_by_seq ON kin_records(stream_id, seq);"
    "CREATE INDEX IF NOT EXISTS kin_shards_closed ON kin_shards(stream_id, closed_ms)"
    "  WHERE closed_ms>0;"
    /* PutRecord's shard lookup (kin_shard_for_hash): open shards by the
     * end of their hash key range, in numeric order */
    "CREATE INDEX IF NOT EXISTS kin_shards_open ON kin_shards(stream_id, printf('%40s', hash_hi))"
    "  WHERE closed_ms=0;"
    "CREATE TABLE IF NOT EXISTS kin_tags("
    "  stream_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY(stream_id, key)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS kin_consumers("
    "  stream_id INTEGER NOT NULL, name TEXT NOT NULL, arn TEXT NOT NULL,"
    "  status TEXT NOT NULL, created_ms INTEGER NOT NULL,"
    "  status_due_ms INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY(stream_id, name)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS kin_consumer_tags("
    "  arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY(arn, key)) WITHOUT ROWID;";

static const tp_action kin_actions[] = {
#define KIN_ACTION(Name, fn, fl)                                                               \
    {.target = KIN_TARGET_PREFIX #Name, .service = "kinesis", .name = #Name,                   \
     .input = &tp_kinesis_input_##Name, .run = fn, .flags = (fl)},
#include "actions.def"
#undef KIN_ACTION
};

const tp_service kin_service = {
    .name = "kinesis",
    .schema_sql = kin_schema_sql,
    .actions = kin_actions,
    .nactions = sizeof kin_actions / sizeof kin_actions[0],
    .start = kin_service_start,
};
