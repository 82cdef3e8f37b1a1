"""Actions to follow up (an owner, a due date) and referrals to other agencies, on a worry's or concern's page."""

from flask import Blueprint, abort, g, render_template, url_for
from wtforms.fields.choices import SelectChoice

from worrybox import followups, staff
from worrybox.casework import NotAllowed
from worrybox_web import get_db, school_today
from worrybox_web.errors import error_page

from .auth import allowed, home_url, login_required
from .forms import ActionForm, ButtonForm, FollowUpForm, OutcomeForm, ReferralForm
from .permissions import may
from .triage import WORRY_URL, _open_or_abort, _render_worry
from .common import ID, WORRY_BUTTON_EXPIRED, Refused, save

bp = Blueprint("actions", __name__)


def owner_choices():
    """Everyone who can be given an action: current staff, by role then name (not school IT)."""
    return [SelectChoice(str(member.id), "%s (%s)" % (member.name, member.role_label))
            for member in staff.list_staff(get_db()) if member.role != "it_admin"]


def forms_for(worry_id, follow_up=None, referral=None, outcome=None):
    """What the worry page needs to show and offer about actions and referrals."""
    follow_up = follow_up or FollowUpForm(formdata=None)
    follow_up.owner.choices = owner_choices()
    actions, referrals = followups.for_worry(get_db(), worry_id)
    return {"actions": actions, "referrals": referrals, "today": school_today().isoformat(),
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
        return followups.overdue(get_db(), school_today(), owner_id=owner)

    return {"overdue_actions": overdue_actions, "follow_up_forms": forms_for}


def _again(worry_id, status, **forms):
    opened = _open_or_abort(worry_id)
    return _render_worry(opened, ActionForm(formdata=None, status=opened.status), status,
                         follow_ups=forms_for(worry_id, **forms))


def _on_the_worry(worry_id, form, change, anchor, confirmation, again, expired):
    """Save one of the worry page's action or referral forms: 404 or 403 unless this keyring opens the worry; a
    problem the core finds (someone removed meanwhile) is shown on the form, with what was typed kept."""
    def guarded(db):
        try:
            change(db)
        except LookupError:
            abort(404)
        except NotAllowed:
            abort(403)
        except ValueError as problem:
            form.form_errors.append(str(problem))
            raise Refused(lambda: _again(worry_id, 422, **{again: form}))
    return save(form, lambda status: _again(worry_id, status, **{again: form}), guarded,
                url_for("triage.worry", worry_id=worry_id, _anchor=anchor), confirmation, expired=expired)


@bp.post(WORRY_URL + "/actions")
@login_required
def add_follow_up(worry_id):
    form = FollowUpForm()
    form.today = school_today()
    form.owner.choices = owner_choices()
    return _on_the_worry(worry_id, form, lambda db: followups.add_follow_up(
        db, worry_id, g.keyring, int(form.owner.data), form.due_on.data, form.what.data), "follow-up",
        "Action added.", "follow_up", "That page had expired. What you wrote is still here: press Add again.")


@bp.post("/actions/<%s:follow_up_id>/done" % ID)
@login_required
def mark_done(follow_up_id):
    def change(db):
        if not followups.mark_done(db, follow_up_id, g.staff.id,
                                   may_close_any=may(g.staff.role, "see_children_to_watch")):
            abort(403)
    return save(ButtonForm(), lambda status: error_page(status, WORRY_BUTTON_EXPIRED), change, home_url(g.staff),
                "Action marked done.")


@bp.post(WORRY_URL + "/referrals")
@allowed("record_a_referral")
def add_referral(worry_id):
    form = ReferralForm()
    form.today = school_today()
    return _on_the_worry(worry_id, form, lambda db: followups.add_referral(
        db, worry_id, g.keyring, form.agency.data, form.referred_on.data, form.reference.data or ""), "referrals",
        "Referral recorded.", "referral", "That page had expired. What you wrote is still here: press Record again.")


@bp.post("/referrals/<%s:referral_id>/outcome" % ID)
@allowed("record_a_referral")
def record_outcome(referral_id):
    row = get_db().execute("SELECT worry_id FROM referrals WHERE id = ?", [referral_id]).fetchone()
    if row is None or row[0] is None:
        abort(404)
    form = OutcomeForm()
    return _on_the_worry(row[0], form, lambda db: followups.record_outcome(
        db, referral_id, g.keyring, form.outcome.data), "referrals", "Outcome saved.", "outcome",
        "That page had expired. What you wrote is still here: press Save again.")


@bp.get("/actions")
@login_required
def my_actions():
    """The signed-in member of staff's actions still to do (everyone's, for the safeguarding team), with what to do."""
    everyone = may(g.staff.role, "see_children_to_watch")
    items = followups.open_actions(get_db(), g.keyring, owner_id=None if everyone else g.staff.id)
    return render_template("console/actions.html", items=items, today=school_today().isoformat(), everyone=everyone,
                           button_form=ButtonForm(formdata=None))
