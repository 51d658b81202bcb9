/* lambda/process — functions whose code is a process: an executable
 * `bootstrap` from the function's zip (provided.al2023 / provided.al2), a
 * command from the config ("command": "node index.js", any runtime), or a
 * C handler run in a worker process ("isolation": "process"). The process
 * talks to tidepool the way a Lambda runtime talks to Lambda: through the
 * Runtime API (runtime_api.c), each instance on its own 127.0.0.1 port.
 *
 *   process.c      instances (spawn, warm pool, kill), the proxy handler
 *                  that stands in for the process on the invocation thread,
 *                  code storage (lambda_code), calls forwarded from the
 *                  process's SDK (AWS_SESSION_TOKEN names the instance)
 *   runtime_api.c  /2018-06-01/runtime/... served to one instance
 *
 * An instance's life (proc_instance.state):
 *
 *   spawn --> INIT --GET /next--> IDLE --event assigned--> BUSY
 *   INIT --POST /init/error or exit--> DEAD (the invocation fails: init error)
 *   BUSY --POST /response or /error--> IDLE (back into the warm pool)
 *   BUSY --exit / killed at the deadline / reset--> DEAD (discarded)
 *
 * The invocation's thread (invoke.c) runs the proxy as its handler: while
 * the process works it holds the virtual-time baton, so virtual time moves
 * only when the process calls tidepool (each call goes through tp_call, at
 * its configured latency) or sleeps through the Runtime API extension. */
#ifndef TP_LAMBDA_PROCESS_H
#define TP_LAMBDA_PROCESS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/core.h"
#include "tidepool/handler.h"

typedef struct cJSON cJSON;
typedef struct lambda_fn lambda_fn;

typedef enum proc_state {
    PROC_INIT = 0,
    PROC_IDLE,
    PROC_BUSY,
    PROC_DEAD,
} proc_state;

typedef enum proc_result {
    PROC_PENDING = 0,
    PROC_RESPONSE,      /* POST /invocation/{id}/response */
    PROC_ERROR,         /* POST /invocation/{id}/error */
    PROC_INIT_ERROR,    /* POST /init/error */
} proc_result;

typedef struct proc_instance {
    struct lambda_procs *pool;
    char key[512];              /* function ARN + code identity: warm-pool match */
    char token[48];             /* AWS_SESSION_TOKEN: names the instance to tidepool */
    pid_t pid;
    int out_fd, err_fd;         /* the process's stdout/stderr (non-blocking) */
    tp_buf out_line, err_line;  /* partial lines */
    struct MHD_Daemon *api;     /* its Runtime API (runtime_api.c) */
    int port;
    int refs;                   /* pool list + calls in flight (pool->mu) */
    int retired;                /* reset/shutdown: never reused (pool->mu) */
    /* guarded by mu; cv signals every change */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    proc_state state;
    int ready;                  /* it has asked for an event (init is over) */
    int in_use;                 /* an invocation has it (pool->mu) */
    int exited, status;         /* waitpid's */
    int has_event;              /* an event waits for GET /next */
    char request_id[40];
    char *event;
    size_t event_len;
    int64_t deadline_wall_ms;   /* Lambda-Runtime-Deadline-Ms */
    char arn[256];
    char trace_id[128];
    proc_result result;
    tp_buf payload;             /* the response or error document */
    char error_type[128];       /* Lambda-Runtime-Function-Error-Type */
    /* forwarded calls: the invocation they run as (call_mu serialises them) */
    pthread_mutex_t call_mu;
    tp_ctx *ctx;
    struct proc_instance *next;
} proc_instance;

/* --- process.c --------------------------------------------------------------- */

extern const char lambda_code_schema[];

/* engine.c / main.c: where the process's SDK calls go (AWS_ENDPOINT_URL)
 * and the --handlers libraries a worker process loads. NULL keeps what
 * was set. */
void lambda_process_configure(tp_core *core, const char *endpoint_url, const char *handler_libs);
/* CreateFunction / DeleteFunction: the zip is kept (for a bootstrap). */
int lambda_code_save(tp_core *core, const char *account, const char *region, const char *name,
                     const void *zip, size_t len, const char *sha);
void lambda_code_drop(tp_core *core, const char *account, const char *region, const char *name);
/* 1 when the function in (Create/UpdateFunctionConfiguration's request)
 * runs as a process, so its Handler needs no registered C handler. */
int lambda_process_accepts(tp_req *r, const cJSON *in);
/* The proxy handler when fn runs as a process, else NULL. Lock held. */
tp_handler_fn lambda_process_handler(tp_core *core, const lambda_fn *fn);
/* engine.c's HTTP path: a call carrying an instance's session token runs as
 * that instance's current invocation (tp_call). 1 handled (rc in *rc), 0 not
 * (no such instance or no invocation running: an ordinary call). No lock. */
int lambda_process_call(tp_core *core, const char *token, const char *target, const cJSON *in,
                        cJSON **out, tp_error *err, int *rc);
/* Reset (lock held): every instance is killed. Shutdown (no lock): killed
 * and freed. */
void lambda_process_reset(tp_core *core);
void lambda_process_shutdown(tp_core *core);

/* The instance's Runtime API extension (runtime_api.c): virtual sleep, clock
 * and remaining time for the running invocation. */
int64_t proc_sleep(proc_instance *inst, int64_t ms);
int64_t proc_now_ms(proc_instance *inst);
int64_t proc_remaining_ms(proc_instance *inst);

/* --- runtime_api.c ------------------------------------------------------------ */

/* Starts the instance's Runtime API on 127.0.0.1 (inst->port set). */
int proc_api_start(proc_instance *inst);
/* Wakes a blocked GET /next (state DEAD) and stops the server. */
void proc_api_stop(proc_instance *inst);

#endif
