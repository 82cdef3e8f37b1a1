"""The governors' report: numbers only, for a fixed half-term, term or school year, as a page with charts and as CSV."""

from flask import Blueprint, Response, g, render_template, request
from markupsafe import Markup

from worrybox import periods, report
from worrybox.audit import audit
from worrybox_web import get_db, school_today

from .auth import allowed

bp = Blueprint("reports", __name__)

ONLY_FIXED_PERIODS = ("A report covers a half-term, a term or a school year, chosen from the list: never other dates, "
                      "so that small numbers cannot be worked out by comparing one range with another.")
UNKNOWN_PERIOD = "That period is not one a report can cover. Choose one from the list."


def _period():
    """The fixed period asked for (this half-term when none is), or (None, a kind message) when it is refused."""
    if "start" in request.args or "end" in request.args:
        return None, ONLY_FIXED_PERIODS
    key = request.args.get("period", "")
    if not key:
        return periods.containing(school_today(), "half-term"), None
    period = periods.period_by_key(key)
    if period is None or period not in periods.choices(school_today()):
        return None, UNKNOWN_PERIOD
    return period, None


@bp.get("/report")
@allowed("read_the_governors_report")
def governor_report():
    period, refused = _period()
    choices = periods.choices(school_today())
    if refused:
        return render_template("console/report.html", report=None, choices=choices, message=refused), 400
    result = report.governor_report(get_db(), period)
    charts = {section.key: Markup(report.bar_chart_svg(section.title, [(row.label, row.count) for row in section.rows]))
              for section in result.sections}
    weeks_chart = Markup(report.bar_chart_svg("Worries by week", [
        ("w/c %s" % monday.strftime("%-d %b"), count) for monday, count in result.weeks]))
    return render_template("console/report.html", report=result, charts=charts, weeks_chart=weeks_chart,
                           choices=choices, message=None, shown=report.shown)


@bp.get("/report.csv")
@allowed("read_the_governors_report")
def governor_report_csv():
    period, refused = _period()
    if refused:
        return Response(refused + "\n", status=400, mimetype="text/plain")
    audit(get_db(), "export", staff_id=g.staff.id, detail="governor report %s (numbers only)" % period.key)
    body = report.report_csv(report.governor_report(get_db(), period))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=worrybox-report-%s.csv" % period.key})
