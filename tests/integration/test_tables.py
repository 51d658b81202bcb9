"""test_tables — the DynamoDB control plane through boto3 and the AWS CLI:
CreateTable, DescribeTable, ListTables, DeleteTable, UpdateTable,
DescribeLimits, DescribeEndpoints, TagResource/UntagResource/
ListTagsOfResource, DescribeTimeToLive/UpdateTimeToLive.

Every error path asserts AWS's exact code, message and HTTP status.
Requests that boto3 would refuse client-side go through a client with
parameter_validation=False, as the probes that recorded AWS's answers did.
Transitional statuses run on the virtual clock with configured delays:
advancing the clock is the only way time passes (no sleeps).
"""
import re
import shutil
import tempfile
import unittest

from tidepool import Tidepool, TidepoolTestCase

INVALID = "One or more parameter values were invalid: "
IN_USE = "Attempt to change a resource which is still in use: "
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def S(name):
    return {"AttributeName": name, "AttributeType": "S"}


def N(name):
    return {"AttributeName": name, "AttributeType": "N"}


def HASH(name):
    return {"AttributeName": name, "KeyType": "HASH"}


def RANGE(name):
    return {"AttributeName": name, "KeyType": "RANGE"}


def PT(r=5, w=5):
    return {"ReadCapacityUnits": r, "WriteCapacityUnits": w}


ALL = {"ProjectionType": "ALL"}


class TablesBase(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        import botocore.config
        self.ddb = self.client("dynamodb", retries=1)
        # For shapes boto3 refuses before sending (AWS's probes disabled it too).
        self.raw = self.client("dynamodb", retries=1,
                               config=botocore.config.Config(parameter_validation=False))

    def create(self, name="tbl", ppr=True, **kw):
        args = dict(TableName=name, AttributeDefinitions=[S("pk")], KeySchema=[HASH("pk")])
        if ppr:
            args["BillingMode"] = "PAY_PER_REQUEST"
        else:
            args["ProvisionedThroughput"] = PT()
        args.update(kw)
        if "DeletionProtectionEnabled" in args:
            status, body = self.wire("CreateTable", args)
            self.assertEqual(status, 200, body)
            return body["TableDescription"]
        return self.ddb.create_table(**args)["TableDescription"]

    def describe(self, name="tbl"):
        return self.ddb.describe_table(TableName=name)["Table"]

    def wire_describe(self, name="tbl"):
        """DescribeTable as JSON on the wire: boto3 1.26 drops members its
        model predates (WarmThroughput, DeletionProtectionEnabled)."""
        status, _, body = self.tidepool.ddb_raw("DescribeTable", {"TableName": name})
        self.assertEqual(status, 200, body)
        return body["Table"]

    def wire(self, operation, payload):
        """A call as JSON on the wire, for members boto3 1.26's model lacks
        (DeletionProtectionEnabled, OnDemandThroughput): (status, body)."""
        status, _, body = self.tidepool.ddb_raw(operation, payload)
        return status, body

    def assertWireError(self, operation, payload, code, message):
        status, body = self.wire(operation, payload)
        self.assertEqual(status, 400, body)
        self.assertEqual(body.get("__type", "").rsplit("#", 1)[-1], code, body)
        self.assertEqual(body.get("message", body.get("Message")), message, body)

    def arn(self, name="tbl"):
        return self.describe(name)["TableArn"]

    def create_error(self, message, code="ValidationException", **kw):
        self.assertAwsError(lambda: self.raw.create_table(**kw), code, message)


# --- CreateTable / DescribeTable ----------------------------------------------

class CreateAndDescribe(TablesBase):
    def test_on_demand_response_and_description(self):
        td = self.ddb.create_table(
            TableName="orders",
            AttributeDefinitions=[S("pk"), N("sk"), S("g"), S("l")],
            KeySchema=[HASH("pk"), RANGE("sk")],
            BillingMode="PAY_PER_REQUEST",
            LocalSecondaryIndexes=[{"IndexName": "by-l", "KeySchema": [HASH("pk"), RANGE("l")],
                                    "Projection": {"ProjectionType": "INCLUDE",
                                                   "NonKeyAttributes": ["zz", "aa"]}}],
            GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [HASH("g")],
                                     "Projection": ALL}],
        )["TableDescription"]
        account = td["TableArn"].split(":")[4]
        self.assertEqual(td["TableStatus"], "CREATING")
        self.assertEqual(td["TableName"], "orders")
        self.assertEqual(td["TableArn"], "arn:aws:dynamodb:us-east-1:%s:table/orders" % account)
        self.assertRegex(td["TableId"], UUID)
        # AttributeDefinitions come back sorted by name; NonKeyAttributes too.
        self.assertEqual([d["AttributeName"] for d in td["AttributeDefinitions"]], ["g", "l", "pk", "sk"])
        self.assertEqual(td["KeySchema"], [HASH("pk"), RANGE("sk")])
        self.assertEqual(td["ProvisionedThroughput"],
                         {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0})
        self.assertEqual(td["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual(td["ItemCount"], 0)
        self.assertEqual(td["TableSizeBytes"], 0)
        lsi = td["LocalSecondaryIndexes"][0]
        self.assertEqual(lsi["Projection"], {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["aa", "zz"]})
        self.assertEqual(lsi["IndexArn"], td["TableArn"] + "/index/by-l")
        self.assertEqual((lsi["IndexSizeBytes"], lsi["ItemCount"]), (0, 0))
        gsi = td["GlobalSecondaryIndexes"][0]
        self.assertEqual(gsi["IndexStatus"], "CREATING")
        self.assertNotIn("Backfilling", gsi)
        self.assertEqual(gsi["ProvisionedThroughput"],
                         {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0})
        self.assertEqual(gsi["IndexArn"], td["TableArn"] + "/index/by-g")

        # With the default delay 0 the table is ACTIVE as soon as the call returns.
        t = self.describe("orders")
        self.assertEqual(t["TableStatus"], "ACTIVE")
        self.assertEqual(t["GlobalSecondaryIndexes"][0]["IndexStatus"], "ACTIVE")
        self.assertEqual(t["TableId"], td["TableId"])
        self.assertEqual(t["CreationDateTime"], td["CreationDateTime"])
        w = self.wire_describe("orders")
        self.assertIsInstance(w["CreationDateTime"], (int, float))
        self.assertEqual(w["CreationDateTime"], self.tidepool.now_ms() / 1000.0)
        self.assertIs(w["DeletionProtectionEnabled"], False)
        self.assertEqual(w["WarmThroughput"],
                         {"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000, "Status": "ACTIVE"})
        self.assertNotIn("TableClassSummary", w)
        self.assertNotIn("StreamSpecification", w)

    def test_create_response_leaves_out_what_aws_does(self):
        status, _, body = self.tidepool.ddb_raw("CreateTable", {
            "TableName": "wire", "AttributeDefinitions": [S("pk")], "KeySchema": [HASH("pk")],
            "BillingMode": "PAY_PER_REQUEST"})
        self.assertEqual(status, 200, body)
        self.assertNotIn("WarmThroughput", body["TableDescription"])
        self.assertNotIn("DeletionProtectionEnabled", body["TableDescription"])

    def test_provisioned_table(self):
        td = self.create("prov", ppr=False, ProvisionedThroughput=PT(7, 3))
        self.assertEqual(td["ProvisionedThroughput"],
                         {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 7, "WriteCapacityUnits": 3})
        self.assertNotIn("BillingModeSummary", td)
        self.assertEqual(self.wire_describe("prov")["WarmThroughput"],
                         {"ReadUnitsPerSecond": 7, "WriteUnitsPerSecond": 3, "Status": "ACTIVE"})

    def test_stream_class_protection_and_tags_at_create(self):
        td = self.create("full", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
                         TableClass="STANDARD_INFREQUENT_ACCESS", DeletionProtectionEnabled=True,
                         Tags=[{"Key": "team", "Value": "core"}])
        self.assertEqual(td["StreamSpecification"], {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        self.assertEqual(td["LatestStreamLabel"], "2024-01-01T00:00:00.000")
        self.assertEqual(td["LatestStreamArn"], td["TableArn"] + "/stream/2024-01-01T00:00:00.000")
        self.assertEqual(td["TableClassSummary"], {"TableClass": "STANDARD_INFREQUENT_ACCESS"})
        self.assertIs(self.wire_describe("full")["DeletionProtectionEnabled"], True)
        tags = self.ddb.list_tags_of_resource(ResourceArn=td["TableArn"])["Tags"]
        self.assertEqual(tags, [{"Key": "team", "Value": "core"}])

    def test_multi_attribute_gsi_key(self):
        td = self.create("multi", AttributeDefinitions=[S("pk"), S("a"), S("b"), N("c")],
                         GlobalSecondaryIndexes=[{"IndexName": "abc",
                                                  "KeySchema": [HASH("a"), HASH("b"), RANGE("c")],
                                                  "Projection": {"ProjectionType": "KEYS_ONLY"}}])
        self.assertEqual(td["GlobalSecondaryIndexes"][0]["KeySchema"], [HASH("a"), HASH("b"), RANGE("c")])

    def test_duplicate_create_in_every_state(self):
        self.create("dup")
        self.assertAwsError(lambda: self.create("dup"), "ResourceInUseException", "Table already exists: dup")
        # Names are case-sensitive.
        self.create("DUP")

    def test_validation_comes_before_existence(self):
        self.create("dup")
        self.create_error("Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
                          TableName="dup", AttributeDefinitions=[S("pk")], KeySchema=[RANGE("pk")],
                          BillingMode="PAY_PER_REQUEST")

    def test_describe_missing(self):
        self.assertAwsError(lambda: self.ddb.describe_table(TableName="nope"), "ResourceNotFoundException",
                            "Requested resource not found: Table: nope not found")

    def test_create_validations(self):
        ppr = {"BillingMode": "PAY_PER_REQUEST"}
        base = dict(TableName="bad", AttributeDefinitions=[S("pk")], KeySchema=[HASH("pk")])
        gsi = lambda name="gs1", keys=None, proj=ALL, **kw: dict(  # noqa: E731
            IndexName=name, KeySchema=keys or [HASH("g")], Projection=proj, **kw)
        lsi = lambda name="ls1", keys=None, proj=ALL: dict(  # noqa: E731
            IndexName=name, KeySchema=keys or [HASH("pk"), RANGE("l")], Projection=proj)
        two = dict(TableName="bad", AttributeDefinitions=[S("pk"), S("sk")], KeySchema=[HASH("pk"), RANGE("sk")])
        cases = [
            (INVALID + "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when "
             "BillingMode is PAY_PER_REQUEST", dict(base, ProvisionedThroughput=PT(), **ppr)),
            (INVALID + "ReadCapacityUnits and WriteCapacityUnits must both be specified when "
             "BillingMode is PROVISIONED", dict(base)),
            (INVALID + "ReadCapacityUnits and WriteCapacityUnits must both be specified when "
             "BillingMode is PROVISIONED", dict(base, BillingMode="PROVISIONED")),
            ("Given value 1000000000001 for ReadCapacityUnits is out of bounds",
             dict(base, ProvisionedThroughput=PT(1000000000001, 1000000000001))),
            ("Given value 1000000000001 for WriteCapacityUnits is out of bounds",
             dict(base, ProvisionedThroughput=PT(1000000000000, 1000000000001))),
            ("Attribute Name is duplicated: pk", dict(base, AttributeDefinitions=[S("pk"), N("pk")], **ppr)),
            (INVALID + "Some index key attributes are not defined in AttributeDefinitions. "
             "Keys: [a], AttributeDefinitions: [b]",
             dict(TableName="bad", AttributeDefinitions=[S("b")], KeySchema=[HASH("a")], **ppr)),
            ("Invalid KeySchema: Some index key attribute have no definition",
             dict(TableName="bad", AttributeDefinitions=[S("b")], KeySchema=[HASH("a"), RANGE("b")], **ppr)),
            ("Both the Hash Key and the Range Key element in the KeySchema have the same name",
             dict(TableName="bad", AttributeDefinitions=[S("a"), S("b")], KeySchema=[HASH("a"), HASH("a")],
                  **ppr)),
            ("Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
             dict(two, KeySchema=[RANGE("pk"), HASH("sk")], **ppr)),
            ("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
             dict(two, KeySchema=[HASH("pk"), HASH("sk")], **ppr)),
            (INVALID + "Number of attributes in KeySchema does not exactly match number of attributes "
             "defined in AttributeDefinitions", dict(base, AttributeDefinitions=[S("pk"), S("x")], **ppr)),
            (INVALID + "Some AttributeDefinitions are not used. AttributeDefinitions: [pk, x, g], "
             "keys used: [g, pk]",
             dict(base, AttributeDefinitions=[S("pk"), S("x"), S("g")], GlobalSecondaryIndexes=[gsi()], **ppr)),
            (INVALID + "List of LocalSecondaryIndexes is empty", dict(two, LocalSecondaryIndexes=[], **ppr)),
            (INVALID + "List of GlobalSecondaryIndexes is empty", dict(base, GlobalSecondaryIndexes=[], **ppr)),
            (INVALID + "Table KeySchema does not have a range key, which is required when specifying a "
             "LocalSecondaryIndex",
             dict(base, AttributeDefinitions=[S("pk"), S("l")], LocalSecondaryIndexes=[lsi()], **ppr)),
            (INVALID + "Index KeySchema does not have a range key for index: ls1",
             dict(two, LocalSecondaryIndexes=[lsi(keys=[HASH("pk")])], **ppr)),
            (INVALID + "Index KeySchema does not have the same leading hash key as table KeySchema for "
             "index: ls1. index hash key: sk, table hash key: pk",
             dict(two, AttributeDefinitions=[S("pk"), S("sk"), S("l")],
                  LocalSecondaryIndexes=[lsi(keys=[HASH("sk"), RANGE("l")])], **ppr)),
            (INVALID + "Number of LocalSecondaryIndexes exceeds per-table limit of 5",
             dict(two, AttributeDefinitions=[S("pk"), S("sk"), S("l")],
                  LocalSecondaryIndexes=[lsi(name="ls%d" % i) for i in range(6)], **ppr)),
            (INVALID + "Duplicate index name: same",
             dict(two, AttributeDefinitions=[S("pk"), S("sk"), S("l"), S("g")],
                  LocalSecondaryIndexes=[lsi(name="same")], GlobalSecondaryIndexes=[gsi(name="same")], **ppr)),
            (INVALID + "ProjectionType is INCLUDE, but NonKeyAttributes is not specified",
             dict(base, AttributeDefinitions=[S("pk"), S("g")],
                  GlobalSecondaryIndexes=[gsi(proj={"ProjectionType": "INCLUDE"})], **ppr)),
            (INVALID + "ProjectionType is KEYS_ONLY, but NonKeyAttributes is specified",
             dict(base, AttributeDefinitions=[S("pk"), S("g")],
                  GlobalSecondaryIndexes=[gsi(proj={"ProjectionType": "KEYS_ONLY", "NonKeyAttributes": ["x"]})],
                  **ppr)),
            (INVALID + "Unknown ProjectionType: null",
             dict(base, AttributeDefinitions=[S("pk"), S("g")], GlobalSecondaryIndexes=[gsi(proj={})], **ppr)),
            (INVALID + "Duplicate element in NonKeyAttributes: x",
             dict(base, AttributeDefinitions=[S("pk"), S("g")],
                  GlobalSecondaryIndexes=[gsi(proj={"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x", "x"]})],
                  **ppr)),
            (INVALID + "GlobalSecondaryIndex count exceeds the per-table limit of 20",
             dict(base, AttributeDefinitions=[S("pk"), S("g")],
                  GlobalSecondaryIndexes=[gsi(name="gs%02d" % i) for i in range(21)], **ppr)),
            (INVALID + "ProvisionedThroughput should not be specified for index: gs1 when BillingMode is "
             "PAY_PER_REQUEST", dict(base, AttributeDefinitions=[S("pk"), S("g")],
                                     GlobalSecondaryIndexes=[gsi(ProvisionedThroughput=PT())], **ppr)),
            (INVALID + "ProvisionedThroughput is not specified for index: gs1",
             dict(base, AttributeDefinitions=[S("pk"), S("g")], GlobalSecondaryIndexes=[gsi()],
                  ProvisionedThroughput=PT())),
            (INVALID + "All HASH key attributes must precede RANGE key attributes in the KeySchema",
             dict(base, AttributeDefinitions=[S("pk"), S("g"), S("h")],
                  GlobalSecondaryIndexes=[gsi(keys=[HASH("g"), RANGE("h"), HASH("pk")])], **ppr)),
            (INVALID + "Table is being created with a stream enabled, UpdateViewType is required",
             dict(base, StreamSpecification={"StreamEnabled": True}, **ppr)),
            (INVALID + "Table is being created with a stream disabled, UpdateViewType should not be specified",
             dict(base, StreamSpecification={"StreamEnabled": False, "StreamViewType": "NEW_IMAGE"}, **ppr)),
            (INVALID + "SSEType AES256 is not supported",
             dict(base, SSESpecification={"Enabled": True, "SSEType": "AES256"}, **ppr)),
            ("Tag Key cannot be prefixed with aws:, Key: aws:foo",
             dict(base, Tags=[{"Key": "aws:foo", "Value": "x"}], **ppr)),
            ("Number of Tags exceed the current limit for the provided ResourceArn",
             dict(base, Tags=[{"Key": "k%d" % i, "Value": "v"} for i in range(51)], **ppr)),
            ("1 validation error detected: Value '[KeySchemaElement(attributeName=pk, keyType=HASH), "
             "KeySchemaElement(attributeName=a, keyType=RANGE), KeySchemaElement(attributeName=b, "
             "keyType=RANGE)]' at 'keySchema' failed to satisfy constraint: Member must have length less "
             "than or equal to 2",
             dict(base, AttributeDefinitions=[S("pk"), S("a"), S("b")],
                  KeySchema=[HASH("pk"), RANGE("a"), RANGE("b")], **ppr)),
        ]
        for message, kw in cases:
            with self.subTest(message=message):
                self.create_error(message, **kw)
        # Nothing was created by any of them.
        self.assertEqual(self.ddb.list_tables()["TableNames"], [])

    def test_empty_tags_list_is_accepted(self):
        self.create("notags", Tags=[])


# --- ListTables ---------------------------------------------------------------

class ListTables(TablesBase):
    def test_pages_in_byte_order(self):
        for n in ["bbb", "Zed", "aaa", "a.1", "ccc"]:
            self.create(n)
        # Byte order: '.' < digits < upper case < lower case.
        r1 = self.ddb.list_tables(Limit=2)
        self.assertEqual(r1["TableNames"], ["Zed", "a.1"])
        self.assertEqual(r1["LastEvaluatedTableName"], "a.1")
        r2 = self.ddb.list_tables(Limit=2, ExclusiveStartTableName=r1["LastEvaluatedTableName"])
        self.assertEqual(r2["TableNames"], ["aaa", "bbb"])
        r3 = self.ddb.list_tables(Limit=2, ExclusiveStartTableName="bbb")
        self.assertEqual(r3["TableNames"], ["ccc"])
        self.assertNotIn("LastEvaluatedTableName", r3)
        # Exactly Limit left: no cursor either.
        self.assertNotIn("LastEvaluatedTableName", self.ddb.list_tables(Limit=5))
        # A start name that never existed still works as a cursor.
        self.assertEqual(self.ddb.list_tables(ExclusiveStartTableName="b.z")["TableNames"], ["bbb", "ccc"])

    def test_paginator_and_scope(self):
        for i in range(7):
            self.create("t%02d" % i)
        names = [n for page in self.ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 3})
                 for n in page["TableNames"]]
        self.assertEqual(names, ["t%02d" % i for i in range(7)])
        # Another account (access key) and another region see none of them.
        self.assertEqual(self.client(access_key="AKIDOTHERACCOUNT").list_tables()["TableNames"], [])
        self.assertEqual(self.client(region="eu-west-1").list_tables()["TableNames"], [])


# --- DeleteTable ----------------------------------------------------------------

class DeleteTable(TablesBase):
    def test_delete_removes_items_tags_and_indexes(self):
        td = self.create("gone", AttributeDefinitions=[S("pk"), S("g")],
                         GlobalSecondaryIndexes=[{"IndexName": "gsi", "KeySchema": [HASH("g")], "Projection": ALL}],
                         Tags=[{"Key": "a", "Value": "b"}])
        self.ddb.put_item(TableName="gone", Item={"pk": {"S": "x"}, "v": {"S": "y"}})
        r = self.ddb.delete_table(TableName="gone")["TableDescription"]
        self.assertEqual(r["TableStatus"], "DELETING")
        self.assertEqual(r["ItemCount"], 1)
        self.assertNotIn("GlobalSecondaryIndexes", r)
        self.assertAwsError(lambda: self.ddb.describe_table(TableName="gone"), "ResourceNotFoundException",
                            "Requested resource not found: Table: gone not found")
        self.assertAwsError(lambda: self.ddb.delete_table(TableName="gone"), "ResourceNotFoundException",
                            "Requested resource not found: Table: gone not found")
        # Re-created: same ARN, new TableId, no items, no tags.
        td2 = self.create("gone")
        self.assertEqual(td2["TableArn"], td["TableArn"])
        self.assertNotEqual(td2["TableId"], td["TableId"])
        self.assertNotIn("Item", self.ddb.get_item(TableName="gone", Key={"pk": {"S": "x"}}))
        self.assertEqual(self.ddb.list_tags_of_resource(ResourceArn=td2["TableArn"])["Tags"], [])
        self.assertEqual(self.describe("gone")["ItemCount"], 0)

    def test_deletion_protection(self):
        self.create("safe", DeletionProtectionEnabled=True)
        self.assertAwsError(lambda: self.ddb.delete_table(TableName="safe"), "ValidationException",
                            "Resource cannot be deleted as it is currently protected against deletion. "
                            "Disable deletion protection first.")
        self.assertEqual(self.describe("safe")["TableStatus"], "ACTIVE")
        status, body = self.wire("UpdateTable", {"TableName": "safe", "DeletionProtectionEnabled": False})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["TableDescription"]["TableStatus"], "ACTIVE")   # synchronous, no UPDATING
        self.assertIs(body["TableDescription"]["DeletionProtectionEnabled"], False)
        self.ddb.delete_table(TableName="safe")

    def test_cli_v2_lifecycle_and_errors(self):
        rc, out, err = self.aws("dynamodb", "create-table", "--table-name", "clit",
                                "--attribute-definitions", "AttributeName=pk,AttributeType=S",
                                "--key-schema", "AttributeName=pk,KeyType=HASH",
                                "--billing-mode", "PAY_PER_REQUEST")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["TableDescription"]["TableStatus"], "CREATING")
        rc, out, err = self.aws("dynamodb", "describe-table", "--table-name", "clit")
        self.assertEqual((rc, out["Table"]["TableStatus"]), (0, "ACTIVE"), err)
        rc, out, err = self.aws("dynamodb", "list-tables")
        self.assertEqual(out["TableNames"], ["clit"])
        rc, out, err = self.aws("dynamodb", "describe-limits")
        self.assertEqual(out["TableMaxReadCapacityUnits"], 40000)
        rc, out, err = self.aws("dynamodb", "delete-table", "--table-name", "clit")
        self.assertEqual((rc, out["TableDescription"]["TableStatus"]), (0, "DELETING"), err)
        rc, out, err = self.aws("dynamodb", "delete-table", "--table-name", "clit")
        self.assertEqual(rc, 254)
        self.assertIn("An error occurred (ResourceNotFoundException) when calling the DeleteTable operation: "
                      "Requested resource not found: Table: clit not found", err)

    def test_cli_v1_describe_missing(self):
        rc, _, err = self.aws("dynamodb", "describe-table", "--table-name", "missing", cli="v1")
        self.assertNotEqual(rc, 0)
        self.assertIn("Requested resource not found: Table: missing not found", err)


# --- UpdateTable ----------------------------------------------------------------

class UpdateTable(TablesBase):
    NOTHING = ("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
               "GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, MultiAccountReplicaReady, "
               "ReplicaTransitRoleArn, MultiRegionConsistency, DeletionProtectionEnabled, "
               "OnDemandThroughput, WarmThroughput or TableClass is required")

    def upd(self, **kw):
        kw.setdefault("TableName", "tbl")
        return self.raw.update_table(**kw)

    def upd_error(self, message, code="ValidationException", **kw):
        self.assertAwsError(lambda: self.upd(**kw), code, message)

    def test_request_level_errors(self):
        # Judged before the table is looked up: the table need not exist.
        self.upd_error(self.NOTHING, TableName="nope")
        self.upd_error(self.NOTHING, TableName="nope", GlobalSecondaryIndexUpdates=[])
        self.upd_error(self.NOTHING, TableName="nope", AttributeDefinitions=[S("pk")])
        self.upd_error(INVALID + "List of GlobalSecondaryIndexUpdates is empty", TableName="nope",
                       GlobalSecondaryIndexUpdates=[], BillingMode="PAY_PER_REQUEST")
        self.assertWireError("UpdateTable", {"TableName": "nope", "DeletionProtectionEnabled": True,
                                             "ProvisionedThroughput": PT()}, "ValidationException",
                             INVALID + "DeletionProtection modification must be the only operation in the request")
        self.assertWireError("UpdateTable", {"TableName": "nope", "DeletionProtectionEnabled": True,
                                             "TableClass": "STANDARD"}, "ValidationException",
                             INVALID + "TableClass modification must be the only operation in the request")
        self.assertWireError("UpdateTable", {"TableName": "nope", "BillingMode": "PAY_PER_REQUEST",
                                             "GlobalSecondaryIndexUpdates": [], "DeletionProtectionEnabled": True},
                             "ValidationException", INVALID + "List of GlobalSecondaryIndexUpdates is empty")
        self.upd_error(INVALID + "You cannot modify stream status while updating table IOPS", TableName="nope",
                       ProvisionedThroughput=PT(), StreamSpecification={"StreamEnabled": False})
        self.upd_error(INVALID + "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, "
                       "GlobalSecondaryIndexUpdate.Delete must not be null",
                       TableName="nope", GlobalSecondaryIndexUpdates=[{}])
        self.upd_error(INVALID + "Only one global secondary index action is allowed per "
                       "GlobalSecondaryIndexUpdate object", TableName="nope",
                       GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "abc"},
                                                     "Update": {"IndexName": "abc", "ProvisionedThroughput": PT()}}])
        self.upd_error(INVALID + "Only one global secondary index update per index is allowed simultaneously. "
                       "Index: abc", TableName="nope",
                       GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "abc"}}, {"Delete": {"IndexName": "abc"}}])
        self.upd_error(INVALID + "If stream is being enabled then UpdateViewType is required", TableName="nope",
                       StreamSpecification={"StreamEnabled": True})
        self.upd_error(INVALID + "If stream is being disabled, then UpdateViewType must not be specified",
                       TableName="nope", StreamSpecification={"StreamEnabled": False, "StreamViewType": "KEYS_ONLY"})
        self.upd_error("Given value 1000000000001 for ReadCapacityUnits is out of bounds", TableName="nope",
                       ProvisionedThroughput=PT(1000000000001, 1))
        # A valid request on a missing table.
        self.upd_error("Requested resource not found: Table: nope not found", "ResourceNotFoundException",
                       TableName="nope", ProvisionedThroughput=PT())

    def test_throughput_change_echoes_old_units(self):
        self.create(ppr=False)
        self.upd_error("The provisioned throughput for the table will not change. The requested value equals "
                       "the current value. Current ReadCapacityUnits provisioned for the table: 5. Requested "
                       "ReadCapacityUnits: 5. Current WriteCapacityUnits provisioned for the table: 5. Requested "
                       "WriteCapacityUnits: 5. Refer to the Amazon DynamoDB Developer Guide for current limits "
                       "and how to request higher limits.", ProvisionedThroughput=PT(5, 5))
        now = self.tidepool.now_ms() / 1000.0
        r = self.upd(ProvisionedThroughput=PT(10, 10))["TableDescription"]
        self.assertEqual(r["TableStatus"], "UPDATING")
        pt = r["ProvisionedThroughput"]
        self.assertEqual((pt["ReadCapacityUnits"], pt["WriteCapacityUnits"]), (5, 5))
        self.assertEqual(pt["LastIncreaseDateTime"].timestamp(), now)
        t = self.describe()
        self.assertEqual(t["TableStatus"], "ACTIVE")
        self.assertEqual((t["ProvisionedThroughput"]["ReadCapacityUnits"],
                          t["ProvisionedThroughput"]["WriteCapacityUnits"]), (10, 10))
        self.upd(ProvisionedThroughput=PT(10, 2))
        pt = self.describe()["ProvisionedThroughput"]
        self.assertEqual(pt["NumberOfDecreasesToday"], 1)
        self.assertIn("LastDecreaseDateTime", pt)
        self.assertEqual(self.wire_describe()["WarmThroughput"]["ReadUnitsPerSecond"], 10)   # high-water

    def test_billing_mode_rules(self):
        self.create(ppr=True)
        self.upd_error(INVALID + "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when "
                       "BillingMode is PAY_PER_REQUEST", ProvisionedThroughput=PT())
        self.upd_error(INVALID + "ProvisionedThroughput must be specified when BillingMode is PROVISIONED",
                       BillingMode="PROVISIONED")
        # Same mode again: AWS answers UPDATING and changes nothing.
        r = self.upd(BillingMode="PAY_PER_REQUEST")["TableDescription"]
        self.assertEqual(r["TableStatus"], "UPDATING")
        self.assertEqual(self.describe()["TableStatus"], "ACTIVE")
        r = self.upd(BillingMode="PROVISIONED", ProvisionedThroughput=PT(3, 4))["TableDescription"]
        self.assertEqual(r["TableStatus"], "UPDATING")
        t = self.describe()
        self.assertEqual(t["BillingModeSummary"]["BillingMode"], "PROVISIONED")
        self.assertEqual(t["ProvisionedThroughput"]["ReadCapacityUnits"], 3)
        self.upd(BillingMode="PAY_PER_REQUEST")
        t = self.describe()
        self.assertEqual(t["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual(t["ProvisionedThroughput"]["ReadCapacityUnits"], 0)

    def test_switch_to_provisioned_needs_every_gsi(self):
        self.create(AttributeDefinitions=[S("pk"), S("g")],
                    GlobalSecondaryIndexes=[{"IndexName": "gsi1", "KeySchema": [HASH("g")], "Projection": ALL}])
        self.upd_error(INVALID + "ProvisionedThroughput must be specified for index: gsi1",
                       BillingMode="PROVISIONED", ProvisionedThroughput=PT())
        self.upd_error(INVALID + "The only Updates for index: gsi1 when TableThroughputMode is PAY_PER_REQUEST "
                       "can be to OnDemandThroughput, WarmThroughput",
                       GlobalSecondaryIndexUpdates=[{"Update": {"IndexName": "gsi1", "ProvisionedThroughput": PT()}}])
        self.upd(BillingMode="PROVISIONED", ProvisionedThroughput=PT(),
                 GlobalSecondaryIndexUpdates=[{"Update": {"IndexName": "gsi1", "ProvisionedThroughput": PT(2, 3)}}])
        g = self.describe()["GlobalSecondaryIndexes"][0]
        self.assertEqual((g["ProvisionedThroughput"]["ReadCapacityUnits"],
                          g["ProvisionedThroughput"]["WriteCapacityUnits"]), (2, 3))

    def test_streams(self):
        self.create()
        r = self.upd(StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        td = r["TableDescription"]
        self.assertEqual(td["TableStatus"], "UPDATING")
        self.assertEqual(td["StreamSpecification"], {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        self.assertRegex(td["LatestStreamArn"],
                         r"^arn:aws:dynamodb:us-east-1:\d{12}:table/tbl/stream/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
        self.assertEqual(td["LatestStreamArn"].rsplit("/", 1)[1], td["LatestStreamLabel"])
        self.upd_error("Table already has an enabled stream: TableName: tbl",
                       StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        self.upd(StreamSpecification={"StreamEnabled": False})
        t = self.describe()
        self.assertNotIn("StreamSpecification", t)
        self.assertEqual(t["LatestStreamArn"], td["LatestStreamArn"])   # lingers after disable
        self.upd_error("Table has no stream to disable: TableName: tbl", StreamSpecification={"StreamEnabled": False})
        self.tidepool.advance(1500)
        self.upd(StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        self.assertNotEqual(self.describe()["LatestStreamArn"], td["LatestStreamArn"])   # a new stream

    def test_gsi_create_update_delete(self):
        self.create(ppr=False, AttributeDefinitions=[S("pk"), S("l"), S("sk")],
                    KeySchema=[HASH("pk"), RANGE("sk")],
                    LocalSecondaryIndexes=[{"IndexName": "lsi1", "KeySchema": [HASH("pk"), RANGE("l")],
                                            "Projection": ALL}])
        create = {"Create": {"IndexName": "gsi1", "KeySchema": [HASH("g")], "Projection": ALL,
                             "ProvisionedThroughput": PT(1, 1)}}
        self.upd_error(INVALID + "AttributeDefinitions is not specified for index: gsi1",
                       GlobalSecondaryIndexUpdates=[create])
        self.upd_error(INVALID + "Some index key attributes are not defined in AttributeDefinitions. Keys: [g], "
                       "AttributeDefinitions: [x]", AttributeDefinitions=[S("x")], GlobalSecondaryIndexUpdates=[create])
        self.upd_error(INVALID + "Both ReadCapacityUnits and WriteCapacityUnits must be specified for index: gs2",
                       AttributeDefinitions=[S("g")],
                       GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "gs2", "KeySchema": [HASH("g")],
                                                                "Projection": ALL}}])
        self.upd_error("Subscriber limit exceeded: Only 1 online index can be created or deleted "
                       "simultaneously per table", "LimitExceededException", AttributeDefinitions=[S("g")],
                       GlobalSecondaryIndexUpdates=[create, {"Create": dict(create["Create"], IndexName="gsi2")}])
        self.upd_error("Cannot update an index that is not a GlobalSecondaryIndex: lsi1",
                       GlobalSecondaryIndexUpdates=[{"Update": {"IndexName": "lsi1", "ProvisionedThroughput": PT()}}])
        self.upd_error("Requested resource not found: Index ghost for table tbl", "ResourceNotFoundException",
                       GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "ghost"}}])
        self.upd_error(INVALID + "You cannot create or delete index while updating table IOPS",
                       AttributeDefinitions=[S("g")], ProvisionedThroughput=PT(9, 9),
                       GlobalSecondaryIndexUpdates=[create])

        r = self.upd(AttributeDefinitions=[S("g"), S("unused")], GlobalSecondaryIndexUpdates=[create])
        td = r["TableDescription"]
        self.assertEqual(td["TableStatus"], "UPDATING")
        g = td["GlobalSecondaryIndexes"][0]
        self.assertEqual((g["IndexStatus"], g["Backfilling"]), ("CREATING", False))
        # Only the new key attribute joins the (sorted) definitions.
        self.assertEqual([d["AttributeName"] for d in td["AttributeDefinitions"]], ["g", "l", "pk", "sk"])
        t = self.describe()
        self.assertEqual(t["GlobalSecondaryIndexes"][0]["IndexStatus"], "ACTIVE")
        self.assertNotIn("Backfilling", t["GlobalSecondaryIndexes"][0])
        self.upd_error("Attempting to create an index which already exists", AttributeDefinitions=[S("g")],
                       GlobalSecondaryIndexUpdates=[create])
        self.upd_error("The provisioned throughput for the index gsi1 will not change. The requested value "
                       "equals the current value. Current ReadCapacityUnits provisioned for index gsi1: 1. "
                       "Requested ReadCapacityUnits: 1. Current WriteCapacityUnits provisioned for index gsi1: 1. "
                       "Requested WriteCapacityUnits: 1. Refer to the Amazon DynamoDB Developer Guide for current "
                       "limits and how to request higher limits.",
                       GlobalSecondaryIndexUpdates=[{"Update": {"IndexName": "gsi1", "ProvisionedThroughput": PT(1, 1)}}])
        r = self.upd(GlobalSecondaryIndexUpdates=[{"Update": {"IndexName": "gsi1", "ProvisionedThroughput": PT(4, 4)}}])
        td = r["TableDescription"]
        self.assertEqual(td["TableStatus"], "ACTIVE")   # only the index updates
        g = td["GlobalSecondaryIndexes"][0]
        self.assertEqual((g["IndexStatus"], g["ProvisionedThroughput"]["ReadCapacityUnits"]), ("UPDATING", 1))
        self.assertEqual(self.describe()["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]["ReadCapacityUnits"], 4)
        td = self.upd(GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "gsi1"}}])["TableDescription"]
        self.assertEqual(td["GlobalSecondaryIndexes"][0]["IndexStatus"], "DELETING")
        t = self.describe()
        self.assertNotIn("GlobalSecondaryIndexes", t)
        # The attribute only gsi1 used is pruned.
        self.assertEqual([d["AttributeName"] for d in t["AttributeDefinitions"]], ["l", "pk", "sk"])

    def test_table_class(self):
        self.create()
        r = self.upd(TableClass="STANDARD")["TableDescription"]   # a no-op AWS answers UPDATING
        self.assertEqual(r["TableStatus"], "UPDATING")
        self.assertNotIn("TableClassSummary", self.describe())
        self.upd(TableClass="STANDARD_INFREQUENT_ACCESS")
        s = self.describe()["TableClassSummary"]
        self.assertEqual(s["TableClass"], "STANDARD_INFREQUENT_ACCESS")
        self.assertIn("LastUpdateDateTime", s)


# --- Transitional statuses on the virtual clock --------------------------------------

class Transitions(TablesBase):
    tidepool_kwargs = {"config": {"dynamodb": {"create_delay_ms": 5000, "update_delay_ms": 3000,
                                               "delete_delay_ms": 4000}}}

    def test_creating(self):
        self.create(ppr=False)
        self.assertEqual(self.describe()["TableStatus"], "CREATING")
        self.assertEqual(self.ddb.list_tables()["TableNames"], ["tbl"])
        msg = IN_USE + "Table is being created: tbl"
        self.assertAwsError(lambda: self.ddb.update_table(TableName="tbl", ProvisionedThroughput=PT(9, 9)),
                            "ResourceInUseException", msg)
        self.assertAwsError(lambda: self.ddb.delete_table(TableName="tbl"), "ResourceInUseException", msg)
        self.assertAwsError(lambda: self.create(ppr=False), "ResourceInUseException", msg)
        self.assertAwsError(lambda: self.ddb.put_item(TableName="tbl", Item={"pk": {"S": "a"}}),
                            "ResourceNotFoundException", "Requested resource not found")
        self.assertAwsError(lambda: self.ddb.describe_time_to_live(TableName="tbl"), "ValidationException",
                            "Cannot describe time to live while table is in CREATING state: Current table state "
                            "is CREATING")
        self.assertAwsError(lambda: self.ddb.update_time_to_live(
            TableName="tbl", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}),
            "ResourceNotFoundException", "Requested resource not found: Table: tbl not found")
        arn = self.describe()["TableArn"]
        self.assertAwsError(lambda: self.ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "b"}]),
                            "ResourceNotFoundException", "Requested resource not found: ResourceArn: %s not found" % arn)
        self.tidepool.advance(4999)
        self.assertEqual(self.describe()["TableStatus"], "CREATING")
        self.tidepool.advance(1)
        self.assertEqual(self.describe()["TableStatus"], "ACTIVE")
        self.ddb.put_item(TableName="tbl", Item={"pk": {"S": "a"}})

    def test_updating_throughput(self):
        self.create(ppr=False)
        self.tidepool.advance(5000)
        r = self.ddb.update_table(TableName="tbl", ProvisionedThroughput=PT(8, 8))["TableDescription"]
        self.assertEqual((r["TableStatus"], r["ProvisionedThroughput"]["ReadCapacityUnits"]), ("UPDATING", 5))
        t = self.describe()
        self.assertEqual((t["TableStatus"], t["ProvisionedThroughput"]["ReadCapacityUnits"]), ("UPDATING", 5))
        self.assertAwsError(lambda: self.ddb.update_table(TableName="tbl", ProvisionedThroughput=PT(9, 9)),
                            "ResourceInUseException", IN_USE + "Table IOPS are currently being updated. Table: tbl")
        self.assertAwsError(lambda: self.ddb.update_table(
            TableName="tbl", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}),
            "ResourceInUseException",
            IN_USE + "Can't enable or disable stream while table IOPS are being updated. Table: tbl")
        self.assertAwsError(lambda: self.ddb.delete_table(TableName="tbl"), "ResourceInUseException",
                            IN_USE + "Table: tbl is in the process of being updated.")
        # Deletion protection is admitted while UPDATING; items too.
        status, body = self.wire("UpdateTable", {"TableName": "tbl", "DeletionProtectionEnabled": False})
        self.assertEqual(status, 200, body)
        self.ddb.put_item(TableName="tbl", Item={"pk": {"S": "a"}})
        self.tidepool.advance(3000)
        t = self.describe()
        self.assertEqual((t["TableStatus"], t["ProvisionedThroughput"]["ReadCapacityUnits"]), ("ACTIVE", 8))

    def test_updating_stream_blocks_delete(self):
        self.create()
        self.tidepool.advance(5000)
        self.ddb.update_table(TableName="tbl",
                              StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        self.assertAwsError(lambda: self.ddb.delete_table(TableName="tbl"), "ResourceInUseException",
                            IN_USE + "Cannot delete table while stream is being enabled/disabled.")
        label = self.describe()["LatestStreamLabel"]
        self.assertAwsError(lambda: self.ddb.update_table(TableName="tbl", StreamSpecification={"StreamEnabled": False}),
                            "ResourceInUseException", IN_USE + "A stream status change is currently in progress. "
                            "Table: tbl Stream: %s Operation: ENABLE" % label)
        self.tidepool.advance(3000)
        self.assertEqual(self.describe()["TableStatus"], "ACTIVE")

    def test_gsi_build(self):
        self.create()
        self.tidepool.advance(5000)
        create = lambda name: {"Create": {"IndexName": name, "KeySchema": [HASH("g")], "Projection": ALL}}  # noqa
        self.ddb.update_table(TableName="tbl", AttributeDefinitions=[S("g")],
                              GlobalSecondaryIndexUpdates=[create("gsi1")])
        self.assertAwsError(lambda: self.ddb.update_table(TableName="tbl", AttributeDefinitions=[S("g")],
                                                          GlobalSecondaryIndexUpdates=[create("gsi2")]),
                            "LimitExceededException", "Subscriber limit exceeded: Only 1 online index can be "
                            "created or deleted simultaneously per table")
        self.assertAwsError(lambda: self.ddb.delete_table(TableName="tbl"), "ResourceInUseException",
                            IN_USE + "Cannot delete table while indexes are being created, updated, or deleted.")
        self.assertAwsError(lambda: self.ddb.update_table(
            TableName="tbl", GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "gsi1"}}]),
            "ResourceInUseException", IN_USE + "Index creation is in resource allocation phase. Retry deletion "
            "during backfilling phase or when the index is active. Table: tbl Index: gsi1")
        self.tidepool.advance(3000)
        t = self.describe()
        self.assertEqual((t["TableStatus"], t["GlobalSecondaryIndexes"][0]["IndexStatus"]), ("ACTIVE", "ACTIVE"))

    def test_index_update_keeps_table_active(self):
        self.create(ppr=False, AttributeDefinitions=[S("pk"), S("g")],
                    GlobalSecondaryIndexes=[{"IndexName": "gsi1", "KeySchema": [HASH("g")], "Projection": ALL,
                                             "ProvisionedThroughput": PT(1, 1)}])
        self.tidepool.advance(5000)
        r = self.ddb.update_table(TableName="tbl", GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "gsi1", "ProvisionedThroughput": PT(2, 2)}}])["TableDescription"]
        self.assertEqual((r["TableStatus"], r["GlobalSecondaryIndexes"][0]["IndexStatus"]), ("ACTIVE", "UPDATING"))
        self.assertAwsError(lambda: self.ddb.update_table(TableName="tbl", GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "gsi1", "ProvisionedThroughput": PT(3, 3)}}]),
            "ResourceInUseException", IN_USE + "Index is being updated. Table: tbl Index: gsi1")
        self.assertAwsError(lambda: self.ddb.delete_table(TableName="tbl"), "ResourceInUseException",
                            IN_USE + "Cannot delete table while indexes are being created, updated, or deleted.")
        # A change that starts nothing new does not lose the index's pending update.
        status, body = self.wire("UpdateTable", {"TableName": "tbl", "DeletionProtectionEnabled": True})
        self.assertEqual(status, 200, body)
        self.tidepool.advance(3000)
        g = self.describe()["GlobalSecondaryIndexes"][0]
        self.assertEqual((g["IndexStatus"], g["ProvisionedThroughput"]["ReadCapacityUnits"]), ("ACTIVE", 2))

    def test_deleting(self):
        td = self.create(Tags=[{"Key": "a", "Value": "b"}])
        self.tidepool.advance(5000)
        self.assertEqual(self.ddb.delete_table(TableName="tbl")["TableDescription"]["TableStatus"], "DELETING")
        self.assertEqual(self.describe()["TableStatus"], "DELETING")
        self.assertEqual(self.ddb.list_tables()["TableNames"], ["tbl"])
        self.assertAwsError(lambda: self.ddb.delete_table(TableName="tbl"), "ResourceInUseException",
                            IN_USE + "Table is being deleted: tbl")
        self.assertAwsError(lambda: self.ddb.update_table(TableName="tbl", BillingMode="PROVISIONED",
                                                          ProvisionedThroughput=PT()),
                            "ResourceInUseException", IN_USE + "Table is being deleted: tbl")
        self.assertAwsError(lambda: self.create(), "ResourceInUseException", "Table already exists: tbl")
        self.assertAwsError(lambda: self.ddb.tag_resource(ResourceArn=td["TableArn"], Tags=[{"Key": "c", "Value": "d"}]),
                            "ResourceInUseException", IN_USE + "Table is being deleted: tbl")
        self.assertAwsError(lambda: self.ddb.list_tags_of_resource(ResourceArn=td["TableArn"]),
                            "ResourceNotFoundException",
                            "Requested resource not found: ResourceArn: %s not found" % td["TableArn"])
        self.assertAwsError(lambda: self.ddb.describe_time_to_live(TableName="tbl"), "ValidationException",
                            "Cannot describe time to live while table is in DELETING state: Current table state "
                            "is DELETING")
        self.tidepool.advance(4000)
        self.assertAwsError(lambda: self.ddb.describe_table(TableName="tbl"), "ResourceNotFoundException",
                            "Requested resource not found: Table: tbl not found")
        self.assertEqual(self.ddb.list_tables()["TableNames"], [])


class RestartResumesTransitions(unittest.TestCase):
    def test_creating_table_settles_after_restart(self):
        d = tempfile.mkdtemp(prefix="tidepool-tables-")
        self.addCleanup(shutil.rmtree, d, True)
        tp = Tidepool(data_dir=d, config={"dynamodb": {"create_delay_ms": 5000}})
        self.addCleanup(tp.close)
        tp.start()
        ddb = tp.client(retries=1)
        ddb.create_table(TableName="keep", AttributeDefinitions=[S("pk")], KeySchema=[HASH("pk")],
                         BillingMode="PAY_PER_REQUEST")
        tp.stop()
        tp.start()
        ddb = tp.client(retries=1)
        self.assertEqual(ddb.describe_table(TableName="keep")["Table"]["TableStatus"], "CREATING")
        tp.advance(5000)
        self.assertEqual(ddb.describe_table(TableName="keep")["Table"]["TableStatus"], "ACTIVE")


# --- DescribeLimits / DescribeEndpoints ------------------------------------------------

class LimitsAndEndpoints(TablesBase):
    def test_describe_limits(self):
        r = self.ddb.describe_limits()
        self.assertEqual({k: r[k] for k in ("AccountMaxReadCapacityUnits", "AccountMaxWriteCapacityUnits",
                                            "TableMaxReadCapacityUnits", "TableMaxWriteCapacityUnits")},
                         {"AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
                          "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000})

    def test_describe_endpoints_names_the_region(self):
        r = self.client(region="eu-west-1").describe_endpoints()
        self.assertEqual(r["Endpoints"], [{"Address": "dynamodb.eu-west-1.amazonaws.com",
                                           "CachePeriodInMinutes": 1440}])


# --- Tags --------------------------------------------------------------------------

class Tags(TablesBase):
    def test_tag_list_untag(self):
        arn = self.create()["TableArn"]
        self.assertEqual(self.ddb.list_tags_of_resource(ResourceArn=arn)["Tags"], [])
        self.ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "t2", "Value": "v2"}, {"Key": "t1", "Value": ""},
                                                      {"Key": "ключ", "Value": "a+b-c=d.e_f:g/h@i"}])
        self.ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "t2", "Value": "new"}])   # upsert
        tags = self.ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags),
                         [("t1", ""), ("t2", "new"), ("ключ", "a+b-c=d.e_f:g/h@i")])
        self.ddb.untag_resource(ResourceArn=arn, TagKeys=["t2", "never-set"])
        self.assertEqual(sorted(t["Key"] for t in self.ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]),
                         ["t1", "ключ"])

    def test_resource_arn_errors(self):
        arn = self.create()["TableArn"]
        account = arn.split(":")[4]
        missing = "arn:aws:dynamodb:us-east-1:%s:table/missing" % account
        tag = [{"Key": "a", "Value": "b"}]
        cases = [
            ("tbl", "ValidationException", INVALID + "ARNs must start with 'arn:': tbl"),
            ("a:b:c:d:e:f/g", "ValidationException", INVALID + "ARNs must start with 'arn:': a:b:c:d:e:f/g"),
            ("arn:aws:s3:::bucket", "ValidationException",
             INVALID + "Provided Arn is not a DynamoDB resource arn: arn:aws:s3:::bucket"),
            (arn.replace("us-east-1", "eu-west-1"), "ValidationException",
             "Invalid TableArn: Invalid ResourceArn provided as input " + arn.replace("us-east-1", "eu-west-1")),
            ("arn:aws:dynamodb:us-east-1:%s:table/ab" % account, "ValidationException",
             "Invalid TableArn: Invalid ResourceArn provided as input arn:aws:dynamodb:us-east-1:%s:table/ab" % account),
            (arn + "/index/idx", "ValidationException", INVALID + "Invalid resource arn provided, only table or "
             "stream is accepted. Provided resource arn: " + arn + "/index/idx"),
            (missing, "ResourceNotFoundException", "Requested resource not found: ResourceArn: %s not found" % missing),
        ]
        for res, code, message in cases:
            with self.subTest(arn=res):
                self.assertAwsError(lambda: self.raw.tag_resource(ResourceArn=res, Tags=tag), code, message)
                self.assertAwsError(lambda: self.raw.list_tags_of_resource(ResourceArn=res), code, message)
                self.assertAwsError(lambda: self.raw.untag_resource(ResourceArn=res, TagKeys=["a"]), code, message)
        other = arn.replace(account, "000000000000" if account != "000000000000" else "111111111111")
        self.assertAwsError(lambda: self.raw.list_tags_of_resource(ResourceArn=other), "AccessDeniedException",
                            "Access is denied")

    def test_tag_validation(self):
        arn = self.create()["TableArn"]
        tr = lambda tags: self.raw.tag_resource(ResourceArn=arn, Tags=tags)  # noqa: E731
        self.assertAwsError(lambda: tr([]), "ValidationException", "Atleast one Tag needs to be provided as Input.")
        self.assertAwsError(lambda: self.raw.untag_resource(ResourceArn=arn, TagKeys=[]), "ValidationException",
                            "Atleast one Tag Key needs to be provided as Input.")
        self.assertAwsError(lambda: tr([{"Key": "AWS:x", "Value": "v"}]), "ValidationException",
                            "Tag Key cannot be prefixed with aws:, Key: AWS:x")
        self.assertAwsError(lambda: self.raw.untag_resource(ResourceArn=arn, TagKeys=["aws:foo"]),
                            "ValidationException", "Tag Key cannot be prefixed with aws:, Key: aws:foo")
        self.assertAwsError(lambda: tr([{"Key": "ok", "Value": "v"}, {"Key": "bad#char", "Value": "v"}]),
                            "ValidationException", "The Tag Key provided is invalid, Key: bad#char")
        self.assertAwsError(lambda: tr([{"Key": "k", "Value": "100%"}]), "ValidationException",
                            "The Tag Value provided is invalid, Value: 100%")
        self.assertAwsError(lambda: tr([{"Key": "k", "Value": "\U0001f511"}]), "ValidationException",
                            "The Tag Value provided is invalid, Value: \U0001f511")
        self.assertAwsError(lambda: tr([{"Key": "dup", "Value": "1"}, {"Key": "dup", "Value": "2"}]),
                            "ValidationException", "Duplicate Tag Keys provided as input: Duplicate Tag Key found dup")
        # All or nothing: the good tag of a rejected request was not applied.
        self.assertEqual(self.ddb.list_tags_of_resource(ResourceArn=arn)["Tags"], [])
        tr([{"Key": "k%02d" % i, "Value": "v"} for i in range(50)])
        self.assertAwsError(lambda: tr([{"Key": "one-more", "Value": "v"}]), "ValidationException",
                            "Number of Tags exceed the current limit for the provided ResourceArn")
        tr([{"Key": "k00", "Value": "replaced"}])   # replacing keeps the count at 50
        self.assertEqual(len(self.ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]), 50)

    def test_cli_tags(self):
        arn = self.create()["TableArn"]
        rc, _, err = self.aws("dynamodb", "tag-resource", "--resource-arn", arn, "--tags", "Key=env,Value=test")
        self.assertEqual(rc, 0, err)
        rc, out, err = self.aws("dynamodb", "list-tags-of-resource", "--resource-arn", arn)
        self.assertEqual(out["Tags"], [{"Key": "env", "Value": "test"}])


# --- Time to live ------------------------------------------------------------------

class TimeToLive(TablesBase):
    def ttl(self, enabled, attr="ttl", name="tbl"):
        return self.ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": enabled, "AttributeName": attr})

    def test_settings_and_errors(self):
        self.create()
        self.assertEqual(self.ddb.describe_time_to_live(TableName="tbl")["TimeToLiveDescription"],
                         {"TimeToLiveStatus": "DISABLED"})
        self.assertAwsError(lambda: self.ttl(False), "ValidationException", "TimeToLive is already disabled")
        r = self.ttl(True)
        self.assertEqual(r["TimeToLiveSpecification"], {"Enabled": True, "AttributeName": "ttl"})
        self.assertEqual(self.ddb.describe_time_to_live(TableName="tbl")["TimeToLiveDescription"],
                         {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"})
        self.assertAwsError(lambda: self.ttl(True), "ValidationException", "TimeToLive is already enabled")
        self.assertAwsError(lambda: self.ttl(True, "other"), "ValidationException",
                            "TimeToLive is active on a different AttributeName: current AttributeName is ttl")
        # A second change inside AWS's cooldown window is refused.
        self.assertAwsError(lambda: self.ttl(False), "ValidationException",
                            "Time to live has been modified multiple times within a fixed interval")
        self.tidepool.advance(30 * 60 * 1000)
        self.assertEqual(self.ttl(False)["TimeToLiveSpecification"], {"Enabled": False, "AttributeName": "ttl"})
        self.assertEqual(self.ddb.describe_time_to_live(TableName="tbl")["TimeToLiveDescription"],
                         {"TimeToLiveStatus": "DISABLED"})

    def test_missing_table(self):
        msg = "Requested resource not found: Table: nope not found"
        self.assertAwsError(lambda: self.ddb.describe_time_to_live(TableName="nope"), "ResourceNotFoundException", msg)
        self.assertAwsError(lambda: self.ttl(True, name="nope"), "ResourceNotFoundException", msg)

    def test_cli(self):
        self.create()
        rc, out, err = self.aws("dynamodb", "update-time-to-live", "--table-name", "tbl",
                                "--time-to-live-specification", "Enabled=true,AttributeName=exp")
        self.assertEqual((rc, out["TimeToLiveSpecification"]["AttributeName"]), (0, "exp"), err)
        rc, out, err = self.aws("dynamodb", "describe-time-to-live", "--table-name", "tbl")
        self.assertEqual(out["TimeToLiveDescription"], {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"})


if __name__ == "__main__":
    unittest.main()
