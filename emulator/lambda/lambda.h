/* lambda/lambda — functions, invocations and event source mappings: the
 * interfaces between the files of lambda/ (and what engine.c and control/
 * call). Nothing here is public; handlers see only tidepool/handler.h.
 *
 *   functions.c  function storage + CreateFunction .. PutFunctionConcurrency,
 *                Invoke (RequestResponse, Event, DryRun), config "functions"
 *   invoke.c     the invoker: handler threads, the virtual-time baton,
 *                timeouts, concurrency, tp_call/tp_sleep/tp_log, the
 *                invocation log (lambda_invocations)
 *   esm.c        event source mappings: Create/Get/List/Update/Delete, the
 *                state machine, config "event_source_mappings"
 *   poller.c     the mappings' poll event; stream-like sources' lanes,
 *                batching, retries, bisect, partial failures, discard +
 *                OnFailure, lineage (esm.h: the event source interface)
 *   source_dynamodb.c  DynamoDB streams as a stream-like source
 *   source_kinesis.c   Kinesis streams as a stream-like source
 *   source_sqs.c SQS queues as a source: batches, deletes, pollers that
 *                scale with the backlog
 *   filter.c     FilterCriteria patterns (compile, match)
 *   crash.c      handlers that crash: signals on an invocation thread fail
 *                the invocation (Runtime.ExitError), not tidepool
 *   registry.c   handler registry (compiled-in + --handlers lib.so)
 *   process.c    process handlers (process.h): a config "command", a zip's
 *                bootstrap or "isolation": "process"; instances, the proxy
 *   runtime_api.c  the Lambda Runtime API served to each instance
 *   service.c    the tp_service (action table from actions.def, schema,
 *                start) and the shared helpers below
 *
 * Config (the --config file's "lambda" object):
 *   "functions": [ {CreateFunction's request members}, ... ],
 *   "event_source_mappings": [ {CreateEventSourceMapping's members}, ... ],
 *   "poll_interval_ms": 250,            DynamoDB stream shard polling
 *   "kinesis_poll_interval_ms": 1000,   Kinesis shard polling
 *   "account_concurrency": 1000,        ConcurrentExecutions limit
 *   "call_latency_ms": {"default": 5, "dynamodb.UpdateItem": 12, ...}
 *                                       virtual cost of each tp_call
 *   "retry_base_ms": 1000, "retry_max_ms": 60000
 *                                       stream batch retry backoff
 *   "sqs_poll_interval_ms": 200, "sqs_pollers_initial": 5,
 *   "sqs_pollers_per_minute": 300, "sqs_pollers_max": 1250
 *                                       SQS mappings (source_sqs.c)
 *
 * Locking: everything here runs under the engine lock inside a store
 * transaction unless a comment says otherwise (the handler-side functions
 * of invoke.c run on handler threads and take the lock themselves). */
#ifndef TP_LAMBDA_H
#define TP_LAMBDA_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "core/error.h"
#include "tidepool/handler.h"

typedef struct cJSON cJSON;

/* --- service.c ------------------------------------------------------------- */

/* An integer setting of the config's "lambda" object. */
int64_t lambda_setting(const tp_core *core, const char *name, int64_t dflt);
/* The config's "lambda" object, or NULL. Borrowed. */
const cJSON *lambda_config(const tp_core *core);
/* "arn:aws:lambda:REGION:ACCOUNT:function:NAME" */
void lambda_function_arn(const char *region, const char *account, const char *name, char *out,
                         size_t cap);
/* Calls another service's action from inside lambda/ (a poller reading a
 * stream, an OnFailure destination): the target's model validation and
 * action run in the caller's transaction, as account/region. No fault
 * rules, no request trace. 0 ok (*out set, caller frees), -1 with err. */
int lambda_call_internal(tp_core *core, const char *account, const char *region,
                         const char *target, cJSON *in, cJSON **out, tp_error *err);

/* --- functions.c ----------------------------------------------------------- */

typedef struct lambda_fn {
    int64_t id;
    char account[13];
    char region[32];
    char name[65];
    char arn[256];
    char handler[129];
    char role[256];         /* the configuration's Role */
    int64_t timeout_ms;     /* Timeout * 1000; default 3 s, at most 900 s */
    int reserved;           /* reserved concurrency; -1 when not set */
    int64_t memory_mb;      /* MemorySize (128 by default): the REPORT line's */
    cJSON *env;             /* Environment.Variables (owned), or NULL */
} lambda_fn;

/* Looks a function up by name, partial ARN or ARN (with or without
 * ":$LATEST"). 1 found (fill *out; lambda_fn_clear it), 0 not found,
 * -1 storage error. */
int lambda_fn_find(tp_core *core, const char *account, const char *region,
                   const char *name_or_arn, lambda_fn *out);
void lambda_fn_clear(lambda_fn *f);
/* Creates the config file's functions (service start, after a reset). */
int lambda_functions_start(tp_core *core);

/* --- invoke.c -------------------------------------------------------------- */

typedef enum lambda_outcome {
    LAMBDA_SUCCESS = 0,   /* handler returned 0 */
    LAMBDA_FN_ERROR,      /* handler returned non-zero, or a fault rule's "fail" */
    LAMBDA_TIMEOUT,       /* ran past its timeout */
    LAMBDA_THROTTLED,     /* never started: concurrency limit */
} lambda_outcome;

const char *lambda_outcome_name(lambda_outcome o);   /* "success", "error", ... */

typedef struct lambda_result {
    lambda_outcome outcome;
    int64_t invocation_id;      /* row of lambda_invocations */
    const char *request_id;
    const char *function_arn;
    /* success: the handler's response text ("" when it wrote none);
     * error/timeout: Lambda's error payload {"errorMessage":..,"errorType":..} */
    const char *payload;
    const char *error_type;     /* "Unhandled" handler error type, or NULL */
    const char *error_message;  /* or NULL */
    const char *log_tail;       /* the invocation's log lines */
    int64_t start_ms, end_ms;
} lambda_result;

/* Called exactly once per started invocation, when its outcome is known,
 * under the engine lock inside a store transaction, with the clock at the
 * outcome's time. Not called when a reset or shutdown abandons it. */
typedef void (*lambda_done_fn)(tp_core *core, const lambda_result *res, void *arg);

typedef struct lambda_invoke_req {
    const char *account, *region;
    const char *function;          /* name or ARN */
    const char *event;             /* the event JSON (copied) */
    size_t event_len;
    const char *source;            /* trace label: "esm", "invoke", "event" */
    const char *source_id;         /* e.g. the mapping's UUID, or NULL */
    lambda_done_fn done;
    void *arg;
} lambda_invoke_req;

/* Starts an invocation now. 0: started (done follows later; *id set if
 * non-NULL). -1 with err when it cannot start: ResourceNotFoundException
 * (no such function), TooManyRequestsException (reserved or account
 * concurrency is used up; the trace gets an "invoke_throttled" event). */
int lambda_invoke_start(tp_core *core, const lambda_invoke_req *req, int64_t *id, tp_error *err);

/* Invoke RequestResponse: starts the invocation and arranges (through
 * r->deferred) for the engine to wait, after this call's transaction
 * commits, until it ends — running virtual time forward meanwhile — and
 * then build the response: {"StatusCode":200, "Payload": <text>,
 * "FunctionError": "Unhandled" (on error), "LogResult": base64 tail
 * (log_tail set), "ExecutedVersion": "$LATEST"}. -1 with err when the
 * invocation cannot start. */
int lambda_invoke_sync(tp_req *r, const lambda_invoke_req *req, int log_tail, tp_error *err);

/* Reset: abandons every invocation (no outcome, no done callback; their
 * threads run out with every tidepool call failing). */
void lambda_abandon_all(tp_core *core);
/* Engine teardown, without the lock: abandons all, waits for the handler
 * threads to end, frees the invoker's state. */
void lambda_shutdown(tp_core *core);
/* What lambda/process.c's proxy handler needs of its invocation: the
 * core, the function, and a log line written as is (a process's own
 * output). lambda_ctx_log_raw takes the lock itself. */
tp_core *lambda_ctx_core(tp_ctx *ctx);
const lambda_fn *lambda_ctx_fn(tp_ctx *ctx);
void lambda_ctx_log_raw(tp_ctx *ctx, const char *line);
/* The invocation the calling thread runs as a handler, or 0. */
int64_t lambda_current_invocation(void);

/* Invocations in flight (started, outcome not yet known). */
int64_t lambda_inflight(tp_core *core);
/* 1 while anything lambda/ will still do without new input: invocations
 * in flight, retries pending, mappings with unread records. */
int lambda_busy(tp_core *core);

/* GET /_tidepool/invocations: [{"id","request_id","function","function_arn",
 * "source","source_id","start_ms","end_ms","duration_ms","outcome",
 * "error_type","error_message","event","response","logs","calls",
 * "sdk_retries"}...] with
 * id > since, optionally one function's; limit 0 = all. New tree. */
cJSON *lambda_invocations_list(tp_core *core, int64_t since, const char *function, int64_t limit);
/* A bounded invocation log (tidepool run: hours of virtual time start
 * millions of invocations, and only the ends of the log are shown): from
 * now on the log keeps its keep_first oldest and keep_last newest rows and
 * drops the rest as it grows. keep_last 0: unbounded (the default). */
void lambda_bound_invocations(tp_core *core, int64_t keep_first, int64_t keep_last);
/* The number of invocations in the log, those dropped by the bound
 * included (ids count up from 1 and only the middle is dropped). */
int64_t lambda_invocations_total(tp_core *core);
/* The id after which the log's last n invocations come (for
 * lambda_invocations_list's since). */
int64_t lambda_invocations_tail_since(tp_core *core, int64_t n);

/* The handler's runtime died (sig: the signal; 0: it exited with
 * exit_status): the invocation fails with Runtime.ExitError, Lambda's
 * "RequestId: <id> Error: Runtime exited with error: signal: segmentation
 * fault", and its instance is discarded (the next invocation is a cold
 * start). Called on the invocation's thread before the handler call
 * returns to the invoker; takes no lock. */
void lambda_invocation_exited(tp_ctx *inv, int sig, int exit_status);

/* --- crash.c ---------------------------------------------------------------- */

/* Runs fn(arg) so that a crash in it (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGABRT on this thread, outside lambda_crash_enter/leave) returns here:
 * 0 when fn returned, else the signal number. */
int lambda_crash_guard(void (*fn)(void *arg), void *arg);
/* Brackets tidepool's own code run on a handler's thread (tp_call ...):
 * a crash inside is tidepool's and is not caught. */
void lambda_crash_enter(void);
void lambda_crash_leave(void);
/* "segmentation fault", "aborted", ... (Go's names), or NULL. */
const char *lambda_signal_name(int sig);
/* Lambda's errorMessage for a runtime that died by sig (or, sig 0, exited
 * with exit_status): "RequestId: <id> Error: Runtime exited with error:
 * signal: segmentation fault" / "... exit status 1". */
void lambda_exit_error_message(const char *request_id, int sig, int exit_status, char *out,
                               size_t cap);

/* --- esm.c / poller.c ------------------------------------------------------- */

/* Re-arms pollers for stored mappings and creates the config's mappings
 * (service start, after a reset). */
int esm_start(tp_core *core);
/* 1 while any mapping has work it knows of (a batch in flight, a retry
 * waiting, records read but not yet delivered). */
int esm_busy(tp_core *core);
/* The longest shard polling interval among the stream mappings (DynamoDB's
 * when there are none): how far apart run-until-idle looks. */
int64_t esm_idle_step_ms(tp_core *core);
/* Something changed for the resource named key (tp_core_wake: an SQS queue
 * got a receivable message): the enabled mappings reading it poll now, as
 * a long-polling AWS poller would return. Engine lock held. */
void esm_source_woken(tp_core *core, const char *key);

/* --- filter.c ---------------------------------------------------------------- */

typedef struct esm_filter esm_filter;

/* Compiles FilterCriteria {"Filters":[{"Pattern":"<json text>"}, ...]}
 * (NULL or no Filters: matches everything). NULL with err
 * (InvalidParameterValueException, AWS's message) on a bad pattern. */
esm_filter *esm_filter_new(const cJSON *criteria, tp_error *err);
void esm_filter_free(esm_filter *f);
/* 1 when record (the event record as the handler would get it) matches
 * any of the filters, else 0. */
int esm_filter_match(const esm_filter *f, const cJSON *record);

/* --- registry.c --------------------------------------------------------------- */

/* The engine's handler registry (made on first use, freed with the core). */
tp_handler_registry *lambda_registry(tp_core *core);
void lambda_registry_free(tp_core *core);
tp_handler_fn lambda_handler_find(tp_core *core, const char *name);
/* The init function registered for the handler name (tp_register_init), or NULL. */
tp_init_fn lambda_handler_init_find(tp_core *core, const char *name);
/* dlopen()s a handler library and calls its tp_handlers_init. 0, or -1
 * with why. */
int lambda_handlers_load(tp_core *core, const char *path, char *why, size_t why_cap);

#endif
