"""Peer mediators (rota, mediators, bookings), escalations, school settings, and the alert banner."""

from datetime import datetime, timedelta, timezone

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from worrybox import alerts, casework, clock, escalation, mediators, roster, worries
from worrybox.choices import TOPICS, label
from worrybox.db import get_setting, set_setting, write_transaction
from worrybox.recipients import NoRecipients, worry_recipients
from worrybox.audit import audit
from worrybox_web import form_problem, get_db, get_pupil_keys

from .auth import role_required
from .forms import (AcknowledgeForm, AddMediatorForm, ButtonForm, PauseForm, SchemeNameForm, SettingsForm,
                    SlotForm, SlotMediatorsForm, email_list)

bp = Blueprint("pals", __name__)

SAFEGUARDING = ("dsl", "deputy")
# School settings are school IT's to manage too; escalations and worries never are.
SETTINGS_ROLES = (*SAFEGUARDING, "it_admin")
PALS = ("dsl", "deputy", "coordinator")
# SQLite's largest integer: a bigger id is a page that does not exist, not an OverflowError.
ID = "int(max=9223372036854775807)"
EXPIRED = "That page had expired, so nothing was changed. What you typed is still here: press the button again."
BUTTON_EXPIRED = "That page had expired, so nothing was changed. Press the button again."
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
DEFAULT_SENDER = alerts.SmtpSettings.sender
NOT_ON_ROSTER = "(no longer on the roster)"


def _check(form):
    """Validate a posted form; return None if it is good, else the status to show it again with."""
    return form_problem(form, EXPIRED)


def _changed(event, detail):
    audit(get_db(), event, staff_id=g.staff.id, detail=detail)


def _school_today():
    return clock.school_time(get_db(), datetime.now(timezone.utc)).date()


# Names ---------------------------------------------------------------------------------------


def _pupils(refs) -> dict:
    """Pupils by pseudonym; a pupil who has left the roster is left out."""
    db, keys = get_db(), get_pupil_keys()
    found = {ref: roster.pupil_by_ref(db, keys, ref) for ref in set(refs)}
    return {ref: pupil for ref, pupil in found.items() if pupil}


def _short_name(pupil) -> str:
    """A pupil as the rota shows them: 'Amira Q. (4B)'."""
    if pupil is None:
        return NOT_ON_ROSTER
    initial = " %s." % pupil.last_name[0] if pupil.last_name else ""
    return "%s%s (%s)" % (pupil.first_name, initial, pupil.class_name)


def _mediator_choices() -> list[tuple[str, str]]:
    """Active mediators as (pseudonym, short name), in name order."""
    active = mediators.mediator_refs(get_db())
    names = _pupils(active)
    return sorted(((ref, _short_name(names.get(ref))) for ref in active), key=lambda choice: choice[1].lower())


@bp.app_template_filter("day")
def day_label(iso_date):
    """Show a stored date (2026-12-18) as people read it: Fri 18 Dec 2026."""
    return datetime.strptime(iso_date, "%Y-%m-%d").strftime("%a %-d %b %Y") if iso_date else "—"


# The banner ----------------------------------------------------------------------------------


@bp.app_context_processor
def alert_banner():
    def banner_counts():
        # Called from the layout only, so an error page never depends on the database.
        member = g.get("staff")
        if member is None or member.role not in SAFEGUARDING:
            return None
        db = get_db()
        return {"escalations": escalation.count_open(db), "urgent": worries.count_urgent_unopened(db)}
    return {"banner_counts": banner_counts}


# The rota ------------------------------------------------------------------------------------


def _slot_or_404(slot_id):
    slot = mediators.get_slot(get_db(), slot_id)
    if slot is None:
        abort(404)
    return slot


def _render_rota(add_form=None, slot_forms=None, notice=None, status=200):
    db = get_db()
    all_slots = mediators.slots(db)
    choices = _mediator_choices()
    add_form = add_form or SlotForm(formdata=None, capacity=4)
    add_form.mediators.choices = choices
    today = _school_today().isoformat()
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


@bp.get("/rota")
@role_required(*PALS)
def rota():
    return _render_rota()


@bp.post("/rota/slots")
@role_required(*PALS)
def add_slot():
    form = SlotForm()
    form.mediators.choices = _mediator_choices()
    status = _check(form)
    if status:
        return _render_rota(add_form=form, status=status)
    db = get_db()
    with write_transaction(db):
        slot_id = mediators.add_slot(db, form.weekday.data, form.start_time.data, form.end_time.data,
                                     form.place.data, form.capacity.data, form.mediators.data)
        _changed("rota_changed", "slot %d added: %s %s-%s, %d places, %d mediators" % (
            slot_id, mediators.WEEKDAYS[form.weekday.data], form.start_time.data, form.end_time.data,
            form.capacity.data, len(form.mediators.data)))
    return redirect(url_for("pals.rota"), 303)


@bp.post("/rota/<%s:slot_id>/mediators" % ID)
@role_required(*PALS)
def change_slot_mediators(slot_id):
    _slot_or_404(slot_id)
    form = SlotMediatorsForm(prefix="slot%d" % slot_id)
    form.mediators.choices = _mediator_choices()
    status = _check(form)
    if status:
        return _render_rota(slot_forms={slot_id: {"mediators": form}}, status=status)
    db = get_db()
    with write_transaction(db):
        mediators.set_slot_mediators(db, slot_id, form.mediators.data)
        _changed("rota_changed", "slot %d mediators changed: %d on duty" % (slot_id, len(form.mediators.data)))
    return redirect(url_for("pals.rota"), 303)


@bp.post("/rota/<%s:slot_id>/pause" % ID)
@role_required(*PALS)
def pause_slot(slot_id):
    _slot_or_404(slot_id)
    form = PauseForm(prefix="slot%d" % slot_id)
    form.today = _school_today()
    status = _check(form)
    if status:
        return _render_rota(slot_forms={slot_id: {"pause": form}}, status=status)
    db = get_db()
    with write_transaction(db):
        mediators.pause_slot(db, slot_id, form.until.data)
        _changed("rota_changed", "slot %d paused until %s" % (slot_id, form.until.data.isoformat()))
    return redirect(url_for("pals.rota"), 303)


def _slot_button(slot_id, change, detail):
    """Resume or remove a slot: a button with nothing to type."""
    _slot_or_404(slot_id)
    if not ButtonForm().validate():
        return _render_rota(notice=BUTTON_EXPIRED, status=400)
    db = get_db()
    with write_transaction(db):
        change(db, slot_id)
        _changed("rota_changed", "slot %d %s" % (slot_id, detail))
    return redirect(url_for("pals.rota"), 303)


@bp.post("/rota/<%s:slot_id>/resume" % ID)
@role_required(*PALS)
def resume_slot(slot_id):
    return _slot_button(slot_id, lambda db, slot: mediators.pause_slot(db, slot, None), "resumed")


@bp.post("/rota/<%s:slot_id>/remove" % ID)
@role_required(*PALS)
def remove_slot(slot_id):
    return _slot_button(slot_id, mediators.remove_slot, "removed")


# Mediators -----------------------------------------------------------------------------------


def _render_mediators(scheme_form=None, add_form=None, class_name=None, notice=None, status=200):
    db = get_db()
    now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    rows = mediators.mediator_rows(db)
    names = _pupils(row["pupil_ref"] for row in rows)
    for row in rows:
        pupil = names.get(row["pupil_ref"])
        row["name"] = pupil.display_name if pupil else NOT_ON_ROSTER
        row["class_name"] = pupil.class_name if pupil else "—"
        row["paused_until"] = row["locked_until"] if row["locked_until"] and row["locked_until"] > now else None
    rows.sort(key=lambda row: (not row["active"], row["class_name"], row["name"].lower()))
    classes = roster.class_names(db)
    messages = [notice] if notice else []
    if class_name is not None and class_name not in classes:
        messages.append("We could not find that class. Please choose one from the list.")
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


@bp.get("/mediators")
@role_required(*PALS)
def mediators_page():
    return _render_mediators(class_name=request.args.get("class") or None)


@bp.post("/mediators/scheme")
@role_required(*PALS)
def rename_scheme():
    form = SchemeNameForm()
    status = _check(form)
    if status:
        return _render_mediators(scheme_form=form, status=status)
    db = get_db()
    with write_transaction(db):
        set_setting(db, "scheme_name", form.scheme_name.data)
        _changed("settings_changed", "scheme_name")
    return redirect(url_for("pals.mediators_page"), 303)


@bp.post("/mediators/add")
@role_required(*PALS)
def add_mediator():
    form = AddMediatorForm()
    class_name = form.class_name.data or ""
    if class_name not in roster.class_names(get_db()):
        return _render_mediators(class_name="", status=422)
    form.pupil.choices = _pupil_choices(class_name)
    status = _check(form)
    if status:
        return _render_mediators(add_form=form, class_name=class_name, status=status)
    pupil_ref = get_pupil_keys().pupil_ref(form.pupil.data)
    db = get_db()
    with write_transaction(db):
        mediators.set_mediator(db, pupil_ref, active=True)
        _changed("mediators_changed", "mediator added: %s" % pupil_ref)
    return redirect(url_for("pals.mediators_page"), 303)


def _mediator_or_404(pupil_ref):
    if pupil_ref not in mediators.mediator_refs(get_db(), active_only=False):
        abort(404)


def _button_refused():
    return _render_mediators(notice=BUTTON_EXPIRED, status=400)


@bp.post("/mediators/<pupil_ref>/stop")
@role_required(*PALS)
def stop_mediator(pupil_ref):
    return _set_active(pupil_ref, False)


@bp.post("/mediators/<pupil_ref>/restart")
@role_required(*PALS)
def restart_mediator(pupil_ref):
    return _set_active(pupil_ref, True)


def _set_active(pupil_ref, active):
    _mediator_or_404(pupil_ref)
    if not ButtonForm().validate():
        return _button_refused()
    db = get_db()
    with write_transaction(db):
        mediators.set_mediator(db, pupil_ref, active=active)
        _changed("mediators_changed", "mediator %s: %s" % ("restarted" if active else "stopped", pupil_ref))
    return redirect(url_for("pals.mediators_page"), 303)


@bp.post("/mediators/<pupil_ref>/pin")
@role_required(*PALS)
def new_mediator_pin(pupil_ref):
    _mediator_or_404(pupil_ref)
    if not ButtonForm().validate():
        return _button_refused()
    db = get_db()
    with write_transaction(db):
        pin = mediators.new_pin(db, pupil_ref)
        _changed("mediators_changed", "new PIN given: %s" % pupil_ref)
    # Shown once, in this response only: never in a URL, a cookie, a log or the database.
    pupil = _pupils([pupil_ref]).get(pupil_ref)
    return render_template("console/new_pin.html", pin=pin, name=pupil.display_name if pupil else "this mediator")


# Bookings ------------------------------------------------------------------------------------


@bp.get("/bookings")
@role_required(*PALS)
def bookings():
    db, today = get_db(), _school_today()
    monday = today - timedelta(days=today.weekday())
    weeks = []
    for title, start in (("This week", monday), ("Next week", monday + timedelta(days=7))):
        rows = mediators.bookings_between(db, start, start + timedelta(days=6))
        names = _pupils(row["pupil_ref"] for row in rows)
        for row in rows:
            pupil = names.get(row["pupil_ref"])
            row["child"] = "%s (%s)" % (pupil.first_name, pupil.class_name) if pupil else NOT_ON_ROSTER
            row["topic_label"] = label(TOPICS, row["topic"])
            row["outcome_label"] = label(mediators.OUTCOMES, row["outcome"])
        weeks.append({"title": title, "start": start, "rows": rows})
    return render_template("console/bookings.html", weeks=weeks)


# Escalations ---------------------------------------------------------------------------------


def _render_escalations(ack_forms=None, notice=None, status=200):
    db = get_db()
    open_rows = escalation.open_escalations(db)
    done_rows = escalation.acknowledged_escalations(db, limit=20)
    names = _pupils(row["pupil_ref"] for row in open_rows + done_rows if row["pupil_ref"])
    for row in open_rows + done_rows:
        row["reason_label"] = escalation.REASONS.get(row["reason"], row["reason"])
        pupil = names.get(row["pupil_ref"])
        if pupil:
            row["who"] = "%s, class %s" % (pupil.display_name, pupil.class_name)
        else:
            row["who"] = NOT_ON_ROSTER if row["pupil_ref"] else "Secret (no name)"
    for row in open_rows:
        row["form"] = (ack_forms or {}).get(row["id"]) or AcknowledgeForm(formdata=None, prefix="esc%d" % row["id"])
    for row in done_rows:
        row["note"] = casework.escalation_note(db, row["id"], g.keyring)
    return render_template("console/escalations.html", open_rows=open_rows, done_rows=done_rows,
                           notice=notice, dealing_form=ButtonForm(formdata=None)), status


@bp.get("/escalations")
@role_required(*SAFEGUARDING)
def escalations():
    return _render_escalations()


@bp.post("/escalations/<%s:escalation_id>/acknowledge" % ID)
@role_required(*SAFEGUARDING)
def acknowledge(escalation_id):
    form = AcknowledgeForm(prefix="esc%d" % escalation_id)
    status = _check(form)
    if status:
        return _render_escalations(ack_forms={escalation_id: form}, status=status)
    db = get_db()
    try:
        casework.acknowledge_escalation(db, escalation_id, g.keyring, form.note.data, worry_recipients(db))
    except LookupError:
        return _render_escalations(notice="That escalation was already acknowledged, or no longer exists. "
                                          "Nothing was changed.", status=409)
    except NoRecipients:
        return _render_escalations(ack_forms={escalation_id: form}, status=503, notice=(
            "The note cannot be sealed because the school has no safeguarding team key. Nothing was changed."))
    return redirect(url_for("pals.escalations"), 303)


# Settings ------------------------------------------------------------------------------------


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


def _render_settings(form, status=200):
    has_password = bool(get_setting(get_db(), "smtp_password"))
    return render_template("console/settings.html", form=form, has_password=has_password), status


@bp.get("/settings")
@role_required(*SETTINGS_ROLES)
def settings():
    stored = _stored_settings(get_db())
    form = SettingsForm(
        formdata=None, visit_threshold=int(stored["visit_threshold"]),
        visit_window_days=int(stored["visit_window_days"]), smtp_host=stored["smtp_host"],
        smtp_port=int(stored["smtp_port"]) if stored["smtp_port"].isdigit() else None,
        smtp_security=stored["smtp_security"], smtp_username=stored["smtp_username"],
        smtp_sender=stored["smtp_sender"], alert_recipients=stored["alert_recipients"],
        on_call_minutes=int(stored["on_call_minutes"]), on_call_list=stored["on_call_list"])
    return _render_settings(form)


@bp.post("/settings")
@role_required(*SETTINGS_ROLES)
def save_settings():
    form = SettingsForm()
    status = _check(form)
    if status:
        if form.smtp_password.data:
            form.form_errors.append("For safety the password is never shown again: type it again if you "
                                    "were changing it.")
        return _render_settings(form, status)
    db = get_db()
    before = _stored_settings(db)
    if form.forget_password.data:
        password = ""
    else:
        password = form.smtp_password.data or before["smtp_password"]
    smtp = alerts.SmtpSettings(
        host=form.smtp_host.data or "", port=form.smtp_port.data or DEFAULT_PORTS[form.smtp_security.data],
        security=form.smtp_security.data, username=form.smtp_username.data or "", password=password,
        sender=form.smtp_sender.data or DEFAULT_SENDER, recipients=tuple(email_list(form.alert_recipients.data)))
    with write_transaction(db):
        set_setting(db, "visit_threshold", str(form.visit_threshold.data))
        set_setting(db, "visit_window_days", str(form.visit_window_days.data))
        alerts.save_smtp_settings(db, smtp)
        # Who is on call is the safeguarding team's to decide: school IT must never redirect an alert.
        if g.staff.role in SAFEGUARDING:
            set_setting(db, "on_call_minutes", str(form.on_call_minutes.data or escalation.DEFAULT_ON_CALL_MINUTES))
            set_setting(db, "on_call_list", ", ".join(email_list(form.on_call_list.data)))
        after = _stored_settings(db)
        # Names only: a password, or an address, has no place in the audit log.
        changed = [name for name in after if after[name] != before[name]]
        if changed:
            _changed("settings_changed", ", ".join(changed))
    return redirect(url_for("pals.settings"), 303)
