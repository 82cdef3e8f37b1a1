"""A live console: an urgent worry reaches an open, untouched console page within seconds (Chromium, gunicorn)."""

import re
import time

import pytest
import requests
from playwright.sync_api import expect

from helpers import DSL_EMAIL, DSL_PASSWORD, csrf_token, hidden_value
from helpers import chromium, free_port, gunicorn_app, url
from worrybox import escalation


def _post_urgent(kiosk_port):
    http = requests.Session()
    page = http.get(url(kiosk_port, "/help"), timeout=30).text
    response = http.post(url(kiosk_port, "/worry"), allow_redirects=False, timeout=30, data={
        "csrf_token": csrf_token(page), "submission_id": hidden_value(page, "submission_id"), "urgent": "y",
        "text": "LIVE-CANARY help me now"})
    assert response.status_code == 303


@pytest.mark.slow  # gunicorn and Chromium
def test_an_urgent_worry_appears_on_the_dsls_open_untouched_queue_within_5_seconds(data_dir):
    kiosk_port, console_port = free_port(), free_port()
    kiosk = gunicorn_app("kiosk", data_dir, kiosk_port, workers=1)
    console = gunicorn_app("console", data_dir, console_port)
    try:
        kiosk.wait_until_healthy(kiosk_port)
        console.wait_until_healthy(console_port)
        with chromium() as browser:
            page = browser.new_page()
            page.goto(url(console_port, "/login"))
            page.get_by_label("Email").fill(DSL_EMAIL)
            page.get_by_label("Password").fill(DSL_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Worry queue")).to_be_visible()
            assert not page.title().startswith("(")
            _post_urgent(kiosk_port)
            posted = time.monotonic()
            # Untouched from here on: no click, no reload.
            expect(page.get_by_role("link", name="Open worry 1")).to_be_visible(timeout=5000)
            expect(page).to_have_title(re.compile(r"^\(2\) Worry queue"), timeout=5000)  # the worry and its escalation
            expect(page.locator("#live-banner")).to_contain_text("1 urgent worry not yet opened")
            assert time.monotonic() - posted < 5
            assert "LIVE-CANARY" not in page.content()
    finally:
        kiosk.stop()
        console.stop()


def test_the_live_status_is_counts_and_ids_only_for_signed_in_staff(child, staff_member, console):
    assert console.get("/live").status_code == 302
    form = child.form("/help")
    child.client.post("/worry", data=dict(form, urgent="y", text="LIVE-CANARY words", pupil=child.name("P001"), **{"class": "4B"}))
    staff_member.login()
    response = console.get("/live")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {"poll_seconds": 3, "urgent": 1, "escalations": 1, "latest_escalation": 1,
                                   "latest_worry": 1}
    assert "LIVE-CANARY" not in response.get_data(as_text=True) and "Amira" not in response.get_data(as_text=True)


def test_every_console_page_carries_the_live_script_and_the_queue_refreshes_without_javascript(staff_member, console):
    staff_member.login()
    queue = console.get("/").get_data(as_text=True)
    assert re.search(r'<script src="/static/console\.js(\?v=\w+)?" defer></script>', queue)
    assert '<noscript><meta http-equiv="refresh" content="30"></noscript>' in queue
    assert 'id="live-banner"' in console.get("/settings").get_data(as_text=True)


def test_im_dealing_with_it_acknowledges_for_everyone_with_who_and_when(child, staff_member, console, db):
    form = child.form("/help")
    child.client.post("/worry", data=dict(form, urgent="y", text="help"))
    staff_member.login()
    page = console.get("/escalations").get_data(as_text=True)
    assert "I'm dealing with it" in page
    response = console.post("/escalations/1/dealing", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert db.execute("SELECT status, acknowledged_by FROM escalations").fetchone() == ("acknowledged", 1)
    assert escalation.count_open(db) == 0
    assert console.get("/live").get_json()["escalations"] == 0
    done = " ".join(console.get("/escalations").get_data(as_text=True).split())
    assert "by Dana Lewis" in done
    again = console.post("/escalations/1/dealing", data={"csrf_token": csrf_token(page)})
    assert again.status_code == 409


@pytest.mark.slow  # gunicorn and Chromium
def test_the_red_button_on_the_help_page_is_red(data_dir):
    port = free_port()
    kiosk = gunicorn_app("kiosk", data_dir, port, workers=1)
    try:
        kiosk.wait_until_healthy(port)
        with chromium() as browser:
            page = browser.new_page()
            page.goto(url(port, "/help"))
            assert "press the red button" in page.content().lower()
            button = page.get_by_role("button", name="Get help now")
            colour = button.evaluate("element => getComputedStyle(element).backgroundColor")
            red, green, blue = (int(part) for part in re.findall(r"\d+", colour)[:3])
            assert red > 150 and red > 2 * green and red > 2 * blue, colour
    finally:
        kiosk.stop()
