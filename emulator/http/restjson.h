/* http/restjson — the AWS restJson1 protocol (Lambda): request -> one cJSON
 * object, action output -> status, headers and body, errors -> AWS's
 * error shape.
 *
 * The operation table is generated from the service model
 * (codegen/gen_shapes.py -> <service>/shapes.gen.c): each operation's
 * method and URI template, its success status, and the members that travel
 * outside the JSON body. Decoding matches method + path against the
 * templates, then merges URI labels, query string and header members (and
 * a raw payload, e.g. Invoke's Payload, as a string member) into the body
 * object, converting them to the member's JSON type, so an action sees the
 * same object whether it came over HTTP or from tp_call.
 *
 * Encoding is the reverse: header members become headers, a statusCode
 * member the HTTP status, a payload member the raw body, the rest the JSON
 * body. Errors: header x-amzn-ErrorType with the code, JSON body
 * {"Type":"User"|"Service","Message"|"message": ...} spelled as the
 * model's error shape spells its message member.
 *
 * No libmicrohttpd here: server.c hands in lookups for headers and query
 * arguments and sends what comes back. */
#ifndef TP_HTTP_RESTJSON_H
#define TP_HTTP_RESTJSON_H

#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/shape.h"

typedef struct cJSON cJSON;

typedef enum tp_rest_location {
    TP_REST_URI = 1,      /* {Label} in the URI */
    TP_REST_QUERY,        /* ?Name=value */
    TP_REST_HEADER,       /* a header */
    TP_REST_STATUS,       /* the HTTP status code (output only) */
    TP_REST_PAYLOAD,      /* the whole body (raw text, or a structure's JSON) */
} tp_rest_location;

typedef struct tp_rest_member {
    const char *name;     /* member name in the request/response object */
    const char *wire;     /* label, query key or header name */
    unsigned char loc;    /* tp_rest_location */
    unsigned char type;   /* tp_shape_type of the member's shape */
} tp_rest_member;

typedef struct tp_rest_op {
    const char *name;     /* "CreateFunction" */
    const char *method;   /* "POST" */
    const char *uri;      /* "/2015-03-31/functions/{FunctionName}/invocations" */
    int status;           /* success status (the model's responseCode) */
    int has_output;       /* 0: the answer has no body */
    const tp_rest_member *in, *out;
    unsigned nin, nout;
} tp_rest_op;

typedef struct tp_rest_error {
    const char *code;     /* "ResourceNotFoundException" */
    const char *message;  /* "Message" or "message" */
    int status;
} tp_rest_error;

typedef struct tp_rest_api {
    const char *service;  /* dispatch service name: "lambda" */
    const tp_rest_op *ops;
    unsigned nops;
    const tp_rest_error *errors;
    unsigned nerrors;
} tp_rest_api;

/* The HTTP request as the codec needs it. path: percent-decoded, without
 * the query string. header/query return the value or NULL. */
typedef struct tp_rest_request {
    const char *method;
    const char *path;
    const char *(*header)(void *ctx, const char *name);
    const char *(*query)(void *ctx, const char *name);
    void *ctx;
    const char *body;
    size_t len;
} tp_rest_request;

#define TP_REST_MAX_HEADERS 16

/* What to send back. Headers and body are owned (tp_rest_response_free). */
typedef struct tp_rest_response {
    int status;
    const char *content_type;    /* static text, or NULL for none */
    unsigned nheaders;
    char *hname[TP_REST_MAX_HEADERS];
    char *hvalue[TP_REST_MAX_HEADERS];
    tp_buf body;
} tp_rest_response;

/* The operation for method + path, or NULL. Literal segments must match,
 * a {Label} matches one non-empty segment ({Label+} the rest of the path);
 * a template's "?k=v" must be in the query. */
const tp_rest_op *tp_restjson_match(const tp_rest_api *api, const tp_rest_request *rq);

/* Builds the request object for op. 0 with *in set (caller frees), or -1
 * with err (a body that is not a JSON object: AWS's
 * InvalidRequestContentException). */
int tp_restjson_decode(const tp_rest_op *op, const tp_rest_request *rq, cJSON **in,
                       tp_error *err);

void tp_rest_response_init(tp_rest_response *resp);
void tp_rest_response_free(tp_rest_response *resp);
int tp_rest_response_header(tp_rest_response *resp, const char *name, const char *value);

/* Turns an action's output (may be NULL; members used are removed from
 * it) into resp. 0, or -1 when out of memory. */
int tp_restjson_encode(const tp_rest_op *op, cJSON *out, tp_rest_response *resp);

/* The AWS error answer for err. fields: extra members for the body (an
 * object, or NULL), e.g. TooManyRequestsException's "Reason";
 * "retryAfterSeconds" among them becomes the Retry-After header. */
int tp_restjson_error(const tp_rest_api *api, const tp_error *err, const cJSON *fields,
                      tp_rest_response *resp);

/* The answer to a method + path no operation has. */
int tp_restjson_unknown(tp_rest_response *resp);

#endif
