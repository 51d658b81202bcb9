/* Fuzz target: dynamodb/expr — the condition/filter, update, projection
 * and key-condition parsers, and what runs on a parsed expression
 * (evaluation, update application, projection, key-schema matching).
 *
 * Input: one selector byte (mod 5: condition, filter, update, projection,
 * key condition), then the expression text. ExpressionAttributeNames and
 * Values are fixed maps (#a..#e, :s :n :b :l :m :ss :ns :t :z :bs), so
 * that most references resolve; the item every parse is applied to holds
 * one attribute of each type. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "dynamodb/expr/condition.h"
#include "dynamodb/expr/keycond.h"
#include "dynamodb/expr/projection.h"
#include "dynamodb/expr/update.h"
#include "fuzz_request.h"

static const char NAMES[] =
    "{\"#a\":\"pk\",\"#b\":\"sk\",\"#c\":\"m\",\"#d\":\"l\",\"#e\":\"a.b\"}";
static const char VALUES[] =
    "{\":s\":{\"S\":\"x\"},\":n\":{\"N\":\"1.5\"},\":b\":{\"B\":\"AQID\"},"
    "\":l\":{\"L\":[{\"N\":\"1\"},{\"S\":\"y\"}]},\":m\":{\"M\":{\"k\":{\"S\":\"v\"}}},"
    "\":ss\":{\"SS\":[\"x\",\"y\"]},\":ns\":{\"NS\":[\"1\",\"2\"]},\":bs\":{\"BS\":[\"AQ==\"]},"
    "\":t\":{\"BOOL\":true},\":z\":{\"NULL\":true},\":big\":{\"N\":\"9.9999999999999999999999999999999999999E+125\"}}";
static const char ITEM[] =
    "{\"pk\":{\"S\":\"k\"},\"sk\":{\"N\":\"3\"},\"s\":{\"S\":\"hello\"},\"n\":{\"N\":\"10\"},"
    "\"b\":{\"B\":\"AQID\"},\"ss\":{\"SS\":[\"x\"]},\"ns\":{\"NS\":[\"1\"]},\"bs\":{\"BS\":[\"AQ==\"]},"
    "\"l\":{\"L\":[{\"N\":\"1\"},{\"L\":[{\"S\":\"d\"}]},{\"M\":{\"q\":{\"N\":\"2\"}}}]},"
    "\"m\":{\"M\":{\"k\":{\"S\":\"v\"},\"n\":{\"M\":{\"d\":{\"N\":\"0\"}}}}},"
    "\"t\":{\"BOOL\":false},\"z\":{\"NULL\":true}}";

static cJSON *names, *values, *item;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tp_error err;
    names = tp_json_parse_str(NAMES);
    values = tp_json_parse_str(VALUES);
    item = tp_json_parse_str(ITEM);
    if (!names || !values || !item || ddb_expr_values_validate(values, &err) != 0)
        abort();
    return 0;
}

static void fuzz_cond(const char *kind, const char *text)
{
    ddb_cond *c = NULL;
    tp_error err;
    if (ddb_cond_parse(kind, text, names, values, &c, &err) != 0) {
        if (c)
            abort();
        return;
    }
    ddb_cond_eval(c, item);
    ddb_cond_eval(c, NULL);
    ddb_expr_usage u;
    ddb_expr_usage_init(&u);
    ddb_expr_usage_add_cond(&u, c);
    ddb_expr_usage_check(&u, names, values, &err);
    ddb_expr_usage_free(&u);
    ddb_cond_free(c);
}

static int count_path(const ddb_path *p, void *ctx)
{
    (void)p;
    ++*(size_t *)ctx;
    return 0;
}

static void fuzz_update(const char *text)
{
    ddb_update *u = NULL;
    tp_error err;
    if (ddb_update_parse(text, names, values, &u, &err) != 0)
        return;
    size_t n = 0;
    ddb_update_each_path(u, count_path, &n);
    for (size_t i = 0; i < ddb_update_count(u); i++) {
        ddb_update_path(u, i);
        ddb_update_value_type(u, i);
    }
    cJSON *copy = cJSON_Duplicate(item, 1);
    ddb_update_apply(u, copy, &err);
    char *text_out = tp_json_print(copy);
    free(text_out);
    cJSON_Delete(copy);
    ddb_update_free(u);
}

static void fuzz_projection(const char *text)
{
    ddb_projection *p = NULL;
    tp_error err;
    if (ddb_projection_parse(text, names, &p, &err) != 0)
        return;
    static const char *const keys[] = {"pk", "sk"};
    ddb_projection_check_unused(p, names, &err);
    ddb_projection_check_keys(p, keys, 2, "projection", &err);
    cJSON *out = ddb_projection_apply(p, item);
    cJSON_Delete(out);
    ddb_projection_free(p);
}

static void fuzz_keycond(const char *text)
{
    ddb_keycond *kc = NULL;
    tp_error err;
    if (ddb_keycond_parse(text, names, values, &kc, &err) != 0)
        return;
    const ddb_kc_term *h = NULL, *r = NULL;
    ddb_keycond_match(kc, "pk", 'S', "sk", 'N', &h, &r, &err);
    ddb_keycond_match(kc, "pk", 'S', NULL, 0, &h, &r, &err);
    static const char *const hash[] = {"pk", "s"}, *const range[] = {"sk", "n", "b"};
    const ddb_kc_term *hs[2], *rs[3];
    int nr = 0;
    ddb_keycond_match_multi(kc, hash, "SS", 2, range, "NNB", 3, hs, rs, &nr, &err);
    ddb_keycond_free(kc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = fz_text(data + 1, size - 1);
    if (!text)
        return 0;
    switch (data[0] % 5) {
    case 0: fuzz_cond("ConditionExpression", text); break;
    case 1: fuzz_cond("FilterExpression", text); break;
    case 2: fuzz_update(text); break;
    case 3: fuzz_projection(text); break;
    default: fuzz_keycond(text); break;
    }
    free(text);
    return 0;
}
