"""Worries as the kiosk posts them and the queue lists them: sealing in, metadata out, never opening."""

import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from . import escalation, sealing
from .db import write_transaction
from .roster import Pupil

MAX_TEXT = 4000
PAGE_SIZE = 50


@dataclass(frozen=True)
class NewWorry:
    """What a child posted at the kiosk."""

    submission_id: str
    feeling: str | None = None
    topic: str | None = None
    place: str | None = None
    talk_to: str | None = None
    urgent: bool = False
    text: str = ""
    pupil: Pupil | None = None
    pupil_ref: str | None = None
    drawing: str | None = None  # a PNG as a data: URL, sealed like the text
    language: str = "en"
    tablet: str | None = None
    code_hash: str | None = None  # a keyed hash of the picture code the child chose, if any (see hear_back)


def worry_aad(worry_id: int) -> bytes:
    return b"worry|%d|v%d" % (worry_id, sealing.FORMAT_VERSION)


def post_worry(db, recipients: dict[str, bytes], worry: NewWorry, at: datetime | None = None,
               where: str = "the kiosk") -> tuple[int, bool]:
    """Seal and store a worry once per submission id, with its visit and any escalation; return (id, new)."""
    at = at or datetime.now(timezone.utc)
    now = at.isoformat(timespec="microseconds")
    private = {
        "text": worry.text,
        "drawing": worry.drawing,
        "pupil": None if worry.pupil is None else {
            "pupil_id": worry.pupil.pupil_id, "name": worry.pupil.display_name, "class": worry.pupil.class_name,
        },
    }
    with write_transaction(db):
        cursor = db.execute(
            "INSERT INTO worries (submission_id, created_at, feeling, topic, place, talk_to, urgent, named, "
            "pupil_ref, format_version, sealed_body, updated_at, language, tablet, code_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, X'', ?, ?, ?, ?) ON CONFLICT(submission_id) DO NOTHING",
            [worry.submission_id, now, worry.feeling, worry.topic, worry.place, worry.talk_to, int(worry.urgent),
             int(worry.pupil is not None), worry.pupil_ref, sealing.FORMAT_VERSION, now, worry.language,
             worry.tablet, worry.code_hash],
        )
        if cursor.rowcount == 0:
            existing = db.execute("SELECT id FROM worries WHERE submission_id = ?", [worry.submission_id]).fetchone()
            return existing[0], False
        worry_id = cursor.lastrowid
        sealed = sealing.seal(recipients, json.dumps(private, ensure_ascii=False).encode("utf-8"), worry_aad(worry_id))
        db.execute("UPDATE worries SET sealed_body = ? WHERE id = ?", [sealed.body, worry_id])
        for key_id, sealed_key in sealed.keys.items():
            db.execute("INSERT INTO worry_keys (worry_id, key_id, sealed_key) VALUES (?, ?, ?)",
                       [worry_id, key_id, sealed_key])
        # Same transaction: there is never a worry without its visit, or a visit without its escalation.
        if worry.pupil_ref:
            escalation.record_visit(db, worry.pupil_ref, at, "worry", worry_id=worry_id, where=where)
        if worry.urgent:
            escalation.escalate(db, "urgent", at, pupil_ref=worry.pupil_ref, worry_id=worry_id, where=where)
    return worry_id, True


def queue_sql(key_count: int, status: str = "open") -> str:
    """The query queue() runs for this many keys (parameters: the key ids, the limit, the offset)."""
    where = "status != 'closed'" if status == "open" else "status = 'closed'"
    placeholders = ",".join("?" * key_count)
    # A flood of pranks, or a worry staff marked not real, comes after every other worry: it cannot bury one.
    return (
        "SELECT id, created_at, feeling, topic, place, talk_to, urgent, named, status, first_opened_at, flood, "
        "not_real_at IS NOT NULL, review_asked_for, (SELECT role FROM staff s WHERE s.id = w.review_asked_by), "
        "logged_by IS NOT NULL, concern_category FROM worries w "
        "WHERE %s AND EXISTS (SELECT 1 FROM worry_keys k WHERE k.worry_id = w.id AND k.key_id IN (%s)) "
        "ORDER BY (flood OR not_real_at IS NOT NULL), urgent DESC, id DESC LIMIT ? OFFSET ?" % (where, placeholders)
    )


def queue(db, key_ids, page: int = 1, status: str = "open") -> tuple[list[dict], bool]:
    """Return one page of worries these keys open, urgent first then newest, and whether more follow."""
    key_ids = list(key_ids)
    if not key_ids:
        return [], False
    rows = db.execute(queue_sql(len(key_ids), status), [*key_ids, PAGE_SIZE + 1, (max(page, 1) - 1) * PAGE_SIZE])
    columns = ("id", "created_at", "feeling", "topic", "place", "talk_to", "urgent", "named", "status", "first_opened_at",
               "flood", "not_real", "review_asked_for", "review_asked_by_role", "staff_concern", "concern_category")
    items = [dict(zip(columns, row)) for row in rows]
    return items[:PAGE_SIZE], len(items) > PAGE_SIZE


def latest_id_for(db, key_ids) -> int:
    """The newest worry these keys open (0 if none), read from the (key_id, worry_id) index."""
    key_ids = list(key_ids)
    if not key_ids:
        return 0
    # One max() per key: each is a single step down the index, however many worries there are.
    per_key = " UNION ALL ".join(["SELECT (SELECT max(worry_id) FROM worry_keys WHERE key_id = ?) AS newest"]
                                 * len(key_ids))
    return db.execute("SELECT coalesce(max(newest), 0) FROM (%s)" % per_key, key_ids).fetchone()[0]


def count_urgent_unopened(db) -> int:
    """How many urgent worries nobody has opened yet."""
    return db.execute("SELECT count(*) FROM worries WHERE urgent = 1 AND first_opened_at IS NULL").fetchone()[0]


URGENT_READ_WITHIN = timedelta(minutes=15)
MORNING_ENDS = time(12, 0)


def read_by(created_at: str, urgent: bool, zone) -> datetime:
    """When a worry should have been read: urgent within 15 minutes, else by the end of the next school morning."""
    posted = datetime.fromisoformat(created_at)
    if urgent:
        return posted + URGENT_READ_WITHIN
    day = posted.astimezone(zone).date() + timedelta(days=1)
    while day.weekday() >= 5:  # Saturday and Sunday are not school mornings
        day += timedelta(days=1)
    return datetime.combine(day, MORNING_ENDS, zone)


def is_overdue(row: dict, now: datetime, zone) -> bool:
    """A worry nobody has opened yet, past the time it should have been read."""
    return row["first_opened_at"] is None and now > read_by(row["created_at"], bool(row["urgent"]), zone)


def median_minutes_to_first_read(db, since: datetime) -> float | None:
    """The median minutes from posting to first being opened, for worries posted since a moment."""
    pairs = db.execute("SELECT created_at, first_opened_at FROM worries WHERE created_at >= ? "
                       "AND first_opened_at IS NOT NULL", [since.isoformat(timespec="microseconds")]).fetchall()
    minutes = sorted((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 60 for a, b in pairs)
    if not minutes:
        return None
    middle = len(minutes) // 2
    return round(minutes[middle] if len(minutes) % 2 else (minutes[middle - 1] + minutes[middle]) / 2, 1)
