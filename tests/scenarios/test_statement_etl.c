/* Scenario: statement-etl loading rows (../shared/SCENARIOS.md, seed 002).
 *
 * 23,300 records of exactly 1 KB (1 WCU each) are PutItem'd into a table
 * provisioned at 20, 80 or 160 WCU (burst 300 s, starting full) by 1, 2 or
 * 4 loaders. Each loader writes its share at a fixed pace taken from the
 * seed's measured times (23,300 in 176 s with 1 loader = one put every
 * 7554 us; 168 s -> 7210 us; 86 s with 2 -> 7382 us; 44 s with 4 ->
 * 7554 us; the capacity-20 row uses the same loader as the 176 s row) and,
 * when a put is throttled, retries the same record after a fixed backoff.
 * Everything runs in virtual time through the embedding API.
 *
 * The expected figures are computed here from the bucket rules alone, not
 * from the emulator's output:
 *   - B = 300 * W units of burst; with N puts paced p apart the bucket
 *     drains at (R - W) per second (R = 1000/p per ms), so the first
 *     throttle comes at t1 = B / (R - W) s, after k1 = B*R/(R - W) puts;
 *     when t1 lies beyond the row's last put there is no throttle and the
 *     last put lands at exactly floor((N/L - 1) * p);
 *   - after t1 admissions are limited to W per second, so the remaining
 *     N - k1 puts finish at t1 + (N - k1)/W;
 *   - each admitted put then costs one loader period p plus m backoffs b,
 *     and the average cycle must equal 1000/W ms, so the throttles number
 *     (N - k1) * (1000/W - p) / b.
 * Discretisation (whole-ms calls, a level that wanders within about one
 * put of zero) allows the small tolerances stated at each assertion.
 *
 * It also prints, per row, what CloudWatch would show for the table
 * (ConsumedWriteCapacityUnits: the sum over each minute divided by 60)
 * beside the per-second peak, for comparison with the seed's dashboard
 * figures (70, 135, 140, 265, 328). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tidepool/engine.h"

#define RECORDS 23300
#define MAX_LOADERS 4
#define MAX_SECONDS 2000

typedef struct etl_row {
    const char *name;
    int wcu;
    int loaders;
    int64_t period_us;    /* one loader's pace */
    int64_t backoff_ms;   /* wait after a throttled put */
} etl_row;

typedef struct etl_result {
    int64_t admitted, throttles;
    int64_t first_throttle_ms;      /* -1: none */
    int64_t admitted_before_throttle;
    int64_t finish_ms;              /* time of the last admitted put */
    int64_t consumed_milli;         /* from ReturnConsumedCapacity */
    int64_t per_second[MAX_SECONDS];
    int64_t per_minute[MAX_SECONDS / 60 + 1];
} etl_result;

static const char *CONFIG =
    "{\"capacity\":{\"burst_seconds\":300,\"start_full\":true}}";

static void make_table(tp_engine *e, int wcu)
{
    char body[512], *resp = NULL;
    tp_error err;
    snprintf(body, sizeof body,
             "{\"TableName\":\"statements\",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\","
             "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":"
             "\"HASH\"}],\"ProvisionedThroughput\":{\"ReadCapacityUnits\":5,"
             "\"WriteCapacityUnits\":%d}}",
             wcu);
    assert_int_equal(tp_engine_call(e, NULL, NULL, "DynamoDB_20120810.CreateTable", body, &resp,
                                    &err),
                     0);
    free(resp);
}

/* One put of record i: "pk" (2) + "r00042" (6) + "data" (4) + 1012 bytes =
 * 1024 bytes, exactly 1 WCU. Returns the units charged, or -1 when
 * throttled. */
static double put_record(tp_engine *e, int i, char *body, size_t cap)
{
    static char pad[1013];
    if (!pad[0]) {
        memset(pad, 'x', 1012);
        pad[1012] = '\0';
    }
    snprintf(body, cap,
             "{\"TableName\":\"statements\",\"ReturnConsumedCapacity\":\"TOTAL\",\"Item\":{"
             "\"pk\":{\"S\":\"r%05d\"},\"data\":{\"S\":\"%s\"}}}",
             i, pad);
    char *resp = NULL;
    tp_error err;
    memset(&err, 0, sizeof err);
    if (tp_engine_call(e, NULL, NULL, "DynamoDB_20120810.PutItem", body, &resp, &err) != 0) {
        assert_string_equal(err.code, "ProvisionedThroughputExceededException");
        return -1;
    }
    const char *cu = resp ? strstr(resp, "\"CapacityUnits\":") : NULL;
    assert_non_null(cu);
    double units = strtod(cu + strlen("\"CapacityUnits\":"), NULL);
    free(resp);
    return units;
}

static void run_row(const etl_row *row, etl_result *res)
{
    memset(res, 0, sizeof *res);
    res->first_throttle_ms = -1;
    tp_engine_options o;
    memset(&o, 0, sizeof o);
    o.config_json = CONFIG;
    tp_error err;
    tp_engine *e = tp_engine_new(&o, &err);
    assert_non_null(e);
    make_table(e, row->wcu);

    int share = RECORDS / row->loaders;
    int next_rec[MAX_LOADERS], last_rec[MAX_LOADERS];
    int64_t next_us[MAX_LOADERS];
    for (int l = 0; l < row->loaders; l++) {
        next_rec[l] = l * share;
        last_rec[l] = l == row->loaders - 1 ? RECORDS : (l + 1) * share;
        next_us[l] = 0;
    }
    static char body[2048];
    int64_t now = 0;   /* ms since the start */
    for (;;) {
        /* The next tick: the earliest loader still with work. */
        int64_t t = -1;
        for (int l = 0; l < row->loaders; l++)
            if (next_rec[l] < last_rec[l] && (t < 0 || next_us[l] / 1000 < t))
                t = next_us[l] / 1000;
        if (t < 0)
            break;
        if (t > now) {
            assert_int_equal(tp_engine_advance(e, t - now), 0);
            now = t;
        }
        for (int l = 0; l < row->loaders; l++) {
            if (next_rec[l] >= last_rec[l] || next_us[l] / 1000 != t)
                continue;
            double units = put_record(e, next_rec[l], body, sizeof body);
            if (units < 0) {
                res->throttles++;
                if (res->first_throttle_ms < 0) {
                    res->first_throttle_ms = t;
                    res->admitted_before_throttle = res->admitted;
                }
                next_us[l] += row->backoff_ms * 1000;
                continue;
            }
            assert_true(units == 1.0);   /* 1024 bytes: one WCU */
            int64_t milli = (int64_t)(units * 1000 + 0.5);
            res->admitted++;
            res->consumed_milli += milli;
            res->finish_ms = t;
            assert_true(t / 1000 < MAX_SECONDS);
            res->per_second[t / 1000] += milli;
            res->per_minute[t / 60000] += milli;
            next_rec[l]++;
            next_us[l] += row->period_us;
        }
    }
    tp_engine_free(e);
}

static void report(const etl_row *row, const etl_result *res)
{
    int64_t peak_s = 0, peak_m = 0;
    for (int i = 0; i < MAX_SECONDS; i++)
        if (res->per_second[i] > peak_s)
            peak_s = res->per_second[i];
    for (int i = 0; i <= MAX_SECONDS / 60; i++)
        if (res->per_minute[i] > peak_m)
            peak_m = res->per_minute[i];
    printf("[statement-etl] %-14s WCU %3d, %d loader(s): %lld puts, %lld throttled",
           row->name, row->wcu, row->loaders, (long long)res->admitted, (long long)res->throttles);
    if (res->first_throttle_ms >= 0)
        printf(" (first at %.3f s after %lld puts = %.1f%%)", res->first_throttle_ms / 1000.0,
               (long long)res->admitted_before_throttle,
               100.0 * (double)res->admitted_before_throttle / RECORDS);
    printf(", done at %.3f s; consumed WCU: per-second peak %.0f, CloudWatch "
           "(minute sum / 60) peak %.1f; per minute:",
           res->finish_ms / 1000.0, peak_s / 1000.0, peak_m / 60000.0);
    for (int i = 0; i <= res->finish_ms / 60000; i++)
        printf(" %.1f", res->per_minute[i] / 60000.0);
    printf("\n");
}

static int64_t i64_abs(int64_t v) { return v < 0 ? -v : v; }

/* A row whose pace never outruns its burst: no throttle, and the last put
 * of each loader lands at exactly (N/L - 1) * p. */
static void expect_unthrottled(const etl_row *row, const etl_result *res)
{
    int64_t n = RECORDS / row->loaders;
    int64_t burst_units = 300 * (int64_t)row->wcu;
    /* Offered rate R = L * 1e6/p per second; drain R - W; the burst would
     * last burst_units / (R - W) s. */
    double offered = row->loaders * 1e6 / (double)row->period_us;
    double last_s = (double)((n - 1) * row->period_us) / 1e6;
    if (offered > row->wcu)
        assert_true(burst_units / (offered - row->wcu) > last_s);   /* the premise */
    assert_int_equal(res->throttles, 0);
    assert_int_equal(res->admitted, RECORDS);
    assert_int_equal(res->consumed_milli, (int64_t)RECORDS * 1000);
    assert_int_equal(res->finish_ms, (n - 1) * row->period_us / 1000);
}

static const etl_row ROW_20_1 = {"wcu20-1loader", 20, 1, 7554, 50};
static const etl_row ROW_80_1 = {"wcu80-1loader", 80, 1, 7554, 50};
static const etl_row ROW_160_1 = {"wcu160-1loader", 160, 1, 7210, 50};
static const etl_row ROW_160_2 = {"wcu160-2loaders", 160, 2, 7382, 50};
static const etl_row ROW_160_4 = {"wcu160-4loaders", 160, 4, 7554, 50};

static etl_result g_res, g_again;

static void capacity_20_one_loader(void **state)
{
    (void)state;
    const etl_row *row = &ROW_20_1;
    run_row(row, &g_res);
    report(row, &g_res);

    double p = row->period_us / 1000.0;            /* ms between a loader's puts */
    double rate = 1000.0 / p;                      /* puts per second */
    double burst = 300.0 * row->wcu;               /* units */
    double t1 = burst / (rate - row->wcu);         /* s: the burst is gone */
    double k1 = burst * rate / (rate - row->wcu);  /* puts admitted by then */
    double rest = RECORDS - k1;
    double finish = t1 + rest / row->wcu;          /* s */
    double throttles = rest * (1000.0 / row->wcu - p) / (double)row->backoff_ms;
    printf("[statement-etl] %-14s model: first throttle at %.3f s after %.1f puts, done at "
           "%.3f s, %.1f throttles\n",
           row->name, t1, k1, finish, throttles);

    assert_int_equal(g_res.admitted, RECORDS);
    assert_int_equal(g_res.consumed_milli, (int64_t)RECORDS * 1000);
    /* k1 within one put (whole-ms call times), t1 within one loader period. */
    assert_true(i64_abs(g_res.admitted_before_throttle - (int64_t)(k1 + 0.5)) <= 1);
    assert_true(i64_abs(g_res.first_throttle_ms - (int64_t)(t1 * 1000 + 0.5)) <= 8);
    /* The level stays within about one put of zero after t1: the finish
     * within 1000/W + b ms, the throttle count within a few. */
    assert_true(i64_abs(g_res.finish_ms - (int64_t)(finish * 1000 + 0.5)) <=
                1000 / row->wcu + row->backoff_ms);
    assert_true(i64_abs(g_res.throttles - (int64_t)(throttles + 0.5)) <= 3);
    /* The seed's loader timed out "having processed about 1/3 of the jobs":
     * the burst alone carries it through 30% of them. */
    assert_true(g_res.admitted_before_throttle * 100 / RECORDS == 30);
}

static void capacity_80_one_loader(void **state)
{
    (void)state;
    run_row(&ROW_80_1, &g_res);
    report(&ROW_80_1, &g_res);
    expect_unthrottled(&ROW_80_1, &g_res);
    assert_int_equal(g_res.finish_ms, 176000);   /* 23,299 x 7.554 ms: the seed's 176 s */
}

static void capacity_160_one_loader(void **state)
{
    (void)state;
    run_row(&ROW_160_1, &g_res);
    report(&ROW_160_1, &g_res);
    expect_unthrottled(&ROW_160_1, &g_res);
    assert_int_equal(g_res.finish_ms, 167985);   /* 23,299 x 7.210 ms: the seed's 168 s */
}

static void capacity_160_two_loaders(void **state)
{
    (void)state;
    run_row(&ROW_160_2, &g_res);
    report(&ROW_160_2, &g_res);
    expect_unthrottled(&ROW_160_2, &g_res);
    assert_int_equal(g_res.finish_ms, 85992);    /* 11,649 x 7.382 ms: the seed's 86 s */
}

static void capacity_160_four_loaders(void **state)
{
    (void)state;
    run_row(&ROW_160_4, &g_res);
    report(&ROW_160_4, &g_res);
    expect_unthrottled(&ROW_160_4, &g_res);
    assert_int_equal(g_res.finish_ms, 43994);    /* 5,824 x 7.554 ms: the seed's 44 s */
}

/* The same row twice: the same throttles at the same virtual times. */
static void replay_is_identical(void **state)
{
    (void)state;
    run_row(&ROW_20_1, &g_res);
    run_row(&ROW_20_1, &g_again);
    assert_int_equal(g_res.throttles, g_again.throttles);
    assert_int_equal(g_res.first_throttle_ms, g_again.first_throttle_ms);
    assert_int_equal(g_res.finish_ms, g_again.finish_ms);
    assert_memory_equal(g_res.per_second, g_again.per_second, sizeof g_res.per_second);
    run_row(&ROW_160_4, &g_res);
    run_row(&ROW_160_4, &g_again);
    assert_int_equal(g_res.finish_ms, g_again.finish_ms);
    assert_memory_equal(g_res.per_second, g_again.per_second, sizeof g_res.per_second);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(capacity_20_one_loader),
        cmocka_unit_test(capacity_80_one_loader),
        cmocka_unit_test(capacity_160_one_loader),
        cmocka_unit_test(capacity_160_two_loaders),
        cmocka_unit_test(capacity_160_four_loaders),
        cmocka_unit_test(replay_is_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
