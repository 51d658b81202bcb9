"""Query and Scan through boto3 (client and resource): key conditions in
both forms, sort order (numbers numerically), Limit and pagination across
LastEvaluatedKey, filters, projections, Select, secondary indexes (sparse,
LSI/GSI LastEvaluatedKey holding table + index keys), parallel scans, and
the error paths with AWS's messages (as recorded by dynalite's tests
against AWS and by AWS's documentation).

Capacity follows AWS's documented rule: the sizes of the items read are
summed, then 1 read unit per started 4 KB (at least 1), halved for
eventually consistent reads."""
import unittest

from boto3.dynamodb.conditions import Attr, Key

from tidepool import TidepoolTestCase

VE = "ValidationException"


def S(name):
    return {"AttributeName": name, "AttributeType": "S"}


def N(name):
    return {"AttributeName": name, "AttributeType": "N"}


def HASH(name):
    return {"AttributeName": name, "KeyType": "HASH"}


def RANGE(name):
    return {"AttributeName": name, "KeyType": "RANGE"}


def make_tables(ddb):
    # "hrt": pk S / sk N with an LSI on lsk and two GSIs.
    ddb.create_table(
        TableName="hrt",
        AttributeDefinitions=[S("pk"), N("sk"), S("lsk"), S("g"), N("gr")],
        KeySchema=[HASH("pk"), RANGE("sk")],
        LocalSecondaryIndexes=[{"IndexName": "lsi", "KeySchema": [HASH("pk"), RANGE("lsk")],
                                "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        GlobalSecondaryIndexes=[
            {"IndexName": "gsi", "KeySchema": [HASH("g"), RANGE("gr")],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "gkeys", "KeySchema": [HASH("g")],
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
        ],
        BillingMode="PAY_PER_REQUEST")
    # "h": hash key only.
    ddb.create_table(TableName="hsh", AttributeDefinitions=[S("id")], KeySchema=[HASH("id")],
                     BillingMode="PAY_PER_REQUEST")
    # "srt": string sort key, for begins_with.
    ddb.create_table(TableName="srt", AttributeDefinitions=[S("pk"), S("sk")],
                     KeySchema=[HASH("pk"), RANGE("sk")], BillingMode="PAY_PER_REQUEST")


NUMS = ["-1e10", "-100", "-2.5", "-1", "0", "0.001", "1", "2", "10", "1e3", "12345.6789"]


class Query(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.client("dynamodb", retries=1)
        make_tables(self.ddb)

    def put_numbers(self):
        for n in reversed(NUMS):
            self.ddb.put_item(TableName="hrt", Item={"pk": {"S": "p"}, "sk": {"N": n},
                                                    "v": {"S": "x" * 10}})
        self.ddb.put_item(TableName="hrt", Item={"pk": {"S": "other"}, "sk": {"N": "5"}})

    def sks(self, resp):
        return [i["sk"]["N"] for i in resp["Items"]]

    def q(self, expr, values, **kw):
        return self.ddb.query(TableName="hrt", KeyConditionExpression=expr,
                              ExpressionAttributeValues=values, **kw)

    def test_numbers_sort_numerically_both_directions(self):
        self.put_numbers()
        r = self.q("pk = :p", {":p": {"S": "p"}})
        self.assertEqual(self.sks(r), ["-10000000000", "-100", "-2.5", "-1", "0", "0.001", "1",
                                       "2", "10", "1000", "12345.6789"])
        self.assertEqual(r["Count"], 11)
        self.assertEqual(r["ScannedCount"], 11)
        self.assertNotIn("LastEvaluatedKey", r)
        r = self.q("pk = :p", {":p": {"S": "p"}}, ScanIndexForward=False)
        self.assertEqual(self.sks(r)[:3], ["12345.6789", "1000", "10"])

    def test_sort_key_operators(self):
        self.put_numbers()
        p = {":p": {"S": "p"}}
        cases = [
            ("pk = :p AND sk < :v", {":v": {"N": "0"}}, ["-10000000000", "-100", "-2.5", "-1"]),
            ("pk = :p AND sk <= :v", {":v": {"N": "-1"}}, ["-10000000000", "-100", "-2.5", "-1"]),
            ("pk = :p AND sk > :v", {":v": {"N": "10"}}, ["1000", "12345.6789"]),
            ("pk = :p AND sk >= :v", {":v": {"N": "1E1"}}, ["10", "1000", "12345.6789"]),
            ("pk = :p AND sk = :v", {":v": {"N": "2.0"}}, ["2"]),
            ("pk = :p AND sk BETWEEN :a AND :b", {":a": {"N": "-2.5"}, ":b": {"N": "0.001"}},
             ["-2.5", "-1", "0", "0.001"]),
            (":v < sk AND pk = :p", {":v": {"N": "1000"}}, ["12345.6789"]),
            ("(pk = :p) AND (sk > :v)", {":v": {"N": "1000"}}, ["12345.6789"]),
        ]
        for expr, vals, want in cases:
            with self.subTest(expr=expr):
                self.assertEqual(self.sks(self.q(expr, dict(p, **vals))), want)

    def test_begins_with_on_strings_and_legacy_key_conditions(self):
        for sk in ["a", "ab", "abc", "abd", "b", "a\u00e9"]:
            self.ddb.put_item(TableName="srt", Item={"pk": {"S": "p"}, "sk": {"S": sk}})
        r = self.ddb.query(TableName="srt", KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                           ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"S": "ab"}})
        self.assertEqual([i["sk"]["S"] for i in r["Items"]], ["ab", "abc", "abd"])
        r = self.ddb.query(TableName="srt", KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                           ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"S": "ab"}},
                           ScanIndexForward=False)
        self.assertEqual([i["sk"]["S"] for i in r["Items"]], ["abd", "abc", "ab"])
        r = self.ddb.query(TableName="srt", KeyConditionExpression="pk = :p AND sk <= :s",
                           ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"S": "abc"}},
                           ScanIndexForward=False)
        self.assertEqual([i["sk"]["S"] for i in r["Items"]], ["abc", "ab", "a"])
        r = self.ddb.query(TableName="srt", KeyConditions={
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
            "sk": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "a"}]}})
        self.assertEqual([i["sk"]["S"] for i in r["Items"]], ["a", "ab", "abc", "abd", "a\u00e9"])
        r = self.ddb.query(TableName="srt", KeyConditions={
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
            "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"S": "abc"}, {"S": "b"}]}})
        self.assertEqual([i["sk"]["S"] for i in r["Items"]], ["abc", "abd", "a\u00e9", "b"])

    def test_binary_sort_key_unsigned_order_and_begins_with(self):
        self.ddb.create_table(TableName="bin", AttributeDefinitions=[S("pk"),
                              {"AttributeName": "sk", "AttributeType": "B"}],
                              KeySchema=[HASH("pk"), RANGE("sk")], BillingMode="PAY_PER_REQUEST")
        for b in [b"\xff", b"\x00", b"\x7f", b"\x80\x01", b"\x80", b"\x01\x02"]:
            self.ddb.put_item(TableName="bin", Item={"pk": {"S": "p"}, "sk": {"B": b}})
        r = self.ddb.query(TableName="bin", KeyConditionExpression="pk = :p",
                           ExpressionAttributeValues={":p": {"S": "p"}})
        self.assertEqual([i["sk"]["B"] for i in r["Items"]],
                         [b"\x00", b"\x01\x02", b"\x7f", b"\x80", b"\x80\x01", b"\xff"])
        r = self.ddb.query(TableName="bin", KeyConditionExpression="pk = :p AND begins_with(sk, :b)",
                           ExpressionAttributeValues={":p": {"S": "p"}, ":b": {"B": b"\x80"}})
        self.assertEqual([i["sk"]["B"] for i in r["Items"]], [b"\x80", b"\x80\x01"])

    def test_limit_and_pagination(self):
        self.put_numbers()
        seen, key, pages = [], None, 0
        while True:
            kw = {"Limit": 4}
            if key:
                kw["ExclusiveStartKey"] = key
            r = self.q("pk = :p", {":p": {"S": "p"}}, **kw)
            pages += 1
            seen += self.sks(r)
            key = r.get("LastEvaluatedKey")
            if not key:
                break
            self.assertEqual(set(key), {"pk", "sk"})
        self.assertEqual(len(seen), 11)
        self.assertEqual(seen[0], "-10000000000")
        self.assertEqual(pages, 3)

    def test_paginator_resource_and_filter(self):
        self.put_numbers()
        pages = list(self.ddb.get_paginator("query").paginate(
            TableName="hrt", KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "p"}}, PaginationConfig={"PageSize": 3}))
        self.assertEqual(sum(p["Count"] for p in pages), 11)
        self.assertGreaterEqual(len(pages), 4)
        table = self.resource("dynamodb", retries=1).Table("hrt")
        r = table.query(KeyConditionExpression=Key("pk").eq("p") & Key("sk").between(-2, 2),
                        FilterExpression=Attr("v").begins_with("xx"))
        self.assertEqual([str(i["sk"]) for i in r["Items"]], ["-1", "0", "0.001", "1", "2"])
        # Limit counts items read before the filter.
        r = self.q("pk = :p", {":p": {"S": "p"}, ":n": {"S": "nothing"}}, Limit=2,
                   FilterExpression="v = :n")
        self.assertEqual((r["Count"], r["ScannedCount"]), (0, 2))
        self.assertEqual(r["LastEvaluatedKey"], {"pk": {"S": "p"}, "sk": {"N": "-100"}})

    def test_legacy_key_conditions_with_expressions(self):
        # KeyConditions may be combined with FilterExpression / ProjectionExpression
        # (only KeyConditionExpression conflicts with it).
        self.put_numbers()
        r = self.ddb.query(TableName="hrt", KeyConditions={
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
            "sk": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "10"}]}},
            FilterExpression="v = :v", ExpressionAttributeValues={":v": {"S": "x" * 10}},
            ProjectionExpression="sk")
        self.assertEqual(r["Items"], [{"sk": {"N": "1000"}}, {"sk": {"N": "12345.6789"}}])

    def test_projection_select_count_and_capacity(self):
        self.put_numbers()
        r = self.q("pk = :p AND sk > :v", {":p": {"S": "p"}, ":v": {"N": "1000"}},
                   ProjectionExpression="#v", ExpressionAttributeNames={"#v": "v"})
        self.assertEqual(r["Items"], [{"v": {"S": "xxxxxxxxxx"}}])
        r = self.q("pk = :p", {":p": {"S": "p"}}, Select="COUNT", ReturnConsumedCapacity="TOTAL")
        self.assertNotIn("Items", r)
        self.assertEqual(r["Count"], 11)
        # 11 small items, far below 4 KB: 1 unit, halved for eventual consistency.
        self.assertEqual(r["ConsumedCapacity"], {"TableName": "hrt", "CapacityUnits": 0.5})
        r = self.q("pk = :p", {":p": {"S": "none"}}, ConsistentRead=True,
                   ReturnConsumedCapacity="TOTAL")
        self.assertEqual(r["ConsumedCapacity"]["CapacityUnits"], 1.0)

    def test_capacity_sums_before_rounding(self):
        # 3 items of ~3 KB: 9 KB summed -> 3 units strongly consistent.
        for i in range(3):
            self.ddb.put_item(TableName="hrt", Item={"pk": {"S": "big"}, "sk": {"N": str(i)},
                                                    "v": {"S": "y" * 3000}})
        r = self.q("pk = :p", {":p": {"S": "big"}}, ConsistentRead=True,
                   ReturnConsumedCapacity="TOTAL")
        self.assertEqual(r["ConsumedCapacity"]["CapacityUnits"], 3.0)

    def test_gsi_lsi_sparse_and_index_last_key(self):
        items = [
            {"pk": "a", "sk": 1, "g": "G", "gr": 3, "lsk": "z"},
            {"pk": "a", "sk": 2, "g": "G", "gr": 1},
            {"pk": "b", "sk": 1, "g": "G", "gr": 2, "lsk": "m"},
            {"pk": "b", "sk": 2, "g": "G"},          # no gr: not in gsi
            {"pk": "c", "sk": 1, "lsk": "q"},        # no g: in no GSI
        ]
        table = self.resource("dynamodb", retries=1).Table("hrt")
        for it in items:
            table.put_item(Item=it)
        r = table.query(IndexName="gsi", KeyConditionExpression=Key("g").eq("G"))
        self.assertEqual([(i["pk"], int(i["gr"])) for i in r["Items"]], [("a", 1), ("b", 2), ("a", 3)])
        r = table.query(IndexName="gsi", KeyConditionExpression=Key("g").eq("G") & Key("gr").gte(2),
                        Limit=1)
        self.assertEqual(r["LastEvaluatedKey"], {"pk": "b", "sk": 1, "g": "G", "gr": 2})
        r = table.query(IndexName="gsi", KeyConditionExpression=Key("g").eq("G") & Key("gr").gte(2),
                        ExclusiveStartKey=r["LastEvaluatedKey"])
        self.assertEqual([i["pk"] for i in r["Items"]], ["a"])
        # Index reads are charged to the index (summed, rounded, halved: GSIs
        # read eventually consistent).
        cc = table.query(IndexName="gsi", KeyConditionExpression=Key("g").eq("G"),
                         ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
        self.assertEqual(cc["CapacityUnits"], 0.5)
        self.assertEqual(cc["GlobalSecondaryIndexes"], {"gsi": {"CapacityUnits": 0.5}})
        # KEYS_ONLY GSI: table and index keys only; 4 items have g.
        r = table.query(IndexName="gkeys", KeyConditionExpression=Key("g").eq("G"))
        self.assertEqual(r["Count"], 4)
        for i in r["Items"]:
            self.assertEqual(set(i), {"pk", "sk", "g"})
        # LSI: sparse on lsk, ordered by lsk.
        r = table.query(IndexName="lsi", KeyConditionExpression=Key("pk").eq("b"))
        self.assertEqual(r["Items"], [{"pk": "b", "sk": 1, "lsk": "m"}])
        r = table.query(IndexName="lsi", KeyConditionExpression=Key("pk").eq("a"), Limit=1)
        self.assertEqual(r["LastEvaluatedKey"], {"pk": "a", "sk": 1, "lsk": "z"})
        # ALL_ATTRIBUTES on an LSI fetches the table item.
        r = table.query(IndexName="lsi", KeyConditionExpression=Key("pk").eq("a"),
                        Select="ALL_ATTRIBUTES")
        self.assertEqual(r["Items"][0]["gr"], 3)
        # A filter on an attribute the LSI does not project reads the table's
        # item, but the default Select still returns the projected attributes.
        r = table.query(IndexName="lsi", KeyConditionExpression=Key("pk").eq("a"),
                        FilterExpression=Attr("gr").eq(3))
        self.assertEqual(r["Items"], [{"pk": "a", "sk": 1, "lsk": "z"}])

    def test_errors(self):
        self.put_numbers()
        p = {":p": {"S": "p"}}
        cases = [
            (dict(KeyConditionExpression="sk = :v", ExpressionAttributeValues={":v": {"N": "1"}}),
             "Query condition missed key schema element: pk"),
            (dict(KeyConditionExpression="pk > :p", ExpressionAttributeValues=p),
             "Query key condition not supported"),
            (dict(KeyConditionExpression="pk = :p AND x = :p", ExpressionAttributeValues=p),
             "Query condition missed key schema element: sk"),
            (dict(KeyConditionExpression="pk = :p AND sk > :p AND sk < :p", ExpressionAttributeValues=p),
             "KeyConditionExpressions must only contain one condition per key"),
            (dict(KeyConditionExpression="pk = :p OR sk > :p", ExpressionAttributeValues=p),
             "Invalid operator used in KeyConditionExpression: OR"),
            (dict(KeyConditionExpression="pk = :p AND sk <> :p", ExpressionAttributeValues=p),
             "Invalid operator used in KeyConditionExpression: <>"),
            (dict(KeyConditionExpression="pk = :p AND attribute_exists(sk)", ExpressionAttributeValues=p),
             "Invalid operator used in KeyConditionExpression: attribute_exists"),
            (dict(KeyConditionExpression="pk = :p AND a.b = :p", ExpressionAttributeValues=p),
             "KeyConditionExpressions cannot have conditions on nested attributes"),
            (dict(KeyConditionExpression="pk = :p AND size(sk) > :p", ExpressionAttributeValues=p),
             "KeyConditionExpressions cannot contain nested operations"),
            (dict(KeyConditionExpression="pk = sk", ),
             "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"),
            (dict(KeyConditionExpression=":p = :p", ExpressionAttributeValues=p),
             "Invalid condition in KeyConditionExpression: No key attribute specified"),
            (dict(KeyConditionExpression="pk = :p AND sk > :s",
                  ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"S": "1"}}),
             "One or more parameter values were invalid: Condition parameter type does not match schema type"),
            (dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues=p,
                  FilterExpression="sk > :p"),
             "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk"),
            (dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues=p, IndexName="nope"),
             "The table does not have the specified index: nope"),
            (dict(KeyConditionExpression="g = :p", ExpressionAttributeValues=p, IndexName="gsi",
                  ConsistentRead=True),
             "Consistent reads are not supported on global secondary indexes"),
            (dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues=p,
                  KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}}),
             "Can not use both expression and non-expression parameters in the same request: "
             "Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}"),
            (dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues=dict(p, **{":x": {"S": "x"}})),
             "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"),
            (dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues=p,
                  ExclusiveStartKey={"pk": {"S": "q"}, "sk": {"N": "1"}}),
             "The provided starting key is outside query boundaries based on provided conditions"),
            (dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues=p,
                  ExclusiveStartKey={"pk": {"S": "p"}}),
             "The provided starting key is invalid"),
            (dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues=p,
                  ExclusiveStartKey={"pk": {"N": "1"}, "sk": {"N": "1"}}),
             "The provided key element does not match the schema"),
            (dict(KeyConditionExpression="pk = :p AND sk BETWEEN :b AND :a",
                  ExpressionAttributeValues={":p": {"S": "p"}, ":a": {"N": "1"}, ":b": {"N": "2"}}),
             "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater "
             "than or equal to lower bound; lower bound operand: AttributeValue: {N:2}, upper bound "
             "operand: AttributeValue: {N:1}"),
            (dict(KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
                                 "sk": {"ComparisonOperator": "NE", "AttributeValueList": [{"N": "1"}]}}),
             "Attempted conditional constraint is not an indexable operation"),
            (dict(KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
                  ExpressionAttributeValues=p, ProjectionExpression="v"),
             "ExpressionAttributeValues can only be specified when using expressions: "
             "FilterExpression and KeyConditionExpression are null"),
            (dict(KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
                  ExpressionAttributeNames={"#v": "v"}),
             "ExpressionAttributeNames can only be specified when using expressions"),
            (dict(KeyConditionExpression="pk = :p OR sk > :p", ExpressionAttributeValues=p,
                  FilterExpression="v = :zz"),
             "Invalid FilterExpression: An expression attribute value used in expression is not "
             "defined; attribute value: :zz"),
            (dict(KeyConditions={"pk": {"ComparisonOperator": "EQ"}}),
             "One or more parameter values were invalid: Invalid number of argument(s) for the EQ "
             "ComparisonOperator"),
            (dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues=p, Select="COUNT",
                  ProjectionExpression="v"),
             "1 validation error detected: Cannot specify the ProjectionExpression when choosing "
             "to get only the Count"),
            (dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues=p,
                  Select="ALL_PROJECTED_ATTRIBUTES"),
             "1 validation error detected: ALL_PROJECTED_ATTRIBUTES can be used only when Querying "
             "using an IndexName"),
            (dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues=p,
                  Select="SPECIFIC_ATTRIBUTES"),
             "1 validation error detected: Must specify the AttributesToGet or ProjectionExpression "
             "when choosing to get SPECIFIC_ATTRIBUTES"),
            (dict(KeyConditionExpression="g = :p", ExpressionAttributeValues=p, IndexName="gkeys",
                  Select="ALL_ATTRIBUTES"),
             "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported "
             "for global secondary index gkeys because its projection type is not ALL"),
            (dict(KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
                  ConditionalOperator="OR"),
             "ConditionalOperator cannot be used without Filter or Expected"),
            (dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues=p,
                  ConditionalOperator="OR"),
             "Can not use both expression and non-expression parameters in the same request: "
             "Non-expression parameters: {ConditionalOperator} Expression parameters: "
             "{KeyConditionExpression}"),
            (dict(KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
                  QueryFilter={"v": {"ComparisonOperator": "NULL"}}, ConditionalOperator="OR"),
             "ConditionalOperator can only be used when Filter or Expected has two or more elements"),
            (dict(KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
                  QueryFilter={"pk": {"ComparisonOperator": "NULL"}}),
             "QueryFilter can only contain non-primary key attributes: Primary key attribute: pk"),
        ]
        for kw, msg in cases:
            with self.subTest(msg=msg, kw=kw):
                self.assertAwsError(lambda: self.ddb.query(TableName="hrt", **kw), VE, msg)
        # A projection may not reach inside a key attribute.
        self.assertAwsError(lambda: self.ddb.query(
            TableName="hrt", KeyConditionExpression="pk = :p", ExpressionAttributeValues=p,
            ProjectionExpression="sk.x"), VE,
            "Key attributes must be scalars; list random access '[]' and map lookup '.' are not "
            "allowed: Key: sk")
        # Hash-only table: a sort-key condition is not supported.
        self.assertAwsError(lambda: self.ddb.query(
            TableName="hsh", KeyConditionExpression="id = :a AND x = :a",
            ExpressionAttributeValues={":a": {"S": "1"}}), VE, "Query key condition not supported")
        # Number sort key: begins_with does not apply.
        self.assertAwsError(lambda: self.ddb.query(
            TableName="hrt", KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"S": "1"}}), VE,
            "One or more parameter values were invalid: Condition parameter type does not match schema type")
        self.assertAwsError(lambda: self.ddb.query(
            TableName="missing", KeyConditionExpression="z = :a",
            ExpressionAttributeValues={":a": {"S": "1"}}), "ResourceNotFoundException",
            "Requested resource not found")


class Scan(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.client("dynamodb", retries=1)
        make_tables(self.ddb)
        for i in range(40):
            self.ddb.put_item(TableName="hrt", Item={"pk": {"S": "p%d" % (i % 13)}, "sk": {"N": str(i)},
                                                    "v": {"N": str(i % 3)}})

    def test_whole_table_paginated(self):
        keys = []
        for page in self.ddb.get_paginator("scan").paginate(TableName="hrt",
                                                             PaginationConfig={"PageSize": 7}):
            keys += [(i["pk"]["S"], i["sk"]["N"]) for i in page["Items"]]
        self.assertEqual(len(keys), 40)
        self.assertEqual(len(set(keys)), 40)
        # Items of one partition key come together, in sort-key order.
        first = [k for k in keys if k[0] == keys[0][0]]
        self.assertEqual([int(k[1]) for k in first], sorted(int(k[1]) for k in first))

    def test_parallel_segments_disjoint_and_complete(self):
        seen = {}
        for seg in range(4):
            r = {"LastEvaluatedKey": None}
            key = None
            while True:
                kw = dict(TableName="hrt", Segment=seg, TotalSegments=4, Limit=5)
                if key:
                    kw["ExclusiveStartKey"] = key
                r = self.ddb.scan(**kw)
                for i in r["Items"]:
                    k = (i["pk"]["S"], i["sk"]["N"])
                    self.assertNotIn(k, seen)
                    seen[k] = seg
                key = r.get("LastEvaluatedKey")
                if not key:
                    break
        self.assertEqual(len(seen), 40)
        by_pk = {}
        for (pk, _), seg in seen.items():
            by_pk.setdefault(pk, set()).add(seg)
        self.assertTrue(all(len(s) == 1 for s in by_pk.values()))

    def test_filter_may_use_keys_and_select_count(self):
        r = self.ddb.scan(TableName="hrt", FilterExpression="sk < :n AND v = :z",
                          ExpressionAttributeValues={":n": {"N": "10"}, ":z": {"N": "0"}},
                          Select="COUNT")
        self.assertEqual((r["Count"], r["ScannedCount"]), (4, 40))  # 0, 3, 6, 9
        self.assertNotIn("Items", r)
        r = self.ddb.scan(TableName="hrt", ScanFilter={
            "v": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "2"}]}},
            AttributesToGet=["sk"])
        self.assertEqual(r["Count"], 13)
        self.assertTrue(all(set(i) == {"sk"} for i in r["Items"]))
        table = self.resource("dynamodb", retries=1).Table("hrt")
        r = table.scan(FilterExpression=Attr("sk").gte(38))
        self.assertEqual(sorted(int(i["sk"]) for i in r["Items"]), [38, 39])

    def test_count_with_limit_keeps_last_evaluated_key(self):
        # Recorded on AWS: Select COUNT with Limit 1 -> Count 1, no Items, a LastEvaluatedKey.
        r = self.ddb.scan(TableName="hrt", Select="COUNT", Limit=1, ConsistentRead=True)
        self.assertEqual((r["Count"], r["ScannedCount"]), (1, 1))
        self.assertNotIn("Items", r)
        self.assertIn("LastEvaluatedKey", r)

    def test_one_megabyte_page(self):
        # 6 items of ~300 KB: a page stops once 1 MB was read, so the scan
        # needs more than one page, and every item arrives exactly once.
        for i in range(6):
            self.ddb.put_item(TableName="srt", Item={"pk": {"S": "big"}, "sk": {"S": "%02d" % i},
                                                     "v": {"S": "z" * 300000}})
        r = self.ddb.scan(TableName="srt", Select="COUNT")
        self.assertIn("LastEvaluatedKey", r)
        self.assertLess(r["ScannedCount"], 6)
        total, key = r["Count"], r["LastEvaluatedKey"]
        while key:
            r = self.ddb.scan(TableName="srt", Select="COUNT", ExclusiveStartKey=key)
            total += r["Count"]
            key = r.get("LastEvaluatedKey")
        self.assertEqual(total, 6)
        r = self.ddb.query(TableName="srt", KeyConditionExpression="pk = :p",
                           ExpressionAttributeValues={":p": {"S": "big"}}, ProjectionExpression="sk")
        self.assertLess(r["Count"], 6)
        self.assertIn("LastEvaluatedKey", r)

    def test_index_scan_and_errors(self):
        self.ddb.put_item(TableName="hrt", Item={"pk": {"S": "x"}, "sk": {"N": "1"}, "g": {"S": "a"},
                                                "gr": {"N": "1"}})
        r = self.ddb.scan(TableName="hrt", IndexName="gsi")
        self.assertEqual(r["Count"], 1)
        r = self.ddb.scan(TableName="hrt", IndexName="gsi", Limit=1)
        self.assertEqual(r["LastEvaluatedKey"], {"pk": {"S": "x"}, "sk": {"N": "1"},
                                                 "g": {"S": "a"}, "gr": {"N": "1"}})
        cases = [
            (dict(Segment=1), "The TotalSegments parameter is required but was not present in the "
                              "request when Segment parameter is present"),
            (dict(TotalSegments=2), "The Segment parameter is required but was not present in the "
                                    "request when parameter TotalSegments is present"),
            (dict(Segment=3, TotalSegments=3), "The Segment parameter is zero-based and must be less "
                                               "than parameter TotalSegments: Segment: 3 is not less "
                                               "than TotalSegments: 3"),
            (dict(IndexName="gsi", ConsistentRead=True),
             "Consistent reads are not supported on global secondary indexes"),
            (dict(IndexName="nope"), "The table does not have the specified index: nope"),
            (dict(FilterExpression="", ), "Invalid FilterExpression: The expression can not be empty;"),
            (dict(ExpressionAttributeValues={":a": {"S": "a"}}),
             "ExpressionAttributeValues can only be specified when using expressions: "
             "FilterExpression is null"),
            (dict(ScanFilter={"v": {"ComparisonOperator": "NULL"}}, FilterExpression="v = :a",
                  ExpressionAttributeValues={":a": {"S": "a"}}),
             "Can not use both expression and non-expression parameters in the same request: "
             "Non-expression parameters: {ScanFilter} Expression parameters: {FilterExpression}"),
            (dict(Select="ALL_ATTRIBUTES", AttributesToGet=["v"]),
             "Cannot specify the AttributesToGet when choosing to get ALL_ATTRIBUTES"),
            (dict(Select="COUNT", ProjectionExpression="v"),
             "Cannot specify the ProjectionExpression when choosing to get only the Count"),
            (dict(Select="ALL_PROJECTED_ATTRIBUTES"),
             "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"),
            (dict(Select="SPECIFIC_ATTRIBUTES"),
             "Must specify the AttributesToGet or ProjectionExpression when choosing to get "
             "SPECIFIC_ATTRIBUTES"),
            (dict(IndexName="gkeys", Select="ALL_ATTRIBUTES"),
             "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported "
             "for global secondary index gkeys because its projection type is not ALL"),
        ]
        for kw, msg in cases:
            with self.subTest(msg=msg):
                self.assertAwsError(lambda: self.ddb.scan(TableName="hrt", **kw), VE, msg)


class Backfill(TidepoolTestCase):
    tidepool_kwargs = {"config": {"dynamodb": {"update_delay_ms": 60000}}}

    def test_gsi_being_created_cannot_be_read(self):
        ddb = self.client("dynamodb", retries=1)
        ddb.create_table(TableName="bft", AttributeDefinitions=[S("pk")], KeySchema=[HASH("pk")],
                         BillingMode="PAY_PER_REQUEST")
        ddb.put_item(TableName="bft", Item={"pk": {"S": "a"}, "g": {"S": "x"}})
        ddb.update_table(TableName="bft", AttributeDefinitions=[S("pk"), S("g")],
                         GlobalSecondaryIndexUpdates=[{"Create": {
                             "IndexName": "gidx", "KeySchema": [HASH("g")],
                             "Projection": {"ProjectionType": "ALL"}}}])
        msg = "Cannot read from backfilling global secondary index: gidx"
        self.assertAwsError(lambda: ddb.query(
            TableName="bft", IndexName="gidx", KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "x"}}), VE, msg)
        self.assertAwsError(lambda: ddb.scan(TableName="bft", IndexName="gidx"), VE, msg)
        self.tidepool.advance(60000)
        r = ddb.query(TableName="bft", IndexName="gidx", KeyConditionExpression="g = :g",
                      ExpressionAttributeValues={":g": {"S": "x"}})
        self.assertEqual(r["Items"], [{"pk": {"S": "a"}, "g": {"S": "x"}}])


if __name__ == "__main__":
    unittest.main()
