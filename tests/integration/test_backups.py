"""On-demand backups and point-in-time recovery on tidepool's clock:
CreateBackup, DescribeBackup, ListBackups, DeleteBackup,
RestoreTableFromBackup (with its overrides), UpdateContinuousBackups,
DescribeContinuousBackups and RestoreTableToPointInTime — so a test can put
a table back the way it was the moment before a bad deploy, by moving the
virtual clock. Shapes and messages are DynamoDB's (recorded responses);
every restore builds a new table with its indexes and no stream."""
import re
import unittest

from tidepool import TidepoolTestCase

LAG_MS = 5 * 60 * 1000   # LatestRestorableDateTime is now minus 5 minutes, as on AWS
BACKUP_ARN = re.compile(r"^arn:aws:dynamodb:us-east-1:\d{12}:table/orders/backup/\d{14}-[0-9a-f]{8}$")


def A(name, t="S"):
    return {"AttributeName": name, "AttributeType": t}


def K(name, kt="HASH"):
    return {"AttributeName": name, "KeyType": kt}


def s(v):
    return {"S": v}


def create_orders(ddb, name="orders", **kw):
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[A("pk"), A("sk"), A("status"), A("amount", "N")],
        KeySchema=[K("pk"), K("sk", "RANGE")],
        GlobalSecondaryIndexes=[{"IndexName": "byStatus", "KeySchema": [K("status")],
                                 "Projection": {"ProjectionType": "ALL"},
                                 "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}}],
        LocalSecondaryIndexes=[{"IndexName": "byAmount", "KeySchema": [K("pk"), K("amount", "RANGE")],
                                "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 6},
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}, **kw)


def order(pk, sk, status, amount):
    return {"pk": s(pk), "sk": s(sk), "status": s(status), "amount": {"N": str(amount)}}


def keys(items):
    return sorted((i["pk"]["S"], i["sk"]["S"]) for i in items)


class Backups(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.ddb = self.client("dynamodb", retries=1)

    def whole_second(self):
        """Moves the clock to the next whole second and returns it (ms): the
        SDKs send timestamps in whole seconds."""
        now = self.tidepool.now_ms()
        if now % 1000:
            self.tidepool.advance(1000 - now % 1000)
        return self.tidepool.now_ms()

    def scan(self, table):
        return self.ddb.scan(TableName=table, ConsistentRead=True)["Items"]

    def seed(self):
        create_orders(self.ddb)
        for i, st in enumerate(["new", "paid", "paid"]):
            self.ddb.put_item(TableName="orders", Item=order("u1", "o%d" % i, st, 10 * (i + 1)))

    # --- on-demand backups ----------------------------------------------------

    def test_create_describe_list_delete(self):
        self.seed()
        size = self.ddb.describe_table(TableName="orders")["Table"]["TableSizeBytes"]
        now = self.tidepool.now_ms() / 1000.0
        d = self.ddb.create_backup(TableName="orders", BackupName="before-deploy")["BackupDetails"]
        arn = d["BackupArn"]
        self.assertRegex(arn, BACKUP_ARN)
        self.assertEqual(arn.split("/")[-1][:14], "%014d" % self.tidepool.now_ms())
        self.assertEqual(d["BackupName"], "before-deploy")
        self.assertEqual(d["BackupStatus"], "CREATING")   # the answer says CREATING, as AWS's
        self.assertEqual(d["BackupType"], "USER")
        self.assertEqual(d["BackupSizeBytes"], size)
        self.assertAlmostEqual(d["BackupCreationDateTime"].timestamp(), now, places=3)

        desc = self.ddb.describe_backup(BackupArn=arn)["BackupDescription"]
        self.assertEqual(desc["BackupDetails"]["BackupStatus"], "AVAILABLE")
        src = desc["SourceTableDetails"]
        table = self.ddb.describe_table(TableName="orders")["Table"]
        self.assertEqual(src["TableName"], "orders")
        self.assertEqual(src["TableId"], table["TableId"])
        self.assertEqual(src["TableArn"], table["TableArn"])
        self.assertEqual(src["ItemCount"], 3)
        self.assertEqual(src["TableSizeBytes"], size)
        self.assertEqual(src["KeySchema"], [K("pk"), K("sk", "RANGE")])
        self.assertEqual(src["ProvisionedThroughput"], {"ReadCapacityUnits": 5, "WriteCapacityUnits": 6})
        self.assertEqual(src["BillingMode"], "PROVISIONED")
        self.assertEqual(src["TableCreationDateTime"], table["CreationDateTime"])
        feat = desc["SourceTableFeatureDetails"]
        self.assertEqual(feat["GlobalSecondaryIndexes"], [{
            "IndexName": "byStatus", "KeySchema": [K("status")], "Projection": {"ProjectionType": "ALL"},
            "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}}])
        self.assertEqual(feat["LocalSecondaryIndexes"], [{
            "IndexName": "byAmount", "KeySchema": [K("pk"), K("amount", "RANGE")],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}])
        self.assertEqual(feat["StreamDescription"], {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})

        summaries = self.ddb.list_backups(TableName="orders")["BackupSummaries"]
        self.assertEqual([b["BackupArn"] for b in summaries], [arn])
        b = summaries[0]
        self.assertEqual((b["TableName"], b["TableId"], b["TableArn"], b["BackupName"], b["BackupStatus"],
                          b["BackupType"], b["BackupSizeBytes"]),
                         ("orders", table["TableId"], table["TableArn"], "before-deploy", "AVAILABLE",
                          "USER", size))
        self.assertEqual(self.ddb.list_backups(TableName="other")["BackupSummaries"], [])

        gone = self.ddb.delete_backup(BackupArn=arn)["BackupDescription"]
        self.assertEqual(gone["BackupDetails"]["BackupStatus"], "DELETED")
        self.assertEqual(gone["SourceTableDetails"]["TableName"], "orders")
        self.assertAwsError(lambda: self.ddb.describe_backup(BackupArn=arn), "BackupNotFoundException",
                            "Backup not found for the given BackupArn")
        self.assertAwsError(lambda: self.ddb.delete_backup(BackupArn=arn), "BackupNotFoundException")
        self.assertEqual(self.ddb.list_backups()["BackupSummaries"], [])

    def test_backup_is_a_snapshot_and_restore_rebuilds_indexes(self):
        self.seed()
        arn = self.ddb.create_backup(TableName="orders", BackupName="bk1")["BackupDetails"]["BackupArn"]
        created = self.ddb.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]
        # The bad deploy: later writes must not reach the backup.
        self.ddb.put_item(TableName="orders", Item=order("u1", "o0", "lost", 999))
        self.ddb.delete_item(TableName="orders", Key={"pk": s("u1"), "sk": s("o1")})
        self.ddb.put_item(TableName="orders", Item=order("u2", "x", "new", 1))
        self.tidepool.advance(1000)

        td = self.ddb.restore_table_from_backup(TargetTableName="orders2", BackupArn=arn)["TableDescription"]
        self.assertEqual(td["TableName"], "orders2")
        self.assertEqual(td["TableStatus"], "CREATING")
        self.assertEqual(td["BillingModeSummary"]["BillingMode"], "PROVISIONED")
        source_arn = self.ddb.describe_table(TableName="orders")["Table"]["TableArn"]
        self.assertEqual(td["RestoreSummary"], {
            "SourceBackupArn": arn, "SourceTableArn": source_arn,
            "RestoreDateTime": created["BackupCreationDateTime"], "RestoreInProgress": True})
        self.assertGreater(list(td).index("RestoreSummary"), list(td).index("BillingModeSummary"))
        self.assertNotIn("StreamSpecification", td)
        self.assertNotIn("LatestStreamArn", td)

        t = self.ddb.describe_table(TableName="orders2")["Table"]
        self.assertEqual(t["TableStatus"], "ACTIVE")
        self.assertNotIn("RestoreSummary", t)   # gone once the restore has finished
        self.assertEqual(t["ItemCount"], 3)
        self.assertEqual(t["ProvisionedThroughput"]["ReadCapacityUnits"], 5)
        self.assertEqual([g["IndexName"] for g in t["GlobalSecondaryIndexes"]], ["byStatus"])
        self.assertEqual([l["IndexName"] for l in t["LocalSecondaryIndexes"]], ["byAmount"])
        self.assertEqual(t["GlobalSecondaryIndexes"][0]["ItemCount"], 3)
        self.assertNotEqual(t["TableId"], self.ddb.describe_table(TableName="orders")["Table"]["TableId"])
        self.assertEqual(keys(self.scan("orders2")), [("u1", "o0"), ("u1", "o1"), ("u1", "o2")])
        got = self.ddb.get_item(TableName="orders2", Key={"pk": s("u1"), "sk": s("o0")})["Item"]
        self.assertEqual(got, order("u1", "o0", "new", 10))
        paid = self.ddb.query(TableName="orders2", IndexName="byStatus", KeyConditionExpression="#s = :v",
                              ExpressionAttributeNames={"#s": "status"},
                              ExpressionAttributeValues={":v": s("paid")})["Items"]
        self.assertEqual(keys(paid), [("u1", "o1"), ("u1", "o2")])
        by_amount = self.ddb.query(TableName="orders2", IndexName="byAmount",
                                   KeyConditionExpression="pk = :p AND amount > :a",
                                   ExpressionAttributeValues={":p": s("u1"), ":a": {"N": "15"}})["Items"]
        self.assertEqual(keys(by_amount), [("u1", "o1"), ("u1", "o2")])
        # Streams are off on a restored table, as on AWS.
        streams = self.client("dynamodbstreams").list_streams(TableName="orders2")["Streams"]
        self.assertEqual(streams, [])
        # The restored table is an ordinary table.
        self.ddb.put_item(TableName="orders2", Item=order("u3", "z", "new", 5))
        self.assertEqual(self.ddb.describe_table(TableName="orders2")["Table"]["ItemCount"], 4)

    def test_restore_overrides(self):
        self.seed()
        arn = self.ddb.create_backup(TableName="orders", BackupName="bk1")["BackupDetails"]["BackupArn"]
        td = self.ddb.restore_table_from_backup(
            TargetTableName="ondemand", BackupArn=arn, BillingModeOverride="PAY_PER_REQUEST",
            GlobalSecondaryIndexOverride=[], LocalSecondaryIndexOverride=[])["TableDescription"]
        self.assertEqual(td["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST")
        t = self.ddb.describe_table(TableName="ondemand")["Table"]
        self.assertNotIn("GlobalSecondaryIndexes", t)
        self.assertNotIn("LocalSecondaryIndexes", t)
        self.assertEqual(sorted(a["AttributeName"] for a in t["AttributeDefinitions"]), ["pk", "sk"])
        self.assertEqual(t["ItemCount"], 3)

        # A renamed index with new capacity is fine as long as keys and projection match.
        self.ddb.restore_table_from_backup(
            TargetTableName="renamed", BackupArn=arn,
            ProvisionedThroughputOverride={"ReadCapacityUnits": 7, "WriteCapacityUnits": 8},
            GlobalSecondaryIndexOverride=[{"IndexName": "byStatus2", "KeySchema": [K("status")],
                                           "Projection": {"ProjectionType": "ALL"},
                                           "ProvisionedThroughput": {"ReadCapacityUnits": 1,
                                                                     "WriteCapacityUnits": 1}}])
        t = self.ddb.describe_table(TableName="renamed")["Table"]
        self.assertEqual(t["ProvisionedThroughput"]["WriteCapacityUnits"], 8)
        self.assertEqual(t["GlobalSecondaryIndexes"][0]["IndexName"], "byStatus2")
        self.assertEqual(t["GlobalSecondaryIndexes"][0]["ItemCount"], 3)
        self.assertEqual([l["IndexName"] for l in t["LocalSecondaryIndexes"]], ["byAmount"])

        self.assertAwsError(lambda: self.ddb.restore_table_from_backup(
            TargetTableName="bad", BackupArn=arn, GlobalSecondaryIndexOverride=[{
                "IndexName": "byAmountG", "KeySchema": [K("amount")], "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}]),
            "ValidationException", "Invalid Request: Index byAmountG does not match a secondary index that "
            "existed in the source table and cannot be created during the restore operation")
        self.assertAwsError(lambda: self.ddb.restore_table_from_backup(
            TargetTableName="bad", BackupArn=arn, BillingModeOverride="PROVISIONED"),
            "ValidationException",
            "Invalid Request: Must override ProvisionedThroughput if BillingMode is overridden to PROVISIONED")
        self.assertAwsError(lambda: self.ddb.restore_table_from_backup(
            TargetTableName="bad", BackupArn=arn, BillingModeOverride="PROVISIONED",
            ProvisionedThroughputOverride={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}),
            "ValidationException", "Invalid Request: Must override ProvisionedThroughput if BillingMode is "
            "overridden to PROVISIONED for index byStatus")
        self.assertNotIn("bad", self.ddb.list_tables()["TableNames"])

    def test_backup_errors(self):
        self.assertAwsError(lambda: self.ddb.create_backup(TableName="nope", BackupName="bk1"),
                            "TableNotFoundException", "Table not found: nope")
        self.seed()
        arn = self.ddb.create_backup(TableName="orders", BackupName="bk1")["BackupDetails"]["BackupArn"]
        self.assertAwsError(lambda: self.ddb.restore_table_from_backup(TargetTableName="orders", BackupArn=arn),
                            "TableAlreadyExistsException", "Table already exists: orders")
        account = arn.split(":")[4]
        missing = arn[:-8] + "00000000"
        self.assertAwsError(lambda: self.ddb.describe_backup(BackupArn=missing), "BackupNotFoundException",
                            "Backup not found for the given BackupArn")
        self.assertAwsError(lambda: self.ddb.restore_table_from_backup(TargetTableName="tt2", BackupArn=missing),
                            "BackupNotFoundException", "Backup not found for the given BackupArn")
        self.assertAwsError(lambda: self.ddb.describe_backup(BackupArn="x" * 40), "ValidationException",
                            "Invalid Request: BackupArn is not valid")
        self.assertAwsError(lambda: self.ddb.describe_backup(
            BackupArn="arn:aws:dynamodb:us-east-1:%s:table/orders/backup/123" % account),
            "ValidationException", "Invalid Request: BackupArn is not valid")
        other = arn.replace(":%s:" % account, ":999999999999:")
        self.assertAwsError(lambda: self.ddb.describe_backup(BackupArn=other), "AccessDeniedException",
                            "Access is denied")
        # Model constraints come first.
        self.assertAwsError(lambda: self.client("dynamodb", retries=1, validate=False).create_backup(
            TableName="orders", BackupName="x"), "ValidationException",
            "1 validation error detected: Value 'x' at 'backupName' failed to satisfy constraint: Member "
            "must have length greater than or equal to 3")
        # Nothing was created by the failures.
        self.assertEqual(len(self.ddb.list_backups()["BackupSummaries"]), 1)
        self.assertEqual(self.ddb.list_tables()["TableNames"], ["orders"])

    def test_list_backups_pages_and_time_ranges(self):
        self.seed()
        arns, times = [], []
        for i in range(3):
            d = self.ddb.create_backup(TableName="orders", BackupName="bk%d" % i)["BackupDetails"]
            arns.append(d["BackupArn"])
            times.append(d["BackupCreationDateTime"])
            self.tidepool.advance(60000)
        page1 = self.ddb.list_backups(Limit=2)
        self.assertEqual([b["BackupArn"] for b in page1["BackupSummaries"]], sorted(arns)[:2])
        self.assertEqual(page1["LastEvaluatedBackupArn"], sorted(arns)[1])
        page2 = self.ddb.list_backups(Limit=2, ExclusiveStartBackupArn=page1["LastEvaluatedBackupArn"])
        self.assertEqual([b["BackupArn"] for b in page2["BackupSummaries"]], sorted(arns)[2:])
        self.assertNotIn("LastEvaluatedBackupArn", page2)
        pages = self.ddb.get_paginator("list_backups").paginate(PaginationConfig={"PageSize": 1})
        self.assertEqual([b["BackupArn"] for p in pages for b in p["BackupSummaries"]], sorted(arns))

        def listed(**kw):
            return sorted(b["BackupArn"] for b in self.ddb.list_backups(**kw)["BackupSummaries"])
        self.assertEqual(listed(TimeRangeLowerBound=times[1]), sorted(arns[1:]))
        self.assertEqual(listed(TimeRangeUpperBound=times[1]), sorted(arns[:2]))
        self.assertEqual(listed(TimeRangeLowerBound=times[1], TimeRangeUpperBound=times[1]), [arns[1]])
        self.assertEqual(listed(BackupType="SYSTEM"), [])
        self.assertEqual(listed(BackupType="ALL"), sorted(arns))
        self.assertAwsError(lambda: self.ddb.list_backups(TimeRangeLowerBound=times[2],
                                                          TimeRangeUpperBound=times[0]),
                            "ValidationException", "One or more parameter values were invalid: Time range "
                            "lower bound must be less than or equal to upper bound")

    # --- point-in-time recovery -------------------------------------------------

    def has_recovery_period(self):
        return "RecoveryPeriodInDays" in self.ddb.meta.service_model.shape_for(
            "PointInTimeRecoverySpecification").members

    def pitr(self, table="orders", **spec):
        return self.ddb.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification=dict(PointInTimeRecoveryEnabled=True, **spec))

    def test_restore_to_the_moment_before_a_bad_deploy(self):
        self.seed()
        enabled_ms = self.tidepool.now_ms()
        out = self.pitr()["ContinuousBackupsDescription"]
        self.assertEqual(out["ContinuousBackupsStatus"], "ENABLED")
        p = out["PointInTimeRecoveryDescription"]
        self.assertEqual(p["PointInTimeRecoveryStatus"], "ENABLED")
        if self.has_recovery_period():   # newer models only
            self.assertEqual(p["RecoveryPeriodInDays"], 35)
        self.assertEqual(p["EarliestRestorableDateTime"].timestamp(), enabled_ms // 1000)
        self.assertEqual(p["LatestRestorableDateTime"], p["EarliestRestorableDateTime"])

        self.tidepool.advance(10 * 60 * 1000)
        self.ddb.update_item(TableName="orders", Key={"pk": s("u1"), "sk": s("o0")},
                             UpdateExpression="SET amount = :a", ExpressionAttributeValues={":a": {"N": "11"}})
        self.tidepool.advance(60000)
        good = self.whole_second()             # the moment before the deploy
        self.tidepool.advance(1000)
        # The bad deploy: a batch rewrite, a delete, a transaction.
        self.ddb.batch_write_item(RequestItems={"orders": [
            {"PutRequest": {"Item": order("u1", "o0", "broken", 0)}},
            {"DeleteRequest": {"Key": {"pk": s("u1"), "sk": s("o1")}}}]})
        self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "orders", "Item": order("u9", "junk", "broken", 0)}}])
        self.tidepool.advance(60000)

        desc = self.ddb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"]
        latest = desc["PointInTimeRecoveryDescription"]["LatestRestorableDateTime"].timestamp()
        self.assertAlmostEqual(latest, (self.tidepool.now_ms() - LAG_MS) / 1000.0, places=3)

        td = self.ddb.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="orders_fixed",
                                                     RestoreDateTime=good / 1000.0)["TableDescription"]
        self.assertEqual(td["TableStatus"], "CREATING")
        rs = td["RestoreSummary"]
        self.assertEqual(rs["SourceTableArn"], self.ddb.describe_table(TableName="orders")["Table"]["TableArn"])
        self.assertAlmostEqual(rs["RestoreDateTime"].timestamp(), good / 1000.0, places=3)
        self.assertTrue(rs["RestoreInProgress"])
        self.assertNotIn("SourceBackupArn", rs)
        items = self.scan("orders_fixed")
        self.assertEqual(keys(items), [("u1", "o0"), ("u1", "o1"), ("u1", "o2")])
        o0 = self.ddb.get_item(TableName="orders_fixed", Key={"pk": s("u1"), "sk": s("o0")})["Item"]
        self.assertEqual(o0, order("u1", "o0", "new", 11))
        paid = self.ddb.query(TableName="orders_fixed", IndexName="byStatus", KeyConditionExpression="#s = :v",
                              ExpressionAttributeNames={"#s": "status"},
                              ExpressionAttributeValues={":v": s("broken")})["Items"]
        self.assertEqual(paid, [])
        # A second later the deploy is in.
        self.ddb.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="orders_bad",
                                                RestoreDateTime=(good + 1000) / 1000.0)
        self.assertEqual(keys(self.scan("orders_bad")), [("u1", "o0"), ("u1", "o2"), ("u9", "junk")])
        # Before the update: the value PITR logged when it was turned on.
        self.ddb.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="orders_start",
                                                RestoreDateTime=enabled_ms / 1000.0)
        o0 = self.ddb.get_item(TableName="orders_start", Key={"pk": s("u1"), "sk": s("o0")})["Item"]
        self.assertEqual(o0["amount"], {"N": "10"})
        # The source is untouched and the restored tables have PITR off.
        self.assertEqual(keys(self.scan("orders")), [("u1", "o0"), ("u1", "o2"), ("u9", "junk")])
        off = self.ddb.describe_continuous_backups(TableName="orders_fixed")["ContinuousBackupsDescription"]
        self.assertEqual(off["PointInTimeRecoveryDescription"], {"PointInTimeRecoveryStatus": "DISABLED"})

    def test_use_latest_restorable_time_lags_five_minutes(self):
        self.seed()
        self.pitr()
        self.tidepool.advance(10 * 60 * 1000)
        self.ddb.put_item(TableName="orders", Item=order("u2", "early", "new", 1))
        self.tidepool.advance(LAG_MS + 1000)
        self.ddb.put_item(TableName="orders", Item=order("u2", "recent", "new", 1))
        self.whole_second()
        td = self.ddb.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="latest",
                                                     UseLatestRestorableTime=True)["TableDescription"]
        self.assertAlmostEqual(td["RestoreSummary"]["RestoreDateTime"].timestamp(),
                               (self.tidepool.now_ms() - LAG_MS) / 1000.0, places=3)
        got = [k for k in keys(self.scan("latest")) if k[0] == "u2"]
        self.assertEqual(got, [("u2", "early")])
        # An explicit time after the advertised latest (but not in the future) is accepted.
        self.ddb.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="now",
                                                RestoreDateTime=self.tidepool.now_ms() / 1000.0)
        self.assertIn(("u2", "recent"), keys(self.scan("now")))

    def test_pitr_errors(self):
        self.seed()
        arn = self.ddb.describe_table(TableName="orders")["Table"]["TableArn"]
        self.assertAwsError(lambda: self.ddb.restore_table_to_point_in_time(
            SourceTableName="orders", TargetTableName="tt2", UseLatestRestorableTime=True),
            "PointInTimeRecoveryUnavailableException",
            "Point in time recovery is not enabled for the source table")
        off = self.ddb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"]
        self.assertEqual(off, {"ContinuousBackupsStatus": "ENABLED",
                               "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}})
        self.assertAwsError(lambda: self.ddb.describe_continuous_backups(TableName="nope"),
                            "TableNotFoundException", "Table not found: nope")
        self.assertAwsError(lambda: self.ddb.update_continuous_backups(
            TableName="nope", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}),
            "TableNotFoundException", "Table not found: nope")
        self.assertAwsError(lambda: self.ddb.restore_table_to_point_in_time(
            SourceTableName="nope", TargetTableName="tt2", UseLatestRestorableTime=True),
            "TableNotFoundException", "Table not found: nope")
        start = self.tidepool.now_ms()
        self.pitr()
        self.tidepool.advance(60000)
        self.assertAwsError(lambda: self.ddb.restore_table_to_point_in_time(
            SourceTableName="orders", TargetTableName="tt2"),
            "ValidationException", "Invalid Request: Either one of RestoreDateTime or UseLatestRestorableTime "
            "must be specified, but not both")
        self.assertAwsError(lambda: self.ddb.restore_table_to_point_in_time(
            SourceTableName="orders", TargetTableName="tt2", UseLatestRestorableTime=True,
            RestoreDateTime=start / 1000.0),
            "ValidationException", "Invalid Request: Both RestoreDateTime and UseLatestRestorableTime cannot be "
            "set for point-in-time restore request. Please specify either RestoreDateTime time or "
            "UseLatestRestorableTime")
        self.assertAwsError(lambda: self.ddb.restore_table_to_point_in_time(
            SourceTableName="orders", SourceTableArn=arn, TargetTableName="tt2", UseLatestRestorableTime=True),
            "ValidationException", "Specify either SourceTableName or SourceTableArn, but not both")
        for when in (start - 2000, self.tidepool.now_ms() + 1000):
            self.assertAwsError(lambda: self.ddb.restore_table_to_point_in_time(
                SourceTableName="orders", TargetTableName="tt2", RestoreDateTime=when / 1000.0),
                "InvalidRestoreTimeException", "RestoreDateTime must be within EarliestRestorableDateTime and "
                "LatestRestorableDateTime for table orders")
        self.assertAwsError(lambda: self.ddb.restore_table_to_point_in_time(
            SourceTableArn=arn, TargetTableName="orders", UseLatestRestorableTime=True),
            "TableAlreadyExistsException", "Table already exists: orders")
        self.assertAwsError(lambda: self.ddb.restore_table_to_point_in_time(
            SourceTableArn=arn.replace(arn.split(":")[4], "999999999999"), TargetTableName="tt2",
            UseLatestRestorableTime=True), "AccessDeniedException", "Access is denied")
        self.assertAwsError(lambda: self.ddb.restore_table_to_point_in_time(
            SourceTableArn="arn:aws:s3:::bucket", TargetTableName="tt2", UseLatestRestorableTime=True),
            "ValidationException", "Invalid DynamoDB table ARN: arn:aws:s3:::bucket")
        self.assertEqual(self.ddb.list_tables()["TableNames"], ["orders"])
        # By ARN it works.
        self.ddb.restore_table_to_point_in_time(SourceTableArn=arn, TargetTableName="tt2",
                                                UseLatestRestorableTime=True)
        self.assertEqual(len(self.scan("tt2")), 3)

    def test_disabling_drops_history(self):
        self.seed()
        self.pitr()
        self.tidepool.advance(60000)
        self.ddb.delete_item(TableName="orders", Key={"pk": s("u1"), "sk": s("o0")})
        out = self.ddb.update_continuous_backups(
            TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
        self.assertEqual(out["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"],
                         {"PointInTimeRecoveryStatus": "DISABLED"})
        self.tidepool.advance(60000)
        again_ms = self.tidepool.now_ms()
        p = self.pitr()["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        self.assertEqual(p["EarliestRestorableDateTime"].timestamp(), again_ms // 1000)
        self.assertAwsError(lambda: self.ddb.restore_table_to_point_in_time(
            SourceTableName="orders", TargetTableName="tt2", RestoreDateTime=(again_ms - 90000) / 1000.0),
            "InvalidRestoreTimeException")
        # Enabling again while on keeps the window.
        self.tidepool.advance(1000)
        p2 = self.pitr()["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        self.assertEqual(p2["EarliestRestorableDateTime"], p["EarliestRestorableDateTime"])

    def test_window_moves_with_the_recovery_period(self):
        self.seed()
        if not self.has_recovery_period():
            self.skipTest("this botocore has no RecoveryPeriodInDays")
        p = self.pitr(RecoveryPeriodInDays=1)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        self.assertEqual(p["RecoveryPeriodInDays"], 1)
        self.ddb.delete_item(TableName="orders", Key={"pk": s("u1"), "sk": s("o0")})
        self.tidepool.advance(2 * 86400 * 1000)
        p = self.ddb.describe_continuous_backups(
            TableName="orders")["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        day_ago = (self.tidepool.now_ms() - 86400 * 1000) // 1000
        self.assertEqual(p["EarliestRestorableDateTime"].timestamp(), day_ago)
        self.ddb.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="tt2",
                                                RestoreDateTime=float(day_ago))
        self.assertEqual(keys(self.scan("tt2")), [("u1", "o1"), ("u1", "o2")])

    def test_ttl_deletions_are_history_too(self):
        self.ddb.create_table(TableName="sessions", AttributeDefinitions=[A("id")], KeySchema=[K("id")],
                              BillingMode="PAY_PER_REQUEST")
        self.ddb.update_time_to_live(TableName="sessions",
                                     TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        self.pitr("sessions")
        now_s = self.tidepool.now_ms() // 1000
        self.ddb.put_item(TableName="sessions", Item={"id": s("a"), "exp": {"N": str(now_s + 30)}})
        before = self.whole_second()
        self.tidepool.advance(120000)   # the TTL sweep removes it
        self.assertNotIn("Item", self.ddb.get_item(TableName="sessions", Key={"id": s("a")}))
        self.ddb.restore_table_to_point_in_time(SourceTableName="sessions", TargetTableName="ss2",
                                                RestoreDateTime=before / 1000.0)
        self.assertEqual(len(self.scan("ss2")), 1)
        self.ddb.restore_table_to_point_in_time(SourceTableName="sessions", TargetTableName="ss3",
                                                RestoreDateTime=self.tidepool.now_ms() / 1000.0)
        self.assertEqual(self.scan("ss3"), [])

    def test_deleting_a_pitr_table_leaves_a_system_backup(self):
        self.seed()
        self.pitr()
        self.ddb.delete_table(TableName="orders")
        self.assertEqual(self.ddb.list_backups()["BackupSummaries"], [])   # USER only by default
        system = self.ddb.list_backups(BackupType="SYSTEM")["BackupSummaries"]
        self.assertEqual(len(system), 1)
        b = system[0]
        self.assertEqual((b["BackupType"], b["TableName"], b["BackupStatus"]), ("SYSTEM", "orders", "AVAILABLE"))
        self.assertEqual(b["BackupName"], "orders$DeletedTableBackup")
        self.assertAlmostEqual((b["BackupExpiryDateTime"] - b["BackupCreationDateTime"]).total_seconds(),
                               35 * 86400, places=3)
        self.assertAwsError(lambda: self.ddb.delete_backup(BackupArn=b["BackupArn"]), "ValidationException")
        self.ddb.restore_table_from_backup(TargetTableName="orders", BackupArn=b["BackupArn"])
        self.assertEqual(len(self.scan("orders")), 3)
        self.tidepool.advance(36 * 86400 * 1000)
        self.assertEqual(self.ddb.list_backups(BackupType="ALL")["BackupSummaries"], [])
        self.assertAwsError(lambda: self.ddb.describe_backup(BackupArn=b["BackupArn"]), "BackupNotFoundException")

    # --- the AWS CLI v2 ----------------------------------------------------------

    def test_cli(self):
        self.seed()
        rc, out, err = self.aws("dynamodb", "create-backup", "--table-name", "orders", "--backup-name", "cli1",
                                expect_rc=0)
        arn = out["BackupDetails"]["BackupArn"]
        rc, out, err = self.aws("dynamodb", "list-backups", "--table-name", "orders", expect_rc=0)
        self.assertEqual([b["BackupArn"] for b in out["BackupSummaries"]], [arn])
        rc, out, err = self.aws("dynamodb", "restore-table-from-backup", "--target-table-name", "cli2",
                                "--backup-arn", arn, expect_rc=0)
        self.assertEqual(out["TableDescription"]["RestoreSummary"]["SourceBackupArn"], arn)
        rc, out, err = self.aws("dynamodb", "update-continuous-backups", "--table-name", "orders",
                                "--point-in-time-recovery-specification", "PointInTimeRecoveryEnabled=true",
                                expect_rc=0)
        self.assertEqual(out["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
                         ["PointInTimeRecoveryStatus"], "ENABLED")
        self.tidepool.advance(60000)
        good = self.whole_second()
        self.tidepool.advance(1000)
        self.ddb.delete_item(TableName="orders", Key={"pk": s("u1"), "sk": s("o0")})
        rc, out, err = self.aws("dynamodb", "describe-continuous-backups", "--table-name", "orders", expect_rc=0)
        self.assertEqual(out["ContinuousBackupsDescription"]["ContinuousBackupsStatus"], "ENABLED")
        rc, out, err = self.aws("dynamodb", "restore-table-to-point-in-time", "--source-table-name", "orders",
                                "--target-table-name", "cli3", "--restore-date-time", str(good / 1000.0),
                                expect_rc=0)
        self.assertEqual(out["TableDescription"]["TableStatus"], "CREATING")
        self.assertEqual(len(self.scan("cli3")), 3)
        rc, out, err = self.aws("dynamodb", "describe-backup", "--backup-arn", arn[:-8] + "00000000")
        self.assertNotEqual(rc, 0)
        self.assertIn("BackupNotFoundException", err)
        rc, out, err = self.aws("dynamodb", "delete-backup", "--backup-arn", arn, expect_rc=0)
        self.assertEqual(out["BackupDescription"]["BackupDetails"]["BackupStatus"], "DELETED")


class BackupDelays(TidepoolTestCase):
    """With a create delay the restored table is CREATING (with its
    RestoreSummary) until the clock passes it; with a backup delay the
    backup is CREATING and cannot be restored or deleted yet."""
    tidepool_kwargs = {"config": {"dynamodb": {"create_delay_ms": 5000, "backup_delay_ms": 3000}}}

    def test_transitions(self):
        ddb = self.client("dynamodb", retries=1)
        ddb.create_table(TableName="tbl", AttributeDefinitions=[A("id")], KeySchema=[K("id")],
                         BillingMode="PAY_PER_REQUEST")
        self.assertAwsError(lambda: ddb.create_backup(TableName="tbl", BackupName="bk1"), "TableInUseException",
                            "Source table is being created, changed or deleted")
        self.assertAwsError(lambda: ddb.update_continuous_backups(
            TableName="tbl", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}),
            "ContinuousBackupsUnavailableException", "Backups are being enabled for the table. Please retry later.")
        self.tidepool.advance(5000)
        ddb.put_item(TableName="tbl", Item={"id": s("a")})
        arn = ddb.create_backup(TableName="tbl", BackupName="bk1")["BackupDetails"]["BackupArn"]
        self.assertEqual(ddb.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]["BackupStatus"],
                         "CREATING")
        self.assertAwsError(lambda: ddb.restore_table_from_backup(TargetTableName="tt2", BackupArn=arn),
                            "BackupInUseException", "Backup is being created")
        self.assertAwsError(lambda: ddb.delete_backup(BackupArn=arn), "BackupInUseException",
                            "Backup is being created")
        self.tidepool.advance(3000)
        self.assertEqual(ddb.list_backups()["BackupSummaries"][0]["BackupStatus"], "AVAILABLE")
        td = ddb.restore_table_from_backup(TargetTableName="tt2", BackupArn=arn)["TableDescription"]
        self.assertTrue(td["RestoreSummary"]["RestoreInProgress"])
        t2 = ddb.describe_table(TableName="tt2")["Table"]
        self.assertEqual(t2["TableStatus"], "CREATING")
        self.assertTrue(t2["RestoreSummary"]["RestoreInProgress"])
        self.assertAwsError(lambda: ddb.get_item(TableName="tt2", Key={"id": s("a")}), "ResourceNotFoundException")
        self.assertAwsError(lambda: ddb.restore_table_from_backup(TargetTableName="tt2", BackupArn=arn),
                            "TableInUseException", "Table is being created: tt2")
        self.tidepool.advance(5000)
        t2 = ddb.describe_table(TableName="tt2")["Table"]
        self.assertEqual(t2["TableStatus"], "ACTIVE")
        self.assertNotIn("RestoreSummary", t2)
        self.assertEqual(ddb.get_item(TableName="tt2", Key={"id": s("a")})["Item"], {"id": s("a")})


if __name__ == "__main__":
    unittest.main()
