"""The audit log page: every sign-in, opening, export, key and settings change — who, when, what."""

from flask import Blueprint, render_template, request

from worrybox_web import get_db

from .auth import allowed

bp = Blueprint("audit_log", __name__)

PAGE_SIZE = 100


@bp.get("/audit")
@allowed("read_the_audit_log")
def audit_page():
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100000 else 1
    event = request.args.get("event", "")
    where, params = ("WHERE a.event = ?", [event]) if event else ("", [])
    rows = get_db().execute(
        "SELECT a.at, s.name, s.email, a.event, a.worry_id, a.detail FROM audit_log a "
        "LEFT JOIN staff s ON s.id = a.staff_id %s ORDER BY a.id DESC LIMIT ? OFFSET ?" % where,
        [*params, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE]).fetchall()
    events = [row[0] for row in get_db().execute("SELECT DISTINCT event FROM audit_log ORDER BY event")]
    return render_template("console/audit.html", rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE, page=page,
                           events=events, event=event)
