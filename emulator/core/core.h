/* core/core — the shared context every service action runs in.
 *
 * tp_core bundles what the engine owns (store, clock, scheduler, rng,
 * config); tp_req is one API call's view of it: who is calling (account,
 * region from the SigV4 scope), the request id and the clock reading taken
 * when the call entered the engine lock. Actions get a tp_req, never the
 * engine, so services stay below the engine in the dependency order. */
#ifndef TP_CORE_CORE_H
#define TP_CORE_CORE_H

#include <stdint.h>

#include "clock.h"
#include "log.h"
#include "rng.h"
#include "sched.h"
#include "store.h"

typedef struct cJSON cJSON;
typedef struct tp_dispatch tp_dispatch;

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
} tp_core;

typedef struct tp_req {
    tp_core *core;
    const char *account;     /* 12 digits */
    const char *region;      /* e.g. "us-east-1" */
    const char *request_id;
    int64_t now_ms;          /* clock reading for this call (epoch ms) */
    const struct tp_action *action;
    /* Set by an action that fails with an error whose envelope carries more
     * than __type and message (ConditionalCheckFailedException's "Item"):
     * an object of those extra members, owned by the engine from then on. */
    struct cJSON *error_fields;
} tp_req;

#endif
