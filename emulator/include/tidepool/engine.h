/* tidepool/engine.h — embed tidepool in a C program or test.
 *
 * An engine is the whole emulator without HTTP: create one (in memory, on a
 * virtual clock by default), call any API with the same JSON as the wire
 * ("DynamoDB_20120810.PutItem" + request body), move virtual time forward,
 * reset. Calls go through the same validation and actions as HTTP requests.
 * Thread-safe: every call takes the engine lock. No cJSON types cross this
 * header. */
#ifndef TIDEPOOL_ENGINE_H
#define TIDEPOOL_ENGINE_H

#include <stdint.h>

#include "tidepool/error.h"
#include "tidepool/handler.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TP_ABI_VERSION 1

typedef struct tp_engine tp_engine;

typedef struct tp_engine_options {
    int real_clock;             /* 0 (default): virtual clock; 1: wall clock */
    int64_t clock_start_ms;     /* virtual clock start, epoch ms; 0: 2024-01-01T00:00:00Z */
    const char *data_dir;       /* NULL: in memory */
    const char *config_json;    /* the config file's text, or NULL */
    uint64_t seed;              /* seeds request ids and every random choice; 0: 1 */
    const char *handlers;       /* handler libraries to load before the config's
                                   functions are made, ':'-separated; or NULL */
    int sync;                   /* 1: fsync every commit (SQLite synchronous=FULL),
                                   durable against power loss; 0: against a
                                   process kill only (NORMAL). Needs data_dir. */
    const char *endpoint_url;   /* where process handlers' SDK calls go
                                   (AWS_ENDPOINT_URL): "http://127.0.0.1:4566"; or NULL */
} tp_engine_options;

/* opts may be NULL for the defaults. Returns NULL with err set on failure. */
tp_engine *tp_engine_new(const tp_engine_options *opts, tp_error *err);
void tp_engine_free(tp_engine *e);

/* Calls an API: target as on the wire ("DynamoDB_20120810.GetItem"),
 * request_json its body. access_key and region play the role of the SigV4
 * credential scope (NULL: "AKIDTIDEPOOL", "us-east-1"). On success returns 0
 * and *response_json (free() it); on an AWS error returns -1 with err set.
 * A call whose action parks (a long poll with nothing to answer yet) waits
 * in here for its answer: on the virtual clock by running due events and
 * moving time forward, event by event, until a wake or its deadline (as
 * tp_engine_advance would); on the real clock until the timer thread
 * reaches it. (Over HTTP a long poll parks without holding a thread.) */
int tp_engine_call(tp_engine *e, const char *access_key, const char *region, const char *target,
                   const char *request_json, char **response_json, tp_error *err);

int64_t tp_engine_now_ms(tp_engine *e);
/* Virtual clock: runs every event due within the next ms milliseconds, in
 * (time, insertion) order, and leaves the clock at now + ms. -1 on a real clock. */
int tp_engine_advance(tp_engine *e, int64_t ms);
/* Drops all state (tables, items, timers). */
int tp_engine_reset(tp_engine *e);

/* --- handlers and pipelines -------------------------------------------- */

/* Registers a handler under name, for functions whose Handler names it
 * (in addition to the ones compiled in from handlers/). 0, or -1 when the
 * name is taken. */
int tp_engine_register_handler(tp_engine *e, const char *name, tp_handler_fn fn);
/* Loads a handler library (its tp_handlers_init registers its handlers).
 * 0, or -1 with err. */
int tp_engine_load_handlers(tp_engine *e, const char *path, tp_error *err);

/* Virtual clock: runs time forward until tidepool is idle — no invocation
 * in flight, no retry waiting, no event source mapping with records it has
 * not delivered — checking after every poll interval, or until max_ms have
 * passed. Returns the milliseconds advanced, or -1 on a real clock. */
int64_t tp_engine_run_until_idle(tp_engine *e, int64_t max_ms);

/* The trace events with seq > since as JSON lines (see /_tidepool/trace);
 * with_wall 0 leaves out each event's wall-clock "wall_ms" so that two
 * runs of the same scenario compare byte for byte. free() the result;
 * *last_seq (if not NULL) gets the seq of the last event returned (since
 * when none). */
char *tp_engine_trace(tp_engine *e, uint64_t since, int with_wall, uint64_t *last_seq);

/* Calls fn(arg, line) for every trace event recorded from now on, in
 * order (line: one JSON object without a newline; with_wall as above), on
 * whichever thread records it; the ring /_tidepool/trace reads keeps only
 * the newest events, a sink sees them all. fn NULL stops. */
void tp_engine_trace_sink(tp_engine *e, void (*fn)(void *arg, const char *line), void *arg,
                          int with_wall);

/* Any /_tidepool/ control endpoint without HTTP: method "GET"/"POST"/
 * "DELETE", path with its query ("/_tidepool/invocations?function=f"),
 * body or NULL. Returns the HTTP status; *out is the response body
 * (free() it). */
int tp_engine_control(tp_engine *e, const char *method, const char *path, const char *body,
                      char **out);

/* The 12-digit account id tidepool derives from an access key: the key
 * itself when it is 12 digits, else a stable hash of it. */
void tp_account_for_key(const char *access_key, char out[13]);

#ifdef __cplusplus
}
#endif
#endif
