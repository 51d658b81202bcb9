"""SQS event source mappings through real clients: boto3's `sqs` and
`lambda` clients against tidepool, on the virtual clock (both pythons: the
image's boto3 speaks SQS's JSON protocol, Debian's the query protocol).

A queue, a function (the compiled-in "echo" handler) and a mapping made
with the clients; the event the function got is read back from
/_tidepool/invocations: Lambda's SQS event, in AWS's member order. Messages
are deleted on success, stay on the queue and come back after the
visibility timeout when the function fails (a /_tidepool/faults "fail"
rule), and move to the dead-letter queue through maxReceiveCount. Lambda's
validation messages for queue mappings, and a DynamoDB stream mapping whose
OnFailure destination is a queue."""
import hashlib
import io
import json
import zipfile

from botocore.exceptions import ClientError

from tidepool import TidepoolTestCase

ROLE = "arn:aws:iam::123456789012:role/lambda-role"
IDLE_MS = 10 * 60 * 1000

RECORD_MEMBERS = ["messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
                  "eventSource", "eventSourceARN", "awsRegion"]
ATTRIBUTE_MEMBERS = ["ApproximateReceiveCount", "SentTimestamp", "SenderId",
                     "ApproximateFirstReceiveTimestamp"]


def zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("handler.c", date_time=(2024, 1, 1, 0, 0, 0)), "handler")
    return buf.getvalue()


def pairs_hook(pairs):
    return pairs


def names(pairs):
    return [k for k, _ in pairs]


def member(pairs, name):
    for k, v in pairs:
        if k == name:
            return v
    raise KeyError(name)


class QueueMappingCase(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.sqs = self.client("sqs", retries=1)
        self.lam = self.client("lambda", retries=1)
        self.ddb = self.client("dynamodb", retries=1)

    def queue(self, name, **attrs):
        url = self.sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def depth(self, url):
        a = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                          "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])

    def function(self, name="worker", **kw):
        self.lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE,
                                 Handler="echo", Code={"ZipFile": zip_bytes()}, **kw)

    def mapping(self, arn, fn="worker", **kw):
        r = self.lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=arn, **kw)
        self.tidepool.advance(1000)
        return r

    def fault(self, rule):
        status, body = self.tidepool.control("POST", "faults", rule)
        self.assertEqual(status, 200, body)
        return body["id"]

    def run_until_idle(self):
        status, out = self.tidepool.control("POST", "clock", {"until_idle_ms": IDLE_MS})
        self.assertEqual(status, 200, out)

    def invocations(self, function="worker"):
        status, _, data = self.tidepool.raw("GET", "/_tidepool/invocations?function=%s" % function)
        self.assertEqual(status, 200, data)
        return json.loads(data.decode())["invocations"]

    def invocations_ordered(self, function="worker"):
        status, _, data = self.tidepool.raw("GET", "/_tidepool/invocations?function=%s" % function)
        self.assertEqual(status, 200, data)
        return member(json.loads(data.decode(), object_pairs_hook=pairs_hook), "invocations")


class TestQueueMappings(QueueMappingCase):
    def test_event_is_lambdas_sqs_event_and_messages_are_deleted(self):
        url, arn = self.queue("jobs")
        self.function()
        self.sqs.send_message(QueueUrl=url, MessageBody="hello",
                              MessageAttributes={"kind": {"DataType": "String", "StringValue": "invoice"}})
        self.sqs.send_message(QueueUrl=url, MessageBody="world")
        r = self.mapping(arn, BatchSize=5)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 202)
        self.assertEqual(r["BatchSize"], 5)
        self.assertEqual(r["EventSourceArn"], arn)
        self.assertNotIn("StartingPosition", r)
        self.run_until_idle()
        self.assertEqual(self.depth(url), (0, 0))
        invs = self.invocations_ordered()
        records = [rec for inv in invs for rec in member(member(inv, "event"), "Records")]
        self.assertEqual(sorted(member(rec, "body") for rec in records), ["hello", "world"])
        rec = next(rec for rec in records if member(rec, "body") == "hello")
        self.assertEqual(names(rec), RECORD_MEMBERS)
        self.assertEqual(names(member(rec, "attributes")), ATTRIBUTE_MEMBERS)
        self.assertEqual(member(member(rec, "attributes"), "ApproximateReceiveCount"), "1")
        self.assertEqual(member(rec, "md5OfBody"), hashlib.md5(b"hello").hexdigest())
        self.assertEqual(member(rec, "eventSource"), "aws:sqs")
        self.assertEqual(member(rec, "eventSourceARN"), arn)
        self.assertEqual(member(rec, "awsRegion"), "us-east-1")
        kind = member(member(rec, "messageAttributes"), "kind")
        self.assertEqual(kind, [("stringValue", "invoice"), ("stringListValues", []),
                                ("binaryListValues", []), ("dataType", "String")])
        got = self.lam.get_event_source_mapping(UUID=r["UUID"])
        self.assertEqual(got["State"], "Enabled")
        self.assertEqual(got["MaximumBatchingWindowInSeconds"], 0)

    def test_failed_batch_comes_back_after_the_visibility_timeout(self):
        url, arn = self.queue("retry", VisibilityTimeout=30)
        self.function()
        rule = self.fault({"resource": "worker", "count": 1,
                           "fail": {"errorType": "Boom", "errorMessage": "first try fails"}})
        self.sqs.send_message(QueueUrl=url, MessageBody="again")
        self.mapping(arn)
        self.run_until_idle()
        self.assertEqual(len(self.invocations()), 1)
        self.assertEqual(self.depth(url), (0, 1))   # not deleted, in flight
        self.tidepool.advance(31000)
        self.run_until_idle()
        invs = self.invocations()
        self.assertEqual(len(invs), 2)
        self.assertEqual([i["outcome"] for i in invs], ["error", "success"])
        second = invs[1]["event"]["Records"][0]
        self.assertEqual(second["body"], "again")
        self.assertEqual(second["attributes"]["ApproximateReceiveCount"], "2")
        self.assertEqual(second["messageId"], invs[0]["event"]["Records"][0]["messageId"])
        self.assertEqual(self.depth(url), (0, 0))
        self.tidepool.control("DELETE", "faults/" + rule)

    def test_redrive_to_the_dead_letter_queue(self):
        dlq_url, dlq_arn = self.queue("dead")
        url, arn = self.queue("poisoned", VisibilityTimeout=5, RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}))
        self.function()
        rule = self.fault({"resource": "worker", "fail": {"errorType": "Boom", "errorMessage": "never"}})
        self.sqs.send_message(QueueUrl=url, MessageBody="poison")
        self.mapping(arn)
        for _ in range(4):
            self.run_until_idle()
            self.tidepool.advance(6000)
        self.run_until_idle()
        self.assertEqual(len(self.invocations()), 2)
        self.assertEqual(self.depth(url), (0, 0))
        msgs = self.sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
        self.assertEqual([m["Body"] for m in msgs], ["poison"])
        self.tidepool.control("DELETE", "faults/" + rule)

    def test_filtered_out_messages_are_deleted(self):
        url, arn = self.queue("filtered")
        self.function()
        self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "keep"}))
        self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "drop"}))
        self.mapping(arn, FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["keep"]}})}]})
        self.run_until_idle()
        bodies = [r["body"] for inv in self.invocations() for r in inv["event"]["Records"]]
        self.assertEqual(bodies, [json.dumps({"kind": "keep"})])
        self.assertEqual(self.depth(url), (0, 0))

    def test_validation_messages(self):
        _, arn = self.queue("strict")
        self.function()
        with self.assertRaises(ClientError) as cm:
            self.lam.create_event_source_mapping(FunctionName="worker", EventSourceArn=arn, BatchSize=100)
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], "InvalidParameterValueException")
        self.assertEqual(err["Error"]["Message"],
                         "Maximum batch window in seconds must be greater than 0 if maximum batch "
                         "size is greater than 10")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)
        with self.assertRaises(ClientError) as cm:
            self.lam.create_event_source_mapping(FunctionName="worker", EventSourceArn=arn,
                                                 StartingPosition="LATEST")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidParameterValueException")
        self.assertEqual(self.lam.list_event_source_mappings()["EventSourceMappings"], [])
        # ScalingConfig is newer than Debian's botocore model (1.29): sent
        # only by clients that know it
        members = self.lam.meta.service_model.operation_model("CreateEventSourceMapping").input_shape.members
        scaling = {"ScalingConfig": {"MaximumConcurrency": 5}} if "ScalingConfig" in members else {}
        r = self.mapping(arn, BatchSize=1000, MaximumBatchingWindowInSeconds=2, **scaling)
        self.assertEqual(r["BatchSize"], 1000)
        self.assertEqual(r["MaximumBatchingWindowInSeconds"], 2)
        if scaling:
            self.assertEqual(r["ScalingConfig"], {"MaximumConcurrency": 5})
        else:
            self.assertNotIn("ScalingConfig", r)

    def test_the_mapping_polls_when_a_message_becomes_receivable(self):
        """No polling interval: the mapping's poller is woken the moment a
        message arrives, a delay ends or a visibility timeout runs out."""
        url, arn = self.queue("prompt", VisibilityTimeout=7)
        self.function()
        self.mapping(arn)
        self.tidepool.advance(1234)              # an instant on no polling grid
        sent = self.tidepool.now_ms()
        self.sqs.send_message(QueueUrl=url, MessageBody="now")
        self.tidepool.advance(0)                 # what is due now runs
        self.assertEqual([i["start_ms"] for i in self.invocations()], [sent])
        self.sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=3)
        self.tidepool.advance(2999)
        self.assertEqual(len(self.invocations()), 1)
        self.tidepool.advance(1)
        self.assertEqual([i["start_ms"] for i in self.invocations()][1:], [sent + 3000])
        # a failed batch is polled again the moment its visibility runs out
        self.fault({"resource": "worker", "count": 1,
                    "fail": {"errorType": "Boom", "errorMessage": "first try fails"}})
        self.tidepool.advance(1111)
        failed_at = self.tidepool.now_ms()
        self.sqs.send_message(QueueUrl=url, MessageBody="again")
        self.tidepool.advance(0)
        self.tidepool.advance(6999)
        self.assertEqual([i["start_ms"] for i in self.invocations()][2:], [failed_at])
        self.tidepool.advance(1)
        self.assertEqual([i["start_ms"] for i in self.invocations()][2:], [failed_at, failed_at + 7000])
        # and an idle pipeline is seen to be idle at once
        status, out = self.tidepool.control("POST", "clock", {"until_idle_ms": IDLE_MS})
        self.assertEqual(status, 200, out)
        self.assertLessEqual(out["advanced_ms"], 1000)
        self.assertEqual(self.depth(url), (0, 0))

    def test_queue_visibility_timeout_must_cover_the_function_timeout(self):
        _, arn = self.queue("short")                     # VisibilityTimeout 30 (the default)
        self.function("slow", Timeout=60)
        self.function("quick", Timeout=30)
        self.function("slower", Timeout=61)

        def refused(fn, message):
            with self.assertRaises(ClientError) as cm:
                fn()
            err = cm.exception.response
            self.assertEqual(err["Error"]["Code"], "InvalidParameterValueException")
            self.assertEqual(err["Error"]["Message"], message)
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)

        refused(lambda: self.lam.create_event_source_mapping(FunctionName="slow", EventSourceArn=arn),
                "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds")
        self.assertEqual(self.lam.list_event_source_mappings()["EventSourceMappings"], [])
        # equal is enough
        uuid = self.mapping(arn, fn="quick")["UUID"]
        # pointing the mapping at a slower function is checked the same way
        refused(lambda: self.lam.update_event_source_mapping(UUID=uuid, FunctionName="slow"),
                "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds")
        got = self.lam.get_event_source_mapping(UUID=uuid)
        self.assertTrue(got["FunctionArn"].endswith(":function:quick"), got["FunctionArn"])
        # a longer visibility timeout makes room
        url2, arn2 = self.queue("long", VisibilityTimeout=61)
        self.mapping(arn2, fn="slower")

    def test_stream_batch_discarded_lands_on_the_on_failure_queue(self):
        url, arn = self.queue("stream-failures")
        self.ddb.create_table(
            TableName="orders", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        self.tidepool.advance(1000)
        stream = self.ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
        self.function("stream-worker")
        rule = self.fault({"resource": "stream-worker", "fail": {"errorType": "Boom", "errorMessage": "no"}})
        self.ddb.put_item(TableName="orders", Item={"pk": {"S": "o1"}})
        self.mapping(stream, fn="stream-worker", StartingPosition="TRIM_HORIZON", MaximumRetryAttempts=0,
                     DestinationConfig={"OnFailure": {"Destination": arn}})
        self.run_until_idle()
        msgs = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        self.assertEqual(len(msgs), 1)
        record = json.loads(msgs[0]["Body"], object_pairs_hook=pairs_hook)
        self.assertEqual(names(record), ["requestContext", "responseContext", "version", "timestamp",
                                         "DDBStreamBatchInfo"])
        ctx = dict(member(record, "requestContext"))
        self.assertEqual(ctx["condition"], "RetryAttemptsExhausted")
        self.assertEqual(ctx["approximateInvokeCount"], 1)
        self.assertTrue(ctx["functionArn"].endswith(":function:stream-worker"))
        info = dict(member(record, "DDBStreamBatchInfo"))
        self.assertEqual(info["batchSize"], 1)
        self.assertEqual(info["streamArn"], stream)
        self.tidepool.control("DELETE", "faults/" + rule)


class TestCli(QueueMappingCase):
    """The AWS CLIs: Debian's v2 sends SQS's query protocol, the image's v1
    its JSON protocol."""

    def pipeline_through(self, cli):
        q = "cli-" + cli
        rc, out, err = self.aws("sqs", "create-queue", "--queue-name", q, cli=cli, expect_rc=0)
        url = out["QueueUrl"]
        rc, out, err = self.aws("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names",
                                "QueueArn", cli=cli, expect_rc=0)
        arn = out["Attributes"]["QueueArn"]
        self.function("cli-worker-" + cli)
        rc, out, err = self.aws("lambda", "create-event-source-mapping", "--function-name",
                                "cli-worker-" + cli, "--event-source-arn", arn, "--batch-size", "11", cli=cli)
        self.assertNotEqual(rc, 0)
        self.assertIn("(InvalidParameterValueException)", err)
        self.assertIn("Maximum batch window in seconds must be greater than 0 if maximum batch size is "
                      "greater than 10", err)
        rc, out, err = self.aws("lambda", "create-event-source-mapping", "--function-name",
                                "cli-worker-" + cli, "--event-source-arn", arn, "--batch-size", "2",
                                cli=cli, expect_rc=0)
        self.assertEqual(out["State"], "Creating")
        self.assertEqual(out["BatchSize"], 2)
        self.tidepool.advance(1000)
        for body in ("one", "two", "three"):
            self.aws("sqs", "send-message", "--queue-url", url, "--message-body", body, cli=cli, expect_rc=0)
        self.run_until_idle()
        invs = self.invocations("cli-worker-" + cli)
        bodies = sorted(r["body"] for inv in invs for r in inv["event"]["Records"])
        self.assertEqual(bodies, ["one", "three", "two"])
        self.assertTrue(all(len(inv["event"]["Records"]) <= 2 for inv in invs))
        self.assertEqual(self.depth(url), (0, 0))

    def test_cli_v2(self):
        self.pipeline_through("v2")

    def test_cli_v1(self):
        self.pipeline_through("v1")


if __name__ == "__main__":
    import unittest
    unittest.main()
