"""Sign in and out, who is signed in, and the guard every other console view uses."""

import functools

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, session, url_for

from worrybox import staff
from worrybox.web import error_page, get_db

from .forms import LoginForm, LogoutForm

bp = Blueprint("auth", __name__)

SIGN_IN_FAILED = ("We could not sign you in with that email and password. After five wrong tries "
                  "an account pauses for 15 minutes.")


def _keyrings() -> dict:
    return current_app.extensions["worrybox_keyrings"]


@bp.before_app_request
def load_signed_in_staff():
    """Find who this request is from; a session without unlocked keys in this process is signed out."""
    g.staff = g.keyring = None
    token = session.get("token")
    if not token:
        return
    member = staff.session_staff(get_db(), token)
    keyring = _keyrings().get(token)
    if member is None or keyring is None:
        _keyrings().pop(token, None)
        if member is not None:  # keys gone (the console restarted): end the stored session too
            staff.end_session(get_db(), token)
        session.clear()
        return
    g.staff, g.keyring = member, keyring


def login_required(view):
    """Send anyone not signed in to the sign-in page."""
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.staff is None:
            return redirect(url_for("auth.login"))
        return view(**kwargs)
    return wrapped


def role_required(*roles):
    """Allow only staff with one of these roles; others get a kind 403 page."""
    def decorator(view):
        @functools.wraps(view)
        def wrapped(**kwargs):
            if g.staff is None:
                return redirect(url_for("auth.login"))
            if g.staff.role not in roles:
                return error_page(403)
            return view(**kwargs)
        return wrapped
    return decorator


def home_url(member) -> str:
    """Where a member of staff starts: the coordinator holds no key, so the rota, not the worry queue."""
    return url_for("pals.rota") if member.role == "coordinator" else url_for("triage.queue")


@bp.app_context_processor
def signed_in_context():
    # formdata=None: the sign-out button never reads this request's body, which may be the reason
    # an error page is being drawn (too big, not a form) and must not be read again.
    return {"staff_member": g.get("staff"), "logout_form": LogoutForm(formdata=None) if g.get("staff") else None}


@bp.get("/healthz")
def healthz():
    get_db().execute("SELECT 1").fetchone()
    return jsonify(status="ok")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if g.staff is not None:
        return redirect(home_url(g.staff))
    form = LoginForm()
    if request.method == "GET":
        return render_template("console/login.html", form=form)
    if not form.validate():
        if form.csrf_token.errors:
            form.csrf_token.errors = []
            form.form_errors.append("The sign-in page had expired. Please sign in again.")
            return render_template("console/login.html", form=form), 400
        return render_template("console/login.html", form=form), 422
    result = staff.sign_in(get_db(), form.email.data, form.password.data)
    if result is None:
        form.form_errors.append(SIGN_IN_FAILED)
        return render_template("console/login.html", form=form), 401
    member, keyring = result
    # A new session id at every sign-in, so a cookie planted before sign-in is worth nothing.
    old_token = session.get("token")
    if old_token:
        _keyrings().pop(old_token, None)
    session.clear()
    token = staff.start_session(get_db(), member.id)
    session["token"] = token
    _keyrings()[token] = keyring
    current_app.logger.info("staff %d signed in", member.id)
    return redirect(home_url(member), 303)


@bp.post("/logout")
def logout():
    form = LogoutForm()
    token = session.get("token")
    if token and form.validate():
        staff.end_session(get_db(), token)
        _keyrings().pop(token, None)
        if g.staff is not None:
            staff.audit(get_db(), "logout", staff_id=g.staff.id)
        session.clear()
    elif token:
        return error_page(400, "That page had expired, so you are still signed in. Press Sign out again.")
    return redirect(url_for("auth.login"), 303)
