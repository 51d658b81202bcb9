/* http/server — libmicrohttpd front door (server.h).
 *
 * Order of checks for awsJson requests follows AWS's front end (dynalite
 * measured it): method/content type -> JSON syntax -> operation -> auth ->
 * empty body -> the engine (model validation, action). */
#include "server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "awsjson.h"
#include "cbor.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "query.h"
#include "restjson.h"
#include "router.h"
#include "surface.h"

typedef struct conn_state conn_state;

struct tp_http_server {
    struct MHD_Daemon *daemon;
    tp_http_host host;
    /* Suspended connections (parked long polls), guarded by mu. */
    pthread_mutex_t mu;
    pthread_cond_t drained;
    conn_state *parked;
    size_t nparked;
    int stopping;
    pthread_t watchdog;
    int watchdog_running;
    int wake_pipe[2];   /* tells the watchdog the parked set changed */
};

/* How the answer to this request is written: decided before the call so a
 * parked call's late answer is written the same way. */
typedef enum { PROTO_JSON, PROTO_QUERY, PROTO_CBOR } proto_kind;

typedef enum {
    PARK_NONE,
    PARK_WAITING,    /* the host parked the call; its answer has not come */
    PARK_ANSWERED,   /* rc/out/err hold the answer */
} park_state;

struct conn_state {
    tp_buf body;
    int too_large;
    /* a long poll: linked into server->parked while suspended */
    tp_http_server *server;
    struct MHD_Connection *conn;
    park_state park;
    int suspended, hung_up;
    uint64_t parked_id;
    int fd;
    conn_state *prev, *next;
    /* the answer */
    proto_kind proto;
    const tp_json_service *svc;
    const char *resp_ct;
    const tp_qop *qop;
    char rid[64];
    char endpoint[300];
    /* --verify-signatures: the body's SHA-256 as sent, and the request line */
    char payload_sha[65];
    const char *method, *url;
    int rc;
    cJSON *out;
    tp_error err;
};

/* Every answer's response: gzip-compressed when the client takes it (the
 * bytes x-amz-crc32 then covers, as DynamoDB computes it), with the CORS
 * headers. Takes body's bytes. */
static struct MHD_Response *make_response(struct MHD_Connection *c, tp_buf *body,
                                          const char **data_out, size_t *len_out)
{
    int gz = 0;
    if (body->len && tp_http_accepts_gzip(c)) {
        tp_buf z;
        tp_buf_init(&z);
        if (tp_http_gzip(body->data, body->len, &z) == 0) {
            tp_buf_free(body);
            *body = z;
            gz = 1;
        } else {
            tp_buf_free(&z);   /* answer uncompressed */
        }
    }
    size_t len = body->len;
    char *data = tp_buf_take(body);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(data);
        return NULL;
    }
    if (gz)
        MHD_add_response_header(r, "Content-Encoding", "gzip");
    tp_http_cors_headers(r);
    *data_out = data;
    *len_out = len;
    return r;
}

static enum MHD_Result send_body_hdr(struct MHD_Connection *c, int status,
                                     const char *content_type, const char *request_id, int crc,
                                     const char *hname, const char *hvalue, tp_buf *body)
{
    const char *data = NULL;
    size_t len = 0;
    struct MHD_Response *r = make_response(c, body, &data, &len);
    if (!r)
        return MHD_NO;
    if (content_type)
        MHD_add_response_header(r, "Content-Type", content_type);
    if (request_id && *request_id)
        MHD_add_response_header(r, "x-amzn-RequestId", request_id);
    if (crc) {
        char v[16];
        snprintf(v, sizeof v, "%u", (unsigned)tp_crc32(data, len));
        MHD_add_response_header(r, "x-amz-crc32", v);
    }
    if (hname && hvalue)
        MHD_add_response_header(r, hname, hvalue);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_body(struct MHD_Connection *c, int status, const char *content_type,
                                 const char *request_id, int crc, tp_buf *body)
{
    return send_body_hdr(c, status, content_type, request_id, crc, NULL, NULL, body);
}

static enum MHD_Result send_json_error_fields(struct MHD_Connection *c,
                                              const tp_json_service *svc,
                                              const char *content_type, const char *rid,
                                              const tp_error *err, const cJSON *fields)
{
    tp_buf b;
    tp_buf_init(&b);
    tp_awsjson_error_fields(svc, err, fields, &b);
    char qe[300];
    const char *qh = NULL;
    if (svc->query_compat) {
        /* SQS: the code a query client would see, which the JSON SDKs
         * report too (botocore's QueryErrorCode, the JS SDK's Code) */
        const char *code;
        int sender;
        tp_query_error_code(&tp_sqs_query_api, err, &code, &sender);
        snprintf(qe, sizeof qe, "%s;%s", code, sender ? "Sender" : "Receiver");
        qh = qe;
    }
    return send_body_hdr(c, err->status, content_type, rid, svc->crc32, "x-amzn-query-error", qh,
                         &b);
}

static enum MHD_Result send_json_error(struct MHD_Connection *c, const tp_json_service *svc,
                                       const char *content_type, const char *rid,
                                       const tp_error *err)
{
    return send_json_error_fields(c, svc, content_type, rid, err, NULL);
}

static enum MHD_Result send_query_error(struct MHD_Connection *c, const char *rid,
                                        const tp_error *err)
{
    tp_buf b;
    tp_buf_init(&b);
    tp_query_error(&tp_sqs_query_api, err, rid, &b);
    return send_body(c, err->status, "text/xml", rid, 0, &b);
}

/* --- answers, now or after a park ---------------------------------------- */

static int is_lost(int rc, const tp_error *err)
{
    /* fault injection: close the connection without an answer */
    return rc != 0 && (strcmp(err->code, "ConnectionDropped") == 0 ||
                       strcmp(err->code, "ResponseLost") == 0);
}

/* --- CBOR (Kinesis: application/x-amz-cbor-1.1) ---------------------------
 * The same flow as handle_awsjson with CBOR bodies both ways (http/cbor.h);
 * only Kinesis speaks it. Errors are the CBOR map {"__type", "message"}. */

static int is_cbor_content_type(const char *ct)
{
    return ct && strncasecmp(ct, "application/x-amz-cbor-1.1", 26) == 0;
}

static const char *const kinesis_blobs[] = {"Data", NULL};
static const char *const kinesis_times[] = {"ApproximateArrivalTimestamp", "StreamCreationTimestamp",
                                            "ConsumerCreationTimestamp", "Timestamp", NULL};
static const tp_cbor_hints kinesis_hints = {.blobs = kinesis_blobs, .timestamps = kinesis_times};

static enum MHD_Result send_cbor(struct MHD_Connection *c, int status, const char *rid,
                                 const cJSON *tree)
{
    tp_buf b;
    tp_buf_init(&b);
    if (tp_cbor_encode(tree, &kinesis_hints, &b) != 0)
        tp_buf_reset(&b);
    return send_body(c, status, "application/x-amz-cbor-1.1", rid, 0, &b);
}

static enum MHD_Result send_cbor_error(struct MHD_Connection *c, const char *rid,
                                       const tp_error *err, const cJSON *fields)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "__type", err->code);
    if (err->message[0])
        cJSON_AddStringToObject(o, "message", err->message);
    const cJSON *f;
    cJSON_ArrayForEach(f, fields)
    {
        if (f->string && !cJSON_GetObjectItemCaseSensitive(o, f->string))
            cJSON_AddItemToObject(o, f->string, cJSON_Duplicate(f, 1));
    }
    enum MHD_Result ret = send_cbor(c, err->status, rid, o);
    cJSON_Delete(o);
    return ret;
}

/* Writes the call's answer in the request's protocol; consumes out. */
static enum MHD_Result answer(struct MHD_Connection *c, conn_state *st, int rc, cJSON *out,
                              const tp_error *err)
{
    if (is_lost(rc, err)) {
        cJSON_Delete(out);
        return MHD_NO;
    }
    tp_buf b;
    tp_buf_init(&b);
    if (st->proto == PROTO_CBOR) {
        enum MHD_Result ret;
        if (rc != 0) {
            ret = send_cbor_error(c, st->rid, err, out);
        } else {
            cJSON *empty = out ? NULL : cJSON_CreateObject();
            ret = send_cbor(c, 200, st->rid, out ? out : empty);
            cJSON_Delete(empty);
        }
        cJSON_Delete(out);
        return ret;
    }
    if (st->proto == PROTO_QUERY) {
        if (rc != 0) {
            cJSON_Delete(out);   /* a failed call's extra error members have no XML form */
            return send_query_error(c, st->rid, err);
        }
        tp_query_encode(&tp_sqs_query_api, st->qop, out, st->rid, &b);
        cJSON_Delete(out);
        return send_body(c, 200, "text/xml", st->rid, 0, &b);
    }
    if (rc != 0) {
        /* a failed call may leave the error's extra members in out */
        enum MHD_Result ret = send_json_error_fields(c, st->svc, st->resp_ct, st->rid, err, out);
        cJSON_Delete(out);
        return ret;
    }
    char *text = out ? tp_json_print(out) : NULL;
    cJSON_Delete(out);
    if (text) {
        b.data = text;
        b.len = strlen(text);
        b.cap = b.len + 1;
    } else {
        tp_buf_puts(&b, "{}");
    }
    return send_body(c, 200, st->resp_ct, st->rid, st->svc->crc32, &b);
}

static void park_link(tp_http_server *s, conn_state *st)
{
    st->prev = NULL;
    st->next = s->parked;
    if (s->parked)
        s->parked->prev = st;
    s->parked = st;
    s->nparked++;
}

static void park_unlink(tp_http_server *s, conn_state *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else
        s->parked = st->next;
    if (st->next)
        st->next->prev = st->prev;
    st->prev = st->next = NULL;
    s->nparked--;
    if (!s->nparked)
        pthread_cond_broadcast(&s->drained);
}

static void poke_watchdog(tp_http_server *s)
{
    char x = 1;
    if (s->wake_pipe[1] >= 0 && write(s->wake_pipe[1], &x, 1) < 0) {
        /* full pipe: the watchdog is already due to look */
    }
}

/* The engine's answer to a parked call (engine thread, engine lock held):
 * keep it and resume the connection, whose handler writes it. */
static void on_parked_done(void *arg, int rc, cJSON *out, const tp_error *err)
{
    conn_state *st = arg;
    tp_http_server *s = st->server;
    pthread_mutex_lock(&s->mu);
    st->rc = rc;
    st->out = out;
    if (err)
        st->err = *err;
    st->park = PARK_ANSWERED;
    if (st->suspended) {
        park_unlink(s, st);
        st->suspended = 0;
        MHD_resume_connection(st->conn);
    }
    pthread_mutex_unlock(&s->mu);
}

/* One API call through the host; a parked one suspends the connection. */
static enum MHD_Result run_call(tp_http_server *s, struct MHD_Connection *c, conn_state *st,
                                const tp_scope *scope, const char *service, const char *operation,
                                cJSON *in)
{
    tp_http_call call = {.scope = scope, .service = service, .operation = operation,
                         .endpoint = st->endpoint[0] ? st->endpoint : NULL,
                         .security_token = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                                       "X-Amz-Security-Token"),
                         .done = s->host.cancel ? on_parked_done : NULL, .done_arg = st};
    cJSON *out = NULL;
    tp_error err;
    tp_error_clear(&err);
    st->server = s;
    st->conn = c;
    st->park = PARK_WAITING;
    int rc = s->host.call(s->host.ctx, &call, in, &out, &err, st->rid, sizeof st->rid);
    cJSON_Delete(in);
    if (rc != TP_HTTP_PARKED) {
        st->park = PARK_NONE;
        return answer(c, st, rc, out, &err);
    }
    pthread_mutex_lock(&s->mu);
    if (st->park == PARK_ANSWERED) {
        /* the answer came before we could suspend */
        pthread_mutex_unlock(&s->mu);
        st->park = PARK_NONE;
        cJSON *o = st->out;
        st->out = NULL;
        return answer(c, st, st->rc, o, &st->err);
    }
    st->parked_id = call.parked_id;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    st->fd = ci ? ci->connect_fd : -1;
    park_link(s, st);
    st->suspended = 1;
    MHD_suspend_connection(c);
    pthread_mutex_unlock(&s->mu);
    poke_watchdog(s);
    return MHD_YES;
}

/* Watches parked sockets for a client that went away: libmicrohttpd does
 * not while a connection is suspended. A hang-up cancels the parked call
 * and resumes the connection to close it. */
static void *watchdog_main(void *p)
{
    tp_http_server *s = p;
    struct pollfd *pfd = NULL;
    uint64_t *ids = NULL;
    size_t cap = 0;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        if (s->stopping) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        if (s->nparked + 1 > cap) {
            size_t ncap = (s->nparked + 1) * 2;
            struct pollfd *np = realloc(pfd, ncap * sizeof *np);
            if (np)
                pfd = np;
            uint64_t *ni = np ? realloc(ids, ncap * sizeof *ni) : NULL;
            if (ni)
                ids = ni;
            if (np && ni)
                cap = ncap;
        }
        if (!cap) {
            /* out of memory: look again in a while */
            pthread_mutex_unlock(&s->mu);
            poll(NULL, 0, 100);
            continue;
        }
        size_t n = 0;
        pfd[n++] = (struct pollfd){.fd = s->wake_pipe[0], .events = POLLIN};
        for (conn_state *st = s->parked; st && n < cap; st = st->next) {
            if (st->fd < 0)
                continue;
            ids[n] = st->parked_id;
            pfd[n++] = (struct pollfd){.fd = st->fd, .events = POLLRDHUP};
        }
        pthread_mutex_unlock(&s->mu);
        int r = poll(pfd, (nfds_t)n, 1000);
        if (r <= 0)
            continue;
        if (pfd[0].revents) {
            char buf[64];
            while (read(s->wake_pipe[0], buf, sizeof buf) > 0) {
            }
        }
        for (size_t i = 1; i < n; i++) {
            if (!(pfd[i].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
                continue;
            /* ids[i] is still parked only if cancel says so; then nobody
             * else touches its connection, which is ours to resume */
            if (s->host.cancel(s->host.ctx, ids[i]) != 1)
                continue;
            pthread_mutex_lock(&s->mu);
            for (conn_state *st = s->parked; st; st = st->next) {
                if (st->parked_id == ids[i]) {
                    park_unlink(s, st);
                    st->suspended = 0;
                    st->hung_up = 1;
                    MHD_resume_connection(st->conn);
                    break;
                }
            }
            pthread_mutex_unlock(&s->mu);
        }
    }
    free(pfd);
    free(ids);
    return NULL;
}

static void endpoint_of(struct MHD_Connection *c, conn_state *st)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    st->endpoint[0] = '\0';
    if (host && *host && strlen(host) < sizeof st->endpoint - 8 && !strpbrk(host, " /\"<>"))
        snprintf(st->endpoint, sizeof st->endpoint, "http://%s", host);
}

static const char *url_arg(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static const char *header_of(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

typedef struct qlist {
    const char **k, **v;
    size_t n, cap;
} qlist;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    qlist *q = cls;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        const char **k = realloc(q->k, cap * sizeof *k), **v = k ? realloc(q->v, cap * sizeof *v) : NULL;
        if (k)
            q->k = k;
        if (!k || !v)
            return MHD_NO;
        q->v = v;
        q->cap = cap;
    }
    q->k[q->n] = key;
    q->v[q->n++] = value ? value : "";
    return MHD_YES;
}

/* --verify-signatures (host.credentials says whether it is on): the
 * Authorization header's signature must be the one the caller's secret
 * makes. Presigned URLs are not verified. 0, or -1 with err. */
static int check_signature(tp_http_server *s, struct MHD_Connection *c, const conn_state *st,
                           const tp_scope *scope, tp_error *err)
{
    char secret[256];
    int64_t now_ms = 0;
    if (!s->host.credentials || !st)
        return 0;
    int known = s->host.credentials(s->host.ctx, scope->access_key, secret, sizeof secret, &now_ms);
    if (known < 0)
        return 0;
    if (known > 0)
        return tp_fail(err, TP_ERR_UNRECOGNIZED_CLIENT,
                       "The security token included in the request is invalid.");
    qlist q = {0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
    tp_sigv4_request rq = {.method = st->method, .path = st->url,
                           .query_keys = q.k, .query_values = q.v, .nquery = q.n,
                           .header = header_of, .header_ctx = c, .payload_hash = st->payload_sha};
    int rc = tp_sigv4_verify(&rq, header_of(c, "Authorization"), secret, now_ms, err);
    free(q.k);
    free(q.v);
    return rc;
}

/* Who is calling: SigV4 presigned in the URL when the URL carries it, else
 * the Authorization header (its signature checked when verification is
 * on). 0, or -1 with err. */
static int request_scope(tp_http_server *s, struct MHD_Connection *c, const conn_state *st,
                         tp_scope *scope, tp_error *err)
{
    int rc = 0;
    if (tp_http_presigned_scope(url_arg, c, scope, err, &rc))
        return rc;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *date = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Date");
    if (!date)
        date = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Date");
    if (tp_sigv4_parse(auth, date, scope, err) != 0)
        return -1;
    return check_signature(s, c, st, scope, err);
}

static int is_json_content_type(const char *ct)
{
    return ct && (strcasecmp(ct, "application/x-amz-json-1.0") == 0 ||
                  strcasecmp(ct, "application/x-amz-json-1.1") == 0 ||
                  strcasecmp(ct, "application/json") == 0);
}

static enum MHD_Result handle_awsjson(tp_http_server *s, struct MHD_Connection *c,
                                      conn_state *st, const char *method, const tp_route *route,
                                      const char *body, size_t len)
{
    const tp_json_service *svc = route->svc;
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    char *rid = st->rid;
    s->host.request_id(s->host.ctx, rid, sizeof st->rid);
    tp_error err;
    tp_error_clear(&err);

    if (strcmp(method, "POST") != 0 || (len && !is_json_content_type(ct))) {
        /* AWS answers a non-JSON request to a JSON service like this. */
        tp_buf b;
        tp_buf_init(&b);
        tp_buf_puts(&b, "<UnknownOperationException/>\n");
        return send_body(c, 404, NULL, rid, svc->crc32, &b);
    }
    const char *resp_ct = ct && strcasecmp(ct, "application/json") == 0 ? "application/json"
                                                                       : svc->content_type;
    cJSON *in = NULL;
    if (len) {
        in = tp_json_parse(body, len);
        if (!in || !cJSON_IsObject(in)) {
            cJSON_Delete(in);
            tp_fail(&err, TP_ERR_SERIALIZATION, NULL);
            return send_json_error(c, svc, resp_ct, rid, &err);
        }
    }
    if (!route->operation || !*route->operation ||
        !s->host.has_operation(s->host.ctx, svc->service, route->operation)) {
        cJSON_Delete(in);
        tp_fail(&err, TP_ERR_UNKNOWN_OPERATION, NULL);
        return send_json_error(c, svc, resp_ct, rid, &err);
    }
    tp_scope scope;
    if (request_scope(s, c, st, &scope, &err) != 0) {
        cJSON_Delete(in);
        return send_json_error(c, svc, resp_ct, rid, &err);
    }
    if (!in) {
        tp_fail(&err, TP_ERR_SERIALIZATION, NULL);
        return send_json_error(c, svc, resp_ct, rid, &err);
    }
    st->proto = PROTO_JSON;
    st->svc = svc;
    st->resp_ct = resp_ct;
    return run_call(s, c, st, &scope, svc->service, route->operation, in);
}

/* --- SQS query ------------------------------------------------------------ */

static enum MHD_Result add_form_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    tp_qform *f = cls;
    if (!value)
        value = "";
    return tp_qform_add(f, key, strlen(key), value, strlen(value)) == 0 ? MHD_YES : MHD_NO;
}

/* SigV4 in the Authorization header, or presigned in the form itself
 * (X-Amz-Credential, X-Amz-Date, ...), as query clients may send it. */
static int query_scope(tp_http_server *s, struct MHD_Connection *c, const conn_state *st,
                       const tp_qform *form, tp_scope *scope, tp_error *err)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *date = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Date");
    if (!date)
        date = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Date");
    const char *cred = tp_qform_get(form, "X-Amz-Credential");
    if (!auth && cred) {
        const char *sh = tp_qform_get(form, "X-Amz-SignedHeaders");
        const char *sig = tp_qform_get(form, "X-Amz-Signature");
        char built[1024];
        snprintf(built, sizeof built, "AWS4-HMAC-SHA256 Credential=%.400s, SignedHeaders=%.300s, "
                 "Signature=%.200s", cred, sh ? sh : "", sig ? sig : "");
        const char *qdate = tp_qform_get(form, "X-Amz-Date");
        return tp_sigv4_parse(built, qdate ? qdate : date, scope, err);
    }
    if (tp_sigv4_parse(auth, date, scope, err) != 0)
        return -1;
    return check_signature(s, c, st, scope, err);
}

static enum MHD_Result handle_query(tp_http_server *s, struct MHD_Connection *c, conn_state *st,
                                    const char *method, const char *url, const char *body,
                                    size_t len)
{
    s->host.request_id(s->host.ctx, st->rid, sizeof st->rid);
    tp_error err;
    tp_error_clear(&err);
    tp_qform form;
    tp_qform_init(&form);
    int bad = strcmp(method, "GET") == 0
                  ? MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_form_arg, &form) < 0
                  : tp_qform_parse(&form, body, len) != 0;
    if (bad) {
        tp_qform_free(&form);
        tp_fail(&err, TP_ERR_INTERNAL, "out of memory");
        return send_query_error(c, st->rid, &err);
    }
    const char *action = tp_qform_get(&form, "Action");
    const tp_qop *op = tp_query_find_op(&tp_sqs_query_api, action);
    if (!op || !s->host.has_operation(s->host.ctx, "sqs", op->name)) {
        tp_fail_raw(&err, 400, "InvalidAction", "The action %.200s is not valid for this endpoint.",
                    action ? action : "");
        tp_qform_free(&form);
        return send_query_error(c, st->rid, &err);
    }
    tp_scope scope;
    if (query_scope(s, c, st, &form, &scope, &err) != 0) {
        tp_qform_free(&form);
        if (tp_error_is(&err, TP_ERR_MISSING_AUTH))
            err.status = 403;   /* as STS's query API answers it; unverified for SQS */
        return send_query_error(c, st->rid, &err);
    }
    cJSON *in = tp_query_decode(op, &form);
    tp_qform_free(&form);
    if (!in) {
        tp_fail(&err, TP_ERR_INTERNAL, "out of memory");
        return send_query_error(c, st->rid, &err);
    }
    /* POSTed to the queue URL itself: that is the QueueUrl */
    if (strcmp(url, "/") != 0 && !cJSON_GetObjectItemCaseSensitive(in, "QueueUrl")) {
        for (size_t i = 0; op->input && i < op->input->nmembers; i++) {
            if (strcmp(op->input->members[i].name, "QueueUrl") == 0) {
                char qurl[1024];
                snprintf(qurl, sizeof qurl, "%s%s", st->endpoint[0] ? st->endpoint : "", url);
                cJSON_AddStringToObject(in, "QueueUrl", qurl);
                break;
            }
        }
    }
    st->proto = PROTO_QUERY;
    st->qop = op;
    return run_call(s, c, st, &scope, "sqs", op->name, in);
}

static enum MHD_Result handle_cbor(tp_http_server *s, struct MHD_Connection *c, conn_state *st,
                                   const char *method, const tp_route *route, const char *body,
                                   size_t len)
{
    char *rid = st->rid;
    s->host.request_id(s->host.ctx, rid, sizeof st->rid);
    tp_error err;
    tp_error_clear(&err);
    if (strcmp(method, "POST") != 0 || strcmp(route->svc->service, "kinesis") != 0) {
        tp_buf b;
        tp_buf_init(&b);
        tp_buf_puts(&b, "<UnknownOperationException/>\n");
        return send_body(c, 404, NULL, rid, 0, &b);
    }
    char why[128];
    cJSON *in = len ? tp_cbor_decode(body, len, why, sizeof why) : NULL;
    if (len && !cJSON_IsObject(in)) {
        cJSON_Delete(in);
        tp_fail(&err, TP_ERR_SERIALIZATION, NULL);
        return send_cbor_error(c, rid, &err, NULL);
    }
    if (!route->operation || !*route->operation ||
        !s->host.has_operation(s->host.ctx, route->svc->service, route->operation)) {
        cJSON_Delete(in);
        tp_fail(&err, TP_ERR_UNKNOWN_OPERATION, NULL);
        return send_cbor_error(c, rid, &err, NULL);
    }
    tp_scope scope;
    if (request_scope(s, c, st, &scope, &err) != 0) {
        cJSON_Delete(in);
        return send_cbor_error(c, rid, &err, NULL);
    }
    if (!in) {
        tp_fail(&err, TP_ERR_SERIALIZATION, NULL);
        return send_cbor_error(c, rid, &err, NULL);
    }
    st->proto = PROTO_CBOR;
    st->svc = route->svc;
    return run_call(s, c, st, &scope, route->svc->service, route->operation, in);
}

/* --- restJson (Lambda) ---------------------------------------------------- */

static const char *conn_header(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

static const char *conn_query(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result send_rest(struct MHD_Connection *c, const char *rid, tp_rest_response *resp)
{
    const char *data = NULL;
    size_t len = 0;
    struct MHD_Response *r = make_response(c, &resp->body, &data, &len);
    if (!r) {
        tp_rest_response_free(resp);
        return MHD_NO;
    }
    if (resp->content_type)
        MHD_add_response_header(r, "Content-Type", resp->content_type);
    if (rid && *rid)
        MHD_add_response_header(r, "x-amzn-RequestId", rid);
    for (unsigned i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->hname[i], resp->hvalue[i]);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    tp_rest_response_free(resp);
    return ret;
}

static enum MHD_Result send_rest_error(struct MHD_Connection *c, const tp_rest_api *api,
                                       const char *rid, const tp_error *err, const cJSON *fields)
{
    tp_rest_response resp;
    tp_rest_response_init(&resp);
    tp_restjson_error(api, err, fields, &resp);
    return send_rest(c, rid, &resp);
}

static enum MHD_Result handle_restjson(tp_http_server *s, struct MHD_Connection *c,
                                       const conn_state *st, const tp_rest_api *api,
                                       const char *endpoint,
                                       const char *method, const char *url, const char *body,
                                       size_t len)
{
    char rid[64];
    s->host.request_id(s->host.ctx, rid, sizeof rid);
    tp_error err;
    tp_error_clear(&err);
    tp_rest_request rq = {.method = method, .path = url, .header = conn_header,
                          .query = conn_query, .ctx = c, .body = body, .len = len};
    const tp_rest_op *op = tp_restjson_match(api, &rq);
    if (!op || !s->host.has_operation(s->host.ctx, api->service, op->name)) {
        tp_rest_response resp;
        tp_rest_response_init(&resp);
        tp_restjson_unknown(&resp);
        return send_rest(c, rid, &resp);
    }
    tp_scope scope;
    if (request_scope(s, c, st, &scope, &err) != 0)
        return send_rest_error(c, api, rid, &err, NULL);
    cJSON *in = NULL;
    if (tp_restjson_decode(op, &rq, &in, &err) != 0)
        return send_rest_error(c, api, rid, &err, NULL);
    cJSON *out = NULL;
    tp_http_call call = {.scope = &scope, .service = api->service, .operation = op->name,
                         .endpoint = endpoint,
                         .security_token = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                                       "X-Amz-Security-Token")};
    int rc = s->host.call(s->host.ctx, &call, in, &out, &err, rid, sizeof rid);
    cJSON_Delete(in);
    if (rc != 0 && (strcmp(err.code, "ConnectionDropped") == 0 ||
                    strcmp(err.code, "ResponseLost") == 0)) {
        cJSON_Delete(out);
        return MHD_NO;
    }
    if (rc != 0) {
        enum MHD_Result ret = send_rest_error(c, api, rid, &err, out);
        cJSON_Delete(out);
        return ret;
    }
    tp_rest_response resp;
    tp_rest_response_init(&resp);
    tp_restjson_encode(op, out, &resp);
    cJSON_Delete(out);
    return send_rest(c, rid, &resp);
}

static enum MHD_Result add_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    tp_buf *q = cls;
    tp_buf_printf(q, "%c%s=%s", q->len ? '&' : '?', key, value ? value : "");
    return MHD_YES;
}

static enum MHD_Result handle_control(tp_http_server *s, struct MHD_Connection *c,
                                      const char *method, const char *url, const char *body,
                                      size_t len)
{
    tp_buf b, path, query;
    tp_buf_init(&b);
    tp_buf_init(&path);
    tp_buf_init(&query);
    /* libmicrohttpd strips the query; control endpoints see it again */
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_query_arg, &query);
    tp_buf_printf(&path, "%s%s", url, query.len ? query.data : "");
    const char *ct = "application/json";
    int status = s->host.control(s->host.ctx, method, path.data ? path.data : url, body, len,
                                 &b, &ct);
    tp_buf_free(&path);
    tp_buf_free(&query);
    return send_body(c, status, ct, NULL, 0, &b);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    tp_http_server *s = cls;
    conn_state *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        *con_cls = st;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > TP_HTTP_MAX_BODY)
            st->too_large = 1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!st->too_large) {
            if (st->body.len + *upload_data_size > TP_HTTP_MAX_BODY)
                st->too_large = 1;
            else if (tp_buf_append(&st->body, upload_data, *upload_data_size) != 0)
                return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->hung_up)
        return MHD_NO;   /* resumed only to be closed */
    if (st->park == PARK_ANSWERED) {
        /* resumed: the parked call's answer is here */
        st->park = PARK_NONE;
        cJSON *o = st->out;
        st->out = NULL;
        return answer(c, st, st->rc, o, &st->err);
    }
    if (st->too_large) {
        tp_buf b;
        tp_buf_init(&b);
        return send_body(c, 413, NULL, NULL, 0, &b);
    }
    if (strcmp(method, "OPTIONS") == 0)
        return tp_http_preflight(c);   /* CORS preflight, for every API */
    const char *target = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Target");
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
    st->method = method;
    st->url = url;
    if (s->host.credentials)   /* the signature covers the bytes as sent */
        tp_sha256_hex(st->body.data ? st->body.data : "", st->body.len, st->payload_sha);
    int broken_encoding = 0;
    if (enc && *enc && strcasecmp(enc, "identity") != 0 && st->body.len) {
        tp_buf plain;
        tp_buf_init(&plain);
        int zr = tp_http_inflate(enc, st->body.data, st->body.len, TP_HTTP_MAX_BODY, &plain);
        if (zr == TP_INFLATE_TOO_LARGE) {
            tp_buf_free(&plain);
            tp_buf b;
            tp_buf_init(&b);
            return send_body(c, 413, NULL, NULL, 0, &b);
        }
        if (zr == TP_INFLATE_OK) {
            tp_buf_free(&st->body);
            st->body = plain;
        } else {
            tp_buf_free(&plain);
            broken_encoding = 1;
        }
    }
    const char *body = st->body.data ? st->body.data : "";
    endpoint_of(c, st);
    tp_route route;
    tp_route_request(method, url, target, ct, body, st->body.len, &route);
    if (route.kind == TP_ROUTE_AWSJSON && route.svc &&
        strncmp(route.svc->service, "dynamodb", 8) == 0 && st->body.len > TP_HTTP_DYNAMODB_MAX_BODY) {
        /* DynamoDB's own request limit, also for a body that was compressed */
        tp_buf b;
        tp_buf_init(&b);
        return send_body(c, 413, NULL, NULL, 0, &b);
    }
    if (broken_encoding) {
        /* unverified: the status AWS gives a body its Content-Encoding cannot decode */
        tp_error err;
        tp_fail(&err, TP_ERR_SERIALIZATION, NULL);
        s->host.request_id(s->host.ctx, st->rid, sizeof st->rid);
        if (route.kind == TP_ROUTE_AWSJSON && route.svc)
            return send_json_error(c, route.svc, route.svc->content_type, st->rid, &err);
        tp_buf b;
        tp_buf_init(&b);
        return send_body(c, 400, NULL, st->rid, 0, &b);
    }
    if (route.kind == TP_ROUTE_UNKNOWN && strcmp(method, "GET") == 0 &&
        !MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "Action")) {
        /* DynamoDB answers a plain GET with its health line */
        tp_buf b;
        tp_buf_init(&b);
        tp_http_health_line(NULL, &b);
        return send_body(c, 200, "text/plain", NULL, 1, &b);
    }
    /* SQS also takes a query request as a GET with Action= in the URL */
    if (route.kind == TP_ROUTE_UNKNOWN && strcmp(method, "GET") == 0 &&
        MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "Action"))
        route.kind = TP_ROUTE_SQS_QUERY;
    switch (route.kind) {
    case TP_ROUTE_CONTROL:
        return handle_control(s, c, method, url, body, st->body.len);
    case TP_ROUTE_AWSJSON:
        if (is_cbor_content_type(ct))
            return handle_cbor(s, c, st, method, &route, body, st->body.len);
        return handle_awsjson(s, c, st, method, &route, body, st->body.len);
    case TP_ROUTE_SQS_QUERY:
        return handle_query(s, c, st, method, url, body, st->body.len);
    case TP_ROUTE_LAMBDA:
        if (s->host.lambda_rest)
            return handle_restjson(s, c, st, s->host.lambda_rest,
                                   st->endpoint[0] ? st->endpoint : NULL, method, url, body,
                                   st->body.len);
        {
            tp_rest_response resp;
            tp_rest_response_init(&resp);
            tp_restjson_unknown(&resp);
            char rid[64];
            s->host.request_id(s->host.ctx, rid, sizeof rid);
            return send_rest(c, rid, &resp);
        }
    default: {
        /* Nothing claims it: answer as the default JSON service would a
         * request without a known operation. */
        tp_route r = {.kind = TP_ROUTE_AWSJSON, .svc = tp_route_default_service()};
        return handle_awsjson(s, c, st, method, &r, body, st->body.len);
    }
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    conn_state *st = *con_cls;
    if (!st)
        return;
    tp_buf_free(&st->body);
    cJSON_Delete(st->out);
    free(st);
    *con_cls = NULL;
}

tp_http_server *tp_http_start(const char *host, int port, const tp_http_limits *limits,
                              const tp_http_host *h, char *why, size_t whylen)
{
    tp_http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    s->host = *h;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->drained, NULL);
    s->wake_pipe[0] = s->wake_pipe[1] = -1;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        snprintf(why, whylen, "--host must be an IPv4 address, got '%s'", host);
        free(s);
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(limits->threads > 0 ? limits->threads : 2),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(limits->idle_timeout_s > 0 ? limits->idle_timeout_s : 0),
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(limits->max_connections > 0 ? limits->max_connections : TP_HTTP_MAX_CONNECTIONS),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)4096, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)1, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(why, whylen, "cannot listen on %s:%d (port in use?)", host, port);
        free(s);
        return NULL;
    }
    if (s->host.cancel) {
        if (pipe(s->wake_pipe) != 0 || fcntl(s->wake_pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
            fcntl(s->wake_pipe[1], F_SETFL, O_NONBLOCK) != 0 ||
            pthread_create(&s->watchdog, NULL, watchdog_main, s) != 0) {
            snprintf(why, whylen, "cannot start the long-poll watchdog");
            MHD_stop_daemon(s->daemon);
            free(s);
            return NULL;
        }
        s->watchdog_running = 1;
    }
    return s;
}

int tp_http_port(const tp_http_server *s)
{
    const union MHD_DaemonInfo *di =
        s ? MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    return di ? di->port : 0;
}

void tp_http_stop(tp_http_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_mutex_unlock(&s->mu);
    if (s->watchdog_running) {
        poke_watchdog(s);
        pthread_join(s->watchdog, NULL);
    }
    /* No connection may stay suspended when the daemon stops: cancel the
     * parked calls and close their connections; an answer already on its
     * way resumes its own. */
    pthread_mutex_lock(&s->mu);
    while (s->parked) {
        conn_state *st = s->parked;
        uint64_t id = st->parked_id;
        park_unlink(s, st);
        pthread_mutex_unlock(&s->mu);
        int cancelled = s->host.cancel(s->host.ctx, id);
        pthread_mutex_lock(&s->mu);
        if (cancelled == 1) {
            st->suspended = 0;
            st->hung_up = 1;
            MHD_resume_connection(st->conn);
        } else {
            park_link(s, st);   /* its answer unlinks it */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&s->drained, &s->mu, &ts);
        }
    }
    pthread_mutex_unlock(&s->mu);
    MHD_stop_daemon(s->daemon);
    if (s->wake_pipe[0] >= 0) {
        close(s->wake_pipe[0]);
        close(s->wake_pipe[1]);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->drained);
    free(s);
}
