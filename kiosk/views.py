"""Kiosk pages: start, language, post a worry, the urgent form, thank you."""

import secrets

from flask import Blueprint, abort, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from worrybox import roster, tablets, throttle, worries
from worrybox.choices import FEELINGS, PLACES, TALK_TO, TOPICS
from worrybox.recipients import NoRecipients, recipients_for, worry_recipients
from worrybox.languages import DEFAULT_LANGUAGE, LANGUAGES
from worrybox_web import form_problem, get_db, get_pupil_keys

from .forms import WorryForm

bp = Blueprint("kiosk", __name__)

TABLET_COOKIE = "worrybox_tablet"
TABLET_COOKIE_MAX_AGE = 400 * 24 * 3600


def kiosk_locale():
    """The child's chosen language for this visit, else the school's kiosk language."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    try:
        return tablets.kiosk_language(get_db())
    except Exception:  # an error page must still render when the database cannot be read
        return DEFAULT_LANGUAGE


def _resting_page():
    return render_template("kiosk/resting.html"), 503


@bp.before_app_request
def recognise_tablet():
    """Which tablet this is: an enrolled tablet's cookie holds a random token, never its name.

    A name in the address (?tablet=NAME) is ignored: anyone could type one.
    """
    try:
        g.tablet = tablets.tablet_for_token(get_db(), request.cookies.get(TABLET_COOKIE))
    except Exception:  # never let a tablet's cookie stop a child from reaching the page
        g.tablet = None
    g.new_tablet_token = None


@bp.after_app_request
def remember_tablet(response):
    if g.get("new_tablet_token"):
        response.set_cookie(TABLET_COOKIE, g.new_tablet_token, max_age=TABLET_COOKIE_MAX_AGE, httponly=True,
                            samesite="Strict", secure=request.is_secure)
    return response


@bp.get("/enrol/<token>")
def enrol_tablet(token):
    """Open a one-time link from the staff console on a tablet: from now on the kiosk knows which tablet it is."""
    enrolled = tablets.enrol(get_db(), token)
    if enrolled is None:
        abort(404)
    g.tablet, g.new_tablet_token = enrolled
    return redirect(url_for("kiosk.start"), 303)


@bp.app_context_processor
def kiosk_context():
    try:
        idle = tablets.idle_seconds(get_db())
    except Exception:  # an error page must still render when the database cannot be read
        idle = tablets.DEFAULT_IDLE_SECONDS
    return {"tablet_name": g.get("tablet"), "idle_seconds": idle, "languages": LANGUAGES}


@bp.before_app_request
def refuse_when_resting():
    """Accept nothing when there is no valid key to seal to: never store a worry we could not seal."""
    if request.endpoint in ("static", "kiosk.healthz", "kiosk.thanks", "kiosk.enrol_tablet"):
        return None
    try:
        worry_recipients(get_db())
    except NoRecipients:
        return _resting_page()
    return None


@bp.get("/healthz")
def healthz():
    try:
        worry_recipients(get_db())
    except NoRecipients:
        return jsonify(status="resting", reason="cannot seal"), 503
    return jsonify(status="ok")


@bp.get("/")
def start():
    return render_template("kiosk/start.html")


@bp.get("/end-visit")
def end_visit():
    """End a child's visit: forget their language and anything else, and show the start screen."""
    session.clear()
    return redirect(url_for("kiosk.start"), 303)


@bp.get("/language/<code>")
def choose_language(code):
    if code not in LANGUAGES:
        abort(404)
    session["lang"] = code
    return redirect(url_for("kiosk.start"), 303)


def class_chooser(form, class_name):
    """Return what the 'who are you?' part of a form needs: every class, the chosen one and its pupils."""
    db = get_db()
    classes = roster.class_names(db)
    if class_name and class_name not in classes:
        form.form_errors.append(_("We could not find that class. Please choose yours from the list."))
        class_name = None
    pupils = roster.pupils_in_class(db, get_pupil_keys(), class_name) if class_name else []
    return {"classes": classes, "class_name": class_name, "pupils": pupils}


def _render_worry_form(form, status=200, class_name=None, urgent=False):
    if form.submission_id.errors:
        # A hidden field cannot show its error, and sending the same bad id again would fail again.
        form.form_errors.extend(form.submission_id.errors)
        form.submission_id.data = None
    if not form.submission_id.data:
        form.submission_id.data = secrets.token_urlsafe(18)
    return render_template(
        "kiosk/urgent.html" if urgent else "kiosk/worry.html",
        form=form, feelings=FEELINGS, topics=TOPICS, places=PLACES, talk_to=TALK_TO,
        **class_chooser(form, class_name),
    ), status


@bp.get("/worry")
def worry_form():
    form = WorryForm(formdata=None)
    return _render_worry_form(form, class_name=request.args.get("class") or None)


@bp.get("/help")
def help_now():
    form = WorryForm(formdata=None)
    form.urgent.data = "y"
    return _render_worry_form(form, class_name=request.args.get("class") or None, urgent=True)


@bp.post("/worry")
def post_worry():
    form = WorryForm()
    urgent = form.urgent.data == "y"
    class_name = request.form.get("class") or None
    if "show_class" in request.form:
        # Choosing a class only shows its names; nothing is posted and nothing typed is lost.
        form.pupil.data = None
        return _render_worry_form(form, class_name=request.form["show_class"] or None, urgent=urgent)
    status = form_problem(form, _("This page was open for a long time, so we refreshed it. "
                                  "Your worry is still here: please press Send again."))
    if status:
        return _render_worry_form(form, status, class_name, urgent)
    keys = get_pupil_keys()
    db = get_db()
    pupil = None
    if form.pupil.data:
        pupil = roster.find_pupil(db, keys, form.pupil.data)
        if pupil is None:
            form.pupil.errors = [_("We could not find that name. Please choose it again, or leave your name off.")]
            return _render_worry_form(form, 422, class_name, urgent)
    try:
        recipients, readers = recipients_for(db, form.topic.data or None, form.talk_to.data or None,
                                             pupil.class_name if pupil else None)
    except NoRecipients:
        return _resting_page()
    new_worry = worries.NewWorry(
        submission_id=form.submission_id.data or secrets.token_urlsafe(18),
        feeling=form.feeling.data or None,
        topic=form.topic.data or None,
        place=form.place.data or None,
        talk_to=form.talk_to.data or None,
        urgent=urgent,
        text=form.text.data or "",
        pupil=pupil,
        pupil_ref=keys.pupil_ref(pupil.pupil_id) if pupil else None,
        drawing=form.drawing.data or None,
        language=str(kiosk_locale()),
        tablet=g.tablet,
        code_hash=keys.picture_code_hash(form.picture_code) if form.picture_code else None,
    )
    worry_id, is_new = worries.post_worry(db, recipients, new_worry, where=g.tablet or "the kiosk")
    if is_new:
        # A flood of posts from one tablet is kept but marked, so real worries stay on top of the queue.
        throttle.mark_if_flood(db, worry_id, throttle.tablet_ref(keys, g.tablet, request.remote_addr))
    session["thanks"] = {"urgent": urgent, "named": pupil is not None, "readers": readers}
    return redirect(url_for("kiosk.thanks"), 303)


@bp.get("/thanks")
def thanks():
    return render_template("kiosk/thanks.html", **session.pop("thanks", {"urgent": False, "named": False}))

