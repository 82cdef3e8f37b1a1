"""A demo school with a made-up roster, for trying Worry Box out. Every name here is fictional."""

from pathlib import Path

from . import roster, two_factor
from .alerts import TERMINAL_SETTING
from .config import Paths, write_secret_file
from .db import set_setting
from .new_school import init_school
from .school import open_school, pupil_keys
from .staff import create_staff, new_password

SCHOOL = "Oakfield Primary School (demo)"
DSL = ("dsl@oakfield.example", "Sam Patel")
TEACHER = ("teacher.4b@oakfield.example", "Alex Morgan", "4B")
HEAD = ("head@oakfield.example", "Robin Ellis")
IT_ADMIN = ("it@oakfield.example", "Casey Jordan")
CLASSES = {
    "3A": ["Ava Brown", "Ollie Green", "Zara Khan", "Leo Novak", "Mia Singh", "Noah Evans"],
    "4B": ["Amir Hussain", "Ella Wright", "Jacob Lewis", "Isla Kaur", "Oscar Walsh", "Ruby Nowak"],
    "5C": ["Harper Hall", "Ethan Ali", "Sofia Lee", "Arjun Gill", "Grace Young", "Max Kowalski"],
}


def create_demo_school(data_dir: Path) -> Path:
    """Create the demo school if data_dir holds none; return the file that lists its logins."""
    paths = Paths(data_dir)
    logins = data_dir / "DEMO-LOGINS.txt"
    if paths.database.exists() and logins.exists():
        return logins
    dsl_password, teacher_password, head_password, it_password = (new_password() for _ in range(4))
    recovery_code = init_school(paths, SCHOOL, DSL[0], DSL[1], dsl_password)
    db = open_school(paths)
    create_staff(db, TEACHER[0], TEACHER[1], "teacher", teacher_password, class_name=TEACHER[2])
    create_staff(db, HEAD[0], HEAD[1], "head", head_password)
    create_staff(db, IT_ADMIN[0], IT_ADMIN[1], "it_admin", it_password)
    pupils = []
    for class_name, names in CLASSES.items():
        for number, full_name in enumerate(names, start=1):
            first, last = full_name.split(" ", 1)
            pupils.append(roster.Pupil("DEMO%s%02d" % (class_name, number), first, last, class_name))
    roster.import_roster(db, pupil_keys(paths), pupils)
    # Trying the demo should not need a phone; a real school's DSL and deputies sign in with a code too.
    two_factor.set_school_requirement(db, False)
    # No mail server in a demo: alert e-mails are printed in the terminal, so a newcomer sees them arrive,
    # first to the DSL, then (if nobody opens the worry within 5 minutes) to the head teacher.
    set_setting(db, TERMINAL_SETTING, "1")
    set_setting(db, "on_call_list", "%s, %s" % (DSL[0], HEAD[0]))
    db.close()
    write_secret_file(logins, (
        "Demo school: %s (made-up people only)\n"
        "  DSL:           %s  password: %s\n"
        "  Class teacher: %s  password: %s  (class %s)\n"
        "  Head teacher:  %s  password: %s\n"
        "  School IT:     %s  password: %s  (reads no worry)\n"
        "  Recovery code: %s\n"
        "  Two-factor sign-in is off in this demo; a real school's DSL and deputies also give a code from a phone.\n"
        % (SCHOOL, DSL[0], dsl_password, TEACHER[0], teacher_password, TEACHER[2], HEAD[0], head_password,
           IT_ADMIN[0], it_password, recovery_code)
    ).encode())
    return logins
