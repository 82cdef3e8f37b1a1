"""Peer mediators: who they are, their PINs, the weekly rota, bookings and how each chat went."""

import enum
import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import escalation
from .clock import school_zone, utcnow
from .db import get_setting, write_transaction
from .languages import N_

PIN_LENGTH = 4
MAX_PIN_FAILURES = 5
PIN_PAUSE = timedelta(minutes=10)
OUTCOMES = {
    "sorted": N_("Sorted"),
    "another_chat": N_("Needs another chat"),
    "pass_to_adult": N_("Pass to an adult"),
}
# Shown to a child: the kiosk translates them.
NOT_OPEN = N_("That time is not open for chats any more. Please choose another time.")
ALREADY_BOOKED = N_("You have already booked this time. See you there!")
FULL = N_("Sorry, that time is full now. Please choose another time.")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SCHOOL_DAYS = range(0, 5)
BOOKING_DAYS_AHEAD = 5

# PINs are short by design (children type them); the lock-out, not the hash, is what stops guessing.
_pin_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class BookingRefused(Exception):
    """A booking could not be made; the message is kind enough to show a child."""


@dataclass(frozen=True)
class Slot:
    """A weekly duty slot."""

    id: int
    weekday: int
    start_time: str
    end_time: str
    place: str
    capacity: int
    paused_until: str | None

    @property
    def day_name(self) -> str:
        return WEEKDAYS[self.weekday]

    def paused_on(self, day: date) -> bool:
        return self.paused_until is not None and day.isoformat() <= self.paused_until


@dataclass(frozen=True)
class SlotOnDay:
    """One slot on one date, with how many places are taken."""

    slot: Slot
    day: date
    taken: int
    mediator_refs: tuple[str, ...]

    @property
    def free(self) -> int:
        return max(self.slot.capacity - self.taken, 0)


def scheme_name(db) -> str:
    """What the school calls its peer mediators, such as 'Problem Pals'."""
    return get_setting(db, "scheme_name", "Problem Pals")


# Mediators -----------------------------------------------------------------------------------


def set_mediator(db, pupil_ref: str, active: bool = True) -> None:
    """Make a pupil a mediator (or stop them being one); their PIN is kept."""
    if not active:
        db.execute("UPDATE mediators SET active = 0 WHERE pupil_ref = ?", [pupil_ref])
        _end_sessions_of(db, pupil_ref)
        return
    db.execute(
        "INSERT INTO mediators (pupil_ref, active, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT(pupil_ref) DO UPDATE SET active = excluded.active",
        [pupil_ref, int(active), utcnow()],
    )


def start_session(db, pupil_ref: str, now: datetime | None = None) -> str:
    """Sign a mediator in at the kiosk: a server-side session whose token (only its hash is kept) goes in a cookie."""
    token = secrets.token_urlsafe(32)
    at = (now or datetime.now(timezone.utc)).isoformat(timespec="microseconds")
    db.execute("INSERT INTO mediator_sessions (token_hash, pupil_ref, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
               [_token_hash(token), pupil_ref, at, at])
    return token


def session_mediator(db, token: str | None, idle: timedelta, now: datetime | None = None) -> str | None:
    """The mediator a session token belongs to, touching it; None (and the session ended) once idle or stopped."""
    if not token:
        return None
    now = now or datetime.now(timezone.utc)
    row = db.execute("SELECT s.pupil_ref, s.last_seen_at, m.active, m.locked_until FROM mediator_sessions s "
                     "JOIN mediators m ON m.pupil_ref = s.pupil_ref WHERE s.token_hash = ?",
                     [_token_hash(token)]).fetchone()
    if row is None:
        return None
    pupil_ref, last_seen_at, active, locked_until = row
    paused = locked_until is not None and datetime.fromisoformat(locked_until) > now
    if now - datetime.fromisoformat(last_seen_at) > idle or not active or paused:
        end_session(db, token)
        return None
    db.execute("UPDATE mediator_sessions SET last_seen_at = ? WHERE token_hash = ?",
               [now.isoformat(timespec="microseconds"), _token_hash(token)])
    return pupil_ref


def end_session(db, token: str | None) -> None:
    """Sign a mediator out ("Done", or leaving the mediator pages): the cookie is worth nothing after this."""
    if token:
        db.execute("DELETE FROM mediator_sessions WHERE token_hash = ?", [_token_hash(token)])


def _end_sessions_of(db, pupil_ref: str) -> None:
    db.execute("DELETE FROM mediator_sessions WHERE pupil_ref = ?", [pupil_ref])


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_pin(db, pupil_ref: str) -> str:
    """Give a mediator a new PIN, returned once to show them; only its hash is kept."""
    pin = "".join(secrets.choice("0123456789") for _ in range(PIN_LENGTH))
    updated = db.execute(
        "UPDATE mediators SET pin_hash = ?, failed_pins = 0, locked_until = NULL WHERE pupil_ref = ?",
        [_pin_hasher.hash(pin), pupil_ref],
    ).rowcount
    if not updated:
        raise LookupError("not a mediator")
    _end_sessions_of(db, pupil_ref)  # a new PIN signs out every tablet the old one was used on
    return pin


def mediator_refs(db, active_only: bool = True) -> list[str]:
    where = "WHERE active = 1" if active_only else ""
    return [row[0] for row in db.execute("SELECT pupil_ref FROM mediators %s" % where)]


def mediator_rows(db) -> list[dict]:
    """Every mediator with whether they are active and have a PIN."""
    rows = db.execute(
        "SELECT pupil_ref, active, pin_hash IS NOT NULL, locked_until FROM mediators ORDER BY created_at"
    ).fetchall()
    return [{"pupil_ref": r[0], "active": bool(r[1]), "has_pin": bool(r[2]), "locked_until": r[3]} for r in rows]


class PinCheck(enum.Enum):
    """What checking a mediator's PIN found."""

    OK = "ok"
    WRONG = "wrong"
    PAUSED = "paused"  # too many wrong tries: the login rests for a while


def check_pin(db, pupil_ref: str, pin: str, now: datetime | None = None) -> PinCheck:
    """Check a mediator's PIN (and count a wrong one towards the pause)."""
    now = now or datetime.now(timezone.utc)
    with write_transaction(db):
        row = db.execute(
            "SELECT pin_hash, failed_pins, locked_until FROM mediators WHERE pupil_ref = ? AND active = 1", [pupil_ref]
        ).fetchone()
        if row is None or row[0] is None:
            return PinCheck.WRONG
        pin_hash, failures, locked_until = row
        if locked_until and datetime.fromisoformat(locked_until) > now:
            return PinCheck.PAUSED
        try:
            _pin_hasher.verify(pin_hash, pin)
        except (VerificationError, InvalidHashError):
            failures += 1
            lock = (now + PIN_PAUSE).isoformat(timespec="microseconds") if failures >= MAX_PIN_FAILURES else None
            db.execute("UPDATE mediators SET failed_pins = ?, locked_until = ? WHERE pupil_ref = ?",
                       [0 if lock else failures, lock, pupil_ref])
            if lock:  # a pause ends every sign-in of theirs too
                _end_sessions_of(db, pupil_ref)
            return PinCheck.PAUSED if lock else PinCheck.WRONG
        db.execute("UPDATE mediators SET failed_pins = 0, locked_until = NULL WHERE pupil_ref = ?", [pupil_ref])
        return PinCheck.OK


# The rota ------------------------------------------------------------------------------------


def add_slot(db, weekday: int, start_time: str, end_time: str, place: str, capacity: int,
             mediators: list[str]) -> int:
    """Add a weekly duty slot with its mediators."""
    with write_transaction(db):
        slot_id = db.execute(
            "INSERT INTO duty_slots (weekday, start_time, end_time, place, capacity, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", [weekday, start_time, end_time, place, capacity, utcnow()]
        ).lastrowid
        set_slot_mediators(db, slot_id, mediators)
    return slot_id


def set_slot_mediators(db, slot_id: int, mediators: list[str]) -> None:
    with write_transaction(db):
        db.execute("DELETE FROM slot_mediators WHERE slot_id = ?", [slot_id])
        for pupil_ref in dict.fromkeys(mediators):
            db.execute("INSERT INTO slot_mediators (slot_id, pupil_ref) VALUES (?, ?)", [slot_id, pupil_ref])


def pause_slot(db, slot_id: int, until: date | None) -> None:
    """Pause a slot up to and including a date (None: resume it)."""
    db.execute("UPDATE duty_slots SET paused_until = ? WHERE id = ?", [until.isoformat() if until else None, slot_id])


def remove_slot(db, slot_id: int) -> None:
    db.execute("UPDATE duty_slots SET removed_at = ? WHERE id = ?", [utcnow(), slot_id])


def slots(db) -> list[Slot]:
    """Every slot on the rota, in week order."""
    rows = db.execute(
        "SELECT id, weekday, start_time, end_time, place, capacity, paused_until FROM duty_slots "
        "WHERE removed_at IS NULL ORDER BY weekday, start_time"
    )
    return [Slot(*row) for row in rows]


def get_slot(db, slot_id: int) -> Slot | None:
    row = db.execute(
        "SELECT id, weekday, start_time, end_time, place, capacity, paused_until FROM duty_slots "
        "WHERE id = ? AND removed_at IS NULL", [slot_id]
    ).fetchone()
    return Slot(*row) if row else None


def slot_mediator_refs(db, slot_id: int) -> tuple[str, ...]:
    return tuple(row[0] for row in db.execute(
        "SELECT s.pupil_ref FROM slot_mediators s JOIN mediators m ON m.pupil_ref = s.pupil_ref "
        "WHERE s.slot_id = ? AND m.active = 1", [slot_id]))


def bookable_days(today: date) -> list[date]:
    """Today and the next school days, a week's worth."""
    days, day = [], today
    while len(days) < BOOKING_DAYS_AHEAD:
        if day.weekday() in SCHOOL_DAYS:
            days.append(day)
        day += timedelta(days=1)
    return days


def upcoming(db, now_local: datetime) -> list[SlotOnDay]:
    """Slots a child can book: today (not yet over) and the next school days, not paused."""
    result = []
    all_slots = slots(db)
    for day in bookable_days(now_local.date()):
        for slot in all_slots:
            if slot.weekday != day.weekday() or slot.paused_on(day):
                continue
            if day == now_local.date() and slot.end_time <= now_local.strftime("%H:%M"):
                continue
            mediators = slot_mediator_refs(db, slot.id)
            if not mediators:
                continue
            taken = db.execute("SELECT count(*) FROM bookings WHERE slot_id = ? AND date = ?",
                               [slot.id, day.isoformat()]).fetchone()[0]
            result.append(SlotOnDay(slot, day, taken, mediators))
    return result


# Bookings ------------------------------------------------------------------------------------


def book(db, slot_id: int, day: date, pupil_ref: str, topic: str | None, now_local: datetime) -> int:
    """Book a place for a child; raise BookingRefused if the slot is full, closed or already booked by them."""
    offered = {(s.slot.id, s.day) for s in upcoming(db, now_local)}
    if (slot_id, day) not in offered:
        raise BookingRefused(NOT_OPEN)
    try:
        with write_transaction(db):
            slot = get_slot(db, slot_id)
            if db.execute("SELECT 1 FROM bookings WHERE slot_id = ? AND date = ? AND pupil_ref = ?",
                          [slot_id, day.isoformat(), pupil_ref]).fetchone():
                raise BookingRefused(ALREADY_BOOKED)
            taken = {row[0] for row in db.execute(
                "SELECT place_number FROM bookings WHERE slot_id = ? AND date = ?", [slot_id, day.isoformat()])}
            free = [n for n in range(1, slot.capacity + 1) if n not in taken]
            if not free:
                raise BookingRefused(FULL)
            return db.execute(
                "INSERT INTO bookings (slot_id, date, place_number, pupil_ref, topic, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [slot_id, day.isoformat(), free[0], pupil_ref, topic, utcnow()],
            ).lastrowid
    except sqlite3.IntegrityError:
        # The unique indexes are the final word if two taps race past the checks above.
        raise BookingRefused(FULL) from None


def duty(db, mediator_ref: str, week_of: date) -> list[dict]:
    """A mediator's duty slots in the week containing week_of, each with who booked them."""
    monday = week_of - timedelta(days=week_of.weekday())
    result = []
    for slot in slots(db):
        if mediator_ref not in slot_mediator_refs(db, slot.id):
            continue
        day = monday + timedelta(days=slot.weekday)
        bookings = db.execute(
            "SELECT id, pupil_ref, topic, attended, outcome FROM bookings WHERE slot_id = ? AND date = ? "
            "ORDER BY place_number", [slot.id, day.isoformat()]
        ).fetchall()
        result.append({
            "slot": slot, "day": day, "paused": slot.paused_on(day),
            "bookings": [dict(zip(("id", "pupil_ref", "topic", "attended", "outcome"), b)) for b in bookings],
        })
    return sorted(result, key=lambda entry: (entry["day"], entry["slot"].start_time))


class ChatNotStarted(Exception):
    """An outcome for a chat whose start time has not come yet: nothing is recorded."""


def chat_start(db, day: date, start_time: str) -> datetime:
    """When a chat on a day starts, as a moment (the rota's times are the school's own)."""
    return datetime.combine(day, time.fromisoformat(start_time), school_zone(db))


def record_outcome(db, booking_id: int, mediator_ref: str, attended: bool, outcome: str | None,
                   at: datetime | None = None) -> int | None:
    """Record how a chat went, once it has started; a chat attended is one visit, and 'pass to an adult'
    escalates at once. Changing an outcome never adds a second visit, and "did not come" takes it away."""
    at = at or datetime.now(timezone.utc)
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError("unknown outcome")
    with write_transaction(db):
        row = db.execute(
            "SELECT b.pupil_ref, b.date, d.start_time FROM bookings b JOIN slot_mediators s ON s.slot_id = b.slot_id "
            "JOIN duty_slots d ON d.id = b.slot_id WHERE b.id = ? AND s.pupil_ref = ?", [booking_id, mediator_ref]
        ).fetchone()
        if row is None:
            raise LookupError("not one of this mediator's bookings")
        pupil_ref, day, start_time = row
        if chat_start(db, date.fromisoformat(day), start_time) > at:
            raise ChatNotStarted(booking_id)
        db.execute(
            "UPDATE bookings SET attended = ?, outcome = ?, recorded_at = ?, recorded_by = ? WHERE id = ?",
            [int(attended), outcome if attended else None, at.isoformat(timespec="microseconds"), mediator_ref,
             booking_id],
        )
        escalation_id = None
        counted = db.execute("SELECT 1 FROM visits WHERE booking_id = ?", [booking_id]).fetchone()
        if attended and not counted:
            escalation_id = escalation.record_visit(db, pupil_ref, at, "chat", booking_id=booking_id)
        elif not attended and counted:
            db.execute("DELETE FROM visits WHERE booking_id = ?", [booking_id])
        if attended and outcome == "pass_to_adult":
            escalation_id = escalation.escalate(db, "pass_to_adult", at, pupil_ref=pupil_ref,
                                                booking_id=booking_id) or escalation_id
        return escalation_id


def bookings_between(db, start: date, end: date) -> list[dict]:
    """Bookings and outcomes in a date range, for the coordinator (never any worry text)."""
    columns = ("id", "date", "start_time", "place", "pupil_ref", "topic", "attended", "outcome", "recorded_by")
    rows = db.execute(
        "SELECT b.id, b.date, d.start_time, d.place, b.pupil_ref, b.topic, b.attended, b.outcome, b.recorded_by "
        "FROM bookings b JOIN duty_slots d ON d.id = b.slot_id WHERE b.date BETWEEN ? AND ? "
        "ORDER BY b.date, d.start_time, b.place_number", [start.isoformat(), end.isoformat()]
    ).fetchall()
    return [dict(zip(columns, row)) for row in rows]
