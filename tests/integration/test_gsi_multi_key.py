"""Multi-attribute GSI keys: a global secondary index whose KeySchema has up
to four HASH and four RANGE attributes. A Query needs = on every HASH
attribute and may constrain a left-to-right prefix of the RANGE attributes
(= on all but the last, which may also take <, <=, >, >=, BETWEEN or
begins_with); items lacking any key attribute are not in the index; results
sort part by part; pages carry every key attribute. Older botocore models
cap KeySchema at two elements, so table creation skips client validation."""
import unittest

from tidepool import TidepoolTestCase


def A(name, t="S"):
    return {"AttributeName": name, "AttributeType": t}


def H(name):
    return {"AttributeName": name, "KeyType": "HASH"}


def R(name):
    return {"AttributeName": name, "KeyType": "RANGE"}


GSI = {"IndexName": "byTenantSite", "KeySchema": [H("tenant"), H("site"), R("dt"), R("seq")],
       "Projection": {"ProjectionType": "ALL"}}


def ev(item):
    return {"id": {"S": item[0]}, "tenant": {"S": item[1]}, "site": {"S": item[2]},
            "dt": {"S": item[3]}, "seq": {"N": str(item[4])}}


ROWS = [
    ("e1", "acme", "eu", "2024-01-01", 3),
    ("e2", "acme", "eu", "2024-01-01", 1),
    ("e3", "acme", "eu", "2024-01-02", 2),
    ("e4", "acme", "us", "2024-01-01", 1),
    ("e5", "other", "eu", "2024-01-01", 1),
    ("e6", "acme", "eu", "2024-01-03", 7),
]


class MultiAttributeGsi(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.client("dynamodb", retries=1)
        self.raw = self.client("dynamodb", retries=1, validate=False)
        self.raw.create_table(
            TableName="events", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[A("id"), A("tenant"), A("site"), A("dt"), A("seq", "N")],
            KeySchema=[H("id")], GlobalSecondaryIndexes=[GSI])
        for row in ROWS:
            self.ddb.put_item(TableName="events", Item=ev(row))

    def q(self, kce, values, **kw):
        vals = {k: ({"N": str(v)} if isinstance(v, int) else {"S": v}) for k, v in values.items()}
        out = self.ddb.query(TableName="events", IndexName="byTenantSite", KeyConditionExpression=kce,
                             ExpressionAttributeValues=vals, **kw)
        return [i["id"]["S"] for i in out["Items"]], out

    def test_equality_on_every_hash_attribute_sorts_part_by_part(self):
        ids, _ = self.q("tenant = :t AND site = :r", {":t": "acme", ":r": "eu"})
        self.assertEqual(ids, ["e2", "e1", "e3", "e6"])   # (dt, seq) order
        ids, _ = self.q("site = :r AND tenant = :t", {":t": "acme", ":r": "eu"}, ScanIndexForward=False)
        self.assertEqual(ids, ["e6", "e3", "e1", "e2"])

    def test_range_prefix_and_last_inequality(self):
        base = {":t": "acme", ":r": "eu"}
        cases = [
            ("dt = :d", {":d": "2024-01-01"}, ["e2", "e1"]),
            ("dt > :d", {":d": "2024-01-01"}, ["e3", "e6"]),
            ("dt BETWEEN :a AND :b", {":a": "2024-01-02", ":b": "2024-01-03"}, ["e3", "e6"]),
            ("begins_with(dt, :p)", {":p": "2024-01-0"}, ["e2", "e1", "e3", "e6"]),
            ("dt = :d AND seq = :s", {":d": "2024-01-01", ":s": 3}, ["e1"]),
            ("dt = :d AND seq >= :s", {":d": "2024-01-01", ":s": 2}, ["e1"]),
            ("dt = :d AND seq < :s", {":d": "2024-01-01", ":s": 3}, ["e2"]),
            ("dt = :d AND seq BETWEEN :a AND :b", {":d": "2024-01-03", ":a": 1, ":b": 9}, ["e6"]),
        ]
        for extra, vals, want in cases:
            ids, _ = self.q("tenant = :t AND site = :r AND " + extra, dict(base, **vals))
            self.assertEqual(ids, want, extra)

    def test_legacy_key_conditions(self):
        out = self.ddb.query(TableName="events", IndexName="byTenantSite", KeyConditions={
            "tenant": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "acme"}]},
            "site": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "eu"}]},
            "dt": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "2024-01-01"}]},
            "seq": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1"}]}})
        self.assertEqual([i["id"]["S"] for i in out["Items"]], ["e1"])

    def test_sparse_when_any_key_attribute_is_missing(self):
        self.ddb.put_item(TableName="events", Item={"id": {"S": "x1"}, "tenant": {"S": "acme"},
                                                    "site": {"S": "eu"}, "dt": {"S": "2024-01-01"}})
        self.ddb.put_item(TableName="events", Item={"id": {"S": "x2"}, "tenant": {"S": "acme"},
                                                    "dt": {"S": "2024-01-01"}, "seq": {"N": "1"}})
        ids, _ = self.q("tenant = :t AND site = :r", {":t": "acme", ":r": "eu"})
        self.assertEqual(ids, ["e2", "e1", "e3", "e6"])
        scanned = self.ddb.scan(TableName="events", IndexName="byTenantSite")["Items"]
        self.assertEqual(sorted(i["id"]["S"] for i in scanned), ["e1", "e2", "e3", "e4", "e5", "e6"])
        # Giving an item the missing attribute puts it in.
        self.ddb.update_item(TableName="events", Key={"id": {"S": "x1"}}, UpdateExpression="SET seq = :s",
                             ExpressionAttributeValues={":s": {"N": "2"}})
        ids, _ = self.q("tenant = :t AND site = :r AND dt = :d", {":t": "acme", ":r": "eu", ":d": "2024-01-01"})
        self.assertEqual(ids, ["e2", "x1", "e1"])

    def test_pages_carry_every_key_attribute(self):
        seen = []
        start = None
        while True:
            kw = {"Limit": 1}
            if start:
                kw["ExclusiveStartKey"] = start
            ids, out = self.q("tenant = :t AND site = :r AND dt >= :d",
                              {":t": "acme", ":r": "eu", ":d": "2024-01-01"}, **kw)
            seen += ids
            start = out.get("LastEvaluatedKey")
            if not start:
                break
            self.assertEqual(sorted(start), ["dt", "id", "seq", "site", "tenant"])
        self.assertEqual(seen, ["e2", "e1", "e3", "e6"])
        pages = self.ddb.get_paginator("scan").paginate(TableName="events", IndexName="byTenantSite",
                                                       PaginationConfig={"PageSize": 2})
        self.assertEqual(len([i for p in pages for i in p["Items"]]), 6)
        lek = self.q("tenant = :t AND site = :r", {":t": "acme", ":r": "eu"}, Limit=1)[1]["LastEvaluatedKey"]
        self.assertAwsError(lambda: self.q("tenant = :t AND site = :r", {":t": "acme", ":r": "us"},
                                           ExclusiveStartKey=lek),
                            "ValidationException", "The provided starting key is outside query boundaries "
                            "based on provided conditions")
        self.assertAwsError(lambda: self.q("tenant = :t AND site = :r", {":t": "acme", ":r": "eu"},
                                           ExclusiveStartKey={k: v for k, v in lek.items() if k != "seq"}),
                            "ValidationException", "The provided starting key is invalid")

    def test_query_rules(self):
        base = {":t": "acme", ":r": "eu"}
        errors = [
            ("tenant = :t", {":t": "acme"}, "Query condition missed key schema element: site"),
            ("tenant = :t AND site = :r AND seq = :s", dict(base, **{":s": 1}),
             "Query condition missed key schema element: dt"),
            ("tenant = :t AND site > :r", base, "Query key condition not supported"),
            ("tenant = :t AND site = :r AND dt > :d AND seq = :s", dict(base, **{":d": "x", ":s": 1}),
             "Query key condition not supported"),
            ("tenant = :t AND site = :r AND id = :d", dict(base, **{":d": "x"}),
             "Query key condition not supported"),
            ("tenant = :t AND site = :r AND seq = :s", dict(base, **{":s": "x"}),
             "Query condition missed key schema element: dt"),
            ("tenant = :t AND site = :r AND dt = :d", dict(base, **{":d": 5}),
             "One or more parameter values were invalid: Condition parameter type does not match schema type"),
        ]
        for kce, vals, msg in errors:
            self.assertAwsError(lambda: self.q(kce, vals), "ValidationException", msg)
        self.assertAwsError(lambda: self.q("tenant = :t AND site = :r", dict(base, **{":s": 1}),
                                           FilterExpression="seq > :s"),
                            "ValidationException", "Filter Expression can only contain non-primary key "
                            "attributes: Primary key attribute: seq")
        # A one- or two-attribute key still takes at most two conditions.
        self.assertAwsError(lambda: self.ddb.query(
            TableName="events", KeyConditionExpression="id = :a AND tenant = :a AND site = :a",
            ExpressionAttributeValues={":a": {"S": "x"}}),
            "ValidationException", "Conditions can be of length 1 or 2 only")

    def test_update_table_backfills_a_multi_attribute_index(self):
        gsi = {"IndexName": "byDaySeq", "KeySchema": [H("dt"), H("tenant"), R("seq")],
               "Projection": {"ProjectionType": "KEYS_ONLY"}}
        self.raw.update_table(TableName="events", AttributeDefinitions=[A("dt"), A("tenant"), A("seq", "N")],
                              GlobalSecondaryIndexUpdates=[{"Create": gsi}])
        t = self.ddb.describe_table(TableName="events")["Table"]
        new = [g for g in t["GlobalSecondaryIndexes"] if g["IndexName"] == "byDaySeq"][0]
        self.assertEqual(new["IndexStatus"], "ACTIVE")
        self.assertEqual(new["ItemCount"], 6)
        out = self.ddb.query(TableName="events", IndexName="byDaySeq",
                             KeyConditionExpression="#d = :d AND tenant = :t AND seq > :s",
                             ExpressionAttributeNames={"#d": "dt"},
                             ExpressionAttributeValues={":d": {"S": "2024-01-01"}, ":t": {"S": "acme"},
                                                        ":s": {"N": "1"}})
        self.assertEqual(out["Items"], [{"id": {"S": "e1"}, "dt": {"S": "2024-01-01"},
                                         "tenant": {"S": "acme"}, "seq": {"N": "3"}}])

    def test_create_table_rules(self):
        def create(keys, defs):
            return self.raw.create_table(TableName="bad", BillingMode="PAY_PER_REQUEST",
                                         AttributeDefinitions=[A("id")] + defs, KeySchema=[H("id")],
                                         GlobalSecondaryIndexes=[{"IndexName": "gsi1", "KeySchema": keys,
                                                                  "Projection": {"ProjectionType": "ALL"}}])
        many = ["a", "b", "c", "d", "e"]
        self.assertAwsError(lambda: create([H(n) for n in many], [A(n) for n in many]), "ValidationException",
                            "One or more parameter values were invalid: The KeySchema exceeds the maximum "
                            "allowed number of HASH key attributes")
        self.assertAwsError(lambda: create([H("a")] + [R(n) for n in many[1:]] + [R("f")],
                                           [A(n) for n in many + ["f"]]), "ValidationException",
                            "One or more parameter values were invalid: The KeySchema exceeds the maximum "
                            "allowed number of RANGE key attributes")
        self.assertAwsError(lambda: create([H("a"), R("b"), H("c")], [A("a"), A("b"), A("c")]),
                            "ValidationException", "One or more parameter values were invalid: All HASH key "
                            "attributes must precede RANGE key attributes in the KeySchema")
        self.assertNotIn("bad", self.ddb.list_tables()["TableNames"])


if __name__ == "__main__":
    unittest.main()
