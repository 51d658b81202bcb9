/* kinesis/tags — stream tags (AddTagsToStream, RemoveTagsFromStream,
 * ListTagsForStream) and the ARN-addressed TagResource, UntagResource,
 * ListTagsForResource, which also tag consumers. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "kin.h"

#define MAX_TAGS 50

static sqlite3_stmt *stmt(tp_core *core, const char *sql) { return tp_store_stmt(core->store, sql); }

static int storage_error(tp_error *err) { return tp_fail(err, TP_ERR_INTERNAL, "storage error"); }

static int64_t count_tags(tp_core *core, const char *sql, int64_t id, const char *arn)
{
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return 0;
    if (arn)
        sqlite3_bind_text(st, 1, arn, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 1, id);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

static int has_tag(tp_core *core, int64_t id, const char *key)
{
    static const char sql[] = "SELECT 1 FROM kin_tags WHERE stream_id=?1 AND key=?2";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return found;
}

/* A stream may hold at most 50 tags (stream_id -1: a stream being made). */
int kin_tags_check_add(tp_req *r, int64_t stream_id, const cJSON *tags, tp_error *err)
{
    static const char sql[] = "SELECT count(*) FROM kin_tags WHERE stream_id=?1";
    int64_t n = stream_id >= 0 ? count_tags(r->core, sql, stream_id, NULL) : 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tags)
    {
        if (stream_id < 0 || !has_tag(r->core, stream_id, t->string))
            n++;
    }
    if (n > MAX_TAGS)
        /* unverified wording */
        return tp_fail(err, TP_ERR_LIMIT_EXCEEDED,
                       "Failed to add tags to stream because a stream can have at most %d tags.",
                       MAX_TAGS);
    return 0;
}

int kin_tags_put(tp_core *core, int64_t stream_id, const cJSON *tags)
{
    static const char sql[] = "INSERT OR REPLACE INTO kin_tags(stream_id, key, value) VALUES(?1, ?2, ?3)";
    const cJSON *t;
    cJSON_ArrayForEach(t, tags)
    {
        sqlite3_stmt *st = stmt(core, sql);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, stream_id);
        sqlite3_bind_text(st, 2, t->string, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, cJSON_IsString(t) ? t->valuestring : "", -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

static int tags_remove(tp_core *core, int64_t stream_id, const char *arn, const cJSON *keys)
{
    static const char by_stream[] = "DELETE FROM kin_tags WHERE stream_id=?1 AND key=?2";
    static const char by_arn[] = "DELETE FROM kin_consumer_tags WHERE arn=?1 AND key=?2";
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        sqlite3_stmt *st = stmt(core, arn ? by_arn : by_stream);
        if (!st)
            return -1;
        if (arn)
            sqlite3_bind_text(st, 1, arn, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_int64(st, 1, stream_id);
        sqlite3_bind_text(st, 2, cJSON_IsString(k) ? k->valuestring : "", -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

/* Tags as [{Key, Value}] in key order, after `after` (or all), up to limit. */
static cJSON *tags_list(tp_core *core, int64_t stream_id, const char *arn, const char *after,
                        int64_t limit, int *more)
{
    static const char by_stream[] = "SELECT key, value FROM kin_tags WHERE stream_id=?1 AND key>?2"
                                    " ORDER BY key LIMIT ?3";
    static const char by_arn[] = "SELECT key, value FROM kin_consumer_tags WHERE arn=?1 AND key>?2"
                                 " ORDER BY key LIMIT ?3";
    cJSON *arr = cJSON_CreateArray();
    sqlite3_stmt *st = stmt(core, arn ? by_arn : by_stream);
    if (!st)
        return arr;
    if (arn)
        sqlite3_bind_text(st, 1, arn, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 1, stream_id);
    sqlite3_bind_text(st, 2, after ? after : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, limit + 1);
    int64_t n = 0;
    *more = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == limit) {
            *more = 1;
            break;
        }
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "Key", (const char *)sqlite3_column_text(st, 0));
        cJSON_AddStringToObject(t, "Value", (const char *)sqlite3_column_text(st, 1));
        cJSON_AddItemToArray(arr, t);
        n++;
    }
    sqlite3_reset(st);
    return arr;
}

int kin_add_tags_to_stream(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    kin_stream s;
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(in, "Tags");
    if (kin_stream_from_request(r, in, &s, err) != 0 || kin_tags_check_add(r, s.id, tags, err) != 0)
        return -1;
    if (kin_tags_put(r->core, s.id, tags) != 0)
        return storage_error(err);
    *out = cJSON_CreateObject();
    return 0;
}

int kin_remove_tags_from_stream(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    kin_stream s;
    if (kin_stream_from_request(r, in, &s, err) != 0)
        return -1;
    if (tags_remove(r->core, s.id, NULL, cJSON_GetObjectItemCaseSensitive(in, "TagKeys")) != 0)
        return storage_error(err);
    *out = cJSON_CreateObject();
    return 0;
}

int kin_list_tags_for_stream(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    kin_stream s;
    if (kin_stream_from_request(r, in, &s, err) != 0)
        return -1;
    int more = 0;
    cJSON *tags = tags_list(r->core, s.id, NULL, tp_json_str(in, "ExclusiveStartTagKey"),
                            tp_json_int(in, "Limit", MAX_TAGS), &more);
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "Tags", tags);
    cJSON_AddBoolToObject(*out, "HasMoreTags", more);
    return 0;
}

/* A ResourceARN: a stream (returns 0 with s) or one of its consumers
 * (returns 2, the ARN keys the tags). */
static int resource(tp_req *r, const char *arn, kin_stream *s, tp_error *err)
{
    if (strstr(arn, "/consumer/")) {
        char stream_arn[512];
        const char *c = strstr(arn, "/consumer/");
        snprintf(stream_arn, sizeof stream_arn, "%.*s", (int)(c - arn), arn);
        int rc = kin_stream_by_arn(r, stream_arn, s, err);
        static const char sql[] = "SELECT 1 FROM kin_consumers WHERE stream_id=?1 AND arn=?2";
        sqlite3_stmt *st = rc == 0 ? stmt(r->core, sql) : NULL;
        int found = 0;
        if (st) {
            sqlite3_bind_int64(st, 1, s->id);
            sqlite3_bind_text(st, 2, arn, -1, SQLITE_TRANSIENT);
            found = sqlite3_step(st) == SQLITE_ROW;
            sqlite3_reset(st);
        }
        if (!found)
            /* unverified wording */
            return tp_fail(err, TP_ERR_RESOURCE_NOT_FOUND, "Consumer %s under account %s not found.",
                           arn, r->account);
        return 2;
    }
    int rc = kin_stream_by_arn(r, arn, s, err);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        const char *p = strstr(arn, ":stream/");
        return tp_fail(err, TP_ERR_RESOURCE_NOT_FOUND, "Stream %s under account %s not found.",
                       p ? p + 8 : arn, r->account);
    }
    return 0;
}

int kin_tag_resource(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    static const char put[] =
        "INSERT OR REPLACE INTO kin_consumer_tags(arn, key, value) VALUES(?1, ?2, ?3)";
    static const char count[] = "SELECT count(*) FROM kin_consumer_tags WHERE arn=?1";
    const char *arn = tp_json_str(in, "ResourceARN");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(in, "Tags"), *t;
    kin_stream s;
    int kind = resource(r, arn, &s, err);
    if (kind < 0)
        return -1;
    if (kind == 0) {
        if (kin_tags_check_add(r, s.id, tags, err) != 0)
            return -1;
        if (kin_tags_put(r->core, s.id, tags) != 0)
            return storage_error(err);
    } else {
        if (count_tags(r->core, count, 0, arn) + cJSON_GetArraySize(tags) > MAX_TAGS)
            /* unverified wording */
            return tp_fail(err, TP_ERR_LIMIT_EXCEEDED,
                           "Failed to add tags because a resource can have at most %d tags.",
                           MAX_TAGS);
        cJSON_ArrayForEach(t, tags)
        {
            sqlite3_stmt *st = stmt(r->core, put);
            if (!st)
                return storage_error(err);
            sqlite3_bind_text(st, 1, arn, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 2, t->string, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 3, cJSON_IsString(t) ? t->valuestring : "", -1, SQLITE_TRANSIENT);
            int rc = sqlite3_step(st);
            sqlite3_reset(st);
            if (rc != SQLITE_DONE)
                return storage_error(err);
        }
    }
    *out = cJSON_CreateObject();
    return 0;
}

int kin_untag_resource(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    const char *arn = tp_json_str(in, "ResourceARN");
    kin_stream s;
    int kind = resource(r, arn, &s, err);
    if (kind < 0)
        return -1;
    if (tags_remove(r->core, s.id, kind == 2 ? arn : NULL,
                    cJSON_GetObjectItemCaseSensitive(in, "TagKeys")) != 0)
        return storage_error(err);
    *out = cJSON_CreateObject();
    return 0;
}

int kin_list_tags_for_resource(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    const char *arn = tp_json_str(in, "ResourceARN");
    kin_stream s;
    int kind = resource(r, arn, &s, err);
    if (kind < 0)
        return -1;
    int more = 0;
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "Tags",
                          tags_list(r->core, s.id, kind == 2 ? arn : NULL, NULL, MAX_TAGS, &more));
    return 0;
}
