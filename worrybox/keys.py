"""Who holds which key: the team key, each member of staff's own key, and unlocking them (console and CLI only)."""

from dataclasses import dataclass, field

from . import certificates, certify, opening, sealing
from .clock import utcnow
from .db import write_transaction


KEY_HOLDING_ROLES = ("dsl", "deputy")


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
    private = opening.generate_private_key()
    now = utcnow()
    public = opening.public_key_of(private)
    db.execute(
        "INSERT INTO keys (key_id, purpose, public_key, fingerprint, created_at) VALUES (?, 'team', ?, ?, ?)",
        [key_id, public, sealing.fingerprint(public), now],
    )
    wrapped = opening.wrap_with_passphrase(
        opening.normalise_recovery_code(recovery_code), private, recovery_wrap_context(key_id)
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
    if not certificates.is_certified(db, staff_id):
        # A role edited in the database, or an account no DSL approved, never receives the team key.
        raise ValueError("only a DSL or deputy the safeguarding team has certified may hold the team key")
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
    personal = opening.unwrap_with_passphrase(password, wrapped, personal_key_context(staff_id, key_id))
    keyring = Keyring(staff_id=staff_id, private_keys={key_id: personal})
    for team_key_id, wrapped_team in db.execute(
        "SELECT key_id, wrapped_key FROM key_wraps WHERE holder = 'staff' AND staff_id = ?", [staff_id]
    ):
        keyring.private_keys[team_key_id] = opening.unwrap_with_private(
            personal, wrapped_team, staff_wrap_context(team_key_id, staff_id)
        )
    return keyring


def unlock_team_with_recovery(db, recovery_code: str) -> dict[str, bytes]:
    """Unwrap every team key with the recovery code printed at set-up."""
    code = opening.normalise_recovery_code(recovery_code)
    return {
        key_id: opening.unwrap_with_passphrase(code, wrapped, recovery_wrap_context(key_id))
        for key_id, wrapped in db.execute("SELECT key_id, wrapped_key FROM key_wraps WHERE holder = 'recovery'")
    }


def team_keys_of(keyring: Keyring, db) -> dict[str, bytes]:
    """Return the team private keys in a keyring."""
    team_ids = {row[0] for row in db.execute("SELECT key_id FROM keys WHERE purpose = 'team'")}
    return {key_id: key for key_id, key in keyring.private_keys.items() if key_id in team_ids}


def key_holders(db) -> list[int]:
    """The ids of every current, certified DSL and deputy: the staff the team key is wrapped to."""
    placeholders = ",".join("?" * len(KEY_HOLDING_ROLES))
    return [row[0] for row in db.execute(
        "SELECT id FROM staff WHERE removed_at IS NULL AND role IN (%s) ORDER BY id" % placeholders,
        list(KEY_HOLDING_ROLES)) if certificates.is_certified(db, row[0])]


def rotate_team_key(db, team_keys: dict[str, bytes], recovery_code: str,
                    by_staff_id: int | None = None) -> tuple[str, bytes]:
    """Retire the team key for a new one; wrap every team key to each certified DSL and deputy and a new recovery code.

    team_keys must be every team key the school has ever had (a DSL's), so old worries keep opening
    for the DSL team and with the new recovery code; the old recovery code's wraps are deleted. The
    signing key is renewed with the team key: every certificate that verifies now is signed again with
    the new one (an edited role or class stays uncertified), and only certified DSLs and deputies get keys.
    """
    every_team_key = {row[0] for row in db.execute("SELECT key_id FROM keys WHERE purpose = 'team'")}
    if set(team_keys) != every_team_key:
        raise ValueError("rotating needs every team key the school has had")
    now = utcnow()
    code = opening.normalise_recovery_code(recovery_code)
    recovery_wraps = {key_id: opening.wrap_with_passphrase(code, private, recovery_wrap_context(key_id))
                      for key_id, private in team_keys.items()}
    with write_transaction(db):
        # Certified now, under the signing key being retired (the rotating DSL too, who holds every team key).
        still_certified = [s.staff_id for s in certificates.standings(db) if s.certified]
        db.execute("UPDATE keys SET retired_at = ? WHERE purpose = 'team' AND retired_at IS NULL", [now])
        db.execute("DELETE FROM key_wraps WHERE holder = 'recovery'")
        new_key_id, new_private = create_team_key(db, recovery_code)
        for key_id, wrapped in recovery_wraps.items():
            db.execute("INSERT INTO key_wraps (key_id, holder, wrapped_key, created_at) VALUES (?, 'recovery', ?, ?)",
                       [key_id, wrapped, now])
        every = {**team_keys, new_key_id: new_private}
        signing = certify.create_signing_key(db, every, by_staff_id)
        for staff_id in still_certified:
            certify.certify(db, signing, staff_id, event="certificate_renewed")
        if by_staff_id is not None and by_staff_id not in still_certified and db.execute(
                "SELECT 1 FROM staff WHERE id = ? AND removed_at IS NULL AND role = 'dsl'", [by_staff_id]).fetchone():
            # A school that had no signing key yet: the DSL rotating holds every team key, so needs no approval.
            certify.certify(db, signing, by_staff_id)
        # Wraps to anyone no longer certified (a role edited in the database) are not renewed.
        db.execute("DELETE FROM key_wraps WHERE holder = 'staff'")
        holders = key_holders(db)
        if not holders:
            raise ValueError("no certified DSL or deputy would hold the new team key")
        for staff_id in holders:
            grant_team_keys(db, staff_id, every)
    return new_key_id, new_private
