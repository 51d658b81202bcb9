#!/usr/bin/env python3
"""seed.py CAPTURE_DIR — sorts requests recorded by capture.py into the fuzz
targets' seed corpora (tests/fuzz/corpus/<target>/), a few per operation,
so the corpora stay small. Safe to re-run: files are named by content."""
import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PER_OP = 3
EXPR_KEYS = {"ConditionExpression": 0, "FilterExpression": 1, "UpdateExpression": 2,
             "ProjectionExpression": 3, "KeyConditionExpression": 4}


MAX_BYTES = 8192   # the targets run with -max_len=16384; big bodies only test limits


def put(target, data):
    if len(data) > MAX_BYTES:
        return
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def parse(raw):
    head, _, body = raw.partition(b"\n\n")
    lines = head.decode("latin-1").split("\n")
    method, _, path = lines[0].partition(" ")
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(": ")
        hdrs[k.lower()] = v
    return method, path, hdrs, body


def main():
    cap = sys.argv[1]
    seen = {}
    ddb_calls = []
    for fn in sorted(os.listdir(cap), key=lambda s: [int(x) for x in re.findall(r"\d+", s)]):
        raw = open(os.path.join(cap, fn), "rb").read()
        method, path, hdrs, body = parse(raw)
        target = hdrs.get("x-amz-target", "")
        ct = hdrs.get("content-type", "")
        if target:
            op = target
        elif path.startswith("/20"):
            op = "lambda " + method + " " + re.sub(r"/functions/[^/?]+", "/functions/F", path)
        elif body.startswith(b"Action=") or b"&Action=" in body:
            op = "query " + re.search(rb"Action=([A-Za-z]+)", body).group(1).decode()
        else:
            op = "other " + method
        n = seen.get(op, 0)
        seen[op] = n + 1
        if n < PER_OP:
            put("fuzz_http", raw)
            if op.startswith("lambda"):
                put("fuzz_restjson", raw)
            if op.startswith("query"):
                put("fuzz_query", body)
            if "cbor" in ct:
                put("fuzz_cbor", body)
        if "json" in ct and body:
            try:
                obj = json.loads(body)
            except ValueError:
                continue
            if n < PER_OP:
                put("fuzz_json", body)
            for k, sel in EXPR_KEYS.items():
                if isinstance(obj.get(k), str):
                    put("fuzz_expr", bytes([sel]) + obj[k].encode())
            stmts = [obj.get("Statement")] + [s.get("Statement") for s in
                                              obj.get("Statements", []) + obj.get("TransactStatements", [])
                                              if isinstance(s, dict)]
            for s in stmts:
                if isinstance(s, str):
                    put("fuzz_partiql", s.encode())
            if target.startswith(("DynamoDB", "AmazonSQS", "Kinesis")):
                line = (target[len("DynamoDB_20120810."):] if target.startswith("DynamoDB_")
                        else target) + " " + json.dumps(obj, separators=(",", ":"))
                ddb_calls.append((op, line))
    # fuzz_ddb: runs of consecutive calls, one seed per operation it starts with
    done = {}
    for i, (op, _line) in enumerate(ddb_calls):
        if done.get(op, 0) >= PER_OP:
            continue
        done[op] = done.get(op, 0) + 1
        run = [line for _op, line in ddb_calls[i:i + 6] if len(line) < 2048]
        put("fuzz_ddb", ("\n".join(run) + "\n").encode())


if __name__ == "__main__":
    main()
