"""The "How safe do you feel?" survey at the kiosk: offered only while open, anonymous, once per visit, in every
language, by touch alone and without JavaScript."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from helpers import CHROMIUM, ConsoleHelper, chromium, csrf_token, free_port, gunicorn_app, url
from worrybox import survey

def _open(db, today):
    survey.open_window(db, today - timedelta(days=1), today + timedelta(days=3), 1)


def test_the_start_screen_offers_the_survey_only_while_it_is_open(db, today, kiosk):
    assert 'href="/survey"' not in kiosk.get("/").get_data(as_text=True)
    assert "survey is closed" in kiosk.get("/survey").get_data(as_text=True)
    _open(db, today)
    assert 'href="/survey"' in kiosk.get("/").get_data(as_text=True)


def test_one_response_per_visit_keeping_only_the_day_and_class(db, today, kiosk):
    _open(db, today)
    page = kiosk.get("/survey").get_data(as_text=True)
    answers = {"csrf_token": csrf_token(page), "class_name": "4B", "safe_in_toilets": "no", "safe_online": "yes"}
    assert kiosk.post("/survey", data=answers).status_code == 303
    assert "already answered" in kiosk.post("/survey", data=answers).get_data(as_text=True)
    assert db.execute("SELECT answered_on, class_name FROM survey_responses").fetchall() == [(today.isoformat(), "4B")]
    kiosk.get("/end-visit")  # the next child
    page = kiosk.get("/survey").get_data(as_text=True)
    bad = kiosk.post("/survey", data={"csrf_token": csrf_token(page), "class_name": "", "safe_online": "maybe",
                                      "safe_in_class": "yes"})
    assert bad.status_code == 422
    assert 'value="yes" checked' in bad.get_data(as_text=True), "what was chosen is still chosen"
    assert db.execute("SELECT count(*) FROM survey_responses").fetchone()[0] == 1


def test_a_secondary_tablet_asks_about_staff_not_grown_ups(db, today, kiosk_app):
    from worrybox import tablets
    _open(db, today)
    tablets.add_tablet(db, "Sixth form")
    tablets.set_age_group(db, "Sixth form", "secondary")
    client = kiosk_app.test_client()
    token = tablets.new_enrolment_link_token(db, "Sixth form")
    client.get("/enrol/" + token)
    page = client.get("/survey").get_data(as_text=True)
    assert "I know a member of staff I can tell" in page and "I know a grown-up" not in page


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="run `make test`: it installs Chromium")
def test_a_survey_answered_in_punjabi_by_touch_with_javascript_off_shows_in_the_results_by_class(
        data_dir, db, today, console_app):
    _open(db, today)
    port = free_port()
    server = gunicorn_app("kiosk", data_dir, port, workers=1)
    try:
        server.wait_until_healthy(port)
        with chromium() as browser:
            context = browser.new_context(java_script_enabled=False, has_touch=True,
                                          viewport={"width": 768, "height": 1024})
            page = context.new_page()
            page.goto(url(port, "/"))
            page.get_by_role("link", name="ਪੰਜਾਬੀ").tap()
            page.wait_for_load_state()
            page.get_by_role("link", name="ਤੁਹਾਨੂੰ ਕਿੰਨਾ ਸੁਰੱਖਿਅਤ ਲੱਗਦਾ ਹੈ?").tap()
            page.wait_for_url("**/survey")
            assert page.locator("html").get_attribute("lang") == "pa"
            assert page.locator("button.say:visible").count() == 0, "no speakers without JavaScript"
            page.locator("label.tile", has_text="4B").tap()
            for question in page.locator("fieldset.survey-question").all()[:4]:
                question.locator("label.tile", has_text="ਹਾਂ").tap()
            page.locator("fieldset.survey-question").nth(2).locator("label.tile", has_text="ਨਹੀਂ").tap()  # toilets: no
            page.get_by_role("button", name="ਮੇਰੇ ਜਵਾਬ ਭੇਜੋ").tap()
            page.wait_for_url("**/survey/thanks")
            content = page.content()
            assert "ਤੁਹਾਡੇ ਜਵਾਬਾਂ ਲਈ ਧੰਨਵਾਦ" in content, content[content.find("<main"):content.find("</main>")]
    finally:
        server.stop()
    by_class = survey.counts(db, today, today, "4B")
    assert by_class["safe_in_class"]["yes"] == 1 and by_class["safe_in_toilets"]["no"] == 1
    assert db.execute("SELECT language, class_name FROM survey_responses").fetchall() == [("pa", "4B")]
    # And the DSL sees it by class (one answer: hidden as "fewer than 5", never a number that picks a child out).
    dsl = console_app.test_client()
    ConsoleHelper(dsl).login()
    assert re.search(r'<th scope="row">4B</th><td>fewer than 5</td>', dsl.get("/survey").get_data(as_text=True))
