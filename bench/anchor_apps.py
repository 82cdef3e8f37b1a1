"""The anchors: the least Flask, gunicorn, SQLite and the sealing can do, served like the kiosk.

gunicorn loads these with the kiosk's production config, so each anchor sees the same workers as
the real app. BENCH_ANCHOR_DIR names a directory holding recipient.pub and anchor.db (a WAL-mode
SQLite file with one table, both made by create_anchor_files before gunicorn starts).
"""

import fcntl
import os
import sqlite3
from pathlib import Path

from flask import Flask, request

from worrybox import opening, sealing

ANCHOR_DIR_ENV = "BENCH_ANCHOR_DIR"


def create_anchor_files(anchor_dir: Path) -> None:
    """Write the recipient public key and the empty WAL-mode database the sealed-insert anchor uses."""
    anchor_dir.mkdir(parents=True, exist_ok=True)
    (anchor_dir / "recipient.pub").write_bytes(opening.public_key_of(opening.generate_private_key()))
    connection = sqlite3.connect(anchor_dir / "anchor.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE IF NOT EXISTS sealed (id INTEGER PRIMARY KEY, body BLOB NOT NULL, "
                       "sealed_key BLOB NOT NULL)")
    connection.close()


def create_hello_app():
    """A bare Flask app: one route that says hello."""
    app = Flask(__name__)

    @app.get("/")
    def hello():
        return "hello"

    @app.get("/healthz")
    def healthz():
        return "ok"

    return app


def create_sealed_insert_app(write_lock: bool = False):
    """A minimal endpoint: seal the posted text to one key (the kiosk's HPKE suite), insert it, commit durably.

    With write_lock, writers from every worker queue on a blocking file lock before they begin, instead
    of meeting in SQLite, whose busy handler makes a waiting writer sleep and retry (1, 2, 5 ... 100 ms).
    """
    anchor_dir = Path(os.environ[ANCHOR_DIR_ENV])
    recipients = {"team-anchor": (anchor_dir / "recipient.pub").read_bytes()}
    app = Flask(__name__)
    connection = lock_fd = None

    def db():
        # One connection per worker process, opened after gunicorn forks.
        nonlocal connection, lock_fd
        if connection is None:
            connection = sqlite3.connect(anchor_dir / "anchor.db", isolation_level=None)
            connection.execute("PRAGMA busy_timeout=15000")
            connection.execute("PRAGMA synchronous=FULL")
            if write_lock:
                lock_fd = os.open(anchor_dir / "write.lock", os.O_RDWR | os.O_CREAT, 0o600)
        return connection

    @app.post("/seal")
    def seal():
        text = request.form["text"].encode("utf-8")
        conn = db()
        if lock_fd is not None:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row_id = conn.execute("INSERT INTO sealed (body, sealed_key) VALUES (X'', X'')").lastrowid
                sealed = sealing.seal(recipients, text, b"anchor|%d" % row_id)
                conn.execute("UPDATE sealed SET body = ?, sealed_key = ? WHERE id = ?",
                             [sealed.body, sealed.keys["team-anchor"], row_id])
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            if lock_fd is not None:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)
        return "", 201

    @app.get("/healthz")
    def healthz():
        db()
        return "ok"

    return app
