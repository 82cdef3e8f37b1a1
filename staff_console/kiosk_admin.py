"""The kiosk's settings: its starting language, how soon an untouched page clears, and the named tablets."""

from flask import Blueprint, g, redirect, render_template, request, url_for

from worrybox import tablets
from worrybox.db import set_setting, write_transaction
from worrybox.audit import audit
from worrybox_web import get_db

from .auth import role_required
from .forms import ButtonForm, KioskSettingsForm, TabletForm
from .pals import SETTINGS_ROLES, _check

bp = Blueprint("kiosk_admin", __name__)


def _render(settings_form=None, tablet_form=None, status=200, enrol_link=None):
    db = get_db()
    settings_form = settings_form or KioskSettingsForm(
        formdata=None, kiosk_language=tablets.kiosk_language(db), kiosk_idle_seconds=tablets.idle_seconds(db))
    return render_template(
        "console/kiosk_settings.html", settings_form=settings_form, tablet_form=tablet_form or TabletForm(formdata=None),
        button=ButtonForm(), tablet_names=tablets.tablet_names(db), enrolled=tablets.enrolled_names(db),
        enrol_link=enrol_link,
    ), status


@bp.get("/kiosk")
@role_required(*SETTINGS_ROLES)
def kiosk_settings():
    return _render()


@bp.post("/kiosk")
@role_required(*SETTINGS_ROLES)
def save_kiosk_settings():
    form = KioskSettingsForm()
    status = _check(form)
    if status:
        return _render(settings_form=form, status=status)
    db = get_db()
    with write_transaction(db):
        set_setting(db, "kiosk_language", form.kiosk_language.data)
        set_setting(db, "kiosk_idle_seconds", str(form.kiosk_idle_seconds.data))
        audit(db, "settings_changed", staff_id=g.staff.id, detail="kiosk_language, kiosk_idle_seconds")
    return redirect(url_for("kiosk_admin.kiosk_settings"), 303)


def _enrolment_link(name):
    """Make a one-time enrolment link for a tablet and show it once, in this response only."""
    db = get_db()
    token = tablets.new_enrolment_link_token(db, name)
    audit(db, "settings_changed", staff_id=g.staff.id, detail="tablet enrolment link made")
    return _render(enrol_link={"name": name, "path": "/enrol/" + token})


@bp.post("/kiosk/tablets")
@role_required(*SETTINGS_ROLES)
def add_tablet():
    form = TabletForm()
    status = _check(form)
    if status:
        return _render(tablet_form=form, status=status)
    return _enrolment_link(form.name.data)


@bp.post("/kiosk/tablets/enrol")
@role_required(*SETTINGS_ROLES)
def enrol_again():
    """A new one-time link for a tablet already named (a new or reset tablet): the old cookie stops working."""
    form = ButtonForm()
    name = tablets.known_tablet(get_db(), request.form.get("name", ""))
    if _check(form) or name is None:
        return redirect(url_for("kiosk_admin.kiosk_settings"), 303)
    return _enrolment_link(name)


@bp.post("/kiosk/tablets/remove")
@role_required(*SETTINGS_ROLES)
def remove_tablet():
    form = ButtonForm()
    name = request.form.get("name", "")
    if _check(form) or tablets.known_tablet(get_db(), name) is None:
        return redirect(url_for("kiosk_admin.kiosk_settings"), 303)
    tablets.remove_tablet(get_db(), name)
    audit(get_db(), "settings_changed", staff_id=g.staff.id, detail="tablet removed")
    return redirect(url_for("kiosk_admin.kiosk_settings"), 303)
