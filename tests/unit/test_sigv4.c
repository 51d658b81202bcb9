/* Unit tests: http/sigv4 — credential scope and AWS's header errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "http/sigv4.h"
#include "tidepool/engine.h"

static void parses_scope(void **state)
{
    tp_scope s;
    tp_error e;
    const char *auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-1/dynamodb/"
                       "aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef";
    assert_int_equal(tp_sigv4_parse(auth, "20240101T000000Z", &s, &e), 0);
    assert_string_equal(s.access_key, "AKIDEXAMPLE");
    assert_string_equal(s.region, "eu-west-1");
    assert_string_equal(s.service, "dynamodb");
    assert_string_equal(s.date, "20240101");
}

static void missing_and_incomplete(void **state)
{
    tp_scope s;
    tp_error e;
    assert_int_equal(tp_sigv4_parse(NULL, NULL, &s, &e), -1);
    assert_string_equal(e.code, "MissingAuthenticationTokenException");
    assert_string_equal(e.message, "Request is missing Authentication Token");
    assert_int_equal(tp_sigv4_parse("Basic abc", "x", &s, &e), -1);
    assert_string_equal(e.code, "MissingAuthenticationTokenException");

    assert_int_equal(tp_sigv4_parse("AWS4-HMAC-SHA256 Signature=b", NULL, &s, &e), -1);
    assert_string_equal(e.code, "IncompleteSignatureException");
    assert_string_equal(e.message,
                        "Authorization header requires 'Credential' parameter. "
                        "Authorization header requires 'SignedHeaders' parameter. "
                        "Authorization header requires existence of either a 'X-Amz-Date' or "
                        "a 'Date' header. Authorization=AWS4-HMAC-SHA256 Signature=b");

    assert_int_equal(tp_sigv4_parse("AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host, "
                                    "Signature=x",
                                    "20240101T000000Z", &s, &e),
                     -1);
    assert_string_equal(e.code, "IncompleteSignatureException");
    assert_string_equal(e.message, "Credential must have exactly 5 slash-delimited elements, "
                                   "e.g. keyid/date/region/service/term, got 'a/b/c/d'");
}

static void accounts_per_key(void **state)
{
    char a[13], b[13], c[13];
    tp_account_for_key("123456789012", a);
    assert_string_equal(a, "123456789012");
    tp_account_for_key("AKIDONE", b);
    tp_account_for_key("AKIDTWO", c);
    assert_int_equal(strlen(b), 12);
    assert_string_not_equal(b, c);
    char b2[13];
    tp_account_for_key("AKIDONE", b2);
    assert_string_equal(b, b2);
    for (int i = 0; i < 12; i++)
        assert_true(b[i] >= '0' && b[i] <= '9');
}

/* AWS's published SigV4 example (IAM ListUsers, General Reference "Signature
 * Version 4 signing process", examples): the signature is known. */
static const char *example_header(void *ctx, const char *name)
{
    (void)ctx;
    if (strcasecmp(name, "content-type") == 0)
        return "application/x-www-form-urlencoded; charset=utf-8";
    if (strcasecmp(name, "host") == 0)
        return "iam.amazonaws.com";
    if (strcasecmp(name, "x-amz-date") == 0)
        return "20150830T123600Z";
    return NULL;
}

static void verifies_the_published_example(void **state)
{
    (void)state;
    static const char *const keys[] = {"Version", "Action"}, *const values[] = {"2010-05-08",
                                                                             "ListUsers"};
    tp_sigv4_request rq = {.method = "GET", .path = "/", .query_keys = keys,
                           .query_values = values, .nquery = 2, .header = example_header,
                           .payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
    const char *good = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                       "SignedHeaders=content-type;host;x-amz-date, "
                       "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
    const char *secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    int64_t at = INT64_C(1440938160000);   /* 2015-08-30T12:36:00Z */
    tp_error e;
    tp_error_clear(&e);
    assert_int_equal(tp_sigv4_verify(&rq, good, secret, at, &e), 0);
    assert_int_equal(tp_sigv4_verify(&rq, good, "another secret", at, &e), -1);
    assert_string_equal(e.code, "InvalidSignatureException");
    tp_error_clear(&e);
    assert_int_equal(tp_sigv4_verify(&rq, good, secret, at + 16 * 60 * 1000, &e), -1);
    assert_string_equal(e.message, "Signature expired: 20150830T123600Z is now earlier than "
                                   "20150830T123700Z (20150830T125200Z - 15 min.)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_scope),
        cmocka_unit_test(missing_and_incomplete),
        cmocka_unit_test(accounts_per_key),
        cmocka_unit_test(verifies_the_published_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
