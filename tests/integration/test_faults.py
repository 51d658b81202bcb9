"""test_faults — fault injection, the trace and the metrics (issue 5).

Spec: a rule (the same JSON in the config file's "faults" array and in POST
/_tidepool/faults) matches service/operation/resource with wildcards, fires
on every Nth match, after N matches, with a seeded probability, inside a
tidepool-clock window, at most count times; its effect is an AWS error
(code/status/message as given), latency on the virtual clock, a dropped
connection (the action does not run) or a lost response (the action runs
and commits, the client sees the connection close: the retry-duplicate
case). Reset drops API rules and re-arms config rules, so a seed replays.
Every fault is a "fault" event in GET /_tidepool/trace (JSON lines) and
counts in GET /_tidepool/metrics (Prometheus text).
"""
import json
import unittest

import botocore.exceptions

from tidepool import TidepoolTestCase

EXAMPLE = {"service": "dynamodb", "operation": "GetItem", "resource": "orders", "every": 2,
           "error": {"code": "InternalServerError", "status": 500, "message": "injected"}}

# retries=0 (or 1): one attempt, no SDK retry.
CONNECTION_ERRORS = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)


def make_table(ddb, name="orders"):
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


class FaultCase(TidepoolTestCase):
    def add_rule(self, rule):
        status, body = self.tidepool.control("POST", "faults", rule)
        self.assertEqual(status, 200, body)
        self.assertIsInstance(body.get("id"), str, body)
        return body["id"]

    def rules(self):
        status, body = self.tidepool.control("GET", "faults")
        self.assertEqual(status, 200, body)
        return {r["id"]: r for r in body["rules"]}

    def trace(self, since=None):
        path = "/_tidepool/trace" + ("?since=%d" % since if since is not None else "")
        status, headers, data = self.tidepool.raw("GET", path)
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("application/x-ndjson"), headers)
        return [json.loads(line) for line in data.decode().splitlines() if line]

    def get_ok(self, ddb, table="orders"):
        return ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})


class TestErrorRules(FaultCase):
    def test_issue_example_every_second_getitem(self):
        ddb = self.client(retries=0)
        make_table(ddb)
        make_table(ddb, "users")
        rid = self.add_rule(EXAMPLE)
        for i in range(3):
            self.get_ok(ddb)   # 1st, 3rd, 5th match
            self.assertAwsError(lambda: self.get_ok(ddb), "InternalServerError", "injected", 500)
        # other tables and operations do not match
        for _ in range(3):
            self.get_ok(ddb, "users")
            ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
        r = self.rules()[rid]
        self.assertEqual((r["matched"], r["fired"]), (6, 3))
        self.assertEqual(r["rule"], EXAMPLE)
        faults = [e for e in self.trace() if e["type"] == "fault"]
        self.assertEqual(len(faults), 3)
        for e in faults:
            self.assertEqual((e["rule"], e["service"], e["operation"], e["resource"], e["effect"]),
                             (rid, "dynamodb", "GetItem", "orders", "error"))
            self.assertEqual((e["code"], e["status"]), ("InternalServerError", 500))
            self.assertIsInstance(e["t_ms"], int)
            self.assertIsInstance(e["wall_ms"], int)
        requests = [e for e in self.trace() if e["type"] == "request" and e["operation"] == "GetItem"]
        self.assertEqual([e["status"] for e in requests[:4]], [200, 500, 200, 500])

    def test_known_code_keeps_its_namespace_and_status(self):
        ddb = self.client(retries=0)
        make_table(ddb)
        self.add_rule({"operation": "Get*", "error": {"code": "ThrottlingException",
                                                      "message": "Rate exceeded"}})
        self.assertAwsError(lambda: self.get_ok(ddb), "ThrottlingException", "Rate exceeded", 400)
        status, _, body = self.tidepool.ddb_raw("GetItem", {"TableName": "orders",
                                                            "Key": {"pk": {"S": "a"}}})
        self.assertEqual(status, 400)
        self.assertEqual(body["__type"], "com.amazon.coral.availability#ThrottlingException")
        self.add_rule({"operation": "PutItem", "error": {"code": "ServiceUnavailable", "status": 503,
                                                         "message": "down"}})
        self.assertAwsError(lambda: ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}}),
                            "ServiceUnavailable", "down", 503)

    def test_fault_runs_before_validation(self):
        ddb = self.client(retries=0)
        self.add_rule({"operation": "GetItem", "error": {"code": "RequestLimitExceeded",
                                                         "message": "limit"}})
        # no such table: the fault answers first
        self.assertAwsError(lambda: self.get_ok(ddb, "missing"), "RequestLimitExceeded", "limit", 400)

    def test_after_and_count(self):
        ddb = self.client(retries=0)
        make_table(ddb)
        self.add_rule({"operation": "GetItem", "after": 2, "count": 2,
                       "error": {"code": "InternalServerError", "status": 500, "message": "x"}})
        outcomes = []
        for _ in range(6):
            try:
                self.get_ok(ddb)
                outcomes.append("ok")
            except botocore.exceptions.ClientError as e:
                outcomes.append(e.response["Error"]["Code"])
        self.assertEqual(outcomes, ["ok", "ok", "InternalServerError", "InternalServerError", "ok", "ok"])

    def test_window_on_the_virtual_clock(self):
        ddb = self.client(retries=0)
        make_table(ddb)
        now = self.tidepool.now_ms()
        self.add_rule({"operation": "GetItem", "from_ms": now + 1000, "until_ms": now + 2000,
                       "error": {"code": "InternalServerError", "status": 500, "message": "w"}})
        self.get_ok(ddb)
        self.tidepool.advance(999)
        self.get_ok(ddb)
        self.tidepool.advance(1)
        self.assertAwsError(lambda: self.get_ok(ddb), "InternalServerError", "w", 500)
        self.tidepool.advance(999)
        self.assertAwsError(lambda: self.get_ok(ddb), "InternalServerError", "w", 500)
        self.tidepool.advance(1)
        self.get_ok(ddb)

    def test_latency_moves_the_virtual_clock_exactly(self):
        ddb = self.client(retries=0)
        make_table(ddb)
        self.add_rule({"operation": "PutItem", "latency_ms": 1234})
        before = self.tidepool.now_ms()
        ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
        self.assertEqual(self.tidepool.now_ms(), before + 1234)
        self.get_ok(ddb)
        self.assertEqual(self.tidepool.now_ms(), before + 1234)
        ev = [e for e in self.trace() if e["type"] == "fault"]
        self.assertEqual(ev[0]["latency_ms"], 1234)
        self.assertEqual(ev[0]["effect"], "latency")

    def test_probability_with_seed_replays(self):
        ddb = self.client(retries=0)
        rule = {"operation": "GetItem", "probability": 0.4, "seed": 1234,
                "error": {"code": "InternalServerError", "status": 500, "message": "p"}}

        def run():
            make_table(ddb)
            self.add_rule(rule)
            seq = []
            for _ in range(40):
                try:
                    self.get_ok(ddb)
                    seq.append(0)
                except botocore.exceptions.ClientError:
                    seq.append(1)
            return seq

        first = run()
        self.tidepool.reset()
        self.assertEqual(self.rules(), {})   # API rules go with a reset
        second = run()
        self.assertEqual(first, second)
        self.assertTrue(5 < sum(first) < 35, first)


class TestConnectionFaults(FaultCase):
    def test_drop_connection_does_not_run_the_action(self):
        ddb = self.client(retries=2)   # the retry is dropped too
        make_table(ddb)
        self.add_rule({"operation": "PutItem", "resource": "ord*", "drop_connection": True})
        with self.assertRaises(CONNECTION_ERRORS):
            ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
        self.assertNotIn("Item", self.get_ok(ddb))
        ev = [e for e in self.trace() if e["type"] == "fault"]
        self.assertEqual([e["effect"] for e in ev], ["drop_connection"] * 2)

    def test_lose_response_commits_the_write(self):
        ddb = self.client(retries=0)
        make_table(ddb)
        self.add_rule({"operation": "PutItem", "lose_response": True, "count": 1})
        with self.assertRaises(CONNECTION_ERRORS):
            ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
        self.assertEqual(self.get_ok(ddb)["Item"], {"pk": {"S": "a"}, "v": {"N": "1"}})

    def test_lose_response_with_sdk_retries_applies_twice(self):
        ddb = self.client(retries=3)
        make_table(ddb)
        self.add_rule({"operation": "UpdateItem", "lose_response": True, "count": 1})
        out = ddb.update_item(TableName="orders", Key={"pk": {"S": "a"}},
                              UpdateExpression="ADD n :one",
                              ExpressionAttributeValues={":one": {"N": "1"}},
                              ReturnValues="ALL_NEW")
        # the lost first attempt committed, the retry added again
        self.assertEqual(out["Attributes"]["n"], {"N": "2"})
        self.assertEqual(self.get_ok(ddb)["Item"]["n"], {"N": "2"})
        requests = [e for e in self.trace() if e["type"] == "request" and e["operation"] == "UpdateItem"]
        self.assertEqual([e.get("error") for e in requests], ["ResponseLost", None])


class TestRealClockLatency(FaultCase):
    tidepool_kwargs = {"clock": "real"}

    def test_latency_sleeps_on_a_real_clock(self):
        import time
        ddb = self.client(retries=0)
        make_table(ddb)
        self.add_rule({"operation": "GetItem", "latency_ms": 300})
        t0 = time.monotonic()
        self.get_ok(ddb)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)


class TestControl(FaultCase):
    def test_bad_rules_are_400(self):
        cases = [
            ({"operation": "GetItem", "evry": 2, "latency_ms": 1}, 'unknown key "evry"'),
            ({"every": 0, "latency_ms": 1}, '"every" must be an integer'),
            ({"probability": 1.5, "latency_ms": 1}, '"probability" must be a number from 0 to 1'),
            ({"operation": "GetItem"}, "give an effect"),
            ({"error": {"status": 500}}, '"error.code"'),
            ({"error": {"code": "X"}, "lose_response": True}, "exclude each other"),
        ]
        for rule, why in cases:
            status, body = self.tidepool.control("POST", "faults", rule)
            self.assertEqual(status, 400, (rule, body))
            self.assertIn(why, body["error"])
        status, body = self.tidepool.control("POST", "faults", b"not json")
        self.assertEqual(status, 400)
        self.assertEqual(self.rules(), {})

    def test_list_and_delete(self):
        a = self.add_rule({"id": "mine", "latency_ms": 1})
        b = self.add_rule({"latency_ms": 2})
        self.assertEqual(a, "mine")
        self.assertEqual(list(self.rules()), ["mine", b])
        status, _ = self.tidepool.control("POST", "faults", {"id": "mine", "latency_ms": 1})
        self.assertEqual(status, 400)
        self.assertEqual(self.tidepool.control("DELETE", "faults/mine")[0], 200)
        self.assertEqual(self.tidepool.control("DELETE", "faults/mine")[0], 404)
        self.assertEqual(list(self.rules()), [b])
        status, body = self.tidepool.control("DELETE", "faults")
        self.assertEqual((status, body), (200, {"deleted": 1}))
        self.assertEqual(self.rules(), {})

    def test_trace_since_and_clear(self):
        ddb = self.client(retries=0)
        make_table(ddb)
        events = self.trace()
        self.assertTrue(events)
        last = events[-1]["seq"]
        self.get_ok(ddb)
        newer = self.trace(since=last)
        self.assertEqual(len(newer), 1)
        self.assertEqual((newer[0]["type"], newer[0]["operation"], newer[0]["status"]),
                         ("request", "GetItem", 200))
        self.assertEqual(self.tidepool.control("DELETE", "trace")[0], 200)
        self.assertEqual(self.trace(), [])
        self.assertEqual(self.tidepool.control("GET", "trace?since=x")[0], 400)

    def test_metrics_counters(self):
        ddb = self.client(retries=0)
        make_table(ddb)
        rid = self.add_rule(EXAMPLE)
        for _ in range(2):
            self.get_ok(ddb)
            with self.assertRaises(botocore.exceptions.ClientError):
                self.get_ok(ddb)
        status, headers, data = self.tidepool.raw("GET", "/_tidepool/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/plain; version=0.0.4")
        text = data.decode()
        self.assertIn("# TYPE tidepool_requests_total counter\n", text)
        self.assertIn('tidepool_requests_total{service="dynamodb",operation="GetItem",status="200"} 2\n', text)
        self.assertIn('tidepool_requests_total{service="dynamodb",operation="GetItem",status="500"} 2\n', text)
        self.assertIn('tidepool_requests_total{service="dynamodb",operation="CreateTable",status="200"} 1\n', text)
        self.assertIn('tidepool_faults_injected_total{rule="%s"} 2\n' % rid, text)
        self.tidepool.reset()
        text = self.tidepool.raw("GET", "/_tidepool/metrics")[2].decode()
        self.assertNotIn("tidepool_requests_total{", text)


class TestConfigRules(FaultCase):
    tidepool_kwargs = {"config": {"faults": [
        {"id": "flaky-get", "operation": "GetItem", "probability": 0.5, "seed": 99,
         "error": {"code": "InternalServerError", "status": 500, "message": "cfg"}}]}}

    def run_gets(self):
        ddb = self.client(retries=0)
        make_table(ddb)
        seq = []
        for _ in range(30):
            try:
                self.get_ok(ddb)
                seq.append(0)
            except botocore.exceptions.ClientError as e:
                self.assertEqual(e.response["Error"]["Message"], "cfg")
                seq.append(1)
        return seq

    def test_config_rules_survive_reset_and_replay(self):
        first = self.run_gets()
        self.assertEqual(self.rules()["flaky-get"]["fired"], sum(first))
        self.add_rule({"latency_ms": 5})
        self.tidepool.reset()
        rules = self.rules()
        self.assertEqual(list(rules), ["flaky-get"])
        self.assertEqual((rules["flaky-get"]["matched"], rules["flaky-get"]["fired"]), (0, 0))
        self.assertEqual(rules["flaky-get"]["origin"], "config")
        self.assertEqual(self.run_gets(), first)
        self.assertTrue(0 < sum(first) < 30)


if __name__ == "__main__":
    unittest.main()
