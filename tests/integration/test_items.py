"""PutItem, GetItem, DeleteItem through boto3: all ten attribute types,
canonical numbers, ReturnValues, projections, key rules and AWS's exact
error messages."""
import base64
import unittest

from tidepool import TidepoolTestCase

STATUS = 400


class Items(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.tidepool.client("dynamodb", retries=1)
        self.ddb.create_table(
            TableName="items",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST")
        self.ddb.create_table(
            TableName="bins",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "B"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")

    def key(self, pk="a", sk="1"):
        return {"pk": {"S": pk}, "sk": {"N": sk}}

    def test_all_ten_types_round_trip(self):
        item = {
            **self.key(),
            "s": {"S": "héllo"}, "n": {"N": "-12.5"}, "b": {"B": b"\x00\x01\xff"},
            "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [b"a", b"b"]},
            "m": {"M": {"inner": {"L": [{"S": "deep"}, {"N": "3"}]}}},
            "l": {"L": [{"NULL": True}, {"BOOL": False}]},
            "nul": {"NULL": True}, "bo": {"BOOL": True}, "empty": {"S": ""},
        }
        self.ddb.put_item(TableName="items", Item=item)
        got = self.ddb.get_item(TableName="items", Key=self.key(), ConsistentRead=True)["Item"]
        self.assertEqual(got["s"], {"S": "héllo"})
        self.assertEqual(got["b"], {"B": b"\x00\x01\xff"})
        self.assertEqual(sorted(got["ss"]["SS"]), ["x", "y"])
        self.assertEqual(sorted(got["ns"]["NS"]), ["1", "2.5"])
        self.assertEqual(sorted(got["bs"]["BS"]), [b"a", b"b"])
        self.assertEqual(got["m"], item["m"])
        self.assertEqual(got["l"], item["l"])
        self.assertEqual(got["nul"], {"NULL": True})
        self.assertEqual(got["bo"], {"BOOL": True})
        self.assertEqual(got["empty"], {"S": ""})

    def test_numbers_come_back_canonical(self):
        cases = {"1.50": "1.5", "0001": "1", "1e2": "100", "-0": "0", "1E-3": "0.001",
                 "+7": "7", "12345678901234567890123456789012345678": "12345678901234567890123456789012345678",
                 "1.000": "1", "-1.2300E+1": "-12.3"}
        for i, (given, want) in enumerate(cases.items()):
            self.ddb.put_item(TableName="items", Item={**self.key(sk=str(i)), "v": {"N": given}})
            got = self.ddb.get_item(TableName="items", Key=self.key(sk=str(i)))["Item"]
            self.assertEqual(got["v"], {"N": want}, given)

    def test_number_key_is_found_by_equal_value(self):
        self.ddb.put_item(TableName="items", Item={**self.key(sk="10.0"), "x": {"S": "y"}})
        got = self.ddb.get_item(TableName="items", Key=self.key(sk="1e1"))
        self.assertEqual(got["Item"]["sk"], {"N": "10"})

    def test_return_values_all_old_and_overwrite(self):
        r = self.ddb.put_item(TableName="items", Item={**self.key(), "v": {"S": "one"}},
                              ReturnValues="ALL_OLD")
        self.assertNotIn("Attributes", r)
        r = self.ddb.put_item(TableName="items", Item={**self.key(), "v": {"S": "two"}},
                              ReturnValues="ALL_OLD")
        self.assertEqual(r["Attributes"]["v"], {"S": "one"})
        r = self.ddb.delete_item(TableName="items", Key=self.key(), ReturnValues="ALL_OLD")
        self.assertEqual(r["Attributes"]["v"], {"S": "two"})
        r = self.ddb.delete_item(TableName="items", Key=self.key(), ReturnValues="ALL_OLD")
        self.assertNotIn("Attributes", r)
        self.assertNotIn("Item", self.ddb.get_item(TableName="items", Key=self.key()))

    def test_projection_expression(self):
        self.ddb.put_item(TableName="items", Item={
            **self.key(), "a": {"S": "A"}, "name": {"S": "N"},
            "m": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}},
            "l": {"L": [{"S": "l0"}, {"S": "l1"}, {"S": "l2"}]}})
        got = self.ddb.get_item(TableName="items", Key=self.key(),
                                ProjectionExpression="a, #n, m.y, l[2]",
                                ExpressionAttributeNames={"#n": "name"})["Item"]
        self.assertEqual(got, {"a": {"S": "A"}, "name": {"S": "N"},
                               "m": {"M": {"y": {"N": "2"}}}, "l": {"L": [{"S": "l2"}]}})
        got = self.ddb.get_item(TableName="items", Key=self.key(), AttributesToGet=["a", "zz"])
        self.assertEqual(got["Item"], {"a": {"S": "A"}})

    def test_projection_errors(self):
        self.assertAwsError(
            lambda: self.ddb.get_item(TableName="items", Key=self.key(),
                                      ProjectionExpression="#x"),
            "ValidationException",
            "Invalid ProjectionExpression: An expression attribute name used in the document "
            "path is not defined; attribute name: #x")
        self.assertAwsError(
            lambda: self.ddb.get_item(TableName="items", Key=self.key(), ProjectionExpression="a",
                                      ExpressionAttributeNames={"#b": "b"}),
            "ValidationException",
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}")
        self.assertAwsError(
            lambda: self.ddb.get_item(TableName="items", Key=self.key(),
                                      ExpressionAttributeNames={"#b": "b"}),
            "ValidationException",
            "ExpressionAttributeNames can only be specified when using expressions")
        self.assertAwsError(
            lambda: self.ddb.get_item(TableName="items", Key=self.key(), ProjectionExpression="a",
                                      AttributesToGet=["a"]),
            "ValidationException",
            "Can not use both expression and non-expression parameters in the same request: "
            "Non-expression parameters: {AttributesToGet} Expression parameters: "
            "{ProjectionExpression}")

    def test_missing_table(self):
        for call in (lambda: self.ddb.get_item(TableName="nope", Key=self.key()),
                     lambda: self.ddb.put_item(TableName="nope", Item=self.key()),
                     lambda: self.ddb.delete_item(TableName="nope", Key=self.key())):
            self.assertAwsError(call, "ResourceNotFoundException", "Requested resource not found")

    def test_key_errors(self):
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="items", Item={"pk": {"S": "a"}}),
            "ValidationException",
            "One or more parameter values were invalid: Missing the key sk in the item")
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="items", Item={"pk": {"N": "1"}, "sk": {"N": "1"}}),
            "ValidationException",
            "One or more parameter values were invalid: Type mismatch for key pk expected: S "
            "actual: N")
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="items", Item={"pk": {"S": ""}, "sk": {"N": "1"}}),
            "ValidationException",
            "One or more parameter values are not valid. The AttributeValue for a key attribute "
            "cannot contain an empty string value. Key: pk")
        mismatch = "The provided key element does not match the schema"
        for key in ({"pk": {"S": "a"}}, {"pk": {"S": "a"}, "sk": {"S": "1"}},
                    {"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "y"}},
                    {"pk": {"S": "a"}, "other": {"N": "1"}}):
            self.assertAwsError(lambda: self.ddb.get_item(TableName="items", Key=key),
                                "ValidationException", mismatch)
            self.assertAwsError(lambda: self.ddb.delete_item(TableName="items", Key=key),
                                "ValidationException", mismatch)
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="items", Item={"pk": {"S": "a" * 2049},
                                                              "sk": {"N": "1"}}),
            "ValidationException",
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum "
            "size limit of2048 bytes")

    def test_binary_keys(self):
        self.ddb.put_item(TableName="bins", Item={"id": {"B": b"\x00\xfe"}, "v": {"S": "x"}})
        got = self.ddb.get_item(TableName="bins", Key={"id": {"B": b"\x00\xfe"}})["Item"]
        self.assertEqual(got["id"]["B"], b"\x00\xfe")
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="bins", Item={"id": {"B": b""}}),
            "ValidationException",
            "One or more parameter values are not valid. The AttributeValue for a key attribute "
            "cannot contain an empty binary value. Key: id")

    def test_value_errors(self):
        def put(value):
            return lambda: self.ddb.put_item(TableName="items", Item={**self.key(), "v": value})
        self.assertAwsError(put({"N": "abc"}), "ValidationException",
                            "The parameter cannot be converted to a numeric value: abc")
        self.assertAwsError(put({"N": "1" * 39}), "ValidationException",
                            "Attempting to store more than 38 significant digits in a Number")
        self.assertAwsError(put({"N": "1e126"}), "ValidationException",
                            "Number overflow. Attempting to store a number with magnitude larger "
                            "than supported range")
        self.assertAwsError(put({"N": "1e-131"}), "ValidationException",
                            "Number underflow. Attempting to store a number with magnitude "
                            "smaller than supported range")
        self.assertAwsError(put({"SS": []}), "ValidationException",
                            "One or more parameter values were invalid: An string set  may not "
                            "be empty")
        self.assertAwsError(put({"SS": ["a", "a"]}), "ValidationException",
                            "One or more parameter values were invalid: Input collection [a, a] "
                            "contains duplicates.")
        self.assertAwsError(put({}), "ValidationException",
                            "Supplied AttributeValue is empty, must contain exactly one of the "
                            "supported datatypes")
        self.assertAwsError(put({"S": "a", "N": "1"}), "ValidationException",
                            "Supplied AttributeValue has more than one datatypes set, must "
                            "contain exactly one of the supported datatypes")
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="items", Item=self.key(), ReturnValues="ALL_NEW"),
            "ValidationException", "ReturnValues can only be ALL_OLD or NONE")
        # Nothing was written by any of them.
        self.assertNotIn("Item", self.ddb.get_item(TableName="items", Key=self.key()))

    def test_item_size_limit(self):
        # 400 KB counts attribute names and values: "id"(2) + 1 byte + "v"(1) + the string.
        base = 2 + 1 + 1
        ok = {"id": {"B": b"k"}, "v": {"S": "x" * (400 * 1024 - base)}}
        self.ddb.put_item(TableName="bins", Item=ok)
        over = {"id": {"B": b"k"}, "v": {"S": "x" * (400 * 1024 - base + 1)}}
        self.assertAwsError(lambda: self.ddb.put_item(TableName="bins", Item=over),
                            "ValidationException",
                            "Item size has exceeded the maximum allowed size")

    def test_item_count_and_size_follow_writes(self):
        for i in range(3):
            self.ddb.put_item(TableName="bins", Item={"id": {"B": bytes([i, i])}, "v": {"S": "abc"}})
        self.ddb.put_item(TableName="bins", Item={"id": {"B": bytes([1, 1])}, "v": {"S": "abcd"}})
        self.ddb.delete_item(TableName="bins", Key={"id": {"B": bytes([0, 0])}})
        t = self.ddb.describe_table(TableName="bins")["Table"]
        self.assertEqual(t["ItemCount"], 2)
        # "id"(2) + 2 bytes + "v"(1) + "abc"(3) = 8, and 9 for the rewritten one
        self.assertEqual(t["TableSizeBytes"], 17)

    def test_consumed_capacity(self):
        self.ddb.put_item(TableName="items", Item={**self.key(), "v": {"S": "x" * 2000}})
        r = self.ddb.put_item(TableName="items", Item={**self.key(), "v": {"S": "y"}},
                              ReturnConsumedCapacity="TOTAL")
        # an overwrite costs the larger of old (2 KB) and new item
        self.assertEqual(r["ConsumedCapacity"], {"TableName": "items", "CapacityUnits": 2.0})
        r = self.ddb.get_item(TableName="items", Key=self.key(), ReturnConsumedCapacity="INDEXES")
        self.assertEqual(r["ConsumedCapacity"], {"TableName": "items", "CapacityUnits": 0.5,
                                                 "Table": {"CapacityUnits": 0.5}})
        r = self.ddb.get_item(TableName="items", Key=self.key(), ConsistentRead=True,
                              ReturnConsumedCapacity="TOTAL")
        self.assertEqual(r["ConsumedCapacity"]["CapacityUnits"], 1.0)

    def test_resource_api_and_document_types(self):
        table = self.tidepool.resource("dynamodb").Table("items")
        table.put_item(Item={"pk": "doc", "sk": 5, "tags": {"a", "b"}, "nested": {"x": [1, "two"]}})
        got = table.get_item(Key={"pk": "doc", "sk": 5})["Item"]
        self.assertEqual(got["tags"], {"a", "b"})
        self.assertEqual(got["nested"]["x"][1], "two")
        self.assertEqual(int(got["nested"]["x"][0]), 1)


if __name__ == "__main__":
    unittest.main()
