"""The staff console side of peer mediators: rota, mediators, bookings, escalations, settings and the banner."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from helpers import PUPILS, TEACHER_EMAIL, TEACHER_PASSWORD, csrf_token
from worrybox import clock, escalation, mediators, worries
from worrybox.config import Paths
from worrybox.school import pupil_keys
from worrybox.staff import create_staff
from worrybox.recipients import worry_recipients

COORDINATOR_EMAIL = "pals.lead@school.example"
COORDINATOR_PASSWORD = "coordinator password 1"
CANARY = "CANARY-pals-4d1e my brother hurts me"
AMIRA, TOMASZ, HARJIT = PUPILS


@pytest.fixture
def refs(data_dir):
    """Pupil pseudonyms by roster id."""
    keys_ = pupil_keys(Paths(data_dir))
    return {pupil.pupil_id: keys_.pupil_ref(pupil.pupil_id) for pupil in PUPILS}


@pytest.fixture
def coordinator(db, staff_member):
    """A mediator coordinator (no team key) and a helper to sign them in."""
    create_staff(db, COORDINATOR_EMAIL, "Cara Jones", "coordinator", COORDINATOR_PASSWORD)
    return lambda: staff_member.login(COORDINATOR_EMAIL, COORDINATOR_PASSWORD)


@pytest.fixture
def pals(db, refs):
    """Amira and Tomasz are mediators."""
    for pupil_id in ("P001", "P002"):
        mediators.set_mediator(db, refs[pupil_id])
    return refs


def _html(response):
    return response.get_data(as_text=True)


def _post(console, page, action, fields, prefix=""):
    """Post a form found on a page, as a browser would, with the page's CSRF token."""
    token = csrf_token(_html(console.get(page)))
    return console.post(action, data={**fields, prefix + "csrf_token": token})


def _add_slot(console, **fields):
    data = {"weekday": "0", "start_time": "12:15", "end_time": "12:45", "place": "the Rainbow Room",
            "capacity": "3"}
    data.update(fields)
    return _post(console, "/rota", "/rota/slots", data)


def _school_today(db):
    return clock.school_time(db, datetime.now(timezone.utc)).date()


def _post_named_worries(db, pupil, ref, count, text="a worry"):
    for n in range(count):
        worries.post_worry(db, worry_recipients(db), worries.NewWorry(
            submission_id="pals-test-%s-%d-%s" % (pupil.pupil_id, n, text[:6].replace(" ", "")),
            feeling="sad", text=text, pupil=pupil, pupil_ref=ref))


def _audit(db, event):
    return [row[0] for row in db.execute("SELECT detail FROM audit_log WHERE event = ? ORDER BY id", [event])]


# Who may see what.

def test_a_coordinator_signing_in_lands_on_the_rota_and_the_queue_says_there_is_nothing_to_read(coordinator, console):
    response = coordinator()
    assert response.status_code == 303 and response.headers["Location"].endswith("/rota")
    queue = console.get("/")
    assert queue.status_code == 200 and "You have no worries to read" in _html(queue)


def test_the_dsl_still_lands_on_the_worry_queue(staff_member):
    response = staff_member.login()
    assert response.status_code == 303 and response.headers["Location"].endswith("/")


@pytest.mark.parametrize("path", ["/rota", "/mediators", "/bookings", "/escalations", "/settings"])
def test_a_class_teacher_is_refused_every_mediator_and_safeguarding_page(path, staff_member, console):
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    response = console.get(path)
    assert response.status_code == 403 and "That is not for this account" in _html(response)


@pytest.mark.parametrize("path", ["/escalations", "/settings"])
def test_the_coordinator_is_refused_escalations_and_settings(path, coordinator, console):
    coordinator()
    assert console.get(path).status_code == 403


def test_the_menu_offers_each_role_only_the_pages_it_may_use(coordinator, staff_member, console):
    coordinator()
    menu = _html(console.get("/rota"))
    assert 'href="/bookings"' in menu and 'href="/escalations"' not in menu and 'href="/settings"' not in menu
    staff_member.logout()
    staff_member.login()
    menu = _html(console.get("/"))
    assert all('href="%s"' % path in menu for path in ("/rota", "/mediators", "/bookings", "/escalations", "/settings"))
    staff_member.logout()
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    assert 'href="/rota"' not in _html(console.get("/"))


def test_the_coordinator_never_sees_worry_text_anywhere(child, coordinator, console, db, pals):
    assert child.post(text=CANARY, feeling="scared", pupil=child.name("P003"), **{"class": "5C"}).status_code == 303
    day = mediators.bookable_days(_school_today(db))[1]
    slot_id = mediators.add_slot(db, day.weekday(), "12:00", "12:30", "the Library", 2, [pals["P001"]])
    now_local = clock.school_time(db, datetime.now(timezone.utc))
    mediators.book(db, slot_id, day, pals["P003"], "family", now_local)
    coordinator()
    assert console.get("/worries/1").status_code == 403
    for path in ("/", "/rota", "/mediators", "/bookings"):
        page = _html(console.get(path))
        assert CANARY not in page and "my brother" not in page
    assert "Harjit (5C)" in _html(console.get("/bookings"))


# The rota.

def test_the_coordinator_adds_a_slot_with_mediators_and_sees_it_on_the_rota(coordinator, console, db, pals):
    coordinator()
    form = _html(console.get("/rota"))
    assert "Amira Q. (4B)" in form and "Tomasz Z. (4B)" in form
    response = _add_slot(console, weekday="2", place="the Rainbow Room", capacity="4",
                         mediators=[pals["P001"], pals["P002"]])
    assert response.status_code == 303 and response.headers["Location"].endswith("/rota")
    rota = _html(console.get("/rota"))
    assert "Wednesday" in rota and "12:15–12:45" in rota and "the Rainbow Room" in rota
    assert "Amira Q. (4B), Tomasz Z. (4B)" in rota
    assert [(s.weekday, s.capacity) for s in mediators.slots(db)] == [(2, 4)]
    assert _audit(db, "rota_changed") == ["slot 1 added: Wednesday 12:15-12:45, 4 places, 2 mediators"]


def test_changing_a_slots_mediators_shows_the_new_names(staff_member, console, db, pals):
    slot_id = mediators.add_slot(db, 0, "12:00", "12:30", "the Library", 2, [pals["P001"]])
    staff_member.login()
    response = _post(console, "/rota", "/rota/%d/mediators" % slot_id,
                     {"slot%d-mediators" % slot_id: pals["P002"]}, prefix="slot%d-" % slot_id)
    assert response.status_code == 303
    rota = _html(console.get("/rota"))
    row = rota[rota.index('id="slot-%d"' % slot_id):]
    assert "Tomasz Z. (4B)" in row[:row.index("</tr>")] and "Amira" not in row[:row.index("</tr>")]


def test_a_paused_slot_is_shown_paused_and_not_offered_until_it_is_resumed(coordinator, console, db, pals):
    day = mediators.bookable_days(_school_today(db))[1]
    slot_id = mediators.add_slot(db, day.weekday(), "12:00", "12:30", "the Library", 2, [pals["P001"]])
    coordinator()
    until = day + timedelta(days=7)
    prefix = "slot%d-" % slot_id
    response = _post(console, "/rota", "/rota/%d/pause" % slot_id, {prefix + "until": until.isoformat()}, prefix)
    assert response.status_code == 303
    assert "Paused until %s" % until.strftime("%a %-d %b %Y") in _html(console.get("/rota"))
    now_local = clock.school_time(db, datetime.now(timezone.utc))
    assert slot_id not in {offer.slot.id for offer in mediators.upcoming(db, now_local)}
    assert _post(console, "/rota", "/rota/%d/resume" % slot_id, {}).status_code == 303
    assert "Paused until" not in _html(console.get("/rota"))
    assert slot_id in {offer.slot.id for offer in mediators.upcoming(db, now_local)}
    assert _audit(db, "rota_changed") == ["slot %d paused until %s" % (slot_id, until.isoformat()),
                                          "slot %d resumed" % slot_id]


def test_a_pause_that_ended_yesterday_is_refused_kindly(staff_member, console, db, pals):
    slot_id = mediators.add_slot(db, 0, "12:00", "12:30", "the Library", 2, [])
    staff_member.login()
    yesterday = (_school_today(db) - timedelta(days=1)).isoformat()
    prefix = "slot%d-" % slot_id
    response = _post(console, "/rota", "/rota/%d/pause" % slot_id, {prefix + "until": yesterday}, prefix)
    assert response.status_code == 422
    page = _html(response)
    assert "That day has already gone" in page and 'value="%s"' % yesterday in page
    assert mediators.get_slot(db, slot_id).paused_until is None


def test_a_removed_slot_leaves_the_rota(staff_member, console, db):
    slot_id = mediators.add_slot(db, 4, "09:00", "09:20", "the Hall", 1, [])
    staff_member.login()
    assert "the Hall" in _html(console.get("/rota"))
    assert _post(console, "/rota", "/rota/%d/remove" % slot_id, {}).status_code == 303
    assert "the Hall" not in _html(console.get("/rota")) and mediators.slots(db) == []
    assert console.post("/rota/%d/remove" % slot_id, data={}).status_code == 404


def test_a_slot_that_ends_before_it_starts_is_refused_kindly_and_keeps_what_was_typed(coordinator, console, db, pals):
    coordinator()
    response = _add_slot(console, weekday="3", start_time="13:00", end_time="12:30", place="the Rainbow Room",
                         capacity="5", mediators=[pals["P002"]])
    assert response.status_code == 422
    page = _html(response)
    assert "The slot must end after it starts (it starts at 13:00)." in page
    assert 'value="the Rainbow Room"' in page and 'value="13:00"' in page and 'value="12:30"' in page
    assert re.search(r'<option selected value="3">Thursday|<option value="3" selected>Thursday', page)
    assert re.search(r'checked[^>]*value="%s"|value="%s"[^>]*checked' % (pals["P002"], pals["P002"]), page)
    assert mediators.slots(db) == []


@pytest.mark.parametrize("fields, message", [
    ({"capacity": "lots"}, "Enter a whole number from 1 to 20."),
    ({"capacity": "21"}, "Enter a whole number from 1 to 20."),
    ({"start_time": "25:00"}, "Write the time as hours and minutes, like 12:15."),
    ({"weekday": "6"}, "Choose a day from Monday to Friday."),
    ({"weekday": "x"}, "Choose a day from Monday to Friday."),
    ({"place": "x" * 81}, "up to 80 letters"),
    ({"place": "the Hall\x00"}, "Some of those letters could not be read"),
    ({"mediators": "not-a-mediator"}, "no longer on the list"),
], ids=["capacity in words", "capacity too big", "hour 25", "Sunday", "no such day", "long place", "NUL in place",
        "unknown mediator"])
def test_bad_slot_input_gets_a_kind_message_never_an_error_page(fields, message, staff_member, console, db):
    staff_member.login()
    response = _add_slot(console, **fields)
    assert response.status_code == 422 and message in _html(response)
    assert mediators.slots(db) == []


def test_a_time_typed_without_a_leading_zero_is_stored_as_hh_mm(staff_member, console, db):
    staff_member.login()
    assert _add_slot(console, start_time="9:05", end_time="9.35").status_code == 303
    assert [(s.start_time, s.end_time) for s in mediators.slots(db)] == [("09:05", "09:35")]


def test_an_expired_rota_page_keeps_what_was_typed(staff_member, console, db):
    staff_member.login()
    response = console.post("/rota/slots", data={"weekday": "1", "start_time": "10:00", "end_time": "10:30",
                                                 "place": "the Quiet Corner", "capacity": "2",
                                                 "csrf_token": "expired"})
    assert response.status_code == 400
    page = _html(response)
    assert "That page had expired" in page and 'value="the Quiet Corner"' in page
    assert mediators.slots(db) == []


# Mediators.

def test_the_coordinator_makes_a_pupil_a_mediator_by_class(coordinator, console, db, refs):
    coordinator()
    page = _html(console.get("/mediators", query_string={"class": "5C"}))
    assert "Harjit Sandhu" in page and "Amira" not in page
    response = _post(console, "/mediators?class=5C", "/mediators/add", {"class_name": "5C", "pupil": "P003"})
    assert response.status_code == 303
    page = _html(console.get("/mediators"))
    assert "Harjit Sandhu" in page and "No PIN yet" in page
    assert mediators.mediator_refs(db) == [refs["P003"]]
    assert _audit(db, "mediators_changed") == ["mediator added: %s" % refs["P003"]]


def test_a_pupil_from_another_class_cannot_be_slipped_in(staff_member, console, db):
    staff_member.login()
    response = _post(console, "/mediators?class=4B", "/mediators/add", {"class_name": "4B", "pupil": "P003"})
    assert response.status_code == 422 and "Choose a pupil from the list." in _html(response)
    assert mediators.mediator_refs(db) == []


@pytest.mark.parametrize("class_name", ['<script>alert("hi")</script>', "4B\x00", "x" * 5000])
def test_an_unknown_class_in_the_address_gets_a_kind_message_and_is_never_echoed(class_name, staff_member, console):
    staff_member.login()
    response = console.get("/mediators", query_string={"class": class_name})
    page = _html(response)
    assert response.status_code == 200 and "We could not find that class" in page
    assert "<script>alert" not in page and "x" * 5000 not in page


def test_a_new_pin_is_shown_once_and_opens_the_mediators_view(coordinator, console, db, pals, caplog):
    coordinator()
    response = _post(console, "/mediators", "/mediators/%s/pin" % pals["P001"], {})
    assert response.status_code == 200
    page = _html(response)
    assert "New PIN for Amira Qureshi" in page
    pin = re.search(r'class="pin-once"[^>]*>(\d{4})<', page).group(1)
    assert mediators.check_pin(db, pals["P001"], pin) is mediators.PinCheck.OK
    # Once: not on the mediators page afterwards, nowhere in the audit log or the app's log.
    again = _html(console.get("/mediators"))
    assert 'class="pin-once"' not in again and "Has a PIN" in again
    assert _audit(db, "mediators_changed") == ["new PIN given: %s" % pals["P001"]]
    assert all(pin not in str(row) for row in db.execute("SELECT * FROM audit_log"))
    assert all(pin not in record.getMessage() for record in caplog.records)


def test_a_stopped_mediator_cannot_sign_in_and_is_offered_a_restart(staff_member, console, db, pals):
    pin = mediators.new_pin(db, pals["P002"])
    staff_member.login()
    assert _post(console, "/mediators", "/mediators/%s/stop" % pals["P002"], {}).status_code == 303
    assert mediators.check_pin(db, pals["P002"], pin) is mediators.PinCheck.WRONG
    page = _html(console.get("/mediators"))
    assert "Stopped" in page and "/mediators/%s/restart" % pals["P002"] in page
    assert _post(console, "/mediators", "/mediators/%s/restart" % pals["P002"], {}).status_code == 303
    assert mediators.check_pin(db, pals["P002"], pin) is mediators.PinCheck.OK


def test_an_unknown_mediator_is_a_404(staff_member, console):
    staff_member.login()
    assert _post(console, "/mediators", "/mediators/not-a-ref/pin", {}).status_code == 404


def test_renaming_the_scheme_shows_the_new_name(coordinator, console, db):
    coordinator()
    response = _post(console, "/mediators", "/mediators/scheme", {"scheme_name": "  Playground   Pals "})
    assert response.status_code == 303
    assert "Mediators: Playground Pals" in _html(console.get("/mediators"))
    assert mediators.scheme_name(db) == "Playground Pals"
    assert _audit(db, "settings_changed") == ["scheme_name"]


# Bookings.

def test_bookings_show_the_childs_first_name_class_topic_and_how_it_went(coordinator, console, db, pals):
    day = mediators.bookable_days(_school_today(db))[1]
    slot_id = mediators.add_slot(db, day.weekday(), "12:00", "12:30", "the Library", 3, [pals["P001"]])
    now_local = clock.school_time(db, datetime.now(timezone.utc))
    came = mediators.book(db, slot_id, day, pals["P003"], "friends", now_local)
    mediators.book(db, slot_id, day, pals["P002"], None, now_local)
    after_the_chat = mediators.chat_start(db, day, "12:00") + timedelta(minutes=30)
    mediators.record_outcome(db, came, pals["P001"], attended=True, outcome="another_chat", at=after_the_chat)
    coordinator()
    page = _html(console.get("/bookings"))
    assert "Harjit (5C)" in page and "Tomasz (4B)" in page and "Sandhu" not in page
    assert "Friends" in page and "Came" in page and "Needs another chat" in page and "Not recorded yet" in page
    assert "the Library" in page and day.strftime("%a %-d %b %Y") in page


# Escalations.

def test_seven_named_worries_raise_an_escalation_naming_the_child_and_a_note_closes_it(staff_member, console, db, refs):
    _post_named_worries(db, AMIRA, refs["P001"], 7)
    staff_member.login()
    page = _html(console.get("/escalations"))
    assert "Repeat visits: Amira Qureshi, class 4B" in page and "7 in the window" in page
    escalation_id = escalation.open_escalations(db)[0]["id"]
    assert 'href="/worries/7"' in page
    response = _post(console, "/escalations", "/escalations/%d/acknowledge" % escalation_id,
                     {"esc%d-note" % escalation_id: "NOTE-CANARY spoke to mum, plan agreed"},
                     prefix="esc%d-" % escalation_id)
    assert response.status_code == 303
    page = _html(console.get("/escalations"))
    assert "No open escalations." in page
    assert "NOTE-CANARY spoke to mum, plan agreed" in page and "by Dana Lewis" in page
    sealed = db.execute("SELECT sealed_note FROM escalations WHERE id = ?", [escalation_id]).fetchone()[0]
    assert b"NOTE-CANARY" not in sealed


def test_acknowledging_without_a_note_is_refused_kindly(staff_member, console, db, refs):
    _post_named_worries(db, TOMASZ, refs["P002"], 7)
    escalation_id = escalation.open_escalations(db)[0]["id"]
    staff_member.login()
    response = _post(console, "/escalations", "/escalations/%d/acknowledge" % escalation_id,
                     {"esc%d-note" % escalation_id: "   "}, prefix="esc%d-" % escalation_id)
    assert response.status_code == 422 and "Write a short note" in _html(response)
    assert escalation.count_open(db) == 1


def test_acknowledging_twice_says_so_kindly(staff_member, console, db, refs):
    _post_named_worries(db, TOMASZ, refs["P002"], 7)
    escalation_id = escalation.open_escalations(db)[0]["id"]
    staff_member.login()
    fields, prefix = {"esc%d-note" % escalation_id: "done"}, "esc%d-" % escalation_id
    action = "/escalations/%d/acknowledge" % escalation_id
    assert _post(console, "/escalations", action, fields, prefix).status_code == 303
    again = _post(console, "/escalations", action, fields, prefix)
    assert again.status_code == 409 and "already acknowledged" in _html(again)


def test_the_banner_counts_open_escalations_and_unopened_urgent_worries(child, staff_member, console, db, refs):
    form = child.form("/help")
    assert child.client.post("/worry", data=dict(form, urgent="y", text="help")).status_code == 303
    staff_member.login()
    page = _html(console.get("/rota"))
    assert "1 open escalation" in page and "1 urgent worry not yet opened" in page
    console.get("/worries/1")
    page = _html(console.get("/rota"))
    # Opening the urgent worry acknowledged its escalation for everyone.
    assert "1 urgent worry not yet opened" not in page and "1 open escalation" not in page


def test_the_coordinator_sees_no_banner(child, coordinator, console):
    form = child.form("/help")
    child.client.post("/worry", data=dict(form, urgent="y", text="help"))
    coordinator()
    assert "open escalation" not in _html(console.get("/rota"))


# Settings.

def _settings(console, **changes):
    page = _html(console.get("/settings"))
    fields = {"visit_threshold": "6", "visit_window_days": "90", "smtp_host": "", "smtp_port": "",
              "smtp_security": "starttls", "smtp_username": "", "smtp_password": "", "smtp_sender": "",
              "alert_recipients": "", "csrf_token": csrf_token(page)}
    fields.update(changes)
    return console.post("/settings", data=fields)


def test_a_lower_threshold_takes_effect_at_the_next_visit(staff_member, console, db, refs):
    staff_member.login()
    assert _settings(console, visit_threshold="2").status_code == 303
    assert 'value="2"' in _html(console.get("/settings"))
    _post_named_worries(db, HARJIT, refs["P003"], 3)
    assert "Repeat visits: Harjit Sandhu, class 5C" in _html(console.get("/escalations"))
    assert escalation.open_escalations(db)[0]["visit_count"] == 3
    assert _audit(db, "settings_changed") == ["visit_threshold: '6' → '2'"]


@pytest.mark.parametrize("field, value, message", [
    ("visit_threshold", "0", "Enter a whole number from 1 to 50."),
    ("visit_threshold", "six", "Enter a whole number from 1 to 50."),
    ("visit_window_days", "400", "Enter a whole number from 7 to 365."),
    ("smtp_port", "70000", "Enter a whole number from 1 to 65535."),
    ("alert_recipients", "dsl@school.example, not an address", "does not look like an e-mail address"),
    ("smtp_host", "smtp server!", "Write the mail server"),
])
def test_bad_settings_are_refused_kindly_and_nothing_changes(field, value, message, staff_member, console, db):
    staff_member.login()
    response = _settings(console, **{field: value})
    assert response.status_code == 422 and message in _html(response)
    assert escalation.visit_rule(db) == (6, 90)


def test_the_smtp_password_is_never_shown_and_a_blank_keeps_it(staff_member, console, db, data_dir):
    secret = "SMTP-PASSWORD-CANARY-93"
    staff_member.login()
    response = _settings(console, smtp_host="smtp.school.example", smtp_username="alerts",
                         smtp_password=secret, alert_recipients="dsl@school.example, deputy@school.example")
    assert response.status_code == 303
    page = _html(console.get("/settings"))
    assert secret not in page and "A password is saved" in page and 'value="smtp.school.example"' in page
    assert _settings(console, smtp_host="smtp.school.example", smtp_username="alerts",
                     alert_recipients="dsl@school.example").status_code == 303
    from worrybox import alerts, mail_password
    saved = alerts.load_smtp_settings(db, mail_password.read(Paths(data_dir)))
    assert saved.password == secret and saved.port == 587 and saved.recipients == ("dsl@school.example",)
    # A page that refuses other input does not send the typed password back either.
    refused = _settings(console, smtp_host="smtp.school.example", smtp_password=secret, alert_recipients="")
    assert refused.status_code == 422 and secret not in _html(refused)
    assert "Add at least one e-mail address" in _html(refused)
    for detail in _audit(db, "settings_changed"):
        assert secret not in detail
    assert "mail password changed" in _audit(db, "settings_changed")[0]

