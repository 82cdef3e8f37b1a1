"""The safeguarding team's signing key: make it, unwrap it with the team key, and certify staff (console and CLI only).

Only a DSL or deputy (or the recovery code) holds the team key, so only they can certify: school IT can
create an account, but it receives nothing until a DSL or deputy approves it.
"""

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa

from . import certificates, opening, sealing
from .audit import audit
from .clock import utcnow
from .db import write_transaction


class NoSigningKey(Exception):
    """The keys given do not include the team key the signing key is wrapped to."""


def _sign_mldsa65(private: bytes, message: bytes) -> bytes:
    return mldsa.MLDSA65PrivateKey.from_seed_bytes(private).sign(message, certificates.MLDSA_CONTEXT)


def _sign_ed25519(private: bytes, message: bytes) -> bytes:
    return ed25519.Ed25519PrivateKey.from_private_bytes(private).sign(message)


def _new_mldsa65() -> tuple[bytes, bytes]:
    key = mldsa.MLDSA65PrivateKey.generate()
    return key.private_bytes_raw(), key.public_key().public_bytes_raw()


def _new_ed25519() -> tuple[bytes, bytes]:
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes_raw(), key.public_key().public_bytes_raw()


# In the order of certificates.SCHEMES: (new key pair, sign, private key length).
SIGNERS = ((_new_mldsa65, _sign_mldsa65, 32), (_new_ed25519, _sign_ed25519, 32))


def signing_wrap_context(signing_key_id: str, team_key_id: str) -> bytes:
    return ("signing-key|%s|team-key|%s" % (signing_key_id, team_key_id)).encode()


@dataclass
class Signer:
    """The team's signing key, unwrapped for one task, and who is using it."""

    key_id: str
    private: bytes = field(repr=False)
    by_staff_id: int | None

    def sign(self, message: bytes) -> bytes:
        signature, private = b"", self.private
        for _new, sign, private_len in SIGNERS:
            signature += sign(private[:private_len], message)
            private = private[private_len:]
        return signature


def _team_key_in_use(db) -> str:
    row = db.execute("SELECT key_id FROM keys WHERE purpose = 'team' AND retired_at IS NULL "
                     "ORDER BY created_at DESC LIMIT 1").fetchone()
    if row is None:
        raise NoSigningKey("the school has no team key")
    return row[0]


def create_signing_key(db, team_keys: dict[str, bytes], by_staff_id: int | None = None) -> Signer:
    """Make a new signing key wrapped to the team key in use, retiring any other; return it unwrapped."""
    team_key_id = _team_key_in_use(db)
    if team_key_id not in team_keys:
        raise NoSigningKey("the team key in use is needed to make the signing key")
    team_public = db.execute("SELECT public_key FROM keys WHERE key_id = ?", [team_key_id]).fetchone()[0]
    private, public = b"", b""
    for new, _sign, _len in SIGNERS:
        part_private, part_public = new()
        private, public = private + part_private, public + part_public
    key_id = sealing.new_key_id("signing")
    now = utcnow()
    with write_transaction(db):
        db.execute("UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL", [now])
        db.execute("INSERT INTO signing_keys (key_id, team_key_id, public_key, wrapped_private_key, created_at) "
                   "VALUES (?, ?, ?, ?, ?)",
                   [key_id, team_key_id, public,
                    sealing.wrap_to_public(team_public, private, signing_wrap_context(key_id, team_key_id)), now])
        audit(db, "signing_key_created", staff_id=by_staff_id,
              detail="signing key %s for team key %s" % (key_id, team_key_id))
    return Signer(key_id, private, by_staff_id)


def signer(db, team_keys: dict[str, bytes], by_staff_id: int | None = None) -> Signer:
    """Unwrap the team's signing key with the team keys given, making it first if the school has none yet."""
    row = db.execute("SELECT key_id, team_key_id, wrapped_private_key, public_key FROM signing_keys "
                     "WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1").fetchone()
    if row is None:
        return create_signing_key(db, team_keys, by_staff_id)
    key_id, team_key_id, wrapped, public = row
    if team_key_id not in team_keys:
        raise NoSigningKey("the team key %s is needed to use the signing key" % team_key_id)
    try:
        private = opening.unwrap_with_private(team_keys[team_key_id], wrapped, signing_wrap_context(key_id, team_key_id))
    except opening.OpenError as exc:
        raise NoSigningKey("the signing key does not open with the team key") from exc
    found = Signer(key_id, private, by_staff_id)
    probe = b"worrybox signing key check"
    if not certificates.verify_signature(public, found.sign(probe), probe):
        raise NoSigningKey("the signing key's public half was changed in the database")
    return found


def certify(db, signing: Signer, staff_id: int, event: str = "certificate_issued") -> None:
    """Issue a certificate for a member of staff's account and personal key as they are stored now; audited."""
    row = db.execute("SELECT s.email, s.role, s.class_name, s.key_id, k.public_key FROM staff s "
                     "JOIN keys k ON k.key_id = s.key_id AND k.staff_id = s.id AND k.purpose = 'staff' "
                     "WHERE s.id = ? AND s.removed_at IS NULL AND k.retired_at IS NULL", [staff_id]).fetchone()
    if row is None:
        raise LookupError("no current member of staff %d with a current key" % staff_id)
    email, role, class_name, key_id, public = row
    if role not in certificates.RECEIVING_ROLES:
        raise ValueError("a %s receives nothing and needs no certificate" % role)
    now = utcnow()
    fingerprint = sealing.fingerprint(public)
    body = certificates.certificate_body(staff_id, email, role, class_name, key_id, fingerprint, now,
                                         signing.by_staff_id, signing.key_id)
    with write_transaction(db):
        db.execute("INSERT INTO certificates (staff_id, key_id, signing_key_id, body, signature, issued_at, issued_by) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [staff_id, key_id, signing.key_id, body, signing.sign(body.encode("utf-8")), now,
                    signing.by_staff_id])
        audit(db, event, staff_id=signing.by_staff_id,
              detail="staff %d (%s%s), key %s, fingerprint %s" % (
                  staff_id, role, " of %s" % class_name if role == "teacher" and class_name else "", key_id,
                  short_fingerprint(fingerprint)))


def short_fingerprint(fingerprint: str) -> str:
    """The first 16 hex digits in groups of four, for people to compare: '3f9a 1c2b 77d0 e4a1'."""
    return " ".join(fingerprint[i:i + 4] for i in range(0, 16, 4))


def certify_approver(db, signing: Signer, by_staff_id: int | None) -> None:
    """Certify the DSL or deputy approving someone, if they hold the team key in use and are not yet certified."""
    # A DSL or deputy who holds the team key in use needs no one's approval; in a school that had no
    # signing key yet, the first DSL to approve anyone is certified with it.
    if by_staff_id is None or certificates.is_certified(db, by_staff_id, log_mismatch=False):
        return
    role = db.execute("SELECT role FROM staff WHERE id = ? AND removed_at IS NULL", [by_staff_id]).fetchone()
    held = db.execute("SELECT 1 FROM key_wraps k JOIN signing_keys s ON s.team_key_id = k.key_id "
                      "WHERE k.holder = 'staff' AND k.staff_id = ? AND s.key_id = ?",
                      [by_staff_id, signing.key_id]).fetchone()
    if role and role[0] in ("dsl", "deputy") and held:
        certify(db, signing, by_staff_id)
