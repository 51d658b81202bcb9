"""test_connections — connection hygiene.

tidepool serves connections from a few epoll event loops (never a thread
per connection), so idle keep-alive connections and a client that trickles
its request one byte a second hold sockets, not workers: another client is
still served. A connection that sends nothing for http.idle_timeout_s
(config file) or --idle-timeout seconds is closed, a keep-alive one or one
in the middle of a request alike.

Real time is the subject here (idle timeouts are wall-clock), so the test
uses a 2 s timeout and polls for the closes rather than asserting a time.
"""
import resource
import select
import socket
import subprocess
import threading
import time
import unittest

from tidepool import TidepoolTestCase, binary_path, free_port

IDLE = 1000
TIMEOUT_S = 2
CLOSE_DEADLINE_S = 60   # poll bound, not an assertion on speed


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        target = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def keepalive_request(sock, host):
    sock.sendall(("GET /_tidepool/health HTTP/1.1\r\nHost: %s\r\nConnection: keep-alive\r\n\r\n"
                  % host).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("closed before answering")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        rest += sock.recv(65536)
    return head.split(b"\r\n")[0]


def wait_closed(socks, deadline):
    """Polls until every socket reads EOF (or errors); returns those still open."""
    open_ = {s.fileno(): s for s in socks}
    while True:
        p = select.poll()
        for fd in open_:
            p.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        for fd, _ev in p.poll(200):
            try:
                if open_[fd].recv(4096, socket.MSG_DONTWAIT) == b"":
                    del open_[fd]
            except BlockingIOError:
                pass
            except OSError:
                del open_[fd]
        if not open_ or time.monotonic() >= deadline:
            return set(open_.values())


class TestConnections(TidepoolTestCase):
    tidepool_kwargs = {"config": {"http": {"idle_timeout_s": TIMEOUT_S}}}

    def test_idle_and_slow_clients_do_not_block_and_idle_ones_are_closed(self):
        if raise_nofile(IDLE + 200) < IDLE + 100:
            self.skipTest("RLIMIT_NOFILE too low for %d connections" % IDLE)
        tp = self.tidepool
        idle = []
        stop = threading.Event()
        slow = None
        try:
            for _ in range(IDLE):
                s = socket.create_connection((tp.host, tp.port))
                idle.append(s)
            # half have made a request and wait on keep-alive, half never spoke
            for s in idle[::2]:
                self.assertIn(b" 200 ", keepalive_request(s, tp.host))

            request = (b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
                       b"Content-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n\r\n{}")
            sent = [0]

            def trickle():
                # one byte a second: never idle for TIMEOUT_S
                for b in request[:-1]:
                    if stop.wait(0.5):
                        return
                    slow.sendall(bytes([b]))
                    sent[0] += 1

            slow = socket.create_connection((tp.host, tp.port))
            t = threading.Thread(target=trickle)
            t.start()
            # while 1,000 connections sit idle and one trickles, others are served
            ddb = self.client()
            self.assertEqual(ddb.list_tables()["TableNames"], [])
            self.assertEqual(tp.health()["status"], "ok")

            still_open = wait_closed(idle, time.monotonic() + CLOSE_DEADLINE_S)
            self.assertEqual(len(still_open), 0, "idle connections never closed")
            # the trickling client is not cut off while it keeps sending:
            # let it trickle for twice the timeout (two bytes a second)
            deadline = time.monotonic() + CLOSE_DEADLINE_S
            while sent[0] < 4 * TIMEOUT_S and time.monotonic() < deadline and t.is_alive():
                time.sleep(0.1)
            self.assertGreaterEqual(sent[0], 4 * TIMEOUT_S)
            self.assertEqual(wait_closed([slow], time.monotonic()), {slow}, "the trickling client was cut off")
            stop.set()
            t.join()
            # ...and once it goes quiet it is closed as well
            self.assertEqual(wait_closed([slow], time.monotonic() + CLOSE_DEADLINE_S), set())
            self.assertEqual(tp.health()["status"], "ok")
        finally:
            stop.set()
            for s in idle:
                s.close()
            if slow:
                slow.close()

    def test_a_slow_request_that_completes_is_answered(self):
        s = socket.create_connection((self.tidepool.host, self.tidepool.port))
        try:
            req = b"GET /_tidepool/health HTTP/1.1\r\nHost: x\r\n\r\n"
            for i in range(0, len(req), 8):
                s.sendall(req[i:i + 8])
                time.sleep(0.2)   # pacing the client, not waiting for an effect
            s.settimeout(30)
            self.assertIn(b"200", s.recv(4096).split(b"\r\n")[0])
        finally:
            s.close()


class TestOptions(unittest.TestCase):
    def run_serve(self, *args):
        return subprocess.run([binary_path(), "serve", "--port", str(free_port())] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)

    def test_bad_values_stop_startup(self):
        p = self.run_serve("--idle-timeout", "soon")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--idle-timeout must be 0..86400, got 'soon'", p.stderr.decode())
        p = self.run_serve("--max-connections", "0")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--max-connections must be 1..1000000", p.stderr.decode())


if __name__ == "__main__":
    unittest.main()
