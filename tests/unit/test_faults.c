/* Unit tests: capacity/faults — rule validation, matching, triggers,
 * seeded determinism; core/trace — ring bounds and since. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity/faults.h"
#include "core/dispatch.h"
#include "core/trace.h"
#include "engine_internal.h"
#include "tidepool/engine.h"

static int add(tp_faults *f, const char *json, char *id, size_t idcap, char *why, size_t whycap)
{
    cJSON *r = cJSON_Parse(json);
    int rc = tp_faults_add(f, r, 0, id, idcap, why, whycap);
    cJSON_Delete(r);
    return rc;
}

static int fires(tp_faults *f, const char *op, const char *res, int64_t now, tp_fault_hit *h)
{
    return tp_faults_check(f, "dynamodb", op, res, now, h);
}

static void glob_matches(void **state)
{
    (void)state;
    assert_true(tp_faults_glob("*", ""));
    assert_true(tp_faults_glob("Get*", "GetItem"));
    assert_false(tp_faults_glob("Get*", "BatchGetItem"));
    assert_true(tp_faults_glob("*Item", "BatchGetItem"));
    assert_true(tp_faults_glob("ord?rs", "orders"));
    assert_false(tp_faults_glob("orders", "orders2"));
    assert_true(tp_faults_glob("o*s*", "orders-2024"));
}

static void every_second_call_with_error(void **state)
{
    (void)state;
    tp_faults *f = tp_faults_new();
    char id[64], why[512];
    assert_int_equal(add(f,
                         "{\"service\":\"dynamodb\",\"operation\":\"GetItem\",\"resource\":\"orders\","
                         "\"every\":2,\"error\":{\"code\":\"InternalServerError\",\"status\":500,"
                         "\"message\":\"injected\"}}",
                         id, sizeof id, why, sizeof why),
                     0);
    assert_string_equal(id, "rule-1");
    tp_fault_hit h;
    int seq[6];
    for (int i = 0; i < 6; i++)
        seq[i] = fires(f, "GetItem", "orders", 0, &h);
    int expect[6] = {0, 1, 0, 1, 0, 1};
    for (int i = 0; i < 6; i++)
        assert_int_equal(seq[i], expect[i]);
    assert_string_equal(h.code, "InternalServerError");
    assert_int_equal(h.status, 500);
    assert_string_equal(h.message, "injected");
    assert_string_equal(h.rule_id, "rule-1");
    /* other operations and tables do not match and do not count */
    assert_int_equal(fires(f, "PutItem", "orders", 0, &h), 0);
    assert_int_equal(fires(f, "GetItem", "users", 0, &h), 0);
    assert_int_equal(tp_faults_check(f, "dynamodbstreams", "GetItem", "orders", 0, &h), 0);
    cJSON *list = tp_faults_list(f);
    const cJSON *r0 = cJSON_GetArrayItem(list, 0);
    assert_int_equal(cJSON_GetObjectItem(r0, "matched")->valueint, 6);
    assert_int_equal(cJSON_GetObjectItem(r0, "fired")->valueint, 3);
    cJSON_Delete(list);
    tp_faults_free(f);
}

static void after_count_and_window(void **state)
{
    (void)state;
    tp_faults *f = tp_faults_new();
    char id[64], why[512];
    assert_int_equal(add(f, "{\"operation\":\"*\",\"after\":2,\"count\":2,\"latency_ms\":5}", id,
                         sizeof id, why, sizeof why),
                     0);
    tp_fault_hit h;
    int expect[6] = {0, 0, 1, 1, 0, 0};
    for (int i = 0; i < 6; i++)
        assert_int_equal(fires(f, "PutItem", "t", 0, &h), expect[i]);
    assert_int_equal(h.latency_ms, 5);
    tp_faults_remove_all(f);
    assert_int_equal(add(f,
                         "{\"from_ms\":1000,\"until_ms\":2000,\"drop_connection\":true}",
                         id, sizeof id, why, sizeof why),
                     0);
    assert_int_equal(fires(f, "PutItem", "t", 999, &h), 0);
    assert_int_equal(fires(f, "PutItem", "t", 1000, &h), 1);
    assert_true(h.drop_connection);
    assert_int_equal(fires(f, "PutItem", "t", 1999, &h), 1);
    assert_int_equal(fires(f, "PutItem", "t", 2000, &h), 0);
    tp_faults_free(f);
}

static void run_probability(tp_faults *f, int *out, int n)
{
    tp_fault_hit h;
    for (int i = 0; i < n; i++)
        out[i] = fires(f, "GetItem", "t", 0, &h);
}

static void same_seed_same_faults(void **state)
{
    (void)state;
    const char *rule = "{\"probability\":0.3,\"seed\":42,\"lose_response\":true}";
    char id[64], why[512];
    int a[200], b[200], c[200];
    tp_faults *f = tp_faults_new();
    assert_int_equal(add(f, rule, id, sizeof id, why, sizeof why), 0);
    run_probability(f, a, 200);
    /* a second engine with the same rule */
    tp_faults *g = tp_faults_new();
    assert_int_equal(add(g, rule, id, sizeof id, why, sizeof why), 0);
    run_probability(g, b, 200);
    assert_memory_equal(a, b, sizeof a);
    /* reset re-seeds config rules; API rules are dropped */
    tp_faults_free(g);
    g = tp_faults_new();
    cJSON *cfg = cJSON_Parse("{\"faults\":[{\"probability\":0.3,\"seed\":42,\"lose_response\":true}]}");
    assert_int_equal(tp_faults_load_config(g, cfg, why, sizeof why), 0);
    cJSON_Delete(cfg);
    assert_int_equal(add(g, "{\"latency_ms\":1}", id, sizeof id, why, sizeof why), 0);
    tp_faults_reset(g);
    assert_int_equal(tp_faults_count(g), 1);
    run_probability(g, c, 200);
    assert_memory_equal(a, c, sizeof a);
    tp_faults_reset(g);
    run_probability(g, c, 200);
    assert_memory_equal(a, c, sizeof a);
    int n = 0;
    for (int i = 0; i < 200; i++)
        n += a[i];
    assert_true(n > 30 && n < 90);   /* about 60 */
    /* another seed gives another sequence */
    tp_faults *h = tp_faults_new();
    assert_int_equal(add(h, "{\"probability\":0.3,\"seed\":7,\"lose_response\":true}", id,
                         sizeof id, why, sizeof why),
                     0);
    run_probability(h, c, 200);
    assert_true(memcmp(a, c, sizeof a) != 0);
    tp_faults_free(f);
    tp_faults_free(g);
    tp_faults_free(h);
}

static void first_firing_rule_wins(void **state)
{
    (void)state;
    tp_faults *f = tp_faults_new();
    char id[64], why[512];
    assert_int_equal(add(f, "{\"id\":\"a\",\"operation\":\"Get*\",\"every\":2,\"error\":{\"code\":\"ThrottlingException\"}}",
                         id, sizeof id, why, sizeof why),
                     0);
    assert_int_equal(add(f, "{\"id\":\"b\",\"error\":{\"code\":\"ServiceUnavailable\",\"status\":503}}",
                         id, sizeof id, why, sizeof why),
                     0);
    tp_fault_hit h;
    assert_int_equal(fires(f, "GetItem", "t", 0, &h), 1);
    assert_string_equal(h.rule_id, "b");
    assert_int_equal(h.status, 503);
    assert_int_equal(fires(f, "GetItem", "t", 0, &h), 1);
    assert_string_equal(h.rule_id, "a");
    assert_string_equal(h.code, "ThrottlingException");
    assert_int_equal(h.status, 400);   /* the catalogue's status */
    assert_int_equal(tp_faults_remove(f, "a"), 0);
    assert_int_equal(tp_faults_remove(f, "a"), -1);
    assert_int_not_equal(add(f, "{\"id\":\"b\",\"latency_ms\":1}", id, sizeof id, why, sizeof why), 0);
    assert_non_null(strstr(why, "exists already"));
    tp_faults_free(f);
}

/* Function rules fire only for invocations; call rules never do. */
static void function_rules_fire_for_invocations_only(void **state)
{
    (void)state;
    tp_faults *f = tp_faults_new();
    char id[64], why[512];
    assert_int_equal(add(f, "{\"resource\":\"fanout\",\"every\":2,\"fail\":{\"errorType\":"
                            "\"Boom\",\"errorMessage\":\"injected\"}}",
                         id, sizeof id, why, sizeof why),
                     0);
    assert_int_equal(add(f, "{\"service\":\"*\",\"latency_ms\":7}", id, sizeof id, why, sizeof why),
                     0);
    tp_fault_hit hit;
    /* the call rule answers calls, even lambda Invoke calls */
    assert_int_equal(tp_faults_check(f, "lambda", "Invoke", "fanout", 0, &hit), 1);
    assert_int_equal(hit.latency_ms, 7);
    assert_int_equal(hit.fn_fail, 0);
    /* the invocation rule: every 2nd invocation of fanout, never other functions */
    assert_int_equal(tp_faults_check_invocation(f, "fanout", 0, &hit), 0);
    assert_int_equal(tp_faults_check_invocation(f, "other", 0, &hit), 0);
    assert_int_equal(tp_faults_check_invocation(f, "fanout", 0, &hit), 1);
    assert_int_equal(hit.fn_fail, 1);
    assert_string_equal(hit.fail_type, "Boom");
    assert_string_equal(hit.fail_message, "injected");
    tp_faults_free(f);
}

static void bad_rules_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *rule, *why;
    } cases[] = {
        {"[]", "must be a JSON object"},
        {"{\"error\":{\"code\":\"X\"},\"evry\":2}", "unknown key \"evry\""},
        {"{\"every\":0,\"latency_ms\":1}", "\"every\" must be an integer"},
        {"{\"every\":1.5,\"latency_ms\":1}", "\"every\" must be an integer"},
        {"{\"probability\":2,\"latency_ms\":1}", "\"probability\" must be a number from 0 to 1"},
        {"{\"operation\":\"GetItem\"}", "give an effect"},
        {"{\"error\":{\"code\":\"X\",\"status\":200}}", "\"error.status\" must be an integer from 400"},
        {"{\"error\":{\"status\":500}}", "\"error.code\""},
        {"{\"error\":{\"code\":\"X\",\"msg\":\"m\"}}", "unknown key \"msg\" in \"error\""},
        {"{\"error\":{\"code\":\"X\"},\"drop_connection\":true}", "exclude each other"},
        {"{\"drop_connection\":1}", "\"drop_connection\" must be true or false"},
        {"{\"service\":\"s3\",\"latency_ms\":1}", "unknown \"service\""},
        {"{\"from_ms\":5,\"until_ms\":5,\"latency_ms\":1}", "\"until_ms\" must be after"},
        {"{\"fail\":true,\"service\":\"dynamodb\"}", "apply to function invocations"},
        {"{\"fail\":true,\"timeout\":true}", "exactly one of"},
        {"{\"fail\":{\"errorKind\":\"x\"}}", "unknown key \"errorKind\" in \"fail\""},
        {"{\"timeout\":true,\"latency_ms\":5}", "exactly one of"},
    };
    tp_faults *f = tp_faults_new();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[64] = "", why[512] = "";
        assert_int_equal(add(f, cases[i].rule, id, sizeof id, why, sizeof why), -1);
        if (!strstr(why, cases[i].why))
            fail_msg("%s: got '%s'", cases[i].rule, why);
    }
    assert_int_equal(tp_faults_count(f), 0);
    char why[512];
    cJSON *cfg = cJSON_Parse("{\"faults\":[{\"latency_ms\":1},{\"every\":-1}]}");
    assert_int_equal(tp_faults_load_config(f, cfg, why, sizeof why), -1);
    assert_non_null(strstr(why, "faults[1]"));
    cJSON_Delete(cfg);
    tp_faults_free(f);
}

static void resource_of_request(void **state)
{
    (void)state;
    static const struct {
        const char *req, *res;
    } cases[] = {
        {"{\"TableName\":\"orders\"}", "orders"},
        {"{\"RequestItems\":{\"a\":{},\"b\":{}}}", "a"},
        {"{\"TransactItems\":[{\"Put\":{\"TableName\":\"t1\"}},{\"Put\":{\"TableName\":\"t2\"}}]}", "t1"},
        {"{\"StreamArn\":\"arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/2024\"}", "orders"},
        {"{\"QueueUrl\":\"http://localhost:4566/000000000000/jobs.fifo\"}", "jobs.fifo"},
        {"{\"QueueName\":\"jobs\"}", "jobs"},
        {"{\"StreamName\":\"restore\"}", "restore"},
        {"{\"StreamARN\":\"arn:aws:kinesis:us-east-1:000000000000:stream/restore\"}", "restore"},
        {"{}", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *r = cJSON_Parse(cases[i].req);
        char out[64];
        tp_faults_resource_of(r, out, sizeof out);
        assert_string_equal(out, cases[i].res);
        cJSON_Delete(r);
    }
}

/* An SQS rule matches SQS calls exactly as a DynamoDB rule matches
 * DynamoDB's: the engine looks the wire target up in core/dispatch and
 * checks the rules with the action row's service and name, and the
 * resource the request names (for SQS, the queue in QueueUrl). */
static int noop_action(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    (void)r;
    (void)in;
    (void)out;
    (void)err;
    return 0;
}

static int fires_for_target(tp_faults *f, const tp_dispatch *d, const char *target,
                            const char *request, tp_fault_hit *h)
{
    const tp_action *act = tp_dispatch_find(d, target);
    assert_non_null(act);
    cJSON *in = cJSON_Parse(request);
    char resource[256];
    tp_faults_resource_of(in, resource, sizeof resource);
    cJSON_Delete(in);
    return tp_faults_check(f, act->service, act->name, resource, 0, h);
}

static void sqs_rules_match_sqs_targets(void **state)
{
    (void)state;
    static const tp_action sqs_rows[] = {
        {.target = "AmazonSQS.SendMessage", .service = "sqs", .name = "SendMessage",
         .run = noop_action, .flags = TP_ACT_WRITE},
        {.target = "AmazonSQS.ReceiveMessage", .service = "sqs", .name = "ReceiveMessage",
         .run = noop_action, .flags = TP_ACT_WRITE},
    };
    static const tp_action ddb_rows[] = {
        {.target = "DynamoDB_20120810.PutItem", .service = "dynamodb", .name = "PutItem",
         .run = noop_action, .flags = TP_ACT_WRITE},
    };
    const tp_service sqs = {.name = "sqs", .actions = sqs_rows, .nactions = 2};
    const tp_service ddb = {.name = "dynamodb", .actions = ddb_rows, .nactions = 1};
    tp_dispatch *d = tp_dispatch_new();
    assert_int_equal(tp_dispatch_add_service(d, &sqs), 0);
    assert_int_equal(tp_dispatch_add_service(d, &ddb), 0);
    tp_faults *f = tp_faults_new();
    char id[64], why[512];
    assert_int_equal(add(f, "{\"id\":\"sqs\",\"service\":\"sqs\",\"operation\":\"SendMessage\","
                            "\"resource\":\"jobs\",\"every\":2,\"error\":{\"code\":"
                            "\"ThrottlingException\",\"status\":400}}",
                         id, sizeof id, why, sizeof why),
                     0);
    assert_int_equal(add(f, "{\"id\":\"ddb\",\"service\":\"dynamodb\",\"operation\":\"PutItem\","
                            "\"resource\":\"jobs\",\"every\":2,\"error\":{\"code\":"
                            "\"ThrottlingException\",\"status\":400}}",
                         id, sizeof id, why, sizeof why),
                     0);
    const char *send = "{\"QueueUrl\":\"http://localhost:4566/000000000000/jobs\",\"MessageBody\":\"x\"}";
    const char *put = "{\"TableName\":\"jobs\",\"Item\":{}}";
    tp_fault_hit h;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(fires_for_target(f, d, "AmazonSQS.SendMessage", send, &h), i % 2);
        if (i % 2)
            assert_string_equal(h.rule_id, "sqs");
        assert_int_equal(fires_for_target(f, d, "DynamoDB_20120810.PutItem", put, &h), i % 2);
        if (i % 2)
            assert_string_equal(h.rule_id, "ddb");
    }
    assert_string_equal(h.code, "ThrottlingException");
    /* Another SQS operation or another queue does not match or count. */
    assert_int_equal(fires_for_target(f, d, "AmazonSQS.ReceiveMessage", send, &h), 0);
    assert_int_equal(fires_for_target(f, d, "AmazonSQS.SendMessage",
                                      "{\"QueueUrl\":\"http://localhost:4566/000000000000/other\"}", &h),
                     0);
    assert_int_equal(fires_for_target(f, d, "AmazonSQS.SendMessage", send, &h), 0);   /* 5th */
    assert_int_equal(fires_for_target(f, d, "AmazonSQS.SendMessage", send, &h), 1);   /* 6th */
    /* A wildcard service matches both. */
    tp_faults_remove_all(f);
    assert_int_equal(add(f, "{\"service\":\"*\",\"operation\":\"*\",\"latency_ms\":9}", id, sizeof id,
                         why, sizeof why),
                     0);
    assert_int_equal(fires_for_target(f, d, "AmazonSQS.SendMessage", send, &h), 1);
    assert_int_equal(h.latency_ms, 9);
    assert_int_equal(fires_for_target(f, d, "DynamoDB_20120810.PutItem", put, &h), 1);
    tp_faults_free(f);
    tp_dispatch_free(d);
}

/* Through the engine and the real SQS service: the rule fires on every
 * second SendMessage to "jobs" and the message it refuses is not sent. */
static void engine_applies_sqs_rules(void **state)
{
    (void)state;
    tp_error err;
    tp_error_clear(&err);
    tp_engine_options o = {
        .config_json = "{\"faults\":[{\"service\":\"sqs\",\"operation\":\"SendMessage\","
                       "\"resource\":\"jobs\",\"every\":2,\"error\":{\"code\":"
                       "\"ThrottlingException\",\"status\":400,\"message\":\"Rate exceeded\"}}]}"};
    tp_engine *e = tp_engine_new(&o, &err);
    assert_non_null(e);
    char *out = NULL, url[256], other[256];
    const char *names[2] = {"jobs", "other"};
    char *urls[2] = {url, other};
    for (int k = 0; k < 2; k++) {
        char body[64];
        snprintf(body, sizeof body, "{\"QueueName\":\"%s\"}", names[k]);
        assert_int_equal(tp_engine_call(e, NULL, NULL, "AmazonSQS.CreateQueue", body, &out, &err), 0);
        cJSON *r = cJSON_Parse(out);
        snprintf(urls[k], 256, "%s", cJSON_GetObjectItem(r, "QueueUrl")->valuestring);
        cJSON_Delete(r);
        free(out);
    }
    int failed = 0;
    for (int i = 0; i < 4; i++) {
        char body[400];
        snprintf(body, sizeof body, "{\"QueueUrl\":\"%s\",\"MessageBody\":\"m%d\"}", url, i);
        tp_error_clear(&err);
        int rc = tp_engine_call(e, NULL, NULL, "AmazonSQS.SendMessage", body, &out, &err);
        free(out);
        out = NULL;
        assert_int_equal(rc, i % 2 ? -1 : 0);
        if (rc) {
            failed++;
            assert_string_equal(err.code, "ThrottlingException");
            assert_int_equal(err.status, 400);
            assert_string_equal(err.message, "Rate exceeded");
        }
        snprintf(body, sizeof body, "{\"QueueUrl\":\"%s\",\"MessageBody\":\"m%d\"}", other, i);
        assert_int_equal(tp_engine_call(e, NULL, NULL, "AmazonSQS.SendMessage", body, &out, &err), 0);
        free(out);
    }
    assert_int_equal(failed, 2);
    char body[400];
    snprintf(body, sizeof body,
             "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"ApproximateNumberOfMessages\"]}", url);
    assert_int_equal(tp_engine_call(e, NULL, NULL, "AmazonSQS.GetQueueAttributes", body, &out, &err), 0);
    assert_non_null(strstr(out, "\"ApproximateNumberOfMessages\":\"2\""));   /* refused ones not sent */
    free(out);
    tp_engine_free(e);
}

static void trace_ring_is_bounded(void **state)
{
    (void)state;
    tp_trace *t = tp_trace_new(3);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "rule", "r\"1");
    for (int i = 0; i < 5; i++)
        tp_trace_add(t, 1000 + i, "fault", f);
    cJSON_Delete(f);
    assert_int_equal(tp_trace_count(t), 3);
    tp_buf b;
    tp_buf_init(&b);
    tp_trace_dump(t, 0, &b);
    assert_non_null(strstr(b.data, "{\"seq\":3,\"t_ms\":1002,"));
    assert_null(strstr(b.data, "\"seq\":2,"));
    assert_non_null(strstr(b.data, "\"type\":\"fault\",\"rule\":\"r\\\"1\"}\n"));
    tp_buf_reset(&b);
    tp_trace_dump(t, 4, &b);
    assert_non_null(strstr(b.data, "\"seq\":5,"));
    assert_null(strstr(b.data, "\"seq\":4,"));
    tp_buf_reset(&b);
    tp_trace_count_request(t, "dynamodb", "GetItem", 200);
    tp_trace_count_request(t, "dynamodb", "GetItem", 200);
    tp_trace_count_request(t, "dynamodb", "GetItem", 500);
    tp_trace_count_fault(t, "rule-1");
    tp_trace_metrics(t, &b);
    assert_non_null(strstr(b.data, "# TYPE tidepool_requests_total counter\n"));
    assert_non_null(strstr(b.data,
        "tidepool_requests_total{service=\"dynamodb\",operation=\"GetItem\",status=\"200\"} 2\n"));
    assert_non_null(strstr(b.data,
        "tidepool_requests_total{service=\"dynamodb\",operation=\"GetItem\",status=\"500\"} 1\n"));
    assert_non_null(strstr(b.data, "tidepool_faults_injected_total{rule=\"rule-1\"} 1\n"));
    tp_trace_clear(t);
    assert_int_equal(tp_trace_count(t), 0);
    tp_buf_reset(&b);
    tp_trace_metrics(t, &b);
    assert_null(strstr(b.data, "rule-1"));
    tp_buf_free(&b);
    tp_trace_free(t);
}

/* Through the embedding API a dropped or lost response is an error code. */
static void engine_reports_connection_faults(void **state)
{
    (void)state;
    tp_error err;
    tp_error_clear(&err);
    tp_engine_options o = {
        .config_json =
            "{\"faults\":[{\"id\":\"lose\",\"operation\":\"PutItem\",\"count\":1,"
            "\"lose_response\":true},{\"id\":\"drop\",\"operation\":\"DeleteItem\","
            "\"drop_connection\":true},{\"operation\":\"GetItem\",\"latency_ms\":250}]}"};
    tp_engine *e = tp_engine_new(&o, &err);
    assert_non_null(e);
    char *out = NULL;
    assert_int_equal(tp_engine_call(e, NULL, NULL, "DynamoDB_20120810.CreateTable",
                                    "{\"TableName\":\"tab\",\"AttributeDefinitions\":[{\"AttributeName\":"
                                    "\"pk\",\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":"
                                    "\"pk\",\"KeyType\":\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}",
                                    &out, &err),
                     0);
    free(out);
    const char *key = "{\"TableName\":\"tab\",\"Key\":{\"pk\":{\"S\":\"a\"}}}";
    assert_int_equal(tp_engine_call(e, NULL, NULL, "DynamoDB_20120810.PutItem",
                                    "{\"TableName\":\"tab\",\"Item\":{\"pk\":{\"S\":\"a\"}}}", &out,
                                    &err),
                     -1);
    assert_null(out);
    assert_string_equal(err.code, "ResponseLost");
    int64_t t0 = tp_engine_now_ms(e);
    tp_error_clear(&err);
    assert_int_equal(tp_engine_call(e, NULL, NULL, "DynamoDB_20120810.GetItem", key, &out, &err), 0);
    assert_non_null(strstr(out, "\"Item\""));   /* the lost write committed */
    free(out);
    assert_int_equal(tp_engine_now_ms(e), t0 + 250);
    assert_int_equal(tp_engine_call(e, NULL, NULL, "DynamoDB_20120810.DeleteItem", key, &out, &err),
                     -1);
    assert_string_equal(err.code, "ConnectionDropped");
    tp_error_clear(&err);
    assert_int_equal(tp_engine_call(e, NULL, NULL, "DynamoDB_20120810.GetItem", key, &out, &err), 0);
    assert_non_null(strstr(out, "\"Item\""));   /* the dropped delete did not run */
    free(out);
    tp_core *core = tp_engine_core(e);
    assert_true(tp_trace_count(core->trace) > 0);
    assert_int_equal(tp_engine_reset(e), 0);
    assert_int_equal(tp_trace_count(core->trace), 0);
    assert_int_equal(tp_faults_count(core->faults), 3);
    tp_engine_free(e);
    /* a bad config rule refuses to start */
    o.config_json = "{\"faults\":[{\"every\":2}]}";
    assert_null(tp_engine_new(&o, &err));
    assert_non_null(strstr(err.message, "faults[0]: fault rule: give an effect"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(glob_matches),
        cmocka_unit_test(every_second_call_with_error),
        cmocka_unit_test(after_count_and_window),
        cmocka_unit_test(same_seed_same_faults),
        cmocka_unit_test(first_firing_rule_wins),
        cmocka_unit_test(bad_rules_are_refused),
        cmocka_unit_test(function_rules_fire_for_invocations_only),
        cmocka_unit_test(resource_of_request),
        cmocka_unit_test(sqs_rules_match_sqs_targets),
        cmocka_unit_test(engine_applies_sqs_rules),
        cmocka_unit_test(trace_ring_is_bounded),
        cmocka_unit_test(engine_reports_connection_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
