"""Every language the kiosk offers is complete, safe to format, compiled, and really served to a child."""

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from markupsafe import escape

from worrybox.languages import DEFAULT_LANGUAGE, LANGUAGES, direction

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
SHIPPED = sorted(code for code in LANGUAGES if code != DEFAULT_LANGUAGE)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
PLURAL_FORMS = {
    "pl": (3, "(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)"),
    "pa": (2, "(n != 1)"),
    "ur": (2, "(n != 1)"),
}
# Written out, not read from LANGUAGES, so a wrong direction there is caught; a new language falls back to it.
DIRECTION = {"ur": "rtl", "pa": "ltr", "pl": "ltr"}
GREETING = "Hello! Is something on your mind?"  # the start screen's heading


def _po_path(code):
    return TRANSLATIONS / code / "LC_MESSAGES" / "messages.po"


def _mo_path(code):
    return TRANSLATIONS / code / "LC_MESSAGES" / "messages.mo"


def _catalog(code):
    with open(_po_path(code), "rb") as f:
        return read_po(f, locale=code)


def _entries(catalog):
    """Every real message (not the header) in a catalogue."""
    return [message for message in catalog if message.id]


def _forms(message):
    """A message's translations as a tuple: one for a plain message, one per plural form for a plural."""
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _key(message):
    return message.id[0] if isinstance(message.id, tuple) else message.id


def _placeholders(text):
    return set(PLACEHOLDER.findall(text))


def _pybabel():
    script = Path(sys.executable).parent / "pybabel"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from babel.messages.frontend import main; main()"]


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory):
    """The kiosk's words as the source says them today: a fresh extraction, not the committed template."""
    pot = tmp_path_factory.mktemp("extract") / "messages.pot"
    subprocess.run(
        _pybabel() + ["extract", "-F", "babel.cfg", "-k", "_l", "-k", "N_", "-k", "lazy_gettext",
                      "--no-location", "--omit-header", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True, timeout=120,
    )
    with open(pot, "rb") as f:
        messages = _entries(read_po(f))
    assert len(messages) > 100, "the extraction found too few kiosk words; is babel.cfg being read?"
    return messages


@pytest.mark.parametrize("code", SHIPPED)
def test_every_shipped_language_translates_every_kiosk_message_in_the_source(code, source_messages):
    assert _po_path(code).is_file(), "%s is offered to children but has no catalogue" % code
    translated = {_key(message): message for message in _entries(_catalog(code))}
    missing = []
    for message in source_messages:
        entry = translated.get(_key(message))
        if entry is None or entry.fuzzy or not all(_forms(entry)):
            missing.append(_key(message))
        elif message.pluralizable and not entry.pluralizable:
            missing.append(_key(message) + " (needs its plural forms)")
    assert not missing, ("%s lacks translations for %d kiosk message(s); run `make translations`, translate "
                         "the new entries, run it again: %r" % (code, len(missing), missing))


@pytest.mark.parametrize("code", SHIPPED)
def test_no_translation_is_fuzzy_or_empty(code):
    catalog = _catalog(code)
    # A catalogue with no header reads as fuzzy too, and `pybabel compile` then skips the whole language.
    assert not catalog.fuzzy, "the %s catalogue's header is missing or marked fuzzy" % code
    problems = [_key(message) for message in _entries(catalog) if message.fuzzy or not all(_forms(message))]
    assert not problems, "%s has fuzzy or empty entries: %r" % (code, problems)


@pytest.mark.parametrize("code", SHIPPED)
def test_every_translation_keeps_exactly_the_placeholders_of_its_message(code):
    wrong = []
    for message in _entries(_catalog(code)):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        expected = set().union(*(_placeholders(text) for text in ids))
        for form in _forms(message):
            if _placeholders(form) != expected:
                wrong.append((_key(message), form))
    assert not wrong, "%s: placeholders changed in %r" % (code, wrong)


@pytest.mark.parametrize("code", SHIPPED)
def test_every_catalogue_has_the_plural_rule_of_its_language(code):
    catalog = _catalog(code)
    count, rule = PLURAL_FORMS[code]
    assert catalog.num_plurals == count
    assert catalog.plural_expr.replace(" ", "") == rule.replace(" ", "")
    for message in _entries(catalog):
        if message.pluralizable:
            assert len(message.string) == count, "%r needs %d plural forms in %s" % (_key(message), count, code)


def _compiled_messages(catalog):
    """A compiled catalogue's messages as plain data (read_mo gives plural ids and forms as lists)."""
    return {(tuple(m.id) if isinstance(m.id, list) else m.id): (tuple(m.string) if isinstance(m.string, list)
                                                                   else m.string)
            for m in _entries(catalog)}


@pytest.mark.parametrize("code", SHIPPED)
def test_the_committed_compiled_catalogue_matches_its_po_file(code):
    assert _mo_path(code).is_file(), "%s has no compiled messages.mo; run `make translations`" % code
    fresh = io.BytesIO()
    write_mo(fresh, _catalog(code))
    fresh.seek(0)
    with open(_mo_path(code), "rb") as f:
        committed = read_mo(f)
    expected = _compiled_messages(read_mo(fresh))
    actual = _compiled_messages(committed)
    assert actual == expected, "%s messages.mo is out of date with messages.po; run `make translations`" % code
    assert committed.plural_forms == _catalog(code).plural_forms


def _html_tag(page):
    match = re.search(r"<html[^>]*>", page)
    assert match, "page has no <html> tag"
    return match.group(0)


@pytest.mark.parametrize("code", SHIPPED)
def test_a_child_who_chooses_a_language_gets_the_start_screen_in_it(kiosk, code):
    greeting = _catalog(code)[GREETING].string
    assert greeting and greeting != GREETING
    assert kiosk.get("/language/%s" % code).status_code == 303
    page = kiosk.get("/").get_data(as_text=True)
    tag = _html_tag(page)
    assert 'lang="%s"' % code in tag
    assert 'dir="%s"' % DIRECTION.get(code, direction(code)) in tag
    assert str(escape(greeting)) in page
    assert GREETING not in page


@pytest.mark.parametrize("code", SHIPPED)
def test_ending_the_visit_puts_the_kiosk_back_into_english(kiosk, code):
    kiosk.get("/language/%s" % code)
    assert kiosk.get("/end-visit").status_code == 303
    page = kiosk.get("/").get_data(as_text=True)
    tag = _html_tag(page)
    assert 'lang="en"' in tag and 'dir="ltr"' in tag
    assert GREETING in page
