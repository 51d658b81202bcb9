"""Provisioned throughput and throttling (issue 5, "The model"): token
buckets per table and GSI refilled at the provisioned rate with 300 s of
burst, admission while positive, full cost charged, refused requests free;
AWS's ProvisionedThroughputExceededException messages; BatchWriteItem's
UnprocessedItems; UpdateTable, config and /_tidepool/capacity overrides;
all in virtual time, so every number below is exact."""
import json
import unittest

from tidepool import TidepoolTestCase

TABLE_MSG = ("The level of configured provisioned throughput for the table was exceeded. "
             "Consider increasing your provisioning level with the UpdateTable API.")
GSI_MSG = ("The level of configured provisioned throughput for one or more global secondary "
           "indexes of the table was exceeded. Consider increasing your provisioning level for "
           "the under-provisioned global secondary indexes with the UpdateTable API")
PTEE = "ProvisionedThroughputExceededException"
KB = 1024
ONE_ATTEMPT = {"total_max_attempts": 1, "mode": "standard"}


def big(pk, size):
    """An item of exactly size bytes (AWS's item size: names + values)."""
    pad = size - (len("pk") + len(pk) + len("data"))
    return {"pk": {"S": pk}, "data": {"S": "x" * pad}}


class ThrottlingBase(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        # One attempt, no retry (retries=1 would still allow one retry of a
        # throttle in standard mode).
        self.ddb = self.tidepool.client("dynamodb", retries=ONE_ATTEMPT)

    def create(self, name, rcu=5, wcu=5, **kw):
        self.ddb.create_table(
            TableName=name,
            AttributeDefinitions=kw.pop("defs", [{"AttributeName": "pk", "AttributeType": "S"}]),
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            ProvisionedThroughput={"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu}, **kw)

    def bucket(self, table, kind, index=None):
        status, out = self.tidepool.control("GET", "capacity")
        self.assertEqual(status, 200)
        for b in out["buckets"]:
            if b["table"] == table and b["kind"] == kind and b["index"] == index:
                return b
        self.fail("no %s bucket for %s/%s in %r" % (kind, table, index, out))

    def drain_writes(self, table, units):
        """Spends units WCU with 100 KB puts (100 WCU each)."""
        for i in range(units // 100):
            r = self.ddb.put_item(TableName=table, Item=big("drain%03d" % i, 100 * KB),
                                  ReturnConsumedCapacity="TOTAL")
            self.assertEqual(r["ConsumedCapacity"]["CapacityUnits"], 100.0)


class TestWriteBurst(ThrottlingBase):
    def test_five_wcu_table_takes_its_burst_then_throttles(self):
        self.create("orders", wcu=5)
        self.drain_writes("orders", 1500)          # 300 s x 5 WCU of burst
        b = self.bucket("orders", "write")
        self.assertEqual((b["rate"], b["level"], b["burst"]), (5, 0, 1500))
        self.assertAwsError(lambda: self.ddb.put_item(TableName="orders", Item=big("a", KB)),
                            PTEE, TABLE_MSG)
        self.assertEqual(self.bucket("orders", "write")["throttled"], 1)
        # A refused request costs nothing and wrote nothing.
        self.assertEqual(self.bucket("orders", "write")["level"], 0)
        self.assertNotIn("Item", self.ddb.get_item(TableName="orders", Key={"pk": {"S": "a"}}))
        # One virtual second later: exactly five 1 KB writes fit.
        self.tidepool.advance(1000)
        for i in range(5):
            self.ddb.put_item(TableName="orders", Item=big("k%d" % i, KB))
        self.assertAwsError(lambda: self.ddb.put_item(TableName="orders", Item=big("k5", KB)),
                            PTEE, TABLE_MSG)
        # Admission needs only a positive level: 1 ms later (0.005 WCU) the
        # write goes through and pays its full cost.
        self.tidepool.advance(1)
        self.ddb.put_item(TableName="orders", Item=big("k5", KB))
        self.assertEqual(self.bucket("orders", "write")["level"], -0.995)

    def test_debt_full_cost_is_charged(self):
        self.create("orders", wcu=5)
        self.drain_writes("orders", 1500)
        self.tidepool.advance(200)                 # 1 WCU in the bucket
        r = self.ddb.put_item(TableName="orders", Item=big("huge", 100 * KB),
                              ReturnConsumedCapacity="TOTAL")
        self.assertEqual(r["ConsumedCapacity"]["CapacityUnits"], 100.0)
        self.assertEqual(self.bucket("orders", "write")["level"], -99)
        self.tidepool.advance(19800)               # 99 WCU of debt repaid: level 0, refused
        self.assertAwsError(lambda: self.ddb.delete_item(TableName="orders", Key={"pk": {"S": "huge"}}),
                            PTEE, TABLE_MSG)
        self.tidepool.advance(1)
        self.ddb.delete_item(TableName="orders", Key={"pk": {"S": "huge"}})

    def test_consumed_capacity_equals_what_the_bucket_lost(self):
        self.create("orders", wcu=5)
        before = self.bucket_after_touch("orders")
        r = self.ddb.put_item(TableName="orders", Item=big("a", 3 * KB + 1),
                              ReturnConsumedCapacity="TOTAL")
        self.assertEqual(r["ConsumedCapacity"]["CapacityUnits"], 4.0)
        r = self.ddb.update_item(TableName="orders", Key={"pk": {"S": "a"}},
                                 UpdateExpression="SET n = :n",
                                 ExpressionAttributeValues={":n": {"N": "1"}},
                                 ReturnConsumedCapacity="TOTAL")
        self.assertEqual(r["ConsumedCapacity"]["CapacityUnits"], 4.0)
        after = self.bucket("orders", "write")
        self.assertEqual(before - after["level"], 8)
        self.assertEqual(after["consumed"], 8 + 1)  # plus the touching write

    def bucket_after_touch(self, table):
        self.ddb.put_item(TableName=table, Item={"pk": {"S": "touch"}})
        return self.bucket(table, "write")["level"]

    def test_failed_conditional_write_still_costs(self):
        self.create("orders", wcu=5)
        self.ddb.put_item(TableName="orders", Item=big("a", 2 * KB))
        level = self.bucket("orders", "write")["level"]
        self.assertAwsError(lambda: self.ddb.put_item(
            TableName="orders", Item={"pk": {"S": "a"}},
            ConditionExpression="attribute_not_exists(pk)"),
            "ConditionalCheckFailedException", "The conditional request failed")
        self.assertEqual(self.bucket("orders", "write")["level"], level - 2)

    def test_same_calls_same_throttles(self):
        outcomes = []
        for run in range(2):
            self.tidepool.reset()
            self.create("orders", wcu=1)
            self.drain_writes("orders", 300)
            seen = []
            for i in range(12):
                self.tidepool.advance(337)
                try:
                    self.ddb.put_item(TableName="orders", Item=big("r%d" % i, 600))
                    seen.append("ok")
                except self.ddb.exceptions.ProvisionedThroughputExceededException:
                    seen.append("throttled")
            outcomes.append(seen)
        self.assertEqual(outcomes[0], outcomes[1])
        # 1 WCU/s, 1 WCU writes every 337 ms: admitted at 337, 1011, 2022,
        # 3033 and 4044 ms (level just above 0 each time), refused between.
        self.assertEqual(outcomes[0], ["ok", "throttled"] + (["ok", "throttled", "throttled"] * 3) + ["ok"])


class TestReads(ThrottlingBase):
    def test_reads_throttle_on_the_read_bucket(self):
        self.create("orders", rcu=1, wcu=100)
        self.ddb.put_item(TableName="orders", Item=big("a", 100 * KB))
        # 100 KB strongly consistent = 25 RCU; 300 RCU of burst = 12 reads.
        for _ in range(12):
            r = self.ddb.get_item(TableName="orders", Key={"pk": {"S": "a"}}, ConsistentRead=True,
                                  ReturnConsumedCapacity="TOTAL")
            self.assertEqual(r["ConsumedCapacity"]["CapacityUnits"], 25.0)
        self.assertAwsError(lambda: self.ddb.get_item(TableName="orders", Key={"pk": {"S": "a"}}),
                            PTEE, TABLE_MSG)
        self.assertAwsError(lambda: self.ddb.query(
            TableName="orders", KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}}), PTEE, TABLE_MSG)
        self.assertAwsError(lambda: self.ddb.scan(TableName="orders"), PTEE, TABLE_MSG)
        # Writes have their own bucket.
        self.ddb.put_item(TableName="orders", Item={"pk": {"S": "b"}})
        self.tidepool.advance(1000)
        r = self.ddb.scan(TableName="orders", ReturnConsumedCapacity="TOTAL")
        self.assertEqual(r["ConsumedCapacity"]["CapacityUnits"], 13.0)   # 100 KB + tiny, eventual
        self.assertEqual(self.bucket("orders", "read")["level"], -12)


class TestGsi(ThrottlingBase):
    def test_gsi_write_bucket_throttles_with_its_own_message(self):
        self.ddb.create_table(
            TableName="orders",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "user", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            ProvisionedThroughput={"ReadCapacityUnits": 100, "WriteCapacityUnits": 100},
            GlobalSecondaryIndexes=[{
                "IndexName": "byUser",
                "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}])
        for i in range(3):
            item = big("g%d" % i, 100 * KB - 7)
            item["user"] = {"S": "u"}               # 4 + 1 + 2 bytes more: exactly 100 KB
            r = self.ddb.put_item(TableName="orders", Item=item, ReturnConsumedCapacity="INDEXES")
            self.assertEqual(r["ConsumedCapacity"]["GlobalSecondaryIndexes"]["byUser"]["CapacityUnits"], 100.0)
        self.assertEqual(self.bucket("orders", "write", "byUser")["level"], 0)
        table_level = self.bucket("orders", "write")["level"]
        item = {"pk": {"S": "x"}, "user": {"S": "u"}}
        self.assertAwsError(lambda: self.ddb.put_item(TableName="orders", Item=item), PTEE, GSI_MSG)
        self.assertNotIn("Item", self.ddb.get_item(TableName="orders", Key={"pk": {"S": "x"}}))
        self.assertEqual(self.bucket("orders", "write")["level"], table_level)
        # A write that does not touch the index is not held back by it.
        self.ddb.put_item(TableName="orders", Item={"pk": {"S": "y"}})
        # A transaction whose write touches the empty index is cancelled
        # with a ThrottlingError reason, and nothing of it is written.
        e = self.assertAwsError(lambda: self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "t1"}}}},
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "t2"}, "user": {"S": "u"}}}}]),
            "TransactionCanceledException")
        codes = [x["Code"] for x in e.response["CancellationReasons"]]
        self.assertIn("ThrottlingError", codes)
        for pk in ("t1", "t2"):
            self.assertNotIn("Item", self.ddb.get_item(TableName="orders", Key={"pk": {"S": pk}}))
        # In a batch, only the write that would enter the empty index waits.
        r = self.ddb.batch_write_item(RequestItems={"orders": [
            {"PutRequest": {"Item": {"pk": {"S": "b1"}}}},
            {"PutRequest": {"Item": {"pk": {"S": "b2"}, "user": {"S": "u"}}}}]})
        self.assertEqual(r["UnprocessedItems"], {"orders": [
            {"PutRequest": {"Item": {"pk": {"S": "b2"}, "user": {"S": "u"}}}}]})
        self.assertIn("Item", self.ddb.get_item(TableName="orders", Key={"pk": {"S": "b1"}}))


class TestChangingCapacity(ThrottlingBase):
    def test_update_table_takes_effect_immediately(self):
        self.create("orders", wcu=5)
        self.drain_writes("orders", 1500)
        self.ddb.update_table(TableName="orders",
                              ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 100})
        # The next call sees the new rate (and is still refused: level 0).
        self.assertAwsError(lambda: self.ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}}),
                            PTEE, TABLE_MSG)
        b = self.bucket("orders", "write")
        self.assertEqual((b["rate"], b["level"], b["burst"]), (100, 0, 30000))
        self.tidepool.advance(1000)
        self.ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
        self.assertEqual(self.bucket("orders", "write")["level"], 99)

    def test_control_override_on_an_on_demand_table(self):
        self.ddb.create_table(
            TableName="orders",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")
        self.ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
        b = self.bucket("orders", "write")
        self.assertEqual((b["rate"], b["burst"]), (40000, 40000))   # on-demand ceiling, 1 s
        status, out = self.tidepool.control("POST", "capacity", {"table": "orders", "write": 1})
        self.assertEqual((status, out), (200, {"ok": True}))
        self.drain_writes("orders", 300)
        self.assertAwsError(lambda: self.ddb.put_item(TableName="orders", Item={"pk": {"S": "b"}}),
                            PTEE, TABLE_MSG)
        status, _ = self.tidepool.control("POST", "capacity", {"write": 1})
        self.assertEqual(status, 400)
        # Reset forgets buckets and overrides.
        self.tidepool.reset()
        self.assertEqual(self.tidepool.control("GET", "capacity"), (200, {"buckets": []}))

    def test_metrics_text(self):
        self.create("orders", wcu=1)
        self.drain_writes("orders", 300)
        self.assertRaises(Exception, lambda: self.ddb.put_item(TableName="orders", Item={"pk": {"S": "b"}}))
        b = self.bucket("orders", "write")
        self.assertEqual((b["consumed"], b["throttled"]), (300, 1))
        status, text = self.tidepool.control("GET", "metrics")
        self.assertEqual(status, 200)
        acct = b["account"]
        labels = 'account="%s",region="us-east-1",table="orders",index="",kind="write"' % acct
        self.assertIn("tidepool_consumed_capacity_units_total{%s} 300.000\n" % labels, text)
        self.assertIn("tidepool_throttled_requests_total{%s} 1\n" % labels, text)
        self.assertIn("tidepool_bucket_level{%s} 0.000\n" % labels, text)
        status, text = self.tidepool.control("GET", "trace")
        self.assertEqual(status, 200)
        events = [json.loads(line) for line in text.splitlines() if line.strip()]
        throttles = [e for e in events if e["type"] == "throttle"]
        self.assertEqual(len(throttles), 1)
        self.assertEqual((throttles[0]["table"], throttles[0]["kind"], throttles[0]["level"]),
                         ("orders", "write", 0))


class TestConfig(ThrottlingBase):
    tidepool_kwargs = {"config": {"capacity": {
        "start_full": False,
        "tables": {"orders": {"read": 2, "write": 3, "gsi": {"byUser": {"read": 1, "write": 1}}}}}}}

    def test_config_overrides_and_start_empty(self):
        self.create("orders", rcu=1000, wcu=1000)
        self.assertAwsError(lambda: self.ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}}),
                            PTEE, TABLE_MSG)
        self.tidepool.advance(1)
        self.ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
        b = self.bucket("orders", "write")
        self.assertEqual((b["rate"], b["burst"], b["level"]), (3, 900, -0.997))
        self.assertEqual(self.bucket("orders", "read")["rate"], 2)


class TestBatches(ThrottlingBase):
    def test_batch_write_returns_unprocessed_items(self):
        self.create("orders", wcu=5)
        self.drain_writes("orders", 1500)
        self.tidepool.advance(1000)                # 5 WCU
        reqs = [{"PutRequest": {"Item": big("b%d" % i, KB)}} for i in range(8)]
        r = self.ddb.batch_write_item(RequestItems={"orders": reqs}, ReturnConsumedCapacity="TOTAL")
        self.assertEqual(r["UnprocessedItems"], {"orders": reqs[5:]})
        self.assertEqual(r["ConsumedCapacity"], [{"TableName": "orders", "CapacityUnits": 5.0}])
        # Nothing fits: the whole call fails.
        self.assertAwsError(lambda: self.ddb.batch_write_item(RequestItems={"orders": reqs[5:]}),
                            PTEE, TABLE_MSG)

    def test_batch_writer_retries_to_completion_as_time_advances(self):
        self.create("orders", wcu=5)
        self.drain_writes("orders", 1500)
        calls = []
        table = self.tidepool.resource("dynamodb", retries=ONE_ATTEMPT).Table("orders")

        def tick(**kwargs):
            calls.append(1)
            self.tidepool.advance(1000)
        table.meta.client.meta.events.register("before-call.dynamodb.BatchWriteItem", tick)
        with table.batch_writer() as w:
            for i in range(20):
                w.put_item(Item={"pk": "w%02d" % i, "data": "x" * 900})
        self.assertEqual(len(calls), 4)            # 5 items per virtual second
        self.assertEqual(self.bucket("orders", "write")["consumed"], 1500 + 20)
        for i in range(20):
            self.assertIn("Item", self.ddb.get_item(TableName="orders", Key={"pk": {"S": "w%02d" % i}}))

    def test_batch_get_returns_unprocessed_keys(self):
        self.create("orders", rcu=1, wcu=100)
        self.ddb.put_item(TableName="orders", Item=big("a", 100 * KB))
        self.ddb.put_item(TableName="orders", Item={"pk": {"S": "b"}})
        for _ in range(12):
            self.ddb.get_item(TableName="orders", Key={"pk": {"S": "a"}}, ConsistentRead=True)
        keys = [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}]
        self.assertAwsError(lambda: self.ddb.batch_get_item(RequestItems={"orders": {"Keys": keys}}),
                            PTEE, TABLE_MSG)
        self.tidepool.advance(500)                 # 0.5 RCU: one eventually consistent read of 100 KB
        r = self.ddb.batch_get_item(RequestItems={"orders": {"Keys": keys}})
        self.assertEqual(len(r["Responses"]["orders"]), 1)
        self.assertEqual(r["UnprocessedKeys"], {"orders": {"Keys": keys[1:]}})



TXN_MSG = ("Throughput exceeds the current capacity of your table or index. DynamoDB is "
           "automatically scaling your table or index so please try again shortly. If exceptions "
           "persist, check if you have a hot key: "
           "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html.")


class TestTransactions(ThrottlingBase):
    def test_transact_write_cancelled_with_throttling_reasons(self):
        self.create("orders", wcu=1)
        self.create("other", wcu=100)
        self.drain_writes("orders", 300)
        e = self.assertAwsError(lambda: self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "other", "Item": {"pk": {"S": "a"}}}},
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "b"}}}}]),
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons "
            "[None, ThrottlingError]")
        self.assertEqual(e.response["CancellationReasons"],
                         [{"Code": "None"}, {"Code": "ThrottlingError", "Message": TXN_MSG}])
        self.assertNotIn("Item", self.ddb.get_item(TableName="other", Key={"pk": {"S": "a"}}))
        # Transactional writes cost double, and that is what the bucket loses.
        self.tidepool.advance(10000)
        r = self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "orders", "Item": big("b", 2 * KB)}}],
            ReturnConsumedCapacity="TOTAL")
        self.assertEqual(r["ConsumedCapacity"][0]["CapacityUnits"], 4.0)
        self.assertEqual(self.bucket("orders", "write")["level"], 10 - 4)

    def test_transact_get_cancelled_with_throttling_reasons(self):
        self.create("orders", rcu=1, wcu=100)
        self.ddb.put_item(TableName="orders", Item=big("a", 100 * KB))
        for _ in range(12):
            self.ddb.get_item(TableName="orders", Key={"pk": {"S": "a"}}, ConsistentRead=True)
        e = self.assertAwsError(lambda: self.ddb.transact_get_items(TransactItems=[
            {"Get": {"TableName": "orders", "Key": {"pk": {"S": "a"}}}}]),
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons "
            "[ThrottlingError]")
        self.assertEqual(e.response["CancellationReasons"],
                         [{"Code": "ThrottlingError", "Message": TXN_MSG}])
        self.tidepool.advance(1)
        r = self.ddb.transact_get_items(TransactItems=[
            {"Get": {"TableName": "orders", "Key": {"pk": {"S": "a"}}}}],
            ReturnConsumedCapacity="TOTAL")
        self.assertEqual(r["ConsumedCapacity"][0]["CapacityUnits"], 50.0)
        self.assertEqual(self.bucket("orders", "read")["level"], 0.001 - 50)


if __name__ == "__main__":
    unittest.main()
