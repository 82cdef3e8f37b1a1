"""Back up a school while both apps keep serving, and restore a backup into an empty data directory.

A backup is one tar file, readable only by its owner (0600): a consistent copy of the database made with
SQLite's online backup API, and the secrets/ directory (the pupil key and each app's cookie secret), which
a working school needs back. Worries in it stay sealed: they open only with a key-holding member of staff's
password or the recovery code, exactly as on the server. The pupil key in it opens the roster, so a backup
must be kept as privately as the server itself.
"""

import io
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .config import Paths
from .db import connect, get_setting, set_setting

FORMAT = "worrybox-backup 1"
MANIFEST = "WORRYBOX-BACKUP.txt"
DATABASE = "worrybox.db"
SECRETS = ("secrets/pupil.key", "secrets/kiosk.secret", "secrets/console.secret")
MEMBERS = (MANIFEST, DATABASE) + SECRETS
NAME_PATTERN = re.compile(r"^worrybox-\d{8}T\d{6}Z\.tar$")
LAST_BACKUP_SETTING = "last_backup_at"
MAX_AGE = timedelta(hours=24)


class BackupError(Exception):
    """A backup or restore could not be done; the message says why in plain words."""


def backup_name(now: datetime) -> str:
    return "worrybox-%s.tar" % now.strftime("%Y%m%dT%H%M%SZ")


def _copy_database(source: Path, target: Path, now: datetime) -> None:
    """Copy the live database with the online backup API: one consistent snapshot, writers keep going (WAL)."""
    src = sqlite3.connect(str(source), timeout=30)
    dst = sqlite3.connect(str(target), isolation_level=None)
    try:
        # All pages in one step: under WAL this reads one snapshot and never blocks the kiosk's writes.
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        # A school restored from this file was backed up at this moment.
        dst.execute("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = "
                    "excluded.value", [LAST_BACKUP_SETTING, now.isoformat(timespec="microseconds")])
        result = dst.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        dst.close()
        src.close()
    if result != "ok":
        raise BackupError("The copy of the database failed its integrity check (%s); nothing was saved." % result)


def _add_file(tar: tarfile.TarFile, name: str, content: bytes | Path, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.mode, info.mtime = 0o600, int(mtime)
    if isinstance(content, Path):
        info.size = content.stat().st_size
        with open(content, "rb") as handle:
            tar.addfile(info, handle)
    else:
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_backup(paths: Paths, target: Path, now: datetime | None = None) -> Path:
    """Write a backup to target (a file path, or an existing directory to put a dated file in); return its path."""
    now = now or datetime.now(timezone.utc)
    if not paths.database.exists():
        raise BackupError("No school in %s: nothing to back up." % paths.data_dir)
    target = target / backup_name(now) if target.is_dir() else target
    if target.exists():
        raise BackupError("%s already exists: choose another name, or give a directory." % target)
    secrets_content = {}
    for name in SECRETS:
        try:
            secrets_content[name] = (paths.data_dir / name).read_bytes()
        except FileNotFoundError:
            raise BackupError("%s is missing from the data directory: the backup would not restore a working "
                              "school. Run `worrybox check` for how to fix it." % name) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".worrybox-backup-", dir=target.parent))  # mode 0700
    try:
        copy = work / DATABASE
        _copy_database(paths.database, copy, now)
        db = connect(paths.database)
        try:
            school = get_setting(db, "school_name") or ""
        finally:
            db.close()
        manifest = "%s\nschool: %s\ncreated: %s\n" % (FORMAT, school, now.isoformat(timespec="seconds"))
        partial = work / "backup.tar"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar:
                _add_file(tar, MANIFEST, manifest.encode(), now.timestamp())
                _add_file(tar, DATABASE, copy, now.timestamp())
                for name, content in secrets_content.items():
                    _add_file(tar, name, content, now.timestamp())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
        _fsync_dir(target.parent)
    finally:
        for leftover in work.iterdir():
            leftover.unlink()
        work.rmdir()
    db = connect(paths.database)
    try:
        set_setting(db, LAST_BACKUP_SETTING, now.isoformat(timespec="microseconds"))
    finally:
        db.close()
    return target


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` dated backups in a directory; return what was deleted."""
    dated = sorted(path for path in directory.iterdir() if NAME_PATTERN.match(path.name) and path.is_file())
    doomed = dated[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink()
    return doomed


def last_backup(db) -> datetime | None:
    value = get_setting(db, LAST_BACKUP_SETTING)
    return datetime.fromisoformat(value) if value else None


def restore_backup(source: Path, paths: Paths) -> str:
    """Unpack a backup into an empty (or new) data directory; return the school's name."""
    data_dir = paths.data_dir
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise BackupError("%s is not empty. Restore into a new or empty directory, so nothing there is "
                          "overwritten." % data_dir)
    try:
        tar = tarfile.open(source, mode="r:")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError("%s is not a Worry Box backup (%s)." % (source, exc)) from None
    created_dir = not data_dir.exists()
    written = []
    try:
        with tar:
            members = _check_members(tar, source)
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(data_dir, 0o700)
            for name in (DATABASE,) + SECRETS:
                path = data_dir / name
                path.parent.mkdir(mode=0o700, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                written.append(path)
                with os.fdopen(fd, "wb") as handle, tar.extractfile(members[name]) as content:
                    shutil.copyfileobj(content, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
        db = sqlite3.connect(str(paths.database))
        try:
            result = db.execute("PRAGMA integrity_check").fetchone()[0]
            school = db.execute("SELECT value FROM settings WHERE name = 'school_name'").fetchone()
        except sqlite3.DatabaseError as exc:
            result, school = str(exc), None
        finally:
            db.close()
        if result != "ok" or not school:
            raise BackupError("The database in %s is damaged (%s); nothing was restored." % (source, result))
    except (OSError, tarfile.TarError) as exc:
        _remove(written, data_dir, created_dir)
        raise BackupError("%s could not be restored (%s); nothing was restored." % (source, exc)) from None
    except BaseException:
        _remove(written, data_dir, created_dir)
        raise
    return school[0]


def _remove(written: list[Path], data_dir: Path, created_dir: bool) -> None:
    """Take back a half-done restore, so the directory is as empty as it was."""
    for path in reversed(written):
        path.unlink(missing_ok=True)
    for leftover in (data_dir / (DATABASE + "-journal"), data_dir / (DATABASE + "-wal"), data_dir / (DATABASE + "-shm")):
        leftover.unlink(missing_ok=True)
    if (data_dir / "secrets").is_dir() and not any((data_dir / "secrets").iterdir()):
        (data_dir / "secrets").rmdir()
    if created_dir and data_dir.is_dir() and not any(data_dir.iterdir()):
        data_dir.rmdir()


def _check_members(tar: tarfile.TarFile, source: Path) -> dict[str, tarfile.TarInfo]:
    """Return the backup's members by name, refusing anything a Worry Box backup never holds."""
    members = {}
    for member in tar:
        # Only plain files with the names we write: no links, devices, absolute paths or ../ tricks.
        if member.name not in MEMBERS or not member.isfile() or member.name in members:
            raise BackupError("%s holds something a Worry Box backup never does (%r); nothing was restored."
                              % (source, member.name[:100]))
        members[member.name] = member
    missing = [name for name in MEMBERS if name not in members]
    label = tar.extractfile(members[MANIFEST]).read(200) if MANIFEST in members else b""
    if missing or not label.startswith(FORMAT.encode()):
        raise BackupError("%s is not a complete Worry Box backup (missing: %s); nothing was restored."
                          % (source, ", ".join(missing) or "its label"))
    return members
