"""Lambda functions through real clients: boto3's `lambda` client and the
AWS CLI v2 against tidepool's Lambda REST API (restJson on the same port).

CreateFunction / GetFunction / GetFunctionConfiguration / ListFunctions
(Marker paging) / UpdateFunctionConfiguration / DeleteFunction, reserved
concurrency and GetAccountSettings, AWS's error codes, messages and HTTP
statuses, functions from the config file, and Invoke (RequestResponse with
the compiled-in "echo" handler, function errors, LogType Tail, Event with
Lambda's async retries on the virtual clock, DryRun)."""
import base64
import io
import json
import os
import unittest
import zipfile

from tidepool import TidepoolTestCase

ROLE = "arn:aws:iam::123456789012:role/lambda-role"
MIN = 60 * 1000


def account_for_key(key):
    """The account tidepool derives from an access key (tidepool/engine.h)."""
    if len(key) == 12 and key.isdigit():
        return key
    import hashlib
    v = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return "%012d" % (v % 10**12)


def zip_bytes(text="handler"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("handler.c", date_time=(2024, 1, 1, 0, 0, 0))
        z.writestr(info, text)
    return buf.getvalue()


class LambdaCase(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.lam = self.client("lambda", retries=1)
        self.account = account_for_key("AKIDTIDEPOOL")

    def create(self, name, **kw):
        args = dict(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="echo",
                    Code={"ZipFile": zip_bytes()})
        args.update(kw)
        return self.lam.create_function(**args)

    def arn(self, name):
        return "arn:aws:lambda:us-east-1:%s:function:%s" % (self.account, name)


class TestFunctions(LambdaCase):
    def test_create_answer(self):
        code = zip_bytes("some code")
        r = self.create("f1", Description="d", Timeout=30, MemorySize=256,
                        Environment={"Variables": {"GREETING": "hello"}},
                        Code={"ZipFile": code})
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 201)
        import hashlib
        self.assertEqual(r["CodeSha256"], base64.b64encode(hashlib.sha256(code).digest()).decode())
        self.assertEqual(r["CodeSize"], len(code))
        self.assertEqual(r["FunctionName"], "f1")
        self.assertEqual(r["FunctionArn"], self.arn("f1"))
        self.assertEqual(r["Runtime"], "provided.al2023")
        self.assertEqual(r["Role"], ROLE)
        self.assertEqual(r["Handler"], "echo")
        self.assertEqual(r["Description"], "d")
        self.assertEqual(r["Timeout"], 30)
        self.assertEqual(r["MemorySize"], 256)
        self.assertEqual(r["Version"], "$LATEST")
        self.assertEqual(r["Environment"], {"Variables": {"GREETING": "hello"}})
        self.assertEqual(r["PackageType"], "Zip")
        self.assertEqual(r["Architectures"], ["x86_64"])
        self.assertEqual(r["EphemeralStorage"], {"Size": 512})
        self.assertEqual(r["TracingConfig"], {"Mode": "PassThrough"})
        if "LoggingConfig" in r:   # older botocore models do not have it
            self.assertEqual(r["LoggingConfig"], {"LogFormat": "Text", "LogGroup": "/aws/lambda/f1"})
        self.assertEqual(r["SnapStart"], {"ApplyOn": "None", "OptimizationStatus": "Off"})
        # as AWS: the create answer says the function is being set up
        self.assertEqual(r["State"], "Pending")
        self.assertEqual(r["StateReasonCode"], "Creating")
        self.assertRegex(r["RevisionId"], r"^[0-9a-f-]{36}$")
        # tidepool's virtual clock starts at 2024-01-01
        self.assertEqual(r["LastModified"], "2024-01-01T00:00:00.000+0000")

    def test_defaults_and_get(self):
        self.create("f1")
        c = self.lam.get_function_configuration(FunctionName="f1")
        self.assertEqual(c["Timeout"], 3)
        self.assertEqual(c["MemorySize"], 128)
        self.assertEqual(c["Description"], "")
        self.assertEqual(c["State"], "Active")
        self.assertEqual(c["LastUpdateStatus"], "Successful")
        self.assertNotIn("Environment", c)
        g = self.lam.get_function(FunctionName="f1")
        self.assertEqual(g["Code"]["RepositoryType"], "S3")
        self.assertTrue(g["Code"]["Location"].startswith("https://"))
        self.assertEqual(g["Configuration"]["FunctionArn"], self.arn("f1"))
        self.assertNotIn("Concurrency", g)
        # by ARN, partial ARN and with $LATEST
        for ref in (self.arn("f1"), "%s:function:f1" % self.account, "f1:$LATEST"):
            self.assertEqual(self.lam.get_function(FunctionName=ref)["Configuration"]["FunctionName"], "f1")
        g = self.lam.get_function(FunctionName="f1", Qualifier="$LATEST")
        self.assertEqual(g["Configuration"]["Version"], "$LATEST")

    def test_tags(self):
        self.create("f1", Tags={"team": "a"})
        self.assertEqual(self.lam.get_function(FunctionName="f1")["Tags"], {"team": "a"})

    def test_not_found(self):
        for call in (lambda: self.lam.get_function(FunctionName="nope"),
                     lambda: self.lam.get_function_configuration(FunctionName="nope"),
                     lambda: self.lam.delete_function(FunctionName="nope"),
                     lambda: self.lam.update_function_configuration(FunctionName="nope", Timeout=5),
                     lambda: self.lam.get_function_concurrency(FunctionName="nope"),
                     lambda: self.lam.invoke(FunctionName="nope", Payload=b"{}")):
            e = self.assertAwsError(call, "ResourceNotFoundException",
                                    "Function not found: %s" % self.arn("nope"), status=404)
            # the modeled members of the error shape
            self.assertEqual(e.response.get("Type"), "User")
            self.assertEqual(e.response.get("Message"), "Function not found: %s" % self.arn("nope"))
            self.assertEqual(e.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"],
                             "ResourceNotFoundException")
        self.create("f1")
        self.assertAwsError(lambda: self.lam.get_function(FunctionName="f1", Qualifier="7"),
                            "ResourceNotFoundException",
                            "Function not found: %s:7" % self.arn("f1"), status=404)

    def test_conflict(self):
        self.create("f1")
        self.assertAwsError(lambda: self.create("f1"), "ResourceConflictException",
                            "Function already exist: f1", status=409)

    def test_handler_must_be_registered(self):
        e = self.assertAwsError(lambda: self.create("f1", Handler="index.handler"),
                                "InvalidParameterValueException", None, status=400)
        self.assertIn("'index.handler'", e.response["Error"]["Message"])
        self.assertIn("--handlers", e.response["Error"]["Message"])
        self.create("f1")
        self.assertAwsError(lambda: self.lam.update_function_configuration(FunctionName="f1", Handler="nope"),
                            "InvalidParameterValueException", None, status=400)

    def test_runtime_and_handler_required(self):
        self.assertAwsError(
            lambda: self.lam.create_function(FunctionName="f1", Role=ROLE, Code={"ZipFile": zip_bytes()}),
            "InvalidParameterValueException",
            "Runtime and Handler are mandatory parameters for functions created with deployment packages.")

    def test_timeout_bounds(self):
        self.assertAwsError(
            lambda: self.create("f1", Timeout=901), "ValidationException",
            "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: "
            "Member must have value less than or equal to 900")
        self.create("f1", Timeout=900)
        self.assertEqual(self.lam.get_function_configuration(FunctionName="f1")["Timeout"], 900)

    def test_model_validation(self):
        e = self.assertAwsError(lambda: self.lam.get_function(FunctionName="bad name!"),
                                "ValidationException", None)
        self.assertIn("'functionName'", e.response["Error"]["Message"])

    def test_list_paging(self):
        names = ["f%02d" % i for i in range(7)]
        for n in reversed(names):
            self.create(n)
        self.assertEqual([f["FunctionName"] for f in self.lam.list_functions()["Functions"]], names)
        seen, marker = [], None
        while True:
            kw = {"MaxItems": 3}
            if marker:
                kw["Marker"] = marker
            page = self.lam.list_functions(**kw)
            seen += [f["FunctionName"] for f in page["Functions"]]
            self.assertLessEqual(len(page["Functions"]), 3)
            marker = page.get("NextMarker")
            if not marker:
                break
        self.assertEqual(seen, names)
        pages = self.lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2})
        self.assertEqual([f["FunctionName"] for p in pages for f in p["Functions"]], names)
        f = self.lam.list_functions()["Functions"][0]
        self.assertEqual(f["State"], "Active")
        self.assertEqual(f["FunctionArn"], self.arn("f00"))

    def test_update(self):
        first = self.create("f1", Environment={"Variables": {"GREETING": "a"}})
        self.tidepool.advance(90 * 1000)
        r = self.lam.update_function_configuration(
            FunctionName="f1", Timeout=10, MemorySize=512, Description="new",
            Environment={"Variables": {"OTHER": "b"}})
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(r["LastUpdateStatus"], "InProgress")
        self.assertEqual(r["Timeout"], 10)
        self.assertEqual(r["MemorySize"], 512)
        self.assertEqual(r["Description"], "new")
        self.assertEqual(r["Environment"], {"Variables": {"OTHER": "b"}})
        self.assertEqual(r["LastModified"], "2024-01-01T00:01:30.000+0000")
        self.assertNotEqual(r["RevisionId"], first["RevisionId"])
        c = self.lam.get_function_configuration(FunctionName="f1")
        self.assertEqual(c["LastUpdateStatus"], "Successful")
        self.assertEqual(c["Timeout"], 10)
        self.assertEqual(c["RevisionId"], r["RevisionId"])
        self.assertAwsError(
            lambda: self.lam.update_function_configuration(FunctionName="f1", Timeout=4,
                                                           RevisionId=first["RevisionId"]),
            "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id. Call the "
            "GetFunction/GetAlias API to retrieve the latest Revision Id", status=412)

    def test_delete(self):
        self.create("f1")
        r = self.lam.delete_function(FunctionName="f1")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertAwsError(lambda: self.lam.get_function(FunctionName="f1"),
                            "ResourceNotFoundException",
                            "Function not found: %s" % self.arn("f1"), status=404)
        self.assertEqual(self.lam.list_functions()["Functions"], [])

    def test_isolated_per_access_key(self):
        self.create("f1")
        other = self.client("lambda", access_key="AKIDOTHER", retries=1)
        self.assertEqual(other.list_functions()["Functions"], [])


class TestConcurrency(LambdaCase):
    def test_reserved(self):
        self.create("f1")
        self.assertNotIn("ReservedConcurrentExecutions", self.lam.get_function_concurrency(FunctionName="f1"))
        r = self.lam.put_function_concurrency(FunctionName="f1", ReservedConcurrentExecutions=5)
        self.assertEqual(r["ReservedConcurrentExecutions"], 5)
        self.assertEqual(self.lam.get_function_concurrency(FunctionName="f1")["ReservedConcurrentExecutions"], 5)
        self.assertEqual(self.lam.get_function(FunctionName="f1")["Concurrency"],
                         {"ReservedConcurrentExecutions": 5})
        s = self.lam.get_account_settings()
        self.assertEqual(s["AccountLimit"]["ConcurrentExecutions"], 1000)
        self.assertEqual(s["AccountLimit"]["UnreservedConcurrentExecutions"], 995)
        self.assertEqual(s["AccountUsage"]["FunctionCount"], 1)
        r = self.lam.delete_function_concurrency(FunctionName="f1")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertNotIn("ReservedConcurrentExecutions", self.lam.get_function_concurrency(FunctionName="f1"))
        self.assertEqual(self.lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"], 1000)

    def test_unreserved_floor(self):
        self.create("f1")
        self.create("f2")
        self.lam.put_function_concurrency(FunctionName="f1", ReservedConcurrentExecutions=800)
        self.lam.put_function_concurrency(FunctionName="f2", ReservedConcurrentExecutions=100)
        msg = ("Specified ReservedConcurrentExecutions for function decreases account's "
               "UnreservedConcurrentExecution below its minimum value of [100].")
        self.assertAwsError(lambda: self.lam.put_function_concurrency(
            FunctionName="f2", ReservedConcurrentExecutions=101), "InvalidParameterValueException", msg)
        # replacing a function's own reservation does not count it twice
        self.lam.put_function_concurrency(FunctionName="f1", ReservedConcurrentExecutions=800)

    def test_account_code_size(self):
        code = zip_bytes("x" * 100)
        self.create("f1", Code={"ZipFile": code})
        self.assertEqual(self.lam.get_account_settings()["AccountUsage"]["TotalCodeSize"], len(code))


class TestAccountConcurrencySetting(LambdaCase):
    tidepool_kwargs = {"config": {"lambda": {"account_concurrency": 50}}}

    def test_small_account(self):
        self.create("f1")
        s = self.lam.get_account_settings()
        self.assertEqual(s["AccountLimit"]["ConcurrentExecutions"], 50)
        # below 100, all of it must stay unreserved
        self.assertAwsError(lambda: self.lam.put_function_concurrency(
            FunctionName="f1", ReservedConcurrentExecutions=1), "InvalidParameterValueException",
            "Specified ReservedConcurrentExecutions for function decreases account's "
            "UnreservedConcurrentExecution below its minimum value of [50].")


class TestConfigFunctions(LambdaCase):
    tidepool_kwargs = {"config": {"lambda": {"functions": [
        {"FunctionName": "from-config", "Handler": "echo", "Timeout": 60,
         "Environment": {"Variables": {"GREETING": "hi"}}},
        {"FunctionName": "other-region", "Handler": "echo", "region": "eu-west-1"},
        {"FunctionName": "reserved", "Handler": "echo", "ReservedConcurrentExecutions": 0},
    ]}}}

    def test_created_at_start_and_after_reset(self):
        for _ in range(2):
            c = self.lam.get_function_configuration(FunctionName="from-config")
            self.assertEqual(c["Handler"], "echo")
            self.assertEqual(c["Timeout"], 60)
            self.assertEqual(c["Environment"], {"Variables": {"GREETING": "hi"}})
            self.assertEqual(c["FunctionArn"], self.arn("from-config"))
            self.lam.delete_function(FunctionName="from-config")
            self.tidepool.reset()
        eu = self.client("lambda", region="eu-west-1", retries=1)
        self.assertEqual([f["FunctionName"] for f in eu.list_functions()["Functions"]], ["other-region"])

    def test_config_reserved_concurrency(self):
        c = self.lam.get_function_concurrency(FunctionName="reserved")
        self.assertEqual(c["ReservedConcurrentExecutions"], 0)
        with self.assertRaises(self.lam.exceptions.TooManyRequestsException) as cm:
            self.lam.invoke(FunctionName="reserved", Payload=b"{}")
        self.assertEqual(cm.exception.response["Error"]["Message"], "Rate Exceeded.")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 429)
        self.assertEqual(cm.exception.response["Reason"],
                         "ReservedFunctionConcurrentInvocationLimitExceeded")

    def test_config_env_reaches_handler(self):
        r = self.lam.invoke(FunctionName="from-config", Payload=b'{"getenv": true}')
        self.assertEqual(json.loads(r["Payload"].read()), {"env": "hi"})


class TestInvoke(LambdaCase):
    def test_request_response_echo(self):
        self.create("f1")
        r = self.lam.invoke(FunctionName="f1", Payload=b'{"a": [1, 2]}')
        self.assertEqual(r["StatusCode"], 200)
        self.assertEqual(r["ExecutedVersion"], "$LATEST")
        self.assertNotIn("FunctionError", r)
        self.assertEqual(json.loads(r["Payload"].read()), {"a": [1, 2]})

    def test_environment(self):
        self.create("f1", Environment={"Variables": {"GREETING": "hello"}})
        r = self.lam.invoke(FunctionName="f1", Payload=b'{"getenv": true}')
        self.assertEqual(json.loads(r["Payload"].read()), {"env": "hello"})

    def test_function_error(self):
        self.create("f1")
        r = self.lam.invoke(FunctionName="f1", Payload=b'{"fail": true, "message": "boom"}')
        self.assertEqual(r["StatusCode"], 200)
        self.assertEqual(r["FunctionError"], "Unhandled")
        body = json.loads(r["Payload"].read())
        self.assertEqual(body["errorMessage"], "boom")
        self.assertEqual(body["errorType"], "EchoError")

    def test_log_tail(self):
        self.create("f1")
        r = self.lam.invoke(FunctionName="f1", Payload=b'{}', LogType="Tail")
        log = base64.b64decode(r["LogResult"]).decode()
        self.assertIn("echo: 2 bytes", log)
        self.assertIn("START RequestId:", log)
        r = self.lam.invoke(FunctionName="f1", Payload=b'{}')
        self.assertNotIn("LogResult", r)

    def test_report_line_names_the_memory_size(self):
        self.create("small")
        self.create("big", MemorySize=512)
        for name, size in (("small", 128), ("big", 512)):
            r = self.lam.invoke(FunctionName=name, Payload=b'{}', LogType="Tail")
            report = [l for l in base64.b64decode(r["LogResult"]).decode().splitlines()
                      if l.startswith("REPORT ")]
            self.assertEqual(len(report), 1, report)
            self.assertIn("\tMemory Size: %d MB\t" % size, report[0])
        self.lam.update_function_configuration(FunctionName="big", MemorySize=1024)
        r = self.lam.invoke(FunctionName="big", Payload=b'{}', LogType="Tail")
        self.assertIn("\tMemory Size: 1024 MB\t", base64.b64decode(r["LogResult"]).decode())

    def test_dry_run(self):
        self.create("f1")
        r = self.lam.invoke(FunctionName="f1", InvocationType="DryRun")
        self.assertEqual(r["StatusCode"], 204)
        self.assertEqual(r["Payload"].read(), b"")

    def test_event(self):
        self.create("f1")
        r = self.lam.invoke(FunctionName="f1", InvocationType="Event", Payload=b'{"n": 1}')
        self.assertEqual(r["StatusCode"], 202)
        self.assertEqual(r["Payload"].read(), b"")
        self.tidepool.advance(1000)
        _, body = self.tidepool.control("GET", "/_tidepool/invocations?function=f1")
        invs = body["invocations"]
        self.assertEqual(len(invs), 1)
        self.assertEqual(invs[0]["event"], {"n": 1})
        self.assertEqual(invs[0]["outcome"], "success")

    def test_event_retries_twice(self):
        self.create("f1")
        self.lam.invoke(FunctionName="f1", InvocationType="Event", Payload=b'{"fail": true}')

        def count():
            _, body = self.tidepool.control("GET", "/_tidepool/invocations?function=f1")
            return len(body["invocations"])

        self.tidepool.advance(1000)
        self.assertEqual(count(), 1)
        self.tidepool.advance(MIN - 2000)
        self.assertEqual(count(), 1)
        self.tidepool.advance(2000)            # one minute after the first attempt
        self.assertEqual(count(), 2)
        self.tidepool.advance(2 * MIN)         # two minutes after the second
        self.assertEqual(count(), 3)
        self.tidepool.advance(10 * MIN)        # and no more
        self.assertEqual(count(), 3)

    def test_payload_limits(self):
        self.create("f1")
        self.assertAwsError(
            lambda: self.lam.invoke(FunctionName="f1", Payload=b'"' + b"x" * 6291456 + b'"'),
            "RequestEntityTooLargeException",
            "Request must be smaller than 6291456 bytes for the InvokeFunction operation", status=413)
        self.assertAwsError(
            lambda: self.lam.invoke(FunctionName="f1", InvocationType="Event",
                                    Payload=b'"' + b"x" * 1048576 + b'"'),
            "RequestEntityTooLargeException",
            "Request must be smaller than 1048576 bytes for the InvokeAsync operation", status=413)

    def test_payload_must_be_json(self):
        self.create("f1")
        self.assertAwsError(lambda: self.lam.invoke(FunctionName="f1", Payload=b"{nope"),
                            "InvalidRequestContentException",
                            "Could not parse request body into json: Could not parse payload into json")


class TestFrontDoor(LambdaCase):
    def test_unknown_path(self):
        for method, path in (("GET", "/2015-03-31/nothing-here"),
                             ("PATCH", "/2015-03-31/functions/f1"),
                             ("GET", "/2016-08-19/account-settings/extra")):
            status, headers, _body = self.tidepool.raw(method, path)
            self.assertEqual(status, 404, (method, path))
            self.assertEqual(headers["x-amzn-errortype"], "UnknownOperationException")

    def test_other_api_dates_route_to_lambda(self):
        # GetAccountSettings lives under /2016-08-19/, the concurrency calls
        # under /2017-10-31/ and /2019-09-30/
        self.create("f1")
        self.lam.put_function_concurrency(FunctionName="f1", ReservedConcurrentExecutions=2)
        self.assertEqual(self.lam.get_function_concurrency(FunctionName="f1")["ReservedConcurrentExecutions"], 2)
        self.assertIn("AccountLimit", self.lam.get_account_settings())

    def test_request_id_header(self):
        r = self.lam.list_functions()
        self.assertRegex(r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"], r"^[0-9a-f-]{36}$")


class TestCli(LambdaCase):
    def test_create_list_invoke(self):
        path = os.path.join(self.tidepool._tmp, "fn.zip")
        with open(path, "wb") as f:
            f.write(zip_bytes())
        rc, out, err = self.aws("lambda", "create-function", "--function-name", "cli-fn",
                                "--runtime", "provided.al2023", "--role", ROLE,
                                "--handler", "echo", "--zip-file", "fileb://" + path,
                                "--timeout", "20", expect_rc=0)
        self.assertEqual(out["FunctionName"], "cli-fn")
        self.assertEqual(out["Timeout"], 20)
        rc, out, err = self.aws("lambda", "list-functions", expect_rc=0)
        self.assertEqual([f["FunctionName"] for f in out["Functions"]], ["cli-fn"])
        rc, out, err = self.aws("lambda", "get-function", "--function-name", "nope")
        self.assertEqual(rc, 254)
        self.assertIn("ResourceNotFoundException", err)
        self.assertIn("Function not found: %s" % self.arn("nope"), err)
        outfile = os.path.join(self.tidepool._tmp, "out.json")
        rc, out, err = self.aws("lambda", "invoke", "--function-name", "cli-fn",
                                "--cli-binary-format", "raw-in-base64-out",
                                "--payload", '{"hello": "cli"}', outfile, expect_rc=0)
        self.assertEqual(out["StatusCode"], 200)
        with open(outfile) as f:
            self.assertEqual(json.load(f), {"hello": "cli"})


if __name__ == "__main__":
    unittest.main()
