"""Deliver queued alerts by e-mail, with retries and back-off, marking each one delivered once."""

import dataclasses
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import make_msgid

from . import escalation, mail_password, retention
from .db import get_setting, set_setting, write_transaction

SMTP_SETTINGS = ("smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_sender", "alert_recipients")
SECURITY_CHOICES = ("starttls", "tls", "none")
MAX_BACKOFF = timedelta(minutes=30)
RETENTION_RETRY_SECONDS = 3600
BATCH = 50
# Set by `worrybox demo`: with no mail server, alert e-mails are printed in the terminal instead.
TERMINAL_SETTING = "alerts_to_terminal"


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send alert e-mails."""

    host: str
    port: int
    security: str = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = "worrybox@localhost"
    recipients: tuple[str, ...] = ()


def load_smtp_settings(db, password: str = "") -> SmtpSettings | None:
    """Return the school's SMTP settings, or None if alerts cannot be e-mailed yet.

    The password is never in the database: the sender reads it from secrets/ or a systemd credential.
    """
    host = get_setting(db, "smtp_host")
    recipients = tuple(r.strip() for r in (get_setting(db, "alert_recipients") or "").split(",") if r.strip())
    if not host or not recipients:
        return None
    return SmtpSettings(
        host=host,
        port=int(get_setting(db, "smtp_port", "587")),
        security=get_setting(db, "smtp_security", "starttls"),
        username=get_setting(db, "smtp_username", ""),
        password=password,
        sender=get_setting(db, "smtp_sender", "worrybox@localhost"),
        recipients=recipients,
    )


def save_smtp_settings(db, settings: SmtpSettings) -> None:
    values = {
        "smtp_host": settings.host, "smtp_port": str(settings.port), "smtp_security": settings.security,
        "smtp_username": settings.username, "smtp_sender": settings.sender,
        "alert_recipients": ", ".join(settings.recipients),
    }
    with write_transaction(db):
        for name, value in values.items():
            set_setting(db, name, value)
        db.execute("DELETE FROM settings WHERE name = 'smtp_password'")  # kept in secrets/, never here
        # New settings may be the fix: alerts waiting out a back-off are tried again at once.
        db.execute("UPDATE outbox SET next_attempt_at = ? WHERE delivered_at IS NULL",
                   [datetime.now(timezone.utc).isoformat(timespec="microseconds")])


def _message(settings: SmtpSettings, outbox_id: int, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Subject"] = "[Worry Box] " + subject
    # A stable id per alert, so a mail system that sees it twice can tell it is the same one.
    message["Message-ID"] = make_msgid(idstring="worrybox-alert-%d" % outbox_id, domain="worrybox.invalid")
    message.set_content(body)
    return message


def send_email(settings: SmtpSettings, outbox_id: int, subject: str, body: str, timeout: float = 15) -> None:
    """Send one alert; raise on any failure so the caller can retry later."""
    if settings.username and not mail_password.may_send_password(settings.host, settings.security):
        # A fake or spoofed server on the network would capture it in plain AUTH: refuse before connecting.
        raise smtplib.SMTPException("refusing to send the mail password over an unencrypted connection to %s: "
                                    "choose STARTTLS or TLS" % settings.host)
    message = _message(settings, outbox_id, subject, body)
    if settings.security == "tls":
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    with client:
        if settings.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.username:
            client.login(settings.username, settings.password)
        client.send_message(message)


def backoff(attempts: int) -> timedelta:
    """Wait 30 s after the first failure, doubling each time, never more than 30 minutes."""
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def print_email(settings: SmtpSettings, outbox_id: int, subject: str, body: str) -> None:
    """Show an alert e-mail in the terminal instead of sending it (the demo school: no mail server)."""
    print("\n----- alert e-mail (the demo prints it; a school's server sends it) -----\n%s"
          "--------------------------------------------------------------------------\n"
          % _message(settings, outbox_id, subject, body).as_string(), flush=True)


def _describe(exc: BaseException) -> str:
    # The type and the message only: never a traceback, and an SMTP password is never in either.
    return "%s: %s" % (type(exc).__name__, str(exc)[:200])


def deliver_due(db, now: datetime | None = None, send=send_email, password: str = "") -> tuple[int, int]:
    """Try every alert that is due; return (delivered, failed). Safe to call from one sender at a time.

    A failure of any kind delivering one alert (a bad setting, the mail server, a name it cannot encode) is
    recorded on that alert, which is retried with back-off; it never stops the others or the sender.
    """
    now = now or datetime.now(timezone.utc)
    settings, problem = None, None
    try:
        settings = load_smtp_settings(db, password)
    except Exception as exc:  # a stored setting that cannot be read, such as a port that is not a number
        problem = exc
    if settings is None and problem is None:
        if get_setting(db, TERMINAL_SETTING) != "1":
            return 0, 0
        settings, send = SmtpSettings(host="", port=0, recipients=("(the on-call list)",)), print_email
    due = db.execute(
        "SELECT id, subject, body, attempts, recipients FROM outbox WHERE delivered_at IS NULL "
        "AND next_attempt_at <= ? ORDER BY id LIMIT ?", [now.isoformat(timespec="microseconds"), BATCH]
    ).fetchall()
    delivered = failed = 0
    for outbox_id, subject, body, attempts, recipients in due:
        try:
            if problem is not None:
                raise problem
            if recipients:  # an on-call alert goes to the next people on the list, not the usual recipients
                settings_now = dataclasses.replace(settings, recipients=tuple(recipients.split(", ")))
            else:
                settings_now = settings
            send(settings_now, outbox_id, subject, body)
        except Exception as exc:
            failed += 1
            db.execute(
                "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                [attempts + 1, (now + backoff(attempts + 1)).isoformat(timespec="microseconds"), _describe(exc),
                 outbox_id],
            )
            continue
        delivered += 1
        db.execute("UPDATE outbox SET delivered_at = ?, attempts = ?, last_error = NULL WHERE id = ?",
                   [datetime.now(timezone.utc).isoformat(timespec="microseconds"), attempts + 1, outbox_id])
    return delivered, failed


def last_delivery_error(db) -> tuple[str, str] | None:
    """The newest error of an alert still waiting to be delivered, and when it was posted, or None."""
    row = db.execute("SELECT last_error, created_at FROM outbox WHERE delivered_at IS NULL AND last_error IS NOT NULL "
                     "ORDER BY id DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None


def pending_count(db) -> int:
    return db.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]


def run_sender(open_db, interval: float = 5.0, should_stop=lambda: False, log=print, mail_password=lambda: "") -> None:
    """Deliver alerts every few seconds, send on-call reminders, and run retention once a day, until stopped.

    Nothing one round runs into (a locked or damaged database, a bad setting) stops the sender: it says
    what happened and tries again next round.
    """
    retention_not_before = 0.0
    while not should_stop():
        try:
            db = open_db()
            try:
                escalation.queue_on_call_alerts(db)
                delivered, failed = deliver_due(db, password=mail_password())
                if delivered or failed:
                    log("alerts: %d delivered, %d will be retried" % (delivered, failed))
                if time.monotonic() >= retention_not_before:
                    try:
                        retention.run_if_due(db, log=log)
                    except Exception as exc:  # alerts must keep going whatever retention runs into
                        log("retention failed, nothing was deleted (%s); trying again in an hour" % _describe(exc))
                        retention_not_before = time.monotonic() + RETENTION_RETRY_SECONDS
            finally:
                db.close()
        except Exception as exc:
            log("alert sender: this round failed (%s); trying again in %g s" % (_describe(exc), interval))
        stop_at = time.monotonic() + interval
        while time.monotonic() < stop_at and not should_stop():
            time.sleep(0.2)
