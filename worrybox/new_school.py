"""Set up a new school: its data directory, database, secrets, team key and first DSL."""

import os

from . import keys, opening
from .audit import audit
from .config import Paths, create_secrets
from .db import connect, get_setting, migrate, set_setting, write_transaction
from .school import APP_NAMES
from .staff import check_password_strength, create_staff


class AlreadySetUp(Exception):
    """The data directory already holds a school."""


def init_school(paths: Paths, school_name: str, dsl_email: str, dsl_name: str, password: str) -> str:
    """Create a school and its first DSL; return the recovery code, which is shown only once."""
    if paths.database.exists():
        db = connect(paths.database)
        named = get_setting(db, "school_name") if db["settings"].exists() else None
        db.close()
        if named:
            raise AlreadySetUp("%s already holds a school (%s)." % (paths.data_dir, named))
    school_name = school_name.strip()
    if not school_name:
        raise ValueError("Give the school's name.")
    check_password_strength(password)
    paths.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(paths.data_dir, 0o700)
    create_secrets(paths, APP_NAMES)
    db = connect(paths.database)
    os.chmod(paths.database, 0o600)
    migrate(db, lock_path=paths.data_dir / ".migrate.lock")
    recovery_code = opening.new_recovery_code()
    with write_transaction(db):
        set_setting(db, "school_name", school_name)
        team_key_id, team_private = keys.create_team_key(db, recovery_code)
        create_staff(db, dsl_email, dsl_name, "dsl", password, team_keys={team_key_id: team_private})
        audit(db, "school_created", detail=school_name)
    db.close()
    return recovery_code
