"""The bundled fonts keep only what the kiosk's languages use: every letter it says must be in a file it serves.

`make fonts` subsets the fonts to ranges named in the Makefile; static/worrybox.css tells the browser the same
ranges, so a page fetches a file only for the letters it shows.
"""

import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def _ranges(text: str) -> set[int]:
    kept = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        kept.update(range(int(first.removeprefix("U+"), 16), int((last or first).removeprefix("U+"), 16) + 1))
    return kept


def _makefile(name: str) -> set[int]:
    return _ranges(re.search(r"^%s := (.+)$" % name, (ROOT / "Makefile").read_text(), re.M).group(1))


def _faces(file_prefix: str) -> list[set[int]]:
    """The unicode-range of each @font-face whose file starts with file_prefix (one per weight)."""
    css = (ROOT / "static" / "worrybox.css").read_text()
    return [_ranges(found) for found in re.findall(
        r'@font-face \{[^}]*fonts/%s-\d00-normal\.woff2[^}]*unicode-range: ([^;]+);' % file_prefix, css)]


def _said_in(language: str) -> str:
    with open(ROOT / "translations" / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    return "".join(message.string if isinstance(message.string, str) else "".join(message.string)
                   for message in catalog if message.string)


def test_the_stylesheet_asks_the_urdu_font_for_exactly_what_make_fonts_kept():
    assert _faces("noto-naskh-arabic-arabic") == [_makefile("ARABIC_KEPT")] * 2  # 400 and 700


def test_every_arabic_script_letter_the_kiosk_says_in_urdu_is_in_the_bundled_font():
    arabic_script = {ord(letter) for letter in _said_in("ur") if 0x0600 <= ord(letter) <= 0x06FF or 0xFB50 <= ord(letter)}
    missing = arabic_script - _makefile("ARABIC_KEPT")
    assert not missing, "Urdu text uses letters the font left out: %s" % ", ".join("U+%04X" % c for c in sorted(missing))
    assert len(arabic_script) > 30  # the translation really is Urdu


def test_polish_letters_come_from_their_own_small_file_and_latin_extended_leaves_them_to_it():
    polish = _makefile("POLISH_KEPT")
    assert _faces("noto-sans-polish") == [polish] * 2
    extended = _faces("noto-sans-latin-ext")
    assert len(extended) == 2 and all(face and not face & polish for face in extended)
    beyond_latin_1 = {ord(letter) for letter in _said_in("pl") if 0x0100 <= ord(letter) <= 0x02FF}
    assert beyond_latin_1 and beyond_latin_1 <= polish, sorted(map(hex, beyond_latin_1 - polish))
