"""TransactWriteItems through boto3: the four action kinds, all or nothing,
TransactionCanceledException with CancellationReasons in action order (the
behaviour scylladb's alternator tests recorded against AWS), duplicate
items, request-level errors, ClientRequestToken idempotency over the
virtual clock, and ConsumedCapacity (transactional writes cost double)."""
import unittest

from tidepool import TidepoolTestCase

CANCELLED = "Transaction cancelled, please refer cancellation reasons for specific reasons [%s]"
CHECK_FAILED = "The conditional request failed"
DUPLICATE = "Transaction request cannot include multiple operations on one item"
ONE_ACTION = "TransactItems can only contain one of Check, Put, Update or Delete"
MISMATCH = ("Specified idempotent token was used with different request parameters "
            "within the idempotency window")


def S(v):
    return {"S": v}


def N(v):
    return {"N": str(v)}


class TransactBase(TidepoolTestCase):
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

    def get(self, pk, table="hash", **key):
        k = {"pk": S(pk)}
        k.update(key)
        return self.ddb.get_item(TableName=table, Key=k, ConsistentRead=True).get("Item")

    def put(self, pk, **attrs):
        item = {"pk": S(pk)}
        item.update(attrs)
        self.ddb.put_item(TableName="hash", Item=item)
        return item

    def cancelled(self, items, codes, **kw):
        e = self.assertAwsError(lambda: self.ddb.transact_write_items(TransactItems=items, **kw),
                                "TransactionCanceledException", CANCELLED % ", ".join(codes))
        reasons = e.response["CancellationReasons"]
        self.assertEqual([r["Code"] for r in reasons], codes)
        return reasons


class Actions(TransactBase):
    def test_put_update_delete_and_check_together(self):
        self.put("counter", n=N(41))
        self.put("doomed", v=S("x"))
        self.put("guard", state=S("open"))
        r = self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "hash", "Item": {"pk": S("new"), "v": N("1.50")},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Update": {"TableName": "hash", "Key": {"pk": S("counter")},
                        "UpdateExpression": "SET #n = #n + :one",
                        "ConditionExpression": "#n = :was",
                        "ExpressionAttributeNames": {"#n": "n"},
                        "ExpressionAttributeValues": {":one": N(1), ":was": N(41)}}},
            {"Delete": {"TableName": "hash", "Key": {"pk": S("doomed")},
                        "ConditionExpression": "attribute_exists(v)"}},
            {"ConditionCheck": {"TableName": "hash", "Key": {"pk": S("guard")},
                                "ConditionExpression": "#s = :open",
                                "ExpressionAttributeNames": {"#s": "state"},
                                "ExpressionAttributeValues": {":open": S("open")}}},
            {"Put": {"TableName": "range", "Item": {"pk": S("r"), "sk": N(7)}}},
        ])
        self.assertNotIn("ConsumedCapacity", r)
        self.assertNotIn("ItemCollectionMetrics", r)
        self.assertEqual(self.get("new"), {"pk": S("new"), "v": N("1.5")})
        self.assertEqual(self.get("counter"), {"pk": S("counter"), "n": N(42)})
        self.assertIsNone(self.get("doomed"))
        self.assertEqual(self.get("guard"), {"pk": S("guard"), "state": S("open")})
        self.assertEqual(self.get("r", table="range", sk=N(7)), {"pk": S("r"), "sk": N(7)})
        self.assertEqual(self.ddb.describe_table(TableName="hash")["Table"]["ItemCount"], 3)

    def test_put_replaces_and_update_creates(self):
        self.put("a", old=S("gone"))
        self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "hash", "Item": {"pk": S("a"), "y": S("new")}}},
            {"Update": {"TableName": "hash", "Key": {"pk": S("b")},
                        "UpdateExpression": "SET z = :z",
                        "ExpressionAttributeValues": {":z": N(1)}}},
        ])
        self.assertEqual(self.get("a"), {"pk": S("a"), "y": S("new")})
        self.assertEqual(self.get("b"), {"pk": S("b"), "z": N(1)})

    def test_condition_check_does_not_write(self):
        self.ddb.transact_write_items(TransactItems=[
            {"ConditionCheck": {"TableName": "hash", "Key": {"pk": S("nobody")},
                                "ConditionExpression": "attribute_not_exists(pk)"}}])
        self.assertIsNone(self.get("nobody"))

    def test_resource_client_deserialises_nothing_special(self):
        table = self.resource("dynamodb").Table("hash")
        table.meta.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": "hash", "Item": {"pk": "doc", "n": 3}}}])
        self.assertEqual(table.get_item(Key={"pk": "doc"})["Item"], {"pk": "doc", "n": 3})


class Cancellation(TransactBase):
    def test_reasons_in_order_and_nothing_written(self):
        self.put("exists", x=N(42), y=S("dog"))
        reasons = self.cancelled([
            {"Put": {"TableName": "hash", "Item": {"pk": S("p1")}}},
            {"ConditionCheck": {"TableName": "hash", "Key": {"pk": S("p2")},
                                "ConditionExpression": "attribute_exists(pk)"}},
            {"Update": {"TableName": "hash", "Key": {"pk": S("exists")},
                        "UpdateExpression": "SET x = x + :one",
                        "ConditionExpression": "x = :x",
                        "ExpressionAttributeValues": {":one": N(1), ":x": N(43)},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            {"Delete": {"TableName": "hash", "Key": {"pk": S("p3")}}},
            {"Put": {"TableName": "hash", "Item": {"pk": S("p4")},
                     "ConditionExpression": "attribute_exists(pk)",
                     "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        ], ["None", "ConditionalCheckFailed", "ConditionalCheckFailed", "None",
            "ConditionalCheckFailed"])
        self.assertEqual(reasons[0], {"Code": "None"})
        self.assertEqual(reasons[1], {"Code": "ConditionalCheckFailed", "Message": CHECK_FAILED})
        # ALL_OLD returns the stored item (AttributeValue JSON, as boto3
        # leaves it inside an error) ...
        self.assertEqual(reasons[2], {"Code": "ConditionalCheckFailed", "Message": CHECK_FAILED,
                                      "Item": {"pk": S("exists"), "x": N(42), "y": S("dog")}})
        # ... and nothing when there is no stored item.
        self.assertEqual(reasons[4], {"Code": "ConditionalCheckFailed", "Message": CHECK_FAILED})
        self.assertIsNone(self.get("p1"))
        self.assertIsNone(self.get("p4"))
        self.assertEqual(self.get("exists"), {"pk": S("exists"), "x": N(42), "y": S("dog")})

    def test_key_type_error_is_a_validation_error_reason(self):
        # Only the first validation error is reported; later actions are
        # "None" even when their condition would fail.
        reasons = self.cancelled([
            {"Put": {"TableName": "hash", "Item": {"pk": S("ok")}}},
            {"Put": {"TableName": "hash", "Item": {"pk": N(7)}}},
            {"Put": {"TableName": "hash", "Item": {"pk": N(8)}}},
            {"Put": {"TableName": "hash", "Item": {"pk": S("c")},
                     "ConditionExpression": "attribute_exists(pk)"}},
        ], ["None", "ValidationError", "None", "None"])
        self.assertEqual(reasons[1]["Message"],
                         "One or more parameter values were invalid: Type mismatch for key pk "
                         "expected: S actual: N")
        self.assertNotIn("Message", reasons[2])
        self.assertIsNone(self.get("ok"))

    def test_key_schema_mismatch(self):
        reasons = self.cancelled([
            {"Delete": {"TableName": "range", "Key": {"pk": S("a")}}},
        ], ["ValidationError"])
        self.assertEqual(reasons[0]["Message"], "The provided key element does not match the schema")

    def test_update_type_error_at_apply_time(self):
        self.put("s", v=S("text"))
        reasons = self.cancelled([
            {"Put": {"TableName": "hash", "Item": {"pk": S("other")}}},
            {"Update": {"TableName": "hash", "Key": {"pk": S("s")},
                        "UpdateExpression": "SET v = v + :one",
                        "ExpressionAttributeValues": {":one": N(1)}}},
        ], ["None", "ValidationError"])
        self.assertEqual(reasons[1]["Message"],
                         "An operand in the update expression has an incorrect data type")
        self.assertIsNone(self.get("other"))
        self.assertEqual(self.get("s"), {"pk": S("s"), "v": S("text")})

    def test_updating_a_key_attribute(self):
        reasons = self.cancelled([
            {"Update": {"TableName": "hash", "Key": {"pk": S("a")},
                        "UpdateExpression": "SET pk = :v",
                        "ExpressionAttributeValues": {":v": S("b")}}},
        ], ["ValidationError"])
        self.assertEqual(reasons[0]["Message"],
                         "One or more parameter values were invalid: Cannot update attribute pk. "
                         "This attribute is part of the key")

    def test_cancellation_through_the_exception_class(self):
        self.put("a")
        with self.assertRaises(self.ddb.exceptions.TransactionCanceledException) as cm:
            self.ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": "hash", "Item": {"pk": S("a")},
                         "ConditionExpression": "attribute_not_exists(pk)"}}])
        self.assertEqual(cm.exception.response["CancellationReasons"],
                         [{"Code": "ConditionalCheckFailed", "Message": CHECK_FAILED}])


class RequestErrors(TransactBase):
    def test_two_actions_on_one_item(self):
        for second in ({"Put": {"TableName": "hash", "Item": {"pk": S("a"), "v": N(1)}}},
                       {"ConditionCheck": {"TableName": "hash", "Key": {"pk": S("a")},
                                           "ConditionExpression": "attribute_not_exists(pk)"}},
                       {"Delete": {"TableName": "hash", "Key": {"pk": S("a")}}}):
            self.assertAwsError(lambda: self.ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": "hash", "Item": {"pk": S("a")}}}, second]),
                "ValidationException", DUPLICATE)
        # The same key in two tables is two items.
        self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "hash", "Item": {"pk": S("a")}}},
            {"Put": {"TableName": "range", "Item": {"pk": S("a"), "sk": N(1)}}},
            {"Put": {"TableName": "range", "Item": {"pk": S("a"), "sk": N(2)}}}])
        self.assertIsNotNone(self.get("a"))

    def test_exactly_one_action_per_item(self):
        self.assertAwsError(lambda: self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "hash", "Item": {"pk": S("a")}},
             "Delete": {"TableName": "hash", "Key": {"pk": S("b")}}}]),
            "ValidationException", ONE_ACTION)

    def test_missing_table(self):
        self.assertAwsError(lambda: self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "hash", "Item": {"pk": S("a")}}},
            {"Put": {"TableName": "nope", "Item": {"pk": S("a")}}}]),
            "ResourceNotFoundException", "Requested resource not found")
        self.assertIsNone(self.get("a"))

    def test_expression_errors_fail_the_whole_request(self):
        self.assertAwsError(lambda: self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "hash", "Item": {"pk": S("a")},
                     "ConditionExpression": "attribute_exists(pk)",
                     "ExpressionAttributeValues": {":unused": N(1)}}}]),
            "ValidationException",
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}")
        e = self.assertAwsError(lambda: self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "hash", "Item": {"pk": S("a")},
                     "ConditionExpression": "attribute_exists(#missing)"}}]),
            "ValidationException")
        self.assertIn("#missing", e.response["Error"]["Message"])

    def test_at_most_100_actions(self):
        ok = [{"Put": {"TableName": "hash", "Item": {"pk": S("k%d" % i)}}} for i in range(100)]
        self.ddb.transact_write_items(TransactItems=ok)
        self.assertIsNotNone(self.get("k99"))
        e = self.assertAwsError(lambda: self.ddb.transact_write_items(
            TransactItems=ok + [{"Put": {"TableName": "hash", "Item": {"pk": S("k100")}}}]),
            "ValidationException")
        self.assertIn("Member must have length less than or equal to 100",
                      e.response["Error"]["Message"])

    def test_payload_above_4_mb(self):
        big = "x" * 100000
        items = [{"Put": {"TableName": "hash", "Item": {"pk": S("b%d" % i), "v": S(big)}}}
                 for i in range(45)]
        e = self.assertAwsError(lambda: self.ddb.transact_write_items(TransactItems=items),
                                "ValidationException")
        self.assertIn("Transaction payload size cannot exceed 4MB", e.response["Error"]["Message"])
        # 3 MB is fine.
        self.ddb.transact_write_items(TransactItems=items[:30])
        self.assertIsNotNone(self.get("b29"))


class Idempotency(TransactBase):
    INCREMENT = [{"Update": {"TableName": "hash", "Key": {"pk": S("c")},
                             "UpdateExpression": "ADD n :one",
                             "ExpressionAttributeValues": {":one": N(1)}}}]

    def n(self):
        return self.get("c")["n"]["N"]

    def test_without_a_token_each_call_writes(self):
        self.ddb.transact_write_items(TransactItems=self.INCREMENT)
        self.ddb.transact_write_items(TransactItems=self.INCREMENT)
        self.assertEqual(self.n(), "2")

    def test_same_token_same_request_writes_once(self):
        first = self.ddb.transact_write_items(TransactItems=self.INCREMENT, ClientRequestToken="tok-1")
        again = self.ddb.transact_write_items(TransactItems=self.INCREMENT, ClientRequestToken="tok-1")
        self.assertEqual(self.n(), "1")
        self.assertNotIn("ConsumedCapacity", again)
        self.assertEqual({k: v for k, v in first.items() if k != "ResponseMetadata"},
                         {k: v for k, v in again.items() if k != "ResponseMetadata"})
        # Another token is another transaction.
        self.ddb.transact_write_items(TransactItems=self.INCREMENT, ClientRequestToken="tok-2")
        self.assertEqual(self.n(), "2")

    def test_same_token_other_request(self):
        self.ddb.transact_write_items(TransactItems=self.INCREMENT, ClientRequestToken="tok")
        self.assertAwsError(lambda: self.ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": "hash", "Item": {"pk": S("other")}}}],
            ClientRequestToken="tok"),
            "IdempotentParameterMismatchException", MISMATCH)
        self.assertIsNone(self.get("other"))

    def test_token_expires_after_10_minutes(self):
        self.ddb.transact_write_items(TransactItems=self.INCREMENT, ClientRequestToken="tok")
        self.tidepool.advance(599999)
        self.ddb.transact_write_items(TransactItems=self.INCREMENT, ClientRequestToken="tok")
        self.assertEqual(self.n(), "1")
        self.tidepool.advance(2)
        self.ddb.transact_write_items(TransactItems=self.INCREMENT, ClientRequestToken="tok")
        self.assertEqual(self.n(), "2")
        # After expiry a different request may use the token too (later).
        self.tidepool.advance(600001)
        self.ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": "hash", "Item": {"pk": S("other")}}}],
            ClientRequestToken="tok")
        self.assertIsNotNone(self.get("other"))

    def test_a_cancelled_transaction_does_not_use_the_token(self):
        guarded = [{"Put": {"TableName": "hash", "Item": {"pk": S("g")},
                            "ConditionExpression": "attribute_exists(pk)"}}]
        self.cancelled(guarded, ["ConditionalCheckFailed"], ClientRequestToken="t")
        self.put("g", v=N(1))
        self.ddb.transact_write_items(TransactItems=guarded, ClientRequestToken="t")
        self.assertEqual(self.get("g"), {"pk": S("g")})

    def test_tokens_are_per_account(self):
        self.ddb.transact_write_items(TransactItems=self.INCREMENT, ClientRequestToken="tok")
        other = self.tidepool.client("dynamodb", access_key="AKIDOTHERACCOUNT", retries=1)
        other.create_table(
            TableName="hash",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")
        other.transact_write_items(
            TransactItems=[{"Put": {"TableName": "hash", "Item": {"pk": S("x")}}}],
            ClientRequestToken="tok")


class Capacity(TransactBase):
    def test_transactional_writes_cost_double(self):
        self.put("old", b=S("b" * 1500))  # 1 KB < item < 2 KB
        r = self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "hash", "Item": {"pk": S("a")}}},
            {"Delete": {"TableName": "hash", "Key": {"pk": S("old")}}},
            {"Put": {"TableName": "range", "Item": {"pk": S("a"), "sk": N(1)}}},
        ], ReturnConsumedCapacity="TOTAL")
        self.assertEqual(r["ConsumedCapacity"], [
            {"TableName": "hash", "CapacityUnits": 6.0, "WriteCapacityUnits": 6.0},
            {"TableName": "range", "CapacityUnits": 2.0, "WriteCapacityUnits": 2.0}])

    def test_index_writes_cost_double(self):
        self.ddb.create_table(
            TableName="gsi",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "g", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": "by_g",
                                     "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"}}],
            BillingMode="PAY_PER_REQUEST")
        r = self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "gsi", "Item": {"pk": S("a"), "g": S("x")}}},
        ], ReturnConsumedCapacity="INDEXES")
        self.assertEqual(r["ConsumedCapacity"], [
            {"TableName": "gsi", "CapacityUnits": 4.0, "WriteCapacityUnits": 4.0,
             "Table": {"CapacityUnits": 2.0, "WriteCapacityUnits": 2.0},
             "GlobalSecondaryIndexes": {"by_g": {"CapacityUnits": 2.0}}}])

    def test_item_collection_metrics(self):
        r = self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "hash", "Item": {"pk": S("a")}}}],
            ReturnItemCollectionMetrics="SIZE")
        self.assertEqual(r["ItemCollectionMetrics"], {})


if __name__ == "__main__":
    unittest.main()
