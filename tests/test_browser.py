"""The kiosk in a real browser (Debian's Chromium, driven by Playwright) at tablet sizes, as children use it."""

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from helpers import CHROMIUM, DSL_PASSWORD, ROOT, chromium, free_port, gunicorn_app, url
from worrybox import casework, keys, mediators, tablets
from worrybox.config import Paths
from worrybox.db import set_setting
from worrybox.languages import LANGUAGES
from worrybox.school import open_school, pupil_keys

AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"landscape": (1024, 768), "portrait": (768, 1024)}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
SECONDARY_TABLET = "Sixth form tablet"

pytestmark = [pytest.mark.slow,  # Chromium against the kiosk under gunicorn
              pytest.mark.skipif(not Path(CHROMIUM).exists() or not AXE.exists(),
                                 reason="run `make test`: it installs Chromium and axe-core")]


@pytest.fixture(scope="module")
def school(school_template, tmp_path_factory):
    """A school of its own for this module, with a mediator on duty every school day."""
    data_dir = tmp_path_factory.mktemp("browser") / "school"
    shutil.copytree(school_template[0], data_dir)
    db = open_school(Paths(data_dir))
    ref = pupil_keys(Paths(data_dir)).pupil_ref("P003")
    mediators.set_mediator(db, ref)
    pin = mediators.new_pin(db, ref)
    for day in range(5):
        mediators.add_slot(db, day, "00:00", "23:59", "the Rainbow Room", 3, [ref])
    tablets.add_tablet(db, SECONDARY_TABLET)
    tablets.set_age_group(db, SECONDARY_TABLET, "secondary")
    db.close()
    return {"data_dir": data_dir, "pin": pin}


def _enrol_path(school, tablet):
    """The one-time link staff make for a named tablet (a name typed into the address names no tablet)."""
    db = open_school(Paths(school["data_dir"]))
    try:
        return "/enrol/" + tablets.new_enrolment_link_token(db, tablet)
    finally:
        db.close()


@pytest.fixture(scope="module")
def kiosk_url(school):
    port = free_port()
    server = gunicorn_app("kiosk", school["data_dir"], port, workers=2)
    try:
        server.wait_until_healthy(port)
        yield url(port, "")
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(params=list(SIZES))
def size(request):
    return SIZES[request.param]


@pytest.fixture
def page(browser, size):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, has_touch=True, bypass_csp=False)
    page = context.new_page()
    page.set_default_timeout(10000)
    yield page
    context.close()


def _db(school):
    return open_school(Paths(school["data_dir"]))


def _latest_worry(school):
    """Open the newest worry with the DSL's keys, as the console would."""
    db = _db(school)
    try:
        worry_id = db.execute("SELECT max(id) FROM worries").fetchone()[0]
        keyring = keys.unlock_keyring(db, 1, DSL_PASSWORD)
        return casework.read_worry(db, worry_id, keyring)
    finally:
        db.close()


def _count(school):
    db = _db(school)
    try:
        return db.execute("SELECT count(*) FROM worries").fetchone()[0]
    finally:
        db.close()



def _navigate(page, locator, tap=False):
    """Click (or tap) something that loads a new page, and wait until the new page is there."""
    with page.expect_navigation():
        locator.tap() if tap else locator.click()


def _step(page):
    return page.locator("input[name=step]").get_attribute("value")


def _next_until(page, step, tap=False):
    """Press Next until the worry reaches the given step."""
    for _ in range(10):
        if _step(page) == step:
            return
        _navigate(page, page.locator("button.button-next"), tap)
    raise AssertionError("never reached the %s step" % step)


def test_a_worry_is_posted_step_by_step_by_touch_alone_and_opens_unchanged(page, kiosk_url, school):
    page.goto(kiosk_url + "/")
    _navigate(page, page.get_by_role("link", name="I have a worry"), tap=True)
    for step, choice in (("feeling", "Worried"), ("topic", "Friends"), ("place", "Playground"),
                         ("talk_to", "My teacher")):
        assert _step(page) == step
        page.locator("label.tile", has_text=choice).tap()
        _navigate(page, page.locator("button.button-next"), tap=True)
    page.locator("textarea[name=text]").tap()
    page.keyboard.type("TOUCH worry")
    _next_until(page, "name", tap=True)
    _navigate(page, page.locator("button.class-button", has_text="4B"), tap=True)
    page.locator("label.tile", has_text="Amira Qureshi").tap()
    _next_until(page, "send", tap=True)
    expect(page.get_by_text("With your name: Amira Qureshi")).to_be_visible()
    _navigate(page, page.get_by_role("button", name="Send my worry"), tap=True)
    expect(page.get_by_role("heading", name="Thank you for telling us")).to_be_visible()
    worry = _latest_worry(school)
    assert (worry.feeling, worry.topic, worry.place, worry.talk_to, worry.text, worry.pupil["pupil_id"]) == (
        "worried", "friends", "playground", "teacher", "TOUCH worry", "P001")


def test_a_worry_is_posted_step_by_step_by_keyboard_alone(page, kiosk_url, school):
    page.goto(kiosk_url + "/worry")

    def tab_until(predicate_js):
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate(predicate_js):
                return
        raise AssertionError("never reached by Tab: " + predicate_js)

    def next_step():
        tab_until("document.activeElement.classList.contains('button-next')")
        with page.expect_navigation():
            page.keyboard.press("Enter")

    tab_until("document.activeElement.name === 'feeling'")
    page.keyboard.press("ArrowRight")  # arrow keys choose within a group of pictures
    next_step()
    next_step()
    next_step()
    next_step()
    assert _step(page) == "words"
    tab_until("document.activeElement.name === 'text'")
    page.keyboard.type("KEYBOARD-ONLY worry")
    next_step()
    next_step()
    assert _step(page) == "code"
    tab_until("document.activeElement.name === 'add_animal'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    next_step()
    assert _step(page) == "send"
    tab_until("document.activeElement.classList.contains('button-send')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Thank you for telling us")).to_be_visible()
    worry = _latest_worry(school)
    assert worry.text == "KEYBOARD-ONLY worry" and worry.feeling is not None


def test_focus_is_always_visible(page, kiosk_url):
    page.goto(kiosk_url + "/worry")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_with_javascript_off_a_worry_goes_step_by_step_and_back_loses_nothing(browser, kiosk_url, school):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1024, "height": 768})
    page = context.new_page()
    try:
        page.goto(kiosk_url + "/worry")
        expect(page.locator("button.say").first).to_be_hidden()
        page.locator("label.tile", has_text="Sad").click()
        _next_until(page, "words")
        expect(page.locator("[data-drawing]")).to_be_hidden()
        page.locator("textarea[name=text]").fill("NO-JS worry")
        _navigate(page, page.locator("button.button-next"))
        for _ in range(5):
            _navigate(page, page.locator("button.button-back"))
        assert _step(page) == "feeling"
        expect(page.locator("label.tile", has_text="Sad").locator("input")).to_be_checked()
        _next_until(page, "words")
        expect(page.locator("textarea[name=text]")).to_have_value("NO-JS worry")
        _navigate(page, page.get_by_role("button", name="Send now"))
        expect(page.get_by_role("heading", name="Thank you for telling us")).to_be_visible()
        # It still goes back to the start by itself, through the refresh kept for pages without JavaScript.
        assert page.locator('meta[http-equiv="refresh"]').count() == 1
    finally:
        context.close()
    worry = _latest_worry(school)
    assert (worry.text, worry.feeling) == ("NO-JS worry", "sad")


def test_one_animal_and_send_now_posts_the_worry(page, kiosk_url, school):
    before = _count(school)
    page.goto(kiosk_url + "/worry")
    page.locator("label.tile", has_text="Scared").click()
    _next_until(page, "code")
    _navigate(page, page.locator("button[name=add_animal][value=cat]"))
    expect(page.locator(".code-slot-full")).to_have_count(1)
    _navigate(page, page.get_by_role("button", name="Send now"))
    expect(page.get_by_role("heading", name="Thank you for telling us")).to_be_visible()
    expect(page.get_by_text("Your animals were not finished")).to_be_visible()
    assert _count(school) == before + 1 and _latest_worry(school).feeling == "scared"


def test_the_first_problem_is_scrolled_into_view_and_focused(page, kiosk_url):
    page.goto(kiosk_url + "/worry")
    _next_until(page, "talk_to")
    _navigate(page, page.get_by_role("button", name="Send now"))
    problem = page.locator(".notice-error")
    expect(problem).to_be_focused()
    expect(problem).to_be_in_viewport()
    assert "choose a face" in problem.inner_text()


def test_with_javascript_on_the_speaker_buttons_show(page, kiosk_url):
    page.goto(kiosk_url + "/worry")
    speakers = page.locator("button.say")
    if page.evaluate("'speechSynthesis' in window"):
        expect(speakers.first).to_be_visible()
        speakers.first.click()  # speaks, or silently does nothing where there is no voice
    else:
        expect(speakers.first).to_be_hidden()


def _draw_on(page, canvas, strokes):
    box = canvas.bounding_box()
    for (x1, y1), (x2, y2) in strokes:
        page.mouse.move(box["x"] + x1, box["y"] + y1)
        page.mouse.down()
        for step in range(1, 8):
            page.mouse.move(box["x"] + x1 + (x2 - x1) * step / 7, box["y"] + y1 + (y2 - y1) * step / 7)
        page.mouse.up()


def test_a_worry_can_be_drawn_without_typing_a_letter_and_the_drawing_survives_back(page, kiosk_url, school):
    page.goto(kiosk_url + "/worry")
    _next_until(page, "words")
    canvas = page.locator("canvas.draw-pad")
    expect(canvas).to_be_visible()
    expect(canvas).to_be_in_viewport()
    _draw_on(page, canvas, [((20, 20), (180, 100))])
    page.get_by_role("button", name="Red", exact=True).click()
    _draw_on(page, canvas, [((200, 30), (260, 120))])
    drawn = page.locator("input[name=drawing]").input_value()
    _navigate(page, page.locator("button.button-next"))
    _navigate(page, page.locator("button.button-back"))
    assert page.locator("input[name=drawing]").input_value() == drawn  # back on its step, nothing lost
    _navigate(page, page.get_by_role("button", name="Send now"))
    expect(page.get_by_role("heading", name="Thank you for telling us")).to_be_visible()
    worry = _latest_worry(school)
    assert worry.drawing.startswith("data:image/png;base64,") and len(worry.drawing) > 500
    assert worry.text == "" and worry.feeling is None


def test_undo_and_clear_empty_the_drawing(page, kiosk_url):
    page.goto(kiosk_url + "/worry")
    _next_until(page, "words")
    canvas = page.locator("canvas.draw-pad")
    _draw_on(page, canvas, [((30, 30), (90, 90)), ((70, 30), (130, 90))])
    field = page.locator("input[name=drawing]")
    assert field.input_value().startswith("data:image/png")
    page.get_by_role("button", name="Undo", exact=True).click()
    assert field.input_value().startswith("data:image/png")
    page.get_by_role("button", name="Clear", exact=True).click()
    assert field.input_value() == ""


def test_every_step_fits_the_screen_with_its_buttons(page, kiosk_url):
    page.goto(kiosk_url + "/worry")
    while True:
        step = _step(page)
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height <= page.viewport_size["height"], "the %s step is %dpx tall" % (step, height)
        expect(page.get_by_role("button", name="Send my worry" if step == "send" else "Send now")).to_be_in_viewport()
        if step == "send":
            break
        _navigate(page, page.locator("button.button-next"))


def test_switching_to_urdu_lays_the_page_out_right_to_left(page, kiosk_url, school):
    page.goto(kiosk_url + "/")
    _navigate(page, page.get_by_role("link", name="اردو"))
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("document.documentElement.lang") == "ur"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    _navigate(page, page.locator("a.big-choice").first)
    page.locator("label.tile").nth(0).click()
    _next_until(page, "words")
    page.locator("textarea[name=text]").fill("مجھے ڈر لگتا ہے")
    _navigate(page, page.locator("button.button-send-now"))
    assert page.evaluate("document.documentElement.dir") == "rtl"
    worry = _latest_worry(school)
    assert worry.language == "ur" and worry.text == "مجھے ڈر لگتا ہے"


def test_the_language_lasts_only_for_one_visit(page, kiosk_url):
    page.goto(kiosk_url + "/")
    _navigate(page, page.get_by_role("link", name="Polski"))
    assert page.evaluate("document.documentElement.lang") == "pl"
    _navigate(page, page.locator("a.kiosk-hide"))
    assert page.evaluate("document.documentElement.lang") == "en"


def test_after_posting_the_back_button_shows_nothing_of_the_worry(page, kiosk_url):
    page.goto(kiosk_url + "/worry")
    page.locator("label.tile", has_text="Lonely").click()
    _next_until(page, "words")
    page.locator("textarea[name=text]").fill("BACK-CANARY nobody plays with me")
    _navigate(page, page.get_by_role("button", name="Send now"))
    expect(page.get_by_role("heading", name="Thank you for telling us")).to_be_visible()
    try:
        page.go_back()  # the steps were posted pages that are never cached: Chromium shows its own error page
        page.wait_for_load_state()
    except PlaywrightError as error:
        assert "ERR_CACHE_MISS" in str(error)
    page.wait_for_timeout(500)  # a page brought back from memory goes on to the start by itself
    page.wait_for_load_state()
    assert "BACK-CANARY" not in page.content()
    if page.locator("textarea[name=text]").count():
        assert page.locator("textarea[name=text]").input_value() == ""


def _set_idle(school, seconds):
    db = _db(school)
    set_setting(db, "kiosk_idle_seconds", str(seconds))
    db.close()


def test_an_untouched_page_asks_for_more_time_for_20_seconds_before_it_clears(page, kiosk_url, school):
    _set_idle(school, 3)
    try:
        page.clock.install()
        page.goto(kiosk_url + "/worry")
        page.clock.run_for(5000)
        assert page.url.endswith("/worry"), "nothing was entered, so the page stays"
        expect(page.locator("dialog.more-time")).to_be_hidden()
        page.locator("label.tile", has_text="Angry").click()
        page.clock.run_for(3500)
        dialog = page.locator("dialog.more-time")
        expect(dialog).to_be_visible()
        expect(dialog.get_by_text("Do you need more time?")).to_be_visible()
        page.clock.run_for(19_000)
        assert page.url.endswith("/worry") and dialog.is_visible(), "the question stays for at least 20 seconds"
        dialog.get_by_role("button", name="Yes, more time").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("label.tile", has_text="Angry").locator("input")).to_be_checked()
        page.clock.run_for(3500)
        expect(dialog).to_be_visible()
        with page.expect_navigation():
            page.clock.run_for(21_000)
        assert re.search(r"/$", page.url)
        assert page.locator("input[type=radio]:checked").count() == 0
    finally:
        _set_idle(school, 60)


def test_the_thank_you_page_asks_before_it_returns_to_the_start(page, kiosk_url, school):
    _set_idle(school, 3)
    try:
        page.clock.install()
        page.goto(kiosk_url + "/worry")
        page.locator("label.tile", has_text="Okay").click()
        _navigate(page, page.get_by_role("button", name="Send now"))
        expect(page.get_by_role("heading", name="Thank you for telling us")).to_be_visible()
        assert page.locator('meta[http-equiv="refresh"]').count() == 0, "the refresh is for no JavaScript only"
        page.clock.run_for(3500)
        expect(page.locator("dialog.more-time")).to_be_visible()
        page.clock.run_for(19_000)
        assert "/thanks" in page.url
        with page.expect_navigation():
            page.clock.run_for(2000)
        assert re.search(r"/$", page.url)
    finally:
        _set_idle(school, 60)


def _overlaps(a, b):
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def test_every_start_screen_choice_is_on_screen_without_scrolling(page, kiosk_url, school):
    for language in LANGUAGES:
        page.goto(kiosk_url + "/language/" + language)
        for tablet in ("", SECONDARY_TABLET):
            if tablet:
                page.goto(kiosk_url + _enrol_path(school, tablet))
            choices = page.locator("a.big-choice, a.language, a.quiet-link, a.kiosk-hide")
            assert choices.count() == 10
            for index in range(choices.count()):
                expect(choices.nth(index)).to_be_in_viewport(ratio=1)
        page.context.clear_cookies()


LABELLED_PAGES = ["/", "/worry", "/worry?class=4B", "/heard/animals", "/heard/name?class=4B", "/mediator", "/help"]


def test_no_speaker_button_covers_a_label(page, kiosk_url):
    for language in ("en", "ur"):
        page.goto(kiosk_url + "/language/" + language)
        for path in LABELLED_PAGES:
            page.goto(kiosk_url + path)
            _check_speakers(page, path)
        page.goto(kiosk_url + "/worry")
        for _ in range(6):  # every step with pictures, and the animals of the picture code
            _navigate(page, page.locator("button.button-next"))
            _check_speakers(page, _step(page))


def _check_speakers(page, where):
    # Shown whether or not this browser has a voice, so the layout is checked either way. The boxes are read in
    # one call: the same rectangles Playwright's bounding_box() gives, without a round trip for each element.
    speakers, labels = page.evaluate("""() => {
        document.querySelectorAll('button.say').forEach(b => b.hidden = false);
        const boxes = selector => [...document.querySelectorAll(selector)]
            .map(el => el.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0)
            .map(r => ({x: r.x, y: r.y, width: r.width, height: r.height}));
        return [boxes('button.say'),
                boxes('.tile-text, .big-choice span, .tile .picture, .big-choice .picture, .legend-text')];
    }""")
    assert speakers and labels, "no speaker or no label found on %s" % where
    for speaker in speakers:
        for label in labels:
            assert not _overlaps(speaker, label), "on %s a speaker %r covers a label %r" % (where, speaker, label)


FONT_OF_LANGUAGE = {"pa": "Noto Sans Gurmukhi", "ur": "Noto Naskh Arabic", "en": "Noto Sans", "pl": "Noto Sans"}


def _fonts_drawing(page, selector):
    """The fonts Chromium really drew an element's text with: {family: (bundled?, glyphs)}."""
    session = page.context.new_cdp_session(page)
    session.send("DOM.enable")
    session.send("CSS.enable")
    root = session.send("DOM.getDocument")["root"]["nodeId"]
    node = session.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {font["familyName"]: (font["isCustomFont"], font["glyphCount"]) for font in fonts}


@pytest.mark.parametrize("language", ["pa", "ur", "pl"])
def test_each_language_is_drawn_with_its_bundled_font_in_a_light_page(browser, kiosk_url, language):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    responses = []
    page.on("response", lambda response: responses.append(response))
    try:
        page.goto(kiosk_url + "/language/" + language)
        page.evaluate("document.fonts.ready")
        page.wait_for_load_state("networkidle")
        weight = sum(len(response.body()) for response in responses if response.status == 200)
        assert weight <= 250_000, "the %s start screen weighs %d bytes on a first visit" % (language, weight)
        family = FONT_OF_LANGUAGE[language]
        loaded = page.evaluate("""family => [...document.fonts]
            .filter(face => face.family.replace(/"/g, '') === family && face.status === 'loaded').length""", family)
        assert loaded >= 1, "%s never loaded on the %s start screen" % (family, language)
        for selector in ("h1", "a.big-choice span", "a.language[hreflang=%s]" % language, "p.small-print"):
            drawn = _fonts_drawing(page, selector)
            bundled = {name: glyphs for name, (custom, glyphs) in drawn.items() if custom}
            assert family in bundled, "%s on the %s page was drawn with %r" % (selector, language, drawn)
            assert sum(bundled.values()) == sum(glyphs for _custom, glyphs in drawn.values()), drawn
    finally:
        context.close()


def test_the_start_screen_names_every_language_in_its_own_script_without_fetching_whole_fonts(browser, kiosk_url):
    # An English start screen shows "ਪੰਜਾਬੀ" and "اردو": a child who reads them must see real letters, and the
    # tablet on slow Wi-Fi should not fetch all of Punjabi and Urdu (36 KB) for those two words.
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    fetched = []
    page.on("response", lambda response: fetched.append(response.url.split("/")[-1].split("?")[0]))
    try:
        page.goto(kiosk_url + "/language/en")
        page.evaluate("document.fonts.ready")
        page.wait_for_load_state("networkidle")
        for language in ("en", "pa", "ur", "pl"):
            drawn = _fonts_drawing(page, "a.language[hreflang=%s]" % language)
            assert drawn and all(custom for custom, _glyphs in drawn.values()), (language, drawn)
            assert FONT_OF_LANGUAGE[language] in drawn, (language, drawn)
        whole = [name for name in fetched if re.match(r"noto-(sans-gurmukhi|naskh-arabic)-", name)]
        assert not whole, "the English start screen fetched %s" % whole
    finally:
        context.close()


def _fonts_fetched(browser, kiosk_url, language, path, keep_preloads):
    """The font files a kiosk page fetched, as {file: times}, with its preload links kept or taken out."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    fetched = {}
    page.on("request", lambda request: request.url.endswith(".woff2") and fetched.update(
        {request.url.split("/")[-1]: fetched.get(request.url.split("/")[-1], 0) + 1}))

    def without_preloads(route):
        response = route.fetch()
        body = response.text() if keep_preloads else re.sub(r'<link rel="preload"[^>]*>', "", response.text())
        route.fulfill(response=response, body=body)

    try:
        page.goto(kiosk_url + "/language/" + language)
        page.route(kiosk_url + path, without_preloads)
        fetched.clear()
        page.goto(kiosk_url + path)
        page.evaluate("document.fonts.ready")
        page.wait_for_load_state("networkidle")
        preloaded = page.eval_on_selector_all('link[rel=preload][as=font]', "links => links.map(l => l.href)")
        return fetched, [href.split("/")[-1] for href in preloaded]
    finally:
        context.close()


@pytest.mark.parametrize("language", ["en", "pa", "ur", "pl"])
def test_a_page_asks_early_for_the_fonts_it_draws_with_and_fetches_each_once(browser, kiosk_url, language):
    # Fonts are asked for with the page, not after the stylesheet: on slow Wi-Fi a round trip sooner. A font
    # asked for but never drawn is bytes wasted (at most Polish's small regular file, on a page with no regular
    # "ą" or "ł"); one asked for by another address would come twice.
    fonts = Path(__file__).resolve().parent.parent / "static" / "fonts"
    for path in ("/", "/worry"):
        used, none_preloaded = _fonts_fetched(browser, kiosk_url, language, path, keep_preloads=False)
        fetched, preloaded = _fonts_fetched(browser, kiosk_url, language, path, keep_preloads=True)
        assert none_preloaded == [] and preloaded, (language, path)
        wasted = set(preloaded) - set(used)
        assert sum((fonts / name).stat().st_size for name in wasted) <= 4096, (language, path, wasted)
        assert set(fetched) == set(used) | wasted and set(fetched.values()) == {1}, (language, path, fetched, used)


def _kiosk_pages(page, kiosk_url, school):
    """Visit every kiosk page a child or mediator can reach; yield (name, page) at each."""
    def go(locator):
        _navigate(page, locator)

    for path in ("/", "/help", "/book", "/mediator", "/no-such-page", "/heard", "/heard/animals",
                 "/heard/name?class=4B"):
        page.goto(kiosk_url + path)
        yield path, page
    page.goto(kiosk_url + "/worry")
    go(page.locator("button.button-send-now"))
    yield "worry step with a mistake", page
    page.locator("label.tile").nth(2).click()
    yield "step feeling", page
    while _step(page) != "send":
        go(page.locator("button.button-next"))
        if _step(page) == "name":
            go(page.locator("button.class-button").first)
        if _step(page) == "code":
            go(page.locator("button[name=add_animal]").first)  # a picture code: the first animal thrice
            go(page.locator("button[name=add_animal]").first)
            go(page.locator("button[name=add_animal]").first)
        yield "step " + _step(page), page
    go(page.locator("button.button-send"))
    yield "thank you", page
    page.evaluate("document.querySelector('dialog.more-time').showModal()")
    yield "do you need more time?", page
    page.goto(kiosk_url + "/book")
    go(page.locator("a.slot").first)
    yield "booking form", page
    go(page.locator("button.class-button", has_text="4B"))
    yield "booking form with names", page
    page.locator("label.tile").first.click()
    go(page.locator("button.button-send"))
    yield "booked", page
    page.goto(kiosk_url + "/heard/animals")
    for _ in range(3):  # the code posted above: the first animal thrice
        go(page.locator("button[name=add_animal]").first)
    go(page.locator("button.button-send"))
    yield "did someone read my worry: the answer", page
    page.goto(kiosk_url + "/mediator")
    page.locator("label.tile").first.click()
    page.locator("input[name=pin]").fill(school["pin"])
    go(page.locator("button[type=submit]"))
    yield "mediator's rota", page
    go(page.locator("form[action='/mediator/done'] button"))


@pytest.mark.parametrize("age_group", ["primary", "secondary"])
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_axe_with_every_rule_finds_no_problem_on_any_kiosk_page_at_both_sizes(browser, kiosk_url, school, language,
                                                                              age_group):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True, bypass_csp=True)
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    problems = {}
    try:
        if age_group == "secondary":
            page.goto(kiosk_url + _enrol_path(school, SECONDARY_TABLET))
        page.goto(kiosk_url + "/language/" + language)
        for name, visited in _kiosk_pages(page, kiosk_url, school):
            assert visited.evaluate("document.documentElement.lang") == language, name
            if name != "/no-such-page":  # the error page is the shared one, outside the kiosk's layout
                assert visited.evaluate("document.body.dataset.ageGroup") == age_group, name
            for size_name, (width, height) in SIZES.items():  # the same page at both tablet sizes
                visited.set_viewport_size({"width": width, "height": height})
                violations = visited.evaluate(
                    """async (tags) => {
                        const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                                resultTypes: ['violations']});
                        return result.violations.map(
                            v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
                    }""", AXE_TAGS)
                if violations:
                    problems["%s (%s)" % (name, size_name)] = violations
            visited.set_viewport_size({"width": 1024, "height": 768})
    finally:
        context.close()
    assert problems == {}


SCREENSHOTS = [("en", ""), ("pa", ""), ("ur", ""), ("pl", ""), ("en", SECONDARY_TABLET)]


@pytest.mark.parametrize("language, tablet", SCREENSHOTS, ids=["%s%s" % (lang, "-secondary" if tablet else "")
                                                              for lang, tablet in SCREENSHOTS])
def test_screenshots_of_the_start_screen_and_worry_steps(browser, kiosk_url, school, language, tablet, tmp_path):
    """Saved to docs/screenshots with WORRYBOX_SCREENSHOTS=1 (`make screenshots`), else to a temporary folder."""
    folder = ROOT / "docs" / "screenshots" if os.environ.get("WORRYBOX_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    prefix = language + ("-secondary" if tablet else "")
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    names = ["start", "worry", "words", "code"]
    try:
        if tablet:
            page.goto(kiosk_url + _enrol_path(school, tablet))
        page.goto(kiosk_url + "/language/" + language)
        page.evaluate("document.fonts.ready")
        page.screenshot(path=folder / ("%s-start.png" % prefix))
        page.goto(kiosk_url + "/worry")
        page.locator("label.tile").nth(1).click()
        page.screenshot(path=folder / ("%s-worry.png" % prefix))
        _next_until(page, "words")
        page.screenshot(path=folder / ("%s-words.png" % prefix))
        _next_until(page, "code")
        _navigate(page, page.locator("button[name=add_animal]").nth(2))
        page.screenshot(path=folder / ("%s-code.png" % prefix))
    finally:
        context.close()
    for name in names:
        assert (folder / ("%s-%s.png" % (prefix, name))).stat().st_size > 10_000


# The staff console on a laptop screen.

@pytest.fixture(scope="module")
def console_url(school):
    port = free_port()
    server = gunicorn_app("console", school["data_dir"], port)
    try:
        server.wait_until_healthy(port)
        yield url(port, "")
    finally:
        server.stop()


def test_the_console_menu_wraps_between_items_never_inside_a_label_at_1024_px_and_narrower(browser, console_url):
    # Narrower widths stand in for 1024 px with a wider system font or zoomed text: the menu has to wrap.
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.set_default_timeout(10000)
    try:
        page.goto(console_url + "/login")
        page.fill("input[name=email]", "dsl@school.example")
        page.fill("input[name=password]", DSL_PASSWORD)
        page.click("form.narrow button[type=submit]")
        expect(page.locator(".console-nav")).to_be_visible()
        for width in (1024, 960, 900, 840, 780, 720, 660, 600):
            page.set_viewport_size({"width": width, "height": 768})
            links = page.eval_on_selector_all(".console-nav a", """links => links.map(link => ({
                label: link.textContent.trim(), boxes: link.getClientRects().length,
                height: link.getBoundingClientRect().height, line: parseFloat(getComputedStyle(link).lineHeight)}))""")
            assert len(links) >= 10, "the DSL's whole menu is shown"
            broken = [link["label"] for link in links if link["boxes"] != 1 or link["height"] > 1.5 * link["line"]]
            assert broken == [], "at %d px these menu labels wrap mid-label: %s" % (width, broken)
            # The menu itself fits (a table of worries on the page may scroll sideways at 600 px; the menu never).
            assert page.evaluate("document.querySelector('.console-nav').getBoundingClientRect().right") <= width
    finally:
        context.close()
