"""The fixed periods a governors' report covers: a half-term, a term or a school year, never any other dates.

Fixed periods are what stop small numbers being worked out by comparing overlapping date ranges. The
school year starts on 1 September; each term is four calendar months (autumn September–December,
spring January–April, summer May–August) and each half-term two. Real term dates differ a little
from school to school; fixed calendar months keep every period the same for everyone.
"""

from dataclasses import dataclass
from datetime import date, timedelta

TERMS = (("autumn", "Autumn", 9), ("spring", "Spring", 1), ("summer", "Summer", 5))
KINDS = ("half-term", "term", "year")


@dataclass(frozen=True)
class Period:
    """One fixed period: its key in an address ('2026-27-autumn-1'), its name, and its first and last day."""

    key: str
    kind: str
    label: str
    start: date
    end: date

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def _month_start(year: int, month: int) -> date:
    while month > 12:
        year, month = year + 1, month - 12
    return date(year, month, 1)


def _span(year: int, month: int, months: int) -> tuple[date, date]:
    return _month_start(year, month), _month_start(year, month + months) - timedelta(days=1)


def school_year_of(day: date) -> int:
    """The calendar year a school year starts in: 1 September 2026 to 31 August 2027 is 2026."""
    return day.year if day.month >= 9 else day.year - 1


def _year_key(first: int) -> str:
    return "%d-%02d" % (first, (first + 1) % 100)


def periods_of_year(first: int) -> list[Period]:
    """Every fixed period of the school year starting in September of `first`, in order."""
    name = "%d–%02d" % (first, (first + 1) % 100)
    start, end = _span(first, 9, 12)
    found = [Period(_year_key(first), "year", "School year %s" % name, start, end)]
    for term, title, month in TERMS:
        year = first if month >= 9 else first + 1
        start, end = _span(year, month, 4)
        found.append(Period("%s-%s" % (_year_key(first), term), "term", "%s term %s" % (title, name), start, end))
        for half in (1, 2):
            start, end = _span(year, month + 2 * (half - 1), 2)
            found.append(Period("%s-%s-%d" % (_year_key(first), term, half), "half-term",
                                "%s term %s, %s half" % (title, name, "first" if half == 1 else "second"),
                                start, end))
    return found


def period_by_key(key: str) -> Period | None:
    """The period an address names, or None if it names none."""
    head = key[:4]
    if not head.isdigit():
        return None
    return next((period for period in periods_of_year(int(head)) if period.key == key), None)


def containing(day: date, kind: str) -> Period:
    """The half-term, term or school year a day falls in."""
    return next(p for p in periods_of_year(school_year_of(day)) if p.kind == kind and p.contains(day))


def previous(period: Period) -> Period:
    """The period of the same kind just before."""
    return containing(period.start - timedelta(days=1), period.kind)


def choices(today: date, years: int = 3) -> list[Period]:
    """The periods a report can be asked for: every one that has begun, this school year and the years before."""
    first = school_year_of(today)
    found = []
    for year in range(first, first - years, -1):
        found.extend(period for period in periods_of_year(year) if period.start <= today)
    return found
