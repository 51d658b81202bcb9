/* lambda/functions — function storage and the function half of the Lambda
 * API: CreateFunction, GetFunction, GetFunctionConfiguration,
 * ListFunctions, DeleteFunction, UpdateFunctionConfiguration,
 * Put/Get/DeleteFunctionConcurrency, GetAccountSettings and Invoke
 * (RequestResponse through invoke.c, Event with Lambda's async retries,
 * DryRun), plus the config file's "functions".
 *
 * A function is one row: the columns the invoker needs (handler, timeout,
 * reserved concurrency) and the FunctionConfiguration as AWS returns it,
 * kept as JSON text in model order. Only $LATEST exists (no versions or
 * aliases). A function is ready the moment it is created: the create
 * answer says "Pending" as AWS's does, every later read says "Active".
 *
 * Async invocations (InvocationType Event) are rows of lambda_async:
 *
 *   queued --start--> running --done ok--> (row deleted)
 *     ^                  |
 *     |             done error/timeout, attempts < 3
 *     +--timer (1 min, then 2 min)--+
 *   throttled at start: retried with backoff (1 s doubling, at most
 *   5 min) until the event is 6 hours old, as Lambda keeps throttled
 *   events; error after the third attempt, or the function gone: dropped
 *   (trace "invoke_async_discard").
 *
 * The timer and done callbacks carry the row id, never a pointer, so a
 * reset (which clears the scheduler and wipes the tables) leaks nothing. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base64.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/shape.h"
#include "core/store.h"
#include "core/trace.h"
#include "lambda.h"
#include "process.h"
#include "shapes.gen.h"
#include "tidepool/engine.h"

const char lambda_functions_schema[] =
    "CREATE TABLE IF NOT EXISTS lambda_functions ("
    " id INTEGER PRIMARY KEY,"
    " account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,"
    " handler TEXT NOT NULL,"
    " timeout_ms INTEGER NOT NULL,"
    " reserved INTEGER,"           /* NULL: no reserved concurrency */
    " code_size INTEGER NOT NULL,"
    " config TEXT NOT NULL,"       /* FunctionConfiguration (stored state) */
    " tags TEXT,"                  /* Tags object, or NULL */
    " UNIQUE (account, region, name));"
    "CREATE TABLE IF NOT EXISTS lambda_async ("
    " id INTEGER PRIMARY KEY,"
    " account TEXT NOT NULL, region TEXT NOT NULL, function TEXT NOT NULL,"
    " event BLOB NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"   /* attempts that ran */
    " throttles INTEGER NOT NULL DEFAULT 0,"
    " received_ms INTEGER NOT NULL);";

#define SYNC_PAYLOAD_MAX 6291456     /* 6 MB */
#define ASYNC_PAYLOAD_MAX 1048576    /* 1 MB (the model: "1 MB for asynchronous") */
#define ASYNC_ATTEMPTS 3             /* the first try and two retries */
#define ASYNC_MAX_AGE_MS (6LL * 3600 * 1000)
#define LIST_MAX 50
#define DEFAULT_TIMEOUT_S 3
#define MAX_TIMEOUT_S 900

static sqlite3_stmt *stmt(tp_core *core, const char *sql) { return tp_store_stmt(core->store, sql); }

static int storage_error(tp_error *err)
{
    return tp_fail(err, TP_ERR_LAMBDA_SERVICE, "storage error");
}

/* --- names and ARNs ------------------------------------------------------ */

typedef struct fn_ref {
    char account[13];
    char region[32];
    char name[65];
    char qualifier[130];   /* "" when none */
    int bad;               /* the text cannot name a function */
} fn_ref;

/* name | name:qualifier | ACCOUNT:function:name[:q] |
 * arn:aws:lambda:REGION:ACCOUNT:function:name[:q] */
static void parse_ref(const char *account, const char *region, const char *text, fn_ref *ref)
{
    memset(ref, 0, sizeof *ref);
    snprintf(ref->account, sizeof ref->account, "%s", account);
    snprintf(ref->region, sizeof ref->region, "%s", region);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", text ? text : "");
    char *parts[8];
    int n = 0;
    char *save = NULL;
    for (char *p = buf, *tok; n < 8 && (tok = strtok_r(p, ":", &save)); p = NULL)
        parts[n++] = tok;
    const char *name = NULL, *qual = NULL;
    if (n >= 7 && strcmp(parts[0], "arn") == 0 && strcmp(parts[2], "lambda") == 0 &&
        strcmp(parts[5], "function") == 0) {
        snprintf(ref->region, sizeof ref->region, "%s", parts[3]);
        snprintf(ref->account, sizeof ref->account, "%s", parts[4]);
        name = parts[6];
        qual = n > 7 ? parts[7] : NULL;
    } else if (n >= 3 && strcmp(parts[1], "function") == 0) {
        snprintf(ref->account, sizeof ref->account, "%s", parts[0]);
        name = parts[2];
        qual = n > 3 ? parts[3] : NULL;
    } else if (n >= 1 && n <= 2) {
        name = parts[0];
        qual = n > 1 ? parts[1] : NULL;
    }
    if (!name || strlen(name) >= sizeof ref->name) {
        ref->bad = 1;
        snprintf(ref->name, sizeof ref->name, "%.64s", name ? name : "");
        return;
    }
    snprintf(ref->name, sizeof ref->name, "%s", name);
    if (qual)
        snprintf(ref->qualifier, sizeof ref->qualifier, "%s", qual);
}

static int not_found(const fn_ref *ref, tp_error *err)
{
    char arn[256];
    lambda_function_arn(ref->region, ref->account, ref->name, arn, sizeof arn);
    if (ref->qualifier[0])
        return tp_fail(err, TP_ERR_LAMBDA_NOT_FOUND, "Function not found: %s:%s", arn,
                       ref->qualifier);
    return tp_fail(err, TP_ERR_LAMBDA_NOT_FOUND, "Function not found: %s", arn);
}

/* --- rows ------------------------------------------------------------------ */

typedef struct fn_row {
    lambda_fn fn;
    int64_t code_size;
    cJSON *config;   /* owned */
    cJSON *tags;     /* owned, or NULL */
} fn_row;

static void row_clear(fn_row *row)
{
    lambda_fn_clear(&row->fn);
    cJSON_Delete(row->config);
    cJSON_Delete(row->tags);
    memset(row, 0, sizeof *row);
}

static const char SQL_FIND[] =
    "SELECT id, handler, timeout_ms, reserved, code_size, config, tags FROM lambda_functions"
    " WHERE account = ?1 AND region = ?2 AND name = ?3";

/* 1 found, 0 not, -1 storage error. Fills row (row_clear it) when found. */
static int row_load(tp_core *core, const char *account, const char *region, const char *name,
                    fn_row *row)
{
    memset(row, 0, sizeof *row);
    sqlite3_stmt *s = stmt(core, SQL_FIND);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return -1;
    }
    lambda_fn *f = &row->fn;
    f->id = sqlite3_column_int64(s, 0);
    snprintf(f->account, sizeof f->account, "%s", account);
    snprintf(f->region, sizeof f->region, "%s", region);
    snprintf(f->name, sizeof f->name, "%s", name);
    lambda_function_arn(region, account, name, f->arn, sizeof f->arn);
    snprintf(f->handler, sizeof f->handler, "%s", (const char *)sqlite3_column_text(s, 1));
    f->timeout_ms = sqlite3_column_int64(s, 2);
    f->reserved = sqlite3_column_type(s, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 3);
    row->code_size = sqlite3_column_int64(s, 4);
    row->config = tp_json_parse_str((const char *)sqlite3_column_text(s, 5));
    if (sqlite3_column_type(s, 6) != SQLITE_NULL)
        row->tags = tp_json_parse_str((const char *)sqlite3_column_text(s, 6));
    sqlite3_reset(s);
    if (!row->config) {
        row_clear(row);
        return -1;
    }
    f->memory_mb = tp_json_int(row->config, "MemorySize", 128);
    const char *role = tp_json_str(row->config, "Role");
    snprintf(f->role, sizeof f->role, "%s", role ? role : "");
    const cJSON *vars = tp_json_path(row->config, "Environment.Variables");
    if (cJSON_IsObject(vars))
        f->env = cJSON_Duplicate(vars, 1);
    return 1;
}

/* Finds the function a request names; 1 found, or -1 with err
 * (ResourceNotFoundException with AWS's text, or a storage error). */
static int row_find(tp_req *r, const char *name_or_arn, fn_row *row, fn_ref *ref, tp_error *err)
{
    parse_ref(r->account, r->region, name_or_arn, ref);
    if (ref->bad)
        return not_found(ref, err);
    if (ref->qualifier[0] && strcmp(ref->qualifier, "$LATEST") != 0)
        return not_found(ref, err);
    int rc = row_load(r->core, ref->account, ref->region, ref->name, row);
    if (rc < 0)
        return storage_error(err);
    if (rc == 0)
        return not_found(ref, err);
    return 1;
}

/* row_find for the request's FunctionName, where only $LATEST exists: any
 * other Qualifier is a missing function, as for an unpublished version. */
static int row_find_latest(tp_req *r, const cJSON *in, fn_row *row, fn_ref *ref, tp_error *err)
{
    if (row_find(r, tp_json_str(in, "FunctionName"), row, ref, err) < 0)
        return -1;
    const char *q = tp_json_str(in, "Qualifier");
    if (q && strcmp(q, "$LATEST") != 0) {
        snprintf(ref->qualifier, sizeof ref->qualifier, "%s", q);
        row_clear(row);
        return not_found(ref, err);
    }
    return 0;
}

int lambda_fn_find(tp_core *core, const char *account, const char *region,
                   const char *name_or_arn, lambda_fn *out)
{
    memset(out, 0, sizeof *out);
    fn_ref ref;
    parse_ref(account, region, name_or_arn, &ref);
    if (ref.bad || (ref.qualifier[0] && strcmp(ref.qualifier, "$LATEST") != 0))
        return 0;
    fn_row row;
    int rc = row_load(core, ref.account, ref.region, ref.name, &row);
    if (rc != 1)
        return rc;
    *out = row.fn;
    row.fn.env = NULL;
    row_clear(&row);
    return 1;
}

void lambda_fn_clear(lambda_fn *f)
{
    cJSON_Delete(f->env);
    f->env = NULL;
}

static const char SQL_SAVE[] =
    "UPDATE lambda_functions SET handler = ?2, timeout_ms = ?3, config = ?4 WHERE id = ?1";

static int row_save(tp_core *core, const fn_row *row)
{
    char *text = tp_json_print(row->config);
    if (!text)
        return -1;
    sqlite3_stmt *s = stmt(core, SQL_SAVE);
    if (!s) {
        free(text);
        return -1;
    }
    sqlite3_bind_int64(s, 1, row->fn.id);
    sqlite3_bind_text(s, 2, row->fn.handler, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, row->fn.timeout_ms);
    sqlite3_bind_text(s, 4, text, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    free(text);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* --- configuration ----------------------------------------------------------- */

/* "2024-01-01T00:00:00.000+0000" */
static void format_time(int64_t ms, char *out, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, (int)(ms % 1000));
}

static void set_item(cJSON *obj, const char *name, cJSON *v)
{
    if (!v)
        return;
    if (cJSON_GetObjectItemCaseSensitive(obj, name))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, name, v);
    else
        cJSON_AddItemToObject(obj, name, v);
}

static void set_string(cJSON *obj, const char *name, const char *v)
{
    set_item(obj, name, cJSON_CreateString(v));
}

static void set_int(cJSON *obj, const char *name, int64_t v)
{
    set_item(obj, name, cJSON_CreateNumber((double)v));
}

static void copy_member(cJSON *dst, const cJSON *src, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, name);
    if (v)
        set_item(dst, name, cJSON_Duplicate(v, 1));
}

static void new_revision(tp_req *r, cJSON *config)
{
    char uuid[37];
    tp_rng_uuid(&r->core->rng, uuid);
    set_string(config, "RevisionId", uuid);
}

/* The answer's view of a stored configuration: the state of a function
 * that is ready. */
static cJSON *config_view(const cJSON *stored)
{
    cJSON *c = cJSON_Duplicate(stored, 1);
    if (!c)
        return NULL;
    set_string(c, "State", "Active");
    set_string(c, "LastUpdateStatus", "Successful");
    return c;
}

/* Runtime's RuntimeVersionArn: a stable per-runtime id, as AWS gives each
 * runtime release one. */
static void runtime_version(const char *region, const char *runtime, cJSON *config)
{
    char hex[65], arn[160];
    tp_sha256_hex(runtime, strlen(runtime), hex);
    snprintf(arn, sizeof arn, "arn:aws:lambda:%s::runtime:%s", region, hex);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "RuntimeVersionArn", arn);
    set_item(config, "RuntimeVersionConfig", o);
}

/* Checks the members Create/UpdateFunctionConfiguration share beyond the
 * model: Handler names a registered handler, Timeout <= 900. */
static int check_settings(tp_req *r, const cJSON *in, tp_error *err)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(in, "Timeout");
    if (cJSON_IsNumber(t) && t->valuedouble > MAX_TIMEOUT_S)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "1 validation error detected: Value '%lld' at 'timeout' failed to satisfy "
                       "constraint: Member must have value less than or equal to %d",
                       (long long)t->valuedouble, MAX_TIMEOUT_S);
    const char *h = tp_json_str(in, "Handler");
    if (h && !lambda_handler_find(r->core, h) && !lambda_process_accepts(r, in))
        return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER,
                       "Handler '%s' is not a registered tidepool handler: compile it into "
                       "tidepool (handlers/registry.c) or load it with --handlers LIB.so",
                       h);
    return 0;
}

/* --- CreateFunction ---------------------------------------------------------- */

/* Shared by the API and the config file. lenient: fill in what a config
 * entry may leave out (Role, Runtime, Code). */
static int create_function(tp_req *r, const cJSON *in, int lenient, cJSON **out, tp_error *err)
{
    fn_ref ref;
    parse_ref(r->account, r->region, tp_json_str(in, "FunctionName"), &ref);
    if (ref.bad || ref.qualifier[0])
        return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER, "Invalid function name: %s",
                       tp_json_str(in, "FunctionName") ? tp_json_str(in, "FunctionName") : "");
    if (strcmp(ref.account, r->account) != 0 || strcmp(ref.region, r->region) != 0)
        return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER,
                       "The function ARN must be in the caller's account and Region");
    const char *package = tp_json_str(in, "PackageType");
    if (package && strcmp(package, "Zip") != 0)
        return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER,
                       "tidepool runs C handlers from zip-type functions only; PackageType %s "
                       "is not supported",
                       package);
    const char *runtime = tp_json_str(in, "Runtime");
    const char *handler = tp_json_str(in, "Handler");
    if (lenient && !runtime)
        runtime = "provided.al2023";
    if (!runtime || !handler)
        return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER,
                       "Runtime and Handler are mandatory parameters for functions created "
                       "with deployment packages.");
    if (check_settings(r, in, err) != 0)
        return -1;
    fn_row existing;
    int found = row_load(r->core, r->account, r->region, ref.name, &existing);
    if (found < 0)
        return storage_error(err);
    if (found) {
        row_clear(&existing);
        return tp_fail(err, TP_ERR_LAMBDA_CONFLICT, "Function already exist: %s", ref.name);
    }

    /* the code: a zip's bytes (base64 on the wire) or an S3 object tidepool
     * never fetches */
    tp_buf zip;
    tp_buf_init(&zip);
    const char *zip64 = tp_json_str(cJSON_GetObjectItemCaseSensitive(in, "Code"), "ZipFile");
    if (zip64 && tp_base64_decode(zip64, strlen(zip64), &zip) != 0) {
        tp_buf_free(&zip);
        return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER, "Could not unzip uploaded file. "
                       "Please check your file, then try to upload again.");
    }
    unsigned char digest[32];
    tp_sha256(zip.data ? zip.data : "", zip.len, digest);
    int64_t code_size = (int64_t)zip.len;
    tp_buf sha;
    tp_buf_init(&sha);
    tp_base64_encode(digest, sizeof digest, &sha);
    /* kept for a bootstrap (process.c) */
    int code_rc = zip.len ? lambda_code_save(r->core, r->account, r->region, ref.name, zip.data,
                                             zip.len, sha.data ? sha.data : "")
                          : 0;
    tp_buf_free(&zip);
    if (code_rc != 0) {
        tp_buf_free(&sha);
        return storage_error(err);
    }

    char arn[256], role[256], now[40], group[128];
    lambda_function_arn(r->region, r->account, ref.name, arn, sizeof arn);
    format_time(r->now_ms, now, sizeof now);
    snprintf(role, sizeof role, "arn:aws:iam::%s:role/tidepool", r->account);
    snprintf(group, sizeof group, "/aws/lambda/%s", ref.name);
    int64_t timeout = tp_json_int(in, "Timeout", DEFAULT_TIMEOUT_S);

    /* FunctionConfiguration in the model's member order */
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "FunctionName", ref.name);
    cJSON_AddStringToObject(c, "FunctionArn", arn);
    cJSON_AddStringToObject(c, "Runtime", runtime);
    cJSON_AddStringToObject(c, "Role", tp_json_str(in, "Role") ? tp_json_str(in, "Role") : role);
    cJSON_AddStringToObject(c, "Handler", handler);
    tp_json_add_int(c, "CodeSize", code_size);
    cJSON_AddStringToObject(c, "Description",
                            tp_json_str(in, "Description") ? tp_json_str(in, "Description") : "");
    tp_json_add_int(c, "Timeout", timeout);
    tp_json_add_int(c, "MemorySize", tp_json_int(in, "MemorySize", 128));
    cJSON_AddStringToObject(c, "LastModified", now);
    cJSON_AddStringToObject(c, "CodeSha256", sha.data ? sha.data : "");
    cJSON_AddStringToObject(c, "Version", "$LATEST");
    copy_member(c, in, "VpcConfig");
    copy_member(c, in, "DeadLetterConfig");
    copy_member(c, in, "Environment");
    copy_member(c, in, "KMSKeyArn");
    cJSON *tracing = cJSON_AddObjectToObject(c, "TracingConfig");
    const char *mode = tp_json_str(tp_json_path(in, "TracingConfig"), "Mode");
    cJSON_AddStringToObject(tracing, "Mode", mode ? mode : "PassThrough");
    new_revision(r, c);
    cJSON_AddStringToObject(c, "PackageType", "Zip");
    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(in, "Architectures");
    if (cJSON_IsArray(archs) && cJSON_GetArraySize(archs) > 0) {
        cJSON_AddItemToObject(c, "Architectures", cJSON_Duplicate(archs, 1));
    } else {
        cJSON *a = cJSON_AddArrayToObject(c, "Architectures");
        cJSON_AddItemToArray(a, cJSON_CreateString("x86_64"));
    }
    const cJSON *eph = cJSON_GetObjectItemCaseSensitive(in, "EphemeralStorage");
    if (cJSON_IsObject(eph)) {
        cJSON_AddItemToObject(c, "EphemeralStorage", cJSON_Duplicate(eph, 1));
    } else {
        cJSON *e = cJSON_AddObjectToObject(c, "EphemeralStorage");
        tp_json_add_int(e, "Size", 512);
    }
    cJSON *snap = cJSON_AddObjectToObject(c, "SnapStart");
    cJSON_AddStringToObject(snap, "ApplyOn", "None");
    cJSON_AddStringToObject(snap, "OptimizationStatus", "Off");
    runtime_version(r->region, runtime, c);
    const cJSON *logging = cJSON_GetObjectItemCaseSensitive(in, "LoggingConfig");
    cJSON *lc = cJSON_AddObjectToObject(c, "LoggingConfig");
    const char *fmt = tp_json_str(logging, "LogFormat");
    cJSON_AddStringToObject(lc, "LogFormat", fmt ? fmt : "Text");
    if (tp_json_str(logging, "ApplicationLogLevel"))
        copy_member(lc, logging, "ApplicationLogLevel");
    if (tp_json_str(logging, "SystemLogLevel"))
        copy_member(lc, logging, "SystemLogLevel");
    cJSON_AddStringToObject(lc, "LogGroup",
                            tp_json_str(logging, "LogGroup") ? tp_json_str(logging, "LogGroup")
                                                             : group);
    tp_buf_free(&sha);

    char *text = tp_json_print(c);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(in, "Tags");
    char *tags_text = cJSON_IsObject(tags) ? tp_json_print(tags) : NULL;
    sqlite3_stmt *s = stmt(r->core,
                           "INSERT INTO lambda_functions (account, region, name, handler,"
                           " timeout_ms, reserved, code_size, config, tags)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, ?8)");
    int rc = -1;
    if (s && text) {
        sqlite3_bind_text(s, 1, r->account, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, r->region, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, ref.name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, handler, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, timeout * 1000);
        sqlite3_bind_int64(s, 6, code_size);
        sqlite3_bind_text(s, 7, text, -1, SQLITE_STATIC);
        if (tags_text)
            sqlite3_bind_text(s, 8, tags_text, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 8);
        rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(s);
    }
    free(text);
    free(tags_text);
    if (rc != 0) {
        cJSON_Delete(c);
        return storage_error(err);
    }
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "function", arn);
    cJSON_AddStringToObject(f, "handler", handler);
    tp_trace_emit(r->core, "function_created", f);
    cJSON_Delete(f);
    /* the create answer: AWS's function is still being set up */
    cJSON_AddStringToObject(c, "State", "Pending");
    cJSON_AddStringToObject(c, "StateReason", "The function is being created.");
    cJSON_AddStringToObject(c, "StateReasonCode", "Creating");
    *out = c;
    return 0;
}

int lambda_create_function(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    return create_function(r, in, 0, out, err);
}

/* --- reads ------------------------------------------------------------------- */

int lambda_get_function_configuration(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    fn_row row;
    fn_ref ref;
    if (row_find_latest(r, in, &row, &ref, err) < 0)
        return -1;
    *out = config_view(row.config);
    row_clear(&row);
    return 0;
}

int lambda_get_function(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    fn_row row;
    fn_ref ref;
    if (row_find_latest(r, in, &row, &ref, err) < 0)
        return -1;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "Configuration", config_view(row.config));
    cJSON *code = cJSON_AddObjectToObject(o, "Code");
    cJSON_AddStringToObject(code, "RepositoryType", "S3");
    char loc[512];
    snprintf(loc, sizeof loc,
             "https://awslambda-%s-tasks.s3.%s.amazonaws.com/snapshots/%s/%s-%s", r->region,
             r->region, r->account, row.fn.name,
             tp_json_str(row.config, "RevisionId") ? tp_json_str(row.config, "RevisionId") : "");
    cJSON_AddStringToObject(code, "Location", loc);
    if (row.tags && cJSON_GetArraySize(row.tags) > 0)
        cJSON_AddItemToObject(o, "Tags", cJSON_Duplicate(row.tags, 1));
    if (row.fn.reserved >= 0) {
        cJSON *cc = cJSON_AddObjectToObject(o, "Concurrency");
        tp_json_add_int(cc, "ReservedConcurrentExecutions", row.fn.reserved);
    }
    row_clear(&row);
    *out = o;
    return 0;
}

/* NextMarker: the name the next page starts at, base64 so it reads as the
 * opaque token AWS hands out. */
int lambda_list_functions(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    int64_t max = tp_json_int(in, "MaxItems", LIST_MAX);
    if (max > LIST_MAX)
        max = LIST_MAX;
    if (max < 1)
        max = 1;
    const char *marker = tp_json_str(in, "Marker");
    tp_buf start;
    tp_buf_init(&start);
    if (marker && *marker &&
        (tp_base64_decode(marker, strlen(marker), &start) != 0 || !start.len)) {
        tp_buf_free(&start);
        return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER, "Invalid marker: %s", marker);
    }
    tp_buf_append(&start, "", 1);
    sqlite3_stmt *s = stmt(r->core, "SELECT name, config FROM lambda_functions"
                                    " WHERE account = ?1 AND region = ?2 AND name >= ?3"
                                    " ORDER BY name LIMIT ?4");
    if (!s) {
        tp_buf_free(&start);
        return storage_error(err);
    }
    sqlite3_bind_text(s, 1, r->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, start.data, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, max + 1);
    tp_buf_free(&start);
    cJSON *o = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(o, "Functions");
    int64_t n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 0);
        if (n == max) {
            tp_buf m;
            tp_buf_init(&m);
            tp_base64_encode(name, strlen(name), &m);
            cJSON_AddStringToObject(o, "NextMarker", m.data ? m.data : "");
            tp_buf_free(&m);
            break;
        }
        cJSON *stored = tp_json_parse_str((const char *)sqlite3_column_text(s, 1));
        if (stored) {
            cJSON_AddItemToArray(list, config_view(stored));
            cJSON_Delete(stored);
        }
        n++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cJSON_Delete(o);
        return storage_error(err);
    }
    *out = o;
    return 0;
}

/* --- DeleteFunction ------------------------------------------------------------ */

int lambda_delete_function(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    fn_row row;
    fn_ref ref;
    if (row_find(r, tp_json_str(in, "FunctionName"), &row, &ref, err) < 0)
        return -1;
    const char *q = tp_json_str(in, "Qualifier");
    if (q && strcmp(q, "$LATEST") == 0) {
        row_clear(&row);
        return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER,
                       "$LATEST version cannot be deleted without deleting the function.");
    }
    if (q) {
        snprintf(ref.qualifier, sizeof ref.qualifier, "%s", q);
        row_clear(&row);
        return not_found(&ref, err);
    }
    sqlite3_stmt *s = stmt(r->core, "DELETE FROM lambda_functions WHERE id = ?1");
    int rc = -1;
    if (s) {
        sqlite3_bind_int64(s, 1, row.fn.id);
        rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(s);
    }
    if (rc == 0) {
        lambda_code_drop(r->core, row.fn.account, row.fn.region, row.fn.name);
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "function", row.fn.arn);
        tp_trace_emit(r->core, "function_deleted", f);
        cJSON_Delete(f);
    }
    row_clear(&row);
    if (rc != 0)
        return storage_error(err);
    *out = cJSON_CreateObject();
    tp_json_add_int(*out, "StatusCode", 204);
    return 0;
}

/* --- UpdateFunctionConfiguration ------------------------------------------------ */

int lambda_update_function_configuration(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    fn_row row;
    fn_ref ref;
    if (row_find(r, tp_json_str(in, "FunctionName"), &row, &ref, err) < 0)
        return -1;
    const char *rev = tp_json_str(in, "RevisionId");
    const char *current = tp_json_str(row.config, "RevisionId");
    if (rev && strcmp(rev, current ? current : "") != 0) {
        row_clear(&row);
        return tp_fail_raw(err, 412, "PreconditionFailedException",
                           "The Revision Id provided does not match the latest Revision Id. "
                           "Call the GetFunction/GetAlias API to retrieve the latest Revision Id");
    }
    if (check_settings(r, in, err) != 0) {
        row_clear(&row);
        return -1;
    }
    cJSON *c = row.config;
    const char *h = tp_json_str(in, "Handler");
    if (h) {
        set_string(c, "Handler", h);
        snprintf(row.fn.handler, sizeof row.fn.handler, "%s", h);
    }
    if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(in, "Timeout"))) {
        int64_t t = tp_json_int(in, "Timeout", DEFAULT_TIMEOUT_S);
        set_int(c, "Timeout", t);
        row.fn.timeout_ms = t * 1000;
    }
    const char *runtime = tp_json_str(in, "Runtime");
    if (runtime) {
        set_string(c, "Runtime", runtime);
        runtime_version(r->region, runtime, c);
    }
    copy_member(c, in, "Role");
    copy_member(c, in, "Description");
    copy_member(c, in, "MemorySize");
    copy_member(c, in, "VpcConfig");
    copy_member(c, in, "DeadLetterConfig");
    copy_member(c, in, "KMSKeyArn");
    copy_member(c, in, "EphemeralStorage");
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(in, "Environment");
    if (cJSON_IsObject(env)) {
        /* Environment replaces the variables as a whole */
        cJSON *e = cJSON_CreateObject();
        const cJSON *vars = cJSON_GetObjectItemCaseSensitive(env, "Variables");
        cJSON_AddItemToObject(e, "Variables",
                              cJSON_IsObject(vars) ? cJSON_Duplicate(vars, 1) : cJSON_CreateObject());
        set_item(c, "Environment", e);
    }
    const char *mode = tp_json_str(tp_json_path(in, "TracingConfig"), "Mode");
    if (mode) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "Mode", mode);
        set_item(c, "TracingConfig", t);
    }
    const cJSON *logging = cJSON_GetObjectItemCaseSensitive(in, "LoggingConfig");
    cJSON *lc = cJSON_GetObjectItemCaseSensitive(c, "LoggingConfig");
    if (cJSON_IsObject(logging) && cJSON_IsObject(lc)) {
        const cJSON *m;
        cJSON_ArrayForEach(m, logging)
        {
            if (m->string)
                copy_member(lc, logging, m->string);
        }
    }
    char now[40];
    format_time(r->now_ms, now, sizeof now);
    set_string(c, "LastModified", now);
    new_revision(r, c);
    if (row_save(r->core, &row) != 0) {
        row_clear(&row);
        return storage_error(err);
    }
    /* the update answer: AWS applies it asynchronously */
    cJSON *o = cJSON_Duplicate(c, 1);
    set_string(o, "State", "Active");
    set_string(o, "LastUpdateStatus", "InProgress");
    set_string(o, "LastUpdateStatusReason", "The function is being created.");
    set_string(o, "LastUpdateStatusReasonCode", "Creating");
    row_clear(&row);
    *out = o;
    return 0;
}

/* --- concurrency ------------------------------------------------------------------ */

/* Reserved concurrency of the account's functions in the region, leaving
 * out function id skip. */
static int reserved_sum(tp_core *core, const char *account, const char *region, int64_t skip,
                        int64_t *sum)
{
    sqlite3_stmt *s = stmt(core, "SELECT COALESCE(SUM(reserved), 0) FROM lambda_functions"
                                 " WHERE account = ?1 AND region = ?2 AND id != ?3");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, skip);
    int rc = sqlite3_step(s);
    *sum = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : -1;
}

static int set_reserved(tp_core *core, int64_t id, int64_t v)
{
    sqlite3_stmt *s = stmt(core, "UPDATE lambda_functions SET reserved = ?2 WHERE id = ?1");
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    if (v < 0)
        sqlite3_bind_null(s, 2);
    else
        sqlite3_bind_int64(s, 2, v);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* AWS keeps at least 100 of the account's concurrency unreserved (all of
 * it when the account limit is below 100). */
static int64_t unreserved_minimum(int64_t limit) { return limit < 100 ? limit : 100; }

int lambda_put_function_concurrency(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    fn_row row;
    fn_ref ref;
    if (row_find(r, tp_json_str(in, "FunctionName"), &row, &ref, err) < 0)
        return -1;
    int64_t want = tp_json_int(in, "ReservedConcurrentExecutions", 0);
    int64_t limit = lambda_setting(r->core, "account_concurrency", 1000);
    int64_t others = 0;
    if (reserved_sum(r->core, r->account, r->region, row.fn.id, &others) != 0) {
        row_clear(&row);
        return storage_error(err);
    }
    int64_t min = unreserved_minimum(limit);
    if (limit - others - want < min) {
        row_clear(&row);
        return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER,
                       "Specified ReservedConcurrentExecutions for function decreases account's "
                       "UnreservedConcurrentExecution below its minimum value of [%lld].",
                       (long long)min);
    }
    int rc = set_reserved(r->core, row.fn.id, want);
    row_clear(&row);
    if (rc != 0)
        return storage_error(err);
    *out = cJSON_CreateObject();
    tp_json_add_int(*out, "ReservedConcurrentExecutions", want);
    return 0;
}

int lambda_get_function_concurrency(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    fn_row row;
    fn_ref ref;
    if (row_find(r, tp_json_str(in, "FunctionName"), &row, &ref, err) < 0)
        return -1;
    *out = cJSON_CreateObject();
    if (row.fn.reserved >= 0)
        tp_json_add_int(*out, "ReservedConcurrentExecutions", row.fn.reserved);
    row_clear(&row);
    return 0;
}

int lambda_delete_function_concurrency(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    fn_row row;
    fn_ref ref;
    if (row_find(r, tp_json_str(in, "FunctionName"), &row, &ref, err) < 0)
        return -1;
    int rc = set_reserved(r->core, row.fn.id, -1);
    row_clear(&row);
    return rc == 0 ? 0 : storage_error(err);
}

int lambda_get_account_settings(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    int64_t limit = lambda_setting(r->core, "account_concurrency", 1000);
    int64_t reserved = 0, count = 0, code = 0;
    if (reserved_sum(r->core, r->account, r->region, -1, &reserved) != 0)
        return storage_error(err);
    sqlite3_stmt *s = stmt(r->core, "SELECT COUNT(*), COALESCE(SUM(code_size), 0)"
                                    " FROM lambda_functions WHERE account = ?1 AND region = ?2");
    if (!s)
        return storage_error(err);
    sqlite3_bind_text(s, 1, r->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->region, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        count = sqlite3_column_int64(s, 0);
        code = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    cJSON *o = cJSON_CreateObject();
    cJSON *lim = cJSON_AddObjectToObject(o, "AccountLimit");
    tp_json_add_int(lim, "TotalCodeSize", 80530636800LL);
    tp_json_add_int(lim, "CodeSizeUnzipped", 262144000);
    tp_json_add_int(lim, "CodeSizeZipped", 52428800);
    tp_json_add_int(lim, "ConcurrentExecutions", limit);
    tp_json_add_int(lim, "UnreservedConcurrentExecutions", limit - reserved);
    cJSON *use = cJSON_AddObjectToObject(o, "AccountUsage");
    tp_json_add_int(use, "TotalCodeSize", code);
    tp_json_add_int(use, "FunctionCount", count);
    *out = o;
    return 0;
}

/* --- async invocations ---------------------------------------------------------------- */

typedef struct async_row {
    int64_t id;
    char account[13];
    char region[32];
    char function[256];
    char *event;
    size_t event_len;
    int64_t attempts, throttles, received_ms;
} async_row;

static int async_load(tp_core *core, int64_t id, async_row *a)
{
    memset(a, 0, sizeof *a);
    sqlite3_stmt *s = stmt(core, "SELECT account, region, function, event, attempts, throttles,"
                                 " received_ms FROM lambda_async WHERE id = ?1");
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return rc == SQLITE_DONE ? 0 : -1;
    }
    a->id = id;
    snprintf(a->account, sizeof a->account, "%s", (const char *)sqlite3_column_text(s, 0));
    snprintf(a->region, sizeof a->region, "%s", (const char *)sqlite3_column_text(s, 1));
    snprintf(a->function, sizeof a->function, "%s", (const char *)sqlite3_column_text(s, 2));
    a->event_len = (size_t)sqlite3_column_bytes(s, 3);
    a->event = malloc(a->event_len + 1);
    if (a->event) {
        if (a->event_len)
            memcpy(a->event, sqlite3_column_blob(s, 3), a->event_len);
        a->event[a->event_len] = 0;
    }
    a->attempts = sqlite3_column_int64(s, 4);
    a->throttles = sqlite3_column_int64(s, 5);
    a->received_ms = sqlite3_column_int64(s, 6);
    sqlite3_reset(s);
    return a->event ? 1 : -1;
}

static void async_forget(tp_core *core, int64_t id)
{
    sqlite3_stmt *s = stmt(core, "DELETE FROM lambda_async WHERE id = ?1");
    if (!s)
        return;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_step(s);
    sqlite3_reset(s);
}

static void async_count(tp_core *core, int64_t id, int attempt, int throttle)
{
    sqlite3_stmt *s = stmt(core, "UPDATE lambda_async SET attempts = attempts + ?2,"
                                 " throttles = throttles + ?3 WHERE id = ?1");
    if (!s)
        return;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, attempt);
    sqlite3_bind_int(s, 3, throttle);
    sqlite3_step(s);
    sqlite3_reset(s);
}

static void async_trace(tp_core *core, const char *type, const async_row *a, const char *why,
                        int64_t delay_ms)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "function", a->function);
    tp_json_add_int(f, "async_id", a->id);
    tp_json_add_int(f, "attempts", a->attempts);
    if (why)
        cJSON_AddStringToObject(f, "reason", why);
    if (delay_ms)
        tp_json_add_int(f, "delay_ms", delay_ms);
    tp_trace_emit(core, type, f);
    cJSON_Delete(f);
}

static void async_timer(tp_core *core, void *arg, int64_t due_ms);

static void async_schedule(tp_core *core, int64_t id, int64_t delay_ms)
{
    tp_sched_at(core->sched, tp_clock_now_ms(core->clock) + delay_ms, async_timer,
                (void *)(intptr_t)id);
}

static void async_done(tp_core *core, const lambda_result *res, void *arg)
{
    int64_t id = (int64_t)(intptr_t)arg;
    async_row a;
    if (async_load(core, id, &a) != 1)
        return;
    if (res->outcome == LAMBDA_SUCCESS) {
        async_forget(core, id);
    } else if (a.attempts >= ASYNC_ATTEMPTS) {
        async_trace(core, "invoke_async_discard", &a, lambda_outcome_name(res->outcome), 0);
        async_forget(core, id);
    } else {
        /* Lambda waits a minute before the second attempt, two before the third. */
        int64_t delay = a.attempts == 1 ? 60000 : 120000;
        async_trace(core, "invoke_async_retry", &a, lambda_outcome_name(res->outcome), delay);
        async_schedule(core, id, delay);
    }
    free(a.event);
}

/* Starts the row's next attempt; a throttled start waits and tries again. */
static void async_attempt(tp_core *core, int64_t id)
{
    async_row a;
    if (async_load(core, id, &a) != 1)
        return;
    lambda_invoke_req req = {.account = a.account, .region = a.region, .function = a.function,
                             .event = a.event, .event_len = a.event_len, .source = "event",
                             .done = async_done, .arg = (void *)(intptr_t)id};
    tp_error err;
    tp_error_clear(&err);
    if (lambda_invoke_start(core, &req, NULL, &err) == 0) {
        async_count(core, id, 1, 0);
    } else if (tp_error_is(&err, TP_ERR_LAMBDA_TOO_MANY_REQUESTS) &&
               tp_clock_now_ms(core->clock) - a.received_ms < ASYNC_MAX_AGE_MS) {
        int64_t delay = 1000;
        for (int64_t i = 0; i < a.throttles && delay < 300000; i++)
            delay *= 2;
        if (delay > 300000)
            delay = 300000;
        async_count(core, id, 0, 1);
        async_schedule(core, id, delay);
    } else {
        async_trace(core, "invoke_async_discard", &a, err.code, 0);
        async_forget(core, id);
    }
    free(a.event);
}

static void async_timer(tp_core *core, void *arg, int64_t due_ms)
{
    (void)due_ms;
    async_attempt(core, (int64_t)(intptr_t)arg);
}

/* --- Invoke ------------------------------------------------------------------------------ */

static int payload_valid(const char *p)
{
    cJSON *v = tp_json_parse_str(p);
    int ok = v != NULL;
    cJSON_Delete(v);
    return ok;
}

int lambda_invoke(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    const char *type = tp_json_str(in, "InvocationType");
    if (!type)
        type = "RequestResponse";
    const char *payload = tp_json_str(in, "Payload");
    int is_event = strcmp(type, "Event") == 0;
    size_t len = payload ? strlen(payload) : 0;
    size_t max = is_event ? ASYNC_PAYLOAD_MAX : SYNC_PAYLOAD_MAX;
    if (len > max)
        return tp_fail_raw(err, 413, "RequestEntityTooLargeException",
                           "Request must be smaller than %zu bytes for the %s operation", max,
                           is_event ? "InvokeAsync" : "InvokeFunction");
    fn_row row;
    fn_ref ref;
    if (row_find_latest(r, in, &row, &ref, err) < 0)
        return -1;
    char arn[256];
    snprintf(arn, sizeof arn, "%s", row.fn.arn);
    row_clear(&row);
    if (len && !payload_valid(payload))
        return tp_fail_raw(err, 400, "InvalidRequestContentException",
                           "Could not parse request body into json: Could not parse payload "
                           "into json");
    const char *event = len ? payload : "{}";
    size_t event_len = len ? len : 2;
    if (strcmp(type, "DryRun") == 0) {
        *out = cJSON_CreateObject();
        tp_json_add_int(*out, "StatusCode", 204);
        return 0;
    }
    if (is_event) {
        sqlite3_stmt *s = stmt(r->core, "INSERT INTO lambda_async (account, region, function,"
                                        " event, received_ms) VALUES (?1, ?2, ?3, ?4, ?5)");
        if (!s)
            return storage_error(err);
        sqlite3_bind_text(s, 1, r->account, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, r->region, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, arn, -1, SQLITE_STATIC);
        sqlite3_bind_blob(s, 4, event, (int)event_len, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, r->now_ms);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return storage_error(err);
        int64_t id = sqlite3_last_insert_rowid(tp_store_db(r->core->store));
        async_attempt(r->core, id);
        *out = cJSON_CreateObject();
        tp_json_add_int(*out, "StatusCode", 202);
        return 0;
    }
    const char *log_type = tp_json_str(in, "LogType");
    lambda_invoke_req req = {.account = r->account, .region = r->region, .function = arn,
                             .event = event, .event_len = event_len, .source = "invoke"};
    return lambda_invoke_sync(r, &req, log_type && strcmp(log_type, "Tail") == 0, err);
}

/* --- the config file's functions --------------------------------------------------------- */

int lambda_functions_start(tp_core *core)
{
    const cJSON *cfg = lambda_config(core);
    const cJSON *list = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, "functions") : NULL;
    if (!list)
        return 0;
    if (!cJSON_IsArray(list)) {
        tp_log_msg(TP_LOG_ERROR, "config: lambda.functions must be an array");
        return -1;
    }
    const cJSON *def;
    int i = 0;
    cJSON_ArrayForEach(def, list)
    {
        i++;
        if (!cJSON_IsObject(def)) {
            tp_log_msg(TP_LOG_ERROR, "config: lambda.functions[%d] is not an object", i - 1);
            return -1;
        }
        /* "access_key" and "region" say whose function it is, as a
         * client's SigV4 scope would (default: the harness's key). */
        const char *key = tp_json_str(def, "access_key");
        const char *region = tp_json_str(def, "region");
        char account[13];
        tp_account_for_key(key ? key : "AKIDTIDEPOOL", account);
        cJSON *in = cJSON_Duplicate(def, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(in, "access_key");
        cJSON_DeleteItemFromObjectCaseSensitive(in, "region");
        /* the function's reserved concurrency, as PutFunctionConcurrency sets it */
        cJSON *reserved = cJSON_DetachItemFromObjectCaseSensitive(in, "ReservedConcurrentExecutions");
        if (!cJSON_GetObjectItemCaseSensitive(in, "Role")) {
            char role[128];
            snprintf(role, sizeof role, "arn:aws:iam::%s:role/tidepool", account);
            cJSON_AddStringToObject(in, "Role", role);
        }
        if (!cJSON_GetObjectItemCaseSensitive(in, "Code"))
            cJSON_AddObjectToObject(in, "Code");
        if (!cJSON_GetObjectItemCaseSensitive(in, "Runtime"))
            cJSON_AddStringToObject(in, "Runtime", "provided.al2023");
        tp_req r = {.core = core, .account = account,
                    .region = region ? region : "us-east-1", .request_id = "config",
                    .now_ms = tp_clock_now_ms(core->clock)};
        /* a --data-dir restart finds the config's functions already made */
        const char *fname = tp_json_str(in, "FunctionName");
        lambda_fn have = {0};
        int exists = fname ? lambda_fn_find(core, account, r.region, fname, &have) : 0;
        lambda_fn_clear(&have);
        if (exists == 1) {
            cJSON_Delete(in);
            cJSON_Delete(reserved);
            continue;
        }
        tp_error err;
        tp_error_clear(&err);
        cJSON *out = NULL;
        int rc = tp_shape_check(&tp_lambda_input_CreateFunction, in, &err);
        if (rc == 0)
            rc = create_function(&r, in, 1, &out, &err);
        cJSON_Delete(out);
        out = NULL;
        if (rc == 0 && reserved) {
            cJSON *pc = cJSON_CreateObject();
            cJSON_AddStringToObject(pc, "FunctionName", fname ? fname : "");
            cJSON_AddItemToObject(pc, "ReservedConcurrentExecutions", reserved);
            reserved = NULL;
            rc = tp_shape_check(&tp_lambda_input_PutFunctionConcurrency, pc, &err);
            if (rc == 0)
                rc = lambda_put_function_concurrency(&r, pc, &out, &err);
            cJSON_Delete(pc);
            cJSON_Delete(out);
        }
        cJSON_Delete(reserved);
        cJSON_Delete(in);
        if (rc != 0) {
            tp_log_msg(TP_LOG_ERROR, "config: lambda.functions[%d]: %s: %s", i - 1, err.code,
                       err.message);
            return -1;
        }
    }
    return 0;
}
