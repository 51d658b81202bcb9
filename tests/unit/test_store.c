/* Unit tests: core/store — statement cache, transactions, wipe, persistence
 * and the schema version guard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/store.h"

static const char insert_sql[] = "INSERT INTO t(v) VALUES(?1)";
static const char count_sql[] = "SELECT count(*) FROM t";

static int count(tp_store *st)
{
    sqlite3_stmt *s = tp_store_stmt(st, count_sql);
    assert_non_null(s);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int n = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    return n;
}

static void insert(tp_store *st, int v)
{
    sqlite3_stmt *s = tp_store_stmt(st, insert_sql);
    assert_non_null(s);
    sqlite3_bind_int(s, 1, v);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_reset(s);
}

static void rollback_discards_commit_keeps(void **state)
{
    char why[256] = "";
    tp_store *st = tp_store_open(NULL, why, sizeof why);
    assert_non_null(st);
    assert_string_equal(tp_store_path(st), ":memory:");
    assert_int_equal(tp_store_exec(st, "CREATE TABLE t(v INTEGER)"), 0);
    assert_int_equal(tp_store_begin(st), 0);
    insert(st, 1);
    tp_store_rollback(st);
    assert_int_equal(count(st), 0);
    tp_store_begin(st);
    insert(st, 1);
    insert(st, 2);
    assert_int_equal(tp_store_commit(st), 0);
    assert_int_equal(count(st), 2);
    /* The cache hands back the same statement for the same text. */
    assert_ptr_equal(tp_store_stmt(st, count_sql), tp_store_stmt(st, count_sql));
    assert_int_equal(tp_store_wipe(st), 0);
    assert_int_equal(count(st), 0);
    assert_int_equal(tp_store_exec(st, "NOT SQL"), -1);
    tp_store_close(st);
}

static void data_dir_persists_and_guards_version(void **state)
{
    char dir[] = "/tmp/tp_store_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char why[512] = "";
    tp_store *st = tp_store_open(dir, why, sizeof why);
    assert_non_null(st);
    tp_store_exec(st, "CREATE TABLE t(v INTEGER)");
    tp_store_begin(st);
    insert(st, 7);
    tp_store_commit(st);
    tp_store_close(st);

    st = tp_store_open(dir, why, sizeof why);
    assert_non_null(st);
    assert_int_equal(count(st), 1);
    tp_store_exec(st, "PRAGMA user_version=999");
    tp_store_close(st);

    st = tp_store_open(dir, why, sizeof why);
    assert_null(st);
    assert_non_null(strstr(why, "schema version 999"));

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rollback_discards_commit_keeps),
        cmocka_unit_test(data_dir_persists_and_guards_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
