"""test_signatures — `tidepool serve --verify-signatures`: SigV4 signatures
checked against the secrets in the config ("auth": {"keys": {...}}), through
boto3 (DynamoDB's JSON protocol and SQS) and the AWS CLI v2. A wrong secret
is InvalidSignatureException, an unknown access key
UnrecognizedClientException, a signature more than 15 minutes older than
tidepool's clock "Signature expired: ...". Without the flag any secret
works (the default, covered by every other module).

The good/bad-secret tests run on the real clock (the CLI signs with the
wall clock); the expiry tests on the virtual clock, with botocore signing
at tidepool's start time."""
import contextlib
import datetime
import unittest

from tidepool import TidepoolTestCase

KEYS = {"AKIDGOOD": "good-secret", "111122223333": "other-secret"}
MISMATCH = ("The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.")


class Verifying(TidepoolTestCase):
    """Real clock: the AWS CLI (another process) signs with the wall clock."""
    tidepool_args = ("--verify-signatures",)
    tidepool_kwargs = {"config": {"auth": {"keys": KEYS}}, "clock": "real"}

    def good(self, service="dynamodb", **kw):
        return self.client(service, access_key="AKIDGOOD", secret_key="good-secret", retries=1, **kw)


@contextlib.contextmanager
def signing_at(when):
    """botocore signs as if the time were `when` (a naive UTC datetime):
    botocore.auth (old: datetime.datetime.utcnow, new:
    compat.get_current_datetime) and, where awscrt is installed, the CRT
    signer botocore.crt.auth."""
    import importlib
    dt_module = datetime

    class FrozenDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

        @classmethod
        def now(cls, tz=None):
            return when.replace(tzinfo=tz) if tz else when

    class FrozenModule:
        datetime = FrozenDatetime
        timezone = dt_module.timezone
        timedelta = dt_module.timedelta

    saved = []
    for name in ("botocore.auth", "botocore.crt.auth"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        saved.append((mod, "datetime", mod.datetime))
        mod.datetime = FrozenModule
        if hasattr(mod, "get_current_datetime"):
            saved.append((mod, "get_current_datetime", mod.get_current_datetime))
            mod.get_current_datetime = lambda remove_tzinfo=True: when
    try:
        yield
    finally:
        for mod, attr, value in saved:
            setattr(mod, attr, value)


class GoodSignatures(Verifying):
    def test_dynamodb_calls_with_the_right_secret(self):
        ddb = self.good()
        ddb.create_table(TableName="signed", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        ddb.put_item(TableName="signed", Item={"pk": {"S": "a"}, "v": {"S": "x y  z"}})
        self.assertEqual(ddb.get_item(TableName="signed", Key={"pk": {"S": "a"}})["Item"]["v"],
                         {"S": "x y  z"})
        self.assertIn("signed", ddb.list_tables()["TableNames"])

    def test_sqs_with_the_right_secret(self):
        sqs = self.good("sqs")
        url = sqs.create_queue(QueueName="signed-q")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        got = sqs.receive_message(QueueUrl=url)["Messages"]
        self.assertEqual(got[0]["Body"], "hello")

    def test_lambda_and_kinesis_with_the_right_secret(self):
        self.assertEqual(self.good("lambda").list_functions()["Functions"], [])
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:   # a path with a qualified name
            self.good("lambda").get_function(FunctionName="nothere:prod")
        self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceNotFoundException")
        kin = self.good("kinesis")
        self.assertEqual(kin.list_streams()["StreamNames"], [])

    def test_cli_v2_with_the_right_secret(self):
        rc, out, err = self.aws("dynamodb", "list-tables", access_key="AKIDGOOD",
                                secret_key="good-secret")
        self.assertEqual(rc, 0, err)
        self.assertIn("TableNames", out)

    def test_wrong_secret(self):
        bad = self.client("dynamodb", access_key="AKIDGOOD", secret_key="wrong", retries=1)
        self.assertAwsError(lambda: bad.list_tables(), "InvalidSignatureException", MISMATCH)

    def test_wrong_secret_through_the_cli(self):
        rc, out, err = self.aws("dynamodb", "list-tables", access_key="AKIDGOOD", secret_key="nope")
        self.assertNotEqual(rc, 0)
        self.assertIn("InvalidSignatureException", err)

    def test_unknown_access_key(self):
        who = self.client("dynamodb", access_key="AKIDNOBODY", secret_key="good-secret", retries=1)
        self.assertAwsError(lambda: who.list_tables(), "UnrecognizedClientException",
                            "The security token included in the request is invalid.")

    def test_refused_write_changes_nothing(self):
        ddb = self.good()
        ddb.create_table(TableName="guarded", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        bad = self.client("dynamodb", access_key="AKIDGOOD", secret_key="wrong", retries=1)
        self.assertAwsError(lambda: bad.put_item(TableName="guarded", Item={"pk": {"S": "a"}}),
                            "InvalidSignatureException", MISMATCH)
        self.assertNotIn("Item", ddb.get_item(TableName="guarded", Key={"pk": {"S": "a"}}))

    def test_missing_authorization_still_missing_token(self):
        status, _, body = self.tidepool.raw(
            "POST", "/", "{}", {"Content-Type": "application/x-amz-json-1.0",
                                "X-Amz-Target": "DynamoDB_20120810.ListTables"})
        self.assertEqual(status, 400)
        self.assertIn(b"MissingAuthenticationTokenException", body)


class ExpiredSignatures(TidepoolTestCase):
    """Virtual clock (2024-01-01T00:00:00Z): the client signs at that moment,
    then tidepool's clock moves on."""
    tidepool_args = ("--verify-signatures",)
    tidepool_kwargs = {"config": {"auth": {"keys": KEYS}}}
    START = datetime.datetime(2024, 1, 1, 0, 0, 0)

    def test_signature_older_than_15_minutes_on_tidepools_clock(self):
        ddb = self.client("dynamodb", access_key="AKIDGOOD", secret_key="good-secret", retries=1)
        with signing_at(self.START):
            ddb.list_tables()
            self.tidepool.advance(14 * 60 * 1000)
            ddb.list_tables()   # 14 minutes: still fine
            self.tidepool.advance(2 * 60 * 1000)
            self.assertAwsError(
                lambda: ddb.list_tables(), "InvalidSignatureException",
                "Signature expired: 20240101T000000Z is now earlier than 20240101T000100Z "
                "(20240101T001600Z - 15 min.)")

    def test_signature_from_the_future(self):
        ddb = self.client("dynamodb", access_key="AKIDGOOD", secret_key="good-secret", retries=1)
        with signing_at(self.START + datetime.timedelta(hours=1)):
            e = self.assertAwsError(lambda: ddb.list_tables(), "InvalidSignatureException")
        self.assertEqual(e.response["Error"]["Message"],
                         "Signature not yet current: 20240101T010000Z is still later than "
                         "20240101T001500Z (20240101T000000Z + 15 min.)")


if __name__ == "__main__":
    unittest.main()
