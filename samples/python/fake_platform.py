"""A stand-in for POST /api/logs/batch on 127.0.0.1:0, for the tests."""
import gzip
import http.server
import json
import threading
import time


class FakePlatform(object):
    """respond(request, n) returns (status, body_dict_or_None, headers) or "drop".

    request: dict(headers, body, raw, at); n: 0-based request number.
    """

    def __init__(self, respond=None):
        self.respond = respond or (lambda req, n: (201, None, {}))
        self.requests = []
        self._cond = threading.Condition()
        platform = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                req = {"headers": {k.lower(): v for k, v in self.headers.items()}, "raw": raw,
                       "body": json.loads(raw), "at": time.monotonic(), "status": 0, "path": self.path}
                with platform._cond:
                    n = len(platform.requests)
                answer = platform.respond(req, n)
                if answer == "drop":
                    req["status"] = -1
                    platform._record(req)
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, body, headers = answer
                req["status"] = status
                if body is None:
                    count = len(req["body"]["logs"])
                    body = {"count": count, "message": "Successfully ingested %d logs" % count,
                            "rejected": [], "truncated": 0}
                data = json.dumps(body).encode()
                platform._record(req)  # before answering: a client that got the answer finds it
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/api/logs" % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def _record(self, req):
        with self._cond:
            self.requests.append(req)
            self._cond.notify_all()

    def accepted(self):
        with self._cond:
            return [r for r in self.requests if 200 <= r["status"] < 300]

    def entries(self):
        return [e for r in self.accepted() for e in r["body"]["logs"]]

    def wait_for(self, pred, timeout=5.0):
        """Waits until pred() holds (re-checked on every request); fails after timeout."""
        end = time.monotonic() + timeout
        with self._cond:
            while not pred():
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out; %d requests seen" % len(self.requests))
                self._cond.wait(left)

    def close(self):
        self._server.shutdown()
        self._server.server_close()
