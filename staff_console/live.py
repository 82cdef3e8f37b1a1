"""The live console: a tiny status every open console page asks for every few seconds, and "I'm dealing with it".

Short polling, not server-sent events: the console is one gunicorn process with eight threads, and an
open event stream would hold one thread per open tab for as long as it stays open. A poll is one cheap
query every 3 s per tab, answered in a millisecond or two. It carries counts and ids only, never a name
or a word of a worry.
"""

from flask import Blueprint, g, jsonify, redirect, url_for

from worrybox import escalation, worries
from worrybox.audit import audit
from worrybox.db import write_transaction
from worrybox.clock import now
from worrybox_web import get_db
from worrybox_web.errors import error_page

from .auth import login_required, role_required
from .forms import ButtonForm

bp = Blueprint("live", __name__)

SAFEGUARDING = ("dsl", "deputy")
POLL_SECONDS = 3


def live_counts(db, member, key_ids) -> dict:
    """What a signed-in member of staff's open pages show: counts for the banner and the newest worry they open."""
    counts = {"urgent": 0, "escalations": 0, "latest_escalation": 0}
    if member.role in SAFEGUARDING:
        counts.update(urgent=worries.count_urgent_unopened(db), escalations=escalation.count_open(db),
                      latest_escalation=escalation.latest_id(db))
    counts["latest_worry"] = worries.latest_id_for(db, key_ids)
    return counts


@bp.app_context_processor
def live_context():
    def live_ids():
        # Called from the layout only, so an error page never depends on the database.
        member = g.get("staff")
        if member is None:
            return {"latest_worry": 0, "latest_escalation": 0}
        db = get_db()
        return {"latest_worry": worries.latest_id_for(db, g.keyring.private_keys),
                "latest_escalation": escalation.latest_id(db) if member.role in SAFEGUARDING else 0}
    return {"live_ids": live_ids}


@bp.get("/live")
@login_required
def status():
    """The live status as JSON: counts and ids only, never stored in a cache (every response is no-store)."""
    return jsonify(poll_seconds=POLL_SECONDS, **live_counts(get_db(), g.staff, g.keyring.private_keys))


@bp.post("/escalations/<int(max=9223372036854775807):escalation_id>/dealing")
@role_required(*SAFEGUARDING)
def dealing_with_it(escalation_id):
    """"I'm dealing with it": acknowledge an escalation for everyone at once, with who and when."""
    if not ButtonForm().validate():
        return error_page(400, "That page had expired, so nothing was changed. Press the button again.")
    db = get_db()
    with write_transaction(db):
        if not escalation.acknowledge(db, escalation_id, g.staff.id, "I'm dealing with it", now()):
            return error_page(409, "Someone has already acknowledged that, or it no longer exists. Nothing was changed.")
        audit(db, "escalation_acknowledged", staff_id=g.staff.id, detail="escalation %d: dealing with it" % escalation_id)
    return redirect(url_for("pals.escalations"), 303)
