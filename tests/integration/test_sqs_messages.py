"""SQS messages through boto3 on tidepool's virtual clock: send and receive
with MD5s checked against an independent computation, attribute types and
filters, system attributes, visibility timeouts and receipt handles that
change and go stale, delays, retention, the receive and body limits with
AWS's errors, and the three batch actions."""
import base64
import unittest

from sqs_support import SqsTestCase, md5, md5_of_attributes

ATTRS = {
    "s": {"DataType": "String", "StringValue": "héllo"},
    "n": {"DataType": "Number", "StringValue": "-12.5e3"},
    "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xffbin"},
    "custom.int": {"DataType": "Number.int", "StringValue": "7"},
    "custom.json": {"DataType": "String.json", "StringValue": "{\"a\":1}"},
    "custom.gz": {"DataType": "Binary.gz", "BinaryValue": b"\x1f\x8b"},
}


class SendReceive(SqsTestCase):
    def test_md5s_and_attributes_round_trip(self):
        url = self.queue("m")
        body = "a body with ünïcødé and \t tabs \U0001F600"
        sent = self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=ATTRS)
        self.assertEqual(sent["MD5OfMessageBody"], md5(body))
        self.assertEqual(sent["MD5OfMessageAttributes"], md5_of_attributes(ATTRS))
        self.assertNotIn("MD5OfMessageSystemAttributes", sent)
        [m] = self.receive(url, MessageAttributeNames=["All"])
        self.assertEqual(m["MessageId"], sent["MessageId"])
        self.assertEqual(m["Body"], body)
        self.assertEqual(m["MD5OfBody"], md5(body))
        self.assertEqual(m["MessageAttributes"], ATTRS)
        self.assertEqual(m["MD5OfMessageAttributes"], md5_of_attributes(ATTRS))

    def test_message_attribute_filters(self):
        url = self.queue("f")
        self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=ATTRS)

        def names(filt):
            [m] = self.receive(url, MessageAttributeNames=filt, VisibilityTimeout=0)
            got = m.get("MessageAttributes", {})
            if got:
                self.assertEqual(m["MD5OfMessageAttributes"], md5_of_attributes(got))
            else:
                self.assertNotIn("MD5OfMessageAttributes", m)
            return sorted(got)
        self.assertEqual(names([".*"]), sorted(ATTRS))
        self.assertEqual(names(["custom.*"]), ["custom.gz", "custom.int", "custom.json"])
        self.assertEqual(names(["s", "b", "absent"]), ["b", "s"])
        self.assertEqual(names([]), [])

    def test_system_attributes(self):
        url = self.queue("sys")
        t0 = self.tidepool.now_ms()
        trace = {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}}
        sent = self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageSystemAttributes=trace)
        self.assertEqual(sent["MD5OfMessageSystemAttributes"], md5_of_attributes(trace))
        self.tidepool.advance(1500)
        [m] = self.receive(url, AttributeNames=["All"], VisibilityTimeout=5)
        account = url.split("/")[-2]
        self.assertEqual(m["Attributes"], {
            "SenderId": account, "SentTimestamp": str(t0), "ApproximateReceiveCount": "1",
            "ApproximateFirstReceiveTimestamp": str(t0 + 1500),
            "AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793"})
        self.tidepool.advance(5000)
        kw = {"MessageSystemAttributeNames": ["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"]} \
            if "MessageSystemAttributeNames" in self.sqs.meta.service_model.operation_model(
                "ReceiveMessage").input_shape.members else \
            {"AttributeNames": ["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"]}
        [m] = self.receive(url, **kw)
        self.assertEqual(m["Attributes"], {"ApproximateReceiveCount": "2",
                                           "ApproximateFirstReceiveTimestamp": str(t0 + 1500)})
        self.tidepool.advance(30000)
        [m] = self.receive(url)
        self.assertNotIn("Attributes", m)

    def test_visibility_timeout_and_receipt_handles(self):
        url = self.queue("v", VisibilityTimeout=30)
        self.sqs.send_message(QueueUrl=url, MessageBody="once")
        [first] = self.receive(url)
        self.assertEqual(self.receive(url), [])
        self.tidepool.advance(29999)
        self.assertEqual(self.receive(url), [])
        self.tidepool.advance(1)
        [second] = self.receive(url)
        self.assertEqual(second["MessageId"], first["MessageId"])
        self.assertNotEqual(second["ReceiptHandle"], first["ReceiptHandle"])
        # the first handle is stale: the delete succeeds, the message stays
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessagesNotVisible"),
                         {"ApproximateNumberOfMessagesNotVisible": "1"})
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"])
        self.tidepool.advance(60000)
        self.assertEqual(self.receive(url), [])
        # deleting again is fine
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"])

    def test_change_message_visibility(self):
        url = self.queue("cv")
        self.sqs.send_message(QueueUrl=url, MessageBody="x")
        [m] = self.receive(url, VisibilityTimeout=10)
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=100)
        self.tidepool.advance(99000)
        self.assertEqual(self.receive(url), [])
        # the 12-hour cap counts from the receive
        self.assertSqsError(lambda: self.sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=43200 - 98), "InvalidParameterValue",
            "Value 43102 for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the "
            "message is beyond the limit [43200 seconds]")
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=43200 - 99)
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        [again] = self.receive(url, VisibilityTimeout=5)
        self.assertEqual(again["MessageId"], m["MessageId"])
        # the old handle no longer changes anything
        self.assertSqsError(lambda: self.sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=5), "InvalidParameterValue",
            "Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not "
            "available for visibility timeout change." % m["ReceiptHandle"])
        # visible again: not in flight
        self.tidepool.advance(5000)
        self.assertSqsError(lambda: self.sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=5),
            "AWS.SimpleQueueService.MessageNotInflight")
        self.assertSqsError(lambda: self.sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle="garbage", VisibilityTimeout=5), "ReceiptHandleIsInvalid",
            'The input receipt handle "garbage" is not a valid receipt handle.')
        self.assertSqsError(lambda: self.sqs.delete_message(QueueUrl=url, ReceiptHandle="garbage"),
                            "ReceiptHandleIsInvalid", 'The input receipt handle "garbage" is not a valid receipt handle.')
        # a handle from another queue is not valid here
        other = self.queue("other")
        self.sqs.send_message(QueueUrl=other, MessageBody="y")
        [o] = self.receive(other)
        self.assertSqsError(lambda: self.sqs.delete_message(QueueUrl=url, ReceiptHandle=o["ReceiptHandle"]),
                            "ReceiptHandleIsInvalid")

    def test_delays(self):
        url = self.queue("d", DelaySeconds=5)
        self.sqs.send_message(QueueUrl=url, MessageBody="queue delay")
        self.sqs.send_message(QueueUrl=url, MessageBody="own delay", DelaySeconds=2)
        self.sqs.send_message(QueueUrl=url, MessageBody="no delay", DelaySeconds=0)
        self.assertEqual([m["Body"] for m in self.receive(url)], ["no delay"])
        self.tidepool.advance(2000)
        self.assertEqual([m["Body"] for m in self.receive(url)], ["own delay"])
        self.tidepool.advance(3000)
        self.assertEqual([m["Body"] for m in self.receive(url)], ["queue delay"])
        self.assertSqsError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=901),
                            "InvalidParameterValue")

    def test_retention_period(self):
        url = self.queue("r", MessageRetentionPeriod=60)
        self.sqs.send_message(QueueUrl=url, MessageBody="old")
        self.tidepool.advance(30000)
        self.sqs.send_message(QueueUrl=url, MessageBody="new")
        self.tidepool.advance(30000)
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "1"})
        self.assertEqual([m["Body"] for m in self.receive(url)], ["new"])


class Limits(SqsTestCase):
    def test_receive_parameters(self):
        url = self.queue("lim")
        loose = self.sqs_client(validate=False)
        for n in (0, 11):
            self.assertSqsError(lambda: loose.receive_message(QueueUrl=url, MaxNumberOfMessages=n),
                                "InvalidParameterValue",
                                "Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be "
                                "between 1 and 10, if provided." % n)
        self.assertSqsError(lambda: loose.receive_message(QueueUrl=url, WaitTimeSeconds=21),
                            "InvalidParameterValue",
                            "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and "
                            "<= 20, if provided.")
        self.assertSqsError(lambda: loose.receive_message(QueueUrl=url, VisibilityTimeout=43201),
                            "InvalidParameterValue")
        self.assertSqsError(lambda: loose.receive_message(QueueUrl=url, AttributeNames=["Bogus"]),
                            "InvalidAttributeName", "Unknown Attribute Bogus.")
        # a long poll that finds a message answers with it at once
        self.sqs.send_message(QueueUrl=url, MessageBody="waiting")
        self.assertEqual([m["Body"] for m in self.receive(url, WaitTimeSeconds=20)], ["waiting"])

    def test_body_rules(self):
        url = self.queue("body", MaximumMessageSize=1024)
        loose = self.sqs_client(validate=False)
        self.assertSqsError(lambda: loose.send_message(QueueUrl=url, MessageBody=""), "MissingParameter",
                            "The request must contain the parameter MessageBody.")
        self.assertSqsError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="bell\x07"),
                            "InvalidMessageContents",
                            "Invalid binary character '#x7' was found in the message body, the set of allowed "
                            "characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].")
        self.assertSqsError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x\uffff"),
                            "InvalidMessageContents")
        self.sqs.send_message(QueueUrl=url, MessageBody="x" * 1024)
        self.assertSqsError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x" * 1025),
                            "InvalidParameterValue",
                            "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.")
        # attributes count toward the size
        self.assertSqsError(lambda: self.sqs.send_message(
            QueueUrl=url, MessageBody="x" * 1000,
            MessageAttributes={"attr": {"DataType": "String", "StringValue": "y" * 20}}), "InvalidParameterValue")
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "1"})

    def test_message_attribute_rules(self):
        url = self.queue("ma")
        loose = self.sqs_client(validate=False)

        def send(attrs):
            return loose.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attrs)
        self.assertSqsError(lambda: send({"a": {"DataType": "String", "StringValue": ""}}), "InvalidParameterValue",
                            "Message (user) attribute 'a' must contain a non-empty value of type 'String'.")
        self.assertSqsError(lambda: send({"a": {"DataType": "Text", "StringValue": "v"}}), "InvalidParameterValue",
                            "The type of message (user) attribute 'a' is invalid. You must use only the following "
                            "supported type prefixes: Binary, Number, String.")
        self.assertSqsError(lambda: send({"a": {"StringValue": "v"}}), "InvalidParameterValue",
                            "The message attribute 'a' must contain non-empty message attribute type.")
        self.assertSqsError(lambda: send({"a": {"DataType": "Number", "StringValue": "12x"}}), "InvalidParameterValue",
                            "Can't cast the value of message (user) attribute 'a' to a number.")
        for reserved in ["AWS.x", "aws.x", "AMAZON.x", ".x", "x."]:
            self.assertSqsError(lambda: send({reserved: {"DataType": "String", "StringValue": "v"}}),
                                "InvalidParameterValue",
                                "You can't use message attribute names beginning with 'AWS.' or 'Amazon.'. These "
                                "strings are reserved for internal use. Additionally, they cannot start or end "
                                "with '.'.")
        self.assertSqsError(lambda: send({"trace id": {"DataType": "String", "StringValue": "v"}}),
                            "InvalidParameterValue",
                            "Message (user) attributes name can only contain upper and lower score characters, "
                            "digits, periods, hyphens and underscores. ")
        self.assertSqsError(lambda: send({"a" * 256: {"DataType": "String", "StringValue": "v"}}),
                            "InvalidParameterValue", "Message (user) attribute names must be shorter than 256 Bytes")
        send({"AWSfoo": {"DataType": "String", "StringValue": "v"}, "a" * 255: {"DataType": "String", "StringValue": "v"},
              "Foo_Bar-1.2": {"DataType": "String.x", "StringValue": "v"}})
        self.assertSqsError(lambda: send({"k%d" % i: {"DataType": "String", "StringValue": "v"} for i in range(11)}),
                            "InvalidParameterValue",
                            "Number of message attributes [11] exceeds the allowed maximum [10].")
        send({"k%d" % i: {"DataType": "String", "StringValue": "v"} for i in range(10)})
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "2"})


class Batches(SqsTestCase):
    def test_send_message_batch(self):
        url = self.queue("b")
        entries = [{"Id": "m%d" % i, "MessageBody": "body %d" % i} for i in range(10)]
        entries[3]["MessageAttributes"] = {"k": {"DataType": "String", "StringValue": "v"}}
        out = self.sqs.send_message_batch(QueueUrl=url, Entries=entries)
        self.assertEqual(out.get("Failed", []), [])
        self.assertEqual([e["Id"] for e in out["Successful"]], [e["Id"] for e in entries])
        for e, ok in zip(entries, out["Successful"]):
            self.assertEqual(ok["MD5OfMessageBody"], md5(e["MessageBody"]))
        self.assertEqual(out["Successful"][3]["MD5OfMessageAttributes"],
                         md5_of_attributes(entries[3]["MessageAttributes"]))
        got = self.receive(url, 10)
        self.assertEqual(sorted(m["Body"] for m in got), sorted(e["MessageBody"] for e in entries))

    def test_batch_errors(self):
        url = self.queue("be")
        loose = self.sqs_client(validate=False)
        eleven = [{"Id": str(i), "MessageBody": "x"} for i in range(11)]
        self.assertSqsError(lambda: self.sqs.send_message_batch(QueueUrl=url, Entries=eleven),
                            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                            "Maximum number of entries per request are 10. You have sent 11.")
        self.assertSqsError(lambda: loose.send_message_batch(QueueUrl=url, Entries=[]),
                            "AWS.SimpleQueueService.EmptyBatchRequest",
                            "There should be at least one SendMessageBatchRequestEntry in the request.")
        self.assertSqsError(lambda: self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "MessageBody": "1"}, {"Id": "a", "MessageBody": "2"}]),
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id a repeated.")
        self.assertSqsError(lambda: self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "bad id!", "MessageBody": "1"}]), "AWS.SimpleQueueService.InvalidBatchEntryId",
            "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at "
            "most 80 letters long.")
        big = [{"Id": str(i), "MessageBody": "x" * 110000} for i in range(10)]
        self.assertSqsError(lambda: self.sqs.send_message_batch(QueueUrl=url, Entries=big),
                            "AWS.SimpleQueueService.BatchRequestTooLong",
                            "Batch requests cannot be longer than 1048576 bytes. You have sent 1100000 bytes.")
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "0"})
        # one bad entry fails alone
        out = self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "good", "MessageBody": "fine"}, {"Id": "bad", "MessageBody": "\x01"}])
        self.assertEqual([e["Id"] for e in out["Successful"]], ["good"])
        [f] = out["Failed"]
        self.assertEqual((f["Id"], f["SenderFault"], f["Code"]), ("bad", True, "InvalidMessageContents"))
        self.assertIn("Invalid binary character '#x1'", f["Message"])

    def test_delete_and_change_visibility_batches(self):
        url = self.queue("bd")
        for i in range(3):
            self.sqs.send_message(QueueUrl=url, MessageBody=str(i))
        got = self.receive(url, 3, VisibilityTimeout=30)
        self.assertEqual(len(got), 3)
        out = self.sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": "z", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "bad", "ReceiptHandle": "nonsense", "VisibilityTimeout": 0}])
        self.assertEqual([e["Id"] for e in out["Successful"]], ["z"])
        self.assertEqual([(e["Id"], e["Code"]) for e in out["Failed"]], [("bad", "ReceiptHandleIsInvalid")])
        self.assertEqual([m["Body"] for m in self.receive(url, 10, VisibilityTimeout=30)], [got[0]["Body"]])
        out = self.sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "ReceiptHandle": got[1]["ReceiptHandle"]},
            {"Id": "b", "ReceiptHandle": got[2]["ReceiptHandle"]},
            {"Id": "c", "ReceiptHandle": "nonsense"}])
        self.assertEqual(sorted(e["Id"] for e in out["Successful"]), ["a", "b"])
        self.assertEqual([(e["Id"], e["Code"], e["SenderFault"]) for e in out["Failed"]],
                         [("c", "ReceiptHandleIsInvalid", True)])
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessagesNotVisible"),
                         {"ApproximateNumberOfMessagesNotVisible": "1"})


class Persistence(SqsTestCase):
    """--data-dir: queues and messages survive kill -9, in-flight state too."""

    def test_kill9_keeps_queues_and_messages(self):
        import shutil
        import tempfile
        from tidepool import Tidepool
        d = tempfile.mkdtemp(prefix="tidepool-sqs-")
        tp = Tidepool(data_dir=d)
        try:
            tp.start()
            c = tp.client("sqs", retries=1)
            url = c.create_queue(QueueName="durable", Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
            sent = [c.send_message(QueueUrl=url, MessageBody="m%d" % i)["MessageId"] for i in range(3)]
            [held] = c.receive_message(QueueUrl=url)["Messages"]
            tp.kill9()
            tp.start()
            c = tp.client("sqs", retries=1)
            got = c.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            self.assertEqual((got["ApproximateNumberOfMessages"], got["ApproximateNumberOfMessagesNotVisible"],
                              got["VisibilityTimeout"]), ("2", "1", "600"))
            rest = c.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
            self.assertEqual(sorted(m["MessageId"] for m in rest + [held]), sorted(sent))
            # the receipt handle from before the restart still deletes
            c.delete_message(QueueUrl=url, ReceiptHandle=held["ReceiptHandle"])
            got = c.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
            self.assertEqual(got["Attributes"]["ApproximateNumberOfMessagesNotVisible"], "2")
        finally:
            tp.stop()
            tp.close()
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
