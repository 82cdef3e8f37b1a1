"""Casework: open a worry with a member of staff's keys, and record what was done about it.

Only the staff console imports this module; the kiosk never does (a test checks).
"""

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from . import certificates, escalation, hear_back, opening, sealing
from .choices import STATUSES, label
from .clock import utcnow

from .audit import audit
from .recipients import worry_recipients
from .worries import worry_aad
from .db import write_transaction

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
    pupil_ref: str | None = None
    child_protection: bool = False
    closed_at: str | None = None
    logged_by: str | None = None  # a staff concern: the name of who logged it (None for a child's worry)
    concern_category: str | None = None
    happened_at: str | None = None


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
    row = next(db.query(
        "SELECT id, created_at, feeling, topic, place, talk_to, urgent, status, sealed_body, first_opened_at, "
        "language, tablet, pupil_ref, child_protection, closed_at, "
        "(SELECT name FROM staff WHERE staff.id = worries.logged_by) AS logged_by, concern_category, happened_at "
        "FROM worries WHERE id = ?", [worry_id]
    ), None)
    if row is None:
        raise LookupError(worry_id)
    key_id, sealed_key = _key_for(db, worry_id, keyring)
    private = json.loads(opening.open_sealed(row["sealed_body"], key_id, sealed_key, keyring.private_keys[key_id],
                                             worry_aad(worry_id)))
    now = utcnow()
    with write_transaction(db):
        audit(db, "open_worry", staff_id=keyring.staff_id, worry_id=worry_id)
        if row["first_opened_at"] is None:
            db.execute("UPDATE worries SET first_opened_at = ?, updated_at = ? WHERE id = ? AND first_opened_at IS NULL",
                       [now, now, worry_id])
        if row["status"] == "new":
            db.execute("UPDATE worries SET status = 'seen', updated_at = ? WHERE id = ? AND status = 'new'",
                       [now, worry_id])
            _insert_action(db, worry_id, keyring.staff_id, "status:seen", now)
        # Urgent means now: whoever opens it first has it in hand, for everyone (the live banner, the on-call chain).
        escalation.acknowledge_for_worry(db, worry_id, keyring.staff_id, "opened the worry",
                                         datetime.fromisoformat(now))
    return OpenedWorry(
        id=row["id"], created_at=row["created_at"], feeling=row["feeling"], topic=row["topic"], place=row["place"],
        talk_to=row["talk_to"], urgent=bool(row["urgent"]), status="seen" if row["status"] == "new" else row["status"],
        text=private["text"], pupil=private["pupil"], first_opened_at=row["first_opened_at"] or now,
        drawing=private.get("drawing"), language=row["language"], tablet=row["tablet"], pupil_ref=row["pupil_ref"],
        child_protection=bool(row["child_protection"]), closed_at=row["closed_at"], logged_by=row["logged_by"],
        concern_category=row["concern_category"], happened_at=row["happened_at"])


def _insert_action(db, worry_id: int, staff_id: int, action: str, at: str) -> int:
    return db.execute("INSERT INTO actions (worry_id, staff_id, at, action) VALUES (?, ?, ?, ?)",
                      [worry_id, staff_id, at, action]).lastrowid


def current_readers(db, worry_id: int) -> dict[str, bytes]:
    """The keys allowed to read a worry now: the team key in use, and each personal key the worry was sealed
    to whose holder is still here, still certified and still in a role that reads worries.

    Never a retired team key, a removed member or a key whose certificate no longer matches its account.
    """
    recipients = worry_recipients(db)
    for key_id, public, staff_id in db.execute(
            "SELECT k.key_id, k.public_key, k.staff_id FROM worry_keys w JOIN keys k ON k.key_id = w.key_id "
            "JOIN staff s ON s.id = k.staff_id AND s.key_id = k.key_id "
            "WHERE w.worry_id = ? AND k.purpose = 'staff' AND k.retired_at IS NULL AND s.removed_at IS NULL",
            [worry_id]).fetchall():
        if certificates.is_certified(db, staff_id):
            recipients[key_id] = public
    return recipients


def _seal_note(db, worry_id: int, action_id: int, note: str, also: dict[str, bytes] | None = None) -> None:
    """Seal a note on an action to the worry's current readers (current_readers), and to any `also` keys (an
    action's owner, whose certified key the caller checked)."""
    recipients = current_readers(db, worry_id)
    recipients.update(also or {})
    sealed = sealing.seal(recipients, note.encode("utf-8"), action_aad(action_id, worry_id))
    db.execute("UPDATE actions SET sealed_note = ? WHERE id = ?", [sealed.body, action_id])
    for key_id, sealed_key in sealed.keys.items():
        db.execute("INSERT INTO action_keys (action_id, key_id, sealed_key) VALUES (?, ?, ?)",
                   [action_id, key_id, sealed_key])


def record_action(db, worry_id: int, keyring, status: str | None = None, note: str = "") -> None:
    """Change a worry's status and/or add a note sealed to everyone who can open the worry."""
    _key_for(db, worry_id, keyring)
    if status is not None and status not in STATUSES:
        raise ValueError("unknown status")
    now = utcnow()
    with write_transaction(db):
        if status == "closed" and not is_safeguarding_team(db, keyring.staff_id):
            # Closed by a teacher or head: it stays open in the DSL's queue until a DSL or deputy confirms.
            ask_for_review(db, worry_id, keyring.staff_id, "closed", now)
            status = None
        if status is not None:
            # closed_at is when retention starts counting; reopening a worry clears it.
            changed = db.execute(
                "UPDATE worries SET status = ?, updated_at = ?, closed_at = ? WHERE id = ? AND status != ?",
                [status, now, now if status == "closed" else None, worry_id, status]).rowcount
            if changed:
                _insert_action(db, worry_id, keyring.staff_id, "status:%s" % status, now)
            if is_safeguarding_team(db, keyring.staff_id):
                _review_done(db, worry_id, keyring.staff_id, now)
        if note.strip():
            _seal_note(db, worry_id, _insert_action(db, worry_id, keyring.staff_id, "note", now), note.strip())
        audit(db, "worry_updated", staff_id=keyring.staff_id, worry_id=worry_id,
              detail=", ".join(filter(None, [status and "status %s" % status, note.strip() and "note added"])))


SAFEGUARDING_TEAM = ("dsl", "deputy")
REVIEW_LABELS = {"closed": "closed", "not_real": "marked not a real worry"}


def is_safeguarding_team(db, staff_id: int) -> bool:
    """Whether this member of staff is a current DSL or deputy, who may close a worry for good."""
    row = db.execute("SELECT role FROM staff WHERE id = ? AND removed_at IS NULL", [staff_id]).fetchone()
    return row is not None and row[0] in SAFEGUARDING_TEAM


def ask_for_review(db, worry_id: int, staff_id: int, asked_for: str, now: str) -> bool:
    """Record that someone outside the DSL team closed a worry or marked it not real: a DSL or deputy confirms."""
    with write_transaction(db):
        changed = db.execute(
            "UPDATE worries SET review_asked_for = ?, review_asked_by = ?, review_asked_at = ?, updated_at = ? "
            "WHERE id = ? AND status != 'closed' AND review_asked_for IS NOT ?",
            [asked_for, staff_id, now, now, worry_id, asked_for]).rowcount
        if changed:
            _insert_action(db, worry_id, staff_id, "asked_%s" % asked_for, now)
            audit(db, "worry_review_asked", staff_id=staff_id, worry_id=worry_id, detail=asked_for)
    return bool(changed)


def _review_done(db, worry_id: int, staff_id: int, now: str) -> None:
    # A DSL or deputy who sets the status has looked at it: whatever they chose, the review is done.
    asked = db.execute("SELECT review_asked_for FROM worries WHERE id = ?", [worry_id]).fetchone()
    if asked and asked[0]:
        db.execute("UPDATE worries SET review_asked_for = NULL, review_asked_by = NULL, review_asked_at = NULL "
                   "WHERE id = ?", [worry_id])
        _insert_action(db, worry_id, staff_id, "reviewed", now)
        audit(db, "worry_reviewed", staff_id=staff_id, worry_id=worry_id, detail="was %s" % asked[0])


def confirm_review(db, worry_id: int, keyring) -> bool:
    """A DSL or deputy confirms what a teacher asked: the worry is closed, or marked not real; return if it was."""
    from .throttle import mark_not_real  # imported here: throttle imports this module the same way

    _key_for(db, worry_id, keyring)
    if not is_safeguarding_team(db, keyring.staff_id):
        raise NotAllowed(worry_id)
    asked = db.execute("SELECT review_asked_for FROM worries WHERE id = ?", [worry_id]).fetchone()[0]
    if not asked:
        return False
    with write_transaction(db):
        if asked == "closed":
            record_action(db, worry_id, keyring, status="closed")
        else:
            mark_not_real(db, worry_id, keyring.staff_id)
            _review_done(db, worry_id, keyring.staff_id, utcnow())
    return True


def set_child_protection(db, worry_id: int, keyring, concern: bool = True) -> bool:
    """Mark a worry as a child-protection concern (or take the mark away), in its chronology and the audit log."""
    _key_for(db, worry_id, keyring)
    now = utcnow()
    with write_transaction(db):
        changed = db.execute(
            "UPDATE worries SET child_protection = ?, updated_at = ? WHERE id = ? AND child_protection != ?",
            [int(concern), now, worry_id, int(concern)]).rowcount
        if changed:
            _insert_action(db, worry_id, keyring.staff_id, "child_protection" if concern else "not_child_protection", now)
            audit(db, "worry_marked_child_protection" if concern else "worry_unmarked_child_protection",
                  staff_id=keyring.staff_id, worry_id=worry_id)
    return bool(changed)


ACTION_LABELS = {
    "note": "added a note",
    "not_real": "marked it not a real worry",
    "real_after_all": "marked it a real worry after all",
    "child_protection": "marked it a child-protection concern",
    "not_child_protection": "took away the child-protection mark",
    "reply": "sent the child a reply to see at the kiosk",
    "follow_up": "set an action to follow up",
    "follow_up_done": "marked an action done",
    "referral_outcome": "recorded the outcome of a referral",
    "asked_closed": "closed it — for the DSL or a deputy to review",
    "asked_not_real": "marked it not a real worry — for the DSL or a deputy to review",
    "reviewed": "reviewed it",
    "alert_sent": "sent an alert",
    "acknowledged": "acknowledged the urgent alert",
}


def action_label(action: str) -> str:
    """Say what an entry in a worry's chronology did, in words: 'status set to Closed'."""
    if action.startswith("status:"):
        return "status set to %s" % label(STATUSES, action.split(":", 1)[1])
    if action.startswith("referral:"):
        from .followups import AGENCIES

        return "referred to %s" % label(AGENCIES, action.split(":", 1)[1])
    return ACTION_LABELS.get(action, action.replace("_", " "))


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
                    note = opening.open_sealed(sealed_note, key_id, sealed_key, keyring.private_keys[key_id],
                                               action_aad(action_id, worry_id)).decode("utf-8")
                    break
        entries.append({"at": at, "action": action, "note": note, "staff_name": staff_name})
    # Alerts and their acknowledgement are part of what was done about the worry.
    entries.extend(escalation.events_for_worry(db, worry_id))
    entries.sort(key=lambda entry: entry["at"])
    return entries


def escalation_aad(escalation_id: int) -> bytes:
    return b"escalation|%d|v%d" % (escalation_id, sealing.FORMAT_VERSION)


def acknowledge_escalation(db, escalation_id: int, keyring, note: str, recipients: dict[str, bytes]) -> None:
    """Close an open escalation with a note sealed to the safeguarding team, and audit it."""
    now = utcnow()
    with write_transaction(db):
        changed = db.execute(
            "UPDATE escalations SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ? "
            "WHERE id = ? AND status = 'open'", [now, keyring.staff_id, escalation_id]).rowcount
        if not changed:
            raise LookupError(escalation_id)
        db.execute("UPDATE escalations SET next_alert_at = NULL WHERE id = ?", [escalation_id])
        escalation.record_event(db, escalation_id, datetime.fromisoformat(now), "acknowledged",
                                staff_id=keyring.staff_id, detail="with a note" if note.strip() else None)
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
            return opening.open_sealed(row[0], key_id, sealed_key, keyring.private_keys[key_id],
                                       escalation_aad(escalation_id)).decode("utf-8")
    return None


class CannotHearBack(Exception):
    """A secret worry with no picture code: nothing sent to the kiosk could reach its child."""


def send_reply(db, worry_id: int, keyring, pupil_keys, phrase: str | None = None, words: str = "",
               find_child_today: bool = False, now=None) -> None:
    """Set what the child sees at the kiosk (a kind phrase or a few words, and whether a grown-up comes today)."""
    _key_for(db, worry_id, keyring)
    words = words.strip()
    if phrase is not None and phrase not in hear_back.KIND_PHRASES:
        raise ValueError("unknown kind phrase")
    if len(words) > hear_back.MAX_WORDS or (phrase and words) or not (phrase or words or find_child_today):
        raise ValueError("a reply is one kind phrase or a few words, and/or 'will come and find you today'")
    if not any(hear_back.ways_to_check(db, worry_id).values()):
        raise CannotHearBack(worry_id)
    now = now or datetime.now(timezone.utc)
    at = now.isoformat(timespec="microseconds")
    # The chronology keeps what the child was told, sealed like any note; the kiosk's copy is replaced next time.
    told = [hear_back.STATUS_WORDS["find_today"]] if find_child_today else []
    told.append(hear_back.KIND_PHRASES[phrase] if phrase else words)
    with write_transaction(db):
        db.execute("UPDATE worries SET reply_phrase = ?, reply_words = ?, reply_at = ?, find_child_on = ?, "
                   "updated_at = ? WHERE id = ?",
                   [phrase, pupil_keys.seal_reply(worry_id, words) if words else None, at,
                    hear_back.school_day(db, now) if find_child_today else None, at, worry_id])
        _seal_note(db, worry_id, _insert_action(db, worry_id, keyring.staff_id, "reply", at),
                   "\n".join(filter(None, told)))
        audit(db, "reply_sent", staff_id=keyring.staff_id, worry_id=worry_id,
              detail=", ".join(filter(None, [phrase and "kind phrase %s" % phrase, words and "own words",
                                             find_child_today and "will come and find the child today"])))
