/* lambda-runtime/runtime — the Runtime API loop and the invocation side of
 * handler.h for a handler running as a Lambda runtime process (runtime.h).
 *
 * The loop, as every Lambda runtime does it: find the handler _HANDLER
 * names, then forever GET /invocation/next, run the handler, POST its
 * answer to /invocation/{id}/response, or to /invocation/{id}/error when it
 * failed (a non-zero return or an answer in Lambda's error shape, exactly
 * the rule tidepool's in-process invoker applies). A handler that cannot
 * be found is an init error (POST /init/error, exit 1).
 *
 * Time: tp_remaining_ms is the deadline header minus the wall clock. Under
 * tidepool (TIDEPOOL_RUNTIME_EXTENSIONS=1) tp_sleep_ms, tp_now_ms and
 * tp_remaining_ms ask tidepool's Runtime API instead, so the handler lives
 * on tidepool's (possibly virtual) clock as an in-process handler does. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "runtime.h"

/* --- registry -------------------------------------------------------------- */

#define MAX_HANDLERS 256

struct tp_handler_registry {
    const char *names[MAX_HANDLERS];
    tp_handler_fn fns[MAX_HANDLERS];
    int n;
};

static tp_handler_registry registry;

int tp_register_handler_abi(tp_handler_registry *reg, int abi_version, const char *name,
                            tp_handler_fn fn)
{
    if (abi_version != TP_HANDLER_ABI_VERSION || !name || !*name || !fn || reg->n >= MAX_HANDLERS)
        return -1;
    for (int i = 0; i < reg->n; i++)
        if (strcmp(reg->names[i], name) == 0)
            return -1;
    reg->names[reg->n] = name;
    reg->fns[reg->n++] = fn;
    return 0;
}

/* Linked in when present: the built-in handlers (handlers/registry.c, in
 * tidepool-worker) and a handler file's own registration. */
int tp_builtin_handlers_init(tp_handler_registry *reg) __attribute__((weak));
int tp_handlers_init(tp_handler_registry *reg) __attribute__((weak));

static tp_handler_fn find_named(const char *name)
{
    if (!name || !*name)
        return NULL;
    for (int i = 0; i < registry.n; i++)
        if (strcmp(registry.names[i], name) == 0)
            return registry.fns[i];
    /* a handler file's function, by handler.h's naming: tp_handler_<name> */
    char sym[300];
    snprintf(sym, sizeof sym, "tp_handler_%s", name);
    return (tp_handler_fn)(uintptr_t)dlsym(RTLD_DEFAULT, sym);
}

static tp_handler_fn find_handler(const char *name, const char *dflt)
{
    tp_handler_fn fn = find_named(name);
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (!fn && dot)
        fn = find_named(dot + 1);   /* "file.echo" names echo */
    if (!fn)
        fn = find_named(dflt);
    return fn;
}

static int load_libraries(const char *list)
{
    char *copy = strdup(list), *save = NULL;
    int rc = copy ? 0 : -1;
    for (char *p = copy ? strtok_r(copy, ":", &save) : NULL; p; p = strtok_r(NULL, ":", &save)) {
        void *lib = dlopen(p, RTLD_NOW | RTLD_GLOBAL);
        tp_handlers_init_fn init = lib ? (tp_handlers_init_fn)(uintptr_t)dlsym(lib, TP_HANDLERS_INIT_SYMBOL) : NULL;
        if (!init || init(&registry) != 0) {
            fprintf(stderr, "tidepool-lambda: cannot load handlers from %s: %s\n", p,
                    lib ? "its tp_handlers_init failed" : dlerror());
            rc = -1;
        }
    }
    free(copy);
    return rc;
}

/* --- HTTP ----------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    return tp_buf_append(arg, data, size * n) == 0 ? size * n : 0;
}

int rt_http(const char *method, const char *url, const char *const *headers, const char *body,
            size_t len, long *status, tp_buf *resp, tp_buf *resp_headers, char *why,
            size_t whycap)
{
    static __thread CURL *curl;   /* one connection kept alive per thread */
    if (!curl)
        curl = curl_easy_init();
    if (!curl) {
        snprintf(why, whycap, "curl_easy_init failed");
        return -1;
    }
    curl_easy_reset(curl);
    struct curl_slist *h = NULL;
    for (int i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
    if (resp_headers) {
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp_headers);
    }
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) {
        snprintf(why, whycap, "%s", curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

int rt_header(const tp_buf *headers, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = headers->data;
    const char *end = p ? p + headers->len : NULL;
    while (p && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (v < eol && *v == ' ')
                v++;
            size_t vl = (size_t)(eol - v);
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            snprintf(out, cap, "%.*s", (int)vl, v);
            return 0;
        }
        p = eol + 1;
    }
    return -1;
}

static char api_base[600];

int rt_extensions(void)
{
    const char *e = getenv("TIDEPOOL_RUNTIME_EXTENSIONS");
    return e && strcmp(e, "1") == 0;
}

int64_t rt_extension(tp_ctx *ctx, const char *method, const char *what)
{
    char url[1024], why[256];
    snprintf(url, sizeof url, "%s/invocation/%s/tidepool/%s", api_base, ctx->request_id, what);
    tp_buf body;
    tp_buf_init(&body);
    long status = 0;
    int64_t v = -1;
    if (rt_http(method, url, NULL, strcmp(method, "POST") == 0 ? "" : NULL, 0, &status, &body,
                NULL, why, sizeof why) == 0 &&
        status == 200) {
        cJSON *o = cJSON_ParseWithLength(body.data ? body.data : "", body.len);
        cJSON *ms = cJSON_GetObjectItemCaseSensitive(o, "ms");
        if (cJSON_IsNumber(ms))
            v = (int64_t)ms->valuedouble;
        cJSON_Delete(o);
    }
    tp_buf_free(&body);
    return v;
}

/* --- handler.h: the invocation ---------------------------------------------------- */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tp_remaining_ms(tp_ctx *ctx)
{
    int64_t left = rt_extensions() ? rt_extension(ctx, "GET", "remaining") : -1;
    if (left < 0)
        left = ctx->deadline_ms - wall_ms();
    return left > 0 ? left : 0;
}

const char *tp_request_id(tp_ctx *ctx) { return ctx->request_id; }

const char *tp_function_name(tp_ctx *ctx)
{
    const char *n = getenv("AWS_LAMBDA_FUNCTION_NAME");
    return n ? n : "";
}

const char *tp_function_arn(tp_ctx *ctx) { return ctx->arn; }
const char *tp_getenv(tp_ctx *ctx, const char *name) { return getenv(name); }

int64_t tp_now_ms(tp_ctx *ctx)
{
    int64_t now = rt_extensions() ? rt_extension(ctx, "GET", "now") : -1;
    return now >= 0 ? now : wall_ms();
}

int tp_respond(tp_response *r, const char *data, size_t len)
{
    return r && data ? tp_buf_append(&r->buf, data, len) : -1;
}

int tp_respondf(tp_response *r, const char *fmt, ...)
{
    if (!r)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    int rc = n >= 0 ? tp_buf_append(&r->buf, s, (size_t)n) : -1;
    free(s);
    return rc;
}

void tp_set_retry_policy(tp_ctx *ctx, const tp_retry_policy *policy)
{
    if (policy)
        ctx->policy = *policy;
    else
        memset(&ctx->policy, 0, sizeof ctx->policy);
}

int64_t tp_retry_count(tp_ctx *ctx) { return ctx->retries; }

/* The line tidepool's in-process log writes: "<ISO time>\t<request id>\tINFO\t<text>". */
void tp_log(tp_ctx *ctx, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    int64_t ms = tp_now_ms(ctx);
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    printf("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\t%s\tINFO\t%s\n", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000),
           ctx->request_id, line);
    fflush(stdout);
}

void tp_sleep_ms(tp_ctx *ctx, int64_t ms)
{
    if (ms <= 0)
        return;
    if (rt_extensions()) {
        char what[64];
        snprintf(what, sizeof what, "sleep?ms=%lld", (long long)ms);
        if (rt_extension(ctx, "POST", what) >= 0)
            return;
    }
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* --- the loop ------------------------------------------------------------------ */

static int is_error_shape(const tp_buf *b, char *type, size_t cap)
{
    cJSON *o = b->len ? cJSON_ParseWithLength(b->data, b->len) : NULL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "errorType");
    int yes = cJSON_IsString(t) &&
              cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "errorMessage"));
    if (cJSON_IsString(t))
        snprintf(type, cap, "%s", t->valuestring);
    cJSON_Delete(o);
    return yes;
}

static int post(const char *path, const char *body, size_t len, const char *error_type)
{
    char url[1024], why[256], hdr[200];
    snprintf(url, sizeof url, "%s%s", api_base, path);
    const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
    if (error_type) {
        snprintf(hdr, sizeof hdr, "Lambda-Runtime-Function-Error-Type: %s", error_type);
        headers[1] = hdr;
    }
    tp_buf resp;
    tp_buf_init(&resp);
    long status = 0;
    int rc = rt_http("POST", url, headers, body, len, &status, &resp, NULL, why, sizeof why);
    tp_buf_free(&resp);
    if (rc != 0 || status / 100 != 2) {
        fprintf(stderr, "tidepool-lambda: POST %s: %s (%ld)\n", path, rc ? why : "refused",
                status);
        return -1;
    }
    return 0;
}

static void post_error(const char *path, const char *type, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "errorMessage", message);
    cJSON_AddStringToObject(o, "errorType", type);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s)
        post(path, s, strlen(s), type);
    free(s);
}

static void run_one(tp_handler_fn fn, const char *name, tp_ctx *ctx, const tp_buf *event)
{
    tp_response resp;
    tp_buf_init(&resp.buf);
    int rc = fn(ctx, event->data ? event->data : "", event->len, &resp);
    char path[200], type[128] = "";
    int err_shape = is_error_shape(&resp.buf, type, sizeof type);
    if (rc == 0 && !err_shape) {
        snprintf(path, sizeof path, "/invocation/%s/response", ctx->request_id);
        post(path, resp.buf.data ? resp.buf.data : "", resp.buf.len, NULL);
    } else {
        snprintf(path, sizeof path, "/invocation/%s/error", ctx->request_id);
        cJSON *o = resp.buf.len ? cJSON_ParseWithLength(resp.buf.data, resp.buf.len) : NULL;
        if (cJSON_IsObject(o) &&
            cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "errorMessage"))) {
            post(path, resp.buf.data, resp.buf.len, *type ? type : "HandlerError");
        } else {
            char msg[400];
            snprintf(msg, sizeof msg, "handler %s returned %d", name, rc);
            post_error(path, *type ? type : "HandlerError", msg);
        }
        cJSON_Delete(o);
    }
    tp_buf_free(&resp.buf);
}

int tp_lambda_main(int argc, char **argv, const char *default_handler)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api || !*api) {
        fprintf(stderr, "tidepool-lambda: AWS_LAMBDA_RUNTIME_API is not set: run me as a "
                        "Lambda function's bootstrap\n");
        return 2;
    }
    snprintf(api_base, sizeof api_base, "http://%s/2018-06-01/runtime", api);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (tp_builtin_handlers_init)
        tp_builtin_handlers_init(&registry);
    if (tp_handlers_init)
        tp_handlers_init(&registry);
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--handlers") == 0)
            load_libraries(argv[++i]);
    const char *name = getenv("_HANDLER");
    tp_handler_fn fn = find_handler(name, default_handler);
    if (!fn) {
        char msg[400];
        snprintf(msg, sizeof msg, "handler '%s' is not in this bootstrap", name ? name : "");
        post_error("/init/error", "Runtime.HandlerNotFound", msg);
        return 1;
    }
    for (;;) {
        char url[1024], why[256], v[64];
        snprintf(url, sizeof url, "%s/invocation/next", api_base);
        tp_buf event, headers;
        tp_buf_init(&event);
        tp_buf_init(&headers);
        long status = 0;
        if (rt_http("GET", url, NULL, NULL, 0, &status, &event, &headers, why, sizeof why) != 0 ||
            status != 200) {
            fprintf(stderr, "tidepool-lambda: GET /invocation/next: %s (%ld)\n",
                    status ? "refused" : why, status);
            return 1;
        }
        tp_ctx ctx = {0};
        rt_header(&headers, "Lambda-Runtime-Aws-Request-Id", ctx.request_id, sizeof ctx.request_id);
        rt_header(&headers, "Lambda-Runtime-Invoked-Function-Arn", ctx.arn, sizeof ctx.arn);
        if (rt_header(&headers, "Lambda-Runtime-Deadline-Ms", v, sizeof v) == 0)
            ctx.deadline_ms = strtoll(v, NULL, 10);
        if (rt_header(&headers, "Lambda-Runtime-Trace-Id", v, sizeof v) == 0)
            setenv("_X_AMZN_TRACE_ID", v, 1);
        ctx.rng = 1;
        for (const char *p = ctx.request_id; *p; p++)
            ctx.rng = ctx.rng * 31 + (unsigned char)*p;
        run_one(fn, name ? name : default_handler, &ctx, &event);
        tp_buf_free(&event);
        tp_buf_free(&headers);
    }
}
