#!/usr/bin/env python3
"""every_fixture.py — every fixture under fixtures/ writes an HTML report
(`tidepool run FIXTURE --report FILE`): one self-contained page (no external
script, style or image), its data JSON parsed back with the run's summary
and series in it.

usage: every_fixture.py [FIXTURE...]   (TIDEPOOL_BIN, TIDEPOOL_SOURCE_DIR)

Without arguments it takes every fixture but the what-if ones
(*-whatif.json: hours of wall time for hours of virtual time);
TIDEPOOL_REPORT_WHATIF=1 takes those too.
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

DATA = re.compile(r'<script id="tp-data" type="application/json">(.*?)</script>', re.S)
EXTERNAL = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)=', re.I)


def check(binary, fixture, out):
    r = subprocess.run([binary, "run", fixture, "--report", out, "--quiet"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode not in (0, 1):   # 1: an "expect" failed, the report is still written
        return "exit %d: %s" % (r.returncode, r.stderr.strip())
    with open(out, encoding="utf-8") as f:
        page = f.read()
    if EXTERNAL.search(page):
        return "the page loads something from outside: %s" % EXTERNAL.search(page).group(0)
    m = DATA.search(page)
    if not m:
        return "no data in the page"
    d = json.loads(m.group(1))
    name = json.load(open(fixture)).get("name")
    if d["name"] != name:
        return "the report is named %r, the fixture %r" % (d["name"], name)
    if not d["summary"] or not d["series"]:
        return "no summary or no series"
    if d["fixture"].get("name") != name:
        return "the fixture (configuration) is not embedded"
    return None


def main():
    binary = os.environ.get("TIDEPOOL_BIN", "build/tidepool")
    src = os.environ.get("TIDEPOOL_SOURCE_DIR", ".")
    fixtures = sys.argv[1:]
    if not fixtures:
        fixtures = sorted(glob.glob(os.path.join(src, "fixtures", "*.json")))
        if os.environ.get("TIDEPOOL_REPORT_WHATIF") != "1":
            for fx in [f for f in fixtures if f.endswith("-whatif.json")]:
                print("skip %s: a what-if run of hours (TIDEPOOL_REPORT_WHATIF=1 runs it)" % os.path.basename(fx))
                fixtures.remove(fx)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for fx in fixtures:
            why = check(binary, fx, os.path.join(tmp, "report.html"))
            print("%s %s%s" % ("not ok" if why else "ok", os.path.basename(fx), ": " + why if why else ""))
            failed += why is not None
    print("%d of %d fixtures wrote a good report" % (len(fixtures) - failed, len(fixtures)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
