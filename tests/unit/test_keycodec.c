/* Unit tests: dynamodb/keycodec — memcmp order of encoded keys is
 * DynamoDB's order (numbers numerically, strings and binary bytewise), and
 * decoding gives back the canonical wire text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/base64.h"
#include "dynamodb/keycodec.h"

#define N38 "12345678901234567890123456789012345678"
#define MAX_POS "9.9999999999999999999999999999999999999E+125"

typedef struct encoded {
    const char *text;
    tp_buf blob;
} encoded;

static int blob_cmp(const tp_buf *a, const tp_buf *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->data, b->data, n) : 0;
    if (c == 0)
        c = (a->len > b->len) - (a->len < b->len);
    return (c > 0) - (c < 0);
}

static int by_blob(const void *x, const void *y)
{
    return blob_cmp(&((const encoded *)x)->blob, &((const encoded *)y)->blob);
}

static void encode_ok(char type, const char *text, tp_buf *out)
{
    tp_error e;
    tp_error_clear(&e);
    tp_buf_init(out);
    if (ddb_key_encode(type, text, out, &e) != 0)
        fail_msg("encode %c \"%s\": %s", type, text, e.message);
}

static ddb_num num(const char *text)
{
    ddb_num n;
    tp_error e;
    if (ddb_num_parse(text, &n, &e) != 0)
        fail_msg("parse(\"%s\") failed: %s", text, e.message);
    return n;
}

/* Deliberately out of order, with equal values spelled differently. */
static const char *numbers[] = {
    "0", "1", "-1", "10", "-10", "9", "-9", "0.12", "0.123", "-0.12", "-0.123", "0.13", "-0.13",
    "0.1", "-0.1", "0.09", "-0.09", "0.0999", "-0.0999", "100", "1e2", "1.00", "-100", "99.99",
    "-99.99", "100.01", "-100.01", "1e-130", "-1e-130", "1.1e-130", "-1.1e-130", "2e-130",
    "1e125", "-1e125", MAX_POS, "-" MAX_POS, "9e125", "-9e125", "1e-5", "-1e-5", "1e5", "-1e5",
    "123", "1230", "12300", "-123", "-1230", "-12300", "1.23", "12.3", "-1.23", "-12.3", N38,
    "-" N38, "0." N38, "-0." N38, N38 "e50", "-" N38 "e50", "12345678901234567890123456789012345679",
    "12345678901234567890123456789012345677", "-0", "+0", "0.5", "-0.5", "5", "-5", "55", "-55",
    "5.5", "-5.5", "0.55", "-0.55", "1.5", "15", "150", "0.15", "0.015", "-0.015",
};
#define NNUM (sizeof numbers / sizeof numbers[0])

static void numbers_sort_numerically(void **state)
{
    encoded enc[NNUM];
    for (size_t i = 0; i < NNUM; i++) {
        enc[i].text = numbers[i];
        encode_ok('N', numbers[i], &enc[i].blob);
    }
    /* Every pair: the sign of memcmp is the sign of the numeric comparison,
     * so equal values (1, 1.00, 1e0) encode to identical blobs. */
    for (size_t i = 0; i < NNUM; i++) {
        for (size_t j = 0; j < NNUM; j++) {
            ddb_num a = num(numbers[i]), b = num(numbers[j]);
            int want = ddb_num_cmp(&a, &b), got = blob_cmp(&enc[i].blob, &enc[j].blob);
            if (want != got)
                fail_msg("blob order of %s vs %s is %d, numeric order %d", numbers[i],
                         numbers[j], got, want);
        }
    }
    /* And sorting by blob gives a non-decreasing numeric sequence. */
    qsort(enc, NNUM, sizeof enc[0], by_blob);
    for (size_t i = 1; i < NNUM; i++) {
        ddb_num a = num(enc[i - 1].text), b = num(enc[i].text);
        if (ddb_num_cmp(&a, &b) > 0)
            fail_msg("%s sorted before %s", enc[i - 1].text, enc[i].text);
    }
    assert_string_equal(enc[0].text, "-" MAX_POS);
    assert_string_equal(enc[NNUM - 1].text, MAX_POS);
    for (size_t i = 0; i < NNUM; i++)
        tp_buf_free(&enc[i].blob);
}

static const struct {
    const char *in, *out;
} round_trips[] = {
    {"0", "0"},
    {"-0", "0"},
    {"+7", "7"},
    {"1.500", "1.5"},
    {"-0.000120", "-0.00012"},
    {"1e2", "100"},
    {"-1E-5", "-0.00001"},
    {N38, N38},
    {"-" N38, "-" N38},
    {"0." N38, "0." N38},
};

static void numbers_round_trip(void **state)
{
    for (size_t i = 0; i < sizeof round_trips / sizeof round_trips[0]; i++) {
        tp_buf blob, text;
        encode_ok('N', round_trips[i].in, &blob);
        tp_buf_init(&text);
        assert_int_equal(ddb_key_decode('N', blob.data, blob.len, &text), 0);
        assert_string_equal(text.data, round_trips[i].out);
        /* ddb_key_encode_num makes the same bytes from a parsed number. */
        tp_buf again;
        tp_buf_init(&again);
        ddb_num n = num(round_trips[i].in);
        ddb_key_encode_num(&n, &again);
        assert_int_equal(blob_cmp(&blob, &again), 0);
        tp_buf_free(&blob);
        tp_buf_free(&text);
        tp_buf_free(&again);
    }
    /* The range edges, whose canonical text is long. */
    char want[200];
    const struct {
        const char *in, *head;
        char fill;
        int n;
        const char *tail;
    } edges[] = {
        {"1e-130", "0.", '0', 129, "1"},
        {"-1.2e125", "-12", '0', 124, ""},
        {MAX_POS, "99999999999999999999999999999999999999", '0', 88, ""},
        {"-" N38 "e-167", "-0.", '0', 129, N38},
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        size_t h = strlen(edges[i].head);
        memcpy(want, edges[i].head, h);
        memset(want + h, edges[i].fill, (size_t)edges[i].n);
        snprintf(want + h + edges[i].n, sizeof want - h - (size_t)edges[i].n, "%s", edges[i].tail);
        tp_buf blob, text;
        encode_ok('N', edges[i].in, &blob);
        tp_buf_init(&text);
        assert_int_equal(ddb_key_decode('N', blob.data, blob.len, &text), 0);
        assert_string_equal(text.data, want);
        tp_buf_free(&blob);
        tp_buf_free(&text);
    }
}

static void number_encoding_is_compact(void **state)
{
    tp_buf b;
    encode_ok('N', "0", &b);
    assert_int_equal(b.len, 1);
    tp_buf_free(&b);
    encode_ok('N', N38, &b);
    assert_int_equal(b.len, 40);
    tp_buf_free(&b);
    encode_ok('N', "-" N38, &b);
    assert_int_equal(b.len, 41);
    tp_buf_free(&b);
}

static void number_errors_are_awss(void **state)
{
    tp_buf b;
    tp_buf_init(&b);
    tp_error e;
    assert_int_equal(ddb_key_encode('N', "abc", &b, &e), -1);
    assert_string_equal(e.code, "ValidationException");
    assert_string_equal(e.message, "The parameter cannot be converted to a numeric value: abc");
    assert_int_equal(ddb_key_encode('N', "1e126", &b, &e), -1);
    assert_string_equal(e.message, "Number overflow. Attempting to store a number with magnitude "
                                   "larger than supported range");
    assert_int_equal(b.len, 0);
    tp_buf_free(&b);
}

static const struct {
    size_t len;
    const char *bytes;
} corrupt[] = {
    {0, ""},
    {2, "\x80\x00"},                 /* zero with trailing bytes */
    {1, "\xc0"},                     /* positive without exponent */
    {2, "\xc0\x82"},                 /* positive without digits */
    {3, "\xc0\x82" "0"},             /* leading zero */
    {4, "\xc0\x82" "10"},            /* trailing zero */
    {3, "\xc0\x82" "a"},             /* not a digit */
    {3, "\x40\x7d" "8"},             /* negative without terminator */
    {3, "\x40\x7d\xff"},             /* negative without digits */
    {4, "\x40\x7d" "9\xff"},         /* negative, leading (complemented) zero */
    {5, "\x40\x7d" "8\xff\xff"},     /* byte after the terminator */
    {3, "\x10\x82" "1"},             /* unknown class */
    {41, "\xc0\x82" "123456789012345678901234567890123456789"}, /* 39 digits */
};

static void corrupt_number_blobs_are_refused(void **state)
{
    for (size_t i = 0; i < sizeof corrupt / sizeof corrupt[0]; i++) {
        tp_buf out;
        tp_buf_init(&out);
        if (ddb_key_decode('N', corrupt[i].bytes, corrupt[i].len, &out) != -1)
            fail_msg("corrupt blob %zu decoded as \"%s\"", i, out.data);
        tp_buf_free(&out);
    }
    tp_buf out;
    tp_buf_init(&out);
    assert_int_equal(ddb_key_decode('X', "a", 1, &out), -1);
    tp_buf_free(&out);
}

/* Expected order is by UTF-8 bytes, which is not UTF-16 order: U+FF5E
 * (EF BD 9E) sorts before U+1D11E (F0 9D 84 9E) here, after it in UTF-16. */
static const char *strings_sorted[] = {
    "\x01", " ", "A", "Z", "a", "ab", "abc", "b", "\x7f", "\xc3\xa9" /* é */,
    "\xe2\x82\xac" /* € */, "\xef\xbd\x9e" /* ～ */, "\xf0\x9d\x84\x9e" /* 𝄞 */,
};
#define NSTR (sizeof strings_sorted / sizeof strings_sorted[0])

static void strings_sort_by_utf8_bytes(void **state)
{
    encoded enc[NSTR];
    /* Encode in reverse, sort, expect the listed order back. */
    for (size_t i = 0; i < NSTR; i++) {
        enc[i].text = strings_sorted[NSTR - 1 - i];
        encode_ok('S', enc[i].text, &enc[i].blob);
        assert_int_equal(enc[i].blob.len, strlen(enc[i].text));
    }
    qsort(enc, NSTR, sizeof enc[0], by_blob);
    for (size_t i = 0; i < NSTR; i++) {
        assert_string_equal(enc[i].text, strings_sorted[i]);
        tp_buf text;
        tp_buf_init(&text);
        assert_int_equal(ddb_key_decode('S', enc[i].blob.data, enc[i].blob.len, &text), 0);
        assert_string_equal(text.data, strings_sorted[i]);
        tp_buf_free(&text);
        tp_buf_free(&enc[i].blob);
    }
}

static const struct {
    size_t len;
    const char *bytes;
} binary_sorted[] = {
    {1, "\x00"}, {2, "\x00\x00"}, {2, "\x00\x01"}, {1, "\x01"},         {1, "\x7f"},
    {1, "\x80"}, {2, "\x80\x00"}, {1, "\xfe"},     {3, "\xfe\xff\xff"}, {1, "\xff"},
};
#define NBIN (sizeof binary_sorted / sizeof binary_sorted[0])

static void binary_sorts_bytewise_unsigned(void **state)
{
    encoded enc[NBIN];
    char *texts[NBIN];
    for (size_t i = 0; i < NBIN; i++) {
        size_t k = NBIN - 1 - i;
        tp_buf b64;
        tp_buf_init(&b64);
        assert_int_equal(tp_base64_encode(binary_sorted[k].bytes, binary_sorted[k].len, &b64), 0);
        texts[k] = tp_buf_take(&b64);
        enc[i].text = texts[k];
        encode_ok('B', enc[i].text, &enc[i].blob);
        assert_int_equal(enc[i].blob.len, binary_sorted[k].len);
        assert_memory_equal(enc[i].blob.data, binary_sorted[k].bytes, binary_sorted[k].len);
    }
    qsort(enc, NBIN, sizeof enc[0], by_blob);
    for (size_t i = 0; i < NBIN; i++) {
        assert_string_equal(enc[i].text, texts[i]);
        tp_buf text;
        tp_buf_init(&text);
        assert_int_equal(ddb_key_decode('B', enc[i].blob.data, enc[i].blob.len, &text), 0);
        assert_string_equal(text.data, texts[i]);
        tp_buf_free(&text);
        tp_buf_free(&enc[i].blob);
    }
    for (size_t i = 0; i < NBIN; i++)
        free(texts[i]);
}

static void invalid_base64_is_refused(void **state)
{
    tp_buf b;
    tp_buf_init(&b);
    tp_error e;
    assert_int_equal(ddb_key_encode('B', "Zg=", &b, &e), -1);
    assert_string_equal(e.code, "SerializationException");
    assert_string_equal(e.message, "'Zg=' can not be converted to a Blob: Base64 encoded length "
                                   "is expected a multiple of 4 bytes but found: 3");
    assert_int_equal(ddb_key_encode('B', "Zm9v!A==", &b, &e), -1);
    assert_string_equal(e.message,
                        "'Zm9v!A==' can not be converted to a Blob: Invalid Base64 character: '!'");
    assert_int_equal(b.len, 0);
    tp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbers_sort_numerically),
        cmocka_unit_test(numbers_round_trip),
        cmocka_unit_test(number_encoding_is_compact),
        cmocka_unit_test(number_errors_are_awss),
        cmocka_unit_test(corrupt_number_blobs_are_refused),
        cmocka_unit_test(strings_sort_by_utf8_bytes),
        cmocka_unit_test(binary_sorts_bytewise_unsigned),
        cmocka_unit_test(invalid_base64_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
