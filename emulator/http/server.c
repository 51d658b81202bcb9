/* http/server — libmicrohttpd front door (server.h).
 *
 * Order of checks for awsJson requests follows AWS's front end (dynalite
 * measured it): method/content type -> JSON syntax -> operation -> auth ->
 * empty body -> the engine (model validation, action). */
#include "server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "awsjson.h"
#include "cbor.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "restjson.h"
#include "router.h"

struct tp_http_server {
    struct MHD_Daemon *daemon;
    tp_http_host host;
};

typedef struct conn_state {
    tp_buf body;
    int too_large;
} conn_state;

static enum MHD_Result send_body(struct MHD_Connection *c, int status, const char *content_type,
                                 const char *request_id, int crc, tp_buf *body)
{
    size_t len = body->len;
    char *data = tp_buf_take(body);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(data);
        return MHD_NO;
    }
    if (content_type)
        MHD_add_response_header(r, "Content-Type", content_type);
    if (request_id && *request_id)
        MHD_add_response_header(r, "x-amzn-RequestId", request_id);
    if (crc) {
        char v[16];
        snprintf(v, sizeof v, "%u", (unsigned)tp_crc32(data, len));
        MHD_add_response_header(r, "x-amz-crc32", v);
    }
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json_error_fields(struct MHD_Connection *c,
                                              const tp_json_service *svc,
                                              const char *content_type, const char *rid,
                                              const tp_error *err, const cJSON *fields)
{
    tp_buf b;
    tp_buf_init(&b);
    tp_awsjson_error_fields(svc, err, fields, &b);
    return send_body(c, err->status, content_type, rid, svc->crc32, &b);
}

static enum MHD_Result send_json_error(struct MHD_Connection *c, const tp_json_service *svc,
                                       const char *content_type, const char *rid,
                                       const tp_error *err)
{
    tp_buf b;
    tp_buf_init(&b);
    tp_awsjson_error(svc, err, &b);
    return send_body(c, err->status, content_type, rid, svc->crc32, &b);
}

static int is_json_content_type(const char *ct)
{
    return ct && (strcasecmp(ct, "application/x-amz-json-1.0") == 0 ||
                  strcasecmp(ct, "application/x-amz-json-1.1") == 0 ||
                  strcasecmp(ct, "application/json") == 0);
}

static enum MHD_Result handle_awsjson(tp_http_server *s, struct MHD_Connection *c,
                                      const char *method, const tp_route *route,
                                      const char *body, size_t len)
{
    const tp_json_service *svc = route->svc;
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    char rid[64];
    s->host.request_id(s->host.ctx, rid, sizeof rid);
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
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *date = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Date");
    if (!date)
        date = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Date");
    if (tp_sigv4_parse(auth, date, &scope, &err) != 0) {
        cJSON_Delete(in);
        return send_json_error(c, svc, resp_ct, rid, &err);
    }
    if (!in) {
        tp_fail(&err, TP_ERR_SERIALIZATION, NULL);
        return send_json_error(c, svc, resp_ct, rid, &err);
    }
    cJSON *out = NULL;
    int rc = s->host.call(s->host.ctx, &scope, svc->service, route->operation, in, &out, &err,
                          rid, sizeof rid);
    cJSON_Delete(in);
    if (rc != 0 && (strcmp(err.code, "ConnectionDropped") == 0 ||
                    strcmp(err.code, "ResponseLost") == 0)) {
        /* fault injection: close the connection without an answer */
        cJSON_Delete(out);
        return MHD_NO;
    }
    if (rc != 0) {
        /* a failed call may leave the error's extra members in out */
        enum MHD_Result ret = send_json_error_fields(c, svc, resp_ct, rid, &err, out);
        cJSON_Delete(out);
        return ret;
    }
    char *text = out ? tp_json_print(out) : NULL;
    cJSON_Delete(out);
    tp_buf b;
    tp_buf_init(&b);
    if (text) {
        b.data = text;
        b.len = strlen(text);
        b.cap = b.len + 1;
    } else {
        tp_buf_puts(&b, "{}");
    }
    return send_body(c, 200, resp_ct, rid, svc->crc32, &b);
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

static enum MHD_Result handle_cbor(tp_http_server *s, struct MHD_Connection *c, const char *method,
                                   const tp_route *route, const char *body, size_t len)
{
    char rid[64];
    s->host.request_id(s->host.ctx, rid, sizeof rid);
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
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *date = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Date");
    if (!date)
        date = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Date");
    if (tp_sigv4_parse(auth, date, &scope, &err) != 0) {
        cJSON_Delete(in);
        return send_cbor_error(c, rid, &err, NULL);
    }
    if (!in) {
        tp_fail(&err, TP_ERR_SERIALIZATION, NULL);
        return send_cbor_error(c, rid, &err, NULL);
    }
    cJSON *out = NULL;
    int rc = s->host.call(s->host.ctx, &scope, route->svc->service, route->operation, in, &out, &err,
                          rid, sizeof rid);
    cJSON_Delete(in);
    if (rc != 0 && (strcmp(err.code, "ConnectionDropped") == 0 ||
                    strcmp(err.code, "ResponseLost") == 0)) {
        cJSON_Delete(out);
        return MHD_NO;
    }
    enum MHD_Result ret;
    if (rc != 0) {
        ret = send_cbor_error(c, rid, &err, out);
    } else if (out) {
        ret = send_cbor(c, 200, rid, out);
    } else {
        cJSON *empty = cJSON_CreateObject();
        ret = send_cbor(c, 200, rid, empty);
        cJSON_Delete(empty);
    }
    cJSON_Delete(out);
    return ret;
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
    size_t len = resp->body.len;
    char *data = tp_buf_take(&resp->body);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(data);
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
                                       const tp_rest_api *api, const char *method,
                                       const char *url, const char *body, size_t len)
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
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *date = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Date");
    if (!date)
        date = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Date");
    if (tp_sigv4_parse(auth, date, &scope, &err) != 0)
        return send_rest_error(c, api, rid, &err, NULL);
    cJSON *in = NULL;
    if (tp_restjson_decode(op, &rq, &in, &err) != 0)
        return send_rest_error(c, api, rid, &err, NULL);
    cJSON *out = NULL;
    int rc = s->host.call(s->host.ctx, &scope, api->service, op->name, in, &out, &err, rid,
                          sizeof rid);
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
    if (st->too_large) {
        tp_buf b;
        tp_buf_init(&b);
        return send_body(c, 413, NULL, NULL, 0, &b);
    }
    const char *target = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Target");
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    const char *body = st->body.data ? st->body.data : "";
    tp_route route;
    tp_route_request(method, url, target, ct, body, st->body.len, &route);
    switch (route.kind) {
    case TP_ROUTE_CONTROL:
        return handle_control(s, c, method, url, body, st->body.len);
    case TP_ROUTE_AWSJSON:
        if (is_cbor_content_type(ct))
            return handle_cbor(s, c, method, &route, body, st->body.len);
        return handle_awsjson(s, c, method, &route, body, st->body.len);
    case TP_ROUTE_LAMBDA:
        if (s->host.lambda_rest)
            return handle_restjson(s, c, s->host.lambda_rest, method, url, body, st->body.len);
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
        return handle_awsjson(s, c, method, &r, body, st->body.len);
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
    free(st);
    *con_cls = NULL;
}

tp_http_server *tp_http_start(const char *host, int port, int threads, const tp_http_host *h,
                              char *why, size_t whylen)
{
    tp_http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    s->host = *h;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        snprintf(why, whylen, "--host must be an IPv4 address, got '%s'", host);
        free(s);
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(threads > 0 ? threads : 2),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)300, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)1, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(why, whylen, "cannot listen on %s:%d (port in use?)", host, port);
        free(s);
        return NULL;
    }
    return s;
}

void tp_http_stop(tp_http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
