/* engine — assembly: opens the store, picks the clock, registers every
 * service's action table with core/dispatch, and runs calls and timers under
 * the one engine lock. The only file that knows all services.
 *
 * A call: model validation (outside the lock) -> lock -> clock reading ->
 * BEGIN -> action -> COMMIT, or ROLLBACK on error -> unlock. Timer events
 * run the same way, one transaction each, with the clock set to their due
 * time in virtual mode. */
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

extern const tp_service ddb_service;
extern const tp_service streams_service;
extern const tp_service lambda_service;

static const tp_service *const services[] = {&ddb_service, &streams_service, &lambda_service};

struct tp_engine {
    tp_core core;
    cJSON *config;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t timer_thread;
    int timer_running, stopping;
    pthread_mutex_t rid_lock;
    tp_rng rid_rng;        /* request ids for answers made outside the engine */
    tp_control_ops control;
};

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

static int engine_reset(void *ctx)
{
    tp_engine *e = ctx;
    pthread_mutex_lock(&e->lock);
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
    pthread_mutex_unlock(&e->lock);
    return rc;
}

static int64_t engine_advance(void *ctx, int64_t ms)
{
    tp_engine *e = ctx;
    if (tp_clock_mode_get(e->core.clock) != TP_CLOCK_VIRTUAL || ms < 0)
        return -1;
    pthread_mutex_lock(&e->lock);
    int64_t until = tp_clock_now_ms(e->core.clock) + ms;
    int64_t ran = run_due(e, until);
    tp_clock_set_ms(e->core.clock, until);
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
    pthread_mutex_unlock(&e->lock);
    return rc;
}

static size_t engine_pending(void *ctx)
{
    tp_engine *e = ctx;
    pthread_mutex_lock(&e->lock);
    size_t n = tp_sched_pending(e->core.sched);
    pthread_mutex_unlock(&e->lock);
    return n;
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
    pthread_mutex_init(&e->rid_lock, NULL);
    if (opts->config_json) {
        e->config = cJSON_Parse(opts->config_json);
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
    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++) {
        if (tp_dispatch_add_service(e->core.dispatch, services[i]) != 0 ||
            (services[i]->schema_sql && tp_store_exec(e->core.store, services[i]->schema_sql) != 0)) {
            tp_fail(err, TP_ERR_INTERNAL, "cannot set up service %s", services[i]->name);
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
                                  .locked = engine_locked};
    return e;
}

void tp_engine_free(tp_engine *e)
{
    if (!e)
        return;
    tp_capacity_free(&e->core);
    if (e->timer_running) {
        pthread_mutex_lock(&e->lock);
        e->stopping = 1;
        pthread_cond_broadcast(&e->wake);
        pthread_mutex_unlock(&e->lock);
        pthread_join(e->timer_thread, NULL);
    }
    if (e->core.store) {
        tp_store_checkpoint(e->core.store);
        tp_store_close(e->core.store);
    }
    tp_dispatch_free(e->core.dispatch);
    tp_sched_free(e->core.sched);
    tp_clock_free(e->core.clock);
    tp_trace_free(e->core.trace);
    tp_faults_free(e->core.faults);
    cJSON_Delete(e->config);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->wake);
    pthread_mutex_destroy(&e->rid_lock);
    free(e);
}

tp_core *tp_engine_core(tp_engine *e) { return &e->core; }

/* --- calls -------------------------------------------------------------- */

/* Fault rules (capacity/faults.h), before model validation. Returns 1 when
 * the call ends here with err filled; 0 to go on, with *lose set when the
 * response is to be lost after the action commits. */
static int apply_faults(tp_engine *e, const tp_action *act, const cJSON *in, tp_error *err,
                        int *lose)
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
    if (hit.latency_ms > 0) {
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
    tp_trace_emit(&e->core, "request", f);
    cJSON_Delete(f);
}

static int engine_exec_inner(tp_engine *e, const char *access_key, const char *region,
                             const tp_action *act, cJSON *in, cJSON **out, tp_error *err,
                             char *request_id, size_t rid_cap)
{
    *out = NULL;
    char account[13];
    tp_account_for_key(access_key, account);
    int lose = 0;
    if (apply_faults(e, act, in, err, &lose) ||
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
                  .action = act};
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
    if (e->timer_running)
        pthread_cond_signal(&e->wake);   /* the action may have scheduled something */
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
                       char *request_id, size_t rid_cap)
{
    int rc = engine_exec_inner(e, access_key, region, act, in, out, err, request_id, rid_cap);
    observe_call(e, act, rc, err);
    return rc;
}

static int host_call(void *ctx, const tp_scope *scope, const char *service, const char *operation,
                     cJSON *in, cJSON **out, tp_error *err, char *request_id, size_t rid_cap)
{
    tp_engine *e = ctx;
    const tp_action *act = tp_dispatch_find_op(e->core.dispatch, service, operation);
    if (!act) {
        pthread_mutex_lock(&e->rid_lock);
        make_request_id(&e->rid_rng, service, request_id, rid_cap);
        pthread_mutex_unlock(&e->rid_lock);
        return tp_fail(err, TP_ERR_UNKNOWN_OPERATION, NULL);
    }
    return engine_exec(e, scope->access_key, scope->region, act, in, out, err, request_id, rid_cap);
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

void tp_engine_http_host(tp_engine *e, tp_http_host *out)
{
    *out = (tp_http_host){.ctx = e,
                          .call = host_call,
                          .control = host_control,
                          .has_operation = host_has_operation,
                          .request_id = host_request_id};
}

int tp_engine_call(tp_engine *e, const char *access_key, const char *region, const char *target,
                   const char *request_json, char **response_json, tp_error *err)
{
    *response_json = NULL;
    const tp_action *act = tp_dispatch_find(e->core.dispatch, target);
    if (!act)
        return tp_fail(err, TP_ERR_UNKNOWN_OPERATION, NULL);
    cJSON *in = request_json ? cJSON_Parse(request_json) : cJSON_CreateObject();
    if (!cJSON_IsObject(in)) {
        cJSON_Delete(in);
        return tp_fail(err, TP_ERR_SERIALIZATION, NULL);
    }
    cJSON *out = NULL;
    char rid[64];
    int rc = engine_exec(e, access_key ? access_key : "AKIDTIDEPOOL", region, act, in, &out, err,
                         rid, sizeof rid);
    cJSON_Delete(in);
    if (rc == 0)
        *response_json = out ? cJSON_PrintUnformatted(out) : strdup("{}");
    cJSON_Delete(out);
    return rc;
}

int64_t tp_engine_now_ms(tp_engine *e) { return tp_clock_now_ms(e->core.clock); }

int tp_engine_advance(tp_engine *e, int64_t ms) { return engine_advance(e, ms) < 0 ? -1 : 0; }

int tp_engine_reset(tp_engine *e) { return engine_reset(e); }
