"""The governors' report: the right numbers, small counts hidden, and never a name or a child's words."""

import re
from datetime import date, datetime, timedelta, timezone

import pytest

from helpers import PUPILS, TEACHER_EMAIL, TEACHER_PASSWORD
from worrybox import report, worries
from worrybox.config import Paths
from worrybox.school import pupil_keys
from worrybox.recipients import worry_recipients

TERM_START, TERM_END = date(2026, 9, 7), date(2026, 10, 16)  # six weeks
CANARY = "REPORT-CANARY my secret words"


@pytest.fixture
def seeded(db, data_dir):
    """A term with 12 toilet worries, 3 playground worries, 2 urgent; and 6 worries the term before."""
    recipients = worry_recipients(db)
    ref = pupil_keys(Paths(data_dir)).pupil_ref("P001")
    moment = datetime(2026, 9, 8, 10, 0, tzinfo=timezone.utc)
    posted = []
    for n in range(12):
        posted.append(dict(place="toilets", topic="bullying", feeling="scared"))
    for n in range(3):
        posted.append(dict(place="playground", topic="friends", feeling="sad"))
    for n, fields in enumerate(posted):
        worries.post_worry(db, recipients, worries.NewWorry(
            submission_id="term-%02d-xxxxxxxxxxxxxx" % n, text=CANARY, urgent=n < 2,
            pupil=PUPILS[0] if n < 3 else None, pupil_ref=ref if n < 3 else None, **fields),
            at=moment + timedelta(days=n))
    for n in range(6):
        worries.post_worry(db, recipients, worries.NewWorry(
            submission_id="before-%02d-xxxxxxxxxxxx" % n, text=CANARY, place="toilets", topic="bullying"),
            at=moment - timedelta(days=10 + n))
    return db


def _row(result, key, label):
    section = next(s for s in result.sections if s.key == key)
    return next(r for r in section.rows if r.label == label)


def test_the_report_counts_worries_by_place_topic_and_week(seeded):
    result = report.governor_report(seeded, TERM_START, TERM_END)
    assert _row(result, "totals", "Worries posted").count == 15
    assert _row(result, "place", "Toilets").count == 12
    assert _row(result, "place", "Toilets").previous == 6
    assert _row(result, "place", "Toilets").change == "up 6"
    assert _row(result, "topic", "Someone is unkind to me").count == 12
    assert sum(count for _week, count in result.weeks) == 15
    assert result.weeks[0][0] == date(2026, 9, 7)


def test_counts_under_five_are_shown_as_fewer_than_five(seeded):
    result = report.governor_report(seeded, TERM_START, TERM_END)
    assert _row(result, "place", "Playground").shown == "fewer than 5"
    assert _row(result, "totals", "Urgent: 'I need help now'").shown == "fewer than 5"
    assert _row(result, "place", "Toilets").shown == "12"
    assert _row(result, "place", "Online").shown == "0"
    assert _row(result, "place", "Playground").change == ""  # a change would give the small number away


def test_the_report_page_has_charts_tables_and_no_names_or_words(seeded, staff_member, console):
    staff_member.login()
    page = console.get("/report?start=%s&end=%s" % (TERM_START, TERM_END)).get_data(as_text=True)
    assert page.count("<svg") >= 5 and page.count("<table") >= 5
    assert re.search(r"<th scope=\"row\">Toilets</th><td>12</td><td>6</td><td>up 6</td>", page)
    assert "fewer than 5" in page
    for secret in (CANARY, "REPORT-CANARY", *(p.first_name for p in PUPILS), *(p.last_name for p in PUPILS)):
        assert secret not in page


def test_the_csv_download_matches_the_page_and_is_audited(seeded, staff_member, console, db):
    staff_member.login()
    response = console.get("/report.csv?start=%s&end=%s" % (TERM_START, TERM_END))
    body = response.get_data(as_text=True)
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    assert "Where it happened (where children feel unsafe),Toilets,12,6" in body
    assert "Playground,fewer than 5" in body
    assert CANARY not in body and "Amira" not in body
    assert db.execute("SELECT count(*) FROM audit_log WHERE event = 'export'").fetchone()[0] == 1


def test_dates_that_make_no_sense_get_a_kind_message(staff_member, console):
    staff_member.login()
    page = console.get("/report?start=yesterday&end=2026-13-45").get_data(as_text=True)
    assert "could not be read" in page


def test_a_teacher_cannot_see_the_report(staff_member, console):
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    assert console.get("/report").status_code == 403


def test_the_dsl_sees_who_opened_which_worry_in_the_audit_log(child, staff_member, console):
    child.post(text=CANARY, feeling="sad")
    staff_member.login()
    console.get("/worries/1")
    page = console.get("/audit").get_data(as_text=True)
    assert "open worry" in page and "Dana Lewis" in page and 'href="/worries/1"' in page
    assert CANARY not in page
    assert "open worry" in console.get("/audit?event=open_worry").get_data(as_text=True)


def test_only_the_dsl_sees_the_audit_log(staff_member, console):
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    assert console.get("/audit").status_code == 403
