"""The kiosk in a real browser (Debian's Chromium, driven by Playwright) at tablet sizes, as children use it."""

import os
import re
import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from helpers import DSL_PASSWORD, ROOT, free_port, gunicorn_app, url
from worrybox import casework, keys, mediators
from worrybox.config import Paths
from worrybox.db import set_setting
from worrybox.languages import LANGUAGES
from worrybox.school import open_school, pupil_keys

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"landscape": (1024, 768), "portrait": (768, 1024)}
# Flags for a sandboxed machine with no network: no first-run, no background calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# The one rule switched off, on purpose: the thank-you, booked and mediator pages return to the start
# by themselves (a meta refresh, so it works without JavaScript). On a shared tablet that is the
# privacy timeout the school asked for (its length is a school setting), not a time limit on a task.
AXE_RULES_OFF = {"meta-refresh": {"enabled": False}}

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
    db.close()
    return {"data_dir": data_dir, "pin": pin}


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
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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


def test_a_worry_is_posted_by_touch_alone(page, kiosk_url, school):
    page.goto(kiosk_url + "/")
    page.get_by_role("link", name="I have a worry").tap()
    page.locator("label.tile", has_text="Worried").tap()
    page.locator("label.tile", has_text="Friends").tap()
    page.locator("label.tile", has_text="Playground").tap()
    page.get_by_role("button", name="Send my worry").tap()
    expect(page.get_by_role("heading", name="Thank you for telling us")).to_be_visible()
    worry = _latest_worry(school)
    assert (worry.feeling, worry.topic, worry.place) == ("worried", "friends", "playground")


def test_a_worry_is_posted_by_keyboard_alone(page, kiosk_url, school):
    page.goto(kiosk_url + "/worry")

    def tab_until(predicate_js):
        for _ in range(150):
            page.keyboard.press("Tab")
            if page.evaluate(predicate_js):
                return
        raise AssertionError("never reached by Tab: " + predicate_js)

    tab_until("document.activeElement.name === 'feeling'")
    page.keyboard.press("ArrowRight")  # arrow keys choose within a group of pictures
    tab_until("document.activeElement.name === 'text'")
    page.keyboard.type("KEYBOARD-ONLY worry")
    tab_until("document.activeElement.type === 'submit' && document.activeElement.classList.contains('button-send')")
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


def test_with_javascript_off_a_worry_still_posts_and_the_extras_are_absent(browser, kiosk_url, school):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1024, "height": 768})
    page = context.new_page()
    try:
        page.goto(kiosk_url + "/worry")
        expect(page.locator("button.say").first).to_be_hidden()
        expect(page.locator("[data-drawing]")).to_be_hidden()
        page.locator("label.tile", has_text="Sad").click()
        page.locator("textarea[name=text]").fill("NO-JS worry")
        page.get_by_role("button", name="Send my worry").click()
        expect(page.get_by_role("heading", name="Thank you for telling us")).to_be_visible()
        assert page.locator('meta[http-equiv="refresh"]').count() == 1  # it still goes back to the start by itself
    finally:
        context.close()
    assert _latest_worry(school).text == "NO-JS worry"


def test_with_javascript_on_the_speaker_buttons_show(page, kiosk_url):
    page.goto(kiosk_url + "/worry")
    speakers = page.locator("button.say")
    if page.evaluate("'speechSynthesis' in window"):
        expect(speakers.first).to_be_visible()
        speakers.first.click()  # speaks, or silently does nothing where there is no voice
    else:
        expect(speakers.first).to_be_hidden()


def test_a_worry_can_be_drawn_without_typing_a_letter(page, kiosk_url, school):
    page.goto(kiosk_url + "/worry")
    canvas = page.locator("canvas.draw-pad")
    expect(canvas).to_be_visible()
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 15, box["y"] + 20 + step * 8)
    page.mouse.up()
    page.get_by_role("button", name="Red", exact=True).click()
    page.mouse.move(box["x"] + 200, box["y"] + 30)
    page.mouse.down()
    page.mouse.move(box["x"] + 260, box["y"] + 120)
    page.mouse.up()
    page.get_by_role("button", name="Send my worry").click()
    expect(page.get_by_role("heading", name="Thank you for telling us")).to_be_visible()
    worry = _latest_worry(school)
    assert worry.drawing.startswith("data:image/png;base64,") and len(worry.drawing) > 500
    assert worry.text == "" and worry.feeling is None


def test_undo_and_clear_empty_the_drawing(page, kiosk_url):
    page.goto(kiosk_url + "/worry")
    canvas = page.locator("canvas.draw-pad")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for offset in (0, 40):
        page.mouse.move(box["x"] + 30 + offset, box["y"] + 30)
        page.mouse.down()
        page.mouse.move(box["x"] + 90 + offset, box["y"] + 90)
        page.mouse.up()
    field = page.locator("input[name=drawing]")
    assert field.input_value().startswith("data:image/png")
    page.get_by_role("button", name="Undo", exact=True).click()
    assert field.input_value().startswith("data:image/png")
    page.get_by_role("button", name="Clear", exact=True).click()
    assert field.input_value() == ""


def _navigate(page, locator):
    """Click something that loads a new page, and wait until the new page is there."""
    with page.expect_navigation():
        locator.click()


def test_switching_to_urdu_lays_the_page_out_right_to_left(page, kiosk_url, school):
    page.goto(kiosk_url + "/")
    _navigate(page, page.get_by_role("link", name="اردو"))
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("document.documentElement.lang") == "ur"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    _navigate(page, page.locator("a.big-choice").first)
    page.locator("label.tile").nth(0).click()
    page.locator("textarea[name=text]").fill("مجھے ڈر لگتا ہے")
    _navigate(page, page.locator("button.button-send"))
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
    page.locator("textarea[name=text]").fill("BACK-CANARY nobody plays with me")
    page.get_by_role("button", name="Send my worry").click()
    expect(page.get_by_role("heading", name="Thank you for telling us")).to_be_visible()
    page.go_back()
    page.wait_for_load_state()
    assert "BACK-CANARY" not in page.content()
    if page.locator("textarea[name=text]").count():
        assert page.locator("textarea[name=text]").input_value() == ""
        assert page.locator("input[type=radio]:checked:not([value=''])").count() == 0


def test_an_untouched_page_clears_itself_after_the_idle_time(page, kiosk_url, school):
    db = _db(school)
    set_setting(db, "kiosk_idle_seconds", "3")
    db.close()
    try:
        page.goto(kiosk_url + "/worry")
        time.sleep(4)
        assert page.url.endswith("/worry"), "nothing was entered, so the page stays"
        page.locator("label.tile", has_text="Angry").click()
        page.locator("textarea[name=text]").fill("IDLE-CANARY")
        page.wait_for_url(re.compile(r"/$"), timeout=8000)
        page.goto(kiosk_url + "/worry")
        assert page.locator("textarea[name=text]").input_value() == ""
        assert "IDLE-CANARY" not in page.content()
    finally:
        db = _db(school)
        set_setting(db, "kiosk_idle_seconds", "60")
        db.close()


def _kiosk_pages(page, kiosk_url, school):
    """Visit every kiosk page a child or mediator can reach; yield (name, page) at each."""
    def go(locator):
        _navigate(page, locator)

    for path in ("/", "/worry", "/worry?class=4B", "/help", "/book", "/mediator", "/no-such-page", "/heard",
                 "/heard/animals", "/heard/name?class=4B"):
        page.goto(kiosk_url + path)
        yield path, page
    page.goto(kiosk_url + "/book")
    go(page.locator("a.slot").first)
    yield "booking form", page
    go(page.locator("button.class-button", has_text="4B"))
    yield "booking form with names", page
    page.locator("label.tile").first.click()
    go(page.locator("button.button-send"))
    yield "booked", page
    page.goto(kiosk_url + "/worry")
    go(page.locator("button.button-send"))
    yield "worry form with a mistake", page
    page.locator("label.tile").nth(2).click()
    for row in page.locator(".picture-code fieldset.tiles").all():  # a picture code: the first animal thrice
        row.locator("label.tile").first.click()
    go(page.locator("button.button-send"))
    yield "thank you", page
    page.goto(kiosk_url + "/heard/animals")
    for row in page.locator("fieldset.tiles").all():
        row.locator("label.tile").first.click()
    go(page.locator("button.button-send"))
    yield "did someone read my worry: the answer", page
    page.goto(kiosk_url + "/mediator")
    page.locator("label.tile").first.click()
    page.locator("input[name=pin]").fill(school["pin"])
    go(page.locator("button[type=submit]"))
    yield "mediator's rota", page
    go(page.locator("form[action='/mediator/done'] button"))


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_axe_finds_no_accessibility_problem_on_any_kiosk_page(browser, size, kiosk_url, school, language):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, has_touch=True, bypass_csp=True)
    page = context.new_page()
    problems = {}
    try:
        page.goto(kiosk_url + "/language/" + language)
        for name, visited in _kiosk_pages(page, kiosk_url, school):
            assert visited.evaluate("document.documentElement.lang") == language, name
            visited.add_script_tag(path=str(AXE))
            violations = visited.evaluate(
                """async ([tags, rules]) => {
                    const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, rules: rules});
                    return result.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
                }""", [AXE_TAGS, AXE_RULES_OFF])
            if violations:
                problems[name] = violations
    finally:
        context.close()
    assert problems == {}


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_screenshots_of_the_start_screen_and_worry_form(browser, kiosk_url, language, tmp_path):
    """Saved to docs/screenshots with WORRYBOX_SCREENSHOTS=1 (`make screenshots`), else to a temporary folder."""
    folder = ROOT / "docs" / "screenshots" if os.environ.get("WORRYBOX_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    try:
        page.goto(kiosk_url + "/language/" + language)
        page.screenshot(path=folder / ("%s-start.png" % language))
        page.goto(kiosk_url + "/worry")
        page.locator("label.tile").nth(1).click()
        page.screenshot(path=folder / ("%s-worry.png" % language))
    finally:
        context.close()
    for name in ("start", "worry"):
        assert (folder / ("%s-%s.png" % (language, name))).stat().st_size > 10_000


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
