"""A Lambda function in Python with its own runtime loop over the Lambda
Runtime API (standard library only), as tests/integration/test_runtime_api.py
runs it in tidepool: "command": "python3 handler.py".

Event -> behaviour:
  {"Records": [...]}        a DynamoDB stream batch: answers the event ids
  {"fail": "msg"}           POST /error (a function error)
  {"crash": "segv"}         the process kills itself with SIGSEGV
  {"exit": N}               the process exits with status N
  {"forever": true}         never answers (the deadline ends it)
  anything else             {"echo": event, "pid", "count", "env": {...}}

Environment: INIT_FAIL=1 posts /init/error and exits; INIT_EXIT=N exits
with N before asking for an event."""
import json
import os
import signal
import sys
import time
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
count = 0


def post(path, body, headers=None):
    req = urllib.request.Request(API + path, data=json.dumps(body).encode(), method="POST",
                                 headers=headers or {})
    urllib.request.urlopen(req).read()


print("init: python runtime starting", flush=True)
if os.environ.get("INIT_FAIL"):
    post("/init/error", {"errorMessage": "cannot import module 'missing'",
                         "errorType": "Runtime.ImportModuleError"},
         {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
    sys.exit(1)
if os.environ.get("INIT_EXIT"):
    sys.exit(int(os.environ["INIT_EXIT"]))

while True:
    with urllib.request.urlopen(API + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        deadline = int(r.headers["Lambda-Runtime-Deadline-Ms"])
        arn = r.headers["Lambda-Runtime-Invoked-Function-Arn"]
        event = json.loads(r.read() or b"null")
    count += 1
    print("handling %s (%d)" % (rid, count), flush=True)
    print("to stderr", file=sys.stderr, flush=True)
    if isinstance(event, dict) and "Records" in event:
        post("/invocation/%s/response" % rid,
             {"ids": [rec["eventID"] for rec in event["Records"]], "pid": os.getpid()})
    elif isinstance(event, dict) and "fail" in event:
        post("/invocation/%s/error" % rid,
             {"errorMessage": event["fail"], "errorType": "ValueError", "stackTrace": []},
             {"Lambda-Runtime-Function-Error-Type": "Unhandled"})
    elif isinstance(event, dict) and "crash" in event:
        os.kill(os.getpid(), signal.SIGSEGV)
    elif isinstance(event, dict) and "exit" in event:
        sys.exit(event["exit"])
    elif isinstance(event, dict) and "forever" in event:
        while True:
            time.sleep(0.05)
    else:
        env = {k: os.environ.get(k) for k in (
            "_HANDLER", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_LAMBDA_FUNCTION_VERSION", "AWS_REGION", "LAMBDA_TASK_ROOT", "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "GREETING")}
        post("/invocation/%s/response" % rid,
             {"echo": event, "pid": os.getpid(), "count": count, "env": env, "arn": arn,
              "has_deadline": deadline > 0})
