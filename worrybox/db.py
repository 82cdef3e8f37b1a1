"""The school's SQLite database: connecting, the one way to write, and school settings."""

import contextlib
import fcntl
import sqlite3
import time
from pathlib import Path

from sqlite_utils import Database

from .migrations import migrations

BUSY_TIMEOUT_MS = 15000

class SchoolDatabase(Database):
    """sqlite-utils' Database, plus the file lock that queues this school's writers (None in memory)."""

    def __init__(self, conn: sqlite3.Connection, writers_lock_path: str | None = None):
        super().__init__(conn)
        self.writers_lock_path = writers_lock_path
        # A web worker's own connection keeps the settings it read (see keep_settings); others read each time.
        self.keeps_settings = False
        self.kept_settings: tuple[int, dict[str, str]] | None = None  # (settings_version, every setting)
        self.settings_this_request: dict[str, str] | None = None


def connect(path: Path | str | None = None) -> SchoolDatabase:
    """Open the database with the settings every process must use (or in memory for tests)."""
    # isolation_level=None: each statement commits by itself unless inside an explicit
    # transaction (write_transaction()), so nothing is left uncommitted.
    # timeout= sets the busy timeout before the first statement, so even switching a new file to WAL
    # waits for another process instead of failing with "database is locked".
    conn = sqlite3.connect(":memory:" if path is None else str(path), isolation_level=None,
                           check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    db = SchoolDatabase(conn, None if path is None else str(path) + ".writers-lock")
    if path is not None:
        # WAL lets the kiosk write while the console reads; it is a property of the file.
        _switch_to_wal(db)
    # FULL: an acknowledged worry survives a power cut, not only a crash.
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    # Deleted rows are overwritten, so retention really removes what it removes.
    db.execute("PRAGMA secure_delete=ON")
    return db


def _switch_to_wal(db: Database) -> None:
    # Changing the journal mode can answer "database is locked" at once, without waiting, while another
    # process is opening the same new file; it only has to succeed once per file, so try again briefly.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def migrate(db: Database, lock_path: Path | None = None) -> None:
    """Apply pending migrations; safe to run again and from several processes at once."""
    if lock_path is None:
        migrations.apply(db)
        return
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            migrations.apply(db)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def writers_queue(db: Database):
    """Queue this process's write behind others on a file lock.

    SQLite makes a blocked writer sleep and retry (up to 100 ms at a time), so under load a post
    can wait far longer than the 2 ms the write takes; a blocking file lock wakes the next writer
    the moment the last one commits. Without a lock file (in memory, read-only) writes go ahead.
    """
    path = getattr(db, "writers_lock_path", None)  # a plain sqlite-utils Database has none
    try:
        lock = open(path, "a") if path else None
    except OSError:
        lock = None
    if lock is None:
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def write_transaction(db: Database):
    """Run a block of reads and writes as one transaction: the one way this project writes.

    It queues behind other writers and holds SQLite's write lock from the start (BEGIN IMMEDIATE), so
    a read-then-write cannot be overtaken. Inside another write_transaction it is a savepoint.
    """
    try:
        if db.conn.in_transaction:
            with db.atomic():
                yield db
            return
        with writers_queue(db):
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.rollback()
                raise
            else:
                db.execute("COMMIT")
    finally:
        if getattr(db, "keeps_settings", False):
            db.settings_this_request = None  # whatever the block wrote, the rest of the request sees it


def keep_settings(db: SchoolDatabase) -> None:
    """Start a request on a worker's own connection: settings are read at most once in it, and only if they changed.

    Each request looks at settings_version once (when it first needs a setting); every setting is read
    again only when that number has moved since this connection last read them.
    """
    db.keeps_settings = True
    db.settings_this_request = None


def _settings_for_request(db: SchoolDatabase) -> dict[str, str]:
    if db.settings_this_request is None:
        # The version first: a change committed between the two reads only makes the next request read again.
        version = db.execute("SELECT version FROM settings_version").fetchone()[0]
        kept = db.kept_settings
        if kept is None or kept[0] != version:
            kept = (version, dict(db.execute("SELECT name, value FROM settings").fetchall()))
            if not db.conn.in_transaction:  # what an uncommitted transaction saw may yet be rolled back
                db.kept_settings = kept
        db.settings_this_request = kept[1]
    return db.settings_this_request


def get_setting(db: Database, name: str, default: str | None = None) -> str | None:
    """Return one school setting."""
    if getattr(db, "keeps_settings", False):
        return _settings_for_request(db).get(name, default)
    row = db.execute("SELECT value FROM settings WHERE name = ?", [name]).fetchone()
    return row[0] if row else default


def set_setting(db: Database, name: str, value: str) -> None:
    """Store one school setting (triggers bump settings_version in the same transaction)."""
    db.execute(
        "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        [name, value],
    )
    if getattr(db, "keeps_settings", False):
        db.settings_this_request = None  # the rest of this request sees the change
