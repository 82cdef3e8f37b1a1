"""Staff concerns ("no threshold"): any adult logs one about a child; the team reads it; the writer reads nothing."""

import re
from datetime import datetime, timezone

import pytest

from helpers import DSL_PASSWORD, PUPILS, ConsoleHelper, TEACHER_EMAIL, TEACHER_PASSWORD, csrf_token
from worrybox import casework, concerns, keys
from worrybox.config import Paths
from worrybox.school import pupil_keys
from worrybox.staff import create_staff

SUPERVISOR_EMAIL, SUPERVISOR_PASSWORD = "lunch@school.example", "lunchtime supervisor pw"
CANARY = "CONCERN-CANARY bruise on her arm, said her brother did it"


@pytest.fixture
def supervisor(db):
    return create_staff(db, SUPERVISOR_EMAIL, "Lena Lunch", "staff", SUPERVISOR_PASSWORD)


def _log(console, **fields):
    """Search for Amira as a phone user would, then send the concern."""
    page = console.get("/concern").get_data(as_text=True)
    token = csrf_token(page)
    found = console.post("/concern", data={"csrf_token": token, "find": "amira", "action": "find"})
    ref = re.search(r'name="pupil" value="([0-9a-f]{64})"', found.get_data(as_text=True)).group(1)
    data = {"csrf_token": token, "find": "amira", "pupil": ref, "text": CANARY, "category": "injury",
            "place": "playground", "happened_at": "2026-11-30T12:15", "action": "send"}
    data.update(fields)
    return console.post("/concern", data=data), ref


def test_a_lunchtime_supervisor_logs_a_concern_that_reaches_the_chronology_and_the_queue(supervisor, staff_member, console,
                                                                                            db, console_app):
    assert staff_member.login(SUPERVISOR_EMAIL, SUPERVISOR_PASSWORD).headers["Location"].endswith("/concern")
    response, ref = _log(console)
    assert response.status_code == 303 and response.headers["Location"].endswith("/concern/sent")
    row = db.execute("SELECT id, logged_by, concern_category, place, pupil_ref FROM worries").fetchone()
    assert row[1:] == (supervisor, "injury", "playground", ref)
    assert CANARY.encode() not in b"".join(r[0] for r in db.execute("SELECT sealed_body FROM worries"))
    assert db.execute("SELECT event, staff_id, worry_id FROM audit_log WHERE event = 'concern_logged'").fetchall() == \
        [("concern_logged", supervisor, row[0])]
    console = console_app.test_client()
    ConsoleHelper(console).login()
    queue = console.get("/").get_data(as_text=True)
    assert "Staff concern" in queue and "A mark or injury" in queue
    opened = console.get("/worries/%d" % row[0]).get_data(as_text=True)
    assert CANARY in opened and "Lena Lunch" in opened and "Amira Qureshi" in opened
    picture = console.get("/pupils/%s" % ref).get_data(as_text=True)
    assert "logged a staff concern: a mark or injury" in picture and CANARY in picture


def test_the_writer_can_open_nothing_not_even_their_own_concern(supervisor, staff_member, console, db, child):
    child.post(text="a child's own worry", feeling="sad")
    staff_member.login(SUPERVISOR_EMAIL, SUPERVISOR_PASSWORD)
    _log(console)
    concern_id = db.execute("SELECT id FROM worries WHERE logged_by IS NOT NULL").fetchone()[0]
    # Sealed to the team key alone: nothing of theirs can open it, in the database or through the console.
    assert [k for (k,) in db.execute("SELECT key_id FROM worry_keys WHERE worry_id = ?", [concern_id])] == \
        list(db.execute("SELECT key_id FROM keys WHERE purpose = 'team'").fetchone())
    assert not casework.can_open(db, concern_id, keys.unlock_keyring(db, supervisor, SUPERVISOR_PASSWORD))
    for path in ("/worries/%d" % concern_id, "/worries/1", "/pupils/%s" % ("a" * 64), "/report", "/audit",
                 "/escalations", "/watch"):
        response = console.get(path)
        assert response.status_code in (403, 404), path
        assert CANARY not in response.get_data(as_text=True)
    # The queue sends them back to the concern form: there is nothing there for them.
    assert console.get("/").headers["Location"].endswith("/concern")
    assert CANARY not in console.get("/concern/sent").get_data(as_text=True)


def test_a_concern_with_mistakes_comes_back_with_everything_typed(supervisor, staff_member, console, db):
    staff_member.login(SUPERVISOR_EMAIL, SUPERVISOR_PASSWORD)
    response, _ref = _log(console, category="", happened_at="2099-01-01T10:00")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose what it is about." in page and "has not come yet" in page
    assert "CONCERN-CANARY bruise on her arm" in page and "Amira Qureshi (4B)" in page
    assert db.execute("SELECT count(*) FROM worries").fetchone()[0] == 0
    no_child = console.post("/concern", data={"csrf_token": csrf_token(page), "text": CANARY, "category": "said",
                                              "happened_at": "2026-11-30T12:15", "action": "send"})
    assert no_child.status_code == 422 and "Find the child and choose them." in no_child.get_data(as_text=True)
    nobody = console.post("/concern", data={"csrf_token": csrf_token(page), "find": "zzz", "action": "find",
                                            "text": CANARY})
    assert "No child on the roster matches" in nobody.get_data(as_text=True)
    assert CANARY in nobody.get_data(as_text=True)


def test_searching_by_class_lists_the_class(db, data_dir):
    found = concerns.search_pupils(db, pupil_keys(Paths(data_dir)), "4b")
    assert [pupil.first_name for _ref, pupil in found] == ["Amira", "Tomasz"]
    assert [p.first_name for _r, p in concerns.search_pupils(db, pupil_keys(Paths(data_dir)), "sandhu")] == ["Harjit"]


def test_a_child_checking_by_name_never_hears_of_a_concern_about_them(supervisor, db, data_dir, kiosk):
    from worrybox import hear_back
    ref = pupil_keys(Paths(data_dir)).pupil_ref("P001")
    concerns.log_concern(db, supervisor, concerns.NewConcern(PUPILS[0], ref, CANARY, "said", None,
                                                             datetime.now(timezone.utc)))
    keys_ = pupil_keys(Paths(data_dir))
    assert hear_back.check_pupil(db, keys_, ref, ["cat", "cat", "cat"], "tablet-ref") is None
    assert db.execute(hear_back._NEWEST_RECENT[("pupil_ref", "code_hash")].replace("code_hash = ?", "1 = ?"),
                      [ref, 1, "2000"]).fetchone() is None, "even a name alone would find no concern"
    assert hear_back.ways_to_check(db, 1) == {"by_name": False, "by_pictures": False}


def test_a_teacher_can_log_a_concern_too_and_cannot_open_it(staff_member, console, db):
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    response, _ref = _log(console)
    assert response.status_code == 303
    assert console.get("/worries/1").status_code == 403
    assert casework.can_open(db, 1, keys.unlock_keyring(db, 1, DSL_PASSWORD))
