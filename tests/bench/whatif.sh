#!/usr/bin/env bash
# tests/bench/whatif.sh — the kinesis-restore what-if (fixtures/
# kinesis-restore-whatif.json: 10M records, 100 shards, 1,700 WCU) timed
# in real time: wall and CPU seconds, peak RSS, records/s and CPU per
# record, and the 10M run's wall time projected from them.
#
#   WHATIF_RECORDS=N   run a cut of N records instead of all of them: the
#                      same fixture with each producer's share (its
#                      Invoke payload's "count" and "start") scaled down,
#                      so the per-record cost is measured in minutes, not
#                      hours (default: the whole fixture)
#   WHATIF_TIMEOUT=S   give up after S seconds of wall time (default 900)
#   BUILD_DIR          where tidepool is built (default build)
#
# usage: tests/bench/whatif.sh [FIXTURE]   (run by tests/bench/run.sh)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
BUILD_DIR=${BUILD_DIR:-build}
BIN=$(cd "$BUILD_DIR" && pwd)/tidepool
fixture=${1:-fixtures/kinesis-restore-whatif.json}

python3 - "$BIN" "$fixture" "${WHATIF_RECORDS:-}" "${WHATIF_TIMEOUT:-900}" <<'EOF'
import json, os, re, resource, subprocess, sys, tempfile, time

binary, fixture, cut, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
fx = json.load(open(fixture))
full = fx.get("expect", {}).get("probe.restored")
records = full
with tempfile.TemporaryDirectory() as tmp:
    path = fixture
    if cut:
        records = int(cut)
        writes = [w for w in fx["writes"] if w.get("target") == "Lambda_20150331.Invoke"]
        per = records // len(writes)
        for i, w in enumerate(writes):
            p = json.loads(w["request"]["Payload"])
            p["count"], p["start"] = per, i * per
            w["request"]["Payload"] = json.dumps(p)
        records = per * len(writes)
        fx["expect"]["probe.restored"] = records
        path = os.path.join(tmp, "cut.json")
        json.dump(fx, open(path, "w"))
    t0 = time.monotonic()
    try:
        r = subprocess.run([binary, "run", path, "--quiet"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
        status = "ok" if r.returncode == 0 else "exit %d: %s" % (r.returncode, r.stderr.strip()[:120])
        out = r.stdout
    except subprocess.TimeoutExpired:
        status, out = "timed out after %.0f s (WHATIF_TIMEOUT)" % timeout, ""
    wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = ru.ru_utime + ru.ru_stime
m = re.search(r"— ([0-9.]+) s of virtual time", out)
virtual = float(m.group(1)) if m else 0.0
print("  kinesis-restore what-if, %s records%s: %s" % (
    format(records or 0, ","), " (cut of %s)" % format(full, ",") if cut else "", status))
print("    wall %.1f s, CPU %.1f s (user %.1f + sys %.1f), peak RSS %.0f MiB, %.0f s virtual"
      % (wall, cpu, ru.ru_utime, ru.ru_stime, ru.ru_maxrss / 1024, virtual))
if records and status == "ok":
    print("    %.0f records/s (wall), %.1f us of CPU per record" % (records / wall, cpu * 1e6 / records))
    if cut and full:
        print("    %s records at this rate: ~%.0f s wall (the goal: 60 s)"
              % (format(full, ","), wall * full / records))
EOF
