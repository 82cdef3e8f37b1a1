"""The school roster: pupils by class, stored so that a copy of the database names no child.

Each pupil is known in the database by a keyed pseudonym (an HMAC of their roster id);
their name and id are encrypted under the school's pupil key, which lives in the data
directory, not in the database. The kiosk holds that key so a child can pick their own
name; it opens no worry.
"""

import base64
import csv
import hashlib
import hmac
import io
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import mediators
from .clock import utcnow
from .db import write_transaction


# Column names management information systems use, mapped to ours.
HEADER_ALIASES = {
    "pupil_id": {"pupil_id", "pupil id", "pupilid", "upn", "unique pupil number", "admission number", "adno", "id"},
    "first_name": {"first_name", "first name", "firstname", "forename", "legal forename", "preferred forename", "given name"},
    "last_name": {"last_name", "last name", "lastname", "surname", "legal surname", "preferred surname", "family name"},
    "class": {"class", "class name", "reg group", "registration group", "reg", "form", "tutor group", "group"},
}
REQUIRED_COLUMNS = ("pupil_id", "first_name", "class")
YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0", ""}
MAX_FIELD = 100


@dataclass(frozen=True)
class Pupil:
    """One pupil on the roster."""

    pupil_id: str
    first_name: str
    last_name: str
    class_name: str
    mediator: bool | None = None  # None: the roster file said nothing about it

    @property
    def display_name(self) -> str:
        return ("%s %s" % (self.first_name, self.last_name)).strip()


class RosterError(Exception):
    """A roster file could not be imported; .problems lists what is wrong, by line."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class PupilKeys:
    """The keys made from the school's pupil key: pseudonyms, the roster, picture codes, replies to children."""

    def __init__(self, pupil_key: bytes):
        self._ref_key = _subkey(pupil_key, b"worrybox pupil-ref")
        self._roster = ChaCha20Poly1305(_subkey(pupil_key, b"worrybox roster"))
        self._code_key = _subkey(pupil_key, b"worrybox picture-code")
        self._replies = ChaCha20Poly1305(_subkey(pupil_key, b"worrybox replies"))
        self._choice_key = _subkey(pupil_key, b"worrybox name-choice")
        self._choices: tuple[str, dict[str, str]] | None = None  # (roster version, token -> pseudonym)

    def pupil_ref(self, pupil_id: str) -> str:
        """Return the pupil's pseudonym: the same for the same id, meaningless without the key."""
        return hmac.new(self._ref_key, pupil_id.strip().encode("utf-8"), hashlib.sha256).hexdigest()

    def seal_identity(self, pupil: Pupil) -> bytes:
        nonce = os.urandom(12)
        plain = json.dumps([pupil.pupil_id, pupil.first_name, pupil.last_name]).encode()
        return nonce + self._roster.encrypt(nonce, plain, self.pupil_ref(pupil.pupil_id).encode())

    def open_identity(self, pupil_ref: str, class_name: str, sealed: bytes) -> Pupil | None:
        try:
            plain = self._roster.decrypt(sealed[:12], sealed[12:], pupil_ref.encode())
        except InvalidTag:
            return None
        pupil_id, first_name, last_name = json.loads(plain)
        return Pupil(pupil_id, first_name, last_name, class_name)

    def choice_token(self, roster_version: str, pupil_ref: str) -> str:
        """Return the value a name tile carries: opaque, never the roster id, new with every roster import."""
        digest = hmac.new(self._choice_key, ("%s|%s" % (roster_version, pupil_ref)).encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()[:18]).decode()

    def ref_for_choice(self, roster_version: str, token: str, pupil_refs) -> str | None:
        """Return the pseudonym whose name tile carries token; every tile is worked out once per roster version.

        pupil_refs() lists every pseudonym on the roster; it is called only when the version is new here.
        """
        if self._choices is None or self._choices[0] != roster_version:
            self._choices = (roster_version, {self.choice_token(roster_version, ref): ref for ref in pupil_refs()})
        return self._choices[1].get(token)

    def picture_code_hash(self, animals) -> str:
        """Return the keyed hash stored for a picture code (animals in the order chosen), never the code."""
        return hmac.new(self._code_key, "|".join(animals).encode("utf-8"), hashlib.sha256).hexdigest()

    def seal_reply(self, worry_id: int, words: str) -> bytes:
        """Encrypt staff's own words to a child so the kiosk can show them; bound to the worry's id."""
        nonce = os.urandom(12)
        return nonce + self._replies.encrypt(nonce, words.encode("utf-8"), _reply_aad(worry_id))

    def open_reply(self, worry_id: int, sealed: bytes) -> str | None:
        try:
            return self._replies.decrypt(sealed[:12], sealed[12:], _reply_aad(worry_id)).decode("utf-8")
        except InvalidTag:
            return None


def _reply_aad(worry_id: int) -> bytes:
    return b"reply|worry|%d" % worry_id


def _subkey(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def _canonical_header(name: str) -> str | None:
    cleaned = " ".join(name.strip().lower().replace("-", " ").split())
    for ours, aliases in HEADER_ALIASES.items():
        if cleaned in aliases or cleaned.replace(" ", "_") in aliases:
            return ours
    if cleaned == "mediator":
        return "mediator"
    return None


def parse_roster(data: bytes) -> list[Pupil]:
    """Parse a roster CSV; raise RosterError listing every bad line, so nothing is half-imported."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise RosterError(["The file is not text in UTF-8: save it from your spreadsheet as 'CSV UTF-8'."])
    if "\x00" in text:
        raise RosterError(["The file contains binary data: save it from your spreadsheet as 'CSV UTF-8'."])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise RosterError(["The file is empty."])
    except csv.Error as exc:
        raise RosterError(["line 1: %s" % exc])
    columns = {}
    for index, name in enumerate(header):
        ours = _canonical_header(name)
        if ours and ours not in columns:
            columns[ours] = index
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise RosterError([
            "line 1: no column for %s (found: %s). Expected pupil_id, first_name, last_name, class "
            "or UPN, Forename, Surname, Reg Group." % (", ".join(missing), ", ".join(header) or "nothing")
        ])
    pupils, problems, seen = [], [], {}
    try:
        for line_number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue

            def cell(name):
                index = columns.get(name)
                return row[index].strip() if index is not None and index < len(row) else ""

            values = {name: cell(name) for name in ("pupil_id", "first_name", "last_name", "class")}
            bad = [name for name in REQUIRED_COLUMNS if not values[name]]
            if bad:
                problems.append("line %d: missing %s" % (line_number, ", ".join(bad)))
                continue
            too_long = [name for name, value in values.items() if len(value) > MAX_FIELD]
            if too_long:
                problems.append("line %d: %s longer than %d characters" % (line_number, ", ".join(too_long), MAX_FIELD))
                continue
            if any(ord(ch) < 32 for value in values.values() for ch in value):
                problems.append("line %d: contains control characters" % line_number)
                continue
            if values["pupil_id"] in seen:
                problems.append("line %d: pupil_id %s already appears on line %d"
                                % (line_number, values["pupil_id"], seen[values["pupil_id"]]))
                continue
            mediator = None
            if "mediator" in columns:
                flag = cell("mediator").lower()
                if flag not in YES | NO:
                    problems.append("line %d: mediator should be yes or no, not '%s'" % (line_number, cell("mediator")))
                    continue
                mediator = flag in YES
            seen[values["pupil_id"]] = line_number
            pupils.append(Pupil(values["pupil_id"], values["first_name"], values["last_name"], values["class"], mediator))
    except csv.Error as exc:
        problems.append("line %d: %s" % (reader.line_num, exc))
    if problems:
        raise RosterError(problems)
    if not pupils:
        raise RosterError(["The file has a header but no pupils."])
    return pupils


def import_roster(db, keys: PupilKeys, pupils: list[Pupil]) -> tuple[int, int]:
    """Add or update pupils in one transaction; return (added, updated)."""
    added = updated = 0
    now = utcnow()
    with write_transaction(db):
        for pupil in pupils:
            ref = keys.pupil_ref(pupil.pupil_id)
            exists = db.execute("SELECT 1 FROM pupils WHERE pupil_ref = ?", [ref]).fetchone()
            db.execute(
                "INSERT INTO pupils (pupil_ref, class_name, sealed_identity, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(pupil_ref) DO UPDATE SET class_name = excluded.class_name, "
                "sealed_identity = excluded.sealed_identity, updated_at = excluded.updated_at",
                [ref, pupil.class_name, keys.seal_identity(pupil), now],
            )
            if pupil.mediator is not None:
                mediators.set_mediator(db, ref, active=pupil.mediator)
            if exists:
                updated += 1
            else:
                added += 1
    return added, updated


def class_names(db) -> list[str]:
    """Return the names of every class on the roster, in order."""
    return [row[0] for row in db.execute("SELECT DISTINCT class_name FROM pupils ORDER BY class_name")]


def pupils_in_class(db, keys: PupilKeys, class_name: str) -> list[Pupil]:
    """Return the pupils of one class, sorted by first name."""
    rows = db.execute("SELECT pupil_ref, class_name, sealed_identity FROM pupils WHERE class_name = ?", [class_name])
    pupils = [keys.open_identity(*row) for row in rows]
    return sorted((p for p in pupils if p), key=lambda p: (p.first_name.lower(), p.last_name.lower()))


def pupil_by_ref(db, keys: PupilKeys, pupil_ref: str) -> Pupil | None:
    """Return the pupil a pseudonym belongs to, or None if they are no longer on the roster."""
    row = db.execute("SELECT pupil_ref, class_name, sealed_identity FROM pupils WHERE pupil_ref = ?",
                     [pupil_ref]).fetchone()
    return keys.open_identity(*row) if row else None


def find_pupil(db, keys: PupilKeys, pupil_id: str) -> Pupil | None:
    """Return the pupil with this roster id, or None."""
    return pupil_by_ref(db, keys, keys.pupil_ref(pupil_id))


def roster_version(db) -> str:
    """Something that changes whenever the roster is imported (every pupil's row is updated then)."""
    # Two lookups, not one pass: SQLite counts a table without reading its rows, and finds the newest by the
    # index of migration 0020, where together they read every pupil on every named post.
    count, newest = db.execute(
        "SELECT (SELECT count(*) FROM pupils), (SELECT max(updated_at) FROM pupils)").fetchone()
    return "%d|%s" % (count, newest)


def choice_tokens(db, keys: PupilKeys, pupil_refs) -> dict[str, str]:
    """The name-tile value of each pupil, by pseudonym, for this version of the roster."""
    version = roster_version(db)
    return {ref: keys.choice_token(version, ref) for ref in pupil_refs}


def pupil_by_choice(db, keys: PupilKeys, token: str) -> Pupil | None:
    """Return the pupil whose name tile carried this token, or None (unknown, or from before a re-import)."""
    if not token:
        return None
    # Not one keyed hash per pupil on every post (a big school's roster made that milliseconds).
    ref = keys.ref_for_choice(roster_version(db), token,
                              lambda: [row[0] for row in db.execute("SELECT pupil_ref FROM pupils")])
    return pupil_by_ref(db, keys, ref) if ref else None
