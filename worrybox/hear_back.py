"""The child hears back: what a child may see at the kiosk about their own worry — never the worry itself.

A child checks with the picture code they chose when posting (three animals, in order) or, if they put
their name on the worry, with their name and the same picture code. They see only whether a grown-up has read
it, whether one will come and find them today, and any short reply staff chose. The kiosk reads all of that without a worry
key: the status is in clear, a kind phrase is stored by name, and staff's own words are encrypted under
the pupil key (PupilKeys.seal_reply). Wrong tries are counted per tablet, so codes cannot be guessed.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .db import write_transaction
from .clock import iso, school_time
from .languages import N_

# Nine animals; a picture code is three of them in order (the same animal may come twice): 9 x 9 x 9 = 729 codes.
ANIMALS = {
    "cat": (N_("Cat"), "animal-cat"),
    "dog": (N_("Dog"), "animal-dog"),
    "rabbit": (N_("Rabbit"), "animal-rabbit"),
    "bear": (N_("Bear"), "animal-bear"),
    "bird": (N_("Bird"), "animal-bird"),
    "fish": (N_("Fish"), "animal-fish"),
    "frog": (N_("Frog"), "animal-frog"),
    "snail": (N_("Snail"), "animal-snail"),
    "ladybird": (N_("Ladybird"), "animal-ladybird"),
}
CODE_LENGTH = 3

# What staff may send besides a few words of their own; the kiosk shows each in the child's language.
KIND_PHRASES = {
    "thank_you": N_("Thank you for telling us."),
    "right_thing": N_("You did the right thing."),
    "looking_after": N_("We are looking after this."),
    "not_alone": N_("You are not alone."),
    "talk_any_time": N_("You can talk to us any time."),
}
MAX_WORDS = 140

# What a child sees about their worry, and nothing more.
STATUS_WORDS = {
    "not_read": N_("Nobody has read it yet, but they will soon."),
    "read": N_("A grown-up has read your worry."),
    "find_today": N_("A grown-up will come and find you today."),
}

# A child can check worries posted within this long; older ones are not shown at all.
RECENT = timedelta(days=30)
MAX_WRONG_IN_A_ROW = 10
CHECK_PAUSE = timedelta(minutes=10)
# Wrong tries are forgotten only after this long without one; a right code never clears them.
WRONG_TRIES_FORGOTTEN_AFTER = timedelta(hours=1)

# The only columns the kiosk reads about a worry; the newest recent one by picture code or by pupil.
_SEEN_BY_CHILD = "SELECT id, first_opened_at, reply_phrase, reply_words, find_child_on FROM worries "
_NEWEST_RECENT = {
    columns: _SEEN_BY_CHILD + "WHERE " + " AND ".join("%s = ?" % column for column in columns)
    # A concern staff logged about a child is never theirs to check (logged_by IS NULL).
    + " AND created_at >= ? AND logged_by IS NULL ORDER BY created_at DESC, id DESC LIMIT 1"
    for columns in (("code_hash",), ("pupil_ref", "code_hash"))
}


@dataclass(frozen=True)
class HeardBack:
    """What a child may see about their worry: its status and any reply."""

    status: str  # a key of STATUS_WORDS
    phrase: str | None = None  # a key of KIND_PHRASES
    words: str | None = None  # staff's own words, shown as written


class ChecksPaused(Exception):
    """Too many wrong tries in a row from this tablet: its checks rest for a while."""


def school_day(db, now: datetime | None = None) -> str:
    """Today's date where the school is, as stored in find_child_on."""
    return school_time(db, now or datetime.now(timezone.utc)).date().isoformat()


def check_picture_code(db, keys, animals, tablet_ref: str, now: datetime | None = None) -> HeardBack | None:
    """What the child may see about the newest recent worry with this picture code, or None for a wrong code."""
    return _check(db, keys, ("code_hash",), [keys.picture_code_hash(animals)], tablet_ref, now)


def check_pupil(db, keys, pupil_ref: str, animals, tablet_ref: str, now: datetime | None = None) -> HeardBack | None:
    """What a named child may see about their newest recent worry with this picture code, or None.

    A name anyone can choose is no secret, so it never shows anything alone: the child's animals are needed
    too, and a name with the wrong animals is a wrong try like any other.
    """
    return _check(db, keys, ("pupil_ref", "code_hash"), [pupil_ref, keys.picture_code_hash(animals)], tablet_ref, now)


def _check(db, keys, columns, values, tablet_ref, now):
    now = now or datetime.now(timezone.utc)
    worry = None
    with write_transaction(db):
        row = db.execute("SELECT paused_until FROM code_checks WHERE tablet_ref = ?", [tablet_ref]).fetchone()
        if row and row[0] and datetime.fromisoformat(row[0]) > now:
            paused = True
        else:
            # A right code never clears the count of wrong ones: a child's own code cannot buy more guesses.
            worry = db.execute(_NEWEST_RECENT[columns], [*values, iso(now - RECENT)]).fetchone()
            paused = worry is None and _count_wrong(db, tablet_ref, now)
    # Raised after the transaction, so the wrong try that started the pause is counted.
    if paused:
        raise ChecksPaused()
    return None if worry is None else _heard_back(db, keys, worry, now)


def _count_wrong(db, tablet_ref: str, now: datetime) -> bool:
    """Count one wrong try from a tablet; return whether that starts a pause."""
    # wrong_in_a_row counts wrong tries since the last pause; after an hour without one they are forgotten.
    db.execute("INSERT INTO code_checks (tablet_ref, wrong_in_a_row, updated_at) VALUES (?, 1, ?) "
               "ON CONFLICT(tablet_ref) DO UPDATE SET wrong_in_a_row = CASE WHEN updated_at < ? THEN 1 "
               "ELSE wrong_in_a_row + 1 END, updated_at = excluded.updated_at",
               [tablet_ref, iso(now), iso(now - WRONG_TRIES_FORGOTTEN_AFTER)])
    wrong = db.execute("SELECT wrong_in_a_row FROM code_checks WHERE tablet_ref = ?", [tablet_ref]).fetchone()[0]
    if wrong < MAX_WRONG_IN_A_ROW:
        return False
    db.execute("UPDATE code_checks SET wrong_in_a_row = 0, paused_until = ? WHERE tablet_ref = ?",
               [iso(now + CHECK_PAUSE), tablet_ref])
    return True


def _heard_back(db, keys, worry, now) -> HeardBack:
    worry_id, first_opened_at, phrase, sealed_words, find_child_on = worry
    if find_child_on and find_child_on == school_day(db, now):
        status = "find_today"
    elif first_opened_at:
        status = "read"
    else:
        status = "not_read"
    words = keys.open_reply(worry_id, sealed_words) if sealed_words else None
    return HeardBack(status, phrase if phrase in KIND_PHRASES else None, words)


def as_the_child_sees_it(db, keys, worry_id: int, now: datetime | None = None) -> HeardBack | None:
    """What a child who checks now would see about this worry, or None if they cannot check it any more."""
    now = now or datetime.now(timezone.utc)
    row = db.execute(_SEEN_BY_CHILD + "WHERE id = ? AND created_at >= ?", [worry_id, iso(now - RECENT)]).fetchone()
    return None if row is None else _heard_back(db, keys, row, now)


def ways_to_check(db, worry_id: int) -> dict:
    """How the child who posted a worry can check it at the kiosk: by their name, by pictures, both or neither."""
    row = db.execute("SELECT named AND logged_by IS NULL, code_hash IS NOT NULL FROM worries WHERE id = ?",
                     [worry_id]).fetchone()
    if row is None:
        raise LookupError(worry_id)
    return {"by_name": bool(row[0]), "by_pictures": bool(row[1])}
