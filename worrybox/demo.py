"""A demo school with every role, mediators, a rota, worries, chats and escalations. Every name here is made up."""

import json
import secrets
import shutil
import tempfile
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from . import clock, keys, mediators, roster, two_factor, worries
from .alerts import TERMINAL_SETTING
from .config import Paths, write_secret_file
from .db import set_setting, write_transaction
from .new_school import init_school
from .school import open_school, pupil_keys
from .staff import ROLES, create_staff, new_password
from .recipients import recipients_for

SCHOOL = "Oakfield Primary School (demo)"
# (role, email, name, class, what they can do) in the order the sign-in guide lists them; the DSL comes first.
STAFF = (
    ("dsl", "dsl@oakfield.example", "Sam Patel", None, "reads every worry"),
    ("deputy", "deputy@oakfield.example", "Jordan Reid", None, "reads every worry"),
    ("head", "head@oakfield.example", "Robin Ellis", None, "reads worries about a grown-up at school"),
    ("governor", "governor@oakfield.example", "Pat Quinn", None,
     "reads worries about a grown-up at school, with the head, and the governors' report"),
    ("teacher", "teacher.4b@oakfield.example", "Alex Morgan", "4B", "reads what 4B sends to \"my teacher\""),
    ("coordinator", "pals@oakfield.example", "Chris Okafor", None, "rota and mediators; reads no worry"),
    ("it_admin", "it@oakfield.example", "Casey Jordan", None, "staff, roster, settings; reads no worry"),
    ("staff", "lunch@oakfield.example", "Lee Fraser", None, "logs concerns about a child; reads nothing"),
)
CLASSES = {
    "3A": ["Ava Brown", "Ollie Green", "Zara Khan", "Leo Novak", "Mia Singh", "Noah Evans"],
    "4B": ["Amir Hussain", "Ella Wright", "Jacob Lewis", "Isla Kaur", "Oscar Walsh", "Ruby Nowak"],
    "5C": ["Harper Hall", "Ethan Ali", "Sofia Lee", "Arjun Gill", "Grace Young", "Max Kowalski"],
}
# The weekly rota, every school day: (start, end, place, places, mediators by name).
ROTA = (
    ("10:30", "10:50", "the Rainbow Room", 2, ("Harper Hall", "Arjun Gill")),
    ("12:30", "13:00", "the Library", 3, ("Sofia Lee", "Max Kowalski")),
)
LOGINS_JSON = "DEMO-LOGINS.json"
LOGINS_TEXT = "DEMO-LOGINS.txt"


class NotADemoSchool(Exception):
    """The data directory holds a school this version's demo did not make."""


def pupil_id(name: str) -> str:
    """The made-up roster id of a demo pupil, such as DEMO4B05."""
    for class_name, names in CLASSES.items():
        if name in names:
            return "DEMO%s%02d" % (class_name, names.index(name) + 1)
    raise KeyError(name)


def _pupils() -> list[roster.Pupil]:
    pupils = []
    for class_name, names in CLASSES.items():
        for full_name in names:
            first, last = full_name.split(" ", 1)
            pupils.append(roster.Pupil(pupil_id(full_name), first, last, class_name))
    return pupils


def create_demo_school(data_dir: Path, now: datetime | None = None) -> dict:
    """Create the demo school if data_dir holds none; return its logins (staff, mediators' PINs, recovery code)."""
    logins_file = data_dir / LOGINS_JSON
    if logins_file.exists():
        return json.loads(logins_file.read_text(encoding="utf-8"))
    if data_dir.exists() and any(data_dir.iterdir()):
        raise NotADemoSchool("%s holds something other than a demo school of this version. If it is an older "
                             "demo, delete it (`make clean` deletes ./demo-data); if not, give another --data-dir."
                             % data_dir)
    # Built beside data_dir and renamed into place when complete: a Ctrl-C half-way leaves nothing behind.
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".%s-building-" % data_dir.name, dir=data_dir.parent))
    try:
        logins = _build(building, now or datetime.now(timezone.utc))
        if data_dir.exists():
            data_dir.rmdir()
        building.rename(data_dir)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return logins


def _build(data_dir: Path, now: datetime) -> dict:
    paths = Paths(data_dir)
    passwords = {role: new_password() for role, *_ in STAFF}
    (dsl_role, dsl_email, dsl_name, _, _), *others = STAFF
    recovery_code = init_school(paths, SCHOOL, dsl_email, dsl_name, passwords[dsl_role])
    db = open_school(paths)
    try:
        team_keys = keys.unlock_team_with_recovery(db, recovery_code)
        for role, email, name, class_name, _ in others:
            # Added with the team's keys, so each is approved at once (as a DSL adding them would).
            create_staff(db, email, name, role, passwords[role], class_name=class_name, team_keys=team_keys)
        pupil_keys_ = pupil_keys(paths)
        roster.import_roster(db, pupil_keys_, _pupils())
        # Trying the demo should not need a phone; a real school's DSL and deputies sign in with a code too.
        two_factor.set_school_requirement(db, False)
        pins = _mediators_and_rota(db, pupil_keys_)
        _history(db, pupil_keys_, now)
        _alerts_in_the_terminal(db)
    finally:
        db.close()
    logins = {
        "school": SCHOOL,
        "staff": [{"role": role, "email": email, "name": name, "class": class_name, "password": passwords[role]}
                  for role, email, name, class_name, _ in STAFF],
        "mediators": [{"name": name, "class": pupil_id(name)[4:6], "pupil_id": pupil_id(name), "pin": pin}
                      for name, pin in pins.items()],
        "recovery_code": recovery_code,
    }
    write_secret_file(data_dir / LOGINS_JSON, json.dumps(logins, indent=2).encode())
    return logins


def _mediators_and_rota(db, pupil_keys_: roster.PupilKeys) -> dict[str, str]:
    """Make the rota's pupils mediators with a PIN each, and put them on duty every school day; return the PINs."""
    pins = {}
    for *_, on_duty in ROTA:
        for name in on_duty:
            ref = pupil_keys_.pupil_ref(pupil_id(name))
            mediators.set_mediator(db, ref)
            pins[name] = mediators.new_pin(db, ref)
    for weekday in mediators.SCHOOL_DAYS:
        for start, end, place, places, on_duty in ROTA:
            mediators.add_slot(db, weekday, start, end, place, places,
                               [pupil_keys_.pupil_ref(pupil_id(name)) for name in on_duty])
    return pins


def _history(db, pupil_keys_: roster.PupilKeys, now: datetime) -> None:
    """Worries, chats and escalations, posted and booked through the same functions the kiosk uses."""
    zone = clock.school_time(db, now).tzinfo
    today = clock.school_time(db, now).date()

    def at(day: date, clock: str) -> datetime:
        return datetime.combine(day, time.fromisoformat(clock), zone).astimezone(timezone.utc)

    def school_days_ago(count: int) -> date:
        day = today
        while count:
            day -= timedelta(days=1)
            count -= day.weekday() in mediators.SCHOOL_DAYS
        return day

    def pupil(name: str) -> roster.Pupil:
        return roster.find_pupil(db, pupil_keys_, pupil_id(name))

    def post(moment: datetime, text: str, feeling: str, topic: str | None, place: str | None, talk_to: str | None,
             name: str | None = None, urgent: bool = False, language: str = "en") -> int:
        child = pupil(name) if name else None
        recipients, _readers = recipients_for(db, topic, talk_to, child.class_name if child else None)
        worry = worries.NewWorry(
            submission_id=secrets.token_urlsafe(18), feeling=feeling, topic=topic, place=place, talk_to=talk_to,
            urgent=urgent, text=text, pupil=child, pupil_ref=pupil_keys_.pupil_ref(child.pupil_id) if child else None,
            language=language, tablet="Class 4B tablet")
        return worries.post_worry(db, recipients, worry, at=moment, where="Class 4B tablet")[0]

    slots = mediators.slots(db)

    def at_break(day: date) -> mediators.Slot:
        return next(slot for slot in slots if slot.weekday == day.weekday() and slot.start_time == ROTA[0][0])

    def chat(day: date, slot: mediators.Slot, name: str, topic: str, outcome: str | None = None,
             attended: bool = True) -> None:
        """Book a chat as the child did that morning; record how it went as the mediator did after it."""
        ref = pupil_keys_.pupil_ref(pupil_id(name))
        booking_id = mediators.book(db, slot.id, day, ref, topic, clock.school_time(db, at(day, "08:00")))
        if outcome or not attended:
            mediator_ref = mediators.slot_mediator_refs(db, slot.id)[0]
            mediators.record_outcome(db, booking_id, mediator_ref, attended, outcome, at=at(day, slot.end_time))

    # Oscar keeps coming back: four worries and three chats in six weeks. His seventh visit, yesterday,
    # takes him past the school's threshold (more than 6 in 90 days) and escalates.
    oscar = "Oscar Walsh"
    visits = [
        (school_days_ago(28), lambda day: post(at(day, "10:41"), "Mum and Dad were shouting again last night.",
                                               "sad", "home", "home", "teacher", oscar)),
        (school_days_ago(24), lambda day: chat(day, at_break(day), oscar, "home", "another_chat")),
        (school_days_ago(19), lambda day: post(at(day, "12:52"), "I didn't have any breakfast again.",
                                               "worried", "home", "home", "trusted_adult", oscar)),
        (school_days_ago(14), lambda day: chat(day, at_break(day), oscar, "family", "another_chat")),
        (school_days_ago(9), lambda day: post(at(day, "10:44"), "I feel sad all the time.",
                                              "sad", "family", "classroom", "teacher", oscar)),
        (school_days_ago(5), lambda day: chat(day, at_break(day), oscar, "home", "another_chat")),
        (school_days_ago(1), lambda day: post(at(day, "15:20"), "I don't want to go home at the weekend.",
                                              "scared", "home", "home", "trusted_adult", oscar)),
    ]
    for day, visit in visits:
        visit(day)

    post(at(school_days_ago(3), "12:40"), "I'm worried about the tests. I can't get to sleep.",
         "worried", "schoolwork", "classroom", "not_sure", "Ethan Ali")
    post(at(school_days_ago(2), "12:35"), "Nobody wants to play with me at lunch. I sit on the bench on my own.",
         "lonely", "friends", "lunch", "teacher", "Amir Hussain")
    post(at(school_days_ago(2), "14:05"), "Tęsknię za babcią. Ona mieszka w Polsce.",
         "lonely", "family", "home", "not_sure", language="pl")
    post(at(school_days_ago(1), "11:15"), "A grown-up at after-school club shouted at me and pulled my arm hard.",
         "scared", "adult_at_school", "corridor", "trusted_adult")
    # "I need help now", twenty minutes ago: urgent worries escalate at once and should be read within 15 minutes.
    post(now - timedelta(minutes=20), "Please come and find me. I don't want to go home today.",
         "scared", None, None, None, "Ella Wright", urgent=True)

    # Chats this week: some already happened (one passed on to an adult), some still to come.
    done = _past_duties(slots, today, clock.school_time(db, now))
    booked = [("Isla Kaur", "friends", "pass_to_adult"), ("Zara Khan", "bullying", "sorted"),
              ("Leo Novak", "schoolwork", None)]
    for (name, topic, outcome), (day, slot) in zip(booked, done):
        chat(day, slot, name, topic, outcome)
    coming = mediators.upcoming(db, clock.school_time(db, now))
    for name, offer in zip(("Mia Singh", "Ruby Nowak"), coming):
        ref = pupil_keys_.pupil_ref(pupil_id(name))
        mediators.book(db, offer.slot.id, offer.day, ref, "friends", clock.school_time(db, now))


def _past_duties(slots, today: date, now_local: datetime) -> list[tuple[date, mediators.Slot]]:
    """The three most recent duty times that are already over (today's, then earlier days', newest first)."""
    over = []
    day = today
    while len(over) < 3:
        for slot in sorted(slots, key=lambda s: s.start_time, reverse=True):
            if slot.weekday == day.weekday() and (day < today or slot.end_time <= now_local.strftime("%H:%M")):
                over.append((day, slot))
        day -= timedelta(days=1)
    return over[:3]


def sign_in_guide(logins: dict, kiosk_url: str, console_url: str) -> str:
    """How each role signs in to the demo school, mediators at the kiosk included."""
    lines = ["Demo school: %s (made-up people only)" % logins["school"], "",
             "Staff sign in at the staff console, %s, with an email and password:" % console_url]
    labels = dict(ROLES, dsl="DSL", deputy="Deputy DSL", coordinator="Coordinator", staff="Lunchtime staff")
    can = {role: what for role, *_, what in STAFF}
    for member in logins["staff"]:
        role = labels[member["role"]] + (" %s" % member["class"] if member["class"] else "")
        lines.append("  %-18s %-28s password: %s  %s" % (role + ":", member["email"], member["password"],
                                                          can[member["role"]]))
    lines += [
        "  Two-factor sign-in is off in this demo; a real school's DSL and deputies also give a code from a phone.",
        "  Recovery code (opens every worry if every DSL forgets their password): %s" % logins["recovery_code"],
        "",
        "Children use the kiosk, %s: post a worry, \"I need help now\", book a chat with a mediator." % kiosk_url,
        "",
        "Mediators (Problem Pals) sign in at the kiosk, %s/mediator (the start screen links to it:" %
        kiosk_url.rstrip("/"),
        "\"I'm one of the Problem Pals\"). They tap their name, then type their PIN:",
    ]
    duty = {name: "%s to %s in %s" % (start, end, place) for start, end, place, _, names in ROTA for name in names}
    for mediator in logins["mediators"]:
        first, last = mediator["name"].split(" ", 1)
        lines.append("  %-18s PIN: %s  (on duty every school day, %s)" % (
            "%s %s (%s)" % (first, last[0], mediator["class"]), mediator["pin"], duty[mediator["name"]]))
    lines += ["",
              "Already there: worries (one urgent), chats booked this week (one passed on to an adult), and a child",
              "who has come back more than six times. Sign in as the DSL to see them."]
    return "\n".join(lines) + "\n"


def write_guide(data_dir: Path, guide: str) -> Path:
    """Keep the latest sign-in guide beside the demo school, readable by its owner only."""
    path = data_dir / LOGINS_TEXT
    path.unlink(missing_ok=True)
    write_secret_file(path, guide.encode())
    return path


def _alerts_in_the_terminal(db) -> None:
    """No mail server in a demo: alert e-mails are printed in the terminal, so a newcomer sees them arrive,
    first to the DSL, then (if nobody opens the worry within 5 minutes) to the deputy and the head teacher."""
    on_call = [email for role, email, *_ in STAFF if role in ("dsl", "deputy", "head")]
    with write_transaction(db):
        set_setting(db, TERMINAL_SETTING, "1")
        set_setting(db, "on_call_list", ", ".join(on_call))
        # The made-up history's alerts count as sent long ago: only new ones are printed.
        db.execute("UPDATE outbox SET delivered_at = created_at WHERE delivered_at IS NULL")
        db.execute("UPDATE escalations SET next_alert_at = NULL")
