"""Staff sign-in and sessions in the staff console: guards, lock-out, session ids, sign-out, idle time, restarts."""

import hashlib
import logging
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from helpers import DSL_EMAIL, DSL_PASSWORD, TEACHER_EMAIL, TEACHER_PASSWORD, ConsoleHelper, KioskHelper, csrf_token
from kiosk import create_app as create_kiosk
from staff_console import create_app as create_console
from staff_console.permissions import MAY
from worrybox import keys
from worrybox import staff as staff_accounts
from worrybox.config import Paths, create_secrets
from worrybox.db import connect, migrate
from worrybox.school import APP_NAMES, open_school

WRONG_PASSWORD = "WRONG-PASSWORD-CANARY 71x"
UNKNOWN_EMAIL = "nobody.here@school.example"
COOKIE = "worrybox_console"
PUBLIC_ENDPOINTS = {"static", "auth.login", "auth.healthz"}
# Steps of signing in and out, which guard themselves: they need a half-finished sign-in or a session, not a role.
SIGN_IN_STEPS = {"auth.second_factor", "auth.enrol", "auth.logout"}
# HEAD and OPTIONS are answered by Flask for every rule; every other method a rule lists is walked.
AUTOMATIC_METHODS = {"HEAD", "OPTIONS"}


def _console_routes():
    """Every guarded (method, path, endpoint) of the console, read from its URL map, never listed by hand."""
    with tempfile.TemporaryDirectory() as tmp:
        # An empty school is enough to build the app and is quick: no staff_member, so no key derivation.
        paths = Paths(Path(tmp))
        create_secrets(paths, APP_NAMES)
        db = connect(paths.database)
        migrate(db)
        db.close()
        app = create_console({"DATA_DIR": tmp})
        adapter = app.url_map.bind("localhost")
        routes = []
        for rule in app.url_map.iter_rules():
            if rule.endpoint in PUBLIC_ENDPOINTS:
                continue
            path = adapter.build(rule.endpoint, {name: 1 for name in rule.arguments})
            for method in sorted(rule.methods - AUTOMATIC_METHODS):
                routes.append((method, path, rule.endpoint))
        return routes


CONSOLE_ROUTES = _console_routes()


def _path(location: str) -> str:
    return urlsplit(location).path


def _cookie(client) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def _session_token(app, client) -> str | None:
    """The session id inside the console's signed cookie."""
    value = _cookie(client)
    if value is None:
        return None
    return app.session_interface.get_signing_serializer(app).loads(value).get("token")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _signed_in(client) -> bool:
    response = client.get("/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and _path(response.headers["Location"]) == "/login"
    return False


def _client_with_cookie(app, value):
    client = app.test_client()
    client.set_cookie(COOKIE, value)
    return client


def _notice(html: str) -> str:
    """The error notice at the top of the sign-in form."""
    start = html.index('class="notice notice-error"')
    return html[start:html.index("</div>", start)]


def _ago(**delta) -> str:
    return (datetime.now(timezone.utc) - timedelta(**delta)).isoformat(timespec="microseconds")


# Logged out: every route is guarded.

def test_the_route_walk_covers_the_worry_queue_a_worry_and_sign_out():
    walked = {(method, endpoint) for method, _path_, endpoint in CONSOLE_ROUTES}
    assert {("GET", "triage.queue"), ("GET", "triage.worry"), ("POST", "triage.act_on_worry"),
            ("POST", "auth.logout")} <= walked


def _database_state(db):
    """Rows per table and every worry's status: a logged-out request must change none of it."""
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    counts = {table: db.execute('SELECT count(*) FROM "%s"' % table).fetchone()[0] for table in tables}
    return counts, db.execute("SELECT id, status FROM worries ORDER BY id").fetchall()


@pytest.fixture(scope="module")
def every_role(school_template, tmp_path_factory):
    """One school with a worry and a console client signed in for each role, shared by the route walk: a refused
    request changes nothing, so one school serves every route."""
    import shutil
    data_dir = tmp_path_factory.mktemp("every-role") / "school"
    shutil.copytree(school_template[0], data_dir)
    db = open_school(Paths(data_dir))
    team_keys = keys.team_keys_of(keys.unlock_keyring(db, 1, DSL_PASSWORD), db)
    accounts = {"dsl": (DSL_EMAIL, DSL_PASSWORD), "teacher": (TEACHER_EMAIL, TEACHER_PASSWORD)}
    for role in set(staff_accounts.ROLES) - set(accounts):
        email, password = "%s@school.example" % role, "%s password 123" % role
        staff_accounts.create_staff(db, email, role.title(), role, password,
                                    team_keys=team_keys if role in keys.KEY_HOLDING_ROLES else None)
        accounts[role] = (email, password)
    kiosk = KioskHelper(create_kiosk({"DATA_DIR": data_dir, "TESTING": True}).test_client())
    # Worry 1 exists, so a route that shows or changes a worry has something it could leak or change.
    assert kiosk.post(text="LOGGED-OUT-CANARY", feeling="sad").status_code == 303
    app = create_console({"DATA_DIR": data_dir, "TESTING": True})
    clients = {None: app.test_client()}
    for role, (email, password) in accounts.items():
        clients[role] = app.test_client()
        assert ConsoleHelper(clients[role]).login(email, password).status_code == 303, role
    yield app, clients, db
    db.close()


def test_every_console_route_is_guarded_by_the_permission_table(every_role):
    app = every_role[0]
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS | SIGN_IN_STEPS:
            continue
        action = getattr(app.view_functions[rule.endpoint], "permission", None)
        assert action in MAY, "%s is not guarded by an action in permissions.MAY" % rule.endpoint


@pytest.mark.parametrize("method, path, endpoint", CONSOLE_ROUTES,
                         ids=["%s %s (%s)" % route for route in CONSOLE_ROUTES])
def test_a_route_sends_the_signed_out_to_sign_in_and_refuses_other_roles_changing_nothing(
        method, path, endpoint, every_role):
    app, clients, db = every_role
    before = _database_state(db)
    # A POST carries a plausible form but no CSRF token. It is redirected, not refused with a 4xx: there is no
    # app-wide CSRF check, and each view's sign-in guard runs before the view reads its form, so an anonymous
    # POST never reaches the CSRF check at all. (auth.logout is not guarded; with no session it has nothing
    # to end and redirects to sign-in too.)
    data = {"status": "closed", "note": "anonymous note", "name": "anonymous"} if method == "POST" else None
    response = clients[None].open(path, method=method, data=data)
    assert response.status_code in (302, 303), "%s %s answered %d, not a redirect" % (
        method, path, response.status_code)
    assert _path(response.headers["Location"]) == "/login", "%s %s redirected elsewhere" % (method, path)
    assert "LOGGED-OUT-CANARY" not in response.get_data(as_text=True)
    assert _database_state(db) == before, "%s %s changed the database while logged out" % (method, path)
    # Every role the table does not allow is refused with the kind 403 page, whatever it posts.
    action = getattr(app.view_functions[endpoint], "permission", None)
    refused = [role for role in staff_accounts.ROLES if action in MAY and role not in MAY[action]]
    for role in refused:
        response = clients[role].open(path, method=method, data=data)
        assert response.status_code == 403, "%s %s answered %d to %s" % (method, path, response.status_code, role)
        assert "LOGGED-OUT-CANARY" not in response.get_data(as_text=True)
        assert _database_state(db) == before, "%s %s changed the database for %s" % (method, path, role)


# Wrong passwords and lock-out.

def test_wrong_password_is_refused_with_401_and_a_generic_message(staff_member, console):
    response = staff_member.login(password=WRONG_PASSWORD)
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "We could not sign you in with that email and password" in _notice(page)
    assert not _signed_in(console)


def test_unknown_email_gets_the_same_status_and_message_as_a_wrong_password(console_app):
    wrong_password = ConsoleHelper(console_app.test_client()).login(DSL_EMAIL, WRONG_PASSWORD)
    unknown_email = ConsoleHelper(console_app.test_client()).login(UNKNOWN_EMAIL, WRONG_PASSWORD)
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert _notice(wrong_password.get_data(as_text=True)) == _notice(unknown_email.get_data(as_text=True))
    for page in (wrong_password.get_data(as_text=True), unknown_email.get_data(as_text=True)):
        lowered = page.lower()
        assert "no account" not in lowered and "not found" not in lowered and "unknown" not in lowered


ATTACKER = {"REMOTE_ADDR": "10.66.6.6"}
DSL_LAPTOP = {"REMOTE_ADDR": "10.0.0.21"}


def _from(app, address):
    client = app.test_client()
    client.environ_base.update(address)
    return client


def test_wrong_passwords_make_the_next_try_from_that_computer_wait_longer_each_time(db):
    start = datetime.now(timezone.utc)
    for n in range(staff_accounts.FREE_FAILURES):
        assert staff_accounts.sign_in_wait(db, DSL_EMAIL, "10.0.0.5", now=start) == 0
        assert staff_accounts.sign_in(db, DSL_EMAIL, WRONG_PASSWORD, now=start, address="10.0.0.5") is None
    assert staff_accounts.sign_in_wait(db, DSL_EMAIL, "10.0.0.5", now=start) == 1
    audited = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    with pytest.raises(staff_accounts.SignInThrottled):
        staff_accounts.sign_in(db, DSL_EMAIL, DSL_PASSWORD, now=start, address="10.0.0.5")
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audited, "refused before any hashing"
    later = start + timedelta(seconds=1)
    assert staff_accounts.sign_in(db, DSL_EMAIL, WRONG_PASSWORD, now=later, address="10.0.0.5") is None
    assert staff_accounts.sign_in_wait(db, DSL_EMAIL, "10.0.0.5", now=later) == 2
    # Another computer is not held up at all, and the right password works there.
    assert staff_accounts.sign_in_wait(db, DSL_EMAIL, "10.0.0.21", now=later) == 0
    assert staff_accounts.sign_in(db, DSL_EMAIL, DSL_PASSWORD, now=later, address="10.0.0.21") is not None
    # Failures older than 15 minutes no longer count.
    assert staff_accounts.sign_in_wait(db, DSL_EMAIL, "10.0.0.5", now=later + timedelta(minutes=15, seconds=1)) == 0


def test_twenty_wrong_passwords_for_the_dsl_from_one_address_do_not_stop_the_dsl_signing_in_from_another(
        console_app, db):
    attacker = ConsoleHelper(_from(console_app, ATTACKER))
    responses = [attacker.login(password=WRONG_PASSWORD) for _ in range(20)]
    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {401, 429} and statuses.count(429) >= 10, statuses
    # Only the tries that were let through were checked (and counted); the rest were refused before any hashing.
    assert db.execute("SELECT count(*) FROM login_attempts").fetchone()[0] == statuses.count(401)
    refused = responses[statuses.index(429)]
    assert "Please wait" in refused.get_data(as_text=True) and int(refused.headers["Retry-After"]) >= 1
    dsl = _from(console_app, DSL_LAPTOP)
    assert ConsoleHelper(dsl).login().status_code == 303
    assert _signed_in(dsl)


def test_the_dsl_sees_recent_failed_sign_ins_on_their_account(console_app):
    first = ConsoleHelper(_from(console_app, DSL_LAPTOP))
    assert first.login().status_code == 303
    assert "failed sign-in" not in first.client.get("/").get_data(as_text=True)
    first.logout()
    attacker = ConsoleHelper(_from(console_app, ATTACKER))
    for _ in range(3):
        assert attacker.login(password=WRONG_PASSWORD).status_code == 401
    assert first.login().status_code == 303
    page = first.client.get("/").get_data(as_text=True)
    assert "there were 3 failed sign-ins" in " ".join(page.split())


def test_wrong_tries_count_whatever_the_case_of_the_email(staff_member, console):
    for email in ("DSL@school.example", "dsl@SCHOOL.example", " Dsl@School.Example"):
        assert staff_member.login(email, WRONG_PASSWORD).status_code == 401
    assert staff_member.login().status_code == 429
    assert not _signed_in(console)


def test_the_wait_is_counted_in_the_database_so_a_restarted_console_keeps_it(data_dir, staff_member, db):
    restarted = create_console({"DATA_DIR": data_dir, "TESTING": True}).test_client()
    for _ in range(staff_accounts.FREE_FAILURES + 2):
        staff_member.login(password=WRONG_PASSWORD)
    db.execute("UPDATE login_attempts SET at = ?", [datetime.now(timezone.utc).isoformat(timespec="microseconds")])
    assert ConsoleHelper(restarted).login().status_code == 429


def test_two_wrong_tries_do_not_hold_anyone_up(staff_member, console):
    for _ in range(staff_accounts.FREE_FAILURES - 1):
        assert staff_member.login(password=WRONG_PASSWORD).status_code == 401
    assert staff_member.login().status_code == 303
    assert _signed_in(console)


# The session id.

def test_the_session_id_changes_at_sign_in(console_app, staff_member, console, db):
    console.get("/login")
    before = _cookie(console)
    assert before is not None, "the sign-in page should set a cookie (it holds the CSRF secret)"
    assert _session_token(console_app, console) is None
    assert staff_member.login().status_code == 303
    after = _cookie(console)
    token = _session_token(console_app, console)
    assert after != before and token
    # The database keeps only a hash of the id, so a copy of it cannot be replayed as a cookie.
    stored = [row[0] for row in db.execute("SELECT session_hash FROM staff_sessions")]
    assert stored == [_token_hash(token)] and token not in stored
    # The cookie from before sign-in is still worth nothing.
    assert not _signed_in(_client_with_cookie(console_app, before))
    assert _signed_in(_client_with_cookie(console_app, after))


def test_signing_in_twice_gives_two_different_session_ids(console_app, staff_member, console, db):
    staff_member.login()
    first = _session_token(console_app, console)
    staff_member.logout()
    staff_member.login()
    second = _session_token(console_app, console)
    other_browser = console_app.test_client()
    ConsoleHelper(other_browser).login()
    third = _session_token(console_app, other_browser)
    assert len({first, second, third}) == 3
    stored = {row[0] for row in db.execute("SELECT session_hash FROM staff_sessions")}
    assert stored == {_token_hash(second), _token_hash(third)}


# Signing out.

def test_after_sign_out_the_old_cookie_is_sent_to_sign_in(console_app, staff_member, console, db):
    staff_member.login()
    old_cookie = _cookie(console)
    token = _session_token(console_app, console)
    response = staff_member.logout()
    assert response.status_code == 303 and _path(response.headers["Location"]) == "/login"
    replay = _client_with_cookie(console_app, old_cookie)
    response = replay.get("/")
    assert response.status_code == 302 and _path(response.headers["Location"]) == "/login"
    # Ended on the server, not only forgotten by the browser.
    assert db.execute("SELECT count(*) FROM staff_sessions WHERE session_hash = ?",
                      [_token_hash(token)]).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM audit_log WHERE event = 'logout'").fetchone()[0] == 1


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["no CSRF token", "forged CSRF token"])
def test_sign_out_without_a_valid_csrf_token_leaves_you_signed_in(token, staff_member, console, db):
    staff_member.login()
    response = console.post("/logout", data={} if token is None else {"csrf_token": token})
    assert response.status_code == 400
    assert "you are still signed in" in response.get_data(as_text=True)
    assert _signed_in(console)
    assert db.execute("SELECT count(*) FROM staff_sessions").fetchone()[0] == 1


# Idle and long sessions.

def test_a_session_idle_for_more_than_30_minutes_is_signed_out(console_app, staff_member, console, db):
    staff_member.login()
    db.execute("UPDATE staff_sessions SET last_seen_at = ?", [_ago(minutes=31)])
    response = console.get("/")
    assert response.status_code == 302 and _path(response.headers["Location"]) == "/login"
    assert db.execute("SELECT count(*) FROM staff_sessions").fetchone()[0] == 0
    assert console_app.extensions["worrybox_keyrings"] == {}, "the unlocked keys must be dropped too"


def test_a_session_idle_for_29_minutes_is_still_signed_in(staff_member, console, db):
    staff_member.login()
    db.execute("UPDATE staff_sessions SET last_seen_at = ?", [_ago(minutes=29)])
    assert _signed_in(console)


def test_a_session_older_than_12_hours_is_signed_out_even_when_in_use(staff_member, console, db):
    staff_member.login()
    db.execute("UPDATE staff_sessions SET created_at = ?", [_ago(hours=12, minutes=1)])
    assert not _signed_in(console)


# Restarts and the other app's cookie.

def test_a_restarted_console_sends_an_old_session_to_sign_in_and_ends_it(data_dir, console_app, staff_member,
                                                                          console, db):
    staff_member.login()
    cookie = _cookie(console)
    assert _signed_in(_client_with_cookie(console_app, cookie)), "control: the cookie works in its own process"
    restarted = create_console({"DATA_DIR": data_dir, "TESTING": True})
    response = _client_with_cookie(restarted, cookie).get("/")
    # The cookie is genuine and the session row was alive, but the unlocked keys died with the old process.
    assert response.status_code == 302 and _path(response.headers["Location"]) == "/login"
    assert db.execute("SELECT count(*) FROM staff_sessions").fetchone()[0] == 0


def test_kiosk_and_console_use_different_cookie_names(kiosk, console):
    kiosk.get("/worry")
    console.get("/login")
    assert kiosk.get_cookie("worrybox_kiosk") and kiosk.get_cookie(COOKIE) is None
    assert console.get_cookie(COOKIE) and console.get_cookie("worrybox_kiosk") is None


def test_the_console_cookie_is_hidden_from_scripts_and_other_sites(console_app):
    set_cookie = console_app.test_client().get("/login").headers["Set-Cookie"]
    assert set_cookie.startswith(COOKIE + "=")
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie


def test_a_kiosk_cookie_is_not_a_console_sign_in(kiosk_app, kiosk, console_app, staff_member, console):
    kiosk.get("/worry")
    assert not _signed_in(_client_with_cookie(console_app, kiosk.get_cookie("worrybox_kiosk").value))
    # Even a kiosk-signed cookie carrying a live session id is refused: each app signs with its own secret.
    staff_member.login()
    token = _session_token(console_app, console)
    kiosk_signed = kiosk_app.session_interface.get_signing_serializer(kiosk_app).dumps({"token": token})
    assert not _signed_in(_client_with_cookie(console_app, kiosk_signed))
    console_signed = console_app.session_interface.get_signing_serializer(console_app).dumps({"token": token})
    assert _signed_in(_client_with_cookie(console_app, console_signed)), "control: the console's own signature works"


# The audit log.

def test_every_sign_in_attempt_is_audited_and_no_password_is_kept(console_app, data_dir, db, caplog):
    caplog.set_level(logging.DEBUG)
    first = db.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
    dsl_id = db.execute("SELECT id FROM staff WHERE email = ?", [DSL_EMAIL]).fetchone()[0]
    assert ConsoleHelper(console_app.test_client()).login(DSL_EMAIL, WRONG_PASSWORD).status_code == 401
    assert ConsoleHelper(console_app.test_client()).login(UNKNOWN_EMAIL, WRONG_PASSWORD).status_code == 401
    assert ConsoleHelper(console_app.test_client()).login(DSL_EMAIL, DSL_PASSWORD).status_code == 303
    rows = db.execute("SELECT event, staff_id, detail FROM audit_log WHERE id > ? ORDER BY id", [first]).fetchall()
    assert rows == [("login_failed", dsl_id, None), ("login_failed", None, "unknown email"), ("login", dsl_id, None)]
    for row in db.execute("SELECT * FROM audit_log"):
        for value in row:
            assert WRONG_PASSWORD not in str(value) and DSL_PASSWORD not in str(value)
    for record in caplog.records:
        assert WRONG_PASSWORD not in record.getMessage() and DSL_PASSWORD not in record.getMessage()
    for name in ("worrybox.db", "worrybox.db-wal"):
        file = data_dir / name
        if file.exists():
            content = file.read_bytes()
            assert WRONG_PASSWORD.encode() not in content and DSL_PASSWORD.encode() not in content


def test_the_sign_in_page_never_echoes_the_password(staff_member):
    page = staff_member.login(password=WRONG_PASSWORD).get_data(as_text=True)
    assert WRONG_PASSWORD not in page
    assert 'value="%s"' % DSL_EMAIL in page, "the email is kept so only the password needs typing again"


def test_a_signed_in_page_offers_sign_out_with_a_csrf_token(staff_member, console):
    staff_member.login()
    page = console.get("/").get_data(as_text=True)
    assert 'action="/logout"' in page and csrf_token(page)
