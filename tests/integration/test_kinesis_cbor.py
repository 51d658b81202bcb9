"""Kinesis over CBOR (application/x-amz-cbor-1.1, what the AWS SDK for Java
and the KCL send), round-tripped with the cbor2 library: requests built
with cbor2, responses decoded with it. Blobs travel as byte strings,
timestamps as tag 1 with epoch milliseconds (the AWS SDK for Java's form;
RFC 8949's float seconds are accepted too), errors as the CBOR map
{"__type", "message"}, and a body that is not CBOR gets
SerializationException and changes nothing. What CBOR writes, JSON reads
(boto3) and the other way round.

cbor2 is Debian's python3-cbor2 (.ci/install-deps.sh); under a python
without it the module skips."""
import struct
import unittest

from tidepool import TidepoolTestCase

try:
    import cbor2
    import cbor2.decoder as cbor2_decoder
except ImportError:  # the image's python3
    cbor2 = None

CT = "application/x-amz-cbor-1.1"
T0_MS = 1704067200000   # the virtual clock's start


class AwsTime:
    """A tag-1 value as it came: AWS writes epoch milliseconds there, which
    cbor2's own tag-1 decoder would read as seconds."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return "AwsTime(%r)" % (self.value,)


def cbor_loads(data):
    # cbor2's pure-Python decoder keeps its tag handlers in a table; tag 1
    # is swapped for the length of one call.
    table = cbor2_decoder.semantic_decoders
    saved = table[1]
    table[1] = lambda dec: AwsTime(dec._decode())
    try:
        return cbor2_decoder.loads(data)
    finally:
        table[1] = saved


@unittest.skipIf(cbor2 is None, "cbor2 is not installed for this python")
class TestKinesisCbor(TidepoolTestCase):
    def send(self, operation, body):
        """(status, headers, body bytes) of one CBOR call."""
        headers = {
            "Content-Type": CT,
            "X-Amz-Target": "Kinesis_20131202." + operation,
            "Authorization": ("AWS4-HMAC-SHA256 Credential=AKIDTIDEPOOL/20240101/us-east-1/kinesis/"
                              "aws4_request, SignedHeaders=host, Signature=00"),
            "X-Amz-Date": "20240101T000000Z",
        }
        return self.tidepool.raw("POST", "/", body, headers)

    def call(self, operation, payload=None, raw_body=None):
        """(status, content type, decoded body) of one CBOR call."""
        body = raw_body if raw_body is not None else cbor2.dumps(payload if payload is not None else {})
        status, hdrs, data = self.send(operation, body)
        return status, hdrs.get("content-type"), cbor_loads(data) if data else None

    def ok(self, operation, payload=None, raw_body=None):
        status, ct, out = self.call(operation, payload, raw_body)
        self.assertEqual((status, ct), (200, CT), out)
        return out

    def make(self, name="s", shards=1):
        self.assertEqual(self.ok("CreateStream", {"StreamName": name, "ShardCount": shards}), {})

    def test_blobs_are_byte_strings_both_ways(self):
        self.make()
        blob = bytes(range(256)) + b"\x00\xff"
        put = self.ok("PutRecord", {"StreamName": "s", "Data": blob, "PartitionKey": "p\u00e9"})
        self.assertEqual(put["ShardId"], "shardId-000000000000")
        self.assertRegex(put["SequenceNumber"], r"^\d{56}$")
        batch = self.ok("PutRecords", {"StreamName": "s", "Records": [
            {"Data": b"one", "PartitionKey": "a"}, {"Data": b"", "PartitionKey": "b"}]})
        self.assertEqual(batch["FailedRecordCount"], 0)
        it = self.ok("GetShardIterator", {"StreamName": "s", "ShardId": "shardId-000000000000",
                                          "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        self.assertIsInstance(it, str)
        page = self.ok("GetRecords", {"ShardIterator": it})
        recs = page["Records"]
        self.assertEqual([r["Data"] for r in recs], [blob, b"one", b""])
        for r in recs:
            self.assertIsInstance(r["Data"], bytes)
            self.assertIsInstance(r["SequenceNumber"], str)
        self.assertEqual([r["PartitionKey"] for r in recs], ["p\u00e9", "a", "b"])
        self.assertEqual(page["MillisBehindLatest"], 0)
        # the same records through the JSON protocol (boto3)
        k = self.client("kinesis", retries=1)
        jit = k.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000",
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        self.assertEqual([r["Data"] for r in k.get_records(ShardIterator=jit)["Records"]], [blob, b"one", b""])
        # and what JSON wrote, CBOR reads as bytes
        k.put_record(StreamName="s", Data=b"\x01json", PartitionKey="j")
        page = self.ok("GetRecords", {"ShardIterator": page["NextShardIterator"]})
        self.assertEqual([r["Data"] for r in page["Records"]], [b"\x01json"])

    def test_timestamps_are_tag_1_milliseconds(self):
        self.make()
        self.tidepool.advance(1234)
        self.ok("PutRecord", {"StreamName": "s", "Data": b"x", "PartitionKey": "p"})
        it = self.ok("GetShardIterator", {"StreamName": "s", "ShardId": "shardId-000000000000",
                                          "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        status, _, data = self.send("GetRecords", cbor2.dumps({"ShardIterator": it}))
        self.assertEqual(status, 200)
        # tag 1 (0xc1) over a 64-bit unsigned integer: the arrival in ms
        self.assertIn(b"\xc1\x1b" + struct.pack(">Q", T0_MS + 1234), data)
        rec = cbor_loads(data)["Records"][0]
        self.assertIsInstance(rec["ApproximateArrivalTimestamp"], AwsTime)
        self.assertEqual(rec["ApproximateArrivalTimestamp"].value, T0_MS + 1234)
        summary = self.ok("DescribeStreamSummary", {"StreamName": "s"})["StreamDescriptionSummary"]
        self.assertEqual(summary["StreamCreationTimestamp"].value, T0_MS)
        # AT_TIMESTAMP from a tag-1 request value: milliseconds (the SDK's
        # form) and float seconds (RFC 8949's) name the same instant
        self.tidepool.advance(1000)
        self.ok("PutRecord", {"StreamName": "s", "Data": b"later", "PartitionKey": "p"})
        for ts in (cbor2.CBORTag(1, T0_MS + 2000), cbor2.CBORTag(1, (T0_MS + 2000) / 1000.0)):
            it = self.ok("GetShardIterator", {"StreamName": "s", "ShardId": "shardId-000000000000",
                                              "ShardIteratorType": "AT_TIMESTAMP",
                                              "Timestamp": ts})["ShardIterator"]
            self.assertEqual([r["Data"] for r in self.ok("GetRecords", {"ShardIterator": it})["Records"]],
                             [b"later"])

    def test_errors_in_the_cbor_envelope(self):
        status, ct, out = self.call("DescribeStream", {"StreamName": "nope"})
        self.assertEqual((status, ct), (400, CT))
        self.assertEqual(out["__type"], "ResourceNotFoundException")
        self.assertIn("nope", out["message"])
        # model validation answers in CBOR too
        status, ct, out = self.call("CreateStream", {"StreamName": "bad name!", "ShardCount": 1})
        self.assertEqual((status, ct, out["__type"]), (400, CT, "ValidationException"))
        self.assertIn("streamName", out["message"])
        # an unknown operation
        status, ct, out = self.call("NoSuchThing", {})
        self.assertEqual((status, out["__type"]), (400, "UnknownOperationException"))
        # a throttled call is an error like any other
        self.make()
        it = self.ok("GetShardIterator", {"StreamName": "s", "ShardId": "shardId-000000000000",
                                          "ShardIteratorType": "LATEST"})["ShardIterator"]
        for _ in range(5):
            self.ok("GetRecords", {"ShardIterator": it})
        status, ct, out = self.call("GetRecords", {"ShardIterator": it})
        self.assertEqual((status, ct, out["__type"]), (400, CT, "ProvisionedThroughputExceededException"))
        self.assertRegex(out["message"], r"^Rate exceeded for Shard - \d{12}/s/shardId-000000000000$")

    def test_malformed_cbor_changes_nothing(self):
        self.make()
        good = cbor2.dumps({"StreamName": "t", "ShardCount": 1})
        for body in (b"\xff\x00garbage", good[:-3], good + b"\x00", b"\xa1\x01\x02",  # int key
                     cbor2.dumps(["StreamName", "t"])):
            status, ct, out = self.call("CreateStream", raw_body=body)
            self.assertEqual((status, ct), (400, CT), body)
            self.assertEqual(out["__type"], "SerializationException", body)
        self.assertEqual(self.ok("ListStreams", {})["StreamNames"], ["s"])

    def test_indefinite_lengths(self):
        # an indefinite map holding an indefinite text string and an
        # indefinite byte string (chunked), as streaming encoders write them
        body = (b"\xbf" + cbor2.dumps("StreamName") + b"\x7f" + cbor2.dumps("in") + cbor2.dumps("def")
                + b"\xff" + cbor2.dumps("ShardCount") + cbor2.dumps(1) + b"\xff")
        self.assertEqual(self.ok("CreateStream", raw_body=body), {})
        body = (b"\xbf" + cbor2.dumps("StreamName") + cbor2.dumps("indef") + cbor2.dumps("PartitionKey")
                + cbor2.dumps("k") + cbor2.dumps("Data") + b"\x5f" + cbor2.dumps(b"ab") + cbor2.dumps(b"\x00c")
                + b"\xff\xff")
        self.ok("PutRecord", raw_body=body)
        it = self.ok("GetShardIterator", {"StreamName": "indef", "ShardId": "shardId-000000000000",
                                          "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        self.assertEqual(self.ok("GetRecords", {"ShardIterator": it})["Records"][0]["Data"], b"ab\x00c")


if __name__ == "__main__":
    unittest.main()
