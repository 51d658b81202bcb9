/* http/server — the one port: libmicrohttpd in, codecs out.
 *
 * Reads the body (capped; 413 above), routes it, turns it into a cJSON
 * request, hands it to the host (the engine) and serialises the answer or
 * the AWS error in the request's protocol: awsJson (DynamoDB, Streams,
 * Kinesis, SQS), SQS's query protocol (form in, XML out; query.h) and
 * Lambda's restJson. Parsing and serialising happen outside the engine
 * lock, on libmicrohttpd's threads.
 *
 * A long poll that parks suspends its connection (libmicrohttpd's
 * suspend/resume), so it holds neither a server thread nor the engine
 * lock; the engine's answer resumes it. While suspended a connection is
 * not watched by libmicrohttpd, so a watchdog thread polls the parked
 * sockets for a hang-up and cancels those calls. */
#ifndef TP_HTTP_SERVER_H
#define TP_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "sigv4.h"

typedef struct cJSON cJSON;

#define TP_HTTP_MAX_BODY (32u * 1024u * 1024u)
/* DynamoDB refuses a request body over 16 MB with 413. */
#define TP_HTTP_DYNAMODB_MAX_BODY (16u * 1024u * 1024u)

/* The answer to a parked call (see tp_http_call.done): rc 0 with out (owned
 * by the callee from then on, may be NULL) or -1 with err. */
typedef void (*tp_http_done_fn)(void *arg, int rc, cJSON *out, const tp_error *err);

/* What one API call needs besides its request tree. */
typedef struct tp_http_call {
    const tp_scope *scope;
    const char *service;     /* dispatch service name: "dynamodb" */
    const char *operation;   /* "PutItem" */
    const char *endpoint;    /* "http://" + the Host header, or NULL */
    const char *security_token;   /* X-Amz-Security-Token, or NULL */
    /* Long polls. With done set, an action that has nothing to answer yet
     * (SQS ReceiveMessage with WaitTimeSeconds) parks: call returns
     * TP_HTTP_PARKED and sets parked_id; later, from an engine thread
     * with the engine lock held, done(done_arg, ...) is called exactly
     * once — unless cancel(parked_id) returned 1 first. done must not
     * call back into the host. Without done the call answers at once. */
    tp_http_done_fn done;
    void *done_arg;
    uint64_t parked_id;
} tp_http_call;

#define TP_HTTP_PARKED 1

typedef struct tp_http_host {
    void *ctx;
    /* One API call: 0 with *out, -1 with err, or TP_HTTP_PARKED (see
     * tp_http_call). request_id is filled in every case. */
    int (*call)(void *ctx, tp_http_call *call, cJSON *in, cJSON **out, tp_error *err,
                char *request_id, size_t rid_cap);
    /* Forgets a parked call whose client went away: 1 when it was still
     * parked (done will never be called), 0 when its answer is already on
     * the way (done has been or is being called). May be NULL. */
    int (*cancel)(void *ctx, uint64_t parked_id);
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
    /* Signature verification (serve --verify-signatures). NULL or -1: off.
     * Else 0 with the access key's secret and the current time on
     * tidepool's clock, or 1 when the key is unknown. */
    int (*credentials)(void *ctx, const char *access_key, char *secret, size_t cap,
                       int64_t *now_ms);
} tp_http_host;

typedef struct tp_http_server tp_http_server;

/* Connection hygiene. Connections are served by `threads` event loops
 * (epoll), never a thread per connection, so an idle or slow client holds
 * a socket, not a worker. */
typedef struct tp_http_limits {
    int threads;              /* event-loop threads; <= 0: 2 */
    int idle_timeout_s;       /* a connection with no traffic for this long
                                 is closed (keep-alive or mid-request); 0: never */
    int max_connections;      /* accepted at once; more wait in the backlog; <= 0: 10000 */
} tp_http_limits;

#define TP_HTTP_IDLE_TIMEOUT_S 300
#define TP_HTTP_MAX_CONNECTIONS 10000

tp_http_server *tp_http_start(const char *host, int port, const tp_http_limits *limits,
                              const tp_http_host *h, char *why, size_t whylen);
void tp_http_stop(tp_http_server *s);
/* The port it listens on (the kernel's choice when started with port 0). */
int tp_http_port(const tp_http_server *s);

#endif
