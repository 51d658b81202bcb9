/* sqs/message — SendMessage(Batch), ReceiveMessage, DeleteMessage(Batch),
 * ChangeMessageVisibility(Batch), with the FIFO rules (groups, dedup,
 * sequence numbers) beside the standard ones.
 *
 * A message is one sqs_messages row. Its state is not stored: it follows
 * from visible_ms and receive_count against tidepool's clock, so nothing
 * has to run for a delay or a visibility timeout to end.
 *
 *                 send (DelaySeconds > 0)
 *   SendMessage -------------------------> DELAYED (visible_ms > now, receive_count = 0)
 *        |                                    |  clock reaches visible_ms
 *        | (no delay)                         v
 *        +---------------------------------> VISIBLE (visible_ms <= now)
 *                                            |   ^        |
 *                  ReceiveMessage (take_one) |   |        | ReceiveMessage past maxReceiveCount
 *                                            v   |        v (sqs_redrive_message)
 *                  IN FLIGHT (visible_ms > now,  |      MOVED to the DLQ (a new row there)
 *                            receive_count > 0)  |
 *                     |        |  visibility timeout ends / ChangeMessageVisibility
 *                     |        +-- (change_visibility sets visible_ms) --+
 *                     | DeleteMessage with the latest receipt handle (delete_one)
 *                     v
 *                  DELETED (row gone; also PurgeQueue, DeleteQueue, retention expiry)
 *
 * FIFO: a group is blocked while any earlier message of it is in flight or
 * delayed, so its later messages wait; other groups still deliver. Every
 * moment a message becomes receivable wakes the long polls parked on the
 * queue's ARN: at once for sends and visibility 0, through a scheduler
 * timer at visible_ms for delays and visibility timeouts. */
#include <assert.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/store.h"
#include "sqs.h"

#define MAX_VISIBILITY 43200
#define MAX_DELAY 900
#define MAX_WAIT 20
#define MAX_FIFO_ID 128

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

/* --- waking long polls -------------------------------------------------------- */

static void wake_event(tp_core *core, void *arg, int64_t due_ms)
{
    (void)due_ms;
    sqs_queue q;
    if (sqs_queue_by_id(core, (int64_t)(intptr_t)arg, &q) == 1) {
        tp_core_wake(core, q.arn);
        sqs_queue_clear(&q);
    }
}

void sqs_wake_at(tp_core *core, const sqs_queue *q, int64_t now_ms, int64_t due_ms)
{
    /* Only a host that parks calls needs waking; without one no timer is
     * armed, so a queue costs the scheduler nothing. */
    if (!core->host || !core->host->wake)
        return;
    if (due_ms <= now_ms)
        tp_core_wake(core, q->arn);
    else
        tp_sched_at(core->sched, due_ms, wake_event, (void *)(intptr_t)q->id);
}

/* --- counts and retention ------------------------------------------------------- */

/* --- the derived tables: message counts and group heads ---------------------- */

static int exec_id(tp_core *core, const char *sql, int64_t id)
{
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    return done(st);
}

static int count_add(tp_core *core, int64_t queue_id, int64_t delta)
{
    static const char sql[] = "INSERT INTO sqs_queue_counts(queue_id, n) VALUES(?1, ?2)"
                              " ON CONFLICT(queue_id) DO UPDATE SET n = n + ?2";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, queue_id);
    sqlite3_bind_int64(st, 2, delta);
    return done(st);
}

/* Groups whose head is gone get their oldest remaining message (or go). */
static int heads_fix(tp_core *core, int64_t queue_id)
{
    static const char fix_sql[] =
        "UPDATE sqs_groups SET head = COALESCE((SELECT MIN(m.id) FROM sqs_messages m"
        "  WHERE m.queue_id = sqs_groups.queue_id AND m.group_id = sqs_groups.group_id"
        "  AND m.group_id <> ''), 0)"
        " WHERE queue_id = ?1 AND NOT EXISTS (SELECT 1 FROM sqs_messages m WHERE m.id = head)";
    static const char drop_sql[] = "DELETE FROM sqs_groups WHERE queue_id = ?1 AND head = 0";
    if (exec_id(core, fix_sql, queue_id) != 0)
        return -1;
    return exec_id(core, drop_sql, queue_id);
}

int sqs_message_added(tp_core *core, int64_t queue_id, int64_t row)
{
    static const char sql[] = "INSERT OR IGNORE INTO sqs_groups(queue_id, group_id, head)"
                              " SELECT queue_id, group_id, id FROM sqs_messages"
                              " WHERE id = ?1 AND group_id <> ''";
    if (count_add(core, queue_id, 1) != 0)
        return -1;
    return exec_id(core, sql, row);
}

int sqs_message_remove(tp_core *core, int64_t row)
{
    static const char get_sql[] = "SELECT queue_id, group_id FROM sqs_messages WHERE id = ?1";
    static const char del_sql[] = "DELETE FROM sqs_messages WHERE id = ?1";
    static const char head_sql[] =
        "UPDATE sqs_groups SET head = COALESCE((SELECT MIN(id) FROM sqs_messages"
        "  WHERE queue_id = ?1 AND group_id = ?2 AND group_id <> ''), 0)"
        " WHERE queue_id = ?1 AND group_id = ?2 AND head = ?3";
    static const char drop_sql[] =
        "DELETE FROM sqs_groups WHERE queue_id = ?1 AND group_id = ?2 AND head = 0";
    sqlite3_stmt *st = sqs_stmt(core, get_sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, row);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return 0;   /* already gone */
    }
    int64_t queue_id = sqlite3_column_int64(st, 0);
    char group[MAX_FIFO_ID + 1];
    snprintf(group, sizeof group, "%s", col_text(st, 1));
    sqlite3_reset(st);
    if (exec_id(core, del_sql, row) != 0 || count_add(core, queue_id, -1) != 0)
        return -1;
    if (!group[0])
        return 0;
    for (int i = 0; i < 2; i++) {
        if (!(st = sqs_stmt(core, i == 0 ? head_sql : drop_sql)))
            return -1;
        sqlite3_bind_int64(st, 1, queue_id);
        bind_text(st, 2, group);
        if (i == 0)
            sqlite3_bind_int64(st, 3, row);
        if (done(st) != 0)
            return -1;
    }
    return 0;
}

int sqs_messages_cleared(tp_core *core, int64_t queue_id)
{
    if (exec_id(core, "DELETE FROM sqs_queue_counts WHERE queue_id = ?1", queue_id) != 0)
        return -1;
    return exec_id(core, "DELETE FROM sqs_groups WHERE queue_id = ?1", queue_id);
}

#define DEDUP_SWEEP_MS 60000

/* Drops a FIFO queue's dedup ids past their window, at most once a minute
 * (lookups check the window themselves; the sweep only frees space). */
static int sweep_dedup(tp_core *core, const sqs_queue *q, int64_t now_ms)
{
    static const char due_sql[] = "SELECT next_ms FROM sqs_dedup_sweeps WHERE queue_id = ?1";
    static const char del_sql[] = "DELETE FROM sqs_dedup WHERE queue_id = ?1 AND expires_ms <= ?2";
    static const char set_sql[] =
        "INSERT OR REPLACE INTO sqs_dedup_sweeps(queue_id, next_ms) VALUES(?1, ?2)";
    sqlite3_stmt *st = sqs_stmt(core, due_sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, q->id);
    int due = sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) <= now_ms;
    sqlite3_reset(st);
    if (!due)
        return 0;
    if (!(st = sqs_stmt(core, del_sql)))
        return -1;
    sqlite3_bind_int64(st, 1, q->id);
    sqlite3_bind_int64(st, 2, now_ms);
    if (done(st) != 0 || !(st = sqs_stmt(core, set_sql)))
        return -1;
    sqlite3_bind_int64(st, 1, q->id);
    sqlite3_bind_int64(st, 2, now_ms + DEDUP_SWEEP_MS);
    return done(st);
}

int sqs_expire_messages(tp_core *core, const sqs_queue *q, int64_t now_ms)
{
    static const char sql[] = "DELETE FROM sqs_messages WHERE queue_id = ?1 AND sent_ms <= ?2";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, q->id);
    sqlite3_bind_int64(st, 2, now_ms - sqs_queue_int(q, "MessageRetentionPeriod", 345600) * 1000);
    int rc = done(st);
    int64_t gone = rc == 0 ? sqlite3_changes(tp_store_db(core->store)) : 0;
    if (gone > 0)
        rc = count_add(core, q->id, -gone) == 0 && heads_fix(core, q->id) == 0 ? 0 : -1;
    if (rc == 0 && q->fifo)
        rc = sweep_dedup(core, q, now_ms);
    return rc;
}

int sqs_message_counts(tp_core *core, const sqs_queue *q, int64_t now_ms, int64_t *visible,
                       int64_t *inflight, int64_t *delayed)
{
    /* The total is kept by a trigger; only the rows not visible now are
     * counted, from the covering sqs_messages_by_state index. */
    static const char total_sql[] = "SELECT n FROM sqs_queue_counts WHERE queue_id = ?1";
    static const char hidden_sql[] =
        "SELECT COALESCE(SUM(receive_count > 0), 0), COALESCE(SUM(receive_count = 0), 0)"
        " FROM sqs_messages WHERE queue_id = ?1 AND visible_ms > ?2";
    sqlite3_stmt *st = sqs_stmt(core, total_sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, q->id);
    int rc = sqlite3_step(st);
    int64_t total = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    st = sqs_stmt(core, hidden_sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, q->id);
    sqlite3_bind_int64(st, 2, now_ms);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *inflight = sqlite3_column_int64(st, 0);
        *delayed = sqlite3_column_int64(st, 1);
        *visible = total - *inflight - *delayed;
        if (*visible < 0)
            *visible = 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* --- sending ------------------------------------------------------------------------ */

/* A FIFO id: 1 to 128 of the alphanumeric and punctuation characters. */
static int fifo_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_FIFO_ID)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return 0;
    return 1;
}

static int int_param(const cJSON *in, const char *name, int64_t *v, int64_t lo, int64_t hi,
                     const char *reason, tp_error *err)
{
    int has = sqs_json_int(in, name, v);
    if (has == 0)
        return 0;
    if (has < 0 || *v < lo || *v > hi) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(in, name);
        char buf[64];
        if (cJSON_IsString(m))
            snprintf(buf, sizeof buf, "%s", m->valuestring);
        else
            snprintf(buf, sizeof buf, "%lld", (long long)*v);
        sqs_invalid_value(err, buf, name, reason);
        return -1;
    }
    return 1;
}

typedef struct sent {
    char message_id[40];
    char md5_body[33], md5_attrs[33], md5_sys[33];
    char seq[24];
} sent;

/* Checks one message (SendMessage's request or one batch entry) and its
 * size; *size gets body + attribute bytes. */
static int check_message(const sqs_queue *q, const cJSON *m, size_t *size, tp_error *err)
{
    const cJSON *bodyj = cJSON_GetObjectItemCaseSensitive(m, "MessageBody");
    const char *body = cJSON_IsString(bodyj) ? bodyj->valuestring : NULL;
    if (!body || !*body)
        return tp_fail(err, TP_ERR_SQS_MISSING_PARAMETER,
                       "The request must contain the parameter MessageBody.");
    size_t blen = strlen(body);
    if (sqs_check_body(body, blen, err) != 0)
        return -1;
    *size = blen;
    if (sqs_check_message_attributes(cJSON_GetObjectItemCaseSensitive(m, "MessageAttributes"), 0,
                                     size, err) != 0)
        return -1;
    if (sqs_check_message_attributes(
            cJSON_GetObjectItemCaseSensitive(m, "MessageSystemAttributes"), 1, NULL, err) != 0)
        return -1;
    int64_t max = sqs_queue_int(q, "MaximumMessageSize", 1048576);
    if ((int64_t)*size > max)
        return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                       "One or more parameters are invalid. Reason: Message must be shorter than "
                       "%lld bytes.",
                       (long long)max);
    int64_t delay;
    int has = int_param(m, "DelaySeconds", &delay, 0, MAX_DELAY,
                        "DelaySeconds must be >= 0 and <= 900", err); /* unverified wording */
    if (has < 0)
        return -1;
    const char *group = tp_json_str(m, "MessageGroupId");
    const char *dedup = tp_json_str(m, "MessageDeduplicationId");
    if (q->fifo) {
        if (has && delay != 0) {
            char v[32];
            snprintf(v, sizeof v, "%lld", (long long)delay);
            return sqs_invalid_value(err, v, "DelaySeconds",
                                     "The request include parameter that is not valid for this "
                                     "queue type.");
        }
        if (!group || !*group)
            return tp_fail(err, TP_ERR_SQS_MISSING_PARAMETER,
                           "The request must contain the parameter MessageGroupId.");
        const char *cbd = sqs_queue_str(q, "ContentBasedDeduplication");
        if ((!dedup || !*dedup) && !(cbd && strcmp(cbd, "true") == 0))
            return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                           "The queue should either have ContentBasedDeduplication enabled or "
                           "MessageDeduplicationId provided explicitly");
        if (dedup && !fifo_id_ok(dedup))
            return sqs_invalid_value(err, dedup, "MessageDeduplicationId",
                                     "MessageDeduplicationId can only include alphanumeric and "
                                     "punctuation characters. 1 to 128 in length.");
    } else if (dedup) {
        return sqs_invalid_value(err, dedup, "MessageDeduplicationId",
                                 "The request includes a parameter that is not valid for this "
                                 "queue type.");
    }
    if (group && !fifo_id_ok(group))
        return sqs_invalid_value(err, group, "MessageGroupId",
                                 "MessageGroupId can only include alphanumeric and punctuation "
                                 "characters. 1 to 128 in length.");
    return 0;
}

/* Stores one checked message. A FIFO message whose deduplication id was
 * seen within the window is accepted and dropped: the answer names the
 * first message's id and sequence number, as AWS's does. */
static int store_message(tp_req *r, sqs_queue *q, const cJSON *m, sent *s, tp_error *err)
{
    memset(s, 0, sizeof *s);
    const char *body = tp_json_str(m, "MessageBody");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(m, "MessageAttributes");
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(m, "MessageSystemAttributes");
    tp_md5_hex(body, strlen(body), s->md5_body);
    if (sqs_md5_of_attributes(attrs, s->md5_attrs) != 0 ||
        sqs_md5_of_attributes(sys, s->md5_sys) != 0)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    const char *group = tp_json_str(m, "MessageGroupId");
    const char *dedup = tp_json_str(m, "MessageDeduplicationId");
    char dedup_buf[65];
    if (q->fifo && (!dedup || !*dedup)) {
        tp_sha256_hex(body, strlen(body), dedup_buf);
        dedup = dedup_buf;
    }
    if (q->fifo) {
        const char *scope = sqs_queue_str(q, "DeduplicationScope");
        const char *grp = scope && strcmp(scope, "messageGroup") == 0 ? group : "";
        static const char sql_seen[] = "SELECT message_id, seq FROM sqs_dedup WHERE queue_id = ?1 "
                                       "AND grp = ?2 AND dedup_id = ?3 AND expires_ms > ?4";
        sqlite3_stmt *st = sqs_stmt(r->core, sql_seen);
        if (!st)
            return storage(err);
        sqlite3_bind_int64(st, 1, q->id);
        bind_text(st, 2, grp);
        bind_text(st, 3, dedup);
        sqlite3_bind_int64(st, 4, r->now_ms);
        int seen = sqlite3_step(st) == SQLITE_ROW;
        if (seen) {
            snprintf(s->message_id, sizeof s->message_id, "%s", col_text(st, 0));
            snprintf(s->seq, sizeof s->seq, "%s", col_text(st, 1));
        }
        sqlite3_reset(st);
        if (seen)
            return 0;
        if (sqs_queue_next_seq(r->core, q, s->seq) != 0)
            return storage(err);
        static const char sql_dedup[] =
            "INSERT OR REPLACE INTO sqs_dedup(queue_id, grp, dedup_id, message_id, seq, "
            "expires_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
        st = sqs_stmt(r->core, sql_dedup);
        if (!st)
            return storage(err);
        tp_rng_uuid(&r->core->rng, s->message_id);
        sqlite3_bind_int64(st, 1, q->id);
        bind_text(st, 2, grp);
        bind_text(st, 3, dedup);
        bind_text(st, 4, s->message_id);
        bind_text(st, 5, s->seq);
        sqlite3_bind_int64(st, 6, r->now_ms + SQS_DEDUP_WINDOW_MS);
        if (done(st) != 0)
            return storage(err);
    } else {
        tp_rng_uuid(&r->core->rng, s->message_id);
    }
    int64_t delay = sqs_queue_int(q, "DelaySeconds", 0);
    int64_t d;
    if (!q->fifo && sqs_json_int(m, "DelaySeconds", &d) == 1)
        delay = d;
    char *attrs_text = attrs && cJSON_GetArraySize(attrs) > 0 ? tp_json_print(attrs) : NULL;
    char *sys_text = sys && cJSON_GetArraySize(sys) > 0 ? tp_json_print(sys) : NULL;
    static const char sql[] =
        "INSERT INTO sqs_messages(queue_id, message_id, body, attrs, sys_attrs, md5_body, "
        "md5_attrs, md5_sys, sent_ms, visible_ms, group_id, dedup_id, seq, sender) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
    sqlite3_stmt *st = sqs_stmt(r->core, sql);
    int rc = -1;
    int64_t visible = r->now_ms + delay * 1000;
    if (st) {
        sqlite3_bind_int64(st, 1, q->id);
        bind_text(st, 2, s->message_id);
        bind_text(st, 3, body);
        bind_text(st, 4, attrs_text);
        bind_text(st, 5, sys_text);
        bind_text(st, 6, s->md5_body);
        bind_text(st, 7, s->md5_attrs);
        bind_text(st, 8, s->md5_sys);
        sqlite3_bind_int64(st, 9, r->now_ms);
        sqlite3_bind_int64(st, 10, visible);
        bind_text(st, 11, group);
        bind_text(st, 12, q->fifo ? dedup : "");
        bind_text(st, 13, s->seq);
        bind_text(st, 14, r->account);
        rc = done(st);
        if (rc == 0)
            rc = sqs_message_added(r->core, q->id,
                                   sqlite3_last_insert_rowid(tp_store_db(r->core->store)));
    }
    free(attrs_text);
    free(sys_text);
    if (rc != 0)
        return storage(err);
    sqs_wake_at(r->core, q, r->now_ms, visible);
    return 0;
}

static void sent_fields(cJSON *o, const sent *s)
{
    cJSON_AddStringToObject(o, "MD5OfMessageBody", s->md5_body);
    if (s->md5_attrs[0])
        cJSON_AddStringToObject(o, "MD5OfMessageAttributes", s->md5_attrs);
    if (s->md5_sys[0])
        cJSON_AddStringToObject(o, "MD5OfMessageSystemAttributes", s->md5_sys);
    cJSON_AddStringToObject(o, "MessageId", s->message_id);
    if (s->seq[0])
        cJSON_AddStringToObject(o, "SequenceNumber", s->seq);
}

int sqs_send_message(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    if (sqs_throughput_admit(r, &q, "SendMessage", tp_json_str(in, "MessageGroupId"), err) != 0) {
        sqs_queue_clear(&q);
        return -1;
    }
    size_t size;
    sent s;
    int rc = check_message(&q, in, &size, err);
    if (rc == 0)
        rc = store_message(r, &q, in, &s, err);
    sqs_queue_clear(&q);
    if (rc != 0)
        return -1;
    *out = cJSON_CreateObject();
    sent_fields(*out, &s);
    return 0;
}

/* --- batches ------------------------------------------------------------------------ */

static int batch_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 80)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* The checks every batch action makes on its Entries before any entry
 * runs. */
static int check_batch(const cJSON *in, const char *entry_shape, const cJSON **entries,
                       tp_error *err)
{
    *entries = cJSON_GetObjectItemCaseSensitive(in, "Entries");
    int n = cJSON_IsArray(*entries) ? cJSON_GetArraySize(*entries) : 0;
    if (n == 0)
        return tp_fail(err, TP_ERR_SQS_EMPTY_BATCH,
                       "There should be at least one %s in the request.", entry_shape);
    if (n > SQS_MAX_BATCH)
        return tp_fail(err, TP_ERR_SQS_TOO_MANY_ENTRIES,
                       "Maximum number of entries per request are %d. You have sent %d.",
                       SQS_MAX_BATCH, n);
    const cJSON *e;
    cJSON_ArrayForEach(e, *entries)
    {
        const char *id = tp_json_str(e, "Id");
        if (!id || !batch_id_ok(id))
            return tp_fail(err, TP_ERR_SQS_INVALID_BATCH_ENTRY_ID,
                           "A batch entry id can only contain alphanumeric characters, hyphens "
                           "and underscores. It can be at most 80 letters long.");
    }
    cJSON_ArrayForEach(e, *entries)
    {
        const char *id = tp_json_str(e, "Id");
        for (const cJSON *f = e->next; f; f = f->next)
            if (strcmp(id, tp_json_str(f, "Id")) == 0)
                return tp_fail(err, TP_ERR_SQS_BATCH_IDS_NOT_DISTINCT, "Id %s repeated.", id);
    }
    return 0;
}

static void add_failed(cJSON *failed, const char *id, const tp_error *e)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "Id", id);
    cJSON_AddBoolToObject(f, "SenderFault", e->status < 500);
    cJSON_AddStringToObject(f, "Code", e->code);
    cJSON_AddStringToObject(f, "Message", e->message);
    cJSON_AddItemToArray(failed, f);
}

int sqs_send_message_batch(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    const cJSON *entries;
    if (sqs_throughput_admit(r, &q, "SendMessage", NULL, err) != 0 ||
        check_batch(in, "SendMessageBatchRequestEntry", &entries, err) != 0) {
        sqs_queue_clear(&q);
        return -1;
    }
    /* The whole batch's size counts before any entry is judged. */
    size_t total = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, entries)
    {
        const char *body = tp_json_str(e, "MessageBody");
        total += body ? strlen(body) : 0;
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(e, "MessageAttributes"))
        {
            const char *t = tp_json_str(a, "DataType"), *sv = tp_json_str(a, "StringValue");
            const char *bv = tp_json_str(a, "BinaryValue");
            total += (a->string ? strlen(a->string) : 0) + (t ? strlen(t) : 0) +
                     (sv ? strlen(sv) : 0) + (bv ? strlen(bv) * 3 / 4 : 0);
        }
    }
    const size_t limit = 1048576;
    if (total > limit) {
        sqs_queue_clear(&q);
        return tp_fail(err, TP_ERR_SQS_BATCH_TOO_LONG,
                       "Batch requests cannot be longer than %zu bytes. You have sent %zu bytes.",
                       limit, total);
    }
    cJSON *ok = cJSON_CreateArray(), *failed = cJSON_CreateArray();
    cJSON_ArrayForEach(e, entries)
    {
        const char *id = tp_json_str(e, "Id");
        tp_error ee;
        memset(&ee, 0, sizeof ee);
        size_t size;
        sent s;
        if (check_message(&q, e, &size, &ee) != 0 || store_message(r, &q, e, &s, &ee) != 0) {
            if (strcmp(ee.code, "InternalServerError") == 0) {
                cJSON_Delete(ok);
                cJSON_Delete(failed);
                sqs_queue_clear(&q);
                *err = ee;
                return -1;
            }
            add_failed(failed, id, &ee);
            continue;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "Id", id);
        sent_fields(o, &s);
        cJSON_AddItemToArray(ok, o);
    }
    sqs_queue_clear(&q);
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "Successful", ok);
    cJSON_AddItemToObject(*out, "Failed", failed);
    return 0;
}

/* --- receiving ------------------------------------------------------------------------- */

static const char *const SYSTEM_NAMES[] = {
    "SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp",
    "SequenceNumber", "MessageDeduplicationId", "MessageGroupId", "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
};

typedef struct want {
    int all_sys;
    unsigned sys_mask;              /* bit i: SYSTEM_NAMES[i] */
    const cJSON *msg_names;         /* MessageAttributeNames */
} want;

static int system_index(const char *n)
{
    for (size_t i = 0; i < sizeof SYSTEM_NAMES / sizeof SYSTEM_NAMES[0]; i++)
        if (strcmp(SYSTEM_NAMES[i], n) == 0)
            return (int)i;
    return -1;
}

/* Queue attribute names that ReceiveMessage's AttributeNames accepts and
 * ignores (the list shares GetQueueAttributes' enum). */
static int queue_attr_name(const char *n)
{
    static const char *const names[] = {
        "Policy", "VisibilityTimeout", "MaximumMessageSize", "MessageRetentionPeriod",
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "CreatedTimestamp",
        "LastModifiedTimestamp", "QueueArn", "ApproximateNumberOfMessagesDelayed", "DelaySeconds",
        "ReceiveMessageWaitTimeSeconds", "RedrivePolicy", "FifoQueue", "ContentBasedDeduplication",
        "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "DeduplicationScope",
        "FifoThroughputLimit", "RedriveAllowPolicy", "SqsManagedSseEnabled"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i], n) == 0)
            return 1;
    return 0;
}

static int parse_want(const cJSON *in, want *w, tp_error *err)
{
    memset(w, 0, sizeof *w);
    static const char *const lists[] = {"AttributeNames", "MessageSystemAttributeNames"};
    for (int l = 0; l < 2; l++) {
        const cJSON *n;
        cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(in, lists[l]))
        {
            const char *s = cJSON_IsString(n) ? n->valuestring : "";
            int i = system_index(s);
            if (strcmp(s, "All") == 0)
                w->all_sys = 1;
            else if (i >= 0)
                w->sys_mask |= 1u << i;
            else if (!(l == 0 && queue_attr_name(s)))
                return tp_fail(err, TP_ERR_SQS_INVALID_ATTRIBUTE_NAME, "Unknown Attribute %s.", s);
        }
    }
    w->msg_names = cJSON_GetObjectItemCaseSensitive(in, "MessageAttributeNames");
    return 0;
}

static int wants_sys(const want *w, const char *name)
{
    int i = system_index(name);
    return w->all_sys || (i >= 0 && (w->sys_mask & (1u << i)));
}

static int wants_msg_attr(const want *w, const char *name)
{
    const cJSON *n;
    cJSON_ArrayForEach(n, w->msg_names)
    {
        const char *s = cJSON_IsString(n) ? n->valuestring : "";
        size_t k = strlen(s);
        if (strcmp(s, "All") == 0 || strcmp(s, ".*") == 0 || strcmp(s, name) == 0)
            return 1;
        if (k > 2 && strcmp(s + k - 2, ".*") == 0 && strncmp(name, s, k - 1) == 0)
            return 1;
    }
    return 0;
}

static void add_num_str(cJSON *o, const char *name, int64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)v);
    cJSON_AddStringToObject(o, name, b);
}

/* The facts of a stored message's state (the diagram above): a receipt
 * handle exists only once the message was received, and a first-receive
 * time with it. Checked in debug builds after every receive. */
#ifndef NDEBUG
static int message_check(tp_core *core, int64_t row)
{
    static const char sql[] = "SELECT receive_count, first_receive_ms, receipt, sent_ms, visible_ms "
                              "FROM sqs_messages WHERE id = ?1";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return 1;
    sqlite3_bind_int64(st, 1, row);
    int ok = 1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        int64_t count = sqlite3_column_int64(st, 0), first = sqlite3_column_int64(st, 1);
        const char *receipt = col_text(st, 2);
        int64_t sent_ms = sqlite3_column_int64(st, 3), visible = sqlite3_column_int64(st, 4);
        ok = (*receipt == 0 || count > 0) && (count == 0 || first >= sent_ms) && visible >= sent_ms;
    }
    sqlite3_reset(st);
    return ok;
}
#endif

/* Receives row id: counts the receive, hides it for vt seconds, hands out
 * a new receipt handle and builds the Message. */
static int take_one(tp_req *r, const sqs_queue *q, int64_t row, int64_t vt_ms, const want *w,
                    cJSON *messages, tp_error *err)
{
    static const char sql[] =
        "SELECT message_id, body, attrs, sys_attrs, md5_body, sent_ms, receive_count, "
        "first_receive_ms, group_id, dedup_id, seq, sender, dlq_source "
        "FROM sqs_messages WHERE id = ?1";
    sqlite3_stmt *st = sqs_stmt(r->core, sql);
    if (!st)
        return storage(err);
    sqlite3_bind_int64(st, 1, row);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return 0;
    }
    int64_t count = sqlite3_column_int64(st, 6) + 1;
    int64_t first = sqlite3_column_int64(st, 7);
    if (!first)
        first = r->now_ms;
    tp_buf handle;
    tp_buf_init(&handle);
    sqs_receipt_make(&r->core->rng, q->arn, row, count, &handle);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "MessageId", col_text(st, 0));
    cJSON_AddStringToObject(m, "ReceiptHandle", handle.data);
    cJSON_AddStringToObject(m, "MD5OfBody", col_text(st, 4));
    cJSON_AddStringToObject(m, "Body", col_text(st, 1));
    cJSON *sa = cJSON_CreateObject();
    const char *sys_text = col_text(st, 3);
    cJSON *sys = *sys_text ? tp_json_parse(sys_text, strlen(sys_text)) : NULL;
    const char *v;
    if (wants_sys(w, "SenderId"))
        cJSON_AddStringToObject(sa, "SenderId", col_text(st, 11));
    if (wants_sys(w, "SentTimestamp"))
        add_num_str(sa, "SentTimestamp", sqlite3_column_int64(st, 5));
    if (wants_sys(w, "ApproximateReceiveCount"))
        add_num_str(sa, "ApproximateReceiveCount", count);
    if (wants_sys(w, "ApproximateFirstReceiveTimestamp"))
        add_num_str(sa, "ApproximateFirstReceiveTimestamp", first);
    if (*(v = col_text(st, 10)) && wants_sys(w, "SequenceNumber"))
        cJSON_AddStringToObject(sa, "SequenceNumber", v);
    if (*(v = col_text(st, 9)) && wants_sys(w, "MessageDeduplicationId"))
        cJSON_AddStringToObject(sa, "MessageDeduplicationId", v);
    if (*(v = col_text(st, 8)) && wants_sys(w, "MessageGroupId"))
        cJSON_AddStringToObject(sa, "MessageGroupId", v);
    const cJSON *trace = sys ? cJSON_GetObjectItemCaseSensitive(sys, "AWSTraceHeader") : NULL;
    if (trace && tp_json_str(trace, "StringValue") && wants_sys(w, "AWSTraceHeader"))
        cJSON_AddStringToObject(sa, "AWSTraceHeader", tp_json_str(trace, "StringValue"));
    if (*(v = col_text(st, 12)) && wants_sys(w, "DeadLetterQueueSourceArn"))
        cJSON_AddStringToObject(sa, "DeadLetterQueueSourceArn", v);
    cJSON_Delete(sys);
    if (cJSON_GetArraySize(sa) > 0)
        cJSON_AddItemToObject(m, "Attributes", sa);
    else
        cJSON_Delete(sa);
    const char *attrs_text = col_text(st, 2);
    cJSON *attrs = *attrs_text ? tp_json_parse(attrs_text, strlen(attrs_text)) : NULL;
    cJSON *chosen = cJSON_CreateObject();
    const cJSON *a;
    cJSON_ArrayForEach(a, attrs)
    {
        if (wants_msg_attr(w, a->string))
            cJSON_AddItemToObject(chosen, a->string, cJSON_Duplicate(a, 1));
    }
    cJSON_Delete(attrs);
    sqlite3_reset(st);
    if (cJSON_GetArraySize(chosen) > 0) {
        char md5[33];
        sqs_md5_of_attributes(chosen, md5);
        cJSON_AddStringToObject(m, "MD5OfMessageAttributes", md5);
        cJSON_AddItemToObject(m, "MessageAttributes", chosen);
    } else {
        cJSON_Delete(chosen);
    }
    static const char sql_upd[] = "UPDATE sqs_messages SET receive_count = ?2, "
                                  "first_receive_ms = ?3, visible_ms = ?4, receipt = ?5, "
                                  "last_receive_ms = ?6 WHERE id = ?1";
    st = sqs_stmt(r->core, sql_upd);
    int rc = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, row);
        sqlite3_bind_int64(st, 2, count);
        sqlite3_bind_int64(st, 3, first);
        sqlite3_bind_int64(st, 4, r->now_ms + vt_ms);
        bind_text(st, 5, handle.data);
        sqlite3_bind_int64(st, 6, r->now_ms);
        rc = done(st);
    }
    tp_buf_free(&handle);
    if (rc != 0) {
        cJSON_Delete(m);
        return storage(err);
    }
    assert(message_check(r->core, row));
    cJSON_AddItemToArray(messages, m);
    return 1;
}

typedef struct cand {
    int64_t row, count;
    char group[MAX_FIFO_ID + 1];
} cand;

/* Standard queue: receivable rows, oldest visibility first. */
static int standard_candidates(tp_core *core, const sqs_queue *q, int64_t now, int limit,
                               cand *out, int *n)
{
    static const char sql[] = "SELECT id, receive_count FROM sqs_messages WHERE queue_id = ?1 "
                              "AND visible_ms <= ?2 ORDER BY visible_ms, id LIMIT ?3";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, q->id);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int(st, 3, limit);
    *n = 0;
    while (*n < limit && sqlite3_step(st) == SQLITE_ROW) {
        out[*n].row = sqlite3_column_int64(st, 0);
        out[*n].count = sqlite3_column_int64(st, 1);
        out[*n].group[0] = 0;
        (*n)++;
    }
    sqlite3_reset(st);
    return 0;
}

/* FIFO: in arrival order, skipping every group that has an earlier message
 * in flight or delayed; messages of the first group come first, then the
 * next group's (AWS returns as many of one group as it can). A group's
 * candidates are the visible run of its messages from its oldest one (its
 * head, kept in sqs_groups), so the receive visits the groups in the order
 * of their heads until it has enough, not every message of the queue. */
static int fifo_candidates(tp_core *core, const sqs_queue *q, int64_t now, int limit, cand *out,
                           int *n)
{
    static const char heads_sql[] =
        "SELECT g.head, g.group_id, m.visible_ms FROM sqs_groups g"
        " JOIN sqs_messages m ON m.id = g.head WHERE g.queue_id = ?1 ORDER BY g.head";
    static const char run_sql[] =
        "SELECT id, receive_count, visible_ms FROM sqs_messages"
        " WHERE queue_id = ?1 AND group_id = ?2 AND group_id <> '' AND id >= ?3"
        " ORDER BY id LIMIT ?4";
    sqlite3_stmt *st = sqs_stmt(core, heads_sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, q->id);
    cand heads[SQS_MAX_BATCH];
    int nheads = 0;
    while (nheads < limit && sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_int64(st, 2) > now)
            continue;   /* the group's oldest message is in flight or delayed */
        heads[nheads].row = sqlite3_column_int64(st, 0);
        snprintf(heads[nheads].group, sizeof heads[nheads].group, "%s", col_text(st, 1));
        nheads++;
    }
    sqlite3_reset(st);
    *n = 0;
    st = sqs_stmt(core, run_sql);
    if (!st)
        return -1;
    for (int h = 0; h < nheads && *n < limit; h++) {
        sqlite3_bind_int64(st, 1, q->id);
        bind_text(st, 2, heads[h].group);
        sqlite3_bind_int64(st, 3, heads[h].row);
        sqlite3_bind_int(st, 4, limit - *n);
        while (*n < limit && sqlite3_step(st) == SQLITE_ROW) {
            if (sqlite3_column_int64(st, 2) > now)
                break;   /* the rest of the group waits behind it */
            out[*n].row = sqlite3_column_int64(st, 0);
            out[*n].count = sqlite3_column_int64(st, 1);
            snprintf(out[*n].group, sizeof out[*n].group, "%s", heads[h].group);
            (*n)++;
        }
        sqlite3_reset(st);
    }
    return 0;
}

/* ReceiveRequestAttemptId: a repeated FIFO receive within 5 minutes gets
 * the first answer again. */
static int attempt_lookup(tp_core *core, const sqs_queue *q, const char *id, int64_t now,
                          cJSON **out)
{
    static const char sql[] = "SELECT response FROM sqs_receive_attempts WHERE queue_id = ?1 AND "
                              "attempt_id = ?2 AND expires_ms > ?3";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, q->id);
    bind_text(st, 2, id);
    sqlite3_bind_int64(st, 3, now);
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = col_text(st, 0);
        *out = tp_json_parse(t, strlen(t));
        found = *out != NULL;
    }
    sqlite3_reset(st);
    return found;
}

static int attempt_store(tp_core *core, const sqs_queue *q, const char *id, int64_t now,
                         const cJSON *resp)
{
    static const char sql[] = "INSERT OR REPLACE INTO sqs_receive_attempts(queue_id, attempt_id, "
                              "response, expires_ms) VALUES(?1, ?2, ?3, ?4)";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    char *t = tp_json_print(resp);
    int rc = -1;
    if (st && t) {
        sqlite3_bind_int64(st, 1, q->id);
        bind_text(st, 2, id);
        bind_text(st, 3, t);
        sqlite3_bind_int64(st, 4, now + SQS_DEDUP_WINDOW_MS);
        rc = done(st);
    }
    free(t);
    return rc;
}

int sqs_receive_message(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    if (sqs_throughput_admit(r, &q, "ReceiveMessage", NULL, err) != 0) {
        sqs_queue_clear(&q);
        return -1;
    }
    int64_t max = 1, vt = sqs_queue_int(&q, "VisibilityTimeout", 30),
            wait = sqs_queue_int(&q, "ReceiveMessageWaitTimeSeconds", 0);
    want w;
    int rc = 0;
    if (int_param(in, "MaxNumberOfMessages", &max, 1, SQS_MAX_BATCH,
                  "Must be between 1 and 10, if provided.", err) < 0 ||
        int_param(in, "VisibilityTimeout", &vt, 0, MAX_VISIBILITY,
                  "Must be >= 0 and <= 43200, if provided.", err) < 0 ||  /* unverified wording */
        int_param(in, "WaitTimeSeconds", &wait, 0, MAX_WAIT,
                  "Must be >= 0 and <= 20, if provided.", err) < 0 ||
        parse_want(in, &w, err) != 0)
        rc = -1;
    const char *attempt = q.fifo ? tp_json_str(in, "ReceiveRequestAttemptId") : NULL;
    if (rc == 0 && attempt && !fifo_id_ok(attempt))
        rc = sqs_invalid_value(err, attempt, "ReceiveRequestAttemptId",
                               "ReceiveRequestAttemptId can only include alphanumeric and "
                               "punctuation characters. 1 to 128 in length."); /* unverified wording */
    if (rc == 0 && sqs_expire_messages(r->core, &q, r->now_ms) != 0)
        rc = storage(err);
    if (rc == 0 && attempt && *attempt) {
        int found = attempt_lookup(r->core, &q, attempt, r->now_ms, out);
        if (found != 0) {
            sqs_queue_clear(&q);
            return found < 0 ? storage(err) : 0;
        }
    }
    if (rc != 0) {
        sqs_queue_clear(&q);
        return -1;
    }
    char dlq[192];
    int64_t max_receives = sqs_redrive_max(&q, dlq, sizeof dlq);
    cJSON *messages = cJSON_CreateArray();
    int taken = 0;
    /* Rounds: a round's candidates past maxReceiveCount move to the DLQ and
     * the next round looks again. */
    for (int round = 0; rc == 0 && taken < max && round < 64; round++) {
        cand c[SQS_MAX_BATCH];
        int n = 0;
        int want_n = (int)max - taken;
        if ((q.fifo ? fifo_candidates(r->core, &q, r->now_ms, want_n, c, &n)
                    : standard_candidates(r->core, &q, r->now_ms, want_n, c, &n)) != 0) {
            rc = storage(err);
            break;
        }
        if (n == 0)
            break;
        int moved = 0;
        for (int i = 0; rc == 0 && i < n; i++) {
            if (max_receives > 0 && c[i].count >= max_receives) {
                int m = sqs_redrive_message(r, &q, c[i].row);
                if (m < 0)
                    rc = storage(err);
                else if (m > 0) {
                    /* the group's next candidate (FIFO) is next in c[] */
                    moved++;
                    continue;
                }
            }
            if (rc == 0) {
                int t = take_one(r, &q, c[i].row, vt * 1000, &w, messages, err);
                if (t < 0)
                    rc = -1;
                else
                    taken += t;
            }
        }
        if (!moved)
            break;
    }
    if (rc != 0) {
        cJSON_Delete(messages);
        sqs_queue_clear(&q);
        return -1;
    }
    if (taken > 0 && vt > 0)
        sqs_wake_at(r->core, &q, r->now_ms, r->now_ms + vt * 1000);
    else if (taken > 0)
        sqs_wake_at(r->core, &q, r->now_ms, r->now_ms);
    /* Nothing yet: a long poll parks when the engine can park it (the
     * engine gives handlers and pollers park_final, so they get an answer
     * at once; HTTP clients and tp_engine_call wait). */
    if (taken == 0 && wait > 0 && !r->park_final && r->core->host &&
        r->core->host->wake) {
        cJSON_Delete(messages);
        /* a woken poll that still finds nothing keeps its first deadline */
        if (r->park_until_ms <= r->now_ms)
            r->park_until_ms = r->now_ms + wait * 1000;
        snprintf(r->park_key, sizeof r->park_key, "%s", q.arn);
        sqs_queue_clear(&q);
        *out = NULL;
        return 0;
    }
    *out = cJSON_CreateObject();
    if (taken > 0)
        cJSON_AddItemToObject(*out, "Messages", messages);
    else
        cJSON_Delete(messages);
    if (attempt && *attempt && attempt_store(r->core, &q, attempt, r->now_ms, *out) != 0) {
        cJSON_Delete(*out);
        *out = NULL;
        sqs_queue_clear(&q);
        return storage(err);
    }
    sqs_queue_clear(&q);
    return 0;
}

/* --- deleting and visibility -------------------------------------------------------------- */

typedef struct held {
    int64_t row;
    int found;           /* the row still exists */
    int current;         /* handle is the row's latest */
    int64_t visible_ms;
    int64_t received_ms;     /* the latest receive */
} held;

static int bad_handle(tp_error *err, const char *handle)
{
    return tp_fail(err, TP_ERR_SQS_RECEIPT_HANDLE_INVALID,
                   "The input receipt handle \"%s\" is not a valid receipt handle.", handle);
}

/* Resolves a receipt handle on q. */
static int resolve_handle(tp_core *core, const sqs_queue *q, const char *handle, held *h,
                          tp_error *err)
{
    memset(h, 0, sizeof *h);
    if (!handle || !*handle)
        return tp_fail(err, TP_ERR_SQS_MISSING_PARAMETER,
                       "The request must contain the parameter ReceiptHandle.");
    char arn[192];
    if (sqs_receipt_parse(handle, arn, sizeof arn, &h->row) != 0 || strcmp(arn, q->arn) != 0)
        return bad_handle(err, handle);
    static const char sql[] =
        "SELECT receipt, visible_ms, last_receive_ms FROM sqs_messages WHERE id = ?1 AND queue_id = ?2";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return storage(err);
    sqlite3_bind_int64(st, 1, h->row);
    sqlite3_bind_int64(st, 2, q->id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        h->found = 1;
        h->current = strcmp(col_text(st, 0), handle) == 0;
        h->visible_ms = sqlite3_column_int64(st, 1);
        h->received_ms = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    return 0;
}

static int delete_one(tp_req *r, const sqs_queue *q, const char *handle, tp_error *err)
{
    held h;
    if (resolve_handle(r->core, q, handle, &h, err) != 0)
        return -1;
    if (!h.found)
        return 0;   /* already gone: AWS answers success */
    if (q->fifo && (!h.current || h.visible_ms <= r->now_ms))
        return sqs_invalid_value(err, handle, "ReceiptHandle", "The receipt handle has expired.");
    if (!h.current)
        return 0;   /* a stale handle: the call succeeds, the message stays */
    if (sqs_message_remove(r->core, h.row) != 0)
        return storage(err);
    if (q->fifo)   /* the group's next message may be receivable now */
        sqs_wake_at(r->core, q, r->now_ms, r->now_ms);
    return 0;
}

static int change_visibility(tp_req *r, const sqs_queue *q, const char *handle, const cJSON *m,
                             tp_error *err)
{
    int64_t vt;
    int has = int_param(m, "VisibilityTimeout", &vt, 0, MAX_VISIBILITY,
                        "Must be between 0 and 43200, if provided.", err); /* unverified wording */
    if (has < 0)
        return -1;
    if (has == 0)
        return tp_fail(err, TP_ERR_SQS_MISSING_PARAMETER,
                       "The request must contain the parameter VisibilityTimeout.");
    held h;
    if (resolve_handle(r->core, q, handle, &h, err) != 0)
        return -1;
    if (!h.found || !h.current)
        return sqs_invalid_value(err, handle, "ReceiptHandle",
                                 "Message does not exist or is not available for visibility "
                                 "timeout change.");
    if (h.visible_ms <= r->now_ms)
        return tp_fail(err, TP_ERR_SQS_MESSAGE_NOT_INFLIGHT,
                       "Message does not exist or is not available for visibility timeout "
                       "change."); /* unverified wording */
    /* The 12 hours count from the receive, not from this call. */
    if (r->now_ms + vt * 1000 > h.received_ms + (int64_t)MAX_VISIBILITY * 1000) {
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)vt);
        return sqs_invalid_value(err, v, "VisibilityTimeout",
                                 "Total VisibilityTimeout for the message is beyond the limit "
                                 "[43200 seconds]");
    }
    static const char sql[] = "UPDATE sqs_messages SET visible_ms = ?2 WHERE id = ?1";
    sqlite3_stmt *st = sqs_stmt(r->core, sql);
    if (!st)
        return storage(err);
    sqlite3_bind_int64(st, 1, h.row);
    sqlite3_bind_int64(st, 2, r->now_ms + vt * 1000);
    if (done(st) != 0)
        return storage(err);
    sqs_wake_at(r->core, q, r->now_ms, r->now_ms + vt * 1000);
    return 0;
}

int sqs_delete_message(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    int rc = sqs_throughput_admit(r, &q, "DeleteMessage", NULL, err);
    if (rc == 0)
        rc = delete_one(r, &q, tp_json_str(in, "ReceiptHandle"), err);
    sqs_queue_clear(&q);
    if (rc != 0)
        return -1;
    *out = cJSON_CreateObject();
    return 0;
}

int sqs_change_message_visibility(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    int rc = change_visibility(r, &q, tp_json_str(in, "ReceiptHandle"), in, err);
    sqs_queue_clear(&q);
    if (rc != 0)
        return -1;
    *out = cJSON_CreateObject();
    return 0;
}

static int handle_batch(tp_req *r, cJSON *in, cJSON **out, tp_error *err, int visibility)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    const cJSON *entries;
    if ((!visibility && sqs_throughput_admit(r, &q, "DeleteMessage", NULL, err) != 0) ||
        check_batch(in,
                    visibility ? "ChangeMessageVisibilityBatchRequestEntry"
                               : "DeleteMessageBatchRequestEntry",
                    &entries, err) != 0) {
        sqs_queue_clear(&q);
        return -1;
    }
    cJSON *ok = cJSON_CreateArray(), *failed = cJSON_CreateArray();
    const cJSON *e;
    cJSON_ArrayForEach(e, entries)
    {
        const char *id = tp_json_str(e, "Id");
        const char *handle = tp_json_str(e, "ReceiptHandle");
        tp_error ee;
        memset(&ee, 0, sizeof ee);
        int rc = visibility ? change_visibility(r, &q, handle, e, &ee) : delete_one(r, &q, handle, &ee);
        if (rc != 0) {
            if (strcmp(ee.code, "InternalServerError") == 0) {
                cJSON_Delete(ok);
                cJSON_Delete(failed);
                sqs_queue_clear(&q);
                *err = ee;
                return -1;
            }
            add_failed(failed, id, &ee);
            continue;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "Id", id);
        cJSON_AddItemToArray(ok, o);
    }
    sqs_queue_clear(&q);
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "Successful", ok);
    cJSON_AddItemToObject(*out, "Failed", failed);
    return 0;
}

int sqs_delete_message_batch(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    return handle_batch(r, in, out, err, 0);
}

int sqs_change_message_visibility_batch(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    return handle_batch(r, in, out, err, 1);
}
