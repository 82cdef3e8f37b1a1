"""Urgent means now, under real gunicorn: sign-in floods cannot starve the console."""

import os
import statistics
import subprocess
import sys
import time

import pytest
import requests

from helpers import DSL_EMAIL, csrf_token
from helpers import free_port, gunicorn_app, url

pytestmark = pytest.mark.slow  # the console under real gunicorn, flooded from another process

# The flood runs in a process of its own, at a lower CPU priority: an attacker's own machine does that work,
# so on this shared test machine it must not slow down the server or the measuring thread. Each bad sign-in comes
# from an address of its own (Linux answers on all of 127.0.0.0/8), so the per-address waits do not turn them
# away: every one reaches the cap on password checks, as a flood from many computers would.
FLOOD = r"""
import http.client, sys, threading, urllib.parse
port, token, cookie, email = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
statuses = []
def bad(n):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=("127.0.0.%d" % (n + 2), 0))
    body = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": "wrong password number %d" % n})
    connection.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                "Cookie": "worrybox_console=" + cookie})
    statuses.append(connection.getresponse().status)
    connection.close()
threads = [threading.Thread(target=bad, args=(n,)) for n in range(50)]
print("start", flush=True)
for t in threads: t.start()
for t in threads: t.join()
print(" ".join(map(str, statuses)), flush=True)
"""


def _healthz_seconds(port):
    started = time.perf_counter()
    assert requests.get(url(port, "/healthz"), timeout=5).status_code == 200
    return time.perf_counter() - started


@pytest.mark.alone
def test_healthz_answers_within_100_ms_during_50_parallel_bad_sign_ins(data_dir):
    port = free_port()
    server = gunicorn_app("console", data_dir, port)
    try:
        server.wait_until_healthy(port)
        quiet = [_healthz_seconds(port) for _ in range(20)]
        session = requests.Session()
        token = csrf_token(session.get(url(port, "/login"), timeout=10).text)
        flood = subprocess.Popen([sys.executable, "-c", FLOOD, str(port), token,
                                  session.cookies["worrybox_console"], DSL_EMAIL],
                                 stdout=subprocess.PIPE, text=True, preexec_fn=lambda: os.nice(15))
        assert flood.stdout.readline().strip() == "start"
        timings = []
        while flood.poll() is None or len(timings) < 10:
            timings.append(_healthz_seconds(port))
            time.sleep(0.02)
        statuses = flood.stdout.read().split()
        assert len(statuses) == 50 and set(statuses) <= {"401", "503"}, statuses
        assert statuses.count("401") >= 2, "the wrong passwords were never checked: %s" % statuses
        print("healthz before the flood: max %.1f ms; during it: median %.1f ms, max %.1f ms, %d samples; "
              "sign-ins: %s" % (max(quiet) * 1000, statistics.median(timings) * 1000, max(timings) * 1000,
                                len(timings), statuses))
        # Every answer within 100 ms (without the cap on password checks most took seconds). Only where the
        # machine itself is slower than that, with no flood at all, may an answer take twice its slowest quiet one.
        bound = max(0.1, 2 * max(quiet))
        assert max(timings) < bound, ["%.0f" % (t * 1000) for t in timings]
    finally:
        server.stop()
