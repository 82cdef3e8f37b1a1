"""The kiosk under real gunicorn and real load: nothing acknowledged is lost or doubled, through crashes and
backups. Short by default; WORRYBOX_LONG_TESTS=1 runs each for longer and crashes it more often."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from helpers import DSL_PASSWORD, ROOT, WORRYBOX, Child, free_port, port_is_closed
from worrybox import keys, opening
from worrybox.config import Paths
from worrybox.school import open_school
from worrybox.worries import worry_aad

pytestmark = pytest.mark.slow  # gunicorn under load, kill -9 and backups under load

LONG = os.environ.get("WORRYBOX_LONG_TESTS") == "1"
CLIENTS = 16
LOAD_SECONDS = 60 if LONG else 6
CRASHES = 20 if LONG else 3


def start_kiosk(servers, data_dir):
    """The kiosk under its production gunicorn settings (several workers), on a free port."""
    port = free_port()
    kiosk = servers([sys.executable, "-m", "gunicorn", "--config", ROOT / "deploy" / "gunicorn_kiosk.conf.py",
                     "--bind", "127.0.0.1:%d" % port, "kiosk:create_app()"],
                    env={"WORRYBOX_DATA_DIR": str(data_dir)})
    kiosk.wait_until_healthy(port)
    return kiosk, port


class Load:
    """Tablets posting worries as fast as they can; what the kiosk acknowledged, and every status it gave."""

    def __init__(self, port: int):
        self.port = port
        self.statuses = Counter()
        self.acknowledged: dict[str, str] = {}
        self.acknowledged_at: dict[str, float] = {}
        self.errors = Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def tablet(self, number: int) -> None:
        child = Child(self.port)
        count = 0
        while not self.stop.is_set():
            count += 1
            text = "load %d-%d %s 😟 ਮੈਨੂੰ ਡਰ ਲੱਗਦਾ ਹੈ" % (number, count, os.urandom(4).hex())
            try:
                data = dict(child.form(), feeling="worried", text=text)
                response = child.send(data)
            except (requests.RequestException, AssertionError) as exc:
                with self.lock:
                    self.errors[type(exc).__name__] += 1
                time.sleep(0.05)  # the server is gone (a crash test) or restarting
                continue
            with self.lock:
                self.statuses[response.status_code] += 1
                if response.status_code == 303:
                    assert response.headers["Location"].endswith("/thanks")
                    assert self.acknowledged.setdefault(data["submission_id"], text) == text
                    self.acknowledged_at[data["submission_id"]] = time.monotonic()

    def run(self, seconds: float, during=None) -> None:
        """Post from CLIENTS tablets for a while; `during()` runs meanwhile, and the load stops when both end."""
        with ThreadPoolExecutor(CLIENTS + 1) as pool:
            futures = [pool.submit(self.tablet, number) for number in range(CLIENTS)]
            try:
                if during is not None:
                    during()
                else:
                    time.sleep(seconds)
            finally:
                self.stop.set()
                for future in futures:
                    future.result()


def open_every_worry(data_dir) -> dict[str, str]:
    """Open every stored worry with the DSL's key, without writing anything; return {submission_id: text}."""
    db = open_school(Paths(data_dir))
    try:
        keyring = keys.unlock_keyring(db, 1, DSL_PASSWORD)
        team = keys.team_keys_of(keyring, db)
        opened = {}
        for worry_id, submission_id, body in db.execute("SELECT id, submission_id, sealed_body FROM worries"):
            key_id, sealed_key = db.execute(
                "SELECT key_id, sealed_key FROM worry_keys WHERE worry_id = ? AND key_id IN (%s)"
                % ",".join("?" * len(team)), [worry_id, *team]).fetchone()
            private = json.loads(opening.open_sealed(body, key_id, sealed_key, team[key_id], worry_aad(worry_id)))
            opened[submission_id] = private["text"]
        return opened
    finally:
        db.close()


def stored_once(data_dir) -> dict[str, int]:
    raw = sqlite3.connect(data_dir / "worrybox.db")
    try:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return dict(raw.execute("SELECT submission_id, count(*) FROM worries GROUP BY submission_id"))
    finally:
        raw.close()


def test_sixteen_tablets_at_once_every_acknowledged_worry_is_stored_once_and_opens(servers, data_dir):
    kiosk, port = start_kiosk(servers, data_dir)
    load = Load(port)
    load.run(LOAD_SECONDS)
    kiosk.stop()
    assert set(load.statuses) == {303}, load.statuses
    assert not load.errors, load.errors
    assert len(load.acknowledged) > 50 * LOAD_SECONDS / 6
    assert "database is locked" not in kiosk.output and "Traceback" not in kiosk.output
    per_submission = stored_once(data_dir)
    assert set(per_submission) == set(load.acknowledged) and set(per_submission.values()) == {1}
    assert open_every_worry(data_dir) == load.acknowledged


def test_kill_9_during_load_loses_no_acknowledged_worry(servers, data_dir):
    chance = random.Random(os.environ.get("WORRYBOX_CRASH_SEED"))
    acknowledged: dict[str, str] = {}
    statuses = Counter()
    for crash in range(CRASHES):
        kiosk, port = start_kiosk(servers, data_dir)
        load = Load(port)

        def kill_at_a_random_moment():
            time.sleep(chance.uniform(0.3, 2.0))
            os.killpg(kiosk.process.pid, signal.SIGKILL)  # the master and every worker, mid-write
            time.sleep(0.2)

        load.run(0, during=kill_at_a_random_moment)
        kiosk.stop(None)
        assert port_is_closed(port)
        assert "database is locked" not in kiosk.output
        acknowledged.update(load.acknowledged)
        statuses.update(load.statuses)
        # After every crash: the database is whole and nothing acknowledged so far is missing or doubled.
        per_submission = stored_once(data_dir)
        assert set(acknowledged) <= set(per_submission), "crash %d lost an acknowledged worry" % crash
        # (A crash can come before the first post is stored, so the school may still hold none.)
        assert all(count == 1 for count in per_submission.values()), "crash %d stored a worry twice" % crash
    assert acknowledged, "the load never got a worry through"
    assert not [status for status in statuses if status >= 500], statuses
    opened = open_every_worry(data_dir)  # every row opens, acknowledged or caught mid-answer
    assert {sid: opened[sid] for sid in acknowledged} == acknowledged


def test_a_backup_taken_under_load_restores_to_a_school_where_every_row_opens(servers, data_dir, tmp_path,
                                                                             recovery_code):
    code_file = tmp_path / "recovery-code.txt"
    code_file.write_text(recovery_code)
    kiosk, port = start_kiosk(servers, data_dir)
    load = Load(port)
    backups = []

    def back_up_three_times():
        for number in range(3):
            time.sleep(LOAD_SECONDS / 4)
            started = time.monotonic()
            target = tmp_path / ("backup-%d.backup" % number)
            result = subprocess.run([str(WORRYBOX), "backup", "--data-dir", str(data_dir), "--to", str(target)],
                                    capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, result.stderr
            with load.lock:
                before = {sid for sid, at in load.acknowledged_at.items() if at < started}
            backups.append((target, before))
        time.sleep(LOAD_SECONDS / 4)

    load.run(0, during=back_up_three_times)
    kiosk.stop()
    assert set(load.statuses) == {303}, load.statuses
    assert "database is locked" not in kiosk.output and "Traceback" not in kiosk.output
    for number, (backup, acknowledged_before) in enumerate(backups):
        restored = tmp_path / ("restored-%d" % number)
        result = subprocess.run([str(WORRYBOX), "restore", "--data-dir", str(restored), "--from", str(backup),
                                 "--recovery-code-file", str(code_file)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        per_submission = stored_once(restored)
        assert acknowledged_before <= set(per_submission), "a worry acknowledged before the backup is missing"
        assert all(count == 1 for count in per_submission.values()), "a restored worry is stored twice"
        opened = open_every_worry(restored)
        assert all(opened[sid] == load.acknowledged[sid] for sid in opened), "a restored worry does not match"
    assert len(backups) == 3 and len(backups[-1][1]) > len(backups[0][1]) > 0
