"""Repeat visits: counting, the threshold, escalations in the same transaction, and alerts."""

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from worrybox import escalation, worries
from worrybox.db import set_setting, write_transaction
from worrybox.recipients import worry_recipients

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)


def _open(db, reason=None):
    sql = "SELECT reason, visit_count FROM escalations WHERE status = 'open'"
    rows = db.execute(sql).fetchall()
    return [r for r in rows if reason is None or r[0] == reason]


def _visits(db, pupil_ref, count, start=T0, kind="worry"):
    results = []
    for n in range(count):
        with write_transaction(db):
            results.append(escalation.record_visit(db, pupil_ref, start + timedelta(hours=n), kind))
    return results


def test_seventh_visit_escalates_when_threshold_is_six(db):
    results = _visits(db, "pupil-a", 7)
    assert results[:6] == [None] * 6
    assert results[6] is not None
    assert _open(db) == [("repeat_visits", 7)]


def test_sixth_visit_does_not_escalate(db):
    _visits(db, "pupil-a", 6)
    assert _open(db) == []


def test_a_visit_outside_the_window_does_not_count(db):
    _visits(db, "pupil-a", 1, start=T0 - timedelta(days=91))
    _visits(db, "pupil-a", 6)
    assert _open(db) == []
    _visits(db, "pupil-a", 1, start=T0 + timedelta(days=1))
    assert _open(db) == [("repeat_visits", 7)]


def test_worries_and_attended_chats_count_together(db):
    _visits(db, "pupil-a", 4, kind="worry")
    _visits(db, "pupil-a", 2, start=T0 + timedelta(days=1), kind="chat")
    assert _open(db) == []
    _visits(db, "pupil-a", 1, start=T0 + timedelta(days=2), kind="chat")
    assert _open(db) == [("repeat_visits", 7)]


def test_changing_the_threshold_takes_effect_at_once(db):
    _visits(db, "pupil-a", 3)
    set_setting(db, "visit_threshold", "3")
    _visits(db, "pupil-a", 1, start=T0 + timedelta(days=1))
    assert _open(db) == [("repeat_visits", 4)]


def test_changing_the_window_takes_effect_at_once(db):
    _visits(db, "pupil-a", 7, start=T0 - timedelta(days=40))
    assert _open(db) == [("repeat_visits", 7)]
    db.execute("UPDATE escalations SET status = 'acknowledged'")
    set_setting(db, "visit_window_days", "30")
    _visits(db, "pupil-a", 1)
    assert _open(db) == []


def test_one_open_escalation_per_pupil_per_reason(db):
    _visits(db, "pupil-a", 10)
    assert _open(db) == [("repeat_visits", 7)]
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    db.execute("UPDATE escalations SET status = 'acknowledged'")
    _visits(db, "pupil-a", 1, start=T0 + timedelta(days=1))
    assert _open(db) == [("repeat_visits", 11)]


def test_every_urgent_worry_escalates_and_queues_an_alert(db):
    recipients = worry_recipients(db)
    for n in range(2):
        worries.post_worry(db, recipients, worries.NewWorry(submission_id="urgent-%d-xxxxxxxxxx" % n, urgent=True))
    assert [r[0] for r in _open(db)] == ["urgent", "urgent"]
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 2


def test_a_secret_worry_never_counts_as_a_visit(db):
    recipients = worry_recipients(db)
    for n in range(10):
        worries.post_worry(db, recipients, worries.NewWorry(submission_id="secret-%d-xxxxxxxxxx" % n, feeling="sad"))
    assert db.execute("SELECT count(*) FROM visits").fetchone()[0] == 0
    assert _open(db) == []


def test_a_named_worry_is_a_visit(db):
    recipients = worry_recipients(db)
    worries.post_worry(db, recipients, worries.NewWorry(submission_id="named-xxxxxxxxxxxxxx", feeling="sad",
                                                        pupil_ref="pupil-a"))
    assert db.execute("SELECT pupil_ref, kind, worry_id FROM visits").fetchall() == [("pupil-a", "worry", 1)]


def test_visit_and_escalation_are_stored_together_or_not_at_all(db):
    recipients = worry_recipients(db)
    set_setting(db, "visit_threshold", "0")
    # Make the escalation's alert fail to store, as a crash would at that moment.
    db.execute("CREATE TEMP TRIGGER outbox_breaks BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'power cut'); END")
    with pytest.raises(sqlite3.IntegrityError, match="power cut"):
        worries.post_worry(db, recipients, worries.NewWorry(submission_id="crash-xxxxxxxxxxxxxx", feeling="sad",
                                                            pupil_ref="pupil-a"))
    counts = [db.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
              for table in ("worries", "visits", "escalations", "outbox")]
    assert counts == [0, 0, 0, 0]
    db.execute("DROP TRIGGER outbox_breaks")
    worries.post_worry(db, recipients, worries.NewWorry(submission_id="crash-xxxxxxxxxxxxxx", feeling="sad",
                                                        pupil_ref="pupil-a"))
    counts = [db.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
              for table in ("worries", "visits", "escalations", "outbox")]
    assert counts == [1, 1, 1, 1]


def test_alert_text_names_no_child_and_quotes_no_worry(db):
    subject, body = escalation.alert_text(db, "urgent", T0, None, "the Class 4 tablet")
    assert "urgent worry was posted at 10:00" in body and "Class 4 tablet" in body
    subject, body = escalation.alert_text(db, "repeat_visits", T0, 7, "the kiosk")
    assert "7 times in 90 days (more than 6)" in body


def test_the_threshold_check_uses_the_pupil_index(db):
    plan = db.execute("EXPLAIN QUERY PLAN " + escalation.VISITS_IN_WINDOW_SQL, ["a", "b", "c"]).fetchall()
    assert "visits_by_pupil" in " ".join(str(step) for step in plan)
