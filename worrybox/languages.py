"""The languages the kiosk speaks: each named in itself, with its writing direction."""

LANGUAGES = {
    "en": ("English", "ltr"),
    "pa": ("ਪੰਜਾਬੀ", "ltr"),
    "ur": ("اردو", "rtl"),
    "pl": ("Polski", "ltr"),
}
ENGLISH_NAMES = {"en": "English", "pa": "Punjabi", "ur": "Urdu", "pl": "Polish"}
DEFAULT_LANGUAGE = "en"


def direction(code: str) -> str:
    """Return 'rtl' for a right-to-left language, else 'ltr'."""
    return LANGUAGES.get(code, LANGUAGES[DEFAULT_LANGUAGE])[1]


def N_(text: str) -> str:
    """Mark a string for translation without translating it here (the page translates it when shown)."""
    return text
