"""One child's picture: their chronology across worries, chats and escalations, its export, and the CP mark."""

import re
from datetime import datetime, timezone

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from worrybox import casefile, casework
from worrybox.audit import audit
from worrybox_web import get_db, get_pupil_keys

from .auth import role_required
from .triage import WORRY_URL, refuse_worry_button

bp = Blueprint("pupils", __name__)

SAFEGUARDING = ("dsl", "deputy")
# Everyone who can be sent a child's worry. The coordinator and school IT never are, so they get a 403.
PICTURE_ROLES = ("dsl", "deputy", "head", "teacher")
# A pseudonym (an HMAC of the roster id) in the address: never the child's name.
PUPIL_REF = re.compile(r"[0-9a-f]{64}")

bp.app_template_filter("action_label")(casework.action_label)


def _case_or_abort(pupil_ref):
    """The child's case file as the signed-in member of staff may see it, opening (and auditing) each worry."""
    if not PUPIL_REF.fullmatch(pupil_ref):
        abort(404)
    whole_picture = g.staff.role in SAFEGUARDING
    case = casefile.case_file(get_db(), get_pupil_keys(), pupil_ref, g.keyring, whole_picture=whole_picture)
    if not whole_picture and not case.entries:
        # Nothing of this child's was sealed to them: not even the child's name is theirs to see.
        abort(403)
    if case.pupil is None and not case.entries:
        abort(404)
    return case


@bp.get("/pupils/<pupil_ref>")
@role_required(*PICTURE_ROLES)
def pupil(pupil_ref):
    case = _case_or_abort(pupil_ref)
    return render_template("console/pupil.html", case=case, whole_picture=g.staff.role in SAFEGUARDING)


@bp.get("/pupils/<pupil_ref>/export")
@role_required(*SAFEGUARDING)
def export_case(pupil_ref):
    """A printable record of the child's chronology, for their main child-protection file or a new school."""
    case = _case_or_abort(pupil_ref)
    counts = case.counts()
    # The pseudonym, never the name: the audit log holds no content.
    audit(get_db(), "export", staff_id=g.staff.id,
          detail="case file of pupil %s: %d worries, %d chats, %d escalations" % (
              pupil_ref, counts["worry"], counts["chat"], counts["escalation"]))
    return render_template("console/case_export.html", case=case, exported_at=datetime.now(timezone.utc).isoformat(),
                           exported_by=g.staff)


@bp.post(WORRY_URL + "/child-protection")
@role_required(*SAFEGUARDING)
def mark_child_protection(worry_id):
    """Mark a worry as a child-protection concern (kept until a DSL decides), or take the mark away."""
    refused = refuse_worry_button(worry_id)
    if refused:
        return refused
    casework.set_child_protection(get_db(), worry_id, g.keyring, concern=request.form.get("undo") != "y")
    return redirect(url_for("triage.worry", worry_id=worry_id), 303)
