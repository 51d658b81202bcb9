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
