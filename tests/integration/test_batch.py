"""BatchWriteItem and BatchGetItem through boto3 (client, Table.batch_writer,
resource.batch_get_item): AWS's limits and exact messages (as recorded
against AWS by dynalite), all-or-nothing validation, UnprocessedItems /
UnprocessedKeys shapes, projections and ConsumedCapacity lists."""
import unittest

from tidepool import TidepoolTestCase

NOT_FOUND = "Requested resource not found"
KEY_MISMATCH = "The provided key element does not match the schema"
DUPLICATES = "Provided list of item keys contains duplicates"
DATATYPES = ("Supplied AttributeValue has more than one datatypes set, "
             "must contain exactly one of the supported datatypes")


class BatchBase(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.tidepool.client("dynamodb", retries=1)
        self.ddb.create_table(
            TableName="hash",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")
        self.ddb.create_table(
            TableName="range",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST")

    def put(self, pk, **attrs):
        item = {"pk": {"S": pk}}
        item.update(attrs)
        return {"PutRequest": {"Item": item}}

    def delete(self, pk):
        return {"DeleteRequest": {"Key": {"pk": {"S": pk}}}}

    def get(self, table, key):
        return self.ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


class BatchWrite(BatchBase):
    def test_puts_and_deletes_across_tables(self):
        self.ddb.put_item(TableName="hash", Item={"pk": {"S": "old"}})
        r = self.ddb.batch_write_item(RequestItems={
            "hash": [self.put("a", v={"N": "1.50"}), self.delete("old")],
            "range": [{"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}}}],
        })
        self.assertEqual(r["UnprocessedItems"], {})
        self.assertNotIn("ConsumedCapacity", r)
        self.assertNotIn("ItemCollectionMetrics", r)
        self.assertEqual(self.get("hash", {"pk": {"S": "a"}}), {"pk": {"S": "a"}, "v": {"N": "1.5"}})
        self.assertIsNone(self.get("hash", {"pk": {"S": "old"}}))
        self.assertEqual(self.get("range", {"pk": {"S": "a"}, "sk": {"N": "1"}}),
                         {"pk": {"S": "a"}, "sk": {"N": "1"}})
        self.assertEqual(self.ddb.describe_table(TableName="hash")["Table"]["ItemCount"], 1)

    def test_deleting_a_missing_item_is_fine(self):
        r = self.ddb.batch_write_item(RequestItems={"hash": [self.delete("nobody")]})
        self.assertEqual(r["UnprocessedItems"], {})

    def test_consumed_capacity_is_a_list_per_table(self):
        big = "b" * 1500  # 1 KB < item < 2 KB: 2 WCU
        r = self.ddb.batch_write_item(
            RequestItems={"hash": [self.put("a", b={"S": big}), self.put("c")],
                          "range": [{"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}}}]},
            ReturnConsumedCapacity="TOTAL")
        self.assertCountEqual(r["ConsumedCapacity"], [
            {"TableName": "hash", "CapacityUnits": 3.0},
            {"TableName": "range", "CapacityUnits": 1.0}])
        r = self.ddb.batch_write_item(
            RequestItems={"hash": [self.delete("a"), self.delete("c")]},
            ReturnConsumedCapacity="INDEXES")
        # Deletes pay for the item they remove.
        self.assertEqual(r["ConsumedCapacity"], [
            {"TableName": "hash", "CapacityUnits": 3.0, "Table": {"CapacityUnits": 3.0}}])
        r = self.ddb.batch_write_item(RequestItems={"hash": [self.put("a")]},
                                      ReturnConsumedCapacity="NONE")
        self.assertNotIn("ConsumedCapacity", r)

    def test_item_collection_metrics_shape(self):
        r = self.ddb.batch_write_item(RequestItems={"hash": [self.put("a")]},
                                      ReturnItemCollectionMetrics="SIZE")
        self.assertEqual(r["ItemCollectionMetrics"], {})

    def test_exactly_25_requests_work(self):
        r = self.ddb.batch_write_item(RequestItems={
            "hash": [self.put("h%d" % i) for i in range(13)],
            "range": [{"PutRequest": {"Item": {"pk": {"S": "r"}, "sk": {"N": str(i)}}}}
                      for i in range(12)]})
        self.assertEqual(r["UnprocessedItems"], {})
        self.assertEqual(self.ddb.describe_table(TableName="hash")["Table"]["ItemCount"], 13)

    def assertRejected(self, request_items, code, message, status=400):
        before = {t: self.ddb.describe_table(TableName=t)["Table"]["ItemCount"] for t in ("hash", "range")}
        self.assertAwsError(lambda: self.ddb.batch_write_item(RequestItems=request_items),
                            code, message, status)
        after = {t: self.ddb.describe_table(TableName=t)["Table"]["ItemCount"] for t in ("hash", "range")}
        self.assertEqual(before, after, "a rejected batch wrote something")
        self.assertIsNone(self.get("hash", {"pk": {"S": "good"}}))

    def test_more_than_25_requests_over_tables(self):
        self.assertRejected({
            "hash": [self.put("h%d" % i) for i in range(13)],
            "range": [{"PutRequest": {"Item": {"pk": {"S": "r"}, "sk": {"N": str(i)}}}}
                      for i in range(13)]},
            "ValidationException", "Too many items requested for the BatchWriteItem call")

    def test_more_than_25_requests_in_one_table_is_a_model_error(self):
        e = self.assertAwsError(
            lambda: self.ddb.batch_write_item(
                RequestItems={"hash": [self.put("h%d" % i) for i in range(26)]}),
            "ValidationException")
        msg = e.response["Error"]["Message"]
        # AWS: "... at 'requestItems' failed to satisfy constraint: Map value
        # must satisfy constraint: [Member must have length less than or
        # equal to 25, ...]"; the rendered value is long, so only its start.
        self.assertTrue(msg.startswith("1 validation error detected: Value '{hash=[WriteRequest("), msg)

    def test_missing_table_writes_nothing(self):
        self.assertRejected({"hash": [self.put("good")], "nope": [self.put("a")]},
                            "ResourceNotFoundException", NOT_FOUND)

    def test_empty_item_on_missing_table_is_not_found(self):
        self.assertRejected({"nope": [{"PutRequest": {"Item": {}}}]},
                            "ResourceNotFoundException", NOT_FOUND)

    def test_deleted_table_is_not_found(self):
        self.ddb.create_table(
            TableName="gone",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")
        self.ddb.delete_table(TableName="gone")
        self.assertRejected({"hash": [self.put("good")], "gone": [self.put("a")]},
                            "ResourceNotFoundException", NOT_FOUND)

    def test_write_request_needs_exactly_one_action(self):
        self.assertRejected({"hash": [self.put("good"), {}]}, "ValidationException", DATATYPES)
        both = {"PutRequest": {"Item": {"pk": {"S": "x"}}},
                "DeleteRequest": {"Key": {"pk": {"S": "y"}}}}
        self.assertRejected({"hash": [self.put("good"), both]}, "ValidationException", DATATYPES)

    def test_duplicate_keys(self):
        self.assertRejected({"hash": [self.put("good"), self.put("a"), self.delete("a")]},
                            "ValidationException", DUPLICATES)
        self.assertRejected({"hash": [self.put("good"), self.delete("a"), self.put("a", x={"S": "1"})]},
                            "ValidationException", DUPLICATES)
        # Numbers compare by value.
        self.assertRejected({"range": [
            {"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"N": "10"}}}},
            {"DeleteRequest": {"Key": {"pk": {"S": "a"}, "sk": {"N": "1e1"}}}}]},
            "ValidationException", DUPLICATES)

    def test_same_key_in_two_tables_is_not_a_duplicate(self):
        self.ddb.create_table(
            TableName="hash2",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")
        r = self.ddb.batch_write_item(RequestItems={"hash": [self.put("a")], "hash2": [self.put("a")]})
        self.assertEqual(r["UnprocessedItems"], {})

    def test_key_errors_use_the_generic_message(self):
        for bad in ({"PutRequest": {"Item": {}}},
                    {"PutRequest": {"Item": {"other": {"S": "a"}}}},
                    {"PutRequest": {"Item": {"pk": {"N": "1"}}}},
                    {"PutRequest": {"Item": {"pk": {"SS": ["a"]}}}},
                    {"DeleteRequest": {"Key": {"pk": {"S": "a"}, "x": {"S": "b"}}}},
                    {"DeleteRequest": {"Key": {"pk": {"B": b"ab"}}}}):
            self.assertRejected({"hash": [self.put("good"), bad]}, "ValidationException", KEY_MISMATCH)
        self.assertRejected({"range": [{"PutRequest": {"Item": {"pk": {"S": "a"}}}}],
                             "hash": [self.put("good")]},
                            "ValidationException", KEY_MISMATCH)

    def test_key_size_limits(self):
        self.assertRejected({"hash": [self.put("good"), self.put("k" * 2049)]},
                            "ValidationException",
                            "One or more parameter values were invalid: Size of hashkey has exceeded "
                            "the maximum size limit of2048 bytes")

    def test_value_errors_come_before_missing_tables(self):
        cases = [
            ({"a": {"S": "a", "N": "1"}}, DATATYPES),
            ({"a": {"N": "b"}}, "The parameter cannot be converted to a numeric value: b"),
            ({"a": {"SS": ["a", "a"]}},
             "One or more parameter values were invalid: Input collection [a, a] contains duplicates."),
            ({"a": {"NULL": False}},
             "One or more parameter values were invalid: Null attribute value types must have the value of true"),
            ({"a": {"N": "1e126"}},
             "Number overflow. Attempting to store a number with magnitude larger than supported range"),
        ]
        for item, message in cases:
            self.assertRejected({"hash": [self.put("good")], "nope": [{"PutRequest": {"Item": item}}]},
                                "ValidationException", message)
            self.assertRejected({"hash": [self.put("good")], "nope": [{"DeleteRequest": {"Key": item}}]},
                                "ValidationException", message)

    def test_item_too_big(self):
        key = "k"
        fits = "a" * (400 * 1024 - len("pk") - len(key) - len("b"))
        r = self.ddb.batch_write_item(RequestItems={"hash": [self.put(key, b={"S": fits})]})
        self.assertEqual(r["UnprocessedItems"], {})
        self.assertRejected({"hash": [self.put("good"), self.put("x", b={"S": fits + "aa"})],
                             "nope": [self.put("a")]},
                            "ValidationException", "Item size has exceeded the maximum allowed size")

    def test_global_secondary_index_upkeep(self):
        self.ddb.create_table(
            TableName="gsi",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "g", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": "byg",
                                     "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"}}],
            BillingMode="PAY_PER_REQUEST")
        r = self.ddb.batch_write_item(
            RequestItems={"gsi": [self.put("a", g={"S": "x"}), self.put("b", g={"S": "y"}),
                                  self.put("c", g={"S": "x"}), self.put("d")]},
            ReturnConsumedCapacity="INDEXES")
        # Four table writes, three index entries (d has no g: sparse index).
        self.assertEqual(r["ConsumedCapacity"], [{
            "TableName": "gsi", "CapacityUnits": 7.0, "Table": {"CapacityUnits": 4.0},
            "GlobalSecondaryIndexes": {"byg": {"CapacityUnits": 3.0}}}])
        r = self.ddb.batch_write_item(RequestItems={"gsi": [self.delete("a"), self.delete("d")]},
                                      ReturnConsumedCapacity="TOTAL")
        self.assertEqual(r["ConsumedCapacity"], [{"TableName": "gsi", "CapacityUnits": 3.0}])
        gsi = self.ddb.describe_table(TableName="gsi")["Table"]["GlobalSecondaryIndexes"][0]
        self.assertEqual(gsi["ItemCount"], 2)
        self.assertRejected({"hash": [self.put("good")], "gsi": [self.put("e", g={"N": "1"})]},
                            "ValidationException",
                            "One or more parameter values were invalid: Type mismatch for Index Key g "
                            "Expected: S Actual: N IndexName: byg")

    def test_batch_writer_puts_100_and_deletes_some(self):
        table = self.resource("dynamodb").Table("range")
        with table.batch_writer() as w:
            for i in range(100):
                w.put_item(Item={"pk": "p%d" % (i % 4), "sk": i, "body": "x" * i})
        with table.batch_writer() as w:
            for i in range(0, 100, 10):
                w.delete_item(Key={"pk": "p%d" % (i % 4), "sk": i})
        self.assertEqual(self.ddb.describe_table(TableName="range")["Table"]["ItemCount"], 90)
        got = table.get_item(Key={"pk": "p3", "sk": 99}, ConsistentRead=True)["Item"]
        self.assertEqual(got["body"], "x" * 99)
        self.assertNotIn("Item", table.get_item(Key={"pk": "p2", "sk": 10}))

    def test_batch_writer_overwrite_by_pkeys(self):
        table = self.resource("dynamodb").Table("hash")
        with table.batch_writer(overwrite_by_pkeys=["pk"]) as w:
            w.put_item(Item={"pk": "a", "v": 1})
            w.put_item(Item={"pk": "a", "v": 2})
            w.delete_item(Key={"pk": "b"})
        self.assertEqual(table.get_item(Key={"pk": "a"})["Item"]["v"], 2)


class BatchGet(BatchBase):
    def setUp(self):
        super().setUp()
        self.ddb.batch_write_item(RequestItems={
            "hash": [self.put("a", n={"N": "1"}, s={"S": "x"}, m={"M": {"in": {"S": "y"}, "o": {"S": "z"}}}),
                     self.put("b", n={"N": "2"})],
            "range": [{"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "r"}}}}]})

    def test_found_missing_and_every_table_present(self):
        self.ddb.create_table(
            TableName="empty",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")
        r = self.ddb.batch_get_item(RequestItems={
            "hash": {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "zz"}}, {"pk": {"S": "b"}}]},
            "range": {"Keys": [{"pk": {"S": "a"}, "sk": {"N": "1.0"}}], "ConsistentRead": True},
            "empty": {"Keys": [{"id": {"N": "7"}}]}})
        self.assertEqual(r["UnprocessedKeys"], {})
        self.assertEqual(sorted(i["pk"]["S"] for i in r["Responses"]["hash"]), ["a", "b"])
        self.assertEqual(r["Responses"]["range"],
                         [{"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "r"}}])
        self.assertEqual(r["Responses"]["empty"], [])
        self.assertNotIn("ConsumedCapacity", r)

    def test_projection_expression_and_names(self):
        r = self.ddb.batch_get_item(RequestItems={"hash": {
            "Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}],
            "ProjectionExpression": "#n, m.#o", "ExpressionAttributeNames": {"#n": "n", "#o": "o"}}})
        self.assertCountEqual(r["Responses"]["hash"],
                              [{"n": {"N": "1"}, "m": {"M": {"o": {"S": "z"}}}}, {"n": {"N": "2"}}])

    def test_attributes_to_get(self):
        r = self.ddb.batch_get_item(RequestItems={"hash": {
            "Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}], "AttributesToGet": ["s", "pk"]}})
        self.assertCountEqual(r["Responses"]["hash"],
                              [{"pk": {"S": "a"}, "s": {"S": "x"}}, {"pk": {"S": "b"}}])

    def test_consumed_capacity_per_table(self):
        self.ddb.put_item(TableName="hash", Item={"pk": {"S": "big"}, "b": {"S": "b" * 5000}})
        keys = [{"pk": {"S": "big"}}, {"pk": {"S": "a"}}, {"pk": {"S": "missing"}}]
        r = self.ddb.batch_get_item(
            RequestItems={"hash": {"Keys": keys},
                          "range": {"Keys": [{"pk": {"S": "q"}, "sk": {"N": "1"}}], "ConsistentRead": True}},
            ReturnConsumedCapacity="TOTAL")
        # Eventually consistent: half a unit per started 4 KB of each item,
        # and a missing key still costs the minimum.
        self.assertCountEqual(r["ConsumedCapacity"], [
            {"TableName": "hash", "CapacityUnits": 2.0},
            {"TableName": "range", "CapacityUnits": 1.0}])
        r = self.ddb.batch_get_item(
            RequestItems={"hash": {"Keys": keys, "ConsistentRead": True}},
            ReturnConsumedCapacity="INDEXES")
        self.assertEqual(r["ConsumedCapacity"], [
            {"TableName": "hash", "CapacityUnits": 4.0, "Table": {"CapacityUnits": 4.0}}])

    def test_exactly_100_keys_on_a_missing_table(self):
        keys = [{"pk": {"S": str(i)}} for i in range(100)]
        self.assertAwsError(lambda: self.ddb.batch_get_item(RequestItems={"nope": {"Keys": keys}}),
                            "ResourceNotFoundException", NOT_FOUND)

    def test_more_than_100_keys_over_tables(self):
        keys = [{"pk": {"S": str(i)}} for i in range(100)]
        self.assertAwsError(lambda: self.ddb.batch_get_item(RequestItems={
            "hash": {"Keys": keys}, "nope": {"Keys": [{"pk": {"S": "100"}}]}}),
            "ValidationException", "Too many items requested for the BatchGetItem call")

    def test_more_than_100_keys_in_one_table_is_a_model_error(self):
        keys = [{"pk": {"S": str(i)}} for i in range(101)]
        e = self.assertAwsError(lambda: self.ddb.batch_get_item(RequestItems={"hash": {"Keys": keys}}),
                                "ValidationException")
        msg = e.response["Error"]["Message"]
        # AWS: "... at 'requestItems.hash.member.keys' failed to satisfy
        # constraint: Member must have length less than or equal to 100".
        self.assertTrue(msg.startswith("1 validation error detected: Value '[{pk=AttributeValue("), msg)

    def test_duplicate_keys(self):
        a, b = {"pk": {"S": "a"}}, {"pk": {"S": "b"}}
        for keys in ([a, a, a], [a, b, a]):
            self.assertAwsError(lambda: self.ddb.batch_get_item(RequestItems={"hash": {"Keys": keys}}),
                                "ValidationException", DUPLICATES)
        # Duplicates are found before the table is looked up.
        self.assertAwsError(lambda: self.ddb.batch_get_item(RequestItems={"nope": {"Keys": [a, a]}}),
                            "ValidationException", DUPLICATES)
        self.assertAwsError(lambda: self.ddb.batch_get_item(RequestItems={"range": {"Keys": [
            {"pk": {"S": "a"}, "sk": {"N": "1"}}, {"pk": {"S": "a"}, "sk": {"N": "1.00"}}]}}),
            "ValidationException", DUPLICATES)

    def test_key_errors(self):
        for key in ({}, {"other": {"S": "a"}}, {"pk": {"S": "a"}, "x": {"S": "b"}}, {"pk": {"N": "1"}},
                    {"pk": {"SS": ["a"]}}):
            self.assertAwsError(lambda: self.ddb.batch_get_item(RequestItems={"hash": {"Keys": [key]}}),
                                "ValidationException", KEY_MISMATCH)
        self.assertAwsError(lambda: self.ddb.batch_get_item(RequestItems={"range": {"Keys": [{"pk": {"S": "a"}}]}}),
                            "ValidationException", KEY_MISMATCH)
        self.assertAwsError(lambda: self.ddb.batch_get_item(RequestItems={"nope": {"Keys": [{}]}}),
                            "ResourceNotFoundException", NOT_FOUND)
        self.assertAwsError(lambda: self.ddb.batch_get_item(RequestItems={"hash": {"Keys": [{"pk": {"S": "k" * 2049}}]}}),
                            "ValidationException",
                            "One or more parameter values were invalid: Size of hashkey has exceeded "
                            "the maximum size limit of2048 bytes")

    def test_value_errors(self):
        self.assertAwsError(lambda: self.ddb.batch_get_item(RequestItems={"nope": {"Keys": [{"a": {"N": "b"}}]}}),
                            "ValidationException", "The parameter cannot be converted to a numeric value: b")
        self.assertAwsError(lambda: self.ddb.batch_get_item(RequestItems={"nope": {"Keys": [{"a": {"S": "a", "N": "1"}}]}}),
                            "ValidationException", DATATYPES)

    def test_projection_parameter_errors(self):
        key = [{"pk": {"S": "a"}}]
        cases = [
            ({"AttributesToGet": ["a", "a"]},
             "One or more parameter values were invalid: Duplicate value in attribute name: a"),
            ({"AttributesToGet": ["a"], "ProjectionExpression": "a"},
             "Can not use both expression and non-expression parameters in the same request: "
             "Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"),
            ({"ExpressionAttributeNames": {"#a": "a"}},
             "ExpressionAttributeNames can only be specified when using expressions"),
            ({"ProjectionExpression": "a", "ExpressionAttributeNames": {"#a": "a"}},
             "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a}"),
            ({"ProjectionExpression": "#b"},
             "Invalid ProjectionExpression: An expression attribute name used in the document path "
             "is not defined; attribute name: #b"),
            ({"ProjectionExpression": "a, a"},
             "Invalid ProjectionExpression: Two document paths overlap with each other; must remove "
             "or rewrite one of these paths; path one: [a], path two: [a]"),
        ]
        for extra, message in cases:
            spec = {"Keys": key}
            spec.update(extra)
            # Request-level errors win over a missing table.
            self.assertAwsError(lambda: self.ddb.batch_get_item(RequestItems={"nope": spec}),
                                "ValidationException", message)

    def test_resource_batch_get_item(self):
        res = self.resource("dynamodb")
        r = res.batch_get_item(RequestItems={
            "hash": {"Keys": [{"pk": "a"}, {"pk": "b"}], "ProjectionExpression": "pk, n"},
            "range": {"Keys": [{"pk": "a", "sk": 1}]}})
        self.assertCountEqual(r["Responses"]["hash"], [{"pk": "a", "n": 1}, {"pk": "b", "n": 2}])
        self.assertEqual(r["Responses"]["range"], [{"pk": "a", "sk": 1, "v": "r"}])
        self.assertEqual(r["UnprocessedKeys"], {})

    def test_16mb_response_limit_leaves_unprocessed_keys(self):
        table = self.resource("dynamodb").Table("hash")
        body = "x" * 400000
        with table.batch_writer() as w:
            for i in range(45):
                w.put_item(Item={"pk": "big%02d" % i, "d": body})
        keys = [{"pk": {"S": "big%02d" % i}} for i in range(45)]
        r = self.ddb.batch_get_item(RequestItems={"hash": {
            "Keys": keys, "ConsistentRead": True, "ProjectionExpression": "pk, d"}},
            ReturnConsumedCapacity="TOTAL")
        got = r["Responses"]["hash"]
        rest = r["UnprocessedKeys"]["hash"]
        self.assertTrue(got and rest["Keys"])
        self.assertLessEqual(sum(len(i["d"]["S"]) for i in got), 16 * 1024 * 1024)
        # The unprocessed part keeps the table's parameters, ready to resend.
        self.assertEqual(rest["ConsistentRead"], True)
        self.assertEqual(rest["ProjectionExpression"], "pk, d")
        self.assertCountEqual([i["pk"]["S"] for i in got] + [k["pk"]["S"] for k in rest["Keys"]],
                              ["big%02d" % i for i in range(45)])
        # Only the items read were paid for: 98 RCU each (400 KB, consistent).
        self.assertEqual(r["ConsumedCapacity"], [{"TableName": "hash", "CapacityUnits": 98.0 * len(got)}])
        again = self.ddb.batch_get_item(RequestItems=r["UnprocessedKeys"])
        self.assertEqual(len(again["Responses"]["hash"]), len(rest["Keys"]))
        self.assertEqual(again["UnprocessedKeys"], {})


class TransactGet(BatchBase):
    def setUp(self):
        super().setUp()
        self.ddb.batch_write_item(RequestItems={
            "hash": [self.put("a", n={"N": "1"}, m={"M": {"x": {"S": "1"}, "y": {"S": "2"}}}),
                     self.put("big", b={"S": "b" * 5000})],
            "range": [{"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}}}]})

    def get(self, table, key, **extra):
        g = {"TableName": table, "Key": key}
        g.update(extra)
        return {"Get": g}

    def test_responses_in_request_order(self):
        r = self.ddb.transact_get_items(TransactItems=[
            self.get("hash", {"pk": {"S": "missing"}}),
            self.get("range", {"pk": {"S": "a"}, "sk": {"N": "1"}}),
            self.get("hash", {"pk": {"S": "a"}}, ProjectionExpression="#m.y",
                     ExpressionAttributeNames={"#m": "m"}),
        ])
        self.assertEqual(r["Responses"], [
            {},
            {"Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}},
            {"Item": {"m": {"M": {"y": {"S": "2"}}}}},
        ])
        self.assertNotIn("ConsumedCapacity", r)

    def test_consumed_capacity_is_doubled_per_table(self):
        items = [self.get("hash", {"pk": {"S": "a"}}), self.get("hash", {"pk": {"S": "big"}}),
                 self.get("range", {"pk": {"S": "none"}, "sk": {"N": "2"}})]
        r = self.ddb.transact_get_items(TransactItems=items, ReturnConsumedCapacity="TOTAL")
        self.assertEqual(r["ConsumedCapacity"], [
            {"TableName": "hash", "CapacityUnits": 6.0, "ReadCapacityUnits": 6.0},
            {"TableName": "range", "CapacityUnits": 2.0, "ReadCapacityUnits": 2.0}])
        r = self.ddb.transact_get_items(TransactItems=items[:1], ReturnConsumedCapacity="INDEXES")
        self.assertEqual(r["ConsumedCapacity"], [
            {"TableName": "hash", "CapacityUnits": 2.0, "ReadCapacityUnits": 2.0,
             "Table": {"CapacityUnits": 2.0, "ReadCapacityUnits": 2.0}}])

    def test_missing_table(self):
        self.assertAwsError(lambda: self.ddb.transact_get_items(TransactItems=[
            self.get("hash", {"pk": {"S": "a"}}), self.get("nope", {"pk": {"S": "a"}})]),
            "ResourceNotFoundException", NOT_FOUND)

    def test_same_item_twice(self):
        self.assertAwsError(lambda: self.ddb.transact_get_items(TransactItems=[
            self.get("hash", {"pk": {"S": "a"}}), self.get("range", {"pk": {"S": "a"}, "sk": {"N": "1"}}),
            self.get("hash", {"pk": {"S": "a"}}, ProjectionExpression="n")]),
            "ValidationException", "Transaction request cannot include multiple operations on one item")

    def test_more_than_100_is_a_model_error(self):
        e = self.assertAwsError(lambda: self.ddb.transact_get_items(TransactItems=[
            self.get("hash", {"pk": {"S": str(i)}}) for i in range(101)]), "ValidationException")
        self.assertTrue(e.response["Error"]["Message"].startswith("1 validation error detected: "),
                        e.response["Error"]["Message"])

    def test_key_and_parameter_errors(self):
        self.assertAwsError(lambda: self.ddb.transact_get_items(TransactItems=[
            self.get("range", {"pk": {"S": "a"}})]), "ValidationException", KEY_MISMATCH)
        self.assertAwsError(lambda: self.ddb.transact_get_items(TransactItems=[
            self.get("nope", {"pk": {"N": "x"}})]),
            "ValidationException", "The parameter cannot be converted to a numeric value: x")
        self.assertAwsError(lambda: self.ddb.transact_get_items(TransactItems=[
            self.get("nope", {"pk": {"S": "a"}}, ExpressionAttributeNames={"#a": "a"})]),
            "ValidationException", "ExpressionAttributeNames can only be specified when using expressions")
        self.assertAwsError(lambda: self.ddb.transact_get_items(TransactItems=[
            self.get("nope", {"pk": {"S": "a"}}, ProjectionExpression="a",
                     ExpressionAttributeNames={"#a": "a"})]),
            "ValidationException", "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a}")


if __name__ == "__main__":
    unittest.main()
