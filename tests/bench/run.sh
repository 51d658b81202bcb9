#!/usr/bin/env bash
# tests/bench/run.sh — `make bench`: how fast tidepool starts, how small it
# idles, and PutItem/GetItem throughput and latency with 1 KB items.
#
#   startup   spawn -> first 200 from /_tidepool/health (median of RUNS)
#   idle RSS  VmRSS from /proc/PID/status once it answers
#   PutItem   distinct keys ({{n}}), concurrency 1 and 32
#   GetItem   random existing keys ({{r}}), concurrency 1 and 32
#   pipelines handlers on the virtual clock through tidepool/engine.h, timed
#             in real time (tests/bench/pipeline.c: Invoke, tp_call round
#             trips, stream -> mapping -> handler -> UpdateItem)
#   fixtures  real seconds of `tidepool run fixtures/X.json` for each fixture
#   parked    PutItem/GetItem latency with 0 and with 1,000 parked SQS long
#             polls (a virtual-clock server, so they stay parked)
#   SQS       SendMessage, SendMessageBatch(10), ReceiveMessage(10) +
#             DeleteMessageBatch at each concurrency
#   Kinesis   PutRecord (1 KB), PutRecords (100 x 1 KB) and GetRecords (100
#             records of 1 KB from one shard) at each concurrency, JSON 1.1
#
# Everything runs in memory on a free 127.0.0.1 port, each load phase is
# bounded by DURATION seconds, and tidepool is stopped at the end.
# Environment: BUILD_DIR (default build), DURATION (3), RUNS (5), CONCURRENCY ("1 32"),
# PIPELINE_ARGS (tp_bench_pipeline's options, e.g. "-r 5 -k 20000"), WHATIF_RECORDS
# (the what-if cut tests/bench/whatif.sh measures; default 100000), WHATIF_TIMEOUT.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
BUILD_DIR=${BUILD_DIR:-build}
DURATION=${DURATION:-3}
RUNS=${RUNS:-5}
CONCURRENCY=${CONCURRENCY:-"1 32"}

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" -j"$(nproc 2>/dev/null || echo 2)" --target tidepool tp_bench tp_bench_pipeline >/dev/null

BIN=$(cd "$BUILD_DIR" && pwd)/tidepool
BENCH=$(cd "$BUILD_DIR" && pwd)/tp_bench
PIPELINE=$(cd "$BUILD_DIR" && pwd)/tp_bench_pipeline
work=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Startup and idle RSS: python3 spawns and polls with a 1 ms bounded loop.
python3 - "$BIN" "$RUNS" >"$work/startup.json" <<'EOF'
import http.client, json, os, signal, socket, statistics, subprocess, sys, time

binary, runs = sys.argv[1], int(sys.argv[2])

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

times, rss = [], []
for _ in range(runs):
    port = free_port()
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready = None
    deadline = t0 + 10
    while time.perf_counter() < deadline and p.poll() is None:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/_tidepool/health")
            r = c.getresponse(); r.read(); c.close()
            if r.status == 200:
                ready = time.perf_counter() - t0
                break
        except OSError:
            pass
        time.sleep(0.001)
    if ready is not None:
        times.append(ready * 1000)
        with open("/proc/%d/status" % p.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss.append(int(line.split()[1]))
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill(); p.wait()
    if ready is None:
        sys.exit("tidepool did not answer /_tidepool/health within 10 s")
print(json.dumps({"startup_ms": times, "rss_kb": rss}))
EOF

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The load below is far beyond AWS's on-demand table maximums (40000 units/s);
# lift them so the benchmark measures tidepool, not the throttling model.
# Kinesis's per-shard limits (1 MiB/s in, 5 GetRecords calls/s) go the same way.
echo '{"capacity":{"on_demand_max_read":100000000,"on_demand_max_write":100000000,
       "kinesis":{"in_bytes":1e12,"in_records":1e12,"out_bytes":1e12,"out_calls":1e12}}}' >"$work/bench.json"
"$BIN" serve --host 127.0.0.1 --port "$port" --config "$work/bench.json" 2>"$work/tidepool.log" &
pid=$!
for _ in $(seq 1 200); do
    if "$BENCH" --port "$port" -X GET --path /_tidepool/health -n 1 -d 1 >/dev/null 2>&1; then
        break
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/tidepool.log" >&2; exit 1; }
    sleep 0.05
done

ddb() { # ddb OPERATION [tp_bench options...]
    local op=$1
    shift
    "$BENCH" --port "$port" --aws-json 1.0 --target "DynamoDB_20120810.$op" --json "$@" || true
}

ddb CreateTable -n 1 -d 5 --label create -b \
    '{"TableName":"bench","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}' \
    >"$work/create.json"

put_body='{"TableName":"bench","Item":{"pk":{"S":"k{{n}}"},"data":{"S":"{{pad:1000}}"}}}'
get_body='{"TableName":"bench","Key":{"pk":{"S":"k{{r}}"}}}'
: >"$work/results.jsonl"
start=0
for c in $CONCURRENCY; do
    ddb PutItem -c "$c" -d "$DURATION" --key-start "$start" --label "PutItem 1KB" -b "$put_body" \
        >>"$work/results.jsonl"
    start=$((start + $(python3 -c 'import json,sys; print(json.loads(sys.stdin.read().splitlines()[-1])["requests"])' <"$work/results.jsonl")))
done
# Keys 0..start-1 were written above: reads pick among them.
keys=$((start > 0 ? start : 1))
for c in $CONCURRENCY; do
    ddb GetItem -c "$c" -d "$DURATION" --key-space "$keys" --label "GetItem 1KB" -b "$get_body" \
        >>"$work/results.jsonl"
done

# UpdateItem with ADD on a counter (one hot item and spread keys), and
# BatchWriteItem of 25 distinct 1 KB items per request.
upd_body='{"TableName":"bench","Key":{"pk":{"S":"k{{r}}"}},"UpdateExpression":"ADD hits :one","ExpressionAttributeValues":{":one":{"N":"1"}}}'
ddb UpdateItem -c 1 -d "$DURATION" --key-space "$keys" --label "UpdateItem ADD" -b "$upd_body" \
    >>"$work/results.jsonl"
batch_items=$(python3 -c 'print(",".join("{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"b{{n}}-%d\"},\"data\":{\"S\":\"{{pad:1000}}\"}}}}" % i for i in range(25)))')
batch_body="{\"RequestItems\":{\"bench\":[$batch_items]}}"
ddb BatchWriteItem -c 1 -d "$DURATION" --label "BatchWrite 25" -b "$batch_body" \
    >>"$work/results.jsonl"

# Query of a 100-item partition, and a Scan of a 10k-item table (small
# items, so the whole table fits one 1 MB page).
ddb CreateTable -n 1 -d 5 --label createq -b \
    '{"TableName":"benchq","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}' >/dev/null
q_items=$(python3 -c 'print(",".join("{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"p\"},\"sk\":{\"N\":\"{{n}}%02d\"},\"v\":{\"S\":\"{{pad:100}}\"}}}}" % i for i in range(25)))')
ddb BatchWriteItem -n 4 -d 10 --label fillq -b "{\"RequestItems\":{\"benchq\":[$q_items]}}" >/dev/null
ddb Query -c 1 -d "$DURATION" --label "Query 100 items" -b \
    '{"TableName":"benchq","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"p"}}}' \
    >>"$work/results.jsonl"
ddb CreateTable -n 1 -d 5 --label creates -b \
    '{"TableName":"benchs","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}' >/dev/null
s_items=$(python3 -c 'print(",".join("{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"s{{n}}-%d\"},\"v\":{\"N\":\"%d\"}}}}" % (i, i) for i in range(25)))')
ddb BatchWriteItem -n 400 -d 30 --label fills -b "{\"RequestItems\":{\"benchs\":[$s_items]}}" >/dev/null
ddb Scan -c 1 -d "$DURATION" --label "Scan 10k items" -b '{"TableName":"benchs"}' \
    >>"$work/results.jsonl"

rss_after=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
kill -TERM "$pid"
wait "$pid" || { echo "tidepool exited non-zero on SIGTERM:" >&2; tail -20 "$work/tidepool.log" >&2; }
pid=

# SQS, and DynamoDB latency beside 1,000 parked long polls. A second
# tidepool on the virtual clock, so parked ReceiveMessage calls
# (WaitTimeSeconds 20) stay parked for the whole measurement.
port2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --host 127.0.0.1 --port "$port2" --clock virtual --threads 2 --config "$work/bench.json" \
    2>"$work/tidepool2.log" &
pid=$!
for _ in $(seq 1 200); do
    if "$BENCH" --port "$port2" -X GET --path /_tidepool/health -n 1 -d 1 >/dev/null 2>&1; then
        break
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/tidepool2.log" >&2; exit 1; }
    sleep 0.05
done
ddb2() { # ddb2 OPERATION [tp_bench options...]
    local op=$1
    shift
    "$BENCH" --port "$port2" --aws-json 1.0 --target "DynamoDB_20120810.$op" --json "$@" || true
}
sqs2() { # sqs2 OPERATION [tp_bench options...]
    local op=$1
    shift
    "$BENCH" --port "$port2" --aws-json 1.0 --service sqs --target "AmazonSQS.$op" --json "$@" || true
}
ddb2 CreateTable -n 1 -d 5 --label create -b \
    '{"TableName":"bench","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}' >/dev/null
sqs2 CreateQueue -n 1 -d 5 --label createq -b '{"QueueName":"parked"}' >/dev/null
sqs2 CreateQueue -n 1 -d 5 --label createq -b '{"QueueName":"load"}' >/dev/null
qurl() { # queue URLs name the account of tp_bench's access key: ask for them
    python3 - "$port2" "$1" <<'PY'
import json, sys, urllib.request
port, name = sys.argv[1], sys.argv[2]
auth = ("AWS4-HMAC-SHA256 Credential=AKIDBENCH/20240101/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=00")
req = urllib.request.Request("http://127.0.0.1:%s/" % port, data=json.dumps({"QueueName": name}).encode(),
                             headers={"Content-Type": "application/x-amz-json-1.0", "Authorization": auth,
                                      "X-Amz-Target": "AmazonSQS.GetQueueUrl",
                                      "X-Amz-Date": "20240101T000000Z"})
print(json.load(urllib.request.urlopen(req))["QueueUrl"])
PY
}
parked_url=$(qurl parked)
load_url=$(qurl load)
hold_body="{\"QueueUrl\":\"$parked_url\",\"WaitTimeSeconds\":20}"
: >"$work/parked.jsonl"
for held in 0 1000; do
    hold=()
    if [ "$held" -gt 0 ]; then
        hold=(--hold "$held" --hold-target AmazonSQS.ReceiveMessage --hold-body "$hold_body")
    fi
    for c in $CONCURRENCY; do
        ddb2 PutItem -c "$c" -d "$DURATION" --key-start $((held * 100000000 + c * 1000000)) \
            --label "PutItem 1KB" -b "$put_body" "${hold[@]}" >>"$work/parked.jsonl"
        ddb2 GetItem -c "$c" -d "$DURATION" --key-start $((held * 100000000 + c * 1000000)) \
            --key-space 1000 --label "GetItem 1KB" -b "$get_body" "${hold[@]}" >>"$work/parked.jsonl"
    done
done
# SQS throughput with 1 KB messages; ReceiveMessage(10) + DeleteMessageBatch
# (one measured op) drains what the sends put in.
: >"$work/sqs.jsonl"
for c in $CONCURRENCY; do
    sqs2 SendMessage -c "$c" -d "$DURATION" --label "SendMessage 1KB" \
        -b "{\"QueueUrl\":\"$load_url\",\"MessageBody\":\"m{{n}} {{pad:1000}}\"}" >>"$work/sqs.jsonl"
done
batch_entries=$(python3 -c 'print(",".join("{\"Id\":\"e%d\",\"MessageBody\":\"m{{n}}-%d {{pad:1000}}\"}" % (i, i) for i in range(10)))')
for c in $CONCURRENCY; do
    sqs2 SendMessageBatch -c "$c" -d "$DURATION" --label "SendMessageBatch 10" \
        -b "{\"QueueUrl\":\"$load_url\",\"Entries\":[$batch_entries]}" >>"$work/sqs.jsonl"
done
for c in $CONCURRENCY; do
    sqs2 ReceiveMessage -c "$c" -d "$DURATION" --label "Receive 10 + DeleteBatch" --then-delete "$load_url" \
        -b "{\"QueueUrl\":\"$load_url\",\"MaxNumberOfMessages\":10}" >>"$work/sqs.jsonl"
done
# Kinesis: a 4-shard stream; GetRecords re-reads the first 100 records of
# shard 0 through one TRIM_HORIZON iterator (valid for 5 minutes).
kin2() { # kin2 OPERATION [tp_bench options...]
    local op=$1
    shift
    "$BENCH" --port "$port2" --aws-json 1.1 --service kinesis --target "Kinesis_20131202.$op" --json "$@" || true
}
kin_call() { # kin_call OPERATION JSON: the answer's JSON
    python3 - "$port2" "$1" "$2" <<'PY'
import json, sys, urllib.request
port, op, body = sys.argv[1], sys.argv[2], sys.argv[3]
auth = ("AWS4-HMAC-SHA256 Credential=AKIDBENCH/20240101/us-east-1/kinesis/aws4_request, "
        "SignedHeaders=host, Signature=00")
req = urllib.request.Request("http://127.0.0.1:%s/" % port, data=body.encode(),
                             headers={"Content-Type": "application/x-amz-json-1.1", "Authorization": auth,
                                      "X-Amz-Target": "Kinesis_20131202." + op,
                                      "X-Amz-Date": "20240101T000000Z"})
print(urllib.request.urlopen(req).read().decode())
PY
}
kin_call CreateStream '{"StreamName":"bench","ShardCount":4}' >/dev/null
# 1364 base64 characters: 1023 bytes of data, 1 KB with the partition key
kb_data='{{pad:1364}}'
: >"$work/kinesis.jsonl"
for c in $CONCURRENCY; do
    kin2 PutRecord -c "$c" -d "$DURATION" --label "PutRecord 1KB" \
        -b "{\"StreamName\":\"bench\",\"PartitionKey\":\"k{{n}}\",\"Data\":\"$kb_data\"}" >>"$work/kinesis.jsonl"
done
kin_records=$(python3 -c 'print(",".join("{\"PartitionKey\":\"k{{n}}-%d\",\"Data\":\"{{pad:1364}}\"}" % i for i in range(100)))')
for c in $CONCURRENCY; do
    kin2 PutRecords -c "$c" -d "$DURATION" --label "PutRecords 100x1KB" \
        -b "{\"StreamName\":\"bench\",\"Records\":[$kin_records]}" >>"$work/kinesis.jsonl"
done
shard_it=$(kin_call GetShardIterator '{"StreamName":"bench","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["ShardIterator"])')
for c in $CONCURRENCY; do
    kin2 GetRecords -c "$c" -d "$DURATION" --label "GetRecords 100x1KB" \
        -b "{\"ShardIterator\":\"$shard_it\",\"Limit\":100}" >>"$work/kinesis.jsonl"
done
kill -TERM "$pid"
wait "$pid" || { echo "tidepool (virtual clock) exited non-zero on SIGTERM:" >&2; tail -20 "$work/tidepool2.log" >&2; }
pid=

python3 - "$work" "$BIN" "$rss_after" "$keys" <<'EOF'
import json, os, statistics, subprocess, sys

work, binary, rss_after, keys = sys.argv[1], sys.argv[2], int(sys.argv[3] or 0), int(sys.argv[4])
startup = json.load(open(os.path.join(work, "startup.json")))
create = [json.loads(l) for l in open(os.path.join(work, "create.json")) if l.strip()]
rows = [json.loads(l) for l in open(os.path.join(work, "results.jsonl")) if l.strip()]
version = subprocess.run([binary, "version"], stdout=subprocess.PIPE, text=True).stdout.strip()

print()
print("%s on %d cores (in memory, real clock, 127.0.0.1)" % (version, os.cpu_count() or 0))
ms = startup["startup_ms"]
print("  startup, spawn -> first 200 from /_tidepool/health: median %.1f ms  (runs: %s)"
      % (statistics.median(ms), ", ".join("%.1f" % t for t in ms)))
print("  idle RSS after startup: %.1f MiB (median of %d)" % (statistics.median(startup["rss_kb"]) / 1024,
                                                             len(startup["rss_kb"])))
if create and create[0]["errors"]:
    print("  CreateTable FAILED: the load below measured errors")
print()
print("  %-12s %5s %10s %10s %8s %8s %8s %8s" % ("operation", "conc", "requests", "ops/s", "p50 us",
                                                 "p99 us", "max us", "errors"))
for r in rows:
    print("  %-15s %5d %10d %10.0f %8d %8d %8d %8d" % (r["label"], r["concurrency"], r["requests"],
                                                       r["ops_per_s"], r["p50_us"], r["p99_us"],
                                                       r["max_us"], r["errors"]))
print()
print("  RSS after the load (%d PutItem items plus the batch, Query and Scan tables): %.1f MiB" % (keys, rss_after / 1024))
if any(r["errors"] for r in rows):
    print("  note: some requests failed; tp_bench printed the first failure above")

parked = [json.loads(l) for l in open(os.path.join(work, "parked.jsonl")) if l.strip()]
sqs = [json.loads(l) for l in open(os.path.join(work, "sqs.jsonl")) if l.strip()]
print()
print("  beside parked SQS long polls (virtual clock, 2 server threads; latency p50 / p99 us)")
print("  %-15s %5s %18s %18s" % ("operation", "conc", "0 parked", "1000 parked"))
by = {(r["label"], r["concurrency"], r.get("held", 0) > 0): r for r in parked}
def cell(r):
    return "%7d /%7d" % (r["p50_us"], r["p99_us"]) if r else "-"
for (label, conc, held) in sorted(by):
    if held:
        continue
    b = by.get((label, conc, True))
    note = "" if not b or b.get("held") == 1000 else "  (only %d still parked at the end)" % b.get("held", 0)
    print("  %-15s %5d %18s %18s%s" % (label, conc, cell(by[(label, conc, False)]), cell(b), note))
print()
print("  SQS (JSON protocol, virtual clock)")
print("  %-24s %5s %10s %10s %8s %8s %8s %9s" % ("operation", "conc", "requests", "ops/s", "p50 us",
                                                  "p99 us", "errors", "deleted"))
for r in sqs:
    print("  %-24s %5d %10d %10.0f %8d %8d %8d %9s" % (r["label"], r["concurrency"], r["requests"],
                                                       r["ops_per_s"], r["p50_us"], r["p99_us"], r["errors"],
                                                       r.get("deleted") or ""))
kinesis = [json.loads(l) for l in open(os.path.join(work, "kinesis.jsonl")) if l.strip()]
print()
print("  Kinesis (JSON 1.1, virtual clock, 4 shards, shard limits lifted)")
print("  %-24s %5s %10s %10s %10s %8s %8s %8s" % ("operation", "conc", "requests", "ops/s", "records/s",
                                                  "p50 us", "p99 us", "errors"))
for r in kinesis:
    per = 100 if r["label"].startswith(("PutRecords", "GetRecords")) else 1
    print("  %-24s %5d %10d %10.0f %10.0f %8d %8d %8d" % (r["label"], r["concurrency"], r["requests"],
                                                         r["ops_per_s"], r["ops_per_s"] * per, r["p50_us"],
                                                         r["p99_us"], r["errors"]))
if any(r["errors"] for r in parked + sqs + kinesis):
    print("  note: some requests failed; tp_bench printed the first failure above")
EOF

# Handler pipelines: no HTTP, one in-memory engine per measurement.
echo
echo "  handler pipelines (tidepool/engine.h on the virtual clock; real time)"
# shellcheck disable=SC2086
"$PIPELINE" ${PIPELINE_ARGS:-} || echo "  note: tp_bench_pipeline reported missing work (see above)"

# Scenario fixtures, when this build has `tidepool run` and there are some.
fixtures=(fixtures/*.json)
usage=$("$BIN" help 2>&1 || true)
if [[ $usage == *"tidepool run"* ]] && [ -e "${fixtures[0]}" ]; then
    echo
    printf "  %-44s %8s  %s\n" "tidepool run (virtual clock)" "real s" "exit"
    for f in "${fixtures[@]}"; do
        t0=$(date +%s%N)
        rc=0
        # the kinesis-restore what-if (10M records) should answer within
        # 60 s of real time; WHATIF_TIMEOUT (s) bounds how long bench waits
        limit=()
        case "$f" in *-whatif.json) limit=(timeout "${WHATIF_TIMEOUT:-900}") ;; esac
        "${limit[@]}" "$BIN" run "$f" --quiet >"$work/run.out" 2>"$work/run.err" || rc=$?
        t1=$(date +%s%N)
        printf "  %-44s %8.3f  %s\n" "$f" "$(( (t1 - t0) / 1000000 ))e-3" \
            "$([ "$rc" = 0 ] && echo ok || { [ "$rc" = 124 ] && echo "timed out (WHATIF_TIMEOUT)"; } ||
               echo "$rc: $(head -c 120 "$work/run.err" | tr '\n' ' ')")"
        case "$f" in *-whatif.json) grep -A3 '^configuration' "$work/run.out" | sed 's/^/    /' || true ;; esac
    done
    # the what-if's records/s, CPU per record and RSS (tests/bench/whatif.sh;
    # WHATIF_RECORDS=100000 measures a cut in minutes)
    for f in fixtures/*-whatif.json; do
        [ -e "$f" ] || continue
        WHATIF_RECORDS=${WHATIF_RECORDS:-100000} BUILD_DIR=$BUILD_DIR "$root/tests/bench/whatif.sh" "$f" ||
            echo "  note: tests/bench/whatif.sh failed"
    done
else
    echo
    echo "  tidepool run: skipped (no 'tidepool run' in this build or no fixtures/*.json)"
fi

# DynamoDB side by side with dynalite (tests/bench/peer.sh): the same load
# against each, in memory and with a data directory.
BUILD_DIR=$BUILD_DIR DURATION=$DURATION CONCURRENCY=$CONCURRENCY "$root/tests/bench/peer.sh" ||
    echo "  note: the side-by-side run failed (see above)"

# Soak: RSS under a mixed load for SOAK_S seconds (default 60; 0 skips).
BUILD_DIR=$BUILD_DIR SOAK_S=${SOAK_S:-60} "$root/tests/bench/soak.sh" ||
    echo "  note: the soak failed (see above)"
