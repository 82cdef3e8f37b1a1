"""Error pages: plain words for every error a person can meet, never a traceback or a version."""

import sqlite3

from flask import current_app, g, render_template, request
from werkzeug.exceptions import HTTPException

from worrybox.languages import N_

# Plain words for every error a person can meet; never a traceback or a version.
ERROR_MESSAGES = {
    400: (N_("Something in that did not look right"), N_("Please go back and try again.")),
    403: (N_("That is not for this account"), N_("Ask your safeguarding lead if you think you should see it.")),
    404: (N_("We could not find that page"), N_("Go back to the start and try again.")),
    405: (N_("That did not work"), N_("Go back to the start and try again.")),
    413: (N_("That was too big to send"), N_("Please make it shorter and try again.")),
    415: (N_("Something in that did not look right"), N_("Please go back and try again.")),
    422: (N_("Something in that did not look right"), N_("Please go back and try again.")),
    429: (N_("Please wait a moment"), N_("Too many tries in a short time. Try again in a few minutes.")),
    500: (N_("Sorry, something went wrong"), N_("Nothing you did caused this. Please try again, or tell a grown-up.")),
    503: (N_("Resting for a moment"), N_("Please try again soon, or tell a grown-up.")),
}


def register_error_handlers(app) -> None:
    """Show every HTTP error and every unexpected exception as the shared, kind error page."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def error_page(status: int, message: str | None = None):
    """Render the shared error page with a kind message and the right status code."""
    heading, advice = ERROR_MESSAGES.get(status, ERROR_MESSAGES[500])
    return render_template("error.html", status=status, heading=heading, advice=message or advice), status


def _http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    response = error_page(error.code)
    if error.code == 405 and error.valid_methods:
        return response[0], 405, {"Allow": ", ".join(error.valid_methods)}
    return response


def _unexpected_error(error: Exception):
    if isinstance(error, HTTPException):
        return _http_error(error)
    if isinstance(error, sqlite3.Error):
        g.database_failed = True  # the worker's connection is replaced before the next request
    if isinstance(error, sqlite3.DatabaseError):
        # A full disk, a read-only or damaged database: say "resting" and store nothing; never a success page.
        current_app.logger.error("Database error on %s %s: %s", request.method, request.path, error)
        return error_page(503)
    # The traceback names code, not content: no form data is ever put into an exception message.
    current_app.logger.error("Unhandled %s on %s %s", type(error).__name__, request.method, request.path,
                             exc_info=error)
    return error_page(500)
