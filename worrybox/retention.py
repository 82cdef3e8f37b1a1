"""Retention that keeps the picture: nothing is deleted until a DSL confirms a "to review for deletion" list.

On the list: closed worries and concerns, never marked a child-protection concern and with no escalation
open, closed longer ago than the school's limit, whose child has left the roster (a worry without a name
by its age alone). While a child is on the roster their record stays whole, so the DSL can still see
the pattern. The daily run only counts the list; a DSL confirming it deletes exactly what it showed.

Deleted with a worry: its sealed text and drawing, the keys it was sealed to (worry_keys), every action and
note on it (actions, action_keys), and any note written when an escalation it raised was acknowledged
(escalations.sealed_note, escalation_keys). Kept, because counting needs them and they hold no words and no
name: the child's visits (the repeat-visit rule counts them over a window that may be longer than the
retention limit) and the escalation rows (governors' reports count them and how fast they were
acknowledged), each with its worry_id cleared; alerts in the outbox (they never carried a name or a word);
and the audit log, which is append-only and holds no content. The database deletes with secure_delete on,
so what is deleted is overwritten, and the write-ahead log is checkpointed afterwards.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .db import get_setting, set_setting, write_transaction
from .clock import school_time
from .audit import audit

DEFAULT_DAYS = 365
MIN_DAYS, MAX_DAYS = 30, 3650
DAYS_SETTING = "retention_days"
LAST_RUN_SETTING = "last_retention_run"
# Every table that points at a worry, and what retention does with its rows (a test holds new tables to this).
WITH_A_DELETED_WORRY = {
    "worry_keys": "deleted",
    "actions": "deleted, with their sealed notes and action_keys",
    "visits": "kept for counting, worry_id cleared",
    "escalations": "kept for counting, worry_id and the sealed acknowledgement note cleared",
    "audit_log": "kept: append-only, holds no content",
    "follow_ups": "deleted (what to do was a sealed note of an action)",
    "referrals": "kept for counting (governors' report), worry_id and its chronology entries cleared",
}
CHUNK = 500


@dataclass(frozen=True)
class RetentionResult:
    """What one retention run found to review for deletion, and what it kept past the limit and why."""

    to_review: int
    kept_child_protection: int
    kept_open_escalation: int
    closed_before: datetime
    days: int

    def summary(self, dry_run: bool = False) -> str:
        return "%d closed worr%s to review for deletion (closed before %s, kept for %d days, child off the roster); " \
               "nothing deleted until a DSL confirms the list; kept %d child-protection concern%s " \
               "and %d with an escalation still open" % (
                   self.to_review, "y" if self.to_review == 1 else "ies",
                   self.closed_before.date().isoformat(), self.days, self.kept_child_protection,
                   "" if self.kept_child_protection == 1 else "s", self.kept_open_escalation)


def retention_days(db) -> int:
    """How many days after closing a worry that is not a child-protection concern is kept."""
    try:
        days = int(get_setting(db, DAYS_SETTING, str(DEFAULT_DAYS)))
    except ValueError:
        return DEFAULT_DAYS
    return min(max(days, MIN_DAYS), MAX_DAYS)


def set_retention_days(db, days: int) -> None:
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValueError("retention must be from %d to %d days" % (MIN_DAYS, MAX_DAYS))
    set_setting(db, DAYS_SETTING, str(days))


def _closed_before(db, now: datetime) -> tuple[datetime, str]:
    cutoff = now - timedelta(days=retention_days(db))
    return cutoff, cutoff.astimezone(timezone.utc).isoformat(timespec="microseconds")


# A named child's worries stay while the child is on the roster; one without a name goes by its age alone.
_OFF_THE_ROSTER = "(w.pupil_ref IS NULL OR w.pupil_ref NOT IN (SELECT pupil_ref FROM pupils))"


def worries_past_the_limit(db, now: datetime | None = None) -> list[int]:
    """The "to review for deletion" list: closed before the limit, not a child-protection concern, no escalation
    open, and the child no longer on the roster."""
    _, before = _closed_before(db, now or datetime.now(timezone.utc))
    return [row[0] for row in db.execute(
        "SELECT id FROM worries w WHERE status = 'closed' AND closed_at < ? AND child_protection = 0 "
        "AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.worry_id = w.id AND e.status = 'open') AND "
        + _OFF_THE_ROSTER + " ORDER BY id", [before])]


def review_list(db, now: datetime | None = None) -> list[dict]:
    """The list a DSL reviews: for each worry, what is kept in clear (never its words or the child's name)."""
    ids = worries_past_the_limit(db, now)
    columns = ("id", "created_at", "closed_at", "topic", "concern_category", "named", "staff_concern")
    rows = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        rows.extend(dict(zip(columns, row)) for row in db.execute(
            "SELECT id, created_at, closed_at, topic, concern_category, named, logged_by IS NOT NULL FROM worries "
            "WHERE id IN (%s) ORDER BY id" % ",".join("?" * len(chunk)), chunk))
    return rows


def confirm_deletion(db, worry_ids: list[int], staff_id: int, now: datetime | None = None) -> int:
    """Delete the worries a DSL confirmed from the review list (only those still on it); audited, with how many."""
    now = now or datetime.now(timezone.utc)
    with write_transaction(db):
        on_the_list = set(worries_past_the_limit(db, now))
        chosen = sorted(on_the_list & set(worry_ids))
        delete_worries(db, chosen)
        audit(db, "retention", staff_id=staff_id,
              detail="deleted %d closed worr%s from the review list, confirmed by a DSL" % (
                  len(chosen), "y" if len(chosen) == 1 else "ies"))
    if chosen:
        _checkpoint(db)
    return len(chosen)


def _kept_past_the_limit(db, before: str) -> tuple[int, int]:
    return db.execute(
        "SELECT coalesce(sum(child_protection = 1), 0), coalesce(sum(child_protection = 0), 0) FROM worries w "
        "WHERE status = 'closed' AND closed_at < ? AND (child_protection = 1 OR EXISTS "
        "(SELECT 1 FROM escalations e WHERE e.worry_id = w.id AND e.status = 'open'))", [before]).fetchone()


def delete_worries(db, worry_ids: list[int]) -> None:
    """Delete worries and everything written about them, keeping the rows counting needs (see the module)."""
    for start in range(0, len(worry_ids), CHUNK):
        chunk = worry_ids[start:start + CHUNK]
        ids = "(%s)" % ",".join("?" * len(chunk))
        for statement in (
            "DELETE FROM follow_ups WHERE worry_id IN %s",
            # Referrals are kept for counting (the governors' report), pointing at nothing, like escalations.
            "UPDATE referrals SET worry_id = NULL, action_id = NULL, outcome_action_id = NULL WHERE worry_id IN %s",
            "DELETE FROM action_keys WHERE action_id IN (SELECT id FROM actions WHERE worry_id IN %s)",
            "DELETE FROM actions WHERE worry_id IN %s",
            "DELETE FROM worry_keys WHERE worry_id IN %s",
            "DELETE FROM escalation_keys WHERE escalation_id IN (SELECT id FROM escalations WHERE worry_id IN %s)",
            "UPDATE escalations SET worry_id = NULL, sealed_note = NULL WHERE worry_id IN %s",
            "UPDATE visits SET worry_id = NULL WHERE worry_id IN %s",
            "DELETE FROM worries WHERE id IN %s",
        ):
            db.execute(statement % ids, chunk)


def _apply(db, now: datetime, dry_run: bool) -> RetentionResult:
    """Count the review list (never delete: only a DSL's confirmation does), audited unless a dry run."""
    cutoff, before = _closed_before(db, now)
    worry_ids = worries_past_the_limit(db, now)
    kept_child_protection, kept_open_escalation = _kept_past_the_limit(db, before)
    result = RetentionResult(len(worry_ids), kept_child_protection, kept_open_escalation, cutoff, retention_days(db))
    if not dry_run:
        audit(db, "retention", detail=result.summary())
    return result


def _checkpoint(db) -> None:
    # Old copies of the deleted pages may still sit in the write-ahead log until it is checkpointed.
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def apply_retention(db, now: datetime | None = None, dry_run: bool = False) -> RetentionResult:
    """Count the worries to review for deletion now, audited with how many; deletes nothing."""
    with write_transaction(db):
        return _apply(db, now or datetime.now(timezone.utc), dry_run)


def is_due(db, now: datetime) -> bool:
    """Whether retention has not yet run on this school day (in the school's time zone)."""
    last_run = get_setting(db, LAST_RUN_SETTING)
    return last_run is None or last_run < school_time(db, now).date().isoformat()


def run_if_due(db, now: datetime | None = None, log=print) -> RetentionResult | None:
    """Run retention once per school day: the alert sender calls this every few seconds."""
    now = now or datetime.now(timezone.utc)
    if not is_due(db, now):  # a read, so most calls never take the write lock
        return None
    with write_transaction(db):
        # Checked again and recorded in one transaction, so two processes can never both run it today.
        if not is_due(db, now):
            return None
        set_setting(db, LAST_RUN_SETTING, school_time(db, now).date().isoformat())
        result = _apply(db, now, dry_run=False)
    log("retention: %s" % result.summary())
    return result
