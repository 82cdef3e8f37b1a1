"""The `worrybox` command line, run as school IT would run it: a real process, real files."""

import re
import stat
from pathlib import Path

import pytest

from helpers import DSL_EMAIL, DSL_PASSWORD, worrybox
from worrybox import keys, roster
from worrybox.config import Paths
from worrybox.school import open_school, pupil_keys
from worrybox.staff import find_staff_id

pytestmark = pytest.mark.slow  # every test runs the `worrybox` command as a process

RECOVERY_CODE = re.compile(r"\b[A-Z2-7]{4}(?:-[A-Z2-7]{4}){7}\b")
NEW_PASSWORD = "a long enough password"


def write(path: Path, content) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def init_args(data_dir, password_file, school="Brook Lane Primary"):
    return ["init", "--data-dir", data_dir, "--school", school, "--dsl-email", "head@brook.example",
            "--dsl-name", "Jo Head", "--password-file", password_file]


def recovery_wraps(database: Path):
    db = open_school(Paths(database.parent))
    try:
        return db.execute("SELECT key_id, wrapped_key FROM key_wraps WHERE holder = 'recovery'").fetchall()
    finally:
        db.close()


@pytest.fixture(scope="module")
def initialised(tmp_path_factory):
    """One school set up through `worrybox init`, for the tests that only look at it."""
    base = tmp_path_factory.mktemp("cli-init")
    password_file = write(base / "password.txt", "head teacher's password\n")
    data_dir = base / "school"
    result = worrybox(*init_args(data_dir, password_file))
    return data_dir, result, password_file


@pytest.fixture
def run_in(data_dir):
    """Run a `worrybox` command against a copy of the shared test school."""
    def run(*args):
        command, rest = args[0], args[1:]
        return worrybox(command, "--data-dir", data_dir, *rest)
    return run


def pupil_count(data_dir) -> int:
    db = open_school(Paths(data_dir))
    try:
        return db.execute("SELECT count(*) FROM pupils").fetchone()[0]
    finally:
        db.close()


def find_pupil(data_dir, pupil_id):
    db = open_school(Paths(data_dir))
    try:
        return roster.find_pupil(db, pupil_keys(Paths(data_dir)), pupil_id)
    finally:
        db.close()


# --- worrybox init ---------------------------------------------------------------------------------

def test_init_prints_a_recovery_code_once_and_that_code_opens_the_team_key(initialised):
    data_dir, result, _ = initialised
    assert result.returncode == 0, result.stderr
    codes = RECOVERY_CODE.findall(result.stdout)
    assert len(codes) == 1 and result.stdout.count(codes[0]) == 1
    assert "Traceback" not in result.stdout + result.stderr
    db = open_school(Paths(data_dir))
    try:
        assert keys.unlock_team_with_recovery(db, codes[0])
    finally:
        db.close()


def test_init_makes_the_data_directory_and_database_private_to_their_owner(initialised):
    data_dir, result, _ = initialised
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "worrybox.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((data_dir / "secrets" / "pupil.key").stat().st_mode) == 0o600


def test_init_again_on_the_same_directory_refuses_and_keeps_the_recovery_code_working(initialised):
    data_dir, first, password_file = initialised
    before = recovery_wraps(data_dir / "worrybox.db")
    again = worrybox(*init_args(data_dir, password_file, school="Another School"))
    assert again.returncode != 0
    assert "already holds a school" in again.stderr and "Brook Lane Primary" in again.stderr
    assert not RECOVERY_CODE.search(again.stdout)
    assert "Traceback" not in again.stdout + again.stderr
    assert recovery_wraps(data_dir / "worrybox.db") == before
    db = open_school(Paths(data_dir))
    try:
        assert keys.unlock_team_with_recovery(db, RECOVERY_CODE.search(first.stdout).group(0))
    finally:
        db.close()


def test_init_uses_worrybox_data_dir_when_no_data_dir_is_given(tmp_path):
    data_dir = tmp_path / "from-env"
    password_file = write(tmp_path / "password.txt", "head teacher's password\n")
    result = worrybox("init", "--school", "Env School", "--dsl-email", "dsl@env.example", "--dsl-name", "Ed Env",
                      "--password-file", password_file, env={"WORRYBOX_DATA_DIR": str(data_dir)})
    assert result.returncode == 0, result.stderr
    assert (data_dir / "worrybox.db").exists()
    assert RECOVERY_CODE.search(result.stdout)


def test_commands_without_a_data_dir_say_how_to_give_one(tmp_path):
    result = worrybox("import-roster", write(tmp_path / "r.csv", "pupil_id,first_name,class\nX1,Al,3A\n"))
    assert result.returncode != 0
    assert "--data-dir" in result.stderr and "Traceback" not in result.stderr


def test_init_refuses_a_password_shorter_than_twelve_characters_and_creates_nothing(tmp_path):
    data_dir = tmp_path / "school"
    result = worrybox(*init_args(data_dir, write(tmp_path / "pw.txt", "elevenchars\n")))
    assert result.returncode != 0
    assert "at least 12 characters" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not RECOVERY_CODE.search(result.stdout)
    assert not (data_dir / "worrybox.db").exists()


# --- worrybox add-staff ----------------------------------------------------------------------------

def test_add_staff_adds_a_class_teacher_who_can_unlock_their_own_key_but_not_the_team_key(run_in, data_dir, tmp_path):
    result = run_in("add-staff", "--email", "t.3a@school.example", "--name", "Kit Jones", "--role", "teacher",
                    "--class", "3A", "--password-file", write(tmp_path / "pw.txt", NEW_PASSWORD + "\n"))
    assert result.returncode == 0, result.stderr
    assert "Added Kit Jones" in result.stdout
    db = open_school(Paths(data_dir))
    try:
        assert db.execute("SELECT role, class_name FROM staff WHERE email = 't.3a@school.example'").fetchone() \
            == ("teacher", "3A")
        keyring = keys.unlock_keyring(db, find_staff_id(db, "t.3a@school.example"), NEW_PASSWORD)
        assert keys.team_keys_of(keyring, db) == {}
    finally:
        db.close()


def staff_count(data_dir) -> int:
    db = open_school(Paths(data_dir))
    try:
        return db.execute("SELECT count(*) FROM staff").fetchone()[0]
    finally:
        db.close()


def deputy_args(tmp_path):
    return ["add-staff", "--email", "deputy@school.example", "--name", "Dee Puty", "--role", "deputy",
            "--password-file", write(tmp_path / "deputy-pw.txt", NEW_PASSWORD + "\n")]


def assert_deputy_holds_the_dsls_team_key(data_dir):
    db = open_school(Paths(data_dir))
    try:
        deputy = keys.unlock_keyring(db, find_staff_id(db, "deputy@school.example"), NEW_PASSWORD)
        dsl = keys.unlock_keyring(db, find_staff_id(db, DSL_EMAIL), DSL_PASSWORD)
        team = keys.team_keys_of(deputy, db)
        assert team and team == keys.team_keys_of(dsl, db)
    finally:
        db.close()


def test_adding_a_deputy_without_by_says_to_use_by_and_adds_nobody(run_in, data_dir, tmp_path):
    before = staff_count(data_dir)
    result = run_in(*deputy_args(tmp_path))
    assert result.returncode != 0
    assert "--by" in result.stderr and "Traceback" not in result.stderr
    assert staff_count(data_dir) == before


def test_a_deputy_added_by_a_dsl_can_unlock_the_team_key(run_in, data_dir, tmp_path):
    result = run_in(*deputy_args(tmp_path), "--by", DSL_EMAIL,
                    "--by-password-file", write(tmp_path / "dsl-pw.txt", DSL_PASSWORD + "\n"))
    assert result.returncode == 0, result.stderr
    assert_deputy_holds_the_dsls_team_key(data_dir)


def test_a_wrong_dsl_password_adds_nobody(run_in, data_dir, tmp_path):
    before = staff_count(data_dir)
    result = run_in(*deputy_args(tmp_path), "--by", DSL_EMAIL,
                    "--by-password-file", write(tmp_path / "dsl-pw.txt", "not the dsl's password\n"))
    assert result.returncode != 0
    assert "does not unlock" in result.stderr and "Traceback" not in result.stderr
    assert staff_count(data_dir) == before


def test_a_deputy_can_be_added_with_the_recovery_code_typed_in_lower_case_with_spaces(run_in, data_dir, tmp_path,
                                                                                      recovery_code):
    typed = recovery_code.lower().replace("-", " ")
    result = run_in(*deputy_args(tmp_path), "--recovery-code-file", write(tmp_path / "code.txt", typed + "\n"))
    assert result.returncode == 0, result.stderr
    assert_deputy_holds_the_dsls_team_key(data_dir)


def test_a_wrong_recovery_code_adds_nobody(run_in, data_dir, tmp_path):
    before = staff_count(data_dir)
    result = run_in(*deputy_args(tmp_path),
                    "--recovery-code-file", write(tmp_path / "code.txt", "AAAA-" * 7 + "AAAA\n"))
    assert result.returncode != 0
    assert "recovery code does not open" in result.stderr
    assert staff_count(data_dir) == before


# --- worrybox import-roster ------------------------------------------------------------------------

def test_import_roster_adds_pupils_from_our_own_headers(run_in, data_dir, tmp_path):
    before = pupil_count(data_dir)
    csv_file = write(tmp_path / "roster.csv", "pupil_id,first_name,last_name,class\nN100,Nia,Okafor,3A\n"
                                              "N101,Rhys,Price,3A\n")
    result = run_in("import-roster", csv_file)
    assert result.returncode == 0, result.stderr
    assert "2 new" in result.stdout
    assert pupil_count(data_dir) == before + 2
    assert find_pupil(data_dir, "N101") == roster.Pupil("N101", "Rhys", "Price", "3A")


@pytest.mark.parametrize("encode", [
    lambda text: text.encode("utf-8"),
    lambda text: b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"),
], ids=["plain", "bom-and-windows-line-endings"])
def test_import_roster_understands_mis_headers(run_in, data_dir, tmp_path, encode):
    before = pupil_count(data_dir)
    csv_file = write(tmp_path / "mis.csv", encode("UPN,Forename,Surname,Reg Group\n"
                                                  "A123456789012,Zoë,Ní Bhriain,6R\n"
                                                  "B123456789012,Kwame,Mensah,6R\n"))
    result = run_in("import-roster", csv_file)
    assert result.returncode == 0, result.stderr
    assert pupil_count(data_dir) == before + 2
    assert find_pupil(data_dir, "A123456789012") == roster.Pupil("A123456789012", "Zoë", "Ní Bhriain", "6R")
    assert find_pupil(data_dir, "B123456789012").class_name == "6R"


def test_reimporting_a_pupil_updates_instead_of_duplicating(run_in, data_dir, tmp_path):
    first = write(tmp_path / "first.csv", "pupil_id,first_name,last_name,class\nM1,Maya,Ross,4B\n")
    assert run_in("import-roster", first).returncode == 0
    count = pupil_count(data_dir)
    moved = write(tmp_path / "moved.csv", "pupil_id,first_name,last_name,class\nM1,Maya,Ross,5C\n")
    result = run_in("import-roster", moved)
    assert result.returncode == 0, result.stderr
    assert "0 new, 1 updated" in result.stdout
    assert pupil_count(data_dir) == count
    assert find_pupil(data_dir, "M1").class_name == "5C"


def test_a_roster_with_bad_lines_names_them_and_imports_nothing(run_in, data_dir, tmp_path):
    before = pupil_count(data_dir)
    csv_file = write(tmp_path / "bad.csv", "pupil_id,first_name,last_name,class\n"
                                           "G1,Good,One,3A\n"
                                           "G2,,Nofirst,3A\n"
                                           "G3,Good,Three,3A\n"
                                           "G1,Again,Duplicate,3A\n")
    result = run_in("import-roster", csv_file)
    assert result.returncode != 0
    assert "Nothing was imported" in result.stderr
    assert "line 3: missing first_name" in result.stderr
    assert "line 5: pupil_id G1 already appears on line 2" in result.stderr
    assert "line 2:" not in result.stderr and "line 4:" not in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert pupil_count(data_dir) == before
    assert find_pupil(data_dir, "G3") is None


@pytest.mark.parametrize("content, message", [
    (b"", "The file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 8, "CSV UTF-8"),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(255, -1, -1)) * 8, "CSV UTF-8"),
], ids=["empty", "png", "xlsx"])
def test_an_empty_or_binary_roster_gets_a_clear_message_not_a_traceback(run_in, data_dir, tmp_path, content, message):
    before = pupil_count(data_dir)
    result = run_in("import-roster", write(tmp_path / "roster.csv", content))
    assert result.returncode != 0
    assert message in result.stderr and "Nothing was imported" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert pupil_count(data_dir) == before


def test_a_roster_without_a_first_name_column_lists_the_headers_it_expects(run_in, data_dir, tmp_path):
    result = run_in("import-roster", write(tmp_path / "roster.csv", "UPN,Surname,Reg Group\nA1,Smith,3A\n"))
    assert result.returncode != 0
    assert "no column for first_name" in result.stderr and "UPN, Forename, Surname, Reg Group" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_roster_into_a_directory_without_a_school_says_to_run_init(tmp_path):
    csv_file = write(tmp_path / "roster.csv", "pupil_id,first_name,class\nX1,Al,3A\n")
    result = worrybox("import-roster", "--data-dir", tmp_path / "nothing-here", csv_file)
    assert result.returncode != 0
    assert "worrybox init" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "nothing-here").exists()
