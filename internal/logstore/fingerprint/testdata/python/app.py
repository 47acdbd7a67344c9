"""Fails from a few call sites, for the fingerprint's tests (fingerprint_test.go):
    python3 app.py <pay|paytype|user|chained> <id>
prints the traceback to stdout. runner (lib/site-packages/runner.py) is an
installed package: its frames are not the application's."""
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", "site-packages"))
import runner  # noqa: E402


class PaymentError(Exception):
    pass


def charge(order_id, ms, kind):
    raise kind("payment %d failed: timeout after %d ms" % (order_id, ms))


def pay(order_id, kind):
    charge(order_id, order_id * 7 + 1000, kind)


def load_user(user_id):
    users = {}
    return users["u%d" % user_id]["name"]


def chained(order_id):
    try:
        json.loads("{bad json %d" % order_id)
    except ValueError:
        pay(order_id, PaymentError)


def main():
    what, order_id = sys.argv[1], int(sys.argv[2])
    try:
        if what == "pay":
            runner.run(lambda: pay(order_id, PaymentError))
        elif what == "paytype":
            runner.run(lambda: pay(order_id, ValueError))
        elif what == "chained":
            runner.run(lambda: chained(order_id))
        else:
            runner.run(lambda: load_user(order_id))
    except Exception:
        sys.stdout.write(traceback.format_exc())


main()
