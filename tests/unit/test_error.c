/* Unit tests: core/error catalogue and the awsJson error envelope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/error.h"

static void fail_fills_code_status_message(void **state)
{
    tp_error e;
    tp_error_clear(&e);
    assert_int_equal(tp_fail(&e, TP_ERR_RESOURCE_NOT_FOUND, "Table: %s not found", "t1"), -1);
    assert_string_equal(e.code, "ResourceNotFoundException");
    assert_int_equal(e.status, 400);
    assert_string_equal(e.message, "Table: t1 not found");
    assert_true(tp_error_is(&e, TP_ERR_RESOURCE_NOT_FOUND));
    assert_false(tp_error_is(&e, TP_ERR_VALIDATION));
    tp_fail(&e, TP_ERR_INTERNAL, NULL);
    assert_int_equal(e.status, 500);
    assert_string_equal(e.message, "");
}

static void raw_and_lookup(void **state)
{
    tp_error e;
    tp_fail_raw(&e, 503, "ServiceUnavailable", "down %d", 1);
    assert_int_equal(e.status, 503);
    assert_string_equal(e.code, "ServiceUnavailable");
    assert_string_equal(e.message, "down 1");
    const tp_error_info *v = tp_error_info_find("ValidationException");
    assert_non_null(v);
    assert_string_equal(v->coral_ns, "com.amazon.coral.validate");
    assert_null(tp_error_info_find("NoSuchThing"));
    assert_null(tp_error_info_get(TP_ERR_CONDITIONAL_CHECK_FAILED)->coral_ns);
}

static void long_messages_are_truncated_not_overflowed(void **state)
{
    char big[3 * TP_ERROR_MESSAGE_MAX];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tp_error e;
    tp_fail(&e, TP_ERR_VALIDATION, "%s", big);
    assert_int_equal(strlen(e.message), TP_ERROR_MESSAGE_MAX - 1);
    assert_int_equal(tp_fail(NULL, TP_ERR_VALIDATION, "x"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fail_fills_code_status_message),
        cmocka_unit_test(raw_and_lookup),
        cmocka_unit_test(long_messages_are_truncated_not_overflowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
