/* lambda/functions — SKELETON: being written. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include "lambda.h"
const char lambda_functions_schema[] = "SELECT 1;";
#define STUB(fn) int fn(tp_req *r, cJSON *in, cJSON **out, tp_error *err) { return tp_fail(err, TP_ERR_LAMBDA_SERVICE, "not implemented"); }
STUB(lambda_create_function) STUB(lambda_get_function) STUB(lambda_get_function_configuration)
STUB(lambda_list_functions) STUB(lambda_delete_function) STUB(lambda_update_function_configuration)
STUB(lambda_put_function_concurrency) STUB(lambda_get_function_concurrency)
STUB(lambda_delete_function_concurrency) STUB(lambda_get_account_settings) STUB(lambda_invoke)
int lambda_fn_find(tp_core *core, const char *account, const char *region, const char *name_or_arn, lambda_fn *out) { return 0; }
void lambda_fn_clear(lambda_fn *f) { cJSON_Delete(f->env); f->env = NULL; }
int lambda_functions_start(tp_core *core) { return 0; }
