/* Fuzz target: dynamodb/partiql_parse — PartiQL statements
 * (ExecuteStatement, BatchExecuteStatement, ExecuteTransaction).
 *
 * Input: the statement text. The Parameters array is made to match the
 * number of '?' in the text (cycling through one AttributeValue of each
 * type), so a statement with parameters gets past the count check; an
 * input whose first byte is '!' gets no Parameters at all. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "dynamodb/partiql.h"
#include "fuzz_request.h"

static const char *const PARAMS[] = {
    "{\"S\":\"x\"}", "{\"N\":\"-1.5E3\"}", "{\"B\":\"AQID\"}", "{\"BOOL\":true}",
    "{\"NULL\":true}", "{\"SS\":[\"a\",\"b\"]}", "{\"L\":[{\"N\":\"1\"}]}",
    "{\"M\":{\"k\":{\"S\":\"v\"}}}", "{\"NS\":[\"1\"]}", "{\"BS\":[\"AQ==\"]}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_text(data, size);
    if (!text)
        return 0;
    cJSON *params = NULL;
    if (size == 0 || text[0] != '!') {
        params = cJSON_CreateArray();
        size_t k = 0;
        for (size_t i = 0; i < size && k < 64; i++)
            if (text[i] == '?')
                cJSON_AddItemToArray(params,
                                     tp_json_parse_str(PARAMS[k++ % (sizeof PARAMS / sizeof *PARAMS)]));
    }
    pq_stmt *s = NULL;
    tp_error err;
    if (pq_parse(text, params, &s, &err) == 0) {
        pq_node **terms = NULL;
        if (s->where)
            pq_conjuncts(s->where, &terms);
        free(terms);
        pq_stmt_free(s);
    }
    cJSON_Delete(params);
    free(text);
    return 0;
}
