/* dynamodb/tags — TagResource, UntagResource, ListTagsOfResource, and the
 * tag rules CreateTable shares (ddb_tags_check).
 *
 * Tags hang off a table's row id (ddb_tags), so DeleteTable drops them in
 * its own transaction and a re-created table starts bare. Resources are
 * named by table ARN only; the messages for each malformed ARN shape, for
 * tag keys and values and for the 50-tag limit are AWS's (dynalite's tests
 * against AWS and the ack-api-quirks live catalogue). AWS applies tags
 * asynchronously (reads lag ~2 s, a ~1.5 s per-table write lock); tidepool
 * applies them at once, which is one of the outcomes AWS can show. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "core/store.h"
#include "ddb.h"

#define INVALID "One or more parameter values were invalid: "
#define MAX_TAGS 50
#define MAX_KEY 128     /* characters */
#define MAX_VALUE 256


/* --- the tag character set ------------------------------------------------ */


/* AWS's tag pattern is ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$: letters, spaces and
 * digits of any script plus _ . : / = + - @. Without Unicode tables this
 * accepts every code point outside the punctuation, symbol, mark, emoji
 * and private-use blocks — which matches every case AWS was seen to judge
 * (Cyrillic, Latin-1, CJK, NBSP and ideographic space in; emoji and ASCII
 * punctuation out). */
static int tag_cp_ok(long cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
               cp == ' ' || (cp && strchr("_.:/=+-@", (int)cp) != NULL);
    if (cp < 0xa0)
        return 0;                                        /* C1 controls */
    if (cp >= 0xa1 && cp <= 0xbf)                        /* Latin-1 punctuation/symbols */
        return cp == 0xaa || cp == 0xb2 || cp == 0xb3 || cp == 0xb5 || cp == 0xb9 ||
               cp == 0xba || (cp >= 0xbc && cp <= 0xbe);
    if (cp == 0xd7 || cp == 0xf7)
        return 0;
    if (cp >= 0x300 && cp <= 0x36f)                      /* combining marks */
        return 0;
    if (cp >= 0x2000 && cp <= 0x206f)                    /* general punctuation */
        return cp <= 0x200a || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f;
    if (cp >= 0x20a0 && cp <= 0x20ff)                    /* currency, combining for symbols */
        return 0;
    if (cp >= 0x2190 && cp <= 0x2bff)                    /* arrows .. misc symbols */
        return (cp >= 0x2460 && cp <= 0x249b) || (cp >= 0x24ea && cp <= 0x24ff);
    if (cp >= 0x2e00 && cp <= 0x2e7f)
        return 0;
    if (cp >= 0x3001 && cp <= 0x303f)                    /* CJK punctuation */
        return cp == 0x3005 || cp == 0x3006 || cp == 0x3007 || (cp >= 0x3021 && cp <= 0x3029) ||
               (cp >= 0x3031 && cp <= 0x303c);
    if ((cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xfe00 && cp <= 0xfe6f))
        return 0;                                        /* private use, variation selectors, forms */
    if (cp >= 0xff01 && cp <= 0xff65)                    /* fullwidth ASCII: keep letters/digits */
        return (cp >= 0xff10 && cp <= 0xff19) || (cp >= 0xff21 && cp <= 0xff3a) ||
               (cp >= 0xff41 && cp <= 0xff5a);
    if (cp >= 0x1f000 && cp <= 0x1faff)                  /* emoji and pictographs */
        return 0;
    if (cp >= 0xe0000)
        return 0;
    return 1;
}

/* 1 when text matches the pattern and has min..max characters. */
static int tag_text_ok(const char *text, size_t min, size_t max)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + strlen(text);
    size_t n = 0;
    while (*p) {
        long cp = tp_utf8_next(&p, end);
        if (cp < 0 || !tag_cp_ok(cp))
            return 0;
        n++;
    }
    return n >= min && n <= max;
}

static int check_key(const char *key, tp_error *err)
{
    if (!key)
        return tp_fail(err, TP_ERR_VALIDATION, "The Tag Key provided is invalid, Key: null");
    if (!tag_text_ok(key, 1, MAX_KEY))
        return tp_fail(err, TP_ERR_VALIDATION, "The Tag Key provided is invalid, Key: %s", key);
    if (strncasecmp(key, "aws:", 4) == 0)
        return tp_fail(err, TP_ERR_VALIDATION, "Tag Key cannot be prefixed with aws:, Key: %s", key);
    return 0;
}

int ddb_tags_check(const cJSON *tags, int empty_ok, tp_error *err)
{
    int n = cJSON_GetArraySize(tags);
    if (n == 0 && !empty_ok)
        return tp_fail(err, TP_ERR_VALIDATION, "Atleast one Tag needs to be provided as Input.");
    for (int i = 0; i < n; i++) {
        const cJSON *t = cJSON_GetArrayItem(tags, i);
        const char *key = tp_json_str(t, "Key"), *value = tp_json_str(t, "Value");
        if (check_key(key, err) != 0)
            return -1;
        if (!value)
            return tp_fail(err, TP_ERR_VALIDATION, "The Tag Value provided is invalid, Value: null");
        if (!tag_text_ok(value, 0, MAX_VALUE))
            return tp_fail(err, TP_ERR_VALIDATION, "The Tag Value provided is invalid, Value: %s", value);
        for (int j = 0; j < i; j++)
            if (strcmp(key, tp_json_str(cJSON_GetArrayItem(tags, j), "Key")) == 0)
                return tp_fail(err, TP_ERR_VALIDATION, "Duplicate Tag Keys provided as input: "
                               "Duplicate Tag Key found %s", key);
    }
    if (n > MAX_TAGS)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Number of Tags exceed the current limit for the provided ResourceArn");
    return 0;
}

/* --- resources ------------------------------------------------------------ */

static int name_ok(const char *s, size_t len)
{
    if (len < 3 || len > 255)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static int not_found(const char *arn, tp_error *err)
{
    return tp_fail(err, TP_ERR_RESOURCE_NOT_FOUND, "Requested resource not found: ResourceArn: %s not found",
                   arn);
}

/* The caller's table name a ResourceArn carries, or -1 with AWS's error
 * for the ARN's shape. AWS judges the shape before the request's tags and
 * before looking anything up. */
static int parse_arn(tp_req *r, const char *arn, char bare[256], tp_error *err)
{
    if (!arn)
        return tp_fail(err, TP_ERR_VALIDATION, "Invalid TableArn");
    if (strncmp(arn, "arn:", 4) != 0)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "ARNs must start with 'arn:': %s", arn);
    const char *f[6];
    size_t flen[6];
    const char *p = arn;
    for (int i = 0; i < 6; i++) {
        const char *c = i < 5 ? strchr(p, ':') : p + strlen(p);
        if (!c)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "Invalid TableArn: Invalid ResourceArn provided as input %s", arn);
        f[i] = p;
        flen[i] = (size_t)(c - p);
        p = c + (i < 5);
    }
    if (flen[2] != 8 || strncmp(f[2], "dynamodb", 8) != 0)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "Provided Arn is not a DynamoDB resource arn: %s",
                       arn);
    if (flen[1] != 3 || strncmp(f[1], "aws", 3) != 0 || flen[3] != strlen(r->region) ||
        strncmp(f[3], r->region, flen[3]) != 0 || strncmp(f[5], "table/", 6) != 0)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid TableArn: Invalid ResourceArn provided as input %s", arn);
    if (flen[4] != strlen(r->account) || strncmp(f[4], r->account, flen[4]) != 0)
        return tp_fail(err, TP_ERR_ACCESS_DENIED, "Access is denied");
    const char *name = f[5] + 6, *slash = strchr(name, '/');
    size_t nlen = slash ? (size_t)(slash - name) : strlen(name);
    if (!name_ok(name, nlen))
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid TableArn: Invalid ResourceArn provided as input %s", arn);
    if (slash) {
        if (strncmp(slash, "/index/", 7) == 0)
            return tp_fail(err, TP_ERR_VALIDATION, INVALID "Invalid resource arn provided, only table "
                           "or stream is accepted. Provided resource arn: %s", arn);
        if (strncmp(slash, "/backup/", 8) == 0 || strncmp(slash, "/export/", 8) == 0)
            return tp_fail(err, TP_ERR_VALIDATION,
                           INVALID "Provided Arn is not a DynamoDB resource arn: %s", arn);
        if (strncmp(slash, "/stream/", 8) == 0) {
            bare[0] = '\0';   /* a stream: valid shape, but it carries no tags here */
            return 0;
        }
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid TableArn: Invalid ResourceArn provided as input %s", arn);
    }
    memcpy(bare, name, nlen);
    bare[nlen] = '\0';
    return 0;
}

/* Loads the table a parsed ARN names (release it), or fails with AWS's
 * error for its state. `writing`: Tag/UntagResource see a DELETING table as
 * in use, ListTagsOfResource as gone. */
static int resource_table(tp_req *r, const char *arn, const char *bare, int writing, ddb_table *t,
                          tp_error *err)
{
    memset(t, 0, sizeof *t);
    if (!bare[0])
        return not_found(arn, err);
    int rc = ddb_table_find(r, bare, t, err);
    if (rc < 0)
        return -1;
    if (rc == 1)
        return not_found(arn, err);
    /* While CREATING the tagging backend does not know the table yet. */
    if (!strcmp(t->status, "CREATING") || (!strcmp(t->status, "DELETING") && !writing)) {
        ddb_table_release(t);
        return not_found(arn, err);
    }
    if (!strcmp(t->status, "DELETING")) {
        ddb_table_release(t);
        return tp_fail(err, TP_ERR_RESOURCE_IN_USE,
                       "Attempt to change a resource which is still in use: Table is being deleted: %s",
                       bare);
    }
    return 0;
}

static int storage_error(tp_req *r, tp_error *err)
{
    return tp_fail(err, TP_ERR_INTERNAL, "storage error: %s",
                   sqlite3_errmsg(tp_store_db(r->core->store)));
}

static int has_tag(tp_req *r, int64_t id, const char *key, int *found)
{
    static const char sql[] = "SELECT 1 FROM ddb_tags WHERE table_id=?1 AND key=?2";
    sqlite3_stmt *st = tp_store_stmt(r->core->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    *found = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int tag_count(tp_req *r, int64_t id, int64_t *n)
{
    static const char sql[] = "SELECT count(*) FROM ddb_tags WHERE table_id=?1";
    sqlite3_stmt *st = tp_store_stmt(r->core->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* --- actions -------------------------------------------------------------- */

int ddb_tag_resource(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    static const char put[] = "INSERT OR REPLACE INTO ddb_tags(table_id, key, value) VALUES(?1, ?2, ?3)";
    const char *arn = tp_json_str(in, "ResourceArn");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(in, "Tags");
    ddb_table t;
    char bare[256];
    if (parse_arn(r, arn, bare, err) != 0 || ddb_tags_check(tags, 0, err) != 0 ||
        resource_table(r, arn, bare, 1, &t, err) != 0)
        return -1;
    int64_t have = 0;
    int added = 0, rc = tag_count(r, t.id, &have);
    const cJSON *tag;
    cJSON_ArrayForEach(tag, tags)
    {
        int found = 0;
        if (rc == 0)
            rc = has_tag(r, t.id, tp_json_str(tag, "Key"), &found);
        added += !found;
    }
    if (rc != 0) {
        ddb_table_release(&t);
        return storage_error(r, err);
    }
    if (have + added > MAX_TAGS) {
        ddb_table_release(&t);
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Number of Tags exceed the current limit for the provided ResourceArn");
    }
    cJSON_ArrayForEach(tag, tags)
    {
        sqlite3_stmt *st = tp_store_stmt(r->core->store, put);
        if (!st) {
            rc = -1;
            break;
        }
        sqlite3_bind_int64(st, 1, t.id);
        sqlite3_bind_text(st, 2, tp_json_str(tag, "Key"), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, tp_json_str(tag, "Value"), -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(st);
        if (rc != 0)
            break;
    }
    ddb_table_release(&t);
    if (rc != 0)
        return storage_error(r, err);
    *out = cJSON_CreateObject();
    return 0;
}

int ddb_untag_resource(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    static const char del[] = "DELETE FROM ddb_tags WHERE table_id=?1 AND key=?2";
    const char *arn = tp_json_str(in, "ResourceArn");
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(in, "TagKeys");
    ddb_table t;
    char bare[256];
    if (parse_arn(r, arn, bare, err) != 0)
        return -1;
    if (cJSON_GetArraySize(keys) == 0)
        return tp_fail(err, TP_ERR_VALIDATION, "Atleast one Tag Key needs to be provided as Input.");
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        if (check_key(cJSON_IsString(k) ? k->valuestring : NULL, err) != 0)
            return -1;
    }
    if (cJSON_GetArraySize(keys) > MAX_TAGS)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Number of Tags exceed the current limit for the provided ResourceArn");
    if (resource_table(r, arn, bare, 1, &t, err) != 0)
        return -1;
    int rc = 0;
    cJSON_ArrayForEach(k, keys)
    {
        sqlite3_stmt *st = tp_store_stmt(r->core->store, del);
        if (!st) {
            rc = -1;
            break;
        }
        sqlite3_bind_int64(st, 1, t.id);
        sqlite3_bind_text(st, 2, k->valuestring, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(st);
        if (rc != 0)
            break;
    }
    ddb_table_release(&t);
    if (rc != 0)
        return storage_error(r, err);
    *out = cJSON_CreateObject();
    return 0;
}

int ddb_list_tags_of_resource(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    /* At most 50 tags exist, so one page holds them all; AWS ignores a
     * NextToken it cannot use and answers with the first page. */
    static const char sql[] = "SELECT key, value FROM ddb_tags WHERE table_id=?1 ORDER BY key";
    const char *arn = tp_json_str(in, "ResourceArn");
    ddb_table t;
    char bare[256];
    if (parse_arn(r, arn, bare, err) != 0 || resource_table(r, arn, bare, 0, &t, err) != 0)
        return -1;
    sqlite3_stmt *st = tp_store_stmt(r->core->store, sql);
    if (!st) {
        ddb_table_release(&t);
        return storage_error(r, err);
    }
    sqlite3_bind_int64(st, 1, t.id);
    *out = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(*out, "Tags");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *tag = cJSON_CreateObject();
        cJSON_AddStringToObject(tag, "Key", (const char *)sqlite3_column_text(st, 0));
        cJSON_AddStringToObject(tag, "Value", (const char *)sqlite3_column_text(st, 1));
        cJSON_AddItemToArray(arr, tag);
    }
    sqlite3_reset(st);
    ddb_table_release(&t);
    return rc == SQLITE_DONE ? 0 : storage_error(r, err);
}
