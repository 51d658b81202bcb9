/* Unit tests: dynamodb/attr — AttributeValue rules with AWS's exact
 * messages, canonical numbers, item size, equality.
 *
 * Where the expected strings come from:
 *   [D]  dynalite's test suite (test/putItem.js, getItem.js), which was
 *        written against real DynamoDB;
 *   [C]  paritysuite/dynamodb-conformance captures from real DynamoDB
 *        (tests/tier3: putItem, valueLayers, nestingDepth, numberByteSize,
 *        item-size); AWS is moving some messages to a new wording in 2026
 *        (quoted members, a "1 validation error detected: " envelope); we
 *        follow the older wording, still what BatchWriteItem and several
 *        regions return ("DUPE_OLDER" in valueLayers.test.ts);
 *   [R]  derived from those rules, for shapes no capture covers. */
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

#define INVALID "One or more parameter values were invalid: "
#define EMPTY "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
#define MULTI                                                                                 \
    "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the " \
    "supported datatypes"
#define NOT_NUMERIC "The parameter cannot be converted to a numeric value"
#define OVERFLOW \
    "Number overflow. Attempting to store a number with magnitude larger than supported range"
#define UNDERFLOW \
    "Number underflow. Attempting to store a number with magnitude smaller than supported range"
#define PRECISION "Attempting to store more than 38 significant digits in a Number"
#define NESTING                                                                          \
    "Nesting Levels have exceeded supported limits: Attributes in the item have nested " \
    "levels beyond supported limit"

static cJSON *parse(const char *json)
{
    cJSON *v = cJSON_Parse(json);
    if (!v)
        fail_msg("bad test JSON: %s", json);
    return v;
}

/* --- validation: errors ------------------------------------------------------ */

typedef struct bad_case {
    const char *av;      /* one AttributeValue, JSON */
    const char *code;    /* AWS error code */
    const char *message; /* exact */
} bad_case;

static const bad_case bad_values[] = {
    /* [D] unsupported datatype: nothing the model knows, or null */
    {"{}", "ValidationException", EMPTY},
    {"{\"a\":\"\"}", "ValidationException", EMPTY},
    {"{\"M\":{\"a\":{}}}", "ValidationException", EMPTY},
    {"{\"L\":[{}]}", "ValidationException", EMPTY},
    {"{\"L\":[{\"a\":{}}]}", "ValidationException", EMPTY},
    {"{\"S\":null}", "ValidationException", EMPTY},
    /* [D][C] */
    {"{\"NULL\":false}", "ValidationException",
     INVALID "Null attribute value types must have the value of true"},
    {"{\"SS\":[]}", "ValidationException", INVALID "An string set  may not be empty"},
    {"{\"NS\":[]}", "ValidationException", INVALID "An number set  may not be empty"},
    {"{\"BS\":[]}", "ValidationException", INVALID "Binary sets should not be empty"},
    {"{\"SS\":[\"a\",\"a\"]}", "ValidationException",
     INVALID "Input collection [a, a] contains duplicates."},
    {"{\"BS\":[\"Yg==\",\"Yg==\"]}", "ValidationException",
     INVALID "Input collection [Yg==, Yg==]of type BS contains duplicates."},
    /* [C] the older layer prints the members as sent */
    {"{\"SS\":[\"b\",\"a\",\"b\"]}", "ValidationException",
     INVALID "Input collection [b, a, b] contains duplicates."},
    {"{\"BS\":[\"/w==\",\"AA==\",\"AA==\"]}", "ValidationException",
     INVALID "Input collection [/w==, AA==, AA==]of type BS contains duplicates."},
    {"{\"NS\":[\"2\",\"1\",\"2\"]}", "ValidationException", "Input collection contains duplicates"},
    /* [D] numbers compare by value: "1" and "1.0" are the same member */
    {"{\"NS\":[\"1\",\"1\"]}", "ValidationException", "Input collection contains duplicates"},
    {"{\"NS\":[\"1\",\"1.0\"]}", "ValidationException", "Input collection contains duplicates"},
    {"{\"NS\":[\"100\",\"1e2\",\"3\"]}", "ValidationException",
     "Input collection contains duplicates"},
    {"{\"NS\":[\"-0\",\"0\"]}", "ValidationException", "Input collection contains duplicates"},
    /* [C] empty members are allowed, so two of them are duplicates */
    {"{\"SS\":[\"\",\"\"]}", "ValidationException", INVALID "Input collection [, ] contains duplicates."},
    /* [D] numbers, checked before "more than one datatypes" */
    {"{\"S\":\"\",\"N\":\"\"}", "ValidationException", NOT_NUMERIC},
    {"{\"S\":\"a\",\"N\":\"\"}", "ValidationException", NOT_NUMERIC},
    {"{\"S\":\"a\",\"N\":\"b\"}", "ValidationException", NOT_NUMERIC ": b"},
    {"{\"NS\":[\"1\",\"\"]}", "ValidationException", NOT_NUMERIC},
    {"{\"NS\":[\"1\",\"b\"]}", "ValidationException", NOT_NUMERIC ": b"},
    {"{\"N\":\"123456789012345678901234567890123456789\"}", "ValidationException", PRECISION},
    {"{\"N\":\"-1.23456789012345678901234567890123456789\"}", "ValidationException", PRECISION},
    {"{\"N\":\"1e126\"}", "ValidationException", OVERFLOW},
    {"{\"N\":\"-1e126\"}", "ValidationException", OVERFLOW},
    {"{\"N\":\"1e-131\"}", "ValidationException", UNDERFLOW},
    {"{\"N\":\"-1e-131\"}", "ValidationException", UNDERFLOW},
    /* [C] nested values are checked the same way */
    {"{\"M\":{\"x\":{\"L\":[{\"N\":\"abc\"}]}}}", "ValidationException", NOT_NUMERIC ": abc"},
    {"{\"M\":{\"x\":{\"L\":[{\"N\":\"1e126\"}]}}}", "ValidationException", OVERFLOW},
    {"{\"L\":[{\"S\":\"ok\"},{\"SS\":[]}]}", "ValidationException",
     INVALID "An string set  may not be empty"},
    {"{\"M\":{\"a\":{\"NULL\":false}}}", "ValidationException",
     INVALID "Null attribute value types must have the value of true"},
    /* [D] */
    {"{\"S\":\"a\",\"N\":\"1\"}", "ValidationException", MULTI},
    {"{\"BOOL\":true,\"NULL\":true}", "ValidationException", MULTI},
    /* [R] a bad member is reported before the type count */
    {"{\"SS\":[],\"S\":\"a\"}", "ValidationException", INVALID "An string set  may not be empty"},
    /* [D] blobs that are not base64 are a SerializationException */
    {"{\"B\":\"abc\"}", "SerializationException",
     "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 "
     "bytes but found: 3"},
    {"{\"BS\":[\"Yg==\",\"a!==\"]}", "SerializationException",
     "'a!==' can not be converted to a Blob: Invalid Base64 character: '!'"},
    {"{\"L\":[{\"B\":\"YQ==\"},{\"B\":\"YR==\"}]}", "SerializationException",
     "'YR==' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"},
    /* [R] and that comes before any validation error in the same value */
    {"{\"M\":{\"a\":{\"SS\":[]},\"b\":{\"B\":\"abc\"}}}", "SerializationException",
     "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 "
     "bytes but found: 3"},
};

static void bad_values_fail_with_aws_messages(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        const bad_case *c = &bad_values[i];
        cJSON *av = parse(c->av);
        tp_error e;
        tp_error_clear(&e);
        int rc = ddb_attr_validate(av, &e);
        if (rc != -1)
            fail_msg("%s: accepted, want \"%s\"", c->av, c->message);
        if (strcmp(e.code, c->code) != 0 || strcmp(e.message, c->message) != 0)
            fail_msg("%s:\n  got  %s \"%s\"\n  want %s \"%s\"", c->av, e.code, e.message, c->code,
                     c->message);
        assert_int_equal(e.status, 400);
        cJSON_Delete(av);
    }
}

/* --- validation: accepted values and their canonical form -------------------- */

typedef struct good_case {
    const char *av;
    const char *canonical; /* the value after validation */
} good_case;

static const good_case good_values[] = {
    /* [D][C] numbers come back canonical */
    {"{\"N\":\"1.50\"}", "{\"N\":\"1.5\"}"},
    {"{\"N\":\"1e2\"}", "{\"N\":\"100\"}"},
    {"{\"N\":\"-0\"}", "{\"N\":\"0\"}"},
    {"{\"N\":\"0042.1200\"}", "{\"N\":\"42.12\"}"},
    {"{\"NS\":[\"1.0\",\"2e1\",\"-.5\"]}", "{\"NS\":[\"1\",\"20\",\"-0.5\"]}"},
    {"{\"L\":[{\"N\":\"+7.000\"},{\"M\":{\"n\":{\"NS\":[\"05\"]}}}]}",
     "{\"L\":[{\"N\":\"7\"},{\"M\":{\"n\":{\"NS\":[\"5\"]}}}]}"},
    /* [C] empty strings and binaries are fine outside keys, in sets too */
    {"{\"S\":\"\"}", "{\"S\":\"\"}"},
    {"{\"B\":\"\"}", "{\"B\":\"\"}"},
    {"{\"SS\":[\"\"]}", "{\"SS\":[\"\"]}"},
    {"{\"BS\":[\"\",\"AA==\"]}", "{\"BS\":[\"\",\"AA==\"]}"},
    {"{\"SS\":[\"a\",\"A\",\"a \"]}", "{\"SS\":[\"a\",\"A\",\"a \"]}"},
    {"{\"NULL\":true}", "{\"NULL\":true}"},
    {"{\"BOOL\":false}", "{\"BOOL\":false}"},
    {"{\"M\":{}}", "{\"M\":{}}"},
    {"{\"L\":[]}", "{\"L\":[]}"},
    /* [D] a null member is no member */
    {"{\"S\":\"a\",\"N\":null}", "{\"S\":\"a\",\"N\":null}"},
};

static void good_values_pass_and_canonicalise(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof good_values / sizeof good_values[0]; i++) {
        const good_case *c = &good_values[i];
        cJSON *av = parse(c->av);
        cJSON *want = parse(c->canonical);
        tp_error e;
        tp_error_clear(&e);
        if (ddb_attr_validate(av, &e) != 0)
            fail_msg("%s: rejected: %s", c->av, e.message);
        if (!cJSON_Compare(av, want, 1)) {
            char *got = cJSON_PrintUnformatted(av);
            fail_msg("%s: became %s, want %s", c->av, got, c->canonical);
        }
        cJSON_Delete(av);
        cJSON_Delete(want);
    }
}

static void number_text_expands_to_plain_decimal(void **state)
{
    (void)state;
    /* [C] "1E125" is stored as the 126-digit integer. */
    cJSON *av = parse("{\"N\":\"1E125\"}");
    tp_error e;
    assert_int_equal(ddb_attr_validate(av, &e), 0);
    const char *text = cJSON_GetObjectItem(av, "N")->valuestring;
    assert_int_equal(strlen(text), 126);
    assert_int_equal(text[0], '1');
    assert_int_equal(strspn(text + 1, "0"), 125);
    cJSON_Delete(av);
}

/* --- nesting depth --------------------------------------------------------------- */

/* levels single-key maps (or lists) around a string leaf. */
static cJSON *deep(int levels, int lists)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "S", "leaf");
    for (int i = 0; i < levels; i++) {
        cJSON *outer = cJSON_CreateObject();
        if (lists) {
            cJSON *l = cJSON_AddArrayToObject(outer, "L");
            cJSON_AddItemToArray(l, v);
        } else {
            cJSON *m = cJSON_AddObjectToObject(outer, "M");
            cJSON_AddItemToObject(m, "n", v);
        }
        v = outer;
    }
    return v;
}

static void nesting_depth_limit(void **state)
{
    (void)state;
    /* [C] the attribute is level 1: 31 wraps put the leaf at 32 (accepted),
     * 32 wraps put it at 33 (refused). */
    for (int lists = 0; lists < 2; lists++) {
        tp_error e;
        cJSON *ok = deep(31, lists);
        tp_error_clear(&e);
        if (ddb_attr_validate(ok, &e) != 0)
            fail_msg("31 wraps (lists=%d) rejected: %s", lists, e.message);
        cJSON_Delete(ok);

        cJSON *bad = deep(32, lists);
        tp_error_clear(&e);
        assert_int_equal(ddb_attr_validate(bad, &e), -1);
        assert_string_equal(e.code, "ValidationException");
        assert_string_equal(e.message, NESTING);
        cJSON_Delete(bad);

        /* Far deeper than the limit still fails cleanly. */
        cJSON *abyss = deep(500, lists);
        tp_error_clear(&e);
        assert_int_equal(ddb_attr_validate(abyss, &e), -1);
        assert_string_equal(e.message, NESTING);
        cJSON_Delete(abyss);
    }
    /* In an item, each attribute counts from 1. */
    cJSON *item = cJSON_CreateObject();
    cJSON_AddItemToObject(item, "pk", parse("{\"S\":\"k\"}"));
    cJSON_AddItemToObject(item, "data", deep(31, 0));
    tp_error e;
    assert_int_equal(ddb_item_validate(item, &e), 0);
    cJSON_AddItemToObject(item, "more", deep(32, 0));
    assert_int_equal(ddb_item_validate(item, &e), -1);
    assert_string_equal(e.message, NESTING);
    cJSON_Delete(item);
}

/* --- items ---------------------------------------------------------------------- */

static void item_validation_order(void **state)
{
    (void)state;
    tp_error e;
    /* [R] attributes in order: the first bad one is reported */
    cJSON *item = parse("{\"a\":{\"S\":\"x\"},\"b\":{\"SS\":[]},\"c\":{\"N\":\"z\"}}");
    assert_int_equal(ddb_item_validate(item, &e), -1);
    assert_string_equal(e.message, INVALID "An string set  may not be empty");
    cJSON_Delete(item);

    /* [R] a blob error anywhere wins over a validation error before it */
    item = parse("{\"a\":{\"SS\":[]},\"b\":{\"M\":{\"c\":{\"BS\":[\"Zm9v\",\"x\"]}}}}");
    assert_int_equal(ddb_item_validate(item, &e), -1);
    assert_string_equal(e.code, "SerializationException");
    assert_string_equal(e.message, "'x' can not be converted to a Blob: Base64 encoded length is "
                                   "expected a multiple of 4 bytes but found: 1");
    cJSON_Delete(item);

    /* every number in the item is rewritten */
    item = parse("{\"a\":{\"N\":\"10.0\"},\"b\":{\"M\":{\"c\":{\"N\":\"0.50\"}}}}");
    assert_int_equal(ddb_item_validate(item, &e), 0);
    cJSON *want = parse("{\"a\":{\"N\":\"10\"},\"b\":{\"M\":{\"c\":{\"N\":\"0.5\"}}}}");
    assert_true(cJSON_Compare(item, want, 1));
    cJSON_Delete(want);
    cJSON_Delete(item);

    assert_int_equal(ddb_item_validate(NULL, &e), 0);
}

/* --- size -------------------------------------------------------------------------- */

typedef struct size_case {
    const char *av;
    size_t size;
} size_case;

static const size_case value_sizes[] = {
    /* UTF-8 bytes */
    {"{\"S\":\"\"}", 0},
    {"{\"S\":\"abc\"}", 3},
    {"{\"S\":\"\xc3\xbc\xe2\x82\xac\"}", 5},      /* ü€ */
    {"{\"S\":\"\xf0\x9f\x98\x80\"}", 4},          /* one emoji, 2 UTF-16 units */
    /* decoded bytes */
    {"{\"B\":\"\"}", 0},
    {"{\"B\":\"AQI=\"}", 2},
    {"{\"B\":\"AQ==\"}", 1},
    {"{\"B\":\"AQID\"}", 3},
    /* [C] numbers: numberByteSize captures */
    {"{\"N\":\"0\"}", 1},
    {"{\"N\":\"1\"}", 2},
    {"{\"N\":\"12\"}", 2},
    {"{\"N\":\"123\"}", 3},
    {"{\"N\":\"1234\"}", 3},
    {"{\"N\":\"1010\"}", 3},
    {"{\"N\":\"1.5\"}", 3},
    {"{\"N\":\"3.14159\"}", 5},
    {"{\"N\":\"123456\"}", 4},
    {"{\"N\":\"100.5\"}", 4},
    {"{\"N\":\"0.15\"}", 2},
    {"{\"N\":\"-42\"}", 3},
    {"{\"N\":\"-0\"}", 1},
    {"{\"N\":\"1E125\"}", 2},
    {"{\"N\":\"12345678901234567890123456789012345678\"}", 20},
    {"{\"BOOL\":false}", 1},
    {"{\"NULL\":true}", 1},
    /* sets: the sum of their members */
    {"{\"SS\":[\"a\",\"bb\",\"\"]}", 3},
    {"{\"BS\":[\"AQI=\",\"Ag==\",\"AQ==\"]}", 4},
    {"{\"NS\":[\"1\",\"12.3456\"]}", 6},
    /* [D] documents: 3 bytes, plus 1 per element, plus member names */
    {"{\"L\":[]}", 3},
    {"{\"M\":{}}", 3},
    {"{\"L\":[{\"S\":\"a\"},{\"S\":\"aa\"},{\"S\":\"bb\"},{\"S\":\"ccc\"}]}", 15},
    {"{\"M\":{\"aa\":{\"S\":\"aa\"},\"bbb\":{\"S\":\"bbb\"}}}", 15},
    {"{\"L\":[{\"S\":\"aa\"},{\"N\":\"12.3456\"},{\"B\":\"AQI=\"}]}", 14},
    {"{\"M\":{\"aa\":{\"S\":\"aa\"},\"bbb\":{\"N\":\"12.3456\"},\"cccc\":{\"B\":\"AQI=\"}}}", 23},
    {"{\"L\":[{\"L\":[]},{\"M\":{\"\xc3\xa9\":{\"NULL\":true}}}]}", 3 + 1 + 3 + 1 + (3 + 1 + 2 + 1)},
};

static void value_sizes_follow_aws(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof value_sizes / sizeof value_sizes[0]; i++) {
        cJSON *av = parse(value_sizes[i].av);
        size_t got = ddb_attr_size(av);
        if (got != value_sizes[i].size)
            fail_msg("size(%s) = %zu, want %zu", value_sizes[i].av, got, value_sizes[i].size);
        cJSON_Delete(av);
    }
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void add_s(cJSON *item, const char *name, char fill, size_t n)
{
    char *s = repeat(fill, n);
    cJSON *av = cJSON_CreateObject();
    cJSON_AddStringToObject(av, "S", s);
    cJSON_AddItemToObject(item, name, av);
    free(s);
}

static void add_json(cJSON *item, const char *name, const char *json)
{
    cJSON_AddItemToObject(item, name, parse(json));
}

/* [D] getItem.js "ConsumedCapacity ... with ConsistentRead": each item is
 * one read unit at 4096 bytes and two one byte later, with a 10-character
 * key (dynalite's randomString). */
static void capacity_fixtures_from_aws(void **state)
{
    (void)state;
    for (int extra = 0; extra < 2; extra++) {
        cJSON *one = cJSON_CreateObject();
        add_s(one, "a", 'k', 10);
        add_s(one, "bb", 'b', 3999 + (size_t)extra);
        add_json(one, "ccc", "{\"N\":\"12.3456\"}");
        add_json(one, "dddd", "{\"B\":\"AQI=\"}");
        add_json(one, "eeeee", "{\"BS\":[\"AQI=\",\"Ag==\",\"AQ==\"]}");
        add_json(one, "ffffff", "{\"NULL\":true}");
        add_json(one, "ggggggg", "{\"BOOL\":false}");
        add_json(one, "hhhhhhhh", "{\"L\":[{\"S\":\"a\"},{\"S\":\"aa\"},{\"S\":\"bb\"},{\"S\":\"ccc\"}]}");
        add_json(one, "iiiiiiiii", "{\"M\":{\"aa\":{\"S\":\"aa\"},\"bbb\":{\"S\":\"bbb\"}}}");
        assert_int_equal(ddb_item_size(one), 4096 + extra);
        cJSON_Delete(one);

        cJSON *two = cJSON_CreateObject();
        add_s(two, "a", 'k', 10);
        add_s(two, "ab", 'b', 4026 + (size_t)extra);
        add_json(two, "abc", "{\"NULL\":true}");
        add_json(two, "abcd", "{\"BOOL\":true}");
        add_json(two, "abcde", "{\"L\":[{\"S\":\"aa\"},{\"N\":\"12.3456\"},{\"B\":\"AQI=\"}]}");
        add_json(two, "abcdef",
                 "{\"M\":{\"aa\":{\"S\":\"aa\"},\"bbb\":{\"N\":\"12.3456\"},\"cccc\":{\"B\":\"AQI=\"}}}");
        assert_int_equal(ddb_item_size(two), 4096 + extra);
        cJSON_Delete(two);
    }
    /* [D] "... with no ConsistentRead": half a unit at 4096, one at 4097 */
    cJSON *small = cJSON_CreateObject();
    add_s(small, "a", 'k', 10);
    add_s(small, "b", 'b', 4071);
    add_json(small, "c", "{\"N\":\"12.3456\"}");
    add_json(small, "d", "{\"B\":\"AQI=\"}");
    add_json(small, "e", "{\"BS\":[\"AQI=\",\"Ag==\",\"AQ==\"]}");
    assert_int_equal(ddb_item_size(small), 4096);
    cJSON_Delete(small);
    cJSON *larger = cJSON_CreateObject();
    add_s(larger, "a", 'k', 10);
    add_s(larger, "b", 'b', 4073);
    add_json(larger, "c", "{\"N\":\"12.3456\"}");
    add_json(larger, "d", "{\"B\":\"AQI=\"}");
    add_json(larger, "e", "{\"BS\":[\"AQI=\",\"Ag==\"]}");
    assert_int_equal(ddb_item_size(larger), 4097);
    cJSON_Delete(larger);
}

/* [D] putItem.js: the 400 KB limit, one byte either side. An item over it
 * fails ("Item size has exceeded the maximum allowed size"), one at it
 * reaches the table lookup; [C] the gate is size > 409600. */
static void item_size_limit_boundaries(void **state)
{
    (void)state;
    assert_int_equal(DDB_MAX_ITEM_BYTES, 409600);
    const size_t key = 10;
    struct {
        const char *name;
        size_t overhead; /* bytes besides key value and padding */
    } shapes[] = {{"b", 1 + 1}, {"bbbbbbbbbbbbbbbbbbbbbbbbbbb", 1 + 27}};
    for (size_t i = 0; i < 2; i++) {
        for (int over = 0; over < 2; over++) {
            cJSON *item = cJSON_CreateObject();
            add_s(item, "a", 'k', key);
            add_s(item, shapes[i].name, 'a',
                  DDB_MAX_ITEM_BYTES - key - shapes[i].overhead + (size_t)over);
            assert_int_equal(ddb_item_size(item), DDB_MAX_ITEM_BYTES + (size_t)over);
            cJSON_Delete(item);
        }
    }
    /* multi attributes: a, bb, ccc = "cc" */
    for (int over = 0; over < 2; over++) {
        cJSON *item = cJSON_CreateObject();
        add_s(item, "a", 'k', key);
        add_s(item, "bb", 'a', DDB_MAX_ITEM_BYTES - key - 8 + (size_t)over);
        add_json(item, "ccc", "{\"S\":\"cc\"}");
        assert_int_equal(ddb_item_size(item), DDB_MAX_ITEM_BYTES + (size_t)over);
        cJSON_Delete(item);
    }
    /* [D] big numbers: 38 ones then 88 zeros costs 20 bytes, 1E125 spelled
     * out costs 2, "11" then 124 zeros 2, 5 ones 4, 7 ones 5. */
    struct {
        const char *digits;
        int zeros;
        size_t cost;
    } nums[] = {{"11111111111111111111111111111111111111", 88, 20},
                {"1", 125, 2},
                {"11", 124, 2},
                {"11111", 121, 4},
                {"111111", 120, 4},
                {"1111111", 119, 5}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        for (int over = 0; over < 2; over++) {
            char *zeros = repeat('0', (size_t)nums[i].zeros);
            char text[200];
            snprintf(text, sizeof text, "%s%s", nums[i].digits, zeros);
            free(zeros);
            cJSON *item = cJSON_CreateObject();
            add_s(item, "a", 'k', key);
            /* names a, b, c: 3 bytes */
            add_s(item, "b", 'a', DDB_MAX_ITEM_BYTES - key - 3 - nums[i].cost + (size_t)over);
            cJSON *n = cJSON_CreateObject();
            cJSON_AddStringToObject(n, "N", text);
            cJSON_AddItemToObject(item, "c", n);
            tp_error e;
            assert_int_equal(ddb_item_validate(item, &e), 0);
            if (ddb_item_size(item) != DDB_MAX_ITEM_BYTES + (size_t)over)
                fail_msg("%s: size %zu, want %zu", text, ddb_item_size(item),
                         DDB_MAX_ITEM_BYTES + (size_t)over);
            cJSON_Delete(item);
        }
    }
}

static void item_size_counts_names_in_utf8(void **state)
{
    (void)state;
    cJSON *item = parse("{\"\xc3\xa9t\xc3\xa9\":{\"S\":\"\xe2\x82\xac\"},\"n\":{\"NULL\":true}}");
    /* "été" 5 bytes + "€" 3, "n" 1 + 1 */
    assert_int_equal(ddb_item_size(item), 10);
    cJSON_Delete(item);
    cJSON *empty = cJSON_CreateObject();
    assert_int_equal(ddb_item_size(empty), 0);
    cJSON_Delete(empty);
}

/* --- equality and type ----------------------------------------------------------------- */

typedef struct eq_case {
    const char *a, *b;
    int equal;
} eq_case;

static const eq_case equalities[] = {
    {"{\"S\":\"a\"}", "{\"S\":\"a\"}", 1},
    {"{\"S\":\"a\"}", "{\"S\":\"A\"}", 0},
    {"{\"S\":\"1\"}", "{\"N\":\"1\"}", 0},
    {"{\"N\":\"1\"}", "{\"N\":\"1.0\"}", 1},
    {"{\"N\":\"100\"}", "{\"N\":\"1e2\"}", 1},
    {"{\"N\":\"-0\"}", "{\"N\":\"0\"}", 1},
    {"{\"N\":\"1\"}", "{\"N\":\"2\"}", 0},
    {"{\"B\":\"AQI=\"}", "{\"B\":\"AQI=\"}", 1},
    {"{\"B\":\"AQI=\"}", "{\"B\":\"AQ==\"}", 0},
    {"{\"BOOL\":true}", "{\"BOOL\":true}", 1},
    {"{\"BOOL\":true}", "{\"BOOL\":false}", 0},
    {"{\"NULL\":true}", "{\"NULL\":true}", 1},
    {"{\"NULL\":true}", "{\"BOOL\":true}", 0},
    /* sets ignore order; number sets compare by value */
    {"{\"SS\":[\"a\",\"b\"]}", "{\"SS\":[\"b\",\"a\"]}", 1},
    {"{\"SS\":[\"a\",\"b\"]}", "{\"SS\":[\"a\"]}", 0},
    {"{\"SS\":[\"a\",\"b\"]}", "{\"SS\":[\"a\",\"c\"]}", 0},
    {"{\"NS\":[\"1\",\"2\"]}", "{\"NS\":[\"2.0\",\"1\"]}", 1},
    {"{\"NS\":[\"1\",\"2\"]}", "{\"NS\":[\"1\",\"3\"]}", 0},
    {"{\"BS\":[\"AQ==\",\"Ag==\"]}", "{\"BS\":[\"Ag==\",\"AQ==\"]}", 1},
    {"{\"SS\":[\"a\"]}", "{\"BS\":[\"a\"]}", 0},
    /* lists keep order, maps do not */
    {"{\"L\":[{\"N\":\"1\"},{\"S\":\"x\"}]}", "{\"L\":[{\"N\":\"1.00\"},{\"S\":\"x\"}]}", 1},
    {"{\"L\":[{\"N\":\"1\"},{\"S\":\"x\"}]}", "{\"L\":[{\"S\":\"x\"},{\"N\":\"1\"}]}", 0},
    {"{\"L\":[{\"N\":\"1\"}]}", "{\"L\":[{\"N\":\"1\"},{\"N\":\"1\"}]}", 0},
    {"{\"M\":{\"a\":{\"N\":\"1\"},\"b\":{\"SS\":[\"x\",\"y\"]}}}",
     "{\"M\":{\"b\":{\"SS\":[\"y\",\"x\"]},\"a\":{\"N\":\"1.0\"}}}", 1},
    {"{\"M\":{\"a\":{\"N\":\"1\"}}}", "{\"M\":{\"a\":{\"N\":\"1\"},\"b\":{\"S\":\"\"}}}", 0},
    {"{\"M\":{\"a\":{\"N\":\"1\"}}}", "{\"M\":{\"b\":{\"N\":\"1\"}}}", 0},
    {"{\"M\":{}}", "{\"L\":[]}", 0},
    {"{}", "{}", 0},
};

static void equality_is_dynamodb_equality(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof equalities / sizeof equalities[0]; i++) {
        cJSON *a = parse(equalities[i].a), *b = parse(equalities[i].b);
        if (ddb_attr_equal(a, b) != equalities[i].equal || ddb_attr_equal(b, a) != equalities[i].equal)
            fail_msg("equal(%s, %s) != %d", equalities[i].a, equalities[i].b, equalities[i].equal);
        cJSON_Delete(a);
        cJSON_Delete(b);
    }
}

static void type_tags(void **state)
{
    (void)state;
    struct {
        const char *av, *type;
    } cases[] = {
        {"{\"S\":\"x\"}", "S"},         {"{\"N\":\"1\"}", "N"},       {"{\"B\":\"\"}", "B"},
        {"{\"SS\":[\"a\"]}", "SS"},     {"{\"NS\":[\"1\"]}", "NS"},   {"{\"BS\":[\"\"]}", "BS"},
        {"{\"M\":{}}", "M"},            {"{\"L\":[]}", "L"},          {"{\"NULL\":true}", "NULL"},
        {"{\"BOOL\":false}", "BOOL"},   {"{\"S\":null,\"N\":\"1\"}", "N"},
        {"{}", NULL},                   {"{\"x\":\"1\"}", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *av = parse(cases[i].av);
        const char *t = ddb_attr_type(av);
        if (cases[i].type ? !t || strcmp(t, cases[i].type) != 0 : t != NULL)
            fail_msg("type(%s) = %s, want %s", cases[i].av, t ? t : "NULL",
                     cases[i].type ? cases[i].type : "NULL");
        cJSON_Delete(av);
    }
    assert_null(ddb_attr_type(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_values_fail_with_aws_messages),
        cmocka_unit_test(good_values_pass_and_canonicalise),
        cmocka_unit_test(number_text_expands_to_plain_decimal),
        cmocka_unit_test(nesting_depth_limit),
        cmocka_unit_test(item_validation_order),
        cmocka_unit_test(value_sizes_follow_aws),
        cmocka_unit_test(capacity_fixtures_from_aws),
        cmocka_unit_test(item_size_limit_boundaries),
        cmocka_unit_test(item_size_counts_names_in_utf8),
        cmocka_unit_test(equality_is_dynamodb_equality),
        cmocka_unit_test(type_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
