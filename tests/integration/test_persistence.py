"""--data-dir keeps state across restarts: a kill -9 loses no acknowledged
write, and SIGTERM shuts down cleanly."""
import shutil
import tempfile
import unittest

from tidepool import Tidepool


def create(ddb):
    ddb.create_table(
        TableName="durable",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST")


class Persistence(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tidepool-data-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_kill9_keeps_every_acknowledged_write(self):
        tp = Tidepool(data_dir=self.dir)
        tp.start()
        try:
            ddb = tp.client("dynamodb")
            create(ddb)
            for i in range(200):
                ddb.put_item(TableName="durable", Item={"k": {"S": f"item{i}"}, "n": {"N": str(i)}})
            ddb.delete_item(TableName="durable", Key={"k": {"S": "item7"}})
        finally:
            tp.kill9()
        tp = Tidepool(data_dir=self.dir)
        tp.start()
        try:
            ddb = tp.client("dynamodb")
            self.assertEqual(ddb.list_tables()["TableNames"], ["durable"])
            desc = ddb.describe_table(TableName="durable")["Table"]
            self.assertEqual(desc["ItemCount"], 199)
            for i in (0, 100, 199):
                got = ddb.get_item(TableName="durable", Key={"k": {"S": f"item{i}"}})["Item"]
                self.assertEqual(got["n"], {"N": str(i)})
            self.assertNotIn("Item", ddb.get_item(TableName="durable", Key={"k": {"S": "item7"}}))
        finally:
            tp.stop()

    def test_sigterm_then_restart(self):
        tp = Tidepool(data_dir=self.dir)
        tp.start()
        create(tp.client("dynamodb"))
        tp.client("dynamodb").put_item(TableName="durable", Item={"k": {"S": "x"}})
        self.assertEqual(tp.stop(), 0)
        tp = Tidepool(data_dir=self.dir)
        tp.start()
        try:
            got = tp.client("dynamodb").get_item(TableName="durable", Key={"k": {"S": "x"}})
            self.assertIn("Item", got)
        finally:
            tp.stop()

    def test_in_memory_starts_empty(self):
        tp = Tidepool()
        tp.start()
        try:
            st, health = tp.control("GET", "/_tidepool/health")
            self.assertEqual(health["storage"], ":memory:")
            self.assertEqual(tp.client("dynamodb").list_tables()["TableNames"], [])
        finally:
            tp.stop()


if __name__ == "__main__":
    unittest.main()
