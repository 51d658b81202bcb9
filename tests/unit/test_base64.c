/* Unit tests: core/base64 — RFC 4648 vectors, round trips, and the strict
 * decoder's refusals with AWS's reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/base64.h"

static const struct {
    const char *raw, *b64;
} vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
    {"\xff\xfe\xfd", "//79"},
    {"\xfb\xef\xbe", "++++"},
};

static void rfc4648_vectors(void **state)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        tp_buf b;
        tp_buf_init(&b);
        assert_int_equal(tp_base64_encode(vectors[i].raw, strlen(vectors[i].raw), &b), 0);
        assert_int_equal(b.len, strlen(vectors[i].b64));
        assert_memory_equal(b.data, vectors[i].b64, b.len);
        tp_buf_reset(&b);
        assert_int_equal(tp_base64_decode(vectors[i].b64, strlen(vectors[i].b64), &b), 0);
        assert_int_equal(b.len, strlen(vectors[i].raw));
        if (b.len)
            assert_memory_equal(b.data, vectors[i].raw, b.len);
        assert_int_equal(tp_base64_check(vectors[i].b64, strlen(vectors[i].b64), NULL, 0), 0);
        tp_buf_free(&b);
    }
}

/* Every byte value at every offset within a 3-byte group, lengths 0..300. */
static void binary_round_trip(void **state)
{
    unsigned char raw[300];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (unsigned char)(i * 7 + 3);
    for (size_t len = 0; len <= sizeof raw; len++) {
        tp_buf enc, dec;
        tp_buf_init(&enc);
        tp_buf_init(&dec);
        assert_int_equal(tp_base64_encode(raw, len, &enc), 0);
        assert_int_equal(enc.len, (len + 2) / 3 * 4);
        assert_int_equal(tp_base64_decode(enc.data ? enc.data : "", enc.len, &dec), 0);
        assert_int_equal(dec.len, len);
        if (len)
            assert_memory_equal(dec.data, raw, len);
        tp_buf_free(&enc);
        tp_buf_free(&dec);
    }
}

static void appends_to_existing_content(void **state)
{
    tp_buf b;
    tp_buf_init(&b);
    tp_buf_puts(&b, "x:");
    assert_int_equal(tp_base64_encode("foo", 3, &b), 0);
    assert_string_equal(b.data, "x:Zm9v");
    assert_int_equal(tp_base64_decode("Zm9v", 4, &b), 0);
    assert_string_equal(b.data, "x:Zm9vfoo");
    tp_buf_free(&b);
}

static const struct {
    const char *text, *why;
} invalid[] = {
    {"Zg=", "Base64 encoded length is expected a multiple of 4 bytes but found: 3"},
    {"Zg", "Base64 encoded length is expected a multiple of 4 bytes but found: 2"},
    {"Zm9vY", "Base64 encoded length is expected a multiple of 4 bytes but found: 5"},
    {"Zm9v!A==", "Invalid Base64 character: '!'"},
    {"Zm 9", "Invalid Base64 character: ' '"},
    {"Zm-9", "Invalid Base64 character: '-'"},     /* base64url is not accepted */
    {"Zm_9", "Invalid Base64 character: '_'"},
    {"Zg==Zg==", "Invalid Base64 character: '='"}, /* padding in the middle */
    {"=Zm8", "Invalid Base64 character: '='"},
    {"Z=g=", "Invalid Base64 character: '='"},
    {"Z===", "Invalid last non-pad Base64 character dectected"},
    {"====", "Invalid last non-pad Base64 character dectected"},
    {"Zh==", "Invalid last non-pad Base64 character dectected"}, /* spare bits set */
    {"Zm9=", "Invalid last non-pad Base64 character dectected"},
};

static void strict_decode_refuses(void **state)
{
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        const char *t = invalid[i].text;
        char why[128] = "unset";
        assert_int_equal(tp_base64_check(t, strlen(t), why, sizeof why), -1);
        assert_string_equal(why, invalid[i].why);
        tp_buf b;
        tp_buf_init(&b);
        assert_int_equal(tp_base64_decode(t, strlen(t), &b), -1);
        assert_int_equal(b.len, 0);
        tp_buf_free(&b);
    }
    /* The length given is what is checked, not strlen. */
    assert_int_equal(tp_base64_check("Zm9vYg==", 4, NULL, 0), 0);
    assert_int_equal(tp_base64_check("Zm9vYg==", 6, NULL, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc4648_vectors),
        cmocka_unit_test(binary_round_trip),
        cmocka_unit_test(appends_to_existing_content),
        cmocka_unit_test(strict_decode_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
