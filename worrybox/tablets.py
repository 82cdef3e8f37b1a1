"""Named tablets: staff give each classroom tablet a name, so the kiosk shows it and alerts say where."""

from .db import get_setting, utcnow
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
