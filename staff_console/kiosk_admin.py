"""The kiosk's settings: its starting language, how soon an untouched page clears, and the named tablets."""

from flask import Blueprint, g, redirect, render_template, request, url_for

from worrybox import tablets
from worrybox.db import set_setting
from worrybox.staff import audit
from worrybox.web import get_db

from .auth import role_required
from .forms import ButtonForm, KioskSettingsForm, TabletForm
from .pals import SETTINGS_ROLES, _check

bp = Blueprint("kiosk_admin", __name__)


def _render(settings_form=None, tablet_form=None, status=200):
    db = get_db()
    settings_form = settings_form or KioskSettingsForm(
        formdata=None, kiosk_language=tablets.kiosk_language(db), kiosk_idle_seconds=tablets.idle_seconds(db))
    return render_template(
        "console/kiosk_settings.html", settings_form=settings_form, tablet_form=tablet_form or TabletForm(formdata=None),
        button=ButtonForm(), tablet_names=tablets.tablet_names(db),
        age_groups=tablets.age_groups(db), age_group_names=tablets.AGE_GROUPS,
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
    with db.atomic():
        set_setting(db, "kiosk_language", form.kiosk_language.data)
        set_setting(db, "kiosk_idle_seconds", str(form.kiosk_idle_seconds.data))
        audit(db, "settings_changed", staff_id=g.staff.id, detail="kiosk_language, kiosk_idle_seconds")
    return redirect(url_for("kiosk_admin.kiosk_settings"), 303)


@bp.post("/kiosk/tablets")
@role_required(*SETTINGS_ROLES)
def add_tablet():
    form = TabletForm()
    status = _check(form)
    if status:
        return _render(tablet_form=form, status=status)
    db = get_db()
    tablets.add_tablet(db, form.name.data)
    audit(db, "settings_changed", staff_id=g.staff.id, detail="tablet added")
    return redirect(url_for("kiosk_admin.kiosk_settings"), 303)


@bp.post("/kiosk/tablets/age-group")
@role_required(*SETTINGS_ROLES)
def set_tablet_age_group():
    """Primary or secondary words and look on one named tablet."""
    form = ButtonForm()
    name, group = request.form.get("name", ""), request.form.get("age_group", "")
    if _check(form) or tablets.known_tablet(get_db(), name) is None or group not in tablets.AGE_GROUPS:
        return redirect(url_for("kiosk_admin.kiosk_settings"), 303)
    tablets.set_age_group(get_db(), tablets.known_tablet(get_db(), name), group)
    audit(get_db(), "settings_changed", staff_id=g.staff.id, detail="tablet age group: %s" % group)
    return redirect(url_for("kiosk_admin.kiosk_settings"), 303)


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
