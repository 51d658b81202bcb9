/* lambda/filter — SKELETON: being written. */
#include <stdlib.h>
#include "lambda.h"
struct esm_filter { int all; };
esm_filter *esm_filter_new(const cJSON *criteria, tp_error *err) { return calloc(1, sizeof(esm_filter)); }
void esm_filter_free(esm_filter *f) { free(f); }
int esm_filter_match(const esm_filter *f, const cJSON *record) { return 1; }
