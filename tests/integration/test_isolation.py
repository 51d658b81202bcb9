"""Each access key is its own account, each region its own namespace: two
test suites sharing one tidepool never see each other's tables."""
import unittest

from tidepool import TidepoolTestCase


def create(ddb, name):
    return ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST")["TableDescription"]


class Isolation(TidepoolTestCase):
    def test_access_keys_are_separate_accounts(self):
        a = self.tidepool.client("dynamodb", access_key="AKIDSUITEA", retries=1)
        b = self.tidepool.client("dynamodb", access_key="AKIDSUITEB", retries=1)
        da = create(a, "shared-name")
        self.assertEqual(b.list_tables()["TableNames"], [])
        db = create(b, "shared-name")   # same name, no ResourceInUseException
        self.assertNotEqual(da["TableArn"], db["TableArn"])
        a.put_item(TableName="shared-name", Item={"k": {"S": "1"}, "owner": {"S": "a"}})
        b.put_item(TableName="shared-name", Item={"k": {"S": "1"}, "owner": {"S": "b"}})
        self.assertEqual(a.get_item(TableName="shared-name", Key={"k": {"S": "1"}})["Item"]["owner"],
                         {"S": "a"})
        self.assertEqual(b.get_item(TableName="shared-name", Key={"k": {"S": "1"}})["Item"]["owner"],
                         {"S": "b"})
        a.delete_table(TableName="shared-name")
        self.assertEqual(b.list_tables()["TableNames"], ["shared-name"])

    def test_twelve_digit_key_is_the_account_id(self):
        c = self.tidepool.client("dynamodb", access_key="123456789012")
        arn = create(c, "acct")["TableArn"]
        self.assertEqual(arn, "arn:aws:dynamodb:us-east-1:123456789012:table/acct")

    def test_regions_are_separate(self):
        east = self.tidepool.client("dynamodb", access_key="AKIDREG", region="us-east-1")
        west = self.tidepool.client("dynamodb", access_key="AKIDREG", region="eu-west-1")
        arn = create(west, "regional")["TableArn"]
        self.assertTrue(arn.startswith("arn:aws:dynamodb:eu-west-1:"))
        self.assertEqual(east.list_tables()["TableNames"], [])
        self.assertEqual(west.list_tables()["TableNames"], ["regional"])

    def test_reset_clears_every_account(self):
        a = self.tidepool.client("dynamodb", access_key="AKIDR1")
        b = self.tidepool.client("dynamodb", access_key="AKIDR2")
        create(a, "table1")
        create(b, "table2")
        self.tidepool.reset()
        self.assertEqual(a.list_tables()["TableNames"], [])
        self.assertEqual(b.list_tables()["TableNames"], [])


if __name__ == "__main__":
    unittest.main()
