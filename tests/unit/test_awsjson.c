/* Unit tests: http/awsjson — the error envelope's __type and message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "http/awsjson.h"

static void expect(tp_error_id id, const char *msg, const char *body)
{
    const tp_json_service *ddb = tp_route_json_service("DynamoDB_20120810.X");
    tp_error e;
    tp_fail(&e, id, msg ? "%s" : NULL, msg);
    tp_buf b;
    tp_buf_init(&b);
    assert_int_equal(tp_awsjson_error(ddb, &e, &b), 0);
    assert_string_equal(b.data, body);
    tp_buf_free(&b);
}

static void dynamodb_namespaces(void **state)
{
    expect(TP_ERR_RESOURCE_NOT_FOUND, "Requested resource not found",
           "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
           "\"message\":\"Requested resource not found\"}");
    expect(TP_ERR_VALIDATION, "bad",
           "{\"__type\":\"com.amazon.coral.validate#ValidationException\",\"message\":\"bad\"}");
    expect(TP_ERR_SERIALIZATION, NULL,
           "{\"__type\":\"com.amazon.coral.service#SerializationException\"}");
    expect(TP_ERR_UNKNOWN_OPERATION, NULL,
           "{\"__type\":\"com.amazon.coral.service#UnknownOperationException\"}");
    expect(TP_ERR_MISSING_AUTH, "Request is missing Authentication Token",
           "{\"__type\":\"com.amazon.coral.service#MissingAuthenticationTokenException\","
           "\"message\":\"Request is missing Authentication Token\"}");
    expect(TP_ERR_THROTTLING, "Rate exceeded",
           "{\"__type\":\"com.amazon.coral.availability#ThrottlingException\","
           "\"message\":\"Rate exceeded\"}");
}

static void raw_codes_use_service_namespace(void **state)
{
    const tp_json_service *ddb = tp_route_json_service("DynamoDB_20120810.X");
    tp_error e;
    tp_fail_raw(&e, 500, "InjectedFault", "quote \" and \\ escaped");
    tp_buf b;
    tp_buf_init(&b);
    tp_awsjson_error(ddb, &e, &b);
    assert_string_equal(b.data, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#InjectedFault\","
                                "\"message\":\"quote \\\" and \\\\ escaped\"}");
    tp_buf_free(&b);
}

/* ConditionalCheckFailedException with ReturnValuesOnConditionCheckFailure
 * carries the item next to the message; __type and message cannot be
 * overridden by the extra fields. */
static void extra_fields_follow_message(void **state)
{
    (void)state;
    const tp_json_service *ddb = tp_route_json_service("DynamoDB_20120810.X");
    tp_error e;
    tp_fail(&e, TP_ERR_CONDITIONAL_CHECK_FAILED, "The conditional request failed");
    cJSON *f = cJSON_Parse("{\"Item\":{\"pk\":{\"S\":\"a\"}},\"message\":\"x\"}");
    tp_buf b;
    tp_buf_init(&b);
    assert_int_equal(tp_awsjson_error_fields(ddb, &e, f, &b), 0);
    assert_string_equal(b.data,
                        "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                        "ConditionalCheckFailedException\",\"message\":\"The conditional request "
                        "failed\",\"Item\":{\"pk\":{\"S\":\"a\"}}}");
    tp_buf_free(&b);
    cJSON_Delete(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dynamodb_namespaces),
        cmocka_unit_test(raw_codes_use_service_namespace),
        cmocka_unit_test(extra_fields_follow_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
