"""Casework: open a worry with a member of staff's keys, and record what was done about it.

Only the staff console imports this module; the kiosk never does (a test checks).
"""

import json
from dataclasses import dataclass

from . import sealing
from .choices import STATUSES
from .db import utcnow
from .staff import audit
from .worries import worry_aad

MAX_NOTE = 4000


class NotAllowed(Exception):
    """This member of staff holds no key that opens this worry."""


@dataclass(frozen=True)
class OpenedWorry:
    """A worry as a member of staff sees it once it has been opened with their key."""

    id: int
    created_at: str
    feeling: str | None
    topic: str | None
    place: str | None
    talk_to: str | None
    urgent: bool
    status: str
    text: str
    pupil: dict | None
    first_opened_at: str | None
    drawing: str | None = None
    language: str = "en"
    tablet: str | None = None


def action_aad(action_id: int, worry_id: int) -> bytes:
    return b"action|%d|worry|%d|v%d" % (action_id, worry_id, sealing.FORMAT_VERSION)


def _key_for(db, worry_id: int, keyring) -> tuple[str, bytes]:
    if db.execute("SELECT 1 FROM worries WHERE id = ?", [worry_id]).fetchone() is None:
        raise LookupError(worry_id)
    for key_id, sealed_key in db.execute("SELECT key_id, sealed_key FROM worry_keys WHERE worry_id = ?", [worry_id]):
        if key_id in keyring.private_keys:
            return key_id, sealed_key
    raise NotAllowed(worry_id)


def can_open(db, worry_id: int, keyring) -> bool:
    """Whether this keyring holds a key the worry was sealed to."""
    try:
        _key_for(db, worry_id, keyring)
        return True
    except NotAllowed:
        return False


def read_worry(db, worry_id: int, keyring) -> OpenedWorry:
    """Open a worry with a member of staff's key, writing the audit row first; a new worry becomes seen."""
    row = db.execute(
        "SELECT id, created_at, feeling, topic, place, talk_to, urgent, status, sealed_body, first_opened_at, "
        "language, tablet FROM worries WHERE id = ?", [worry_id]
    ).fetchone()
    if row is None:
        raise LookupError(worry_id)
    key_id, sealed_key = _key_for(db, worry_id, keyring)
    private = json.loads(sealing.open_sealed(row[8], key_id, sealed_key, keyring.private_keys[key_id],
                                             worry_aad(worry_id)))
    now = utcnow()
    with db.atomic():
        audit(db, "open_worry", staff_id=keyring.staff_id, worry_id=worry_id)
        if row[9] is None:
            db.execute("UPDATE worries SET first_opened_at = ?, updated_at = ? WHERE id = ? AND first_opened_at IS NULL",
                       [now, now, worry_id])
        if row[7] == "new":
            db.execute("UPDATE worries SET status = 'seen', updated_at = ? WHERE id = ? AND status = 'new'",
                       [now, worry_id])
            _insert_action(db, worry_id, keyring.staff_id, "status:seen", now)
    status = "seen" if row[7] == "new" else row[7]
    return OpenedWorry(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), status,
                       private["text"], private["pupil"], row[9] or now, private.get("drawing"), row[10], row[11])


def _insert_action(db, worry_id: int, staff_id: int, action: str, at: str) -> int:
    return db.execute("INSERT INTO actions (worry_id, staff_id, at, action) VALUES (?, ?, ?, ?)",
                      [worry_id, staff_id, at, action]).lastrowid


def record_action(db, worry_id: int, keyring, status: str | None = None, note: str = "") -> None:
    """Change a worry's status and/or add a note sealed to everyone who can open the worry."""
    _key_for(db, worry_id, keyring)
    if status is not None and status not in STATUSES:
        raise ValueError("unknown status")
    now = utcnow()
    with db.atomic():
        if status is not None:
            changed = db.execute("UPDATE worries SET status = ?, updated_at = ? WHERE id = ? AND status != ?",
                                 [status, now, worry_id, status]).rowcount
            if changed:
                _insert_action(db, worry_id, keyring.staff_id, "status:%s" % status, now)
        if note.strip():
            action_id = _insert_action(db, worry_id, keyring.staff_id, "note", now)
            recipients = dict(db.execute(
                "SELECT k.key_id, k.public_key FROM worry_keys w JOIN keys k ON k.key_id = w.key_id WHERE w.worry_id = ?",
                [worry_id]).fetchall())
            sealed = sealing.seal(recipients, note.strip().encode("utf-8"), action_aad(action_id, worry_id))
            db.execute("UPDATE actions SET sealed_note = ? WHERE id = ?", [sealed.body, action_id])
            for key_id, sealed_key in sealed.keys.items():
                db.execute("INSERT INTO action_keys (action_id, key_id, sealed_key) VALUES (?, ?, ?)",
                           [action_id, key_id, sealed_key])
        audit(db, "worry_updated", staff_id=keyring.staff_id, worry_id=worry_id,
              detail=", ".join(filter(None, [status and "status %s" % status, note.strip() and "note added"])))


def chronology(db, worry_id: int, keyring) -> list[dict]:
    """Return what was done about a worry, oldest first, with any notes opened."""
    _key_for(db, worry_id, keyring)
    entries = []
    for action_id, at, action, sealed_note, staff_name in db.execute(
        "SELECT a.id, a.at, a.action, a.sealed_note, s.name FROM actions a JOIN staff s ON s.id = a.staff_id "
        "WHERE a.worry_id = ? ORDER BY a.id", [worry_id]
    ):
        note = None
        if sealed_note:
            note = "(this note was sealed to a key you do not hold)"
            for key_id, sealed_key in db.execute("SELECT key_id, sealed_key FROM action_keys WHERE action_id = ?",
                                                 [action_id]):
                if key_id in keyring.private_keys:
                    note = sealing.open_sealed(sealed_note, key_id, sealed_key, keyring.private_keys[key_id],
                                               action_aad(action_id, worry_id)).decode("utf-8")
                    break
        entries.append({"at": at, "action": action, "note": note, "staff_name": staff_name})
    return entries


def escalation_aad(escalation_id: int) -> bytes:
    return b"escalation|%d|v%d" % (escalation_id, sealing.FORMAT_VERSION)


def acknowledge_escalation(db, escalation_id: int, keyring, note: str, recipients: dict[str, bytes]) -> None:
    """Close an open escalation with a note sealed to the safeguarding team, and audit it."""
    now = utcnow()
    with db.atomic():
        changed = db.execute(
            "UPDATE escalations SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ? "
            "WHERE id = ? AND status = 'open'", [now, keyring.staff_id, escalation_id]).rowcount
        if not changed:
            raise LookupError(escalation_id)
        if note.strip():
            sealed = sealing.seal(recipients, note.strip().encode("utf-8"), escalation_aad(escalation_id))
            db.execute("UPDATE escalations SET sealed_note = ? WHERE id = ?", [sealed.body, escalation_id])
            for key_id, sealed_key in sealed.keys.items():
                db.execute("INSERT INTO escalation_keys (escalation_id, key_id, sealed_key) VALUES (?, ?, ?)",
                           [escalation_id, key_id, sealed_key])
        audit(db, "escalation_acknowledged", staff_id=keyring.staff_id, detail="escalation %d" % escalation_id)


def escalation_note(db, escalation_id: int, keyring) -> str | None:
    """Open the note written when an escalation was acknowledged, if this keyring can."""
    row = db.execute("SELECT sealed_note FROM escalations WHERE id = ?", [escalation_id]).fetchone()
    if not row or not row[0]:
        return None
    for key_id, sealed_key in db.execute("SELECT key_id, sealed_key FROM escalation_keys WHERE escalation_id = ?",
                                         [escalation_id]):
        if key_id in keyring.private_keys:
            return sealing.open_sealed(row[0], key_id, sealed_key, keyring.private_keys[key_id],
                                       escalation_aad(escalation_id)).decode("utf-8")
    return None
