"""The worry one question at a time, words that never promise secrecy, and tablets for older pupils (no browser)."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from markupsafe import escape

from helpers import DSL_PASSWORD, csrf_token, hidden_value
from kiosk.words import SECONDARY_WORDS
from worrybox import casework, keys, mediators, tablets
from worrybox.config import Paths
from worrybox.languages import LANGUAGES
from worrybox.school import pupil_keys

ROOT = Path(__file__).resolve().parent.parent
STEPS = ["feeling", "topic", "place", "talk_to", "words", "name", "code", "send"]
SAFE_LINE = "If someone is not safe, the grown-ups here will tell the people who keep children safe."
PALS_LINE = "The %(scheme)s tell a grown-up too."
# "Secret" in each language the kiosk speaks (and the words a translator might reach for).
SECRET = {"en": ("secret",), "pl": ("sekret", "tajemnic", "tajn"), "pa": ("ਗੁਪਤ", "ਭੇਤ", "ਰਾਜ਼"),
          "ur": ("خفیہ", "راز", "پوشیدہ")}


def _step_of(page):
    return re.search(r'name="step" value="(\w+)"', page).group(1)


def _go(child, data, **changes):
    """Press a button on a step: post what the page carries, with the changes a tap makes."""
    response = child.client.post("/worry", data={**data, **changes})
    return response, response.get_data(as_text=True)


def _carried(page):
    """Everything a step page carries to the next: hidden fields, chosen tiles and typed words."""
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    fields.update(re.findall(r'<input type="radio" name="(\w+)" value="([^"]*)" checked>', page))
    text = re.search(r'<textarea[^>]*name="text"[^>]*>(.*?)</textarea>', page, re.S)
    if text:
        fields["text"] = text.group(1).strip()
    fields.update(csrf_token=csrf_token(page), submission_id=hidden_value(page, "submission_id"))
    return {name: value for name, value in fields.items() if name not in ("go",)}


def _latest_worry(db):
    worry_id = db.execute("SELECT max(id) FROM worries").fetchone()[0]
    return casework.read_worry(db, worry_id, keys.unlock_keyring(db, 1, DSL_PASSWORD))


def test_each_question_is_its_own_step_and_next_walks_them_in_order(child):
    page = child.client.get("/worry").get_data(as_text=True)
    seen = [_step_of(page)]
    data = _carried(page)
    while seen[-1] != "send":
        _, page = _go(child, data, go="next")
        seen.append(_step_of(page))
        data = _carried(page)
    assert seen == STEPS
    assert "Step 8 of 8" in page and ">Send my worry</button>" in page


def test_going_back_loses_nothing_chosen_or_typed(child, db):
    data = _carried(child.client.get("/worry").get_data(as_text=True))
    answers = {"feeling": "scared", "topic": "friends", "place": "toilets", "talk_to": "teacher"}
    for step, value in answers.items():
        _, page = _go(child, data, **{step: value}, go="next")
        data = _carried(page)
    _, page = _go(child, data, text="BACK-AND-FORTH words", go="next")
    assert _step_of(page) == "name"
    data = _carried(page)
    for expected in reversed(STEPS[:5]):
        _, page = _go(child, data, go="back")
        assert _step_of(page) == expected
        data = _carried(page)
    assert data["feeling"] == "scared" and data["text"] == "BACK-AND-FORTH words"
    assert re.search(r'value="scared" checked', page)  # the face is still chosen on its own step
    response, _ = _go(child, data, go="send")
    assert response.status_code == 303
    worry = _latest_worry(db)
    assert (worry.feeling, worry.topic, worry.place, worry.talk_to, worry.text) == (
        "scared", "friends", "toilets", "teacher", "BACK-AND-FORTH words")


def test_send_now_on_the_first_step_posts_the_worry(child, db):
    data = _carried(child.client.get("/worry").get_data(as_text=True))
    response, _ = _go(child, data, feeling="sad", go="send")
    assert response.status_code == 303 and response.headers["Location"] == "/thanks"
    assert db.execute("SELECT feeling FROM worries").fetchall() == [("sad",)]


def test_send_now_with_nothing_chosen_asks_kindly_on_the_same_step(child, db):
    data = _carried(child.client.get("/worry").get_data(as_text=True))
    response, page = _go(child, data, step="topic", go="send")
    assert response.status_code == 422 and _step_of(page) == "topic"
    assert "choose a face, a picture, draw, or write something" in page
    assert db.execute("SELECT count(*) FROM worries").fetchone()[0] == 0


def test_a_problem_keeps_the_child_on_its_step_with_their_words(child, db):
    data = _carried(child.client.get("/worry").get_data(as_text=True))
    response, page = _go(child, data, step="words", text="x" * 4001, go="next")
    assert response.status_code == 422 and _step_of(page) == "words" and "That is a lot of words" in page
    # Sent from a later step, the worry comes back on the step that has the problem.
    response, page = _go(child, data, step="code", text="y" * 4001, go="send")
    assert response.status_code == 422 and _step_of(page) == "words" and "y" * 4001 in page
    assert db.execute("SELECT count(*) FROM worries").fetchone()[0] == 0


def _code_step(child, **answers):
    data = _carried(child.client.get("/worry").get_data(as_text=True))
    _, page = _go(child, data, step="name", go="next", **answers)
    assert _step_of(page) == "code"
    return page


def test_each_tap_on_an_animal_adds_it_and_start_again_takes_them_away(child):
    page = _code_step(child)
    assert len(re.findall(r'name="add_animal" value="\w+"', page)) == 9
    for animal in ("cat", "dog"):
        _, page = _go(child, _carried(page), add_animal=animal)
    assert (hidden_value(page, "first_animal"), hidden_value(page, "second_animal")) == ("cat", "dog")
    assert 'name="third_animal"' not in page
    _, page = _go(child, _carried(page), go="restart_code")
    assert _step_of(page) == "code" and 'name="first_animal"' not in page
    for animal in ("fish", "fish", "frog", "bear"):  # a fourth tap changes nothing
        _, page = _go(child, _carried(page), add_animal=animal)
    assert [hidden_value(page, name) for name in ("first_animal", "second_animal", "third_animal")] == [
        "fish", "fish", "frog"]
    assert 'name="add_animal"' not in page and "Remember your three animals" in page


def test_no_code_moves_on_without_animals(child):
    page = _code_step(child, feeling="sad")
    _, page = _go(child, _carried(page), add_animal="cat")
    _, page = _go(child, _carried(page), go="no_code")
    assert _step_of(page) == "send" and 'name="first_animal"' not in page
    assert hidden_value(page, "feeling") == "sad"


def test_one_animal_and_send_now_posts_the_worry_without_a_code(child, kiosk, db):
    page = _code_step(child, feeling="worried", text="ONE-ANIMAL worry")
    _, page = _go(child, _carried(page), add_animal="cat")
    response, _ = _go(child, _carried(page), go="send")
    assert response.status_code == 303
    assert db.execute("SELECT feeling, code_hash FROM worries").fetchall() == [("worried", None)]
    assert "Your animals were not finished, so this worry has no picture code." in kiosk.get("/thanks").get_data(
        as_text=True)
    assert _latest_worry(db).text == "ONE-ANIMAL worry"


def test_three_animals_tapped_in_order_make_the_picture_code(child, db, data_dir):
    page = _code_step(child, feeling="sad")
    for animal in ("dog", "cat", "dog"):
        _, page = _go(child, _carried(page), add_animal=animal)
    _, page = _go(child, _carried(page), go="next")
    assert _step_of(page) == "send" and page.count('data-picture="animal-dog"') == 2
    response, _ = _go(child, _carried(page), go="send")
    assert response.status_code == 303
    expected = pupil_keys(Paths(data_dir)).picture_code_hash(("dog", "cat", "dog"))
    assert db.execute("SELECT code_hash FROM worries").fetchone() == (expected,)


def test_a_name_chosen_on_its_step_is_kept_and_sent(child, db):
    token = child.name("P002")
    data = _carried(child.client.get("/worry").get_data(as_text=True))
    _, page = _go(child, data, feeling="sad", step="name", show_class="4B")
    assert _step_of(page) == "name" and "Tomasz Zielinski" in page
    _, page = _go(child, _carried(page), pupil=token, go="next")
    _, page = _go(child, _carried(page), go="back")
    assert re.search(r'value="%s" checked' % re.escape(token), page)
    _, page = _go(child, _carried(page), go="next")
    _, page = _go(child, _carried(page), go="next")
    assert "With your name: Tomasz Zielinski" in page
    response, _ = _go(child, _carried(page), go="send")
    assert response.status_code == 303 and _latest_worry(db).pupil["pupil_id"] == "P002"


def test_nothing_a_child_chooses_or_types_goes_into_an_address(child):
    data = _carried(child.client.get("/worry").get_data(as_text=True))
    seen = []
    for change in ({"feeling": "sad", "go": "next"}, {"text": "ADDRESS-CANARY", "step": "words", "go": "next"},
                   {"step": "code", "add_animal": "cat"}, {"step": "send", "go": "back"}):
        response, page = _go(child, data, **change)
        seen.append(page)
        assert response.status_code == 200 and "Location" not in response.headers
        assert not re.search(r'<form[^>]*method="get"', page, re.I)
        assert not re.search(r'href="[^"]*ADDRESS-CANARY', page)
        data = _carried(page)
    assert "ADDRESS-CANARY" in seen[-1]  # carried in the page itself, in a hidden field


def test_the_web_interface_still_posts_a_whole_worry_in_one_request(child, db):
    token = child.name("P001")
    response = child.post(text="ONE-REQUEST", feeling="sad", topic="friends", place="toilets", talk_to="teacher",
                          pupil=token, urgent="", **{"class": "4B"})
    assert response.status_code == 303 and response.headers["Location"] == "/thanks"
    worry = _latest_worry(db)
    assert (worry.text, worry.pupil["pupil_id"], worry.place) == ("ONE-REQUEST", "P001", "toilets")


# Words ---------------------------------------------------------------------------------------------


def _catalog(code):
    with open(ROOT / "translations" / code / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=code)


def _in_language(code, message, **values):
    text = message if code == "en" else _catalog(code)[message].string
    assert text, "%s has no translation of %r" % (code, message)
    return str(escape(text % values if values else text))


@pytest.fixture
def rota(db, data_dir):
    """A chat to book every school day, so the booking pages have something to show."""
    ref = pupil_keys(Paths(data_dir)).pupil_ref("P003")
    mediators.set_mediator(db, ref)
    mediators.new_pin(db, ref)
    for day in range(5):
        mediators.add_slot(db, day, "00:00", "23:59", "the Rainbow Room", 3, [ref])


def _pages(child, kiosk, booker="P001"):
    """Every kiosk page a child meets, by name (each step of the worry, booking, checking, thanks, errors)."""
    pages = {"start": kiosk.get("/").get_data(as_text=True)}
    page = kiosk.get("/worry").get_data(as_text=True)
    pages["step feeling"] = page
    data = dict(_carried(page), feeling="sad")
    while _step_of(page) != "send":
        _, page = _go(child, data, go="next")
        pages["step " + _step_of(page)] = page
        data = _carried(page)
    _, pages["step name, a class"] = _go(child, data, step="name", show_class="4B")
    book = kiosk.get("/book").get_data(as_text=True)
    pages["book"] = book
    slot = re.search(r'href="(/book\?slot=\d+&amp;date=[\d-]+)"', book).group(1).replace("&amp;", "&")
    pages["booking form"] = kiosk.get(slot + "&class=4B").get_data(as_text=True)
    token = csrf_token(pages["booking form"])
    slot_id, day = re.search(r"slot=(\d+)&date=([\d-]+)", slot).groups()
    kiosk.post("/book", data={"csrf_token": token, "slot": slot_id, "date": day, "pupil": child.name(booker),
                              "class": "4B"})
    pages["booked"] = kiosk.get("/book/done").get_data(as_text=True)
    for path in ("/help", "/heard", "/heard/animals", "/heard/name?class=4B", "/mediator", "/no-such-page"):
        pages[path] = kiosk.get(path).get_data(as_text=True)
    child.post(feeling="sad", text="words")
    pages["thanks"] = kiosk.get("/thanks").get_data(as_text=True)
    return pages


@pytest.mark.parametrize("age_group", list(tablets.AGE_GROUPS))
@pytest.mark.parametrize("code", list(LANGUAGES))
def test_no_kiosk_page_calls_a_worry_secret_in_any_language_or_age_group(code, age_group, child, kiosk, db, rota):
    tablets.add_tablet(db, "Tablet A")
    tablets.set_age_group(db, "Tablet A", age_group)
    kiosk.get("/enrol/" + tablets.new_enrolment_link_token(db, "Tablet A"), follow_redirects=True)
    kiosk.get("/language/" + code)
    for name, page in _pages(child, kiosk).items():
        assert 'lang="%s"' % code in page[:200], name
        assert 'data-age-group="%s"' % age_group in page or name == "/no-such-page", name
        text = re.sub(r"<[^>]+>", " ", page).lower()
        for word in SECRET[code] + SECRET["en"]:
            assert word not in text, "%s (%s, %s) says %r" % (name, code, age_group, word)


@pytest.mark.parametrize("age_group", list(tablets.AGE_GROUPS))
@pytest.mark.parametrize("code", list(LANGUAGES))
def test_the_start_every_worry_step_and_every_booking_page_say_who_grown_ups_tell(code, age_group, child, kiosk, db,
                                                                                 rota):
    tablets.add_tablet(db, "Tablet A")
    tablets.set_age_group(db, "Tablet A", age_group)
    kiosk.get("/enrol/" + tablets.new_enrolment_link_token(db, "Tablet A"), follow_redirects=True)
    kiosk.get("/language/" + code)
    words = SECONDARY_WORDS if age_group == "secondary" else {}
    safe = _in_language(code, words.get(SAFE_LINE, SAFE_LINE))
    pals = _in_language(code, words.get(PALS_LINE, PALS_LINE), scheme="Problem Pals")
    pages = _pages(child, kiosk)
    for name in ["start", *(name for name in pages if name.startswith("step "))]:
        assert safe in pages[name], "%s (%s, %s) lacks the line about who grown-ups tell" % (name, code, age_group)
    for name in ("book", "booking form", "booked"):
        assert safe in pages[name] and pals in pages[name], "%s (%s, %s)" % (name, code, age_group)


def test_a_secondary_tablet_says_staff_never_grown_ups_with_the_same_fields_and_pictures(child, kiosk, db, rota):
    primary = _pages(child, kiosk)
    tablets.add_tablet(db, "Sixth form tablet")
    tablets.set_age_group(db, "Sixth form tablet", "secondary")
    kiosk.get("/enrol/" + tablets.new_enrolment_link_token(db, "Sixth form tablet"), follow_redirects=True)
    secondary = _pages(child, kiosk, booker="P002")
    for name, page in secondary.items():
        text = re.sub(r"<[^>]+>", " ", page).lower()
        assert "grown-up" not in text and "grown up" not in text, name
        fields = sorted(set(re.findall(r'name="(\w+)"', page)) - {"csrf_token"})
        assert fields == sorted(set(re.findall(r'name="(\w+)"', primary[name])) - {"csrf_token"}), name
        pictures = re.findall(r'data-picture="([\w-]+)"', page)
        assert pictures == re.findall(r'data-picture="([\w-]+)"', primary[name]), name
    assert "staff" in secondary["start"] and "A member of staff" in secondary["step topic"]
    assert "grown-up" in primary["start"]


def test_staff_set_a_named_tablets_age_group_and_the_kiosk_follows_it(staff_member, console, kiosk, db):
    tablets.add_tablet(db, "Year 9 tablet")
    assert tablets.age_group(db, "Year 9 tablet") == "primary"
    staff_member.login()
    page = console.get("/kiosk").get_data(as_text=True)
    assert 'name="age_group"' in page
    response = console.post("/kiosk/tablets/age-group", data={"csrf_token": csrf_token(page), "name": "Year 9 tablet",
                                                               "age_group": "secondary"})
    assert response.status_code == 303 and tablets.age_group(db, "Year 9 tablet") == "secondary"
    assert db.execute("SELECT detail FROM audit_log WHERE event = 'settings_changed'").fetchall()[-1] == (
        "tablet age group: secondary",)
    enrolled = kiosk.get("/enrol/" + tablets.new_enrolment_link_token(db, "Year 9 tablet"), follow_redirects=True)
    assert 'data-age-group="secondary"' in enrolled.get_data(as_text=True)
    # Nonsense changes nothing.
    console.post("/kiosk/tablets/age-group", data={"csrf_token": csrf_token(page), "name": "Year 9 tablet",
                                                   "age_group": "university"})
    assert tablets.age_group(db, "Year 9 tablet") == "secondary"


def test_a_tablet_nobody_named_is_primary(kiosk):
    assert 'data-age-group="primary"' in kiosk.get("/").get_data(as_text=True)


# Pages that clear themselves -----------------------------------------------------------------------


def test_self_clearing_pages_refresh_only_without_javascript(child, kiosk):
    child.post(feeling="sad")
    page = kiosk.get("/thanks").get_data(as_text=True)
    assert re.search(r'<noscript><meta http-equiv="refresh" content="\d+; url=/end-visit"></noscript>', page)
    assert page.count('http-equiv="refresh"') == 1
    assert 'data-self-clearing="' in page and "Do you need more time?" in page


# The kiosk's network -------------------------------------------------------------------------------


def test_nginx_lets_only_the_schools_own_networks_reach_the_kiosk():
    conf = (ROOT / "deploy" / "nginx" / "worrybox.conf").read_text()
    geo = re.search(r"geo \$worrybox_school_network \{(.*?)\}", conf, re.S)
    assert geo and re.search(r"default\s+0;", geo.group(1))
    kiosk_server = conf[conf.index("# The kiosk:"):conf.index("# The staff console:")]
    assert "if ($worrybox_school_network = 0) { return 403; }" in kiosk_server


def test_an_expired_page_says_so_in_the_childs_language_naming_its_own_button(kiosk, child):
    kiosk.get("/language/pl")
    child.form()
    expired = kiosk.post("/worry", data={"csrf_token": "IjEyMyI.forged.token", "text": "Nikt się ze mną nie bawi",
                                         "feeling": "sad", "go": "send", "step": "send"})
    page = expired.get_data(as_text=True)
    assert expired.status_code == 400
    assert "Twoje zmartwienie nadal tu jest: naciśnij jeszcze raz „Wyślij zmartwienie”." in page
    assert "Nikt się ze mną nie bawi" in page
