"""The worry queue, one worry opened, and what was done about it."""

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from worrybox import casework, worries
from worrybox.choices import FEELINGS, PLACES, STATUSES, TALK_TO, TOPICS, label
from worrybox.web import get_db

from .auth import login_required
from .forms import ActionForm

bp = Blueprint("triage", __name__)

# SQLite's largest integer: a bigger worry number is a page that does not exist, not an OverflowError.
WORRY_URL = "/worries/<int(max=9223372036854775807):worry_id>"


@bp.app_template_filter("choice")
def choice_label(value, kind):
    """Show a stored choice in words: {{ worry.feeling|choice('feeling') }}."""
    return label({"feeling": FEELINGS, "topic": TOPICS, "place": PLACES, "talk_to": TALK_TO,
                  "status": STATUSES}[kind], value)


@bp.get("/")
@login_required
def queue():
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100000 else 1
    show = "closed" if request.args.get("show") == "closed" else "open"
    items, more = worries.queue(get_db(), g.keyring.private_keys, page=page, status=show)
    return render_template("console/queue.html", items=items, page=page, more=more, show=show)


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


def _render_worry(opened, form, status=200):
    entries = casework.chronology(get_db(), opened.id, g.keyring)
    return render_template("console/worry.html", worry=opened, form=form, entries=entries), status


@bp.post(WORRY_URL)
@login_required
def act_on_worry(worry_id):
    form = ActionForm()
    if not form.validate():
        opened = _open_or_abort(worry_id)
        if form.csrf_token.errors:
            form.csrf_token.errors = []
            form.form_errors.append("That page had expired. Your note is still here: press Save again.")
            return _render_worry(opened, form, 400)
        return _render_worry(opened, form, 422)
    try:
        casework.record_action(get_db(), worry_id, g.keyring, status=form.status.data, note=form.note.data or "")
    except LookupError:
        abort(404)
    except casework.NotAllowed:
        abort(403)
    return redirect(url_for("triage.worry", worry_id=worry_id), 303)
