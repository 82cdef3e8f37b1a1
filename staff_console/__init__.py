"""The staff console: where staff sign in, open the worries their keys can open, and record what they did."""

from werkzeug.middleware.proxy_fix import ProxyFix

from worrybox import casework
from worrybox_web import make_app


def create_app(test_config=None):
    """Create the staff console app."""
    # The only view that takes a file: the roster CSV.
    app = make_app(__name__, "console", test_config, upload_endpoints=frozenset({"people.import_roster"}))
    # Unlocked private keys, by session token: only in this process's memory, only while signed in.
    app.extensions["worrybox_keyrings"] = {}
    from . import (audit_log, auth, bookings, common, escalations, kiosk_admin, live, mediators, people, permissions, pupils,
                   reports, retention, rota, settings, triage)
    from . import actions, concerns, survey, themes, watch

    app.before_request(auth.load_signed_in_staff)
    app.context_processor(auth.signed_in_context)
    app.context_processor(escalations.alert_banner)
    app.context_processor(live.live_context)
    app.add_template_filter(rota.day_label, "day")
    app.add_template_filter(triage.choice_label, "choice")
    app.add_template_filter(triage.language_name)
    app.add_template_filter(triage.role_label)
    app.add_template_filter(retention.deleted_after)
    app.add_template_filter(casework.action_label)
    app.add_template_filter(common.how_many)
    app.add_template_filter(concerns.concern_category)
    app.context_processor(actions.follow_up_context)
    app.jinja_env.globals["key_holding_roles"] = permissions.SAFEGUARDING
    for module in (auth, triage, rota, mediators, bookings, escalations, settings, kiosk_admin, reports, audit_log,
                   people, pupils, retention, live, concerns, actions, watch, themes, survey):
        app.register_blueprint(module.bp)
    # Inside the proxy fix, if there is one, so it sees the client's own address.
    if isinstance(app.wsgi_app, ProxyFix):
        gate = app.wsgi_app.app = auth.SignInGate(app.wsgi_app.app)
    else:
        gate = app.wsgi_app = auth.SignInGate(app.wsgi_app)
    app.extensions["worrybox_sign_in_gate"] = gate
    return app
