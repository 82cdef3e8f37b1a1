"""The "How safe do you feel?" survey: the DSL opens it; answers are anonymous; results and the report count them."""

from datetime import timedelta

import pytest

from helpers import TEACHER_EMAIL, TEACHER_PASSWORD, csrf_token
from worrybox import periods, report, survey

def _answer(db, n, class_name, day, answer="yes"):
    for _ in range(n):
        survey.record_response(db, day, {question: answer for question in survey.QUESTIONS}, class_name=class_name,
                               language="pa")


def test_answers_are_kept_only_while_a_window_is_open_and_keep_no_child(db, today):
    assert survey.record_response(db, today, {"safe_in_toilets": "no"}, class_name="4B") is None
    survey.open_window(db, today, today + timedelta(days=4), 1)
    response_id = survey.record_response(db, today, {"safe_in_toilets": "no", "safe_online": ""}, class_name="4B")
    assert db.execute("SELECT * FROM survey_responses").fetchall() == [
        (response_id, 1, today.isoformat(), "4B", None, "en")]
    assert db.execute("SELECT question, answer FROM survey_answers").fetchall() == [("safe_in_toilets", "no")]
    with pytest.raises(ValueError):
        survey.record_response(db, today, {"safe_in_toilets": "maybe"})


def test_the_dsl_opens_the_survey_and_reads_results_by_class_disclosure_controlled(db, today, staff_member, console):
    staff_member.login()
    page = console.get("/survey").get_data(as_text=True)
    assert "Not open today" in page
    response = console.post("/survey/windows", data={"csrf_token": csrf_token(page), "opens_on": today.isoformat(),
                                                     "closes_on": (today + timedelta(days=60)).isoformat()})
    assert response.status_code == 422 and "up to 31 days" in response.get_data(as_text=True)
    response = console.post("/survey/windows", data={"csrf_token": csrf_token(page), "opens_on": today.isoformat(),
                                                     "closes_on": (today + timedelta(days=4)).isoformat()},
                            follow_redirects=True)
    assert "The survey is open at the kiosk on those days." in response.get_data(as_text=True)
    assert db.execute("SELECT detail FROM audit_log WHERE event = 'settings_changed'").fetchall()[-1][0].startswith(
        "survey 1 open")
    _answer(db, 7, "4B", today)
    _answer(db, 2, "5C", today, answer="no")
    page = console.get("/survey").get_data(as_text=True)
    assert "Open now" in page
    assert '<th scope="row">4B</th><td>5</td>' in page  # 7 answered, rounded
    assert '<th scope="row">5C</th><td>fewer than 5</td>' in page


def test_survey_results_are_in_the_governors_report(db, today):
    survey.open_window(db, today, today, 1)
    _answer(db, 8, "4B", today)
    _answer(db, 6, "4B", today, answer="sometimes")
    result = report.governor_report(db, periods.containing(today, "half-term"))
    section = next(s for s in result.sections if s.key == "survey")
    rows = {row.label: row for row in section.rows}
    assert rows["Children who answered"].count == 14
    assert rows["I feel safe in the toilets: yes"].shown == "10"
    assert rows["I feel safe in the toilets: sometimes or no"].shown == "5"


def test_a_teacher_cannot_open_the_survey_or_read_its_results(staff_member, console):
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    assert console.get("/survey").status_code == 403
