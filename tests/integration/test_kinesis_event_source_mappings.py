"""Kinesis event source mappings through real clients: boto3's `kinesis`,
`lambda` and `sqs` clients against tidepool, on the virtual clock (both
pythons).

A stream, a function and a mapping made with the clients; what the
function got is read back from /_tidepool/invocations and the trace:
- the event is Lambda's Kinesis event, member for member and in order
  (kinesisSchemaVersion, partitionKey, sequenceNumber, base64 data,
  approximateArrivalTimestamp in epoch seconds; eventID
  "shardId-...:<seq>", invokeIdentityArn = the function's role, ...);
- a shard is polled once a second (a "lambda" config setting changes it);
- StartingPosition TRIM_HORIZON, LATEST and AT_TIMESTAMP;
- CreateEventSourceMapping's answers for Kinesis ARNs (missing stream,
  StartingPosition, AT_TIMESTAMP without a timestamp, ranges);
- BatchSize, MaximumBatchingWindowInSeconds, ParallelizationFactor (keys
  stay in order in their lane), FilterCriteria on the data key,
  BisectBatchOnFunctionError + MaximumRetryAttempts + an OnFailure queue
  (Lambda's KinesisBatchInfo record), ReportBatchItemFailures,
  MaximumRecordAgeInSeconds;
- resharding: a split's children are read only after the parent drains, a
  merge's child only after both parents do.

Handlers: the compiled-in "echo" (answers with its event) and
"kinesis_restore_writer" (handlers/kinesis_restore.c: FAIL_KEY makes the
records of one partition key fail, REPORT_ITEM_FAILURES=1 reports them as
batch item failures)."""
import base64
import io
import json
import zipfile

from tidepool import TidepoolTestCase

ROLE = "arn:aws:iam::123456789012:role/kinesis-consumer"
IDLE_MS = 10 * 60 * 1000

EVENT_RECORD_MEMBERS = ["kinesis", "eventSource", "eventVersion", "eventID", "eventName",
                        "invokeIdentityArn", "awsRegion", "eventSourceARN"]
KINESIS_MEMBERS = ["kinesisSchemaVersion", "partitionKey", "sequenceNumber", "data",
                   "approximateArrivalTimestamp"]
BATCH_INFO_MEMBERS = ["shardId", "startSequenceNumber", "endSequenceNumber",
                      "approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord",
                      "batchSize", "streamArn"]


def zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("handler.c", date_time=(2024, 1, 1, 0, 0, 0)), "handler")
    return buf.getvalue()


def ordered(value):
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


def iso_ms(ms):
    import datetime
    t = datetime.datetime.fromtimestamp(ms / 1000.0, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


class KinesisMappingCase(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.kin = self.client("kinesis", retries=1)
        self.lam = self.client("lambda", retries=1)
        self.sqs = self.client("sqs", retries=1)

    def stream(self, name="events", shards=1):
        self.kin.create_stream(StreamName=name, ShardCount=shards)
        self.tidepool.advance(1000)
        return self.kin.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]

    def function(self, name="consumer", handler="echo", env=None):
        kw = {"Environment": {"Variables": env}} if env else {}
        return self.lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE,
                                        Handler=handler, Code={"ZipFile": zip_bytes()},
                                        **kw)["FunctionArn"]

    def mapping(self, arn, fn="consumer", **kw):
        args = dict(FunctionName=fn, EventSourceArn=arn, StartingPosition="TRIM_HORIZON")
        args.update(kw)
        r = self.lam.create_event_source_mapping(**args)
        return r

    def put(self, key, data, stream="events"):
        if isinstance(data, str):
            data = data.encode()
        return self.kin.put_record(StreamName=stream, PartitionKey=key, Data=data)

    def run_until_idle(self):
        status, out = self.tidepool.control("POST", "clock", {"until_idle_ms": IDLE_MS})
        self.assertEqual(status, 200, out)

    def invocations(self, function="consumer"):
        status, out = self.tidepool.control("GET", "/_tidepool/invocations?function=%s" % function)
        self.assertEqual(status, 200, out)
        return out["invocations"]

    def invocations_ordered(self, function="consumer"):
        status, _, data = self.tidepool.raw("GET", "/_tidepool/invocations?function=%s" % function)
        self.assertEqual(status, 200, data)
        return member(ordered(json.loads(data.decode(), object_pairs_hook=list)), "invocations")

    def trace(self, kind=None):
        status, _, data = self.tidepool.raw("GET", "/_tidepool/trace")
        self.assertEqual(status, 200)
        events = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
        return [e for e in events if kind is None or e["type"] == kind]

    @staticmethod
    def datas(inv):
        return [base64.b64decode(r["kinesis"]["data"]).decode() for r in inv["event"]["Records"]]

    def delivered(self, function="consumer"):
        return [d for inv in self.invocations(function) for d in self.datas(inv)]


class TestEvent(KinesisMappingCase):
    def test_event_is_lambdas_kinesis_event(self):
        arn = self.stream()
        self.function()
        put = self.put("user-1", "hello")
        r = self.mapping(arn, BatchSize=10)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 202)
        self.assertEqual((r["StartingPosition"], r["BatchSize"], r["ParallelizationFactor"]),
                         ("TRIM_HORIZON", 10, 1))
        self.assertEqual(r["EventSourceArn"], arn)
        self.assertEqual(r["State"], "Creating")
        self.assertEqual(r["MaximumRetryAttempts"], -1)
        self.assertEqual(r["TumblingWindowInSeconds"], 0)
        self.run_until_idle()
        got = self.lam.get_event_source_mapping(UUID=r["UUID"])
        self.assertEqual((got["State"], got["LastProcessingResult"]), ("Enabled", "OK"))
        inv, = self.invocations_ordered()
        rec, = member(member(inv, "event"), "Records")
        self.assertEqual(names(rec), EVENT_RECORD_MEMBERS)
        k = member(rec, "kinesis")
        self.assertEqual(names(k), KINESIS_MEMBERS)
        seq = put["SequenceNumber"]
        self.assertEqual(member(k, "kinesisSchemaVersion"), "1.0")
        self.assertEqual(member(k, "partitionKey"), "user-1")
        self.assertEqual(member(k, "sequenceNumber"), seq)
        self.assertEqual(base64.b64decode(member(k, "data")), b"hello")
        it = self.kin.get_shard_iterator(StreamName="events", ShardId=put["ShardId"],
                                         ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        arrival = self.kin.get_records(ShardIterator=it)["Records"][0]["ApproximateArrivalTimestamp"]
        self.assertAlmostEqual(member(k, "approximateArrivalTimestamp"), arrival.timestamp(), places=3)
        self.assertEqual(member(rec, "eventSource"), "aws:kinesis")
        self.assertEqual(member(rec, "eventVersion"), "1.0")
        self.assertEqual(member(rec, "eventID"), "%s:%s" % (put["ShardId"], seq))
        self.assertEqual(member(rec, "eventName"), "aws:kinesis:record")
        self.assertEqual(member(rec, "invokeIdentityArn"), ROLE)
        self.assertEqual(member(rec, "awsRegion"), "us-east-1")
        self.assertEqual(member(rec, "eventSourceARN"), arn)

    def test_batches_follow_batch_size_and_shard_order(self):
        arn = self.stream()
        self.function()
        for i in range(7):
            self.put("k%d" % (i % 3), "r%d" % i)
        self.mapping(arn, BatchSize=3)
        self.run_until_idle()
        invs = self.invocations()
        self.assertEqual([self.datas(i) for i in invs],
                         [["r0", "r1", "r2"], ["r3", "r4", "r5"], ["r6"]])

    def test_polls_once_a_second(self):
        arn = self.stream()
        self.function()
        self.mapping(arn)
        self.tidepool.advance(1000)          # Creating -> Enabled, first poll
        self.tidepool.advance(1500)
        put_ms = self.tidepool.now_ms()
        self.put("k", "x")
        self.tidepool.advance(499)
        self.assertEqual(self.invocations(), [])
        self.tidepool.advance(1)
        inv, = self.invocations()
        self.assertEqual(inv["start_ms"] - put_ms, 500)

    def test_batching_window_waits_for_more_records(self):
        arn = self.stream()
        self.function()
        self.mapping(arn, BatchSize=100, MaximumBatchingWindowInSeconds=5)
        self.tidepool.advance(1000)
        for i in range(3):
            self.put("k", "w%d" % i)
            self.tidepool.advance(1000)
        self.assertEqual(self.invocations(), [])
        self.run_until_idle()
        inv, = self.invocations()
        self.assertEqual(self.datas(inv), ["w0", "w1", "w2"])


class TestPollInterval(KinesisMappingCase):
    tidepool_kwargs = {"config": {"lambda": {"kinesis_poll_interval_ms": 200}}}

    def test_poll_interval_is_configurable(self):
        arn = self.stream()
        self.function()
        self.mapping(arn)
        self.tidepool.advance(1000)
        self.tidepool.advance(250)
        put_ms = self.tidepool.now_ms()
        self.put("k", "x")
        self.tidepool.advance(150)
        inv, = self.invocations()
        self.assertEqual(inv["start_ms"] - put_ms, 150)


class TestStartingPositions(KinesisMappingCase):
    def test_latest_reads_only_new_records(self):
        arn = self.stream()
        self.function()
        self.put("k", "old")
        self.mapping(arn, StartingPosition="LATEST")
        self.tidepool.advance(3000)
        self.put("k", "new")
        self.run_until_idle()
        self.assertEqual(self.delivered(), ["new"])

    def test_at_timestamp_starts_at_the_time(self):
        arn = self.stream(shards=2)
        self.function()
        for i in range(4):
            self.put("a%d" % i, "before-%d" % i)
        self.tidepool.advance(5000)
        at_ms = self.tidepool.now_ms()
        for i in range(4):
            self.put("b%d" % i, "after-%d" % i)
        self.tidepool.advance(5000)
        r = self.mapping(arn, StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=at_ms / 1000.0)
        self.assertEqual(r["StartingPosition"], "AT_TIMESTAMP")
        self.assertEqual(r["StartingPositionTimestamp"].timestamp(), at_ms / 1000.0)
        self.run_until_idle()
        self.assertEqual(sorted(self.delivered()), ["after-%d" % i for i in range(4)])


class TestValidation(KinesisMappingCase):
    def test_missing_stream(self):
        self.function()
        arn = self.stream()[:-len("events")] + "ghost"
        self.assertAwsError(lambda: self.mapping(arn), "InvalidParameterValueException",
                            "Stream not found: %s" % arn, 400)

    def test_starting_position_rules(self):
        arn = self.stream()
        self.function()
        self.assertAwsError(
            lambda: self.lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=arn),
            "InvalidParameterValueException",
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
            "constraint: Member must not be null.", 400)
        self.assertAwsError(lambda: self.mapping(arn, StartingPosition="AT_TIMESTAMP"),
                            "InvalidParameterValueException", "Need to specify a timestamp", 400)
        self.assertEqual(self.lam.list_event_source_mappings()["EventSourceMappings"], [])

    def test_ranges(self):
        arn = self.stream()
        self.function()
        for kw, member_name, value in (
                ({"BatchSize": 10001}, "batchSize", 10001),
                ({"ParallelizationFactor": 11}, "parallelizationFactor", 11),
                ({"MaximumBatchingWindowInSeconds": 301}, "maximumBatchingWindowInSeconds", 301),
                ({"MaximumRetryAttempts": 10001}, "maximumRetryAttempts", 10001),
                ({"TumblingWindowInSeconds": 901}, "tumblingWindowInSeconds", 901)):
            e = self.assertAwsError(lambda: self.mapping(arn, **kw), "ValidationException", None, 400)
            msg = e.response["Error"]["Message"]
            self.assertIn("Value '%d' at '%s' failed to satisfy constraint: Member must have value "
                          "less than or equal to" % (value, member_name), msg)
        self.assertAwsError(lambda: self.mapping(arn, MaximumRecordAgeInSeconds=30),
                            "InvalidParameterValueException",
                            "1 validation error detected: Value '30' at 'maximumRecordAgeInSeconds' "
                            "failed to satisfy constraint: Member must have value greater than or "
                            "equal to 60", 400)
        self.assertEqual(self.lam.list_event_source_mappings()["EventSourceMappings"], [])


class TestScaling(KinesisMappingCase):
    def test_parallelization_factor_keeps_keys_in_order(self):
        arn = self.stream()
        self.function()
        keys = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
        for i in range(30):
            self.put(keys[i % len(keys)], "%s-%02d" % (keys[i % len(keys)], i))
        self.mapping(arn, BatchSize=5, ParallelizationFactor=3)
        self.run_until_idle()
        invs = self.invocations()
        lanes = {e["lane"] for e in self.trace("batch")}
        self.assertGreater(len(lanes), 1)
        # several lanes of one shard run at once
        starts = sorted(i["start_ms"] for i in invs)
        self.assertLess(len(set(starts)), len(starts))
        seen = {}
        for inv in sorted(invs, key=lambda i: (i["start_ms"], i["id"])):
            for d in self.datas(inv):
                k, n = d.rsplit("-", 1)
                seen.setdefault(k, []).append(int(n))
        self.assertEqual(sorted(sum(seen.values(), [])), list(range(30)))
        for k, ns in seen.items():
            self.assertEqual(ns, sorted(ns), k)

    def test_parallelization_factor_10_reads_the_shard_once_per_poll(self):
        arn = self.stream()
        self.function()
        keys = ["k%02d" % i for i in range(25)]
        for i in range(300):
            self.put(keys[i % len(keys)], "%s-%03d" % (keys[i % len(keys)], i))
        self.mapping(arn, BatchSize=10, ParallelizationFactor=10)
        self.run_until_idle()
        self.assertGreater(len({e["lane"] for e in self.trace("batch")}), 5)
        # the lanes share each poll's read: within the shard's 5 reads/s
        self.assertEqual(self.trace("read_retry"), [])
        seen = {}
        for inv in sorted(self.invocations(), key=lambda i: (i["start_ms"], i["id"])):
            for d in self.datas(inv):
                k, n = d.rsplit("-", 1)
                seen.setdefault(k, []).append(int(n))
        self.assertEqual(sorted(sum(seen.values(), [])), list(range(300)))
        for k, ns in seen.items():
            self.assertEqual(ns, sorted(ns), k)

    def test_throttled_mapping_reads_recover(self):
        arn = self.stream()
        self.function()
        # 16 x 200 KB: more than the shard's 2 MiB/s out (puts within 1 MiB/s in)
        for i in range(16):
            self.put("key%d" % (i % 4), ("r-%02d:" % i) + "x" * 200000)
            if i % 4 == 3:
                self.tidepool.advance(1000)
        uuid = self.mapping(arn, ParallelizationFactor=2)["UUID"]
        self.tidepool.advance(999)   # the mapping is Enabled and polls 1 ms later
        shard = self.kin.list_shards(StreamName="events")["Shards"][0]["ShardId"]
        it = self.kin.get_shard_iterator(StreamName="events", ShardId=shard,
                                         ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        # another consumer reads everything: the shard's read bytes are spent
        self.assertEqual(len(self.kin.get_records(ShardIterator=it)["Records"]), 16)
        self.tidepool.advance(1)
        retries = self.trace("read_retry")
        self.assertEqual(len(retries), 1, retries)
        self.assertEqual(retries[0]["reason"], "ProvisionedThroughputExceededException")
        self.assertEqual(retries[0]["delay_ms"], 1000)
        self.assertEqual(self.invocations(), [])
        self.assertEqual(self.lam.get_event_source_mapping(UUID=uuid)["LastProcessingResult"],
                         "PROBLEM: Throttled")
        self.run_until_idle()
        got = [d.split(":")[0] for d in self.delivered()]
        self.assertEqual(sorted(got), ["r-%02d" % i for i in range(16)])
        # the batches came from polls after the throttled one
        first_retry = retries[0]["seq"]
        self.assertTrue(all(e["seq"] > first_retry for e in self.trace("batch")))

    def test_filter_on_the_data_key(self):
        arn = self.stream()
        self.function()
        self.put("k", json.dumps({"order": {"type": "buy", "n": 1}}))
        self.put("k", json.dumps({"order": {"type": "sell", "n": 2}}))
        self.put("k", "not json")
        self.put("k", json.dumps({"order": {"type": "buy", "n": 3}}))
        pattern = {"data": {"order": {"type": ["buy"]}}}
        r = self.mapping(arn, FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})
        self.assertEqual(json.loads(r["FilterCriteria"]["Filters"][0]["Pattern"]), pattern)
        self.run_until_idle()
        self.assertEqual([json.loads(d)["order"]["n"] for d in self.delivered()], [1, 3])


class TestFailures(KinesisMappingCase):
    def setUp(self):
        super().setUp()
        ddb = self.client("dynamodb", retries=1)
        ddb.create_table(TableName="restored", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        self.tidepool.advance(1000)

    def put_request(self, key, name):
        return self.put(key, json.dumps({"TableName": "restored", "Item": {"id": {"S": name}}}))

    def ids(self, inv):
        return [json.loads(d)["Item"]["id"]["S"] for d in self.datas(inv)]

    def queue(self, name="failures"):
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def test_bisect_discards_only_the_poison_record_to_the_on_failure_queue(self):
        arn = self.stream()
        url, qarn = self.queue()
        self.function(handler="kinesis_restore_writer", env={"FAIL_KEY": "poison"})
        puts = []
        for i in range(8):
            key = "poison" if i == 5 else "k%d" % i
            puts.append(self.put_request(key, "r%d" % i))
        self.mapping(arn, BatchSize=8, BisectBatchOnFunctionError=True, MaximumRetryAttempts=0,
                     DestinationConfig={"OnFailure": {"Destination": qarn}})
        self.run_until_idle()
        bisects = [(b["from_size"], b["to_size"]) for b in self.trace("bisect")]
        self.assertEqual(bisects, [(8, 4), (4, 2), (2, 1)])
        d, = self.trace("discard")
        self.assertEqual((d["records"], d["condition"], d["delivered"]), (1, "RetryAttemptsExhausted", True))
        msgs = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual(len(msgs), 1)
        body = ordered(json.loads(msgs[0]["Body"], object_pairs_hook=list))
        self.assertEqual(names(body), ["requestContext", "responseContext", "version", "timestamp",
                                       "KinesisBatchInfo"])
        rc = member(body, "requestContext")
        self.assertEqual(member(rc, "condition"), "RetryAttemptsExhausted")
        self.assertEqual(member(rc, "approximateInvokeCount"), 1)
        self.assertEqual(member(member(body, "responseContext"), "functionError"), "Unhandled")
        info = member(body, "KinesisBatchInfo")
        self.assertEqual(names(info), BATCH_INFO_MEMBERS)
        self.assertEqual(member(info, "shardId"), puts[5]["ShardId"])
        self.assertEqual(member(info, "startSequenceNumber"), puts[5]["SequenceNumber"])
        self.assertEqual(member(info, "endSequenceNumber"), puts[5]["SequenceNumber"])
        self.assertEqual(member(info, "batchSize"), 1)
        self.assertEqual(member(info, "streamArn"), arn)
        it = self.kin.get_shard_iterator(StreamName="events", ShardId=puts[5]["ShardId"],
                                         ShardIteratorType="AT_SEQUENCE_NUMBER",
                                         StartingSequenceNumber=puts[5]["SequenceNumber"])["ShardIterator"]
        arrival = self.kin.get_records(ShardIterator=it, Limit=1)["Records"][0]["ApproximateArrivalTimestamp"]
        self.assertEqual(member(info, "approximateArrivalOfFirstRecord"),
                         iso_ms(int(round(arrival.timestamp() * 1000))))
        # everything else got through, in order, the poison record never did
        done = [x for inv in self.invocations() if inv["outcome"] == "success" for x in self.ids(inv)]
        self.assertEqual(done, ["r0", "r1", "r2", "r3", "r4", "r6", "r7"])

    def test_report_batch_item_failures_retries_from_the_failed_record(self):
        arn = self.stream()
        self.function(handler="kinesis_restore_writer",
                      env={"FAIL_KEY": "poison", "REPORT_ITEM_FAILURES": "1"})
        for i in range(4):
            self.put_request("poison" if i == 2 else "k%d" % i, "r%d" % i)
        self.mapping(arn, BatchSize=4, MaximumRetryAttempts=1,
                     FunctionResponseTypes=["ReportBatchItemFailures"])
        self.run_until_idle()
        invs = self.invocations()
        # r0, r1 are checkpointed; r2 and the record after it come again
        self.assertEqual([self.ids(i) for i in invs], [["r0", "r1", "r2", "r3"], ["r2", "r3"]])
        seq = invs[0]["event"]["Records"][2]["kinesis"]["sequenceNumber"]
        self.assertEqual(invs[0]["response"], {"batchItemFailures": [{"itemIdentifier": seq}]})
        self.assertEqual(invs[1]["event"]["Records"], invs[0]["event"]["Records"][2:])
        # the retry was the last: r2 and r3 are discarded
        d, = self.trace("discard")
        self.assertEqual((d["records"], d["first_seq"]), (2, seq))
        items = self.client("dynamodb").scan(TableName="restored")["Items"]
        self.assertEqual(sorted(i["id"]["S"] for i in items), ["r0", "r1"])

    def test_records_past_maximum_age_are_discarded(self):
        arn = self.stream()
        url, qarn = self.queue()
        self.function()
        self.put("k", "stale")
        self.tidepool.advance(120000)
        self.put("k", "fresh")
        self.mapping(arn, MaximumRecordAgeInSeconds=60,
                     DestinationConfig={"OnFailure": {"Destination": qarn}})
        self.run_until_idle()
        self.assertEqual(self.delivered(), ["fresh"])
        d, = self.trace("discard")
        self.assertEqual((d["records"], d["condition"]), (1, "RecordAgeExceeded"))
        msg, = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        body = json.loads(msg["Body"])
        self.assertEqual(body["requestContext"]["approximateInvokeCount"], 0)
        self.assertEqual(body["KinesisBatchInfo"]["batchSize"], 1)


class TestResharding(KinesisMappingCase):
    def test_children_are_read_after_the_parent_drains(self):
        arn = self.stream(shards=1)
        self.function()
        for i in range(5):
            self.put("p%d" % i, "parent-%d" % i)
        shard = self.kin.list_shards(StreamName="events")["Shards"][0]
        lo, hi = int(shard["HashKeyRange"]["StartingHashKey"]), int(shard["HashKeyRange"]["EndingHashKey"])
        self.kin.split_shard(StreamName="events", ShardToSplit=shard["ShardId"],
                             NewStartingHashKey=str((lo + hi) // 2))
        self.tidepool.advance(1000)
        for i in range(6):
            self.put("c%d" % i, "child-%d" % i)
        self.mapping(arn, BatchSize=2)
        self.run_until_idle()
        invs = sorted(self.invocations(), key=lambda i: (i["start_ms"], i["id"]))
        order = [d for inv in invs for d in self.datas(inv)]
        self.assertEqual(order[:5], ["parent-%d" % i for i in range(5)])
        self.assertEqual(sorted(order[5:]), sorted("child-%d" % i for i in range(6)))
        parent_end = max(i["end_ms"] for i in invs if self.datas(i)[0].startswith("parent"))
        child_start = min(i["start_ms"] for i in invs if self.datas(i)[0].startswith("child"))
        self.assertGreaterEqual(child_start, parent_end)
        self.assertGreater(min(i["id"] for i in invs if self.datas(i)[0].startswith("child")),
                           max(i["id"] for i in invs if self.datas(i)[0].startswith("parent")))
        shards = {e["shard"] for e in self.trace("batch")}
        self.assertEqual(len(shards), 3)

    def test_a_merged_child_waits_for_both_parents(self):
        arn = self.stream(shards=2)
        self.function()
        a, b = self.kin.list_shards(StreamName="events")["Shards"]
        # both parents hold records, the adjacent one (b) more: it drains last
        by_shard = {}
        i = 0
        while len(by_shard.get(a["ShardId"], [])) < 3 or len(by_shard.get(b["ShardId"], [])) < 9:
            r = self.put("key-%d" % i, "parent-%d" % i)
            by_shard.setdefault(r["ShardId"], []).append("parent-%d" % i)
            i += 1
        self.kin.merge_shards(StreamName="events", ShardToMerge=a["ShardId"],
                              AdjacentShardToMerge=b["ShardId"])
        self.tidepool.advance(1000)
        for j in range(4):
            self.put("child-key-%d" % j, "child-%d" % j)
        self.mapping(arn, BatchSize=2)
        self.run_until_idle()
        invs = self.invocations()
        # (the echo handler takes no time: invocation ids tell the order)
        parents = [v for v in invs if self.datas(v)[0].startswith("parent")]
        child = [v for v in invs if self.datas(v)[0].startswith("child")]
        self.assertEqual(sorted(d for v in child for d in self.datas(v)), ["child-%d" % j for j in range(4)])
        self.assertGreater(min(v["id"] for v in child), max(v["id"] for v in parents))
        self.assertGreaterEqual(min(v["start_ms"] for v in child), max(v["end_ms"] for v in parents))
        for shard, datas in by_shard.items():
            got = [d for v in sorted(invs, key=lambda v: (v["start_ms"], v["id"]))
                   for d in self.datas(v) if d in datas]
            self.assertEqual(got, datas)
