"""Themes for circle time: a class teacher sees what their class worried about this half-term, as numbers only."""

from flask import Blueprint, g, render_template
from markupsafe import Markup

from worrybox import periods, report
from worrybox_web import get_db, school_today

from .auth import allowed

bp = Blueprint("themes", __name__)


@bp.get("/themes")
@allowed("see_circle_time_themes")
def circle_time():
    db = get_db()
    period = periods.containing(school_today(), "half-term")
    sections = report.class_themes(db, g.staff.class_name, period) if g.staff.class_name else []
    charts = {section.key: Markup(report.bar_chart_svg(section.title, [(row.label, row.count) for row in section.rows]))
              for section in sections}
    return render_template("console/themes.html", sections=sections, charts=charts, period=period,
                           previous=periods.previous(period))
