"""The Flask layer both apps share: the app factory, the request's database, form checks and headers.

The core (worrybox/) imports no Flask; the kiosk and the console each call make_app() and add their views.
Error pages are in errors.py, shared form fields in fields.py.
"""

import functools
import gzip
import hashlib
import os
import re
import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask, abort, current_app, g, has_request_context, request
from flask_babel import Babel, get_locale
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import safe_join

from worrybox import clock
from worrybox.config import Paths, read_secret, resolve_data_dir
from worrybox.db import connect, get_setting, keep_settings
from worrybox.languages import DEFAULT_LANGUAGE, direction
from worrybox.school import open_school, pupil_keys

from .errors import register_error_handlers

ROOT = Path(__file__).resolve().parent.parent
MAX_REQUEST_BYTES = 1024 * 1024
# What a form on our pages posts. Flask-WTF would also read a JSON body or uploaded files into a form,
# and the text validators fail on values that are not text, so nothing else is accepted.
FORM_MIMETYPE = "application/x-www-form-urlencoded"
UPLOAD_MIMETYPE = "multipart/form-data"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# A static file's address carries a hash of its content (?v=), so a tablet keeps it for a year and fetches it
# again only when the file changes; a file named without one (a font in the stylesheet) is kept for a day.
STATIC_VERSIONED_CACHE = "public, max-age=31536000, immutable"
STATIC_CACHE = "public, max-age=86400"
# Set to 1 when nginx (or another proxy on the same machine) passes requests on: the tablet's own address
# and https then come from its X-Forwarded-For and X-Forwarded-Proto headers. Never set it when the app
# can be reached directly, or anyone could claim any address.
BEHIND_PROXY_ENV = "WORRYBOX_BEHIND_PROXY"
# Set to 1 to mark cookies Secure even when a request does not look like https (belt and braces behind TLS).
SECURE_COOKIES_ENV = "WORRYBOX_SECURE_COOKIES"


# Text files a first visit pays for on slow Wi-Fi, sent gzipped (a third of their size or less) to a browser that asks.
# Only static files: a page holds a CSRF token next to what a visitor typed, and compressing the two together
# lets someone who watches the sizes guess the token (BREACH), so pages are never compressed (nginx has gzip off).
COMPRESSED_STATIC = (".css", ".js", ".svg")


class _App(Flask):
    def send_static_file(self, filename):
        response = super().send_static_file(filename)  # 404 for a missing file, 304 when the browser has it
        if not filename.endswith(COMPRESSED_STATIC):
            return response
        response.vary.add("Accept-Encoding")
        if response.status_code != 200 or not request.accept_encodings["gzip"]:
            return response
        found = _file_key(safe_join(self.static_folder, filename))
        if found is None:  # gone since send_file opened it
            return response
        etag, _ = response.get_etag()
        response.close()  # the file send_file opened; the body comes from the worker's memory instead
        response.direct_passthrough = False
        response.set_data(_gzipped(*found))
        response.headers["Content-Encoding"] = "gzip"
        response.set_etag(etag + "-gzip")
        return response.make_conditional(request)


@functools.lru_cache(maxsize=128)
def _gzipped(path: str, mtime_ns: int, size: int) -> bytes:
    return gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)


class _SessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose cookie is Secure whenever the request came over https."""

    _signing = (None, None)  # (the keys it was made with, the serializer)

    def get_cookie_secure(self, app):
        return bool(app.config["SESSION_COOKIE_SECURE"] or (has_request_context() and request.is_secure))

    def get_signing_serializer(self, app):
        # Flask makes a new serializer (and test-encodes an empty dict with it) twice a request; one is kept
        # per app until its keys change.
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if self._signing[0] != keys:
            self._signing = (keys, super().get_signing_serializer(app))
        return self._signing[1]


def make_app(import_name: str, app_name: str, test_config: dict | None = None, locale_selector=None,
             upload_endpoints: frozenset[str] = frozenset()) -> Flask:
    """Create a Flask app over the shared templates, static files, translations and school database.

    upload_endpoints: the only views that may take a file as multipart/form-data (the 1 MiB limit still applies).
    """
    app = _App(import_name, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    test_config = dict(test_config or {})
    paths = Paths(resolve_data_dir(test_config.pop("DATA_DIR", None)))
    app.config.update(
        WORRYBOX_APP=app_name,
        WORRYBOX_UPLOAD_ENDPOINTS=frozenset(upload_endpoints),
        WORRYBOX_PATHS=paths,
        SECRET_KEY=read_secret(paths.app_secret(app_name)),
        SESSION_COOKIE_NAME="worrybox_%s" % app_name,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=os.environ.get(SECURE_COOKIES_ENV) == "1",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_REQUEST_BYTES,
        # A kiosk page may stay open for a whole school day before a child uses it.
        WTF_CSRF_TIME_LIMIT=10 * 3600,
        WTF_CSRF_SSL_STRICT=False,
        # Our forms carry their own (translated) messages; WTForms' catalogue cost a file read per request.
        WTF_I18N_ENABLED=False,
        BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "translations"),
        BABEL_DEFAULT_LOCALE=DEFAULT_LANGUAGE,
    )
    app.config.update(test_config)
    open_school(paths).close()  # applies pending migrations before the first request
    app.extensions["worrybox_pupil_keys"] = pupil_keys(paths)
    app.extensions["worrybox_connections"] = _WorkerConnection()

    app.session_interface = _SessionInterface()
    if os.environ.get(BEHIND_PROXY_ENV) == "1":
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
    Babel(app, locale_selector=locale_selector or (lambda: DEFAULT_LANGUAGE))
    app.before_request(_refuse_non_form_bodies)
    app.teardown_appcontext(_end_request_db)
    app.after_request(_add_headers)
    app.url_defaults(_version_static_urls)
    register_error_handlers(app)
    app.context_processor(_template_globals)
    app.add_template_filter(localtime)
    app.add_template_global(picture_markup)
    return app


class _WorkerConnection(threading.local):
    """This worker's own database connection: one per process under sync workers, one per thread under gthread."""

    db = None
    pid = None


# Connections a forked worker inherited from its parent. SQLite forbids using them across a fork, and closing
# one here could release locks or delete files the parent still relies on, so they are kept, never touched.
_INHERITED = []


def get_db():
    """Return this request's database connection: this worker's own, opened on first use and kept."""
    if "db" not in g:
        g.db = _worker_db()
    return g.db


def school_now() -> datetime:
    """The time now where the school is (its time_zone setting)."""
    return clock.school_now(get_db())


def school_today():
    """The date today where the school is."""
    return school_now().date()


def get_pupil_keys():
    return current_app.extensions["worrybox_pupil_keys"]


def _worker_db():
    held = current_app.extensions["worrybox_connections"]
    if held.db is not None and held.pid != os.getpid():
        _INHERITED.append(held.db)
        held.db = None
    if held.db is not None:
        try:
            if held.db.conn.in_transaction:  # left open by something outside a request; never carried on
                held.db.execute("ROLLBACK")
        except sqlite3.Error:  # closed, or broken: open a fresh one
            _discard(held)
    if held.db is None:
        held.db = connect(current_app.config["WORRYBOX_PATHS"].database)
        held.pid = os.getpid()
    keep_settings(held.db)
    return held.db


def _discard(held) -> None:
    db, held.db = held.db, None
    try:
        db.close()
    except sqlite3.Error:
        pass


def _end_request_db(exception=None) -> None:
    """Keep the worker's connection for the next request, unless this request broke it.

    Nothing uncommitted is carried over: an open transaction is rolled back. After a database error the
    connection is closed, so the next request starts on a fresh one. The WAL is checkpointed by SQLite's
    own threshold as writers commit, not by closing connections.
    """
    db = g.pop("db", None)
    if db is None:
        return
    held = current_app.extensions["worrybox_connections"]
    if held.db is not db:  # not this worker's (a test's own, or replaced meanwhile)
        return
    if exception is not None or g.pop("database_failed", False):
        _discard(held)
        return
    try:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
    except sqlite3.Error:
        _discard(held)


def _refuse_non_form_bodies():
    if request.method == "POST" and request.mimetype not in ("", FORM_MIMETYPE):
        uploads = current_app.config["WORRYBOX_UPLOAD_ENDPOINTS"]
        if request.mimetype == UPLOAD_MIMETYPE and request.endpoint in uploads:
            return
        abort(415)


_SECURITY_HEADER_ITEMS = list(SECURITY_HEADERS.items())


def _add_headers(response):
    # Each header unless the view set its own. One pass over what is there: a lookup per header cost a
    # hundredth of a kiosk post.
    present = {name.lower() for name, _value in response.headers.items()}
    response.headers.extend([(name, value) for name, value in _SECURITY_HEADER_ITEMS if name.lower() not in present])
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint == "static" and response.status_code in (200, 304):
        version = request.args.get("v")
        current = static_version(request.view_args.get("filename", "")) if version else None
        response.headers["Cache-Control"] = STATIC_VERSIONED_CACHE if version and version == current else STATIC_CACHE
    elif not request.path.startswith("/static/"):
        # Nothing a child typed or a member of staff opened may stay in a browser cache.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def _version_static_urls(endpoint, values):
    if endpoint == "static" and "v" not in values:
        values["v"] = static_version(values.get("filename", ""))


def static_version(filename: str) -> str | None:
    """A short hash of a static file's content as it is now, or None if there is no such file."""
    found = _file_key(safe_join(str(ROOT / "static"), filename))
    return _content_hash(*found) if found else None


def _file_key(path: str | None) -> tuple[str, int, int] | None:
    """(path, modified, size): what a file's cached readings are kept by, so a changed file is read again; None
    if there is no such file (or safe_join refused the name)."""
    try:
        stat = os.stat(path) if path else None
    except (OSError, ValueError):
        return None
    return (path, stat.st_mtime_ns, stat.st_size) if stat else None


@functools.lru_cache(maxsize=512)
def _content_hash(path: str, mtime_ns: int, size: int) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return None


# A picture is drawn into the page rather than fetched: on slow Wi-Fi each picture asked for separately took a
# round trip and more bytes of headers than the picture itself (most are under 500 bytes). They are decorative
# (the words beside them say the same), so hidden from screen readers.
_SVG_SIZE = re.compile(r'\s(?:width|height)="[^"]*"')


def picture_markup(name: str, size: int) -> Markup:
    """The picture static/pictures/<name>.svg as markup to put in a page, drawn size × size."""
    found = _file_key(safe_join(str(ROOT / "static" / "pictures"), name + ".svg"))
    svg = _svg_text(*found) if found else None
    if svg is None:
        return Markup("")
    return Markup(svg).replace(Markup("<svg "), Markup(
        '<svg class="picture" data-picture="%s" width="%d" height="%d" aria-hidden="true" focusable="false" ')
        % (name, int(size), int(size)), 1)


@functools.lru_cache(maxsize=128)
def _svg_text(path: str, mtime_ns: int, size: int) -> str | None:
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("<svg ") or ">" not in text:
        return None
    root_end = text.index(">")
    return _SVG_SIZE.sub("", text[:root_end]) + text[root_end:]  # the page says how big to draw it


def form_problem(form, expired_message) -> int | None:
    """Validate a posted form: None if it is good, else the status to show it again with.

    An expired page (a stale CSRF token) is 400 with a kind message in the form's own errors, so the
    page comes back with everything typed still in it; any other mistake is 422.
    """
    if form.validate():
        return None
    if form.csrf_token.errors:
        form.csrf_token.errors = []
        form.form_errors.append(expired_message)
        return 400
    return 422


def localtime(iso_utc: str | None) -> str:
    """Show a stored UTC timestamp in the school's time zone, as people read dates in school."""
    if not iso_utc:
        return "—"
    if "school_zone" not in g:  # one settings read per request, however many dates a page shows
        g.school_zone = clock.school_zone(get_db())
    return datetime.fromisoformat(iso_utc).astimezone(g.school_zone).strftime("%a %-d %b %Y, %H:%M")


def _template_globals():
    school_name = None
    try:
        school_name = get_setting(get_db(), "school_name")
    except Exception:  # the error page must render even when the database cannot be read
        school_name = None
    language = str(get_locale() or DEFAULT_LANGUAGE)
    return {"school_name": school_name or "our school", "app_name": current_app.config["WORRYBOX_APP"],
            "page_lang": language, "page_dir": direction(language)}

