"""Form rules and filters both apps share (Flask-WTF / WTForms)."""

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

# Tab, newline and carriage return are ordinary typing; other control characters are not.
_ALLOWED_CONTROL = {"\t", "\n", "\r"}


class ReadableText:
    """Refuse text with NUL or other control characters, or with letters that arrived garbled."""

    def __call__(self, form, field):
        value = field.data or ""
        if "\ufffd" in value or any(ord(ch) < 32 and ch not in _ALLOWED_CONTROL for ch in value):
            raise ValidationError(_l("Some of those letters could not be read. Please check your words and try again."))


def strip_text(value):
    """Trim spaces at either end of typed text."""
    return value.strip() if isinstance(value, str) else value
