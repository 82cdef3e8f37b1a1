"""The governors' report: numbers only, for any date range, as a page with charts and as CSV."""

from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, Response, g, render_template, request
from markupsafe import Markup

from worrybox import clock, report
from worrybox.audit import audit
from worrybox_web import get_db

from .auth import allowed

bp = Blueprint("reports", __name__)

DEFAULT_WEEKS = 12


def _period():
    """The dates asked for, or the last twelve weeks; with a kind message for dates that make no sense."""
    today = clock.school_time(get_db(), datetime.now(timezone.utc)).date()
    start_text, end_text = request.args.get("start", ""), request.args.get("end", "")
    message = None
    try:
        end = date.fromisoformat(end_text) if end_text else today
        start = date.fromisoformat(start_text) if start_text else end - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1)
    except ValueError:
        message = "Those dates could not be read. Showing the last %d weeks instead." % DEFAULT_WEEKS
        end, start = today, today - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1)
    if start > end:
        message = "The start came after the end, so they were swapped."
        start, end = end, start
    if (end - start).days > 3 * 366:
        message = "A report can cover up to three years; it starts three years before the end date."
        start = end - timedelta(days=3 * 366)
    return start, end, message


@bp.get("/report")
@allowed("read_the_governors_report")
def governor_report():
    start, end, message = _period()
    result = report.governor_report(get_db(), start, end)
    charts = {section.key: Markup(report.bar_chart_svg(section.title, [(row.label, row.count) for row in section.rows]))
              for section in result.sections}
    weeks_chart = Markup(report.bar_chart_svg("Worries by week", [
        ("w/c %s" % monday.strftime("%-d %b"), count) for monday, count in result.weeks]))
    return render_template("console/report.html", report=result, charts=charts, weeks_chart=weeks_chart,
                           message=message, shown=report.shown)


@bp.get("/report.csv")
@allowed("read_the_governors_report")
def governor_report_csv():
    start, end, _message = _period()
    audit(get_db(), "export", staff_id=g.staff.id, detail="governor report %s to %s (numbers only)" % (start, end))
    body = report.report_csv(report.governor_report(get_db(), start, end))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=worrybox-report-%s-to-%s.csv" % (start, end)})
