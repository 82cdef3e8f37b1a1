"""The pictures a child chooses from, with the words read beside them (value: (label, picture))."""

FEELINGS = {
    "sad": ("Sad", "😢"),
    "worried": ("Worried", "😟"),
    "scared": ("Scared", "😨"),
    "angry": ("Angry", "😠"),
    "lonely": ("Lonely", "😔"),
    "confused": ("Mixed up", "😕"),
    "okay": ("Okay", "🙂"),
}
TOPICS = {
    "friends": ("Friends", "🧒"),
    "family": ("Family", "👪"),
    "bullying": ("Someone is unkind to me", "💬"),
    "schoolwork": ("School work", "📚"),
    "body": ("My body or health", "🩹"),
    "online": ("Something online", "📱"),
    "home": ("Home", "🏠"),
    "other": ("Something else", "❓"),
}
PLACES = {
    "classroom": ("Classroom", "🏫"),
    "playground": ("Playground", "🛝"),
    "toilets": ("Toilets", "🚻"),
    "lunch": ("Lunch time", "🍽️"),
    "corridor": ("Corridor", "🚪"),
    "online": ("Online", "💻"),
    "home": ("At home", "🏠"),
    "elsewhere": ("Somewhere else", "📍"),
}
TALK_TO = {
    "teacher": ("My teacher", "🧑‍🏫"),
    "trusted_adult": ("A grown-up who can help", "🤝"),
    "not_sure": ("I'm not sure yet", "🤔"),
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
