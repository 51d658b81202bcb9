#!/usr/bin/env bash
# tests/bench/soak.sh — a mixed load for SOAK_S seconds (default 60) while
# tidepool's RSS is sampled every SOAK_SAMPLE_S seconds (default 3); prints
# RSS at start, end and max and the growth after warm-up, and flags growth
# that has not levelled off. `make bench` runs it last (SOAK_S=0 skips it).
#
# The load, all at once, one connection each: DynamoDB PutItem, GetItem,
# UpdateItem (ADD), Query and DeleteItem over 2,000 keys; SQS SendMessage
# and ReceiveMessage + DeleteMessageBatch; Kinesis PutRecord and GetRecords.
# State is kept in a --data-dir, so what is stored (Kinesis records are
# kept 24 hours; the rest stays bounded by the key space) sits on disk and
# RSS measures the process: SQLite's page cache is bounded, a leak is not.
#
# Verdict: with the samples after the first quarter (warm-up), the growth
# is the last sample minus the first; "bounded" when the max of the last
# third exceeds the max of the middle third by under 10% (or 8 MiB).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
BUILD_DIR=${BUILD_DIR:-build}
SOAK_S=${SOAK_S:-60}
SOAK_SAMPLE_S=${SOAK_SAMPLE_S:-3}
[ "$SOAK_S" -gt 0 ] || exit 0
cmake --build "$BUILD_DIR" -j2 --target tidepool tp_bench >/dev/null
BIN=$(cd "$BUILD_DIR" && pwd)/tidepool
BENCH=$(cd "$BUILD_DIR" && pwd)/tp_bench
work=$(mktemp -d)
pid=
loads=()
cleanup() {
    for p in "${loads[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo '{"capacity":{"on_demand_max_read":100000000,"on_demand_max_write":100000000,
       "kinesis":{"in_bytes":1e12,"in_records":1e12,"out_bytes":1e12,"out_calls":1e12}}}' >"$work/soak.json"
"$BIN" serve --host 127.0.0.1 --port "$port" --clock virtual --data-dir "$work/data" \
    --config "$work/soak.json" 2>"$work/tidepool.log" &
pid=$!
for _ in $(seq 1 200); do
    "$BENCH" --port "$port" -X GET --path /_tidepool/health -n 1 -d 1 >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/tidepool.log" >&2; exit 1; }
    sleep 0.05
done

call() { # call SERVICE JSONVER TARGET BODY: the answer's JSON
    python3 - "$port" "$@" <<'PY'
import json, sys, urllib.request
port, svc, ver, target, body = sys.argv[1:6]
auth = ("AWS4-HMAC-SHA256 Credential=AKIDBENCH/20240101/us-east-1/%s/aws4_request, "
        "SignedHeaders=host, Signature=00" % svc)
req = urllib.request.Request("http://127.0.0.1:%s/" % port, data=body.encode(),
                             headers={"Content-Type": "application/x-amz-json-" + ver,
                                      "Authorization": auth, "X-Amz-Target": target,
                                      "X-Amz-Date": "20240101T000000Z"})
print(urllib.request.urlopen(req).read().decode())
PY
}
call dynamodb 1.0 DynamoDB_20120810.CreateTable \
    '{"TableName":"soak","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}' >/dev/null
qurl=$(call sqs 1.0 AmazonSQS.CreateQueue '{"QueueName":"soak"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["QueueUrl"])')
call kinesis 1.1 Kinesis_20131202.CreateStream '{"StreamName":"soak","ShardCount":1}' >/dev/null
curl -s -X POST -d '{"advance_ms":60000}' "http://127.0.0.1:$port/_tidepool/clock" >/dev/null
it=$(call kinesis 1.1 Kinesis_20131202.GetShardIterator \
    '{"StreamName":"soak","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["ShardIterator"])')

load() { # load SERVICE VER TARGET BODY [options]
    local svc=$1 ver=$2 target=$3 body=$4
    shift 4
    "$BENCH" --port "$port" --aws-json "$ver" --service "$svc" --target "$target" --json \
        -d "$SOAK_S" --key-space 2000 -b "$body" "$@" >>"$work/load.jsonl" 2>>"$work/load.err" &
    loads+=($!)
}
key='"pk":{"S":"k{{r}}"},"sk":{"N":"1"}'
load dynamodb 1.0 DynamoDB_20120810.PutItem "{\"TableName\":\"soak\",\"Item\":{$key,\"d\":{\"S\":\"{{pad:1000}}\"}}}" --label PutItem
load dynamodb 1.0 DynamoDB_20120810.GetItem "{\"TableName\":\"soak\",\"Key\":{$key}}" --label GetItem
load dynamodb 1.0 DynamoDB_20120810.UpdateItem "{\"TableName\":\"soak\",\"Key\":{$key},\"UpdateExpression\":\"ADD n :one\",\"ExpressionAttributeValues\":{\":one\":{\"N\":\"1\"}}}" --label UpdateItem
load dynamodb 1.0 DynamoDB_20120810.Query "{\"TableName\":\"soak\",\"KeyConditionExpression\":\"pk = :p\",\"ExpressionAttributeValues\":{\":p\":{\"S\":\"k{{r}}\"}}}" --label Query
load dynamodb 1.0 DynamoDB_20120810.DeleteItem "{\"TableName\":\"soak\",\"Key\":{$key}}" --label DeleteItem
load sqs 1.0 AmazonSQS.SendMessage "{\"QueueUrl\":\"$qurl\",\"MessageBody\":\"m{{r}} {{pad:1000}}\"}" --label SendMessage
load sqs 1.0 AmazonSQS.ReceiveMessage "{\"QueueUrl\":\"$qurl\",\"MaxNumberOfMessages\":10}" --then-delete "$qurl" --label "Receive+Delete"
load kinesis 1.1 Kinesis_20131202.PutRecord "{\"StreamName\":\"soak\",\"PartitionKey\":\"k{{r}}\",\"Data\":\"{{pad:1364}}\"}" --label PutRecord
load kinesis 1.1 Kinesis_20131202.GetRecords "{\"ShardIterator\":\"$it\",\"Limit\":100}" --label GetRecords

: >"$work/rss"
t0=$(date +%s)
while :; do
    now=$(date +%s)
    echo "$((now - t0)) $(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")" >>"$work/rss"
    running=0
    for p in "${loads[@]}"; do kill -0 "$p" 2>/dev/null && running=1; done
    [ "$running" = 1 ] || break
    sleep "$SOAK_SAMPLE_S"   # the sampling period, not a wait for an effect
done
for p in "${loads[@]}"; do wait "$p" || true; done
loads=()
kill -TERM "$pid"
wait "$pid" || { echo "tidepool exited non-zero on SIGTERM:" >&2; tail -20 "$work/tidepool.log" >&2; }
pid=

python3 - "$work" "$SOAK_S" <<'EOF'
import json, os, sys
work, soak_s = sys.argv[1], int(sys.argv[2])
samples = [tuple(map(int, l.split())) for l in open(os.path.join(work, "rss")) if len(l.split()) == 2]
loads = [json.loads(l) for l in open(os.path.join(work, "load.jsonl")) if l.strip()]
print()
print("  soak: %d s of mixed load, one connection per operation, --data-dir" % soak_s)
print("  %-16s %10s %10s %8s" % ("operation", "requests", "ops/s", "errors"))
for r in loads:
    print("  %-16s %10d %10.0f %8d" % (r["label"], r["requests"], r["ops_per_s"], r["errors"]))
rss = [kb for _, kb in samples]
if len(rss) < 4:
    sys.exit("  soak: too few RSS samples (%d)" % len(rss))
warm = rss[len(rss) // 4:]
third = max(1, len(warm) // 3)
mid, last = max(warm[third:2 * third] or warm), max(warm[-third:])
growth = warm[-1] - warm[0]
bounded = last - mid < max(mid * 0.10, 8 * 1024)
print("  RSS KiB: start %d, after warm-up %d, end %d, max %d; growth after warm-up %+d KiB"
      % (rss[0], warm[0], rss[-1], max(rss), growth))
print("  RSS samples (s:KiB): " + " ".join("%d:%d" % s for s in samples))
print("  verdict: %s" % ("bounded (levelled off)" if bounded else
                         "GROWING: the last third's max is %+d KiB over the middle third's" % (last - mid)))
EOF
