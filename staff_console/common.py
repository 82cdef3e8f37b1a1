"""What the console's views share: the form check, the id converter, the "page expired" messages, saving a
small form, and children's names by pseudonym."""

from flask import flash, g, redirect

from worrybox import roster
from worrybox.audit import audit
from worrybox_web import form_problem, get_db, get_pupil_keys

from .forms import ButtonForm
from worrybox.db import write_transaction

# SQLite's largest integer: a bigger id is a page that does not exist, not an OverflowError.
ID = "int(max=9223372036854775807)"
EXPIRED = "That page had expired, so nothing was changed. What you typed is still here: press the button again."
BUTTON_EXPIRED = "That page had expired, so nothing was changed. Press the button again."
WORRY_BUTTON_EXPIRED = "That page had expired, so nothing was changed. Go back and press the button again."
NOT_ON_ROSTER = "(no longer on the roster)"


def check(form, expired=EXPIRED) -> int | None:
    """Validate a posted form; return None if it is good, else the status to show it again with."""
    return form_problem(form, expired)


def button_expired() -> bool:
    """Say whether a button with nothing to type came from a page that had expired."""
    return check(ButtonForm()) is not None


class Refused(Exception):
    """Raised inside a change to undo it; show() draws the page that says why."""

    def __init__(self, show):
        super().__init__("change refused")
        self.show = show


def save(form, show_again, change, done_url, confirmation, event=None, expired=EXPIRED):
    """Check a small form, make its change and audit it in one transaction, and go back with a confirmation.

    show_again(status) draws the page again when the form is wrong or expired, keeping what was typed.
    change(db) makes the change and returns the audit detail, or None when there is nothing to record; both go
    in one transaction. With no event, change keeps its own transaction and audit (the core does, for worries).
    change may raise Refused to undo its change and show why.
    The confirmation names no child and quotes nothing typed: it is kept in the session cookie until shown.
    """
    status = check(form, expired)
    if status:
        return show_again(status)
    db = get_db()
    try:
        if event is None:
            change(db)  # the core keeps its own transaction and audit entry
        else:
            with write_transaction(db):
                detail = change(db)
                if detail is not None:
                    audit(db, event, staff_id=g.staff.id, detail=detail)
    except Refused as refusal:
        return refusal.show()
    if confirmation:  # None when the page it goes to says what was done
        flash(confirmation)
    return redirect(done_url, 303)


def pupils_by_ref(refs) -> dict:
    """Pupils by pseudonym; a pupil who has left the roster is left out."""
    db, keys = get_db(), get_pupil_keys()
    found = {ref: roster.pupil_by_ref(db, keys, ref) for ref in set(refs)}
    return {ref: pupil for ref, pupil in found.items() if pupil}


def how_many(count, one, many=None) -> str:
    """Say a number with its noun in the right form: 1 worry, 2 worries, 1 minute, 3 minutes."""
    return "%s %s" % (count, one if count == 1 else many or one + "s")
