"""SQS queues through boto3 (and the AWS CLI): CreateQueue's name and
attribute rules with AWS's errors, idempotent create, GetQueueUrl,
ListQueues paging, DeleteQueue, Get/SetQueueAttributes with computed
counts and timestamps on tidepool's clock, PurgeQueue's 60-second rule,
tags, permissions in Policy, queue URL forms and per-account/region
isolation."""
import json
import re
import unittest

from sqs_support import SqsTestCase


class CreateQueue(SqsTestCase):
    def test_url_names_the_account_and_queue(self):
        url = self.queue("orders")
        self.assertRegex(url, r"^http://[^/]+/\d{12}/orders$")
        # a 12-digit access key is the account
        other = self.sqs_client(access_key="123456789012")
        url2 = other.create_queue(QueueName="orders")["QueueUrl"]
        self.assertTrue(url2.endswith("/123456789012/orders"), url2)

    def test_idempotent_while_attributes_match(self):
        a = self.queue("same", VisibilityTimeout=40)
        b = self.queue("same", VisibilityTimeout=40)
        c = self.sqs.create_queue(QueueName="same")["QueueUrl"]
        self.assertEqual(a, b)
        self.assertEqual(a, c)
        self.assertSqsError(lambda: self.queue("same", VisibilityTimeout=41), "QueueAlreadyExists",
                            "A queue already exists with the same name and a different value for "
                            "attribute VisibilityTimeout")

    def test_name_rules(self):
        std = "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        fifo = ("The name of a FIFO queue can only include alphanumeric characters, hyphens, or "
                "underscores, must end with .fifo suffix and be 1 to 80 in length.")
        for bad in ["has space", "dot.name", "x" * 81, "slash/name", "plain.fifo"]:
            self.assertSqsError(lambda: self.sqs.create_queue(QueueName=bad), "InvalidParameterValue", std)
        self.sqs.create_queue(QueueName="a" * 80)
        self.sqs.create_queue(QueueName="Az09-_")
        self.assertSqsError(lambda: self.sqs.create_queue(QueueName="nofifo", Attributes={"FifoQueue": "true"}),
                            "InvalidParameterValue", fifo)
        self.assertSqsError(lambda: self.sqs.create_queue(QueueName="x" * 76 + ".fifo",
                                                          Attributes={"FifoQueue": "true"}),
                            "InvalidParameterValue", fifo)
        self.sqs.create_queue(QueueName="x" * 75 + ".fifo", Attributes={"FifoQueue": "true"})
        self.assertEqual(self.sqs.list_queues().get("QueueUrls", []).__len__(), 3)

    def test_attribute_values_are_checked(self):
        for name, value in [("VisibilityTimeout", "43201"), ("VisibilityTimeout", "-1"),
                            ("VisibilityTimeout", "ten"), ("DelaySeconds", "901"),
                            ("MaximumMessageSize", "1023"), ("MaximumMessageSize", "1048577"),
                            ("MessageRetentionPeriod", "59"), ("MessageRetentionPeriod", "1209601"),
                            ("ReceiveMessageWaitTimeSeconds", "21"), ("Policy", "{not json"),
                            ("KmsDataKeyReusePeriodSeconds", "59")]:
            self.assertSqsError(lambda: self.sqs.create_queue(QueueName="v", Attributes={name: value}),
                                "InvalidAttributeValue", "Invalid value for the parameter %s." % name)
        self.assertSqsError(lambda: self.sqs.create_queue(QueueName="v", Attributes={"Colour": "red"}),
                            "InvalidAttributeName", "Unknown Attribute Colour.")
        self.assertSqsError(lambda: self.sqs.create_queue(QueueName="v", Attributes={"QueueArn": "x"}),
                            "InvalidAttributeName", "Unknown Attribute QueueArn.")
        # FifoQueue=false is not a standard queue's attribute (AWS refuses it)
        self.assertSqsError(lambda: self.sqs.create_queue(QueueName="v", Attributes={"FifoQueue": "false"}),
                            "InvalidAttributeName", "Unknown Attribute FifoQueue.")
        self.assertSqsError(lambda: self.sqs.create_queue(QueueName="v", Attributes={"DeduplicationScope": "queue"}),
                            "InvalidAttributeName",
                            "You can specify the DeduplicationScope only when FifoQueue is set to true.")
        self.assertSqsError(lambda: self.sqs.create_queue(QueueName="v", Attributes={"ContentBasedDeduplication": "true"}),
                            "InvalidAttributeName", "Unknown Attribute ContentBasedDeduplication.")
        # nothing was created by the refused calls
        self.assertNotIn("QueueUrls", self.sqs.list_queues())

    def test_deleted_name_is_held_for_60_seconds(self):
        url = self.queue("again")
        self.sqs.delete_queue(QueueUrl=url)
        self.assertSqsError(lambda: self.queue("again"), "AWS.SimpleQueueService.QueueDeletedRecently",
                            "You must wait 60 seconds after deleting a queue before you can create "
                            "another with the same name.")
        self.tidepool.advance(60000)
        self.assertEqual(self.queue("again"), url)


class FindingQueues(SqsTestCase):
    def test_get_queue_url_and_missing_queue(self):
        url = self.queue("here")
        self.assertEqual(self.sqs.get_queue_url(QueueName="here")["QueueUrl"], url)
        self.assertSqsError(lambda: self.sqs.get_queue_url(QueueName="gone"),
                            "AWS.SimpleQueueService.NonExistentQueue", self.no_queue)

    def test_queue_owner_account(self):
        owner = self.sqs_client(access_key="111122223333")
        url = owner.create_queue(QueueName="shared")["QueueUrl"]
        # another account finds it by naming the owner
        self.assertEqual(self.sqs.get_queue_url(QueueName="shared", QueueOwnerAWSAccountId="111122223333")["QueueUrl"], url)
        self.assertSqsError(lambda: self.sqs.get_queue_url(QueueName="shared"),
                            "AWS.SimpleQueueService.NonExistentQueue")

    def test_accounts_and_regions_are_isolated(self):
        self.queue("mine")
        other = self.sqs_client(access_key="AKIDSOMEONEELSE")
        west = self.sqs_client(region="us-west-2")
        self.assertNotIn("QueueUrls", other.list_queues())
        self.assertNotIn("QueueUrls", west.list_queues())
        west_url = west.create_queue(QueueName="mine")["QueueUrl"]
        # a URL without an AWS host names no region: the caller's region counts
        self.assertTrue(west.get_queue_attributes(QueueUrl=west_url, AttributeNames=["QueueArn"])
                        ["Attributes"]["QueueArn"].startswith("arn:aws:sqs:us-west-2:"))
        self.assertTrue(self.attrs(self.sqs.get_queue_url(QueueName="mine")["QueueUrl"], "QueueArn")
                        ["QueueArn"].startswith("arn:aws:sqs:us-east-1:"))
        west.send_message(QueueUrl=west_url, MessageBody="west")
        self.assertEqual(self.receive(self.sqs.get_queue_url(QueueName="mine")["QueueUrl"]), [])

    def test_aws_host_forms_of_the_url(self):
        url = self.queue("hosts")
        account = url.split("/")[-2]
        self.sqs.send_message(QueueUrl=url, MessageBody="1")
        for form in ["https://sqs.us-east-1.amazonaws.com/%s/hosts", "https://queue.amazonaws.com/%s/hosts",
                     "http://localhost:4566/%s/hosts"]:
            got = self.attrs(form % account, "ApproximateNumberOfMessages")
            self.assertEqual(got, {"ApproximateNumberOfMessages": "1"})
        # a URL that names no queue is a queue that does not exist (as on AWS)
        self.assertSqsError(lambda: self.attrs("http://whatever-incorrect-queue-address"),
                            "AWS.SimpleQueueService.NonExistentQueue", self.no_queue)
        # the host names the region: us-west-2 has no such queue
        self.assertSqsError(lambda: self.attrs("https://sqs.us-west-2.amazonaws.com/%s/hosts" % account),
                            "AWS.SimpleQueueService.NonExistentQueue")

    def test_list_queues_prefix_and_pages(self):
        names = ["alpha", "alpine", "beta", "alps", "gamma"]
        for n in names:
            self.queue(n)
        urls = self.sqs.list_queues()["QueueUrls"]
        self.assertEqual([u.rsplit("/", 1)[1] for u in urls], sorted(names))
        pre = self.sqs.list_queues(QueueNamePrefix="alp")["QueueUrls"]
        self.assertEqual([u.rsplit("/", 1)[1] for u in pre], ["alpha", "alpine", "alps"])
        seen = []
        kw = {"MaxResults": 2}
        pages = 0
        while True:
            page = self.sqs.list_queues(**kw)
            seen += page.get("QueueUrls", [])
            pages += 1
            if "NextToken" not in page:
                break
            kw["NextToken"] = page["NextToken"]
        self.assertEqual(pages, 3)
        self.assertEqual(seen, urls)
        self.assertNotIn("NextToken", self.sqs.list_queues(MaxResults=5))

    def test_delete_queue(self):
        url = self.queue("doomed")
        self.sqs.send_message(QueueUrl=url, MessageBody="x")
        self.sqs.delete_queue(QueueUrl=url)
        self.assertSqsError(lambda: self.sqs.delete_queue(QueueUrl=url), "AWS.SimpleQueueService.NonExistentQueue")
        self.assertSqsError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x"),
                            "AWS.SimpleQueueService.NonExistentQueue", self.no_queue)
        self.assertNotIn("QueueUrls", self.sqs.list_queues())


class QueueAttributes(SqsTestCase):
    def test_all_attributes_of_a_new_queue(self):
        url = self.queue("a")
        now_s = self.tidepool.now_ms() // 1000
        account = url.split("/")[-2]
        self.assertEqual(self.attrs(url), {
            "QueueArn": "arn:aws:sqs:us-east-1:%s:a" % account,
            "ApproximateNumberOfMessages": "0",
            "ApproximateNumberOfMessagesNotVisible": "0",
            "ApproximateNumberOfMessagesDelayed": "0",
            "CreatedTimestamp": str(now_s),
            "LastModifiedTimestamp": str(now_s),
            "VisibilityTimeout": "30",
            "MaximumMessageSize": "1048576",
            "MessageRetentionPeriod": "345600",
            "DelaySeconds": "0",
            "ReceiveMessageWaitTimeSeconds": "0",
            "SqsManagedSseEnabled": "true",
        })
        fifo = self.queue("a.fifo")
        got = self.attrs(fifo)
        self.assertEqual({k: got[k] for k in ["FifoQueue", "ContentBasedDeduplication",
                                              "DeduplicationScope", "FifoThroughputLimit"]},
                         {"FifoQueue": "true", "ContentBasedDeduplication": "false",
                          "DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"})

    def test_named_attributes_and_unknown_names(self):
        url = self.queue("b", DelaySeconds=5)
        self.assertEqual(self.attrs(url, "DelaySeconds", "VisibilityTimeout"),
                         {"DelaySeconds": "5", "VisibilityTimeout": "30"})
        loose = self.sqs_client(validate=False)
        self.assertSqsError(lambda: loose.get_queue_attributes(QueueUrl=url, AttributeNames=["Nope"]),
                            "InvalidAttributeName", "Unknown Attribute Nope.")

    def test_counts_follow_the_clock(self):
        url = self.queue("c")
        self.sqs.send_message(QueueUrl=url, MessageBody="now")
        self.sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=10)
        self.sqs.send_message(QueueUrl=url, MessageBody="also now")
        counts = lambda: {k[len("ApproximateNumberOfMessages"):] or "Visible": int(v)
                          for k, v in self.attrs(url, "ApproximateNumberOfMessages",
                                                 "ApproximateNumberOfMessagesNotVisible",
                                                 "ApproximateNumberOfMessagesDelayed").items()}
        self.assertEqual(counts(), {"Visible": 2, "NotVisible": 0, "Delayed": 1})
        self.receive(url, 1, VisibilityTimeout=20)
        self.assertEqual(counts(), {"Visible": 1, "NotVisible": 1, "Delayed": 1})
        self.tidepool.advance(10000)
        self.assertEqual(counts(), {"Visible": 2, "NotVisible": 1, "Delayed": 0})
        self.tidepool.advance(10000)
        self.assertEqual(counts(), {"Visible": 3, "NotVisible": 0, "Delayed": 0})

    def test_set_queue_attributes(self):
        url = self.queue("d")
        created = self.attrs(url, "CreatedTimestamp")["CreatedTimestamp"]
        self.tidepool.advance(5000)
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "45", "DelaySeconds": "3"})
        got = self.attrs(url)
        self.assertEqual(got["VisibilityTimeout"], "45")
        self.assertEqual(got["DelaySeconds"], "3")
        self.assertEqual(got["CreatedTimestamp"], created)
        self.assertEqual(int(got["LastModifiedTimestamp"]), int(created) + 5)
        self.assertSqsError(lambda: self.sqs.set_queue_attributes(
            QueueUrl=url, Attributes={"VisibilityTimeout": "50", "DelaySeconds": "9999"}),
            "InvalidAttributeValue", "Invalid value for the parameter DelaySeconds.")
        self.assertEqual(self.attrs(url, "VisibilityTimeout")["VisibilityTimeout"], "45")
        self.assertSqsError(lambda: self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "true"}),
                            "InvalidAttributeName", "Unknown Attribute FifoQueue.")
        policy = json.dumps({"Version": "2012-10-17", "Statement": []})
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
        self.assertEqual(self.attrs(url, "Policy")["Policy"], policy)
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
        self.assertNotIn("Policy", self.attrs(url))

    def test_purge_queue_once_a_minute(self):
        url = self.queue("p")
        for i in range(3):
            self.sqs.send_message(QueueUrl=url, MessageBody=str(i))
        self.sqs.purge_queue(QueueUrl=url)
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "0"})
        self.sqs.send_message(QueueUrl=url, MessageBody="kept")
        self.assertSqsError(lambda: self.sqs.purge_queue(QueueUrl=url), "AWS.SimpleQueueService.PurgeQueueInProgress",
                            "Only one PurgeQueue operation on p is allowed every 60 seconds.", status=403)
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "1"})
        self.tidepool.advance(60000)
        self.sqs.purge_queue(QueueUrl=url)
        self.assertEqual(self.receive(url), [])


class TagsAndPermissions(SqsTestCase):
    def test_tags(self):
        url = self.sqs.create_queue(QueueName="t", tags={"team": "core", "env": "test"})["QueueUrl"]
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"team": "core", "env": "test"})
        self.sqs.tag_queue(QueueUrl=url, Tags={"env": "prod", "cost": "7"})
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"team": "core", "env": "prod", "cost": "7"})
        self.sqs.untag_queue(QueueUrl=url, TagKeys=["team", "cost", "absent"])
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"env": "prod"})
        self.sqs.untag_queue(QueueUrl=url, TagKeys=["env"])
        self.assertNotIn("Tags", self.sqs.list_queue_tags(QueueUrl=url))

    def test_permissions_live_in_the_policy(self):
        url = self.queue("perm")
        arn = self.attrs(url, "QueueArn")["QueueArn"]
        self.sqs.add_permission(QueueUrl=url, Label="senders", AWSAccountIds=["111122223333"],
                                Actions=["SendMessage"])
        self.sqs.add_permission(QueueUrl=url, Label="both", AWSAccountIds=["111122223333", "444455556666"],
                                Actions=["ReceiveMessage", "DeleteMessage"])
        policy = json.loads(self.attrs(url, "Policy")["Policy"])
        self.assertEqual(policy["Id"], arn + "/SQSDefaultPolicy")
        self.assertEqual(policy["Statement"], [
            {"Sid": "senders", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
             "Action": "SQS:SendMessage", "Resource": arn},
            {"Sid": "both", "Effect": "Allow",
             "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"]},
             "Action": ["SQS:ReceiveMessage", "SQS:DeleteMessage"], "Resource": arn},
        ])
        self.assertSqsError(lambda: self.sqs.add_permission(QueueUrl=url, Label="senders",
                                                            AWSAccountIds=["111122223333"], Actions=["SendMessage"]),
                            "InvalidParameterValue",
                            "Value senders for parameter Label is invalid. Reason: Already exists.")
        self.sqs.remove_permission(QueueUrl=url, Label="senders")
        self.sqs.remove_permission(QueueUrl=url, Label="both")
        self.assertNotIn("Policy", self.attrs(url))


class Cli(SqsTestCase):
    def test_cli_v1_round_trip(self):
        from tidepool import find_cli
        if self.protocol != "json" or not find_cli("v1"):
            raise unittest.SkipTest("no AWS CLI v1 here (the JSON-protocol CLI)")
        _, out, _ = self.aws("sqs", "create-queue", "--queue-name", "cli", cli="v1", expect_rc=0)
        url = out["QueueUrl"]
        _, sent, _ = self.aws("sqs", "send-message", "--queue-url", url, "--message-body", "from the cli",
                              cli="v1", expect_rc=0)
        _, got, _ = self.aws("sqs", "receive-message", "--queue-url", url, cli="v1", expect_rc=0)
        self.assertEqual(got["Messages"][0]["Body"], "from the cli")
        self.assertEqual(got["Messages"][0]["MessageId"], sent["MessageId"])
        rc, _, err = self.aws("sqs", "get-queue-url", "--queue-name", "none", cli="v1")
        self.assertIn(rc, (254, 255))
        self.assertIn("The specified queue does not exist.", err)

    def test_cli_v2_round_trip(self):
        """Debian's AWS CLI v2 speaks the query protocol."""
        from tidepool import find_cli
        if not find_cli("v2"):
            raise unittest.SkipTest("no AWS CLI v2 here")
        if not self.query_served():
            raise unittest.SkipTest("the SQS query protocol is not served yet")
        _, out, _ = self.aws("sqs", "create-queue", "--queue-name", "cli2", "--attributes",
                             "VisibilityTimeout=40", cli="v2", expect_rc=0)
        url = out["QueueUrl"]
        self.assertEqual(self.attrs(url, "VisibilityTimeout"), {"VisibilityTimeout": "40"})
        self.aws("sqs", "send-message", "--queue-url", url, "--message-body", "v2 body", cli="v2", expect_rc=0)
        _, got, _ = self.aws("sqs", "receive-message", "--queue-url", url, "--attribute-names", "All",
                             cli="v2", expect_rc=0)
        self.assertEqual(got["Messages"][0]["Body"], "v2 body")
        self.assertEqual(got["Messages"][0]["Attributes"]["ApproximateReceiveCount"], "1")
        rc, _, err = self.aws("sqs", "get-queue-url", "--queue-name", "none", cli="v2")
        self.assertEqual(rc, 254)
        self.assertIn("(AWS.SimpleQueueService.NonExistentQueue) when calling the GetQueueUrl "
                      "operation: The specified queue does not exist for this wsdl version.", err)


if __name__ == "__main__":
    unittest.main()
