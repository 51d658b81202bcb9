/* lambda/invoke — SKELETON: being written. */
#include <cjson/cJSON.h>
#include "lambda.h"
const char lambda_invocations_schema[] = "SELECT 1;";
const char *lambda_outcome_name(lambda_outcome o) { return "success"; }
int lambda_invoke_start(tp_core *core, const lambda_invoke_req *req, int64_t *id, tp_error *err) { return tp_fail(err, TP_ERR_LAMBDA_SERVICE, "not implemented"); }
int lambda_invoke_sync(tp_req *r, const lambda_invoke_req *req, int log_tail, tp_error *err) { return tp_fail(err, TP_ERR_LAMBDA_SERVICE, "not implemented"); }
int64_t lambda_inflight(tp_core *core) { return 0; }
int lambda_busy(tp_core *core) { return 0; }
cJSON *lambda_invocations_list(tp_core *core, int64_t since, const char *function, int64_t limit) { return cJSON_CreateArray(); }
