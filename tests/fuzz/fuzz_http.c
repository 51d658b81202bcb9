/* Fuzz target: the front door without sockets — http/router picks the
 * API from method, path, X-Amz-Target and Content-Type; the request goes
 * through its protocol (awsJson with core/json, Kinesis CBOR, SQS query,
 * Lambda restJson, the /_tidepool/ control API), SigV4 credential scope,
 * the engine (fuzz_engine.h's world), and back out through the same
 * protocol's answer or error envelope (http/awsjson, query, cbor,
 * restjson). It follows server.c's on_request, minus libmicrohttpd:
 * bodies are not inflated, long polls answer at once.
 *
 * Input: a request in fuzz_request.h's text form, e.g.
 *   POST /\nX-Amz-Target: DynamoDB_20120810.GetItem\n
 *   Content-Type: application/x-amz-json-1.0\nX-Amz-Date: 20240101T000000Z\n
 *   Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/dynamodb/aws4_request,
 *   SignedHeaders=host, Signature=0\n\n{"TableName":"t",...} */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "engine_internal.h"
#include "fuzz_engine.h"
#include "fuzz_request.h"
#include "http/awsjson.h"
#include "http/cbor.h"
#include "http/query.h"
#include "http/restjson.h"
#include "http/router.h"
#include "http/sigv4.h"

static const char *const cbor_blobs[] = {"Data", NULL};
static const char *const cbor_times[] = {"ApproximateArrivalTimestamp", "StreamCreationTimestamp",
                                         "ConsumerCreationTimestamp", "Timestamp", NULL};
static const tp_cbor_hints cbor_hints = {.blobs = cbor_blobs, .timestamps = cbor_times};

static int scope_of(fz_request *fr, tp_scope *scope, tp_error *err)
{
    const char *date = fz_header(fr, "X-Amz-Date");
    return tp_sigv4_parse(fz_header(fr, "Authorization"), date ? date : fz_header(fr, "Date"),
                          scope, err);
}

static int call(tp_http_host *h, const tp_scope *scope, const char *service, const char *op,
                cJSON *in, cJSON **out, tp_error *err)
{
    tp_http_call c = {.scope = scope, .service = service, .operation = op,
                      .endpoint = "http://localhost:4566"};
    char rid[64];
    *out = NULL;
    tp_error_clear(err);
    int rc = h->call(h->ctx, &c, in, out, err, rid, sizeof rid);
    if (rc == TP_HTTP_PARKED)
        abort();   /* no done callback: nothing may park */
    return rc;
}

/* handle_awsjson / handle_cbor */
static void serve_awsjson(tp_http_host *h, fz_request *fr, const tp_route *route, tp_buf *b)
{
    const tp_json_service *svc = route->svc;
    const char *ct = fz_header(fr, "Content-Type");
    int cbor = ct && strncasecmp(ct, "application/x-amz-cbor-1.1", 26) == 0;
    tp_error err;
    tp_error_clear(&err);
    cJSON *in = NULL, *out = NULL;
    int rc = -1;
    if (fr->len) {
        char why[128];
        in = cbor ? tp_cbor_decode(fr->body, fr->len, why, sizeof why)
                  : tp_json_parse(fr->body, fr->len);
    }
    tp_scope scope;
    if (strcmp(fr->method, "POST") != 0) {
        tp_buf_puts(b, "<UnknownOperationException/>\n");
        cJSON_Delete(in);
        return;
    }
    if (!cJSON_IsObject(in))
        tp_fail(&err, TP_ERR_SERIALIZATION, NULL);
    else if (!route->operation || !h->has_operation(h->ctx, svc->service, route->operation))
        tp_fail(&err, TP_ERR_UNKNOWN_OPERATION, NULL);
    else if (scope_of(fr, &scope, &err) == 0)
        rc = call(h, &scope, svc->service, route->operation, in, &out, &err);
    cJSON_Delete(in);
    if (cbor) {
        cJSON *o = out;
        if (rc != 0) {
            o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "__type", err.code);
            cJSON_AddStringToObject(o, "message", err.message);
            cJSON_Delete(out);
        }
        if (o && tp_cbor_encode(o, &cbor_hints, b) != 0)
            abort();
        cJSON_Delete(o);
        return;
    }
    if (rc != 0) {
        if (tp_awsjson_error_fields(svc, &err, out, b) != 0)
            abort();
    } else {
        char *text = out ? tp_json_print(out) : NULL;
        if (out && !text)
            abort();
        free(text);
    }
    cJSON_Delete(out);
}

/* handle_query */
static void serve_query(tp_http_host *h, fz_request *fr, tp_buf *b)
{
    tp_qform form;
    tp_qform_init(&form);
    if (strcmp(fr->method, "GET") == 0) {
        for (unsigned i = 0; i < fr->nq; i++)
            tp_qform_add(&form, fr->qname[i], strlen(fr->qname[i]), fr->qvalue[i],
                         strlen(fr->qvalue[i]));
    } else {
        tp_qform_parse(&form, fr->body, fr->len);
    }
    tp_error err;
    tp_error_clear(&err);
    const tp_qop *op = tp_query_find_op(&tp_sqs_query_api, tp_qform_get(&form, "Action"));
    tp_scope scope;
    cJSON *in = NULL, *out = NULL;
    int rc = -1;
    if (!op || !h->has_operation(h->ctx, "sqs", op->name))
        tp_fail_raw(&err, 400, "InvalidAction", "The action is not valid for this endpoint.");
    else if (scope_of(fr, &scope, &err) == 0 && (in = tp_query_decode(op, &form)) != NULL)
        rc = call(h, &scope, "sqs", op->name, in, &out, &err);
    tp_qform_free(&form);
    cJSON_Delete(in);
    if (rc == 0)
        tp_query_encode(&tp_sqs_query_api, op, out, "rid", b);
    else
        tp_query_error(&tp_sqs_query_api, &err, "rid", b);
    cJSON_Delete(out);
}

/* handle_restjson */
static void serve_lambda(tp_http_host *h, fz_request *fr)
{
    const tp_rest_api *api = h->lambda_rest;
    tp_rest_request rq = {.method = fr->method, .path = fr->path, .header = fz_header,
                          .query = fz_query, .ctx = fr, .body = fr->body, .len = fr->len};
    tp_rest_response resp;
    tp_rest_response_init(&resp);
    const tp_rest_op *op = tp_restjson_match(api, &rq);
    tp_error err;
    tp_error_clear(&err);
    tp_scope scope;
    cJSON *in = NULL, *out = NULL;
    if (!op || !h->has_operation(h->ctx, api->service, op->name)) {
        tp_restjson_unknown(&resp);
    } else if (scope_of(fr, &scope, &err) != 0 || tp_restjson_decode(op, &rq, &in, &err) != 0) {
        tp_restjson_error(api, &err, NULL, &resp);
    } else if (call(h, &scope, api->service, op->name, in, &out, &err) != 0) {
        tp_restjson_error(api, &err, out, &resp);
    } else {
        tp_restjson_encode(op, out, &resp);
    }
    cJSON_Delete(in);
    cJSON_Delete(out);
    tp_rest_response_free(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_request fr;
    if (fz_request_parse(&fr, data, size) != 0)
        return 0;
    tp_http_host h;
    tp_engine_http_host(fz_engine_fresh(), &h);
    tp_route route;
    tp_route_request(fr.method, fr.path, fz_header(&fr, "X-Amz-Target"),
                     fz_header(&fr, "Content-Type"), fr.body, fr.len, &route);
    if (route.kind == TP_ROUTE_UNKNOWN && strcmp(fr.method, "GET") == 0 && fz_query(&fr, "Action"))
        route.kind = TP_ROUTE_SQS_QUERY;
    tp_buf b;
    tp_buf_init(&b);
    switch (route.kind) {
    case TP_ROUTE_CONTROL: {
        const char *ct = NULL;
        h.control(h.ctx, fr.method, fr.path, fr.body, fr.len, &b, &ct);
        break;
    }
    case TP_ROUTE_AWSJSON:
        serve_awsjson(&h, &fr, &route, &b);
        break;
    case TP_ROUTE_SQS_QUERY:
        serve_query(&h, &fr, &b);
        break;
    case TP_ROUTE_LAMBDA:
        serve_lambda(&h, &fr);
        break;
    default: {
        tp_route r = {.kind = TP_ROUTE_AWSJSON, .svc = tp_route_default_service()};
        serve_awsjson(&h, &fr, &r, &b);
        break;
    }
    }
    tp_buf_free(&b);
    fz_request_free(&fr);
    return 0;
}
