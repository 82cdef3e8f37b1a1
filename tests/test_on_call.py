"""The on-call chain and alerts no single failure can silence (aiosmtpd on 127.0.0.1 receives them)."""

import os
import signal
import time
from datetime import date, datetime, timedelta, timezone

import pytest
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from helpers import csrf_token
from helpers import free_port, url
from helpers import Child, run_school
from worrybox import alerts, check, escalation, runner
from worrybox.config import Paths
from worrybox.db import set_setting
from worrybox.school import open_school

ON_CALL = "dsl@school.example, deputy@school.example, head@school.example"


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@pytest.fixture
def smtp(request):
    """A mail server on 127.0.0.1 that asks for a user name and password (any ASCII ones)."""
    inbox, port = Inbox(), free_port()

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=True)

    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


def _configure(db, port, username=""):
    alerts.save_smtp_settings(db, alerts.SmtpSettings(host="127.0.0.1", port=port, security="none",
                                                      username=username, password="mail password" if username else "",
                                                      sender="worrybox@school.example",
                                                      recipients=("dsl@school.example",)))


def _urgent(child):
    form = child.form("/help")
    assert child.client.post("/worry", data=dict(form, urgent="y", text="help now")).status_code == 303
    return datetime.now(timezone.utc)


def _round(db, at):
    """One round of the alert sender at a given moment."""
    escalation.queue_on_call_alerts(db, at)
    return alerts.deliver_due(db, now=at)


def test_an_urgent_worry_nobody_acknowledges_goes_to_the_next_person_on_call_and_stops_once_opened(
        child, db, smtp, staff_member, console):
    _configure(db, smtp.port)
    set_setting(db, "on_call_list", ON_CALL)
    set_setting(db, "on_call_minutes", "5")
    posted = _urgent(child)
    assert _round(db, posted) == (1, 0)
    assert smtp.messages[0][0] == ["dsl@school.example"]
    assert _round(db, posted + timedelta(minutes=4)) == (0, 0), "not before the set minutes"
    assert _round(db, posted + timedelta(minutes=5, seconds=1)) == (1, 0)
    recipients, message = smtp.messages[1]
    assert recipients == ["deputy@school.example"] and "Not yet acknowledged" in message
    assert "help now" not in message
    # The DSL opens the worry: acknowledged for everyone, and nobody else is e-mailed about it.
    staff_member.login()
    assert console.get("/worries/1").status_code == 200
    assert _round(db, posted + timedelta(minutes=11)) == (0, 0)
    assert _round(db, posted + timedelta(hours=2)) == (0, 0)
    assert len(smtp.messages) == 2
    chronology = " ".join(console.get("/worries/1").get_data(as_text=True).split())
    assert chronology.count("sent an alert") == 2 and "deputy@school.example" in chronology
    assert "Dana Lewis · acknowledged the urgent alert" in chronology and "opened the worry" in chronology


def test_no_second_e_mail_once_someone_has_acknowledged(child, db, smtp, staff_member, console):
    _configure(db, smtp.port)
    set_setting(db, "on_call_list", ON_CALL)
    posted = _urgent(child)
    assert _round(db, posted) == (1, 0)
    staff_member.login()
    assert console.get("/worries/1").status_code == 200
    assert db.execute("SELECT status, acknowledged_by FROM escalations").fetchone() == ("acknowledged", 1)
    for minutes in (6, 11, 16, 60):
        assert _round(db, posted + timedelta(minutes=minutes)) == (0, 0)
    assert len(smtp.messages) == 1


def test_the_chain_goes_up_the_whole_list_then_stops(child, db, smtp):
    _configure(db, smtp.port)
    set_setting(db, "on_call_list", ON_CALL)
    posted = _urgent(child)
    for minutes in (0, 6, 12, 18, 24, 90):
        _round(db, posted + timedelta(minutes=minutes))
    assert [to for to, _ in smtp.messages] == [["dsl@school.example"], ["deputy@school.example"],
                                               ["head@school.example"]]


def test_a_non_ascii_smtp_user_name_keeps_the_alert_queued_with_its_error_until_fixed(child, db, smtp, data_dir):
    _configure(db, smtp.port, username="bjørn")
    posted = _urgent(child)
    assert alerts.deliver_due(db, now=posted) == (0, 1)
    assert alerts.pending_count(db) == 1
    error = db.execute("SELECT last_error FROM outbox").fetchone()[0]
    assert error.startswith("UnicodeEncodeError") and "mail password" not in error
    findings = [finding.what for finding in check.run_checks(Paths(data_dir))]
    assert any("UnicodeEncodeError" in what for what in findings), findings
    _configure(db, smtp.port, username="bjorn")
    assert alerts.deliver_due(db, now=posted + timedelta(minutes=1)) == (1, 0)
    assert len(smtp.messages) == 1 and alerts.pending_count(db) == 0


def test_any_failure_of_one_alert_is_recorded_and_retried_and_the_others_still_go(child, db, smtp):
    _configure(db, smtp.port)
    _urgent(child)
    _urgent(child)
    calls = []

    def flaky(settings, outbox_id, subject, body):
        calls.append(outbox_id)
        if outbox_id == 1:
            raise KeyError("something nobody expected")
        alerts.send_email(settings, outbox_id, subject, body)

    assert alerts.deliver_due(db, send=flaky) == (1, 1)
    assert db.execute("SELECT last_error, attempts FROM outbox WHERE id = 1").fetchone() == (
        "KeyError: 'something nobody expected'", 1)


def test_the_sender_keeps_going_whatever_one_round_runs_into(data_dir):
    rounds, logged = [], []

    def open_db():
        rounds.append(1)
        if len(rounds) == 1:
            raise RuntimeError("the database could not be opened this time")
        return open_school(Paths(data_dir))

    alerts.run_sender(open_db, interval=0.01, should_stop=lambda: len(rounds) >= 3, log=logged.append)
    assert len(rounds) == 3 and "RuntimeError" in logged[0]


def test_the_dsl_sets_the_on_call_list_on_the_settings_page(staff_member, console, db):
    staff_member.login()
    page = console.get("/settings").get_data(as_text=True)
    response = console.post("/settings", data={
        "csrf_token": csrf_token(page), "visit_threshold": "6", "visit_window_days": "90", "smtp_security": "starttls",
        "alert_recipients": "", "on_call_minutes": "7", "on_call_list": "dsl@school.example, head@school.example"})
    assert response.status_code == 303
    assert escalation.on_call_rule(db) == (7, ["dsl@school.example", "head@school.example"])
    assert "head@school.example" in console.get("/settings").get_data(as_text=True)


# Under `worrybox run`: nothing one process runs into stops the others. ------------------------------


def _children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as children:
        return [int(child) for child in children.read().split()]


def _cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as cmdline:
        return cmdline.read().replace(b"\0", b" ").decode()


def _healthy(port):
    try:
        return requests.get(url(port, "/healthz"), timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _wait_for(condition, timeout=90):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "still waiting"
        time.sleep(0.2)


def test_under_run_a_bad_user_name_or_a_dying_process_never_stops_the_others(servers, data_dir, smtp):
    db = open_school(Paths(data_dir))
    _configure(db, smtp.port, username="bjørn")
    db.close()
    started = time.monotonic()
    server, kiosk_port, console_port = run_school(servers, data_dir)
    child = Child(kiosk_port)
    assert child.post(urgent="y", text="help now").status_code == 303
    db = open_school(Paths(data_dir))
    try:
        _wait_for(lambda: db.execute("SELECT last_error FROM outbox").fetchone()[0])
        assert "UnicodeEncodeError" in db.execute("SELECT last_error FROM outbox").fetchone()[0]
        assert _healthy(kiosk_port) and _healthy(console_port) and server.process.poll() is None
        time.sleep(max(0, runner.STARTED_FINE_AFTER + 1 - (time.monotonic() - started)))
        by_name = {("sender" if "send-alerts" in _cmdline(pid) else "console" if "staff_console" in _cmdline(pid)
                    else "kiosk"): pid for pid in _children(server.process.pid)}
        os.kill(by_name["sender"], signal.SIGKILL)
        server.wait_for_output("Starting the alert sender again", timeout=60)
        os.kill(by_name["console"], signal.SIGKILL)
        server.wait_for_output("The console stopped", timeout=60)
        assert _healthy(kiosk_port), "the kiosk must keep serving while the console is down"
        server.wait_for_output("Starting the console again", timeout=60)
        _wait_for(lambda: _healthy(console_port))
        assert _healthy(kiosk_port)
        # Fixed: the alert that waited goes out.
        _configure(db, smtp.port, username="bjorn")
        _wait_for(lambda: smtp.messages)
        assert alerts.pending_count(db) == 0
    finally:
        db.close()


def test_the_help_page_asks_where_the_child_is_and_the_alert_says_where_to_look(child, kiosk, db):
    page = kiosk.get("/help").get_data(as_text=True)
    assert "Where are you now? You can skip this." in page
    form = child.form("/help")
    assert child.client.post("/worry", data=dict(form, urgent="y", place="toilets")).status_code == 303
    body = db.execute("SELECT body FROM outbox").fetchone()[0]
    assert "where they are: Toilets" in body


def test_the_demo_prints_alert_e_mails_in_the_terminal_first_to_the_dsl(child, db, capsys):
    from worrybox import demo

    demo._alerts_in_the_terminal(db)
    posted = _urgent(child)
    assert _round(db, posted) == (1, 0)
    printed = capsys.readouterr().out
    assert "alert e-mail" in printed and "Urgent worry posted" in printed and "To: dsl@oakfield.example" in printed
    assert "help now" not in printed
    assert _round(db, posted + timedelta(minutes=6)) == (1, 0)
    assert "To: deputy@oakfield.example" in capsys.readouterr().out


def test_alerts_about_a_chat_passed_to_an_adult_are_in_the_childs_chronology(data_dir, db, smtp):
    from helpers import DSL_PASSWORD
    from worrybox import casefile, keys, mediators
    from worrybox.school import pupil_keys

    _configure(db, smtp.port)
    set_setting(db, "on_call_list", ON_CALL)
    pupils = pupil_keys(Paths(data_dir))
    mediator, child_ref = pupils.pupil_ref("P003"), pupils.pupil_ref("P001")
    mediators.set_mediator(db, mediator)
    slot_id = mediators.add_slot(db, 0, "12:30", "13:00", "the Rainbow Room", 2, [mediator])
    booking_id = mediators.book(db, slot_id, date(2026, 11, 23), child_ref, "friends", datetime(2026, 11, 23, 9, 0))
    recorded = datetime.now(timezone.utc)
    mediators.record_outcome(db, booking_id, mediator, attended=True, outcome="pass_to_adult", at=recorded)
    _round(db, recorded)
    _round(db, recorded + timedelta(minutes=6))
    assert [to for to, _ in smtp.messages] == [["dsl@school.example"], ["deputy@school.example"]]
    case = casefile.case_file(db, pupils, child_ref, keys.unlock_keyring(db, 1, DSL_PASSWORD), whole_picture=True)
    alerts_seen = [entry.what for entry in case.entries if entry.what.startswith("sent an alert")]
    assert len(alerts_seen) == 2 and "deputy@school.example" in alerts_seen[1]
