"""A DynamoDB stream -> event source mapping -> function pipeline end to end,
through real clients (boto3's `dynamodb` and `lambda` clients, the AWS CLI
v2), on the virtual clock.

What AWS does, and what these tests hold tidepool to:

- The event a stream handler gets is Lambda's DynamoDB-stream event, shaped
  exactly like a real one (seeds/000, a CloudWatch log of a NEW_IMAGE
  quotes table): {"Records": [...]} where each record has, in this order,
  eventID (32 hex digits), eventName, eventVersion "1.1", eventSource
  "aws:dynamodb", awsRegion, dynamodb {ApproximateCreationDateTime (whole
  seconds), Keys, NewImage, SequenceNumber (digits), SizeBytes,
  StreamViewType} and eventSourceARN (the table's LatestStreamArn). The
  seed's SizeBytes (43 for CEI, 45 for DWAC) are DynamoDB's item-size rule
  applied to Keys + NewImage; the tests compute them.
- A batch is at most BatchSize records, in stream order.
- A function error makes the mapping retry the same batch (the same
  records, the same eventIDs) until it succeeds or MaximumRetryAttempts
  retries are spent; then the batch is discarded (OnFailure) and the shard
  moves on.
- A function that runs past its Timeout fails with "Task timed out after
  N.NN seconds", and its batch fails like a function error.
- With FunctionResponseTypes ["ReportBatchItemFailures"], a response
  {"batchItemFailures": [{"itemIdentifier": SEQ}]} checkpoints before the
  lowest failed record: the retry redelivers that record and those after
  it, not the ones before.
- IteratorAge (here the tidepool_esm_iterator_age_ms gauge): the age in
  milliseconds of a batch's last record (from its write to the stream) when
  Lambda sent the batch to the function.
- The invocation's logs and Invoke's LogType Tail hold Lambda's START, END
  and REPORT lines; on a timeout, the "<time> <request id> Task timed out
  after N.NN seconds" line follows REPORT (seeds/000).

Handlers: the compiled-in "echo" (answers with its event); function errors
and timeouts come from /_tidepool/faults rules ("fail", "timeout") on the
function; ReportBatchItemFailures uses the compiled-in "bid_latency"
(handlers/bid_latency.c: FAIL_BID with REPORT_ITEM_FAILURES=1 reports that
bid's record as a batch item failure) and skips in a build without it."""
import base64
import io
import json
import os
import re
import unittest
import zipfile

from tidepool import TidepoolTestCase

ROLE = "arn:aws:iam::123456789012:role/lambda-role"
REGION = "us-west-2"      # the seed's region
IDLE_MS = 10 * 60 * 1000  # bound for POST /_tidepool/clock {"until_idle_ms"}

RECORD_MEMBERS = ["eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
                  "eventSourceARN"]
DYNAMODB_MEMBERS = ["ApproximateCreationDateTime", "Keys", "NewImage", "SequenceNumber", "SizeBytes",
                    "StreamViewType"]

# The two quotes of seeds/000 (a quotes table keyed by `symbol`).
SEED_QUOTES = [
    {"symbol": "CEI", "price": "139.2675643770462", "ts": "1644014501478", "size": 43},
    {"symbol": "DWAC", "price": "277.3260952221545", "ts": "1644014501603", "size": 45},
]


def account_for_key(key):
    """The account tidepool derives from an access key (tidepool/engine.h)."""
    if len(key) == 12 and key.isdigit():
        return key
    import hashlib
    v = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return "%012d" % (v % 10**12)


def zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("handler.c", date_time=(2024, 1, 1, 0, 0, 0)), "handler")
    return buf.getvalue()


def number_size(text):
    """DynamoDB's size of a number: one byte per pair of significant digits,
    pairs aligned on the decimal point, plus one byte."""
    t = text.lstrip("+-")
    whole, _, frac = t.partition(".")
    whole = whole.lstrip("0")
    frac = frac.rstrip("0")
    if len(whole) % 2:
        whole = "0" + whole
    if len(frac) % 2:
        frac = frac + "0"
    digits = whole + frac
    pairs = [digits[i:i + 2] for i in range(0, len(digits), 2)]
    while pairs and pairs[0] == "00":
        pairs.pop(0)
    while pairs and pairs[-1] == "00":
        pairs.pop()
    return len(pairs) + 1


def item_size(item):
    """DynamoDB's size of an item of S and N attributes: name bytes plus value bytes."""
    n = 0
    for name, value in item.items():
        n += len(name.encode())
        (typ, v), = value.items()
        if typ == "S":
            n += len(v.encode())
        elif typ == "N":
            n += number_size(v)
        else:
            raise ValueError("item_size handles S and N only, not %s" % typ)
    return n


def ordered(value):
    """A json.loads(object_pairs_hook=...) tree turned into nested
    [(name, value)] lists, so comparisons see member order."""
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        return [(k, ordered(v)) for k, v in value]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


def names(pairs):
    return [k for k, _ in pairs]


def member(pairs, name):
    for k, v in pairs:
        if k == name:
            return v
    raise KeyError(name)


class PipelineCase(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.client("dynamodb", retries=1, region=REGION)
        self.lam = self.client("lambda", retries=1, region=REGION)
        self.account = account_for_key("AKIDTIDEPOOL")

    def table(self, name, key):
        r = self.ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        return r["TableDescription"]["LatestStreamArn"]

    def function(self, name, handler="echo", **kw):
        args = dict(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler=handler,
                    Code={"ZipFile": zip_bytes()})
        args.update(kw)
        return self.lam.create_function(**args)["FunctionArn"]

    def function_needing(self, handler, name, **kw):
        """function(), or a skip when this build has no such compiled-in handler."""
        from botocore.exceptions import ClientError
        try:
            return self.function(name, handler=handler, **kw)
        except ClientError as e:
            if e.response["Error"]["Code"] == "InvalidParameterValueException":
                raise unittest.SkipTest("no compiled-in handler %r in this build" % handler)
            raise

    def fault(self, rule):
        """Adds a /_tidepool/faults rule (a "fail" or "timeout" rule applies to
        invocations of the function named by "resource"); returns its id."""
        status, body = self.tidepool.control("POST", "faults", rule)
        self.assertEqual(status, 200, body)
        return body["id"]

    def mapping(self, stream, fn, **kw):
        args = dict(FunctionName=fn, EventSourceArn=stream, StartingPosition="TRIM_HORIZON")
        args.update(kw)
        return self.lam.create_event_source_mapping(**args)["UUID"]

    def run_until_idle(self):
        status, out = self.tidepool.control("POST", "clock", {"until_idle_ms": IDLE_MS})
        self.assertEqual(status, 200, out)
        return out

    def invocations(self, function, since=0):
        status, out = self.tidepool.control(
            "GET", "/_tidepool/invocations?function=%s&since=%d" % (function, since))
        self.assertEqual(status, 200, out)
        return out["invocations"]

    def invocations_ordered(self, function):
        """The invocation log with every object as [(name, value)] pairs, in
        the order the server wrote them."""
        status, _, data = self.tidepool.raw("GET", "/_tidepool/invocations?function=%s" % function)
        self.assertEqual(status, 200, data)
        doc = ordered(json.loads(data.decode(), object_pairs_hook=list))
        return member(doc, "invocations")

    def trace(self, kind=None):
        status, _, data = self.tidepool.raw("GET", "/_tidepool/trace")
        self.assertEqual(status, 200)
        events = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
        return [e for e in events if kind is None or e["type"] == kind]

    @staticmethod
    def event_ids(inv):
        return [r["eventID"] for r in inv["event"]["Records"]]

    @staticmethod
    def keys_of(inv, key):
        return [r["dynamodb"]["Keys"][key]["S"] for r in inv["event"]["Records"]]

    def put_bids(self, *ids):
        for b in ids:
            self.ddb.put_item(TableName="bids", Item={"id": {"S": b}})


class TestSeedShape(PipelineCase):
    def write_seed_quotes(self):
        """The seed's writes: an UpdateItem of CEI, a PutItem of DWAC."""
        cei, dwac = SEED_QUOTES
        self.ddb.update_item(TableName="quotes", Key={"symbol": {"S": cei["symbol"]}},
                             UpdateExpression="SET price = :p, ts = :t",
                             ExpressionAttributeValues={":p": {"N": cei["price"]},
                                                        ":t": {"N": cei["ts"]}})
        self.ddb.put_item(TableName="quotes", Item={"symbol": {"S": dwac["symbol"]},
                                                    "price": {"N": dwac["price"]},
                                                    "ts": {"N": dwac["ts"]}})

    def test_size_bytes_rule_gives_the_seed_values(self):
        for q in SEED_QUOTES:
            keys = {"symbol": {"S": q["symbol"]}}
            image = {"symbol": {"S": q["symbol"]}, "price": {"N": q["price"]}, "ts": {"N": q["ts"]}}
            self.assertEqual(item_size(keys) + item_size(image), q["size"], q["symbol"])

    def test_event_has_lambdas_dynamodb_stream_shape(self):
        stream = self.table("quotes", "symbol")
        self.function("quotes-consumer")
        uuid = self.mapping(stream, "quotes-consumer", BatchSize=2)
        self.run_until_idle()   # Creating -> Enabled
        # The seed's batch is of MODIFYs: the quotes exist before it.
        for q in SEED_QUOTES:
            self.ddb.put_item(TableName="quotes", Item={"symbol": {"S": q["symbol"]},
                                                        "price": {"N": "1"}, "ts": {"N": "1"}})
        self.run_until_idle()
        write_s = self.tidepool.now_ms() // 1000
        self.write_seed_quotes()
        self.run_until_idle()

        invs = self.invocations_ordered("quotes-consumer")
        self.assertEqual(len(invs), 2)
        inv = invs[1]
        self.assertEqual(member(inv, "source"), "esm")
        self.assertEqual(member(inv, "source_id"), uuid)
        self.assertEqual(member(inv, "outcome"), "success")
        event = member(inv, "event")
        self.assertEqual(names(event), ["Records"])
        records = member(event, "Records")
        self.assertEqual(len(records), 2)
        seqs = []
        for rec, q in zip(records, SEED_QUOTES):
            self.assertEqual(names(rec), RECORD_MEMBERS)
            self.assertRegex(member(rec, "eventID"), r"^[0-9a-f]{32}$")
            self.assertEqual(member(rec, "eventName"), "MODIFY")
            self.assertEqual(member(rec, "eventVersion"), "1.1")
            self.assertEqual(member(rec, "eventSource"), "aws:dynamodb")
            self.assertEqual(member(rec, "awsRegion"), REGION)
            self.assertEqual(member(rec, "eventSourceARN"), stream)
            db = member(rec, "dynamodb")
            self.assertEqual(names(db), DYNAMODB_MEMBERS)
            created = member(db, "ApproximateCreationDateTime")
            self.assertIsInstance(created, int)
            self.assertEqual(created, write_s)
            self.assertEqual(member(db, "Keys"), [("symbol", [("S", q["symbol"])])])
            self.assertEqual(member(db, "NewImage"), [("symbol", [("S", q["symbol"])]),
                                                      ("price", [("N", q["price"])]),
                                                      ("ts", [("N", q["ts"])])])
            self.assertRegex(member(db, "SequenceNumber"), r"^[0-9]+$")
            seqs.append(int(member(db, "SequenceNumber")))
            size = member(db, "SizeBytes")
            self.assertIsInstance(size, int)
            self.assertEqual(size, q["size"])
            self.assertEqual(member(db, "StreamViewType"), "NEW_IMAGE")
        self.assertLess(seqs[0], seqs[1])
        first_ids = [member(r, "eventID") for r in member(member(invs[0], "event"), "Records")]
        self.assertEqual(len(set(first_ids + [member(r, "eventID") for r in records])), 4)
        # echo answered with the event: the response is the same document.
        self.assertEqual(member(inv, "response"), event)

        g = self.lam.get_event_source_mapping(UUID=uuid)
        self.assertEqual(g["LastProcessingResult"], "OK")
        # The same log as plain JSON, with a `since` filter.
        later = self.invocations("quotes-consumer", since=self.invocations("quotes-consumer")[0]["id"])
        self.assertEqual(len(later), 1)
        self.assertEqual(later[0]["event"]["Records"][0]["dynamodb"]["NewImage"]["price"]["N"],
                         SEED_QUOTES[0]["price"])

    def test_batch_size_splits_in_stream_order(self):
        stream = self.table("quotes", "symbol")
        self.function("quotes-consumer")
        self.mapping(stream, "quotes-consumer", BatchSize=2)
        for s in ("A", "B", "C", "D", "E"):
            self.ddb.put_item(TableName="quotes", Item={"symbol": {"S": s}})
        self.run_until_idle()
        invs = self.invocations("quotes-consumer")
        self.assertEqual([self.keys_of(i, "symbol") for i in invs], [["A", "B"], ["C", "D"], ["E"]])
        self.assertTrue(all(i["outcome"] == "success" for i in invs))
        self.assertTrue(all(r["eventName"] == "INSERT" for i in invs for r in i["event"]["Records"]))


class TestFailures(PipelineCase):
    def test_function_error_redelivers_the_same_batch_then_discards(self):
        stream = self.table("bids", "id")
        fn_arn = self.function("bids-consumer")
        uuid = self.mapping(stream, "bids-consumer", BatchSize=3, MaximumRetryAttempts=2)
        rule = self.fault({"resource": "bids-consumer", "count": 3,
                           "fail": {"errorType": "PoisonBid", "errorMessage": "cannot process bid b2"}})
        self.put_bids("b1", "b2", "b3")
        self.run_until_idle()
        invs = self.invocations("bids-consumer")
        # One attempt and MaximumRetryAttempts (2) retries, all of one batch.
        self.assertEqual(len(invs), 3)
        self.assertEqual([i["outcome"] for i in invs], ["error"] * 3)
        self.assertEqual({i["error_type"] for i in invs}, {"PoisonBid"})
        self.assertEqual({i["error_message"] for i in invs}, {"cannot process bid b2"})
        ids = self.event_ids(invs[0])
        self.assertEqual(len(ids), 3)
        self.assertEqual(self.keys_of(invs[0], "id"), ["b1", "b2", "b3"])
        for inv in invs[1:]:
            self.assertEqual(self.event_ids(inv), ids)
            self.assertEqual(inv["event"], invs[0]["event"])
        starts = [i["start_ms"] for i in invs]
        self.assertEqual(starts, sorted(starts))
        self.assertEqual(len(set(i["request_id"] for i in invs)), 3)

        discards = self.trace("discard")
        self.assertEqual(len(discards), 1)
        d = discards[0]
        self.assertEqual(d["mapping"], uuid)
        self.assertEqual(d["records"], 3)
        self.assertEqual(d["condition"], "RetryAttemptsExhausted")
        seqs = [r["dynamodb"]["SequenceNumber"] for r in invs[0]["event"]["Records"]]
        self.assertEqual((d["first_seq"], d["last_seq"]), (seqs[0], seqs[-1]))
        ctx = d["failure_record"]["requestContext"]
        self.assertEqual(ctx["approximateInvokeCount"], 3)
        self.assertEqual(ctx["requestId"], invs[-1]["request_id"])
        self.assertEqual(ctx["functionArn"], fn_arn)
        self.assertEqual(d["failure_record"]["responseContext"]["functionError"], "Unhandled")
        info = d["failure_record"]["DDBStreamBatchInfo"]
        self.assertEqual((info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"],
                          info["streamArn"]), (seqs[0], seqs[-1], 3, stream))

        # The shard moved on: a later record is delivered in a new batch.
        self.assertEqual(self.tidepool.control("DELETE", "faults/" + rule)[0], 200)
        self.put_bids("b4")
        self.run_until_idle()
        later = self.invocations("bids-consumer", since=invs[-1]["id"])
        self.assertEqual([self.keys_of(i, "id") for i in later], [["b4"]])
        self.assertEqual(later[0]["outcome"], "success")

    def test_timeout_fails_the_batch_with_lambdas_message(self):
        stream = self.table("bids", "id")
        self.function("bids-consumer", Timeout=1)
        self.mapping(stream, "bids-consumer", BatchSize=3, MaximumRetryAttempts=1)
        self.fault({"resource": "bids-consumer", "timeout": True})
        self.put_bids("b1")
        self.run_until_idle()
        invs = self.invocations("bids-consumer")
        self.assertEqual(len(invs), 2)   # the attempt and one retry
        for inv in invs:
            self.assertEqual(inv["outcome"], "timeout")
            self.assertEqual(inv["end_ms"] - inv["start_ms"], 1000)
            # Lambda's words: "<time> <request id> Task timed out after 1.00 seconds"
            self.assertRegex(inv["error_message"],
                             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z %s Task timed out after "
                             r"1\.00 seconds$" % re.escape(inv["request_id"]))
            self.assertIn("Task timed out after 1.00 seconds", inv["logs"])
        self.assertEqual(self.event_ids(invs[0]), self.event_ids(invs[1]))
        self.assertEqual(len(self.trace("discard")), 1)

    def test_timeout_log_line_follows_report(self):
        stream = self.table("bids", "id")
        self.function("bids-consumer", Timeout=1)
        self.mapping(stream, "bids-consumer", MaximumRetryAttempts=0)
        self.fault({"resource": "bids-consumer", "timeout": True})
        self.put_bids("b1")
        self.run_until_idle()
        inv, = self.invocations("bids-consumer")
        lines = inv["logs"].rstrip("\n").split("\n")
        rid = inv["request_id"]
        self.assertEqual(lines[0], "START RequestId: %s Version: $LATEST" % rid)
        self.assertEqual(lines[-3], "END RequestId: %s" % rid)
        self.assertTrue(lines[-2].startswith("REPORT RequestId: %s\t" % rid), lines)
        self.assertRegex(lines[-1], r"^\S+Z %s Task timed out after 1\.00 seconds$" % re.escape(rid))

    def test_report_batch_item_failures_checkpoints_before_the_failed_record(self):
        stream = self.table("bids", "id")
        self.function_needing("bid_latency", "bids-consumer",
                              Environment={"Variables": {"FAIL_BID": "b2", "REPORT_ITEM_FAILURES": "1"}})
        self.mapping(stream, "bids-consumer", BatchSize=3, MaximumRetryAttempts=1,
                     FunctionResponseTypes=["ReportBatchItemFailures"])
        self.put_bids("b1", "b2", "b3")
        self.run_until_idle()
        invs = self.invocations("bids-consumer")
        self.assertEqual(len(invs), 2)
        first, retry = invs
        self.assertEqual(self.keys_of(first, "id"), ["b1", "b2", "b3"])
        b2_seq = first["event"]["Records"][1]["dynamodb"]["SequenceNumber"]
        self.assertEqual(first["outcome"], "success")
        self.assertEqual(first["response"], {"batchItemFailures": [{"itemIdentifier": b2_seq}]})
        # b1 was checkpointed; b2 and b3 come again, as the same records.
        self.assertEqual(self.keys_of(retry, "id"), ["b2", "b3"])
        self.assertEqual(self.event_ids(retry), self.event_ids(first)[1:])
        self.assertEqual(retry["event"]["Records"], first["event"]["Records"][1:])
        checkpoints = self.trace("checkpoint")
        self.assertEqual(checkpoints[0]["sequence_number"],
                         first["event"]["Records"][0]["dynamodb"]["SequenceNumber"])
        # b2 fails again and the retry was the last: b2 and b3 are discarded.
        d, = self.trace("discard")
        self.assertEqual((d["records"], d["first_seq"]), (2, b2_seq))


class TestIteratorAge(PipelineCase):
    def test_gauge_in_metrics(self):
        stream = self.table("quotes", "symbol")
        self.function("quotes-consumer")
        uuid = self.mapping(stream, "quotes-consumer")
        self.run_until_idle()
        # Write on a whole second, so ApproximateCreationDateTime is exact.
        self.tidepool.advance(1000 - self.tidepool.now_ms() % 1000)
        write_ms = self.tidepool.now_ms()
        self.ddb.put_item(TableName="quotes", Item={"symbol": {"S": "CEI"}})
        self.run_until_idle()
        inv, = self.invocations("quotes-consumer")
        self.assertGreater(inv["start_ms"], write_ms)
        self.assertEqual(inv["end_ms"], inv["start_ms"])   # echo takes no tidepool time
        text = self.tidepool.raw("GET", "/_tidepool/metrics")[2].decode()
        self.assertIn("# TYPE tidepool_esm_iterator_age_ms gauge\n", text)
        line = 'tidepool_esm_iterator_age_ms{mapping="%s",function="quotes-consumer"} ' % uuid
        values = [ln[len(line):] for ln in text.splitlines() if ln.startswith(line)]
        self.assertEqual(len(values), 1, text)
        self.assertEqual(float(values[0]), inv["start_ms"] - write_ms)

    def test_gauge_is_measured_when_the_batch_is_sent(self):
        """The age is taken when the batch goes to the function, from the
        record's ApproximateCreationDateTime: whole seconds, the precision
        the Streams API gives a poller (Lambda's own IteratorAge counts from
        the record's arrival in the stream, in ms)."""
        stream = self.table("quotes", "symbol")
        self.function("quotes-consumer")
        uuid = self.mapping(stream, "quotes-consumer")
        self.run_until_idle()
        # Write 250 ms into a second.
        self.tidepool.advance(1250 - self.tidepool.now_ms() % 1000)
        write_ms = self.tidepool.now_ms()
        self.ddb.put_item(TableName="quotes", Item={"symbol": {"S": "CEI"}})
        self.run_until_idle()
        inv, = self.invocations("quotes-consumer")
        text = self.tidepool.raw("GET", "/_tidepool/metrics")[2].decode()
        line = 'tidepool_esm_iterator_age_ms{mapping="%s",function="quotes-consumer"} ' % uuid
        values = [ln[len(line):] for ln in text.splitlines() if ln.startswith(line)]
        self.assertEqual([float(v) for v in values], [inv["start_ms"] - write_ms // 1000 * 1000])


class TestCli(PipelineCase):
    def cli(self, *args):
        return self.aws(*args, region=REGION, expect_rc=0)[1]

    def test_pipeline_through_the_cli(self):
        rc, out, err = self.aws("dynamodb", "create-table", "--table-name", "quotes",
                                "--key-schema", "AttributeName=symbol,KeyType=HASH",
                                "--attribute-definitions", "AttributeName=symbol,AttributeType=S",
                                "--billing-mode", "PAY_PER_REQUEST",
                                "--stream-specification", "StreamEnabled=true,StreamViewType=NEW_IMAGE",
                                region=REGION, expect_rc=0)
        stream = out["TableDescription"]["LatestStreamArn"]
        zpath = os.path.join(self.tidepool._tmp, "function.zip")
        with open(zpath, "wb") as f:
            f.write(zip_bytes())
        out = self.cli("lambda", "create-function", "--function-name", "quotes-consumer",
                       "--runtime", "provided.al2023", "--role", ROLE, "--handler", "echo",
                       "--zip-file", "fileb://" + zpath)
        fn_arn = out["FunctionArn"]
        out = self.cli("lambda", "create-event-source-mapping", "--function-name", "quotes-consumer",
                       "--event-source-arn", stream, "--starting-position", "TRIM_HORIZON",
                       "--batch-size", "2")
        uuid = out["UUID"]
        self.assertEqual((out["State"], out["BatchSize"], out["FunctionArn"]), ("Creating", 2, fn_arn))
        for q in SEED_QUOTES:
            item = {"symbol": {"S": q["symbol"]}, "price": {"N": q["price"]}, "ts": {"N": q["ts"]}}
            self.cli("dynamodb", "put-item", "--table-name", "quotes", "--item", json.dumps(item))
        self.run_until_idle()

        out = self.cli("lambda", "list-event-source-mappings", "--function-name", "quotes-consumer")
        m, = out["EventSourceMappings"]
        self.assertEqual((m["UUID"], m["State"], m["EventSourceArn"], m["LastProcessingResult"]),
                         (uuid, "Enabled", stream, "OK"))
        out = self.cli("lambda", "list-event-source-mappings", "--event-source-arn", stream)
        self.assertEqual([x["UUID"] for x in out["EventSourceMappings"]], [uuid])

        inv, = self.invocations("quotes-consumer")
        self.assertEqual(inv["source_id"], uuid)
        recs = inv["event"]["Records"]
        self.assertEqual([r["dynamodb"]["Keys"]["symbol"]["S"] for r in recs], ["CEI", "DWAC"])
        self.assertEqual([r["dynamodb"]["SizeBytes"] for r in recs], [43, 45])
        self.assertEqual([r["eventName"] for r in recs], ["INSERT", "INSERT"])
        self.assertTrue(all(r["eventSourceARN"] == stream for r in recs))

        # Invoke through the CLI with the same event: echo answers it back.
        payload = json.dumps(inv["event"])
        outfile = os.path.join(self.tidepool._tmp, "response.json")
        out = self.cli("lambda", "invoke", "--function-name", "quotes-consumer",
                       "--cli-binary-format", "raw-in-base64-out", "--payload", payload,
                       "--log-type", "Tail", outfile)
        self.assertEqual(out["StatusCode"], 200)
        self.assertEqual(out["ExecutedVersion"], "$LATEST")
        self.assertNotIn("FunctionError", out)
        with open(outfile) as f:
            self.assertEqual(json.load(f), inv["event"])
        log = base64.b64decode(out["LogResult"]).decode()
        self.assertRegex(log, r"(?m)^START RequestId: [0-9a-f-]{36} Version: \$LATEST$")
        self.assertRegex(log, r"(?m)^END RequestId: [0-9a-f-]{36}$")
        self.assertRegex(log, r"(?m)^REPORT RequestId: [0-9a-f-]{36}\tDuration: ")

        # A function error through the CLI: exit 0, FunctionError in the answer.
        out = self.cli("lambda", "invoke", "--function-name", "quotes-consumer",
                       "--cli-binary-format", "raw-in-base64-out",
                       "--payload", '{"fail": true, "message": "no quote"}', outfile)
        self.assertEqual((out["StatusCode"], out["FunctionError"]), (200, "Unhandled"))
        with open(outfile) as f:
            self.assertEqual(json.load(f), {"errorMessage": "no quote", "errorType": "EchoError"})


if __name__ == "__main__":
    unittest.main()
