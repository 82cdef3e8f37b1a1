"""Storage: the schema as migrations, the settings that keep a worry safe, and the append-only audit log."""

import sqlite3
import subprocess
import sys

import pytest

from worrybox import worries
from worrybox.db import connect, migrate, migrations


def test_migrations_build_the_schema_from_an_empty_database():
    db = connect()
    migrate(db)
    assert {"worries", "worry_keys", "staff", "keys", "key_wraps", "pupils", "actions", "audit_log",
            "login_attempts", "staff_sessions", "settings"} <= set(db.table_names())
    assert [m.name for m in migrations.applied(db)] == [m.name for m in migrations._migrations]


def test_migrations_are_safe_to_apply_again(tmp_path):
    db = connect(tmp_path / "w.db")
    migrate(db)
    db.execute("INSERT INTO settings (name, value) VALUES ('school_name', 'Kept')")
    migrate(db)
    migrate(connect(tmp_path / "w.db"))
    assert db.execute("SELECT value FROM settings").fetchall() == [("Kept",)]


@pytest.mark.slow
def test_several_processes_starting_at_once_apply_each_migration_once(tmp_path):
    script = ("import sys; from pathlib import Path; from worrybox.db import connect, migrate; "
              "p = Path(sys.argv[1]); migrate(connect(p / 'w.db'), lock_path=p / '.lock')")
    processes = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stderr=subprocess.PIPE)
                 for _ in range(4)]
    errors = [process.communicate(timeout=60)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0, 0], errors
    db = connect(tmp_path / "w.db")
    names = [row[0] for row in db.execute("SELECT name FROM _sqlite_migrations")]
    assert len(names) == len(set(names)) == len(migrations._migrations)


def test_every_connection_uses_wal_full_sync_secure_delete_and_a_busy_timeout(tmp_path):
    db = connect(tmp_path / "w.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_the_audit_log_cannot_be_changed_or_deleted():
    db = connect()
    migrate(db)
    db.execute("INSERT INTO audit_log (at, event) VALUES ('2026-01-01', 'open_worry')")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET event = 'nothing'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log")
    assert db.execute("SELECT event FROM audit_log").fetchall() == [("open_worry",)]


def test_a_statement_outside_a_transaction_is_committed_at_once(tmp_path):
    writer = connect(tmp_path / "w.db")
    migrate(writer)
    writer.execute("INSERT INTO settings (name, value) VALUES ('a', 'b')")
    reader = connect(tmp_path / "w.db")
    assert reader.execute("SELECT value FROM settings WHERE name = 'a'").fetchone() == ("b",)


@pytest.mark.parametrize("key_count", [1, 3], ids=["team key", "team and personal keys"])
@pytest.mark.parametrize("view", ["open", "closed"])
def test_the_queue_reads_one_page_through_an_index_instead_of_sorting_every_worry(view, key_count, monkeypatch):
    db = connect()
    migrate(db)
    # Plan the statement queue() really sends, so changing the query cannot leave this test checking a copy.
    sent = []
    execute = db.execute
    monkeypatch.setattr(db, "execute", lambda sql, params=None: sent.append((sql, params)) or execute(sql, params))
    worries.queue(db, ["key-%d" % n for n in range(key_count)], status=view)
    monkeypatch.undo()
    assert [sql for sql, _ in sent] == [worries.queue_sql(key_count, view)]
    sql, params = sent[0]
    plan = " ".join(str(step) for step in db.execute("EXPLAIN QUERY PLAN " + sql, params))
    assert "TEMP B-TREE" not in plan and "queue_order" in plan
