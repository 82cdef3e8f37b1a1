"""A lunchtime supervisor logs a concern on a phone (390×844) in a real browser, by touch, under gunicorn."""

import shutil
from pathlib import Path

import pytest

from helpers import CHROMIUM, DSL_PASSWORD, chromium, free_port, gunicorn_app, url
from worrybox import casework, keys
from worrybox.config import Paths
from worrybox.school import open_school
from worrybox.staff import create_staff

PHONE = {"width": 390, "height": 844}
SUPERVISOR_EMAIL, SUPERVISOR_PASSWORD = "lunch@school.example", "lunchtime supervisor pw"
CANARY = "PHONE-CANARY she was crying by the gate and would not say why"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="run `make test`: it installs Chromium")]


@pytest.fixture
def console_url(school_template, tmp_path):
    data_dir = tmp_path / "school"
    shutil.copytree(school_template[0], data_dir)
    db = open_school(Paths(data_dir))
    create_staff(db, SUPERVISOR_EMAIL, "Lena Lunch", "staff", SUPERVISOR_PASSWORD)
    db.close()
    port = free_port()
    server = gunicorn_app("console", data_dir, port)
    try:
        server.wait_until_healthy(port)
        yield url(port, ""), data_dir
    finally:
        server.stop()


def _fits_the_screen(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"


def test_a_lunchtime_supervisor_logs_a_concern_on_a_phone_and_can_open_nothing(console_url):
    base, data_dir = console_url
    with chromium() as browser:
        context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
        page = context.new_page()
        page.goto(base + "/login")
        page.get_by_label("Email").fill(SUPERVISOR_EMAIL)
        page.get_by_label("Password").fill(SUPERVISOR_PASSWORD)
        page.get_by_role("button", name="Sign in").tap()
        page.wait_for_url("**/concern")
        _fits_the_screen(page)
        page.get_by_label("Which child?").fill("Amira")
        page.get_by_role("button", name="Find").tap()
        page.get_by_label("Amira Qureshi (4B)").tap()
        page.get_by_label("What did you see or hear?").fill(CANARY)
        page.get_by_label("Something the child said").tap()
        page.get_by_label("Where?").select_option("playground")
        _fits_the_screen(page)
        page.get_by_role("button", name="Send to the safeguarding team").tap()
        page.wait_for_url("**/concern/sent")
        assert "your concern was sent" in page.content()
        # Once sent it is nowhere for them to open: not in a queue, not by its address.
        for path in ("/", "/worries/1", "/report"):
            page.goto(base + path)
            assert CANARY not in page.content()
        assert page.goto(base + "/worries/1").status == 403
    db = open_school(Paths(data_dir))
    try:
        row = db.execute("SELECT id, concern_category, place FROM worries WHERE logged_by IS NOT NULL").fetchone()
        assert row[1:] == ("said", "playground")
        opened = casework.read_worry(db, row[0], keys.unlock_keyring(db, 1, DSL_PASSWORD))
        assert opened.text == CANARY and opened.pupil["name"] == "Amira Qureshi"
    finally:
        db.close()
