"""School settings: when repeat visits escalate, and how alerts are e-mailed."""

from flask import Blueprint, render_template, url_for

from worrybox import alerts, escalation
from worrybox.db import get_setting, set_setting
from worrybox_web import get_db

from .auth import allowed
from .common import save
from .forms import SettingsForm, email_list

bp = Blueprint("settings", __name__)

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
DEFAULT_SENDER = alerts.SmtpSettings.sender
RETYPE_PASSWORD = "For safety the password is never shown again: type it again if you were changing it."


def _stored_settings(db) -> dict:
    """The settings this page edits, as text, with the defaults that apply when nothing is stored."""
    threshold, window_days = escalation.visit_rule(db)
    stored = {name: get_setting(db, name, "") for name in alerts.SMTP_SETTINGS}
    stored["smtp_security"] = stored["smtp_security"] or "starttls"
    stored["smtp_port"] = stored["smtp_port"] or str(DEFAULT_PORTS.get(stored["smtp_security"], 587))
    stored["smtp_sender"] = stored["smtp_sender"] or DEFAULT_SENDER
    stored.update(visit_threshold=str(threshold), visit_window_days=str(window_days))
    return stored


def _render(form, status=200):
    has_password = bool(get_setting(get_db(), "smtp_password"))
    return render_template("console/settings.html", form=form, has_password=has_password), status


@bp.get("/settings")
@allowed("change_school_settings")
def settings():
    stored = _stored_settings(get_db())
    form = SettingsForm(
        formdata=None, visit_threshold=int(stored["visit_threshold"]),
        visit_window_days=int(stored["visit_window_days"]), smtp_host=stored["smtp_host"],
        smtp_port=int(stored["smtp_port"]) if stored["smtp_port"].isdigit() else None,
        smtp_security=stored["smtp_security"], smtp_username=stored["smtp_username"],
        smtp_sender=stored["smtp_sender"], alert_recipients=stored["alert_recipients"])
    return _render(form)


@bp.post("/settings")
@allowed("change_school_settings")
def save_settings():
    form = SettingsForm()

    def show_again(status):
        if form.smtp_password.data:
            form.form_errors.append(RETYPE_PASSWORD)
        return _render(form, status)

    def change(db):
        before = _stored_settings(db)
        password = "" if form.forget_password.data else form.smtp_password.data or before["smtp_password"]
        smtp = alerts.SmtpSettings(
            host=form.smtp_host.data or "", port=form.smtp_port.data or DEFAULT_PORTS[form.smtp_security.data],
            security=form.smtp_security.data, username=form.smtp_username.data or "", password=password,
            sender=form.smtp_sender.data or DEFAULT_SENDER, recipients=tuple(email_list(form.alert_recipients.data)))
        set_setting(db, "visit_threshold", str(form.visit_threshold.data))
        set_setting(db, "visit_window_days", str(form.visit_window_days.data))
        alerts.save_smtp_settings(db, smtp)
        after = _stored_settings(db)
        # Names only: a password, or an address, has no place in the audit log.
        changed = [name for name in after if after[name] != before[name]]
        return ", ".join(changed) if changed else None
    return save(form, show_again, change, url_for("settings.settings"), "Settings saved.", event="settings_changed")
