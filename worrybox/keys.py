"""Who holds which key: the team key, each member of staff's own key, and unlocking them."""

from dataclasses import dataclass, field

from . import sealing
from .choices import ADULT_AT_SCHOOL
from .db import utcnow

KEY_HOLDING_ROLES = ("dsl", "deputy")


class NoRecipients(Exception):
    """There is no valid public key to seal a worry to; the kiosk must accept nothing."""


@dataclass
class Keyring:
    """The private keys one member of staff has unlocked, held only in the console's memory."""

    staff_id: int
    private_keys: dict[str, bytes] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print key material, even in a debugger or a log
        return "Keyring(staff_id=%r, key_ids=%r)" % (self.staff_id, sorted(self.private_keys))


def staff_wrap_context(key_id: str, staff_id: int) -> bytes:
    return ("team-key|%s|staff|%d" % (key_id, staff_id)).encode()


def recovery_wrap_context(key_id: str) -> bytes:
    return ("team-key|%s|recovery" % key_id).encode()


def personal_key_context(staff_id: int, key_id: str) -> bytes:
    return ("personal-key|%s|staff|%d" % (key_id, staff_id)).encode()


def create_team_key(db, recovery_code: str) -> tuple[str, bytes]:
    """Create a new team key pair, wrapped once to the recovery code; return (key_id, private)."""
    key_id = sealing.new_key_id("team")
    private = sealing.generate_private_key()
    now = utcnow()
    public = sealing.public_key_of(private)
    db.execute(
        "INSERT INTO keys (key_id, purpose, public_key, fingerprint, created_at) VALUES (?, 'team', ?, ?, ?)",
        [key_id, public, sealing.fingerprint(public), now],
    )
    wrapped = sealing.wrap_with_passphrase(
        sealing.normalise_recovery_code(recovery_code), private, recovery_wrap_context(key_id)
    )
    db.execute(
        "INSERT INTO key_wraps (key_id, holder, wrapped_key, created_at) VALUES (?, 'recovery', ?, ?)",
        [key_id, wrapped, now],
    )
    return key_id, private


def grant_team_keys(db, staff_id: int, team_keys: dict[str, bytes]) -> None:
    """Wrap every given team private key to one member of staff's personal public key (a DSL or deputy only)."""
    role = db.execute("SELECT role FROM staff WHERE id = ? AND removed_at IS NULL", [staff_id]).fetchone()
    if role is None or role[0] not in KEY_HOLDING_ROLES:
        # By construction: school IT, a teacher or anyone else never holds the team key.
        raise ValueError("only a current DSL or deputy may hold the team key")
    public = personal_public_key(db, staff_id)
    for key_id, private in team_keys.items():
        db.execute(
            "INSERT OR REPLACE INTO key_wraps (key_id, holder, staff_id, wrapped_key, created_at) "
            "VALUES (?, 'staff', ?, ?, ?)",
            [key_id, staff_id, sealing.wrap_to_public(public, private, staff_wrap_context(key_id, staff_id)), utcnow()],
        )


def personal_public_key(db, staff_id: int) -> bytes:
    row = db.execute(
        "SELECT k.public_key, k.fingerprint FROM keys k JOIN staff s ON s.key_id = k.key_id WHERE s.id = ?", [staff_id]
    ).fetchone()
    if row is None:
        raise LookupError("no personal key for staff %d" % staff_id)
    if sealing.fingerprint(row[0]) != row[1]:
        raise LookupError("the personal key of staff %d is damaged" % staff_id)
    return row[0]


def unlock_keyring(db, staff_id: int, password: str) -> Keyring:
    """Unwrap a member of staff's own key with their password, then every key wrapped to them."""
    key_id, wrapped = db.execute(
        "SELECT key_id, wrapped_private_key FROM staff WHERE id = ?", [staff_id]
    ).fetchone()
    personal = sealing.unwrap_with_passphrase(password, wrapped, personal_key_context(staff_id, key_id))
    keyring = Keyring(staff_id=staff_id, private_keys={key_id: personal})
    for team_key_id, wrapped_team in db.execute(
        "SELECT key_id, wrapped_key FROM key_wraps WHERE holder = 'staff' AND staff_id = ?", [staff_id]
    ):
        keyring.private_keys[team_key_id] = sealing.unwrap_with_private(
            personal, wrapped_team, staff_wrap_context(team_key_id, staff_id)
        )
    return keyring


def unlock_team_with_recovery(db, recovery_code: str) -> dict[str, bytes]:
    """Unwrap every team key with the recovery code printed at set-up."""
    code = sealing.normalise_recovery_code(recovery_code)
    return {
        key_id: sealing.unwrap_with_passphrase(code, wrapped, recovery_wrap_context(key_id))
        for key_id, wrapped in db.execute("SELECT key_id, wrapped_key FROM key_wraps WHERE holder = 'recovery'")
    }


def team_keys_of(keyring: Keyring, db) -> dict[str, bytes]:
    """Return the team private keys in a keyring."""
    team_ids = {row[0] for row in db.execute("SELECT key_id FROM keys WHERE purpose = 'team'")}
    return {key_id: key for key_id, key in keyring.private_keys.items() if key_id in team_ids}


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
    """(key id, public key, name) of each current member of staff with this role (and class), undamaged keys only."""
    sql = ("SELECT k.key_id, k.public_key, k.fingerprint, s.name FROM staff s "
           "JOIN keys k ON k.key_id = s.key_id AND k.staff_id = s.id AND k.purpose = 'staff' "
           "WHERE s.role = ? AND s.removed_at IS NULL AND k.retired_at IS NULL")
    params = [role]
    if class_name is not None:
        sql += " AND s.class_name IS NOT NULL AND lower(trim(s.class_name)) = lower(trim(?))"
        params.append(class_name)
    found = []
    for key_id, public, stored_fingerprint, name in db.execute(sql + " ORDER BY s.name, s.id", params):
        # A damaged personal key is left out (the team still reads the worry); it must never stop the kiosk.
        if sealing.fingerprint(public) == stored_fingerprint:
            found.append((key_id, public, name))
    return found


def recipients_for(db, topic: str | None, talk_to: str | None,
                   class_name: str | None) -> tuple[dict[str, bytes], list[tuple[str, str | None]]]:
    """Choose who a new worry is sealed to; return (key id -> public key, readers for the thank-you page).

    Always the safeguarding team key. A worry about a grown-up at school also goes to every head teacher
    and never to a class teacher, whatever the child chose; otherwise a named child (class_name given) who
    chose "my teacher" also reaches their class teacher(s). School IT is never a recipient. Readers are
    ("team", None), ("class_teacher", name) or ("head", None). Raises NoRecipients like worry_recipients.
    """
    recipients = worry_recipients(db)
    readers: list[tuple[str, str | None]] = [("team", None)]
    if topic == ADULT_AT_SCHOOL:
        heads = _personal_recipients(db, "head")
        recipients.update((key_id, public) for key_id, public, _name in heads)
        if heads:
            readers.append(("head", None))
    elif talk_to == "teacher" and class_name:
        for key_id, public, name in _personal_recipients(db, "teacher", class_name):
            recipients[key_id] = public
            readers.append(("class_teacher", name))
    return recipients, readers


def key_holders(db) -> list[int]:
    """The ids of every current DSL and deputy: the staff the team key is wrapped to."""
    placeholders = ",".join("?" * len(KEY_HOLDING_ROLES))
    return [row[0] for row in db.execute(
        "SELECT id FROM staff WHERE removed_at IS NULL AND role IN (%s) ORDER BY id" % placeholders,
        list(KEY_HOLDING_ROLES))]


def rotate_team_key(db, team_keys: dict[str, bytes], recovery_code: str) -> tuple[str, bytes]:
    """Retire the team key for a new one; wrap every team key to each DSL and deputy and to a new recovery code.

    team_keys must be every team key the school has ever had (a DSL's), so old worries keep opening
    for the DSL team and with the new recovery code; the old recovery code's wraps are deleted.
    """
    every_team_key = {row[0] for row in db.execute("SELECT key_id FROM keys WHERE purpose = 'team'")}
    if set(team_keys) != every_team_key:
        raise ValueError("rotating needs every team key the school has had")
    now = utcnow()
    code = sealing.normalise_recovery_code(recovery_code)
    recovery_wraps = {key_id: sealing.wrap_with_passphrase(code, private, recovery_wrap_context(key_id))
                      for key_id, private in team_keys.items()}
    with db.atomic():
        db.execute("UPDATE keys SET retired_at = ? WHERE purpose = 'team' AND retired_at IS NULL", [now])
        db.execute("DELETE FROM key_wraps WHERE holder = 'recovery'")
        new_key_id, new_private = create_team_key(db, recovery_code)
        for key_id, wrapped in recovery_wraps.items():
            db.execute("INSERT INTO key_wraps (key_id, holder, wrapped_key, created_at) VALUES (?, 'recovery', ?, ?)",
                       [key_id, wrapped, now])
        every = {**team_keys, new_key_id: new_private}
        for staff_id in key_holders(db):
            grant_team_keys(db, staff_id, every)
    return new_key_id, new_private
