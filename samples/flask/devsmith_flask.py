"""DevSmith Logs extension for Flask 2+. Copy it next to logger.py.

    from logger import DevSmithLogger
    from devsmith_flask import DevSmithFlask

    devsmith = DevSmithFlask(logger=DevSmithLogger())
    devsmith.init_app(app)          # or DevSmithFlask(app, logger=...)

One entry per request, "GET /users/42 200", with method, path, route, status,
duration_ms, ip, user_agent and query in the context; ERROR for 5xx, WARN for
4xx, INFO otherwise. An unhandled exception is logged at ERROR with its stack
(in that request's entry), and Flask answers 500 as usual.
"""

import time
import traceback

from flask import g, request

__all__ = ["DevSmithFlask", "DEFAULT_REDACT", "redact"]

DEFAULT_REDACT = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "password")
REDACTED = "[REDACTED]"


def redact(value, keys, depth=0):
    """A copy of value with every key named in keys (lower case) replaced by [REDACTED]."""
    if depth > 10:
        return value
    if isinstance(value, dict):
        return {k: (REDACTED if str(k).lower() in keys else redact(v, keys, depth + 1)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, keys, depth + 1) for v in value]
    return value


def _level_for(status):
    if status >= 500:
        return "ERROR"
    if status >= 400:
        return "WARN"
    return "INFO"


class DevSmithFlask(object):
    """Flask extension: request logging and exception capture.

    logger: a DevSmithLogger (or anything with log(level, message, **context));
    created from DEVSMITH_* environment variables when omitted.
    skip_paths: exact paths, or prefixes ending in "*" (default: /health).
    redact: header, query and body field names to hide (case-insensitive).
    log_headers / log_body: add request headers / JSON or form body (redacted)
    to every entry; entries of unhandled exceptions always carry the headers.
    """

    def __init__(self, app=None, logger=None, skip_paths=("/health",), redact=DEFAULT_REDACT,
                 log_headers=False, log_body=False):
        self.logger = logger
        self.skip_exact = {p for p in skip_paths if not p.endswith("*")}
        self.skip_prefixes = tuple(p[:-1] for p in skip_paths if p.endswith("*"))
        self.redact = frozenset(k.lower() for k in redact)
        self.log_headers = log_headers
        self.log_body = log_body
        if app is not None:
            self.init_app(app)

    def init_app(self, app):
        if self.logger is None:
            from logger import DevSmithLogger  # the sample logger, next to this file
            self.logger = DevSmithLogger()
        app.extensions["devsmith"] = self
        app.before_request(self._before_request)
        app.after_request(self._after_request)
        app.teardown_request(self._teardown_request)

    def skipped(self, path):
        return path in self.skip_exact or (bool(self.skip_prefixes) and path.startswith(self.skip_prefixes))

    def _before_request(self):
        g._devsmith_start = time.perf_counter()

    def _after_request(self, response):
        g._devsmith_status = response.status_code
        return response

    def _teardown_request(self, exc):
        try:
            start = g.pop("_devsmith_start", None)
            if start is None or self.skipped(request.path):
                return
            status = g.pop("_devsmith_status", None) or (500 if exc is not None else 200)
            ctx = {
                "method": request.method,
                "path": request.path,
                "status": status,
                "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                "ip": request.remote_addr or "",
            }
            if request.url_rule is not None:
                ctx["route"] = request.url_rule.rule
            ua = request.headers.get("User-Agent")
            if ua:
                ctx["user_agent"] = ua
            if request.args:
                ctx["query"] = redact({k: (v[0] if len(v) == 1 else v) for k, v in request.args.lists()}, self.redact)
            if self.log_headers or exc is not None:
                ctx["headers"] = redact({k.lower(): v for k, v in request.headers.items()}, self.redact)
            if self.log_body:
                body = request.get_json(silent=True)
                if body is None and request.form:
                    body = request.form.to_dict(flat=True)
                if body is not None:
                    ctx["body"] = redact(body, self.redact)
            level = _level_for(status)
            message = "%s %s %d" % (request.method, request.path, status)
            if exc is not None:
                ctx["error"] = str(exc)
                ctx["error_type"] = type(exc).__name__
                ctx["stack"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                message += ": %s: %s" % (type(exc).__name__, exc)
                level = "ERROR"
            self.logger.log(level, message, **ctx)
        except Exception:
            pass  # logging must never break a request
