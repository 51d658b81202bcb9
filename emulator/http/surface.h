/* http/surface — what the port does for every API alike, below the
 * protocols: CORS (so browser apps using the AWS SDK can call tidepool),
 * compressed requests and responses, the `GET /` health line DynamoDB
 * answers, and SigV4 presigned in the query string. server.c calls these;
 * they know no AWS service's behaviour. */
#ifndef TP_HTTP_SURFACE_H
#define TP_HTTP_SURFACE_H

#include <microhttpd.h>
#include <stddef.h>

#include "core/buf.h"
#include "sigv4.h"

/* The CORS headers every answer carries (Access-Control-Allow-Origin,
 * -Expose-Headers). */
void tp_http_cors_headers(struct MHD_Response *r);
/* Answers an OPTIONS preflight: 200, empty, allowing the method and
 * headers the browser asks for, cached for 2 days as AWS's front end does. */
enum MHD_Result tp_http_preflight(struct MHD_Connection *c);

enum { TP_INFLATE_OK = 0, TP_INFLATE_TOO_LARGE = 1, TP_INFLATE_BROKEN = -1,
       TP_INFLATE_UNSUPPORTED = -2 };
/* Content-Encoding gzip or deflate (zlib or raw): decodes in into out,
 * refusing more than max decoded bytes. "identity" copies. */
int tp_http_inflate(const char *encoding, const void *in, size_t len, size_t max, tp_buf *out);
/* 1 when the request's Accept-Encoding takes gzip (q > 0). */
int tp_http_accepts_gzip(struct MHD_Connection *c);
/* gzip-compresses data into out; 0 or -1. */
int tp_http_gzip(const void *data, size_t len, tp_buf *out);

/* SigV4 presigned in the URL (X-Amz-Algorithm, X-Amz-Credential,
 * X-Amz-Date, X-Amz-SignedHeaders, X-Amz-Signature): 1 when the request
 * carries any of them, then *rc is tp_sigv4_parse's answer for them. 0
 * when it carries none (the caller reads the Authorization header). */
int tp_http_presigned_scope(const char *(*get)(void *ctx, const char *name), void *ctx,
                            tp_scope *scope, tp_error *err, int *rc);

/* The `GET /` answer DynamoDB gives: "healthy: dynamodb.<region>.amazonaws.com ". */
void tp_http_health_line(const char *region, tp_buf *out);

#endif
