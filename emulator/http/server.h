/* http/server — the one port: libmicrohttpd in, codecs out.
 *
 * Reads the body (capped; 413 above), routes it, turns it into a cJSON
 * request, hands it to the host (the engine) and serialises the answer or
 * the AWS error in the request's protocol. Parsing and serialising happen
 * outside the engine lock, on libmicrohttpd's threads. */
#ifndef TP_HTTP_SERVER_H
#define TP_HTTP_SERVER_H

#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"
#include "sigv4.h"

typedef struct cJSON cJSON;

#define TP_HTTP_MAX_BODY (32u * 1024u * 1024u)

typedef struct tp_http_host {
    void *ctx;
    /* One API call. service: dispatch service name ("dynamodb"), operation:
     * its name ("PutItem"). request_id is filled in either case. */
    int (*call)(void *ctx, const tp_scope *scope, const char *service, const char *operation,
                cJSON *in, cJSON **out, tp_error *err, char *request_id, size_t rid_cap);
    /* A /_tidepool/ request; writes the body and its content type, returns
     * the HTTP status. */
    int (*control)(void *ctx, const char *method, const char *path, const char *body,
                   size_t len, tp_buf *out, const char **content_type);
    /* 1 when the service has this operation (checked before auth, as AWS does). */
    int (*has_operation)(void *ctx, const char *service, const char *operation);
    /* A fresh request id for answers made before reaching the engine. */
    void (*request_id)(void *ctx, char *out, size_t cap);
    /* Lambda's REST operation table (restjson.h; generated with the
     * service's shapes), handed down so http/ does not include lambda/.
     * NULL: Lambda paths get UnknownOperationException. */
    const struct tp_rest_api *lambda_rest;
} tp_http_host;

typedef struct tp_http_server tp_http_server;

tp_http_server *tp_http_start(const char *host, int port, int threads, const tp_http_host *h,
                              char *why, size_t whylen);
void tp_http_stop(tp_http_server *s);

#endif
