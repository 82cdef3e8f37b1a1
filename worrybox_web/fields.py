"""Form rules and filters both apps share (Flask-WTF / WTForms)."""

import re

from flask_babel import lazy_gettext as _l
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
        if self.process_errors:
            return
        if not any(self.data == choice.value for choice in self._choices):
            raise ValidationError(self.invalid_choice_message or self.gettext("Not a valid choice."))
