"""Pattern rules the DSL chooses: so many staff concerns, worries (about a topic) or visits about one child in a window.

Every check runs inside the caller's transaction, so the event that takes a child to a rule's number and
the escalation (with its alert) it causes are stored together or not at all. A rule escalates once, when
the count reaches its number, and again only if the child falls below it and reaches it again.
Plain SQL on columns kept in clear: the kiosk runs these checks too, and they open nothing.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from . import escalation
from .choices import TOPICS, label
from .clock import iso, utcnow

KINDS = {"staff_concerns": ("staff concern", "staff concerns"), "worries": ("worry", "worries"),
         "visits": ("visit", "visits")}
MIN_AT_LEAST, MAX_AT_LEAST = 2, 100
MIN_WINDOW, MAX_WINDOW = 1, 366


@dataclass(frozen=True)
class Rule:
    id: int
    kind: str
    topic: str | None
    at_least: int
    window_days: int

    @property
    def words(self) -> str:
        """The rule in words: '3 staff concerns in 30 days', '2 worries about Home in 14 days'."""
        about = " about %s" % label(TOPICS, self.topic) if self.kind == "worries" and self.topic else ""
        return "%d %s%s in %d days" % (self.at_least, KINDS[self.kind][1], about, self.window_days)


def rules(db) -> list[Rule]:
    """The rules in force, oldest first."""
    return [Rule(*row) for row in db.execute(
        "SELECT id, kind, topic, at_least, window_days FROM pattern_rules WHERE removed_at IS NULL ORDER BY id")]


def describe_rule(db, rule_id: int | None) -> str:
    row = db.execute("SELECT id, kind, topic, at_least, window_days FROM pattern_rules WHERE id = ?",
                     [rule_id]).fetchone()
    return Rule(*row).words if row else "a pattern rule"


def add_rule(db, kind: str, at_least: int, window_days: int, topic: str | None = None,
             staff_id: int | None = None) -> int:
    """Add a rule; ValueError with a plain message if it makes no sense."""
    if kind not in KINDS:
        raise ValueError("Choose staff concerns, worries or visits.")
    if topic is not None and (kind != "worries" or topic not in TOPICS):
        raise ValueError("Only a rule about worries can name a topic.")
    if not MIN_AT_LEAST <= at_least <= MAX_AT_LEAST:
        raise ValueError("The number must be from %d to %d." % (MIN_AT_LEAST, MAX_AT_LEAST))
    if not MIN_WINDOW <= window_days <= MAX_WINDOW:
        raise ValueError("The number of days must be from %d to %d." % (MIN_WINDOW, MAX_WINDOW))
    return db.execute("INSERT INTO pattern_rules (kind, topic, at_least, window_days, created_at, created_by) "
                      "VALUES (?, ?, ?, ?, ?, ?)", [kind, topic, at_least, window_days, utcnow(), staff_id]).lastrowid


def remove_rule(db, rule_id: int) -> bool:
    return bool(db.execute("UPDATE pattern_rules SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                           [utcnow(), rule_id]).rowcount)


def _count_sql(rule: Rule) -> tuple[str, list]:
    """SQL (grouped by child) counting what a rule counts between two moments, and its extra parameters."""
    if rule.kind == "visits":
        return "SELECT pupil_ref, count(*) FROM visits WHERE at > ? AND at <= ? %s GROUP BY pupil_ref", []
    # A worry or concern staff marked not real counts for nothing.
    sql = ("SELECT pupil_ref, count(*) FROM worries WHERE created_at > ? AND created_at <= ? AND pupil_ref IS NOT NULL "
           "AND not_real_at IS NULL AND logged_by IS %s NULL" % ("NOT" if rule.kind == "staff_concerns" else ""))
    params = []
    if rule.kind == "worries" and rule.topic:
        sql += " AND topic = ?"
        params.append(rule.topic)
    return sql + " %s GROUP BY pupil_ref", params


def count_for(db, rule: Rule, pupil_ref: str, at: datetime) -> int:
    """How many of what the rule counts this child has in the window ending at `at`."""
    sql, params = _count_sql(rule)
    row = db.execute(sql % "AND pupil_ref = ?", [iso(at - timedelta(days=rule.window_days)), iso(at), *params,
                                                 pupil_ref]).fetchone()
    return row[1] if row else 0


def check_after(db, pupil_ref: str | None, at: datetime, event: str, worry_id: int | None = None,
                booking_id: int | None = None, where: str = "the kiosk") -> list[int]:
    """After a staff concern, a worry or a chat about a child, escalate each rule it has just taken them to."""
    if not pupil_ref:
        return []
    topic = None
    if event == "worry" and worry_id is not None:
        topic = db.execute("SELECT topic FROM worries WHERE id = ?", [worry_id]).fetchone()[0]
    opened = []
    for rule in rules(db):
        counts_it = (rule.kind == "staff_concerns" and event == "staff_concern") or \
            (rule.kind == "visits" and event in ("worry", "chat")) or \
            (rule.kind == "worries" and event == "worry" and (rule.topic is None or rule.topic == topic))
        if not counts_it:
            continue
        count = count_for(db, rule, pupil_ref, at)
        # Exactly at the number: the event that crosses the line escalates, the ones after it do not.
        if count == rule.at_least:
            escalation_id = escalation.escalate(db, "pattern", at, pupil_ref=pupil_ref, visit_count=count,
                                                worry_id=worry_id, booking_id=booking_id, where=where,
                                                rule_id=rule.id)
            if escalation_id:
                opened.append(escalation_id)
    return opened


def nearest(db, rule: Rule, now: datetime, limit: int = 10) -> list[tuple[str, int]]:
    """The children nearest a rule's number now: (pseudonym, count), highest first."""
    sql, params = _count_sql(rule)
    rows = db.execute((sql % "") + " ORDER BY 2 DESC, 1 LIMIT ?",
                      [iso(now - timedelta(days=rule.window_days)), iso(now), *params, limit]).fetchall()
    return [(pupil_ref, count) for pupil_ref, count in rows]
