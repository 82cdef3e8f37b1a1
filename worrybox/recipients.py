"""Choose the public keys a new worry is sealed to. Public keys only: the kiosk imports this."""

from . import certificates, sealing
from .choices import ADULT_AT_SCHOOL


class NoRecipients(Exception):
    """There is no valid public key to seal a worry to; the kiosk must accept nothing."""


def worry_recipients(db) -> dict[str, bytes]:
    """Return the public keys every new worry is sealed to; raise NoRecipients if none is usable."""
    rows = db.execute(
        "SELECT key_id, public_key, fingerprint FROM keys WHERE purpose = 'team' AND retired_at IS NULL"
    ).fetchall()
    if not rows:
        raise NoRecipients("no team key")
    for key_id, public, stored_fingerprint in rows:
        try:
            sealing.load_public_key(public)
        except Exception as exc:  # any malformed key means we cannot seal safely
            raise NoRecipients("team key %s is not a valid public key" % key_id) from exc
        if sealing.fingerprint(public) != stored_fingerprint:
            raise NoRecipients("team key %s does not match its fingerprint (damaged)" % key_id)
    return {key_id: public for key_id, public, _ in rows}


def _personal_recipients(db, role: str, class_name: str | None = None) -> list[tuple[str, bytes, str]]:
    """(key id, public key, name) of each current member of staff with this role (and class), certified keys only."""
    sql = ("SELECT k.key_id, k.public_key, k.fingerprint, s.name, s.id FROM staff s "
           "JOIN keys k ON k.key_id = s.key_id AND k.staff_id = s.id AND k.purpose = 'staff' "
           "WHERE s.role = ? AND s.removed_at IS NULL AND k.retired_at IS NULL")
    params = [role]
    if class_name is not None:
        sql += " AND s.class_name IS NOT NULL AND lower(trim(s.class_name)) = lower(trim(?))"
        params.append(class_name)
    found = []
    for key_id, public, stored_fingerprint, name, staff_id in db.execute(sql + " ORDER BY s.name, s.id", params):
        # A damaged personal key is left out (the team still reads the worry); it must never stop the kiosk.
        # So is one no DSL approved, or whose role, class or key changed since: only the team reads then.
        if sealing.fingerprint(public) == stored_fingerprint and certificates.is_certified(db, staff_id):
            found.append((key_id, public, name))
    return found


def recipients_for(db, topic: str | None, talk_to: str | None,
                   class_name: str | None) -> tuple[dict[str, bytes], list[tuple[str, str | None]]]:
    """Choose who a new worry is sealed to; return (key id -> public key, readers for the thank-you page).

    Always the safeguarding team key. A worry about a grown-up at school also goes to every head teacher
    and governor and never to a class teacher, whatever the child chose; otherwise a named child (class_name given) who
    chose "my teacher" also reaches their class teacher(s). School IT is never a recipient. Readers are
    ("team", None), ("class_teacher", name), ("head", None) or ("governor", None). Only keys a DSL or deputy
    certified receive (worrybox.certificates). Raises NoRecipients like worry_recipients.
    """
    recipients = worry_recipients(db)
    readers: list[tuple[str, str | None]] = [("team", None)]
    if topic == ADULT_AT_SCHOOL:
        heads = _personal_recipients(db, "head")
        recipients.update((key_id, public) for key_id, public, _name in heads)
        if heads:
            readers.append(("head", None))
        governors = _personal_recipients(db, "governor")
        recipients.update((key_id, public) for key_id, public, _name in governors)
        if governors:
            readers.append(("governor", None))
    elif talk_to == "teacher" and class_name:
        for key_id, public, name in _personal_recipients(db, "teacher", class_name):
            recipients[key_id] = public
            readers.append(("class_teacher", name))
    return recipients, readers
