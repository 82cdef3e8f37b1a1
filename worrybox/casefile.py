"""One child's case file: every worry, chat, escalation, note and action about them, oldest first.

Worries are opened with casework.read_worry, so each one opened for a case file is audited exactly as
opening it on its own page. Only the staff console imports this module.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from . import casework, clock, concerns, escalation, mediators, patterns, roster
from .choices import TOPICS, label
from .db import write_transaction
from .roster import Pupil


@dataclass(frozen=True)
class Entry:
    """One line of the chronology: when, who, what, and what was written, if the keyring opens it."""

    at: str
    who: str
    what: str
    kind: str  # "worry", "action", "chat", "escalation" or "acknowledged"
    worry_id: int | None = None
    worry: casework.OpenedWorry | None = None
    note: str | None = None


@dataclass
class CaseFile:
    """A child's pseudonym, who they are (None if they have left the roster) and their chronology."""

    pupil_ref: str
    pupil: Pupil | None
    entries: list[Entry] = field(default_factory=list)

    @property
    def worry_ids(self) -> list[int]:
        return [entry.worry_id for entry in self.entries if entry.kind == "worry"]

    def counts(self) -> dict[str, int]:
        kinds = [entry.kind for entry in self.entries]
        return {kind: kinds.count(kind) for kind in ("worry", "chat", "escalation")}


def pupil_worry_ids(db, pupil_ref: str) -> list[int]:
    """Every worry a child posted with their name, oldest first, whoever can open it."""
    return [row[0] for row in db.execute(
        "SELECT id FROM worries WHERE pupil_ref = ? ORDER BY created_at, id", [pupil_ref])]


def case_file(db, pupil_keys: roster.PupilKeys, pupil_ref: str, keyring, whole_picture: bool) -> CaseFile:
    """Gather a child's chronology as one member of staff may see it, opening (and auditing) their worries.

    Only worries the keyring opens are included. whole_picture adds the child's mediator chats and
    escalations, which are the safeguarding team's to see, not a class teacher's.
    """
    pupil = roster.pupil_by_ref(db, pupil_keys, pupil_ref)
    child = pupil.display_name if pupil else "The child"
    case = CaseFile(pupil_ref, pupil)
    # One transaction for every worry's audit row: one write to disk, not one per worry.
    with write_transaction(db):
        for worry_id in pupil_worry_ids(db, pupil_ref):
            if not casework.can_open(db, worry_id, keyring):
                continue
            opened = casework.read_worry(db, worry_id, keyring)
            if opened.logged_by:
                what = "logged a staff concern: %s" % concerns.CATEGORIES.get(opened.concern_category, "—").lower()
                case.entries.append(Entry(opened.created_at, opened.logged_by, what, "worry", worry_id, opened))
            else:
                what = "posted an urgent worry" if opened.urgent else "posted a worry"
                case.entries.append(Entry(opened.created_at, child, what, "worry", worry_id, opened))
            for action in casework.chronology(db, worry_id, keyring):
                case.entries.append(Entry(action["at"], action["staff_name"],
                                          casework.action_label(action["action"]), "action", worry_id,
                                          note=action["note"]))
    if whole_picture:
        case.entries.extend(_chats(db, pupil_keys, pupil_ref))
        case.entries.extend(_escalations(db, pupil_ref, keyring))
    # Parsed, not compared as text: every stored time is UTC today, but a time with another offset must still sort.
    case.entries.sort(key=lambda entry: datetime.fromisoformat(entry.at))
    return case


def _chats(db, pupil_keys, pupil_ref: str) -> list[Entry]:
    zone = clock.school_time(db, datetime.now(timezone.utc)).tzinfo
    scheme = mediators.scheme_name(db)
    entries = []
    for day, start_time, place, topic, attended, outcome, recorded_by in db.execute(
        "SELECT b.date, d.start_time, d.place, b.topic, b.attended, b.outcome, b.recorded_by "
        "FROM bookings b JOIN duty_slots d ON d.id = b.slot_id WHERE b.pupil_ref = ?", [pupil_ref]
    ):
        at = datetime.combine(date.fromisoformat(day), time.fromisoformat(start_time), zone)
        if attended is None:
            result = "not recorded yet"
        elif attended:
            result = "came; %s" % label(mediators.OUTCOMES, outcome).lower() if outcome else "came"
        else:
            result = "did not come"
        mediator = roster.pupil_by_ref(db, pupil_keys, recorded_by) if recorded_by else None
        who = "%s (mediator)" % _short_name(mediator) if mediator else "—"
        what = "chat with the %s at %s%s: %s" % (
            scheme, place, "" if not topic else " about %s" % label(TOPICS, topic).lower(), result)
        entries.append(Entry(at.astimezone(timezone.utc).isoformat(timespec="microseconds"), who, what, "chat"))
    return entries


def _short_name(pupil: Pupil) -> str:
    initial = " %s." % pupil.last_name[0] if pupil.last_name else ""
    return "%s%s" % (pupil.first_name, initial)


def _escalations(db, pupil_ref: str, keyring) -> list[Entry]:
    entries = []
    for escalation_id, reason, created_at, visit_count, worry_id, acknowledged_at, acknowledged_by, rule_id in db.execute(
        "SELECT e.id, e.reason, e.created_at, e.visit_count, e.worry_id, e.acknowledged_at, s.name, e.rule_id "
        "FROM escalations e LEFT JOIN staff s ON s.id = e.acknowledged_by WHERE e.pupil_ref = ?", [pupil_ref]
    ):
        why = escalation.REASONS.get(reason, reason)
        if reason == "pattern":
            why = "matched the pattern rule \"%s\"" % patterns.describe_rule(db, rule_id)
        elif visit_count:
            why += " (%d visits in the window)" % visit_count
        entries.append(Entry(created_at, "Worry Box", "escalated: %s" % why, "escalation", worry_id))
        if worry_id is None:  # a worry's own chronology already lists the alerts about it
            for at, detail in db.execute("SELECT at, detail FROM escalation_events WHERE escalation_id = ? "
                                         "AND event = 'alert_sent' ORDER BY id", [escalation_id]):
                entries.append(Entry(at, "Worry Box", "sent an alert: %s" % detail, "escalation"))
        if acknowledged_at:
            note = casework.escalation_note(db, escalation_id, keyring)
            entries.append(Entry(acknowledged_at, acknowledged_by or "—", "acknowledged the escalation",
                                 "acknowledged", worry_id, note=note))
    return entries
