"""Actions to follow up (an owner and a due date) and referrals to other agencies, in a worry's chronology.

What to do, a referral's reference and its outcome are notes sealed like any other (to everyone who can
open the worry; an action also to its owner). Who owns an action, when it is due, to whom a referral went
and when stay in clear, so overdue actions can be listed and referrals counted without opening anything.
Console only: it records with a member of staff's keys.
"""

from datetime import date

from . import certificates
from .audit import audit
from .casework import _insert_action, _key_for, _seal_note
from .clock import utcnow
from .db import write_transaction
from .keys import personal_public_key

AGENCIES = {
    "early_help": "Early Help",
    "social_care": "Children's social care",
    "police": "Police",
    "lado": "Local authority designated officer (LADO)",
}
MAX_WORDS = 1000


def add_follow_up(db, worry_id: int, keyring, owner_id: int, due_on: date, what: str) -> int:
    """Give a worry or concern an action with an owner and a due date; what to do is sealed."""
    _key_for(db, worry_id, keyring)
    what = what.strip()
    if not what or len(what) > MAX_WORDS:
        raise ValueError("Say what is to be done, in up to %d characters." % MAX_WORDS)
    owner = db.execute("SELECT key_id FROM staff WHERE id = ? AND removed_at IS NULL", [owner_id]).fetchone()
    if owner is None:
        raise ValueError("Choose a current member of staff to do it.")
    now = utcnow()
    # The owner must be able to read what they are to do, even when the worry itself is not theirs to open; like
    # everything sealed, only to a key the safeguarding team has certified.
    also = {owner[0]: personal_public_key(db, owner_id)} if certificates.is_certified(db, owner_id) else {}
    with write_transaction(db):
        action_id = _insert_action(db, worry_id, keyring.staff_id, "follow_up", now)
        _seal_note(db, worry_id, action_id, "%s (due %s)" % (what, due_on.isoformat()), also=also)
        follow_up_id = db.execute(
            "INSERT INTO follow_ups (worry_id, action_id, owner_id, due_on, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?)", [worry_id, action_id, owner_id, due_on.isoformat(), now, keyring.staff_id]
        ).lastrowid
        audit(db, "follow_up_added", staff_id=keyring.staff_id, worry_id=worry_id,
              detail="action %d for staff %d due %s" % (follow_up_id, owner_id, due_on.isoformat()))
    return follow_up_id


def mark_done(db, follow_up_id: int, staff_id: int, may_close_any: bool) -> bool:
    """Mark an action done: its owner may, and so may the safeguarding team."""
    row = db.execute("SELECT worry_id, owner_id FROM follow_ups WHERE id = ? AND done_at IS NULL",
                     [follow_up_id]).fetchone()
    if row is None or not (may_close_any or row[1] == staff_id):
        return False
    now = utcnow()
    with write_transaction(db):
        db.execute("UPDATE follow_ups SET done_at = ?, done_by = ? WHERE id = ?", [now, staff_id, follow_up_id])
        if row[0] is not None:
            _insert_action(db, row[0], staff_id, "follow_up_done", now)
        audit(db, "follow_up_done", staff_id=staff_id, worry_id=row[0], detail="action %d" % follow_up_id)
    return True


def overdue(db, today: date, owner_id: int | None = None) -> list[dict]:
    """Actions not done and past their due date (one owner's, or everyone's), oldest due first."""
    sql = ("SELECT f.id, f.worry_id, f.due_on, s.name, f.owner_id FROM follow_ups f JOIN staff s ON s.id = f.owner_id "
           "WHERE f.done_at IS NULL AND f.due_on < ?")
    params = [today.isoformat()]
    if owner_id is not None:
        sql += " AND f.owner_id = ?"
        params.append(owner_id)
    columns = ("id", "worry_id", "due_on", "owner_name", "owner_id")
    return [dict(zip(columns, row)) for row in db.execute(sql + " ORDER BY f.due_on, f.id", params)]


def for_worry(db, worry_id: int) -> list[dict]:
    """A worry's actions (who, when due, done or not) and referrals (to whom, when), in clear columns only."""
    columns = ("id", "owner_name", "owner_id", "due_on", "done_at")
    actions = [dict(zip(columns, row)) for row in db.execute(
        "SELECT f.id, s.name, f.owner_id, f.due_on, f.done_at FROM follow_ups f JOIN staff s ON s.id = f.owner_id "
        "WHERE f.worry_id = ? ORDER BY f.id", [worry_id])]
    referrals = [dict(zip(("id", "agency", "referred_on", "has_outcome"), row)) for row in db.execute(
        "SELECT id, agency, referred_on, outcome_action_id IS NOT NULL FROM referrals WHERE worry_id = ? ORDER BY id",
        [worry_id])]
    return actions, referrals


def add_referral(db, worry_id: int, keyring, agency: str, referred_on: date, reference: str = "") -> int:
    """Record a referral to another agency in the worry's chronology; the reference is sealed like a note."""
    _key_for(db, worry_id, keyring)
    if agency not in AGENCIES:
        raise ValueError("Choose who the referral went to.")
    if len(reference) > MAX_WORDS:
        raise ValueError("A reference can be up to %d characters." % MAX_WORDS)
    now = utcnow()
    with write_transaction(db):
        action_id = _insert_action(db, worry_id, keyring.staff_id, "referral:%s" % agency, now)
        _seal_note(db, worry_id, action_id, "Referred on %s. Reference: %s" % (
            referred_on.isoformat(), reference.strip() or "none given"))
        referral_id = db.execute(
            "INSERT INTO referrals (worry_id, action_id, agency, referred_on, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?)", [worry_id, action_id, agency, referred_on.isoformat(), now, keyring.staff_id]
        ).lastrowid
        audit(db, "referral_recorded", staff_id=keyring.staff_id, worry_id=worry_id,
              detail="referral %d to %s" % (referral_id, agency))
    return referral_id


def record_outcome(db, referral_id: int, keyring, outcome: str) -> None:
    """Add what came of a referral to the chronology, sealed like a note."""
    row = db.execute("SELECT worry_id FROM referrals WHERE id = ?", [referral_id]).fetchone()
    if row is None or row[0] is None:
        raise LookupError(referral_id)
    _key_for(db, row[0], keyring)
    outcome = outcome.strip()
    if not outcome or len(outcome) > MAX_WORDS:
        raise ValueError("Say what came of the referral, in up to %d characters." % MAX_WORDS)
    now = utcnow()
    with write_transaction(db):
        action_id = _insert_action(db, row[0], keyring.staff_id, "referral_outcome", now)
        _seal_note(db, row[0], action_id, outcome)
        db.execute("UPDATE referrals SET outcome_action_id = ? WHERE id = ?", [action_id, referral_id])
        audit(db, "referral_outcome", staff_id=keyring.staff_id, worry_id=row[0], detail="referral %d" % referral_id)


def open_actions(db, keyring, owner_id: int | None = None) -> list[dict]:
    """Actions not done yet (one owner's, or everyone's), soonest due first, each with what to do if this keyring
    opens it. Each one opened is audited, like any note read."""
    sql = ("SELECT f.id, f.worry_id, f.action_id, f.due_on, s.name, f.owner_id FROM follow_ups f "
           "JOIN staff s ON s.id = f.owner_id WHERE f.done_at IS NULL")
    params = []
    if owner_id is not None:
        sql += " AND f.owner_id = ?"
        params.append(owner_id)
    found = []
    with write_transaction(db):
        for follow_up_id, worry_id, action_id, due_on, owner_name, owner in db.execute(
                sql + " ORDER BY f.due_on, f.id", params).fetchall():
            what = _open_note(db, action_id, worry_id, keyring)
            if what is not None:
                audit(db, "open_action", staff_id=keyring.staff_id, worry_id=worry_id, detail="action %d" % follow_up_id)
            found.append({"id": follow_up_id, "worry_id": worry_id, "due_on": due_on, "owner_name": owner_name,
                          "owner_id": owner, "what": what})
    return found


def _open_note(db, action_id: int | None, worry_id: int | None, keyring) -> str | None:
    from . import opening  # console only, like casework
    from .casework import action_aad

    row = db.execute("SELECT sealed_note FROM actions WHERE id = ?", [action_id]).fetchone()
    if not row or not row[0]:
        return None
    for key_id, sealed_key in db.execute("SELECT key_id, sealed_key FROM action_keys WHERE action_id = ?", [action_id]):
        if key_id in keyring.private_keys:
            return opening.open_sealed(row[0], key_id, sealed_key, keyring.private_keys[key_id],
                                       action_aad(action_id, worry_id)).decode("utf-8")
    return None
