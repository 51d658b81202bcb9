/* Unit tests: dynamodb/index — the index key encoding (single attributes
 * as keycodec has them; multi-attribute keys escaped and terminated so the
 * memcmp order is part by part), sparse detection, and the empty-value
 * error. Maintenance itself is covered by tests/integration/test_indexes.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "dynamodb/index.h"
#include "dynamodb/keycodec.h"

static int blob_cmp(const tp_buf *a, const tp_buf *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->data, b->data, n) : 0;
    if (c == 0)
        c = (a->len > b->len) - (a->len < b->len);
    return (c > 0) - (c < 0);
}

static const char *const PAIR[] = {"a", "b"};

/* Encodes {"a": {"S": s}, "b": {"N": n}} as a two-part key. */
static void pair(const char *s, const char *n, tp_buf *out)
{
    char json[256];
    snprintf(json, sizeof json, "{\"a\":{\"S\":\"%s\"},\"b\":{\"N\":\"%s\"}}", s, n);
    cJSON *item = cJSON_Parse(json);
    assert_non_null(item);
    tp_error err;
    tp_buf_init(out);
    assert_int_equal(ddb_index_key_encode(PAIR, "SN", 2, item, out, &err), 0);
    cJSON_Delete(item);
}

static void test_single_attribute_is_plain_keycodec(void **state)
{
    (void)state;
    cJSON *item = cJSON_Parse("{\"g\":{\"N\":\"-12.5\"}}");
    const char *names[] = {"g"};
    tp_buf a, b;
    tp_buf_init(&a);
    tp_buf_init(&b);
    tp_error err;
    assert_int_equal(ddb_index_key_encode(names, "N", 1, item, &a, &err), 0);
    assert_int_equal(ddb_key_encode('N', "-12.5", &b, &err), 0);
    assert_int_equal(blob_cmp(&a, &b), 0);
    tp_buf_free(&a);
    tp_buf_free(&b);
    cJSON_Delete(item);
}

static void test_multi_attribute_orders_part_by_part(void **state)
{
    (void)state;
    /* ascending: the first part decides, then the second (numerically) */
    static const char *const rows[][2] = {
        {"a", "-1"}, {"a", "2"}, {"a", "10"}, {"a\\u0001", "1"}, {"ab", "1"}, {"b", "-100"},
    };
    enum { N = sizeof rows / sizeof rows[0] };
    tp_buf enc[N];
    for (int i = 0; i < N; i++)
        pair(rows[i][0], rows[i][1], &enc[i]);
    for (int i = 1; i < N; i++)
        assert_true(blob_cmp(&enc[i - 1], &enc[i]) < 0);
    for (int i = 0; i < N; i++)
        tp_buf_free(&enc[i]);
}

static void test_missing_or_mistyped_is_not_indexed(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{\"a\":{\"S\":\"x\"}}",
        "{\"a\":{\"S\":\"x\"},\"b\":{\"S\":\"1\"}}",
        "{\"b\":{\"N\":\"1\"}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        cJSON *item = cJSON_Parse(docs[i]);
        tp_buf out;
        tp_buf_init(&out);
        tp_error err;
        assert_int_equal(ddb_index_key_encode(PAIR, "SN", 2, item, &out, &err), 1);
        tp_buf_free(&out);
        cJSON_Delete(item);
    }
}

static void test_empty_string_is_an_error(void **state)
{
    (void)state;
    cJSON *item = cJSON_Parse("{\"a\":{\"S\":\"\"},\"b\":{\"N\":\"1\"}}");
    tp_buf out;
    tp_buf_init(&out);
    tp_error err;
    memset(&err, 0, sizeof err);
    assert_int_equal(ddb_index_key_encode(PAIR, "SN", 2, item, &out, &err), -1);
    assert_string_equal(err.code, "ValidationException");
    tp_buf_free(&out);
    cJSON_Delete(item);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_attribute_is_plain_keycodec),
        cmocka_unit_test(test_multi_attribute_orders_part_by_part),
        cmocka_unit_test(test_missing_or_mistyped_is_not_indexed),
        cmocka_unit_test(test_empty_string_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
