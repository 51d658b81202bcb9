/* streams/api — the DynamoDB Streams API (DynamoDBStreams_20120810):
 * ListStreams, DescribeStream, GetShardIterator, GetRecords, and the
 * tp_service that hands them to the engine. It only reads what the record
 * writer (dynamodb/stream_writer.c) stores; the one thing it changes is shard lineage,
 * through streams_roll, so a shard whose rollover time has come is closed
 * before anyone looks at it.
 *
 * A shard iterator is a position in one shard plus the time it was issued:
 *
 *   "<StreamArn>|1|<base64(shard id \n position \n issued ms, MAC)>"
 *
 * which is the shape AWS's iterators have (the stream ARN, "|1|", an
 * opaque blob). The position is the smallest sequence number the next
 * GetRecords may return. The MAC only tells tidepool's own iterators from
 * garbage ("Invalid ShardIterator"); it is not a security boundary.
 *
 *   GetShardIterator --> iterator(P, issued=now)
 *   GetRecords(it): now - issued > 15 min        --> ExpiredIteratorException
 *                   P at or below the trim point --> TrimmedDataAccessException
 *                   else records seq >= P (Limit, 1 MB) and
 *                     NextShardIterator(P' = last seq + 1, issued=now),
 *                     absent once a closed shard has nothing left. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/dispatch.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/shape.h"
#include "shapes.gen.h"
#include "dynamodb/streams.h"

#define STREAMS_TARGET_PREFIX "DynamoDBStreams_20120810."

#define ITERATOR_TTL_MS (15LL * 60 * 1000)
#define LIST_STREAMS_MAX 100
#define DESCRIBE_STREAM_MAX 100
#define GET_RECORDS_MAX 1000
#define GET_RECORDS_MAX_BYTES (1024 * 1024)
#define MAC_LEN 16

#define STREAMS_ACTION(Name, fn, flags) int fn(tp_req *r, cJSON *in, cJSON **out, tp_error *err);
#include "actions.def"
#undef STREAMS_ACTION

static sqlite3_stmt *stmt(tp_core *core, const char *sql) { return tp_store_stmt(core->store, sql); }

static int storage_error(tp_error *err) { return tp_fail(err, TP_ERR_INTERNAL, "storage error"); }

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* --- ARNs and streams ----------------------------------------------------- */

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

/* arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL, with a 12-digit
 * account and a valid table name: anything else is "Invalid StreamArn". */
static int arn_valid(const char *arn)
{
    static const char head[] = "arn:aws:dynamodb:";
    if (!arn || strncmp(arn, head, sizeof head - 1) != 0)
        return 0;
    const char *p = arn + sizeof head - 1, *colon = strchr(p, ':');
    if (!colon || colon == p)
        return 0;
    p = colon + 1;
    for (int i = 0; i < 12; i++, p++)
        if (*p < '0' || *p > '9')
            return 0;
    if (strncmp(p, ":table/", 7) != 0)
        return 0;
    p += 7;
    const char *name = p;
    while (is_name_char(*p))
        p++;
    size_t n = (size_t)(p - name);
    if (n < 3 || n > 255 || strncmp(p, "/stream/", 8) != 0)
        return 0;
    p += 8;
    if (!*p)
        return 0;
    for (; *p; p++)
        if (*p == '|' || *p == '/' || (unsigned char)*p < 0x20)
            return 0;
    return 1;
}

typedef struct stream_row {
    int64_t id;
    char arn[1100];
    char table_name[256];
    char label[64];
    char view_type[32];
    char status[16];
    char key_schema[2048];
    int64_t created_ms;
} stream_row;

/* The caller's stream with this ARN. Bad shape: ValidationException;
 * unknown: ResourceNotFoundException. */
static int stream_find(tp_req *r, const char *arn, stream_row *s, tp_error *err)
{
    static const char sql[] =
        "SELECT id, arn, table_name, label, view_type, key_schema, status, created_ms"
        " FROM streams_streams WHERE arn=?1 AND account=?2 AND region=?3";
    if (!arn_valid(arn))
        return tp_fail(err, TP_ERR_VALIDATION, "Invalid StreamArn");
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return storage_error(err);
    sqlite3_bind_text(st, 1, arn, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->region, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        s->id = sqlite3_column_int64(st, 0);
        copy_text(s->arn, sizeof s->arn, sqlite3_column_text(st, 1));
        copy_text(s->table_name, sizeof s->table_name, sqlite3_column_text(st, 2));
        copy_text(s->label, sizeof s->label, sqlite3_column_text(st, 3));
        copy_text(s->view_type, sizeof s->view_type, sqlite3_column_text(st, 4));
        copy_text(s->key_schema, sizeof s->key_schema, sqlite3_column_text(st, 5));
        copy_text(s->status, sizeof s->status, sqlite3_column_text(st, 6));
        s->created_ms = sqlite3_column_int64(st, 7);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return tp_fail(err, TP_ERR_RESOURCE_NOT_FOUND, "Requested resource not found: Stream: %s not found",
                       arn);
    return rc == SQLITE_ROW ? 0 : storage_error(err);
}

/* --- shards ---------------------------------------------------------------- */

typedef struct shard_row {
    int64_t id;
    char shard_id[72];
    char parent[72];
    int64_t closed_ms;
    int64_t start_seq, end_seq;   /* end_seq valid when closed */
    int64_t trimmed_seq;          /* highest sequence number trimmed away; 0 none */
    int64_t max_seq;              /* highest sequence number still stored; 0 none */
} shard_row;

/* 0 found, 1 no such shard in the stream, -1 storage error. */
static int shard_find(tp_req *r, int64_t stream_id, const char *shard_id, shard_row *sh, tp_error *err)
{
    static const char sql[] =
        "SELECT s.id, s.shard_id, s.parent_shard_id, s.closed_ms, s.start_seq,"
        " COALESCE(s.end_seq, 0), s.trimmed_seq,"
        " COALESCE((SELECT MAX(seq) FROM streams_records WHERE shard=s.id), 0)"
        " FROM streams_shards s WHERE s.stream_id=?1 AND s.shard_id=?2";
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return storage_error(err);
    sqlite3_bind_int64(st, 1, stream_id);
    sqlite3_bind_text(st, 2, shard_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sh->id = sqlite3_column_int64(st, 0);
        copy_text(sh->shard_id, sizeof sh->shard_id, sqlite3_column_text(st, 1));
        copy_text(sh->parent, sizeof sh->parent, sqlite3_column_text(st, 2));
        sh->closed_ms = sqlite3_column_int64(st, 3);
        sh->start_seq = sqlite3_column_int64(st, 4);
        sh->end_seq = sqlite3_column_int64(st, 5);
        sh->trimmed_seq = sqlite3_column_int64(st, 6);
        sh->max_seq = sqlite3_column_int64(st, 7);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? 1 : storage_error(err);
}

/* The oldest position still readable: past whatever was trimmed. */
static int64_t shard_horizon(const shard_row *sh)
{
    return sh->trimmed_seq >= sh->start_seq ? sh->trimmed_seq + 1 : sh->start_seq;
}

static int trimmed(tp_error *err)
{
    return tp_fail(err, TP_ERR_TRIMMED_DATA_ACCESS,
                   "The operation attempted to read past the oldest stream record in a shard.");
}

/* --- iterators ------------------------------------------------------------- */

static const char mac_key[] = "tidepool shard iterator v1";

static void iterator_mac(const char *arn, const char *text, size_t len, unsigned char out[MAC_LEN])
{
    tp_buf b;
    tp_buf_init(&b);
    unsigned char h[32];
    if (tp_buf_puts(&b, mac_key) == 0 && tp_buf_puts(&b, arn) == 0 && tp_buf_append(&b, "|", 1) == 0 &&
        tp_buf_append(&b, text, len) == 0)
        tp_sha256(b.data, b.len, h);
    else
        memset(h, 0, sizeof h);
    tp_buf_free(&b);
    memcpy(out, h, MAC_LEN);
}

/* A new iterator string (the caller frees), or NULL when out of memory. */
static char *iterator_encode(const char *arn, const char *shard_id, int64_t pos, int64_t issued_ms)
{
    char text[160];
    int n = snprintf(text, sizeof text, "%s\n%" PRId64 "\n%" PRId64, shard_id, pos, issued_ms);
    if (n < 0 || (size_t)n >= sizeof text)
        return NULL;
    unsigned char raw[sizeof text + MAC_LEN];
    memcpy(raw, text, (size_t)n);
    iterator_mac(arn, text, (size_t)n, raw + n);
    tp_buf b;
    tp_buf_init(&b);
    if (tp_buf_puts(&b, arn) != 0 || tp_buf_puts(&b, "|1|") != 0 ||
        tp_base64_encode(raw, (size_t)n + MAC_LEN, &b) != 0) {
        tp_buf_free(&b);
        return NULL;
    }
    return tp_buf_take(&b);
}

typedef struct iterator {
    char arn[1100];
    char shard_id[72];
    int64_t pos, issued_ms;
} iterator;

static int parse_i64(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 18)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int iterator_decode(const char *token, iterator *it, tp_error *err)
{
    const char *bar = token ? strchr(token, '|') : NULL;
    size_t alen = bar ? (size_t)(bar - token) : 0;
    if (!bar || alen >= sizeof it->arn || strncmp(bar, "|1|", 3) != 0)
        return tp_fail(err, TP_ERR_VALIDATION, "Invalid ShardIterator");
    memcpy(it->arn, token, alen);
    it->arn[alen] = '\0';
    const char *blob = bar + 3;
    tp_buf raw;
    tp_buf_init(&raw);
    int ok = arn_valid(it->arn) && tp_base64_decode(blob, strlen(blob), &raw) == 0 && raw.len > MAC_LEN;
    if (ok) {
        size_t tlen = raw.len - MAC_LEN;
        unsigned char mac[MAC_LEN];
        iterator_mac(it->arn, raw.data, tlen, mac);
        ok = memcmp(mac, raw.data + tlen, MAC_LEN) == 0;
        const char *t = raw.data, *end = raw.data + tlen;
        const char *nl1 = ok ? memchr(t, '\n', tlen) : NULL;
        const char *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1)) : NULL;
        ok = nl2 && (size_t)(nl1 - t) < sizeof it->shard_id &&
             parse_i64(nl1 + 1, (size_t)(nl2 - nl1 - 1), &it->pos) == 0 &&
             parse_i64(nl2 + 1, (size_t)(end - nl2 - 1), &it->issued_ms) == 0;
        if (ok) {
            memcpy(it->shard_id, t, (size_t)(nl1 - t));
            it->shard_id[nl1 - t] = '\0';
        }
    }
    tp_buf_free(&raw);
    return ok ? 0 : tp_fail(err, TP_ERR_VALIDATION, "Invalid ShardIterator");
}

/* "Tue Nov 24 08:00:22 UTC 2026": how AWS's Java front end prints a Date. */
static void java_date(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%a %b %d %H:%M:%S UTC %Y", &tm);
}

/* --- ListStreams ----------------------------------------------------------- */

int streams_list_streams(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    /* Ordered by ARN, so any ExclusiveStartStreamArn is a cursor, even one
     * whose stream has been trimmed away since. */
    static const char sql[] =
        "SELECT arn, table_name, label FROM streams_streams"
        " WHERE account=?1 AND region=?2 AND (?3 IS NULL OR table_name=?3) AND arn > ?4"
        " ORDER BY arn LIMIT ?5";
    int64_t limit = tp_json_int(in, "Limit", LIST_STREAMS_MAX);
    if (limit > LIST_STREAMS_MAX)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "One or more parameter values were invalid: Limit cannot be greater than the "
                       "maximum allowed size: %d",
                       LIST_STREAMS_MAX);
    const char *table = tp_json_str(in, "TableName");
    const char *start = tp_json_str(in, "ExclusiveStartStreamArn");
    if (start && !arn_valid(start))
        return tp_fail(err, TP_ERR_VALIDATION, "Invalid StreamArn");
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return storage_error(err);
    sqlite3_bind_text(st, 1, r->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->region, -1, SQLITE_STATIC);
    if (table)
        sqlite3_bind_text(st, 3, table, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_text(st, 4, start ? start : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, limit + 1);
    cJSON *res = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(res, "Streams");
    int rc, n = 0, more = 0;
    char last[1100] = "";
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        cJSON *s = cJSON_CreateObject();
        copy_text(last, sizeof last, sqlite3_column_text(st, 0));
        cJSON_AddStringToObject(s, "StreamArn", last);
        cJSON_AddStringToObject(s, "TableName", (const char *)sqlite3_column_text(st, 1));
        cJSON_AddStringToObject(s, "StreamLabel", (const char *)sqlite3_column_text(st, 2));
        cJSON_AddItemToArray(list, s);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cJSON_Delete(res);
        return storage_error(err);
    }
    if (more)
        cJSON_AddStringToObject(res, "LastEvaluatedStreamArn", last);
    *out = res;
    return 0;
}

/* --- DescribeStream -------------------------------------------------------- */

static cJSON *shard_json(sqlite3_stmt *st)
{
    char seq[32];
    cJSON *sh = cJSON_CreateObject();
    const unsigned char *parent = sqlite3_column_text(st, 1);
    cJSON_AddStringToObject(sh, "ShardId", (const char *)sqlite3_column_text(st, 0));
    cJSON *range = cJSON_AddObjectToObject(sh, "SequenceNumberRange");
    streams_seq_format(sqlite3_column_int64(st, 2), seq);
    cJSON_AddStringToObject(range, "StartingSequenceNumber", seq);
    if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
        streams_seq_format(sqlite3_column_int64(st, 3), seq);
        cJSON_AddStringToObject(range, "EndingSequenceNumber", seq);
    }
    if (parent && *parent)
        cJSON_AddStringToObject(sh, "ParentShardId", (const char *)parent);
    return sh;
}

int streams_describe_stream(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    /* Shard ids start with their creation time, so their text order is
     * lineage order (parents before children), as clients expect. */
    static const char sql[] =
        "SELECT shard_id, parent_shard_id, start_seq, end_seq FROM streams_shards"
        " WHERE stream_id=?1 AND shard_id > ?2 AND (?3 IS NULL OR parent_shard_id=?3)"
        " ORDER BY shard_id LIMIT ?4";
    int64_t limit = tp_json_int(in, "Limit", DESCRIBE_STREAM_MAX);
    if (limit > DESCRIBE_STREAM_MAX)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "One or more parameter values were invalid: Limit cannot be greater than the "
                       "maximum: %d",
                       DESCRIBE_STREAM_MAX);
    stream_row s;
    if (stream_find(r, tp_json_str(in, "StreamArn"), &s, err) != 0)
        return -1;
    if (streams_roll(r->core, s.id, r->now_ms) != 0)
        return storage_error(err);
    if (stream_find(r, s.arn, &s, err) != 0)   /* the roll may have changed its status */
        return -1;
    const char *excl = tp_json_str(in, "ExclusiveStartShardId");
    const cJSON *filter = cJSON_GetObjectItemCaseSensitive(in, "ShardFilter");
    const char *child_of = NULL;
    const char *ftype = tp_json_str(filter, "Type");
    if (ftype && strcmp(ftype, "CHILD_SHARDS") == 0)
        child_of = tp_json_str(filter, "ShardId");
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return storage_error(err);
    sqlite3_bind_int64(st, 1, s.id);
    sqlite3_bind_text(st, 2, excl ? excl : "", -1, SQLITE_STATIC);
    if (child_of)
        sqlite3_bind_text(st, 3, child_of, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, limit + 1);

    cJSON *res = cJSON_CreateObject();
    cJSON *d = cJSON_AddObjectToObject(res, "StreamDescription");
    cJSON_AddStringToObject(d, "StreamArn", s.arn);
    cJSON_AddStringToObject(d, "StreamLabel", s.label);
    cJSON_AddStringToObject(d, "StreamStatus", s.status);
    cJSON_AddStringToObject(d, "StreamViewType", s.view_type);
    cJSON_AddNumberToObject(d, "CreationRequestDateTime", (double)s.created_ms / 1000.0);
    cJSON_AddStringToObject(d, "TableName", s.table_name);
    cJSON *ks = tp_json_parse_str(s.key_schema);
    cJSON_AddItemToObject(d, "KeySchema", cJSON_IsArray(ks) ? ks : cJSON_CreateArray());
    if (!cJSON_IsArray(ks))
        cJSON_Delete(ks);
    cJSON *shards = cJSON_AddArrayToObject(d, "Shards");
    int rc, n = 0, more = 0;
    char last[72] = "";
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        copy_text(last, sizeof last, sqlite3_column_text(st, 0));
        cJSON_AddItemToArray(shards, shard_json(st));
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cJSON_Delete(res);
        return storage_error(err);
    }
    if (more)
        cJSON_AddStringToObject(d, "LastEvaluatedShardId", last);
    *out = res;
    return 0;
}

/* --- GetShardIterator ------------------------------------------------------ */

int streams_get_shard_iterator(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    const char *type = tp_json_str(in, "ShardIteratorType");
    const char *seq_text = tp_json_str(in, "SequenceNumber");
    if (!type)   /* the model check requires it; callers that skip that check get this */
        return tp_fail(err, TP_ERR_VALIDATION, "Invalid ShardIteratorType.");
    int by_seq = type && (strcmp(type, "AT_SEQUENCE_NUMBER") == 0 || strcmp(type, "AFTER_SEQUENCE_NUMBER") == 0);
    if (by_seq && !seq_text)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "One or more parameter values were invalid: SequenceNumber must be provided "
                       "for ShardIteratorType %s",
                       type);
    if (!by_seq && seq_text)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "One or more parameter values were invalid: SequenceNumber must not be provided "
                       "for ShardIteratorType %s",
                       type);
    stream_row s;
    if (stream_find(r, tp_json_str(in, "StreamArn"), &s, err) != 0)
        return -1;
    if (streams_roll(r->core, s.id, r->now_ms) != 0)
        return storage_error(err);
    shard_row sh;
    const char *shard_id = tp_json_str(in, "ShardId");
    int found = shard_find(r, s.id, shard_id ? shard_id : "", &sh, err);
    if (found < 0)
        return -1;
    if (found)
        return tp_fail(err, TP_ERR_RESOURCE_NOT_FOUND, "Requested resource not found: Shard does not exist");

    int64_t pos;
    if (!by_seq && strcmp(type, "TRIM_HORIZON") == 0) {
        pos = shard_horizon(&sh);
    } else if (!by_seq) {   /* LATEST: just past the newest record, for ever past a closed shard's end */
        if (sh.closed_ms)
            pos = sh.end_seq + 1;
        else {
            pos = shard_horizon(&sh);
            if (sh.max_seq + 1 > pos)
                pos = sh.max_seq + 1;
        }
    } else {
        int64_t seq;
        if (streams_seq_parse(seq_text, &seq) != 0 || seq < sh.start_seq || (sh.closed_ms && seq > sh.end_seq))
            return tp_fail(err, TP_ERR_VALIDATION, "Invalid SequenceNumber for the shard");
        if (seq <= sh.trimmed_seq)
            return trimmed(err);
        pos = strcmp(type, "AT_SEQUENCE_NUMBER") == 0 ? seq : seq + 1;
    }
    char *token = iterator_encode(s.arn, sh.shard_id, pos, r->now_ms);
    if (!token)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "ShardIterator", token);
    free(token);
    *out = res;
    return 0;
}

/* --- GetRecords ------------------------------------------------------------ */

int streams_get_records(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    static const char sql[] =
        "SELECT seq, record, size, created_ms FROM streams_records WHERE shard=?1 AND seq >= ?2"
        " ORDER BY seq LIMIT ?3";
    iterator it;
    if (iterator_decode(tp_json_str(in, "ShardIterator"), &it, err) != 0)
        return -1;
    if (r->now_ms - it.issued_ms > ITERATOR_TTL_MS) {
        char then[64], now[64];
        java_date(it.issued_ms, then, sizeof then);
        java_date(r->now_ms, now, sizeof now);
        return tp_fail(err, TP_ERR_EXPIRED_ITERATOR,
                       "Iterator expired. The iterator was created at time %s while right now it is %s "
                       "which is further in the future than the tolerated delay of %lld milliseconds.",
                       then, now, (long long)ITERATOR_TTL_MS);
    }
    int64_t limit = tp_json_int(in, "Limit", GET_RECORDS_MAX);
    if (limit > GET_RECORDS_MAX)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "One or more parameter values were invalid: Limit should be less than or equal to %d",
                       GET_RECORDS_MAX);
    stream_row s;
    if (stream_find(r, it.arn, &s, err) != 0)
        return -1;
    if (streams_roll(r->core, s.id, r->now_ms) != 0)
        return storage_error(err);
    shard_row sh;
    int found = shard_find(r, s.id, it.shard_id, &sh, err);
    if (found < 0)
        return -1;
    if (found || it.pos <= sh.trimmed_seq)   /* a shard is only ever removed by trimming */
        return trimmed(err);

    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return storage_error(err);
    sqlite3_bind_int64(st, 1, sh.id);
    sqlite3_bind_int64(st, 2, it.pos);
    sqlite3_bind_int64(st, 3, limit + 1);
    cJSON *res = cJSON_CreateObject();
    cJSON *records = cJSON_AddArrayToObject(res, "Records");
    int64_t next = it.pos, bytes = 0;
    int rc, n = 0, more = 0;
    /* "visibility_delay_ms": a record becomes readable that long after its
     * write (records are in time order, so reading stops at the first one
     * not yet visible; a closed shard keeps its next iterator until then) */
    int64_t visible_until = r->now_ms - streams_setting(r->core, "visibility_delay_ms", 0);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t size = sqlite3_column_int64(st, 2);
        if (n == limit || (n > 0 && bytes + size > GET_RECORDS_MAX_BYTES) ||
            sqlite3_column_int64(st, 3) > visible_until) {
            more = 1;
            break;
        }
        const char *text = (const char *)sqlite3_column_text(st, 1);
        cJSON *rec = text ? tp_json_parse_str(text) : NULL;
        if (!rec) {
            sqlite3_reset(st);
            cJSON_Delete(res);
            return tp_fail(err, TP_ERR_INTERNAL, "a stored stream record is not JSON");
        }
        cJSON_AddItemToArray(records, rec);
        next = sqlite3_column_int64(st, 0) + 1;
        bytes += size;
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cJSON_Delete(res);
        return storage_error(err);
    }
    /* A closed shard read to its end has no next iterator: that is how a
     * reader learns to move on to the child shards. */
    if (more || !sh.closed_ms) {
        char *token = iterator_encode(s.arn, sh.shard_id, next, r->now_ms);
        if (!token) {
            cJSON_Delete(res);
            return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
        }
        cJSON_AddStringToObject(res, "NextShardIterator", token);
        free(token);
    }
    *out = res;
    return 0;
}

/* --- the service ------------------------------------------------------------ */

static const tp_action streams_actions[] = {
#define STREAMS_ACTION(Name, fn, fl)                                                           \
    {.target = STREAMS_TARGET_PREFIX #Name, .service = "dynamodbstreams", .name = #Name,       \
     .input = &tp_dynamodbstreams_input_##Name, .run = fn, .flags = (fl)},
#include "actions.def"
#undef STREAMS_ACTION
};

const tp_service streams_service = {
    .name = "dynamodbstreams",
    .schema_sql = streams_schema_sql,
    .actions = streams_actions,
    .nactions = sizeof streams_actions / sizeof streams_actions[0],
    .start = streams_start,   /* the periodic roll + trim (streams.c) */
};
