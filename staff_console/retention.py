"""How long closed worries are kept: the setting, and what the next daily run will delete."""

from datetime import datetime, timedelta, timezone

from flask import Blueprint, g, redirect, render_template, request, url_for

from worrybox import retention
from worrybox.db import get_setting, write_transaction
from worrybox.audit import audit
from worrybox_web import get_db

from .auth import role_required
from .forms import ButtonForm, RetentionForm
from .pals import SAFEGUARDING, _check

bp = Blueprint("retention", __name__)


@bp.app_template_filter("deleted_after")
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
@role_required(*SAFEGUARDING)
def retention_settings():
    return _render()


@bp.post("/retention")
@role_required(*SAFEGUARDING)
def save_retention():
    form = RetentionForm()
    status = _check(form)
    if status:
        return _render(form, status)
    db = get_db()
    with write_transaction(db):
        if form.retention_days.data != retention.retention_days(db):
            retention.set_retention_days(db, form.retention_days.data)
            audit(db, "settings_changed", staff_id=g.staff.id,
                  detail="retention_days %d" % form.retention_days.data)
    return redirect(url_for("retention.retention_settings"), 303)


# Confirming the list is a DSL's decision alone: nothing is deleted any other way.
CONFIRMERS = ("dsl",)


@bp.post("/retention/review")
@role_required(*CONFIRMERS)
def confirm_review():
    """Delete exactly the worries of the review list the DSL was shown and confirmed (those still on it)."""
    if not ButtonForm().validate():
        return _render(status=400)
    chosen = [int(value) for value in request.form.getlist("worry") if value.isdigit() and len(value) < 19]
    retention.confirm_deletion(get_db(), chosen, g.staff.id)
    return redirect(url_for("retention.retention_settings"), 303)
