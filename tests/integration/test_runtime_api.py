"""test_runtime_api — handlers in any language through the Lambda Runtime API.

Spec (README "Handlers in any language"): a function whose config entry has
"command" (or whose zip has a `bootstrap`) runs as a process that tidepool
starts with Lambda's environment and serves the Runtime API to; its SDK
calls (AWS_ENDPOINT_URL, its session token) run as the invocation. Warm
instances are reused; a crash is Runtime.ExitError, a deadline kills the
process ("Task timed out after N.NN seconds"), init errors fail the
invocation with the runtime's error. Driven by Invoke (boto3, AWS CLI)
and a DynamoDB stream mapping, on the virtual clock.
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from tidepool import TidepoolTestCase, source_dir

HERE = os.path.dirname(os.path.abspath(__file__))
PY_DIR = os.path.join(HERE, "runtime", "python")
NODE_DIR = os.path.join(HERE, "runtime", "node")
NODE_MODULES = os.path.join(HERE, "js", "node_modules")
HAVE_NODE = shutil.which("node") is not None and os.path.isdir(
    os.path.join(NODE_MODULES, "@aws-sdk", "client-dynamodb"))


def py_fn(name, timeout=3, env=None):
    return {"FunctionName": name, "Runtime": "python3.12", "Handler": "handler.handle",
            "Timeout": timeout, "command": "python3 handler.py", "code_dir": PY_DIR,
            "Environment": {"Variables": env or {"GREETING": "hello"}}}


CONFIG = {"lambda": {"functions": [
    py_fn("py"),
    py_fn("py-slow", timeout=1),
    py_fn("py-init-error", env={"INIT_FAIL": "1"}),
    py_fn("py-init-exit", env={"INIT_EXIT": "2"}),
    {"FunctionName": "node", "Runtime": "nodejs20.x", "Handler": "index.handler",
     "command": "node index.js", "code_dir": NODE_DIR, "Timeout": 10,
     "Environment": {"Variables": {"NODE_PATH": NODE_MODULES, "OUT_TABLE": "out"}}},
]}}


class TestRuntimeApi(TidepoolTestCase):
    tidepool_kwargs = {"clock": "virtual", "config": CONFIG}

    def setUp(self):
        super().setUp()
        self.lam = self.client("lambda")

    def invoke(self, fn, event, tail=False):
        kw = {"LogType": "Tail"} if tail else {}
        r = self.lam.invoke(FunctionName=fn, Payload=json.dumps(event).encode(), **kw)
        body = r["Payload"].read()
        return r, json.loads(body) if body else None

    def invocations(self, fn):
        status, body = self.tidepool.control("GET", "/_tidepool/invocations?function=" + fn)
        self.assertEqual(status, 200)
        return body if isinstance(body, list) else body["invocations"]

    def test_invoke_python_environment_and_logs(self):
        r, out = self.invoke("py", {"hello": "world"}, tail=True)
        self.assertNotIn("FunctionError", r)
        self.assertEqual(out["echo"], {"hello": "world"})
        env = out["env"]
        self.assertEqual(env["_HANDLER"], "handler.handle")
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_NAME"], "py")
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128")
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST")
        self.assertEqual(env["AWS_REGION"], "us-east-1")
        self.assertEqual(env["LAMBDA_TASK_ROOT"], os.path.realpath(PY_DIR))
        self.assertRegex(env["AWS_ENDPOINT_URL"], r"^http://127\.0\.0\.1:\d+$")
        self.assertEqual(env["GREETING"], "hello")
        self.assertTrue(env["AWS_SESSION_TOKEN"])
        self.assertTrue(out["arn"].endswith(":function:py"))
        self.assertTrue(out["has_deadline"])
        log = base64.b64decode(r["LogResult"]).decode()
        self.assertIn("START RequestId:", log)
        self.assertIn("init: python runtime starting", log)
        self.assertIn("handling ", log)
        self.assertIn("to stderr", log)
        self.assertIn("REPORT RequestId:", log)

    def test_warm_instance_is_reused(self):
        _, a = self.invoke("py", {"n": 1})
        _, b = self.invoke("py", {"n": 2})
        self.assertEqual(a["pid"], b["pid"])
        self.assertEqual(b["count"], a["count"] + 1)

    def test_function_error(self):
        r, out = self.invoke("py", {"fail": "bad input"})
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(out["errorType"], "ValueError")
        self.assertEqual(out["errorMessage"], "bad input")
        # the instance survives a function error
        _, a = self.invoke("py", {"n": 1})
        _, b = self.invoke("py", {"n": 2})
        self.assertEqual(a["pid"], b["pid"])

    def test_crash_is_runtime_exit_error_and_replaced(self):
        _, before = self.invoke("py", {"n": 1})
        r, out = self.invoke("py", {"crash": "segv"}, tail=True)
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(out["errorType"], "Runtime.ExitError")
        self.assertRegex(out["errorMessage"],
                         r"^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: "
                         r"signal: segmentation fault$")
        self.assertIn("Runtime.ExitError", base64.b64decode(r["LogResult"]).decode())
        r, out = self.invoke("py", {"exit": 3})
        self.assertEqual(out["errorType"], "Runtime.ExitError")
        self.assertTrue(out["errorMessage"].endswith("Runtime exited with error: exit status 3"))
        _, after = self.invoke("py", {"n": 2})
        self.assertNotEqual(before["pid"], after["pid"])
        self.assertEqual(after["count"], 1)   # a cold start: init ran again

    def test_timeout_kills_the_process(self):
        t0 = self.tidepool.now_ms()
        r, out = self.invoke("py-slow", {"forever": True})
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertRegex(out["errorMessage"], r"Task timed out after 1\.00 seconds$")
        # virtual time moved to the deadline, not beyond
        self.assertEqual(self.tidepool.now_ms() - t0, 1000)
        _, fresh = self.invoke("py-slow", {"n": 1})
        self.assertEqual(fresh["count"], 1)
        inv = self.invocations("py-slow")
        self.assertEqual([i["outcome"] for i in inv], ["timeout", "success"])

    def test_init_error(self):
        r, out = self.invoke("py-init-error", {})
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(out, {"errorMessage": "cannot import module 'missing'",
                               "errorType": "Runtime.ImportModuleError"})
        r, out = self.invoke("py-init-exit", {})
        self.assertEqual(out["errorType"], "Runtime.ExitError")
        self.assertTrue(out["errorMessage"].endswith("Runtime exited with error: exit status 2"))

    def test_invoke_with_aws_cli(self):
        d = tempfile.mkdtemp()
        try:
            path = os.path.join(d, "out.json")
            self.aws("lambda", "invoke", "--function-name", "py",
                     "--cli-binary-format", "raw-in-base64-out",
                     "--payload", json.dumps({"cli": True}), path)
            with open(path) as f:
                self.assertEqual(json.load(f)["echo"], {"cli": True})
        finally:
            shutil.rmtree(d)

    def make_stream_table(self, name):
        ddb = self.client()
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                         StreamSpecification={"StreamEnabled": True,
                                              "StreamViewType": "NEW_IMAGE"})
        return ddb, ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]

    def test_python_stream_mapping(self):
        ddb, arn = self.make_stream_table("src")
        self.lam.create_event_source_mapping(FunctionName="py", EventSourceArn=arn,
                                             StartingPosition="TRIM_HORIZON", BatchSize=10)
        for i in range(3):
            ddb.put_item(TableName="src", Item={"k": {"S": "k%d" % i}})
        self.tidepool.advance(2000)
        inv = self.invocations("py")
        self.assertEqual([i["outcome"] for i in inv], ["success"])
        self.assertEqual(len(inv[0]["response"]["ids"]), 3)

    @unittest.skipUnless(HAVE_NODE, "node or @aws-sdk/client-dynamodb missing")
    def test_node_stream_mapping_writes_through_the_sdk(self):
        ddb, arn = self.make_stream_table("src")
        ddb.create_table(TableName="out", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
        self.lam.create_event_source_mapping(FunctionName="node", EventSourceArn=arn,
                                             StartingPosition="TRIM_HORIZON", BatchSize=10)
        for i in range(3):
            ddb.put_item(TableName="src", Item={"k": {"S": "k%d" % i}, "v": {"N": str(i)}})
        t0 = self.tidepool.now_ms()
        self.tidepool.advance(2000)
        items = ddb.scan(TableName="out")["Items"]
        self.assertEqual(sorted(i["k"]["S"] for i in items), ["k0", "k1", "k2"])
        inv = self.invocations("node")
        self.assertEqual([i["outcome"] for i in inv], ["success"])
        # three PutItems through tp_call: three calls at the default 5 ms each
        self.assertEqual(inv[0]["calls"], 3)
        self.assertEqual(inv[0]["duration_ms"], 15)
        self.assertGreaterEqual(self.tidepool.now_ms() - t0, 2000)
        # and Invoke, from the same warm instance
        r, out = self.invoke("node", {"ping": 1})
        self.assertEqual(out["items"], 3)
        self.assertEqual(out["echo"], {"ping": 1})


if __name__ == "__main__":
    unittest.main()
