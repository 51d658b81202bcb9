/* lambda/poller — the mappings' poll event, and the runtime of stream-like
 * event sources (esm.h's esm_stream_source: DynamoDB streams in
 * source_dynamodb.c, Kinesis streams in source_kinesis.c): reading shards
 * through the source (which calls its service through
 * lambda_call_internal — lambda/ never includes streams/ or kinesis/),
 * batching, invoking, checkpointing, retries, bisect, partial batch
 * failures, discards with their OnFailure record, lineage. A source with
 * its own runtime (a queue) gets the poll event and does the rest itself.
 * Everything runs on the scheduler in tidepool time, so a run on the
 * virtual clock replays identically.
 *
 * One poll event per mapping (esm_poller_wake; the mapping row's token
 * tells the live event from superseded ones). Each poll lists the shards
 * and visits every (shard, lane) whose turn it is:
 *
 *   lanes: ParallelizationFactor N splits a shard into N lanes by a hash of
 *   the partition key, so records of one key stay in order; each lane has
 *   its own checkpoint (the last sequence number it is done with) and at
 *   most one batch in flight. A poll reads a shard once for its lanes free
 *   to take a batch, from the lowest of their checkpoints (read_shard), at
 *   most every read gap (Kinesis: 200 ms); a failed read (a throttle: the
 *   reads count against the shard's limits) is traced "read_retry" and
 *   tried again at the next poll.
 *
 *   lineage: a child shard's lanes start only once every lane of its
 *   parent (both parents, after a merge) is done (closed and read to its
 *   end), or once the parent has been trimmed away.
 *
 * A lane's life (esm_lanes row):
 *
 *   idle --read finds records (full, window over, or shard end)--> batch held
 *   batch held --lambda_invoke_start--> in flight  (trace "batch")
 *      `--TooManyRequests--> retry_at (backoff, attempts not counted)
 *   in flight --success--> checkpoint to the batch end, idle, poll at once
 *             --ReportBatchItemFailures--> checkpoint before the lowest
 *               failed record, the rest is the batch, retry
 *             --error/timeout--> BisectBatchOnFunctionError: halves, retry
 *                                retries left: retry_at = now + backoff
 *                                else discard (OnFailure) + checkpoint past
 *   records older than MaximumRecordAgeInSeconds: discarded before invoking
 *
 * A ParallelizationFactor change applies to shards first visited after it;
 * a shard keeps the lane count it started with (nlanes), so no key changes
 * lanes half way through a shard.
 *
 * Trace events: "batch", "checkpoint", "retry", "bisect", "discard" (with
 * the failure record); a sequence number of a record goes as
 * "sequence_number" where the event's own "seq" would collide with it.
 *
 * Backoff: retry_base_ms * 2^(n-1), at most retry_max_ms (1 s .. 60 s by
 * default). AWS documents only that stream batches are retried until they
 * succeed, expire or run out of attempts; it retries with a growing delay,
 * which this models with a doubling backoff you can configure. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/store.h"
#include "core/trace.h"
#include "esm.h"

#define PAYLOAD_MAX (6 * 1024 * 1024)
#define READ_LIMIT 1000
#define DEFAULT_RETRY_BASE_MS 1000
#define DEFAULT_RETRY_MAX_MS 60000

static sqlite3_stmt *stmt(tp_core *core, const char *sql) { return tp_store_stmt(core->store, sql); }

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

static int64_t now_ms(tp_core *core) { return tp_clock_now_ms(core->clock); }

/* Sequence numbers are decimal strings of varying length: longer is larger. */
static int seq_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

/* --- lanes ---------------------------------------------------------------- */

typedef struct lane {
    int64_t id, mapping_id;
    char shard[80];
    int lane, nlanes;
    char checkpoint[64];
    int done, closing;
    int has_batch;     /* a batch is held (stored) */
    int loaded;        /* batch and sizes below are loaded (lane_fetch_batch) */
    cJSON *batch;      /* owned array or NULL */
    cJSON *sizes;      /* owned array or NULL */
    char batch_end[64];
    int64_t attempt, throttles, inflight, retry_at, window_start;
} lane;

/* The held batch stays in its row until needed: a poll visits every lane,
 * and a batch of BatchSize records is large. */
#define LANE_COLS                                                                              \
    "id, mapping_id, shard_id, lane, nlanes, checkpoint, done, closing, batch IS NOT NULL,"    \
    " batch_end, attempt, throttles, inflight, retry_at, window_start"

static void lane_read(sqlite3_stmt *st, lane *l)
{
    memset(l, 0, sizeof *l);
    l->id = sqlite3_column_int64(st, 0);
    l->mapping_id = sqlite3_column_int64(st, 1);
    copy_text(l->shard, sizeof l->shard, sqlite3_column_text(st, 2));
    l->lane = (int)sqlite3_column_int64(st, 3);
    l->nlanes = (int)sqlite3_column_int64(st, 4);
    copy_text(l->checkpoint, sizeof l->checkpoint, sqlite3_column_text(st, 5));
    l->done = (int)sqlite3_column_int64(st, 6);
    l->closing = (int)sqlite3_column_int64(st, 7);
    l->has_batch = (int)sqlite3_column_int64(st, 8);
    copy_text(l->batch_end, sizeof l->batch_end, sqlite3_column_text(st, 9));
    l->attempt = sqlite3_column_int64(st, 10);
    l->throttles = sqlite3_column_int64(st, 11);
    l->inflight = sqlite3_column_int64(st, 12);
    l->retry_at = sqlite3_column_int64(st, 13);
    l->window_start = sqlite3_column_int64(st, 14);
}

/* Loads the held batch of a lane read by lane_read. 0 ok, -1 error. */
static int lane_fetch_batch(tp_core *core, lane *l)
{
    static const char sql[] = "SELECT batch, sizes FROM esm_lanes WHERE id=?1";
    if (l->loaded)
        return 0;
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, l->id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *b = (const char *)sqlite3_column_text(st, 0);
        const char *z = (const char *)sqlite3_column_text(st, 1);
        l->batch = b ? tp_json_parse_str(b) : NULL;
        l->sizes = z ? tp_json_parse_str(z) : NULL;
    }
    sqlite3_reset(st);
    l->loaded = rc == SQLITE_ROW;
    l->has_batch = l->batch != NULL;
    return l->loaded ? 0 : -1;
}

static void lane_clear(lane *l)
{
    cJSON_Delete(l->batch);
    cJSON_Delete(l->sizes);
    l->batch = l->sizes = NULL;
}

static int lane_load(tp_core *core, int64_t id, lane *l)
{
    static const char sql[] = "SELECT " LANE_COLS " FROM esm_lanes WHERE id=?1";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        lane_read(st, l);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW && lane_fetch_batch(core, l) != 0)
        return -1;
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int lane_save(tp_core *core, const lane *l)
{
    static const char state_sql[] =
        "UPDATE esm_lanes SET checkpoint=?2, done=?3, closing=?4, batch_end=?7,"
        " attempt=?8, throttles=?9, inflight=?10, retry_at=?11, window_start=?12 WHERE id=?1";
    static const char sql[] =
        "UPDATE esm_lanes SET checkpoint=?2, done=?3, closing=?4, batch=?5, sizes=?6, batch_end=?7,"
        " attempt=?8, throttles=?9, inflight=?10, retry_at=?11, window_start=?12 WHERE id=?1";
    sqlite3_stmt *st = stmt(core, l->loaded ? sql : state_sql);
    if (!st)
        return -1;
    char *b = l->batch ? tp_json_print(l->batch) : NULL;
    char *s = l->sizes ? tp_json_print(l->sizes) : NULL;
    sqlite3_bind_int64(st, 1, l->id);
    sqlite3_bind_text(st, 2, l->checkpoint, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, l->done);
    sqlite3_bind_int(st, 4, l->closing);
    if (l->loaded) {
        if (b)
            sqlite3_bind_text(st, 5, b, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 5);
        if (s)
            sqlite3_bind_text(st, 6, s, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 6);
    }
    sqlite3_bind_text(st, 7, l->batch_end, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 8, l->attempt);
    sqlite3_bind_int64(st, 9, l->throttles);
    sqlite3_bind_int64(st, 10, l->inflight);
    sqlite3_bind_int64(st, 11, l->retry_at);
    sqlite3_bind_int64(st, 12, l->window_start);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(b);
    free(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

typedef struct lane_set {
    lane *v;
    size_t n, cap;
} lane_set;

static void lanes_free(lane_set *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        lane_clear(&ls->v[i]);
    free(ls->v);
    ls->v = NULL;
    ls->n = ls->cap = 0;
}

static int lanes_load(tp_core *core, int64_t mapping_id, lane_set *ls)
{
    static const char sql[] =
        "SELECT " LANE_COLS " FROM esm_lanes WHERE mapping_id=?1 ORDER BY shard_id, lane";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, mapping_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (ls->n == ls->cap) {
            size_t ncap = ls->cap ? ls->cap * 2 : 8;
            lane *g = realloc(ls->v, ncap * sizeof *g);
            if (!g)
                break;
            ls->v = g;
            ls->cap = ncap;
        }
        lane_read(st, &ls->v[ls->n++]);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int lanes_create(tp_core *core, int64_t mapping_id, const char *shard, int n,
                        const char *checkpoint, int done)
{
    static const char sql[] =
        "INSERT OR IGNORE INTO esm_lanes(mapping_id, shard_id, lane, nlanes, checkpoint, done)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
    for (int i = 0; i < n; i++) {
        sqlite3_stmt *st = stmt(core, sql);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, mapping_id);
        sqlite3_bind_text(st, 2, shard, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 3, i);
        sqlite3_bind_int(st, 4, n);
        sqlite3_bind_text(st, 5, checkpoint ? checkpoint : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 6, done);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

/* The lane a record belongs to: its partition key, hashed, so that the
 * records of one key stay in order. */
static int lane_of(const esm_mapping *m, const cJSON *rec, int nlanes)
{
    if (nlanes <= 1)
        return 0;
    char *text = m->src->stream->partition_key(rec);
    uint32_t h = text ? tp_crc32(text, strlen(text)) : 0;
    free(text);
    return (int)(h % (uint32_t)nlanes);
}

/* --- the mapping's poll event ------------------------------------------------ */

static void tick(tp_core *core, void *arg, int64_t due_ms);

void esm_poller_wake(tp_core *core, int64_t mapping_id, int64_t due_ms)
{
    static const char get_sql[] = "SELECT tick_due FROM esm_mappings WHERE id=?1";
    static const char set_sql[] = "UPDATE esm_mappings SET tick_due=?2 WHERE id=?1";
    sqlite3_stmt *st = stmt(core, get_sql);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, mapping_id);
    int rc = sqlite3_step(st);
    int64_t armed = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW || (armed > 0 && armed <= due_ms))
        return;
    int64_t token = esm_next_token(core, mapping_id);
    if (token < 0)
        return;
    st = stmt(core, set_sql);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, mapping_id);
    sqlite3_bind_int64(st, 2, due_ms);
    sqlite3_step(st);
    sqlite3_reset(st);
    uintptr_t arg = ((uintptr_t)mapping_id << 32) | ((uintptr_t)token & 0xffffffffu);
    tp_sched_at(core->sched, due_ms, tick, (void *)arg);
}

void esm_source_woken(tp_core *core, const char *key)
{
    static const char sql[] =
        "SELECT id FROM esm_mappings WHERE source_arn = ?1"
        " AND state IN ('Enabled', 'Updating', 'Enabling') ORDER BY id";
    const esm_source *src = key ? esm_source_for(key) : NULL;
    if (!src || src->stream)
        return;   /* stream-like sources poll their shards on their interval */
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int64_t ids[64];
    int n = 0;
    while (n < 64 && sqlite3_step(st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    int64_t now = now_ms(core);
    for (int i = 0; i < n; i++)
        esm_poller_wake(core, ids[i], now);
}

/* --- sources ---------------------------------------------------------------- */

static const esm_source *const sources[] = {&esm_dynamodb_source, &esm_kinesis_source,
                                             &esm_sqs_source};

const esm_source *esm_source_for(const char *arn)
{
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        if (sources[i]->owns(arn))
            return sources[i];
    return NULL;
}

int esm_poller_forget(tp_core *core, int64_t mapping_id)
{
    static const char *const sqls[] = {"DELETE FROM esm_lanes WHERE mapping_id=?1",
                                       "DELETE FROM esm_shard_reads WHERE mapping_id=?1"};
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        if (sources[i]->forget && sources[i]->forget(core, mapping_id) != 0)
            return -1;
    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
        sqlite3_stmt *st = stmt(core, sqls[i]);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, mapping_id);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

int esm_poller_restart(tp_core *core)
{
    static const char sql[] =
        "UPDATE esm_lanes SET inflight=0, retry_at=?1 WHERE inflight<>0";
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        if (sources[i]->restart && sources[i]->restart(core) != 0)
            return -1;
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now_ms(core));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int esm_poller_busy(tp_core *core)
{
    static const char sql[] =
        "SELECT 1 FROM esm_lanes l JOIN esm_mappings m ON m.id = l.mapping_id"
        " WHERE l.inflight<>0 OR ((l.batch IS NOT NULL OR l.window_start<>0 OR l.retry_at<>0)"
        " AND m.state IN ('Enabled', 'Updating', 'Enabling')) LIMIT 1";
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        if (sources[i]->busy && sources[i]->busy(core))
            return 1;
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return 0;
    int busy = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return busy;
}

static int64_t stream_poll_ms(const tp_core *core, const esm_stream_source *src)
{
    int64_t poll = lambda_setting(core, src->poll_setting, src->poll_default_ms);
    return poll < 1 ? src->poll_default_ms : poll;
}

int64_t esm_idle_step_ms(tp_core *core)
{
    static const char sql[] = "SELECT DISTINCT source_arn FROM esm_mappings";
    int64_t step = stream_poll_ms(core, esm_dynamodb_source.stream);
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return step;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const esm_source *src = esm_source_for((const char *)sqlite3_column_text(st, 0));
        if (src && src->stream && stream_poll_ms(core, src->stream) > step)
            step = stream_poll_ms(core, src->stream);
    }
    sqlite3_reset(st);
    return step;
}

/* --- reading a lane's records ------------------------------------------------- */

typedef struct read_result {
    cJSON *batch;       /* records for the handler, with eventSourceARN */
    cJSON *aged;        /* this lane's records past MaximumRecordAgeInSeconds */
    size_t bytes;
    char scanned[64];   /* last sequence number looked at */
    char aged_end[64];
    int dropped;        /* this lane's records the filter dropped */
    int full;           /* stopped at BatchSize or the payload cap */
    int end;            /* closed shard read to its end */
    int error;
} read_result;

static void read_result_free(read_result *rr)
{
    cJSON_Delete(rr->batch);
    cJSON_Delete(rr->aged);
}

static int filter_passes(const esm_stream_source *src, const esm_filter *filter, const cJSON *rec)
{
    cJSON *view = src->filter_view ? src->filter_view(rec) : NULL;
    int ok = esm_filter_match(filter, view ? view : rec);
    cJSON_Delete(view);
    return ok;
}

/* One read of a shard for the lanes free to take a batch (ls[0..n), all of
 * one shard): from the lowest of their checkpoints, each record goes to the
 * lane its partition key picks (rr[k] for ls[k]), as Lambda reads a shard
 * once per poll and splits what it read across the shard's concurrent
 * batches. A lane takes records past its own checkpoint until its batch
 * is full; the read goes on while some lane still wants records. The
 * read's error (a throttled GetRecords: Lambda's reads count against the
 * shard's limits) goes to every lane, with its code in *code. */
static void read_shard(tp_core *core, const esm_mapping *m, lane *const *ls, size_t n,
                       const esm_filter *filter, int64_t limit, read_result *rr, char *code,
                       size_t code_cap)
{
    const char *from = ls[0]->checkpoint;
    for (size_t k = 0; k < n; k++) {
        memset(&rr[k], 0, sizeof rr[k]);
        rr[k].batch = cJSON_CreateArray();
        rr[k].aged = cJSON_CreateArray();
        snprintf(rr[k].scanned, sizeof rr[k].scanned, "%s", ls[k]->checkpoint);
        if (seq_cmp(ls[k]->checkpoint, from) < 0)
            from = ls[k]->checkpoint;
    }
    code[0] = '\0';
    const esm_stream_source *src = m->src->stream;
    const char *shard = ls[0]->shard;
    int nlanes = ls[0]->nlanes;
    char *it = src->iterator(core, m, shard, from);
    int failed = it == NULL;
    if (failed)
        snprintf(code, code_cap, "%s", "IteratorUnavailable");
    int64_t now = now_ms(core), *count = calloc(n, sizeof *count);
    size_t open = n;   /* lanes still taking records */
    int pages = 0;
    while (it && open > 0 && count) {
        cJSON *records = NULL;
        char *nx = NULL;
        /* one lane takes every record: read no more than the batch needs
         * (several lanes share the shard, so they read whole pages) */
        int64_t want = nlanes == 1 ? limit - count[0] : READ_LIMIT;
        tp_error err = {0};
        int rc = src->read(core, m, it, want < 1 ? 1 : want > READ_LIMIT ? READ_LIMIT : want, &records,
                           &nx, &err);
        free(it);
        it = NULL;
        if (rc != 0) {
            /* a later page refused (the shard's read limit, spent by the
             * pages before): the lanes keep what was read */
            if (pages == 0) {
                snprintf(code, code_cap, "%s", *err.code ? err.code : "ReadFailed");
                failed = 1;
            }
            break;
        }
        pages++;
        int got = cJSON_GetArraySize(records);
        /* each record leaves the page for a lane's batch, its aged or the bin */
        while (records->child && open > 0) {
            cJSON *rec = src->event_record(m, shard, cJSON_DetachItemViaPointer(records, records->child));
            char seq[64];
            snprintf(seq, sizeof seq, "%s", src->seq(rec));
            int own = lane_of(m, rec, nlanes), taken = 0;
            for (size_t k = 0; k < n; k++) {
                read_result *r = &rr[k];
                if (r->full || seq_cmp(seq, ls[k]->checkpoint) <= 0)
                    continue;
                if (ls[k]->lane != own) {
                    snprintf(r->scanned, sizeof r->scanned, "%s", seq);
                    continue;
                }
                if (m->max_age_s >= 0 && now - src->arrival_ms(rec) > m->max_age_s * 1000) {
                    snprintf(r->scanned, sizeof r->scanned, "%s", seq);
                    snprintf(r->aged_end, sizeof r->aged_end, "%s", seq);
                    cJSON_AddItemToArray(r->aged, rec);
                    taken = 1;
                    continue;
                }
                if (filter && !filter_passes(src, filter, rec)) {
                    snprintf(r->scanned, sizeof r->scanned, "%s", seq);
                    r->dropped++;
                    continue;
                }
                char *text = tp_json_print(rec);
                size_t len = text ? strlen(text) + 1 : 0;
                free(text);
                if (count[k] > 0 && r->bytes + len + 16 > PAYLOAD_MAX) {
                    r->full = 1;
                    open--;
                    continue;
                }
                snprintf(r->scanned, sizeof r->scanned, "%s", seq);
                r->bytes += len;
                cJSON_AddItemToArray(r->batch, rec);
                taken = 1;
                if (++count[k] >= limit) {
                    r->full = 1;
                    open--;
                }
            }
            if (!taken)
                cJSON_Delete(rec);
        }
        if (open > 0) {
            if (!nx) {
                for (size_t k = 0; k < n; k++)
                    if (!rr[k].full)
                        rr[k].end = 1;
            } else if (got > 0) {
                it = nx, nx = NULL;
            }
        }
        free(nx);
        cJSON_Delete(records);
    }
    free(it);
    if (!count) {
        failed = 1;
        snprintf(code, code_cap, "%s", "OutOfMemory");
    }
    free(count);
    for (size_t k = 0; failed && k < n; k++)
        rr[k].error = 1;
}

/* --- trace helpers ------------------------------------------------------------ */

static cJSON *lane_fields(const esm_mapping *m, const lane *l)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "mapping", m->uuid);
    cJSON_AddStringToObject(f, "shard", l->shard);
    tp_json_add_int(f, "lane", l->lane);
    return f;
}

static void trace_checkpoint(tp_core *core, const esm_mapping *m, const lane *l)
{
    cJSON *f = lane_fields(m, l);
    cJSON_AddStringToObject(f, "sequence_number", l->checkpoint);
    tp_trace_emit(core, "checkpoint", f);
    cJSON_Delete(f);
}

/* A read of the shard failed (a throttled GetRecords: Lambda's reads count
 * against the shard's read limits): its lanes read again at the next poll. */
static void trace_read_retry(tp_core *core, const esm_mapping *m, const char *shard, const char *code)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "mapping", m->uuid);
    cJSON_AddStringToObject(f, "shard", shard);
    cJSON_AddStringToObject(f, "reason", code);
    tp_json_add_int(f, "delay_ms", stream_poll_ms(core, m->src->stream));
    tp_trace_emit(core, "read_retry", f);
    cJSON_Delete(f);
    /* unverified wording: Lambda's result for a mapping whose reads fail */
    esm_set_last_result(core, m->id,
                        strcmp(code, "ProvisionedThroughputExceededException") == 0
                            ? "PROBLEM: Throttled"
                            : "PROBLEM: Cannot access stream");
}

static const char *function_name(const esm_mapping *m)
{
    const char *c = strrchr(m->function_arn, ':');
    return c ? c + 1 : m->function_arn;
}

static void iso_seconds(int64_t ms, char *out, size_t cap)
{
    char buf[40];
    tp_format_iso8601(ms, buf, sizeof buf);
    char *dot = strchr(buf, '.');
    if (dot)
        snprintf(dot, sizeof buf - (size_t)(dot - buf), "Z");
    snprintf(out, cap, "%s", buf);
}

/* --- discards --------------------------------------------------------------- */

/* "arn:aws:sqs:REGION:ACCOUNT:NAME": sends the record if the queue exists. */
static int send_to_sqs(tp_core *core, const esm_mapping *m, const char *dest, const char *body)
{
    char region[32], account[13], name[128];
    if (sscanf(dest, "arn:aws:sqs:%31[^:]:%12[^:]:%127s", region, account, name) != 3)
        return 0;
    cJSON *in = cJSON_CreateObject(), *out = NULL;
    cJSON_AddStringToObject(in, "QueueName", name);
    cJSON_AddStringToObject(in, "QueueOwnerAWSAccountId", account);
    tp_error err = {0};
    int rc = lambda_call_internal(core, account, region, "AmazonSQS.GetQueueUrl", in, &out, &err);
    cJSON_Delete(in);
    const char *url = rc == 0 ? tp_json_str(out, "QueueUrl") : NULL;
    int sent = 0;
    if (url) {
        cJSON *send = cJSON_CreateObject(), *res = NULL;
        cJSON_AddStringToObject(send, "QueueUrl", url);
        cJSON_AddStringToObject(send, "MessageBody", body);
        sent = lambda_call_internal(core, account, region, "AmazonSQS.SendMessage", send, &res, &err) == 0;
        cJSON_Delete(send);
        cJSON_Delete(res);
    }
    cJSON_Delete(out);
    (void)m;
    return sent;
}

/* Discards `records` (this lane's, in order): the trace's "discard" with
 * AWS's failure record, and the OnFailure destination if there is one. */
static void discard(tp_core *core, const esm_mapping *m, const lane *l, const cJSON *records,
                    const char *condition, int64_t invokes, const lambda_result *res)
{
    int n = cJSON_GetArraySize(records);
    if (n == 0)
        return;
    const cJSON *first = cJSON_GetArrayItem(records, 0), *last = cJSON_GetArrayItem(records, n - 1);
    int64_t now = now_ms(core);
    char ts[40], a1[40], a2[40], rid[37];
    tp_format_iso8601(now, ts, sizeof ts);
    if (m->src->stream->arrival_millis) {
        tp_format_iso8601(m->src->stream->arrival_ms(first), a1, sizeof a1);
        tp_format_iso8601(m->src->stream->arrival_ms(last), a2, sizeof a2);
    } else {
        iso_seconds(m->src->stream->arrival_ms(first), a1, sizeof a1);
        iso_seconds(m->src->stream->arrival_ms(last), a2, sizeof a2);
    }
    if (res && res->request_id)
        snprintf(rid, sizeof rid, "%s", res->request_id);
    else
        tp_rng_uuid(&core->rng, rid);
    cJSON *fr = cJSON_CreateObject();
    cJSON *rc = cJSON_AddObjectToObject(fr, "requestContext");
    cJSON_AddStringToObject(rc, "requestId", rid);
    cJSON_AddStringToObject(rc, "functionArn", m->function_arn);
    cJSON_AddStringToObject(rc, "condition", condition);
    tp_json_add_int(rc, "approximateInvokeCount", invokes);
    if (invokes > 0) {
        cJSON *rs = cJSON_AddObjectToObject(fr, "responseContext");
        tp_json_add_int(rs, "statusCode", 200);
        cJSON_AddStringToObject(rs, "executedVersion", "$LATEST");
        if (!res || res->outcome != LAMBDA_SUCCESS)
            cJSON_AddStringToObject(rs, "functionError", "Unhandled");
    }
    cJSON_AddStringToObject(fr, "version", "1.0");
    cJSON_AddStringToObject(fr, "timestamp", ts);
    cJSON *info = cJSON_AddObjectToObject(fr, m->src->stream->batch_info);
    cJSON_AddStringToObject(info, "shardId", l->shard);
    cJSON_AddStringToObject(info, "startSequenceNumber", m->src->stream->seq(first));
    cJSON_AddStringToObject(info, "endSequenceNumber", m->src->stream->seq(last));
    cJSON_AddStringToObject(info, "approximateArrivalOfFirstRecord", a1);
    cJSON_AddStringToObject(info, "approximateArrivalOfLastRecord", a2);
    tp_json_add_int(info, "batchSize", n);
    cJSON_AddStringToObject(info, "streamArn", m->source_arn);

    int delivered = 0;
    if (m->on_failure && strncmp(m->on_failure, "arn:aws:sqs:", 12) == 0) {
        char *body = tp_json_print(fr);
        if (body)
            delivered = send_to_sqs(core, m, m->on_failure, body);
        free(body);
    }
    cJSON *f = lane_fields(m, l);
    tp_json_add_int(f, "records", n);
    cJSON_AddStringToObject(f, "first_seq", m->src->stream->seq(first));
    cJSON_AddStringToObject(f, "last_seq", m->src->stream->seq(last));
    cJSON_AddStringToObject(f, "condition", condition);
    if (m->on_failure)
        cJSON_AddStringToObject(f, "destination", m->on_failure);
    else
        cJSON_AddNullToObject(f, "destination");
    cJSON_AddBoolToObject(f, "delivered", delivered);
    cJSON_AddItemToObject(f, "failure_record", fr);
    tp_trace_emit(core, "discard", f);
    cJSON_Delete(f);
}

/* --- delivering a batch -------------------------------------------------------- */

static void on_done(tp_core *core, const lambda_result *res, void *arg);

static int64_t backoff_ms(const tp_core *core, int64_t n)
{
    int64_t base = lambda_setting(core, "retry_base_ms", DEFAULT_RETRY_BASE_MS);
    int64_t max = lambda_setting(core, "retry_max_ms", DEFAULT_RETRY_MAX_MS);
    if (base < 1)
        base = 1;
    int64_t d = base;
    for (int64_t i = 1; i < n && d < max; i++)
        d *= 2;
    return d > max ? max : d;
}

static void trace_retry(tp_core *core, const esm_mapping *m, const lane *l, int64_t attempt,
                        int64_t delay, const char *reason)
{
    cJSON *f = lane_fields(m, l);
    tp_json_add_int(f, "attempt", attempt);
    tp_json_add_int(f, "delay_ms", delay);
    cJSON_AddStringToObject(f, "reason", reason);
    tp_trace_emit(core, "retry", f);
    cJSON_Delete(f);
}

static int64_t first_size(const lane *l)
{
    const cJSON *s = l->sizes ? l->sizes->child : NULL;
    int64_t n = s ? (int64_t)s->valuedouble : cJSON_GetArraySize(l->batch);
    int64_t have = cJSON_GetArraySize(l->batch);
    return n > have || n < 1 ? have : n;
}

/* Drops the first n records of the held batch (done with them): the
 * checkpoint moves past them; when the batch is used up, to its end. */
static void advance_past(tp_core *core, const esm_mapping *m, lane *l, int64_t n)
{
    char last[64] = "";
    for (int64_t i = 0; i < n && l->batch && l->batch->child; i++) {
        cJSON *r = cJSON_DetachItemViaPointer(l->batch, l->batch->child);
        snprintf(last, sizeof last, "%s", m->src->stream->seq(r));
        cJSON_Delete(r);
    }
    if (l->sizes && l->sizes->child) {
        int64_t s = (int64_t)l->sizes->child->valuedouble;
        if (s <= n)
            cJSON_DeleteItemFromArray(l->sizes, 0);
        else
            cJSON_SetNumberValue(l->sizes->child, (double)(s - n));
    }
    l->attempt = 0;
    l->retry_at = 0;
    if (!l->batch || !l->batch->child) {
        snprintf(l->checkpoint, sizeof l->checkpoint, "%s", l->batch_end[0] ? l->batch_end : last);
        cJSON_Delete(l->batch);
        cJSON_Delete(l->sizes);
        l->batch = l->sizes = NULL;
        l->batch_end[0] = '\0';
        if (l->closing) {
            l->done = 1;
            l->closing = 0;
        }
    } else if (*last) {
        snprintf(l->checkpoint, sizeof l->checkpoint, "%s", last);
    }
    trace_checkpoint(core, m, l);
}

/* Discards the held batch's records older than MaximumRecordAgeInSeconds
 * (the oldest come first). */
static void drop_aged(tp_core *core, const esm_mapping *m, lane *l)
{
    if (m->max_age_s < 0 || !l->batch)
        return;
    int64_t now = now_ms(core), n = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, l->batch)
    {
        if (now - m->src->stream->arrival_ms(r) <= m->max_age_s * 1000)
            break;
        n++;
    }
    if (n == 0)
        return;
    cJSON *old = cJSON_CreateArray();
    for (int64_t i = 0; i < n; i++)
        cJSON_AddItemReferenceToArray(old, cJSON_GetArrayItem(l->batch, (int)i));
    discard(core, m, l, old, "RecordAgeExceeded", l->attempt, NULL);
    cJSON_Delete(old);
    /* the sub-batch sizes lose the discarded records from the front */
    int64_t left = n;
    while (left > 0 && l->sizes && l->sizes->child) {
        int64_t s = (int64_t)l->sizes->child->valuedouble;
        if (s <= left) {
            cJSON_DeleteItemFromArray(l->sizes, 0);
            left -= s;
        } else {
            cJSON_SetNumberValue(l->sizes->child, (double)(s - left));
            left = 0;
        }
    }
    cJSON *keep_sizes = l->sizes;
    l->sizes = NULL;
    for (int64_t i = 0; i < n && l->batch->child; i++)
        cJSON_Delete(cJSON_DetachItemViaPointer(l->batch, l->batch->child));
    l->sizes = keep_sizes;
    if (!l->batch->child) {
        snprintf(l->checkpoint, sizeof l->checkpoint, "%s", l->batch_end);
        cJSON_Delete(l->batch);
        cJSON_Delete(l->sizes);
        l->batch = l->sizes = NULL;
        l->batch_end[0] = '\0';
        if (l->closing) {
            l->done = 1;
            l->closing = 0;
        }
        trace_checkpoint(core, m, l);
    }
    l->attempt = 0;
}

static void set_iterator_age(tp_core *core, const esm_mapping *m, int64_t created_ms);

/* Invokes the function with the held batch's first sub-batch. The lane is
 * saved by the caller. */
static void deliver(tp_core *core, const esm_mapping *m, lane *l)
{
    drop_aged(core, m, l);
    if (!l->batch)
        return;
    int64_t n = first_size(l);
    cJSON *ev = cJSON_CreateObject();
    cJSON *recs = cJSON_AddArrayToObject(ev, "Records");
    cJSON *seqs = cJSON_CreateArray();
    const cJSON *r = l->batch->child, *lastrec = NULL;
    for (int64_t i = 0; i < n && r; i++, r = r->next) {
        lastrec = r;
        cJSON_AddItemReferenceToArray(recs, (cJSON *)r);
        cJSON_AddItemToArray(seqs, cJSON_CreateString(m->src->stream->seq(r)));
    }
    char *event = tp_json_print(ev);
    cJSON_Delete(ev);
    lambda_invoke_req req = {.account = m->account,
                             .region = m->region,
                             .function = m->function_arn,
                             .event = event ? event : "{}",
                             .event_len = event ? strlen(event) : 2,
                             .source = "esm",
                             .source_id = m->uuid,
                             .done = on_done,
                             .arg = (void *)(intptr_t)l->id};
    tp_error err = {0};
    int64_t id = 0;
    int rc = lambda_invoke_start(core, &req, &id, &err);
    free(event);
    int64_t now = now_ms(core);
    if (rc != 0) {
        /* never reached the function: not an attempt */
        int throttled = strcmp(err.code, "TooManyRequestsException") == 0;
        l->throttles++;
        int64_t delay = backoff_ms(core, l->throttles);
        l->retry_at = now + delay;
        trace_retry(core, m, l, l->attempt + 1, delay, throttled ? "throttled" : err.code);
        esm_set_last_result(core, m->id,
                            throttled ? "PROBLEM: Function call failed"
                                      : strcmp(err.code, "ResourceNotFoundException") == 0
                                            ? "PROBLEM: Function not found"
                                            : "PROBLEM: Function call failed");
        cJSON_Delete(seqs);
        return;
    }
    l->throttles = 0;
    l->inflight = id ? id : -1;
    l->retry_at = 0;
    l->attempt++;
    /* Lambda's IteratorAge: the newest record of the batch as it is sent
     * (ApproximateCreationDateTime: whole seconds, all the API gives) */
    if (lastrec)
        set_iterator_age(core, m, m->src->stream->arrival_ms(lastrec));
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "mapping", m->uuid);
    cJSON_AddStringToObject(f, "function", function_name(m));
    cJSON_AddStringToObject(f, "shard", l->shard);
    tp_json_add_int(f, "lane", l->lane);
    tp_json_add_int(f, "size", n);
    const char *fs = cJSON_GetArrayItem(seqs, 0)->valuestring;
    const char *ls = cJSON_GetArrayItem(seqs, (int)n - 1)->valuestring;
    char first[64], last[64];
    snprintf(first, sizeof first, "%s", fs);
    snprintf(last, sizeof last, "%s", ls);
    cJSON_AddItemToObject(f, "seqs", seqs);
    cJSON_AddStringToObject(f, "first_seq", first);
    cJSON_AddStringToObject(f, "last_seq", last);
    tp_json_add_int(f, "attempt", l->attempt);
    tp_trace_emit(core, "batch", f);
    cJSON_Delete(f);
}

static void set_iterator_age(tp_core *core, const esm_mapping *m, int64_t created_ms)
{
    char labels[512];
    snprintf(labels, sizeof labels, "mapping=\"%s\",function=\"%s\"", m->uuid, function_name(m));
    int64_t age = now_ms(core) - created_ms;
    tp_trace_gauge_set(core->trace, "tidepool_esm_iterator_age_ms", labels, (double)(age < 0 ? 0 : age));
}

/* The lowest failed sequence number's index in the first n records, -1
 * when the response reports no failure, -2 when the whole batch failed
 * (an identifier that is empty, not a string or not in the batch). */
static int partial_failure(const esm_mapping *m, const lane *l, int64_t n, const char *payload)
{
    cJSON *resp = payload && *payload ? tp_json_parse_str(payload) : NULL;
    const cJSON *items = cJSON_IsObject(resp) ? cJSON_GetObjectItemCaseSensitive(resp, "batchItemFailures") : NULL;
    int lowest = -1;
    if (cJSON_IsArray(items)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, items)
        {
            const cJSON *idv = cJSON_GetObjectItemCaseSensitive(it, "itemIdentifier");
            int found = -1;
            if (cJSON_IsString(idv) && *idv->valuestring) {
                int i = 0;
                for (const cJSON *r = l->batch->child; r && i < n; r = r->next, i++)
                    if (strcmp(m->src->stream->seq(r), idv->valuestring) == 0) {
                        found = i;
                        break;
                    }
            }
            if (found < 0) {
                lowest = -2;
                break;
            }
            if (lowest < 0 || found < lowest)
                lowest = found;
        }
    }
    cJSON_Delete(resp);
    return lowest;
}

static void on_done(tp_core *core, const lambda_result *res, void *arg)
{
    int64_t lane_id = (int64_t)(intptr_t)arg;
    lane l;
    if (lane_load(core, lane_id, &l) != 1)
        return;
    if (l.inflight != (res->invocation_id ? res->invocation_id : -1) || !l.batch) {
        lane_clear(&l);
        return;
    }
    esm_mapping m;
    if (esm_mapping_load(core, l.mapping_id, &m) != 1) {
        lane_clear(&l);
        return;
    }
    l.inflight = 0;
    int64_t n = first_size(&l);
    int64_t now = now_ms(core);
    const char *reason = NULL;
    int split = 0;
    if (res->outcome == LAMBDA_SUCCESS) {
        int bad = m.report_failures ? partial_failure(&m, &l, n, res->payload) : -1;
        if (bad == -1) {
            esm_set_last_result(core, m.id, "OK");
            advance_past(core, &m, &l, n);
            lane_save(core, &l);
            esm_poller_wake(core, m.id, now);
            goto out;
        }
        reason = "partial_failure";
        if (bad > 0) {
            /* done up to the record before the lowest failure; the retry
             * starts at it (and keeps the attempt count of this batch) */
            int64_t attempts = l.attempt;
            advance_past(core, &m, &l, bad);
            l.attempt = attempts;
            n -= bad;
        }
    } else if (res->outcome == LAMBDA_THROTTLED) {
        l.attempt--;
        l.throttles++;
        int64_t delay = backoff_ms(core, l.throttles);
        l.retry_at = now + delay;
        trace_retry(core, &m, &l, l.attempt + 1, delay, "throttled");
        lane_save(core, &l);
        esm_poller_wake(core, m.id, l.retry_at);
        goto out;
    } else {
        reason = res->outcome == LAMBDA_TIMEOUT ? "timeout" : "function_error";
        split = m.bisect && n > 1;
    }
    esm_set_last_result(core, m.id, "PROBLEM: Function call failed");
    if (split) {
        int64_t a = (n + 1) / 2;
        cJSON *sizes = cJSON_CreateArray();
        cJSON_AddItemToArray(sizes, cJSON_CreateNumber((double)a));
        cJSON_AddItemToArray(sizes, cJSON_CreateNumber((double)(n - a)));
        int i = 0;
        const cJSON *s;
        cJSON_ArrayForEach(s, l.sizes)
            if (i++ > 0)
                cJSON_AddItemToArray(sizes, cJSON_CreateNumber(s->valuedouble));
        if (i == 0 && cJSON_GetArraySize(l.batch) > n)
            cJSON_AddItemToArray(sizes, cJSON_CreateNumber((double)(cJSON_GetArraySize(l.batch) - n)));
        cJSON_Delete(l.sizes);
        l.sizes = sizes;
        cJSON *f = lane_fields(&m, &l);
        tp_json_add_int(f, "from_size", n);
        tp_json_add_int(f, "to_size", a);
        tp_trace_emit(core, "bisect", f);
        cJSON_Delete(f);
        /* a half is a new batch: its attempts count from zero */
        l.attempt = 0;
        int64_t delay = backoff_ms(core, 1);
        l.retry_at = now + delay;
        trace_retry(core, &m, &l, 1, delay, reason);
        lane_save(core, &l);
        esm_poller_wake(core, m.id, l.retry_at);
        goto out;
    }
    if (m.max_retries >= 0 && l.attempt - 1 >= m.max_retries) {
        cJSON *chunk = cJSON_CreateArray();
        const cJSON *r = l.batch->child;
        for (int64_t i = 0; i < n && r; i++, r = r->next)
            cJSON_AddItemReferenceToArray(chunk, (cJSON *)r);
        discard(core, &m, &l, chunk, "RetryAttemptsExhausted", l.attempt, res);
        cJSON_Delete(chunk);
        advance_past(core, &m, &l, n);
        lane_save(core, &l);
        esm_poller_wake(core, m.id, now);
        goto out;
    }
    int64_t delay = backoff_ms(core, l.attempt);
    l.retry_at = now + delay;
    trace_retry(core, &m, &l, l.attempt + 1, delay, reason);
    lane_save(core, &l);
    esm_poller_wake(core, m.id, l.retry_at);
out:
    esm_mapping_clear(&m);
    lane_clear(&l);
}

/* --- one lane's turn ---------------------------------------------------------- */

/* A lane free to take a batch: poll_mapping reads its shard for it. */
static int lane_reads(const lane *l) { return !l->done && !l->inflight && !l->has_batch; }

/* Returns when the lane next wants a turn (INT64_MAX: at the next poll).
 * rr: what the poll read for the lane (lane_reads), else NULL. */
static int64_t lane_turn(tp_core *core, const esm_mapping *m, lane *l, read_result *rr_in)
{
    int64_t now = now_ms(core);
    if (l->done || l->inflight)
        return INT64_MAX;
    if (l->has_batch) {
        if (l->retry_at > now)
            return l->retry_at;
        if (lane_fetch_batch(core, l) != 0 || !l->batch)
            return INT64_MAX;
        deliver(core, m, l);
        lane_save(core, l);
        return l->retry_at ? l->retry_at : INT64_MAX;
    }
    if (!rr_in)
        return INT64_MAX;
    read_result rr = *rr_in;
    memset(rr_in, 0, sizeof *rr_in);
    if (rr.error) {
        /* read again at the next poll; until then the lane counts as busy
         * (retry_at with no batch), so run-until-idle waits for it */
        l->retry_at = now + stream_poll_ms(core, m->src->stream);
        lane_save(core, l);
        read_result_free(&rr);
        return l->retry_at;
    }
    int changed = 0;
    if (l->retry_at) {
        l->retry_at = 0;
        changed = 1;
    }
    if (cJSON_GetArraySize(rr.aged) > 0) {
        discard(core, m, l, rr.aged, "RecordAgeExceeded", 0, NULL);
        changed = 1;
    }
    int nb = cJSON_GetArraySize(rr.batch);
    int64_t due = INT64_MAX;
    if (nb == 0) {
        if (seq_cmp(rr.scanned, l->checkpoint) != 0) {
            snprintf(l->checkpoint, sizeof l->checkpoint, "%s", rr.scanned);
            if (changed || rr.dropped)
                trace_checkpoint(core, m, l);
            changed = 1;
        }
        if (rr.end) {
            l->done = 1;
            changed = 1;
        }
        if (l->window_start) {
            l->window_start = 0;
            changed = 1;
        }
    } else {
        int64_t window = m->window_s * 1000;
        if (!rr.full && !rr.end && window > 0) {
            if (!l->window_start)
                l->window_start = now;
            if (now < l->window_start + window) {
                /* wait for more; the records are read again then. The
                 * discarded old ones come before them all: done with. */
                if (cJSON_GetArraySize(rr.aged) > 0) {
                    snprintf(l->checkpoint, sizeof l->checkpoint, "%s", rr.aged_end);
                    trace_checkpoint(core, m, l);
                }
                lane_save(core, l);
                read_result_free(&rr);
                return l->window_start + window;
            }
        }
        l->window_start = 0;
        l->batch = rr.batch;
        rr.batch = NULL;
        l->sizes = NULL;
        l->loaded = l->has_batch = 1;
        snprintf(l->batch_end, sizeof l->batch_end, "%s", rr.scanned);
        l->closing = rr.end;
        l->attempt = 0;
        deliver(core, m, l);
        changed = 1;
        if (l->retry_at)
            due = l->retry_at;
    }
    if (changed)
        lane_save(core, l);
    read_result_free(&rr);
    return due;
}

/* --- positioning (StartingPosition LATEST) -------------------------------------- */

/* The last sequence number in the shard, or "" when it has none. */
static int shard_last_seq(tp_core *core, const esm_mapping *m, const char *shard, char *out, size_t cap)
{
    out[0] = '\0';
    const esm_stream_source *src = m->src->stream;
    char *it = src->iterator(core, m, shard, "");
    while (it) {
        cJSON *recs = NULL;
        char *nx = NULL;
        tp_error err = {0};
        int rc = src->read(core, m, it, READ_LIMIT, &recs, &nx, &err);
        free(it);
        it = NULL;
        if (rc != 0)
            return -1;
        int n = cJSON_GetArraySize(recs);
        if (n > 0) {
            cJSON *last = src->event_record(m, shard, cJSON_DetachItemFromArray(recs, n - 1));
            snprintf(out, cap, "%s", src->seq(last));
            cJSON_Delete(last);
        }
        if (nx && n > 0)
            it = nx, nx = NULL;
        free(nx);
        cJSON_Delete(recs);
    }
    return 0;
}

static int position_latest(tp_core *core, const esm_mapping *m)
{
    tp_error err = {0};
    size_t n;
    esm_shard *sh = m->src->stream->list_shards(core, m, &n, &err);
    if (!sh)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char last[64] = "";
        if (sh[i].closed) {
            lanes_create(core, m->id, sh[i].id, (int)m->parallel, sh[i].end_seq, 1);
            continue;
        }
        if (shard_last_seq(core, m, sh[i].id, last, sizeof last) != 0) {
            free(sh);
            return -1;
        }
        lanes_create(core, m->id, sh[i].id, (int)m->parallel, last, 0);
    }
    free(sh);
    return 0;
}

/* --- the poll ------------------------------------------------------------------- */

/* A poll visits every shard and looks up shards and lanes by id: with a
 * hundred shards, linear searches were most of a poll. The listed ids are
 * sorted once per poll (listed), and the lanes come sorted by shard id
 * (lanes_load): both are binary searches. */
static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char **listed_new(const esm_shard *sh, size_t n)
{
    const char **ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        return NULL;
    for (size_t i = 0; i < n; i++)
        ids[i] = sh[i].id;
    qsort(ids, n, sizeof *ids, cmp_str_ptr);
    return ids;
}

static int shard_listed(const char *const *ids, size_t n, const char *id)
{
    return n > 0 && bsearch(&id, ids, n, sizeof *ids, cmp_str_ptr) != NULL;
}

/* The lanes of shard id: ls->v[*lo .. *hi). */
static void lanes_of(const lane_set *ls, const char *id, size_t *lo, size_t *hi)
{
    size_t a = 0, b = ls->n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (strcmp(ls->v[mid].shard, id) < 0)
            a = mid + 1;
        else
            b = mid;
    }
    *lo = a;
    while (b < ls->n && strcmp(ls->v[b].shard, id) == 0)
        b++;
    *hi = b > a ? b : a;
}

/* 1 when every lane of the shard is done (0 when it has none yet). */
static int shard_done(const lane_set *ls, const char *id)
{
    size_t lo, hi;
    lanes_of(ls, id, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        if (!ls->v[i].done)
            return 0;
    return hi > lo;
}

/* When the mapping may next read the shard (its lanes share a read, and
 * a source with a read gap reads a shard no more often than that: the
 * shard's read limit counts Lambda's reads too), noting a read now when
 * that is now. 0: at once, nothing noted (no gap). */
static int64_t shard_read_due(tp_core *core, const esm_mapping *m, const char *shard)
{
    static const char get_sql[] = "SELECT read_ms FROM esm_shard_reads WHERE mapping_id=?1 AND shard_id=?2";
    static const char set_sql[] =
        "INSERT OR REPLACE INTO esm_shard_reads(mapping_id, shard_id, read_ms) VALUES(?1, ?2, ?3)";
    const esm_stream_source *src = m->src->stream;
    int64_t gap = src->read_gap_setting ? lambda_setting(core, src->read_gap_setting, src->read_gap_default_ms)
                                        : 0;
    if (gap <= 0)
        return 0;
    int64_t now = now_ms(core), last = INT64_MIN;
    sqlite3_stmt *st = stmt(core, get_sql);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, m->id);
    sqlite3_bind_text(st, 2, shard, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
        last = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (last != INT64_MIN && last + gap > now)
        return last + gap;
    st = stmt(core, set_sql);
    if (st) {
        sqlite3_bind_int64(st, 1, m->id);
        sqlite3_bind_text(st, 2, shard, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    return now;
}

static int64_t poll_mapping(tp_core *core, esm_mapping *m)
{
    int64_t next = INT64_MAX;
    lambda_fn fn;
    if (lambda_fn_find(core, m->account, m->region, m->function_arn, &fn) == 1) {
        snprintf(m->role, sizeof m->role, "%s", fn.role);
        lambda_fn_clear(&fn);
    }
    if (!m->positioned) {
        if (strcmp(m->starting_position, "LATEST") == 0 && position_latest(core, m) != 0) {
            esm_set_last_result(core, m->id, "PROBLEM: Cannot access stream");
            return next;
        }
        esm_set_positioned(core, m->id);
        m->positioned = 1;
    }
    tp_error err = {0};
    size_t n;
    esm_shard *sh = m->src->stream->list_shards(core, m, &n, &err);
    if (!sh) {
        esm_set_last_result(core, m->id, "PROBLEM: Cannot access stream");
        return next;
    }
    const char **listed = listed_new(sh, n);
    if (!listed) {
        free(sh);
        return next;
    }
    esm_filter *filter = m->filter ? esm_filter_new(m->filter, &err) : NULL;
    lane_set ls = {0};
    lanes_load(core, m->id, &ls);
    /* shards trimmed away: their lanes are of no more use */
    for (size_t i = 0; i < ls.n; i++)
        if (!shard_listed(listed, n, ls.v[i].shard)) {
            static const char del[] = "DELETE FROM esm_lanes WHERE id=?1";
            sqlite3_stmt *st = stmt(core, del);
            if (st) {
                sqlite3_bind_int64(st, 1, ls.v[i].id);
                sqlite3_step(st);
                sqlite3_reset(st);
            }
        }
    for (size_t i = 0; i < n; i++) {
        const esm_shard *s = &sh[i];
        /* a child waits for its parents (both, after a merge) */
        if (*s->parent && shard_listed(listed, n, s->parent) && !shard_done(&ls, s->parent))
            continue;
        if (*s->adjacent && shard_listed(listed, n, s->adjacent) && !shard_done(&ls, s->adjacent))
            continue;
        size_t lo, hi;
        lanes_of(&ls, s->id, &lo, &hi);
        if (hi == lo) {
            lanes_create(core, m->id, s->id, (int)m->parallel, "", 0);
            lanes_free(&ls);
            lanes_load(core, m->id, &ls);
            lanes_of(&ls, s->id, &lo, &hi);
        }
        /* one read of the shard for its lanes free to take a batch */
        size_t nr = 0;
        lane **rl = calloc(ls.n ? ls.n : 1, sizeof *rl);
        read_result *rr = calloc(ls.n ? ls.n : 1, sizeof *rr);
        if (!rl || !rr) {
            free(rl);
            free(rr);
            continue;
        }
        for (size_t j = lo; j < hi; j++)
            if (lane_reads(&ls.v[j]))
                rl[nr++] = &ls.v[j];
        int64_t read_due = nr > 0 ? shard_read_due(core, m, s->id) : 0;
        if (read_due > now_ms(core)) {
            if (read_due < next)
                next = read_due;
            nr = 0;
        }
        if (nr > 0) {
            char code[sizeof err.code];
            read_shard(core, m, rl, nr, filter, m->batch_size, rr, code, sizeof code);
            if (rr[0].error)
                trace_read_retry(core, m, s->id, code);
        }
        for (size_t j = lo, k = 0; j < hi; j++) {
            int reads = k < nr && rl[k] == &ls.v[j];
            int64_t due = lane_turn(core, m, &ls.v[j], reads ? &rr[k] : NULL);
            if (reads)
                k++;
            if (due < next)
                next = due;
        }
        for (size_t k = 0; k < nr; k++)
            read_result_free(&rr[k]);
        free(rl);
        free(rr);
    }
    lanes_free(&ls);
    esm_filter_free(filter);
    free(listed);
    free(sh);
    return next;
}

static int polls(const esm_mapping *m)
{
    return strcmp(m->state, "Enabled") == 0 ||
           (strcmp(m->state, "Updating") == 0 && strcmp(m->target, "Enabled") == 0);
}

static void tick(tp_core *core, void *arg, int64_t due_ms)
{
    uintptr_t a = (uintptr_t)arg;
    int64_t id = (int64_t)(a >> 32);
    uint32_t token = (uint32_t)(a & 0xffffffffu);
    esm_mapping m;
    if (esm_mapping_load(core, id, &m) != 1)
        return;
    if ((uint32_t)(m.token & 0xffffffff) != token) {
        esm_mapping_clear(&m);
        return;
    }
    tp_store_exec(core->store, "SAVEPOINT esm_tick");
    static const char clear_sql[] = "UPDATE esm_mappings SET tick_due=0 WHERE id=?1";
    sqlite3_stmt *st = stmt(core, clear_sql);
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    if (esm_settle(core, &m)) {
        tp_store_exec(core->store, "RELEASE esm_tick");
        esm_mapping_clear(&m);
        return;
    }
    int64_t next = INT64_MAX;
    if (m.state_due_ms > 0)
        next = m.state_due_ms;
    if (polls(&m) && m.src && !m.src->stream) {
        int64_t due = m.src->poll(core, &m);
        if (due < next)
            next = due;
    } else if (polls(&m) && m.src) {
        int64_t poll = stream_poll_ms(core, m.src->stream);
        int64_t lane_due = poll_mapping(core, &m);
        if (due_ms + poll < next)
            next = due_ms + poll;
        if (lane_due < next)
            next = lane_due;
    }
    if (next != INT64_MAX)
        esm_poller_wake(core, id, next);
    tp_store_exec(core->store, "RELEASE esm_tick");
    esm_mapping_clear(&m);
}

/* --- reads shared by the stream-like sources ----------------------------------- */

int esm_stream_call(tp_core *core, const esm_mapping *m, const esm_stream_api *api,
                    const char *op, cJSON *in, cJSON **out, tp_error *err)
{
    char target[96];
    snprintf(target, sizeof target, "%s.%s", api->target, op);
    int rc = lambda_call_internal(core, m->account, m->region, target, in, out, err);
    cJSON_Delete(in);
    return rc;
}

char *esm_stream_iterator(tp_core *core, const esm_mapping *m, const esm_stream_api *api,
                          const char *shard, const char *after, double at_ms)
{
    for (int pass = 0; pass < 2; pass++) {
        cJSON *in = cJSON_CreateObject(), *out = NULL;
        cJSON_AddStringToObject(in, api->arn_member, m->source_arn);
        cJSON_AddStringToObject(in, "ShardId", shard);
        if (*after && pass == 0) {
            cJSON_AddStringToObject(in, "ShardIteratorType", "AFTER_SEQUENCE_NUMBER");
            cJSON_AddStringToObject(in, api->seq_member, after);
        } else if (!*after && at_ms >= 0) {
            cJSON_AddStringToObject(in, "ShardIteratorType", "AT_TIMESTAMP");
            cJSON_AddNumberToObject(in, "Timestamp", at_ms);
        } else {
            cJSON_AddStringToObject(in, "ShardIteratorType", "TRIM_HORIZON");
        }
        tp_error err = {0};
        if (esm_stream_call(core, m, api, "GetShardIterator", in, &out, &err) == 0) {
            const char *it = tp_json_str(out, "ShardIterator");
            char *copy = it ? strdup(it) : NULL;
            cJSON_Delete(out);
            return copy;
        }
        /* the checkpoint is gone: what is left starts at the horizon */
        if (strcmp(err.code, api->trimmed_code) != 0 || !*after)
            return NULL;
    }
    return NULL;
}

int esm_stream_read_page(tp_core *core, const esm_mapping *m, const esm_stream_api *api,
                         const char *it, int64_t limit, cJSON **records, char **next,
                         tp_error *err)
{
    cJSON *in = cJSON_CreateObject(), *out = NULL;
    cJSON_AddStringToObject(in, "ShardIterator", it);
    tp_json_add_int(in, "Limit", limit > api->max_limit ? api->max_limit : limit);
    *records = NULL;
    *next = NULL;
    if (esm_stream_call(core, m, api, "GetRecords", in, &out, err) != 0)
        return -1;
    cJSON *recs = cJSON_DetachItemFromObjectCaseSensitive(out, "Records");
    *records = recs ? recs : cJSON_CreateArray();
    const char *nx = tp_json_str(out, "NextShardIterator");
    *next = nx ? strdup(nx) : NULL;
    cJSON_Delete(out);
    return 0;
}
