/* Unit tests: dynamodb/partiql_parse — statements to trees (printed as
 * S-expressions here), literals to AttributeValues, parameters, and the
 * exact errors of malformed statements. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/json.h"
#include "dynamodb/partiql.h"

static void dump(const pq_node *n, tp_buf *b)
{
    static const char *const kinds[] = {"path", "value", "cmp", "between", "in", "and",
                                        "or",   "not",   "func", "is",     "arith"};
    if (n->kind == PQN_PATH) {
        for (size_t i = 0; i < n->npath; i++) {
            if (n->path[i].name)
                tp_buf_printf(b, "%s%s", i ? "." : "", n->path[i].name);
            else
                tp_buf_printf(b, "[%ld]", n->path[i].index);
        }
        return;
    }
    if (n->kind == PQN_VALUE) {
        char *t = tp_json_print(n->value);
        tp_buf_puts(b, t);
        free(t);
        return;
    }
    tp_buf_printf(b, "(%s", n->kind == PQN_FUNC ? n->func : n->op[0] ? n->op : kinds[n->kind]);
    for (size_t i = 0; i < n->nkids; i++) {
        tp_buf_puts(b, " ");
        dump(n->kids[i], b);
    }
    tp_buf_puts(b, ")");
}

/* The statement as text: KIND table[.index] [proj...] [where] [sets] [returning]. */
static char *show(const pq_stmt *s)
{
    static const char *const kinds[] = {"SELECT", "INSERT", "UPDATE", "DELETE", "EXISTS"};
    tp_buf b;
    tp_buf_init(&b);
    tp_buf_printf(&b, "%s %s%s%s", kinds[s->kind], s->table, s->index ? "." : "",
                  s->index ? s->index : "");
    for (size_t i = 0; i < s->nproj; i++) {
        tp_buf_puts(&b, i ? ", " : " [");
        dump(s->proj[i], &b);
        if (i + 1 == s->nproj)
            tp_buf_puts(&b, "]");
    }
    if (s->item) {
        tp_buf_puts(&b, " ");
        dump(s->item, &b);
    }
    for (size_t i = 0; i < s->nsets; i++) {
        tp_buf_puts(&b, s->sets[i].value ? " SET " : " REMOVE ");
        dump(s->sets[i].target, &b);
        if (s->sets[i].value) {
            tp_buf_puts(&b, "=");
            dump(s->sets[i].value, &b);
        }
    }
    if (s->where) {
        tp_buf_puts(&b, " WHERE ");
        dump(s->where, &b);
    }
    if (s->order) {
        tp_buf_puts(&b, " ORDER BY ");
        dump(s->order, &b);
        tp_buf_puts(&b, s->order_desc ? " DESC" : " ASC");
    }
    if (s->returning)
        tp_buf_printf(&b, " RETURNING %s", s->returning);
    char *out = strdup((const char *)b.data);
    tp_buf_free(&b);
    return out;
}

typedef struct parse_case {
    const char *stmt;
    const char *params; /* JSON array or NULL */
    const char *want;   /* show() of the tree, or the error message */
    int ok;
} parse_case;

#define M "Statement wasn't well formed, can't be processed: "

static const parse_case cases[] = {
    {"SELECT * FROM \"music\"", NULL, "SELECT music", 1},
    {"select a, b.c, d[2].e FROM tab.\"idx\"", NULL, "SELECT tab.idx [a, b.c, d[2].e]", 1},
    {"SELECT * FROM tab WHERE pk = 'a''b' AND sk >= 3", NULL,
     "SELECT tab WHERE (and (= pk {\"S\":\"a'b\"}) (>= sk {\"N\":\"3\"}))", 1},
    {"SELECT * FROM tab WHERE a = 1 OR NOT b <> 2 AND c != -1.5e3", NULL,
     "SELECT tab WHERE (or (= a {\"N\":\"1\"}) (and (not (<> b {\"N\":\"2\"})) (<> c "
     "{\"N\":\"-1.5e3\"})))",
     1},
    {"SELECT * FROM tab WHERE a BETWEEN 1 AND 2 AND b NOT IN [1, 'x'] AND c IN ('y')", NULL,
     "SELECT tab WHERE (and (between a {\"N\":\"1\"} {\"N\":\"2\"}) (not (in b {\"N\":\"1\"} "
     "{\"S\":\"x\"})) (in c {\"S\":\"y\"}))",
     1},
    {"SELECT * FROM tab WHERE a IS MISSING AND b IS NOT NULL AND begins_with(c, 'p') AND "
     "size(d) > 2",
     NULL,
     "SELECT tab WHERE (and (MISSING a) (NOT NULL b) (begins_with c {\"S\":\"p\"}) (> (size d) "
     "{\"N\":\"2\"}))",
     1},
    {"SELECT * FROM tab WHERE pk = 1 ORDER BY sk DESC", NULL,
     "SELECT tab WHERE (= pk {\"N\":\"1\"}) ORDER BY sk DESC", 1},
    {"SELECT * FROM tab WHERE pk IN [1, 2] order by sk", NULL,
     "SELECT tab WHERE (in pk {\"N\":\"1\"} {\"N\":\"2\"}) ORDER BY sk ASC", 1},
    {"SELECT * FROM tab WHERE (a = ? OR b = ?)", "[{\"S\":\"x\"},{\"N\":\"7\"}]",
     "SELECT tab WHERE (or (= a {\"S\":\"x\"}) (= b {\"N\":\"7\"}))", 1},
    {"INSERT INTO tab VALUE {'k': 'v', 'l': [1, TRUE, NULL], 's': <<'a','b'>>, 'n': <<1, 2>>, "
     "'m': {'x': ?}}",
     "[{\"B\":\"AAE=\"}]",
     "INSERT tab {\"M\":{\"k\":{\"S\":\"v\"},\"l\":{\"L\":[{\"N\":\"1\"},{\"BOOL\":true},"
     "{\"NULL\":true}]},\"s\":{\"SS\":[\"a\",\"b\"]},\"n\":{\"NS\":[\"1\",\"2\"]},"
     "\"m\":{\"M\":{\"x\":{\"B\":\"AAE=\"}}}}}",
     1},
    {"UPDATE tab SET a = a + 1, b = list_append(b, [2]) REMOVE c SET d = set_add(d, <<'x'>>) "
     "WHERE pk = 'k' RETURNING MODIFIED NEW *",
     NULL,
     "UPDATE tab SET a=(+ a {\"N\":\"1\"}) SET b=(list_append b {\"L\":[{\"N\":\"2\"}]}) REMOVE c "
     "SET d=(set_add d {\"SS\":[\"x\"]}) WHERE (= pk {\"S\":\"k\"}) RETURNING UPDATED_NEW",
     1},
    {"DELETE FROM tab WHERE pk = 1 RETURNING ALL OLD *", NULL,
     "DELETE tab WHERE (= pk {\"N\":\"1\"}) RETURNING ALL_OLD", 1},
    {"EXISTS (SELECT * FROM tab WHERE pk = 1 AND a = 2)", NULL,
     "EXISTS tab WHERE (and (= pk {\"N\":\"1\"}) (= a {\"N\":\"2\"}))", 1},
    /* errors */
    {"CREATE TABLE t", NULL, M "Expected data manipulation", 0},
    {"", NULL, M "Expected data manipulation", 0},
    {"SELECT * FROM tab WHERE pk = ?", NULL,
     "Number of parameters in request and statement don't match.", 0},
    {"SELECT * FROM tab", "[{\"S\":\"x\"}]",
     "Number of parameters in request and statement don't match.", 0},
    {"SELECT * FROM tab WHERE", NULL, M "Unexpected term", 0},
    {"SELECT * FROM tab WHERE a = ()", NULL, M "Unexpected term", 0},
    {"SELECT * FROM tab WHERE h = 1e99999999999", NULL, M, 0},
    {"SELECT * FROM tab WHERE h = ?", "[{\"M\":{\"a\":{\"M\":{\"b\":{\"M\":{}}}}}}]",
     "SELECT tab WHERE (= h {\"M\":{\"a\":{\"M\":{\"b\":{\"M\":{}}}}}})", 1},
    {"SELECT * FROM tab WHERE h = ?", "[{\"N\":\"1e99999999999\"}]",
     "The parameter cannot be converted to a numeric value: 1e99999999999", 0},
    {"SELECT COUNT(*) FROM tab", NULL, "Unexpected path component at 1:8:5", 0},
    {"SELECT a,\n  count (a) FROM tab", NULL, "Unexpected path component at 2:3:5", 0},
    {"SELECT * FROM tab WHERE a = 'open", NULL, M "unterminated string literal", 0},
    {"SELECT * t", NULL, M "Expected FROM but found t", 0},
    {"UPDATE tab WHERE pk = 1", NULL, M "Expected SET or REMOVE but found WHERE", 0},
    {"UPDATE tab SET a = 1", NULL, M "Expected WHERE but found end of statement", 0},
    {"DELETE FROM tab WHERE pk = 1 RETURNING ALL", NULL,
     M "Expected OLD or NEW but found end of statement", 0},
    {"INSERT INTO tab VALUE {'a': <<'x', 1>>}", NULL, M "Set members must all be strings or all numbers",
     0},
    {"INSERT INTO tab VALUE {'a': <<>>}", NULL, "Empty bags are not supported", 0},
    {"INSERT INTO tab VALUE {'a': <<?>>}", "[{\"B\":\"AA==\"}]",
     "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags", 0},
    {"INSERT INTO tab VALUE 'x'", NULL,
     "Unsupported format in item expression. Please use struct format {...} to express item "
     "values for insert statement.",
     0},
    {"INSERT INTO tab VALUE {'a': 1} RETURNING ALL OLD *", NULL, "RETURNING is not supported in INSERT",
     0},
    {"UPDATE tab SET a = 1 WHERE k = 1 RETURNING ALL OLD", NULL,
     "Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause", 0},
    {"SELECT *, a FROM tab", NULL,
     "Other attributes should not be present in the projection when '*' is used.", 0},
    {"SELECT a, *  FROM tab", NULL,
     "Other attributes should not be present in the projection when '*' is used.", 0},
    {"SELECT a.b, c, a.b FROM tab", NULL, "Duplicate identifiers in select clause: b", 0},
    {"SELECT * FROM tab WHERE a = MISSING", NULL, "MISSING must be compared using IS operator", 0},
    {"INSERT INTO tab VALUE {'a': 1, 'a': 2}", NULL, M "Duplicate map key 'a'", 0},
    {"SELECT * FROM tab WHERE a = 1 extra", NULL, M "Unexpected token after expression", 0},
    {"SELECT * FROM tab WHERE pk = 1 e5", NULL, M "Unexpected token after expression", 0},
    {"SELECT * FROM tab WHERE pk = 1)", NULL, M "Unexpected token after expression", 0},
    {"DELETE FROM tab WHERE pk = 1 ORDER BY pk", NULL, M "Unexpected token after expression", 0},
    {"SELECT * FROM tab ORDER BY pk WHERE pk = 1", NULL, M "Unexpected token after expression", 0},
    {"INSERT INTO tab t VALUE {'pk': 'x'}", NULL, M "Unexpected token after expression", 0},
    {"SELECT * FROM tab WHERE a = #x", NULL, M, 0},
    {"SELECT * FROM tab WHERE pk = 1 # note", NULL, M, 0},
    {"SELECT * FROM tab WHERE pk = 1 /* note", NULL, M, 0},
    {"SELECT * FROM tab /* a */ WHERE pk = 1 -- the key\n", NULL,
     "SELECT tab WHERE (= pk {\"N\":\"1\"})", 1},
    {"SELECT * FROM tab WHERE pk = 1e2147483648", NULL, M, 0},
    {"SELECT * FROM tab WHERE pk = 1e126", NULL,
     "Number overflow. Attempting to store a number with magnitude larger than supported range "
     "under root",
     0},
    {"UPDATE tab SET a = 1e-131 WHERE pk = 1", NULL,
     "Number underflow. Attempting to store a number with magnitude smaller than supported range "
     "under root",
     0},
    {"SELECT * FROM tab WHERE pk = 123456789012345678901234567890123456789", NULL,
     "Attempting to store more than 38 significant digits in a Number under root", 0},
    {"INSERT INTO tab VALUE {'pk': 1, 'm': {'x': 1e126}}", NULL,
     "Number overflow. Attempting to store a number with magnitude larger than supported range "
     "under root.x",
     0},
    {"INSERT INTO tab VALUE {'pk': 1, 'l': [1, 1e126]}", NULL,
     "Number overflow. Attempting to store a number with magnitude larger than supported range "
     "under root[1]",
     0},
    {"SELECT * FROM tab WHERE pk = ?", "[{\"N\":\"\"}]",
     "The parameter cannot be converted to a numeric value", 0},
    {"SELECT * FROM tab WHERE pk = ?", "[{\"L\":[{\"N\":\"1\"},{\"NS\":[\"2\",\"x\"]}]}]",
     "The parameter cannot be converted to a numeric value: x", 0},
    {"SELECT * FROM tab t WHERE pk = 'x'", NULL, "Aliasing is not supported", 0},
    {"UPDATE tab t SET a = 3 WHERE pk = 'x'", NULL, "Aliasing is not supported", 0},
    {"DELETE FROM tab t WHERE pk = 'x'", NULL, "Aliasing is not supported", 0},
    {"SELECT * FROM tab ORDER sk", NULL, M "Expected BY but found sk", 0},
    {"SELECT * FROM tab WHERE a IN []", NULL,
     "IN operator must have a left hand argument of type Variable Reference and right hand "
     "argument of type Seq with at least one member",
     0},
    {"SELECT * FROM \"a b\"", NULL,
     "Table name should be within the length [3, 255] and only contain 'a-z', 'A-Z', '0-9', '-', "
     "'_', '.'.",
     0},
    {"SELECT * FROM tab.idx.more", NULL, "A path may contain at most 2 components in the FROM clause",
     0},
    {"SELECT * FROM tab AS x", NULL, "Aliasing is not supported", 0},
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const parse_case *c = &cases[i];
        cJSON *params = c->params ? tp_json_parse_str(c->params) : NULL;
        pq_stmt *s = NULL;
        tp_error err;
        memset(&err, 0, sizeof err);
        int rc = pq_parse(c->stmt, params, &s, &err);
        if (c->ok) {
            if (rc != 0)
                fail_msg("%s: %s", c->stmt, err.message);
            char *got = show(s);
            if (strcmp(got, c->want) != 0)
                fail_msg("%s\n got: %s\nwant: %s", c->stmt, got, c->want);
            free(got);
        } else {
            if (rc == 0)
                fail_msg("%s parsed", c->stmt);
            assert_string_equal(err.code, "ValidationException");
            if (strcmp(err.message, c->want) != 0)
                fail_msg("%s\n got: %s\nwant: %s", c->stmt, err.message, c->want);
            assert_null(s);
        }
        pq_stmt_free(s);
        cJSON_Delete(params);
    }
}

static void test_conjuncts(void **state)
{
    (void)state;
    pq_stmt *s;
    tp_error err;
    assert_int_equal(pq_parse("SELECT * FROM tab WHERE a = 1 AND (b = 2 AND c = 3) AND (d = 4 OR e = 5)",
                              NULL, &s, &err),
                     0);
    pq_node **terms;
    size_t n = pq_conjuncts(s->where, &terms);
    assert_int_equal(n, 4);
    assert_true(pq_is_attr(terms[0]->kids[0], "a"));
    assert_true(pq_is_attr(terms[2]->kids[0], "c"));
    assert_int_equal(terms[3]->kind, PQN_OR);
    free(terms);
    pq_stmt_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_conjuncts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
