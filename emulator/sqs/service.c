/* sqs/service — SQS's action table, storage schema and start-up hook,
 * handed to the engine as one tp_service. */
#include <stddef.h>

#include "core/dispatch.h"
#include "core/store.h"
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
    /* receivable rows in visibility order, and (covering) the counts of
     * the rows not visible now, split by receive_count */
    "DROP INDEX IF EXISTS sqs_messages_by_visibility;"
    "CREATE INDEX IF NOT EXISTS sqs_messages_by_state"
    "  ON sqs_messages(queue_id, visible_ms, id, receive_count);"
    "CREATE INDEX IF NOT EXISTS sqs_messages_by_age ON sqs_messages(queue_id, sent_ms);"
    /* only messages with a group (FIFO queues) pay for this one */
    "CREATE INDEX IF NOT EXISTS sqs_messages_by_group ON sqs_messages(queue_id, group_id, id)"
    "  WHERE group_id <> '';"
    /* Kept by message.c in the same transaction as every insert and
     * delete of a message (sqs_message_added / sqs_message_remove /
     * sqs_messages_cleared): a queue's message count (GetQueueAttributes
     * and the SQS event source read it without a scan) and each message
     * group's oldest message (FIFO receives visit group heads, not the
     * whole queue). Not triggers: a trigger makes every insert open a
     * statement journal, which costs more than the work. sqs_service_start
     * rebuilds both from sqs_messages, so a store written before they
     * existed is right. */
    "DROP TRIGGER IF EXISTS sqs_messages_added;"
    "DROP TRIGGER IF EXISTS sqs_messages_removed;"
    "DROP TRIGGER IF EXISTS sqs_group_added;"
    "DROP TRIGGER IF EXISTS sqs_group_removed;"
    "CREATE TABLE IF NOT EXISTS sqs_queue_counts("
    "  queue_id INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sqs_groups("
    "  queue_id INTEGER NOT NULL, group_id TEXT NOT NULL, head INTEGER NOT NULL,"
    "  PRIMARY KEY(queue_id, group_id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS sqs_groups_by_head ON sqs_groups(queue_id, head);"
    "CREATE TABLE IF NOT EXISTS sqs_tags("
    "  queue_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY(queue_id, key)) WITHOUT ROWID;"
    /* FIFO deduplication: an id seen within the 5-minute window (grp is
     * the MessageGroupId under DeduplicationScope messageGroup, else ''). */
    "CREATE TABLE IF NOT EXISTS sqs_dedup("
    "  queue_id INTEGER NOT NULL, grp TEXT NOT NULL, dedup_id TEXT NOT NULL,"
    "  message_id TEXT NOT NULL, seq TEXT NOT NULL, expires_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(queue_id, grp, dedup_id)) WITHOUT ROWID;"
    "DROP INDEX IF EXISTS sqs_dedup_by_expiry;"
    /* When a FIFO queue's expired dedup ids are next swept (message.c):
     * an index on expires_ms would cost every send (its entries carry the
     * hash-ordered key), so the sweep scans, at most once a minute. */
    "CREATE TABLE IF NOT EXISTS sqs_dedup_sweeps("
    "  queue_id INTEGER PRIMARY KEY, next_ms INTEGER NOT NULL);"
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

/* The derived tables, recomputed from the messages (a store from before
 * they existed, or one restored from a snapshot, starts right). */
static const char rebuild_sql[] =
    "DELETE FROM sqs_queue_counts;"
    "INSERT INTO sqs_queue_counts(queue_id, n)"
    "  SELECT queue_id, COUNT(*) FROM sqs_messages GROUP BY queue_id;"
    "DELETE FROM sqs_groups;"
    "INSERT INTO sqs_groups(queue_id, group_id, head)"
    "  SELECT queue_id, group_id, MIN(id) FROM sqs_messages WHERE group_id <> ''"
    "  GROUP BY queue_id, group_id;";

int sqs_service_start(tp_core *core)
{
    if (tp_store_exec(core->store, rebuild_sql) != 0)
        return -1;
    return sqs_move_tasks_start(core);
}

const tp_service sqs_service = {
    .name = "sqs",
    .schema_sql = sqs_schema_sql,
    .actions = sqs_actions,
    .nactions = sizeof sqs_actions / sizeof sqs_actions[0],
    .start = sqs_service_start,
};
