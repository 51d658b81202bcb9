/* handlers/statement_etl — seeds/002's pipeline: a scheduler that turns a
 * CSV file of statement records into one SQS message per record, and a
 * loader that PutItems the records of an SQS batch into a table.
 *
 *   statement_scheduler        one SendMessage per record, one at a time
 *                              (the seed's Go scheduler)
 *   statement_scheduler_batch  SendMessageBatch, 10 records a call (what
 *                              the seed had "not attempted"); entries
 *                              reported Failed are sent again
 *   statement_loader           per record of the SQS event: the body (a
 *                              JSON object of the record's columns) ->
 *                              PutItem, every column a string attribute
 *
 * The scheduler's event says which file and which part of it to read, as
 * the seed split its 23,300 records into 1, 2 or 4 files, one Lambda each:
 *   {"csv": "/path/statements.csv", "part": 0, "parts": 2}
 * reads the header and the part-th of parts equal slices of the records
 * (part 0 of 1: all of them). A record is one line of comma-separated
 * fields without quoting; its message body is {"<column>": "<field>", ...}.
 *
 * Environment:
 *   QUEUE_NAME       the queue (GetQueueUrl; default "statements")
 *   TABLE_NAME       the loader's table (default "statements")
 *   WORK_US_PER_RECORD  simulated computing per record in microseconds
 *                    (parsing, marshalling): time passes in whole
 *                    milliseconds as it adds up (default 0)
 *   SDK_MAX_ATTEMPTS, SDK_BASE_MS, SDK_MAX_BACKOFF_MS: the retry policy
 *                    for throttled calls (default TP_RETRY_SDK_DYNAMODB,
 *                    11 attempts from 50 ms; the seed's loader was a Go
 *                    Lambda whose SDK retries DynamoDB throttles alike)
 *
 * A loader call that fails after its retries ends the invocation as a
 * function error named after the error, so the whole batch comes back
 * after its visibility timeout (PutItem of the same record is idempotent);
 * a timeout ends it as Lambda ends it. The handlers use only handler.h
 * and cJSON, parsing and printing through core/json. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "tidepool/handler.h"

int tp_handler_statement_scheduler(tp_ctx *ctx, const char *event_json, size_t len,
                                   tp_response *response);
int tp_handler_statement_scheduler_batch(tp_ctx *ctx, const char *event_json, size_t len,
                                         tp_response *response);
int tp_handler_statement_loader(tp_ctx *ctx, const char *event_json, size_t len,
                                tp_response *response);

#define MAX_COLUMNS 32
#define BATCH_MAX 10

static int64_t env_int(tp_ctx *ctx, const char *name, int64_t dflt)
{
    const char *v = tp_getenv(ctx, name);
    return v && *v ? strtoll(v, NULL, 10) : dflt;
}

static const char *env_str(tp_ctx *ctx, const char *name, const char *dflt)
{
    const char *v = tp_getenv(ctx, name);
    return v && *v ? v : dflt;
}

static void use_sdk_retries(tp_ctx *ctx)
{
    tp_retry_policy policy = TP_RETRY_SDK_DYNAMODB;
    policy.max_attempts = (int)env_int(ctx, "SDK_MAX_ATTEMPTS", policy.max_attempts);
    policy.base_ms = env_int(ctx, "SDK_BASE_MS", policy.base_ms);
    policy.max_backoff_ms = env_int(ctx, "SDK_MAX_BACKOFF_MS", policy.max_backoff_ms);
    tp_set_retry_policy(ctx, &policy);
}

static int respond_error(tp_response *response, const char *type, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "errorType", type && *type ? type : "Error");
    cJSON_AddStringToObject(o, "errorMessage", message ? message : "");
    char *text = tp_json_print(o);
    if (text)
        tp_respond(response, text, strlen(text));
    free(text);
    cJSON_Delete(o);
    return 1;
}

static int is_timeout(const tp_error *err) { return strcmp(err->code, TP_HANDLER_TIMEOUT_CODE) == 0; }

/* Simulated computing: whole milliseconds pass as the microseconds add up. */
typedef struct work_clock {
    int64_t per_record_us, owed_us;
} work_clock;

static void work_record(tp_ctx *ctx, work_clock *w)
{
    w->owed_us += w->per_record_us;
    if (w->owed_us >= 1000) {
        tp_sleep_ms(ctx, w->owed_us / 1000);
        w->owed_us %= 1000;
    }
}

/* --- the CSV file ---------------------------------------------------------- */

typedef struct csv_file {
    char *text;                 /* the whole file, lines cut in place */
    char *header[MAX_COLUMNS];
    int ncols;
    char **rows;                /* the record lines */
    size_t nrows;
} csv_file;

static void csv_free(csv_file *f)
{
    free(f->text);
    free(f->rows);
    memset(f, 0, sizeof *f);
}

/* Splits line at commas in place; returns the number of fields. */
static int split_fields(char *line, char **out, int max)
{
    int n = 0;
    for (char *p = line; n < max;) {
        out[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static int csv_load(const char *path, csv_file *f, char *why, size_t cap)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(why, cap, "cannot open %s", path);
        return -1;
    }
    size_t len = 0, room = 1 << 16;
    f->text = malloc(room);
    for (size_t got; f->text && (got = fread(f->text + len, 1, room - len - 1, fp)) > 0;) {
        len += got;
        if (room - len - 1 == 0) {
            char *bigger = realloc(f->text, room * 2);
            if (!bigger) {
                free(f->text);
                f->text = NULL;
                break;
            }
            f->text = bigger;
            room *= 2;
        }
    }
    fclose(fp);
    if (!f->text) {
        snprintf(why, cap, "out of memory reading %s", path);
        return -1;
    }
    f->text[len] = '\0';
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += f->text[i] == '\n';
    f->rows = calloc(lines + 1, sizeof *f->rows);
    if (!f->rows) {
        csv_free(f);
        snprintf(why, cap, "out of memory reading %s", path);
        return -1;
    }
    int have_header = 0;
    for (char *p = f->text; *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        size_t n = strlen(p);
        if (n && p[n - 1] == '\r')
            p[n - 1] = '\0';
        if (*p) {
            if (!have_header) {
                f->ncols = split_fields(p, f->header, MAX_COLUMNS);
                have_header = 1;
            } else {
                f->rows[f->nrows++] = p;
            }
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if (!have_header) {
        csv_free(f);
        snprintf(why, cap, "%s has no header line", path);
        return -1;
    }
    return 0;
}

/* The message body of one record line (new string). */
static char *record_body(const csv_file *f, const char *row)
{
    char *copy = strdup(row);
    if (!copy)
        return NULL;
    char *fields[MAX_COLUMNS];
    int n = split_fields(copy, fields, MAX_COLUMNS);
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < n && i < f->ncols; i++)
        cJSON_AddStringToObject(o, f->header[i], fields[i]);
    char *text = tp_json_print(o);
    cJSON_Delete(o);
    free(copy);
    return text;
}

/* --- the scheduler ----------------------------------------------------------- */

static int queue_url(tp_ctx *ctx, char *out, size_t cap, tp_error *err)
{
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "QueueName", env_str(ctx, "QUEUE_NAME", "statements"));
    char *body = tp_json_print(q), *resp = NULL;
    cJSON_Delete(q);
    int rc = tp_call(ctx, "AmazonSQS.GetQueueUrl", body, &resp, err);
    free(body);
    if (rc != 0)
        return -1;
    cJSON *r = tp_json_parse(resp, strlen(resp));
    free(resp);
    const char *url = tp_json_str(r, "QueueUrl");
    snprintf(out, cap, "%s", url ? url : "");
    cJSON_Delete(r);
    return url ? 0 : -1;
}

static int send_one(tp_ctx *ctx, const char *url, const char *msg, tp_error *err)
{
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "QueueUrl", url);
    cJSON_AddStringToObject(q, "MessageBody", msg);
    char *body = tp_json_print(q), *resp = NULL;
    cJSON_Delete(q);
    int rc = tp_call(ctx, "AmazonSQS.SendMessage", body, &resp, err);
    free(body);
    free(resp);
    return rc;
}

/* Sends msgs[0..n) with SendMessageBatch; entries the answer lists as
 * Failed are sent again (as the SDKs leave it to the caller), up to the
 * retry policy's attempts. */
static int send_batch(tp_ctx *ctx, const char *url, char **msgs, size_t first, size_t n,
                      int max_attempts, tp_error *err)
{
    int pending[BATCH_MAX];
    for (size_t i = 0; i < n; i++)
        pending[i] = 1;
    for (int attempt = 1;; attempt++) {
        cJSON *q = cJSON_CreateObject();
        cJSON_AddStringToObject(q, "QueueUrl", url);
        cJSON *entries = cJSON_AddArrayToObject(q, "Entries");
        for (size_t i = 0; i < n; i++) {
            if (!pending[i])
                continue;
            cJSON *e = cJSON_CreateObject();
            char id[32];
            snprintf(id, sizeof id, "r%zu", first + i);
            cJSON_AddStringToObject(e, "Id", id);
            cJSON_AddStringToObject(e, "MessageBody", msgs[i]);
            cJSON_AddItemToArray(entries, e);
        }
        char *body = tp_json_print(q), *resp = NULL;
        cJSON_Delete(q);
        int rc = tp_call(ctx, "AmazonSQS.SendMessageBatch", body, &resp, err);
        free(body);
        if (rc != 0)
            return -1;
        cJSON *r = tp_json_parse(resp, strlen(resp));
        free(resp);
        for (size_t i = 0; i < n; i++)
            pending[i] = 0;
        int failed = 0;
        const cJSON *f;
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(r, "Failed"))
        {
            const char *id = tp_json_str(f, "Id");
            size_t k = id && id[0] == 'r' ? (size_t)strtoull(id + 1, NULL, 10) : 0;
            if (id && k >= first && k < first + n) {
                pending[k - first] = 1;
                failed++;
                snprintf(err->code, sizeof err->code, "%s",
                         tp_json_str(f, "Code") ? tp_json_str(f, "Code") : "Failed");
                snprintf(err->message, sizeof err->message, "%s",
                         tp_json_str(f, "Message") ? tp_json_str(f, "Message") : "");
            }
        }
        cJSON_Delete(r);
        if (!failed)
            return 0;
        if (attempt >= max_attempts)
            return -1;
    }
}

static int scheduler(tp_ctx *ctx, const char *event_json, size_t len, tp_response *response,
                     int batched)
{
    use_sdk_retries(ctx);
    cJSON *ev = tp_json_parse(event_json, len);
    const char *path = tp_json_str(ev, "csv");
    int64_t part = tp_json_int(ev, "part", 0), parts = tp_json_int(ev, "parts", 1);
    if (!path || parts < 1 || part < 0 || part >= parts) {
        cJSON_Delete(ev);
        return respond_error(response, "InvalidEvent",
                             "the event must be {\"csv\": PATH, \"part\": K, \"parts\": N}");
    }
    csv_file f;
    char why[512];
    if (csv_load(path, &f, why, sizeof why) != 0) {
        cJSON_Delete(ev);
        return respond_error(response, "CsvError", why);
    }
    cJSON_Delete(ev);
    size_t from = (size_t)((uint64_t)f.nrows * (uint64_t)part / (uint64_t)parts);
    size_t to = (size_t)((uint64_t)f.nrows * (uint64_t)(part + 1) / (uint64_t)parts);
    work_clock w = {env_int(ctx, "WORK_US_PER_RECORD", 0), 0};
    tp_error err;
    memset(&err, 0, sizeof err);
    char url[512];
    int64_t t0 = tp_now_ms(ctx);
    int rc = queue_url(ctx, url, sizeof url, &err);
    size_t sent = 0;
    int max_attempts = (int)env_int(ctx, "SDK_MAX_ATTEMPTS", TP_RETRY_SDK_DYNAMODB.max_attempts);
    for (size_t i = from; rc == 0 && i < to;) {
        char *msgs[BATCH_MAX];
        size_t n = 0;
        for (; n < (batched ? BATCH_MAX : 1) && i + n < to; n++) {
            work_record(ctx, &w);
            msgs[n] = record_body(&f, f.rows[i + n]);
        }
        rc = batched ? send_batch(ctx, url, msgs, i, n, max_attempts, &err)
                     : send_one(ctx, url, msgs[0], &err);
        for (size_t k = 0; k < n; k++)
            free(msgs[k]);
        if (rc == 0) {
            sent += n;
            i += n;
        }
    }
    csv_free(&f);
    if (rc != 0) {
        if (!is_timeout(&err))
            tp_log(ctx, "Invoke Error %s: %s (after %zu of %zu records)", err.code, err.message,
                   sent, to - from);
        return respond_error(response, err.code, err.message);
    }
    tp_log(ctx, "queued %zu records (part %" PRId64 " of %" PRId64 ") in %" PRId64 " ms with %s",
           sent, part + 1, parts, tp_now_ms(ctx) - t0, batched ? "SendMessageBatch" : "SendMessage");
    tp_respondf(response, "{\"queued\":%zu}", sent);
    return 0;
}

int tp_handler_statement_scheduler(tp_ctx *ctx, const char *event_json, size_t len,
                                   tp_response *response)
{
    return scheduler(ctx, event_json, len, response, 0);
}

int tp_handler_statement_scheduler_batch(tp_ctx *ctx, const char *event_json, size_t len,
                                         tp_response *response)
{
    return scheduler(ctx, event_json, len, response, 1);
}

/* --- the loader -------------------------------------------------------------- */

/* PutItem of one record body; 0, or -1 with err. */
static int load_record(tp_ctx *ctx, const char *table, const char *body, tp_error *err)
{
    cJSON *rec = tp_json_parse(body, strlen(body));
    if (!cJSON_IsObject(rec)) {
        cJSON_Delete(rec);
        snprintf(err->code, sizeof err->code, "InvalidRecord");
        snprintf(err->message, sizeof err->message, "the message body is not a JSON object");
        return -1;
    }
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "TableName", table);
    cJSON *item = cJSON_AddObjectToObject(q, "Item");
    const cJSON *c;
    cJSON_ArrayForEach(c, rec)
    {
        if (cJSON_IsString(c) && c->valuestring[0])
            cJSON_AddStringToObject(cJSON_AddObjectToObject(item, c->string), "S", c->valuestring);
    }
    cJSON_Delete(rec);
    char *text = tp_json_print(q), *resp = NULL;
    cJSON_Delete(q);
    int rc = tp_call(ctx, "DynamoDB_20120810.PutItem", text, &resp, err);
    free(text);
    free(resp);
    return rc;
}

int tp_handler_statement_loader(tp_ctx *ctx, const char *event_json, size_t len,
                                tp_response *response)
{
    use_sdk_retries(ctx);
    const char *table = env_str(ctx, "TABLE_NAME", "statements");
    work_clock w = {env_int(ctx, "WORK_US_PER_RECORD", 0), 0};
    cJSON *ev = tp_json_parse(event_json, len);
    const cJSON *r;
    int64_t loaded = 0, total = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ev, "Records"));
    tp_error err;
    memset(&err, 0, sizeof err);
    int rc = 0;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(ev, "Records"))
    {
        const char *body = tp_json_str(r, "body");
        if (!body)
            continue;
        work_record(ctx, &w);
        if (load_record(ctx, table, body, &err) != 0) {
            if (!is_timeout(&err))
                tp_log(ctx, "Invoke Error %s: %s (after %" PRId64 " of %" PRId64 " records)",
                       err.code, err.message, loaded, total);
            rc = respond_error(response, err.code, err.message);
            break;
        }
        loaded++;
    }
    cJSON_Delete(ev);
    return rc;
}
