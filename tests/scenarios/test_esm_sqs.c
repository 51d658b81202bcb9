/* test_esm_sqs — SQS event source mappings through the embedding API
 * (engine.h) on the virtual clock, against the real SQS service: the event
 * Lambda sends (member order, attributes, message attributes, md5OfBody),
 * validation with Lambda's messages, delete on success, redelivery after
 * the visibility timeout on failure, ReportBatchItemFailures, FilterCriteria
 * (what no filter matches is deleted), the batching window, redrive to the
 * dead-letter queue through maxReceiveCount, FIFO order per message group,
 * pollers that scale with the backlog up to MaximumConcurrency, throttled
 * invocations, and a stream mapping whose OnFailure destination is a
 * queue. What the handlers saw is recorded here; what tidepool did is read
 * from its trace and from the queues. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "core/hash.h"
#include "tidepool/engine.h"
#include "tidepool/handler.h"

#define ACCOUNT "123456789012"
#define IDLE_MAX (10LL * 60 * 1000)

/* --- what the handlers saw ----------------------------------------------- */

#define MAX_CALLS 1024
#define MAX_RECS 64

typedef struct seen_batch {
    int n;
    char id[MAX_RECS][40];
    char body[MAX_RECS][64];
    char group[MAX_RECS][16];
    int receives[MAX_RECS];
} seen_batch;

static seen_batch calls[MAX_CALLS];
static int ncalls;
static int fail_below;       /* h_fail_n fails while ncalls <= fail_below */
static int running, most_running;
static char first_event[16384];

static void seen_reset(void)
{
    memset(calls, 0, sizeof calls);
    ncalls = fail_below = running = most_running = 0;
    first_event[0] = '\0';
}

static const char *str_at(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static seen_batch *record_event(const char *event, size_t len)
{
    if (ncalls == 0)
        snprintf(first_event, sizeof first_event, "%.*s", (int)len, event);
    cJSON *ev = cJSON_ParseWithLength(event, len);
    seen_batch *b = ncalls < MAX_CALLS ? &calls[ncalls++] : &calls[MAX_CALLS - 1];
    memset(b, 0, sizeof *b);
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(ev, "Records"))
    {
        if (b->n == MAX_RECS)
            break;
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(r, "attributes");
        snprintf(b->id[b->n], 40, "%s", str_at(r, "messageId"));
        snprintf(b->body[b->n], 64, "%s", str_at(r, "body"));
        snprintf(b->group[b->n], 16, "%s", str_at(a, "MessageGroupId"));
        b->receives[b->n] = atoi(str_at(a, "ApproximateReceiveCount"));
        b->n++;
    }
    cJSON_Delete(ev);
    return b;
}

static int h_record(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    (void)ctx;
    (void)resp;
    record_event(event, len);
    return 0;
}

static int h_fail_n(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    (void)ctx;
    (void)resp;
    record_event(event, len);
    return ncalls <= fail_below ? 1 : 0;
}

static int h_fail_always(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    (void)ctx;
    (void)resp;
    record_event(event, len);
    return 1;
}

/* Reports the message whose body is "bad" as failed. */
static int h_partial(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    (void)ctx;
    seen_batch *b = record_event(event, len);
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->body[i], "bad") == 0)
            return tp_respondf(resp, "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}", b->id[i]);
    return tp_respondf(resp, "%s", "{\"batchItemFailures\":[]}");
}

/* Answers with text that is not JSON. */
static int h_not_json(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    (void)ctx;
    record_event(event, len);
    return tp_respondf(resp, "%s", ncalls == 1 ? "not json" : "");
}

/* Takes a second of tidepool time; counts how many run at once. */
static int h_slow(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    (void)resp;
    record_event(event, len);
    if (++running > most_running)
        most_running = running;
    tp_sleep_ms(ctx, 1000);
    running--;
    return 0;
}

/* --- engine helpers --------------------------------------------------------- */

static tp_engine *engine(const char *config)
{
    tp_engine_options o = {.config_json = config, .seed = 7};
    tp_error err;
    tp_engine *e = tp_engine_new(&o, &err);
    if (!e)
        fail_msg("engine: %s %s", err.code, err.message);
    static const struct {
        const char *name;
        tp_handler_fn fn;
    } handlers[] = {{"t_record", h_record},   {"t_fail_n", h_fail_n}, {"t_fail_always", h_fail_always},
                    {"t_partial", h_partial}, {"t_slow", h_slow},
                    {"t_not_json", h_not_json}};
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        tp_engine_register_handler(e, handlers[i].name, handlers[i].fn);
    seen_reset();
    return e;
}

static char *call(tp_engine *e, const char *target, const char *body, const char *want_error)
{
    char *out = NULL;
    tp_error err = {0};
    int rc = tp_engine_call(e, ACCOUNT, "us-east-1", target, body, &out, &err);
    if (want_error) {
        if (rc == 0)
            fail_msg("%s: wanted %s, got success %s", target, want_error, out);
        if (strcmp(err.code, want_error) != 0)
            fail_msg("%s: wanted %s, got %s: %s", target, want_error, err.code, err.message);
        free(out);
        return strdup(err.message);
    }
    if (rc != 0)
        fail_msg("%s %s: %s: %s", target, body, err.code, err.message);
    return out;
}

static char *json_member(const char *json, const char *path)
{
    cJSON *o = cJSON_Parse(json);
    const cJSON *v = o;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *p = strtok_r(buf, ".", &save); p && v; p = strtok_r(NULL, ".", &save))
        v = cJSON_GetObjectItemCaseSensitive(v, p);
    char *s = NULL;
    if (cJSON_IsString(v))
        s = strdup(v->valuestring);
    else if (v)
        s = cJSON_PrintUnformatted(v);
    cJSON_Delete(o);
    return s;
}

typedef struct queue {
    char url[256];
    char arn[256];
} queue;

/* CreateQueue with an Attributes object (or NULL). */
static void create_queue(tp_engine *e, const char *name, const char *attrs, queue *q)
{
    char body[2048];
    snprintf(body, sizeof body, "{\"QueueName\":\"%s\"%s%s}", name, attrs ? ",\"Attributes\":" : "",
             attrs ? attrs : "");
    char *out = call(e, "AmazonSQS.CreateQueue", body, NULL);
    char *url = json_member(out, "QueueUrl");
    assert_non_null(url);
    snprintf(q->url, sizeof q->url, "%s", url);
    free(url);
    free(out);
    snprintf(body, sizeof body, "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"QueueArn\"]}", q->url);
    out = call(e, "AmazonSQS.GetQueueAttributes", body, NULL);
    char *arn = json_member(out, "Attributes.QueueArn");
    assert_non_null(arn);
    snprintf(q->arn, sizeof q->arn, "%s", arn);
    free(arn);
    free(out);
}

static void send(tp_engine *e, const queue *q, const char *body, const char *extra)
{
    char in[2048];
    snprintf(in, sizeof in, "{\"QueueUrl\":\"%s\",\"MessageBody\":\"%s\"%s%s}", q->url, body,
             extra ? "," : "", extra ? extra : "");
    free(call(e, "AmazonSQS.SendMessage", in, NULL));
}

/* ApproximateNumberOfMessages (+NotVisible when with_inflight). */
static int queue_depth(tp_engine *e, const queue *q, int with_inflight)
{
    char in[512];
    snprintf(in, sizeof in,
             "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"ApproximateNumberOfMessages\","
             "\"ApproximateNumberOfMessagesNotVisible\"]}",
             q->url);
    char *out = call(e, "AmazonSQS.GetQueueAttributes", in, NULL);
    char *v = json_member(out, "Attributes.ApproximateNumberOfMessages");
    char *nv = json_member(out, "Attributes.ApproximateNumberOfMessagesNotVisible");
    int n = (v ? atoi(v) : -1) + (with_inflight && nv ? atoi(nv) : 0);
    free(v);
    free(nv);
    free(out);
    return n;
}

static void create_function(tp_engine *e, const char *name, const char *handler, int timeout_s)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"FunctionName\":\"%s\",\"Runtime\":\"provided.al2023\",\"Role\":"
             "\"arn:aws:iam::123456789012:role/r\",\"Handler\":\"%s\",\"Timeout\":%d,"
             "\"Code\":{\"ZipFile\":\"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\"}}",
             name, handler, timeout_s);
    free(call(e, "Lambda_20150331.CreateFunction", body, NULL));
}

/* CreateEventSourceMapping with extra members; the mapping settles into
 * Enabled. Returns the response (free it). */
static char *create_mapping(tp_engine *e, const char *fn, const char *arn, const char *extra)
{
    char body[4096];
    snprintf(body, sizeof body, "{\"FunctionName\":\"%s\",\"EventSourceArn\":\"%s\"%s%s}", fn, arn,
             extra ? "," : "", extra ? extra : "");
    char *out = call(e, "Lambda_20150331.CreateEventSourceMapping", body, NULL);
    char *state = json_member(out, "State");
    assert_string_equal(state, "Creating");
    free(state);
    tp_engine_advance(e, 1000);
    return out;
}

static char *mapping_error(tp_engine *e, const char *arn, const char *extra)
{
    char body[4096];
    snprintf(body, sizeof body, "{\"FunctionName\":\"f\",\"EventSourceArn\":\"%s\"%s%s}", arn,
             extra ? "," : "", extra ? extra : "");
    return call(e, "Lambda_20150331.CreateEventSourceMapping", body, "InvalidParameterValueException");
}

/* The trace events of one type, as a JSON array (cJSON_Delete it). */
static cJSON *trace_events(tp_engine *e, const char *type)
{
    char *text = tp_engine_trace(e, 0, 0, NULL);
    cJSON *list = cJSON_CreateArray();
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
        if (cJSON_IsString(t) && strcmp(t->valuestring, type) == 0)
            cJSON_AddItemToArray(list, o);
        else
            cJSON_Delete(o);
    }
    free(text);
    return list;
}

static int total_records(void)
{
    int n = 0;
    for (int i = 0; i < ncalls; i++)
        n += calls[i].n;
    return n;
}

static int seen_body(const char *body)
{
    int n = 0;
    for (int c = 0; c < ncalls; c++)
        for (int i = 0; i < calls[c].n; i++)
            n += strcmp(calls[c].body[i], body) == 0;
    return n;
}

/* --- tests ------------------------------------------------------------------ */

static void assert_members(const cJSON *o, const char *const *names, int n)
{
    int i = 0;
    for (const cJSON *m = o ? o->child : NULL; m; m = m->next, i++) {
        assert_true(i < n);
        assert_string_equal(m->string, names[i]);
    }
    assert_int_equal(i, n);
}

static void test_event_and_delete(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    queue q;
    create_queue(e, "jobs", NULL, &q);
    create_function(e, "f", "t_record", 30);
    send(e, &q, "m0",
         "\"MessageAttributes\":{\"kind\":{\"DataType\":\"String\",\"StringValue\":\"invoice\"},"
         "\"raw\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAEC\"}}");
    for (int i = 1; i < 7; i++) {
        char b[16];
        snprintf(b, sizeof b, "m%d", i);
        send(e, &q, b, NULL);
    }
    char *out = create_mapping(e, "f", q.arn, "\"BatchSize\":3");
    /* a queue's mapping: no stream settings in the answer */
    cJSON *resp = cJSON_Parse(out);
    assert_null(cJSON_GetObjectItemCaseSensitive(resp, "StartingPosition"));
    assert_null(cJSON_GetObjectItemCaseSensitive(resp, "ParallelizationFactor"));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(resp, "BatchSize")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(resp, "MaximumBatchingWindowInSeconds")->valueint, 0);
    cJSON_Delete(resp);
    free(out);
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(total_records(), 7);
    for (int i = 0; i < 7; i++) {
        char b[16];
        snprintf(b, sizeof b, "m%d", i);
        assert_int_equal(seen_body(b), 1);
    }
    for (int c = 0; c < ncalls; c++)
        assert_true(calls[c].n <= 3);
    /* delete on success: nothing left, visible or in flight */
    assert_int_equal(queue_depth(e, &q, 1), 0);

    /* Lambda's SQS record, in the order of AWS's sample event */
    cJSON *ev = cJSON_Parse(first_event);
    const cJSON *recs = cJSON_GetObjectItemCaseSensitive(ev, "Records");
    const cJSON *r0 = NULL, *r;
    cJSON_ArrayForEach(r, recs)
        if (strcmp(str_at(r, "body"), "m0") == 0)
            r0 = r;
    assert_non_null(r0);
    static const char *const order[] = {"messageId",   "receiptHandle", "body",           "attributes",
                                        "messageAttributes", "md5OfBody", "eventSource", "eventSourceARN",
                                        "awsRegion"};
    assert_members(r0, order, 9);
    static const char *const aorder[] = {"ApproximateReceiveCount", "SentTimestamp", "SenderId",
                                         "ApproximateFirstReceiveTimestamp"};
    assert_members(cJSON_GetObjectItemCaseSensitive(r0, "attributes"), aorder, 4);
    assert_string_equal(str_at(cJSON_GetObjectItemCaseSensitive(r0, "attributes"), "ApproximateReceiveCount"), "1");
    const cJSON *ma = cJSON_GetObjectItemCaseSensitive(r0, "messageAttributes");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(ma, "kind");
    static const char *const sorder[] = {"stringValue", "stringListValues", "binaryListValues", "dataType"};
    assert_members(kind, sorder, 4);
    assert_string_equal(str_at(kind, "stringValue"), "invoice");
    assert_string_equal(str_at(kind, "dataType"), "String");
    const cJSON *raw = cJSON_GetObjectItemCaseSensitive(ma, "raw");
    static const char *const border[] = {"binaryValue", "stringListValues", "binaryListValues", "dataType"};
    assert_members(raw, border, 4);
    assert_string_equal(str_at(raw, "binaryValue"), "AAEC");
    char md5[33];
    tp_md5_hex("m0", 2, md5);
    assert_string_equal(str_at(r0, "md5OfBody"), md5);
    assert_string_equal(str_at(r0, "eventSource"), "aws:sqs");
    assert_string_equal(str_at(r0, "eventSourceARN"), q.arn);
    assert_string_equal(str_at(r0, "awsRegion"), "us-east-1");
    cJSON_Delete(ev);

    /* the trace: batches naming the queue, deletes */
    cJSON *batches = trace_events(e, "batch");
    assert_int_equal(cJSON_GetArraySize(batches), ncalls);
    assert_string_equal(str_at(cJSON_GetArrayItem(batches, 0), "shard"), "jobs");
    cJSON_Delete(batches);
    cJSON *dels = trace_events(e, "delete");
    int deleted = 0;
    cJSON_ArrayForEach(r, dels)
    {
        assert_string_equal(str_at(r, "reason"), "success");
        deleted += cJSON_GetObjectItemCaseSensitive(r, "messages")->valueint;
    }
    assert_int_equal(deleted, 7);
    cJSON_Delete(dels);
    tp_engine_free(e);
}

static void test_validation(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    queue q, fq;
    create_queue(e, "v", NULL, &q);
    create_queue(e, "v.fifo", "{\"FifoQueue\":\"true\",\"ContentBasedDeduplication\":\"true\"}", &fq);
    create_function(e, "f", "t_record", 30);
    char *msg = mapping_error(e, q.arn, "\"BatchSize\":11");
    assert_string_equal(msg, "Maximum batch window in seconds must be greater than 0 if maximum batch "
                             "size is greater than 10");
    free(msg);
    msg = mapping_error(e, q.arn, "\"BatchSize\":100,\"MaximumBatchingWindowInSeconds\":0");
    assert_string_equal(msg, "Maximum batch window in seconds must be greater than 0 if maximum batch "
                             "size is greater than 10");
    free(msg);
    msg = mapping_error(e, q.arn, "\"StartingPosition\":\"LATEST\"");
    assert_string_equal(msg, "StartingPosition is not valid for SQS event sources.");
    free(msg);
    msg = mapping_error(e, q.arn, "\"ParallelizationFactor\":2");
    assert_string_equal(msg, "Unsupported ParallelizationFactor parameter for given event source mapping type.");
    free(msg);
    msg = mapping_error(e, fq.arn, "\"BatchSize\":11,\"MaximumBatchingWindowInSeconds\":1");
    assert_string_equal(msg, "Batch size for SQS FIFO event source must be between 1 and 10");
    free(msg);
    msg = mapping_error(e, "arn:aws:sqs:us-east-1:123456789012:nope", NULL);
    assert_string_equal(msg, "Error occurred while ReceiveMessage. SQS Error Code: "
                             "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified "
                             "queue does not exist or you do not have access to it.");
    free(msg);
    /* the model's ranges: BatchSize 1..10000, MaximumConcurrency 2..1000 */
    char body[1024];
    snprintf(body, sizeof body,
             "{\"FunctionName\":\"f\",\"EventSourceArn\":\"%s\",\"BatchSize\":10001,"
             "\"MaximumBatchingWindowInSeconds\":5}",
             q.arn);
    free(call(e, "Lambda_20150331.CreateEventSourceMapping", body, "ValidationException"));
    snprintf(body, sizeof body,
             "{\"FunctionName\":\"f\",\"EventSourceArn\":\"%s\",\"ScalingConfig\":{\"MaximumConcurrency\":1}}",
             q.arn);
    free(call(e, "Lambda_20150331.CreateEventSourceMapping", body, "ValidationException"));
    /* nothing was created */
    char *list = call(e, "Lambda_20150331.ListEventSourceMappings", "{}", NULL);
    char *n = json_member(list, "EventSourceMappings");
    assert_string_equal(n, "[]");
    free(n);
    free(list);
    /* a good one echoes its settings, 10000 with a window */
    char *out = create_mapping(e, "f", q.arn,
                               "\"BatchSize\":10000,\"MaximumBatchingWindowInSeconds\":20,"
                               "\"ScalingConfig\":{\"MaximumConcurrency\":2}");
    char *mc = json_member(out, "ScalingConfig.MaximumConcurrency");
    assert_string_equal(mc, "2");
    free(mc);
    char *bs = json_member(out, "BatchSize");
    assert_string_equal(bs, "10000");
    free(bs);
    char *uuid = json_member(out, "UUID");
    free(out);
    snprintf(body, sizeof body, "{\"FunctionName\":\"f\",\"EventSourceArn\":\"%s\"}", q.arn);
    msg = call(e, "Lambda_20150331.CreateEventSourceMapping", body, "ResourceConflictException");
    char want[512];
    snprintf(want, sizeof want,
             "An event source mapping with SQS arn (\" %s \") and function (\" f \") already exists. "
             "Please update or delete the existing mapping with UUID %s",
             q.arn, uuid);
    assert_string_equal(msg, want);
    free(msg);
    free(uuid);
    tp_engine_free(e);
}

static void test_failure_redelivered_after_visibility(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    queue q;
    create_queue(e, "retry", "{\"VisibilityTimeout\":\"30\"}", &q);
    create_function(e, "f", "t_fail_n", 30);
    fail_below = 1;
    send(e, &q, "once", NULL);
    free(create_mapping(e, "f", q.arn, NULL));
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 1);
    /* not deleted: in flight until the visibility timeout runs out */
    assert_int_equal(queue_depth(e, &q, 0), 0);
    assert_int_equal(queue_depth(e, &q, 1), 1);
    tp_engine_advance(e, 20000);
    assert_int_equal(ncalls, 1);
    tp_engine_advance(e, 12000);
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 2);
    assert_string_equal(calls[1].body[0], "once");
    assert_string_equal(calls[1].id[0], calls[0].id[0]);
    assert_int_equal(calls[0].receives[0], 1);
    assert_int_equal(calls[1].receives[0], 2);
    assert_int_equal(queue_depth(e, &q, 1), 0);
    cJSON *retries = trace_events(e, "retry");
    assert_int_equal(cJSON_GetArraySize(retries), 1);
    assert_string_equal(str_at(cJSON_GetArrayItem(retries, 0), "reason"), "function_error");
    cJSON_Delete(retries);
    tp_engine_free(e);
}

static void test_report_batch_item_failures(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    queue q;
    create_queue(e, "partial", "{\"VisibilityTimeout\":\"10\"}", &q);
    create_function(e, "f", "t_partial", 10);   /* within the queue's visibility timeout */
    send(e, &q, "a", NULL);
    send(e, &q, "bad", NULL);
    send(e, &q, "c", NULL);
    free(create_mapping(e, "f", q.arn, "\"FunctionResponseTypes\":[\"ReportBatchItemFailures\"]"));
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 1);
    assert_int_equal(calls[0].n, 3);
    /* all but the reported one deleted */
    assert_int_equal(queue_depth(e, &q, 1), 1);
    tp_engine_advance(e, 11000);
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_true(ncalls >= 2);
    assert_int_equal(calls[1].n, 1);
    assert_string_equal(calls[1].body[0], "bad");
    assert_int_equal(calls[1].receives[0], 2);
    assert_int_equal(seen_body("a"), 1);
    assert_int_equal(seen_body("c"), 1);
    tp_engine_free(e);
}

/* With ReportBatchItemFailures, an answer that is not JSON fails the whole
 * batch, as Lambda treats it; an empty answer is a success. */
static void test_report_failures_not_json_fails_the_batch(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    queue q;
    create_queue(e, "notjson", "{\"VisibilityTimeout\":\"10\"}", &q);
    create_function(e, "f", "t_not_json", 10);   /* within the queue's visibility timeout */
    send(e, &q, "a", NULL);
    send(e, &q, "b", NULL);
    free(create_mapping(e, "f", q.arn, "\"FunctionResponseTypes\":[\"ReportBatchItemFailures\"]"));
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 1);
    assert_int_equal(queue_depth(e, &q, 1), 2);
    tp_engine_advance(e, 11000);
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(total_records(), 4);
    assert_int_equal(queue_depth(e, &q, 1), 0);
    tp_engine_free(e);
}

static void test_filter_deletes_unmatched(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    queue q;
    create_queue(e, "filtered", NULL, &q);
    create_function(e, "f", "t_record", 30);
    send(e, &q, "{\\\"kind\\\":\\\"keep\\\",\\\"n\\\":1}", NULL);
    send(e, &q, "{\\\"kind\\\":\\\"drop\\\",\\\"n\\\":2}", NULL);
    send(e, &q, "not json", NULL);
    send(e, &q, "{\\\"kind\\\":\\\"keep\\\",\\\"n\\\":3}", NULL);
    free(create_mapping(e, "f", q.arn,
                        "\"FilterCriteria\":{\"Filters\":[{\"Pattern\":\"{\\\"body\\\":{\\\"kind\\\":[\\\"keep\\\"]}}\"}]}"));
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(total_records(), 2);
    assert_int_equal(seen_body("{\"kind\":\"keep\",\"n\":1}"), 1);
    assert_int_equal(seen_body("{\"kind\":\"keep\",\"n\":3}"), 1);
    /* what no filter matches is deleted, as Lambda does */
    assert_int_equal(queue_depth(e, &q, 1), 0);
    cJSON *dels = trace_events(e, "delete");
    int filtered = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, dels)
        if (strcmp(str_at(d, "reason"), "filtered") == 0)
            filtered += cJSON_GetObjectItemCaseSensitive(d, "messages")->valueint;
    assert_int_equal(filtered, 2);
    cJSON_Delete(dels);
    tp_engine_free(e);
}

static void test_batching_window(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    queue q;
    create_queue(e, "windowed", NULL, &q);
    create_function(e, "f", "t_record", 30);
    free(create_mapping(e, "f", q.arn, "\"BatchSize\":50,\"MaximumBatchingWindowInSeconds\":5"));
    for (int i = 0; i < 25; i++) {
        char b[16];
        snprintf(b, sizeof b, "w%d", i);
        send(e, &q, b, NULL);
    }
    tp_engine_advance(e, 3000);
    assert_int_equal(ncalls, 0);
    for (int i = 25; i < 30; i++) {
        char b[16];
        snprintf(b, sizeof b, "w%d", i);
        send(e, &q, b, NULL);
    }
    tp_engine_advance(e, 3000);
    assert_int_equal(ncalls, 1);
    assert_int_equal(calls[0].n, 30);
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(queue_depth(e, &q, 1), 0);
    tp_engine_free(e);
}

static void test_redrive_to_dlq(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    queue dlq, q;
    create_queue(e, "dead", NULL, &dlq);
    char attrs[1024];
    snprintf(attrs, sizeof attrs,
             "{\"VisibilityTimeout\":\"5\",\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"%s\\\","
             "\\\"maxReceiveCount\\\":\\\"2\\\"}\"}",
             dlq.arn);
    create_queue(e, "source", attrs, &q);
    create_function(e, "f", "t_fail_always", 5);   /* within the queue's visibility timeout */
    send(e, &q, "poison", NULL);
    free(create_mapping(e, "f", q.arn, NULL));
    for (int i = 0; i < 6; i++) {
        tp_engine_run_until_idle(e, IDLE_MAX);
        tp_engine_advance(e, 6000);
    }
    tp_engine_run_until_idle(e, IDLE_MAX);
    /* two receives, then SQS moved it on the third */
    assert_int_equal(ncalls, 2);
    assert_int_equal(queue_depth(e, &q, 1), 0);
    char in[512];
    snprintf(in, sizeof in, "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10}", dlq.url);
    char *out = call(e, "AmazonSQS.ReceiveMessage", in, NULL);
    cJSON *o = cJSON_Parse(out);
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(o, "Messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_string_equal(str_at(cJSON_GetArrayItem(msgs, 0), "Body"), "poison");
    cJSON_Delete(o);
    free(out);
    tp_engine_free(e);
}

static void test_fifo_order_per_group(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    queue q;
    create_queue(e, "orders.fifo", "{\"FifoQueue\":\"true\",\"ContentBasedDeduplication\":\"true\"}", &q);
    create_function(e, "f", "t_fail_n", 30);
    fail_below = 1;   /* the first batch fails: its group waits for it */
    for (int i = 0; i < 6; i++)
        for (int g = 0; g < 2; g++) {
            char b[16], extra[64];
            snprintf(b, sizeof b, "%c%d", 'A' + g, i);
            snprintf(extra, sizeof extra, "\"MessageGroupId\":\"%c\"", 'A' + g);
            send(e, &q, b, extra);
        }
    free(create_mapping(e, "f", q.arn, "\"BatchSize\":2"));
    for (int i = 0; i < 10; i++) {
        tp_engine_run_until_idle(e, IDLE_MAX);
        tp_engine_advance(e, 31000);
    }
    /* every message done; after the first (failed) batch, each group's
     * messages arrive in the order they were sent */
    assert_int_equal(queue_depth(e, &q, 1), 0);
    int next[2] = {0, 0};
    for (int c = 1; c < ncalls; c++)
        for (int i = 0; i < calls[c].n; i++) {
            int g = calls[c].group[i][0] - 'A';
            assert_true(g == 0 || g == 1);
            char want[16];
            snprintf(want, sizeof want, "%c%d", 'A' + g, next[g]);
            assert_string_equal(calls[c].body[i], want);
            next[g]++;
        }
    assert_int_equal(next[0], 6);
    assert_int_equal(next[1], 6);
    /* FIFO attributes, in the order of AWS's FIFO sample */
    cJSON *ev = cJSON_Parse(first_event);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ev, "Records"), 0), "attributes");
    static const char *const forder[] = {"ApproximateReceiveCount", "SentTimestamp", "SequenceNumber",
                                         "MessageGroupId", "SenderId", "MessageDeduplicationId",
                                         "ApproximateFirstReceiveTimestamp"};
    assert_members(a, forder, 7);
    cJSON_Delete(ev);
    tp_engine_free(e);
}

static void test_pollers_scale_to_maximum_concurrency(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    queue q;
    create_queue(e, "backlog", "{\"VisibilityTimeout\":\"120\"}", &q);
    create_function(e, "f", "t_slow", 30);
    for (int i = 0; i < 400; i++) {
        char b[16];
        snprintf(b, sizeof b, "b%d", i);
        send(e, &q, b, NULL);
    }
    free(create_mapping(e, "f", q.arn, "\"BatchSize\":1,\"ScalingConfig\":{\"MaximumConcurrency\":12}"));
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(total_records(), 400);
    assert_int_equal(queue_depth(e, &q, 1), 0);
    /* five at first, more with the backlog, never above MaximumConcurrency */
    cJSON *scale = trace_events(e, "scale");
    assert_true(cJSON_GetArraySize(scale) > 0);
    int most = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, scale)
    {
        int p = cJSON_GetObjectItemCaseSensitive(s, "pollers")->valueint;
        if (p > most)
            most = p;
    }
    assert_int_equal(most, 12);
    /* the first step is up from five, and growth takes tidepool time */
    const cJSON *s0 = cJSON_GetArrayItem(scale, 0);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(s0, "from")->valueint, 5);
    const cJSON *top = NULL;
    cJSON_ArrayForEach(s, scale)
        if (!top && cJSON_GetObjectItemCaseSensitive(s, "pollers")->valueint == 12)
            top = s;
    int64_t took = (int64_t)cJSON_GetObjectItemCaseSensitive(top, "t_ms")->valuedouble -
                   (int64_t)cJSON_GetObjectItemCaseSensitive(s0, "t_ms")->valuedouble;
    assert_true(took >= 6 * 200);   /* 300 a minute: one per 200 ms */
    cJSON_Delete(scale);
    assert_true(most_running > 5);
    assert_true(most_running <= 12);
    tp_engine_free(e);
}

static void test_throttled_invocations_reappear(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    queue q1, q2;
    create_queue(e, "t1", "{\"VisibilityTimeout\":\"10\"}", &q1);
    create_queue(e, "t2", "{\"VisibilityTimeout\":\"10\"}", &q2);
    create_function(e, "f", "t_slow", 10);   /* within the queue's visibility timeout */
    free(call(e, "Lambda_20150331.PutFunctionConcurrency",
              "{\"FunctionName\":\"f\",\"ReservedConcurrentExecutions\":1}", NULL));
    for (int i = 0; i < 3; i++) {
        char b[16];
        snprintf(b, sizeof b, "x%d", i);
        send(e, &q1, b, NULL);
        snprintf(b, sizeof b, "y%d", i);
        send(e, &q2, b, NULL);
    }
    free(create_mapping(e, "f", q1.arn, "\"BatchSize\":1"));
    free(create_mapping(e, "f", q2.arn, "\"BatchSize\":1"));
    for (int i = 0; i < 20 && queue_depth(e, &q1, 1) + queue_depth(e, &q2, 1) > 0; i++) {
        tp_engine_run_until_idle(e, IDLE_MAX);
        tp_engine_advance(e, 11000);
    }
    assert_int_equal(queue_depth(e, &q1, 1) + queue_depth(e, &q2, 1), 0);
    assert_int_equal(most_running, 1);
    cJSON *retries = trace_events(e, "retry");
    int throttled = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, retries)
        throttled += strcmp(str_at(r, "reason"), "throttled") == 0;
    assert_true(throttled > 0);
    cJSON_Delete(retries);
    /* a throttled message came back: received again */
    int again = 0;
    for (int c = 0; c < ncalls; c++)
        again += calls[c].receives[0] > 1;
    assert_true(again > 0);
    for (int i = 0; i < 3; i++) {
        char b[16];
        snprintf(b, sizeof b, "x%d", i);
        assert_int_equal(seen_body(b), 1);
        snprintf(b, sizeof b, "y%d", i);
        assert_int_equal(seen_body(b), 1);
    }
    tp_engine_free(e);
}

/* Update keeps Lambda's rules; a Disabled mapping leaves the queue alone;
 * a config-file mapping reads a queue made after it. */
static void test_update_disable_and_config(void **state)
{
    (void)state;
    tp_engine *e = engine("{\"lambda\":{\"functions\":[{\"FunctionName\":\"cf\",\"Handler\":\"echo\",\"access_key\":\"123456789012\"}],"
                          "\"event_source_mappings\":[{\"FunctionName\":\"cf\","
                          "\"EventSourceArn\":\"arn:aws:sqs:us-east-1:123456789012:later\",\"BatchSize\":4}]}}");
    queue later;
    tp_engine_advance(e, 2000);
    create_queue(e, "later", NULL, &later);
    for (int i = 0; i < 6; i++)
        send(e, &later, "c", NULL);
    tp_engine_run_until_idle(e, IDLE_MAX);
    cJSON *batches = trace_events(e, "batch");
    assert_int_equal(cJSON_GetArraySize(batches), 2);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(batches, 0), "size")->valueint, 4);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(batches, 1), "size")->valueint, 2);
    assert_string_equal(str_at(cJSON_GetArrayItem(batches, 0), "function"), "cf");
    cJSON_Delete(batches);
    assert_int_equal(queue_depth(e, &later, 1), 0);

    seen_reset();
    queue q;
    create_queue(e, "upd", NULL, &q);
    create_function(e, "f", "t_record", 30);
    char *out = create_mapping(e, "f", q.arn, NULL);
    char *uuid = json_member(out, "UUID");
    free(out);
    char body[512];
    snprintf(body, sizeof body, "{\"UUID\":\"%s\",\"BatchSize\":50}", uuid);
    char *msg = call(e, "Lambda_20150331.UpdateEventSourceMapping", body, "InvalidParameterValueException");
    assert_string_equal(msg, "Maximum batch window in seconds must be greater than 0 if maximum batch "
                             "size is greater than 10");
    free(msg);
    snprintf(body, sizeof body, "{\"UUID\":\"%s\",\"Enabled\":false}", uuid);
    free(call(e, "Lambda_20150331.UpdateEventSourceMapping", body, NULL));
    tp_engine_advance(e, 1500);
    send(e, &q, "waits", NULL);
    tp_engine_advance(e, 5000);
    assert_int_equal(ncalls, 0);
    assert_int_equal(queue_depth(e, &q, 0), 1);
    snprintf(body, sizeof body,
             "{\"UUID\":\"%s\",\"Enabled\":true,\"BatchSize\":50,\"MaximumBatchingWindowInSeconds\":1}",
             uuid);
    out = call(e, "Lambda_20150331.UpdateEventSourceMapping", body, NULL);
    char *bs = json_member(out, "BatchSize");
    assert_string_equal(bs, "50");
    free(bs);
    free(out);
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 1);
    assert_string_equal(calls[0].body[0], "waits");
    free(uuid);
    tp_engine_free(e);
}

/* One run of a small queue pipeline; its trace. */
static char *replay_once(void)
{
    tp_engine *e = engine(NULL);
    queue q;
    create_queue(e, "replay", "{\"VisibilityTimeout\":\"5\"}", &q);
    create_function(e, "f", "t_fail_n", 5);   /* within the queue's visibility timeout */
    fail_below = 2;
    for (int i = 0; i < 30; i++) {
        char b[16];
        snprintf(b, sizeof b, "r%d", i);
        send(e, &q, b, NULL);
    }
    free(create_mapping(e, "f", q.arn, "\"BatchSize\":3"));
    for (int i = 0; i < 3; i++) {
        tp_engine_run_until_idle(e, IDLE_MAX);
        tp_engine_advance(e, 6000);
    }
    char *trace = tp_engine_trace(e, 0, 0, NULL);
    tp_engine_free(e);
    return trace;
}

static void test_replays_identically(void **state)
{
    (void)state;
    char *a = replay_once();
    char *b = replay_once();
    assert_non_null(strstr(a, "\"type\":\"delete\""));
    assert_non_null(strstr(a, "\"type\":\"retry\""));
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* A stream batch that runs out of retries lands on the OnFailure queue as
 * one message holding Lambda's failure record. */
static void test_stream_on_failure_to_queue(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    queue dest;
    create_queue(e, "failures", NULL, &dest);
    char *out = call(e, "DynamoDB_20120810.CreateTable",
                     "{\"TableName\":\"tab\",\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],"
                     "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],"
                     "\"BillingMode\":\"PAY_PER_REQUEST\",\"StreamSpecification\":{\"StreamEnabled\":true,"
                     "\"StreamViewType\":\"NEW_IMAGE\"}}",
                     NULL);
    char *stream = json_member(out, "TableDescription.LatestStreamArn");
    free(out);
    tp_engine_advance(e, 1000);
    create_function(e, "f", "t_fail_always", 30);
    free(call(e, "DynamoDB_20120810.PutItem", "{\"TableName\":\"tab\",\"Item\":{\"pk\":{\"S\":\"k1\"}}}", NULL));
    free(call(e, "DynamoDB_20120810.PutItem", "{\"TableName\":\"tab\",\"Item\":{\"pk\":{\"S\":\"k2\"}}}", NULL));
    char extra[1024];
    snprintf(extra, sizeof extra,
             "\"StartingPosition\":\"TRIM_HORIZON\",\"MaximumRetryAttempts\":1,"
             "\"DestinationConfig\":{\"OnFailure\":{\"Destination\":\"%s\"}}",
             dest.arn);
    free(create_mapping(e, "f", stream, extra));
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 2);
    char in[512];
    snprintf(in, sizeof in, "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10}", dest.url);
    out = call(e, "AmazonSQS.ReceiveMessage", in, NULL);
    cJSON *o = cJSON_Parse(out);
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(o, "Messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    cJSON *fr = cJSON_Parse(str_at(cJSON_GetArrayItem(msgs, 0), "Body"));
    assert_non_null(fr);
    static const char *const order[] = {"requestContext", "responseContext", "version", "timestamp",
                                        "DDBStreamBatchInfo"};
    assert_members(fr, order, 5);
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(fr, "requestContext");
    assert_string_equal(str_at(rc, "condition"), "RetryAttemptsExhausted");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(rc, "approximateInvokeCount")->valueint, 2);
    assert_string_equal(str_at(cJSON_GetObjectItemCaseSensitive(fr, "responseContext"), "functionError"),
                        "Unhandled");
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(fr, "DDBStreamBatchInfo");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(info, "batchSize")->valueint, 2);
    assert_string_equal(str_at(info, "streamArn"), stream);
    cJSON_Delete(fr);
    cJSON_Delete(o);
    free(out);
    cJSON *discards = trace_events(e, "discard");
    assert_int_equal(cJSON_GetArraySize(discards), 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(discards, 0), "delivered")));
    cJSON_Delete(discards);
    free(stream);
    tp_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_and_delete),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_failure_redelivered_after_visibility),
        cmocka_unit_test(test_report_batch_item_failures),
        cmocka_unit_test(test_report_failures_not_json_fails_the_batch),
        cmocka_unit_test(test_filter_deletes_unmatched),
        cmocka_unit_test(test_batching_window),
        cmocka_unit_test(test_redrive_to_dlq),
        cmocka_unit_test(test_fifo_order_per_group),
        cmocka_unit_test(test_pollers_scale_to_maximum_concurrency),
        cmocka_unit_test(test_throttled_invocations_reappear),
        cmocka_unit_test(test_update_disable_and_config),
        cmocka_unit_test(test_stream_on_failure_to_queue),
        cmocka_unit_test(test_replays_identically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
