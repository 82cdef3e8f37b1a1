"""The staff console's forms."""

import re
from datetime import date, timedelta

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateField, DateTimeLocalField, EmailField, HiddenField, IntegerField,
                     PasswordField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, StopValidation,
                                ValidationError)
from wtforms.widgets import CheckboxInput, ListWidget

from worrybox import retention
from worrybox.choices import STATUSES
from worrybox_web.fields import ReadableText, strip_text
from worrybox.casework import MAX_NOTE
from worrybox.hear_back import KIND_PHRASES, MAX_WORDS
from worrybox.languages import LANGUAGES
from worrybox.mediators import SCHOOL_DAYS, WEEKDAYS
from worrybox.concerns import CATEGORIES as CONCERN_CATEGORIES, WHERE as CONCERN_PLACES
from worrybox.worries import MAX_TEXT
from worrybox.followups import AGENCIES, MAX_WORDS as FOLLOW_UP_MAX
from worrybox.patterns import KINDS as PATTERN_KINDS, MAX_AT_LEAST as PATTERN_MAX, MIN_AT_LEAST as PATTERN_MIN
from worrybox.choices import TOPICS


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


# Peer mediators, escalations and settings --------------------------------------------------------

CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})(?::\d{2})?$")  # what people type
HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")  # what is stored
EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+$")
HOST = re.compile(r"^[A-Za-z0-9.\-]+$|^\[[0-9A-Fa-f:.]+\]$")
DAY_MESSAGE = "Choose a day from Monday to Friday."
PAUSE_MESSAGE = "Choose the last day of the pause, like 2026-12-18."
TIME_MESSAGE = "Write the time as hours and minutes, like 12:15."


def one_line(value):
    """Trim typed text and fold any line breaks or runs of spaces into single spaces."""
    return " ".join(value.split()) if isinstance(value, str) else value


def clock_time(value):
    """Write a typed time as HH:MM (9:05 and 9.05 become 09:05); leave anything else as typed."""
    value = strip_text(value)
    match = CLOCK.match(value) if isinstance(value, str) else None
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return "%02d:%s" % (int(match[1]), match[2])
    return value


def _stop_if_unreadable(form, field):
    # The field's own message already says what to type; a range check on nothing would repeat it.
    if field.process_errors:
        raise StopValidation()


def whole_number(label, low, high, optional=False, **kwargs):
    """A whole-number field with one kind message for text, blanks and numbers out of range."""
    message = "Enter a whole number from %d to %d." % (low, high)
    first = Optional() if optional else _stop_if_unreadable
    return IntegerField(label, validators=[first, NumberRange(low, high, message)],
                        invalid_value_message=message, **kwargs)


def email_list(text: str) -> list[str]:
    """Split comma-separated e-mail addresses, dropping blanks."""
    return [part.strip() for part in (text or "").replace(";", ",").split(",") if part.strip()]


def clock_field(label, missing):
    return StringField(label, filters=[clock_time], validators=[
        DataRequired(missing), Regexp(HH_MM, message=TIME_MESSAGE)])


def mediator_checkboxes(label):
    # Choices are the active mediators, set by the view before validating or drawing the form.
    return SelectMultipleField(
        label, choices=[], widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
        invalid_choice_message="One of those mediators is no longer on the list. Please choose again.")


class SlotForm(FlaskForm):
    """A weekly duty slot on the rota."""

    weekday = SelectField("Day", coerce=int, choices=[SelectChoice(n, WEEKDAYS[n]) for n in SCHOOL_DAYS],
                          invalid_value_message=DAY_MESSAGE, invalid_choice_message=DAY_MESSAGE)
    start_time = clock_field("Starts at", "Enter when the slot starts, like 12:15.")
    end_time = clock_field("Ends at", "Enter when the slot ends, like 12:45.")
    place = StringField("Place", filters=[one_line], validators=[
        DataRequired("Say where the chats happen, like the Rainbow Room."),
        Length(max=80, message="Please keep the place short: up to 80 letters."), ReadableText()])
    capacity = whole_number("How many chats fit", 1, 20)
    mediators = mediator_checkboxes("Mediators on duty")

    def validate_end_time(self, field):
        start = self.start_time.data or ""
        if HH_MM.match(start) and HH_MM.match(field.data or "") and field.data <= start:
            raise ValidationError("The slot must end after it starts (it starts at %s)." % start)


class SlotMediatorsForm(FlaskForm):
    """Who is on duty in one slot."""

    mediators = mediator_checkboxes("Mediators on duty")


class PauseForm(FlaskForm):
    """Pause a slot for a holiday or a week off."""

    today = None  # the school's date, set by the view; the server's date otherwise

    until = DateField("Paused up to and including", invalid_value_message=PAUSE_MESSAGE,
                      validators=[_stop_if_unreadable, DataRequired(PAUSE_MESSAGE)])

    def validate_until(self, field):
        today = self.today or date.today()
        if field.data < today:
            raise ValidationError("That day has already gone. Choose today or a later day.")
        if field.data > today + timedelta(days=366):
            raise ValidationError("Choose a day within the next year.")


class ButtonForm(FlaskForm):
    """A button that changes one thing: only a CSRF token."""


class SchemeNameForm(FlaskForm):
    scheme_name = StringField("What your school calls its mediators", filters=[one_line], validators=[
        DataRequired("Give the scheme a name, like Problem Pals."),
        Length(max=40, message="Please keep the name short: up to 40 letters."), ReadableText()])


class AddMediatorForm(FlaskForm):
    """Make a pupil of one class a mediator."""

    class_name = HiddenField()
    pupil = SelectField("Pupil", choices=[], invalid_choice_message="Choose a pupil from the list.")


class AcknowledgeForm(FlaskForm):
    """Close an escalation with a note for the chronology."""

    note = TextAreaField("What did you do or decide?", filters=[strip_text], validators=[
        DataRequired("Write a short note: it goes into the chronology."), Length(max=MAX_NOTE), ReadableText()])


class SettingsForm(FlaskForm):
    """The repeat-visit rule and where alert e-mails go."""

    visit_threshold = whole_number("Alert after more than this many visits", 1, 50)
    visit_window_days = whole_number("Counting visits over this many days", 7, 365)
    smtp_host = StringField("Mail server", filters=[strip_text], validators=[
        Optional(), Length(max=253, message="That server name is too long."),
        Regexp(HOST, message="Write the mail server's name, like smtp.school.example.")])
    smtp_port = whole_number("Port", 1, 65535, optional=True)
    smtp_security = SelectField("Security", choices=[
        SelectChoice("starttls", "STARTTLS (usually port 587)"), SelectChoice("tls", "TLS (usually port 465)"),
        SelectChoice("none", "None (only on a network you trust)")])
    smtp_username = StringField("User name", filters=[strip_text],
                                validators=[Optional(), Length(max=254), ReadableText()])
    smtp_password = PasswordField("Password", validators=[Optional(), Length(max=1024), ReadableText()])
    forget_password = BooleanField("Remove the saved password")
    smtp_sender = StringField("Send from", filters=[strip_text], validators=[Optional(), Length(max=254)])
    alert_recipients = StringField("Send alerts to", filters=[strip_text],
                                   validators=[Length(max=2000, message="That is too many addresses.")])
    on_call_minutes = whole_number("Minutes before the next person on call is alerted", 1, 240, optional=True)
    on_call_list = StringField("On-call list, in order", filters=[strip_text],
                               validators=[Length(max=2000, message="That is too many addresses.")])

    def validate_on_call_list(self, field):
        wrong = [address for address in email_list(field.data) if len(address) > 254 or not EMAIL.match(address)]
        if wrong:
            raise ValidationError("This does not look like an e-mail address: %s. Separate addresses with commas."
                                  % wrong[0][:60])

    def validate_smtp_sender(self, field):
        if field.data and not EMAIL.match(field.data):
            raise ValidationError("That does not look like an e-mail address.")

    def validate_alert_recipients(self, field):
        addresses = email_list(field.data)
        wrong = [address for address in addresses if len(address) > 254 or not EMAIL.match(address)]
        if wrong:
            raise ValidationError("This does not look like an e-mail address: %s. Separate addresses with commas."
                                  % wrong[0][:60])
        if self.smtp_host.data and not addresses:
            raise ValidationError("Add at least one e-mail address to send alerts to.")


class KioskSettingsForm(FlaskForm):
    """How the kiosk starts and how soon an untouched page clears itself."""

    kiosk_language = SelectField("The kiosk starts in", choices=[
        SelectChoice(code, name) for code, (name, _direction) in LANGUAGES.items()])
    kiosk_idle_seconds = whole_number("Clear an untouched page after this many seconds", 15, 600)


class TabletForm(FlaskForm):
    """Name a classroom tablet."""

    name = StringField("Tablet name", filters=[one_line], validators=[
        DataRequired("Give the tablet a name, such as 'Class 4 tablet'."),
        Length(max=60, message="Keep the name to 60 characters or fewer."), ReadableText()])


# Two-factor sign-in and passwords ------------------------------------------------------------------


class CodeForm(FlaskForm):
    """The six-digit code from an authenticator app, or a backup code."""

    code = StringField("Code", filters=[strip_text], validators=[
        DataRequired("Type the code your authenticator app shows."), Length(max=64)])


class PasswordForm(FlaskForm):
    """Change your own password."""

    current_password = PasswordField("Your current password", validators=[
        DataRequired("Type your current password."), Length(max=1024)])
    new_password = PasswordField("New password (at least 12 characters)", validators=[
        DataRequired("Type a new password."), Length(min=12, max=1024, message=(
            "A staff password needs at least 12 characters: it protects the keys that open children's worries."))])
    confirm = PasswordField("New password again", validators=[DataRequired("Type the new password again.")])

    def validate_confirm(self, field):
        if field.data != self.new_password.data:
            raise ValidationError("The two new passwords are not the same.")


class RetentionForm(FlaskForm):
    """How long closed worries that never became a child-protection concern are kept."""

    retention_days = whole_number("Keep closed worries for this many days after closing",
                                  retention.MIN_DAYS, retention.MAX_DAYS)


# Staff accounts, the team key and the roster ----------------------------------------------------

STAFF_PASSWORD_MESSAGE = ("A staff password needs at least 12 characters: it protects the keys that open "
                          "children's worries.")


class AddStaffForm(FlaskForm):
    """Add a member of staff; the roles offered are set by the view."""

    name = StringField("Name", filters=[one_line], validators=[
        DataRequired("Give their name."), Length(max=100, message="Keep the name to 100 characters."), ReadableText()])
    email = EmailField("Email", filters=[strip_text], validators=[DataRequired("Give their school email."),
                                                                  Length(max=254)])
    role = SelectField("Role", choices=[], invalid_choice_message="Choose one of the roles in the list.")
    class_name = StringField("Class they teach (class teachers)", filters=[one_line], validators=[
        Optional(), Length(max=100, message="Keep the class to 100 characters."), ReadableText()])
    password = PasswordField("Password (leave blank to have one made up)", validators=[
        Optional(), Length(min=12, max=1024, message=STAFF_PASSWORD_MESSAGE)])

    def validate_email(self, field):
        if not EMAIL.match(field.data or ""):
            raise ValidationError("That does not look like an e-mail address.")

    def validate_class_name(self, field):
        if self.role.data == "teacher" and not field.data:
            raise ValidationError("Give the class they teach, written as in the roster (like 4B): worries their "
                                  "pupils send to \"my teacher\" reach them.")


class ResetPasswordForm(FlaskForm):
    """A DSL resets a forgotten password."""

    password = PasswordField("New password (leave blank to have one made up)", validators=[
        Optional(), Length(min=12, max=1024, message=STAFF_PASSWORD_MESSAGE)])


class RotateTeamKeyForm(FlaskForm):
    """A DSL makes a new team key (and a new recovery code)."""

    ready = BooleanField("I am ready to write down the new recovery code and lock it away", validators=[
        DataRequired("Tick the box when you have paper ready: the new recovery code is shown only once.")])


class RosterForm(FlaskForm):
    """Upload the roster as a CSV file."""

    roster_file = FileField("Roster file (CSV)", validators=[
        FileRequired("Choose the CSV file your MIS or spreadsheet saved.")])


class ReplyForm(FlaskForm):
    """What the child sees when they check at the kiosk: a kind phrase or a few words, and 'find you today'."""

    phrase = SelectField("A kind phrase", choices=[SelectChoice("", "(none)")] + [
        SelectChoice(key, text) for key, text in KIND_PHRASES.items()], validators=[Optional()])
    words = StringField("Or a few words of your own", filters=[one_line], validators=[
        Optional(), Length(max=MAX_WORDS, message="Keep it short for the child: up to %d characters." % MAX_WORDS),
        ReadableText()])
    find_child_today = BooleanField("Tell the child: a grown-up will come and find you today")

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if ok and self.phrase.data and self.words.data:
            self.words.errors = ["Choose a kind phrase or write your own words, not both."]
            return False
        if ok and not (self.phrase.data or self.words.data or self.find_child_today.data):
            self.form_errors.append("Choose a kind phrase, write a few words, or tick 'a grown-up will come and "
                                    "find you today'.")
            return False
        return ok


# Staff concerns ("no threshold") -----------------------------------------------------------------


class ConcernForm(FlaskForm):
    """Log a concern about a child: who, what was seen or heard (sealed), a category, where and when."""

    find = StringField("Which child? Type part of their name, or their class", filters=[one_line],
                       validators=[Optional(), Length(max=100), ReadableText()])
    # The choices are the children the search found; the view checks the chosen one is on the roster.
    pupil = RadioField("Choose the child", choices=[], validate_choice=False, validators=[Optional()])
    text = TextAreaField("What did you see or hear?", filters=[strip_text], validators=[
        DataRequired("Write what you saw or heard, in your own words."), Length(max=MAX_TEXT), ReadableText()])
    category = RadioField("What is it about?", choices=[SelectChoice(*item) for item in CONCERN_CATEGORIES.items()],
                          validators=[InputRequired("Choose what it is about.")])
    place = SelectField("Where?", choices=[SelectChoice("", "Not sure")] + [
        SelectChoice(*item) for item in CONCERN_PLACES.items()], validators=[Optional()])
    happened_at = DateTimeLocalField("When?", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                     validators=[InputRequired("Say when it happened, even roughly.")])

    chosen = None  # (pseudonym, pupil) the view found on the roster for the chosen child, if any
    now = None  # the school's time now, set by the view

    @property
    def happened(self):
        """When it happened, where the school is (the field holds a time without a zone)."""
        return self.happened_at.data.replace(tzinfo=self.now.tzinfo)

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)  # every field's errors are lists from here on
        if self.chosen is None:
            self.pupil.errors.append("Find the child and choose them.")
            ok = False
        if self.happened_at.data and self.now is not None:
            if self.happened > self.now + timedelta(minutes=5):
                self.happened_at.errors.append("That time has not come yet: say when it happened.")
                ok = False
            elif self.happened < self.now - timedelta(days=366):
                self.happened_at.errors.append("Choose a time within the last year.")
                ok = False
        return ok


# Actions to follow up and referrals ----------------------------------------------------------------


class FollowUpForm(FlaskForm):
    """Give a worry or concern an action: who does it, by when, and what (sealed)."""

    owner = SelectField("Who will do it?", choices=[], validate_choice=False,
                        validators=[InputRequired("Choose who will do it.")])
    due_on = DateField("By when?", validators=[InputRequired("Choose the day it is due, like 2026-12-18.")])
    what = TextAreaField("What is to be done?", filters=[strip_text], validators=[
        DataRequired("Say what is to be done."), Length(max=FOLLOW_UP_MAX), ReadableText()])

    today = None  # the school's date, set by the view

    def validate_owner(self, field):
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError("Choose who will do it.")

    def validate_due_on(self, field):
        if self.today and field.data is not None and field.data < self.today:
            raise ValidationError("That day has passed: choose today or a day to come.")


class ReferralForm(FlaskForm):
    """Record a referral to another agency: to whom and when (counted), the reference (sealed)."""

    agency = SelectField("Referred to", choices=[SelectChoice(*item) for item in AGENCIES.items()],
                         validators=[InputRequired("Choose who the referral went to.")])
    referred_on = DateField("On", validators=[InputRequired("Choose the day of the referral, like 2026-12-01.")])
    reference = StringField("Their reference (if any)", filters=[one_line],
                            validators=[Optional(), Length(max=FOLLOW_UP_MAX), ReadableText()])

    today = None  # the school's date, set by the view

    def validate_referred_on(self, field):
        if self.today and field.data is not None and field.data > self.today:
            raise ValidationError("That day has not come yet: choose the day the referral was made.")


class OutcomeForm(FlaskForm):
    """What came of a referral (sealed)."""

    outcome = TextAreaField("What came of it?", filters=[strip_text], validators=[
        DataRequired("Say what came of the referral."), Length(max=FOLLOW_UP_MAX), ReadableText()])


# Pattern rules the DSL chooses -------------------------------------------------------------------


class PatternRuleForm(FlaskForm):
    """A rule: at least so many staff concerns, worries (about a topic) or visits about one child in so many days."""

    at_least = IntegerField("At least", validators=[
        InputRequired("Write how many, from %d to %d." % (PATTERN_MIN, PATTERN_MAX)),
        NumberRange(PATTERN_MIN, PATTERN_MAX, "Write how many, from %d to %d." % (PATTERN_MIN, PATTERN_MAX))])
    kind = SelectField("of", choices=[SelectChoice(key, words[1]) for key, words in PATTERN_KINDS.items()])
    topic = SelectField("about (worries only)", choices=[SelectChoice("", "any topic")] + [
        SelectChoice(key, value[0]) for key, value in TOPICS.items()], validators=[Optional()])
    window_days = IntegerField("in this many days", validators=[
        InputRequired("Write the number of days, from 1 to 366."),
        NumberRange(1, 366, "Write the number of days, from 1 to 366.")])

    def validate_topic(self, field):
        if field.data and self.kind.data != "worries":
            raise ValidationError("Only a rule about worries can have a topic.")


# The "How safe do you feel?" survey --------------------------------------------------------------


class SurveyWindowForm(FlaskForm):
    """Open the survey at the kiosk for some school days."""

    opens_on = DateField("First day", validators=[InputRequired("Choose the first day, like 2026-12-07.")])
    closes_on = DateField("Last day", validators=[InputRequired("Choose the last day, like 2026-12-11.")])

    today = None  # the school's date, set by the view

    def validate_closes_on(self, field):
        if self.today and field.data is not None and field.data < self.today:
            raise ValidationError("That day has passed: choose days to come.")
