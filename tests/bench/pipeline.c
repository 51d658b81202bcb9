/* tests/bench/pipeline.c — `make bench`'s handler pipeline numbers, through
 * tidepool/engine.h on the virtual clock, timed in real (wall) time:
 *
 *   invoke     Invoke (RequestResponse) of a no-op handler, N times:
 *              invocations/s and real µs per invocation (p50/p99/max)
 *   tp_call    one invocation doing N GetItem calls: calls/s, i.e. the cost
 *              of handing the baton to the scheduler and back per call
 *   stream     a table with a stream, a mapping (BatchSize 100, -b) to a handler
 *              doing one UpdateItem per record into another table; K items
 *              written, then tp_engine_run_until_idle: records/s and
 *              virtual seconds simulated per real second
 *   stream x4  the same with 4 shards and ParallelizationFactor 4
 *
 * Nothing is asserted but that the work was done: a stream run whose
 * records did not all reach the second table is reported on stderr and
 * makes the exit status 1. The whole set runs REPEAT times, each measurement on a
 * fresh in-memory engine; per row the run with the median real time is
 * printed, with the range of the rate over the runs (a table, or JSON lines
 * with --json).
 *
 *   tp_bench_pipeline [-n INVOKES] [-c CALLS] [-k ITEMS] [-b BATCH] [-r REPEAT] [--json]
 *   defaults: 5000 invocations, 50000 calls, 10000 items, BatchSize 100, 3 runs
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "tidepool/engine.h"
#include "tidepool/handler.h"

#define ACCOUNT "123456789012"
#define REGION "us-east-1"
#define IDLE_MAX_MS (24LL * 3600 * 1000)
/* The load is far beyond AWS's on-demand table maximums; lift them so the
 * numbers measure tidepool, not the throttling model. */
#define NO_THROTTLE "\"capacity\":{\"on_demand_max_read\":100000000,\"on_demand_max_write\":100000000}"

static int json_out;
static long batch_size = 100;
static int incomplete;   /* a stream run did not deliver every record */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const tp_error *err)
{
    fprintf(stderr, "tp_bench_pipeline: %s: %s: %s\n", what, err ? err->code : "",
            err ? err->message : "");
    exit(1);
}

static char *call(tp_engine *e, const char *target, const char *body)
{
    char *out = NULL;
    tp_error err = {0};
    if (tp_engine_call(e, ACCOUNT, REGION, target, body, &out, &err) != 0)
        die(target, &err);
    return out;
}

static void call_free(tp_engine *e, const char *target, const char *body)
{
    free(call(e, target, body));
}

/* --- handlers ------------------------------------------------------------- */

static atomic_long records_done;
static atomic_long call_errors;
/* Where a stream run's real time goes: inside handlers (of which inside
 * tp_call) and, by difference, in tidepool between invocations. */
static atomic_long batches;
static atomic_llong handler_ns, tp_call_ns;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int h_noop(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    (void)ctx;
    (void)event;
    (void)len;
    (void)resp;
    return 0;
}

/* {"n":N}: N GetItem calls on table "kvt", key "k". */
static int h_getter(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    long n = 0;
    const char *p = memchr(event, ':', len);
    if (p)
        n = strtol(p + 1, NULL, 10);
    long ok = 0;
    for (long i = 0; i < n; i++) {
        char *out = NULL;
        tp_error err;
        if (tp_call(ctx, "DynamoDB_20120810.GetItem", "{\"TableName\":\"kvt\",\"Key\":{\"pk\":{\"S\":\"k\"}}}",
                    &out, &err) == 0)
            ok++;
        else
            atomic_fetch_add(&call_errors, 1);
        free(out);
    }
    return tp_respondf(resp, "{\"ok\":%ld}", ok);
}

/* A stream batch: one UpdateItem per record into table "dst". */
static int h_copier(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    (void)resp;
    long long h0 = now_ns(), in_calls = 0;
    cJSON *ev = cJSON_ParseWithLength(event, len);
    const cJSON *r;
    int failed = 0;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(ev, "Records"))
    {
        const cJSON *keys = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(r, "dynamodb"), "Keys");
        char *key = cJSON_PrintUnformatted(keys);
        char body[512];
        snprintf(body, sizeof body,
                 "{\"TableName\":\"dst\",\"Key\":%s,\"UpdateExpression\":\"ADD n :one\","
                 "\"ExpressionAttributeValues\":{\":one\":{\"N\":\"1\"}}}",
                 key ? key : "{}");
        free(key);
        char *out = NULL;
        tp_error err;
        long long c0 = now_ns();
        if (tp_call(ctx, "DynamoDB_20120810.UpdateItem", body, &out, &err) != 0) {
            atomic_fetch_add(&call_errors, 1);
            failed = 1;
        }
        in_calls += now_ns() - c0;
        free(out);
        if (failed)
            break;
    }
    if (!failed) {
        int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ev, "Records"));
        atomic_fetch_add(&records_done, n);
    }
    cJSON_Delete(ev);
    atomic_fetch_add(&batches, 1);
    atomic_fetch_add(&tp_call_ns, in_calls);
    atomic_fetch_add(&handler_ns, now_ns() - h0);
    return failed;
}

/* --- setup ------------------------------------------------------------------- */

static tp_engine *engine(const char *config)
{
    tp_engine_options o = {.config_json = config, .seed = 1};
    tp_error err = {0};
    tp_engine *e = tp_engine_new(&o, &err);
    if (!e)
        die("tp_engine_new", &err);
    if (tp_engine_register_handler(e, "bench.noop", h_noop) != 0 ||
        tp_engine_register_handler(e, "bench.getter", h_getter) != 0 ||
        tp_engine_register_handler(e, "bench.copier", h_copier) != 0)
        die("tp_engine_register_handler", NULL);
    return e;
}

static void create_table(tp_engine *e, const char *name, int stream)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"TableName\":\"%s\",\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],"
             "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],"
             "\"BillingMode\":\"PAY_PER_REQUEST\"%s}",
             name,
             stream ? ",\"StreamSpecification\":{\"StreamEnabled\":true,\"StreamViewType\":\"NEW_IMAGE\"}"
                    : "");
    call_free(e, "DynamoDB_20120810.CreateTable", body);
    tp_engine_advance(e, 1000);   /* ACTIVE */
}

static void create_function(tp_engine *e, const char *name, const char *handler, int timeout_s)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"FunctionName\":\"%s\",\"Runtime\":\"provided.al2023\",\"Role\":"
             "\"arn:aws:iam::" ACCOUNT ":role/r\",\"Handler\":\"%s\",\"Timeout\":%d,"
             "\"Code\":{\"ZipFile\":\"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\"}}",
             name, handler, timeout_s);
    call_free(e, "Lambda_20150331.CreateFunction", body);
    tp_engine_advance(e, 1000);   /* Active */
}

static char *stream_arn(tp_engine *e, const char *table)
{
    char body[256];
    snprintf(body, sizeof body, "{\"TableName\":\"%s\"}", table);
    char *out = call(e, "DynamoDB_20120810.DescribeTable", body);
    cJSON *o = cJSON_Parse(out);
    const cJSON *arn = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(o, "Table"), "LatestStreamArn");
    char *s = cJSON_IsString(arn) ? strdup(arn->valuestring) : NULL;
    cJSON_Delete(o);
    free(out);
    if (!s)
        die("DescribeTable: no LatestStreamArn", NULL);
    return s;
}

/* --- output ------------------------------------------------------------------ */

/* Every run of the set records its rows here; main prints, per row, the
 * run with the median real time and the range of the rate over the runs. */
#define MAX_REPEAT 15
#define MAX_ROWS 8

typedef struct result {
    char label[40];
    long count;
    double real_s, virt_s;      /* virt_s < 0: not applicable */
    long p50, p99, max;         /* < 0: not applicable */
    char note[160];
} result;

static result results[MAX_REPEAT][MAX_ROWS];
static int rep, nrows;

static void row(const char *label, long count, double real_s, long p50, long p99, long max,
                double virt_s)
{
    if (nrows == MAX_ROWS)
        return;
    result *r = &results[rep][nrows++];
    snprintf(r->label, sizeof r->label, "%s", label);
    r->count = count;
    r->real_s = real_s;
    r->virt_s = virt_s;
    r->p50 = p50;
    r->p99 = p99;
    r->max = max;
    r->note[0] = '\0';
}

/* A line printed under the last row. */
static void note(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void note(const char *fmt, ...)
{
    if (nrows == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(results[rep][nrows - 1].note, sizeof results[rep][nrows - 1].note, fmt, ap);
    va_end(ap);
}

static double rate_of(const result *r)
{
    return r->real_s > 0 ? (double)r->count / r->real_s : 0;
}

static int cmp_real(const void *x, const void *y)
{
    double a = (*(const result *const *)x)->real_s, b = (*(const result *const *)y)->real_s;
    return (a > b) - (a < b);
}

static void print_results(int repeats, int rows)
{
    if (!json_out)
        printf("  %-30s %8s %9s %10s %17s %7s %7s %7s %9s\n", "pipeline (median run)", "count",
               "real s", "per s", "per s min-max", "p50 us", "p99 us", "max us", "virt s/s");
    for (int i = 0; i < rows; i++) {
        const result *runs[MAX_REPEAT];
        for (int k = 0; k < repeats; k++)
            runs[k] = &results[k][i];
        qsort(runs, (size_t)repeats, sizeof runs[0], cmp_real);
        const result *r = runs[repeats / 2];
        double lo = rate_of(runs[repeats - 1]), hi = rate_of(runs[0]);
        double rate = rate_of(r);
        double vps = r->virt_s >= 0 && r->real_s > 0 ? r->virt_s / r->real_s : -1;
        if (json_out) {
            printf("{\"label\":\"%s\",\"count\":%ld,\"real_s\":%.6f,\"per_s\":%.1f,"
                   "\"per_s_min\":%.1f,\"per_s_max\":%.1f,\"p50_us\":%ld,\"p99_us\":%ld,"
                   "\"max_us\":%ld,\"virtual_s\":%.3f,\"virtual_s_per_s\":%.2f,\"runs\":%d}\n",
                   r->label, r->count, r->real_s, rate, lo, hi, r->p50, r->p99, r->max, r->virt_s,
                   vps, repeats);
            continue;
        }
        char a[24] = "-", b[24] = "-", c[24] = "-", v[32] = "-", range[48];
        if (r->p50 >= 0) {
            snprintf(a, sizeof a, "%ld", r->p50);
            snprintf(b, sizeof b, "%ld", r->p99);
            snprintf(c, sizeof c, "%ld", r->max);
        }
        if (vps >= 0)
            snprintf(v, sizeof v, "%.1f", vps);
        snprintf(range, sizeof range, "%.0f-%.0f", lo, hi);
        printf("  %-30s %8ld %9.3f %10.0f %17s %7s %7s %7s %9s\n", r->label, r->count, r->real_s,
               rate, range, a, b, c, v);
        if (r->note[0])
            printf("  %-30s %s\n", "", r->note);
    }
}

static int cmp_long(const void *x, const void *y)
{
    long a = *(const long *)x, b = *(const long *)y;
    return (a > b) - (a < b);
}

/* --- the measurements ------------------------------------------------------ */

static void bench_invoke(long n)
{
    tp_engine *e = engine("{" NO_THROTTLE "}");
    create_function(e, "noop", "bench.noop", 3);
    const char *body = "{\"FunctionName\":\"noop\",\"Payload\":\"{}\"}";
    for (int i = 0; i < 20; i++)   /* warm-up */
        call_free(e, "Lambda_20150331.Invoke", body);
    long *us = malloc((size_t)n * sizeof *us);
    if (!us)
        die("out of memory", NULL);
    int64_t v0 = tp_engine_now_ms(e);
    double t0 = now_s(), half = 0;
    for (long i = 0; i < n; i++) {
        double a = now_s();
        char *out = call(e, "Lambda_20150331.Invoke", body);
        if (strstr(out, "FunctionError"))
            die("Invoke: FunctionError", NULL);
        free(out);
        us[i] = (long)((now_s() - a) * 1e6);
        if (i == n / 2 - 1)
            half = now_s() - t0;
    }
    double real = now_s() - t0;
    int64_t v1 = tp_engine_now_ms(e);
    qsort(us, (size_t)n, sizeof *us, cmp_long);
    row("Invoke no-op (sync)", n, real, us[n / 2], us[(n * 99) / 100], us[n - 1],
        (double)(v1 - v0) / 1000);
    if (half > 0 && n >= 2)
        note("first half %.0f/s, second half %.0f/s", (double)(n / 2) / half,
             (double)(n - n / 2) / (real - half));
    free(us);
    tp_engine_free(e);
}

static void bench_calls(long n)
{
    tp_engine *e = engine("{" NO_THROTTLE "}");
    create_table(e, "kvt", 0);
    call_free(e, "DynamoDB_20120810.PutItem",
              "{\"TableName\":\"kvt\",\"Item\":{\"pk\":{\"S\":\"k\"},\"v\":{\"S\":\"value\"}}}");
    create_function(e, "getter", "bench.getter", 900);
    atomic_store(&call_errors, 0);
    char body[128];
    snprintf(body, sizeof body, "{\"FunctionName\":\"getter\",\"Payload\":\"{\\\"n\\\":%ld}\"}", n);
    int64_t v0 = tp_engine_now_ms(e);
    double t0 = now_s();
    char *out = call(e, "Lambda_20150331.Invoke", body);
    double real = now_s() - t0;
    int64_t v1 = tp_engine_now_ms(e);
    if (strstr(out, "FunctionError") || atomic_load(&call_errors) != 0) {
        fprintf(stderr, "tp_bench_pipeline: getter: %ld call errors: %s\n", atomic_load(&call_errors), out);
        exit(1);
    }
    free(out);
    row("tp_call GetItem", n, real, -1, -1, -1, (double)(v1 - v0) / 1000);
    tp_engine_free(e);
}

static void bench_stream(const char *label, long k, int shards, int parallel)
{
    char config[512];
    snprintf(config, sizeof config, "{" NO_THROTTLE ",\"streams\":{\"shards_per_table\":%d}}", shards);
    tp_engine *e = engine(config);
    create_table(e, "src", 1);
    create_table(e, "dst", 0);
    create_function(e, "copier", "bench.copier", 900);
    char *arn = stream_arn(e, "src");
    char body[1024];
    snprintf(body, sizeof body,
             "{\"FunctionName\":\"copier\",\"EventSourceArn\":\"%s\",\"StartingPosition\":"
             "\"TRIM_HORIZON\",\"BatchSize\":%ld,\"ParallelizationFactor\":%d}",
             arn, batch_size, parallel);
    call_free(e, "Lambda_20150331.CreateEventSourceMapping", body);
    tp_engine_advance(e, 1000);   /* Enabled */
    atomic_store(&records_done, 0);
    atomic_store(&call_errors, 0);
    atomic_store(&batches, 0);
    atomic_store(&handler_ns, 0);
    atomic_store(&tp_call_ns, 0);

    /* K distinct items, 25 per BatchWriteItem, all at one virtual instant */
    double w0 = now_s();
    long written = 0;
    while (written < k) {
        char batch[16384];
        size_t used = (size_t)snprintf(batch, sizeof batch, "{\"RequestItems\":{\"src\":[");
        for (int i = 0; i < 25 && written < k; i++, written++)
            used += (size_t)snprintf(batch + used, sizeof batch - used,
                                     "%s{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"item%ld\"},"
                                     "\"v\":{\"N\":\"%ld\"}}}}",
                                     i ? "," : "", written, written);
        snprintf(batch + used, sizeof batch - used, "]}}");
        char *out = call(e, "DynamoDB_20120810.BatchWriteItem", batch);
        if (!strstr(out, "\"UnprocessedItems\":{}")) {
            fprintf(stderr, "tp_bench_pipeline: BatchWriteItem left items unprocessed: %.300s\n", out);
            exit(1);
        }
        free(out);
    }
    double wreal = now_s() - w0;

    double t0 = now_s();
    int64_t advanced = tp_engine_run_until_idle(e, IDLE_MAX_MS);
    double real = now_s() - t0;
    long done = atomic_load(&records_done);

    /* the items in dst, a Scan page (1 MB) at a time */
    long in_dst = 0;
    char *start = NULL;
    do {
        char scan[512];
        snprintf(scan, sizeof scan, "{\"TableName\":\"dst\",\"Select\":\"COUNT\"%s%s}",
                 start ? ",\"ExclusiveStartKey\":" : "", start ? start : "");
        free(start);
        start = NULL;
        char *page = call(e, "DynamoDB_20120810.Scan", scan);
        cJSON *o = cJSON_Parse(page);
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "Count");
        const cJSON *last = cJSON_GetObjectItemCaseSensitive(o, "LastEvaluatedKey");
        in_dst += cJSON_IsNumber(c) ? (long)c->valuedouble : 0;
        if (last)
            start = cJSON_PrintUnformatted(last);
        cJSON_Delete(o);
        free(page);
    } while (start);

    char wlabel[64];
    snprintf(wlabel, sizeof wlabel, "%s: write", label);
    row(wlabel, k, wreal, -1, -1, -1, -1);
    row(label, done, real, -1, -1, -1, (double)advanced / 1000);
    double in_h = (double)atomic_load(&handler_ns) / 1e9, in_c = (double)atomic_load(&tp_call_ns) / 1e9;
    if (parallel == 1 && shards == 1)   /* with lanes in parallel the handler times overlap */
        note("%ld batches; real s in handlers %.3f (of it in tp_call %.3f), outside handlers %.3f",
             atomic_load(&batches), in_h, in_c, real - in_h);
    else
        note("%ld batches", atomic_load(&batches));
    if (done != k || in_dst != k || atomic_load(&call_errors) != 0) {
        incomplete = 1;
        fprintf(stderr,
                "tp_bench_pipeline: %s: %ld records handled, %ld items in dst, %ld call errors "
                "(wanted %ld, 0)\n",
                label, done, in_dst, atomic_load(&call_errors), k);
    }
    free(arn);
    tp_engine_free(e);
}

int main(int argc, char **argv)
{
    long invokes = 5000, calls = 50000, items = 10000;
    int repeats = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json_out = 1;
        else if (i + 1 < argc && strcmp(argv[i], "-n") == 0)
            invokes = strtol(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "-c") == 0)
            calls = strtol(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "-k") == 0)
            items = strtol(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "-b") == 0)
            batch_size = strtol(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "-r") == 0)
            repeats = (int)strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: tp_bench_pipeline [-n INVOKES] [-c CALLS] [-k ITEMS] [-b BATCH]"
                            " [-r REPEAT] [--json]\n");
            return 2;
        }
    }
    /* 5 ms of virtual latency per GetItem: the getter's 900 s timeout
     * holds 180000 calls */
    if (invokes < 1 || calls < 1 || calls > 150000 || items < 1 || batch_size < 1 ||
        batch_size > 10000 || repeats < 1 || repeats > MAX_REPEAT) {
        fprintf(stderr, "tp_bench_pipeline: counts must be positive, CALLS at most 150000, "
                        "BATCH at most 10000, REPEAT 1..%d\n", MAX_REPEAT);
        return 2;
    }
    for (rep = 0; rep < repeats; rep++) {
        nrows = 0;
        bench_invoke(invokes);
        bench_calls(calls);
        bench_stream("stream 1 shard", items, 1, 1);
        bench_stream("stream 4 shards x PF4", items, 4, 4);
    }
    print_results(repeats, nrows);
    return incomplete;
}
