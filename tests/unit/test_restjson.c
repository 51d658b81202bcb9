/* Unit tests: http/restjson — Lambda's REST binding: method + path ->
 * operation and request members; action output -> status, headers, body;
 * the error shape. Uses the generated Lambda table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/restjson.h"
#include "lambda/shapes.gen.h"

/* "k=v" pairs for headers and query arguments: NULL-terminated arrays. */
typedef struct fake_http {
    const char *const *headers;
    const char *const *query;
} fake_http;

static const char *lookup(const char *const *kv, const char *name)
{
    for (unsigned i = 0; kv && kv[i]; i += 2)
        if (strcasecmp(kv[i], name) == 0)
            return kv[i + 1];
    return NULL;
}

static const char *fake_header(void *ctx, const char *name)
{
    return lookup(((fake_http *)ctx)->headers, name);
}

static const char *fake_query(void *ctx, const char *name)
{
    return lookup(((fake_http *)ctx)->query, name);
}

typedef struct decode_case {
    const char *method, *path;
    const char *headers[8];
    const char *query[8];
    const char *body;
    const char *op;        /* NULL: no operation */
    const char *members;   /* the merged request object, compact JSON */
} decode_case;

static const decode_case decode_cases[] = {
    {"POST", "/2015-03-31/functions", {NULL}, {NULL},
     "{\"FunctionName\":\"f\",\"Handler\":\"echo\"}", "CreateFunction",
     "{\"FunctionName\":\"f\",\"Handler\":\"echo\"}"},
    {"GET", "/2015-03-31/functions/f", {NULL}, {NULL}, "", "GetFunction",
     "{\"FunctionName\":\"f\"}"},
    {"GET", "/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f", {NULL},
     {"Qualifier", "$LATEST", NULL}, "", "GetFunction",
     "{\"FunctionName\":\"arn:aws:lambda:us-east-1:123456789012:function:f\","
     "\"Qualifier\":\"$LATEST\"}"},
    {"GET", "/2015-03-31/functions/f/configuration", {NULL}, {NULL}, "",
     "GetFunctionConfiguration", "{\"FunctionName\":\"f\"}"},
    {"PUT", "/2015-03-31/functions/f/configuration", {NULL}, {NULL}, "{\"Timeout\":9}",
     "UpdateFunctionConfiguration", "{\"Timeout\":9,\"FunctionName\":\"f\"}"},
    /* a trailing slash and query members converted to the member's type */
    {"GET", "/2015-03-31/functions/", {NULL}, {"MaxItems", "5", "Marker", "abc", NULL}, "",
     "ListFunctions", "{\"Marker\":\"abc\",\"MaxItems\":5}"},
    /* text that is not a number stays text: model validation words it */
    {"GET", "/2015-03-31/functions", {NULL}, {"MaxItems", "x", NULL}, "", "ListFunctions",
     "{\"MaxItems\":\"x\"}"},
    {"DELETE", "/2015-03-31/functions/f", {NULL}, {NULL}, "", "DeleteFunction",
     "{\"FunctionName\":\"f\"}"},
    {"PUT", "/2017-10-31/functions/f/concurrency", {NULL}, {NULL},
     "{\"ReservedConcurrentExecutions\":3}", "PutFunctionConcurrency",
     "{\"ReservedConcurrentExecutions\":3,\"FunctionName\":\"f\"}"},
    {"GET", "/2019-09-30/functions/f/concurrency", {NULL}, {NULL}, "", "GetFunctionConcurrency",
     "{\"FunctionName\":\"f\"}"},
    {"DELETE", "/2017-10-31/functions/f/concurrency", {NULL}, {NULL}, "",
     "DeleteFunctionConcurrency", "{\"FunctionName\":\"f\"}"},
    {"GET", "/2016-08-19/account-settings/", {NULL}, {NULL}, "", "GetAccountSettings", "{}"},
    /* Invoke: headers, and the body as the Payload string, verbatim */
    {"POST", "/2015-03-31/functions/f/invocations",
     {"X-Amz-Invocation-Type", "Event", "x-amz-log-type", "Tail", NULL}, {NULL},
     "{\"a\": [1, 2]}", "Invoke",
     "{\"Payload\":\"{\\\"a\\\": [1, 2]}\",\"FunctionName\":\"f\",\"InvocationType\":\"Event\","
     "\"LogType\":\"Tail\"}"},
    {"POST", "/2015-03-31/functions/f/invocations", {NULL}, {NULL}, "", "Invoke",
     "{\"FunctionName\":\"f\"}"},
    {"POST", "/2015-03-31/event-source-mappings/", {NULL}, {NULL},
     "{\"FunctionName\":\"f\",\"BatchSize\":10}", "CreateEventSourceMapping",
     "{\"FunctionName\":\"f\",\"BatchSize\":10}"},
    {"GET", "/2015-03-31/event-source-mappings/", {NULL},
     {"FunctionName", "f", "EventSourceArn", "arn:x", NULL}, "", "ListEventSourceMappings",
     "{\"EventSourceArn\":\"arn:x\",\"FunctionName\":\"f\"}"},
    {"GET", "/2015-03-31/event-source-mappings/1234-abcd", {NULL}, {NULL}, "",
     "GetEventSourceMapping", "{\"UUID\":\"1234-abcd\"}"},
    {"PUT", "/2015-03-31/event-source-mappings/1234-abcd", {NULL}, {NULL},
     "{\"Enabled\":false}", "UpdateEventSourceMapping",
     "{\"Enabled\":false,\"UUID\":\"1234-abcd\"}"},
    {"DELETE", "/2015-03-31/event-source-mappings/1234-abcd", {NULL}, {NULL}, "",
     "DeleteEventSourceMapping", "{\"UUID\":\"1234-abcd\"}"},
    /* a literal query part in the template must be present */
    {"GET", "/2019-09-30/functions/f/provisioned-concurrency", {NULL}, {"List", "ALL", NULL},
     "", "ListProvisionedConcurrencyConfigs", "{\"FunctionName\":\"f\"}"},
    {"GET", "/2019-09-30/functions/f/provisioned-concurrency", {NULL},
     {"Qualifier", "1", NULL}, "", "GetProvisionedConcurrencyConfig",
     "{\"FunctionName\":\"f\",\"Qualifier\":\"1\"}"},
    /* no operation */
    {"GET", "/2015-03-31/nothing", {NULL}, {NULL}, "", NULL, NULL},
    {"PATCH", "/2015-03-31/functions/f", {NULL}, {NULL}, "", NULL, NULL},
    {"GET", "/2015-03-31/functions//configuration", {NULL}, {NULL}, "", NULL, NULL},
    {"GET", "/2015-03-31/functions/f/configuration/extra", {NULL}, {NULL}, "", NULL, NULL},
};

static void decode_table(void **state)
{
    for (size_t i = 0; i < sizeof decode_cases / sizeof decode_cases[0]; i++) {
        const decode_case *c = &decode_cases[i];
        fake_http fh = {c->headers, c->query};
        tp_rest_request rq = {.method = c->method, .path = c->path, .header = fake_header,
                              .query = fake_query, .ctx = &fh, .body = c->body,
                              .len = strlen(c->body)};
        const tp_rest_op *op = tp_restjson_match(&tp_lambda_rest, &rq);
        if (!c->op) {
            if (op)
                fail_msg("case %zu: %s %s matched %s", i, c->method, c->path, op->name);
            continue;
        }
        if (!op)
            fail_msg("case %zu: %s %s matched nothing", i, c->method, c->path);
        assert_string_equal(op->name, c->op);
        cJSON *in = NULL;
        tp_error err;
        tp_error_clear(&err);
        assert_int_equal(tp_restjson_decode(op, &rq, &in, &err), 0);
        char *text = cJSON_PrintUnformatted(in);
        assert_string_equal(text, c->members);
        free(text);
        cJSON_Delete(in);
    }
}

static void decode_bad_body(void **state)
{
    const char *bodies[] = {"{", "[1]", "\"x\"", "nope"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        fake_http fh = {NULL, NULL};
        tp_rest_request rq = {.method = "POST", .path = "/2015-03-31/functions",
                              .header = fake_header, .query = fake_query, .ctx = &fh,
                              .body = bodies[i], .len = strlen(bodies[i])};
        const tp_rest_op *op = tp_restjson_match(&tp_lambda_rest, &rq);
        assert_non_null(op);
        cJSON *in = (cJSON *)1;
        tp_error err;
        tp_error_clear(&err);
        assert_int_equal(tp_restjson_decode(op, &rq, &in, &err), -1);
        assert_null(in);
        assert_string_equal(err.code, "InvalidRequestContentException");
        assert_int_equal(err.status, 400);
    }
}

static const tp_rest_op *op_named(const char *name)
{
    for (unsigned i = 0; i < tp_lambda_rest.nops; i++)
        if (strcmp(tp_lambda_rest.ops[i].name, name) == 0)
            return &tp_lambda_rest.ops[i];
    fail_msg("no operation %s", name);
    return NULL;
}

static const char *header_of(const tp_rest_response *r, const char *name)
{
    for (unsigned i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->hname[i], name) == 0)
            return r->hvalue[i];
    return NULL;
}

typedef struct encode_case {
    const char *op;
    const char *out;        /* the action's output, or NULL */
    int status;
    const char *body;       /* exact */
    const char *header, *value;   /* one header to check, or NULL */
    const char *content_type;
} encode_case;

static const encode_case encode_cases[] = {
    {"CreateFunction", "{\"FunctionName\":\"f\"}", 201, "{\"FunctionName\":\"f\"}", NULL, NULL,
     "application/json"},
    {"GetFunction", "{\"Configuration\":{}}", 200, "{\"Configuration\":{}}", NULL, NULL,
     "application/json"},
    {"DeleteFunction", "{\"StatusCode\":204}", 204, "", NULL, NULL, NULL},
    {"DeleteFunctionConcurrency", NULL, 204, "", NULL, NULL, NULL},
    {"GetAccountSettings", NULL, 200, "{}", NULL, NULL, "application/json"},
    {"CreateEventSourceMapping", "{\"UUID\":\"u\"}", 202, "{\"UUID\":\"u\"}", NULL, NULL,
     "application/json"},
    {"DeleteEventSourceMapping", "{\"UUID\":\"u\"}", 202, "{\"UUID\":\"u\"}", NULL, NULL,
     "application/json"},
    {"Invoke",
     "{\"StatusCode\":200,\"Payload\":\"{\\\"a\\\":1}\",\"ExecutedVersion\":\"$LATEST\"}", 200,
     "{\"a\":1}", "X-Amz-Executed-Version", "$LATEST", "application/json"},
    {"Invoke",
     "{\"StatusCode\":200,\"Payload\":\"{}\",\"FunctionError\":\"Unhandled\","
     "\"LogResult\":\"bG9n\"}",
     200, "{}", "X-Amz-Function-Error", "Unhandled", "application/json"},
    {"Invoke", "{\"StatusCode\":200,\"Payload\":\"{}\",\"LogResult\":\"bG9n\"}", 200, "{}",
     "X-Amz-Log-Result", "bG9n", "application/json"},
    {"Invoke", "{\"StatusCode\":202}", 202, "", NULL, NULL, NULL},
    {"Invoke", "{\"StatusCode\":204}", 204, "", NULL, NULL, NULL},
};

static void encode_table(void **state)
{
    for (size_t i = 0; i < sizeof encode_cases / sizeof encode_cases[0]; i++) {
        const encode_case *c = &encode_cases[i];
        cJSON *out = c->out ? cJSON_Parse(c->out) : NULL;
        tp_rest_response r;
        tp_rest_response_init(&r);
        assert_int_equal(tp_restjson_encode(op_named(c->op), out, &r), 0);
        cJSON_Delete(out);
        assert_int_equal(r.status, c->status);
        assert_string_equal(r.body.len ? r.body.data : "", c->body);
        if (c->header)
            assert_string_equal(header_of(&r, c->header), c->value);
        if (c->content_type)
            assert_string_equal(r.content_type, c->content_type);
        else
            assert_null(r.content_type);
        tp_rest_response_free(&r);
    }
}

typedef struct error_case {
    tp_error_id id;
    const char *code;       /* raw code when id is TP_ERR__COUNT */
    int raw_status;
    const char *msg;
    const char *fields;
    int status;
    const char *body;
} error_case;

static const error_case error_cases[] = {
    /* the model spells this one's message member "Message" ... */
    {TP_ERR_LAMBDA_NOT_FOUND, NULL, 0,
     "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope", NULL, 404,
     "{\"Type\":\"User\",\"Message\":\"Function not found: "
     "arn:aws:lambda:us-east-1:123456789012:function:nope\"}"},
    /* ... and these "message" */
    {TP_ERR_LAMBDA_CONFLICT, NULL, 0, "Function already exist: f", NULL, 409,
     "{\"Type\":\"User\",\"message\":\"Function already exist: f\"}"},
    {TP_ERR_LAMBDA_INVALID_PARAMETER, NULL, 0, "bad", NULL, 400,
     "{\"Type\":\"User\",\"message\":\"bad\"}"},
    {TP_ERR_LAMBDA_SERVICE, NULL, 0, "oops", NULL, 500,
     "{\"Type\":\"Service\",\"Message\":\"oops\"}"},
    {TP_ERR_LAMBDA_TOO_MANY_REQUESTS, NULL, 0, "Rate Exceeded.",
     "{\"Reason\":\"ReservedFunctionConcurrentInvocationLimitExceeded\","
     "\"retryAfterSeconds\":\"1\"}",
     429,
     "{\"Type\":\"User\",\"message\":\"Rate Exceeded.\","
     "\"Reason\":\"ReservedFunctionConcurrentInvocationLimitExceeded\"}"},
    /* front-end errors: no Type */
    {TP_ERR_VALIDATION, NULL, 0, "1 validation error detected: x", NULL, 400,
     "{\"message\":\"1 validation error detected: x\"}"},
    {TP_ERR__COUNT, "InjectedFault", 503, "boom", NULL, 503, "{\"message\":\"boom\"}"},
    {TP_ERR__COUNT, "RequestEntityTooLargeException", 413,
     "Request must be smaller than 6291456 bytes for the InvokeFunction operation", NULL, 413,
     "{\"Message\":\"Request must be smaller than 6291456 bytes for the InvokeFunction "
     "operation\"}"},
};

static void error_table(void **state)
{
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const error_case *c = &error_cases[i];
        tp_error e;
        if (c->id == TP_ERR__COUNT)
            tp_fail_raw(&e, c->raw_status, c->code, "%s", c->msg);
        else
            tp_fail(&e, c->id, "%s", c->msg);
        cJSON *fields = c->fields ? cJSON_Parse(c->fields) : NULL;
        tp_rest_response r;
        tp_rest_response_init(&r);
        assert_int_equal(tp_restjson_error(&tp_lambda_rest, &e, fields, &r), 0);
        cJSON_Delete(fields);
        assert_int_equal(r.status, c->status);
        assert_string_equal(header_of(&r, "x-amzn-ErrorType"), e.code);
        assert_string_equal(r.body.data, c->body);
        assert_string_equal(r.content_type, "application/json");
        if (c->id == TP_ERR_LAMBDA_TOO_MANY_REQUESTS)
            assert_string_equal(header_of(&r, "Retry-After"), "1");
        tp_rest_response_free(&r);
    }
}

static void unknown_operation(void **state)
{
    tp_rest_response r;
    tp_rest_response_init(&r);
    assert_int_equal(tp_restjson_unknown(&r), 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(header_of(&r, "x-amzn-ErrorType"), "UnknownOperationException");
    tp_rest_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_table),
        cmocka_unit_test(decode_bad_body),
        cmocka_unit_test(encode_table),
        cmocka_unit_test(error_table),
        cmocka_unit_test(unknown_operation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
