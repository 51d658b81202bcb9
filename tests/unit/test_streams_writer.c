/* streams/writer: records written by the DynamoDB write paths, through the
 * embedding API, read back from the store (the Streams API is separate).
 * Expected shapes and sizes come from AWS's own records (seeds/000). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "engine_internal.h"
#include "dynamodb/streams.h"

#define DDB "DynamoDB_20120810."
#define HOUR (3600LL * 1000)

static tp_engine *engine(void)
{
    tp_error err;
    tp_engine *e = tp_engine_new(NULL, &err);
    assert_non_null(e);
    return e;
}

/* Calls an action; returns 0 or -1, and the error code in *code. */
static int call(tp_engine *e, const char *op, const char *json, char code[64])
{
    char target[128], *resp = NULL;
    tp_error err;
    memset(&err, 0, sizeof err);
    snprintf(target, sizeof target, DDB "%s", op);
    int rc = tp_engine_call(e, "AKIDTEST", "us-west-2", target, json, &resp, &err);
    if (code)
        snprintf(code, 64, "%.63s", rc == 0 ? "" : err.code);
    free(resp);
    return rc;
}

static void ok(tp_engine *e, const char *op, const char *json)
{
    char code[64];
    int rc = call(e, op, json, code);
    if (rc != 0)
        fail_msg("%s failed: %s", op, code);
}

static void make_table(tp_engine *e, const char *name, const char *view)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"TableName\":\"%s\",\"AttributeDefinitions\":[{\"AttributeName\":\"symbol\","
             "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"symbol\",\"KeyType\":"
             "\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\",\"StreamSpecification\":{"
             "\"StreamEnabled\":true,\"StreamViewType\":\"%s\"}}",
             name, view);
    ok(e, "CreateTable", json);
}

/* The stored records of every stream, in sequence order (a JSON array). */
static cJSON *records(tp_engine *e)
{
    sqlite3 *db = tp_store_db(tp_engine_core(e)->store);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT record FROM streams_records ORDER BY seq", -1,
                                        &st, NULL), SQLITE_OK);
    cJSON *arr = cJSON_CreateArray();
    while (sqlite3_step(st) == SQLITE_ROW)
        cJSON_AddItemToArray(arr, cJSON_Parse((const char *)sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    return arr;
}

static int64_t count(tp_engine *e, const char *sql)
{
    sqlite3 *db = tp_store_db(tp_engine_core(e)->store);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

static const char *str(const cJSON *o, const char *path)
{
    const cJSON *v = tp_json_path(o, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The two records of seeds/000, as AWS wrote them (NEW_IMAGE view). */
static void test_seed_shape(void **state)
{
    (void)state;
    tp_engine *e = engine();
    make_table(e, "quotes", "NEW_IMAGE");
    ok(e, "PutItem", "{\"TableName\":\"quotes\",\"Item\":{\"symbol\":{\"S\":\"CEI\"},\"price\":"
                     "{\"N\":\"1\"}}}");
    ok(e, "PutItem", "{\"TableName\":\"quotes\",\"Item\":{\"symbol\":{\"S\":\"CEI\"},\"price\":"
                     "{\"N\":\"139.2675643770462\"},\"ts\":{\"N\":\"1644014501478\"}}}");
    ok(e, "PutItem", "{\"TableName\":\"quotes\",\"Item\":{\"symbol\":{\"S\":\"DWAC\"},\"price\":"
                     "{\"N\":\"277.3260952221545\"},\"ts\":{\"N\":\"1644014501603\"}}}");
    cJSON *rs = records(e);
    assert_int_equal(cJSON_GetArraySize(rs), 3);
    const cJSON *r0 = cJSON_GetArrayItem(rs, 0), *r1 = cJSON_GetArrayItem(rs, 1),
                *r2 = cJSON_GetArrayItem(rs, 2);
    assert_string_equal(str(r0, "eventName"), "INSERT");
    assert_string_equal(str(r1, "eventName"), "MODIFY");
    assert_string_equal(str(r2, "eventName"), "INSERT");
    /* Member order as AWS's. */
    const char *top[] = {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb"};
    const cJSON *m = r1->child;
    for (size_t i = 0; i < 6; i++, m = m->next)
        assert_string_equal(m->string, top[i]);
    assert_null(m);
    const char *inner[] = {"ApproximateCreationDateTime", "Keys", "NewImage", "SequenceNumber",
                           "SizeBytes", "StreamViewType"};
    m = cJSON_GetObjectItemCaseSensitive(r1, "dynamodb")->child;
    for (size_t i = 0; i < 6; i++, m = m->next)
        assert_string_equal(m->string, inner[i]);
    assert_null(m);
    const char *id = str(r1, "eventID");
    assert_int_equal(strlen(id), 32);
    assert_int_equal(strspn(id, "0123456789abcdef"), 32);
    assert_string_not_equal(id, str(r0, "eventID"));
    assert_string_equal(str(r1, "eventVersion"), "1.1");
    assert_string_equal(str(r1, "eventSource"), "aws:dynamodb");
    assert_string_equal(str(r1, "awsRegion"), "us-west-2");
    assert_null(cJSON_GetObjectItemCaseSensitive(r1, "eventSourceARN"));
    const cJSON *d1 = cJSON_GetObjectItemCaseSensitive(r1, "dynamodb");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(d1, "ApproximateCreationDateTime")));
    assert_int_equal((int64_t)tp_json_int(d1, "ApproximateCreationDateTime", 0),
                     tp_engine_now_ms(e) / 1000);
    assert_string_equal(str(d1, "Keys.symbol.S"), "CEI");
    assert_null(cJSON_GetObjectItemCaseSensitive(d1, "OldImage"));
    assert_string_equal(str(d1, "NewImage.price.N"), "139.2675643770462");
    assert_string_equal(str(d1, "StreamViewType"), "NEW_IMAGE");
    /* SizeBytes as AWS counted them in seeds/000. */
    assert_int_equal(tp_json_int(d1, "SizeBytes", 0), 43);
    assert_int_equal(tp_json_int(cJSON_GetObjectItemCaseSensitive(r2, "dynamodb"), "SizeBytes", 0), 45);
    /* Sequence numbers: increasing decimal strings, 21+ digits. */
    const char *s0 = str(r0, "dynamodb.SequenceNumber"), *s1 = str(r1, "dynamodb.SequenceNumber"),
               *s2 = str(r2, "dynamodb.SequenceNumber");
    assert_true(strlen(s0) >= 21 && strspn(s0, "0123456789") == strlen(s0));
    assert_int_equal(strlen(s0), strlen(s2));
    assert_true(strcmp(s0, s1) < 0 && strcmp(s1, s2) < 0);
    int64_t n0, n1;
    assert_int_equal(streams_seq_parse(s0, &n0), 0);
    assert_int_equal(streams_seq_parse(s1, &n1), 0);
    assert_true(n0 < n1);
    assert_int_equal(streams_seq_parse("12", &n0), -1);
    cJSON_Delete(rs);
    tp_engine_free(e);
}

/* Writes that change nothing, and writes that fail, leave no record. */
static void test_no_records_for_no_change(void **state)
{
    (void)state;
    tp_engine *e = engine();
    char code[64];
    make_table(e, "tbl", "NEW_AND_OLD_IMAGES");
    const char *put = "{\"TableName\":\"tbl\",\"Item\":{\"symbol\":{\"S\":\"A\"},\"n\":{\"N\":\"1\"}}}";
    ok(e, "PutItem", put);
    ok(e, "PutItem", put);   /* same item again */
    ok(e, "UpdateItem", "{\"TableName\":\"tbl\",\"Key\":{\"symbol\":{\"S\":\"A\"}},"
                        "\"UpdateExpression\":\"SET n = :v\",\"ExpressionAttributeValues\":"
                        "{\":v\":{\"N\":\"1\"}}}");
    ok(e, "DeleteItem", "{\"TableName\":\"tbl\",\"Key\":{\"symbol\":{\"S\":\"missing\"}}}");
    ok(e, "BatchWriteItem", "{\"RequestItems\":{\"tbl\":[{\"DeleteRequest\":{\"Key\":{\"symbol\":"
                            "{\"S\":\"gone\"}}}},{\"PutRequest\":{\"Item\":{\"symbol\":{\"S\":\"A\"},"
                            "\"n\":{\"N\":\"1\"}}}}]}}");
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_records"), 1);
    /* A failed condition. */
    assert_int_equal(call(e, "PutItem", "{\"TableName\":\"tbl\",\"Item\":{\"symbol\":{\"S\":\"A\"}},"
                                        "\"ConditionExpression\":\"attribute_not_exists(symbol)\"}", code), -1);
    assert_string_equal(code, "ConditionalCheckFailedException");
    /* A cancelled transaction whose first action would have written. */
    assert_int_equal(call(e, "TransactWriteItems",
                          "{\"TransactItems\":[{\"Put\":{\"TableName\":\"tbl\",\"Item\":{\"symbol\":"
                          "{\"S\":\"B\"}}}},{\"ConditionCheck\":{\"TableName\":\"tbl\",\"Key\":{\"symbol\":"
                          "{\"S\":\"A\"}},\"ConditionExpression\":\"attribute_not_exists(symbol)\"}}]}",
                          code), -1);
    assert_string_equal(code, "TransactionCanceledException");
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_records"), 1);
    /* A transaction that succeeds writes one record per changed item. */
    ok(e, "TransactWriteItems",
       "{\"TransactItems\":[{\"Put\":{\"TableName\":\"tbl\",\"Item\":{\"symbol\":{\"S\":\"B\"}}}},"
       "{\"Delete\":{\"TableName\":\"tbl\",\"Key\":{\"symbol\":{\"S\":\"A\"}}}},"
       "{\"Update\":{\"TableName\":\"tbl\",\"Key\":{\"symbol\":{\"S\":\"C\"}},\"UpdateExpression\":"
       "\"SET n = :v\",\"ExpressionAttributeValues\":{\":v\":{\"N\":\"2\"}}}}]}");
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_records WHERE event_name='INSERT'"), 3);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_records WHERE event_name='REMOVE'"), 1);
    cJSON *rs = records(e);
    const cJSON *rm = NULL, *it;
    cJSON_ArrayForEach(it, rs) if (!strcmp(str(it, "eventName"), "REMOVE")) rm = it;
    assert_non_null(rm);
    assert_string_equal(str(rm, "dynamodb.OldImage.n.N"), "1");
    assert_null(tp_json_path(rm, "dynamodb.NewImage"));
    assert_null(cJSON_GetObjectItemCaseSensitive(rm, "userIdentity"));
    /* REMOVE of {symbol A, n 1} in NEW_AND_OLD_IMAGES: Keys (7) + OldImage (10). */
    assert_int_equal(tp_json_int(cJSON_GetObjectItemCaseSensitive(rm, "dynamodb"), "SizeBytes", 0), 17);
    cJSON_Delete(rs);
    tp_engine_free(e);
}

static void test_view_types(void **state)
{
    (void)state;
    tp_engine *e = engine();
    const char *views[] = {"KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"};
    /* {new, old} present on a MODIFY */
    const int has[4][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}};
    for (int i = 0; i < 4; i++) {
        char json[256];
        char name[8];
        snprintf(name, sizeof name, "vw%d", i);
        make_table(e, name, views[i]);
        snprintf(json, sizeof json, "{\"TableName\":\"%s\",\"Item\":{\"symbol\":{\"S\":\"k\"},\"a\":{\"S\":\"1\"}}}", name);
        ok(e, "PutItem", json);
        snprintf(json, sizeof json, "{\"TableName\":\"%s\",\"Item\":{\"symbol\":{\"S\":\"k\"},\"a\":{\"S\":\"2\"}}}", name);
        ok(e, "PutItem", json);
    }
    cJSON *rs = records(e);
    assert_int_equal(cJSON_GetArraySize(rs), 8);
    for (int i = 0; i < 4; i++) {
        const cJSON *ins = cJSON_GetArrayItem(rs, 2 * i), *mod = cJSON_GetArrayItem(rs, 2 * i + 1);
        assert_string_equal(str(mod, "eventName"), "MODIFY");
        assert_string_equal(str(mod, "dynamodb.StreamViewType"), views[i]);
        assert_string_equal(str(mod, "dynamodb.Keys.symbol.S"), "k");
        assert_int_equal(tp_json_path(mod, "dynamodb.NewImage") != NULL, has[i][0]);
        assert_int_equal(tp_json_path(mod, "dynamodb.OldImage") != NULL, has[i][1]);
        assert_null(tp_json_path(ins, "dynamodb.OldImage"));
        /* Keys 7 bytes; each image 9. */
        assert_int_equal(tp_json_int(cJSON_GetObjectItemCaseSensitive(mod, "dynamodb"), "SizeBytes", 0),
                         7 + 9 * (has[i][0] + has[i][1]));
        if (has[i][1])
            assert_string_equal(str(mod, "dynamodb.OldImage.a.S"), "1");
    }
    cJSON_Delete(rs);
    tp_engine_free(e);
}

static void test_ttl_removal_has_user_identity(void **state)
{
    (void)state;
    tp_engine *e = engine();
    make_table(e, "tbl", "KEYS_ONLY");
    ok(e, "UpdateTimeToLive", "{\"TableName\":\"tbl\",\"TimeToLiveSpecification\":{\"Enabled\":true,"
                              "\"AttributeName\":\"exp\"}}");
    char json[256];
    snprintf(json, sizeof json, "{\"TableName\":\"tbl\",\"Item\":{\"symbol\":{\"S\":\"x\"},\"exp\":{\"N\":\"%lld\"}}}",
             (long long)(tp_engine_now_ms(e) / 1000 - 5));
    ok(e, "PutItem", json);
    assert_int_equal(tp_engine_advance(e, 120000), 0);
    cJSON *rs = records(e);
    assert_int_equal(cJSON_GetArraySize(rs), 2);
    const cJSON *rm = cJSON_GetArrayItem(rs, 1);
    assert_string_equal(str(rm, "eventName"), "REMOVE");
    assert_string_equal(str(rm, "userIdentity.type"), "Service");
    assert_string_equal(str(rm, "userIdentity.principalId"), "dynamodb.amazonaws.com");
    assert_string_equal(str(rm, "dynamodb.Keys.symbol.S"), "x");
    /* The member follows "dynamodb", as in Lambda's TTL events. */
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(rm, "dynamodb")->next->string, "userIdentity");
    cJSON_Delete(rs);
    tp_engine_free(e);
}

static void test_rollover_and_trim(void **state)
{
    (void)state;
    tp_engine *e = engine();
    make_table(e, "tbl", "KEYS_ONLY");
    ok(e, "PutItem", "{\"TableName\":\"tbl\",\"Item\":{\"symbol\":{\"S\":\"a\"}}}");
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_shards"), 1);
    assert_int_equal(tp_engine_advance(e, 4 * HOUR), 0);
    /* The periodic event rolled the shard over exactly 4 h after it opened. */
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_shards"), 2);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_shards c JOIN streams_shards p"
                              " ON c.parent_shard_id = p.shard_id WHERE c.closed_ms = 0"
                              " AND p.closed_ms = p.created_ms + 14400000 AND p.end_seq = 1"),
                     1);
    ok(e, "PutItem", "{\"TableName\":\"tbl\",\"Item\":{\"symbol\":{\"S\":\"b\"}}}");
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_records r JOIN streams_shards s"
                              " ON r.shard = s.id WHERE s.closed_ms = 0"), 1);
    /* 24 h after the first record it is trimmed; the second is not yet. */
    assert_int_equal(tp_engine_advance(e, 20 * HOUR), 0);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_records"), 1);
    /* Generations opened at 0, 4, ..., 24 h; none closed 24 h ago yet. */
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_shards"), 7);
    assert_int_equal(tp_engine_advance(e, 4 * HOUR + 60000), 0);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_records"), 0);
    tp_engine_free(e);
}

static void test_disable_and_reenable(void **state)
{
    (void)state;
    tp_engine *e = engine();
    make_table(e, "tbl", "KEYS_ONLY");
    ok(e, "PutItem", "{\"TableName\":\"tbl\",\"Item\":{\"symbol\":{\"S\":\"a\"}}}");
    ok(e, "UpdateTable", "{\"TableName\":\"tbl\",\"StreamSpecification\":{\"StreamEnabled\":false}}");
    ok(e, "PutItem", "{\"TableName\":\"tbl\",\"Item\":{\"symbol\":{\"S\":\"b\"}}}");
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_records"), 1);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_shards WHERE closed_ms = 0"), 0);
    ok(e, "UpdateTable", "{\"TableName\":\"tbl\",\"StreamSpecification\":{\"StreamEnabled\":true,"
                         "\"StreamViewType\":\"NEW_IMAGE\"}}");
    ok(e, "PutItem", "{\"TableName\":\"tbl\",\"Item\":{\"symbol\":{\"S\":\"c\"}}}");
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_streams"), 2);
    assert_int_equal(count(e, "SELECT COUNT(DISTINCT arn) FROM streams_streams"), 2);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_records r JOIN streams_streams s"
                              " ON r.stream_id = s.id WHERE s.status = 'ENABLED'"
                              " AND s.view_type = 'NEW_IMAGE'"), 1);
    /* DeleteTable disables; 24 h later the streams are gone. */
    ok(e, "DeleteTable", "{\"TableName\":\"tbl\"}");
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_streams WHERE status = 'ENABLED'"), 0);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_records"), 2);
    assert_int_equal(tp_engine_advance(e, 24 * HOUR + 60000), 0);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_streams"), 0);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_shards"), 0);
    tp_engine_free(e);
}

static void test_shards_by_partition_key(void **state)
{
    (void)state;
    tp_engine_options o = {.config_json = "{\"streams\":{\"shards_per_table\":4}}"};
    tp_error err;
    tp_engine *e = tp_engine_new(&o, &err);
    assert_non_null(e);
    make_table(e, "tbl", "KEYS_ONLY");
    assert_int_equal(count(e, "SELECT COUNT(*) FROM streams_shards"), 4);
    for (int i = 0; i < 40; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"TableName\":\"tbl\",\"Item\":{\"symbol\":{\"S\":\"k%d\"}}}", i);
        ok(e, "PutItem", json);
        snprintf(json, sizeof json, "{\"TableName\":\"tbl\",\"Key\":{\"symbol\":{\"S\":\"k%d\"}}}", i);
        ok(e, "DeleteItem", json);
    }
    /* Every key's INSERT and REMOVE share a shard; more than one shard is used. */
    assert_int_equal(count(e, "SELECT COUNT(*) FROM (SELECT json_extract(record, '$.dynamodb.Keys.symbol.S') k"
                              " FROM streams_records GROUP BY k HAVING COUNT(DISTINCT shard) > 1)"), 0);
    assert_true(count(e, "SELECT COUNT(DISTINCT shard) FROM streams_records") > 1);
    tp_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_shape),
        cmocka_unit_test(test_no_records_for_no_change),
        cmocka_unit_test(test_view_types),
        cmocka_unit_test(test_ttl_removal_has_user_identity),
        cmocka_unit_test(test_rollover_and_trim),
        cmocka_unit_test(test_disable_and_reenable),
        cmocka_unit_test(test_shards_by_partition_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
