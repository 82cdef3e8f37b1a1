"""The "How safe do you feel?" survey in the console: open it for some days, and read the results in numbers."""

from flask import Blueprint, g, render_template, request, url_for

from worrybox import periods, report, survey
from worrybox.roster import class_names
from worrybox_web import get_db, school_today
from worrybox_web.errors import error_page

from .auth import allowed
from .common import ID, WORRY_BUTTON_EXPIRED, Refused, save
from .forms import ButtonForm, SurveyWindowForm
from .permissions import may

bp = Blueprint("survey", __name__)


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
    today = school_today()
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
    form.today = school_today()

    def change(db):
        try:
            window_id = survey.open_window(db, form.opens_on.data, form.closes_on.data, g.staff.id)
        except ValueError as problem:
            form.closes_on.errors = [str(problem)]
            raise Refused(lambda: _page(form, 422))
        return "survey %d open %s to %s" % (window_id, form.opens_on.data, form.closes_on.data)
    return save(form, lambda status: _page(form, status), change, url_for("survey.survey_page"),
                "The survey is open at the kiosk on those days.", event="settings_changed",
                expired="That page had expired. Your dates are still here: press Open again.")


@bp.post("/survey/windows/<%s:window_id>/close" % ID)
@allowed("open_the_survey")
def close_survey(window_id):
    return save(ButtonForm(), lambda status: error_page(status, WORRY_BUTTON_EXPIRED),
                lambda db: "survey %d closed" % window_id if survey.close_window(db, window_id) else None,
                url_for("survey.survey_page"), "The survey is closed.", event="settings_changed")
