#!/usr/bin/env python3
"""capture.py — records the requests an integration test module sends, to
seed the fuzz corpora (tests/fuzz/corpus/). Stands in for the tidepool
binary (TIDEPOOL_BIN): started as `capture.py serve --host H --port P ...`,
it runs the real binary (TIDEPOOL_REAL_BIN) on a free port and a proxy on
H:P that forwards every request and writes it, in fuzz_request.h's text
form, to $TIDEPOOL_CAPTURE_DIR/<n>.req.

    cd tests/integration
    TIDEPOOL_BIN=$PWD/../fuzz/capture.py TIDEPOOL_REAL_BIN=$PWD/../../build/tidepool \
      TIDEPOOL_CAPTURE_DIR=/tmp/cap /usr/bin/python3 -m pytest -q test_items.py
    python3 ../fuzz/seed.py /tmp/cap     (sorts the captures into the corpora)
"""
import http.client
import http.server
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading

KEEP = ("X-Amz-Target", "Content-Type", "X-Amz-Date", "Authorization",
        "X-Amz-Invocation-Type", "X-Amz-Log-Type", "X-Amz-Client-Context")


def main():
    args = sys.argv[1:]
    host = args[args.index("--host") + 1]
    port = int(args[args.index("--port") + 1])
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    back = s.getsockname()[1]
    s.close()
    real = list(args)
    real[real.index("--port") + 1] = str(back)
    proc = subprocess.Popen([os.environ["TIDEPOOL_REAL_BIN"]] + real)
    out = os.environ["TIDEPOOL_CAPTURE_DIR"]
    os.makedirs(out, exist_ok=True)
    counter = itertools.count()
    lock = threading.Lock()

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            hdrs = {k: v for k, v in self.headers.items()
                    if k.lower() not in ("connection", "content-length", "transfer-encoding")}
            if not self.path.startswith("/_tidepool/"):
                with lock:
                    i = next(counter)
                head = "%s %s\n" % (self.command, self.path)
                head += "".join("%s: %s\n" % (k, v) for k, v in self.headers.items() if k in KEEP)
                with open(os.path.join(out, "%d-%d.req" % (os.getpid(), i)), "wb") as f:
                    f.write(head.encode() + b"\n" + body)
            try:
                c = http.client.HTTPConnection("127.0.0.1", back, timeout=120)
                c.request(self.command, self.path, body=body or None, headers=hdrs)
                r = c.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException):
                self.close_connection = True
                return
            self.send_response_only(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("connection", "content-length", "transfer-encoding", "date"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            c.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = forward

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer((host, port), Proxy)
    srv.daemon_threads = True

    def stop(sig, _frame):
        proc.send_signal(sig)
        proc.wait()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    proc.wait()
    os._exit(proc.returncode)


if __name__ == "__main__":
    main()
