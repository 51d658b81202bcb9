"""Secondary index upkeep through boto3: per-index ItemCount / IndexSizeBytes
after puts, overwrites that move an item between index keys, sparse items
and deletes; GSI backfill when UpdateTable creates an index; and
ReturnConsumedCapacity INDEXES for PutItem / DeleteItem.

Expected numbers follow AWS's documented rules, worked out by hand here:
- item size = attribute name bytes + value bytes; a String counts its UTF-8
  bytes, a Number 1 byte plus 1 per pair of significant digits ("5" -> 2);
- an index entry holds the projected item (table key + index key, plus
  INCLUDE's NonKeyAttributes, or everything for ALL); IndexSizeBytes sums
  them, ItemCount counts them; an item lacking an index key attribute is not
  in that index (sparse);
- write capacity: 1 WCU per started KB; per index, adding or removing an
  entry is 1 write, an index key change is a delete plus a put (2 writes),
  an unchanged entry costs nothing; TOTAL includes the index writes."""
import unittest

from tidepool import TidepoolTestCase


def S(name):
    return {"AttributeName": name, "AttributeType": "S"}


def N(name):
    return {"AttributeName": name, "AttributeType": "N"}


def HASH(name):
    return {"AttributeName": name, "KeyType": "HASH"}


def RANGE(name):
    return {"AttributeName": name, "KeyType": "RANGE"}


def create_indexed(ddb, name="tbl"):
    """pk S / sk N with:
    lsi      (pk, lsk S)   KEYS_ONLY
    gsi_all  (g S)         ALL
    gsi_inc  (g S, gr N)   INCLUDE extra
    gsi_keys (h2 N)        KEYS_ONLY"""
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[S("pk"), N("sk"), S("lsk"), S("g"), N("gr"), N("h2")],
        KeySchema=[HASH("pk"), RANGE("sk")],
        LocalSecondaryIndexes=[{"IndexName": "lsi", "KeySchema": [HASH("pk"), RANGE("lsk")],
                                "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        GlobalSecondaryIndexes=[
            {"IndexName": "gsi_all", "KeySchema": [HASH("g")], "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "gsi_inc", "KeySchema": [HASH("g"), RANGE("gr")],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["extra"]}},
            {"IndexName": "gsi_keys", "KeySchema": [HASH("h2")], "Projection": {"ProjectionType": "KEYS_ONLY"}},
        ],
        BillingMode="PAY_PER_REQUEST")


def stats(ddb, table="tbl"):
    t = ddb.describe_table(TableName=table)["Table"]
    out = {}
    for kind in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        for i in t.get(kind, []):
            out[i["IndexName"]] = (i["ItemCount"], i["IndexSizeBytes"])
    return out


# Item A: pk(2+1) sk(2+2) g(1+1) lsk(3+2) extra(5+1) other(5+4) = 29 bytes.
ITEM_A = {"pk": {"S": "a"}, "sk": {"N": "1"}, "g": {"S": "x"}, "lsk": {"S": "l1"},
          "extra": {"S": "e"}, "other": {"S": "zzzz"}}
A_SIZE = 29
A_LSI = 3 + 4 + 5             # pk, sk, lsk
# Item B: pk 3, sk 4, g 2, gr(2+2) 4, extra 6, h2(2+2) 4 = 23 bytes.
ITEM_B = {"pk": {"S": "b"}, "sk": {"N": "1"}, "g": {"S": "y"}, "gr": {"N": "5"},
          "extra": {"S": "e"}, "h2": {"N": "7"}}
B_SIZE = 23
B_INC = 3 + 4 + 2 + 4 + 6     # pk, sk, g, gr, extra
B_KEYS = 3 + 4 + 4            # pk, sk, h2


class IndexStats(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.client("dynamodb", retries=1)
        create_indexed(self.ddb)

    def test_new_table_indexes_are_empty(self):
        self.assertEqual(stats(self.ddb), {"lsi": (0, 0), "gsi_all": (0, 0), "gsi_inc": (0, 0),
                                           "gsi_keys": (0, 0)})

    def test_puts_overwrites_sparse_and_deletes(self):
        self.ddb.put_item(TableName="tbl", Item=ITEM_A)
        # A lacks gr (gsi_inc's range key) and h2: not in those indexes.
        self.assertEqual(stats(self.ddb), {"lsi": (1, A_LSI), "gsi_all": (1, A_SIZE), "gsi_inc": (0, 0),
                                           "gsi_keys": (0, 0)})
        self.ddb.put_item(TableName="tbl", Item=ITEM_B)
        # B lacks lsk: not in the LSI.
        self.assertEqual(stats(self.ddb), {"lsi": (1, A_LSI), "gsi_all": (2, A_SIZE + B_SIZE),
                                           "gsi_inc": (1, B_INC), "gsi_keys": (1, B_KEYS)})

        # Overwrite A: g moves x -> xx, lsk goes away. pk 3 sk 4 g(1+2) 3 other 9 = 19.
        a2 = {"pk": {"S": "a"}, "sk": {"N": "1"}, "g": {"S": "xx"}, "other": {"S": "zzzz"}}
        self.ddb.put_item(TableName="tbl", Item=a2)
        self.assertEqual(stats(self.ddb), {"lsi": (0, 0), "gsi_all": (2, 19 + B_SIZE),
                                           "gsi_inc": (1, B_INC), "gsi_keys": (1, B_KEYS)})

        # Same index keys, a bigger non-key attribute: the ALL entry grows by 4.
        a3 = dict(a2, other={"S": "zzzzzzzz"})
        self.ddb.put_item(TableName="tbl", Item=a3)
        self.assertEqual(stats(self.ddb)["gsi_all"], (2, 23 + B_SIZE))

        self.ddb.delete_item(TableName="tbl", Key={"pk": {"S": "b"}, "sk": {"N": "1"}})
        self.assertEqual(stats(self.ddb), {"lsi": (0, 0), "gsi_all": (1, 23), "gsi_inc": (0, 0),
                                           "gsi_keys": (0, 0)})
        self.ddb.delete_item(TableName="tbl", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
        self.assertEqual(stats(self.ddb), {"lsi": (0, 0), "gsi_all": (0, 0), "gsi_inc": (0, 0),
                                           "gsi_keys": (0, 0)})
        self.assertEqual(self.ddb.describe_table(TableName="tbl")["Table"]["ItemCount"], 0)

    def test_include_projects_only_named_attributes(self):
        # extra is projected, other and note are not: pk 3 sk 4 g 2 gr 4 extra 6 = 19.
        item = dict(ITEM_B, note={"S": "not projected"})
        del item["h2"]
        self.ddb.put_item(TableName="tbl", Item=item)
        self.assertEqual(stats(self.ddb)["gsi_inc"], (1, 19))

    def test_many_items_share_an_index_key(self):
        for i in range(5):
            self.ddb.put_item(TableName="tbl", Item={"pk": {"S": "p%d" % i}, "sk": {"N": "1"},
                                                    "h2": {"N": "7"}})
        # each: pk(2+2) 4, sk 4, h2 4 = 12
        self.assertEqual(stats(self.ddb)["gsi_keys"], (5, 60))

    def test_empty_string_index_key_is_rejected(self):
        item = dict(ITEM_A, g={"S": ""})
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="tbl", Item=item), "ValidationException",
            "One or more parameter values are not valid. A value specified for a secondary index key "
            "is not supported. The AttributeValue for a key attribute cannot contain an empty string "
            "value. IndexName: gsi_all, IndexKey: g")
        # Nothing was written.
        self.assertNotIn("Item", self.ddb.get_item(TableName="tbl", Key={"pk": {"S": "a"}, "sk": {"N": "1"}}))
        self.assertEqual(stats(self.ddb)["lsi"], (0, 0))


class IndexCapacity(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.client("dynamodb", retries=1)
        create_indexed(self.ddb)

    def cc(self, resp):
        c = resp["ConsumedCapacity"]
        self.assertEqual(c["TableName"], "tbl")
        out = {"total": c["CapacityUnits"]}
        if "Table" in c:
            out["table"] = c["Table"]["CapacityUnits"]
        for kind, key in (("LocalSecondaryIndexes", "lsi"), ("GlobalSecondaryIndexes", "gsi")):
            if kind in c:
                out[key] = {k: v["CapacityUnits"] for k, v in c[kind].items()}
        return out

    def put(self, item, mode="INDEXES"):
        return self.cc(self.ddb.put_item(TableName="tbl", Item=item, ReturnConsumedCapacity=mode))

    def test_new_item_writes_each_index_it_belongs_to(self):
        # Table 1, LSI 1, gsi_all 1; not in gsi_inc / gsi_keys: no charge there.
        self.assertEqual(self.put(ITEM_A), {"total": 3.0, "table": 1.0, "lsi": {"lsi": 1.0},
                                            "gsi": {"gsi_all": 1.0}})
        self.assertEqual(self.put(ITEM_B), {"total": 4.0, "table": 1.0,
                                            "gsi": {"gsi_all": 1.0, "gsi_inc": 1.0, "gsi_keys": 1.0}})

    def test_index_key_change_is_a_delete_and_a_put(self):
        self.put(ITEM_A)
        moved = dict(ITEM_A, g={"S": "xx"})
        # gsi_all: delete x + put xx = 2; the LSI entry (keys only) is unchanged: no write.
        self.assertEqual(self.put(moved), {"total": 3.0, "table": 1.0, "gsi": {"gsi_all": 2.0}})

    def test_unchanged_entries_cost_nothing(self):
        self.put(ITEM_A)
        self.assertEqual(self.put(ITEM_A), {"total": 1.0, "table": 1.0})

    def test_projected_attribute_change_is_one_write(self):
        self.put(ITEM_A)
        changed = dict(ITEM_A, other={"S": "changed"})
        # gsi_all projects everything: 1 write; the LSI projects keys only: none.
        self.assertEqual(self.put(changed), {"total": 2.0, "table": 1.0, "gsi": {"gsi_all": 1.0}})

    def test_removing_an_index_key_is_one_write(self):
        self.put(ITEM_A)
        gone = {k: v for k, v in ITEM_A.items() if k != "lsk"}
        # LSI entry deleted (1); gsi_all entry rewritten without lsk (1).
        self.assertEqual(self.put(gone), {"total": 3.0, "table": 1.0, "lsi": {"lsi": 1.0},
                                          "gsi": {"gsi_all": 1.0}})

    def test_index_writes_are_charged_per_kb_of_the_projected_entry(self):
        big = dict(ITEM_B, extra={"S": "e" * 2000})
        # item: 23 - 1 + 2000 = 2022 bytes -> 2 WCU; gsi_all (ALL) 2; gsi_inc projects
        # extra: 18 + 2000 = 2018 -> 2; gsi_keys: 11 bytes -> 1.
        self.assertEqual(self.put(big), {"total": 7.0, "table": 2.0,
                                         "gsi": {"gsi_all": 2.0, "gsi_inc": 2.0, "gsi_keys": 1.0}})
        r = self.ddb.delete_item(TableName="tbl", Key={"pk": {"S": "b"}, "sk": {"N": "1"}},
                                 ReturnConsumedCapacity="INDEXES")
        self.assertEqual(self.cc(r), {"total": 7.0, "table": 2.0,
                                      "gsi": {"gsi_all": 2.0, "gsi_inc": 2.0, "gsi_keys": 1.0}})

    def test_total_includes_index_writes(self):
        self.assertEqual(self.put(ITEM_A, mode="TOTAL"), {"total": 3.0})
        r = self.ddb.delete_item(TableName="tbl", Key={"pk": {"S": "a"}, "sk": {"N": "1"}},
                                 ReturnConsumedCapacity="TOTAL")
        self.assertEqual(self.cc(r), {"total": 3.0})

    def test_deleting_a_missing_item_writes_no_index(self):
        r = self.ddb.delete_item(TableName="tbl", Key={"pk": {"S": "zz"}, "sk": {"N": "1"}},
                                 ReturnConsumedCapacity="INDEXES")
        self.assertEqual(self.cc(r), {"total": 1.0, "table": 1.0})

    def test_none_adds_nothing(self):
        r = self.ddb.put_item(TableName="tbl", Item=ITEM_A, ReturnConsumedCapacity="NONE")
        self.assertNotIn("ConsumedCapacity", r)


class Backfill(TidepoolTestCase):
    tidepool_kwargs = {"config": {"dynamodb": {"update_delay_ms": 5000}}}

    def setUp(self):
        super().setUp()
        self.ddb = self.client("dynamodb", retries=1)
        self.ddb.create_table(TableName="tbl", AttributeDefinitions=[S("pk")], KeySchema=[HASH("pk")],
                              BillingMode="PAY_PER_REQUEST")
        # two items with c (pk(2+1) 3 + c(1+1) 2 = 5 bytes as keys only), one without
        self.ddb.put_item(TableName="tbl", Item={"pk": {"S": "a"}, "c": {"S": "x"}, "v": {"S": "vvv"}})
        self.ddb.put_item(TableName="tbl", Item={"pk": {"S": "b"}, "c": {"S": "y"}})
        self.ddb.put_item(TableName="tbl", Item={"pk": {"S": "n"}, "v": {"S": "no c"}})

    def create_gsi(self, name="byc"):
        return self.ddb.update_table(
            TableName="tbl", AttributeDefinitions=[S("c")],
            GlobalSecondaryIndexUpdates=[{"Create": {
                "IndexName": name, "KeySchema": [HASH("c")],
                "Projection": {"ProjectionType": "KEYS_ONLY"}}}])["TableDescription"]

    def gsi(self):
        gs = self.ddb.describe_table(TableName="tbl")["Table"].get("GlobalSecondaryIndexes", [])
        return gs[0] if gs else None

    def test_create_backfills_when_it_turns_active(self):
        td = self.create_gsi()
        g = td["GlobalSecondaryIndexes"][0]
        self.assertEqual((g["IndexStatus"], g["Backfilling"], g["ItemCount"]), ("CREATING", False, 0))
        g = self.gsi()
        self.assertEqual((g["IndexStatus"], g["ItemCount"], g["IndexSizeBytes"]), ("CREATING", 0, 0))
        # Writes while the index is being created are picked up by the backfill.
        self.ddb.put_item(TableName="tbl", Item={"pk": {"S": "c"}, "c": {"S": "z"}})
        self.ddb.delete_item(TableName="tbl", Key={"pk": {"S": "b"}})
        self.tidepool.advance(5000)
        g = self.gsi()
        self.assertEqual(g["IndexStatus"], "ACTIVE")
        self.assertNotIn("Backfilling", g)
        self.assertEqual((g["ItemCount"], g["IndexSizeBytes"]), (2, 10))
        # An ACTIVE index follows writes.
        self.ddb.put_item(TableName="tbl", Item={"pk": {"S": "n"}, "c": {"S": "now"}})
        g = self.gsi()
        self.assertEqual((g["ItemCount"], g["IndexSizeBytes"]), (3, 17))   # + pk 3, c(1+3) 4

    def test_index_writes_start_once_active(self):
        self.create_gsi()
        r = self.ddb.put_item(TableName="tbl", Item={"pk": {"S": "c"}, "c": {"S": "z"}},
                              ReturnConsumedCapacity="INDEXES")
        self.assertNotIn("GlobalSecondaryIndexes", r["ConsumedCapacity"])
        self.tidepool.advance(5000)
        r = self.ddb.put_item(TableName="tbl", Item={"pk": {"S": "d"}, "c": {"S": "z"}},
                              ReturnConsumedCapacity="INDEXES")
        self.assertEqual(r["ConsumedCapacity"]["GlobalSecondaryIndexes"], {"byc": {"CapacityUnits": 1.0}})

    def test_delete_gsi_then_recreate(self):
        self.create_gsi()
        self.tidepool.advance(5000)
        self.assertEqual(self.gsi()["ItemCount"], 2)
        self.ddb.update_table(TableName="tbl", GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "byc"}}])
        self.tidepool.advance(5000)
        self.assertIsNone(self.gsi())
        self.ddb.delete_item(TableName="tbl", Key={"pk": {"S": "a"}})
        self.create_gsi()
        self.tidepool.advance(5000)
        g = self.gsi()
        self.assertEqual((g["IndexStatus"], g["ItemCount"], g["IndexSizeBytes"]), ("ACTIVE", 1, 5))

    def test_delete_table_and_recreate_starts_empty(self):
        create_indexed(self.ddb, "idx")
        self.ddb.put_item(TableName="idx", Item=ITEM_A)
        self.tidepool.advance(5000)
        self.ddb.delete_table(TableName="idx")
        self.tidepool.advance(5000)
        create_indexed(self.ddb, "idx")
        self.tidepool.advance(5000)
        self.assertEqual(stats(self.ddb, "idx"), {"lsi": (0, 0), "gsi_all": (0, 0), "gsi_inc": (0, 0),
                                                  "gsi_keys": (0, 0)})


if __name__ == "__main__":
    unittest.main()
