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

#endif
