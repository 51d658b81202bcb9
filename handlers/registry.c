/* handlers/registry — the handlers compiled into tidepool, by name. A
 * function's Handler names one of these (or one a --handlers library
 * registers). Adding a handler: its file here, one line below, one line in
 * CMakeLists.txt's TP_HANDLER_SOURCES. */
#include "tidepool/handler.h"

int tp_builtin_handlers_init(tp_handler_registry *reg);
int tp_handler_echo(tp_ctx *ctx, const char *event_json, size_t len, tp_response *response);
int tp_handler_quote_fanout(tp_ctx *ctx, const char *event_json, size_t len, tp_response *response);
int tp_handler_quote_fanout_idempotent(tp_ctx *ctx, const char *event_json, size_t len,
                                       tp_response *response);
int tp_handler_idempotent_writer(tp_ctx *ctx, const char *event_json, size_t len,
                                 tp_response *response);
int tp_handler_idempotent_writer_conditional(tp_ctx *ctx, const char *event_json, size_t len,
                                             tp_response *response);
int tp_handler_bid_latency(tp_ctx *ctx, const char *event_json, size_t len, tp_response *response);
int tp_handler_statement_scheduler(tp_ctx *ctx, const char *event_json, size_t len,
                                   tp_response *response);
int tp_handler_statement_scheduler_batch(tp_ctx *ctx, const char *event_json, size_t len,
                                         tp_response *response);
int tp_handler_statement_loader(tp_ctx *ctx, const char *event_json, size_t len,
                                tp_response *response);
int tp_handler_kinesis_restore_producer(tp_ctx *ctx, const char *event_json, size_t len,
                                        tp_response *response);
int tp_handler_kinesis_restore_writer(tp_ctx *ctx, const char *event_json, size_t len,
                                      tp_response *response);

static const struct {
    const char *name;
    tp_handler_fn fn;
} builtin[] = {
    {"echo", tp_handler_echo},
    {"quote_fanout", tp_handler_quote_fanout},
    {"quote_fanout_idempotent", tp_handler_quote_fanout_idempotent},
    {"idempotent_writer", tp_handler_idempotent_writer},
    {"idempotent_writer_conditional", tp_handler_idempotent_writer_conditional},
    {"bid_latency", tp_handler_bid_latency},
    {"statement_scheduler", tp_handler_statement_scheduler},
    {"statement_scheduler_batch", tp_handler_statement_scheduler_batch},
    {"statement_loader", tp_handler_statement_loader},
    {"kinesis_restore_producer", tp_handler_kinesis_restore_producer},
    {"kinesis_restore_writer", tp_handler_kinesis_restore_writer},
    {NULL, NULL},
};

int tp_builtin_handlers_init(tp_handler_registry *reg)
{
    int rc = 0;
    for (unsigned i = 0; builtin[i].name; i++)
        if (tp_register_handler(reg, builtin[i].name, builtin[i].fn) != 0)
            rc = -1;
    return rc;
}
