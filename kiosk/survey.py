"""The "How safe do you feel?" survey at the kiosk: picture questions, anonymous, once per visit, no JavaScript needed."""

from flask import Blueprint, redirect, render_template, session, url_for
from flask_babel import get_locale, gettext as _

from worrybox import roster, survey
from worrybox_web import form_problem, get_db, school_today

from .forms import SurveyForm

bp = Blueprint("survey", __name__)

ANSWERED = "survey_answered"  # in the visit's session: one response per visit; "Finish" and "Hide" end it


def survey_is_open() -> bool:
    """Whether the start screen offers the survey today."""
    try:
        return survey.window_open_on(get_db(), school_today()) is not None
    except Exception:  # the start screen must still show if this cannot be read
        return False


def survey_context():
    """Whether the start screen offers the survey (a context processor)."""
    return {"survey_is_open": survey_is_open}


def _page(form, status=200):
    return render_template("kiosk/survey.html", form=form, classes=roster.class_names(get_db()),
                           questions=survey.QUESTIONS, answers=survey.ANSWERS), status


@bp.get("/survey")
def answer():
    if session.get(ANSWERED):
        return render_template("kiosk/survey_thanks.html", already=True)
    if not survey_is_open():
        return render_template("kiosk/survey_thanks.html", closed=True)
    return _page(SurveyForm(formdata=None))


@bp.post("/survey")
def send_answers():
    if session.get(ANSWERED):
        return render_template("kiosk/survey_thanks.html", already=True)
    form = SurveyForm()
    classes = roster.class_names(get_db())
    status = form_problem(form, _("That page had expired. Your answers are still here: press Send again."))
    if status:
        return _page(form, status)
    answers = {question: form[question].data or "" for question in survey.QUESTIONS}
    class_name = form.class_name.data if form.class_name.data in classes else None
    stored = survey.record_response(get_db(), school_today(), answers, class_name=class_name, language=str(get_locale()))
    if stored is None:
        return render_template("kiosk/survey_thanks.html", closed=True)
    session[ANSWERED] = True
    return redirect(url_for("survey.thanks"), 303)


@bp.get("/survey/thanks")
def thanks():
    return render_template("kiosk/survey_thanks.html")
