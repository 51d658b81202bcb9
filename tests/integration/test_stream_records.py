"""DynamoDB Streams records written by every write path, seen through
GET /_tidepool/streams (streams, shards with lineage and sequence ranges,
record counts per event type). The Streams API itself has its own tests;
these check what gets written: one record per real change, none for
no-op or failed writes, TTL removals, shard rollover every 4 h and
trimming after 24 h of tidepool time. No sleeps: the clock is virtual."""
import re
import unittest

from tidepool import TidepoolTestCase

HOUR = 3600 * 1000


def S(name):
    return {"AttributeName": name, "AttributeType": "S"}


class StreamRecords(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.client("dynamodb", retries=1)

    def make(self, name="orders", view="NEW_AND_OLD_IMAGES", stream=True):
        kwargs = {}
        if stream:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
        return self.ddb.create_table(
            TableName=name, AttributeDefinitions=[S("pk"), S("sk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST", **kwargs)["TableDescription"]

    def streams(self):
        status, out = self.tidepool.control("GET", "streams")
        self.assertEqual(status, 200, out)
        return out["Streams"]

    def counts(self, table="orders", status="ENABLED"):
        """{'INSERT': n, 'MODIFY': n, 'REMOVE': n} over the table's streams."""
        total = {"INSERT": 0, "MODIFY": 0, "REMOVE": 0}
        for s in self.streams():
            if s["TableName"] != table or (status and s["StreamStatus"] != status):
                continue
            for sh in s["Shards"]:
                for k in total:
                    total[k] += sh["Records"][k]
        return total

    def item(self, pk, sk="1", **attrs):
        return {"pk": {"S": pk}, "sk": {"S": sk}, **attrs}

    def test_stream_matches_the_table_description(self):
        desc = self.make()
        arn = desc["LatestStreamArn"]
        self.assertRegex(arn, r"^arn:aws:dynamodb:us-east-1:\d{12}:table/orders/stream/"
                              r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
        [s] = self.streams()
        self.assertEqual(s["StreamArn"], arn)
        self.assertEqual(s["StreamLabel"], desc["LatestStreamLabel"])
        self.assertEqual(s["StreamStatus"], "ENABLED")
        self.assertEqual(s["StreamViewType"], "NEW_AND_OLD_IMAGES")
        [sh] = s["Shards"]
        self.assertRegex(sh["ShardId"], r"^shardId-\d{20}-[0-9a-f]{8}$")
        self.assertNotIn("ParentShardId", sh)
        self.assertTrue(sh["Open"])
        self.assertIn("StartingSequenceNumber", sh["SequenceNumberRange"])
        self.assertNotIn("EndingSequenceNumber", sh["SequenceNumberRange"])
        # A table without a stream has none.
        self.make("plain", stream=False)
        self.ddb.put_item(TableName="plain", Item=self.item("a"))
        self.assertEqual([x["TableName"] for x in self.streams()], ["orders"])

    def test_every_write_path(self):
        self.make()
        d = self.ddb
        d.put_item(TableName="orders", Item=self.item("a", n={"N": "1"}))            # INSERT
        d.put_item(TableName="orders", Item=self.item("a", n={"N": "2"}))            # MODIFY
        d.update_item(TableName="orders", Key=self.item("b"),                       # INSERT
                      UpdateExpression="SET n = :v", ExpressionAttributeValues={":v": {"N": "1"}})
        d.update_item(TableName="orders", Key=self.item("b"),                       # MODIFY
                      UpdateExpression="ADD n :v", ExpressionAttributeValues={":v": {"N": "1"}})
        d.delete_item(TableName="orders", Key=self.item("b"))                       # REMOVE
        d.batch_write_item(RequestItems={"orders": [
            {"PutRequest": {"Item": self.item("c")}},                               # INSERT
            {"PutRequest": {"Item": self.item("a", n={"N": "3"})}},                  # MODIFY
        ]})
        d.batch_write_item(RequestItems={"orders": [
            {"DeleteRequest": {"Key": self.item("c")}}]})                          # REMOVE
        d.transact_write_items(TransactItems=[
            {"Put": {"TableName": "orders", "Item": self.item("d")}},                # INSERT
            {"Delete": {"TableName": "orders", "Key": self.item("a")}},              # REMOVE
            {"Update": {"TableName": "orders", "Key": self.item("e"),              # INSERT
                        "UpdateExpression": "SET x = :x",
                        "ExpressionAttributeValues": {":x": {"S": "y"}}}},
        ])
        self.assertEqual(self.counts(), {"INSERT": 5, "MODIFY": 3, "REMOVE": 3})

    def test_no_op_writes_write_nothing(self):
        self.make()
        d = self.ddb
        d.put_item(TableName="orders", Item=self.item("a", n={"N": "1"}, s={"SS": ["x", "y"]}))
        d.put_item(TableName="orders", Item=self.item("a", n={"N": "1"}, s={"SS": ["y", "x"]}))
        d.update_item(TableName="orders", Key=self.item("a"), UpdateExpression="SET n = :v",
                      ExpressionAttributeValues={":v": {"N": "1"}})
        d.update_item(TableName="orders", Key=self.item("a"), UpdateExpression="REMOVE nothere")
        d.delete_item(TableName="orders", Key=self.item("missing"))
        d.batch_write_item(RequestItems={"orders": [{"DeleteRequest": {"Key": self.item("gone")}}]})
        self.assertEqual(self.counts(), {"INSERT": 1, "MODIFY": 0, "REMOVE": 0})

    def test_failed_writes_write_nothing(self):
        self.make()
        d = self.ddb
        d.put_item(TableName="orders", Item=self.item("a"))
        d.put_item(TableName="orders", Item=self.item("b"))
        self.assertAwsError(
            lambda: d.put_item(TableName="orders", Item=self.item("a", n={"N": "1"}),
                               ConditionExpression="attribute_not_exists(pk)"),
            "ConditionalCheckFailedException")
        self.assertAwsError(
            lambda: d.update_item(TableName="orders", Key=self.item("a"), UpdateExpression="SET n = :v",
                                  ConditionExpression="n = :v",
                                  ExpressionAttributeValues={":v": {"N": "1"}}),
            "ConditionalCheckFailedException")
        self.assertAwsError(
            lambda: d.delete_item(TableName="orders", Key=self.item("a"),
                                  ConditionExpression="attribute_exists(nope)"),
            "ConditionalCheckFailedException")
        # The put and the delete would have succeeded on their own: the
        # cancelled transaction rolls them back, records included.
        self.assertAwsError(
            lambda: d.transact_write_items(TransactItems=[
                {"Put": {"TableName": "orders", "Item": self.item("new")}},
                {"Delete": {"TableName": "orders", "Key": self.item("b")}},
                {"ConditionCheck": {"TableName": "orders", "Key": self.item("a"),
                                    "ConditionExpression": "attribute_exists(nope)"}},
            ]),
            "TransactionCanceledException")
        self.assertEqual(self.counts(), {"INSERT": 2, "MODIFY": 0, "REMOVE": 0})

    def test_ttl_removals(self):
        self.make()
        self.ddb.update_time_to_live(TableName="orders", TimeToLiveSpecification={
            "Enabled": True, "AttributeName": "exp"})
        now_s = self.tidepool.now_ms() // 1000
        self.ddb.put_item(TableName="orders", Item=self.item("old", exp={"N": str(now_s - 10)}))
        self.ddb.put_item(TableName="orders", Item=self.item("new", exp={"N": str(now_s + 3600)}))
        self.tidepool.advance(120 * 1000)
        self.assertEqual(self.counts(), {"INSERT": 2, "MODIFY": 0, "REMOVE": 1})

    def test_disable_keeps_the_old_stream_readable_and_enable_makes_a_new_one(self):
        first = self.make()["LatestStreamArn"]
        self.ddb.put_item(TableName="orders", Item=self.item("a"))
        self.ddb.update_table(TableName="orders", StreamSpecification={"StreamEnabled": False})
        self.ddb.put_item(TableName="orders", Item=self.item("b"))   # no stream: no record
        self.tidepool.advance(1000)
        second = self.ddb.update_table(TableName="orders", StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})["TableDescription"]["LatestStreamArn"]
        self.assertNotEqual(first, second)
        self.ddb.put_item(TableName="orders", Item=self.item("c"))
        by_arn = {s["StreamArn"]: s for s in self.streams()}
        self.assertEqual(set(by_arn), {first, second})
        self.assertEqual(by_arn[first]["StreamStatus"], "DISABLED")
        self.assertEqual(by_arn[first]["RecordCount"], 1)
        [closed] = by_arn[first]["Shards"]
        self.assertFalse(closed["Open"])
        self.assertIn("EndingSequenceNumber", closed["SequenceNumberRange"])
        self.assertEqual(by_arn[second]["StreamStatus"], "ENABLED")
        self.assertEqual(by_arn[second]["StreamViewType"], "KEYS_ONLY")
        self.assertEqual(by_arn[second]["RecordCount"], 1)
        # The disabled stream goes once retention (24 h) has passed.
        self.tidepool.advance(24 * HOUR + 60 * 1000)
        self.assertEqual([s["StreamArn"] for s in self.streams()], [second])

    def test_delete_table_disables_its_stream(self):
        arn = self.make()["LatestStreamArn"]
        self.ddb.put_item(TableName="orders", Item=self.item("a"))
        self.ddb.delete_table(TableName="orders")
        [s] = self.streams()
        self.assertEqual((s["StreamArn"], s["StreamStatus"], s["RecordCount"]), (arn, "DISABLED", 1))
        # Re-created at the same (virtual) instant: the new stream's ARN is new.
        again = self.make()["LatestStreamArn"]
        self.assertNotEqual(again, arn)
        self.assertEqual(self.ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"], again)
        self.assertEqual(sorted(s["StreamStatus"] for s in self.streams()), ["DISABLED", "ENABLED"])

    def test_shards_roll_over_every_four_hours(self):
        self.make()
        self.ddb.put_item(TableName="orders", Item=self.item("a"))
        self.tidepool.advance(4 * HOUR)
        self.ddb.put_item(TableName="orders", Item=self.item("b"))
        [s] = self.streams()
        parent, child = s["Shards"]
        self.assertFalse(parent["Open"])
        self.assertTrue(child["Open"])
        self.assertEqual(child["ParentShardId"], parent["ShardId"])
        self.assertEqual(child["CreatedMs"] - parent["CreatedMs"], 4 * HOUR)
        self.assertEqual(parent["Records"]["Total"], 1)
        self.assertEqual(child["Records"]["Total"], 1)
        pr, cr = parent["SequenceNumberRange"], child["SequenceNumberRange"]
        self.assertLess(int(pr["StartingSequenceNumber"]), int(cr["StartingSequenceNumber"]))
        self.assertLess(int(pr["EndingSequenceNumber"]), int(cr["StartingSequenceNumber"]))
        self.assertNotIn("EndingSequenceNumber", cr)
        # Lineage keeps growing without writes.
        self.tidepool.advance(8 * HOUR)
        shards = self.streams()[0]["Shards"]
        self.assertEqual(len(shards), 4)
        for p, c in zip(shards, shards[1:]):
            self.assertEqual(c["ParentShardId"], p["ShardId"])
        self.assertEqual([sh["Open"] for sh in shards], [False, False, False, True])

    def test_records_are_trimmed_after_24_hours(self):
        self.make()
        self.ddb.put_item(TableName="orders", Item=self.item("a"))
        self.tidepool.advance(12 * HOUR)
        self.ddb.put_item(TableName="orders", Item=self.item("b"))
        self.tidepool.advance(12 * HOUR + 60 * 1000)
        self.assertEqual(self.counts(), {"INSERT": 1, "MODIFY": 0, "REMOVE": 0})
        self.tidepool.advance(12 * HOUR)
        self.assertEqual(self.counts(), {"INSERT": 0, "MODIFY": 0, "REMOVE": 0})
        # Shards that closed more than 24 h ago and hold nothing are gone.
        shards = self.streams()[0]["Shards"]
        now = self.tidepool.now_ms()
        for sh in shards:
            if not sh["Open"]:
                self.assertGreater(sh["ClosedMs"], now - 24 * HOUR)


class StreamSettings(TidepoolTestCase):
    tidepool_kwargs = {"config": {"streams": {"shards_per_table": 3, "shard_rollover_ms": 60000,
                                              "retention_ms": 300000}}}

    def test_configured_shards_rollover_and_retention(self):
        ddb = self.client("dynamodb", retries=1)
        ddb.create_table(TableName="cfg", AttributeDefinitions=[S("pk")],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         BillingMode="PAY_PER_REQUEST",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        for i in range(30):
            ddb.put_item(TableName="cfg", Item={"pk": {"S": "k%d" % i}})
        _, out = self.tidepool.control("GET", "streams")
        shards = out["Streams"][0]["Shards"]
        self.assertEqual(len(shards), 3)
        self.assertEqual(sum(sh["Records"]["INSERT"] for sh in shards), 30)
        self.tidepool.advance(60000)
        _, out = self.tidepool.control("GET", "streams")
        shards = out["Streams"][0]["Shards"]
        self.assertEqual(len(shards), 6)
        self.assertEqual(sorted(sh["ParentShardId"] for sh in shards if "ParentShardId" in sh),
                         sorted(sh["ShardId"] for sh in shards[:3]))
        self.tidepool.advance(300000)
        _, out = self.tidepool.control("GET", "streams")
        self.assertEqual(out["Streams"][0]["RecordCount"], 0)


if __name__ == "__main__":
    unittest.main()
