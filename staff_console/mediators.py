"""The peer mediators: who they are, the scheme's name, a new PIN, stopping and restarting a mediator."""

from datetime import datetime, timezone

from flask import Blueprint, abort, g, render_template, request, url_for

from worrybox import mediators, roster
from worrybox.db import set_setting, write_transaction
from worrybox.audit import audit
from worrybox_web import get_db, get_pupil_keys

from .auth import allowed
from .common import BUTTON_EXPIRED, NOT_ON_ROSTER, button_expired, pupils_by_ref, save
from .forms import AddMediatorForm, ButtonForm, SchemeNameForm

bp = Blueprint("mediators", __name__)

UNKNOWN_CLASS = "We could not find that class. Please choose one from the list."


def _render(scheme_form=None, add_form=None, class_name=None, notice=None, status=200):
    db = get_db()
    now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    rows = mediators.mediator_rows(db)
    names = pupils_by_ref(row["pupil_ref"] for row in rows)
    for row in rows:
        pupil = names.get(row["pupil_ref"])
        row["name"] = pupil.display_name if pupil else NOT_ON_ROSTER
        row["class_name"] = pupil.class_name if pupil else "—"
        row["paused_until"] = row["locked_until"] if row["locked_until"] and row["locked_until"] > now else None
    rows.sort(key=lambda row: (not row["active"], row["class_name"], row["name"].lower()))
    classes = roster.class_names(db)
    messages = [notice] if notice else []
    if class_name is not None and class_name not in classes:
        messages.append(UNKNOWN_CLASS)
        class_name = None
    if add_form is None and class_name:
        add_form = AddMediatorForm(formdata=None, class_name=class_name)
    if add_form is not None:
        add_form.pupil.choices = _pupil_choices(class_name)
    scheme = mediators.scheme_name(db)
    scheme_form = scheme_form or SchemeNameForm(formdata=None, scheme_name=scheme)
    return render_template("console/mediators.html", scheme=scheme, rows=rows, classes=classes, class_name=class_name,
                           add_form=add_form, scheme_form=scheme_form, button=ButtonForm(formdata=None),
                           messages=messages), status


def _pupil_choices(class_name) -> list[tuple[str, str]]:
    """Pupils of a class who are not active mediators yet, as (pupil id, name)."""
    keys = get_pupil_keys()
    active = set(mediators.mediator_refs(get_db()))
    return [(pupil.pupil_id, pupil.display_name) for pupil in roster.pupils_in_class(get_db(), keys, class_name)
            if keys.pupil_ref(pupil.pupil_id) not in active]


def _save(form, show_again, change, confirmation, event="mediators_changed"):
    """Save a change to the mediators, audited, and come back to the mediators page."""
    return save(form, show_again, change, url_for("mediators.mediators_page"), confirmation, event=event)


@bp.get("/mediators")
@allowed("run_the_mediators")
def mediators_page():
    return _render(class_name=request.args.get("class") or None)


@bp.post("/mediators/scheme")
@allowed("run_the_mediators")
def rename_scheme():
    form = SchemeNameForm()

    def change(db):
        set_setting(db, "scheme_name", form.scheme_name.data)
        return "scheme_name"
    return _save(form, lambda status: _render(scheme_form=form, status=status), change,
                 "The scheme's name was saved.", event="settings_changed")


@bp.post("/mediators/add")
@allowed("run_the_mediators")
def add_mediator():
    form = AddMediatorForm()
    class_name = form.class_name.data or ""
    if class_name not in roster.class_names(get_db()):
        return _render(class_name="", status=422)
    form.pupil.choices = _pupil_choices(class_name)

    def change(db):
        pupil_ref = get_pupil_keys().pupil_ref(form.pupil.data)
        mediators.set_mediator(db, pupil_ref, active=True)
        return "mediator added: %s" % pupil_ref
    return _save(form, lambda status: _render(add_form=form, class_name=class_name, status=status), change,
                 "Mediator added.")


def _mediator_or_404(pupil_ref):
    if pupil_ref not in mediators.mediator_refs(get_db(), active_only=False):
        abort(404)


def _button_refused(status):
    return _render(notice=BUTTON_EXPIRED, status=status)


@bp.post("/mediators/<pupil_ref>/stop")
@allowed("run_the_mediators")
def stop_mediator(pupil_ref):
    return _set_active(pupil_ref, False)


@bp.post("/mediators/<pupil_ref>/restart")
@allowed("run_the_mediators")
def restart_mediator(pupil_ref):
    return _set_active(pupil_ref, True)


def _set_active(pupil_ref, active):
    _mediator_or_404(pupil_ref)

    def change(db):
        mediators.set_mediator(db, pupil_ref, active=active)
        return "mediator %s: %s" % ("restarted" if active else "stopped", pupil_ref)
    return _save(ButtonForm(), _button_refused, change, "Mediator restarted." if active else "Mediator stopped.")


@bp.post("/mediators/<pupil_ref>/pin")
@allowed("run_the_mediators")
def new_mediator_pin(pupil_ref):
    _mediator_or_404(pupil_ref)
    if button_expired():
        return _button_refused(400)
    db = get_db()
    with write_transaction(db):
        pin = mediators.new_pin(db, pupil_ref)
        audit(db, "mediators_changed", staff_id=g.staff.id, detail="new PIN given: %s" % pupil_ref)
    # Shown once, in this response only (not a redirect): never in a URL, a cookie, a log or the database.
    pupil = pupils_by_ref([pupil_ref]).get(pupil_ref)
    return render_template("console/new_pin.html", pin=pin, name=pupil.display_name if pupil else "this mediator")
