"""The front door on the wire: routing, AWS's error envelopes for bad
requests, request ids and CRC32 — and that none of it changes state or
crashes the process."""
import json
import unittest
import zlib

from tidepool import TidepoolTestCase

AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDWIRE/20240101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0000")
JSON10 = "application/x-amz-json-1.0"


def headers(target="DynamoDB_20120810.ListTables", auth=AUTH, ctype=JSON10):
    h = {"X-Amz-Date": "20240101T000000Z"}
    if target is not None:
        h["X-Amz-Target"] = target
    if auth is not None:
        h["Authorization"] = auth
    if ctype is not None:
        h["Content-Type"] = ctype
    return h


class FrontDoor(TidepoolTestCase):
    def call(self, body=b"{}", method="POST", **kw):
        return self.tidepool.raw(method, "/", body, headers(**kw))

    def assertEnvelope(self, resp, status, type_, message=None):
        st, hdrs, body = resp
        self.assertEqual(st, status, body)
        doc = json.loads(body)
        self.assertEqual(doc["__type"], type_)
        if message is None:
            self.assertNotIn("message", doc)
        else:
            self.assertEqual(doc["message"], message)
        self.assertEqual(int(hdrs["x-amz-crc32"]), zlib.crc32(body))
        self.assertEqual(len(hdrs["x-amzn-requestid"]), 52)

    def test_success_has_request_id_and_crc32(self):
        st, hdrs, body = self.call()
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body), {"TableNames": []})
        self.assertEqual(hdrs["content-type"], JSON10)
        self.assertEqual(int(hdrs["x-amz-crc32"]), zlib.crc32(body))
        rid = hdrs["x-amzn-requestid"]
        self.assertRegex(rid, r"^[A-Z0-9]{52}$")
        self.assertNotEqual(rid, self.call()[1]["x-amzn-requestid"])

    def test_application_json_is_echoed(self):
        st, hdrs, _ = self.call(ctype="application/json")
        self.assertEqual(st, 200)
        self.assertEqual(hdrs["content-type"], "application/json")

    def test_wrong_method_and_content_type(self):
        for resp in (self.call(method="GET", body=b""),
                     self.call(ctype="text/plain"),
                     self.call(ctype="application/x-www-form-urlencoded")):
            st, hdrs, body = resp
            self.assertEqual(st, 404)
            self.assertEqual(body, b"<UnknownOperationException/>\n")
            self.assertEqual(int(hdrs["x-amz-crc32"]), zlib.crc32(body))

    def test_malformed_json_is_serialization_exception(self):
        for body in (b"{", b"[1,2]", b"not json", b'{"TableName": "x"} trailing', b'"str"'):
            self.assertEnvelope(self.call(body=body), 400,
                                "com.amazon.coral.service#SerializationException")

    def test_unknown_operation(self):
        for target in ("DynamoDB_20120810.NoSuchThing", "Nope_20990101.ListTables",
                       "DynamoDB_20120810", ""):
            self.assertEnvelope(self.call(target=target), 400,
                                "com.amazon.coral.service#UnknownOperationException")
        # The operation is checked before authentication, as AWS does.
        self.assertEnvelope(self.call(target="DynamoDB_20120810.Nope", auth=None), 400,
                            "com.amazon.coral.service#UnknownOperationException")

    def test_missing_authentication(self):
        for auth in (None, "", "Basic dXNlcjpwYXNz"):
            self.assertEnvelope(self.call(auth=auth), 400,
                                "com.amazon.coral.service#MissingAuthenticationTokenException",
                                "Request is missing Authentication Token")

    def test_incomplete_signature(self):
        auth = "AWS4-HMAC-SHA256 Signature=abc"
        self.assertEnvelope(
            self.call(auth=auth), 400, "com.amazon.coral.service#IncompleteSignatureException",
            "Authorization header requires 'Credential' parameter. "
            "Authorization header requires 'SignedHeaders' parameter. " + "Authorization=" + auth)

    def test_empty_body_is_serialization_exception(self):
        self.assertEnvelope(self.call(body=b""), 400,
                            "com.amazon.coral.service#SerializationException")

    def test_body_over_limit_is_413(self):
        big = b'{"TableName":"' + b"a" * (33 * 1024 * 1024) + b'"}'
        st, _, _ = self.call(target="DynamoDB_20120810.CreateTable", body=big)
        self.assertEqual(st, 413)
        self.assertEqual(self.call()[0], 200)  # still serving

    def test_bad_requests_change_nothing(self):
        create = json.dumps({
            "TableName": "table1",
            "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"}).encode()
        self.call(target="DynamoDB_20120810.CreateTable", body=create, auth=None)
        self.call(target="DynamoDB_20120810.CreateTable", body=create[:-1])
        self.call(target="DynamoDB_20120810.CreateTable", body=create, ctype="text/plain")
        st, _, body = self.call()
        self.assertEqual(json.loads(body), {"TableNames": []})
        st, _, body = self.call(target="DynamoDB_20120810.CreateTable", body=create)
        self.assertEqual(st, 200, body)

    def test_control_endpoints_need_no_auth(self):
        st, body = self.tidepool.control("GET", "/_tidepool/health")
        self.assertEqual(st, 200)
        self.assertEqual(body["status"], "ok")
        self.assertIn("dynamodb", body["services"])
        st, body = self.tidepool.control("GET", "/_tidepool/nothing-here")
        self.assertEqual(st, 404)


if __name__ == "__main__":
    unittest.main()
