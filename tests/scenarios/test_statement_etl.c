/* Scenario: statement-etl (../shared/SCENARIOS.md, seed 002), end to end
 * through the real services: fixtures/statement-etl-*.json (written by
 * fixtures/gen_statement_etl.py) run a scheduler handler that reads the
 * CSV's 23,300 records and sends one SQS message per record (or 10 per
 * SendMessageBatch), and 1-4 loader functions behind SQS event source
 * mappings that PutItem each record into a table provisioned at 20, 80 or
 * 160 WCU (300 s burst, full at the start).
 *
 * Asserted is the seed's shape, from the summary the runner computes from
 * the trace:
 *   - scheduling with SendMessage takes the seed's 153 s from one file,
 *     half from two, a quarter from four; SendMessageBatch cuts it to
 *     well under half (the seed's "definitely margin for optimization");
 *   - 20 WCU throttles and its loader times out; the burst carries it
 *     through about a third of the records, then it crawls at 20/s;
 *   - 80 and 160 WCU with one loader take the same time (the seed: 176 s
 *     and 168 s): the loader, not the capacity, is the limit, and there
 *     is no throttle; two and four loaders at 160 WCU take half and a
 *     quarter of it (the seed: 86 s, 44 s), with peaks near 2x and 4x;
 *   - four loaders at 20 WCU load about what one does: more loaders help
 *     only while capacity allows;
 *   - the same fixture replays to the same trace.
 * The per-second and CloudWatch (minute sum / 60) peaks are printed beside
 * the seed's dashboard figures (70, 135, 140, 265, 328). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scenario_run.h"

#define RECORDS 23300

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

typedef struct row {
    const char *fixture;
    tp_scenario_summary s;
} row;

static row rows[] = {
    {.fixture = "statement-etl-schedule-1file"},  {.fixture = "statement-etl-schedule-2files"},
    {.fixture = "statement-etl-schedule-4files"}, {.fixture = "statement-etl-schedule-1file-batch"},
    {.fixture = "statement-etl-20wcu-1loader"},   {.fixture = "statement-etl-20wcu-4loaders"},
    {.fixture = "statement-etl-80wcu-1loader"},   {.fixture = "statement-etl-160wcu-1loader"},
    {.fixture = "statement-etl-160wcu-2loaders"}, {.fixture = "statement-etl-160wcu-4loaders"},
};
#define NROWS (sizeof rows / sizeof rows[0])

static const tp_scenario_summary *get(const char *fixture)
{
    for (size_t i = 0; i < NROWS; i++)
        if (strcmp(rows[i].fixture, fixture) == 0) {
            if (!rows[i].s.name[0]) {
                run_fixture_named(fixture, &rows[i].s, NULL);
                assert_int_equal(rows[i].s.expect_failed, 0);
            }
            return &rows[i].s;
        }
    fail_msg("no fixture %s", fixture);
    return NULL;
}

static double sched_s(const char *fixture) { return metric(get(fixture), "stage.scheduling.duration_ms") / 1000.0; }
static double load_s(const char *fixture) { return metric(get(fixture), "stage.loading.duration_ms") / 1000.0; }

static void scheduling_scales_with_files_and_batching(void **state)
{
    (void)state;
    double one = sched_s("statement-etl-schedule-1file"), two = sched_s("statement-etl-schedule-2files"),
           four = sched_s("statement-etl-schedule-4files"),
           batch = sched_s("statement-etl-schedule-1file-batch");
    near(one, 153, 0.02, "1 file, SendMessage (seed: 153 s)");
    near(two, 77, 0.03, "2 files (seed: 77 s)");
    near(four, 39, 0.03, "4 files (seed: 39 s)");
    assert_true(batch < one / 2.5);
    for (size_t i = 0; i < 4; i++) {
        assert_true(tp_scenario_probe_value(&rows[i].s, "queued", 0) == RECORDS);
        assert_int_equal(rows[i].s.throttles, 0);
        assert_true(metric(&rows[i].s, "wcu.consumed") == 0);   /* scheduling writes no table */
    }
}

static void twenty_wcu_throttles_and_times_out(void **state)
{
    (void)state;
    const tp_scenario_summary *s = get("statement-etl-20wcu-1loader");
    assert_true(s->throttles > 100);
    assert_true(metric(s, "stage.loading.timeouts") >= 5);
    /* The burst (300 s x 20 = 6,000 units) drains at R - 20 a second with
     * the loader's R = 1000/7.554 puts a second: the first throttle comes
     * after B*R/(R - W) = 7,068 puts, 30% of the records (the seed's loader
     * "timed out having processed about 1/3 of the jobs"). */
    double rate = 1000.0 / 7.554, burst = 300.0 * 20;
    near(metric(s, "wcu.before_throttle"), burst * rate / (rate - 20), 0.02,
         "20 WCU: puts before the first throttle");
    near(metric(s, "first_throttle_ms") - metric(s, "stage.loading.start_ms"),
         burst / (rate - 20) * 1000, 0.03, "20 WCU: first throttle after the loading starts");
    /* then 20 a second: never done within the run */
    double loaded = tp_scenario_probe_value(s, "loaded", 0);
    assert_true(loaded > RECORDS * 0.3 && loaded < RECORDS * 0.5);
    /* CloudWatch's view: the burst minute's average near the seed's 70 */
    near(metric(s, "wcu.cloudwatch_peak"), 70, 0.25, "20 WCU CloudWatch peak (seed: 70)");
}

static void capacity_is_not_the_limit_at_80_and_160(void **state)
{
    (void)state;
    const char *unthrottled[] = {"statement-etl-80wcu-1loader", "statement-etl-160wcu-1loader",
                                 "statement-etl-160wcu-2loaders", "statement-etl-160wcu-4loaders"};
    for (size_t i = 0; i < 4; i++) {
        const tp_scenario_summary *s = get(unthrottled[i]);
        assert_int_equal(s->throttles, 0);
        assert_true(metric(s, "stage.loading.timeouts") == 0);
        assert_true(tp_scenario_probe_value(s, "loaded", 0) == RECORDS);
        assert_true(metric(s, "wcu.consumed") == RECORDS);   /* 1 WCU a record, each once */
    }
    double l80 = load_s("statement-etl-80wcu-1loader"), l160 = load_s("statement-etl-160wcu-1loader"),
           l2 = load_s("statement-etl-160wcu-2loaders"), l4 = load_s("statement-etl-160wcu-4loaders");
    near(l80, 176, 0.03, "80 WCU, 1 loader (seed: 176 s)");
    near(l160, l80, 0.01, "160 WCU, 1 loader = 80 WCU, 1 loader (seed: 168 s)");
    near(l2, l160 / 2, 0.03, "160 WCU, 2 loaders (seed: 86 s)");
    near(l4, l160 / 4, 0.05, "160 WCU, 4 loaders (seed: 44 s)");
    /* per-second peaks follow the loaders: ~132, ~265, ~530 */
    double p1 = metric(get("statement-etl-160wcu-1loader"), "wcu.peak"),
           p2 = metric(get("statement-etl-160wcu-2loaders"), "wcu.peak"),
           p4 = metric(get("statement-etl-160wcu-4loaders"), "wcu.peak");
    near(p1, 1000.0 / 7.554, 0.05, "1 loader's peak WCU/s");
    near(p2, 2 * p1, 0.05, "2 loaders' peak WCU/s");
    near(p4, 4 * p1, 0.05, "4 loaders' peak WCU/s");
}

static void more_loaders_help_only_while_capacity_allows(void **state)
{
    (void)state;
    double one = tp_scenario_probe_value(get("statement-etl-20wcu-1loader"), "loaded", 0);
    double four = tp_scenario_probe_value(get("statement-etl-20wcu-4loaders"), "loaded", 0);
    /* at 20 WCU four loaders load no more than one does: the bucket binds
     * (and the extra timeouts redo work) */
    if (four > one * 1.15)
        fail_msg("20 WCU: 4 loaders loaded %.0f, 1 loader %.0f", four, one);
    assert_true(get("statement-etl-20wcu-4loaders")->throttles > get("statement-etl-20wcu-1loader")->throttles);
    /* at 160 WCU they load 4x as fast */
    assert_true(load_s("statement-etl-160wcu-4loaders") * 3.5 < load_s("statement-etl-160wcu-1loader"));
}

static void the_table_and_replay(void **state)
{
    (void)state;
    const tp_scenario_summary *all[NROWS];
    for (size_t i = 0; i < NROWS; i++)
        all[i] = get(rows[i].fixture);
    printf("[statement-etl] seed 002: scheduling 153/77/39 s; loading 20 WCU timed out, 176, 168, "
           "86, 44 s; CloudWatch peaks 70, 135, 140, 265, 328\n");
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    assert_non_null(m);
    tp_scenario_print_table(m, all, NROWS);
    fclose(m);
    fputs(text, stdout);
    assert_non_null(strstr(text, "configuration"));
    assert_non_null(strstr(text, "peak WCU/s"));
    for (size_t i = 0; i < NROWS; i++)
        assert_non_null(strstr(text, all[i]->row));
    free(text);
    /* `tidepool run A.json B.json --quiet`: both run, the table ends it */
    char a[1024], b[1024];
    fixture_path("statement-etl-schedule-1file-batch", a, sizeof a);
    fixture_path("statement-etl-schedule-4files", b, sizeof b);
    char *argv[] = {a, b, "--quiet", NULL};
    assert_int_equal(tp_scenario_main(3, argv), 0);
    /* the same fixture, the same trace, byte for byte */
    tp_scenario_summary again;
    run_fixture_named("statement-etl-schedule-2files", &again, NULL);
    assert_true(again.trace_hash == get("statement-etl-schedule-2files")->trace_hash);
    assert_true(again.trace_events == get("statement-etl-schedule-2files")->trace_events);
    tp_scenario_summary_free(&again);
    for (size_t i = 0; i < NROWS; i++)
        tp_scenario_summary_free(&rows[i].s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scheduling_scales_with_files_and_batching),
        cmocka_unit_test(twenty_wcu_throttles_and_times_out),
        cmocka_unit_test(capacity_is_not_the_limit_at_80_and_160),
        cmocka_unit_test(more_loaders_help_only_while_capacity_allows),
        cmocka_unit_test(the_table_and_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
