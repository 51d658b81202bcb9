/* tidepool/handler.h — the contract between tidepool and a C handler.
 *
 * A handler is what Lambda would run: tidepool calls it with the event JSON
 * (byte for byte what Lambda sends: a DynamoDB stream batch is
 * {"Records":[{"eventID":..,"eventName":..,"dynamodb":{..},"eventSourceARN":..}]}),
 * the handler does its work, calling back into tidepool with tp_call (the
 * same JSON as the wire API), and writes its response. Return 0 for success
 * and non-zero for a function error ("Unhandled"); an answer in Lambda's
 * error shape, {"errorType": "...", "errorMessage": "..."}, is a function
 * error too, whatever the return value (it becomes the error payload). A stream handler whose
 * mapping has FunctionResponseTypes ReportBatchItemFailures may answer
 * {"batchItemFailures":[{"itemIdentifier":"<SequenceNumber>"}]}.
 *
 * Time: on tidepool's virtual clock a handler's own computing takes no
 * time; time passes only when it calls tidepool. Each tp_call costs the
 * configured virtual latency of its operation, tp_sleep_ms its argument.
 * While a handler waits, everything else due meanwhile runs (other
 * invocations, pollers, timers), one at a time, so a run replays exactly.
 * On the real clock invocations run in parallel on their own threads.
 *
 * Timeouts: once an invocation passes its function's timeout it is
 * recorded as "Task timed out after N.NN seconds" and its batch fails;
 * from then on tp_call fails at once (TP_HANDLER_TIMEOUT_CODE), tp_sleep_ms
 * returns at once and tp_remaining_ms is 0. The handler should return.
 * A handler that computes on without calling tidepool is abandoned at its
 * timeout (on the virtual clock, after handler_watchdog_ms of wall time).
 *
 * Crashes: a SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT (abort, assert)
 * raised by the handler on its invocation thread fails the invocation as
 * Lambda's Runtime.ExitError ("Runtime exited with error: signal:
 * segmentation fault") and discards the instance; tidepool runs on. It
 * cannot undo memory the handler corrupted first (see README).
 *
 * Registration: compiled in (handlers/registry.c lists them) or loaded with
 * `tidepool serve --handlers lib.so`: the library exports
 *   int tp_handlers_init(tp_handler_registry *reg);
 * which calls tp_register_handler for each of its handlers and returns 0.
 *
 * Versioning: TP_HANDLER_ABI_VERSION changes whenever a signature here
 * changes; tidepool refuses a library built against another version
 * (tp_register_handler checks it). No cJSON types cross this header.
 * Strings returned by tidepool are borrowed for the invocation's life
 * unless stated otherwise. */
#ifndef TIDEPOOL_HANDLER_H
#define TIDEPOOL_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "tidepool/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TP_HANDLER_ABI_VERSION 1

/* The error code tp_call reports once the invocation has timed out. */
#define TP_HANDLER_TIMEOUT_CODE "Task.TimedOut"

typedef struct tp_ctx tp_ctx;

/* A growable response buffer owned by tidepool; append with tp_respond*. */
typedef struct tp_response tp_response;

typedef int (*tp_handler_fn)(tp_ctx *ctx, const char *event_json, size_t len,
                             tp_response *response);

/* --- the invocation ----------------------------------------------------- */

/* Milliseconds left before the function's timeout (0 once past it). */
int64_t tp_remaining_ms(tp_ctx *ctx);
/* The invocation's request id (a UUID, as Lambda's context.awsRequestId). */
const char *tp_request_id(tp_ctx *ctx);
/* The function's name and ARN. */
const char *tp_function_name(tp_ctx *ctx);
const char *tp_function_arn(tp_ctx *ctx);
/* An environment variable of the function (Environment.Variables), or NULL. */
const char *tp_getenv(tp_ctx *ctx, const char *name);
/* tidepool's clock, epoch milliseconds (virtual or real). */
int64_t tp_now_ms(tp_ctx *ctx);

/* Appends to the response (the function's return value: JSON text). */
int tp_respond(tp_response *r, const char *data, size_t len);
int tp_respondf(tp_response *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* --- calling tidepool ---------------------------------------------------- */

/* Calls any tidepool API as the function's account and region: target as
 * on the wire ("DynamoDB_20120810.UpdateItem", "DynamoDBStreams_20120810.
 * GetRecords"), request_json its body. 0 on success with *response_json set
 * (free() it); -1 with err filled (AWS code, message, HTTP status) on an
 * error. Takes the configured virtual latency. With a retry policy set
 * (tp_set_retry_policy), retryable errors (throttling, 5xx) are retried
 * first, as the AWS SDKs do; err is the last attempt's error. A long poll
 * (SQS ReceiveMessage with WaitTimeSeconds) never waits here: it answers
 * at once with what is there, as a short poll would (a handler that wants
 * to wait calls tp_sleep_ms and polls again). */
int tp_call(tp_ctx *ctx, const char *target, const char *request_json, char **response_json,
            tp_error *err);

/* The AWS SDKs' retry behaviour, opt-in per invocation: up to max_attempts
 * attempts in all; before attempt n+1 the handler sleeps a random time in
 * [0, min(max_backoff_ms, base_ms * 2^n)) ("full jitter") drawn from
 * tidepool's seeded RNG, so a run replays. Retried: ThrottlingException,
 * ProvisionedThroughputExceededException, RequestLimitExceeded,
 * TooManyRequestsException, TransactionConflictException and every 5xx.
 * max_attempts <= 1 turns retries off (the default). */
typedef struct tp_retry_policy {
    int max_attempts;
    int64_t base_ms;
    int64_t max_backoff_ms;
} tp_retry_policy;
/* The AWS SDK for JavaScript v2's DynamoDB defaults: 11 attempts, 50 ms
 * base; v3 and boto3 "legacy" use 3 or 4 attempts. */
#define TP_RETRY_SDK_DYNAMODB ((tp_retry_policy){.max_attempts = 11, .base_ms = 50, .max_backoff_ms = 20000})
void tp_set_retry_policy(tp_ctx *ctx, const tp_retry_policy *policy);
/* How many retries tp_call made in this invocation so far. */
int64_t tp_retry_count(tp_ctx *ctx);

/* A line in the invocation's log (GET /_tidepool/invocations, Invoke's
 * LogType=Tail). Costs no virtual time. */
void tp_log(tp_ctx *ctx, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Lets ms of tidepool time pass (simulated work or a backoff). */
void tp_sleep_ms(tp_ctx *ctx, int64_t ms);

/* --- registration -------------------------------------------------------- */

typedef struct tp_handler_registry tp_handler_registry;

/* Registers fn under name (a function's Handler names it). abi_version is
 * TP_HANDLER_ABI_VERSION as the caller was compiled. 0 ok; -1 when the
 * version differs, the name is taken or empty. */
int tp_register_handler_abi(tp_handler_registry *reg, int abi_version, const char *name,
                            tp_handler_fn fn);
#define tp_register_handler(reg, name, fn) \
    tp_register_handler_abi((reg), TP_HANDLER_ABI_VERSION, (name), (fn))

/* Lambda's init phase: fn runs once per instance of a function whose
 * Handler is name, on the invocation thread before that instance's first
 * invocation (a cold start), with the invocation's ctx. tidepool keeps an
 * instance warm after an invocation that returned and discards it after
 * one that crashed or timed out, so the next invocation runs init again.
 * A non-zero return fails the invocation as a runtime that exited with
 * that status (Runtime.ExitError) and discards the instance. 0 ok; -1
 * when no handler name is registered or it has an init already. */
typedef int (*tp_init_fn)(tp_ctx *ctx);
int tp_register_init(tp_handler_registry *reg, const char *name, tp_init_fn fn);

/* What a handler library exports (see above). */
typedef int (*tp_handlers_init_fn)(tp_handler_registry *reg);
#define TP_HANDLERS_INIT_SYMBOL "tp_handlers_init"

#ifdef __cplusplus
}
#endif
#endif
