"""Staff accounts and the roster: add and remove staff, reset a password, rotate the team key, import pupils."""

from flask import Blueprint, abort, current_app, g, redirect, render_template, url_for

from worrybox import certify, keys, roster, staff
from worrybox.staff import ROLES, AccountError
from worrybox.audit import audit
from worrybox_web import get_db, get_pupil_keys

from .auth import allowed, forget_keyrings_of
from .permissions import may
from .common import BUTTON_EXPIRED, ID, button_expired, check
from .forms import AddStaffForm, ButtonForm, ResetPasswordForm, RosterForm, RotateTeamKeyForm
from worrybox.db import write_transaction

bp = Blueprint("people", __name__)

# School IT manages accounts, but never one that holds the team key: it could not give one the key anyway.
IT_ADMIN_MANAGES = ("head", "teacher", "governor", "coordinator", "it_admin")
STAFF_URL = "/staff/<%s:staff_id>" % ID


def _manageable_roles() -> tuple[str, ...]:
    if not may(g.staff.role, "manage_staff_and_roster"):
        return ()
    return tuple(ROLES) if g.staff.role == "dsl" else IT_ADMIN_MANAGES


def _add_form(posted: bool) -> AddStaffForm:
    # A class teacher unless chosen otherwise: never a key holder by accident.
    form = AddStaffForm() if posted else AddStaffForm(formdata=None, role="teacher")
    form.role.choices = [(role, ROLES[role]) for role in _manageable_roles()]
    return form


def _render(add_form=None, rotate_form=None, message=None, status=200):
    db = get_db()
    removed = db.execute("SELECT name, role, removed_at FROM staff WHERE removed_at IS NOT NULL "
                         "ORDER BY removed_at DESC LIMIT 50").fetchall()
    return render_template(
        "console/people.html", members=staff.list_staff(db), removed=removed, roles=ROLES,
        manageable=_manageable_roles(), add_form=add_form or _add_form(posted=False),
        rotate_form=rotate_form or RotateTeamKeyForm(formdata=None), button=ButtonForm(formdata=None),
        classes=roster.class_names(db), message=message, pending=staff.pending_approval(db),
    ), status


def _member_or_404(staff_id):
    member = staff.get_staff(get_db(), staff_id)
    if member is None:
        abort(404)
    return member


@bp.get("/staff")
@allowed("see_staff_and_approvals")
def staff_list():
    return _render()


@bp.post(STAFF_URL + "/approve")
@allowed("approve_staff")
def approve_staff(staff_id):
    member = _member_or_404(staff_id)
    if button_expired():
        return _render(message=BUTTON_EXPIRED, status=400)
    db = get_db()
    try:
        staff.approve_staff(db, member.id, keys.team_keys_of(g.keyring, db), by_staff_id=g.staff.id)
    except AccountError as exc:
        return _render(message=str(exc), status=422)
    except certify.NoSigningKey:
        return _render(message="Your keys do not include the team key in use, so you cannot approve anyone yet. "
                               "Sign out and in again; if that does not help, ask the DSL who made the newest "
                               "team key.", status=422)
    # A DSL or deputy approved while signed in opens every worry now, without signing in again.
    if member.role in keys.KEY_HOLDING_ROLES:
        team_keys = keys.team_keys_of(g.keyring, db)
        for keyring in current_app.extensions["worrybox_keyrings"].values():
            if keyring.staff_id == member.id:
                keyring.private_keys.update(team_keys)
    return redirect(url_for("people.staff_list"), 303)


@bp.post(STAFF_URL + "/refuse")
@allowed("approve_staff")
def refuse_staff(staff_id):
    member = _member_or_404(staff_id)
    if member.id == g.staff.id:
        abort(403)
    if button_expired():
        return _render(message=BUTTON_EXPIRED, status=400)
    try:
        staff.refuse_staff(get_db(), member.id, by_staff_id=g.staff.id)
    except AccountError as exc:
        return _render(message=str(exc), status=422)
    forget_keyrings_of(member.id)
    return redirect(url_for("people.staff_list"), 303)


@bp.post("/staff")
@allowed("manage_staff_and_roster")
def add_staff():
    form = _add_form(posted=True)
    status = check(form)
    if status:
        return _render(add_form=form, status=status)
    db = get_db()
    role = form.role.data
    # A DSL adding someone approves them at once; an account school IT adds waits for a DSL or deputy.
    team_keys = keys.team_keys_of(g.keyring, db) if may(g.staff.role, "approve_staff") else None
    password = form.password.data or staff.new_password()
    try:
        staff.create_staff(db, form.email.data, form.name.data, role, password,
                           class_name=form.class_name.data if role == "teacher" else None,
                           team_keys=team_keys, by_staff_id=g.staff.id)
    except AccountError as exc:
        form.form_errors.append(str(exc))
        return _render(add_form=form, status=422)
    # Shown once, in this response only: never in a URL, a cookie, a log or the database.
    return render_template("console/people_password.html", name=form.name.data, email=form.email.data,
                           password=None if form.password.data else password, added=True, role=role)


@bp.post(STAFF_URL + "/remove")
@allowed("manage_staff_and_roster")
def remove_staff(staff_id):
    member = _member_or_404(staff_id)
    if member.role not in _manageable_roles():
        abort(403)
    if button_expired():
        return _render(message=BUTTON_EXPIRED, status=400)
    try:
        staff.remove_staff(get_db(), staff_id, by_staff_id=g.staff.id)
    except AccountError as exc:
        return _render(message=str(exc), status=422)
    forget_keyrings_of(staff_id)
    current_app.logger.info("staff %d removed staff %d", g.staff.id, staff_id)
    return render_template("console/people_removed.html", member=member,
                           held_team_key=member.role in keys.KEY_HOLDING_ROLES)


def _someone_else_to_reset(staff_id):
    member = _member_or_404(staff_id)
    if member.id == g.staff.id:
        abort(403)  # your own password: the Password page, which needs the current one
    return member


def _render_reset(member, form, status=200):
    return render_template("console/people_reset.html", member=member, form=form,
                           key_holder=member.role in keys.KEY_HOLDING_ROLES), status


@bp.get(STAFF_URL + "/password")
@allowed("reset_a_password")
def reset_password_page(staff_id):
    member = _someone_else_to_reset(staff_id)
    return _render_reset(member, ResetPasswordForm(formdata=None))


@bp.post(STAFF_URL + "/password")
@allowed("reset_a_password")
def reset_password(staff_id):
    member = _someone_else_to_reset(staff_id)
    form = ResetPasswordForm()
    status = check(form)
    if status:
        return _render_reset(member, form, status)
    db = get_db()
    password = form.password.data or staff.new_password()
    # The DSL's keys also certify the new personal key, so an approved account stays approved.
    team_keys = keys.team_keys_of(g.keyring, db)
    try:
        staff.reset_password(db, member.id, password, team_keys=team_keys, by_staff_id=g.staff.id)
    except AccountError as exc:
        form.form_errors.append(str(exc))
        return _render_reset(member, form, 422)
    forget_keyrings_of(member.id)
    return render_template("console/people_password.html", name=member.name, email=member.email,
                           password=None if form.password.data else password, added=False, role=member.role)


@bp.post("/staff/team-key")
@allowed("make_a_new_team_key")
def rotate_team_key():
    form = RotateTeamKeyForm()
    status = check(form)
    if status:
        return _render(rotate_form=form, status=status)
    db = get_db()
    try:
        code, key_id, private = staff.rotate_team_key(db, keys.team_keys_of(g.keyring, db), by_staff_id=g.staff.id)
    except ValueError:
        form.form_errors.append("Your keys do not include every team key the school has had, so a new recovery "
                                "code could not open the old worries. Ask the DSL who has held the key longest.")
        return _render(rotate_form=form, status=422)
    # Everyone signed in to this console who holds the team key can open new worries without signing in again.
    holders = set(keys.key_holders(db))
    for keyring in current_app.extensions["worrybox_keyrings"].values():
        if keyring.staff_id in holders:
            keyring.private_keys[key_id] = private
    # Shown once, in this response only: never in a URL, a cookie, a log or the database.
    return render_template("console/people_recovery_code.html", code=code)


# The roster -----------------------------------------------------------------------------------


def _render_roster(form=None, problems=None, imported=None, status=200):
    db = get_db()
    counts = db.execute("SELECT class_name, count(*) FROM pupils GROUP BY class_name ORDER BY class_name").fetchall()
    return render_template("console/roster.html", form=form or RosterForm(formdata=None), problems=problems or [],
                           imported=imported, counts=counts), status


@bp.get("/roster")
@allowed("manage_staff_and_roster")
def roster_page():
    return _render_roster()


@bp.post("/roster")
@allowed("manage_staff_and_roster")
def import_roster():
    form = RosterForm()
    status = check(form)
    if status:
        return _render_roster(form, status=status)
    try:
        pupils = roster.parse_roster(form.roster_file.data.read())
    except roster.RosterError as exc:
        return _render_roster(form, problems=exc.problems, status=422)
    db = get_db()
    with write_transaction(db):
        added, updated = roster.import_roster(db, get_pupil_keys(), pupils)
        audit(db, "roster_imported", staff_id=g.staff.id,
              detail="%d pupils: %d new, %d updated" % (len(pupils), added, updated))
    return _render_roster(imported=(len(pupils), added, updated))
