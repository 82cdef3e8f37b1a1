"""Both apps under real gunicorn on 127.0.0.1, started and stopped by the tests, driven over HTTP."""

import os
import re
import signal
import socket
import sqlite3
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from helpers import (DSL_EMAIL, DSL_PASSWORD, HOST, ROOT, WORRYBOX, Child, StaffMember, csrf_token, free_port,
                     name_token, port_is_closed, run_school, url)
from worrybox import casework, keys
from worrybox.config import Paths
from worrybox.school import open_school

pytestmark = pytest.mark.slow  # real gunicorn processes

CANARY = "SERVER-CANARY-41c9 my brother hits me 😢 — مجھے ڈر لگتا ہے"
NOTE_CANARY = "NOTE-CANARY-8d2e rang mum after school"


def test_run_serves_the_kiosk_and_the_console_on_their_ports(servers, data_dir):
    _, kiosk_port, console_port = run_school(servers, data_dir)
    for port in (kiosk_port, console_port):
        response = requests.get(url(port, "/healthz"), timeout=30)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert 'name="submission_id"' in requests.get(url(kiosk_port, "/worry"), timeout=30).text
    assert 'name="password"' in requests.get(url(console_port, "/login"), timeout=30).text


@pytest.mark.parametrize("whole_terminal", [False, True], ids=["sigint-to-run", "ctrl-c-in-a-terminal"])
def test_ctrl_c_on_run_stops_both_servers_and_frees_their_ports(servers, data_dir, whole_terminal):
    server, kiosk_port, console_port = run_school(servers, data_dir)
    started = time.monotonic()
    if whole_terminal:
        # Ctrl-C in a terminal signals the whole foreground process group, gunicorn included.
        os.killpg(server.process.pid, signal.SIGINT)
        exit_code = server.stop(None)
    else:
        exit_code = server.stop(signal.SIGINT)
    assert time.monotonic() - started < 15
    assert exit_code == 0, server.output
    assert server.group_is_gone(), "a gunicorn process outlived `worrybox run`"
    assert port_is_closed(kiosk_port) and port_is_closed(console_port)
    assert "Stopped." in server.output and "Traceback" not in server.output
    assert server.output.count("Shutting down: Master") == 2


def test_run_on_a_busy_port_stops_the_other_app_too_and_exits_non_zero(servers, data_dir):
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        kiosk_port, console_port = busy.getsockname()[1], free_port()
        server = servers([WORRYBOX, "run", "--data-dir", data_dir, "--kiosk-port", kiosk_port,
                          "--console-port", console_port])
        exit_code = server.stop(None, timeout=30)
    assert exit_code > 0, "worrybox run had to be killed:\n" + server.output
    assert "The kiosk stopped" in server.output and "Address already in use" in server.output
    assert server.group_is_gone() and port_is_closed(console_port)


def test_kiosk_and_console_do_not_share_one_gunicorn_control_socket(servers, data_dir):
    server, _, _ = run_school(servers, data_dir)
    server.stop()
    # Two masters on one control socket path: the second takes it from the first, and `gunicornc`
    # then reloads or stops the wrong app.
    sockets = re.findall(r"Control socket listening at (\S+)", server.output)
    assert len(sockets) == len(set(sockets)), sockets


def test_demo_logins_open_in_the_console_a_worry_posted_at_the_kiosk(servers, tmp_path):
    kiosk_port, console_port = free_port(), free_port()
    demo = servers([WORRYBOX, "demo", "--data-dir", tmp_path / "demo", "--kiosk-port", kiosk_port,
                    "--console-port", console_port])
    login = demo.wait_for_output(r"DSL:\s+(\S+@\S+)\s+password:\s+(\S+)")
    demo.wait_until_healthy(kiosk_port, console_port)

    dsl = StaffMember(console_port)
    signed_in = dsl.login(login.group(1), login.group(2))
    assert signed_in.status_code == 303 and signed_in.headers["Location"].endswith("/")
    text = "DEMO-CANARY nobody sits with me at lunch"
    posted = Child(kiosk_port).post(feeling="sad", text=text)
    assert posted.status_code == 303 and posted.headers["Location"].endswith("/thanks")

    page = dsl.open(dsl.newest_worry_id())
    assert page.status_code == 200 and text in page.text


def test_server_logs_hold_no_worry_text_pupil_name_staff_note_or_password(servers, data_dir):
    server, kiosk_port, console_port = run_school(servers, data_dir)
    posted = Child(kiosk_port).post(feeling="scared", text=CANARY, pupil=name_token(data_dir, "P001"), urgent="y",
                                    **{"class": "4B"})
    assert posted.status_code == 303
    dsl = StaffMember(console_port)
    assert dsl.login(DSL_EMAIL, DSL_PASSWORD).status_code == 303
    worry_id = dsl.newest_worry_id()
    page = dsl.open(worry_id)
    assert CANARY in page.text and "Amira Qureshi" in page.text
    saved = dsl.http.post(url(console_port, "/worries/%d" % worry_id), allow_redirects=False, timeout=30,
                          data={"csrf_token": csrf_token(page.text), "status": "in_progress", "note": NOTE_CANARY})
    assert saved.status_code == 303
    assert NOTE_CANARY in dsl.open(worry_id).text
    assert server.stop(signal.SIGINT) == 0
    logs = server.output
    assert '"POST /worry" 303' in logs and '"GET /worries/%d" 200' % worry_id in logs  # the logs were captured
    for secret in (CANARY, "SERVER-CANARY", "Amira", "Qureshi", "P001", NOTE_CANARY, "NOTE-CANARY", DSL_PASSWORD):
        assert secret not in logs


def test_two_kiosk_workers_store_every_acknowledged_worry_exactly_once(servers, data_dir):
    port = free_port()
    kiosk = servers([sys.executable, "-m", "gunicorn", "--config", ROOT / "deploy" / "gunicorn_kiosk.conf.py",
                     "--workers", "2", "--bind", "%s:%d" % (HOST, port), "kiosk:create_app()"],
                    env={"WORRYBOX_DATA_DIR": str(data_dir)})
    kiosk.wait_until_healthy(port)
    kiosk.wait_for_output(r"(?s)Booting worker.*Booting worker")

    statuses = Counter()
    acknowledged: dict[str, str] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + 4

    def child_at_a_tablet(number):
        child = Child(port)
        double_tap = Child(port)
        for count in range(10000):
            if time.monotonic() >= stop_at:
                return
            data = dict(child.form(), feeling="sad", text="stress %d-%d 🙂 %s" % (number, count, os.urandom(4).hex()))
            if count % 3 == 0:
                # A double tap: the same form sent twice at once, through two connections.
                double_tap.http.cookies.update(child.http.cookies)
                with ThreadPoolExecutor(2) as pool:
                    responses = list(pool.map(lambda tablet: tablet.send(data), (child, double_tap)))
            else:
                responses = [child.send(data)]
            with lock:
                for response in responses:
                    statuses[response.status_code] += 1
                    if response.status_code == 303:
                        assert acknowledged.setdefault(data["submission_id"], data["text"]) == data["text"]

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(child_at_a_tablet, number) for number in range(8)]:
            future.result()
    kiosk.stop()

    assert set(statuses) == {303}, statuses
    assert sum(statuses.values()) > len(acknowledged) > 50
    assert "database is locked" not in kiosk.output and "Traceback" not in kiosk.output

    raw = sqlite3.connect(data_dir / "worrybox.db")
    per_submission = dict(raw.execute("SELECT submission_id, count(*) FROM worries GROUP BY submission_id"))
    raw.close()
    assert set(per_submission) == set(acknowledged)
    assert set(per_submission.values()) == {1}

    db = open_school(Paths(data_dir))
    try:
        keyring = keys.unlock_keyring(db, 1, DSL_PASSWORD)
        stored = dict(db.execute("SELECT submission_id, id FROM worries").fetchall())
        opened = {submission_id: casework.read_worry(db, worry_id, keyring).text
                  for submission_id, worry_id in stored.items()}
    finally:
        db.close()
    assert opened == acknowledged
