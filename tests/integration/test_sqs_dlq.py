"""SQS dead-letter queues through boto3 on tidepool's virtual clock: a
message moves to the DLQ on the receive that would pass maxReceiveCount,
RedrivePolicy and RedriveAllowPolicy are checked and enforced,
ListDeadLetterSourceQueues, and message move tasks that redrive at
MaxNumberOfMessagesPerSecond as the clock moves."""
import json
import unittest


def trace_events(tp, kind):
    _, _, data = tp.raw("GET", "/_tidepool/trace")
    events = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
    return [e for e in events if e.get("type") == kind]

from sqs_support import SqsTestCase


class Redrive(SqsTestCase):
    def pair(self, max_receives=2, fifo=False):
        suffix = ".fifo" if fifo else ""
        dlq = self.queue("dlq" + suffix)
        dlq_arn = self.attrs(dlq, "QueueArn")["QueueArn"]
        src = self.queue("src" + suffix, RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}))
        return src, dlq, dlq_arn

    def test_moves_on_the_receive_past_max_receive_count(self):
        src, dlq, _ = self.pair(2)
        src_arn = self.attrs(src, "QueueArn")["QueueArn"]
        sent = self.sqs.send_message(QueueUrl=src, MessageBody="poison",
                                     MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
        for n in (1, 2):
            [m] = self.receive(src, VisibilityTimeout=0, AttributeNames=["ApproximateReceiveCount"])
            self.assertEqual(m["Attributes"]["ApproximateReceiveCount"], str(n))
        self.assertEqual(self.receive(src), [])
        self.assertEqual(self.attrs(src, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "0"})
        [d] = self.receive(dlq, AttributeNames=["All"], MessageAttributeNames=["All"])
        self.assertEqual(d["MessageId"], sent["MessageId"])
        self.assertEqual(d["Body"], "poison")
        self.assertEqual(d["MessageAttributes"], {"k": {"DataType": "String", "StringValue": "v"}})
        self.assertEqual(d["Attributes"]["DeadLetterQueueSourceArn"], src_arn)
        [ev] = trace_events(self.tidepool, "sqs_dead_letter")
        self.assertEqual((ev["message_id"], ev["receive_count"], ev["queue"]), (sent["MessageId"], 2, src_arn))
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"], [src])
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=src)["queueUrls"], [])

    def test_fifo_redrive_keeps_the_group_moving(self):
        src, dlq, _ = self.pair(1, fifo=True)
        for b in ["1", "2"]:
            self.sqs.send_message(QueueUrl=src, MessageBody=b, MessageGroupId="G", MessageDeduplicationId=b)
        [m] = self.receive(src, 1, VisibilityTimeout=0)
        self.assertEqual(m["Body"], "1")
        # "1" goes to the DLQ, "2" is next in the group
        self.assertEqual([x["Body"] for x in self.receive(src, 1)], ["2"])
        [d] = self.receive(dlq, AttributeNames=["MessageGroupId", "SequenceNumber"])
        self.assertEqual(d["Body"], "1")
        self.assertEqual(d["Attributes"]["MessageGroupId"], "G")

    def test_fifo_receive_past_a_redriven_message_takes_the_rest_of_the_group(self):
        src, dlq, _ = self.pair(1, fifo=True)
        for b in ["1", "2", "3"]:
            self.sqs.send_message(QueueUrl=src, MessageBody=b, MessageGroupId="G", MessageDeduplicationId=b)
        [m] = self.receive(src, 1, VisibilityTimeout=0)
        self.assertEqual(m["Body"], "1")
        # one receive: "1" moves to the DLQ, "2" and "3" come back together
        self.assertEqual([x["Body"] for x in self.receive(src, 10)], ["2", "3"])
        self.assertEqual([x["Body"] for x in self.receive(dlq, 10)], ["1"])

    def test_redrive_policy_is_checked(self):
        dlq = self.queue("d")
        arn = self.attrs(dlq, "QueueArn")["QueueArn"]
        src = self.queue("s")
        self.assertSqsError(lambda: self.sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": "{}"}),
                            "InvalidParameterValue",
                            "Value {} for parameter RedrivePolicy is invalid. Reason: Redrive policy does not "
                            "contain mandatory attribute: maxReceiveCount.")
        for policy in [{"maxReceiveCount": 3}, {"deadLetterTargetArn": arn},
                       {"deadLetterTargetArn": arn, "maxReceiveCount": 0},
                       {"deadLetterTargetArn": arn, "maxReceiveCount": 1001},
                       {"deadLetterTargetArn": arn.replace(":d", ":nothere"), "maxReceiveCount": 3}]:
            self.assertSqsError(lambda: self.sqs.set_queue_attributes(
                QueueUrl=src, Attributes={"RedrivePolicy": json.dumps(policy)}), "InvalidParameterValue")
        fifo_dlq = self.queue("fd.fifo")
        farn = self.attrs(fifo_dlq, "QueueArn")["QueueArn"]
        self.assertSqsError(lambda: self.sqs.set_queue_attributes(QueueUrl=src, Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": farn, "maxReceiveCount": 3})}),
            "InvalidParameterValue")
        self.assertNotIn("RedrivePolicy", self.attrs(src))
        ok = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "3"})
        self.sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": ok})
        self.assertEqual(self.attrs(src, "RedrivePolicy")["RedrivePolicy"], ok)
        self.sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": ""})
        self.assertNotIn("RedrivePolicy", self.attrs(src))

    def test_redrive_allow_policy_is_enforced(self):
        dlq = self.queue("d")
        arn = self.attrs(dlq, "QueueArn")["QueueArn"]
        a = self.queue("a")
        b = self.queue("b")
        a_arn = self.attrs(a, "QueueArn")["QueueArn"]
        policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2})
        self.sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(
            {"redrivePermission": "byQueue", "sourceQueueArns": [a_arn]})})
        self.sqs.set_queue_attributes(QueueUrl=a, Attributes={"RedrivePolicy": policy})
        self.assertSqsError(lambda: self.sqs.set_queue_attributes(QueueUrl=b, Attributes={"RedrivePolicy": policy}),
                            "InvalidParameterValue")
        self.sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(
            {"redrivePermission": "denyAll"})})
        self.assertSqsError(lambda: self.sqs.set_queue_attributes(QueueUrl=b, Attributes={"RedrivePolicy": policy}),
                            "InvalidParameterValue")
        self.sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(
            {"redrivePermission": "allowAll"})})
        self.sqs.set_queue_attributes(QueueUrl=b, Attributes={"RedrivePolicy": policy})
        for bad in [{"redrivePermission": "some"}, {"redrivePermission": "byQueue"},
                    {"redrivePermission": "allowAll", "sourceQueueArns": [a_arn]}, {}]:
            self.assertSqsError(lambda: self.sqs.set_queue_attributes(
                QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(bad)}), "InvalidAttributeValue")


class MoveTasks(SqsTestCase):
    def setUp(self):
        super().setUp()
        if not self.has_operation("StartMessageMoveTask"):
            raise unittest.SkipTest("this botocore has no message move tasks")

    def fill_dlq(self, n):
        dlq = self.queue("dlq")
        dlq_arn = self.attrs(dlq, "QueueArn")["QueueArn"]
        src = self.queue("src", RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
        for i in range(n):
            self.sqs.send_message(QueueUrl=src, MessageBody="m%d" % i)
        for _ in range(n):
            self.receive(src, 10, VisibilityTimeout=0)
        self.receive(src, 10)
        self.assertEqual(self.attrs(dlq, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": str(n)})
        return src, dlq, dlq_arn

    def count(self, url):
        return int(self.attrs(url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"])

    def test_redrive_back_at_the_given_rate(self):
        src, dlq, dlq_arn = self.fill_dlq(3)
        handle = self.sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
        self.tidepool.advance(0)
        self.assertEqual(self.count(src), 1)
        [task] = self.sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        self.assertEqual((task["Status"], task["TaskHandle"], task["ApproximateNumberOfMessagesMoved"],
                          task["ApproximateNumberOfMessagesToMove"], task["MaxNumberOfMessagesPerSecond"]),
                         ("RUNNING", handle, 1, 3, 1))
        self.assertSqsError(lambda: self.sqs.start_message_move_task(SourceArn=dlq_arn), "InvalidParameterValue",
                            "There is already a task running. Only one active task is allowed for a source "
                            "queue arn at a given time.")
        self.tidepool.advance(1000)
        self.assertEqual(self.count(src), 2)
        self.tidepool.advance(1000)
        self.assertEqual(self.count(src), 3)
        self.tidepool.advance(1000)
        [task] = self.sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        self.assertEqual(task["Status"], "COMPLETED")
        self.assertNotIn("TaskHandle", task)
        [ev] = trace_events(self.tidepool, "sqs_move_task")
        self.assertEqual((ev["source"], ev["status"], ev["moved"]), (dlq_arn, "COMPLETED", 3))
        self.assertEqual(self.count(dlq), 0)
        # back in the source with a fresh receive count and no DLQ source
        got = self.receive(src, 10, AttributeNames=["All"])
        self.assertEqual(sorted(m["Body"] for m in got), ["m0", "m1", "m2"])
        for m in got:
            self.assertEqual(m["Attributes"]["ApproximateReceiveCount"], "1")
            self.assertNotIn("DeadLetterQueueSourceArn", m["Attributes"])

    def test_to_a_named_destination_without_rate_and_cancel(self):
        src, dlq, dlq_arn = self.fill_dlq(4)
        other = self.queue("other")
        other_arn = self.attrs(other, "QueueArn")["QueueArn"]
        self.sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=other_arn)
        self.tidepool.advance(0)
        self.assertEqual(self.count(other), 4)
        [task] = self.sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        self.assertEqual((task["Status"], task["DestinationArn"], task["ApproximateNumberOfMessagesMoved"]),
                         ("COMPLETED", other_arn, 4))
        # move them on to the DLQ again, slowly, and cancel halfway
        for m in self.receive(other, 10):
            self.sqs.send_message(QueueUrl=dlq, MessageBody=m["Body"])
        handle = self.sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=other_arn,
                                                  MaxNumberOfMessagesPerSecond=2)["TaskHandle"]
        self.tidepool.advance(500)
        out = self.sqs.cancel_message_move_task(TaskHandle=handle)
        self.assertEqual(out["ApproximateNumberOfMessagesMoved"], 2)
        self.tidepool.advance(5000)
        self.assertEqual(self.count(dlq), 2)
        tasks = self.sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
        self.assertEqual([t["Status"] for t in tasks], ["CANCELLED", "COMPLETED"])

    def test_move_task_errors(self):
        src, dlq, dlq_arn = self.fill_dlq(1)
        src_arn = self.attrs(src, "QueueArn")["QueueArn"]
        self.assertSqsError(lambda: self.sqs.start_message_move_task(SourceArn=src_arn), "InvalidParameterValue",
                            "Source queue must be configured as a Dead Letter Queue.")
        missing = dlq_arn.replace(":dlq", ":nope")
        self.assertSqsError(lambda: self.sqs.start_message_move_task(SourceArn=missing), "ResourceNotFoundException",
                            "The resource that you specified for the SourceArn parameter doesn't exist.", status=404)
        self.assertSqsError(lambda: self.sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=missing),
                            "ResourceNotFoundException",
                            "The resource that you specified for the DestinationArn parameter doesn't exist.",
                            status=404)
        self.assertSqsError(lambda: self.sqs.list_message_move_tasks(SourceArn=missing), "ResourceNotFoundException",
                            status=404)
        self.assertSqsError(lambda: self.sqs.cancel_message_move_task(TaskHandle="bm90LWEtdGFzaw=="),
                            "InvalidParameterValue", "Value for parameter TaskHandle is invalid.")
        self.assertEqual(self.sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"], [])


if __name__ == "__main__":
    unittest.main()
