/* Unit tests: capacity/bucket — refill, burst cap, debt, rate changes,
 * determinism, and the capacity-unit boundaries the buckets are charged
 * with (dynamodb/item.h's cost rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "capacity/bucket.h"
#include "capacity/keyrange.h"
#include "capacity/throughput.h"
#include "dynamodb/capacity.h"
#include "core/buf.h"
#include "dynamodb/item.h"
#include "tidepool/engine.h"

#define T0 INT64_C(1704067200000)

static void starts_full_or_empty(void **state)
{
    (void)state;
    tp_bucket b;
    tp_bucket_init(&b, 5, 300000, 1, T0);
    assert_int_equal(tp_bucket_capacity(&b), 1500000);   /* 300 s x 5 WCU, in milli-units */
    assert_int_equal(b.level, 1500000);
    tp_bucket_init(&b, 5, 300000, 0, T0);
    assert_int_equal(b.level, 0);
    assert_int_equal(tp_bucket_admit(&b, T0), 0);          /* empty: refused */
    assert_int_equal(tp_bucket_admit(&b, T0 + 1), 1);      /* 1 ms later: 5 milli-units */
    assert_int_equal(b.level, 5);
}

static void refill_is_exact_per_ms(void **state)
{
    (void)state;
    tp_bucket b;
    tp_bucket_init(&b, 5, 300000, 0, T0);
    tp_bucket_refill(&b, T0 + 200);
    assert_int_equal(b.level, 1000);                      /* 1 WCU after 200 ms */
    for (int i = 1; i <= 800; i++)                        /* many small steps == one big step */
        tp_bucket_refill(&b, T0 + 200 + i);
    assert_int_equal(b.level, 5000);
    tp_bucket_refill(&b, T0 + 100);                       /* the past is ignored */
    assert_int_equal(b.level, 5000);
}

static void burst_caps_at_300_seconds(void **state)
{
    (void)state;
    tp_bucket b;
    tp_bucket_init(&b, 5, 300000, 0, T0);
    tp_bucket_refill(&b, T0 + 299999);
    assert_int_equal(b.level, 1499995);
    tp_bucket_refill(&b, T0 + 300000);
    assert_int_equal(b.level, 1500000);
    tp_bucket_refill(&b, T0 + INT64_C(100) * 365 * 86400000);   /* a century: no overflow */
    assert_int_equal(b.level, 1500000);
}

static void debt_and_admission(void **state)
{
    (void)state;
    tp_bucket b;
    tp_bucket_init(&b, 5, 300000, 0, T0);
    tp_bucket_refill(&b, T0 + 1);                          /* 0.005 units: positive */
    assert_int_equal(tp_bucket_admit(&b, T0 + 1), 1);
    tp_bucket_charge(&b, tp_units_to_milli(400));          /* full cost: deep debt */
    assert_int_equal(b.level, 5 - 400000);
    assert_int_equal(tp_bucket_admit(&b, T0 + 1), 0);
    /* Paying the debt back takes 400000/5 ms = 80 s; at exactly 0 still refused. */
    assert_int_equal(tp_bucket_admit(&b, T0 + 1 + 79999), 0);
    assert_int_equal(b.level, 0);
    assert_int_equal(tp_bucket_admit(&b, T0 + 1 + 80000), 1);
    assert_int_equal(b.level, 5);
    /* A refused request costs nothing: the caller charges only admitted ones. */
}

static void burst_then_throttle_then_refill(void **state)
{
    (void)state;
    /* The 5 WCU story: 1500 writes of 1 WCU drain the burst; the next is
     * refused; one second later 5 more fit, the sixth does not. */
    tp_bucket b;
    tp_bucket_init(&b, 5, 300000, 1, T0);
    for (int i = 0; i < 1500; i++) {
        assert_int_equal(tp_bucket_admit(&b, T0), 1);
        tp_bucket_charge(&b, tp_units_to_milli(1.0));
    }
    assert_int_equal(tp_bucket_admit(&b, T0), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(tp_bucket_admit(&b, T0 + 1000), 1);
        tp_bucket_charge(&b, 1000);
    }
    assert_int_equal(tp_bucket_admit(&b, T0 + 1000), 0);
}

static void rate_change_keeps_accrual(void **state)
{
    (void)state;
    tp_bucket b;
    tp_bucket_init(&b, 5, 300000, 0, T0);
    tp_bucket_set_rate(&b, 100, 300000, T0 + 1000);        /* 1 s at the old rate */
    assert_int_equal(b.level, 5000);
    tp_bucket_refill(&b, T0 + 2000);                       /* 1 s at the new rate */
    assert_int_equal(b.level, 105000);
    tp_bucket_set_rate(&b, 10, 1000, T0 + 2000);           /* capped at the new capacity */
    assert_int_equal(b.level, 10000);
}

static void deterministic_replay(void **state)
{
    (void)state;
    int64_t trace[2][64];
    for (int run = 0; run < 2; run++) {
        tp_bucket b;
        tp_bucket_init(&b, 3, 1000, 1, T0);
        for (int i = 0; i < 64; i++) {
            int64_t t = T0 + i * 137;
            if (tp_bucket_admit(&b, t))
                tp_bucket_charge(&b, tp_units_to_milli(i % 3 ? 0.5 : 2.0));
            trace[run][i] = b.level;
        }
    }
    assert_memory_equal(trace[0], trace[1], sizeof trace[0]);
}

static void unit_conversion(void **state)
{
    (void)state;
    assert_int_equal(tp_units_to_milli(0.5), 500);
    assert_int_equal(tp_units_to_milli(1.5), 1500);
    assert_int_equal(tp_units_to_milli(25), 25000);
    assert_int_equal(tp_units_to_milli(0), 0);
    assert_int_equal(tp_units_to_milli(-1), 0);
}

static void cost_boundaries(void **state)
{
    (void)state;
    /* Writes: 1 WCU per started KB, at least 1, larger of old and new. */
    assert_true(ddb_write_units(0, 0) == 1.0);
    assert_true(ddb_write_units(0, 1024) == 1.0);
    assert_true(ddb_write_units(0, 1025) == 2.0);
    assert_true(ddb_write_units(3000, 10) == 3.0);
    assert_true(ddb_write_units(10, 400 * 1024) == 400.0);
    /* Reads: 1 RCU per started 4 KB strongly consistent, half eventually. */
    assert_true(ddb_read_units(0, 1) == 1.0);
    assert_true(ddb_read_units(4096, 1) == 1.0);
    assert_true(ddb_read_units(4097, 1) == 2.0);
    assert_true(ddb_read_units(4096, 0) == 0.5);
    assert_true(ddb_read_units(4097, 0) == 1.0);
    assert_int_equal(tp_units_to_milli(ddb_read_units(3 * 4096 + 1, 0)), 2000);
}

/* The per-table layer: rates from the description, the on-demand
 * ceiling, run-time overrides, reset and the Prometheus text. */
static void throughput_buckets_and_metrics(void **state)
{
    (void)state;
    tp_core core;
    memset(&core, 0, sizeof core);
    core.clock = tp_clock_new(TP_CLOCK_VIRTUAL, T0);
    tp_req r;
    memset(&r, 0, sizeof r);
    r.core = &core;
    r.account = "123456789012";
    r.region = "us-east-1";
    r.now_ms = T0;
    cJSON *desc = cJSON_Parse("{\"ProvisionedThroughput\":{\"ReadCapacityUnits\":1,"
                              "\"WriteCapacityUnits\":2},\"GlobalSecondaryIndexes\":[{"
                              "\"IndexName\":\"byUser\",\"ProvisionedThroughput\":{"
                              "\"ReadCapacityUnits\":3,\"WriteCapacityUnits\":4}}]}");
    assert_non_null(desc);
    assert_int_equal(ddb_cap_admit(&r, 1, "orders", desc, NULL, TP_CAP_WRITE), 1);
    ddb_cap_charge(&r, 1, "orders", desc, NULL, TP_CAP_WRITE, 600);   /* burst 600 */
    assert_int_equal(ddb_cap_admit(&r, 1, "orders", desc, NULL, TP_CAP_WRITE), 0);
    ddb_cap_charge(&r, 1, "orders", desc, "byUser", TP_CAP_WRITE, 1.5);
    tp_buf m;
    tp_buf_init(&m);
    tp_capacity_metrics(&core, &m);
    assert_non_null(strstr(m.data, "tidepool_consumed_capacity_units_total{account=\"123456789012\","
                                   "region=\"us-east-1\",table=\"orders\",index=\"\",kind=\"write\"} 600.000\n"));
    assert_non_null(strstr(m.data, "tidepool_throttled_requests_total{account=\"123456789012\","
                                   "region=\"us-east-1\",table=\"orders\",index=\"\",kind=\"write\"} 1\n"));
    assert_non_null(strstr(m.data, "tidepool_bucket_level{account=\"123456789012\",region=\"us-east-1\","
                                   "table=\"orders\",index=\"byUser\",kind=\"write\"} 1198.500\n"));
    tp_buf_reset(&m);

    /* An override applies from the moment it is set. */
    cJSON *ov = cJSON_Parse("{\"table\":\"orders\",\"write\":1000}");
    char why[200];
    assert_int_equal(tp_capacity_override(&core, ov, why, sizeof why), 0);
    r.now_ms = T0 + 1;
    assert_int_equal(ddb_cap_admit(&r, 1, "orders", desc, NULL, TP_CAP_WRITE), 1);
    cJSON *list = tp_capacity_list(&core);
    assert_int_equal(cJSON_GetArraySize(list), 4);
    cJSON_Delete(list);

    /* On demand: the ceiling, one second of burst. */
    cJSON *ppr = cJSON_Parse("{\"BillingModeSummary\":{\"BillingMode\":\"PAY_PER_REQUEST\"}}");
    ddb_cap_charge(&r, 2, "events", ppr, NULL, TP_CAP_READ, 40000);
    assert_int_equal(ddb_cap_admit(&r, 2, "events", ppr, NULL, TP_CAP_READ), 0);
    r.now_ms += 1;
    assert_int_equal(ddb_cap_admit(&r, 2, "events", ppr, NULL, TP_CAP_READ), 1);
    /* A recreated table (new id) starts over. */
    assert_int_equal(ddb_cap_admit(&r, 3, "events", ppr, NULL, TP_CAP_READ), 1);

    tp_capacity_reset(&core);
    tp_capacity_metrics(&core, &m);
    assert_null(strstr(m.data, "orders"));
    tp_buf_free(&m);
    cJSON_Delete(ov);
    cJSON_Delete(ppr);
    cJSON_Delete(desc);
    tp_capacity_free(&core);
    tp_clock_free(core.clock);
}

/* A rate change applies from the moment of the change: the time between
 * UpdateTable (or an override) and the bucket's next use is refilled at the
 * new rate, not the old one. */
static int put_one(tp_engine *e, int i, tp_error *err)
{
    char body[160], *resp = NULL;
    snprintf(body, sizeof body,
             "{\"TableName\":\"rates\",\"Item\":{\"pk\":{\"S\":\"k%d\"}}}", i);
    int rc = tp_engine_call(e, NULL, NULL, "DynamoDB_20120810.PutItem", body, &resp, err);
    free(resp);
    return rc;
}

static void update_table_rate_applies_from_the_change(void **state)
{
    (void)state;
    tp_engine_options o;
    memset(&o, 0, sizeof o);
    o.config_json = "{\"capacity\":{\"start_full\":false}}";
    tp_error err;
    memset(&err, 0, sizeof err);
    tp_engine *e = tp_engine_new(&o, &err);
    assert_non_null(e);
    char *resp = NULL;
    assert_int_equal(tp_engine_call(e, NULL, NULL, "DynamoDB_20120810.CreateTable",
                                    "{\"TableName\":\"rates\",\"AttributeDefinitions\":[{"
                                    "\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],"
                                    "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":"
                                    "\"HASH\"}],\"ProvisionedThroughput\":{"
                                    "\"ReadCapacityUnits\":1,\"WriteCapacityUnits\":1}}",
                                    &resp, &err), 0);
    free(resp);
    /* The write bucket exists (empty: refused) before the change. */
    assert_int_equal(put_one(e, 0, &err), -1);
    assert_string_equal(err.code, "ProvisionedThroughputExceededException");
    assert_int_equal(tp_engine_call(e, NULL, NULL, "DynamoDB_20120810.UpdateTable",
                                    "{\"TableName\":\"rates\",\"ProvisionedThroughput\":{"
                                    "\"ReadCapacityUnits\":1,\"WriteCapacityUnits\":100}}",
                                    &resp, &err), 0);
    free(resp);
    /* One second at 100 WCU = 100 one-unit writes (the old behaviour gave
     * one second at 1 WCU: one write). */
    assert_int_equal(tp_engine_advance(e, 1000), 0);
    for (int i = 1; i <= 100; i++)
        assert_int_equal(put_one(e, i, &err), 0);
    assert_int_equal(put_one(e, 101, &err), -1);
    assert_string_equal(err.code, "ProvisionedThroughputExceededException");
    tp_engine_free(e);
}

static void override_rate_applies_from_the_change(void **state)
{
    (void)state;
    tp_core core;
    memset(&core, 0, sizeof core);
    core.clock = tp_clock_new(TP_CLOCK_VIRTUAL, T0);
    tp_req r;
    memset(&r, 0, sizeof r);
    r.core = &core;
    r.account = "123456789012";
    r.region = "us-east-1";
    r.now_ms = T0;
    cJSON *desc = cJSON_Parse("{\"ProvisionedThroughput\":{\"ReadCapacityUnits\":1,"
                              "\"WriteCapacityUnits\":2}}");
    assert_int_equal(ddb_cap_admit(&r, 1, "orders", desc, NULL, TP_CAP_WRITE), 1);
    ddb_cap_charge(&r, 1, "orders", desc, NULL, TP_CAP_WRITE, 600);   /* burst spent */
    cJSON *ov = cJSON_Parse("{\"table\":\"orders\",\"write\":100}");
    char why[200];
    assert_int_equal(tp_capacity_override(&core, ov, why, sizeof why), 0);   /* at T0 */
    /* 1 s later: 100 units (old behaviour: 2). */
    r.now_ms = T0 + 1000;
    assert_int_equal(ddb_cap_admit(&r, 1, "orders", desc, NULL, TP_CAP_WRITE), 1);
    ddb_cap_charge(&r, 1, "orders", desc, NULL, TP_CAP_WRITE, 99.5);
    assert_int_equal(ddb_cap_admit(&r, 1, "orders", desc, NULL, TP_CAP_WRITE), 1);
    ddb_cap_charge(&r, 1, "orders", desc, NULL, TP_CAP_WRITE, 0.5);
    assert_int_equal(ddb_cap_admit(&r, 1, "orders", desc, NULL, TP_CAP_WRITE), 0);
    tp_capacity_free(&core);
    cJSON_Delete(ov);
    cJSON_Delete(desc);
    tp_clock_free(core.clock);
}

/* The same model for resources that are not tables: a Kinesis shard
 * (1 MiB/s or 1,000 records/s in, 5 reads/s out) and a FIFO queue's
 * SendMessage bucket (300 calls/s, a batch call counting once), described
 * by their owner through throughput.h. */
static tp_cap_resource shard_res(const char *shard)
{
    tp_cap_resource res = {
        .service = "kinesis", .resource_label = "stream", .name = "restore",
        .part_label = "shard", .part = shard, .generation = 7, .start_full = 1, .ndims = 4,
        .dim = {{"in_bytes", TP_CAP_KINESIS_IN_BYTES_PER_S, 1000},
                {"in_records", TP_CAP_KINESIS_IN_RECORDS_PER_S, 1000},
                {"out_bytes", TP_CAP_KINESIS_OUT_BYTES_PER_S, 1000},
                {"out_calls", TP_CAP_KINESIS_OUT_CALLS_PER_S, 1000}}};
    return res;
}

static void other_services_use_the_same_buckets(void **state)
{
    (void)state;
    tp_core core;
    memset(&core, 0, sizeof core);
    core.clock = tp_clock_new(TP_CLOCK_VIRTUAL, T0);
    tp_req r;
    memset(&r, 0, sizeof r);
    r.core = &core;
    r.account = "123456789012";
    r.region = "us-east-1";
    r.now_ms = T0;

    /* 1,000 records of 100 bytes fill shard 0's record bucket; the byte
     * bucket still has room, but the 1,001st record is refused. */
    tp_cap_resource s0 = shard_res("shardId-000000000000");
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(tp_cap_admit(&r, &s0, 0) && tp_cap_admit(&r, &s0, 1), 1);
        tp_cap_charge(&r, &s0, 0, 100);
        tp_cap_charge(&r, &s0, 1, 1);
    }
    assert_int_equal(tp_cap_admit(&r, &s0, 0), 1);
    assert_int_equal(tp_cap_admit(&r, &s0, 1), 0);
    /* Another shard has its own buckets. */
    tp_cap_resource s1 = shard_res("shardId-000000000001");
    assert_int_equal(tp_cap_admit(&r, &s1, 1), 1);
    /* 5 GetRecords calls a second. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(tp_cap_admit(&r, &s1, 3), 1);
        tp_cap_charge(&r, &s1, 3, 1);
    }
    assert_int_equal(tp_cap_admit(&r, &s1, 3), 0);
    r.now_ms = T0 + 200;   /* one call's worth refilled */
    assert_int_equal(tp_cap_admit(&r, &s1, 3), 1);
    /* 2 MB in one second goes over 1 MiB: the next put waits for the debt. */
    r.now_ms = T0 + 1000;
    assert_int_equal(tp_cap_admit(&r, &s0, 0), 1);
    tp_cap_charge(&r, &s0, 0, 2000000);
    assert_int_equal(tp_cap_admit(&r, &s0, 0), 0);

    /* A FIFO queue: 300 SendMessage calls a second whatever each carries. */
    tp_cap_resource q = {.service = "sqs", .resource_label = "queue", .name = "jobs.fifo",
                         .part_label = "group", .generation = 1, .start_full = 1, .ndims = 1,
                         .dim = {{"SendMessage", TP_CAP_SQS_FIFO_CALLS_PER_S, 1000}}};
    for (int i = 0; i < 300; i++) {
        assert_int_equal(tp_cap_admit(&r, &q, 0), 1);
        tp_cap_charge(&r, &q, 0, 1);   /* SendMessageBatch of 10: still one call */
    }
    assert_int_equal(tp_cap_admit(&r, &q, 0), 0);

    /* Labels come from the owner: metrics, list, overrides. */
    tp_buf m;
    tp_buf_init(&m);
    tp_capacity_metrics(&core, &m);
    assert_non_null(strstr(m.data, "tidepool_throttled_requests_total{account=\"123456789012\","
                                   "region=\"us-east-1\",queue=\"jobs.fifo\",group=\"\","
                                   "kind=\"SendMessage\"} 1\n"));
    assert_non_null(strstr(m.data, "tidepool_consumed_capacity_units_total{account=\"123456789012\","
                                   "region=\"us-east-1\",stream=\"restore\",shard=\"shardId-000000000000\","
                                   "kind=\"in_records\"} 1000.000\n"));
    tp_buf_free(&m);
    cJSON *ov = cJSON_Parse("{\"queue\":\"jobs.fifo\",\"SendMessage\":3000}");
    char why[300];
    assert_int_equal(tp_capacity_override(&core, ov, why, sizeof why), 0);
    r.now_ms += 1;   /* 1 ms at 3,000/s: 3 calls */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tp_cap_admit(&r, &q, 0), 1);
        tp_cap_charge(&r, &q, 0, 1);
    }
    assert_int_equal(tp_cap_admit(&r, &q, 0), 0);
    /* The override names a queue: no table or shard bucket changed. */
    cJSON *list = tp_capacity_list(&core);
    int seen = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, list)
    {
        const char *svc = cJSON_GetObjectItem(b, "service")->valuestring;
        if (strcmp(svc, "sqs") == 0) {
            assert_int_equal(cJSON_GetObjectItem(b, "rate")->valueint, 3000);
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(b, "group")));
            seen++;
        } else {
            assert_string_equal(svc, "kinesis");
            assert_string_equal(cJSON_GetObjectItem(b, "stream")->valuestring, "restore");
        }
    }
    assert_int_equal(seen, 1);
    assert_int_equal(cJSON_GetArraySize(list), 9);
    cJSON_Delete(list);
    cJSON_Delete(ov);
    tp_capacity_free(&core);
    tp_clock_free(core.clock);
}

/* Key ranges: an even start, growth by halving, split for heat only
 * between two different refused keys. */
static void key_ranges_split(void **state)
{
    (void)state;
    tp_keyranges kr = {0};
    int64_t rates[2] = {3000, 1000}, burst[2] = {1000, 1000};
    assert_int_equal(tp_keyranges_shape(&kr, 4, 2, rates, burst, 1, 0), 0);
    assert_int_equal(kr.n, 4);
    assert_int_equal(kr.r[1].lo, 0x40000000u);
    assert_int_equal(tp_keyranges_find(&kr, 0x7fffffffu), 1);
    assert_int_equal(tp_keyranges_hi(&kr, 3), UINT32_MAX);
    assert_int_equal(tp_keyranges_shape(&kr, 2, 2, rates, burst, 1, 0), 0);
    assert_int_equal(kr.n, 4);   /* never shrinks */
    assert_int_equal(tp_keyranges_shape(&kr, 5, 2, rates, burst, 1, 0), 0);
    assert_int_equal(kr.n, 5);
    assert_int_equal(kr.r[1].lo, 0x20000000u);   /* the first widest range halved */
    /* one hot key: no split however long */
    int i = tp_keyranges_find(&kr, 0x90000000u);
    for (int64_t t = 0; t <= 20000; t += 100)
        assert_int_equal(tp_keyranges_heat(&kr, i, 0x90000000u, t, 5000), 0);
    /* two: split between them once heat lasted 5 s */
    int split = 0;
    for (int64_t t = 30000; t <= 36000 && !split; t += 100)
        split = tp_keyranges_heat(&kr, i, t % 200 ? 0x90000000u : 0x98000000u, t, 5000);
    assert_int_equal(split, 1);
    assert_int_equal(kr.n, 6);
    assert_int_not_equal(tp_keyranges_find(&kr, 0x90000000u), tp_keyranges_find(&kr, 0x98000000u));
    assert_int_equal(kr.heat_splits, 1);
    tp_keyranges_free(&kr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(starts_full_or_empty),
        cmocka_unit_test(refill_is_exact_per_ms),
        cmocka_unit_test(burst_caps_at_300_seconds),
        cmocka_unit_test(debt_and_admission),
        cmocka_unit_test(burst_then_throttle_then_refill),
        cmocka_unit_test(rate_change_keeps_accrual),
        cmocka_unit_test(deterministic_replay),
        cmocka_unit_test(unit_conversion),
        cmocka_unit_test(cost_boundaries),
        cmocka_unit_test(throughput_buckets_and_metrics),
        cmocka_unit_test(update_table_rate_applies_from_the_change),
        cmocka_unit_test(override_rate_applies_from_the_change),
        cmocka_unit_test(other_services_use_the_same_buckets),
        cmocka_unit_test(key_ranges_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
