"""Retention: closed worries that never became a child-protection concern are deleted after the school's limit.

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
    """What one retention run deleted, and what it kept past the limit and why."""

    deleted: int
    kept_child_protection: int
    kept_open_escalation: int
    closed_before: datetime
    days: int

    def summary(self, dry_run: bool = False) -> str:
        return "%s %d closed worr%s closed before %s (kept for %d days); kept %d child-protection concern%s " \
               "and %d with an escalation still open" % (
                   "would delete" if dry_run else "deleted", self.deleted, "y" if self.deleted == 1 else "ies",
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


def worries_past_the_limit(db, now: datetime | None = None) -> list[int]:
    """The worries retention deletes: closed before the limit, not a child-protection concern, no escalation open."""
    _, before = _closed_before(db, now or datetime.now(timezone.utc))
    return [row[0] for row in db.execute(
        "SELECT id FROM worries w WHERE status = 'closed' AND closed_at < ? AND child_protection = 0 "
        "AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.worry_id = w.id AND e.status = 'open') ORDER BY id",
        [before])]


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
    cutoff, before = _closed_before(db, now)
    worry_ids = worries_past_the_limit(db, now)
    kept_child_protection, kept_open_escalation = _kept_past_the_limit(db, before)
    result = RetentionResult(len(worry_ids), kept_child_protection, kept_open_escalation, cutoff, retention_days(db))
    if not dry_run:
        delete_worries(db, worry_ids)
        audit(db, "retention", detail=result.summary())
    return result


def _checkpoint(db) -> None:
    # Old copies of the deleted pages may still sit in the write-ahead log until it is checkpointed.
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def apply_retention(db, now: datetime | None = None, dry_run: bool = False) -> RetentionResult:
    """Delete every worry past the school's limit now (or only count them), audited with how many."""
    with write_transaction(db):
        result = _apply(db, now or datetime.now(timezone.utc), dry_run)
    if result.deleted and not dry_run:
        _checkpoint(db)
    return result


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
    if result.deleted:
        _checkpoint(db)
    log("retention: %s" % result.summary())
    return result
