/* capacity/faults — fault-injection rules (issue 5).
 *
 * A rule is one JSON object, the same in the config file's "faults" array
 * and in POST /_tidepool/faults:
 *   match:    "service" ("dynamodb" (the default), "dynamodbstreams",
 *             "sqs", "kinesis", "lambda", "*"), "operation" (the action's
 *             name: "PutItem", "SendMessage" for target
 *             AmazonSQS.SendMessage), "resource" (table, queue or stream
 *             name; glob with * and ?; default "*")
 *   triggers: "after" N (skip the first N matching calls), "every" K (fire
 *             on every Kth matching call after those), "probability" p in
 *             [0,1] with "seed" (per-rule RNG: the same seed replays the
 *             same faults), "from_ms"/"until_ms" (tidepool clock, epoch ms,
 *             until exclusive; calls outside the window do not match),
 *             "count" (fire at most N times)
 *   effects:  "error" {"code", "status", "message"}, "latency_ms",
 *             "drop_connection": true (no response, the action does not
 *             run), "lose_response": true (the action runs and commits, the
 *             response is never sent); for function invocations (service
 *             "lambda", operation "Invoke", resource the function name):
 *             "fail": true | {"errorType", "errorMessage"} (a function error
 *             without running the handler), "timeout": true (the invocation
 *             runs to its timeout)
 * Rules are evaluated in order at the start of each call (before model
 * validation). Every rule whose match and window apply counts the call;
 * the first one whose triggers fire applies its effects and evaluation
 * stops, so later rules do not see that call.
 *
 * Reset (POST /_tidepool/reset) drops the rules added through the API and
 * brings the config file's rules back with zeroed counters and re-seeded
 * RNGs, so a run after a reset replays the same faults.
 *
 * The set has its own mutex; tp_faults_check may run with or without the
 * engine lock (the engine calls it under the lock, so the order of
 * evaluation is the order calls are served). */
#ifndef TP_CAPACITY_FAULTS_H
#define TP_CAPACITY_FAULTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct cJSON cJSON;
typedef struct tp_faults tp_faults;

typedef struct tp_fault_hit {
    char rule_id[64];
    int has_error;
    int status;
    char code[128];
    char message[512];
    int64_t latency_ms;      /* 0: none */
    int drop_connection;
    int lose_response;
    /* function effects (rules for service "lambda", operation "Invoke",
     * resource the function name), checked when an invocation starts */
    int fn_fail;             /* fails without running the handler */
    int fn_timeout;          /* runs to its timeout without running the handler */
    char fail_type[128];
    char fail_message[512];
} tp_fault_hit;

tp_faults *tp_faults_new(void);
void tp_faults_free(tp_faults *f);

/* Validates rule and appends it. from_config: it survives reset. On success
 * writes the rule's id (its "id" member, or "rule-N") to id_out and returns
 * 0; on bad input writes a message to why and returns -1. */
int tp_faults_add(tp_faults *f, const cJSON *rule, int from_config, char *id_out, size_t id_cap,
                  char *why, size_t why_cap);
/* Loads a config's "faults" array (absent: nothing); -1 with why on error. */
int tp_faults_load_config(tp_faults *f, const cJSON *config, char *why, size_t why_cap);
/* Removes one rule; 0, or -1 when there is no such id. */
int tp_faults_remove(tp_faults *f, const char *id);
/* Removes every rule (DELETE /_tidepool/faults). */
void tp_faults_remove_all(tp_faults *f);
/* Reset: API rules go, config rules stay with fresh counters and RNGs. */
void tp_faults_reset(tp_faults *f);
/* [{"id", "rule": {...as given}, "matched": n, "fired": n}, ...] */
cJSON *tp_faults_list(tp_faults *f);
size_t tp_faults_count(tp_faults *f);

/* The resource a request names: TableName, else the first RequestItems
 * table, else the first TransactItems entry's table, else the queue of
 * QueueUrl (its last path segment) or QueueName, else StreamName or the
 * stream of StreamARN, else the table of a DynamoDB StreamArn; else "". */
void tp_faults_resource_of(const cJSON *request, char *out, size_t cap);

/* Evaluates the rules for one call at tidepool time now_ms; returns 1 and
 * fills hit when a rule fires, 0 otherwise. */
int tp_faults_check(tp_faults *f, const char *service, const char *operation,
                    const char *resource, int64_t now_ms, tp_fault_hit *hit);

/* The same for an invocation of function starting now: only rules with a
 * function effect ("fail", "timeout") are considered (and tp_faults_check
 * never considers those). */
int tp_faults_check_invocation(tp_faults *f, const char *function, int64_t now_ms,
                               tp_fault_hit *hit);

/* Glob match with * and ?. */
int tp_faults_glob(const char *pattern, const char *s);

#endif
