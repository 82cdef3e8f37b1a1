"""How long closed worries are kept, and the "to review for deletion" list only the DSL confirms."""

from datetime import datetime, timedelta, timezone

from flask import Blueprint, g, redirect, render_template, request, url_for

from worrybox import retention
from worrybox.db import get_setting
from worrybox_web import get_db

from .auth import allowed
from .common import button_expired, save
from .forms import ButtonForm, RetentionForm

bp = Blueprint("retention", __name__)


def deleted_after(closed_at):
    """The day a closed worry becomes due for deletion, as an ISO time for |localtime."""
    if not closed_at:
        return None
    days = retention.retention_days(get_db())
    return (datetime.fromisoformat(closed_at) + timedelta(days=days)).isoformat()


def _render(form=None, status=200):
    db = get_db()
    days = retention.retention_days(db)
    form = form or RetentionForm(formdata=None, retention_days=days)
    return render_template(
        "console/retention.html", form=form, days=days, last_run=get_setting(db, retention.LAST_RUN_SETTING),
        review=retention.review_list(db, datetime.now(timezone.utc)), button_form=ButtonForm(formdata=None),
        child_protection=db.execute("SELECT count(*) FROM worries WHERE child_protection = 1").fetchone()[0],
    ), status


@bp.get("/retention")
@allowed("choose_how_long_worries_are_kept")
def retention_settings():
    return _render()


@bp.post("/retention")
@allowed("choose_how_long_worries_are_kept")
def save_retention():
    form = RetentionForm()

    def change(db):
        before = retention.retention_days(db)
        if form.retention_days.data == before:
            return None
        retention.set_retention_days(db, form.retention_days.data)
        return "retention_days: %d → %d" % (before, form.retention_days.data)
    return save(form, lambda status: _render(form, status), change, url_for("retention.retention_settings"),
                "How long closed worries are kept was saved.", event="settings_changed")


@bp.post("/retention/review")
@allowed("confirm_deletions")
def confirm_review():
    """Delete exactly the worries of the review list the DSL was shown and confirmed (those still on it)."""
    if button_expired():
        return _render(status=400)
    chosen = [int(value) for value in request.form.getlist("worry") if value.isdigit() and len(value) < 19]
    retention.confirm_deletion(get_db(), chosen, g.staff.id)
    return redirect(url_for("retention.retention_settings"), 303)
