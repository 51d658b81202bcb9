"""`tidepool run FIXTURE --report FILE`: the same run writes the same bytes;
progress goes to stderr on a terminal only, and never with --quiet.

The report's contents (charts and their series, the live view) are checked
in a browser by js/ui.playwright.mjs; every fixture writing one by
tests/report/every_fixture.py."""
import json
import os
import pty
import re
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("TIDEPOOL_SOURCE_DIR", os.path.join(HERE, "..", ".."))
BINARY = os.environ.get("TIDEPOOL_BIN", os.path.join(SOURCE, "build", "tidepool"))
FIXTURE = os.path.join(SOURCE, "fixtures", "bid-latency.json")
DATA = re.compile(r'<script id="tp-data" type="application/json">(.*?)</script>', re.S)


class Report(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def run_fixture(self, *args, stderr=subprocess.PIPE):
        return subprocess.run([BINARY, "run", FIXTURE] + list(args), stdout=subprocess.PIPE,
                              stderr=stderr, timeout=300)

    def test_same_run_same_bytes(self):
        a, b = (os.path.join(self.tmp.name, n) for n in ("a.html", "b.html"))
        for out in (a, b):
            r = self.run_fixture("--report", out)
            self.assertEqual(r.returncode, 0, r.stderr)
        with open(a, "rb") as fa, open(b, "rb") as fb:
            first, second = fa.read(), fb.read()
        self.assertEqual(first, second)
        page = first.decode("utf-8")
        data = json.loads(DATA.search(page).group(1))
        self.assertEqual(data["name"], "bid-latency")
        self.assertNotIn("wall_ms", page)
        # the result table holds the summary the run printed
        summary = dict(data["summary"])
        printed = r.stdout.decode()
        self.assertIn("invocations", printed)
        self.assertGreater(summary["invocations"], 0)
        self.assertEqual(summary["invocations"], summary["invocations.success"] +
                         summary["invocations.error"] + summary["invocations.timeout"])

    def test_markup_in_the_fixture_stays_data(self):
        fixture = os.path.join(self.tmp.name, "odd.json")
        name = "odd </script><!-- <b>name</b>"
        with open(fixture, "w") as f:
            json.dump({"name": name, "setup": [{"target": "DynamoDB_20120810.CreateTable", "request": {
                "TableName": "odd", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST"}}]}, f)
        out = os.path.join(self.tmp.name, "odd.html")
        r = subprocess.run([BINARY, "run", fixture, "--report", out, "--quiet"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, encoding="utf-8") as f:
            page = f.read()
        self.assertEqual(page.count("</script>"), 2)   # the data's and the script's: no more
        self.assertNotIn("<!--", page)
        self.assertEqual(json.loads(DATA.search(page).group(1))["name"], name)

    def test_a_report_needs_a_writable_path(self):
        r = self.run_fixture("--report", os.path.join(self.tmp.name, "no", "such", "dir.html"))
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"cannot write", r.stderr)

    def test_no_progress_when_stderr_is_not_a_terminal(self):
        r = self.run_fixture()
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stderr, b"")

    def run_on_tty(self, *args):
        master, slave = pty.openpty()
        try:
            r = subprocess.run([BINARY, "run", FIXTURE] + list(args), stdout=subprocess.DEVNULL,
                               stderr=slave, timeout=300)
            os.close(slave)
            slave = None
            seen = b""
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:   # EIO: the other side is closed and drained
                    break
                if not chunk:
                    break
                seen += chunk
            return r.returncode, seen.decode("utf-8", "replace")
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)

    def test_progress_on_a_terminal(self):
        rc, seen = self.run_on_tty()
        self.assertEqual(rc, 0)
        lines = [l for l in re.split(r"[\r\n]+", seen) if "virtual" in l]
        self.assertTrue(lines, seen)
        last = lines[-1]
        m = re.search(r"t=([0-9.]+) s virtual, (\d+) events, ([0-9.]+)x", last)
        self.assertTrue(m, last)
        self.assertGreater(int(m.group(2)), 0)
        self.assertGreater(float(m.group(1)), 0)

    def test_quiet_keeps_a_terminal_clean(self):
        rc, seen = self.run_on_tty("--quiet")
        self.assertEqual(rc, 0)
        self.assertNotIn("virtual,", seen)


if __name__ == "__main__":
    unittest.main()
