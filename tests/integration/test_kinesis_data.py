"""Kinesis Data Streams, the data side, through boto3 (both versions) and the
AWS CLI v2: PutRecord / PutRecords routed by MD5(partition key) or
ExplicitHashKey onto the shards' hash-key ranges, 56-digit sequence numbers
that increase, every shard iterator type, GetRecords' Limit,
NextShardIterator and MillisBehindLatest, arrival times from tidepool's
clock, iterator expiry after 5 minutes and retention trimming (virtual
time), ListShards with filters and pagination, and resharding (SplitShard,
MergeShards, UpdateShardCount) with lineage, closed shards readable until
drained and ChildShards at their end."""
import hashlib
import unittest

from tidepool import TidepoolTestCase

HOUR = 3600 * 1000
# These tests read shards in tight loops without moving the clock; the
# per-shard limits (5 GetRecords calls/s, ...) are tested in
# test_kinesis_limits.py, so here they are lifted.
UNTHROTTLED = {"kinesis": {"in_bytes": 10 ** 12, "in_records": 10 ** 9, "out_bytes": 10 ** 12,
                           "out_calls": 10 ** 9}}


def amz_time(ms):
    """'Mon Jan 01 00:05:00 UTC 2024', the way the expiry message writes times."""
    import time
    return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(ms // 1000))


def md5_hash(key):
    return int(hashlib.md5(key.encode("utf-8")).hexdigest(), 16)


class DataCase(TidepoolTestCase):
    tidepool_kwargs = {"config": {"capacity": UNTHROTTLED}}

    def setUp(self):
        super().setUp()
        self.k = self.client("kinesis", retries=1)

    def make(self, name="s", shards=1):
        self.k.create_stream(StreamName=name, ShardCount=shards)
        return name

    def shards(self, name="s"):
        return self.k.list_shards(StreamName=name)["Shards"]

    def iterator(self, shard, kind="TRIM_HORIZON", name="s", **kw):
        return self.k.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType=kind,
                                         **kw)["ShardIterator"]

    def read_all(self, shard, name="s", kind="TRIM_HORIZON", **kw):
        it, out = self.iterator(shard, kind, name, **kw), []
        while it:
            page = self.k.get_records(ShardIterator=it)
            out += page["Records"]
            if not page["Records"]:
                return out, page
            it = page.get("NextShardIterator")
        return out, page


class TestPutGet(DataCase):
    def test_routing_by_md5(self):
        self.make(shards=4)
        ranges = {s["ShardId"]: (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
                  for s in self.shards()}
        for i in range(40):
            key = "key-%d-é" % i
            put = self.k.put_record(StreamName="s", Data=b"d", PartitionKey=key)
            lo, hi = ranges[put["ShardId"]]
            self.assertTrue(lo <= md5_hash(key) <= hi, key)
            self.assertEqual(put["EncryptionType"], "NONE")

    def test_explicit_hash_key(self):
        self.make(shards=2)
        put = self.k.put_record(StreamName="s", Data=b"d", PartitionKey="p", ExplicitHashKey=str(2 ** 128 - 1))
        self.assertEqual(put["ShardId"], "shardId-000000000001")
        put = self.k.put_record(StreamName="s", Data=b"d", PartitionKey="p", ExplicitHashKey="0")
        self.assertEqual(put["ShardId"], "shardId-000000000000")
        self.assertAwsError(
            lambda: self.k.put_record(StreamName="s", Data=b"d", PartitionKey="p", ExplicitHashKey=str(2 ** 128)),
            "InvalidArgumentException",
            "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was %d"
            % 2 ** 128)

    def test_sequence_numbers_increase_and_read_back(self):
        self.make()
        seqs = []
        for i in range(5):
            seqs.append(self.k.put_record(StreamName="s", Data=b"r%d" % i, PartitionKey="p")["SequenceNumber"])
            self.tidepool.advance(10)
        for s in seqs:
            self.assertRegex(s, r"^\d{56}$")
        self.assertEqual([int(s) for s in seqs], sorted(int(s) for s in seqs))
        self.assertEqual(len(set(seqs)), 5)
        start = self.tidepool.now_ms() - 50
        recs, page = self.read_all("shardId-000000000000")
        self.assertEqual([r["Data"] for r in recs], [b"r0", b"r1", b"r2", b"r3", b"r4"])
        self.assertEqual([r["SequenceNumber"] for r in recs], seqs)
        self.assertEqual([r["PartitionKey"] for r in recs], ["p"] * 5)
        self.assertEqual([round(r["ApproximateArrivalTimestamp"].timestamp() * 1000) for r in recs],
                         [start + 10 * i for i in range(5)])
        self.assertEqual(page["MillisBehindLatest"], 0)
        # SequenceNumberForOrdering: accepted, order kept
        nxt = self.k.put_record(StreamName="s", Data=b"x", PartitionKey="p",
                                SequenceNumberForOrdering=seqs[-1])["SequenceNumber"]
        self.assertGreater(int(nxt), int(seqs[-1]))
        self.assertAwsError(lambda: self.k.put_record(StreamName="s", Data=b"x", PartitionKey="p",
                                                      SequenceNumberForOrdering="12"),
                            "InvalidArgumentException")

    def test_binary_data(self):
        self.make()
        blob = bytes(range(256)) * 10
        self.k.put_record(StreamName="s", Data=blob, PartitionKey="bin")
        recs, _ = self.read_all("shardId-000000000000")
        self.assertEqual(recs[0]["Data"], blob)

    def test_put_records(self):
        self.make(shards=3)
        recs = [{"Data": b"x%d" % i, "PartitionKey": "pk%d" % i} for i in range(500)]
        out = self.k.put_records(StreamName="s", Records=recs)
        self.assertEqual(out["FailedRecordCount"], 0)
        self.assertEqual(len(out["Records"]), 500)
        self.assertEqual(out["EncryptionType"], "NONE")
        total = 0
        for s in self.shards():
            got, _ = self.read_all(s["ShardId"])
            total += len(got)
            mine = [r for r in out["Records"] if r["ShardId"] == s["ShardId"]]
            self.assertEqual([g["SequenceNumber"] for g in got], [m["SequenceNumber"] for m in mine])
        self.assertEqual(total, 500)
        bad = self.client("kinesis", retries=1, validate=False)
        e = self.assertAwsError(lambda: bad.put_records(StreamName="s", Records=recs + recs[:1]),
                                "ValidationException")
        self.assertIn("at 'records' failed to satisfy constraint: Member must have length less than or equal "
                      "to 500", e.response["Error"]["Message"])
        big = [{"Data": b"z" * (1024 * 1024), "PartitionKey": "p"} for _ in range(6)]
        self.assertAwsError(lambda: self.k.put_records(StreamName="s", Records=big), "InvalidArgumentException")
        self.assertAwsError(lambda: self.k.put_records(StreamName="nope", Records=recs[:1]),
                            "ResourceNotFoundException")


class TestIterators(DataCase):
    def test_every_iterator_type(self):
        self.make()
        seqs = []
        for i in range(4):
            seqs.append(self.k.put_record(StreamName="s", Data=b"%d" % i, PartitionKey="p")["SequenceNumber"])
            self.tidepool.advance(1000)
        sh = "shardId-000000000000"
        data = lambda recs: [r["Data"] for r in recs]
        self.assertEqual(data(self.read_all(sh, kind="AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[1])[0]),
                         [b"1", b"2", b"3"])
        self.assertEqual(data(self.read_all(sh, kind="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[1])[0]),
                         [b"2", b"3"])
        t2 = self.k.get_records(ShardIterator=self.iterator(sh, "AT_SEQUENCE_NUMBER",
                                                            StartingSequenceNumber=seqs[2]))["Records"][0][
            "ApproximateArrivalTimestamp"]
        self.assertEqual(data(self.read_all(sh, kind="AT_TIMESTAMP", Timestamp=t2)[0]), [b"2", b"3"])
        latest = self.iterator(sh, "LATEST")
        self.assertEqual(self.k.get_records(ShardIterator=latest)["Records"], [])
        self.k.put_record(StreamName="s", Data=b"new", PartitionKey="p")
        page = self.k.get_records(ShardIterator=latest)
        self.assertEqual(data(page["Records"]), [b"new"])
        page = self.k.get_records(ShardIterator=page["NextShardIterator"])
        self.assertEqual(page["Records"], [])

    def test_limit_and_millis_behind(self):
        self.make()
        for i in range(10):
            self.k.put_record(StreamName="s", Data=b"%d" % i, PartitionKey="p")
        self.tidepool.advance(7000)
        page = self.k.get_records(ShardIterator=self.iterator("shardId-000000000000"), Limit=3)
        self.assertEqual(len(page["Records"]), 3)
        self.assertEqual(page["MillisBehindLatest"], 7000)
        page = self.k.get_records(ShardIterator=page["NextShardIterator"], Limit=10)
        self.assertEqual([r["Data"] for r in page["Records"]], [b"%d" % i for i in range(3, 10)])
        self.assertEqual(page["MillisBehindLatest"], 0)

    def test_iterator_errors(self):
        self.make()
        acct = self.k.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"].split(":")[4]
        self.assertAwsError(lambda: self.iterator("shardId-000000000009"), "ResourceNotFoundException",
                            "Shard shardId-000000000009 in stream s under account %s does not exist" % acct)
        self.assertAwsError(lambda: self.iterator("shardId-000000000000", "AT_SEQUENCE_NUMBER"),
                            "InvalidArgumentException",
                            "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                            "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
                            "Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber.")
        self.assertAwsError(lambda: self.iterator("shardId-000000000000", "LATEST", StartingSequenceNumber="1"),
                            "InvalidArgumentException",
                            "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                            "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
                            "Request specified LATEST and also a StartingSequenceNumber.")
        self.assertAwsError(lambda: self.iterator("shardId-000000000000", "AT_SEQUENCE_NUMBER",
                                                  StartingSequenceNumber="123"),
                            "InvalidArgumentException",
                            "StartingSequenceNumber 123 used in GetShardIterator on shard shardId-000000000000 in "
                            "stream s under account %s is invalid." % acct)
        self.make("two", 2)
        seq = self.k.put_record(StreamName="two", Data=b"d", PartitionKey="p", ExplicitHashKey="0")["SequenceNumber"]
        self.assertAwsError(lambda: self.iterator("shardId-000000000001", "AT_SEQUENCE_NUMBER", name="two",
                                                  StartingSequenceNumber=seq),
                            "InvalidArgumentException",
                            "Invalid StartingSequenceNumber. It encodes shardId-000000000000, while it was used "
                            "in a call to a shard with shardId-000000000001")
        self.assertAwsError(lambda: self.k.get_records(ShardIterator="AAAAAAAAAAAA"), "InvalidArgumentException",
                            "Invalid ShardIterator.")

    def test_iterator_expires_after_five_minutes(self):
        self.make()
        self.tidepool.advance(1000 - self.tidepool.now_ms() % 1000)   # a whole second, for the message
        it = self.iterator("shardId-000000000000")
        self.tidepool.advance(300000)
        page = self.k.get_records(ShardIterator=it)   # exactly 5 minutes: still good
        self.tidepool.advance(300001)
        self.assertAwsError(
            lambda: self.k.get_records(ShardIterator=page["NextShardIterator"]), "ExpiredIteratorException",
            "Iterator expired. The iterator was created at time %s while right now it is %s which is further in "
            "the future than the tolerated delay of 300000 milliseconds."
            % (amz_time(self.tidepool.now_ms() - 300001), amz_time(self.tidepool.now_ms())))

    def test_deleted_stream(self):
        self.make()
        it = self.iterator("shardId-000000000000")
        self.k.delete_stream(StreamName="s")
        self.assertAwsError(lambda: self.k.get_records(ShardIterator=it), "ResourceNotFoundException")

    def test_retention_trims(self):
        self.make()
        self.k.put_record(StreamName="s", Data=b"old", PartitionKey="p")
        self.tidepool.advance(23 * HOUR)
        self.k.put_record(StreamName="s", Data=b"new", PartitionKey="p")
        self.tidepool.advance(HOUR + 1)
        recs, _ = self.read_all("shardId-000000000000")
        self.assertEqual([r["Data"] for r in recs], [b"new"])
        self.k.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=72)
        self.tidepool.advance(40 * HOUR)
        recs, _ = self.read_all("shardId-000000000000")
        self.assertEqual([r["Data"] for r in recs], [b"new"])


class TestResharding(DataCase):
    def test_split(self):
        self.make()
        self.k.put_record(StreamName="s", Data=b"before", PartitionKey="p")
        self.k.split_shard(StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2 ** 127))
        shards = self.shards()
        self.assertEqual([s["ShardId"] for s in shards],
                         ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"])
        parent, a, b = shards
        self.assertIn("EndingSequenceNumber", parent["SequenceNumberRange"])
        self.assertEqual((a["ParentShardId"], b["ParentShardId"]), ("shardId-000000000000",) * 2)
        self.assertEqual(a["HashKeyRange"], {"StartingHashKey": "0", "EndingHashKey": str(2 ** 127 - 1)})
        self.assertEqual(b["HashKeyRange"]["StartingHashKey"], str(2 ** 127))
        after = self.k.put_record(StreamName="s", Data=b"after", PartitionKey="p")
        self.assertIn(after["ShardId"], ("shardId-000000000001", "shardId-000000000002"))
        # a child's numbers are larger than anything the parent held
        self.assertGreater(int(after["SequenceNumber"]), int(parent["SequenceNumberRange"]["StartingSequenceNumber"]))
        # the closed parent is readable until drained, then points at its children
        recs, page = self.read_all("shardId-000000000000")
        self.assertEqual([r["Data"] for r in recs], [b"before"])
        self.assertNotIn("NextShardIterator", page)
        kids = sorted(page["ChildShards"], key=lambda c: c["ShardId"])
        self.assertEqual([c["ShardId"] for c in kids], ["shardId-000000000001", "shardId-000000000002"])
        self.assertEqual(kids[0]["ParentShards"], ["shardId-000000000000"])
        self.assertEqual(kids[0]["HashKeyRange"], a["HashKeyRange"])
        # open shards only
        latest = self.k.list_shards(StreamName="s", ShardFilter={"Type": "AT_LATEST"})["Shards"]
        self.assertEqual([s["ShardId"] for s in latest], ["shardId-000000000001", "shardId-000000000002"])
        acct = self.k.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"].split(":")[4]
        self.assertAwsError(
            lambda: self.k.split_shard(StreamName="s", ShardToSplit="shardId-000000000001",
                                       NewStartingHashKey="1"),
            "InvalidArgumentException",
            "NewStartingHashKey 1 used in SplitShard() on shard shardId-000000000001 in stream s under account "
            "%s is not both greater than one plus the shard's StartingHashKey 0 and less than the shard's "
            "EndingHashKey %d." % (acct, 2 ** 127 - 1))
        self.assertAwsError(
            lambda: self.k.split_shard(StreamName="s", ShardToSplit="shardId-000000000007",
                                       NewStartingHashKey="100"),
            "ResourceNotFoundException",
            "Could not find shard shardId-000000000007 in stream s under account %s." % acct)

    def test_merge(self):
        self.make(shards=3)
        acct = self.k.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"].split(":")[4]
        self.assertAwsError(
            lambda: self.k.merge_shards(StreamName="s", ShardToMerge="shardId-000000000000",
                                        AdjacentShardToMerge="shardId-000000000002"),
            "InvalidArgumentException",
            "Shards shardId-000000000000 and shardId-000000000002 in stream s under account %s are not an "
            "adjacent pair of shards eligible for merging" % acct)
        self.k.merge_shards(StreamName="s", ShardToMerge="shardId-000000000001",
                            AdjacentShardToMerge="shardId-000000000002")
        shards = self.shards()
        child = shards[-1]
        self.assertEqual((child["ShardId"], child["ParentShardId"], child["AdjacentParentShardId"]),
                         ("shardId-000000000003", "shardId-000000000001", "shardId-000000000002"))
        self.assertAwsError(
            lambda: self.k.split_shard(StreamName="s", ShardToSplit="shardId-000000000001",
                                       NewStartingHashKey=str(2 ** 127)),
            "InvalidArgumentException",
            "Shard shardId-000000000001 in stream s under account %s has already been merged or split, and "
            "thus is not eligible for merging or splitting." % acct)
        self.assertEqual(child["HashKeyRange"]["StartingHashKey"], shards[1]["HashKeyRange"]["StartingHashKey"])
        self.assertEqual(child["HashKeyRange"]["EndingHashKey"], str(2 ** 128 - 1))
        _, page = self.read_all("shardId-000000000002")
        self.assertEqual(page["ChildShards"][0]["ParentShards"], ["shardId-000000000001", "shardId-000000000002"])
        self.assertEqual(self.k.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["OpenShardCount"], 2)

    def test_update_shard_count(self):
        self.make(shards=2)
        out = self.k.update_shard_count(StreamName="s", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
        self.assertEqual((out["CurrentShardCount"], out["TargetShardCount"]), (2, 4))
        open_ = self.k.list_shards(StreamName="s", ShardFilter={"Type": "AT_LATEST"})["Shards"]
        self.assertEqual(len(open_), 4)
        self.assertEqual([int(s["HashKeyRange"]["StartingHashKey"]) for s in open_],
                         [i * 2 ** 126 for i in range(4)])
        for s in open_:
            self.assertIn(s["ParentShardId"], ("shardId-000000000000", "shardId-000000000001"))
        self.assertAwsError(lambda: self.k.update_shard_count(StreamName="s", TargetShardCount=9,
                                                              ScalingType="UNIFORM_SCALING"),
                            "LimitExceededException",
                            "UpdateShardCount cannot scale up over double your current open shard count. "
                            "Current open shard count: 4, Target shard count: 9")
        self.assertAwsError(lambda: self.k.update_shard_count(StreamName="s", TargetShardCount=1,
                                                              ScalingType="UNIFORM_SCALING"),
                            "LimitExceededException",
                            "UpdateShardCount cannot scale down below half your current open shard count. "
                            "Current open shard count: 4, Target shard count: 1")

    def test_ten_scalings_a_day(self):
        self.make(shards=1)
        n = 1
        for i in range(10):
            n = 2 if n == 1 else 1
            self.k.update_shard_count(StreamName="s", TargetShardCount=n, ScalingType="UNIFORM_SCALING")
        self.assertAwsError(lambda: self.k.update_shard_count(StreamName="s", TargetShardCount=2 if n == 1 else 1,
                                                              ScalingType="UNIFORM_SCALING"),
                            "LimitExceededException")
        self.tidepool.advance(24 * HOUR)
        self.k.update_shard_count(StreamName="s", TargetShardCount=2 if n == 1 else 1, ScalingType="UNIFORM_SCALING")

    def test_closed_shards_expire_with_retention(self):
        self.make()
        self.k.split_shard(StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2 ** 127))
        self.assertEqual(len(self.shards()), 3)
        self.tidepool.advance(24 * HOUR + 1)
        self.assertEqual([s["ShardId"] for s in self.shards()], ["shardId-000000000001", "shardId-000000000002"])
        th = self.k.list_shards(StreamName="s", ShardFilter={"Type": "AT_TRIM_HORIZON"})["Shards"]
        self.assertEqual(len(th), 2)


class TestReshardDelay(DataCase):
    tidepool_kwargs = {"config": {"kinesis": {"update_delay_ms": 30000}, "capacity": UNTHROTTLED}}

    def test_reshard_applies_when_updating_ends(self):
        self.make()
        self.k.split_shard(StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2 ** 127))
        self.assertEqual(self.k.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamStatus"],
                         "UPDATING")
        self.assertEqual(len(self.shards()), 1)
        self.assertAwsError(lambda: self.k.update_shard_count(StreamName="s", TargetShardCount=2,
                                                              ScalingType="UNIFORM_SCALING"),
                            "ResourceInUseException")
        self.tidepool.advance(30000)
        self.assertEqual(len(self.shards()), 3)


class TestListShards(DataCase):
    def test_pages_and_filters(self):
        self.make(shards=5)
        p1 = self.k.list_shards(StreamName="s", MaxResults=2)
        self.assertEqual([s["ShardId"][-1] for s in p1["Shards"]], ["0", "1"])
        p2 = self.k.list_shards(NextToken=p1["NextToken"], MaxResults=2)
        self.assertEqual([s["ShardId"][-1] for s in p2["Shards"]], ["2", "3"])
        p3 = self.k.list_shards(NextToken=p2["NextToken"])
        self.assertEqual([s["ShardId"][-1] for s in p3["Shards"]], ["4"])
        self.assertNotIn("NextToken", p3)
        self.assertEqual([s["ShardId"][-1] for s in self.k.list_shards(
            StreamName="s", ExclusiveStartShardId="shardId-000000000002")["Shards"]], ["3", "4"])
        self.assertEqual([s["ShardId"][-1] for s in self.k.list_shards(
            StreamName="s", ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000003"})["Shards"]],
            ["4"])
        self.assertAwsError(lambda: self.k.list_shards(StreamName="s", NextToken=p1["NextToken"]),
                            "InvalidArgumentException")
        self.tidepool.advance(300001)
        self.assertAwsError(lambda: self.k.list_shards(NextToken=p1["NextToken"]), "ExpiredNextTokenException")

    def test_timestamp_filters(self):
        self.make()
        t0 = self.tidepool.now_ms()
        # whole seconds apart: older botocores send timestamps as whole seconds
        self.tidepool.advance(10000)
        self.k.split_shard(StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2 ** 127))
        self.tidepool.advance(10000)
        import datetime
        at = lambda ms, kind: [s["ShardId"][-1] for s in self.k.list_shards(
            StreamName="s", ShardFilter={"Type": kind, "Timestamp": datetime.datetime.fromtimestamp(
                ms / 1000, datetime.timezone.utc)})["Shards"]]
        self.assertEqual(at(t0 + 5000, "AT_TIMESTAMP"), ["0"])
        self.assertEqual(at(t0 + 5000, "FROM_TIMESTAMP"), ["0", "1", "2"])
        self.assertEqual(at(t0 + 15000, "AT_TIMESTAMP"), ["1", "2"])
        self.assertEqual(at(t0 + 15000, "FROM_TIMESTAMP"), ["1", "2"])


class TestDataCli(DataCase):
    def test_cli_v2_put_records(self):
        self.make(shards=2)
        rc, out, err = self.aws("kinesis", "put-records", "--stream-name", "s", "--records",
                                "Data=YQ==,PartitionKey=a", "Data=Yg==,PartitionKey=b", expect_rc=0)
        self.assertEqual(out["FailedRecordCount"], 0)
        _, shards, _ = self.aws("kinesis", "list-shards", "--stream-name", "s", expect_rc=0)
        self.assertEqual(len(shards["Shards"]), 2)
        got = []
        for s in shards["Shards"]:
            _, it, _ = self.aws("kinesis", "get-shard-iterator", "--stream-name", "s", "--shard-id", s["ShardId"],
                                "--shard-iterator-type", "TRIM_HORIZON", expect_rc=0)
            _, recs, _ = self.aws("kinesis", "get-records", "--shard-iterator", it["ShardIterator"], expect_rc=0)
            got += [r["Data"] for r in recs["Records"]]
        self.assertEqual(sorted(got), ["YQ==", "Yg=="])
        rc, _, err = self.aws("kinesis", "split-shard", "--stream-name", "s", "--shard-to-split",
                              "shardId-000000000000", "--new-starting-hash-key", "1")
        self.assertNotEqual(rc, 0)
        self.assertIn("InvalidArgumentException", err)


if __name__ == "__main__":
    unittest.main()
