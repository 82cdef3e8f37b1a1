"""The kiosk's forms."""

import re

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from worrybox.choices import FEELINGS, PLACES, TALK_TO, TOPICS
from worrybox.forms import ReadableText, strip_text
from worrybox.worries import MAX_TEXT

SUBMISSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _choices(options):
    return [SelectChoice(value, label) for value, (label, _picture) in options.items()]


class WorryForm(FlaskForm):
    """A worry: pictures to choose, words to type, and a name only if the child wants one."""

    class Meta:
        csrf_time_limit = None  # the app setting applies

    feeling = RadioField("How do you feel?", choices=_choices(FEELINGS), validators=[Optional()])
    topic = RadioField("What is it about?", choices=_choices(TOPICS), validators=[Optional()])
    place = RadioField("Where did it happen?", choices=_choices(PLACES), validators=[Optional()])
    talk_to = RadioField("Who would you like to talk to?", choices=_choices(TALK_TO), validators=[Optional()])
    text = TextAreaField(
        "Tell us more, if you want to",
        filters=[strip_text],
        validators=[Optional(), Length(max=MAX_TEXT, message="That is a lot of words! Please make it a little "
                                                                 "shorter (up to %d letters)." % MAX_TEXT),
                    ReadableText()],
    )
    pupil = StringField("Your name", filters=[strip_text], validators=[Optional(), Length(max=100)])
    urgent = HiddenField()
    submission_id = HiddenField()

    def validate_submission_id(self, field):
        if field.data and not SUBMISSION_ID.match(field.data):
            raise ValidationError("Please press Send again.")

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        is_urgent = self.urgent.data == "y"
        if ok and not is_urgent and not (self.feeling.data or self.topic.data or self.text.data):
            self.form_errors.append("Tell us a little first: choose a face, a picture, or write something.")
            return False
        return ok
