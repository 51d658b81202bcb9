/* core/trace — what happened, for people and tests: a bounded ring of trace
 * events (JSON lines) and the request/fault counters /_tidepool/metrics
 * shows.
 *
 * An event is one JSON object: {"seq", "t_ms" (tidepool clock), "wall_ms"
 * (host clock), "type", ...fields}. The ring keeps the newest
 * TP_TRACE_CAPACITY events; seq keeps counting so a reader can poll with
 * ?since=<last seq seen>. Everything here has its own mutex, so it may be
 * called with or without the engine lock. Reset clears events and counters
 * (Prometheus readers treat the drop as a counter reset). */
#ifndef TP_CORE_TRACE_H
#define TP_CORE_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct cJSON cJSON;
typedef struct tp_core tp_core;
typedef struct tp_trace tp_trace;

#define TP_TRACE_CAPACITY 100000

/* cap 0: TP_TRACE_CAPACITY. */
tp_trace *tp_trace_new(size_t cap);
void tp_trace_free(tp_trace *t);
/* Drops every event and counter; seq restarts at 1. */
void tp_trace_clear(tp_trace *t);
/* Drops the events only (DELETE /_tidepool/trace); seq keeps counting. */
void tp_trace_clear_events(tp_trace *t);

/* Records one event; fields is an object (or NULL) whose members are copied
 * after "type"; the caller keeps ownership of fields. */
void tp_trace_add(tp_trace *t, int64_t t_ms, const char *type, const cJSON *fields);
/* The same at the core's clock reading; a no-op when core->trace is NULL.
 * E.g. tp_trace_emit(core, "throttle", fields) from the capacity model. */
void tp_trace_emit(tp_core *core, const char *type, const cJSON *fields);

/* Appends the events with seq > since, one JSON object per line. */
void tp_trace_dump(tp_trace *t, uint64_t since, tp_buf *out);
/* The same; with_wall 0 leaves "wall_ms" out (runs compare byte for byte);
 * *last (if not NULL) gets the highest seq appended (since when none). */
void tp_trace_dump_opts(tp_trace *t, uint64_t since, int with_wall, tp_buf *out, uint64_t *last);
/* fn(arg, line) for each event from now on, under the trace's lock, in seq
 * order; fn NULL removes the sink. */
void tp_trace_set_sink(tp_trace *t, void (*fn)(void *arg, const char *line), void *arg,
                       int with_wall);
/* The same, with the event also as a JSON tree (borrowed for the call;
 * what parsing line would give), for a sink that reads the events rather
 * than only storing the lines. Replaces a line sink and vice versa. */
void tp_trace_set_event_sink(tp_trace *t, void (*fn)(void *arg, const char *line, const cJSON *ev),
                             void *arg, int with_wall);
/* Number of events held (tests). */
size_t tp_trace_count(tp_trace *t);

/* Counters: tidepool_requests_total{service,operation,status} and
 * tidepool_faults_injected_total{rule}. */
void tp_trace_count_request(tp_trace *t, const char *service, const char *operation, int status);
void tp_trace_count_fault(tp_trace *t, const char *rule);
/* Appends the counters and gauges in Prometheus text format (with # HELP /
 * # TYPE). */
void tp_trace_metrics(tp_trace *t, tp_buf *out);
/* Gauges: sets name{labels} to value (labels: Prometheus label text, e.g.
 * mapping="..",function=".."), e.g. tidepool_esm_iterator_age_ms. Reset
 * drops them like the counters. */
void tp_trace_gauge_set(tp_trace *t, const char *name, const char *labels, double value);

#endif
