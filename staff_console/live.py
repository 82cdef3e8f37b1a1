"""The live console: a tiny status every open console page asks for every few seconds (static/console.js).

Short polling, not server-sent events: the console is one gunicorn process with eight threads, and an
open event stream would hold one thread per open tab for as long as it stays open. A poll is one cheap
query every 3 s per tab, answered in a millisecond or two. It carries counts and ids only, never a name
or a word of a worry.
"""

from flask import Blueprint, g, jsonify

from worrybox import escalation, worries
from worrybox_web import get_db

from .auth import allowed
from .permissions import may

bp = Blueprint("live", __name__)

POLL_SECONDS = 3


def live_counts(db, member, key_ids) -> dict:
    """What a signed-in member of staff's open pages show: counts for the banner and the newest worry they open."""
    counts = {"urgent": 0, "escalations": 0, "latest_escalation": 0}
    if may(member.role, "see_alerts"):
        counts.update(urgent=worries.count_urgent_unopened(db), escalations=escalation.count_open(db),
                      latest_escalation=escalation.latest_id(db))
    counts["latest_worry"] = worries.latest_id_for(db, key_ids)
    return counts


def live_context():
    """Give the layout live_ids(): the newest worry and escalation the page was drawn with."""
    def live_ids():
        # Called from the layout only, so an error page never depends on the database.
        member = g.get("staff")
        if member is None:
            return {"latest_worry": 0, "latest_escalation": 0}
        db = get_db()
        return {"latest_worry": worries.latest_id_for(db, g.keyring.private_keys),
                "latest_escalation": escalation.latest_id(db) if may(member.role, "see_alerts") else 0}
    return {"live_ids": live_ids}


@bp.get("/live")
@allowed("use_the_console")
def status():
    """The live status as JSON: counts and ids only, never stored in a cache (every response is no-store)."""
    return jsonify(poll_seconds=POLL_SECONDS, **live_counts(get_db(), g.staff, g.keyring.private_keys))
