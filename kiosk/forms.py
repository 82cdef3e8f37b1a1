"""The kiosk's forms."""

import base64
import binascii
import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from worrybox.choices import FEELINGS, PLACES, TALK_TO, TOPICS
from worrybox_web.fields import FixedChoiceField, ReadableText, SignedWhenShownCSRF, strip_text
from worrybox.hear_back import ANIMALS
from worrybox.mediators import OUTCOMES
from worrybox.worries import MAX_TEXT
from worrybox.survey import ANSWERS as SURVEY_ANSWERS, QUESTIONS as SURVEY_QUESTIONS

SUBMISSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
PNG_DATA_URL = "data:image/png;base64,"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_DRAWING_CHARS = 700_000  # about 500 KB of PNG: far more than a finger drawing needs


def _choices(options):
    return [SelectChoice(value, label) for value, (label, _picture) in options.items()]


def _animal_field(label):
    return FixedChoiceField(label, choices=_choices(ANIMALS), validators=[Optional()])


class PictureCodeFields:
    """Three animals in order: a picture code a child chooses when posting, and checks their worry with later."""

    first_animal = _animal_field(_l("First animal"))
    second_animal = _animal_field(_l("Second animal"))
    third_animal = _animal_field(_l("Third animal"))

    @property
    def animal_fields(self):
        return (self.first_animal, self.second_animal, self.third_animal)

    @property
    def picture_code(self) -> tuple[str, ...] | None:
        """The three animals chosen, in order, or None unless all three were."""
        animals = tuple(field.data for field in self.animal_fields)
        return animals if all(animals) else None

    def check_picture_code(self) -> bool:
        """Ask for each missing animal; return whether all three were chosen."""
        if self.picture_code:
            return True
        for field in self.animal_fields:
            if not field.data:
                field.errors = [_l("Choose all three animals, then press Check.")]
        return False


class WorryForm(PictureCodeFields, FlaskForm):
    """A worry: pictures to choose, words to type, and a name or a picture code only if the child wants one."""

    class Meta:
        csrf_time_limit = None  # the app setting applies
        csrf_class = SignedWhenShownCSRF  # most posts redirect: no new token to sign

    feeling = FixedChoiceField(_l("How do you feel?"), choices=_choices(FEELINGS), validators=[Optional()])
    topic = FixedChoiceField(_l("What is it about?"), choices=_choices(TOPICS), validators=[Optional()])
    place = FixedChoiceField(_l("Where did it happen?"), choices=_choices(PLACES), validators=[Optional()])
    talk_to = FixedChoiceField(_l("Who would you like to talk to?"), choices=_choices(TALK_TO), validators=[Optional()])
    text = TextAreaField(
        _l("Tell us more, if you want to"),
        filters=[strip_text],
        validators=[Optional(), Length(max=MAX_TEXT, message=_l("That is a lot of words! Please make it a little "
                                                                  "shorter (up to %(max)d letters).", max=MAX_TEXT)),
                    ReadableText()],
    )
    drawing = HiddenField()
    pupil = StringField(_l("Your name"), filters=[strip_text], validators=[Optional(), Length(max=100)])
    urgent = HiddenField()
    submission_id = HiddenField()

    def validate_submission_id(self, field):
        if field.data and not SUBMISSION_ID.match(field.data):
            raise ValidationError(_l("Something went wrong while sending. Please press “Send my worry” again."))

    def validate_drawing(self, field):
        if not field.data:
            return
        problem = ValidationError(_l("Your drawing could not be read. Please draw it again."))
        if not field.data.startswith(PNG_DATA_URL) or len(field.data) > MAX_DRAWING_CHARS:
            field.data = None
            raise problem
        try:
            png = base64.b64decode(field.data[len(PNG_DATA_URL):], validate=True)
        except (binascii.Error, ValueError):
            field.data = None
            raise problem from None
        if not png.startswith(PNG_MAGIC):
            field.data = None
            raise problem

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        is_urgent = self.urgent.data == "y"
        if ok and not is_urgent and not (self.feeling.data or self.topic.data or self.text.data or self.drawing.data):
            self.form_errors.append(_l("Tell us a little first: choose a face, a picture, draw, or write something."))
            return False
        # Half a picture code never stops a worry: it is posted without one (see kiosk.views).
        return ok


class PictureCodeForm(PictureCodeFields, FlaskForm):
    """Check a worry with the three animals chosen when posting it."""

    def validate(self, extra_validators=None):
        return super().validate(extra_validators) and self.check_picture_code()


class NameCheckForm(PictureCodeFields, FlaskForm):
    """Check a worry with the name on it and the animals chosen when posting it: a name alone shows nothing."""

    pupil = StringField(_l("Your name"), filters=[strip_text], validators=[
        DataRequired(_l("Please choose your name.")), Length(max=100)])

    def validate(self, extra_validators=None):
        return super().validate(extra_validators) and self.check_picture_code()


class BookingForm(FlaskForm):
    """Book a chat with a peer mediator: a slot on a day, the child's name, maybe a topic picture."""

    slot = HiddenField()
    date = HiddenField()
    pupil = StringField(_l("Your name"), filters=[strip_text], validators=[
        DataRequired(_l("Please choose your name, so they know who is coming.")), Length(max=100)])
    topic = FixedChoiceField(_l("What would you like to talk about? (you can skip this)"), choices=_choices(TOPICS),
                       validators=[Optional()])

    def validate_slot(self, field):
        if not (field.data or "").isdigit():
            raise ValidationError(_l("Please choose a time first."))

    def validate_date(self, field):
        try:
            date.fromisoformat(field.data or "")
        except ValueError:
            raise ValidationError(_l("Please choose a time first.")) from None


class MediatorLoginForm(FlaskForm):
    """A mediator signs in with their name and PIN."""

    pupil = StringField(_l("Your name"), filters=[strip_text], validators=[DataRequired(_l("Choose your name.")),
                                                                          Length(max=100)])
    pin = PasswordField(_l("Your PIN"), validators=[DataRequired(_l("Type your PIN.")), Length(max=12)])


class OutcomeForm(FlaskForm):
    """How a chat went."""

    attended = RadioField(_l("Did the child come to the chat?"), choices=[SelectChoice("yes", _l("They came")),
                                                          SelectChoice("no", _l("They did not come"))],
                          validators=[DataRequired(_l("Say whether the child came to the chat."))])
    outcome = RadioField(_l("How did it go?"), choices=[SelectChoice(k, v) for k, v in OUTCOMES.items()],
                         validators=[Optional()])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if ok and self.attended.data == "yes" and not self.outcome.data:
            self.outcome.errors = [_l("Choose how it went.")]
            return False
        return ok


class DoneForm(FlaskForm):
    """Only a CSRF token: the mediator is finished."""


class SurveyForm(FlaskForm):
    """How safe do you feel? Every question may be skipped; only the class (or none) is kept with the answers."""

    class_name = StringField(filters=[strip_text], validators=[Optional(), Length(max=100)])


# One face question per survey question (the same choices each time): yes, sometimes, no.
for _question in SURVEY_QUESTIONS:
    setattr(SurveyForm, _question, RadioField(choices=[SelectChoice(value) for value in SURVEY_ANSWERS],
                                              validators=[Optional()]))
