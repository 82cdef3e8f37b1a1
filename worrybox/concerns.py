"""Staff concerns ("no threshold"): any adult logs what they saw or heard about a child, sealed to the team key only.

A concern is stored as a row of `worries` with `logged_by` set, so it joins the DSL's queue, the child's
chronology, the audit of every read, status, notes and retention exactly as a child's worry does. It is
sealed to the safeguarding team key alone: the member of staff who wrote it cannot open it once it is sent.
Sealing only: the console's staff-role pages import this, and nothing here can open anything.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from . import patterns, sealing
from .audit import audit
from .choices import PLACES
from .clock import iso
from .db import write_transaction
from .recipients import worry_recipients
from .roster import Pupil
from .worries import MAX_TEXT, worry_aad

CATEGORIES = {
    "injury": "A mark or injury",
    "said": "Something the child said",
    "behaviour": "A change in behaviour or mood",
    "care": "Hungry, tired, unkempt or unwell",
    "peers": "Something between children",
    "home": "Something about home or family",
    "online": "Something online",
    "attendance": "Missing school or late",
    "other": "Something else",
}
# Where it happened: the places a child can choose, in staff words (the child-facing labels are translated).
WHERE = {key: value[0] for key, value in PLACES.items()}


@dataclass(frozen=True)
class NewConcern:
    """What a member of staff logged about a child."""

    pupil: Pupil
    pupil_ref: str
    text: str
    category: str
    place: str | None
    happened_at: datetime


def log_concern(db, staff_id: int, concern: NewConcern, at: datetime | None = None) -> int:
    """Seal a concern to the safeguarding team key only and store it, audited, with any pattern it crosses."""
    if concern.category not in CATEGORIES:
        raise ValueError("unknown category")
    if concern.place is not None and concern.place not in WHERE:
        raise ValueError("unknown place")
    if not concern.text.strip() or len(concern.text) > MAX_TEXT:
        raise ValueError("what was seen or heard is needed, up to %d characters" % MAX_TEXT)
    at = at or datetime.now(timezone.utc)
    now = iso(at)
    # The team key only: never the writer's own key, nor a class teacher's, whatever the writer's role.
    recipients = worry_recipients(db)
    private = {"text": concern.text.strip(), "drawing": None, "pupil": {
        "pupil_id": concern.pupil.pupil_id, "name": concern.pupil.display_name, "class": concern.pupil.class_name}}
    with write_transaction(db):
        worry_id = db.execute(
            "INSERT INTO worries (submission_id, created_at, place, named, pupil_ref, format_version, sealed_body, "
            "updated_at, logged_by, concern_category, happened_at) VALUES (?, ?, ?, 1, ?, ?, X'', ?, ?, ?, ?)",
            ["concern-" + secrets.token_hex(12), now, concern.place, concern.pupil_ref, sealing.FORMAT_VERSION,
             now, staff_id, concern.category, iso(concern.happened_at)]).lastrowid
        sealed = sealing.seal(recipients, json.dumps(private, ensure_ascii=False).encode("utf-8"),
                              worry_aad(worry_id))
        db.execute("UPDATE worries SET sealed_body = ? WHERE id = ?", [sealed.body, worry_id])
        for key_id, sealed_key in sealed.keys.items():
            db.execute("INSERT INTO worry_keys (worry_id, key_id, sealed_key) VALUES (?, ?, ?)",
                       [worry_id, key_id, sealed_key])
        audit(db, "concern_logged", staff_id=staff_id, worry_id=worry_id,
              detail="category %s" % concern.category)
        # Same transaction: a concern that takes a child past a pattern rule escalates with it, once.
        patterns.check_after(db, concern.pupil_ref, at, "staff_concern", worry_id=worry_id)
    return worry_id


def search_pupils(db, pupil_keys, words: str, limit: int = 20) -> list[tuple[str, Pupil]]:
    """Children on the roster whose name or class matches what was typed: (pseudonym, pupil), by name."""
    words = " ".join(words.lower().split())
    if not words:
        return []
    found = []
    # The roster is encrypted, so it is opened row by row; a school's few hundred pupils take milliseconds.
    for pupil_ref, class_name, sealed in db.execute("SELECT pupil_ref, class_name, sealed_identity FROM pupils"):
        pupil = pupil_keys.open_identity(pupil_ref, class_name, sealed)
        if pupil is None:
            continue
        if words == pupil.class_name.lower() or all(part in pupil.display_name.lower() for part in words.split()):
            found.append((pupil_ref, pupil))
    found.sort(key=lambda item: (item[1].first_name.lower(), item[1].last_name.lower(), item[1].class_name))
    return found[:limit]
