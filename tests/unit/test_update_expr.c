/* Unit tests: dynamodb/expr/update — UpdateExpression parsing with AWS's
 * exact messages, and applying updates to items.
 *
 * Where the expected strings come from:
 *   [D]  dynalite's test/updateItem.js, recorded against AWS;
 *   [A]  scylladb alternator's test_update_expression.py / AWS messages
 *        quoted there, and the UpdateItem API reference's list of
 *        ValidationException messages;
 *   [R]  derived from those (the lexer's "near" rule, see test_projection.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "dynamodb/attr.h"
#include "dynamodb/expr/update.h"

#define UE "Invalid UpdateExpression: "
#define SYNTAX(tok, near) UE "Syntax error; token: \"" tok "\", near: \"" near "\""
#define OPERAND(op, ty) UE "Incorrect operand type for operator or function; operator: " op ", operand type: " ty
#define FUNC_TYPE(f, ty) \
    UE "Incorrect operand type for operator or function; operator or function: " f ", operand type: " ty
#define OVERLAP(a, b)                                                                      \
    UE "Two document paths overlap with each other; must remove or rewrite one of these " \
       "paths; path one: " a ", path two: " b
#define CONFLICT(a, b)                                                                      \
    UE "Two document paths conflict with each other; must remove or rewrite one of these " \
       "paths; path one: " a ", path two: " b
#define MISSING "The provided expression refers to an attribute that does not exist in the item"
#define BAD_TYPE "An operand in the update expression has an incorrect data type"
#define BAD_PATH "The document path provided in the update expression is invalid for update"
#define OVERFLOW "Number overflow. Attempting to store a number with magnitude larger than supported range"

/* The ExpressionAttributeValues every case may use. */
static const char values_json[] =
    "{\":s\":{\"S\":\"a\"},\":n\":{\"N\":\"1\"},\":b\":{\"B\":\"YQ==\"},\":t\":{\"BOOL\":true},"
    "\":nul\":{\"NULL\":true},\":ss\":{\"SS\":[\"a\",\"z\"]},\":ns\":{\"NS\":[\"1\",\"5\"]},"
    "\":bs\":{\"BS\":[\"YQ==\"]},\":m\":{\"M\":{}},\":l\":{\"L\":[{\"S\":\"x\"}]},"
    "\":big\":{\"N\":\"9.9999999999999999999999999999999999999E+125\"},"
    "\":half\":{\"N\":\"0.5\"},\":tiny\":{\"N\":\"0.1\"},\":neg\":{\"N\":\"-3\"}}";
static const char names_json[] = "{\"#a\":\"a\",\"#c\":\"c\",\"#d\":\"[3]\",\"#1\":\"1\"}";

static cJSON *parse_json(const char *json)
{
    cJSON *v = cJSON_Parse(json);
    if (!v)
        fail_msg("bad test JSON: %s", json);
    return v;
}

typedef struct parse_case {
    const char *expr;
    const char *message; /* exact ValidationException, or NULL when valid */
} parse_case;

static const parse_case parse_cases[] = {
    /* [A] */
    {"", UE "The expression can not be empty;"},
    {"   ", UE "The expression can not be empty;"},
    {"INVALID SYNTAX HERE", SYNTAX("INVALID", "INVALID SYNTAX")},
    /* [D] syntax errors (dynalite pins the prefix), [R] the token and near */
    {"set a = b / c", SYNTAX("/", "b / c")},
    {"set :a = b", SYNTAX(":a", "set :a =")},
    {"add :a b", SYNTAX(":a", "add :a b")},
    {"remove :a", SYNTAX(":a", "remove :a")},
    {"set a = b + c + d", SYNTAX("+", "c + d")},
    {"set a[1] = 1", SYNTAX("1", "= 1")},
    {"SET if_not_exist(a, b) = a", SYNTAX("(", "if_not_exist(a")},
    {"set a = if_not_exists(c, :n+:n)", SYNTAX("+", ":n+:n")},
    {"SET a", SYNTAX("<EOF>", "a")},
    {"SET a = :n,", SYNTAX("<EOF>", ",")},
    {"HELLO b = :n", SYNTAX("HELLO", "HELLO b")},
    {"ADD a", SYNTAX("<EOF>", "a")},
    {"ADD a b", SYNTAX("b", "a b")},
    /* [D] clause repeated */
    {"set a = #c set c = :n", UE "The \"SET\" section can only be used once in an update expression;"},
    {"remove #a set a = b remove e",
     UE "The \"REMOVE\" section can only be used once in an update expression;"},
    {"add #a :n set c = b add e :n",
     UE "The \"ADD\" section can only be used once in an update expression;"},
    {"delete #a :ss set c = b delete e :ss",
     UE "The \"DELETE\" section can only be used once in an update expression;"},
    /* [D] reserved words, before anything else semantic */
    {" set #c = :n set abOrt = :n ", UE "Attribute name is a reserved keyword; reserved keyword: abOrt"},
    {" remove Absolute ", UE "Attribute name is a reserved keyword; reserved keyword: Absolute"},
    /* [D] unknown function, before clause repetition */
    {"set #c = if_not_exist(:n) set c = d", UE "Invalid function name; function: if_not_exist"},
    {"SET a = LIST_APPEND(:l, :l)", UE "Invalid function name; function: LIST_APPEND"},
    /* [D] undefined names and values */
    {"SET #x = if_not_exists(:n)",
     UE "An expression attribute name used in the document path is not defined; attribute name: #x"},
    {"SET #a = if_not_exists(:x)",
     UE "An expression attribute value used in expression is not defined; attribute value: :x"},
    /* [D] overlaps and conflicts */
    {"set d[1] = a, d.b = a, c[1].a = a, #c = if_not_exists(a, :n)", OVERLAP("[c, [1], a]", "[c]")},
    {"set #c[3].#d = a, #c[3] = a", OVERLAP("[c, [3], [3]]", "[c, [3]]")},
    {"set #c[3].#d = a, #c.#d[3] = if_not_exists(a, :n)", CONFLICT("[c, [3], [3]]", "[c, [3], [3]]")},
    {"remove a.#c set a[1] = #d", CONFLICT("[a, c]", "[a, [1]]")},
    /* [A] */
    {"SET a = :n REMOVE a", OVERLAP("[a]", "[a]")},
    {"SET a = :n, a.b = :s", OVERLAP("[a]", "[a, b]")},
    {"SET a.b = :n, a[1] = :s", CONFLICT("[a, b]", "[a, [1]]")},
    /* [D] ADD / DELETE operand types */
    {"set b = list_append(:l, a), c = if_not_exists(a, :n) add a.b :s", OPERAND("ADD", "STRING")},
    {"delete a.b :s", OPERAND("DELETE", "STRING")},
    {"add a.b :nul", OPERAND("ADD", "NULL")},
    {"add a.b :t", OPERAND("ADD", "BOOLEAN")},
    {"delete a.b :b", OPERAND("DELETE", "BINARY")},
    {"add a.b :m", OPERAND("ADD", "MAP")},
    {"delete a.b :l", OPERAND("DELETE", "LIST")},
    {"delete a.b :n", OPERAND("DELETE", "NUMBER")},
    /* [D] functions */
    {"set a = if_not_exists(c)",
     UE "Incorrect number of operands for operator or function; operator or function: "
        "if_not_exists, number of operands: 1"},
    {"set a = list_append(c)",
     UE "Incorrect number of operands for operator or function; operator or function: "
        "list_append, number of operands: 1"},
    {"set a = if_not_exists(:s, c)",
     UE "Operator or function requires a document path; operator or function: if_not_exists"},
    {"set a = if_not_exists(if_not_exists(a, b), c)",
     UE "Operator or function requires a document path; operator or function: if_not_exists"},
    {"set a = list_append(:s, a)", FUNC_TYPE("list_append", "S")},
    {"set a = list_append(a, :n)", FUNC_TYPE("list_append", "N")},
    {"set a = list_append(:ss, a)", FUNC_TYPE("list_append", "SS")},
    {"set a = list_append(:m, a)", FUNC_TYPE("list_append", "M")},
    {"set a = a + :s", FUNC_TYPE("+", "S")},
    {"set a = :b + a", FUNC_TYPE("+", "B")},
    {"set a = a - :l", FUNC_TYPE("-", "L")},
    {"set a = a - :nul", FUNC_TYPE("-", "NULL")},
    /* [A] list_append may not nest */
    {"SET a = list_append(list_append(:l, :l), :l)",
     UE "The function is not allowed to be used this way in an expression; function: list_append"},
    /* valid */
    {"SET a = :n", NULL},
    {"set a=:n,b=a , c = list_append(if_not_exists(c, :l), :l) REMOVE d[1], e.f ADD g :n DELETE h :ss",
     NULL},
    {"SET a = (:n + b)", NULL},
    {"SET a = (:n) - (b)", NULL},
    {"SET b = if_not_exists(b, :n) + :n", NULL},
    {"remove #a, #c.#d", NULL},
};

static void test_parse_table(void **state)
{
    (void)state;
    cJSON *values = parse_json(values_json), *names = parse_json(names_json);
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const parse_case *c = &parse_cases[i];
        ddb_update *u = NULL;
        tp_error err;
        memset(&err, 0, sizeof err);
        int rc = ddb_update_parse(c->expr, names, values, &u, &err);
        if (c->message) {
            if (rc == 0)
                fail_msg("case %zu \"%s\": parsed, expected: %s", i, c->expr, c->message);
            if (strcmp(err.code, "ValidationException") != 0 || strcmp(err.message, c->message) != 0)
                fail_msg("case %zu \"%s\":\n  got  %s: %s\n  want %s", i, c->expr, err.code,
                         err.message, c->message);
            assert_null(u);
        } else if (rc != 0) {
            fail_msg("case %zu \"%s\": unexpected error %s", i, c->expr, err.message);
        }
        ddb_update_free(u);
    }
    cJSON_Delete(values);
    cJSON_Delete(names);
}

static void test_used_keys(void **state)
{
    (void)state;
    cJSON *values = parse_json(values_json), *names = parse_json(names_json);
    ddb_update *u = NULL;
    tp_error err;
    assert_int_equal(ddb_update_parse("SET #a = list_append(#c, :l) ADD x :n, y :n", names, values, &u,
                                      &err),
                     0);
    const char *const *keys;
    assert_int_equal(ddb_update_names_used(u, &keys), 2);
    assert_string_equal(keys[0], "#a");
    assert_string_equal(keys[1], "#c");
    assert_int_equal(ddb_update_values_used(u, &keys), 2);
    assert_string_equal(keys[0], ":l");
    assert_string_equal(keys[1], ":n");
    assert_int_equal(ddb_update_count(u), 3);
    assert_string_equal(ddb_update_path(u, 2)->elems[0].name, "y");
    assert_string_equal(ddb_update_value_type(u, 0), "L");
    assert_string_equal(ddb_update_value_type(u, 1), "N");
    ddb_update_free(u);
    cJSON_Delete(values);
    cJSON_Delete(names);
}

typedef struct apply_case {
    const char *expr;
    const char *item;   /* before */
    const char *result; /* after, or NULL when it fails */
    const char *message;
} apply_case;

static const apply_case apply_cases[] = {
    /* SET */
    {"SET a = :s", "{}", "{\"a\":{\"S\":\"a\"}}", NULL},
    {"SET a = :s", "{\"a\":{\"N\":\"2\"},\"b\":{\"N\":\"3\"}}", "{\"a\":{\"S\":\"a\"},\"b\":{\"N\":\"3\"}}",
     NULL},
    {"SET b = a", "{\"a\":{\"S\":\"x\"}}", "{\"a\":{\"S\":\"x\"},\"b\":{\"S\":\"x\"}}", NULL},
    {"SET a = :n, b = a", "{}", NULL, MISSING},
    {"SET a = :n, b = a", "{\"a\":{\"N\":\"7\"}}", "{\"a\":{\"N\":\"1\"},\"b\":{\"N\":\"7\"}}", NULL},
    {"SET c = z", "{}", NULL, MISSING},
    /* arithmetic, exact */
    {"SET a = a + :tiny", "{\"a\":{\"N\":\"0.2\"}}", "{\"a\":{\"N\":\"0.3\"}}", NULL},
    {"SET a = :n - a", "{\"a\":{\"N\":\"0.25\"}}", "{\"a\":{\"N\":\"0.75\"}}", NULL},
    {"SET b = a - :neg", "{\"a\":{\"N\":\"-3\"}}", "{\"a\":{\"N\":\"-3\"},\"b\":{\"N\":\"0\"}}", NULL},
    {"SET a = b + :n", "{\"a\":{\"N\":\"1\"}}", NULL, MISSING},
    {"SET a = a + :n", "{\"a\":{\"S\":\"1\"}}", NULL, BAD_TYPE},
    {"SET a = a + :big", "{\"a\":{\"N\":\"9.9999999999999999999999999999999999999E+125\"}}", NULL, OVERFLOW},
    {"SET a = a + :half", "{\"a\":{\"N\":\"12345678901234567890123456789012345678\"}}", NULL, OVERFLOW},
    /* functions */
    {"SET a = if_not_exists(a, :n)", "{}", "{\"a\":{\"N\":\"1\"}}", NULL},
    {"SET a = if_not_exists(a, :n)", "{\"a\":{\"S\":\"x\"}}", "{\"a\":{\"S\":\"x\"}}", NULL},
    {"SET b = if_not_exists(a, c)", "{}", NULL, MISSING},
    {"SET a = list_append(a, :l)", "{\"a\":{\"L\":[{\"N\":\"1\"}]}}",
     "{\"a\":{\"L\":[{\"N\":\"1\"},{\"S\":\"x\"}]}}", NULL},
    {"SET a = list_append(:l, a)", "{\"a\":{\"L\":[{\"N\":\"1\"}]}}",
     "{\"a\":{\"L\":[{\"S\":\"x\"},{\"N\":\"1\"}]}}", NULL},
    {"SET a = list_append(if_not_exists(a, :l), :l)", "{}",
     "{\"a\":{\"L\":[{\"S\":\"x\"},{\"S\":\"x\"}]}}", NULL},
    {"SET e = list_append(d, if_not_exists(f, :l))", "{\"d\":{\"NS\":[\"1\"]}}", NULL, BAD_TYPE},
    {"SET e = list_append(b, c)", "{}", NULL, MISSING},
    /* nested paths */
    {"SET a.b = :n", "{\"a\":{\"M\":{}}}", "{\"a\":{\"M\":{\"b\":{\"N\":\"1\"}}}}", NULL},
    {"SET a.b.c = :n", "{\"a\":{\"M\":{}}}", NULL, BAD_PATH},
    {"SET b.a = :n", "{}", NULL, BAD_PATH},
    {"SET b[1] = :n", "{}", NULL, BAD_PATH},
    {"SET a.b = :n", "{\"a\":{\"S\":\"x\"}}", NULL, BAD_PATH},
    {"SET a[0] = :n", "{\"a\":{\"M\":{\"0\":{\"N\":\"1\"}}}}", NULL, BAD_PATH},
    {"SET a.#1 = :n", "{\"a\":{\"L\":[{\"N\":\"1\"}]}}", NULL, BAD_PATH},
    {"SET a[0].b = :s", "{\"a\":{\"L\":[{\"M\":{}}]}}", "{\"a\":{\"L\":[{\"M\":{\"b\":{\"S\":\"a\"}}}]}}",
     NULL},
    /* lists: an index past the end appends */
    {"SET a[1] = :s", "{\"a\":{\"L\":[{\"N\":\"0\"},{\"N\":\"1\"}]}}",
     "{\"a\":{\"L\":[{\"N\":\"0\"},{\"S\":\"a\"}]}}", NULL},
    {"SET a[7] = :s", "{\"a\":{\"L\":[{\"N\":\"0\"}]}}", "{\"a\":{\"L\":[{\"N\":\"0\"},{\"S\":\"a\"}]}}",
     NULL},
    {"SET a[9] = :s, a[8] = :n", "{\"a\":{\"L\":[]}}", "{\"a\":{\"L\":[{\"N\":\"1\"},{\"S\":\"a\"}]}}",
     NULL},
    /* [D] recorded against AWS: nested operands in parentheses, appends in
     * index order across SET and ADD */
    {"set b.c=((c[1])+(b.a)),b.a = a,c[1] = a, c[4] = b.a - b.b, c[2] = b.c add c[8] :ss, c[6] :n",
     "{\"a\":{\"S\":\"K\"},\"b\":{\"M\":{\"a\":{\"N\":\"1\"},\"b\":{\"N\":\"2\"},\"c\":{\"N\":\"3\"}}},"
     "\"c\":{\"L\":[{\"N\":\"1\"},{\"N\":\"3\"}]}}",
     "{\"a\":{\"S\":\"K\"},\"b\":{\"M\":{\"a\":{\"S\":\"K\"},\"b\":{\"N\":\"2\"},\"c\":{\"N\":\"4\"}}},"
     "\"c\":{\"L\":[{\"N\":\"1\"},{\"S\":\"K\"},{\"N\":\"3\"},{\"N\":\"-1\"},{\"N\":\"1\"},"
     "{\"SS\":[\"a\",\"z\"]}]}}",
     NULL},
    /* REMOVE */
    {"REMOVE a, zz", "{\"a\":{\"N\":\"1\"},\"b\":{\"N\":\"2\"}}", "{\"b\":{\"N\":\"2\"}}", NULL},
    {"REMOVE a[1], a[3]",
     "{\"a\":{\"L\":[{\"N\":\"0\"},{\"N\":\"1\"},{\"N\":\"2\"},{\"N\":\"3\"},{\"N\":\"4\"}]}}",
     "{\"a\":{\"L\":[{\"N\":\"0\"},{\"N\":\"2\"},{\"N\":\"4\"}]}}", NULL},
    {"REMOVE a[3], a[1]",
     "{\"a\":{\"L\":[{\"N\":\"0\"},{\"N\":\"1\"},{\"N\":\"2\"},{\"N\":\"3\"},{\"N\":\"4\"}]}}",
     "{\"a\":{\"L\":[{\"N\":\"0\"},{\"N\":\"2\"},{\"N\":\"4\"}]}}", NULL},
    {"REMOVE a[5]", "{\"a\":{\"L\":[{\"N\":\"0\"}]}}", "{\"a\":{\"L\":[{\"N\":\"0\"}]}}", NULL},
    {"REMOVE a.b", "{\"a\":{\"M\":{\"b\":{\"N\":\"1\"},\"c\":{\"N\":\"2\"}}}}",
     "{\"a\":{\"M\":{\"c\":{\"N\":\"2\"}}}}", NULL},
    {"REMOVE y.a", "{}", NULL, BAD_PATH},
    {"REMOVE a[1]", "{\"a\":{\"M\":{}}}", NULL, BAD_PATH},
    /* ADD */
    {"ADD a :n", "{}", "{\"a\":{\"N\":\"1\"}}", NULL},
    {"ADD a :neg", "{\"a\":{\"N\":\"1\"}}", "{\"a\":{\"N\":\"-2\"}}", NULL},
    {"ADD a :ss", "{\"a\":{\"SS\":[\"a\",\"b\"]}}", "{\"a\":{\"SS\":[\"a\",\"b\",\"z\"]}}", NULL},
    {"ADD a :ns", "{}", "{\"a\":{\"NS\":[\"1\",\"5\"]}}", NULL},
    {"ADD a :ns", "{\"a\":{\"SS\":[\"1\"]}}", NULL, BAD_TYPE},
    {"ADD a :n", "{\"a\":{\"NS\":[\"1\"]}}", NULL, BAD_TYPE},
    {"ADD a :n", "{\"a\":{\"N\":\"9.9999999999999999999999999999999999999E+125\"}}", NULL, OVERFLOW},
    {"ADD a.b :n", "{\"a\":{\"M\":{\"b\":{\"N\":\"1\"}}}}", "{\"a\":{\"M\":{\"b\":{\"N\":\"2\"}}}}", NULL},
    {"ADD y.a :n", "{}", NULL, BAD_PATH},
    /* DELETE */
    {"DELETE a :ss", "{\"a\":{\"SS\":[\"a\",\"b\"]}}", "{\"a\":{\"SS\":[\"b\"]}}", NULL},
    {"DELETE a :ss", "{\"a\":{\"SS\":[\"a\",\"z\"]}}", "{}", NULL},
    {"DELETE a :ss", "{}", "{}", NULL},
    {"DELETE a :ns", "{\"a\":{\"SS\":[\"1\"]}}", NULL, BAD_TYPE},
    {"DELETE a :ss", "{\"a\":{\"S\":\"a\"}}", NULL, BAD_TYPE},
    {"DELETE y.a :ss", "{}", NULL, BAD_PATH},
    {"DELETE a.b :ns", "{\"a\":{\"M\":{\"b\":{\"NS\":[\"5\",\"6\"]}}}}",
     "{\"a\":{\"M\":{\"b\":{\"NS\":[\"6\"]}}}}", NULL},
    /* several clauses */
    {"REMOVE b DELETE c :ss ADD d :n, e :ss SET f = :l", "{}",
     "{\"d\":{\"N\":\"1\"},\"e\":{\"SS\":[\"a\",\"z\"]},\"f\":{\"L\":[{\"S\":\"x\"}]}}", NULL},
    {"REMOVE a SET b = a", "{\"a\":{\"S\":\"x\"}}", "{\"b\":{\"S\":\"x\"}}", NULL},
};

static void test_apply_table(void **state)
{
    (void)state;
    cJSON *values = parse_json(values_json), *names = parse_json(names_json);
    tp_error err;
    memset(&err, 0, sizeof err);
    /* canonical numbers, as the action's value check leaves them */
    for (cJSON *v = values->child; v; v = v->next)
        assert_int_equal(ddb_attr_validate(v, &err), 0);
    for (size_t i = 0; i < sizeof apply_cases / sizeof apply_cases[0]; i++) {
        const apply_case *c = &apply_cases[i];
        ddb_update *u = NULL;
        if (ddb_update_parse(c->expr, names, values, &u, &err) != 0)
            fail_msg("case %zu \"%s\": parse failed: %s", i, c->expr, err.message);
        cJSON *item = parse_json(c->item);
        int rc = ddb_update_apply(u, item, &err);
        if (c->result) {
            if (rc != 0)
                fail_msg("case %zu \"%s\": failed: %s", i, c->expr, err.message);
            cJSON *want = parse_json(c->result);
            if (!cJSON_Compare(item, want, 1)) {
                char *got = cJSON_PrintUnformatted(item);
                fail_msg("case %zu \"%s\":\n  got  %s\n  want %s", i, c->expr, got, c->result);
            }
            cJSON_Delete(want);
        } else {
            if (rc == 0)
                fail_msg("case %zu \"%s\": applied, expected: %s", i, c->expr, c->message);
            if (strcmp(err.code, "ValidationException") != 0 || strcmp(err.message, c->message) != 0)
                fail_msg("case %zu \"%s\":\n  got  %s: %s\n  want %s", i, c->expr, err.code,
                         err.message, c->message);
        }
        cJSON_Delete(item);
        ddb_update_free(u);
    }
    cJSON_Delete(values);
    cJSON_Delete(names);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_used_keys),
        cmocka_unit_test(test_apply_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
