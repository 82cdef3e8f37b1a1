"""Two-factor sign-in for staff: TOTP codes (RFC 6238) that each work once, and one-time backup codes.

The TOTP secret is wrapped to the member of staff's own public key, like the team key is, so it opens
only with their password: a copy of the database, or someone who can read it, never sees it in clear.
Backup codes are stored as HMACs under a key derived from the same private key, so they cannot be
guessed offline from the database either. Nothing here is ever logged.
"""

import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import keys, opening, sealing
from .clock import utcnow
from .db import get_setting, set_setting, write_transaction

STEP_SECONDS = 30
DIGITS = 6
# A code from the step before or after the current one is accepted too (clocks drift, people are slow).
WINDOW = 1
BACKUP_CODES = 10
# The school setting: "required" (the default) or "off" (the demo school, and tests of other things).
SETTING = "two_factor"
_BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper and typed by people


def required_for(db, staff_id: int, role: str) -> bool:
    """Whether this member of staff must give a second factor: key holders always, unless the school is off."""
    if is_enrolled(db, staff_id):
        return True
    return role in keys.KEY_HOLDING_ROLES and school_requires(db)


def school_requires(db) -> bool:
    return get_setting(db, SETTING, "required") != "off"


def set_school_requirement(db, required: bool) -> None:
    set_setting(db, SETTING, "required" if required else "off")


def is_enrolled(db, staff_id: int) -> bool:
    row = db.execute("SELECT totp_wrapped_secret FROM staff WHERE id = ?", [staff_id]).fetchone()
    return bool(row and row[0])


def new_secret() -> str:
    """Return a new TOTP secret: 160 random bits in base32, as authenticator apps expect."""
    return pyotp.random_base32(32)


def spaced(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, email: str, school_name: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=email, issuer_name="Worry Box (%s)" % school_name)


def qr_data_uri(uri: str) -> str:
    """The QR code of an otpauth:// address as an SVG data: URL (an <img>, so no script and no inline style)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def code_at(secret: str, step: int) -> str:
    """The code an authenticator app shows during one time step."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace() and ch != "-").lower()[:64]


def matching_step(secret: str, code: str, after_step: int | None, now: float | None = None) -> int | None:
    """Return the step this code belongs to (within ±1 step of now and later than after_step), or None."""
    code = _normalise_code(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    found = None
    centre = current_step(now)
    for step in range(centre - WINDOW, centre + WINDOW + 1):
        # Compare every candidate, so the time taken does not say which step matched.
        if hmac.compare_digest(code_at(secret, step), code) and (after_step is None or step > after_step):
            found = step
    return found


def _wrap_context(staff_id: int) -> bytes:
    return ("totp-secret|staff|%d" % staff_id).encode()


def _personal_key(db, staff_id: int, keyring: keys.Keyring) -> bytes:
    key_id = db.execute("SELECT key_id FROM staff WHERE id = ?", [staff_id]).fetchone()[0]
    return keyring.private_keys[key_id]


def _backup_hash(db, staff_id: int, keyring: keys.Keyring, code: str) -> str:
    mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"worrybox two-factor backup codes|%d" % staff_id).derive(_personal_key(db, staff_id, keyring))
    return hmac.new(mac_key, _normalise_code(code).encode(), hashlib.sha256).hexdigest()


def new_backup_codes() -> list[str]:
    """Ten codes of twelve letters and digits, each shown once and each good for one sign-in."""
    codes = []
    for _ in range(BACKUP_CODES):
        raw = "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(12))
        codes.append("%s-%s-%s" % (raw[:4], raw[4:8], raw[8:]))
    return codes


def enrol(db, staff_id: int, keyring: keys.Keyring, secret: str, first_step: int) -> list[str]:
    """Store a confirmed TOTP secret (wrapped to the staff member's own key) and return new backup codes."""
    wrapped = sealing.wrap_to_public(keys.personal_public_key(db, staff_id), secret.encode(), _wrap_context(staff_id))
    codes = new_backup_codes()
    now = utcnow()
    with write_transaction(db):
        db.execute("UPDATE staff SET totp_wrapped_secret = ?, totp_last_step = ?, totp_enrolled_at = ? WHERE id = ?",
                   [wrapped, first_step, now, staff_id])
        db.execute("DELETE FROM staff_backup_codes WHERE staff_id = ?", [staff_id])
        for code in codes:
            db.execute("INSERT INTO staff_backup_codes (staff_id, code_hash, created_at) VALUES (?, ?, ?)",
                       [staff_id, _backup_hash(db, staff_id, keyring, code), now])
    return codes


def open_secret(db, staff_id: int, keyring: keys.Keyring) -> str:
    """Unwrap this member of staff's TOTP secret with their unlocked key."""
    wrapped = db.execute("SELECT totp_wrapped_secret FROM staff WHERE id = ?", [staff_id]).fetchone()[0]
    return opening.unwrap_with_private(_personal_key(db, staff_id, keyring), wrapped, _wrap_context(staff_id)).decode()


def check_code(db, staff_id: int, keyring: keys.Keyring, code: str, now: float | None = None) -> str | None:
    """Accept a current TOTP code or an unused backup code, once; return 'totp' or 'backup', else None."""
    last_step = db.execute("SELECT totp_last_step FROM staff WHERE id = ?", [staff_id]).fetchone()[0]
    step = matching_step(open_secret(db, staff_id, keyring), code, last_step, now)
    if step is not None:
        # The WHERE makes the same code, sent twice at once, succeed only once.
        used = db.execute("UPDATE staff SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL "
                          "OR totp_last_step < ?)", [step, staff_id, step]).rowcount
        return "totp" if used else None
    normalised = _normalise_code(code)
    if len(normalised) == 12 and all(ch in _BACKUP_ALPHABET for ch in normalised):
        used = db.execute("UPDATE staff_backup_codes SET used_at = ? WHERE staff_id = ? AND code_hash = ? "
                          "AND used_at IS NULL", [utcnow(), staff_id, _backup_hash(db, staff_id, keyring, code)]).rowcount
        return "backup" if used else None
    return None


def backup_codes_left(db, staff_id: int) -> int:
    return db.execute("SELECT count(*) FROM staff_backup_codes WHERE staff_id = ? AND used_at IS NULL",
                      [staff_id]).fetchone()[0]


def reset(db, staff_id: int) -> None:
    """Forget a member of staff's authenticator and backup codes: they enrol again at their next sign-in."""
    with write_transaction(db):
        db.execute("UPDATE staff SET totp_wrapped_secret = NULL, totp_last_step = NULL, totp_enrolled_at = NULL "
                   "WHERE id = ?", [staff_id])
        db.execute("DELETE FROM staff_backup_codes WHERE staff_id = ?", [staff_id])
