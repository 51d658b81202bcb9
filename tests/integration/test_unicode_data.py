"""Data survives byte for byte: every class of code point — U+0000, the
other C0 controls, U+007F, multi-byte and non-BMP characters — round-trips
through keys, values, attribute names, sets, nested documents, expressions,
batches, transactions, Query order, stream records and handler events.

DynamoDB orders strings by their UTF-8 bytes, so U+0000 sorts before every
other character, and sizes count U+0000 as one byte."""
import json
import unittest

from tidepool import TidepoolTestCase

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/tidepool"

# One value per code point class, and mixes of them.
VALUES = [
    "\x00",
    "a\x00b",
    "a\x00",
    "\x00\x00\x00",
    "".join(chr(c) for c in range(1, 0x20)),
    "del\x7f",
    "h\u00e9llo \u4e16\u754c",
    "\U0001F600 emoji \U00010348",
    "mix\x00\x01\x7f\U0001F600\u00e9",
    "back\\slash \"quote\" \\u0000 literal",
]
# Attribute names DynamoDB allows: any UTF-8, control characters included.
NAMES = ["n\x00ul", "ctl\x01\x1f", "del\x7f", "\U0001F600", "tab\tnl\n"]


def utf8_len(s):
    return len(s.encode("utf-8"))


class UnicodeData(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.client("dynamodb", retries=1, region=REGION)
        self.ddb.create_table(
            TableName="texts",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})

    def item(self, v, i=0):
        it = {"pk": {"S": "p" + v}, "sk": {"S": v}, "v": {"S": v},
              "ss": {"SS": [v, v + "!"]},
              "m": {"M": {v: {"S": v}, "l": {"L": [{"S": v}, {"M": {"deep": {"S": v}}}]}}},
              "nul": {"S": "\x00"}}
        for n in NAMES:
            it[n] = {"S": v}
        return it

    def test_values_keys_and_names_round_trip(self):
        for v in VALUES:
            it = self.item(v)
            self.ddb.put_item(TableName="texts", Item=it)
            got = self.ddb.get_item(TableName="texts", Key={"pk": it["pk"], "sk": it["sk"]},
                                    ConsistentRead=True).get("Item")
            self.assertIsNotNone(got, repr(v))
            self.assertEqual(got["v"], {"S": v})
            self.assertEqual(sorted(got["ss"]["SS"]), sorted([v, v + "!"]))
            self.assertEqual(got["m"], it["m"])
            for n in NAMES:
                self.assertEqual(got[n], {"S": v}, repr(n))
            self.assertEqual(got, it)

    def test_strings_differing_only_after_a_nul_are_different(self):
        # Cut at the NUL, these three would be one key and "a" twice in a set.
        for v in ["a", "a\x00", "a\x00b"]:
            self.ddb.put_item(TableName="texts", Item={"pk": {"S": "k"}, "sk": {"S": v},
                                                       "set": {"SS": ["a", "a\x00", "a\x00b"]}})
        items = self.ddb.query(TableName="texts", KeyConditionExpression="pk = :p",
                               ExpressionAttributeValues={":p": {"S": "k"}})["Items"]
        self.assertEqual([x["sk"]["S"] for x in items], ["a", "a\x00", "a\x00b"])
        self.assertEqual(sorted(items[0]["set"]["SS"]), ["a", "a\x00", "a\x00b"])

    def test_query_orders_by_utf8_bytes_with_nul_first(self):
        sks = ["b", "\x00", "a\x00", "a", "\x01", "\x7f", "\u00e9", "\U0001F600", "a\x00\x00"]
        for s in sks:
            self.ddb.put_item(TableName="texts", Item={"pk": {"S": "o"}, "sk": {"S": s}})
        want = sorted(sks, key=lambda s: s.encode("utf-8"))
        got = [x["sk"]["S"] for x in self.ddb.query(
            TableName="texts", KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "o"}})["Items"]]
        self.assertEqual(got, want)
        back = [x["sk"]["S"] for x in self.ddb.query(
            TableName="texts", KeyConditionExpression="pk = :p", ScanIndexForward=False,
            ExpressionAttributeValues={":p": {"S": "o"}})["Items"]]
        self.assertEqual(back, want[::-1])
        # Key conditions on strings holding NULs.
        pre = [x["sk"]["S"] for x in self.ddb.query(
            TableName="texts", KeyConditionExpression="pk = :p AND begins_with(sk, :b)",
            ExpressionAttributeValues={":p": {"S": "o"}, ":b": {"S": "a\x00"}})["Items"]]
        self.assertEqual(pre, ["a\x00", "a\x00\x00"])
        lt = [x["sk"]["S"] for x in self.ddb.query(
            TableName="texts", KeyConditionExpression="pk = :p AND sk < :b",
            ExpressionAttributeValues={":p": {"S": "o"}, ":b": {"S": "\x01"}})["Items"]]
        self.assertEqual(lt, ["\x00"])
        # Paging: LastEvaluatedKey carries the NUL back intact.
        seen, start = [], None
        while True:
            kw = dict(TableName="texts", KeyConditionExpression="pk = :p", Limit=2,
                      ExpressionAttributeValues={":p": {"S": "o"}})
            if start:
                kw["ExclusiveStartKey"] = start
            r = self.ddb.query(**kw)
            seen += [x["sk"]["S"] for x in r["Items"]]
            start = r.get("LastEvaluatedKey")
            if not start:
                break
        self.assertEqual(seen, want)

    def test_conditions_compare_sizes_and_search_the_real_bytes(self):
        key = {"pk": {"S": "c"}, "sk": {"S": "c"}}
        self.ddb.put_item(TableName="texts", Item={**key, "v": {"S": "a\x00b"}, NAMES[0]: {"S": "x"}})

        def holds(expr, values=None, names=None):
            kw = dict(TableName="texts", Key=key, UpdateExpression="SET touched = :one",
                      ConditionExpression=expr,
                      ExpressionAttributeValues={":one": {"N": "1"}, **(values or {})})
            if names:
                kw["ExpressionAttributeNames"] = names
            try:
                self.ddb.update_item(**kw)
                return True
            except self.ddb.exceptions.ConditionalCheckFailedException:
                return False

        self.assertTrue(holds("size(v) = :three", {":three": {"N": "3"}}))
        self.assertTrue(holds("v = :x", {":x": {"S": "a\x00b"}}))
        self.assertFalse(holds("v = :x", {":x": {"S": "a"}}))
        self.assertTrue(holds("v < :x", {":x": {"S": "a\x01"}}))      # 0x00 < 0x01
        self.assertFalse(holds("v > :x", {":x": {"S": "a\x01"}}))
        self.assertTrue(holds("v > :x", {":x": {"S": "a"}}))
        self.assertTrue(holds("begins_with(v, :x)", {":x": {"S": "a\x00"}}))
        self.assertFalse(holds("begins_with(v, :x)", {":x": {"S": "a\x01"}}))
        self.assertTrue(holds("contains(v, :x)", {":x": {"S": "\x00b"}}))
        self.assertFalse(holds("contains(v, :x)", {":x": {"S": "\x00c"}}))
        self.assertTrue(holds("attribute_exists(#n)", names={"#n": NAMES[0]}))
        self.assertFalse(holds("attribute_exists(#n)", names={"#n": "n"}))

    def test_update_expressions_write_names_and_values_with_control_characters(self):
        key = {"pk": {"S": "u"}, "sk": {"S": "u\x00"}}
        names = {"#a": "a\x00z", "#b": "ctl\x01", "#m": "m\x7f"}
        self.ddb.update_item(
            TableName="texts", Key=key,
            UpdateExpression="SET #a = :v, #b = :w, #m = :m ADD st :s",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={":v": {"S": "\x00"}, ":w": {"S": "x\x1fy"},
                                       ":m": {"M": {"k\x00": {"S": "v\x00"}}},
                                       ":s": {"SS": ["\x00", "\x00\x00"]}})
        r = self.ddb.update_item(
            TableName="texts", Key=key, UpdateExpression="SET #m.#k = :n REMOVE #b",
            ExpressionAttributeNames={"#m": "m\x7f", "#k": "k\x00", "#b": "ctl\x01"},
            ExpressionAttributeValues={":n": {"S": "\U0001F600\x00"}}, ReturnValues="ALL_NEW")
        got = r["Attributes"]
        self.assertEqual(got["a\x00z"], {"S": "\x00"})
        self.assertNotIn("ctl\x01", got)
        self.assertEqual(got["m\x7f"], {"M": {"k\x00": {"S": "\U0001F600\x00"}}})
        self.assertEqual(sorted(got["st"]["SS"]), ["\x00", "\x00\x00"])
        p = self.ddb.get_item(TableName="texts", Key=key, ProjectionExpression="#a, #m.#k",
                              ExpressionAttributeNames={"#a": "a\x00z", "#m": "m\x7f", "#k": "k\x00"})
        self.assertEqual(p["Item"], {"a\x00z": {"S": "\x00"},
                                     "m\x7f": {"M": {"k\x00": {"S": "\U0001F600\x00"}}}})

    def test_batches_transactions_and_scan(self):
        puts = [{"PutRequest": {"Item": self.item(v)}} for v in VALUES]
        self.ddb.batch_write_item(RequestItems={"texts": puts})
        keys = [{"pk": {"S": "p" + v}, "sk": {"S": v}} for v in VALUES]
        got = self.ddb.batch_get_item(RequestItems={"texts": {"Keys": keys}})["Responses"]["texts"]
        self.assertEqual(sorted(g["v"]["S"] for g in got), sorted(VALUES))
        self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "texts", "Item": {"pk": {"S": "t"}, "sk": {"S": "\x00"},
                                                    "v": {"S": "t\x00x"}}}},
            {"Update": {"TableName": "texts", "Key": keys[0],
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"S": "upd\x00"}}}}])
        tg = self.ddb.transact_get_items(TransactItems=[
            {"Get": {"TableName": "texts", "Key": {"pk": {"S": "t"}, "sk": {"S": "\x00"}}}},
            {"Get": {"TableName": "texts", "Key": keys[0]}}])["Responses"]
        self.assertEqual(tg[0]["Item"]["v"], {"S": "t\x00x"})
        self.assertEqual(tg[1]["Item"]["v"], {"S": "upd\x00"})
        scanned = self.ddb.scan(TableName="texts", FilterExpression="contains(v, :z)",
                                ExpressionAttributeValues={":z": {"S": "\x00"}})["Items"]
        want = sorted(v for v in VALUES if "\x00" in v and v != VALUES[0]) + ["t\x00x", "upd\x00"]
        self.assertEqual(sorted(s["v"]["S"] for s in scanned), sorted(want))

    def test_sizes_count_a_nul_as_one_byte(self):
        # A 2048-byte hash key made of NULs is the limit, one more is refused.
        ok = "\x00" * 2048
        self.ddb.put_item(TableName="texts", Item={"pk": {"S": ok}, "sk": {"S": "s"}})
        self.assertEqual(self.ddb.get_item(TableName="texts", Key={"pk": {"S": ok}, "sk": {"S": "s"}})
                         ["Item"]["pk"]["S"], ok)
        self.assertAwsError(
            lambda: self.ddb.put_item(TableName="texts",
                                      Item={"pk": {"S": ok + "\x00"}, "sk": {"S": "s"}}),
            "ValidationException",
            "One or more parameter values were invalid: Size of hashkey has exceeded the "
            "maximum size limit of2048 bytes")
        # NULs that bring the item to exactly 1 KB cost one write capacity unit ...
        fixed = utf8_len("pk") + utf8_len("x") + utf8_len("sk") + utf8_len("1") + utf8_len("v")
        filler = 1024 - fixed
        r = self.ddb.put_item(TableName="texts", ReturnConsumedCapacity="TOTAL",
                              Item={"pk": {"S": "x"}, "sk": {"S": "1"}, "v": {"S": "\x00" * filler}})
        self.assertEqual(r["ConsumedCapacity"]["CapacityUnits"], 1.0)
        # ... and one more byte needs two.
        r = self.ddb.put_item(TableName="texts", ReturnConsumedCapacity="TOTAL",
                              Item={"pk": {"S": "x"}, "sk": {"S": "2"},
                                    "v": {"S": "\x00" * (filler + 1)}})
        self.assertEqual(r["ConsumedCapacity"]["CapacityUnits"], 2.0)

    def test_stream_records_carry_the_bytes(self):
        v = VALUES[8]
        self.ddb.put_item(TableName="texts", Item=self.item(v))
        streams = self.client("dynamodbstreams", retries=1, region=REGION)
        arn = self.ddb.describe_table(TableName="texts")["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        recs = streams.get_records(ShardIterator=it)["Records"]
        self.assertEqual(len(recs), 1)
        img = recs[0]["dynamodb"]["NewImage"]
        self.assertEqual(img, self.item(v))
        self.assertEqual(recs[0]["dynamodb"]["Keys"], {"pk": {"S": "p" + v}, "sk": {"S": v}})

    def test_handler_events_carry_the_bytes(self):
        lam = self.client("lambda", retries=1, region=REGION)
        import io
        import zipfile
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("bootstrap", "")
        lam.create_function(FunctionName="echo-fn", Runtime="provided.al2023", Role=ROLE,
                            Handler="echo", Code={"ZipFile": buf.getvalue()})
        arn = self.ddb.describe_table(TableName="texts")["Table"]["LatestStreamArn"]
        lam.create_event_source_mapping(FunctionName="echo-fn", EventSourceArn=arn,
                                        StartingPosition="TRIM_HORIZON")
        status, out = self.tidepool.control("POST", "clock", {"until_idle_ms": 60000})
        self.assertEqual(status, 200, out)
        v = VALUES[8]
        self.ddb.put_item(TableName="texts", Item=self.item(v))
        status, out = self.tidepool.control("POST", "clock", {"until_idle_ms": 60000})
        self.assertEqual(status, 200, out)
        status, out = self.tidepool.control("GET", "/_tidepool/invocations?function=echo-fn")
        self.assertEqual(status, 200, out)
        inv = out["invocations"][-1]
        rec = inv["event"]["Records"][0]
        self.assertEqual(rec["dynamodb"]["NewImage"], self.item(v))
        # echo answers with the event text it got: the handler saw the same bytes.
        self.assertEqual(inv["response"], inv["event"])
        # Invoke with a payload holding a NUL answers it back intact.
        payload = json.dumps({"s": "a\x00b", "n\x00": ["\x01"]}).encode()
        r = lam.invoke(FunctionName="echo-fn", Payload=payload)
        self.assertEqual(json.loads(r["Payload"].read()), {"s": "a\x00b", "n\x00": ["\x01"]})

    def test_raw_nul_and_forged_markers_are_refused(self):
        # JSON text may not hold a raw NUL byte, nor the overlong C0 80 form.
        for body in (b'{"TableName":"texts","Key":{"pk":{"S":"a\x00"},"sk":{"S":"b"}}}',
                     b'{"TableName":"texts","Key":{"pk":{"S":"a\xc0\x80"},"sk":{"S":"b"}}}'):
            status, _, data = self.tidepool.ddb_raw("GetItem", body)
            self.assertEqual(status, 400, data)
            self.assertTrue(data["__type"].endswith("#SerializationException"), data)


if __name__ == "__main__":
    unittest.main()
