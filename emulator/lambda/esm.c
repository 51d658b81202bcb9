/* lambda/esm — SKELETON: being written. */
#include <cjson/cJSON.h>
#include "lambda.h"
const char esm_schema[] = "SELECT 1;";
#define STUB(fn) int fn(tp_req *r, cJSON *in, cJSON **out, tp_error *err) { return tp_fail(err, TP_ERR_LAMBDA_SERVICE, "not implemented"); }
STUB(esm_create) STUB(esm_get) STUB(esm_list) STUB(esm_update) STUB(esm_delete)
int esm_start(tp_core *core) { return 0; }
int esm_busy(tp_core *core) { return 0; }
