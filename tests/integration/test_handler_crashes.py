"""test_handler_crashes — a handler that crashes fails its invocation, not tidepool (issue 14).

Spec: a C handler that dies on its invocation thread (SIGSEGV, SIGFPE,
abort(), a failed assert, SIGBUS, SIGILL, a stack overflow) fails that
invocation as Lambda reports a runtime that died: errorType
Runtime.ExitError, errorMessage "RequestId: <id> Error: Runtime exited with
error: signal: <Go's signal name>", Invoke's FunctionError "Unhandled", and
the lines "RequestId: ... Error: ..." and "Runtime.ExitError" after REPORT
in the log. The instance is discarded: the next invocation is a cold start
that runs the handler's init again (a warm one does not). Event source
mappings treat it as a function error (stream: retries, bisect, OnFailure;
SQS: the message comes back and is redriven). A handler that computes
forever without calling tidepool still ends at its timeout, on the virtual
clock (the wall-clock watchdog, lambda.handler_watchdog_ms, gives the baton
back) and on the real clock. After each crash tidepool answers every other
request. (The handlers are tests/integration/sample_handlers.c's
sample.crashy.)
"""
import base64
import concurrent.futures
import io
import json
import os
import re
import unittest
import zipfile

from tidepool import TidepoolTestCase

LIB = os.environ.get("TIDEPOOL_SAMPLE_HANDLERS", "")
ROLE = "arn:aws:iam::123456789012:role/r"
IDLE_MS = 120000
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

CRASHES = [
    ("segv", "segmentation fault"),
    ("fpe", "floating point exception"),
    ("abort", "aborted"),
    ("assert", "aborted"),
    ("bus", "bus error"),
    ("ill", "illegal instruction"),
    ("stack", "segmentation fault"),
]


def zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    return buf.getvalue()


@unittest.skipUnless(LIB and os.path.exists(LIB), "TIDEPOOL_SAMPLE_HANDLERS not built")
class CrashCase(TidepoolTestCase):
    tidepool_args = ("--handlers", LIB)
    tidepool_kwargs = {"config": {"lambda": {"handler_watchdog_ms": 300}}}

    def setUp(self):
        super().setUp()
        self.tidepool.reset()
        self.lam = self.client("lambda", retries=0)
        self.ddb = self.client("dynamodb", retries=0)
        self.sqs = self.client("sqs", retries=0)

    def function(self, name="crashy", handler="sample.crashy", **kw):
        return self.lam.create_function(
            FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler=handler,
            Code={"ZipFile": zip_bytes()}, **kw)["FunctionArn"]

    def invoke(self, text, name="crashy", **kw):
        r = self.lam.invoke(FunctionName=name, Payload=json.dumps({"text": text}), **kw)
        r["body"] = json.loads(r["Payload"].read())
        return r

    def invocations(self, function="crashy"):
        status, out = self.tidepool.control("GET", "/_tidepool/invocations?function=%s" % function)
        self.assertEqual(status, 200, out)
        return out["invocations"]

    def run_until_idle(self):
        status, out = self.tidepool.control("POST", "clock", {"until_idle_ms": IDLE_MS})
        self.assertEqual(status, 200, out)

    def assert_serving(self):
        """Other requests still get their answers: DynamoDB, control, and
        another function's invocation."""
        self.assertIn("TableNames", self.ddb.list_tables())
        self.assertEqual(self.tidepool.control("GET", "health")[0], 200)
        r = self.invoke("fine")
        self.assertNotIn("FunctionError", r)
        self.assertIn("inits", r["body"])

    def trace(self, kind):
        status, _, data = self.tidepool.raw("GET", "/_tidepool/trace")
        self.assertEqual(status, 200)
        events = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
        return [e for e in events if e["type"] == kind]


class TestInvoke(CrashCase):
    def test_each_crash_is_lambdas_runtime_exit_error(self):
        self.function()
        for kind, signal_name in CRASHES:
            with self.subTest(kind=kind):
                r = self.invoke("crash-" + kind)
                self.assertEqual(r["StatusCode"], 200)
                self.assertEqual(r["FunctionError"], "Unhandled")
                inv = self.invocations()[-1]
                self.assertEqual(r["body"], {
                    "errorMessage": "RequestId: %s Error: Runtime exited with error: signal: %s"
                                    % (inv["request_id"], signal_name),
                    "errorType": "Runtime.ExitError"})
                self.assertEqual((inv["outcome"], inv["error_type"]), ("error", "Runtime.ExitError"))
                self.assertRegex(inv["request_id"], UUID)
                self.assert_serving()

    def test_log_tail_ends_with_lambdas_exit_lines(self):
        self.function()
        r = self.invoke("crash-abort", LogType="Tail")
        log = base64.b64decode(r["LogResult"]).decode()
        rid = self.invocations()[-1]["request_id"]
        self.assertRegex(log, r"REPORT RequestId: %s\t[^\n]*\n"
                              r"RequestId: %s Error: Runtime exited with error: signal: aborted\n"
                              r"Runtime.ExitError\n$" % (rid, rid))

    def test_next_invocation_after_a_crash_is_a_cold_start(self):
        self.function()
        n = self.invoke("hello")["body"]["inits"]   # a cold start (the reset discarded all)
        self.assertEqual(self.invoke("hello")["body"], {"inits": n})   # warm
        self.assertEqual(self.invoke("crash-segv")["FunctionError"], "Unhandled")
        self.assertEqual(self.invoke("hello")["body"], {"inits": n + 1})   # init ran again
        self.assertEqual(self.invoke("hello")["body"], {"inits": n + 1})
        ends = self.trace("invoke_end")
        self.assertEqual([bool(e.get("cold_start")) for e in ends[-5:]],
                         [True, False, False, True, False])
        self.assertEqual(ends[-3].get("signal"), 11)

    def test_crash_after_a_tidepool_call_leaves_the_engine_unlocked(self):
        self.function()
        r = self.invoke("crash-in-call crash-fpe")
        self.assertEqual(r["body"]["errorType"], "Runtime.ExitError")
        self.assertEqual(self.invocations()[-1]["calls"], 1)
        self.assert_serving()

    def test_spinning_handler_times_out_on_the_virtual_clock(self):
        self.function(Timeout=3)
        n = self.invoke("warm")["body"]["inits"]
        start = self.tidepool.now_ms()
        r = self.invoke("crash-spin spin-1.5")
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertRegex(r["body"]["errorMessage"], r"^\S+ %s Task timed out after 3.00 seconds$" % UUID)
        self.assertNotIn("errorType", r["body"])
        inv = self.invocations()[-1]
        self.assertEqual((inv["outcome"], inv["duration_ms"]), ("timeout", 3000))
        self.assertGreaterEqual(self.tidepool.now_ms(), start + 3000)
        self.assertEqual(len(self.trace("invoke_watchdog")), 1)
        # the timed-out instance was discarded
        self.assertEqual(self.invoke("after")["body"], {"inits": n + 1})
        self.assert_serving()


class TestMappings(CrashCase):
    def queue(self, name, **attrs):
        url = self.sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def test_stream_mapping_bisects_to_the_crashing_record_and_sends_it_on_failure(self):
        failures_url, failures_arn = self.queue("failures")
        stream = self.ddb.create_table(
            TableName="orders", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )["TableDescription"]["LatestStreamArn"]
        self.tidepool.advance(1000)
        self.function()
        for pk in ("o1", "o2", "crash-segv", "o4"):
            self.ddb.put_item(TableName="orders", Item={"pk": {"S": pk}})
        self.lam.create_event_source_mapping(
            FunctionName="crashy", EventSourceArn=stream, StartingPosition="TRIM_HORIZON",
            BatchSize=4, MaximumRetryAttempts=0, BisectBatchOnFunctionError=True,
            DestinationConfig={"OnFailure": {"Destination": failures_arn}})
        self.run_until_idle()
        invs = self.invocations()
        keys = [[rec["dynamodb"]["Keys"]["pk"]["S"] for rec in i["event"]["Records"]] for i in invs]
        failed = [k for k, i in zip(keys, invs) if i["outcome"] == "error"]
        self.assertEqual(failed, [["o1", "o2", "crash-segv", "o4"], ["crash-segv", "o4"], ["crash-segv"]])
        for i in invs:
            if i["outcome"] == "error":
                self.assertEqual(i["error_type"], "Runtime.ExitError")
        ok = sorted(k for ks, i in zip(keys, invs) if i["outcome"] == "success" for k in ks)
        self.assertEqual(ok, ["o1", "o2", "o4"])
        msgs = self.sqs.receive_message(QueueUrl=failures_url, MaxNumberOfMessages=10).get("Messages", [])
        self.assertEqual(len(msgs), 1)
        record = json.loads(msgs[0]["Body"])
        self.assertEqual(record["DDBStreamBatchInfo"]["batchSize"], 1)
        self.assertEqual(record["responseContext"]["functionError"], "Unhandled")
        self.assert_serving()

    def test_sqs_mapping_retries_the_crashing_message_then_redrives_it(self):
        dlq_url, dlq_arn = self.queue("dead")
        url, arn = self.queue("jobs", VisibilityTimeout=5, RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}))
        self.function()
        self.sqs.send_message(QueueUrl=url, MessageBody="crash-abort")
        self.sqs.send_message(QueueUrl=url, MessageBody="fine")
        self.lam.create_event_source_mapping(FunctionName="crashy", EventSourceArn=arn, BatchSize=1)
        for _ in range(4):
            self.run_until_idle()
            self.tidepool.advance(6000)
        self.run_until_idle()
        invs = self.invocations()
        bodies = [(i["event"]["Records"][0]["body"], i["outcome"], i["error_type"]) for i in invs]
        self.assertEqual(sorted(bodies, key=str), sorted([
            ("crash-abort", "error", "Runtime.ExitError"),
            ("crash-abort", "error", "Runtime.ExitError"),
            ("fine", "success", None)], key=str))
        crashed = [i for i in invs if i["outcome"] == "error"]
        self.assertEqual([i["event"]["Records"][0]["attributes"]["ApproximateReceiveCount"] for i in crashed],
                         ["1", "2"])
        msgs = self.sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
        self.assertEqual([m["Body"] for m in msgs], ["crash-abort"])
        self.assert_serving()


@unittest.skipUnless(LIB and os.path.exists(LIB), "TIDEPOOL_SAMPLE_HANDLERS not built")
class TestRealClock(CrashCase):
    tidepool_kwargs = {"clock": "real"}

    def test_crash_and_spin_on_the_real_clock(self):
        self.function(Timeout=1)
        r = self.invoke("crash-ill")
        self.assertEqual(r["body"]["errorType"], "Runtime.ExitError")
        self.assertTrue(r["body"]["errorMessage"].endswith("signal: illegal instruction"))
        # computes for 2 s: the 1 s timeout answers first; the thread is
        # abandoned (it runs out on its own) and the instance discarded
        r = self.invoke("crash-spin spin-2")
        self.assertRegex(r["body"]["errorMessage"], r"Task timed out after 1.00 seconds$")
        self.assert_serving()

    def test_parallel_crashes_on_the_real_clock(self):
        # invocations truly run in parallel here: crashes on several threads
        # at once, some right after a tp_call, among healthy ones
        self.function()
        texts = ["crash-%s" % k for k, _ in CRASHES] + ["crash-in-call crash-segv", "fine", "fine"]
        texts *= 3
        def one(text):
            lam = self.client("lambda", retries=0)
            r = lam.invoke(FunctionName="crashy", Payload=json.dumps({"text": text}))
            return text, r.get("FunctionError"), json.loads(r["Payload"].read())
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, texts))
        for text, function_error, body in results:
            if text == "fine":
                self.assertIsNone(function_error)
                self.assertIn("inits", body)
            else:
                self.assertEqual((function_error, body["errorType"]), ("Unhandled", "Runtime.ExitError"), text)
        self.assert_serving()


if __name__ == "__main__":
    unittest.main()
