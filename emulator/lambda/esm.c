/* lambda/esm — event source mappings: storage, the Lambda API actions
 * (Create/Get/List/Update/DeleteEventSourceMapping), the state machine and
 * the config file's "event_source_mappings". The runtime that reads the
 * stream and invokes the function is poller.c; esm.h is what they share.
 *
 * Sources: DynamoDB streams, Kinesis streams and SQS queues (esm.h's esm_source; other ARNs
 * get AWS's "Unrecognized event source" answer). A queue's mapping has
 * none of the stream settings and answers without them.
 *
 * State machine (esm_mappings.state; `target` is where a transitional state
 * settles, `state_due_ms` when — "esm_transition_ms", default 1000, of
 * tidepool time later; esm_settle makes the move, from the mapping's poll
 * event):
 *
 *   CreateEventSourceMapping --> Creating --+--(Enabled)--> Enabled
 *        (esm_create)                       +--(Enabled=false)--> Disabled
 *   Enabled  --Update Enabled=false (esm_update)--> Disabling --> Disabled
 *   Disabled --Update Enabled=true  (esm_update)--> Enabling  --> Enabled
 *   Enabled|Disabled --Update other settings-----> Updating  --> same state
 *   Enabled|Disabled --Delete (esm_delete)-------> Deleting  --> row gone
 *   config file mappings start Enabled (esm_start)
 *
 * Update or Delete in a transitional state: ResourceInUseException. The
 * poller reads the stream only while the mapping is Enabled (or Updating
 * towards Enabled); an invocation in flight when a mapping is disabled
 * still checkpoints, one in flight when it is deleted is ignored. */
#include <assert.h>
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/json.h"
#include "core/log.h"
#include "core/store.h"
#include "core/trace.h"
#include "esm.h"
#include "tidepool/engine.h"   /* tp_account_for_key, as config functions use */

const char esm_schema[] =
    "CREATE TABLE IF NOT EXISTS esm_mappings("
    "  id INTEGER PRIMARY KEY,"
    "  uuid TEXT NOT NULL UNIQUE,"
    "  account TEXT NOT NULL, region TEXT NOT NULL,"
    "  function_arn TEXT NOT NULL, source_arn TEXT NOT NULL,"
    "  conf TEXT NOT NULL,"                 /* the settings, JSON */
    "  state TEXT NOT NULL,"                /* Creating Enabled Disabled ... */
    "  target TEXT NOT NULL DEFAULT '',"    /* Enabled Disabled Deleted, while transitional */
    "  state_due_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_result TEXT NOT NULL DEFAULT 'No records processed',"
    "  modified_ms INTEGER NOT NULL,"
    "  positioned INTEGER NOT NULL DEFAULT 0,"
    "  token INTEGER NOT NULL DEFAULT 0,"
    "  tick_due INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS esm_lanes("
    "  id INTEGER PRIMARY KEY,"
    "  mapping_id INTEGER NOT NULL, shard_id TEXT NOT NULL, lane INTEGER NOT NULL,"
    "  nlanes INTEGER NOT NULL,"
    "  checkpoint TEXT NOT NULL DEFAULT '',"  /* last sequence number done with */
    "  done INTEGER NOT NULL DEFAULT 0,"      /* shard closed and read to its end */
    "  closing INTEGER NOT NULL DEFAULT 0,"   /* the held batch ends the shard */
    "  batch TEXT,"                           /* records being delivered, JSON array */
    "  sizes TEXT,"                           /* sub-batch sizes (bisect), JSON array */
    "  batch_end TEXT NOT NULL DEFAULT '',"   /* checkpoint once the batch is done */
    "  attempt INTEGER NOT NULL DEFAULT 0,"   /* invocations of the current sub-batch */
    "  throttles INTEGER NOT NULL DEFAULT 0,"
    "  inflight INTEGER NOT NULL DEFAULT 0,"  /* invocation id */
    "  retry_at INTEGER NOT NULL DEFAULT 0,"
    "  window_start INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE(mapping_id, shard_id, lane));"
    /* queue sources (source_sqs.c): the batches received and not yet done
     * with (inflight 0: still gathering in the batching window), and each
     * mapping's poller count */
    "CREATE TABLE IF NOT EXISTS esm_queue_batches("
    "  id INTEGER PRIMARY KEY,"
    "  mapping_id INTEGER NOT NULL,"
    "  records TEXT NOT NULL,"                /* the event records, JSON array */
    "  bytes INTEGER NOT NULL DEFAULT 0,"
    "  window_start INTEGER NOT NULL DEFAULT 0,"
    "  inflight INTEGER NOT NULL DEFAULT 0);"  /* invocation id */
    "CREATE TABLE IF NOT EXISTS esm_queue_pollers("
    "  mapping_id INTEGER PRIMARY KEY,"
    "  pollers INTEGER NOT NULL,"             /* concurrent batches allowed now */
    "  scaled_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS esm_shard_reads("   /* a stream shard's last read */
    "  mapping_id INTEGER NOT NULL, shard_id TEXT NOT NULL, read_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(mapping_id, shard_id)) WITHOUT ROWID;";

#define DEFAULT_TRANSITION_MS 1000
#define LIST_DEFAULT 100

static sqlite3_stmt *stmt(tp_core *core, const char *sql) { return tp_store_stmt(core->store, sql); }

static int storage_error(tp_core *core, tp_error *err)
{
    tp_log_msg(TP_LOG_ERROR, "esm: storage error: %s", sqlite3_errmsg(tp_store_db(core->store)));
    return tp_fail(err, TP_ERR_LAMBDA_SERVICE, "storage error");
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

static int transitional(const char *state)
{
    return strcmp(state, "Enabled") != 0 && strcmp(state, "Disabled") != 0;
}

/* --- loading --------------------------------------------------------------- */

static void conf_fill(esm_mapping *m)
{
    const cJSON *c = m->conf;
    snprintf(m->starting_position, sizeof m->starting_position, "%s",
             tp_json_str(c, "StartingPosition") ? tp_json_str(c, "StartingPosition") : "TRIM_HORIZON");
    m->src = esm_source_for(m->source_arn);
    int queue = m->src && !m->src->stream;
    m->batch_size = tp_json_int(c, "BatchSize", queue ? 10 : 100);
    m->max_concurrency = tp_json_int(tp_json_path(c, "ScalingConfig"), "MaximumConcurrency", 0);
    m->window_s = tp_json_int(c, "MaximumBatchingWindowInSeconds", 0);
    m->parallel = tp_json_int(c, "ParallelizationFactor", 1);
    m->max_age_s = tp_json_int(c, "MaximumRecordAgeInSeconds", -1);
    m->max_retries = tp_json_int(c, "MaximumRetryAttempts", -1);
    m->bisect = tp_json_bool(c, "BisectBatchOnFunctionError", 0);
    m->report_failures = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(c, "FunctionResponseTypes"))
        if (cJSON_IsString(t) && strcmp(t->valuestring, "ReportBatchItemFailures") == 0)
            m->report_failures = 1;
    m->on_failure = tp_json_str(tp_json_path(c, "DestinationConfig.OnFailure"), "Destination");
    m->filter = cJSON_GetObjectItemCaseSensitive(c, "FilterCriteria");
    if (m->batch_size < 1)
        m->batch_size = 1;
    if (m->parallel < 1)
        m->parallel = 1;
}

#define MAPPING_COLS                                                                              \
    "id, uuid, account, region, function_arn, source_arn, conf, state, target, state_due_ms,"    \
    " last_result, modified_ms, positioned, token"

typedef struct row_extra {
    char target[16];
    int64_t state_due_ms, modified_ms;
    char last_result[128];
} row_extra;

#ifndef NDEBUG
/* The facts of each state: a transitional state knows where it settles and
 * when; Enabled and Disabled have nothing pending. */
static int esm_check(const esm_mapping *m)
{
    if (strcmp(m->state, "Enabled") == 0 || strcmp(m->state, "Disabled") == 0)
        return m->target[0] == '\0' && m->state_due_ms == 0;
    if (strcmp(m->state, "Deleting") == 0)
        return strcmp(m->target, "Deleted") == 0 && m->state_due_ms > 0;
    if (strcmp(m->state, "Creating") == 0 || strcmp(m->state, "Updating") == 0)
        return (strcmp(m->target, "Enabled") == 0 || strcmp(m->target, "Disabled") == 0) &&
               m->state_due_ms > 0;
    if (strcmp(m->state, "Enabling") == 0)
        return strcmp(m->target, "Enabled") == 0 && m->state_due_ms > 0;
    if (strcmp(m->state, "Disabling") == 0)
        return strcmp(m->target, "Disabled") == 0 && m->state_due_ms > 0;
    return 0;
}
#endif

static int mapping_read(sqlite3_stmt *st, esm_mapping *m, row_extra *x)
{
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(st, 0);
    copy_text(m->uuid, sizeof m->uuid, sqlite3_column_text(st, 1));
    copy_text(m->account, sizeof m->account, sqlite3_column_text(st, 2));
    copy_text(m->region, sizeof m->region, sqlite3_column_text(st, 3));
    copy_text(m->function_arn, sizeof m->function_arn, sqlite3_column_text(st, 4));
    copy_text(m->source_arn, sizeof m->source_arn, sqlite3_column_text(st, 5));
    const char *conf = (const char *)sqlite3_column_text(st, 6);
    m->conf = conf ? tp_json_parse_str(conf) : NULL;
    if (!m->conf)
        m->conf = cJSON_CreateObject();
    copy_text(m->state, sizeof m->state, sqlite3_column_text(st, 7));
    if (x) {
        copy_text(x->target, sizeof x->target, sqlite3_column_text(st, 8));
        x->state_due_ms = sqlite3_column_int64(st, 9);
        copy_text(x->last_result, sizeof x->last_result, sqlite3_column_text(st, 10));
        x->modified_ms = sqlite3_column_int64(st, 11);
    }
    copy_text(m->target, sizeof m->target, sqlite3_column_text(st, 8));
    m->state_due_ms = sqlite3_column_int64(st, 9);
    m->positioned = (int)sqlite3_column_int64(st, 12);
    m->token = sqlite3_column_int64(st, 13);
    conf_fill(m);
    assert(esm_check(m));
    return m->conf ? 0 : -1;
}

int esm_mapping_load(tp_core *core, int64_t id, esm_mapping *m)
{
    static const char sql[] = "SELECT " MAPPING_COLS " FROM esm_mappings WHERE id=?1";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        mapping_read(st, m, NULL);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

void esm_mapping_clear(esm_mapping *m)
{
    cJSON_Delete(m->conf);
    m->conf = NULL;
}

/* The caller's mapping with this UUID: 1 found, 0 not, -1 error. */
static int mapping_by_uuid(tp_req *r, const char *uuid, esm_mapping *m, row_extra *x)
{
    static const char sql[] =
        "SELECT " MAPPING_COLS " FROM esm_mappings WHERE uuid=?1 AND account=?2 AND region=?3";
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, uuid ? uuid : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, r->account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, r->region, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        mapping_read(st, m, x);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int exec_id(tp_core *core, const char *sql, int64_t id)
{
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int esm_set_last_result(tp_core *core, int64_t id, const char *text)
{
    static const char sql[] = "UPDATE esm_mappings SET last_result=?2 WHERE id=?1 AND last_result<>?2";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int esm_set_positioned(tp_core *core, int64_t id)
{
    return exec_id(core, "UPDATE esm_mappings SET positioned=1 WHERE id=?1", id);
}

int64_t esm_next_token(tp_core *core, int64_t id)
{
    static const char up[] = "UPDATE esm_mappings SET token=token+1 WHERE id=?1";
    static const char get[] = "SELECT token FROM esm_mappings WHERE id=?1";
    if (exec_id(core, up, id) != 0)
        return -1;
    sqlite3_stmt *st = stmt(core, get);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int64_t t = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return t;
}

static void trace_state(tp_core *core, const esm_mapping *m, const char *state)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "mapping", m->uuid);
    cJSON_AddStringToObject(f, "state", state);
    tp_trace_emit(core, "esm_state", f);
    cJSON_Delete(f);
}

static int64_t transition_ms(const tp_core *core)
{
    int64_t d = lambda_setting(core, "esm_transition_ms", DEFAULT_TRANSITION_MS);
    return d < 0 ? 0 : d;
}

/* Moves a mapping into a transitional state that settles into target. */
static int begin_transition(tp_req *r, esm_mapping *m, const char *state, const char *target)
{
    static const char sql[] =
        "UPDATE esm_mappings SET state=?2, target=?3, state_due_ms=?4, modified_ms=?5 WHERE id=?1";
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return -1;
    int64_t due = r->now_ms + transition_ms(r->core);
    sqlite3_bind_int64(st, 1, m->id);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, target, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, due);
    sqlite3_bind_int64(st, 5, r->now_ms);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    snprintf(m->state, sizeof m->state, "%s", state);
    m->state_due_ms = due;
    trace_state(r->core, m, state);
    esm_poller_wake(r->core, m->id, due);
    return 0;
}

int esm_settle(tp_core *core, esm_mapping *m)
{
    static const char target_sql[] = "SELECT target FROM esm_mappings WHERE id=?1";
    static const char set_sql[] =
        "UPDATE esm_mappings SET state=?2, target='', state_due_ms=0 WHERE id=?1";
    if (!transitional(m->state))
        return 0;
    int64_t now = tp_clock_now_ms(core->clock);
    if (m->state_due_ms > now)
        return 0;
    sqlite3_stmt *st = stmt(core, target_sql);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, m->id);
    char target[16] = "";
    if (sqlite3_step(st) == SQLITE_ROW)
        copy_text(target, sizeof target, sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (strcmp(target, "Deleted") == 0) {
        esm_poller_forget(core, m->id);
        exec_id(core, "DELETE FROM esm_mappings WHERE id=?1", m->id);
        trace_state(core, m, "Deleted");
        return 1;
    }
    if (strcmp(target, "Enabled") != 0 && strcmp(target, "Disabled") != 0)
        snprintf(target, sizeof target, "Enabled");
    st = stmt(core, set_sql);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, m->id);
    sqlite3_bind_text(st, 2, target, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
    snprintf(m->state, sizeof m->state, "%s", target);
    m->state_due_ms = 0;
    trace_state(core, m, target);
    return 0;
}

/* --- the response shape ------------------------------------------------------ */

static void add_copy(cJSON *out, const cJSON *conf, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(conf, name);
    if (v)
        cJSON_AddItemToObject(out, name, cJSON_Duplicate(v, 1));
}

static void add_mapping_arn(cJSON *o, const esm_mapping *m)
{
    char arn[256];
    snprintf(arn, sizeof arn, "arn:aws:lambda:%s:%s:event-source-mapping:%s", m->region, m->account,
             m->uuid);
    cJSON_AddStringToObject(o, "EventSourceMappingArn", arn);
}

/* A queue's mapping has none of the stream settings (StartingPosition,
 * ParallelizationFactor, DestinationConfig, retries, record age). */
static cJSON *queue_mapping_json(const esm_mapping *m, const row_extra *x)
{
    const cJSON *c = m->conf;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "UUID", m->uuid);
    tp_json_add_int(o, "BatchSize", m->batch_size);
    tp_json_add_int(o, "MaximumBatchingWindowInSeconds", m->window_s);
    cJSON_AddStringToObject(o, "EventSourceArn", m->source_arn);
    add_copy(o, c, "FilterCriteria");
    cJSON_AddStringToObject(o, "FunctionArn", m->function_arn);
    cJSON_AddNumberToObject(o, "LastModified", (double)x->modified_ms / 1000.0);
    cJSON_AddStringToObject(o, "State", m->state);
    cJSON_AddStringToObject(o, "StateTransitionReason", "User action");
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(c, "FunctionResponseTypes");
    cJSON_AddItemToObject(o, "FunctionResponseTypes",
                          types ? cJSON_Duplicate(types, 1) : cJSON_CreateArray());
    add_copy(o, c, "ScalingConfig");
    add_mapping_arn(o, m);
    return o;
}

/* EventSourceMappingConfiguration, in the member order Lambda answers with. */
static cJSON *mapping_json(const esm_mapping *m, const row_extra *x)
{
    const cJSON *c = m->conf;
    if (m->src && !m->src->stream)
        return queue_mapping_json(m, x);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "UUID", m->uuid);
    cJSON_AddStringToObject(o, "StartingPosition", m->starting_position);
    add_copy(o, c, "StartingPositionTimestamp");
    tp_json_add_int(o, "BatchSize", m->batch_size);
    tp_json_add_int(o, "MaximumBatchingWindowInSeconds", m->window_s);
    tp_json_add_int(o, "ParallelizationFactor", m->parallel);
    cJSON_AddStringToObject(o, "EventSourceArn", m->source_arn);
    add_copy(o, c, "FilterCriteria");
    cJSON_AddStringToObject(o, "FunctionArn", m->function_arn);
    cJSON_AddNumberToObject(o, "LastModified", (double)x->modified_ms / 1000.0);
    cJSON_AddStringToObject(o, "LastProcessingResult", x->last_result);
    cJSON_AddStringToObject(o, "State", m->state);
    cJSON_AddStringToObject(o, "StateTransitionReason", "User action");
    const cJSON *dest = cJSON_GetObjectItemCaseSensitive(c, "DestinationConfig");
    if (dest) {
        cJSON *d = cJSON_Duplicate(dest, 1);
        if (!cJSON_GetObjectItemCaseSensitive(d, "OnFailure"))
            cJSON_AddObjectToObject(d, "OnFailure");
        cJSON_AddItemToObject(o, "DestinationConfig", d);
    } else {
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "DestinationConfig"), "OnFailure");
    }
    tp_json_add_int(o, "MaximumRecordAgeInSeconds", m->max_age_s);
    cJSON_AddBoolToObject(o, "BisectBatchOnFunctionError", m->bisect);
    tp_json_add_int(o, "MaximumRetryAttempts", m->max_retries);
    tp_json_add_int(o, "TumblingWindowInSeconds", tp_json_int(c, "TumblingWindowInSeconds", 0));
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(c, "FunctionResponseTypes");
    cJSON_AddItemToObject(o, "FunctionResponseTypes",
                          types ? cJSON_Duplicate(types, 1) : cJSON_CreateArray());
    add_mapping_arn(o, m);
    return o;
}

static int answer(tp_req *r, int64_t id, cJSON **out, tp_error *err)
{
    static const char sql[] = "SELECT " MAPPING_COLS " FROM esm_mappings WHERE id=?1";
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return storage_error(r->core, err);
    sqlite3_bind_int64(st, 1, id);
    esm_mapping m;
    row_extra x;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        mapping_read(st, &m, &x);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return storage_error(r->core, err);
    *out = mapping_json(&m, &x);
    esm_mapping_clear(&m);
    return 0;
}

/* --- validation ----------------------------------------------------------- */

static int invalid(tp_error *err, const char *fmt, const char *arg)
{
    return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER, fmt, arg);
}

/* Checks the settings members common to Create and Update, copying the
 * ones present from `in` into conf. */
static int settings_merge(tp_core *core, const cJSON *in, cJSON *conf, int queue, tp_error *err)
{
    static const char *const members[] = {
        "BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor",
        "FilterCriteria", "DestinationConfig", "MaximumRecordAgeInSeconds",
        "BisectBatchOnFunctionError", "MaximumRetryAttempts", "TumblingWindowInSeconds",
        "FunctionResponseTypes", "ScalingConfig"};
    /* settings that only streams have, and the one only queues have */
    static const char *const stream_only[] = {
        "ParallelizationFactor", "DestinationConfig", "MaximumRecordAgeInSeconds",
        "BisectBatchOnFunctionError", "MaximumRetryAttempts", "TumblingWindowInSeconds",
        "StartingPosition", "StartingPositionTimestamp"};
    (void)core;
    if (queue && cJSON_GetObjectItemCaseSensitive(in, "StartingPosition"))
        return invalid(err, "%s", "StartingPosition is not valid for SQS event sources.");
    /* unverified wording: the form of Lambda's DestinationConfig refusal
     * below, for the other members */
    for (size_t i = 0; queue && i < sizeof stream_only / sizeof stream_only[0]; i++)
        if (cJSON_GetObjectItemCaseSensitive(in, stream_only[i]))
            return invalid(err, "Unsupported %s parameter for given event source mapping type.",
                           stream_only[i]);
    if (!queue && cJSON_GetObjectItemCaseSensitive(in, "ScalingConfig"))
        return invalid(err, "Unsupported %s parameter for given event source mapping type.",
                       "ScalingConfig");
    if (queue) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(in, "BatchSize");
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(in, "MaximumBatchingWindowInSeconds");
        int64_t batch = cJSON_IsNumber(b) ? (int64_t)b->valuedouble : tp_json_int(conf, "BatchSize", 10);
        int64_t window = cJSON_IsNumber(w) ? (int64_t)w->valuedouble
                                           : tp_json_int(conf, "MaximumBatchingWindowInSeconds", 0);
        if (batch > 10 && window <= 0)
            return invalid(err, "%s",
                           "Maximum batch window in seconds must be greater than 0 if maximum batch "
                           "size is greater than 10");
    }
    int64_t age = tp_json_int(in, "MaximumRecordAgeInSeconds", -1);
    if (age != -1 && (age < 60 || age > 604800))
        return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER,
                       "1 validation error detected: Value '%" PRId64
                       "' at 'maximumRecordAgeInSeconds' failed to satisfy constraint: Member must "
                       "have value greater than or equal to 60",
                       age);
    const cJSON *dest = cJSON_GetObjectItemCaseSensitive(in, "DestinationConfig");
    if (dest && cJSON_GetObjectItemCaseSensitive(dest, "OnSuccess"))
        return invalid(err, "%s", "Unsupported DestinationConfig parameter for given event source mapping type.");
    const char *target = tp_json_str(tp_json_path(in, "DestinationConfig.OnFailure"), "Destination");
    if (target && *target && strncmp(target, "arn:aws:sqs:", 12) != 0 &&
        strncmp(target, "arn:aws:sns:", 12) != 0 && strncmp(target, "arn:aws:s3:", 11) != 0)
        return invalid(err, "The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination=%s)) is invalid.", target);
    const cJSON *fc = cJSON_GetObjectItemCaseSensitive(in, "FilterCriteria");
    if (fc) {
        esm_filter *f = esm_filter_new(fc, err);
        if (!f)
            return -1;
        esm_filter_free(f);
    }
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, members[i]);
        if (!v)
            continue;
        cJSON *copy = cJSON_Duplicate(v, 1);
        if (cJSON_GetObjectItemCaseSensitive(conf, members[i]))
            cJSON_ReplaceItemInObjectCaseSensitive(conf, members[i], copy);
        else
            cJSON_AddItemToObject(conf, members[i], copy);
    }
    return 0;
}

/* Resolves FunctionName to its ARN. lenient (config file): a function that
 * does not exist yet gets the ARN it will have. */
static int function_resolve(tp_req *r, const char *name, int lenient, char *arn, size_t cap,
                            tp_error *err)
{
    lambda_fn fn;
    memset(&fn, 0, sizeof fn);
    int found = lambda_fn_find(r->core, r->account, r->region, name, &fn);
    if (found < 0)
        return storage_error(r->core, err);
    if (found) {
        snprintf(arn, cap, "%s", fn.arn);
        lambda_fn_clear(&fn);
        return 0;
    }
    const char *base = name;
    char plain[256];
    if (strncmp(name, "arn:", 4) == 0) {
        snprintf(arn, cap, "%s", name);
    } else {
        const char *colon = strrchr(name, ':');   /* "ACCOUNT:function:NAME" partial ARN */
        base = colon ? colon + 1 : name;
        snprintf(plain, sizeof plain, "%s", base);
        lambda_function_arn(r->region, r->account, plain, arn, cap);
    }
    /* "...:function:NAME:$LATEST" names the same function */
    size_t n = strlen(arn);
    if (n > 8 && strcmp(arn + n - 8, ":$LATEST") == 0)
        arn[n - 8] = '\0';
    if (lenient)
        return 0;
    return tp_fail(err, TP_ERR_LAMBDA_NOT_FOUND, "Function not found: %s", arn);
}

/* --- CreateEventSourceMapping ----------------------------------------------- */

static int insert_mapping(tp_req *r, cJSON *in, const char *source, cJSON *conf, int from_config,
                          int64_t *id_out, tp_error *err)
{
    static const char dup_sql[] =
        "SELECT uuid FROM esm_mappings WHERE account=?1 AND region=?2 AND function_arn=?3"
        " AND source_arn=?4";
    static const char ins_sql[] =
        "INSERT INTO esm_mappings(uuid, account, region, function_arn, source_arn, conf, state,"
        " target, state_due_ms, modified_ms, positioned) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
        " ?9, ?10, 0)";
    const char *fname = tp_json_str(in, "FunctionName");
    char farn[256];
    if (function_resolve(r, fname ? fname : "", from_config, farn, sizeof farn, err) != 0 ||
        (!from_config && esm_source_for(source)->exists(r, source, err) != 0) ||
        (!from_config && esm_source_for(source)->suits &&
         esm_source_for(source)->suits(r, source, farn, err) != 0)) {
        cJSON_Delete(conf);
        return -1;
    }
    sqlite3_stmt *st = stmt(r->core, dup_sql);
    if (!st) {
        cJSON_Delete(conf);
        return storage_error(r->core, err);
    }
    sqlite3_bind_text(st, 1, r->account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, r->region, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, farn, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, source, -1, SQLITE_TRANSIENT);
    char dup[40] = "";
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        copy_text(dup, sizeof dup, sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (rc == SQLITE_ROW) {
        cJSON_Delete(conf);
        const char *fn_name = strrchr(farn, ':') ? strrchr(farn, ':') + 1 : farn;
        if (!esm_source_for(source)->stream)
            return tp_fail(err, TP_ERR_LAMBDA_CONFLICT,
                           "An event source mapping with SQS arn (\" %s \") and function (\" %s \") "
                           "already exists. Please update or delete the existing mapping with UUID %s",
                           source, fn_name, dup);
        return tp_fail(err, TP_ERR_LAMBDA_CONFLICT,
                       "The event source arn (\" %s \") and function (\" %s \") provided mapping "
                       "already exists. Please update or delete the existing mapping with UUID %s",
                       source, fn_name, dup);
    }
    char uuid[37];
    tp_rng_uuid(&r->core->rng, uuid);
    int enabled = tp_json_bool(in, "Enabled", 1);
    char *text = tp_json_print(conf);
    cJSON_Delete(conf);
    st = stmt(r->core, ins_sql);
    if (!st || !text) {
        free(text);
        return storage_error(r->core, err);
    }
    const char *state = from_config ? (enabled ? "Enabled" : "Disabled") : "Creating";
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, r->account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, r->region, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, farn, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, from_config ? "" : enabled ? "Enabled" : "Disabled", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, from_config ? 0 : r->now_ms + transition_ms(r->core));
    sqlite3_bind_int64(st, 10, r->now_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(text);
    if (rc != SQLITE_DONE)
        return storage_error(r->core, err);
    int64_t id = sqlite3_last_insert_rowid(tp_store_db(r->core->store));
    esm_mapping m = {.id = id};
    snprintf(m.uuid, sizeof m.uuid, "%s", uuid);
    trace_state(r->core, &m, state);
    esm_poller_wake(r->core, id, from_config ? r->now_ms : r->now_ms + transition_ms(r->core));
    *id_out = id;
    return 0;
}


static int create_queue_mapping(tp_req *r, cJSON *in, const char *source, int from_config,
                                int64_t *id_out, tp_error *err)
{
    size_t n = strlen(source);
    int fifo = n > 5 && strcmp(source + n - 5, ".fifo") == 0;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(in, "BatchSize");
    /* unverified wording */
    if (fifo && cJSON_IsNumber(b) && b->valuedouble > 10)
        return invalid(err, "%s", "Batch size for SQS FIFO event source must be between 1 and 10");
    cJSON *conf = cJSON_CreateObject();
    if (settings_merge(r->core, in, conf, 1, err) != 0) {
        cJSON_Delete(conf);
        return -1;
    }
    return insert_mapping(r, in, source, conf, from_config, id_out, err);
}

static int create_mapping(tp_req *r, cJSON *in, int from_config, int64_t *id_out, tp_error *err)
{
    const char *source = tp_json_str(in, "EventSourceArn");
    if (!source)
        return invalid(err, "%s", "Unrecognized event source.");
    const esm_source *src = esm_source_for(source);
    if (!src)
        return invalid(err,
                       "Unrecognized event source, must be kinesis, dynamodb stream or sqs. "
                       "Unsupported source arn : %s",
                       source);
    int queue = !src->stream;
    if (queue)
        return create_queue_mapping(r, in, source, from_config, id_out, err);
    const char *pos = tp_json_str(in, "StartingPosition");
    if (!pos)
        return invalid(err, "%s",
                       "1 validation error detected: Value null at 'startingPosition' failed to "
                       "satisfy constraint: Member must not be null.");
    int known = 0;
    for (const char *const *p = src->stream->starting_positions; p && *p; p++)
        known |= strcmp(pos, *p) == 0;
    if (!known)
        return invalid(err, "Unsupported starting position for arn type: %s", source);
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(in, "StartingPositionTimestamp");
    /* unverified wording (as a CloudFormation user quoted Lambda's answer) */
    if (strcmp(pos, "AT_TIMESTAMP") == 0 && !cJSON_IsNumber(ts))
        return invalid(err, "%s", "Need to specify a timestamp");
    cJSON *conf = cJSON_CreateObject();
    cJSON_AddStringToObject(conf, "StartingPosition", pos);
    if (strcmp(pos, "AT_TIMESTAMP") == 0)
        cJSON_AddNumberToObject(conf, "StartingPositionTimestamp", ts->valuedouble);
    if (settings_merge(r->core, in, conf, queue, err) != 0) {
        cJSON_Delete(conf);
        return -1;
    }
    return insert_mapping(r, in, source, conf, from_config, id_out, err);
}

int esm_create(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    int64_t id;
    if (create_mapping(r, in, 0, &id, err) != 0)
        return -1;
    return answer(r, id, out, err);
}

/* --- Get / List ------------------------------------------------------------- */

static int not_found(tp_error *err)
{
    return tp_fail(err, TP_ERR_LAMBDA_NOT_FOUND, "The resource you requested does not exist.");
}

int esm_get(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    esm_mapping m;
    row_extra x;
    int found = mapping_by_uuid(r, tp_json_str(in, "UUID"), &m, &x);
    if (found < 0)
        return storage_error(r->core, err);
    if (!found)
        return not_found(err);
    *out = mapping_json(&m, &x);
    esm_mapping_clear(&m);
    return 0;
}

int esm_list(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    static const char sql[] =
        "SELECT " MAPPING_COLS " FROM esm_mappings WHERE account=?1 AND region=?2"
        " AND (?3 IS NULL OR function_arn=?3) AND (?4 IS NULL OR source_arn=?4) AND id > ?5"
        " ORDER BY id LIMIT ?6";
    const char *fname = tp_json_str(in, "FunctionName");
    const char *source = tp_json_str(in, "EventSourceArn");
    const char *marker = tp_json_str(in, "Marker");
    int64_t max = tp_json_int(in, "MaxItems", LIST_DEFAULT);
    if (max < 1)
        max = 1;
    if (max > 10000)
        max = 10000;
    int64_t after = 0;
    if (marker) {
        char *end = NULL;
        long long v = strtoll(marker, &end, 10);
        if (!*marker || *end || v < 0)
            return invalid(err, "%s", "Invalid Marker");
        after = v;
    }
    char farn[256] = "";
    if (fname) {
        tp_error ignore = {0};
        function_resolve(r, fname, 1, farn, sizeof farn, &ignore);
    }
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return storage_error(r->core, err);
    sqlite3_bind_text(st, 1, r->account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, r->region, -1, SQLITE_TRANSIENT);
    if (fname)
        sqlite3_bind_text(st, 3, farn, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 3);
    if (source)
        sqlite3_bind_text(st, 4, source, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 4);
    sqlite3_bind_int64(st, 5, after);
    sqlite3_bind_int64(st, 6, max + 1);
    cJSON *res = cJSON_CreateObject();
    cJSON *list = cJSON_CreateArray();
    int rc, n = 0, more = 0;
    int64_t last = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == max) {
            more = 1;
            break;
        }
        esm_mapping m;
        row_extra x;
        mapping_read(st, &m, &x);
        last = m.id;
        cJSON_AddItemToArray(list, mapping_json(&m, &x));
        esm_mapping_clear(&m);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cJSON_Delete(res);
        cJSON_Delete(list);
        return storage_error(r->core, err);
    }
    if (more) {
        char buf[32];
        snprintf(buf, sizeof buf, "%" PRId64, last);
        cJSON_AddStringToObject(res, "NextMarker", buf);
    }
    cJSON_AddItemToObject(res, "EventSourceMappings", list);
    *out = res;
    return 0;
}

/* --- Update / Delete -------------------------------------------------------- */

static int in_use(tp_error *err, const char *what)
{
    return tp_fail(err, TP_ERR_RESOURCE_IN_USE,
                   "Cannot %s the event source mapping because it is in use.", what);
}

int esm_update(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    static const char sql[] =
        "UPDATE esm_mappings SET conf=?2, function_arn=?3, modified_ms=?4 WHERE id=?1";
    esm_mapping m;
    row_extra x;
    int found = mapping_by_uuid(r, tp_json_str(in, "UUID"), &m, &x);
    if (found < 0)
        return storage_error(r->core, err);
    if (!found)
        return not_found(err);
    int rc = -1;
    char farn[256];
    snprintf(farn, sizeof farn, "%s", m.function_arn);
    const char *fname = tp_json_str(in, "FunctionName");
    if (transitional(m.state)) {
        in_use(err, "update");
        goto out;
    }
    if (settings_merge(r->core, in, m.conf, m.src && !m.src->stream, err) != 0)
        goto out;
    if (fname && function_resolve(r, fname, 0, farn, sizeof farn, err) != 0)
        goto out;
    /* a new function must suit the source as at creation */
    if (fname && m.src && m.src->suits && m.src->suits(r, m.source_arn, farn, err) != 0)
        goto out;
    char *text = tp_json_print(m.conf);
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st || !text) {
        free(text);
        storage_error(r->core, err);
        goto out;
    }
    sqlite3_bind_int64(st, 1, m.id);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, farn, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, r->now_ms);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    free(text);
    if (step != SQLITE_DONE) {
        storage_error(r->core, err);
        goto out;
    }
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(in, "Enabled");
    int was = strcmp(m.state, "Enabled") == 0;
    int want = cJSON_IsBool(en) ? cJSON_IsTrue(en) : was;
    const char *state = want == was ? "Updating" : want ? "Enabling" : "Disabling";
    if (begin_transition(r, &m, state, want ? "Enabled" : "Disabled") != 0) {
        storage_error(r->core, err);
        goto out;
    }
    rc = answer(r, m.id, out, err);
out:
    esm_mapping_clear(&m);
    return rc;
}

int esm_delete(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    esm_mapping m;
    row_extra x;
    int found = mapping_by_uuid(r, tp_json_str(in, "UUID"), &m, &x);
    if (found < 0)
        return storage_error(r->core, err);
    if (!found)
        return not_found(err);
    int rc = -1;
    if (transitional(m.state))
        in_use(err, "delete");
    else if (begin_transition(r, &m, "Deleting", "Deleted") != 0)
        storage_error(r->core, err);
    else
        rc = answer(r, m.id, out, err);
    esm_mapping_clear(&m);
    return rc;
}

/* --- start / busy ---------------------------------------------------------- */

/* "arn:aws:SERVICE:REGION:ACCOUNT:..." -> region, account. */
static int arn_scope(const char *arn, char *region, size_t rcap, char *account, size_t acap)
{
    if (!arn || strncmp(arn, "arn:aws:", 8) != 0 || !strchr(arn + 8, ':'))
        return -1;
    const char *p = strchr(arn + 8, ':') + 1, *c1 = strchr(p, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || (size_t)(c1 - p) >= rcap || (size_t)(c2 - c1 - 1) >= acap)
        return -1;
    memcpy(region, p, (size_t)(c1 - p));
    region[c1 - p] = '\0';
    memcpy(account, c1 + 1, (size_t)(c2 - c1 - 1));
    account[c2 - c1 - 1] = '\0';
    return 0;
}

static int config_mappings(tp_core *core)
{
    static const char exists_sql[] =
        "SELECT 1 FROM esm_mappings WHERE account=?1 AND region=?2 AND source_arn=?3"
        " AND function_arn LIKE '%:function:' || ?4";
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(lambda_config(core), "event_source_mappings");
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        char region[32], account[13];
        const char *source = tp_json_str(item, "EventSourceArn");
        const char *fname = tp_json_str(item, "FunctionName");
        /* whose mapping: "access_key" and "region" as for config functions,
         * else the stream ARN's account and region */
        int scoped = arn_scope(source, region, sizeof region, account, sizeof account) == 0;
        const char *key = tp_json_str(item, "access_key"), *reg = tp_json_str(item, "region");
        if (key)
            tp_account_for_key(key, account);
        if (reg)
            snprintf(region, sizeof region, "%s", reg);
        if (!scoped || !fname) {
            tp_log_msg(TP_LOG_ERROR, "config: event_source_mappings: an entry needs FunctionName and "
                                     "an EventSourceArn");
            continue;
        }
        /* a restart with --data-dir already has it */
        sqlite3_stmt *st = stmt(core, exists_sql);
        if (!st)
            return -1;
        const char *base = strrchr(fname, ':') ? strrchr(fname, ':') + 1 : fname;
        sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, region, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, source, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, base, -1, SQLITE_TRANSIENT);
        int have = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_reset(st);
        if (have)
            continue;
        tp_req r = {.core = core, .account = account, .region = region, .request_id = "",
                    .now_ms = tp_clock_now_ms(core->clock)};
        cJSON *in = cJSON_Duplicate(item, 1);
        tp_error err = {0};
        int64_t id;
        if (create_mapping(&r, in, 1, &id, &err) != 0)
            tp_log_msg(TP_LOG_ERROR, "config: event source mapping %s -> %s: %s: %s", source, fname,
                       err.code, err.message);
        cJSON_Delete(in);
    }
    return 0;
}

int esm_start(tp_core *core)
{
    static const char ids_sql[] = "SELECT id FROM esm_mappings ORDER BY id";
    if (tp_store_exec(core->store, "UPDATE esm_mappings SET tick_due=0") != 0 ||
        esm_poller_restart(core) != 0)
        return -1;
    sqlite3_stmt *st = stmt(core, ids_sql);
    if (!st)
        return -1;
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            int64_t *g = realloc(ids, ncap * sizeof *g);
            if (!g)
                break;
            ids = g;
            cap = ncap;
        }
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    int64_t now = tp_clock_now_ms(core->clock);
    for (size_t i = 0; i < n; i++)
        esm_poller_wake(core, ids[i], now);
    free(ids);
    return config_mappings(core);
}

int esm_busy(tp_core *core)
{
    static const char sql[] =
        "SELECT 1 FROM esm_mappings WHERE state NOT IN ('Enabled', 'Disabled') LIMIT 1";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return 0;
    int busy = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return busy || esm_poller_busy(core);
}
