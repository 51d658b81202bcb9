"""test_durability — with --data-dir, an acknowledged write survives kill -9.

32 clients write (PutItem, UpdateItem, TransactWriteItems over two keys)
to a table with a NEW_AND_OLD_IMAGES stream and an event source mapping
whose handler (sample.recorder, tests/integration/sample_handlers.c) counts
every stream record it is given into a second table, while another thread
moves the virtual clock so the mapping works during the load. When a fixed
number of writes has been acknowledged the server gets SIGKILL; it restarts
on the same data dir, the mapping drains, and the test checks:

- Items. Each client owns its keys, so the writes to one key are sequential
  and their order is the order the client sent them. Per key: every write
  that got HTTP 200 is a value in its history; the one write in flight at
  the kill (sent, no answer) may or may not have happened. The item must
  hold the last acknowledged value, or the in-flight one; nothing older,
  and it must exist once a write to it was acknowledged.
- Stream records: per key, the NewImage values of its stream records, in
  shard order, are exactly the acknowledged values in order (one record per
  write: none lost, none duplicated), followed by the in-flight value iff the
  item holds it (the record commits with the item).
- The mapping (at least once, as Lambda's own stream polling): every stream
  record was given to the handler at least once; none more than twice; the
  ones given twice are one batch redelivered after the restart, i.e. on each
  shard a run of consecutive records no longer than BatchSize (the batch the
  handler had been given, or had finished without its checkpoint being
  committed, when the process died).
"""
import os
import random
import shutil
import tempfile
import threading
import unittest

from tidepool import Tidepool

LIB = os.environ.get("TIDEPOOL_SAMPLE_HANDLERS", "")
ROLE = "arn:aws:iam::123456789012:role/r"
CLIENTS = 32
KEYS_PER_CLIENT = 4
KILL_AFTER_ACKS = 1500
BATCH_SIZE = 10
IDLE_MS = 30 * 60 * 1000


def zip_bytes():
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    return buf.getvalue()


def read_stream(ddbs, arn):
    """{shard id: [record, ...]} in shard order, parents listed first."""
    shards = ddbs.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    ids = {s["ShardId"] for s in shards}
    ordered, done = [], set()
    while len(ordered) < len(shards):
        for s in shards:
            parent = s.get("ParentShardId")
            if s["ShardId"] not in done and (not parent or parent not in ids or parent in done):
                ordered.append(s)
                done.add(s["ShardId"])
    out = {}
    for s in ordered:
        it = ddbs.get_shard_iterator(StreamArn=arn, ShardId=s["ShardId"],
                                     ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        recs = []
        while it:
            page = ddbs.get_records(ShardIterator=it, Limit=1000)
            if not page["Records"]:
                break
            recs += page["Records"]
            it = page.get("NextShardIterator")
        out[s["ShardId"]] = recs
    return out


def scan_all(ddb, table):
    items, kw = [], {}
    while True:
        page = ddb.scan(TableName=table, ConsistentRead=True, **kw)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@unittest.skipUnless(LIB and os.path.exists(LIB), "TIDEPOOL_SAMPLE_HANDLERS not built")
class KillNineUnderLoad(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tidepool-durable-")
        self.tp = Tidepool("--handlers", LIB, data_dir=self.dir)

    def tearDown(self):
        self.tp.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def set_up_pipeline(self):
        tp = self.tp
        ddb = tp.client()
        arn = ddb.create_table(
            TableName="load",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]
        ddb.create_table(
            TableName="seen",
            AttributeDefinitions=[{"AttributeName": "seq", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "seq", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")
        lam = tp.client("lambda")
        lam.create_function(FunctionName="recorder", Runtime="provided.al2023", Role=ROLE,
                            Handler="sample.recorder", Timeout=300, Code={"ZipFile": zip_bytes()},
                            Environment={"Variables": {"RECORD_TABLE": "seen"}})
        lam.create_event_source_mapping(FunctionName="recorder", EventSourceArn=arn,
                                        StartingPosition="TRIM_HORIZON", BatchSize=BATCH_SIZE)
        tp.control("POST", "clock", {"until_idle_ms": IDLE_MS})
        return arn

    def run_load(self):
        """Runs the clients until the kill; returns {key: [(value, acked)]}."""
        tp = self.tp
        lock = threading.Lock()
        history = {}
        acks = [0]
        killed = threading.Event()
        unexpected = []

        def bump():
            with lock:
                acks[0] += 1
                fire = acks[0] == KILL_AFTER_ACKS
            if fire:
                killed.set()
                tp.kill9()

        def client(c):
            rng = random.Random(c)
            ddb = tp.client(retries=1)
            keys = ["c%02d-k%d" % (c, k) for k in range(KEYS_PER_CLIENT)]
            for k in keys:
                history[k] = []
            n = 0
            while not killed.is_set():
                n += 1
                value = "c%02d-%06d" % (c, n)
                op = rng.choice(("put", "update", "transact"))
                if op == "transact":
                    touched = rng.sample(keys, 2)
                else:
                    touched = [rng.choice(keys)]
                for k in touched:
                    history[k].append([value, False])
                try:
                    if op == "put":
                        ddb.put_item(TableName="load", Item={"pk": {"S": touched[0]},
                                                             "v": {"S": value}})
                    elif op == "update":
                        ddb.update_item(TableName="load", Key={"pk": {"S": touched[0]}},
                                        UpdateExpression="SET v = :v",
                                        ExpressionAttributeValues={":v": {"S": value}})
                    else:
                        ddb.transact_write_items(TransactItems=[
                            {"Put": {"TableName": "load",
                                     "Item": {"pk": {"S": touched[0]}, "v": {"S": value}}}},
                            {"Update": {"TableName": "load", "Key": {"pk": {"S": touched[1]}},
                                        "UpdateExpression": "SET v = :v",
                                        "ExpressionAttributeValues": {":v": {"S": value}}}},
                        ])
                except Exception as e:  # the kill, or a bug
                    if not killed.is_set():
                        unexpected.append("%s %s: %r" % (op, touched, e))
                    return
                for k in touched:
                    history[k][-1][1] = True
                bump()

        def ticker():
            while not killed.is_set():
                try:
                    tp.control("POST", "clock", {"advance_ms": 250})
                except Exception:
                    return

        threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        threads.append(threading.Thread(target=ticker))
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertTrue(killed.is_set(), "the load ended before the kill")
        self.assertEqual(unexpected, [], "errors before the kill")
        self.assertFalse(tp.running)
        return history

    def test_acknowledged_writes_streams_and_checkpoints_survive_sigkill(self):
        tp = self.tp
        tp.start()
        arn = self.set_up_pipeline()
        history = self.run_load()

        tp.start()   # same data dir
        ddb = tp.client()
        items = {it["pk"]["S"]: it["v"]["S"] for it in scan_all(ddb, "load")}
        stream = read_stream(tp.client("dynamodbstreams"), arn)
        per_key = {}
        for recs in stream.values():
            for r in recs:
                k = r["dynamodb"]["Keys"]["pk"]["S"]
                per_key.setdefault(k, []).append(r["dynamodb"]["NewImage"]["v"]["S"])

        acked_total = 0
        for k, h in sorted(history.items()):
            acked = [v for v, ok in h if ok]
            pending = [v for v, ok in h if not ok]
            acked_total += len(acked)
            # at most one write per key is in flight, and it is the last one
            self.assertLessEqual(len(pending), 1, k)
            if pending:
                self.assertFalse(h[-1][1], k)
            allowed = ([acked[-1]] if acked else [None]) + pending
            self.assertIn(items.get(k), allowed, "key %s: item %r, acknowledged %r, in flight %r"
                          % (k, items.get(k), acked[-3:], pending))
            expect = acked + ([pending[0]] if pending and items.get(k) == pending[0] else [])
            self.assertEqual(per_key.get(k, []), expect, "stream records of %s" % k)
        self.assertGreaterEqual(acked_total, KILL_AFTER_ACKS)
        self.assertEqual(set(items) - set(history), set())

        # the mapping picks up where its checkpoint was and drains
        status, out = tp.control("POST", "clock", {"until_idle_ms": IDLE_MS})
        self.assertEqual(status, 200, out)
        seen = {it["seq"]["S"]: int(it["n"]["N"]) for it in scan_all(ddb, "seen")}
        all_seqs = [r["dynamodb"]["SequenceNumber"] for recs in stream.values() for r in recs]
        self.assertEqual(set(seen), set(all_seqs), "records given to the handler vs the stream")
        self.assertLessEqual(max(seen.values()), 2, "a record given to the handler 3+ times")
        for shard, recs in stream.items():
            twice = [i for i, r in enumerate(recs) if seen[r["dynamodb"]["SequenceNumber"]] == 2]
            if twice:
                self.assertEqual(twice, list(range(twice[0], twice[-1] + 1)),
                                 "redelivered records of %s are not one run" % shard)
                self.assertLessEqual(len(twice), BATCH_SIZE, "more than one batch redelivered")
        m = tp.client("lambda").list_event_source_mappings(FunctionName="recorder")
        self.assertEqual([e["State"] for e in m["EventSourceMappings"]], ["Enabled"])

    def test_sync_mode_is_reported_and_refused_in_memory(self):
        tp = Tidepool("--sync", data_dir=self.dir)
        tp.start()
        try:
            self.assertEqual(tp.health()["sync"], "full")
        finally:
            tp.close()
        tp = Tidepool(data_dir=self.dir)
        tp.start()
        try:
            self.assertEqual(tp.health()["sync"], "normal")
        finally:
            tp.close()
        import subprocess
        from tidepool import binary_path
        p = subprocess.run([binary_path(), "serve", "--sync"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--sync needs --data-dir", p.stderr.decode())


if __name__ == "__main__":
    unittest.main()
