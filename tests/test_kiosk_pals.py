"""Booking a chat with a peer mediator, and the mediator's own view, at the kiosk."""

import re
import threading
from datetime import date, datetime, timedelta, timezone

import pytest

from helpers import csrf_token, mediator_login, name_token
from worrybox import mediators
from worrybox.config import Paths
from worrybox.db import connect
from worrybox.school import pupil_keys

WEEKDAYS = range(5)


@pytest.fixture
def rota(db, data_dir):
    """Harjit (5C) is a mediator on duty every school day, all day, two chats a slot; Tomasz (4B) has one slot."""
    keys = pupil_keys(Paths(data_dir))
    harjit, tomasz = keys.pupil_ref("P003"), keys.pupil_ref("P002")
    mediators.set_mediator(db, harjit)
    mediators.set_mediator(db, tomasz)
    pins = {"P003": mediators.new_pin(db, harjit), "P002": mediators.new_pin(db, tomasz)}
    slot_ids = [mediators.add_slot(db, day, "00:00", "23:59", "the Rainbow Room", 2, [harjit]) for day in WEEKDAYS]
    other = mediators.add_slot(db, 0, "00:00", "23:59", "the Library", 1, [tomasz])
    return {"pins": pins, "slots": slot_ids, "other_slot": other, "harjit": harjit, "tomasz": tomasz, "keys": keys}


def _first_offer(kiosk):
    page = kiosk.get("/book").get_data(as_text=True)
    match = re.search(r'href="/book\?slot=(\d+)&amp;date=([\d-]+)"', page)
    assert match, "no bookable slot listed"
    return match.group(1), match.group(2)


def _name(kiosk, pupil_id):
    """The name tile's value for a roster id (an opaque token), as a child tapping the name sends it."""
    return name_token(kiosk.application.config["WORRYBOX_PATHS"].data_dir, pupil_id) if pupil_id else pupil_id


def _book(kiosk, slot, day, pupil="P001", topic="friends"):
    pupil = _name(kiosk, pupil)
    page = kiosk.get("/book?slot=%s&date=%s&class=4B" % (slot, day)).get_data(as_text=True)
    return kiosk.post("/book", data={"csrf_token": csrf_token(page), "slot": slot, "date": day, "pupil": pupil,
                                     "topic": topic, "class": "4B"})


def _mediator_login(kiosk, pupil, pin):
    pupil = _name(kiosk, pupil)
    page = kiosk.get("/mediator").get_data(as_text=True)
    return kiosk.post("/mediator/login", data={"csrf_token": csrf_token(page), "pupil": pupil, "pin": pin})


def test_the_booking_page_lists_times_with_free_places_and_who_will_be_there(kiosk, rota):
    page = kiosk.get("/book").get_data(as_text=True)
    assert "the Rainbow Room" in page and "with Harjit" in page and "2 more children can book" in page


def test_a_child_books_a_chat_and_is_told_where_when_and_who(kiosk, rota, db):
    slot, day = _first_offer(kiosk)
    response = _book(kiosk, slot, day)
    assert response.status_code == 303 and response.headers["Location"].endswith("/book/done")
    page = kiosk.get("/book/done").get_data(as_text=True)
    assert "the Rainbow Room" in page and "Harjit" in page and date.fromisoformat(day).strftime("%A") in page
    assert db.execute("SELECT count(*) FROM bookings").fetchone()[0] == 1


def test_a_booking_needs_a_name(kiosk, rota, db):
    slot, day = _first_offer(kiosk)
    response = _book(kiosk, slot, day, pupil="")
    assert response.status_code == 422
    assert "choose your name" in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM bookings").fetchone()[0] == 0


def test_booking_the_same_time_twice_gets_a_kind_message_not_a_second_booking(kiosk, rota, db):
    slot, day = _first_offer(kiosk)
    assert _book(kiosk, slot, day).status_code == 303
    response = _book(kiosk, slot, day)
    assert response.status_code == 409 and "already booked this time" in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM bookings").fetchone()[0] == 1


def test_a_full_time_gets_a_kind_message(kiosk, rota, db):
    slot, day = _first_offer(kiosk)
    assert _book(kiosk, slot, day, pupil="P001").status_code == 303
    assert _book(kiosk, slot, day, pupil="P002").status_code == 303
    response = _book(kiosk, slot, day, pupil="P003")
    assert response.status_code == 409 and "full" in response.get_data(as_text=True)
    assert "Full" in kiosk.get("/book").get_data(as_text=True)


def test_two_children_racing_for_the_last_place_only_one_gets_it(rota, data_dir):
    db_path = Paths(data_dir).database
    now = datetime.now()
    offer = next(o for o in mediators.upcoming(connect(db_path), now) if o.slot.id == rota["other_slot"])
    keys = rota["keys"]
    barrier = threading.Barrier(2)
    results = []

    def race(pupil_id):
        db = connect(db_path)
        barrier.wait()
        try:
            mediators.book(db, offer.slot.id, offer.day, keys.pupil_ref(pupil_id), None, now)
            results.append("booked")
        except mediators.BookingRefused as refused:
            results.append(str(refused))

    threads = [threading.Thread(target=race, args=(pid,)) for pid in ("P001", "P002")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["Sorry, that time is full now. Please choose another time.", "booked"]
    assert connect(db_path).execute("SELECT count(*) FROM bookings WHERE slot_id = ?",
                                    [offer.slot.id]).fetchone()[0] == 1


def test_the_database_itself_refuses_an_overbooking(rota, db):
    import sqlite3
    day = date(2030, 1, 7).isoformat()
    db.execute("INSERT INTO bookings (slot_id, date, place_number, pupil_ref, created_at) VALUES (?, ?, 1, ?, 'x')",
               [rota["other_slot"], day, rota["keys"].pupil_ref("P001")])
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO bookings (slot_id, date, place_number, pupil_ref, created_at) VALUES (?, ?, 1, ?, 'x')",
                   [rota["other_slot"], day, rota["keys"].pupil_ref("P002")])


def test_a_paused_slot_is_not_offered(kiosk, rota, db):
    for slot_id in rota["slots"]:
        mediators.pause_slot(db, slot_id, date.today() + timedelta(days=30))
    assert "the Rainbow Room" not in kiosk.get("/book").get_data(as_text=True)


def test_a_mediator_sees_only_their_own_bookings(kiosk, rota):
    slot, day = _first_offer(kiosk)
    _book(kiosk, slot, day, pupil="P001", topic="family")
    response = mediator_login(kiosk, "P003", rota["pins"]["P003"])
    assert response.status_code == 303
    page = kiosk.get("/mediator/duty").get_data(as_text=True)
    assert "Amira" in page and "(4B)" in page and "Family" in page
    kiosk.post("/mediator/done")
    mediator_login(kiosk, "P002", rota["pins"]["P002"])
    page = kiosk.get("/mediator/duty").get_data(as_text=True)
    assert "Amira" not in page and "the Library" in page


def test_a_wrong_pin_shows_nothing(kiosk, rota):
    slot, day = _first_offer(kiosk)
    _book(kiosk, slot, day)
    wrong = "0000" if rota["pins"]["P003"] != "0000" else "1111"
    response = mediator_login(kiosk, "P003", wrong)
    assert response.status_code == 401 and "did not work" in response.get_data(as_text=True)
    assert "Amira" not in response.get_data(as_text=True)
    assert kiosk.get("/mediator/duty").status_code == 302


def test_too_many_wrong_pins_pause_the_login_even_for_the_right_pin(kiosk, rota):
    wrong = "0000" if rota["pins"]["P003"] != "0000" else "1111"
    for _ in range(mediators.MAX_PIN_FAILURES):
        mediator_login(kiosk, "P003", wrong)
    response = mediator_login(kiosk, "P003", rota["pins"]["P003"])
    assert response.status_code == 429 and "resting" in response.get_data(as_text=True)


def test_leaving_the_mediator_pages_signs_the_mediator_out(kiosk, rota):
    mediator_login(kiosk, "P003", rota["pins"]["P003"])
    assert kiosk.get("/mediator/duty").status_code == 200
    kiosk.get("/")
    assert kiosk.get("/mediator/duty").status_code == 302


def test_an_idle_mediator_view_closes(kiosk, rota, db):
    mediator_login(kiosk, "P003", rota["pins"]["P003"])
    db.execute("UPDATE mediator_sessions SET last_seen_at = ?",
               [(datetime.now(timezone.utc) - timedelta(minutes=10)).isoformat(timespec="microseconds")])
    assert kiosk.get("/mediator/duty").status_code == 302
    assert db.execute("SELECT count(*) FROM mediator_sessions").fetchone()[0] == 0


def _copy_of(kiosk_app, kiosk):
    """Another browser holding a copy of this one's kiosk cookie."""
    copy = kiosk_app.test_client()
    copy.set_cookie("worrybox_kiosk", kiosk.get_cookie("worrybox_kiosk").value)
    return copy


def test_a_copied_mediator_cookie_stops_working_after_done(kiosk_app, kiosk, rota):
    mediator_login(kiosk, "P003", rota["pins"]["P003"])
    copy = _copy_of(kiosk_app, kiosk)
    assert copy.get("/mediator/duty").status_code == 200
    assert kiosk.post("/mediator/done").status_code == 303
    assert copy.get("/mediator/duty").status_code == 302


@pytest.mark.parametrize("how", ["new PIN", "stopped", "PIN paused"])
def test_a_new_pin_stopping_or_a_pause_ends_every_sign_in_of_that_mediator(how, kiosk_app, kiosk, rota, db):
    mediator_login(kiosk, "P003", rota["pins"]["P003"])
    copy = _copy_of(kiosk_app, kiosk)
    if how == "new PIN":
        mediators.new_pin(db, rota["harjit"])
    elif how == "stopped":
        mediators.set_mediator(db, rota["harjit"], active=False)
    else:
        wrong = "0000" if rota["pins"]["P003"] != "0000" else "1111"
        other_tablet = kiosk_app.test_client()
        for _ in range(mediators.MAX_PIN_FAILURES):
            mediator_login(other_tablet, "P003", wrong)
    assert copy.get("/mediator/duty").status_code == 302
    assert kiosk.get("/mediator/duty").status_code == 302


def test_done_closes_the_mediator_view(kiosk, rota):
    mediator_login(kiosk, "P003", rota["pins"]["P003"])
    assert kiosk.post("/mediator/done").status_code == 303
    assert kiosk.get("/mediator/duty").status_code == 302


def _record(kiosk, booking_id, attended, outcome=None):
    page = kiosk.get("/mediator/duty").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "attended": attended}
    if outcome:
        data["outcome"] = outcome
    return kiosk.post("/mediator/bookings/%d" % booking_id, data=data)


def test_pass_to_an_adult_escalates_at_once_and_the_chat_counts_as_a_visit(kiosk, rota, db):
    slot, day = _first_offer(kiosk)
    _book(kiosk, slot, day)
    mediator_login(kiosk, "P003", rota["pins"]["P003"])
    assert _record(kiosk, 1, "yes", "pass_to_adult").status_code == 303
    assert db.execute("SELECT reason, status FROM escalations").fetchall() == [("pass_to_adult", "open")]
    assert db.execute("SELECT kind FROM visits").fetchall() == [("chat",)]
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    assert "Pass to an adult" in kiosk.get("/mediator/duty").get_data(as_text=True)


def test_after_pass_to_an_adult_the_mediator_is_told_to_find_a_grown_up_now(kiosk, rota):
    slot, day = _first_offer(kiosk)
    _book(kiosk, slot, day)
    mediator_login(kiosk, "P003", rota["pins"]["P003"])
    response = _record(kiosk, 1, "yes", "pass_to_adult")
    page = kiosk.get(response.headers["Location"]).get_data(as_text=True)
    assert "Go and find a grown-up now. They have been told." in page
    assert "Go and find a grown-up now" not in kiosk.get("/mediator/duty").get_data(as_text=True), "said once"


def test_a_future_chats_outcome_is_refused(kiosk, rota, db):
    monday = date(2030, 1, 7)
    db.execute("INSERT INTO bookings (slot_id, date, place_number, pupil_ref, created_at) VALUES (?, ?, 1, ?, 'x')",
               [rota["slots"][0], monday.isoformat(), rota["keys"].pupil_ref("P001")])
    booking_id = db.execute("SELECT max(id) FROM bookings").fetchone()[0]
    mediator_login(kiosk, "P003", rota["pins"]["P003"])
    for attended, outcome in (("yes", "pass_to_adult"), ("no", None)):
        response = _record(kiosk, booking_id, attended, outcome)
        assert response.status_code == 409 and "once it has started" in response.get_data(as_text=True)
    assert db.execute("SELECT attended FROM bookings WHERE id = ?", [booking_id]).fetchone()[0] is None
    assert db.execute("SELECT count(*) FROM visits").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM escalations").fetchone()[0] == 0
    with pytest.raises(mediators.ChatNotStarted):
        mediators.record_outcome(db, booking_id, rota["harjit"], True, "sorted")


def test_changing_an_outcome_never_adds_a_second_visit(kiosk, rota, db):
    slot, day = _first_offer(kiosk)
    _book(kiosk, slot, day)
    mediator_login(kiosk, "P003", rota["pins"]["P003"])
    for attended, outcome in (("yes", "sorted"), ("yes", "another_chat"), ("no", None), ("yes", "sorted"),
                              ("yes", "another_chat")):
        assert _record(kiosk, 1, attended, outcome).status_code == 303
    assert db.execute("SELECT count(*) FROM visits").fetchone()[0] == 1
    _record(kiosk, 1, "no")
    assert db.execute("SELECT count(*) FROM visits").fetchone()[0] == 0, "a child who did not come made no visit"


def test_a_chat_the_child_missed_is_not_a_visit(kiosk, rota, db):
    slot, day = _first_offer(kiosk)
    _book(kiosk, slot, day)
    mediator_login(kiosk, "P003", rota["pins"]["P003"])
    assert _record(kiosk, 1, "no").status_code == 303
    assert db.execute("SELECT count(*) FROM visits").fetchone()[0] == 0


def test_a_came_chat_needs_to_say_how_it_went(kiosk, rota):
    slot, day = _first_offer(kiosk)
    _book(kiosk, slot, day)
    mediator_login(kiosk, "P003", rota["pins"]["P003"])
    response = _record(kiosk, 1, "yes")
    assert response.status_code == 422 and "Choose how it went" in response.get_data(as_text=True)


def test_a_mediator_cannot_record_another_mediators_chat(kiosk, rota):
    slot, day = _first_offer(kiosk)
    _book(kiosk, slot, day)
    mediator_login(kiosk, "P002", rota["pins"]["P002"])
    page = kiosk.get("/mediator/duty").get_data(as_text=True)
    response = kiosk.post("/mediator/bookings/1", data={"csrf_token": csrf_token(page), "attended": "yes",
                                                        "outcome": "sorted"})
    assert response.status_code == 404


def test_roster_mediator_column_marks_mediators(db, data_dir):
    from worrybox import roster
    keys = pupil_keys(Paths(data_dir))
    pupils = roster.parse_roster(b"pupil_id,first_name,last_name,class,mediator\nP001,Amira,Qureshi,4B,yes\n"
                                 b"P002,Tomasz,Zielinski,4B,no\n")
    roster.import_roster(db, keys, pupils)
    assert mediators.mediator_refs(db) == [keys.pupil_ref("P001")]
