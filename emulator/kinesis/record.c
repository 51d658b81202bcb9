/* kinesis/record — data: PutRecord, PutRecords, GetShardIterator,
 * GetRecords.
 *
 * A record goes to the open shard whose hash-key range holds MD5(partition
 * key) (or its ExplicitHashKey) and gets the next sequence number (kin.h).
 * Records live in kin_records, one row each, written in the call's
 * transaction.
 *
 * A shard iterator is a position in one shard plus the time it was issued,
 * base64 of
 *
 *   "<stream id>|<stream name>|<shard index>|<a or f>|<sequence>|<issued ms>|<MAC>"
 *
 * where "a" reads from the sequence number on and "f" after it. The MAC
 * only tells tidepool's own iterators from garbage ("Invalid
 * ShardIterator."); it is not a security boundary.
 *
 *   GetShardIterator --> iterator(P, issued=now)
 *   GetRecords(it): now - issued > 5 min --> ExpiredIteratorException
 *                   else records after P (Limit, 10 MiB), NextShardIterator
 *                   (after the last one, issued=now), or — once a closed
 *                   shard is drained — no NextShardIterator and ChildShards.
 *
 * Each record and each GetRecords call first asks its shard's buckets
 * (capacity.c): a refused PutRecord or GetRecords fails with
 * ProvisionedThroughputExceededException, a refused record of a PutRecords
 * gets that ErrorCode while the others go in. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base64.h"
#include "core/hash.h"
#include "core/json.h"
#include "kin.h"

#define ITERATOR_TTL_MS 300000
#define GET_RECORDS_MAX_BYTES (10 * 1024 * 1024)
#define PUT_RECORDS_MAX_BYTES (5 * 1024 * 1024)
#define RECORD_MAX_BYTES (1024 * 1024)

static sqlite3_stmt *stmt(tp_core *core, const char *sql) { return tp_store_stmt(core->store, sql); }

static int storage_error(tp_error *err) { return tp_fail(err, TP_ERR_INTERNAL, "storage error"); }

/* Streams being created or deleted take no records (AWS answers as for a
 * missing stream). */
static int writable(tp_req *r, const kin_stream *s, tp_error *err)
{
    if (strcmp(s->status, "ACTIVE") == 0 || strcmp(s->status, "UPDATING") == 0)
        return 0;
    return tp_fail(err, TP_ERR_RESOURCE_NOT_FOUND, "Stream %s under account %s not found.", s->name,
                   r->account);
}

/* --- writing ------------------------------------------------------------- */

typedef struct put_in {
    const char *pkey;
    const char *data_b64;
    const char *explicit_key;
} put_in;

typedef struct put_out {
    char shard_id[32];
    char seq[KIN_SEQ_LEN + 1];
} put_out;

static int hash_of(tp_req *r, const put_in *p, kin_u128 *h, tp_error *err)
{
    if (p->explicit_key) {
        if (kin_u128_parse(p->explicit_key, h) != 0)
            return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                           "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, "
                           "2^128-1]. Specified value was %s",
                           p->explicit_key);
        return 0;
    }
    (void)r;
    *h = kin_hash_partition_key(p->pkey);
    return 0;
}

/* Routes one record to its shard, asks the shard's buckets, writes it and
 * pays for it. */
static int put_one(tp_req *r, const kin_stream *s, const put_in *p, kin_u128 h, const tp_buf *data,
                   put_out *o, tp_error *err)
{
    static const char bump[] =
        "UPDATE kin_streams SET counter=counter+1, last_ms=max(last_ms, ?1) WHERE id=?2"
        " RETURNING counter, last_ms";
    static const char ins[] = "INSERT INTO kin_records(stream_id, idx, seq, pkey, data, arrival_ms)"
                              " VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
    kin_shard sh;
    int rc = kin_shard_for_hash(r->core, s, h, &sh);
    if (rc != 0)
        return rc < 0 ? storage_error(err)
                      : tp_fail(err, TP_ERR_INTERNAL_FAILURE, "No open shard holds the hash key.");
    if (kin_capacity_admit_put(r, s, sh.id, err) != 0)
        return -1;
    sqlite3_stmt *st = stmt(r->core, bump);
    if (!st)
        return storage_error(err);
    sqlite3_bind_int64(st, 1, r->now_ms);
    sqlite3_bind_int64(st, 2, s->id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return storage_error(err);
    }
    int64_t counter = sqlite3_column_int64(st, 0), ms = sqlite3_column_int64(st, 1);
    sqlite3_step(st);
    sqlite3_reset(st);
    char digits[24];
    snprintf(digits, sizeof digits, "%" PRId64, counter);
    kin_seq_make(ms, sh.index, digits, o->seq);
    snprintf(o->shard_id, sizeof o->shard_id, "%s", sh.id);
    st = stmt(r->core, ins);
    if (!st)
        return storage_error(err);
    sqlite3_bind_int64(st, 1, s->id);
    sqlite3_bind_int64(st, 2, sh.index);
    sqlite3_bind_text(st, 3, o->seq, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, p->pkey, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 5, data->data ? data->data : "", (int)data->len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return storage_error(err);
    kin_capacity_charge_put(r, s, sh.id, (int64_t)data->len + (int64_t)strlen(p->pkey));
    return 0;
}

int kin_put_record(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    kin_stream s;
    if (kin_stream_from_request(r, in, &s, err) != 0 || writable(r, &s, err) != 0)
        return -1;
    put_in p = {.pkey = tp_json_str(in, "PartitionKey"), .data_b64 = tp_json_str(in, "Data"),
                .explicit_key = tp_json_str(in, "ExplicitHashKey")};
    kin_u128 h;
    if (hash_of(r, &p, &h, err) != 0)
        return -1;
    const char *ord = tp_json_str(in, "SequenceNumberForOrdering");
    int64_t oms, oidx;
    if (ord && (kin_seq_parse(ord, &oms, &oidx) != 0 || oms > r->now_ms))
        return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                       "ExclusiveMinimumSequenceNumber %s used in PutRecord on stream %s under "
                       "account %s is invalid.",
                       ord, s.name, r->account);
    tp_buf data;
    tp_buf_init(&data);
    tp_base64_decode(p.data_b64, strlen(p.data_b64), &data);
    put_out o;
    int rc = put_one(r, &s, &p, h, &data, &o, err);
    tp_buf_free(&data);
    if (rc != 0)
        return -1;
    *out = cJSON_CreateObject();
    cJSON_AddStringToObject(*out, "ShardId", o.shard_id);
    cJSON_AddStringToObject(*out, "SequenceNumber", o.seq);
    cJSON_AddStringToObject(*out, "EncryptionType", s.encryption);
    return 0;
}

int kin_put_records(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    kin_stream s;
    if (kin_stream_from_request(r, in, &s, err) != 0 || writable(r, &s, err) != 0)
        return -1;
    const cJSON *recs = cJSON_GetObjectItemCaseSensitive(in, "Records"), *e;
    /* the request as a whole first: sizes and hash keys */
    size_t total = 0;
    cJSON_ArrayForEach(e, recs)
    {
        const char *d = tp_json_str(e, "Data"), *k = tp_json_str(e, "PartitionKey");
        size_t n = d ? strlen(d) : 0;
        total += n / 4 * 3 + strlen(k ? k : "");
        kin_u128 h;
        put_in p = {.pkey = k, .data_b64 = d, .explicit_key = tp_json_str(e, "ExplicitHashKey")};
        if (hash_of(r, &p, &h, err) != 0)
            return -1;
    }
    if (total > PUT_RECORDS_MAX_BYTES)
        /* moto's wording (not checked against AWS itself) */
        return tp_fail(err, TP_ERR_INVALID_ARGUMENT, "Records size exceeds 5 MB limit");
    cJSON *results = cJSON_CreateArray();
    int failed = 0;
    cJSON_ArrayForEach(e, recs)
    {
        put_in p = {.pkey = tp_json_str(e, "PartitionKey"), .data_b64 = tp_json_str(e, "Data"),
                    .explicit_key = tp_json_str(e, "ExplicitHashKey")};
        kin_u128 h;
        hash_of(r, &p, &h, err);
        tp_buf data;
        tp_buf_init(&data);
        tp_base64_decode(p.data_b64, strlen(p.data_b64), &data);
        put_out o;
        tp_error one;
        tp_error_clear(&one);
        int rc = put_one(r, &s, &p, h, &data, &o, &one);
        tp_buf_free(&data);
        cJSON *res = cJSON_CreateObject();
        if (rc == 0) {
            cJSON_AddStringToObject(res, "SequenceNumber", o.seq);
            cJSON_AddStringToObject(res, "ShardId", o.shard_id);
        } else {
            failed++;
            cJSON_AddStringToObject(res, "ErrorCode", one.code);
            cJSON_AddStringToObject(res, "ErrorMessage", one.message);
        }
        cJSON_AddItemToArray(results, res);
    }
    *out = cJSON_CreateObject();
    tp_json_add_int(*out, "FailedRecordCount", failed);
    cJSON_AddItemToObject(*out, "Records", results);
    cJSON_AddStringToObject(*out, "EncryptionType", s.encryption);
    return 0;
}

/* --- iterators --------------------------------------------------------------- */

static void iterator_mac(const char *payload, char out[17])
{
    tp_buf b;
    tp_buf_init(&b);
    tp_buf_printf(&b, "tidepool-kinesis-iterator|%s", payload);
    char hex[65];
    tp_sha256_hex(b.data, b.len, hex);
    tp_buf_free(&b);
    memcpy(out, hex, 16);
    out[16] = '\0';
}

static char *iterator_make(const kin_stream *s, int64_t idx, char mode, const char *seq,
                           int64_t issued)
{
    char payload[400], mac[17];
    snprintf(payload, sizeof payload, "%" PRId64 "|%s|%" PRId64 "|%c|%s|%" PRId64, s->id, s->name,
             idx, mode, seq, issued);
    iterator_mac(payload, mac);
    tp_buf raw, b64;
    tp_buf_init(&raw);
    tp_buf_init(&b64);
    tp_buf_printf(&raw, "%s|%s", payload, mac);
    tp_base64_encode(raw.data, raw.len, &b64);
    tp_buf_free(&raw);
    return tp_buf_take(&b64);
}

typedef struct iterator {
    int64_t stream_id;
    char name[129];
    int64_t idx;
    char mode;
    char seq[KIN_SEQ_LEN + 1];
    int64_t issued;
} iterator;

static int iterator_parse(const char *text, iterator *it)
{
    tp_buf raw;
    tp_buf_init(&raw);
    if (!text || tp_base64_decode(text, strlen(text), &raw) != 0 || !raw.data) {
        tp_buf_free(&raw);
        return -1;
    }
    char *t = raw.data, *bar = strrchr(t, '|');
    int ok = 0;
    if (bar && strlen(bar + 1) == 16) {
        *bar = '\0';
        char mac[17];
        iterator_mac(t, mac);
        long long sid = 0, idx = 0, issued = 0;
        char mode = 0;
        ok = strcmp(mac, bar + 1) == 0 &&
             sscanf(t, "%lld|%128[^|]|%lld|%c|%56[0-9]|%lld", &sid, it->name, &idx, &mode, it->seq,
                    &issued) == 6;
        it->stream_id = sid;
        it->idx = idx;
        it->mode = mode;
        it->issued = issued;
    }
    tp_buf_free(&raw);
    return ok ? 0 : -1;
}

static int shard_missing(tp_req *r, const char *shard_id, const char *stream, tp_error *err)
{
    return tp_fail(err, TP_ERR_RESOURCE_NOT_FOUND, "Shard %s in stream %s under account %s does not exist",
                   shard_id, stream, r->account);
}

/* The newest sequence number in a shard, or "" when it holds none. */
static void newest_seq(tp_core *core, int64_t stream_id, int64_t idx, char out[KIN_SEQ_LEN + 1])
{
    static const char sql[] = "SELECT max(seq) FROM kin_records WHERE stream_id=?1 AND idx=?2";
    out[0] = '\0';
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, stream_id);
    sqlite3_bind_int64(st, 2, idx);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, KIN_SEQ_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
}

static const char both_msg[] =
    "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
    "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
    "Request specified %s and %s StartingSequenceNumber.";

int kin_get_shard_iterator(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    kin_stream s;
    if (kin_stream_from_request(r, in, &s, err) != 0)
        return -1;
    const char *shard_id = tp_json_str(in, "ShardId");
    kin_shard sh;
    int rc = kin_shard_find(r->core, &s, shard_id, &sh);
    if (rc < 0)
        return storage_error(err);
    if (rc == 1)
        return shard_missing(r, shard_id, s.name, err);
    const char *type = tp_json_str(in, "ShardIteratorType");
    const char *seq = tp_json_str(in, "StartingSequenceNumber");
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(in, "Timestamp");
    int by_seq = strcmp(type, "AT_SEQUENCE_NUMBER") == 0 || strcmp(type, "AFTER_SEQUENCE_NUMBER") == 0;
    char mode = 'a', pos[KIN_SEQ_LEN + 1];
    if (by_seq) {
        if (!seq)
            return tp_fail(err, TP_ERR_INVALID_ARGUMENT, both_msg, type, "no");
        int64_t ms, idx;
        if (kin_seq_parse(seq, &ms, &idx) != 0)
            return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                           "StartingSequenceNumber %s used in GetShardIterator on shard %s in "
                           "stream %s under account %s is invalid.",
                           seq, sh.id, s.name, r->account);
        if (idx != sh.index)
            return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                           "Invalid StartingSequenceNumber. It encodes shardId-%012" PRId64
                           ", while it was used in a call to a shard with %s",
                           idx, sh.id);
        if (ms < s.created_ms)
            return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                           "StartingSequenceNumber %s used in GetShardIterator on shard %s in "
                           "stream %s under account %s is invalid because it did not come from "
                           "this stream.",
                           seq, sh.id, s.name, r->account);
        mode = type[1] == 'T' ? 'a' : 'f';
        snprintf(pos, sizeof pos, "%s", seq);
    } else if (strcmp(type, "AT_TIMESTAMP") == 0) {
        if (!cJSON_IsNumber(ts))
            /* unverified wording */
            return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                           "Must specify timestampInMillis parameter for iterator of type "
                           "AT_TIMESTAMP. Current request has no timestamp parameter.");
        int64_t t = (int64_t)(ts->valuedouble * 1000.0);
        if (t > r->now_ms)
            /* unverified wording */
            return tp_fail(err, TP_ERR_INVALID_ARGUMENT,
                           "The timestampInMillis parameter cannot be greater than the "
                           "currentTimestampInMillis. timestampInMillis: %" PRId64
                           ", currentTimestampInMillis: %" PRId64,
                           t, r->now_ms);
        kin_seq_make(t < 0 ? 0 : t, sh.index, "0", pos);
    } else {
        if (seq)
            return tp_fail(err, TP_ERR_INVALID_ARGUMENT, both_msg, type, "also a");
        if (strcmp(type, "TRIM_HORIZON") == 0) {
            snprintf(pos, sizeof pos, "%s", sh.start_seq);
        } else {   /* LATEST */
            mode = 'f';
            newest_seq(r->core, s.id, sh.index, pos);
            if (!pos[0])
                snprintf(pos, sizeof pos, "%s", sh.start_seq);
        }
    }
    char *it = iterator_make(&s, sh.index, mode, pos, r->now_ms);
    if (!it)
        return storage_error(err);
    *out = cJSON_CreateObject();
    cJSON_AddStringToObject(*out, "ShardIterator", it);
    free(it);
    return 0;
}

/* "Thu Jan 22 01:22:02 UTC 2015": how AWS's expiry message writes a time. */
static void amz_time(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%a %b %d %H:%M:%S UTC %Y", &tm);
}

int kin_get_records(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    static const char sql_at[] =
        "SELECT seq, pkey, data, arrival_ms FROM kin_records"
        " WHERE stream_id=?1 AND idx=?2 AND seq>=?3 ORDER BY seq LIMIT ?4";
    static const char sql_after[] =
        "SELECT seq, pkey, data, arrival_ms FROM kin_records"
        " WHERE stream_id=?1 AND idx=?2 AND seq>?3 ORDER BY seq LIMIT ?4";
    iterator it;
    if (iterator_parse(tp_json_str(in, "ShardIterator"), &it) != 0)
        return tp_fail(err, TP_ERR_INVALID_ARGUMENT, "Invalid ShardIterator.");
    if (r->now_ms - it.issued > ITERATOR_TTL_MS) {
        char a[64], b[64];
        amz_time(it.issued, a, sizeof a);
        amz_time(r->now_ms, b, sizeof b);
        return tp_fail(err, TP_ERR_EXPIRED_ITERATOR,
                       "Iterator expired. The iterator was created at time %s while right now it "
                       "is %s which is further in the future than the tolerated delay of %d "
                       "milliseconds.",
                       a, b, ITERATOR_TTL_MS);
    }
    char shard_id[32];
    snprintf(shard_id, sizeof shard_id, "shardId-%012" PRId64, it.idx);
    kin_stream s;
    if (kin_stream_by_id(r->core, it.stream_id, &s) != 0 || strcmp(s.name, it.name) != 0)
        return shard_missing(r, shard_id, it.name, err);
    if (kin_trim(r->core, &s, r->now_ms) != 0)
        return storage_error(err);
    kin_shard sh;
    if (kin_shard_find(r->core, &s, shard_id, &sh) != 0)
        return shard_missing(r, shard_id, s.name, err);
    if (kin_capacity_admit_get(r, &s, sh.id, err) != 0)
        return -1;
    int64_t limit = tp_json_int(in, "Limit", 10000);
    sqlite3_stmt *st = stmt(r->core, it.mode == 'a' ? sql_at : sql_after);
    if (!st)
        return storage_error(err);
    sqlite3_bind_int64(st, 1, s.id);
    sqlite3_bind_int64(st, 2, sh.index);
    sqlite3_bind_text(st, 3, it.seq, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, limit + 1);
    cJSON *recs = cJSON_CreateArray();
    int64_t n = 0, bytes = 0, behind = 0;
    int more = 0;
    char last[KIN_SEQ_LEN + 1] = "";
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t arrival = sqlite3_column_int64(st, 3);
        int dlen = sqlite3_column_bytes(st, 2);
        const char *pkey = (const char *)sqlite3_column_text(st, 1);
        int64_t size = dlen + (int64_t)strlen(pkey ? pkey : "");
        if (n == limit || (n > 0 && bytes + size > GET_RECORDS_MAX_BYTES)) {
            more = 1;
            behind = r->now_ms - arrival;
            break;
        }
        cJSON *rec = cJSON_CreateObject();
        snprintf(last, sizeof last, "%s", (const char *)sqlite3_column_text(st, 0));
        cJSON_AddStringToObject(rec, "SequenceNumber", last);
        cJSON_AddItemToObject(rec, "ApproximateArrivalTimestamp", kin_timestamp(arrival));
        tp_buf b64;
        tp_buf_init(&b64);
        tp_base64_encode(sqlite3_column_blob(st, 2), (size_t)dlen, &b64);
        cJSON_AddStringToObject(rec, "Data", b64.data ? b64.data : "");
        tp_buf_free(&b64);
        cJSON_AddStringToObject(rec, "PartitionKey", pkey ? pkey : "");
        if (strcmp(s.encryption, "KMS") == 0)
            cJSON_AddStringToObject(rec, "EncryptionType", "KMS");
        cJSON_AddItemToArray(recs, rec);
        n++;
        bytes += size;
    }
    sqlite3_reset(st);
    kin_capacity_charge_get(r, &s, sh.id, bytes);
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "Records", recs);
    if (sh.closed_ms && !more) {
        /* drained: the children take over */
        tp_json_add_int(*out, "MillisBehindLatest", 0);
        cJSON_AddItemToObject(*out, "ChildShards", kin_child_shards(r->core, &s, &sh));
        return 0;
    }
    char *next = n ? iterator_make(&s, sh.index, 'f', last, r->now_ms)
                   : iterator_make(&s, sh.index, it.mode, it.seq, r->now_ms);
    cJSON_AddStringToObject(*out, "NextShardIterator", next ? next : "");
    free(next);
    tp_json_add_int(*out, "MillisBehindLatest", behind);
    return 0;
}
