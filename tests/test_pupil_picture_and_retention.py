"""One child's picture (the pupil page and its export), the child-protection mark, and retention."""

import re
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from helpers import (DSL_PASSWORD, OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD, PUPILS, TEACHER_EMAIL,
                     TEACHER_PASSWORD, csrf_token)
from worrybox import alerts, casework, keys, mediators, retention, worries
from worrybox.config import Paths
from worrybox.db import get_setting, migrations, set_setting
from worrybox.school import open_school, pupil_keys
from worrybox.staff import create_staff
from worrybox.recipients import worry_recipients

AMIRA, TOMASZ, HARJIT = PUPILS
NOW = datetime.now(timezone.utc)


@pytest.fixture
def refs(data_dir):
    keys_ = pupil_keys(Paths(data_dir))
    return {pupil.pupil_id: keys_.pupil_ref(pupil.pupil_id) for pupil in PUPILS}


@pytest.fixture
def dsl_keyring(db):
    return keys.unlock_keyring(db, 1, DSL_PASSWORD)


def _html(response):
    return response.get_data(as_text=True).replace("&#39;", "'")


def _post(db, text, pupil=None, ref=None, at=None, recipients=None, urgent=False, topic="friends"):
    """Post a worry as the kiosk does; named when a pupil is given."""
    worry_id, _ = worries.post_worry(
        db, recipients or worry_recipients(db),
        worries.NewWorry(submission_id="picture-%s" % text, text=text, feeling="sad", topic=topic, urgent=urgent,
                         pupil=pupil, pupil_ref=ref),
        at=at)
    return worry_id


def _teacher_recipients(db, email=TEACHER_EMAIL):
    """The team key and one teacher's own key, as routing to "my teacher" seals a worry."""
    key_id, public = db.execute("SELECT k.key_id, k.public_key FROM staff s JOIN keys k ON k.key_id = s.key_id "
                                "WHERE s.email = ?", [email]).fetchone()
    return {**worry_recipients(db), key_id: public}


def _audit(db, event):
    return db.execute("SELECT staff_id, worry_id, detail FROM audit_log WHERE event = ? ORDER BY id", [event]).fetchall()


def _past_school_day(days_ago):
    day = NOW.date() - timedelta(days=days_ago)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _chat(db, pupil_ref, mediator_ref, day: date, outcome="sorted"):
    """A chat with a mediator on a past school day, booked and recorded as it would have been then."""
    mediators.set_mediator(db, mediator_ref)
    slot_id = mediators.add_slot(db, day.weekday(), "12:15", "12:45", "the Rainbow Room", 3, [mediator_ref])
    morning = datetime.combine(day, datetime.min.time()).replace(hour=9)
    booking_id = mediators.book(db, slot_id, day, pupil_ref, "friends", morning)
    mediators.record_outcome(db, booking_id, mediator_ref, True, outcome,
                             at=datetime.combine(day, datetime.min.time(), timezone.utc).replace(hour=13))
    return booking_id


# One child's picture -----------------------------------------------------------------------------


def test_the_dsl_sees_a_childs_worries_chats_escalations_and_notes_in_date_order_with_who_did_what(
        db, refs, dsl_keyring, staff_member, console):
    amira = refs["P001"]
    first = _post(db, "FIRST-WORRY-CANARY", AMIRA, amira, at=NOW - timedelta(days=20))
    _chat(db, amira, refs["P003"], _past_school_day(10))
    urgent = _post(db, "URGENT-WORRY-CANARY", AMIRA, amira, at=NOW - timedelta(days=3), urgent=True)
    _post(db, "TOMASZ-WORRY-CANARY", TOMASZ, refs["P002"], at=NOW - timedelta(days=2))
    casework.record_action(db, first, dsl_keyring, status="in_progress", note="SPOKE-TO-AMIRA-NOTE")
    escalation_id = db.execute("SELECT id FROM escalations WHERE worry_id = ?", [urgent]).fetchone()[0]
    casework.acknowledge_escalation(db, escalation_id, dsl_keyring, "CALLED-HOME-NOTE", worry_recipients(db))

    staff_member.login()
    response = console.get("/pupils/%s" % amira)

    assert response.status_code == 200
    page = _html(response)
    assert "Amira Qureshi, class 4B" in page
    in_order = ["FIRST-WORRY-CANARY", "chat with the Problem Pals at the Rainbow Room", "URGENT-WORRY-CANARY",
                "escalated: Urgent worry", "status set to In progress", "SPOKE-TO-AMIRA-NOTE",
                "acknowledged the escalation", "CALLED-HOME-NOTE"]
    positions = [page.index(marker) for marker in in_order]
    assert positions == sorted(positions), "the chronology is not in date order"
    assert "Harjit S. (mediator)" in page and "came; sorted" in page
    assert page.count("Dana Lewis") >= 3, "each note and action says who did it"
    assert "TOMASZ-WORRY-CANARY" not in page and "Tomasz" not in page
    assert "Amira" not in response.request.path


def test_a_class_teacher_sees_only_what_was_sealed_to_them_and_nothing_of_another_child(db, refs, staff_member,
                                                                                        console):
    amira = refs["P001"]
    _post(db, "TEAM-ONLY-CANARY", AMIRA, amira, at=NOW - timedelta(days=4), urgent=True)
    _post(db, "FOR-MY-TEACHER-CANARY", AMIRA, amira, at=NOW - timedelta(days=2), recipients=_teacher_recipients(db))
    _post(db, "TOMASZ-FOR-TEACHER-CANARY", TOMASZ, refs["P002"], recipients=_teacher_recipients(db))

    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    page = _html(console.get("/pupils/%s" % amira))

    assert "FOR-MY-TEACHER-CANARY" in page
    assert "TEAM-ONLY-CANARY" not in page and "escalated" not in page, "team business is not the teacher's"
    assert "TOMASZ-FOR-TEACHER-CANARY" not in page and "Tomasz" not in page
    assert "Export case" not in page
    assert console.get("/pupils/%s/export" % amira).status_code == 403
    # Nothing of Harjit's was sealed to this teacher: not even his name.
    harjit = console.get("/pupils/%s" % refs["P003"])
    assert harjit.status_code == 403 and "Harjit" not in _html(harjit)


def test_a_teacher_to_whom_nothing_was_sealed_gets_no_worry_text(db, refs, staff_member, console):
    _post(db, "NOT-FOR-5C-CANARY", AMIRA, refs["P001"], recipients=_teacher_recipients(db))
    staff_member.login(OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD)
    response = console.get("/pupils/%s" % refs["P001"])
    assert response.status_code == 403
    assert "NOT-FOR-5C-CANARY" not in _html(response) and "Amira" not in _html(response)


@pytest.mark.parametrize("role", ["coordinator", "it_admin"])
def test_a_coordinator_or_school_it_gets_403_from_a_pupil_page_and_its_export(role, db, refs, staff_member, console):
    _post(db, "NOT-FOR-THEM-CANARY", AMIRA, refs["P001"])
    create_staff(db, "%s@school.example" % role, "Sam Other", role, "another long password")
    staff_member.login("%s@school.example" % role, "another long password")
    for path in ("/pupils/%s" % refs["P001"], "/pupils/%s/export" % refs["P001"]):
        response = console.get(path)
        assert response.status_code == 403, path
        assert "NOT-FOR-THEM-CANARY" not in _html(response) and "Amira" not in _html(response)


def test_an_unknown_pupil_is_not_found(staff_member, console):
    staff_member.login()
    assert console.get("/pupils/%s" % ("0" * 64)).status_code == 404
    assert console.get("/pupils/Amira%20Qureshi").status_code == 404


def test_each_worry_opened_for_the_pupil_page_is_audited_as_if_opened_alone(db, refs, staff_member, console):
    amira = refs["P001"]
    ids = [_post(db, "AUDITED-%d" % n, AMIRA, amira, at=NOW - timedelta(days=5 - n)) for n in range(3)]
    secret = _post(db, "SECRET-NOT-ON-THE-PAGE")
    staff_member.login()
    console.get("/worries/%d" % secret)
    alone = _audit(db, "open_worry")[-1]

    console.get("/pupils/%s" % amira)

    opened = _audit(db, "open_worry")[-3:]
    assert [worry_id for _, worry_id, _ in opened] == ids
    assert {(staff_id, detail) for staff_id, _, detail in opened} == {(alone[0], alone[2])}
    assert [worry_id for _, worry_id, _ in _audit(db, "open_worry")].count(secret) == 1


def test_every_worry_page_and_escalation_of_a_named_child_links_to_their_picture_by_pseudonym(
        db, refs, staff_member, console):
    named = _post(db, "NAMED-LINK", AMIRA, refs["P001"], urgent=True)
    secret = _post(db, "SECRET-NO-LINK")
    staff_member.login()
    link = 'href="/pupils/%s"' % refs["P001"]
    assert link in _html(console.get("/worries/%d" % named))
    assert "/pupils/" not in _html(console.get("/worries/%d" % secret))
    assert link in _html(console.get("/escalations"))


# Export case -------------------------------------------------------------------------------------


def test_export_case_gives_a_printable_record_that_is_audited_and_holds_no_other_childs_data(
        db, refs, dsl_keyring, staff_member, console):
    amira = refs["P001"]
    worry_id = _post(db, "EXPORTED-CANARY", AMIRA, amira, at=NOW - timedelta(days=8))
    casework.record_action(db, worry_id, dsl_keyring, note="EXPORTED-NOTE")
    _post(db, "TOMASZ-NOT-EXPORTED", TOMASZ, refs["P002"])
    staff_member.login()
    page = _html(console.get("/pupils/%s" % amira))
    assert 'href="/pupils/%s/export"' % amira in page and "Export case" in page

    response = console.get("/pupils/%s/export" % amira)

    assert response.status_code == 200
    record = _html(response)
    assert "Confidential: child protection" in record
    assert "Amira Qureshi" in record and "P001" in record and "Hillside Primary" in record
    assert "EXPORTED-CANARY" in record and "EXPORTED-NOTE" in record and "Dana Lewis" in record
    assert "TOMASZ-NOT-EXPORTED" not in record and "Tomasz" not in record
    assert "console-nav" not in record and "<script" not in record and "<form" not in record
    assert response.headers["Cache-Control"] == "no-store"
    exports = _audit(db, "export")
    assert len(exports) == 1 and exports[0][0] == 1 and amira in exports[0][2]
    assert "Amira" not in exports[0][2] and "CANARY" not in exports[0][2]
    assert [row[1] for row in _audit(db, "open_worry")][-1] == worry_id, "the worry it opened is audited too"


def test_the_stylesheet_prints_a_record_without_the_console_and_keeps_each_entry_on_one_page():
    css = (Path(__file__).resolve().parent.parent / "static" / "worrybox.css").read_text()
    print_rules = " ".join(re.findall(r"@media print\s*{(.*?)}\s*}", css, re.S))
    assert ".console-bar" in css and ".screen-only" in print_rules
    assert re.search(r"\.case-entry\s*{\s*break-inside:\s*avoid", print_rules)


# The child-protection mark -----------------------------------------------------------------------


def test_the_dsl_marks_a_worry_as_a_child_protection_concern_and_takes_the_mark_away(db, refs, staff_member, console):
    worry_id = _post(db, "CP-CANARY", AMIRA, refs["P001"])
    staff_member.login()
    page = _html(console.get("/worries/%d" % worry_id))
    assert "Mark as a child-protection concern" in page

    response = console.post("/worries/%d/child-protection" % worry_id, data={"csrf_token": csrf_token(page)})

    assert response.status_code == 303
    page = _html(console.get("/worries/%d" % worry_id))
    assert "marked it a child-protection concern" in page and "It is not a child-protection concern" in page
    assert db.execute("SELECT child_protection FROM worries WHERE id = ?", [worry_id]).fetchone() == (1,)
    console.post("/worries/%d/child-protection" % worry_id, data={"csrf_token": csrf_token(page), "undo": "y"})
    assert db.execute("SELECT child_protection FROM worries WHERE id = ?", [worry_id]).fetchone() == (0,)
    assert "took away the child-protection mark" in _html(console.get("/pupils/%s" % refs["P001"]))
    assert [row[1] for row in _audit(db, "worry_marked_child_protection")] == [worry_id]
    assert [row[1] for row in _audit(db, "worry_unmarked_child_protection")] == [worry_id]


def test_a_teacher_cannot_mark_a_child_protection_concern(db, refs, staff_member, console):
    worry_id = _post(db, "TEACHER-CP", AMIRA, refs["P001"], recipients=_teacher_recipients(db))
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    page = _html(console.get("/worries/%d" % worry_id))
    assert "Mark as a child-protection concern" not in page
    response = console.post("/worries/%d/child-protection" % worry_id, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 403
    assert db.execute("SELECT child_protection FROM worries WHERE id = ?", [worry_id]).fetchone() == (0,)


# Retention ---------------------------------------------------------------------------------------


def _closed(db, keyring, text, closed_days_ago, created_days_ago=None, pupil=None, ref=None, urgent=False,
            note=None):
    """A worry posted long ago and closed some days ago, with a note if given."""
    worry_id = _post(db, text, pupil, ref, at=NOW - timedelta(days=created_days_ago or closed_days_ago + 10),
                     urgent=urgent)
    casework.record_action(db, worry_id, keyring, status="closed", note=note or "")
    db.execute("UPDATE worries SET closed_at = ? WHERE id = ?",
               [(NOW - timedelta(days=closed_days_ago)).isoformat(timespec="microseconds"), worry_id])
    return worry_id


def _database_bytes(db, data_dir) -> bytes:
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    files = [data_dir / "worrybox.db", data_dir / "worrybox.db-wal"]
    return b"".join(path.read_bytes() for path in files if path.exists())


def _leave_the_roster(db, pupil_ref):
    db.execute("DELETE FROM pupils WHERE pupil_ref = ?", [pupil_ref])


@pytest.mark.slow
def test_retention_with_default_settings_deletes_nothing(db, refs, dsl_keyring, data_dir):
    ids = [_closed(db, dsl_keyring, "ANCIENT-%d" % n, 3000) for n in range(3)]
    ids.append(_closed(db, dsl_keyring, "ANCIENT-NAMED", 3000, pupil=AMIRA, ref=refs["P001"]))
    _leave_the_roster(db, refs["P001"])
    retention.run_if_due(db, NOW, log=lambda line: None)
    retention.apply_retention(db, NOW)
    command = [str(Path(sys.executable).parent / "worrybox"), "retention", "--data-dir", str(data_dir)]
    assert subprocess.run(command, capture_output=True, text=True, timeout=60).returncode == 0
    assert [row[0] for row in db.execute("SELECT id FROM worries ORDER BY id")] == ids
    assert len(retention.worries_past_the_limit(db, NOW)) == 4, "all four are on the list for the DSL to review"


def test_a_named_childs_closed_worries_stay_off_the_list_while_the_child_is_on_the_roster(db, refs, dsl_keyring):
    on_roster = _closed(db, dsl_keyring, "STILL-HERE", 900, pupil=AMIRA, ref=refs["P001"])
    no_name = _closed(db, dsl_keyring, "NO-NAME", 900)
    assert retention.worries_past_the_limit(db, NOW) == [no_name]
    _leave_the_roster(db, refs["P001"])
    assert retention.worries_past_the_limit(db, NOW) == [on_roster, no_name]


def test_after_the_dsl_confirms_the_review_list_exactly_those_worries_go(db, refs, dsl_keyring, staff_member, console):
    listed = [_closed(db, dsl_keyring, "LISTED-%d" % n, 400) for n in range(3)]
    kept = [_closed(db, dsl_keyring, "RECENT", 10), _closed(db, dsl_keyring, "ON-ROSTER", 400, pupil=AMIRA,
                                                                 ref=refs["P001"])]
    staff_member.login()
    page = _html(console.get("/retention"))
    assert all('name="worry" value="%d"' % worry_id in page for worry_id in listed)
    assert all('name="worry" value="%d"' % worry_id not in page for worry_id in kept)
    assert "LISTED-" not in page
    # The DSL unticks one; a forged id not on the list is ignored.
    response = console.post("/retention/review", data={"csrf_token": csrf_token(page),
                                                       "worry": [str(listed[0]), str(listed[1]), str(kept[1])]})
    assert response.status_code == 303
    assert [row[0] for row in db.execute("SELECT id FROM worries ORDER BY id")] == sorted([listed[2], *kept])
    assert _audit(db, "retention")[-1][2] == "deleted 2 closed worries from the review list, confirmed by a DSL"


def test_only_the_dsl_confirms_the_review_list(db, dsl_keyring, staff_member, console):
    worry_id = _closed(db, dsl_keyring, "LISTED", 400)
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    token = csrf_token(_html(console.get("/")))
    assert console.post("/retention/review", data={"csrf_token": token, "worry": str(worry_id)}).status_code == 403
    assert db.execute("SELECT count(*) FROM worries").fetchone() == (1,)


def test_confirmed_deletion_removes_exactly_the_closed_non_cp_worries_older_than_the_limit_and_nothing_else(
        db, data_dir, refs, dsl_keyring):
    amira = refs["P001"]
    old = _closed(db, dsl_keyring, "OLD-CLOSED", 400, note="OLD-NOTE")
    old_named = _closed(db, dsl_keyring, "OLD-NAMED-URGENT", 366, pupil=AMIRA, ref=amira, urgent=True)
    escalation_id = db.execute("SELECT id FROM escalations WHERE worry_id = ?", [old_named]).fetchone()[0]
    casework.acknowledge_escalation(db, escalation_id, dsl_keyring, "ACK-NOTE", worry_recipients(db))
    kept = {
        "cp": _closed(db, dsl_keyring, "OLD-CP", 400),
        "recent": _closed(db, dsl_keyring, "RECENTLY-CLOSED", 300),
        "open escalation": _closed(db, dsl_keyring, "OLD-OPEN-ESCALATION", 400, urgent=True),
        "still open": _post(db, "OLD-BUT-OPEN", at=NOW - timedelta(days=900)),
    }
    casework.set_child_protection(db, kept["cp"], dsl_keyring)
    sealed = db.execute("SELECT sealed_body FROM worries WHERE id = ?", [old]).fetchone()[0]
    assert sealed in _database_bytes(db, data_dir)

    _leave_the_roster(db, amira)
    result = retention.apply_retention(db, NOW)
    assert result.to_review == 2 and result.kept_child_protection == 1 and result.kept_open_escalation == 1
    assert retention.confirm_deletion(db, retention.worries_past_the_limit(db, NOW), 1, NOW) == 2

    remaining = {row[0] for row in db.execute("SELECT id FROM worries")}
    assert remaining == set(kept.values())
    for table in ("worry_keys", "actions"):
        assert not db.execute("SELECT 1 FROM %s WHERE worry_id IN (?, ?)" % table, [old, old_named]).fetchall()
    assert not db.execute("SELECT 1 FROM action_keys WHERE action_id NOT IN (SELECT id FROM actions)").fetchall()
    # Counting still works: the visit and the escalation stay, pointing at nothing and holding no note.
    assert db.execute("SELECT pupil_ref, worry_id FROM visits WHERE kind = 'worry'").fetchall() == [(amira, None)]
    assert db.execute("SELECT reason, worry_id, sealed_note, acknowledged_at IS NOT NULL FROM escalations "
                      "WHERE id = ?", [escalation_id]).fetchone() == ("urgent", None, None, 1)
    assert not db.execute("SELECT 1 FROM escalation_keys WHERE escalation_id = ?", [escalation_id]).fetchall()
    assert [row[2] for row in _audit(db, "retention")][-1].startswith("deleted 2 closed worries")
    # secure_delete: the sealed worry is overwritten, not left in free pages of the file.
    assert sealed not in _database_bytes(db, data_dir)


def test_a_child_protection_concern_older_than_the_limit_is_never_deleted(db, dsl_keyring):
    worry_id = _closed(db, dsl_keyring, "CP-TEN-YEARS", 3650)
    casework.set_child_protection(db, worry_id, dsl_keyring)
    retention.confirm_deletion(db, [worry_id], 1, NOW)
    assert casework.read_worry(db, worry_id, dsl_keyring).text == "CP-TEN-YEARS"


def test_closing_a_worry_records_when_and_reopening_it_clears_that(db, dsl_keyring):
    worry_id = _post(db, "REOPENED")
    casework.record_action(db, worry_id, dsl_keyring, status="closed")
    assert db.execute("SELECT closed_at FROM worries WHERE id = ?", [worry_id]).fetchone()[0] is not None
    casework.record_action(db, worry_id, dsl_keyring, status="in_progress")
    assert db.execute("SELECT closed_at FROM worries WHERE id = ?", [worry_id]).fetchone() == (None,)
    db.execute("UPDATE worries SET created_at = ? WHERE id = ?", [(NOW - timedelta(days=900)).isoformat(), worry_id])
    assert retention.apply_retention(db, NOW).to_review == 0


def test_the_dsl_sets_how_long_closed_worries_are_kept(db, dsl_keyring, staff_member, console):
    worry_id = _closed(db, dsl_keyring, "CLOSED-40-DAYS", 40)
    assert retention.apply_retention(db, NOW, dry_run=True).to_review == 0
    staff_member.login()
    page = _html(console.get("/retention"))
    assert "365 days after closing" in page

    response = console.post("/retention", data={"retention_days": "30", "csrf_token": csrf_token(page)})

    assert response.status_code == 303
    assert "30 days after closing" in _html(console.get("/retention"))
    assert [row[2] for row in _audit(db, "settings_changed")] == ["retention_days: 365 → 30"]
    assert retention.apply_retention(db, NOW, dry_run=True).to_review == 1
    assert db.execute("SELECT count(*) FROM worries WHERE id = ?", [worry_id]).fetchone() == (1,), "only listed"
    response = console.post("/retention", data={"retention_days": "7", "csrf_token": csrf_token(page)})
    assert response.status_code == 422 and "from 30 to 3650" in _html(response)


def test_a_teacher_cannot_change_how_long_worries_are_kept(db, staff_member, console):
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    assert console.get("/retention").status_code == 403
    token = csrf_token(_html(console.get("/")))
    assert console.post("/retention", data={"retention_days": "30", "csrf_token": token}).status_code == 403
    assert retention.retention_days(db) == retention.DEFAULT_DAYS


@pytest.mark.parametrize("last_run, now, due", [
    (None, datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc), True),
    ("2026-06-01", datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc), False),
    ("2026-05-31", datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc), True),
    # 23:30 UTC on 1 June is 00:30 on 2 June in London: a new school day.
    ("2026-06-01", datetime(2026, 6, 1, 23, 30, tzinfo=timezone.utc), True),
])
def test_retention_is_due_when_it_has_not_run_on_this_school_day(db, last_run, now, due):
    if last_run:
        set_setting(db, retention.LAST_RUN_SETTING, last_run)
    assert retention.is_due(db, now) is due


def test_the_daily_run_counts_the_review_list_once_a_day_deletes_nothing_and_logs_how_many(db, dsl_keyring):
    _closed(db, dsl_keyring, "DAILY-1", 400)
    lines = []
    today = datetime(2030, 3, 4, 10, 0, tzinfo=timezone.utc)

    assert retention.run_if_due(db, today, log=lines.append).to_review == 1
    _closed(db, dsl_keyring, "DAILY-2", 400)
    assert retention.run_if_due(db, today + timedelta(hours=5), log=lines.append) is None
    assert retention.run_if_due(db, today + timedelta(days=1), log=lines.append).to_review == 2

    assert len(lines) == 2 and lines[0].startswith("retention: 1 closed worry to review for deletion")
    assert db.execute("SELECT count(*) FROM worries").fetchone() == (2,)
    assert len(_audit(db, "retention")) == 2
    assert get_setting(db, retention.LAST_RUN_SETTING) == "2030-03-05"


def test_the_alert_sender_runs_retention_once_on_its_first_loop_of_the_day(data_dir, db, dsl_keyring):
    worry_id = _closed(db, dsl_keyring, "SENDER-KEEPS", 400)
    lines, loops = [], []

    def one_loop():
        loops.append(1)
        return len(loops) > 1

    for _ in range(2):
        loops.clear()
        alerts.run_sender(lambda: open_school(Paths(data_dir)), interval=0, should_stop=one_loop, log=lines.append)

    assert db.execute("SELECT count(*) FROM worries WHERE id = ?", [worry_id]).fetchone() == (1,)
    assert [line for line in lines if line.startswith("retention:")] == [lines[0]]
    assert len(_audit(db, "retention")) == 1


def test_every_table_that_points_at_a_worry_is_handled_by_retention(db):
    pointing = set()
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        if table == "worries":
            continue
        columns = {row[1] for row in db.execute('PRAGMA table_info("%s")' % table)}
        references = {row[2] for row in db.execute('PRAGMA foreign_key_list("%s")' % table)}
        if "worry_id" in columns or "worries" in references:
            pointing.add(table)
    assert pointing <= set(retention.WITH_A_DELETED_WORRY), (
        "teach worrybox/retention.py what to do with %s when a worry is deleted"
        % ", ".join(sorted(pointing - set(retention.WITH_A_DELETED_WORRY))))


def test_a_school_from_before_retention_upgrades_with_the_close_time_of_each_closed_worry(db, dsl_keyring):
    closed = _post(db, "CLOSED-BEFORE-THE-UPGRADE")
    casework.record_action(db, closed, dsl_keyring, status="closed")
    closed_at = db.execute("SELECT at FROM actions WHERE worry_id = ? AND action = 'status:closed'",
                           [closed]).fetchone()[0]
    still_open = _post(db, "OPEN-BEFORE-THE-UPGRADE")
    for statement in ("DROP INDEX worries_closed", "DROP INDEX bookings_by_pupil", "DROP INDEX escalations_by_pupil",
                      "ALTER TABLE worries DROP COLUMN closed_at", "ALTER TABLE worries DROP COLUMN child_protection"):
        db.execute(statement)
    db.execute("DELETE FROM _sqlite_migrations WHERE name = '0008_retention_and_child_protection'")

    migrations.apply(db)

    assert db.execute("SELECT id, closed_at, child_protection FROM worries ORDER BY id").fetchall() == [
        (closed, closed_at, 0), (still_open, None, 0)]
    assert casework.read_worry(db, closed, dsl_keyring).text == "CLOSED-BEFORE-THE-UPGRADE"


@pytest.mark.slow
def test_the_retention_command_says_how_many_are_to_review_and_deletes_nothing(data_dir, db, dsl_keyring):
    worry_id = _closed(db, dsl_keyring, "COMMAND-LINE", 400)
    command = [str(Path(sys.executable).parent / "worrybox"), "retention", "--data-dir", str(data_dir)]

    dry = subprocess.run(command + ["--dry-run"], capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0 and "1 closed worry to review for deletion" in dry.stdout
    real = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert real.returncode == 0 and "Nothing was deleted: a DSL reviews" in real.stdout
    assert db.execute("SELECT count(*) FROM worries WHERE id = ?", [worry_id]).fetchone() == (1,)
    assert len(_audit(db, "retention")) == 1
