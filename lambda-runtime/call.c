/* lambda-runtime/call — tp_call for a handler running as a Lambda runtime
 * process: the target's awsJson request as a SigV4-signed HTTP(S) POST.
 *
 *   DynamoDB_20120810.*        dynamodb          application/x-amz-json-1.0
 *   DynamoDBStreams_20120810.* streams.dynamodb  (signed as "dynamodb")
 *   Kinesis_20131202.*         kinesis           application/x-amz-json-1.1
 *   AmazonSQS.*                sqs               application/x-amz-json-1.0
 *
 * Endpoint: AWS_ENDPOINT_URL when set (tidepool sets it for its process
 * handlers), else https://<service>.<region>.amazonaws.com. Credentials:
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (what Lambda
 * gives a function). Errors: the awsJson envelope's __type (after '#') and
 * message; a transport failure is a 503 "NetworkingError". Retries follow
 * tp_set_retry_policy (handler.h): the same retryable codes and full-jitter
 * backoff as tidepool's in-process tp_call, sleeping with tp_sleep_ms.
 * Lambda's REST targets (Lambda_20150331.*) are not spoken here. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/error.h"
#include "core/hash.h"
#include "http/sigv4.h"
#include "runtime.h"

typedef struct svc_info {
    const char *prefix, *host, *signing, *content_type;
} svc_info;

static const svc_info services[] = {
    {"DynamoDB_20120810.", "dynamodb", "dynamodb", "application/x-amz-json-1.0"},
    {"DynamoDBStreams_20120810.", "streams.dynamodb", "dynamodb", "application/x-amz-json-1.0"},
    {"Kinesis_20131202.", "kinesis", "kinesis", "application/x-amz-json-1.1"},
    {"AmazonSQS.", "sqs", "sqs", "application/x-amz-json-1.0"},
};

typedef struct sign_headers {
    const char *content_type, *host, *date, *token, *target;
} sign_headers;

static const char *header_of(void *ctx, const char *name)
{
    const sign_headers *h = ctx;
    if (strcasecmp(name, "content-type") == 0)
        return h->content_type;
    if (strcasecmp(name, "host") == 0)
        return h->host;
    if (strcasecmp(name, "x-amz-date") == 0)
        return h->date;
    if (strcasecmp(name, "x-amz-security-token") == 0)
        return h->token;
    if (strcasecmp(name, "x-amz-target") == 0)
        return h->target;
    return NULL;
}

static int retryable(const tp_error *e)
{
    static const char *const codes[] = {
        "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
        "TooManyRequestsException", "TransactionConflictException", "ThrottlingError"};
    if (strcmp(e->code, TP_HANDLER_TIMEOUT_CODE) == 0)
        return 0;
    if (e->status >= 500)
        return 1;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(e->code, codes[i]) == 0)
            return 1;
    return 0;
}

/* One attempt. 0 with *response_json, -1 with err. */
static int attempt(const svc_info *svc, const char *target, const char *body, char **response_json,
                   tp_error *err)
{
    const char *region = getenv("AWS_REGION");
    region = region && *region ? region : "us-east-1";
    const char *endpoint = getenv("AWS_ENDPOINT_URL");
    char url[1024];
    if (endpoint && *endpoint)
        snprintf(url, sizeof url, "%s%s", endpoint, endpoint[strlen(endpoint) - 1] == '/' ? "" : "/");
    else
        snprintf(url, sizeof url, "https://%s.%s.amazonaws.com/", svc->host, region);
    /* Host: what follows the scheme, up to the path */
    char host[512];
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    snprintf(host, sizeof host, "%.*s", (int)strcspn(h, "/"), h);

    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char amz_date[17], date[9];
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
    strftime(date, sizeof date, "%Y%m%d", &tm);
    const char *key = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");
    if (token && !*token)
        token = NULL;
    sign_headers sh = {.content_type = svc->content_type, .host = host, .date = amz_date,
                       .token = token, .target = target};
    const char *signed_names = token ? "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
                                     : "content-type;host;x-amz-date;x-amz-target";
    char payload_sha[65], scope[200], sig[65];
    tp_sha256_hex(body, strlen(body), payload_sha);
    snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date, region, svc->signing);
    tp_sigv4_request rq = {.method = "POST", .path = "/", .header = header_of, .header_ctx = &sh,
                           .payload_hash = payload_sha};
    tp_sigv4_sign(&rq, signed_names, amz_date, scope, secret ? secret : "", sig);

    char h_ct[128], h_target[256], h_date[64], h_token[2048], h_auth[1024];
    snprintf(h_ct, sizeof h_ct, "Content-Type: %s", svc->content_type);
    snprintf(h_target, sizeof h_target, "X-Amz-Target: %s", target);
    snprintf(h_date, sizeof h_date, "X-Amz-Date: %s", amz_date);
    snprintf(h_auth, sizeof h_auth,
             "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
             key ? key : "", scope, signed_names, sig);
    const char *headers[6] = {h_ct, h_target, h_date, h_auth, NULL, NULL};
    if (token) {
        snprintf(h_token, sizeof h_token, "X-Amz-Security-Token: %s", token);
        headers[4] = h_token;
    }
    tp_buf resp;
    tp_buf_init(&resp);
    long status = 0;
    char why[256];
    if (rt_http("POST", url, headers, body, strlen(body), &status, &resp, NULL, why,
                sizeof why) != 0) {
        tp_buf_free(&resp);
        return tp_fail_raw(err, 503, "NetworkingError", "%s: %s", url, why);
    }
    if (status == 200) {
        tp_buf_append(&resp, "", 1);
        *response_json = tp_buf_take(&resp);
        return *response_json ? 0 : tp_fail_raw(err, 500, "InternalFailure", "out of memory");
    }
    cJSON *o = resp.len ? cJSON_ParseWithLength(resp.data, resp.len) : NULL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "__type");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
    if (!cJSON_IsString(m))
        m = cJSON_GetObjectItemCaseSensitive(o, "Message");
    const char *code = cJSON_IsString(t) ? t->valuestring : "UnknownError";
    const char *hash = strrchr(code, '#');
    tp_fail_raw(err, (int)status, hash ? hash + 1 : code, "%s",
                cJSON_IsString(m) ? m->valuestring : "");
    cJSON_Delete(o);
    tp_buf_free(&resp);
    return -1;
}

int tp_call(tp_ctx *ctx, const char *target, const char *request_json, char **response_json,
            tp_error *err)
{
    tp_error scratch;
    if (!err)
        err = &scratch;
    tp_error_clear(err);
    *response_json = NULL;
    const svc_info *svc = NULL;
    for (size_t i = 0; target && i < sizeof services / sizeof services[0]; i++)
        if (strncmp(target, services[i].prefix, strlen(services[i].prefix)) == 0)
            svc = &services[i];
    if (!svc)
        return tp_fail_raw(err, 400, "UnknownOperationException",
                           "tidepool-lambda does not call %s over HTTP", target ? target : "");
    const char *body = request_json ? request_json : "{}";
    int max_attempts = ctx->policy.max_attempts > 1 ? ctx->policy.max_attempts : 1;
    for (int n = 1;; n++) {
        if (attempt(svc, target, body, response_json, err) == 0)
            return 0;
        if (n >= max_attempts || !retryable(err))
            return -1;
        /* full jitter: uniform in [0, min(max_backoff, base * 2^n)) */
        int64_t cap = ctx->policy.base_ms > 0 ? ctx->policy.base_ms : 50;
        for (int i = 0; i < n && cap < (INT64_C(1) << 40); i++)
            cap *= 2;
        if (ctx->policy.max_backoff_ms > 0 && cap > ctx->policy.max_backoff_ms)
            cap = ctx->policy.max_backoff_ms;
        ctx->rng ^= ctx->rng << 13;
        ctx->rng ^= ctx->rng >> 7;
        ctx->rng ^= ctx->rng << 17;
        ctx->retries++;
        tp_sleep_ms(ctx, cap > 0 ? (int64_t)(ctx->rng % (uint64_t)cap) : 0);
    }
}
