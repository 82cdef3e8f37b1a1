"""`worrybox backup`, `worrybox restore` and `worrybox check`, run as school IT would run them."""

import io
import os
import sqlite3
import stat
import tarfile
from datetime import datetime, timedelta, timezone

import pytest

from helpers import DSL_PASSWORD, worrybox
from worrybox import backup as backups, casework, keys
from worrybox.backup import LAST_BACKUP_SETTING, MEMBERS
from worrybox.config import Paths
from worrybox.db import set_setting
from worrybox.school import open_school

pytestmark = pytest.mark.slow  # backups, restores and checks through the `worrybox` command

CANARY = "BACKUP-CANARY the dinner lady shouts at me"


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def opened_texts(data_dir) -> dict[int, str]:
    """Every worry in a data directory, opened with the DSL's password (read-only: no audit rows)."""
    db = open_school(Paths(data_dir))
    try:
        keyring = keys.unlock_keyring(db, 1, DSL_PASSWORD)
        return {worry_id: casework.read_worry(db, worry_id, keyring).text
                for (worry_id,) in db.execute("SELECT id FROM worries ORDER BY id").fetchall()}
    finally:
        db.close()


@pytest.fixture
def backed_up(child, data_dir, tmp_path):
    assert child.post(text=CANARY, feeling="sad").status_code == 303
    target = tmp_path / "backups" / "hillside.backup"
    result = worrybox("backup", "--data-dir", data_dir, "--to", target)
    assert result.returncode == 0, result.stderr
    return target


@pytest.fixture
def code_file(recovery_code, tmp_path):
    path = tmp_path / "recovery-code.txt"
    path.write_text(recovery_code + "\n")
    return path


def _unsealed(backup, code, tmp_path):
    """The tar inside a sealed backup, opened with the recovery code."""
    plain = tmp_path / ("unsealed-%d.tar" % len(list(tmp_path.glob("unsealed-*"))))
    backups._open_file(backup, plain, code)
    return plain


def _sealed_like(backup, tar_path, target):
    """Seal a tar exactly as `worrybox backup` seals one, to the same team key and recovery wrap."""
    header = backups.read_sealed_header(backup)
    db = open_school(Paths(backup.parent.parent / "school"))
    try:
        public = db.execute("SELECT public_key FROM keys WHERE key_id = ?", [header["team_key_id"]]).fetchone()[0]
    finally:
        db.close()
    header.pop("sealed_file_key")
    header["team_public"] = (header["team_key_id"], public)
    with open(target, "wb") as handle:
        backups._seal_file(tar_path, handle, header)
    return target


def test_a_backup_is_one_sealed_file_only_its_owner_can_read_holding_the_database_and_secrets(
        backed_up, recovery_code, tmp_path):
    assert _mode(backed_up) == 0o600
    with tarfile.open(_unsealed(backed_up, recovery_code, tmp_path)) as tar:
        members = tar.getmembers()
    assert sorted(member.name for member in members) == sorted(MEMBERS)
    assert all(member.mode == 0o600 and member.isfile() for member in members)


def test_a_backup_holds_no_database_no_tar_no_key_file_and_no_name(backed_up, data_dir):
    content = backed_up.read_bytes()
    assert b"SQLite format 3" not in content
    assert b"ustar" not in content and not tarfile.is_tarfile(backed_up)
    for secret in ("pupil.key", "kiosk.secret", "console.secret"):
        assert (data_dir / "secrets" / secret).read_bytes() not in content
        assert secret.encode() not in content
    for name in (b"Amira", b"Qureshi", b"Tomasz", b"Harjit", b"Hillside", b"school.example"):
        assert name not in content


def test_restoring_without_the_recovery_code_or_with_a_wrong_one_restores_nothing(backed_up, tmp_path):
    target = tmp_path / "restored"
    refused = worrybox("restore", "--data-dir", target, "--from", backed_up)
    assert refused.returncode == 1 and "recovery code" in refused.stderr and "Traceback" not in refused.stderr
    wrong = tmp_path / "wrong-code.txt"
    wrong.write_text("AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH\n")
    refused = worrybox("restore", "--data-dir", target, "--from", backed_up, "--recovery-code-file", wrong)
    assert refused.returncode == 1 and "does not open this backup" in refused.stderr
    assert not target.exists()


def test_a_changed_or_cut_short_backup_restores_nothing(backed_up, code_file, tmp_path):
    content = backed_up.read_bytes()
    for number, changed in enumerate([content[:-1], content[:-200] + bytes([content[-200] ^ 1]) + content[-199:],
                                      content + b"extra"]):
        source = tmp_path / ("changed-%d.backup" % number)
        source.write_bytes(changed)
        target = tmp_path / ("restored-%d" % number)
        result = worrybox("restore", "--data-dir", target, "--from", source, "--recovery-code-file", code_file)
        assert result.returncode == 1 and "Nothing was restored" in result.stderr, result.stderr
        assert not target.exists()


def test_a_backup_holds_no_worry_text(backed_up):
    assert CANARY.encode() not in backed_up.read_bytes()


def test_a_restored_school_opens_its_worries_with_the_same_password(backed_up, code_file, tmp_path):
    restored = tmp_path / "restored"
    result = worrybox("restore", "--data-dir", restored, "--from", backed_up, "--recovery-code-file", code_file)
    assert result.returncode == 0, result.stderr
    assert "Restored Hillside Primary" in result.stdout
    assert _mode(restored) == 0o700 and _mode(restored / "secrets") == 0o700
    for path in [restored / "worrybox.db", *(restored / "secrets").iterdir()]:
        assert _mode(path) == 0o600, path
    assert opened_texts(restored) == {1: CANARY}


def test_restore_refuses_a_directory_that_is_not_empty_and_touches_nothing(backed_up, code_file, data_dir):
    before = {path.name: path.stat().st_mtime_ns for path in data_dir.iterdir()}
    result = worrybox("restore", "--data-dir", data_dir, "--from", backed_up, "--recovery-code-file", code_file)
    assert result.returncode == 1 and "is not empty" in result.stderr
    assert {path.name: path.stat().st_mtime_ns for path in data_dir.iterdir()} == before


def test_restore_into_an_existing_empty_directory_works(backed_up, code_file, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert worrybox("restore", "--data-dir", empty, "--from", backed_up, "--recovery-code-file", code_file
                    ).returncode == 0
    assert opened_texts(empty) == {1: CANARY}


def _tar_with(path, entries):
    with tarfile.open(path, "w") as tar:
        for name, content, kind in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return path


@pytest.mark.parametrize("extra", [
    ("../escaped", b"x", tarfile.REGTYPE),
    ("/etc/cron.d/evil", b"x", tarfile.REGTYPE),
    ("secrets/pupil.key", b"", tarfile.SYMTYPE),
], ids=["dot-dot", "absolute path", "symlink"])
def test_restore_refuses_a_file_with_anything_a_backup_never_holds_and_leaves_nothing(
        extra, backed_up, recovery_code, code_file, tmp_path):
    with tarfile.open(_unsealed(backed_up, recovery_code, tmp_path)) as tar:
        genuine = [(m.name, tar.extractfile(m).read(), tarfile.REGTYPE) for m in tar.getmembers()
                   if m.name != extra[0]]
    hostile = _sealed_like(backed_up, _tar_with(tmp_path / "hostile.tar", [extra] + genuine),
                           tmp_path / "hostile.backup")
    target = tmp_path / "restored"
    result = worrybox("restore", "--data-dir", target, "--from", hostile, "--recovery-code-file", code_file)
    assert result.returncode == 1 and "never does" in result.stderr
    assert not target.exists() and not (tmp_path / "escaped").exists()


@pytest.mark.parametrize("content", [b"", b"not a tar file at all" * 100], ids=["empty", "garbage"])
def test_restore_of_something_that_is_not_a_backup_says_so(content, code_file, tmp_path):
    source = tmp_path / "not-a-backup.tar"
    source.write_bytes(content)
    result = worrybox("restore", "--data-dir", tmp_path / "restored", "--from", source, "--recovery-code-file",
                      code_file)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "not a" in result.stderr
    assert not (tmp_path / "restored").exists()


def test_restore_of_a_backup_with_a_damaged_database_restores_nothing(backed_up, recovery_code, code_file, tmp_path):
    with tarfile.open(_unsealed(backed_up, recovery_code, tmp_path)) as tar:
        entries = [(m.name, tar.extractfile(m).read(), tarfile.REGTYPE) for m in tar.getmembers()]
    entries = [(name, b"SQLite format 3\0" + os.urandom(8192) if name == "worrybox.db" else data, kind)
               for name, data, kind in entries]
    damaged = _sealed_like(backed_up, _tar_with(tmp_path / "damaged.tar", entries), tmp_path / "damaged.backup")
    target = tmp_path / "restored"
    target.mkdir()
    result = worrybox("restore", "--data-dir", target, "--from", damaged, "--recovery-code-file", code_file)
    assert result.returncode == 1 and "damaged" in result.stderr
    assert list(target.iterdir()) == []


def test_a_backup_never_overwrites_a_file(backed_up, data_dir):
    before = backed_up.read_bytes()
    result = worrybox("backup", "--data-dir", data_dir, "--to", backed_up)
    assert result.returncode == 1 and "already exists" in result.stderr
    assert backed_up.read_bytes() == before


def test_backups_into_a_directory_are_dated_and_only_the_newest_are_kept(data_dir, tmp_path):
    directory = tmp_path / "nightly"
    directory.mkdir()
    old = [directory / ("worrybox-2026010%dT023000Z.backup" % day) for day in range(1, 5)]
    for path in old:
        path.write_bytes(b"an old backup")
    unrelated = directory / "notes.txt"
    unrelated.write_text("keep me")
    result = worrybox("backup", "--data-dir", data_dir, "--to", directory, "--keep", "3")
    assert result.returncode == 0, result.stderr
    new = result.stdout.split("Backed up to ")[1].split()[0]
    assert {path.name for path in directory.iterdir()} == {"notes.txt", old[2].name, old[3].name,
                                                           os.path.basename(new)}


def test_a_backup_records_when_it_ran(backed_up, db):
    value = db.execute("SELECT value FROM settings WHERE name = ?", [LAST_BACKUP_SETTING]).fetchone()[0]
    assert datetime.now(timezone.utc) - datetime.fromisoformat(value) < timedelta(minutes=1)


# worrybox check

@pytest.fixture
def configured(data_dir, db):
    """A school with nothing for `check` to complain about."""
    set_setting(db, "two_factor", "required")
    db.execute("UPDATE staff SET totp_wrapped_secret = X'01' WHERE role IN ('dsl', 'deputy')")
    for name, value in {"smtp_host": "mail.school.example", "alert_recipients": "dsl@school.example",
                        LAST_BACKUP_SETTING: datetime.now(timezone.utc).isoformat()}.items():
        set_setting(db, name, value)
    return data_dir


def _check(data_dir):
    result = worrybox("check", "--data-dir", data_dir)
    assert "Traceback" not in result.stderr
    return result


def test_check_passes_a_well_set_up_school(configured):
    result = _check(configured)
    assert result.returncode == 0, result.stdout
    assert "All good." in result.stdout and "PROBLEM" not in result.stdout


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o701], ids=["world-readable", "group-readable", "world-enterable"])
def test_check_flags_a_data_directory_others_can_reach_and_says_how_to_fix_it(mode, configured):
    os.chmod(configured, mode)
    result = _check(configured)
    assert result.returncode == 1
    assert "%s can be read by other users (mode %o)" % (configured, mode) in result.stdout
    assert "fix: chmod 700 %s" % configured in result.stdout


def test_check_flags_a_readable_secret_and_database(configured):
    os.chmod(configured / "secrets" / "pupil.key", 0o644)
    os.chmod(configured / "worrybox.db", 0o640)
    result = _check(configured)
    assert result.returncode == 1
    assert "fix: chmod 600 %s" % (configured / "secrets" / "pupil.key") in result.stdout
    assert "fix: chmod 600 %s" % (configured / "worrybox.db") in result.stdout


@pytest.mark.parametrize("name, words", [("pupil.key", "Restore secrets/pupil.key"),
                                         ("console.secret", "head -c 32 /dev/urandom")])
def test_check_flags_a_missing_secret(name, words, configured):
    (configured / "secrets" / name).unlink()
    result = _check(configured)
    assert result.returncode == 1 and "%s is missing" % name in result.stdout and words in result.stdout


def test_check_flags_a_missing_team_key(configured, db):
    db.execute("UPDATE keys SET retired_at = '2026-01-01' WHERE purpose = 'team'")
    result = _check(configured)
    assert result.returncode == 1 and "The kiosk cannot seal worries" in result.stdout


def test_check_flags_no_mail_server(configured, db):
    db.execute("DELETE FROM settings WHERE name = 'smtp_host'")
    result = _check(configured)
    assert result.returncode == 1 and "No mail server" in result.stdout and "Settings" in result.stdout


def test_check_flags_no_backup_in_24_hours_and_a_backup_clears_it(configured, db, tmp_path):
    set_setting(db, LAST_BACKUP_SETTING, (datetime.now(timezone.utc) - timedelta(hours=25)).isoformat())
    result = _check(configured)
    assert result.returncode == 1 and "No backup in the last 24 hours" in result.stdout
    assert worrybox("backup", "--data-dir", configured, "--to", tmp_path / "now.tar").returncode == 0
    assert _check(configured).returncode == 0


def test_check_flags_alerts_stuck_in_the_outbox(configured, db):
    db.execute("INSERT INTO outbox (created_at, subject, body, attempts, next_attempt_at, last_error) "
               "VALUES ('2026-01-01T00:00:00+00:00', 's', 'b', 9, '2026-01-01T00:00:00+00:00', 'ConnectionRefusedError')")
    result = _check(configured)
    assert result.returncode == 1 and "1 alert e-mail(s) waiting" in result.stdout
    assert "ConnectionRefusedError" in result.stdout


def test_check_of_a_directory_with_no_school_says_how_to_make_one(tmp_path):
    result = _check(tmp_path / "nothing-here")
    assert result.returncode == 1 and "worrybox init" in result.stdout and "worrybox restore" in result.stdout


def test_check_changes_nothing(configured):
    before = sqlite3.connect(configured / "worrybox.db").execute("SELECT count(*) FROM audit_log").fetchone()
    _check(configured)
    assert sqlite3.connect(configured / "worrybox.db").execute("SELECT count(*) FROM audit_log").fetchone() == before
