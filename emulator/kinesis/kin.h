/* kinesis/kin — what the Kinesis Data Streams action files share: the
 * stored stream and shard records, addressing a stream by StreamName or
 * StreamARN, 128-bit hash keys, sequence numbers and the settings.
 *
 * Stream status (changed only in stream.c, kin_stream_settle):
 *
 *   CreateStream --> CREATING --(create_delay_ms)--> ACTIVE
 *                                                    |  ^
 *   Split/Merge/UpdateShardCount/UpdateStreamMode ---+  |
 *   Start/StopStreamEncryption -> UPDATING --(update_delay_ms, the change
 *                                           is applied)--+
 *   DeleteStream --> DELETING --(delete_delay_ms)--> gone (records, shards,
 *                                                    tags, consumers)
 *
 * Delays come from the config ("kinesis": {"create_delay_ms": 0, ...}); with
 * 0 the transition happens before the call returns (a DescribeStream right
 * after CreateStream already sees ACTIVE).
 *
 * Shard lineage (shard.c): a shard is open (no EndingSequenceNumber) or
 * closed by a split or merge, which opens its children in the same
 * transaction. A closed shard stays readable until the retention period
 * has passed since it closed; then it disappears from DescribeStream and
 * ListShards, with its records.
 *
 * Sequence numbers are 56 decimal digits:
 *
 *   "49" | arrival ms (14 digits) | shard index (8) | stream counter (32)
 *
 * so within a shard they increase with every record, a later record's
 * number is larger than an earlier one's (also across a reshard: a child
 * shard's numbers exceed its parent's), and "the first record at or after
 * time T" is a string comparison. AWS's own numbers are opaque 56-digit
 * decimals starting with 49 as well; nothing may parse them but tidepool. */
#ifndef TP_KIN_H
#define TP_KIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "core/error.h"

typedef struct cJSON cJSON;

#define KIN_TARGET_PREFIX "Kinesis_20131202."
#define KIN_SEQ_LEN 56

__extension__ typedef unsigned __int128 kin_u128;

typedef struct kin_stream {
    int64_t id;
    char name[129];
    char arn[512];
    char status[16];         /* CREATING ACTIVE UPDATING DELETING */
    char mode[16];           /* PROVISIONED ON_DEMAND */
    int64_t retention_hours;
    int64_t created_ms;
    char encryption[8];      /* NONE KMS */
    char key_id[2048];
    char monitoring[512];    /* JSON array of ShardLevelMetrics */
    int64_t next_shard;      /* index of the next shard to create */
} kin_stream;

typedef struct kin_shard {
    int64_t index;
    char id[32];             /* shardId-000000000000 */
    char parent[32], adjacent[32];   /* "" when none */
    kin_u128 hash_lo, hash_hi;
    char start_seq[KIN_SEQ_LEN + 1];
    char end_seq[KIN_SEQ_LEN + 1];   /* "" while open */
    int64_t created_ms, closed_ms;   /* closed_ms 0 while open */
} kin_shard;

/* An integer setting from the config file's "kinesis" object. */
int64_t kin_setting(const tp_core *core, const char *name, int64_t dflt);

/* The stream a request names: StreamARN or StreamName (either; both must
 * agree). ResourceNotFoundException when it is not there. Expired shards
 * and records are trimmed on the way (retention). */
int kin_stream_from_request(tp_req *r, const cJSON *in, kin_stream *s, tp_error *err);
/* By ARN only (consumers, TagResource); 0 found, 1 missing, -1 error. */
int kin_stream_by_arn(tp_req *r, const char *arn, kin_stream *s, tp_error *err);
int kin_stream_by_id(tp_core *core, int64_t id, kin_stream *s);
/* ResourceInUseException unless the stream is ACTIVE. */
int kin_stream_require_active(tp_req *r, const kin_stream *s, tp_error *err);
/* The stream enters UPDATING; pending (a JSON object, owned by the caller)
 * is applied by kin_stream_settle when the update delay ends. */
int kin_stream_begin_update(tp_req *r, const kin_stream *s, const cJSON *pending, tp_error *err);
void kin_stream_arn(const tp_req *r, const char *name, char *out, size_t cap);
int64_t kin_open_shard_count(tp_core *core, int64_t stream_id);
int64_t kin_account_open_shards(tp_req *r);
int64_t kin_shard_limit(const tp_core *core);
/* Removes records and closed shards past the retention period. */
int kin_trim(tp_core *core, const kin_stream *s, int64_t now_ms);

/* Shards (shard.c). */
int kin_shards_create(tp_core *core, kin_stream *s, int count, int64_t now_ms);
/* Loads a visible shard by id ("shardId-000000000001", or a bare number as
 * AWS accepts); 0 found, 1 missing, -1 error. */
int kin_shard_find(tp_core *core, const kin_stream *s, const char *shard_id, kin_shard *out);
/* The open shard whose range holds the hash key; 0 found, 1 none. */
int kin_shard_for_hash(tp_core *core, const kin_stream *s, kin_u128 h, kin_shard *out);
cJSON *kin_shard_json(const kin_shard *sh);
/* Appends the shards of s after after_index (-1: from the start), up to
 * limit, to arr; *more set when there are more. */
int kin_shards_list(tp_core *core, const kin_stream *s, int64_t after_index, int64_t limit,
                    cJSON *arr, int *more);
/* The children of a closed shard, as GetRecords' ChildShards. */
cJSON *kin_child_shards(tp_core *core, const kin_stream *s, const kin_shard *sh);
/* Applies a pending reshard (split, merge, count) when the update ends. */
int kin_shards_apply(tp_core *core, kin_stream *s, const cJSON *pending, int64_t now_ms);

/* Hash keys and sequence numbers. */
int kin_u128_parse(const char *text, kin_u128 *out);   /* 0 ok; -1 not < 2^128 */
void kin_u128_format(kin_u128 v, char out[40]);
kin_u128 kin_hash_partition_key(const char *key);
void kin_seq_make(int64_t ms, int64_t shard_index, const char *counter_digits,
                  char out[KIN_SEQ_LEN + 1]);
/* Parses a sequence number tidepool made: its shard index and time. */
int kin_seq_parse(const char *seq, int64_t *ms, int64_t *shard_index);
/* Seconds since the epoch with milliseconds, as AWS's JSON timestamps. */
cJSON *kin_timestamp(int64_t ms);

/* Throughput (capacity.c): 0 admitted, or -1 with
 * ProvisionedThroughputExceededException in AWS's words; the charges
 * follow the work (record size = data + partition key). */
int kin_capacity_admit_put(tp_req *r, const kin_stream *s, const char *shard_id, tp_error *err);
void kin_capacity_charge_put(tp_req *r, const kin_stream *s, const char *shard_id, int64_t bytes);
int kin_capacity_admit_get(tp_req *r, const kin_stream *s, const char *shard_id, tp_error *err);
void kin_capacity_charge_get(tp_req *r, const kin_stream *s, const char *shard_id, int64_t bytes);

/* Consumers (consumer.c): deleted with the stream. */
int kin_consumers_drop(tp_core *core, int64_t stream_id);
int64_t kin_consumer_count(tp_core *core, int64_t stream_id);

/* Tags (tags.c). */
int kin_tags_check_add(tp_req *r, int64_t stream_id, const cJSON *tags, tp_error *err);
int kin_tags_put(tp_core *core, int64_t stream_id, const cJSON *tags);

/* Actions (one family per file). */
#define KIN_ACTION(Name, fn, flags) int fn(tp_req *r, cJSON *in, cJSON **out, tp_error *err);
#include "actions.def"
#undef KIN_ACTION

int kin_service_start(tp_core *core);

#endif
