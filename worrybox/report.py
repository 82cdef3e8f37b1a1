"""The governors' report for a fixed period: numbers only, never a name or a word a child wrote, small counts hidden.

Everything here is counted from the columns kept in clear for this purpose (times, feeling, topic,
place, urgency, escalations, chats); nothing is decrypted.
"""

import csv
import io
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from . import periods
from .choices import FEELINGS, PLACES, TOPICS
from .clock import iso, school_zone
from .concerns import CATEGORIES
from .followups import AGENCIES
from .mediators import OUTCOMES

SMALL = 5  # counts from 1 to 4 are shown as "fewer than 5", so no child can be picked out
FEWER_THAN = "fewer than 5"
ROUND_TO = 5  # every other count is rounded to the nearest 5 (see rounded)


def is_hidden(count: int) -> bool:
    return 0 < count < SMALL


def rounded(count: int) -> int:
    """A count as the report uses it: 0 for a hidden count, else rounded to the nearest 5 (halves up).

    Rounding is the secondary suppression: every number shown is a multiple of 5, so a total minus the
    other rows, or one period minus another, is a multiple of 5 too and can never give back a hidden 1 to 4.
    """
    if is_hidden(count):
        return 0
    return ROUND_TO * ((count + ROUND_TO // 2) // ROUND_TO)


def shown(count: int) -> str:
    """A count as the report shows it."""
    return FEWER_THAN if is_hidden(count) else str(rounded(count))


@dataclass
class Row:
    """One line of a table: a label and this period's and the previous period's counts."""

    label: str
    count: int
    previous: int

    @property
    def shown(self) -> str:
        return shown(self.count)

    @property
    def shown_previous(self) -> str:
        return shown(self.previous)

    @property
    def change(self) -> str:
        """Up, down or the same, in words; nothing when either side is hidden."""
        if is_hidden(self.count) or is_hidden(self.previous):
            return ""
        now, before = rounded(self.count), rounded(self.previous)
        if now == before:
            return "about the same"
        return "up %d" % (now - before) if now > before else "down %d" % (before - now)


@dataclass
class Section:
    """A titled table (and chart) of rows."""

    key: str
    title: str
    rows: list[Row] = field(default_factory=list)


@dataclass
class Report:
    period: periods.Period
    previous_period: periods.Period
    sections: list[Section]
    weeks: list[tuple[date, int]]
    median_hours_to_first_read: float | None
    median_hours_to_acknowledge: float | None

    @property
    def start(self) -> date:
        return self.period.start

    @property
    def end(self) -> date:
        return self.period.end


def _bounds(db, start: date, end: date) -> tuple[str, str]:
    """Stored-time text bounds for the school days from start to end, the end day included."""
    zone = school_zone(db)
    low = datetime.combine(start, time.min, zone)
    high = datetime.combine(end + timedelta(days=1), time.min, zone)
    return iso(low), iso(high)


def _counts(db, sql: str, start: date, end: date) -> dict:
    low, high = _bounds(db, start, end)
    return {key: count for key, count in db.execute(sql, [low, high]).fetchall()}


def _hours_between(pairs) -> float | None:
    """The median hours between pairs, or None when there are too few to show without picking anyone out."""
    hours = [(datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 3600 for a, b in pairs if a and b]
    return round(statistics.median(hours), 1) if len(hours) >= SMALL else None


def _section(key, title, now: dict, before: dict, labels: dict | None = None) -> Section:
    keys = list(labels) if labels else sorted(set(now) | set(before), key=str)
    rows = []
    for value in keys:
        label = labels[value] if labels else value
        if isinstance(label, tuple):
            label = label[0]
        rows.append(Row(str(label), now.get(value, 0), before.get(value, 0)))
    return Section(key, title, rows)


# A child's own worry that staff have not marked as not real (a prank). Staff concerns are counted on their own.
CHILDRENS = "logged_by IS NULL AND not_real_at IS NULL"
# A staff concern not marked as not real.
STAFF_CONCERNS = "logged_by IS NOT NULL AND not_real_at IS NULL"
# A row that points at no worry, or at one not marked as not real.
NOT_A_PRANK = "(worry_id IS NULL OR worry_id NOT IN (SELECT id FROM worries WHERE not_real_at IS NOT NULL))"


def governor_report(db, period: periods.Period) -> Report:
    """Count everything governors are told about for a fixed period, and for the period of the same kind before."""
    before = periods.previous(period)
    spans = ((period.start, period.end), (before.start, before.end))

    def both(sql):
        return [_counts(db, sql, *span) for span in spans]

    def total(sql):
        return [sum(_counts(db, sql, *span).values()) for span in spans]

    worry_sql = "SELECT %s, count(*) FROM worries WHERE created_at >= ? AND created_at < ? AND " + CHILDRENS + \
        " GROUP BY 1"
    totals = Section("totals", "Worries and help", [
        Row("Worries posted", *total(worry_sql % "'all'")),
        Row("Urgent: 'I need help now'", *total(worry_sql.replace("GROUP BY 1", "AND urgent = 1 GROUP BY 1") % "'all'")),
        Row("With a name", *total(worry_sql.replace("GROUP BY 1", "AND named = 1 GROUP BY 1") % "'all'")),
        Row("Without a name", *total(worry_sql.replace("GROUP BY 1", "AND named = 0 GROUP BY 1") % "'all'")),
    ])
    sections = [
        totals,
        _section("topic", "What worries were about", *both(worry_sql % "topic"), labels={**TOPICS, None: "Not said"}),
        _section("feeling", "How children felt", *both(worry_sql % "feeling"), labels={**FEELINGS, None: "Not said"}),
        _section("place", "Where it happened (where children feel unsafe)", *both(worry_sql % "place"),
                 labels={**PLACES, None: "Not said"}),
    ]
    concern_sql = ("SELECT %s, count(*) FROM worries WHERE created_at >= ? AND created_at < ? AND " + STAFF_CONCERNS +
                   " GROUP BY 1")
    sections.append(Section("staff_concerns", "Concerns staff logged", [
        Row("Staff concerns logged", *total(concern_sql % "'all'")),
        *_section("concern_category", "", *both(concern_sql % "concern_category"), labels=CATEGORIES).rows,
    ]))
    protection_sql = ("SELECT 'all', count(*) FROM worries WHERE created_at >= ? AND created_at < ? "
                      "AND child_protection = 1 AND not_real_at IS NULL AND logged_by IS %s NULL")
    sections.append(Section("child_protection", "Child-protection concerns", [
        Row("Children's worries marked as child-protection concerns", *total(protection_sql % "")),
        Row("Staff concerns marked as child-protection concerns", *total(protection_sql % "NOT")),
    ]))
    sections.append(_section("referrals", "Referrals to other agencies", *[
        {agency: n for agency, n in db.execute(
            "SELECT agency, count(*) FROM referrals WHERE referred_on >= ? AND referred_on <= ? GROUP BY 1",
            [span[0].isoformat(), span[1].isoformat()])} for span in spans], labels=AGENCIES))
    escalation_sql = ("SELECT reason, count(*) FROM escalations WHERE created_at >= ? AND created_at < ? AND " +
                      NOT_A_PRANK + " GROUP BY 1")
    sections.append(_section("escalations", "Escalations to the safeguarding team", *both(escalation_sql), labels={
        "urgent": "Urgent worries", "pass_to_adult": "Passed on by a mediator",
        "repeat_visits": "Children past the repeat-visit threshold",
        "pattern": "Children matching a pattern the DSL chose"}))
    chat_sql = ("SELECT %s, count(*) FROM bookings WHERE date >= ? AND date < ? GROUP BY 1")

    def chat_counts(expression):
        return [{key: n for key, n in db.execute(chat_sql % expression,
                                                  [p[0].isoformat(), (p[1] + timedelta(days=1)).isoformat()])}
                for p in spans]

    booked = [sum(c.values()) for c in chat_counts("'all'")]
    came = [c.get(1, 0) for c in chat_counts("attended")]
    missed = [c.get(0, 0) for c in chat_counts("attended")]
    outcomes = chat_counts("outcome")
    sections.append(Section("chats", "Chats with peer mediators", [
        Row("Booked", *booked), Row("Came", *came), Row("Did not come", *missed),
        *[Row(label, outcomes[0].get(value, 0), outcomes[1].get(value, 0)) for value, label in OUTCOMES.items()],
    ]))
    visitor_sql = ("SELECT 'all', count(*) FROM (SELECT pupil_ref FROM visits WHERE at >= ? AND at < ? AND " +
                   NOT_A_PRANK + " GROUP BY pupil_ref HAVING count(*) > 1)")
    sections.append(Section("repeat", "Children who came back", [
        Row("Children who visited more than once", *total(visitor_sql)),
    ]))

    sections.append(_survey_section(db, spans))

    low, high = _bounds(db, period.start, period.end)
    weeks = []
    monday = period.start - timedelta(days=period.start.weekday())
    while monday <= period.end:
        week_low, week_high = _bounds(db, max(monday, period.start), min(monday + timedelta(days=6), period.end))
        count = db.execute("SELECT count(*) FROM worries WHERE created_at >= ? AND created_at < ? AND " + CHILDRENS,
                           [week_low, week_high]).fetchone()[0]
        weeks.append((monday, count))
        monday += timedelta(days=7)
    first_read = db.execute("SELECT created_at, first_opened_at FROM worries WHERE created_at >= ? AND created_at < ? "
                            "AND " + CHILDRENS, [low, high]).fetchall()
    acknowledged = db.execute("SELECT created_at, acknowledged_at FROM escalations WHERE created_at >= ? "
                              "AND created_at < ? AND " + NOT_A_PRANK, [low, high]).fetchall()
    return Report(period, before, sections, weeks, _hours_between(first_read), _hours_between(acknowledged))


def _survey_section(db, spans) -> Section:
    """The "How safe do you feel?" survey: how many answered, and for each question how many said yes, or not."""
    from .survey import QUESTIONS, counts, responses

    now, before = [counts(db, *span) for span in spans]
    rows = [Row("Children who answered", *[sum(responses(db, *span).values()) for span in spans])]
    for question, (words, _picture) in QUESTIONS.items():
        rows.append(Row("%s: yes" % words, now[question]["yes"], before[question]["yes"]))
        rows.append(Row("%s: sometimes or no" % words, now[question]["sometimes"] + now[question]["no"],
                        before[question]["sometimes"] + before[question]["no"]))
    return Section("survey", "How safe children feel (the kiosk survey)", rows)


def report_csv(report: Report) -> str:
    """The report as CSV, with small counts hidden exactly as on the page."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "measure", report.period.label, report.previous_period.label])
    for section in report.sections:
        for row in section.rows:
            writer.writerow([section.title, row.label, row.shown, row.shown_previous])
    for monday, count in report.weeks:
        writer.writerow(["Worries by week", "week of %s" % monday, shown(count), ""])
    writer.writerow(["Speed", "median hours from posting to first read",
                     "" if report.median_hours_to_first_read is None else report.median_hours_to_first_read, ""])
    writer.writerow(["Speed", "median hours from escalation to acknowledgement",
                     "" if report.median_hours_to_acknowledge is None else report.median_hours_to_acknowledge, ""])
    return out.getvalue()


def bar_chart_svg(title: str, bars: list[tuple[str, int]], width: int = 560) -> str:
    """A horizontal bar chart as SVG text (readable without JavaScript, printable); hidden counts get no bar."""
    from html import escape

    bar_height, gap, label_width, value_width = 22, 8, 200, 110
    height = len(bars) * (bar_height + gap) + 10
    biggest = max([rounded(count) for _label, count in bars] + [1])
    scale = (width - label_width - value_width) / biggest
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" '
             'width="%d" height="%d">' % (escape(title), width, height, width, height)]
    for index, (label, count) in enumerate(bars):
        y = 5 + index * (bar_height + gap)
        length = rounded(count) * scale  # the rounded count: a bar's length must not give the exact one away
        parts.append('<text x="%d" y="%d" text-anchor="end" class="chart-label">%s</text>'
                     % (label_width - 8, y + 16, escape(label)))
        parts.append('<rect x="%d" y="%d" width="%.1f" height="%d" class="chart-bar"/>'
                     % (label_width, y, length, bar_height))
        parts.append('<text x="%.1f" y="%d" class="chart-value">%s</text>'
                     % (label_width + length + 6, y + 16, escape(shown(count))))
    parts.append("</svg>")
    return "".join(parts)


def class_themes(db, class_name: str, period: periods.Period) -> list[Section]:
    """What children of one class worried about, and where, this period: topics and places only, for circle time.

    Counted from named worries of children now in the class, hidden and rounded exactly like the governors'
    report. A worry about a grown-up at school is never counted here: it is the head teacher's to handle.
    """
    from .choices import ADULT_AT_SCHOOL

    before = periods.previous(period)
    sql = ("SELECT %s, count(*) FROM worries WHERE created_at >= ? AND created_at < ? AND " + CHILDRENS +
           " AND coalesce(topic, '') != '" + ADULT_AT_SCHOOL + "' AND pupil_ref IN "
           "(SELECT pupil_ref FROM pupils WHERE lower(trim(class_name)) = lower(trim(?))) GROUP BY 1")

    def counts(column, span):
        low, high = _bounds(db, span.start, span.end)
        return {key: n for key, n in db.execute(sql % column, [low, high, class_name])}

    topics = {key: value for key, value in TOPICS.items() if key != ADULT_AT_SCHOOL}
    return [_section("topic", "What worries were about", counts("topic", period), counts("topic", before),
                     labels={**topics, None: "Not said"}),
            _section("place", "Where", counts("place", period), counts("place", before),
                     labels={**PLACES, None: "Not said"})]
