/* sqs/service — SQS's action table, storage schema and start-up hook,
 * handed to the engine as one tp_service. */
#include <stddef.h>

#include "core/dispatch.h"
#include "sqs.h"

const char sqs_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS sqs_queues("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,"
    "  fifo INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, modified_ms INTEGER NOT NULL,"
    "  purge_ms INTEGER NOT NULL DEFAULT 0,"       /* last PurgeQueue (60 s rule) */
    "  seq INTEGER NOT NULL DEFAULT 0,"            /* last FIFO SequenceNumber */
    "  attrs TEXT NOT NULL,"                       /* settable attributes, JSON of strings */
    "  UNIQUE(account, region, name));"
    /* One row per message in a queue; the state follows from the clock
     * (message.c): visible_ms > now and receive_count = 0 is delayed,
     * visible_ms > now and receive_count > 0 in flight, else receivable. */
    "CREATE TABLE IF NOT EXISTS sqs_messages("
    "  id INTEGER PRIMARY KEY,"                    /* arrival order (FIFO order) */
    "  queue_id INTEGER NOT NULL,"
    "  message_id TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  attrs TEXT NOT NULL DEFAULT '',"            /* MessageAttributes as sent, JSON */
    "  sys_attrs TEXT NOT NULL DEFAULT '',"        /* MessageSystemAttributes, JSON */
    "  md5_body TEXT NOT NULL, md5_attrs TEXT NOT NULL DEFAULT '',"
    "  md5_sys TEXT NOT NULL DEFAULT '',"
    "  sent_ms INTEGER NOT NULL,"
    "  visible_ms INTEGER NOT NULL,"
    "  receive_count INTEGER NOT NULL DEFAULT 0,"
    "  first_receive_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_receive_ms INTEGER NOT NULL DEFAULT 0,"   /* the 12-hour visibility cap counts from it */
    "  receipt TEXT NOT NULL DEFAULT '',"          /* the latest receipt handle */
    "  group_id TEXT NOT NULL DEFAULT '', dedup_id TEXT NOT NULL DEFAULT '',"
    "  seq TEXT NOT NULL DEFAULT '',"
    "  sender TEXT NOT NULL DEFAULT '',"
    "  dlq_source TEXT NOT NULL DEFAULT '');"      /* DeadLetterQueueSourceArn */
    "CREATE INDEX IF NOT EXISTS sqs_messages_by_visibility ON sqs_messages(queue_id, visible_ms);"
    "CREATE INDEX IF NOT EXISTS sqs_messages_by_age ON sqs_messages(queue_id, sent_ms);"
    "CREATE TABLE IF NOT EXISTS sqs_tags("
    "  queue_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY(queue_id, key)) WITHOUT ROWID;"
    /* FIFO deduplication: an id seen within the 5-minute window (grp is
     * the MessageGroupId under DeduplicationScope messageGroup, else ''). */
    "CREATE TABLE IF NOT EXISTS sqs_dedup("
    "  queue_id INTEGER NOT NULL, grp TEXT NOT NULL, dedup_id TEXT NOT NULL,"
    "  message_id TEXT NOT NULL, seq TEXT NOT NULL, expires_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(queue_id, grp, dedup_id)) WITHOUT ROWID;"
    /* FIFO ReceiveRequestAttemptId: the answer to repeat within 5 minutes. */
    "CREATE TABLE IF NOT EXISTS sqs_receive_attempts("
    "  queue_id INTEGER NOT NULL, attempt_id TEXT NOT NULL,"
    "  response TEXT NOT NULL, expires_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(queue_id, attempt_id)) WITHOUT ROWID;"
    /* Names deleted within the last 60 s (QueueDeletedRecently). */
    "CREATE TABLE IF NOT EXISTS sqs_deleted("
    "  account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,"
    "  deleted_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(account, region, name)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS sqs_move_tasks("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, region TEXT NOT NULL,"
    "  handle TEXT NOT NULL UNIQUE,"
    "  source_arn TEXT NOT NULL, dest_arn TEXT NOT NULL DEFAULT '',"
    "  rate INTEGER NOT NULL DEFAULT 0,"          /* MaxNumberOfMessagesPerSecond; 0 none */
    "  status TEXT NOT NULL,"
    "  started_ms INTEGER NOT NULL,"
    "  moved INTEGER NOT NULL DEFAULT 0, to_move INTEGER NOT NULL DEFAULT 0,"
    "  failure TEXT NOT NULL DEFAULT '');";

static const tp_action sqs_actions[] = {
#define SQS_ACTION(Name, fn, fl)                                                               \
    {.target = SQS_TARGET_PREFIX #Name, .service = "sqs", .name = #Name, .input = NULL,       \
     .run = fn, .flags = (fl)},
#include "actions.def"
#undef SQS_ACTION
};

int sqs_service_start(tp_core *core) { return sqs_move_tasks_start(core); }

const tp_service sqs_service = {
    .name = "sqs",
    .schema_sql = sqs_schema_sql,
    .actions = sqs_actions,
    .nactions = sizeof sqs_actions / sizeof sqs_actions[0],
    .start = sqs_service_start,
};
