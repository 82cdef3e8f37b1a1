"""Alerts reach staff by e-mail through a real SMTP server on 127.0.0.1, and are never lost or sent twice."""

import socket
from datetime import date, datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller

from helpers import PUPILS
from worrybox import alerts, mediators
from worrybox.school import pupil_keys
from worrybox.config import Paths


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_port():
    return _free_port()


@pytest.fixture
def inbox(smtp_port):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    controller.stop()


def _configure(db, port):
    alerts.save_smtp_settings(db, alerts.SmtpSettings(host="127.0.0.1", port=port, security="none",
                                                      sender="worrybox@school.example",
                                                      recipients=("dsl@school.example",)))


def test_an_urgent_worry_sends_an_alert_with_no_name_and_no_worry_text(child, db, inbox, smtp_port):
    _configure(db, smtp_port)
    form = child.form("/help")
    child.client.post("/worry", data=dict(form, urgent="y", text="ALERT-CANARY he hit me", pupil=child.name("P001"),
                                          **{"class": "4B"}))
    assert alerts.deliver_due(db) == (1, 0)
    [message] = inbox.messages
    assert "Urgent worry posted" in message and "Sign in" in message
    assert "ALERT-CANARY" not in message and "Amira" not in message and "Qureshi" not in message
    assert "dsl@school.example" in message


def test_pass_to_an_adult_sends_an_alert_with_no_name(data_dir, db, inbox, smtp_port):
    _configure(db, smtp_port)
    keys = pupil_keys(Paths(data_dir))
    mediator_ref, child_ref = keys.pupil_ref("P003"), keys.pupil_ref("P001")
    mediators.set_mediator(db, mediator_ref)
    monday = date(2026, 11, 23)
    slot_id = mediators.add_slot(db, 0, "12:30", "13:00", "the Rainbow Room", 2, [mediator_ref])
    booking_id = mediators.book(db, slot_id, monday, child_ref, "friends",
                                datetime(2026, 11, 23, 9, 0))
    mediators.record_outcome(db, booking_id, mediator_ref, attended=True, outcome="pass_to_adult")
    assert alerts.deliver_due(db) == (1, 0)
    [message] = inbox.messages
    assert "passed a chat on to an adult" in message
    for pupil in PUPILS:
        assert pupil.first_name not in message and pupil.last_name not in message


def test_alerts_wait_while_the_mail_server_is_down_and_go_once_it_is_back(child, db, smtp_port):
    _configure(db, smtp_port)  # nothing listens on this port yet
    form = child.form("/help")
    child.client.post("/worry", data=dict(form, urgent="y"))
    assert alerts.deliver_due(db) == (0, 1)
    assert alerts.pending_count(db) == 1
    error, attempts = db.execute("SELECT last_error, attempts FROM outbox").fetchone()
    assert error and attempts == 1
    # Not retried before its back-off has passed.
    assert alerts.deliver_due(db) == (0, 0)
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        later = datetime.now(timezone.utc) + timedelta(minutes=1)
        assert alerts.deliver_due(db, now=later) == (1, 0)
        assert alerts.deliver_due(db, now=later + timedelta(hours=1)) == (0, 0)
    finally:
        controller.stop()
    assert len(handler.messages) == 1
    assert alerts.pending_count(db) == 0


def test_without_smtp_settings_alerts_stay_queued(child, db):
    form = child.form("/help")
    child.client.post("/worry", data=dict(form, urgent="y"))
    assert alerts.deliver_due(db) == (0, 0)
    assert alerts.pending_count(db) == 1


def test_back_off_doubles_and_stops_at_thirty_minutes():
    assert [alerts.backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert alerts.backoff(20) == timedelta(minutes=30)
