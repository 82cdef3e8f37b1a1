"""Only the safeguarding team decides who reads a worry (issue 11): certified recipients, current readers.

Every "opens" here is tried with real keys, as in test_routing_and_staff.py.
"""

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from helpers import DSL_EMAIL, DSL_PASSWORD, TEACHER_EMAIL, TEACHER_PASSWORD
from worrybox import casework, certificates, certify, keys, opening, staff as accounts
from worrybox.cli import main as worrybox_cli
from worrybox.recipients import recipients_for
from worrybox.staff import create_staff, find_staff_id
from worrybox.worries import NewWorry, post_worry

GOVERNOR_EMAIL, GOVERNOR_PASSWORD = "governor@school.example", "governor password one"
HEAD_EMAIL, HEAD_PASSWORD = "head@school.example", "head teacher password"


def _keyring(db, email, password):
    return keys.unlock_keyring(db, find_staff_id(db, email), password)


def _post(db, text, topic=None, talk_to=None, class_name=None):
    recipients, _readers = recipients_for(db, topic, talk_to, class_name)
    worry_id, _new = post_worry(db, recipients, NewWorry(submission_id="trust-%s" % text, text=text, feeling="sad",
                                                         topic=topic, talk_to=talk_to))
    return worry_id


def _check(data_dir) -> str:
    return CliRunner().invoke(worrybox_cli, ["check", "--data-dir", str(data_dir)]).output


def _note_key_ids(db, worry_id) -> set[str]:
    action_id = db.execute("SELECT max(id) FROM actions WHERE worry_id = ? AND action = 'note'", [worry_id]).fetchone()[0]
    return {row[0] for row in db.execute("SELECT key_id FROM action_keys WHERE action_id = ?", [action_id])}


def _staff_key(db, email) -> str:
    return db.execute("SELECT key_id FROM staff WHERE id = ?", [find_staff_id(db, email)]).fetchone()[0]


def _team_key_in_use(db) -> str:
    return db.execute("SELECT key_id FROM keys WHERE purpose = 'team' AND retired_at IS NULL").fetchone()[0]


def test_an_account_made_deputy_in_the_database_gets_no_team_key_at_rotation_and_check_reports_it(
        db, data_dir, team_keys):
    teacher = find_staff_id(db, TEACHER_EMAIL)
    assert "All good" in _check(data_dir) or TEACHER_EMAIL not in _check(data_dir)
    db.execute("UPDATE staff SET role = 'deputy' WHERE id = ?", [teacher])
    accounts.rotate_team_key(db, team_keys, by_staff_id=find_staff_id(db, DSL_EMAIL))
    assert db.execute("SELECT count(*) FROM key_wraps WHERE staff_id = ?", [teacher]).fetchone()[0] == 0
    edited = _keyring(db, TEACHER_EMAIL, TEACHER_PASSWORD)
    assert keys.team_keys_of(edited, db) == {}
    # The DSL still holds every team key, old and new.
    assert set(keys.team_keys_of(_keyring(db, DSL_EMAIL, DSL_PASSWORD), db)) == \
        {row[0] for row in db.execute("SELECT key_id FROM keys WHERE purpose = 'team'")}
    report = _check(data_dir)
    assert "PROBLEM  %s (deputy) receives nothing: its role changed since a DSL approved it" % TEACHER_EMAIL in report


def test_a_class_edited_in_the_database_stops_a_teacher_receiving_their_new_class_worries(db, caplog):
    db.execute("UPDATE staff SET class_name = '5C' WHERE email = ?", [TEACHER_EMAIL])
    recipients, readers = recipients_for(db, None, "teacher", "5C")
    assert _staff_key(db, TEACHER_EMAIL) not in recipients
    assert readers == [("team", None), ("class_teacher", "Priya Shah")]  # 5C's approved teacher, not Tom
    assert "receives nothing: its class changed since a DSL approved it" in caplog.text
    assert TEACHER_EMAIL not in caplog.text and "Tom Baker" not in caplog.text


def test_a_personal_key_swapped_in_the_database_receives_nothing(db, data_dir):
    other_key = _staff_key(db, "teacher.5c@school.example")
    public = db.execute("SELECT public_key FROM keys WHERE key_id = ?", [other_key]).fetchone()[0]
    # Swap Tom's public key (and its plain fingerprint, which anyone can recompute) for another key.
    db.execute("UPDATE keys SET public_key = ?, fingerprint = (SELECT fingerprint FROM keys WHERE key_id = ?) "
               "WHERE key_id = ?", [public, other_key, _staff_key(db, TEACHER_EMAIL)])
    recipients, _readers = recipients_for(db, None, "teacher", "4B")
    assert list(recipients) == [_team_key_in_use(db)]
    assert "its key changed since a DSL approved it" in _check(data_dir)


@pytest.mark.parametrize("part", ["ML-DSA-65", "Ed25519"])
def test_a_certificate_needs_both_signatures_to_verify(db, part):
    teacher = find_staff_id(db, TEACHER_EMAIL)
    assert certificates.is_certified(db, teacher)
    cert_id, signature = db.execute("SELECT id, signature FROM certificates WHERE staff_id = ? ORDER BY id DESC",
                                    [teacher]).fetchone()
    at = 10 if part == "ML-DSA-65" else certificates.MLDSA65_SIGNATURE_LEN + 10
    broken = signature[:at] + bytes([signature[at] ^ 1]) + signature[at + 1:]
    db.execute("UPDATE certificates SET signature = ? WHERE id = ?", [broken, cert_id])
    assert not certificates.is_certified(db, teacher)
    assert certificates.standing(db, teacher).problem == "its certificate does not verify (changed in the database)"


def test_after_removing_a_teacher_and_rotating_a_new_note_on_an_old_worry_reaches_only_todays_readers(
        db, team_keys):
    old_worry = _post(db, "OLD-WORRY", talk_to="teacher", class_name="4B")
    teacher_key = _staff_key(db, TEACHER_EMAIL)
    old_team_key = _team_key_in_use(db)
    assert {teacher_key, old_team_key} <= {row[0] for row in db.execute(
        "SELECT key_id FROM worry_keys WHERE worry_id = ?", [old_worry])}
    dsl = find_staff_id(db, DSL_EMAIL)
    accounts.remove_staff(db, find_staff_id(db, TEACHER_EMAIL), by_staff_id=dsl)
    accounts.rotate_team_key(db, team_keys, by_staff_id=dsl)
    dsl_keys = _keyring(db, DSL_EMAIL, DSL_PASSWORD)
    casework.record_action(db, old_worry, dsl_keys, note="A NEW NOTE")
    assert _note_key_ids(db, old_worry) == {_team_key_in_use(db)}
    assert _team_key_in_use(db) != old_team_key
    assert "A NEW NOTE" in [entry["note"] for entry in casework.chronology(db, old_worry, dsl_keys)]


def test_a_note_still_reaches_a_certified_class_teacher_the_worry_was_sealed_to(db):
    worry = _post(db, "MY-TEACHER", talk_to="teacher", class_name="4B")
    casework.record_action(db, worry, _keyring(db, DSL_EMAIL, DSL_PASSWORD), note="seen, talking to them today")
    assert _note_key_ids(db, worry) == {_team_key_in_use(db), _staff_key(db, TEACHER_EMAIL)}


def test_add_staff_by_a_dsl_on_the_command_line_certifies_and_without_by_waits(data_dir, db, tmp_path):
    (tmp_path / "dsl.pw").write_text(DSL_PASSWORD)
    (tmp_path / "new.pw").write_text("a new teacher password")
    run = CliRunner().invoke
    added = run(worrybox_cli, ["add-staff", "--data-dir", str(data_dir), "--email", "ann@school.example", "--name",
                               "Ann Lee", "--role", "teacher", "--class", "3A", "--password-file",
                               str(tmp_path / "new.pw"), "--by", DSL_EMAIL, "--by-password-file",
                               str(tmp_path / "dsl.pw")])
    assert added.exit_code == 0, added.output
    assert certificates.is_certified(db, find_staff_id(db, "ann@school.example"))
    waiting = run(worrybox_cli, ["add-staff", "--data-dir", str(data_dir), "--email", "bo@school.example", "--name",
                                 "Bo Ray", "--role", "head", "--password-file", str(tmp_path / "new.pw")])
    assert waiting.exit_code == 0 and "receive no worry until a DSL or deputy approves them" in waiting.output
    assert certificates.standing(db, find_staff_id(db, "bo@school.example")).pending
    assert "bo@school.example (head) is waiting for a DSL or deputy to approve them" in _check(data_dir)
    approved = run(worrybox_cli, ["approve-staff", "--data-dir", str(data_dir), "--email", "bo@school.example",
                                  "--by", DSL_EMAIL, "--by-password-file", str(tmp_path / "dsl.pw")])
    assert approved.exit_code == 0 and "Approved bo@school.example as Head teacher" in approved.output
    assert certificates.is_certified(db, find_staff_id(db, "bo@school.example"))
    refused = run(worrybox_cli, ["approve-staff", "--data-dir", str(data_dir), "--email", "bo@school.example"])
    assert refused.exit_code != 0 and "Only the safeguarding team approves" in refused.output


def test_a_school_from_before_certificates_keeps_sealing_to_the_team_until_a_dsl_approves(db, team_keys):
    # As a school upgraded from before signing keys existed: no signing key, no certificate.
    db.execute("DELETE FROM certificates")
    db.execute("DELETE FROM signing_keys")
    recipients, readers = recipients_for(db, None, "teacher", "4B")
    assert list(recipients) == [_team_key_in_use(db)] and readers == [("team", None)]
    dsl = find_staff_id(db, DSL_EMAIL)
    accounts.approve_staff(db, find_staff_id(db, TEACHER_EMAIL), team_keys, by_staff_id=dsl)
    assert certificates.current_signing_key(db) is not None
    assert certificates.is_certified(db, dsl)  # the first DSL to approve is certified with the new key
    recipients, _readers = recipients_for(db, None, "teacher", "4B")
    assert _staff_key(db, TEACHER_EMAIL) in recipients


def test_the_signing_key_opens_only_with_the_team_key(db, team_keys):
    signing = certify.signer(db, team_keys)
    assert signing.key_id == certificates.current_signing_key(db)[0]
    with pytest.raises(certify.NoSigningKey):
        certify.signer(db, {})
    wrapped = db.execute("SELECT wrapped_private_key FROM signing_keys").fetchone()[0]
    assert signing.private not in wrapped
    with pytest.raises(opening.OpenError):
        opening.unwrap_with_private(opening.generate_private_key(), wrapped, b"anything")


# Nothing leaves the DSL's sight ------------------------------------------------------------------


def _html(response):
    return response.get_data(as_text=True)


def test_a_worry_a_teacher_closed_stays_in_the_dsls_queue_and_retention_waits_until_a_dsl_confirms(
        db, console, staff_member, child):
    from helpers import csrf_token
    from worrybox.retention import apply_retention

    assert child.post(text="ABOUT-MY-TEACHER", feeling="sad", pupil=child.name("P001"), talk_to="teacher").status_code == 303
    worry = db.execute("SELECT max(id) FROM worries").fetchone()[0]
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    page = _html(console.get("/worries/%d" % worry))
    closed = console.post("/worries/%d" % worry, data={"csrf_token": csrf_token(page), "status": "closed",
                                                        "note": ""})
    assert closed.status_code == 303
    assert "for the DSL or a deputy to review" in _html(console.get("/worries/%d" % worry))
    staff_member.logout()

    staff_member.login()
    queue = _html(console.get("/"))
    assert "/worries/%d" % worry in queue and "Closed by a class teacher — to review" in queue
    later = datetime.now(timezone.utc) + timedelta(days=3650)
    # The child has left the roster, so only the DSL's confirmation stands between the worry and the review list.
    pupil_ref = db.execute("SELECT pupil_ref FROM worries WHERE id = ?", [worry]).fetchone()[0]
    db.execute("DELETE FROM pupils WHERE pupil_ref = ?", [pupil_ref])
    assert apply_retention(db, now=later).to_review == 0
    assert db.execute("SELECT status FROM worries WHERE id = ?", [worry]).fetchone()[0] != "closed"

    page = _html(console.get("/worries/%d" % worry))
    assert "stays open in the DSL's and" in page
    assert console.post("/worries/%d/confirm" % worry, data={"csrf_token": csrf_token(page)}).status_code == 303
    assert db.execute("SELECT status FROM worries WHERE id = ?", [worry]).fetchone()[0] == "closed"
    assert "/worries/%d" % worry not in _html(console.get("/"))
    assert apply_retention(db, now=later).to_review == 1


def test_a_worry_a_teacher_marks_not_real_is_not_buried_until_a_dsl_confirms(db):
    worry = _post(db, "NOT-A-PRANK", talk_to="teacher", class_name="4B")
    teacher = _keyring(db, TEACHER_EMAIL, TEACHER_PASSWORD)
    from worrybox import throttle, worries

    assert throttle.mark_not_real(db, worry, teacher.staff_id)
    listed = [item for item in worries.queue(db, _keyring(db, DSL_EMAIL, DSL_PASSWORD).private_keys)[0]
              if item["id"] == worry][0]
    assert not listed["not_real"] and listed["review_asked_for"] == "not_real"
    dsl = _keyring(db, DSL_EMAIL, DSL_PASSWORD)
    assert casework.confirm_review(db, worry, dsl)
    assert db.execute("SELECT not_real_at IS NOT NULL, review_asked_for FROM worries WHERE id = ?",
                      [worry]).fetchone() == (1, None)


def test_only_a_dsl_or_deputy_can_confirm_a_review(db, console, staff_member):
    from helpers import csrf_token

    worry = _post(db, "MINE", talk_to="teacher", class_name="4B")
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    page = _html(console.get("/worries/%d" % worry))
    assert console.post("/worries/%d/confirm" % worry, data={"csrf_token": csrf_token(page)}).status_code == 403


# Allegations reach someone outside the line ------------------------------------------------------


def test_a_worry_about_a_grown_up_at_school_opens_for_the_governor_and_the_head_but_no_class_teacher(
        db, child, team_keys):
    create_staff(db, GOVERNOR_EMAIL, "Gail Governor", "governor", GOVERNOR_PASSWORD, team_keys=team_keys)
    create_staff(db, HEAD_EMAIL, "Hana Head", "head", HEAD_PASSWORD, team_keys=team_keys)
    thanks = child.post(text="ABOUT-A-GROWN-UP", feeling="scared", topic="adult_at_school", pupil=child.name("P001"),
                        talk_to="teacher")
    assert thanks.status_code == 303
    page = child.client.get("/thanks").get_data(as_text=True)
    assert "A school governor who helps keep children safe will read it too." in page
    worry = db.execute("SELECT max(id) FROM worries").fetchone()[0]
    for email, password in ((GOVERNOR_EMAIL, GOVERNOR_PASSWORD), (HEAD_EMAIL, HEAD_PASSWORD)):
        opened = casework.read_worry(db, worry, _keyring(db, email, password))
        assert opened.text == "ABOUT-A-GROWN-UP"
    assert not casework.can_open(db, worry, _keyring(db, TEACHER_EMAIL, TEACHER_PASSWORD))


def test_a_governor_school_it_adds_receives_nothing_until_approved(db):
    create_staff(db, GOVERNOR_EMAIL, "Gail Governor", "governor", GOVERNOR_PASSWORD)
    recipients, readers = recipients_for(db, "adult_at_school", None, None)
    assert ("governor", None) not in readers and _staff_key(db, GOVERNOR_EMAIL) not in recipients


@pytest.mark.parametrize("role", ["head", "governor"])
def test_the_head_and_a_governor_can_open_the_governors_report_but_a_teacher_cannot(role, db, console, staff_member,
                                                                                    team_keys):
    create_staff(db, "%s@school.example" % role, "Sam Reader", role, "a reader password", team_keys=team_keys)
    staff_member.login("%s@school.example" % role, "a reader password")
    assert console.get("/report").status_code == 200
    staff_member.logout()
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    assert console.get("/report").status_code == 403


# Safeguarding settings belong to the DSL team ----------------------------------------------------

IT_EMAIL, IT_PASSWORD = "it@school.example", "school it password"


@pytest.mark.parametrize("method, path", [("GET", "/settings"), ("POST", "/settings"), ("GET", "/retention"),
                                          ("POST", "/retention")])
def test_school_it_gets_403_from_every_safeguarding_setting(method, path, db, console, staff_member):
    from helpers import csrf_token

    create_staff(db, IT_EMAIL, "Ian Tech", "it_admin", IT_PASSWORD)
    staff_member.login(IT_EMAIL, IT_PASSWORD)
    token = csrf_token(_html(console.get("/kiosk")))
    data = {"csrf_token": token, "visit_threshold": "50", "visit_window_days": "7", "retention_days": "1",
            "smtp_host": "mail.evil.example", "smtp_security": "none", "alert_recipients": "it@school.example"}
    before = db.execute("SELECT name, value FROM settings ORDER BY name").fetchall()
    response = console.open(path, method=method, data=data if method == "POST" else None)
    assert response.status_code == 403
    assert db.execute("SELECT name, value FROM settings ORDER BY name").fetchall() == before
    assert "Settings</a>" not in _html(console.get("/kiosk"))


def test_a_dsls_change_to_an_alarm_is_audited_with_old_and_new_values_and_never_the_password(
        db, console, staff_member, data_dir):
    from helpers import csrf_token
    from worrybox import alerts, mail_password
    from worrybox.config import Paths

    staff_member.login()
    page = _html(console.get("/settings"))
    saved = console.post("/settings", data={
        "csrf_token": csrf_token(page), "visit_threshold": "8", "visit_window_days": "30",
        "smtp_host": "smtp.school.example", "smtp_port": "587", "smtp_security": "starttls",
        "smtp_username": "alerts", "smtp_password": "MAIL-PASSWORD-CANARY", "smtp_sender": "",
        "alert_recipients": "dsl@school.example"})
    assert saved.status_code == 303
    detail = db.execute("SELECT detail FROM audit_log WHERE event = 'settings_changed' ORDER BY id DESC"
                        ).fetchone()[0]
    assert "visit_threshold: '6' → '8'" in detail and "visit_window_days" in detail
    assert "smtp_host: '' → 'smtp.school.example'" in detail and "mail password changed" in detail
    assert "MAIL-PASSWORD-CANARY" not in " ".join(str(row) for row in db.execute("SELECT * FROM audit_log"))
    # The password is in secrets/ (0600), never the database.
    assert not db.execute("SELECT count(*) FROM settings WHERE value LIKE '%MAIL-PASSWORD-CANARY%'").fetchone()[0]
    secret = mail_password.file_path(Paths(data_dir))
    assert secret.read_text().strip() == "MAIL-PASSWORD-CANARY" and secret.stat().st_mode & 0o777 == 0o600
    assert alerts.load_smtp_settings(db, mail_password.read(Paths(data_dir))).password == "MAIL-PASSWORD-CANARY"


# The mail password is not in the database --------------------------------------------------------


def test_the_mail_password_is_never_sent_unencrypted_except_to_this_machine(monkeypatch):
    import smtplib

    from worrybox import alerts, mail_password

    connected = []
    monkeypatch.setattr(smtplib, "SMTP", lambda *args, **kwargs: connected.append(args))
    settings = alerts.SmtpSettings(host="mail.school.example", port=25, security="none", username="alerts",
                                   password="MAIL-PASSWORD", recipients=("dsl@school.example",))
    with pytest.raises(smtplib.SMTPException, match="unencrypted"):
        alerts.send_email(settings, 1, "subject", "body")
    assert connected == []  # refused before connecting at all
    assert mail_password.may_send_password("127.0.0.1", "none") and mail_password.may_send_password("localhost", "none")
    assert mail_password.may_send_password("::1", "none")
    assert mail_password.may_send_password("mail.school.example", "starttls")
    assert not mail_password.may_send_password("10.0.0.5", "none")


def test_a_mail_password_an_older_version_kept_in_the_database_moves_to_secrets(data_dir, db):
    from worrybox import mail_password
    from worrybox.config import Paths
    from worrybox.school import open_school

    db.execute("INSERT INTO settings (name, value) VALUES ('smtp_password', 'OLD-MAIL-PASSWORD')")
    open_school(Paths(data_dir)).close()
    assert db.execute("SELECT count(*) FROM settings WHERE name = 'smtp_password'").fetchone()[0] == 0
    assert mail_password.read(Paths(data_dir)) == "OLD-MAIL-PASSWORD"
    assert mail_password.file_path(Paths(data_dir)).stat().st_mode & 0o777 == 0o600


def test_a_systemd_credential_gives_the_mail_password(data_dir, tmp_path, monkeypatch):
    from worrybox import mail_password
    from worrybox.config import Paths

    (tmp_path / "smtp-password").write_text("FROM-SYSTEMD\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert mail_password.read(Paths(data_dir)) == "FROM-SYSTEMD"


# Deploy: the kiosk and the console as two users sharing a group ---------------------------------


def test_check_accepts_a_data_directory_shared_with_the_kiosks_group_but_not_the_consoles_secret(data_dir):
    import os

    from worrybox.check import check_files
    from worrybox.config import Paths

    os.chmod(data_dir, 0o2770)
    os.chmod(data_dir / "secrets", 0o2750)
    for name in ("worrybox.db", "worrybox.db-wal", "worrybox.db-shm"):
        if (data_dir / name).exists():
            os.chmod(data_dir / name, 0o660)
    os.chmod(data_dir / "secrets" / "pupil.key", 0o640)
    os.chmod(data_dir / "secrets" / "kiosk.secret", 0o640)
    assert all(finding.ok for finding in check_files(Paths(data_dir))), check_files(Paths(data_dir))
    os.chmod(data_dir / "secrets" / "console.secret", 0o640)
    problems = [finding.what for finding in check_files(Paths(data_dir)) if not finding.ok]
    assert problems == ["%s can be read by other users (mode 640)." % (data_dir / "secrets" / "console.secret")]
