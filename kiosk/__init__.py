"""The kiosk: the classroom tablet where a child posts a worry. It can seal a worry, never read one."""

from flask_babel import get_translations

from worrybox_web import make_app


def create_app(test_config=None):
    """Create the kiosk app."""
    from . import hear_back, pals, views
    from .words import for_age

    app = make_app(__name__, "kiosk", test_config, locale_selector=views.kiosk_locale)
    # The kiosk's pages translate through for_age, so a secondary-school tablet says "staff", not "grown-ups".
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: get_translations().ugettext(for_age(s)),
        ngettext=lambda s, p, n: get_translations().ungettext(for_age(s), for_age(p), n),
        pgettext=lambda c, s: get_translations().upgettext(c, for_age(s)),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, for_age(s), for_age(p), n),
        newstyle=True,
    )
    app.register_blueprint(views.bp)
    app.register_blueprint(pals.bp)
    app.register_blueprint(hear_back.bp)
    return app
