"""ThrottlingReasons (issue 17, "Say why"): every DynamoDB throttle names
its reason (Table|Index + Read|Write + the limit) and the table's or
index's ARN, in the exception (boto3 >= 1.40 parses the member), in the
throttle trace event and in /_tidepool/metrics. Virtual time: exact."""
import json
import unittest

from tidepool import TidepoolTestCase

PTEE = "ProvisionedThroughputExceededException"
KB = 1024
ONE_ATTEMPT = {"total_max_attempts": 1, "mode": "standard"}


def big(pk, size):
    pad = size - (len("pk") + len(pk) + len("data"))
    return {"pk": {"S": pk}, "data": {"S": "x" * pad}}


def parses_reasons():
    import botocore.session
    m = botocore.session.get_session().get_service_model("dynamodb")
    return "ThrottlingReasons" in m.shape_for("ProvisionedThroughputExceededException").members


class ReasonsBase(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        if not parses_reasons():
            self.skipTest("this botocore does not know ThrottlingReasons")
        self.ddb = self.tidepool.client("dynamodb", retries=ONE_ATTEMPT)

    def create(self, name, rcu=5, wcu=5, gsi=None, **kw):
        defs = [{"AttributeName": "pk", "AttributeType": "S"}]
        if gsi:
            defs.append({"AttributeName": "user", "AttributeType": "S"})
            kw["GlobalSecondaryIndexes"] = [{
                "IndexName": gsi, "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}]
        self.ddb.create_table(
            TableName=name, AttributeDefinitions=defs,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            ProvisionedThroughput={"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu}, **kw)
        return self.ddb.describe_table(TableName=name)["Table"]

    def drain_writes(self, table, units, extra=None):
        for i in range(units // 100):
            item = big("drain%03d" % i, 100 * KB - (7 if extra else 0))
            item.update(extra or {})
            self.ddb.put_item(TableName=table, Item=item)

    def reasons(self, fn, code=PTEE):
        e = self.assertAwsError(fn, code)
        return e.response.get("ThrottlingReasons")


class TestReasons(ReasonsBase):
    def test_table_write_and_read(self):
        arn = self.create("orders", rcu=1, wcu=1)["TableArn"]
        self.drain_writes("orders", 300)
        put = lambda: self.ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
        self.assertEqual(self.reasons(put), [
            {"reason": "TableWriteProvisionedThroughputExceeded", "resource": arn}])
        for i in range(4):   # 300 RCU of burst, 100 KB strongly consistent reads = 25 each
            for j in range(3):
                self.ddb.get_item(TableName="orders", Key={"pk": {"S": "drain%03d" % j}},
                                  ConsistentRead=True)
        get = lambda: self.ddb.get_item(TableName="orders", Key={"pk": {"S": "a"}})
        self.assertEqual(self.reasons(get), [
            {"reason": "TableReadProvisionedThroughputExceeded", "resource": arn}])
        query = lambda: self.ddb.query(TableName="orders", KeyConditionExpression="pk = :p",
                                       ExpressionAttributeValues={":p": {"S": "a"}})
        self.assertEqual(self.reasons(query), [
            {"reason": "TableReadProvisionedThroughputExceeded", "resource": arn}])

    def test_index_write_and_read(self):
        desc = self.create("orders", rcu=100, wcu=100, gsi="byUser")
        index_arn = desc["GlobalSecondaryIndexes"][0]["IndexArn"]
        self.assertEqual(index_arn, desc["TableArn"] + "/index/byUser")
        self.drain_writes("orders", 300, {"user": {"S": "u"}})
        put = lambda: self.ddb.put_item(TableName="orders",
                                        Item={"pk": {"S": "x"}, "user": {"S": "u"}})
        self.assertEqual(self.reasons(put), [
            {"reason": "IndexWriteProvisionedThroughputExceeded", "resource": index_arn}])
        for i in range(8):   # 300 RCU of burst on the index; a query reads 3 x 100 KB eventually: 37.5
            self.ddb.query(TableName="orders", IndexName="byUser", KeyConditionExpression="#u = :u",
                           ExpressionAttributeNames={"#u": "user"},
                           ExpressionAttributeValues={":u": {"S": "u"}})
        query = lambda: self.ddb.query(TableName="orders", IndexName="byUser",
                                       KeyConditionExpression="#u = :u",
                                       ExpressionAttributeNames={"#u": "user"},
                                       ExpressionAttributeValues={":u": {"S": "u"}})
        self.assertEqual(self.reasons(query), [
            {"reason": "IndexReadProvisionedThroughputExceeded", "resource": index_arn}])

    def test_batch_write_all_refused_names_each_table(self):
        a = self.create("tab_a", wcu=1)["TableArn"]
        b = self.create("tab_b", wcu=1)["TableArn"]
        self.drain_writes("tab_a", 300)
        self.drain_writes("tab_b", 300)
        batch = lambda: self.ddb.batch_write_item(RequestItems={
            "tab_a": [{"PutRequest": {"Item": {"pk": {"S": "1"}}}},
                  {"PutRequest": {"Item": {"pk": {"S": "2"}}}}],
            "tab_b": [{"PutRequest": {"Item": {"pk": {"S": "1"}}}}]})
        got = self.reasons(batch)
        self.assertEqual(sorted(got, key=lambda x: x["resource"]), [
            {"reason": "TableWriteProvisionedThroughputExceeded", "resource": a},
            {"reason": "TableWriteProvisionedThroughputExceeded", "resource": b}])

    def test_trace_and_metrics(self):
        arn = self.create("orders", wcu=1)["TableArn"]
        self.drain_writes("orders", 300)
        for _ in range(2):
            self.assertAwsError(lambda: self.ddb.put_item(TableName="orders", Item={"pk": {"S": "b"}}),
                                PTEE)
        status, text = self.tidepool.control("GET", "trace")
        throttles = [json.loads(l) for l in text.splitlines() if '"throttle"' in l]
        self.assertEqual([(t["reason"], t["resource"]) for t in throttles],
                         [("TableWriteProvisionedThroughputExceeded", arn)] * 2)
        status, text = self.tidepool.control("GET", "metrics")
        acct = arn.split(":")[4]
        self.assertIn('tidepool_throttle_reasons_total{account="%s",region="us-east-1",'
                      'table="orders",index="",kind="write",'
                      'reason="TableWriteProvisionedThroughputExceeded"} 2\n' % acct, text)


class TestOnDemandQuota(ReasonsBase):
    tidepool_kwargs = {"config": {"capacity": {"on_demand_max_write": 100}}}

    def test_account_limit(self):
        self.ddb.create_table(
            TableName="ondemand", AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
        arn = self.ddb.describe_table(TableName="ondemand")["Table"]["TableArn"]
        self.ddb.put_item(TableName="ondemand", Item=big("a", 100 * KB))
        put = lambda: self.ddb.put_item(TableName="ondemand", Item={"pk": {"S": "b"}})
        self.assertEqual(self.reasons(put), [
            {"reason": "TableWriteAccountLimitExceeded", "resource": arn}])


if __name__ == "__main__":
    unittest.main()


class TestPartitions(ReasonsBase):
    """On-demand table scaled down tenfold by configuration (partitions of
    100 WCU, warm 400 writes/s: 4 partitions, 1 s of partition burst,
    split for heat after 5 s), so that each second is 200 calls."""
    tidepool_kwargs = {"config": {"capacity": {"partitions": {
        "split_for_heat_seconds": 5, "write_units": 100, "on_demand_warm_write": 400,
        "burst_seconds": 1}}}}

    def setUp(self):
        super().setUp()
        self.ddb.create_table(
            TableName="hot", AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
        self.arn = self.ddb.describe_table(TableName="hot")["Table"]["TableArn"]

    def write_second(self, keys):
        """One virtual second: a 1 KB write to each key in turn, evenly spaced;
        returns how many were throttled and their reasons."""
        from botocore.exceptions import ClientError
        throttled, reasons = 0, set()
        step = 1000 // len(keys)
        for k in keys:
            try:
                self.ddb.put_item(TableName="hot", Item={"pk": {"S": k}})
            except ClientError as e:
                throttled += 1
                for tr in e.response.get("ThrottlingReasons", []):
                    reasons.add((tr["reason"], tr["resource"]))
            self.tidepool.advance(step)
        return throttled, reasons

    def bucket(self):
        status, out = self.tidepool.control("GET", "capacity")
        return [b for b in out["buckets"] if b["table"] == "hot" and b["kind"] == "write"][0]

    def test_one_hot_key_throttles_with_key_range_and_stays_capped(self):
        total, reasons = 0, set()
        for _ in range(10):   # 150 writes/s to one key of a 100 WCU partition
            t, r = self.write_second(["hotkey"] * 150)
            total += t
            reasons |= r
        self.assertGreater(total, 0)
        self.assertEqual(reasons, {("TableWriteKeyRangeThroughputExceeded", self.arn)})
        b = self.bucket()
        # the table as a whole had room: its own bucket refused nothing
        self.assertEqual(b["throttled"], 0)
        self.assertEqual(sum(p["throttled"] for p in b["partitions"]), total)
        # one hot key never splits for heat (DescribeTable's WarmThroughput,
        # 4,000 writes/s, over 100 WCU partitions: 40)
        self.assertEqual(len(b["partitions"]), 40)

    def test_sharded_hot_key_does_not_throttle(self):
        total = 0
        for _ in range(10):
            t, _ = self.write_second(["hotkey#%d" % (i % 10) for i in range(150)])
            total += t
        self.assertEqual(total, 0)

    def test_many_keys_of_one_partition_split_for_heat(self):
        by_part = {}
        self.ddb.put_item(TableName="hot", Item={"pk": {"S": "first"}})   # makes the partitions
        for i in range(200):
            k = "k%03d" % i
            before = [p["consumed"] for p in self.bucket()["partitions"]]
            self.ddb.put_item(TableName="hot", Item={"pk": {"S": k}})
            after = [p["consumed"] for p in self.bucket()["partitions"]]
            idx = [j for j in range(len(after)) if after[j] != before[j]][0]
            by_part.setdefault(idx, []).append(k)
        same = max(by_part.values(), key=len)[:10]
        self.tidepool.advance(5000)
        early = late = 0
        for s in range(40):   # 150 writes/s over 10 keys of one partition
            t, _ = self.write_second([same[i % len(same)] for i in range(150)])
            if s < 4:
                early += t
            elif s >= 36:
                late += t
        self.assertGreater(early, 0)
        self.assertGreater(len(self.bucket()["partitions"]), 40)   # split for heat
        self.assertEqual(late, 0)                                   # and recovered
        status, text = self.tidepool.control("GET", "trace")
        self.assertIn('"type":"split"', text)


if __name__ == "__main__":
    unittest.main()
