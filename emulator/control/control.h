/* control/control — the /_tidepool/ endpoints a person or a test uses to
 * look inside and steer: health, reset, clock, faults, capacity, metrics,
 * trace, invocations, streams, and ui — the live view, one page
 * (control/ui/live.html, built into the binary by control/ui/embed.cmake) that
 * reads these endpoints and the services' own APIs from the browser.
 *
 * Control sits beside the services, under the engine; what only the engine
 * can do (reset everything, run due events) it reaches through the
 * function pointers in tp_control_ops. */
#ifndef TP_CONTROL_H
#define TP_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/core.h"

typedef struct tp_control_ops {
    void *ctx;
    tp_core *core;
    /* Both take the engine lock themselves. */
    int (*reset)(void *ctx);
    /* Runs events due up to now+ms (virtual clock); returns events run or -1. */
    int64_t (*advance)(void *ctx, int64_t ms);
    size_t (*pending_events)(void *ctx);
    /* Virtual clock: runs until lambda/ is idle or max_ms passed; returns
     * the ms advanced, -1 on a real clock. */
    int64_t (*run_until_idle)(void *ctx, int64_t max_ms);
    /* Runs fn(core, arg) under the engine lock inside one store transaction
     * (committed when fn returns 0, rolled back otherwise); returns fn's
     * result, or -1 when the transaction could not start. */
    int (*locked)(void *ctx, int (*fn)(tp_core *core, void *arg), void *arg);
} tp_control_ops;

/* Handles one control request; writes a JSON body, returns the HTTP status. */
int tp_control_handle(const tp_control_ops *ops, const char *method, const char *path,
                      const char *body, size_t len, tp_buf *out);

#endif
