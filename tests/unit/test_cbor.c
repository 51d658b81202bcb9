/* Unit tests: http/cbor — CBOR bodies to request trees and back: nested
 * and indefinite-length items, integers past 2^53 and 2^64's edge, half /
 * single / double floats, tag 1 in both forms, U+0000 in text, the blob and
 * timestamp hints on the way out, and the refusals (truncated, trailing
 * bytes, non-text keys, non-finite numbers, unknown simple values, too
 * deep). Table-driven: CBOR bytes -> the tree as JSON text, or refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "core/json.h"
#include "http/cbor.h"

#define B(...) ((const unsigned char[]){__VA_ARGS__}), sizeof((const unsigned char[]){__VA_ARGS__})

static char *decode_text(const unsigned char *data, size_t len)
{
    char why[128] = "";
    cJSON *t = tp_cbor_decode(data, len, why, sizeof why);
    if (!t)
        return NULL;
    char *s = tp_json_print(t);
    cJSON_Delete(t);
    return s;
}

static void expect(const unsigned char *data, size_t len, const char *json)
{
    char *got = decode_text(data, len);
    assert_non_null(got);
    assert_string_equal(got, json);
    free(got);
}

static void refused(const unsigned char *data, size_t len, const char *reason)
{
    char why[128] = "";
    cJSON *t = tp_cbor_decode(data, len, why, sizeof why);
    assert_null(t);
    if (reason)
        assert_non_null(strstr(why, reason));
}

static void nested_maps_and_arrays(void **state)
{
    (void)state;
    /* {"a": {"b": [1, {"c": true}]}, "d": null} */
    expect(B(0xa2, 0x61, 'a', 0xa1, 0x61, 'b', 0x82, 0x01, 0xa1, 0x61, 'c', 0xf5, 0x61, 'd', 0xf6),
           "{\"a\":{\"b\":[1,{\"c\":true}]},\"d\":null}");
    /* an empty map, an empty array, false, undefined (as null) */
    expect(B(0xa0), "{}");
    expect(B(0x84, 0x80, 0xa0, 0xf4, 0xf7), "[[],{},false,null]");
    /* a repeated key: the last one wins */
    expect(B(0xa2, 0x61, 'k', 0x01, 0x61, 'k', 0x02), "{\"k\":2}");
}

static void indefinite_lengths(void **state)
{
    (void)state;
    /* {_ "a": [_ 1, 2], "s": (_ "ab", "c"), "b": (_ h'00', h'ff')} */
    expect(B(0xbf, 0x61, 'a', 0x9f, 0x01, 0x02, 0xff, 0x61, 's', 0x7f, 0x62, 'a', 'b', 0x61, 'c', 0xff,
             0x61, 'b', 0x5f, 0x41, 0x00, 0x41, 0xff, 0xff, 0xff),
           "{\"a\":[1,2],\"s\":\"abc\",\"b\":\"AP8=\"}");
    /* an indefinite string with no chunks */
    expect(B(0xa1, 0x61, 'e', 0x7f, 0xff), "{\"e\":\"\"}");
    /* an unterminated indefinite map */
    refused(B(0xbf, 0x61, 'a', 0x01), "well-formed");
}

static void integers(void **state)
{
    (void)state;
    expect(B(0x83, 0x17, 0x18, 0x18, 0x19, 0x01, 0x00), "[23,24,256]");
    expect(B(0x82, 0x20, 0x38, 0x63), "[-1,-100]");
    /* 2^53 + 1, 2^64 - 1 and -2^64 (the smallest CBOR negative integer):
     * past a double's exact integers, they become the nearest doubles */
    static const struct {
        unsigned char bytes[9];
        double want;
    } big[] = {
        {{0x1b, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}, 9007199254740992.0},
        {{0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 18446744073709551615.0},
        {{0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, -18446744073709551616.0},
        {{0x3a, 0xff, 0xff, 0xff, 0xff}, -4294967296.0},
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        char why[64];
        size_t n = big[i].bytes[0] == 0x3a ? 5 : 9;
        cJSON *t = tp_cbor_decode(big[i].bytes, n, why, sizeof why);
        assert_non_null(t);
        assert_true(cJSON_IsNumber(t));
        assert_true(t->valuedouble == big[i].want);
        cJSON_Delete(t);
    }
    /* a bignum tag (2) is not unwrapped into a number: its bytes stay a blob */
    expect(B(0xc2, 0x42, 0x01, 0x00), "\"AQA=\"");
}

static void floats(void **state)
{
    (void)state;
    expect(B(0x83, 0xf9, 0x3c, 0x00, 0xfa, 0x3f, 0xc0, 0x00, 0x00, 0xfb, 0x3f, 0xf8, 0x00, 0x00, 0x00,
             0x00, 0x00, 0x00),
           "[1,1.5,1.5]");
    expect(B(0xf9, 0xc4, 0x00), "-4");
    char why[64];
    cJSON *pi = tp_cbor_decode(B(0xfb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18), why, sizeof why);
    assert_non_null(pi);
    assert_true(pi->valuedouble == 3.141592653589793);
    cJSON_Delete(pi);
    refused(B(0xf9, 0x7e, 0x00), "finite");                     /* NaN */
    refused(B(0xfa, 0x7f, 0x80, 0x00, 0x00), "finite");         /* +Inf */
    refused(B(0xa1, 0x61, 'x', 0xf9, 0xfc, 0x00), "finite");    /* -Inf inside a map */
}

static void timestamps_in(void **state)
{
    (void)state;
    /* tag 1 over integer milliseconds (the AWS SDK for Java's form) */
    expect(B(0xc1, 0x1b, 0x00, 0x00, 0x01, 0x8c, 0xc2, 0x51, 0xf4, 0x00), "1704067200");
    expect(B(0xc1, 0x19, 0x04, 0xd2), "1.234");
    /* tag 1 over float seconds (RFC 8949's) */
    expect(B(0xc1, 0xfb, 0x41, 0xd9, 0x64, 0x80, 0x20, 0x20, 0x00, 0x00), "1704067200.5");
    /* another tag passes its content through */
    expect(B(0xd8, 0x20, 0x63, 'u', 'r', 'l'), "\"url\"");
}

static void text_and_nul(void **state)
{
    (void)state;
    char why[64];
    cJSON *t = tp_cbor_decode(B(0xa1, 0x61, 'k', 0x63, 'a', 0x00, 'b'), why, sizeof why);
    assert_non_null(t);
    const char *v = tp_json_str(t, "k");
    assert_non_null(v);
    assert_int_equal(tp_str_wire_len(v), 3);   /* U+0000 held inside, not cut */
    tp_buf out;
    tp_buf_init(&out);
    assert_int_equal(tp_cbor_encode(t, NULL, &out), 0);
    const unsigned char want[] = {0xa1, 0x61, 'k', 0x63, 'a', 0x00, 'b'};
    assert_int_equal(out.len, sizeof want);
    assert_memory_equal(out.data, want, sizeof want);
    tp_buf_free(&out);
    cJSON_Delete(t);
    expect(B(0x62, 0xc3, 0xa9), "\"\xc3\xa9\"");
}

static void invalid_input(void **state)
{
    (void)state;
    refused(B(0x1b, 0x00, 0x00), "well-formed");             /* truncated integer */
    refused(B(0x63, 'a', 'b'), "well-formed");               /* truncated string */
    refused(B(0xa1, 0x61, 'a'), "well-formed");              /* a key without a value */
    refused(B(0xff), "well-formed");                         /* a lone break */
    refused(B(0x1c), "well-formed");                         /* reserved additional info */
    refused(B(0xa0, 0x00), "trailing");                      /* two items */
    refused(B(0xa1, 0x01, 0x02), "not a text string");       /* an integer key */
    refused(B(0xa1, 0x41, 'k', 0x02), "not a text string");  /* a byte-string key */
    refused(B(0xf0), NULL);                                  /* simple value 16 */
    char why[64];
    assert_null(tp_cbor_decode("", 0, why, sizeof why));
    /* 100 nested arrays: past the depth limit */
    unsigned char deep[101];
    memset(deep, 0x81, 100);
    deep[100] = 0x00;
    refused(deep, sizeof deep, "deep");
    memset(deep, 0x81, 60);
    deep[60] = 0x00;
    char *s = decode_text(deep, 61);
    assert_non_null(s);
    free(s);
}

/* Found by tests/fuzz/fuzz_cbor: libcbor allocates a declared array or map
 * before reading it, so a 6-byte body could ask for gigabytes. */
static void declared_sizes_beyond_body(void **state)
{
    (void)state;
    refused(B(0x9a, 0x81, 0x81, 0x81, 0x81, 0x0a), "longer than the body");
    refused(B(0xbb, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00), "longer than the body");
    refused(B(0xa2, 0x61, 'a', 0x01), "longer than the body");   /* 2 pairs, 3 bytes */
    refused(B(0x82, 0x5a, 0xff, 0xff, 0xff, 0xff), "well-formed"); /* short string: libcbor's */
    expect(B(0x82, 0x61, 'a', 0x9f, 0xff), "[\"a\",[]]");
}

/* Found by tests/fuzz/fuzz_cbor: a tag-1 timestamp that is a NaN or an
 * infinity became a number JSON cannot hold. */
static void timestamp_not_finite(void **state)
{
    (void)state;
    refused(B(0xc1, 0xf9, 0x7e, 0x00), "not finite");   /* NaN */
    refused(B(0xc1, 0xf9, 0x7c, 0x00), "not finite");   /* +Inf */
    refused(B(0xa1, 0x61, 't', 0xc1, 0xfa, 0xff, 0x80, 0x00, 0x00), "not finite");   /* -Inf */
}

static const char *const blobs[] = {"Data", NULL};
static const char *const times[] = {"ApproximateArrivalTimestamp", NULL};
static const tp_cbor_hints hints = {.blobs = blobs, .timestamps = times};

static void encode_with_hints(void **state)
{
    (void)state;
    cJSON *t = tp_json_parse_str(
        "{\"Records\":[{\"Data\":\"AP8=\",\"ApproximateArrivalTimestamp\":1704067200.123,"
        "\"PartitionKey\":\"Data\"}],\"MillisBehindLatest\":0}");
    assert_non_null(t);
    tp_buf out;
    tp_buf_init(&out);
    assert_int_equal(tp_cbor_encode(t, &hints, &out), 0);
    const unsigned char want[] = {
        0xa2, 0x67, 'R', 'e', 'c', 'o', 'r', 'd', 's', 0x81, 0xa3,
        0x64, 'D', 'a', 't', 'a', 0x42, 0x00, 0xff,   /* a blob: a byte string */
        0x78, 0x1b, 'A', 'p', 'p', 'r', 'o', 'x', 'i', 'm', 'a', 't', 'e', 'A', 'r', 'r', 'i', 'v',
        'a', 'l', 'T', 'i', 'm', 'e', 's', 't', 'a', 'm', 'p',
        0xc1, 0x1b, 0x00, 0x00, 0x01, 0x8c, 0xc2, 0x51, 0xf4, 0x7b,   /* tag 1, ms */
        0x6c, 'P', 'a', 'r', 't', 'i', 't', 'i', 'o', 'n', 'K', 'e', 'y',
        0x64, 'D', 'a', 't', 'a',   /* a string that merely says "Data" stays text */
        0x72, 'M', 'i', 'l', 'l', 'i', 's', 'B', 'e', 'h', 'i', 'n', 'd', 'L', 'a', 't', 'e', 's', 't',
        0x00};
    assert_int_equal(out.len, sizeof want);
    assert_memory_equal(out.data, want, sizeof want);
    tp_buf_free(&out);
    cJSON_Delete(t);
}

/* Found by tests/fuzz/fuzz_cbor: a blob member that is not base64 fails the
 * encoding (and, under ASan, leaks nothing: the member's key is freed). */
static void encode_bad_blob_fails(void **state)
{
    (void)state;
    cJSON *t = tp_json_parse_str("{\"Records\":[{\"Data\":\"one\",\"PartitionKey\":\"a\"}]}");
    assert_non_null(t);
    tp_buf out;
    tp_buf_init(&out);
    assert_int_equal(tp_cbor_encode(t, &hints, &out), -1);
    tp_buf_free(&out);
    cJSON_Delete(t);
}

static void encode_numbers_and_round_trip(void **state)
{
    (void)state;
    cJSON *t = tp_json_parse_str("[-1,-1000,1.5,1e300,9007199254740993e3,true,null,\"\"]");
    tp_buf out;
    tp_buf_init(&out);
    assert_int_equal(tp_cbor_encode(t, NULL, &out), 0);
    /* integers in their shortest form, the rest as doubles */
    const unsigned char head[] = {0x88, 0x20, 0x39, 0x03, 0xe7, 0xfb, 0x3f, 0xf8};
    assert_memory_equal(out.data, head, sizeof head);
    char *back = decode_text((const unsigned char *)out.data, out.len);
    char *orig = tp_json_print(t);
    assert_string_equal(back, orig);
    free(back);
    free(orig);
    tp_buf_free(&out);
    cJSON_Delete(t);
    /* a whole nested body survives decode -> encode -> decode */
    const unsigned char body[] = {0xbf, 0x61, 'a', 0x9f, 0xa1, 0x61, 'b', 0x39, 0x01, 0xf3, 0xff, 0xff};
    char *first = decode_text(body, sizeof body);
    cJSON *tree = tp_json_parse_str(first);
    tp_buf_init(&out);
    assert_int_equal(tp_cbor_encode(tree, NULL, &out), 0);
    char *second = decode_text((const unsigned char *)out.data, out.len);
    assert_string_equal(first, "{\"a\":[{\"b\":-500}]}");
    assert_string_equal(first, second);
    free(first);
    free(second);
    tp_buf_free(&out);
    cJSON_Delete(tree);
}

/* found by fuzz_cbor: a half-float -0.0 was re-encoded as the integer 0 */
static void negative_zero_round_trips(void **state)
{
    (void)state;
    const unsigned char body[] = {0x81, 0xf9, 0x80, 0x00};
    char why[128] = "";
    cJSON *t = tp_cbor_decode(body, sizeof body, why, sizeof why);
    assert_non_null(t);
    tp_buf out;
    tp_buf_init(&out);
    assert_int_equal(tp_cbor_encode(t, NULL, &out), 0);
    cJSON *back = tp_cbor_decode((const unsigned char *)out.data, out.len, why, sizeof why);
    assert_non_null(back);
    assert_true(signbit(cJSON_GetArrayItem(back, 0)->valuedouble));
    cJSON_Delete(back);
    tp_buf_free(&out);
    cJSON_Delete(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nested_maps_and_arrays),
        cmocka_unit_test(indefinite_lengths),
        cmocka_unit_test(integers),
        cmocka_unit_test(floats),
        cmocka_unit_test(timestamps_in),
        cmocka_unit_test(text_and_nul),
        cmocka_unit_test(invalid_input),
        cmocka_unit_test(declared_sizes_beyond_body),
        cmocka_unit_test(timestamp_not_finite),
        cmocka_unit_test(encode_with_hints),
        cmocka_unit_test(encode_bad_blob_fails),
        cmocka_unit_test(encode_numbers_and_round_trip),
        cmocka_unit_test(negative_zero_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
