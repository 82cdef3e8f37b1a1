"""Open a school that exists: its database (migrated) and its pupil key. No account or opening code here."""

from .config import NotSetUp, Paths, read_secret
from .db import connect, migrate
from .roster import PupilKeys

APP_NAMES = ("kiosk", "console")


def open_school(paths: Paths):
    """Open an existing school's database, applying any pending migrations."""
    if not paths.database.exists():
        raise NotSetUp("No school in %s: run `worrybox init` first." % paths.data_dir)
    db = connect(paths.database)
    migrate(db, lock_path=paths.data_dir / ".migrate.lock")
    _move_mail_password(db, paths)
    return db


def _move_mail_password(db, paths: Paths) -> None:
    # Older versions kept the mail password in the database; whoever may write secrets/ moves it out.
    from . import mail_password

    try:
        mail_password.move_out_of_database(db, paths)
    except OSError:  # the kiosk's user may not write secrets/: the console or the sender will
        pass


def pupil_keys(paths: Paths) -> PupilKeys:
    return PupilKeys(read_secret(paths.pupil_key))
