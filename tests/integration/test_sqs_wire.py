"""SQS's two wire protocols on one port.

The same operations through the query protocol (form in, XML out: Debian's
boto3 1.26 and AWS CLI v2) and the JSON protocol (the image's boto3 1.43
and AWS CLI v1) give the same results and the same errors (code, message,
HTTP status); a message sent in one protocol is received intact in the
other; and the envelopes on the wire are SQS's: <XResponse xmlns=...>,
<ErrorResponse> with Type/Code/Message/Detail, JSON __type plus the
x-amzn-query-error header. Every client is pointed at tidepool's port.
"""
import json
import re
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

from sqs_clients import native_protocol, sqs_client
from sqs_support import NO_QUEUE_JSON, NO_QUEUE_QUERY
from tidepool import TidepoolTestCase

NS = "{http://queue.amazonaws.com/doc/2012-11-05/}"
AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDWIRE/20240101/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=00")


def normalise(value, ids):
    """Replaces per-call values (MessageId, ReceiptHandle, RequestId) with
    their order of appearance, and the queue name suffix with '*'. An empty
    list counts as absent: the query protocol's flattened lists cannot say
    "empty" (SQS's JSON sends [], its XML nothing)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "ResponseMetadata" or v == []:
                continue
            if k in ("MessageId", "ReceiptHandle") and isinstance(v, str):
                out[k] = "%s#%d" % (k, ids.setdefault(v, len(ids)))
            else:
                out[k] = normalise(v, ids)
        return out
    if isinstance(value, (list, tuple)):
        return type(value)(normalise(v, ids) for v in value)
    if isinstance(value, str):
        # the one wording the protocols differ in (asserted on its own)
        value = value.replace(NO_QUEUE_QUERY, NO_QUEUE_JSON)
        return re.sub(r"wire-(query|json)", "wire-*", value)
    return value


def outcome(fn, *args, **kwargs):
    """("ok", result) or ("error", code, message, status) of one call."""
    import botocore.exceptions
    try:
        return ("ok", fn(*args, **kwargs))
    except botocore.exceptions.ClientError as e:
        err = e.response.get("Error", {})
        return ("error", err.get("Code"), err.get("Message"),
                e.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))


def scenario(c, suffix):
    """Every operation family, good and bad input, as one client sees it."""
    steps = []

    def step(name, fn, *args, **kwargs):
        r = outcome(fn, *args, **kwargs)
        steps.append((name, r))
        return r[1] if r[0] == "ok" else None

    name = "wire-" + suffix
    url = step("create", c.create_queue, QueueName=name,
               Attributes={"VisibilityTimeout": "40", "DelaySeconds": "0"},
               tags={"team": "a&b <c>"})["QueueUrl"]
    step("create again, same attributes", c.create_queue, QueueName=name,
         Attributes={"VisibilityTimeout": "40", "DelaySeconds": "0"})
    step("create again, other attributes", c.create_queue, QueueName=name,
         Attributes={"VisibilityTimeout": "41"})
    step("create, bad attribute value", c.create_queue, QueueName=name + "-x",
         Attributes={"VisibilityTimeout": "99999"})
    step("create, bad name", c.create_queue, QueueName="bad name!")
    step("get url", c.get_queue_url, QueueName=name)
    step("get url, missing", c.get_queue_url, QueueName=name + "-missing")
    step("list", c.list_queues, QueueNamePrefix=name)
    step("set attributes", c.set_queue_attributes, QueueUrl=url,
         Attributes={"MaximumMessageSize": "2048", "ReceiveMessageWaitTimeSeconds": "0"})
    step("set attributes, unknown name", c.set_queue_attributes, QueueUrl=url,
         Attributes={"NoSuchAttribute": "1"})
    step("attributes", c.get_queue_attributes, QueueUrl=url,
         AttributeNames=["VisibilityTimeout", "MaximumMessageSize", "QueueArn", "DelaySeconds"])
    step("tag", c.tag_queue, QueueUrl=url, Tags={"env": "test", "k2": "v\"2'"})
    step("untag", c.untag_queue, QueueUrl=url, TagKeys=["env"])
    step("tags", c.list_queue_tags, QueueUrl=url)
    body = "text with <xml> & \"quotes\" 'apos' \u00e9\u20ac\U0001F600 tab\t lf\n cr\r end"
    step("send", c.send_message, QueueUrl=url, MessageBody=body,
         MessageAttributes={
             "s": {"DataType": "String", "StringValue": "v<&>"},
             "n": {"DataType": "Number", "StringValue": "-1.50"},
             "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff"},
             "c": {"DataType": "String.custom", "StringValue": "x"},
         })
    step("send, empty body", c.send_message, QueueUrl=url, MessageBody="")
    step("send, bad delay", c.send_message, QueueUrl=url, MessageBody="x", DelaySeconds=901)
    step("send batch", c.send_message_batch, QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "one"},
        {"Id": "b", "MessageBody": "two", "DelaySeconds": 0,
         "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
        {"Id": "c", "MessageBody": "three", "DelaySeconds": 901},
    ])
    step("send batch, repeated ids", c.send_message_batch, QueueUrl=url,
         Entries=[{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}])
    step("send batch, too many", c.send_message_batch, QueueUrl=url,
         Entries=[{"Id": "e%d" % i, "MessageBody": "x"} for i in range(11)])
    step("send batch, empty", c.send_message_batch, QueueUrl=url, Entries=[])
    got = step("receive", c.receive_message, QueueUrl=url, MaxNumberOfMessages=10,
               AttributeNames=["All"], MessageAttributeNames=["All"])
    step("receive, too many", c.receive_message, QueueUrl=url, MaxNumberOfMessages=11)
    msgs = sorted((got or {}).get("Messages", []), key=lambda m: m["Body"])
    steps[-2] = ("receive", ("ok", {"Messages": msgs}))
    handles = [m["ReceiptHandle"] for m in msgs]
    if handles:
        step("change visibility", c.change_message_visibility, QueueUrl=url,
             ReceiptHandle=handles[0], VisibilityTimeout=60)
        step("change visibility batch", c.change_message_visibility_batch, QueueUrl=url, Entries=[
            {"Id": "x", "ReceiptHandle": handles[-1], "VisibilityTimeout": 5},
            {"Id": "y", "ReceiptHandle": "not-a-handle", "VisibilityTimeout": 5},
        ])
        step("delete", c.delete_message, QueueUrl=url, ReceiptHandle=handles[0])
        step("delete batch", c.delete_message_batch, QueueUrl=url, Entries=[
            {"Id": "p%d" % i, "ReceiptHandle": h} for i, h in enumerate(handles[1:3])] + [
            {"Id": "q", "ReceiptHandle": "not-a-handle"}])
    step("delete, bad handle", c.delete_message, QueueUrl=url, ReceiptHandle="not-a-handle")
    step("permission", c.add_permission, QueueUrl=url, Label="p1",
         AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    step("permission removed", c.remove_permission, QueueUrl=url, Label="p1")
    step("dead-letter sources", c.list_dead_letter_source_queues, QueueUrl=url)
    step("purge", c.purge_queue, QueueUrl=url)
    step("purge again", c.purge_queue, QueueUrl=url)
    step("delete queue", c.delete_queue, QueueUrl=url)
    step("send to deleted", c.send_message, QueueUrl=url, MessageBody="x")
    return steps


class BothProtocols(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.q = sqs_client(self.tidepool, "query", validate=False)
        self.j = sqs_client(self.tidepool, "json", validate=False)

    maxDiff = None

    def test_every_operation_and_error_is_the_same_in_both_protocols(self):
        q_steps = scenario(self.q, "query")
        j_steps = scenario(self.j, "json")
        self.assertEqual([s[0] for s in q_steps], [s[0] for s in j_steps])
        q_ids, j_ids = {}, {}
        for (name, qr), (_, jr) in zip(q_steps, j_steps):
            with self.subTest(step=name):
                self.assertEqual(normalise(qr, q_ids), normalise(jr, j_ids))
        # the scenario did reach the service, good calls and bad
        results = dict(q_steps)
        self.assertEqual(results["get url, missing"],
                         ("error", "AWS.SimpleQueueService.NonExistentQueue", NO_QUEUE_QUERY, 400))
        self.assertEqual(dict(j_steps)["get url, missing"],
                         ("error", "AWS.SimpleQueueService.NonExistentQueue", NO_QUEUE_JSON, 400))
        self.assertEqual(results["send to deleted"][1:], dict(j_steps)["send to deleted"][1:2] +
                         (NO_QUEUE_QUERY, 400))
        self.assertEqual(results["send batch, repeated ids"][:2],
                         ("error", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"))
        self.assertEqual(results["purge again"][0:2],
                         ("error", "AWS.SimpleQueueService.PurgeQueueInProgress"))
        self.assertEqual(results["purge again"][3], 403)
        self.assertEqual(results["create again, other attributes"][1], "QueueAlreadyExists")
        self.assertEqual(len(results["receive"][1]["Messages"]), 3)   # the empty body is refused

    def test_a_message_crosses_protocols_intact(self):
        url = self.q.create_queue(QueueName="cross")["QueueUrl"]
        self.assertEqual(self.j.get_queue_url(QueueName="cross")["QueueUrl"], url)
        attrs = {"bin": {"DataType": "Binary", "BinaryValue": b"\x00\xff<&>"},
                 "num": {"DataType": "Number.int", "StringValue": "42"},
                 "str": {"DataType": "String", "StringValue": "\u00e9 <&> \"'"}}
        for sender, receiver in ((self.q, self.j), (self.j, self.q)):
            body = "from %s: <b>&amp;</b> \u2603 \r\n" % sender.meta.service_model.protocol
            sent = sender.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attrs)
            got = receiver.receive_message(QueueUrl=url, MessageAttributeNames=["All"],
                                           AttributeNames=["All"])["Messages"]
            self.assertEqual(len(got), 1)
            m = got[0]
            self.assertEqual(m["Body"], body)
            self.assertEqual(m["MessageId"], sent["MessageId"])
            self.assertEqual(m["MD5OfBody"], sent["MD5OfMessageBody"])
            self.assertEqual(m["MD5OfMessageAttributes"], sent["MD5OfMessageAttributes"])
            self.assertEqual(m["MessageAttributes"], attrs)
            receiver.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def test_the_modelled_exception_classes(self):
        # boto3 maps the query code (query) or x-amzn-query-error
        # (JSON, 1.43) to the model's exception class
        c = self.client("sqs")
        with self.assertRaises(c.exceptions.QueueDoesNotExist) as cm:
            c.get_queue_url(QueueName="absent")
        self.assertEqual(cm.exception.response["Error"]["Code"],
                         "AWS.SimpleQueueService.NonExistentQueue")
        self.assertEqual(cm.exception.response["Error"]["Type"], "Sender")
        if native_protocol() == "json":
            self.assertEqual(cm.exception.response["Error"]["QueryErrorCode"], "QueueDoesNotExist")


class OnTheWire(TidepoolTestCase):
    """What the SDKs parse away: envelopes, headers, routes."""

    def query(self, params, path="/", method="POST", headers=None):
        form = urllib.parse.urlencode(params)
        h = {"Authorization": AUTH, "X-Amz-Date": "20240101T000000Z"}
        if method == "POST":
            h["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
            status, hdrs, body = self.tidepool.raw("POST", path, form, dict(h, **(headers or {})))
        else:
            status, hdrs, body = self.tidepool.raw("GET", path + "?" + form, b"",
                                                   dict(h, **(headers or {})))
        return status, hdrs, ET.fromstring(body) if body.startswith(b"<") else body

    def json_call(self, op, payload, headers=None):
        h = {"Authorization": AUTH, "X-Amz-Date": "20240101T000000Z",
             "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS." + op}
        h.update(headers or {})
        status, hdrs, body = self.tidepool.raw("POST", "/", json.dumps(payload), h)
        return status, hdrs, json.loads(body)

    def test_query_response_envelope(self):
        status, hdrs, root = self.query({"Action": "CreateQueue", "Version": "2012-11-05",
                                         "QueueName": "env"})
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "text/xml")
        self.assertEqual(root.tag, NS + "CreateQueueResponse")
        self.assertEqual([c.tag for c in root], [NS + "CreateQueueResult", NS + "ResponseMetadata"])
        url = root.find(NS + "CreateQueueResult/" + NS + "QueueUrl").text
        self.assertRegex(url, r"^%s/\d{12}/env$" % re.escape(self.endpoint))
        self.assertEqual(root.find(NS + "ResponseMetadata/" + NS + "RequestId").text,
                         hdrs["x-amzn-requestid"])
        # an operation without a result: only the metadata
        status, _, root = self.query({"Action": "DeleteQueue", "QueueUrl": url})
        self.assertEqual(status, 200)
        self.assertEqual([c.tag for c in root], [NS + "ResponseMetadata"])

    def test_query_error_envelope(self):
        status, hdrs, root = self.query({"Action": "GetQueueUrl", "QueueName": "nope"})
        self.assertEqual(status, 400)
        self.assertEqual(hdrs["content-type"], "text/xml")
        self.assertEqual(root.tag, NS + "ErrorResponse")
        err = root.find(NS + "Error")
        self.assertEqual([c.tag for c in err],
                         [NS + "Type", NS + "Code", NS + "Message", NS + "Detail"])
        self.assertEqual(err.find(NS + "Type").text, "Sender")
        self.assertEqual(err.find(NS + "Code").text, "AWS.SimpleQueueService.NonExistentQueue")
        self.assertEqual(err.find(NS + "Message").text, NO_QUEUE_QUERY)
        self.assertEqual(root.find(NS + "RequestId").text, hdrs["x-amzn-requestid"])

    def test_json_error_carries_the_query_code(self):
        status, hdrs, body = self.json_call("GetQueueUrl", {"QueueName": "nope"})
        self.assertEqual(status, 400)
        self.assertEqual(hdrs["content-type"], "application/x-amz-json-1.0")
        self.assertEqual(body, {"__type": "com.amazonaws.sqs#QueueDoesNotExist",
                                "message": "The specified queue does not exist."})
        self.assertEqual(hdrs["x-amzn-query-error"], "AWS.SimpleQueueService.NonExistentQueue;Sender")
        # a code without a model shape is the same in both places
        _, _, made = self.json_call("CreateQueue", {"QueueName": "j"})
        status, hdrs, body = self.json_call("ReceiveMessage", {"QueueUrl": made["QueueUrl"],
                                                               "MaxNumberOfMessages": 0})
        self.assertEqual(status, 400)
        self.assertEqual(body["__type"], "com.amazonaws.sqs#InvalidParameterValue")
        self.assertEqual(hdrs["x-amzn-query-error"], "InvalidParameterValue;Sender")

    def test_dynamodb_errors_have_no_query_header(self):
        status, hdrs, body = self.tidepool.ddb_raw("DescribeTable", {"TableName": "nope"})
        self.assertEqual(status, 400)
        self.assertNotIn("x-amzn-query-error", hdrs)
        self.assertEqual(body["__type"], "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException")

    def test_get_with_the_action_in_the_url(self):
        self.query({"Action": "CreateQueue", "QueueName": "g"})
        status, _, root = self.query({"Action": "ListQueues", "Version": "2012-11-05"}, method="GET")
        self.assertEqual(status, 200)
        urls = [u.text for u in root.iter(NS + "QueueUrl")]
        self.assertEqual(len(urls), 1)
        self.assertTrue(urls[0].endswith("/g"))

    def test_post_to_the_queue_url_path(self):
        _, _, root = self.query({"Action": "CreateQueue", "QueueName": "pathq"})
        url = root.find(NS + "CreateQueueResult/" + NS + "QueueUrl").text
        path = urllib.parse.urlsplit(url).path
        status, _, root = self.query({"Action": "SendMessage", "MessageBody": "via path"}, path=path)
        self.assertEqual(status, 200)
        status, _, root = self.query({"Action": "ReceiveMessage"}, path=path)
        self.assertEqual(status, 200)
        self.assertEqual(root.find(".//" + NS + "Body").text, "via path")

    def test_queue_urls_name_the_host_the_client_used(self):
        _, _, root = self.query({"Action": "CreateQueue", "QueueName": "hosted"},
                                headers={"Host": "sqs.example.test:9324"})
        url = root.find(NS + "CreateQueueResult/" + NS + "QueueUrl").text
        self.assertRegex(url, r"^http://sqs\.example\.test:9324/\d{12}/hosted$")
        status, hdrs, body = self.json_call("GetQueueUrl", {"QueueName": "hosted"},
                                            headers={"Host": "other.test"})
        self.assertEqual(status, 200)
        self.assertRegex(body["QueueUrl"], r"^http://other\.test/\d{12}/hosted$")

    def test_an_unknown_action(self):
        status, _, root = self.query({"Action": "Frobnicate"})
        self.assertEqual(status, 400)
        self.assertEqual(root.find(NS + "Error/" + NS + "Code").text, "InvalidAction")
        self.assertEqual(root.find(NS + "Error/" + NS + "Type").text, "Sender")

    def test_a_query_without_credentials(self):
        form = urllib.parse.urlencode({"Action": "ListQueues"})
        status, _, body = self.tidepool.raw("POST", "/", form, {
            "Content-Type": "application/x-www-form-urlencoded"})
        root = ET.fromstring(body)
        self.assertEqual(status, 403)
        self.assertEqual(root.find(NS + "Error/" + NS + "Code").text, "MissingAuthenticationToken")
        self.assertEqual(root.find(NS + "Error/" + NS + "Message").text,
                         "Request is missing Authentication Token")

    def test_each_access_key_is_its_own_account(self):
        a = sqs_client(self.tidepool, "query", access_key="AKIDALPHA")
        b = sqs_client(self.tidepool, "json", access_key="AKIDBETA")
        ua = a.create_queue(QueueName="mine")["QueueUrl"]
        ub = b.create_queue(QueueName="mine")["QueueUrl"]
        self.assertNotEqual(ua, ub)
        self.assertEqual(a.list_queues().get("QueueUrls"), [ua])
        self.assertEqual(b.list_queues().get("QueueUrls"), [ub])


class BothClis(TidepoolTestCase):
    """AWS CLI v2 (query) and v1 (JSON) print the same."""

    def run_both(self, *args):
        out = {}
        for cli in ("v2", "v1"):
            rc, parsed, err = self.aws(*args, cli=cli)
            line = err.strip().splitlines()[-1] if err.strip() else ""
            out[cli] = (rc == 0, parsed, line)
        return out

    def test_same_output_and_errors(self):
        for cli in ("v2", "v1"):
            self.aws("sqs", "create-queue", "--queue-name", "cli-" + cli, cli=cli, expect_rc=0)
        r = self.run_both("sqs", "get-queue-url", "--queue-name", "absent")
        # CLI v2 speaks the query protocol, v1 JSON: only the wording differs
        self.assertEqual(r["v2"][:2], r["v1"][:2])
        self.assertFalse(r["v2"][0])
        self.assertEqual(r["v2"][2].replace(NO_QUEUE_QUERY, NO_QUEUE_JSON), r["v1"][2])
        self.assertIn("(AWS.SimpleQueueService.NonExistentQueue)", r["v2"][2])
        self.assertTrue(r["v2"][2].endswith(NO_QUEUE_QUERY), r["v2"][2])
        self.assertTrue(r["v1"][2].endswith(NO_QUEUE_JSON), r["v1"][2])
        sent = {}
        for cli in ("v2", "v1"):
            _, url, _ = self.aws("sqs", "get-queue-url", "--queue-name", "cli-" + cli, cli=cli,
                                 expect_rc=0)
            _, sent[cli], _ = self.aws(
                "sqs", "send-message", "--queue-url", url["QueueUrl"], "--message-body", "a <b> & c",
                "--message-attributes", '{"k":{"DataType":"String","StringValue":"v"}}',
                cli=cli, expect_rc=0)
            _, got, _ = self.aws("sqs", "receive-message", "--queue-url", url["QueueUrl"],
                                 "--message-attribute-names", "All", cli=cli, expect_rc=0)
            m = got["Messages"][0]
            self.assertEqual(m["Body"], "a <b> & c")
            self.assertEqual(m["MessageAttributes"], {"k": {"DataType": "String", "StringValue": "v"}})
            sent[cli].pop("MessageId")
        self.assertEqual(sent["v2"], sent["v1"])


if __name__ == "__main__":
    unittest.main()
