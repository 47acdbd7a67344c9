"""Unit tests: /usr/bin/python3 -m unittest discover (from samples/python)."""
import contextlib
import io
import json
import logging
import math
import os
import re
import subprocess
import sys
import threading
import time
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_platform import FakePlatform  # noqa: E402
from logger import DevSmithHandler, DevSmithLogger, parse_duration  # noqa: E402

KEY = "dsk_test_secret_key_0123456789abcdef"
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
HERE = os.path.dirname(os.path.abspath(__file__))


class LoggerTest(unittest.TestCase):
    def platform(self, respond=None):
        p = FakePlatform(respond)
        self.addCleanup(p.close)
        return p

    def logger(self, platform, **opts):
        options = dict(api_key=KEY, api_url=platform.url, service_name="svc", project_slug="proj",
                       batch_size=100, flush_interval=3600, retry_base_delay=0.005, close_timeout=5,
                       flush_at_exit=False)
        options.update(opts)
        log = DevSmithLogger(**options)
        self.addCleanup(log.close, 0.5)
        return log

    def test_batches_by_size_and_shape(self):
        p = self.platform()
        log = self.logger(p, batch_size=5)
        for i in range(12):
            log.info("m%d" % i, i=i)
        p.wait_for(lambda: len(p.accepted()) == 2)
        self.assertEqual(log.stats()["buffered"], 2)
        self.assertTrue(log.flush())
        self.assertEqual([len(r["body"]["logs"]) for r in p.requests], [5, 5, 2])
        r = p.requests[0]
        self.assertEqual(r["path"], "/api/logs/batch")
        self.assertEqual(r["headers"]["authorization"], "Bearer " + KEY)
        self.assertEqual(r["headers"]["content-type"], "application/json")
        self.assertEqual(r["body"]["service_name"], "svc")
        self.assertEqual(r["body"]["project_slug"], "proj")
        self.assertEqual(len({x["body"]["batch_id"] for x in p.requests}), 3)
        self.assertEqual([e["context"]["i"] for e in p.entries()], list(range(12)))
        for e in p.entries():
            self.assertRegex(e["timestamp"], TS)
            self.assertEqual(e["level"], "INFO")

    def test_batches_by_interval(self):
        p = self.platform()
        log = self.logger(p, flush_interval="50ms")
        start = time.monotonic()
        log.debug("a")
        log.warn("b")
        log.error("c", k="v")
        p.wait_for(lambda: len(p.accepted()) == 1, timeout=3)
        self.assertGreaterEqual(time.monotonic() - start, 0.04)
        self.assertEqual([(e["level"], e["message"]) for e in p.entries()],
                         [("DEBUG", "a"), ("WARN", "b"), ("ERROR", "c")])
        self.assertEqual(p.entries()[2]["context"], {"k": "v"})

    def test_batches_capped_by_bytes(self):
        p = self.platform()
        log = self.logger(p, max_batch_bytes=2000)
        for i in range(10):
            log.info("x" * 400, i=i)
        self.assertTrue(log.flush())
        self.assertGreaterEqual(len(p.requests), 3)
        for r in p.requests:
            self.assertLessEqual(len(r["raw"]), 2000)
        self.assertEqual([e["context"]["i"] for e in p.entries()], list(range(10)))

    def test_retries_with_backoff_reusing_batch_id(self):
        p = self.platform(lambda req, n: (503, {"error": "busy", "code": "UNAVAILABLE"}, {}) if n < 2 else (201, None, {}))
        log = self.logger(p, retry_base_delay=0.04)
        log.info("once")
        self.assertTrue(log.flush())
        self.assertEqual(len(p.requests), 3)
        self.assertEqual(len({r["body"]["batch_id"] for r in p.requests}), 1)
        gap1 = p.requests[1]["at"] - p.requests[0]["at"]
        gap2 = p.requests[2]["at"] - p.requests[1]["at"]
        self.assertGreaterEqual(gap1, 0.019)
        self.assertGreaterEqual(gap2, 0.039)
        self.assertEqual(len(p.entries()), 1)

    def test_honours_retry_after(self):
        p = self.platform(lambda req, n: (429, {"error": "rate limited"}, {"Retry-After": "1"}) if n == 0 else (201, None, {}))
        log = self.logger(p, retry_base_delay=0.001)
        log.info("x")
        self.assertTrue(log.flush())
        self.assertEqual(len(p.requests), 2)
        self.assertGreaterEqual(p.requests[1]["at"] - p.requests[0]["at"], 0.95)
        self.assertEqual(p.requests[0]["body"]["batch_id"], p.requests[1]["body"]["batch_id"])

    def test_no_retry_on_400_and_401_reported_once(self):
        for status in (400, 401):
            with self.subTest(status=status):
                p = self.platform(lambda req, n, s=status: (s, {"error": "server says no (%d)" % s, "code": "X"}, {}))
                log = self.logger(p, batch_size=1)
                err = io.StringIO()
                with contextlib.redirect_stderr(err):
                    log.info("a")
                    log.info("b")
                    self.assertFalse(log.flush())
                self.assertEqual(len(p.requests), 2, "one request per batch, no retries")
                self.assertEqual(err.getvalue().count("server says no (%d)" % status), 1, err.getvalue())
                self.assertNotIn(KEY, err.getvalue())
                self.assertEqual(log.stats()["discarded"], 2)

    def test_failed_batch_goes_back_whole_with_its_batch_id(self):
        up = threading.Event()
        p = self.platform(lambda req, n: (201, None, {}) if up.is_set() else (500, {"error": "down"}, {}))
        log = self.logger(p, max_retries=2)
        for i in range(3):
            log.info("m%d" % i)
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertFalse(log.flush())
        self.assertEqual(len(p.requests), 3)
        self.assertEqual(log.stats()["buffered"], 3)
        up.set()
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertTrue(log.flush())
        self.assertEqual(len({r["body"]["batch_id"] for r in p.requests}), 1)
        self.assertEqual([e["message"] for e in p.entries()], ["m0", "m1", "m2"])

    def test_413_splits_the_batch(self):
        p = self.platform(lambda req, n: (413, {"error": "too large"}, {}) if len(req["body"]["logs"]) > 3 else (201, None, {}))
        log = self.logger(p)
        for i in range(10):
            log.info("m%d" % i, i=i)
        self.assertTrue(log.flush())
        self.assertEqual([e["context"]["i"] for e in p.entries()], list(range(10)))
        ids = [r["body"]["batch_id"] for r in p.accepted()]
        self.assertEqual(len(set(ids)), len(ids))
        self.assertNotIn(p.requests[0]["body"]["batch_id"], ids)

    def test_bounded_buffer_drops_oldest_when_unreachable(self):
        up = threading.Event()
        p = self.platform(lambda req, n: (201, None, {}) if up.is_set() else "drop")
        log = self.logger(p, batch_size=5, max_buffer_size=10, max_retries=1)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            for i in range(25):
                log.info("m%d" % i, i=i)
            # Whatever the worker had in flight has failed and come back: at most 10 kept.
            p.wait_for(lambda: len(p.requests) >= 2)
            wait_until(lambda: log.stats()["failed_attempts"] >= 2 and log.stats()["buffered"] == 10)
            self.assertEqual(log.stats()["dropped"], 15)
            up.set()
            self.assertTrue(log.flush())
        got = p.entries()
        self.assertEqual([e["context"]["i"] for e in got if "i" in e.get("context", {})], list(range(15, 25)))
        report = [e for e in got if "_devsmith_dropped" in e.get("context", {})]
        self.assertEqual(report[0]["context"]["_devsmith_dropped"], 15)
        self.assertEqual(report[0]["level"], "WARN")
        self.assertIn("dropping the oldest", err.getvalue())
        self.assertIn("dropped 15 log entries", err.getvalue())

    def test_concurrent_logging(self):
        p = self.platform()
        log = self.logger(p, batch_size=7)
        start = threading.Barrier(8)

        def produce(w):
            start.wait()
            for i in range(250):
                log.info("w%d i%d" % (w, i), w=w, i=i)

        threads = [threading.Thread(target=produce, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertTrue(log.close())
        got = p.entries()
        self.assertEqual(len(got), 2000)
        self.assertEqual(len({e["message"] for e in got}), 2000)
        for w in range(8):
            self.assertEqual([e["context"]["i"] for e in got if e["context"]["w"] == w], list(range(250)))

    def test_close_flushes_and_ignores_later_logs(self):
        p = self.platform()
        log = self.logger(p)
        log.info("one")
        log.info("two")
        log.info("three")
        self.assertTrue(log.close())
        self.assertEqual([e["message"] for e in p.entries()], ["one", "two", "three"])
        log.info("after close")
        self.assertTrue(log.close())
        self.assertEqual(len(p.requests), 1)

    def test_log_calls_never_raise(self):
        p = self.platform()
        log = self.logger(p)
        circular = {"name": "c"}
        circular["self"] = circular

        class Hostile(object):
            def __str__(self):
                raise RuntimeError("no str")

            __repr__ = __str__

        try:
            raise ValueError("an error")
        except ValueError as exc:
            caught = exc
        log.info("circular", data=circular)
        log.info("nan", value=float("nan"))
        log.info("object", value=object())
        log.info("hostile", value=Hostile())
        log.info("bytes", value=b"\xff\x00")
        log.info(None)
        log.info({"an": "object"})
        log.error(caught)
        log.log("nonsense-level", "x")
        log.info("kwargs named like parameters", message="m", level="l", context="c")
        self.assertTrue(log.flush())
        by_msg = {e["message"]: e for e in p.entries()}
        self.assertEqual(by_msg["circular"]["context"]["data"]["self"], "[Circular]")
        self.assertEqual(by_msg["nan"]["context"]["value"], "nan")
        self.assertIn("object", by_msg["object"]["context"]["value"])
        self.assertIn('{"an": "object"}'.replace(" ", ""), by_msg)
        self.assertIn("ValueError: an error", by_msg["an error"]["context"]["stack"])
        self.assertEqual(by_msg["x"]["level"], "NONSENSE-LEVEL")
        self.assertEqual(by_msg["kwargs named like parameters"]["context"], {"message": "m", "level": "l", "context": "c"})
        self.assertEqual(len(p.entries()), 10)
        for e in p.entries():
            self.assertTrue(e["message"])
        log.close()
        log.info("after close")

    def test_never_prints_api_key(self):
        answers = [(401, {"error": "invalid API key", "code": "UNAUTHENTICATED"}, {}), (500, {"error": "oops"}, {}), "drop"]
        p = self.platform(lambda req, n: answers[n % 3])
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            log = self.logger(p, batch_size=1, max_retries=1)
            log.info("a")
            log.info("b")
            log.flush()
            self.assertNotIn(KEY, repr(log))
            self.assertNotIn(KEY, str(log))
            log.close(timeout=0.2)
        self.assertIn("invalid API key", err.getvalue())
        self.assertNotIn(KEY, err.getvalue())

    def test_gzip(self):
        p = self.platform()
        log = self.logger(p, gzip=True)
        log.info("compressed")
        self.assertTrue(log.close())
        self.assertEqual(p.requests[0]["headers"]["content-encoding"], "gzip")
        self.assertEqual(p.entries()[0]["message"], "compressed")

    def test_environment_configuration(self):
        p = self.platform()
        env = {"DEVSMITH_API_KEY": KEY, "DEVSMITH_URL": p.url + "/", "DEVSMITH_PROJECT": "envproj",
               "DEVSMITH_SERVICE": "envsvc", "DEVSMITH_BATCH_SIZE": "2", "DEVSMITH_FLUSH_INTERVAL": "1h"}
        with mock.patch.dict(os.environ, env):
            log = DevSmithLogger(flush_at_exit=False)
            log.info("a")
            log.info("b")
            p.wait_for(lambda: len(p.accepted()) == 1)
            self.assertTrue(log.close())
            self.assertEqual(p.requests[0]["body"]["service_name"], "envsvc")
            self.assertEqual(p.requests[0]["body"]["project_slug"], "envproj")
            with mock.patch.dict(os.environ, {"DEVSMITH_BATCH_SIZE": "lots"}):
                with self.assertRaisesRegex(ValueError, "DEVSMITH_BATCH_SIZE"):
                    DevSmithLogger(flush_at_exit=False)
            with mock.patch.dict(os.environ, {"DEVSMITH_FLUSH_INTERVAL": "soon"}):
                with self.assertRaisesRegex(ValueError, "DEVSMITH_FLUSH_INTERVAL"):
                    DevSmithLogger(flush_at_exit=False)

    def test_parse_duration(self):
        self.assertEqual(parse_duration("5s"), 5.0)
        self.assertEqual(parse_duration("500ms"), 0.5)
        self.assertEqual(parse_duration("5"), 5.0)
        self.assertEqual(parse_duration("1.5"), 1.5)
        self.assertEqual(parse_duration("2m"), 120.0)
        self.assertEqual(parse_duration("1h"), 3600.0)
        self.assertEqual(parse_duration(0.25), 0.25)
        for bad in ("5 parsecs", "-1s", float("nan")):
            with self.assertRaises(ValueError):
                parse_duration(bad)

    def test_flush_at_exit(self):
        p = self.platform()
        script = ("import sys; sys.path.insert(0, %r)\n"
                  "from logger import DevSmithLogger\n"
                  "log = DevSmithLogger(service_name='child', flush_interval='1h')\n"
                  "log.info('from child 1'); log.info('from child 2')\n") % HERE
        start = time.monotonic()
        res = run_python(script, DEVSMITH_API_KEY=KEY, DEVSMITH_URL=p.url)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertLess(time.monotonic() - start, 5)
        self.assertEqual([e["message"] for e in p.entries()], ["from child 1", "from child 2"])

    def test_unreachable_platform_delays_exit_by_at_most_close_timeout(self):
        script = ("import sys; sys.path.insert(0, %r)\n"
                  "from logger import DevSmithLogger\n"
                  "log = DevSmithLogger(service_name='child', close_timeout=0.3, retry_base_delay=0.02)\n"
                  "log.info('lost')\n") % HERE
        start = time.monotonic()
        res = run_python(script, DEVSMITH_API_KEY=KEY, DEVSMITH_URL="http://127.0.0.1:9/api/logs")
        self.assertEqual(res.returncode, 0)
        self.assertLess(time.monotonic() - start, 3)
        self.assertIn("1 log entries were not delivered before close", res.stderr)
        self.assertNotIn(KEY, res.stderr)


class HandlerTest(unittest.TestCase):
    def test_standard_logging_records(self):
        p = FakePlatform()
        self.addCleanup(p.close)
        handler = DevSmithHandler(api_key=KEY, api_url=p.url, service_name="std", flush_interval=3600,
                                  flush_at_exit=False)
        self.addCleanup(handler.close)
        lg = logging.getLogger("devsmith.test.handler")
        lg.setLevel(logging.DEBUG)
        lg.propagate = False
        lg.addHandler(handler)
        self.addCleanup(lg.removeHandler, handler)
        lg.debug("debug %s", "formatted")
        lg.info("info", extra={"user_id": 7})
        lg.warning("warning")
        lg.error("error")
        lg.critical("critical")
        try:
            1 / 0
        except ZeroDivisionError:
            lg.exception("failed to divide")
        handler.flush()
        got = p.entries()
        self.assertEqual([(e["level"], e["message"]) for e in got], [
            ("DEBUG", "debug formatted"), ("INFO", "info"), ("WARN", "warning"), ("ERROR", "error"),
            ("FATAL", "critical"), ("ERROR", "failed to divide")])
        self.assertEqual(got[1]["context"]["user_id"], 7)
        self.assertEqual(got[1]["context"]["logger"], "devsmith.test.handler")
        self.assertIn("line", got[1]["context"])
        self.assertIn("ZeroDivisionError", got[5]["context"]["exception"])
        self.assertIn("Traceback (most recent call last)", got[5]["context"]["stack"])
        for e in got:
            self.assertRegex(e["timestamp"], TS)

    def test_basic_config_in_a_child_process_ships_at_exit(self):
        p = FakePlatform()
        self.addCleanup(p.close)
        script = ("import sys, logging; sys.path.insert(0, %r)\n"
                  "from logger import DevSmithHandler\n"
                  "logging.basicConfig(level=logging.INFO, handlers=[DevSmithHandler()])\n"
                  "logging.getLogger('app').warning('disk %%d%%%% full', 91)\n") % HERE
        res = run_python(script, DEVSMITH_API_KEY=KEY, DEVSMITH_URL=p.url, DEVSMITH_SERVICE="basic")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual([(e["level"], e["message"]) for e in p.entries()], [("WARN", "disk 91% full")])
        self.assertEqual(p.requests[0]["body"]["service_name"], "basic")


class DriverTest(unittest.TestCase):
    def test_driver_logs_count_entries_and_exits_0_or_1_when_refused(self):
        p = FakePlatform()
        self.addCleanup(p.close)
        driver = os.path.join(HERE, "examples", "driver.py")
        env = dict(os.environ, DEVSMITH_API_KEY=KEY, DEVSMITH_URL=p.url, DEVSMITH_SERVICE="driver-py",
                   DRIVER_COUNT="6", DRIVER_RUN_ID="r42")
        res = subprocess.run([sys.executable, driver], env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stderr)
        got = p.entries()
        self.assertEqual([e["level"] for e in got], ["DEBUG", "INFO", "WARN", "ERROR", "DEBUG", "INFO"])
        for i, e in enumerate(got):
            self.assertEqual(e["message"], "driver python r42 %d" % i)
            self.assertEqual(e["context"], {"run_id": "r42", "i": i, "lang": "python"})
        self.assertEqual(p.requests[0]["body"]["service_name"], "driver-py")

        refusing = FakePlatform(lambda req, n: (401, {"error": "invalid API key", "code": "UNAUTHENTICATED"}, {}))
        self.addCleanup(refusing.close)
        env["DEVSMITH_URL"] = refusing.url
        bad = subprocess.run([sys.executable, driver], env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("invalid API key", bad.stderr)


def run_python(script, **env):
    full = dict(os.environ)
    full.update(env)
    return subprocess.run([sys.executable, "-c", script], env=full, capture_output=True, text=True, timeout=20)


def wait_until(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


if __name__ == "__main__":
    unittest.main()
