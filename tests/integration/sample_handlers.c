/* sample_handlers — a handler library as a user would build one: compiled
 * against tidepool/handler.h only, loaded with `tidepool serve --handlers
 * libtp_sample_handlers.so`. test_handler_library.py drives it.
 *
 *   sample.upper   answers {"upper": "<the event's "text", upper-cased>"}
 *                  and, when the event names a "table", puts
 *                  {"pk": text, "by": request id} there with tp_call.
 *   sample.recorder  for each record of a stream batch, adds 1 to "n" of the
 *                  item {"seq": <its SequenceNumber>} in the table named by
 *                  the function's RECORD_TABLE: how often each record was
 *                  delivered (test_durability.py).
 *   sample.crashy  deliberately broken (test_handler_crashes.py): when the
 *                  event's text holds "crash-segv", "crash-fpe",
 *                  "crash-abort", "crash-assert", "crash-bus", "crash-ill",
 *                  "crash-stack" or "crash-spin" it dies that way (spin:
 *                  computes for "spin-<seconds>" of wall time, 30 by
 *                  default, never calling tidepool); with "crash-in-call"
 *                  it first makes a tp_call. Otherwise it answers
 *                  {"inits": <how many times its init ran for this
 *                  function>}. Its init (tp_register_init) counts. */
#undef NDEBUG   /* crash-assert needs assert() */
#include <assert.h>
#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tidepool/handler.h"

int tp_handlers_init(tp_handler_registry *reg);

/* The value of a top-level "key": "value" string member (no escapes). */
static int member(const char *json, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(json, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    if (*p++ != '"')
        return -1;
    size_t n = strcspn(p, "\"");
    if (n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = 0;
    return 0;
}

static int upper(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    char text[256], table[256];
    if (member(event, "text", text, sizeof text) != 0)
        return tp_respondf(resp, "{\"errorType\":\"BadEvent\",\"errorMessage\":\"no text\"}"), 1;
    for (char *p = text; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (member(event, "table", table, sizeof table) == 0) {
        char req[800], *out = NULL;
        tp_error err;
        snprintf(req, sizeof req,
                 "{\"TableName\":\"%s\",\"Item\":{\"pk\":{\"S\":\"%s\"},\"by\":{\"S\":\"%s\"}}}",
                 table, text, tp_request_id(ctx));
        if (tp_call(ctx, "DynamoDB_20120810.PutItem", req, &out, &err) != 0) {
            tp_respondf(resp, "{\"errorType\":\"%s\",\"errorMessage\":\"%s\"}", err.code,
                        err.message);
            return 1;
        }
        free(out);
    }
    tp_log(ctx, "upper-cased %zu bytes", strlen(text));
    return tp_respondf(resp, "{\"upper\":\"%s\"}", text) < 0;
}

/* --- sample.crashy --------------------------------------------------------- */

static pthread_mutex_t inits_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char fn[80];
    int n;
} inits[64];

static int *inits_of(const char *fn)
{
    for (size_t i = 0; i < sizeof inits / sizeof inits[0]; i++) {
        if (!inits[i].fn[0])
            snprintf(inits[i].fn, sizeof inits[i].fn, "%s", fn);
        if (strcmp(inits[i].fn, fn) == 0)
            return &inits[i].n;
    }
    return &inits[0].n;
}

static int crashy_init(tp_ctx *ctx)
{
    pthread_mutex_lock(&inits_mu);
    (*inits_of(tp_function_name(ctx)))++;
    pthread_mutex_unlock(&inits_mu);
    return 0;
}

static volatile int zero;

static int recurse(volatile char *above)
{
    volatile char frame[512];
    frame[0] = above ? above[0] : 1;
    if (frame[0] == 42)   /* never: volatile keeps the compiler guessing */
        return 0;
    return recurse(frame) + frame[511];
}

static void bus_error(void)
{
    /* a mapped page past the end of an empty file */
    char path[] = "/tmp/tp-crashy-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    volatile char *page = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (page != MAP_FAILED)
        zero = page[0];
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int crashy(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    if (strstr(event, "crash-in-call")) {
        char *out = NULL;
        tp_error err;
        if (tp_call(ctx, "DynamoDB_20120810.ListTables", "{}", &out, &err) == 0)
            free(out);
    }
    if (strstr(event, "crash-segv"))
        *(volatile int *)(uintptr_t)zero = 1;
    if (strstr(event, "crash-fpe")) {
        volatile int one = 1;
        zero = one / zero;
    }
    if (strstr(event, "crash-abort"))
        abort();
    if (strstr(event, "crash-assert"))
        assert(zero == 1 && "the crashy handler's assertion");
    if (strstr(event, "crash-bus"))
        bus_error();
    if (strstr(event, "crash-ill"))
        __builtin_trap();
    if (strstr(event, "crash-stack"))
        zero = recurse(NULL);
    if (strstr(event, "crash-spin")) {
        const char *p = strstr(event, "spin-");
        double limit = p ? atof(p + 5) : 30, start = wall_s();
        volatile unsigned long n = 0;
        while (wall_s() - start < limit)
            n++;
    }
    pthread_mutex_lock(&inits_mu);
    int n = *inits_of(tp_function_name(ctx));
    pthread_mutex_unlock(&inits_mu);
    return tp_respondf(resp, "{\"inits\":%d}", n) < 0;
}

static int recorder(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    (void)len;
    const char *table = tp_getenv(ctx, "RECORD_TABLE");
    if (!table)
        return tp_respondf(resp, "{\"errorType\":\"Config\",\"errorMessage\":\"no RECORD_TABLE\"}"), 1;
    static const char pat[] = "\"SequenceNumber\":\"";
    int n = 0;
    for (const char *p = strstr(event, pat); p; p = strstr(p, pat)) {
        p += sizeof pat - 1;
        size_t m = strcspn(p, "\"");
        if (m == 0 || m > 64)
            return tp_respondf(resp, "{\"errorType\":\"BadEvent\",\"errorMessage\":\"bad seq\"}"), 1;
        char req[512], *out = NULL;
        tp_error err;
        snprintf(req, sizeof req,
                 "{\"TableName\":\"%s\",\"Key\":{\"seq\":{\"S\":\"%.*s\"}},"
                 "\"UpdateExpression\":\"ADD n :one\","
                 "\"ExpressionAttributeValues\":{\":one\":{\"N\":\"1\"}}}",
                 table, (int)m, p);
        if (tp_call(ctx, "DynamoDB_20120810.UpdateItem", req, &out, &err) != 0) {
            tp_respondf(resp, "{\"errorType\":\"%s\",\"errorMessage\":\"%s\"}", err.code,
                        err.message);
            return 1;
        }
        free(out);
        n++;
    }
    return tp_respondf(resp, "{\"recorded\":%d}", n) < 0;
}

int tp_handlers_init(tp_handler_registry *reg)
{
    if (tp_register_handler(reg, "sample.upper", upper) != 0 ||
        tp_register_handler(reg, "sample.recorder", recorder) != 0 ||
        tp_register_handler(reg, "sample.crashy", crashy) != 0)
        return -1;
    return tp_register_init(reg, "sample.crashy", crashy_init);
}
