"""Unit tests: /usr/bin/python3 -m unittest discover (from samples/flask)."""
import os
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # logger.py: this folder's copy, as the app uses
sys.path.append(os.path.join(HERE, "..", "python"))  # fake_platform.py (tests only)

from flask import Flask, abort, jsonify, redirect  # noqa: E402

from devsmith_flask import DevSmithFlask  # noqa: E402
from fake_platform import FakePlatform  # noqa: E402
from logger import DevSmithLogger  # noqa: E402


class CaptureLogger(object):
    def __init__(self):
        self.entries = []

    def log(self, level, message, /, **context):
        self.entries.append({"level": level, "message": message, "context": context})


def make_app(logger, **options):
    app = Flask(__name__)
    app.logger.disabled = True  # Flask's own traceback on stderr is noise here
    DevSmithFlask(app, logger=logger, **options)

    @app.get("/")
    def index():
        return "ok"

    @app.get("/users/<int:user_id>")
    def user(user_id):
        return jsonify(id=user_id)

    @app.post("/login")
    def login():
        return "", 204

    @app.get("/redirect")
    def go():
        return redirect("/")

    @app.get("/fail")
    def fail():
        return "unavailable", 503

    @app.get("/bad")
    def bad():
        abort(422)

    @app.get("/error")
    def error():
        raise KeyError("boom")

    @app.get("/health")
    def health():
        return "healthy"

    @app.get("/static-files/app.css")
    def css():
        return "css"

    return app


class ExtensionTest(unittest.TestCase):
    def test_one_entry_per_request_with_request_fields(self):
        log = CaptureLogger()
        client = make_app(log).test_client()
        res = client.get("/users/42?sort=asc", headers={"User-Agent": "test-agent"})
        self.assertEqual(res.status_code, 200)
        self.assertEqual(len(log.entries), 1)
        e = log.entries[0]
        self.assertEqual(e["level"], "INFO")
        self.assertEqual(e["message"], "GET /users/42 200")
        c = e["context"]
        self.assertEqual((c["method"], c["path"], c["status"], c["route"]), ("GET", "/users/42", 200, "/users/<int:user_id>"))
        self.assertIsInstance(c["duration_ms"], float)
        self.assertGreaterEqual(c["duration_ms"], 0)
        self.assertEqual(c["ip"], "127.0.0.1")
        self.assertEqual(c["user_agent"], "test-agent")
        self.assertEqual(c["query"], {"sort": "asc"})

    def test_level_by_status(self):
        log = CaptureLogger()
        client = make_app(log).test_client()
        for path, status, level in [("/fail", 503, "ERROR"), ("/bad", 422, "WARN"), ("/nowhere", 404, "WARN"),
                                    ("/redirect", 302, "INFO"), ("/", 200, "INFO")]:
            before = len(log.entries)
            self.assertEqual(client.get(path).status_code, status)
            self.assertEqual(len(log.entries), before + 1)
            self.assertEqual(log.entries[-1]["context"]["status"], status, path)
            self.assertEqual(log.entries[-1]["level"], level, path)

    def test_skip_paths(self):
        log = CaptureLogger()
        client = make_app(log).test_client()
        client.get("/health")
        client.get("/")
        self.assertEqual([e["context"]["path"] for e in log.entries], ["/"])
        log2 = CaptureLogger()
        client2 = make_app(log2, skip_paths=["/", "/static-files/*"]).test_client()
        client2.get("/static-files/app.css")
        client2.get("/")
        client2.get("/health")
        self.assertEqual([e["context"]["path"] for e in log2.entries], ["/health"])

    def test_redaction(self):
        log = CaptureLogger()
        app = make_app(log, log_headers=True, log_body=True)
        client = app.test_client(use_cookies=False)
        res = client.post("/login?password=hunter2&user=bob",
                          headers={"Authorization": "Bearer secret-token", "Cookie": "sid=secret-cookie", "X-Trace": "keep"},
                          json={"user": "bob", "password": "hunter2", "nested": {"Password": "hunter3"}})
        self.assertEqual(res.status_code, 204)
        c = log.entries[0]["context"]
        self.assertEqual(c["headers"]["authorization"], "[REDACTED]")
        self.assertEqual(c["headers"]["cookie"], "[REDACTED]")
        self.assertEqual(c["headers"]["x-trace"], "keep")
        self.assertEqual(c["query"], {"password": "[REDACTED]", "user": "bob"})
        self.assertEqual(c["body"], {"user": "bob", "password": "[REDACTED]", "nested": {"Password": "[REDACTED]"}})
        text = repr(log.entries)
        for secret in ("secret-token", "secret-cookie", "hunter2", "hunter3"):
            self.assertNotIn(secret, text)
        log2 = CaptureLogger()
        make_app(log2, log_headers=True, redact=["x-trace"]).test_client().get("/", headers={"X-Trace": "hide-me"})
        self.assertEqual(log2.entries[0]["context"]["headers"]["x-trace"], "[REDACTED]")

    def test_unhandled_exception_logged_with_stack_then_500(self):
        log = CaptureLogger()
        app = make_app(log)
        client = app.test_client()
        res = client.get("/error", headers={"Authorization": "Bearer secret-token"})
        self.assertEqual(res.status_code, 500)
        self.assertEqual(len(log.entries), 1)
        e = log.entries[0]
        self.assertEqual(e["level"], "ERROR")
        self.assertEqual(e["context"]["status"], 500)
        self.assertEqual(e["context"]["error_type"], "KeyError")
        self.assertIn("Traceback (most recent call last)", e["context"]["stack"])
        self.assertIn("raise KeyError", e["context"]["stack"])
        self.assertEqual(e["context"]["headers"]["authorization"], "[REDACTED]")
        self.assertEqual(e["message"], "GET /error 500: KeyError: 'boom'")

    def test_a_broken_logger_never_breaks_a_request(self):
        class Broken(object):
            def log(self, *a, **k):
                raise RuntimeError("logger broke")

        app = make_app(Broken())
        res = app.test_client().get("/users/1")
        self.assertEqual(res.status_code, 200)
        self.assertEqual(res.get_json(), {"id": 1})

    def test_through_the_real_logger(self):
        p = FakePlatform()
        self.addCleanup(p.close)
        log = DevSmithLogger(api_key="dsk_x", api_url=p.url, service_name="web", flush_interval=3600, flush_at_exit=False)
        client = make_app(log).test_client()
        client.get("/")
        client.get("/error")
        client.get("/health")
        self.assertTrue(log.close())
        got = [(e["level"], e["context"]["path"], e["context"]["status"]) for e in p.entries()]
        self.assertEqual(got, [("INFO", "/", 200), ("ERROR", "/error", 500)])


class ExampleAppTest(unittest.TestCase):
    def test_app_serves_and_flushes_on_sigterm(self):
        p = FakePlatform()
        self.addCleanup(p.close)
        env = dict(os.environ, PORT="0", DEVSMITH_API_KEY="dsk_app", DEVSMITH_URL=p.url, DEVSMITH_SERVICE="flask-test")
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "app.py")], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(proc.kill)
        line = read_line_with_timeout(proc.stdout, 15)
        self.assertIn("listening on http://", line)
        base = line.split("listening on ")[1].strip()
        self.assertEqual(urllib.request.urlopen(base + "/").status, 200)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(base + "/error")
        self.assertEqual(cm.exception.code, 500)
        self.assertEqual(urllib.request.urlopen(base + "/health").status, 200)
        proc.terminate()
        self.assertEqual(proc.wait(timeout=15), 0)
        got = [e for e in p.entries() if "path" in e.get("context", {})]
        self.assertEqual([(e["level"], e["context"]["path"]) for e in got], [("INFO", "/"), ("ERROR", "/error")])
        self.assertIn("boom", got[1]["context"]["stack"])
        self.assertEqual(p.requests[0]["body"]["service_name"], "flask-test")


def read_line_with_timeout(stream, timeout):
    out = []
    t = threading.Thread(target=lambda: out.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    if not out:
        raise AssertionError("no output within %ss" % timeout)
    return out[0]


if __name__ == "__main__":
    unittest.main()
