"""Children to watch: who is nearest each pattern rule the DSL chose, and the rules themselves (DSL team only)."""

from datetime import datetime, timezone

from flask import Blueprint, g, render_template, url_for

from worrybox import escalation, patterns, roster
from worrybox_web import get_db, get_pupil_keys
from worrybox_web.errors import error_page

from .auth import allowed
from .forms import ButtonForm, PatternRuleForm
from .permissions import may
from .common import ID, WORRY_BUTTON_EXPIRED, save

bp = Blueprint("watch", __name__)


def _watch_list():
    """Each rule with the children nearest it now: (rule words, number, [(pseudonym, name, count)])."""
    db, keys = get_db(), get_pupil_keys()
    now = datetime.now(timezone.utc)
    threshold, window_days = escalation.visit_rule(db)
    lists = []
    today_rule = patterns.Rule(0, "visits", None, threshold + 1, window_days)
    for rule in [today_rule, *patterns.rules(db)]:
        children = []
        for pupil_ref, count in patterns.nearest(db, rule, now):
            pupil = roster.pupil_by_ref(db, keys, pupil_ref)
            children.append((pupil_ref, pupil.display_name if pupil else "A child who has left the roster",
                             pupil.class_name if pupil else "", count))
        words = "more than %d visits in %d days (the repeat-visit rule)" % (threshold, window_days) if rule.id == 0 \
            else rule.words
        lists.append({"rule": rule, "words": words, "children": children})
    return lists


def _page(form=None, status=200):
    return render_template("console/watch.html", lists=_watch_list(), form=form or PatternRuleForm(formdata=None),
                           button_form=ButtonForm(formdata=None), may_choose=may(g.staff.role, "choose_pattern_rules")), status


@bp.get("/watch")
@allowed("see_children_to_watch")
def children_to_watch():
    return _page()


@bp.post("/watch/rules")
@allowed("choose_pattern_rules")
def add_rule():
    form = PatternRuleForm()

    def change(db):
        rule_id = patterns.add_rule(db, form.kind.data, form.at_least.data, form.window_days.data,
                                    topic=form.topic.data or None, staff_id=g.staff.id)
        return "pattern rule added: %s" % patterns.describe_rule(db, rule_id)
    return save(form, lambda status: _page(form, status), change, url_for("watch.children_to_watch"),
                "Rule added.", event="settings_changed",
                expired="That page had expired. Your rule is still here: press Add again.")


@bp.post("/watch/rules/<%s:rule_id>/remove" % ID)
@allowed("choose_pattern_rules")
def remove_rule(rule_id):
    return save(ButtonForm(), lambda status: error_page(status, WORRY_BUTTON_EXPIRED),
                lambda db: "pattern rule removed: %s" % patterns.describe_rule(db, rule_id)
                if patterns.remove_rule(db, rule_id) else None,
                url_for("watch.children_to_watch"), "Rule removed.", event="settings_changed")
