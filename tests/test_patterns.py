"""Pattern rules the DSL chooses: each escalates once, in the same transaction as the event that crosses it."""

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from helpers import PUPILS, TEACHER_EMAIL, TEACHER_PASSWORD, csrf_token
from worrybox import concerns, patterns, worries
from worrybox.config import Paths
from worrybox.recipients import worry_recipients
from worrybox.school import pupil_keys

START = datetime(2026, 11, 2, 10, tzinfo=timezone.utc)


@pytest.fixture
def amira(data_dir):
    return pupil_keys(Paths(data_dir)).pupil_ref("P001")


def _concern(db, ref, at, text="seemed hungry again"):
    return concerns.log_concern(db, 1, concerns.NewConcern(PUPILS[0], ref, text, "care", "lunch", at), at=at)


def _pattern_escalations(db):
    return db.execute("SELECT e.pupil_ref, e.visit_count, e.rule_id, p.kind FROM escalations e "
                      "JOIN pattern_rules p ON p.id = e.rule_id WHERE e.reason = 'pattern'").fetchall()


def test_three_staff_concerns_in_the_window_escalate_exactly_once_with_an_alert(db, amira):
    _concern(db, amira, START)
    _concern(db, amira, START + timedelta(days=10))
    assert _pattern_escalations(db) == []
    third = _concern(db, amira, START + timedelta(days=20))
    found = _pattern_escalations(db)
    assert [(ref, count, kind) for ref, count, _rule, kind in found] == [(amira, 3, "staff_concerns")]
    assert db.execute("SELECT worry_id FROM escalations WHERE reason = 'pattern'").fetchone()[0] == third
    alert = db.execute("SELECT subject, body FROM outbox").fetchone()
    assert "3 staff concerns in 30 days" in alert[1] and "Amira" not in alert[0] + alert[1]
    _concern(db, amira, START + timedelta(days=21))
    _concern(db, amira, START + timedelta(days=22))
    assert len(_pattern_escalations(db)) == 1
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1


def test_concerns_spread_wider_than_the_window_do_not_escalate(db, amira):
    for n in range(3):
        _concern(db, amira, START + timedelta(days=20 * n))
    assert _pattern_escalations(db) == []


def test_the_concern_that_crosses_a_rule_and_its_escalation_are_stored_together_or_not_at_all(db, amira):
    _concern(db, amira, START)
    _concern(db, amira, START + timedelta(days=1))
    db.execute("CREATE TRIGGER outbox_fails BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(sqlite3.IntegrityError):
        _concern(db, amira, START + timedelta(days=2), text="the third")
    assert db.execute("SELECT count(*) FROM worries").fetchone()[0] == 2
    assert db.execute("SELECT count(*) FROM escalations").fetchone()[0] == 0


def test_two_worries_about_home_in_fourteen_days_escalate_once(db, amira):
    recipients = worry_recipients(db)
    for n, topic in enumerate(("home", "friends", "home", "home")):
        worries.post_worry(db, recipients, worries.NewWorry("home-%d-xxxxxxxxxxxxxxxxxx" % n, text="x", topic=topic,
                                                            pupil=PUPILS[0], pupil_ref=amira),
                           at=START + timedelta(days=n))
    found = _pattern_escalations(db)
    assert [(count, kind) for _ref, count, _rule, kind in found] == [(2, "worries")]


def test_a_rule_the_dsl_adds_counts_from_then_on_and_children_to_watch_lists_who_is_nearest(db, amira, staff_member,
                                                                                           console):
    _concern(db, amira, datetime.now(timezone.utc) - timedelta(days=1))
    staff_member.login()
    page = console.get("/watch").get_data(as_text=True)
    assert "3 staff concerns in 30 days" in page and "Amira Qureshi" in page
    response = console.post("/watch/rules", data={"csrf_token": csrf_token(page), "at_least": "4",
                                                  "kind": "visits", "topic": "", "window_days": "7"},
                            follow_redirects=True)
    assert "Rule added." in response.get_data(as_text=True)
    assert [rule.words for rule in patterns.rules(db)][-1] == "4 visits in 7 days"
    refused = console.post("/watch/rules", data={"csrf_token": csrf_token(page), "at_least": "1", "kind": "worries",
                                                 "topic": "home", "window_days": "400"})
    assert refused.status_code == 422
    assert "from 2 to 100" in refused.get_data(as_text=True) and "from 1 to 366" in refused.get_data(as_text=True)


def test_only_the_safeguarding_team_sees_children_to_watch(staff_member, console):
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    assert console.get("/watch").status_code == 403
