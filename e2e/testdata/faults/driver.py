"""Fault-test driver for the Python sample logger: see README.md."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../samples/python"))

from logger import DevSmithLogger, parse_duration  # noqa: E402


class WatchedLogger(DevSmithLogger):
    """The sample logger, its HTTP answers counted (the logger is unchanged)."""

    def __init__(self, **kw):
        self.acked = []
        self.statuses = {}
        self.missing_retry_after = 0
        self.unexpected = []
        super().__init__(**kw)

    def _post(self, body, timeout):
        status, text, retry_after, net_error = super()._post(body, timeout)
        key = "no answer" if net_error is not None else str(status)
        self.statuses[key] = self.statuses.get(key, 0) + 1
        if net_error is None:
            if 200 <= status < 300:
                self.acked.extend(e["context"]["seq"] for e in json.loads(body)["logs"])
            elif status in (429, 503):
                if not retry_after:
                    self.missing_retry_after += 1
            elif len(self.unexpected) < 20:
                self.unexpected.append("%d: %s" % (status, text[:300]))
        return status, text, retry_after, net_error


def ranges(seqs):
    out = []
    for n in sorted(set(seqs)):
        if out and out[-1][1] + 1 == n:
            out[-1][1] = n
        else:
            out.append([n, n])
    return out


def main():
    run_id = os.environ["DRIVER_RUN_ID"]
    stop_file = os.environ["DRIVER_STOP_FILE"]
    interval = parse_duration(os.environ.get("DRIVER_INTERVAL") or "5ms")
    # request_timeout longer than the 10 s freeze: the platform's answer, not the timeout, is counted.
    log = WatchedLogger(close_timeout=parse_duration(os.environ.get("DRIVER_CLOSE_TIMEOUT") or "60s"), request_timeout=30.0)
    seq = 0
    while not os.path.exists(stop_file):
        log.info("fault python %s %d" % (run_id, seq), run_id=run_id, seq=seq)
        seq += 1
        time.sleep(interval)
    delivered = log.close()
    print("FAULTDRIVER " + json.dumps({
        "run_id": run_id, "numbered": seq, "acked": ranges(log.acked), "statuses": log.statuses,
        "missing_retry_after": log.missing_retry_after, "unexpected": log.unexpected}), flush=True)
    return 0 if delivered else 1


if __name__ == "__main__":
    sys.exit(main())
