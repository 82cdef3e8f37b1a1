"""A worry travels from the kiosk to the console, sealed end to end."""

import re

from helpers import OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD, TEACHER_EMAIL, TEACHER_PASSWORD, csrf_token

CANARY = "CANARY-7f3a my uncle shouts 😢 — مجھے ڈر لگتا ہے"


def _latest_worry_id(console):
    html = console.get("/").get_data(as_text=True)
    return int(re.search(r'/worries/(\d+)', html).group(1))


def test_named_worry_opens_for_the_dsl_with_its_exact_text(child, staff_member, console):
    response = child.post(text=CANARY, feeling="scared", topic="home", place="home", talk_to="trusted_adult",
                          pupil=child.name("P001"), **{"class": "4B"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/thanks")
    assert staff_member.login().status_code == 303
    queue = console.get("/").get_data(as_text=True)
    assert "Scared" in queue and "Home" in queue and CANARY not in queue
    page = console.get("/worries/%d" % _latest_worry_id(console)).get_data(as_text=True)
    assert CANARY in page.replace("&#39;", "'")
    assert "Amira Qureshi" in page and "class 4B" in page


def test_worry_text_with_markup_is_shown_as_text_not_run(child, staff_member, console):
    child.post(text='<script>alert("hi")</script> & <b>bold</b>', feeling="sad")
    staff_member.login()
    page = console.get("/worries/%d" % _latest_worry_id(console)).get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page


def test_secret_worry_shows_no_name(child, staff_member, console):
    child.post(text="nobody plays with me", feeling="lonely")
    staff_member.login()
    page = console.get("/worries/%d" % _latest_worry_id(console)).get_data(as_text=True)
    assert "Secret (no name)" in page and "nobody plays with me" in page


def test_urgent_worry_is_first_in_the_queue(child, staff_member, console):
    child.post(text="first, not urgent", feeling="sad")
    form = child.form("/help")
    child.client.post("/worry", data=dict(form, urgent="y", text="help me now"))
    child.post(text="newest, not urgent", feeling="sad")
    staff_member.login()
    html = console.get("/").get_data(as_text=True)
    rows = re.findall(r'<tr class="(urgent|)', html)
    assert rows[0] == "urgent" and rows.count("urgent") == 1


def test_urgent_form_posts_even_with_nothing_filled_in(child, staff_member, console):
    form = child.form("/help")
    response = child.client.post("/worry", data=dict(form, urgent="y"))
    assert response.status_code == 303
    staff_member.login()
    html = console.get("/").get_data(as_text=True)
    # The page always says "Urgent worries first": look at the one worry's own row and tag.
    assert re.findall(r'<tr class="(urgent|)', html) == ["urgent"]
    assert html.count('<strong class="tag tag-urgent">Urgent</strong>') == 1


def test_opening_a_worry_is_audited_without_its_content(child, staff_member, console, db):
    child.post(text=CANARY, feeling="sad")
    staff_member.login()
    worry_id = _latest_worry_id(console)
    console.get("/worries/%d" % worry_id)
    rows = db.execute("SELECT staff_id, event, worry_id, detail FROM audit_log WHERE event = 'open_worry'").fetchall()
    assert rows == [(1, "open_worry", worry_id, None)]


def test_opening_a_new_worry_marks_it_seen_and_records_first_read(child, staff_member, console, db):
    child.post(text="hello", feeling="sad")
    staff_member.login()
    worry_id = _latest_worry_id(console)
    assert db.execute("SELECT status, first_opened_at FROM worries WHERE id = ?", [worry_id]).fetchone() == ("new", None)
    console.get("/worries/%d" % worry_id)
    status, first_opened = db.execute("SELECT status, first_opened_at FROM worries WHERE id = ?", [worry_id]).fetchone()
    assert status == "seen" and first_opened


def test_staff_set_status_and_add_a_sealed_note_to_the_chronology(child, staff_member, console, db):
    child.post(text="hello", feeling="sad")
    staff_member.login()
    worry_id = _latest_worry_id(console)
    page = console.get("/worries/%d" % worry_id).get_data(as_text=True)
    response = console.post("/worries/%d" % worry_id, data={
        "csrf_token": csrf_token(page), "status": "in_progress", "note": "NOTE-CANARY spoke to child at break"})
    assert response.status_code == 303
    page = console.get("/worries/%d" % worry_id).get_data(as_text=True)
    assert "NOTE-CANARY spoke to child at break" in page
    assert "status set to In progress" in page and "Dana Lewis" in page
    assert db.execute("SELECT status FROM worries WHERE id = ?", [worry_id]).fetchone()[0] == "in_progress"
    sealed = db.execute("SELECT sealed_note FROM actions WHERE action = 'note'").fetchone()[0]
    assert b"NOTE-CANARY" not in sealed


def test_a_teacher_without_the_team_key_cannot_open_a_team_worry(child, staff_member, console, db):
    from worrybox import keys, opening, worries
    child.post(text="only for the safeguarding team", feeling="sad", pupil=child.name("P001"), **{"class": "4B"})
    worry_id = db.execute("SELECT max(id) FROM worries").fetchone()[0]
    teacher_id = db.execute("SELECT id FROM staff WHERE email = ?", [TEACHER_EMAIL]).fetchone()[0]
    keyring = keys.unlock_keyring(db, teacher_id, TEACHER_PASSWORD)
    # Crypto level: no key the teacher holds opens the sealed content key, whatever the view does.
    body = db.execute("SELECT sealed_body FROM worries WHERE id = ?", [worry_id]).fetchone()[0]
    for key_id, sealed_key in db.execute("SELECT key_id, sealed_key FROM worry_keys WHERE worry_id = ?", [worry_id]):
        for private in keyring.private_keys.values():
            try:
                opening.open_sealed(body, key_id, sealed_key, private, worries.worry_aad(worry_id))
                raise AssertionError("a teacher's key opened a team-only worry")
            except opening.OpenError:
                pass
    # View level: the queue does not list it and opening it is refused.
    assert staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD).status_code == 303
    assert "/worries/%d" % worry_id not in console.get("/").get_data(as_text=True)
    assert console.get("/worries/%d" % worry_id).status_code == 403


def test_another_teacher_sees_an_empty_queue(child, staff_member, console):
    child.post(text="for the team", feeling="sad")
    staff_member.login(OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD)
    assert "No worries here that your key can open" in console.get("/").get_data(as_text=True)


def test_unknown_worry_is_a_kind_404(staff_member, console):
    staff_member.login()
    response = console.get("/worries/99999")
    assert response.status_code == 404 and "could not find" in response.get_data(as_text=True)
