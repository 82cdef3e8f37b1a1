"""The one clock: now, the ISO 8601 UTC text every timestamp column stores, and the school's own time."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from .db import get_setting

DEFAULT_TIME_ZONE = "Europe/London"


def now() -> datetime:
    """The current moment, in UTC."""
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """A moment as the ISO 8601 UTC text stored in every timestamp column (sorts as it compares)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def utcnow() -> str:
    """The current time as stored text."""
    return iso(now())


def school_zone(db) -> ZoneInfo:
    """The school's time zone (the `time_zone` setting)."""
    return ZoneInfo(get_setting(db, "time_zone", DEFAULT_TIME_ZONE))


def school_time(db, moment: datetime) -> datetime:
    """A moment in the school's own time zone."""
    return moment.astimezone(school_zone(db))


def school_now(db) -> datetime:
    """The time now where the school is."""
    return school_time(db, now())
