#!/usr/bin/env bash
# tests/bench/peer.sh — the DynamoDB load side by side: tidepool, then
# dynalite (a JavaScript DynamoDB emulator) right after it with the same
# load, each server pinned to one core and tp_bench to the other.
#
#   PutItem 1KB      distinct keys, concurrency 1 and 32
#   GetItem 1KB      random existing keys
#   UpdateItem ADD   a counter on random existing keys
#   DeleteItem       existing keys, in the order they were written
#   BatchWrite 25    25 distinct 1 KB items per request
#   Query 100        one partition of 100 items (100-byte values)
#   then, unless SCALE=0, the cost at 1k and at SCALE items (Put/Get/Query)
#   and PutItem into a table with a local secondary index whose one item
#   collection holds LSI_ITEMS items
#
# Once in memory and once with a data directory (tidepool --data-dir,
# dynalite --path). dynalite is installed with npm into BUILD_DIR/peer at
# a pinned version when npm is present; without it only tidepool runs.
# Called by run.sh (`make bench`); runs alone too. Environment: BUILD_DIR
# (build), DURATION (3), CONCURRENCY ("1 32"), MODES ("memory disk"),
# PEER (1; 0 skips dynalite), SCALE (100000), LSI_ITEMS (100000),
# TIDEPOOL_BIN (BUILD_DIR/tidepool).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
BUILD_DIR=${BUILD_DIR:-build}
DURATION=${DURATION:-3}
CONCURRENCY=${CONCURRENCY:-"1 32"}
MODES=${MODES:-"memory disk"}
PEER=${PEER:-1}
SCALE=${SCALE:-100000}
LSI_ITEMS=${LSI_ITEMS:-100000}
DYNALITE_VERSION=4.0.0

build=$(cd "$BUILD_DIR" && pwd)
BIN=${TIDEPOOL_BIN:-$build/tidepool}
BENCH=$build/tp_bench
peer_dir=$build/peer
dynalite=$peer_dir/node_modules/dynalite/cli.js

if [ "$PEER" = 1 ] && command -v node >/dev/null; then
    if ! grep -qs "\"version\": \"$DYNALITE_VERSION\"" "$peer_dir/node_modules/dynalite/package.json"; then
        if command -v npm >/dev/null; then
            mkdir -p "$peer_dir"
            npm install --prefix "$peer_dir" --no-audit --no-fund --silent "dynalite@$DYNALITE_VERSION" >&2 ||
                echo "  note: npm could not install dynalite $DYNALITE_VERSION" >&2
        fi
    fi
fi
[ -f "$dynalite" ] && command -v node >/dev/null && [ "$PEER" = 1 ] || dynalite=

# One core for the server, the other for the load (when there are two).
ncpu=$(nproc 2>/dev/null || echo 1)
pin_server=() pin_load=()
if [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
    pin_server=(taskset -c 1) pin_load=(taskset -c 0)
fi

work=$(mktemp -d)
pid=
stop() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    pid=
}
trap 'stop; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
echo '{"capacity":{"on_demand_max_read":100000000,"on_demand_max_write":100000000}}' >"$work/bench.json"

start_server() { # start_server tidepool|dynalite memory|disk
    port=$(free_port)
    local data=$work/data-$1-$2
    rm -rf "$data"
    if [ "$1" = tidepool ]; then
        local dd=()
        [ "$2" = disk ] && dd=(--data-dir "$data")
        "${pin_server[@]}" "$BIN" serve --host 127.0.0.1 --port "$port" --config "$work/bench.json" "${dd[@]}" \
            2>"$work/server.log" &
    else
        local dd=()
        [ "$2" = disk ] && dd=(--path "$data")
        "${pin_server[@]}" node "$dynalite" --host 127.0.0.1 --port "$port" --createTableMs 0 \
            --deleteTableMs 0 --updateTableMs 0 "${dd[@]}" >"$work/server.log" 2>&1 &
    fi
    pid=$!
    for _ in $(seq 1 200); do
        if "$BENCH" --port "$port" --aws-json 1.0 --target DynamoDB_20120810.ListTables -b '{}' -n 1 -d 1 \
            >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    cat "$work/server.log" >&2
    return 1
}

ddb() { # ddb OPERATION [tp_bench options...]
    local op=$1
    shift
    "${pin_load[@]}" "$BENCH" --port "$port" --aws-json 1.0 --target "DynamoDB_20120810.$op" --json "$@" || true
}
requests() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read().splitlines()[-1])["requests"])'; }
create() { # create NAME [range key] [LSI]
    local attrs='{"AttributeName":"pk","AttributeType":"S"}' keys='{"AttributeName":"pk","KeyType":"HASH"}' lsi=
    if [ -n "${2:-}" ]; then
        attrs="$attrs,{\"AttributeName\":\"sk\",\"AttributeType\":\"N\"}"
        keys="$keys,{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"}"
    fi
    if [ -n "${3:-}" ]; then
        attrs="$attrs,{\"AttributeName\":\"l\",\"AttributeType\":\"S\"}"
        lsi=',"LocalSecondaryIndexes":[{"IndexName":"byl","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"l","KeyType":"RANGE"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}]'
    fi
    ddb CreateTable -n 1 -d 5 --label create -b \
        "{\"TableName\":\"$1\",\"AttributeDefinitions\":[$attrs],\"KeySchema\":[$keys],\"BillingMode\":\"PAY_PER_REQUEST\"$lsi}" >/dev/null
}
batch_of() { # batch_of TABLE ITEM-TEMPLATE: a BatchWriteItem body of 25 puts, @@ -> 00..24
    python3 - "$1" "$2" <<'PY'
import sys
table, item = sys.argv[1], sys.argv[2]
print('{"RequestItems":{"%s":[%s]}}' % (table, ",".join('{"PutRequest":{"Item":%s}}' % item.replace("@@", "%02d" % i) for i in range(25))))
PY
}
fill() { # fill TABLE ITEM-TEMPLATE COUNT: COUNT items (a multiple of 25)
    ddb BatchWriteItem -n $(($3 / 25)) -c 4 -d 600 --label fill -b "$(batch_of "$1" "$2")" >/dev/null
}

put_body='{"TableName":"bench","Item":{"pk":{"S":"k{{n}}"},"data":{"S":"{{pad:1000}}"}}}'
get_body='{"TableName":"bench","Key":{"pk":{"S":"k{{r}}"}}}'
del_body='{"TableName":"bench","Key":{"pk":{"S":"k{{n}}"}}}'
upd_body='{"TableName":"bench","Key":{"pk":{"S":"k{{r}}"}},"UpdateExpression":"ADD hits :one","ExpressionAttributeValues":{":one":{"N":"1"}}}'
query_body='{"TableName":"benchq","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"p"}}}'

load() { # load SERVER MODE: the side-by-side load, one JSON line per measurement
    local server=$1 mode=$2 out=$work/$1-$2.jsonl start=0 c
    start_server "$server" "$mode" || { echo "  $server ($mode) did not start" >&2; return 0; }
    : >"$out"
    create bench
    for c in $CONCURRENCY; do
        ddb PutItem -c "$c" -d "$DURATION" --key-start "$start" --label "PutItem 1KB" -b "$put_body" >>"$out"
        start=$((start + $(requests <"$out")))
    done
    local keys=$((start > 0 ? start : 1))
    for c in $CONCURRENCY; do
        ddb GetItem -c "$c" -d "$DURATION" --key-space "$keys" --label "GetItem 1KB" -b "$get_body" >>"$out"
    done
    for c in $CONCURRENCY; do
        ddb UpdateItem -c "$c" -d "$DURATION" --key-space "$keys" --label "UpdateItem ADD" -b "$upd_body" >>"$out"
    done
    local dstart=0
    for c in $CONCURRENCY; do
        ddb DeleteItem -c "$c" -d "$DURATION" --key-start "$dstart" --label "DeleteItem" -b "$del_body" >>"$out"
        dstart=$((dstart + $(requests <"$out")))
    done
    local bbody
    bbody=$(batch_of bench '{"pk":{"S":"b{{n}}-@@"},"data":{"S":"{{pad:1000}}"}}')
    for c in $CONCURRENCY; do
        ddb BatchWriteItem -c "$c" -d "$DURATION" --label "BatchWrite 25" -b "$bbody" >>"$out"
    done
    create benchq range
    fill benchq '{"pk":{"S":"p"},"sk":{"N":"{{n}}@@"},"v":{"S":"{{pad:100}}"}}' 100
    for c in $CONCURRENCY; do
        ddb Query -c "$c" -d "$DURATION" --label "Query 100" -b "$query_body" >>"$out"
    done
    if [ "$SCALE" -gt 0 ] && [ "$mode" = memory ]; then
        scale "$out"
    fi
    if [ "$server" = tidepool ]; then
        awk '/^VmRSS:/ {print "{\"rss_kb\":" $2 "}"}' "/proc/$pid/status" >>"$out"
    fi
    stop
}

scale() { # per-op cost at 1k and at SCALE items, and an LSI item collection of LSI_ITEMS
    local out=$1 n
    for n in 1000 "$SCALE"; do
        create "s$n"
        fill "s$n" '{"pk":{"S":"k{{n}}-@@"},"data":{"S":"{{pad:1000}}"}}' "$n"
        ddb PutItem -c 1 -d "$DURATION" --label "PutItem @$n" \
            -b "{\"TableName\":\"s$n\",\"Item\":{\"pk\":{\"S\":\"n{{n}}\"},\"data\":{\"S\":\"{{pad:1000}}\"}}}" >>"$out"
        ddb GetItem -c 1 -d "$DURATION" --key-space $((n / 25)) --label "GetItem @$n" \
            -b "{\"TableName\":\"s$n\",\"Key\":{\"pk\":{\"S\":\"k{{r}}-03\"}}}" >>"$out"
        ddb Query -c 1 -d "$DURATION" --key-space $((n / 25)) --label "Query 1 @$n" \
            -b "{\"TableName\":\"s$n\",\"KeyConditionExpression\":\"pk = :p\",\"ExpressionAttributeValues\":{\":p\":{\"S\":\"k{{r}}-07\"}}}" >>"$out"
    done
    create lsi range lsi
    local lput='{"TableName":"lsi","Item":{"pk":{"S":"one"},"sk":{"N":"{{n}}"},"l":{"S":"v{{n}}"},"data":{"S":"{{pad:100}}"}}}'
    ddb PutItem -c 1 -d "$DURATION" --key-start 0 --label "PutItem LSI @0" -b "$lput" >>"$out"
    fill lsi '{"pk":{"S":"one"},"sk":{"N":"-1{{n}}@@"},"l":{"S":"w{{n}}@@"},"data":{"S":"{{pad:100}}"}}' "$LSI_ITEMS"
    ddb PutItem -c 1 -d "$DURATION" --key-start 900000000 --label "PutItem LSI @$LSI_ITEMS" -b "$lput" >>"$out"
}

for mode in $MODES; do
    load tidepool "$mode"
    [ -n "$dynalite" ] && load dynalite "$mode"
done

python3 - "$work" "$MODES" "${dynalite:+dynalite}" <<'EOF'
import json, os, sys

work, modes, peer = sys.argv[1], sys.argv[2].split(), sys.argv[3]
def rows(server, mode):
    path = os.path.join(work, "%s-%s.jsonl" % (server, mode))
    if not os.path.exists(path):
        return {}, None
    out, rss = {}, None
    for line in open(path):
        if not line.strip():
            continue
        r = json.loads(line)
        if "rss_kb" in r:
            rss = r["rss_kb"]
        elif r.get("label") not in ("create", "fill"):
            out[(r["label"], r["concurrency"])] = r
    return out, rss

for mode in modes:
    tp, rss = rows("tidepool", mode)
    dl, _ = rows("dynalite", mode) if peer else ({}, None)
    print()
    print("  DynamoDB side by side (%s; server on one core; ops/s, p50/p99 us)"
          % ("in memory" if mode == "memory" else "tidepool --data-dir, dynalite --path"))
    print("  %-18s %4s %9s %15s %9s %15s %7s" % ("operation", "conc", "tidepool", "p50 / p99",
                                                 "dynalite" if peer else "", "p50 / p99" if peer else "",
                                                 "ratio" if peer else ""))
    def cell(r):
        if not r:
            return "%9s %15s" % ("-", "")
        e = "!" if r["errors"] else ""
        return "%9.0f %15s" % (r["ops_per_s"], "%d / %d%s" % (r["p50_us"], r["p99_us"], e))
    for key in tp:
        t, d = tp[key], dl.get(key)
        ratio = "%6.1fx" % (t["ops_per_s"] / d["ops_per_s"]) if d and d["ops_per_s"] else ""
        print("  %-18s %4d %s %s %7s" % (key[0], key[1], cell(t), cell(d) if peer else "", ratio))
    if rss:
        print("  tidepool RSS at the end: %.1f MiB" % (rss / 1024))
    if any(r["errors"] for r in list(tp.values()) + list(dl.values())):
        print("  ! some requests failed; tp_bench printed the first failure above")
if not peer:
    print("  (dynalite not measured: needs node and npm, or PEER=0 was given)")
EOF
