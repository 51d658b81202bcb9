/* Unit tests: lambda/filter — FilterCriteria patterns compiled and matched
 * against event records, and the patterns Lambda refuses.
 *
 * The operator cases follow Lambda's "Filter rule syntax" table and the
 * EventBridge content-filtering page it defers to; the DynamoDB cases use
 * the record shape of seeds/000 (a real DynamoDB stream record). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "lambda/lambda.h"

/* Builds {"Filters":[{"Pattern":p}, ...]} from pattern texts. */
static cJSON *criteria_of(const char *const *patterns, size_t n)
{
    cJSON *c = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(c, "Filters");
    for (size_t i = 0; i < n; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "Pattern", patterns[i]);
        cJSON_AddItemToArray(list, f);
    }
    return c;
}

static esm_filter *compile1(const char *pattern, tp_error *err)
{
    cJSON *c = criteria_of(&pattern, 1);
    esm_filter *f = esm_filter_new(c, err);
    cJSON_Delete(c);
    return f;
}

typedef struct match_case {
    const char *pattern;
    const char *record;
    int want;
} match_case;

static const match_case match_cases[] = {
    /* exact values */
    {"{\"Name\":[\"Alice\"]}", "{\"Name\":\"Alice\"}", 1},
    {"{\"Name\":[\"Alice\"]}", "{\"Name\":\"alice\"}", 0},
    {"{\"Name\":[\"Alice\"]}", "{\"Other\":\"Alice\"}", 0},
    {"{\"LastName\":[\"\"]}", "{\"LastName\":\"\"}", 1},
    {"{\"LastName\":[\"\"]}", "{\"LastName\":\"x\"}", 0},
    {"{\"LastName\":[\"\"]}", "{\"LastName\":null}", 0},
    {"{\"UserID\":[null]}", "{\"UserID\":null}", 1},
    {"{\"UserID\":[null]}", "{\"UserID\":\"\"}", 0},
    {"{\"UserID\":[null]}", "{}", 0},
    {"{\"ok\":[true]}", "{\"ok\":true}", 1},
    {"{\"ok\":[true]}", "{\"ok\":false}", 0},
    {"{\"ok\":[true]}", "{\"ok\":\"true\"}", 0},
    {"{\"ok\":[false]}", "{\"ok\":false}", 1},
    {"{\"Price\":[100]}", "{\"Price\":100}", 1},
    {"{\"Price\":[100]}", "{\"Price\":100.0}", 1},
    {"{\"Price\":[100]}", "{\"Price\":101}", 0},
    {"{\"Price\":[100]}", "{\"Price\":\"100\"}", 0},
    {"{\"Price\":[\"100\"]}", "{\"Price\":100}", 0},
    /* OR inside a leaf */
    {"{\"PaymentType\":[\"Credit\",\"Debit\"]}", "{\"PaymentType\":\"Debit\"}", 1},
    {"{\"PaymentType\":[\"Credit\",\"Debit\"]}", "{\"PaymentType\":\"Cash\"}", 0},
    /* AND across keys */
    {"{\"Location\":[\"New York\"],\"Day\":[\"Monday\"]}",
     "{\"Location\":\"New York\",\"Day\":\"Monday\"}", 1},
    {"{\"Location\":[\"New York\"],\"Day\":[\"Monday\"]}",
     "{\"Location\":\"New York\",\"Day\":\"Tuesday\"}", 0},
    /* prefix / suffix / equals-ignore-case */
    {"{\"Region\":[{\"prefix\":\"us-\"}]}", "{\"Region\":\"us-east-1\"}", 1},
    {"{\"Region\":[{\"prefix\":\"us-\"}]}", "{\"Region\":\"eu-west-1\"}", 0},
    {"{\"Region\":[{\"prefix\":\"us-\"}]}", "{\"Region\":\"us\"}", 0},
    {"{\"Region\":[{\"prefix\":\"us-\"}]}", "{\"Region\":\"US-EAST-1\"}", 0},
    {"{\"Region\":[{\"prefix\":{\"equals-ignore-case\":\"us-\"}}]}", "{\"Region\":\"US-east-1\"}", 1},
    {"{\"Region\":[{\"prefix\":{\"equals-ignore-case\":\"us-\"}}]}", "{\"Region\":\"eu-east-1\"}", 0},
    {"{\"n\":[{\"prefix\":\"1\"}]}", "{\"n\":12}", 0},
    {"{\"FileName\":[{\"suffix\":\".png\"}]}", "{\"FileName\":\"a/b.png\"}", 1},
    {"{\"FileName\":[{\"suffix\":\".png\"}]}", "{\"FileName\":\"a/b.PNG\"}", 0},
    {"{\"FileName\":[{\"suffix\":\".png\"}]}", "{\"FileName\":\"png\"}", 0},
    {"{\"FileName\":[{\"suffix\":{\"equals-ignore-case\":\".png\"}}]}", "{\"FileName\":\"B.PNG\"}", 1},
    {"{\"Name\":[{\"equals-ignore-case\":\"alice\"}]}", "{\"Name\":\"ALICE\"}", 1},
    {"{\"Name\":[{\"equals-ignore-case\":\"alice\"}]}", "{\"Name\":\"alicia\"}", 0},
    {"{\"Name\":[{\"equals-ignore-case\":\"alice\"}]}", "{\"Name\":\"alic\"}", 0},
    /* numeric, boundaries included and excluded */
    {"{\"Price\":[{\"numeric\":[\"=\",100]}]}", "{\"Price\":100}", 1},
    {"{\"Price\":[{\"numeric\":[\"=\",100]}]}", "{\"Price\":100.5}", 0},
    {"{\"Price\":[{\"numeric\":[\"=\",100]}]}", "{\"Price\":\"100\"}", 0},
    {"{\"p\":[{\"numeric\":[\">\",10,\"<=\",20]}]}", "{\"p\":10}", 0},
    {"{\"p\":[{\"numeric\":[\">\",10,\"<=\",20]}]}", "{\"p\":10.0001}", 1},
    {"{\"p\":[{\"numeric\":[\">\",10,\"<=\",20]}]}", "{\"p\":20}", 1},
    {"{\"p\":[{\"numeric\":[\">\",10,\"<=\",20]}]}", "{\"p\":20.5}", 0},
    {"{\"p\":[{\"numeric\":[\">=\",10,\"<\",20]}]}", "{\"p\":10}", 1},
    {"{\"p\":[{\"numeric\":[\">=\",10,\"<\",20]}]}", "{\"p\":20}", 0},
    {"{\"p\":[{\"numeric\":[\"<\",0]}]}", "{\"p\":-0.5}", 1},
    {"{\"p\":[{\"numeric\":[\"<\",0]}]}", "{\"p\":0}", 0},
    {"{\"p\":[{\"numeric\":[\"<=\",0]}]}", "{\"p\":0}", 1},
    {"{\"p\":[{\"numeric\":[\">\",0]}]}", "{\"p\":1e3}", 1},
    {"{\"p\":[{\"numeric\":[\">\",0]}]}", "{}", 0},
    /* exists */
    {"{\"ProductName\":[{\"exists\":true}]}", "{\"ProductName\":\"x\"}", 1},
    {"{\"ProductName\":[{\"exists\":true}]}", "{\"ProductName\":null}", 1},
    {"{\"ProductName\":[{\"exists\":true}]}", "{}", 0},
    {"{\"ProductName\":[{\"exists\":false}]}", "{}", 1},
    {"{\"ProductName\":[{\"exists\":false}]}", "{\"ProductName\":\"x\"}", 0},
    {"{\"ProductName\":[{\"exists\":false}]}", "{\"ProductName\":[]}", 1},
    {"{\"a\":{\"b\":[{\"exists\":false}]}}", "{}", 1},
    {"{\"a\":{\"b\":[{\"exists\":false}]}}", "{\"a\":\"leaf\"}", 1},
    {"{\"a\":{\"b\":[{\"exists\":false}]}}", "{\"a\":{\"b\":1}}", 0},
    /* exists sees leaves only: an object is an intermediate node */
    {"{\"person\":{\"address\":[{\"exists\":true}]}}",
     "{\"person\":{\"address\":{\"city\":\"Anytown\"}}}", 0},
    {"{\"person\":{\"address\":[{\"exists\":false}]}}",
     "{\"person\":{\"address\":{\"city\":\"Anytown\"}}}", 1},
    /* anything-but: value, number, lists */
    {"{\"state\":[{\"anything-but\":\"initializing\"}]}", "{\"state\":\"running\"}", 1},
    {"{\"state\":[{\"anything-but\":\"initializing\"}]}", "{\"state\":\"initializing\"}", 0},
    {"{\"state\":[{\"anything-but\":\"initializing\"}]}", "{}", 0},
    {"{\"Weather\":[{\"anything-but\":[\"Raining\",\"Snowing\"]}]}", "{\"Weather\":\"Sunny\"}", 1},
    {"{\"Weather\":[{\"anything-but\":[\"Raining\",\"Snowing\"]}]}", "{\"Weather\":\"Snowing\"}", 0},
    {"{\"x\":[{\"anything-but\":123}]}", "{\"x\":124}", 1},
    {"{\"x\":[{\"anything-but\":123}]}", "{\"x\":123}", 0},
    {"{\"x\":[{\"anything-but\":[100,200]}]}", "{\"x\":200}", 0},
    {"{\"x\":[{\"anything-but\":[100,200]}]}", "{\"x\":300}", 1},
    {"{\"x\":[{\"anything-but\":[\"100\"]}]}", "{\"x\":100}", 1},
    /* nesting */
    {"{\"a\":{\"b\":{\"c\":[\"d\"]}}}", "{\"a\":{\"b\":{\"c\":\"d\",\"e\":1}}}", 1},
    {"{\"a\":{\"b\":{\"c\":[\"d\"]}}}", "{\"a\":{\"b\":{\"c\":\"x\"}}}", 0},
    {"{\"a\":{\"b\":{\"c\":[\"d\"]}}}", "{\"a\":{\"b\":\"d\"}}", 0},
    {"{\"a\":{\"b\":[\"d\"]}}", "{\"a\":{\"b\":{\"c\":\"d\"}}}", 0},
    /* record arrays: any element; an object pattern needs one element to hold all */
    {"{\"tags\":[\"red\"]}", "{\"tags\":[\"blue\",\"red\"]}", 1},
    {"{\"tags\":[\"red\"]}", "{\"tags\":[\"blue\",[\"red\"]]}", 1},
    {"{\"tags\":[\"red\"]}", "{\"tags\":[\"blue\"]}", 0},
    {"{\"tags\":[{\"prefix\":\"gr\"}]}", "{\"tags\":[\"blue\",\"green\"]}", 1},
    {"{\"tags\":[{\"anything-but\":\"blue\"}]}", "{\"tags\":[\"blue\",\"green\"]}", 1},
    {"{\"tags\":[{\"anything-but\":\"blue\"}]}", "{\"tags\":[\"blue\"]}", 0},
    {"{\"n\":[{\"numeric\":[\">\",5]}]}", "{\"n\":[1,2,9]}", 1},
    {"{\"items\":{\"k\":[\"b\"]}}", "{\"items\":[{\"k\":\"a\"},{\"k\":\"b\"}]}", 1},
    {"{\"items\":{\"k\":[\"c\"]}}", "{\"items\":[{\"k\":\"a\"},{\"k\":\"b\"}]}", 0},
    {"{\"items\":{\"k\":[\"a\"],\"v\":[2]}}", "{\"items\":[{\"k\":\"a\",\"v\":1},{\"k\":\"b\",\"v\":2}]}", 0},
    {"{\"items\":{\"k\":[\"b\"],\"v\":[2]}}", "{\"items\":[{\"k\":\"a\",\"v\":1},{\"k\":\"b\",\"v\":2}]}", 1},
    /* $or */
    {"{\"$or\":[{\"Location\":[\"New York\"]},{\"Day\":[\"Monday\"]}]}", "{\"Day\":\"Monday\"}", 1},
    {"{\"$or\":[{\"Location\":[\"New York\"]},{\"Day\":[\"Monday\"]}]}",
     "{\"Location\":\"New York\"}", 1},
    {"{\"$or\":[{\"Location\":[\"New York\"]},{\"Day\":[\"Monday\"]}]}",
     "{\"Location\":\"Paris\",\"Day\":\"Friday\"}", 0},
    {"{\"source\":[\"s\"],\"$or\":[{\"a\":[1]},{\"b\":[2]}]}", "{\"source\":\"s\",\"b\":2}", 1},
    {"{\"source\":[\"s\"],\"$or\":[{\"a\":[1]},{\"b\":[2]}]}", "{\"source\":\"t\",\"b\":2}", 0},
    {"{\"detail\":{\"$or\":[{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]},{\"d\":[{\"numeric\":[\"<\",10]}]}]}}",
     "{\"detail\":{\"d\":3}}", 1},
    {"{\"detail\":{\"$or\":[{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]},{\"d\":[{\"numeric\":[\"<\",10]}]}]}}",
     "{\"detail\":{\"c\":6,\"d\":10}}", 0},
    {"{\"$or\":[{\"a\":[1]},{\"$or\":[{\"b\":[2]},{\"c\":[3]}]}]}", "{\"c\":3}", 1},
    {"{\"$or\":[{\"a\":[1]},{\"b\":[{\"exists\":false}]}]}", "{\"b\":1}", 0},
    {"{\"$or\":[{\"a\":[1]},{\"b\":[{\"exists\":false}]}]}", "{}", 1},
    /* Lambda's documented AND of two "dynamodb" keys: both apply */
    {"{\"d\":{\"New\":[\"P\"]},\"d\":{\"Old\":[\"T\"]}}", "{\"d\":{\"New\":\"P\",\"Old\":\"T\"}}", 1},
    {"{\"d\":{\"New\":[\"P\"]},\"d\":{\"Old\":[\"T\"]}}", "{\"d\":{\"New\":\"P\",\"Old\":\"X\"}}", 0},
};

static void operators_match_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++) {
        const match_case *c = &match_cases[i];
        tp_error err;
        tp_error_clear(&err);
        esm_filter *f = compile1(c->pattern, &err);
        if (!f)
            fail_msg("case %zu: %s did not compile: %s", i, c->pattern, err.message);
        cJSON *rec = cJSON_Parse(c->record);
        assert_non_null(rec);
        int got = esm_filter_match(f, rec);
        if (got != c->want)
            fail_msg("case %zu: %s against %s: got %d, want %d", i, c->pattern, c->record, got,
                     c->want);
        cJSON_Delete(rec);
        esm_filter_free(f);
    }
}

/* Patterns Lambda refuses; every one is InvalidParameterValueException
 * "Invalid filter pattern definition." (AWS's message, as recorded by
 * LocalStack's AWS-validated tests and in CloudFormation/CDK reports). */
static const char *const invalid_patterns[] = {
    "",
    "not json",
    "{\"a\":[\"x\"]",                          /* truncated */
    "{\"a\":[\"x\"]} trailing",
    "null",
    "[]",
    "\"text\"",
    "42",
    "{}",
    "{\"a\":{}}",
    "{\"a\":[]}",
    "{\"a\":\"x\"}",                           /* a leaf must be an array */
    "{\"a\":5}",
    "{\"a\":null}",
    "{\"a\":[[\"x\"]]}",                       /* nested array in a leaf */
    "{\"a\":[{}]}",
    "{\"a\":[{\"prefix\":\"x\",\"suffix\":\"y\"}]}",   /* one operator per object */
    "{\"a\":[{\"unknown\":\"x\"}]}",
    "{\"a\":[{\"Prefix\":\"x\"}]}",            /* operators are case-sensitive */
    "{\"a\":[{\"prefix\":5}]}",
    "{\"a\":[{\"prefix\":{\"equals-ignore-case\":5}}]}",
    "{\"a\":[{\"prefix\":{\"other\":\"x\"}}]}",
    "{\"a\":[{\"suffix\":[\"x\"]}]}",
    "{\"a\":[{\"equals-ignore-case\":1}]}",
    "{\"a\":[{\"exists\":\"true\"}]}",
    "{\"a\":[{\"exists\":1}]}",
    "{\"a\":[{\"numeric\":5}]}",
    "{\"a\":[{\"numeric\":[]}]}",
    "{\"a\":[{\"numeric\":[\">\"]}]}",
    "{\"a\":[{\"numeric\":[\">\",\"5\"]}]}",
    "{\"a\":[{\"numeric\":[\"==\",5]}]}",
    "{\"a\":[{\"numeric\":[\"!=\",5]}]}",
    "{\"a\":[{\"numeric\":[\"=\",5,\"<\",6]}]}",
    "{\"a\":[{\"numeric\":[\"<\",5,\">\",1]}]}",
    "{\"a\":[{\"numeric\":[\">\",5,\">\",6]}]}",
    "{\"a\":[{\"numeric\":[\">\",5,\"<\",6,\"<\",7]}]}",
    "{\"a\":[{\"numeric\":[\">\",6,\"<\",5]}]}",   /* empty range */
    "{\"a\":[{\"numeric\":[\">\",5,\"<=\",5]}]}",
    "{\"a\":[{\"anything-but\":[]}]}",
    "{\"a\":[{\"anything-but\":[\"x\",1]}]}",
    "{\"a\":[{\"anything-but\":null}]}",
    "{\"a\":[{\"anything-but\":true}]}",
    "{\"a\":[{\"anything-but\":[null]}]}",
    "{\"a\":[{\"anything-but\":{\"prefix\":\"us-\"}}]}",   /* not supported by Lambda */
    "{\"a\":[{\"anything-but\":{\"suffix\":\".png\"}}]}",
    "{\"a\":[{\"anything-but\":{\"equals-ignore-case\":\"x\"}}]}",
    "{\"a\":[{\"wildcard\":\"*.png\"}]}",
    "{\"a\":[{\"cidr\":\"10.0.0.0/24\"}]}",
    "{\"$or\":[{\"a\":[1]}]}",                 /* at least two alternatives */
    "{\"$or\":{\"a\":[1]}}",
    "{\"$or\":[{\"a\":[1]},\"b\"]}",
    "{\"$or\":[{\"a\":[1]},{}]}",
};

static void invalid_patterns_fail_with_aws_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof invalid_patterns / sizeof invalid_patterns[0]; i++) {
        tp_error err;
        tp_error_clear(&err);
        esm_filter *f = compile1(invalid_patterns[i], &err);
        if (f)
            fail_msg("case %zu: %s compiled", i, invalid_patterns[i]);
        assert_true(tp_error_is(&err, TP_ERR_LAMBDA_INVALID_PARAMETER));
        assert_string_equal(err.code, "InvalidParameterValueException");
        assert_int_equal(err.status, 400);
        assert_string_equal(err.message, "Invalid filter pattern definition.");
    }
}

static void criteria_shapes_and_limits(void **state)
{
    (void)state;
    tp_error err;
    cJSON *rec = cJSON_Parse("{\"a\":1}");

    /* no criteria, no Filters, empty Filters: everything passes */
    esm_filter *f = esm_filter_new(NULL, &err);
    assert_non_null(f);
    assert_int_equal(esm_filter_match(f, rec), 1);
    esm_filter_free(f);
    assert_int_equal(esm_filter_match(NULL, rec), 1);
    cJSON *c = cJSON_Parse("{}");
    f = esm_filter_new(c, &err);
    assert_non_null(f);
    assert_int_equal(esm_filter_match(f, rec), 1);
    esm_filter_free(f);
    cJSON_Delete(c);
    c = cJSON_Parse("{\"Filters\":[]}");
    f = esm_filter_new(c, &err);
    assert_non_null(f);
    assert_int_equal(esm_filter_match(f, rec), 1);
    esm_filter_free(f);
    cJSON_Delete(c);

    /* a filter without a Pattern */
    c = cJSON_Parse("{\"Filters\":[{}]}");
    tp_error_clear(&err);
    assert_null(esm_filter_new(c, &err));
    assert_string_equal(err.message, "Invalid filter pattern definition.");
    cJSON_Delete(c);

    /* five filters are allowed, six are not */
    const char *six[] = {"{\"a\":[1]}", "{\"a\":[2]}", "{\"a\":[3]}",
                         "{\"a\":[4]}", "{\"a\":[5]}", "{\"a\":[6]}"};
    c = criteria_of(six, 5);
    f = esm_filter_new(c, &err);
    assert_non_null(f);
    esm_filter_free(f);
    cJSON_Delete(c);
    c = criteria_of(six, 6);
    tp_error_clear(&err);
    assert_null(esm_filter_new(c, &err));
    assert_true(tp_error_is(&err, TP_ERR_LAMBDA_INVALID_PARAMETER));
    cJSON_Delete(c);

    /* a valid pattern after an invalid one does not leak or crash */
    const char *mixed[] = {"{\"a\":[1]}", "{\"a\":[}"};
    c = criteria_of(mixed, 2);
    assert_null(esm_filter_new(c, &err));
    cJSON_Delete(c);

    /* Pattern length: 4096 characters pass, 4097 do not */
    static char big[5000];
    const char *head = "{\"k\":[\"", *tail = "\"]}";
    size_t fill = 4096 - strlen(head) - strlen(tail);
    strcpy(big, head);
    memset(big + strlen(head), 'x', fill);
    strcpy(big + strlen(head) + fill, tail);
    assert_int_equal(strlen(big), 4096);
    f = compile1(big, &err);
    assert_non_null(f);
    esm_filter_free(f);
    memmove(big + strlen(head) + 1, big + strlen(head), strlen(big + strlen(head)) + 1);
    assert_int_equal(strlen(big), 4097);
    tp_error_clear(&err);
    assert_null(compile1(big, &err));
    assert_string_equal(err.message, "Invalid filter pattern definition.");
    cJSON_Delete(rec);
}

static void or_across_filters(void **state)
{
    (void)state;
    const char *pats[] = {"{\"eventName\":[\"INSERT\"]}",
                          "{\"eventName\":[\"MODIFY\"],\"dynamodb\":{\"NewImage\":{\"s\":{\"S\":[\"x\"]}}}}"};
    cJSON *c = criteria_of(pats, 2);
    tp_error err;
    esm_filter *f = esm_filter_new(c, &err);
    assert_non_null(f);
    static const struct {
        const char *rec;
        int want;
    } recs[] = {
        {"{\"eventName\":\"INSERT\"}", 1},
        {"{\"eventName\":\"MODIFY\",\"dynamodb\":{\"NewImage\":{\"s\":{\"S\":\"x\"}}}}", 1},
        {"{\"eventName\":\"MODIFY\",\"dynamodb\":{\"NewImage\":{\"s\":{\"S\":\"y\"}}}}", 0},
        {"{\"eventName\":\"REMOVE\"}", 0},
    };
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
        cJSON *r = cJSON_Parse(recs[i].rec);
        assert_int_equal(esm_filter_match(f, r), recs[i].want);
        cJSON_Delete(r);
    }
    esm_filter_free(f);
    cJSON_Delete(c);
}

/* The first record of seeds/000: a DynamoDB stream MODIFY on table quotes. */
static const char SEED_RECORD[] =
    "{\"eventID\":\"7b88d38ec9ae44dceb8a384cb2173b23\",\"eventName\":\"MODIFY\","
    "\"eventVersion\":\"1.1\",\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"us-west-2\","
    "\"dynamodb\":{\"ApproximateCreationDateTime\":1644014501,"
    "\"Keys\":{\"symbol\":{\"S\":\"CEI\"}},"
    "\"NewImage\":{\"symbol\":{\"S\":\"CEI\"},\"price\":{\"N\":\"139.2675643770462\"},"
    "\"ts\":{\"N\":\"1644014501478\"}},"
    "\"SequenceNumber\":\"238800000000027629714443\",\"SizeBytes\":43,"
    "\"StreamViewType\":\"NEW_IMAGE\"},"
    "\"eventSourceARN\":\"arn:aws:dynamodb:us-west-2:nnnnnnnnnnnn:table/quotes/stream/"
    "2022-02-04T21:35:20.029\"}";

static const match_case ddb_cases[] = {
    {"{\"eventName\":[\"MODIFY\"]}", NULL, 1},
    {"{\"eventName\":[\"INSERT\",\"REMOVE\"]}", NULL, 0},
    {"{\"eventSource\":[\"aws:dynamodb\"],\"awsRegion\":[{\"prefix\":\"us-\"}]}", NULL, 1},
    {"{\"dynamodb\":{\"Keys\":{\"symbol\":{\"S\":[\"CEI\"]}}}}", NULL, 1},
    {"{\"dynamodb\":{\"Keys\":{\"symbol\":{\"S\":[\"DWAC\"]}}}}", NULL, 0},
    {"{\"dynamodb\":{\"NewImage\":{\"symbol\":{\"S\":[{\"anything-but\":[\"DWAC\",\"GME\"]}]}}}}",
     NULL, 1},
    /* DynamoDB numbers are strings in the record: string patterns match them */
    {"{\"dynamodb\":{\"NewImage\":{\"ts\":{\"N\":[\"1644014501478\"]}}}}", NULL, 1},
    {"{\"dynamodb\":{\"NewImage\":{\"price\":{\"N\":[{\"prefix\":\"139.\"}]}}}}", NULL, 1},
    /* ... and numeric ones never do */
    {"{\"dynamodb\":{\"NewImage\":{\"ts\":{\"N\":[1644014501478]}}}}", NULL, 0},
    {"{\"dynamodb\":{\"NewImage\":{\"price\":{\"N\":[{\"numeric\":[\">\",100]}]}}}}", NULL, 0},
    /* the record's own JSON numbers do */
    {"{\"dynamodb\":{\"SizeBytes\":[{\"numeric\":[\">\",40,\"<=\",43]}]}}", NULL, 1},
    {"{\"dynamodb\":{\"ApproximateCreationDateTime\":[1644014501]}}", NULL, 1},
    {"{\"dynamodb\":{\"OldImage\":{\"symbol\":{\"S\":[{\"exists\":false}]}}}}", NULL, 1},
    {"{\"dynamodb\":{\"OldImage\":{\"symbol\":{\"S\":[{\"exists\":true}]}}}}", NULL, 0},
    {"{\"dynamodb\":{\"NewImage\":{\"symbol\":[{\"exists\":true}]}}}", NULL, 0},
    {"{\"dynamodb\":{\"NewImage\":{\"symbol\":{\"S\":[{\"exists\":true}]}}}}", NULL, 1},
    {"{\"eventName\":[\"MODIFY\"],\"dynamodb\":{\"StreamViewType\":[{\"suffix\":\"_IMAGE\"}],"
     "\"NewImage\":{\"symbol\":{\"S\":[{\"equals-ignore-case\":\"cei\"}]}}}}", NULL, 1},
    {"{\"$or\":[{\"eventName\":[\"INSERT\"]},{\"dynamodb\":{\"Keys\":{\"symbol\":{\"S\":[\"CEI\"]}}}}]}",
     NULL, 1},
};

static void dynamodb_stream_record(void **state)
{
    (void)state;
    cJSON *rec = cJSON_Parse(SEED_RECORD);
    assert_non_null(rec);
    for (size_t i = 0; i < sizeof ddb_cases / sizeof ddb_cases[0]; i++) {
        tp_error err;
        tp_error_clear(&err);
        esm_filter *f = compile1(ddb_cases[i].pattern, &err);
        if (!f)
            fail_msg("case %zu: %s: %s", i, ddb_cases[i].pattern, err.message);
        if (esm_filter_match(f, rec) != ddb_cases[i].want)
            fail_msg("case %zu: %s: want %d", i, ddb_cases[i].pattern, ddb_cases[i].want);
        esm_filter_free(f);
    }

    /* The status example: INSERTs whose NewImage.status is "active". */
    tp_error err;
    esm_filter *f = compile1("{\"eventName\":[\"INSERT\"],"
                             "\"dynamodb\":{\"NewImage\":{\"status\":{\"S\":[\"active\"]}}}}",
                             &err);
    assert_non_null(f);
    cJSON *ins = cJSON_Parse("{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"id\":{\"S\":\"1\"}},"
                             "\"NewImage\":{\"id\":{\"S\":\"1\"},\"status\":{\"S\":\"active\"}}}}");
    cJSON *other = cJSON_Parse("{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"id\":{\"S\":\"2\"}},"
                               "\"NewImage\":{\"id\":{\"S\":\"2\"},\"status\":{\"S\":\"closed\"}}}}");
    assert_int_equal(esm_filter_match(f, ins), 1);
    assert_int_equal(esm_filter_match(f, other), 0);
    assert_int_equal(esm_filter_match(f, rec), 0);
    cJSON_Delete(ins);
    cJSON_Delete(other);
    esm_filter_free(f);
    cJSON_Delete(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(operators_match_table),
        cmocka_unit_test(invalid_patterns_fail_with_aws_error),
        cmocka_unit_test(criteria_shapes_and_limits),
        cmocka_unit_test(or_across_filters),
        cmocka_unit_test(dynamodb_stream_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
