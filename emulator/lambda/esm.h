/* lambda/esm — what esm.c (mappings: storage, API, state machine) and
 * poller.c (the stream runtime) share. Nothing outside those two files
 * includes it; the rest of tidepool sees esm_start / esm_busy (lambda.h).
 *
 * Tables (esm_schema, esm.c):
 *   esm_mappings — one row per mapping: its settings (conf, the
 *     EventSourceMappingConfiguration members a user set, as JSON text),
 *     State, the state a transitional state settles into, and the token of
 *     the one poll event that is live for it.
 *   esm_lanes — one row per (mapping, shard, lane): the checkpoint (the last
 *     sequence number done with), the batch being delivered (records,
 *     bisect sizes, attempts), whether an invocation is in flight and when
 *     a retry is due. A --data-dir restart resumes from these rows. */
#ifndef TP_LAMBDA_ESM_H
#define TP_LAMBDA_ESM_H

#include <stdint.h>

#include "lambda.h"

typedef struct esm_source esm_source;

typedef struct esm_mapping {
    int64_t id;
    char uuid[37];
    char account[13];
    char region[32];
    char function_arn[256];
    char source_arn[1100];
    char state[16];
    char target[16];        /* where a transitional state settles */
    int64_t state_due_ms;   /* when it does */
    int64_t token;          /* the live poll event's token */
    int positioned;         /* StartingPosition applied (first enable) */
    cJSON *conf;            /* owned */
    /* from conf */
    char starting_position[16];
    int64_t batch_size, window_s, parallel, max_age_s, max_retries;
    int64_t max_concurrency;  /* ScalingConfig.MaximumConcurrency, 0 = not set */
    int bisect, report_failures;
    const char *on_failure;   /* borrowed from conf, or NULL */
    const cJSON *filter;      /* FilterCriteria, borrowed from conf, or NULL */
    const esm_source *src;    /* what the source ARN names (esm_source_for) */
    char role[256];           /* the function's role (poller.c fills it before reading) */
} esm_mapping;

/* --- event sources ----------------------------------------------------------
 *
 * A source is what a mapping reads. Every source answers the same five
 * questions; where the answers are alike the code is shared:
 *
 *                 stream-like (DynamoDB, Kinesis)    queue (SQS)
 *   units of work shards (list_shards), lineage       the queue
 *   read a batch  iterator + read from a checkpoint   ReceiveMessage
 *   acknowledge   advance the lane's checkpoint       DeleteMessageBatch
 *   hand back     retry the held batch later          leave it: visibility
 *     a failure   (backoff, bisect, discard)          expires, SQS redelivers
 *   the event     event_record                        queue.c's record
 *
 * A stream-like source fills an esm_stream_source and poller.c's lanes do
 * the rest (ParallelizationFactor lanes, lineage, checkpoints, bisect,
 * retries, discards with the OnFailure record, in order per shard). A
 * queue has its own runtime (queue.c: pollers that scale with the backlog)
 * behind the same poll event. Sources read through core/dispatch
 * (lambda_call_internal), never by including the service. */

typedef struct esm_shard {
    char id[80], parent[80];
    char adjacent[80];      /* a merge's second parent, or "" */
    int closed;             /* has an ending sequence number */
    char end_seq[64];
} esm_shard;

typedef struct esm_stream_source {
    /* the failure record's member naming the batch: "DDBStreamBatchInfo" */
    const char *batch_info;
    /* its arrival times have milliseconds (Kinesis) or whole seconds
     * (DynamoDB's ApproximateCreationDateTime): how the failure record
     * writes approximateArrivalOf{First,Last}Record */
    int arrival_millis;
    /* the StartingPosition values it accepts (NULL-terminated); poller.c
     * positions TRIM_HORIZON (the oldest record) and LATEST (the newest
     * when the mapping first polls) */
    const char *const *starting_positions;
    /* the config's "lambda" setting for the shard polling interval, and
     * its default (DynamoDB: "poll_interval_ms", 250) */
    const char *poll_setting;
    int64_t poll_default_ms;
    /* the config's "lambda" setting for the least time between two reads
     * of one shard by a mapping (its lanes share each read), and its
     * default (Kinesis: 200, the shard's 5 reads/s; 0: no gap) */
    const char *read_gap_setting;
    int64_t read_gap_default_ms;
    /* Every shard of the stream, parents before children (free() it).
     * NULL with err when the stream cannot be read. */
    esm_shard *(*list_shards)(tp_core *core, const esm_mapping *m, size_t *n, tp_error *err);
    /* An iterator just past sequence number `after` ("" = the oldest
     * record); a checkpoint trimmed away reads from the oldest record
     * left. Owned text, NULL when the shard is gone or on error. */
    char *(*iterator)(tp_core *core, const esm_mapping *m, const char *shard, const char *after);
    /* One page of at most limit records from iterator: *records (owned
     * array, the source's own records), *next (owned; NULL when a closed
     * shard is read to its end). 0, or -1 with err. */
    int (*read)(tp_core *core, const esm_mapping *m, const char *iterator, int64_t limit,
                cJSON **records, char **next, tp_error *err);
    /* Turns one of read's records (of shard) into Lambda's event record
     * (in place or anew; takes rec, returns the record to keep). */
    cJSON *(*event_record)(const esm_mapping *m, const char *shard, cJSON *rec);
    /* Of an event record: its sequence number, when it arrived (ms), and
     * the text whose hash picks its lane (owned, NULL = lane 0). */
    const char *(*seq)(const cJSON *rec);
    int64_t (*arrival_ms)(const cJSON *rec);
    char *(*partition_key)(const cJSON *rec);
    /* What FilterCriteria see of an event record (owned), or NULL: the
     * record itself. */
    cJSON *(*filter_view)(const cJSON *rec);
} esm_stream_source;

struct esm_source {
    const char *kind;       /* "dynamodb", "kinesis", "sqs" */
    int (*owns)(const char *arn);
    /* CreateEventSourceMapping's check that the source is there: 0, or
     * -1 with Lambda's answer in err */
    int (*exists)(tp_req *r, const char *arn, tp_error *err);
    /* Create/UpdateEventSourceMapping's check that the source suits the
     * function (an SQS queue's visibility timeout against the function's
     * timeout): 0, or -1 with Lambda's answer in err. May be NULL. */
    int (*suits)(tp_req *r, const char *arn, const char *function_arn, tp_error *err);
    const esm_stream_source *stream;   /* stream-like: poller.c's lanes */
    /* a source with its own runtime (stream == NULL) */
    int64_t (*poll)(tp_core *core, esm_mapping *m);   /* when it next wants a turn */
    int (*forget)(tp_core *core, int64_t mapping_id);
    int (*restart)(tp_core *core);
    int (*busy)(tp_core *core);
};

/* The source an ARN names, or NULL. */
const esm_source *esm_source_for(const char *arn);
extern const esm_source esm_dynamodb_source;   /* source_dynamodb.c */
extern const esm_source esm_sqs_source;        /* source_sqs.c */
extern const esm_source esm_kinesis_source;    /* source_kinesis.c */

/* esm.c */
/* 1 found (esm_mapping_clear it), 0 no such row, -1 storage error. */
int esm_mapping_load(tp_core *core, int64_t id, esm_mapping *m);
void esm_mapping_clear(esm_mapping *m);
/* Settles a transitional state whose time has come (Creating -> Enabled,
 * Deleting -> gone, ...). Returns 1 when the mapping is gone. */
int esm_settle(tp_core *core, esm_mapping *m);
int esm_set_last_result(tp_core *core, int64_t id, const char *text);
int esm_set_positioned(tp_core *core, int64_t id);
/* Next token for the mapping's poll event (bumps the stored one). */
int64_t esm_next_token(tp_core *core, int64_t id);

/* poller.c */
/* How a stream-like service names the members the shared reads use. */
typedef struct esm_stream_api {
    const char *target;        /* "Kinesis_20131202" */
    const char *arn_member;    /* GetShardIterator's stream ARN member */
    const char *seq_member;    /* its sequence number member */
    const char *trimmed_code;  /* the error for a checkpoint no longer held */
    int64_t max_limit;         /* GetRecords' Limit ceiling */
} esm_stream_api;
/* One call of the source's service (consumes in). */
int esm_stream_call(tp_core *core, const esm_mapping *m, const esm_stream_api *api,
                    const char *op, cJSON *in, cJSON **out, tp_error *err);
/* An iterator just past `after` ("" = the horizon, or at_ms when >= 0);
 * a checkpoint the service no longer holds reads from the horizon. */
char *esm_stream_iterator(tp_core *core, const esm_mapping *m, const esm_stream_api *api,
                          const char *shard, const char *after, double at_ms);
/* One GetRecords page (esm_stream_source.read). */
int esm_stream_read_page(tp_core *core, const esm_mapping *m, const esm_stream_api *api,
                         const char *it, int64_t limit, cJSON **records, char **next,
                         tp_error *err);
/* Arms the mapping's poll event at due_ms; an earlier armed event stays
 * live only if it is due no later. */
void esm_poller_wake(tp_core *core, int64_t mapping_id, int64_t due_ms);
/* Forgets a deleted mapping's lanes. */
int esm_poller_forget(tp_core *core, int64_t mapping_id);
/* After a restart: invocations that were in flight are gone; their
 * batches are delivered again. */
int esm_poller_restart(tp_core *core);
int esm_poller_busy(tp_core *core);

#endif
