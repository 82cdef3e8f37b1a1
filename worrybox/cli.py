"""The `worrybox` command: set up a school, add staff, import a roster, run the apps, start a demo."""

import sys
from pathlib import Path

import click

from . import certificates, certify, keys, opening, roster, staff
from .config import DATA_DIR_ENV, NotSetUp, Paths
from .new_school import AlreadySetUp, init_school
from .school import open_school, pupil_keys
from .staff import ROLES, AccountError, create_staff, find_staff_id
from .db import write_transaction

data_dir_option = click.option(
    "--data-dir", envvar=DATA_DIR_ENV, required=True, type=click.Path(file_okay=False, path_type=Path),
    help="The school's data directory (default: $%s)." % DATA_DIR_ENV,
)


def _read_password_file(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException("Could not read %s: %s" % (path, exc))
    if not lines or not lines[0]:
        raise click.ClickException("%s is empty: put the password on its first line." % path)
    return lines[0]


def _password(password_file: Path | None, prompt: str) -> str:
    if password_file:
        return _read_password_file(password_file)
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


def _open(data_dir: Path):
    """Open the school's database for this command; it is closed when the command ends."""
    try:
        db = open_school(Paths(data_dir.resolve()))
    except NotSetUp as exc:
        raise click.ClickException(str(exc))
    click.get_current_context().call_on_close(db.close)
    return db


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Worry Box: a worry box and peer-support kiosk for schools, sealed end to end."""


@main.command()
@data_dir_option
@click.option("--school", "school_name", required=True, help="The school's name, as children know it.")
@click.option("--dsl-email", required=True)
@click.option("--dsl-name", required=True)
@click.option("--password-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="File whose first line is the DSL's password (otherwise you are asked).")
def init(data_dir, school_name, dsl_email, dsl_name, password_file):
    """Create a school: database, keys and its Designated Safeguarding Lead."""
    password = _password(password_file, "Password for %s" % dsl_email)
    try:
        code = init_school(Paths(data_dir.resolve()), school_name, dsl_email, dsl_name, password)
    except (AlreadySetUp, AccountError, ValueError) as exc:
        raise click.ClickException(str(exc))
    click.echo("Set up %s in %s." % (school_name, data_dir))
    click.echo("")
    click.echo("RECOVERY CODE (shown once):  %s" % code)
    click.echo("")
    click.echo("Print it and lock it away with the school's safeguarding records. If every DSL forgets")
    click.echo("their password, this code is the only way to open the worries again.")


@main.command("add-staff")
@data_dir_option
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(sorted(ROLES)))
@click.option("--class", "class_name", help="The class a teacher teaches (as in the roster).")
@click.option("--password-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="File whose first line is the new member's password (otherwise you are asked).")
@click.option("--by", "by_email", help="Email of a DSL or deputy who approves the new account as it is added "
              "(needed for dsl and deputy; without it a teacher, head or governor waits for approval).")
@click.option("--by-password-file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--recovery-code-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Unlock the team key with the recovery code instead of a DSL's password.")
def add_staff(data_dir, email, name, role, class_name, password_file, by_email, by_password_file, recovery_code_file):
    """Add a member of staff; with --by a DSL approves them as they are added (and gives a deputy the team key)."""
    db = _open(data_dir)
    team_keys = None
    if role in keys.KEY_HOLDING_ROLES or by_email or recovery_code_file:
        team_keys = _unlock_team_keys(db, by_email, by_password_file, recovery_code_file)
    password = _password(password_file, "Password for %s" % email)
    try:
        create_staff(db, email, name, role, password, class_name=class_name, team_keys=team_keys,
                     by_staff_id=_by_staff_id(db, by_email, recovery_code_file))
    except AccountError as exc:
        raise click.ClickException(str(exc))
    except certify.NoSigningKey as exc:
        raise click.ClickException("Could not approve the new account (%s): nothing was added." % exc)
    click.echo("Added %s (%s) as %s." % (name, email, ROLES[role]))
    if team_keys is None and role in certificates.RECEIVING_ROLES:
        click.echo("They receive no worry until a DSL or deputy approves them: on the Staff page of the console, or "
                   "worrybox approve-staff --email %s --by DSL_EMAIL" % email)


def _unlock_team_keys(db, by_email, by_password_file, recovery_code_file,
                      who="A DSL or deputy needs the team key") -> dict[str, bytes]:
    """The team keys, unlocked with the recovery code or by a DSL or deputy (--by); who says who may do this."""
    if recovery_code_file:
        try:
            team = keys.unlock_team_with_recovery(db, _read_password_file(recovery_code_file))
        except opening.OpenError:
            raise click.ClickException("That recovery code does not open the team key.")
        return team
    if not by_email:
        raise click.ClickException("%s: give --by EMAIL and --by-password-file of a DSL or deputy, or "
                                   "--recovery-code-file." % who)
    by_id = _staff_id_or_fail(db, by_email)
    password = _read_password_file(by_password_file) if by_password_file else \
        click.prompt("Password for %s" % by_email, hide_input=True)
    try:
        keyring = keys.unlock_keyring(db, by_id, password)
    except opening.OpenError:
        raise click.ClickException("That password does not unlock %s's keys." % by_email)
    team = keys.team_keys_of(keyring, db)
    if not team:
        raise click.ClickException("%s does not hold the team key." % by_email)
    return team


def _by_staff_id(db, by_email, recovery_code_file) -> int | None:
    """Who the audit log names for a change made --by a DSL; nobody when it was made with the recovery code."""
    return None if recovery_code_file or not by_email else find_staff_id(db, by_email)


def _staff_id_or_fail(db, email) -> int:
    staff_id = find_staff_id(db, email)
    if staff_id is None:
        raise click.ClickException("No member of staff has the email %s." % email)
    return staff_id


by_options = [
    click.option("--by", "by_email", help="Email of the DSL who does this (their keys are unlocked for it)."),
    click.option("--by-password-file", type=click.Path(dir_okay=False, exists=True, path_type=Path)),
    click.option("--recovery-code-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                 help="Unlock the team key with the recovery code instead of a DSL's password."),
]


def _with_by_options(command):
    for option in reversed(by_options):
        command = option(command)
    return command


@main.command("approve-staff")
@data_dir_option
@click.option("--email", required=True, help="The member of staff to approve, as their account stands now.")
@_with_by_options
def approve_staff_command(data_dir, email, by_email, by_password_file, recovery_code_file):
    """Approve an account so it receives worries (a DSL or deputy, --by, or the recovery code); audited."""
    db = _open(data_dir)
    staff_id = _staff_id_or_fail(db, email)
    team_keys = _unlock_team_keys(db, by_email, by_password_file, recovery_code_file,
                                  who="Only the safeguarding team approves")
    try:
        staff.approve_staff(db, staff_id, team_keys, by_staff_id=_by_staff_id(db, by_email, recovery_code_file))
    except AccountError as exc:
        raise click.ClickException(str(exc))
    except certify.NoSigningKey as exc:
        raise click.ClickException("Could not approve (%s). Use the recovery code, or the DSL who made the newest "
                                   "team key." % exc)
    member = staff.get_staff(db, staff_id)
    click.echo("Approved %s as %s%s: they receive new worries from now on." % (
        email, member.role_label, " of %s" % member.class_name if member.role == "teacher" else ""))


@main.command("remove-staff")
@data_dir_option
@click.option("--email", required=True, help="The member of staff who is leaving.")
def remove_staff_command(data_dir, email):
    """Remove a member of staff: they cannot sign in, and no key of theirs opens anything new."""
    db = _open(data_dir)
    staff_id = _staff_id_or_fail(db, email)
    held_team_key = staff.get_staff(db, staff_id).role in keys.KEY_HOLDING_ROLES
    try:
        staff.remove_staff(db, staff_id)
    except AccountError as exc:
        raise click.ClickException(str(exc))
    click.echo("Removed %s: they cannot sign in, and every session of theirs has ended." % email)
    if held_team_key:
        click.echo("Their copy of the team key is deleted. If they could have kept a copy of it, or seen the "
                   "recovery code, run `worrybox rotate-team-key`.")


@main.command("reset-password")
@data_dir_option
@click.option("--email", required=True, help="The member of staff who forgot their password.")
@click.option("--password-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="File whose first line is their new password (otherwise you are asked).")
@_with_by_options
def reset_password_command(data_dir, email, password_file, by_email, by_password_file, recovery_code_file):
    """Give a member of staff a new password and a new key; a DSL (--by) re-wraps the team key to it."""
    db = _open(data_dir)
    staff_id = _staff_id_or_fail(db, email)
    team_keys = _unlock_team_keys(db, by_email, by_password_file, recovery_code_file,
                                  who="A DSL or deputy resets passwords")
    password = _password(password_file, "New password for %s" % email)
    try:
        staff.reset_password(db, staff_id, password, team_keys=team_keys,
                             by_staff_id=_by_staff_id(db, by_email, recovery_code_file))
    except AccountError as exc:
        raise click.ClickException(str(exc))
    click.echo("Reset the password of %s, with a new personal key. Worries sealed only to their old key stay "
               "closed to them (the safeguarding team still opens every worry). They set up two-factor sign-in "
               "again if they used it." % email)


@main.command("rotate-team-key")
@data_dir_option
@_with_by_options
def rotate_team_key_command(data_dir, by_email, by_password_file, recovery_code_file):
    """Make a new team key for new worries (old ones still open) and print a NEW recovery code."""
    db = _open(data_dir)
    team_keys = _unlock_team_keys(db, by_email, by_password_file, recovery_code_file)
    try:
        code, _key_id, _private = staff.rotate_team_key(
            db, team_keys, by_staff_id=_by_staff_id(db, by_email, recovery_code_file))
    except ValueError as exc:
        if "certified" in str(exc):
            raise click.ClickException("No approved DSL or deputy would hold the new key, so nothing was changed. "
                                       "Rotate --by a DSL (not the recovery code), or approve one first.")
        raise click.ClickException("Those keys do not include every team key the school has had. Use the "
                                   "recovery code (--recovery-code-file), or the DSL who has held the key longest.")
    click.echo("New worries are now sealed to a new team key; old worries still open for every DSL and deputy.")
    click.echo("")
    click.echo("NEW RECOVERY CODE (shown once):  %s" % code)
    click.echo("")
    click.echo("The old recovery code no longer works. Print this one and lock it away with the safeguarding records.")
    click.echo("A DSL or deputy signed in to the console right now sees new worries once they sign in again.")


@main.command("import-roster")
@data_dir_option
@click.argument("csv_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def import_roster(data_dir, csv_file):
    """Add or update pupils from a CSV (pupil_id, first_name, last_name, class, or your MIS's headers)."""
    db = _open(data_dir)
    try:
        pupils = roster.parse_roster(csv_file.read_bytes())
    except roster.RosterError as exc:
        click.echo("Nothing was imported. Please fix these lines and try again:", err=True)
        for problem in exc.problems:
            click.echo("  " + problem, err=True)
        sys.exit(1)
    added, updated = roster.import_roster(db, pupil_keys(Paths(data_dir.resolve())), pupils)
    click.echo("Imported %d pupils: %d new, %d updated." % (len(pupils), added, updated))


@main.command()
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--kiosk-port", default=8000, show_default=True, type=int)
@click.option("--console-port", default=8001, show_default=True, type=int)
def run(data_dir, host, kiosk_port, console_port):
    """Serve the kiosk and the staff console under gunicorn."""
    from .runner import run_apps

    _open(data_dir).close()  # checks the school exists and migrates it; the apps open their own
    sys.exit(run_apps(data_dir.resolve(), host, kiosk_port, console_port, echo=click.echo))


@main.command("send-alerts")
@data_dir_option
@click.option("--interval", default=5.0, show_default=True, type=float, help="Seconds between checks.")
def send_alerts(data_dir, interval):
    """Deliver queued alerts by e-mail, and run retention daily, until stopped (`worrybox run` starts this)."""
    import signal

    from .alerts import run_sender

    paths = Paths(data_dir.resolve())
    _open(data_dir).close()
    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.append(True))
    click.echo("Alert sender running for %s." % paths.data_dir)
    from . import mail_password

    run_sender(lambda: open_school(paths), interval=interval, should_stop=lambda: bool(stopping), log=click.echo,
               mail_password=lambda: mail_password.read(paths))


@main.command()
@data_dir_option
@click.option("--dry-run", is_flag=True, help="Only count; do not write the count to the audit log.")
def retention(data_dir, dry_run):
    """Say how many closed worries are on the list to review for deletion (only a DSL, in the console, deletes)."""
    from .retention import apply_retention

    summary = apply_retention(_open(data_dir), dry_run=dry_run).summary(dry_run=dry_run)
    click.echo(summary[0].upper() + summary[1:] + ".")
    click.echo("Nothing was deleted: a DSL reviews and confirms the list in the console (Settings, retention).")


@main.command()
@click.option("--data-dir", default="./demo-data", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--kiosk-port", default=8000, show_default=True, type=int)
@click.option("--console-port", default=8001, show_default=True, type=int)
def demo(data_dir, host, kiosk_port, console_port):
    """Create a demo school with every role, mediators and sample worries (if there is none) and run it."""
    from .demo import NotADemoSchool, create_demo_school, sign_in_guide, write_guide
    from .runner import run_apps

    try:
        logins = create_demo_school(data_dir.resolve())
    except NotADemoSchool as exc:
        raise click.ClickException(str(exc))
    except KeyboardInterrupt:
        click.echo("Stopped before the demo school was ready; nothing was kept.")
        sys.exit(0)
    guide = sign_in_guide(logins, "http://%s:%d" % (host, kiosk_port), "http://%s:%d" % (host, console_port))
    click.echo(guide + "(This list is also in %s.)\n" % write_guide(data_dir.resolve(), guide))
    sys.exit(run_apps(data_dir.resolve(), host, kiosk_port, console_port, echo=click.echo))



@main.command()
@data_dir_option
def check(data_dir):
    """Report what is wrong with this school's set-up, with a fix for each; exit 1 if anything is."""
    from .check import run_checks

    findings = run_checks(Paths(data_dir.resolve()))
    for finding in findings:
        if finding.ok:
            click.echo("ok       %s" % finding.what)
        else:
            click.echo("PROBLEM  %s" % finding.what)
            click.echo("         fix: %s" % finding.fix)
    problems = sum(not finding.ok for finding in findings)
    click.echo("")
    click.echo("%d problem%s found." % (problems, "" if problems == 1 else "s") if problems else "All good.")
    sys.exit(1 if problems else 0)


@main.command()
@data_dir_option
@click.option("--to", "target", required=True, type=click.Path(path_type=Path),
              help="The backup file to write, or a directory to write a dated one (worrybox-YYYYmmddTHHMMSSZ.backup) in.")
@click.option("--keep", type=click.IntRange(min=1),
              help="With a directory: keep only this many dated backups in it, deleting the oldest.")
def backup(data_dir, target, keep):
    """Back up the database and secrets to one file sealed to the team key (mode 0600) while the apps keep serving."""
    from .backup import BackupError, create_backup, prune

    if keep and not target.is_dir():
        raise click.ClickException("--keep needs --to to be a directory.")
    try:
        written = create_backup(Paths(data_dir.resolve()), target)
    except BackupError as exc:
        raise click.ClickException(str(exc))
    click.echo("Backed up to %s" % written)
    if keep:
        for old in prune(target, keep):
            click.echo("Deleted old backup %s" % old)


@main.command()
@data_dir_option
@click.option("--from", "source", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A file written by `worrybox backup`.")
@click.option("--recovery-code-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="File whose first line is the school's recovery code (otherwise you are asked).")
def restore(data_dir, source, recovery_code_file):
    """Put a backup back into a new or empty data directory (never over an existing school); needs the recovery code."""
    from .backup import BackupError, restore_backup

    if recovery_code_file:
        code = _read_password_file(recovery_code_file)
    elif sys.stdin.isatty():
        code = click.prompt("The school's recovery code", hide_input=True)
    else:
        raise click.ClickException("A backup opens only with the school's recovery code: give --recovery-code-file "
                                   "FILE, or run this in a terminal to type it. Nothing was restored.")
    try:
        school = restore_backup(source, Paths(data_dir.resolve()), code)
    except BackupError as exc:
        raise click.ClickException(str(exc))
    click.echo("Restored %s into %s." % (school, data_dir))
    click.echo("Staff sign in with their own passwords (and two-factor codes) as before; everyone was signed out.")
    click.echo("Check it with: worrybox check --data-dir %s" % data_dir)


@main.group("two-factor")
def two_factor_group():
    """Two-factor sign-in for staff: required for the DSL and deputies unless switched off."""


def _require_two_factor(data_dir, required: bool, done: str) -> None:
    from . import two_factor
    from .audit import audit

    db = _open(data_dir)
    with write_transaction(db):
        two_factor.set_school_requirement(db, required)
        audit(db, "settings_changed", detail="two-factor sign-in required" if required
              else "two-factor sign-in switched off")
    click.echo(done)


@two_factor_group.command("require")
@data_dir_option
def two_factor_require(data_dir):
    """Require a code from a phone, as well as a password, for every DSL and deputy (the default)."""
    _require_two_factor(data_dir, True, "Two-factor sign-in is required for the DSL and deputies. Anyone not set "
                                        "up yet is asked at their next sign-in.")


@two_factor_group.command("off")
@data_dir_option
def two_factor_off(data_dir):
    """Let the DSL and deputies sign in without a code (not for a real school: `worrybox check` flags it)."""
    _require_two_factor(data_dir, False, "Two-factor sign-in is off, except for staff who have set it up. "
                                         "`worrybox check` will say so.")


@two_factor_group.command("reset")
@data_dir_option
@click.option("--email", required=True, help="The member of staff who lost their phone and backup codes.")
def two_factor_reset(data_dir, email):
    """Forget one member of staff's authenticator app: they set it up again at their next sign-in."""
    from . import two_factor
    from .audit import audit

    db = _open(data_dir)
    staff_id = _staff_id_or_fail(db, email)
    with write_transaction(db):
        two_factor.reset(db, staff_id)
        audit(db, "two_factor_reset", staff_id=staff_id)
    click.echo("Two-factor sign-in for %s is reset: they will set up their app again when they next sign in "
               "(their password is still needed)." % email)
