"""The kiosk for every child: pictures, read-aloud, drawing, languages, named tablets and privacy (no browser)."""

import base64
import re
from pathlib import Path

from helpers import csrf_token
from worrybox import tablets

ROOT = Path(__file__).resolve().parent.parent
# A real 1x1 PNG, as the drawing pad would send a (very small) drawing.
PNG = ("data:image/png;base64," + base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")).decode())


def _steps(child, **answers):
    """Walk every step of the worry with Next, as a child with no JavaScript would; return each step's page."""
    data = dict(child.form(), step="feeling", go="next", **answers)
    pages = {"feeling": child.client.get("/worry").get_data(as_text=True)}
    while data["step"] != "send":
        page = child.client.post("/worry", data=data).get_data(as_text=True)
        data["step"] = re.search(r'name="step" value="(\w+)"', page).group(1)
        pages[data["step"]] = page
    return pages


def test_every_choice_has_a_picture_drawn_into_the_page(kiosk, child):
    page = "".join(_steps(child).values())
    # Drawn in the page, not fetched: on slow Wi-Fi each fetch cost a round trip. Decorative, so hidden from
    # screen readers: the words beside each picture say the same.
    pictures = re.findall(r'<svg class="picture" data-picture="([\w-]+)" width="64" height="64" aria-hidden="true"', page)
    assert len(pictures) >= 26  # feelings, topics, places, who to talk to
    for picture in set(pictures):
        drawing = (ROOT / "static" / "pictures" / (picture + ".svg")).read_text()
        first_shape = re.search(r"<(path|circle|rect|ellipse|line|polyline|polygon)\b[^>]*>", drawing).group(0)
        assert first_shape in page, picture
    speaker = re.search(r'<img class="picture" src="(/static/pictures/speaker\.svg\?v=\w+)" alt=""', page).group(1)
    assert kiosk.get(speaker).status_code == 200


def test_a_picture_that_is_not_there_draws_nothing_and_stops_no_page(kiosk_app):
    from worrybox_web import picture_markup

    with kiosk_app.test_request_context("/"):
        assert str(picture_markup("no-such-picture", 64)) == ""
        assert str(picture_markup("../../static/worrybox", 64)) == ""
        assert str(picture_markup("../fonts/OFL-noto-sans", 64)) == ""
        drawn = str(picture_markup("feeling-sad", 40))
        assert drawn.startswith('<svg class="picture" data-picture="feeling-sad" width="40" height="40"')
        # The file's own size (96) is dropped: only the page's is left.
        assert len(re.findall(r'\swidth="', drawn)) == 1 and len(re.findall(r'\sheight="', drawn)) == 1


def test_every_question_and_choice_has_a_speaker_that_is_hidden_without_javascript(kiosk, child):
    page = "".join(_steps(child).values())
    speakers = re.findall(r'<button type="button" class="say" data-say="([^"]+)"[^>]*hidden>', page)
    assert "How do you feel?" in speakers and "Sad" in speakers and "Toilets" in speakers
    assert len(speakers) >= 30


def test_the_drawing_pad_is_hidden_until_javascript_runs(kiosk, child):
    page = _steps(child)["words"]
    assert re.search(r'<fieldset class="drawing" data-drawing hidden>', page)
    assert re.search(r'<script src="/static/kiosk\.js\?v=\w+" defer></script>', page)


def test_a_worry_can_be_posted_as_a_drawing_alone_and_opens_as_an_image(child, staff_member, console):
    assert child.post(drawing=PNG).status_code == 303
    staff_member.login()
    page = console.get("/worries/1").get_data(as_text=True)
    assert '<img class="worry-drawing" src="%s"' % PNG in page


def test_a_drawing_that_is_not_a_png_is_refused_kindly(child, db):
    response = child.post(drawing="data:text/html;base64,PHNjcmlwdD4=", feeling="sad", text="keep me")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "drawing could not be read" in page and "keep me" in page
    assert db.execute("SELECT count(*) FROM worries").fetchone()[0] == 0


def test_a_drawing_is_sealed_like_text(child, data_dir, db):
    child.post(drawing=PNG)
    raw = b"".join(path.read_bytes() for path in data_dir.iterdir() if path.name.startswith("worrybox.db"))
    assert PNG[30:60].encode() not in raw


def test_every_kiosk_page_has_the_hide_button(kiosk):
    for path in ("/", "/worry", "/help", "/book", "/mediator", "/thanks"):
        page = kiosk.get(path).get_data(as_text=True)
        assert 'class="kiosk-hide" href="/end-visit" data-hide' in page, path


def test_hiding_ends_the_visit_and_forgets_the_language(kiosk):
    kiosk.get("/language/pl")
    assert 'lang="pl"' in kiosk.get("/").get_data(as_text=True)
    response = kiosk.get("/end-visit")
    assert response.status_code == 303 and response.headers["Location"].endswith("/")
    assert 'lang="en"' in kiosk.get("/").get_data(as_text=True)


def test_the_start_screen_names_each_language_in_itself(kiosk):
    page = kiosk.get("/").get_data(as_text=True)
    for code, name in (("en", "English"), ("pa", "ਪੰਜਾਬੀ"), ("ur", "اردو"), ("pl", "Polski")):
        assert re.search(r'href="/language/%s"[^>]*lang="%s"[^>]*>%s</a>' % (code, code, name), page), code


def test_a_worry_records_the_language_it_was_written_in_and_the_console_shows_it(kiosk, child, staff_member, console,
                                                                                 db):
    kiosk.get("/language/ur")
    child.post(text="مجھے ڈر لگتا ہے", feeling="scared")
    assert db.execute("SELECT language FROM worries").fetchone() == ("ur",)
    staff_member.login()
    assert "اردو (Urdu)" in console.get("/worries/1").get_data(as_text=True)


def test_staff_choose_the_kiosk_language_and_idle_time(staff_member, console, kiosk):
    staff_member.login()
    page = console.get("/kiosk").get_data(as_text=True)
    response = console.post("/kiosk", data={"csrf_token": csrf_token(page), "kiosk_language": "pl",
                                           "kiosk_idle_seconds": "90"})
    assert response.status_code == 303
    start = kiosk.get("/").get_data(as_text=True)
    assert 'lang="pl"' in start and 'data-idle-seconds="90"' in start


def test_an_idle_time_out_of_range_is_refused_kindly(staff_member, console):
    staff_member.login()
    page = console.get("/kiosk").get_data(as_text=True)
    response = console.post("/kiosk", data={"csrf_token": csrf_token(page), "kiosk_language": "en",
                                           "kiosk_idle_seconds": "2"})
    assert response.status_code == 422 and "from 15 to 600" in response.get_data(as_text=True)


def test_a_named_tablet_shows_its_name_and_alerts_say_where(kiosk, child, db):
    first = kiosk.get("/enrol/" + tablets.new_enrolment_link_token(db, "Class 4 tablet"), follow_redirects=True)
    assert "Class 4 tablet" in first.get_data(as_text=True)
    cookie = kiosk.get_cookie("worrybox_tablet")
    assert cookie and "Class" not in cookie.value and "tablet" not in cookie.value  # a token, never the name
    assert "Class 4 tablet" in kiosk.get("/worry").get_data(as_text=True)  # remembered
    form = child.form("/help")
    child.client.post("/worry", data=dict(form, urgent="y"))
    assert db.execute("SELECT tablet FROM worries").fetchone() == ("Class 4 tablet",)
    assert "on Class 4 tablet" in db.execute("SELECT body FROM outbox").fetchone()[0]


def test_a_tablet_name_in_the_address_is_ignored(kiosk, db):
    tablets.add_tablet(db, "Class 4 tablet")
    for name in ("<b>Nope</b>", "Class 4 tablet"):
        response = kiosk.get("/", query_string={"tablet": name})
        assert "Nope" not in response.get_data(as_text=True) and "Class 4" not in response.get_data(as_text=True)
        assert "worrybox_tablet" not in response.headers.get("Set-Cookie", "")


def test_staff_name_and_remove_tablets(staff_member, console, db):
    staff_member.login()
    page = console.get("/kiosk").get_data(as_text=True)
    response = console.post("/kiosk/tablets", data={"csrf_token": csrf_token(page), "name": "Library tablet"})
    assert response.status_code == 303
    shown = console.get("/kiosk").get_data(as_text=True)
    assert "/enrol/" in shown and "/enrol/" not in console.get("/kiosk").get_data(as_text=True), "shown once"
    assert tablets.tablet_names(db) == ["Library tablet"]
    page = console.get("/kiosk").get_data(as_text=True)
    console.post("/kiosk/tablets/remove", data={"csrf_token": csrf_token(page), "name": "Library tablet"})
    assert tablets.tablet_names(db) == []


def test_no_page_title_or_address_carries_worry_text_or_a_name(child, kiosk):
    response = child.post(text="TITLE-CANARY private words", feeling="sad", pupil=child.name("P001"), **{"class": "4B"})
    assert response.headers["Location"] == "/thanks"
    page = kiosk.get("/thanks").get_data(as_text=True)
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "TITLE-CANARY" not in title and "Amira" not in title
