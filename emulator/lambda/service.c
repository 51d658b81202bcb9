/* lambda/service — Lambda's tp_service: the action table (actions.def with
 * the generated input shapes), the storage schema of every lambda/ file,
 * service start, and the helpers the files share (settings, ARNs, calling
 * another service from inside lambda/).
 *
 * Targets: Lambda is a REST API on the wire; inside tidepool (dispatch,
 * tp_call, the embedding API) its operations are named
 * "Lambda_20150331.<Operation>" with the request members as a JSON object
 * (URI labels, query and header members included), e.g.
 * tp_call(ctx, "Lambda_20150331.Invoke",
 *         "{\"FunctionName\":\"f\",\"InvocationType\":\"Event\",\"Payload\":\"{}\"}", ..). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/json.h"
#include "core/store.h"
#include "lambda.h"
#include "shapes.gen.h"

#define LAMBDA_TARGET_PREFIX "Lambda_20150331."

#define LAMBDA_ACTION(Name, fn, flags) int fn(tp_req *r, cJSON *in, cJSON **out, tp_error *err);
#include "actions.def"
#undef LAMBDA_ACTION

extern const char lambda_functions_schema[];
extern const char lambda_invocations_schema[];
extern const char esm_schema[];
extern const char lambda_code_schema[];

const cJSON *lambda_config(const tp_core *core)
{
    return core->config ? cJSON_GetObjectItemCaseSensitive(core->config, "lambda") : NULL;
}

int64_t lambda_setting(const tp_core *core, const char *name, int64_t dflt)
{
    const cJSON *cfg = lambda_config(core);
    return cfg ? tp_json_int(cfg, name, dflt) : dflt;
}

void lambda_function_arn(const char *region, const char *account, const char *name, char *out,
                         size_t cap)
{
    snprintf(out, cap, "arn:aws:lambda:%s:%s:function:%s", region, account, name);
}

int lambda_call_internal(tp_core *core, const char *account, const char *region,
                         const char *target, cJSON *in, cJSON **out, tp_error *err)
{
    *out = NULL;
    if (!core->host || !core->host->call_in_txn)
        return tp_fail(err, TP_ERR_INTERNAL, "no engine to call %s", target);
    return core->host->call_in_txn(core->host->ctx, account, region, target, in, out, err);
}

static int lambda_start(tp_core *core)
{
    if (tp_store_exec(core->store, lambda_functions_schema) != 0 ||
        tp_store_exec(core->store, lambda_invocations_schema) != 0 ||
        tp_store_exec(core->store, esm_schema) != 0 ||
        tp_store_exec(core->store, lambda_code_schema) != 0)
        return -1;
    if (lambda_functions_start(core) != 0)
        return -1;
    return esm_start(core);
}

static const tp_action lambda_actions[] = {
#define LAMBDA_ACTION(Name, fn, fl)                                                          \
    {.target = LAMBDA_TARGET_PREFIX #Name, .service = "lambda", .name = #Name,               \
     .input = &tp_lambda_input_##Name, .run = fn, .flags = (fl)},
#include "actions.def"
#undef LAMBDA_ACTION
};

const tp_service lambda_service = {
    .name = "lambda",
    .schema_sql = NULL,   /* each file's tables, created by lambda_start */
    .actions = lambda_actions,
    .nactions = sizeof lambda_actions / sizeof lambda_actions[0],
    .start = lambda_start,
};
