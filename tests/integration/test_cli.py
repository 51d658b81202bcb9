"""The AWS CLI (v2 from Debian, v1 from the image's Python) against tidepool:
the commands a developer types, and the errors they see."""
import json
import unittest

from tidepool import TidepoolTestCase


class Cli(TidepoolTestCase):
    def run_both(self, fn):
        ran = 0
        for cli in ("v2", "v1"):
            with self.subTest(cli=cli):
                try:
                    fn(cli)
                    ran += 1
                except unittest.SkipTest:
                    pass
            self.tidepool.reset()
        if not ran:
            self.skipTest("no AWS CLI available")

    def test_table_and_item_round_trip(self):
        def scenario(cli):
            rc, out, err = self.tidepool.aws(
                "dynamodb", "create-table", "--table-name", "clitable",
                "--attribute-definitions", "AttributeName=id,AttributeType=S",
                "--key-schema", "AttributeName=id,KeyType=HASH",
                "--provisioned-throughput", "ReadCapacityUnits=5,WriteCapacityUnits=5", cli=cli)
            self.assertEqual(rc, 0, err)
            self.assertEqual(out["TableDescription"]["TableName"], "clitable")
            rc, out, err = self.tidepool.aws("dynamodb", "list-tables", cli=cli)
            self.assertEqual(out["TableNames"], ["clitable"])
            rc, out, err = self.tidepool.aws(
                "dynamodb", "put-item", "--table-name", "clitable", "--item",
                json.dumps({"id": {"S": "1"}, "v": {"N": "42.0"}}), "--return-values", "ALL_OLD",
                cli=cli)
            self.assertEqual(rc, 0, err)
            rc, out, err = self.tidepool.aws("dynamodb", "get-item", "--table-name", "clitable",
                                       "--key", json.dumps({"id": {"S": "1"}}), cli=cli)
            self.assertEqual(out["Item"]["v"], {"N": "42"})
            rc, out, err = self.tidepool.aws("dynamodb", "delete-item", "--table-name", "clitable",
                                       "--key", json.dumps({"id": {"S": "1"}}),
                                       "--return-values", "ALL_OLD", cli=cli)
            self.assertEqual(out["Attributes"]["id"], {"S": "1"})
            rc, out, err = self.tidepool.aws("dynamodb", "describe-table", "--table-name", "clitable",
                                       cli=cli)
            self.assertEqual(out["Table"]["TableStatus"], "ACTIVE")
            self.assertEqual(out["Table"]["ItemCount"], 0)
        self.run_both(scenario)

    def test_errors_are_reported_with_aws_text(self):
        def scenario(cli):
            rc, out, err = self.tidepool.aws("dynamodb", "get-item", "--table-name", "missing",
                                       "--key", json.dumps({"id": {"S": "1"}}), cli=cli)
            self.assertNotEqual(rc, 0)
            self.assertIn("ResourceNotFoundException", err)
            self.assertIn("Requested resource not found", err)
            rc, out, err = self.tidepool.aws("dynamodb", "describe-table", "--table-name", "missing",
                                       cli=cli)
            self.assertIn("Requested resource not found: Table: missing not found", err)
        self.run_both(scenario)


class CliDataPlane(TidepoolTestCase):
    """The data-plane commands: update-item, query, scan (the CLI follows
    LastEvaluatedKey itself), batches and transactions."""

    def run_both(self, fn):
        Cli.run_both(self, fn)

    def test_data_plane_commands(self):
        def scenario(cli):
            def aws(*args):
                rc, out, err = self.tidepool.aws("dynamodb", *args, cli=cli)
                self.assertEqual(rc, 0, err)
                return out
            aws("create-table", "--table-name", "events",
                "--attribute-definitions", "AttributeName=pk,AttributeType=S",
                "AttributeName=sk,AttributeType=N",
                "--key-schema", "AttributeName=pk,KeyType=HASH", "AttributeName=sk,KeyType=RANGE",
                "--billing-mode", "PAY_PER_REQUEST")
            items = [{"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"N": str(i)}}}}
                     for i in range(25)]
            out = aws("batch-write-item", "--request-items", json.dumps({"events": items}))
            self.assertEqual(out["UnprocessedItems"], {})
            out = aws("update-item", "--table-name", "events",
                      "--key", json.dumps({"pk": {"S": "p"}, "sk": {"N": "3"}}),
                      "--update-expression", "ADD hits :one",
                      "--expression-attribute-values", json.dumps({":one": {"N": "1"}}),
                      "--return-values", "UPDATED_NEW")
            self.assertEqual(out["Attributes"], {"hits": {"N": "1"}})
            # --page-size makes the CLI page through LastEvaluatedKey.
            out = aws("query", "--table-name", "events",
                      "--key-condition-expression", "pk = :p AND sk BETWEEN :a AND :b",
                      "--expression-attribute-values",
                      json.dumps({":p": {"S": "p"}, ":a": {"N": "5"}, ":b": {"N": "14"}}),
                      "--page-size", "3")
            self.assertEqual([int(i["sk"]["N"]) for i in out["Items"]], list(range(5, 15)))
            out = aws("scan", "--table-name", "events", "--filter-expression", "hits = :one",
                      "--expression-attribute-values", json.dumps({":one": {"N": "1"}}))
            self.assertEqual(out["Count"], 1)
            self.assertEqual(out["ScannedCount"], 25)
            out = aws("batch-get-item", "--request-items", json.dumps(
                {"events": {"Keys": [{"pk": {"S": "p"}, "sk": {"N": "1"}},
                                     {"pk": {"S": "p"}, "sk": {"N": "99"}}]}}))
            self.assertEqual(len(out["Responses"]["events"]), 1)
            aws("transact-write-items", "--transact-items", json.dumps([
                {"Delete": {"TableName": "events", "Key": {"pk": {"S": "p"}, "sk": {"N": "0"}}}},
                {"Put": {"TableName": "events", "Item": {"pk": {"S": "q"}, "sk": {"N": "0"}},
                         "ConditionExpression": "attribute_not_exists(pk)"}}]))
            out = aws("transact-get-items", "--transact-items", json.dumps([
                {"Get": {"TableName": "events", "Key": {"pk": {"S": "q"}, "sk": {"N": "0"}}}},
                {"Get": {"TableName": "events", "Key": {"pk": {"S": "p"}, "sk": {"N": "0"}}}}]))
            self.assertEqual(out["Responses"][0]["Item"]["pk"], {"S": "q"})
            self.assertEqual(out["Responses"][1], {})
            rc, out, err = self.tidepool.aws(
                "dynamodb", "put-item", "--table-name", "events",
                "--item", json.dumps({"pk": {"S": "q"}, "sk": {"N": "0"}}),
                "--condition-expression", "attribute_not_exists(pk)", cli=cli)
            self.assertNotEqual(rc, 0)
            self.assertIn("ConditionalCheckFailedException", err)
            self.assertIn("The conditional request failed", err)
        self.run_both(scenario)


if __name__ == "__main__":
    unittest.main()
