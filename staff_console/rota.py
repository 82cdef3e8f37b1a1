"""The mediators' rota: add a slot, choose who is on duty, pause, resume or remove it."""

from datetime import datetime

from flask import Blueprint, abort, render_template, url_for

from worrybox import mediators
from worrybox_web import get_db, school_today

from .auth import allowed
from .common import BUTTON_EXPIRED, ID, NOT_ON_ROSTER, pupils_by_ref, save
from .forms import ButtonForm, PauseForm, SlotForm, SlotMediatorsForm

bp = Blueprint("rota", __name__)

SLOT_URL = "/rota/<%s:slot_id>" % ID


def day_label(iso_date):
    """Show a stored date (2026-12-18) as people read it: Fri 18 Dec 2026."""
    return datetime.strptime(iso_date, "%Y-%m-%d").strftime("%a %-d %b %Y") if iso_date else "—"


def short_name(pupil) -> str:
    """A pupil as the rota shows them: 'Amira Q. (4B)'."""
    if pupil is None:
        return NOT_ON_ROSTER
    initial = " %s." % pupil.last_name[0] if pupil.last_name else ""
    return "%s%s (%s)" % (pupil.first_name, initial, pupil.class_name)


def mediator_choices() -> list[tuple[str, str]]:
    """Active mediators as (pseudonym, short name), in name order."""
    active = mediators.mediator_refs(get_db())
    names = pupils_by_ref(active)
    return sorted(((ref, short_name(names.get(ref))) for ref in active), key=lambda choice: choice[1].lower())


def _slot_or_404(slot_id):
    slot = mediators.get_slot(get_db(), slot_id)
    if slot is None:
        abort(404)
    return slot


def _render(add_form=None, slot_forms=None, notice=None, status=200):
    db = get_db()
    all_slots = mediators.slots(db)
    choices = mediator_choices()
    add_form = add_form or SlotForm(formdata=None, capacity=4)
    add_form.mediators.choices = choices
    today = school_today().isoformat()
    rows = []
    for slot in all_slots:
        on_duty = mediators.slot_mediator_refs(db, slot.id)
        forms = (slot_forms or {}).get(slot.id, {})
        prefix = "slot%d" % slot.id
        mediators_form = forms.get("mediators") or SlotMediatorsForm(formdata=None, prefix=prefix,
                                                                     mediators=list(on_duty))
        mediators_form.mediators.choices = choices
        rows.append({
            "slot": slot, "mediators": [name for ref, name in choices if ref in on_duty],
            "paused_until": slot.paused_until if slot.paused_until and slot.paused_until >= today else None,
            "mediators_form": mediators_form,
            "pause_form": forms.get("pause") or PauseForm(formdata=None, prefix=prefix),
        })
    return render_template("console/rota.html", rows=rows, add_form=add_form, button=ButtonForm(formdata=None),
                           has_mediators=bool(choices), notice=notice), status


def _save(form, show_again, change, confirmation):
    """Save a change to the rota, audited as rota_changed, and come back to the rota."""
    return save(form, show_again, change, url_for("rota.rota"), confirmation, event="rota_changed")


@bp.get("/rota")
@allowed("run_the_mediators")
def rota():
    return _render()


@bp.post("/rota/slots")
@allowed("run_the_mediators")
def add_slot():
    form = SlotForm()
    form.mediators.choices = mediator_choices()

    def change(db):
        slot_id = mediators.add_slot(db, form.weekday.data, form.start_time.data, form.end_time.data,
                                     form.place.data, form.capacity.data, form.mediators.data)
        return "slot %d added: %s %s-%s, %d places, %d mediators" % (
            slot_id, mediators.WEEKDAYS[form.weekday.data], form.start_time.data, form.end_time.data,
            form.capacity.data, len(form.mediators.data))
    return _save(form, lambda status: _render(add_form=form, status=status), change, "Slot added to the rota.")


@bp.post(SLOT_URL + "/mediators")
@allowed("run_the_mediators")
def change_slot_mediators(slot_id):
    _slot_or_404(slot_id)
    form = SlotMediatorsForm(prefix="slot%d" % slot_id)
    form.mediators.choices = mediator_choices()

    def change(db):
        mediators.set_slot_mediators(db, slot_id, form.mediators.data)
        return "slot %d mediators changed: %d on duty" % (slot_id, len(form.mediators.data))
    return _save(form, lambda status: _render(slot_forms={slot_id: {"mediators": form}}, status=status), change,
                 "Who is on duty was saved.")


@bp.post(SLOT_URL + "/pause")
@allowed("run_the_mediators")
def pause_slot(slot_id):
    _slot_or_404(slot_id)
    form = PauseForm(prefix="slot%d" % slot_id)
    form.today = school_today()

    def change(db):
        mediators.pause_slot(db, slot_id, form.until.data)
        return "slot %d paused until %s" % (slot_id, form.until.data.isoformat())
    return _save(form, lambda status: _render(slot_forms={slot_id: {"pause": form}}, status=status), change,
                 "Slot paused.")


def _slot_button(slot_id, change_slot, detail, confirmation):
    """Resume or remove a slot: a button with nothing to type."""
    _slot_or_404(slot_id)

    def change(db):
        change_slot(db, slot_id)
        return "slot %d %s" % (slot_id, detail)
    return _save(ButtonForm(), lambda status: _render(notice=BUTTON_EXPIRED, status=status), change, confirmation)


@bp.post(SLOT_URL + "/resume")
@allowed("run_the_mediators")
def resume_slot(slot_id):
    return _slot_button(slot_id, lambda db, slot: mediators.pause_slot(db, slot, None), "resumed", "Slot resumed.")


@bp.post(SLOT_URL + "/remove")
@allowed("run_the_mediators")
def remove_slot(slot_id):
    return _slot_button(slot_id, mediators.remove_slot, "removed", "Slot removed from the rota.")
