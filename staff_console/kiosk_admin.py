"""The kiosk's settings: its starting language, how soon an untouched page clears, and the named tablets."""

from flask import Blueprint, redirect, render_template, request, url_for

from worrybox import tablets
from worrybox.db import set_setting
from worrybox_web import get_db

from .auth import allowed
from .common import Refused, save
from .forms import ButtonForm, KioskSettingsForm, TabletForm

bp = Blueprint("kiosk_admin", __name__)


def _render(settings_form=None, tablet_form=None, status=200):
    db = get_db()
    settings_form = settings_form or KioskSettingsForm(
        formdata=None, kiosk_language=tablets.kiosk_language(db), kiosk_idle_seconds=tablets.idle_seconds(db))
    return render_template(
        "console/kiosk_settings.html", settings_form=settings_form, tablet_form=tablet_form or TabletForm(formdata=None),
        button=ButtonForm(), tablet_names=tablets.tablet_names(db),
    ), status


def _save(form, show_again, change, confirmation):
    """Save a kiosk setting, audited as settings_changed, and come back to this page."""
    return save(form, show_again, change, url_for("kiosk_admin.kiosk_settings"), confirmation,
                event="settings_changed")


@bp.get("/kiosk")
@allowed("change_school_settings")
def kiosk_settings():
    return _render()


@bp.post("/kiosk")
@allowed("change_school_settings")
def save_kiosk_settings():
    form = KioskSettingsForm()

    def change(db):
        set_setting(db, "kiosk_language", form.kiosk_language.data)
        set_setting(db, "kiosk_idle_seconds", str(form.kiosk_idle_seconds.data))
        return "kiosk_language, kiosk_idle_seconds"
    return _save(form, lambda status: _render(settings_form=form, status=status), change, "Kiosk settings saved.")


@bp.post("/kiosk/tablets")
@allowed("change_school_settings")
def add_tablet():
    form = TabletForm()

    def change(db):
        tablets.add_tablet(db, form.name.data)
        return "tablet added"
    return _save(form, lambda status: _render(tablet_form=form, status=status), change, "Tablet added.")


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
