"""Check that a personal key is certified by the safeguarding team. Public keys only: the kiosk imports this.

A certificate is signed with the team's signing key (ML-DSA-65 and Ed25519: both signatures must verify)
and binds staff id, email, role, class, key id and public key fingerprint together. Whatever seals or wraps
uses a personal key only while its certificate verifies and still matches the account as stored; anything
else (never approved, role or class edited, key swapped) means "no key". Signing lives in worrybox.certify,
which the kiosk never loads.
"""

import json
import logging
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa

from . import sealing

log = logging.getLogger("worrybox.trust")

# Staff whose personal key may receive a worry, a note or a team key: each needs a certificate.
RECEIVING_ROLES = ("dsl", "deputy", "head", "teacher", "governor")
CERTIFICATE_VERSION = 1
MLDSA_CONTEXT = b"worrybox certificate v1"
MLDSA65_PUBLIC_LEN = 1952
MLDSA65_SIGNATURE_LEN = 3309
ED25519_LEN = 32
ED25519_SIGNATURE_LEN = 64
SIGNING_PUBLIC_LEN = MLDSA65_PUBLIC_LEN + ED25519_LEN


def _verify_mldsa65(public: bytes, signature: bytes, message: bytes) -> None:
    mldsa.MLDSA65PublicKey.from_public_bytes(public).verify(signature, message, MLDSA_CONTEXT)


def _verify_ed25519(public: bytes, signature: bytes, message: bytes) -> None:
    ed25519.Ed25519PublicKey.from_public_bytes(public).verify(signature, message)


# (name, public key length, signature length, verify): a hybrid signature is each part in this order.
SCHEMES = (
    ("ML-DSA-65", MLDSA65_PUBLIC_LEN, MLDSA65_SIGNATURE_LEN, _verify_mldsa65),
    ("Ed25519", ED25519_LEN, ED25519_SIGNATURE_LEN, _verify_ed25519),
)


def verify_signature(public: bytes, signature: bytes, message: bytes) -> bool:
    """Whether every part of a hybrid signature verifies (one failing part fails the whole)."""
    if len(public) != sum(s[1] for s in SCHEMES) or len(signature) != sum(s[2] for s in SCHEMES):
        return False
    try:
        for _name, public_len, signature_len, verify in SCHEMES:
            verify(public[:public_len], signature[:signature_len], message)
            public, signature = public[public_len:], signature[signature_len:]
    except (InvalidSignature, ValueError):
        return False
    return True


def normalise_class(class_name: str | None) -> str | None:
    return class_name.strip().lower() if class_name and class_name.strip() else None


def certificate_body(staff_id: int, email: str, role: str, class_name: str | None, key_id: str, fingerprint: str,
                     issued_at: str, issued_by: int | None, signing_key_id: str) -> str:
    """The exact text a certificate signs (canonical JSON)."""
    return json.dumps({
        "v": CERTIFICATE_VERSION, "staff_id": staff_id, "email": email.strip().lower(), "role": role,
        "class": normalise_class(class_name) if role == "teacher" else None, "key_id": key_id,
        "fingerprint": fingerprint, "issued_at": issued_at, "issued_by": issued_by, "signing_key_id": signing_key_id,
    }, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Standing:
    """Whether one account's personal key may receive: certified, waiting for approval, or a mismatch."""

    staff_id: int
    certified: bool
    problem: str | None = None  # None when certified; "pending" when never approved; else what does not match

    @property
    def pending(self) -> bool:
        return self.problem == "pending"


_ACCOUNT_SQL = ("SELECT s.id, s.email, s.role, s.class_name, s.key_id, k.public_key, k.retired_at, s.removed_at "
                "FROM staff s LEFT JOIN keys k ON k.key_id = s.key_id AND k.staff_id = s.id AND k.purpose = 'staff' ")


def _standing(db, row) -> Standing:
    staff_id, email, role, class_name, key_id, public, key_retired_at, removed_at = row
    if removed_at is not None or public is None or key_retired_at is not None:
        return Standing(staff_id, False, "no current key")
    cert = db.execute("SELECT key_id, signing_key_id, body, signature FROM certificates WHERE staff_id = ? "
                      "ORDER BY id DESC LIMIT 1", [staff_id]).fetchone()
    if cert is None:
        return Standing(staff_id, False, "pending")
    cert_key_id, signing_key_id, body, signature = cert
    signer = db.execute("SELECT public_key, retired_at FROM signing_keys WHERE key_id = ?",
                        [signing_key_id]).fetchone()
    if signer is None:
        return Standing(staff_id, False, "its certificate was signed by an unknown key (changed in the database)")
    if not verify_signature(signer[0], signature, body.encode("utf-8")):
        return Standing(staff_id, False, "its certificate does not verify (changed in the database)")
    try:
        approved = json.loads(body)
    except ValueError:
        return Standing(staff_id, False, "its certificate cannot be read")
    differs = []
    if approved.get("staff_id") != staff_id or approved.get("email") != email.strip().lower():
        differs.append("account")
    if approved.get("role") != role:
        differs.append("role")
    elif approved.get("class") != (normalise_class(class_name) if role == "teacher" else None):
        differs.append("class")
    if approved.get("key_id") != key_id or cert_key_id != key_id \
            or approved.get("fingerprint") != sealing.fingerprint(public):
        differs.append("key")
    if approved.get("signing_key_id") != signing_key_id:
        differs.append("signing key")
    if differs:
        return Standing(staff_id, False, "its %s changed since a DSL approved it" % " and ".join(differs))
    if signer[1] is not None:
        return Standing(staff_id, False, "its certificate was signed by a signing key the team no longer uses")
    return Standing(staff_id, True)


def standing(db, staff_id: int) -> Standing:
    """Whether this member of staff's personal key is certified and matches their account as stored now."""
    row = db.execute(_ACCOUNT_SQL + "WHERE s.id = ?", [staff_id]).fetchone()
    if row is None:
        return Standing(staff_id, False, "no such member of staff")
    return _standing(db, row)


def is_certified(db, staff_id: int, log_mismatch: bool = True) -> bool:
    """Whether a personal key may receive; a mismatch is logged (staff id and what differs, nothing else)."""
    found = standing(db, staff_id)
    if log_mismatch and not found.certified and not found.pending:
        log.warning("staff %d receives nothing: %s", staff_id, found.problem)
    return found.certified


def standings(db) -> list[Standing]:
    """The standing of every current member of staff in a role that may receive."""
    placeholders = ",".join("?" * len(RECEIVING_ROLES))
    rows = db.execute(_ACCOUNT_SQL + "WHERE s.removed_at IS NULL AND s.role IN (%s) ORDER BY s.id" % placeholders,
                      list(RECEIVING_ROLES)).fetchall()
    return [_standing(db, row) for row in rows]


def current_signing_key(db) -> tuple[str, bytes] | None:
    """(key id, public key) of the team's signing key in use, or None if the team has not made one yet."""
    row = db.execute("SELECT key_id, public_key FROM signing_keys WHERE retired_at IS NULL "
                     "ORDER BY created_at DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None
