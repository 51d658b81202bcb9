/* dynamodb/streams — DynamoDB Streams storage and the record writer
 * (stream_writer.c).
 *
 * The writer is part of DynamoDB's write path: every item change calls
 * streams_emit() inside the write's own SQLite transaction, so a
 * rolled-back write never leaves a record. The Streams API service
 * (streams/api.c) sits above and reads the same tables, so dependencies
 * point one way: streams/ -> dynamodb/.
 *
 * Stream lifecycle (one row of streams_streams):
 *
 *   CreateTable/UpdateTable with a stream --> ENABLED     (streams_table_sync)
 *   UpdateTable StreamEnabled=false, DeleteTable --> DISABLED
 *        (every open shard is closed; records stay readable)
 *   DISABLED and disabled_ms + retention_ms passed --> row, shards and
 *        records deleted                                   (streams_trim)
 *
 * Shard lineage (one row of streams_shards), per hash slot 0..shard_count-1:
 *
 *   open (closed_ms = 0) --(created_ms + shard_rollover_ms reached,
 *        streams_roll)--> closed; a child shard opens for the same slot with
 *        parent_shard_id = the closed shard and created_ms = the parent's
 *        closing time (so lineage does not depend on when it is noticed).
 *   closed and closed_ms + retention_ms passed and no records left
 *        --> deleted                                       (streams_trim)
 *
 * Sequence numbers: one engine-wide counter (streams_state 'seq'), so they
 * increase within a shard and across a stream. The stored INTEGER is the
 * counter; AWS shows it as a decimal string of 24 digits
 * (streams_seq_format / streams_seq_parse convert).
 *
 * Config ("streams" object of the --config file), all in tidepool time:
 *   "shards_per_table": 1, "shard_rollover_ms": 14400000 (4 h),
 *   "retention_ms": 86400000 (24 h), "trim_interval_ms": 60000,
 *   "visibility_delay_ms": 0 (GetRecords returns a record that long after
 *   its write: the stream's own propagation delay). */
#ifndef TP_DDB_STREAMS_H
#define TP_DDB_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "core/error.h"
#include "dynamodb/ddb.h"

/* Storage schema (SQLite). The Streams API's tp_service (api.c) carries it
 * as its .schema_sql and streams_start as its .start, so the engine creates
 * the tables once and arms the roll + trim timer at start and after a reset.
 *
 * streams_streams — one row per stream (a table has at most one ENABLED):
 *   id            INTEGER PK; creation order (ListStreams pages in id order)
 *   account       12-digit account of the table
 *   region        region of the table
 *   table_name    TableName (ListStreams' filter, DescribeStream's TableName)
 *   table_id      ddb_tables.id while the table lives (tables may be
 *                 recreated under the same name: a new id)
 *   arn           StreamArn: arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL
 *                 (UNIQUE: streams_table_sync moves the label on a clash)
 *   label         StreamLabel, "2024-01-01T00:00:00.000"
 *   view_type     KEYS_ONLY | NEW_IMAGE | OLD_IMAGE | NEW_AND_OLD_IMAGES
 *   key_schema    the table's KeySchema as JSON text (DescribeStream)
 *   status        ENABLED | DISABLED (DescribeStream's StreamStatus)
 *   shard_count   hash slots, fixed at creation ("shards_per_table")
 *   created_ms    CreationRequestDateTime (epoch ms)
 *   disabled_ms   when it was disabled (0 while ENABLED)
 *
 * streams_shards — one row per shard:
 *   id               INTEGER PK (internal; records point at it)
 *   stream_id        streams_streams.id
 *   shard_id         "shardId-00000001700000000000-1a2b3c4d": 20-digit
 *                    creation epoch ms, '-', 8 hex digits; unique in a stream
 *   parent_shard_id  ParentShardId, '' for a first-generation shard
 *   slot             hash slot 0..shard_count-1 (partition key hash)
 *   created_ms       when it opened
 *   closed_ms        when it closed; 0 while open
 *   start_seq        StartingSequenceNumber (counter value; the first record
 *                    of the shard has seq >= start_seq)
 *   end_seq          EndingSequenceNumber once closed: the last record's seq,
 *                    or start_seq when the shard got none; NULL while open
 *   trimmed_seq      the highest seq streams_trim removed from the shard (0:
 *                    none); positions at or below it are TrimmedDataAccess
 *
 * streams_records — one row per stream record:
 *   seq         INTEGER PK: the sequence number counter
 *   shard       streams_shards.id
 *   stream_id   streams_streams.id
 *   created_ms  ApproximateCreationDateTime in ms (trimming uses it)
 *   event_name  INSERT | MODIFY | REMOVE
 *   record      the record JSON exactly as GetRecords returns it (no
 *               eventSourceARN: Lambda's event adds that)
 *   size        SizeBytes of the record
 *   Read a shard in order: WHERE shard = ? AND seq >= ? ORDER BY seq.
 *
 * streams_state — engine-wide counters: ('seq', last sequence number used). */
extern const char streams_schema_sql[];

#define STREAMS_DEFAULT_SHARDS 1
#define STREAMS_DEFAULT_ROLLOVER_MS (4LL * 3600 * 1000)
#define STREAMS_DEFAULT_RETENTION_MS (24LL * 3600 * 1000)
#define STREAMS_DEFAULT_TRIM_INTERVAL_MS (60LL * 1000)

/* An integer setting from the config file's "streams" object. */
int64_t streams_setting(const tp_core *core, const char *name, int64_t dflt);

/* 24-digit decimal text of a sequence counter ("100000000000000000000042"). */
void streams_seq_format(int64_t seq, char out[32]);
/* Parses what streams_seq_format wrote (any decimal string of <= 40 digits
 * that fits); 0 ok, -1 when it is not a sequence number of ours. */
int streams_seq_parse(const char *text, int64_t *seq);

/* Writes the stream record for one item change of table t, in the current
 * transaction: INSERT (old NULL), MODIFY, REMOVE (new NULL); nothing when
 * the table has no enabled stream or nothing changed (old equals new, or
 * both NULL). by_ttl marks a TTL deletion (userIdentity). 0 ok, -1 err. */
int streams_emit(tp_req *r, const ddb_table *t, const cJSON *old_item, const cJSON *new_item,
                 int by_ttl, tp_error *err);

/* Brings the table's streams in line with its stored description, after
 * CreateTable / UpdateTable changed it: an enabled StreamSpecification whose
 * LatestStreamArn is not an ENABLED stream of this table creates that
 * stream (disabling any other); no enabled StreamSpecification disables the
 * table's stream. desc NULL (DeleteTable) disables. May rewrite desc's
 * LatestStreamLabel/LatestStreamArn by a millisecond to keep ARNs unique
 * (the virtual clock can stand still between a delete and a re-create). */
int streams_table_sync(tp_req *r, int64_t table_id, const char *table_name, cJSON *desc,
                       tp_error *err);

/* Closes shards whose rollover time has come (up to now_ms) and opens their
 * children, for one stream (stream_id > 0) or all streams (0). The API calls
 * it before DescribeStream / GetShardIterator / GetRecords. 0 ok, -1 err. */
int streams_roll(tp_core *core, int64_t stream_id, int64_t now_ms);

/* Deletes records older than retention, closed shards past retention with no
 * records, and disabled streams past retention. 0 ok, -1 err. */
int streams_trim(tp_core *core, int64_t now_ms);

/* Arms the periodic roll+trim event (called at service start). */
int streams_start(tp_core *core);

/* The control API's view (GET /_tidepool/streams): every stream with its
 * shards (parent, open/closed, sequence range, record counts by event).
 * New tree, or NULL on a storage error. */
cJSON *streams_debug_list(tp_core *core, int64_t now_ms);

#endif
