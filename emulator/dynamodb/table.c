/* dynamodb/table — the table record every DynamoDB action loads, and the
 * control-plane actions that change it: CreateTable, DescribeTable,
 * ListTables, DeleteTable, UpdateTable, DescribeLimits, DescribeEndpoints.
 * Items, tags (tags.c) and TTL (ttl.c) live elsewhere; index maintenance
 * and stream records come later and read the description stored here.
 *
 * Table status (every transition is made in this file):
 *
 *   CreateTable ----> CREATING --settle()--> ACTIVE <-------------------+
 *                                              |                        |
 *        UpdateTable: throughput, billing,     |                        |
 *        stream, GSI Create/Delete, class      v                        |
 *                                           UPDATING --settle()---------+
 *
 *   DeleteTable (ACTIVE or UPDATING) --> DELETING --settle()--> row gone
 *
 * A GSI has its own status (CREATING, UPDATING, DELETING, ACTIVE) that
 * settles with the table's pending transition; a GSI throughput update
 * leaves TableStatus ACTIVE, as AWS's does. settle() runs from the
 * scheduler at status_due_ms (delays from the "dynamodb" config object) or,
 * when the delay is 0, before the action returns. Either way the action
 * builds its response from the transitional state first, so CreateTable
 * says CREATING, DeleteTable DELETING and UpdateTable UPDATING with the old
 * throughput — exactly what AWS answers. state_ok() is the debug check of
 * what each state implies.
 *
 * Stored: ddb_tables.desc holds the TableDescription as DescribeTable
 * returns it minus the live fields (TableStatus, ItemCount, TableSizeBytes,
 * which have columns); ddb_tables.pending holds what the next settle()
 * applies (new throughput, table class, which concern is in progress).
 *
 * Messages are AWS's, collected from real responses: dynalite's test suite
 * (recorded against AWS), moto, and the ack-api-quirks probe catalogue of
 * live DynamoDB responses (2026). Where AWS says nothing documented, the
 * comment says so. */
#include <assert.h>
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/sched.h"
#include "core/store.h"
#include "ddb.h"
#include "index.h"
#include "backup.h"
#include "dynamodb/streams.h"
#include "capacity.h"

/* From tags.c: the Tags rules CreateTable shares with TagResource.
 * (Declared here because ddb.h belongs to another change.) */

#define INVALID "One or more parameter values were invalid: "
#define IN_USE "Attempt to change a resource which is still in use: "
#define PT_MAX INT64_C(1000000000000)     /* beyond this AWS says "out of bounds" */
#define MAX_LSI 5
#define MAX_GSI 20
#define MAX_GSI_KEY_PARTS 4               /* multi-attribute GSI keys: 4 HASH + 4 RANGE */
#define PPR_WARM_READ 12000               /* WarmThroughput AWS reports for on-demand */
#define PPR_WARM_WRITE 4000

static const char BILLING_PPR[] = "PAY_PER_REQUEST";

/* --- small helpers ------------------------------------------------------- */

static int str_eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static const cJSON *member(const cJSON *obj, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

static double epoch_s(int64_t ms) { return (double)ms / 1000.0; }

/* Sets obj[key] keeping its position when it exists, so stored
 * descriptions keep AWS's member order across updates. */
static void put(cJSON *obj, const char *key, cJSON *v)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
    else
        cJSON_AddItemToObject(obj, key, v);
}

static int64_t num(const cJSON *obj, const char *name) { return tp_json_int(obj, name, 0); }

static int storage_error(tp_core *core, tp_error *err)
{
    return tp_fail(err, TP_ERR_INTERNAL, "storage error: %s",
                   sqlite3_errmsg(tp_store_db(core->store)));
}

static sqlite3_stmt *stmt(tp_core *core, const char *sql) { return tp_store_stmt(core->store, sql); }

static void copy_str(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* "[a, b]" — the Java list rendering AWS's messages use. */
static void names_list(tp_buf *b, const cJSON *arr, const char *field)
{
    const cJSON *e;
    int first = 1;
    tp_buf_puts(b, "[");
    cJSON_ArrayForEach(e, arr)
    {
        const char *s = field ? tp_json_str(e, field) : (cJSON_IsString(e) ? e->valuestring : NULL);
        tp_buf_printf(b, "%s%s", first ? "" : ", ", s ? s : "null");
        first = 0;
    }
    tp_buf_puts(b, "]");
}

/* --- "N validation errors detected" --------------------------------------- */

/* Constraint failures collected the way AWS's front end reports them: up
 * to 10, joined with "; " under one count. */
typedef struct violations {
    tp_buf text;
    int n;
} violations;

static void viol_init(violations *v)
{
    tp_buf_init(&v->text);
    v->n = 0;
}

static void viol_add(violations *v, const char *fmt, ...) TP_PRINTF(2, 3);
static void viol_add(violations *v, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    if (v->n >= 10)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    tp_buf_printf(&v->text, "%s%s", v->n ? "; " : "", line);
    v->n++;
}

/* Fails with the collected message (and frees it) when there is one. */
static int viol_fail(violations *v, tp_error *err)
{
    int rc = 0;
    if (v->n)
        rc = tp_fail(err, TP_ERR_VALIDATION, "%d validation error%s detected: %s", v->n,
                     v->n == 1 ? "" : "s", v->text.data);
    tp_buf_free(&v->text);
    return rc;
}

/* --- settings, ARNs, names ------------------------------------------------ */

int64_t ddb_setting(const tp_core *core, const char *name, int64_t dflt)
{
    const cJSON *ddb = core ? member(core->config, "dynamodb") : NULL;
    const cJSON *v = member(ddb, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0)
        return dflt;
    return (int64_t)v->valuedouble;
}

void ddb_table_arn(const tp_req *r, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "arn:aws:dynamodb:%s:%s:table/%s", r->region, r->account, name);
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

static int name_chars_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!name_char(*s))
            return 0;
    return 1;
}

/* The TableName constraints. Newer models type TableName as a 1-1024 char
 * "TableArn", so these are checked here; AWS names the length problem
 * first, then the pattern (a DescribeTable with TableName '' gets both). */
static void check_name(const char *name, const char *field, violations *v)
{
    size_t len = strlen(name);
    if (len < 3)
        viol_add(v, "Value '%s' at '%s' failed to satisfy constraint: Member must have length "
                    "greater than or equal to 3", name, field);
    if (len > 255)
        viol_add(v, "Value '%s' at '%s' failed to satisfy constraint: Member must have length "
                    "less than or equal to 255", name, field);
    if (!name_chars_ok(name))
        viol_add(v, "Value '%s' at '%s' failed to satisfy constraint: Member must satisfy "
                    "regular expression pattern: [a-zA-Z0-9_.-]+", name, field);
}

/* Splits "arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE"; 0 on success. */
static int arn_split(const char *arn, char parts[5][64], const char **resource)
{
    const char *p = arn;
    for (int i = 0; i < 5; i++) {
        const char *c = strchr(p, ':');
        if (!c || (size_t)(c - p) >= 64)
            return -1;
        memcpy(parts[i], p, (size_t)(c - p));
        parts[i][c - p] = '\0';
        p = c + 1;
    }
    *resource = p;
    return 0;
}

/* A TableName member is a name or, as AWS accepts since 2024, the caller's
 * table ARN (DescribeTable of a missing ARN names the extracted table).
 * Today the generated shapes apply the name rules to TableName before any
 * action runs (codegen SERVER_OVERRIDES), so only names reach here; the ARN
 * branch is ready for when that override is lifted. */
static int resolve_name(const tp_req *r, const char *given, char *out, size_t cap, tp_error *err)
{
    if (!given)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "The parameter 'TableName' is required but was not present in the request");
    if (strncmp(given, "arn:", 4) == 0) {
        char parts[5][64];
        const char *res = NULL;
        /* AWS: "N validation error detected: Invalid AWS region in '<ARN>'"
         * and its partition / resource-type siblings. */
        if (arn_split(given, parts, &res) != 0 || strcmp(parts[2], "dynamodb") != 0 ||
            strncmp(res, "table/", 6) != 0 || strchr(res + 6, '/'))
            return tp_fail(err, TP_ERR_VALIDATION,
                           "1 validation error detected: Invalid resource type in '%s'", given);
        if (strcmp(parts[1], "aws") != 0)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "1 validation error detected: Invalid AWS partition in '%s'", given);
        if (strcmp(parts[3], r->region) != 0)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "1 validation error detected: Invalid AWS region in '%s'", given);
        if (strcmp(parts[4], r->account) != 0)
            return tp_fail(err, TP_ERR_ACCESS_DENIED, "Access is denied");
        given = res + 6;
    }
    violations v;
    viol_init(&v);
    check_name(given, "tableName", &v);
    if (viol_fail(&v, err) != 0)
        return -1;
    snprintf(out, cap, "%s", given);
    return 0;
}

/* --- loading -------------------------------------------------------------- */

static const char SQL_FIND[] =
    "SELECT id, name, status, hash_name, hash_type, range_name, range_type, created_ms,"
    " item_count, size_bytes, ttl_attr, ttl_status, desc FROM ddb_tables"
    " WHERE account=?1 AND region=?2 AND name=?3";

int ddb_table_find(tp_req *r, const char *name, ddb_table *t, tp_error *err)
{
    memset(t, 0, sizeof *t);
    if (resolve_name(r, name, t->name, sizeof t->name, err) != 0)
        return -1;
    sqlite3_stmt *st = stmt(r->core, SQL_FIND);
    if (!st)
        return storage_error(r->core, err);
    sqlite3_bind_text(st, 1, r->account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, r->region, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, t->name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return 1;   /* t->name holds the resolved name for the caller's message */
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return storage_error(r->core, err);
    }
    t->id = sqlite3_column_int64(st, 0);
    copy_str(t->name, sizeof t->name, sqlite3_column_text(st, 1));
    copy_str(t->status, sizeof t->status, sqlite3_column_text(st, 2));
    copy_str(t->hash.name, sizeof t->hash.name, sqlite3_column_text(st, 3));
    t->hash.type = (char)(sqlite3_column_text(st, 4) ? sqlite3_column_text(st, 4)[0] : 0);
    copy_str(t->range.name, sizeof t->range.name, sqlite3_column_text(st, 5));
    t->range.type = (char)(sqlite3_column_text(st, 6) ? sqlite3_column_text(st, 6)[0] : 0);
    t->created_ms = sqlite3_column_int64(st, 7);
    t->item_count = sqlite3_column_int64(st, 8);
    t->size_bytes = sqlite3_column_int64(st, 9);
    copy_str(t->ttl_attr, sizeof t->ttl_attr, sqlite3_column_text(st, 10));
    copy_str(t->ttl_status, sizeof t->ttl_status, sqlite3_column_text(st, 11));
    const char *desc = (const char *)sqlite3_column_text(st, 12);
    t->desc = desc ? tp_json_parse_str(desc) : NULL;
    sqlite3_reset(st);
    if (!t->desc)
        return tp_fail(err, TP_ERR_INTERNAL, "stored description of %s is unreadable", t->name);
    return 0;
}

int ddb_table_load(tp_req *r, const char *name, ddb_table *t, tp_error *err)
{
    int rc = ddb_table_find(r, name, t, err);
    if (rc == 1)
        return tp_fail(err, TP_ERR_RESOURCE_NOT_FOUND,
                       "Requested resource not found: Table: %s not found", t->name);
    return rc;
}

void ddb_table_release(ddb_table *t)
{
    if (!t)
        return;
    cJSON_Delete(t->desc);
    t->desc = NULL;
}

int ddb_table_add_usage(tp_req *r, int64_t table_id, int64_t dcount, int64_t dbytes)
{
    static const char sql[] = "UPDATE ddb_tables SET item_count=max(0, item_count+?1),"
                              " size_bytes=max(0, size_bytes+?2) WHERE id=?3";
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, dcount);
    sqlite3_bind_int64(st, 2, dbytes);
    sqlite3_bind_int64(st, 3, table_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* What settles next (ddb_tables.pending), as a new object. */
static cJSON *load_pending(tp_core *core, int64_t id)
{
    static const char sql[] = "SELECT pending FROM ddb_tables WHERE id=?1";
    sqlite3_stmt *st = stmt(core, sql);
    cJSON *p = NULL;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            p = tp_json_parse_str((const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
    }
    if (!cJSON_IsObject(p)) {
        cJSON_Delete(p);
        p = cJSON_CreateObject();
    }
    return p;
}

/* --- descriptions --------------------------------------------------------- */

static int64_t utc_day(int64_t ms) { return ms / 86400000; }

/* A ProvisionedThroughputDescription in AWS's member order. */
static cJSON *pt_make(double last_inc, double last_dec, int64_t decreases, int64_t rcu, int64_t wcu)
{
    cJSON *pt = cJSON_CreateObject();
    if (last_inc > 0)
        cJSON_AddNumberToObject(pt, "LastIncreaseDateTime", last_inc);
    if (last_dec > 0)
        cJSON_AddNumberToObject(pt, "LastDecreaseDateTime", last_dec);
    tp_json_add_int(pt, "NumberOfDecreasesToday", decreases);
    tp_json_add_int(pt, "ReadCapacityUnits", rcu);
    tp_json_add_int(pt, "WriteCapacityUnits", wcu);
    return pt;
}

static double num_d(const cJSON *obj, const char *name)
{
    const cJSON *v = member(obj, name);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The counter restarts every UTC day, so a stale count reads as 0. */
static cJSON *pt_out(const cJSON *pt, int64_t now_ms)
{
    double dec = num_d(pt, "LastDecreaseDateTime");
    int64_t n = num(pt, "NumberOfDecreasesToday");
    if (dec > 0 && utc_day((int64_t)(dec * 1000)) != utc_day(now_ms))
        n = 0;
    return pt_make(num_d(pt, "LastIncreaseDateTime"), dec, n, num(pt, "ReadCapacityUnits"),
                   num(pt, "WriteCapacityUnits"));
}

/* Moves a stored throughput to new units. At the request only the
 * timestamps move (AWS's response shows the old units with the new
 * Last*DateTime); at settle the units change and a decrease is counted. */
static void pt_change(cJSON *owner, int64_t rcu, int64_t wcu, int64_t now_ms, int settle)
{
    const cJSON *pt = member(owner, "ProvisionedThroughput");
    int64_t r0 = num(pt, "ReadCapacityUnits"), w0 = num(pt, "WriteCapacityUnits");
    double inc = num_d(pt, "LastIncreaseDateTime"), dec = num_d(pt, "LastDecreaseDateTime");
    int64_t n = num(pt, "NumberOfDecreasesToday");
    if (dec > 0 && utc_day((int64_t)(dec * 1000)) != utc_day(now_ms))
        n = 0;
    if (rcu > r0 || wcu > w0)
        inc = epoch_s(now_ms);
    if (rcu < r0 || wcu < w0) {
        dec = epoch_s(now_ms);
        if (settle)
            n++;
    }
    if (!settle) {
        rcu = r0;
        wcu = w0;
    }
    put(owner, "ProvisionedThroughput", pt_make(inc, dec, n, rcu, wcu));
}

/* WarmThroughput never drops (AWS keeps the high-water mark). */
static void warm_raise(cJSON *owner, int64_t rcu, int64_t wcu)
{
    const cJSON *w = member(owner, "WarmThroughput");
    int64_t r0 = num(w, "ReadUnitsPerSecond"), w0 = num(w, "WriteUnitsPerSecond");
    cJSON *nw = cJSON_CreateObject();
    tp_json_add_int(nw, "ReadUnitsPerSecond", rcu > r0 ? rcu : r0);
    tp_json_add_int(nw, "WriteUnitsPerSecond", wcu > w0 ? wcu : w0);
    cJSON_AddStringToObject(nw, "Status", "ACTIVE");
    put(owner, "WarmThroughput", nw);
}

static int is_ppr(const cJSON *desc)
{
    return str_eq(tp_json_str(member(desc, "BillingModeSummary"), "BillingMode"), BILLING_PPR);
}

/* The full TableDescription, members in the model's order, live fields
 * filled in. Unknown stored members are not emitted. */
static cJSON *describe(const cJSON *desc, const char *status, int64_t items, int64_t bytes,
                       int64_t now_ms)
{
    static const char *const order[] = {
        "AttributeDefinitions", "TableName", "KeySchema", "TableStatus", "CreationDateTime",
        "ProvisionedThroughput", "TableSizeBytes", "ItemCount", "TableArn", "TableId",
        "BillingModeSummary", "LocalSecondaryIndexes", "GlobalSecondaryIndexes",
        "StreamSpecification", "LatestStreamLabel", "LatestStreamArn", "RestoreSummary",
        "SSEDescription",
        "TableClassSummary", "DeletionProtectionEnabled", "OnDemandThroughput", "WarmThroughput",
    };
    cJSON *out = cJSON_CreateObject();
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *k = order[i];
        const cJSON *src = member(desc, k);
        if (strcmp(k, "TableStatus") == 0) {
            cJSON_AddStringToObject(out, k, status);
        } else if (strcmp(k, "TableSizeBytes") == 0) {
            tp_json_add_int(out, k, bytes);
        } else if (strcmp(k, "ItemCount") == 0) {
            tp_json_add_int(out, k, items);
        } else if (!src || (strcmp(k, "RestoreSummary") == 0 && strcmp(status, "CREATING") != 0)) {
            continue;   /* a restored table shows RestoreSummary only while CREATING (backup.c) */
        } else if (strcmp(k, "ProvisionedThroughput") == 0) {
            cJSON_AddItemToObject(out, k, pt_out(src, now_ms));
        } else if (strcmp(k, "GlobalSecondaryIndexes") == 0) {
            cJSON *arr = cJSON_AddArrayToObject(out, k);
            const cJSON *g;
            cJSON_ArrayForEach(g, src)
            {
                cJSON *c = cJSON_Duplicate(g, 1);
                const cJSON *pt = member(g, "ProvisionedThroughput");
                if (pt)
                    put(c, "ProvisionedThroughput", pt_out(pt, now_ms));
                cJSON_AddItemToArray(arr, c);
            }
        } else {
            cJSON_AddItemToObject(out, k, cJSON_Duplicate(src, 1));
        }
    }
    return out;
}

cJSON *ddb_table_describe(tp_req *r, const ddb_table *t)
{
    cJSON *d = describe(t->desc, t->status, t->item_count, t->size_bytes, r->now_ms);
    ddb_index_fill_stats(r->core, t->id, d);   /* per-index ItemCount, IndexSizeBytes */
    return d;
}

/* AttributeDefinitions come back sorted by name (so do NonKeyAttributes). */
static int cmp_by_name(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    const char *s = cJSON_IsString(x) ? x->valuestring : tp_json_str(x, "AttributeName");
    const char *t = cJSON_IsString(y) ? y->valuestring : tp_json_str(y, "AttributeName");
    return strcmp(s ? s : "", t ? t : "");
}

static cJSON *sorted_copy(const cJSON *arr)
{
    int n = cJSON_GetArraySize(arr);
    cJSON *out = cJSON_CreateArray();
    if (n <= 0)
        return out;
    const cJSON **v = calloc((size_t)n, sizeof *v);
    if (!v)
        return out;
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) v[i++] = e;
    qsort(v, (size_t)n, sizeof *v, cmp_by_name);
    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(out, cJSON_Duplicate(v[i], 1));
    free(v);
    return out;
}

static cJSON *projection_copy(const cJSON *p)
{
    cJSON *out = cJSON_CreateObject();
    const char *type = tp_json_str(p, "ProjectionType");
    const cJSON *nka = member(p, "NonKeyAttributes");
    if (type)
        cJSON_AddStringToObject(out, "ProjectionType", type);
    if (nka)
        cJSON_AddItemToObject(out, "NonKeyAttributes", sorted_copy(nka));
    return out;
}

static void index_arn(const tp_req *r, const char *table, const char *index, char *out, size_t cap)
{
    snprintf(out, cap, "arn:aws:dynamodb:%s:%s:table/%s/index/%s", r->region, r->account, table,
             index);
}

static cJSON *lsi_desc(const tp_req *r, const char *table, const cJSON *lsi)
{
    char arn[1024];
    const char *name = tp_json_str(lsi, "IndexName");
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "IndexName", name ? name : "");
    cJSON_AddItemToObject(d, "KeySchema", cJSON_Duplicate(member(lsi, "KeySchema"), 1));
    cJSON_AddItemToObject(d, "Projection", projection_copy(member(lsi, "Projection")));
    tp_json_add_int(d, "IndexSizeBytes", 0);
    tp_json_add_int(d, "ItemCount", 0);
    index_arn(r, table, name ? name : "", arn, sizeof arn);
    cJSON_AddStringToObject(d, "IndexArn", arn);
    return d;
}

/* backfilling: -1 leaves Backfilling out (indexes born with the table),
 * 0 or 1 sets it (indexes added by UpdateTable while CREATING). */
static cJSON *gsi_desc(const tp_req *r, const char *table, const cJSON *gsi, int ppr,
                       const char *status, int backfilling)
{
    char arn[1024];
    const char *name = tp_json_str(gsi, "IndexName");
    const cJSON *pt = member(gsi, "ProvisionedThroughput");
    const cJSON *odt = member(gsi, "OnDemandThroughput");
    int64_t rcu = ppr ? 0 : num(pt, "ReadCapacityUnits"), wcu = ppr ? 0 : num(pt, "WriteCapacityUnits");
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "IndexName", name ? name : "");
    cJSON_AddItemToObject(d, "KeySchema", cJSON_Duplicate(member(gsi, "KeySchema"), 1));
    cJSON_AddItemToObject(d, "Projection", projection_copy(member(gsi, "Projection")));
    cJSON_AddStringToObject(d, "IndexStatus", status);
    if (backfilling >= 0)
        cJSON_AddBoolToObject(d, "Backfilling", backfilling);
    cJSON_AddItemToObject(d, "ProvisionedThroughput", pt_make(0, 0, 0, rcu, wcu));
    tp_json_add_int(d, "IndexSizeBytes", 0);
    tp_json_add_int(d, "ItemCount", 0);
    index_arn(r, table, name ? name : "", arn, sizeof arn);
    cJSON_AddStringToObject(d, "IndexArn", arn);
    if (ppr && cJSON_IsObject(odt) && odt->child)
        cJSON_AddItemToObject(d, "OnDemandThroughput", cJSON_Duplicate(odt, 1));
    warm_raise(d, ppr ? PPR_WARM_READ : rcu, ppr ? PPR_WARM_WRITE : wcu);
    return d;
}

/* "2024-01-01T00:00:00.000": a stream label (the ARN's last segment). */
static void stream_label(int64_t ms, char out[40])
{
    char iso[40];
    tp_format_iso8601(ms, iso, sizeof iso);
    size_t n = strlen(iso);
    if (n && iso[n - 1] == 'Z')
        iso[n - 1] = '\0';
    memcpy(out, iso, sizeof iso);
}

static void stream_enable(const tp_req *r, cJSON *desc, const char *view)
{
    char label[40], arn[1100];
    const char *table_arn = tp_json_str(desc, "TableArn");
    cJSON *spec = cJSON_CreateObject();
    cJSON_AddBoolToObject(spec, "StreamEnabled", 1);
    cJSON_AddStringToObject(spec, "StreamViewType", view);
    put(desc, "StreamSpecification", spec);
    stream_label(r->now_ms, label);
    snprintf(arn, sizeof arn, "%s/stream/%s", table_arn ? table_arn : "", label);
    put(desc, "LatestStreamLabel", cJSON_CreateString(label));
    put(desc, "LatestStreamArn", cJSON_CreateString(arn));
}

/* --- transitions ---------------------------------------------------------- */

#ifndef NDEBUG
/* The facts each state implies (debug check). */
static inline int state_ok(const char *status, int64_t due_ms)
{
    if (str_eq(status, "CREATING") || str_eq(status, "UPDATING") || str_eq(status, "DELETING"))
        return 1;   /* due may be 0 only inside the action that settles inline */
    return str_eq(status, "ACTIVE") && due_ms >= 0;
}
#endif

/* Attributes no key uses any more leave AttributeDefinitions (AWS prunes
 * them when a GSI goes). */
static void prune_definitions(cJSON *desc)
{
    cJSON *defs = cJSON_GetObjectItemCaseSensitive(desc, "AttributeDefinitions");
    static const char *const holders[] = {"LocalSecondaryIndexes", "GlobalSecondaryIndexes"};
    for (int i = cJSON_GetArraySize(defs) - 1; i >= 0; i--) {
        const char *name = tp_json_str(cJSON_GetArrayItem(defs, i), "AttributeName");
        int used = 0;
        const cJSON *k;
        cJSON_ArrayForEach(k, member(desc, "KeySchema")) used |= str_eq(tp_json_str(k, "AttributeName"), name);
        for (int h = 0; h < 2 && !used; h++) {
            const cJSON *idx;
            cJSON_ArrayForEach(idx, member(desc, holders[h]))
            {
                cJSON_ArrayForEach(k, member(idx, "KeySchema")) used |= str_eq(tp_json_str(k, "AttributeName"), name);
            }
        }
        if (!used)
            cJSON_DeleteItemFromArray(defs, i);
    }
}

static int drop_rows(tp_core *core, int64_t id)
{
    static const char del_items[] = "DELETE FROM ddb_items WHERE table_id=?1";
    static const char del_tags[] = "DELETE FROM ddb_tags WHERE table_id=?1";
    static const char del_row[] = "DELETE FROM ddb_tables WHERE id=?1";
    const char *const sqls[] = {del_items, del_tags, del_row};
    for (int i = 0; i < 3; i++) {
        sqlite3_stmt *st = stmt(core, sqls[i]);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, id);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

static int save(tp_core *core, int64_t id, const char *status, const cJSON *desc,
                const cJSON *pending, int64_t due_ms)
{
    static const char sql[] =
        "UPDATE ddb_tables SET status=?1, desc=?2, pending=?3, status_due_ms=?4 WHERE id=?5";
    assert(state_ok(status, due_ms));
    char *d = tp_json_print(desc);
    char *p = pending && pending->child ? tp_json_print(pending) : NULL;
    sqlite3_stmt *st = stmt(core, sql);
    int rc = -1;
    if (st && d) {
        sqlite3_bind_text(st, 1, status, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, d, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, p ? p : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, due_ms);
        sqlite3_bind_int64(st, 5, id);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(st);
    }
    free(d);
    free(p);
    return rc;
}

/* Ends whatever transition the table is in: the right-hand side of the
 * diagram at the top. */
static int settle(tp_core *core, int64_t id, int64_t now_ms)
{
    static const char sql[] = "SELECT status, desc FROM ddb_tables WHERE id=?1";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return 0;   /* already gone */
    }
    char status[16];
    copy_str(status, sizeof status, sqlite3_column_text(st, 0));
    cJSON *desc = tp_json_parse_str((const char *)sqlite3_column_text(st, 1));
    sqlite3_reset(st);
    if (str_eq(status, "DELETING")) {
        cJSON_Delete(desc);
        return drop_rows(core, id);
    }
    if (!desc)
        return -1;
    cJSON *pending = load_pending(core, id);
    const cJSON *pt = member(pending, "ProvisionedThroughput");
    if (pt) {
        int64_t rcu = num(pt, "ReadCapacityUnits"), wcu = num(pt, "WriteCapacityUnits");
        pt_change(desc, rcu, wcu, now_ms, 1);
        warm_raise(desc, rcu, wcu);
    }
    cJSON *gsis = cJSON_GetObjectItemCaseSensitive(desc, "GlobalSecondaryIndexes");
    int removed = 0;
    for (int i = cJSON_GetArraySize(gsis) - 1; i >= 0; i--) {
        cJSON *g = cJSON_GetArrayItem(gsis, i);
        const char *name = tp_json_str(g, "IndexName");
        const char *ist = tp_json_str(g, "IndexStatus");
        if (str_eq(ist, "DELETING")) {
            if (name && ddb_index_drop(core, id, name) != 0)
                goto fail;
            cJSON_DeleteItemFromArray(gsis, i);
            removed = 1;
            continue;
        }
        /* A new GSI is filled from the table's items as it turns ACTIVE. */
        if (str_eq(ist, "CREATING") && name && ddb_index_backfill(core, id, desc, name) != 0)
            goto fail;
        const cJSON *gpt = name ? member(member(pending, "Indexes"), name) : NULL;
        if (gpt) {
            int64_t rcu = num(gpt, "ReadCapacityUnits"), wcu = num(gpt, "WriteCapacityUnits");
            pt_change(g, rcu, wcu, now_ms, 1);
            warm_raise(g, rcu, wcu);
        }
        cJSON_DeleteItemFromObjectCaseSensitive(g, "Backfilling");
        put(g, "IndexStatus", cJSON_CreateString("ACTIVE"));
    }
    if (gsis && cJSON_GetArraySize(gsis) == 0)
        cJSON_DeleteItemFromObjectCaseSensitive(desc, "GlobalSecondaryIndexes");
    if (removed)
        prune_definitions(desc);
    const char *cls = tp_json_str(pending, "TableClass");
    if (cls) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "TableClass", cls);
        cJSON_AddNumberToObject(s, "LastUpdateDateTime", epoch_s(now_ms));
        put(desc, "TableClassSummary", s);
    }
    int rc = save(core, id, "ACTIVE", desc, NULL, 0);
    if (rc == 0)   /* new throughput applies from now, not from each bucket's next use */
        ddb_capacity_table_changed(core, id, desc, now_ms);
    cJSON_Delete(pending);
    cJSON_Delete(desc);
    return rc;
fail:
    cJSON_Delete(pending);
    cJSON_Delete(desc);
    return -1;
}

static void settle_event(struct tp_core *core, void *arg, int64_t due_ms)
{
    static const char sql[] = "SELECT status_due_ms FROM ddb_tables WHERE id=?1";
    int64_t id = (int64_t)(intptr_t)arg;
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, id);
    int64_t due = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    /* A later change re-armed the table (or it is gone): this event is stale. */
    if (due != due_ms)
        return;
    if (settle(core, id, due_ms) != 0)
        tp_log_msg(TP_LOG_ERROR, "dynamodb: settling table %" PRId64 " failed: %s", id,
               sqlite3_errmsg(tp_store_db(core->store)));
}

static int arm(tp_core *core, int64_t id, int64_t due_ms)
{
    static const char sql[] = "UPDATE ddb_tables SET status_due_ms=?1 WHERE id=?2";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, due_ms);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    return tp_sched_at(core->sched, due_ms, settle_event, (void *)(intptr_t)id) ? 0 : -1;
}

/* The end of a transition the caller just started (its response already
 * built): now when the configured delay is 0, else at now + delay. */
static int finish(tp_req *r, int64_t id, const char *delay_setting, tp_error *err)
{
    int64_t delay = ddb_setting(r->core, delay_setting, 0);
    int rc = delay <= 0 ? settle(r->core, id, r->now_ms) : arm(r->core, id, r->now_ms + delay);
    return rc == 0 ? 0 : storage_error(r->core, err);
}

int ddb_service_start(tp_core *core)
{
    static const char sql[] = "SELECT id, status_due_ms FROM ddb_tables WHERE status_due_ms > 0";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0), due = sqlite3_column_int64(st, 1);
        if (!tp_sched_at(core->sched, due, settle_event, (void *)(intptr_t)id)) {
            sqlite3_reset(st);
            return -1;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? ddb_ttl_start(core) : -1;
}

/* --- shared validation ---------------------------------------------------- */

/* "[KeySchemaElement(attributeName=a, keyType=HASH), ...]": how AWS's
 * length message quotes a key schema. */
static void key_schema_text(tp_buf *b, const cJSON *ks)
{
    const cJSON *e;
    int first = 1;
    tp_buf_puts(b, "[");
    cJSON_ArrayForEach(e, ks)
    {
        const char *n = tp_json_str(e, "AttributeName"), *t = tp_json_str(e, "KeyType");
        tp_buf_printf(b, "%sKeySchemaElement(attributeName=%s, keyType=%s)", first ? "" : ", ",
                      n ? n : "null", t ? t : "null");
        first = 0;
    }
    tp_buf_puts(b, "]");
}

static void check_key_schema_length(const cJSON *ks, const char *field, violations *v)
{
    int n = cJSON_GetArraySize(ks);
    if (n == 0) {
        viol_add(v, "Value '[]' at '%s' failed to satisfy constraint: Member must have length "
                    "greater than or equal to 1", field);
    } else if (n > 2) {
        tp_buf b;
        tp_buf_init(&b);
        key_schema_text(&b, ks);
        viol_add(v, "Value '%s' at '%s' failed to satisfy constraint: Member must have length "
                    "less than or equal to 2", b.data, field);
        tp_buf_free(&b);
    }
}

static const char *ks_name(const cJSON *ks, int i)
{
    const char *s = tp_json_str(cJSON_GetArrayItem(ks, i), "AttributeName");
    return s ? s : "";
}

static const char *ks_type(const cJSON *ks, int i)
{
    const char *s = tp_json_str(cJSON_GetArrayItem(ks, i), "KeyType");
    return s ? s : "";
}

/* Table and LSI keys: [HASH] or [HASH, RANGE], in that order. */
static int check_pair_schema(const cJSON *ks, tp_error *err)
{
    int n = cJSON_GetArraySize(ks);
    if (n == 2 && strcmp(ks_name(ks, 0), ks_name(ks, 1)) == 0)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Both the Hash Key and the Range Key element in the KeySchema have the same name");
    if (strcmp(ks_type(ks, 0), "HASH") != 0)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
    if (n == 2 && strcmp(ks_type(ks, 1), "RANGE") != 0)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type");
    return 0;
}

/* GSI keys may have up to 4 HASH then up to 4 RANGE attributes (AWS's
 * multi-attribute keys, 2025). */
static int check_gsi_schema(const cJSON *ks, tp_error *err)
{
    int n = cJSON_GetArraySize(ks), hashes = 0, ranges = 0;
    if (n == 2 && strcmp(ks_name(ks, 0), ks_name(ks, 1)) == 0)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Both the Hash Key and the Range Key element in the KeySchema have the same name");
    if (strcmp(ks_type(ks, 0), "HASH") != 0)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
    for (int i = 0; i < n; i++) {
        if (strcmp(ks_type(ks, i), "HASH") == 0) {
            if (ranges)
                return tp_fail(err, TP_ERR_VALIDATION, INVALID "All HASH key attributes must "
                               "precede RANGE key attributes in the KeySchema");
            hashes++;
        } else {
            ranges++;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(ks_name(ks, i), ks_name(ks, j)) == 0)
                return tp_fail(err, TP_ERR_VALIDATION,
                               "The KeySchema contains multiple key attributes with the same name");
    }
    if (hashes > MAX_GSI_KEY_PARTS)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "The KeySchema exceeds the maximum "
                       "allowed number of HASH key attributes");
    if (ranges > MAX_GSI_KEY_PARTS)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "The KeySchema exceeds the maximum "
                       "allowed number of RANGE key attributes");
    return 0;
}

static int check_projection(const cJSON *p, tp_error *err)
{
    const char *type = tp_json_str(p, "ProjectionType");
    const cJSON *nka = member(p, "NonKeyAttributes");
    if (!type)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "Unknown ProjectionType: null");
    if (nka && strcmp(type, "INCLUDE") != 0)
        return tp_fail(err, TP_ERR_VALIDATION,
                       INVALID "ProjectionType is %s, but NonKeyAttributes is specified", type);
    if (!nka && strcmp(type, "INCLUDE") == 0)
        return tp_fail(err, TP_ERR_VALIDATION,
                       INVALID "ProjectionType is INCLUDE, but NonKeyAttributes is not specified");
    int n = cJSON_GetArraySize(nka);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) {
            const cJSON *a = cJSON_GetArrayItem(nka, i), *b = cJSON_GetArrayItem(nka, j);
            if (cJSON_IsString(a) && cJSON_IsString(b) && strcmp(a->valuestring, b->valuestring) == 0)
                return tp_fail(err, TP_ERR_VALIDATION,
                               INVALID "Duplicate element in NonKeyAttributes: %s", a->valuestring);
        }
    return 0;
}

/* The AttributeType defs give a name, or 0. */
static char def_type(const cJSON *defs, const char *name)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, defs)
    {
        const char *n = tp_json_str(d, "AttributeName"), *t = tp_json_str(d, "AttributeType");
        if (n && t && name && strcmp(n, name) == 0)
            return t[0];
    }
    return 0;
}

/* Every key attribute of an index must be in AttributeDefinitions; AWS
 * lists all the index's keys and all the definitions. */
static int check_keys_defined(const cJSON *ks, const cJSON *defs, const cJSON *defs_shown,
                              tp_error *err)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, ks)
    {
        if (def_type(defs, tp_json_str(k, "AttributeName")))
            continue;
        tp_buf keys, dl;
        tp_buf_init(&keys);
        tp_buf_init(&dl);
        names_list(&keys, ks, "AttributeName");
        names_list(&dl, defs_shown, "AttributeName");
        tp_fail(err, TP_ERR_VALIDATION,
                INVALID "Some index key attributes are not defined in AttributeDefinitions. "
                        "Keys: %s, AttributeDefinitions: %s", keys.data, dl.data);
        tp_buf_free(&keys);
        tp_buf_free(&dl);
        return -1;
    }
    return 0;
}

static int check_pt_bounds(const cJSON *pt, tp_error *err)
{
    if (!pt)
        return 0;
    int64_t rcu = num(pt, "ReadCapacityUnits"), wcu = num(pt, "WriteCapacityUnits");
    if (rcu > PT_MAX)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Given value %" PRId64 " for ReadCapacityUnits is out of bounds", rcu);
    if (wcu > PT_MAX)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Given value %" PRId64 " for WriteCapacityUnits is out of bounds", wcu);
    return 0;
}

/* Rules for one new GSI, at CreateTable (update=0) or as an UpdateTable
 * Create action (update=1, whose throughput messages are worded apart). */
static int check_gsi(const cJSON *gsi, const cJSON *defs, const cJSON *defs_shown, int ppr,
                     int update, tp_error *err)
{
    const char *name = tp_json_str(gsi, "IndexName");
    const cJSON *ks = member(gsi, "KeySchema");
    const cJSON *pt = member(gsi, "ProvisionedThroughput");
    if (!name)
        name = "null";
    if (check_keys_defined(ks, defs, defs_shown, err) != 0 || check_gsi_schema(ks, err) != 0 ||
        check_projection(member(gsi, "Projection"), err) != 0)
        return -1;
    if (ppr && pt)
        return update ? tp_fail(err, TP_ERR_VALIDATION, INVALID "Neither ReadCapacityUnits nor "
                                "WriteCapacityUnits can be specified for index: %s when BillingMode "
                                "is PAY_PER_REQUEST", name)
                      : tp_fail(err, TP_ERR_VALIDATION, INVALID "ProvisionedThroughput should not "
                                "be specified for index: %s when BillingMode is PAY_PER_REQUEST", name);
    if (!ppr && !pt)
        return update ? tp_fail(err, TP_ERR_VALIDATION, INVALID "Both ReadCapacityUnits and "
                                "WriteCapacityUnits must be specified for index: %s", name)
                      : tp_fail(err, TP_ERR_VALIDATION,
                                INVALID "ProvisionedThroughput is not specified for index: %s", name);
    const cJSON *odt = member(gsi, "OnDemandThroughput");
    if (!ppr && cJSON_IsObject(odt) && odt->child)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "%s for OnDemandThroughput for index : %s "
                       "cannot be specified when the table BillingMode is PROVISIONED",
                       member(odt, "MaxReadRequestUnits") ? "MaxReadRequestUnits" : "MaxWriteRequestUnits",
                       name);
    return check_pt_bounds(pt, err);
}

/* SSESpecification rules shared by CreateTable and UpdateTable. */
static int check_sse(const cJSON *sse, tp_error *err)
{
    if (!sse)
        return 0;
    const cJSON *en = member(sse, "Enabled");
    const char *type = tp_json_str(sse, "SSEType");
    const char *key = tp_json_str(sse, "KMSMasterKeyId");
    if (cJSON_IsFalse(en) && type)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "SSEType can not be specified if Enabled is false");
    if (cJSON_IsFalse(en) && key)
        return tp_fail(err, TP_ERR_VALIDATION,
                       INVALID "KMSMasterKeyId can not be specified if Enabled is false");
    if (str_eq(type, "AES256"))
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "SSEType AES256 is not supported");
    if (key && !str_eq(type, "KMS"))
        return tp_fail(err, TP_ERR_VALIDATION,
                       INVALID "SSEType KMS is required if KMSMasterKeyId is specified");
    return 0;
}

/* Enabled (or SSEType KMS without Enabled) means a KMS key; {} and
 * Enabled=false mean AWS's own key, which DescribeTable does not show. */
static int sse_wanted(const cJSON *sse)
{
    const cJSON *en = member(sse, "Enabled");
    return cJSON_IsTrue(en) || (!en && str_eq(tp_json_str(sse, "SSEType"), "KMS"));
}

static cJSON *sse_desc(const tp_req *r, const cJSON *sse)
{
    const char *key = tp_json_str(sse, "KMSMasterKeyId");
    char arn[1100];
    if (key && strncmp(key, "arn:", 4) == 0 && !strstr(key, ":alias/")) {
        snprintf(arn, sizeof arn, "%s", key);
    } else if (key && strncmp(key, "alias/", 6) != 0 && !strstr(key, ":alias/")) {
        snprintf(arn, sizeof arn, "arn:aws:kms:%s:%s:key/%s", r->region, r->account, key);
    } else {
        /* The account's aws/dynamodb key: one stable id per account+region. */
        uint64_t h = 1469598103934665603ull;
        for (const char *p = r->account; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        for (const char *p = r->region; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        snprintf(arn, sizeof arn, "arn:aws:kms:%s:%s:key/%08x-%04x-4%03x-a%03x-%012llx", r->region,
                 r->account, (unsigned)(h >> 32), (unsigned)(h >> 16) & 0xffff,
                 (unsigned)(h >> 4) & 0xfff, (unsigned)(h >> 52) & 0xfff,
                 (unsigned long long)(h & 0xffffffffffffull));
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "Status", "ENABLED");
    cJSON_AddStringToObject(d, "SSEType", "KMS");
    cJSON_AddStringToObject(d, "KMSMasterKeyArn", arn);
    return d;
}

/* --- CreateTable ---------------------------------------------------------- */

static int add_unique(const char **list, int n, int cap, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return n;
    if (n < cap)
        list[n++] = s;
    return n;
}

/* AttributeDefinitions must be exactly the set of key attributes. The
 * "keys used" list starts with the indexes' keys, as AWS's examples show. */
static int check_definitions_used(const cJSON *in, const cJSON *defs, tp_error *err)
{
    enum { CAP = 256 };
    const char *used[CAP];
    int n = 0;
    const cJSON *lsis = member(in, "LocalSecondaryIndexes"), *gsis = member(in, "GlobalSecondaryIndexes");
    const cJSON *idx, *k;
    cJSON_ArrayForEach(idx, gsis) cJSON_ArrayForEach(k, member(idx, "KeySchema"))
    {
        const char *s = tp_json_str(k, "AttributeName");
        if (s)
            n = add_unique(used, n, CAP, s);
    }
    cJSON_ArrayForEach(idx, lsis) cJSON_ArrayForEach(k, member(idx, "KeySchema"))
    {
        const char *s = tp_json_str(k, "AttributeName");
        if (s)
            n = add_unique(used, n, CAP, s);
    }
    cJSON_ArrayForEach(k, member(in, "KeySchema"))
    {
        const char *s = tp_json_str(k, "AttributeName");
        if (s)
            n = add_unique(used, n, CAP, s);
    }
    const cJSON *d;
    int extra = 0;
    cJSON_ArrayForEach(d, defs)
    {
        const char *s = tp_json_str(d, "AttributeName");
        int found = 0;
        for (int i = 0; s && i < n && !found; i++)
            found = strcmp(used[i], s) == 0;
        extra |= !found;
    }
    if (!extra)
        return 0;
    if (!lsis && !gsis)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "Number of attributes in KeySchema does not "
                       "exactly match number of attributes defined in AttributeDefinitions");
    tp_buf dl, ul;
    tp_buf_init(&dl);
    tp_buf_init(&ul);
    names_list(&dl, defs, "AttributeName");
    tp_buf_puts(&ul, "[");
    for (int i = 0; i < n; i++)
        tp_buf_printf(&ul, "%s%s", i ? ", " : "", used[i]);
    tp_buf_puts(&ul, "]");
    tp_fail(err, TP_ERR_VALIDATION,
            INVALID "Some AttributeDefinitions are not used. AttributeDefinitions: %s, keys used: %s",
            dl.data, ul.data);
    tp_buf_free(&dl);
    tp_buf_free(&ul);
    return -1;
}

static int check_index_name_unique(const cJSON *in, const char *name, const cJSON *self, tp_error *err)
{
    static const char *const kinds[] = {"LocalSecondaryIndexes", "GlobalSecondaryIndexes"};
    for (int k = 0; k < 2; k++) {
        const cJSON *idx;
        cJSON_ArrayForEach(idx, member(in, kinds[k]))
        {
            if (idx == self)
                return 0;   /* only earlier entries count: AWS names the second one */
            if (str_eq(tp_json_str(idx, "IndexName"), name))
                return tp_fail(err, TP_ERR_VALIDATION, INVALID "Duplicate index name: %s", name);
        }
    }
    return 0;
}

static int check_lsis(const cJSON *in, const cJSON *defs, tp_error *err)
{
    const cJSON *lsis = member(in, "LocalSecondaryIndexes");
    const cJSON *ks = member(in, "KeySchema");
    const char *table_hash = ks_name(ks, 0);
    if (!lsis)
        return 0;
    if (cJSON_GetArraySize(ks) != 2)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "Table KeySchema does not have a range key, "
                       "which is required when specifying a LocalSecondaryIndex");
    const cJSON *lsi;
    cJSON_ArrayForEach(lsi, lsis)
    {
        const char *name = tp_json_str(lsi, "IndexName");
        const cJSON *lks = member(lsi, "KeySchema");
        if (!name)
            name = "null";
        if (check_keys_defined(lks, defs, defs, err) != 0 || check_pair_schema(lks, err) != 0)
            return -1;
        if (cJSON_GetArraySize(lks) != 2)
            return tp_fail(err, TP_ERR_VALIDATION,
                           INVALID "Index KeySchema does not have a range key for index: %s", name);
        if (strcmp(ks_name(lks, 0), table_hash) != 0)
            return tp_fail(err, TP_ERR_VALIDATION, INVALID "Index KeySchema does not have the same "
                           "leading hash key as table KeySchema for index: %s. index hash key: %s, "
                           "table hash key: %s", name, ks_name(lks, 0), table_hash);
        if (check_projection(member(lsi, "Projection"), err) != 0 ||
            check_index_name_unique(in, name, lsi, err) != 0)
            return -1;
    }
    if (cJSON_GetArraySize(lsis) > MAX_LSI)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "Number of LocalSecondaryIndexes exceeds "
                       "per-table limit of %d", MAX_LSI);
    return 0;
}

static int check_gsis(const cJSON *in, const cJSON *defs, int ppr, tp_error *err)
{
    const cJSON *gsis = member(in, "GlobalSecondaryIndexes");
    const cJSON *gsi;
    cJSON_ArrayForEach(gsi, gsis)
    {
        const char *name = tp_json_str(gsi, "IndexName");
        if (check_gsi(gsi, defs, defs, ppr, 0, err) != 0 ||
            check_index_name_unique(in, name ? name : "null", gsi, err) != 0)
            return -1;
    }
    if (cJSON_GetArraySize(gsis) > MAX_GSI)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "GlobalSecondaryIndex count exceeds the "
                       "per-table limit of %d", MAX_GSI);
    return 0;
}

static int check_stream_create(const cJSON *spec, tp_error *err)
{
    if (!spec)
        return 0;
    int enabled = cJSON_IsTrue(member(spec, "StreamEnabled"));
    const char *view = tp_json_str(spec, "StreamViewType");
    if (enabled && !view)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "Table is being created with a stream "
                       "enabled, UpdateViewType is required");
    if (!enabled && view)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "Table is being created with a stream "
                       "disabled, UpdateViewType should not be specified");
    return 0;
}

/* The request-level checks, in the order AWS applies them (a duplicate
 * name with an invalid payload is a ValidationException, so all of this
 * runs before the existence check). */
static int check_create(const tp_req *r, const cJSON *in, char *name, size_t cap, tp_error *err)
{
    const char *given = tp_json_str(in, "TableName");
    const cJSON *defs = member(in, "AttributeDefinitions"), *ks = member(in, "KeySchema");
    const cJSON *pt = member(in, "ProvisionedThroughput");
    const cJSON *lsis = member(in, "LocalSecondaryIndexes"), *gsis = member(in, "GlobalSecondaryIndexes");
    int ppr = str_eq(tp_json_str(in, "BillingMode"), BILLING_PPR);

    /* Constraint failures AWS reports together (attributeDefinitions,
     * tableName, keySchema, then the indexes' key schemas). */
    violations v;
    viol_init(&v);
    if (!defs)
        viol_add(&v, "Value null at 'attributeDefinitions' failed to satisfy constraint: Member "
                     "must not be null");
    if (given && strncmp(given, "arn:", 4) != 0)
        check_name(given, "tableName", &v);
    if (!ks)
        viol_add(&v, "Value null at 'keySchema' failed to satisfy constraint: Member must not be null");
    else
        check_key_schema_length(ks, "keySchema", &v);
    int i = 1;
    const cJSON *idx;
    cJSON_ArrayForEach(idx, lsis)
    {
        char field[96];
        snprintf(field, sizeof field, "localSecondaryIndexes.%d.member.keySchema", i++);
        if (member(idx, "KeySchema"))
            check_key_schema_length(member(idx, "KeySchema"), field, &v);
    }
    if (viol_fail(&v, err) != 0)
        return -1;
    if (resolve_name(r, given, name, cap, err) != 0)
        return -1;

    if (ppr && pt)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "Neither ReadCapacityUnits nor "
                       "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST");
    if (!ppr && !pt)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "ReadCapacityUnits and WriteCapacityUnits "
                       "must both be specified when BillingMode is PROVISIONED");
    if (check_pt_bounds(pt, err) != 0)
        return -1;
    int nd = cJSON_GetArraySize(defs);
    for (int a = 0; a < nd; a++)
        for (int b = 0; b < a; b++) {
            const char *x = tp_json_str(cJSON_GetArrayItem(defs, a), "AttributeName");
            if (str_eq(x, tp_json_str(cJSON_GetArrayItem(defs, b), "AttributeName")))
                return tp_fail(err, TP_ERR_VALIDATION, "Attribute Name is duplicated: %s", x);
        }
    if (cJSON_GetArraySize(ks) > nd)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid KeySchema: Some index key attribute have no definition");
    if (check_keys_defined(ks, defs, defs, err) != 0 || check_pair_schema(ks, err) != 0)
        return -1;
    if (lsis && cJSON_GetArraySize(lsis) == 0)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "List of LocalSecondaryIndexes is empty");
    if (gsis && cJSON_GetArraySize(gsis) == 0)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "List of GlobalSecondaryIndexes is empty");
    if (check_definitions_used(in, defs, err) != 0 || check_lsis(in, defs, err) != 0 ||
        check_gsis(in, defs, ppr, err) != 0 ||
        check_stream_create(member(in, "StreamSpecification"), err) != 0 ||
        check_sse(member(in, "SSESpecification"), err) != 0)
        return -1;
    const cJSON *odt = member(in, "OnDemandThroughput");
    if (!ppr && cJSON_IsObject(odt) && odt->child)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "%s for OnDemandThroughput cannot be "
                       "specified when the table BillingMode is PROVISIONED",
                       member(odt, "MaxReadRequestUnits") ? "MaxReadRequestUnits" : "MaxWriteRequestUnits");
    if (member(in, "Tags") && ddb_tags_check(member(in, "Tags"), 1, err) != 0)
        return -1;
    return 0;
}

static cJSON *build_desc(const tp_req *r, const cJSON *in, const char *name, const char *table_id)
{
    const char *bm = tp_json_str(in, "BillingMode");
    int ppr = str_eq(bm, BILLING_PPR);
    const cJSON *pt = member(in, "ProvisionedThroughput");
    int64_t rcu = ppr ? 0 : num(pt, "ReadCapacityUnits"), wcu = ppr ? 0 : num(pt, "WriteCapacityUnits");
    char arn[1024];
    ddb_table_arn(r, name, arn, sizeof arn);

    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToObject(d, "AttributeDefinitions", sorted_copy(member(in, "AttributeDefinitions")));
    cJSON_AddStringToObject(d, "TableName", name);
    cJSON_AddItemToObject(d, "KeySchema", cJSON_Duplicate(member(in, "KeySchema"), 1));
    cJSON_AddNumberToObject(d, "CreationDateTime", epoch_s(r->now_ms));
    cJSON_AddItemToObject(d, "ProvisionedThroughput", pt_make(0, 0, 0, rcu, wcu));
    cJSON_AddStringToObject(d, "TableArn", arn);
    cJSON_AddStringToObject(d, "TableId", table_id);
    if (bm) {
        cJSON *s = cJSON_AddObjectToObject(d, "BillingModeSummary");
        cJSON_AddStringToObject(s, "BillingMode", bm);
        if (ppr)
            cJSON_AddNumberToObject(s, "LastUpdateToPayPerRequestDateTime", epoch_s(r->now_ms));
    }
    const cJSON *idx;
    if (member(in, "LocalSecondaryIndexes")) {
        cJSON *arr = cJSON_AddArrayToObject(d, "LocalSecondaryIndexes");
        cJSON_ArrayForEach(idx, member(in, "LocalSecondaryIndexes"))
            cJSON_AddItemToArray(arr, lsi_desc(r, name, idx));
    }
    if (member(in, "GlobalSecondaryIndexes")) {
        cJSON *arr = cJSON_AddArrayToObject(d, "GlobalSecondaryIndexes");
        cJSON_ArrayForEach(idx, member(in, "GlobalSecondaryIndexes"))
            cJSON_AddItemToArray(arr, gsi_desc(r, name, idx, ppr, "CREATING", -1));
    }
    const cJSON *spec = member(in, "StreamSpecification");
    if (cJSON_IsTrue(member(spec, "StreamEnabled")))
        stream_enable(r, d, tp_json_str(spec, "StreamViewType"));
    if (sse_wanted(member(in, "SSESpecification")))
        cJSON_AddItemToObject(d, "SSEDescription", sse_desc(r, member(in, "SSESpecification")));
    const char *cls = tp_json_str(in, "TableClass");
    if (cls) {
        /* Only a TableClass sent at create makes the summary appear. */
        cJSON *s = cJSON_AddObjectToObject(d, "TableClassSummary");
        cJSON_AddStringToObject(s, "TableClass", cls);
    }
    cJSON_AddBoolToObject(d, "DeletionProtectionEnabled",
                          tp_json_bool(in, "DeletionProtectionEnabled", 0));
    const cJSON *odt = member(in, "OnDemandThroughput");
    if (ppr && cJSON_IsObject(odt) && odt->child)
        cJSON_AddItemToObject(d, "OnDemandThroughput", cJSON_Duplicate(odt, 1));
    warm_raise(d, ppr ? PPR_WARM_READ : rcu, ppr ? PPR_WARM_WRITE : wcu);
    return d;
}

static int insert_tags(tp_core *core, int64_t id, const cJSON *tags)
{
    static const char sql[] = "INSERT OR REPLACE INTO ddb_tags(table_id, key, value) VALUES(?1, ?2, ?3)";
    const cJSON *t;
    cJSON_ArrayForEach(t, tags)
    {
        sqlite3_stmt *st = stmt(core, sql);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, tp_json_str(t, "Key"), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, tp_json_str(t, "Value"), -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

int ddb_create_table(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    char name[256];
    if (check_create(r, in, name, sizeof name, err) != 0)
        return -1;
    ddb_table t;
    int rc = ddb_table_find(r, name, &t, err);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        int creating = str_eq(t.status, "CREATING");
        ddb_table_release(&t);
        return creating ? tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Table is being created: %s", name)
                        : tp_fail(err, TP_ERR_RESOURCE_IN_USE, "Table already exists: %s", name);
    }

    char uuid[37];
    tp_rng_uuid(&r->core->rng, uuid);
    cJSON *desc = build_desc(r, in, name, uuid);
    const cJSON *defs = member(desc, "AttributeDefinitions"), *ks = member(desc, "KeySchema");
    const char *hash = ks_name(ks, 0), *range = cJSON_GetArraySize(ks) > 1 ? ks_name(ks, 1) : "";
    char ht[2] = {def_type(defs, hash), 0}, rt[2] = {*range ? def_type(defs, range) : 0, 0};

    static const char sql[] =
        "INSERT INTO ddb_tables(account, region, name, status, hash_name, hash_type, range_name,"
        " range_type, created_ms, desc) VALUES(?1, ?2, ?3, 'CREATING', ?4, ?5, ?6, ?7, ?8, ?9)";
    char *text = tp_json_print(desc);
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st || !text) {
        free(text);
        cJSON_Delete(desc);
        return storage_error(r->core, err);
    }
    sqlite3_bind_text(st, 1, r->account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, r->region, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, ht, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, range, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, rt, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 8, r->now_ms);
    sqlite3_bind_text(st, 9, text, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(text);
    int64_t id = sqlite3_last_insert_rowid(tp_store_db(r->core->store));
    if (rc != SQLITE_DONE || insert_tags(r->core, id, member(in, "Tags")) != 0) {
        cJSON_Delete(desc);
        return storage_error(r->core, err);
    }
    /* The stream exists from now (streams_table_sync may move its label by a
     * millisecond to keep ARNs unique: then the stored desc follows). */
    if (member(desc, "LatestStreamArn")) {
        char *before = tp_json_print(desc);
        int moved = 0;
        rc = streams_table_sync(r, id, name, desc, err);
        if (rc == 0) {
            char *after = tp_json_print(desc);
            moved = !before || !after || strcmp(before, after) != 0;
            free(after);
        }
        free(before);
        if (rc == 0 && moved && save(r->core, id, "CREATING", desc, NULL, 0) != 0)
            rc = storage_error(r->core, err);
        if (rc != 0) {
            cJSON_Delete(desc);
            return -1;
        }
    }

    /* The create response is the description as it stands while CREATING;
     * AWS leaves WarmThroughput (filled in by the first DescribeTable) and
     * an unrequested DeletionProtectionEnabled out of it. */
    cJSON *td = describe(desc, "CREATING", 0, 0, r->now_ms);
    cJSON_Delete(desc);
    cJSON_DeleteItemFromObjectCaseSensitive(td, "WarmThroughput");
    const cJSON *g;
    cJSON_ArrayForEach(g, member(td, "GlobalSecondaryIndexes"))
        cJSON_DeleteItemFromObjectCaseSensitive((cJSON *)g, "WarmThroughput");
    if (!member(in, "DeletionProtectionEnabled"))
        cJSON_DeleteItemFromObjectCaseSensitive(td, "DeletionProtectionEnabled");
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "TableDescription", td);
    return finish(r, id, "create_delay_ms", err);
}

/* --- DescribeTable, ListTables -------------------------------------------- */

int ddb_describe_table(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    ddb_table t;
    if (ddb_table_load(r, tp_json_str(in, "TableName"), &t, err) != 0)
        return -1;
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "Table", ddb_table_describe(r, &t));
    ddb_table_release(&t);
    return 0;
}

int ddb_list_tables(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    /* Names in byte order (SQLite's BINARY collation), tables in every
     * status; the start name need not exist. */
    static const char sql[] = "SELECT name FROM ddb_tables WHERE account=?1 AND region=?2"
                              " AND name > ?3 ORDER BY name LIMIT ?4";
    int64_t limit = tp_json_int(in, "Limit", 100);
    const char *start = tp_json_str(in, "ExclusiveStartTableName");
    if (limit < 1 || limit > 100)
        limit = 100;
    sqlite3_stmt *st = stmt(r->core, sql);
    if (!st)
        return storage_error(r->core, err);
    sqlite3_bind_text(st, 1, r->account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, r->region, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, start ? start : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, limit + 1);   /* one more tells whether to set the cursor */
    *out = cJSON_CreateObject();
    cJSON *names = cJSON_AddArrayToObject(*out, "TableNames");
    int64_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (n++ == limit) {
            cJSON *last = cJSON_GetArrayItem(names, cJSON_GetArraySize(names) - 1);
            cJSON_AddStringToObject(*out, "LastEvaluatedTableName", last->valuestring);
            break;
        }
        cJSON_AddItemToArray(names, cJSON_CreateString(name ? name : ""));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return storage_error(r->core, err);
    return 0;
}

/* --- DeleteTable ---------------------------------------------------------- */

static const char *busy_index(const cJSON *desc, const char *status)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, member(desc, "GlobalSecondaryIndexes"))
    {
        const char *s = tp_json_str(g, "IndexStatus");
        if (status ? str_eq(s, status) : !str_eq(s, "ACTIVE"))
            return tp_json_str(g, "IndexName");
    }
    return NULL;
}

static int set_counts(tp_core *core, int64_t id, const char *status)
{
    static const char sql[] =
        "UPDATE ddb_tables SET status=?1, item_count=0, size_bytes=0 WHERE id=?2";
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int ddb_delete_table(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    ddb_table t;
    if (ddb_table_load(r, tp_json_str(in, "TableName"), &t, err) != 0)
        return -1;
    int rc = 0;
    cJSON *pending = NULL;
    if (str_eq(t.status, "CREATING")) {
        rc = tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Table is being created: %s", t.name);
    } else if (str_eq(t.status, "DELETING")) {
        rc = tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Table is being deleted: %s", t.name);
    } else if (cJSON_IsTrue(member(t.desc, "DeletionProtectionEnabled"))) {
        rc = tp_fail(err, TP_ERR_VALIDATION, "Resource cannot be deleted as it is currently "
                     "protected against deletion. Disable deletion protection first.");
    } else if ((pending = load_pending(r->core, t.id)),
               str_eq(tp_json_str(pending, "Kind"), "STREAM")) {
        rc = tp_fail(err, TP_ERR_RESOURCE_IN_USE,
                     IN_USE "Cannot delete table while stream is being enabled/disabled.");
    } else if (busy_index(t.desc, NULL)) {
        rc = tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Cannot delete table while indexes are "
                     "being created, updated, or deleted.");
    } else if (str_eq(t.status, "UPDATING")) {
        rc = tp_fail(err, TP_ERR_RESOURCE_IN_USE,
                     IN_USE "Table: %s is in the process of being updated.", t.name);
    }
    cJSON_Delete(pending);
    if (rc != 0) {
        ddb_table_release(&t);
        return rc;
    }
    /* A table with point-in-time recovery leaves a SYSTEM backup (backup.c). */
    if (ddb_backup_table_deleting(r, &t, err) != 0) {
        ddb_table_release(&t);
        return -1;
    }
    /* Items and tags go now, in this transaction; the row (which keeps the
     * name taken while DELETING) goes when the delete delay ends. GSIs are
     * no longer described once deletion starts. */
    cJSON_DeleteItemFromObjectCaseSensitive(t.desc, "GlobalSecondaryIndexes");
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "TableDescription",
                          describe(t.desc, "DELETING", t.item_count, t.size_bytes, r->now_ms));
    static const char del_items[] = "DELETE FROM ddb_items WHERE table_id=?1";
    static const char del_tags[] = "DELETE FROM ddb_tags WHERE table_id=?1";
    const char *const sqls[] = {del_items, del_tags};
    for (int i = 0; i < 2 && rc == 0; i++) {
        sqlite3_stmt *st = stmt(r->core, sqls[i]);
        if (!st) {
            rc = -1;
            break;
        }
        sqlite3_bind_int64(st, 1, t.id);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(st);
    }
    if (rc == 0)
        rc = ddb_index_drop(r->core, t.id, NULL);
    /* The table's stream goes DISABLED and stays readable until retention
     * ends (streams_trim). */
    if (rc == 0 && member(t.desc, "LatestStreamArn") &&
        streams_table_sync(r, t.id, t.name, NULL, err) != 0) {
        ddb_table_release(&t);
        return -1;
    }
    if (rc == 0)
        rc = save(r->core, t.id, "DELETING", t.desc, NULL, 0);
    if (rc == 0)
        rc = set_counts(r->core, t.id, "DELETING");
    int64_t id = t.id;
    ddb_table_release(&t);
    if (rc != 0)
        return storage_error(r->core, err);
    return finish(r, id, "delete_delay_ms", err);
}

/* --- UpdateTable ---------------------------------------------------------- */

/* What one UpdateTable asks for. */
typedef struct update_req {
    const cJSON *pt, *gsiu, *stream, *sse, *odt, *warm, *replicas, *defs;
    const char *billing, *cls;
    int has_dp, dp;
    int creates, deletes, updates;   /* GSI actions */
    int concerns;                    /* distinct members that change something */
} update_req;

static int nonempty_obj(const cJSON *o) { return cJSON_IsObject(o) && o->child; }

static void read_update(const cJSON *in, update_req *u)
{
    memset(u, 0, sizeof *u);
    u->pt = member(in, "ProvisionedThroughput");
    u->gsiu = member(in, "GlobalSecondaryIndexUpdates");
    u->stream = member(in, "StreamSpecification");
    u->sse = member(in, "SSESpecification");
    u->odt = member(in, "OnDemandThroughput");
    u->warm = member(in, "WarmThroughput");
    u->replicas = member(in, "ReplicaUpdates");
    u->defs = member(in, "AttributeDefinitions");
    u->billing = tp_json_str(in, "BillingMode");
    u->cls = tp_json_str(in, "TableClass");
    u->has_dp = cJSON_IsBool(member(in, "DeletionProtectionEnabled"));
    u->dp = tp_json_bool(in, "DeletionProtectionEnabled", 0);
    /* An empty struct is "absent" for WarmThroughput / OnDemandThroughput
     * (AWS drops it), as is an empty list of index updates. */
    if (!nonempty_obj(u->warm))
        u->warm = NULL;
    if (!nonempty_obj(u->odt))
        u->odt = NULL;
    if (cJSON_GetArraySize(u->replicas) == 0)
        u->replicas = NULL;
    const void *present[] = {u->pt, u->billing, u->stream, cJSON_GetArraySize(u->gsiu) ? u->gsiu : NULL,
                             u->sse, u->replicas, u->cls, u->has_dp ? u : NULL, u->odt, u->warm};
    for (size_t i = 0; i < sizeof present / sizeof present[0]; i++)
        u->concerns += present[i] != NULL;
    const cJSON *e;
    cJSON_ArrayForEach(e, u->gsiu)
    {
        u->creates += member(e, "Create") != NULL;
        u->deletes += member(e, "Delete") != NULL;
        u->updates += member(e, "Update") != NULL;
    }
}

static const char *action_index(const cJSON *e, const cJSON **action, const char **kind)
{
    static const char *const kinds[] = {"Update", "Create", "Delete"};
    for (int k = 0; k < 3; k++) {
        const cJSON *a = member(e, kinds[k]);
        if (a) {
            if (action)
                *action = a;
            if (kind)
                *kind = kinds[k];
            return tp_json_str(a, "IndexName");
        }
    }
    return NULL;
}

/* Checks that need no table: AWS answers these even for a missing one. */
static int check_update_request(const cJSON *in, const update_req *u, tp_error *err)
{
    if (u->concerns == 0)
        return tp_fail(err, TP_ERR_VALIDATION, "At least one of ProvisionedThroughput, BillingMode, "
                       "UpdateStreamEnabled, GlobalSecondaryIndexUpdates, SSESpecification, "
                       "ReplicaUpdates, MultiAccountReplicaReady, ReplicaTransitRoleArn, %s"
                       "DeletionProtectionEnabled, OnDemandThroughput, WarmThroughput or TableClass "
                       "is required",
                       member(in, "MultiRegionConsistency") ? "" : "MultiRegionConsistency, ");
    if (u->gsiu && cJSON_GetArraySize(u->gsiu) == 0)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "List of GlobalSecondaryIndexUpdates is empty");
    /* One logical change per call; AWS names SSE, then TableClass, then
     * DeletionProtection, then WarmThroughput. */
    if (u->concerns > 1) {
        if (u->sse)
            return tp_fail(err, TP_ERR_VALIDATION, INVALID "Server-Side Encryption modification "
                           "must be the only operation in the request");
        if (u->cls)
            return tp_fail(err, TP_ERR_VALIDATION,
                           INVALID "TableClass modification must be the only operation in the request");
        if (u->has_dp)
            return tp_fail(err, TP_ERR_VALIDATION, INVALID "DeletionProtection modification must be "
                           "the only operation in the request");
        if (u->warm)
            return tp_fail(err, TP_ERR_VALIDATION,
                           INVALID "WarmThroughput must be the only operation in the request");
        if (u->replicas)
            return tp_fail(err, TP_ERR_VALIDATION,
                           INVALID "Replica modification must be the only operation in the request");
        if (u->odt && u->concerns - (u->billing != NULL) > 1)
            return tp_fail(err, TP_ERR_VALIDATION, INVALID "OnDemandThroughput can only be "
                           "combined with BillingMode in an UpdateTable request");
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, u->gsiu)
    {
        int actions = (member(e, "Update") != NULL) + (member(e, "Create") != NULL) +
                      (member(e, "Delete") != NULL);
        if (actions == 0)
            return tp_fail(err, TP_ERR_VALIDATION, INVALID "One of GlobalSecondaryIndexUpdate.Update, "
                           "GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must "
                           "not be null");
        if (actions > 1)
            return tp_fail(err, TP_ERR_VALIDATION, INVALID "Only one global secondary index action is "
                           "allowed per GlobalSecondaryIndexUpdate object");
    }
    int n = cJSON_GetArraySize(u->gsiu);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) {
            const char *a = action_index(cJSON_GetArrayItem(u->gsiu, i), NULL, NULL);
            if (str_eq(a, action_index(cJSON_GetArrayItem(u->gsiu, j), NULL, NULL)))
                return tp_fail(err, TP_ERR_VALIDATION, INVALID "Only one global secondary index "
                               "update per index is allowed simultaneously. Index: %s", a);
        }
    int iops = u->pt || str_eq(u->billing, "PROVISIONED");
    if (u->stream && iops)
        return tp_fail(err, TP_ERR_VALIDATION,
                       INVALID "You cannot modify stream status while updating table IOPS");
    if ((u->creates || u->deletes) && u->pt)
        return tp_fail(err, TP_ERR_VALIDATION,
                       INVALID "You cannot create or delete index while updating table IOPS");
    if ((u->creates || u->deletes) && u->stream)
        return tp_fail(err, TP_ERR_VALIDATION,
                       INVALID "You cannot create or delete index while changing stream status");
    if (u->stream) {
        int enabled = cJSON_IsTrue(member(u->stream, "StreamEnabled"));
        const char *view = tp_json_str(u->stream, "StreamViewType");
        if (enabled && !view)
            return tp_fail(err, TP_ERR_VALIDATION,
                           INVALID "If stream is being enabled then UpdateViewType is required");
        if (!enabled && view)
            return tp_fail(err, TP_ERR_VALIDATION, INVALID "If stream is being disabled, then "
                           "UpdateViewType must not be specified");
    }
    if (str_eq(u->billing, BILLING_PPR) && u->pt)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "Neither ReadCapacityUnits nor "
                       "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST");
    if (check_pt_bounds(u->pt, err) != 0 || check_sse(u->sse, err) != 0)
        return -1;
    return 0;
}

/* An index Update's throughput bounds: judged once the table is known to
 * exist (an out-of-bounds index capacity on a missing table is
 * ResourceNotFoundException), unlike the table's own bounds. */
static int check_index_bounds(const update_req *u, tp_error *err)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, u->gsiu)
    {
        const cJSON *up = member(e, "Update");
        const cJSON *upt = member(up, "ProvisionedThroughput");
        const char *iname = tp_json_str(up, "IndexName");
        if (!upt)
            continue;
        if (num(upt, "ReadCapacityUnits") > PT_MAX)
            return tp_fail(err, TP_ERR_VALIDATION, "Given value %" PRId64 " for ReadCapacityUnits is "
                           "out of bounds for index %s", num(upt, "ReadCapacityUnits"), iname);
        if (num(upt, "WriteCapacityUnits") > PT_MAX)
            return tp_fail(err, TP_ERR_VALIDATION, "Given value %" PRId64 " for WriteCapacityUnits is "
                           "out of bounds for index %s", num(upt, "WriteCapacityUnits"), iname);
    }
    return 0;
}

static cJSON *find_index(const cJSON *desc, const char *kind, const char *name)
{
    cJSON *idx;
    cJSON_ArrayForEach(idx, member(desc, kind))
    {
        if (str_eq(tp_json_str(idx, "IndexName"), name))
            return idx;
    }
    return NULL;
}

/* Changes another transition in progress rules out, with the blocking
 * state named as AWS words it. */
static int check_busy(const ddb_table *t, const cJSON *pending, const update_req *u, int switching,
                      tp_error *err)
{
    const char *kind = tp_json_str(pending, "Kind");
    const char *creating = busy_index(t->desc, "CREATING"), *deleting = busy_index(t->desc, "DELETING");
    const char *label = tp_json_str(t->desc, "LatestStreamLabel");
    const char *op = tp_json_str(pending, "StreamOp");
    const char *cls = tp_json_str(pending, "TableClass");
    int iops = u->pt != NULL || switching;
    if (iops) {
        if (creating || deleting)
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Can't change table IOPS when an index "
                           "is being %s. Table: %s Indexes: [%s]", creating ? "created" : "deleted",
                           t->name, creating ? creating : deleting);
        if (str_eq(kind, "IOPS"))
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE,
                           IN_USE "Table IOPS are currently being updated. Table: %s", t->name);
        if (str_eq(kind, "STREAM"))
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Can't change table IOPS when stream "
                           "status is being updated. Table: %s Stream: %s Operation: %s", t->name,
                           label ? label : "", op ? op : "ENABLE");
        if (str_eq(kind, "CLASS"))
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Can't change table IOPS when a table "
                           "class update is in progress. Table: %s TableClassUpdateInProgress: %s",
                           t->name, cls ? cls : "");
    }
    if (u->stream) {
        if (creating || deleting)
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Can't change stream status when an "
                           "index is being %s. Table: %s Indexes: [%s]", creating ? "created" : "deleted",
                           t->name, creating ? creating : deleting);
        if (str_eq(kind, "IOPS"))
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Can't enable or disable stream while "
                           "table IOPS are being updated. Table: %s", t->name);
        if (str_eq(kind, "STREAM"))
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "A stream status change is currently in "
                           "progress. Table: %s Stream: %s Operation: %s", t->name, label ? label : "",
                           op ? op : "ENABLE");
        if (str_eq(kind, "CLASS"))
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Can't change stream status when a "
                           "table class update is in progress. Table: %s TableClassUpdateInProgress: %s",
                           t->name, cls ? cls : "");
    }
    if (u->creates || u->deletes) {
        if (str_eq(kind, "IOPS"))
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Can't create or delete indexes while "
                           "table IOPS are being updated. Table: %s", t->name);
        if (str_eq(kind, "STREAM"))
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE,
                           IN_USE "Can't create or delete an index when stream status is being updated.");
        if (str_eq(kind, "CLASS"))
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Can't create or delete an index when a "
                           "table class update is in progress.");
    }
    if (u->cls && kind) {
        if (str_eq(kind, "CLASS"))
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Can't update table class when a table "
                           "class update is in progress. Table: %s TableClassUpdateInProgress: %s",
                           t->name, cls ? cls : "");
        return tp_fail(err, TP_ERR_RESOURCE_IN_USE,
                       IN_USE "Table: %s is in the process of being updated.", t->name);
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, u->gsiu)
    {
        const cJSON *a = NULL;
        const char *k = NULL, *iname = action_index(e, &a, &k);
        const cJSON *g = find_index(t->desc, "GlobalSecondaryIndexes", iname);
        const char *ist = tp_json_str(g, "IndexStatus");
        if (!g || str_eq(k, "Create"))
            continue;
        if (str_eq(ist, "DELETING"))
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE,
                           IN_USE "Index is being deleted. Table: %s Index: %s", t->name, iname);
        if (str_eq(ist, "UPDATING"))
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE,
                           IN_USE "Index is being updated. Table: %s Index: %s", t->name, iname);
        if (str_eq(ist, "CREATING") && str_eq(k, "Delete"))
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Index creation is in resource "
                           "allocation phase. Retry deletion during backfilling phase or when the index "
                           "is active. Table: %s Index: %s", t->name, iname);
        if (str_eq(ist, "CREATING"))
            return tp_fail(err, TP_ERR_RESOURCE_IN_USE,
                           IN_USE "Index is being created. Table: %s Index: %s", t->name, iname);
    }
    if ((u->creates || u->deletes) && (creating || deleting))
        return tp_fail(err, TP_ERR_LIMIT_EXCEEDED, "Subscriber limit exceeded: Only 1 online index "
                       "can be created or deleted simultaneously per table");
    return 0;
}

static int pt_same(const cJSON *cur, const cJSON *want)
{
    return num(cur, "ReadCapacityUnits") == num(want, "ReadCapacityUnits") &&
           num(cur, "WriteCapacityUnits") == num(want, "WriteCapacityUnits");
}

static const cJSON *update_for(const update_req *u, const char *index)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, u->gsiu)
    {
        const cJSON *up = member(e, "Update");
        if (up && str_eq(tp_json_str(up, "IndexName"), index))
            return up;
    }
    return NULL;
}

/* Billing and throughput rules against the table as it is. */
static int check_throughput(const ddb_table *t, const update_req *u, int cur_ppr, int target_ppr,
                            tp_error *err)
{
    if (target_ppr && u->pt)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "Neither ReadCapacityUnits nor "
                       "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST");
    if (str_eq(u->billing, "PROVISIONED") && !u->pt)
        return tp_fail(err, TP_ERR_VALIDATION,
                       INVALID "ProvisionedThroughput must be specified when BillingMode is PROVISIONED");
    if (!target_ppr && u->odt)
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "%s for OnDemandThroughput cannot be specified "
                       "when the table BillingMode is PROVISIONED",
                       member(u->odt, "MaxReadRequestUnits") ? "MaxReadRequestUnits" : "MaxWriteRequestUnits");
    if (cur_ppr && !target_ppr) {
        /* Nothing is auto-assigned: every GSI needs its throughput now. */
        const cJSON *g;
        cJSON_ArrayForEach(g, member(t->desc, "GlobalSecondaryIndexes"))
        {
            const char *iname = tp_json_str(g, "IndexName");
            if (str_eq(tp_json_str(g, "IndexStatus"), "DELETING"))
                continue;
            if (!member(update_for(u, iname), "ProvisionedThroughput"))
                return tp_fail(err, TP_ERR_VALIDATION,
                               INVALID "ProvisionedThroughput must be specified for index: %s", iname);
        }
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, u->gsiu)
    {
        const cJSON *up = member(e, "Update");
        const char *iname = tp_json_str(up, "IndexName");
        if (!up)
            continue;
        if (target_ppr && (member(up, "ProvisionedThroughput") || !member(up, "OnDemandThroughput")) &&
            !member(up, "WarmThroughput"))
            return tp_fail(err, TP_ERR_VALIDATION, INVALID "The only Updates for index: %s when "
                           "TableThroughputMode is PAY_PER_REQUEST can be to OnDemandThroughput, "
                           "WarmThroughput", iname);
        if (!target_ppr && !member(up, "ProvisionedThroughput"))
            return tp_fail(err, TP_ERR_VALIDATION,
                           INVALID "ProvisionedThroughput must be specified for index: %s", iname);
    }
    if (u->pt && !cur_ppr && pt_same(member(t->desc, "ProvisionedThroughput"), u->pt)) {
        const cJSON *cur = member(t->desc, "ProvisionedThroughput");
        return tp_fail(err, TP_ERR_VALIDATION, "The provisioned throughput for the table will not "
                       "change. The requested value equals the current value. Current ReadCapacityUnits "
                       "provisioned for the table: %" PRId64 ". Requested ReadCapacityUnits: %" PRId64
                       ". Current WriteCapacityUnits provisioned for the table: %" PRId64 ". Requested "
                       "WriteCapacityUnits: %" PRId64 ". Refer to the Amazon DynamoDB Developer Guide "
                       "for current limits and how to request higher limits.",
                       num(cur, "ReadCapacityUnits"), num(u->pt, "ReadCapacityUnits"),
                       num(cur, "WriteCapacityUnits"), num(u->pt, "WriteCapacityUnits"));
    }
    return 0;
}

/* GSI Update / Create / Delete actions against the table's indexes. */
static int check_index_actions(const ddb_table *t, const update_req *u, int target_ppr, int cur_ppr,
                               tp_error *err)
{
    if (u->creates + u->deletes > 1)
        return tp_fail(err, TP_ERR_LIMIT_EXCEEDED, "Subscriber limit exceeded: Only 1 online index "
                       "can be created or deleted simultaneously per table");
    const cJSON *e;
    cJSON_ArrayForEach(e, u->gsiu)
    {
        const cJSON *a = NULL;
        const char *k = NULL, *iname = action_index(e, &a, &k);
        const cJSON *g = find_index(t->desc, "GlobalSecondaryIndexes", iname);
        int lsi = find_index(t->desc, "LocalSecondaryIndexes", iname) != NULL;
        if (str_eq(k, "Create")) {
            if (g || lsi)
                return tp_fail(err, TP_ERR_VALIDATION, "Attempting to create an index which already exists");
            if (!u->defs)
                return tp_fail(err, TP_ERR_VALIDATION,
                               INVALID "AttributeDefinitions is not specified for index: %s", iname);
            /* A key attribute may be defined by the request or already by
             * the table; the request's list is the one AWS quotes. */
            cJSON *all = cJSON_Duplicate(member(t->desc, "AttributeDefinitions"), 1);
            const cJSON *d;
            cJSON_ArrayForEach(d, u->defs) cJSON_AddItemToArray(all, cJSON_Duplicate(d, 1));
            int rc = check_gsi(a, all, u->defs, target_ppr, 1, err);
            cJSON_Delete(all);
            if (rc != 0)
                return -1;
            if (cJSON_GetArraySize(member(t->desc, "GlobalSecondaryIndexes")) >= MAX_GSI)
                return tp_fail(err, TP_ERR_LIMIT_EXCEEDED, "Subscriber limit exceeded: Number of "
                               "global secondary indexes exceeds per-table limit of %d", MAX_GSI);
            continue;
        }
        if (!g && lsi)
            return tp_fail(err, TP_ERR_VALIDATION, "Cannot %s an index that is not a "
                           "GlobalSecondaryIndex: %s", str_eq(k, "Delete") ? "delete" : "update", iname);
        if (!g)
            return tp_fail(err, TP_ERR_RESOURCE_NOT_FOUND,
                           "Requested resource not found: Index %s for table %s", iname, t->name);
        const cJSON *upt = member(a, "ProvisionedThroughput");
        if (str_eq(k, "Update") && upt && !cur_ppr &&
            pt_same(member(g, "ProvisionedThroughput"), upt)) {
            const cJSON *cur = member(g, "ProvisionedThroughput");
            return tp_fail(err, TP_ERR_VALIDATION, "The provisioned throughput for the index %s will "
                           "not change. The requested value equals the current value. Current "
                           "ReadCapacityUnits provisioned for index %s: %" PRId64 ". Requested "
                           "ReadCapacityUnits: %" PRId64 ". Current WriteCapacityUnits provisioned for "
                           "index %s: %" PRId64 ". Requested WriteCapacityUnits: %" PRId64 ". Refer to "
                           "the Amazon DynamoDB Developer Guide for current limits and how to request "
                           "higher limits.", iname, iname, num(cur, "ReadCapacityUnits"),
                           num(upt, "ReadCapacityUnits"), iname, num(cur, "WriteCapacityUnits"),
                           num(upt, "WriteCapacityUnits"));
        }
    }
    return 0;
}

/* New key attributes of a created GSI join AttributeDefinitions; unused
 * request entries are ignored, as AWS ignores them. */
static void add_definitions(cJSON *desc, const cJSON *ks, const cJSON *defs)
{
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(desc, "AttributeDefinitions");
    const cJSON *k;
    cJSON_ArrayForEach(k, ks)
    {
        const char *n = tp_json_str(k, "AttributeName");
        char type = def_type(defs, n);
        if (!n || def_type(cur, n) || !type)
            continue;
        cJSON *d = cJSON_CreateObject();
        char ty[2] = {type, 0};
        cJSON_AddStringToObject(d, "AttributeName", n);
        cJSON_AddStringToObject(d, "AttributeType", ty);
        cJSON_AddItemToArray(cur, d);
    }
    put(desc, "AttributeDefinitions", sorted_copy(cur));
}

static int64_t current_due(tp_core *core, int64_t id)
{
    static const char sql[] = "SELECT status_due_ms FROM ddb_tables WHERE id=?1";
    sqlite3_stmt *st = stmt(core, sql);
    int64_t due = 0;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW)
            due = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    return due;
}

/* Sets every index's throughput at once (billing switches). */
static void all_gsi_pt(cJSON *desc, const update_req *u, int ppr)
{
    cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(desc, "GlobalSecondaryIndexes"))
    {
        const cJSON *upt = member(update_for(u, tp_json_str(g, "IndexName")), "ProvisionedThroughput");
        int64_t rcu = ppr ? 0 : num(upt, "ReadCapacityUnits"), wcu = ppr ? 0 : num(upt, "WriteCapacityUnits");
        const cJSON *old = member(g, "ProvisionedThroughput");
        put(g, "ProvisionedThroughput",
            pt_make(num_d(old, "LastIncreaseDateTime"), num_d(old, "LastDecreaseDateTime"),
                    num(old, "NumberOfDecreasesToday"), rcu, wcu));
        warm_raise(g, ppr ? PPR_WARM_READ : rcu, ppr ? PPR_WARM_WRITE : wcu);
    }
}

int ddb_update_table(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    update_req u;
    char name[256];
    read_update(in, &u);
    if (resolve_name(r, tp_json_str(in, "TableName"), name, sizeof name, err) != 0 ||
        check_update_request(in, &u, err) != 0)
        return -1;
    ddb_table t;
    if (ddb_table_load(r, name, &t, err) != 0)
        return -1;
    if (check_index_bounds(&u, err) != 0) {
        ddb_table_release(&t);
        return -1;
    }
    cJSON *pending = load_pending(r->core, t.id);
    int cur_ppr = is_ppr(t.desc);
    int target_ppr = u.billing ? str_eq(u.billing, BILLING_PPR) : cur_ppr;
    int switching = u.billing && target_ppr != cur_ppr;
    const cJSON *spec = member(t.desc, "StreamSpecification");
    int stream_on = cJSON_IsTrue(member(spec, "StreamEnabled"));
    int rc = 0;

    if (str_eq(t.status, "CREATING"))
        rc = tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Table is being created: %s", t.name);
    else if (str_eq(t.status, "DELETING"))
        rc = tp_fail(err, TP_ERR_RESOURCE_IN_USE, IN_USE "Table is being deleted: %s", t.name);
    else if (check_busy(&t, pending, &u, switching, err) != 0 ||
             check_throughput(&t, &u, cur_ppr, target_ppr, err) != 0)
        rc = -1;
    else if (u.stream && cJSON_IsTrue(member(u.stream, "StreamEnabled")) && stream_on)
        rc = tp_fail(err, TP_ERR_VALIDATION, "Table already has an enabled stream: TableName: %s", t.name);
    else if (u.stream && !cJSON_IsTrue(member(u.stream, "StreamEnabled")) && !stream_on)
        rc = tp_fail(err, TP_ERR_VALIDATION, "Table has no stream to disable: TableName: %s", t.name);
    else if (check_index_actions(&t, &u, target_ppr, cur_ppr, err) != 0)
        rc = -1;
    else if (u.sse && !sse_wanted(u.sse) && !member(t.desc, "SSEDescription"))
        rc = tp_fail(err, TP_ERR_VALIDATION, INVALID "Table is already encrypted by default");
    if (rc != 0) {
        cJSON_Delete(pending);
        ddb_table_release(&t);
        return rc;
    }

    /* Apply. `updating` is the status the response and the row show;
     * `echo` marks a no-op AWS still answers with UPDATING. */
    const char *kind = NULL;
    int updating = 0, echo = 0, index_work = 0;   /* updating: a new table transition */
    cJSON *desc = t.desc;
    if (u.has_dp)
        put(desc, "DeletionProtectionEnabled", cJSON_CreateBool(u.dp));
    if (u.sse) {
        if (sse_wanted(u.sse))
            put(desc, "SSEDescription", sse_desc(r, u.sse));
        else
            cJSON_DeleteItemFromObjectCaseSensitive(desc, "SSEDescription");
    }
    if (u.odt)
        put(desc, "OnDemandThroughput", cJSON_Duplicate(u.odt, 1));
    if (switching) {
        const cJSON *old = member(desc, "BillingModeSummary");
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "BillingMode", target_ppr ? BILLING_PPR : "PROVISIONED");
        double last = target_ppr ? epoch_s(r->now_ms) : num_d(old, "LastUpdateToPayPerRequestDateTime");
        if (last > 0)
            cJSON_AddNumberToObject(s, "LastUpdateToPayPerRequestDateTime", last);
        put(desc, "BillingModeSummary", s);
        const cJSON *opt = member(desc, "ProvisionedThroughput");
        int64_t rcu = target_ppr ? 0 : num(u.pt, "ReadCapacityUnits");
        int64_t wcu = target_ppr ? 0 : num(u.pt, "WriteCapacityUnits");
        put(desc, "ProvisionedThroughput",
            pt_make(num_d(opt, "LastIncreaseDateTime"), num_d(opt, "LastDecreaseDateTime"),
                    num(opt, "NumberOfDecreasesToday"), rcu, wcu));
        warm_raise(desc, target_ppr ? PPR_WARM_READ : rcu, target_ppr ? PPR_WARM_WRITE : wcu);
        all_gsi_pt(desc, &u, target_ppr);
        if (target_ppr)
            cJSON_DeleteItemFromObjectCaseSensitive(desc, "OnDemandThroughput");
        kind = "IOPS";
        updating = 1;
    } else if (u.billing) {
        echo = 1;   /* same mode again: AWS answers UPDATING and changes nothing */
    }
    if (u.pt && !switching) {
        pt_change(desc, num(u.pt, "ReadCapacityUnits"), num(u.pt, "WriteCapacityUnits"), r->now_ms, 0);
        cJSON_AddItemToObject(pending, "ProvisionedThroughput", cJSON_Duplicate(u.pt, 1));
        kind = "IOPS";
        updating = 1;
    }
    if (u.stream) {
        int enable = cJSON_IsTrue(member(u.stream, "StreamEnabled"));
        if (enable)
            stream_enable(r, desc, tp_json_str(u.stream, "StreamViewType"));
        else
            cJSON_DeleteItemFromObjectCaseSensitive(desc, "StreamSpecification");
        put(pending, "StreamOp", cJSON_CreateString(enable ? "ENABLE" : "DISABLE"));
        kind = "STREAM";
        updating = 1;
        if (streams_table_sync(r, t.id, t.name, desc, err) != 0) {
            cJSON_Delete(pending);
            ddb_table_release(&t);
            return -1;
        }
    }
    if (u.cls) {
        const char *cur = tp_json_str(member(desc, "TableClassSummary"), "TableClass");
        if (str_eq(u.cls, cur ? cur : "STANDARD")) {
            echo = 1;   /* STANDARD on a never-classed table too: no summary appears */
        } else {
            put(pending, "TableClass", cJSON_CreateString(u.cls));
            kind = "CLASS";
            updating = 1;
        }
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, u.gsiu)
    {
        const cJSON *a = NULL;
        const char *k = NULL, *iname = action_index(e, &a, &k);
        cJSON *g = find_index(desc, "GlobalSecondaryIndexes", iname);
        if (str_eq(k, "Create")) {
            cJSON *arr = cJSON_GetObjectItemCaseSensitive(desc, "GlobalSecondaryIndexes");
            if (!arr)
                arr = cJSON_AddArrayToObject(desc, "GlobalSecondaryIndexes");
            cJSON_AddItemToArray(arr, gsi_desc(r, t.name, a, target_ppr, "CREATING", 0));
            add_definitions(desc, member(a, "KeySchema"), u.defs);
            kind = "INDEX";
            updating = 1;
        } else if (str_eq(k, "Delete")) {
            put(g, "IndexStatus", cJSON_CreateString("DELETING"));
            kind = "INDEX";
            updating = 1;
        } else if (!switching && member(a, "ProvisionedThroughput")) {
            const cJSON *upt = member(a, "ProvisionedThroughput");
            cJSON *idx = cJSON_GetObjectItemCaseSensitive(pending, "Indexes");
            if (!idx)
                idx = cJSON_AddObjectToObject(pending, "Indexes");
            put(idx, iname, cJSON_Duplicate(upt, 1));
            pt_change(g, num(upt, "ReadCapacityUnits"), num(upt, "WriteCapacityUnits"), r->now_ms, 0);
            put(g, "IndexStatus", cJSON_CreateString("UPDATING"));
            index_work = 1;   /* the index updates; TableStatus stays as it is */
        } else if (member(a, "OnDemandThroughput")) {
            put(g, "OnDemandThroughput", cJSON_Duplicate(member(a, "OnDemandThroughput"), 1));
        }
    }
    if (kind && !tp_json_str(pending, "Kind"))
        put(pending, "Kind", cJSON_CreateString(kind));
    else if (kind && str_eq(tp_json_str(pending, "Kind"), "INDEX"))
        put(pending, "Kind", cJSON_CreateString(kind));

    const char *status = updating ? "UPDATING" : t.status;
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "TableDescription",
                          describe(desc, updating || echo ? "UPDATING" : t.status, t.item_count,
                                   t.size_bytes, r->now_ms));
    ddb_index_fill_stats(r->core, t.id, cJSON_GetObjectItemCaseSensitive(*out, "TableDescription"));
    int64_t id = t.id;
    /* A change that starts nothing new (deletion protection during an
     * update) leaves the pending transition's end where it was. */
    rc = save(r->core, id, status, desc, pending, current_due(r->core, id));
    if (rc == 0 && switching)   /* the billing mode switches now (throughput at settle) */
        ddb_capacity_table_changed(r->core, id, desc, r->now_ms);
    cJSON_Delete(pending);
    ddb_table_release(&t);
    if (rc != 0)
        return storage_error(r->core, err);
    if (updating || index_work)
        return finish(r, id, "update_delay_ms", err);
    return 0;
}

/* --- DescribeLimits, DescribeEndpoints ------------------------------------ */

int ddb_describe_limits(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    (void)r;
    (void)in;
    (void)err;
    /* AWS's default quotas (reported as quotas, not as headroom). */
    *out = cJSON_CreateObject();
    tp_json_add_int(*out, "AccountMaxReadCapacityUnits", 80000);
    tp_json_add_int(*out, "AccountMaxWriteCapacityUnits", 80000);
    tp_json_add_int(*out, "TableMaxReadCapacityUnits", 40000);
    tp_json_add_int(*out, "TableMaxWriteCapacityUnits", 40000);
    return 0;
}

int ddb_describe_endpoints(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    (void)in;
    (void)err;
    char addr[128];
    snprintf(addr, sizeof addr, "dynamodb.%s.amazonaws.com", r->region);
    *out = cJSON_CreateObject();
    cJSON *eps = cJSON_AddArrayToObject(*out, "Endpoints");
    cJSON *ep = cJSON_CreateObject();
    cJSON_AddStringToObject(ep, "Address", addr);
    tp_json_add_int(ep, "CachePeriodInMinutes", 1440);
    cJSON_AddItemToArray(eps, ep);
    return 0;
}
