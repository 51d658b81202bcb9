/* sqs/redrive — dead-letter queues: the RedrivePolicy and
 * RedriveAllowPolicy rules, moving a message to its DLQ on the receive that
 * would pass maxReceiveCount, ListDeadLetterSourceQueues, and message move
 * tasks (StartMessageMoveTask, ListMessageMoveTasks,
 * CancelMessageMoveTask).
 *
 * A move task is an sqs_move_tasks row driven by scheduler events on
 * tidepool's clock:
 *
 *   StartMessageMoveTask --> RUNNING --(move_step: one message per
 *                               |  1000/MaxNumberOfMessagesPerSecond ms,
 *                               |  or every receivable one at once)
 *                               +--> COMPLETED (nothing receivable left)
 *                               +--> FAILED (the destination went away)
 *                               +--> CANCELLED (CancelMessageMoveTask)
 *
 * A restart re-arms RUNNING tasks (sqs_move_tasks_start). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/store.h"
#include "core/trace.h"
#include "sqs.h"

#define MAX_RECEIVE_COUNT 1000
#define MAX_MOVE_RATE 500
#define MAX_ALLOW_SOURCES 10

static int done(sqlite3_stmt *st)
{
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (st)
        sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_TRANSIENT);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static int storage(tp_error *err) { return tp_fail(err, TP_ERR_INTERNAL, "storage error"); }

/* maxReceiveCount as a number or a numeric string; -1 when neither. */
static int64_t json_count(const cJSON *v)
{
    if (cJSON_IsNumber(v) && v->valuedouble == (double)(int64_t)v->valuedouble)
        return (int64_t)v->valuedouble;
    if (cJSON_IsString(v) && v->valuestring[0]) {
        char *end;
        long long x = strtoll(v->valuestring, &end, 10);
        return *end ? -1 : x;
    }
    return -1;
}

int64_t sqs_redrive_max(const sqs_queue *q, char *dlq_arn, size_t cap)
{
    const char *p = sqs_queue_str(q, "RedrivePolicy");
    if (!p || !*p)
        return 0;
    cJSON *j = tp_json_parse(p, strlen(p));
    const char *arn = tp_json_str(j, "deadLetterTargetArn");
    int64_t max = json_count(cJSON_GetObjectItemCaseSensitive(j, "maxReceiveCount"));
    snprintf(dlq_arn, cap, "%s", arn ? arn : "");
    cJSON_Delete(j);
    return arn && max > 0 ? max : 0;
}

/* Does dlq's RedriveAllowPolicy let source_arn name it? */
static int allows(const sqs_queue *dlq, const char *source_arn)
{
    const char *p = sqs_queue_str(dlq, "RedriveAllowPolicy");
    if (!p || !*p)
        return 1;
    cJSON *j = tp_json_parse(p, strlen(p));
    const char *perm = tp_json_str(j, "redrivePermission");
    int ok = 1;
    if (perm && strcmp(perm, "denyAll") == 0) {
        ok = 0;
    } else if (perm && strcmp(perm, "byQueue") == 0) {
        ok = 0;
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(j, "sourceQueueArns"))
            if (cJSON_IsString(a) && strcmp(a->valuestring, source_arn) == 0)
                ok = 1;
    }
    cJSON_Delete(j);
    return ok;
}

int sqs_check_redrive_policy(tp_req *r, const sqs_queue *q, const char *value, tp_error *err)
{
    cJSON *j = tp_json_parse(value, strlen(value));
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return tp_fail(err, TP_ERR_SQS_INVALID_ATTRIBUTE_VALUE,
                       "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is "
                       "not a valid JSON map."); /* unverified wording */
    }
    int rc = 0;
    const cJSON *arnj = cJSON_GetObjectItemCaseSensitive(j, "deadLetterTargetArn");
    const cJSON *maxj = cJSON_GetObjectItemCaseSensitive(j, "maxReceiveCount");
    char reason[512];
    reason[0] = 0;
    /* AWS names maxReceiveCount first: "{}" is refused for it. The
     * missing-attribute reasons are AWS's; the others are unverified
     * wording. */
    if (!maxj)
        snprintf(reason, sizeof reason,
                 "Redrive policy does not contain mandatory attribute: maxReceiveCount.");
    else if (!cJSON_IsString(arnj))
        snprintf(reason, sizeof reason,
                 "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.");
    else {
        int64_t max = json_count(maxj);
        if (max < 1 || max > MAX_RECEIVE_COUNT) {
            char *mv = tp_json_print(maxj);
            snprintf(reason, sizeof reason,
                     "Invalid value for maxReceiveCount: %s, valid values are from 1 to 1000 both "
                     "inclusive.",
                     mv ? mv : "");
            free(mv);
        }
    }
    if (!reason[0]) {
        sqs_queue dlq;
        int found = sqs_queue_by_arn(r->core, arnj->valuestring, &dlq);
        if (found < 0) {
            cJSON_Delete(j);
            return storage(err);
        }
        if (!found || strcmp(dlq.account, r->account) != 0 || strcmp(dlq.region, r->region) != 0)
            snprintf(reason, sizeof reason, "Dead letter target does not exist.");
        else if (dlq.fifo != q->fifo)
            snprintf(reason, sizeof reason,
                     "Dead-letter target queue must be of the same type as the source queue.");
        else if (!allows(&dlq, q->arn))
            snprintf(reason, sizeof reason,
                     "Queue %s does not allow this queue to use it as a dead-letter queue.",
                     dlq.arn);
        if (found)
            sqs_queue_clear(&dlq);
    }
    if (reason[0])
        rc = sqs_invalid_value(err, value, "RedrivePolicy", reason);
    cJSON_Delete(j);
    return rc;
}

int sqs_check_redrive_allow_policy(const char *value, tp_error *err)
{
    cJSON *j = tp_json_parse(value, strlen(value));
    const char *perm = j ? tp_json_str(j, "redrivePermission") : NULL;
    const cJSON *arns = j ? cJSON_GetObjectItemCaseSensitive(j, "sourceQueueArns") : NULL;
    const char *why = NULL;
    /* unverified wording (every reason below) */
    if (!j || !cJSON_IsObject(j))
        why = "Redrive allow policy is not a valid JSON map.";
    else if (!perm)
        why = "Redrive allow policy does not contain mandatory attribute: redrivePermission.";
    else if (strcmp(perm, "allowAll") != 0 && strcmp(perm, "denyAll") != 0 &&
             strcmp(perm, "byQueue") != 0)
        why = "Invalid value for redrivePermission. Valid values are: allowAll, denyAll, byQueue.";
    else if (strcmp(perm, "byQueue") == 0 &&
             (!cJSON_IsArray(arns) || cJSON_GetArraySize(arns) < 1 ||
              cJSON_GetArraySize(arns) > MAX_ALLOW_SOURCES))
        why = "sourceQueueArns must contain between 1 and 10 queue ARNs when redrivePermission "
              "is byQueue.";
    else if (strcmp(perm, "byQueue") != 0 && arns)
        why = "sourceQueueArns can be specified only when redrivePermission is byQueue.";
    cJSON_Delete(j);
    if (why)
        return tp_fail(err, TP_ERR_SQS_INVALID_ATTRIBUTE_VALUE,
                       "Invalid value for the parameter RedriveAllowPolicy. Reason: %s", why);
    return 0;
}

/* --- moving messages ------------------------------------------------------------------ */

int sqs_message_copy(tp_core *core, int64_t row, sqs_queue *dst, int64_t now_ms,
                     const char *dlq_source_arn)
{
    char seq[24] = "";
    if (dst->fifo && sqs_queue_next_seq(core, dst, seq) != 0)
        return -1;
    /* A move task (source NULL) hands the message back as new: its
     * receive count starts over (or it would go straight back) and it no
     * longer names a DLQ source. */
    static const char sql[] =
        "INSERT INTO sqs_messages(queue_id, message_id, body, attrs, sys_attrs, md5_body, "
        "md5_attrs, md5_sys, sent_ms, visible_ms, receive_count, first_receive_ms, group_id, "
        "dedup_id, seq, sender, dlq_source) "
        "SELECT ?2, message_id, body, attrs, sys_attrs, md5_body, md5_attrs, md5_sys, sent_ms, ?3,"
        " CASE WHEN ?5 = '' THEN 0 ELSE receive_count END,"
        " CASE WHEN ?5 = '' THEN 0 ELSE first_receive_ms END,"
        " group_id, dedup_id, CASE WHEN ?4 = '' THEN seq ELSE ?4 END, sender,"
        " ?5 FROM sqs_messages WHERE id = ?1";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_int64(st, 2, dst->id);
    sqlite3_bind_int64(st, 3, now_ms);
    bind_text(st, 4, seq);
    bind_text(st, 5, dlq_source_arn ? dlq_source_arn : "");
    if (done(st) != 0 ||
        sqs_message_added(core, dst->id, sqlite3_last_insert_rowid(tp_store_db(core->store))) != 0 ||
        sqs_message_remove(core, row) != 0)
        return -1;
    sqs_wake_at(core, dst, now_ms, now_ms);
    return 0;
}

int sqs_redrive_message(tp_req *r, const sqs_queue *q, int64_t row)
{
    char arn[192];
    if (sqs_redrive_max(q, arn, sizeof arn) <= 0)
        return 0;
    sqs_queue dlq;
    int found = sqs_queue_by_arn(r->core, arn, &dlq);
    if (found <= 0)
        return found;   /* no DLQ any more: the message stays and is delivered */
    /* what the trace tells: which message left, after how many receives */
    static const char sql[] = "SELECT message_id, receive_count FROM sqs_messages WHERE id = ?1";
    sqlite3_stmt *st = sqs_stmt(r->core, sql);
    cJSON *f = cJSON_CreateObject();
    if (st) {
        sqlite3_bind_int64(st, 1, row);
        if (sqlite3_step(st) == SQLITE_ROW) {
            cJSON_AddStringToObject(f, "message_id", col_text(st, 0));
            tp_json_add_int(f, "receive_count", sqlite3_column_int64(st, 1));
        }
        sqlite3_reset(st);
    }
    int rc = sqs_message_copy(r->core, row, &dlq, r->now_ms, q->arn);
    if (rc == 0) {
        cJSON_AddStringToObject(f, "queue", q->arn);
        cJSON_AddStringToObject(f, "dead_letter_queue", dlq.arn);
        tp_trace_emit(r->core, "sqs_dead_letter", f);
    }
    cJSON_Delete(f);
    sqs_queue_clear(&dlq);
    return rc == 0 ? 1 : -1;
}

int sqs_list_dead_letter_source_queues(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    int64_t max = 0;
    int has_max = sqs_json_int(in, "MaxResults", &max);
    if (has_max < 0 || (has_max && (max < 1 || max > 1000))) {
        sqs_queue_clear(&q);
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)max);
        return sqs_invalid_value(err, v, "MaxResults",
                                 "MaxResults must be an integer between 1 and 1000."); /* unverified wording */
    }
    const char *token = tp_json_str(in, "NextToken");
    int64_t after = 0;
    if (token && *token) {
        char *end;
        after = strtoll(token, &end, 10);
        if (*end || after < 0) {
            sqs_queue_clear(&q);
            return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE, "Invalid NextToken value."); /* unverified wording */
        }
    }
    static const char sql[] = "SELECT id FROM sqs_queues WHERE account = ?1 AND region = ?2 "
                              "AND id > ?3 AND instr(attrs, ?4) > 0 ORDER BY id";
    sqlite3_stmt *st = sqs_stmt(r->core, sql);
    if (!st) {
        sqs_queue_clear(&q);
        return storage(err);
    }
    bind_text(st, 1, q.account);
    bind_text(st, 2, q.region);
    sqlite3_bind_int64(st, 3, after);
    bind_text(st, 4, q.name);
    int64_t ids[1001];
    int n = 0;
    while (n < 1001 && sqlite3_step(st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    cJSON *urls = cJSON_CreateArray();
    int listed = 0, more = 0;
    int64_t last = 0;
    for (int i = 0; i < n; i++) {
        sqs_queue s;
        if (sqs_queue_by_id(r->core, ids[i], &s) != 1)
            continue;
        char arn[192];
        if (sqs_redrive_max(&s, arn, sizeof arn) > 0 && strcmp(arn, q.arn) == 0) {
            if (has_max && listed == max) {
                more = 1;
                sqs_queue_clear(&s);
                break;
            }
            char url[512];
            sqs_queue_url(r, &s, url, sizeof url);
            cJSON_AddItemToArray(urls, cJSON_CreateString(url));
            listed++;
            last = s.id;
        }
        sqs_queue_clear(&s);
    }
    sqs_queue_clear(&q);
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "queueUrls", urls);
    if (more) {
        char tok[32];
        snprintf(tok, sizeof tok, "%lld", (long long)last);
        cJSON_AddStringToObject(*out, "NextToken", tok);
    }
    return 0;
}

/* --- move tasks ---------------------------------------------------------------------------- */

typedef struct move_task {
    int64_t id;
    char account[16], region[32];
    char handle[512];
    char source[192], dest[192];
    int64_t rate, started_ms, moved, to_move;
    char status[16];
} move_task;

static int load_task(tp_core *core, int64_t id, move_task *t)
{
    static const char sql[] =
        "SELECT id, account, region, handle, source_arn, dest_arn, rate, status, started_ms, "
        "moved, to_move FROM sqs_move_tasks WHERE id = ?1";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        found = 1;
        t->id = sqlite3_column_int64(st, 0);
        snprintf(t->account, sizeof t->account, "%s", col_text(st, 1));
        snprintf(t->region, sizeof t->region, "%s", col_text(st, 2));
        snprintf(t->handle, sizeof t->handle, "%s", col_text(st, 3));
        snprintf(t->source, sizeof t->source, "%s", col_text(st, 4));
        snprintf(t->dest, sizeof t->dest, "%s", col_text(st, 5));
        t->rate = sqlite3_column_int64(st, 6);
        snprintf(t->status, sizeof t->status, "%s", col_text(st, 7));
        t->started_ms = sqlite3_column_int64(st, 8);
        t->moved = sqlite3_column_int64(st, 9);
        t->to_move = sqlite3_column_int64(st, 10);
    }
    sqlite3_reset(st);
    return found;
}

static int set_task(tp_core *core, int64_t id, const char *status, int64_t moved,
                    const char *failure)
{
    if (strcmp(status, "RUNNING") != 0) {
        /* a task's end is a trace event */
        move_task t;
        if (load_task(core, id, &t) == 1) {
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "source", t.source);
            if (t.dest[0])
                cJSON_AddStringToObject(f, "destination", t.dest);
            cJSON_AddStringToObject(f, "status", status);
            tp_json_add_int(f, "moved", moved);
            if (failure && *failure)
                cJSON_AddStringToObject(f, "failure", failure);
            tp_trace_emit(core, "sqs_move_task", f);
            cJSON_Delete(f);
        }
    }
    static const char sql[] =
        "UPDATE sqs_move_tasks SET status = ?2, moved = ?3, failure = ?4 WHERE id = ?1";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, status);
    sqlite3_bind_int64(st, 3, moved);
    bind_text(st, 4, failure);
    return done(st);
}

static void move_step(tp_core *core, void *arg, int64_t due_ms);

/* When the task's next message may move: moved/rate seconds after its start. */
static int64_t next_due(const move_task *t, int64_t now)
{
    if (t->rate <= 0)
        return now;
    int64_t due = t->started_ms + (t->moved * 1000 + t->rate - 1) / t->rate;
    return due > now ? due : now;
}

/* One step: moves the oldest receivable message of the source (all of them
 * when the task has no rate), then arms the next step. */
static void move_step(tp_core *core, void *arg, int64_t due_ms)
{
    move_task t;
    if (load_task(core, (int64_t)(intptr_t)arg, &t) != 1 || strcmp(t.status, "RUNNING") != 0)
        return;
    sqs_queue src;
    if (sqs_queue_by_arn(core, t.source, &src) != 1) {
        set_task(core, t.id, "FAILED", t.moved, "AWS.SimpleQueueService.NonExistentQueue");
        return;
    }
    int64_t budget = t.rate > 0 ? 1 : INT64_MAX;
    for (;;) {
        static const char sql[] = "SELECT id, dlq_source FROM sqs_messages WHERE queue_id = ?1 "
                                  "AND visible_ms <= ?2 ORDER BY id LIMIT 1";
        sqlite3_stmt *st = sqs_stmt(core, sql);
        if (!st)
            break;
        sqlite3_bind_int64(st, 1, src.id);
        sqlite3_bind_int64(st, 2, due_ms);
        int64_t row = 0;
        char back[192] = "";
        if (sqlite3_step(st) == SQLITE_ROW) {
            row = sqlite3_column_int64(st, 0);
            snprintf(back, sizeof back, "%s", col_text(st, 1));
        }
        sqlite3_reset(st);
        if (!row) {
            set_task(core, t.id, "COMPLETED", t.moved, "");
            sqs_queue_clear(&src);
            return;
        }
        if (budget-- == 0)
            break;
        sqs_queue dst;
        const char *to = t.dest[0] ? t.dest : back;
        if (sqs_queue_by_arn(core, to, &dst) != 1) {
            set_task(core, t.id, "FAILED", t.moved, "AWS.SimpleQueueService.NonExistentQueue");
            sqs_queue_clear(&src);
            return;
        }
        int rc = sqs_message_copy(core, row, &dst, due_ms, NULL);
        sqs_queue_clear(&dst);
        if (rc != 0)
            break;
        t.moved++;
    }
    sqs_queue_clear(&src);
    set_task(core, t.id, "RUNNING", t.moved, "");
    tp_sched_at(core->sched, next_due(&t, due_ms + 1), move_step, (void *)(intptr_t)t.id);
}

int sqs_move_tasks_start(tp_core *core)
{
    static const char sql[] = "SELECT id FROM sqs_move_tasks WHERE status = 'RUNNING'";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return -1;
    int64_t ids[256];
    int n = 0;
    while (n < 256 && sqlite3_step(st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    int64_t now = tp_clock_now_ms(core->clock);
    for (int i = 0; i < n; i++) {
        move_task t;
        if (load_task(core, ids[i], &t) == 1)
            tp_sched_at(core->sched, next_due(&t, now), move_step, (void *)(intptr_t)t.id);
    }
    return 0;
}

static int not_found(tp_error *err, const char *param)
{
    return tp_fail(err, TP_ERR_SQS_RESOURCE_NOT_FOUND,
                   "The resource that you specified for the %s parameter doesn't exist.", param);
}

/* Is arn some queue's dead-letter queue? */
static int is_dlq(tp_core *core, const sqs_queue *q)
{
    static const char sql[] = "SELECT id FROM sqs_queues WHERE account = ?1 AND region = ?2 "
                              "AND instr(attrs, ?3) > 0";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return 0;
    bind_text(st, 1, q->account);
    bind_text(st, 2, q->region);
    bind_text(st, 3, q->arn);
    int64_t ids[64];
    int n = 0;
    while (n < 64 && sqlite3_step(st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    for (int i = 0; i < n; i++) {
        sqs_queue s;
        if (sqs_queue_by_id(core, ids[i], &s) != 1)
            continue;
        char arn[192];
        int hit = sqs_redrive_max(&s, arn, sizeof arn) > 0 && strcmp(arn, q->arn) == 0;
        sqs_queue_clear(&s);
        if (hit)
            return 1;
    }
    return 0;
}

int sqs_start_message_move_task(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    const char *source = tp_json_str(in, "SourceArn");
    const char *dest = tp_json_str(in, "DestinationArn");
    if (!source || !*source)
        return tp_fail(err, TP_ERR_SQS_MISSING_PARAMETER,
                       "The request must contain the parameter SourceArn.");
    int64_t rate = 0;
    int has_rate = sqs_json_int(in, "MaxNumberOfMessagesPerSecond", &rate);
    if (has_rate < 0 || (has_rate && (rate < 1 || rate > MAX_MOVE_RATE))) {
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)rate);
        return sqs_invalid_value(err, v, "MaxNumberOfMessagesPerSecond",
                                 "Must be between 1 and 500."); /* unverified wording */
    }
    sqs_queue src;
    int found = sqs_queue_by_arn(r->core, source, &src);
    if (found < 0)
        return storage(err);
    if (!found || strcmp(src.account, r->account) != 0)
        return not_found(err, "SourceArn");
    int rc = 0;
    if (!is_dlq(r->core, &src))
        rc = tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                     "Source queue must be configured as a Dead Letter Queue.");
    if (rc == 0 && dest && *dest) {
        sqs_queue d;
        int f = sqs_queue_by_arn(r->core, dest, &d);
        if (f < 0)
            rc = storage(err);
        else if (!f || strcmp(d.account, r->account) != 0)
            rc = not_found(err, "DestinationArn");
        if (f > 0)
            sqs_queue_clear(&d);
    }
    if (rc == 0) {
        static const char sql[] =
            "SELECT 1 FROM sqs_move_tasks WHERE source_arn = ?1 AND status = 'RUNNING'";
        sqlite3_stmt *st = sqs_stmt(r->core, sql);
        if (!st)
            rc = storage(err);
        else {
            bind_text(st, 1, src.arn);
            int running = sqlite3_step(st) == SQLITE_ROW;
            sqlite3_reset(st);
            if (running)
                rc = tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                             "There is already a task running. Only one active task is allowed "
                             "for a source queue arn at a given time.");
        }
    }
    int64_t vis = 0, inflight = 0, delayed = 0;
    if (rc == 0)
        sqs_message_counts(r->core, &src, r->now_ms, &vis, &inflight, &delayed);
    /* The handle is base64 of {"taskId":..,"sourceArn":..}, as AWS's is. */
    char task_id[37];
    tp_rng_uuid(&r->core->rng, task_id);
    tp_buf plain, handle;
    tp_buf_init(&plain);
    tp_buf_init(&handle);
    tp_buf_printf(&plain, "{\"taskId\":\"%s\",\"sourceArn\":\"%s\"}", task_id, src.arn);
    tp_base64_encode(plain.data, plain.len, &handle);
    int64_t id = 0;
    if (rc == 0) {
        static const char sql[] =
            "INSERT INTO sqs_move_tasks(account, region, handle, source_arn, dest_arn, rate, "
            "status, started_ms, to_move) VALUES(?1, ?2, ?3, ?4, ?5, ?6, 'RUNNING', ?7, ?8)";
        sqlite3_stmt *st = sqs_stmt(r->core, sql);
        if (!st)
            rc = storage(err);
        else {
            bind_text(st, 1, r->account);
            bind_text(st, 2, r->region);
            bind_text(st, 3, handle.data);
            bind_text(st, 4, src.arn);
            bind_text(st, 5, dest);
            sqlite3_bind_int64(st, 6, rate);
            sqlite3_bind_int64(st, 7, r->now_ms);
            sqlite3_bind_int64(st, 8, vis);
            rc = done(st) == 0 ? 0 : storage(err);
            id = sqlite3_last_insert_rowid(tp_store_db(r->core->store));
        }
    }
    if (rc == 0) {
        tp_sched_at(r->core->sched, r->now_ms, move_step, (void *)(intptr_t)id);
        *out = cJSON_CreateObject();
        cJSON_AddStringToObject(*out, "TaskHandle", handle.data);
    }
    tp_buf_free(&plain);
    tp_buf_free(&handle);
    sqs_queue_clear(&src);
    return rc;
}

int sqs_cancel_message_move_task(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    const char *handle = tp_json_str(in, "TaskHandle");
    if (!handle || !*handle)
        return tp_fail(err, TP_ERR_SQS_MISSING_PARAMETER,
                       "The request must contain the parameter TaskHandle.");
    static const char sql[] =
        "SELECT id FROM sqs_move_tasks WHERE handle = ?1 AND account = ?2 AND region = ?3";
    sqlite3_stmt *st = sqs_stmt(r->core, sql);
    if (!st)
        return storage(err);
    bind_text(st, 1, handle);
    bind_text(st, 2, r->account);
    bind_text(st, 3, r->region);
    int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    move_task t;
    if (!id || load_task(r->core, id, &t) != 1) {
        tp_buf plain;
        tp_buf_init(&plain);
        int decodes = tp_base64_decode(handle, strlen(handle), &plain) == 0 && plain.len &&
                      strstr(plain.data, "\"taskId\"");
        tp_buf_free(&plain);
        if (!decodes)
            return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                           "Value for parameter TaskHandle is invalid.");
        return tp_fail(err, TP_ERR_SQS_RESOURCE_NOT_FOUND, "Task does not exist.");
    }
    if (strcmp(t.status, "RUNNING") != 0)
        return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                       "Only active tasks can be cancelled."); /* unverified wording */
    if (set_task(r->core, t.id, "CANCELLED", t.moved, "") != 0)
        return storage(err);
    *out = cJSON_CreateObject();
    tp_json_add_int(*out, "ApproximateNumberOfMessagesMoved", t.moved);
    return 0;
}

int sqs_list_message_move_tasks(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    const char *source = tp_json_str(in, "SourceArn");
    if (!source || !*source)
        return tp_fail(err, TP_ERR_SQS_MISSING_PARAMETER,
                       "The request must contain the parameter SourceArn.");
    int64_t max = 1;
    int has = sqs_json_int(in, "MaxResults", &max);
    if (has < 0 || (has && (max < 1 || max > 10))) {
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)max);
        return sqs_invalid_value(err, v, "MaxResults", "Must be between 1 and 10."); /* unverified wording */
    }
    sqs_queue src;
    int found = sqs_queue_by_arn(r->core, source, &src);
    if (found < 0)
        return storage(err);
    if (!found || strcmp(src.account, r->account) != 0)
        return not_found(err, "SourceArn");
    static const char sql[] = "SELECT id FROM sqs_move_tasks WHERE source_arn = ?1 "
                              "ORDER BY started_ms DESC, id DESC LIMIT ?2";
    sqlite3_stmt *st = sqs_stmt(r->core, sql);
    if (!st) {
        sqs_queue_clear(&src);
        return storage(err);
    }
    bind_text(st, 1, src.arn);
    sqlite3_bind_int64(st, 2, max);
    int64_t ids[10];
    int n = 0;
    while (n < 10 && sqlite3_step(st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    sqs_queue_clear(&src);
    cJSON *results = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        move_task t;
        if (load_task(r->core, ids[i], &t) != 1)
            continue;
        cJSON *e = cJSON_CreateObject();
        if (strcmp(t.status, "RUNNING") == 0)
            cJSON_AddStringToObject(e, "TaskHandle", t.handle);
        cJSON_AddStringToObject(e, "Status", t.status);
        cJSON_AddStringToObject(e, "SourceArn", t.source);
        if (t.dest[0])
            cJSON_AddStringToObject(e, "DestinationArn", t.dest);
        if (t.rate > 0)
            tp_json_add_int(e, "MaxNumberOfMessagesPerSecond", t.rate);
        tp_json_add_int(e, "ApproximateNumberOfMessagesMoved", t.moved);
        tp_json_add_int(e, "ApproximateNumberOfMessagesToMove", t.to_move);
        static const char sqlf[] = "SELECT failure FROM sqs_move_tasks WHERE id = ?1";
        sqlite3_stmt *fs = sqs_stmt(r->core, sqlf);
        if (fs) {
            sqlite3_bind_int64(fs, 1, t.id);
            if (sqlite3_step(fs) == SQLITE_ROW && *col_text(fs, 0))
                cJSON_AddStringToObject(e, "FailureReason", col_text(fs, 0));
            sqlite3_reset(fs);
        }
        tp_json_add_int(e, "StartedTimestamp", t.started_ms);
        cJSON_AddItemToArray(results, e);
    }
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "Results", results);
    return 0;
}
