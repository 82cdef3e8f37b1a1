"""Who booked a chat with the mediators this week and next, and how each chat went (never what was said)."""

from datetime import timedelta

from flask import Blueprint, render_template

from worrybox import mediators
from worrybox.choices import TOPICS, label
from worrybox_web import get_db, school_today

from .auth import allowed
from .common import NOT_ON_ROSTER, pupils_by_ref

bp = Blueprint("bookings", __name__)


@bp.get("/bookings")
@allowed("run_the_mediators")
def bookings():
    db, today = get_db(), school_today()
    monday = today - timedelta(days=today.weekday())
    weeks = []
    for title, start in (("This week", monday), ("Next week", monday + timedelta(days=7))):
        rows = mediators.bookings_between(db, start, start + timedelta(days=6))
        names = pupils_by_ref(row["pupil_ref"] for row in rows)
        for row in rows:
            pupil = names.get(row["pupil_ref"])
            row["child"] = "%s (%s)" % (pupil.first_name, pupil.class_name) if pupil else NOT_ON_ROSTER
            row["topic_label"] = label(TOPICS, row["topic"])
            row["outcome_label"] = label(mediators.OUTCOMES, row["outcome"])
        weeks.append({"title": title, "start": start, "rows": rows})
    return render_template("console/bookings.html", weeks=weeks)
