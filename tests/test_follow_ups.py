"""Actions with an owner and a due date, and referrals to other agencies: sealed, in the chronology, counted."""

from datetime import date, timedelta

import pytest

from helpers import (DSL_PASSWORD, OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD, TEACHER_EMAIL, TEACHER_PASSWORD,
                      ConsoleHelper, csrf_token)
from worrybox import followups, keys, periods, report, staff

WHAT = "ACTION-CANARY ring mum about the bruise"


@pytest.fixture
def worry(child):
    assert child.post(text="someone hurt me", feeling="sad").status_code == 303
    return 1


def _teacher_id(db, email=TEACHER_EMAIL):
    return db.execute("SELECT id FROM staff WHERE email = ?", [email]).fetchone()[0]


def test_an_overdue_action_shows_on_its_owners_first_page_and_the_dsls(worry, db, console_app):
    keyring = keys.unlock_keyring(db, 1, DSL_PASSWORD)
    followups.add_follow_up(db, worry, keyring, _teacher_id(db), date.today() - timedelta(days=2), WHAT)
    teacher = console_app.test_client()
    ConsoleHelper(teacher).login(TEACHER_EMAIL, TEACHER_PASSWORD)
    first_page = teacher.get("/").get_data(as_text=True)
    assert "1 overdue action" in first_page
    # The worry is the team's alone, but the owner can read what they are to do.
    assert teacher.get("/worries/%d" % worry).status_code == 403
    assert WHAT in teacher.get("/actions").get_data(as_text=True)
    dsl = console_app.test_client()
    ConsoleHelper(dsl).login()
    assert "1 overdue action" in dsl.get("/").get_data(as_text=True)
    other = console_app.test_client()
    ConsoleHelper(other).login(OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD)
    assert "overdue action" not in other.get("/").get_data(as_text=True)
    assert WHAT not in other.get("/actions").get_data(as_text=True)
    # Done: it leaves every first page, and the chronology says who did it.
    page = teacher.get("/actions").get_data(as_text=True)
    done = teacher.post("/actions/1/done", data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "Action marked done." in done.get_data(as_text=True)
    assert "overdue action" not in teacher.get("/").get_data(as_text=True)
    assert "overdue action" not in dsl.get("/").get_data(as_text=True)
    worry_page = dsl.get("/worries/%d" % worry).get_data(as_text=True)
    assert "set an action to follow up" in worry_page and WHAT in worry_page and "marked an action done" in worry_page


def test_an_action_is_added_from_the_worry_page_and_a_past_due_date_is_refused_kindly(worry, staff_member, console, db):
    staff_member.login()
    page = console.get("/worries/%d" % worry).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "owner": str(_teacher_id(db)), "due_on": "2020-01-01", "what": WHAT}
    refused = console.post("/worries/%d/actions" % worry, data=data)
    assert refused.status_code == 422
    assert "That day has passed" in refused.get_data(as_text=True) and WHAT in refused.get_data(as_text=True)
    data["due_on"] = (date.today() + timedelta(days=3)).isoformat()
    added = console.post("/worries/%d/actions" % worry, data=data, follow_redirects=True)
    assert "Action added." in added.get_data(as_text=True)
    assert db.execute("SELECT owner_id, due_on FROM follow_ups").fetchall() == [(_teacher_id(db), data["due_on"])]
    assert WHAT.encode() not in db.execute("SELECT sealed_note FROM actions WHERE action = 'follow_up'").fetchone()[0]
    assert db.execute("SELECT count(*) FROM audit_log WHERE event = 'follow_up_added'").fetchone()[0] == 1


def test_an_action_for_someone_removed_meanwhile_is_refused_kindly_and_keeps_what_was_typed(worry, staff_member,
                                                                                              console, db):
    staff_member.login()
    page = console.get("/worries/%d" % worry).get_data(as_text=True)
    staff.remove_staff(db, _teacher_id(db))  # school IT removes the teacher while the DSL is typing
    refused = console.post("/worries/%d/actions" % worry, data={
        "csrf_token": csrf_token(page), "owner": str(_teacher_id(db)),
        "due_on": (date.today() + timedelta(days=3)).isoformat(), "what": WHAT})
    assert refused.status_code == 422
    assert "Choose who will do it." in refused.get_data(as_text=True) and WHAT in refused.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM follow_ups").fetchone()[0] == 0


def test_a_referral_goes_into_the_chronology_sealed_and_is_counted_in_the_report(worry, staff_member, console, db):
    staff_member.login()
    page = console.get("/worries/%d" % worry).get_data(as_text=True)
    response = console.post("/worries/%d/referrals" % worry, data={
        "csrf_token": csrf_token(page), "agency": "social_care", "referred_on": date.today().isoformat(),
        "reference": "REF-CANARY-42"}, follow_redirects=True)
    assert "Referral recorded." in response.get_data(as_text=True)
    worry_page = console.get("/worries/%d" % worry).get_data(as_text=True)
    assert "referred to Children&#39;s social care" in worry_page and "REF-CANARY-42" in worry_page
    assert b"REF-CANARY-42" not in db.execute("SELECT sealed_note FROM actions WHERE action LIKE 'referral:%'").fetchone()[0]
    saved = console.post("/referrals/1/outcome", data={"csrf_token": csrf_token(worry_page),
                                                       "outcome": "OUTCOME-CANARY s17"}, follow_redirects=True)
    assert "Outcome saved." in saved.get_data(as_text=True)
    assert "OUTCOME-CANARY s17" in console.get("/worries/%d" % worry).get_data(as_text=True)
    result = report.governor_report(db, periods.containing(date.today(), "half-term"))
    referrals = next(s for s in result.sections if s.key == "referrals")
    assert {row.label: row.count for row in referrals.rows}["Children's social care"] == 1
    assert "REF-CANARY" not in report.report_csv(result) and "OUTCOME-CANARY" not in report.report_csv(result)


def test_a_class_teacher_cannot_record_a_referral(worry, staff_member, console, db):
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    page = console.get("/actions").get_data(as_text=True)
    response = console.post("/worries/%d/referrals" % worry, data={
        "csrf_token": csrf_token(page), "agency": "police", "referred_on": date.today().isoformat()})
    assert response.status_code == 403
    assert db.execute("SELECT count(*) FROM referrals").fetchone()[0] == 0
