"""Staff accounts: passwords, sign-in with throttling, server-side sessions and the audit log.

Wrong passwords slow down the computer that typed them, never the account for everyone: each client
address may fail a few times per account, then waits longer after each failure, and an address with
too many failures (for any account) waits out the window before any password is checked. A member of
staff signing in from a computer with no failures is never held up by failures from elsewhere.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import certificates, certify, keys, opening, sealing, two_factor
from .audit import audit
from .clock import utcnow
from .db import write_transaction

ROLES = {
    "dsl": "Designated Safeguarding Lead",
    "deputy": "Deputy Safeguarding Lead",
    "head": "Head teacher",
    "teacher": "Class teacher",
    # The safeguarding or chair of governors: receives worries about a grown-up at school, with the head(s).
    "governor": "Governor",
    "coordinator": "Mediator coordinator",
    # Manages accounts, roster, settings and backups; no worry is ever sealed to them, no team key wrapped to them.
    "it_admin": "School IT",
    # Teaching assistants, lunchtime supervisors, office staff: they log concerns about a child and read nothing.
    "staff": "Other staff (teaching assistant, lunchtime, office)",
}
MIN_PASSWORD_LENGTH = 12
MAX_FAILURES = 5  # wrong two-factor codes (or current passwords) from one computer before it pauses
FAILURE_WINDOW = timedelta(minutes=15)
FREE_FAILURES = 3  # wrong passwords per account from one address before the delays start
ADDRESS_MAX_FAILURES = 10  # wrong passwords from one address, for any accounts, before it waits out the window
MAX_DELAY = timedelta(minutes=15)
SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=12)

_hasher = PasswordHasher()
# Verified when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password, only used for timing")


class AccountError(ValueError):
    """A member of staff could not be added; the message says why in plain words."""


@dataclass(frozen=True)
class Staff:
    """A member of staff as the console needs them."""

    id: int
    email: str
    name: str
    role: str
    class_name: str | None

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("A staff password needs at least %d characters: it protects the keys "
                           "that open children's worries." % MIN_PASSWORD_LENGTH)


def new_password() -> str:
    """A password that is easy to read aloud and type: four groups of six letters and digits."""
    return "-".join(secrets.token_hex(3) for _ in range(4))


def create_staff(db, email: str, name: str, role: str, password: str, class_name: str | None = None,
                 team_keys: dict[str, bytes] | None = None, by_staff_id: int | None = None) -> int:
    """Add a member of staff with their own key pair; key-holding roles also get the team keys.

    Given the team keys (a DSL or deputy adding them, or the recovery code), the new account is certified
    at once; otherwise (school IT) it can sign in but receives nothing until a DSL or deputy approves it.
    """
    email, name = email.strip(), name.strip()
    if role not in ROLES:
        raise AccountError("Role must be one of: %s." % ", ".join(ROLES))
    if "@" not in email or len(email) > 254 or any(ch.isspace() for ch in email):
        raise AccountError("'%s' does not look like an email address." % email)
    if not name or len(name) > 100:
        raise AccountError("Give the member of staff's name (up to 100 characters).")
    check_password_strength(password)
    if role in keys.KEY_HOLDING_ROLES and not team_keys:
        raise AccountError("A %s needs the team key: an existing DSL must unlock it (--by)." % ROLES[role])
    if find_staff_id(db, email) is not None:
        raise AccountError("There is already a member of staff with the email %s." % email)
    signing = certify.signer(db, team_keys, by_staff_id) if team_keys else None
    personal = opening.generate_private_key()
    key_id = sealing.new_key_id("staff")
    password_hash = _hasher.hash(password)
    now = utcnow()
    with write_transaction(db):
        # Someone removed who comes back gets a new account: the old row keeps its history under another email.
        db.execute("UPDATE staff SET email = email || '#removed-' || id WHERE email = ? AND removed_at IS NOT NULL",
                   [email])
        cursor = db.execute(
            "INSERT INTO staff (email, name, role, class_name, password_hash, key_id, wrapped_private_key, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, X'', ?)",
            [email, name, role, class_name, password_hash, key_id, now],
        )
        staff_id = cursor.lastrowid
        public = opening.public_key_of(personal)
        db.execute(
            "INSERT INTO keys (key_id, purpose, staff_id, public_key, fingerprint, created_at) "
            "VALUES (?, 'staff', ?, ?, ?, ?)",
            [key_id, staff_id, public, sealing.fingerprint(public), now],
        )
        wrapped = opening.wrap_with_passphrase(password, personal, keys.personal_key_context(staff_id, key_id))
        db.execute("UPDATE staff SET wrapped_private_key = ? WHERE id = ?", [wrapped, staff_id])
        audit(db, "staff_added", staff_id=by_staff_id, detail="%s (%s)%s" % (
            email, role, "" if signing or role not in certificates.RECEIVING_ROLES else ", waiting for approval"))
        if signing and role in certificates.RECEIVING_ROLES:
            certify.certify(db, signing, staff_id)
        if role in keys.KEY_HOLDING_ROLES:
            keys.grant_team_keys(db, staff_id, team_keys)
    return staff_id


def get_staff(db, staff_id: int) -> Staff | None:
    row = db.execute(
        "SELECT id, email, name, role, class_name FROM staff WHERE id = ? AND removed_at IS NULL", [staff_id]
    ).fetchone()
    return Staff(*row) if row else None


def find_staff_id(db, email: str) -> int | None:
    row = db.execute("SELECT id FROM staff WHERE email = ? AND removed_at IS NULL", [email.strip()]).fetchone()
    return row[0] if row else None


class SignInThrottled(Exception):
    """Too many wrong tries from this computer: it must wait `seconds` before trying again."""

    def __init__(self, seconds: int):
        super().__init__(seconds)
        self.seconds = seconds


def _failures_from(db, email: str, address: str | None, now: datetime) -> list[str]:
    """When this address failed for this account within the window, oldest first."""
    since = (now - FAILURE_WINDOW).isoformat(timespec="microseconds")
    return [row[0] for row in db.execute(
        "SELECT at FROM login_attempts WHERE email_hash = ? AND address_hash IS ? AND at >= ? AND succeeded = 0 "
        "ORDER BY at", [_email_hash(email), _address_hash(address), since])]


def sign_in_wait(db, email: str, address: str | None, now: datetime | None = None) -> int:
    """Seconds this address must wait before trying this account again (0: go ahead); checks no password."""
    now = now or datetime.now(timezone.utc)
    since = (now - FAILURE_WINDOW).isoformat(timespec="microseconds")
    waits = [0.0]
    by_address = [row[0] for row in db.execute(
        "SELECT at FROM login_attempts WHERE address_hash IS ? AND at >= ? AND succeeded = 0 ORDER BY at",
        [_address_hash(address), since])]
    if len(by_address) >= ADDRESS_MAX_FAILURES:
        # Until enough of them are older than the window to bring the count below the limit.
        freed_at = datetime.fromisoformat(by_address[len(by_address) - ADDRESS_MAX_FAILURES]) + FAILURE_WINDOW
        waits.append((freed_at - now).total_seconds())
    failures = _failures_from(db, email.strip()[:254], address, now)
    if len(failures) >= FREE_FAILURES:
        delay = min(timedelta(seconds=2 ** (len(failures) - FREE_FAILURES)), MAX_DELAY)
        waits.append((datetime.fromisoformat(failures[-1]) + delay - now).total_seconds())
    wait = max(waits)
    return int(wait) + (1 if wait > int(wait) else 0)


def is_locked(db, email: str, address: str | None = None, now: datetime | None = None) -> bool:
    """Whether this computer has had too many failed sign-in steps (password or code) for this email lately."""
    return len(_failures_from(db, email.strip()[:254], address, now or datetime.now(timezone.utc))) >= MAX_FAILURES


def sign_in(db, email: str, password: str, now: datetime | None = None,
            address: str | None = None) -> tuple[Staff, keys.Keyring] | None:
    """Check a password and unlock the keyring; None for any failure.

    Raises SignInThrottled, before any password hashing, while this address must wait. When the member
    of staff must also give a two-factor code, the sign-in is not finished (and not audited as a login)
    until second_factor_passed().
    """
    now = now or datetime.now(timezone.utc)
    email = email.strip()[:254]
    wait = sign_in_wait(db, email, address, now)
    if wait:
        raise SignInThrottled(wait)
    row = db.execute(
        "SELECT id, password_hash, role FROM staff WHERE email = ? AND removed_at IS NULL", [email]
    ).fetchone()
    try:
        _hasher.verify(row[1] if row else _DUMMY_HASH, password)
        succeeded = row is not None
    except (VerificationError, InvalidHashError):
        succeeded = False
    keyring = None
    if succeeded:
        try:
            keyring = keys.unlock_keyring(db, row[0], password)
        except opening.OpenError:
            succeeded = False
    if succeeded:
        event = "login_password_ok" if two_factor.required_for(db, row[0], row[2]) else "login"
    else:
        event = "login_failed"
    with write_transaction(db):
        db.execute(
            "INSERT INTO login_attempts (email_hash, at, succeeded, address_hash) VALUES (?, ?, ?, ?)",
            [_email_hash(email), now.isoformat(timespec="microseconds"), int(succeeded), _address_hash(address)],
        )
        audit(db, event, staff_id=row[0] if row else None, detail=None if row else "unknown email")
    if not succeeded:
        return None
    return get_staff(db, row[0]), keyring


def failed_sign_ins(db, email: str, since: datetime) -> tuple[int, str | None]:
    """How many failed sign-in steps an account has had since a moment, from anywhere, and when the latest was."""
    count, latest = db.execute(
        "SELECT count(*), max(at) FROM login_attempts WHERE email_hash = ? AND at >= ? AND succeeded = 0",
        [_email_hash(email), since.isoformat(timespec="microseconds")]).fetchone()
    return count, latest


def failed_since_previous_sign_in(db, email: str, now: datetime | None = None) -> tuple[int, str | None]:
    """Failed sign-in steps on an account since the sign-in before the latest one (at most 30 days back)."""
    now = now or datetime.now(timezone.utc)
    successes = [row[0] for row in db.execute(
        "SELECT at FROM login_attempts WHERE email_hash = ? AND succeeded = 1 ORDER BY at DESC LIMIT 2",
        [_email_hash(email)])]
    since = now - timedelta(days=30)
    if len(successes) == 2:
        since = max(since, datetime.fromisoformat(successes[1]))
    return failed_sign_ins(db, email, since)


def count_failure(db, member: Staff, reason: str, now: datetime | None = None, address: str | None = None) -> None:
    """Count a wrong two-factor code (or a wrong current password) from a computer, like a wrong password."""
    now = now or datetime.now(timezone.utc)
    with write_transaction(db):
        db.execute("INSERT INTO login_attempts (email_hash, at, succeeded, address_hash) VALUES (?, ?, 0, ?)",
                   [_email_hash(member.email), now.isoformat(timespec="microseconds"), _address_hash(address)])
        audit(db, "login_failed", staff_id=member.id, detail=reason)


def second_factor_passed(db, member: Staff, how: str) -> None:
    """Audit a sign-in finished with a two-factor code ('totp', 'backup' or 'enrolled')."""
    audit(db, "login", staff_id=member.id, detail="second factor: %s" % how)


def change_password(db, member: Staff, keyring: keys.Keyring, current_password: str, new_password: str,
                    address: str | None = None) -> None:
    """Re-wrap a member of staff's own key under a new password and end every one of their sessions.

    Raises AccountError if the current password is wrong or the new one is too short.
    """
    row = db.execute("SELECT password_hash, key_id FROM staff WHERE id = ?", [member.id]).fetchone()
    locked = is_locked(db, member.email, address)
    try:
        _hasher.verify(row[0], current_password)
        password_ok = not locked
    except (VerificationError, InvalidHashError):
        password_ok = False
    if not password_ok:
        # Counted like a wrong sign-in, so a borrowed session cannot be used to guess the password.
        count_failure(db, member, "wrong current password when changing it", address=address)
        raise AccountError("That is not your current password (or there have been too many wrong tries: "
                           "wait 15 minutes).")
    check_password_strength(new_password)
    personal = keyring.private_keys[row[1]]
    wrapped = opening.wrap_with_passphrase(new_password, personal, keys.personal_key_context(member.id, row[1]))
    with write_transaction(db):
        db.execute("UPDATE staff SET password_hash = ?, wrapped_private_key = ? WHERE id = ?",
                   [_hasher.hash(new_password), wrapped, member.id])
        # Every browser signed in as them, this one included, must sign in again (or get a new session).
        db.execute("DELETE FROM staff_sessions WHERE staff_id = ?", [member.id])
        audit(db, "password_changed", staff_id=member.id)


def list_staff(db) -> list[Staff]:
    """Every current member of staff, by role then name."""
    rows = db.execute("SELECT id, email, name, role, class_name FROM staff WHERE removed_at IS NULL").fetchall()
    order = list(ROLES)
    return sorted((Staff(*row) for row in rows),
                  key=lambda m: (order.index(m.role) if m.role in order else len(order), m.name.lower()))


def _current(db, staff_id: int) -> tuple[str, str, str]:
    row = db.execute("SELECT email, role, key_id FROM staff WHERE id = ? AND removed_at IS NULL",
                     [staff_id]).fetchone()
    if row is None:
        raise AccountError("That member of staff is not on the list (they may have been removed already).")
    return row


def remove_staff(db, staff_id: int, by_staff_id: int | None = None) -> None:
    """Remove a member of staff: they cannot sign in, their sessions end, and no key of theirs opens anything new.

    Their wrapped copies of the team keys are deleted and their own key retired, so nothing new is
    sealed to it. (If they could have kept a copy of the team key, rotate it: keys.rotate_team_key.)
    """
    email, role, key_id = _current(db, staff_id)
    if by_staff_id == staff_id:
        raise AccountError("You cannot remove yourself: ask another DSL to do it.")
    if role == "dsl" and db.execute("SELECT count(*) FROM staff WHERE role = 'dsl' AND removed_at IS NULL"
                                    ).fetchone()[0] <= 1:
        raise AccountError("%s is the school's only DSL: add another DSL first." % email)
    now = utcnow()
    with write_transaction(db):
        # Their password-wrapped private key goes too: nothing of theirs is left to open anything.
        db.execute("UPDATE staff SET removed_at = ?, wrapped_private_key = X'' WHERE id = ?", [now, staff_id])
        db.execute("DELETE FROM key_wraps WHERE holder = 'staff' AND staff_id = ?", [staff_id])
        db.execute("UPDATE keys SET retired_at = ? WHERE key_id = ? AND retired_at IS NULL", [now, key_id])
        db.execute("DELETE FROM staff_sessions WHERE staff_id = ?", [staff_id])
        audit(db, "staff_removed", staff_id=by_staff_id, detail="%s (%s)" % (email, role))


def reset_password(db, staff_id: int, password: str, team_keys: dict[str, bytes] | None = None,
                   by_staff_id: int | None = None) -> None:
    """Give a member of staff who forgot their password a new password and a NEW personal key pair.

    Their old private key cannot be opened without the old password, so whatever was sealed only to
    it (worries their class sent "to my teacher") stays closed to them; the DSL team still opens it,
    because every worry is also sealed to the team key. A DSL or deputy gets the team keys again,
    wrapped to the new key by the DSL doing the reset. Two-factor sign-in is set up again, and every
    session of theirs ends.
    """
    email, role, old_key_id = _current(db, staff_id)
    check_password_strength(password)
    if role in keys.KEY_HOLDING_ROLES and not team_keys:
        raise AccountError("A %s needs the team key: a DSL who holds it must do the reset." % ROLES[role])
    # An approved account stays approved with its new key; one waiting for approval keeps waiting.
    was_certified = certificates.is_certified(db, staff_id, log_mismatch=False)
    signing = certify.signer(db, team_keys, by_staff_id) if team_keys and was_certified else None
    personal = opening.generate_private_key()
    key_id = sealing.new_key_id("staff")
    public = opening.public_key_of(personal)
    wrapped = opening.wrap_with_passphrase(password, personal, keys.personal_key_context(staff_id, key_id))
    password_hash = _hasher.hash(password)
    now = utcnow()
    with write_transaction(db):
        db.execute("INSERT INTO keys (key_id, purpose, staff_id, public_key, fingerprint, created_at) "
                   "VALUES (?, 'staff', ?, ?, ?, ?)", [key_id, staff_id, public, sealing.fingerprint(public), now])
        db.execute("UPDATE keys SET retired_at = ? WHERE key_id = ? AND retired_at IS NULL", [now, old_key_id])
        db.execute("UPDATE staff SET password_hash = ?, key_id = ?, wrapped_private_key = ? WHERE id = ?",
                   [password_hash, key_id, wrapped, staff_id])
        db.execute("DELETE FROM key_wraps WHERE holder = 'staff' AND staff_id = ?", [staff_id])
        if signing:
            certify.certify(db, signing, staff_id)
            if role in keys.KEY_HOLDING_ROLES:
                keys.grant_team_keys(db, staff_id, team_keys)
        # The authenticator secret and backup codes were sealed to the old key: set up again at next sign-in.
        two_factor.reset(db, staff_id)
        db.execute("DELETE FROM staff_sessions WHERE staff_id = ?", [staff_id])
        # Wrong guesses at the forgotten password must not lock out the new one.
        db.execute("DELETE FROM login_attempts WHERE email_hash = ? AND succeeded = 0", [_email_hash(email)])
        audit(db, "password_reset", staff_id=by_staff_id,
              detail="%s (%s): new password and personal key%s; two-factor to set up again"
              % (email, role, ", team keys wrapped to it" if role in keys.KEY_HOLDING_ROLES else ""))


def pending_approval(db) -> list[tuple[Staff, str, str]]:
    """Accounts that receive nothing until a DSL or deputy approves them: (member, why, short key fingerprint).

    Why is 'pending' for an account never approved, else what no longer matches its certificate.
    """
    waiting = []
    for found in certificates.standings(db):
        if not found.certified:
            member = get_staff(db, found.staff_id)
            public = db.execute("SELECT k.public_key FROM keys k JOIN staff s ON s.key_id = k.key_id "
                                "WHERE s.id = ?", [found.staff_id]).fetchone()
            if member is not None and public is not None:
                waiting.append((member, found.problem, certify.short_fingerprint(sealing.fingerprint(public[0]))))
    return waiting


def approve_staff(db, staff_id: int, team_keys: dict[str, bytes], by_staff_id: int | None = None) -> None:
    """A DSL or deputy approves an account as it stands now: certified, and a DSL or deputy given the team keys."""
    member = get_staff(db, staff_id)
    if member is None:
        raise AccountError("That member of staff is not on the list (they may have been removed already).")
    if member.role not in certificates.RECEIVING_ROLES:
        raise AccountError("A %s receives no worries, so there is nothing to approve." % member.role_label)
    signing = certify.signer(db, team_keys, by_staff_id)
    with write_transaction(db):
        certify.certify_approver(db, signing, by_staff_id)
        certify.certify(db, signing, staff_id, event="staff_approved")
        if member.role in keys.KEY_HOLDING_ROLES:
            keys.grant_team_keys(db, staff_id, team_keys)


def refuse_staff(db, staff_id: int, by_staff_id: int | None = None) -> None:
    """A DSL or deputy refuses an account waiting for approval: it is removed, and the refusal audited."""
    email, role, _key_id = _current(db, staff_id)
    if certificates.is_certified(db, staff_id, log_mismatch=False):
        raise AccountError("%s is approved already: remove them instead if they are leaving." % email)
    with write_transaction(db):
        remove_staff(db, staff_id, by_staff_id=by_staff_id)
        audit(db, "staff_refused", staff_id=by_staff_id, detail="%s (%s) was not approved" % (email, role))


def rotate_team_key(db, team_keys: dict[str, bytes], by_staff_id: int | None = None) -> tuple[str, str, bytes]:
    """Make a new team key for new worries and a new recovery code; return (recovery code, key id, private key).

    Old team keys are retired but stay wrapped to every DSL and deputy, so old worries still open;
    the new recovery code opens every team key, old and new, and the old code no longer opens any.
    """
    recovery_code = opening.new_recovery_code()
    with write_transaction(db):
        key_id, private = keys.rotate_team_key(db, team_keys, recovery_code, by_staff_id=by_staff_id)
        audit(db, "team_key_rotated", staff_id=by_staff_id,
              detail="new team key %s for new worries; old team keys retired; new recovery code" % key_id)
    return recovery_code, key_id, private


def new_token() -> str:
    """A new random session id: 256 bits, for a cookie."""
    return secrets.token_urlsafe(32)


def start_session(db, staff_id: int) -> str:
    """Create a server-side session and return its token (only its hash is stored)."""
    token = new_token()
    now = utcnow()
    db.execute(
        "INSERT INTO staff_sessions (session_hash, staff_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
        [_token_hash(token), staff_id, now, now],
    )
    return token


def session_staff(db, token: str, now: datetime | None = None) -> Staff | None:
    """Return who a session token belongs to, ending it if it has been idle or open too long."""
    if not token:
        return None
    now = now or datetime.now(timezone.utc)
    row = db.execute(
        "SELECT staff_id, created_at, last_seen_at FROM staff_sessions WHERE session_hash = ?", [_token_hash(token)]
    ).fetchone()
    if row is None:
        return None
    staff_id, created_at, last_seen_at = row
    if now - datetime.fromisoformat(last_seen_at) > SESSION_IDLE or now - datetime.fromisoformat(created_at) > SESSION_MAX:
        end_session(db, token)
        return None
    db.execute("UPDATE staff_sessions SET last_seen_at = ? WHERE session_hash = ?",
               [now.isoformat(timespec="microseconds"), _token_hash(token)])
    return get_staff(db, staff_id)


def end_session(db, token: str) -> None:
    db.execute("DELETE FROM staff_sessions WHERE session_hash = ?", [_token_hash(token)])


def _email_hash(email: str) -> str:
    # Staff sometimes type a password into the email box: never keep what was typed there.
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def _address_hash(address: str | None) -> str | None:
    # Enough to count tries from one computer; the address itself is not kept.
    return None if address is None else hashlib.sha256(b"worrybox client address|" + address.encode()).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
