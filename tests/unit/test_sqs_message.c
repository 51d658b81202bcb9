/* Unit tests: sqs/md5 and sqs/receipt — MD5OfMessageAttributes vectors
 * (computed independently with SQS's documented encoding), the body's
 * character rule, message attribute refusals, receipt handles; and one
 * internal (no HTTP, no endpoint) send/receive/delete through the engine,
 * as the event-source poller calls SQS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/rng.h"
#include "sqs/sqs.h"
#include "engine_internal.h"
#include "tidepool/engine.h"

static cJSON *parse(const char *s)
{
    cJSON *j = tp_json_parse(s, strlen(s));
    assert_non_null(j);
    return j;
}

static void md5_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *attrs, *md5;
    } v[] = {
        {"{\"a\":{\"DataType\":\"String\",\"StringValue\":\"x\"},"
         "\"b\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAE=\"}}",
         "fa20e2def088daf7b14bc51e836c5547"},
        {"{\"n\":{\"DataType\":\"Number\",\"StringValue\":\"1\"}}", "ef88bdc4583394a9f2bcdc6a6f0ccbfe"},
        /* names sort by bytes ("B" before "a"); custom types keep their suffix */
        {"{\"z\":{\"DataType\":\"Binary.gz\",\"BinaryValue\":\"/w==\"},"
         "\"a\":{\"DataType\":\"String\",\"StringValue\":\"\xc3\xa9\"},"
         "\"B\":{\"DataType\":\"Number.int\",\"StringValue\":\"42\"}}",
         "146684df847ae964c6e991e788e77cb2"},
        {"{\"AWSTraceHeader\":{\"DataType\":\"String\","
         "\"StringValue\":\"Root=1-5759e988-bd862e3fe1be46a994272793\"}}",
         "62a56dd927315f2b2e12832b84617ea5"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        cJSON *a = parse(v[i].attrs);
        char out[33];
        assert_int_equal(sqs_md5_of_attributes(a, out), 0);
        assert_string_equal(out, v[i].md5);
        cJSON_Delete(a);
    }
    char out[33] = "x";
    cJSON *empty = parse("{}");
    assert_int_equal(sqs_md5_of_attributes(empty, out), 0);
    assert_string_equal(out, "");
    assert_int_equal(sqs_md5_of_attributes(NULL, out), 0);
    assert_string_equal(out, "");
    cJSON_Delete(empty);
}

static void body_characters(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int ok;
    } v[] = {
        {"plain", 1}, {"tab\tnl\ncr\r", 1}, {"\xc3\xa9\xe2\x82\xac", 1},
        {"\xf0\x9f\x8c\x8a", 1},          /* U+1F30A */
        {"\xee\x80\x80", 1},              /* U+E000 */
        {"bell\x07", 0}, {"\x1f", 0},
        {"\xc0\x80", 0},                  /* the in-process U+0000 */
        {"\xed\xa0\x80", 0},              /* a surrogate */
        {"\xef\xbf\xbe", 0},              /* U+FFFE */
        {"\xef\xbf\xbf", 0},              /* U+FFFF */
        {"\xff", 0}, {"\xc3", 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        assert_int_equal(sqs_text_ok(v[i].s, strlen(v[i].s)), v[i].ok);
    tp_error err = {0};
    assert_int_equal(sqs_check_body("x\x07", 2, &err), -1);
    assert_string_equal(err.code, "InvalidMessageContents");
    assert_non_null(strstr(err.message, "'#x7'"));
    assert_int_equal(sqs_check_body("\xef\xbf\xbf", 3, &err), -1);
    assert_non_null(strstr(err.message, "'#xFFFF'"));
}

static void attribute_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *attrs, *message;
    } v[] = {
        {"{\"a\":{\"DataType\":\"String\",\"StringValue\":\"\"}}",
         "Message (user) attribute 'a' must contain a non-empty value of type 'String'."},
        {"{\"a\":{\"DataType\":\"Bool\",\"StringValue\":\"t\"}}",
         "The type of message (user) attribute 'a' is invalid. You must use only the following "
         "supported type prefixes: Binary, Number, String."},
        {"{\"a\":{\"StringValue\":\"t\"}}",
         "The message attribute 'a' must contain non-empty message attribute type."},
        {"{\"a\":{\"DataType\":\"Number\",\"StringValue\":\"1.2.3\"}}",
         "Can't cast the value of message (user) attribute 'a' to a number."},
        {"{\"a\":{\"DataType\":\"Binary\",\"StringValue\":\"t\"}}",
         "The message attribute 'a' with type 'Binary' must use field 'Binary'."},
        {"{\"Amazon.x\":{\"DataType\":\"String\",\"StringValue\":\"t\"}}",
         "You can't use message attribute names beginning with 'AWS.' or 'Amazon.'. These strings "
         "are reserved for internal use. Additionally, they cannot start or end with '.'."},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        cJSON *a = parse(v[i].attrs);
        tp_error err = {0};
        size_t size = 0;
        assert_int_equal(sqs_check_message_attributes(a, 0, &size, &err), -1);
        assert_string_equal(err.code, "InvalidParameterValue");
        assert_string_equal(err.message, v[i].message);
        cJSON_Delete(a);
    }
    cJSON *ok = parse("{\"k\":{\"DataType\":\"Number.f\",\"StringValue\":\"-1.5e3\"},"
                      "\"b\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAEC\"}}");
    tp_error err = {0};
    size_t size = 0;
    assert_int_equal(sqs_check_message_attributes(ok, 0, &size, &err), 0);
    /* name + type + value bytes: 1+8+6 and 1+6+3 */
    assert_int_equal(size, 25);
    cJSON_Delete(ok);
}

static void receipt_handles(void **state)
{
    (void)state;
    tp_rng rng;
    tp_rng_seed(&rng, 7);
    const char *arn = "arn:aws:sqs:us-east-1:123456789012:q";
    tp_buf a, b;
    tp_buf_init(&a);
    tp_buf_init(&b);
    sqs_receipt_make(&rng, arn, 42, 1, &a);
    sqs_receipt_make(&rng, arn, 42, 1, &b);
    assert_string_not_equal(a.data, b.data);   /* every receive gets its own */
    char got[192];
    int64_t row = 0;
    assert_int_equal(sqs_receipt_parse(a.data, got, sizeof got, &row), 0);
    assert_string_equal(got, arn);
    assert_int_equal(row, 42);
    assert_int_equal(sqs_receipt_parse("garbage", got, sizeof got, &row), -1);
    assert_int_equal(sqs_receipt_parse("", got, sizeof got, &row), -1);
    assert_int_equal(sqs_receipt_parse("aGVsbG8gd29ybGQ=", got, sizeof got, &row), -1);
    /* row 0, and a random part of the wrong length */
    assert_int_equal(sqs_receipt_parse("YXJuOmF3czpzcXM6dXMtZWFzdC0xOjE6cSAwIDEgYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=", got, sizeof got, &row), -1);
    assert_int_equal(sqs_receipt_parse("YXJuOmF3czpzcXM6dXMtZWFzdC0xOjE6cSA1IDEgYWJj", got, sizeof got, &row), -1);
    tp_buf_free(&a);
    tp_buf_free(&b);
}

/* The poller's path: tp_engine_call has no endpoint, so queue URLs use the
 * default host; receive, delete and counts work the same. */
static void internal_calls(void **state)
{
    (void)state;
    tp_error err = {0};
    tp_engine *e = tp_engine_new(NULL, &err);
    assert_non_null(e);
    char *out = NULL;
    assert_int_equal(tp_engine_call(e, "123456789012", NULL, "AmazonSQS.CreateQueue",
                                    "{\"QueueName\":\"inner\"}", &out, &err), 0);
    cJSON *j = parse(out);
    assert_string_equal(tp_json_str(j, "QueueUrl"), "http://localhost:4566/123456789012/inner");
    cJSON_Delete(j);
    free(out);
    const char *url = "{\"QueueUrl\":\"http://localhost:4566/123456789012/inner\"";
    char req[512];
    snprintf(req, sizeof req, "%s,\"MessageBody\":\"hi\"}", url);
    assert_int_equal(tp_engine_call(e, "123456789012", NULL, "AmazonSQS.SendMessage", req, &out, &err), 0);
    free(out);
    /* a queue's ReceiveMessageWaitTimeSeconds never parks an internal call */
    snprintf(req, sizeof req, "%s,\"Attributes\":{\"ReceiveMessageWaitTimeSeconds\":\"20\"}}", url);
    assert_int_equal(tp_engine_call(e, "123456789012", NULL, "AmazonSQS.SetQueueAttributes", req, &out, &err), 0);
    free(out);
    snprintf(req, sizeof req, "%s,\"MaxNumberOfMessages\":10}", url);
    assert_int_equal(tp_engine_call(e, "123456789012", NULL, "AmazonSQS.ReceiveMessage", req, &out, &err), 0);
    j = parse(out);
    free(out);
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "Messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    const char *handle = tp_json_str(cJSON_GetArrayItem(msgs, 0), "ReceiptHandle");
    assert_non_null(handle);
    char del[1024];
    snprintf(del, sizeof del, "%s,\"ReceiptHandle\":\"%s\"}", url, handle);
    cJSON_Delete(j);
    assert_int_equal(tp_engine_call(e, "123456789012", NULL, "AmazonSQS.DeleteMessage", del, &out, &err), 0);
    free(out);
    snprintf(req, sizeof req, "%s}", url);
    assert_int_equal(tp_engine_call(e, "123456789012", NULL, "AmazonSQS.ReceiveMessage", req, &out, &err), 0);
    assert_string_equal(out, "{}");
    free(out);
    assert_int_equal(tp_engine_call(e, "123456789012", NULL, "AmazonSQS.GetQueueUrl",
                                    "{\"QueueName\":\"absent\"}", &out, &err), -1);
    assert_string_equal(err.code, "QueueDoesNotExist");
    assert_int_equal(err.status, 400);
    tp_engine_free(e);
}

/* --- long polls: wake calls and the parking contract ----------------------- */

static char woken[16][256];
static int nwoken;
static const tp_core_host *real_host;
static tp_core_host spy_host;

static void spy_wake(void *ctx, const char *key)
{
    (void)ctx;
    if (nwoken < 16)
        snprintf(woken[nwoken++], sizeof woken[0], "%s", key);
}

static tp_engine *spy_engine(void)
{
    tp_error err = {0};
    tp_engine *e = tp_engine_new(NULL, &err);
    assert_non_null(e);
    tp_core *core = tp_engine_core(e);
    real_host = core->host;
    spy_host = *core->host;
    spy_host.wake = spy_wake;
    core->host = &spy_host;
    nwoken = 0;
    return e;
}

static void spy_free(tp_engine *e)
{
    tp_engine_core(e)->host = real_host;
    tp_engine_free(e);
}

static void call_ok(tp_engine *e, const char *target, const char *req, char **out)
{
    tp_error err = {0};
    char *o = NULL;
    int rc = tp_engine_call(e, "123456789012", NULL, target, req, &o, &err);
    if (rc != 0)
        fail_msg("%s: %s %s", target, err.code, err.message);
    if (out)
        *out = o;
    else
        free(o);
}

#define URL "{\"QueueUrl\":\"http://localhost:4566/123456789012/w\""
#define ARN "arn:aws:sqs:us-east-1:123456789012:w"

static void wakes_when_messages_become_receivable(void **state)
{
    (void)state;
    tp_engine *e = spy_engine();
    call_ok(e, "AmazonSQS.CreateQueue", "{\"QueueName\":\"w\"}", NULL);
    call_ok(e, "AmazonSQS.SendMessage", URL ",\"MessageBody\":\"now\"}", NULL);
    assert_int_equal(nwoken, 1);
    assert_string_equal(woken[0], ARN);
    /* a delayed message wakes when its delay ends, not before */
    call_ok(e, "AmazonSQS.SendMessage", URL ",\"MessageBody\":\"later\",\"DelaySeconds\":5}", NULL);
    assert_int_equal(nwoken, 1);
    tp_engine_advance(e, 4999);
    assert_int_equal(nwoken, 1);
    tp_engine_advance(e, 1);
    assert_int_equal(nwoken, 2);
    assert_string_equal(woken[1], ARN);
    /* a visibility timeout wakes when it ends */
    char *out = NULL;
    call_ok(e, "AmazonSQS.ReceiveMessage", URL ",\"VisibilityTimeout\":10}", &out);
    cJSON *j = parse(out);
    free(out);
    char handle[1024];
    snprintf(handle, sizeof handle, "%s",
             tp_json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "Messages"), 0),
                         "ReceiptHandle"));
    cJSON_Delete(j);
    int before = nwoken;
    tp_engine_advance(e, 10000);
    assert_int_equal(nwoken, before + 1);
    /* ChangeMessageVisibility to 0 wakes at once */
    call_ok(e, "AmazonSQS.ReceiveMessage", URL ",\"VisibilityTimeout\":100,\"MaxNumberOfMessages\":10}", &out);
    j = parse(out);
    free(out);
    snprintf(handle, sizeof handle, "%s",
             tp_json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "Messages"), 0),
                         "ReceiptHandle"));
    cJSON_Delete(j);
    before = nwoken;
    char req[1400];
    snprintf(req, sizeof req, URL ",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":0}", handle);
    call_ok(e, "AmazonSQS.ChangeMessageVisibility", req, NULL);
    assert_int_equal(nwoken, before + 1);
    assert_string_equal(woken[nwoken - 1], ARN);
    spy_free(e);
}

/* Runs the ReceiveMessage action as the engine does for a client call with
 * an endpoint (so it may park), inside its own transaction. */
static int run_receive(tp_engine *e, const char *req_json, int final, tp_req *r, cJSON **out)
{
    tp_core *core = tp_engine_core(e);
    memset(r, 0, sizeof *r);
    r->core = core;
    r->account = "123456789012";
    r->region = "us-east-1";
    r->request_id = "rid";
    r->now_ms = tp_engine_now_ms(e);
    r->endpoint = "http://127.0.0.1:9";
    r->park_final = final;
    cJSON *in = parse(req_json);
    tp_error err = {0};
    assert_int_equal(tp_store_begin(core->store), 0);
    int rc = sqs_receive_message(r, in, out, &err);
    assert_int_equal(tp_store_commit(core->store), 0);
    cJSON_Delete(in);
    return rc;
}

static void long_poll_parks_then_answers(void **state)
{
    (void)state;
    tp_engine *e = spy_engine();
    call_ok(e, "AmazonSQS.CreateQueue", "{\"QueueName\":\"w\"}", NULL);
    tp_req r;
    cJSON *out = NULL;
    assert_int_equal(run_receive(e, URL ",\"WaitTimeSeconds\":20}", 0, &r, &out), 0);
    assert_null(out);
    assert_int_equal(r.park_until_ms, r.now_ms + 20000);
    assert_string_equal(r.park_key, ARN);
    /* the final run answers, empty */
    assert_int_equal(run_receive(e, URL ",\"WaitTimeSeconds\":20}", 1, &r, &out), 0);
    assert_non_null(out);
    assert_null(cJSON_GetObjectItemCaseSensitive(out, "Messages"));
    cJSON_Delete(out);
    /* WaitTimeSeconds 0 never parks; the queue's ReceiveMessageWaitTimeSeconds does */
    assert_int_equal(run_receive(e, URL ",\"WaitTimeSeconds\":0}", 0, &r, &out), 0);
    assert_non_null(out);
    cJSON_Delete(out);
    call_ok(e, "AmazonSQS.SetQueueAttributes", URL ",\"Attributes\":{\"ReceiveMessageWaitTimeSeconds\":\"3\"}}", NULL);
    assert_int_equal(run_receive(e, URL "}", 0, &r, &out), 0);
    assert_null(out);
    assert_int_equal(r.park_until_ms, r.now_ms + 3000);
    /* a message there: no parking */
    call_ok(e, "AmazonSQS.SendMessage", URL ",\"MessageBody\":\"x\"}", NULL);
    assert_int_equal(run_receive(e, URL ",\"WaitTimeSeconds\":20}", 0, &r, &out), 0);
    assert_non_null(out);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(out, "Messages")), 1);
    cJSON_Delete(out);
    spy_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(md5_vectors),
        cmocka_unit_test(body_characters),
        cmocka_unit_test(attribute_refusals),
        cmocka_unit_test(receipt_handles),
        cmocka_unit_test(internal_calls),
        cmocka_unit_test(wakes_when_messages_become_receivable),
        cmocka_unit_test(long_poll_parks_then_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
