/* test_invoker — the invoker through the embedding API (engine.h): handler
 * threads on the virtual clock (the baton), tp_call's latency and SDK-style
 * retries, timeouts, concurrency limits, fault rules for functions, the
 * invocation log, and that a run replays byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tidepool/engine.h"
#include "tidepool/handler.h"

#define T0 INT64_C(1704067200000)

static tp_engine *engine(const char *config)
{
    tp_engine_options o = {.config_json = config, .seed = 7};
    tp_error err;
    tp_engine *e = tp_engine_new(&o, &err);
    if (!e)
        fail_msg("engine: %s %s", err.code, err.message);
    return e;
}

/* Calls target; fails the test on an error unless want_error names it. */
static char *call(tp_engine *e, const char *target, const char *body, const char *want_error)
{
    char *out = NULL;
    tp_error err = {0};
    int rc = tp_engine_call(e, "123456789012", "us-east-1", target, body, &out, &err);
    if (want_error) {
        if (rc == 0)
            fail_msg("%s: wanted %s, got success %s", target, want_error, out);
        if (strcmp(err.code, want_error) != 0)
            fail_msg("%s: wanted %s, got %s: %s", target, want_error, err.code, err.message);
        free(out);
        return strdup(err.message);
    }
    if (rc != 0)
        fail_msg("%s: %s: %s", target, err.code, err.message);
    return out;
}

static void create_function(tp_engine *e, const char *name, const char *handler, int timeout_s,
                            const char *extra)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"FunctionName\":\"%s\",\"Runtime\":\"provided.al2023\",\"Role\":"
             "\"arn:aws:iam::123456789012:role/r\",\"Handler\":\"%s\",\"Timeout\":%d,"
             "\"Code\":{\"ZipFile\":\"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\"}%s%s}",
             name, handler, timeout_s, extra ? "," : "", extra ? extra : "");
    free(call(e, "Lambda_20150331.CreateFunction", body, NULL));
}

static char *invoke(tp_engine *e, const char *name, const char *payload)
{
    char body[2048];
    snprintf(body, sizeof body, "{\"FunctionName\":\"%s\",\"Payload\":\"%s\"}", name, payload);
    return call(e, "Lambda_20150331.Invoke", body, NULL);
}

/* --- handlers -------------------------------------------------------------- */

static int h_echo(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    tp_log(ctx, "echo %zu bytes", len);
    return tp_respond(resp, event, len);
}

/* Puts one item, reads it back, answers with the item and the clock. */
static int h_put_get(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    char *out = NULL;
    tp_error err;
    if (tp_call(ctx, "DynamoDB_20120810.PutItem",
                "{\"TableName\":\"tbl\",\"Item\":{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"1\"}}}", &out,
                &err) != 0)
        return 1;
    free(out);
    if (tp_call(ctx, "DynamoDB_20120810.GetItem",
                "{\"TableName\":\"tbl\",\"Key\":{\"pk\":{\"S\":\"a\"}}}", &out, &err) != 0)
        return 1;
    tp_respondf(resp, "{\"item\":%s,\"now\":%lld}", out, (long long)tp_now_ms(ctx));
    free(out);
    return 0;
}

static int calls_after_timeout;

/* Sleeps past its timeout, then tries to call tidepool. */
static int h_sleepy(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    tp_sleep_ms(ctx, 5000);
    char *out = NULL;
    tp_error err;
    if (tp_call(ctx, "DynamoDB_20120810.ListTables", "{}", &out, &err) != 0 &&
        strcmp(err.code, TP_HANDLER_TIMEOUT_CODE) == 0)
        calls_after_timeout++;
    free(out);
    return 0;
}

/* Writes 20 items to a 1-WCU table with the SDK retry policy. */
static int h_writer(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    tp_retry_policy p = TP_RETRY_SDK_DYNAMODB;
    tp_set_retry_policy(ctx, &p);
    for (int i = 0; i < 20; i++) {
        char body[200], *out = NULL;
        snprintf(body, sizeof body,
                 "{\"TableName\":\"slow\",\"Item\":{\"pk\":{\"S\":\"k%d\"}}}", i);
        tp_error err;
        if (tp_call(ctx, "DynamoDB_20120810.PutItem", body, &out, &err) != 0) {
            tp_respondf(resp, "{\"errorType\":\"%s\",\"errorMessage\":\"item %d\"}", err.code, i);
            return 1;
        }
        free(out);
    }
    tp_respondf(resp, "{\"retries\":%lld}", (long long)tp_retry_count(ctx));
    return 0;
}

/* Ticks: appends "name@t" to a shared log at each of 3 steps 100 ms apart. */
static char ticks[512];
static int h_ticker(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    const char *name = tp_getenv(ctx, "NAME");
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(ticks);
        snprintf(ticks + n, sizeof ticks - n, "%s@%lld ", name ? name : "?",
                 (long long)(tp_now_ms(ctx) - T0));
        tp_sleep_ms(ctx, 100);
    }
    return 0;
}

static int h_fail(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    tp_respondf(resp, "{\"errorType\":\"Boom\",\"errorMessage\":\"exploded\"}");
    return 1;
}

/* Returns 0 but answers in Lambda's error shape. */
static int h_error_answer(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    tp_respondf(resp, "{\"errorType\":\"Validation\",\"errorMessage\":\"bad order\"}");
    return 0;
}

static volatile int zero;

/* (the null store is the point: no UBSan report under make asan) */
#if defined(__GNUC__)
__attribute__((no_sanitize("undefined")))
#endif
static int h_segv(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    *(volatile int *)(uintptr_t)zero = 1;
    return 0;
}

/* Computes for 2.5 s of wall time without calling tidepool. */
static int h_spin(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do
        clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 2500);
    return 0;
}

static void register_all(tp_engine *e)
{
    assert_int_equal(tp_engine_register_handler(e, "t.segv", h_segv), 0);
    assert_int_equal(tp_engine_register_handler(e, "t.spin", h_spin), 0);
    assert_int_equal(tp_engine_register_handler(e, "t.error_answer", h_error_answer), 0);
    assert_int_equal(tp_engine_register_handler(e, "t.echo", h_echo), 0);
    assert_int_equal(tp_engine_register_handler(e, "t.put_get", h_put_get), 0);
    assert_int_equal(tp_engine_register_handler(e, "t.sleepy", h_sleepy), 0);
    assert_int_equal(tp_engine_register_handler(e, "t.writer", h_writer), 0);
    assert_int_equal(tp_engine_register_handler(e, "t.ticker", h_ticker), 0);
    assert_int_equal(tp_engine_register_handler(e, "t.fail", h_fail), 0);
    assert_int_equal(tp_engine_register_handler(e, "t.echo", h_echo), -1);   /* taken */
}

/* --- tests ----------------------------------------------------------------- */

static void sync_invoke_returns_the_handler_response(void **state)
{
    tp_engine *e = engine(NULL);
    register_all(e);
    create_function(e, "echo", "t.echo", 3, NULL);
    char *out = invoke(e, "echo", "{\\\"hello\\\":1}");
    assert_non_null(strstr(out, "\"StatusCode\":200"));
    assert_non_null(strstr(out, "\"Payload\":\"{\\\"hello\\\":1}\""));
    assert_null(strstr(out, "FunctionError"));
    free(out);
    tp_engine_free(e);
}

static void handler_calls_cost_virtual_latency(void **state)
{
    tp_engine *e = engine("{\"lambda\":{\"call_latency_ms\":{\"default\":5,"
                          "\"dynamodb.GetItem\":20}}}");
    register_all(e);
    free(call(e, "DynamoDB_20120810.CreateTable",
              "{\"TableName\":\"tbl\",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\","
              "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":"
              "\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}",
              NULL));
    tp_engine_advance(e, 1000);   /* ACTIVE */
    create_function(e, "pg", "t.put_get", 3, NULL);
    int64_t before = tp_engine_now_ms(e);
    char *out = invoke(e, "pg", "{}");
    /* PutItem 5 ms, GetItem 20 ms: the handler saw now = before + 25 */
    char want[64];
    snprintf(want, sizeof want, "\\\"now\\\":%lld", (long long)(before + 25));
    if (!strstr(out, want))
        fail_msg("wanted %s in %s", want, out);
    assert_int_equal(tp_engine_now_ms(e), before + 25);
    free(out);
    tp_engine_free(e);
}

static void timeout_fails_the_invocation_and_later_calls(void **state)
{
    tp_engine *e = engine(NULL);
    register_all(e);
    create_function(e, "sleepy", "t.sleepy", 3, NULL);
    calls_after_timeout = 0;
    int64_t before = tp_engine_now_ms(e);
    char *out = invoke(e, "sleepy", "{}");
    assert_non_null(strstr(out, "\"FunctionError\":\"Unhandled\""));
    assert_non_null(strstr(out, "Task timed out after 3.00 seconds"));
    free(out);
    assert_int_equal(tp_engine_now_ms(e), before + 3000);
    assert_int_equal(calls_after_timeout, 1);
    char *inv = NULL;
    assert_int_equal(tp_engine_control(e, "GET", "/_tidepool/invocations?function=sleepy", NULL, &inv),
                     200);
    assert_non_null(strstr(inv, "\"outcome\":\"timeout\""));
    assert_non_null(strstr(inv, "\"duration_ms\":3000"));
    free(inv);
    tp_engine_free(e);
}

/* A handler's segfault fails its invocation (Runtime.ExitError), not the
 * engine: the next invocation and a plain call both work. */
static void crash_fails_the_invocation_not_the_engine(void **state)
{
    tp_engine *e = engine(NULL);
    register_all(e);
    create_function(e, "segv", "t.segv", 3, NULL);
    create_function(e, "echo", "t.echo", 3, NULL);
    char *out = invoke(e, "segv", "{}");
    assert_non_null(strstr(out, "\"FunctionError\":\"Unhandled\""));
    assert_non_null(strstr(out, "\\\"errorType\\\":\\\"Runtime.ExitError\\\""));
    assert_non_null(strstr(out, " Error: Runtime exited with error: signal: segmentation fault"));
    free(out);
    out = invoke(e, "echo", "{}");
    assert_null(strstr(out, "FunctionError"));
    free(out);
    free(call(e, "DynamoDB_20120810.ListTables", "{}", NULL));
    tp_engine_free(e);
}

/* On the virtual clock a handler that computes forever holds the baton;
 * the wall-clock watchdog takes it back and the invocation times out at
 * its virtual deadline. Freeing the engine lets the still-running thread go. */
static void spinning_handler_times_out_by_the_watchdog(void **state)
{
    tp_engine *e = engine("{\"lambda\":{\"handler_watchdog_ms\":100}}");
    register_all(e);
    create_function(e, "spin", "t.spin", 3, NULL);
    create_function(e, "echo", "t.echo", 3, NULL);
    int64_t before = tp_engine_now_ms(e);
    char *out = invoke(e, "spin", "{}");
    assert_non_null(strstr(out, "\"FunctionError\":\"Unhandled\""));
    assert_non_null(strstr(out, "Task timed out after 3.00 seconds"));
    free(out);
    assert_int_equal(tp_engine_now_ms(e), before + 3000);
    out = invoke(e, "echo", "{}");
    assert_null(strstr(out, "FunctionError"));
    free(out);
    tp_engine_free(e);
}

static char *writer_run(void)
{
    tp_engine *e = engine("{\"capacity\":{\"start_full\":false}}");
    register_all(e);
    free(call(e, "DynamoDB_20120810.CreateTable",
              "{\"TableName\":\"slow\",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\","
              "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":"
              "\"HASH\"}],\"ProvisionedThroughput\":{\"ReadCapacityUnits\":1,"
              "\"WriteCapacityUnits\":1}}",
              NULL));
    tp_engine_advance(e, 1000);
    create_function(e, "writer", "t.writer", 60, NULL);
    char *out = invoke(e, "writer", "{}");
    assert_null(strstr(out, "FunctionError"));
    free(out);
    char *trace = tp_engine_trace(e, 0, 0, NULL);
    tp_engine_free(e);
    return trace;
}

static void sdk_retries_ride_out_throttling_identically(void **state)
{
    char *a = writer_run();
    char *b = writer_run();
    assert_non_null(strstr(a, "\"type\":\"sdk_retry\""));
    assert_non_null(strstr(a, "ProvisionedThroughputExceededException"));
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void concurrent_invocations_interleave_in_time_order(void **state)
{
    tp_engine *e = engine(NULL);
    register_all(e);
    create_function(e, "a", "t.ticker", 3, "\"Environment\":{\"Variables\":{\"NAME\":\"a\"}}");
    create_function(e, "b", "t.ticker", 3, "\"Environment\":{\"Variables\":{\"NAME\":\"b\"}}");
    ticks[0] = 0;
    int64_t t0 = tp_engine_now_ms(e) - T0;
    free(call(e, "Lambda_20150331.Invoke",
              "{\"FunctionName\":\"a\",\"InvocationType\":\"Event\",\"Payload\":\"{}\"}", NULL));
    tp_engine_advance(e, 50);
    free(call(e, "Lambda_20150331.Invoke",
              "{\"FunctionName\":\"b\",\"InvocationType\":\"Event\",\"Payload\":\"{}\"}", NULL));
    tp_engine_advance(e, 1000);
    char want[256];
    snprintf(want, sizeof want, "a@%lld b@%lld a@%lld b@%lld a@%lld b@%lld ", (long long)t0,
             (long long)t0 + 50, (long long)t0 + 100, (long long)t0 + 150, (long long)t0 + 200,
             (long long)t0 + 250);
    assert_string_equal(ticks, want);
    tp_engine_free(e);
}

static void reserved_concurrency_zero_throttles(void **state)
{
    tp_engine *e = engine(NULL);
    register_all(e);
    create_function(e, "echo", "t.echo", 3, NULL);
    free(call(e, "Lambda_20150331.PutFunctionConcurrency",
              "{\"FunctionName\":\"echo\",\"ReservedConcurrentExecutions\":0}", NULL));
    char *msg = call(e, "Lambda_20150331.Invoke", "{\"FunctionName\":\"echo\",\"Payload\":\"{}\"}",
                     "TooManyRequestsException");
    assert_string_equal(msg, "Rate Exceeded.");
    free(msg);
    tp_engine_free(e);
}

static void function_errors_and_fault_rules(void **state)
{
    tp_engine *e = engine("{\"faults\":[{\"service\":\"lambda\",\"resource\":\"echo\",\"after\":1,"
                          "\"count\":1,\"fail\":{\"errorType\":\"Injected\",\"errorMessage\":"
                          "\"by rule\"}},{\"id\":\"slow\",\"service\":\"lambda\",\"resource\":"
                          "\"echo\",\"after\":1,\"count\":1,\"timeout\":true}]}");
    register_all(e);
    create_function(e, "boom", "t.fail", 3, NULL);
    create_function(e, "echo", "t.echo", 2, NULL);
    create_function(e, "answer", "t.error_answer", 2, NULL);
    char *out = invoke(e, "boom", "{}");
    assert_non_null(strstr(out, "\"FunctionError\":\"Unhandled\""));
    assert_non_null(strstr(out, "exploded"));
    free(out);
    out = invoke(e, "answer", "{}");   /* returned 0, answered an error */
    assert_non_null(strstr(out, "\"FunctionError\":\"Unhandled\""));
    assert_non_null(strstr(out, "bad order"));
    free(out);
    out = invoke(e, "echo", "{}");   /* first: runs */
    assert_null(strstr(out, "FunctionError"));
    free(out);
    out = invoke(e, "echo", "{}");   /* second: the fail rule */
    assert_non_null(strstr(out, "Injected"));
    assert_non_null(strstr(out, "by rule"));
    free(out);
    int64_t before = tp_engine_now_ms(e);
    out = invoke(e, "echo", "{}");   /* third: the timeout rule */
    assert_non_null(strstr(out, "Task timed out after 2.00 seconds"));
    assert_int_equal(tp_engine_now_ms(e), before + 2000);
    free(out);
    out = invoke(e, "echo", "{}");   /* rules used up */
    assert_null(strstr(out, "FunctionError"));
    free(out);
    tp_engine_free(e);
}

static void unknown_function_and_reset(void **state)
{
    tp_engine *e = engine(NULL);
    register_all(e);
    char *msg = call(e, "Lambda_20150331.Invoke", "{\"FunctionName\":\"nope\",\"Payload\":\"{}\"}",
                     "ResourceNotFoundException");
    assert_string_equal(msg, "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope");
    free(msg);
    /* an Event invocation left sleeping is abandoned by a reset */
    create_function(e, "sleepy", "t.sleepy", 30, NULL);
    free(call(e, "Lambda_20150331.Invoke",
              "{\"FunctionName\":\"sleepy\",\"InvocationType\":\"Event\",\"Payload\":\"{}\"}", NULL));
    tp_engine_advance(e, 100);
    assert_int_equal(tp_engine_reset(e), 0);
    tp_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sync_invoke_returns_the_handler_response),
        cmocka_unit_test(handler_calls_cost_virtual_latency),
        cmocka_unit_test(timeout_fails_the_invocation_and_later_calls),
        cmocka_unit_test(sdk_retries_ride_out_throttling_identically),
        cmocka_unit_test(concurrent_invocations_interleave_in_time_order),
        cmocka_unit_test(reserved_concurrency_zero_throttles),
        cmocka_unit_test(function_errors_and_fault_rules),
        cmocka_unit_test(unknown_function_and_reset),
        cmocka_unit_test(crash_fails_the_invocation_not_the_engine),
        cmocka_unit_test(spinning_handler_times_out_by_the_watchdog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
