"""Event source mappings through real clients: boto3's `lambda` client and
the AWS CLI v2 against tidepool's Lambda REST API, on the virtual clock.

CreateEventSourceMapping / GetEventSourceMapping / ListEventSourceMappings
(filters, Marker paging) / UpdateEventSourceMapping /
DeleteEventSourceMapping with AWS's shapes and 202 answers, the state
transitions (Creating -> Enabled, Disabling -> Disabled, Deleting -> gone)
as virtual time moves, AWS's error codes, messages and HTTP statuses, and a
DynamoDB stream delivered to the compiled-in "echo" handler."""
import io
import json
import unittest
import zipfile

from tidepool import TidepoolTestCase

ROLE = "arn:aws:iam::123456789012:role/lambda-role"


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


class MappingCase(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.lam = self.client("lambda", retries=1)
        self.ddb = self.client("dynamodb", retries=1)
        self.account = account_for_key("AKIDTIDEPOOL")

    def table(self, name="orders"):
        r = self.ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        self.tidepool.advance(1000)
        return r["TableDescription"]["LatestStreamArn"]

    def function(self, name="consumer"):
        self.lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE,
                                 Handler="echo", Code={"ZipFile": zip_bytes()})
        return "arn:aws:lambda:us-east-1:%s:function:%s" % (self.account, name)

    def mapping(self, stream, fn="consumer", **kw):
        args = dict(FunctionName=fn, EventSourceArn=stream, StartingPosition="TRIM_HORIZON")
        args.update(kw)
        return self.lam.create_event_source_mapping(**args)


class TestCrud(MappingCase):
    def test_create_answer_and_states(self):
        stream = self.table()
        fn_arn = self.function()
        r = self.mapping(stream, BatchSize=10)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 202)
        self.assertEqual(r["State"], "Creating")
        self.assertEqual(r["StateTransitionReason"], "User action")
        self.assertEqual(r["StartingPosition"], "TRIM_HORIZON")
        self.assertEqual(r["BatchSize"], 10)
        self.assertEqual(r["MaximumBatchingWindowInSeconds"], 0)
        self.assertEqual(r["ParallelizationFactor"], 1)
        self.assertEqual(r["EventSourceArn"], stream)
        self.assertEqual(r["FunctionArn"], fn_arn)
        self.assertEqual(r["LastProcessingResult"], "No records processed")
        self.assertEqual(r["MaximumRecordAgeInSeconds"], -1)
        self.assertEqual(r["MaximumRetryAttempts"], -1)
        self.assertIs(r["BisectBatchOnFunctionError"], False)
        self.assertEqual(r["DestinationConfig"], {"OnFailure": {}})
        self.assertEqual(r["FunctionResponseTypes"], [])
        self.assertEqual(r["TumblingWindowInSeconds"], 0)
        self.assertEqual(len(r["UUID"]), 36)
        uuid = r["UUID"]

        self.tidepool.advance(1000)
        g = self.lam.get_event_source_mapping(UUID=uuid)
        self.assertEqual(g["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(g["State"], "Enabled")

        u = self.lam.update_event_source_mapping(UUID=uuid, BatchSize=50,
                                                 MaximumRetryAttempts=3)
        self.assertEqual(u["ResponseMetadata"]["HTTPStatusCode"], 202)
        self.assertEqual(u["State"], "Updating")
        self.assertEqual(u["BatchSize"], 50)
        self.tidepool.advance(1000)
        g = self.lam.get_event_source_mapping(UUID=uuid)
        self.assertEqual((g["State"], g["BatchSize"], g["MaximumRetryAttempts"]), ("Enabled", 50, 3))

        u = self.lam.update_event_source_mapping(UUID=uuid, Enabled=False)
        self.assertEqual(u["State"], "Disabling")
        self.tidepool.advance(1000)
        self.assertEqual(self.lam.get_event_source_mapping(UUID=uuid)["State"], "Disabled")
        u = self.lam.update_event_source_mapping(UUID=uuid, Enabled=True)
        self.assertEqual(u["State"], "Enabling")
        self.tidepool.advance(1000)
        self.assertEqual(self.lam.get_event_source_mapping(UUID=uuid)["State"], "Enabled")

        d = self.lam.delete_event_source_mapping(UUID=uuid)
        self.assertEqual(d["ResponseMetadata"]["HTTPStatusCode"], 202)
        self.assertEqual(d["State"], "Deleting")
        self.tidepool.advance(1000)
        self.assertAwsError(lambda: self.lam.get_event_source_mapping(UUID=uuid),
                            "ResourceNotFoundException",
                            "The resource you requested does not exist.", 404)

    def test_list_filters_and_paging(self):
        s1 = self.table("one")
        s2 = self.table("two")
        self.function("a")
        self.function("b")
        m1 = self.mapping(s1, fn="a")["UUID"]
        m2 = self.mapping(s2, fn="a")["UUID"]
        m3 = self.mapping(s1, fn="b")["UUID"]
        everything = self.lam.list_event_source_mappings()["EventSourceMappings"]
        self.assertEqual([m["UUID"] for m in everything], [m1, m2, m3])
        by_fn = self.lam.list_event_source_mappings(FunctionName="a")["EventSourceMappings"]
        self.assertEqual([m["UUID"] for m in by_fn], [m1, m2])
        by_src = self.lam.list_event_source_mappings(EventSourceArn=s1)["EventSourceMappings"]
        self.assertEqual([m["UUID"] for m in by_src], [m1, m3])
        both = self.lam.list_event_source_mappings(EventSourceArn=s1, FunctionName="b")
        self.assertEqual([m["UUID"] for m in both["EventSourceMappings"]], [m3])
        page = self.lam.list_event_source_mappings(MaxItems=2)
        self.assertEqual(len(page["EventSourceMappings"]), 2)
        rest = self.lam.list_event_source_mappings(MaxItems=2, Marker=page["NextMarker"])
        self.assertEqual([m["UUID"] for m in rest["EventSourceMappings"]], [m3])
        self.assertNotIn("NextMarker", rest)
        paged = [m["UUID"] for p in self.lam.get_paginator("list_event_source_mappings").paginate(
            PaginationConfig={"PageSize": 1}) for m in p["EventSourceMappings"]]
        self.assertEqual(paged, [m1, m2, m3])


class TestErrors(MappingCase):
    def test_duplicate_mapping(self):
        stream = self.table()
        self.function()
        uuid = self.mapping(stream)["UUID"]
        self.assertAwsError(
            lambda: self.mapping(stream), "ResourceConflictException",
            'The event source arn (" %s ") and function (" consumer ") provided mapping already '
            'exists. Please update or delete the existing mapping with UUID %s' % (stream, uuid), 409)

    def test_missing_function(self):
        stream = self.table()
        self.assertAwsError(
            lambda: self.mapping(stream, fn="ghost"), "ResourceNotFoundException",
            "Function not found: arn:aws:lambda:us-east-1:%s:function:ghost" % self.account, 404)

    def test_missing_stream(self):
        self.function()
        arn = "arn:aws:dynamodb:us-east-1:%s:table/none/stream/2024-01-01T00:00:00.000" % self.account
        self.assertAwsError(lambda: self.mapping(arn), "InvalidParameterValueException",
                            "Stream not found: %s" % arn, 400)

    def test_starting_position(self):
        stream = self.table()
        self.function()
        self.assertAwsError(
            lambda: self.lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=stream),
            "InvalidParameterValueException", None, 400)
        self.assertAwsError(
            lambda: self.mapping(stream, StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=1),
            "InvalidParameterValueException",
            "Unsupported starting position for arn type: %s" % stream, 400)

    def test_in_use_and_unknown(self):
        stream = self.table()
        self.function()
        uuid = self.mapping(stream)["UUID"]
        self.assertAwsError(lambda: self.lam.update_event_source_mapping(UUID=uuid, BatchSize=5),
                            "ResourceInUseException",
                            "Cannot update the event source mapping because it is in use.", 400)
        self.assertAwsError(lambda: self.lam.delete_event_source_mapping(UUID=uuid),
                            "ResourceInUseException",
                            "Cannot delete the event source mapping because it is in use.", 400)
        ghost = "00000000-0000-4000-8000-000000000000"
        for call in (lambda: self.lam.get_event_source_mapping(UUID=ghost),
                     lambda: self.lam.update_event_source_mapping(UUID=ghost, BatchSize=5),
                     lambda: self.lam.delete_event_source_mapping(UUID=ghost)):
            self.assertAwsError(call, "ResourceNotFoundException",
                                "The resource you requested does not exist.", 404)


class TestPipeline(MappingCase):
    def test_records_reach_the_handler(self):
        stream = self.table()
        self.function()
        uuid = self.mapping(stream, BatchSize=2)["UUID"]
        self.tidepool.advance(1000)
        for i in range(3):
            self.ddb.put_item(TableName="orders", Item={"pk": {"S": "k%d" % i}, "n": {"N": str(i)}})
        self.tidepool.advance(5000)
        status, body = self.tidepool.control("GET", "/_tidepool/invocations?function=consumer")
        self.assertEqual(status, 200)
        invs = body if isinstance(body, list) else body.get("invocations", body)
        self.assertEqual(len(invs), 2)
        self.assertEqual(invs[0]["source"], "esm")
        self.assertEqual(invs[0]["source_id"], uuid)
        event = invs[0]["event"]
        if isinstance(event, str):
            event = json.loads(event)
        recs = event["Records"]
        self.assertEqual([r["dynamodb"]["Keys"]["pk"]["S"] for r in recs], ["k0", "k1"])
        self.assertEqual(list(recs[0].keys()), ["eventID", "eventName", "eventVersion", "eventSource",
                                                "awsRegion", "dynamodb", "eventSourceARN"])
        self.assertEqual(recs[0]["eventSourceARN"], stream)
        g = self.lam.get_event_source_mapping(UUID=uuid)
        self.assertEqual(g["LastProcessingResult"], "OK")


class TestCli(MappingCase):
    def test_cli_crud(self):
        stream = self.table()
        fn_arn = self.function()
        rc, out, err = self.aws("lambda", "create-event-source-mapping", "--function-name", "consumer",
                                "--event-source-arn", stream, "--starting-position", "LATEST",
                                "--batch-size", "25", expect_rc=0)
        self.assertEqual(out["State"], "Creating")
        self.assertEqual(out["BatchSize"], 25)
        self.assertEqual(out["FunctionArn"], fn_arn)
        uuid = out["UUID"]
        self.tidepool.advance(1000)
        rc, out, err = self.aws("lambda", "get-event-source-mapping", "--uuid", uuid, expect_rc=0)
        self.assertEqual(out["State"], "Enabled")
        rc, out, err = self.aws("lambda", "list-event-source-mappings", "--function-name", "consumer",
                                expect_rc=0)
        self.assertEqual([m["UUID"] for m in out["EventSourceMappings"]], [uuid])
        rc, out, err = self.aws("lambda", "update-event-source-mapping", "--uuid", uuid,
                                "--no-enabled", expect_rc=0)
        self.assertEqual(out["State"], "Disabling")
        self.tidepool.advance(1000)
        rc, out, err = self.aws("lambda", "delete-event-source-mapping", "--uuid", uuid, expect_rc=0)
        self.assertEqual(out["State"], "Deleting")
        self.tidepool.advance(1000)
        rc, out, err = self.aws("lambda", "get-event-source-mapping", "--uuid", uuid)
        self.assertNotEqual(rc, 0)
        self.assertIn("ResourceNotFoundException", err)
        rc, out, err = self.aws("lambda", "create-event-source-mapping", "--function-name", "ghost",
                                "--event-source-arn", stream, "--starting-position", "LATEST")
        self.assertNotEqual(rc, 0)
        self.assertIn("(ResourceNotFoundException)", err)
        self.assertIn("Function not found", err)


if __name__ == "__main__":
    unittest.main()
