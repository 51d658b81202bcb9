"""The port's HTTP surface, as DynamoDB's front end has it: the `GET /`
health line, CORS on every answer and OPTIONS preflights, gzip answers for
clients that ask, gzip/deflate request bodies, DynamoDB's 16 MB request
limit, SigV4 presigned in the query string, the JSON content type echoed,
and SerializationException's `Message` member."""
import binascii
import gzip
import json
import unittest
import zlib

from tidepool import TidepoolTestCase

AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDSURFACE/20240101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=00")


def headers(op, **extra):
    h = {"Content-Type": "application/x-amz-json-1.0",
         "X-Amz-Target": "DynamoDB_20120810." + op,
         "Authorization": AUTH, "X-Amz-Date": "20240101T000000Z"}
    h.update(extra)
    return h


class HttpSurface(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.client("dynamodb", access_key="AKIDSURFACE", retries=1)
        self.ddb.create_table(TableName="surface", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])

    def post(self, op, body, **extra):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        return self.tidepool.raw("POST", "/", body, headers(op, **extra))

    def test_get_slash_answers_the_health_line(self):
        status, h, data = self.tidepool.raw("GET", "/")
        self.assertEqual(status, 200)
        self.assertEqual(data, b"healthy: dynamodb.us-east-1.amazonaws.com ")
        self.assertTrue(h["content-type"].startswith("text/plain"))
        self.assertEqual(int(h["x-amz-crc32"]), binascii.crc32(data) & 0xFFFFFFFF)

    def test_every_answer_carries_cors_headers(self):
        status, h, _ = self.post("ListTables", {})
        self.assertEqual(status, 200)
        self.assertEqual(h["access-control-allow-origin"], "*")
        exposed = h["access-control-expose-headers"].lower().split(",")
        for name in ("x-amzn-requestid", "x-amzn-errortype", "x-amz-crc32"):
            self.assertIn(name, exposed)
        # errors too, and the other protocols on the port
        status, h, _ = self.post("DescribeTable", {"TableName": "missing"})
        self.assertEqual(status, 400)
        self.assertEqual(h["access-control-allow-origin"], "*")
        status, h, _ = self.tidepool.raw("GET", "/2015-03-31/functions/", b"",
                                         {"Authorization": AUTH.replace("dynamodb", "lambda"),
                                          "X-Amz-Date": "20240101T000000Z"})
        self.assertEqual(status, 200)
        self.assertEqual(h["access-control-allow-origin"], "*")

    def test_options_preflight_allows_what_the_browser_asks(self):
        status, h, data = self.tidepool.raw("OPTIONS", "/", b"", {
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-target,authorization,x-amz-date"})
        self.assertEqual(status, 200)
        self.assertEqual(data, b"")
        self.assertEqual(h["access-control-allow-origin"], "*")
        self.assertEqual(h["access-control-allow-methods"], "POST")
        self.assertEqual(h["access-control-allow-headers"],
                         "content-type,x-amz-target,authorization,x-amz-date")
        self.assertEqual(h["access-control-max-age"], "172800")
        # A preflight changes nothing and needs no auth.
        self.assertEqual(self.ddb.list_tables()["TableNames"], ["surface"])

    def test_gzip_answers_for_clients_that_accept_it(self):
        self.ddb.put_item(TableName="surface", Item={"pk": {"S": "k"}, "v": {"S": "x" * 2000}})
        status, h, data = self.post("GetItem", {"TableName": "surface", "Key": {"pk": {"S": "k"}}},
                                    **{"Accept-Encoding": "gzip"})
        self.assertEqual(status, 200)
        self.assertEqual(h.get("content-encoding"), "gzip")
        # The checksum covers the bytes on the wire, as DynamoDB computes it.
        self.assertEqual(int(h["x-amz-crc32"]), binascii.crc32(data) & 0xFFFFFFFF)
        doc = json.loads(gzip.decompress(data))
        self.assertEqual(doc["Item"]["v"]["S"], "x" * 2000)
        self.assertLess(len(data), 2000)
        # Without Accept-Encoding, or with gzip refused, the answer is plain.
        for ae in (None, "identity", "gzip;q=0"):
            extra = {"Accept-Encoding": ae} if ae else {}
            status, h, data = self.post("GetItem", {"TableName": "surface",
                                                    "Key": {"pk": {"S": "k"}}}, **extra)
            self.assertEqual(status, 200)
            self.assertNotIn("content-encoding", h)
            self.assertEqual(json.loads(data)["Item"]["pk"], {"S": "k"})

    def test_compressed_request_bodies(self):
        for enc, pack in (("gzip", gzip.compress), ("deflate", zlib.compress),
                          ("deflate", lambda b: zlib.compress(b)[2:-4])):   # raw deflate too
            item = {"pk": {"S": enc + str(len(pack(b"x")))}, "v": {"S": "packed"}}
            body = pack(json.dumps({"TableName": "surface", "Item": item}).encode())
            status, _, data = self.post("PutItem", body, **{"Content-Encoding": enc})
            self.assertEqual(status, 200, data)
            got = self.ddb.get_item(TableName="surface", Key={"pk": item["pk"]})["Item"]
            self.assertEqual(got["v"], {"S": "packed"})

    def test_broken_or_oversized_compressed_bodies_are_refused(self):
        good = gzip.compress(json.dumps({"TableName": "surface",
                                         "Item": {"pk": {"S": "b"}}}).encode())
        for broken in (good[:-6], b"not gzip at all", good + b"trailing"):
            status, _, data = self.post("PutItem", broken, **{"Content-Encoding": "gzip"})
            self.assertEqual(status, 400, data)
            self.assertTrue(json.loads(data)["__type"].endswith("#SerializationException"))
        self.assertNotIn("Item", self.ddb.get_item(TableName="surface", Key={"pk": {"S": "b"}}))
        # A small body that inflates past DynamoDB's 16 MB is 413 ...
        bomb = gzip.compress(b'{"TableName":"surface","Item":{"pk":{"S":"' + b"a" * (17 << 20)
                             + b'"}}}')
        status, _, _ = self.post("PutItem", bomb, **{"Content-Encoding": "gzip"})
        self.assertEqual(status, 413)
        # ... as is a plain one over 16 MB.
        big = b'{"TableName":"surface","Item":{"pk":{"S":"' + b"a" * (16 << 20) + b'"}}}'
        status, _, _ = self.post("PutItem", big)
        self.assertEqual(status, 413)

    def test_presigned_query_string_auth(self):
        qs = ("?X-Amz-Algorithm=AWS4-HMAC-SHA256"
              "&X-Amz-Credential=AKIDSURFACE%2F20240101%2Fus-east-1%2Fdynamodb%2Faws4_request"
              "&X-Amz-Date=20240101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00")
        h = headers("ListTables")
        del h["Authorization"]
        del h["X-Amz-Date"]
        status, _, data = self.tidepool.raw("POST", "/" + qs, "{}", h)
        self.assertEqual(status, 200, data)
        # the access key in the URL is the caller: its account sees the table
        self.assertEqual(json.loads(data)["TableNames"], ["surface"])
        status, _, data = self.tidepool.raw(
            "POST", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20240101T000000Z", "{}", h)
        self.assertEqual(status, 400)
        doc = json.loads(data)
        self.assertTrue(doc["__type"].endswith("#IncompleteSignatureException"), doc)
        self.assertIn("'X-Amz-Credential'", doc["message"])

    def test_application_json_is_echoed_on_answers_and_errors(self):
        for op, body, want in (("ListTables", {}, 200),
                               ("DescribeTable", {"TableName": "missing"}, 400),
                               ("ListTables", b"{not json", 400)):
            status, h, _ = self.post(op, body, **{"Content-Type": "application/json"})
            self.assertEqual(status, want)
            self.assertEqual(h["content-type"], "application/json")

    def test_serialization_exception_says_message_with_a_capital_m(self):
        status, _, data = self.post("PutItem", {"TableName": "surface",
                                                "Item": {"pk": {"B": "not base64!"}}})
        self.assertEqual(status, 400)
        doc = json.loads(data)
        self.assertTrue(doc["__type"].endswith("#SerializationException"), doc)
        self.assertIn("Message", doc)
        self.assertNotIn("message", doc)
        # ValidationException keeps the lower-case member.
        status, _, data = self.post("PutItem", {"TableName": "surface", "Item": {}})
        self.assertIn("message", json.loads(data))


class OversizedRequestHead(TidepoolTestCase):
    """A request line or header block past libmicrohttpd's connection memory
    (32 KiB) is answered 414 / 431 and the connection closed; the server
    keeps answering others."""

    def send_raw(self, data):
        import socket
        with socket.create_connection((self.tidepool.host, self.tidepool.port), timeout=30) as s:
            s.sendall(data)
            return s.recv(200)

    def test_long_request_line(self):
        got = self.send_raw(b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(got.startswith(b"HTTP/1.1 414 "), got)

    def test_long_header_and_many_headers(self):
        got = self.send_raw(b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 100000 +
                            b"\r\nContent-Length: 0\r\n\r\n")
        self.assertTrue(got.startswith(b"HTTP/1.1 431 "), got)
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
        got = self.send_raw(b"POST / HTTP/1.1\r\nHost: x\r\n" + many + b"Content-Length: 0\r\n\r\n")
        self.assertTrue(got.startswith(b"HTTP/1.1 431 "), got)
        self.assertEqual(self.client("dynamodb").list_tables()["TableNames"], [])


if __name__ == "__main__":
    unittest.main()
