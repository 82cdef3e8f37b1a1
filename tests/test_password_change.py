"""A member of staff changes their password: their key still opens, and every old session is refused."""

from urllib.parse import urlsplit

import pytest

from helpers import DSL_EMAIL, DSL_PASSWORD, ConsoleHelper, csrf_token
from worrybox import casework, keys, opening

COOKIE = "worrybox_console"
NEW_PASSWORD = "a brand new long password"


def _change(client, current=DSL_PASSWORD, new=NEW_PASSWORD, confirm=None):
    token = csrf_token(client.get("/password").get_data(as_text=True))
    return client.post("/password", data={"csrf_token": token, "current_password": current, "new_password": new,
                                          "confirm": new if confirm is None else confirm})


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def _replay(app, cookie_value):
    client = app.test_client()
    client.set_cookie(COOKIE, cookie_value)
    return client


def test_after_a_password_change_an_old_cookie_is_refused_and_this_browser_stays_signed_in(
        console_app, console, child, db):
    assert child.post(text="a worry to open afterwards", feeling="sad").status_code == 303
    ConsoleHelper(console).login()
    old_cookie = console.get_cookie(COOKIE).value
    elsewhere = console_app.test_client()
    ConsoleHelper(elsewhere).login()
    response = _change(console)
    assert response.status_code == 200 and "Your password is changed" in response.get_data(as_text=True)
    assert console.get_cookie(COOKIE).value != old_cookie, "a new session id"
    assert _signed_in(console) and console.get("/worries/1").status_code == 200
    assert not _signed_in(_replay(console_app, old_cookie)), "the cookie from before the change is refused"
    assert not _signed_in(elsewhere), "every other browser signed in as them is signed out"
    assert db.execute("SELECT count(*) FROM audit_log WHERE event = 'password_changed'").fetchone()[0] == 1


def test_the_new_password_signs_in_and_unlocks_the_same_keys_and_the_old_one_does_not(console_app, console, db):
    before = keys.unlock_keyring(db, 1, DSL_PASSWORD)
    ConsoleHelper(console).login()
    _change(console)
    ConsoleHelper(console).logout()
    assert ConsoleHelper(console_app.test_client()).login(DSL_EMAIL, DSL_PASSWORD).status_code == 401
    assert ConsoleHelper(console_app.test_client()).login(DSL_EMAIL, NEW_PASSWORD).status_code == 303
    assert keys.unlock_keyring(db, 1, NEW_PASSWORD).private_keys == before.private_keys
    with pytest.raises(opening.OpenError):
        keys.unlock_keyring(db, 1, DSL_PASSWORD)


@pytest.mark.parametrize("current, new, confirm, words", [
    ("not my password at all", NEW_PASSWORD, None, "That is not your current password"),
    (DSL_PASSWORD, "too short", None, "at least 12 characters"),
    (DSL_PASSWORD, NEW_PASSWORD, "something else entirely", "are not the same"),
], ids=["wrong current password", "too short", "not the same twice"])
def test_a_refused_change_says_why_and_changes_nothing(current, new, confirm, words, console, db):
    ConsoleHelper(console).login()
    stored = db.execute("SELECT password_hash, wrapped_private_key FROM staff WHERE id = 1").fetchone()
    response = _change(console, current, new, confirm)
    assert response.status_code == 422 and words in response.get_data(as_text=True)
    assert db.execute("SELECT password_hash, wrapped_private_key FROM staff WHERE id = 1").fetchone() == stored
    assert _signed_in(console)


def test_wrong_current_passwords_count_towards_the_lock_out(console, db):
    ConsoleHelper(console).login()
    for _ in range(5):
        _change(console, current="not my password at all")
    assert _change(console).status_code == 422, "locked: even the right current password is refused now"
    assert db.execute("SELECT count(*) FROM audit_log WHERE event = 'password_changed'").fetchone()[0] == 0


def test_the_password_page_needs_a_sign_in(console):
    response = console.get("/password")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def test_worries_and_notes_open_after_the_change(console, child, db):
    child.post(text="PASSWORD-CHANGE-CANARY", feeling="sad")
    ConsoleHelper(console).login()
    _change(console)
    keyring = keys.unlock_keyring(db, 1, NEW_PASSWORD)
    assert casework.read_worry(db, 1, keyring).text == "PASSWORD-CHANGE-CANARY"
