"""Logger overhead per log call: /usr/bin/python3 bench.py [calls]

Sends to a local stand-in for the platform on 127.0.0.1 (201 for every batch).
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from logger import DevSmithLogger  # noqa: E402


SERVER = r"""
import http.server, sys

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"count":0,"message":"ok","rejected":[],"truncated":0}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    # The stand-in platform runs in its own process, so its work is not counted.
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline())
    log = DevSmithLogger(api_key="dsk_bench", api_url="http://127.0.0.1:%d/api/logs" % port,
                         service_name="bench", flush_at_exit=False)
    for _ in range(5000):
        log.info("warm-up", user_id=123, path="/api/orders", ok=True)
    log.flush()
    t0 = time.perf_counter()
    for _ in range(calls):
        log.info("order created", user_id=123, path="/api/orders", ok=True)
    call_us = (time.perf_counter() - t0) / calls * 1e6
    log.flush()
    total_us = (time.perf_counter() - t0) / calls * 1e6
    s = log.stats()
    log.close()
    server.kill()
    server.wait()
    server.stdout.close()
    print("python %s: log call %.2f µs/op (%d calls, background sending concurrent); with sending %.2f µs/op "
          "(%d batches, dropped %d)" % (sys.version.split()[0], call_us, calls, total_us, s["batches"], s["dropped"]))


if __name__ == "__main__":
    main()
