"""Actions to follow up (an owner, a due date) and referrals to other agencies, on a worry's or concern's page."""

from datetime import datetime, timezone

from flask import Blueprint, abort, g, redirect, render_template, url_for
from wtforms.fields.choices import SelectChoice

from worrybox import clock, followups, staff
from worrybox.casework import NotAllowed
from worrybox_web import form_problem, get_db
from worrybox_web.errors import error_page

from .auth import allowed, home_url, login_required
from .forms import ActionForm, ButtonForm, FollowUpForm, OutcomeForm, ReferralForm
from .permissions import may
from .triage import WORRY_URL, _open_or_abort, _render_worry
from .common import ID, WORRY_BUTTON_EXPIRED, button_expired

bp = Blueprint("actions", __name__)



def today():
    return clock.school_time(get_db(), datetime.now(timezone.utc)).date()


def owner_choices():
    """Everyone who can be given an action: current staff, by role then name (not school IT)."""
    return [SelectChoice(str(member.id), "%s (%s)" % (member.name, member.role_label))
            for member in staff.list_staff(get_db()) if member.role != "it_admin"]


def forms_for(worry_id, follow_up=None, referral=None, outcome=None):
    """What the worry page needs to show and offer about actions and referrals."""
    follow_up = follow_up or FollowUpForm(formdata=None)
    follow_up.owner.choices = owner_choices()
    actions, referrals = followups.for_worry(get_db(), worry_id)
    return {"actions": actions, "referrals": referrals, "today": today().isoformat(),
            "follow_up_form": follow_up, "referral_form": referral or ReferralForm(formdata=None),
            "outcome_form": outcome or OutcomeForm(formdata=None), "agencies": followups.AGENCIES,
            "button_form": ButtonForm(formdata=None)}


def follow_up_context():
    """Overdue actions for the banner, and the worry page's action and referral forms (a context processor)."""
    def overdue_actions():
        """Overdue actions for the signed-in member of staff: their own, and everyone's for the safeguarding team."""
        member = g.get("staff")
        if member is None:
            return []
        owner = None if may(member.role, "see_children_to_watch") else member.id
        return followups.overdue(get_db(), today(), owner_id=owner)

    return {"overdue_actions": overdue_actions, "follow_up_forms": forms_for}


def _again(worry_id, status, **forms):
    opened = _open_or_abort(worry_id)
    return _render_worry(opened, ActionForm(formdata=None, status=opened.status), status,
                         follow_ups=forms_for(worry_id, **forms))


@bp.post(WORRY_URL + "/actions")
@login_required
def add_follow_up(worry_id):
    form = FollowUpForm()
    form.owner.choices = owner_choices()
    status = form_problem(form, "That page had expired. What you wrote is still here: press Add again.")
    if not status and form.owner.data not in {choice.value for choice in form.owner.choices}:
        form.owner.errors = ["Choose who will do it."]
        status = 422
    if not status and form.due_on.data < today():
        form.due_on.errors = ["That day has passed: choose today or a day to come."]
        status = 422
    if status:
        return _again(worry_id, status, follow_up=form)
    try:
        followups.add_follow_up(get_db(), worry_id, g.keyring, int(form.owner.data), form.due_on.data, form.what.data)
    except LookupError:
        abort(404)
    except NotAllowed:
        abort(403)
    return redirect(url_for("triage.worry", worry_id=worry_id, _anchor="follow-up"), 303)


@bp.post("/actions/<%s:follow_up_id>/done" % ID)
@login_required
def mark_done(follow_up_id):
    if button_expired():
        return error_page(400, WORRY_BUTTON_EXPIRED)
    if not followups.mark_done(get_db(), follow_up_id, g.staff.id,
                               may_close_any=may(g.staff.role, "see_children_to_watch")):
        abort(403)
    return redirect(home_url(g.staff), 303)


@bp.post(WORRY_URL + "/referrals")
@allowed("record_a_referral")
def add_referral(worry_id):
    form = ReferralForm()
    status = form_problem(form, "That page had expired. What you wrote is still here: press Record again.")
    if not status and form.referred_on.data > today():
        form.referred_on.errors = ["That day has not come yet: choose the day the referral was made."]
        status = 422
    if status:
        return _again(worry_id, status, referral=form)
    try:
        followups.add_referral(get_db(), worry_id, g.keyring, form.agency.data, form.referred_on.data,
                               form.reference.data or "")
    except LookupError:
        abort(404)
    except NotAllowed:
        abort(403)
    return redirect(url_for("triage.worry", worry_id=worry_id, _anchor="referrals"), 303)


@bp.post("/referrals/<%s:referral_id>/outcome" % ID)
@allowed("record_a_referral")
def record_outcome(referral_id):
    row = get_db().execute("SELECT worry_id FROM referrals WHERE id = ?", [referral_id]).fetchone()
    if row is None or row[0] is None:
        abort(404)
    form = OutcomeForm()
    status = form_problem(form, "That page had expired. What you wrote is still here: press Save again.")
    if status:
        return _again(row[0], status, outcome=form)
    try:
        followups.record_outcome(get_db(), referral_id, g.keyring, form.outcome.data)
    except NotAllowed:
        abort(403)
    return redirect(url_for("triage.worry", worry_id=row[0], _anchor="referrals"), 303)


@bp.get("/actions")
@login_required
def my_actions():
    """The signed-in member of staff's actions still to do (everyone's, for the safeguarding team), with what to do."""
    everyone = may(g.staff.role, "see_children_to_watch")
    items = followups.open_actions(get_db(), g.keyring, owner_id=None if everyone else g.staff.id)
    return render_template("console/actions.html", items=items, today=today().isoformat(), everyone=everyone,
                           button_form=ButtonForm(formdata=None))
