/* sqs/queue — queues: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue,
 * GetQueueAttributes, SetQueueAttributes, PurgeQueue, and what the other
 * files use to find a queue (by QueueUrl, ARN or id) and read its
 * attributes.
 *
 * A queue is one sqs_queues row per (account, region, name); its settable
 * attributes are one JSON object of strings, holding every default, so
 * GetQueueAttributes All is that object plus the computed counts and
 * timestamps. Queue URLs are http://<host:port>/<account>/<name> built from
 * the address the client used; any URL whose path is /<account>/<name> is
 * accepted (the sqs.<region>.amazonaws.com forms name the region too). */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/store.h"
#include "sqs.h"

#define MAX_NAME 80
#define LIST_MAX 1000

sqlite3_stmt *sqs_stmt(tp_core *core, const char *sql) { return tp_store_stmt(core->store, sql); }

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

int sqs_json_int(const cJSON *obj, const char *name, int64_t *v)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!m || cJSON_IsNull(m))
        return 0;
    if (cJSON_IsNumber(m)) {
        double d = m->valuedouble;
        if (d != (double)(int64_t)d)
            return -1;
        *v = (int64_t)d;
        return 1;
    }
    if (cJSON_IsString(m) && m->valuestring[0]) {
        char *end;
        long long x = strtoll(m->valuestring, &end, 10);
        if (*end)
            return -1;
        *v = x;
        return 1;
    }
    return -1;
}

int sqs_invalid_value(tp_error *err, const char *value, const char *param, const char *reason)
{
    return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                   "Value %s for parameter %s is invalid. Reason: %s", value, param, reason);
}

static int missing(tp_error *err, const char *param)
{
    return tp_fail(err, TP_ERR_SQS_MISSING_PARAMETER, "The request must contain the parameter %s.",
                   param);
}

static int no_queue(tp_error *err)
{
    return tp_fail(err, TP_ERR_SQS_QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
}

/* --- the queue record -------------------------------------------------------- */

void sqs_queue_clear(sqs_queue *q)
{
    cJSON_Delete(q->attrs);
    memset(q, 0, sizeof *q);
}

static int load_row(sqlite3_stmt *st, sqs_queue *q)
{
    memset(q, 0, sizeof *q);
    q->id = sqlite3_column_int64(st, 0);
    snprintf(q->account, sizeof q->account, "%s", col_text(st, 1));
    snprintf(q->region, sizeof q->region, "%s", col_text(st, 2));
    snprintf(q->name, sizeof q->name, "%s", col_text(st, 3));
    q->fifo = sqlite3_column_int(st, 4);
    q->created_ms = sqlite3_column_int64(st, 5);
    q->modified_ms = sqlite3_column_int64(st, 6);
    q->purge_ms = sqlite3_column_int64(st, 7);
    q->seq = sqlite3_column_int64(st, 8);
    const char *a = col_text(st, 9);
    q->attrs = tp_json_parse(a, strlen(a));
    if (!q->attrs)
        q->attrs = cJSON_CreateObject();
    snprintf(q->arn, sizeof q->arn, "arn:aws:sqs:%s:%s:%s", q->region, q->account, q->name);
    return q->attrs ? 1 : -1;
}

static int find(tp_core *core, const char *account, const char *region, const char *name,
                sqs_queue *q)
{
    static const char sql[] = "SELECT id, account, region, name, fifo, created_ms, modified_ms, "
                              "purge_ms, seq, attrs FROM sqs_queues "
                              "WHERE account = ?1 AND region = ?2 AND name = ?3";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return -1;
    bind_text(st, 1, account);
    bind_text(st, 2, region);
    bind_text(st, 3, name);
    int rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW ? load_row(st, q) : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return found;
}

int sqs_queue_by_id(tp_core *core, int64_t id, sqs_queue *q)
{
    static const char sql[] = "SELECT id, account, region, name, fifo, created_ms, modified_ms, "
                              "purge_ms, seq, attrs FROM sqs_queues WHERE id = ?1";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW ? load_row(st, q) : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return found;
}

int sqs_queue_by_arn(tp_core *core, const char *arn, sqs_queue *q)
{
    /* arn:aws:sqs:<region>:<account>:<name> */
    if (!arn || strncmp(arn, "arn:aws:sqs:", 12) != 0)
        return 0;
    const char *region = arn + 12, *c1 = strchr(region, ':');
    if (!c1)
        return 0;
    const char *account = c1 + 1, *c2 = strchr(account, ':');
    if (!c2 || !c2[1] || strchr(c2 + 1, ':'))
        return 0;
    char reg[32], acc[16];
    if ((size_t)(c1 - region) >= sizeof reg || (size_t)(c2 - account) >= sizeof acc)
        return 0;
    memcpy(reg, region, (size_t)(c1 - region));
    reg[c1 - region] = 0;
    memcpy(acc, account, (size_t)(c2 - account));
    acc[c2 - account] = 0;
    return find(core, acc, reg, c2 + 1, q);
}

int sqs_queue_save(tp_core *core, const sqs_queue *q)
{
    static const char sql[] = "UPDATE sqs_queues SET attrs = ?2, modified_ms = ?3, purge_ms = ?4, "
                              "seq = ?5 WHERE id = ?1";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return -1;
    char *a = tp_json_print(q->attrs);
    sqlite3_bind_int64(st, 1, q->id);
    bind_text(st, 2, a ? a : "{}");
    sqlite3_bind_int64(st, 3, q->modified_ms);
    sqlite3_bind_int64(st, 4, q->purge_ms);
    sqlite3_bind_int64(st, 5, q->seq);
    free(a);
    return done(st);
}

int sqs_queue_next_seq(tp_core *core, sqs_queue *q, char out[24])
{
    /* AWS's sequence numbers are 20-digit, strictly increasing per queue. */
    q->seq++;
    snprintf(out, 24, "%020lld", (long long)(18000000000000000000ull / 2 + (uint64_t)q->seq));
    static const char sql[] = "UPDATE sqs_queues SET seq = ?2 WHERE id = ?1";
    sqlite3_stmt *st = sqs_stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, q->id);
    sqlite3_bind_int64(st, 2, q->seq);
    return done(st);
}

int64_t sqs_queue_int(const sqs_queue *q, const char *attr, int64_t dflt)
{
    const char *s = tp_json_str(q->attrs, attr);
    return s && *s ? strtoll(s, NULL, 10) : dflt;
}

const char *sqs_queue_str(const sqs_queue *q, const char *attr) { return tp_json_str(q->attrs, attr); }

void sqs_queue_url(const tp_req *r, const sqs_queue *q, char *out, size_t cap)
{
    const char *ep = r->endpoint && *r->endpoint ? r->endpoint : SQS_DEFAULT_ENDPOINT;
    size_t n = strlen(ep);
    while (n && ep[n - 1] == '/')
        n--;
    snprintf(out, cap, "%.*s/%s/%s", (int)n, ep, q->account, q->name);
}

/* Splits a QueueUrl into account, name and (for AWS host forms) region.
 * 0 ok, -1 not a queue URL. */
static int parse_url(const char *url, char *account, size_t acap, char *name, size_t ncap,
                     char *region, size_t rcap)
{
    region[0] = 0;
    const char *p = strstr(url, "://");
    const char *host = p ? p + 3 : url;
    const char *path = strchr(host, '/');
    if (!path)
        return -1;
    /* sqs.<region>.amazonaws.com, <region>.queue.amazonaws.com, queue.amazonaws.com */
    size_t hlen = (size_t)(path - host);
    char h[256];
    if (hlen >= sizeof h)
        return -1;
    memcpy(h, host, hlen);
    h[hlen] = 0;
    char *colon = strchr(h, ':');
    if (colon)
        *colon = 0;
    if (strncmp(h, "sqs.", 4) == 0 && strstr(h, ".amazonaws.com")) {
        const char *e = strchr(h + 4, '.');
        if (e && (size_t)(e - (h + 4)) < rcap) {
            memcpy(region, h + 4, (size_t)(e - (h + 4)));
            region[e - (h + 4)] = 0;
        }
    } else if (strcmp(h, "queue.amazonaws.com") == 0) {
        snprintf(region, rcap, "us-east-1");
    } else if (strstr(h, ".queue.amazonaws.com")) {
        const char *e = strchr(h, '.');
        if ((size_t)(e - h) < rcap) {
            memcpy(region, h, (size_t)(e - h));
            region[e - h] = 0;
        }
    }
    /* /<account>/<name>, possibly with a trailing slash or a query */
    const char *a = path + 1, *slash = strchr(a, '/');
    if (!slash)
        return -1;
    size_t alen = (size_t)(slash - a);
    if (alen == 0 || alen >= acap)
        return -1;
    for (size_t i = 0; i < alen; i++)
        if (!isdigit((unsigned char)a[i]))
            return -1;
    memcpy(account, a, alen);
    account[alen] = 0;
    const char *nm = slash + 1;
    size_t nlen = strcspn(nm, "/?#");
    if (nlen == 0 || nlen >= ncap || (nm[nlen] == '/' && nm[nlen + 1] && nm[nlen + 1] != '?'))
        return -1;
    memcpy(name, nm, nlen);
    name[nlen] = 0;
    return 0;
}

int sqs_queue_from_url(tp_req *r, const cJSON *in, sqs_queue *q, tp_error *err)
{
    memset(q, 0, sizeof *q);
    const char *url = tp_json_str(in, "QueueUrl");
    if (!url || !*url)
        return missing(err, "QueueUrl");
    char account[16], name[256], region[32];
    /* AWS answers a QueueUrl that names no queue (no /<account>/<name>
     * path) as a queue that does not exist, not as InvalidAddress. */
    if (parse_url(url, account, sizeof account, name, sizeof name, region, sizeof region) != 0)
        return no_queue(err);
    int found = find(r->core, account, region[0] ? region : r->region, name, q);
    if (found < 0)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    if (found == 0)
        return no_queue(err);
    return 0;
}

/* --- attributes ------------------------------------------------------------------- */

typedef struct attr_rule {
    const char *name;
    char kind;            /* 'i' integer range, 'b' boolean, 'e' enum, 'j' JSON, 's' string */
    int64_t lo, hi;
    const char *values;   /* enum: "a|b" */
    int fifo_only;
} attr_rule;

static const attr_rule RULES[] = {
    {"DelaySeconds", 'i', 0, 900, NULL, 0},
    {"MaximumMessageSize", 'i', 1024, 1048576, NULL, 0},
    {"MessageRetentionPeriod", 'i', 60, 1209600, NULL, 0},
    {"ReceiveMessageWaitTimeSeconds", 'i', 0, 20, NULL, 0},
    {"VisibilityTimeout", 'i', 0, 43200, NULL, 0},
    {"Policy", 'j', 0, 0, NULL, 0},
    {"RedrivePolicy", 'j', 0, 0, NULL, 0},
    {"RedriveAllowPolicy", 'j', 0, 0, NULL, 0},
    {"KmsMasterKeyId", 's', 0, 0, NULL, 0},
    {"KmsDataKeyReusePeriodSeconds", 'i', 60, 86400, NULL, 0},
    {"SqsManagedSseEnabled", 'b', 0, 0, NULL, 0},
    {"FifoQueue", 'b', 0, 0, NULL, 1},
    {"ContentBasedDeduplication", 'b', 0, 0, NULL, 1},
    {"DeduplicationScope", 'e', 0, 0, "messageGroup|queue", 1},
    {"FifoThroughputLimit", 'e', 0, 0, "perQueue|perMessageGroupId", 1},
};

static const attr_rule *rule_for(const char *name)
{
    for (size_t i = 0; i < sizeof RULES / sizeof RULES[0]; i++)
        if (strcmp(RULES[i].name, name) == 0)
            return &RULES[i];
    return NULL;
}

static int bad_value(tp_error *err, const char *name)
{
    return tp_fail(err, TP_ERR_SQS_INVALID_ATTRIBUTE_VALUE, "Invalid value for the parameter %s.",
                   name);
}

static int enum_has(const char *values, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = values; *p;) {
        size_t k = strcspn(p, "|");
        if (k == n && strncmp(p, v, n) == 0)
            return 1;
        p += k + (p[k] == '|');
    }
    return 0;
}

/* Checks one attribute for q (fifo known; id 0 while creating) and puts
 * its normal form in norm. */
static int check_attr(tp_req *r, const sqs_queue *q, const char *name, const char *value,
                      int creating, char **norm, tp_error *err)
{
    *norm = NULL;
    const attr_rule *rule = rule_for(name);
    if (!rule || (strcmp(name, "FifoQueue") == 0 && (!creating || !q->fifo)))
        return tp_fail(err, TP_ERR_SQS_INVALID_ATTRIBUTE_NAME, "Unknown Attribute %s.", name);
    if (rule->fifo_only && !q->fifo) {
        if (strcmp(name, "DeduplicationScope") == 0 || strcmp(name, "FifoThroughputLimit") == 0)
            return tp_fail(err, TP_ERR_SQS_INVALID_ATTRIBUTE_NAME,
                           "You can specify the %s only when FifoQueue is set to true.", name);
        return tp_fail(err, TP_ERR_SQS_INVALID_ATTRIBUTE_NAME, "Unknown Attribute %s.", name);
    }
    switch (rule->kind) {
    case 'i': {
        char *end;
        if (!*value)
            return bad_value(err, name);
        long long v = strtoll(value, &end, 10);
        if (*end || v < rule->lo || v > rule->hi)
            return bad_value(err, name);
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", v);
        *norm = strdup(buf);
        break;
    }
    case 'b':
        if (strcasecmp(value, "true") != 0 && strcasecmp(value, "false") != 0)
            return bad_value(err, name);
        *norm = strdup(strcasecmp(value, "true") == 0 ? "true" : "false");
        break;
    case 'e':
        if (!enum_has(rule->values, value))
            return bad_value(err, name);
        *norm = strdup(value);
        break;
    case 'j':
        if (!*value) {
            *norm = strdup("");   /* removes the attribute */
            break;
        }
        if (strcmp(name, "RedrivePolicy") == 0) {
            if (sqs_check_redrive_policy(r, q, value, err) != 0)
                return -1;
        } else if (strcmp(name, "RedriveAllowPolicy") == 0) {
            if (sqs_check_redrive_allow_policy(value, err) != 0)
                return -1;
        } else {
            cJSON *j = tp_json_parse(value, strlen(value));
            int ok = j && cJSON_IsObject(j);
            cJSON_Delete(j);
            if (!ok)
                return bad_value(err, name);
        }
        *norm = strdup(value);
        break;
    default:
        *norm = strdup(value);
        break;
    }
    return *norm ? 0 : tp_fail(err, TP_ERR_INTERNAL, "out of memory");
}

/* Checks every member of an Attributes map into a new object of normal
 * forms (*normed, owned by the caller). */
static int check_attrs(tp_req *r, const sqs_queue *q, const cJSON *attrs, int creating,
                       cJSON **normed, tp_error *err)
{
    *normed = cJSON_CreateObject();
    if (!*normed)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    const cJSON *a;
    cJSON_ArrayForEach(a, attrs)
    {
        const char *v = cJSON_IsString(a) ? a->valuestring : NULL;
        char num[32];
        if (!v && cJSON_IsNumber(a)) {
            snprintf(num, sizeof num, "%lld", (long long)a->valuedouble);
            v = num;
        }
        if (!v) {
            cJSON_Delete(*normed);
            *normed = NULL;
            return bad_value(err, a->string ? a->string : "");
        }
        char *norm;
        if (check_attr(r, q, a->string ? a->string : "", v, creating, &norm, err) != 0) {
            cJSON_Delete(*normed);
            *normed = NULL;
            return -1;
        }
        cJSON_AddItemToObject(*normed, a->string, cJSON_CreateString(norm));
        free(norm);
    }
    /* Cross-attribute rule of high-throughput FIFO. */
    const char *ftl = tp_json_str(*normed, "FifoThroughputLimit");
    const char *ds = tp_json_str(*normed, "DeduplicationScope");
    if (!ds && q->attrs)
        ds = tp_json_str(q->attrs, "DeduplicationScope");
    if (ftl && strcmp(ftl, "perMessageGroupId") == 0 && ds && strcmp(ds, "queue") == 0) {
        cJSON_Delete(*normed);
        *normed = NULL;
        return tp_fail(err, TP_ERR_SQS_INVALID_ATTRIBUTE_VALUE,
                       "The perMessageGroupId value is allowed only when the value for "
                       "DeduplicationScope is messageGroup."); /* unverified wording */
    }
    return 0;
}

static void set_attr(cJSON *attrs, const char *name, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(attrs, name);
    if (v && *v)
        cJSON_AddItemToObject(attrs, name, cJSON_CreateString(v));
}

static cJSON *default_attrs(int fifo)
{
    cJSON *a = cJSON_CreateObject();
    set_attr(a, "DelaySeconds", "0");
    set_attr(a, "MaximumMessageSize", "1048576");
    set_attr(a, "MessageRetentionPeriod", "345600");
    set_attr(a, "ReceiveMessageWaitTimeSeconds", "0");
    set_attr(a, "VisibilityTimeout", "30");
    set_attr(a, "SqsManagedSseEnabled", "true");
    if (fifo) {
        set_attr(a, "FifoQueue", "true");
        set_attr(a, "ContentBasedDeduplication", "false");
        set_attr(a, "DeduplicationScope", "queue");
        set_attr(a, "FifoThroughputLimit", "perQueue");
    }
    return a;
}

/* Applies checked attributes (normal forms) to q's attribute object. */
static void apply_attrs(sqs_queue *q, const cJSON *normed)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, normed)
    {
        set_attr(q->attrs, a->string, a->valuestring);
        if (strcmp(a->string, "KmsMasterKeyId") == 0 && a->valuestring[0]) {
            set_attr(q->attrs, "SqsManagedSseEnabled", "false");
            if (!tp_json_str(q->attrs, "KmsDataKeyReusePeriodSeconds"))
                set_attr(q->attrs, "KmsDataKeyReusePeriodSeconds", "300");
        }
    }
}

/* --- CreateQueue / GetQueueUrl / ListQueues / DeleteQueue ------------------------- */

static int name_ok(const char *name, int fifo)
{
    size_t n = strlen(name);
    if (n == 0 || n > MAX_NAME)
        return 0;
    size_t base = n;
    if (fifo) {
        if (n < 6 || strcmp(name + n - 5, ".fifo") != 0)
            return 0;
        base = n - 5;
    }
    for (size_t i = 0; i < base; i++) {
        char c = name[i];
        if (!(isalnum((unsigned char)c) || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int sqs_create_queue(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    const char *name = tp_json_str(in, "QueueName");
    if (!name || !*name)
        return missing(err, "QueueName");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(in, "Attributes");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(in, "tags");
    if (attrs && !cJSON_IsObject(attrs) && !cJSON_IsNull(attrs))
        return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE, "Invalid value for Attributes."); /* unverified wording */
    const char *fq = attrs ? tp_json_str(attrs, "FifoQueue") : NULL;
    int fifo = fq && strcasecmp(fq, "true") == 0;
    if (!name_ok(name, fifo)) {
        if (fifo)
            return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                           "The name of a FIFO queue can only include alphanumeric characters, "
                           "hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in "
                           "length.");
        return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                       "Can only include alphanumeric characters, hyphens, or underscores. 1 to "
                       "80 in length");
    }
    if (tags && sqs_tags_check(tags, err) != 0)
        return -1;
    sqs_queue q = {0};
    q.fifo = fifo;
    snprintf(q.account, sizeof q.account, "%s", r->account);
    snprintf(q.region, sizeof q.region, "%s", r->region);
    snprintf(q.name, sizeof q.name, "%s", name);
    snprintf(q.arn, sizeof q.arn, "arn:aws:sqs:%s:%s:%s", r->region, r->account, name);
    cJSON *normed = NULL;
    if (check_attrs(r, &q, attrs, 1, &normed, err) != 0)
        return -1;
    sqs_queue old;
    int found = find(r->core, r->account, r->region, name, &old);
    if (found < 0) {
        cJSON_Delete(normed);
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    }
    char url[512];
    if (found) {
        /* Idempotent while every given attribute matches. */
        const cJSON *a;
        int rc = 0;
        cJSON_ArrayForEach(a, normed)
        {
            const char *cur = tp_json_str(old.attrs, a->string);
            if (strcmp(cur ? cur : "", a->valuestring) != 0) {
                rc = tp_fail(err, TP_ERR_SQS_QUEUE_NAME_EXISTS,
                             "A queue already exists with the same name and a different value "
                             "for attribute %s",
                             a->string);
                break;
            }
        }
        if (rc == 0 && old.fifo != fifo)
            rc = tp_fail(err, TP_ERR_SQS_QUEUE_NAME_EXISTS,
                         "A queue already exists with the same name and a different value for "
                         "attribute FifoQueue");
        cJSON_Delete(normed);
        if (rc == 0) {
            sqs_queue_url(r, &old, url, sizeof url);
            *out = cJSON_CreateObject();
            cJSON_AddStringToObject(*out, "QueueUrl", url);
        }
        sqs_queue_clear(&old);
        return rc;
    }
    static const char sql_del[] =
        "SELECT deleted_ms FROM sqs_deleted WHERE account = ?1 AND region = ?2 AND name = ?3";
    sqlite3_stmt *st = sqs_stmt(r->core, sql_del);
    if (!st) {
        cJSON_Delete(normed);
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    }
    bind_text(st, 1, r->account);
    bind_text(st, 2, r->region);
    bind_text(st, 3, name);
    int recent = sqlite3_step(st) == SQLITE_ROW &&
                 r->now_ms - sqlite3_column_int64(st, 0) < SQS_PURGE_INTERVAL_MS;
    sqlite3_reset(st);
    if (recent) {
        cJSON_Delete(normed);
        return tp_fail(err, TP_ERR_SQS_QUEUE_DELETED_RECENTLY,
                       "You must wait 60 seconds after deleting a queue before you can create "
                       "another with the same name.");
    }
    q.attrs = default_attrs(fifo);
    apply_attrs(&q, normed);
    cJSON_Delete(normed);
    q.created_ms = q.modified_ms = r->now_ms;
    static const char sql_ins[] =
        "INSERT INTO sqs_queues(account, region, name, fifo, created_ms, modified_ms, attrs) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?5, ?6)";
    st = sqs_stmt(r->core, sql_ins);
    char *a = tp_json_print(q.attrs);
    int rc = -1;
    if (st && a) {
        bind_text(st, 1, r->account);
        bind_text(st, 2, r->region);
        bind_text(st, 3, name);
        sqlite3_bind_int(st, 4, fifo);
        sqlite3_bind_int64(st, 5, r->now_ms);
        bind_text(st, 6, a);
        rc = done(st);
    }
    free(a);
    if (rc == 0) {
        q.id = sqlite3_last_insert_rowid(tp_store_db(r->core->store));
        if (tags)
            rc = sqs_tags_put(r->core, q.id, tags);
    }
    if (rc != 0) {
        sqs_queue_clear(&q);
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    }
    sqs_queue_url(r, &q, url, sizeof url);
    sqs_queue_clear(&q);
    *out = cJSON_CreateObject();
    cJSON_AddStringToObject(*out, "QueueUrl", url);
    return 0;
}

int sqs_get_queue_url(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    const char *name = tp_json_str(in, "QueueName");
    if (!name || !*name)
        return missing(err, "QueueName");
    const char *owner = tp_json_str(in, "QueueOwnerAWSAccountId");
    sqs_queue q;
    int found = find(r->core, owner && *owner ? owner : r->account, r->region, name, &q);
    if (found < 0)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    if (!found)
        return no_queue(err);
    char url[512];
    sqs_queue_url(r, &q, url, sizeof url);
    sqs_queue_clear(&q);
    *out = cJSON_CreateObject();
    cJSON_AddStringToObject(*out, "QueueUrl", url);
    return 0;
}

/* NextToken: base64 of the last name listed. */
static int decode_token(const char *tok, char *out, size_t cap)
{
    tp_buf b;
    tp_buf_init(&b);
    int rc = -1;
    if (tp_base64_decode(tok, strlen(tok), &b) == 0 && b.len > 0 && b.len < cap &&
        strncmp(b.data, "q:", 2) == 0) {
        snprintf(out, cap, "%s", b.data + 2);
        rc = 0;
    }
    tp_buf_free(&b);
    return rc;
}

static void encode_token(const char *name, tp_buf *out)
{
    tp_buf plain;
    tp_buf_init(&plain);
    tp_buf_printf(&plain, "q:%s", name);
    tp_base64_encode(plain.data, plain.len, out);
    tp_buf_free(&plain);
}

int sqs_list_queues(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    const char *prefix = tp_json_str(in, "QueueNamePrefix");
    const char *token = tp_json_str(in, "NextToken");
    int64_t max = 0;
    int has_max = sqs_json_int(in, "MaxResults", &max);
    if (has_max < 0 || (has_max && (max < 1 || max > LIST_MAX))) {
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)max);
        return sqs_invalid_value(err, has_max < 0 ? "" : v, "MaxResults",
                                 "MaxResults must be an integer between 1 and 1000."); /* unverified wording */
    }
    char after[256] = "";
    if (token && *token && decode_token(token, after, sizeof after) != 0)
        return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE, "Invalid NextToken value."); /* unverified wording */
    int64_t limit = has_max ? max : LIST_MAX;
    static const char sql[] = "SELECT id, account, region, name, fifo, created_ms, modified_ms, "
                              "purge_ms, seq, attrs FROM sqs_queues "
                              "WHERE account = ?1 AND region = ?2 AND name > ?3 "
                              "AND substr(name, 1, length(?4)) = ?4 ORDER BY name LIMIT ?5";
    sqlite3_stmt *st = sqs_stmt(r->core, sql);
    if (!st)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    bind_text(st, 1, r->account);
    bind_text(st, 2, r->region);
    bind_text(st, 3, after);
    bind_text(st, 4, prefix ? prefix : "");
    sqlite3_bind_int64(st, 5, limit + 1);
    cJSON *urls = cJSON_CreateArray();
    int n = 0;
    char last[128] = "";
    int more = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        sqs_queue q;
        load_row(st, &q);
        char url[512];
        sqs_queue_url(r, &q, url, sizeof url);
        cJSON_AddItemToArray(urls, cJSON_CreateString(url));
        snprintf(last, sizeof last, "%s", q.name);
        sqs_queue_clear(&q);
        n++;
    }
    sqlite3_reset(st);
    *out = cJSON_CreateObject();
    if (n)
        cJSON_AddItemToObject(*out, "QueueUrls", urls);
    else
        cJSON_Delete(urls);
    if (more && has_max) {
        tp_buf b;
        tp_buf_init(&b);
        encode_token(last, &b);
        cJSON_AddStringToObject(*out, "NextToken", b.data);
        tp_buf_free(&b);
    }
    return 0;
}

int sqs_delete_queue(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    static const char *const sqls[] = {
        "DELETE FROM sqs_messages WHERE queue_id = ?1",
        "DELETE FROM sqs_queue_counts WHERE queue_id = ?1",
        "DELETE FROM sqs_groups WHERE queue_id = ?1",
        "DELETE FROM sqs_tags WHERE queue_id = ?1",
        "DELETE FROM sqs_dedup WHERE queue_id = ?1",
        "DELETE FROM sqs_receive_attempts WHERE queue_id = ?1",
        "DELETE FROM sqs_queues WHERE id = ?1",
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof sqls / sizeof sqls[0]; i++) {
        sqlite3_stmt *st = sqs_stmt(r->core, sqls[i]);
        if (!st) {
            rc = -1;
            break;
        }
        sqlite3_bind_int64(st, 1, q.id);
        rc = done(st);
    }
    static const char sql_mark[] =
        "INSERT OR REPLACE INTO sqs_deleted(account, region, name, deleted_ms) VALUES(?1,?2,?3,?4)";
    sqlite3_stmt *st = rc == 0 ? sqs_stmt(r->core, sql_mark) : NULL;
    if (st) {
        bind_text(st, 1, q.account);
        bind_text(st, 2, q.region);
        bind_text(st, 3, q.name);
        sqlite3_bind_int64(st, 4, r->now_ms);
        rc = done(st);
    } else {
        rc = -1;
    }
    /* parked receives on it answer now (QueueDoesNotExist) */
    tp_core_wake(r->core, q.arn);
    sqs_queue_clear(&q);
    if (rc != 0)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    *out = cJSON_CreateObject();
    return 0;
}

/* --- Get/SetQueueAttributes, PurgeQueue ----------------------------------------------- */

static const char *const READ_ONLY[] = {
    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp", "QueueArn",
};

static int known_attr_name(const char *n)
{
    if (strcmp(n, "All") == 0 || rule_for(n))
        return 1;
    for (size_t i = 0; i < sizeof READ_ONLY / sizeof READ_ONLY[0]; i++)
        if (strcmp(READ_ONLY[i], n) == 0)
            return 1;
    return 0;
}

static void add_num(cJSON *o, const char *name, int64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)v);
    cJSON_AddStringToObject(o, name, b);
}

int sqs_get_queue_attributes(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(in, "AttributeNames");
    const cJSON *n;
    int all = 0;
    cJSON_ArrayForEach(n, names)
    {
        const char *s = cJSON_IsString(n) ? n->valuestring : "";
        if (!known_attr_name(s)) {
            sqs_queue_clear(&q);
            return tp_fail(err, TP_ERR_SQS_INVALID_ATTRIBUTE_NAME, "Unknown Attribute %s.", s);
        }
        if (strcmp(s, "All") == 0)
            all = 1;
    }
    if (sqs_expire_messages(r->core, &q, r->now_ms) != 0) {
        sqs_queue_clear(&q);
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    }
    int64_t vis = 0, inflight = 0, delayed = 0;
    sqs_message_counts(r->core, &q, r->now_ms, &vis, &inflight, &delayed);
    cJSON *full = cJSON_CreateObject();
    add_num(full, "QueueArn", 0);
    cJSON_ReplaceItemInObjectCaseSensitive(full, "QueueArn", cJSON_CreateString(q.arn));
    add_num(full, "ApproximateNumberOfMessages", vis);
    add_num(full, "ApproximateNumberOfMessagesNotVisible", inflight);
    add_num(full, "ApproximateNumberOfMessagesDelayed", delayed);
    add_num(full, "CreatedTimestamp", q.created_ms / 1000);
    add_num(full, "LastModifiedTimestamp", q.modified_ms / 1000);
    const cJSON *a;
    cJSON_ArrayForEach(a, q.attrs) cJSON_AddStringToObject(full, a->string, a->valuestring);
    cJSON *res = cJSON_CreateObject();
    if (all) {
        cJSON_Delete(res);
        res = full;
        full = NULL;
    } else {
        cJSON_ArrayForEach(n, names)
        {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(full, n->valuestring);
            if (v && !cJSON_GetObjectItemCaseSensitive(res, n->valuestring))
                cJSON_AddStringToObject(res, n->valuestring, v->valuestring);
        }
    }
    cJSON_Delete(full);
    sqs_queue_clear(&q);
    *out = cJSON_CreateObject();
    if (cJSON_GetArraySize(res) > 0)
        cJSON_AddItemToObject(*out, "Attributes", res);
    else
        cJSON_Delete(res);
    return 0;
}

int sqs_set_queue_attributes(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(in, "Attributes");
    if (!attrs || !cJSON_IsObject(attrs)) {
        sqs_queue_clear(&q);
        return missing(err, "Attributes");
    }
    cJSON *normed = NULL;
    if (check_attrs(r, &q, attrs, 0, &normed, err) != 0) {
        sqs_queue_clear(&q);
        return -1;
    }
    apply_attrs(&q, normed);
    cJSON_Delete(normed);
    q.modified_ms = r->now_ms;
    int rc = sqs_queue_save(r->core, &q);
    sqs_queue_clear(&q);
    if (rc != 0)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    *out = cJSON_CreateObject();
    return 0;
}

int sqs_purge_queue(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    sqs_queue q;
    if (sqs_queue_from_url(r, in, &q, err) != 0)
        return -1;
    if (q.purge_ms > 0 && r->now_ms - q.purge_ms < SQS_PURGE_INTERVAL_MS) {
        tp_fail(err, TP_ERR_SQS_PURGE_IN_PROGRESS,
                "Only one PurgeQueue operation on %s is allowed every 60 seconds.", q.name);
        sqs_queue_clear(&q);
        return -1;
    }
    q.purge_ms = r->now_ms;
    static const char sql[] = "DELETE FROM sqs_messages WHERE queue_id = ?1";
    sqlite3_stmt *st = sqs_stmt(r->core, sql);
    int rc = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, q.id);
        rc = done(st);
    }
    if (rc == 0)
        rc = sqs_messages_cleared(r->core, q.id);
    if (rc == 0)
        rc = sqs_queue_save(r->core, &q);
    sqs_queue_clear(&q);
    if (rc != 0)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    *out = cJSON_CreateObject();
    return 0;
}
