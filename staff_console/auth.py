"""Sign in and out, who is signed in, and the guard every other console view uses."""

import contextlib
import functools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, session, url_for

from worrybox import staff, two_factor
from worrybox.db import get_setting
from worrybox.keys import Keyring
from worrybox_web import SECURITY_HEADERS, get_db
from worrybox_web.errors import error_page

from .forms import CodeForm, LoginForm, LogoutForm, PasswordForm
from .common import check
from .permissions import MAY, may

bp = Blueprint("auth", __name__)

SIGN_IN_FAILED = ("We could not sign you in with that email and password. After a few wrong tries from one "
                  "computer, each next try there has to wait a little longer.")
# Each password check takes 64 MiB and a good part of a second of CPU: at most two at once (and one at a time
# from one address), so a flood of sign-ins cannot take every one of the console's threads. They run in two
# threads of their own at a lower CPU priority, so the console keeps answering everyone else meanwhile.
HASHING = threading.BoundedSemaphore(2)
# Sign-ins checking or waiting for a turn: half the console's threads (deploy/gunicorn_console.conf.py), at most.
SIGN_IN_PLACES = 4
HASHING_WAIT_SECONDS = 1.0


def _lower_this_threads_priority():
    try:  # on Linux a thread id here changes only this thread (and the threads Argon2 starts from it)
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


_password_checkers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="password-check",
                                        initializer=_lower_this_threads_priority)
BUSY = "The console is busy checking other sign-ins. Please wait a moment and try again."
BUSY_PAGE = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Please wait</title></head>"
             "<body><main><h1>Please wait</h1><p>%s Then <a href=\"/login\">sign in again</a>.</p></main></body>"
             "</html>" % BUSY)
FLOOD_PAGE = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Please wait</title></head>"
              "<body><main><h1>Please wait</h1><p>There have been several sign-in tries from this computer. "
              "Please wait a little, then <a href=\"/login\">try again</a>. (This does not stop anyone signing in "
              "from another computer.)</p></main></body></html>")
# A sign-in whose password was right but whose second factor is still to come lasts this long.
PENDING_SECONDS = 300
CODE_EXPIRED = "That page had expired. Type the code your app shows now and press the button again."
PASSWORD_EXPIRED = "That page had expired, so your password was not changed. Type both passwords again."
WRONG_CODE = ("That code did not work. Type the six digits your app shows now (they change every 30 seconds, "
              "and each code works once), or one of your backup codes.")


@dataclass
class PendingSignIn:
    """A password accepted, a second factor not yet given: held only in this process's memory."""

    member: staff.Staff
    keyring: Keyring
    started: float = field(default_factory=time.monotonic)
    new_secret: str | None = field(default=None, repr=False)  # while enrolling an authenticator app


def _keyrings() -> dict:
    return current_app.extensions["worrybox_keyrings"]


def _pending_sign_ins() -> dict:
    return current_app.extensions.setdefault("worrybox_pending_sign_ins", {})


def _pending() -> PendingSignIn | None:
    """This browser's half-finished sign-in, if it has one that has not expired."""
    pending = _pending_sign_ins()
    now = time.monotonic()
    for token, item in list(pending.items()):
        if now - item.started > PENDING_SECONDS:
            pending.pop(token, None)
    return pending.get(session.get("pending") or "")


def _drop_pending() -> None:
    _pending_sign_ins().pop(session.pop("pending", None) or "", None)


class SignInGate:
    """WSGI middleware: answer a sign-in from an address that must wait, or is already signing in, at once.

    It runs before Flask does any work for the request (no session, no database, no template), so a flood
    of sign-ins costs next to nothing and cannot starve other requests of the console's threads. It also
    remembers, in this process, which addresses are signing in now and which were told to wait until when.
    """

    def __init__(self, app):
        self.app = app
        self._lock = threading.Lock()
        self._signing_in_from: set[str] = set()
        self._waiting_until: dict[str, float] = {}  # time.monotonic() values
        self._places_taken = 0

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") == "/login":
            wait = self.must_wait(environ.get("REMOTE_ADDR") or "unknown")
            if wait:
                return self._plain_page(start_response, "429 Too Many Requests", wait, FLOOD_PAGE)
            if self._places_taken >= SIGN_IN_PLACES:  # read without the lock: the slot itself checks again
                return self._plain_page(start_response, "503 Service Unavailable", 2, BUSY_PAGE)
        return self.app(environ, start_response)

    @staticmethod
    def _plain_page(start_response, status, retry_after, page):
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Retry-After", str(retry_after)),
                   ("Cache-Control", "no-store"), *SECURITY_HEADERS.items()]
        start_response(status, headers)
        return [page.encode("utf-8")]

    def must_wait(self, address: str) -> int:
        """Seconds an address must still wait before its next sign-in (1 while one of its sign-ins is running)."""
        now = time.monotonic()
        with self._lock:
            until = self._waiting_until.get(address)
            if until is not None and until <= now:
                self._waiting_until.pop(address, None)
                until = None
            if until is not None:
                return max(1, int(until - now + 0.999))
            return 1 if address in self._signing_in_from else 0

    def make_wait(self, address: str, seconds: int) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._waiting_until) > 10000:  # many addresses: forget those whose wait is over
                for other, until in list(self._waiting_until.items()):
                    if until <= now:
                        self._waiting_until.pop(other, None)
            self._waiting_until[address] = now + seconds

    @contextlib.contextmanager
    def password_check_slot(self, address: str):
        """Take one of the few places for a password check: yield a function that runs one, or None if none is free.

        Two checks run at once and two more sign-ins may wait up to a second for a turn; any other is told at once
        that the console is busy. So sign-ins from many computers never hold more than four of the console's eight
        threads, and everyone else's pages keep coming.
        """
        with self._lock:
            busy_here = address in self._signing_in_from
            if not busy_here:
                self._signing_in_from.add(address)
        if busy_here:
            yield None
            return
        try:
            with self._lock:
                placed = self._places_taken < SIGN_IN_PLACES
                self._places_taken += placed
            if not placed:
                yield None
                return
            try:
                if not HASHING.acquire(timeout=HASHING_WAIT_SECONDS):
                    yield None
                    return
                try:
                    yield _run_password_check
                finally:
                    HASHING.release()
            finally:
                with self._lock:
                    self._places_taken -= 1
        finally:
            with self._lock:
                self._signing_in_from.discard(address)


def _gate() -> SignInGate:
    return current_app.extensions["worrybox_sign_in_gate"]


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


def allowed(action):
    """Allow only staff whose role may do this action (see permissions.MAY): sign-in for nobody, a kind 403
    for the others."""
    roles = MAY[action]

    def decorator(view):
        @functools.wraps(view)
        def wrapped(**kwargs):
            if g.staff is None:
                return redirect(url_for("auth.login"))
            if g.staff.role not in roles:
                return error_page(403)
            return view(**kwargs)
        wrapped.permission = action  # read by the test that walks every route
        return wrapped
    return decorator


# Any signed-in member of staff.
login_required = allowed("use_the_console")


def home_url(member) -> str:
    """Where a member of staff starts: the coordinator at the rota, school IT (who reads no worry) at the staff list,
    everyone else at the worry queue."""
    if member.role == "coordinator":
        return url_for("rota.rota")
    if member.role == "it_admin":
        return url_for("people.staff_list")
    if member.role == "staff":
        return url_for("concerns.log_concern")
    return url_for("triage.queue")


def forget_keyrings_of(staff_id: int) -> None:
    """Drop a member of staff's unlocked keys from this process, in every browser and half-finished sign-in."""
    for token, keyring in list(_keyrings().items()):
        if keyring.staff_id == staff_id:
            _keyrings().pop(token, None)
    for token, pending in list(_pending_sign_ins().items()):
        if pending.member.id == staff_id:
            _pending_sign_ins().pop(token, None)


def signed_in_context():
    # formdata=None: the sign-out button never reads this request's body, which may be the reason
    # an error page is being drawn (too big, not a form) and must not be read again.
    member = g.get("staff")
    return {"staff_member": member, "logout_form": LogoutForm(formdata=None) if member else None,
            "may": lambda action: member is not None and may(member.role, action),
            "failed_sign_ins": session.get("failed_sign_ins") if member else None}


@bp.get("/healthz")
def healthz():
    get_db().execute("SELECT 1").fetchone()
    return jsonify(status="ok")


def _wait_message(seconds: int) -> str:
    if seconds < 90:
        wait = "%d second%s" % (seconds, "" if seconds == 1 else "s")
    else:
        wait = "%d minutes" % ((seconds + 59) // 60)
    return ("There have been several wrong tries from this computer. Please wait %s, then try again. "
            "(This does not stop you signing in from another computer.)" % wait)


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _run_password_check(function, *args, **kwargs):
    return _password_checkers.submit(function, *args, **kwargs).result()


def _refused(form, message, status, retry_after):
    form.form_errors.append(message)
    form.password.data = ""
    response = current_app.make_response((render_template("console/login.html", form=form), status))
    response.headers["Retry-After"] = str(retry_after)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    if g.staff is not None:
        return redirect(home_url(g.staff))
    form = LoginForm()
    if request.method == "GET":
        return render_template("console/login.html", form=form)
    status = check(form, "The sign-in page had expired. Please sign in again.")
    if status:
        return render_template("console/login.html", form=form), status
    db = get_db()
    # Refused before any password hashing: the wait, then a free place for the check.
    wait = staff.sign_in_wait(db, form.email.data, _client_address())
    if wait:
        _gate().make_wait(_client_address(), wait)
        current_app.logger.info("sign-in refused before checking: wrong tries from this address")
        return _refused(form, _wait_message(wait), 429, wait)
    with _gate().password_check_slot(_client_address()) as run_check:
        if run_check is None:
            return _refused(form, BUSY, 503, 2)
        try:
            result = run_check(staff.sign_in, db, form.email.data, form.password.data, address=_client_address())
        except staff.SignInThrottled as throttled:
            _gate().make_wait(_client_address(), throttled.seconds)
            return _refused(form, _wait_message(throttled.seconds), 429, throttled.seconds)
    if result is None:
        form.form_errors.append(SIGN_IN_FAILED)
        return render_template("console/login.html", form=form), 401
    member, keyring = result
    if not two_factor.required_for(db, member.id, member.role):
        return _finish_sign_in(member, keyring)
    _drop_pending()
    session.clear()
    pending_token = staff.new_token()
    _pending_sign_ins()[pending_token] = PendingSignIn(member, keyring)
    session["pending"] = pending_token
    current_app.logger.info("staff %d gave a right password; second factor next", member.id)
    if two_factor.is_enrolled(db, member.id):
        return redirect(url_for("auth.second_factor"), 303)
    return redirect(url_for("auth.enrol"), 303)


def _finish_sign_in(member, keyring):
    """Start a new session: a new session id at every sign-in, so a cookie planted before is worth nothing."""
    old_token = session.get("token")
    if old_token:
        _keyrings().pop(old_token, None)
    _drop_pending()
    session.clear()
    token = staff.start_session(get_db(), member.id)
    session["token"] = token
    _keyrings()[token] = keyring
    failed, latest = staff.failed_since_previous_sign_in(get_db(), member.email)
    if failed:
        # Shown on every page of this session: someone else may have been trying their password.
        session["failed_sign_ins"] = [failed, latest]
    current_app.logger.info("staff %d signed in", member.id)
    return redirect(home_url(member), 303)


def _code_refused(pending, form, template, status=401, **context):
    """Count a wrong code; after too many, end the half-finished sign-in like a locked password."""
    db = get_db()
    staff.count_failure(db, pending.member, "wrong two-factor code", address=_client_address())
    current_app.logger.info("staff %d gave a wrong second factor", pending.member.id)
    if staff.is_locked(db, pending.member.email, _client_address()):
        _drop_pending()
        login_form = LoginForm(formdata=None)
        login_form.form_errors.append(SIGN_IN_FAILED)
        return render_template("console/login.html", form=login_form), 401
    form.code.data = ""
    form.code.errors = [WRONG_CODE]
    return render_template(template, form=form, **context), status


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    pending = _pending()
    if pending is None or not two_factor.is_enrolled(get_db(), pending.member.id):
        return redirect(url_for("auth.login"), 303 if request.method == "POST" else 302)
    form = CodeForm()
    if request.method == "GET":
        return render_template("console/two_factor_code.html", form=form)
    status = check(form, CODE_EXPIRED)
    if status:
        return render_template("console/two_factor_code.html", form=form), status
    db = get_db()
    if staff.is_locked(db, pending.member.email, _client_address()):
        return _code_refused(pending, form, "console/two_factor_code.html")
    how = two_factor.check_code(db, pending.member.id, pending.keyring, form.code.data)
    if how is None:
        return _code_refused(pending, form, "console/two_factor_code.html")
    staff.second_factor_passed(db, pending.member, how)
    return _finish_sign_in(pending.member, pending.keyring)


def _enrol_context(pending):
    db = get_db()
    uri = two_factor.provisioning_uri(pending.new_secret, pending.member.email,
                                      get_setting(db, "school_name") or "school")
    return {"qr": two_factor.qr_data_uri(uri), "secret": two_factor.spaced(pending.new_secret)}


@bp.route("/login/setup", methods=["GET", "POST"])
def enrol():
    pending = _pending()
    if pending is None or two_factor.is_enrolled(get_db(), pending.member.id):
        return redirect(url_for("auth.login"), 303 if request.method == "POST" else 302)
    if pending.new_secret is None:
        pending.new_secret = two_factor.new_secret()
    form = CodeForm()
    template = "console/two_factor_setup.html"
    if request.method == "GET":
        return render_template(template, form=form, **_enrol_context(pending))
    status = check(form, CODE_EXPIRED)
    if status:
        return render_template(template, form=form, **_enrol_context(pending)), status
    db = get_db()
    step = two_factor.matching_step(pending.new_secret, form.code.data, None)
    if step is None or staff.is_locked(db, pending.member.email, _client_address()):
        return _code_refused(pending, form, template, **_enrol_context(pending))
    codes = two_factor.enrol(db, pending.member.id, pending.keyring, pending.new_secret, step)
    staff.audit(db, "two_factor_enrolled", staff_id=pending.member.id)
    staff.second_factor_passed(db, pending.member, "enrolled")
    member = pending.member
    _finish_sign_in(member, pending.keyring)
    # Shown once, in this response only: never in a URL, a cookie, a log or the database.
    return render_template("console/backup_codes.html", codes=codes, next_url=home_url(member))


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


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    status = 200 if request.method == "GET" else check(form, PASSWORD_EXPIRED)
    if status:
        return render_template("console/password.html", form=form), status
    db = get_db()
    try:
        with _gate().password_check_slot(_client_address()) as run_check:
            if run_check is None:
                raise staff.AccountError(BUSY)
            run_check(staff.change_password, db, g.staff, g.keyring, form.current_password.data, form.new_password.data,
                  address=_client_address())
    except staff.AccountError as exc:
        form.current_password.errors = [str(exc)]
        return render_template("console/password.html", form=form), 422
    # Every session of theirs has ended in the database; drop their unlocked keys in every browser too,
    # then give this browser a new session id.
    forget_keyrings_of(g.staff.id)
    keyring = g.keyring
    session.clear()
    token = staff.start_session(db, g.staff.id)
    session["token"] = token
    _keyrings()[token] = keyring
    return render_template("console/password.html", form=PasswordForm(formdata=None), changed=True)
