/* core/sched — the timer heap everything "later" hangs on.
 *
 * Events are ordered by (due time, insertion sequence), so two events due at
 * the same millisecond run in the order they were scheduled — the property
 * that makes virtual-time runs replay identically. The scheduler does not
 * lock: its owner (the engine) calls it under the engine lock. */
#ifndef TP_CORE_SCHED_H
#define TP_CORE_SCHED_H

#include <stddef.h>
#include <stdint.h>

typedef struct tp_sched tp_sched;
struct tp_core;
/* Runs under the engine lock inside a store transaction; the clock already
 * reads due_ms. */
typedef void (*tp_event_fn)(struct tp_core *core, void *arg, int64_t due_ms);

tp_sched *tp_sched_new(void);
void tp_sched_free(tp_sched *s);
/* Schedules fn(ctx, arg, due) at due_ms; returns an id (> 0) or 0 on OOM. */
uint64_t tp_sched_at(tp_sched *s, int64_t due_ms, tp_event_fn fn, void *arg);
/* Cancels a pending event; returns 0 if it was pending, -1 otherwise. */
int tp_sched_cancel(tp_sched *s, uint64_t id);
/* Drops every pending event. */
void tp_sched_clear(tp_sched *s);
size_t tp_sched_pending(const tp_sched *s);
/* Due time of the earliest event, or INT64_MAX when none. */
int64_t tp_sched_next_due(const tp_sched *s);
/* Pops the earliest event if it is due at or before `until`: fills the
 * out-parameters and returns 1; returns 0 when nothing is due. The caller
 * sets the clock to *due and runs fn. */
int tp_sched_pop_due(tp_sched *s, int64_t until, tp_event_fn *fn, void **arg, int64_t *due,
                     uint64_t *id);

#endif
