"""The staff console: where staff sign in, open the worries their keys can open, and record what they did."""

from worrybox_web import make_app


def create_app(test_config=None):
    """Create the staff console app."""
    # The only view that takes a file: the roster CSV.
    app = make_app(__name__, "console", test_config, upload_endpoints=frozenset({"people.import_roster"}))
    # Unlocked private keys, by session token: only in this process's memory, only while signed in.
    app.extensions["worrybox_keyrings"] = {}
    from . import audit_log, auth, kiosk_admin, pals, people, pupils, reports, retention, triage
    from . import actions, concerns, themes, watch

    app.register_blueprint(auth.bp)
    app.register_blueprint(triage.bp)
    app.register_blueprint(pals.bp)
    app.register_blueprint(kiosk_admin.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(audit_log.bp)
    app.register_blueprint(people.bp)
    app.register_blueprint(pupils.bp)
    app.register_blueprint(retention.bp)
    app.register_blueprint(concerns.bp)
    app.register_blueprint(actions.bp)
    app.register_blueprint(watch.bp)
    app.register_blueprint(themes.bp)
    return app
