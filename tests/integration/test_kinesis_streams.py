"""Kinesis Data Streams, the stream side, through boto3's `kinesis` client
(JSON 1.1 in both boto3s) and the AWS CLI v2: CreateStream (provisioned and
on-demand), DescribeStream with shard pagination, DescribeStreamSummary,
ListStreams pagination and StreamSummaries, DeleteStream and consumers,
retention, tags (stream and ARN forms), encryption, stream mode, enhanced
monitoring, DescribeLimits and the shard limit, enhanced fan-out consumers,
StreamARN addressing, account isolation, and the status machine's delays on
the virtual clock. Errors are checked for code, message and status."""
import json
import unittest

from tidepool import TidepoolTestCase

ARN_PREFIX = "arn:aws:kinesis:us-east-1:"


class KinesisCase(TidepoolTestCase):
    def setUp(self):
        super().setUp()
        self.k = self.client("kinesis", retries=1)

    def account(self):
        return self.k.describe_stream_summary(StreamName=self.make("acct-probe"))[
            "StreamDescriptionSummary"]["StreamARN"].split(":")[4]

    def supports(self, op, member=None):
        """Whether this boto3's model has the operation (and input member):
        Debian's botocore 1.29 predates StreamARN addressing, ListStreams'
        NextToken/StreamSummaries and TagResource."""
        m = self.k.meta.service_model
        if op not in m.operation_names:
            return False
        return member is None or member in m.operation_model(op).input_shape.members

    def need(self, op, member=None):
        if not self.supports(op, member):
            self.skipTest("this botocore's Kinesis model has no %s%s" % (op, "." + member if member else ""))

    def make(self, name, shards=1, **kw):
        self.k.create_stream(StreamName=name, ShardCount=shards, **kw)
        return name


class TestCreateDescribe(KinesisCase):
    def test_create_and_describe(self):
        self.make("orders", 3)
        d = self.k.describe_stream(StreamName="orders")["StreamDescription"]
        self.assertEqual(d["StreamStatus"], "ACTIVE")
        self.assertEqual(d["StreamModeDetails"], {"StreamMode": "PROVISIONED"})
        self.assertTrue(d["StreamARN"].startswith(ARN_PREFIX) and d["StreamARN"].endswith(":stream/orders"))
        self.assertEqual(d["RetentionPeriodHours"], 24)
        self.assertEqual(d["EncryptionType"], "NONE")
        self.assertEqual(d["EnhancedMonitoring"], [{"ShardLevelMetrics": []}])
        self.assertFalse(d["HasMoreShards"])
        ids = [s["ShardId"] for s in d["Shards"]]
        self.assertEqual(ids, ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"])
        ranges = [(int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
                  for s in d["Shards"]]
        # the whole 128-bit space, in contiguous uniform ranges
        self.assertEqual(ranges[0][0], 0)
        self.assertEqual(ranges[-1][1], 2 ** 128 - 1)
        for (a, b), (c, _) in zip(ranges, ranges[1:]):
            self.assertEqual(b + 1, c)
        self.assertEqual(ranges[1][0], 2 ** 128 // 3)
        for s in d["Shards"]:
            seq = s["SequenceNumberRange"]["StartingSequenceNumber"]
            self.assertRegex(seq, r"^49\d{54}$")
            self.assertNotIn("EndingSequenceNumber", s["SequenceNumberRange"])
        # created at the virtual clock's start
        self.assertEqual(d["StreamCreationTimestamp"].timestamp(), self.tidepool.now_ms() / 1000)

    def test_two_shards_split_the_space_in_half(self):
        self.make("halves", 2)
        d = self.k.describe_stream(StreamName="halves")["StreamDescription"]
        self.assertEqual(d["Shards"][1]["HashKeyRange"]["StartingHashKey"], str(2 ** 127))

    def test_summary(self):
        self.make("sum", 2)
        s = self.k.describe_stream_summary(StreamName="sum")["StreamDescriptionSummary"]
        self.assertEqual(s["OpenShardCount"], 2)
        self.assertEqual(s["ConsumerCount"], 0)
        self.assertEqual(s["StreamStatus"], "ACTIVE")
        self.assertNotIn("Shards", s)

    def test_by_arn(self):
        self.need("DescribeStream", "StreamARN")
        self.make("by-arn")
        arn = self.k.describe_stream_summary(StreamName="by-arn")["StreamDescriptionSummary"]["StreamARN"]
        d = self.k.describe_stream(StreamARN=arn)["StreamDescription"]
        self.assertEqual(d["StreamName"], "by-arn")
        self.k.add_tags_to_stream(StreamARN=arn, Tags={"a": "1"})
        self.assertEqual(self.k.list_tags_for_stream(StreamName="by-arn")["Tags"], [{"Key": "a", "Value": "1"}])
        missing = arn.replace("by-arn", "other")
        self.assertAwsError(lambda: self.k.describe_stream(StreamARN=missing), "ResourceNotFoundException",
                            "Stream other under account %s not found." % arn.split(":")[4])

    def test_on_demand(self):
        self.k.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
        s = self.k.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]
        self.assertEqual(s["StreamModeDetails"], {"StreamMode": "ON_DEMAND"})
        self.assertEqual(s["OpenShardCount"], 4)
        lim = self.k.describe_limits()
        self.assertEqual(lim["OnDemandStreamCount"], 1)
        self.assertEqual(lim["OnDemandStreamCountLimit"], 50)
        self.assertEqual(lim["OpenShardCount"], 0)   # on-demand shards are not counted

    def test_shard_pagination(self):
        self.make("many", 5)
        page = self.k.describe_stream(StreamName="many", Limit=2)["StreamDescription"]
        self.assertEqual([s["ShardId"][-1] for s in page["Shards"]], ["0", "1"])
        self.assertTrue(page["HasMoreShards"])
        page = self.k.describe_stream(StreamName="many", Limit=2,
                                      ExclusiveStartShardId="shardId-000000000003")["StreamDescription"]
        self.assertEqual([s["ShardId"][-1] for s in page["Shards"]], ["4"])
        self.assertFalse(page["HasMoreShards"])

    def test_errors(self):
        self.make("dup")
        acct = self.account()
        self.assertAwsError(lambda: self.k.create_stream(StreamName="dup", ShardCount=1),
                            "ResourceInUseException", "Stream dup under account %s already exists." % acct)
        self.assertAwsError(lambda: self.k.describe_stream(StreamName="nope"), "ResourceNotFoundException",
                            "Stream nope under account %s not found." % acct)
        bad = self.client("kinesis", retries=1, validate=False)
        self.assertAwsError(lambda: bad.create_stream(StreamName="bad name", ShardCount=1),
                            "ValidationException",
                            "1 validation error detected: Value 'bad name' at 'streamName' failed to satisfy "
                            "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
        self.assertAwsError(lambda: bad.create_stream(StreamName="zero", ShardCount=0), "ValidationException",
                            "1 validation error detected: Value '0' at 'shardCount' failed to satisfy "
                            "constraint: Member must have value greater than or equal to 1")

    def test_bare_error_types_on_the_wire(self):
        status, _, body = self.tidepool.ddb_raw("DescribeStream", {"StreamName": "nope"},
                                                target_prefix="Kinesis_20131202",
                                                headers={"Content-Type": "application/x-amz-json-1.1"})
        self.assertEqual(status, 400)
        self.assertEqual(body["__type"], "ResourceNotFoundException")
        status, _, body = self.tidepool.ddb_raw("DescribeStream", {"StreamName": ""},
                                                target_prefix="Kinesis_20131202",
                                                headers={"Content-Type": "application/x-amz-json-1.1"})
        self.assertEqual(body["__type"], "ValidationException")

    def test_account_isolation(self):
        self.make("mine")
        other = self.client("kinesis", access_key="AKIDOTHER", retries=1)
        self.assertEqual(other.list_streams()["StreamNames"], [])
        other.create_stream(StreamName="mine", ShardCount=2)
        self.assertEqual(self.k.describe_stream_summary(StreamName="mine")["StreamDescriptionSummary"][
            "OpenShardCount"], 1)
        west = self.client("kinesis", region="eu-west-1", retries=1)
        self.assertEqual(west.list_streams()["StreamNames"], [])


class TestListDelete(KinesisCase):
    def test_list_streams_pages(self):
        for n in ("c", "a", "b", "d"):
            self.make(n)
        p1 = self.k.list_streams(Limit=2)
        self.assertEqual(p1["StreamNames"], ["a", "b"])
        self.assertTrue(p1["HasMoreStreams"])
        self.assertEqual(self.k.list_streams(ExclusiveStartStreamName="b")["StreamNames"], ["c", "d"])
        self.need("ListStreams", "NextToken")
        self.assertEqual([s["StreamName"] for s in p1["StreamSummaries"]], ["a", "b"])
        self.assertEqual(p1["StreamSummaries"][0]["StreamStatus"], "ACTIVE")
        p2 = self.k.list_streams(NextToken=p1["NextToken"])
        self.assertEqual(p2["StreamNames"], ["c", "d"])
        self.assertFalse(p2["HasMoreStreams"])
        names = [n for page in self.k.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 1})
                 for n in page["StreamNames"]]
        self.assertEqual(names, ["a", "b", "c", "d"])

    def test_delete(self):
        self.make("gone")
        self.k.delete_stream(StreamName="gone")
        self.assertEqual(self.k.list_streams()["StreamNames"], [])
        self.assertAwsError(lambda: self.k.delete_stream(StreamName="gone"), "ResourceNotFoundException")
        # the name can be used again, with fresh shards
        self.make("gone", 2)
        self.assertEqual(len(self.k.describe_stream(StreamName="gone")["StreamDescription"]["Shards"]), 2)

    def test_delete_with_consumers(self):
        arn = self.k.describe_stream_summary(StreamName=self.make("fan"))["StreamDescriptionSummary"]["StreamARN"]
        self.k.register_stream_consumer(StreamARN=arn, ConsumerName="c1")
        self.assertAwsError(lambda: self.k.delete_stream(StreamName="fan"), "ResourceInUseException")
        self.k.delete_stream(StreamName="fan", EnforceConsumerDeletion=True)
        self.assertEqual(self.k.list_streams()["StreamNames"], [])


class TestSettings(KinesisCase):
    def test_retention(self):
        self.make("ret")
        acct = self.account()
        self.k.increase_stream_retention_period(StreamName="ret", RetentionPeriodHours=48)
        self.assertEqual(self.k.describe_stream_summary(StreamName="ret")["StreamDescriptionSummary"][
            "RetentionPeriodHours"], 48)
        self.assertAwsError(lambda: self.k.increase_stream_retention_period(StreamName="ret",
                                                                            RetentionPeriodHours=30),
                            "InvalidArgumentException",
                            "Requested retention period (30 hours) for stream ret can not be shorter than "
                            "existing retention period (48 hours). Use DecreaseRetentionPeriod API.")
        self.assertAwsError(lambda: self.k.decrease_stream_retention_period(StreamName="ret",
                                                                            RetentionPeriodHours=72),
                            "InvalidArgumentException",
                            "Requested retention period (72 hours) for stream ret can not be longer than "
                            "existing retention period (48 hours). Use IncreaseRetentionPeriod API.")
        self.assertAwsError(lambda: self.k.increase_stream_retention_period(StreamName="ret",
                                                                            RetentionPeriodHours=9000),
                            "InvalidArgumentException",
                            "Maximum allowed retention period is 8760 hours. Requested retention period "
                            "(9000 hours) is too long.")
        self.k.decrease_stream_retention_period(StreamName="ret", RetentionPeriodHours=24)
        self.assertEqual(self.k.describe_stream(StreamName="ret")["StreamDescription"]["RetentionPeriodHours"], 24)
        self.assertTrue(acct.isdigit())

    def test_tags(self):
        self.make("tagged")
        self.k.add_tags_to_stream(StreamName="tagged", Tags={"b": "2", "a": "1", "c": "3"})
        page = self.k.list_tags_for_stream(StreamName="tagged", Limit=2)
        self.assertEqual(page["Tags"], [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
        self.assertTrue(page["HasMoreTags"])
        page = self.k.list_tags_for_stream(StreamName="tagged", ExclusiveStartTagKey="b")
        self.assertEqual(page["Tags"], [{"Key": "c", "Value": "3"}])
        self.assertFalse(page["HasMoreTags"])
        self.k.remove_tags_from_stream(StreamName="tagged", TagKeys=["a", "c"])
        self.assertEqual(self.k.list_tags_for_stream(StreamName="tagged")["Tags"], [{"Key": "b", "Value": "2"}])
        too_many = {"k%d" % i: "v" for i in range(50)}
        self.assertAwsError(lambda: self.k.add_tags_to_stream(StreamName="tagged", Tags=too_many),
                            "LimitExceededException")
        # created with tags
        self.need("CreateStream", "Tags")
        self.k.create_stream(StreamName="born-tagged", ShardCount=1, Tags={"team": "x"})
        self.assertEqual(self.k.list_tags_for_stream(StreamName="born-tagged")["Tags"],
                         [{"Key": "team", "Value": "x"}])

    def test_tag_resource(self):
        self.need("TagResource")
        arn = self.k.describe_stream_summary(StreamName=self.make("res"))["StreamDescriptionSummary"]["StreamARN"]
        self.k.tag_resource(ResourceARN=arn, Tags={"env": "test"})
        self.assertEqual(self.k.list_tags_for_resource(ResourceARN=arn)["Tags"], [{"Key": "env", "Value": "test"}])
        self.k.untag_resource(ResourceARN=arn, TagKeys=["env"])
        self.assertEqual(self.k.list_tags_for_resource(ResourceARN=arn)["Tags"], [])
        c = self.k.register_stream_consumer(StreamARN=arn, ConsumerName="tagme")["Consumer"]
        self.k.tag_resource(ResourceARN=c["ConsumerARN"], Tags={"who": "consumer"})
        self.assertEqual(self.k.list_tags_for_resource(ResourceARN=c["ConsumerARN"])["Tags"],
                         [{"Key": "who", "Value": "consumer"}])
        self.assertEqual(self.k.list_tags_for_stream(StreamName="res")["Tags"], [])
        self.assertAwsError(lambda: self.k.list_tags_for_resource(ResourceARN=arn + "x"),
                            "ResourceNotFoundException")

    def test_encryption_and_mode_and_monitoring(self):
        arn = self.k.describe_stream_summary(StreamName=self.make("enc", 2))["StreamDescriptionSummary"]["StreamARN"]
        self.k.start_stream_encryption(StreamName="enc", EncryptionType="KMS", KeyId="alias/aws/kinesis")
        d = self.k.describe_stream_summary(StreamName="enc")["StreamDescriptionSummary"]
        self.assertEqual((d["EncryptionType"], d["KeyId"]), ("KMS", "alias/aws/kinesis"))
        put = self.k.put_record(StreamName="enc", Data=b"x", PartitionKey="p")
        self.assertEqual(put["EncryptionType"], "KMS")
        self.k.stop_stream_encryption(StreamName="enc", EncryptionType="KMS", KeyId="alias/aws/kinesis")
        d = self.k.describe_stream_summary(StreamName="enc")["StreamDescriptionSummary"]
        self.assertEqual(d["EncryptionType"], "NONE")
        self.assertNotIn("KeyId", d)

        out = self.k.enable_enhanced_monitoring(StreamName="enc", ShardLevelMetrics=["IncomingBytes"])
        self.assertEqual((out["CurrentShardLevelMetrics"], out["DesiredShardLevelMetrics"]), ([], ["IncomingBytes"]))
        out = self.k.enable_enhanced_monitoring(StreamName="enc", ShardLevelMetrics=["ALL"])
        self.assertEqual(len(out["DesiredShardLevelMetrics"]), 7)
        out = self.k.disable_enhanced_monitoring(StreamName="enc", ShardLevelMetrics=["IncomingBytes"])
        self.assertNotIn("IncomingBytes", out["DesiredShardLevelMetrics"])
        self.assertEqual(self.k.describe_stream(StreamName="enc")["StreamDescription"]["EnhancedMonitoring"],
                         [{"ShardLevelMetrics": out["DesiredShardLevelMetrics"]}])

        self.k.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
        self.assertEqual(self.k.describe_stream_summary(StreamName="enc")["StreamDescriptionSummary"][
            "StreamModeDetails"], {"StreamMode": "ON_DEMAND"})
        self.assertAwsError(lambda: self.k.update_stream_mode(StreamARN=arn,
                                                              StreamModeDetails={"StreamMode": "ON_DEMAND"}),
                            "InvalidArgumentException")

    def test_limits(self):
        self.make("l1", 3)
        lim = self.k.describe_limits()
        self.assertEqual((lim["ShardLimit"], lim["OpenShardCount"]), (500, 3))


class TestShardLimit(KinesisCase):
    tidepool_kwargs = {"config": {"kinesis": {"shard_limit": 4}}}

    def test_shard_limit(self):
        self.make("a", 3)
        acct = self.account()   # one more shard: 4
        self.assertAwsError(
            lambda: self.k.create_stream(StreamName="b", ShardCount=1), "LimitExceededException",
            "This request would exceed the shard limit for the account %s in us-east-1. Current shard count "
            "for the account: 4. Limit: 4. Number of additional shards that would have resulted from this "
            "request: 1. Refer to the AWS Service Limits page "
            "(https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and "
            "how to request higher limits." % acct)


class TestConsumers(KinesisCase):
    def test_lifecycle(self):
        arn = self.k.describe_stream_summary(StreamName=self.make("efo"))["StreamDescriptionSummary"]["StreamARN"]
        c = self.k.register_stream_consumer(StreamARN=arn, ConsumerName="app1")["Consumer"]
        self.assertEqual(c["ConsumerStatus"], "CREATING")
        self.assertRegex(c["ConsumerARN"], r"^%s/consumer/app1:\d+$" % arn)
        d = self.k.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])["ConsumerDescription"]
        self.assertEqual((d["ConsumerStatus"], d["StreamARN"]), ("ACTIVE", arn))
        d = self.k.describe_stream_consumer(StreamARN=arn, ConsumerName="app1")["ConsumerDescription"]
        self.assertEqual(d["ConsumerARN"], c["ConsumerARN"])
        self.assertAwsError(lambda: self.k.register_stream_consumer(StreamARN=arn, ConsumerName="app1"),
                            "ResourceInUseException")
        for i in range(2, 5):
            self.k.register_stream_consumer(StreamARN=arn, ConsumerName="app%d" % i)
        page = self.k.list_stream_consumers(StreamARN=arn, MaxResults=3)
        self.assertEqual([x["ConsumerName"] for x in page["Consumers"]], ["app1", "app2", "app3"])
        page = self.k.list_stream_consumers(StreamARN=arn, NextToken=page["NextToken"])
        self.assertEqual([x["ConsumerName"] for x in page["Consumers"]], ["app4"])
        self.assertEqual(self.k.describe_stream_summary(StreamName="efo")["StreamDescriptionSummary"]["ConsumerCount"], 4)
        self.k.deregister_stream_consumer(ConsumerARN=c["ConsumerARN"])
        self.assertAwsError(lambda: self.k.describe_stream_consumer(ConsumerARN=c["ConsumerARN"]),
                            "ResourceNotFoundException")

    def test_limit_of_twenty(self):
        arn = self.k.describe_stream_summary(StreamName=self.make("lots"))["StreamDescriptionSummary"]["StreamARN"]
        for i in range(20):
            self.k.register_stream_consumer(StreamARN=arn, ConsumerName="c%d" % i)
        self.assertAwsError(lambda: self.k.register_stream_consumer(StreamARN=arn, ConsumerName="c20"),
                            "LimitExceededException")

    def test_subscribe_to_shard_is_refused_clearly(self):
        arn = self.k.describe_stream_summary(StreamName=self.make("sub"))["StreamDescriptionSummary"]["StreamARN"]
        c = self.k.register_stream_consumer(StreamARN=arn, ConsumerName="s")["Consumer"]
        status, _, body = self.tidepool.ddb_raw(
            "SubscribeToShard", {"ConsumerARN": c["ConsumerARN"], "ShardId": "shardId-000000000000",
                                 "StartingPosition": {"Type": "LATEST"}},
            target_prefix="Kinesis_20131202", headers={"Content-Type": "application/x-amz-json-1.1"})
        self.assertEqual(status, 400)
        self.assertEqual(body["__type"], "InvalidArgumentException")
        self.assertIn("HTTP/2", body["message"])


class TestDelays(KinesisCase):
    tidepool_kwargs = {"config": {"kinesis": {"create_delay_ms": 5000, "update_delay_ms": 2000,
                                              "delete_delay_ms": 3000, "consumer_delay_ms": 1000}}}

    def status(self, name):
        return self.k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]

    def test_status_machine(self):
        self.make("slow", 2)
        self.assertEqual(self.status("slow"), "CREATING")
        self.assertAwsError(lambda: self.k.put_record(StreamName="slow", Data=b"x", PartitionKey="p"),
                            "ResourceNotFoundException")
        self.assertAwsError(lambda: self.k.increase_stream_retention_period(StreamName="slow",
                                                                            RetentionPeriodHours=48),
                            "ResourceInUseException")
        self.tidepool.advance(4999)
        self.assertEqual(self.status("slow"), "CREATING")
        self.tidepool.advance(1)
        self.assertEqual(self.status("slow"), "ACTIVE")
        self.k.start_stream_encryption(StreamName="slow", EncryptionType="KMS", KeyId="k")
        self.assertEqual(self.status("slow"), "UPDATING")
        acct = self.account()
        self.assertAwsError(lambda: self.k.split_shard(StreamName="slow", ShardToSplit="shardId-000000000000",
                                                       NewStartingHashKey=str(2 ** 100)),
                            "ResourceInUseException",
                            "Stream slow under account %s not ACTIVE, instead in state UPDATING" % acct)
        # writes go on while UPDATING
        self.k.put_record(StreamName="slow", Data=b"x", PartitionKey="p")
        self.tidepool.advance(2000)
        self.assertEqual(self.status("slow"), "ACTIVE")
        self.k.delete_stream(StreamName="slow")
        self.assertEqual(self.status("slow"), "DELETING")
        self.tidepool.advance(3000)
        self.assertAwsError(lambda: self.k.describe_stream(StreamName="slow"), "ResourceNotFoundException")

    def test_consumer_statuses(self):
        self.k.create_stream(StreamName="c", ShardCount=1)
        self.tidepool.advance(5000)
        arn = self.k.describe_stream_summary(StreamName="c")["StreamDescriptionSummary"]["StreamARN"]
        c = self.k.register_stream_consumer(StreamARN=arn, ConsumerName="x")["Consumer"]
        desc = lambda: self.k.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])["ConsumerDescription"]
        self.assertEqual(desc()["ConsumerStatus"], "CREATING")
        self.tidepool.advance(1000)
        self.assertEqual(desc()["ConsumerStatus"], "ACTIVE")
        self.k.deregister_stream_consumer(StreamARN=arn, ConsumerName="x")
        self.assertEqual(desc()["ConsumerStatus"], "DELETING")
        self.tidepool.advance(1000)
        self.assertAwsError(desc, "ResourceNotFoundException")

    def test_waiter_shape(self):
        # boto3's stream_exists waiter polls DescribeStream for ACTIVE
        self.make("w")
        self.tidepool.advance(5000)
        self.k.get_waiter("stream_exists").wait(StreamName="w", WaiterConfig={"Delay": 0, "MaxAttempts": 1})


class TestCli(KinesisCase):
    def test_cli_v2_round_trip(self):
        self.aws("kinesis", "create-stream", "--stream-name", "cli", "--shard-count", "2", expect_rc=0)
        _, out, _ = self.aws("kinesis", "describe-stream-summary", "--stream-name", "cli", expect_rc=0)
        self.assertEqual(out["StreamDescriptionSummary"]["OpenShardCount"], 2)
        _, out, _ = self.aws("kinesis", "list-streams", expect_rc=0)
        self.assertEqual(out["StreamNames"], ["cli"])
        # CLI v2 takes --data as base64 by default
        _, put, _ = self.aws("kinesis", "put-record", "--stream-name", "cli", "--partition-key", "p",
                             "--data", "aGVsbG8=", expect_rc=0)
        _, it, _ = self.aws("kinesis", "get-shard-iterator", "--stream-name", "cli", "--shard-id",
                            put["ShardId"], "--shard-iterator-type", "TRIM_HORIZON", expect_rc=0)
        _, recs, _ = self.aws("kinesis", "get-records", "--shard-iterator", it["ShardIterator"], expect_rc=0)
        self.assertEqual([r["Data"] for r in recs["Records"]], ["aGVsbG8="])
        self.assertEqual(recs["Records"][0]["SequenceNumber"], put["SequenceNumber"])
        self.aws("kinesis", "add-tags-to-stream", "--stream-name", "cli", "--tags", "k=v", expect_rc=0)
        _, tags, _ = self.aws("kinesis", "list-tags-for-stream", "--stream-name", "cli", expect_rc=0)
        self.assertEqual(tags["Tags"], [{"Key": "k", "Value": "v"}])
        self.aws("kinesis", "delete-stream", "--stream-name", "cli", expect_rc=0)

    def test_cli_v2_errors(self):
        rc, _, err = self.aws("kinesis", "describe-stream", "--stream-name", "nope")
        self.assertNotEqual(rc, 0)
        self.assertIn("ResourceNotFoundException", err)
        self.assertIn("Stream nope under account", err)


if __name__ == "__main__":
    unittest.main()
