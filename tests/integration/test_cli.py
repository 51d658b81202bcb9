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


if __name__ == "__main__":
    unittest.main()
