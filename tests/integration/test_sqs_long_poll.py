"""SQS long polls park: they hold no server thread and no engine lock.

A ReceiveMessage with WaitTimeSeconds and nothing to receive is parked;
a message sent by another client (in either protocol) answers it at once,
without the virtual clock moving; with nothing sent it answers empty
exactly when the virtual clock reaches its deadline; a client that hangs
up while parked leaves nothing behind; many parked polls leave the server
free to answer everything else.

The parked count comes from /_tidepool/metrics (tidepool_parked_calls):
a test waits (bounded) for its own client thread to have reached the
server, never for time to pass.
"""
import re
import socket
import threading
import time
import unittest
import urllib.parse

from sqs_clients import native_protocol, sqs_client
from tidepool import TidepoolTestCase

AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDTIDEPOOL/20240101/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=00")
OTHER = "json" if native_protocol() == "query" else "query"


class Background(threading.Thread):
    """Runs fn in a thread and keeps its result or exception."""

    def __init__(self, fn, *args, **kwargs):
        super().__init__(daemon=True)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.result = self.error = None

    def run(self):
        try:
            self.result = self.fn(*self.args, **self.kwargs)
        except Exception as e:   # handed to the test thread
            self.error = e

    def outcome(self, timeout=30):
        self.join(timeout)
        if self.is_alive():
            raise AssertionError("the call did not answer")
        if self.error is not None:
            raise self.error
        return self.result


def raw_receive(tp, url, wait=20):
    """A query ReceiveMessage on its own socket; returns the socket."""
    body = urllib.parse.urlencode({"Action": "ReceiveMessage", "Version": "2012-11-05",
                                   "QueueUrl": url, "WaitTimeSeconds": str(wait)}).encode()
    s = socket.create_connection((tp.host, tp.port), timeout=30)
    s.sendall(b"POST / HTTP/1.1\r\nHost: %s:%d\r\n"
              b"Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
              b"Authorization: %s\r\nX-Amz-Date: 20240101T000000Z\r\n"
              b"Content-Length: %d\r\n\r\n" % (tp.host.encode(), tp.port, AUTH.encode(), len(body))
              + body)
    return s


def read_response(s):
    """(status, body) of one HTTP/1.1 response with a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError("connection closed before an answer: %r" % data)
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ")[1])
    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
    n = int(m.group(1)) if m else 0
    while len(rest) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, rest[:n]


class LongPolls(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.sqs = self.client("sqs", retries=1)
        self.other = sqs_client(self.tidepool, OTHER)
        self.url = self.sqs.create_queue(QueueName="polls")["QueueUrl"]

    # helpers ------------------------------------------------------------

    def parked(self):
        _, text = self.tidepool.control("GET", "metrics")
        m = re.search(r"^tidepool_parked_calls\{\} (\d+)", text, re.M)
        return int(m.group(1)) if m else 0

    def wait_parked(self, n, timeout=15.0):
        """Until n calls are parked: our client threads reaching the server."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.parked() == n:
                return
            time.sleep(0.01)
        self.fail("expected %d parked calls, have %d" % (n, self.parked()))

    def receive(self, client, **kw):
        args = {"QueueUrl": self.url, "WaitTimeSeconds": 20, "AttributeNames": ["All"]}
        args.update(kw)
        return Background(client.receive_message, **args)

    # tests --------------------------------------------------------------

    def test_a_send_from_another_client_answers_a_parked_receive_at_once(self):
        for receiver, sender in ((self.sqs, self.other), (self.other, self.sqs)):
            start = self.tidepool.now_ms()
            poll = self.receive(receiver)
            poll.start()
            self.wait_parked(1)
            sent = sender.send_message(QueueUrl=self.url, MessageBody="wake up")
            got = poll.outcome()
            self.assertEqual([m["MessageId"] for m in got["Messages"]], [sent["MessageId"]])
            self.assertEqual(got["Messages"][0]["Body"], "wake up")
            # the virtual clock did not move: the send answered it
            self.assertEqual(self.tidepool.now_ms(), start)
            self.assertEqual(got["Messages"][0]["Attributes"]["SentTimestamp"], str(start))
            self.assertEqual(self.parked(), 0)
            self.sqs.delete_message(QueueUrl=self.url,
                                    ReceiptHandle=got["Messages"][0]["ReceiptHandle"])

    def test_an_empty_long_poll_answers_exactly_at_its_deadline(self):
        start = self.tidepool.now_ms()
        poll = self.receive(self.sqs)
        poll.start()
        self.wait_parked(1)
        self.tidepool.advance(19999)
        self.assertEqual(self.parked(), 1)   # not due yet: still parked
        self.assertTrue(poll.is_alive())
        self.tidepool.advance(1)
        got = poll.outcome()
        self.assertEqual(got.get("Messages", []), [])
        self.assertEqual(self.tidepool.now_ms() - start, 20000)
        self.assertEqual(self.parked(), 0)

    def test_messages_that_become_visible_later_answer_a_parked_receive(self):
        # a delayed message, then one whose visibility timeout runs out
        self.sqs.send_message(QueueUrl=self.url, MessageBody="later", DelaySeconds=5)
        poll = self.receive(self.sqs, VisibilityTimeout=3)
        poll.start()
        self.wait_parked(1)
        start = self.tidepool.now_ms()
        self.tidepool.advance(5000)
        got = poll.outcome()
        self.assertEqual([m["Body"] for m in got["Messages"]], ["later"])
        poll = self.receive(self.other)
        poll.start()
        self.wait_parked(1)
        self.tidepool.advance(3000)
        again = poll.outcome()
        self.assertEqual([m["Body"] for m in again["Messages"]], ["later"])
        self.assertEqual(again["Messages"][0]["Attributes"]["ApproximateReceiveCount"], "2")
        self.assertEqual(self.tidepool.now_ms() - start, 8000)

    def test_the_aws_cli_v2_waits_and_is_woken(self):
        poll = Background(self.aws, "sqs", "receive-message", "--queue-url", self.url,
                          "--wait-time-seconds", "20", cli="v2", expect_rc=0)
        poll.start()
        self.wait_parked(1, timeout=60)
        self.other.send_message(QueueUrl=self.url, MessageBody="for the cli")
        _, out, _ = poll.outcome(timeout=120)
        self.assertEqual([m["Body"] for m in out["Messages"]], ["for the cli"])

    def test_deleting_the_queue_answers_its_parked_receives(self):
        poll = self.receive(self.sqs)
        poll.start()
        self.wait_parked(1)
        self.other.delete_queue(QueueUrl=self.url)
        with self.assertRaises(Exception) as cm:
            poll.outcome()
        self.assertEqual(cm.exception.response["Error"]["Code"],
                         "AWS.SimpleQueueService.NonExistentQueue")
        self.assertEqual(self.parked(), 0)

    def test_a_client_that_hangs_up_while_parked_leaves_nothing_behind(self):
        s = raw_receive(self.tidepool, self.url)
        self.wait_parked(1)
        s.close()
        self.wait_parked(0)
        _, trace = self.tidepool.control("GET", "trace")
        self.assertIn('"type":"unpark"', trace)
        # no ghost takes the next message
        self.sqs.send_message(QueueUrl=self.url, MessageBody="for the living")
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        self.assertEqual(attrs["ApproximateNumberOfMessages"], "1")
        got = self.sqs.receive_message(QueueUrl=self.url)
        self.assertEqual([m["Body"] for m in got["Messages"]], ["for the living"])

    def test_parked_receives_hold_no_server_thread(self):
        # 40 parked polls against 2 server threads (tidepool's default)
        socks = [raw_receive(self.tidepool, self.url) for _ in range(40)]
        try:
            self.wait_parked(40)
            ddb = self.client("dynamodb")
            ddb.create_table(TableName="polls-t", BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                             KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
            ddb.put_item(TableName="polls-t", Item={"k": {"S": "a"}})
            self.assertEqual(ddb.get_item(TableName="polls-t", Key={"k": {"S": "a"}})["Item"],
                             {"k": {"S": "a"}})
            self.assertEqual(len(self.other.list_queues()["QueueUrls"]), 1)
            self.assertEqual(self.parked(), 40)
            self.tidepool.advance(20000)
            for s in socks:
                status, body = read_response(s)
                self.assertEqual(status, 200)
                self.assertIn(b"<ReceiveMessageResult/>", body)
            self.assertEqual(self.parked(), 0)
        finally:
            for s in socks:
                s.close()

    def test_one_message_answers_one_of_many_parked_receives(self):
        polls = [self.receive(c) for c in (self.sqs, self.other, self.sqs)]
        for p in polls:
            p.start()
        self.wait_parked(3)
        self.sqs.send_message(QueueUrl=self.url, MessageBody="only one")
        self.wait_parked(2)
        self.tidepool.advance(20000)
        bodies = [m["Body"] for p in polls for m in p.outcome().get("Messages", [])]
        self.assertEqual(bodies, ["only one"])


if __name__ == "__main__":
    unittest.main()
