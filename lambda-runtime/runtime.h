/* lambda-runtime/runtime — libtidepool-lambda's insides: handler.h
 * implemented for a process that runs under a Lambda Runtime API (AWS
 * Lambda's provided.al2023, or tidepool's process handlers), shared by its
 * files. Handlers see only tidepool/handler.h.
 *
 *   runtime.c    the Runtime API loop, the registry, the invocation side of
 *                handler.h (request id, deadline, env, log, sleep, respond)
 *   call.c       tp_call: SigV4-signed HTTP(S) requests with libcurl to
 *                AWS_ENDPOINT_URL or the AWS endpoints, SDK-like retries
 *   bootstrap.c  main(): the `bootstrap` executable (and tidepool-worker) */
#ifndef TP_LAMBDA_RUNTIME_H
#define TP_LAMBDA_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "tidepool/handler.h"

struct tp_ctx {
    char request_id[64];
    char arn[256];
    int64_t deadline_ms;        /* Lambda-Runtime-Deadline-Ms (wall clock) */
    tp_retry_policy policy;
    int64_t retries;
    uint64_t rng;               /* retry jitter */
};

struct tp_response {
    tp_buf buf;
};

/* One HTTP exchange with libcurl. headers: "Name: value" lines (NULL-ended),
 * body may be NULL (GET). Fills status, the body and, when resp_headers is
 * given, the response headers as "name: value\r\n" lines. 0, or -1 on a
 * transport error (why filled). */
int rt_http(const char *method, const char *url, const char *const *headers, const char *body,
            size_t len, long *status, tp_buf *resp, tp_buf *resp_headers, char *why,
            size_t whycap);
/* The value of a response header (case-insensitive) into out; 0 or -1. */
int rt_header(const tp_buf *headers, const char *name, char *out, size_t cap);
/* 1 when tidepool's Runtime API extension is there (TIDEPOOL_RUNTIME_EXTENSIONS). */
int rt_extensions(void);
/* GET/POST .../invocation/{id}/tidepool/<what>: the "ms" it answers, or -1. */
int64_t rt_extension(tp_ctx *ctx, const char *method, const char *what);

int tp_lambda_main(int argc, char **argv, const char *default_handler);

#endif
