"""The pictures a child chooses from, with the words beside them (value: (label, picture in static/pictures))."""

from .languages import N_

FEELINGS = {
    "sad": (N_("Sad"), "feeling-sad"),
    "worried": (N_("Worried"), "feeling-worried"),
    "scared": (N_("Scared"), "feeling-scared"),
    "angry": (N_("Angry"), "feeling-angry"),
    "lonely": (N_("Lonely"), "feeling-lonely"),
    "confused": (N_("Mixed up"), "feeling-confused"),
    "okay": (N_("Okay"), "feeling-okay"),
}
# Allegations against staff are the head teacher's to handle: such a worry never reaches a class teacher.
ADULT_AT_SCHOOL = "adult_at_school"
TOPICS = {
    "friends": (N_("Friends"), "topic-friends"),
    "family": (N_("Family"), "topic-family"),
    "bullying": (N_("Someone is unkind to me"), "topic-bullying"),
    "schoolwork": (N_("School work"), "topic-schoolwork"),
    "body": (N_("My body or health"), "topic-body"),
    "online": (N_("Something online"), "topic-online"),
    "home": (N_("Home"), "topic-home"),
    ADULT_AT_SCHOOL: (N_("A grown-up at school"), "topic-adult_at_school"),
    "other": (N_("Something else"), "topic-other"),
}
# What a child may say a peer-mediator chat is about: a pupil mediator must never hear of an allegation against staff.
CHAT_TOPICS = {key: value for key, value in TOPICS.items() if key != ADULT_AT_SCHOOL}
PLACES = {
    "classroom": (N_("Classroom"), "place-classroom"),
    "playground": (N_("Playground"), "place-playground"),
    "toilets": (N_("Toilets"), "place-toilets"),
    "lunch": (N_("Lunch time"), "place-lunch"),
    "corridor": (N_("Corridor"), "place-corridor"),
    "online": (N_("Online"), "place-online"),
    "home": (N_("At home"), "place-home"),
    "elsewhere": (N_("Somewhere else"), "place-elsewhere"),
}
TALK_TO = {
    "teacher": (N_("My teacher"), "talk-teacher"),
    "trusted_adult": (N_("A grown-up who can help"), "talk-trusted_adult"),
    "not_sure": (N_("I'm not sure yet"), "talk-not_sure"),
}
STATUSES = {
    "new": "New",
    "seen": "Seen",
    "in_progress": "In progress",
    "closed": "Closed",
}


def label(choices: dict, value: str | None) -> str:
    """Return the words for a stored value, or a dash when none was chosen."""
    if not value:
        return "—"
    entry = choices.get(value)
    if entry is None:
        return value
    return entry if isinstance(entry, str) else entry[0]
