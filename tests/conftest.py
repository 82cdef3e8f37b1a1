"""Fixtures: a school set up once per run and copied for each test, the two apps, their clients, servers.

Whatever tests share that is not a fixture (the template school's people, CSRF, helpers to drive the apps,
real servers) is in helpers.py: tests import that, never this file.
"""

import shutil

import pytest
from argon2 import PasswordHasher

from helpers import (DSL_EMAIL, DSL_PASSWORD, OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD, PUPILS, TEACHER_EMAIL,
                     TEACHER_PASSWORD, ConsoleHelper, KioskHelper, Server)
from kiosk import create_app as create_kiosk
from staff_console import create_app as create_console
from worrybox import clock, keys, opening, roster, two_factor
from worrybox.config import Paths
from worrybox.new_school import init_school
from worrybox.school import open_school, pupil_keys
from worrybox.staff import create_staff


@pytest.fixture(scope="session", autouse=True)
def argon2_remembered():
    """Remember each Argon2 answer within this run: every test's school is a copy of one template, so the same
    password meets the same salt again and again. The first of each is computed for real, with the school's real
    parameters; the same inputs always give the same answer, so only the waiting is saved (about half the run).
    Servers that tests start in their own processes compute every hash."""
    derive, verify = opening._derive, PasswordHasher.verify
    derived, verified = {}, {}

    def remembered_derive(*args):
        if args not in derived:
            derived[args] = derive(*args)
        return derived[args]

    def remembered_verify(hasher, hash, password):
        key = (hash, password)
        if key not in verified:
            try:
                verified[key] = (verify(hasher, hash, password), None)
            except Exception as problem:  # a wrong password is an answer too: raise it again each time
                verified[key] = (None, problem)
        answer, problem = verified[key]
        if problem is not None:
            raise problem.with_traceback(None)
        return answer

    opening._derive, PasswordHasher.verify = remembered_derive, remembered_verify
    yield
    opening._derive, PasswordHasher.verify = derive, verify


@pytest.fixture(scope="session")
def school_template(tmp_path_factory):
    """Set up one school per test run (key derivation is slow on purpose); tests get copies."""
    data_dir = tmp_path_factory.mktemp("template") / "school"
    recovery_code = init_school(Paths(data_dir), "Hillside Primary", DSL_EMAIL, "Dana Lewis", DSL_PASSWORD)
    db = open_school(Paths(data_dir))
    # Added by the DSL (as `worrybox add-staff --by` does), so both teachers are certified and receive worries.
    dsl_id = db.execute("SELECT id FROM staff WHERE email = ?", [DSL_EMAIL]).fetchone()[0]
    team = keys.team_keys_of(keys.unlock_keyring(db, dsl_id, DSL_PASSWORD), db)
    create_staff(db, TEACHER_EMAIL, "Tom Baker", "teacher", TEACHER_PASSWORD, class_name="4B",
                 team_keys=team, by_staff_id=dsl_id)
    create_staff(db, OTHER_TEACHER_EMAIL, "Priya Shah", "teacher", OTHER_TEACHER_PASSWORD, class_name="5C",
                 team_keys=team, by_staff_id=dsl_id)
    roster.import_roster(db, pupil_keys(Paths(data_dir)), PUPILS)
    # Two-factor sign-in is off here, as in the demo school, so tests of other things sign in with a password
    # alone; tests/test_two_factor.py switches it on in its own copies.
    two_factor.set_school_requirement(db, False)
    db.close()
    return data_dir, recovery_code, team


@pytest.fixture
def data_dir(school_template, tmp_path):
    target = tmp_path / "school"
    shutil.copytree(school_template[0], target)
    return target


@pytest.fixture
def recovery_code(school_template):
    return school_template[1]


@pytest.fixture
def team_keys(school_template):
    """The template school's team keys, as a signed-in DSL holds them: adding staff with them certifies them."""
    return school_template[2]


@pytest.fixture
def db(data_dir):
    connection = open_school(Paths(data_dir))
    yield connection
    connection.close()


@pytest.fixture
def today(db):
    """Today where the school is, as the apps count it (a run that crosses midnight asks again)."""
    return clock.school_now(db).date()


@pytest.fixture
def kiosk_app(data_dir):
    return create_kiosk({"DATA_DIR": data_dir, "TESTING": True})


@pytest.fixture
def console_app(data_dir):
    return create_console({"DATA_DIR": data_dir, "TESTING": True})


@pytest.fixture
def kiosk(kiosk_app):
    return kiosk_app.test_client()


@pytest.fixture
def console(console_app):
    return console_app.test_client()


@pytest.fixture
def child(kiosk):
    """A child at the kiosk's test client: .form() and .post(**fields)."""
    return KioskHelper(kiosk)


@pytest.fixture
def staff_member(console):
    """A member of staff at the console's test client: .login() (the DSL unless told) and .logout()."""
    return ConsoleHelper(console)


@pytest.fixture
def servers():
    """Start servers with start(command, env); every one is stopped when the test ends, pass or fail."""
    started = []

    def start(command, env=None):
        server = Server(command, env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
        print("--- output of %s ---\n%s" % (" ".join(server.process.args[1:3]), server.output))  # shown on failure
