"""Example Flask app shipping its logs to DevSmith Logs.

    DEVSMITH_API_KEY=dsk_... PORT=5000 /usr/bin/python3 app.py

GET / (200), GET /error (raises: logged at ERROR with its stack, answered
500), GET /health (not logged). Two routes fail the way real code does, each
from one code path whatever the id, so that each is one error group on the
platform's Errors page: GET /orders/<id>/pay (a PaymentError "payment <id>
failed: timeout after <n> ms" raised in charge_card) and GET /users/<id> (a
KeyError in load_user). SIGTERM or Ctrl-C: stop, flush, exit.
"""
import os
import random
import signal
import sys

from flask import Flask, jsonify

from devsmith_flask import DevSmithFlask
from logger import DevSmithLogger  # a copy of samples/python/logger.py (samples/sync.sh)

log = DevSmithLogger(service_name=os.environ.get("DEVSMITH_SERVICE") or "flask-example")
app = Flask(__name__)
DevSmithFlask(app, logger=log)


@app.get("/")
def index():
    return jsonify(hello="world")


@app.get("/error")
def error():
    raise RuntimeError("boom: /error always fails")


class PaymentError(Exception):
    """A payment provider's failure."""


def charge_card(order_id):
    """Stands for a payment provider's client that times out."""
    waited = random.randint(1000, 30000)
    raise PaymentError("payment %s failed: timeout after %d ms" % (order_id, waited))


@app.get("/orders/<id>/pay")
def pay_order(id):
    charge_card(id)
    return jsonify(paid=True)


def load_user(user_id):
    """Reads a user that is not there: a KeyError."""
    users = {}
    return users[user_id]["name"]


@app.get("/users/<id>")
def show_user(id):
    return jsonify(name=load_user(id))


@app.get("/health")
def health():
    return jsonify(status="ok")


def main():
    from werkzeug.serving import make_server

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    host = os.environ.get("HOST", "127.0.0.1")
    server = make_server(host, int(os.environ.get("PORT", "5000")), app, threaded=True)
    print("flask example listening on http://%s:%d" % (host, server.port), flush=True)
    log.info("flask example started", port=server.port)
    try:
        server.serve_forever()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        server.server_close()
        log.info("flask example stopping")
        delivered = log.close()
    sys.exit(0 if delivered else 1)


if __name__ == "__main__":
    main()
