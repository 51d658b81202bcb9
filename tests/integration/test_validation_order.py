"""test_validation_order — DynamoDB's checks in the order and words DynamoDB
uses, through boto3 (a client with parameter_validation=False sends what
boto3 itself would refuse, as the probes that recorded AWS's answers did)
and the AWS CLI v2:

- a missing or badly sized TableName of the table actions is reported
  alone, before the collected constraint failures;
- an index capacity out of bounds on a missing table is
  ResourceNotFoundException (existence before that semantic check);
- `NOT NOT x` is a valid condition; IN over operands of mixed types is
  fine, BETWEEN over different types is not;
- global secondary index key values over 2048 bytes (partition) or 1024
  bytes (sort) are refused on every write path and left out by a backfill;
- an empty attribute name is refused;
- a parallel Scan's ExclusiveStartKey must belong to its segment.

Every refused request is checked to have changed nothing.
"""
import unittest

from tidepool import TidepoolTestCase

INVALID = "One or more parameter values were invalid: "


def S(name):
    return {"AttributeName": name, "AttributeType": "S"}


def HASH(name):
    return {"AttributeName": name, "KeyType": "HASH"}


def RANGE(name):
    return {"AttributeName": name, "KeyType": "RANGE"}


class ValidationBase(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        import botocore.config
        self.ddb = self.client("dynamodb", retries=1)
        self.raw = self.client("dynamodb", retries=1,
                               config=botocore.config.Config(parameter_validation=False))

    def table_with_gsi(self, name="tbl", ptype="KEYS_ONLY"):
        self.ddb.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[S("pk"), S("gh"), S("gr")], KeySchema=[HASH("pk")],
            GlobalSecondaryIndexes=[{"IndexName": "byG", "KeySchema": [HASH("gh"), RANGE("gr")],
                                     "Projection": {"ProjectionType": ptype}}])

    def count(self, table="tbl", **kw):
        return self.ddb.scan(TableName=table, Select="COUNT", **kw)["Count"]


class TableNameFirst(ValidationBase):
    REQUIRED = "The parameter 'TableName' is required but was not present in the request"
    LENGTH = "TableName must be at least 3 characters long and at most 255 characters long"

    def test_missing_table_name_of_the_table_actions(self):
        calls = {
            "create_table": dict(AttributeDefinitions=[S("pk")], KeySchema=[HASH("pk")]),
            "describe_table": {},
            "delete_table": {},
            "update_table": dict(BillingMode="PAY_PER_REQUEST"),
        }
        for op, kw in calls.items():
            with self.subTest(op=op):
                self.assertAwsError(lambda: getattr(self.raw, op)(**kw), "ValidationException",
                                    self.REQUIRED)

    def test_missing_table_name_comes_before_other_constraints(self):
        # Without the override these would be collected with the null
        # attributeDefinitions and keySchema.
        self.assertAwsError(lambda: self.raw.create_table(), "ValidationException", self.REQUIRED)

    def test_table_name_length_of_the_table_actions(self):
        for name in ("", "ab", "a" * 256):
            with self.subTest(name=name[:8]):
                self.assertAwsError(lambda: self.raw.describe_table(TableName=name),
                                    "ValidationException", self.LENGTH)
                self.assertAwsError(lambda: self.raw.delete_table(TableName=name),
                                    "ValidationException", self.LENGTH)

    def test_pattern_still_collected(self):
        self.assertAwsError(lambda: self.raw.describe_table(TableName="abc;"), "ValidationException",
                            "1 validation error detected: Value 'abc;' at 'tableName' failed to "
                            "satisfy constraint: Member must satisfy regular expression pattern: "
                            "[a-zA-Z0-9_.-]+")

    def test_item_actions_keep_the_collected_messages(self):
        self.assertAwsError(lambda: self.raw.get_item(Key={"pk": {"S": "a"}}), "ValidationException",
                            "1 validation error detected: Value null at 'tableName' failed to "
                            "satisfy constraint: Member must not be null")
        self.assertAwsError(lambda: self.raw.get_item(TableName="ab", Key={"pk": {"S": "a"}}),
                            "ValidationException",
                            "1 validation error detected: Value 'ab' at 'tableName' failed to "
                            "satisfy constraint: Member must have length greater than or equal to 3")

    def test_cli_v2_describe_missing_table(self):
        rc, out, err = self.aws("dynamodb", "describe-table", "--table-name", "nothere")
        self.assertNotEqual(rc, 0)
        self.assertIn("ResourceNotFoundException", err)


class ExistenceBeforeSemantics(ValidationBase):
    def test_index_capacity_out_of_bounds_on_missing_table(self):
        upd = [{"Update": {"IndexName": "byG", "ProvisionedThroughput": {
            "ReadCapacityUnits": 10 ** 13, "WriteCapacityUnits": 1}}}]
        self.assertAwsError(
            lambda: self.ddb.update_table(TableName="missing", GlobalSecondaryIndexUpdates=upd),
            "ResourceNotFoundException", "Requested resource not found: Table: missing not found")

    def test_index_capacity_out_of_bounds_on_existing_table(self):
        self.ddb.create_table(
            TableName="prov", AttributeDefinitions=[S("pk"), S("gh")], KeySchema=[HASH("pk")],
            ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
            GlobalSecondaryIndexes=[{"IndexName": "byG", "KeySchema": [HASH("gh")],
                                     "Projection": {"ProjectionType": "ALL"},
                                     "ProvisionedThroughput": {"ReadCapacityUnits": 1,
                                                               "WriteCapacityUnits": 1}}])
        upd = [{"Update": {"IndexName": "byG", "ProvisionedThroughput": {
            "ReadCapacityUnits": 10 ** 13, "WriteCapacityUnits": 1}}}]
        self.assertAwsError(
            lambda: self.ddb.update_table(TableName="prov", GlobalSecondaryIndexUpdates=upd),
            "ValidationException",
            "Given value 10000000000000 for ReadCapacityUnits is out of bounds for index byG")


class Expressions(ValidationBase):
    def setUp(self):
        super().setUp()
        self.ddb.create_table(TableName="exp", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[S("pk")], KeySchema=[HASH("pk")])
        for i in range(4):
            item = {"pk": {"S": "k%d" % i}}
            if i % 2:
                item["flag"] = {"S": "yes"}
            self.ddb.put_item(TableName="exp", Item=item)

    def test_not_not_is_accepted(self):
        got = self.ddb.scan(TableName="exp", FilterExpression="NOT NOT attribute_exists(flag)")
        self.assertEqual(sorted(i["pk"]["S"] for i in got["Items"]), ["k1", "k3"])
        got = self.ddb.scan(TableName="exp", FilterExpression="NOT NOT NOT attribute_exists(flag)")
        self.assertEqual(sorted(i["pk"]["S"] for i in got["Items"]), ["k0", "k2"])

    def test_not_not_in_a_condition_expression(self):
        self.ddb.put_item(TableName="exp", Item={"pk": {"S": "k1"}, "v": {"N": "1"}},
                          ConditionExpression="NOT NOT attribute_exists(pk)")
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="exp", Item={"pk": {"S": "new"}},
                                      ConditionExpression="NOT NOT attribute_exists(pk)"),
            "ConditionalCheckFailedException", "The conditional request failed")
        self.assertNotIn("Item", self.ddb.get_item(TableName="exp", Key={"pk": {"S": "new"}}))

    def test_not_not_through_the_cli(self):
        rc, out, err = self.aws("dynamodb", "scan", "--table-name", "exp", "--filter-expression",
                                "NOT NOT attribute_exists(flag)", "--select", "COUNT")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["Count"], 2)

    def test_in_with_mixed_operand_types(self):
        got = self.ddb.scan(TableName="exp", FilterExpression="pk IN (:a, :b)",
                            ExpressionAttributeValues={":a": {"N": "1"}, ":b": {"S": "k2"}})
        self.assertEqual([i["pk"]["S"] for i in got["Items"]], ["k2"])

    def test_between_with_different_types(self):
        self.assertAwsError(
            lambda: self.ddb.scan(TableName="exp", FilterExpression="pk BETWEEN :a AND :b",
                                  ExpressionAttributeValues={":a": {"S": "a"}, ":b": {"N": "1"}}),
            "ValidationException",
            "Invalid FilterExpression: The BETWEEN operator requires same data type for lower and "
            "upper bounds; lower bound operand: AttributeValue: {S:a}, upper bound operand: "
            "AttributeValue: {N:1}")


class LegacyParameters(ValidationBase):
    SAME_TYPE = INVALID + "AttributeValues inside AttributeValueList must be of same type"
    ORDER = ("The BETWEEN condition was provided a range where the lower bound is greater than "
             "the upper bound")

    def setUp(self):
        super().setUp()
        self.ddb.create_table(TableName="leg", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[S("pk"), S("sk")],
                              KeySchema=[HASH("pk"), RANGE("sk")])
        self.ddb.put_item(TableName="leg", Item={"pk": {"S": "a"}, "sk": {"S": "m"},
                                                 "v": {"N": "5"}})

    def test_scan_filter_mixed_types(self):
        for op in ("IN", "BETWEEN"):
            with self.subTest(op=op):
                self.assertAwsError(
                    lambda: self.ddb.scan(TableName="leg", ScanFilter={"v": {
                        "ComparisonOperator": op,
                        "AttributeValueList": [{"N": "1"}, {"S": "x"}]}}),
                    "ValidationException", self.SAME_TYPE)

    def test_expected_and_query_filter(self):
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="leg", Item={"pk": {"S": "a"}, "sk": {"S": "m"}},
                                      Expected={"v": {"ComparisonOperator": "IN",
                                                      "AttributeValueList": [{"S": "b"},
                                                                             {"N": "1"}]}}),
            "ValidationException", self.SAME_TYPE)
        self.assertAwsError(
            lambda: self.ddb.query(TableName="leg", KeyConditions={"pk": {
                "ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
                QueryFilter={"v": {"ComparisonOperator": "BETWEEN",
                                   "AttributeValueList": [{"N": "9"}, {"N": "1"}]}}),
            "ValidationException", self.ORDER)
        # Nothing was written by the refused put.
        item = self.ddb.get_item(TableName="leg", Key={"pk": {"S": "a"}, "sk": {"S": "m"}})["Item"]
        self.assertEqual(item["v"], {"N": "5"})

    def test_legacy_between_in_order_works(self):
        got = self.ddb.scan(TableName="leg", ScanFilter={"v": {
            "ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "9"}]}})
        self.assertEqual(got["Count"], 1)

    def test_mixing_legacy_and_expression(self):
        self.assertAwsError(
            lambda: self.ddb.scan(TableName="leg", ScanFilter={"v": {
                "ComparisonOperator": "NOT_NULL"}}, FilterExpression="attribute_exists(v)"),
            "ValidationException",
            "Can not use both expression and non-expression parameters in the same request: "
            "Non-expression parameters: {ScanFilter} Expression parameters: {FilterExpression}")


class IndexKeySizes(ValidationBase):
    def big(self, n):
        return "x" * n

    def test_put_item_partition_key_over_2048(self):
        self.table_with_gsi()
        self.ddb.put_item(TableName="tbl", Item={"pk": {"S": "ok"}, "gh": {"S": self.big(2048)},
                                                 "gr": {"S": "r"}})
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="tbl", Item={
                "pk": {"S": "a"}, "gh": {"S": self.big(2049)}, "gr": {"S": "r"}}),
            "ValidationException",
            INVALID + "Size limit exceeded for Index Key gh Actual Size: 2049 bytes Max Size: "
            "2048 bytes IndexName: byG")
        self.assertEqual(self.count(), 1)

    def test_multibyte_characters_count_in_bytes(self):
        self.table_with_gsi()
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="tbl", Item={
                "pk": {"S": "a"}, "gh": {"S": "\u00e9" * 1025}, "gr": {"S": "r"}}),
            "ValidationException",
            INVALID + "Size limit exceeded for Index Key gh Actual Size: 2050 bytes Max Size: "
            "2048 bytes IndexName: byG")

    def test_sort_key_over_1024_on_update_batch_and_transaction(self):
        self.table_with_gsi()
        msg = (INVALID + "Size limit exceeded for Index Key gr Actual Size: 1025 bytes Max Size: "
               "1024 bytes IndexName: byG")
        self.assertAwsError(
            lambda: self.ddb.update_item(TableName="tbl", Key={"pk": {"S": "u"}},
                                         UpdateExpression="SET gh = :h, gr = :r",
                                         ExpressionAttributeValues={":h": {"S": "h"},
                                                                    ":r": {"S": self.big(1025)}}),
            "ValidationException", msg)
        self.assertAwsError(
            lambda: self.ddb.batch_write_item(RequestItems={"tbl": [{"PutRequest": {"Item": {
                "pk": {"S": "b"}, "gh": {"S": "h"}, "gr": {"S": self.big(1025)}}}}]}),
            "ValidationException", msg)
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError):
            self.ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "tbl", "Item": {
                "pk": {"S": "t"}, "gh": {"S": "h"}, "gr": {"S": self.big(1025)}}}}])
        self.assertEqual(self.count(), 0)
        # 1024 is fine, and a binary value counts its decoded bytes.
        self.ddb.put_item(TableName="tbl", Item={"pk": {"S": "ok"}, "gh": {"S": "h"},
                                                 "gr": {"S": self.big(1024)}})
        self.assertEqual(self.count(), 1)

    def test_backfill_leaves_oversized_values_out(self):
        self.ddb.create_table(TableName="late", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[S("pk")], KeySchema=[HASH("pk")])
        self.ddb.put_item(TableName="late", Item={"pk": {"S": "small"}, "gh": {"S": "h"}})
        self.ddb.put_item(TableName="late", Item={"pk": {"S": "large"}, "gh": {"S": self.big(3000)}})
        self.ddb.update_table(
            TableName="late", AttributeDefinitions=[S("pk"), S("gh")],
            GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "byG", "KeySchema": [HASH("gh")],
                                                     "Projection": {"ProjectionType": "ALL"}}}])
        self.tidepool.advance(1000)
        idx = self.ddb.describe_table(TableName="late")["Table"]["GlobalSecondaryIndexes"][0]
        self.assertEqual(idx["IndexStatus"], "ACTIVE")
        got = self.ddb.scan(TableName="late", IndexName="byG")
        self.assertEqual([i["pk"]["S"] for i in got["Items"]], ["small"])
        # Both stay in the table; a new oversized write is refused now.
        self.assertEqual(self.count("late"), 2)
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="late", Item={"pk": {"S": "x"},
                                                              "gh": {"S": self.big(2049)}}),
            "ValidationException",
            INVALID + "Size limit exceeded for Index Key gh Actual Size: 2049 bytes Max Size: "
            "2048 bytes IndexName: byG")

    def test_cli_v2_put_oversized_index_key(self):
        self.table_with_gsi()
        item = '{"pk":{"S":"c"},"gh":{"S":"%s"},"gr":{"S":"r"}}' % self.big(2049)
        rc, out, err = self.aws("dynamodb", "put-item", "--table-name", "tbl", "--item", item)
        self.assertNotEqual(rc, 0)
        self.assertIn("Size limit exceeded for Index Key gh", err)


class AttributeNames(ValidationBase):
    def test_empty_attribute_name_refused(self):
        self.ddb.create_table(TableName="names", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[S("pk")], KeySchema=[HASH("pk")])
        msg = INVALID + "An attribute name may not be empty"
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="names", Item={"pk": {"S": "a"}, "": {"S": "v"}}),
            "ValidationException", msg)
        self.assertAwsError(
            lambda: self.ddb.batch_write_item(RequestItems={"names": [{"PutRequest": {"Item": {
                "pk": {"S": "a"}, "": {"S": "v"}}}}]}),
            "ValidationException", msg)
        self.assertEqual(self.count("names"), 0)

    def test_oversized_attribute_name_refused_by_the_model(self):
        self.ddb.create_table(TableName="names", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[S("pk")], KeySchema=[HASH("pk")])
        e = self.assertAwsError(
            lambda: self.raw.put_item(TableName="names", Item={"pk": {"S": "a"},
                                                               "n" * 65536: {"S": "v"}}),
            "ValidationException")
        msg = e.response["Error"]["Message"]
        self.assertTrue(msg.startswith("1 validation error detected: Value '{pk=AttributeValue("), msg[:200])
        self.assertEqual(self.count("names"), 0)


class ScanSegments(ValidationBase):
    def test_start_key_from_another_segment(self):
        self.ddb.create_table(TableName="seg", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[S("pk")], KeySchema=[HASH("pk")])
        for i in range(20):
            self.ddb.put_item(TableName="seg", Item={"pk": {"S": "k%02d" % i}})
        seg0 = self.ddb.scan(TableName="seg", Segment=0, TotalSegments=2)["Items"]
        seg1 = self.ddb.scan(TableName="seg", Segment=1, TotalSegments=2)["Items"]
        self.assertTrue(seg0 and seg1)
        # A key of segment 0 resumes segment 0 ...
        got = self.ddb.scan(TableName="seg", Segment=0, TotalSegments=2,
                            ExclusiveStartKey=seg0[0])
        self.assertEqual(len(got["Items"]), len(seg0) - 1)
        # ... but not segment 1.
        self.assertAwsError(
            lambda: self.ddb.scan(TableName="seg", Segment=1, TotalSegments=2,
                                  ExclusiveStartKey=seg0[0]),
            "ValidationException",
            "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use "
            "ExclusiveStartKey with correct Segment. TotalSegments: 2 Segment: 1")

    def test_paginator_over_a_segment_still_works(self):
        self.ddb.create_table(TableName="seg", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[S("pk")], KeySchema=[HASH("pk")])
        for i in range(30):
            self.ddb.put_item(TableName="seg", Item={"pk": {"S": "k%02d" % i}})
        total = 0
        for seg in range(3):
            pages = self.ddb.get_paginator("scan").paginate(
                TableName="seg", Segment=seg, TotalSegments=3, Limit=2)
            total += sum(len(p["Items"]) for p in pages)
        self.assertEqual(total, 30)

    def test_extra_attribute_in_start_key(self):
        self.ddb.create_table(TableName="seg", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[S("pk")], KeySchema=[HASH("pk")])
        self.assertAwsError(
            lambda: self.ddb.scan(TableName="seg", ExclusiveStartKey={"pk": {"S": "a"},
                                                                      "zz": {"S": "b"}}),
            "ValidationException", "The provided starting key is invalid")


if __name__ == "__main__":
    unittest.main()
