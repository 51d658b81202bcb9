/* engine — assembly: opens the store, picks the clock, registers every
 * service's action table with core/dispatch, and runs calls and timers under
 * the one engine lock. The only file that knows all services.
 *
 * A call: model validation (outside the lock) -> lock -> clock reading ->
 * BEGIN -> action -> COMMIT, or ROLLBACK on error -> unlock. Timer events
 * run the same way, one transaction each, with the clock set to their due
 * time in virtual mode.
 *
 * Long polls (tp_req.park_*): an action with nothing to answer yet parks.
 *
 *     first run --nothing yet--> PARKED --tp_core_wake(key)--> READY
 *        |                         |  ^                          |
 *        answers                   |  +--- re-run finds nothing --+
 *        v                         | deadline timer              | re-run answers
 *     answered                     v                             v
 *                                READY+final --re-run must answer--> answered
 *
 * park_call makes an entry (a copy of the request, its deadline a
 * core/sched timer); engine_wake marks entries READY; run_ready re-runs
 * READY entries after each commit (calls, timer events, control), each in a
 * fresh transaction with a fresh now_ms, and hands the answer to whoever
 * waits: an HTTP connection (tp_http_call.done), or tp_engine_call's
 * thread. Handlers and pollers never park: their first run is the final
 * one. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capacity/faults.h"
#include "capacity/throughput.h"
#include "control/control.h"
#include "control/observe.h"
#include "core/dispatch.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/shape.h"
#include "core/trace.h"
#include "engine_internal.h"
#include "lambda/lambda.h"
#include "lambda/process.h"
#include "lambda/shapes.gen.h"

extern const tp_service ddb_service;
extern const tp_service streams_service;
extern const tp_service lambda_service;
extern const tp_service sqs_service;
extern const tp_service kin_service;

static const tp_service *const services[] = {&ddb_service, &streams_service, &lambda_service,
                                             &sqs_service, &kin_service};

typedef struct parked parked;

struct tp_engine {
    tp_core core;   /* first: a timer event's core is its engine */
    cJSON *config;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t timer_thread;
    int timer_running, stopping;
    pthread_mutex_t rid_lock;
    tp_rng rid_rng;        /* request ids for answers made outside the engine */
    tp_control_ops control;
    tp_core_host host;
    /* Virtual clock: one advance at a time. An advance releases the lock
     * while a handler holds the baton, so a second one (another client's
     * POST /_tidepool/clock, a synchronous Invoke) waits here. */
    int advancing;
    pthread_cond_t adv_cv;
    /* Parked long polls, in park order, and the READY queue. */
    parked *parked_head, *parked_tail;
    parked *ready_head, *ready_tail;
    size_t nparked;
    uint64_t park_seq;
    int in_run_ready;
    uint64_t ready_pass;
    /* keys whose re-run found nothing during the run_ready pass in progress */
    char idle_keys[16][256];
    size_t nidle;
};

/* How a call may wait for a long poll's answer. */
enum { PARK_NEVER, PARK_ASYNC, PARK_WAIT };

typedef struct park_opts {
    int mode;
    void (*done)(void *arg, int rc, cJSON *out, const tp_error *err);  /* PARK_ASYNC */
    void *done_arg;
    uint64_t id;      /* out: the parked call's id */
} park_opts;

struct parked {
    uint64_t id;
    parked *prev, *next;   /* e->parked_* */
    parked *rnext;         /* e->ready_* */
    int ready, final, lose;
    uint64_t pass;         /* the run_ready pass that last re-ran it */
    int pass_runs;         /* how often in that pass */
    char key[256];
    const tp_action *act;
    cJSON *in;
    char account[13], region[64], request_id[64], endpoint[300];
    int64_t deadline_ms;
    uint64_t timer;
    void (*done)(void *arg, int rc, cJSON *out, const tp_error *err);
    void *done_arg;
    /* PARK_WAIT: the answer, kept for the waiting thread */
    int answered, rc;
    cJSON *out;
    tp_error err;
};

static void run_ready(tp_engine *e);
static void park_finish_all(tp_engine *e);
static void park_free_all(tp_engine *e);
static void engine_wake(void *ctx, const char *key);

void tp_account_for_key(const char *access_key, char out[13])
{
    size_t n = access_key ? strlen(access_key) : 0;
    int digits = n == 12;
    for (size_t i = 0; digits && i < n; i++)
        digits = access_key[i] >= '0' && access_key[i] <= '9';
    if (digits) {
        memcpy(out, access_key, 13);
        return;
    }
    unsigned char h[32];
    tp_sha256(access_key ? access_key : "", n, h);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | h[i];
    snprintf(out, 13, "%012llu", (unsigned long long)(v % 1000000000000ull));
}

static void make_request_id(tp_rng *rng, const char *service, char *out, size_t cap)
{
    if (service && strncmp(service, "dynamodb", 8) == 0 && cap > 52) {
        tp_rng_string(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", out, 52);
        return;
    }
    char uuid[37];
    tp_rng_uuid(rng, uuid);
    snprintf(out, cap, "%s", uuid);
}

/* --- the virtual clock across restarts ---------------------------------- */

/* With a data dir, every commit also records the virtual clock, so a
 * restart resumes no earlier than the time of anything it finds stored
 * (stream records, messages, checkpoints are stamped with it; a clock that
 * went back would hide them). */
static const char clock_meta_key[] = "virtual_now_ms";

static int save_virtual_clock(tp_store *st, void *arg)
{
    const tp_clock *clock = arg;
    return tp_store_meta_put(st, clock_meta_key, tp_clock_now_ms(clock));
}

static int resume_virtual_clock(tp_engine *e, const tp_engine_options *opts)
{
    if (!opts->data_dir || !*opts->data_dir ||
        tp_clock_mode_get(e->core.clock) != TP_CLOCK_VIRTUAL)
        return 0;
    int64_t saved = 0;
    int rc = tp_store_meta_get(e->core.store, clock_meta_key, &saved);
    if (rc < 0)
        return -1;
    if (rc == 0 && saved > tp_clock_now_ms(e->core.clock))
        tp_clock_set_ms(e->core.clock, saved);
    tp_store_set_commit_hook(e->core.store, save_virtual_clock, e->core.clock);
    return 0;
}

/* --- timers ------------------------------------------------------------- */

/* Runs every event due at or before `until`; the engine lock is held. */
static int64_t run_due(tp_engine *e, int64_t until)
{
    int64_t ran = 0;
    tp_event_fn fn;
    void *arg;
    int64_t due;
    while (tp_sched_pop_due(e->core.sched, until, &fn, &arg, &due, NULL)) {
        if (tp_clock_mode_get(e->core.clock) == TP_CLOCK_VIRTUAL)
            tp_clock_set_ms(e->core.clock, due);
        if (tp_store_begin(e->core.store) != 0)
            continue;
        fn(&e->core, arg, due);
        if (tp_store_commit(e->core.store) != 0)
            tp_log_msg(TP_LOG_ERROR, "timer event at %lld did not commit", (long long)due);
        ran++;
        run_ready(e);   /* long polls the event woke or timed out */
        /* a handler the event woke runs now, while the scheduler waits */
        if (e->core.after_event)
            e->core.after_event(&e->core);
    }
    return ran;
}

static void *timer_main(void *p)
{
    tp_engine *e = p;
    pthread_mutex_lock(&e->lock);
    while (!e->stopping) {
        run_due(e, tp_clock_now_ms(e->core.clock));
        int64_t next = tp_sched_next_due(e->core.sched);
        int64_t now = tp_clock_now_ms(e->core.clock);
        int64_t wait_ms = next == INT64_MAX ? 1000 : next - now;
        if (wait_ms > 1000)
            wait_ms = 1000;
        if (wait_ms <= 0)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (wait_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&e->wake, &e->lock, &ts);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

int tp_engine_start_timers(tp_engine *e)
{
    if (tp_clock_mode_get(e->core.clock) != TP_CLOCK_REAL || e->timer_running)
        return 0;
    if (pthread_create(&e->timer_thread, NULL, timer_main, e) != 0)
        return -1;
    e->timer_running = 1;
    return 0;
}

/* --- services ----------------------------------------------------------- */

static int start_services(tp_engine *e)
{
    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
        if (services[i]->start && services[i]->start(&e->core) != 0)
            return -1;
    return 0;
}

static void advance_begin(tp_engine *e)
{
    while (e->advancing)
        pthread_cond_wait(&e->adv_cv, &e->lock);
    e->advancing = 1;
}

static void advance_end(tp_engine *e)
{
    e->advancing = 0;
    pthread_cond_broadcast(&e->adv_cv);
}

static int engine_reset(void *ctx)
{
    tp_engine *e = ctx;
    pthread_mutex_lock(&e->lock);
    advance_begin(e);
    lambda_abandon_all(&e->core);
    lambda_process_reset(&e->core);
    park_finish_all(e);   /* before their deadline timers go */
    tp_sched_clear(e->core.sched);
    tp_trace_clear(e->core.trace);
    tp_faults_reset(e->core.faults);   /* API rules go, config rules re-arm */
    tp_capacity_reset(&e->core);       /* buckets refill, overrides go */
    int rc = tp_store_begin(e->core.store);
    if (rc == 0)
        rc = tp_store_wipe(e->core.store);
    if (rc == 0)
        rc = start_services(e);
    if (rc == 0)
        rc = tp_store_commit(e->core.store);
    else
        tp_store_rollback(e->core.store);
    run_ready(e);   /* parked calls answer against the wiped store */
    advance_end(e);
    pthread_mutex_unlock(&e->lock);
    return rc;
}

static int64_t engine_advance(void *ctx, int64_t ms)
{
    tp_engine *e = ctx;
    if (tp_clock_mode_get(e->core.clock) != TP_CLOCK_VIRTUAL || ms < 0)
        return -1;
    pthread_mutex_lock(&e->lock);
    advance_begin(e);
    int64_t until = tp_clock_now_ms(e->core.clock) + ms;
    e->core.baton_until_ms = until;
    int64_t ran = run_due(e, until);
    tp_clock_set_ms(e->core.clock, until);
    advance_end(e);
    pthread_mutex_unlock(&e->lock);
    return ran;
}

static int engine_locked(void *ctx, int (*fn)(tp_core *core, void *arg), void *arg)
{
    tp_engine *e = ctx;
    pthread_mutex_lock(&e->lock);
    int rc = tp_store_begin(e->core.store);
    if (rc == 0) {
        rc = fn(&e->core, arg);
        if (rc == 0)
            rc = tp_store_commit(e->core.store);
        else
            tp_store_rollback(e->core.store);
    }
    run_ready(e);
    pthread_mutex_unlock(&e->lock);
    return rc;
}

static int64_t engine_run_until_idle(void *ctx, int64_t max_ms)
{
    return tp_engine_run_until_idle(ctx, max_ms);
}

static size_t engine_pending(void *ctx)
{
    tp_engine *e = ctx;
    pthread_mutex_lock(&e->lock);
    size_t n = tp_sched_pending(e->core.sched);
    pthread_mutex_unlock(&e->lock);
    return n;
}

/* --- what lambda/ asks of the engine (tp_core_host) ---------------------- */

static int engine_exec(tp_engine *e, const char *access_key, const char *region,
                       const tp_action *act, cJSON *in, cJSON **out, tp_error *err,
                       char *request_id, size_t rid_cap, int64_t *latency_out,
                       const char *endpoint, park_opts *park);

static int host_call_in_txn(void *ctx, const char *account, const char *region,
                            const char *target, cJSON *in, cJSON **out, tp_error *err)
{
    tp_engine *e = ctx;
    *out = NULL;
    const tp_action *act = tp_dispatch_find(e->core.dispatch, target);
    if (!act)
        return tp_fail(err, TP_ERR_UNKNOWN_OPERATION, NULL);
    if (act->input && tp_shape_check(act->input, in, err) != 0)
        return -1;
    char rid[64];
    make_request_id(&e->core.rng, act->service, rid, sizeof rid);
    tp_req req = {.core = &e->core,
                  .account = account,
                  .region = region && *region ? region : "us-east-1",
                  .request_id = rid,
                  .now_ms = tp_clock_now_ms(e->core.clock),
                  .action = act,
                  .park_final = 1};   /* pollers never park: a long poll answers at once */
    if (tp_store_exec(e->core.store, "SAVEPOINT tp_internal") != 0)
        return tp_fail(err, TP_ERR_INTERNAL, "storage is unavailable");
    int rc = act->run(&req, in, out, err);
    if (rc == 0 && !*out)
        *out = cJSON_CreateObject();
    if (rc != 0)
        tp_store_exec(e->core.store, "ROLLBACK TO tp_internal");
    tp_store_exec(e->core.store, "RELEASE tp_internal");
    cJSON_Delete(req.error_fields);
    if (rc != 0) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

static int host_handler_call(void *ctx, const char *access_key, const char *region,
                             const char *target, cJSON *in, cJSON **out, tp_error *err,
                             int64_t *latency_ms)
{
    tp_engine *e = ctx;
    *out = NULL;
    const tp_action *act = tp_dispatch_find(e->core.dispatch, target ? target : "");
    if (!act)
        return tp_fail(err, TP_ERR_UNKNOWN_OPERATION, NULL);
    char rid[64];
    /* a handler's long poll answers at once (handler.h) */
    park_opts park = {.mode = PARK_NEVER};
    int rc = engine_exec(e, access_key, region, act, in, out, err, rid, sizeof rid, latency_ms,
                         NULL, &park);
    if (rc != 0) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

/* Lock held, no transaction open. */
static int host_run_until(void *ctx, int (*done)(void *arg), void *arg)
{
    tp_engine *e = ctx;
    if (tp_clock_mode_get(e->core.clock) != TP_CLOCK_VIRTUAL) {
        while (!done(arg)) {
            pthread_mutex_unlock(&e->lock);
            struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&e->lock);
        }
        return 0;
    }
    while (e->advancing && !done(arg))
        pthread_cond_wait(&e->adv_cv, &e->lock);
    if (done(arg))
        return 0;
    e->advancing = 1;
    e->core.baton_until_ms = INT64_MAX;
    int rc = 0;
    while (!done(arg)) {
        int64_t next = tp_sched_next_due(e->core.sched);
        if (next == INT64_MAX) {
            rc = -1;
            break;
        }
        int64_t now = tp_clock_now_ms(e->core.clock);
        run_due(e, next > now ? next : now);
    }
    advance_end(e);
    return rc;
}

tp_engine *tp_engine_new(const tp_engine_options *opts, tp_error *err)
{
    tp_engine_options defaults = {0};
    if (!opts)
        opts = &defaults;
    tp_engine *e = calloc(1, sizeof *e);
    if (!e) {
        tp_fail(err, TP_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->wake, NULL);
    pthread_cond_init(&e->adv_cv, NULL);
    e->host = (tp_core_host){.ctx = e,
                             .call_in_txn = host_call_in_txn,
                             .call = host_handler_call,
                             .run_until = host_run_until,
                             .wake = engine_wake};
    e->core.lock = &e->lock;
    e->core.host = &e->host;
    pthread_mutex_init(&e->rid_lock, NULL);
    if (opts->config_json) {
        e->config = tp_json_parse_str(opts->config_json);
        if (!cJSON_IsObject(e->config)) {
            tp_fail(err, TP_ERR_VALIDATION, "the config is not a JSON object");
            tp_engine_free(e);
            return NULL;
        }
    }
    e->core.config = e->config;
    e->core.trace = tp_trace_new(0);
    e->core.faults = tp_faults_new();
    char fwhy[512] = "";
    if (!e->core.trace || !e->core.faults ||
        tp_faults_load_config(e->core.faults, e->config, fwhy, sizeof fwhy) != 0) {
        tp_fail(err, TP_ERR_VALIDATION, "%s", *fwhy ? fwhy : "out of memory");
        tp_engine_free(e);
        return NULL;
    }
    tp_rng_seed(&e->core.rng, opts->seed ? opts->seed : 1);
    tp_rng_seed(&e->rid_rng, (uint64_t)tp_monotonic_ns() ^ (uint64_t)tp_wall_now_ms());
    e->core.clock = tp_clock_new(opts->real_clock ? TP_CLOCK_REAL : TP_CLOCK_VIRTUAL,
                                 opts->clock_start_ms);
    e->core.sched = tp_sched_new();
    e->core.dispatch = tp_dispatch_new();
    char why[512] = "";
    e->core.store = tp_store_open(opts->data_dir, why, sizeof why);
    if (!e->core.clock || !e->core.sched || !e->core.dispatch || !e->core.store) {
        tp_fail(err, TP_ERR_INTERNAL, "%s", *why ? why : "out of memory");
        tp_engine_free(e);
        return NULL;
    }
    if (resume_virtual_clock(e, opts) != 0) {
        tp_fail(err, TP_ERR_INTERNAL, "cannot read the virtual clock from %s",
                tp_store_path(e->core.store));
        tp_engine_free(e);
        return NULL;
    }
    if (opts->sync && tp_store_set_sync(e->core.store, 1) != 0) {
        tp_fail(err, TP_ERR_INTERNAL, "cannot set synchronous=FULL on %s",
                tp_store_path(e->core.store));
        tp_engine_free(e);
        return NULL;
    }
    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++) {
        if (tp_dispatch_add_service(e->core.dispatch, services[i]) != 0 ||
            (services[i]->schema_sql && tp_store_exec(e->core.store, services[i]->schema_sql) != 0)) {
            tp_fail(err, TP_ERR_INTERNAL, "cannot set up service %s", services[i]->name);
            tp_engine_free(e);
            return NULL;
        }
    }
    if (opts->endpoint_url || opts->handlers)
        lambda_process_configure(&e->core, opts->endpoint_url, opts->handlers);
    if (opts->handlers && *opts->handlers) {
        char *list = strdup(opts->handlers), *save = NULL;
        int bad = !list;
        for (char *p = list ? strtok_r(list, ":", &save) : NULL; p && !bad;
             p = strtok_r(NULL, ":", &save)) {
            char lwhy[512] = "";
            if (lambda_handlers_load(&e->core, p, lwhy, sizeof lwhy) != 0) {
                tp_fail(err, TP_ERR_VALIDATION, "%s", lwhy);
                bad = 1;
            }
        }
        free(list);
        if (bad) {
            if (!list)
                tp_fail(err, TP_ERR_INTERNAL, "out of memory");
            tp_engine_free(e);
            return NULL;
        }
    }
    tp_store_begin(e->core.store);
    if (start_services(e) != 0 || tp_store_commit(e->core.store) != 0) {
        tp_store_rollback(e->core.store);
        tp_fail(err, TP_ERR_INTERNAL, "cannot start services");
        tp_engine_free(e);
        return NULL;
    }
    e->control = (tp_control_ops){.ctx = e, .core = &e->core, .reset = engine_reset,
                                  .advance = engine_advance, .pending_events = engine_pending,
                                  .run_until_idle = engine_run_until_idle,
                                  .locked = engine_locked};
    return e;
}

void tp_engine_free(tp_engine *e)
{
    if (!e)
        return;
    lambda_process_shutdown(&e->core);   /* their invocations end first */
    lambda_shutdown(&e->core);
    tp_capacity_free(&e->core);
    if (e->timer_running) {
        pthread_mutex_lock(&e->lock);
        e->stopping = 1;
        pthread_cond_broadcast(&e->wake);
        pthread_mutex_unlock(&e->lock);
        pthread_join(e->timer_thread, NULL);
    }
    park_free_all(e);
    if (e->core.store) {
        tp_store_checkpoint(e->core.store);
        tp_store_close(e->core.store);
    }
    tp_dispatch_free(e->core.dispatch);
    tp_sched_free(e->core.sched);
    tp_clock_free(e->core.clock);
    tp_trace_free(e->core.trace);
    tp_faults_free(e->core.faults);
    lambda_registry_free(&e->core);
    cJSON_Delete(e->config);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->wake);
    pthread_cond_destroy(&e->adv_cv);
    pthread_mutex_destroy(&e->rid_lock);
    free(e);
}

tp_core *tp_engine_core(tp_engine *e) { return &e->core; }

void tp_engine_bound_invocations(tp_engine *e, int64_t keep_first, int64_t keep_last)
{
    pthread_mutex_lock(&e->lock);
    lambda_bound_invocations(&e->core, keep_first, keep_last);
    pthread_mutex_unlock(&e->lock);
}

typedef struct inv_ends {
    int64_t each, total;
    cJSON *first, *last;
} inv_ends;

static int read_inv_ends(tp_core *core, void *arg)
{
    inv_ends *q = arg;
    q->total = lambda_invocations_total(core);
    if (q->total > 2 * q->each) {
        q->first = lambda_invocations_list(core, 0, NULL, q->each);
        q->last = lambda_invocations_list(core, lambda_invocations_tail_since(core, q->each), NULL,
                                          q->each);
    } else {
        q->first = lambda_invocations_list(core, 0, NULL, 0);
    }
    return q->first ? 0 : -1;
}

int tp_engine_invocation_ends(tp_engine *e, int64_t each, int64_t *total, cJSON **first,
                              cJSON **last)
{
    inv_ends q = {.each = each};
    int rc = engine_locked(e, read_inv_ends, &q);
    *total = q.total;
    *first = q.first;
    *last = q.last;
    return rc;
}

/* --- calls -------------------------------------------------------------- */

/* Fault rules (capacity/faults.h), before model validation. Returns 1 when
 * the call ends here with err filled; 0 to go on, with *lose set when the
 * response is to be lost after the action commits. */
static int apply_faults(tp_engine *e, const tp_action *act, const cJSON *in, tp_error *err,
                        int *lose, int64_t *latency_out)
{
    *lose = 0;
    char resource[256];
    tp_faults_resource_of(in, resource, sizeof resource);
    tp_fault_hit hit;
    if (!tp_faults_check(e->core.faults, act->service, act->name, resource,
                         tp_clock_now_ms(e->core.clock), &hit))
        return 0;
    const char *effect = hit.has_error         ? "error"
                         : hit.drop_connection ? "drop_connection"
                         : hit.lose_response   ? "lose_response"
                                               : "latency";
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "rule", hit.rule_id);
    cJSON_AddStringToObject(f, "service", act->service);
    cJSON_AddStringToObject(f, "operation", act->name);
    cJSON_AddStringToObject(f, "resource", resource);
    cJSON_AddStringToObject(f, "effect", effect);
    if (hit.has_error) {
        cJSON_AddStringToObject(f, "code", hit.code);
        tp_json_add_int(f, "status", hit.status);
        cJSON_AddStringToObject(f, "message", hit.message);
    }
    if (hit.latency_ms)
        tp_json_add_int(f, "latency_ms", hit.latency_ms);
    tp_trace_emit(&e->core, "fault", f);
    cJSON_Delete(f);
    tp_trace_count_fault(e->core.trace, hit.rule_id);
    if (hit.latency_ms > 0 && latency_out) {
        *latency_out += hit.latency_ms;   /* a handler's call: its invoker waits */
    } else if (hit.latency_ms > 0) {
        if (tp_clock_mode_get(e->core.clock) == TP_CLOCK_VIRTUAL) {
            engine_advance(e, hit.latency_ms);   /* under the engine lock */
        } else {
            struct timespec ts = {.tv_sec = hit.latency_ms / 1000,
                                  .tv_nsec = (hit.latency_ms % 1000) * 1000000};
            while (nanosleep(&ts, &ts) != 0) {
            }
        }
    }
    if (hit.has_error) {
        tp_fail_raw(err, hit.status, hit.code, "%s", hit.message);
        return 1;
    }
    if (hit.drop_connection) {
        tp_fail_raw(err, 0, "ConnectionDropped", "fault rule %s dropped the connection",
                    hit.rule_id);
        return 1;
    }
    *lose = hit.lose_response;
    return 0;
}

/* One request event and one counter per call. */
static void observe_call(tp_engine *e, const tp_action *act, int rc, const tp_error *err)
{
    int status = rc == 0 ? 200 : err->status;
    tp_trace_count_request(e->core.trace, act->service, act->name, status);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "service", act->service);
    cJSON_AddStringToObject(f, "operation", act->name);
    tp_json_add_int(f, "status", status);
    if (rc != 0)
        cJSON_AddStringToObject(f, "error", err->code);
    int64_t inv = lambda_current_invocation();
    if (inv)
        tp_json_add_int(f, "invocation", inv);
    tp_trace_emit(&e->core, "request", f);
    cJSON_Delete(f);
}

/* --- parked calls (long polls) ------------------------------------------- */

static void ready_push(tp_engine *e, parked *p)
{
    if (p->ready)
        return;
    p->ready = 1;
    p->rnext = NULL;
    if (e->ready_tail)
        e->ready_tail->rnext = p;
    else
        e->ready_head = p;
    e->ready_tail = p;
}

static parked *ready_pop(tp_engine *e)
{
    parked *p = e->ready_head;
    if (!p)
        return NULL;
    e->ready_head = p->rnext;
    if (!e->ready_head)
        e->ready_tail = NULL;
    p->rnext = NULL;
    p->ready = 0;
    return p;
}

static void ready_remove(tp_engine *e, parked *p)
{
    if (!p->ready)
        return;
    parked **pp = &e->ready_head, *prev = NULL;
    while (*pp && *pp != p) {
        prev = *pp;
        pp = &(*pp)->rnext;
    }
    if (*pp) {
        *pp = p->rnext;
        if (e->ready_tail == p)
            e->ready_tail = prev;
    }
    p->ready = 0;
    p->rnext = NULL;
}

/* tidepool_parked_calls: long polls waiting right now (/_tidepool/metrics). */
static void park_gauge(tp_engine *e)
{
    tp_trace_gauge_set(e->core.trace, "tidepool_parked_calls", "", (double)e->nparked);
}

static void park_event(tp_engine *e, const parked *p, const char *type, const char *reason)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "service", p->act->service);
    cJSON_AddStringToObject(f, "operation", p->act->name);
    cJSON_AddStringToObject(f, "key", p->key);
    tp_json_add_int(f, "deadline_ms", p->deadline_ms);
    if (reason)
        cJSON_AddStringToObject(f, "reason", reason);
    tp_trace_emit(&e->core, type, f);
    cJSON_Delete(f);
}

/* Takes p out of the table: its timer, the READY queue, the list. */
static void park_unlink(tp_engine *e, parked *p)
{
    if (p->timer)
        tp_sched_cancel(e->core.sched, p->timer);
    p->timer = 0;
    ready_remove(e, p);
    if (p->prev)
        p->prev->next = p->next;
    else
        e->parked_head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        e->parked_tail = p->prev;
    p->prev = p->next = NULL;
    e->nparked--;
    park_gauge(e);
}

static void park_free(parked *p)
{
    cJSON_Delete(p->in);
    cJSON_Delete(p->out);
    free(p);
}

static void park_deadline(tp_core *core, void *arg, int64_t due_ms)
{
    (void)due_ms;
    tp_engine *e = (tp_engine *)core;   /* core is the engine's first member */
    parked *p = arg;
    p->timer = 0;
    p->final = 1;
    ready_push(e, p);   /* run_due runs it once this event commits */
}

/* tp_core_host.wake: lock held. */
static void engine_wake(void *ctx, const char *key)
{
    tp_engine *e = ctx;
    for (size_t i = 0; i < e->nidle; i++) {
        if (strcmp(e->idle_keys[i], key) == 0) {
            /* something changed for key: its parked calls are worth a run */
            memmove(e->idle_keys[i], e->idle_keys[e->nidle - 1], sizeof e->idle_keys[i]);
            e->nidle--;
            break;
        }
    }
    for (parked *p = e->parked_head; p; p = p->next)
        if (strcmp(p->key, key) == 0)
            ready_push(e, p);
    esm_source_woken(&e->core, key);   /* queue mappings long-poll too */
}

/* A parked call's answer: to its connection, or kept for its waiter. */
static void park_deliver(tp_engine *e, parked *p, int rc, cJSON *out, tp_error *err)
{
    park_unlink(e, p);
    if (rc == 0 && p->lose) {
        cJSON_Delete(out);
        out = NULL;
        rc = tp_fail_raw(err, 0, "ResponseLost", "the action ran; fault injection lost its response");
    }
    observe_call(e, p->act, rc, err);
    if (p->done) {
        p->done(p->done_arg, rc, out, err);
        park_free(p);
        return;
    }
    p->answered = 1;
    p->rc = rc;
    p->out = out;
    p->err = *err;
}

/* Runs p's action again in its own transaction. 1 when it parks again
 * (nothing yet), else 0 with the answer in rc/out/err. */
static int park_rerun(tp_engine *e, parked *p, int *rc, cJSON **out, tp_error *err)
{
    *out = NULL;
    tp_error_clear(err);
    tp_req req = {.core = &e->core,
                  .account = p->account,
                  .region = p->region,
                  .request_id = p->request_id,
                  .now_ms = tp_clock_now_ms(e->core.clock),
                  .endpoint = p->endpoint[0] ? p->endpoint : NULL,
                  .action = p->act,
                  .park_final = p->final,
                  .park_rerun = 1};
    int r = tp_store_begin(e->core.store);
    if (r != 0) {
        r = tp_fail(err, TP_ERR_INTERNAL, "storage is unavailable");
    } else {
        r = p->act->run(&req, p->in, out, err);
        if (r == 0 && tp_store_commit(e->core.store) != 0)
            r = tp_fail(err, TP_ERR_INTERNAL, "storage commit failed");
        if (r != 0)
            tp_store_rollback(e->core.store);
    }
    if (r == 0) {
        cJSON_Delete(req.error_fields);
        if (!*out && req.park_until_ms > 0 && !p->final)
            return 1;   /* the deadline stays the first run's */
        if (!*out)
            *out = cJSON_CreateObject();
    } else {
        cJSON_Delete(*out);
        *out = req.error_fields;
        if (!err->code[0])
            tp_fail(err, TP_ERR_INTERNAL, "internal error");
    }
    *rc = r;
    return 0;
}

/* Lock held, no transaction open: re-runs the READY parked calls. Calls
 * parked on a key whose re-run found nothing in this pass stay parked
 * without a run (they would find the same nothing) until the key is woken
 * again. */
static void run_ready(tp_engine *e)
{
    if (e->in_run_ready || !e->ready_head)
        return;
    e->in_run_ready = 1;
    e->nidle = 0;
    e->ready_pass++;
    parked *p;
    while ((p = ready_pop(e))) {
        int idle = 0;
        for (size_t i = 0; !p->final && i < e->nidle; i++)
            idle |= strcmp(e->idle_keys[i], p->key) == 0;
        /* an action that keeps waking its own key must not spin here */
        if (p->pass != e->ready_pass) {
            p->pass = e->ready_pass;
            p->pass_runs = 0;
        }
        if (idle || (!p->final && ++p->pass_runs > 3))
            continue;
        int rc = 0;
        cJSON *out = NULL;
        tp_error err;
        if (park_rerun(e, p, &rc, &out, &err)) {
            if (e->nidle < sizeof e->idle_keys / sizeof e->idle_keys[0])
                snprintf(e->idle_keys[e->nidle++], sizeof e->idle_keys[0], "%s", p->key);
            continue;
        }
        park_deliver(e, p, rc, out, &err);
    }
    e->nidle = 0;
    e->in_run_ready = 0;
}

/* Reset: every parked call runs its final run (after the reset commits). */
static void park_finish_all(tp_engine *e)
{
    for (parked *p = e->parked_head; p; p = p->next) {
        if (p->timer)
            tp_sched_cancel(e->core.sched, p->timer);
        p->timer = 0;
        p->final = 1;
        ready_push(e, p);
    }
}

static void park_free_all(tp_engine *e)
{
    while (e->parked_head) {
        parked *p = e->parked_head;
        park_unlink(e, p);
        park_free(p);
    }
}

/* After the first run committed with nothing to answer: the entry. */
static parked *park_call(tp_engine *e, const tp_req *req, const tp_action *act, const cJSON *in,
                         int lose, const park_opts *opts)
{
    parked *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->in = cJSON_Duplicate(in, 1);
    if (!p->in) {
        free(p);
        return NULL;
    }
    p->id = ++e->park_seq;
    p->act = act;
    p->lose = lose;
    snprintf(p->key, sizeof p->key, "%s", req->park_key);
    snprintf(p->account, sizeof p->account, "%s", req->account);
    snprintf(p->region, sizeof p->region, "%s", req->region);
    snprintf(p->request_id, sizeof p->request_id, "%s", req->request_id);
    snprintf(p->endpoint, sizeof p->endpoint, "%s", req->endpoint ? req->endpoint : "");
    p->deadline_ms = req->park_until_ms;
    p->done = opts->mode == PARK_ASYNC ? opts->done : NULL;
    p->done_arg = opts->done_arg;
    p->prev = e->parked_tail;
    if (e->parked_tail)
        e->parked_tail->next = p;
    else
        e->parked_head = p;
    e->parked_tail = p;
    e->nparked++;
    park_gauge(e);
    park_event(e, p, "park", NULL);
    if (p->deadline_ms <= req->now_ms) {
        p->final = 1;
        ready_push(e, p);
    } else {
        p->timer = tp_sched_at(e->core.sched, p->deadline_ms, park_deadline, p);
        if (!p->timer) {
            p->final = 1;
            ready_push(e, p);
        }
    }
    return p;
}

static int park_answered(void *arg) { return ((parked *)arg)->answered; }

/* tp_http_host.cancel */
static int host_cancel(void *ctx, uint64_t id)
{
    tp_engine *e = ctx;
    int found = 0;
    pthread_mutex_lock(&e->lock);
    for (parked *p = e->parked_head; p; p = p->next) {
        if (p->id == id) {
            park_event(e, p, "unpark", "the client went away");
            park_unlink(e, p);
            park_free(p);
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&e->lock);
    return found;
}

static int engine_exec_inner(tp_engine *e, const char *access_key, const char *region,
                             const tp_action *act, cJSON *in, cJSON **out, tp_error *err,
                             char *request_id, size_t rid_cap, int64_t *latency_out,
                             const char *endpoint, park_opts *park)
{
    *out = NULL;
    char account[13];
    tp_account_for_key(access_key, account);
    int lose = 0;
    if (apply_faults(e, act, in, err, &lose, latency_out) ||
        (act->input && tp_shape_check(act->input, in, err) != 0)) {
        pthread_mutex_lock(&e->rid_lock);
        make_request_id(&e->rid_rng, act->service, request_id, rid_cap);
        pthread_mutex_unlock(&e->rid_lock);
        return -1;
    }
    pthread_mutex_lock(&e->lock);
    make_request_id(&e->core.rng, act->service, request_id, rid_cap);
    tp_req req = {.core = &e->core,
                  .account = account,
                  .region = region && *region ? region : "us-east-1",
                  .request_id = request_id,
                  .now_ms = tp_clock_now_ms(e->core.clock),
                  .endpoint = endpoint,
                  .action = act,
                  .park_final = park->mode == PARK_NEVER};
    int rc = tp_store_begin(e->core.store);
    if (rc != 0) {
        tp_fail(err, TP_ERR_INTERNAL, "storage is unavailable");
    } else {
        rc = act->run(&req, in, out, err);
        if (rc == 0) {
            cJSON_Delete(req.error_fields);
            req.error_fields = NULL;
        }
        if (rc == 0 && tp_store_commit(e->core.store) != 0)
            rc = tp_fail(err, TP_ERR_INTERNAL, "storage commit failed");
        if (rc != 0)
            tp_store_rollback(e->core.store);
    }
    parked *p = NULL;
    if (rc == 0 && !*out && req.park_until_ms > 0 && park->mode != PARK_NEVER) {
        p = park_call(e, &req, act, in, lose, park);
        if (!p)
            rc = tp_fail(err, TP_ERR_INTERNAL, "out of memory");
        else
            park->id = p->id;   /* p may be answered and freed by run_ready below */
    } else if (rc == 0 && !*out && req.park_until_ms > 0) {
        *out = cJSON_CreateObject();   /* parked although final: an empty answer */
    }
    run_ready(e);   /* calls this one woke, or p itself when already due */
    if (rc == 0 && req.deferred) {
        /* Invoke RequestResponse: the answer comes when the handler ends */
        cJSON_Delete(*out);
        *out = NULL;
        rc = req.deferred(&req, req.deferred_arg, out, err);
    }
    if (e->timer_running)
        pthread_cond_signal(&e->wake);   /* the action may have scheduled something */
    if (p && park->mode == PARK_ASYNC) {
        pthread_mutex_unlock(&e->lock);
        return TP_HTTP_PARKED;
    }
    if (p) {
        /* PARK_WAIT: move time (virtual) or wait for the timer thread (real)
         * until a wake or the deadline answers it */
        while (!p->answered && host_run_until(e, park_answered, p) != 0) {
            p->final = 1;
            ready_push(e, p);
            run_ready(e);
        }
        rc = p->rc;
        *out = p->out;
        p->out = NULL;
        if (rc != 0)
            *err = p->err;
        park_free(p);
        pthread_mutex_unlock(&e->lock);
        return rc;
    }
    pthread_mutex_unlock(&e->lock);
    if (rc != 0) {
        /* on failure *out carries the error's extra members, if any */
        cJSON_Delete(*out);
        *out = req.error_fields;
        req.error_fields = NULL;
        if (!err->code[0])
            tp_fail(err, TP_ERR_INTERNAL, "internal error");
    }
    if (rc == 0 && lose) {
        /* committed; the client never hears of it */
        cJSON_Delete(*out);
        *out = NULL;
        rc = tp_fail_raw(err, 0, "ResponseLost", "the action ran; fault injection lost its response");
    }
    return rc;
}

static int engine_exec(tp_engine *e, const char *access_key, const char *region,
                       const tp_action *act, cJSON *in, cJSON **out, tp_error *err,
                       char *request_id, size_t rid_cap, int64_t *latency_out,
                       const char *endpoint, park_opts *park)
{
    int rc = engine_exec_inner(e, access_key, region, act, in, out, err, request_id, rid_cap,
                               latency_out, endpoint, park);
    if (!park->id)
        observe_call(e, act, rc, err);   /* a parked call is observed when it answers */
    return rc;
}

static int host_call(void *ctx, tp_http_call *call, cJSON *in, cJSON **out, tp_error *err,
                     char *request_id, size_t rid_cap)
{
    tp_engine *e = ctx;
    const tp_action *act = tp_dispatch_find_op(e->core.dispatch, call->service, call->operation);
    if (!act) {
        pthread_mutex_lock(&e->rid_lock);
        make_request_id(&e->rid_rng, call->service, request_id, rid_cap);
        pthread_mutex_unlock(&e->rid_lock);
        return tp_fail(err, TP_ERR_UNKNOWN_OPERATION, NULL);
    }
    int prc;
    if (call->security_token &&
        lambda_process_call(&e->core, call->security_token, act->target, in, out, err, &prc)) {
        /* a process handler's call: it ran as its invocation (tp_call) */
        pthread_mutex_lock(&e->rid_lock);
        make_request_id(&e->rid_rng, call->service, request_id, rid_cap);
        pthread_mutex_unlock(&e->rid_lock);
        return prc;
    }
    park_opts park = {.mode = call->done ? PARK_ASYNC : PARK_NEVER, .done = call->done,
                      .done_arg = call->done_arg};
    int rc = engine_exec(e, call->scope->access_key, call->scope->region, act, in, out, err,
                         request_id, rid_cap, NULL, call->endpoint, &park);
    call->parked_id = park.id;
    return rc;
}

static int host_has_operation(void *ctx, const char *service, const char *operation)
{
    tp_engine *e = ctx;
    return tp_dispatch_find_op(e->core.dispatch, service, operation) != NULL;
}

static int host_control(void *ctx, const char *method, const char *path, const char *body,
                        size_t len, tp_buf *out, const char **content_type)
{
    tp_engine *e = ctx;
    *content_type = tp_observe_content_type(method, path);
    return tp_control_handle(&e->control, method, path, body, len, out);
}

static void host_request_id(void *ctx, char *out, size_t cap)
{
    tp_engine *e = ctx;
    pthread_mutex_lock(&e->rid_lock);
    make_request_id(&e->rid_rng, "dynamodb", out, cap);
    pthread_mutex_unlock(&e->rid_lock);
}

/* serve --verify-signatures: the config's "auth": {"verify_signatures":
 * true, "keys": {"<access key>": "<secret>"}}. */
static int host_credentials(void *ctx, const char *access_key, char *secret, size_t cap,
                            int64_t *now_ms)
{
    tp_engine *e = ctx;
    const cJSON *auth = e->core.config ? cJSON_GetObjectItemCaseSensitive(e->core.config, "auth")
                                       : NULL;
    if (!tp_json_bool(auth, "verify_signatures", 0))
        return -1;
    *now_ms = tp_clock_now_ms(e->core.clock);
    const char *s = tp_json_str(cJSON_GetObjectItemCaseSensitive(auth, "keys"), access_key);
    if (!s)
        return 1;
    snprintf(secret, cap, "%s", s);
    return 0;
}

void tp_engine_http_host(tp_engine *e, tp_http_host *out)
{
    *out = (tp_http_host){.ctx = e,
                          .call = host_call,
                          .cancel = host_cancel,
                          .control = host_control,
                          .has_operation = host_has_operation,
                          .request_id = host_request_id,
                          .lambda_rest = &tp_lambda_rest,
                          .credentials = host_credentials};
}

int tp_engine_call(tp_engine *e, const char *access_key, const char *region, const char *target,
                   const char *request_json, char **response_json, tp_error *err)
{
    *response_json = NULL;
    const tp_action *act = tp_dispatch_find(e->core.dispatch, target);
    if (!act)
        return tp_fail(err, TP_ERR_UNKNOWN_OPERATION, NULL);
    cJSON *in = request_json ? tp_json_parse_str(request_json) : cJSON_CreateObject();
    if (!cJSON_IsObject(in)) {
        cJSON_Delete(in);
        return tp_fail(err, TP_ERR_SERIALIZATION, NULL);
    }
    cJSON *out = NULL;
    char rid[64];
    park_opts park = {.mode = PARK_WAIT};
    int rc = engine_exec(e, access_key ? access_key : "AKIDTIDEPOOL", region, act, in, &out, err,
                         rid, sizeof rid, NULL, NULL, &park);
    cJSON_Delete(in);
    if (rc == 0)
        *response_json = out ? tp_json_print(out) : strdup("{}");
    cJSON_Delete(out);
    return rc;
}

int64_t tp_engine_now_ms(tp_engine *e) { return tp_clock_now_ms(e->core.clock); }

int tp_engine_advance(tp_engine *e, int64_t ms) { return engine_advance(e, ms) < 0 ? -1 : 0; }

int tp_engine_reset(tp_engine *e) { return engine_reset(e); }

/* --- handlers, pipelines, trace ------------------------------------------ */

int tp_engine_register_handler(tp_engine *e, const char *name, tp_handler_fn fn)
{
    pthread_mutex_lock(&e->lock);
    int rc = tp_register_handler(lambda_registry(&e->core), name, fn);
    pthread_mutex_unlock(&e->lock);
    return rc;
}

int tp_engine_load_handlers(tp_engine *e, const char *path, tp_error *err)
{
    char why[512] = "";
    pthread_mutex_lock(&e->lock);
    int rc = lambda_handlers_load(&e->core, path, why, sizeof why);
    pthread_mutex_unlock(&e->lock);
    return rc == 0 ? 0 : tp_fail(err, TP_ERR_VALIDATION, "%s", why);
}

char *tp_engine_trace(tp_engine *e, uint64_t since, int with_wall, uint64_t *last_seq)
{
    tp_buf b;
    tp_buf_init(&b);
    tp_trace_dump_opts(e->core.trace, since, with_wall, &b, last_seq);
    char *s = tp_buf_take(&b);
    return s ? s : strdup("");
}

void tp_engine_trace_sink(tp_engine *e, void (*fn)(void *arg, const char *line), void *arg,
                          int with_wall)
{
    tp_trace_set_sink(e->core.trace, fn, arg, with_wall);
}

int tp_engine_control(tp_engine *e, const char *method, const char *path, const char *body,
                      char **out)
{
    tp_buf b;
    tp_buf_init(&b);
    int status = tp_control_handle(&e->control, method, path, body, body ? strlen(body) : 0, &b);
    *out = tp_buf_take(&b);
    if (!*out)
        *out = strdup("");
    return status;
}

int64_t tp_engine_run_until_idle(tp_engine *e, int64_t max_ms)
{
    if (tp_clock_mode_get(e->core.clock) != TP_CLOCK_VIRTUAL || max_ms < 0)
        return -1;
    pthread_mutex_lock(&e->lock);
    int64_t step = esm_idle_step_ms(&e->core);
    pthread_mutex_unlock(&e->lock);
    int64_t done = 0;
    int quiet = 0;
    /* two quiet poll intervals in a row: a record written just before the
     * first check has been seen by a poll by the second */
    while (done < max_ms) {
        int64_t s = step < max_ms - done ? step : max_ms - done;
        engine_advance(e, s);
        done += s;
        pthread_mutex_lock(&e->lock);
        int busy = lambda_busy(&e->core);
        pthread_mutex_unlock(&e->lock);
        if (busy)
            quiet = 0;
        else if (++quiet >= 2)
            break;
    }
    return done;
}
