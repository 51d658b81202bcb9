/* Scenario: kinesis-restore (../shared/SCENARIOS.md, seed 001), end to end
 * through the real services: fixtures/kinesis-restore.json (written by
 * fixtures/gen_kinesis_restore.py) runs a producer handler that puts
 * DynamoDB put requests onto a Kinesis stream at the seed's 193 records/s,
 * and one Kinesis event source mapping whose handler PutItems them into a
 * table, one invocation per shard at a time.
 *
 * Asserted is the seed's shape, from the summary the runner computes from
 * the trace:
 *   - as measured: 5,000 records from 10 shards in about 38 s, about 500
 *     a shard at about 13 records/s each, no throttle;
 *   - per shard the records are handled in sequence order, one batch
 *     after the other (a shard's batches never overlap in time);
 *   - throughput scales with shards until the table's capacity binds:
 *     two shards do twice what one does, and past the table's write
 *     capacity more shards add nothing but throttles.
 * The scaling runs are the measured fixture with fewer records (100 a
 * shard), another shard count and write capacity, and no burst. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "core/json.h"
#include "scenario_run.h"

static double metric(const tp_scenario_summary *s, const char *name)
{
    double v = -1;
    if (tp_scenario_metric(s, name, &v) != 0)
        fail_msg("%s: no metric %s", s->name, name);
    return v;
}

static void near(double got, double want, double tolerance, const char *what)
{
    double d = got - want;
    if (d < 0)
        d = -d;
    if (d > tolerance * want)
        fail_msg("%s: got %.1f, want %.1f within %.0f%%", what, got, want, tolerance * 100);
}

static int seq_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = malloc((size_t)n + 1);
    assert_non_null(t);
    assert_int_equal(fread(t, 1, (size_t)n, f), (size_t)n);
    t[n] = '\0';
    fclose(f);
    return t;
}

static cJSON *setup_request(cJSON *fx, const char *target)
{
    cJSON *step;
    cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(fx, "setup"))
    {
        const char *t = tp_json_str(step, "target");
        if (t && strcmp(t, target) == 0)
            return cJSON_GetObjectItemCaseSensitive(step, "request");
    }
    fail_msg("no %s step", target);
    return NULL;
}

static void set_number(cJSON *obj, const char *name, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
    cJSON_AddNumberToObject(obj, name, v);
}

/* The measured fixture with `shards` shards, `wcu` write capacity (no
 * burst), 100 records a shard. */
static void run_scaled(int shards, int wcu, tp_scenario_summary *s)
{
    char path[1024], why[1024] = "";
    fixture_path("kinesis-restore", path, sizeof path);
    char *text = read_text(path);
    cJSON *fx = tp_json_parse_str(text);
    free(text);
    assert_non_null(fx);
    set_number(setup_request(fx, "Kinesis_20131202.CreateStream"), "ShardCount", shards);
    cJSON *pt = cJSON_GetObjectItemCaseSensitive(setup_request(fx, "DynamoDB_20120810.CreateTable"),
                                                 "ProvisionedThroughput");
    set_number(pt, "WriteCapacityUnits", wcu);
    cJSON *cap = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(fx, "config"), "capacity");
    set_number(cap, "burst_seconds", 1);
    int records = 100 * shards;
    cJSON *req = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(fx, "writes"), 0),
                                                  "request");
    cJSON *payload = tp_json_parse_str(tp_json_str(req, "Payload"));
    set_number(payload, "count", records);
    char *p = tp_json_print(payload);
    cJSON_Delete(payload);
    cJSON_DeleteItemFromObjectCaseSensitive(req, "Payload");
    cJSON_AddStringToObject(req, "Payload", p);
    free(p);
    cJSON *expect = cJSON_CreateObject();
    cJSON_AddNumberToObject(expect, "probe.restored", records);
    cJSON_DeleteItemFromObjectCaseSensitive(fx, "expect");
    cJSON_AddItemToObject(fx, "expect", expect);
    char *json = tp_json_print(fx);
    cJSON_Delete(fx);
    tp_scenario_options o;
    memset(&o, 0, sizeof o);
    o.out = getenv("TP_SCENARIO_VERBOSE") ? stdout : NULL;
    int rc = tp_scenario_run_json(json, &o, s, why, sizeof why);
    free(json);
    if (rc != 0)
        fail_msg("scaled run: %s", why);
    assert_int_equal(s->expect_failed, 0);
}

static void as_measured(void **state)
{
    (void)state;
    tp_scenario_summary s;
    memset(&s, 0, sizeof s);
    run_fixture_named("kinesis-restore", &s, NULL);
    assert_int_equal(s.expect_failed, 0);
    assert_int_equal((int)tp_scenario_probe_value(&s, "restored", -1), 5000);
    assert_int_equal((int)metric(&s, "shards"), 10);
    near(metric(&s, "stage.restore.duration_ms") / 1000.0, 38, 0.12, "5,000 records from 10 shards (s)");
    near(metric(&s, "shard.records_per_s_min"), 500.0 / 38, 0.1, "slowest shard (records/s)");
    near(metric(&s, "shard.records_per_s_max"), 500.0 / 38, 0.1, "fastest shard (records/s)");
    near(metric(&s, "stage.put.duration_ms") / 1000.0, 5000.0 / 193, 0.05, "putting at 193/s (s)");
    assert_int_equal((int)metric(&s, "throttles"), 0);
    double peak = metric(&s, "wcu.peak");
    if (peak < 120 || peak > 180)
        fail_msg("peak consumed WCU %.0f, the seed's about 170", peak);
    printf("kinesis-restore: %.1f s, %.1f records/s a shard, %.1f in all, peak %.0f WCU/s "
           "(seed: 38 s, 13.2, 132, about 170)\n",
           metric(&s, "stage.restore.duration_ms") / 1000.0, metric(&s, "shard.records_per_s_mean"),
           metric(&s, "records_per_s"), peak);

    /* per shard: in sequence order, one batch after the other */
    assert_int_equal((int)metric(&s, "out_of_order"), 0);
    assert_int_equal((int)s.duplicate_records, 0);
    for (size_t k = 0; k < s.n_shards; k++) {
        const tp_scenario_invocation *prev = NULL;
        int64_t records = 0;
        for (size_t i = 0; i < s.n_inv; i++) {
            const tp_scenario_invocation *v = &s.inv[i];
            if (strcmp(v->shard, s.shards[k].shard) != 0)
                continue;
            assert_string_equal(v->outcome, "success");
            assert_true(seq_cmp(v->first_seq, v->last_seq) <= 0);
            if (prev) {
                assert_true(seq_cmp(prev->last_seq, v->first_seq) < 0);
                assert_true(prev->end_ms <= v->start_ms);
            }
            records += v->batch_size;
            prev = v;
        }
        assert_int_equal(records, s.shards[k].records);
    }
    tp_scenario_summary_free(&s);
}

static void throughput_scales_with_shards_until_capacity_binds(void **state)
{
    (void)state;
    enum { WCU = 40 };
    static const int counts[] = {1, 2, 4, 8};
    double rate[4];
    int64_t throttles[4];
    for (int i = 0; i < 4; i++) {
        tp_scenario_summary s;
        memset(&s, 0, sizeof s);
        run_scaled(counts[i], WCU, &s);
        rate[i] = metric(&s, "records_per_s");
        throttles[i] = s.throttles;
        assert_int_equal((int)metric(&s, "out_of_order"), 0);
        printf("%d shard%s at %d WCU: %.1f records/s, %lld throttles\n", counts[i],
               counts[i] == 1 ? "" : "s", WCU, rate[i], (long long)throttles[i]);
        tp_scenario_summary_free(&s);
    }
    near(rate[0], 500.0 / 38, 0.1, "one shard (records/s)");
    near(rate[1], 2 * rate[0], 0.12, "two shards do twice what one does");
    assert_int_equal(throttles[0], 0);
    assert_int_equal(throttles[1], 0);
    /* four shards would do 53/s: the table's 40 binds */
    assert_true(rate[2] < 3.5 * rate[0]);
    assert_true(rate[2] <= WCU * 1.2);   /* plus the one second of burst */
    near(rate[3], rate[2], 0.15, "eight shards add nothing past the capacity");
    assert_true(throttles[3] > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(as_measured),
        cmocka_unit_test(throughput_scales_with_shards_until_capacity_binds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
