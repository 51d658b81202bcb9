"""UpdateItem through boto3 (client and Table resource): UpdateExpression
SET/REMOVE/ADD/DELETE, nested paths, list_append/if_not_exists, the legacy
AttributeUpdates, ReturnValues, ConsumedCapacity, and AWS's exact messages.

Expected values come from AWS's documentation and from tests recorded
against AWS (dynalite's test/updateItem.js, scylladb's alternator
test_update_expression.py / test_returnvalues.py)."""
import unittest
from decimal import Decimal

from tidepool import TidepoolTestCase

UE = "Invalid UpdateExpression: "
MISSING = "The provided expression refers to an attribute that does not exist in the item"
BAD_TYPE = "An operand in the update expression has an incorrect data type"
BAD_PATH = "The document path provided in the update expression is invalid for update"


class UpdateItem(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.tidepool.client("dynamodb", retries=1)
        self.ddb.create_table(
            TableName="tbl",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")
        self.ddb.create_table(
            TableName="gsi",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"},
                                  {"AttributeName": "gk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{
                "IndexName": "byg",
                "KeySchema": [{"AttributeName": "gk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}}],
            BillingMode="PAY_PER_REQUEST")
        self.table = self.tidepool.resource("dynamodb", retries=1).Table("tbl")

    # helpers
    def key(self, pk="k"):
        return {"pk": {"S": pk}}

    def get(self, pk="k"):
        return self.ddb.get_item(TableName="tbl", Key=self.key(pk), ConsistentRead=True).get("Item")

    def put(self, item, pk="k"):
        self.ddb.put_item(TableName="tbl", Item={**self.key(pk), **item})

    def update(self, expr=None, values=None, names=None, pk="k", **kw):
        args = {"TableName": "tbl", "Key": self.key(pk), **kw}
        if expr is not None:
            args["UpdateExpression"] = expr
        if values is not None:
            args["ExpressionAttributeValues"] = values
        if names is not None:
            args["ExpressionAttributeNames"] = names
        return self.ddb.update_item(**args)

    def assertUpdateFails(self, message, expr=None, values=None, names=None, pk="k", **kw):
        """The update fails with this ValidationException and changes nothing."""
        before = self.get(pk)
        self.assertAwsError(lambda: self.update(expr, values, names, pk, **kw),
                            "ValidationException", message)
        self.assertEqual(self.get(pk), before)

    # --- basics ------------------------------------------------------------
    def test_upsert_creates_item_with_key_and_set_values(self):
        out = self.update("SET a = :v, b = :w", {":v": {"S": "x"}, ":w": {"N": "1.50"}})
        self.assertNotIn("Attributes", out)
        self.assertEqual(self.get(), {"pk": {"S": "k"}, "a": {"S": "x"}, "b": {"N": "1.5"}})

    def test_set_merges_with_existing_item(self):
        self.put({"a": {"S": "hi"}, "c": {"BOOL": True}})
        self.update("set b = :v", {":v": {"S": "hello"}})
        self.assertEqual(self.get(), {"pk": {"S": "k"}, "a": {"S": "hi"}, "b": {"S": "hello"},
                                      "c": {"BOOL": True}})

    def test_update_without_actions_creates_the_key_only_item(self):
        out = self.ddb.update_item(TableName="tbl", Key=self.key())
        self.assertEqual(out.get("Attributes"), None)
        self.assertEqual(self.get(), {"pk": {"S": "k"}})
        # an empty AttributeUpdates too, returning the new item for ALL_NEW
        out = self.ddb.update_item(TableName="tbl", Key=self.key("k2"), AttributeUpdates={},
                                   ReturnValues="ALL_NEW")
        self.assertEqual(out["Attributes"], {"pk": {"S": "k2"}})

    def test_remove_only_on_missing_item_does_not_create_it(self):
        out = self.update("REMOVE a", ReturnValues="ALL_NEW")
        self.assertNotIn("Attributes", out)
        self.assertIsNone(self.get())
        self.update("DELETE s :v", {":v": {"SS": ["x"]}})
        self.assertIsNone(self.get())
        self.ddb.update_item(TableName="tbl", Key=self.key(), AttributeUpdates={"a": {"Action": "DELETE"}})
        self.assertIsNone(self.get())

    def test_set_copies_old_values(self):
        self.put({"a": {"S": "hello"}})
        self.update("REMOVE a SET b = a")
        self.assertEqual(self.get(), {"pk": {"S": "k"}, "b": {"S": "hello"}})
        # operands read the item as it was before the update
        self.assertUpdateFails(MISSING, "SET x = :v, y = x", {":v": {"N": "4"}})

    # --- counters and arithmetic ----------------------------------------------
    def test_add_counter_through_the_table_resource(self):
        for want in (1, 2, 3):
            out = self.table.update_item(Key={"pk": "c"}, UpdateExpression="ADD hits :one",
                                         ExpressionAttributeValues={":one": 1},
                                         ReturnValues="UPDATED_NEW")
            self.assertEqual(out["Attributes"], {"hits": Decimal(want)})
        self.assertEqual(self.table.get_item(Key={"pk": "c"})["Item"],
                         {"pk": "c", "hits": Decimal(3)})

    def test_exact_decimal_arithmetic(self):
        self.put({"n": {"N": "0.1"}})
        self.update("SET n = n + :v", {":v": {"N": "0.2"}})
        self.assertEqual(self.get()["n"], {"N": "0.3"})
        self.update("SET m = :a - n", {":a": {"N": "1"}})
        self.assertEqual(self.get()["m"], {"N": "0.7"})
        self.update("ADD n :v", {":v": {"N": "1E-5"}})
        self.assertEqual(self.get()["n"], {"N": "0.30001"})

    def test_number_overflow(self):
        big = "9.9999999999999999999999999999999999999E+125"
        self.put({"n": {"N": big}})
        self.assertUpdateFails(
            "Number overflow. Attempting to store a number with magnitude larger than supported range",
            "SET n = n + :v", {":v": {"N": big}})
        self.assertUpdateFails(
            "Number overflow. Attempting to store a number with magnitude larger than supported range",
            "ADD n :v", {":v": {"N": big}})
        # more than 38 significant digits is worded the same way
        self.put({"n": {"N": "12345678901234567890123456789012345678"}})
        self.assertUpdateFails(
            "Number overflow. Attempting to store a number with magnitude larger than supported range",
            "ADD n :v", {":v": {"N": "0.5"}})

    def test_if_not_exists(self):
        self.update("SET a = if_not_exists(a, :v)", {":v": {"N": "2"}})
        self.update("SET a = if_not_exists(a, :v)", {":v": {"N": "3"}})
        self.assertEqual(self.get()["a"], {"N": "2"})
        self.update("SET b = if_not_exists(b, :zero) + :one", {":zero": {"N": "0"}, ":one": {"N": "1"}})
        self.assertEqual(self.get()["b"], {"N": "1"})

    # --- nested paths and lists -----------------------------------------------
    def test_set_nested_map_paths(self):
        self.put({"a": {"M": {"x": {"N": "3"}, "c": {"M": {"y": {"N": "3"}}}}},
                  "b": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}}})
        self.update("SET a.b = :v1, a.c.d = :v2, b.x = :v3 REMOVE a.x, b.y",
                    {":v1": {"N": "10"}, ":v2": {"S": "dog"}, ":v3": {"N": "17"}})
        self.assertEqual(self.get(), {
            "pk": {"S": "k"},
            "a": {"M": {"b": {"N": "10"}, "c": {"M": {"y": {"N": "3"}, "d": {"S": "dog"}}}}},
            "b": {"M": {"x": {"N": "17"}}}})
        # through the resource, with #names
        self.table.update_item(Key={"pk": "k"}, UpdateExpression="SET #a.#c.#e = :v",
                               ExpressionAttributeNames={"#a": "a", "#c": "c", "#e": "e.f"},
                               ExpressionAttributeValues={":v": {"deep": [1]}})
        self.assertEqual(self.table.get_item(Key={"pk": "k"})["Item"]["a"]["c"]["e.f"],
                         {"deep": [Decimal(1)]})

    def test_nested_path_into_missing_or_wrong_parent(self):
        self.put({"s": {"S": "x"}, "m": {"M": {"1": {"S": "a"}}}, "l": {"L": [{"S": "a"}]}})
        v = {":a": {"SS": ["a"]}}
        for expr in ("SET y.a = :a", "SET s.a = :a", "SET y[1] = :a", "SET m[1] = :a",
                     "SET l.#1 = :a", "REMOVE y.a", "REMOVE s[1]", "ADD y.a :a", "DELETE s.a :a"):
            names = {"#1": "1"} if "#1" in expr else None
            self.assertUpdateFails(BAD_PATH, expr, v if ":a" in expr else None, names)
        # the same in an item that does not exist yet
        self.assertUpdateFails(BAD_PATH, "SET b.a = :a", v, pk="nope")
        self.assertIsNone(self.get("nope"))

    def test_list_append(self):
        self.update("SET l = :v", {":v": {"L": [{"S": "hi"}, {"N": "2"}]}})
        self.update("SET l = list_append(l, :v)", {":v": {"L": [{"N": "4"}]}})
        self.update("SET l = list_append(:v, l)", {":v": {"L": [{"S": "dog"}]}})
        self.assertEqual(self.get()["l"], {"L": [{"S": "dog"}, {"S": "hi"}, {"N": "2"}, {"N": "4"}]})
        # the common idiom for a list that may not exist yet
        self.update("SET m = list_append(if_not_exists(m, :empty), :v)",
                    {":empty": {"L": []}, ":v": {"L": [{"S": "x"}]}})
        self.assertEqual(self.get()["m"], {"L": [{"S": "x"}]})
        self.assertUpdateFails(MISSING, "SET x = list_append(nope, :v)", {":v": {"L": []}})
        self.put({"s": {"S": "x"}})
        self.assertUpdateFails(BAD_TYPE, "SET x = list_append(s, :v)", {":v": {"L": []}})

    def test_nested_update_recorded_against_aws(self):
        # dynalite's "should update nested attributes", recorded against AWS
        k = {"S": "K"}
        self.update("set b = :b, c = :c", {
            ":b": {"M": {"a": {"N": "1"}, "b": {"N": "2"}, "c": {"N": "3"}}},
            ":c": {"L": [{"N": "1"}, {"N": "3"}]}}, pk="K")
        out = self.update(
            "set b.c=((c[1])+(b.a)),b.a = pk,c[1] = pk, c[4] = b.a - b.b, c[2] = b.c "
            "add c[8] :b, c[6] :a",
            {":a": {"N": "2"}, ":b": {"SS": ["a"]}}, pk="K", ReturnValues="UPDATED_NEW")
        self.assertEqual(out["Attributes"], {"b": {"M": {"a": k, "c": {"N": "4"}}},
                                             "c": {"L": [k, {"N": "3"}, {"N": "2"}]}})
        self.assertEqual(self.get("K"), {
            "pk": k, "b": {"M": {"a": k, "b": {"N": "2"}, "c": {"N": "4"}}},
            "c": {"L": [{"N": "1"}, k, {"N": "3"}, {"N": "-1"}, {"N": "2"}, {"SS": ["a"]}]}})

    def test_list_index_set_and_remove(self):
        self.put({"l": {"L": [{"N": str(i)} for i in range(5)]}})
        # REMOVE uses the original positions
        self.update("REMOVE l[1], l[3]")
        self.assertEqual(self.get()["l"], {"L": [{"N": "0"}, {"N": "2"}, {"N": "4"}]})
        # an index past the end appends
        self.update("SET l[10] = :v", {":v": {"S": "end"}})
        self.assertEqual(self.get()["l"]["L"][-1], {"S": "end"})
        self.assertEqual(len(self.get()["l"]["L"]), 4)
        self.update("SET l[0] = :v", {":v": {"S": "first"}})
        self.assertEqual(self.get()["l"]["L"][0], {"S": "first"})
        # removing past the end does nothing
        self.update("REMOVE l[99]")
        self.assertEqual(len(self.get()["l"]["L"]), 4)

    # --- sets -------------------------------------------------------------------
    def test_add_and_delete_sets(self):
        self.update("ADD s :v", {":v": {"SS": ["a", "b"]}})
        self.update("ADD s :v", {":v": {"SS": ["b", "c"]}})
        self.assertEqual(sorted(self.get()["s"]["SS"]), ["a", "b", "c"])
        self.update("DELETE s :v", {":v": {"SS": ["a", "z"]}})
        self.assertEqual(sorted(self.get()["s"]["SS"]), ["b", "c"])
        # the emptied set goes away
        self.update("DELETE s :v", {":v": {"SS": ["b", "c"]}})
        self.assertNotIn("s", self.get())
        # numbers compare by value
        self.update("ADD n :v", {":v": {"NS": ["1", "2.0"]}})
        self.update("ADD n :v", {":v": {"NS": ["1.00", "3"]}})
        self.assertEqual(sorted(self.get()["n"]["NS"]), ["1", "2", "3"])
        self.assertUpdateFails(BAD_TYPE, "ADD n :v", {":v": {"SS": ["a"]}})
        self.assertUpdateFails(BAD_TYPE, "DELETE n :v", {":v": {"SS": ["a"]}})
        self.put({"str": {"S": "x"}})
        self.assertUpdateFails(BAD_TYPE, "ADD str :v", {":v": {"N": "1"}})

    # --- ReturnValues -------------------------------------------------------------
    def test_return_values(self):
        self.put({"a": {"S": "hi"}, "b": {"S": "dog"}})
        out = self.update("SET b = :v, c = :w", {":v": {"S": "cat"}, ":w": {"S": "new"}},
                          ReturnValues="UPDATED_OLD")
        self.assertEqual(out["Attributes"], {"b": {"S": "dog"}})
        out = self.update("SET b = :v", {":v": {"S": "cow"}}, ReturnValues="ALL_OLD")
        self.assertEqual(out["Attributes"], {"pk": {"S": "k"}, "a": {"S": "hi"}, "b": {"S": "cat"},
                                             "c": {"S": "new"}})
        out = self.update("SET a = :v REMOVE c", {":v": {"S": "yo"}}, ReturnValues="UPDATED_NEW")
        self.assertEqual(out["Attributes"], {"a": {"S": "yo"}})
        out = self.update("REMOVE b", ReturnValues="ALL_NEW")
        self.assertEqual(out["Attributes"], {"pk": {"S": "k"}, "a": {"S": "yo"}})
        out = self.update("SET b = :v", {":v": {"S": "x"}}, ReturnValues="NONE")
        self.assertNotIn("Attributes", out)
        # UPDATED_OLD of attributes that did not exist: no Attributes at all
        out = self.update("SET z = :v", {":v": {"S": "x"}}, ReturnValues="UPDATED_OLD")
        self.assertNotIn("Attributes", out)
        # ALL_OLD of a new item: nothing
        out = self.update("SET z = :v", {":v": {"S": "x"}}, pk="fresh", ReturnValues="ALL_OLD")
        self.assertNotIn("Attributes", out)

    def test_return_values_nested(self):
        self.table.put_item(Item={"pk": "k", "a": {"b": "dog", "c": [1, 2, 3]}, "d": "cat"})
        out = self.table.update_item(Key={"pk": "k"}, UpdateExpression="SET a.b = :v",
                                     ExpressionAttributeValues={":v": "hi"},
                                     ReturnValues="UPDATED_OLD")
        self.assertEqual(out["Attributes"], {"a": {"b": "dog"}})
        out = self.table.update_item(Key={"pk": "k"}, UpdateExpression="SET a.c[1] = :v",
                                     ExpressionAttributeValues={":v": 7},
                                     ReturnValues="UPDATED_OLD")
        self.assertEqual(out["Attributes"], {"a": {"c": [2]}})
        out = self.table.update_item(Key={"pk": "k"},
                                     UpdateExpression="SET a.c[1] = :v, a.b = :w",
                                     ExpressionAttributeValues={":v": 8, ":w": "dog"},
                                     ReturnValues="UPDATED_OLD")
        self.assertEqual(out["Attributes"], {"a": {"b": "hi", "c": [7]}})
        out = self.table.update_item(Key={"pk": "k"}, UpdateExpression="SET a.c[1] = :v",
                                     ExpressionAttributeValues={":v": 4},
                                     ReturnValues="UPDATED_NEW")
        self.assertEqual(out["Attributes"], {"a": {"c": [4]}})

    def test_return_values_attribute_updates(self):
        self.ddb.update_item(TableName="tbl", Key=self.key(),
                             AttributeUpdates={"b": {"Value": {"S": "a"}}, "c": {"Value": {"S": "a"}}})
        out = self.ddb.update_item(TableName="tbl", Key=self.key(),
                                   AttributeUpdates={"b": {"Value": {"S": "b"}},
                                                     "c": {"Action": "DELETE"}},
                                   ReturnValues="UPDATED_OLD")
        self.assertEqual(out["Attributes"], {"b": {"S": "a"}, "c": {"S": "a"}})
        out = self.ddb.update_item(TableName="tbl", Key=self.key(),
                                   AttributeUpdates={"b": {"Action": "DELETE"},
                                                     "d": {"Value": {"N": "1"}}},
                                   ReturnValues="UPDATED_NEW")
        self.assertEqual(out["Attributes"], {"d": {"N": "1"}})

    # --- legacy AttributeUpdates ----------------------------------------------------
    def test_attribute_updates_put_add_delete(self):
        out = self.ddb.update_item(
            TableName="tbl", Key=self.key(), ReturnValues="UPDATED_NEW",
            AttributeUpdates={"b": {"Action": "DELETE"},
                              "c": {"Action": "DELETE", "Value": {"SS": ["a", "b"]}},
                              "d": {"Action": "ADD", "Value": {"N": "5"}},
                              "e": {"Action": "ADD", "Value": {"SS": ["a", "b"]}},
                              "f": {"Action": "ADD", "Value": {"L": [{"S": "a"}, {"N": "1"}]}}})
        self.assertEqual(out["Attributes"], {"d": {"N": "5"}, "e": {"SS": ["a", "b"]},
                                             "f": {"L": [{"S": "a"}, {"N": "1"}]}})
        self.ddb.update_item(
            TableName="tbl", Key=self.key(),
            AttributeUpdates={"d": {"Action": "ADD", "Value": {"N": "-7"}},
                              "e": {"Action": "DELETE", "Value": {"SS": ["a"]}},
                              "f": {"Action": "ADD", "Value": {"L": [{"S": "a"}]}},
                              "g": {"Value": {"BOOL": True}}})
        self.assertEqual(self.get(), {"pk": {"S": "k"}, "d": {"N": "-2"}, "e": {"SS": ["b"]},
                                      "f": {"L": [{"S": "a"}, {"N": "1"}, {"S": "a"}]},
                                      "g": {"BOOL": True}})
        for upd in ({"e": {"Action": "ADD", "Value": {"NS": ["1"]}}},
                    {"d": {"Action": "DELETE", "Value": {"NS": ["1"]}}},
                    {"g": {"Action": "ADD", "Value": {"N": "1"}}}):
            before = self.get()
            self.assertAwsError(lambda: self.ddb.update_item(TableName="tbl", Key=self.key(),
                                                             AttributeUpdates=upd),
                                "ValidationException", "Type mismatch for attribute to update")
            self.assertEqual(self.get(), before)

    def test_attribute_updates_request_rules(self):
        cases = [
            ({"a": {"Action": "PUT"}},
             "One or more parameter values were invalid: Only DELETE action is allowed when no "
             "attribute value is specified"),
            ({"a": {"Action": "DELETE", "Value": {"S": "x"}}},
             "One or more parameter values were invalid: DELETE action with value is not "
             "supported for the type S"),
            ({"a": {"Action": "ADD", "Value": {"S": "x"}}},
             "One or more parameter values were invalid: ADD action is not supported for the type S"),
            ({"pk": {"Value": {"S": "x"}}},
             "One or more parameter values were invalid: Cannot update attribute pk. This "
             "attribute is part of the key"),
        ]
        for upd, msg in cases:
            self.assertAwsError(lambda: self.ddb.update_item(TableName="tbl", Key=self.key(),
                                                             AttributeUpdates=upd),
                                "ValidationException", msg)
        self.assertIsNone(self.get())

    # --- errors ---------------------------------------------------------------------
    def test_expression_errors(self):
        self.put({"a": {"S": "hello"}, "n": {"N": "1"}})
        v = {":v": {"N": "1"}, ":w": {"N": "2"}}
        cases = [
            ("SET a = :v SET b = :w", v, None,
             UE + 'The "SET" section can only be used once in an update expression;'),
            ("SET a = :v, a.b = :w", v, None,
             UE + "Two document paths overlap with each other; must remove or rewrite one of "
             "these paths; path one: [a], path two: [a, b]"),
            ("SET a = :v REMOVE a", {":v": {"N": "1"}}, None,
             UE + "Two document paths overlap with each other; must remove or rewrite one of "
             "these paths; path one: [a], path two: [a]"),
            ("SET a.b = :v, a[1] = :w", v, None,
             UE + "Two document paths conflict with each other; must remove or rewrite one of "
             "these paths; path one: [a, b], path two: [a, [1]]"),
            ("INVALID SYNTAX HERE", {":v": {"S": "val"}}, None,
             UE + 'Syntax error; token: "INVALID", near: "INVALID SYNTAX"'),
            ("SET a = :v + :w + :x", {":v": {"N": "1"}, ":w": {"N": "1"}, ":x": {"N": "1"}}, None,
             UE + 'Syntax error; token: "+", near: ":w + :x"'),
            ("SET b = :nope", {":v": {"N": "1"}}, None,
             UE + "An expression attribute value used in expression is not defined; attribute "
             "value: :nope"),
            ("SET #x = :v", {":v": {"N": "1"}}, {"#y": "y"},
             UE + "An expression attribute name used in the document path is not defined; "
             "attribute name: #x"),
            ("SET a = :v", v, None,
             "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"),
            ("SET #a = :v", {":v": {"N": "1"}}, {"#a": "a", "#b": "b"},
             "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}"),
            ("SET data = :v", {":v": {"N": "1"}}, None,
             UE + "Attribute name is a reserved keyword; reserved keyword: data"),
            ("SET a = f(b, c)", None, None, UE + "Invalid function name; function: f"),
            ("SET a = list_append(:v)", {":v": {"L": []}}, None,
             UE + "Incorrect number of operands for operator or function; operator or function: "
             "list_append, number of operands: 1"),
            ("SET a = if_not_exists(:v, :w)", v, None,
             UE + "Operator or function requires a document path; operator or function: "
             "if_not_exists"),
            ("SET a = :s + n", {":s": {"S": "x"}}, None,
             UE + "Incorrect operand type for operator or function; operator or function: +, "
             "operand type: S"),
            ("SET a = list_append(a, :v)", {":v": {"N": "1"}}, None,
             UE + "Incorrect operand type for operator or function; operator or function: "
             "list_append, operand type: N"),
            ("ADD a :s", {":s": {"S": "x"}}, None,
             UE + "Incorrect operand type for operator or function; operator: ADD, operand type: "
             "STRING"),
            ("DELETE a :v", {":v": {"N": "1"}}, None,
             UE + "Incorrect operand type for operator or function; operator: DELETE, operand "
             "type: NUMBER"),
            ("SET pk = :v", {":v": {"S": "x"}}, None,
             "One or more parameter values were invalid: Cannot update attribute pk. This "
             "attribute is part of the key"),
            ("REMOVE pk", None, None,
             "One or more parameter values were invalid: Cannot update attribute pk. This "
             "attribute is part of the key"),
            ("SET a = n + :v", {":v": {"N": "1"}}, None, None),  # fine: a = 2
        ]
        for expr, values, names, msg in cases:
            with self.subTest(expr=expr):
                if msg is None:
                    continue
                self.assertUpdateFails(msg, expr, values, names)

    def test_run_time_errors(self):
        self.put({"a": {"S": "hello"}, "n": {"N": "1"}})
        self.assertUpdateFails(MISSING, "SET a = b + :v", {":v": {"N": "1"}})
        self.assertUpdateFails(MISSING, "SET c = zz")
        self.assertUpdateFails(BAD_TYPE, "SET n = a + :v", {":v": {"N": "1"}})
        self.assertUpdateFails(BAD_TYPE, "SET n = :v - a", {":v": {"N": "1"}})
        self.assertUpdateFails(MISSING, "SET a = b + :v", {":v": {"N": "1"}}, pk="nope")
        self.assertIsNone(self.get("nope"))

    def test_request_level_errors(self):
        self.assertUpdateFails(UE + "The expression can not be empty;", "")
        self.assertAwsError(
            lambda: self.ddb.update_item(TableName="tbl", Key=self.key(), UpdateExpression="SET a = :v",
                                         ExpressionAttributeValues={":v": {"S": "x"}},
                                         AttributeUpdates={"a": {"Value": {"S": "x"}}}),
            "ValidationException",
            "Can not use both expression and non-expression parameters in the same request: "
            "Non-expression parameters: {AttributeUpdates} Expression parameters: "
            "{UpdateExpression}")
        self.assertAwsError(
            lambda: self.ddb.update_item(TableName="tbl", Key=self.key(),
                                         ExpressionAttributeValues={":v": {"S": "x"}}),
            "ValidationException",
            "ExpressionAttributeValues can only be specified when using expressions: "
            "UpdateExpression and ConditionExpression are null")
        self.assertAwsError(
            lambda: self.ddb.update_item(TableName="tbl", Key=self.key(),
                                         ExpressionAttributeNames={"#a": "a"}),
            "ValidationException",
            "ExpressionAttributeNames can only be specified when using expressions")
        self.assertAwsError(
            lambda: self.ddb.update_item(TableName="tbl", Key={"nope": {"S": "x"}},
                                         UpdateExpression="REMOVE a"),
            "ValidationException", "The provided key element does not match the schema")
        self.assertAwsError(
            lambda: self.ddb.update_item(TableName="missing", Key=self.key(),
                                         UpdateExpression="REMOVE a"),
            "ResourceNotFoundException", "Requested resource not found")
        self.assertIsNone(self.get())

    def test_request_check_order(self):
        """dynalite's validation tests (recorded against AWS), sent as raw
        JSON so that no SDK-side validation gets in the way."""
        def raw(payload):
            status, _, body = self.tidepool.ddb_raw("UpdateItem", {"TableName": "tbl", **payload})
            self.assertEqual(status, 400, body)
            return body.get("message") or body.get("Message")
        cases = [
            ({"Key": {"a": {}}, "Expected": {"a": {}}, "AttributeUpdates": {},
              "ExpressionAttributeNames": {}, "ExpressionAttributeValues": {},
              "ConditionExpression": "", "UpdateExpression": ""},
             "Can not use both expression and non-expression parameters in the same request: "
             "Non-expression parameters: {AttributeUpdates, Expected} Expression parameters: "
             "{UpdateExpression, ConditionExpression}"),
            ({"Key": {"a": {}}, "Expected": {"a": {}}, "ExpressionAttributeNames": {},
              "ExpressionAttributeValues": {}},
             "ExpressionAttributeNames can only be specified when using expressions"),
            ({"Key": {"a": {}}, "Expected": {"a": {}}, "ExpressionAttributeValues": {}},
             "ExpressionAttributeValues can only be specified when using expressions: "
             "UpdateExpression and ConditionExpression are null"),
            ({"Key": {"a": {"NULL": False}}, "Expected": {"a": {}},
              "AttributeUpdates": {"a": {"x": "whatever"}}},
             "One or more parameter values were invalid: Null attribute value types must have "
             "the value of true"),
            ({"Key": {}, "Expected": {"a": {}}, "AttributeUpdates": {"a": {}}},
             "One or more parameter values were invalid: Only DELETE action is allowed when no "
             "attribute value is specified"),
            ({"Key": {}, "Expected": {"a": {}}},
             "One or more parameter values were invalid: Value must be provided when Exists is "
             "null for Attribute: a"),
            ({"Key": {}, "ExpressionAttributeNames": {}, "ExpressionAttributeValues": {},
              "ConditionExpression": "", "UpdateExpression": ""},
             "ExpressionAttributeNames must not be empty"),
            ({"Key": {}, "ExpressionAttributeNames": {"a": "a"}, "ExpressionAttributeValues": {},
              "ConditionExpression": "", "UpdateExpression": ""},
             'ExpressionAttributeNames contains invalid key: Syntax error; key: "a"'),
            ({"Key": {}, "ExpressionAttributeValues": {}, "ConditionExpression": "",
              "UpdateExpression": ""},
             "ExpressionAttributeValues must not be empty"),
            ({"Key": {}, "ExpressionAttributeValues": {":b": {"SS": []}}, "ConditionExpression": "",
              "UpdateExpression": ""},
             "ExpressionAttributeValues contains invalid value: One or more parameter values were "
             "invalid: An string set  may not be empty for key :b"),
            ({"Key": {}, "ConditionExpression": "", "UpdateExpression": ""},
             UE + "The expression can not be empty;"),
            ({"Key": {}, "ConditionExpression": ""},
             "Invalid ConditionExpression: The expression can not be empty;"),
            ({"Key": {}, "UpdateExpression": "remove a", "ConditionExpression": "a = :b",
              "ExpressionAttributeValues": {":b": {"S": "a"}, ":c": {"S": "a"}}},
             "Value provided in ExpressionAttributeValues unused in expressions: keys: {:c}"),
            ({"Key": {}, "UpdateExpression": "remove a"},
             "The provided key element does not match the schema"),
        ]
        for payload, msg in cases:
            with self.subTest(payload=payload):
                self.assertEqual(raw(payload), msg)

    def test_item_size_limit(self):
        self.put({"a": {"S": "x" * (300 * 1024)}})
        self.assertUpdateFails("Item size to update has exceeded the maximum allowed size",
                               "SET b = a")

    def test_index_key_types(self):
        key = {"pk": {"S": "p"}, "sk": {"N": "1"}}

        def upd(expr, values=None):
            args = {"TableName": "gsi", "Key": key, "UpdateExpression": expr}
            if values:
                args["ExpressionAttributeValues"] = values
            return self.ddb.update_item(**args)
        self.assertAwsError(lambda: upd("SET gk = :v", {":v": {"N": "1"}}), "ValidationException",
                            "One or more parameter values were invalid: Type mismatch for Index Key "
                            "gk Expected: S Actual: N IndexName: byg")
        self.assertAwsError(lambda: upd("ADD gk :v", {":v": {"N": "1"}}), "ValidationException",
                            "One or more parameter values were invalid: Type mismatch for Index Key "
                            "gk Expected: S Actual: N IndexName: byg")
        self.assertAwsError(lambda: upd("SET gk.x = :v", {":v": {"S": "1"}}), "ValidationException",
                            "Key attributes must be scalars; list random access '[]' and map lookup "
                            "'.' are not allowed: IndexKey: gk")
        upd("SET e = :v", {":v": {"N": "1"}})
        self.assertAwsError(lambda: upd("SET gk = e"), "ValidationException",
                            "The update expression attempted to update the secondary index key to "
                            "unsupported type")
        upd("SET gk = :v", {":v": {"S": "ok"}})
        got = self.ddb.get_item(TableName="gsi", Key=key)["Item"]
        self.assertEqual(got["gk"], {"S": "ok"})
        self.assertAwsError(lambda: upd("SET sk = :v", {":v": {"N": "2"}}), "ValidationException",
                            "One or more parameter values were invalid: Cannot update attribute sk. "
                            "This attribute is part of the key")

    def test_nesting_limit_after_update(self):
        inner = {"M": {}}
        for _ in range(30):
            inner = {"M": {"k": inner}}
        self.put({"a": inner})  # 31 levels
        deep = {":d": {"M": {"x": {"M": {}}}}}
        self.update("SET a" + ".k" * 29 + " = :d", deep)  # levels 30 and 31
        self.update("SET a" + ".k" * 29 + ".x.z = :n", {":n": {"N": "1"}})  # level 32 is fine
        self.assertUpdateFails(
            "Nesting Levels have exceeded supported limits: Attributes in the item have nested "
            "levels beyond supported limit",
            "SET a" + ".k" * 29 + ".x.y = :d", deep)

    def test_consumed_capacity_uses_larger_item(self):
        self.put({"big": {"S": "x" * 3000}})
        out = self.update("REMOVE big", ReturnConsumedCapacity="TOTAL")
        self.assertEqual(out["ConsumedCapacity"], {"TableName": "tbl", "CapacityUnits": 3.0})
        out = self.update("SET a = :v", {":v": {"S": "x"}}, ReturnConsumedCapacity="TOTAL")
        self.assertEqual(out["ConsumedCapacity"], {"TableName": "tbl", "CapacityUnits": 1.0})

    def test_condition_expression(self):
        self.put({"a": {"S": "x"}, "n": {"N": "1"}})
        # false: nothing changes
        self.assertAwsError(
            lambda: self.update("SET a = :v", {":v": {"S": "y"}, ":c": {"S": "other"}},
                                ConditionExpression="a = :c"),
            "ConditionalCheckFailedException", "The conditional request failed")
        self.assertEqual(self.get()["a"], {"S": "x"})
        members = self.ddb.meta.service_model.operation_model("UpdateItem").input_shape.members
        if "ReturnValuesOnConditionCheckFailure" in members:  # botocore >= 1.29.x
            e = self.assertAwsError(
                lambda: self.update("SET a = :v", {":v": {"S": "y"}, ":c": {"S": "other"}},
                                    ConditionExpression="a = :c",
                                    ReturnValuesOnConditionCheckFailure="ALL_OLD"),
                "ConditionalCheckFailedException", "The conditional request failed")
            self.assertEqual(e.response.get("Item"),
                             {"pk": {"S": "k"}, "a": {"S": "x"}, "n": {"N": "1"}})
        # true: applied; names and values are shared by both expressions
        out = self.update("SET #a = :v ADD n :one", {":v": {"S": "y"}, ":c": {"S": "x"}, ":one": {"N": "1"}},
                          {"#a": "a"}, ConditionExpression="#a = :c AND attribute_exists(n)",
                          ReturnValues="ALL_NEW")
        self.assertEqual(out["Attributes"], {"pk": {"S": "k"}, "a": {"S": "y"}, "n": {"N": "2"}})
        # evaluated against the missing item
        self.assertAwsError(
            lambda: self.update("SET a = :v", {":v": {"S": "y"}}, pk="new",
                                ConditionExpression="attribute_exists(pk)"),
            "ConditionalCheckFailedException", "The conditional request failed")
        self.assertIsNone(self.get("new"))
        self.update("SET a = :v", {":v": {"S": "y"}}, pk="new",
                    ConditionExpression="attribute_not_exists(pk)")
        self.assertEqual(self.get("new"), {"pk": {"S": "new"}, "a": {"S": "y"}})
        # a value only the condition uses is not "unused"; one nobody uses is
        self.assertUpdateFails(
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:z}",
            "REMOVE a", {":c": {"S": "y"}, ":z": {"S": "z"}}, ConditionExpression="a = :c")
        self.assertUpdateFails(
            "Can not use both expression and non-expression parameters in the same request: "
            "Non-expression parameters: {Expected} Expression parameters: {UpdateExpression}",
            "REMOVE a", Expected={"a": {"Exists": False}})

    def test_legacy_expected_with_attribute_updates(self):
        self.put({"a": {"S": "x"}})
        self.assertAwsError(
            lambda: self.ddb.update_item(TableName="tbl", Key=self.key(),
                                         AttributeUpdates={"a": {"Value": {"S": "y"}}},
                                         Expected={"a": {"Value": {"S": "nope"}}}),
            "ConditionalCheckFailedException", "The conditional request failed")
        self.assertEqual(self.get()["a"], {"S": "x"})
        self.ddb.update_item(TableName="tbl", Key=self.key(),
                             AttributeUpdates={"a": {"Value": {"S": "y"}}},
                             Expected={"a": {"Value": {"S": "x"}}})
        self.assertEqual(self.get()["a"], {"S": "y"})

    def test_gsi_is_maintained(self):
        key = {"pk": {"S": "p"}, "sk": {"N": "1"}}
        self.ddb.update_item(TableName="gsi", Key=key, UpdateExpression="SET gk = :v",
                             ExpressionAttributeValues={":v": {"S": "one"}})
        out = self.ddb.update_item(TableName="gsi", Key=key, UpdateExpression="SET gk = :v",
                                   ExpressionAttributeValues={":v": {"S": "two"}},
                                   ReturnConsumedCapacity="INDEXES")
        cc = out["ConsumedCapacity"]
        self.assertEqual(cc["TableName"], "gsi")
        self.assertIn("byg", cc.get("GlobalSecondaryIndexes", {}))


if __name__ == "__main__":
    unittest.main()
