/* lambda/invoke — the invoker: runs a function's handler on its own
 * thread, gives it tp_call/tp_sleep_ms/tp_log, times it out, counts its
 * concurrency, and logs every invocation (lambda_invocations, trace).
 *
 * An invocation's life (one lambda_inv; `resolved` is the outcome):
 *
 *   lambda_invoke_start --(concurrency used up)--> refused: TooManyRequests
 *        |  row inserted, "invoke_start", timeout timer armed, thread made
 *        v
 *   STARTING --start event (virtual) / at once (real)--> RUNNING
 *   RUNNING --tp_call/tp_sleep_ms--> WAITING --resume event--> RUNNING
 *   RUNNING --handler returns--> resolved (success | error)      [inv_main]
 *   RUNNING --handler crashes (signal)--> resolved (error, Runtime.ExitError)
 *        [inv_main, lambda_crash_guard]
 *   RUNNING/WAITING --deadline--> resolved (timeout); the thread runs on
 *        with every tidepool call failing at once             [timeout_event]
 *   RUNNING --holds the baton past the watchdog (wall clock)--> orphaned:
 *        the baton goes back, every call fails, the deadline event still
 *        resolves it (timeout)                               [after_event]
 *   any --reset/shutdown--> abandoned (no outcome; the thread runs out)
 *
 * Virtual time, the baton (ARCHITECTURE section 3): exactly one of {the
 * scheduler, one invocation} runs at a time. The scheduler hands the baton
 * to an invocation by queueing it (handoff) from a timer event; after the
 * event commits, the engine calls lambda_after_event, which wakes the
 * handler thread and waits — on the engine lock's condition variable, so
 * the lock is free meanwhile — until the handler gives the baton back by
 * calling tidepool (tp_call: the call runs now, and the handler resumes
 * after the call's virtual latency, from a timer event) or by returning.
 * Handler code between calls takes no virtual time. Because everything is
 * ordered by the scheduler's (time, insertion) order and every random
 * choice comes from the seeded RNG, a run replays byte for byte.
 *
 * On the real clock handler threads run freely in parallel; tp_call takes
 * the engine lock like any client; the timeout is a real timer.
 *
 * Instances: each function keeps a count of warm instances. An invocation
 * takes one, or is a cold start that runs the handler's init first
 * (tp_register_init); an invocation that returned gives its instance back,
 * one that crashed, exited or timed out discards it, as Lambda restarts a
 * runtime that died. A reset discards them all.
 *
 * Threads that never end (a handler spinning without calling tidepool) are
 * abandoned, never interrupted: stopping a thread at an arbitrary point
 * could leave a libc lock (malloc's) held. Shutdown waits for handler
 * threads SHUTDOWN_GRACE_MS, then detaches the rest: they own their
 * invocation from then on and touch nothing of the engine's. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capacity/faults.h"
#include "core/base64.h"
#include "core/buf.h"
#include "core/dispatch.h"
#include "core/json.h"
#include "core/trace.h"
#include "lambda.h"
#include "process.h"

const char lambda_invocations_schema[] =
    "CREATE TABLE IF NOT EXISTS lambda_invocations ("
    " id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, account TEXT NOT NULL,"
    " region TEXT NOT NULL, function TEXT NOT NULL, function_arn TEXT NOT NULL,"
    " source TEXT NOT NULL, source_id TEXT, start_ms INTEGER NOT NULL, end_ms INTEGER,"
    " outcome TEXT, error_type TEXT, error_message TEXT, event TEXT NOT NULL,"
    " response TEXT, logs TEXT, calls INTEGER NOT NULL DEFAULT 0,"
    " retries INTEGER NOT NULL DEFAULT 0);";

#define LOG_TAIL_MAX 4096
#define DEFAULT_CALL_LATENCY_MS 5
#define SHUTDOWN_GRACE_MS 2000

struct tp_response {
    tp_buf buf;
};

typedef struct tp_ctx lambda_inv;
struct tp_ctx {
    tp_core *core;
    int64_t id;                 /* lambda_invocations row */
    uint64_t generation;        /* lambda_state's at start: a reset abandons */
    char request_id[37];
    lambda_fn fn;
    tp_handler_fn handler;      /* NULL: Runtime.HandlerNotFound */
    tp_init_fn init;            /* the handler's init, or NULL */
    int cold;                   /* no warm instance was free: init runs first */
    /* the runtime died: died_* are the thread's own (lambda_invocation_
     * exited, no lock); inv_main copies them to exited/exit_* under the
     * lock, where resolve reads them */
    int died, died_sig, died_status, handler_rc;
    int exited, exit_sig, exit_status;
    int orphaned;               /* the watchdog took the baton back */
    int in_call;                /* inside tp_call: not computing (watchdog) */
    int64_t baton_wall_ms;      /* wall clock when it last got the baton or a call's answer */
    atomic_int detached;        /* shutdown let go: the engine may be gone */
    int leaving;                /* the thread is past its handler (detach_mu) */
    lambda_outcome outcome;
    char *event;
    size_t event_len;
    char source[16];
    char source_id[64];
    lambda_done_fn done;
    void *done_arg;
    int64_t start_ms, deadline_ms;
    uint64_t timeout_ev, resume_ev, start_ev;
    tp_fault_hit fault;         /* fn_fail / fn_timeout from a fault rule */
    int has_thread;
    /* baton (virtual clock): lambda_state.holder */
    pthread_cond_t cv;
    int go;                     /* the handler thread may run */
    /* state */
    int resolved, abandoned, finished;
    int rc;
    struct tp_response resp;
    tp_buf log;
    tp_retry_policy policy;
    int64_t calls, retries;
    tp_rng rng;                 /* jitter: seeded from the engine's RNG at start */
    lambda_inv *next;           /* lambda_state.live */
};

typedef struct fn_count {
    char arn[256];
    int64_t n;
    int64_t idle;               /* warm instances free for the next invocation */
    struct fn_count *next;
} fn_count;

struct lambda_state {
    lambda_inv *live;           /* every invocation whose thread (or event) still lives */
    int64_t inflight;
    fn_count *counts;
    lambda_inv **handoff;
    size_t nhandoff, caphandoff;
    lambda_inv *holder;         /* the invocation holding the baton (virtual clock) */
    pthread_cond_t baton_cv;    /* the scheduler waits here while a handler runs */
    pthread_cond_t threads_cv;  /* shutdown waits here for threads to end */
    int threads;
    uint64_t generation;
    int64_t log_keep_first, log_keep_last;   /* lambda_bound_invocations */
};

/* The invocation this thread is running, for tp_call's request trace. */
static _Thread_local lambda_inv *current_inv;
/* Why the last lambda_invoke_start on this thread was throttled (the
 * "Reason" member of Invoke's TooManyRequestsException). */
static _Thread_local const char *throttle_reason;
/* Orders a handler thread leaving its handler against shutdown detaching
 * it (lambda_inv.leaving / detached). Never held with another lock taken
 * after it. */
static pthread_mutex_t detach_mu = PTHREAD_MUTEX_INITIALIZER;

/* The handler-side view: no more calls once the invocation has an outcome,
 * was abandoned or lost the baton to the watchdog. */
static int inv_dead(const lambda_inv *inv)
{
    return inv->resolved || inv->abandoned || inv->orphaned;
}

static int is_virtual(const tp_core *core)
{
    return tp_clock_mode_get(core->clock) == TP_CLOCK_VIRTUAL;
}

static void after_event(tp_core *core);

static struct lambda_state *state_get(tp_core *core)
{
    if (!core->lambda) {
        struct lambda_state *s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
        pthread_cond_init(&s->baton_cv, NULL);
        pthread_cond_init(&s->threads_cv, NULL);
        core->lambda = s;
        core->after_event = after_event;
    }
    return core->lambda;
}

const char *lambda_outcome_name(lambda_outcome o)
{
    switch (o) {
    case LAMBDA_SUCCESS: return "success";
    case LAMBDA_FN_ERROR: return "error";
    case LAMBDA_TIMEOUT: return "timeout";
    case LAMBDA_THROTTLED: return "throttled";
    }
    return "unknown";
}

static fn_count *count_of(struct lambda_state *s, const char *arn, int create)
{
    for (fn_count *c = s->counts; c; c = c->next)
        if (strcmp(c->arn, arn) == 0)
            return c;
    if (!create)
        return NULL;
    fn_count *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    snprintf(c->arn, sizeof c->arn, "%s", arn);
    c->next = s->counts;
    s->counts = c;
    return c;
}

static void inv_free(lambda_inv *inv)
{
    lambda_fn_clear(&inv->fn);
    free(inv->event);
    tp_buf_free(&inv->resp.buf);
    tp_buf_free(&inv->log);
    pthread_cond_destroy(&inv->cv);
    free(inv);
}

static void live_remove(struct lambda_state *s, lambda_inv *inv)
{
    for (lambda_inv **p = &s->live; *p; p = &(*p)->next)
        if (*p == inv) {
            *p = inv->next;
            return;
        }
}

static void handoff_push(tp_core *core, lambda_inv *inv)
{
    struct lambda_state *s = core->lambda;
    if (s->nhandoff == s->caphandoff) {
        size_t cap = s->caphandoff ? s->caphandoff * 2 : 8;
        lambda_inv **v = realloc(s->handoff, cap * sizeof *v);
        if (!v)
            return;   /* out of memory: the invocation stays parked until its timeout */
        s->handoff = v;
        s->caphandoff = cap;
    }
    s->handoff[s->nhandoff++] = inv;
}

static int64_t wall_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The condition variables' clock (CLOCK_REALTIME) at wall_ms. */
static void timespec_at(int64_t wall_ms, struct timespec *ts)
{
    ts->tv_sec = wall_ms / 1000;
    ts->tv_nsec = (wall_ms % 1000) * 1000000;
}

static void deadline_in(int64_t ms, struct timespec *ts) { timespec_at(wall_now_ms() + ms, ts); }

/* How long (wall clock) a handler may hold the baton without calling
 * tidepool: "handler_watchdog_ms", by default the function's timeout. */
static int64_t watchdog_ms(tp_core *core, const lambda_inv *inv)
{
    int64_t ms = lambda_setting(core, "handler_watchdog_ms", 0);
    return ms > 0 ? ms : inv->fn.timeout_ms;
}

/* The handler has computed past the watchdog without giving the baton
 * back (a loop that never ends): time moves on without it. Its deadline
 * event is still armed and records the timeout at the virtual deadline. */
static void orphan(tp_core *core, lambda_inv *inv, int64_t wall_ms)
{
    struct lambda_state *s = core->lambda;
    inv->orphaned = 1;
    s->holder = NULL;
    cJSON *f = cJSON_CreateObject();
    tp_json_add_int(f, "invocation", inv->id);
    cJSON_AddStringToObject(f, "request_id", inv->request_id);
    cJSON_AddStringToObject(f, "function", inv->fn.name);
    tp_json_add_int(f, "wall_ms", wall_ms);
    tp_trace_emit(core, "invoke_watchdog", f);
    cJSON_Delete(f);
}

/* Engine lock held, no transaction: runs each queued handler until it
 * gives the baton back, in the order they were queued. A handler that
 * computes (outside tp_call) past the watchdog is orphaned. */
static void after_event(tp_core *core)
{
    struct lambda_state *s = core->lambda;
    if (!s || !core->lock)
        return;
    size_t i = 0;
    while (i < s->nhandoff) {
        lambda_inv *inv = s->handoff[i++];
        int64_t limit = watchdog_ms(core, inv);
        struct timespec dl;
        inv->baton_wall_ms = wall_now_ms();
        timespec_at(inv->baton_wall_ms + limit, &dl);
        inv->go = 1;
        s->holder = inv;
        pthread_cond_signal(&inv->cv);
        /* inv may be freed once its thread ends: only holder is looked at
         * (while it is inv, the thread has not ended) */
        while (s->holder) {
            if (pthread_cond_timedwait(&s->baton_cv, core->lock, &dl) != ETIMEDOUT ||
                s->holder != inv)
                continue;
            int64_t now = wall_now_ms();
            if (!inv->in_call && now - inv->baton_wall_ms >= limit)
                orphan(core, inv, limit);
            else   /* a slow call is tidepool's time, not the handler's */
                timespec_at((inv->in_call ? now : inv->baton_wall_ms) + limit, &dl);
        }
        /* the handler may have queued more (never itself): keep going */
    }
    s->nhandoff = 0;
}

/* --- outcomes ------------------------------------------------------------ */

static void iso_time(int64_t ms, char *out, size_t cap) { tp_format_iso8601(ms, out, cap); }

static void log_line(lambda_inv *inv, int64_t now, const char *level, const char *text)
{
    char ts[40];
    iso_time(now, ts, sizeof ts);
    tp_buf_printf(&inv->log, "%s\t%s\t%s\t%s\n", ts, inv->request_id, level, text);
}

/* Lambda's START/END/REPORT frame around the handler's own lines; a
 * timeout's line comes after REPORT, as Lambda writes it (seeds/000). */
static char *log_with_frame(const lambda_inv *inv, int64_t end_ms, const char *timeout_line)
{
    tp_buf b;
    tp_buf_init(&b);
    tp_buf_printf(&b, "START RequestId: %s Version: $LATEST\n", inv->request_id);
    if (inv->log.len)
        tp_buf_append(&b, inv->log.data, inv->log.len);
    int64_t dur = end_ms - inv->start_ms;
    /* nothing measures a handler's memory: report a small function's use,
     * never more than its size */
    int64_t used_mb = inv->fn.memory_mb < 128 ? inv->fn.memory_mb : 128;
    tp_buf_printf(&b, "END RequestId: %s\n", inv->request_id);
    tp_buf_printf(&b,
                  "REPORT RequestId: %s\tDuration: %lld.00 ms\tBilled Duration: %lld ms\t"
                  "Memory Size: %lld MB\tMax Memory Used: %lld MB\t\n",
                  inv->request_id, (long long)dur, (long long)(dur > 0 ? dur : 1),
                  (long long)inv->fn.memory_mb, (long long)used_mb);
    if (timeout_line)
        tp_buf_printf(&b, "%s\n", timeout_line);
    char *s = tp_buf_take(&b);
    return s ? s : strdup("");
}

/* The error payload Lambda returns for a failed invocation. A handler that
 * answered with {"errorMessage":..,"errorType":..} keeps its own. */
static char *error_payload(lambda_inv *inv, const char **etype, const char **emsg, char *tbuf,
                           size_t tcap, char *mbuf, size_t mcap)
{
    if (inv->exited) {
        snprintf(tbuf, tcap, "Runtime.ExitError");
        lambda_exit_error_message(inv->request_id, inv->exit_sig, inv->exit_status, mbuf, mcap);
    } else if (inv->fault.fn_fail) {
        snprintf(tbuf, tcap, "%s", inv->fault.fail_type);
        snprintf(mbuf, mcap, "%s", inv->fault.fail_message);
    } else if (!inv->handler) {
        snprintf(tbuf, tcap, "Runtime.HandlerNotFound");
        snprintf(mbuf, mcap, "%s is not a registered handler", inv->fn.handler);
    } else {
        cJSON *r = inv->resp.buf.len ? tp_json_parse(inv->resp.buf.data, inv->resp.buf.len)
                                     : NULL;
        const char *t = tp_json_str(r, "errorType"), *m = tp_json_str(r, "errorMessage");
        snprintf(tbuf, tcap, "%s", t ? t : "HandlerError");
        if (m)
            snprintf(mbuf, mcap, "%s", m);
        else
            snprintf(mbuf, mcap, "handler %s returned %d", inv->fn.handler, inv->rc);
        if (cJSON_IsObject(r) && m) {
            char *keep = tp_json_print(r);
            cJSON_Delete(r);
            *etype = tbuf;
            *emsg = mbuf;
            return keep;
        }
        cJSON_Delete(r);
    }
    *etype = tbuf;
    *emsg = mbuf;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "errorMessage", mbuf);
    cJSON_AddStringToObject(o, "errorType", tbuf);
    char *s = tp_json_print(o);
    cJSON_Delete(o);
    return s;
}

static sqlite3_stmt *stmt(tp_core *core, const char *sql) { return tp_store_stmt(core->store, sql); }

/* Records the outcome: the row, the trace, the counters, then done().
 * Engine lock held, inside a transaction, clock at the outcome's time. */
static void resolve(lambda_inv *inv, lambda_outcome outcome)
{
    tp_core *core = inv->core;
    struct lambda_state *s = core->lambda;
    if (inv->resolved || inv->abandoned)
        return;
    inv->resolved = 1;
    inv->outcome = outcome;
    if (inv->timeout_ev) {
        tp_sched_cancel(core->sched, inv->timeout_ev);
        inv->timeout_ev = 0;
    }
    s->inflight--;
    fn_count *c = count_of(s, inv->fn.arn, 0);
    if (c && c->n > 0)
        c->n--;
    int64_t now = tp_clock_now_ms(core->clock);
    int64_t end = outcome == LAMBDA_TIMEOUT ? inv->deadline_ms : now;
    char tbuf[128] = "", mbuf[1024] = "", timeout_line[1100] = "";
    const char *etype = NULL, *emsg = NULL;
    char *payload = NULL;
    if (outcome == LAMBDA_SUCCESS) {
        payload = strdup(inv->resp.buf.len ? inv->resp.buf.data : "");
    } else if (outcome == LAMBDA_TIMEOUT) {
        /* Lambda's words: "<time> <request id> Task timed out after 3.00 seconds" */
        char ts[40];
        iso_time(end, ts, sizeof ts);
        snprintf(mbuf, sizeof mbuf, "%s %s Task timed out after %lld.%02lld seconds", ts,
                 inv->request_id, (long long)(inv->fn.timeout_ms / 1000),
                 (long long)(inv->fn.timeout_ms % 1000 / 10));
        snprintf(timeout_line, sizeof timeout_line, "%s", mbuf);
        emsg = mbuf;   /* no errorType: Lambda's payload has only the message */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "errorMessage", mbuf);
        payload = tp_json_print(o);
        cJSON_Delete(o);
    } else {
        payload = error_payload(inv, &etype, &emsg, tbuf, sizeof tbuf, mbuf, sizeof mbuf);
        /* Lambda's lines after REPORT for a runtime that died */
        if (inv->exited)
            snprintf(timeout_line, sizeof timeout_line, "%s\nRuntime.ExitError", mbuf);
    }
    char *logs = log_with_frame(inv, end, *timeout_line ? timeout_line : NULL);
    sqlite3_stmt *st = stmt(core,
                            "UPDATE lambda_invocations SET end_ms = ?, outcome = ?, error_type = ?,"
                            " error_message = ?, response = ?, logs = ?, calls = ?, retries = ?"
                            " WHERE id = ?");
    if (st) {
        sqlite3_bind_int64(st, 1, end);
        sqlite3_bind_text(st, 2, lambda_outcome_name(outcome), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, etype, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, emsg, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, payload, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 6, logs, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 7, inv->calls);
        sqlite3_bind_int64(st, 8, inv->retries);
        sqlite3_bind_int64(st, 9, inv->id);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    cJSON *f = cJSON_CreateObject();
    tp_json_add_int(f, "invocation", inv->id);
    cJSON_AddStringToObject(f, "request_id", inv->request_id);
    cJSON_AddStringToObject(f, "function", inv->fn.name);
    cJSON_AddStringToObject(f, "outcome", lambda_outcome_name(outcome));
    tp_json_add_int(f, "duration_ms", end - inv->start_ms);
    tp_json_add_int(f, "calls", inv->calls);
    tp_json_add_int(f, "sdk_retries", inv->retries);
    if (inv->cold)
        cJSON_AddTrueToObject(f, "cold_start");
    if (inv->exited && inv->exit_sig)
        tp_json_add_int(f, "signal", inv->exit_sig);
    if (etype)
        cJSON_AddStringToObject(f, "error_type", etype);
    if (emsg)
        cJSON_AddStringToObject(f, "error_message", emsg);
    tp_trace_emit(core, "invoke_end", f);
    cJSON_Delete(f);
    if (inv->done) {
        lambda_result res = {.outcome = outcome,
                             .invocation_id = inv->id,
                             .request_id = inv->request_id,
                             .function_arn = inv->fn.arn,
                             .payload = payload ? payload : "",
                             .error_type = etype,
                             .error_message = emsg,
                             .log_tail = logs,
                             .start_ms = inv->start_ms,
                             .end_ms = end};
        inv->done(core, &res, inv->done_arg);
    }
    free(payload);
    free(logs);
}

/* An invocation without a thread (a fault rule decided it) ends here. */
static void drop_threadless(tp_core *core, lambda_inv *inv)
{
    live_remove(core->lambda, inv);
    inv_free(inv);
}

static void timeout_event(tp_core *core, void *arg, int64_t due)
{
    lambda_inv *inv = arg;
    inv->timeout_ev = 0;
    if (inv->resolved || inv->abandoned)
        return;
    resolve(inv, LAMBDA_TIMEOUT);
    if (!inv->has_thread) {
        drop_threadless(core, inv);
        return;
    }
    /* let a waiting handler run out: every call from now on fails at once */
    if (is_virtual(core) && inv->resume_ev) {
        tp_sched_cancel(core->sched, inv->resume_ev);
        inv->resume_ev = 0;
        handoff_push(core, inv);
    } else if (!is_virtual(core)) {
        pthread_cond_broadcast(&inv->cv);
    }
}

static void fail_event(tp_core *core, void *arg, int64_t due)
{
    lambda_inv *inv = arg;
    inv->start_ev = 0;
    resolve(inv, LAMBDA_FN_ERROR);
    drop_threadless(core, inv);
}

static void start_event(tp_core *core, void *arg, int64_t due)
{
    lambda_inv *inv = arg;
    inv->start_ev = 0;
    handoff_push(core, inv);
}

static void resume_event(tp_core *core, void *arg, int64_t due)
{
    lambda_inv *inv = arg;
    inv->resume_ev = 0;
    handoff_push(core, inv);
}

/* --- the handler thread --------------------------------------------------- */

/* A handler that returns 0 with Lambda's error shape as its answer,
 * {"errorType": "...", "errorMessage": "..."}, has failed too, as a
 * runtime reporting that error would. */
static int is_error_response(const struct tp_response *r)
{
    if (!r->buf.len || r->buf.data[0] != '{' || !strstr(r->buf.data, "errorMessage"))
        return 0;
    cJSON *o = tp_json_parse(r->buf.data, r->buf.len);
    int err = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "errorType")) &&
              cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "errorMessage"));
    cJSON_Delete(o);
    return err;
}

void lambda_invocation_exited(tp_ctx *inv, int sig, int exit_status)
{
    inv->died = 1;
    inv->died_sig = sig;
    inv->died_status = exit_status;
}

/* The instance's init (a cold start) and the handler, under the crash
 * guard. */
static void run_handler(void *p)
{
    lambda_inv *inv = p;
    if (inv->cold && inv->init) {
        int rc = inv->init(inv);
        if (rc != 0) {
            lambda_invocation_exited(inv, 0, rc);
            return;
        }
    }
    inv->handler_rc = inv->handler(inv, inv->event, inv->event_len, &inv->resp);
}

static void *inv_main(void *p)
{
    lambda_inv *inv = p;
    tp_core *core = inv->core;
    struct lambda_state *s = core->lambda;
    current_inv = inv;
    pthread_mutex_lock(core->lock);
    while (!inv->go)
        pthread_cond_wait(&inv->cv, core->lock);
    int live = !inv->resolved && !inv->abandoned;
    pthread_mutex_unlock(core->lock);
    inv->handler_rc = -1;
    if (live && inv->handler) {
        int sig = lambda_crash_guard(run_handler, inv);
        if (sig)
            lambda_invocation_exited(inv, sig, 0);
    }
    pthread_mutex_lock(&detach_mu);
    int detached = atomic_load(&inv->detached);
    inv->leaving = !detached;
    pthread_mutex_unlock(&detach_mu);
    if (detached) {   /* the engine may be gone: touch nothing of it */
        current_inv = NULL;
        inv_free(inv);
        return NULL;
    }
    pthread_mutex_lock(core->lock);
    inv->finished = 1;
    inv->exited = inv->died;
    inv->exit_sig = inv->died_sig;
    inv->exit_status = inv->died_status;
    int rc = inv->rc = inv->handler_rc;
    int current = !inv->abandoned && inv->generation == s->generation;
    if (!inv->resolved && !inv->abandoned && inv->orphaned) {
        /* the deadline event records the timeout and frees inv */
        inv->has_thread = 0;
        s->threads--;
        pthread_cond_broadcast(&s->threads_cv);
        pthread_mutex_unlock(core->lock);
        current_inv = NULL;
        return NULL;
    }
    if (!inv->resolved && current) {
        if (tp_store_begin(core->store) == 0) {
            resolve(inv, rc == 0 && inv->handler && !inv->exited && !is_error_response(&inv->resp)
                             ? LAMBDA_SUCCESS
                             : LAMBDA_FN_ERROR);
            if (tp_store_commit(core->store) != 0)
                tp_store_rollback(core->store);
        }
    }
    /* the instance stays warm unless its runtime died or timed out */
    if (current && inv->resolved && !inv->exited && !inv->orphaned &&
        inv->outcome != LAMBDA_TIMEOUT) {
        fn_count *c = count_of(s, inv->fn.arn, 0);
        if (c)
            c->idle++;
    }
    if (s->holder == inv)
        s->holder = NULL;
    pthread_cond_broadcast(&s->baton_cv);
    live_remove(s, inv);
    s->threads--;
    pthread_cond_broadcast(&s->threads_cv);
    pthread_mutex_unlock(core->lock);
    current_inv = NULL;
    inv_free(inv);
    return NULL;
}

/* The handler gives the baton back for ms of tidepool time. Called on the
 * handler thread without the lock. 0, or -1 when the invocation timed out
 * or was abandoned meanwhile (or before). */
static int inv_wait(lambda_inv *inv, int64_t ms)
{
    tp_core *core = inv->core;
    if (atomic_load(&inv->detached))
        return -1;
    pthread_mutex_lock(core->lock);
    inv->in_call = 0;
    inv->baton_wall_ms = wall_now_ms();
    if (inv_dead(inv)) {
        pthread_mutex_unlock(core->lock);
        return -1;
    }
    if (is_virtual(core)) {
        int64_t now = tp_clock_now_ms(core->clock);
        int64_t due = now + (ms > 0 ? ms : 0);
        /* Nothing else is due by then and the scheduler may go that far:
         * its next step would be this resume, so take it here and keep the
         * baton (two thread switches saved per call, same order). Events
         * due at the same time were scheduled first, so they go first. */
        if (due <= core->baton_until_ms && tp_sched_next_due(core->sched) > due) {
            tp_clock_set_ms(core->clock, due);
            pthread_mutex_unlock(core->lock);
            return 0;
        }
        inv->resume_ev = tp_sched_at(core->sched, due, resume_event, inv);
        inv->go = 0;
        if (core->lambda->holder == inv)
            core->lambda->holder = NULL;
        pthread_cond_broadcast(&core->lambda->baton_cv);
        while (!inv->go)
            pthread_cond_wait(&inv->cv, core->lock);
    } else if (ms > 0) {
        struct timespec ts;
        deadline_in(ms, &ts);
        while (!inv->resolved && !inv->abandoned &&
               pthread_cond_timedwait(&inv->cv, core->lock, &ts) != ETIMEDOUT) {
        }
    }
    int rc = inv_dead(inv) ? -1 : 0;
    inv->baton_wall_ms = wall_now_ms();
    pthread_mutex_unlock(core->lock);
    return rc;
}

/* --- starting ------------------------------------------------------------- */

static void trace_throttle(tp_core *core, const lambda_invoke_req *req, const char *fn,
                           const char *reason)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "function", fn);
    cJSON_AddStringToObject(f, "source", req->source ? req->source : "invoke");
    if (req->source_id)
        cJSON_AddStringToObject(f, "source_id", req->source_id);
    cJSON_AddStringToObject(f, "reason", reason);
    tp_trace_emit(core, "invoke_throttled", f);
    cJSON_Delete(f);
}

/* The bounded log drops its middle every 64 invocations: rows older than
 * the newest keep_last, except the keep_first oldest. A dropped row may
 * belong to an invocation still running; its outcome then updates
 * nothing, and it is never shown (it is neither first nor last). */
static void prune_log(tp_core *core, const struct lambda_state *s, int64_t id)
{
    if (s->log_keep_last <= 0 || id % 64 != 0 || id <= s->log_keep_first + s->log_keep_last)
        return;
    sqlite3_stmt *st = stmt(core,
                            "DELETE FROM lambda_invocations WHERE id > (SELECT id FROM"
                            " lambda_invocations ORDER BY id LIMIT 1 OFFSET ?1) AND id <= ?2");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, s->log_keep_first > 0 ? s->log_keep_first - 1 : 0);
    sqlite3_bind_int64(st, 2, id - s->log_keep_last);
    sqlite3_step(st);
    sqlite3_reset(st);
}

void lambda_bound_invocations(tp_core *core, int64_t keep_first, int64_t keep_last)
{
    struct lambda_state *s = state_get(core);
    if (!s)
        return;
    s->log_keep_first = keep_first > 0 ? keep_first : 1;
    s->log_keep_last = keep_last > 0 ? keep_last : 0;
}

static int64_t one_int(tp_core *core, const char *sql, int64_t arg)
{
    sqlite3_stmt *st = stmt(core, sql);
    if (!st)
        return 0;
    if (arg >= 0)
        sqlite3_bind_int64(st, 1, arg);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return v;
}

int64_t lambda_invocations_total(tp_core *core)
{
    /* unbounded, as GET /_tidepool/invocations counts: every row */
    if (!core->lambda || core->lambda->log_keep_last <= 0)
        return one_int(core, "SELECT count(*) FROM lambda_invocations", -1);
    return one_int(core, "SELECT coalesce(max(id), 0) FROM lambda_invocations", -1);
}

int64_t lambda_invocations_tail_since(tp_core *core, int64_t n)
{
    return one_int(core, "SELECT coalesce((SELECT id FROM lambda_invocations ORDER BY id DESC"
                         " LIMIT 1 OFFSET ?1), 0)", n);
}

int lambda_invoke_start(tp_core *core, const lambda_invoke_req *req, int64_t *id, tp_error *err)
{
    struct lambda_state *s = state_get(core);
    if (!s || !core->lock)
        return tp_fail(err, TP_ERR_LAMBDA_SERVICE, "the invoker is not available");
    lambda_inv *inv = calloc(1, sizeof *inv);
    if (!inv)
        return tp_fail(err, TP_ERR_LAMBDA_SERVICE, "out of memory");
    int found = lambda_fn_find(core, req->account, req->region, req->function, &inv->fn);
    if (found <= 0) {
        free(inv);
        if (found < 0)
            return tp_fail(err, TP_ERR_LAMBDA_SERVICE, "storage error");
        char arn[300];
        if (strncmp(req->function, "arn:", 4) == 0)
            snprintf(arn, sizeof arn, "%s", req->function);
        else
            lambda_function_arn(req->region, req->account, req->function, arn, sizeof arn);
        return tp_fail(err, TP_ERR_LAMBDA_NOT_FOUND, "Function not found: %s", arn);
    }
    /* concurrency: the function's reservation, else the account's pool */
    fn_count *c = count_of(s, inv->fn.arn, 1);
    int64_t account_limit = lambda_setting(core, "account_concurrency", 1000);
    const char *reason = NULL;
    if (inv->fn.reserved >= 0 && c && c->n >= inv->fn.reserved)
        reason = "ReservedFunctionConcurrentInvocationLimitExceeded";
    else if (s->inflight >= account_limit)
        reason = "ConcurrentInvocationLimitExceeded";
    throttle_reason = reason;
    if (reason || !c) {
        trace_throttle(core, req, inv->fn.name, reason ? reason : "OutOfMemory");
        lambda_fn_clear(&inv->fn);
        free(inv);
        int rc = tp_fail(err, TP_ERR_LAMBDA_TOO_MANY_REQUESTS, "Rate Exceeded.");
        return rc;
    }
    inv->core = core;
    inv->generation = s->generation;
    inv->handler = lambda_handler_find(core, inv->fn.handler);
    inv->init = lambda_handler_init_find(core, inv->fn.handler);
    tp_handler_fn as_process = lambda_process_handler(core, &inv->fn);
    if (as_process)
        inv->handler = as_process;
    inv->event = malloc(req->event_len + 1);
    if (!inv->event) {
        lambda_fn_clear(&inv->fn);
        free(inv);
        return tp_fail(err, TP_ERR_LAMBDA_SERVICE, "out of memory");
    }
    memcpy(inv->event, req->event, req->event_len);
    inv->event[req->event_len] = 0;
    inv->event_len = req->event_len;
    snprintf(inv->source, sizeof inv->source, "%s", req->source ? req->source : "invoke");
    snprintf(inv->source_id, sizeof inv->source_id, "%s", req->source_id ? req->source_id : "");
    inv->done = req->done;
    inv->done_arg = req->arg;
    inv->start_ms = tp_clock_now_ms(core->clock);
    inv->deadline_ms = inv->start_ms + inv->fn.timeout_ms;
    tp_rng_uuid(&core->rng, inv->request_id);
    tp_rng_seed(&inv->rng, tp_rng_next(&core->rng));
    pthread_cond_init(&inv->cv, NULL);
    tp_buf_init(&inv->resp.buf);
    tp_buf_init(&inv->log);
    tp_faults_check_invocation(core->faults, inv->fn.name, inv->start_ms, &inv->fault);

    sqlite3_stmt *st = stmt(core,
                            "INSERT INTO lambda_invocations (request_id, account, region, function,"
                            " function_arn, source, source_id, start_ms, event)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st) {
        inv_free(inv);
        return tp_fail(err, TP_ERR_LAMBDA_SERVICE, "storage error");
    }
    sqlite3_bind_text(st, 1, inv->request_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, inv->fn.account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, inv->fn.region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, inv->fn.name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, inv->fn.arn, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, inv->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, inv->source_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, inv->start_ms);
    sqlite3_bind_text(st, 9, inv->event, (int)inv->event_len, SQLITE_STATIC);
    int ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
    if (!ok) {
        inv_free(inv);
        return tp_fail(err, TP_ERR_LAMBDA_SERVICE, "storage error");
    }
    inv->id = sqlite3_last_insert_rowid(tp_store_db(core->store));
    prune_log(core, s, inv->id);

    cJSON *f = cJSON_CreateObject();
    tp_json_add_int(f, "invocation", inv->id);
    cJSON_AddStringToObject(f, "request_id", inv->request_id);
    cJSON_AddStringToObject(f, "function", inv->fn.name);
    cJSON_AddStringToObject(f, "source", inv->source);
    if (*inv->source_id)
        cJSON_AddStringToObject(f, "source_id", inv->source_id);
    tp_json_add_int(f, "timeout_ms", inv->fn.timeout_ms);
    if (inv->fault.fn_fail || inv->fault.fn_timeout)
        cJSON_AddStringToObject(f, "fault", inv->fault.rule_id);
    tp_trace_emit(core, "invoke_start", f);
    cJSON_Delete(f);

    s->inflight++;
    c->n++;
    if (c->idle > 0)
        c->idle--;
    else
        inv->cold = 1;
    inv->next = s->live;
    s->live = inv;
    inv->timeout_ev = tp_sched_at(core->sched, inv->deadline_ms, timeout_event, inv);
    if (inv->fault.fn_fail) {
        inv->start_ev = tp_sched_at(core->sched, inv->start_ms, fail_event, inv);
    } else if (!inv->fault.fn_timeout) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 1u << 20);
        inv->go = !is_virtual(core);
        pthread_t th;
        if (pthread_create(&th, &attr, inv_main, inv) == 0) {
            inv->has_thread = 1;
            s->threads++;
        }
        pthread_attr_destroy(&attr);
        if (!inv->has_thread)   /* no thread: fail it like a crashed runtime */
            inv->start_ev = tp_sched_at(core->sched, inv->start_ms, fail_event, inv);
        else if (is_virtual(core))
            inv->start_ev = tp_sched_at(core->sched, inv->start_ms, start_event, inv);
    }
    if (id)
        *id = inv->id;
    return 0;
}

int64_t lambda_inflight(tp_core *core) { return core->lambda ? core->lambda->inflight : 0; }

int lambda_busy(tp_core *core)
{
    return lambda_inflight(core) > 0 || esm_busy(core);
}

/* Reset: every invocation is abandoned (no outcome, no done), its events
 * are dropped, and its thread is let run out; their calls fail at once. */
void lambda_abandon_all(tp_core *core)
{
    struct lambda_state *s = core->lambda;
    if (!s)
        return;
    s->generation++;
    lambda_inv **p = &s->live;
    while (*p) {
        lambda_inv *inv = *p;
        inv->abandoned = 1;
        if (inv->timeout_ev)
            tp_sched_cancel(core->sched, inv->timeout_ev);
        if (inv->resume_ev)
            tp_sched_cancel(core->sched, inv->resume_ev);
        if (inv->start_ev)
            tp_sched_cancel(core->sched, inv->start_ev);
        inv->timeout_ev = inv->resume_ev = inv->start_ev = 0;
        if (!inv->has_thread) {
            *p = inv->next;
            inv_free(inv);
            continue;
        }
        inv->go = 1;
        pthread_cond_broadcast(&inv->cv);
        p = &inv->next;
    }
    s->nhandoff = 0;
    s->inflight = 0;
    for (fn_count *c = s->counts; c; c = c->next)
        c->n = c->idle = 0;
}

/* Shutdown's last resort: handler threads still running after the grace
 * period (a loop that never ends) are let go. Each owns its invocation
 * from now on and frees it when (if) its handler returns. */
static void detach_stuck(struct lambda_state *s)
{
    pthread_mutex_lock(&detach_mu);
    lambda_inv **p = &s->live;
    while (*p) {
        lambda_inv *inv = *p;
        if (inv->has_thread && !inv->leaving) {
            atomic_store(&inv->detached, 1);
            s->threads--;
            *p = inv->next;
            continue;
        }
        p = &inv->next;
    }
    pthread_mutex_unlock(&detach_mu);
}

void lambda_shutdown(tp_core *core)
{
    struct lambda_state *s = core->lambda;
    if (!s)
        return;
    if (core->lock) {
        pthread_mutex_lock(core->lock);
        lambda_abandon_all(core);
        struct timespec dl;
        deadline_in(SHUTDOWN_GRACE_MS, &dl);
        int grace = 1;
        while (s->threads > 0) {
            if (!grace) {
                pthread_cond_wait(&s->threads_cv, core->lock);
            } else if (pthread_cond_timedwait(&s->threads_cv, core->lock, &dl) == ETIMEDOUT) {
                grace = 0;
                detach_stuck(s);
            }
        }
        pthread_mutex_unlock(core->lock);
    }
    while (s->counts) {
        fn_count *c = s->counts;
        s->counts = c->next;
        free(c);
    }
    free(s->handoff);
    pthread_cond_destroy(&s->baton_cv);
    pthread_cond_destroy(&s->threads_cv);
    free(s);
    core->lambda = NULL;
    core->after_event = NULL;
}

/* --- Invoke RequestResponse --------------------------------------------- */

typedef struct sync_wait {
    tp_core *core;
    uint64_t generation;
    int done;
    lambda_outcome outcome;
    char *payload, *error_type, *logs;
    int log_tail;
} sync_wait;

static void sync_done(tp_core *core, const lambda_result *res, void *arg)
{
    sync_wait *w = arg;
    w->done = 1;
    w->outcome = res->outcome;
    w->payload = strdup(res->payload ? res->payload : "");
    w->error_type = res->outcome == LAMBDA_SUCCESS ? NULL : strdup("Unhandled");
    w->logs = strdup(res->log_tail ? res->log_tail : "");
}

static int sync_finished(void *arg)
{
    sync_wait *w = arg;
    return w->done || !w->core->lambda || w->core->lambda->generation != w->generation;
}

static void sync_free(sync_wait *w)
{
    free(w->payload);
    free(w->error_type);
    free(w->logs);
    free(w);
}

static int sync_deferred(tp_req *r, void *arg, cJSON **out, tp_error *err)
{
    sync_wait *w = arg;
    tp_core *core = r->core;
    if (!core->host || !core->host->run_until) {
        sync_free(w);
        return tp_fail(err, TP_ERR_LAMBDA_SERVICE, "cannot wait for the invocation");
    }
    core->host->run_until(core->host->ctx, sync_finished, w);
    if (!w->done) {
        sync_free(w);
        return tp_fail(err, TP_ERR_LAMBDA_SERVICE,
                       "the invocation was abandoned (reset) before it ended");
    }
    cJSON *o = cJSON_CreateObject();
    tp_json_add_int(o, "StatusCode", 200);
    if (w->error_type)
        cJSON_AddStringToObject(o, "FunctionError", w->error_type);
    if (w->log_tail) {
        /* the last 4 KB of the log, base64 */
        size_t n = strlen(w->logs);
        const char *tail = n > LOG_TAIL_MAX ? w->logs + n - LOG_TAIL_MAX : w->logs;
        tp_buf b64;
        tp_buf_init(&b64);
        if (tp_base64_encode(tail, strlen(tail), &b64) == 0)
            cJSON_AddStringToObject(o, "LogResult", b64.data ? b64.data : "");
        tp_buf_free(&b64);
    }
    cJSON_AddStringToObject(o, "ExecutedVersion", "$LATEST");
    cJSON_AddStringToObject(o, "Payload", w->payload ? w->payload : "");
    *out = o;
    sync_free(w);
    return 0;
}

int lambda_invoke_sync(tp_req *r, const lambda_invoke_req *req, int log_tail, tp_error *err)
{
    tp_core *core = r->core;
    if (current_inv && is_virtual(core))
        return tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER,
                       "tidepool: a handler cannot make a RequestResponse Invoke on the virtual "
                       "clock; use InvocationType Event");
    struct lambda_state *s = state_get(core);
    sync_wait *w = calloc(1, sizeof *w);
    if (!s || !w) {
        free(w);
        return tp_fail(err, TP_ERR_LAMBDA_SERVICE, "out of memory");
    }
    w->core = core;
    w->generation = s->generation;
    w->log_tail = log_tail;
    lambda_invoke_req q = *req;
    q.done = sync_done;
    q.arg = w;
    throttle_reason = NULL;
    if (lambda_invoke_start(core, &q, NULL, err) != 0) {
        free(w);
        if (throttle_reason && !r->error_fields) {
            /* {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", ...} */
            r->error_fields = cJSON_CreateObject();
            cJSON_AddStringToObject(r->error_fields, "Reason", throttle_reason);
        }
        return -1;
    }
    r->deferred = sync_deferred;
    r->deferred_arg = w;
    return 0;
}

/* --- the handler's side (handler.h) ---------------------------------------- */

/* Every function here that takes the engine lock runs between
 * lambda_crash_enter and leave: a crash inside is tidepool's own (and must
 * not jump out with the lock held); and none touches the engine once
 * shutdown has let the invocation go (detached). */

int64_t tp_remaining_ms(tp_ctx *ctx)
{
    if (atomic_load(&ctx->detached))
        return 0;
    lambda_crash_enter();
    pthread_mutex_lock(ctx->core->lock);
    int64_t left = inv_dead(ctx) ? 0 : ctx->deadline_ms - tp_clock_now_ms(ctx->core->clock);
    pthread_mutex_unlock(ctx->core->lock);
    lambda_crash_leave();
    return left > 0 ? left : 0;
}

const char *tp_request_id(tp_ctx *ctx) { return ctx->request_id; }
const char *tp_function_name(tp_ctx *ctx) { return ctx->fn.name; }
const char *tp_function_arn(tp_ctx *ctx) { return ctx->fn.arn; }

const char *tp_getenv(tp_ctx *ctx, const char *name)
{
    const cJSON *v = ctx->fn.env ? cJSON_GetObjectItemCaseSensitive(ctx->fn.env, name) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t tp_now_ms(tp_ctx *ctx)
{
    if (atomic_load(&ctx->detached))
        return ctx->deadline_ms;
    lambda_crash_enter();
    pthread_mutex_lock(ctx->core->lock);
    int64_t now = tp_clock_now_ms(ctx->core->clock);
    pthread_mutex_unlock(ctx->core->lock);
    lambda_crash_leave();
    return now;
}

int tp_respond(tp_response *r, const char *data, size_t len)
{
    return r && data ? tp_buf_append(&r->buf, data, len) : -1;
}

int tp_respondf(tp_response *r, const char *fmt, ...)
{
    if (!r)
        return -1;
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof small)
        return tp_buf_append(&r->buf, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big)
        return -1;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = tp_buf_append(&r->buf, big, (size_t)n);
    free(big);
    return rc;
}

void tp_log(tp_ctx *ctx, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (atomic_load(&ctx->detached))
        return;
    lambda_crash_enter();
    pthread_mutex_lock(ctx->core->lock);
    if (!ctx->abandoned)
        log_line(ctx, tp_clock_now_ms(ctx->core->clock), "INFO", line);
    pthread_mutex_unlock(ctx->core->lock);
    lambda_crash_leave();
}

void tp_sleep_ms(tp_ctx *ctx, int64_t ms)
{
    lambda_crash_enter();
    if (ms > 0)
        inv_wait(ctx, ms);
    lambda_crash_leave();
}

void tp_set_retry_policy(tp_ctx *ctx, const tp_retry_policy *policy)
{
    if (policy)
        ctx->policy = *policy;
    else
        memset(&ctx->policy, 0, sizeof ctx->policy);
}

int64_t tp_retry_count(tp_ctx *ctx) { return ctx->retries; }

/* The virtual cost of one call: "service.Operation", "service", "default". */
static int64_t call_latency(tp_core *core, const tp_action *act)
{
    const cJSON *cfg = lambda_config(core);
    const cJSON *lat = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, "call_latency_ms") : NULL;
    if (!cJSON_IsObject(lat))
        return DEFAULT_CALL_LATENCY_MS;
    char key[160];
    const cJSON *v = NULL;
    if (act) {
        snprintf(key, sizeof key, "%s.%s", act->service, act->name);
        v = cJSON_GetObjectItemCaseSensitive(lat, key);
        if (!cJSON_IsNumber(v))
            v = cJSON_GetObjectItemCaseSensitive(lat, act->service);
    }
    if (!cJSON_IsNumber(v))
        v = cJSON_GetObjectItemCaseSensitive(lat, "default");
    return cJSON_IsNumber(v) && v->valuedouble >= 0 ? (int64_t)v->valuedouble
                                                     : DEFAULT_CALL_LATENCY_MS;
}

static int retryable(const tp_error *e)
{
    static const char *const codes[] = {
        "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
        "TooManyRequestsException", "TransactionConflictException", "ThrottlingError"};
    if (e->status >= 500)
        return 1;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(e->code, codes[i]) == 0)
            return 1;
    return 0;
}

static int timed_out_error(tp_ctx *ctx, tp_error *err)
{
    return tp_fail_raw(err, 0, TP_HANDLER_TIMEOUT_CODE,
                       "the invocation %s has timed out; tidepool calls fail from now on",
                       ctx->request_id);
}

static int call_tidepool(tp_ctx *ctx, const char *target, const char *request_json,
                         char **response_json, tp_error *err)
{
    tp_core *core = ctx->core;
    if (atomic_load(&ctx->detached))
        return timed_out_error(ctx, err);
    pthread_mutex_lock(core->lock);
    int dead = inv_dead(ctx);
    ctx->in_call = !dead;   /* until inv_wait, after the call */
    pthread_mutex_unlock(core->lock);
    if (dead)
        return timed_out_error(ctx, err);
    if (!core->host || !core->host->call)
        return tp_fail(err, TP_ERR_INTERNAL, "no engine to call");
    const tp_action *act = tp_dispatch_find(core->dispatch, target ? target : "");
    int64_t base_latency = call_latency(core, act);
    int max_attempts = ctx->policy.max_attempts > 1 ? ctx->policy.max_attempts : 1;
    for (int attempt = 1;; attempt++) {
        cJSON *in = request_json ? tp_json_parse_str(request_json) : cJSON_CreateObject();
        cJSON *out = NULL;
        int64_t fault_latency = 0;
        int rc;
        if (!cJSON_IsObject(in))
            rc = tp_fail(err, TP_ERR_SERIALIZATION, NULL);
        else
            rc = core->host->call(core->host->ctx, ctx->fn.account, ctx->fn.region, target, in,
                                  &out, err, &fault_latency);
        cJSON_Delete(in);
        ctx->calls++;
        if (rc == 0)
            *response_json = out ? tp_json_print(out) : strdup("{}");
        cJSON_Delete(out);
        if (inv_wait(ctx, base_latency + fault_latency) != 0) {
            free(*response_json);
            *response_json = NULL;
            return timed_out_error(ctx, err);
        }
        if (rc == 0)
            return 0;
        if (attempt >= max_attempts || !retryable(err))
            return -1;
        /* full jitter: uniform in [0, min(max_backoff, base * 2^attempt)) */
        int64_t cap = ctx->policy.base_ms > 0 ? ctx->policy.base_ms : 50;
        for (int i = 0; i < attempt && cap < (INT64_C(1) << 40); i++)
            cap *= 2;
        if (ctx->policy.max_backoff_ms > 0 && cap > ctx->policy.max_backoff_ms)
            cap = ctx->policy.max_backoff_ms;
        pthread_mutex_lock(core->lock);
        int64_t delay = cap > 0 ? (int64_t)tp_rng_below(&ctx->rng, (uint64_t)cap) : 0;
        ctx->retries++;
        cJSON *f = cJSON_CreateObject();
        tp_json_add_int(f, "invocation", ctx->id);
        cJSON_AddStringToObject(f, "target", target ? target : "");
        tp_json_add_int(f, "attempt", attempt + 1);
        tp_json_add_int(f, "delay_ms", delay);
        cJSON_AddStringToObject(f, "error", err->code);
        tp_trace_emit(core, "sdk_retry", f);
        cJSON_Delete(f);
        pthread_mutex_unlock(core->lock);
        if (inv_wait(ctx, delay) != 0)
            return timed_out_error(ctx, err);
    }
}

int tp_call(tp_ctx *ctx, const char *target, const char *request_json, char **response_json,
            tp_error *err)
{
    tp_error scratch;
    if (!err)
        err = &scratch;
    tp_error_clear(err);
    *response_json = NULL;
    lambda_crash_enter();
    int rc = call_tidepool(ctx, target, request_json, response_json, err);
    lambda_crash_leave();
    return rc;
}

tp_core *lambda_ctx_core(tp_ctx *ctx) { return ctx->core; }
const lambda_fn *lambda_ctx_fn(tp_ctx *ctx) { return &ctx->fn; }

void lambda_ctx_log_raw(tp_ctx *ctx, const char *line)
{
    pthread_mutex_lock(ctx->core->lock);
    if (!ctx->abandoned)
        tp_buf_printf(&ctx->log, "%s\n", line);
    pthread_mutex_unlock(ctx->core->lock);
}

/* The invocation a handler thread runs (0 elsewhere): the engine adds it to
 * the calls' "request" trace events. */
int64_t lambda_current_invocation(void) { return current_inv ? current_inv->id : 0; }

/* --- GET /_tidepool/invocations ------------------------------------------ */

cJSON *lambda_invocations_list(tp_core *core, int64_t since, const char *function, int64_t limit)
{
    sqlite3_stmt *st = stmt(core,
                            "SELECT id, request_id, function, function_arn, source, source_id,"
                            " start_ms, end_ms, outcome, error_type, error_message, event, response,"
                            " logs, calls, retries FROM lambda_invocations"
                            " WHERE id > ? AND (? IS NULL OR function = ?) ORDER BY id LIMIT ?");
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_text(st, 2, function, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, function, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, limit > 0 ? limit : INT64_MAX);
    cJSON *arr = cJSON_CreateArray();
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        tp_json_add_int(o, "id", sqlite3_column_int64(st, 0));
        static const char *const text_cols[] = {NULL, "request_id", "function", "function_arn",
                                                "source", "source_id"};
        for (int i = 1; i <= 5; i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            cJSON_AddStringToObject(o, text_cols[i], t ? (const char *)t : "");
        }
        int64_t start = sqlite3_column_int64(st, 6);
        tp_json_add_int(o, "start_ms", start);
        if (sqlite3_column_type(st, 7) == SQLITE_NULL) {
            cJSON_AddNullToObject(o, "end_ms");
            cJSON_AddNullToObject(o, "duration_ms");
            cJSON_AddStringToObject(o, "outcome", "running");
        } else {
            int64_t end = sqlite3_column_int64(st, 7);
            tp_json_add_int(o, "end_ms", end);
            tp_json_add_int(o, "duration_ms", end - start);
            const unsigned char *t = sqlite3_column_text(st, 8);
            cJSON_AddStringToObject(o, "outcome", t ? (const char *)t : "");
        }
        for (int i = 9; i <= 10; i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            if (t)
                cJSON_AddStringToObject(o, i == 9 ? "error_type" : "error_message",
                                        (const char *)t);
            else
                cJSON_AddNullToObject(o, i == 9 ? "error_type" : "error_message");
        }
        /* event and response as JSON when they are JSON, else as text */
        for (int i = 11; i <= 12; i++) {
            const char *t = (const char *)sqlite3_column_text(st, i);
            const char *key = i == 11 ? "event" : "response";
            cJSON *j = t && *t ? tp_json_parse_str(t) : NULL;
            if (j)
                cJSON_AddItemToObject(o, key, j);
            else if (t)
                cJSON_AddStringToObject(o, key, t);
            else
                cJSON_AddNullToObject(o, key);
        }
        const unsigned char *logs = sqlite3_column_text(st, 13);
        cJSON_AddStringToObject(o, "logs", logs ? (const char *)logs : "");
        tp_json_add_int(o, "calls", sqlite3_column_int64(st, 14));
        tp_json_add_int(o, "sdk_retries", sqlite3_column_int64(st, 15));
        cJSON_AddItemToArray(arr, o);
    }
    sqlite3_reset(st);
    return arr;
}
