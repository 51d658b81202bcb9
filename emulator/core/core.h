/* core/core — the shared context every service action runs in.
 *
 * tp_core bundles what the engine owns (store, clock, scheduler, rng,
 * config); tp_req is one API call's view of it: who is calling (account,
 * region from the SigV4 scope), the request id and the clock reading taken
 * when the call entered the engine lock. Actions get a tp_req, never the
 * engine, so services stay below the engine in the dependency order. */
#ifndef TP_CORE_CORE_H
#define TP_CORE_CORE_H

#include <pthread.h>
#include <stdint.h>

#include "clock.h"
#include "error.h"
#include "log.h"
#include "rng.h"
#include "sched.h"
#include "store.h"

typedef struct cJSON cJSON;
typedef struct tp_dispatch tp_dispatch;
typedef struct tp_core tp_core;

/* What only the engine can do, for the layers below it (lambda/ runs
 * handlers that call back in and waits for invocations). Set by the
 * engine; every member may be NULL in a bare core (unit tests). */
typedef struct tp_core_host {
    void *ctx;
    /* Runs target's model validation and action as account/region inside
     * the caller's transaction (engine lock held). No fault rules, no
     * request trace. 0 ok with *out (caller frees), -1 with err. A long
     * poll never parks here: its first run is its final one. */
    int (*call_in_txn)(void *ctx, const char *account, const char *region, const char *target,
                       cJSON *in, cJSON **out, tp_error *err);
    /* A whole call as from a client (fault rules, validation, its own
     * transaction, request trace), for handler threads: takes the engine
     * lock itself, so it must be called without it. Latency a fault rule
     * adds is returned in *latency_ms (the caller waits it out in its own
     * way), never slept or advanced here. */
    int (*call)(void *ctx, const char *access_key, const char *region, const char *target,
                cJSON *in, cJSON **out, tp_error *err, int64_t *latency_ms);
    /* Engine lock held, no transaction open: runs due events — on the
     * virtual clock moving time forward event by event, on the real clock
     * waiting for them — until done(arg) returns 1. 0, or -1 when nothing
     * is left to run and done(arg) is still 0. */
    int (*run_until)(void *ctx, int (*done)(void *arg), void *arg);
    /* Engine lock held: the parked calls waiting on key (tp_req.park_key)
     * are to run again once the current transaction commits. May be NULL
     * (nothing parks). */
    void (*wake)(void *ctx, const char *key);
} tp_core_host;

typedef struct tp_core {
    tp_store *store;
    tp_clock *clock;
    tp_sched *sched;
    tp_dispatch *dispatch;
    tp_rng rng;            /* seeded; the only randomness actions may use */
    const cJSON *config;   /* the --config file as JSON, or NULL; borrowed */
    struct tp_trace *trace;    /* trace events and counters (trace.h); may be NULL */
    struct tp_faults *faults;  /* fault-injection rules (capacity/faults.h); may be NULL */
    struct tp_capacity *capacity; /* throughput buckets (capacity/throughput.h); made on use */
    pthread_mutex_t *lock;     /* the engine lock (lambda/'s baton waits on it); may be NULL */
    const tp_core_host *host;  /* may be NULL */
    struct lambda_state *lambda;  /* lambda/invoke.c's runtime state; made on use */
    struct tp_handler_registry *handlers;  /* lambda/registry.c; made on use */
    struct lambda_procs *procs;   /* lambda/process.c's handler processes; made on use */
    /* Set by lambda/ while a handler thread is to be handed the baton: the
     * engine calls it after each timer event commits (lock held, no
     * transaction). May be NULL. */
    void (*after_event)(tp_core *core);
    /* Virtual clock: how far the scheduler run in progress may move time
     * (an advance's target; INT64_MAX while waiting for an invocation). A
     * handler that waits past no pending event and not beyond it moves the
     * clock itself instead of handing the baton back (invoke.c). */
    int64_t baton_until_ms;
} tp_core;

typedef struct tp_req {
    tp_core *core;
    const char *account;     /* 12 digits */
    const char *region;      /* e.g. "us-east-1" */
    const char *request_id;
    int64_t now_ms;          /* clock reading for this call (epoch ms) */
    /* "http://host:port" as the client addressed tidepool (its Host
     * header), for answers that name an endpoint (SQS queue URLs); NULL for
     * calls from inside (handlers, pollers, tp_engine_call). */
    const char *endpoint;
    const struct tp_action *action;
    /* Set by an action that fails with an error whose envelope carries more
     * than __type and message (ConditionalCheckFailedException's "Item"):
     * an object of those extra members, owned by the engine from then on. */
    struct cJSON *error_fields;
    /* Set by an action whose answer comes after its transaction commits
     * (Invoke RequestResponse waits for the handler): the engine calls
     * deferred(r, deferred_arg, out, err) with the lock held and no
     * transaction open, and answers with what it returns. It must free
     * deferred_arg. */
    int (*deferred)(struct tp_req *r, void *arg, struct cJSON **out, tp_error *err);
    void *deferred_arg;
    /* Long polls (SQS ReceiveMessage with WaitTimeSeconds): an action that
     * has nothing to answer yet returns 0 with *out NULL after setting
     * park_until_ms (> now_ms) and park_key (e.g. the queue's ARN). Its
     * transaction commits; the engine parks the call, holding neither a
     * server thread nor the lock, and runs the action again (a new
     * transaction, a new now_ms) when tp_core_wake(core, park_key) is
     * called or the clock reaches park_until_ms. On that last run
     * park_final is 1 and the action must answer (an empty result). */
    int64_t park_until_ms;
    char park_key[256];
    int park_final;
    int park_rerun;          /* 1 on every run after a park's first */
} tp_req;

/* Wakes the calls parked on key (see tp_req.park_key): they run again after
 * the caller's transaction commits. Engine lock held. A no-op in a core
 * without a host. */
void tp_core_wake(tp_core *core, const char *key);

#endif
