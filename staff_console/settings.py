"""School settings: when repeat visits escalate, and how alerts are e-mailed."""

from flask import Blueprint, current_app, g, render_template, url_for

from worrybox import alerts, escalation, mail_password
from worrybox.db import get_setting, set_setting
from worrybox_web import get_db

from .auth import allowed
from .common import save
from .forms import SettingsForm, email_list
from .permissions import may

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
    minutes, on_call = escalation.on_call_rule(db)
    stored.update(on_call_minutes=str(minutes), on_call_list=", ".join(on_call))
    return stored


def _render(form, status=200):
    has_password = mail_password.is_set(current_app.config["WORRYBOX_PATHS"])
    return render_template("console/settings.html", form=form, has_password=has_password), status


@bp.get("/settings")
@allowed("change_safeguarding_settings")
def settings():
    stored = _stored_settings(get_db())
    form = SettingsForm(
        formdata=None, visit_threshold=int(stored["visit_threshold"]),
        visit_window_days=int(stored["visit_window_days"]), smtp_host=stored["smtp_host"],
        smtp_port=int(stored["smtp_port"]) if stored["smtp_port"].isdigit() else None,
        smtp_security=stored["smtp_security"], smtp_username=stored["smtp_username"],
        smtp_sender=stored["smtp_sender"], alert_recipients=stored["alert_recipients"],
        on_call_minutes=int(stored["on_call_minutes"]), on_call_list=stored["on_call_list"])
    return _render(form)


@bp.post("/settings")
@allowed("change_safeguarding_settings")
def save_settings():
    form = SettingsForm()

    def show_again(status):
        if form.smtp_password.data:
            form.form_errors.append(RETYPE_PASSWORD)
        return _render(form, status)

    paths = current_app.config["WORRYBOX_PATHS"]

    def change(db):
        before = _stored_settings(db)
        had_password = mail_password.is_set(paths)
        password = "" if form.forget_password.data else form.smtp_password.data or mail_password.read(paths)
        smtp = alerts.SmtpSettings(
            host=form.smtp_host.data or "", port=form.smtp_port.data or DEFAULT_PORTS[form.smtp_security.data],
            security=form.smtp_security.data, username=form.smtp_username.data or "", password=password,
            sender=form.smtp_sender.data or DEFAULT_SENDER, recipients=tuple(email_list(form.alert_recipients.data)))
        set_setting(db, "visit_threshold", str(form.visit_threshold.data))
        set_setting(db, "visit_window_days", str(form.visit_window_days.data))
        alerts.save_smtp_settings(db, smtp)
        if may(g.staff.role, "choose_who_is_on_call"):
            set_setting(db, "on_call_minutes", str(form.on_call_minutes.data or escalation.DEFAULT_ON_CALL_MINUTES))
            set_setting(db, "on_call_list", ", ".join(email_list(form.on_call_list.data)))
        after = _stored_settings(db)
        # Old and new values, so the DSL sees who redirected or loosened an alarm; never the password itself.
        changed = ["%s: %r → %r" % (name, before[name], after[name]) for name in after if after[name] != before[name]]
        if form.smtp_password.data or (form.forget_password.data and had_password):
            changed.append("mail password %s" % ("removed" if form.forget_password.data else "changed"))
            # In secrets/ (0600), never the database; written last, so a failed write undoes the rest.
            mail_password.write(paths, password)
        return "; ".join(changed) if changed else None
    return save(form, show_again, change, url_for("settings.settings"), "Settings saved.", event="settings_changed")
