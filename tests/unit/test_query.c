/* Unit tests: http/query — SQS's query protocol: a form -> the JSON
 * protocol's request tree; an answer -> SQS's XML; errors -> the
 * <ErrorResponse> with the query code. Uses the generated SQS tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "http/query.h"

typedef struct decode_case {
    const char *form;
    const char *tree;   /* compact JSON of the request tree; NULL: no such action */
} decode_case;

static const decode_case decode_cases[] = {
    /* what Debian's boto3 1.26 sends for SendMessage with two attributes */
    {"Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2F127.0.0.1%3A4566%2F123456789012"
     "%2Fq&MessageBody=hi+%26+%3Cx%3E&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType="
     "String&MessageAttribute.1.Value.StringValue=v&MessageAttribute.2.Name=b&MessageAttribute.2."
     "Value.DataType=Binary&MessageAttribute.2.Value.BinaryValue=AAE%3D",
     "{\"QueueUrl\":\"http://127.0.0.1:4566/123456789012/q\",\"MessageBody\":\"hi & <x>\","
     "\"MessageAttributes\":{\"a\":{\"StringValue\":\"v\",\"DataType\":\"String\"},"
     "\"b\":{\"BinaryValue\":\"AAE=\",\"DataType\":\"Binary\"}}}"},
    /* and the AWS CLI v2 for ReceiveMessage; integers become numbers */
    {"Action=ReceiveMessage&Version=2012-11-05&QueueUrl=u&AttributeName.1=All&"
     "MessageAttributeName.1=All&MessageAttributeName.2=a.*&WaitTimeSeconds=2&MaxNumberOfMessages=10",
     "{\"QueueUrl\":\"u\",\"AttributeNames\":[\"All\"],\"MessageAttributeNames\":[\"All\",\"a.*\"],"
     "\"MaxNumberOfMessages\":10,\"WaitTimeSeconds\":2}"},
    /* a newer member named the query model's way */
    {"Action=ReceiveMessage&QueueUrl=u&MessageSystemAttributeName.1=SentTimestamp",
     "{\"QueueUrl\":\"u\",\"MessageSystemAttributeNames\":[\"SentTimestamp\"]}"},
    /* indexes in numeric order, not key order; gaps are fine */
    {"Action=DeleteMessageBatch&QueueUrl=u&DeleteMessageBatchRequestEntry.10.Id=j&"
     "DeleteMessageBatchRequestEntry.10.ReceiptHandle=r10&DeleteMessageBatchRequestEntry.2.Id=b&"
     "DeleteMessageBatchRequestEntry.2.ReceiptHandle=r2",
     "{\"QueueUrl\":\"u\",\"Entries\":[{\"Id\":\"b\",\"ReceiptHandle\":\"r2\"},"
     "{\"Id\":\"j\",\"ReceiptHandle\":\"r10\"}]}"},
    /* batch entries with nested flattened maps */
    {"Action=SendMessageBatch&QueueUrl=u&SendMessageBatchRequestEntry.1.Id=a&"
     "SendMessageBatchRequestEntry.1.MessageBody=x&SendMessageBatchRequestEntry.1.DelaySeconds=3&"
     "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n&"
     "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=Number&"
     "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=1.5&"
     "SendMessageBatchRequestEntry.1.MessageSystemAttribute.1.Name=AWSTraceHeader&"
     "SendMessageBatchRequestEntry.1.MessageSystemAttribute.1.Value.DataType=String&"
     "SendMessageBatchRequestEntry.1.MessageSystemAttribute.1.Value.StringValue=Root%3D1",
     "{\"QueueUrl\":\"u\",\"Entries\":[{\"Id\":\"a\",\"MessageBody\":\"x\",\"DelaySeconds\":3,"
     "\"MessageAttributes\":{\"n\":{\"StringValue\":\"1.5\",\"DataType\":\"Number\"}},"
     "\"MessageSystemAttributes\":{\"AWSTraceHeader\":{\"StringValue\":\"Root=1\","
     "\"DataType\":\"String\"}}}]}"},
    /* queue attributes and tags: Attribute.N.Name/Value, Tag.N.Key/Value */
    {"Action=CreateQueue&QueueName=q.fifo&Attribute.1.Name=FifoQueue&Attribute.1.Value=true&"
     "Attribute.2.Name=DelaySeconds&Attribute.2.Value=0&Tag.1.Key=team&Tag.1.Value=a+b",
     "{\"QueueName\":\"q.fifo\",\"Attributes\":{\"FifoQueue\":\"true\",\"DelaySeconds\":\"0\"},"
     "\"tags\":{\"team\":\"a b\"}}"},
    {"Action=UntagQueue&QueueUrl=u&TagKey.1=a&TagKey.2=b",
     "{\"QueueUrl\":\"u\",\"TagKeys\":[\"a\",\"b\"]}"},
    {"Action=AddPermission&QueueUrl=u&Label=l&AWSAccountId.1=111122223333&ActionName.1=SendMessage",
     "{\"QueueUrl\":\"u\",\"Label\":\"l\",\"AWSAccountIds\":[\"111122223333\"],"
     "\"Actions\":[\"SendMessage\"]}"},
    /* a string list inside a message attribute */
    {"Action=SendMessage&QueueUrl=u&MessageBody=b&MessageAttribute.1.Name=l&"
     "MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringListValue.1=x",
     "{\"QueueUrl\":\"u\",\"MessageBody\":\"b\",\"MessageAttributes\":{\"l\":{"
     "\"StringListValues\":[\"x\"],\"DataType\":\"String\"}}}"},
    /* an empty list travels as "Name=" */
    {"Action=GetQueueAttributes&QueueUrl=u&AttributeName=",
     "{\"QueueUrl\":\"u\",\"AttributeNames\":[]}"},
    /* not a number: left as text for the action's validation; unknown
     * fields are ignored; the first of a repeated key wins */
    {"Action=ReceiveMessage&QueueUrl=u&QueueUrl=v&MaxNumberOfMessages=ten&Bogus=1",
     "{\"QueueUrl\":\"u\",\"MaxNumberOfMessages\":\"ten\"}"},
    {"Action=ListQueues&QueueNamePrefix=a&MaxResults=5&NextToken=t",
     "{\"QueueNamePrefix\":\"a\",\"NextToken\":\"t\",\"MaxResults\":5}"},
    {"Action=StartMessageMoveTask&SourceArn=arn%3Aaws%3Asqs%3Aus-east-1%3A1%3Adlq&"
     "MaxNumberOfMessagesPerSecond=5",
     "{\"SourceArn\":\"arn:aws:sqs:us-east-1:1:dlq\",\"MaxNumberOfMessagesPerSecond\":5}"},
    /* %00 arrives as core/json's in-process form of U+0000 */
    {"Action=SendMessage&QueueUrl=u&MessageBody=a%00b", "{\"QueueUrl\":\"u\",\"MessageBody\":"
     "\"a\xC0\x80" "b\"}"},
    {"Action=Frobnicate", NULL},
    {"Version=2012-11-05", NULL},
};

static void test_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof decode_cases / sizeof decode_cases[0]; i++) {
        const decode_case *c = &decode_cases[i];
        tp_qform f;
        tp_qform_init(&f);
        assert_int_equal(tp_qform_parse(&f, c->form, strlen(c->form)), 0);
        const tp_qop *op = tp_query_find_op(&tp_sqs_query_api, tp_qform_get(&f, "Action"));
        if (!c->tree) {
            assert_null(op);
            tp_qform_free(&f);
            continue;
        }
        assert_non_null(op);
        cJSON *tree = tp_query_decode(op, &f);
        assert_non_null(tree);
        char *got = cJSON_PrintUnformatted(tree);
        if (strcmp(got, c->tree) != 0)
            print_error("case %zu:\n got  %s\n want %s\n", i, got, c->tree);
        assert_string_equal(got, c->tree);
        free(got);
        cJSON_Delete(tree);
        tp_qform_free(&f);
    }
}

typedef struct encode_case {
    const char *op;
    const char *out;   /* the action's answer; NULL: none */
    const char *xml;   /* between the root's start tag and <ResponseMetadata> */
} encode_case;

static const encode_case encode_cases[] = {
    {"SendMessage", "{\"MD5OfMessageBody\":\"m\",\"MessageId\":\"id\"}",
     /* the model's member order, as the API reference's example has it */
     "<SendMessageResult><MD5OfMessageBody>m</MD5OfMessageBody><MessageId>id</MessageId>"
     "</SendMessageResult>"},
    {"DeleteMessage", NULL, ""},
    {"DeleteQueue", "{}", ""},
    {"ReceiveMessage", "{}", "<ReceiveMessageResult/>"},
    {"ReceiveMessage", "{\"Messages\":[]}", "<ReceiveMessageResult/>"},
    {"ReceiveMessage",
     "{\"Messages\":[{\"MessageId\":\"1\",\"ReceiptHandle\":\"r\",\"MD5OfBody\":\"m\","
     "\"Body\":\"<a>&\\\"'\\r\\n\",\"Attributes\":{\"SentTimestamp\":\"5\"},"
     "\"MessageAttributes\":{\"k\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAE=\"}}}]}",
     "<ReceiveMessageResult><Message><MessageId>1</MessageId><ReceiptHandle>r</ReceiptHandle>"
     "<MD5OfBody>m</MD5OfBody><Body>&lt;a&gt;&amp;&quot;&apos;&#xD;\n</Body>"
     "<Attribute><Name>SentTimestamp</Name><Value>5</Value></Attribute>"
     "<MessageAttribute><Name>k</Name><Value><BinaryValue>AAE=</BinaryValue>"
     "<DataType>Binary</DataType></Value></MessageAttribute></Message></ReceiveMessageResult>"},
    {"GetQueueAttributes", "{\"Attributes\":{\"DelaySeconds\":\"0\",\"QueueArn\":\"a\"}}",
     "<GetQueueAttributesResult><Attribute><Name>DelaySeconds</Name><Value>0</Value></Attribute>"
     "<Attribute><Name>QueueArn</Name><Value>a</Value></Attribute></GetQueueAttributesResult>"},
    {"ListQueues", "{\"QueueUrls\":[\"u1\",\"u2\"],\"NextToken\":\"t\"}",
     "<ListQueuesResult><QueueUrl>u1</QueueUrl><QueueUrl>u2</QueueUrl><NextToken>t</NextToken>"
     "</ListQueuesResult>"},
    {"ListQueueTags", "{\"Tags\":{\"a\":\"b\"}}",
     "<ListQueueTagsResult><Tag><Key>a</Key><Value>b</Value></Tag></ListQueueTagsResult>"},
    {"SendMessageBatch",
     "{\"Successful\":[{\"Id\":\"a\",\"MessageId\":\"m\",\"MD5OfMessageBody\":\"x\"}],"
     "\"Failed\":[{\"Id\":\"b\",\"SenderFault\":true,\"Code\":\"InvalidParameterValue\","
     "\"Message\":\"no\"}]}",
     "<SendMessageBatchResult><SendMessageBatchResultEntry><Id>a</Id><MessageId>m</MessageId>"
     "<MD5OfMessageBody>x</MD5OfMessageBody></SendMessageBatchResultEntry>"
     "<BatchResultErrorEntry><Id>b</Id><SenderFault>true</SenderFault>"
     "<Code>InvalidParameterValue</Code><Message>no</Message></BatchResultErrorEntry>"
     "</SendMessageBatchResult>"},
    {"ListMessageMoveTasks",
     "{\"Results\":[{\"TaskHandle\":\"h\",\"ApproximateNumberOfMessagesMoved\":3,"
     "\"StartedTimestamp\":1700000000000}]}",
     "<ListMessageMoveTasksResult><ListMessageMoveTasksResultEntry><TaskHandle>h</TaskHandle>"
     "<ApproximateNumberOfMessagesMoved>3</ApproximateNumberOfMessagesMoved>"
     "<StartedTimestamp>1700000000000</StartedTimestamp></ListMessageMoveTasksResultEntry>"
     "</ListMessageMoveTasksResult>"},
};

static void test_encode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof encode_cases / sizeof encode_cases[0]; i++) {
        const encode_case *c = &encode_cases[i];
        const tp_qop *op = tp_query_find_op(&tp_sqs_query_api, c->op);
        assert_non_null(op);
        cJSON *out = c->out ? tp_json_parse(c->out, strlen(c->out)) : NULL;
        if (c->out)
            assert_non_null(out);
        tp_buf b;
        tp_buf_init(&b);
        assert_int_equal(tp_query_encode(&tp_sqs_query_api, op, out, "rid-1", &b), 0);
        char want[4096];
        snprintf(want, sizeof want,
                 "<?xml version=\"1.0\"?><%sResponse xmlns=\"http://queue.amazonaws.com/doc/"
                 "2012-11-05/\">%s<ResponseMetadata><RequestId>rid-1</RequestId>"
                 "</ResponseMetadata></%sResponse>",
                 c->op, c->xml, c->op);
        if (strcmp(b.data, want) != 0)
            print_error("case %zu:\n got  %s\n want %s\n", i, b.data, want);
        assert_string_equal(b.data, want);
        tp_buf_free(&b);
        cJSON_Delete(out);
    }
}

typedef struct error_case {
    const char *code;
    int status;
    const char *message;
    const char *type, *query_code;
    const char *query_message;   /* NULL: the message as given */
} error_case;

static const error_case error_cases[] = {
    /* the one message the query protocol words its own way */
    {"QueueDoesNotExist", 400, "The specified queue does not exist.", "Sender",
     "AWS.SimpleQueueService.NonExistentQueue",
     "The specified queue does not exist for this wsdl version."},
    {"QueueDoesNotExist", 400, "something else", "Sender",
     "AWS.SimpleQueueService.NonExistentQueue", NULL},
    {"QueueNameExists", 400, "m", "Sender", "QueueAlreadyExists", NULL},
    {"PurgeQueueInProgress", 403, "m", "Sender", "AWS.SimpleQueueService.PurgeQueueInProgress", NULL},
    {"TooManyEntriesInBatchRequest", 400, "m", "Sender",
     "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", NULL},
    {"ReceiptHandleIsInvalid", 404, "m", "Sender", "ReceiptHandleIsInvalid", NULL},
    /* generic codes travel as themselves */
    {"InvalidParameterValue", 400, "Value <x> & more", "Sender", "InvalidParameterValue", NULL},
    {"MissingParameter", 400, "m", "Sender", "MissingParameter", NULL},
    {"InternalFailure", 500, "m", "Receiver", "InternalFailure", NULL},
    /* the front end's, in the query protocol's spelling */
    {"MissingAuthenticationTokenException", 403, "Request is missing Authentication Token",
     "Sender", "MissingAuthenticationToken", NULL},
    {"IncompleteSignatureException", 400, "m", "Sender", "IncompleteSignature", NULL},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const error_case *c = &error_cases[i];
        tp_error err;
        tp_fail_raw(&err, c->status, c->code, "%s", c->message);
        const char *qc;
        int sender;
        tp_query_error_code(&tp_sqs_query_api, &err, &qc, &sender);
        assert_string_equal(qc, c->query_code);
        assert_int_equal(sender, strcmp(c->type, "Sender") == 0);
        tp_buf b;
        tp_buf_init(&b);
        assert_int_equal(tp_query_error(&tp_sqs_query_api, &err, "rid", &b), 0);
        tp_buf esc;
        tp_buf_init(&esc);
        tp_query_xml_escape(&esc, c->query_message ? c->query_message : c->message);
        char want[1024];
        snprintf(want, sizeof want,
                 "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/"
                 "2012-11-05/\"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message>"
                 "<Detail/></Error><RequestId>rid</RequestId></ErrorResponse>",
                 c->type, c->query_code, esc.data);
        assert_string_equal(b.data, want);
        tp_buf_free(&b);
        tp_buf_free(&esc);
    }
}

static void test_escape(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"plain", "plain"},
        {"a&b<c>d\"e'f", "a&amp;b&lt;c&gt;d&quot;e&apos;f"},
        {"cr\r\nlf\ttab", "cr&#xD;\nlf\ttab"},
        {"\xE2\x82\xAC \xF0\x9F\x98\x80", "\xE2\x82\xAC \xF0\x9F\x98\x80"},   /* UTF-8 as is */
        {"nul\xC0\x80here", "nulhere"},   /* U+0000 has no XML form */
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tp_buf b;
        tp_buf_init(&b);
        tp_query_xml_escape(&b, cases[i][0]);
        assert_string_equal(b.data ? b.data : "", cases[i][1]);
        tp_buf_free(&b);
    }
}

/* Every operation of the current model has a row, each input member a
 * wire name, and the error table names the model's error shapes. */
static void test_tables(void **state)
{
    (void)state;
    static const char *const ops[] = {
        "AddPermission", "CancelMessageMoveTask", "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch", "CreateQueue", "DeleteMessage", "DeleteMessageBatch",
        "DeleteQueue", "GetQueueAttributes", "GetQueueUrl", "ListDeadLetterSourceQueues",
        "ListMessageMoveTasks", "ListQueueTags", "ListQueues", "PurgeQueue", "ReceiveMessage",
        "RemovePermission", "SendMessage", "SendMessageBatch", "SetQueueAttributes",
        "StartMessageMoveTask", "TagQueue", "UntagQueue"};
    assert_int_equal(tp_sqs_query_api.nops, sizeof ops / sizeof ops[0]);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        const tp_qop *op = tp_query_find_op(&tp_sqs_query_api, ops[i]);
        assert_non_null(op);
        assert_non_null(op->input);
        for (size_t k = 0; k < op->input->nmembers; k++)
            assert_non_null(op->input->members[k].wire);
        if (op->output)
            assert_non_null(op->result);
    }
    assert_true(tp_sqs_query_api.nerrors >= 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode), cmocka_unit_test(test_encode),
        cmocka_unit_test(test_errors), cmocka_unit_test(test_escape),
        cmocka_unit_test(test_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
