"""Two-factor sign-in for the DSL and deputies: set-up with a QR code, codes that work once, backup codes."""

import re
from urllib.parse import urlsplit

import pytest

from helpers import (DSL_EMAIL, DSL_PASSWORD, TEACHER_EMAIL, TEACHER_PASSWORD, ConsoleHelper, csrf_token,
                     worrybox)
from worrybox import keys, staff as staff_accounts, two_factor
from worrybox.check import run_checks
from worrybox.config import Paths

COOKIE = "worrybox_console"
SECRET_TEXT = re.compile(r'<code class="secret">([A-Z2-7 ]+)</code>')


@pytest.fixture
def required(db):
    """The template school has two-factor sign-in off; these tests switch it on, as a real school has it."""
    two_factor.set_school_requirement(db, True)


def _path(response) -> str:
    return urlsplit(response.headers["Location"]).path


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def _post_code(client, path, code):
    token = csrf_token(client.get(path).get_data(as_text=True))
    return client.post(path, data={"code": code, "csrf_token": token})


class Phone:
    """An authenticator app: holds the secret from the set-up page and shows codes."""

    def __init__(self, secret: str):
        self.secret = secret

    def code(self, step_offset: int = 0) -> str:
        return two_factor.code_at(self.secret, two_factor.current_step() + step_offset)


def enrol(client) -> tuple[Phone, list[str], object]:
    """Sign in with the password, scan the set-up page, type a code; return the phone, backup codes, response."""
    response = ConsoleHelper(client).login()
    assert response.status_code == 303 and _path(response) == "/login/setup"
    page = client.get("/login/setup").get_data(as_text=True)
    phone = Phone(SECRET_TEXT.search(page).group(1).replace(" ", ""))
    finished = client.post("/login/setup", data={"code": phone.code(), "csrf_token": csrf_token(page)})
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", finished.get_data(as_text=True))
    return phone, codes, finished


@pytest.fixture
def enrolled(required, console_app):
    """The DSL has set up an authenticator app and signed out again; return their phone and backup codes."""
    client = console_app.test_client()
    phone, codes, _ = enrol(client)
    ConsoleHelper(client).logout()
    return phone, codes


def test_a_dsl_signing_in_for_the_first_time_sets_up_an_app_with_a_qr_code_and_the_key_in_text(
        required, console, db):
    response = ConsoleHelper(console).login()
    assert response.status_code == 303 and _path(response) == "/login/setup"
    assert not _signed_in(console), "a password alone must not sign a key holder in"
    page = console.get("/login/setup").get_data(as_text=True)
    assert re.search(r'<img class="qr" src="data:image/svg\+xml', page)
    assert SECRET_TEXT.search(page), "the key is shown as text for typing in by hand"
    assert "<script" not in page


def test_setting_up_with_the_right_code_signs_in_and_shows_ten_backup_codes_once(required, console, db):
    phone, codes, finished = enrol(console)
    assert finished.status_code == 200
    assert len(codes) == 10 and len(set(codes)) == 10
    assert _signed_in(console)
    assert two_factor.is_enrolled(db, 1)
    assert finished.headers["Cache-Control"] == "no-store"
    events = [row[0] for row in db.execute("SELECT event FROM audit_log WHERE staff_id = 1 ORDER BY id")]
    assert events[-3:] == ["login_password_ok", "two_factor_enrolled", "login"]


def test_a_wrong_code_at_set_up_is_refused_and_nothing_is_stored(required, console, db):
    ConsoleHelper(console).login()
    response = _post_code(console, "/login/setup", "000000")
    assert response.status_code == 401 and "That code did not work" in response.get_data(as_text=True)
    assert not two_factor.is_enrolled(db, 1) and not _signed_in(console)


def test_the_secret_is_the_same_on_every_reload_of_the_set_up_page(required, console):
    ConsoleHelper(console).login()
    first = SECRET_TEXT.search(console.get("/login/setup").get_data(as_text=True)).group(1)
    assert SECRET_TEXT.search(console.get("/login/setup").get_data(as_text=True)).group(1) == first


def test_the_secret_is_never_in_the_database_or_its_wal_in_clear(enrolled, data_dir, db):
    phone, _ = enrolled
    wrapped = db.execute("SELECT totp_wrapped_secret FROM staff WHERE id = 1").fetchone()[0]
    assert wrapped and phone.secret.encode() not in wrapped
    for name in ("worrybox.db", "worrybox.db-wal"):
        path = data_dir / name
        if path.exists():
            content = path.read_bytes()
            assert phone.secret.encode() not in content and phone.secret.lower().encode() not in content


def test_it_opens_only_with_the_members_own_password(enrolled, db):
    phone, _ = enrolled
    keyring = keys.unlock_keyring(db, 1, DSL_PASSWORD)
    assert two_factor.open_secret(db, 1, keyring) == phone.secret


def test_after_set_up_the_password_leads_to_the_code_page_and_a_current_code_signs_in(enrolled, console, db):
    phone, _ = enrolled
    response = ConsoleHelper(console).login()
    assert response.status_code == 303 and _path(response) == "/login/code"
    assert not _signed_in(console)
    done = _post_code(console, "/login/code", phone.code(1))
    assert done.status_code == 303 and _path(done) == "/"
    assert _signed_in(console)


def test_a_code_works_only_once(enrolled, console_app, db):
    phone, _ = enrolled
    code = phone.code(1)
    first = console_app.test_client()
    ConsoleHelper(first).login()
    assert _post_code(first, "/login/code", code).status_code == 303
    second = console_app.test_client()
    ConsoleHelper(second).login()
    replay = _post_code(second, "/login/code", code)
    assert replay.status_code == 401 and not _signed_in(second)
    assert db.execute("SELECT detail FROM audit_log WHERE event = 'login_failed' ORDER BY id DESC").fetchone()[0] \
        == "wrong two-factor code"


def test_codes_one_step_either_side_of_now_are_accepted_and_two_steps_away_are_not():
    secret = two_factor.new_secret()
    now = 1_800_000_000.0
    step = two_factor.current_step(now)
    for offset in (-1, 0, 1):
        assert two_factor.matching_step(secret, two_factor.code_at(secret, step + offset), None, now) == step + offset
    for offset in (-2, 2):
        assert two_factor.matching_step(secret, two_factor.code_at(secret, step + offset), None, now) is None


def test_a_code_from_before_the_last_one_used_is_refused_even_inside_the_window():
    secret = two_factor.new_secret()
    now = 1_800_000_000.0
    step = two_factor.current_step(now)
    assert two_factor.matching_step(secret, two_factor.code_at(secret, step - 1), step, now) is None
    assert two_factor.matching_step(secret, two_factor.code_at(secret, step + 1), step, now) == step + 1


def test_a_backup_code_signs_in_once(enrolled, console_app, db):
    _, codes = enrolled
    first = console_app.test_client()
    ConsoleHelper(first).login()
    assert _post_code(first, "/login/code", codes[0].upper().replace("-", " ")).status_code == 303
    assert _signed_in(first)
    assert two_factor.backup_codes_left(db, 1) == 9
    again = console_app.test_client()
    ConsoleHelper(again).login()
    assert _post_code(again, "/login/code", codes[0]).status_code == 401
    assert not _signed_in(again)


def test_backup_codes_are_stored_only_as_keyed_hashes(enrolled, db):
    _, codes = enrolled
    stored = [row[0] for row in db.execute("SELECT code_hash FROM staff_backup_codes")]
    assert len(stored) == 10
    for code in codes:
        assert all(code not in value and code.replace("-", "") not in value for value in stored)


def test_five_wrong_codes_end_the_sign_in_and_make_that_computer_wait_like_wrong_passwords(enrolled, console, db):
    phone, _ = enrolled
    ConsoleHelper(console).login()
    for _ in range(staff_accounts.MAX_FAILURES - 1):
        assert _post_code(console, "/login/code", "123456").status_code == 401
    locked = _post_code(console, "/login/code", "123456")
    assert locked.status_code == 401 and "We could not sign you in" in locked.get_data(as_text=True)
    # The half-finished sign-in is gone, and this computer must wait before the password is even checked.
    assert console.get("/login/code").status_code == 302
    assert ConsoleHelper(console).login().status_code == 429
    assert not _signed_in(console)


def test_the_session_id_is_new_once_the_code_is_given(enrolled, console_app, console, db):
    phone, _ = enrolled
    console.get("/login")
    before = console.get_cookie(COOKIE).value
    ConsoleHelper(console).login()
    half_way = console.get_cookie(COOKIE).value
    _post_code(console, "/login/code", phone.code(1))
    after = console.get_cookie(COOKIE).value
    assert len({before, half_way, after}) == 3
    serializer = console_app.session_interface.get_signing_serializer(console_app)
    assert "token" not in serializer.loads(half_way), "no session before the second factor"
    # The cookie from half-way through cannot be finished by someone else later.
    stolen = console_app.test_client()
    stolen.set_cookie(COOKIE, half_way)
    assert stolen.get("/login/code").status_code == 302


def test_a_half_finished_sign_in_expires_after_five_minutes(enrolled, console_app, console):
    ConsoleHelper(console).login()
    for pending in console_app.extensions["worrybox_pending_sign_ins"].values():
        pending.started -= 301
    response = console.get("/login/code")
    assert response.status_code == 302 and _path(response) == "/login"
    assert console_app.extensions["worrybox_pending_sign_ins"] == {}


def test_a_teacher_holds_no_team_key_and_signs_in_with_a_password(required, console):
    response = ConsoleHelper(console).login(TEACHER_EMAIL, TEACHER_PASSWORD)
    assert response.status_code == 303 and _path(response) == "/"
    assert _signed_in(console)


def test_with_two_factor_off_a_dsl_who_set_it_up_is_still_asked(enrolled, console, db):
    two_factor.set_school_requirement(db, False)
    response = ConsoleHelper(console).login()
    assert _path(response) == "/login/code"


def test_the_code_pages_without_a_password_first_go_to_sign_in(required, console):
    for path in ("/login/code", "/login/setup"):
        assert console.get(path).status_code == 302
        assert _path(console.post(path, data={"code": "123456"})) == "/login"


@pytest.mark.slow
def test_the_reset_command_makes_them_set_up_again_and_is_audited(enrolled, data_dir, console, db):
    result = worrybox("two-factor", "reset", "--data-dir", data_dir, "--email", DSL_EMAIL)
    assert result.returncode == 0, result.stderr
    assert not two_factor.is_enrolled(db, 1) and two_factor.backup_codes_left(db, 1) == 0
    assert db.execute("SELECT count(*) FROM audit_log WHERE event = 'two_factor_reset'").fetchone()[0] == 1
    assert _path(ConsoleHelper(console).login()) == "/login/setup"


@pytest.mark.slow
def test_worrybox_check_flags_two_factor_off_and_a_key_holder_not_set_up(data_dir, db):
    def problems():
        return " ".join(f.what for f in run_checks(Paths(data_dir)) if not f.ok)
    assert "Two-factor sign-in is switched off" in problems()
    result = worrybox("two-factor", "require", "--data-dir", data_dir)
    assert result.returncode == 0, result.stderr
    assert "Two-factor sign-in is switched off" not in problems()
    assert "%s (dsl) has not set up two-factor sign-in" % DSL_EMAIL in problems()

