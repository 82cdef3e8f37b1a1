"""Hostile input to every form of both apps: a kind 4xx page, never a 500, a traceback or a file's content."""

import json
import re
from dataclasses import dataclass
from io import BytesIO
from typing import Callable

import pytest
from itsdangerous.timed import TimestampSigner

from helpers import DSL_EMAIL, DSL_PASSWORD, KioskHelper, csrf_token, hidden_value
from worrybox import roster
from worrybox.config import Paths
from worrybox.school import pupil_keys
from worrybox_web import MAX_REQUEST_BYTES

KIOSK_TEXT = "KEEP-MY-WORDS the big boys took my ball"
NOTE_TEXT = "KEEP-MY-NOTE spoke to the child at break"
TOO_BIG = "x" * (MAX_REQUEST_BYTES + 1)
TOO_LONG_TEXT = KIOSK_TEXT + " " + "a" * 4000
TOO_LONG_NOTE = NOTE_TEXT + " " + "a" * 4000
SCRIPT = '<script>alert("hi")</script>'
# What would show that a path trick reached a file: /etc/passwd, the database, the project's own files.
FILE_CONTENT_MARKERS = ("root:x:0:0", "SQLite format 3", "[build-system]", "DATA_DIR_ENV", "import ")
KIND_405 = "That did not work"
KIND_413 = "That was too big to send"
KIND_415 = "Something in that did not look right"


@dataclass
class OpenForm:
    """A form as its user has it on screen: the client, where it posts, its fields, and what a post would change."""

    client: object
    path: str
    fields: dict
    changes: Callable[[], object]


def _kiosk_form(request) -> OpenForm:
    child, db = request.getfixturevalue("child"), request.getfixturevalue("db")
    fields = dict(child.form(), feeling="sad", text=KIOSK_TEXT)
    return OpenForm(child.client, "/worry", fields, lambda: db.execute("SELECT count(*) FROM worries").fetchone())


def _login_form(request) -> OpenForm:
    console, db = request.getfixturevalue("console"), request.getfixturevalue("db")
    token = csrf_token(console.get("/login").get_data(as_text=True))
    # The right password: whatever is refused below is refused for the hostile part alone.
    fields = {"csrf_token": token, "email": DSL_EMAIL, "password": DSL_PASSWORD}
    return OpenForm(console, "/login", fields, lambda: db.execute("SELECT count(*) FROM staff_sessions").fetchone())


def _worry_form(request) -> OpenForm:
    worry_id = request.getfixturevalue("dsl_with_a_worry")
    console, db = request.getfixturevalue("console"), request.getfixturevalue("db")
    page = console.get("/worries/%d" % worry_id).get_data(as_text=True)
    fields = {"csrf_token": csrf_token(page), "status": "in_progress", "note": NOTE_TEXT}
    return OpenForm(console, "/worries/%d" % worry_id, fields, lambda: db.execute(
        "SELECT (SELECT status FROM worries WHERE id = ?), (SELECT count(*) FROM actions)", [worry_id]).fetchone())


def _logout_form(request) -> OpenForm:
    request.getfixturevalue("dsl_with_a_worry")
    console, db = request.getfixturevalue("console"), request.getfixturevalue("db")
    fields = {"csrf_token": csrf_token(console.get("/").get_data(as_text=True))}
    return OpenForm(console, "/logout", fields, lambda: db.execute("SELECT count(*) FROM staff_sessions").fetchone())


FORMS = {"kiosk worry": _kiosk_form, "console login": _login_form, "console worry": _worry_form,
         "console logout": _logout_form}


@pytest.fixture
def dsl_with_a_worry(child, staff_member):
    """A worry posted at the kiosk and the DSL signed in to the console; return the worry's id."""
    assert child.post(text="a worry to act on", feeling="sad").status_code == 303
    assert staff_member.login().status_code == 303
    return 1


def assert_kind_refusal(response, status, words):
    """A person sees the given status and words on one of our pages, and nothing of the machinery."""
    body = response.get_data(as_text=True)
    assert response.status_code == status, "expected %d, got %d: %s" % (status, response.status_code, body[:300])
    assert response.status_code < 500
    assert "Traceback" not in body and "Werkzeug" not in body and "Exception" not in body
    assert "· Worry Box</title>" in body, "not one of our pages"
    assert words in body, "the page does not say %r" % words
    return body


def _textarea(body: str, name: str) -> str:
    # A worry's words are in their box on the words step, and carried in a hidden field on every other step.
    match = (re.search(r'<textarea[^>]*name="%s"[^>]*>(.*?)</textarea>' % name, body, re.S)
             or re.search(r'<input type="hidden" name="%s" value="([^"]*)"' % name, body))
    assert match, "the page has no %s box" % name
    return match.group(1)


def _form(**changes):
    """Post the form's fields with some changed (None removes a field; a function is asked for the value)."""
    def build(fields, request):
        data = {name: value(request) if callable(value) else value
                for name, value in {**fields, **changes}.items() if value is not None}
        return {"method": "POST", "data": data}
    return build


def _token_from(app_name):
    """A genuine CSRF token, signed by the named app for a session of its own."""
    def token(request):
        if app_name == "console":
            page = request.getfixturevalue("console_app").test_client().get("/login").get_data(as_text=True)
            return csrf_token(page)
        return KioskHelper(request.getfixturevalue("kiosk_app").test_client()).form()["csrf_token"]
    return token


def _raw(**changes):
    """Post the fields as raw bytes, bytes values left exactly as given (not valid UTF-8, say)."""
    def build(fields, request):
        parts = []
        for name, value in {**fields, **changes}.items():
            value = value if isinstance(value, bytes) else value.encode()
            parts.append(name.encode() + b"=" + value)
        return {"method": "POST", "data": b"&".join(parts), "content_type": "application/x-www-form-urlencoded"}
    return build


def _json(body=None):
    """Post JSON where a form is expected: the form's own fields, CSRF token included, or any JSON value."""
    def build(fields, request):
        return {"method": "POST", "data": json.dumps(fields if body is None else body),
                "content_type": "application/json"}
    return build


def _upload(field):
    def build(fields, request):
        return {"method": "POST", "content_type": "multipart/form-data",
                "data": {**fields, field: (BytesIO(b"not text"), "worry.txt")}}
    return build


def _method(name):
    return lambda fields, request: {"method": name}


@dataclass
class Case:
    id: str
    form: str
    build: Callable
    status: int
    words: str
    keeps: tuple[str, str] | None = None  # (field, words) still in the form, so nothing typed is lost


def _cases():
    cases = []
    still_here = {"kiosk worry": "Your worry is still here", "console login": "The sign-in page had expired",
                  "console worry": "Your note is still here", "console logout": "you are still signed in"}
    # When the body is not UTF-8, Werkzeug drops the whole form (CSRF token and typed words with it).
    form_dropped = {**still_here, "kiosk worry": "please press “Send my worry” again",
                    "console worry": "press Save again"}
    typed = {"kiosk worry": ("text", KIOSK_TEXT), "console worry": ("note", NOTE_TEXT)}
    for form in FORMS:
        cases += [
            Case("oversize body", form, _form(extra=TOO_BIG), 413, KIND_413),
            Case("JSON body", form, _json(), 415, KIND_415),
            Case("JSON list body", form, _json([1, 2]), 415, KIND_415),
            Case("JSON number body", form, _json(5), 415, KIND_415),
            Case("file upload", form, _upload("text" if form == "kiosk worry" else "note"), 415, KIND_415),
            Case("PUT", form, _method("PUT"), 405, KIND_405),
            Case("DELETE", form, _method("DELETE"), 405, KIND_405),
            Case("missing CSRF token", form, _form(csrf_token=None), 400, still_here[form], typed.get(form)),
            Case("forged CSRF token", form, _form(csrf_token="IjEyMyI.forged.token"), 400, still_here[form],
                 typed.get(form)),
            Case("NUL in CSRF token", form, _form(csrf_token="\x00"), 400, still_here[form], typed.get(form)),
            Case("invalid UTF-8 bytes", form, _raw(extra=b"\xff\xfe\xc3"), 400, form_dropped[form]),
        ]
    unreadable = "Some of those letters could not be read"
    cases += [
        Case("text over 4000 letters", "kiosk worry", _form(text=TOO_LONG_TEXT), 422, "That is a lot of words",
             keeps=("text", KIOSK_TEXT)),
        Case("text over 4000 letters with a script tag", "kiosk worry", _form(text=SCRIPT + TOO_LONG_TEXT), 422,
             "That is a lot of words", keeps=("text", "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt;" + KIOSK_TEXT)),
        Case("invalid UTF-8 in the text", "kiosk worry", _raw(text=KIOSK_TEXT.encode() + b"\xff\xfe"), 400,
             "please press “Send my worry” again"),
        Case("NUL in the text", "kiosk worry", _form(text=KIOSK_TEXT + "\x00"), 422, unreadable),
        Case("control character in the text", "kiosk worry", _form(text=KIOSK_TEXT + "\x1b[2J"), 422, unreadable),
        Case("NUL in the name", "kiosk worry", _form(pupil="P001\x00", **{"class": "4B"}), 422,
             "could not find that name", keeps=("text", KIOSK_TEXT)),
        Case("NUL in the submission id", "kiosk worry", _form(submission_id="a" * 20 + "\x00"), 422,
             "Please press “Send my worry” again", keeps=("text", KIOSK_TEXT)),
        Case("path in the submission id", "kiosk worry", _form(submission_id="../../etc/passwd"), 422,
             "Please press “Send my worry” again", keeps=("text", KIOSK_TEXT)),
        Case("token from the console", "kiosk worry", _form(csrf_token=_token_from("console")), 400,
             "Your worry is still here", keeps=("text", KIOSK_TEXT)),
        Case("email over 254 letters", "console login", _form(email="a" * 250 + DSL_EMAIL), 422,
             "cannot be longer than 254"),
        Case("password over 1024 letters", "console login", _form(password="p" * 1025), 422,
             "cannot be longer than 1024"),
        Case("NUL in the email", "console login", _form(email=DSL_EMAIL + "\x00"), 401, "We could not sign you in"),
        Case("NUL in the password", "console login", _form(password=DSL_PASSWORD + "\x00"), 401,
             "We could not sign you in"),
        Case("script tag in the email", "console login", _form(email=SCRIPT + "@school.example"), 401,
             "We could not sign you in"),
        Case("invalid UTF-8 in the password", "console login", _raw(password=DSL_PASSWORD.encode() + b"\xff"), 400,
             "The sign-in page had expired"),
        Case("token from the kiosk", "console login", _form(csrf_token=_token_from("kiosk")), 400,
             "The sign-in page had expired"),
        Case("note over 4000 letters", "console worry", _form(note=TOO_LONG_NOTE), 422,
             "cannot be longer than 4000", keeps=("note", NOTE_TEXT)),
        Case("NUL in the note", "console worry", _form(note=NOTE_TEXT + "\x00"), 422, unreadable),
        Case("status=bogus", "console worry", _form(status="bogus"), 422, "Not a valid choice",
             keeps=("note", NOTE_TEXT)),
        Case("no status", "console worry", _form(status=None), 422, "Not a valid choice", keeps=("note", NOTE_TEXT)),
    ]
    for field in ("feeling", "topic", "place", "talk_to"):
        cases.append(Case("%s=bogus" % field, "kiosk worry", _form(**{field: "bogus"}), 422, "Not a valid choice",
                          keeps=("text", KIOSK_TEXT)))
    return cases


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=["%s: %s" % (case.form, case.id) for case in CASES])
def test_hostile_input_gets_a_kind_refusal_and_changes_nothing(case, request):
    form = FORMS[case.form](request)
    before = form.changes()
    response = form.client.open(form.path, **case.build(form.fields, request))
    body = assert_kind_refusal(response, case.status, case.words)
    assert form.changes() == before, "the refused request changed something"
    assert DSL_PASSWORD not in body, "a password must never be sent back"
    assert "<script>alert" not in body
    if case.keeps:
        field, words = case.keeps
        assert _textarea(body, field).strip().startswith(words), "what was typed in %s was lost" % field
    if case.status == 405:
        assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("form_name", FORMS)
def test_the_untouched_form_is_accepted(form_name, request):
    form = FORMS[form_name](request)
    before = form.changes()
    response = form.client.post(form.path, data=form.fields)
    assert response.status_code == 303
    assert form.changes() != before


def test_a_malformed_submission_id_is_replaced_so_send_again_works(child, db):
    response = child.post(text=KIOSK_TEXT, feeling="sad", submission_id="../../etc/passwd")
    body = assert_kind_refusal(response, 422, "Please press “Send my worry” again")
    fresh_id = hidden_value(body, "submission_id")
    assert fresh_id != "../../etc/passwd"
    again = child.client.post("/worry", data={"csrf_token": csrf_token(body), "submission_id": fresh_id,
                                              "text": KIOSK_TEXT, "feeling": "sad"})
    assert again.status_code == 303 and _worry_count(db) == 1


# Kiosk pages reached with a hostile query string.

@pytest.mark.parametrize("path", ["/worry", "/help"])
@pytest.mark.parametrize("class_name", [SCRIPT, '"><img src=x onerror=alert(1)>', "4B\x00", "\ufffd\ufffe", "x" * 5000],
                         ids=["script tag", "attribute break-out", "NUL", "not a character", "very long"])
def test_a_hostile_class_name_in_the_address_gets_a_kind_message_and_is_never_echoed(path, class_name, kiosk):
    response = kiosk.get(path, query_string={"class": class_name})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Traceback" not in body
    assert "We could not find that class" in body
    assert "<script>alert" not in body and "<img src=x" not in body


def test_a_class_name_with_html_on_the_roster_is_shown_escaped(kiosk, db, data_dir):
    hostile = '<b>4B</b>"\'&'
    roster.import_roster(db, pupil_keys(Paths(data_dir)), [roster.Pupil("P099", "Zed", "Zulu", hostile)])
    page = kiosk.get("/worry", query_string={"class": hostile}).get_data(as_text=True)
    assert "Zed Zulu" in page, "the class was found, so its pupils are listed"
    assert "<b>4B</b>" not in page
    assert "&lt;b&gt;4B&lt;/b&gt;&#34;&#39;&amp;" in page


# Script tags are words like any other: stored, and shown as text.

def test_a_worry_with_a_script_tag_is_posted_and_shown_as_text(child, staff_member, console):
    response = child.post(text=SCRIPT + " they said " + KIOSK_TEXT, feeling="scared")
    assert response.status_code == 303
    staff_member.login()
    page = console.get("/worries/1").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt; they said " + KIOSK_TEXT in page
    assert "<script>alert" not in page


def test_a_note_with_a_script_tag_is_saved_and_shown_as_text(dsl_with_a_worry, console):
    page = console.get("/worries/1").get_data(as_text=True)
    response = console.post("/worries/1", data={"csrf_token": csrf_token(page), "status": "seen",
                                                "note": SCRIPT + " " + NOTE_TEXT})
    assert response.status_code == 303
    page = console.get("/worries/1").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt; " + NOTE_TEXT in page
    assert "<script>alert" not in page


# Stale CSRF tokens: the kiosk recovers gracefully and nothing typed is lost.

@pytest.fixture
def eleven_hours_ago(monkeypatch):
    """Once called, CSRF tokens are made as if 11 hours ago (past the 10-hour limit) until monkeypatch.undo()."""
    def use():
        real = TimestampSigner.get_timestamp
        # Only Flask-WTF's tokens: a session cookie from the future would sign the user out.
        monkeypatch.setattr(TimestampSigner, "get_timestamp",
                            lambda self: real(self) - (11 * 3600 if self.salt == b"wtf-csrf-token" else 0))
    return use


def _worry_count(db):
    return db.execute("SELECT count(*) FROM worries").fetchone()[0]


@pytest.mark.parametrize("path, urgent", [("/worry", False), ("/help", True)], ids=["worry form", "help now form"])
def test_a_kiosk_form_left_open_past_the_time_limit_keeps_the_childs_words(path, urgent, child, db, eleven_hours_ago,
                                                                           monkeypatch):
    eleven_hours_ago()
    form = child.form(path)
    monkeypatch.undo()
    name = child.name("P001")  # the value of Amira's name tile
    data = dict(form, text=KIOSK_TEXT, place="playground", pupil=name, **{"class": "4B"})
    if urgent:
        data["urgent"] = "y"
    else:
        data["feeling"] = "scared"
    response = child.client.post("/worry", data=data)
    button = "Get help now" if urgent else "Send my worry"
    body = assert_kind_refusal(response, 400, "Your worry is still here: please press “%s” again" % button)
    assert _textarea(body, "text").strip() == KIOSK_TEXT
    if urgent:
        assert re.search(r'value="playground"\s+checked', body) and re.search(r'value="%s"\s+checked' % name, body)
    else:  # the last step, whose button the message names; every answer travels with it
        assert hidden_value(body, "place") == "playground" and hidden_value(body, "pupil") == name
        assert re.search(r'<button[^>]*>Send my worry</button>', body)
    assert hidden_value(body, "submission_id") == form["submission_id"], "a second press must not post twice"
    assert ("You need help now" in body) == urgent
    assert _worry_count(db) == 0
    # Pressing Send again on the page that came back works, once.
    again = {**data, "csrf_token": csrf_token(body)}
    assert child.client.post("/worry", data=again).status_code == 303
    assert child.client.post("/worry", data=again).status_code == 303
    assert db.execute("SELECT count(*), max(urgent) FROM worries").fetchone() == (1, int(urgent))


def test_a_kiosk_that_lost_its_cookie_keeps_the_childs_words_and_posts_on_the_second_press(kiosk_app, child, db):
    form = child.form()
    restarted_browser = kiosk_app.test_client()
    data = dict(form, text=KIOSK_TEXT, feeling="sad")
    response = restarted_browser.post("/worry", data=data)
    body = assert_kind_refusal(response, 400, "Your worry is still here")
    assert _textarea(body, "text").strip() == KIOSK_TEXT
    assert _worry_count(db) == 0
    assert restarted_browser.post("/worry", data={**data, "csrf_token": csrf_token(body)}).status_code == 303
    assert _worry_count(db) == 1


def test_a_token_from_another_tablet_is_refused_and_the_words_are_kept(kiosk_app, child, db):
    other_tablet = KioskHelper(kiosk_app.test_client()).form()
    response = child.post(text=KIOSK_TEXT, feeling="sad", csrf_token=other_tablet["csrf_token"])
    body = assert_kind_refusal(response, 400, "Your worry is still here")
    assert _textarea(body, "text").strip() == KIOSK_TEXT and _worry_count(db) == 0


def test_a_stale_sign_in_page_is_refused_kindly_and_signs_nobody_in(console, db, eleven_hours_ago, monkeypatch):
    eleven_hours_ago()
    token = csrf_token(console.get("/login").get_data(as_text=True))
    monkeypatch.undo()
    response = console.post("/login", data={"csrf_token": token, "email": DSL_EMAIL, "password": DSL_PASSWORD})
    assert_kind_refusal(response, 400, "The sign-in page had expired")
    assert db.execute("SELECT count(*) FROM staff_sessions").fetchone()[0] == 0
    # The page that came back has a fresh token.
    again = csrf_token(response.get_data(as_text=True))
    assert console.post("/login", data={"csrf_token": again, "email": DSL_EMAIL,
                                        "password": DSL_PASSWORD}).status_code == 303


def test_a_stale_worry_page_keeps_the_note_and_changes_nothing(dsl_with_a_worry, console, db, eleven_hours_ago,
                                                                monkeypatch):
    eleven_hours_ago()
    token = csrf_token(console.get("/worries/1").get_data(as_text=True))
    monkeypatch.undo()
    response = console.post("/worries/1", data={"csrf_token": token, "status": "closed", "note": NOTE_TEXT})
    body = assert_kind_refusal(response, 400, "Your note is still here: press Save again")
    assert _textarea(body, "note").strip() == NOTE_TEXT
    assert db.execute("SELECT status FROM worries WHERE id = 1").fetchone()[0] == "seen"


# Path tricks: no file is ever served from outside static/.

PATH_TRICKS = [
    "/worries/../../etc/passwd",
    "/static/../worrybox.db",
    "/static/../pyproject.toml",
    "/static/%2e%2e/pyproject.toml",
    "/static/..%2fpyproject.toml",
    "/static/..%5cpyproject.toml",
    "/static/%2e%2e%2fworrybox%2fconfig.py",
    "/static/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/static//etc/passwd",
    "/static/worrybox.css%00",
    "/static/%00../pyproject.toml",
    "/worries/1%00",
    "/worry%00",
    "/%00",
    "/worries/99999999999999999999",
]


@pytest.mark.parametrize("app_name", ["kiosk", "console"])
@pytest.mark.parametrize("path", PATH_TRICKS)
def test_a_path_trick_is_a_kind_404_with_no_file_content(path, app_name, request):
    if app_name == "console":
        request.getfixturevalue("staff_member").login()  # signed in: the most a path trick could reach
    client = request.getfixturevalue(app_name)
    response = client.get(path, follow_redirects=True)
    body = assert_kind_refusal(response, 404, "We could not find that page")
    for marker in FILE_CONTENT_MARKERS:
        assert marker not in body


def test_static_files_are_served_so_the_path_tricks_are_refused_for_the_trick(kiosk):
    response = kiosk.get("/static/worrybox.css")
    assert response.status_code == 200 and response.data


def test_a_worry_number_too_big_for_the_database_is_a_kind_refusal(dsl_with_a_worry, console):
    page = console.get("/").get_data(as_text=True)
    response = console.post("/worries/99999999999999999999", data={"csrf_token": csrf_token(page), "status": "seen"})
    # Werkzeug checks the method before the number's size, so this POST is a 405 rather than a 404.
    assert response.status_code in (404, 405) and "Traceback" not in response.get_data(as_text=True)
