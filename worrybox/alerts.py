"""Deliver queued alerts by e-mail, with retries and back-off, marking each one delivered once."""

import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import make_msgid

from . import mail_password, retention
from .db import get_setting, set_setting, write_transaction

SMTP_SETTINGS = ("smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_sender", "alert_recipients")
SECURITY_CHOICES = ("starttls", "tls", "none")
MAX_BACKOFF = timedelta(minutes=30)
RETENTION_RETRY_SECONDS = 3600
BATCH = 50


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


def send_email(settings: SmtpSettings, outbox_id: int, subject: str, body: str, timeout: float = 15) -> None:
    """Send one alert; raise on any failure so the caller can retry later."""
    if settings.username and not mail_password.may_send_password(settings.host, settings.security):
        # A fake or spoofed server on the network would capture it in plain AUTH: refuse before connecting.
        raise smtplib.SMTPException("refusing to send the mail password over an unencrypted connection to %s: "
                                    "choose STARTTLS or TLS" % settings.host)
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Subject"] = "[Worry Box] " + subject
    # A stable id per alert, so a mail system that sees it twice can tell it is the same one.
    message["Message-ID"] = make_msgid(idstring="worrybox-alert-%d" % outbox_id, domain="worrybox.invalid")
    message.set_content(body)
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


def deliver_due(db, now: datetime | None = None, send=send_email, password: str = "") -> tuple[int, int]:
    """Try every alert that is due; return (delivered, failed). Safe to call from one sender at a time."""
    now = now or datetime.now(timezone.utc)
    settings = load_smtp_settings(db, password)
    if settings is None:
        return 0, 0
    due = db.execute(
        "SELECT id, subject, body, attempts FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? "
        "ORDER BY id LIMIT ?", [now.isoformat(timespec="microseconds"), BATCH]
    ).fetchall()
    delivered = failed = 0
    for outbox_id, subject, body, attempts in due:
        try:
            send(settings, outbox_id, subject, body)
        except (OSError, smtplib.SMTPException) as exc:
            failed += 1
            db.execute(
                "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                [attempts + 1, (now + backoff(attempts + 1)).isoformat(timespec="microseconds"),
                 "%s: %s" % (type(exc).__name__, str(exc)[:200]), outbox_id],
            )
            continue
        delivered += 1
        db.execute("UPDATE outbox SET delivered_at = ?, attempts = ?, last_error = NULL WHERE id = ?",
                   [datetime.now(timezone.utc).isoformat(timespec="microseconds"), attempts + 1, outbox_id])
    return delivered, failed


def pending_count(db) -> int:
    return db.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]


def run_sender(open_db, interval: float = 5.0, should_stop=lambda: False, log=print, mail_password=lambda: "") -> None:
    """Deliver alerts every few seconds, and run retention once a day, until should_stop() is true."""
    retention_not_before = 0.0
    while not should_stop():
        db = open_db()
        try:
            delivered, failed = deliver_due(db, password=mail_password())
            if delivered or failed:
                log("alerts: %d delivered, %d will be retried" % (delivered, failed))
            if time.monotonic() >= retention_not_before:
                try:
                    retention.run_if_due(db, log=log)
                except Exception as exc:  # alerts must keep going whatever retention runs into
                    log("retention failed, nothing was deleted (%s: %s); trying again in an hour"
                        % (type(exc).__name__, exc))
                    retention_not_before = time.monotonic() + RETENTION_RETRY_SECONDS
        finally:
            db.close()
        stop_at = time.monotonic() + interval
        while time.monotonic() < stop_at and not should_stop():
            time.sleep(0.2)
