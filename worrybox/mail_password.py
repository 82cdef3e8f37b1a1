"""The mail server's password: a file in secrets/ (mode 0600) or a systemd credential, never the database.

Only the console (which sets it) and the alert sender (which uses it) read it; see deploy/README.md.
"""

import ipaddress
import os
from pathlib import Path

from .config import Paths
from .db import get_setting, write_transaction

FILE_NAME = "smtp.password"
# systemd: LoadCredential=smtp-password:/etc/worrybox/SCHOOL.smtp-password puts it in $CREDENTIALS_DIRECTORY.
CREDENTIAL_NAME = "smtp-password"
OLD_SETTING = "smtp_password"


def credential_path() -> Path | None:
    """The systemd credential holding the password, if the service was given one."""
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if directory and (Path(directory) / CREDENTIAL_NAME).is_file():
        return Path(directory) / CREDENTIAL_NAME
    return None


def file_path(paths: Paths) -> Path:
    return paths.secrets_dir / FILE_NAME


def read(paths: Paths) -> str:
    """The mail password (first line of the credential or file), or '' when there is none."""
    path = credential_path() or file_path(paths)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return ""
    return lines[0] if lines else ""


def is_set(paths: Paths) -> bool:
    return bool(read(paths))


def write(paths: Paths, password: str) -> None:
    """Keep a new mail password in secrets/ (0600, replaced atomically); an empty one removes the file."""
    target = file_path(paths)
    if not password:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = target.with_name(".%s.%d" % (FILE_NAME, os.getpid()))
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, target)


def move_out_of_database(db, paths: Paths) -> bool:
    """Move a password an older version kept in the settings table into secrets/; return whether one was moved."""
    stored = get_setting(db, OLD_SETTING)
    if stored is None:
        return False
    if stored and not file_path(paths).exists():
        write(paths, stored)
    with write_transaction(db):
        db.execute("DELETE FROM settings WHERE name = ?", [OLD_SETTING])
    return bool(stored)


def may_send_password(host: str, security: str) -> bool:
    """AUTH goes only over TLS (STARTTLS or implicit), or to this machine itself."""
    if security in ("starttls", "tls"):
        return True
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
