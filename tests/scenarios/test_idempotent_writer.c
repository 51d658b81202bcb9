/* Scenario: idempotent-writer (../shared/SCENARIOS.md, seed 003), replayed
 * from fixtures/idempotent-writer*.json through the scenario runner.
 *
 * A producer deposits 10 into acct-1 twelve times (UpdateItem on a table
 * with a NEW_AND_OLD_IMAGES stream); a fault rule loses every 4th response
 * after the write committed and the producer retries it, as an SDK would.
 * A stream consumer adds each balance change to a ledger and fails in the
 * middle of each batch the first time it sees it. Asserted:
 *   - without the version condition the lost responses become second
 *     deposits (balance above 120, one extra stream record each), and the
 *     consumer's redelivered batches are applied twice (ledger above the
 *     balance);
 *   - with the condition on the producer (version) and on the consumer (the
 *     record's sequence number), the retries fail their condition and the
 *     redeliveries change nothing: balance 120, ledger 120 in 12 entries;
 *   - each run replays to a byte-identical trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scenario_run.h"

#define DEPOSITS 12
#define AMOUNT 10

static void duplicates_without_the_condition(void **state)
{
    (void)state;
    tp_scenario_summary s;
    run_fixture_named("idempotent-writer", &s, NULL);
    assert_int_equal(s.expect_failed, 0);
    /* the producer side: lost responses retried into second deposits */
    assert_true(s.writes_lost >= 1);
    assert_int_equal(s.producer_retries, s.writes_lost);
    double balance = tp_scenario_probe_value(&s, "balance", -1);
    printf("[idempotent-writer] %lld responses lost; balance %.0f (deposited %d), ledger %.0f "
           "in %.0f entries\n",
           (long long)s.writes_lost, balance, DEPOSITS * AMOUNT,
           tp_scenario_probe_value(&s, "ledger_total", -1),
           tp_scenario_probe_value(&s, "ledger_entries", -1));
    assert_true(balance == DEPOSITS * AMOUNT + AMOUNT * (double)s.writes_lost);
    assert_int_equal(s.stream_records, DEPOSITS + s.writes_lost);
    /* the consumer side: a mid-batch failure, the batch again, the records
     * before the failure applied twice */
    assert_true(s.inv_error >= 1);
    assert_true(s.duplicate_records >= 1);
    assert_true(tp_scenario_probe_value(&s, "ledger_total", -1) > balance);
    assert_true(tp_scenario_probe_value(&s, "ledger_entries", -1) > (double)s.stream_records);
    tp_scenario_summary_free(&s);
}

static void no_duplicates_with_the_condition(void **state)
{
    (void)state;
    tp_scenario_summary s;
    run_fixture_named("idempotent-writer-versioned", &s, NULL);
    assert_int_equal(s.expect_failed, 0);
    /* the same faults happened ... */
    assert_true(s.writes_lost >= 1);
    assert_true(s.inv_error >= 1);
    assert_true(s.duplicate_records >= 1);
    /* ... and left no trace in the data */
    assert_int_equal(s.stream_records, DEPOSITS);
    assert_true(tp_scenario_probe_value(&s, "balance", -1) == DEPOSITS * AMOUNT);
    assert_true(tp_scenario_probe_value(&s, "ledger_total", -1) == DEPOSITS * AMOUNT);
    assert_true(tp_scenario_probe_value(&s, "ledger_entries", -1) == DEPOSITS);
    tp_scenario_summary_free(&s);
}

static void replay_is_identical(void **state)
{
    (void)state;
    const char *names[] = {"idempotent-writer", "idempotent-writer-versioned"};
    for (size_t i = 0; i < 2; i++) {
        char a[256], b[256];
        snprintf(a, sizeof a, "/tmp/tp-scenario-%d-%s-a.jsonl", (int)getpid(), names[i]);
        snprintf(b, sizeof b, "/tmp/tp-scenario-%d-%s-b.jsonl", (int)getpid(), names[i]);
        tp_scenario_summary s1, s2;
        run_fixture_named(names[i], &s1, a);
        run_fixture_named(names[i], &s2, b);
        assert_true(s1.trace_events > 0);
        assert_true(same_file(a, b));
        assert_true(s1.trace_hash == s2.trace_hash);
        remove(a);
        remove(b);
        tp_scenario_summary_free(&s1);
        tp_scenario_summary_free(&s2);
    }
}

/* The runner's own contract: a fixture that cannot run says why; "expect"
 * counts what it checked and what failed. */
static void runner_reports_bad_fixtures(void **state)
{
    (void)state;
    tp_scenario_summary s;
    char why[512];
    assert_int_equal(tp_scenario_run_json("{nope", NULL, &s, why, sizeof why), -1);
    assert_non_null(strstr(why, "not valid JSON"));
    tp_scenario_summary_free(&s);

    const char *bad_setup =
        "{\"setup\":[{\"target\":\"DynamoDB_20120810.CreateTable\",\"request\":"
        "{\"TableName\":\"t\"}}]}";
    assert_int_equal(tp_scenario_run_json(bad_setup, NULL, &s, why, sizeof why), -1);
    assert_non_null(strstr(why, "setup DynamoDB_20120810.CreateTable: ValidationException"));
    tp_scenario_summary_free(&s);

    const char *bad_save =
        "{\"setup\":[{\"target\":\"DynamoDB_20120810.ListTables\",\"save\":"
        "{\"x\":\"No.Such.Member\"}}]}";
    assert_int_equal(tp_scenario_run_json(bad_save, NULL, &s, why, sizeof why), -1);
    assert_non_null(strstr(why, "No.Such.Member"));
    tp_scenario_summary_free(&s);

    /* a table, ten timed puts (${i} and ${VAR}), a probe, expectations */
    const char *ok =
        "{\"seed\":7,\"setup\":[{\"target\":\"DynamoDB_20120810.CreateTable\",\"request\":"
        "{\"TableName\":\"tbl\",\"AttributeDefinitions\":[{\"AttributeName\":\"k\","
        "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"k\",\"KeyType\":"
        "\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"},\"save\":{\"tn\":"
        "\"TableDescription.TableName\"}}],"
        "\"writes\":[{\"at_ms\":10,\"every_ms\":100,\"count\":10,\"target\":"
        "\"DynamoDB_20120810.PutItem\",\"request\":{\"TableName\":\"${tn}\",\"Item\":"
        "{\"k\":{\"S\":\"k${i%4}\"},\"n\":{\"N\":\"${i+1}\"}}}}],"
        "\"run_until\":{\"max_ms\":5000},"
        "\"probes\":[{\"name\":\"items\",\"target\":\"DynamoDB_20120810.Scan\","
        "\"request\":{\"TableName\":\"tbl\",\"Select\":\"COUNT\"}},"
        "{\"name\":\"k1\",\"target\":\"DynamoDB_20120810.GetItem\",\"request\":"
        "{\"TableName\":\"tbl\",\"Key\":{\"k\":{\"S\":\"k1\"}}},\"value\":\"Item.n.N\"}],"
        "\"expect\":{\"writes\":10,\"probe.items\":{\"min\":4,\"max\":4},"
        "\"invocations\":1,\"no.such.number\":0}}";
    int rc = tp_scenario_run_json(ok, NULL, &s, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "%s\n", why);
    assert_int_equal(rc, 0);
    assert_int_equal(s.writes, 10);
    assert_int_equal(s.end_ms, 5000);
    assert_true(tp_scenario_probe_value(&s, "items", -1) == 4);
    assert_true(tp_scenario_probe_value(&s, "k1", -1) == 10);   /* i = 9 wrote k1 last */
    assert_int_equal(s.expect_checked, 4);
    assert_int_equal(s.expect_failed, 2);   /* invocations (0) and the unknown name */
    double v;
    assert_int_equal(tp_scenario_metric(&s, "writes", &v), 0);
    assert_true(v == 10);
    assert_int_equal(tp_scenario_metric(&s, "nope", &v), -1);
    tp_scenario_summary_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duplicates_without_the_condition),
        cmocka_unit_test(no_duplicates_with_the_condition),
        cmocka_unit_test(replay_is_identical),
        cmocka_unit_test(runner_reports_bad_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
