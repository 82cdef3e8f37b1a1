"""Peer mediators at the kiosk: a child books a chat; a mediator signs in to see and record their chats."""

from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask_babel import format_date
from flask_babel import gettext as _

from worrybox import mediators, roster
from worrybox.choices import CHAT_TOPICS, TOPICS
from worrybox_web import form_problem, get_db, get_pupil_keys, school_now

from .forms import BookingForm, DoneForm, MediatorLoginForm, OutcomeForm
from .views import class_chooser, find_chosen_pupil, name_choices

bp = Blueprint("mediators", __name__)

# A mediator's view closes after this long without a tap, so the next child never sees it.
MEDIATOR_IDLE_SECONDS = 120
MEDIATOR_IDLE = timedelta(seconds=MEDIATOR_IDLE_SECONDS)
NOT_OPEN = mediators.NOT_OPEN


def scheme():
    try:
        return {"scheme_name": mediators.scheme_name(get_db())}
    except Exception:  # an error page must still render when the database cannot be read
        return {"scheme_name": "Problem Pals"}


def weekday_date(day):
    """A day as a child reads it, in their language: 'Tuesday 24 November'."""
    return format_date(day, "EEEE d MMMM")


def end_mediator_view_when_left_or_idle():
    """Find the signed-in mediator (a server-side session); leaving the mediator pages, or leaving them
    untouched, signs them out, so a copied cookie is worth nothing afterwards."""
    g.mediator = None
    token = session.get("mediator")
    if not token or request.endpoint == "static":
        return
    db = get_db()
    if not (request.endpoint or "").startswith("mediators.mediator"):
        mediators.end_session(db, token)
        session.pop("mediator", None)
        return
    g.mediator = mediators.session_mediator(db, token, MEDIATOR_IDLE)
    if g.mediator is None:
        session.pop("mediator", None)


def _first_names(refs) -> list[str]:
    keys, db = get_pupil_keys(), get_db()
    pupils = [roster.pupil_by_ref(db, keys, ref) for ref in refs]
    return [p.first_name for p in pupils if p]


def _describe(offer: mediators.SlotOnDay) -> dict:
    return {
        "slot_id": offer.slot.id, "date": offer.day.isoformat(), "day": offer.day, "slot": offer.slot,
        "free": offer.free, "mediators": _first_names(offer.mediator_refs),
    }


def _find_offer(slot_id, day):
    for offer in mediators.upcoming(get_db(), school_now()):
        if str(offer.slot.id) == str(slot_id) and offer.day.isoformat() == day:
            return _describe(offer)
    return None


# Booking a chat ------------------------------------------------------------------------------


@bp.get("/book")
def book():
    slot_id, day = request.args.get("slot"), request.args.get("date")
    if slot_id or day:
        offer = _find_offer(slot_id, day)
        if offer is None:
            return _render_slots([_(NOT_OPEN)])
        form = BookingForm(formdata=None, slot=offer["slot_id"], date=offer["date"])
        return _render_booking(form, offer, request.args.get("class") or None)
    return _render_slots()


def _render_slots(messages=(), status=200):
    offers = [_describe(offer) for offer in mediators.upcoming(get_db(), school_now())]
    return render_template("kiosk/book.html", offers=offers, messages=messages), status


def _render_booking(form, offer, class_name, status=200):
    return render_template("kiosk/book_form.html", form=form, offer=offer, topics=CHAT_TOPICS,
                           name_required=True, **class_chooser(form, class_name)), status


@bp.post("/book")
def book_chat():
    form = BookingForm()
    offer = _find_offer(form.slot.data, form.date.data)
    if offer is None:
        return _render_slots([_(NOT_OPEN)], 409)
    if "show_class" in request.form:
        form.pupil.data = None
        return _render_booking(form, offer, request.form["show_class"] or None)
    class_name = request.form.get("class") or None
    status = form_problem(form, _("This page was open for a long time, so we refreshed it. Please press Book again."))
    if status:
        return _render_booking(form, offer, class_name, status)
    keys, db = get_pupil_keys(), get_db()
    pupil = find_chosen_pupil(form.pupil.data)
    if pupil is None:
        form.pupil.errors = [_("We could not find that name. Please choose it again.")]
        return _render_booking(form, offer, class_name, 422)
    try:
        mediators.book(db, offer["slot_id"], date.fromisoformat(offer["date"]), keys.pupil_ref(pupil.pupil_id),
                       form.topic.data or None, school_now())
    except mediators.BookingRefused as refused:
        form.form_errors.append(_(str(refused)))
        return _render_booking(form, offer, class_name, 409)
    session["booked"] = {"day": weekday_date(offer["day"]), "start": offer["slot"].start_time,
                         "end": offer["slot"].end_time, "place": offer["slot"].place, "mediators": offer["mediators"]}
    return redirect(url_for("mediators.booked"), 303)


@bp.get("/book/done")
def booked():
    details = session.pop("booked", None)
    if details is None:
        return redirect(url_for("kiosk.start"))
    return render_template("kiosk/booked.html", **details)


# The mediator's own view ---------------------------------------------------------------------


def _mediator_choices():
    keys, db = get_pupil_keys(), get_db()
    people = [roster.pupil_by_ref(db, keys, row["pupil_ref"]) for row in mediators.mediator_rows(db)
              if row["active"] and row["has_pin"]]
    return name_choices(sorted((p for p in people if p), key=lambda p: (p.first_name.lower(), p.last_name.lower())))


@bp.get("/mediator")
def mediator():
    if g.mediator:
        return redirect(url_for("mediators.mediator_duty"))
    return render_template("kiosk/mediator_login.html", form=MediatorLoginForm(formdata=None),
                           people=_mediator_choices())


@bp.post("/mediator/login")
def mediator_login():
    form = MediatorLoginForm()
    status = 422
    if form.validate():
        pupil = find_chosen_pupil(form.pupil.data)
        # An unknown name (or one from before a roster import) is checked like a wrong PIN, against no one.
        pupil_ref = get_pupil_keys().pupil_ref(pupil.pupil_id) if pupil else "no such pupil"
        result = mediators.check_pin(get_db(), pupil_ref, form.pin.data)
        if result is mediators.PinCheck.OK:
            session["mediator"] = mediators.start_session(get_db(), pupil_ref)
            return redirect(url_for("mediators.mediator_duty"), 303)
        if result is mediators.PinCheck.PAUSED:
            status = 429
            form.form_errors.append(_("Too many wrong PINs. Your login is resting for 10 minutes. "
                                      "Ask your %(scheme)s coordinator if you need help.",
                                      scheme=mediators.scheme_name(get_db())))
        else:
            status = 401
            form.form_errors.append(_("That PIN did not work. Try again, or ask your coordinator for a new one."))
    elif form.csrf_token.errors:
        form.csrf_token.errors = []
        status = 400
        form.form_errors.append(_("This page was open for a long time. Please type your PIN again."))
    form.pin.data = None  # a PIN is never written back into the page
    return render_template("kiosk/mediator_login.html", form=form, people=_mediator_choices()), status


@bp.get("/mediator/duty")
def mediator_duty():
    return _render_duty()


def _render_duty(forms=None, status=200, messages=()):
    pupil_ref = g.mediator
    if not pupil_ref:
        return redirect(url_for("mediators.mediator"))
    keys, db = get_pupil_keys(), get_db()
    today = school_now().date()
    me = roster.pupil_by_ref(db, keys, pupil_ref)
    duties = mediators.duty(db, pupil_ref, today)
    now = datetime.now(timezone.utc)
    for entry in duties:
        started = mediators.chat_start(db, entry["day"], entry["slot"].start_time) <= now
        for booking in entry["bookings"]:
            booking["started"] = started
            booking["pupil"] = roster.pupil_by_ref(db, keys, booking["pupil_ref"])
            booking["form"] = (forms or {}).get(booking["id"]) or OutcomeForm(
                formdata=None,
                attended=None if booking["attended"] is None else ("yes" if booking["attended"] else "no"),
                outcome=booking["outcome"])
    return render_template("kiosk/mediator_duty.html", me=me, duties=duties, today=today, topics=TOPICS,
                           outcomes=mediators.OUTCOMES, done_form=DoneForm(), idle_seconds=MEDIATOR_IDLE_SECONDS,
                           find_an_adult=session.pop("find_an_adult", False), messages=messages), status


@bp.post("/mediator/bookings/<int(max=9223372036854775807):booking_id>")
def mediator_outcome(booking_id):
    pupil_ref = g.mediator
    if not pupil_ref:
        return redirect(url_for("mediators.mediator"))
    form = OutcomeForm()
    if not form.validate():
        return _render_duty({booking_id: form}, 422)
    attended = form.attended.data == "yes"
    try:
        mediators.record_outcome(get_db(), booking_id, pupil_ref, attended, form.outcome.data or None)
    except LookupError:
        abort(404)
    except mediators.ChatNotStarted:
        return _render_duty({booking_id: form}, 409, [_("You can say how a chat went once it has started.")])
    if attended and form.outcome.data == "pass_to_adult":
        session["find_an_adult"] = True
    return redirect(url_for("mediators.mediator_duty"), 303)


@bp.post("/mediator/done")
def mediator_done():
    # No CSRF check on purpose: ending a mediator's view is always safe on a shared tablet.
    mediators.end_session(get_db(), session.pop("mediator", None))
    return redirect(url_for("kiosk.start"), 303)
