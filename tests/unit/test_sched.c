/* Unit tests: core/sched — order by (time, insertion), cancel, pop bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/sched.h"

static void noop(struct tp_core *c, void *arg, int64_t due) { (void)c, (void)arg, (void)due; }

static void same_time_runs_in_insertion_order(void **state)
{
    tp_sched *s = tp_sched_new();
    int tags[6] = {0, 1, 2, 3, 4, 5};
    int64_t dues[6] = {50, 10, 50, 10, 30, 50};
    for (int i = 0; i < 6; i++)
        assert_true(tp_sched_at(s, dues[i], noop, &tags[i]) > 0);
    int expect[6] = {1, 3, 4, 0, 2, 5};
    tp_event_fn fn;
    void *arg;
    int64_t due;
    for (int i = 0; i < 6; i++) {
        assert_int_equal(tp_sched_pop_due(s, 100, &fn, &arg, &due, NULL), 1);
        assert_int_equal(*(int *)arg, expect[i]);
        assert_int_equal(due, dues[expect[i]]);
    }
    assert_int_equal(tp_sched_pop_due(s, 100, &fn, &arg, &due, NULL), 0);
    tp_sched_free(s);
}

static void pop_respects_until_and_cancel(void **state)
{
    tp_sched *s = tp_sched_new();
    int a = 1, b = 2, c = 3;
    uint64_t ida = tp_sched_at(s, 100, noop, &a);
    tp_sched_at(s, 200, noop, &b);
    tp_sched_at(s, 300, noop, &c);
    assert_int_equal(tp_sched_pending(s), 3);
    assert_int_equal(tp_sched_cancel(s, ida), 0);
    assert_int_equal(tp_sched_cancel(s, ida), -1);
    assert_int_equal(tp_sched_pending(s), 2);
    assert_int_equal(tp_sched_next_due(s), 200);
    tp_event_fn fn;
    void *arg;
    int64_t due;
    assert_int_equal(tp_sched_pop_due(s, 199, &fn, &arg, &due, NULL), 0);
    assert_int_equal(tp_sched_pop_due(s, 200, &fn, &arg, &due, NULL), 1);
    assert_ptr_equal(arg, &b);
    tp_sched_clear(s);
    assert_int_equal(tp_sched_pending(s), 0);
    assert_true(tp_sched_next_due(s) == INT64_MAX);
    tp_sched_free(s);
}

static void many_events_stay_ordered(void **state)
{
    tp_sched *s = tp_sched_new();
    static int vals[2000];
    for (int i = 0; i < 2000; i++) {
        vals[i] = i;
        tp_sched_at(s, (i * 7919) % 1000, noop, &vals[i]);
    }
    int64_t last_due = -1;
    int last_idx = -1;
    tp_event_fn fn;
    void *arg;
    int64_t due;
    int n = 0;
    while (tp_sched_pop_due(s, INT64_MAX, &fn, &arg, &due, NULL)) {
        int idx = *(int *)arg;
        assert_true(due > last_due || (due == last_due && idx > last_idx));
        last_due = due;
        last_idx = idx;
        n++;
    }
    assert_int_equal(n, 2000);
    tp_sched_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_time_runs_in_insertion_order),
        cmocka_unit_test(pop_respects_until_and_cancel),
        cmocka_unit_test(many_events_stay_ordered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
