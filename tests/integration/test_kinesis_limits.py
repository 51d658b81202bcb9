"""Kinesis shard limits in virtual time, through boto3 (both versions):
1,000 records/s and 1 MiB/s in per shard (PutRecord refused with
ProvisionedThroughputExceededException, PutRecords failing per record while
the others go in), 5 GetRecords calls/s and 2 MiB/s out, an ON_DEMAND
stream's write capacity, the config file's and the control API's rates,
the bucket list, and fault rules on Kinesis operations."""
import base64
import unittest

from tidepool import TidepoolTestCase

MIB = 1024 * 1024
PTE = "ProvisionedThroughputExceededException"


class LimitsCase(TidepoolTestCase):
    tidepool_kwargs = {"config": {"capacity": {"streams": {"slow": {"in_records": 10, "out_calls": 2}}}}}

    def setUp(self):
        super().setUp()
        self.k = self.client("kinesis", retries=1)

    def make(self, name="s", shards=1, mode=None):
        if mode:
            self.k.create_stream(StreamName=name, StreamModeDetails={"StreamMode": mode})
        else:
            self.k.create_stream(StreamName=name, ShardCount=shards)
        arn = self.k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
        self.account = arn.split(":")[4]
        return name

    def put_message(self, shard="shardId-000000000000", name="s"):
        return "Rate exceeded for shard %s in stream %s under account %s." % (shard, name, self.account)

    def get_message(self, shard="shardId-000000000000", name="s"):
        return "Rate exceeded for Shard - %s/%s/%s" % (self.account, name, shard)

    def put_batch(self, n, key="0", name="s"):
        return self.k.put_records(StreamName=name, Records=[
            {"Data": b"r%d" % i, "PartitionKey": "p", "ExplicitHashKey": key} for i in range(n)])

    def iterator(self, name="s", shard="shardId-000000000000"):
        return self.k.get_shard_iterator(StreamName=name, ShardId=shard,
                                         ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

    def count(self, name="s", shard="shardId-000000000000"):
        """Records in a shard, reading with the clock moving 1 s a page."""
        it, n = self.iterator(name, shard), 0
        while it:
            self.tidepool.advance(1000)
            page = self.k.get_records(ShardIterator=it)
            n += len(page["Records"])
            if not page["Records"]:
                return n
            it = page.get("NextShardIterator")
        return n

    def buckets(self, name="s"):
        status, body = self.tidepool.control("GET", "capacity")
        self.assertEqual(status, 200)
        return {(b.get("shard"), b["kind"]): b for b in body["buckets"]
                if b["service"] == "kinesis" and b["stream"] == name}


class TestWrites(LimitsCase):
    def test_put_record_records_per_second(self):
        self.make(shards=2)
        self.assertEqual(self.put_batch(500)["FailedRecordCount"], 0)
        self.assertEqual(self.put_batch(500)["FailedRecordCount"], 0)
        self.assertAwsError(lambda: self.k.put_record(StreamName="s", Data=b"x", PartitionKey="p",
                                                      ExplicitHashKey="0"),
                            PTE, self.put_message())
        # the other shard has its own buckets
        other = self.k.put_record(StreamName="s", Data=b"x", PartitionKey="p", ExplicitHashKey=str(2 ** 128 - 1))
        self.assertEqual(other["ShardId"], "shardId-000000000001")
        # 100 ms refills 100 records
        self.tidepool.advance(100)
        self.assertEqual(self.put_batch(100)["FailedRecordCount"], 0)
        self.assertAwsError(lambda: self.k.put_record(StreamName="s", Data=b"x", PartitionKey="p",
                                                      ExplicitHashKey="0"), PTE)
        b = self.buckets()
        self.assertEqual(b[("shardId-000000000000", "in_records")]["rate"], 1000)
        self.assertEqual(b[("shardId-000000000000", "in_records")]["throttled"], 2)
        self.assertEqual(b[("shardId-000000000000", "in_records")]["consumed"], 1100)
        self.assertEqual(b[("shardId-000000000001", "in_records")]["throttled"], 0)
        # refused records were not written
        self.assertEqual(self.count(), 1100)

    def test_put_records_fails_per_record(self):
        self.make(shards=2)
        self.put_batch(500)
        self.put_batch(499)
        hot, cold = "0", str(2 ** 128 - 1)
        recs = [{"Data": b"m%d" % i, "PartitionKey": "p", "ExplicitHashKey": hot if i % 2 == 0 else cold}
                for i in range(10)]
        out = self.k.put_records(StreamName="s", Records=recs)
        # shard 0 had room for one more record: the first hot one
        self.assertEqual(out["FailedRecordCount"], 4)
        res = out["Records"]
        self.assertEqual(len(res), 10)
        self.assertEqual(res[0]["ShardId"], "shardId-000000000000")
        for i in range(1, 10):
            if i % 2 == 1:
                self.assertEqual(res[i]["ShardId"], "shardId-000000000001")
                self.assertNotIn("ErrorCode", res[i])
            else:
                self.assertEqual(res[i]["ErrorCode"], PTE)
                self.assertEqual(res[i]["ErrorMessage"], self.put_message())
                self.assertNotIn("SequenceNumber", res[i])
        self.assertEqual(self.count(shard="shardId-000000000001"), 5)

    def test_bytes_per_second(self):
        self.make()
        # data + partition key: exactly 1 MiB, the whole bucket
        self.k.put_record(StreamName="s", Data=b"a" * (MIB - 1), PartitionKey="k")
        self.assertAwsError(lambda: self.k.put_record(StreamName="s", Data=b"x", PartitionKey="k"),
                            PTE, self.put_message())
        # a bucket admits while it holds anything, then the record pays in full
        self.tidepool.advance(1)   # +1048.576 bytes
        self.k.put_record(StreamName="s", Data=b"b" * 2000, PartitionKey="k")   # -952.4: in debt
        self.assertAwsError(lambda: self.k.put_record(StreamName="s", Data=b"x", PartitionKey="k"), PTE)
        self.tidepool.advance(1)   # +96.2
        self.k.put_record(StreamName="s", Data=b"x", PartitionKey="k")
        b = self.buckets()[("shardId-000000000000", "in_bytes")]
        self.assertEqual(b["rate"], MIB)
        self.assertEqual(b["throttled"], 2)
        self.assertEqual(b["consumed"], MIB + 2001 + 2)

    def test_on_demand_write_capacity(self):
        self.make(mode="ON_DEMAND")
        # one hot key: far past one shard's 1,000 records/s, within the
        # stream's 4,000
        for _ in range(8):
            self.assertEqual(self.put_batch(500)["FailedRecordCount"], 0)
        out = self.put_batch(3)
        self.assertEqual(out["FailedRecordCount"], 3)
        self.assertEqual(out["Records"][0]["ErrorMessage"], self.put_message())
        self.assertAwsError(lambda: self.k.put_record(StreamName="s", Data=b"x", PartitionKey="k"), PTE)
        b = self.buckets()
        self.assertEqual(b[(None, "in_records")]["rate"], 4000)
        self.assertEqual(b[(None, "in_bytes")]["rate"], 4 * MIB)
        self.assertNotIn(("shardId-000000000000", "in_records"), b)
        self.tidepool.advance(250)   # +1,000 records
        self.assertEqual(self.put_batch(500)["FailedRecordCount"], 0)
        self.assertEqual(self.put_batch(500)["FailedRecordCount"], 0)
        self.assertEqual(self.put_batch(1)["FailedRecordCount"], 1)


class TestReads(LimitsCase):
    def test_get_records_calls_per_second(self):
        self.make()
        self.k.put_record(StreamName="s", Data=b"x", PartitionKey="k")
        it = self.iterator()
        for _ in range(5):
            it = self.k.get_records(ShardIterator=it)["NextShardIterator"]
        self.assertAwsError(lambda: self.k.get_records(ShardIterator=it), PTE, self.get_message())
        # 1 ms later the bucket holds 0.005 calls: one more call goes in and
        # owes the rest, so the next one waits for the 200 ms a call costs
        self.tidepool.advance(1)
        it = self.k.get_records(ShardIterator=it)["NextShardIterator"]
        self.tidepool.advance(199)
        self.assertAwsError(lambda: self.k.get_records(ShardIterator=it), PTE)
        self.tidepool.advance(1)
        self.k.get_records(ShardIterator=it)
        b = self.buckets()[("shardId-000000000000", "out_calls")]
        self.assertEqual((b["rate"], b["throttled"], b["consumed"]), (5, 2, 7))

    def test_get_records_bytes_per_second(self):
        self.make()
        for i in range(3):
            self.k.put_record(StreamName="s", Data=bytes([65 + i]) * (MIB - 1), PartitionKey="k")
            self.tidepool.advance(1000)
        page = self.k.get_records(ShardIterator=self.iterator())
        self.assertEqual(len(page["Records"]), 3)   # 3 MiB: the bucket owes 1 MiB
        it = page["NextShardIterator"]
        self.tidepool.advance(500)
        self.assertAwsError(lambda: self.k.get_records(ShardIterator=it), PTE, self.get_message())
        self.tidepool.advance(1)
        self.assertEqual(self.k.get_records(ShardIterator=it)["Records"], [])
        b = self.buckets()[("shardId-000000000000", "out_bytes")]
        self.assertEqual((b["rate"], b["throttled"], b["consumed"]), (2 * MIB, 1, 3 * MIB))

    def test_throttled_read_keeps_the_iterator(self):
        self.make()
        self.k.put_record(StreamName="s", Data=b"first", PartitionKey="k")
        it = self.iterator()
        for _ in range(5):
            self.k.get_records(ShardIterator=it)
        self.assertAwsError(lambda: self.k.get_records(ShardIterator=it), PTE)
        self.tidepool.advance(1000)
        self.assertEqual([r["Data"] for r in self.k.get_records(ShardIterator=it)["Records"]], [b"first"])


class TestConfigured(LimitsCase):
    def test_config_file_rates_per_stream(self):
        self.make("slow")
        self.make("fast")
        self.assertEqual(self.put_batch(12, name="slow")["FailedRecordCount"], 2)
        self.assertEqual(self.put_batch(12, name="fast")["FailedRecordCount"], 0)
        it = self.iterator("slow")
        self.k.get_records(ShardIterator=it)
        self.k.get_records(ShardIterator=it)
        self.assertAwsError(lambda: self.k.get_records(ShardIterator=it), PTE, self.get_message(name="slow"))
        self.assertEqual(self.buckets("slow")[("shardId-000000000000", "out_calls")]["rate"], 2)

    def test_control_api_override(self):
        self.make(shards=2)
        status, body = self.tidepool.control("POST", "capacity", {
            "stream": "s", "shard": "shardId-000000000000", "in_records": 3})
        self.assertEqual(status, 200, body)
        # an overridden bucket holds the generic burst (300 s of its rate)
        self.assertEqual(self.put_batch(500)["FailedRecordCount"], 0)
        self.assertEqual(self.put_batch(500)["FailedRecordCount"], 100)
        self.tidepool.advance(1000)
        self.assertEqual(self.put_batch(4)["FailedRecordCount"], 1)
        b = self.buckets()[("shardId-000000000000", "in_records")]
        self.assertEqual((b["rate"], b["burst"]), (3, 900))
        # shard 1 keeps AWS's rate
        self.assertEqual(self.put_batch(500, key=str(2 ** 128 - 1))["FailedRecordCount"], 0)
        self.assertEqual(self.buckets()[("shardId-000000000001", "in_records")]["rate"], 1000)


class TestFaults(LimitsCase):
    def test_fault_rules_match_kinesis_operations(self):
        self.make()
        status, _ = self.tidepool.control("POST", "faults", {
            "service": "kinesis", "operation": "PutRecord", "resource": "s", "count": 1,
            "error": {"code": PTE, "status": 400, "message": "injected"}})
        self.assertEqual(status, 200)
        status, _ = self.tidepool.control("POST", "faults", {
            "service": "kinesis", "operation": "GetRecords", "every": 2,
            "error": {"code": "InternalFailure", "status": 500, "message": "injected"}})
        self.assertEqual(status, 200)
        self.assertAwsError(lambda: self.k.put_record(StreamName="s", Data=b"x", PartitionKey="k"),
                            PTE, "injected")
        self.k.put_record(StreamName="s", Data=b"x", PartitionKey="k")
        it = self.iterator()
        self.k.get_records(ShardIterator=it)
        self.assertAwsError(lambda: self.k.get_records(ShardIterator=it), "InternalFailure", "injected",
                            status=500)
        self.k.get_records(ShardIterator=it)
        # an injected error costs the shard nothing: 2 of 5 calls used
        b = self.buckets()[("shardId-000000000000", "out_calls")]
        self.assertEqual((b["consumed"], b["throttled"]), (2, 0))
        self.assertEqual(self.buckets()[("shardId-000000000000", "in_records")]["consumed"], 1)
        _, body = self.tidepool.control("GET", "faults")
        self.assertEqual([r["fired"] for r in body["rules"]], [1, 1])


if __name__ == "__main__":
    unittest.main()
