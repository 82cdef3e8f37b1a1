"""The staff console: where staff sign in, open the worries their keys can open, and record what they did."""

from werkzeug.middleware.proxy_fix import ProxyFix

from worrybox_web import make_app


def create_app(test_config=None):
    """Create the staff console app."""
    # The only view that takes a file: the roster CSV.
    app = make_app(__name__, "console", test_config, upload_endpoints=frozenset({"people.import_roster"}))
    # Unlocked private keys, by session token: only in this process's memory, only while signed in.
    app.extensions["worrybox_keyrings"] = {}
    from . import audit_log, auth, kiosk_admin, live, pals, people, pupils, reports, retention, triage

    app.register_blueprint(auth.bp)
    app.register_blueprint(triage.bp)
    app.register_blueprint(pals.bp)
    app.register_blueprint(kiosk_admin.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(audit_log.bp)
    app.register_blueprint(people.bp)
    app.register_blueprint(pupils.bp)
    app.register_blueprint(retention.bp)
    app.register_blueprint(live.bp)
    # Inside the proxy fix, if there is one, so it sees the client's own address.
    if isinstance(app.wsgi_app, ProxyFix):
        gate = app.wsgi_app.app = auth.SignInGate(app.wsgi_app.app)
    else:
        gate = app.wsgi_app = auth.SignInGate(app.wsgi_app)
    app.extensions["worrybox_sign_in_gate"] = gate
    return app
