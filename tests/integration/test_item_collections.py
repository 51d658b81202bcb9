"""Item collections on tables with local secondary indexes: the metrics
writes report with ReturnItemCollectionMetrics SIZE, and the size limit
(10 GB on AWS; lowered here through the config so a test can reach it)."""
import unittest

from tidepool import TidepoolTestCase

LIMIT = 2000


def create(ddb, name, lsi=True):
    kw = {}
    if lsi:
        kw["LocalSecondaryIndexes"] = [{
            "IndexName": "by_score",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "score", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}}]
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"},
                              {"AttributeName": "score", "AttributeType": "N"}] if lsi else
                             [{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST", **kw)


def item(pk, sk, pad=10):
    return {"pk": {"S": pk}, "sk": {"S": sk}, "score": {"N": "1"}, "pad": {"S": "x" * pad}}


class ItemCollections(TidepoolTestCase):
    tidepool_kwargs = {"config": {"dynamodb": {"item_collection_limit_bytes": LIMIT}}}

    def setUp(self):
        super().setUp()
        self.ddb = self.tidepool.client("dynamodb", retries=1)
        create(self.ddb, "withlsi")
        create(self.ddb, "nolsi", lsi=False)

    def test_metrics_on_every_single_item_write(self):
        want = {"ItemCollectionKey": {"pk": {"S": "a"}}, "SizeEstimateRangeGB": [0.0, 1.0]}
        r = self.ddb.put_item(TableName="withlsi", Item=item("a", "1"),
                              ReturnItemCollectionMetrics="SIZE")
        self.assertEqual(r["ItemCollectionMetrics"], want)
        r = self.ddb.update_item(TableName="withlsi", Key={"pk": {"S": "a"}, "sk": {"S": "1"}},
                                 UpdateExpression="SET n = :n",
                                 ExpressionAttributeValues={":n": {"N": "2"}},
                                 ReturnItemCollectionMetrics="SIZE")
        self.assertEqual(r["ItemCollectionMetrics"], want)
        r = self.ddb.delete_item(TableName="withlsi", Key={"pk": {"S": "a"}, "sk": {"S": "1"}},
                                 ReturnItemCollectionMetrics="SIZE")
        self.assertEqual(r["ItemCollectionMetrics"], want)
        # Not asked for, or no LSI: no metrics.
        r = self.ddb.put_item(TableName="withlsi", Item=item("a", "2"))
        self.assertNotIn("ItemCollectionMetrics", r)
        r = self.ddb.put_item(TableName="nolsi", Item={"pk": {"S": "a"}, "sk": {"S": "1"}},
                              ReturnItemCollectionMetrics="SIZE")
        self.assertNotIn("ItemCollectionMetrics", r)

    def test_batch_write_lists_collections_per_table(self):
        r = self.ddb.batch_write_item(RequestItems={
            "withlsi": [{"PutRequest": {"Item": item("a", "1")}},
                        {"PutRequest": {"Item": item("b", "1")}}],
            "nolsi": [{"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"S": "1"}}}}]},
            ReturnItemCollectionMetrics="SIZE")
        metrics = r["ItemCollectionMetrics"]
        self.assertEqual(list(metrics), ["withlsi"])
        keys = sorted(m["ItemCollectionKey"]["pk"]["S"] for m in metrics["withlsi"])
        self.assertEqual(keys, ["a", "b"])

    def test_collection_size_limit(self):
        # Each item is about 400 bytes and is stored twice (table + ALL-projected LSI).
        for i in range(2):
            self.ddb.put_item(TableName="withlsi", Item=item("big", str(i), pad=400))
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="withlsi", Item=item("big", "9", pad=400)),
            "ItemCollectionSizeLimitExceededException")
        # Nothing of the refused write stayed; other partitions still take writes.
        got = self.ddb.get_item(TableName="withlsi", Key={"pk": {"S": "big"}, "sk": {"S": "9"}})
        self.assertNotIn("Item", got)
        self.ddb.put_item(TableName="withlsi", Item=item("small", "1", pad=400))
        # Shrinking the collection makes room again.
        self.ddb.delete_item(TableName="withlsi", Key={"pk": {"S": "big"}, "sk": {"S": "0"}})
        self.ddb.put_item(TableName="withlsi", Item=item("big", "9", pad=400))
        # Tables without LSIs have no item-collection limit.
        for i in range(6):
            self.ddb.put_item(TableName="nolsi", Item={"pk": {"S": "big"}, "sk": {"S": str(i)},
                                                       "pad": {"S": "x" * 400}})


if __name__ == "__main__":
    unittest.main()
