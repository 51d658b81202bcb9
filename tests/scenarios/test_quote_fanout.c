/* Scenario: quote-fanout (../shared/SCENARIOS.md, seed 000), replayed from
 * fixtures/quote-fanout*.json through the scenario runner.
 *
 * One stream batch (quotes CEI and DWAC) fans out to 14,329 + 8,000
 * positions, one UpdateItem of 14 virtual ms each, on a positions table of
 * 70 WCU that a job putting 100 KB snapshots shares from 170 s to about
 * 290 s (fixtures/README.md says why). What the seed's
 * logs show and this test asserts:
 *   - the throttle, and the SDK-style retries of the handler's calls;
 *   - the first invocation ends in a function error,
 *     ProvisionedThroughputExceededException, after the SDK gave up
 *     (the seed: after 205.75 s);
 *   - the retry (the identical batch: same records) times out at 300 s
 *     after updating every CEI position; the batch comes back again and
 *     again, and the iterator age grows with each attempt;
 *   - without idempotence every CEI position was updated more than once;
 *     with the conditional handler none was;
 *   - with enough capacity (and one quote per batch) everything completes;
 *   - the same fixture replays to the same trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scenario_run.h"

#define CEI_POSITIONS 14329

/* The first run's trace, for replay_is_identical (saves a third run). */
static uint64_t g_first_hash, g_first_events;
static int64_t g_first_end[16];
static size_t g_first_n_inv;

static void throttle_sdk_giveup_timeout_redelivery(void **state)
{
    (void)state;
    tp_scenario_summary s;
    run_fixture_named("quote-fanout", &s, NULL);
    printf("[quote-fanout] %zu invocations; first: %s (%s) after %.3f s; throttles %lld, sdk "
           "retries %lld, iterator age max %.3f s\n",
           s.n_inv, s.inv[0].outcome, s.inv[0].error_type, s.inv[0].duration_ms / 1000.0,
           (long long)s.throttles, (long long)s.sdk_retries, s.iterator_age_max_ms / 1000.0);
    assert_int_equal(s.expect_failed, 0);
    assert_int_equal(s.stream_records, 2);
    assert_true(s.n_inv >= 4);

    /* the throttle and the SDK's retries */
    assert_true(s.throttles > 0);
    assert_true(s.sdk_retries >= 10);

    /* invocation 1: both quotes; the SDK gave up -> function error */
    const tp_scenario_invocation *first = inv_at(&s, 0);
    assert_int_equal(first->batch_size, 2);
    assert_int_equal(first->attempt, 1);
    assert_string_equal(first->outcome, "error");
    assert_string_equal(first->error_type, "ProvisionedThroughputExceededException");
    assert_true(first->throttled_calls >= 11);   /* the last call: every attempt throttled */
    assert_true(first->sdk_retries >= 10);
    assert_true(first->duration_ms > 150000 && first->duration_ms < 300000);

    /* then the same batch again and again: timeouts at 300 s, attempt
     * counting up, the iterator age growing */
    for (size_t i = 1; i < s.n_inv; i++) {
        const tp_scenario_invocation *v = inv_at(&s, i);
        assert_int_equal(v->batch_hash, first->batch_hash);
        assert_string_equal(v->first_seq, first->first_seq);
        assert_string_equal(v->last_seq, first->last_seq);
        assert_int_equal(v->attempt, (int64_t)i + 1);
        assert_true(v->iterator_age_ms > inv_at(&s, i - 1)->iterator_age_ms);
        if (v->outcome[0]) {   /* the last one may still be running at the horizon */
            assert_string_equal(v->outcome, "timeout");
            assert_int_equal(v->duration_ms, 300000);
        }
    }
    assert_true(s.inv_timeout >= 2);
    assert_int_equal(s.duplicate_records, 2);
    assert_true(s.batch_retries >= 3);

    /* repeated side effects: every CEI position updated more than once */
    assert_true(tp_scenario_probe_value(&s, "cei_updated", -1) == CEI_POSITIONS);
    assert_true(tp_scenario_probe_value(&s, "cei_applied_twice", -1) == CEI_POSITIONS);
    g_first_hash = s.trace_hash;
    g_first_events = s.trace_events;
    g_first_n_inv = s.n_inv < 16 ? s.n_inv : 16;
    for (size_t i = 0; i < g_first_n_inv; i++)
        g_first_end[i] = s.inv[i].end_ms;
    tp_scenario_summary_free(&s);
}

static void idempotent_handler_has_no_repeated_effects(void **state)
{
    (void)state;
    tp_scenario_summary s;
    run_fixture_named("quote-fanout-idempotent", &s, NULL);
    assert_int_equal(s.expect_failed, 0);
    /* the pipeline misbehaves the same way: redelivery, timeouts ... */
    assert_true(s.inv_timeout >= 2);
    assert_int_equal(s.duplicate_records, 2);
    /* ... but each position took the quote once */
    assert_true(tp_scenario_probe_value(&s, "cei_updated", -1) == CEI_POSITIONS);
    assert_true(tp_scenario_probe_value(&s, "cei_applied_twice", -1) == 0);
    tp_scenario_summary_free(&s);
}

static void enough_capacity_completes(void **state)
{
    (void)state;
    tp_scenario_summary s;
    run_fixture_named("quote-fanout-capacity", &s, NULL);
    assert_int_equal(s.expect_failed, 0);
    assert_int_equal(s.invocations, 2);
    assert_int_equal(s.inv_success, 2);
    assert_int_equal(s.inv_error + s.inv_timeout, 0);
    assert_int_equal(s.duplicate_records, 0);
    assert_int_equal(s.sdk_retries, 0);
    assert_true(tp_scenario_probe_value(&s, "cei_updated", -1) == CEI_POSITIONS);
    assert_true(tp_scenario_probe_value(&s, "dwac_updated", -1) == 8000);
    tp_scenario_summary_free(&s);
}

/* Two runs, the same trace: every line (wall clock left out) hashed, and
 * the same number of lines. The first run is the story test's when it ran. */
static void replay_is_identical(void **state)
{
    (void)state;
    tp_scenario_summary b;
    if (!g_first_events) {
        tp_scenario_summary a;
        run_fixture_named("quote-fanout", &a, NULL);
        g_first_hash = a.trace_hash;
        g_first_events = a.trace_events;
        g_first_n_inv = a.n_inv < 16 ? a.n_inv : 16;
        for (size_t i = 0; i < g_first_n_inv; i++)
            g_first_end[i] = a.inv[i].end_ms;
        tp_scenario_summary_free(&a);
    }
    run_fixture_named("quote-fanout", &b, NULL);
    assert_true(g_first_events > 100000);
    assert_int_equal(b.trace_events, g_first_events);
    assert_true(b.trace_hash == g_first_hash);
    assert_true(b.n_inv >= g_first_n_inv);
    for (size_t i = 0; i < g_first_n_inv; i++)
        assert_int_equal(b.inv[i].end_ms, g_first_end[i]);
    tp_scenario_summary_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(throttle_sdk_giveup_timeout_redelivery),
        cmocka_unit_test(idempotent_handler_has_no_repeated_effects),
        cmocka_unit_test(enough_capacity_completes),
        cmocka_unit_test(replay_is_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
