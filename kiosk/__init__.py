"""The kiosk: the classroom tablet where a child posts a worry. It can seal a worry, never read one."""

from flask_babel import get_translations

from worrybox_web import make_app


def create_app(test_config=None):
    """Create the kiosk app."""
    from . import hear_back, mediators, survey, views
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
    # Hooks run in this order: which tablet, then rest if nothing can be sealed, then the mediator's session.
    app.before_request(views.recognise_tablet)
    app.before_request(views.refuse_when_resting)
    app.before_request(mediators.end_mediator_view_when_left_or_idle)
    app.after_request(views.remember_tablet)
    app.context_processor(views.kiosk_context)
    app.context_processor(mediators.scheme)
    app.context_processor(hear_back.picture_code_choices)
    app.add_template_filter(mediators.weekday_date, "weekday_date")
    app.context_processor(survey.survey_context)
    for module in (views, mediators, hear_back, survey):
        app.register_blueprint(module.bp)
    return app
