"""Log a concern about a child: any member of staff, from a phone, in under a minute; sealed to the team key only."""

from flask import Blueprint, g, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from worrybox import concerns, roster
from worrybox.recipients import NoRecipients
from worrybox_web import get_db, get_pupil_keys, school_now

from .auth import allowed
from .common import Refused, save
from .forms import ConcernForm

bp = Blueprint("concerns", __name__)

NO_MATCH = "No child on the roster matches that. Try part of their first name, or their class (like 4B)."


def concern_category(value):
    """Show a concern's category in words (a template filter)."""
    return concerns.CATEGORIES.get(value, value or "—")


def _matches(form):
    """The children to choose from: those the search found, and the one already chosen if it is not among them."""
    db, keys = get_db(), get_pupil_keys()
    found = concerns.search_pupils(db, keys, form.find.data or "")
    chosen = None
    ref = form.pupil.data or ""
    if len(ref) == 64 and all(ch in "0123456789abcdef" for ch in ref):
        pupil = roster.pupil_by_ref(db, keys, ref)
        if pupil is not None:
            chosen = (ref, pupil)
            if all(found_ref != ref for found_ref, _ in found):
                found.insert(0, chosen)
    form.pupil.choices = [SelectChoice(ref, "%s (%s)" % (pupil.display_name, pupil.class_name)) for ref, pupil in found]
    return found, chosen


def _page(form, found, status=200, searched=False):
    return render_template("console/concern.html", form=form, found=found, searched=searched), status


@bp.route("/concern", methods=["GET", "POST"])
@allowed("log_a_concern")
def log_concern():
    if request.method == "GET":
        form = ConcernForm(formdata=None, happened_at=school_now().replace(tzinfo=None, second=0, microsecond=0))
        return _page(form, [])
    form = ConcernForm()
    found, chosen = _matches(form)
    if request.form.get("action") == "find":
        # Only a search: nothing is stored, and everything typed comes back as it was.
        if form.find.data and not found:
            form.find.errors = [NO_MATCH]
        return _page(form, found, searched=True)
    form.chosen, form.now = chosen, school_now()

    def change(db):
        ref, pupil = chosen
        try:
            concerns.log_concern(db, g.staff.id, concerns.NewConcern(
                pupil, ref, form.text.data, form.category.data, form.place.data or None, form.happened))
        except NoRecipients:
            form.form_errors.append("Concerns cannot be sealed right now, so nothing was sent; what you wrote is "
                                    "still here. Tell the safeguarding lead in person, and ask school IT to run "
                                    "'worrybox check'.")
            raise Refused(lambda: _page(form, found, 503))
    # The page it goes to says it was sent: no confirmation on top of it.
    return save(form, lambda status: _page(form, found, status), change, url_for("concerns.concern_sent"), None,
                expired="That page had expired. What you wrote is still here: press Send again.")


@bp.get("/concern/sent")
@allowed("log_a_concern")
def concern_sent():
    return render_template("console/concern_sent.html")
