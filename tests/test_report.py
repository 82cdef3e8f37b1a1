"""The governors' report: fixed periods only, small counts hidden and never recoverable, no names, no pranks."""

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest

from helpers import DSL_PASSWORD, PUPILS, TEACHER_EMAIL, TEACHER_PASSWORD
from worrybox import concerns, followups, keys, periods, report, throttle, worries
from worrybox.casework import set_child_protection
from worrybox.config import Paths
from worrybox.recipients import worry_recipients
from worrybox.school import pupil_keys
from worrybox.staff import create_staff

TERM = periods.period_by_key("2026-27-autumn-1")  # 1 September to 31 October 2026
CANARY = "REPORT-CANARY my secret words"
HEAD_EMAIL, HEAD_PASSWORD = "head@school.example", "head teacher password"


@pytest.fixture
def seeded(db, data_dir):
    """A half-term with 12 toilet worries, 3 playground worries (3 named, 2 urgent); 6 worries the half-term before."""
    recipients = worry_recipients(db)
    ref = pupil_keys(Paths(data_dir)).pupil_ref("P001")
    moment = datetime(2026, 9, 8, 10, 0, tzinfo=timezone.utc)
    posted = [dict(place="toilets", topic="bullying", feeling="scared")] * 12 + \
        [dict(place="playground", topic="friends", feeling="sad")] * 3
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


def _dsl(db):
    return keys.unlock_keyring(db, 1, DSL_PASSWORD)


def test_the_report_counts_worries_by_place_topic_and_week(seeded):
    result = report.governor_report(seeded, TERM)
    assert _row(result, "totals", "Worries posted").count == 15
    assert _row(result, "place", "Toilets").count == 12
    assert _row(result, "place", "Toilets").previous == 6
    assert _row(result, "topic", "Someone is unkind to me").count == 12
    assert sum(count for _week, count in result.weeks) == 15
    assert result.weeks[0][0] == date(2026, 8, 31)  # the Monday of the week 1 September falls in
    assert result.previous_period.key == "2025-26-summer-2"


def test_small_counts_are_hidden_and_the_rest_rounded_to_five(seeded):
    result = report.governor_report(seeded, TERM)
    assert _row(result, "place", "Playground").shown == "fewer than 5"
    assert _row(result, "totals", "Urgent: 'I need help now'").shown == "fewer than 5"
    assert _row(result, "place", "Toilets").shown == "10"  # 12
    assert _row(result, "place", "Toilets").shown_previous == "5"  # 6
    assert _row(result, "place", "Toilets").change == "up 5"
    assert _row(result, "place", "Online").shown == "0"
    assert _row(result, "place", "Playground").change == ""  # a change would give the small number away


def _number(text):
    return 0 if text == "0" else int(text)


def _no_hidden_count_can_be_worked_back(table):
    """table: {section: [(label, shown, true count)]} with the total first where a section has one."""
    for section, rows in table.items():
        visible = [_number(shown) for _label, shown, _true in rows if shown != report.FEWER_THAN]
        hidden = [true for _label, shown, true in rows if shown == report.FEWER_THAN]
        for true in hidden:
            # A total minus the other rows, or any one row minus another, never gives a hidden count back.
            differences = {a - b for a in visible for b in visible} | {visible[0] - sum(visible[1:])} if visible else set()
            assert true not in differences, "%s: hidden %d can be worked out" % (section, true)


def test_no_hidden_count_equals_a_total_minus_the_visible_rows_on_the_page_or_in_the_csv(seeded, staff_member, console,
                                                                                          db):
    create_staff(db, HEAD_EMAIL, "Hana Head", "head", HEAD_PASSWORD)
    result = report.governor_report(seeded, TERM)
    truth = {(s.title, r.label): r.count for s in result.sections for r in s.rows}
    # The seeded data has hidden rows beside a visible total: 3 named of 15, 3 playground of 15, 2 urgent.
    assert _row(result, "totals", "With a name").count == 3 and _row(result, "totals", "Without a name").count == 12
    staff_member.login(HEAD_EMAIL, HEAD_PASSWORD)
    page = console.get("/report?period=%s" % TERM.key).get_data(as_text=True)
    body = console.get("/report.csv?period=%s" % TERM.key).get_data(as_text=True)
    from_csv = {}
    for section, label, now, _before in list(csv.reader(io.StringIO(body)))[1:]:
        if (section, label) in truth:
            from_csv.setdefault(section, []).append((label, now, truth[(section, label)]))
    assert ("With a name", report.FEWER_THAN, 3) in from_csv["Worries and help"]
    _no_hidden_count_can_be_worked_back(from_csv)
    from_page = {}
    for title, table in re.findall(r"<h2>([^<]+)</h2>.*?<tbody>(.*?)</tbody>", page, re.S):
        title = title.replace("&#39;", "'")
        for label, now in re.findall(r'<th scope="row">([^<]+)</th><td>([^<]+)</td>', table):
            label = label.replace("&#39;", "'")
            if (title, label) in truth:
                from_page.setdefault(title, []).append((label, now, truth[(title, label)]))
    assert from_page == from_csv
    # The charts draw rounded numbers too: no bar length or label gives an exact 12 or 3 away.
    assert ">12<" not in page and ">3<" not in page and ">15<" in page


def test_arbitrary_date_ranges_are_refused_kindly(seeded, staff_member, console):
    staff_member.login()
    response = console.get("/report?start=2026-09-08&end=2026-09-08")
    assert response.status_code == 400
    assert "half-term, a term or a school year" in response.get_data(as_text=True)
    assert console.get("/report.csv?start=2026-09-01&end=2026-09-30").status_code == 400
    assert console.get("/report?period=2026-09-08").status_code == 400
    assert console.get("/report?period=2040-41").status_code == 400  # not begun: nothing to report yet
    assert console.get("/report?period=%s" % TERM.key).status_code == 200


def test_a_worry_marked_not_real_leaves_every_count(seeded, db):
    recipients = worry_recipients(db)
    before = report.governor_report(db, TERM)
    prank_id, _ = worries.post_worry(db, recipients, worries.NewWorry(
        submission_id="prank-xxxxxxxxxxxxxxxxxx", text="ha ha", urgent=True, place="toilets", topic="bullying",
        feeling="angry", pupil=PUPILS[1], pupil_ref="f" * 64), at=datetime(2026, 9, 20, 10, tzinfo=timezone.utc))
    worries.post_worry(db, recipients, worries.NewWorry(
        submission_id="prank-2xxxxxxxxxxxxxxxxx", text="again", pupil=PUPILS[1], pupil_ref="f" * 64),
        at=datetime(2026, 9, 21, 10, tzinfo=timezone.utc))
    counted = report.governor_report(db, TERM)
    assert _row(counted, "totals", "Worries posted").count == 17
    assert _row(counted, "escalations", "Urgent worries").count == 3
    throttle.mark_not_real(db, prank_id, 1, not_real=True)
    throttle.mark_not_real(db, prank_id + 1, 1, not_real=True)
    after = report.governor_report(db, TERM)
    assert [(r.label, r.count) for s in after.sections for r in s.rows] == \
        [(r.label, r.count) for s in before.sections for r in s.rows]
    assert after.weeks == before.weeks


def test_child_protection_referrals_and_staff_concerns_are_counted(seeded, db, data_dir):
    keyring = _dsl(db)
    set_child_protection(db, 1, keyring)
    for agency in ("early_help", "early_help", "social_care"):
        followups.add_referral(db, 1, keyring, agency, date(2026, 9, 10), reference="REF-CANARY-1")
    ref = pupil_keys(Paths(data_dir)).pupil_ref("P002")
    for n in range(6):
        concerns.log_concern(db, 1, concerns.NewConcern(PUPILS[1], ref, "bruise on arm", "injury", "playground",
                                                        datetime(2026, 9, 9, 12, tzinfo=timezone.utc)),
                             at=datetime(2026, 9, 9 + n, 12, tzinfo=timezone.utc))
    result = report.governor_report(db, TERM)
    assert _row(result, "child_protection", "Children's worries marked as child-protection concerns").count == 1
    assert _row(result, "referrals", "Early Help").count == 2
    assert _row(result, "referrals", "Children's social care").count == 1
    assert _row(result, "referrals", "Police").count == 0
    assert _row(result, "staff_concerns", "Staff concerns logged").count == 6
    assert _row(result, "staff_concerns", "A mark or injury").shown == "5"
    # Staff concerns are not children's worries.
    assert _row(result, "totals", "Worries posted").count == 15
    assert "REF-CANARY" not in report.report_csv(result)


def test_the_report_page_has_charts_tables_and_no_names_or_words(seeded, staff_member, console):
    staff_member.login()
    page = console.get("/report?period=%s" % TERM.key).get_data(as_text=True)
    assert page.count("<svg") >= 5 and page.count("<table") >= 5
    assert re.search(r"<th scope=\"row\">Toilets</th><td>10</td><td>5</td><td>up 5</td>", page)
    assert "fewer than 5" in page
    for secret in (CANARY, "REPORT-CANARY", *(p.first_name for p in PUPILS), *(p.last_name for p in PUPILS)):
        assert secret not in page


def test_the_csv_download_matches_the_page_and_is_audited(seeded, staff_member, console, db):
    staff_member.login()
    response = console.get("/report.csv?period=%s" % TERM.key)
    body = response.get_data(as_text=True)
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    assert "Where it happened (where children feel unsafe),Toilets,10,5" in body
    assert "Playground,fewer than 5" in body
    assert CANARY not in body and "Amira" not in body
    assert db.execute("SELECT count(*) FROM audit_log WHERE event = 'export'").fetchone()[0] == 1


def test_the_head_teacher_can_open_the_report_and_a_teacher_cannot(db, staff_member, console):
    create_staff(db, HEAD_EMAIL, "Hana Head", "head", HEAD_PASSWORD)
    staff_member.login(HEAD_EMAIL, HEAD_PASSWORD)
    assert console.get("/report").status_code == 200
    staff_member.logout()
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


def test_for_any_counts_no_hidden_count_is_a_shown_total_minus_shown_rows():
    from hypothesis import given, strategies as st

    @given(st.lists(st.integers(min_value=0, max_value=60), min_size=2, max_size=9))
    def check(rows):
        shown_rows = [report.shown(n) for n in rows]
        total = report.shown(sum(rows))
        visible = [int(s) for s in shown_rows if s != report.FEWER_THAN]
        for n, s in zip(rows, shown_rows):
            if s == report.FEWER_THAN:
                assert total == report.FEWER_THAN or int(total) - sum(visible) != n
                assert all(a - b != n for a in visible for b in visible)

    check()


def test_a_governor_can_open_the_report(db, staff_member, console):
    create_staff(db, "governor@school.example", "Gwen Governor", "governor", "governor password 1")
    staff_member.login("governor@school.example", "governor password 1")
    page = console.get("/report").get_data(as_text=True)
    assert "Governors' report" in page
    assert console.get("/report").status_code == 200
