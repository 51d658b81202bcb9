/* sqs/tags — TagQueue, UntagQueue, ListQueueTags (and CreateQueue's
 * tags), AddPermission and RemovePermission.
 *
 * Tags hang off the queue's row id, so DeleteQueue drops them. Permissions
 * are statements of the queue's Policy attribute, written the way SQS
 * writes them (Sid = Label, Principal arn:aws:iam::<account>:root, Action
 * SQS:<name>), so GetQueueAttributes Policy shows them; nothing enforces
 * them (every caller may use every queue of its account). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/store.h"
#include "sqs.h"

#define MAX_TAGS 50
#define MAX_TAG_KEY 128
#define MAX_TAG_VALUE 256

static int done(sqlite3_stmt *st)
{
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (st)
        sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static int storage(tp_error *err) { return tp_fail(err, TP_ERR_INTERNAL, "storage error"); }

int sqs_tags_check(const cJSON *tags, tp_error *err)
{
    if (!cJSON_IsObject(tags))
        return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE, "Tags must be a map."); /* unverified wording */
    const cJSON *t;
    cJSON_ArrayForEach(t, tags)
    {
        size_t k = t->string ? strlen(t->string) : 0;
        if (k < 1 || k > MAX_TAG_KEY)
            return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                           "Tag keys must be between 1 and 128 characters in length."); /* unverified wording */
        if (!cJSON_IsString(t) || strlen(t->valuestring) > MAX_TAG_VALUE)
            return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                           "Tag values may only be up to 256 characters in length."); /* unverified wording */
    }
    return 0;
}

int sqs_tags_put(tp_core *core, int64_t queue_id, const cJSON *tags)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO sqs_tags(queue_id, key, value) VALUES(?1, ?2, ?3)";
    const cJSON *t;
    cJSON_ArrayForEach(t, tags)
    {
        sqlite3_stmt *st = sqs_stmt(core, sql);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, queue_id);
        sqlite3_bind_text(st, 2, t->string, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, t->valuestring, -1, SQLITE_TRANSIENT);
        if (done(st) != 0)
            return -1;
    }
    return 0;
}

static int64_t tag_count(tp_core *core, int64_t queue_id, const cJSON *adding)
{
    static const char sql[] = "SELECT key FROM sqs_tags WHERE queue_id = ?1";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, queue_id);
    int64_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        if (!cJSON_GetObjectItemCaseSensitive(adding, (const char *)sqlite3_column_text(st, 0)))
            n++;
    sqlite3_reset(st);
    return n + cJSON_GetArraySize(adding);
}

int sqs_tag_queue(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(in, "Tags");
    int rc = 0;
    if (!tags || cJSON_GetArraySize(tags) == 0)
        rc = tp_fail(err, TP_ERR_SQS_MISSING_PARAMETER, "The request must contain the parameter Tags.");
    else if (sqs_tags_check(tags, err) != 0)
        rc = -1;
    else if (tag_count(r->core, q.id, tags) > MAX_TAGS)
        rc = tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE, "Too many tags added for queue %s.",
                     q.name); /* unverified wording */
    else if (sqs_tags_put(r->core, q.id, tags) != 0)
        rc = storage(err);
    sqs_queue_clear(&q);
    if (rc == 0)
        *out = cJSON_CreateObject();
    return rc;
}

int sqs_untag_queue(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(in, "TagKeys");
    int rc = 0;
    if (!cJSON_IsArray(keys) || cJSON_GetArraySize(keys) == 0)
        rc = tp_fail(err, TP_ERR_SQS_MISSING_PARAMETER,
                     "The request must contain the parameter TagKeys.");
    const cJSON *k;
    static const char sql[] = "DELETE FROM sqs_tags WHERE queue_id = ?1 AND key = ?2";
    cJSON_ArrayForEach(k, (rc == 0 ? keys : NULL))
    {
        sqlite3_stmt *st = sqs_stmt(r->core, sql);
        if (!st || !cJSON_IsString(k)) {
            rc = st ? tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE, "Invalid tag key.") /* unverified wording */
                    : storage(err);
            break;
        }
        sqlite3_bind_int64(st, 1, q.id);
        sqlite3_bind_text(st, 2, k->valuestring, -1, SQLITE_TRANSIENT);
        if (done(st) != 0) {
            rc = storage(err);
            break;
        }
    }
    sqs_queue_clear(&q);
    if (rc == 0)
        *out = cJSON_CreateObject();
    return rc;
}

int sqs_list_queue_tags(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    static const char sql[] = "SELECT key, value FROM sqs_tags WHERE queue_id = ?1 ORDER BY key";
    sqlite3_stmt *st = sqs_stmt(r->core, sql);
    if (!st) {
        sqs_queue_clear(&q);
        return storage(err);
    }
    sqlite3_bind_int64(st, 1, q.id);
    cJSON *tags = cJSON_CreateObject();
    while (sqlite3_step(st) == SQLITE_ROW)
        cJSON_AddStringToObject(tags, (const char *)sqlite3_column_text(st, 0),
                                (const char *)sqlite3_column_text(st, 1));
    sqlite3_reset(st);
    sqs_queue_clear(&q);
    *out = cJSON_CreateObject();
    if (cJSON_GetArraySize(tags) > 0)
        cJSON_AddItemToObject(*out, "Tags", tags);
    else
        cJSON_Delete(tags);
    return 0;
}

/* --- permissions ----------------------------------------------------------------------- */

static const char *const ACTIONS[] = {
    "*", "ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "GetQueueUrl",
    "ListDeadLetterSourceQueues", "PurgeQueue", "ReceiveMessage", "SendMessage",
    "ListQueueTags", "ChangeMessageVisibilityBatch", "DeleteMessageBatch", "SendMessageBatch",
};

static int label_ok(const char *l)
{
    size_t n = strlen(l);
    if (n == 0 || n > 80)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = l[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static cJSON *policy_of(const sqs_queue *q)
{
    const char *p = sqs_queue_str(q, "Policy");
    cJSON *j = p && *p ? tp_json_parse(p, strlen(p)) : NULL;
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "Version", "2012-10-17");
        char id[256];
        snprintf(id, sizeof id, "%s/SQSDefaultPolicy", q->arn);
        cJSON_AddStringToObject(j, "Id", id);
    }
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "Statement"))) {
        cJSON_DeleteItemFromObjectCaseSensitive(j, "Statement");
        cJSON_AddItemToObject(j, "Statement", cJSON_CreateArray());
    }
    return j;
}

static cJSON *find_sid(cJSON *statements, const char *label, int *index)
{
    cJSON *s;
    int i = 0;
    cJSON_ArrayForEach(s, statements)
    {
        const char *sid = tp_json_str(s, "Sid");
        if (sid && strcmp(sid, label) == 0) {
            if (index)
                *index = i;
            return s;
        }
        i++;
    }
    return NULL;
}

static int save_policy(tp_req *r, sqs_queue *q, cJSON *policy)
{
    cJSON_DeleteItemFromObjectCaseSensitive(q->attrs, "Policy");
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(policy, "Statement")) > 0) {
        char *t = tp_json_print(policy);
        if (!t)
            return -1;
        cJSON_AddStringToObject(q->attrs, "Policy", t);
        free(t);
    }
    q->modified_ms = r->now_ms;
    return sqs_queue_save(r->core, q);
}

int sqs_add_permission(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    const char *label = tp_json_str(in, "Label");
    const cJSON *accounts = cJSON_GetObjectItemCaseSensitive(in, "AWSAccountIds");
    const cJSON *actions = cJSON_GetObjectItemCaseSensitive(in, "Actions");
    int rc = 0;
    if (!label || !*label)
        rc = tp_fail(err, TP_ERR_SQS_MISSING_PARAMETER, "The request must contain the parameter Label.");
    else if (!label_ok(label))
        rc = sqs_invalid_value(err, label, "Label",
                               "Can only include alphanumeric characters, hyphens, or "
                               "underscores. 1 to 80 in length"); /* unverified wording */
    else if (!cJSON_IsArray(accounts) || cJSON_GetArraySize(accounts) == 0)
        rc = tp_fail(err, TP_ERR_SQS_MISSING_PARAMETER,
                     "The request must contain the parameter AWSAccountIds.");
    else if (!cJSON_IsArray(actions) || cJSON_GetArraySize(actions) == 0)
        rc = tp_fail(err, TP_ERR_SQS_MISSING_PARAMETER, "The request must contain the parameter Actions.");
    const cJSON *a;
    cJSON_ArrayForEach(a, (rc == 0 ? actions : NULL))
    {
        int ok = 0;
        for (size_t i = 0; cJSON_IsString(a) && i < sizeof ACTIONS / sizeof ACTIONS[0]; i++)
            ok |= strcmp(ACTIONS[i], a->valuestring) == 0;
        if (!ok) {
            char v[160];
            snprintf(v, sizeof v, "SQS:%s", cJSON_IsString(a) ? a->valuestring : "");
            rc = sqs_invalid_value(err, v, "ActionName",
                                   "Please refer to the appropriate WSDL for a list of valid "
                                   "actions. "); /* unverified wording */
            break;
        }
    }
    cJSON *policy = rc == 0 ? policy_of(&q) : NULL;
    cJSON *statements = policy ? cJSON_GetObjectItemCaseSensitive(policy, "Statement") : NULL;
    if (rc == 0 && find_sid(statements, label, NULL))
        rc = sqs_invalid_value(err, label, "Label", "Already exists.");
    if (rc == 0) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "Sid", label);
        cJSON_AddStringToObject(s, "Effect", "Allow");
        cJSON *principal = cJSON_AddObjectToObject(s, "Principal");
        cJSON *who = cJSON_CreateArray();
        cJSON_ArrayForEach(a, accounts)
        {
            char arn[64];
            snprintf(arn, sizeof arn, "arn:aws:iam::%s:root", cJSON_IsString(a) ? a->valuestring : "");
            cJSON_AddItemToArray(who, cJSON_CreateString(arn));
        }
        if (cJSON_GetArraySize(who) == 1) {
            cJSON_AddItemToObject(principal, "AWS", cJSON_DetachItemFromArray(who, 0));
            cJSON_Delete(who);
        } else {
            cJSON_AddItemToObject(principal, "AWS", who);
        }
        cJSON *what = cJSON_CreateArray();
        cJSON_ArrayForEach(a, actions)
        {
            char act[160];
            snprintf(act, sizeof act, "SQS:%s", a->valuestring);
            cJSON_AddItemToArray(what, cJSON_CreateString(act));
        }
        if (cJSON_GetArraySize(what) == 1) {
            cJSON_AddItemToObject(s, "Action", cJSON_DetachItemFromArray(what, 0));
            cJSON_Delete(what);
        } else {
            cJSON_AddItemToObject(s, "Action", what);
        }
        cJSON_AddStringToObject(s, "Resource", q.arn);
        cJSON_AddItemToArray(statements, s);
        if (save_policy(r, &q, policy) != 0)
            rc = storage(err);
    }
    cJSON_Delete(policy);
    sqs_queue_clear(&q);
    if (rc == 0)
        *out = cJSON_CreateObject();
    return rc;
}

int sqs_remove_permission(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    const char *label = tp_json_str(in, "Label");
    int rc = 0;
    cJSON *policy = NULL;
    if (!label || !*label) {
        rc = tp_fail(err, TP_ERR_SQS_MISSING_PARAMETER, "The request must contain the parameter Label.");
    } else {
        policy = policy_of(&q);
        cJSON *statements = cJSON_GetObjectItemCaseSensitive(policy, "Statement");
        int index = -1;
        if (!find_sid(statements, label, &index))
            rc = sqs_invalid_value(err, label, "Label", "can't find label."); /* unverified wording */
        else {
            cJSON_DeleteItemFromArray(statements, index);
            if (save_policy(r, &q, policy) != 0)
                rc = storage(err);
        }
    }
    cJSON_Delete(policy);
    sqs_queue_clear(&q);
    if (rc == 0)
        *out = cJSON_CreateObject();
    return rc;
}
