/* sqs/sqs — what the SQS action files share: the stored queue record,
 * finding a queue from a QueueUrl or an ARN, queue URLs and ARNs, the
 * error helpers worded as SQS words them, and the message internals
 * (attribute MD5s, receipt handles) that the unit tests reach.
 *
 * Files: queue.c (queues and their attributes), message.c (the message
 * state machine: send, receive, delete, visibility), fifo rules live in
 * message.c beside it, redrive.c (dead-letter queues and move tasks),
 * tags.c (tags and permissions), md5.c (MD5 of message attributes),
 * receipt.c (receipt handles). */
#ifndef TP_SQS_H
#define TP_SQS_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "core/error.h"

typedef struct cJSON cJSON;
typedef struct tp_buf tp_buf;

#define SQS_TARGET_PREFIX "AmazonSQS."
#define SQS_DEFAULT_ENDPOINT "http://localhost:4566"
#define SQS_MAX_BATCH 10
#define SQS_DEDUP_WINDOW_MS (5 * 60 * 1000)
#define SQS_PURGE_INTERVAL_MS 60000

typedef struct sqs_queue {
    int64_t id;
    char account[16];
    char region[32];
    char name[96];
    char arn[192];
    int fifo;
    int64_t created_ms, modified_ms, purge_ms;
    int64_t seq;           /* last FIFO sequence number handed out */
    cJSON *attrs;          /* owned: the settable attributes as strings */
} sqs_queue;

#define SQS_ACTION(Name, fn, fl) int fn(tp_req *r, cJSON *in, cJSON **out, tp_error *err);
#include "actions.def"
#undef SQS_ACTION

int sqs_service_start(tp_core *core);

/* --- queues (queue.c) ---------------------------------------------------- */

/* Loads the queue a QueueUrl names (QueueDoesNotExist or MissingParameter
 * otherwise). sqs_queue_clear frees what load filled. */
int sqs_queue_from_url(tp_req *r, const cJSON *in, sqs_queue *q, tp_error *err);
/* Loads by ARN: 1 found, 0 not there, -1 storage error. */
int sqs_queue_by_arn(tp_core *core, const char *arn, sqs_queue *q);
int sqs_queue_by_id(tp_core *core, int64_t id, sqs_queue *q);
void sqs_queue_clear(sqs_queue *q);
/* Writes attrs and modified_ms back. */
int sqs_queue_save(tp_core *core, const sqs_queue *q);
int64_t sqs_queue_int(const sqs_queue *q, const char *attr, int64_t dflt);
const char *sqs_queue_str(const sqs_queue *q, const char *attr);
/* "http://host:port/account/name" for this request's endpoint. */
void sqs_queue_url(const tp_req *r, const sqs_queue *q, char *out, size_t cap);
/* The queue's next FIFO sequence number (20 digits), saved. */
int sqs_queue_next_seq(tp_core *core, sqs_queue *q, char out[24]);

/* --- messages (message.c) ------------------------------------------------ */

/* Drops the queue's messages past MessageRetentionPeriod. */
int sqs_expire_messages(tp_core *core, const sqs_queue *q, int64_t now_ms);
/* The derived tables (service.c) follow every message row: call
 * sqs_message_added after inserting row, sqs_message_remove to delete one
 * row, sqs_messages_cleared after deleting all of a queue's rows. */
int sqs_message_added(tp_core *core, int64_t queue_id, int64_t row);
int sqs_message_remove(tp_core *core, int64_t row);
int sqs_messages_cleared(tp_core *core, int64_t queue_id);
/* Counts for GetQueueAttributes. */
int sqs_message_counts(tp_core *core, const sqs_queue *q, int64_t now_ms, int64_t *visible,
                       int64_t *inflight, int64_t *delayed);
/* Wakes long polls on q now and arms a timer that wakes them at due_ms. */
void sqs_wake_at(tp_core *core, const sqs_queue *q, int64_t now_ms, int64_t due_ms);

/* --- FIFO throughput (throughput.c) ----------------------------------------- */

/* Counts one call of action ("SendMessage", "ReceiveMessage",
 * "DeleteMessage"; a batch is one call) against a FIFO queue's limits (and
 * its message group's in high-throughput mode, for sends naming group):
 * 0, or -1 with RequestThrottled. Standard queues: always 0. */
int sqs_throughput_admit(tp_req *r, const sqs_queue *q, const char *action, const char *group,
                         tp_error *err);

/* --- dead-letter queues (redrive.c) --------------------------------------- */

/* Checks a RedrivePolicy / RedriveAllowPolicy value for queue q (which may
 * have id 0 while being created); on success *norm is the value to store. */
int sqs_check_redrive_policy(tp_req *r, const sqs_queue *q, const char *value, tp_error *err);
int sqs_check_redrive_allow_policy(const char *value, tp_error *err);
/* Moves message row id of q to its dead-letter queue (the receive that
 * would exceed maxReceiveCount). 1 moved, 0 no DLQ to move to, -1 error. */
int sqs_redrive_message(tp_req *r, const sqs_queue *q, int64_t row);
/* q's maxReceiveCount with its DLQ's ARN in dlq_arn, or 0 without a policy. */
int64_t sqs_redrive_max(const sqs_queue *q, char *dlq_arn, size_t cap);
/* Copies a stored message row into queue dst as a new arrival (DLQ moves
 * and move tasks). source_arn NULL keeps the row's DeadLetterQueueSourceArn. */
int sqs_message_copy(tp_core *core, int64_t row, sqs_queue *dst, int64_t now_ms,
                     const char *dlq_source_arn);
int sqs_move_tasks_start(tp_core *core);

/* --- MD5s and message attributes (md5.c) ----------------------------------- */

/* Checks a MessageAttributes (system=0) or MessageSystemAttributes
 * (system=1) map the way SQS does; adds its size in bytes to *size. */
int sqs_check_message_attributes(const cJSON *attrs, int system, size_t *size, tp_error *err);
/* MD5 of a message attribute map as SQS computes it (names sorted; each
 * name, data type, transport byte 1 String/Number or 2 Binary and value,
 * strings and values prefixed with their 4-byte big-endian length). Empty
 * or NULL map: out[0] = 0. */
int sqs_md5_of_attributes(const cJSON *attrs, char out[33]);
/* The body's characters are in SQS's allowed set (#x9 #xA #xD #x20-#xD7FF
 * #xE000-#xFFFD #x10000-#x10FFFF, as UTF-8). */
int sqs_text_ok(const char *s, size_t len);
/* The body's character check with SQS's InvalidMessageContents message. */
int sqs_check_body(const char *body, size_t len, tp_error *err);

/* --- receipt handles (receipt.c) -------------------------------------------- */

/* A receipt handle names the queue (ARN), the message row and the
 * receive; the random part makes every receive's handle different. */
void sqs_receipt_make(tp_rng *rng, const char *arn, int64_t row, int64_t receive, tp_buf *out);
/* 0 and fills arn/row when the handle is one of ours; -1 otherwise. */
int sqs_receipt_parse(const char *handle, char *arn, size_t arn_cap, int64_t *row);

/* --- tags (tags.c) --------------------------------------------------------------- */

int sqs_tags_check(const cJSON *tags, tp_error *err);
int sqs_tags_put(tp_core *core, int64_t queue_id, const cJSON *tags);

/* --- shared helpers (queue.c) ------------------------------------------------ */

/* Integer member given as a JSON number or a numeric string; 1 present and
 * valid, 0 absent, -1 present but not an integer. */
int sqs_json_int(const cJSON *obj, const char *name, int64_t *v);
/* "Value %s for parameter %s is invalid. Reason: %s" */
int sqs_invalid_value(tp_error *err, const char *value, const char *param, const char *reason);
sqlite3_stmt *sqs_stmt(tp_core *core, const char *sql);

#endif
