"""The roster: names are kept encrypted, ids become pseudonyms, and files are checked before anything is saved."""

import pytest

from helpers import sqlite_steps
from worrybox import roster
from worrybox.db import connect, migrate

KEYS = roster.PupilKeys(b"k" * 32)


@pytest.fixture
def memory_db():
    db = connect()
    migrate(db)
    return db


def test_a_pupil_pseudonym_is_stable_and_keyed():
    assert KEYS.pupil_ref("A123") == KEYS.pupil_ref(" A123 ")
    assert KEYS.pupil_ref("A123") != roster.PupilKeys(b"x" * 32).pupil_ref("A123")
    assert "A123" not in KEYS.pupil_ref("A123")


def test_names_are_stored_encrypted_and_listed_by_class(memory_db):
    roster.import_roster(memory_db, KEYS, [roster.Pupil("A1", "Zoë", "Ng", "1A"), roster.Pupil("A2", "Ben", "Ode", "1A"),
                                           roster.Pupil("A3", "Cy", "Pim", "2B")])
    blobs = b"".join(row[0] for row in memory_db.execute("SELECT sealed_identity FROM pupils"))
    assert "Zoë".encode() not in blobs and b"Ben" not in blobs
    assert [p.first_name for p in roster.pupils_in_class(memory_db, KEYS, "1A")] == ["Ben", "Zoë"]
    assert roster.class_names(memory_db) == ["1A", "2B"]
    assert roster.find_pupil(memory_db, KEYS, "A3").display_name == "Cy Pim"
    assert roster.find_pupil(memory_db, KEYS, "nobody") is None


def test_a_roster_encrypted_under_another_key_does_not_open(memory_db):
    roster.import_roster(memory_db, KEYS, [roster.Pupil("A1", "Zoë", "Ng", "1A")])
    assert roster.pupils_in_class(memory_db, roster.PupilKeys(b"x" * 32), "1A") == []


def test_reimporting_updates_a_pupil_instead_of_duplicating(memory_db):
    assert roster.import_roster(memory_db, KEYS, [roster.Pupil("A1", "Zoe", "Ng", "1A")]) == (1, 0)
    assert roster.import_roster(memory_db, KEYS, [roster.Pupil("A1", "Zoe", "Ng", "2A")]) == (0, 1)
    assert memory_db.execute("SELECT count(*), min(class_name) FROM pupils").fetchone() == (1, "2A")


def test_management_system_headers_are_understood():
    data = "\ufeffUPN,Forename,Surname,Reg Group\r\nX1,Kasia,Nowak,5C\r\n".encode("utf-8")
    assert roster.parse_roster(data) == [roster.Pupil("X1", "Kasia", "Nowak", "5C")]


def test_a_spreadsheet_saved_as_windows_csv_still_imports():
    data = "pupil_id,first_name,last_name,class\nX1,Zoë,Ng,5C\n".encode("cp1252")
    assert roster.parse_roster(data)[0].first_name == "Zoë"


def test_bad_rows_are_reported_by_line_and_nothing_is_returned():
    data = b"pupil_id,first_name,last_name,class\nX1,Ann,A,1A\nX2,,B,1A\nX1,Bob,C,1A\nX4,Dee,D,\n"
    with pytest.raises(roster.RosterError) as error:
        roster.parse_roster(data)
    assert error.value.problems == [
        "line 3: missing first_name",
        "line 4: pupil_id X1 already appears on line 2",
        "line 5: missing class",
    ]


def test_a_file_without_the_needed_columns_says_which_are_missing():
    with pytest.raises(roster.RosterError, match="no column for pupil_id"):
        roster.parse_roster(b"name,class\nAnn,1A\n")


def test_checking_whether_the_roster_changed_does_not_read_every_pupil(memory_db):
    # Every named post asks whether the roster changed since its name tile was made; a big school's roster
    # must not make each post read every pupil's row. SQLite's steps, not time: 20 pupils, then 2,000.
    roster.import_roster(memory_db, KEYS, [roster.Pupil("S%d" % n, "Sam", "Lee", "1A") for n in range(20)])
    small = sqlite_steps(memory_db, lambda: roster.roster_version(memory_db))
    before = roster.roster_version(memory_db)
    roster.import_roster(memory_db, KEYS, [roster.Pupil("B%d" % n, "Bo", "Ray", "2B") for n in range(2000)])
    large = sqlite_steps(memory_db, lambda: roster.roster_version(memory_db))
    assert large < small * 1.5, (small, large)
    assert roster.roster_version(memory_db) != before  # an import still changes it
