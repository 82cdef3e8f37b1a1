"""Where a school's files live, and the secrets each app reads from there."""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "WORRYBOX_DATA_DIR"


class NotSetUp(Exception):
    """The data directory does not hold a school yet."""


@dataclass(frozen=True)
class Paths:
    """Every file a school keeps in its data directory."""

    data_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "worrybox.db"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    @property
    def pupil_key(self) -> Path:
        """Key for the roster and for pupil pseudonyms (HMAC); never opens a worry."""
        return self.secrets_dir / "pupil.key"

    def app_secret(self, app_name: str) -> Path:
        """Each app signs its own cookies with its own secret."""
        return self.secrets_dir / ("%s.secret" % app_name)


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """Return the data directory given, or the one named by $WORRYBOX_DATA_DIR."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV)
    if not chosen:
        raise NotSetUp("No data directory: pass --data-dir or set %s." % DATA_DIR_ENV)
    return Path(chosen).expanduser().resolve()


def write_secret_file(path: Path, content: bytes) -> None:
    """Create a file readable only by its owner; never overwrite an existing one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def create_secrets(paths: Paths, app_names: tuple[str, ...]) -> None:
    """Create the pupil key and each app's cookie secret if they are missing."""
    if not paths.pupil_key.exists():
        write_secret_file(paths.pupil_key, secrets.token_bytes(32))
    for name in app_names:
        if not paths.app_secret(name).exists():
            write_secret_file(paths.app_secret(name), secrets.token_bytes(32))


def read_secret(path: Path) -> bytes:
    """Read a secret file, raising NotSetUp if it is missing or empty."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise NotSetUp("Missing %s: run `worrybox init` first." % path.name) from None
    if len(content) < 32:
        raise NotSetUp("%s is damaged (too short)." % path.name)
    return content
