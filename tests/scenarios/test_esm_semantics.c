/* test_esm_semantics — DynamoDB stream event source mappings through the
 * embedding API (engine.h) on the virtual clock: batches and their order,
 * BatchSize, StartingPosition, retries of identical batches, bisect,
 * ReportBatchItemFailures, MaximumRetryAttempts and the failure record,
 * MaximumRecordAgeInSeconds, filters, ParallelizationFactor, lineage across
 * a shard rollover, the state machine, and that a run replays byte for
 * byte. What the handlers saw is recorded here; what tidepool did is read
 * from its trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "tidepool/engine.h"
#include "tidepool/handler.h"

#define ACCOUNT "123456789012"
#define IDLE_MAX (30LL * 60 * 1000)

/* --- what the handlers saw ----------------------------------------------- */

#define MAX_CALLS 512
#define MAX_RECS 64

typedef struct seen_batch {
    int n;
    char seq[MAX_RECS][32];
    char key[MAX_RECS][32];
    char event_id[MAX_RECS][40];
} seen_batch;

static seen_batch calls[MAX_CALLS];
static int ncalls;
static int fail_below;        /* h_fail_n fails while ncalls <= fail_below */
static char first_event[8192];

static void seen_reset(void)
{
    memset(calls, 0, sizeof calls);
    ncalls = 0;
    fail_below = 0;
    first_event[0] = '\0';
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
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "dynamodb");
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(d, "SequenceNumber");
        const cJSON *pk = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "Keys"), "pk"), "S");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "eventID");
        snprintf(b->seq[b->n], 32, "%s", cJSON_IsString(seq) ? seq->valuestring : "");
        snprintf(b->key[b->n], 32, "%s", cJSON_IsString(pk) ? pk->valuestring : "");
        snprintf(b->event_id[b->n], 40, "%s", cJSON_IsString(id) ? id->valuestring : "");
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

/* Fails any batch holding the key "bad". */
static int h_fail_bad(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    (void)ctx;
    (void)resp;
    seen_batch *b = record_event(event, len);
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->key[i], "bad") == 0)
            return 1;
    return 0;
}

/* The first call reports its third record as failed. */
static int h_partial(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    (void)ctx;
    seen_batch *b = record_event(event, len);
    if (ncalls == 1 && b->n >= 3)
        return tp_respondf(resp, "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}", b->seq[2]);
    return tp_respondf(resp, "%s", "{\"batchItemFailures\":[]}");
}

/* The first call reports a failure with an empty identifier. */
static int h_partial_bad_id(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    (void)ctx;
    record_event(event, len);
    if (ncalls == 1)
        return tp_respondf(resp, "%s", "{\"batchItemFailures\":[{\"itemIdentifier\":\"\"}]}");
    return 0;
}

/* Outlasts its timeout on the first call. */
static int h_slow_once(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    (void)resp;
    record_event(event, len);
    if (ncalls == 1)
        tp_sleep_ms(ctx, 5000);
    return 0;
}

/* --- engine helpers --------------------------------------------------------- */

static tp_engine *engine(const char *config)
{
    tp_engine_options o = {.config_json = config, .seed = 11};
    tp_error err;
    tp_engine *e = tp_engine_new(&o, &err);
    if (!e)
        fail_msg("engine: %s %s", err.code, err.message);
    static const struct {
        const char *name;
        tp_handler_fn fn;
    } handlers[] = {{"t_record", h_record},         {"t_fail_n", h_fail_n},
                    {"t_fail_always", h_fail_always}, {"t_fail_bad", h_fail_bad},
                    {"t_partial", h_partial},       {"t_partial_bad_id", h_partial_bad_id},
                    {"t_slow_once", h_slow_once}};
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

/* Creates table `name` (hash key pk, a NEW_IMAGE stream); its stream ARN. */
static char *create_table(tp_engine *e, const char *name)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"TableName\":\"%s\",\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],"
             "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],"
             "\"BillingMode\":\"PAY_PER_REQUEST\",\"StreamSpecification\":{\"StreamEnabled\":true,"
             "\"StreamViewType\":\"NEW_IMAGE\"}}",
             name);
    char *out = call(e, "DynamoDB_20120810.CreateTable", body, NULL);
    char *arn = json_member(out, "TableDescription.LatestStreamArn");
    free(out);
    assert_non_null(arn);
    tp_engine_advance(e, 1000);
    return arn;
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

/* CreateEventSourceMapping with extra members; returns the UUID. The
 * mapping settles into Enabled. */
static char *create_mapping(tp_engine *e, const char *fn, const char *arn, const char *extra)
{
    char body[4096];
    snprintf(body, sizeof body, "{\"FunctionName\":\"%s\",\"EventSourceArn\":\"%s\"%s%s}", fn, arn,
             extra ? "," : "", extra ? extra : "");
    char *out = call(e, "Lambda_20150331.CreateEventSourceMapping", body, NULL);
    char *uuid = json_member(out, "UUID");
    char *state = json_member(out, "State");
    assert_string_equal(state, "Creating");
    free(state);
    free(out);
    tp_engine_advance(e, 1000);
    return uuid;
}

static void put(tp_engine *e, const char *table, const char *pk, int v)
{
    char body[512];
    snprintf(body, sizeof body, "{\"TableName\":\"%s\",\"Item\":{\"pk\":{\"S\":\"%s\"},\"v\":{\"N\":\"%d\"}}}",
             table, pk, v);
    free(call(e, "DynamoDB_20120810.PutItem", body, NULL));
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

static int seq_less(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la != lb ? la < lb : strcmp(a, b) < 0;
}

static int total_records(void)
{
    int n = 0;
    for (int i = 0; i < ncalls; i++)
        n += calls[i].n;
    return n;
}

/* --- tests ------------------------------------------------------------------ */

static void test_trim_horizon_batches(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab1");
    create_function(e, "f", "t_record", 30);
    for (int i = 0; i < 7; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        put(e, "tab1", k, i);
    }
    char *uuid = create_mapping(e, "f", arn, "\"StartingPosition\":\"TRIM_HORIZON\",\"BatchSize\":3");
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 3);
    assert_int_equal(calls[0].n, 3);
    assert_int_equal(calls[1].n, 3);
    assert_int_equal(calls[2].n, 1);
    const char *prev = "";
    for (int c = 0; c < ncalls; c++)
        for (int i = 0; i < calls[c].n; i++) {
            assert_true(seq_less(prev, calls[c].seq[i]));
            prev = calls[c].seq[i];
            char k[16];
            snprintf(k, sizeof k, "k%d", c * 3 + i);
            assert_string_equal(calls[c].key[i], k);
        }
    /* Lambda's event: the GetRecords record + eventSourceARN, in this order */
    cJSON *ev = cJSON_Parse(first_event);
    const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ev, "Records"), 0);
    static const char *const order[] = {"eventID", "eventName", "eventVersion", "eventSource",
                                        "awsRegion", "dynamodb", "eventSourceARN"};
    int i = 0;
    for (const cJSON *m = r0 ? r0->child : NULL; m; m = m->next, i++) {
        assert_true(i < 7);
        assert_string_equal(m->string, order[i]);
    }
    assert_int_equal(i, 7);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(r0, "eventSourceARN")->valuestring, arn);
    static const char *const dorder[] = {"ApproximateCreationDateTime", "Keys", "NewImage",
                                         "SequenceNumber", "SizeBytes", "StreamViewType"};
    i = 0;
    for (const cJSON *m = cJSON_GetObjectItemCaseSensitive(r0, "dynamodb")->child; m; m = m->next, i++)
        assert_string_equal(m->string, dorder[i]);
    cJSON_Delete(ev);
    /* trace: batches and checkpoints */
    cJSON *batches = trace_events(e, "batch");
    assert_int_equal(cJSON_GetArraySize(batches), 3);
    const cJSON *b0 = cJSON_GetArrayItem(batches, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(b0, "mapping")->valuestring, uuid);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(b0, "size")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(b0, "attempt")->valueint, 1);
    cJSON_Delete(batches);
    cJSON *cps = trace_events(e, "checkpoint");
    assert_int_equal(cJSON_GetArraySize(cps), 3);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cps, 2), "sequence_number")->valuestring,
                        calls[2].seq[0]);
    cJSON_Delete(cps);
    cJSON *recs = trace_events(e, "stream_record");
    assert_int_equal(cJSON_GetArraySize(recs), 7);
    cJSON_Delete(recs);
    /* the mapping reports what it did */
    char body[128];
    snprintf(body, sizeof body, "{\"UUID\":\"%s\"}", uuid);
    char *got = call(e, "Lambda_20150331.GetEventSourceMapping", body, NULL);
    char *res = json_member(got, "LastProcessingResult");
    assert_string_equal(res, "OK");
    free(res);
    free(got);
    char *metrics = NULL;
    assert_int_equal(tp_engine_control(e, "GET", "/_tidepool/metrics", NULL, &metrics), 200);
    assert_non_null(strstr(metrics, "tidepool_esm_iterator_age_ms{mapping=\""));
    free(metrics);
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

static void test_latest_skips_existing(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab2");
    create_function(e, "f", "t_record", 30);
    put(e, "tab2", "old1", 1);
    put(e, "tab2", "old2", 2);
    char *uuid = create_mapping(e, "f", arn, "\"StartingPosition\":\"LATEST\"");
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 0);
    put(e, "tab2", "new1", 3);
    put(e, "tab2", "new2", 4);
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(total_records(), 2);
    assert_string_equal(calls[0].key[0], "new1");
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

static void test_retry_identical_batch(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab3");
    create_function(e, "f", "t_fail_n", 30);
    fail_below = 2;
    for (int i = 0; i < 3; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        put(e, "tab3", k, i);
    }
    char *uuid = create_mapping(e, "f", arn, "\"StartingPosition\":\"TRIM_HORIZON\"");
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 3);
    for (int c = 1; c < 3; c++) {
        assert_int_equal(calls[c].n, 3);
        for (int i = 0; i < 3; i++)
            assert_string_equal(calls[c].event_id[i], calls[0].event_id[i]);
    }
    cJSON *retries = trace_events(e, "retry");
    assert_int_equal(cJSON_GetArraySize(retries), 2);
    const cJSON *r1 = cJSON_GetArrayItem(retries, 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(r1, "attempt")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(r1, "delay_ms")->valueint, 2000);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(r1, "reason")->valuestring, "function_error");
    cJSON_Delete(retries);
    cJSON *batches = trace_events(e, "batch");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(batches, 2), "attempt")->valueint, 3);
    cJSON_Delete(batches);
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

static void test_timeout_retried(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab4");
    create_function(e, "f", "t_slow_once", 1);
    put(e, "tab4", "a", 1);
    char *uuid = create_mapping(e, "f", arn, "\"StartingPosition\":\"TRIM_HORIZON\"");
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 2);
    assert_string_equal(calls[1].event_id[0], calls[0].event_id[0]);
    cJSON *retries = trace_events(e, "retry");
    assert_int_equal(cJSON_GetArraySize(retries), 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(retries, 0), "reason")->valuestring,
                        "timeout");
    cJSON_Delete(retries);
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

static void test_bisect(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab5");
    create_function(e, "f", "t_fail_bad", 30);
    put(e, "tab5", "a", 1);
    put(e, "tab5", "b", 2);
    put(e, "tab5", "bad", 3);
    put(e, "tab5", "c", 4);
    char *uuid = create_mapping(e, "f", arn,
                                "\"StartingPosition\":\"TRIM_HORIZON\",\"BisectBatchOnFunctionError\":true,"
                                "\"MaximumRetryAttempts\":1");
    tp_engine_run_until_idle(e, IDLE_MAX);
    /* [a b bad c] fails -> [a b] ok, [bad c] fails -> [bad] fails twice
     * (one retry) and is discarded -> [c] ok */
    assert_int_equal(calls[0].n, 4);
    assert_int_equal(calls[1].n, 2);
    assert_string_equal(calls[1].key[0], "a");
    assert_int_equal(calls[2].n, 2);
    assert_string_equal(calls[2].key[0], "bad");
    assert_int_equal(calls[3].n, 1);
    assert_string_equal(calls[3].key[0], "bad");
    assert_int_equal(calls[4].n, 1);
    assert_string_equal(calls[4].key[0], "bad");
    assert_int_equal(calls[5].n, 1);
    assert_string_equal(calls[5].key[0], "c");
    assert_int_equal(ncalls, 6);
    cJSON *bis = trace_events(e, "bisect");
    assert_int_equal(cJSON_GetArraySize(bis), 2);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(bis, 0), "from_size")->valueint, 4);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(bis, 0), "to_size")->valueint, 2);
    cJSON_Delete(bis);
    cJSON *dis = trace_events(e, "discard");
    assert_int_equal(cJSON_GetArraySize(dis), 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(dis, 0), "records")->valueint, 1);
    cJSON_Delete(dis);
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

static void test_report_batch_item_failures(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab6");
    create_function(e, "f", "t_partial", 30);
    for (int i = 0; i < 5; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        put(e, "tab6", k, i);
    }
    char *uuid = create_mapping(e, "f", arn,
                                "\"StartingPosition\":\"TRIM_HORIZON\","
                                "\"FunctionResponseTypes\":[\"ReportBatchItemFailures\"]");
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 2);
    assert_int_equal(calls[0].n, 5);
    assert_int_equal(calls[1].n, 3);
    assert_string_equal(calls[1].seq[0], calls[0].seq[2]);
    cJSON *cps = trace_events(e, "checkpoint");
    assert_int_equal(cJSON_GetArraySize(cps), 2);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cps, 0), "sequence_number")->valuestring,
                        calls[0].seq[1]);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cps, 1), "sequence_number")->valuestring,
                        calls[0].seq[4]);
    cJSON_Delete(cps);
    free(uuid);
    free(arn);
    tp_engine_free(e);

    /* an empty itemIdentifier: the whole batch failed */
    e = engine(NULL);
    arn = create_table(e, "tab6b");
    create_function(e, "f", "t_partial_bad_id", 30);
    put(e, "tab6b", "a", 1);
    put(e, "tab6b", "b", 2);
    uuid = create_mapping(e, "f", arn,
                          "\"StartingPosition\":\"TRIM_HORIZON\","
                          "\"FunctionResponseTypes\":[\"ReportBatchItemFailures\"]");
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 2);
    assert_int_equal(calls[1].n, 2);
    assert_string_equal(calls[1].event_id[0], calls[0].event_id[0]);
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

static void test_retry_exhausted_discard(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab7");
    create_function(e, "f", "t_fail_always", 30);
    put(e, "tab7", "a", 1);
    put(e, "tab7", "b", 2);
    char *uuid = create_mapping(
        e, "f", arn,
        "\"StartingPosition\":\"TRIM_HORIZON\",\"MaximumRetryAttempts\":2,"
        "\"DestinationConfig\":{\"OnFailure\":{\"Destination\":\"arn:aws:sqs:us-east-1:123456789012:dlq\"}}");
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 3);
    cJSON *dis = trace_events(e, "discard");
    assert_int_equal(cJSON_GetArraySize(dis), 1);
    const cJSON *d = cJSON_GetArrayItem(dis, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "condition")->valuestring, "RetryAttemptsExhausted");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "destination")->valuestring,
                        "arn:aws:sqs:us-east-1:123456789012:dlq");
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(d, "failure_record");
    static const char *const top[] = {"requestContext", "responseContext", "version", "timestamp",
                                      "DDBStreamBatchInfo"};
    int i = 0;
    for (const cJSON *m = fr->child; m; m = m->next, i++)
        assert_string_equal(m->string, top[i]);
    assert_int_equal(i, 5);
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(fr, "requestContext");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(rc, "condition")->valuestring, "RetryAttemptsExhausted");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(rc, "approximateInvokeCount")->valueint, 3);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(rc, "functionArn")->valuestring,
                        "arn:aws:lambda:us-east-1:123456789012:function:f");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(fr, "responseContext");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(rs, "statusCode")->valueint, 200);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(rs, "executedVersion")->valuestring, "$LATEST");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(rs, "functionError")->valuestring, "Unhandled");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(fr, "version")->valuestring, "1.0");
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(fr, "DDBStreamBatchInfo");
    static const char *const inf[] = {"shardId", "startSequenceNumber", "endSequenceNumber",
                                      "approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord",
                                      "batchSize", "streamArn"};
    i = 0;
    for (const cJSON *m = info->child; m; m = m->next, i++)
        assert_string_equal(m->string, inf[i]);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(info, "batchSize")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(info, "startSequenceNumber")->valuestring, calls[0].seq[0]);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(info, "endSequenceNumber")->valuestring, calls[0].seq[1]);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(info, "streamArn")->valuestring, arn);
    /* seconds, no fraction: "2024-01-01T00:00:01Z" */
    assert_int_equal(strlen(cJSON_GetObjectItemCaseSensitive(info, "approximateArrivalOfFirstRecord")->valuestring), 20);
    cJSON_Delete(dis);
    /* the stream goes on after the discard */
    put(e, "tab7", "c", 3);
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 6);
    assert_string_equal(calls[3].key[0], "c");
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

static void test_max_record_age(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab8");
    create_function(e, "f", "t_fail_always", 30);
    put(e, "tab8", "a", 1);
    char *uuid = create_mapping(e, "f", arn,
                                "\"StartingPosition\":\"TRIM_HORIZON\",\"MaximumRecordAgeInSeconds\":60");
    tp_engine_run_until_idle(e, IDLE_MAX);
    cJSON *dis = trace_events(e, "discard");
    assert_int_equal(cJSON_GetArraySize(dis), 1);
    const cJSON *d = cJSON_GetArrayItem(dis, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "condition")->valuestring, "RecordAgeExceeded");
    cJSON *recs = trace_events(e, "stream_record");
    assert_true(cJSON_GetObjectItemCaseSensitive(d, "t_ms")->valuedouble -
                    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(recs, 0), "t_ms")->valuedouble >=
                60000);
    cJSON_Delete(recs);
    cJSON_Delete(dis);
    int before = ncalls;
    assert_true(before >= 2);
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, before);
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

static void test_filter(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab9");
    create_function(e, "f", "t_record", 30);
    put(e, "tab9", "keep1", 1);
    put(e, "tab9", "drop1", 2);
    put(e, "tab9", "keep2", 3);
    char *uuid = create_mapping(
        e, "f", arn,
        "\"StartingPosition\":\"TRIM_HORIZON\",\"FilterCriteria\":{\"Filters\":[{\"Pattern\":"
        "\"{\\\"dynamodb\\\":{\\\"Keys\\\":{\\\"pk\\\":{\\\"S\\\":[{\\\"prefix\\\":\\\"keep\\\"}]}}}}\"}]}");
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(total_records(), 2);
    assert_string_equal(calls[0].key[0], "keep1");
    assert_string_equal(calls[0].key[1], "keep2");
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

static void test_parallelization_keeps_key_order(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab10");
    create_function(e, "f", "t_record", 30);
    for (int round = 0; round < 3; round++)
        for (int k = 0; k < 6; k++) {
            char key[16];
            snprintf(key, sizeof key, "key%d", k);
            put(e, "tab10", key, round);
        }
    char *uuid = create_mapping(e, "f", arn,
                                "\"StartingPosition\":\"TRIM_HORIZON\",\"BatchSize\":2,"
                                "\"ParallelizationFactor\":4");
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(total_records(), 18);
    /* per key: the sequence numbers arrive in increasing order */
    for (int k = 0; k < 6; k++) {
        char key[16];
        snprintf(key, sizeof key, "key%d", k);
        const char *prev = "";
        int seen = 0;
        for (int c = 0; c < ncalls; c++)
            for (int i = 0; i < calls[c].n; i++)
                if (strcmp(calls[c].key[i], key) == 0) {
                    assert_true(seq_less(prev, calls[c].seq[i]));
                    prev = calls[c].seq[i];
                    seen++;
                }
        assert_int_equal(seen, 3);
    }
    /* more than one lane did work, each batch holds one lane's keys */
    cJSON *batches = trace_events(e, "batch");
    int lanes_used = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, batches)
        lanes_used |= 1 << cJSON_GetObjectItemCaseSensitive(b, "lane")->valueint;
    assert_true(lanes_used != 1 && lanes_used != 2 && lanes_used != 4 && lanes_used != 8);
    cJSON_Delete(batches);
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

static void test_lineage_across_rollover(void **state)
{
    (void)state;
    tp_engine *e = engine("{\"streams\":{\"shard_rollover_ms\":10000}}");
    char *arn = create_table(e, "tab11");
    create_function(e, "f", "t_record", 30);
    put(e, "tab11", "p1", 1);
    put(e, "tab11", "p2", 2);
    tp_engine_advance(e, 12000);
    put(e, "tab11", "c1", 3);
    tp_engine_advance(e, 12000);
    put(e, "tab11", "g1", 4);
    char *uuid = create_mapping(e, "f", arn, "\"StartingPosition\":\"TRIM_HORIZON\"");
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(total_records(), 4);
    static const char *const want[] = {"p1", "p2", "c1", "g1"};
    int j = 0;
    for (int c = 0; c < ncalls; c++)
        for (int i = 0; i < calls[c].n; i++)
            assert_string_equal(calls[c].key[i], want[j++]);
    /* three shards, one after the other */
    cJSON *batches = trace_events(e, "batch");
    assert_int_equal(cJSON_GetArraySize(batches), 3);
    assert_string_not_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(batches, 0), "shard")->valuestring,
                            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(batches, 1), "shard")->valuestring);
    cJSON_Delete(batches);
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

static void test_state_machine_and_errors(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab12");
    create_function(e, "f", "t_record", 30);
    char body[2048];
    snprintf(body, sizeof body,
             "{\"FunctionName\":\"f\",\"EventSourceArn\":\"%s\",\"StartingPosition\":\"LATEST\"}", arn);
    char *out = call(e, "Lambda_20150331.CreateEventSourceMapping", body, NULL);
    char *uuid = json_member(out, "UUID");
    char *bs = json_member(out, "BatchSize");
    assert_string_equal(bs, "100");
    free(bs);
    free(out);
    char ubody[256];
    snprintf(ubody, sizeof ubody, "{\"UUID\":\"%s\",\"Enabled\":false}", uuid);
    char *msg = call(e, "Lambda_20150331.UpdateEventSourceMapping", ubody, "ResourceInUseException");
    assert_string_equal(msg, "Cannot update the event source mapping because it is in use.");
    free(msg);
    msg = call(e, "Lambda_20150331.CreateEventSourceMapping", body, "ResourceConflictException");
    assert_non_null(strstr(msg, "provided mapping already exists. Please update or delete the existing "
                                "mapping with UUID"));
    free(msg);
    tp_engine_advance(e, 1000);
    char gbody[128];
    snprintf(gbody, sizeof gbody, "{\"UUID\":\"%s\"}", uuid);
    out = call(e, "Lambda_20150331.GetEventSourceMapping", gbody, NULL);
    char *st = json_member(out, "State");
    assert_string_equal(st, "Enabled");
    free(st);
    free(out);
    out = call(e, "Lambda_20150331.UpdateEventSourceMapping", ubody, NULL);
    st = json_member(out, "State");
    assert_string_equal(st, "Disabling");
    free(st);
    free(out);
    tp_engine_advance(e, 1000);
    out = call(e, "Lambda_20150331.GetEventSourceMapping", gbody, NULL);
    st = json_member(out, "State");
    assert_string_equal(st, "Disabled");
    free(st);
    free(out);
    /* a disabled mapping delivers nothing */
    put(e, "tab12", "x", 1);
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 0);
    out = call(e, "Lambda_20150331.DeleteEventSourceMapping", gbody, NULL);
    st = json_member(out, "State");
    assert_string_equal(st, "Deleting");
    free(st);
    free(out);
    tp_engine_advance(e, 1000);
    msg = call(e, "Lambda_20150331.GetEventSourceMapping", gbody, "ResourceNotFoundException");
    assert_string_equal(msg, "The resource you requested does not exist.");
    free(msg);
    /* validation */
    snprintf(body, sizeof body, "{\"FunctionName\":\"nope\",\"EventSourceArn\":\"%s\",\"StartingPosition\":\"LATEST\"}",
             arn);
    msg = call(e, "Lambda_20150331.CreateEventSourceMapping", body, "ResourceNotFoundException");
    assert_string_equal(msg, "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope");
    free(msg);
    snprintf(body, sizeof body, "{\"FunctionName\":\"f\",\"EventSourceArn\":\"%s\"}", arn);
    msg = call(e, "Lambda_20150331.CreateEventSourceMapping", body, "InvalidParameterValueException");
    free(msg);
    snprintf(body, sizeof body,
             "{\"FunctionName\":\"f\",\"EventSourceArn\":\"%s\",\"StartingPosition\":\"AT_TIMESTAMP\"}", arn);
    msg = call(e, "Lambda_20150331.CreateEventSourceMapping", body, "InvalidParameterValueException");
    free(msg);
    msg = call(e, "Lambda_20150331.CreateEventSourceMapping",
               "{\"FunctionName\":\"f\",\"EventSourceArn\":\"arn:aws:dynamodb:us-east-1:123456789012:table/"
               "none/stream/2024-01-01T00:00:00.000\",\"StartingPosition\":\"LATEST\"}",
               "InvalidParameterValueException");
    assert_string_equal(msg, "Stream not found: arn:aws:dynamodb:us-east-1:123456789012:table/none/stream/"
                             "2024-01-01T00:00:00.000");
    free(msg);
    cJSON *states = trace_events(e, "esm_state");
    assert_true(cJSON_GetArraySize(states) >= 6);
    cJSON_Delete(states);
    free(uuid);
    free(arn);
    tp_engine_free(e);
}


static void test_batching_window(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab14");
    create_function(e, "f", "t_record", 30);
    char *uuid = create_mapping(e, "f", arn,
                                "\"StartingPosition\":\"TRIM_HORIZON\",\"BatchSize\":10,"
                                "\"MaximumBatchingWindowInSeconds\":5");
    int64_t t0 = tp_engine_now_ms(e);
    put(e, "tab14", "a", 1);
    tp_engine_advance(e, 2000);
    assert_int_equal(ncalls, 0);
    put(e, "tab14", "b", 2);
    tp_engine_advance(e, 2000);
    assert_int_equal(ncalls, 0);
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 1);
    assert_int_equal(calls[0].n, 2);
    cJSON *batches = trace_events(e, "batch");
    double at = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(batches, 0), "t_ms")->valuedouble;
    assert_true(at >= (double)t0 + 5000 && at <= (double)t0 + 5000 + 250);
    cJSON_Delete(batches);
    /* a full batch does not wait */
    for (int i = 0; i < 10; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        put(e, "tab14", k, i);
    }
    tp_engine_advance(e, 500);
    assert_int_equal(ncalls, 2);
    assert_int_equal(calls[1].n, 10);
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

static void test_throttled_not_counted(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab15");
    create_function(e, "f", "t_record", 30);
    free(call(e, "Lambda_20150331.PutFunctionConcurrency",
              "{\"FunctionName\":\"f\",\"ReservedConcurrentExecutions\":0}", NULL));
    put(e, "tab15", "a", 1);
    char *uuid = create_mapping(e, "f", arn, "\"StartingPosition\":\"TRIM_HORIZON\",\"MaximumRetryAttempts\":0");
    tp_engine_advance(e, 20000);
    assert_int_equal(ncalls, 0);
    cJSON *retries = trace_events(e, "retry");
    assert_true(cJSON_GetArraySize(retries) >= 3);
    const cJSON *r;
    cJSON_ArrayForEach(r, retries)
    {
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(r, "reason")->valuestring, "throttled");
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(r, "attempt")->valueint, 1);
    }
    cJSON_Delete(retries);
    cJSON *dis = trace_events(e, "discard");
    assert_int_equal(cJSON_GetArraySize(dis), 0);
    cJSON_Delete(dis);
    free(call(e, "Lambda_20150331.DeleteFunctionConcurrency", "{\"FunctionName\":\"f\"}", NULL));
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 1);
    assert_string_equal(calls[0].key[0], "a");
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

static void test_delete_while_in_flight(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab16");
    create_function(e, "f", "t_slow_once", 30);
    put(e, "tab16", "a", 1);
    char *uuid = create_mapping(e, "f", arn, "\"StartingPosition\":\"TRIM_HORIZON\"");
    tp_engine_advance(e, 1000);
    assert_int_equal(ncalls, 1);   /* sleeping 5 s */
    char body[128];
    snprintf(body, sizeof body, "{\"UUID\":\"%s\"}", uuid);
    free(call(e, "Lambda_20150331.DeleteEventSourceMapping", body, NULL));
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(ncalls, 1);
    cJSON *cps = trace_events(e, "checkpoint");
    assert_int_equal(cJSON_GetArraySize(cps), 0);
    cJSON_Delete(cps);
    free(call(e, "Lambda_20150331.GetEventSourceMapping", body, "ResourceNotFoundException"));
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

/* Config-file mappings, and a --data-dir restart resuming at the checkpoint. */
/* Records the trace's "batch" events delivered. */
static int batch_records(tp_engine *e)
{
    cJSON *batches = trace_events(e, "batch");
    int n = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, batches)
        n += cJSON_GetObjectItemCaseSensitive(b, "size")->valueint;
    cJSON_Delete(batches);
    return n;
}

static void test_config_and_restart(void **state)
{
    (void)state;
    char dir[] = "/tmp/tp-esm-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *config =
        "{\"lambda\":{\"functions\":[{\"access_key\":\"123456789012\",\"FunctionName\":\"cf\","
        "\"Handler\":\"echo\",\"Runtime\":\"provided.al2023\",\"Role\":"
        "\"arn:aws:iam::123456789012:role/r\",\"Code\":{\"ZipFile\":\"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\"}}],"
        "\"event_source_mappings\":[{\"FunctionName\":\"cf\",\"EventSourceArn\":"
        "\"arn:aws:dynamodb:us-east-1:123456789012:table/cfgtab/stream/2024-01-01T00:00:00.000\","
        "\"StartingPosition\":\"TRIM_HORIZON\",\"BatchSize\":5}]}}";
    tp_engine_options o = {.config_json = config, .seed = 3, .data_dir = dir};
    tp_error err;
    tp_engine *e = tp_engine_new(&o, &err);
    if (!e)
        fail_msg("engine: %s %s", err.code, err.message);
    char *out = call(e, "Lambda_20150331.ListEventSourceMappings", "{}", NULL);
    char *state0 = json_member(out, "EventSourceMappings");
    assert_non_null(strstr(state0, "\"State\":\"Enabled\""));
    free(state0);
    free(out);
    char *arn = create_table(e, "cfgtab");
    assert_string_equal(arn, "arn:aws:dynamodb:us-east-1:123456789012:table/cfgtab/stream/2024-01-01T00:00:00.000");
    put(e, "cfgtab", "a", 1);
    put(e, "cfgtab", "b", 2);
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(batch_records(e), 2);
    tp_engine_free(e);

    /* the same data dir and config: the stored function, mapping and
     * checkpoint; nothing made twice */
    e = tp_engine_new(&o, &err);
    if (!e)
        fail_msg("engine: %s %s", err.code, err.message);
    out = call(e, "Lambda_20150331.ListEventSourceMappings", "{}", NULL);
    cJSON *l = cJSON_Parse(out);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(l, "EventSourceMappings")), 1);
    cJSON_Delete(l);
    free(out);
    put(e, "cfgtab", "c", 3);
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(batch_records(e), 1);
    tp_engine_free(e);
    free(arn);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}


/* A backlog larger than one GetRecords page, and the 6 MB payload cap:
 * records near DynamoDB's 400 KB item limit fill an event before BatchSize. */
static void test_backlog_and_payload_cap(void **state)
{
    (void)state;
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab17");
    create_function(e, "f", "t_record", 30);
    for (int i = 0; i < 2500; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%05d", i);
        put(e, "tab17", k, i);
    }
    char *uuid = create_mapping(e, "f", arn, "\"StartingPosition\":\"TRIM_HORIZON\",\"BatchSize\":1000");
    tp_engine_run_until_idle(e, IDLE_MAX);
    int64_t total = batch_records(e);
    assert_int_equal(total, 2500);
    free(uuid);
    free(arn);
    tp_engine_free(e);

    e = engine(NULL);
    arn = create_table(e, "tab18");
    create_function(e, "f", "t_record", 30);
    size_t big = 380 * 1024;
    char *pad = malloc(big + 1);
    memset(pad, 'x', big);
    pad[big] = '\0';
    size_t cap = big + 256;
    char *body = malloc(cap);
    for (int i = 0; i < 20; i++) {
        snprintf(body, cap, "{\"TableName\":\"tab18\",\"Item\":{\"pk\":{\"S\":\"b%02d\"},\"pad\":{\"S\":\"%s\"}}}", i,
                 pad);
        free(call(e, "DynamoDB_20120810.PutItem", body, NULL));
    }
    free(body);
    free(pad);
    uuid = create_mapping(e, "f", arn, "\"StartingPosition\":\"TRIM_HORIZON\",\"BatchSize\":100");
    tp_engine_run_until_idle(e, IDLE_MAX);
    assert_int_equal(total_records(), 20);
    assert_true(ncalls >= 2);
    assert_true(calls[0].n < 20 && calls[0].n >= 14);
    free(uuid);
    free(arn);
    tp_engine_free(e);
}

/* One pipeline with failures, bisect and lanes; its trace. */
static char *replay_once(void)
{
    tp_engine *e = engine(NULL);
    char *arn = create_table(e, "tab13");
    create_function(e, "f", "t_fail_bad", 30);
    for (int i = 0; i < 12; i++) {
        char k[16];
        snprintf(k, sizeof k, i == 5 ? "bad" : "k%d", i);
        put(e, "tab13", k, i);
    }
    char *uuid = create_mapping(e, "f", arn,
                                "\"StartingPosition\":\"TRIM_HORIZON\",\"BatchSize\":4,"
                                "\"BisectBatchOnFunctionError\":true,\"MaximumRetryAttempts\":1,"
                                "\"ParallelizationFactor\":2");
    tp_engine_run_until_idle(e, IDLE_MAX);
    char *trace = tp_engine_trace(e, 0, 0, NULL);
    if (getenv("ESM_TEST_TRACE"))   /* to read what happened */
        fputs(trace, stderr);
    free(uuid);
    free(arn);
    tp_engine_free(e);
    return trace;
}

static void test_replays_identically(void **state)
{
    (void)state;
    char *a = replay_once();
    char *b = replay_once();
    assert_non_null(strstr(a, "\"type\":\"batch\""));
    assert_string_equal(a, b);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trim_horizon_batches),
        cmocka_unit_test(test_latest_skips_existing),
        cmocka_unit_test(test_retry_identical_batch),
        cmocka_unit_test(test_timeout_retried),
        cmocka_unit_test(test_bisect),
        cmocka_unit_test(test_report_batch_item_failures),
        cmocka_unit_test(test_retry_exhausted_discard),
        cmocka_unit_test(test_max_record_age),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_parallelization_keeps_key_order),
        cmocka_unit_test(test_lineage_across_rollover),
        cmocka_unit_test(test_state_machine_and_errors),
        cmocka_unit_test(test_batching_window),
        cmocka_unit_test(test_throttled_not_counted),
        cmocka_unit_test(test_delete_while_in_flight),
        cmocka_unit_test(test_config_and_restart),
        cmocka_unit_test(test_backlog_and_payload_cap),
        cmocka_unit_test(test_replays_identically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
