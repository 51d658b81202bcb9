"""test_bad_input — a matrix of bad requests, byte for byte, per protocol.

For DynamoDB (JSON 1.0), SQS (JSON 1.0 and the query protocol), Kinesis
(JSON 1.1 and CBOR) and Lambda (REST JSON): malformed and truncated bodies,
wrong and missing content types, invalid UTF-8, 10,000-deep nesting,
numbers with 1,000 digits, bodies above the service's limit and above the
server's 32 MiB cap, unknown targets and actions, missing and garbage
Authorization headers, and requests in another protocol's form. Every bad
request is a write that would change something had it been accepted; each
must get the service's error shape and status, the server must answer a
health check right after, and at the end of each service's cases its table,
queue, stream or function must be as before.

Where the wording comes from: the envelopes and codes follow botocore's
models (error shapes, protocols) and what AWS answers (the
SerializationException for a body that is not UTF-8 JSON, with no message,
is what DynamoDB answered the SDKs that sent Latin-1: aws-sdk-js#46,
aws-sdk-php#1536). Not verified against AWS: the answers to 10,000-deep
nesting, to an out-of-range JSON integer (tidepool narrows it the way Java
does), to a body over the server's cap (413, empty body), to a garbage
Authorization header (treated as missing), and SQS's and Lambda's answers
to a body that is not JSON.
"""
import base64
import json
import socket
import unittest
import zlib

from tidepool import TidepoolTestCase

try:
    import cbor2
except ImportError:  # the image's python3
    cbor2 = None

KEY = "AKIDTIDEPOOL"
DATE = "20240101T000000Z"
CAP = 32 * 1024 * 1024
JSON10 = "application/x-amz-json-1.0"
JSON11 = "application/x-amz-json-1.1"
CBOR = "application/x-amz-cbor-1.1"
FORM = "application/x-www-form-urlencoded"
DEEP = 10000
DIGITS = "1" * 1000


def auth(service):
    return ("AWS4-HMAC-SHA256 Credential=%s/20240101/us-east-1/%s/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=00" % (KEY, service))


def deep_json(n=DEEP):
    return b'{"a":' * n + b"1" + b"}" * n


class BadInput(TidepoolTestCase):
    # --- plumbing -----------------------------------------------------------

    def send(self, method, path, body, headers):
        if isinstance(body, str):
            body = body.encode()
        return self.tidepool.raw(method, path, body, headers)

    def truncated(self, method, path, body, headers, missing=100):
        """Announces len(body)+missing bytes, sends body, closes. There is
        no one left to answer; the server must drop it."""
        if isinstance(body, str):
            body = body.encode()
        tp = self.tidepool
        s = socket.create_connection((tp.host, tp.port))
        try:
            head = "%s %s HTTP/1.1\r\nHost: %s:%d\r\n" % (method, path, tp.host, tp.port)
            for k, v in headers.items():
                head += "%s: %s\r\n" % (k, v)
            head += "Content-Length: %d\r\n\r\n" % (len(body) + missing)
            s.sendall(head.encode() + body)
        finally:
            s.close()
        self.assertServing()

    def assertServing(self):
        st, body = self.tidepool.control("GET", "/_tidepool/health")
        self.assertEqual(st, 200, "the server stopped answering")
        self.assertEqual(body["status"], "ok")

    def assertJsonError(self, resp, status, type_, message=None, crc=False):
        st, hdrs, body = resp
        self.assertEqual(st, status, body[:300])
        doc = json.loads(body.decode("utf-8"))   # valid UTF-8 JSON, always
        self.assertEqual(doc["__type"], type_, body[:300])
        if message is None:
            self.assertNotIn("message", doc)
        elif message is not ...:
            self.assertEqual(doc.get("message"), message)
        if crc:
            self.assertEqual(int(hdrs["x-amz-crc32"]), zlib.crc32(body))
        self.assertServing()
        return doc

    def assert404Unknown(self, resp):
        st, hdrs, body = resp
        self.assertEqual((st, body), (404, b"<UnknownOperationException/>\n"))
        self.assertServing()

    def assert413(self, resp):
        self.assertEqual(resp[0], 413, resp[2][:300])
        self.assertServing()

    # --- DynamoDB ---------------------------------------------------------

    def ddb_headers(self, op="PutItem", ctype=JSON10, authz=True):
        h = {"X-Amz-Date": DATE, "X-Amz-Target": "DynamoDB_20120810." + op}
        if ctype:
            h["Content-Type"] = ctype
        if authz is True:
            h["Authorization"] = auth("dynamodb")
        elif authz:
            h["Authorization"] = authz
        return h

    def ddb_snapshot(self, ddb):
        return sorted(json.dumps(i, sort_keys=True) for i in ddb.scan(TableName="tab")["Items"]), \
            ddb.list_tables()["TableNames"]

    def test_dynamodb(self):
        ddb = self.client()
        ddb.create_table(TableName="tab", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
        ddb.put_item(TableName="tab", Item={"k": {"S": "old"}, "v": {"N": "1"}})
        before = self.ddb_snapshot(ddb)
        good = json.dumps({"TableName": "tab", "Item": {"k": {"S": "new"}, "v": {"S": "x"}}})
        ser = "com.amazon.coral.service#SerializationException"
        val = "com.amazon.coral.validate#ValidationException"
        post = lambda body, **kw: self.send("POST", "/", body, self.ddb_headers(**kw))

        self.assertEqual(post(good[:-1] + ',"x":')[0], 400)
        for body in (good[:-5], good + "}", "[" * DEEP + "]" * DEEP,
                     b'{"TableName":"tab","Item":{"k":{"S":"new\xff"}}}',   # invalid UTF-8
                     b'{"TableName":"t\xc3\x28","Item":{"k":{"S":"new"}}}',
                     b'{"TableName":"tab","Item":{"k":{"S":"new"},"v":' + deep_json() + b"}}"):
            self.assertJsonError(post(body), 400, ser, None, crc=True)
        self.truncated("POST", "/", good, self.ddb_headers())
        # wrong or missing content type: DynamoDB's bare 404
        for ct in ("text/plain", None, FORM, CBOR):
            self.assert404Unknown(post(good, ctype=ct))
        # the SQS query form and CBOR sent to a DynamoDB target
        self.assert404Unknown(post("Action=PutItem&TableName=tab", ctype=FORM))
        self.assert404Unknown(post(cbor2.dumps(json.loads(good)) if cbor2 else b"\xa0", ctype=CBOR))
        # 1,000 digits: as a number attribute, and as a JSON integer
        self.assertJsonError(
            post(json.dumps({"TableName": "tab", "Item": {"k": {"S": "new"}, "v": {"N": DIGITS}}})),
            400, val, "Number overflow. Attempting to store a number with magnitude larger than "
                      "supported range")
        self.assertJsonError(post('{"TableName":"tab","Limit":%s}' % DIGITS, op="Scan"), 400, val, ...)
        # 32 levels of M are DynamoDB's own limit
        nested = b'{"M":{"a":' * 40 + b'{"S":"x"}' + b"}}" * 40
        self.assertJsonError(post(b'{"TableName":"tab","Item":{"k":{"S":"new"},"v":' + nested + b"}}"),
                             400, val, "Nesting Levels have exceeded supported limits: Attributes "
                                       "in the item have nested levels beyond supported limit")
        # above DynamoDB's 16 MB request limit, and above the server's cap
        pad = json.dumps({"TableName": "tab", "Item": {"k": {"S": "new"}, "v": {"S": "x" * (17 << 20)}}})
        self.assert413(post(pad))
        self.assert413(post(b'{"TableName":"tab","Item":{"k":{"S":"' + b"a" * (CAP + 1) + b'"}}}'))
        self.assertJsonError(post(good, op="PutItemz"), 400,
                             "com.amazon.coral.service#UnknownOperationException", None)
        for authz in (None, "garbage"):
            self.assertJsonError(post(good, authz=authz), 400,
                                 "com.amazon.coral.service#MissingAuthenticationTokenException",
                                 "Request is missing Authentication Token")
        self.assertEqual(self.ddb_snapshot(ddb), before)

    # --- SQS ----------------------------------------------------------------

    def sqs_state(self, sqs, url):
        a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return (sqs.list_queues().get("QueueUrls"), a["ApproximateNumberOfMessages"],
                a["ApproximateNumberOfMessagesNotVisible"], a["VisibilityTimeout"])

    def test_sqs_json_and_query(self):
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="one")
        before = self.sqs_state(sqs, url)
        good = json.dumps({"QueueUrl": url, "MessageBody": "two"})

        def jpost(body, op="SendMessage", ctype=JSON10, authz=True):
            h = {"X-Amz-Date": DATE, "X-Amz-Target": "AmazonSQS." + op}
            if ctype:
                h["Content-Type"] = ctype
            if authz is True:
                h["Authorization"] = auth("sqs")
            elif authz:
                h["Authorization"] = authz
            return self.send("POST", "/", body, h)

        ser = "com.amazon.coral.service#SerializationException"
        for body in (good[:-3], "[" * DEEP + "]" * DEEP,
                     b'{"QueueUrl":"' + url.encode() + b'","MessageBody":"\xff\xfe"}',
                     b'{"QueueUrl":"' + url.encode() + b'","MessageBody":"a","x":' + deep_json() + b"}"):
            self.assertJsonError(jpost(body), 400, ser, None)
        self.truncated("POST", "/", good, {"X-Amz-Target": "AmazonSQS.SendMessage",
                                           "Content-Type": JSON10, "Authorization": auth("sqs"),
                                           "X-Amz-Date": DATE})
        self.assert404Unknown(jpost(good, ctype="text/plain"))
        self.assert404Unknown(jpost(good, ctype=None))
        self.assertJsonError(jpost(json.dumps({"QueueUrl": url, "MessageBody": "x" * ((1 << 20) + 1)})),
                             400, "com.amazonaws.sqs#InvalidParameterValue",
                             "One or more parameters are invalid. Reason: Message must be shorter "
                             "than 1048576 bytes.")
        self.assertJsonError(jpost(json.dumps({"QueueUrl": url, "DelaySeconds": int(DIGITS[:30]),
                                               "MessageBody": "x"})), 400,
                             "com.amazonaws.sqs#InvalidParameterValue", ...)
        self.assert413(jpost(b'{"QueueUrl":"' + b"a" * (CAP + 1) + b'"}'))
        self.assertJsonError(jpost(good, op="SendMessagez"), 400,
                             "com.amazon.coral.service#UnknownOperationException", None)
        for authz in (None, "garbage"):
            self.assertJsonError(jpost(good, authz=authz), 400,
                                 "com.amazon.coral.service#MissingAuthenticationTokenException",
                                 "Request is missing Authentication Token")

        # the query protocol (form body, XML answers)
        def qpost(body, authz=True, ctype=FORM):
            h = {"X-Amz-Date": DATE}
            if ctype:
                h["Content-Type"] = ctype
            if authz is True:
                h["Authorization"] = auth("sqs")
            elif authz:
                h["Authorization"] = authz
            return self.send("POST", "/", body, h)

        def assertXmlError(resp, status, code, message=None):
            st, hdrs, body = resp
            self.assertEqual(st, status, body[:300])
            text = body.decode("utf-8")
            self.assertIn("<Code>%s</Code>" % code, text)
            if message is not None:
                self.assertIn("<Message>%s</Message>" % message, text)
            self.assertTrue(hdrs["content-type"].startswith("text/xml"))
            self.assertServing()

        form = "Action=SendMessage&Version=2012-11-05&QueueUrl=%s&MessageBody=" % url
        assertXmlError(qpost("Action=SendMessagez&Version=2012-11-05"), 400, "InvalidAction",
                       "The action SendMessagez is not valid for this endpoint.")
        assertXmlError(qpost(form + "x" * ((1 << 20) + 1)), 400, "InvalidParameterValue",
                       "One or more parameters are invalid. Reason: Message must be shorter "
                       "than 1048576 bytes.")
        assertXmlError(qpost("Action=SendMessage&Version=2012-11-05&MessageBody=x"), 400,
                       "MissingParameter", "The request must contain the parameter QueueUrl.")
        assertXmlError(qpost(form + "x&DelaySeconds=" + DIGITS), 400, "InvalidParameterValue")
        for authz in (None, "garbage"):
            assertXmlError(qpost(form + "x", authz=authz), 403, "MissingAuthenticationToken",
                           "Request is missing Authentication Token")
        self.truncated("POST", "/", form + "x", {"Content-Type": FORM, "Authorization": auth("sqs"),
                                                 "X-Amz-Date": DATE})
        self.assert413(qpost(form + "a" * (CAP + 1)))
        # JSON sent as a form, and a form without an Action
        self.assert404Unknown(qpost(good, ctype=None))
        self.assert404Unknown(qpost("Version=2012-11-05&QueueUrl=" + url))
        self.assertEqual(self.sqs_state(sqs, url), before)

    # --- Kinesis --------------------------------------------------------------

    def kinesis_state(self, kin):
        shard = kin.list_shards(StreamName="s")["Shards"][0]["ShardId"]
        it = kin.get_shard_iterator(StreamName="s", ShardId=shard,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        recs = kin.get_records(ShardIterator=it)["Records"]
        return kin.list_streams()["StreamNames"], [r["Data"] for r in recs]

    def kpost(self, body, op="PutRecord", ctype=JSON11, authz=True):
        h = {"X-Amz-Date": DATE, "X-Amz-Target": "Kinesis_20131202." + op}
        if ctype:
            h["Content-Type"] = ctype
        if authz is True:
            h["Authorization"] = auth("kinesis")
        elif authz:
            h["Authorization"] = authz
        return self.send("POST", "/", body, h)

    def kinesis_stream(self):
        kin = self.client("kinesis")
        kin.create_stream(StreamName="s", ShardCount=1)
        self.tidepool.advance(60000)
        kin.put_record(StreamName="s", PartitionKey="p", Data=b"one")
        return kin

    def test_kinesis_json(self):
        kin = self.kinesis_stream()
        before = self.kinesis_state(kin)
        good = json.dumps({"StreamName": "s", "PartitionKey": "p",
                           "Data": base64.b64encode(b"two").decode()})
        for body in (good[:-2], "[" * DEEP + "]" * DEEP, b'{"StreamName":"s","PartitionKey":"\xff"}',
                     b'{"StreamName":"s","PartitionKey":"p","Data":"dHdv","x":' + deep_json() + b"}"):
            self.assertJsonError(self.kpost(body), 400, "SerializationException", None)
        self.truncated("POST", "/", good, {"X-Amz-Target": "Kinesis_20131202.PutRecord",
                                           "Content-Type": JSON11, "Authorization": auth("kinesis"),
                                           "X-Amz-Date": DATE})
        self.assert404Unknown(self.kpost(good, ctype="text/plain"))
        self.assert404Unknown(self.kpost(good, ctype=None))
        self.assert404Unknown(self.kpost("Action=PutRecord&StreamName=s", ctype=FORM))
        big = base64.b64encode(b"a" * ((10 << 20) + 1)).decode()
        self.assertJsonError(
            self.kpost(json.dumps({"StreamName": "s", "PartitionKey": "p", "Data": big})), 400,
            "ValidationException",
            "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=10485761 "
            "cap=10485761]' at 'data' failed to satisfy constraint: Member must have length less "
            "than or equal to 10485760")
        self.assertJsonError(self.kpost('{"Limit":%s}' % DIGITS, op="ListStreams"), 400,
                             "ValidationException", ...)
        self.assert413(self.kpost(b'{"StreamName":"' + b"a" * (CAP + 1) + b'"}'))
        self.assertJsonError(self.kpost(good, op="PutRecordz"), 400, "UnknownOperationException", None)
        for authz in (None, "garbage"):
            self.assertJsonError(self.kpost(good, authz=authz), 400,
                                 "MissingAuthenticationTokenException",
                                 "Request is missing Authentication Token")
        self.assertEqual(self.kinesis_state(kin), before)

    @unittest.skipUnless(cbor2, "cbor2 is not installed")
    def test_kinesis_cbor(self):
        kin = self.kinesis_stream()
        before = self.kinesis_state(kin)
        good = cbor2.dumps({"StreamName": "s", "PartitionKey": "p", "Data": b"two"})

        def assertCborError(resp, type_):
            st, hdrs, body = resp
            self.assertEqual(st, 400, body[:200])
            self.assertEqual(hdrs["content-type"], CBOR)
            self.assertEqual(cbor2.loads(body)["__type"], type_)
            self.assertServing()

        for body in (good[:-2], b"\xbf", b"{}", b"\x81" * DEEP + b"\x00",
                     b"\xa2jStreamNameb\xff\xfelPartitionKeyap"):   # text that is not UTF-8
            assertCborError(self.kpost(body, ctype=CBOR, op="PutRecord"), "SerializationException")
        # a 1,024-bit integer
        assertCborError(self.kpost(b"\xa1eLimit\xc2\x58\x80" + b"\x01" * 128, ctype=CBOR,
                                   op="ListStreams"), "SerializationException")
        self.truncated("POST", "/", good, {"X-Amz-Target": "Kinesis_20131202.PutRecord",
                                           "Content-Type": CBOR, "Authorization": auth("kinesis"),
                                           "X-Amz-Date": DATE})
        assertCborError(self.kpost(b"\xa0", ctype=CBOR, op="PutRecordz"), "UnknownOperationException")
        self.assert413(self.kpost(b"\x5a" + (CAP + 1).to_bytes(4, "big") + b"a" * (CAP + 1), ctype=CBOR))
        big = cbor2.dumps({"StreamName": "s", "PartitionKey": "p", "Data": b"a" * ((10 << 20) + 1)})
        assertCborError(self.kpost(big, ctype=CBOR), "ValidationException")
        self.assertEqual(self.kinesis_state(kin), before)

    # --- Lambda ---------------------------------------------------------------

    def test_lambda_rest(self):
        lam = self.client("lambda")
        import io
        import zipfile
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("bootstrap", "#!/bin/sh\n")
        lam.create_function(FunctionName="f", Runtime="provided.al2023", Handler="echo",
                            Role="arn:aws:iam::123456789012:role/r", Code={"ZipFile": buf.getvalue()})

        def state():
            fs = lam.list_functions()["Functions"]
            return [(f["FunctionName"], f["Timeout"], f["CodeSha256"], f["MemorySize"]) for f in fs]

        before = state()
        path = "/2015-03-31/functions/f/configuration"
        good = json.dumps({"Timeout": 30})

        def put(body, ctype="application/json", authz=True, p=path, method="PUT"):
            h = {"X-Amz-Date": DATE}
            if ctype:
                h["Content-Type"] = ctype
            if authz is True:
                h["Authorization"] = auth("lambda")
            elif authz:
                h["Authorization"] = authz
            return self.send(method, p, body, h)

        def assertRestError(resp, status, type_, message=...):
            st, hdrs, body = resp
            self.assertEqual(st, status, body[:300])
            self.assertEqual(hdrs.get("x-amzn-errortype", "").split(":")[0], type_, hdrs)
            doc = json.loads(body.decode("utf-8"))
            if message is not ...:
                self.assertEqual(doc.get("message", doc.get("Message")), message)
            self.assertServing()

        unparsable = "Could not parse request body into json: Could not parse payload into json"
        for body in ("{", good + "x", "[" * DEEP + "]" * DEEP, b'{"Timeout":30,"Description":"\xff"}',
                     b'{"Timeout":30,"x":' + deep_json() + b"}", "Action=UpdateFunctionConfiguration",
                     cbor2.dumps({"Timeout": 30}) if cbor2 else b"\xa1gTimeout\x18\x1e"):
            assertRestError(put(body), 400, "InvalidRequestContentException", unparsable)
        self.truncated("PUT", path, good, {"Content-Type": "application/json",
                                           "Authorization": auth("lambda"), "X-Amz-Date": DATE})
        assertRestError(put('{"Timeout":%s}' % DIGITS), 400, "ValidationException", ...)
        assertRestError(put(b'"' + b"a" * ((6 << 20) + 1) + b'"', p="/2015-03-31/functions/f/invocations",
                            method="POST"), 413, "RequestEntityTooLargeException",
                        "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
        self.assert413(put(b'{"Description":"' + b"a" * (CAP + 1) + b'"}'))
        for authz in (None, "garbage"):
            assertRestError(put(good, authz=authz), 400, "MissingAuthenticationTokenException",
                            "Request is missing Authentication Token")
        # an unknown path, and DynamoDB's JSON sent to a Lambda path
        st, hdrs, _ = put(good, p="/2015-03-31/functionz/f")
        self.assertEqual(st, 404)
        self.assertEqual(hdrs.get("x-amzn-errortype"), "UnknownOperationException")
        self.assertServing()
        self.assertEqual(state(), before)


if __name__ == "__main__":
    unittest.main()
