"""Escalations (urgent worries, chats passed to an adult, children who keep coming back) and the alert banner."""

from flask import Blueprint, g, render_template, url_for

from worrybox import casework, clock, escalation, worries
from worrybox.recipients import NoRecipients, worry_recipients
from worrybox_web import get_db

from .auth import allowed
from .common import BUTTON_EXPIRED, ID, NOT_ON_ROSTER, Refused, pupils_by_ref, save
from .forms import AcknowledgeForm, ButtonForm
from .permissions import may

bp = Blueprint("escalations", __name__)

ALREADY_DONE = "That escalation was already acknowledged, or no longer exists. Nothing was changed."
NO_TEAM_KEY = "The note cannot be sealed because the school has no safeguarding team key. Nothing was changed."


def alert_banner():
    """Give the layout banner_counts(): open escalations and unopened urgent worries, for those who act on them."""
    def banner_counts():
        # Called from the layout only, so an error page never depends on the database.
        member = g.get("staff")
        if member is None or not may(member.role, "see_alerts"):
            return None
        db = get_db()
        return {"escalations": escalation.count_open(db), "urgent": worries.count_urgent_unopened(db)}
    return {"banner_counts": banner_counts}


def _render(ack_forms=None, notice=None, status=200):
    db = get_db()
    open_rows = escalation.open_escalations(db)
    done_rows = escalation.acknowledged_escalations(db, limit=20)
    names = pupils_by_ref(row["pupil_ref"] for row in open_rows + done_rows if row["pupil_ref"])
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
@allowed("act_on_escalations")
def escalations():
    return _render()


@bp.post("/escalations/<%s:escalation_id>/acknowledge" % ID)
@allowed("act_on_escalations")
def acknowledge(escalation_id):
    form = AcknowledgeForm(prefix="esc%d" % escalation_id)

    def change(db):
        # Audited by casework, which seals the note.
        try:
            casework.acknowledge_escalation(db, escalation_id, g.keyring, form.note.data, worry_recipients(db))
        except LookupError:
            raise Refused(lambda: _render(notice=ALREADY_DONE, status=409))
        except NoRecipients:
            raise Refused(lambda: _render(ack_forms={escalation_id: form}, status=503, notice=NO_TEAM_KEY))
    return save(form, lambda status: _render(ack_forms={escalation_id: form}, status=status), change,
                url_for("escalations.escalations"), "Escalation acknowledged and your note kept.")


@bp.post("/escalations/<%s:escalation_id>/dealing" % ID)
@allowed("act_on_escalations")
def dealing_with_it(escalation_id):
    """"I'm dealing with it": acknowledge an escalation for everyone at once (the banner, the on-call chain)."""

    def change(db):
        if not escalation.acknowledge(db, escalation_id, g.staff.id, "I'm dealing with it", clock.now()):
            raise Refused(lambda: _render(notice=ALREADY_DONE, status=409))
        return "escalation %d: dealing with it" % escalation_id
    return save(ButtonForm(), lambda status: _render(notice=BUTTON_EXPIRED, status=status), change,
                url_for("escalations.escalations"), "Everyone can see you are dealing with it.",
                event="escalation_acknowledged")
