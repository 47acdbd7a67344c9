"""Logs DRIVER_COUNT entries through the Python sample logger and exits 0
once all of them were delivered (1 otherwise). For integration tests:

    DEVSMITH_URL=... DEVSMITH_API_KEY=dsk_... DEVSMITH_SERVICE=driver-py \\
    DRIVER_COUNT=10 DRIVER_RUN_ID=r1 /usr/bin/python3 examples/driver.py

Entry i (0-based) has level debug/info/warn/error (cycling), message
"driver python <run_id> <i>" and context {run_id, i, lang: "python"}.
DRIVER_INTERVAL (a duration, default 0) spaces the log calls out;
DRIVER_CLOSE_TIMEOUT (default 60s) bounds the final flush.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from logger import DevSmithLogger, parse_duration  # noqa: E402


def main():
    try:
        count = int(os.environ.get("DRIVER_COUNT") or 10)
        run_id = os.environ.get("DRIVER_RUN_ID") or "%x" % int(time.time() * 1000)
        interval = parse_duration(os.environ.get("DRIVER_INTERVAL") or 0)
        close_timeout = parse_duration(os.environ.get("DRIVER_CLOSE_TIMEOUT") or 60)
        log = DevSmithLogger(close_timeout=close_timeout)
    except ValueError as err:
        print("driver python: %s" % err, file=sys.stderr)
        return 1
    methods = [log.debug, log.info, log.warn, log.error]
    for i in range(count):
        methods[i % 4]("driver python %s %d" % (run_id, i), run_id=run_id, i=i, lang="python")
        if interval > 0:
            time.sleep(interval)
    delivered = log.close()
    s = log.stats()
    print("driver python: run %s: logged %d, sent %d, dropped %d" % (run_id, s["logged"], s["sent"], s["dropped"]))
    return 0 if delivered else 1


if __name__ == "__main__":
    sys.exit(main())
