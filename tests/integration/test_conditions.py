"""ConditionExpression and legacy Expected on PutItem and DeleteItem through
boto3 (client and the Table resource with boto3.dynamodb.conditions):
the idempotent-writer and optimistic-locking patterns, comparison
semantics, every request-level error with AWS's exact message, and that a
failed condition changes nothing."""
import unittest

from tidepool import TidepoolTestCase

CCF = "ConditionalCheckFailedException"
CCF_MSG = "The conditional request failed"
VE = "ValidationException"
CE = "Invalid ConditionExpression: "


class Conditions(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.tidepool.client("dynamodb", retries=1)
        self.ddb.create_table(
            TableName="cond",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")

    def put(self, **kw):
        return self.ddb.put_item(TableName="cond", **kw)

    def get(self, pk="a"):
        return self.ddb.get_item(TableName="cond", Key={"pk": {"S": pk}},
                                 ConsistentRead=True).get("Item")

    # --- patterns -----------------------------------------------------------

    def test_idempotent_create(self):
        item = {"pk": {"S": "a"}, "v": {"N": "1"}}
        self.put(Item=item, ConditionExpression="attribute_not_exists(pk)")
        self.assertEqual(self.get(), item)
        self.assertAwsError(
            lambda: self.put(Item={"pk": {"S": "a"}, "v": {"N": "2"}},
                             ConditionExpression="attribute_not_exists(pk)"),
            CCF, CCF_MSG)
        self.assertEqual(self.get(), item)

    def test_version_check(self):
        self.put(Item={"pk": {"S": "a"}, "version": {"N": "1"}, "x": {"S": "old"}})
        self.put(Item={"pk": {"S": "a"}, "version": {"N": "2"}, "x": {"S": "new"}},
                 ConditionExpression="#v = :expected",
                 ExpressionAttributeNames={"#v": "version"},
                 ExpressionAttributeValues={":expected": {"N": "1"}})
        self.assertEqual(self.get()["x"], {"S": "new"})
        # a stale writer still expects version 1
        self.assertAwsError(
            lambda: self.put(Item={"pk": {"S": "a"}, "version": {"N": "2"}, "x": {"S": "stale"}},
                             ConditionExpression="#v = :expected",
                             ExpressionAttributeNames={"#v": "version"},
                             ExpressionAttributeValues={":expected": {"N": "1"}}),
            CCF, CCF_MSG)
        self.assertEqual(self.get()["x"], {"S": "new"})
        # numbers compare as numbers
        self.put(Item={"pk": {"S": "a"}, "version": {"N": "3"}},
                 ConditionExpression="version = :e",
                 ExpressionAttributeValues={":e": {"N": "2.000"}})

    def test_condition_on_missing_item(self):
        self.assertAwsError(
            lambda: self.put(Item={"pk": {"S": "a"}}, ConditionExpression="attribute_exists(pk)"),
            CCF, CCF_MSG)
        self.assertIsNone(self.get())
        # <> is true when the attribute is missing
        self.put(Item={"pk": {"S": "a"}}, ConditionExpression="x <> :v",
                 ExpressionAttributeValues={":v": {"S": "y"}})
        self.assertIsNotNone(self.get())

    def test_delete_with_condition(self):
        self.put(Item={"pk": {"S": "a"}, "state": {"S": "open"}})
        self.assertAwsError(
            lambda: self.ddb.delete_item(TableName="cond", Key={"pk": {"S": "a"}},
                                         ConditionExpression="#s = :closed",
                                         ExpressionAttributeNames={"#s": "state"},
                                         ExpressionAttributeValues={":closed": {"S": "closed"}}),
            CCF, CCF_MSG)
        self.assertIsNotNone(self.get())
        out = self.ddb.delete_item(TableName="cond", Key={"pk": {"S": "a"}},
                                   ConditionExpression="#s = :open",
                                   ExpressionAttributeNames={"#s": "state"},
                                   ExpressionAttributeValues={":open": {"S": "open"}},
                                   ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL")
        self.assertEqual(out["Attributes"]["state"], {"S": "open"})
        self.assertEqual(out["ConsumedCapacity"]["CapacityUnits"], 1.0)
        self.assertIsNone(self.get())
        # deleting a missing item under attribute_exists fails
        self.assertAwsError(
            lambda: self.ddb.delete_item(TableName="cond", Key={"pk": {"S": "a"}},
                                         ConditionExpression="attribute_exists(pk)"),
            CCF, CCF_MSG)

    def test_functions_and_logic(self):
        self.put(Item={"pk": {"S": "a"}, "name": {"S": "hello"}, "tags": {"SS": ["x", "y"]},
                       "n": {"N": "10"}, "l": {"L": [{"S": "q"}]}, "m": {"M": {"k": {"N": "1"}}}})
        ok = [
            ("begins_with(#n, :he)", {":he": {"S": "he"}}),
            ("contains(tags, :x)", {":x": {"S": "x"}}),
            ("contains(#n, :x)", {":x": {"S": "ell"}}),
            ("size(tags) = :two", {":two": {"N": "2"}}),
            ("size(#n) > :two", {":two": {"N": "2"}}),
            ("n BETWEEN :lo AND :hi", {":lo": {"N": "5"}, ":hi": {"N": "10"}}),
            ("n IN (:a, :b)", {":a": {"N": "1"}, ":b": {"N": "10"}}),
            ("attribute_type(tags, :t)", {":t": {"S": "SS"}}),
            ("m.k = :one AND l[0] = :q", {":one": {"N": "1"}, ":q": {"S": "q"}}),
            ("NOT n = :one OR n = :one AND n = :two", {":one": {"N": "1"}, ":two": {"N": "2"}}),
        ]
        for expr, values in ok:
            names = {"#n": "name"} if "#n" in expr else None
            kw = {"ExpressionAttributeNames": names} if names else {}
            with self.subTest(expr=expr):
                self.put(Item=self.get(), ConditionExpression=expr,
                         ExpressionAttributeValues=values, **kw)
        bad = [
            ("n < :s", {":s": {"S": "zzz"}}),  # type mismatch is false
            ("size(n) = :one", {":one": {"N": "1"}}),
            ("(n = :a OR n = :b) AND n = :b", {":a": {"N": "10"}, ":b": {"N": "1"}}),
        ]
        for expr, values in bad:
            with self.subTest(expr=expr):
                self.assertAwsError(lambda: self.put(Item={"pk": {"S": "a"}},
                                                     ConditionExpression=expr,
                                                     ExpressionAttributeValues=values),
                                    CCF, CCF_MSG)
        self.assertEqual(self.get()["n"], {"N": "10"})

    # --- the Table resource ---------------------------------------------------

    def test_resource_with_attr(self):
        from boto3.dynamodb.conditions import Attr, Key
        table = self.tidepool.resource("dynamodb").Table("cond")
        table.put_item(Item={"pk": "a", "version": 1},
                       ConditionExpression=Attr("pk").not_exists())
        table.put_item(Item={"pk": "a", "version": 2},
                       ConditionExpression=Attr("version").eq(1) & Attr("other").not_exists())
        self.assertAwsError(lambda: table.put_item(Item={"pk": "a", "version": 3},
                                                   ConditionExpression=Attr("version").eq(1)),
                            CCF, CCF_MSG)
        table.put_item(Item={"pk": "a", "version": 3, "tags": {"x", "y"}, "name": "hello"},
                       ConditionExpression=Key("pk").eq("a") & Attr("version").ne(7)
                       & Attr("version").is_in([1, 2]))
        for cond in (Attr("tags").contains("x"), Attr("name").begins_with("he"),
                     Attr("tags").size().eq(2), Attr("name").attribute_type("S"),
                     Attr("version").gte(3) & ~Attr("version").gt(3),
                     Attr("missing").not_exists() | Attr("missing").eq(0)):
            with self.subTest(cond=cond):
                table.put_item(Item=table.get_item(Key={"pk": "a"})["Item"],
                               ConditionExpression=cond)
        self.assertAwsError(lambda: table.put_item(Item={"pk": "a"},
                                                   ConditionExpression=Attr("tags").contains("z")),
                            CCF, CCF_MSG)
        table.delete_item(Key={"pk": "a"},
                          ConditionExpression=Attr("version").between(2, 5) | Attr("x").exists())
        self.assertNotIn("Item", table.get_item(Key={"pk": "a"}))

    # --- legacy Expected -------------------------------------------------------

    def test_expected(self):
        self.put(Item={"pk": {"S": "a"}, "v": {"N": "1"}}, Expected={"pk": {"Exists": False}})
        self.assertAwsError(lambda: self.put(Item={"pk": {"S": "a"}},
                                             Expected={"pk": {"Exists": False}}), CCF, CCF_MSG)
        self.put(Item={"pk": {"S": "a"}, "v": {"N": "2"}}, Expected={"v": {"Value": {"N": "1"}}})
        self.assertAwsError(lambda: self.put(Item={"pk": {"S": "a"}},
                                             Expected={"v": {"Value": {"N": "1"}}}), CCF, CCF_MSG)
        self.put(Item={"pk": {"S": "a"}, "v": {"N": "3"}},
                 Expected={"v": {"ComparisonOperator": "GE",
                                 "AttributeValueList": [{"N": "2"}]},
                           "nope": {"ComparisonOperator": "NOT_NULL"}},
                 ConditionalOperator="OR")
        self.assertEqual(self.get()["v"], {"N": "3"})
        self.ddb.delete_item(TableName="cond", Key={"pk": {"S": "a"}},
                             Expected={"v": {"ComparisonOperator": "EQ",
                                             "AttributeValueList": [{"N": "3"}]}})
        self.assertIsNone(self.get())

    def test_expected_errors(self):
        inv = "One or more parameter values were invalid: "
        cases = [
            ({"a": {}}, inv + "Value must be provided when Exists is null for Attribute: a"),
            ({"a": {"Exists": True}},
             inv + "Value must be provided when Exists is true for Attribute: a"),
            ({"a": {"Exists": False, "Value": {"S": "x"}}},
             inv + "Value cannot be used when Exists is false for Attribute: a"),
            ({"a": {"ComparisonOperator": "EQ"}},
             inv + "Invalid number of argument(s) for the EQ ComparisonOperator"),
            ({"a": {"AttributeValueList": [{"S": "x"}]}},
             inv + "AttributeValueList can only be used with a ComparisonOperator for Attribute: a"),
        ]
        for expected, msg in cases:
            with self.subTest(msg=msg):
                self.assertAwsError(lambda: self.put(Item={"pk": {"S": "a"}}, Expected=expected),
                                    VE, msg)
        self.assertIsNone(self.get())

    # --- request-level errors ----------------------------------------------------

    def test_request_errors(self):
        item = {"pk": {"S": "a"}}
        cases = [
            (dict(ConditionExpression="attribute_exists(pk)", Expected={"pk": {"Exists": False}}),
             "Can not use both expression and non-expression parameters in the same request: "
             "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}"),
            (dict(ExpressionAttributeNames={"#a": "a"}),
             "ExpressionAttributeNames can only be specified when using expressions"),
            (dict(ExpressionAttributeValues={":a": {"S": "a"}}),
             "ExpressionAttributeValues can only be specified when using expressions: "
             "ConditionExpression is null"),
            (dict(ConditionExpression="a = :v", ExpressionAttributeValues={}),
             "ExpressionAttributeValues must not be empty"),
            (dict(ConditionExpression="#a = :v", ExpressionAttributeNames={},
                  ExpressionAttributeValues={":v": {"S": "x"}}),
             "ExpressionAttributeNames must not be empty"),
            (dict(ConditionExpression="a = :v", ExpressionAttributeValues={"v": {"S": "x"}}),
             "ExpressionAttributeValues contains invalid key: Syntax error; key: \"v\""),
            (dict(ConditionExpression="a = :v", ExpressionAttributeValues={":v": {}}),
             "ExpressionAttributeValues contains invalid value: Supplied AttributeValue is empty, "
             "must contain exactly one of the supported datatypes for key :v"),
            (dict(ConditionExpression=""), CE + "The expression can not be empty;"),
            (dict(ConditionExpression="a = "), CE + "Syntax error; token: \"<EOF>\", near: \"= \""),
            (dict(ConditionExpression="a = :v"),
             CE + "An expression attribute value used in expression is not defined; "
                  "attribute value: :v"),
            (dict(ConditionExpression="#a = :v", ExpressionAttributeValues={":v": {"S": "x"}}),
             CE + "An expression attribute name used in the document path is not defined; "
                  "attribute name: #a"),
            (dict(ConditionExpression="size = :v", ExpressionAttributeValues={":v": {"S": "x"}}),
             CE + "Attribute name is a reserved keyword; reserved keyword: size"),
            (dict(ConditionExpression="begins_with(a)"),
             CE + "Incorrect number of operands for operator or function; operator or function: "
                  "begins_with, number of operands: 1"),
            (dict(ConditionExpression="begins_with(a, :v)",
                  ExpressionAttributeValues={":v": {"N": "1"}}),
             CE + "Incorrect operand type for operator or function; operator or function: "
                  "begins_with, operand type: N"),
            (dict(ConditionExpression="nosuch(a)"), CE + "Invalid function name; function: nosuch"),
            (dict(ConditionExpression="attribute_type(a, :t)",
                  ExpressionAttributeValues={":t": {"S": "STRING"}}),
             CE + "Invalid attribute type name found; type: STRING, valid types: "
                  "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}"),
            (dict(ConditionExpression="size(a)"),
             CE + "The function is not allowed to be used this way in an expression; function: size"),
            (dict(ConditionExpression="a = :v", ExpressionAttributeNames={"#a": "a"},
                  ExpressionAttributeValues={":v": {"S": "x"}}),
             "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a}"),
            (dict(ConditionExpression="a = :v",
                  ExpressionAttributeValues={":v": {"S": "x"}, ":w": {"S": "y"}}),
             "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"),
        ]
        for kw, msg in cases:
            with self.subTest(msg=msg):
                self.assertAwsError(lambda: self.put(Item=item, **kw), VE, msg)
                self.assertAwsError(
                    lambda: self.ddb.delete_item(TableName="cond", Key=item, **kw), VE, msg)
        self.assertIsNone(self.get())

    def test_return_values_on_condition_check_failure(self):
        shape = self.ddb.meta.service_model.operation_model("PutItem").input_shape
        if "ReturnValuesOnConditionCheckFailure" not in shape.members:
            self.skipTest("this botocore predates ReturnValuesOnConditionCheckFailure")
        old = {"pk": {"S": "a"}, "v": {"N": "1"}, "b": {"B": b"\x00\xff"}}
        self.put(Item=old)
        e = self.assertAwsError(
            lambda: self.put(Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)",
                             ReturnValuesOnConditionCheckFailure="ALL_OLD"),
            CCF, CCF_MSG)
        self.assertEqual(e.response.get("Item"), old)
        e = self.assertAwsError(
            lambda: self.ddb.delete_item(TableName="cond", Key={"pk": {"S": "a"}},
                                         ConditionExpression="v = :two",
                                         ExpressionAttributeValues={":two": {"N": "2"}},
                                         ReturnValuesOnConditionCheckFailure="ALL_OLD"),
            CCF, CCF_MSG)
        self.assertEqual(e.response.get("Item"), old)
        # NONE (the default) leaves the item out, as does a missing item
        e = self.assertAwsError(
            lambda: self.put(Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)",
                             ReturnValuesOnConditionCheckFailure="NONE"),
            CCF, CCF_MSG)
        self.assertNotIn("Item", e.response)
        e = self.assertAwsError(
            lambda: self.put(Item={"pk": {"S": "new"}}, ConditionExpression="attribute_exists(pk)",
                             ReturnValuesOnConditionCheckFailure="ALL_OLD"),
            CCF, CCF_MSG)
        self.assertNotIn("Item", e.response)
        self.assertEqual(self.get(), old)

    def test_failed_condition_changes_nothing(self):
        self.put(Item={"pk": {"S": "a"}, "v": {"N": "1"}})
        self.assertAwsError(
            lambda: self.put(Item={"pk": {"S": "a"}, "v": {"N": "9"}, "big": {"S": "x" * 2000}},
                             ConditionExpression="v = :two",
                             ExpressionAttributeValues={":two": {"N": "2"}},
                             ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL"),
            CCF, CCF_MSG)
        self.assertEqual(self.get(), {"pk": {"S": "a"}, "v": {"N": "1"}})


if __name__ == "__main__":
    unittest.main()
