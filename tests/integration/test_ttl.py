"""TTL expiry on the virtual clock: a periodic sweep (ttl_sweep_interval_ms,
default 60 s) deletes items whose TTL attribute is a Number of epoch seconds
in the past. As on AWS, an expired item stays readable until the sweep
removes it; values that are not Numbers, or more than five years in the past,
are ignored (AWS's documented rule); deletions leave indexes and ItemCount
right. No sleeps: the tests advance tidepool's clock."""
import unittest

from tidepool import TidepoolTestCase

SWEEP_MS = 60000


def S(name):
    return {"AttributeName": name, "AttributeType": "S"}


class TtlSweep(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.client("dynamodb", retries=1)
        self.ddb.create_table(
            TableName="ttl", AttributeDefinitions=[S("pk"), S("g")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"}}],
            BillingMode="PAY_PER_REQUEST")
        self.ddb.update_time_to_live(TableName="ttl", TimeToLiveSpecification={
            "Enabled": True, "AttributeName": "exp"})
        self.now_s = self.tidepool.now_ms() // 1000

    def put(self, pk, exp=None, table="ttl", **extra):
        item = {"pk": {"S": pk}, **extra}
        if exp is not None:
            item["exp"] = exp if isinstance(exp, dict) else {"N": str(exp)}
        self.ddb.put_item(TableName=table, Item=item)

    def has(self, pk, table="ttl"):
        return "Item" in self.ddb.get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True)

    def describe(self, table="ttl"):
        return self.ddb.describe_table(TableName=table)["Table"]

    def test_expired_items_go_at_the_next_sweep(self):
        self.put("old", self.now_s - 10)
        self.put("new", self.now_s + 100)
        # Expired, but readable until the sweep runs.
        self.assertTrue(self.has("old"))
        self.tidepool.advance(SWEEP_MS + 1)
        self.assertFalse(self.has("old"))
        self.assertTrue(self.has("new"))
        self.assertEqual(self.describe()["ItemCount"], 1)
        self.tidepool.advance(SWEEP_MS)   # now + 120 s: past "new"'s expiry
        self.assertFalse(self.has("new"))
        self.assertEqual(self.describe()["ItemCount"], 0)
        self.assertEqual(self.describe()["TableSizeBytes"], 0)

    def test_sweep_keeps_running(self):
        for i in range(3):
            self.put("i%d" % i, self.now_s + 30 + i * 60)
        for left in (2, 1, 0):
            self.tidepool.advance(SWEEP_MS)
            self.assertEqual(self.describe()["ItemCount"], left)

    def test_values_ttl_ignores(self):
        self.put("string", {"S": str(self.now_s - 10)})
        self.put("millis", (self.now_s - 10) * 1000)             # far future in seconds
        self.put("ancient", self.now_s - 6 * 366 * 86400)       # > 5 years in the past
        self.put("nested", {"M": {"N": {"N": str(self.now_s - 10)}}})
        self.put("none")
        self.put("fraction", "%d.5" % (self.now_s - 10))        # a Number, just not whole: expires
        self.tidepool.advance(SWEEP_MS + 1)
        for pk in ("string", "millis", "ancient", "nested", "none"):
            self.assertTrue(self.has(pk), pk)
        self.assertFalse(self.has("fraction"))

    def test_deletion_updates_indexes(self):
        self.put("a", self.now_s - 10, g={"S": "x"})
        self.put("b", self.now_s + 1000, g={"S": "x"})
        g = self.describe()["GlobalSecondaryIndexes"][0]
        self.assertEqual(g["ItemCount"], 2)
        self.tidepool.advance(SWEEP_MS + 1)
        g = self.describe()["GlobalSecondaryIndexes"][0]
        self.assertEqual(g["ItemCount"], 1)
        # b: pk(2+1) 3 + g(1+1) 2 + exp(3 + number) -> whatever the item's size is
        self.assertEqual(g["IndexSizeBytes"], self.describe()["TableSizeBytes"])

    def test_tables_without_ttl_are_left_alone(self):
        self.ddb.create_table(TableName="plain", AttributeDefinitions=[S("pk")],
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                              BillingMode="PAY_PER_REQUEST")
        self.put("p", self.now_s - 10, table="plain")
        self.tidepool.advance(SWEEP_MS + 1)
        self.assertTrue(self.has("p", table="plain"))

    def test_disabled_ttl_stops_expiry(self):
        # AWS refuses a second TTL change within its cooldown (30 min here).
        self.tidepool.advance(1800000)
        self.put("old", self.tidepool.now_ms() // 1000 - 10)
        self.ddb.update_time_to_live(TableName="ttl", TimeToLiveSpecification={
            "Enabled": False, "AttributeName": "exp"})
        self.tidepool.advance(SWEEP_MS + 1)
        self.assertTrue(self.has("old"))

    def test_sweep_survives_reset(self):
        self.tidepool.reset()
        self.setUp_after_reset()
        self.put("old", self.now_s - 10)
        self.tidepool.advance(SWEEP_MS + 1)
        self.assertFalse(self.has("old"))

    def setUp_after_reset(self):
        self.ddb.create_table(TableName="ttl", AttributeDefinitions=[S("pk")],
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                              BillingMode="PAY_PER_REQUEST")
        self.ddb.update_time_to_live(TableName="ttl", TimeToLiveSpecification={
            "Enabled": True, "AttributeName": "exp"})
        self.now_s = self.tidepool.now_ms() // 1000


class TtlSettings(TidepoolTestCase):
    tidepool_kwargs = {"config": {"dynamodb": {"ttl_sweep_interval_ms": 1000, "ttl_delay_ms": 30000}}}

    def test_interval_and_delay_come_from_the_config(self):
        ddb = self.client("dynamodb", retries=1)
        ddb.create_table(TableName="ttl", AttributeDefinitions=[S("pk")],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         BillingMode="PAY_PER_REQUEST")
        ddb.update_time_to_live(TableName="ttl", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        now_s = self.tidepool.now_ms() // 1000
        ddb.put_item(TableName="ttl", Item={"pk": {"S": "a"}, "exp": {"N": str(now_s - 10)}})
        key = {"pk": {"S": "a"}}
        self.tidepool.advance(1000)    # expired 11 s ago, but the delay is 30 s
        self.assertIn("Item", ddb.get_item(TableName="ttl", Key=key))
        self.tidepool.advance(20000)   # 31 s after expiry
        self.assertNotIn("Item", ddb.get_item(TableName="ttl", Key=key))


if __name__ == "__main__":
    unittest.main()
