"""test_compose — compose.yaml and the Dockerfile say what they must.

Docker is not run here (CI has none); instead the files are read the way
compose and the Docker builder would read them: the service, its port
mapping and healthcheck, and the image's start command, stages and
packages.
"""
import json
import os
import re
import shlex
import unittest

from tidepool import source_dir

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the interpreter
    yaml = None

ROOT = source_dir()
PORT = 4566

# pkg-config module (CMakeLists.txt) -> Debian -dev package (build stage)
DEV_PACKAGES = {
    "libmicrohttpd": "libmicrohttpd-dev",
    "sqlite3": "libsqlite3-dev",
    "libcjson": "libcjson-dev",
    "uuid": "uuid-dev",
    "libcrypto": "libssl-dev",
    "zlib": "zlib1g-dev",
    "libcbor": "libcbor-dev",
}
# ... and the runtime library package (final stage)
RUNTIME_PACKAGES = {
    "libmicrohttpd": "libmicrohttpd12",
    "sqlite3": "libsqlite3-0",
    "libcjson": "libcjson1",
    "uuid": "libuuid1",
    "libcrypto": "libssl3",
    "zlib": "zlib1g",
    "libcbor": "libcbor0.8",   # bookworm's soname package
}


def dockerfile_instructions(text):
    """[(INSTRUCTION, args text)] with continuation lines joined and
    comments dropped, as the builder reads them."""
    out, cur = [], ""
    for line in text.splitlines():
        s = line.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue  # comment inside a continued instruction
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        word, _, rest = cur.partition(" ")
        out.append((word.upper(), rest.strip()))
        cur = ""
    if cur:
        word, _, rest = cur.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def stages(instructions):
    """[{"from": image, "name": alias or None, "body": [(INSTR, args)]}]"""
    result = []
    for instr, args in instructions:
        if instr == "FROM":
            parts = args.split()
            parts = [p for p in parts if not p.startswith("--platform")]
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            result.append({"from": parts[0], "name": name, "body": []})
        elif result:
            result[-1]["body"].append((instr, args))
    return result


def exec_form(args):
    """An ENTRYPOINT/CMD argument list: JSON (exec) form, or shell form as
    ["/bin/sh", "-c", text]."""
    args = args.strip()
    if args.startswith("["):
        value = json.loads(args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
        return value
    return ["/bin/sh", "-c", args]


def apt_packages(body):
    pkgs = set()
    for instr, args in body:
        if instr != "RUN":
            continue
        for m in re.finditer(r"apt-get\s+install\s+([^&;|]*)", args):
            pkgs.update(w for w in m.group(1).split() if not w.startswith("-"))
    return pkgs


def required_pkg_modules():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        cmake = f.read()
    mods = []
    for m in re.finditer(r"pkg_check_modules\s*\(([^)]*)\)", cmake):
        words = m.group(1).split()
        if "REQUIRED" not in words:
            continue
        mods += [w for w in words[1:] if w not in ("REQUIRED", "IMPORTED_TARGET", "QUIET", "GLOBAL")]
    return mods


@unittest.skipIf(yaml is None, "PyYAML is not importable")
class TestCompose(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if yaml is None:
            raise unittest.SkipTest("PyYAML is not importable")
        with open(os.path.join(ROOT, "compose.yaml")) as f:
            cls.compose = yaml.safe_load(f)
        cls.service = (cls.compose.get("services") or {}).get("tidepool")

    def test_service_exists_and_builds_here(self):
        self.assertIsInstance(self.service, dict, "services.tidepool is missing")
        build = self.service.get("build")
        context = build.get("context") if isinstance(build, dict) else build
        self.assertIn(context, (".", "./"), "build context must be the repository root")
        if isinstance(build, dict) and "dockerfile" in build:
            self.assertEqual(build["dockerfile"], "Dockerfile")

    def test_port_mapping(self):
        ports = self.service.get("ports") or []
        mapped = set()
        for p in ports:
            if isinstance(p, dict):  # long syntax
                mapped.add((str(p.get("published")), str(p.get("target"))))
            else:
                s = str(p).split("/")[0]
                parts = s.split(":")
                if len(parts) >= 2:
                    mapped.add((parts[-2], parts[-1]))
        self.assertIn((str(PORT), str(PORT)), mapped, "ports: %r" % (ports,))

    def test_healthcheck_hits_health_endpoint(self):
        hc = self.service.get("healthcheck")
        self.assertIsInstance(hc, dict, "healthcheck is missing")
        self.assertFalse(hc.get("disable", False))
        test = hc.get("test")
        if isinstance(test, str):
            test = ["CMD-SHELL", test]
        self.assertIsInstance(test, list)
        self.assertIn(test[0], ("CMD", "CMD-SHELL"))
        cmd = " ".join(test[1:])
        self.assertIn("curl", cmd)
        self.assertIn("-f", " ".join(w for w in shlex.split(cmd) if w.startswith("-")),
                      "curl needs -f so an HTTP error fails the check")
        self.assertRegex(cmd, r"http://(127\.0\.0\.1|localhost):%d/_tidepool/health\b" % PORT)

    def test_no_volume_by_default(self):
        # State is in memory unless the user opts in (the example is commented).
        self.assertNotIn("volumes", self.service)


class TestDockerfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ROOT, "Dockerfile")) as f:
            cls.instructions = dockerfile_instructions(f.read())
        cls.stages = stages(cls.instructions)
        cls.final = cls.stages[-1] if cls.stages else None

    def test_multi_stage_bookworm_slim(self):
        self.assertGreaterEqual(len(self.stages), 2, "build and runtime stages")
        for st in self.stages:
            self.assertEqual(st["from"], "debian:bookworm-slim")

    def last(self, instr):
        found = [a for i, a in self.final["body"] if i == instr]
        return found[-1] if found else None

    def start_command(self):
        ep = self.last("ENTRYPOINT")
        cmd = self.last("CMD")
        argv = exec_form(ep) if ep else []
        # A CMD is appended to an exec-form ENTRYPOINT (and ignored by a
        # shell-form one).
        if cmd is not None and (not ep or ep.strip().startswith("[")):
            argv += exec_form(cmd)
        if argv[:2] == ["/bin/sh", "-c"]:
            argv = shlex.split(argv[2])
        return argv

    def test_starts_tidepool_serve_on_4566(self):
        argv = self.start_command()
        self.assertGreaterEqual(len(argv), 2, argv)
        self.assertEqual(os.path.basename(argv[0]), "tidepool", argv)
        self.assertEqual(argv[1], "serve", argv)
        opts = {}
        rest = argv[2:]
        for i, a in enumerate(rest):
            if a.startswith("--") and "=" in a:
                k, v = a.split("=", 1)
                opts[k] = v
            elif a.startswith("--") and i + 1 < len(rest):
                opts[a] = rest[i + 1]
        self.assertEqual(opts.get("--port"), str(PORT), argv)
        # Inside a container the server must listen beyond loopback.
        self.assertEqual(opts.get("--host"), "0.0.0.0", argv)

    def test_binary_is_where_the_command_finds_it(self):
        argv = self.start_command()
        copies = [a.split() for i, a in self.final["body"] if i == "COPY" and "--from=" in a]
        dests = [c[-1] for c in copies]
        if argv[0].startswith("/"):
            self.assertIn(argv[0], dests)
        else:
            self.assertTrue(any(d in ("/usr/local/bin/tidepool", "/usr/bin/tidepool") for d in dests), dests)
        # ... copied from the build stage, which builds it.
        build_names = {st["name"] for st in self.stages[:-1]}
        for c in copies:
            frm = [w for w in c if w.startswith("--from=")][0].split("=", 1)[1]
            self.assertIn(frm, build_names)

    def test_exposes_4566(self):
        exposed = " ".join(a for i, a in self.final["body"] if i == "EXPOSE").split()
        self.assertIn(str(PORT), [e.split("/")[0] for e in exposed])

    def test_build_stage_has_every_required_dev_package(self):
        mods = required_pkg_modules()
        self.assertTrue(mods, "no required pkg-config modules found in CMakeLists.txt")
        pkgs = set()
        for st in self.stages[:-1]:
            pkgs |= apt_packages(st["body"])
        for m in mods:
            self.assertIn(m, DEV_PACKAGES, "map pkg-config module %s to its Debian package here" % m)
            self.assertIn(DEV_PACKAGES[m], pkgs, "build stage lacks %s" % DEV_PACKAGES[m])
        self.assertIn("cmake", pkgs)

    def test_runtime_stage_has_libraries_not_dev_packages(self):
        pkgs = apt_packages(self.final["body"])
        for m in required_pkg_modules():
            self.assertIn(m, RUNTIME_PACKAGES, "map pkg-config module %s to its runtime package here" % m)
            self.assertIn(RUNTIME_PACKAGES[m], pkgs, "runtime stage lacks %s" % RUNTIME_PACKAGES[m])
        self.assertIn("curl", pkgs, "the healthcheck needs curl")
        self.assertEqual([p for p in pkgs if p.endswith("-dev") or p in ("build-essential", "cmake")], [])

    def test_healthcheck_matches_compose(self):
        hc = self.last("HEALTHCHECK")
        self.assertIsNotNone(hc)
        self.assertRegex(hc, r"http://(127\.0\.0\.1|localhost):%d/_tidepool/health\b" % PORT)


if __name__ == "__main__":
    unittest.main()
