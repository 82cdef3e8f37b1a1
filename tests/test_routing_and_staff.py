"""Roles and routing enforced by the keys: who a worry is sealed to, and managing staff and the team key.

Every "opens" and "does not open" here is tried with real keys: each private key a member of staff can
unlock is tried against each sealed copy of the worry's content key, not only the console's views.
"""

import io
import re

import pytest

from helpers import (DSL_EMAIL, DSL_PASSWORD, OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD, TEACHER_EMAIL,
                     TEACHER_PASSWORD, ConsoleHelper, csrf_token, worrybox)
from worrybox import keys, mediators, opening, staff as accounts, two_factor, worries
from worrybox.config import Paths
from worrybox.school import pupil_keys
from worrybox.staff import create_staff, find_staff_id
from worrybox.recipients import recipients_for, worry_recipients

HEAD_EMAIL, HEAD_PASSWORD = "head@school.example", "head teacher password"
IT_EMAIL, IT_PASSWORD = "it@school.example", "school it password"
DEPUTY_EMAIL, DEPUTY_PASSWORD = "deputy@school.example", "deputy password one"
SECOND_DSL_EMAIL, SECOND_DSL_PASSWORD = "dsl2@school.example", "second dsl password"
NEW_PASSWORD = "a brand new password"
RECOVERY_CODE = re.compile(r"\b[A-Z2-7]{4}(?:-[A-Z2-7]{4}){7}\b")


def _html(response):
    return response.get_data(as_text=True)


def _keyring(db, email, password):
    return keys.unlock_keyring(db, find_staff_id(db, email), password)


def _opens(db, worry_id, keyring) -> bool:
    """Whether any key in this keyring opens any sealed copy of the worry's content key."""
    body = db.execute("SELECT sealed_body FROM worries WHERE id = ?", [worry_id]).fetchone()[0]
    for key_id, sealed_key in db.execute("SELECT key_id, sealed_key FROM worry_keys WHERE worry_id = ?", [worry_id]):
        for private in keyring.private_keys.values():
            try:
                opening.open_sealed(body, key_id, sealed_key, private, worries.worry_aad(worry_id))
                return True
            except opening.OpenError:
                pass
    return False


def _latest_worry(db) -> int:
    return db.execute("SELECT max(id) FROM worries").fetchone()[0]


def _audit(db, event):
    return db.execute("SELECT staff_id, detail FROM audit_log WHERE event = ? ORDER BY id", [event]).fetchall()


def _team_key_from_team(db):
    return keys.team_keys_of(_keyring(db, DSL_EMAIL, DSL_PASSWORD), db)


@pytest.fixture
def head(db, team_keys):
    # Added by a DSL, so approved: an account school IT adds receives nothing until a DSL approves it.
    return create_staff(db, HEAD_EMAIL, "Hana Head", "head", HEAD_PASSWORD, team_keys=team_keys)


@pytest.fixture
def it_admin(db):
    # Given a class on purpose: even a class name must never make school IT a recipient.
    return create_staff(db, IT_EMAIL, "Ian Tech", "it_admin", IT_PASSWORD, class_name="4B")


@pytest.fixture
def deputy(db):
    return create_staff(db, DEPUTY_EMAIL, "Dee Puty", "deputy", DEPUTY_PASSWORD, team_keys=_team_key_from_team(db))


def _post(child, **fields):
    if fields.get("pupil"):
        fields["pupil"] = child.name(fields["pupil"])  # a roster id, sent as the kiosk's name tile sends it
    response = child.post(**fields)
    assert response.status_code == 303, _html(response)
    return _html(child.client.get("/thanks"))


# Routing: "my teacher" -----------------------------------------------------------------------------

def test_a_worry_sent_to_my_teacher_opens_for_that_class_teacher_and_the_dsl_and_not_for_another_teacher(
        child, staff_member, console, db):
    thanks = _post(child, pupil="P001", talk_to="teacher", feeling="sad", text="MY-TEACHER-CANARY")
    worry_id = _latest_worry(db)
    assert _opens(db, worry_id, _keyring(db, TEACHER_EMAIL, TEACHER_PASSWORD))
    assert _opens(db, worry_id, _keyring(db, DSL_EMAIL, DSL_PASSWORD))
    assert not _opens(db, worry_id, _keyring(db, OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD))
    assert "safeguarding team" in thanks and "Your class teacher, Tom Baker, will read it too." in thanks

    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    assert 'href="/worries/%d"' % worry_id in _html(console.get("/"))
    assert "MY-TEACHER-CANARY" in _html(console.get("/worries/%d" % worry_id))
    staff_member.logout()
    staff_member.login(OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD)
    assert 'href="/worries/%d"' % worry_id not in _html(console.get("/"))
    refused = console.get("/worries/%d" % worry_id)
    assert refused.status_code == 403 and "MY-TEACHER-CANARY" not in _html(refused)


def test_a_worry_that_did_not_choose_my_teacher_reaches_only_the_safeguarding_team(child, db):
    thanks = _post(child, pupil="P001", talk_to="trusted_adult", feeling="sad")
    worry_id = _latest_worry(db)
    assert not _opens(db, worry_id, _keyring(db, TEACHER_EMAIL, TEACHER_PASSWORD))
    assert _opens(db, worry_id, _keyring(db, DSL_EMAIL, DSL_PASSWORD))
    assert "class teacher" not in thanks and "head teacher" not in thanks


def test_a_secret_worry_for_my_teacher_reaches_only_the_safeguarding_team_and_says_so(child, db):
    thanks = _post(child, talk_to="teacher", feeling="sad", text="no name on this one")
    worry_id = _latest_worry(db)
    assert [row[0] for row in db.execute("SELECT key_id FROM worry_keys WHERE worry_id = ?", [worry_id])] \
        == list(worry_recipients(db))
    assert not _opens(db, worry_id, _keyring(db, TEACHER_EMAIL, TEACHER_PASSWORD))
    assert "safeguarding team" in thanks and "class teacher" not in thanks


def test_a_removed_class_teacher_gets_no_new_worry_from_their_class(child, db):
    accounts.remove_staff(db, find_staff_id(db, TEACHER_EMAIL))
    thanks = _post(child, pupil="P001", talk_to="teacher", feeling="sad")
    assert "class teacher" not in thanks
    assert db.execute("SELECT count(*) FROM worry_keys WHERE worry_id = ?", [_latest_worry(db)]).fetchone()[0] == 1


def test_the_thank_you_page_shows_a_teachers_name_as_text(child, db, team_keys):
    create_staff(db, "odd@school.example", "<b>Mr Bold</b>", "teacher", "a long password!", class_name="5C",
                 team_keys=team_keys)
    thanks = _post(child, pupil="P003", talk_to="teacher", feeling="sad")
    assert "&lt;b&gt;Mr Bold&lt;/b&gt;" in thanks and "<b>Mr Bold" not in thanks


# Routing: "a grown-up at school" -----------------------------------------------------------------

def test_a_worry_about_a_grown_up_at_school_opens_for_the_head_and_the_dsl_and_for_no_class_teacher(
        child, head, staff_member, console, db):
    # The child also chose "my teacher": an allegation against staff must still never reach a class teacher.
    thanks = _post(child, pupil="P001", topic="adult_at_school", talk_to="teacher", text="GROWN-UP-CANARY")
    worry_id = _latest_worry(db)
    assert _opens(db, worry_id, _keyring(db, HEAD_EMAIL, HEAD_PASSWORD))
    assert _opens(db, worry_id, _keyring(db, DSL_EMAIL, DSL_PASSWORD))
    assert not _opens(db, worry_id, _keyring(db, TEACHER_EMAIL, TEACHER_PASSWORD))
    assert not _opens(db, worry_id, _keyring(db, OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD))
    assert "The head teacher will read it too." in thanks and "class teacher" not in thanks

    assert staff_member.login(HEAD_EMAIL, HEAD_PASSWORD).headers["Location"].endswith("/")
    assert 'href="/worries/%d"' % worry_id in _html(console.get("/"))
    assert "GROWN-UP-CANARY" in _html(console.get("/worries/%d" % worry_id))
    staff_member.logout()
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    assert console.get("/worries/%d" % worry_id).status_code == 403


def test_the_head_teacher_opens_no_ordinary_worry(child, head, db):
    _post(child, pupil="P001", talk_to="teacher", topic="friends", feeling="sad")
    assert not _opens(db, _latest_worry(db), _keyring(db, HEAD_EMAIL, HEAD_PASSWORD))


def test_the_kiosk_offers_a_grown_up_at_school_with_its_picture(kiosk, child):
    page = _html(kiosk.post("/worry", data=dict(child.form(), step="feeling", go="next")))  # the topic step
    assert 'value="adult_at_school"' in page and "A grown-up at school" in page
    assert kiosk.get("/static/pictures/topic-adult_at_school.svg").status_code == 200


def test_booking_a_chat_with_a_peer_mediator_does_not_offer_a_grown_up_at_school(kiosk, db, data_dir):
    # A pupil mediator sees what a chat is about: an allegation against staff is never theirs to hear.
    harjit = pupil_keys(Paths(data_dir)).pupil_ref("P003")
    mediators.set_mediator(db, harjit)
    for weekday in range(5):
        mediators.add_slot(db, weekday, "00:00", "23:59", "the Rainbow Room", 2, [harjit])
    offer = re.search(r'href="(/book\?slot=\d+&amp;date=[\d-]+)"', _html(kiosk.get("/book")))
    page = _html(kiosk.get(offer.group(1).replace("&amp;", "&")))
    assert 'value="friends"' in page and 'value="adult_at_school"' not in page


def test_a_grown_up_at_school_is_offered_in_every_language(kiosk):
    for code in ("pa", "ur", "pl"):
        kiosk.get("/language/%s" % code)
        assert "A grown-up at school" not in _html(kiosk.get("/worry")), code


# School IT ---------------------------------------------------------------------------------------

ROSTER_CSV = b"pupil_id,first_name,last_name,class\nP900,Nia,Okafor,6A\nP901,Ravi,Mehta,6A\n"


def _settings_fields(page, **changes):
    fields = {"visit_threshold": "5", "visit_window_days": "90", "smtp_host": "", "smtp_port": "",
              "smtp_security": "starttls", "smtp_username": "", "smtp_password": "", "smtp_sender": "",
              "alert_recipients": "", "csrf_token": csrf_token(page)}
    fields.update(changes)
    return fields


def _import_roster(console, content=ROSTER_CSV, name="roster.csv"):
    page = _html(console.get("/roster"))
    return console.post("/roster", data={"csrf_token": csrf_token(page), "roster_file": (io.BytesIO(content), name)},
                        content_type="multipart/form-data")


def test_the_it_admin_can_import_a_roster_and_change_kiosk_settings_but_can_open_no_worry_or_change_an_alarm(
        child, head, it_admin, staff_member, console, db):
    for fields in ({"pupil": "P001", "talk_to": "teacher", "feeling": "sad"},
                   {"pupil": "P001", "topic": "adult_at_school", "talk_to": "teacher"},
                   {"feeling": "scared", "text": "IT-CANARY"}):
        _post(child, **fields)
    child.client.post("/worry", data=dict(child.form("/help"), urgent="y", text="help"))

    response = staff_member.login(IT_EMAIL, IT_PASSWORD)
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff")
    imported = _import_roster(console)
    assert imported.status_code == 200 and "Imported 2 pupils: 2 new, 0 updated." in _html(imported)
    assert db.execute("SELECT count(*) FROM pupils WHERE class_name = '6A'").fetchone()[0] == 2
    page = _html(console.get("/kiosk"))
    assert console.get("/settings").status_code == 403
    assert console.post("/settings", data=_settings_fields(page)).status_code == 403
    assert console.post("/kiosk", data={"csrf_token": csrf_token(page), "kiosk_language": "pl",
                                        "kiosk_idle_seconds": "90"}).status_code == 303

    it_key = db.execute("SELECT key_id FROM staff WHERE id = ?", [it_admin]).fetchone()[0]
    assert db.execute("SELECT count(*) FROM key_wraps WHERE staff_id = ?", [it_admin]).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM worry_keys WHERE key_id = ?", [it_key]).fetchone()[0] == 0
    keyring = _keyring(db, IT_EMAIL, IT_PASSWORD)
    assert list(keyring.private_keys) == [it_key]
    worry_ids = [row[0] for row in db.execute("SELECT id FROM worries")]
    assert len(worry_ids) == 4 and not any(_opens(db, worry_id, keyring) for worry_id in worry_ids)
    for worry_id in worry_ids:
        assert console.get("/worries/%d" % worry_id).status_code == 403
    assert "IT-CANARY" not in _html(console.get("/"))
    assert console.get("/escalations").status_code == 403
    assert [detail for _, detail in _audit(db, "roster_imported")] == ["2 pupils: 2 new, 0 updated"]
    assert {staff_id for staff_id, _ in _audit(db, "settings_changed")} == {it_admin}


def test_school_it_can_never_be_given_the_team_key(db, it_admin):
    with pytest.raises(ValueError):
        keys.grant_team_keys(db, it_admin, _team_key_from_team(db))
    accounts.reset_password(db, it_admin, NEW_PASSWORD, team_keys=_team_key_from_team(db))
    assert db.execute("SELECT count(*) FROM key_wraps WHERE staff_id = ?", [it_admin]).fetchone()[0] == 0


def test_recipients_never_include_school_it_even_with_a_class_name(db, it_admin, head):
    for topic, talk_to in [("friends", "teacher"), ("adult_at_school", "teacher"), (None, None)]:
        recipients, _readers = recipients_for(db, topic, talk_to, "4B")
        it_key = db.execute("SELECT key_id FROM staff WHERE id = ?", [it_admin]).fetchone()[0]
        assert it_key not in recipients


def test_school_it_cannot_add_or_remove_a_dsl_or_reset_a_password(it_admin, staff_member, console, db):
    staff_member.login(IT_EMAIL, IT_PASSWORD)
    page = _html(console.get("/staff"))
    assert 'value="dsl"' not in page and 'value="deputy"' not in page
    refused = console.post("/staff", data={"csrf_token": csrf_token(page), "name": "Eve", "role": "dsl",
                                           "email": "eve@school.example", "password": NEW_PASSWORD})
    assert refused.status_code == 422 and find_staff_id(db, "eve@school.example") is None
    dsl_id = find_staff_id(db, DSL_EMAIL)
    assert console.post("/staff/%d/remove" % dsl_id, data={"csrf_token": csrf_token(page)}).status_code == 403
    assert console.get("/staff/%d/password" % dsl_id).status_code == 403
    assert find_staff_id(db, DSL_EMAIL) == dsl_id


def test_a_teacher_school_it_adds_opens_nothing_until_a_dsl_approves_them_then_only_new_worries(
        it_admin, staff_member, console, child, db, console_app):
    staff_member.login(IT_EMAIL, IT_PASSWORD)
    page = _html(console.get("/staff"))
    added = console.post("/staff", data={"csrf_token": csrf_token(page), "name": "Kit Jones", "role": "teacher",
                                         "email": "kit@school.example", "class_name": "5C"})
    password = re.search(r'<code class="password-once">([^<]+)</code>', _html(added)).group(1)
    kit = find_staff_id(db, "kit@school.example")
    assert accounts.sign_in(db, "kit@school.example", password) is not None  # can sign in...
    thanks = _post(child, pupil="P003", talk_to="teacher", feeling="sad")
    before_approval = _latest_worry(db)
    assert "Kit Jones" not in thanks  # ...but even a "my teacher" worry from their class does not reach them
    assert not _opens(db, before_approval, _keyring(db, "kit@school.example", password))
    assert _audit(db, "staff_added")[-1] == (it_admin, "kit@school.example (teacher), waiting for approval")

    # School IT can never approve, not even its own account.
    page = _html(console.get("/staff"))
    assert "Approve as" not in page
    for who in (kit, it_admin):
        assert console.post("/staff/%d/approve" % who, data={"csrf_token": csrf_token(page)}).status_code == 403
    assert console.post("/staff/%d/refuse" % kit, data={"csrf_token": csrf_token(page)}).status_code == 403
    staff_member.logout()

    staff_member.login()
    page = _html(console.get("/staff"))
    assert "Approve as class teacher of 5C — key fingerprint" in page
    approved = console.post("/staff/%d/approve" % kit, data={"csrf_token": csrf_token(page)})
    assert approved.status_code == 303
    assert "Approve as class teacher of 5C" not in _html(console.get("/staff"))
    dsl = find_staff_id(db, DSL_EMAIL)
    assert _audit(db, "staff_approved")[-1][0] == dsl and "staff %d (teacher of 5C)" % kit in _audit(
        db, "staff_approved")[-1][1]

    thanks = _post(child, pupil="P003", talk_to="teacher", feeling="sad")
    assert "Kit Jones" in thanks
    kits_keys = _keyring(db, "kit@school.example", password)
    assert _opens(db, _latest_worry(db), kits_keys)
    assert not _opens(db, before_approval, kits_keys)  # new worries only


def test_a_dsl_can_refuse_an_account_school_it_added(it_admin, staff_member, console, db):
    created = create_staff(db, "rogue@school.example", "Rob Ogue", "head", "rogue head password")
    staff_member.login()
    page = _html(console.get("/staff"))
    assert "Approve as head teacher" in page
    assert console.post("/staff/%d/refuse" % created, data={"csrf_token": csrf_token(page)}).status_code == 303
    assert find_staff_id(db, "rogue@school.example") is None
    assert _audit(db, "staff_refused")[-1] == (find_staff_id(db, DSL_EMAIL), "rogue@school.example (head) was not approved")


@pytest.mark.parametrize("email, password", [(TEACHER_EMAIL, TEACHER_PASSWORD), (HEAD_EMAIL, HEAD_PASSWORD)])
@pytest.mark.parametrize("path", ["/staff", "/roster"])
def test_teachers_and_the_head_cannot_manage_staff_or_the_roster(path, email, password, head, staff_member, console):
    staff_member.login(email, password)
    assert console.get(path).status_code == 403


def test_only_the_roster_page_takes_a_file_upload(staff_member, console):
    staff_member.login()
    page = _html(console.get("/settings"))
    refused = console.post("/settings", data={"csrf_token": csrf_token(page), "file": (io.BytesIO(b"x"), "x.csv")},
                           content_type="multipart/form-data")
    assert refused.status_code == 415
    too_big = _import_roster(console, content=b"pupil_id,first_name,last_name,class\n" + b"x" * (1024 * 1024))
    assert too_big.status_code == 413


def test_a_roster_with_a_bad_line_imports_nothing_and_lists_it(staff_member, console, db):
    staff_member.login()
    before = db.execute("SELECT count(*) FROM pupils").fetchone()[0]
    response = _import_roster(console, content=b"pupil_id,first_name,last_name,class\nP950,,Lee,6B\n")
    assert response.status_code == 422 and "line 2: missing first_name" in _html(response)
    assert db.execute("SELECT count(*) FROM pupils").fetchone()[0] == before


# Team key rotation and removing a DSL -----------------------------------------------------------

def test_after_team_key_rotation_old_and_new_worries_open_for_a_dsl_and_a_removed_dsl_opens_nothing_new(
        child, staff_member, console, db, recovery_code):
    second = create_staff(db, SECOND_DSL_EMAIL, "Sam Second", "dsl", SECOND_DSL_PASSWORD,
                          team_keys=_team_key_from_team(db))
    _post(child, feeling="sad", text="OLD-WORRY")
    old_worry = _latest_worry(db)
    kept_by_second = _keyring(db, SECOND_DSL_EMAIL, SECOND_DSL_PASSWORD)  # as if they kept a copy
    assert _opens(db, old_worry, kept_by_second)

    staff_member.login()
    page = _html(console.get("/staff"))
    removed = console.post("/staff/%d/remove" % second, data={"csrf_token": csrf_token(page)})
    assert removed.status_code == 200 and "make a new team key" in _html(removed)
    rotated = console.post("/staff/team-key", data={"csrf_token": csrf_token(page), "ready": "y"})
    new_code = RECOVERY_CODE.search(_html(rotated)).group(0)
    _post(child, feeling="sad", text="NEW-WORRY")
    new_worry = _latest_worry(db)

    dsl = _keyring(db, DSL_EMAIL, DSL_PASSWORD)
    assert _opens(db, old_worry, dsl) and _opens(db, new_worry, dsl)
    # The DSL who rotated sees the new worry at once, without signing in again.
    assert "NEW-WORRY" in _html(console.get("/worries/%d" % new_worry))
    assert "OLD-WORRY" in _html(console.get("/worries/%d" % old_worry))
    # The removed DSL: no wrapped key left, no sign-in, and even a kept copy of the old team key opens nothing new.
    assert db.execute("SELECT count(*) FROM key_wraps WHERE staff_id = ?", [second]).fetchone()[0] == 0
    assert not _opens(db, new_worry, kept_by_second)
    # Their password-wrapped private key is deleted too: their password opens nothing any more.
    with pytest.raises(opening.OpenError):
        keys.unlock_keyring(db, second, SECOND_DSL_PASSWORD)
    staff_member.logout()
    assert staff_member.login(SECOND_DSL_EMAIL, SECOND_DSL_PASSWORD).status_code == 401
    # The new recovery code opens every team key, old and new; the old code opens none.
    recovered = keys.unlock_team_with_recovery(db, new_code)
    assert set(recovered) == {row[0] for row in db.execute("SELECT key_id FROM keys WHERE purpose = 'team'")}
    assert _opens(db, old_worry, keys.Keyring(0, recovered)) and _opens(db, new_worry, keys.Keyring(0, recovered))
    with pytest.raises(opening.OpenError):
        keys.unlock_team_with_recovery(db, recovery_code)
    dsl_id = find_staff_id(db, DSL_EMAIL)
    assert _audit(db, "staff_removed") == [(dsl_id, "%s (dsl)" % SECOND_DSL_EMAIL)]
    assert len(_audit(db, "team_key_rotated")) == 1 and _audit(db, "team_key_rotated")[0][0] == dsl_id
    assert new_code not in str(db.execute("SELECT * FROM audit_log").fetchall())


def test_a_removed_member_is_signed_out_at_once(deputy, staff_member, console, console_app, db):
    other = console_app.test_client()
    ConsoleHelper(other).login(DEPUTY_EMAIL, DEPUTY_PASSWORD)
    assert other.get("/").status_code == 200
    staff_member.login()
    page = _html(console.get("/staff"))
    console.post("/staff/%d/remove" % deputy, data={"csrf_token": csrf_token(page)})
    assert other.get("/").status_code == 302
    assert all(keyring.staff_id != deputy for keyring in console_app.extensions["worrybox_keyrings"].values())


def test_the_only_dsl_cannot_be_removed_and_nobody_removes_themselves(db):
    dsl_id = find_staff_id(db, DSL_EMAIL)
    with pytest.raises(accounts.AccountError, match="only DSL"):
        accounts.remove_staff(db, dsl_id)
    teacher = find_staff_id(db, TEACHER_EMAIL)
    with pytest.raises(accounts.AccountError, match="yourself"):
        accounts.remove_staff(db, teacher, by_staff_id=teacher)


def test_someone_removed_can_be_added_again_with_the_same_email(db):
    teacher = find_staff_id(db, TEACHER_EMAIL)
    accounts.remove_staff(db, teacher)
    again = create_staff(db, TEACHER_EMAIL, "Tom Baker", "teacher", NEW_PASSWORD, class_name="4B")
    assert again != teacher and find_staff_id(db, TEACHER_EMAIL) == again


# Adding staff and resetting passwords ---------------------------------------------------------

def test_a_dsl_adds_a_deputy_from_the_console_who_then_holds_the_team_key(staff_member, console, db):
    staff_member.login()
    page = _html(console.get("/staff"))
    response = console.post("/staff", data={"csrf_token": csrf_token(page), "name": "Dee Puty", "role": "deputy",
                                            "email": DEPUTY_EMAIL, "password": DEPUTY_PASSWORD})
    assert response.status_code == 200 and DEPUTY_PASSWORD not in _html(response)
    deputy = _keyring(db, DEPUTY_EMAIL, DEPUTY_PASSWORD)
    assert keys.team_keys_of(deputy, db) == _team_key_from_team(db)
    assert _audit(db, "staff_added")[-1] == (find_staff_id(db, DSL_EMAIL), "%s (deputy)" % DEPUTY_EMAIL)


def test_a_password_reset_by_a_dsl_lets_a_deputy_sign_in_with_the_new_password_and_open_team_worries(
        deputy, child, staff_member, console, db):
    # The deputy had set up two-factor sign-in: the reset clears it, since its secret was sealed to the old key.
    keyring = _keyring(db, DEPUTY_EMAIL, DEPUTY_PASSWORD)
    two_factor.enrol(db, deputy, keyring, two_factor.new_secret(), two_factor.current_step())
    _post(child, feeling="sad", text="TEAM-WORRY")
    worry_id = _latest_worry(db)
    staff_member.login()
    page = _html(console.get("/staff/%d/password" % deputy))
    assert "new key" in page and "still opens every one" in page
    response = console.post("/staff/%d/password" % deputy, data={"csrf_token": csrf_token(page),
                                                                  "password": NEW_PASSWORD})
    assert response.status_code == 200 and "password is reset" in _html(response)
    staff_member.logout()
    assert not two_factor.is_enrolled(db, deputy)
    assert staff_member.login(DEPUTY_EMAIL, DEPUTY_PASSWORD).status_code == 401
    assert staff_member.login(DEPUTY_EMAIL, NEW_PASSWORD).status_code == 303
    assert "TEAM-WORRY" in _html(console.get("/worries/%d" % worry_id))
    assert _opens(db, worry_id, _keyring(db, DEPUTY_EMAIL, NEW_PASSWORD))
    with pytest.raises(opening.OpenError):
        _keyring(db, DEPUTY_EMAIL, DEPUTY_PASSWORD)
    [(by, detail)] = _audit(db, "password_reset")
    assert by == find_staff_id(db, DSL_EMAIL) and NEW_PASSWORD not in detail


def test_a_reset_makes_up_a_password_shown_once_when_the_dsl_leaves_it_blank(staff_member, console, db):
    teacher = find_staff_id(db, TEACHER_EMAIL)
    staff_member.login()
    page = _html(console.get("/staff/%d/password" % teacher))
    response = console.post("/staff/%d/password" % teacher, data={"csrf_token": csrf_token(page), "password": ""})
    password = re.search(r'<code class="password-once">([^<]+)</code>', _html(response)).group(1)
    assert len(password) >= 12 and accounts.sign_in(db, TEACHER_EMAIL, password) is not None
    assert accounts.sign_in(db, TEACHER_EMAIL, TEACHER_PASSWORD) is None
    assert password not in str(db.execute("SELECT * FROM audit_log").fetchall())


def test_a_reset_teacher_reads_new_worries_from_their_class_while_old_ones_stay_with_the_team(child, db, team_keys):
    _post(child, pupil="P001", talk_to="teacher", feeling="sad")
    before = _latest_worry(db)
    accounts.reset_password(db, find_staff_id(db, TEACHER_EMAIL), NEW_PASSWORD, team_keys=team_keys,
                            by_staff_id=find_staff_id(db, DSL_EMAIL))
    _post(child, pupil="P001", talk_to="teacher", feeling="sad")
    after = _latest_worry(db)
    teacher = _keyring(db, TEACHER_EMAIL, NEW_PASSWORD)
    assert _opens(db, after, teacher) and not _opens(db, before, teacher)
    assert _opens(db, before, _keyring(db, DSL_EMAIL, DSL_PASSWORD))


def test_a_reset_is_refused_for_a_key_holder_without_the_team_key(deputy, db):
    with pytest.raises(accounts.AccountError, match="team key"):
        accounts.reset_password(db, deputy, NEW_PASSWORD)
    assert _keyring(db, DEPUTY_EMAIL, DEPUTY_PASSWORD)


def test_every_staff_action_leaves_an_audit_row_with_no_password_or_key(deputy, staff_member, console, db):
    staff_member.login()
    page = _html(console.get("/staff"))
    console.post("/staff", data={"csrf_token": csrf_token(page), "name": "Hana Head", "role": "head",
                                 "email": HEAD_EMAIL, "password": HEAD_PASSWORD})
    console.post("/staff/%d/password" % deputy, data={"csrf_token": csrf_token(page), "password": NEW_PASSWORD})
    rotated = _html(console.post("/staff/team-key", data={"csrf_token": csrf_token(page), "ready": "y"}))
    console.post("/staff/%d/remove" % deputy, data={"csrf_token": csrf_token(page)})
    _import_roster(console)
    events = [row[0] for row in db.execute("SELECT event FROM audit_log WHERE staff_id = ?",
                                           [find_staff_id(db, DSL_EMAIL)])]
    for event in ("staff_added", "password_reset", "team_key_rotated", "staff_removed", "roster_imported"):
        assert event in events
    log = str(db.execute("SELECT * FROM audit_log").fetchall())
    for secret in (HEAD_PASSWORD, NEW_PASSWORD, RECOVERY_CODE.search(rotated).group(0)):
        assert secret not in log


def test_rotating_needs_the_box_ticked_and_changes_nothing_without_it(staff_member, console, db):
    staff_member.login()
    before = db.execute("SELECT key_id FROM keys WHERE purpose = 'team' AND retired_at IS NULL").fetchall()
    page = _html(console.get("/staff"))
    response = console.post("/staff/team-key", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 422 and "Tick the box" in _html(response)
    assert db.execute("SELECT key_id FROM keys WHERE purpose = 'team' AND retired_at IS NULL").fetchall() == before


# The command line --------------------------------------------------------------------------------

def _run(data_dir, *args):
    return worrybox(args[0], "--data-dir", data_dir, *args[1:])


def _file(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_the_command_line_removes_a_member_of_staff_who_then_cannot_sign_in(data_dir, deputy, db):
    result = _run(data_dir, "remove-staff", "--email", DEPUTY_EMAIL)
    assert result.returncode == 0, result.stderr
    assert "rotate-team-key" in result.stdout
    assert find_staff_id(db, DEPUTY_EMAIL) is None and accounts.sign_in(db, DEPUTY_EMAIL, DEPUTY_PASSWORD) is None
    assert db.execute("SELECT count(*) FROM key_wraps WHERE staff_id = ?", [deputy]).fetchone()[0] == 0
    assert _audit(db, "staff_removed") == [(None, "%s (deputy)" % DEPUTY_EMAIL)]


@pytest.mark.slow
def test_the_command_line_resets_a_password_with_a_dsls_keys(data_dir, deputy, db, tmp_path):
    refused = _run(data_dir, "reset-password", "--email", DEPUTY_EMAIL,
                   "--password-file", _file(tmp_path, "new.txt", NEW_PASSWORD))
    assert refused.returncode != 0 and "--by" in refused.stderr and "Traceback" not in refused.stderr
    result = _run(data_dir, "reset-password", "--email", DEPUTY_EMAIL,
                  "--password-file", _file(tmp_path, "new.txt", NEW_PASSWORD),
                  "--by", DSL_EMAIL, "--by-password-file", _file(tmp_path, "dsl.txt", DSL_PASSWORD))
    assert result.returncode == 0, result.stderr
    assert keys.team_keys_of(_keyring(db, DEPUTY_EMAIL, NEW_PASSWORD), db) == _team_key_from_team(db)
    assert accounts.sign_in(db, DEPUTY_EMAIL, DEPUTY_PASSWORD) is None
    assert _audit(db, "password_reset")[0][0] == find_staff_id(db, DSL_EMAIL)


@pytest.mark.slow
def test_the_command_line_rotates_the_team_key_and_prints_a_new_recovery_code(data_dir, child, db, tmp_path,
                                                                               recovery_code):
    _post(child, feeling="sad")
    old_worry = _latest_worry(db)
    result = _run(data_dir, "rotate-team-key", "--recovery-code-file", _file(tmp_path, "code.txt", recovery_code))
    assert result.returncode == 0, result.stderr
    new_code = RECOVERY_CODE.search(result.stdout).group(0)
    assert new_code != recovery_code
    _post(child, feeling="sad")
    new_worry = _latest_worry(db)
    dsl = _keyring(db, DSL_EMAIL, DSL_PASSWORD)
    assert _opens(db, old_worry, dsl) and _opens(db, new_worry, dsl)
    assert len(worry_recipients(db)) == 1 and set(worry_recipients(db)) <= set(dsl.private_keys)
    assert _opens(db, new_worry, keys.Keyring(0, keys.unlock_team_with_recovery(db, new_code)))
    assert _audit(db, "team_key_rotated")[0][0] is None
