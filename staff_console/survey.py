"""The "How safe do you feel?" survey in the console: open it for some days, and read the results in numbers."""

from datetime import datetime, timezone

from flask import Blueprint, g, redirect, render_template, request, url_for

from worrybox import clock, periods, report, survey
from worrybox.audit import audit
from worrybox.db import write_transaction
from worrybox.roster import class_names
from worrybox_web import form_problem, get_db

from .auth import allowed
from .common import ID, button_expired
from .forms import ButtonForm, SurveyWindowForm
from .permissions import may

bp = Blueprint("survey", __name__)


def _today():
    return clock.school_time(get_db(), datetime.now(timezone.utc)).date()


def _results(term):
    """Whole-school answers this term and last, and each class's, as the report shows numbers (hidden and rounded)."""
    db = get_db()
    before = periods.previous(term)
    school = survey.counts(db, term.start, term.end)
    school_before = survey.counts(db, before.start, before.end)
    rows = []
    for question, (words, _picture) in survey.QUESTIONS.items():
        rows.append({"words": words, "now": {a: report.shown(n) for a, n in school[question].items()},
                     "before": {a: report.shown(n) for a, n in school_before[question].items()},
                     "change": report.Row("", school[question]["yes"], school_before[question]["yes"]).change})
    answered = survey.responses(db, term.start, term.end)
    by_class = []
    for class_name in class_names(db):
        found = survey.counts(db, term.start, term.end, class_name)
        by_class.append({"class_name": class_name, "answered": report.shown(answered.get(class_name, 0)),
                         "yes": [report.shown(found[question]["yes"]) for question in survey.QUESTIONS]})
    return {"rows": rows, "by_class": by_class, "answered": report.shown(sum(answered.values())),
            "answered_before": report.shown(sum(survey.responses(db, before.start, before.end).values())),
            "previous": before}


def _page(form=None, status=200):
    today = _today()
    choices = [p for p in periods.choices(today) if p.kind == "term"]
    term = periods.period_by_key(request.args.get("term", "")) if request.method == "GET" else None
    if term not in choices:
        term = periods.containing(today, "term")
    return render_template(
        "console/survey.html", form=form or SurveyWindowForm(formdata=None), windows=survey.windows(get_db()),
        open_now=survey.window_open_on(get_db(), today), term=term, choices=choices, results=_results(term),
        questions=survey.QUESTIONS, answers=survey.ANSWERS, button_form=ButtonForm(formdata=None),
        may_open=may(g.staff.role, "open_the_survey")), status


@bp.get("/survey")
@allowed("read_the_survey_results")
def survey_page():
    return _page()


@bp.post("/survey/windows")
@allowed("open_the_survey")
def open_survey():
    form = SurveyWindowForm()
    status = form_problem(form, "That page had expired. Your dates are still here: press Open again.")
    if not status and form.closes_on.data < _today():
        form.closes_on.errors = ["That day has passed: choose days to come."]
        status = 422
    if status:
        return _page(form, status)
    db = get_db()
    try:
        with write_transaction(db):
            window_id = survey.open_window(db, form.opens_on.data, form.closes_on.data, g.staff.id)
            audit(db, "setting_changed", staff_id=g.staff.id, detail="survey %d open %s to %s" % (
                window_id, form.opens_on.data, form.closes_on.data))
    except ValueError as problem:
        form.closes_on.errors = [str(problem)]
        return _page(form, 422)
    return redirect(url_for("survey.survey_page"), 303)


@bp.post("/survey/windows/<%s:window_id>/close" % ID)
@allowed("open_the_survey")
def close_survey(window_id):
    if button_expired():
        return _page(status=400)
    db = get_db()
    with write_transaction(db):
        if survey.close_window(db, window_id):
            audit(db, "setting_changed", staff_id=g.staff.id, detail="survey %d closed" % window_id)
    return redirect(url_for("survey.survey_page"), 303)
