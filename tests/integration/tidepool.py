"""tidepool.py — the harness every integration test module uses.

Starts the real tidepool binary on a free loopback port, hands out boto3
clients, AWS CLI runs and raw HTTP pointed at it, and drives the control
endpoints (/_tidepool/health, reset, clock). Plain unittest, so the same
modules run under pytest (Debian's python3 + boto3 1.26) and under
run_unittest.py (the image's python3 + a newer boto3).

boto3 is imported lazily: modules that only read files (test_compose) work
without it.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def source_dir():
    """The repository root: $TIDEPOOL_SOURCE_DIR, else two levels above here."""
    return os.environ.get("TIDEPOOL_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", ".."))


def binary_path():
    """$TIDEPOOL_BIN, else build/tidepool in the repository root."""
    return os.environ.get("TIDEPOOL_BIN") or os.path.join(source_dir(), "build", "tidepool")


def free_port():
    """A port nobody listens on right now (the kernel picks it; we release it
    and hand it to tidepool, which does not support --port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- AWS CLI discovery -------------------------------------------------------

_cli_cache = {}


def _cli_major(path):
    try:
        p = subprocess.run([path, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60, env=_clean_env(), stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = p.stdout.decode("utf-8", "replace").strip()
    if p.returncode != 0 or not text.startswith("aws-cli/"):
        return None
    return text.split("/", 1)[1][:1]


def find_cli(which):
    """Path of the AWS CLI "v2" (Debian's /usr/bin/aws) or "v1" (another
    `aws` on PATH, e.g. the image's pip-installed one), or None."""
    if which in _cli_cache:
        return _cli_cache[which]
    found = None
    if which == "v2":
        if os.path.exists("/usr/bin/aws") and _cli_major("/usr/bin/aws") == "2":
            found = "/usr/bin/aws"
    elif which == "v1":
        debian = os.path.realpath("/usr/bin/aws")
        seen = set()
        for d in os.environ.get("PATH", "").split(os.pathsep):
            cand = os.path.join(d or ".", "aws")
            if not (os.path.isfile(cand) and os.access(cand, os.X_OK)):
                continue
            real = os.path.realpath(cand)
            # /bin/aws is /usr/bin/aws on a merged-/usr system.
            if real == debian or real in seen:
                continue
            seen.add(real)
            if _cli_major(cand) == "1":
                found = cand
                break
    else:
        raise ValueError("cli must be 'v1' or 'v2', got %r" % (which,))
    _cli_cache[which] = found
    return found


def _clean_env():
    """The environment without the caller's AWS settings, so neither a
    developer's ~/.aws nor their AWS_* variables leak into a test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["AWS_PAGER"] = ""
    return env


# --- Tidepool ------------------------------------------------------------------

class TidepoolError(RuntimeError):
    pass


class Tidepool:
    """One tidepool process.

        tp = Tidepool(data_dir=d, clock="virtual", config={"dynamodb": {...}})
        tp.start(); ddb = tp.client(); ...; tp.stop()

    clock=None passes no --clock (the server's default). Extra positional
    arguments are appended to `tidepool serve`. start() after stop() or
    kill9() restarts on a new port with the same data dir and config.
    """

    START_TIMEOUT_S = 15.0
    STOP_TIMEOUT_S = 15.0

    def __init__(self, *extra_args, data_dir=None, clock="virtual", config=None, binary=None):
        self.extra_args = list(extra_args)
        self.data_dir = data_dir
        self.clock = clock
        self.config = config
        self.binary = binary or binary_path()
        self.proc = None
        self.port = None
        self.host = "127.0.0.1"
        self._tmp = tempfile.mkdtemp(prefix="tidepool-test-")
        self._log_path = None
        self._log_file = None
        self._config_path = None
        self._cli_files = None
        if isinstance(config, dict):
            self._config_path = os.path.join(self._tmp, "config.json")
            with open(self._config_path, "w") as f:
                json.dump(config, f)
        elif isinstance(config, str):
            self._config_path = config
        elif config is not None:
            raise TypeError("config must be a dict or a file path")

    # lifecycle -----------------------------------------------------------

    @property
    def endpoint(self):
        return "http://%s:%d" % (self.host, self.port)

    def command(self):
        cmd = [self.binary, "serve", "--host", self.host, "--port", str(self.port)]
        if self.data_dir:
            cmd += ["--data-dir", self.data_dir]
        if self._config_path:
            cmd += ["--config", self._config_path]
        if self.clock:
            cmd += ["--clock", self.clock]
        return cmd + self.extra_args

    def start(self):
        if self.proc is not None and self.proc.poll() is None:
            raise TidepoolError("tidepool is already running (pid %d)" % self.proc.pid)
        if not os.path.exists(self.binary):
            raise TidepoolError("no tidepool binary at %s (build it, or set TIDEPOOL_BIN)" % self.binary)
        # A free port can be taken between free_port() and the server's bind:
        # try a few ports before giving up.
        last = None
        for _attempt in range(3):
            self.port = free_port()
            try:
                self._spawn_and_wait()
                return self
            except TidepoolError as e:
                last = e
                if self.proc is not None and self.proc.poll() is None:
                    self._terminate(signal.SIGKILL)
                if "in use" not in self.log_text().lower():
                    break
        raise last

    def _spawn_and_wait(self):
        n = len([f for f in os.listdir(self._tmp) if f.startswith("tidepool-")])
        self._log_path = os.path.join(self._tmp, "tidepool-%d.log" % n)
        self._log_file = open(self._log_path, "wb")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT)
        # Readiness polling: bounded by START_TIMEOUT_S.
        deadline = time.monotonic() + self.START_TIMEOUT_S
        delay = 0.005
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise TidepoolError("tidepool exited with %d before answering:\n%s"
                                    % (rc, self.log_text()))
            try:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=2)
                conn.request("GET", "/_tidepool/health")
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status == 200:
                    self.ready_after_s = time.monotonic() - self.started_at
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        raise TidepoolError("tidepool did not answer /_tidepool/health within %.0f s:\n%s"
                            % (self.START_TIMEOUT_S, self.log_text()))

    def _terminate(self, sig):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=self.STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise TidepoolError("tidepool ignored signal %d for %.0f s:\n%s"
                                    % (sig, self.STOP_TIMEOUT_S, self.log_text()))
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        return self.proc.returncode

    def stop(self):
        """SIGTERM and wait; returns the exit code (0 for a clean shutdown)."""
        return self._terminate(signal.SIGTERM)

    def kill9(self):
        """SIGKILL: no chance to flush or close anything."""
        return self._terminate(signal.SIGKILL)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def log_text(self):
        """What the server printed (stdout and stderr) since its last start."""
        if not self._log_path or not os.path.exists(self._log_path):
            return ""
        with open(self._log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        """Stop the server and remove the harness's temp files."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # SDK clients -----------------------------------------------------------

    def _session(self, access_key, secret_key, region):
        import boto3
        return boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                     region_name=region)

    def _config(self, retries, config, validate):
        import botocore.config
        kw = {}
        if retries is not None:
            # botocore's "max_attempts" counts retries; "total_max_attempts"
            # counts every attempt, which is what retries=N means here.
            kw["retries"] = ({"total_max_attempts": max(1, retries), "mode": "standard"}
                             if isinstance(retries, int) else retries)
        if validate is not None:
            kw["parameter_validation"] = validate
        c = botocore.config.Config(**kw)
        return c.merge(config) if config is not None else c

    def client(self, service="dynamodb", access_key="AKIDTIDEPOOL", secret_key="secret",
               region="us-east-1", retries=None, config=None, validate=None, **kwargs):
        """A boto3 client for this server. retries=N allows N attempts in
        all, so retries=1 (or 0) makes one attempt only (error-path tests); validate=False turns off botocore's client-side
        parameter checks so bad input reaches the server (boto3 versions
        differ in what they check); config= a botocore Config merged on top."""
        return self._session(access_key, secret_key, region).client(
            service, endpoint_url=self.endpoint, config=self._config(retries, config, validate), **kwargs)

    def resource(self, service="dynamodb", access_key="AKIDTIDEPOOL", secret_key="secret",
                 region="us-east-1", retries=None, config=None, validate=None, **kwargs):
        return self._session(access_key, secret_key, region).resource(
            service, endpoint_url=self.endpoint, config=self._config(retries, config, validate), **kwargs)

    # control endpoints -----------------------------------------------------

    def control(self, method, path, body=None):
        """(status, parsed JSON or text) for a /_tidepool/ endpoint.
        path may be "health" or "/_tidepool/health"."""
        if not path.startswith("/"):
            path = "/_tidepool/" + path
        data = None
        headers = {}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.endpoint + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        text = raw.decode("utf-8", "replace")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def _control_ok(self, method, path, body=None):
        status, out = self.control(method, path, body)
        if status != 200:
            raise TidepoolError("%s %s -> %d %r" % (method, path, status, out))
        return out

    def health(self):
        return self._control_ok("GET", "health")

    def now_ms(self):
        return self._control_ok("GET", "clock")["now_ms"]

    def advance(self, ms):
        """Move the virtual clock by ms; returns the clock JSON."""
        return self._control_ok("POST", "clock", {"advance_ms": ms})

    def reset(self):
        return self._control_ok("POST", "reset")

    # wire level --------------------------------------------------------------

    def raw(self, method, path="/", body=b"", headers=None):
        """(status, headers with lowercased names, body bytes) via http.client.
        Repeated headers are joined with ", "."""
        if isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {}
            for k, v in resp.getheaders():
                k = k.lower()
                hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
            return resp.status, hdrs, data
        finally:
            conn.close()

    def ddb_raw(self, operation, payload, access_key="AKIDTIDEPOOL", region="us-east-1",
                target_prefix="DynamoDB_20120810", headers=None):
        """A DynamoDB JSON call with a plausible unsigned-but-scoped header
        set: (status, headers, parsed JSON or raw bytes)."""
        h = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "%s.%s" % (target_prefix, operation),
            "Authorization": ("AWS4-HMAC-SHA256 Credential=%s/20240101/%s/dynamodb/aws4_request, "
                              "SignedHeaders=host, Signature=00" % (access_key, region)),
            # AWS (and tidepool) refuse a SigV4 header without a date.
            "X-Amz-Date": "20240101T000000Z",
        }
        h.update(headers or {})
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        status, hdrs, data = self.raw("POST", "/", body, h)
        try:
            return status, hdrs, json.loads(data)
        except ValueError:
            return status, hdrs, data

    # AWS CLI -----------------------------------------------------------------

    def aws(self, *args, cli="v2", access_key="AKIDTIDEPOOL", secret_key="secret",
            region="us-east-1", expect_rc=None, env=None, input=None, timeout=120):
        """Run the AWS CLI against this server: (rc, parsed stdout JSON or
        None, stderr text). Raises unittest.SkipTest when that CLI is not
        installed. expect_rc: assert the exit code (0 for success)."""
        path = find_cli(cli)
        if path is None:
            raise unittest.SkipTest("AWS CLI %s is not installed" % cli)
        if self._cli_files is None:
            cfg = os.path.join(self._tmp, "aws-config")
            creds = os.path.join(self._tmp, "aws-credentials")
            for p in (cfg, creds):
                open(p, "w").close()
            self._cli_files = (cfg, creds)
        e = _clean_env()
        e.update({
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_CONFIG_FILE": self._cli_files[0],
            "AWS_SHARED_CREDENTIALS_FILE": self._cli_files[1],
        })
        e.update(env or {})
        cmd = [path] + [str(a) for a in args] + ["--endpoint-url", self.endpoint, "--output", "json"]
        p = subprocess.run(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           input=input.encode() if isinstance(input, str) else input,
                           stdin=None if input is not None else subprocess.DEVNULL,
                           timeout=timeout, cwd=self._tmp)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        self.last_cli_stdout = out
        parsed = None
        if out.strip():
            try:
                parsed = json.loads(out)
            except ValueError:
                parsed = None
        if expect_rc is not None and p.returncode != expect_rc:
            raise AssertionError("%s exited %d, expected %d\nstdout: %s\nstderr: %s"
                                 % (" ".join(cmd), p.returncode, expect_rc, out, err))
        return p.returncode, parsed, err


# --- TestCase --------------------------------------------------------------------

class TidepoolTestCase(unittest.TestCase):
    """One tidepool per test class, reset before every test.

        class TestX(TidepoolTestCase):
            tidepool_kwargs = {"clock": "real"}
            def test_y(self):
                ddb = self.client()
    """

    tidepool_args = ()
    tidepool_kwargs = {}
    tidepool = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tp = Tidepool(*cls.tidepool_args, **cls.tidepool_kwargs)
        # A class cleanup runs even when setUpClass fails after this point.
        cls.addClassCleanup(tp.close)
        tp.start()
        cls.tidepool = tp

    @classmethod
    def tearDownClass(cls):
        tp, cls.tidepool = cls.tidepool, None
        if tp is not None:
            was_running = tp.running
            rc = tp.stop()
            log = tp.log_text()
            tp.close()
            # A crash or a sanitizer report at shutdown fails the class.
            if was_running and rc != 0:
                raise AssertionError("tidepool exited %s on SIGTERM:\n%s" % (rc, log[-4000:]))
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        if not self.tidepool.running:
            # A test that stopped or killed the server leaves it for the next.
            self.tidepool.start()
        self.tidepool.reset()

    # shortcuts
    @property
    def endpoint(self):
        return self.tidepool.endpoint

    def client(self, *args, **kwargs):
        return self.tidepool.client(*args, **kwargs)

    def resource(self, *args, **kwargs):
        return self.tidepool.resource(*args, **kwargs)

    def aws(self, *args, **kwargs):
        return self.tidepool.aws(*args, **kwargs)

    def assertAwsError(self, fn, code, message=None, status=400):
        """fn() must raise botocore's ClientError with this Error.Code, this
        exact Error.Message (unless None) and this HTTP status. Returns the
        exception for further checks."""
        from botocore.exceptions import ClientError
        try:
            result = fn()
        except ClientError as e:
            resp = e.response
            err = resp.get("Error", {})
            self.assertEqual(err.get("Code"), code, "error code; full response: %r" % (resp,))
            if message is not None:
                self.assertEqual(err.get("Message"), message, "error message; full response: %r" % (resp,))
            self.assertEqual(resp.get("ResponseMetadata", {}).get("HTTPStatusCode"), status,
                             "HTTP status; full response: %r" % (resp,))
            return e
        self.fail("expected %s, but the call succeeded with %r" % (code, result))
