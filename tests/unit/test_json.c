/* Unit tests: core/json — the NUL-safe road in and out of the process.
 * A \u0000 escape becomes TP_NUL inside and \u0000 again on print; raw NUL
 * and raw C0 80 bytes are refused; the wire helpers count, order and copy
 * the bytes the client sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/json.h"

/* input text -> the value of member "s" inside, and the text printed back */
static const struct {
    const char *in;
    const char *inside;   /* bytes of o.s inside the process */
    const char *printed;
} round_trips[] = {
    {"{\"s\":\"a\\u0000b\"}", "a" TP_NUL "b", "{\"s\":\"a\\u0000b\"}"},
    {"{\"s\":\"\\u0000\"}", TP_NUL, "{\"s\":\"\\u0000\"}"},
    {"{\"s\":\"\\u0000\\u0000\"}", TP_NUL TP_NUL, "{\"s\":\"\\u0000\\u0000\"}"},
    /* an escaped backslash then the letters u0000: not a NUL */
    {"{\"s\":\"\\\\u0000\"}", "\\u0000", "{\"s\":\"\\\\u0000\"}"},
    {"{\"s\":\"\\\\\\u0000\"}", "\\" TP_NUL, "{\"s\":\"\\\\\\u0000\"}"},
    /* other escapes are cJSON's as before */
    {"{\"s\":\"\\u0001\\u001f\\u007f\"}", "\x01\x1f\x7f", "{\"s\":\"\\u0001\\u001f\x7f\"}"},
    {"{\"s\":\"\\ud83d\\ude00\"}", "\xf0\x9f\x98\x80", "{\"s\":\"\xf0\x9f\x98\x80\"}"},
    {"{\"s\":\"\\\"\\u0000\\\"\"}", "\"" TP_NUL "\"", "{\"s\":\"\\\"\\u0000\\\"\"}"},
};

static void nul_escapes_round_trip(void **state)
{
    for (size_t i = 0; i < sizeof round_trips / sizeof round_trips[0]; i++) {
        cJSON *j = tp_json_parse(round_trips[i].in, strlen(round_trips[i].in));
        assert_non_null(j);
        const char *s = tp_json_str(j, "s");
        assert_non_null(s);
        assert_string_equal(s, round_trips[i].inside);
        char *out = tp_json_print(j);
        assert_string_equal(out, round_trips[i].printed);
        free(out);
        cJSON_Delete(j);
    }
}

static void nul_in_member_names(void **state)
{
    const char *in = "{\"a\\u0000b\":{\"\\u0000\":\"x\"}}";
    cJSON *j = tp_json_parse_str(in);
    assert_non_null(j);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "a" TP_NUL "b");
    assert_non_null(m);
    assert_string_equal(tp_json_str(m, TP_NUL), "x");
    char *out = tp_json_print(j);
    assert_string_equal(out, in);
    free(out);
    cJSON_Delete(j);
}

static void raw_nul_and_forged_marker_are_syntax_errors(void **state)
{
    static const char raw_nul[] = "{\"s\":\"a\0b\"}";
    assert_null(tp_json_parse(raw_nul, sizeof raw_nul - 1));
    assert_null(tp_json_parse_str("{\"s\":\"a\xc0\x80\"}"));
    /* a lone 0xC0 (not followed by 0x80) is not UTF-8 either */
    assert_null(tp_json_parse_str("{\"s\":\"\xc0z\"}"));
    /* a NUL escape outside a string is still a syntax error */
    assert_null(tp_json_parse_str("\\u0000{}"));
    assert_null(tp_json_parse_str("{\"s\":\"\\u0000\"} x"));
}

/* The error offset comes from cJSON's return_parse_end, never from its
 * process-wide cJSON_GetErrorPtr (another thread's parse overwrites that). */
static void parse_error_offset(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t at;
    } cases[] = {
        {"{\"a\": tru}", 6},
        {"[1, 2,, 3]", 6},
        {"{\"a\": 1} x", 9},
        {"{\"a\": 1}   ]", 11},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t at = 999;
        cJSON *j = tp_json_parse_at(cases[i].text, strlen(cases[i].text), &at);
        assert_null(j);
        assert_int_equal(at, cases[i].at);
        /* a later good parse (anyone's) does not move it */
        cJSON_Delete(tp_json_parse_str("{}"));
        assert_int_equal(at, cases[i].at);
    }
    size_t at = 999;
    cJSON *ok = tp_json_parse_at("{\"a\": [1]}", 10, &at);
    assert_non_null(ok);
    assert_int_equal(at, 0);
    cJSON_Delete(ok);
}

/* JSON text is UTF-8: an invalid byte anywhere is a syntax error (AWS
 * answers such a body with SerializationException), valid multi-byte text
 * parses. */
static void invalid_utf8_is_a_syntax_error(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{\"s\":\"\xff\xfe\"}",        /* never valid */
        "{\"s\":\"\xc3\x28\"}",        /* bad continuation */
        "{\"s\":\"\xe2\x82\"}",        /* truncated sequence */
        "{\"s\":\"\xed\xa0\x80\"}",    /* an encoded surrogate */
        "{\"s\":\"\xe0\x80\xaf\"}",    /* overlong */
        "{\"s\":\"\xf4\x90\x80\x80\"}", /* above U+10FFFF */
        "{\"s\xff\":1}",              /* in a member name */
        "{\"s\":1}\xff",              /* after the value */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(tp_json_parse_str(bad[i]));
    cJSON *j = tp_json_parse_str("{\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x8c\x8a\"}");
    assert_non_null(j);
    assert_string_equal(tp_json_str(j, "s"), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x8c\x8a");
    cJSON_Delete(j);
}

static void wire_helpers(void **state)
{
    assert_int_equal(tp_str_wire_len(""), 0);
    assert_int_equal(tp_str_wire_len(TP_NUL), 1);
    assert_int_equal(tp_str_wire_len("a" TP_NUL "b" TP_NUL), 4);
    assert_int_equal(tp_str_wire_len("\xf0\x9f\x98\x80"), 4);

    /* order of the client's bytes: NUL first, end of string before NUL */
    assert_true(tp_str_wire_cmp(TP_NUL, "\x01") < 0);
    assert_true(tp_str_wire_cmp("\x01", TP_NUL) > 0);
    assert_true(tp_str_wire_cmp("a", "a" TP_NUL) < 0);
    assert_true(tp_str_wire_cmp("a" TP_NUL, "a") > 0);
    assert_true(tp_str_wire_cmp("a" TP_NUL "b", "a" TP_NUL "b") == 0);
    assert_true(tp_str_wire_cmp("a" TP_NUL "b", "a" TP_NUL "c") < 0);
    assert_true(tp_str_wire_cmp(TP_NUL, "\x7f") < 0);
    assert_true(tp_str_wire_cmp("\x7f", "\xc3\xa9") < 0);

    const char *in = "x" TP_NUL TP_NUL "y" TP_NUL;
    tp_buf b, back;
    tp_buf_init(&b);
    tp_buf_init(&back);
    assert_int_equal(tp_str_wire_bytes(in, strlen(in), &b), 0);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "x\0\0y\0", 5);
    assert_int_equal(tp_str_from_wire(b.data, b.len, &back), 0);
    assert_int_equal(back.len, strlen(in));
    assert_memory_equal(back.data, in, back.len);
    tp_buf_free(&b);
    tp_buf_free(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nul_escapes_round_trip),
        cmocka_unit_test(nul_in_member_names),
        cmocka_unit_test(raw_nul_and_forged_marker_are_syntax_errors),
        cmocka_unit_test(invalid_utf8_is_a_syntax_error),
        cmocka_unit_test(wire_helpers),
        cmocka_unit_test(parse_error_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
