"""Back up a school while both apps keep serving, and restore a backup into an empty data directory.

A backup is one file, readable only by its owner (0600), sealed to the school's team key in use: inside is
a tar of a consistent copy of the database (SQLite's online backup API) and the secrets/ directory (the
pupil key, each app's cookie secret, the mail password), which a working school needs back. Without the
recovery code nothing in it can be read: not the roster, not a name, not a worry's topic. The content is
encrypted in chunks (ChaCha20-Poly1305) under a fresh file key sealed with HPKE (the worries' suite) to the
team public key, so the nightly backup needs no secret at all; the header carries the team key wrapped to
the recovery code (Argon2id, exactly as stored in the database), so a restore needs only the code.
"""

import base64
import io
import json
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from . import sealing
from .config import Paths
from .db import connect, get_setting, set_setting

FORMAT = "worrybox-backup 1"
MANIFEST = "WORRYBOX-BACKUP.txt"
DATABASE = "worrybox.db"
SECRETS = ("secrets/pupil.key", "secrets/kiosk.secret", "secrets/console.secret")
# Backed up when the school keeps one (the mail password), restored when present.
OPTIONAL_SECRETS = ("secrets/smtp.password",)
MEMBERS = (MANIFEST, DATABASE) + SECRETS
# Dated backups: sealed ones, and the plain tar files written before backups were sealed.
NAME_PATTERN = re.compile(r"^worrybox-\d{8}T\d{6}Z\.(backup|tar)$")
SEALED_MAGIC = b"WORRYBOX SEALED BACKUP\n"
SEALED_VERSION = 1
CHUNK = 1 << 20
LAST_BACKUP_SETTING = "last_backup_at"
MAX_AGE = timedelta(hours=24)


class BackupError(Exception):
    """A backup or restore could not be done; the message says why in plain words."""


def backup_name(now: datetime) -> str:
    return "worrybox-%s.backup" % now.strftime("%Y%m%dT%H%M%SZ")


def _file_key_context(team_key_id: str) -> bytes:
    return ("backup-file-key|%s" % team_key_id).encode()


def _chunk_nonce(number: int, last: bool) -> bytes:
    return number.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _seal_file(plain: Path, sealed, header: dict) -> None:
    """Write plain's content to the open file sealed: magic, header, then authenticated chunks (the last marked)."""
    team_key_id, team_public = header.pop("team_public")
    file_key = ChaCha20Poly1305.generate_key()
    header["sealed_file_key"] = base64.b64encode(
        sealing.wrap_to_public(team_public, file_key, _file_key_context(team_key_id))).decode()
    header_bytes = json.dumps(header, sort_keys=True).encode()
    prefix = SEALED_MAGIC + bytes([SEALED_VERSION]) + len(header_bytes).to_bytes(4, "big") + header_bytes
    sealed.write(prefix)
    aead = ChaCha20Poly1305(file_key)
    size = plain.stat().st_size
    with open(plain, "rb") as source:
        number = 0
        while True:
            chunk = source.read(CHUNK)
            last = source.tell() >= size
            encrypted = aead.encrypt(_chunk_nonce(number, last), chunk, prefix)
            sealed.write(len(encrypted).to_bytes(4, "big") + encrypted)
            number += 1
            if last:
                break


def _read_exact(handle, size: int) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise BackupError("cut short")
    return data


def read_sealed_header(source: Path) -> dict:
    """The header of a sealed backup (no secret in it); raise BackupError if it is not a sealed backup."""
    with open(source, "rb") as handle:
        return _read_header(handle)[0]


def _read_header(handle) -> tuple[dict, bytes]:
    magic = handle.read(len(SEALED_MAGIC) + 1)
    if magic[:-1] != SEALED_MAGIC or magic[-1:] != bytes([SEALED_VERSION]):
        raise BackupError("not a sealed backup")
    length = int.from_bytes(_read_exact(handle, 4), "big")
    if length > 1 << 20:
        raise BackupError("not a sealed backup")
    header_bytes = _read_exact(handle, length)
    try:
        header = json.loads(header_bytes)
    except ValueError:
        raise BackupError("not a sealed backup") from None
    return header, magic + length.to_bytes(4, "big") + header_bytes


def _open_file(source: Path, plain: Path, recovery_code: str) -> None:
    """Unseal a backup into plain (a new file) with the recovery code; raise BackupError if it does not open."""
    from . import keys, opening  # only a restore opens anything: the backup itself needs the public key alone

    with open(source, "rb") as handle:
        header, prefix = _read_header(handle)
        try:
            team_key_id = header["team_key_id"]
            team_private = opening.unwrap_with_passphrase(
                opening.normalise_recovery_code(recovery_code), base64.b64decode(header["recovery_wrap"]),
                keys.recovery_wrap_context(team_key_id))
            file_key = opening.unwrap_with_private(team_private, base64.b64decode(header["sealed_file_key"]),
                                                   _file_key_context(team_key_id))
        except opening.OpenError:
            raise BackupError("That recovery code does not open this backup (it is the code printed when the "
                              "backup was made, or a newer one only if the team key was not rotated since)") from None
        except (KeyError, TypeError, ValueError):
            raise BackupError("not a sealed backup") from None
        aead = ChaCha20Poly1305(file_key)
        fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            number = 0
            while True:
                length = handle.read(4)
                if len(length) != 4:
                    raise BackupError("cut short: the last part is missing")
                encrypted = _read_exact(handle, int.from_bytes(length, "big"))
                for last in (False, True):
                    try:
                        out.write(aead.decrypt(_chunk_nonce(number, last), encrypted, prefix))
                        break
                    except Exception:  # InvalidTag: try the other flag, then give up
                        if last:
                            raise BackupError("damaged or changed (part %d does not open)" % (number + 1)) from None
                number += 1
                if last:
                    if handle.read(1):
                        raise BackupError("something was added after its end")
                    return


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
    for name in SECRETS + OPTIONAL_SECRETS:
        try:
            secrets_content[name] = (paths.data_dir / name).read_bytes()
        except FileNotFoundError:
            if name in OPTIONAL_SECRETS:
                continue
            raise BackupError("%s is missing from the data directory: the backup would not restore a working "
                              "school. Run `worrybox check` for how to fix it." % name) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".worrybox-backup-", dir=target.parent))  # mode 0700
    try:
        copy = work / DATABASE
        _copy_database(paths.database, copy, now)
        db = connect(copy)
        try:
            school = get_setting(db, "school_name") or ""
            team = db.execute("SELECT k.key_id, k.public_key, w.wrapped_key FROM keys k JOIN key_wraps w "
                              "ON w.key_id = k.key_id AND w.holder = 'recovery' WHERE k.purpose = 'team' "
                              "AND k.retired_at IS NULL ORDER BY k.created_at DESC LIMIT 1").fetchone()
        finally:
            db.close()
        for leftover in (work / (DATABASE + "-wal"), work / (DATABASE + "-shm")):
            leftover.unlink(missing_ok=True)
        if team is None:
            raise BackupError("The school has no team key to seal a backup to; nothing was saved. Run `worrybox "
                              "check` for how to fix it.")
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
        sealed_path = work / "backup.sealed"
        fd = os.open(sealed_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            _seal_file(partial, handle, {
                "format": FORMAT, "created": now.isoformat(timespec="seconds"), "team_key_id": team[0],
                "team_public": (team[0], team[1]),
                # The team key wrapped to the recovery code, as in the database: a restore needs only the code.
                "recovery_wrap": base64.b64encode(team[2]).decode()})
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(sealed_path, target)
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


def restore_backup(source: Path, paths: Paths, recovery_code: str) -> str:
    """Open a sealed backup with the recovery code and unpack it into an empty (or new) data directory."""
    data_dir = paths.data_dir
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise BackupError("%s is not empty. Restore into a new or empty directory, so nothing there is "
                          "overwritten." % data_dir)
    if not recovery_code or not recovery_code.strip():
        raise BackupError("A backup opens only with the school's recovery code; nothing was restored.")
    try:
        read_sealed_header(source)
    except (OSError, BackupError) as exc:
        raise BackupError("%s is not a Worry Box backup (%s)." % (source, exc)) from None
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".worrybox-restore-", dir=data_dir.parent))  # mode 0700
    try:
        plain = work / "backup.tar"
        try:
            _open_file(source, plain, recovery_code)
        except BackupError as exc:
            raise BackupError("%s could not be opened: %s. Nothing was restored." % (source, exc)) from None
        return _restore_tar(plain, paths, source)
    finally:
        for leftover in work.iterdir():
            leftover.unlink()
        work.rmdir()


def _restore_tar(plain: Path, paths: Paths, source: Path) -> str:
    data_dir = paths.data_dir
    try:
        tar = tarfile.open(plain, mode="r:")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError("%s is not a Worry Box backup (%s)." % (source, exc)) from None
    created_dir = not data_dir.exists()
    written = []
    try:
        with tar:
            members = _check_members(tar, source)
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(data_dir, 0o700)
            for name in (DATABASE,) + SECRETS + tuple(name for name in OPTIONAL_SECRETS if name in members):
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
        if member.name not in MEMBERS + OPTIONAL_SECRETS or not member.isfile() or member.name in members:
            raise BackupError("%s holds something a Worry Box backup never does (%r); nothing was restored."
                              % (source, member.name[:100]))
        members[member.name] = member
    missing = [name for name in MEMBERS if name not in members]
    label = tar.extractfile(members[MANIFEST]).read(200) if MANIFEST in members else b""
    if missing or not label.startswith(FORMAT.encode()):
        raise BackupError("%s is not a complete Worry Box backup (missing: %s); nothing was restored."
                          % (source, ", ".join(missing) or "its label"))
    return members
