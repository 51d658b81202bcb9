#!/usr/bin/env python3
"""run_unittest.py MODULE [MODULE...] — run integration test modules with
plain unittest under this interpreter (the image's python3 and its boto3,
beside the pytest run under Debian's python3).

Exit codes: 0 all passed, 1 a test failed or errored, 2 usage, 77 boto3 is
not importable here or every test skipped (ctest's SKIP_RETURN_CODE).
Closes with the plain line "N passed, N failed, N skipped".
"""
import os
import sys
import unittest

SKIP = 77


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: run_unittest.py MODULE [MODULE...]\n")
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    try:
        import boto3  # noqa: F401
    except ImportError as e:
        print("boto3 is not importable by %s (%s): skipping" % (sys.executable, e))
        return SKIP
    names = [m[:-3] if m.endswith(".py") else m for m in argv[1:]]
    names = [os.path.basename(m) for m in names]
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    # A failing setUpClass shows up as one error with no test run; count it
    # as a failure but not against the tests that ran.
    def ran(pairs):
        return sum(1 for t, _ in pairs if isinstance(t, unittest.TestCase))
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = max(0, result.testsRun - ran(result.failures) - ran(result.errors)
                 - len(result.unexpectedSuccesses) - ran(result.skipped))
    sys.stdout.flush()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed:
        return 1
    if passed == 0:
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
