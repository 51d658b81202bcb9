/* Unit tests: dynamodb/expr/condition — ConditionExpression parsing with
 * AWS's messages, evaluation against sample items, legacy Expected, the
 * request-wide unused-keys bookkeeping and ExpressionAttributeValues checks.
 *
 * Expected strings come from dynalite's test suite and grammar (recorded
 * against AWS: "Invalid function name; function: x", "Incorrect number of
 * operands ...", "The first operand must be distinct ...", BETWEEN bounds)
 * and from AWS's documentation of comparison semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "dynamodb/expr/condition.h"

#define CE "Invalid ConditionExpression: "

/* The sample item every evaluation case runs against. */
static const char *const ITEM =
    "{\"pk\":{\"S\":\"k1\"},\"n\":{\"N\":\"10\"},\"s\":{\"S\":\"hello\"},"
    "\"b\":{\"B\":\"AQID\"},\"ss\":{\"SS\":[\"x\",\"y\"]},\"ns\":{\"NS\":[\"1\",\"2.5\"]},"
    "\"l\":{\"L\":[{\"S\":\"a\"},{\"N\":\"3\"}]},\"m\":{\"M\":{\"mi\":{\"N\":\"7\"},"
    "\"deep\":{\"M\":{\"x\":{\"S\":\"y\"}}}}},\"t\":{\"BOOL\":true},\"z\":{\"NULL\":true},"
    "\"v\":{\"N\":\"3\"},\"big\":{\"N\":\"12345678901234567890123456789012345678\"}}";

static const char *const NAMES = "{\"#n\":\"n\",\"#v\":\"v\",\"#m\":\"m\",\"#k\":\"pk\"}";
static const char *const VALUES =
    "{\":n10\":{\"N\":\"10\"},\":n10b\":{\"N\":\"10.000\"},\":n5\":{\"N\":\"5\"},"
    "\":n20\":{\"N\":\"20\"},\":n3\":{\"N\":\"3\"},\":s\":{\"S\":\"hello\"},\":he\":{\"S\":\"he\"},"
    "\":ell\":{\"S\":\"ell\"},\":x\":{\"S\":\"x\"},\":a\":{\"S\":\"a\"},\":b1\":{\"B\":\"AQ==\"},"
    "\":ss\":{\"SS\":[\"y\",\"x\"]},\":tS\":{\"S\":\"S\"},\":tN\":{\"S\":\"N\"},"
    "\":tSS\":{\"S\":\"SS\"},\":tBad\":{\"S\":\"XX\"},\":n1\":{\"N\":\"1\"},"
    "\":n25\":{\"N\":\"2.5\"},\":true\":{\"BOOL\":true},\":l\":{\"L\":[{\"S\":\"a\"},{\"N\":\"3\"}]},"
    "\":k1\":{\"S\":\"k1\"},\":big\":{\"N\":\"12345678901234567890123456789012345679\"},"
    "\":n2\":{\"N\":\"2\"},\":n7\":{\"N\":\"7\"},\":z\":{\"S\":\"zzz\"}}";

typedef struct eval_case {
    const char *expr;
    int with_item; /* 0: evaluate with no item */
    int want;
} eval_case;

static const eval_case eval_cases[] = {
    {"attribute_exists(pk)", 1, 1},
    {"attribute_exists(pk)", 0, 0},
    {"attribute_not_exists(pk)", 0, 1},
    {"attribute_not_exists(pk)", 1, 0},
    {"attribute_not_exists(nope)", 1, 1},
    {"n = :n10", 1, 1},
    {"n = :n10b", 1, 1},
    {"#n = :n10", 1, 1},
    {"n <> :n10", 1, 0},
    {"n <> :n5", 1, 1},
    {"nope <> :n5", 1, 1},
    {"nope = :n5", 1, 0},
    {"n < :n20", 1, 1},
    {"n <= :n10", 1, 1},
    {"n > :n5", 1, 1},
    {"n >= :n20", 1, 0},
    {"n < :s", 1, 0},      /* type mismatch */
    {"n <> :s", 1, 1},     /* different types are not equal */
    {"s > :he", 1, 1},
    {"s < :z", 1, 1},
    {"b > :b1", 1, 1},
    {"big < :big", 1, 1},  /* 38 digits, exact */
    {"n BETWEEN :n5 AND :n20", 1, 1},
    {"n BETWEEN :n10 AND :n10", 1, 1},
    {"v BETWEEN :n5 AND :n20", 1, 0},
    {"n IN (:n5, :n10)", 1, 1},
    {"n IN (:n5, :n20)", 1, 0},
    {"begins_with(s, :he)", 1, 1},
    {"begins_with(s, :ell)", 1, 0},
    {"begins_with(b, :b1)", 1, 1},
    {"begins_with(n, :he)", 1, 0},
    {"contains(s, :ell)", 1, 1},
    {"contains(ss, :x)", 1, 1},
    {"contains(ss, :a)", 1, 0},
    {"contains(ns, :n25)", 1, 1},
    {"contains(l, :a)", 1, 1},
    {"contains(l, :n3)", 1, 1},
    {"contains(nope, :a)", 1, 0},
    {"contains(b, :b1)", 1, 1},     /* binary substring */
    {"contains(b, :n1)", 1, 0},
    {"ss = :ss", 1, 1},    /* sets compare without order */
    {"l = :l", 1, 1},
    {"t = :true", 1, 1},
    {"attribute_type(n, :tN)", 1, 1},
    {"attribute_type(n, :tS)", 1, 0},
    {"attribute_type(ss, :tSS)", 1, 1},
    {"size(s) = :n5", 1, 1},
    {"size(ss) = :n2", 1, 1},
    {"size(l) = :n2", 1, 1},
    {"size(m) = :n2", 1, 1},
    {"size(b) = :n3", 1, 1},
    {"size(n) = :n2", 1, 0},
    {"size(nope) <> :n2", 1, 1},
    {"m.mi = :n7", 1, 1},
    {"#m.mi = :n7", 1, 1},
    {"m.deep.x = :z", 1, 0},
    {"l[0] = :a", 1, 1},
    {"l[1] = :n3", 1, 1},
    {"l[5] = :n3", 1, 0},
    {"n.x = :n3", 1, 0},
    {"NOT n = :n10", 1, 0},
    {"not n = :n5", 1, 1},
    {"n = :n5 OR n = :n10", 1, 1},
    {"n = :n5 AND n = :n10", 1, 0},
    /* NOT > AND > OR */
    {"n = :n10 OR n = :n5 AND n = :n5", 1, 1},
    {"(n = :n10 OR n = :n5) AND n = :n5", 1, 0},
    {"NOT n = :n5 AND n = :n10", 1, 1},
    {"NOT (n = :n5 OR n = :n10)", 1, 0},
    {"(n) = :n10", 1, 1},
    {"#k = :k1 AND #v = :n3", 1, 1},
    {"attribute_not_exists(pk) OR #v = :n3", 1, 1},
    {"attribute_not_exists(pk) OR #v = :n2", 1, 0},
    {"#v = :n3", 0, 0},
};

static cJSON *json(const char *s)
{
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    if (s)
        assert_non_null(j);
    return j;
}

static void test_eval(void **state)
{
    (void)state;
    cJSON *item = json(ITEM), *names = json(NAMES), *values = json(VALUES);
    for (size_t i = 0; i < sizeof eval_cases / sizeof eval_cases[0]; i++) {
        const eval_case *c = &eval_cases[i];
        ddb_cond *cond = NULL;
        tp_error err;
        tp_error_clear(&err);
        int rc = ddb_cond_parse("ConditionExpression", c->expr, names, values, &cond, &err);
        if (rc != 0)
            fail_msg("%s: parse failed: %s", c->expr, err.message);
        int got = ddb_cond_eval(cond, c->with_item ? item : NULL);
        if (got != c->want)
            fail_msg("%s: want %d got %d", c->expr, c->want, got);
        ddb_cond_free(cond);
    }
    cJSON_Delete(item);
    cJSON_Delete(names);
    cJSON_Delete(values);
}

typedef struct err_case {
    const char *expr;
    const char *names, *values;
    const char *msg;
} err_case;

#define V1 "{\":v\":{\"S\":\"x\"}}"
#define VN "{\":v\":{\"N\":\"1\"},\":w\":{\"N\":\"2\"}}"

static const err_case err_cases[] = {
    {"", NULL, NULL, CE "The expression can not be empty;"},
    {"   ", NULL, NULL, CE "The expression can not be empty;"},
    {"a = ", NULL, V1, CE "Syntax error; token: \"<EOF>\", near: \"= \""},
    {"a = :v b", NULL, V1, CE "Syntax error; token: \"b\", near: \":v b\""},
    {"a", NULL, NULL, CE "Syntax error; token: \"<EOF>\", near: \"a\""},
    {"a = :v AND", NULL, V1, CE "Syntax error; token: \"<EOF>\", near: \"AND\""},
    {"(a = :v", NULL, V1, CE "Syntax error; token: \"<EOF>\", near: \":v\""},
    {"a = :nope", NULL, V1,
     CE "An expression attribute value used in expression is not defined; attribute value: :nope"},
    {"#a = :v", NULL, V1,
     CE "An expression attribute name used in the document path is not defined; attribute name: #a"},
    {"size = :v", NULL, V1, CE "Attribute name is a reserved keyword; reserved keyword: size"},
    {"foo(a)", NULL, NULL, CE "Invalid function name; function: foo"},
    {"begins_with(a)", NULL, NULL,
     CE "Incorrect number of operands for operator or function; operator or function: "
        "begins_with, number of operands: 1"},
    {"attribute_exists(a, b)", NULL, NULL,
     CE "Incorrect number of operands for operator or function; operator or function: "
        "attribute_exists, number of operands: 2"},
    {"begins_with(a, :v)", NULL, VN,
     CE "Incorrect operand type for operator or function; operator or function: begins_with, "
        "operand type: N"},
    {"attribute_exists(:v)", NULL, V1,
     CE "Operator or function requires a document path; operator or function: attribute_exists"},
    {"attribute_type(a, :v)", NULL, V1,
     CE "Invalid attribute type name found; type: x, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"},
    {"attribute_type(a, :v)", NULL, VN,
     CE "Incorrect operand type for operator or function; operator or function: attribute_type, "
        "operand type: N"},
    {"size(a)", NULL, NULL,
     CE "The function is not allowed to be used this way in an expression; function: size"},
    {"size(:v) = :w", NULL, VN,
     CE "Incorrect operand type for operator or function; operator or function: size, operand "
        "type: N"},
    {"attribute_exists(a) = :v", NULL, V1,
     CE "The function is not allowed to be used this way in an expression; function: "
        "attribute_exists"},
    {"a = a", NULL, NULL,
     CE "The first operand must be distinct from the remaining operands for this operator or "
        "function; operator: =, first operand: [a]"},
    {"a BETWEEN :w AND :v", NULL, VN,
     CE "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
        "lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}"},
    {"a BETWEEN :v AND :w", NULL, "{\":v\":{\"N\":\"1\"},\":w\":{\"S\":\"x\"}}",
     CE "The BETWEEN operator requires same data type for lower and upper bounds; lower bound "
        "operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:x}"},
    {"((a = :v))", NULL, V1, CE "The expression has redundant parentheses;"},
    {"a < :v", NULL, "{\":v\":{\"L\":[{\"N\":\"1\"}]}}",
     CE "Incorrect operand type for operator or function; operator or function: <, operand "
        "type: LIST"},
    {":v >= a", NULL, "{\":v\":{\"BOOL\":true}}",
     CE "Incorrect operand type for operator or function; operator or function: >=, operand "
        "type: BOOL"},
    {"a BETWEEN :v AND :v", NULL, "{\":v\":{\"SS\":[\"x\"]}}",
     CE "Incorrect operand type for operator or function; operator or function: BETWEEN, "
        "operand type: SS"},
    /* syntax beats everything; unknown function beats reserved words */
    {"foo(size) = :v", NULL, V1, CE "Invalid function name; function: foo"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
        const err_case *c = &err_cases[i];
        cJSON *names = json(c->names), *values = json(c->values);
        ddb_cond *cond = NULL;
        tp_error err;
        tp_error_clear(&err);
        int rc = ddb_cond_parse("ConditionExpression", c->expr, names, values, &cond, &err);
        if (rc == 0)
            fail_msg("%s: parsed, want error %s", c->expr, c->msg);
        assert_null(cond);
        if (strcmp(err.message, c->msg) != 0)
            fail_msg("%s:\n want %s\n got  %s", c->expr, c->msg, err.message);
        assert_string_equal(err.code, "ValidationException");
        cJSON_Delete(names);
        cJSON_Delete(values);
    }
}

static void test_in_limit(void **state)
{
    (void)state;
    char expr[2048] = "a IN (";
    for (int i = 0; i < 100; i++)
        strcat(expr, i ? ", :v" : ":v");
    strcat(expr, ")");
    cJSON *values = json(V1);
    ddb_cond *c = NULL;
    tp_error err;
    assert_int_equal(ddb_cond_parse("ConditionExpression", expr, NULL, values, &c, &err), 0);
    ddb_cond_free(c);
    expr[strlen(expr) - 1] = '\0';
    strcat(expr, ", :v)");
    assert_int_equal(ddb_cond_parse("ConditionExpression", expr, NULL, values, &c, &err), -1);
    assert_string_equal(err.message, CE "The IN operator is provided with too many operands; "
                                        "number of operands: 101");
    cJSON_Delete(values);
}

static void test_filter_kind_and_size(void **state)
{
    (void)state;
    ddb_cond *c = NULL;
    tp_error err;
    assert_int_equal(ddb_cond_parse("FilterExpression", "", NULL, NULL, &c, &err), -1);
    assert_string_equal(err.message, "Invalid FilterExpression: The expression can not be empty;");
    char *big = malloc(4098);
    memset(big, 'a', 4097);
    big[4097] = '\0';
    assert_int_equal(ddb_cond_parse("ConditionExpression", big, NULL, NULL, &c, &err), -1);
    assert_string_equal(err.message, CE "Expression size has exceeded the maximum allowed size; "
                                        "expression size: 4097");
    free(big);
}

static void test_usage(void **state)
{
    (void)state;
    cJSON *names = json("{\"#a\":\"a\",\"#b\":\"b\"}");
    cJSON *values = json("{\":v\":{\"S\":\"x\"},\":w\":{\"S\":\"y\"}}");
    ddb_cond *c = NULL;
    tp_error err;
    assert_int_equal(ddb_cond_parse("ConditionExpression", "#a = :v", names, values, &c, &err), 0);
    const char *const *k;
    assert_int_equal(ddb_cond_names_used(c, &k), 1);
    assert_string_equal(k[0], "#a");
    assert_int_equal(ddb_cond_values_used(c, &k), 1);
    assert_string_equal(k[0], ":v");
    ddb_expr_usage u;
    ddb_expr_usage_init(&u);
    assert_int_equal(ddb_expr_usage_add_cond(&u, c), 0);
    assert_int_equal(ddb_expr_usage_check(&u, names, values, &err), -1);
    assert_string_equal(err.message,
                        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}");
    const char *more[] = {"#b"};
    assert_int_equal(ddb_expr_usage_add(&u, '#', more, 1), 0);
    assert_int_equal(ddb_expr_usage_check(&u, names, values, &err), -1);
    assert_string_equal(err.message,
                        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}");
    const char *morev[] = {":w"};
    assert_int_equal(ddb_expr_usage_add(&u, ':', morev, 1), 0);
    assert_int_equal(ddb_expr_usage_check(&u, names, values, &err), 0);
    ddb_expr_usage_free(&u);
    ddb_cond_free(c);
    cJSON_Delete(names);
    cJSON_Delete(values);
}

static void test_values_validate(void **state)
{
    (void)state;
    tp_error err;
    cJSON *v = json("{}");
    assert_int_equal(ddb_expr_values_validate(v, &err), -1);
    assert_string_equal(err.message, "ExpressionAttributeValues must not be empty");
    cJSON_Delete(v);
    v = json("{\"v\":{\"S\":\"x\"}}");
    assert_int_equal(ddb_expr_values_validate(v, &err), -1);
    assert_string_equal(err.message,
                        "ExpressionAttributeValues contains invalid key: Syntax error; key: \"v\"");
    cJSON_Delete(v);
    v = json("{\":b\":{}}");
    assert_int_equal(ddb_expr_values_validate(v, &err), -1);
    assert_string_equal(err.message,
                        "ExpressionAttributeValues contains invalid value: Supplied AttributeValue "
                        "is empty, must contain exactly one of the supported datatypes for key :b");
    cJSON_Delete(v);
    v = json("{\":n\":{\"N\":\"1.50\"}}");
    assert_int_equal(ddb_expr_values_validate(v, &err), 0);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(v, ":n"), "N")->valuestring, "1.5");
    cJSON_Delete(v);
}

typedef struct exp_case {
    const char *expected;
    const char *op;
    int with_item;
    int want;       /* -1: error */
    const char *msg;
} exp_case;

#define INV "One or more parameter values were invalid: "

static const exp_case exp_cases[] = {
    {"{\"pk\":{\"Exists\":false}}", NULL, 0, 1, NULL},
    {"{\"pk\":{\"Exists\":false}}", NULL, 1, 0, NULL},
    {"{\"v\":{\"Value\":{\"N\":\"3\"}}}", NULL, 1, 1, NULL},
    {"{\"v\":{\"Value\":{\"N\":\"4\"},\"Exists\":true}}", NULL, 1, 0, NULL},
    {"{\"v\":{\"ComparisonOperator\":\"GT\",\"AttributeValueList\":[{\"N\":\"2\"}]}}", NULL, 1, 1,
     NULL},
    {"{\"v\":{\"ComparisonOperator\":\"NULL\"}}", NULL, 1, 0, NULL},
    {"{\"v\":{\"ComparisonOperator\":\"NOT_NULL\"}}", NULL, 1, 1, NULL},
    {"{\"s\":{\"ComparisonOperator\":\"BEGINS_WITH\",\"AttributeValueList\":[{\"S\":\"he\"}]}}", NULL,
     1, 1, NULL},
    {"{\"ss\":{\"ComparisonOperator\":\"NOT_CONTAINS\",\"AttributeValueList\":[{\"S\":\"q\"}]}}",
     NULL, 1, 1, NULL},
    {"{\"v\":{\"ComparisonOperator\":\"BETWEEN\",\"AttributeValueList\":[{\"N\":\"1\"},{\"N\":\"3\"}]}}",
     NULL, 1, 1, NULL},
    {"{\"v\":{\"ComparisonOperator\":\"IN\",\"AttributeValueList\":[{\"N\":\"1\"},{\"N\":\"3\"}]}}",
     NULL, 1, 1, NULL},
    {"{\"v\":{\"Value\":{\"N\":\"4\"}},\"pk\":{\"Exists\":true,\"Value\":{\"S\":\"k1\"}}}", "OR", 1,
     1, NULL},
    {"{\"v\":{\"Value\":{\"N\":\"4\"}},\"pk\":{\"Exists\":true,\"Value\":{\"S\":\"k1\"}}}", "AND", 1,
     0, NULL},
    {"{\"a\":{}}", NULL, 1, -1, INV "Value must be provided when Exists is null for Attribute: a"},
    {"{\"a\":{\"Exists\":true}}", NULL, 1, -1,
     INV "Value must be provided when Exists is true for Attribute: a"},
    {"{\"a\":{\"Exists\":false,\"Value\":{\"S\":\"x\"}}}", NULL, 1, -1,
     INV "Value cannot be used when Exists is false for Attribute: a"},
    {"{\"a\":{\"Exists\":false,\"ComparisonOperator\":\"NULL\"}}", NULL, 1, -1,
     INV "Exists and ComparisonOperator cannot be used together for Attribute: a"},
    {"{\"a\":{\"AttributeValueList\":[{\"S\":\"x\"}]}}", NULL, 1, -1,
     INV "AttributeValueList can only be used with a ComparisonOperator for Attribute: a"},
    {"{\"a\":{\"ComparisonOperator\":\"EQ\"}}", NULL, 1, -1,
     INV "Invalid number of argument(s) for the EQ ComparisonOperator"},
    {"{\"a\":{\"ComparisonOperator\":\"NULL\",\"AttributeValueList\":[{\"S\":\"x\"}]}}", NULL, 1, -1,
     INV "Invalid number of argument(s) for the NULL ComparisonOperator"},
};

static void test_expected(void **state)
{
    (void)state;
    cJSON *item = json(ITEM);
    for (size_t i = 0; i < sizeof exp_cases / sizeof exp_cases[0]; i++) {
        const exp_case *c = &exp_cases[i];
        cJSON *e = json(c->expected);
        ddb_cond *cond = NULL;
        tp_error err;
        tp_error_clear(&err);
        int rc = ddb_cond_from_expected(e, c->op, &cond, &err);
        if (c->want < 0) {
            if (rc == 0)
                fail_msg("%s: accepted", c->expected);
            if (strcmp(err.message, c->msg) != 0)
                fail_msg("%s:\n want %s\n got  %s", c->expected, c->msg, err.message);
        } else {
            if (rc != 0)
                fail_msg("%s: %s", c->expected, err.message);
            int got = ddb_cond_eval(cond, c->with_item ? item : NULL);
            if (got != c->want)
                fail_msg("%s: want %d got %d", c->expected, c->want, got);
        }
        ddb_cond_free(cond);
        cJSON_Delete(e);
    }
    cJSON_Delete(item);
}

/* Token soup: every combination must parse or fail cleanly (run under
 * ASan by `make asan`). */
static void test_garbage(void **state)
{
    (void)state;
    static const char *const toks[] = {"a", "#n", ":n10", "(", ")", "=", "<>", "<", "AND", "OR",
                                       "NOT", "BETWEEN", "IN", ",", "size", "contains", "[1]",
                                       ".", "attribute_exists", "\xff", "", "#", ":"};
    const size_t nt = sizeof toks / sizeof toks[0];
    cJSON *names = json(NAMES), *values = json(VALUES), *item = json(ITEM);
    unsigned seed = 12345;
    for (int round = 0; round < 20000; round++) {
        char expr[256] = "";
        int n = 1 + (int)((seed >> 16) % 7);
        for (int i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            strcat(expr, toks[(seed >> 16) % nt]);
            strcat(expr, (seed & 0x100) ? " " : "");
        }
        ddb_cond *c = NULL;
        tp_error err;
        if (ddb_cond_parse("ConditionExpression", expr, names, values, &c, &err) == 0) {
            ddb_cond_eval(c, item);
            ddb_cond_eval(c, NULL);
            ddb_cond_free(c);
        } else {
            assert_null(c);
            assert_true(err.message[0] != '\0');
        }
    }
    cJSON_Delete(names);
    cJSON_Delete(values);
    cJSON_Delete(item);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_in_limit),
        cmocka_unit_test(test_filter_kind_and_size),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_values_validate),
        cmocka_unit_test(test_expected),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
