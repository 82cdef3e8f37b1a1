"""The kiosk: the classroom tablet where a child posts a worry. It can seal a worry, never read one."""

from worrybox_web import make_app


def create_app(test_config=None):
    """Create the kiosk app."""
    from . import hear_back, pals, views

    app = make_app(__name__, "kiosk", test_config, locale_selector=views.kiosk_locale)
    app.register_blueprint(views.bp)
    app.register_blueprint(pals.bp)
    app.register_blueprint(hear_back.bp)
    return app
