"""Which role may do what in the staff console: one table that every view's guard and the permission test read."""

from worrybox.keys import KEY_HOLDING_ROLES
from worrybox.staff import ROLES

# The safeguarding team: the only roles that hold the team key and see every worry.
SAFEGUARDING = KEY_HOLDING_ROLES
EVERYONE = tuple(ROLES)

MAY = {
    # Any signed-in member of staff: the worry queue (each reads only what their key opens), their own password.
    "use_the_console": EVERYONE,
    # Everyone who can be sent a child's worry. The coordinator and school IT never are.
    "see_a_childs_picture": (*SAFEGUARDING, "head", "teacher", "governor"),
    "see_a_childs_whole_picture": SAFEGUARDING,
    "export_a_case": SAFEGUARDING,
    "mark_child_protection": SAFEGUARDING,
    "see_alerts": SAFEGUARDING,
    "act_on_escalations": SAFEGUARDING,
    # Who is e-mailed, in what order, when nobody acknowledges an urgent alert: school IT must never redirect it.
    "choose_who_is_on_call": SAFEGUARDING,
    # Numbers, never names: the head teacher(s) and governors read it too.
    "read_the_governors_report": (*SAFEGUARDING, "head", "governor"),
    # "No threshold": every adult in school logs concerns; logging one lets nobody read anything.
    "log_a_concern": EVERYONE,
    "record_a_referral": SAFEGUARDING,
    "see_children_to_watch": SAFEGUARDING,
    "choose_pattern_rules": ("dsl",),
    # Nothing is deleted until the DSL confirms the "to review for deletion" list.
    "confirm_deletions": ("dsl",),
    # Topics and places of their own class this half-term, as numbers only.
    "see_circle_time_themes": ("teacher",),
    # The "How safe do you feel?" survey: the team opens it; the head reads the results too.
    "open_the_survey": SAFEGUARDING,
    "read_the_survey_results": (*SAFEGUARDING, "head"),
    "choose_how_long_worries_are_kept": SAFEGUARDING,
    # The rota, the mediators and their bookings (never what a child wrote).
    "run_the_mediators": (*SAFEGUARDING, "coordinator"),
    # The alarms (repeat-visit rule, alert recipients, mail server) belong to the DSL team: IT never changes them.
    "change_safeguarding_settings": SAFEGUARDING,
    # The kiosk's language, idle time and tablets are school IT's to manage too; escalations and worries never are.
    "change_school_settings": (*SAFEGUARDING, "it_admin"),
    "manage_staff_and_roster": ("dsl", "it_admin"),
    # The staff page: IT adds accounts, but only the DSL team approves who receives worries.
    "see_staff_and_approvals": ("dsl", "deputy", "it_admin"),
    "approve_staff": SAFEGUARDING,
    "confirm_a_review": SAFEGUARDING,
    "reset_a_password": ("dsl",),
    "make_a_new_team_key": ("dsl",),
    "read_the_audit_log": ("dsl",),
}


def may(role: str | None, action: str) -> bool:
    """Say whether a role may do an action; an unknown action is a mistake in the code, not a refusal."""
    return role in MAY[action]
