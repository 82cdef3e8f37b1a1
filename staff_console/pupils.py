"""One child's picture: their chronology across worries, chats and escalations, its export, and the CP mark."""

import re
from datetime import datetime, timezone

from flask import Blueprint, abort, g, render_template, request

from worrybox import casefile, casework
from worrybox.audit import audit
from worrybox_web import get_db, get_pupil_keys

from .auth import allowed
from .common import how_many
from .permissions import may
from .triage import WORRY_URL, worry_button

bp = Blueprint("pupils", __name__)

# A pseudonym (an HMAC of the roster id) in the address: never the child's name.
PUPIL_REF = re.compile(r"[0-9a-f]{64}")

def _case_or_abort(pupil_ref):
    """The child's case file as the signed-in member of staff may see it, opening (and auditing) each worry."""
    if not PUPIL_REF.fullmatch(pupil_ref):
        abort(404)
    whole_picture = may(g.staff.role, "see_a_childs_whole_picture")
    case = casefile.case_file(get_db(), get_pupil_keys(), pupil_ref, g.keyring, whole_picture=whole_picture)
    if not whole_picture and not case.entries:
        # Nothing of this child's was sealed to them: not even the child's name is theirs to see.
        abort(403)
    if case.pupil is None and not case.entries:
        abort(404)
    return case


@bp.get("/pupils/<pupil_ref>")
@allowed("see_a_childs_picture")
def pupil(pupil_ref):
    case = _case_or_abort(pupil_ref)
    return render_template("console/pupil.html", case=case,
                           whole_picture=may(g.staff.role, "see_a_childs_whole_picture"))


@bp.get("/pupils/<pupil_ref>/export")
@allowed("export_a_case")
def export_case(pupil_ref):
    """A printable record of the child's chronology, for their main child-protection file or a new school."""
    case = _case_or_abort(pupil_ref)
    counts = case.counts()
    # The pseudonym, never the name: the audit log holds no content.
    audit(get_db(), "export", staff_id=g.staff.id,
          detail="case file of pupil %s: %s, %s, %s" % (
              pupil_ref, how_many(counts["worry"], "worry", "worries"), how_many(counts["chat"], "chat"),
              how_many(counts["escalation"], "escalation")))
    return render_template("console/case_export.html", case=case, exported_at=datetime.now(timezone.utc).isoformat(),
                           exported_by=g.staff)


@bp.post(WORRY_URL + "/child-protection")
@allowed("mark_child_protection")
def mark_child_protection(worry_id):
    """Mark a worry as a child-protection concern (kept until a DSL decides), or take the mark away."""
    concern = request.form.get("undo") != "y"
    return worry_button(worry_id, lambda db: casework.set_child_protection(db, worry_id, g.keyring, concern=concern),
                        "Marked as a child-protection concern." if concern else "Child-protection mark taken away.")
