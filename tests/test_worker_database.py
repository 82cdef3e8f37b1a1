"""Each worker keeps one database connection: reused while it is healthy, replaced after a fork or an error,
and never carrying one request's unfinished transaction into the next. It keeps the school's settings too,
read again only when a change (by either app) has bumped their version."""

import os
import re
import sqlite3

import pytest

import worrybox_web
from helpers import KioskHelper, csrf_token
from worrybox.db import connect, get_setting, keep_settings, set_setting, write_transaction


def stored_texts_count(data_dir) -> int:
    db = sqlite3.connect(data_dir / "worrybox.db")
    try:
        return db.execute("SELECT count(*) FROM worries").fetchone()[0]
    finally:
        db.close()


@pytest.fixture
def opened(monkeypatch):
    """Every connection the web layer opens, in order."""
    connections = []
    real_connect = worrybox_web.connect

    def counting_connect(path=None):
        connections.append(real_connect(path))
        return connections[-1]

    monkeypatch.setattr(worrybox_web, "connect", counting_connect)
    return connections


def worker_db(app):
    return app.extensions["worrybox_connections"].db


def test_a_worker_serves_many_requests_on_one_connection(opened, child, data_dir):
    for number in range(5):
        assert child.post(text="worry %d" % number, feeling="sad").status_code == 303
    assert stored_texts_count(data_dir) == 5
    assert len(opened) == 1


def test_a_forked_worker_opens_its_own_connection_and_still_posts(opened, kiosk_app, child, data_dir):
    assert child.post(text="before the fork", feeling="sad").status_code == 303
    parents = worker_db(kiosk_app)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child process: report what happened through the pipe, then leave at once
        result = b"?"
        try:
            response = KioskHelper(kiosk_app.test_client()).post(text="in the forked worker", feeling="sad")
            own = worker_db(kiosk_app) is not parents and worker_db(kiosk_app) is not None
            result = b"%d %s" % (response.status_code, b"own" if own else b"shared")
        except BaseException as error:  # noqa: BLE001 - anything at all must reach the parent, not pytest
            result = repr(error).encode()
        finally:
            os.write(write_end, result)
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        reported = pipe.read()
    os.waitpid(pid, 0)
    assert reported == b"303 own"
    # The parent's connection was left alone and still works.
    assert child.post(text="after the fork", feeling="sad").status_code == 303
    assert worker_db(kiosk_app) is parents
    assert stored_texts_count(data_dir) == 3


def test_a_closed_connection_is_replaced_before_the_next_request(opened, kiosk_app, child, data_dir):
    assert child.post(text="first", feeling="sad").status_code == 303
    worker_db(kiosk_app).close()
    assert child.post(text="second", feeling="sad").status_code == 303
    assert len(opened) == 2
    assert stored_texts_count(data_dir) == 2


def test_after_a_database_error_the_next_post_works_without_a_restart(opened, kiosk_app, child, data_dir):
    form = child.form()
    # The worker's connection stops being able to write, as on a full disk or a read-only file.
    worker_db(kiosk_app).execute("PRAGMA query_only = ON")
    refused = child.client.post("/worry", data=dict(form, text="while it could not write", feeling="sad"))
    assert refused.status_code == 503
    assert stored_texts_count(data_dir) == 0
    assert child.post(text="once it could write again", feeling="sad").status_code == 303
    assert stored_texts_count(data_dir) == 1
    assert len(opened) == 2


@pytest.mark.parametrize("ending", ["raises", "returns"])
def test_a_request_that_leaves_a_transaction_open_holds_no_lock_and_keeps_no_half_write(ending, data_dir):
    from kiosk import create_app

    app = create_app({"DATA_DIR": data_dir, "TESTING": True})

    def half_write():
        db = worrybox_web.get_db()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO tablets (name, created_at) VALUES ('half written', '2026-01-01')")
        if ending == "raises":
            raise RuntimeError("a bug half-way through a write")
        return "forgot to commit"

    app.add_url_rule("/half-write", "half_write", half_write)
    client = app.test_client()
    client.get("/half-write")
    # Another process can take the write lock at once, and the half-written row is gone.
    other = connect(data_dir / "worrybox.db")
    try:
        other.execute("PRAGMA busy_timeout = 100")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        assert other.execute("SELECT count(*) FROM tablets WHERE name = 'half written'").fetchone()[0] == 0
    finally:
        other.close()
    # The same worker's next request is not inside the old transaction either.
    assert KioskHelper(client).post(text="next child", feeling="sad").status_code == 303
    assert not worker_db(app).conn.in_transaction
    assert stored_texts_count(data_dir) == 1


def test_a_settings_change_made_in_the_console_shows_on_the_kiosks_next_page(kiosk, staff_member, console, db):
    start = kiosk.get("/").get_data(as_text=True)  # the kiosk has read (and kept) the settings
    assert 'lang="en"' in start and 'data-idle-seconds="60"' in start
    staff_member.login()
    page = console.get("/kiosk").get_data(as_text=True)
    assert console.post("/kiosk", data={"csrf_token": csrf_token(page), "kiosk_language": "pl",
                                        "kiosk_idle_seconds": "90"}).status_code == 303
    start = kiosk.get("/").get_data(as_text=True)
    assert 'lang="pl"' in start and 'data-idle-seconds="90"' in start
    # A change from anywhere else (the command line, another process) is seen just the same.
    set_setting(db, "kiosk_idle_seconds", "120")
    assert 'data-idle-seconds="120"' in kiosk.get("/").get_data(as_text=True)


def test_a_page_reads_the_settings_once_and_later_pages_only_look_at_their_version(kiosk, kiosk_app, db):
    kiosk.get("/")
    statements = []
    worker_db(kiosk_app).conn.set_trace_callback(statements.append)

    def reads(table):
        return [sql for sql in statements if re.search(r"\bFROM %s\b" % table, sql)]

    kiosk.get("/")  # the start page shows the school's name, language and idle time
    assert len(reads("settings_version")) == 1 and reads("settings") == []
    statements.clear()
    set_setting(db, "school_name", "Hillside Primary and Nursery")
    assert "Hillside Primary and Nursery" in kiosk.get("/").get_data(as_text=True)
    assert len(reads("settings_version")) == 1 and len(reads("settings")) == 1


def test_every_settings_change_bumps_the_version_in_its_own_transaction(db):
    version = lambda: db.execute("SELECT version FROM settings_version").fetchone()[0]  # noqa: E731
    before = version()
    set_setting(db, "kiosk_idle_seconds", "30")
    assert version() == before + 1
    try:
        with write_transaction(db):
            set_setting(db, "kiosk_idle_seconds", "45")
            raise RuntimeError("a change that never happened")
    except RuntimeError:
        pass
    assert version() == before + 1
    db.execute("DELETE FROM settings WHERE name = 'kiosk_idle_seconds'")
    assert version() == before + 2


def test_a_setting_removed_by_a_write_is_gone_for_the_rest_of_the_request(db):
    set_setting(db, "smtp_host", "mail.school.example")
    keep_settings(db)  # as the web layer does for a worker's connection
    assert get_setting(db, "smtp_host") == "mail.school.example"
    with write_transaction(db):
        db.execute("DELETE FROM settings WHERE name = 'smtp_host'")
    assert get_setting(db, "smtp_host") is None


def test_a_post_is_stored_in_one_transaction_with_its_flood_check(kiosk_app, child, data_dir):
    child.form()
    statements = []
    worker_db(kiosk_app).conn.set_trace_callback(statements.append)
    assert child.post(text="one wait for the disk", feeling="sad").status_code == 303
    assert [sql for sql in statements if sql.strip().upper() in ("COMMIT", "END")] == ["COMMIT"]
    assert worker_db(kiosk_app).execute("SELECT posted_from IS NOT NULL FROM worries").fetchall() == [(1,)]


def test_when_the_flood_check_fails_the_child_is_not_thanked_and_nothing_is_stored(monkeypatch, child, data_dir):
    from worrybox import throttle

    def fails(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(throttle, "mark_if_flood", fails)
    response = child.post(text="stored only if all of it is", feeling="sad")
    assert response.status_code == 503
    assert stored_texts_count(data_dir) == 0


def test_a_name_tile_from_before_a_roster_import_no_longer_names_anyone(kiosk, data_dir, db):
    from helpers import PUPILS
    from worrybox import roster
    from worrybox.config import Paths
    from worrybox.school import pupil_keys

    keys = pupil_keys(Paths(data_dir))
    old_tile = roster.choice_tokens(db, keys, [keys.pupil_ref("P001")])[keys.pupil_ref("P001")]
    assert roster.pupil_by_choice(db, keys, old_tile).pupil_id == "P001"
    roster.import_roster(db, keys, [roster.Pupil("P001", "Amira", "Qureshi", "5B"), *PUPILS[1:]])
    assert roster.pupil_by_choice(db, keys, old_tile) is None
    new_tile = roster.choice_tokens(db, keys, [keys.pupil_ref("P001")])[keys.pupil_ref("P001")]
    assert roster.pupil_by_choice(db, keys, new_tile).class_name == "5B"
    assert roster.pupil_by_choice(db, keys, "not-a-tile") is None
