"""SQS FIFO queues through boto3 on tidepool's virtual clock: ordering
within a message group (a group waits while one of its messages is in
flight, other groups still deliver), deduplication by id and by content
over the 5-minute window, DeduplicationScope, sequence numbers,
ReceiveRequestAttemptId, and the FIFO-only errors."""
import hashlib
import json
import unittest

from sqs_support import SqsTestCase


class Ordering(SqsTestCase):
    def send(self, url, body, group, dedup=None):
        return self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group,
                                     MessageDeduplicationId=dedup or body)

    def test_a_group_waits_while_its_message_is_in_flight(self):
        url = self.queue("o.fifo")
        for body, group in [("a1", "A"), ("a2", "A"), ("b1", "B"), ("a3", "A"), ("b2", "B")]:
            self.send(url, body, group)
        [m] = self.receive(url, 1)
        self.assertEqual(m["Body"], "a1")
        # A is blocked while a1 is in flight; B delivers
        [m2] = self.receive(url, 1)
        self.assertEqual(m2["Body"], "b1")
        self.assertEqual(self.receive(url, 10), [])
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        self.assertEqual([x["Body"] for x in self.receive(url, 10)], ["a2", "a3"])
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m2["ReceiptHandle"])
        self.assertEqual([x["Body"] for x in self.receive(url, 10)], ["b2"])

    def test_one_receive_takes_a_group_then_the_next(self):
        url = self.queue("g.fifo")
        for body, group in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("c1", "C"), ("b2", "B")]:
            self.send(url, body, group)
        got = self.receive(url, 10, AttributeNames=["MessageGroupId"])
        self.assertEqual([m["Body"] for m in got], ["a1", "a2", "b1", "b2", "c1"])
        self.assertEqual([m["Attributes"]["MessageGroupId"] for m in got], ["A", "A", "B", "B", "C"])

    def test_visibility_expiry_redelivers_in_order(self):
        url = self.queue("v.fifo", VisibilityTimeout=10)
        for b in ["1", "2", "3"]:
            self.send(url, b, "G")
        self.assertEqual([m["Body"] for m in self.receive(url, 2)], ["1", "2"])
        self.assertEqual(self.receive(url, 10), [])
        self.tidepool.advance(10000)
        got = self.receive(url, 10, AttributeNames=["ApproximateReceiveCount"])
        self.assertEqual([(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in got],
                         [("1", "2"), ("2", "2"), ("3", "1")])
        # an expired handle on a FIFO queue is refused
        self.tidepool.advance(10000)
        self.assertSqsError(lambda: self.sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"]),
                            "InvalidParameterValue",
                            "Value %s for parameter ReceiptHandle is invalid. Reason: The receipt handle has "
                            "expired." % got[0]["ReceiptHandle"])

    def test_sequence_numbers_increase(self):
        url = self.queue("s.fifo")
        seqs = [self.send(url, str(i), "G")["SequenceNumber"] for i in range(3)]
        self.assertTrue(all(len(s) == 20 and s.isdigit() for s in seqs), seqs)
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(set(seqs)), 3)
        got = self.receive(url, 10, AttributeNames=["All"])
        self.assertEqual([m["Attributes"]["SequenceNumber"] for m in got], seqs)
        self.assertEqual([m["Attributes"]["MessageDeduplicationId"] for m in got], ["0", "1", "2"])
        out = self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "x", "MessageBody": "x", "MessageGroupId": "G", "MessageDeduplicationId": "x"},
            {"Id": "y", "MessageBody": "y", "MessageGroupId": "G", "MessageDeduplicationId": "y"}])
        batch_seqs = [e["SequenceNumber"] for e in out["Successful"]]
        self.assertTrue(seqs[-1] < batch_seqs[0] < batch_seqs[1])


class Deduplication(SqsTestCase):
    def test_same_id_within_five_minutes_is_dropped(self):
        url = self.queue("d.fifo")
        first = self.sqs.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="G",
                                      MessageDeduplicationId="k")
        again = self.sqs.send_message(QueueUrl=url, MessageBody="two", MessageGroupId="G",
                                      MessageDeduplicationId="k")
        self.assertEqual(again["MessageId"], first["MessageId"])
        self.assertEqual(again["SequenceNumber"], first["SequenceNumber"])
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "1"})
        self.tidepool.advance(5 * 60 * 1000)
        later = self.sqs.send_message(QueueUrl=url, MessageBody="three", MessageGroupId="G",
                                      MessageDeduplicationId="k")
        self.assertNotEqual(later["MessageId"], first["MessageId"])
        self.assertEqual([m["Body"] for m in self.receive(url, 10)], ["one", "three"])

    def test_content_based_deduplication(self):
        url = self.queue("c.fifo", ContentBasedDeduplication="true")
        a = self.sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="G")
        b = self.sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="H")
        self.assertEqual(a["MessageId"], b["MessageId"])
        self.sqs.send_message(QueueUrl=url, MessageBody="other", MessageGroupId="G")
        got = self.receive(url, 10, AttributeNames=["MessageDeduplicationId"])
        self.assertEqual([m["Body"] for m in got], ["same", "other"])
        self.assertEqual(got[0]["Attributes"]["MessageDeduplicationId"],
                         hashlib.sha256(b"same").hexdigest())
        # an explicit id still wins
        self.sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="G", MessageDeduplicationId="new")
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "1"})

    def test_message_group_scope(self):
        url = self.queue("m.fifo", DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
        a = self.sqs.send_message(QueueUrl=url, MessageBody="1", MessageGroupId="G", MessageDeduplicationId="k")
        b = self.sqs.send_message(QueueUrl=url, MessageBody="2", MessageGroupId="H", MessageDeduplicationId="k")
        c = self.sqs.send_message(QueueUrl=url, MessageBody="3", MessageGroupId="G", MessageDeduplicationId="k")
        self.assertNotEqual(a["MessageId"], b["MessageId"])
        self.assertEqual(a["MessageId"], c["MessageId"])
        self.assertSqsError(lambda: self.queue("t.fifo", DeduplicationScope="queue",
                                               FifoThroughputLimit="perMessageGroupId"), "InvalidAttributeValue")

    def test_receive_request_attempt_id_repeats_the_answer(self):
        url = self.queue("r.fifo")
        for b in ["1", "2"]:
            self.sqs.send_message(QueueUrl=url, MessageBody=b, MessageGroupId="G", MessageDeduplicationId=b)
        first = self.receive(url, 10, ReceiveRequestAttemptId="attempt-1")
        again = self.receive(url, 10, ReceiveRequestAttemptId="attempt-1")
        self.assertEqual([m["Body"] for m in first], ["1", "2"])
        self.assertEqual([m["ReceiptHandle"] for m in again], [m["ReceiptHandle"] for m in first])
        self.assertEqual(self.receive(url, 10, ReceiveRequestAttemptId="attempt-2"), [])


class FifoErrors(SqsTestCase):
    def test_fifo_only_rules(self):
        url = self.queue("e.fifo")
        loose = self.sqs_client(validate=False)
        self.assertSqsError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d"),
                            "MissingParameter", "The request must contain the parameter MessageGroupId.")
        self.assertSqsError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="G"),
                            "InvalidParameterValue",
                            "The queue should either have ContentBasedDeduplication enabled or "
                            "MessageDeduplicationId provided explicitly")
        self.assertSqsError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="G",
                                                          MessageDeduplicationId="d", DelaySeconds=5),
                            "InvalidParameterValue",
                            "Value 5 for parameter DelaySeconds is invalid. Reason: The request include parameter "
                            "that is not valid for this queue type.")
        self.assertSqsError(lambda: loose.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="G",
                                                       MessageDeduplicationId="x" * 129),
                            "InvalidParameterValue")
        self.assertSqsError(lambda: loose.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="has space",
                                                       MessageDeduplicationId="d"),
                            "InvalidParameterValue",
                            "Value has space for parameter MessageGroupId is invalid. Reason: MessageGroupId can "
                            "only include alphanumeric and punctuation characters. 1 to 128 in length.")
        # DelaySeconds 0 is allowed, and the queue's delay applies
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "3"})
        self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="G", MessageDeduplicationId="d",
                              DelaySeconds=0)
        self.assertEqual(self.receive(url), [])
        self.tidepool.advance(3000)
        self.assertEqual([m["Body"] for m in self.receive(url)], ["x"])
        # batch entries fail one by one
        out = self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "ok", "MessageBody": "y", "MessageGroupId": "G", "MessageDeduplicationId": "y"},
            {"Id": "nogroup", "MessageBody": "z", "MessageDeduplicationId": "z"}])
        self.assertEqual([e["Id"] for e in out["Successful"]], ["ok"])
        self.assertEqual([(e["Id"], e["Code"]) for e in out["Failed"]], [("nogroup", "MissingParameter")])

    def test_standard_queue_refuses_deduplication_ids(self):
        url = self.queue("std")
        self.assertSqsError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d"),
                            "InvalidParameterValue",
                            "Value d for parameter MessageDeduplicationId is invalid. Reason: The request includes "
                            "a parameter that is not valid for this queue type.")
        # MessageGroupId on a standard queue is a fair-queue tenant: accepted and returned
        self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="tenant-1")
        [m] = self.receive(url, AttributeNames=["MessageGroupId"])
        self.assertEqual(m["Attributes"], {"MessageGroupId": "tenant-1"})


if __name__ == "__main__":
    unittest.main()


class GroupHeads(SqsTestCase):
    """A group's oldest message leaves by delete, expiry, purge or a move
    to the dead-letter queue; the group's next message is its new head."""

    def send(self, url, body, group):
        self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group,
                              MessageDeduplicationId=body)

    def test_the_next_message_leads_once_the_head_expired(self):
        url = self.queue("exp.fifo", MessageRetentionPeriod=60)
        self.send(url, "a1", "A")
        self.tidepool.advance(30000)
        self.send(url, "a2", "A")
        self.send(url, "b1", "B")
        self.tidepool.advance(30000)             # a1 is past retention
        self.assertEqual([m["Body"] for m in self.receive(url, 10)], ["a2", "b1"])
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages",
                                    "ApproximateNumberOfMessagesNotVisible"),
                         {"ApproximateNumberOfMessages": "0",
                          "ApproximateNumberOfMessagesNotVisible": "2"})

    def test_purge_and_redrive_keep_counts_and_groups(self):
        dlq = self.queue("dead.fifo")
        dlq_arn = self.attrs(dlq, "QueueArn")["QueueArn"]
        url = self.queue("src.fifo", VisibilityTimeout=5, RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"}))
        self.send(url, "p1", "P")
        self.send(url, "p2", "P")
        self.assertEqual([m["Body"] for m in self.receive(url, 1)], ["p1"])
        self.tidepool.advance(5000)
        # p1's next receive would pass maxReceiveCount: it moves, p2 leads
        self.assertEqual([m["Body"] for m in self.receive(url, 10)], ["p2"])
        self.assertEqual([m["Body"] for m in self.receive(dlq, 10)], ["p1"])
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages",
                                    "ApproximateNumberOfMessagesNotVisible"),
                         {"ApproximateNumberOfMessages": "0",
                          "ApproximateNumberOfMessagesNotVisible": "1"})
        self.sqs.purge_queue(QueueUrl=url)
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessagesNotVisible"),
                         {"ApproximateNumberOfMessagesNotVisible": "0"})
        self.send(url, "p3", "P")
        self.assertEqual([m["Body"] for m in self.receive(url, 10)], ["p3"])


THROTTLED = ("RequestThrottled", "Request is throttled.", 403)


class Throughput(SqsTestCase):
    """FIFO queues take 300 calls a second per action (a batch is one
    call); high-throughput mode lifts the queue's limit and keeps 300 sends
    a second per message group; standard queues are unlimited. All on the
    virtual clock: the calls below happen within one tidepool millisecond."""

    def send(self, url, body, group="g"):
        return self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group,
                                     MessageDeduplicationId=body)

    def throttled(self, fn):
        code, message, status = THROTTLED
        self.assertSqsError(fn, code, message, status)

    def test_300_sends_a_second_then_request_throttled(self):
        url = self.queue("t.fifo")
        for i in range(300):
            self.send(url, "m%d" % i)
        self.throttled(lambda: self.send(url, "over"))
        # the refused call changed nothing
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"),
                         {"ApproximateNumberOfMessages": "300"})
        # other actions have their own 300
        self.assertEqual(len(self.receive(url, 10)), 10)
        self.tidepool.advance(1000)
        self.send(url, "next-second")

    def test_a_batch_is_one_call(self):
        url = self.queue("b.fifo")
        self.tidepool.control("POST", "capacity", {"queue": "b.fifo", "SendMessage": 3})
        for n in range(3):
            r = self.sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": "e%d" % i, "MessageBody": "b%d-%d" % (n, i), "MessageGroupId": "g%d" % i,
                 "MessageDeduplicationId": "b%d-%d" % (n, i)} for i in range(10)])
            self.assertEqual(len(r["Successful"]), 10)
        self.throttled(lambda: self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "x", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "x"}]))
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"),
                         {"ApproximateNumberOfMessages": "30"})

    def test_receive_and_delete_are_limited_each(self):
        url = self.queue("rd.fifo")
        self.tidepool.control("POST", "capacity", {"queue": "rd.fifo", "ReceiveMessage": 2,
                                                   "DeleteMessage": 1})
        for i in range(3):
            self.send(url, "m%d" % i, group="g%d" % i)
        got = self.receive(url, 1) + self.receive(url, 1)
        self.throttled(lambda: self.receive(url, 1))
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
        self.throttled(lambda: self.sqs.delete_message(QueueUrl=url, ReceiptHandle=got[1]["ReceiptHandle"]))
        self.throttled(lambda: self.sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "ReceiptHandle": got[1]["ReceiptHandle"]}]))
        # ChangeMessageVisibility is not one of the limited actions
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[1]["ReceiptHandle"],
                                           VisibilityTimeout=60)
        self.tidepool.advance(500)   # half a second refills one delete
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=got[1]["ReceiptHandle"])
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"),
                         {"ApproximateNumberOfMessages": "1"})

    def test_high_throughput_mode_limits_each_message_group(self):
        url = self.queue("ht.fifo", DeduplicationScope="messageGroup",
                         FifoThroughputLimit="perMessageGroupId")
        for i in range(300):
            self.send(url, "a%d" % i, group="A")
        self.throttled(lambda: self.send(url, "a-over", group="A"))
        for i in range(50):   # well past nothing: the queue's own limit is far higher
            self.send(url, "b%d" % i, group="B")
        status, out = self.tidepool.control("GET", "capacity")
        mine = [b for b in out["buckets"] if b.get("queue") == "ht.fifo" and b["kind"] == "SendMessage"]
        rates = {b["group"]: b["rate"] for b in mine}
        self.assertEqual(rates, {None: 70000, "A": 300, "B": 300})
        self.assertEqual([b["throttled"] for b in mine if b["group"] == "A"], [1])

    def test_standard_queues_are_unlimited(self):
        url = self.queue("plain")
        for i in range(400):
            self.sqs.send_message(QueueUrl=url, MessageBody="m%d" % i)
        status, out = self.tidepool.control("GET", "capacity")
        self.assertEqual([b for b in out["buckets"] if b.get("service") == "sqs"], [])


class ConfiguredThroughput(SqsTestCase):
    tidepool_kwargs = {"config": {"capacity": {"sqs": {
        "fifo_calls_per_second": 4, "queues": {"wide.fifo": {"SendMessage": 6}}}}}}

    def test_the_config_file_sets_the_limits(self):
        narrow, wide = self.queue("narrow.fifo"), self.queue("wide.fifo")
        for url, n in ((narrow, 4), (wide, 6)):
            for i in range(n):
                self.sqs.send_message(QueueUrl=url, MessageBody="m%d" % i, MessageGroupId="g",
                                      MessageDeduplicationId="m%d" % i)
            self.assertSqsError(lambda: self.sqs.send_message(
                QueueUrl=url, MessageBody="over", MessageGroupId="g", MessageDeduplicationId="over"),
                *THROTTLED)
        self.assertEqual([m["Body"] for m in self.receive(wide, 4)], ["m0", "m1", "m2", "m3"])
