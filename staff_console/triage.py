"""The worry queue, one worry opened, and what was done about it."""

from datetime import datetime, timedelta, timezone

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from worrybox import casework, clock, hear_back, throttle, worries
from worrybox.choices import FEELINGS, PLACES, STATUSES, TALK_TO, TOPICS, label
from worrybox.languages import ENGLISH_NAMES, LANGUAGES
from worrybox.staff import ROLES
from worrybox_web import get_db, get_pupil_keys
from worrybox_web.errors import error_page

from .auth import allowed, login_required
from .common import ID, WORRY_BUTTON_EXPIRED, Refused, save
from .forms import ActionForm, ButtonForm, ReplyForm

bp = Blueprint("triage", __name__)

WORRY_URL = "/worries/<%s:worry_id>" % ID
NOTE_EXPIRED = "That page had expired. Your note is still here: press Save again."
REPLY_EXPIRED = "That page had expired. Your reply is still here: press Send again."
# The queue counts pranks over this many days.
PRANK_DAYS = 30


def choice_label(value, kind):
    """Show a stored choice in words: {{ worry.feeling|choice('feeling') }}."""
    return label({"feeling": FEELINGS, "topic": TOPICS, "place": PLACES, "talk_to": TALK_TO,
                  "status": STATUSES}[kind], value)


def role_label(role):
    """A role in words: 'Class teacher'."""
    return ROLES.get(role, role or "member of staff")


def language_name(code):
    """A language as staff read it: 'اردو (Urdu)'."""
    name = LANGUAGES.get(code, (code, "ltr"))[0]
    english = ENGLISH_NAMES.get(code)
    return name if not english or english == name else "%s (%s)" % (name, english)


@bp.get("/")
@login_required
def queue():
    if g.staff.role == "staff":  # they read nothing: their first page is the concern form
        return redirect(url_for("concerns.log_concern"))
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100000 else 1
    show = "closed" if request.args.get("show") == "closed" else "open"
    db = get_db()
    items, more = worries.queue(db, g.keyring.private_keys, page=page, status=show)
    now = datetime.now(timezone.utc)
    pranks = throttle.prank_counts(db, now - timedelta(days=PRANK_DAYS))
    zone = clock.school_time(db, now).tzinfo
    for item in items:
        item["overdue"] = worries.is_overdue(item, now, zone)
    monday = clock.school_time(db, now).date() - timedelta(days=clock.school_time(db, now).weekday())
    week_start = datetime.combine(monday, datetime.min.time(), zone)
    median = worries.median_minutes_to_first_read(db, week_start)
    return render_template("console/queue.html", items=items, page=page, more=more, show=show, pranks=pranks,
                           prank_days=PRANK_DAYS, median_minutes=median)


def _open_or_abort(worry_id):
    db = get_db()
    try:
        return casework.read_worry(db, worry_id, g.keyring)
    except LookupError:
        abort(404)
    except casework.NotAllowed:
        abort(403)


@bp.get(WORRY_URL)
@login_required
def worry(worry_id):
    opened = _open_or_abort(worry_id)
    form = ActionForm(formdata=None, status=opened.status)
    return _render_worry(opened, form)


def _render_worry(opened, form, status=200, reply_form=None, follow_ups=None):
    entries = casework.chronology(get_db(), opened.id, g.keyring)
    return render_template("console/worry.html", worry=opened, form=form, entries=entries, follow_ups=follow_ups,
                           marks=throttle.marks(get_db(), opened.id), mark_form=ButtonForm(formdata=None),
                           reply=_reply_section(opened.id, reply_form)), status


def _change_worry(change):
    """Run a change to a worry (the core audits it): 404 or 403 if it is missing or this keyring cannot open it."""
    try:
        change()
    except LookupError:
        abort(404)
    except casework.NotAllowed:
        abort(403)


@bp.post(WORRY_URL)
@login_required
def act_on_worry(worry_id):
    form = ActionForm()
    return save(form, lambda status: _render_worry(_open_or_abort(worry_id), form, status),
                lambda db: _change_worry(lambda: casework.record_action(
                    db, worry_id, g.keyring, status=form.status.data, note=form.note.data or "")),
                url_for("triage.worry", worry_id=worry_id), "Saved.", expired=NOTE_EXPIRED)


def worry_button(worry_id, change, confirmation):
    """A one-button change to a worry: 404 or 403 unless this keyring opens it, a kind 400 if the page expired;
    otherwise change(db) (which audits), and back to the worry with a confirmation."""
    try:
        may_open = casework.can_open(get_db(), worry_id, g.keyring)
    except LookupError:
        abort(404)
    if not may_open:
        abort(403)
    return save(ButtonForm(), lambda status: error_page(status, WORRY_BUTTON_EXPIRED), change,
                url_for("triage.worry", worry_id=worry_id), confirmation)


@bp.post(WORRY_URL + "/not-real")
@login_required
def mark_not_real(worry_id):
    """Mark a worry "not a real worry" (a prank), or undo that; only staff whose key opens it may."""
    not_real = request.form.get("undo") != "y"
    return worry_button(worry_id, lambda db: throttle.mark_not_real(db, worry_id, g.staff.id, not_real=not_real),
                        "Marked as not a real worry." if not_real else "Marked as a real worry again.")


@bp.post(WORRY_URL + "/confirm")
@allowed("confirm_a_review")
def confirm_review(worry_id):
    """A DSL or deputy confirms that a worry a teacher or head closed (or marked not real) is closed (or not real)."""
    return worry_button(worry_id, lambda db: casework.confirm_review(db, worry_id, g.keyring),
                        "Confirmed by the safeguarding team.")


# Replying to the child, who sees it at the kiosk -------------------------------------------------


def _reply_section(worry_id, reply_form=None):
    """What the worry page needs to offer a reply: how the child can check, what they see now, the form."""
    db = get_db()
    return {"ways": hear_back.ways_to_check(db, worry_id),
            "seen": hear_back.as_the_child_sees_it(db, get_pupil_keys(), worry_id),
            "status_words": hear_back.STATUS_WORDS, "kind_phrases": hear_back.KIND_PHRASES,
            "form": reply_form or ReplyForm(formdata=None)}


@bp.post(WORRY_URL + "/reply")
@login_required
def reply_to_child(worry_id):
    form = ReplyForm()

    def show_again(status):
        opened = _open_or_abort(worry_id)
        return _render_worry(opened, ActionForm(formdata=None, status=opened.status), status, reply_form=form)

    def cannot_hear_back():
        form.form_errors.append("This child did not choose a picture code, so a reply cannot reach them.")
        return show_again(409)

    def change(db):
        try:
            _change_worry(lambda: casework.send_reply(
                db, worry_id, g.keyring, get_pupil_keys(), phrase=form.phrase.data or None,
                words=form.words.data or "", find_child_today=form.find_child_today.data))
        except casework.CannotHearBack:
            raise Refused(cannot_hear_back)
    return save(form, show_again, change, url_for("triage.worry", worry_id=worry_id, _anchor="reply"),
                "Reply sent. The child sees it at the kiosk.", expired=REPLY_EXPIRED)
