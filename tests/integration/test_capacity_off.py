"""test_capacity_off — `tidepool serve --capacity off` and the config key
"capacity": {"enforce": false}: nothing throttles (for suites written for
emulators that never throttle), while ReturnConsumedCapacity and the
metrics still report what each call consumed. Default stays on, and the
flag wins over the config file. All on the virtual clock: the buckets
never refill between calls, so a throttle would be certain."""
import unittest

from tidepool import TidepoolTestCase

ONE_ATTEMPT = {"total_max_attempts": 1, "mode": "standard"}
PK = [{"AttributeName": "pk", "AttributeType": "S"}]
HASH = [{"AttributeName": "pk", "KeyType": "HASH"}]
KB = 1024


class Tiny(TidepoolTestCase):
    """A 1 RCU / 1 WCU table with no burst: the second 1 KB write in the
    same virtual second is over capacity."""
    tidepool_kwargs = {"config": {"capacity": {"burst_seconds": 0, "start_full": False}}}

    def setUp(self):
        super().setUp()
        self.ddb = self.tidepool.client("dynamodb", retries=ONE_ATTEMPT)
        self.ddb.create_table(
            TableName="tiny", AttributeDefinitions=PK + [{"AttributeName": "g", "AttributeType": "S"}],
            KeySchema=HASH, ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
            GlobalSecondaryIndexes=[{"IndexName": "byG",
                                     "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"},
                                     "ProvisionedThroughput": {"ReadCapacityUnits": 1,
                                                               "WriteCapacityUnits": 1}}])

    def item(self, i):
        return {"pk": {"S": "k%03d" % i}, "g": {"S": "g"}, "pad": {"S": "x" * (KB - 12)}}

    def write_many(self, n):
        for i in range(n):
            out = self.ddb.put_item(TableName="tiny", Item=self.item(i), ReturnConsumedCapacity="TOTAL")
            self.assertEqual(out["ConsumedCapacity"]["CapacityUnits"], 2.0)   # table + index


class CapacityOffByFlag(Tiny):
    tidepool_args = ("--capacity", "off")

    def test_nothing_throttles_and_capacity_is_reported(self):
        self.write_many(50)
        got = self.ddb.scan(TableName="tiny", ReturnConsumedCapacity="INDEXES")
        self.assertEqual(got["Count"], 50)
        self.assertIn("Table", got["ConsumedCapacity"])
        q = self.ddb.query(TableName="tiny", IndexName="byG", KeyConditionExpression="g = :g",
                           ExpressionAttributeValues={":g": {"S": "g"}},
                           ReturnConsumedCapacity="TOTAL")
        self.assertEqual(q["Count"], 50)
        self.assertGreater(q["ConsumedCapacity"]["CapacityUnits"], 1)

    def test_batches_leave_nothing_unprocessed(self):
        for start in range(0, 50, 25):
            out = self.ddb.batch_write_item(RequestItems={"tiny": [
                {"PutRequest": {"Item": self.item(i)}} for i in range(start, start + 25)]})
            self.assertEqual(out["UnprocessedItems"], {})
        keys = [{"pk": {"S": "k%03d" % i}} for i in range(50)]
        got = self.ddb.batch_get_item(RequestItems={"tiny": {"Keys": keys}})
        self.assertEqual(len(got["Responses"]["tiny"]), 50)
        self.assertEqual(got["UnprocessedKeys"], {})

    def test_transactions_are_not_throttled(self):
        for i in range(10):
            self.ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": "tiny", "Item": self.item(i)}}])
        self.assertEqual(self.ddb.scan(TableName="tiny", Select="COUNT")["Count"], 10)

    def test_metrics_still_count_consumption(self):
        self.write_many(5)
        status, _, body = self.tidepool.raw("GET", "/_tidepool/metrics")
        self.assertEqual(status, 200)
        text = body.decode()
        self.assertIn("tiny", text)
        self.assertNotRegex(text, r'throttled[^\n]*table="tiny"[^\n]* [1-9]')

    def test_cli_v2_writes_past_capacity(self):
        for i in range(5):
            rc, out, err = self.aws("dynamodb", "put-item", "--table-name", "tiny", "--item",
                                    '{"pk":{"S":"c%d"},"pad":{"S":"%s"}}' % (i, "x" * 1000),
                                    "--return-consumed-capacity", "TOTAL")
            self.assertEqual(rc, 0, err)
            self.assertEqual(out["ConsumedCapacity"]["CapacityUnits"], 1.0)


class CapacityOffByConfig(Tiny):
    tidepool_kwargs = {"config": {"capacity": {"burst_seconds": 0, "start_full": False,
                                               "enforce": False}}}

    def test_config_key_turns_enforcement_off(self):
        self.write_many(20)


class CapacityOnByDefault(Tiny):
    def test_default_throttles(self):
        from botocore.exceptions import ClientError
        self.tidepool.advance(1000)
        with self.assertRaises(ClientError) as cm:
            for i in range(5):
                self.ddb.put_item(TableName="tiny", Item=self.item(i))
        self.assertEqual(cm.exception.response["Error"]["Code"],
                         "ProvisionedThroughputExceededException")


class FlagWinsOverConfig(Tiny):
    tidepool_args = ("--capacity", "on")
    tidepool_kwargs = {"config": {"capacity": {"burst_seconds": 0, "start_full": False,
                                               "enforce": False}}}

    def test_flag_on_wins(self):
        from botocore.exceptions import ClientError
        self.tidepool.advance(1000)
        with self.assertRaises(ClientError) as cm:
            for i in range(5):
                self.ddb.put_item(TableName="tiny", Item=self.item(i))
        self.assertEqual(cm.exception.response["Error"]["Code"],
                         "ProvisionedThroughputExceededException")


if __name__ == "__main__":
    unittest.main()
