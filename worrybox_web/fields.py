"""Form rules and filters both apps share (Flask-WTF / WTForms)."""

import functools
import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import ValidationError

# Tab, newline and carriage return are ordinary typing; other control characters are not, and U+FFFD is
# what a letter that arrived garbled becomes.
_UNREADABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")


class ReadableText:
    """Refuse text with NUL or other control characters, or with letters that arrived garbled."""

    def __call__(self, form, field):
        if _UNREADABLE.search(field.data or ""):
            raise ValidationError(_l("Some of those letters could not be read. Please check your words and try again."))


def strip_text(value):
    """Trim spaces at either end of typed text."""
    return value.strip() if isinstance(value, str) else value


class FixedChoiceField(RadioField):
    """A RadioField whose choices (SelectChoice objects) are fixed when the form class is defined.

    WTForms copies and checks a field's choices every time a form is made, and checks an answer by
    building every option again; for the kiosk's picture questions that was a tenth of a post. Here the
    list is kept as given and an answer is checked against its values.
    """

    def __init__(self, label=None, validators=None, choices=(), **kwargs):
        super().__init__(label, validators, **kwargs)
        self._choices = choices

    def pre_validate(self, form):
        if not any(self.data == choice.value for choice in self._choices):
            super().pre_validate(form)  # WTForms' own check and message, only for an answer that is not a choice


class SignedWhenShownCSRF(FlaskForm.Meta.csrf_class):
    """Flask-WTF's CSRF protection, checked as ever, but the token for the next page is signed only if it is shown.

    A post that succeeds redirects and never shows its form again; signing a fresh token for it anyway cost
    about 40 µs of a post's 3 ms. Set it as a form's Meta.csrf_class.
    """

    def generate_csrf_token(self, csrf_token_field):
        return _TokenWhenShown(functools.partial(super().generate_csrf_token, csrf_token_field))


class _TokenWhenShown:
    __slots__ = ("_sign", "_token")

    def __init__(self, sign):
        self._sign, self._token = sign, None

    def __str__(self):
        if self._token is None:
            self._token = self._sign()
        return self._token

    def __html__(self):
        return str(self)  # URL-safe base64 and dots: nothing to escape
