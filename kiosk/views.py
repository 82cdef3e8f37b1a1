"""Kiosk pages: start, language, post a worry, the urgent form, thank you."""

import secrets

from flask import Blueprint, abort, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale, gettext as _
from flask_babel import lazy_gettext as _l

from worrybox import roster, tablets, throttle, worries
from worrybox.choices import FEELINGS, PLACES, TALK_TO, TOPICS
from worrybox.db import write_transaction
from worrybox.hear_back import ANIMALS, CODE_LENGTH
from worrybox.recipients import NoRecipients, recipients_for, worry_recipients
from worrybox.languages import DEFAULT_LANGUAGE, LANGUAGES
from worrybox_web import form_problem, get_db, get_pupil_keys

from .forms import WorryForm

bp = Blueprint("kiosk", __name__)

TABLET_COOKIE = "worrybox_tablet"
TABLET_COOKIE_MAX_AGE = 400 * 24 * 3600
# The web fonts each language's pages draw with (static/worrybox.css), asked for with the page rather than
# after the stylesheet has arrived and been applied: on slow Wi-Fi that is one round trip sooner. Every page has
# Latin (the school's name, "Problem Pals", numbers), bold and regular.
LATIN_FONTS = ("fonts/noto-sans-latin-400-normal.woff2", "fonts/noto-sans-latin-700-normal.woff2")
PAGE_FONTS = {
    "en": LATIN_FONTS,
    "pl": LATIN_FONTS + ("fonts/noto-sans-polish-400-normal.woff2", "fonts/noto-sans-polish-700-normal.woff2"),
    "pa": ("fonts/noto-sans-gurmukhi-gurmukhi-400-normal.woff2",
           "fonts/noto-sans-gurmukhi-gurmukhi-700-normal.woff2") + LATIN_FONTS,
    "ur": ("fonts/noto-naskh-arabic-arabic-400-normal.woff2",
           "fonts/noto-naskh-arabic-arabic-700-normal.woff2") + LATIN_FONTS,
}
# How long "Do you need more time?" waits for a tap before a page clears itself (WCAG 2.2.1 asks for 20 s).
MORE_TIME_SECONDS = 20


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


def recognise_tablet():
    """Which tablet this is: an enrolled tablet's cookie holds a random token, never its name.

    A name in the address (?tablet=NAME) is ignored: anyone could type one.
    """
    try:
        g.tablet = tablets.tablet_for_token(get_db(), request.cookies.get(TABLET_COOKIE))
    except Exception:  # never let a tablet's cookie stop a child from reaching the page
        g.tablet = None
    g.new_tablet_token = None
    try:
        g.age_group = tablets.age_group(get_db(), g.tablet)
    except Exception:  # the words for younger children are the safe default
        g.age_group = tablets.DEFAULT_AGE_GROUP


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


def kiosk_context():
    try:
        idle = tablets.idle_seconds(get_db())
    except Exception:  # an error page must still render when the database cannot be read
        idle = tablets.DEFAULT_IDLE_SECONDS
    return {"tablet_name": g.get("tablet"), "idle_seconds": idle, "languages": LANGUAGES,
            "age_group": g.get("age_group", tablets.DEFAULT_AGE_GROUP), "more_time_seconds": MORE_TIME_SECONDS,
            "page_fonts": PAGE_FONTS.get(str(get_locale()), LATIN_FONTS)}


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


def name_choices(pupils) -> list[dict]:
    """What each name tile shows and carries: the name, and an opaque token (never the roster id or UPN)."""
    keys = get_pupil_keys()
    tokens = roster.choice_tokens(get_db(), keys, [keys.pupil_ref(p.pupil_id) for p in pupils])
    return [{"token": tokens[keys.pupil_ref(p.pupil_id)], "pupil": p, "display_name": p.display_name}
            for p in pupils]


def class_chooser(form, class_name):
    """Return what the 'who are you?' part of a form needs: every class, the chosen one and its pupils."""
    db = get_db()
    classes = roster.class_names(db)
    if class_name and class_name not in classes:
        form.form_errors.append(_("We could not find that class. Please choose yours from the list."))
        class_name = None
    pupils = roster.pupils_in_class(db, get_pupil_keys(), class_name) if class_name else []
    return {"classes": classes, "class_name": class_name, "pupils": name_choices(pupils)}


def find_chosen_pupil(token):
    """The pupil whose name tile was chosen, or None."""
    return roster.pupil_by_choice(get_db(), get_pupil_keys(), token)


# The worry, one question at a time. Each step is its own page; what was chosen on the others travels
# with it in hidden fields (never in the address), so Back and Next lose nothing and no JavaScript is needed.
STEPS = ("feeling", "topic", "place", "talk_to", "words", "name", "code", "send")
STEP_FIELDS = {"feeling": ("feeling",), "topic": ("topic",), "place": ("place",), "talk_to": ("talk_to",),
               "words": ("text", "drawing"), "name": ("pupil",),
               "code": ("first_animal", "second_animal", "third_animal"), "send": ()}
CARRIED = tuple(name for step in STEPS for name in STEP_FIELDS[step])


def _prepare(form):
    if form.submission_id.errors:
        # A hidden field cannot show its error, and sending the same bad id again would fail again.
        form.form_errors.extend(form.submission_id.errors)
        form.submission_id.data = None
    if not form.submission_id.data:
        form.submission_id.data = secrets.token_urlsafe(18)


def _render_urgent_form(form, status=200, class_name=None):
    _prepare(form)
    return render_template("kiosk/urgent.html", form=form, places=PLACES, **class_chooser(form, class_name)), status


def _render_step(form, step, class_name=None, status=200):
    _prepare(form)
    number = STEPS.index(step)
    chosen = [field.data for field in form.animal_fields]
    return render_template(
        "kiosk/worry.html", form=form, step=step, number=number + 1, total=len(STEPS),
        first=number == 0, last=step == STEPS[-1], carried=[form[name] for name in CARRIED
                                                               if name not in STEP_FIELDS[step]],
        feelings=FEELINGS, topics=TOPICS, places=PLACES, talk_to=TALK_TO,
        chosen_animals=[animal for animal in chosen if animal], code_unfinished=any(chosen) and not all(chosen),
        chosen_pupil=find_chosen_pupil(form.pupil.data) if form.pupil.data else None,
        **class_chooser(form, class_name),
    ), status


def _step_with_a_problem(form):
    for step in STEPS:
        if any(form[name].errors for name in STEP_FIELDS[step]):
            return step
    return None


@bp.get("/worry")
def worry_form():
    form = WorryForm(formdata=None)
    class_name = request.args.get("class") or None
    # ?class=NAME opens the "your name" step with that class's names (the web interface other tools use).
    return _render_step(form, "name" if class_name else STEPS[0], class_name)


@bp.get("/help")
def help_now():
    form = WorryForm(formdata=None)
    form.urgent.data = "y"
    return _render_urgent_form(form, class_name=request.args.get("class") or None)


def _set_picture_code(form, animals):
    for field, animal in zip(form.animal_fields, list(animals) + [None] * 3):
        field.data = animal


@bp.post("/worry")
def post_worry():
    form = WorryForm()
    urgent = form.urgent.data == "y"
    class_name = request.form.get("class") or None
    step = request.form.get("step") if request.form.get("step") in STEPS else None
    go = request.form.get("go")
    if "show_class" in request.form:
        # Choosing a class only shows its names; nothing is posted and nothing typed is lost.
        form.pupil.data = None
        if urgent:
            return _render_urgent_form(form, class_name=request.form["show_class"] or None)
        return _render_step(form, "name", request.form["show_class"] or None)
    if not urgent and step:
        chosen = [field.data for field in form.animal_fields if field.data in ANIMALS]
        if "add_animal" in request.form:
            # Each tap on an animal adds it to the code; a fourth tap does nothing.
            if request.form["add_animal"] in ANIMALS and len(chosen) < CODE_LENGTH:
                chosen.append(request.form["add_animal"])
            _set_picture_code(form, chosen)
            return _render_step(form, "code", class_name)
        if go in ("restart_code", "no_code"):
            _set_picture_code(form, ())
            return _render_step(form, "code" if go == "restart_code" else STEPS[STEPS.index("code") + 1], class_name)
        if go in ("next", "back"):
            return _move(form, step, go, class_name)
    return _send(form, urgent, class_name, step)


def _move(form, step, go, class_name):
    """Go one step on or back, after checking only what is on this step: nothing else can stop a child."""
    form.validate()
    form.form_errors = []  # "tell us a little first" and an expired page matter only when sending
    if any(form[name].errors for name in STEP_FIELDS[step]):
        return _render_step(form, step, class_name, 422)
    if step == "name" and form.pupil.data and find_chosen_pupil(form.pupil.data) is None:
        form.pupil.errors = [_("We could not find that name. Please choose it again, or leave your name off.")]
        return _render_step(form, step, class_name, 422)
    number = STEPS.index(step) + (1 if go == "next" else -1)
    return _render_step(form, STEPS[max(0, min(number, len(STEPS) - 1))], class_name)


def _send(form, urgent, class_name, step):
    """Post the worry: from "Send now" on any step, or with every field in one request."""
    # Translated only if it is shown: most posts are fine, and translating costs a twentieth of a post.
    button = _l("Get help now") if urgent else _l("Send my worry")
    status = form_problem(form, _l("This page was open for a long time, so we refreshed it. "
                                   "Your worry is still here: please press “%(button)s” again.", button=button))

    def again(status, where=None):
        if urgent:
            return _render_urgent_form(form, status, class_name)
        return _render_step(form, where or step or STEPS[0], class_name, status)

    if status:
        # An expired page or a spoilt send: show the last step, whose button the message names.
        return again(status, "send" if status == 400 or form.submission_id.errors else _step_with_a_problem(form))
    keys = get_pupil_keys()
    db = get_db()
    pupil = None
    if form.pupil.data:
        pupil = find_chosen_pupil(form.pupil.data)
        if pupil is None:
            form.pupil.errors = [_("We could not find that name. Please choose it again, or leave your name off.")]
            return again(422, "name")
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
        # Half a picture code never stops a worry: it is sent without one, and the thank-you page says so.
        code_hash=keys.picture_code_hash(form.picture_code) if form.picture_code else None,
    )
    source = throttle.tablet_ref(keys, g.tablet, request.remote_addr)
    # One transaction (one wait for the disk): the worry, its visit and escalation, and where it came from.
    with write_transaction(db):
        worry_id, is_new = worries.post_worry(db, recipients, new_worry, where=g.tablet or "the kiosk")
        if is_new:
            # A flood of posts from one tablet is kept but marked, so real worries stay on top of the queue.
            throttle.mark_if_flood(db, worry_id, source)
    session["thanks"] = {"urgent": urgent, "named": pupil is not None, "readers": readers,
                         "code": bool(form.picture_code),
                         "code_unfinished": any(f.data for f in form.animal_fields) and not form.picture_code}
    return redirect(url_for("kiosk.thanks"), 303)


@bp.get("/thanks")
def thanks():
    return render_template("kiosk/thanks.html", **session.pop("thanks", {"urgent": False, "named": False}))

