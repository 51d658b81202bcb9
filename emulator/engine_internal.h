/* engine_internal — what main.c (and tests) need beyond the public engine.h:
 * the engine as the HTTP server's host, and its core. */
#ifndef TP_ENGINE_INTERNAL_H
#define TP_ENGINE_INTERNAL_H

#include "core/core.h"
#include "http/server.h"
#include "tidepool/engine.h"

void tp_engine_http_host(tp_engine *e, tp_http_host *out);
tp_core *tp_engine_core(tp_engine *e);
/* Real clock: starts the thread that runs due events; no-op when virtual. */
int tp_engine_start_timers(tp_engine *e);
/* tidepool run: the invocation log keeps only its ends
 * (lambda_bound_invocations), and the runner reads them: *first the
 * oldest `each`, *last the newest `each` (NULL when total <= 2 * each:
 * then *first is the whole log), *total the log's length. 0 or -1. */
struct cJSON;
void tp_engine_bound_invocations(tp_engine *e, int64_t keep_first, int64_t keep_last);
int tp_engine_invocation_ends(tp_engine *e, int64_t each, int64_t *total, struct cJSON **first,
                              struct cJSON **last);

#endif
