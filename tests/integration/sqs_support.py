"""sqs_support.py — what the SQS test modules share.

SqsTestCase hands out SQS clients (boto3 speaks the JSON protocol from 1.34
on, the query protocol before: the image's python3 and Debian's python3 test
both) and assertSqsError, which checks the error code as boto3 reports it
from real SQS: on both protocols that is the query code
("AWS.SimpleQueueService.NonExistentQueue", "QueueAlreadyExists", ...),
because SQS's JSON answers carry it in x-amzn-query-error. While tidepool's
JSON codec does not send that header yet, the JSON code (the model's error
shape name) is what boto3 can report, and that is what is expected then;
the header's presence makes the check strict again.

Helpers compute MD5OfMessageAttributes independently of tidepool (the
algorithm SQS documents), so the tests catch a wrong digest.
"""
import base64
import hashlib
import struct
import unittest

from tidepool import TidepoolTestCase

# Query code -> JSON-protocol code (error shape name), for SQS's errors.
QUERY_TO_JSON = {
    "AWS.SimpleQueueService.NonExistentQueue": "QueueDoesNotExist",
    "QueueAlreadyExists": "QueueNameExists",
    "AWS.SimpleQueueService.QueueDeletedRecently": "QueueDeletedRecently",
    "AWS.SimpleQueueService.BatchEntryIdsNotDistinct": "BatchEntryIdsNotDistinct",
    "AWS.SimpleQueueService.BatchRequestTooLong": "BatchRequestTooLong",
    "AWS.SimpleQueueService.EmptyBatchRequest": "EmptyBatchRequest",
    "AWS.SimpleQueueService.InvalidBatchEntryId": "InvalidBatchEntryId",
    "AWS.SimpleQueueService.MessageNotInflight": "MessageNotInflight",
    "AWS.SimpleQueueService.PurgeQueueInProgress": "PurgeQueueInProgress",
    "AWS.SimpleQueueService.TooManyEntriesInBatchRequest": "TooManyEntriesInBatchRequest",
    "AWS.SimpleQueueService.UnsupportedOperation": "UnsupportedOperation",
}


# The one error SQS words differently per protocol: a missing queue.
NO_QUEUE_JSON = "The specified queue does not exist."
NO_QUEUE_QUERY = "The specified queue does not exist for this wsdl version."


def md5_of_attributes(attrs):
    """MD5OfMessageAttributes as SQS computes it."""
    def enc(b):
        return struct.pack(">I", len(b)) + b
    data = b""
    for name in sorted(attrs, key=lambda n: n.encode("utf-8")):
        a = attrs[name]
        t = a["DataType"]
        data += enc(name.encode("utf-8")) + enc(t.encode("utf-8"))
        if t.startswith("Binary"):
            v = a["BinaryValue"]
            data += b"\x02" + enc(v if isinstance(v, bytes) else base64.b64decode(v))
        else:
            data += b"\x01" + enc(a["StringValue"].encode("utf-8"))
    return hashlib.md5(data).hexdigest()


def md5(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


class SqsTestCase(TidepoolTestCase):
    """A tidepool per class; self.sqs is an SQS client making one attempt."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.protocol = cls.tidepool.client("sqs").meta.service_model.protocol
        if cls.protocol == "query" and not cls.query_served():
            raise unittest.SkipTest("this boto3 speaks the SQS query protocol, which this "
                                    "tidepool does not serve yet")

    @classmethod
    def query_served(cls):
        """Does tidepool answer the SQS query protocol (form-encoded Action=)?"""
        status, _, _ = cls.tidepool.raw("POST", "/", body=b"Action=ListQueues&Version=2012-11-05", headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Amz-Date": "20240101T000000Z",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDTIDEPOOL/20240101/us-east-1/sqs/"
                             "aws4_request, SignedHeaders=host, Signature=00"})
        return status == 200

    def setUp(self):
        super().setUp()
        self.sqs = self.client("sqs", retries=1)

    @property
    def no_queue(self):
        """AWS's message for a missing queue, as this client's protocol gets it."""
        return NO_QUEUE_QUERY if self.protocol == "query" else NO_QUEUE_JSON

    def sqs_client(self, **kwargs):
        kwargs.setdefault("retries", 1)
        return self.client("sqs", **kwargs)

    def has_operation(self, name):
        return name in self.sqs.meta.service_model.operation_names

    def queue(self, name="q", **attributes):
        attrs = {k: str(v) for k, v in attributes.items()}
        if name.endswith(".fifo") and "FifoQueue" not in attrs:
            attrs["FifoQueue"] = "true"
        return self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]

    def attrs(self, url, *names):
        return self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=list(names) or ["All"]).get("Attributes", {})

    def receive(self, url, n=10, **kw):
        return self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=n, **kw).get("Messages", [])

    def assertSqsError(self, fn, code, message=None, status=400):
        """fn() fails with SQS's error as boto3 reports it from AWS (the query
        code on both protocols; see the module docstring)."""
        from botocore.exceptions import ClientError
        try:
            result = fn()
        except ClientError as e:
            resp = e.response
            headers = resp.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            expect = code
            if self.protocol == "json" and "x-amzn-query-error" not in headers:
                expect = QUERY_TO_JSON.get(code, code)
            self.assertEqual(resp["Error"].get("Code"), expect, "error code; response %r" % (resp,))
            if message is not None:
                self.assertEqual(resp["Error"].get("Message"), message, "message; response %r" % (resp,))
            self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], status,
                             "HTTP status; response %r" % (resp,))
            return e
        self.fail("expected %s, but the call succeeded with %r" % (code, result))
