/* Unit tests: core/shape against the generated DynamoDB input shapes.
 *
 * Table-driven: request JSON + operation -> OK, or the exact error type and
 * message. The expected texts are AWS's, taken from:
 *   [D] dynalite's tests, which run against real DynamoDB (REMOTE=1):
 *       test/helpers.js assertType (SerializationException texts per type),
 *       test/createTable.js, putItem.js, listTables.js, batchWriteItem.js;
 *   [P] a logged probe of real DynamoDB (2026, model 2012-08-10) of
 *       degenerate inputs ("ack-api-quirks" DDB-TABLE-457);
 *   [E] emulators' tests that pin DynamoDB's wording (floci's
 *       DynamoDbRequestShapesTest, Lombok-style "KeySchemaElement(attributeName=
 *       pk, keyType=HASH)" renderings quoted by several emulators).
 * Where AWS lists several errors in an order of its own (a Java hash order
 * that has changed over the years), tidepool lists them in model member
 * order; those rows say "model order". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/shape.h"
#include "dynamodb/shapes.gen.h"

#define SER "SerializationException"
#define VAL "ValidationException"

#define CAST_MSG                                                                                  \
    "class sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl cannot be cast to class " \
    "java.lang.Class (sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl and "          \
    "java.lang.Class are in module java.base of loader 'bootstrap')"
#define NOT_NULL "failed to satisfy constraint: Member must not be null"
#define NAME_PATTERN "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"

typedef struct row {
    const tp_shape *op;
    const char *json;
    const char *code;   /* NULL: valid */
    const char *message;
} row;

static void run_rows(const row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        cJSON *req = cJSON_Parse(r->json);
        if (!req)
            fail_msg("row %zu: bad test JSON %s", i, r->json);
        tp_error err;
        tp_error_clear(&err);
        int rc = tp_shape_check(r->op, req, &err);
        if (!r->code) {
            if (rc != 0)
                fail_msg("row %zu (%s %s): expected OK, got %s: %s", i, r->op->name, r->json, err.code,
                         err.message);
        } else {
            if (rc != -1 || strcmp(err.code, r->code) != 0 || strcmp(err.message, r->message) != 0)
                fail_msg("row %zu (%s %s):\n  want %s: %s\n  got  %s: %s", i, r->op->name, r->json,
                         r->code, r->message, err.code, err.message);
            assert_int_equal(err.status, 400);
        }
        cJSON_Delete(req);
    }
}

#define RUN(rows) run_rows(rows, sizeof rows / sizeof rows[0])

/* --- accepted requests ------------------------------------------------------ */

static void valid_requests_pass(void **state)
{
    (void)state;
    static const row rows[] = {
        {&tp_dynamodb_input_PutItem,
         "{\"TableName\":\"abc\",\"Item\":{\"a\":{\"S\":\"x\"},\"n\":{\"N\":\"1\"},\"b\":{\"B\":\"YWJj\"},"
         "\"bs\":{\"BS\":[\"YQ==\",\"YWI=\"]},\"l\":{\"L\":[{\"M\":{\"x\":{\"BOOL\":true}}},{\"NULL\":true}]}},"
         "\"ReturnValues\":\"ALL_OLD\",\"ReturnConsumedCapacity\":\"TOTAL\"}",
         NULL, NULL},
        {&tp_dynamodb_input_CreateTable,
         "{\"TableName\":\"my_table-1.x\",\"AttributeDefinitions\":[{\"AttributeName\":\"a\",\"AttributeType\":\"S\"}],"
         "\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"}],"
         "\"ProvisionedThroughput\":{\"ReadCapacityUnits\":1,\"WriteCapacityUnits\":1},"
         "\"BillingMode\":\"PROVISIONED\",\"StreamSpecification\":{\"StreamEnabled\":false}}",
         NULL, NULL},
        /* [D] listTables: random and null attributes are fine. */
        {&tp_dynamodb_input_ListTables, "{}", NULL, NULL},
        {&tp_dynamodb_input_ListTables, "{\"hi\":\"yo\",\"stuff\":\"things\"}", NULL, NULL},
        {&tp_dynamodb_input_ListTables, "{\"ExclusiveStartTableName\":null,\"Limit\":null}", NULL, NULL},
        {&tp_dynamodb_input_ListTables, "{\"ExclusiveStartTableName\":\"aaa\",\"Limit\":100}", NULL, NULL},
        /* [E] numbers are truncated into integers; booleans take their words. */
        {&tp_dynamodb_input_Scan, "{\"TableName\":\"abc\",\"Limit\":5.5}", NULL, NULL},
        {&tp_dynamodb_input_Scan, "{\"TableName\":\"abc\",\"ConsistentRead\":\"false\"}", NULL, NULL},
        {&tp_dynamodb_input_Scan, "{\"TableName\":\"abc\",\"ConsistentRead\":\"TRUE\"}", NULL, NULL},
        {&tp_dynamodb_input_Scan, "{\"TableName\":\"abc\",\"AttributesToGet\":[null]}", NULL, NULL},
        {&tp_dynamodb_input_Scan, "{\"TableName\":\"abc\",\"IndexName\":null,\"Limit\":null,\"Unknown\":5}", NULL, NULL},
        /* Unknown members are skipped, however they are typed. */
        {&tp_dynamodb_input_DescribeLimits, "{\"Whatever\":[1,{\"a\":true}]}", NULL, NULL},
        {&tp_dynamodb_input_ExportTableToPointInTime,
         "{\"TableArn\":\"arn:aws:dynamodb:us-east-1:123456789012:table/t\",\"S3Bucket\":\"my-bucket.x_y9\"}",
         NULL, NULL},
    };
    RUN(rows);
}

/* --- pass 1: JSON types ([D] helpers.js assertType unless marked) ------------ */

static void string_members(void **state)
{
    (void)state;
    static const row rows[] = {
        {&tp_dynamodb_input_ListTables, "{\"ExclusiveStartTableName\":true}", SER, "TRUE_VALUE cannot be converted to String"},
        {&tp_dynamodb_input_ListTables, "{\"ExclusiveStartTableName\":false}", SER, "FALSE_VALUE cannot be converted to String"},
        {&tp_dynamodb_input_ListTables, "{\"ExclusiveStartTableName\":23}", SER, "NUMBER_VALUE cannot be converted to String"},
        {&tp_dynamodb_input_ListTables, "{\"ExclusiveStartTableName\":-2147483648}", SER, "NUMBER_VALUE cannot be converted to String"},
        {&tp_dynamodb_input_ListTables, "{\"ExclusiveStartTableName\":2147483648}", SER, "NUMBER_VALUE cannot be converted to String"},
        {&tp_dynamodb_input_ListTables, "{\"ExclusiveStartTableName\":34.56}", SER, "DECIMAL_VALUE cannot be converted to String"},
        {&tp_dynamodb_input_ListTables, "{\"ExclusiveStartTableName\":[]}", SER, "Unrecognized collection type class java.lang.String"},
        {&tp_dynamodb_input_ListTables, "{\"ExclusiveStartTableName\":{}}", SER, "Start of structure or map found where not expected"},
        /* nested: [D] createTable KeySchema.0.KeyType, [E] floci */
        {&tp_dynamodb_input_CreateTable, "{\"KeySchema\":[{\"KeyType\":5}]}", SER, "NUMBER_VALUE cannot be converted to String"},
        {&tp_dynamodb_input_UpdateTable,
         "{\"TableName\":\"t\",\"GlobalSecondaryIndexUpdates\":[{\"Delete\":{\"IndexName\":5}}]}", SER,
         "NUMBER_VALUE cannot be converted to String"},
        {&tp_dynamodb_input_Scan, "{\"TableName\":\"t\",\"ExclusiveStartKey\":{\"pk\":{\"S\":123}}}", SER,
         "NUMBER_VALUE cannot be converted to String"},
    };
    RUN(rows);
}

static void boolean_members(void **state)
{
    (void)state;
    static const row rows[] = {
        {&tp_dynamodb_input_GetItem, "{\"ConsistentRead\":\"23\"}", SER, "Unexpected token received from parser"},
        {&tp_dynamodb_input_GetItem, "{\"ConsistentRead\":23}", SER, "NUMBER_VALUE cannot be converted to Boolean"},
        {&tp_dynamodb_input_GetItem, "{\"ConsistentRead\":-2147483648}", SER, "NUMBER_VALUE cannot be converted to Boolean"},
        {&tp_dynamodb_input_GetItem, "{\"ConsistentRead\":34.56}", SER, "DECIMAL_VALUE cannot be converted to Boolean"},
        {&tp_dynamodb_input_GetItem, "{\"ConsistentRead\":[]}", SER, "Unrecognized collection type class java.lang.Boolean"},
        {&tp_dynamodb_input_GetItem, "{\"ConsistentRead\":{}}", SER, "Start of structure or map found where not expected"},
        /* [E] floci */
        {&tp_dynamodb_input_Scan, "{\"TableName\":\"t\",\"ConsistentRead\":\"abc\"}", SER, "Unexpected token received from parser"},
        {&tp_dynamodb_input_Scan, "{\"TableName\":\"t\",\"ConsistentRead\":0}", SER, "NUMBER_VALUE cannot be converted to Boolean"},
        /* AttributeValue NULL/BOOL are Booleans too ([D] AttrStruct). */
        {&tp_dynamodb_input_PutItem, "{\"Item\":{\"a\":{\"NULL\":\"23\"}}}", SER, "Unexpected token received from parser"},
    };
    RUN(rows);
}

static void number_members(void **state)
{
    (void)state;
    static const row rows[] = {
        {&tp_dynamodb_input_ListTables, "{\"Limit\":\"23\"}", SER, "STRING_VALUE cannot be converted to Integer"},
        {&tp_dynamodb_input_ListTables, "{\"Limit\":true}", SER, "TRUE_VALUE cannot be converted to Integer"},
        {&tp_dynamodb_input_ListTables, "{\"Limit\":false}", SER, "FALSE_VALUE cannot be converted to Integer"},
        {&tp_dynamodb_input_ListTables, "{\"Limit\":[]}", SER, "Unrecognized collection type class java.lang.Integer"},
        {&tp_dynamodb_input_ListTables, "{\"Limit\":{}}", SER, "Start of structure or map found where not expected"},
        {&tp_dynamodb_input_CreateTable, "{\"ProvisionedThroughput\":{\"ReadCapacityUnits\":\"23\"}}", SER,
         "STRING_VALUE cannot be converted to Long"},
        {&tp_dynamodb_input_CreateTable, "{\"ProvisionedThroughput\":{\"WriteCapacityUnits\":true}}", SER,
         "TRUE_VALUE cannot be converted to Long"},
        {&tp_dynamodb_input_CreateTable, "{\"ProvisionedThroughput\":{\"WriteCapacityUnits\":false}}", SER,
         "FALSE_VALUE cannot be converted to Long"},
        {&tp_dynamodb_input_CreateTable, "{\"ProvisionedThroughput\":{\"WriteCapacityUnits\":[]}}", SER,
         "Unrecognized collection type class java.lang.Long"},
        /* [E] floci: doubles and timestamps name their Java types too. */
        {&tp_dynamodb_input_UpdateTableReplicaAutoScaling,
         "{\"TableName\":\"t\",\"ProvisionedWriteCapacityAutoScalingUpdate\":{\"ScalingPolicyUpdate\":"
         "{\"TargetTrackingScalingPolicyConfiguration\":{\"TargetValue\":\"50\"}}}}",
         SER, "STRING_VALUE cannot be converted to Double"},
        {&tp_dynamodb_input_ListBackups, "{\"TimeRangeLowerBound\":\"2020-01-01T00:00:00Z\"}", SER,
         "STRING_VALUE cannot be converted to Date"},
        {&tp_dynamodb_input_ListBackups, "{\"TimeRangeLowerBound\":1577836800}", NULL, NULL},
    };
    RUN(rows);
}

static void blob_members(void **state)
{
    (void)state;
    static const row rows[] = {
        {&tp_dynamodb_input_PutItem, "{\"Item\":{\"a\":{\"B\":true}}}", SER, "only base-64-encoded strings are convertible to bytes"},
        {&tp_dynamodb_input_PutItem, "{\"Item\":{\"a\":{\"B\":23}}}", SER, "only base-64-encoded strings are convertible to bytes"},
        {&tp_dynamodb_input_PutItem, "{\"Item\":{\"a\":{\"B\":2147483648}}}", SER, "only base-64-encoded strings are convertible to bytes"},
        {&tp_dynamodb_input_PutItem, "{\"Item\":{\"a\":{\"B\":34.56}}}", SER, "only base-64-encoded strings are convertible to bytes"},
        {&tp_dynamodb_input_PutItem, "{\"Item\":{\"a\":{\"B\":[]}}}", SER, "Unrecognized collection type class java.nio.ByteBuffer"},
        {&tp_dynamodb_input_PutItem, "{\"Item\":{\"a\":{\"B\":{}}}}", SER, "Start of structure or map found where not expected"},
        {&tp_dynamodb_input_PutItem, "{\"Item\":{\"a\":{\"B\":\"23456\"}}}", SER,
         "Base64 encoded length is expected a multiple of 4 bytes but found: 5"},
        {&tp_dynamodb_input_PutItem, "{\"Item\":{\"a\":{\"B\":\"=+/=\"}}}", SER, "Invalid last non-pad Base64 character dectected"},
        {&tp_dynamodb_input_PutItem, "{\"Item\":{\"a\":{\"B\":\"+/+=\"}}}", SER, "Invalid last non-pad Base64 character dectected"},
        /* inside a set, deep in a map: [D] AttrStruct M.a.BS.0; [E] floci BS */
        {&tp_dynamodb_input_PutItem, "{\"Item\":{\"a\":{\"M\":{\"a\":{\"BS\":[true]}}}}}", SER,
         "only base-64-encoded strings are convertible to bytes"},
    };
    RUN(rows);
}

static void collection_and_structure_members(void **state)
{
    (void)state;
    static const row rows[] = {
        /* list as a member */
        {&tp_dynamodb_input_CreateTable, "{\"KeySchema\":\"23\"}", SER, "Unexpected field type"},
        {&tp_dynamodb_input_CreateTable, "{\"KeySchema\":true}", SER, "Unexpected field type"},
        {&tp_dynamodb_input_CreateTable, "{\"KeySchema\":34.56}", SER, "Unexpected field type"},
        {&tp_dynamodb_input_CreateTable, "{\"KeySchema\":{}}", SER, "Start of structure or map found where not expected"},
        /* structure as a list element (ValueStruct) */
        {&tp_dynamodb_input_CreateTable, "{\"KeySchema\":[\"23\"]}", SER, "Unexpected value type in payload"},
        {&tp_dynamodb_input_CreateTable, "{\"KeySchema\":[23]}", SER, "Unexpected value type in payload"},
        {&tp_dynamodb_input_CreateTable, "{\"KeySchema\":[[]]}", SER,
         "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.KeySchemaElement"},
        /* structure as a member (FieldStruct) */
        {&tp_dynamodb_input_CreateTable, "{\"ProvisionedThroughput\":\"23\"}", SER, "Unexpected field type"},
        {&tp_dynamodb_input_CreateTable, "{\"ProvisionedThroughput\":[]}", SER,
         "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.ProvisionedThroughput"},
        /* PutItem with an Item of the wrong type: the map, then its values */
        {&tp_dynamodb_input_PutItem, "{\"TableName\":\"abc\",\"Item\":\"23\"}", SER, "Unexpected field type"},
        {&tp_dynamodb_input_PutItem, "{\"TableName\":\"abc\",\"Item\":23}", SER, "Unexpected field type"},
        {&tp_dynamodb_input_PutItem, "{\"TableName\":\"abc\",\"Item\":[]}", SER,
         "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>"},
        {&tp_dynamodb_input_PutItem, "{\"TableName\":\"abc\",\"Item\":{\"a\":5}}", SER, "Unexpected value type in payload"},
        {&tp_dynamodb_input_PutItem, "{\"TableName\":\"abc\",\"Item\":{\"a\":[]}}", SER,
         "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue"},
        {&tp_dynamodb_input_PutItem, "{\"Item\":{\"a\":{\"SS\":\"23\"}}}", SER, "Unexpected field type"},
        {&tp_dynamodb_input_PutItem, "{\"Item\":{\"a\":{\"L\":[23]}}}", SER, "Unexpected value type in payload"},
        {&tp_dynamodb_input_PutItem, "{\"Item\":{\"a\":{\"M\":[]}}}", SER,
         "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>"},
        /* collections inside collections (ParameterizedList/Map) */
        {&tp_dynamodb_input_BatchWriteItem, "{\"RequestItems\":[]}", SER,
         "Unrecognized collection type java.util.Map<java.lang.String, "
         "java.util.List<com.amazonaws.dynamodb.v20120810.WriteRequest>>"},
        {&tp_dynamodb_input_BatchWriteItem, "{\"RequestItems\":{\"abc\":\"23\"}}", SER, CAST_MSG},
        {&tp_dynamodb_input_BatchWriteItem, "{\"RequestItems\":{\"abc\":34.56}}", SER, CAST_MSG},
        {&tp_dynamodb_input_BatchWriteItem, "{\"RequestItems\":{\"abc\":{}}}", SER,
         "Start of structure or map found where not expected"},
        {&tp_dynamodb_input_BatchWriteItem, "{\"RequestItems\":{\"abc\":[true]}}", SER, "Unexpected value type in payload"},
        {&tp_dynamodb_input_BatchGetItem, "{\"RequestItems\":{\"abc\":{\"Keys\":[\"23\"]}}}", SER, CAST_MSG},
        {&tp_dynamodb_input_BatchGetItem, "{\"RequestItems\":{\"abc\":{\"Keys\":[[]]}}}", SER,
         "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>"},
    };
    RUN(rows);
}

/* [E] floci: the deserialiser reads the body in order; the first bad value
 * wins, whatever the model order. */
static void first_bad_value_in_body_order_wins(void **state)
{
    (void)state;
    static const row rows[] = {
        {&tp_dynamodb_input_Scan, "{\"TableName\":\"t\",\"Limit\":\"5\",\"IndexName\":5}", SER,
         "STRING_VALUE cannot be converted to Integer"},
        {&tp_dynamodb_input_Scan, "{\"TableName\":\"t\",\"IndexName\":5,\"Limit\":\"5\"}", SER,
         "NUMBER_VALUE cannot be converted to String"},
        /* a type error beats any constraint error */
        {&tp_dynamodb_input_PutItem, "{\"TableName\":\"a;\",\"ReturnValues\":7}", SER,
         "NUMBER_VALUE cannot be converted to String"},
    };
    RUN(rows);
}

/* --- pass 2: constraints ------------------------------------------------------- */

static void missing_and_bad_table_names(void **state)
{
    (void)state;
    static const row rows[] = {
        /* [D] putItem "no TableName" (exact) */
        {&tp_dynamodb_input_PutItem, "{}", VAL,
         "2 validation errors detected: Value null at 'tableName' " NOT_NULL "; Value null at 'item' " NOT_NULL},
        /* [D] putItem "empty TableName", "short TableName" (exact) */
        {&tp_dynamodb_input_PutItem, "{\"TableName\":\"\"}", VAL,
         "3 validation errors detected: "
         "Value '' at 'tableName' failed to satisfy constraint: " NAME_PATTERN "; "
         "Value '' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3; "
         "Value null at 'item' " NOT_NULL},
        {&tp_dynamodb_input_PutItem, "{\"TableName\":\"a;\"}", VAL,
         "3 validation errors detected: "
         "Value 'a;' at 'tableName' failed to satisfy constraint: " NAME_PATTERN "; "
         "Value 'a;' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3; "
         "Value null at 'item' " NOT_NULL},
        /* [D] createTable "null attributes" (bad pattern). A missing or
         * short name of the table actions is reported first and alone
         * (codegen PRESENCE_OVERRIDES): createTable/describeTable "no
         * TableName", "empty TableName", "long TableName" (exact). */
        {&tp_dynamodb_input_CreateTable, "{\"TableName\":\"abc;\"}", VAL,
         "3 validation errors detected: Value null at 'attributeDefinitions' " NOT_NULL "; "
         "Value 'abc;' at 'tableName' failed to satisfy constraint: " NAME_PATTERN "; "
         "Value null at 'keySchema' " NOT_NULL},
        {&tp_dynamodb_input_CreateTable, "{}", VAL,
         "The parameter 'TableName' is required but was not present in the request"},
        {&tp_dynamodb_input_DeleteTable, "{\"TableName\":null}", VAL,
         "The parameter 'TableName' is required but was not present in the request"},
        {&tp_dynamodb_input_DescribeTable, "{\"TableName\":\"a;\"}", VAL,
         "TableName must be at least 3 characters long and at most 255 characters long"},
        {&tp_dynamodb_input_UpdateTable, "{\"TableName\":\"\"}", VAL,
         "TableName must be at least 3 characters long and at most 255 characters long"},
        /* [D] listTables "empty ExclusiveStartTableName" (exact) */
        {&tp_dynamodb_input_ListTables, "{\"ExclusiveStartTableName\":\"\"}", VAL,
         "2 validation errors detected: "
         "Value '' at 'exclusiveStartTableName' failed to satisfy constraint: " NAME_PATTERN "; "
         "Value '' at 'exclusiveStartTableName' failed to satisfy constraint: "
         "Member must have length greater than or equal to 3"},
        /* [D] listTables "in order" lists limit first; model order puts it last. */
        {&tp_dynamodb_input_ListTables, "{\"ExclusiveStartTableName\":\"a;\",\"Limit\":500}", VAL,
         "3 validation errors detected: "
         "Value 'a;' at 'exclusiveStartTableName' failed to satisfy constraint: " NAME_PATTERN "; "
         "Value 'a;' at 'exclusiveStartTableName' failed to satisfy constraint: "
         "Member must have length greater than or equal to 3; "
         "Value '500' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"},
        /* [P] create_backup_empty_name (exact) */
        {&tp_dynamodb_input_CreateBackup, "{\"TableName\":\"abc\",\"BackupName\":\"\"}", VAL,
         "2 validation errors detected: "
         "Value '' at 'backupName' failed to satisfy constraint: " NAME_PATTERN "; "
         "Value '' at 'backupName' failed to satisfy constraint: Member must have length greater than or equal to 3"},
    };
    RUN(rows);
}

static void too_long_names(void **state)
{
    (void)state;
    char name[257], json[400], want[600];
    memset(name, 'a', 256);
    name[256] = '\0';
    /* [D] putItem "long TableName" (exact) */
    snprintf(json, sizeof json, "{\"TableName\":\"%s\"}", name);
    snprintf(want, sizeof want,
             "2 validation errors detected: Value '%s' at 'tableName' failed to satisfy constraint: "
             "Member must have length less than or equal to 255; Value null at 'item' " NOT_NULL,
             name);
    row r1[] = {{&tp_dynamodb_input_PutItem, json, VAL, want}};
    RUN(r1);
    /* [D] listTables "long ExclusiveStartTableName" (exact) */
    snprintf(json, sizeof json, "{\"ExclusiveStartTableName\":\"%s\"}", name);
    snprintf(want, sizeof want,
             "1 validation error detected: Value '%s' at 'exclusiveStartTableName' failed to satisfy "
             "constraint: Member must have length less than or equal to 255",
             name);
    row r2[] = {{&tp_dynamodb_input_ListTables, json, VAL, want}};
    RUN(r2);
    /* 255 is allowed */
    name[255] = '\0';
    snprintf(json, sizeof json, "{\"ExclusiveStartTableName\":\"%s\"}", name);
    row r3[] = {{&tp_dynamodb_input_ListTables, json, NULL, NULL}};
    RUN(r3);
}

static void numeric_ranges(void **state)
{
    (void)state;
    static const row rows[] = {
        /* [D] listTables low/high Limit (exact); [P] list_tables_limit0 */
        {&tp_dynamodb_input_ListTables, "{\"Limit\":0}", VAL,
         "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
         "Member must have value greater than or equal to 1"},
        {&tp_dynamodb_input_ListTables, "{\"Limit\":101}", VAL,
         "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: "
         "Member must have value less than or equal to 100"},
        {&tp_dynamodb_input_ListTables, "{\"Limit\":1}", NULL, NULL},
        /* [P] ucb_enable_days_neg (exact) */
        {&tp_dynamodb_input_UpdateContinuousBackups,
         "{\"TableName\":\"abc\",\"PointInTimeRecoverySpecification\":"
         "{\"PointInTimeRecoveryEnabled\":true,\"RecoveryPeriodInDays\":-1}}",
         VAL,
         "1 validation error detected: Value '-1' at 'pointInTimeRecoverySpecification.recoveryPeriodInDays' "
         "failed to satisfy constraint: Member must have value greater than or equal to 1"},
        /* [D] createTable "low ProvisionedThroughput.WriteCapacityUnits"; model order */
        {&tp_dynamodb_input_CreateTable,
         "{\"TableName\":\"abc\",\"AttributeDefinitions\":[],\"KeySchema\":[],"
         "\"ProvisionedThroughput\":{\"ReadCapacityUnits\":-1,\"WriteCapacityUnits\":-1}}",
         VAL,
         "3 validation errors detected: "
         "Value '[]' at 'keySchema' failed to satisfy constraint: Member must have length greater than or equal to 1; "
         "Value '-1' at 'provisionedThroughput.readCapacityUnits' failed to satisfy constraint: "
         "Member must have value greater than or equal to 1; "
         "Value '-1' at 'provisionedThroughput.writeCapacityUnits' failed to satisfy constraint: "
         "Member must have value greater than or equal to 1"},
    };
    RUN(rows);
}

static void nested_paths_and_enums(void **state)
{
    (void)state;
    static const row rows[] = {
        /* [D] createTable "key element names". AWS also reports the
         * three-element list against "length less than or equal to 2"; the
         * current model dropped that bound (multi-attribute GSI keys), so
         * the action has to say it. */
        {&tp_dynamodb_input_CreateTable,
         "{\"TableName\":\"abc\",\"AttributeDefinitions\":[],\"KeySchema\":[{\"KeyType\":\"HASH\"},"
         "{\"AttributeName\":\"a\"},{\"KeyType\":\"Woop\",\"AttributeName\":\"a\"}],"
         "\"ProvisionedThroughput\":{\"ReadCapacityUnits\":1000000000001,\"WriteCapacityUnits\":1000000000001}}",
         VAL,
         "3 validation errors detected: "
         "Value null at 'keySchema.1.member.attributeName' " NOT_NULL "; "
         "Value null at 'keySchema.2.member.keyType' " NOT_NULL "; "
         "Value 'Woop' at 'keySchema.3.member.keyType' failed to satisfy constraint: "
         "Member must satisfy enum value set: [HASH, RANGE]"},
        /* [D] createTable "attribute definitions member nulls" (older exact text) */
        {&tp_dynamodb_input_CreateTable,
         "{\"TableName\":\"abc\",\"AttributeDefinitions\":[{}],\"KeySchema\":[{\"KeyType\":\"HASH\",\"AttributeName\":\"a\"},"
         "{\"KeyType\":\"HASH\",\"AttributeName\":\"a\"}],\"ProvisionedThroughput\":{\"ReadCapacityUnits\":1,\"WriteCapacityUnits\":1}}",
         VAL,
         "2 validation errors detected: Value null at 'attributeDefinitions.1.member.attributeName' " NOT_NULL "; "
         "Value null at 'attributeDefinitions.1.member.attributeType' " NOT_NULL},
        /* [D] createTable "SS in attr definition" (exact): AWS's enum order */
        {&tp_dynamodb_input_CreateTable,
         "{\"TableName\":\"abc\",\"AttributeDefinitions\":[{\"AttributeName\":\"b\",\"AttributeType\":\"SS\"}],"
         "\"KeySchema\":[{\"KeyType\":\"HASH\",\"AttributeName\":\"a\"},{\"KeyType\":\"HASH\",\"AttributeName\":\"a\"}],"
         "\"ProvisionedThroughput\":{\"ReadCapacityUnits\":1,\"WriteCapacityUnits\":1}}",
         VAL,
         "1 validation error detected: Value 'SS' at 'attributeDefinitions.1.member.attributeType' failed to satisfy "
         "constraint: Member must satisfy enum value set: [B, N, S]"},
        /* [P] ct_stream_viewtype_empty, [D] createTable BillingMode (exact) */
        {&tp_dynamodb_input_CreateTable,
         "{\"TableName\":\"abc\",\"AttributeDefinitions\":[],\"KeySchema\":[{\"KeyType\":\"HASH\",\"AttributeName\":\"a\"}],"
         "\"StreamSpecification\":{\"StreamEnabled\":true,\"StreamViewType\":\"\"}}",
         VAL,
         "1 validation error detected: Value '' at 'streamSpecification.streamViewType' failed to satisfy constraint: "
         "Member must satisfy enum value set: [OLD_IMAGE, KEYS_ONLY, NEW_AND_OLD_IMAGES, NEW_IMAGE]"},
        {&tp_dynamodb_input_CreateTable,
         "{\"TableName\":\"abc\",\"AttributeDefinitions\":[],\"KeySchema\":[{\"KeyType\":\"HASH\",\"AttributeName\":\"a\"}],"
         "\"BillingMode\":\"A\"}",
         VAL,
         "1 validation error detected: Value 'A' at 'billingMode' failed to satisfy constraint: "
         "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"},
        /* [D] putItem "incorrect attributes": AWS's enum orders; model order */
        {&tp_dynamodb_input_PutItem,
         "{\"TableName\":\"abc;\",\"ReturnConsumedCapacity\":\"hi\",\"ReturnItemCollectionMetrics\":\"hi\","
         "\"ReturnValues\":\"hi\"}",
         VAL,
         "5 validation errors detected: "
         "Value 'abc;' at 'tableName' failed to satisfy constraint: " NAME_PATTERN "; "
         "Value null at 'item' " NOT_NULL "; "
         "Value 'hi' at 'returnValues' failed to satisfy constraint: "
         "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]; "
         "Value 'hi' at 'returnConsumedCapacity' failed to satisfy constraint: "
         "Member must satisfy enum value set: [INDEXES, TOTAL, NONE]; "
         "Value 'hi' at 'returnItemCollectionMetrics' failed to satisfy constraint: "
         "Member must satisfy enum value set: [SIZE, NONE]"},
        /* [E] Select's AWS order */
        {&tp_dynamodb_input_Scan, "{\"TableName\":\"abc\",\"Select\":\"INVALID_VALUE\"}", VAL,
         "1 validation error detected: Value 'INVALID_VALUE' at 'select' failed to satisfy constraint: "
         "Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"},
        /* [P] ttl_empty_struct: AWS listed attributeName first; model order */
        {&tp_dynamodb_input_UpdateTimeToLive, "{\"TableName\":\"abc\",\"TimeToLiveSpecification\":{}}", VAL,
         "2 validation errors detected: Value null at 'timeToLiveSpecification.enabled' " NOT_NULL "; "
         "Value null at 'timeToLiveSpecification.attributeName' " NOT_NULL},
        /* [P] export_bucket_empty (exact): a translated Java pattern */
        {&tp_dynamodb_input_ExportTableToPointInTime,
         "{\"TableArn\":\"arn:aws:dynamodb:us-east-1:123456789012:table/t\",\"S3Bucket\":\"\"}", VAL,
         "1 validation error detected: Value '' at 's3Bucket' failed to satisfy constraint: Member must satisfy "
         "regular expression pattern: ^[a-z0-9A-Z]+[\\.\\-\\w]*[a-z0-9A-Z]+$"},
    };
    RUN(rows);
}

static void map_paths_keys_and_values(void **state)
{
    (void)state;
    static const row rows[] = {
        /* [E] map values are '<map>.<key>.member' */
        {&tp_dynamodb_input_UpdateItem,
         "{\"TableName\":\"abc\",\"Key\":{\"a\":{\"S\":\"a\"}},\"AttributeUpdates\":{\"x\":{\"Action\":\"Woop\"}}}", VAL,
         "1 validation error detected: Value 'Woop' at 'attributeUpdates.x.member.action' failed to satisfy "
         "constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"},
        /* [D] batchWriteItem "empty body", "empty RequestItems" (exact) */
        {&tp_dynamodb_input_BatchWriteItem, "{}", VAL,
         "1 validation error detected: Value null at 'requestItems' " NOT_NULL},
        {&tp_dynamodb_input_BatchWriteItem, "{\"RequestItems\":{}}", VAL,
         "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: "
         "Member must have length greater than or equal to 1"},
        /* [D] batchWriteItem "empty list in RequestItems": one message for the
         * keys, one for the values, each naming every constraint. */
        {&tp_dynamodb_input_BatchWriteItem, "{\"RequestItems\":{\"a\":[]}}", VAL,
         "2 validation errors detected: "
         "Value '{a=[]}' at 'requestItems' failed to satisfy constraint: Map keys must satisfy constraint: "
         "[Member must have length less than or equal to 255, Member must have length greater than or equal to 3, "
         "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+]; "
         "Value '{a=[]}' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: "
         "[Member must have length less than or equal to 25, Member must have length greater than or equal to 1]"},
        /* [D] batchWriteItem "incorrect attributes": paths through a map and
         * a list; model order */
        {&tp_dynamodb_input_BatchWriteItem,
         "{\"RequestItems\":{\"aa;\":[{\"PutRequest\":{},\"DeleteRequest\":{}}]},"
         "\"ReturnConsumedCapacity\":\"hi\",\"ReturnItemCollectionMetrics\":\"hi\"}",
         VAL,
         "5 validation errors detected: "
         "Value '{aa;=[WriteRequest(putRequest=PutRequest(item=null), deleteRequest=DeleteRequest(key=null))]}' "
         "at 'requestItems' failed to satisfy constraint: Map keys must satisfy constraint: "
         "[Member must have length less than or equal to 255, Member must have length greater than or equal to 3, "
         "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+]; "
         "Value null at 'requestItems.aa;.member.1.member.putRequest.item' " NOT_NULL "; "
         "Value null at 'requestItems.aa;.member.1.member.deleteRequest.key' " NOT_NULL "; "
         "Value 'hi' at 'returnConsumedCapacity' failed to satisfy constraint: "
         "Member must satisfy enum value set: [INDEXES, TOTAL, NONE]; "
         "Value 'hi' at 'returnItemCollectionMetrics' failed to satisfy constraint: "
         "Member must satisfy enum value set: [SIZE, NONE]"},
    };
    RUN(rows);
}

/* [D] createTable "more than five empty LocalSecondaryIndexes": 27 failures,
 * the first 10 reported and counted as 10. */
static void at_most_ten_errors(void **state)
{
    (void)state;
    static const row rows[] = {
        {&tp_dynamodb_input_CreateTable,
         "{\"TableName\":\"abc\",\"AttributeDefinitions\":[{\"AttributeName\":\"a\",\"AttributeType\":\"S\"},"
         "{\"AttributeName\":\"b\",\"AttributeType\":\"S\"}],\"KeySchema\":[{\"KeyType\":\"HASH\",\"AttributeName\":\"a\"},"
         "{\"KeyType\":\"RANGE\",\"AttributeName\":\"b\"}],\"LocalSecondaryIndexes\":[{},{},{},{},{},{},{},{},{}],"
         "\"ProvisionedThroughput\":{\"ReadCapacityUnits\":1,\"WriteCapacityUnits\":1}}",
         VAL,
         "10 validation errors detected: "
         "Value null at 'localSecondaryIndexes.1.member.indexName' " NOT_NULL "; "
         "Value null at 'localSecondaryIndexes.1.member.keySchema' " NOT_NULL "; "
         "Value null at 'localSecondaryIndexes.1.member.projection' " NOT_NULL "; "
         "Value null at 'localSecondaryIndexes.2.member.indexName' " NOT_NULL "; "
         "Value null at 'localSecondaryIndexes.2.member.keySchema' " NOT_NULL "; "
         "Value null at 'localSecondaryIndexes.2.member.projection' " NOT_NULL "; "
         "Value null at 'localSecondaryIndexes.3.member.indexName' " NOT_NULL "; "
         "Value null at 'localSecondaryIndexes.3.member.keySchema' " NOT_NULL "; "
         "Value null at 'localSecondaryIndexes.3.member.projection' " NOT_NULL "; "
         "Value null at 'localSecondaryIndexes.4.member.indexName' " NOT_NULL},
    };
    RUN(rows);
}

static void null_request_is_an_empty_body(void **state)
{
    (void)state;
    tp_error err;
    tp_error_clear(&err);
    assert_int_equal(tp_shape_check(&tp_dynamodb_input_BatchWriteItem, NULL, &err), -1);
    assert_string_equal(err.code, VAL);
    assert_string_equal(err.message, "1 validation error detected: Value null at 'requestItems' " NOT_NULL);
    assert_int_equal(tp_shape_check(&tp_dynamodb_input_ListTables, NULL, &err), 0);
}

/* Model patterns are Java regexes run through POSIX ERE: each of
 * DynamoDB's must accept and refuse what Java would. */
typedef struct pat_case {
    const tp_shape *op;
    const char *json;
    int ok;
} pat_case;

static void java_patterns_translate(void **state)
{
    (void)state;
    static const pat_case cases[] = {
        /* [,;:|\t ] — an escape inside a class */
        {&tp_dynamodb_input_ImportTable, "{\"InputFormatOptions\":{\"Csv\":{\"Delimiter\":\",\"}}}", 1},
        {&tp_dynamodb_input_ImportTable, "{\"InputFormatOptions\":{\"Csv\":{\"Delimiter\":\"\\t\"}}}", 1},
        {&tp_dynamodb_input_ImportTable, "{\"InputFormatOptions\":{\"Csv\":{\"Delimiter\":\"x\"}}}", 0},
        /* [\x20-\x21\x23-\x2B\x2D-\x7E]* — hex ranges, no '"' or ',' */
        {&tp_dynamodb_input_ImportTable, "{\"InputFormatOptions\":{\"Csv\":{\"HeaderList\":[\"a-b c~\",\"\"]}}}", 1},
        {&tp_dynamodb_input_ImportTable, "{\"InputFormatOptions\":{\"Csv\":{\"HeaderList\":[\"a\\\"b\"]}}}", 0},
        {&tp_dynamodb_input_ImportTable, "{\"InputFormatOptions\":{\"Csv\":{\"HeaderList\":[\"a,b\"]}}}", 0},
        /* ^[^\$]+$ — anchors of its own, an escaped '$' in a negated class */
        {&tp_dynamodb_input_ImportTable, "{\"ClientToken\":\"tok-1\"}", 1},
        {&tp_dynamodb_input_ImportTable, "{\"ClientToken\":\"a$b\"}", 0},
        /* ^[a-z0-9A-Z]+[\.\-\w]*[a-z0-9A-Z]+$ — \w inside a class */
        {&tp_dynamodb_input_ImportTable, "{\"S3BucketSource\":{\"S3Bucket\":\"a.-_b\"}}", 1},
        {&tp_dynamodb_input_ImportTable, "{\"S3BucketSource\":{\"S3Bucket\":\"ab\"}}", 1},
        {&tp_dynamodb_input_ImportTable, "{\"S3BucketSource\":{\"S3Bucket\":\"a\"}}", 0},
        {&tp_dynamodb_input_ImportTable, "{\"S3BucketSource\":{\"S3Bucket\":\"-ab\"}}", 0},
        {&tp_dynamodb_input_ImportTable, "{\"S3BucketSource\":{\"S3Bucket\":\"ab-\"}}", 0},
        /* [0-9]{12} */
        {&tp_dynamodb_input_ImportTable, "{\"S3BucketSource\":{\"S3BucketOwner\":\"123456789012\"}}", 1},
        {&tp_dynamodb_input_ImportTable, "{\"S3BucketSource\":{\"S3BucketOwner\":\"1234567890123\"}}", 0},
        /* \p{Print}+ */
        {&tp_dynamodb_input_UpdateTableReplicaAutoScaling,
         "{\"ProvisionedWriteCapacityAutoScalingUpdate\":{\"ScalingPolicyUpdate\":{\"PolicyName\":\"my policy~\"}}}", 1},
        {&tp_dynamodb_input_UpdateTableReplicaAutoScaling,
         "{\"ProvisionedWriteCapacityAutoScalingUpdate\":{\"ScalingPolicyUpdate\":{\"PolicyName\":\"a\\tb\"}}}", 0},
        /* the XML-text class with \u escapes beyond ASCII is not checked */
        {&tp_dynamodb_input_UpdateTableReplicaAutoScaling,
         "{\"ProvisionedWriteCapacityAutoScalingUpdate\":{\"AutoScalingRoleArn\":\"\\u0001\"}}", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *req = cJSON_Parse(cases[i].json);
        assert_non_null(req);
        tp_error err;
        tp_error_clear(&err);
        tp_shape_check(cases[i].op, req, &err);
        int refused = strstr(err.message, "regular expression pattern") != NULL;
        if (refused == cases[i].ok)
            fail_msg("case %zu %s: want %s, got %s", i, cases[i].json, cases[i].ok ? "match" : "no match",
                     err.message);
        cJSON_Delete(req);
    }
}

/* The pattern cache is filled lazily from whichever thread gets there
 * first; many threads at once must all see compiled patterns. (The trees
 * are parsed up front: cJSON_Parse writes a global error pointer.) */
static cJSON *bad_export, *good_export;

static int check_many(void *arg)
{
    (void)arg;
    int failures = 0;
    for (int i = 0; i < 2000; i++) {
        tp_error err;
        if (tp_shape_check(&tp_dynamodb_input_ExportTableToPointInTime, bad_export, &err) != -1 ||
            strstr(err.message, "regular expression pattern") == NULL)
            failures++;
        if (tp_shape_check(&tp_dynamodb_input_ExportTableToPointInTime, good_export, &err) != 0)
            failures++;
    }
    return failures;
}

static void concurrent_checks_agree(void **state)
{
    (void)state;
    thrd_t t[8];
    bad_export = cJSON_Parse("{\"TableArn\":\"x\",\"S3Bucket\":\"-bad-\"}");
    good_export = cJSON_Parse("{\"TableArn\":\"x\",\"S3Bucket\":\"good.bucket\"}");
    for (int i = 0; i < 8; i++)
        assert_int_equal(thrd_create(&t[i], check_many, NULL), thrd_success);
    for (int i = 0; i < 8; i++) {
        int res = -1;
        thrd_join(t[i], &res);
        assert_int_equal(res, 0);
    }
    cJSON_Delete(bad_export);
    cJSON_Delete(good_export);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_requests_pass),
        cmocka_unit_test(string_members),
        cmocka_unit_test(boolean_members),
        cmocka_unit_test(number_members),
        cmocka_unit_test(blob_members),
        cmocka_unit_test(collection_and_structure_members),
        cmocka_unit_test(first_bad_value_in_body_order_wins),
        cmocka_unit_test(missing_and_bad_table_names),
        cmocka_unit_test(too_long_names),
        cmocka_unit_test(numeric_ranges),
        cmocka_unit_test(nested_paths_and_enums),
        cmocka_unit_test(map_paths_keys_and_values),
        cmocka_unit_test(at_most_ten_errors),
        cmocka_unit_test(null_request_is_an_empty_body),
        cmocka_unit_test(java_patterns_translate),
        cmocka_unit_test(concurrent_checks_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
