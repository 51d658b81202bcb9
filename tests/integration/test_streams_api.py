"""The DynamoDB Streams API through boto3's `dynamodbstreams` client: writes
made with the dynamodb client are read back through ListStreams ->
DescribeStream -> GetShardIterator -> GetRecords, with the record shape of
the seed batch (../shared/seeds/000: eventID, eventName, eventVersion "1.1",
eventSource "aws:dynamodb", awsRegion, dynamodb {ApproximateCreationDateTime,
Keys, NewImage/OldImage per view type, SequenceNumber, SizeBytes,
StreamViewType}; GetRecords carries no eventSourceARN, Lambda adds it).

Iterator expiry (15 min), trimming (24 h) and shard rollover (4 h) are
driven by tidepool's virtual clock: no sleeps."""
import re
import unittest

from tidepool import TidepoolTestCase

MIN = 60 * 1000
HOUR = 60 * MIN
TRIM_SWEEP_MS = 60 * 1000

VIEW_TYPES = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]


def S(name, t="S"):
    return {"AttributeName": name, "AttributeType": t}


class StreamsCase(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.client("dynamodb", retries=1)
        self.streams = self.client("dynamodbstreams", retries=1)

    def create(self, name="orders", view="NEW_AND_OLD_IMAGES", range_key=False):
        attrs, keys = [S("pk")], [{"AttributeName": "pk", "KeyType": "HASH"}]
        if range_key:
            attrs.append(S("sk", "N"))
            keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        kw = {}
        if view:
            kw["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
        out = self.ddb.create_table(TableName=name, AttributeDefinitions=attrs, KeySchema=keys,
                                    BillingMode="PAY_PER_REQUEST", **kw)
        return out["TableDescription"].get("LatestStreamArn")

    def put(self, pk, table="orders", **attrs):
        item = {"pk": {"S": pk}}
        item.update(attrs)
        self.ddb.put_item(TableName=table, Item=item)

    def shards(self, arn, **kw):
        return self.streams.describe_stream(StreamArn=arn, **kw)["StreamDescription"]["Shards"]

    def iterator(self, arn, shard_id, kind="TRIM_HORIZON", seq=None):
        kw = {"SequenceNumber": seq} if seq is not None else {}
        return self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType=kind,
                                               **kw)["ShardIterator"]

    def read_all(self, arn, kind="TRIM_HORIZON"):
        """Every record of every shard, parents before children."""
        out = []
        for shard in self.shards(arn):
            it = self.iterator(arn, shard["ShardId"], kind)
            for _ in range(100):
                resp = self.streams.get_records(ShardIterator=it)
                out.extend(resp["Records"])
                it = resp.get("NextShardIterator")
                if not it or not resp["Records"]:
                    break
        return out


class ReadEveryKindOfRecord(StreamsCase):
    def check_common(self, rec, view, region="us-east-1"):
        self.assertRegex(rec["eventID"], r"^[0-9a-f]{32}$")
        self.assertEqual(rec["eventVersion"], "1.1")
        self.assertEqual(rec["eventSource"], "aws:dynamodb")
        self.assertEqual(rec["awsRegion"], region)
        self.assertNotIn("eventSourceARN", rec)
        d = rec["dynamodb"]
        self.assertEqual(d["StreamViewType"], view)
        self.assertRegex(d["SequenceNumber"], r"^[0-9]{21,40}$")
        self.assertGreater(d["SizeBytes"], 0)
        self.assertIn("ApproximateCreationDateTime", d)

    def test_each_view_type(self):
        for view in VIEW_TYPES:
            with self.subTest(view=view):
                self.tidepool.reset()
                arn = self.create(view=view)
                self.put("a", x={"N": "1"})
                self.put("a", x={"N": "2"})
                self.ddb.delete_item(TableName="orders", Key={"pk": {"S": "a"}})
                recs = self.read_all(arn)
                self.assertEqual([r["eventName"] for r in recs], ["INSERT", "MODIFY", "REMOVE"])
                seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in recs]
                self.assertEqual(seqs, sorted(set(seqs)))
                one, two = {"pk": {"S": "a"}, "x": {"N": "1"}}, {"pk": {"S": "a"}, "x": {"N": "2"}}
                want_new = [one, two, None]
                want_old = [None, one, two]
                for rec, new, old in zip(recs, want_new, want_old):
                    self.check_common(rec, view)
                    d = rec["dynamodb"]
                    self.assertEqual(d["Keys"], {"pk": {"S": "a"}})
                    if view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and new is not None:
                        self.assertEqual(d["NewImage"], new)
                    else:
                        self.assertNotIn("NewImage", d)
                    if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and old is not None:
                        self.assertEqual(d["OldImage"], old)
                    else:
                        self.assertNotIn("OldImage", d)

    def test_list_and_describe(self):
        arn = self.create(view="KEYS_ONLY", range_key=True)
        label = arn.rsplit("/stream/", 1)[1]
        self.assertRegex(arn, r"^arn:aws:dynamodb:us-east-1:\d{12}:table/orders/stream/"
                              r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
        listed = self.streams.list_streams()["Streams"]
        self.assertEqual(listed, [{"StreamArn": arn, "TableName": "orders", "StreamLabel": label}])
        d = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]
        self.assertEqual(d["StreamArn"], arn)
        self.assertEqual(d["StreamLabel"], label)
        self.assertEqual(d["StreamStatus"], "ENABLED")
        self.assertEqual(d["StreamViewType"], "KEYS_ONLY")
        self.assertEqual(d["TableName"], "orders")
        self.assertEqual(d["KeySchema"], [{"AttributeName": "pk", "KeyType": "HASH"},
                                          {"AttributeName": "sk", "KeyType": "RANGE"}])
        self.assertEqual(int(d["CreationRequestDateTime"].timestamp() * 1000), self.tidepool.now_ms())
        self.assertNotIn("LastEvaluatedShardId", d)
        self.assertEqual(len(d["Shards"]), 1)
        shard = d["Shards"][0]
        self.assertTrue(28 <= len(shard["ShardId"]) <= 65, shard["ShardId"])
        self.assertTrue(shard["ShardId"].startswith("shardId-"))
        self.assertRegex(shard["SequenceNumberRange"]["StartingSequenceNumber"], r"^[0-9]{21,40}$")
        self.assertNotIn("EndingSequenceNumber", shard["SequenceNumberRange"])
        self.assertNotIn("ParentShardId", shard)

    def test_list_streams_filter_and_pages(self):
        arns = sorted(self.create(name=n, view="NEW_IMAGE") for n in ("t-a", "t-b", "t-c"))
        self.create(name="plain", view=None)
        self.assertEqual(self.streams.list_streams(TableName="plain")["Streams"], [])
        self.assertEqual([s["StreamArn"] for s in self.streams.list_streams(TableName="t-b")["Streams"]],
                         [a for a in arns if "/t-b/" in a])
        seen, kw = [], {}
        while True:
            page = self.streams.list_streams(Limit=2, **kw)
            self.assertLessEqual(len(page["Streams"]), 2)
            seen += [s["StreamArn"] for s in page["Streams"]]
            if "LastEvaluatedStreamArn" not in page:
                break
            self.assertEqual(page["LastEvaluatedStreamArn"], seen[-1])
            kw = {"ExclusiveStartStreamArn": page["LastEvaluatedStreamArn"]}
        self.assertEqual(sorted(seen), arns)

    def test_no_records_for_no_op_writes(self):
        arn = self.create(view="NEW_AND_OLD_IMAGES")
        self.put("a", x={"N": "1"})
        self.put("a", x={"N": "1"})                                  # same item again
        self.ddb.delete_item(TableName="orders", Key={"pk": {"S": "zz"}})   # missing item
        self.assertEqual([r["eventName"] for r in self.read_all(arn)], ["INSERT"])

    def test_update_item_and_batch_and_transactions(self):
        arn = self.create(view="NEW_AND_OLD_IMAGES")
        self.ddb.update_item(TableName="orders", Key={"pk": {"S": "u"}}, UpdateExpression="SET n = :v",
                             ExpressionAttributeValues={":v": {"N": "1"}})
        self.ddb.batch_write_item(RequestItems={"orders": [
            {"PutRequest": {"Item": {"pk": {"S": "b"}}}},
            {"DeleteRequest": {"Key": {"pk": {"S": "u"}}}}]})
        self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "t"}}}}])
        # A cancelled transaction leaves no record.
        with self.assertRaises(self.ddb.exceptions.TransactionCanceledException):
            self.ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": "orders", "Item": {"pk": {"S": "never"}}}},
                {"ConditionCheck": {"TableName": "orders", "Key": {"pk": {"S": "b"}},
                                    "ConditionExpression": "attribute_not_exists(pk)"}}])
        got = [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in self.read_all(arn)]
        self.assertEqual(got, [("INSERT", "u"), ("INSERT", "b"), ("REMOVE", "u"), ("INSERT", "t")])


class Iterators(StreamsCase):
    def setUp(self):
        super().setUp()
        self.arn = self.create(view="KEYS_ONLY")
        self.shard = self.shards(self.arn)[0]["ShardId"]

    def keys(self, records):
        return [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]

    def test_latest_sees_only_later_writes(self):
        self.put("before")
        latest = self.iterator(self.arn, self.shard, "LATEST")
        horizon = self.iterator(self.arn, self.shard, "TRIM_HORIZON")
        resp = self.streams.get_records(ShardIterator=latest)
        self.assertEqual(resp["Records"], [])
        self.assertIn("NextShardIterator", resp)
        self.put("after")
        self.assertEqual(self.keys(self.streams.get_records(ShardIterator=latest)["Records"]), ["after"])
        self.assertEqual(self.keys(self.streams.get_records(ShardIterator=horizon)["Records"]),
                         ["before", "after"])

    def test_next_iterator_and_limit(self):
        for k in "abcde":
            self.put(k)
        it, got = self.iterator(self.arn, self.shard), []
        for want in (["a", "b"], ["c", "d"], ["e"], []):
            resp = self.streams.get_records(ShardIterator=it, Limit=2)
            self.assertEqual(self.keys(resp["Records"]), want)
            got += resp["Records"]
            it = resp["NextShardIterator"]   # the shard is open: always a next iterator
        self.put("f")
        self.assertEqual(self.keys(self.streams.get_records(ShardIterator=it)["Records"]), ["f"])
        # An iterator can be used again: it is a position, not a cursor.
        first = self.iterator(self.arn, self.shard)
        self.assertEqual(self.streams.get_records(ShardIterator=first, Limit=1)["Records"], got[:1])
        self.assertEqual(self.streams.get_records(ShardIterator=first, Limit=1)["Records"], got[:1])

    def test_at_and_after_sequence_number(self):
        for k in "abc":
            self.put(k)
        recs = self.streams.get_records(ShardIterator=self.iterator(self.arn, self.shard))["Records"]
        seq_b = recs[1]["dynamodb"]["SequenceNumber"]
        at = self.iterator(self.arn, self.shard, "AT_SEQUENCE_NUMBER", seq_b)
        after = self.iterator(self.arn, self.shard, "AFTER_SEQUENCE_NUMBER", seq_b)
        self.assertEqual(self.keys(self.streams.get_records(ShardIterator=at)["Records"]), ["b", "c"])
        self.assertEqual(self.keys(self.streams.get_records(ShardIterator=after)["Records"]), ["c"])
        start = self.shards(self.arn)[0]["SequenceNumberRange"]["StartingSequenceNumber"]
        at_start = self.iterator(self.arn, self.shard, "AT_SEQUENCE_NUMBER", start)
        self.assertEqual(self.keys(self.streams.get_records(ShardIterator=at_start)["Records"]),
                         ["a", "b", "c"])

    def test_iterator_looks_like_aws(self):
        it = self.iterator(self.arn, self.shard)
        self.assertTrue(it.startswith(self.arn + "|1|"), it)
        self.assertLessEqual(len(it), 2048)

    def test_iterators_expire_after_15_minutes(self):
        self.put("a")
        it = self.iterator(self.arn, self.shard)
        self.tidepool.advance(15 * MIN)
        resp = self.streams.get_records(ShardIterator=it)   # exactly 15 minutes: still valid
        self.assertEqual(self.keys(resp["Records"]), ["a"])
        nxt = resp["NextShardIterator"]
        self.tidepool.advance(1)
        e = self.assertAwsError(lambda: self.streams.get_records(ShardIterator=it), "ExpiredIteratorException")
        msg = e.response["Error"]["Message"]
        self.assertRegex(msg, r"^Iterator expired\. The iterator was created at time "
                              r"\w{3} \w{3} \d\d \d\d:\d\d:\d\d UTC \d{4} while right now it is "
                              r"\w{3} \w{3} \d\d \d\d:\d\d:\d\d UTC \d{4} which is further in the future "
                              r"than the tolerated delay of 900000 milliseconds\.$")
        # Each GetRecords hands out a fresh iterator, valid for 15 more minutes.
        self.put("b")
        self.assertEqual(self.keys(self.streams.get_records(ShardIterator=nxt)["Records"]), ["b"])


class Errors(StreamsCase):
    def setUp(self):
        super().setUp()
        self.arn = self.create(view="KEYS_ONLY")
        self.shard = self.shards(self.arn)[0]["ShardId"]
        self.missing = self.arn.replace("table/orders/", "table/nothere/")

    def test_bad_and_missing_stream_arns(self):
        for call in (lambda a: self.streams.describe_stream(StreamArn=a),
                     lambda a: self.streams.get_shard_iterator(StreamArn=a, ShardId=self.shard,
                                                               ShardIteratorType="LATEST")):
            self.assertAwsError(lambda: call("sdfadfsdfnlfkajakfgjalksfgklasjklasdjfklasdfasdfgasf"),
                                "ValidationException", "Invalid StreamArn")
            self.assertAwsError(lambda: call(self.missing), "ResourceNotFoundException",
                                "Requested resource not found: Stream: %s not found" % self.missing)
        self.assertAwsError(lambda: self.streams.list_streams(
            ExclusiveStartStreamArn="kossaapaaasdafsdaasdasdasdasasdasfadfadfasdasdas"),
            "ValidationException", "Invalid StreamArn")

    def test_another_account_does_not_see_the_stream(self):
        other = self.client("dynamodbstreams", retries=1, access_key="AKIDOTHERACCOUNT")
        self.assertEqual(other.list_streams()["Streams"], [])
        self.assertAwsError(lambda: other.describe_stream(StreamArn=self.arn), "ResourceNotFoundException",
                            "Requested resource not found: Stream: %s not found" % self.arn)

    def test_unknown_shard(self):
        self.assertAwsError(lambda: self.streams.get_shard_iterator(
            StreamArn=self.arn, ShardId="shardId-00000000000000000000-00000000", ShardIteratorType="LATEST"),
            "ResourceNotFoundException", "Requested resource not found: Shard does not exist")

    def test_bad_iterators(self):
        good = self.iterator(self.arn, self.shard)
        tampered = good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB")
        for bad in ("sdfsdfsgagaddafgagasgasgasdfasdfasdfasdfasdgasdasdgasdg", self.arn + "|1|!!!!",
                    tampered, good.replace("|1|", "|2|")):
            with self.subTest(iterator=bad):
                self.assertAwsError(lambda: self.streams.get_records(ShardIterator=bad),
                                    "ValidationException", "Invalid ShardIterator")

    def test_sequence_number_rules(self):
        self.put("a")
        seq = self.streams.get_records(ShardIterator=self.iterator(self.arn, self.shard))["Records"][0][
            "dynamodb"]["SequenceNumber"]
        for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            self.assertAwsError(lambda: self.streams.get_shard_iterator(
                StreamArn=self.arn, ShardId=self.shard, ShardIteratorType=kind), "ValidationException")
        for kind in ("TRIM_HORIZON", "LATEST"):
            self.assertAwsError(lambda: self.streams.get_shard_iterator(
                StreamArn=self.arn, ShardId=self.shard, ShardIteratorType=kind, SequenceNumber=seq),
                "ValidationException")
        self.assertAwsError(lambda: self.streams.get_shard_iterator(
            StreamArn=self.arn, ShardId=self.shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber="9" * 30), "ValidationException", "Invalid SequenceNumber for the shard")

    def test_limits(self):
        self.assertAwsError(lambda: self.streams.list_streams(Limit=101), "ValidationException",
                            "One or more parameter values were invalid: Limit cannot be greater than the "
                            "maximum allowed size: 100")
        self.assertAwsError(lambda: self.streams.describe_stream(StreamArn=self.arn, Limit=101),
                            "ValidationException",
                            "One or more parameter values were invalid: Limit cannot be greater than the "
                            "maximum: 100")
        it = self.iterator(self.arn, self.shard)
        self.assertAwsError(lambda: self.streams.get_records(ShardIterator=it, Limit=1001),
                            "ValidationException",
                            "One or more parameter values were invalid: Limit should be less than or "
                            "equal to 1000")
        self.assertEqual(self.streams.get_records(ShardIterator=it, Limit=1000)["Records"], [])

    def test_describe_with_unknown_exclusive_start_shard(self):
        d = self.streams.describe_stream(StreamArn=self.arn,
                                         ExclusiveStartShardId="zzzzzzzzzzzzzzzzzzzzzzzzsfasdgagadfadfgagkjsdfsfsdjfjks")
        self.assertEqual(d["StreamDescription"]["Shards"], [])


class Lifecycle(StreamsCase):
    def test_shard_rollover_and_lineage(self):
        arn = self.create(view="NEW_IMAGE")
        self.put("p1")
        parent = self.shards(arn)[0]
        parent_it = self.iterator(arn, parent["ShardId"], "LATEST")
        self.put("p2")
        self.tidepool.advance(4 * HOUR)
        self.put("c1")
        shards = self.shards(arn)
        self.assertEqual(len(shards), 2)
        old, new = shards
        self.assertEqual(old["ShardId"], parent["ShardId"])
        self.assertIn("EndingSequenceNumber", old["SequenceNumberRange"])
        self.assertEqual(new["ParentShardId"], old["ShardId"])
        self.assertNotIn("EndingSequenceNumber", new["SequenceNumberRange"])
        self.assertGreater(int(new["SequenceNumberRange"]["StartingSequenceNumber"]),
                           int(old["SequenceNumberRange"]["EndingSequenceNumber"]))
        # The parent read to its end: no NextShardIterator.
        resp = self.streams.get_records(ShardIterator=self.iterator(arn, old["ShardId"]))
        self.assertEqual([r["dynamodb"]["Keys"]["pk"]["S"] for r in resp["Records"]], ["p1", "p2"])
        self.assertEqual(resp["Records"][-1]["dynamodb"]["SequenceNumber"],
                         old["SequenceNumberRange"]["EndingSequenceNumber"])
        self.assertNotIn("NextShardIterator", resp)
        # Reading it page by page ends the same way.
        resp = self.streams.get_records(ShardIterator=self.iterator(arn, old["ShardId"]), Limit=1)
        self.assertIn("NextShardIterator", resp)
        resp = self.streams.get_records(ShardIterator=resp["NextShardIterator"], Limit=1)
        self.assertNotIn("NextShardIterator", resp)
        # LATEST on a closed shard is past its end.
        resp = self.streams.get_records(ShardIterator=self.iterator(arn, old["ShardId"], "LATEST"))
        self.assertEqual(resp["Records"], [])
        self.assertNotIn("NextShardIterator", resp)
        # The child holds what came after.
        resp = self.streams.get_records(ShardIterator=self.iterator(arn, new["ShardId"]))
        self.assertEqual([r["dynamodb"]["Keys"]["pk"]["S"] for r in resp["Records"]], ["c1"])
        self.assertIn("NextShardIterator", resp)
        # CHILD_SHARDS filter (botocore knows ShardFilter since 2024) and
        # shard pagination.
        members = self.streams.meta.service_model.operation_model("DescribeStream").input_shape.members
        if "ShardFilter" in members:
            kids = self.streams.describe_stream(StreamArn=arn, ShardFilter={
                "Type": "CHILD_SHARDS", "ShardId": old["ShardId"]})["StreamDescription"]["Shards"]
            self.assertEqual([k["ShardId"] for k in kids], [new["ShardId"]])
        page = self.streams.describe_stream(StreamArn=arn, Limit=1)["StreamDescription"]
        self.assertEqual([s["ShardId"] for s in page["Shards"]], [old["ShardId"]])
        self.assertEqual(page["LastEvaluatedShardId"], old["ShardId"])
        page = self.streams.describe_stream(StreamArn=arn, Limit=1,
                                            ExclusiveStartShardId=old["ShardId"])["StreamDescription"]
        self.assertEqual([s["ShardId"] for s in page["Shards"]], [new["ShardId"]])
        self.assertNotIn("LastEvaluatedShardId", page)
        del parent_it

    def test_trimmed_records(self):
        arn = self.create(view="KEYS_ONLY")
        self.put("old")
        first = self.shards(arn)[0]
        seq = self.streams.get_records(ShardIterator=self.iterator(arn, first["ShardId"]))["Records"][0][
            "dynamodb"]["SequenceNumber"]
        self.tidepool.advance(24 * HOUR - 5 * MIN)
        self.put("new")
        horizon = self.iterator(arn, first["ShardId"])
        self.tidepool.advance(5 * MIN + TRIM_SWEEP_MS + 1)   # "old" is now past 24 h and swept
        trimmed = "The operation attempted to read past the oldest stream record in a shard."
        self.assertAwsError(lambda: self.streams.get_records(ShardIterator=horizon),
                            "TrimmedDataAccessException", trimmed)
        self.assertAwsError(lambda: self.iterator(arn, first["ShardId"], "AT_SEQUENCE_NUMBER", seq),
                            "TrimmedDataAccessException", trimmed)
        # A fresh TRIM_HORIZON starts after the trim point.
        self.assertEqual([r["dynamodb"]["Keys"]["pk"]["S"] for r in self.read_all(arn)], ["new"])

    def test_disabled_stream_stays_readable_then_goes(self):
        arn = self.create(view="KEYS_ONLY")
        self.put("a")
        self.ddb.update_table(TableName="orders", StreamSpecification={"StreamEnabled": False})
        d = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]
        self.assertEqual(d["StreamStatus"], "DISABLED")
        for shard in d["Shards"]:
            self.assertIn("EndingSequenceNumber", shard["SequenceNumberRange"])
        self.assertEqual([s["StreamArn"] for s in self.streams.list_streams(TableName="orders")["Streams"]],
                         [arn])
        self.assertEqual([r["dynamodb"]["Keys"]["pk"]["S"] for r in self.read_all(arn)], ["a"])
        self.tidepool.advance(1)
        self.ddb.update_table(TableName="orders", StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        arns = [s["StreamArn"] for s in self.streams.list_streams(TableName="orders")["Streams"]]
        self.assertEqual(len(arns), 2)
        self.assertIn(arn, arns)
        self.tidepool.advance(24 * HOUR + TRIM_SWEEP_MS + 1)
        self.assertAwsError(lambda: self.streams.describe_stream(StreamArn=arn), "ResourceNotFoundException",
                            "Requested resource not found: Stream: %s not found" % arn)


if __name__ == "__main__":
    unittest.main()


class VisibilityDelay(StreamsCase):
    """"visibility_delay_ms": a record is readable that long after its write
    (the stream's propagation delay, which seeds/004 measured as part of its
    0.55-3.06 s write-to-handler lags); a closed shard keeps handing out a
    next iterator until its last record is visible."""
    tidepool_kwargs = {"config": {"streams": {"visibility_delay_ms": 800,
                                              "shard_rollover_ms": 10 * MIN}}}

    def keys(self, resp):
        return [r["dynamodb"]["Keys"]["pk"]["S"] for r in resp["Records"]]

    def test_records_appear_after_the_delay_in_order(self):
        arn = self.create(view="KEYS_ONLY")
        self.put("a")
        self.tidepool.advance(300)
        self.put("b")
        shard = self.shards(arn)[0]["ShardId"]
        it = self.iterator(arn, shard)
        resp = self.streams.get_records(ShardIterator=it)
        self.assertEqual(self.keys(resp), [])
        self.tidepool.advance(500)          # a is 800 ms old, b 500 ms
        resp = self.streams.get_records(ShardIterator=resp["NextShardIterator"])
        self.assertEqual(self.keys(resp), ["a"])
        self.tidepool.advance(300)
        resp = self.streams.get_records(ShardIterator=resp["NextShardIterator"])
        self.assertEqual(self.keys(resp), ["b"])

    def test_closed_shard_waits_for_its_last_record(self):
        arn = self.create(view="KEYS_ONLY")
        self.tidepool.advance(10 * MIN - 100)
        self.put("last")
        self.tidepool.advance(100)          # the shard closes; "last" is 100 ms old
        parent = self.shards(arn)[0]
        self.assertIn("EndingSequenceNumber", parent["SequenceNumberRange"])
        resp = self.streams.get_records(ShardIterator=self.iterator(arn, parent["ShardId"]))
        self.assertEqual(self.keys(resp), [])
        self.assertIn("NextShardIterator", resp)
        self.tidepool.advance(700)
        resp = self.streams.get_records(ShardIterator=resp["NextShardIterator"])
        self.assertEqual(self.keys(resp), ["last"])
        self.assertNotIn("NextShardIterator", resp)
