"""test_handler_library — C handlers loaded from a shared library.

Spec: `tidepool serve --handlers lib.so` dlopen()s the library and calls its
tp_handlers_init, which registers handlers by name; a function whose Handler
names one runs it, and its tp_call reaches the same tables clients see.
A library that cannot be loaded stops tidepool at start with a clear
message. (The library is tests/integration/sample_handlers.c.)
"""
import base64
import io
import json
import os
import subprocess
import unittest
import zipfile

from tidepool import TidepoolTestCase, binary_path, free_port

LIB = os.environ.get("TIDEPOOL_SAMPLE_HANDLERS", "")


def zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    return buf.getvalue()


@unittest.skipUnless(LIB and os.path.exists(LIB), "TIDEPOOL_SAMPLE_HANDLERS not built")
class TestHandlerLibrary(TidepoolTestCase):
    tidepool_args = ("--handlers", LIB)

    def setUp(self):
        super().setUp()
        self.tidepool.reset()
        self.lam = self.client("lambda")
        self.lam.create_function(
            FunctionName="upper", Runtime="provided.al2023",
            Role="arn:aws:iam::123456789012:role/r", Handler="sample.upper",
            Code={"ZipFile": zip_bytes()})

    def test_invoke_runs_the_library_handler(self):
        r = self.lam.invoke(FunctionName="upper", Payload=json.dumps({"text": "tide"}))
        self.assertEqual(r["StatusCode"], 200)
        self.assertNotIn("FunctionError", r)
        self.assertEqual(json.loads(r["Payload"].read()), {"upper": "TIDE"})

    def test_handler_calls_reach_dynamodb(self):
        ddb = self.client()
        ddb.create_table(
            TableName="words",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST")
        self.tidepool.advance(1000)
        r = self.lam.invoke(FunctionName="upper", LogType="Tail",
                            Payload=json.dumps({"text": "pool", "table": "words"}))
        self.assertNotIn("FunctionError", r)
        item = ddb.get_item(TableName="words", Key={"pk": {"S": "POOL"}})["Item"]
        log = base64.b64decode(r["LogResult"]).decode()
        # the request id the handler saw is the one Lambda's log frame names
        self.assertIn("START RequestId: %s" % item["by"]["S"], log)
        self.assertIn("upper-cased 4 bytes", log)

    def test_handler_error_is_a_function_error(self):
        r = self.lam.invoke(FunctionName="upper", Payload=b"{}")
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(json.loads(r["Payload"].read()),
                         {"errorType": "BadEvent", "errorMessage": "no text"})


class TestBadLibrary(unittest.TestCase):
    def test_unloadable_library_stops_startup(self):
        p = subprocess.run([binary_path(), "serve", "--port", str(free_port()), "--handlers", "/nonexistent/x.so"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("cannot load /nonexistent/x.so", p.stderr.decode())


if __name__ == "__main__":
    unittest.main()
