"""The child hears back: "Did someone read my worry?" at the kiosk shows the status and any reply, never the worry."""

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from babel.messages.pofile import read_po
from markupsafe import escape

from helpers import DSL_PASSWORD, OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD, csrf_token, name_token
from worrybox import hear_back, keys, tablets
from worrybox.config import Paths
from worrybox.school import pupil_keys
from worrybox.recipients import worry_recipients

CANARY = "HEDGEHOG-CANARY-93 someone takes my lunch"
CODE = ("cat", "dog", "fish")
NOT_READ = "Nobody has read it yet, but they will soon."
READ = "A grown-up has read your worry."
FIND_TODAY = "A grown-up will come and find you today."
NO_MATCH = "Those animals did not match a worry"
PAUSED = "too many wrong tries on this tablet"
ROOT = Path(__file__).resolve().parent.parent


def _code(animals):
    return dict(zip(("first_animal", "second_animal", "third_animal"), animals))


def _post(child, animals=CODE, **fields):
    fields = {"text": CANARY, "feeling": "sad", **_code(animals or ()), **fields}
    return child.post(**fields)


def _check_animals(client, animals=CODE):
    token = csrf_token(client.get("/heard/animals").get_data(as_text=True))
    return client.post("/heard/animals", data={"csrf_token": token, **_code(animals)})


def _check_name(client, pupil="P001", class_name="4B", animals=CODE):
    pupil = name_token(client.application.config["WORRYBOX_PATHS"].data_dir, pupil)  # the name tile's value
    token = csrf_token(client.get("/heard/name?class=%s" % class_name).get_data(as_text=True))
    return client.post("/heard/name", data={"csrf_token": token, "pupil": pupil, "class": class_name,
                                            **_code(animals)})


def _reply(staff_member, console, worry_id=1, **fields):
    if console.get("/").status_code != 200:
        staff_member.login()
    page = console.get("/worries/%d" % worry_id).get_data(as_text=True)
    return console.post("/worries/%d/reply" % worry_id, data={"csrf_token": csrf_token(page), **fields})


def _polish(message):
    with open(ROOT / "translations" / "pl" / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale="pl")[message].string


def _text(response):
    return response.get_data(as_text=True)


# Seeing the status and the reply ---------------------------------------------------------------


def test_a_child_with_the_right_picture_code_sees_the_status_and_reply_and_never_the_worry(child, kiosk, staff_member,
                                                                                             console):
    assert _post(child).status_code == 303
    assert _reply(staff_member, console, phrase="thank_you").status_code == 303
    response = _check_animals(kiosk)
    page = _text(response)
    assert response.status_code == 200
    assert READ in page and "Thank you for telling us." in page
    assert CANARY not in page and "HEDGEHOG" not in page


def test_before_anyone_reads_it_the_child_is_told_nobody_has_yet(child, kiosk):
    _post(child)
    page = _text(_check_animals(kiosk))
    assert NOT_READ in page and READ not in page and CANARY not in page


def test_the_start_screen_offers_did_someone_read_my_worry(kiosk):
    start = _text(kiosk.get("/"))
    assert 'href="/heard"' in start and "Did someone read my worry?" in start
    choose = _text(kiosk.get("/heard"))
    assert 'href="/heard/animals"' in choose and 'href="/heard/name"' in choose


def test_a_wrong_code_shows_only_a_generic_message_and_not_the_animals_tried(child, kiosk, staff_member, console):
    _post(child)
    _reply(staff_member, console, words="See you soon")
    response = _check_animals(kiosk, ("frog", "frog", "snail"))
    page = _text(response)
    assert response.status_code == 200 and NO_MATCH in page
    for revealing in (READ, NOT_READ, FIND_TODAY, "See you soon", CANARY):
        assert revealing not in page
    assert not re.search(r'value="(frog|snail)"\s+checked', page)


def test_the_animals_must_be_in_the_same_order(child, kiosk):
    _post(child, ("cat", "dog", "fish"))
    assert NO_MATCH in _text(_check_animals(kiosk, ("fish", "dog", "cat")))
    assert NOT_READ in _text(_check_animals(kiosk, ("cat", "dog", "fish")))


def test_checking_asks_for_all_three_animals(kiosk):
    token = csrf_token(_text(kiosk.get("/heard/animals")))
    response = kiosk.post("/heard/animals", data={"csrf_token": token, "first_animal": "cat"})
    assert response.status_code == 422 and "Choose all three animals, then press Check." in _text(response)


def test_when_two_children_chose_the_same_code_the_newest_worry_is_shown(child, kiosk, staff_member, console):
    _post(child)
    _reply(staff_member, console, phrase="right_thing")
    _post(child, text="a second child's worry")
    page = _text(_check_animals(kiosk))
    assert NOT_READ in page and "You did the right thing." not in page


def test_a_worry_older_than_30_days_can_no_longer_be_checked(child, kiosk, db):
    _post(child)
    old = (datetime.now(timezone.utc) - timedelta(days=31)).isoformat(timespec="microseconds")
    db.execute("UPDATE worries SET created_at = ?", [old])
    assert NO_MATCH in _text(_check_animals(kiosk))


# Guessing is paused ------------------------------------------------------------------------------


def _wrong_tries(client, count):
    return [_check_animals(client, ("frog", "snail", "bear")) for _ in range(count)]


def test_ten_wrong_tries_in_a_row_pause_that_tablets_checks_even_for_the_right_code(child, kiosk_app, kiosk, db):
    _post(child)
    tries = _wrong_tries(kiosk, 10)
    assert [r.status_code for r in tries[:9]] == [200] * 9 and all(NO_MATCH in _text(r) for r in tries[:9])
    assert tries[9].status_code == 429 and PAUSED in _text(tries[9])
    right = _check_animals(kiosk)
    assert right.status_code == 429 and NOT_READ not in _text(right)
    # Another tablet is not paused.
    other_tablet = kiosk_app.test_client()
    other_tablet.environ_base["REMOTE_ADDR"] = "10.0.0.42"
    assert NOT_READ in _text(_check_animals(other_tablet))
    # Posting a worry still works on the paused tablet.
    assert _post(child, animals=None, text="still here").status_code == 303
    # When the pause is over, the right code works again.
    db.execute("UPDATE code_checks SET paused_until = ?",
               [(datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat(timespec="microseconds")])
    assert NOT_READ in _text(_check_animals(kiosk))


def test_named_tablets_are_paused_one_by_one(child, kiosk_app, db):
    _post(child)
    class_4, library = kiosk_app.test_client(), kiosk_app.test_client()
    class_4.get("/enrol/" + tablets.new_enrolment_link_token(db, "Class 4 tablet"))
    library.get("/enrol/" + tablets.new_enrolment_link_token(db, "Library tablet"))
    assert _wrong_tries(class_4, 10)[-1].status_code == 429
    assert NOT_READ in _text(_check_animals(library))


def test_alternating_nine_wrong_codes_and_one_right_code_checks_no_more_than_ten_wrong_before_the_pause(
        child, kiosk):
    _post(child)
    answered_wrong = 0
    for _ in range(3):
        for response in _wrong_tries(kiosk, 9):
            if response.status_code == 429:  # the tenth wrong code is checked, counted, and starts the pause
                break
            answered_wrong += 1
        _check_animals(kiosk)  # the child's own, right code
    assert answered_wrong == 9, "a right code must never clear the count of wrong ones"
    assert _check_animals(kiosk).status_code == 429


def test_wrong_tries_are_forgotten_after_an_hour_without_one(child, kiosk, db):
    _post(child)
    _wrong_tries(kiosk, 9)
    db.execute("UPDATE code_checks SET updated_at = ?",
               [(datetime.now(timezone.utc) - timedelta(minutes=61)).isoformat(timespec="microseconds")])
    assert all(r.status_code == 200 for r in _wrong_tries(kiosk, 9))


def test_the_pause_is_counted_in_the_database_so_every_kiosk_worker_sees_it(child, data_dir, kiosk):
    from kiosk import create_app

    _post(child)
    _wrong_tries(kiosk, 10)
    another_worker = create_app({"DATA_DIR": data_dir, "TESTING": True}).test_client()
    assert _check_animals(another_worker).status_code == 429


# A named child -------------------------------------------------------------------------------------


def test_a_named_child_sees_the_status_of_their_own_recent_worry(child, kiosk, staff_member, console):
    assert _post(child, pupil=child.name("P001"), **{"class": "4B"}).status_code == 303
    assert NOT_READ in _text(_check_name(kiosk))
    assert _reply(staff_member, console, find_child_today="y").status_code == 303
    page = _text(_check_name(kiosk))
    assert FIND_TODAY in page and CANARY not in page


def test_a_named_child_with_no_recent_worry_is_told_so_and_sees_nothing_else(child, kiosk):
    _post(child, pupil=child.name("P001"), **{"class": "4B"})
    page = _text(_check_name(kiosk, pupil="P002"))
    assert "did not find a worry with your name" in page
    for revealing in (READ, NOT_READ, FIND_TODAY, CANARY):
        assert revealing not in page


def test_a_name_without_its_picture_code_shows_nothing(child, kiosk):
    _post(child, pupil=child.name("P001"), **{"class": "4B"})
    without = kiosk.post("/heard/name", data={
        "csrf_token": csrf_token(kiosk.get("/heard/name?class=4B").get_data(as_text=True)), "pupil": child.name("P001"),
        "class": "4B"})
    wrong = _check_name(kiosk, animals=("frog", "frog", "frog"))
    for response in (without, wrong):
        page = _text(response)
        for revealing in (READ, NOT_READ, FIND_TODAY, CANARY):
            assert revealing not in page
    assert without.status_code == 422 and "Choose all three animals" in _text(without)
    assert "did not find a worry with your name" in _text(wrong)


def test_choosing_a_class_lists_names_to_check_with(kiosk, child):
    page = _text(kiosk.get("/heard/name?class=4B"))
    assert 'name="pupil" value="%s"' % child.name("P001") in page and "Harjit" not in page
    assert 'value="P001"' not in page


def test_come_and_find_you_today_means_only_today(child, kiosk, staff_member, console, db):
    _post(child, pupil=child.name("P001"), **{"class": "4B"})
    _reply(staff_member, console, find_child_today="y")
    db.execute("UPDATE worries SET find_child_on = '2020-01-01'")
    page = _text(_check_name(kiosk))
    assert READ in page and FIND_TODAY not in page


# Staff send the reply -----------------------------------------------------------------------------


def test_staff_send_a_kind_phrase_and_the_child_reads_it_in_polish(child, kiosk, staff_member, console):
    _post(child)
    _reply(staff_member, console, phrase="looking_after")
    kiosk.get("/language/pl")
    page = _text(_check_animals(kiosk))
    phrase, status = _polish("We are looking after this."), _polish(READ)
    assert phrase and status
    assert str(escape(phrase)) in page and str(escape(status)) in page
    assert "We are looking after this." not in page and 'lang="pl"' in page


def test_staff_own_words_appear_as_written_in_any_language(child, kiosk, staff_member, console):
    words = "Mrs Patel & Mr Khan say: well done 🙂"
    _post(child)
    assert _reply(staff_member, console, words=words).status_code == 303
    kiosk.get("/language/ur")
    assert str(escape(words)) in _text(_check_animals(kiosk))


def test_a_reply_is_stored_without_the_worry_text_and_opens_with_the_pupil_key_only(child, staff_member, console, db,
                                                                                     data_dir):
    words = "OWL-WORDS-55 see you at lunch"
    _post(child)
    _reply(staff_member, console, words=words)
    raw = b"".join(path.read_bytes() for path in data_dir.iterdir() if path.name.startswith("worrybox.db"))
    assert words.encode() not in raw
    sealed = db.execute("SELECT reply_words FROM worries WHERE id = 1").fetchone()[0]
    school_keys = pupil_keys(Paths(data_dir))
    assert school_keys.open_reply(1, sealed) == words  # no staff key, no worry key
    assert school_keys.open_reply(2, sealed) is None  # bound to its worry
    seen = hear_back.as_the_child_sees_it(db, school_keys, 1)
    assert CANARY not in repr(seen)


def test_only_a_keyed_hash_of_the_picture_code_is_stored(child, db, data_dir):
    _post(child)
    stored = db.execute("SELECT code_hash FROM worries").fetchone()[0]
    assert stored == pupil_keys(Paths(data_dir)).picture_code_hash(CODE)
    assert not any(animal in stored for animal in CODE)


def test_the_reply_goes_into_the_chronology_and_the_audit_log_without_its_words(child, staff_member, console, db):
    _post(child)
    _reply(staff_member, console, words="OTTER-REPLY-12 well done")
    page = _text(console.get("/worries/1"))
    assert "sent the child a reply" in page and "OTTER-REPLY-12 well done" in page
    details = [row[0] or "" for row in db.execute("SELECT detail FROM audit_log WHERE event = 'reply_sent'")]
    assert details == ["own words"]


def test_a_secret_worry_with_no_picture_code_cannot_be_replied_to(child, staff_member, console, db):
    _post(child, animals=None)
    staff_member.login()
    page = _text(console.get("/worries/1"))
    assert "did not choose a picture code, so a reply cannot reach them" in page
    response = console.post("/worries/1/reply", data={"csrf_token": csrf_token(page), "phrase": "thank_you"})
    assert response.status_code == 409
    assert db.execute("SELECT reply_phrase, reply_at FROM worries").fetchone() == (None, None)


def test_a_reply_is_a_kind_phrase_or_a_few_words_not_both_and_not_too_long(child, staff_member, console, db):
    _post(child)
    both = _reply(staff_member, console, phrase="thank_you", words="hello")
    assert both.status_code == 422 and "not both" in _text(both)
    too_long = _reply(staff_member, console, words="x" * 141)
    assert too_long.status_code == 422 and "up to 140 characters" in _text(too_long)
    nothing = _reply(staff_member, console)
    assert nothing.status_code == 422
    assert db.execute("SELECT reply_at FROM worries").fetchone() == (None,)


def test_a_teacher_who_cannot_open_the_worry_cannot_reply_to_it(child, staff_member, console, db):
    _post(child)
    staff_member.login(OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD)
    token = csrf_token(_text(console.get("/")))
    response = console.post("/worries/1/reply", data={"csrf_token": token, "phrase": "thank_you"})
    assert response.status_code == 403
    assert db.execute("SELECT reply_at FROM worries").fetchone() == (None,)


# Posting with a picture code, and no JavaScript anywhere --------------------------------------------


def test_the_picture_code_is_optional_and_half_a_code_never_stops_a_worry(child, kiosk, db):
    half = child.post(text=CANARY, feeling="sad", first_animal="cat")
    assert half.status_code == 303
    assert "Your animals were not finished, so this worry has no picture code." in _text(kiosk.get("/thanks"))
    assert _post(child, animals=None).status_code == 303
    assert db.execute("SELECT code_hash FROM worries").fetchall() == [(None,), (None,)]


def test_every_step_is_a_plain_form_of_picture_tiles_that_works_without_javascript(kiosk):
    token = csrf_token(_text(kiosk.get("/worry")))
    code_step = _text(kiosk.post("/worry", data={"csrf_token": token, "step": "name", "go": "next"}))
    # The worry's code step: one button per animal, each tap adds it to the code.
    assert len(re.findall(r'<button class="tile" type="submit" name="add_animal" value="\w+"', code_step)) == 9
    assert 'data-picture="animal-ladybird"' in code_step
    page = _text(kiosk.get("/heard/animals"))
    assert len(re.findall(r'<button class="tile" type="submit" name="add_animal" value="\w+"', page)) == 9
    assert 'data-picture="animal-ladybird"' in page
    animals = _text(kiosk.get("/heard/animals"))
    assert '<form class="heard-animals" method="post" action="/heard/animals"' in animals
    assert '<button class="button button-send" type="submit" name="go" value="check">' in animals
    assert re.search(r'<form method="post" action="/heard/name"', _text(kiosk.get("/heard/name?class=4B")))
    for picture in [*(name for _, name in hear_back.ANIMALS.values()), "start-heard", "heard-name"]:
        assert kiosk.get("/static/pictures/%s.svg" % picture).status_code == 200


def test_the_dsl_can_still_open_a_worry_with_a_picture_code(child, db):
    _post(child)
    keyring = keys.unlock_keyring(db, 1, DSL_PASSWORD)
    from worrybox import casework

    assert casework.read_worry(db, 1, keyring).text == CANARY


def test_a_school_from_before_this_feature_upgrades_and_its_old_worries_can_get_no_reply(db):
    from worrybox.db import migrations
    from worrybox import worries

    worries.post_worry(db, worry_recipients(db), worries.NewWorry("before-hearing-back-01", text="kept"))
    for statement in ("DROP INDEX worries_by_code", "DROP TABLE code_checks",
                      *("ALTER TABLE worries DROP COLUMN %s" % column
                        for column in ("code_hash", "reply_phrase", "reply_words", "reply_at", "find_child_on"))):
        db.execute(statement)
    db.execute("DELETE FROM _sqlite_migrations WHERE name = '0009_children_hear_back'")
    assert [m.name for m in migrations.pending(db)] == ["0009_children_hear_back"]

    migrations.apply(db)

    assert migrations.pending(db) == []
    assert db.execute("SELECT code_hash, reply_words, find_child_on FROM worries").fetchall() == [(None, None, None)]
    assert hear_back.ways_to_check(db, 1) == {"by_name": False, "by_pictures": False}
    assert db.execute("SELECT count(*) FROM code_checks").fetchone()[0] == 0


def test_checking_taps_one_animal_at_a_time_and_half_a_code_is_asked_for_kindly(child, kiosk):
    _post(child)
    page = _text(kiosk.get("/heard/animals"))
    for animal in CODE[:2]:
        chosen = re.findall(r'name="\w+_animal" value="(\w+)"', page)
        page = _text(kiosk.post("/heard/animals", data={"csrf_token": csrf_token(page), "add_animal": animal,
                                                         **_code(chosen)}))
    half = kiosk.post("/heard/animals", data={"csrf_token": csrf_token(page), "go": "check", **_code(CODE[:2])})
    assert half.status_code == 422 and "Choose all three animals, then press Check." in _text(half)
    page = _text(kiosk.post("/heard/animals", data={"csrf_token": csrf_token(page), "add_animal": CODE[2],
                                                     **_code(CODE[:2])}))
    assert 'name="add_animal"' not in page
    assert NOT_READ in _text(kiosk.post("/heard/animals", data={"csrf_token": csrf_token(page), "go": "check",
                                                                **_code(CODE)}))
