/* Unit tests: core/dispatch — registration and lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "core/dispatch.h"

static int run_a(tp_req *r, cJSON *in, cJSON **out, tp_error *err) { return 1; }
static int run_b(tp_req *r, cJSON *in, cJSON **out, tp_error *err) { return 2; }

static const tp_action svc1_actions[] = {
    {.target = "Svc_1.A", .service = "svc1", .name = "A", .run = run_a},
    {.target = "Svc_1.B", .service = "svc1", .name = "B", .run = run_b, .flags = TP_ACT_WRITE},
};
static const tp_service svc1 = {.name = "svc1", .actions = svc1_actions, .nactions = 2};
static const tp_action dup_actions[] = {
    {.target = "Svc_1.A", .service = "svc2", .name = "A", .run = run_b},
};
static const tp_service dup = {.name = "svc2", .actions = dup_actions, .nactions = 1};

static void finds_by_target_and_name(void **state)
{
    tp_dispatch *d = tp_dispatch_new();
    assert_int_equal(tp_dispatch_add_service(d, &svc1), 0);
    const tp_action *a = tp_dispatch_find(d, "Svc_1.B");
    assert_non_null(a);
    assert_int_equal(a->run(NULL, NULL, NULL, NULL), 2);
    assert_null(tp_dispatch_find(d, "Svc_1.C"));
    assert_null(tp_dispatch_find(d, "Svc_1."));
    assert_null(tp_dispatch_find(d, NULL));
    assert_ptr_equal(tp_dispatch_find_op(d, "svc1", "A"), tp_dispatch_find(d, "Svc_1.A"));
    assert_null(tp_dispatch_find_op(d, "svc2", "A"));
    assert_int_equal(tp_dispatch_service_count(d), 1);
    tp_dispatch_free(d);
}

static void duplicate_target_is_refused(void **state)
{
    tp_dispatch *d = tp_dispatch_new();
    assert_int_equal(tp_dispatch_add_service(d, &svc1), 0);
    assert_int_equal(tp_dispatch_add_service(d, &dup), -1);
    tp_dispatch_free(d);
}

static void grows_past_initial_slots(void **state)
{
    static tp_action many[600];
    static char targets[600][32], names[600][16];
    for (int i = 0; i < 600; i++) {
        snprintf(targets[i], sizeof targets[i], "Big_1.Op%d", i);
        snprintf(names[i], sizeof names[i], "Op%d", i);
        many[i] = (tp_action){.target = targets[i], .service = "big", .name = names[i], .run = run_a};
    }
    tp_service big = {.name = "big", .actions = many, .nactions = 600};
    tp_dispatch *d = tp_dispatch_new();
    assert_int_equal(tp_dispatch_add_service(d, &big), 0);
    for (int i = 0; i < 600; i++)
        assert_ptr_equal(tp_dispatch_find(d, targets[i]), &many[i]);
    tp_dispatch_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_by_target_and_name),
        cmocka_unit_test(duplicate_target_is_refused),
        cmocka_unit_test(grows_past_initial_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
