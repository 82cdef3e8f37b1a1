"""Visits, the repeat-visit rule, escalations and the alerts they queue.

A visit is a worry posted by a named pupil or a peer-mediator chat the pupil came to. Every
function here runs inside the caller's transaction, so a visit and the escalation it causes,
and an escalation and its alert, are stored together or not at all.
"""

from datetime import datetime, timedelta

from .clock import iso, now as clock_now, school_time
from .choices import PLACES
from .db import get_setting, write_transaction

DEFAULT_THRESHOLD = 6
DEFAULT_WINDOW_DAYS = 90
# The on-call chain: what nobody acknowledges within this many minutes goes to the next person on the list.
ON_CALL_REASONS = ("urgent", "pass_to_adult")
DEFAULT_ON_CALL_MINUTES = 5

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


# A pupil's visits in a window (parameters: pupil_ref, start, end); the (pupil_ref, at) index answers it.
VISITS_IN_WINDOW_SQL = "SELECT count(*) FROM visits WHERE pupil_ref = ? AND at > ? AND at <= ?"


def visits_in_window(db, pupil_ref: str, at: datetime, window_days: int) -> int:
    """Count a pupil's visits in the window ending at `at` (uses the (pupil_ref, at) index)."""
    return db.execute(VISITS_IN_WINDOW_SQL, [pupil_ref, iso(at - timedelta(days=window_days)), iso(at)]).fetchone()[0]


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
    subject, body = alert_text(db, reason, at, visit_count, where, worry_id, rule_id)
    minutes, on_call = on_call_rule(db)
    first = on_call[:1] if reason in ON_CALL_REASONS else []
    recipients = None
    if first:
        school = [r.strip() for r in (get_setting(db, "alert_recipients") or "").split(",") if r.strip()]
        recipients = ", ".join(dict.fromkeys(school + first))
    db.execute(
        "INSERT INTO outbox (created_at, escalation_id, subject, body, next_attempt_at, recipients) "
        "VALUES (?, ?, ?, ?, ?, ?)", [iso(at), escalation_id, subject, body, iso(at), recipients],
    )
    if reason in ON_CALL_REASONS:
        db.execute("UPDATE escalations SET alert_level = 0, next_alert_at = ? WHERE id = ?",
                   [iso(at + timedelta(minutes=minutes)) if len(on_call) > 1 else None, escalation_id])
    record_event(db, escalation_id, at, "alert_sent", detail="alert e-mail to %s" % (
        recipients or "the school's alert recipients"))
    return escalation_id


def on_call_rule(db) -> tuple[int, list[str]]:
    """Return (minutes, people): what nobody acknowledges within the minutes goes to the next e-mail on the list."""
    try:
        minutes = max(1, min(int(get_setting(db, "on_call_minutes", str(DEFAULT_ON_CALL_MINUTES))), 240))
    except ValueError:
        minutes = DEFAULT_ON_CALL_MINUTES
    text = (get_setting(db, "on_call_list") or "").replace("\n", ",")
    return minutes, list(dict.fromkeys(e.strip() for e in text.split(",") if e.strip()))


def record_event(db, escalation_id: int, at: datetime, event: str, staff_id: int | None = None,
                 detail: str | None = None) -> None:
    """Add a line to an escalation's own chronology: an alert sent ('alert_sent') or 'acknowledged'."""
    db.execute("INSERT INTO escalation_events (escalation_id, at, event, staff_id, detail) VALUES (?, ?, ?, ?, ?)",
               [escalation_id, iso(at), event, staff_id, detail])


def queue_on_call_alerts(db, now: datetime | None = None) -> int:
    """E-mail the next person on the on-call list about each urgent escalation nobody has acknowledged in time."""
    now = now or clock_now()
    if db.execute("SELECT 1 FROM escalations WHERE status = 'open' AND next_alert_at <= ? LIMIT 1",
                  [iso(now)]).fetchone() is None:  # a read, so most rounds never take the write lock
        return 0
    sent = 0
    with write_transaction(db):
        minutes, on_call = on_call_rule(db)
        due = db.execute("SELECT e.id, e.reason, e.created_at, e.alert_level, e.worry_id, w.tablet FROM escalations e "
                         "LEFT JOIN worries w ON w.id = e.worry_id WHERE e.status = 'open' AND e.next_alert_at <= ? "
                         "ORDER BY e.id", [iso(now)]).fetchall()
        for escalation_id, reason, created_at, level, worry_id, tablet in due:
            level += 1
            if level >= len(on_call):
                db.execute("UPDATE escalations SET next_alert_at = NULL WHERE id = ?", [escalation_id])
                continue
            posted = datetime.fromisoformat(created_at)
            subject, body = alert_text(db, reason, posted, None, tablet or "the kiosk", worry_id)
            waited = int((now - posted).total_seconds() // 60)
            body = ("Nobody has acknowledged this in the staff console after %d minutes, so it comes to you: "
                    "you are next on the school's on-call list.\n\n%s" % (waited, body))
            db.execute("INSERT INTO outbox (created_at, escalation_id, subject, body, next_attempt_at, recipients) "
                       "VALUES (?, ?, ?, ?, ?, ?)", [iso(now), escalation_id, "Not yet acknowledged: " + subject,
                                                    body, iso(now), on_call[level]])
            last = level + 1 >= len(on_call)
            db.execute("UPDATE escalations SET alert_level = ?, next_alert_at = ? WHERE id = ?",
                       [level, None if last else iso(now + timedelta(minutes=minutes)), escalation_id])
            record_event(db, escalation_id, now, "alert_sent", detail="alert e-mail to %s (next on call: nobody had "
                         "acknowledged it after %d minutes)" % (on_call[level], waited))
            sent += 1
    return sent


def acknowledge(db, escalation_id: int, staff_id: int, how: str, at: datetime | None = None) -> bool:
    """Acknowledge an open escalation for everyone, recording who, when and how; False if it was not open."""
    at = at or clock_now()
    changed = db.execute("UPDATE escalations SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ?, "
                         "next_alert_at = NULL WHERE id = ? AND status = 'open'",
                         [iso(at), staff_id, escalation_id]).rowcount
    if changed:
        record_event(db, escalation_id, at, "acknowledged", staff_id=staff_id, detail=how)
    return bool(changed)


def acknowledge_for_worry(db, worry_id: int, staff_id: int, how: str, at: datetime | None = None) -> int:
    """Acknowledge every open urgent escalation of a worry, for everyone: who, when and how; return how many."""
    open_ids = [row[0] for row in db.execute(
        "SELECT id FROM escalations WHERE worry_id = ? AND status = 'open' AND reason = 'urgent'", [worry_id])]
    return sum(acknowledge(db, escalation_id, staff_id, how, at) for escalation_id in open_ids)


def latest_id(db) -> int:
    """The newest escalation's id (0 if none): the live console notices a new one by it."""
    return db.execute("SELECT coalesce(max(id), 0) FROM escalations").fetchone()[0]


def events_for_worry(db, worry_id: int) -> list[dict]:
    """The alerts and acknowledgements of a worry's escalations, oldest first, with who acknowledged."""
    rows = db.execute(
        "SELECT v.at, v.event, v.detail, s.name FROM escalation_events v JOIN escalations e ON e.id = v.escalation_id "
        "LEFT JOIN staff s ON s.id = v.staff_id WHERE e.worry_id = ? ORDER BY v.id", [worry_id]).fetchall()
    return [{"at": at, "action": event, "note": detail, "staff_name": name or "Worry Box"}
            for at, event, detail, name in rows]


def alert_text(db, reason: str, at: datetime, visit_count: int | None, where: str,
               worry_id: int | None = None, rule_id: int | None = None) -> tuple[str, str]:
    """Return an alert's subject and body: when and where, never a name or a word of the worry."""
    clock = school_time(db, at).strftime("%H:%M on %a %-d %b")
    scheme = get_setting(db, "scheme_name", "Problem Pals")
    if reason == "urgent":
        subject = "Urgent worry posted"
        what = "An urgent worry was posted at %s on %s." % (clock, where)
        place = db.execute("SELECT place FROM worries WHERE id = ?", [worry_id]).fetchone() if worry_id else None
        if place and place[0] in PLACES:
            # The picture the child chose for where they are now: so whoever comes knows where to look.
            what += " The child chose this picture for where they are: %s." % PLACES[place[0]][0]
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
