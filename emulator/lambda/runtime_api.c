/* lambda/runtime_api — the Lambda Runtime API served to one process
 * instance (process.h), on its own 127.0.0.1 port as Lambda serves each
 * sandbox its own AWS_LAMBDA_RUNTIME_API:
 *
 *   GET  /2018-06-01/runtime/invocation/next          blocks until an event
 *   POST /2018-06-01/runtime/invocation/{id}/response the function's answer
 *   POST /2018-06-01/runtime/invocation/{id}/error    a function error
 *   POST /2018-06-01/runtime/init/error               init failed
 *
 * and tidepool's own extension, which tidepool's C runtime uses so that a
 * worker process lives on tidepool's clock (TIDEPOOL_RUNTIME_EXTENSIONS=1):
 *
 *   POST /2018-06-01/runtime/invocation/{id}/tidepool/sleep?ms=N
 *   GET  /2018-06-01/runtime/invocation/{id}/tidepool/now
 *   GET  /2018-06-01/runtime/invocation/{id}/tidepool/remaining
 *
 * One thread per connection: GET /next holds its thread while it waits,
 * which costs nothing else (one instance, one runtime loop). This file only
 * moves bytes between HTTP and the instance; process.c decides. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "process.h"

#define PREFIX "/2018-06-01/runtime/"
#define MAX_RESPONSE (6u * 1024u * 1024u)

typedef struct api_conn {
    tp_buf body;
    int too_large;
} api_conn;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
                             size_t len, proc_instance *inst, int with_event)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (with_event) {
        char v[32];
        MHD_add_response_header(r, "Lambda-Runtime-Aws-Request-Id", inst->request_id);
        snprintf(v, sizeof v, "%lld", (long long)inst->deadline_wall_ms);
        MHD_add_response_header(r, "Lambda-Runtime-Deadline-Ms", v);
        MHD_add_response_header(r, "Lambda-Runtime-Invoked-Function-Arn", inst->arn);
        MHD_add_response_header(r, "Lambda-Runtime-Trace-Id", inst->trace_id);
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_str(struct MHD_Connection *c, unsigned status, const char *body)
{
    return reply(c, status, body, strlen(body), NULL, 0);
}

static enum MHD_Result bad_request_id(struct MHD_Connection *c)
{
    return reply_str(c, 400, "{\"errorMessage\":\"Invalid request ID\","
                             "\"errorType\":\"InvalidRequestID\"}");
}

/* GET /next: the instance is ready; hand it the next event when one comes. */
static enum MHD_Result next_event(struct MHD_Connection *c, proc_instance *inst)
{
    pthread_mutex_lock(&inst->mu);
    inst->ready = 1;
    pthread_cond_broadcast(&inst->cv);
    while (!inst->has_event && inst->state != PROC_DEAD)
        pthread_cond_wait(&inst->cv, &inst->mu);
    if (inst->state == PROC_DEAD) {
        pthread_mutex_unlock(&inst->mu);
        return MHD_NO;   /* the process is being killed: close the connection */
    }
    inst->has_event = 0;
    enum MHD_Result ret = reply(c, 200, inst->event ? inst->event : "{}",
                                inst->event ? inst->event_len : 2, inst, 1);
    pthread_mutex_unlock(&inst->mu);
    return ret;
}

/* POST .../{id}/response|error, /init/error */
static enum MHD_Result post_result(struct MHD_Connection *c, proc_instance *inst, const char *id,
                                   proc_result what, const api_conn *ac)
{
    const char *etype =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Lambda-Runtime-Function-Error-Type");
    pthread_mutex_lock(&inst->mu);
    int ok = what == PROC_INIT_ERROR
                 ? inst->state != PROC_DEAD && inst->result == PROC_PENDING
                 : inst->state == PROC_BUSY && inst->result == PROC_PENDING && id &&
                       strcmp(id, inst->request_id) == 0;
    if (ok) {
        tp_buf_free(&inst->payload);
        tp_buf_init(&inst->payload);
        if (ac->body.len)
            tp_buf_append(&inst->payload, ac->body.data, ac->body.len);
        snprintf(inst->error_type, sizeof inst->error_type, "%s", etype ? etype : "");
        inst->result = what;
        pthread_cond_broadcast(&inst->cv);
    }
    pthread_mutex_unlock(&inst->mu);
    if (!ok)
        return bad_request_id(c);
    return reply_str(c, 202, "{\"status\":\"OK\"}");
}

static enum MHD_Result extension(struct MHD_Connection *c, proc_instance *inst, const char *id,
                                 const char *what)
{
    pthread_mutex_lock(&inst->mu);
    int ok = inst->state == PROC_BUSY && strcmp(id, inst->request_id) == 0;
    pthread_mutex_unlock(&inst->mu);
    if (!ok)
        return bad_request_id(c);
    int64_t v;
    if (strcmp(what, "sleep") == 0) {
        const char *ms = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ms");
        v = proc_sleep(inst, ms ? strtoll(ms, NULL, 10) : 0);
    } else if (strcmp(what, "now") == 0) {
        v = proc_now_ms(inst);
    } else if (strcmp(what, "remaining") == 0) {
        v = proc_remaining_ms(inst);
    } else {
        return reply_str(c, 404, "{\"errorMessage\":\"unknown extension\","
                                 "\"errorType\":\"NotFound\"}");
    }
    char body[64];
    snprintf(body, sizeof body, "{\"ms\":%lld}", (long long)v);
    return reply_str(c, 200, body);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    proc_instance *inst = cls;
    api_conn *ac = *con_cls;
    if (!ac) {
        ac = calloc(1, sizeof *ac);
        if (!ac)
            return MHD_NO;
        *con_cls = ac;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (ac->body.len + *upload_data_size > MAX_RESPONSE)
            ac->too_large = 1;
        else if (tp_buf_append(&ac->body, upload_data, *upload_data_size) != 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strncmp(url, PREFIX, strlen(PREFIX)) != 0)
        return reply_str(c, 404, "{\"errorMessage\":\"not found\",\"errorType\":\"NotFound\"}");
    const char *p = url + strlen(PREFIX);
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (get && strcmp(p, "invocation/next") == 0)
        return next_event(c, inst);
    if (ac->too_large)
        /* Lambda's words for an answer above 6 MB */
        return reply_str(c, 413, "{\"errorMessage\":\"Exceeded maximum allowed payload size "
                                 "(6291556 bytes).\",\"errorType\":\"RequestEntityTooLarge\"}");
    if (post && strcmp(p, "init/error") == 0)
        return post_result(c, inst, NULL, PROC_INIT_ERROR, ac);
    if (strncmp(p, "invocation/", 11) == 0) {
        char id[64] = "", rest[64] = "";
        if (sscanf(p + 11, "%63[^/]/%63s", id, rest) == 2) {
            if (post && strcmp(rest, "response") == 0)
                return post_result(c, inst, id, PROC_RESPONSE, ac);
            if (post && strcmp(rest, "error") == 0)
                return post_result(c, inst, id, PROC_ERROR, ac);
            if (strncmp(rest, "tidepool/", 9) == 0)
                return extension(c, inst, id, rest + 9);
        }
    }
    return reply_str(c, 404, "{\"errorMessage\":\"not found\",\"errorType\":\"NotFound\"}");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    api_conn *ac = *con_cls;
    if (!ac)
        return;
    tp_buf_free(&ac->body);
    free(ac);
    *con_cls = NULL;
}

int proc_api_start(proc_instance *inst)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    inst->api = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                                 0, NULL, NULL, on_request, inst, MHD_OPTION_SOCK_ADDR, &addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, inst,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_END);
    if (!inst->api)
        return -1;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(inst->api, MHD_DAEMON_INFO_BIND_PORT);
    inst->port = di ? di->port : 0;
    return inst->port > 0 ? 0 : -1;
}

void proc_api_stop(proc_instance *inst)
{
    pthread_mutex_lock(&inst->mu);
    inst->state = PROC_DEAD;
    pthread_cond_broadcast(&inst->cv);
    pthread_mutex_unlock(&inst->mu);
    if (inst->api)
        MHD_stop_daemon(inst->api);
    inst->api = NULL;
}
