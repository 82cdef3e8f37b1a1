"""Shared fixtures: a school set up once per run and copied for each test, apps, clients, helpers."""

import re
import shutil

import pytest

from servers import Server

from kiosk import create_app as create_kiosk
from staff_console import create_app as create_console
from worrybox import roster, two_factor
from worrybox.config import Paths
from worrybox.school import init_school, open_school, pupil_keys
from worrybox.staff import create_staff

DSL_EMAIL = "dsl@school.example"
DSL_PASSWORD = "correct horse battery"
TEACHER_EMAIL = "teacher.4b@school.example"
TEACHER_PASSWORD = "teacher password 4b"
OTHER_TEACHER_EMAIL = "teacher.5c@school.example"
OTHER_TEACHER_PASSWORD = "teacher password 5c"
PUPILS = [
    roster.Pupil("P001", "Amira", "Qureshi", "4B"),
    roster.Pupil("P002", "Tomasz", "Zielinski", "4B"),
    roster.Pupil("P003", "Harjit", "Sandhu", "5C"),
]

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@pytest.fixture(scope="session")
def school_template(tmp_path_factory):
    """Set up one school per test run (key derivation is slow on purpose); tests get copies."""
    data_dir = tmp_path_factory.mktemp("template") / "school"
    recovery_code = init_school(Paths(data_dir), "Hillside Primary", DSL_EMAIL, "Dana Lewis", DSL_PASSWORD)
    db = open_school(Paths(data_dir))
    create_staff(db, TEACHER_EMAIL, "Tom Baker", "teacher", TEACHER_PASSWORD, class_name="4B")
    create_staff(db, OTHER_TEACHER_EMAIL, "Priya Shah", "teacher", OTHER_TEACHER_PASSWORD, class_name="5C")
    roster.import_roster(db, pupil_keys(Paths(data_dir)), PUPILS)
    # Two-factor sign-in is off here, as in the demo school, so tests of other things sign in with a password
    # alone; tests/test_two_factor.py switches it on in its own copies.
    two_factor.set_school_requirement(db, False)
    db.close()
    return data_dir, recovery_code


@pytest.fixture
def data_dir(school_template, tmp_path):
    target = tmp_path / "school"
    shutil.copytree(school_template[0], target)
    return target


@pytest.fixture
def recovery_code(school_template):
    return school_template[1]


@pytest.fixture
def db(data_dir):
    connection = open_school(Paths(data_dir))
    yield connection
    connection.close()


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


def csrf_token(html: str) -> str:
    """Return the CSRF token a page's form carries."""
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def hidden_value(html: str, name: str) -> str:
    match = re.search(r'<input[^>]*name="%s"[^>]*value="([^"]*)"|<input[^>]*value="([^"]*)"[^>]*name="%s"'
                      % (name, name), html)
    assert match, "page has no field %s" % name
    return match.group(1) if match.group(1) is not None else match.group(2)


class KioskHelper:
    """Drive the kiosk as a child would: load the form, then post it."""

    def __init__(self, client):
        self.client = client

    def form(self, path="/worry"):
        page = self.client.get(path).get_data(as_text=True)
        return {"csrf_token": csrf_token(page), "submission_id": hidden_value(page, "submission_id")}

    def post(self, **fields):
        data = self.form()
        data.update(fields)
        return self.client.post("/worry", data=data)

    def name(self, pupil_id):
        """The value the kiosk's name tile carries for this pupil today (an opaque token, never the roster id)."""
        return name_token(self.client.application.config["WORRYBOX_PATHS"].data_dir, pupil_id)


def name_token(data_dir, pupil_id):
    """The value of a pupil's name tile at the kiosk, for the roster as imported now."""
    paths = Paths(data_dir)
    keys = pupil_keys(paths)
    db = open_school(paths)
    try:
        return roster.choice_tokens(db, keys, [keys.pupil_ref(pupil_id)])[keys.pupil_ref(pupil_id)]
    finally:
        db.close()


class ConsoleHelper:
    """Sign in and out of the console."""

    def __init__(self, client):
        self.client = client

    def login(self, email=DSL_EMAIL, password=DSL_PASSWORD):
        token = csrf_token(self.client.get("/login").get_data(as_text=True))
        return self.client.post("/login", data={"email": email, "password": password, "csrf_token": token})

    def logout(self):
        token = csrf_token(self.client.get("/").get_data(as_text=True))
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def child(kiosk):
    return KioskHelper(kiosk)


@pytest.fixture
def staff(console):
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
