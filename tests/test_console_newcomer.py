"""What a newcomer to the console notices: saves say they worked, words in the right number, a favicon, the 403
page inside the console, marking buttons that do not look like Save, and a menu that never breaks a label."""

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from helpers import PUPILS, TEACHER_EMAIL, TEACHER_PASSWORD, csrf_token
from worrybox import worries
from worrybox.config import Paths
from worrybox.school import pupil_keys
from worrybox.recipients import worry_recipients

ROOT = Path(__file__).resolve().parent.parent
CANARY = "NEWCOMER-CANARY my dad shouts"
AMIRA = PUPILS[0]


def _html(response):
    return response.get_data(as_text=True).replace("&#39;", "'")


def _confirmation(html):
    """The words of the one confirmation the console layout shows after a save, or None."""
    match = re.search(r'<div class="notice notice-saved" role="status">(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else None


def _post_from(console, page, action, fields):
    token = csrf_token(_html(console.get(page)))
    return console.post(action, data={**fields, "csrf_token": token})


SAVES = {
    "a worry's status and note": ("/worries/1", "/worries/1", {"status": "in_progress", "note": CANARY}, "Saved."),
    "not a real worry": ("/worries/1", "/worries/1/not-real", {}, "Marked as not a real worry."),
    "a child-protection mark": ("/worries/1", "/worries/1/child-protection", {},
                                "Marked as a child-protection concern."),
    "a reply to the child": ("/worries/1", "/worries/1/reply", {"find_child_today": "y"}, "Reply sent."),
    "a rota slot": ("/rota", "/rota/slots", {"weekday": "0", "start_time": "12:15", "end_time": "12:45",
                                             "place": "the Rainbow Room", "capacity": "3"}, "Slot added to the rota."),
    "the scheme's name": ("/mediators", "/mediators/scheme", {"scheme_name": "Playground Pals"}, "name was saved"),
    "school settings": ("/settings", "/settings", {
        "visit_threshold": "5", "visit_window_days": "90", "smtp_host": "", "smtp_port": "",
        "smtp_security": "starttls", "smtp_username": "", "smtp_password": "", "smtp_sender": "",
        "alert_recipients": ""}, "Settings saved."),
    "kiosk settings": ("/kiosk", "/kiosk", {"kiosk_language": "en", "kiosk_idle_seconds": "120"},
                       "Kiosk settings saved."),
    "a tablet": ("/kiosk", "/kiosk/tablets", {"name": "Library tablet"}, "Tablet added."),
    "how long worries are kept": ("/retention", "/retention", {"retention_days": "400"}, "was saved"),
}


@pytest.mark.parametrize("page, action, fields, words", SAVES.values(), ids=SAVES.keys())
def test_every_console_save_says_it_worked_once_without_repeating_what_was_typed(
        page, action, fields, words, child, staff_member, console):
    assert child.post(text=CANARY, feeling="sad", first_animal="cat", second_animal="dog",
                      third_animal="fish").status_code == 303
    staff_member.login()
    response = _post_from(console, page, action, fields)
    assert response.status_code == 303, _html(response)[:2000]
    shown = _confirmation(_html(console.get(response.headers["Location"])))
    assert shown and words in shown
    assert CANARY not in shown and "Amira" not in shown and "Library tablet" not in shown
    assert _confirmation(_html(console.get(page))) is None, "a confirmation is shown once"


def test_a_save_refused_for_an_expired_page_shows_no_confirmation(staff_member, console):
    staff_member.login()
    response = console.post("/retention", data={"retention_days": "400", "csrf_token": "stale"})
    assert response.status_code == 400 and _confirmation(_html(response)) is None
    assert "That page had expired" in _html(response)


def test_the_queue_says_a_median_of_1_minute_not_1_minutes(db, staff_member, console):
    now = datetime.now(timezone.utc)
    worry_id, _ = worries.post_worry(db, worry_recipients(db), worries.NewWorry(
        submission_id="median-one", feeling="sad", text="a worry"), at=now - timedelta(minutes=1))
    db.execute("UPDATE worries SET first_opened_at = ? WHERE id = ?", [now.isoformat(timespec="microseconds"),
                                                                        worry_id])
    staff_member.login()
    page = " ".join(_html(console.get("/")).split())
    assert "a median of 1 minute after" in page


def test_an_exported_case_is_audited_as_1_worry_not_1_worries(data_dir, db, staff_member, console):
    ref = pupil_keys(Paths(data_dir)).pupil_ref(AMIRA.pupil_id)
    worries.post_worry(db, worry_recipients(db), worries.NewWorry(
        submission_id="export-one", feeling="sad", text="a worry", pupil=AMIRA, pupil_ref=ref))
    staff_member.login()
    assert console.get("/pupils/%s/export" % ref).status_code == 200
    detail = db.execute("SELECT detail FROM audit_log WHERE event = 'export'").fetchone()[0]
    assert detail.endswith(": 1 worry, 0 chats, 0 escalations")


@pytest.mark.parametrize("app", ["kiosk", "console"])
def test_every_page_links_a_favicon_that_is_served(app, request):
    client = request.getfixturevalue(app)
    page = _html(client.get("/login" if app == "console" else "/"))
    link = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)">', page)
    assert link, "no favicon linked"
    icon = client.get(link.group(1))
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data


def test_a_refused_member_of_staff_stays_in_the_console_with_its_menu_and_sign_out(staff_member, console):
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    page = _html(console.get("/settings"))
    assert "That is not for this account" in page
    assert 'class="console-nav"' in page and ">Sign out</button>" in page and "Tom Baker" in page
    assert 'action="/logout"' in page and 'name="csrf_token"' in page


def test_a_signed_out_visitor_gets_the_plain_error_page(console):
    page = _html(console.get("/no-such-page"))
    assert "We could not find that page" in page and "console-nav" not in page and "Sign out" not in page


def _rule(css, selector):
    match = re.search(r"(?:^|[\s,}])%s\s*(?:,[^{]*)?{([^}]*)}" % re.escape(selector), css)
    assert match, "no rule for %s" % selector
    return match.group(1)


def test_marking_buttons_do_not_look_like_save(child, staff_member, console):
    assert child.post(text="a worry", feeling="sad").status_code == 303
    staff_member.login()
    page = _html(console.get("/worries/1"))
    save = re.search(r'<button class="([^"]+)" type="submit">Save</button>', page).group(1)
    for label in ("Mark as a child-protection concern", "Not a real worry"):
        classes = re.search(r'<button class="([^"]+)" type="submit">%s</button>' % label, page).group(1)
        assert classes != save, "%s looks like Save" % label
    css = (ROOT / "static" / "worrybox.css").read_text()
    for extra in ("button-secondary", "button-warning"):
        assert "background: var(--paper)" in _rule(css, ".%s" % extra)


def test_the_console_menu_wraps_between_items_never_inside_a_label():
    css = (ROOT / "static" / "worrybox.css").read_text()
    assert re.search(r"white-space:\s*nowrap", _rule(css, ".console-nav a"))
    assert re.search(r"flex-wrap:\s*wrap", _rule(css, ".console-nav"))


def test_an_expired_password_page_says_so_and_keeps_the_old_password(staff_member, console):
    staff_member.login()
    response = console.post("/password", data={"current_password": "correct horse battery",
                                               "new_password": "a brand new password 9", "confirm":
                                               "a brand new password 9", "csrf_token": "stale"})
    assert response.status_code == 400 and "your password was not changed" in _html(response)
    staff_member.logout()
    assert staff_member.login().headers["Location"].endswith("/")
