"""test_process_isolation — "isolation": "process": a C handler in a worker
process of its own (tidepool-worker: the Runtime API loop of
libtidepool-lambda with the built-in and --handlers handlers).

Spec (README "Isolation: a worker process per function"): the handler
runs in tidepool-worker, so a crash ends the worker, not tidepool (the
invocation fails with Runtime.ExitError and the next one cold-starts), a
handler that computes forever is killed at its timeout, and tp_call,
tp_sleep_ms and tp_remaining_ms work across the process on tidepool's
virtual clock, exactly as in-process. The in-process default is untouched.
"""
import base64
import json
import os
import unittest

from tidepool import TidepoolTestCase, binary_path

LIB = os.environ.get("TIDEPOOL_ISOLATED_HANDLERS") or os.path.join(
    os.path.dirname(binary_path()), "libtp_isolated_handlers.so")
WORKER = os.path.join(os.path.dirname(binary_path()), "tidepool-worker")


def fn(name, handler, timeout=3):
    return {"FunctionName": name, "Handler": handler, "Timeout": timeout,
            "isolation": "process"}


CONFIG = {"lambda": {"functions": [
    fn("echo-isolated", "echo"),
    {"FunctionName": "echo-inprocess", "Handler": "echo"},
    fn("segv", "isolated.segv"),
    fn("spin", "isolated.spin", timeout=1),
    fn("sleepy", "isolated.sleepy"),
]}}


@unittest.skipUnless(os.path.exists(LIB) and os.path.exists(WORKER),
                     "tidepool-worker or the isolated handlers are not built")
class TestProcessIsolation(TidepoolTestCase):
    tidepool_args = ("--handlers", LIB)
    tidepool_kwargs = {"clock": "virtual", "config": CONFIG}

    def setUp(self):
        super().setUp()
        self.lam = self.client("lambda")

    def invoke(self, name, event):
        r = self.lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(),
                            LogType="Tail")
        return r, json.loads(r["Payload"].read()), base64.b64decode(r["LogResult"]).decode()

    def invocations(self, name):
        status, body = self.tidepool.control("GET", "/_tidepool/invocations?function=" + name)
        return body["invocations"]

    def test_builtin_handler_in_a_worker_answers_as_in_process(self):
        r, out, log = self.invoke("echo-isolated", {"x": 1})
        r2, out2, log2 = self.invoke("echo-inprocess", {"x": 1})
        self.assertEqual(out, out2)
        self.assertEqual(out, {"x": 1})
        self.assertRegex(log, r"\tINFO\techo: 8 bytes\n")
        self.assertRegex(log2, r"\tINFO\techo: 8 bytes\n")
        r, out, _ = self.invoke("echo-isolated", {"fail": True, "message": "m"})
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(out, {"errorMessage": "m", "errorType": "EchoError"})

    def test_crash_ends_the_worker_not_tidepool(self):
        r, out, log = self.invoke("segv", {})
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(out["errorType"], "Runtime.ExitError")
        self.assertRegex(out["errorMessage"], r"^RequestId: [0-9a-f-]{36} Error: Runtime exited "
                                              r"with error: signal: segmentation fault$")
        self.assertIn("about to crash", log)
        self.client().list_tables()   # tidepool still serves
        r, out, _ = self.invoke("segv", {})   # a fresh worker, same story
        self.assertEqual(out["errorType"], "Runtime.ExitError")
        _, out, _ = self.invoke("echo-isolated", {"still": "here"})
        self.assertEqual(out, {"still": "here"})

    def test_spinning_handler_is_killed_at_its_timeout(self):
        t0 = self.tidepool.now_ms()
        r, out, _ = self.invoke("spin", {})
        self.assertRegex(out["errorMessage"], r"Task timed out after 1\.00 seconds$")
        self.assertEqual(self.tidepool.now_ms() - t0, 1000)
        self.assertEqual([i["outcome"] for i in self.invocations("spin")], ["timeout"])

    def test_virtual_clock_and_tp_call_across_the_process(self):
        ddb = self.client()
        ddb.create_table(TableName="isolated", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        t0 = self.tidepool.now_ms()
        r, out, _ = self.invoke("sleepy", {})
        self.assertNotIn("FunctionError", r, out)
        # 500 ms of tp_sleep_ms and one PutItem at the default 5 ms, on the virtual clock
        self.assertEqual(out, {"remaining_before": 3000, "remaining_after": 2495})
        inv = self.invocations("sleepy")
        self.assertEqual(inv[0]["duration_ms"], 505)
        self.assertEqual(inv[0]["calls"], 1)
        self.assertEqual(self.tidepool.now_ms() - t0, 505)
        self.assertEqual(ddb.scan(TableName="isolated")["Count"], 1)


if __name__ == "__main__":
    unittest.main()
