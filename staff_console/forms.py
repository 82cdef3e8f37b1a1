"""The staff console's forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from worrybox.choices import STATUSES
from worrybox.forms import ReadableText, strip_text
from worrybox.casework import MAX_NOTE


class LoginForm(FlaskForm):
    email = EmailField("Email", filters=[strip_text], validators=[DataRequired("Enter your email."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=1024)])


class ActionForm(FlaskForm):
    """Change a worry's status and/or write what was done."""

    status = SelectField("Status", choices=[SelectChoice(value, text) for value, text in STATUSES.items()])
    note = TextAreaField("What did you do?", filters=[strip_text],
                         validators=[Optional(), Length(max=MAX_NOTE), ReadableText()])


class LogoutForm(FlaskForm):
    """Only a CSRF token: signing out is a POST so another site cannot sign you out."""
