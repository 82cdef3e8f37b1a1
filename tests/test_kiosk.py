"""The kiosk as a child meets it: posting, double taps, mistakes, and resting when it cannot seal."""

import re

from helpers import PUPILS, csrf_token, hidden_value
from worrybox import roster
from worrybox.config import Paths
from worrybox.school import pupil_keys


def _count(db):
    return db.execute("SELECT count(*) FROM worries").fetchone()[0]


def test_start_page_offers_a_worry_and_help_now(kiosk):
    page = kiosk.get("/").get_data(as_text=True)
    assert 'href="/worry"' in page and 'href="/help"' in page
    assert "0800 1111" in page


def test_a_double_tap_posts_one_worry(child, db):
    form = child.form()
    data = dict(form, feeling="sad", text="tapped twice")
    assert child.client.post("/worry", data=data).status_code == 303
    assert child.client.post("/worry", data=data).status_code == 303
    assert _count(db) == 1


def test_each_visit_to_the_form_gets_a_new_submission_id(child):
    assert child.form()["submission_id"] != child.form()["submission_id"]


def test_choosing_a_class_lists_its_pupils_by_name(kiosk, child):
    page = kiosk.get("/worry?class=4B").get_data(as_text=True)
    assert 'name="pupil" value="%s"' % child.name("P001") in page and "Amira Qureshi" in page
    assert "Harjit" not in page  # class 5C


def test_a_name_choice_carries_a_token_that_is_no_roster_id_and_changes_after_a_re_import(kiosk, child, db,
                                                                                          data_dir):
    def values():
        page = kiosk.get("/worry?class=4B").get_data(as_text=True)
        return [v for v in re.findall(r'name="pupil" value="([^"]*)"', page) if v]

    before = values()
    assert len(before) == 2 and not {"P001", "P002"} & set(before)
    assert not any(pupil_id in value for value in before for pupil_id in ("P001", "P002"))
    roster.import_roster(db, pupil_keys(Paths(data_dir)), PUPILS)
    after = values()
    assert len(after) == 2 and not set(before) & set(after)
    # A token from before the import is refused kindly, and the name can be chosen again.
    response = child.post(text="kept", feeling="sad", pupil=before[0], **{"class": "4B"})
    assert response.status_code == 422 and "could not find that name" in response.get_data(as_text=True)
    assert child.post(text="kept", feeling="sad", pupil=after[0], **{"class": "4B"}).status_code == 303


def test_a_roster_id_posted_as_a_name_finds_nobody(child, db):
    response = child.post(text="kept", feeling="sad", pupil="P001", **{"class": "4B"})
    assert response.status_code == 422 and "kept" in response.get_data(as_text=True)
    assert _count(db) == 0


def test_an_unknown_class_gets_a_kind_message(kiosk):
    page = kiosk.get("/worry?class=Narnia").get_data(as_text=True)
    assert "could not find that class" in page


def test_choosing_a_class_inside_the_form_keeps_what_was_typed(child, db):
    form = child.form()
    response = child.client.post("/worry", data=dict(form, text="my typed words", feeling="sad", show_class="4B",
                                                      step="name"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Amira Qureshi" in page
    assert hidden_value(page, "text") == "my typed words" and hidden_value(page, "feeling") == "sad"
    assert _count(db) == 0


def test_an_empty_worry_asks_for_a_picture_or_words(child, db):
    response = child.post()
    assert response.status_code == 422
    assert "choose a face, a picture, draw, or write something" in response.get_data(as_text=True)
    assert _count(db) == 0


def test_an_unknown_pupil_gets_a_kind_message_and_keeps_the_text(child, db):
    response = child.post(text="please find me", feeling="sad", pupil="NOT-A-PUPIL", **{"class": "4B"}, step="send")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "could not find that name" in page and "please find me" in page
    assert _count(db) == 0


def test_an_expired_form_comes_back_with_the_text_still_in_it(kiosk, db):
    page = kiosk.get("/worry").get_data(as_text=True)
    response = kiosk.post("/worry", data={"csrf_token": "expired-token", "submission_id": hidden_value(page, "submission_id"),
                                          "text": "I was slow to type this", "feeling": "worried"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "I was slow to type this" in body and "press “Send my worry” again" in body
    assert re.search(r'<button class="button button-send" type="submit" name="go" value="send">Send my worry</button>',
                     body)
    assert _count(db) == 0
    # The refreshed form carries a fresh token, so pressing Send again works.
    again = kiosk.post("/worry", data={"csrf_token": csrf_token(body), "submission_id": hidden_value(body, "submission_id"),
                                       "text": "I was slow to type this", "feeling": "worried"})
    assert again.status_code == 303 and _count(db) == 1


def test_the_thank_you_page_says_who_will_read_it_and_never_promises_secrecy(child, kiosk):
    child.post(text="hello", feeling="sad")
    page = kiosk.get("/thanks").get_data(as_text=True)
    assert "safeguarding team" in page and "will read your worry" in page
    assert "0800 1111" in page
    assert "nobody will know" not in page.lower() and "stay secret" not in page.lower()
    assert 'http-equiv="refresh"' in page


def test_the_thank_you_page_for_a_named_worry_says_someone_may_come_and_find_them(child, kiosk):
    child.post(text="hello", feeling="sad", pupil=child.name("P002"), **{"class": "4B"})
    assert "come and find you" in kiosk.get("/thanks").get_data(as_text=True)


def test_kiosk_pages_are_never_cached(kiosk, child):
    for path in ("/", "/worry", "/help", "/worry?class=4B", "/thanks"):
        assert kiosk.get(path).headers["Cache-Control"] == "no-store"
    assert child.post(text="x", feeling="sad").headers["Cache-Control"] == "no-store"


def test_kiosk_forms_switch_off_autocomplete(kiosk, child):
    page = kiosk.get("/worry").get_data(as_text=True)
    assert '<form method="post" action="/worry" autocomplete="off"' in page
    words = child.client.post("/worry", data=dict(child.form(), step="talk_to", go="next")).get_data(as_text=True)
    assert re.search(r'<textarea[^>]*autocomplete="off"', words)


def test_health_check_is_ok_when_the_kiosk_can_seal(kiosk):
    response = kiosk.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_without_a_team_key_the_kiosk_rests_and_stores_nothing(child, kiosk, db):
    form = child.form()
    db.execute("UPDATE keys SET retired_at = '2026-01-01' WHERE purpose = 'team'")
    response = kiosk.post("/worry", data=dict(form, text="this must not be stored", feeling="sad"))
    assert response.status_code == 503
    assert "resting" in response.get_data(as_text=True)
    assert kiosk.get("/").status_code == 503
    assert kiosk.get("/healthz").status_code == 503
    assert _count(db) == 0


def test_with_a_damaged_team_key_the_kiosk_rests_and_stores_nothing(child, kiosk, db):
    form = child.form()
    db.execute("UPDATE keys SET public_key = X'00112233' WHERE purpose = 'team'")
    response = kiosk.post("/worry", data=dict(form, text="this must not be stored", feeling="sad"))
    assert response.status_code == 503 and _count(db) == 0
    assert "0800 1111" in response.get_data(as_text=True)
