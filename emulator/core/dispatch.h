/* core/dispatch — target name -> action registry.
 *
 * Knows nothing about AWS: each service hands over its action table (one row
 * per operation, generated from the service's actions.def) and the engine
 * looks rows up by wire target, e.g. "DynamoDB_20120810.PutItem". Everyone
 * who calls an API — HTTP, handlers, pollers, the control API — goes through
 * here. */
#ifndef TP_CORE_DISPATCH_H
#define TP_CORE_DISPATCH_H

#include <stddef.h>

#include "core.h"
#include "error.h"

typedef struct cJSON cJSON;

/* Runs one validated request. `in` is the request tree (owned by the
 * caller); on success *out is a new tree the caller frees. On failure fill
 * err (tp_fail) and return -1; the caller rolls the transaction back. */
typedef int (*tp_action_fn)(tp_req *req, cJSON *in, cJSON **out, tp_error *err);

enum {
    TP_ACT_READ = 0,
    TP_ACT_WRITE = 1u << 0,   /* changes state: runs in a write transaction */
};

typedef struct tp_action {
    const char *target;     /* wire target: "DynamoDB_20120810.PutItem" */
    const char *service;    /* "dynamodb" */
    const char *name;       /* "PutItem" */
    const struct tp_shape *input;  /* request shape for validation, or NULL */
    tp_action_fn run;
    unsigned flags;
} tp_action;

/* What a service gives the engine. */
typedef struct tp_service {
    const char *name;              /* "dynamodb" */
    const char *schema_sql;        /* CREATE TABLE IF NOT EXISTS ...; may be NULL */
    const tp_action *actions;
    size_t nactions;
    /* After the store is open (and after a reset): re-arm timers for state
     * that outlives a restart (e.g. a table still CREATING). May be NULL. */
    int (*start)(tp_core *core);
} tp_service;

tp_dispatch *tp_dispatch_new(void);
void tp_dispatch_free(tp_dispatch *d);
int tp_dispatch_add_service(tp_dispatch *d, const tp_service *svc);
const tp_action *tp_dispatch_find(const tp_dispatch *d, const char *target);
/* Looks up by service and operation name ("dynamodb", "PutItem"). */
const tp_action *tp_dispatch_find_op(const tp_dispatch *d, const char *service, const char *name);
size_t tp_dispatch_service_count(const tp_dispatch *d);
const tp_service *tp_dispatch_service(const tp_dispatch *d, size_t i);

#endif
