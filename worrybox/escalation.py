"""Visits, the repeat-visit rule, escalations and the alerts they queue.

A visit is a worry posted by a named pupil or a peer-mediator chat the pupil came to. Every
function here runs inside the caller's transaction, so a visit and the escalation it causes,
and an escalation and its alert, are stored together or not at all.
"""

from datetime import datetime, timedelta

from .clock import iso, school_time
from .db import get_setting

DEFAULT_THRESHOLD = 6
DEFAULT_WINDOW_DAYS = 90

REASONS = {
    "repeat_visits": "Repeat visits",
    "urgent": "Urgent worry",
    "pass_to_adult": "Passed on by a mediator",
    "pattern": "A pattern the DSL chose",
}


def visit_rule(db) -> tuple[int, int]:
    """Return (threshold, window_days): a pupil with more than threshold visits in the window is escalated."""
    threshold = int(get_setting(db, "visit_threshold", str(DEFAULT_THRESHOLD)))
    window_days = int(get_setting(db, "visit_window_days", str(DEFAULT_WINDOW_DAYS)))
    return threshold, window_days


def visits_in_window(db, pupil_ref: str, at: datetime, window_days: int) -> int:
    """Count a pupil's visits in the window ending at `at` (uses the (pupil_ref, at) index)."""
    return db.execute(
        "SELECT count(*) FROM visits WHERE pupil_ref = ? AND at > ? AND at <= ?",
        [pupil_ref, iso(at - timedelta(days=window_days)), iso(at)],
    ).fetchone()[0]


def record_visit(db, pupil_ref: str, at: datetime, kind: str, worry_id: int | None = None,
                 booking_id: int | None = None, where: str = "the kiosk") -> int | None:
    """Record a visit and escalate if it takes the pupil past the threshold; return any new escalation id."""
    db.execute(
        "INSERT INTO visits (pupil_ref, at, kind, worry_id, booking_id) VALUES (?, ?, ?, ?, ?)",
        [pupil_ref, iso(at), kind, worry_id, booking_id],
    )
    from . import patterns  # patterns imports this module

    # The DSL's own pattern rules (worries about a topic, visits), in this same transaction.
    patterns.check_after(db, pupil_ref, at, kind, worry_id=worry_id, booking_id=booking_id, where=where)
    threshold, window_days = visit_rule(db)
    count = visits_in_window(db, pupil_ref, at, window_days)
    if count <= threshold:
        return None
    return escalate(db, "repeat_visits", at, pupil_ref=pupil_ref, visit_count=count, worry_id=worry_id,
                    booking_id=booking_id, where=where)


def escalate(db, reason: str, at: datetime, pupil_ref: str | None = None, visit_count: int | None = None,
             worry_id: int | None = None, booking_id: int | None = None, where: str = "the kiosk",
             rule_id: int | None = None) -> int | None:
    """Open an escalation and queue its alert; None if this pupil already has one open for this reason (or rule).

    Urgent worries always escalate: each one is its own emergency.
    """
    # No conflict target: the partial unique indexes (one open per child per reason, per pattern rule) decide.
    cursor = db.execute(
        "INSERT INTO escalations (reason, pupil_ref, created_at, visit_count, worry_id, booking_id, rule_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [reason, pupil_ref, iso(at), visit_count, worry_id, booking_id, rule_id],
    )
    if cursor.rowcount == 0:
        return None
    escalation_id = cursor.lastrowid
    subject, body = alert_text(db, reason, at, visit_count, where, rule_id)
    db.execute(
        "INSERT INTO outbox (created_at, escalation_id, subject, body, next_attempt_at) VALUES (?, ?, ?, ?, ?)",
        [iso(at), escalation_id, subject, body, iso(at)],
    )
    return escalation_id


def alert_text(db, reason: str, at: datetime, visit_count: int | None, where: str,
               rule_id: int | None = None) -> tuple[str, str]:
    """Return an alert's subject and body: when and where, never a name or a word of the worry."""
    clock = school_time(db, at).strftime("%H:%M on %a %-d %b")
    scheme = get_setting(db, "scheme_name", "Problem Pals")
    if reason == "urgent":
        subject = "Urgent worry posted"
        what = "An urgent worry was posted at %s on %s." % (clock, where)
    elif reason == "pass_to_adult":
        subject = "A %s chat was passed to an adult" % scheme
        what = "A %s mediator passed a chat on to an adult at %s." % (scheme, clock)
    elif reason == "pattern":
        from .patterns import describe_rule  # patterns imports this module

        subject = "A pattern about a child needs a look"
        what = "A child now matches the rule \"%s\" (most recently at %s)." % (describe_rule(db, rule_id), clock)
    else:
        threshold, window_days = visit_rule(db)
        subject = "A child has come back many times"
        what = "A child has now visited %d times in %d days (more than %d), most recently at %s." % (
            visit_count or 0, window_days, threshold, clock)
    school = get_setting(db, "school_name", "your school")
    body = "%s\n\nSign in to the Worry Box staff console to see who and what to do.\n\n-- Worry Box, %s\n" % (what, school)
    return subject, body


def open_escalations(db) -> list[dict]:
    """Return every open escalation, newest first."""
    columns = ("id", "reason", "pupil_ref", "created_at", "visit_count", "worry_id", "booking_id")
    rows = db.execute(
        "SELECT %s FROM escalations WHERE status = 'open' ORDER BY id DESC" % ", ".join(columns)
    ).fetchall()
    return [dict(zip(columns, row)) for row in rows]


def count_open(db) -> int:
    return db.execute("SELECT count(*) FROM escalations WHERE status = 'open'").fetchone()[0]


def acknowledged_escalations(db, limit: int = 20) -> list[dict]:
    """Return the most recently acknowledged escalations, with the name of who acknowledged each."""
    columns = ("id", "reason", "pupil_ref", "created_at", "visit_count", "worry_id", "booking_id",
               "acknowledged_at", "acknowledged_by")
    rows = db.execute(
        "SELECT e.id, e.reason, e.pupil_ref, e.created_at, e.visit_count, e.worry_id, e.booking_id, "
        "e.acknowledged_at, s.name FROM escalations e LEFT JOIN staff s ON s.id = e.acknowledged_by "
        "WHERE e.status = 'acknowledged' ORDER BY e.acknowledged_at DESC, e.id DESC LIMIT ?", [limit]
    ).fetchall()
    return [dict(zip(columns, row)) for row in rows]
