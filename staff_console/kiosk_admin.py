"""The kiosk's settings: its starting language, how soon an untouched page clears, and the named tablets."""

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from worrybox import tablets
from worrybox.audit import audit
from worrybox.db import set_setting
from worrybox_web import get_db

from .auth import allowed
from .common import Refused, button_expired, check, save
from .forms import ButtonForm, KioskSettingsForm, TabletForm

bp = Blueprint("kiosk_admin", __name__)


def _render(settings_form=None, tablet_form=None, status=200, enrol_link=None):
    db = get_db()
    settings_form = settings_form or KioskSettingsForm(
        formdata=None, kiosk_language=tablets.kiosk_language(db), kiosk_idle_seconds=tablets.idle_seconds(db))
    return render_template(
        "console/kiosk_settings.html", settings_form=settings_form, tablet_form=tablet_form or TabletForm(formdata=None),
        button=ButtonForm(), tablet_names=tablets.tablet_names(db), enrolled=tablets.enrolled_names(db),
        enrol_link=enrol_link, age_groups=tablets.age_groups(db), age_group_names=tablets.AGE_GROUPS,
    ), status


def _save(form, show_again, change, confirmation):
    """Save a kiosk setting, audited as settings_changed, and come back to this page."""
    return save(form, show_again, change, url_for("kiosk_admin.kiosk_settings"), confirmation,
                event="settings_changed")


@bp.get("/kiosk")
@allowed("change_school_settings")
def kiosk_settings():
    return _render(enrol_link=session.pop("enrol_link", None))


@bp.post("/kiosk")
@allowed("change_school_settings")
def save_kiosk_settings():
    form = KioskSettingsForm()

    def change(db):
        set_setting(db, "kiosk_language", form.kiosk_language.data)
        set_setting(db, "kiosk_idle_seconds", str(form.kiosk_idle_seconds.data))
        return "kiosk_language, kiosk_idle_seconds"
    return _save(form, lambda status: _render(settings_form=form, status=status), change, "Kiosk settings saved.")


def _enrolment_link(name, confirmation):
    """Make a one-time enrolment link for a tablet (adding it if new); the next page shows it, once."""
    db = get_db()
    token = tablets.new_enrolment_link_token(db, name)
    audit(db, "settings_changed", staff_id=g.staff.id, detail="tablet enrolment link made")
    # Kept only until the page after this redirect shows it; it works once, and only for 24 hours.
    session["enrol_link"] = {"name": name, "path": "/enrol/" + token}
    flash(confirmation)
    return redirect(url_for("kiosk_admin.kiosk_settings"), 303)


@bp.post("/kiosk/tablets")
@allowed("change_school_settings")
def add_tablet():
    form = TabletForm()
    status = check(form)
    if status:
        return _render(tablet_form=form, status=status)
    return _enrolment_link(form.name.data, "Tablet added. Open its one-time link on the tablet now.")


@bp.post("/kiosk/tablets/enrol")
@allowed("change_school_settings")
def enrol_again():
    """A new one-time link for a tablet already named (a new or reset tablet): the old cookie stops working."""
    name = tablets.known_tablet(get_db(), request.form.get("name", ""))
    if button_expired() or name is None:
        return redirect(url_for("kiosk_admin.kiosk_settings"), 303)
    return _enrolment_link(name, "A new one-time link was made. Open it on the tablet now.")


@bp.post("/kiosk/tablets/age-group")
@allowed("change_school_settings")
def set_tablet_age_group():
    """Primary or secondary words and look on one named tablet."""
    db = get_db()
    name = tablets.known_tablet(db, request.form.get("name", ""))
    group = request.form.get("age_group", "")
    if name is None or group not in tablets.AGE_GROUPS:
        return redirect(url_for("kiosk_admin.kiosk_settings"), 303)

    def change(db):
        tablets.set_age_group(db, name, group)
        return "tablet age group: %s" % group
    return _save(ButtonForm(), lambda status: _render(status=status), change, "Age group saved.")


@bp.post("/kiosk/tablets/remove")
@allowed("change_school_settings")
def remove_tablet():
    name = request.form.get("name", "")
    back = redirect(url_for("kiosk_admin.kiosk_settings"), 303)

    def change(db):
        if tablets.known_tablet(db, name) is None:
            raise Refused(lambda: back)
        tablets.remove_tablet(db, name)
        return "tablet removed"
    return _save(ButtonForm(), lambda status: back, change, "Tablet removed.")
