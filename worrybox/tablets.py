"""Named tablets: staff give each classroom tablet a name, so the kiosk shows it and alerts say where."""

from .clock import utcnow
from .db import get_setting
from .languages import DEFAULT_LANGUAGE, LANGUAGES

MAX_NAME = 60
DEFAULT_IDLE_SECONDS = 60


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
    db.execute("UPDATE tablets SET removed_at = ? WHERE name = ?", [utcnow(), name])


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
