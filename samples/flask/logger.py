"""DevSmith Logs: a zero-dependency logger for Python 3.8+ (standard library only).

Copy this one file into your app:

    from logger import DevSmithLogger
    log = DevSmithLogger(service_name="api")      # or DEVSMITH_* environment variables
    log.info("User logged in", user_id=123)

or ship every standard-library log record:

    import logging
    from logger import DevSmithHandler
    logging.basicConfig(level=logging.INFO, handlers=[DevSmithHandler()])

Entries are buffered and sent to POST {DEVSMITH_URL}/batch every 100 entries or
5 s, whichever comes first, from a background thread. Failed batches are
retried (same batch_id, so the server stores them once) and kept in a bounded
buffer; a log call never raises and never blocks on the network. Pending
entries are flushed at exit (atexit) and by flush() / close().
"""

import atexit
import collections
import email.utils
import gzip as _gzip
import json
import logging
import math
import os
import random
import re
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
import weakref

__all__ = ["DevSmithLogger", "DevSmithHandler", "parse_duration"]

DEFAULT_URL = "http://localhost:3000/api/logs"
_PREFIX = "devsmith-logger: "
_DROP_REPORT_INTERVAL = 10.0  # seconds
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value):
    """Seconds from "5s", "500ms", "2m", "1h" or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError("invalid duration %r" % (value,))
    if isinstance(value, (int, float)):
        if value < 0 or math.isnan(value):
            raise ValueError("invalid duration %r" % (value,))
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError('invalid duration %r: use e.g. "5s", "500ms" or a number of seconds' % (value,))
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def _pick(option, env_name, default):
    if option is not None and option != "":
        return option
    env = os.environ.get(env_name, "")
    return env if env != "" else default


def _positive_int(value, name):
    n = None
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
    if n is None or n <= 0:
        raise ValueError("%s: expected a positive integer, got %r" % (name, value))
    return n


def _duration(value, name):
    try:
        return parse_duration(value)
    except ValueError as err:
        raise ValueError("%s: %s" % (name, err)) from None


def _timestamp(t):
    ms = int(t * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % ms


def _json_default(obj):
    if isinstance(obj, BaseException):
        return {"type": type(obj).__name__, "message": str(obj)}
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    try:
        return str(obj)
    except Exception:
        return "<unprintable %s>" % type(obj).__name__


def _sanitize(value, seen=None, depth=0):
    """A JSON-safe copy: cycles, NaN/Infinity and odd keys made harmless."""
    if seen is None:
        seen = set()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if depth > 20:
        return "[Too deep]"
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        if id(value) in seen:
            return "[Circular]"
        seen = seen | {id(value)}
        if isinstance(value, dict):
            return {str(k): _sanitize(v, seen, depth + 1) for k, v in value.items()}
        return [_sanitize(v, seen, depth + 1) for v in value]
    return _sanitize(_json_default(value), seen, depth + 1)


def _dumps(obj):
    try:
        return json.dumps(obj, default=_json_default, allow_nan=False, separators=(",", ":"))
    except Exception:
        try:
            return json.dumps(_sanitize(obj), default=_json_default, allow_nan=False, separators=(",", ":"))
        except Exception as err:  # pragma: no cover - last resort
            return json.dumps({"_unserializable": str(err)})


class _Batch(object):
    __slots__ = ("id", "entries", "nbytes")

    def __init__(self, envelope_bytes, entries=None):
        self.id = str(uuid.uuid4())
        self.entries = entries if entries is not None else []
        self.nbytes = envelope_bytes + sum(len(e) + 1 for e in self.entries)


_OK, _SPLIT, _DISCARD, _FAIL = "ok", "split", "discard", "fail"


class DevSmithLogger(object):
    """Buffers log entries and ships them to DevSmith Logs in batches.

    Every option falls back to an environment variable: api_key
    (DEVSMITH_API_KEY), api_url (DEVSMITH_URL, default
    http://localhost:3000/api/logs), project_slug (DEVSMITH_PROJECT),
    service_name (DEVSMITH_SERVICE, default the script's name), batch_size
    (DEVSMITH_BATCH_SIZE, default 100), flush_interval (DEVSMITH_FLUSH_INTERVAL,
    seconds or a duration such as "500ms", default 5 s), gzip (DEVSMITH_GZIP).
    """

    def __init__(self, api_key=None, api_url=None, project_slug=None, service_name=None,
                 batch_size=None, flush_interval=None, *, max_batch_bytes=1024 * 1024,
                 max_buffer_size=100000, max_buffer_bytes=64 * 1024 * 1024, max_retries=3,
                 retry_base_delay=0.5, retry_max_delay=30.0, request_timeout=10.0,
                 close_timeout=10.0, gzip=None, flush_at_exit=True):
        key = str(_pick(api_key, "DEVSMITH_API_KEY", ""))
        url = str(_pick(api_url, "DEVSMITH_URL", DEFAULT_URL)).rstrip("/")
        if not re.match(r"^https?://", url):
            raise ValueError("api_url (DEVSMITH_URL) must start with http:// or https://, got %r" % url)
        project = _pick(project_slug, "DEVSMITH_PROJECT", "")
        script = os.path.splitext(os.path.basename(sys.argv[0] if sys.argv and sys.argv[0] else ""))[0]
        if script.startswith("-") or script == "__main__":
            script = ""
        self.service_name = str(_pick(service_name, "DEVSMITH_SERVICE", script or "app"))
        self.project_slug = str(project) if project else None
        self._batch_size = _positive_int(_pick(batch_size, "DEVSMITH_BATCH_SIZE", 100), "batch_size (DEVSMITH_BATCH_SIZE)")
        self._interval = max(0.001, _duration(_pick(flush_interval, "DEVSMITH_FLUSH_INTERVAL", 5.0), "flush_interval (DEVSMITH_FLUSH_INTERVAL)"))
        self._max_batch_bytes = _positive_int(max_batch_bytes, "max_batch_bytes")
        self._max_buffer = _positive_int(max_buffer_size, "max_buffer_size")
        self._max_buffer_bytes = _positive_int(max_buffer_bytes, "max_buffer_bytes")
        self._max_retries = max(0, int(max_retries))
        self._base_delay = _duration(retry_base_delay, "retry_base_delay")
        self._max_delay = _duration(retry_max_delay, "retry_max_delay")
        self._request_timeout = _duration(request_timeout, "request_timeout")
        self._close_timeout = _duration(close_timeout, "close_timeout")
        if gzip is None:
            gzip = os.environ.get("DEVSMITH_GZIP", "").lower() in ("1", "true", "yes")
        self._gzip = bool(gzip)
        self.__key = key
        self._endpoint = url + "/batch"
        self._headers = {
            "Content-Type": "application/json",
            "Authorization": "Bearer " + key,
            "User-Agent": "devsmith-logger-python/1",
        }
        if self._gzip:
            self._headers["Content-Encoding"] = "gzip"
        head = {"service_name": self.service_name}
        if self.project_slug:
            head["project_slug"] = self.project_slug
        self._envelope_head = json.dumps(head, separators=(",", ":"))[:-1]
        self._envelope_bytes = len(self._envelope_head.encode("utf-8")) + 64

        self._stats = {"logged": 0, "sent": 0, "dropped": 0, "discarded": 0, "rejected": 0,
                       "batches": 0, "failed_attempts": 0}
        self._reported = set()
        self._last_error = ""
        self._last_drop_report = -_DROP_REPORT_INTERVAL
        self._discarded_seen = 0
        self._disabled = not key
        self._closed = False
        self._flush_at_exit = flush_at_exit
        self._reset_state()
        if self._disabled:
            self._stderr("no API key (set DEVSMITH_API_KEY or pass api_key): logs will not be sent")
            return
        self._start_worker()
        if flush_at_exit:
            atexit.register(self._at_exit)
        if hasattr(os, "register_at_fork"):
            ref = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: ref() is not None and ref()._after_fork())

    # --- public API ---------------------------------------------------------

    def debug(self, message, /, **context):
        self._log("DEBUG", message, context)

    def info(self, message, /, **context):
        self._log("INFO", message, context)

    def warn(self, message, /, **context):
        self._log("WARN", message, context)

    warning = warn

    def error(self, message, /, **context):
        self._log("ERROR", message, context)

    def fatal(self, message, /, **context):
        self._log("FATAL", message, context)

    def log(self, level, message, /, **context):
        """Logs at any level (TRACE, DEBUG, INFO, WARN, ERROR, FATAL)."""
        self._log(level, message, context)

    def flush(self, timeout=None):
        """Sends everything buffered now (each batch with its retries).

        Returns True when all of it was delivered. Never raises.
        """
        try:
            deadline = time.monotonic() + (self._close_timeout if timeout is None else float(timeout))
            return self._deliver(deadline, persistent=False)
        except Exception as err:
            self._stderr("flush failed: %s" % err)
            return False

    def close(self, timeout=None):
        """Stops accepting entries, then keeps trying to deliver the buffer
        until it is delivered or timeout (default close_timeout, 10 s) passes.

        Returns True when everything was delivered. Never raises.
        """
        try:
            with self._lock:
                if self._closed and self._count == 0:
                    return True
                self._closed = True
                self._seal(quiet=True)
            self._stop.set()
            with self._cond:
                self._cond.notify_all()
            if self._flush_at_exit:
                try:
                    atexit.unregister(self._at_exit)
                except Exception:
                    pass
            if self._disabled:
                return True
            deadline = time.monotonic() + (self._close_timeout if timeout is None else float(timeout))
            ok = self._deliver(deadline, persistent=True)
            self._report_drops(final=True)
            if not ok:
                self._abandon.set()
                with self._lock:
                    left = self._count
                    self._stats["discarded"] += left
                    self._discarded_seen = self._stats["discarded"]
                    self._queue.clear()
                    self._open = None
                    self._count = 0
                    self._bytes = 0
                if left:
                    self._stderr("%d log entries were not delivered before close (last error: %s)"
                                 % (left, self._last_error or "none"))
            self._worker.join(max(0.0, min(1.0, deadline - time.monotonic())))
            return ok
        except Exception as err:
            self._stderr("close failed: %s" % err)
            return False

    def stats(self):
        """Counters: logged, sent, dropped (buffer full), discarded, rejected,
        batches, failed_attempts, buffered."""
        with self._lock:
            out = dict(self._stats)
            out["buffered"] = self._count
            return out

    def __repr__(self):
        return "DevSmithLogger(endpoint=%r, service_name=%r, buffered=%d)" % (
            self._endpoint, self.service_name, self._count)

    __str__ = __repr__

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- buffering ----------------------------------------------------------

    def _reset_state(self):
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._abandon = threading.Event()
        self._open = None
        self._open_since = 0.0
        self._queue = collections.deque()
        self._count = 0
        self._bytes = 0
        self._paused_until = 0.0
        self._unreported_drops = 0

    def _start_worker(self):
        self._worker = threading.Thread(target=self._run, name="devsmith-logger", daemon=True)
        self._worker.start()

    def _after_fork(self):
        # The child must not resend the parent's entries; it gets a fresh buffer and thread.
        self._reset_state()
        if not self._closed and not self._disabled:
            self._start_worker()

    def _log(self, level, message, context, timestamp=None):
        try:
            if self._closed or self._disabled:
                return
            if isinstance(message, BaseException):
                context = dict(context or {})
                context.setdefault("exception", "%s: %s" % (type(message).__name__, message))
                tb = "".join(traceback.format_exception(type(message), message, message.__traceback__))
                context.setdefault("stack", tb)
                message = str(message) or type(message).__name__
            if not isinstance(message, str):
                message = "" if message is None else _dumps(message)
            if message == "":
                message = "(empty message)"
            entry = {"timestamp": _timestamp(time.time() if timestamp is None else timestamp),
                     "level": str(level or "INFO").upper(), "message": message}
            if context:
                entry["context"] = context
            line = _dumps(entry)
            with self._cond:
                self._stats["logged"] += 1
                self._enqueue(line)
        except Exception as err:
            try:
                self._stderr("could not log an entry: %s" % err, once="log-failed")
            except Exception:
                pass

    def _enqueue(self, line):  # holding self._lock
        size = len(line) + 1  # json.dumps output is ASCII: characters == bytes
        if self._open is not None and self._open.nbytes + size > self._max_batch_bytes:
            self._seal()
        if self._open is None:
            self._open = _Batch(self._envelope_bytes)
            self._open_since = time.monotonic()
            self._cond.notify()
        self._open.entries.append(line)
        self._open.nbytes += size
        self._count += 1
        self._bytes += size
        self._enforce_bound()
        if self._open is not None and (len(self._open.entries) >= self._batch_size
                                       or self._open.nbytes >= self._max_batch_bytes):
            self._seal()

    def _seal(self, quiet=False):  # holding self._lock
        if self._open is not None and self._open.entries:
            self._queue.append(self._open)
            if not quiet:
                self._cond.notify()
        self._open = None

    def _enforce_bound(self):  # holding self._lock
        while self._count > self._max_buffer or (self._bytes > self._max_buffer_bytes and self._count > 0):
            oldest = self._queue[0] if self._queue else self._open
            if oldest is None:
                break
            line = oldest.entries.pop(0)
            oldest.nbytes -= len(line) + 1
            self._bytes -= len(line) + 1
            self._count -= 1
            self._stats["dropped"] += 1
            self._unreported_drops += 1
            if self._unreported_drops == 1:
                self._stderr("buffer full (platform unreachable?): dropping the oldest log entries")
            if not oldest.entries:
                if oldest is self._open:
                    self._open = None
                else:
                    self._queue.popleft()

    def _take(self):
        with self._lock:
            if not self._queue:
                return None
            batch = self._queue.popleft()
            self._count -= len(batch.entries)
            self._bytes -= batch.nbytes - self._envelope_bytes
            return batch

    def _requeue_front(self, batch):
        with self._lock:
            self._queue.appendleft(batch)
            self._count += len(batch.entries)
            self._bytes += batch.nbytes - self._envelope_bytes
            self._enforce_bound()

    # --- sending ------------------------------------------------------------

    def _run(self):
        stop = self._stop
        while not stop.is_set():
            with self._cond:
                while not stop.is_set():
                    now = time.monotonic()
                    if self._open is not None and now - self._open_since >= self._interval:
                        self._seal()
                    if self._queue and now >= self._paused_until:
                        break
                    waits = []
                    if self._open is not None:
                        waits.append(self._open_since + self._interval - now)
                    if self._queue:
                        waits.append(self._paused_until - now)
                    self._cond.wait(max(0.001, min(waits)) if waits else None)
                if stop.is_set():
                    return
            with self._send_lock:
                # A flush may have held the send while we waited, failed and
                # paused sending: then the pause holds for us too.
                with self._lock:
                    paused = time.monotonic() < self._paused_until
                if not stop.is_set() and not paused:
                    self._drain(float("inf"), stop)

    def _deliver(self, deadline, persistent):
        with self._lock:
            self._seal(quiet=True)  # this thread sends; no need to wake the worker
        remaining = deadline - time.monotonic()
        if not self._send_lock.acquire(timeout=max(0.0, remaining)):
            return False
        try:
            ok = self._drain(deadline, self._abandon)
            while not ok and persistent and time.monotonic() < deadline:
                pause = min(max(self._paused_until - time.monotonic(), self._base_delay),
                            deadline - time.monotonic())
                if self._abandon.wait(max(0.0, pause)):
                    break
                with self._lock:
                    self._seal(quiet=True)
                ok = self._drain(deadline, self._abandon)
        finally:
            self._send_lock.release()
        with self._lock:
            empty = self._count == 0
            # Refusals (400, 401, ...) since the last flush or close count as failures.
            refused = self._stats["discarded"] != self._discarded_seen
            self._discarded_seen = self._stats["discarded"]
        return ok and empty and not refused

    def _drain(self, deadline, interrupt):  # holding self._send_lock
        while not interrupt.is_set():
            batch = self._take()
            if batch is None:
                return True
            result, retry_after = self._send_batch(batch, deadline, interrupt)
            if result == _OK:
                self._paused_until = 0.0
                self._report_drops()
            elif result == _SPLIT:
                mid = (len(batch.entries) + 1) // 2
                for half in (batch.entries[mid:], batch.entries[:mid]):
                    self._requeue_front(_Batch(self._envelope_bytes, half))
            elif result == _FAIL:
                # Still failing after the retries: back to the buffer whole, same batch_id.
                self._requeue_front(batch)
                self._paused_until = time.monotonic() + max(self._interval, retry_after)
                return False
        return False

    def _report_drops(self, final=False):
        with self._lock:
            n = self._unreported_drops
            # Under sustained overload, one report per _DROP_REPORT_INTERVAL, not one per batch.
            if not n or (not final and time.monotonic() - self._last_drop_report < _DROP_REPORT_INTERVAL):
                return
            self._last_drop_report = time.monotonic()
            self._unreported_drops = 0
        self._stderr("dropped %d log entries while the platform was unreachable (buffer full)" % n)
        if final:
            return
        line = _dumps({"timestamp": _timestamp(time.time()), "level": "WARN",
                       "message": "devsmith logger dropped %d log entries: buffer full while the platform was unreachable" % n,
                       "context": {"_devsmith_dropped": n}})
        with self._lock:
            self._enqueue(line)
            self._seal()

    def _send_batch(self, batch, deadline, interrupt):
        body = ('%s,"batch_id":"%s","logs":[%s]}' % (self._envelope_head, batch.id, ",".join(batch.entries))).encode("utf-8")
        if self._gzip:
            body = _gzip.compress(body, 6)
        retry_after = 0.0
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or interrupt.is_set():
                return _FAIL, retry_after
            status, text, header_retry_after, net_error = self._post(body, min(self._request_timeout, remaining))
            if 200 <= status < 300:
                with self._lock:
                    self._stats["sent"] += len(batch.entries)
                    self._stats["batches"] += 1
                self._accepted(text)
                return _OK, 0.0
            with self._lock:
                self._stats["failed_attempts"] += 1
            error = _server_error(text, status)
            self._last_error = ("%s" % net_error) if net_error else "HTTP %d: %s" % (status, error)
            if status == 413:
                if len(batch.entries) > 1:
                    return _SPLIT, 0.0
                with self._lock:
                    self._stats["discarded"] += 1
                self._stderr("an entry is too large for the platform and was dropped: %s" % error, once="too-large")
                return _DISCARD, 0.0
            retryable = net_error is not None or status in (408, 429) or status >= 500
            if not retryable:
                with self._lock:
                    self._stats["discarded"] += len(batch.entries)
                self._stderr("the platform refused a batch of %d entries (HTTP %d): %s; not retrying"
                             % (len(batch.entries), status, error), once="http-%d-%s" % (status, error))
                return _DISCARD, 0.0
            retry_after = _parse_retry_after(header_retry_after) if status in (429, 503) else 0.0
            if attempt >= self._max_retries:
                self._stderr("could not send %d entries (%s); keeping them buffered and retrying later"
                             % (len(batch.entries), self._last_error), once="send-failed")
                return _FAIL, retry_after
            backoff = min(self._max_delay, self._base_delay * (2 ** attempt))
            wait = retry_after if retry_after > 0 else backoff / 2 + random.random() * backoff / 2
            if time.monotonic() + wait >= deadline:
                return _FAIL, retry_after
            if interrupt.wait(wait):
                return _FAIL, retry_after
            attempt += 1

    def _post(self, body, timeout):
        """Returns (status, text, retry_after_header, network_error)."""
        req = urllib.request.Request(self._endpoint, data=body, headers=self._headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=max(0.001, timeout)) as resp:
                return resp.status, resp.read().decode("utf-8", "replace"), None, None
        except urllib.error.HTTPError as err:
            try:
                text = err.read().decode("utf-8", "replace")
            except Exception:
                text = ""
            return err.code, text, err.headers.get("Retry-After") if err.headers else None, None
        except Exception as err:  # URLError, timeouts, connection resets, bad status lines
            reason = getattr(err, "reason", None) or err
            return 0, "", None, "%s: %s" % (type(err).__name__, reason)

    def _accepted(self, text):
        if "send-failed" in self._reported:
            self._reported.discard("send-failed")
            self._stderr("the platform is reachable again; sending buffered entries")
        try:
            res = json.loads(text)
        except ValueError:
            return
        rejected = res.get("rejected") if isinstance(res, dict) else None
        if rejected:
            with self._lock:
                self._stats["rejected"] += len(rejected)
            first = rejected[0] if isinstance(rejected[0], dict) else {}
            self._stderr("the platform rejected %d entries, e.g. #%s: %s" % (
                len(rejected), first.get("index"), first.get("reason")), once="rejected-%s" % first.get("reason"))

    def _stderr(self, text, once=None):
        if once is not None:
            if once in self._reported:
                return
            if len(self._reported) > 100:
                self._reported.clear()
            self._reported.add(once)
        try:
            if self.__key:
                text = text.replace(self.__key, "[api key]")
            sys.stderr.write(_PREFIX + text + "\n")
            sys.stderr.flush()
        except Exception:
            pass

    def _at_exit(self):
        with self._lock:
            pending = self._count
        if pending == 0 and not self._send_lock.locked():
            self._closed = True
            return
        self.close()


def _parse_retry_after(value):
    if not value:
        return 0.0
    try:
        secs = float(value)
    except ValueError:
        try:
            secs = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except Exception:
            return 0.0
    if math.isnan(secs) or secs < 0:
        return 0.0
    return min(secs, 300.0)


def _server_error(text, status):
    try:
        body = json.loads(text)
        if isinstance(body, dict) and body.get("error"):
            return str(body["error"])[:500]
    except ValueError:
        pass
    return " ".join((text or "status %d" % status)[:200].split())


# LogRecord attributes that are not user "extra" fields.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def _level_name(levelno):
    if levelno >= logging.CRITICAL:
        return "FATAL"
    if levelno >= logging.ERROR:
        return "ERROR"
    if levelno >= logging.WARNING:
        return "WARN"
    if levelno >= logging.INFO:
        return "INFO"
    if levelno >= logging.DEBUG:
        return "DEBUG"
    return "TRACE"


class DevSmithHandler(logging.Handler):
    """A logging.Handler that ships records through a DevSmithLogger.

    DevSmithHandler(logger=None, level=logging.NOTSET, **options): options are
    DevSmithLogger's (api_key, service_name, ...) when no logger is given.
    WARNING becomes WARN and CRITICAL FATAL; the message is record.getMessage();
    extra= fields, the logger name, module, function and line go in the
    context; exception info as "exception" and "stack".
    """

    def __init__(self, logger=None, level=logging.NOTSET, **options):
        super().__init__(level)
        self.devsmith = logger if logger is not None else DevSmithLogger(**options)

    def emit(self, record):
        try:
            context = {"logger": record.name, "module": record.module, "function": record.funcName,
                       "line": record.lineno, "thread": record.threadName}
            for key, value in record.__dict__.items():
                if key not in _RECORD_ATTRS and not key.startswith("_"):
                    context[key] = value
            if record.exc_info and record.exc_info[0] is not None:
                etype, evalue, etb = record.exc_info
                context["exception"] = "%s: %s" % (etype.__name__, evalue)
                context["stack"] = "".join(traceback.format_exception(etype, evalue, etb))
            elif record.exc_text:
                context["stack"] = record.exc_text
            if record.stack_info:
                context["stack_info"] = record.stack_info
            self.devsmith._log(_level_name(record.levelno), record.getMessage(), context, timestamp=record.created)
        except Exception:
            self.handleError(record)

    def flush(self):
        self.devsmith.flush()

    def close(self):
        try:
            self.devsmith.close()
        finally:
            super().close()
