/* Unit tests: the engine's parked calls (engine.c, tp_req.park_*).
 *
 * A test-only service registered beside the real ones: "Test.Wait" takes
 * an item when one is there, else parks on key "k" for Wait ms; "Test.Arm"
 * schedules an event that adds an item and wakes "k" After ms later.
 * Through tp_engine_call (which waits, moving the virtual clock) and through
 * the HTTP host (which answers through a done callback; cancel forgets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/json.h"
#include "engine_internal.h"

static int items;   /* what Test.Wait takes; engine lock held whenever touched */
static int runs;    /* Test.Wait runs, first and re-runs */
static size_t base_events;   /* the real services' own timers */

static int test_wait(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    (void)err;
    runs++;
    int64_t wait = tp_json_int(in, "Wait", 0);
    if (items > 0 || wait <= 0 || r->park_final) {
        int got = items > 0;
        items -= got;
        *out = cJSON_CreateObject();
        tp_json_add_int(*out, "Got", got);
        tp_json_add_int(*out, "At", r->now_ms);
        tp_json_add_int(*out, "Final", r->park_final);
        return 0;
    }
    r->park_until_ms = r->now_ms + wait;
    snprintf(r->park_key, sizeof r->park_key, "k");
    *out = NULL;
    return 0;
}

static void arrive(tp_core *core, void *arg, int64_t due_ms)
{
    (void)arg;
    (void)due_ms;
    items++;
    tp_core_wake(core, "k");
}

static int test_arm(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    (void)err;
    tp_sched_at(r->core->sched, r->now_ms + tp_json_int(in, "After", 0), arrive, NULL);
    *out = cJSON_CreateObject();
    return 0;
}

static const tp_action test_actions[] = {
    {.target = "Test.Wait", .service = "test", .name = "Wait", .run = test_wait,
     .flags = TP_ACT_WRITE},
    {.target = "Test.Arm", .service = "test", .name = "Arm", .run = test_arm, .flags = TP_ACT_WRITE},
};
static const tp_service test_service = {.name = "test", .actions = test_actions, .nactions = 2};

static tp_engine *engine(void)
{
    tp_error err;
    tp_engine_options o = {.clock_start_ms = 1000000};
    tp_engine *e = tp_engine_new(&o, &err);
    assert_non_null(e);
    assert_int_equal(tp_dispatch_add_service(tp_engine_core(e)->dispatch, &test_service), 0);
    items = runs = 0;
    base_events = tp_sched_pending(tp_engine_core(e)->sched);
    return e;
}

static cJSON *call(tp_engine *e, const char *target, const char *body)
{
    char *out = NULL;
    tp_error err;
    assert_int_equal(tp_engine_call(e, NULL, NULL, target, body, &out, &err), 0);
    cJSON *o = tp_json_parse(out, strlen(out));
    free(out);
    assert_non_null(o);
    return o;
}

/* tp_engine_call waits for a parked call, moving virtual time: to the
 * deadline when nothing comes. */
static void test_engine_call_waits_to_the_deadline(void **state)
{
    (void)state;
    tp_engine *e = engine();
    cJSON *o = call(e, "Test.Wait", "{\"Wait\":20000}");
    assert_int_equal(tp_json_int(o, "Got", -1), 0);
    assert_int_equal(tp_json_int(o, "At", -1), 1020000);
    assert_int_equal(tp_json_int(o, "Final", -1), 1);
    assert_int_equal(tp_engine_now_ms(e), 1020000);
    assert_int_equal(runs, 2);   /* the first run and the final one */
    cJSON_Delete(o);
    tp_engine_free(e);
}

/* ... or to the event that wakes it, which re-runs it at once. */
static void test_engine_call_wakes_at_an_arrival(void **state)
{
    (void)state;
    tp_engine *e = engine();
    cJSON_Delete(call(e, "Test.Arm", "{\"After\":5000}"));
    cJSON *o = call(e, "Test.Wait", "{\"Wait\":20000}");
    assert_int_equal(tp_json_int(o, "Got", -1), 1);
    assert_int_equal(tp_json_int(o, "At", -1), 1005000);
    assert_int_equal(tp_json_int(o, "Final", -1), 0);
    assert_int_equal(tp_engine_now_ms(e), 1005000);
    cJSON_Delete(o);
    /* its deadline timer went with it: nothing is left to run */
    assert_int_equal(tp_sched_pending(tp_engine_core(e)->sched), base_events);
    tp_engine_free(e);
}

static void test_nothing_parks_when_the_answer_is_there(void **state)
{
    (void)state;
    tp_engine *e = engine();
    items = 1;
    cJSON *o = call(e, "Test.Wait", "{\"Wait\":20000}");
    assert_int_equal(tp_json_int(o, "Got", -1), 1);
    assert_int_equal(tp_engine_now_ms(e), 1000000);
    assert_int_equal(runs, 1);
    cJSON_Delete(o);
    tp_engine_free(e);
}

/* --- through the HTTP host ------------------------------------------------- */

typedef struct answer {
    int calls, rc;
    cJSON *out;
} answer;

static void on_done(void *arg, int rc, cJSON *out, const tp_error *err)
{
    (void)err;
    answer *a = arg;
    a->calls++;
    a->rc = rc;
    cJSON_Delete(a->out);
    a->out = out;
}

static int http_call(tp_http_host *h, const char *op, const char *body, answer *a, uint64_t *id,
                     cJSON **out)
{
    tp_scope scope = {.access_key = "AKIDTEST", .region = "us-east-1"};
    tp_http_call c = {.scope = &scope, .service = "test", .operation = op,
                      .endpoint = "http://localhost:1", .done = on_done, .done_arg = a};
    cJSON *in = tp_json_parse(body, strlen(body));
    tp_error err;
    char rid[64];
    *out = NULL;
    int rc = h->call(h->ctx, &c, in, out, &err, rid, sizeof rid);
    cJSON_Delete(in);
    *id = c.parked_id;
    return rc;
}

static void test_http_parks_and_answers_through_done(void **state)
{
    (void)state;
    tp_engine *e = engine();
    tp_http_host h;
    tp_engine_http_host(e, &h);
    answer a = {0}, b = {0};
    uint64_t ida, idb;
    cJSON *out;
    /* two parked calls on one key */
    assert_int_equal(http_call(&h, "Wait", "{\"Wait\":20000}", &a, &ida, &out), TP_HTTP_PARKED);
    assert_int_equal(http_call(&h, "Wait", "{\"Wait\":10000}", &b, &idb, &out), TP_HTTP_PARKED);
    assert_true(ida != 0 && idb != 0 && ida != idb);
    assert_int_equal(a.calls + b.calls, 0);
    /* one arrival answers the first parked, in park order; the second
     * re-runs, finds nothing and stays parked */
    answer x = {0};
    uint64_t idx;
    assert_int_equal(http_call(&h, "Arm", "{\"After\":0}", &x, &idx, &out), 0);
    cJSON_Delete(out);
    tp_engine_advance(e, 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(tp_json_int(a.out, "Got", -1), 1);
    assert_int_equal(b.calls, 0);
    /* the second answers empty at its own deadline, not before */
    tp_engine_advance(e, 9999);
    assert_int_equal(b.calls, 0);
    tp_engine_advance(e, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.rc, 0);
    assert_int_equal(tp_json_int(b.out, "Got", -1), 0);
    assert_int_equal(tp_json_int(b.out, "At", -1), 1010000);
    /* answered calls are gone: cancel finds nothing */
    assert_int_equal(h.cancel(h.ctx, ida), 0);
    assert_int_equal(h.cancel(h.ctx, idb), 0);
    cJSON_Delete(a.out);
    cJSON_Delete(b.out);
    tp_engine_free(e);
}

static void test_http_cancel_forgets_a_parked_call(void **state)
{
    (void)state;
    tp_engine *e = engine();
    tp_http_host h;
    tp_engine_http_host(e, &h);
    answer a = {0};
    uint64_t id;
    cJSON *out;
    assert_int_equal(http_call(&h, "Wait", "{\"Wait\":20000}", &a, &id, &out), TP_HTTP_PARKED);
    assert_int_equal(h.cancel(h.ctx, id), 1);
    assert_int_equal(h.cancel(h.ctx, id), 0);
    /* its timer went too */
    assert_int_equal(tp_sched_pending(tp_engine_core(e)->sched), base_events);
    items = 1;
    tp_core_wake(tp_engine_core(e), "k");
    tp_engine_advance(e, 30000);
    assert_int_equal(a.calls, 0);
    assert_int_equal(items, 1);   /* nobody took it */
    tp_engine_free(e);
}

/* A reset answers what is parked (the final run) instead of forgetting it. */
static void test_reset_answers_parked_calls(void **state)
{
    (void)state;
    tp_engine *e = engine();
    tp_http_host h;
    tp_engine_http_host(e, &h);
    answer a = {0};
    uint64_t id;
    cJSON *out;
    assert_int_equal(http_call(&h, "Wait", "{\"Wait\":20000}", &a, &id, &out), TP_HTTP_PARKED);
    assert_int_equal(tp_engine_reset(e), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(tp_json_int(a.out, "Final", -1), 1);
    cJSON_Delete(a.out);
    tp_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_call_waits_to_the_deadline),
        cmocka_unit_test(test_engine_call_wakes_at_an_arrival),
        cmocka_unit_test(test_nothing_parks_when_the_answer_is_there),
        cmocka_unit_test(test_http_parks_and_answers_through_done),
        cmocka_unit_test(test_http_cancel_forgets_a_parked_call),
        cmocka_unit_test(test_reset_answers_parked_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
