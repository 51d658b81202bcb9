/* Unit tests: dynamodb/expr/keycond — KeyConditionExpression and legacy
 * KeyConditions reduced to per-key terms, matched against a key schema,
 * and the byte-level sort-key tests.
 *
 * Expected messages come from dynalite's query tests (recorded against
 * AWS): invalid operators, first-operand rule, nested operations and
 * attributes, multiple attribute names, no key attribute, one condition per
 * key, "Conditions can be of length 1 or 2 only", missed key schema element,
 * "Query key condition not supported", schema type mismatch, legacy
 * argument counts and operator/type checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "dynamodb/expr/keycond.h"

static const char *const VALUES =
    "{\":a\":{\"S\":\"a\"},\":b\":{\"S\":\"b\"},\":n\":{\"N\":\"1\"},\":m\":{\"N\":\"2\"}}";
static const char *const NAMES = "{\"#p\":\"pk\",\"#x\":\"x\"}";

typedef struct parse_case {
    const char *expr;
    const char *error;    /* NULL: parses */
    int nterms;
} parse_case;

static const parse_case parse_cases[] = {
    {"pk = :a", NULL, 1},
    {"#p = :a", NULL, 1},
    {"pk = :a AND sk > :n", NULL, 2},
    {"(pk = :a) and (sk BETWEEN :n AND :m)", NULL, 2},
    {":n <= sk AND pk = :a", NULL, 2},
    {"begins_with(sk, :a) AND pk = :b", NULL, 2},
    {"pk = :a OR sk > :n", "Invalid operator used in KeyConditionExpression: OR", 0},
    {"a > b and size(b) > c or a > c", "Invalid operator used in KeyConditionExpression: OR", 0},
    {"a in (b, size(c), d)", "Invalid operator used in KeyConditionExpression: IN", 0},
    {"attribute_exists(a)", "Invalid operator used in KeyConditionExpression: attribute_exists", 0},
    {"attribute_not_exists(a)",
     "Invalid operator used in KeyConditionExpression: attribute_not_exists", 0},
    {"contains(a.d, b)", "Invalid operator used in KeyConditionExpression: contains", 0},
    {"not a > b", "Invalid operator used in KeyConditionExpression: NOT", 0},
    {"a <> b", "Invalid operator used in KeyConditionExpression: <>", 0},
    {":a between size(b) and size(a) and b > :b",
     "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute "
     "as its first operand", 0},
    {"begins_with(:a, b) and a > :b",
     "Invalid condition in KeyConditionExpression: begins_with operator must have the key "
     "attribute as its first operand", 0},
    {"size(b) > a AND a.b > b AND b > c",
     "KeyConditionExpressions cannot contain nested operations", 0},
    {"a > size(b.d)", "KeyConditionExpressions cannot contain nested operations", 0},
    {"a between size(b) and size(a)", "KeyConditionExpressions cannot contain nested operations",
     0},
    {"b > a.b",
     "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
     0},
    {"b between c[1] and d",
     "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
     0},
    {"begins_with(a, b)",
     "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
     0},
    {"b.d > a AND c.d > e.f", "KeyConditionExpressions cannot have conditions on nested attributes",
     0},
    {"b[0] > a", "KeyConditionExpressions cannot have conditions on nested attributes", 0},
    {":b > :a AND a < :b", "Invalid condition in KeyConditionExpression: No key attribute specified",
     0},
    {"b > :a AND b < :a and c = :a and d = :a",
     "KeyConditionExpressions must only contain one condition per key", 0},
    {"(a > :a and b > :a) and (b > :a and c > :a)",
     "KeyConditionExpressions must only contain one condition per key", 0},
    /* Up to 8 terms parse (multi-attribute GSI keys); the schema decides. */
    {":a = a and b = :a and :a = c", NULL, 3},
    {"a = :a and b = :a and c = :a and d = :a and e = :a and f = :a and g = :a and h = :a "
     "and i = :a", "Conditions can be of length 1 or 2 only", 0},
    {"", "Invalid KeyConditionExpression: The expression can not be empty;", 0},
    {"a > 4", NULL, -1}, /* syntax error: checked by prefix below */
    {"pk = :zz",
     "Invalid KeyConditionExpression: An expression attribute value used in expression is not "
     "defined; attribute value: :zz", 0},
};

static void test_parse(void **state)
{
    (void)state;
    cJSON *values = cJSON_Parse(VALUES), *names = cJSON_Parse(NAMES);
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const parse_case *c = &parse_cases[i];
        ddb_keycond *kc = NULL;
        tp_error err;
        memset(&err, 0, sizeof err);
        int rc = ddb_keycond_parse(c->expr, names, values, &kc, &err);
        if (c->nterms < 0) {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err.message, "Invalid KeyConditionExpression: Syntax error;"));
            continue;
        }
        if (c->error) {
            if (rc == 0 || strcmp(err.message, c->error) != 0)
                print_error("case %zu \"%s\": got \"%s\"\n", i, c->expr, err.message);
            assert_int_equal(rc, -1);
            assert_string_equal(err.message, c->error);
            assert_null(kc);
        } else {
            if (rc != 0)
                print_error("case %zu \"%s\": %s\n", i, c->expr, err.message);
            assert_int_equal(rc, 0);
            assert_int_equal(kc->n, c->nterms);
            ddb_keycond_free(kc);
        }
    }
    cJSON_Delete(values);
    cJSON_Delete(names);
}

static void test_terms_normalised(void **state)
{
    (void)state;
    cJSON *values = cJSON_Parse(VALUES);
    ddb_keycond *kc = NULL;
    tp_error err;
    assert_int_equal(ddb_keycond_parse(":n <= sk AND pk = :a", NULL, values, &kc, &err), 0);
    assert_string_equal(kc->terms[0].attr, "sk");
    assert_int_equal(kc->terms[0].op, DDB_KC_GE); /* :n <= sk  is  sk >= :n */
    assert_string_equal(kc->terms[1].attr, "pk");
    assert_int_equal(kc->nvalues, 2);
    ddb_keycond_free(kc);
    assert_int_equal(ddb_keycond_parse("sk BETWEEN :n AND :m AND pk = :a", NULL, values, &kc, &err),
                     0);
    assert_int_equal(kc->terms[0].op, DDB_KC_BETWEEN);
    assert_string_equal(cJSON_GetObjectItem(kc->terms[0].v[1], "N")->valuestring, "2");
    ddb_keycond_free(kc);
    cJSON_Delete(values);
}

typedef struct match_case {
    const char *expr;
    int range;            /* schema has sort key sk (N) */
    const char *error;
} match_case;

static const match_case match_cases[] = {
    {"pk = :a", 1, NULL},
    {"pk = :a AND sk < :n", 1, NULL},
    {"pk = :a", 0, NULL},
    {"sk = :n", 1, "Query condition missed key schema element: pk"},
    {"pk = :a AND sk < :n AND x = :a", 1, "Conditions can be of length 1 or 2 only"},
    {"pk = :a AND x = :n", 1, "Query condition missed key schema element: sk"},
    {"pk = :a AND sk = :n", 0, "Query key condition not supported"},
    {"y = :a and z = :a", 0, "Query key condition not supported"},
    {"pk > :a", 1, "Query key condition not supported"},
    {"begins_with(pk, :a)", 1, "Query key condition not supported"},
    {"pk = :n", 1,
     "One or more parameter values were invalid: Condition parameter type does not match schema "
     "type"},
    {"pk = :a AND sk > :a", 1,
     "One or more parameter values were invalid: Condition parameter type does not match schema "
     "type"},
};

static void test_match(void **state)
{
    (void)state;
    cJSON *values = cJSON_Parse(VALUES);
    for (size_t i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++) {
        const match_case *c = &match_cases[i];
        ddb_keycond *kc = NULL;
        tp_error err;
        memset(&err, 0, sizeof err);
        assert_int_equal(ddb_keycond_parse(c->expr, NULL, values, &kc, &err), 0);
        const ddb_kc_term *h, *r;
        int rc = ddb_keycond_match(kc, "pk", 'S', c->range ? "sk" : NULL, 'N', &h, &r, &err);
        if (c->error) {
            if (rc == 0 || strcmp(err.message, c->error) != 0)
                print_error("case %zu \"%s\": got \"%s\"\n", i, c->expr, err.message);
            assert_int_equal(rc, -1);
            assert_string_equal(err.message, c->error);
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(h->attr, "pk");
        }
        ddb_keycond_free(kc);
    }
    cJSON_Delete(values);
}

/* A multi-attribute key: HASH h1, h2 (S); RANGE r1 (S), r2 (N). */
static const match_case multi_cases[] = {
    {"h1 = :a AND h2 = :b", 0, NULL},
    {"h2 = :b AND h1 = :a AND r1 = :a AND r2 > :n", 0, NULL},
    {"h1 = :a AND h2 = :b AND begins_with(r1, :a)", 0, NULL},
    {"h1 = :a", 0, "Query condition missed key schema element: h2"},
    {"h1 = :a AND h2 = :b AND r2 = :n", 0, "Query condition missed key schema element: r1"},
    {"h1 = :a AND h2 > :b", 0, "Query key condition not supported"},
    {"h1 = :a AND h2 = :b AND r1 > :a AND r2 = :n", 0, "Query key condition not supported"},
    {"h1 = :a AND h2 = :b AND x = :a", 0, "Query key condition not supported"},
    {"h1 = :a AND h2 = :n", 0,
     "One or more parameter values were invalid: Condition parameter type does not match schema type"},
};

static void test_match_multi(void **state)
{
    (void)state;
    static const char *const hash[] = {"h1", "h2"}, *const range[] = {"r1", "r2"};
    cJSON *values = cJSON_Parse(VALUES);
    for (size_t i = 0; i < sizeof multi_cases / sizeof multi_cases[0]; i++) {
        const match_case *c = &multi_cases[i];
        ddb_keycond *kc = NULL;
        tp_error err;
        memset(&err, 0, sizeof err);
        assert_int_equal(ddb_keycond_parse(c->expr, NULL, values, &kc, &err), 0);
        const ddb_kc_term *h[2], *r[2];
        int nr = -1;
        int rc = ddb_keycond_match_multi(kc, hash, "SS", 2, range, "SN", 2, h, r, &nr, &err);
        if (c->error) {
            if (rc == 0 || strcmp(err.message, c->error) != 0)
                print_error("case %zu \"%s\": got \"%s\"\n", i, c->expr, err.message);
            assert_int_equal(rc, -1);
            assert_string_equal(err.message, c->error);
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(h[0]->attr, "h1");
            assert_string_equal(h[1]->attr, "h2");
            assert_int_equal(nr, kc->n - 2);
            if (nr > 0)
                assert_string_equal(r[0]->attr, "r1");
        }
        ddb_keycond_free(kc);
    }
    cJSON_Delete(values);
}

typedef struct legacy_case {
    const char *json;
    const char *error;
} legacy_case;

static const legacy_case legacy_cases[] = {
    {"{\"pk\":{\"ComparisonOperator\":\"EQ\",\"AttributeValueList\":[{\"S\":\"a\"}]}}", NULL},
    {"{\"pk\":{\"ComparisonOperator\":\"EQ\"}}",
     "One or more parameter values were invalid: Invalid number of argument(s) for the EQ "
     "ComparisonOperator"},
    {"{\"a\":{\"ComparisonOperator\":\"BETWEEN\",\"AttributeValueList\":[{\"S\":\"a\"}]}}",
     "One or more parameter values were invalid: Invalid number of argument(s) for the BETWEEN "
     "ComparisonOperator"},
    {"{\"a\":{\"ComparisonOperator\":\"NULL\",\"AttributeValueList\":[{\"S\":\"a\"}]}}",
     "One or more parameter values were invalid: Invalid number of argument(s) for the NULL "
     "ComparisonOperator"},
    {"{\"a\":{\"ComparisonOperator\":\"LT\",\"AttributeValueList\":[{\"BOOL\":true}]}}",
     "One or more parameter values were invalid: ComparisonOperator LT is not valid for BOOL "
     "AttributeValue type"},
    {"{\"a\":{\"ComparisonOperator\":\"BEGINS_WITH\",\"AttributeValueList\":[{\"N\":\"1\"}]}}",
     "One or more parameter values were invalid: ComparisonOperator BEGINS_WITH is not valid for N "
     "AttributeValue type"},
    {"{\"a\":{\"ComparisonOperator\":\"IN\",\"AttributeValueList\":[{\"S\":\"b\"},{\"N\":\"1\"}]}}",
     "One or more parameter values were invalid: AttributeValues inside AttributeValueList must be "
     "of same type"},
    {"{\"a\":{\"ComparisonOperator\":\"BETWEEN\",\"AttributeValueList\":[{\"S\":\"b\"},{\"S\":"
     "\"a\"}]}}",
     "The BETWEEN condition was provided a range where the lower bound is greater than the upper "
     "bound"},
    {"{}", "Conditions can be of length 1 or 2 only"},
    {"{\"a\":{\"ComparisonOperator\":\"NULL\"},\"b\":{\"ComparisonOperator\":\"NULL\"},"
     "\"c\":{\"ComparisonOperator\":\"NULL\"}}",
     NULL},
};

static void test_legacy(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof legacy_cases / sizeof legacy_cases[0]; i++) {
        cJSON *kcj = cJSON_Parse(legacy_cases[i].json);
        ddb_keycond *kc = NULL;
        tp_error err;
        memset(&err, 0, sizeof err);
        int rc = ddb_keycond_from_legacy(kcj, &kc, &err);
        if (legacy_cases[i].error) {
            if (rc == 0 || strcmp(err.message, legacy_cases[i].error) != 0)
                print_error("case %zu: got \"%s\"\n", i, err.message);
            assert_int_equal(rc, -1);
            assert_string_equal(err.message, legacy_cases[i].error);
        } else {
            assert_int_equal(rc, 0);
            ddb_keycond_free(kc);
        }
        cJSON_Delete(kcj);
    }
    /* Three conditions parse; a two-attribute key refuses them. */
    {
        cJSON *three = cJSON_Parse(legacy_cases[sizeof legacy_cases / sizeof legacy_cases[0] - 1].json);
        ddb_keycond *k3 = NULL;
        tp_error e3;
        const ddb_kc_term *h3, *r3;
        assert_int_equal(ddb_keycond_from_legacy(three, &k3, &e3), 0);
        assert_int_equal(ddb_keycond_match(k3, "a", 'S', "b", 'S', &h3, &r3, &e3), -1);
        assert_string_equal(e3.message, "Conditions can be of length 1 or 2 only");
        ddb_keycond_free(k3);
        cJSON_Delete(three);
    }
    /* NE parses, but is not indexable against a schema */
    cJSON *kcj = cJSON_Parse(
        "{\"pk\":{\"ComparisonOperator\":\"EQ\",\"AttributeValueList\":[{\"S\":\"a\"}]},"
        "\"sk\":{\"ComparisonOperator\":\"NE\",\"AttributeValueList\":[{\"N\":\"1\"}]}}");
    ddb_keycond *kc = NULL;
    tp_error err;
    assert_int_equal(ddb_keycond_from_legacy(kcj, &kc, &err), 0);
    const ddb_kc_term *h, *r;
    assert_int_equal(ddb_keycond_match(kc, "pk", 'S', "sk", 'N', &h, &r, &err), -1);
    assert_string_equal(err.message,
                        "Attempted conditional constraint is not an indexable operation");
    ddb_keycond_free(kc);
    cJSON_Delete(kcj);
}

static void test_kc_test(void **state)
{
    (void)state;
    ddb_kc_term t;
    memset(&t, 0, sizeof t);
    t.op = DDB_KC_BEGINS_WITH;
    assert_true(ddb_kc_test(&t, "abc", 3, "ab", 2, NULL, 0));
    assert_false(ddb_kc_test(&t, "a", 1, "ab", 2, NULL, 0));
    assert_true(ddb_kc_test(&t, "ab", 2, "ab", 2, NULL, 0));
    t.op = DDB_KC_BETWEEN;
    assert_true(ddb_kc_test(&t, "b", 1, "a", 1, "c", 1));
    assert_true(ddb_kc_test(&t, "c", 1, "a", 1, "c", 1));
    assert_false(ddb_kc_test(&t, "ca", 2, "a", 1, "c", 1));
    t.op = DDB_KC_LT;
    assert_true(ddb_kc_test(&t, "a", 1, "ab", 2, NULL, 0)); /* proper prefix sorts first */
    t.op = DDB_KC_GE;
    assert_true(ddb_kc_test(&t, "ab", 2, "ab", 2, NULL, 0));
    assert_false(ddb_kc_test(&t, "aa", 2, "ab", 2, NULL, 0));
}

/* Odd inputs fail cleanly (ASan/UBSan builds check the "cleanly"). */
static void test_garbage(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "((((", "pk = :a AND", "begins_with(", "size(", "a between :a", ":a", "#zz = :a",
        "pk = :a AND AND sk = :n", "((pk = :a))", "(((pk = :a) AND ((sk < :n))))",
        "begins_with(sk, :a, :b)", "size(a)", "pk = :a AND NOT sk = :n", "pk IN (:a)",
        "pk = :a AND begins_with(sk)", "pk = pk", "\xff\xfe", "pk = :a AND (sk = :n OR sk = :m)",
        "pk.a.b.c = :a", "pk[1] = :a", "pk = :a and sk between :n and :m and x = :a",
    };
    cJSON *values = cJSON_Parse(VALUES), *names = cJSON_Parse(NAMES);
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        ddb_keycond *kc = NULL;
        tp_error err;
        memset(&err, 0, sizeof err);
        int rc = ddb_keycond_parse(inputs[i], names, values, &kc, &err);
        if (rc == 0) {
            assert_non_null(kc);
            assert_true(kc->n >= 1 && kc->n <= DDB_KC_MAX_TERMS);
            ddb_keycond_free(kc);
        } else {
            assert_null(kc);
            assert_true(err.message[0] != '\0');
        }
    }
    cJSON_Delete(values);
    cJSON_Delete(names);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_terms_normalised),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_match_multi),
        cmocka_unit_test(test_legacy),
        cmocka_unit_test(test_kc_test),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
