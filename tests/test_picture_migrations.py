"""Migrations 0015-0018 (staff concerns, actions and referrals, pattern rules) upgrade a school in use."""

from datetime import datetime, timezone

from worrybox import escalation, patterns
from worrybox.db import connect, migrations

AT = datetime(2026, 11, 2, 10, tzinfo=timezone.utc)


def test_a_school_with_escalations_and_alerts_upgrades_and_keeps_every_row_and_link(tmp_path):
    db = connect(tmp_path / "worrybox.db")
    migrations.apply(db, stop_before="0015_staff_concerns")
    now = AT.isoformat()
    db.execute("INSERT INTO keys (key_id, purpose, public_key, created_at) VALUES ('team-1', 'team', X'00', ?)", [now])
    db.execute("INSERT INTO worries (id, submission_id, created_at, urgent, named, pupil_ref, format_version, "
               "sealed_body, updated_at) VALUES (1, 's-1', ?, 1, 1, 'p1', 1, X'00', ?)", [now, now])
    db.execute("INSERT INTO escalations (id, reason, pupil_ref, created_at, worry_id, status) "
               "VALUES (7, 'repeat_visits', 'p1', ?, 1, 'open')", [now])
    db.execute("INSERT INTO escalation_keys (escalation_id, key_id, sealed_key) VALUES (7, 'team-1', X'01')")
    db.execute("INSERT INTO outbox (created_at, escalation_id, subject, body, next_attempt_at) "
               "VALUES (?, 7, 's', 'b', ?)", [now, now])

    migrations.apply(db)

    assert migrations.pending(db) == []
    assert db.execute("SELECT id, reason, pupil_ref, worry_id, rule_id FROM escalations").fetchall() == [
        (7, "repeat_visits", "p1", 1, None)]
    assert db.execute("SELECT escalation_id FROM outbox").fetchall() == [(7,)]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    # Still one open escalation per child per reason; and now one per child per pattern rule.
    assert escalation.escalate(db, "repeat_visits", AT, pupil_ref="p1") is None
    rule = patterns.rules(db)[0]
    assert escalation.escalate(db, "pattern", AT, pupil_ref="p1", rule_id=rule.id) is not None
    assert escalation.escalate(db, "pattern", AT, pupil_ref="p1", rule_id=rule.id) is None
    assert escalation.escalate(db, "pattern", AT, pupil_ref="p1", rule_id=patterns.rules(db)[1].id) is not None
    assert [r.words for r in patterns.rules(db)] == ["3 staff concerns in 30 days", "2 worries about Home in 14 days"]
    db.close()
