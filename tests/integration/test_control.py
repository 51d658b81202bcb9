"""test_control — the /_tidepool/ control endpoints: health, reset, clock.

Spec: GET /_tidepool/health -> {"status":"ok","version":..,"services":[..],
"clock":{"mode":..,"now_ms":..}}; POST /_tidepool/reset empties every
account's state; GET /_tidepool/clock; POST /_tidepool/clock
{"advance_ms":N} moves a virtual clock by exactly N and is refused on a
real one.
"""
import subprocess
import time
import unittest

from tidepool import TidepoolTestCase, binary_path


def make_table(ddb, name):
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


class TestHealth(TidepoolTestCase):
    def test_health_shape(self):
        status, body = self.tidepool.control("GET", "/_tidepool/health")
        self.assertEqual(status, 200)
        self.assertIsInstance(body, dict, body)
        self.assertEqual(body["status"], "ok")
        self.assertIsInstance(body["version"], str)
        self.assertTrue(body["version"])
        self.assertIsInstance(body["services"], list)
        self.assertIn("dynamodb", body["services"])
        self.assertEqual(body["clock"]["mode"], "virtual")
        self.assertIsInstance(body["clock"]["now_ms"], int)

    def test_health_version_matches_cli(self):
        out = subprocess.run([binary_path(), "version"], stdout=subprocess.PIPE, check=True,
                             timeout=30).stdout.decode().strip()
        _, body = self.tidepool.control("GET", "/_tidepool/health")
        self.assertIn(body["version"], out.split())

    def test_health_is_json(self):
        status, headers, data = self.tidepool.raw("GET", "/_tidepool/health")
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("content-type", "").startswith("application/json"), headers)

    def test_unknown_control_endpoint_is_404(self):
        status, _ = self.tidepool.control("GET", "/_tidepool/no-such-thing")
        self.assertEqual(status, 404)

    def test_wrong_method_is_refused(self):
        status, _ = self.tidepool.control("GET", "/_tidepool/reset")
        self.assertGreaterEqual(status, 400)
        self.assertLess(status, 500)


class TestReset(TidepoolTestCase):
    def test_reset_drops_tables(self):
        ddb = self.client()
        make_table(ddb, "before-reset")
        self.assertEqual(ddb.list_tables()["TableNames"], ["before-reset"])
        status, _ = self.tidepool.control("POST", "/_tidepool/reset")
        self.assertEqual(status, 200)
        self.assertEqual(ddb.list_tables()["TableNames"], [])

    def test_reset_covers_every_account(self):
        a = self.client(access_key="AKIDRESETA")
        b = self.client(access_key="AKIDRESETB")
        make_table(a, "table-a")
        make_table(b, "table-b")
        self.tidepool.reset()
        self.assertEqual(a.list_tables()["TableNames"], [])
        self.assertEqual(b.list_tables()["TableNames"], [])

    def test_table_name_reusable_after_reset(self):
        ddb = self.client()
        make_table(ddb, "again")
        self.tidepool.reset()
        make_table(ddb, "again")
        self.assertEqual(ddb.describe_table(TableName="again")["Table"]["TableName"], "again")

    def test_server_healthy_after_reset(self):
        self.tidepool.reset()
        status, body = self.tidepool.control("GET", "health")
        self.assertEqual((status, body["status"]), (200, "ok"))


class TestVirtualClock(TidepoolTestCase):
    tidepool_kwargs = {"clock": "virtual"}

    def test_clock_get_matches_health(self):
        status, clock = self.tidepool.control("GET", "/_tidepool/clock")
        self.assertEqual(status, 200)
        self.assertEqual(clock["mode"], "virtual")
        _, health = self.tidepool.control("GET", "/_tidepool/health")
        # Virtual time stands still between the two reads.
        self.assertEqual(health["clock"]["now_ms"], clock["now_ms"])

    def test_virtual_clock_stands_still(self):
        first = self.tidepool.now_ms()
        for _ in range(5):
            self.tidepool.control("GET", "health")
        self.assertEqual(self.tidepool.now_ms(), first)

    def test_advance_moves_by_exactly_n(self):
        t0 = self.tidepool.now_ms()
        status, body = self.tidepool.control("POST", "/_tidepool/clock", {"advance_ms": 1500})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["now_ms"], t0 + 1500)
        self.assertEqual(self.tidepool.now_ms(), t0 + 1500)

    def test_advances_add_up(self):
        t0 = self.tidepool.now_ms()
        for step in (1, 10, 100, 1000, 86400000):
            self.tidepool.advance(step)
        self.assertEqual(self.tidepool.now_ms(), t0 + 1 + 10 + 100 + 1000 + 86400000)

    def test_advance_zero_is_a_no_op(self):
        t0 = self.tidepool.now_ms()
        body = self.tidepool.advance(0)
        self.assertEqual(body["now_ms"], t0)

    def test_negative_advance_is_refused(self):
        t0 = self.tidepool.now_ms()
        status, _ = self.tidepool.control("POST", "/_tidepool/clock", {"advance_ms": -5})
        self.assertEqual(status, 400)
        self.assertEqual(self.tidepool.now_ms(), t0)

    def test_malformed_body_is_refused(self):
        t0 = self.tidepool.now_ms()
        status, _ = self.tidepool.control("POST", "/_tidepool/clock", b"not json")
        self.assertEqual(status, 400)
        status, _ = self.tidepool.control("POST", "/_tidepool/clock", [1000])
        self.assertEqual(status, 400)
        self.assertEqual(self.tidepool.now_ms(), t0)

    def test_advance_shows_in_table_creation_time(self):
        ddb = self.client()
        self.tidepool.advance(3600 * 1000)
        now_ms = self.tidepool.now_ms()
        make_table(ddb, "clocked")
        created = ddb.describe_table(TableName="clocked")["Table"]["CreationDateTime"]
        # CreationDateTime comes from the clock, not the wall: equal to the
        # virtual now (to the second, as the wire carries epoch seconds).
        self.assertAlmostEqual(created.timestamp(), now_ms / 1000.0, delta=1.0)


class TestRealClock(TidepoolTestCase):
    tidepool_kwargs = {"clock": "real"}

    def test_mode_is_real(self):
        _, health = self.tidepool.control("GET", "health")
        self.assertEqual(health["clock"]["mode"], "real")

    def test_now_follows_wall_clock(self):
        before = int(time.time() * 1000)
        now = self.tidepool.now_ms()
        after = int(time.time() * 1000)
        # Same machine, same clock: allow only rounding and scheduling slack.
        self.assertGreaterEqual(now, before - 1000)
        self.assertLessEqual(now, after + 1000)

    def test_advance_is_refused(self):
        status, body = self.tidepool.control("POST", "/_tidepool/clock", {"advance_ms": 1000})
        self.assertEqual(status, 400, body)
        self.assertIsInstance(body, dict)
        self.assertIn("error", body)


if __name__ == "__main__":
    unittest.main()
