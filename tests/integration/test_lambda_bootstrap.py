"""test_lambda_bootstrap — the C handler of handlers/ as an AWS Lambda
bootstrap (libtidepool-lambda, `make lambda-zip`), run inside tidepool.

Spec (README "The same C handler on AWS Lambda"): a provided.al2023 zip
whose bootstrap is handlers/echo.c or handlers/idempotent_writer.c linked
with libtidepool-lambda runs as a process handler: it talks to tidepool's
Runtime API, and its tp_call reaches tidepool over HTTP with real SigV4
signatures (the server runs --verify-signatures, so a wrong signature
would fail the call), with the function's session credentials. The
virtual clock starts at the wall clock (--clock-start now) so the
signatures' dates are current.
"""
import base64
import hashlib
import io
import json
import os
import unittest
import zipfile

from tidepool import TidepoolTestCase, binary_path

BUILD = os.path.dirname(binary_path())


def account_for_key(key):
    """tidepool's account id of an access key (engine.c tp_account_for_key)."""
    v = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return "%012d" % (v % 10**12)


ACCOUNT = account_for_key("AKIDTIDEPOOL")
KEYS = {"AKIDTIDEPOOL": "secret", ACCOUNT: "function-secret"}


def bootstrap_zip(name):
    path = os.path.join(BUILD, "bootstrap_" + name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        with open(path, "rb") as f:
            z.writestr(info, f.read())
    return buf.getvalue()


@unittest.skipUnless(os.path.exists(os.path.join(BUILD, "bootstrap_echo")),
                     "bootstraps not built (libcurl missing?)")
class TestLambdaBootstrap(TidepoolTestCase):
    tidepool_args = ("--verify-signatures", "--clock-start", "now")
    tidepool_kwargs = {"clock": "virtual", "config": {"auth": {"keys": KEYS}}}

    def setUp(self):
        super().setUp()
        self.lam = self.client("lambda")
        self.ddb = self.client()

    def create(self, name, handler_zip, env=None):
        self.lam.create_function(
            FunctionName=name, Runtime="provided.al2023", Handler="bootstrap",
            Role="arn:aws:iam::%s:role/r" % ACCOUNT, Timeout=5,
            Code={"ZipFile": bootstrap_zip(handler_zip)},
            Environment={"Variables": env or {}})

    def test_echo_bootstrap(self):
        self.create("echo-zip", "echo", {"GREETING": "hi from the zip"})
        r = self.lam.invoke(FunctionName="echo-zip", Payload=b'{"a":[1,2]}', LogType="Tail")
        self.assertNotIn("FunctionError", r)
        self.assertEqual(json.loads(r["Payload"].read()), {"a": [1, 2]})
        log = base64.b64decode(r["LogResult"]).decode()
        self.assertRegex(log, r"\tINFO\techo: 11 bytes\n")
        r = self.lam.invoke(FunctionName="echo-zip", Payload=b'{"getenv":true}')
        self.assertEqual(json.loads(r["Payload"].read()), {"env": "hi from the zip"})
        r = self.lam.invoke(FunctionName="echo-zip", Payload=b'{"fail":true,"message":"no"}')
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(json.loads(r["Payload"].read()),
                         {"errorMessage": "no", "errorType": "EchoError"})

    def test_idempotent_writer_bootstrap_calls_back_signed(self):
        self.ddb.create_table(
            TableName="accounts", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            StreamSpecification={"StreamEnabled": True,
                                 "StreamViewType": "NEW_AND_OLD_IMAGES"})
        self.ddb.create_table(
            TableName="ledger", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "account", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "account", "KeyType": "HASH"}])
        arn = self.ddb.describe_table(TableName="accounts")["Table"]["LatestStreamArn"]
        self.create("writer-zip", "idempotent_writer")
        self.lam.create_event_source_mapping(FunctionName="writer-zip", EventSourceArn=arn,
                                             StartingPosition="TRIM_HORIZON", BatchSize=10)
        self.ddb.put_item(TableName="accounts", Item={"id": {"S": "a"}, "balance": {"N": "10"}})
        self.ddb.put_item(TableName="accounts", Item={"id": {"S": "a"}, "balance": {"N": "25"}})
        self.ddb.put_item(TableName="accounts", Item={"id": {"S": "b"}, "balance": {"N": "7"}})
        self.tidepool.advance(2000)
        rows = {i["account"]["S"]: i for i in self.ddb.scan(TableName="ledger")["Items"]}
        self.assertEqual(rows["a"]["applied_total"], {"N": "25"})
        self.assertEqual(rows["a"]["entry_count"], {"N": "2"})
        self.assertEqual(rows["b"]["applied_total"], {"N": "7"})
        status, body = self.tidepool.control("GET", "/_tidepool/invocations?function=writer-zip")
        inv = body["invocations"]
        self.assertEqual([i["outcome"] for i in inv], ["success"])
        self.assertEqual(inv[0]["calls"], 3)   # each UpdateItem went through tidepool's tp_call


if __name__ == "__main__":
    unittest.main()
