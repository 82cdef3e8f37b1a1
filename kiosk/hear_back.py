"""Did someone read my worry? A child checks with their picture code or their name and sees only the answer."""

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _

from worrybox import hear_back, throttle
from worrybox_web import form_problem, get_db, get_pupil_keys

from .forms import NameCheckForm, PictureCodeForm
from .views import class_chooser, find_chosen_pupil

bp = Blueprint("hear_back", __name__)


def picture_code_choices():
    return {"animals": hear_back.ANIMALS}


def _tablet_ref():
    # Wrong tries are counted per tablet: its name if staff named it, else its address.
    return throttle.tablet_ref(get_pupil_keys(), g.get("tablet"), request.remote_addr)


def _paused():
    return render_template("kiosk/heard.html", paused=True), 429


def _answer(answer: hear_back.HeardBack):
    return render_template("kiosk/heard_answer.html", answer=answer, status_words=hear_back.STATUS_WORDS,
                           kind_phrases=hear_back.KIND_PHRASES)


@bp.get("/heard")
def choose_how():
    return render_template("kiosk/heard.html", paused=False)


# With the animals chosen when posting -----------------------------------------------------------


@bp.get("/heard/animals")
def animals_form():
    return _render_animals(PictureCodeForm(formdata=None))


def _render_animals(form, status=200):
    chosen = [field.data for field in form.animal_fields if field.data in hear_back.ANIMALS]
    return render_template("kiosk/heard_animals.html", form=form, chosen_animals=chosen), status


@bp.post("/heard/animals")
def check_animals():
    form = PictureCodeForm()
    chosen = [field.data for field in form.animal_fields if field.data in hear_back.ANIMALS]
    if "add_animal" in request.form or request.form.get("go") == "restart_code":
        # One tap per animal, as when posting; "Start again" takes them all away. Nothing is checked yet.
        if request.form.get("go") == "restart_code":
            chosen = []
        elif request.form["add_animal"] in hear_back.ANIMALS and len(chosen) < hear_back.CODE_LENGTH:
            chosen.append(request.form["add_animal"])
        for field, animal in zip(form.animal_fields, chosen + [None] * hear_back.CODE_LENGTH):
            field.data = animal
        return _render_animals(form)
    if not form.validate():
        if form.csrf_token.errors:
            form = PictureCodeForm(formdata=None)
            form.form_errors.append(_("This page was open for a long time. Please choose your animals again."))
            return _render_animals(form, 400)
        return _render_animals(form, 422)
    try:
        answer = hear_back.check_picture_code(get_db(), get_pupil_keys(), form.picture_code, _tablet_ref())
    except hear_back.ChecksPaused:
        return _paused()
    if answer is None:
        # The same words whatever the reason, and the animals are not shown again to whoever comes next.
        form = PictureCodeForm(formdata=None)
        form.form_errors.append(_("Those animals did not match a worry. Check the animals and their order, "
                                  "and try again."))
        return _render_animals(form)
    return _answer(answer)


# With the name on the worry ---------------------------------------------------------------------


@bp.get("/heard/name")
def name_form():
    return _render_name(NameCheckForm(formdata=None), request.args.get("class") or None)


def _render_name(form, class_name, status=200):
    return render_template("kiosk/heard_name.html", form=form, name_required=True,
                           **class_chooser(form, class_name)), status


@bp.post("/heard/name")
def check_name():
    form = NameCheckForm()
    if "show_class" in request.form:
        form.pupil.data = None
        return _render_name(form, request.form["show_class"] or None)
    class_name = request.form.get("class") or None
    status = form_problem(form, _("This page was open for a long time. Please choose your name again."))
    if status:
        return _render_name(form, class_name, status)
    keys, db = get_pupil_keys(), get_db()
    pupil = find_chosen_pupil(form.pupil.data)
    if pupil is None:
        form.pupil.errors = [_("We could not find that name. Please choose it again.")]
        return _render_name(form, class_name, 422)
    try:
        answer = hear_back.check_pupil(db, keys, keys.pupil_ref(pupil.pupil_id), form.picture_code, _tablet_ref())
    except hear_back.ChecksPaused:
        return _paused()
    if answer is None:
        form = NameCheckForm(formdata=None)
        form.form_errors.append(_("We did not find a worry with your name on it from the last few weeks. If you "
                                  "did not put your name on it, check with your animals instead."))
        return _render_name(form, None)
    return _answer(answer)
