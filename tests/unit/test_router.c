/* Unit tests: http/router — which API a request is for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "http/router.h"

typedef struct rcase {
    const char *method, *path, *target, *content_type, *body;
    tp_route_kind kind;
    const char *service;    /* AWSJSON: expected service */
    const char *operation;  /* AWSJSON: expected operation or NULL */
} rcase;

static const rcase cases[] = {
    {"POST", "/", "DynamoDB_20120810.PutItem", "application/x-amz-json-1.0", "{}",
     TP_ROUTE_AWSJSON, "dynamodb", "PutItem"},
    {"POST", "/", "DynamoDBStreams_20120810.GetRecords", "application/x-amz-json-1.0", "{}",
     TP_ROUTE_AWSJSON, "dynamodbstreams", "GetRecords"},
    {"POST", "/", "Kinesis_20131202.PutRecord", "application/x-amz-json-1.1", "{}",
     TP_ROUTE_AWSJSON, "kinesis", "PutRecord"},
    {"POST", "/", "AmazonSQS.SendMessage", "application/x-amz-json-1.0", "{}", TP_ROUTE_AWSJSON,
     "sqs", "SendMessage"},
    /* A target with an unknown prefix still speaks awsJson: no operation. */
    {"POST", "/", "Nope_2020.Foo", "application/x-amz-json-1.0", "{}", TP_ROUTE_AWSJSON,
     "dynamodb", NULL},
    /* A prefix must be followed by a dot. */
    {"POST", "/", "DynamoDB_20120810PutItem", NULL, "", TP_ROUTE_AWSJSON, "dynamodb", NULL},
    {"GET", "/_tidepool/health", NULL, NULL, "", TP_ROUTE_CONTROL, NULL, NULL},
    {"POST", "/_tidepool/reset", "DynamoDB_20120810.PutItem", NULL, "", TP_ROUTE_CONTROL, NULL,
     NULL},
    {"POST", "/", NULL, "application/x-www-form-urlencoded", "Action=ListQueues&Version=2012-11-05",
     TP_ROUTE_SQS_QUERY, NULL, NULL},
    {"POST", "/", NULL, "application/x-www-form-urlencoded; charset=utf-8",
     "Version=2012-11-05&Action=ListQueues", TP_ROUTE_SQS_QUERY, NULL, NULL},
    {"POST", "/", NULL, "application/x-www-form-urlencoded", "NoAction=1&XAction=2",
     TP_ROUTE_UNKNOWN, NULL, NULL},
    {"GET", "/2015-03-31/functions/", NULL, NULL, "", TP_ROUTE_LAMBDA, NULL, NULL},
    {"GET", "/", NULL, NULL, "", TP_ROUTE_UNKNOWN, NULL, NULL},
};

static void routes_table(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rcase *c = &cases[i];
        tp_route r;
        tp_route_request(c->method, c->path, c->target, c->content_type, c->body,
                         strlen(c->body), &r);
        assert_int_equal(r.kind, c->kind);
        if (c->kind == TP_ROUTE_AWSJSON) {
            assert_string_equal(r.svc->service, c->service);
            if (c->operation)
                assert_string_equal(r.operation, c->operation);
            else
                assert_null(r.operation);
        }
    }
}

static void json_service_facts(void **state)
{
    const tp_json_service *d = tp_route_json_service("DynamoDB_20120810.GetItem");
    assert_non_null(d);
    assert_string_equal(d->content_type, "application/x-amz-json-1.0");
    assert_int_equal(d->crc32, 1);
    const tp_json_service *k = tp_route_json_service("Kinesis_20131202.GetRecords");
    assert_string_equal(k->content_type, "application/x-amz-json-1.1");
    assert_null(tp_route_json_service("DynamoDB"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes_table),
        cmocka_unit_test(json_service_facts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
