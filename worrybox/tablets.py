"""Named tablets: staff enrol each classroom tablet by name, so the kiosk shows it and alerts say where.

A tablet is enrolled through a one-time link staff make in the console; the tablet's cookie then holds a
random token (stored here only as a hash), never its name, so nobody can pose as a named tablet.
"""

import hashlib
import secrets
from datetime import timedelta

from .clock import iso, now, utcnow
from .db import get_setting, write_transaction
from .languages import DEFAULT_LANGUAGE, LANGUAGES

MAX_NAME = 60
DEFAULT_IDLE_SECONDS = 60
ENROL_LINK_LASTS = timedelta(hours=24)


def tablet_names(db) -> list[str]:
    return [row[0] for row in db.execute("SELECT name FROM tablets WHERE removed_at IS NULL ORDER BY name")]


def known_tablet(db, name: str | None) -> str | None:
    """Return the tablet's name as staff wrote it, or None if no such tablet is set up."""
    if not name:
        return None
    row = db.execute("SELECT name FROM tablets WHERE name = ? AND removed_at IS NULL", [name.strip()[:MAX_NAME]]).fetchone()
    return row[0] if row else None


def add_tablet(db, name: str) -> None:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ValueError("A tablet's name needs 1 to %d characters." % MAX_NAME)
    db.execute("INSERT INTO tablets (name, created_at) VALUES (?, ?) "
               "ON CONFLICT(name) DO UPDATE SET removed_at = NULL", [name, utcnow()])


def remove_tablet(db, name: str) -> None:
    """Remove a tablet: its cookie and any enrolment link stop working."""
    db.execute("UPDATE tablets SET removed_at = ?, device_token_hash = NULL, enrol_token_hash = NULL, "
               "enrol_expires_at = NULL WHERE name = ?", [utcnow(), name])


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_enrolment_link_token(db, name: str) -> str:
    """Make a one-time enrolment token for a tablet (adding it if it is new); only its hash is kept."""
    token = secrets.token_urlsafe(32)
    with write_transaction(db):
        add_tablet(db, name)
        db.execute("UPDATE tablets SET enrol_token_hash = ?, enrol_expires_at = ? WHERE name = ?",
                   [_token_hash(token), iso(now() + ENROL_LINK_LASTS), name.strip()])
    return token


def enrol(db, enrol_token: str) -> tuple[str, str] | None:
    """Use a one-time enrolment token: return (tablet name, the tablet's new cookie token), or None."""
    if not enrol_token or len(enrol_token) > 100:
        return None
    device_token = secrets.token_urlsafe(32)
    with write_transaction(db):
        row = db.execute("SELECT id, name, enrol_expires_at FROM tablets WHERE enrol_token_hash = ? "
                         "AND removed_at IS NULL", [_token_hash(enrol_token)]).fetchone()
        if row is None or row[2] is None or row[2] < utcnow():
            return None
        # One time only; a tablet enrolled again stops recognising the old cookie (a lost tablet, say).
        db.execute("UPDATE tablets SET device_token_hash = ?, enrol_token_hash = NULL, enrol_expires_at = NULL "
                   "WHERE id = ?", [_token_hash(device_token), row[0]])
    return row[1], device_token


def tablet_for_token(db, device_token: str | None) -> str | None:
    """The name of the enrolled tablet whose cookie holds this token, or None (an unnamed tablet)."""
    if not device_token or len(device_token) > 100:
        return None
    row = db.execute("SELECT name FROM tablets WHERE device_token_hash = ? AND removed_at IS NULL",
                     [_token_hash(device_token)]).fetchone()
    return row[0] if row else None


def enrolled_names(db) -> set[str]:
    """The tablets that have been enrolled (their cookie works)."""
    return {row[0] for row in db.execute(
        "SELECT name FROM tablets WHERE removed_at IS NULL AND device_token_hash IS NOT NULL")}


def kiosk_language(db) -> str:
    """The language the kiosk starts in, chosen by staff."""
    code = get_setting(db, "kiosk_language", DEFAULT_LANGUAGE)
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def idle_seconds(db) -> int:
    """How long a kiosk page with something entered waits, untouched, before it clears itself."""
    try:
        return max(3, min(int(get_setting(db, "kiosk_idle_seconds", str(DEFAULT_IDLE_SECONDS))), 600))
    except ValueError:
        return DEFAULT_IDLE_SECONDS


# Which words and look the kiosk uses on a tablet: the same pages, fields and pictures for both.
AGE_GROUPS = {"primary": "Primary (up to 11)", "secondary": "Secondary (11 to 18)"}
DEFAULT_AGE_GROUP = "primary"


def age_group(db, name: str | None) -> str:
    """The age group staff set for this named tablet; a tablet nobody named is primary."""
    if not name:
        return DEFAULT_AGE_GROUP
    row = db.execute("SELECT age_group FROM tablets WHERE name = ? AND removed_at IS NULL", [name]).fetchone()
    return row[0] if row and row[0] in AGE_GROUPS else DEFAULT_AGE_GROUP


def age_groups(db) -> dict[str, str]:
    """Every named tablet's age group, by name."""
    return dict(db.execute("SELECT name, age_group FROM tablets WHERE removed_at IS NULL ORDER BY name").fetchall())


def set_age_group(db, name: str, group: str) -> None:
    if group not in AGE_GROUPS:
        raise ValueError("An age group is one of %s." % ", ".join(AGE_GROUPS))
    db.execute("UPDATE tablets SET age_group = ? WHERE name = ? AND removed_at IS NULL", [group, name])
