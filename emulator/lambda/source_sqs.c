/* lambda/source_sqs — SQS queues as an event source: the queue runtime
 * behind the mapping's poll event (esm.h's esm_source with its own poll).
 * It reads the queue through core/dispatch (AmazonSQS.GetQueueUrl,
 * GetQueueAttributes, ReceiveMessage, DeleteMessageBatch via
 * lambda_call_internal — lambda/ never includes sqs/) and never changes a
 * message's visibility: what it does not delete becomes visible again on
 * the queue's clock, and SQS itself moves it to the dead-letter queue once
 * maxReceiveCount receives are used up.
 *
 * The five questions of esm.h, for a queue:
 *   units of work  the one queue; up to `pollers` batches at once
 *   read           ReceiveMessage (10 at a time) up to BatchSize messages,
 *                  the 6 MB payload, or an empty receive; with
 *                  MaximumBatchingWindowInSeconds a short batch gathers
 *                  until the window closes
 *   acknowledge    DeleteMessageBatch: all of a successful batch, all but
 *                  the reported itemIdentifiers (ReportBatchItemFailures),
 *                  and at once the messages no filter matches (as Lambda)
 *   hand back      nothing is deleted: visibility runs out, SQS redelivers;
 *                  so also for an invocation refused for concurrency
 *   the event      queue_record: Lambda's SQS record
 *
 * A batch's life (esm_queue_batches row):
 *   received --window open, not full--> gathering (inflight 0)
 *   received|gathering --full, window over--> invoked (inflight = id)
 *   invoked --outcome (on_done)--> deleted what succeeded; row gone
 *   invoke refused (throttled) --> row gone, messages left in flight
 *
 * Scaling, the way Lambda describes its standard-queue pollers: five
 * concurrent batches to begin with; while every poller is busy and the
 * queue still has messages, up to 300 more per minute; never above
 * ScalingConfig.MaximumConcurrency (else 1,250) or the function's reserved
 * concurrency; back to five once the queue is empty. A refused invocation
 * (throttle) brings the count down to the batches still running. Config
 * ("lambda" object): "sqs_poll_interval_ms" (200: how soon a queue that
 * could not be read is tried again), "sqs_pollers_initial" (5),
 * "sqs_pollers_per_minute" (300), "sqs_pollers_max" (1250).
 *
 * Polling is woken, as AWS's pollers long-poll: a poll that finds nothing
 * to do arms no timer; SQS's wake for the queue (a message sent, a delay
 * or visibility timeout over, a FIFO group freed) polls the mapping's
 * queue at that moment (esm_source_woken), an invocation's end polls it
 * again (on_done), and a gathering window or a scaling step arm their own
 * time. On the virtual clock each of those is a scheduler event, so a run
 * replays identically.
 *
 * FIFO queues: SQS hands out a message group's next messages only once
 * the ones in flight are deleted or visible again, so each group is
 * delivered in order whatever the number of pollers.
 *
 * Trace events: "batch" (shard = the queue's name, seqs = message ids,
 * attempt = the highest ApproximateReceiveCount), "delete" (messages
 * deleted, with why: "success", "partial_failure" or "filtered"), "retry"
 * (messages left for redelivery, with the reason), "scale" (pollers). */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/store.h"
#include "core/trace.h"
#include "esm.h"

#define PAYLOAD_MAX (6 * 1024 * 1024)
#define RECEIVE_MAX 10

static sqlite3_stmt *stmt(tp_core *core, const char *sql) { return tp_store_stmt(core->store, sql); }

static int64_t now_ms(tp_core *core) { return tp_clock_now_ms(core->clock); }

typedef struct queue_ref {
    char region[32], account[13], name[128];
    char url[512];
} queue_ref;

/* arn:aws:sqs:REGION:ACCOUNT:NAME */
static int owns(const char *arn)
{
    char region[32], account[13], name[128];
    return arn && sscanf(arn, "arn:aws:sqs:%31[^:]:%12[^:]:%127s", region, account, name) == 3;
}

static int call(tp_core *core, const queue_ref *q, const char *op, cJSON *in, cJSON **out,
                tp_error *err)
{
    char target[64];
    snprintf(target, sizeof target, "AmazonSQS.%s", op);
    *out = NULL;
    int rc = lambda_call_internal(core, q->account, q->region, target, in, out, err);
    cJSON_Delete(in);
    return rc;
}

static int queue_resolve_arn(tp_core *core, const char *arn, queue_ref *q);
static int64_t queue_int_attr(tp_core *core, const queue_ref *q, const char *name);

/* Lambda refuses a queue whose messages would come back while the
 * function may still run on them. */
static int suits(tp_req *r, const char *arn, const char *function_arn, tp_error *err)
{
    queue_ref q;
    lambda_fn fn;
    memset(&fn, 0, sizeof fn);
    if (queue_resolve_arn(r->core, arn, &q) != 0 ||
        lambda_fn_find(r->core, r->account, r->region, function_arn, &fn) != 1)
        return 0;   /* exists() and the function lookup answer for these */
    int64_t vt = queue_int_attr(r->core, &q, "VisibilityTimeout");
    int64_t timeout_s = fn.timeout_ms / 1000;
    lambda_fn_clear(&fn);
    if (vt < 0 || vt >= timeout_s)
        return 0;
    return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER,
                   "Queue visibility timeout: %lld seconds is less than Function timeout: %lld "
                   "seconds",
                   (long long)vt, (long long)timeout_s);
}

/* "arn:aws:sqs:REGION:ACCOUNT:NAME" */
static int exists(tp_req *r, const char *arn, tp_error *err)
{
    char region[32], account[13], name[128];
    if (sscanf(arn, "arn:aws:sqs:%31[^:]:%12[^:]:%127s", region, account, name) != 3)
        return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER, "Unrecognized event source, must be kinesis, dynamodb stream or sqs. "
                            "Unsupported source arn : %s", arn);
    cJSON *in = cJSON_CreateObject(), *res = NULL;
    cJSON_AddStringToObject(in, "QueueName", name);
    cJSON_AddStringToObject(in, "QueueOwnerAWSAccountId", account);
    tp_error e = {0};
    int rc = lambda_call_internal(r->core, account, region, "AmazonSQS.GetQueueUrl", in, &res, &e);
    cJSON_Delete(in);
    cJSON_Delete(res);
    if (rc == 0)
        return 0;
    return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER, "%s",
                   "Error occurred while ReceiveMessage. SQS Error Code: "
                   "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue "
                   "does not exist or you do not have access to it.");
}


static int queue_resolve(tp_core *core, const esm_mapping *m, queue_ref *q)
{
    return queue_resolve_arn(core, m->source_arn, q);
}

static int queue_resolve_arn(tp_core *core, const char *arn, queue_ref *q)
{
    memset(q, 0, sizeof *q);
    if (sscanf(arn, "arn:aws:sqs:%31[^:]:%12[^:]:%127s", q->region, q->account, q->name) != 3)
        return -1;
    cJSON *in = cJSON_CreateObject(), *out = NULL;
    cJSON_AddStringToObject(in, "QueueName", q->name);
    cJSON_AddStringToObject(in, "QueueOwnerAWSAccountId", q->account);
    tp_error err = {0};
    if (call(core, q, "GetQueueUrl", in, &out, &err) != 0)
        return -1;
    const char *url = tp_json_str(out, "QueueUrl");
    snprintf(q->url, sizeof q->url, "%s", url ? url : "");
    cJSON_Delete(out);
    return *q->url ? 0 : -1;
}

/* One numeric queue attribute, -1 on error. */
static int64_t queue_int_attr(tp_core *core, const queue_ref *q, const char *name)
{
    cJSON *in = cJSON_CreateObject(), *out = NULL;
    cJSON_AddStringToObject(in, "QueueUrl", q->url);
    cJSON *names = cJSON_AddArrayToObject(in, "AttributeNames");
    cJSON_AddItemToArray(names, cJSON_CreateString(name));
    tp_error err = {0};
    if (call(core, q, "GetQueueAttributes", in, &out, &err) != 0)
        return -1;
    const char *v = tp_json_str(tp_json_path(out, "Attributes"), name);
    int64_t n = v ? strtoll(v, NULL, 10) : 0;
    cJSON_Delete(out);
    return n;
}

/* ApproximateNumberOfMessages: the visible backlog, -1 on error. */
static int64_t backlog(tp_core *core, const queue_ref *q)
{
    return queue_int_attr(core, q, "ApproximateNumberOfMessages");
}

/* --- the event record ---------------------------------------------------------- */

static void copy_attr(cJSON *to, const cJSON *from, const char *name)
{
    const char *v = tp_json_str(from, name);
    if (v)
        cJSON_AddStringToObject(to, name, v);
}

/* Lambda's SQS record, members in the order of AWS's documented sample
 * events (standard and FIFO). */
static cJSON *queue_record(const esm_mapping *m, const queue_ref *q, const cJSON *msg)
{
    static const char *const standard[] = {"ApproximateReceiveCount", "SentTimestamp", "SenderId",
                                           "ApproximateFirstReceiveTimestamp"};
    static const char *const fifo[] = {"ApproximateReceiveCount", "SentTimestamp", "SequenceNumber",
                                       "MessageGroupId", "SenderId", "MessageDeduplicationId",
                                       "ApproximateFirstReceiveTimestamp"};
    static const char *const extra[] = {"AWSTraceHeader", "DeadLetterQueueSourceArn"};
    const char *s;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "messageId", (s = tp_json_str(msg, "MessageId")) ? s : "");
    cJSON_AddStringToObject(r, "receiptHandle", (s = tp_json_str(msg, "ReceiptHandle")) ? s : "");
    cJSON_AddStringToObject(r, "body", (s = tp_json_str(msg, "Body")) ? s : "");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(msg, "Attributes");
    cJSON *a = cJSON_AddObjectToObject(r, "attributes");
    int is_fifo = tp_json_str(attrs, "MessageGroupId") != NULL;
    const char *const *order = is_fifo ? fifo : standard;
    size_t n = is_fifo ? sizeof fifo / sizeof fifo[0] : sizeof standard / sizeof standard[0];
    for (size_t i = 0; i < n; i++)
        copy_attr(a, attrs, order[i]);
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        copy_attr(a, attrs, extra[i]);
    cJSON *ma = cJSON_AddObjectToObject(r, "messageAttributes");
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(msg, "MessageAttributes"))
    {
        cJSON *o = cJSON_AddObjectToObject(ma, v->string);
        if ((s = tp_json_str(v, "StringValue")))
            cJSON_AddStringToObject(o, "stringValue", s);
        if ((s = tp_json_str(v, "BinaryValue")))
            cJSON_AddStringToObject(o, "binaryValue", s);
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(v, "StringListValues");
        cJSON_AddItemToObject(o, "stringListValues", l ? cJSON_Duplicate(l, 1) : cJSON_CreateArray());
        l = cJSON_GetObjectItemCaseSensitive(v, "BinaryListValues");
        cJSON_AddItemToObject(o, "binaryListValues", l ? cJSON_Duplicate(l, 1) : cJSON_CreateArray());
        cJSON_AddStringToObject(o, "dataType", (s = tp_json_str(v, "DataType")) ? s : "String");
    }
    cJSON_AddStringToObject(r, "md5OfBody", (s = tp_json_str(msg, "MD5OfBody")) ? s : "");
    cJSON_AddStringToObject(r, "eventSource", "aws:sqs");
    cJSON_AddStringToObject(r, "eventSourceARN", m->source_arn);
    cJSON_AddStringToObject(r, "awsRegion", q->region);
    return r;
}

/* Filters see a JSON body as the object it holds (Lambda's rule for SQS:
 * a body that is not JSON matches only patterns on the plain string). */
static int record_passes(const esm_filter *filter, const cJSON *rec)
{
    if (!filter)
        return 1;
    const char *body = tp_json_str(rec, "body");
    cJSON *parsed = body ? tp_json_parse(body, strlen(body)) : NULL;
    if (!cJSON_IsObject(parsed)) {
        cJSON_Delete(parsed);
        return esm_filter_match(filter, rec);
    }
    cJSON *view = cJSON_Duplicate(rec, 1);
    cJSON_ReplaceItemInObjectCaseSensitive(view, "body", parsed);
    int ok = esm_filter_match(filter, view);
    cJSON_Delete(view);
    return ok;
}

/* --- deleting -------------------------------------------------------------------- */

/* Deletes the records' messages (10 per DeleteMessageBatch); how many went. */
static int delete_records(tp_core *core, const esm_mapping *m, const queue_ref *q, cJSON *const *recs,
                          int n, const char *why)
{
    int deleted = 0;
    for (int i = 0; i < n; i += RECEIVE_MAX) {
        cJSON *in = cJSON_CreateObject(), *out = NULL;
        cJSON_AddStringToObject(in, "QueueUrl", q->url);
        cJSON *entries = cJSON_AddArrayToObject(in, "Entries");
        int k;
        for (k = 0; k < RECEIVE_MAX && i + k < n; k++) {
            cJSON *e = cJSON_CreateObject();
            char id[16];
            snprintf(id, sizeof id, "m%d", k);
            cJSON_AddStringToObject(e, "Id", id);
            const char *rh = tp_json_str(recs[i + k], "receiptHandle");
            cJSON_AddStringToObject(e, "ReceiptHandle", rh ? rh : "");
            cJSON_AddItemToArray(entries, e);
        }
        tp_error err = {0};
        if (call(core, q, "DeleteMessageBatch", in, &out, &err) == 0)
            deleted += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(out, "Successful"));
        cJSON_Delete(out);
    }
    if (n > 0) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "mapping", m->uuid);
        cJSON_AddStringToObject(f, "queue", q->name);
        tp_json_add_int(f, "messages", deleted);
        cJSON_AddStringToObject(f, "reason", why);
        tp_trace_emit(core, "delete", f);
        cJSON_Delete(f);
    }
    return deleted;
}

static void trace_retry(tp_core *core, const esm_mapping *m, const queue_ref *q, int n,
                        const char *reason)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "mapping", m->uuid);
    cJSON_AddStringToObject(f, "queue", q->name);
    tp_json_add_int(f, "messages", n);
    cJSON_AddStringToObject(f, "reason", reason);
    cJSON_AddStringToObject(f, "redelivery", "visibility_timeout");
    tp_trace_emit(core, "retry", f);
    cJSON_Delete(f);
}

/* --- batches ---------------------------------------------------------------------- */

typedef struct qbatch {
    int64_t id;             /* 0 until stored */
    cJSON *records;         /* owned array of event records */
    int64_t bytes, window_start;
    int full;
} qbatch;

static int batch_save(tp_core *core, const esm_mapping *m, qbatch *b, int64_t inflight)
{
    static const char ins[] =
        "INSERT INTO esm_queue_batches(mapping_id, records, bytes, window_start, inflight)"
        " VALUES(?1, ?2, ?3, ?4, ?5)";
    static const char up[] =
        "UPDATE esm_queue_batches SET records=?2, bytes=?3, window_start=?4, inflight=?5 WHERE id=?1";
    sqlite3_stmt *st = stmt(core, b->id ? up : ins);
    if (!st)
        return -1;
    char *text = tp_json_print(b->records);
    sqlite3_bind_int64(st, 1, b->id ? b->id : m->id);
    sqlite3_bind_text(st, 2, text ? text : "[]", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, b->bytes);
    sqlite3_bind_int64(st, 4, b->window_start);
    sqlite3_bind_int64(st, 5, inflight);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(text);
    if (rc != SQLITE_DONE)
        return -1;
    if (!b->id)
        b->id = sqlite3_last_insert_rowid(tp_store_db(core->store));
    return 0;
}

static void batch_drop(tp_core *core, int64_t id)
{
    sqlite3_stmt *st = stmt(core, "DELETE FROM esm_queue_batches WHERE id=?1");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_step(st);
    sqlite3_reset(st);
}

/* The batch still gathering in its window: 1 found, 0 none. */
static int gathering_load(tp_core *core, const esm_mapping *m, qbatch *b)
{
    static const char sql[] =
        "SELECT id, records, bytes, window_start FROM esm_queue_batches"
        " WHERE mapping_id=?1 AND inflight=0 ORDER BY id LIMIT 1";
    memset(b, 0, sizeof *b);
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, m->id);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        b->id = sqlite3_column_int64(st, 0);
        const char *t = (const char *)sqlite3_column_text(st, 1);
        b->records = t ? tp_json_parse(t, strlen(t)) : NULL;
        b->bytes = sqlite3_column_int64(st, 2);
        b->window_start = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    if (found && !b->records)
        b->records = cJSON_CreateArray();
    return found;
}

static int64_t count_inflight(tp_core *core, int64_t mapping_id)
{
    static const char sql[] =
        "SELECT count(*) FROM esm_queue_batches WHERE mapping_id=?1 AND inflight<>0";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, mapping_id);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

/* Receives into b until BatchSize, the payload cap or an empty receive.
 * Messages no filter matches are deleted at once. Returns the number of
 * messages received (0: the queue had none), -1 when the queue cannot be
 * read. */
static int fill(tp_core *core, const esm_mapping *m, const queue_ref *q, const esm_filter *filter,
                qbatch *b)
{
    int got = 0;
    while (cJSON_GetArraySize(b->records) < m->batch_size && !b->full) {
        int64_t want = m->batch_size - cJSON_GetArraySize(b->records);
        cJSON *in = cJSON_CreateObject(), *out = NULL;
        cJSON_AddStringToObject(in, "QueueUrl", q->url);
        tp_json_add_int(in, "MaxNumberOfMessages", want > RECEIVE_MAX ? RECEIVE_MAX : want);
        tp_json_add_int(in, "WaitTimeSeconds", 0);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(in, "AttributeNames"), cJSON_CreateString("All"));
        cJSON_AddItemToArray(cJSON_AddArrayToObject(in, "MessageAttributeNames"), cJSON_CreateString("All"));
        tp_error err = {0};
        if (call(core, q, "ReceiveMessage", in, &out, &err) != 0)
            return got ? got : -1;
        const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(out, "Messages");
        int n = cJSON_GetArraySize(msgs);
        cJSON *dropped[RECEIVE_MAX];
        int nd = 0;
        const cJSON *msg;
        cJSON_ArrayForEach(msg, msgs)
        {
            cJSON *rec = queue_record(m, q, msg);
            if (!record_passes(filter, rec)) {
                if (nd < RECEIVE_MAX)
                    dropped[nd++] = rec;
                else
                    cJSON_Delete(rec);
                continue;
            }
            char *text = tp_json_print(rec);
            int64_t len = text ? (int64_t)strlen(text) + 1 : 0;
            free(text);
            /* a message past the payload cap is left to become visible again */
            if (cJSON_GetArraySize(b->records) > 0 && b->bytes + len + 16 > PAYLOAD_MAX) {
                b->full = 1;
                cJSON_Delete(rec);
                continue;
            }
            b->bytes += len;
            cJSON_AddItemToArray(b->records, rec);
        }
        got += n;
        cJSON_Delete(out);
        delete_records(core, m, q, dropped, nd, "filtered");
        for (int i = 0; i < nd; i++)
            cJSON_Delete(dropped[i]);
        if (n == 0)
            break;
    }
    if (cJSON_GetArraySize(b->records) >= m->batch_size)
        b->full = 1;
    return got;
}

static const char *function_name(const esm_mapping *m)
{
    const char *c = strrchr(m->function_arn, ':');
    return c ? c + 1 : m->function_arn;
}

static void on_done(tp_core *core, const lambda_result *res, void *arg);

/* Invokes the function with b (stored as in flight). 0 started, -1 the
 * invocation was refused: b is gone, its messages left for redelivery. */
static int deliver(tp_core *core, const esm_mapping *m, const queue_ref *q, qbatch *b)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddItemReferenceToObject(ev, "Records", b->records);
    char *event = tp_json_print(ev);
    cJSON_Delete(ev);
    if (batch_save(core, m, b, -1) != 0) {
        free(event);
        return -1;
    }
    lambda_invoke_req req = {.account = m->account,
                             .region = m->region,
                             .function = m->function_arn,
                             .event = event ? event : "{}",
                             .event_len = event ? strlen(event) : 2,
                             .source = "esm",
                             .source_id = m->uuid,
                             .done = on_done,
                             .arg = (void *)(intptr_t)b->id};
    tp_error err = {0};
    int64_t id = 0;
    int rc = lambda_invoke_start(core, &req, &id, &err);
    free(event);
    int n = cJSON_GetArraySize(b->records);
    if (rc != 0) {
        int throttled = strcmp(err.code, "TooManyRequestsException") == 0;
        batch_drop(core, b->id);
        trace_retry(core, m, q, n, throttled ? "throttled" : err.code);
        esm_set_last_result(core, m->id,
                            throttled || strcmp(err.code, "ResourceNotFoundException") != 0
                                ? "PROBLEM: Function call failed"
                                : "PROBLEM: Function not found");
        return -1;
    }
    batch_save(core, m, b, id ? id : -1);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "mapping", m->uuid);
    cJSON_AddStringToObject(f, "function", function_name(m));
    cJSON_AddStringToObject(f, "shard", q->name);
    tp_json_add_int(f, "size", n);
    cJSON *ids = cJSON_AddArrayToObject(f, "seqs");
    int64_t attempt = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, b->records)
    {
        cJSON_AddItemToArray(ids, cJSON_CreateString(tp_json_str(r, "messageId")));
        const char *c = tp_json_str(tp_json_path(r, "attributes"), "ApproximateReceiveCount");
        int64_t k = c ? strtoll(c, NULL, 10) : 1;
        if (k > attempt)
            attempt = k;
    }
    cJSON_AddStringToObject(f, "first_seq", tp_json_str(cJSON_GetArrayItem(b->records, 0), "messageId"));
    cJSON_AddStringToObject(f, "last_seq", tp_json_str(cJSON_GetArrayItem(b->records, n - 1), "messageId"));
    tp_json_add_int(f, "attempt", attempt);
    tp_trace_emit(core, "batch", f);
    cJSON_Delete(f);
    return 0;
}

/* The batch's records the response reports as failed (a new array of
 * borrowed references); *whole when the batch counts as failed as a whole,
 * as Lambda treats a response that is not JSON and an identifier that is
 * missing, empty, not a string or not in the batch. No response, or none
 * or an empty list of batchItemFailures: all succeeded. */
static cJSON *reported_failures(const cJSON *records, const char *payload, int *whole)
{
    *whole = 0;
    cJSON *failed = cJSON_CreateArray();
    cJSON *resp = payload && *payload ? tp_json_parse(payload, strlen(payload)) : NULL;
    if (payload && *payload && !resp) {
        *whole = 1;
        return failed;
    }
    const cJSON *items = cJSON_IsObject(resp) ? cJSON_GetObjectItemCaseSensitive(resp, "batchItemFailures") : NULL;
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        const cJSON *idv = cJSON_GetObjectItemCaseSensitive(it, "itemIdentifier");
        const cJSON *hit = NULL, *r;
        if (cJSON_IsString(idv) && *idv->valuestring)
            cJSON_ArrayForEach(r, records)
                if (strcmp(tp_json_str(r, "messageId") ? tp_json_str(r, "messageId") : "", idv->valuestring) == 0)
                    hit = r;
        if (!hit) {
            *whole = 1;
            break;
        }
        cJSON_AddItemReferenceToArray(failed, (cJSON *)hit);
    }
    cJSON_Delete(resp);
    return failed;
}

static void on_done(tp_core *core, const lambda_result *res, void *arg)
{
    static const char sql[] = "SELECT mapping_id, records, inflight FROM esm_queue_batches WHERE id=?1";
    int64_t bid = (int64_t)(intptr_t)arg;
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, bid);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return;
    }
    int64_t mapping_id = sqlite3_column_int64(st, 0), inflight = sqlite3_column_int64(st, 2);
    const char *t = (const char *)sqlite3_column_text(st, 1);
    cJSON *records = t ? tp_json_parse(t, strlen(t)) : NULL;
    sqlite3_reset(st);
    batch_drop(core, bid);
    esm_mapping m;
    queue_ref q;
    if (inflight != (res->invocation_id ? res->invocation_id : -1) || !records ||
        esm_mapping_load(core, mapping_id, &m) != 1) {
        cJSON_Delete(records);
        return;
    }
    int n = cJSON_GetArraySize(records);
    if (queue_resolve(core, &m, &q) != 0) {
        esm_set_last_result(core, m.id, "PROBLEM: Cannot access queue");
        goto out;
    }
    if (res->outcome == LAMBDA_SUCCESS) {
        int whole = 0;
        cJSON *failed = m.report_failures ? reported_failures(records, res->payload, &whole) : NULL;
        int nf = failed ? cJSON_GetArraySize(failed) : 0;
        if (whole) {
            trace_retry(core, &m, &q, n, "partial_failure");
            esm_set_last_result(core, m.id, "PROBLEM: Function call failed");
        } else {
            cJSON **done = calloc((size_t)n + 1, sizeof *done);
            int nd = 0;
            cJSON *r;
            cJSON_ArrayForEach(r, records)
            {
                int bad = 0;
                const cJSON *x;
                cJSON_ArrayForEach(x, failed)
                    if (strcmp(tp_json_str(x, "messageId"), tp_json_str(r, "messageId")) == 0)
                        bad = 1;
                if (!bad && done)
                    done[nd++] = r;
            }
            delete_records(core, &m, &q, done, nd, nf ? "partial_failure" : "success");
            free(done);
            if (nf) {
                trace_retry(core, &m, &q, nf, "partial_failure");
                esm_set_last_result(core, m.id, "PROBLEM: Function call failed");
            } else {
                esm_set_last_result(core, m.id, "OK");
            }
        }
        cJSON_Delete(failed);
    } else {
        const char *reason = res->outcome == LAMBDA_TIMEOUT     ? "timeout"
                             : res->outcome == LAMBDA_THROTTLED ? "throttled"
                                                                : "function_error";
        trace_retry(core, &m, &q, n, reason);
        esm_set_last_result(core, m.id, "PROBLEM: Function call failed");
    }
out:
    esm_poller_wake(core, m.id, now_ms(core));
    esm_mapping_clear(&m);
    cJSON_Delete(records);
}

/* --- pollers ------------------------------------------------------------------------ */

static int64_t pollers_max(tp_core *core, const esm_mapping *m)
{
    int64_t max = lambda_setting(core, "sqs_pollers_max", 1250);
    if (m->max_concurrency > 0 && m->max_concurrency < max)
        max = m->max_concurrency;
    lambda_fn fn;
    memset(&fn, 0, sizeof fn);
    if (lambda_fn_find(core, m->account, m->region, m->function_arn, &fn) == 1) {
        if (fn.reserved > 0 && fn.reserved < max)
            max = fn.reserved;
        lambda_fn_clear(&fn);
    }
    return max < 1 ? 1 : max;
}

static void pollers_load(tp_core *core, int64_t id, int64_t initial, int64_t *pollers, int64_t *scaled)
{
    static const char sql[] = "SELECT pollers, scaled_ms FROM esm_queue_pollers WHERE mapping_id=?1";
    *pollers = initial;
    *scaled = now_ms(core);
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *pollers = sqlite3_column_int64(st, 0);
        *scaled = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
}

static void pollers_save(tp_core *core, const esm_mapping *m, int64_t was, int64_t pollers, int64_t scaled)
{
    static const char sql[] =
        "INSERT INTO esm_queue_pollers(mapping_id, pollers, scaled_ms) VALUES(?1, ?2, ?3)"
        " ON CONFLICT(mapping_id) DO UPDATE SET pollers=?2, scaled_ms=?3";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, m->id);
    sqlite3_bind_int64(st, 2, pollers);
    sqlite3_bind_int64(st, 3, scaled);
    sqlite3_step(st);
    sqlite3_reset(st);
    if (was != pollers) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "mapping", m->uuid);
        tp_json_add_int(f, "pollers", pollers);
        tp_json_add_int(f, "from", was);
        tp_trace_emit(core, "scale", f);
        cJSON_Delete(f);
    }
}

static int64_t poll(tp_core *core, esm_mapping *m)
{
    int64_t now = now_ms(core);
    int64_t interval = lambda_setting(core, "sqs_poll_interval_ms", 200);
    if (interval < 1)
        interval = 200;
    /* No timer while there is nothing to do: SQS wakes the mapping when a
     * message arrives or becomes visible again (esm_source_woken), and an
     * invocation's end wakes it (on_done). Only a queue that cannot be
     * read is tried again after the interval. */
    int64_t next = INT64_MAX;
    queue_ref q;
    if (queue_resolve(core, m, &q) != 0) {
        esm_set_last_result(core, m->id, "PROBLEM: Cannot access queue");
        return now + interval;
    }
    int64_t initial = lambda_setting(core, "sqs_pollers_initial", 5);
    int64_t per_minute = lambda_setting(core, "sqs_pollers_per_minute", 300);
    int64_t max = pollers_max(core, m);
    int64_t pollers, scaled, was;
    pollers_load(core, m->id, initial, &pollers, &scaled);
    was = pollers;
    if (pollers > max)
        pollers = max;
    if (pollers < 1)
        pollers = 1;
    tp_error ferr = {0};
    esm_filter *filter = m->filter ? esm_filter_new(m->filter, &ferr) : NULL;
    int64_t inflight = count_inflight(core, m->id);
    int64_t window = m->window_s * 1000;
    int empty = 0, refused = 0;
    while (inflight < pollers) {
        qbatch b;
        if (!gathering_load(core, m, &b)) {
            memset(&b, 0, sizeof b);
            b.records = cJSON_CreateArray();
        }
        int got = fill(core, m, &q, filter, &b);
        int nb = cJSON_GetArraySize(b.records);
        if (got <= 0)
            empty = 1;
        if (got < 0 && now + interval < next)
            next = now + interval;   /* e.g. a FIFO queue's receives throttled */
        if (nb == 0) {
            if (b.id)
                batch_drop(core, b.id);
            cJSON_Delete(b.records);
            break;
        }
        if (!b.full && window > 0) {
            if (!b.window_start)
                b.window_start = now;
            if (now < b.window_start + window) {
                batch_save(core, m, &b, 0);
                if (b.window_start + window < next)
                    next = b.window_start + window;
                cJSON_Delete(b.records);
                break;
            }
        }
        int rc = deliver(core, m, &q, &b);
        cJSON_Delete(b.records);
        if (rc != 0) {
            refused = 1;
            break;
        }
        inflight++;
        if (!b.full) {
            empty = 1;
            break;
        }
    }
    esm_filter_free(filter);
    /* scale: grow while every poller is busy and messages wait */
    int64_t step_ms = per_minute > 0 ? 60000 / per_minute : 0;
    if (refused) {
        pollers = inflight > 0 ? inflight : 1;
        scaled = now;
    } else if (!empty && inflight >= pollers && backlog(core, &q) > 0 && step_ms > 0) {
        int64_t grow = (now - scaled) / step_ms;
        if (grow > 0) {
            pollers = pollers + grow > max ? max : pollers + grow;
            scaled = now;
        }
        if (pollers < max && scaled + step_ms < next)
            next = scaled + step_ms;
    } else {
        if (empty && inflight == 0)
            pollers = initial < max ? initial : max;
        scaled = now;
    }
    pollers_save(core, m, was, pollers, scaled);
    return next;
}

/* --- restart, forget, busy ------------------------------------------------------------ */

static int exec1(tp_core *core, const char *sql, int64_t id)
{
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int forget(tp_core *core, int64_t mapping_id)
{
    if (exec1(core, "DELETE FROM esm_queue_batches WHERE mapping_id=?1", mapping_id) != 0)
        return -1;
    return exec1(core, "DELETE FROM esm_queue_pollers WHERE mapping_id=?1", mapping_id);
}

/* The invocations are gone; their messages come back when visibility runs
 * out, as after any lost poller. */
static int restart(tp_core *core)
{
    return tp_store_exec(core->store, "DELETE FROM esm_queue_batches WHERE inflight<>0");
}

/* A batch in flight or gathering, or visible messages on an enabled
 * mapping's queue. */
static int busy(tp_core *core)
{
    static const char batches[] =
        "SELECT 1 FROM esm_queue_batches b JOIN esm_mappings m ON m.id = b.mapping_id"
        " WHERE b.inflight<>0 OR m.state IN ('Enabled', 'Updating', 'Enabling') LIMIT 1";
    static const char mappings[] =
        "SELECT id FROM esm_mappings WHERE source_arn LIKE 'arn:aws:sqs:%'"
        " AND state IN ('Enabled', 'Updating', 'Enabling') ORDER BY id";
    sqlite3_stmt *st = stmt(core, batches);
    if (!st)
        return 0;
    int any = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    if (any)
        return 1;
    st = stmt(core, mappings);
    if (!st)
        return 0;
    int64_t ids[64];
    int n = 0;
    while (n < 64 && sqlite3_step(st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    for (int i = 0; i < n && !any; i++) {
        esm_mapping m;
        queue_ref q;
        if (esm_mapping_load(core, ids[i], &m) != 1)
            continue;
        if (queue_resolve(core, &m, &q) == 0 && backlog(core, &q) > 0)
            any = 1;
        esm_mapping_clear(&m);
    }
    return any;
}

const esm_source esm_sqs_source = {
    .kind = "sqs",
    .owns = owns,
    .exists = exists,
    .suits = suits,
    .stream = NULL,
    .poll = poll,
    .forget = forget,
    .restart = restart,
    .busy = busy,
};
