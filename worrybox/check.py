"""`worrybox check`: what is wrong with a school's server set-up, each with a plain fix."""

import os
import sqlite3
import stat
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import alerts, certificates, mail_password, two_factor
from .backup import MAX_AGE, last_backup
from .config import Paths
from .db import connect, get_setting
from .migrations import migrations
from .recipients import NoRecipients, worry_recipients

SECRET_FILES = ("pupil.key", "kiosk.secret", "console.secret")
STUCK_ALERT = timedelta(hours=1)


@dataclass(frozen=True)
class Finding:
    """One thing checked: fine, or a problem with how to fix it."""

    ok: bool
    what: str
    fix: str = ""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# Readable by the kiosk's own user through the shared group when the school is deployed with two users
# (deploy/README.md); console.secret and the mail password never are.
SHARED_WITH_THE_KIOSK = ("", "-wal", "-shm", "secrets", "pupil.key", "kiosk.secret")


def _private(path: Path, want: int, findings: list, owner: int, group: int | None = None) -> None:
    """A file or directory only its owner can read, owned by the same user as the data directory.

    With group (a two-user deployment) it may also be read and written by that group, and owned by either user.
    """
    mode = _mode(path)
    if mode & (0o007 if group is not None else 0o077):
        findings.append(Finding(False, "%s can be read by other users (mode %o)." % (path, mode),
                                "chmod %o %s" % (want, path)))
    if group is not None:
        if path.stat().st_gid != group:
            findings.append(Finding(False, "%s does not belong to the data directory's group." % path,
                                    "chgrp %d %s" % (group, path)))
    elif path.stat().st_uid != owner:
        findings.append(Finding(False, "%s belongs to another user than the data directory does." % path,
                                "chown %d %s   (or run every worrybox command as the service user, "
                                "e.g. sudo -u worrybox ...)" % (owner, path)))


def check_files(paths: Paths) -> list[Finding]:
    """The data directory, database and secrets: there, private, and owned by one user."""
    findings = []
    data_dir = paths.data_dir
    if not data_dir.is_dir():
        return [Finding(False, "There is no data directory at %s." % data_dir,
                        "Set up a school with `worrybox init --data-dir %s`, or restore one with "
                        "`worrybox restore --data-dir %s --from BACKUP`." % (data_dir, data_dir))]
    owner = data_dir.stat().st_uid
    # Two users (kiosk and console) sharing a group: the directory is group-writable and setgid (2770) and
    # nobody else's. Anything else is one user's, as before.
    mode = data_dir.stat().st_mode
    shared = data_dir.stat().st_gid if mode & 0o2070 == 0o2070 and not mode & 0o007 else None
    _private(data_dir, 0o2770 if shared is not None else 0o700, findings, owner, shared)
    if not paths.database.exists():
        findings.append(Finding(False, "There is no database in %s." % data_dir,
                                "Set up a school with `worrybox init`, or restore your latest backup into an "
                                "empty directory with `worrybox restore`."))
    for suffix in ("", "-wal", "-shm"):
        path = Path(str(paths.database) + suffix)
        if path.exists():
            _private(path, 0o660 if shared is not None else 0o600, findings, owner, shared)
    if not paths.secrets_dir.is_dir():
        findings.append(Finding(False, "The secrets directory %s is missing." % paths.secrets_dir,
                                "Restore it from your latest backup (`worrybox restore` into an empty directory, "
                                "then move secrets/ across)."))
        return findings
    _private(paths.secrets_dir, 0o2750 if shared is not None else 0o700, findings, owner, shared)
    for name in SECRET_FILES:
        path = paths.secrets_dir / name
        if not path.exists():
            if name == "pupil.key":
                fix = ("Restore secrets/pupil.key from your latest backup. Without it the roster cannot be read "
                       "and neither app starts; if no backup has it, import the roster again into a new school.")
            else:
                fix = ("Make a new one (everyone using that app is signed out): "
                       "head -c 32 /dev/urandom > %s && chmod 600 %s" % (path, path))
            findings.append(Finding(False, "%s is missing." % path, fix))
            continue
        if path.stat().st_size < 32:
            findings.append(Finding(False, "%s is damaged (shorter than 32 bytes)." % path,
                                    "Restore it from your latest backup."))
        if shared is not None and name in SHARED_WITH_THE_KIOSK:
            _private(path, 0o640, findings, owner, shared)
        else:
            # Never the kiosk's: the console's cookie secret is for the console (and the sender) alone.
            _private(path, 0o600, findings, owner)
    mail_secret = mail_password.file_path(paths)
    if mail_secret.exists():
        _private(mail_secret, 0o600, findings, owner)
    if not findings:
        findings.append(Finding(True, "The data directory, database and secrets are there and private to their owner."))
    return findings


def check_school(db, now: datetime, data_dir: Path = Path("DIR")) -> list[Finding]:
    """The school inside the database: schema, keys, two-factor sign-in, alerts and backups."""
    findings = []
    integrity = db.execute("PRAGMA quick_check").fetchone()[0]
    if integrity != "ok":
        findings.append(Finding(False, "The database is damaged (%s)." % integrity[:200],
                                "Stop the services and restore your latest backup into an empty directory."))
    pending = [migration.name for migration in migrations.pending(db)]
    if pending:
        findings.append(Finding(False, "The database needs upgrading (%s)." % ", ".join(pending),
                                "Restart the kiosk and console services: they upgrade it as they start."))
    if not get_setting(db, "school_name"):
        findings.append(Finding(False, "No school is set up in this database.", "Run `worrybox init`."))
        return findings
    try:
        worry_recipients(db)
    except NoRecipients as exc:
        findings.append(Finding(False, "The kiosk cannot seal worries (%s), so it is resting and takes none." % exc,
                                "Restore the database from your latest backup."))
    holders = db.execute(
        "SELECT s.id, s.email, s.role FROM staff s WHERE s.role IN ('dsl', 'deputy') AND s.removed_at IS NULL "
        "AND EXISTS (SELECT 1 FROM key_wraps w WHERE w.holder = 'staff' AND w.staff_id = s.id)").fetchall()
    if not holders:
        findings.append(Finding(False, "No member of staff holds the safeguarding team key: nobody can open a worry.",
                                "Add a DSL with `worrybox add-staff --role dsl --recovery-code-file CODE ...`."))
    findings += check_certificates(db, data_dir)
    if not two_factor.school_requires(db):
        findings.append(Finding(False, "Two-factor sign-in is switched off for this school.",
                                "worrybox two-factor require --data-dir %s" % data_dir))
    else:
        for staff_id, email, role in holders:
            if not two_factor.is_enrolled(db, staff_id):
                findings.append(Finding(False, "%s (%s) has not set up two-factor sign-in yet." % (email, role),
                                        "They should sign in to the staff console now: it walks them through it."))
    smtp = alerts.load_smtp_settings(db)
    if smtp is not None and smtp.username and not mail_password.may_send_password(smtp.host, smtp.security):
        findings.append(Finding(False, "The mail server is set to send its password unencrypted (security: none) to "
                                       "%s: alerts are not sent that way." % smtp.host,
                                "Sign in to the staff console as the DSL, open Settings, and choose STARTTLS or TLS."))
    if smtp is None:
        findings.append(Finding(False, "No mail server or no alert recipients: urgent alerts show only in the console.",
                                "Sign in to the staff console as the DSL, open Settings, and fill in the mail server "
                                "and who to send alerts to."))
    failing = alerts.last_delivery_error(db)
    if failing:
        findings.append(Finding(False, "Alert e-mails are not getting through; the last error was: %s" % failing[0],
                                "Fix the mail server settings in the console (Settings); the alerts wait in the "
                                "queue and go out once it works."))
    stuck_since = (now - STUCK_ALERT).isoformat(timespec="microseconds")
    stuck = db.execute("SELECT count(*), max(last_error) FROM outbox WHERE delivered_at IS NULL AND created_at < ?",
                       [stuck_since]).fetchone()
    if stuck[0]:
        findings.append(Finding(False, "%d alert e-mail(s) waiting for over an hour (last error: %s)."
                                % (stuck[0], stuck[1] or "none: is the alert sender running?"),
                                "Check the mail server settings in the console, and that the alert sender runs: "
                                "systemctl status worrybox-alerts@SCHOOL"))
    backed_up = last_backup(db)
    if backed_up is None or now - backed_up > MAX_AGE:
        when = "never" if backed_up is None else "last on %s" % backed_up.strftime("%Y-%m-%d %H:%M UTC")
        findings.append(Finding(False, "No backup in the last 24 hours (%s)." % when,
                                "worrybox backup --data-dir %s --to /var/backups/worrybox/ --keep 14 ; the nightly "
                                "timer does this for you: systemctl enable --now worrybox-backup@SCHOOL.timer "
                                "(deploy/README.md)" % data_dir))
    if not findings:
        findings.append(Finding(True, "Keys, two-factor sign-in, alert e-mail and backups are in order."))
    return findings


def check_certificates(db, data_dir: Path = Path("DIR")) -> list[Finding]:
    """Who receives worries: every personal key certified by the safeguarding team, and matching its account."""
    findings = []
    if certificates.current_signing_key(db) is None:
        findings.append(Finding(False, "The safeguarding team has no signing key yet, so no teacher, head teacher or "
                                       "governor receives worries (the team key still receives every one).",
                                "A DSL approves staff on the Staff page of the console (the first approval makes "
                                "the key), or: worrybox approve-staff --data-dir %s --email EMAIL --by DSL_EMAIL"
                                % data_dir))
    for found in certificates.standings(db):
        if found.certified:
            continue
        email, role = db.execute("SELECT email, role FROM staff WHERE id = ?", [found.staff_id]).fetchone()
        if found.pending:
            findings.append(Finding(False, "%s (%s) is waiting for a DSL or deputy to approve them, and receives "
                                           "nothing until then." % (email, role),
                                    "A DSL or deputy approves them on the Staff page, or: worrybox approve-staff "
                                    "--data-dir %s --email %s --by DSL_EMAIL" % (data_dir, email)))
        else:
            findings.append(Finding(False, "%s (%s) receives nothing: %s. Someone may have edited the database."
                                    % (email, role, found.problem),
                                    "A DSL checks who changed it (audit log, server access); if the account is right "
                                    "as it is now, approve it again on the Staff page."))
    return findings


def run_checks(paths: Paths, now: datetime | None = None) -> list[Finding]:
    """Check everything that can be checked; never changes the school."""
    now = now or datetime.now(timezone.utc)
    findings = check_files(paths)
    if not paths.database.exists():
        return findings
    try:
        db = connect(paths.database)
        try:
            findings += check_school(db, now, paths.data_dir)
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        findings.append(Finding(False, "The database cannot be read (%s)." % exc,
                                "Check its owner and mode above; if it is damaged, restore your latest backup."))
    if os.geteuid() == 0 and paths.data_dir.stat().st_uid != 0:
        findings.append(Finding(True, "(You ran this as root; run worrybox commands as the service user, e.g. "
                                      "sudo -u worrybox worrybox check, so no file ends up owned by root.)"))
    return findings
