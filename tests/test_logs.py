"""Logs: no worry text, name, note, password or two-factor secret ever reaches a log or a command's output;
every staff sign-in attempt and every opened worry is in the audit log."""

import re
import signal

import pytest

from helpers import DSL_EMAIL, DSL_PASSWORD, Child, StaffMember, csrf_token, name_token, run_school, url, worrybox
from worrybox import two_factor
from worrybox.config import Paths
from worrybox.school import open_school

pytestmark = pytest.mark.slow  # a whole school day under gunicorn and the command line

CANARY = "LOG-CANARY-7f3a he touched me where he should not"
NOTE = "LOG-NOTE-CANARY phoned the police liaison"
WRONG_PASSWORD = "LOG-WRONG-PASSWORD-CANARY"
NEW_PASSWORD = "LOG-NEW-PASSWORD-CANARY-long"


def test_a_whole_school_day_leaves_no_secret_in_any_log_and_every_attempt_and_opening_in_the_audit(
        servers, data_dir, tmp_path, recovery_code):
    db = open_school(Paths(data_dir))
    two_factor.set_school_requirement(db, True)
    db.close()
    server, kiosk_port, console_port = run_school(servers, data_dir)
    child = Child(kiosk_port)
    posted = child.post(feeling="scared", text=CANARY, pupil=name_token(data_dir, "P002"), urgent="y", **{"class": "4B"})
    assert posted.status_code == 303

    dsl = StaffMember(console_port)
    assert dsl.login(DSL_EMAIL, WRONG_PASSWORD).status_code == 401
    assert dsl.login("nobody@school.example", WRONG_PASSWORD).status_code == 401
    signed_in = dsl.login(DSL_EMAIL, DSL_PASSWORD)
    assert signed_in.headers["Location"].endswith("/login/setup")
    page = dsl.http.get(url(console_port, "/login/setup"), timeout=30).text
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    wrong = dsl.http.post(url(console_port, "/login/setup"), timeout=30, allow_redirects=False,
                          data={"code": "000000", "csrf_token": csrf_token(page)})
    assert wrong.status_code == 401
    finished = dsl.http.post(url(console_port, "/login/setup"), timeout=30, allow_redirects=False, data={
        "code": two_factor.code_at(secret, two_factor.current_step()), "csrf_token": csrf_token(page)})
    backup_codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", finished.text)
    assert len(backup_codes) == 10

    worry_id = dsl.newest_worry_id()
    opened = dsl.open(worry_id)
    assert CANARY in opened.text and "Tomasz" in opened.text
    assert dsl.http.post(url(console_port, "/worries/%d" % worry_id), allow_redirects=False, timeout=30, data={
        "csrf_token": csrf_token(opened.text), "status": "in_progress", "note": NOTE}).status_code == 303
    dsl.open(worry_id)
    form = dsl.http.get(url(console_port, "/password"), timeout=30).text
    assert dsl.http.post(url(console_port, "/password"), timeout=30, data={
        "csrf_token": csrf_token(form), "current_password": DSL_PASSWORD, "new_password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD}).status_code == 200
    assert server.stop(signal.SIGINT) == 0

    code_file = tmp_path / "recovery-code.txt"
    code_file.write_text(recovery_code)
    commands = [worrybox("backup", "--data-dir", data_dir, "--to", tmp_path / "b.backup"),
                worrybox("check", "--data-dir", data_dir),
                worrybox("restore", "--data-dir", tmp_path / "restored", "--from", tmp_path / "b.backup",
                         "--recovery-code-file", code_file)]
    logs = server.output + "".join(result.stdout + result.stderr for result in commands)
    assert '"POST /login/setup" 303' in logs or '"POST /login/setup" 200' in logs, "the logs were captured"
    for secret_text in (CANARY, "LOG-CANARY", NOTE, "LOG-NOTE", "Tomasz", "Zielinski", "P002", DSL_PASSWORD,
                        WRONG_PASSWORD, NEW_PASSWORD, secret, *backup_codes):
        assert secret_text not in logs, "%r reached a log" % secret_text

    db = open_school(Paths(data_dir))
    try:
        events = db.execute("SELECT event, detail FROM audit_log WHERE event LIKE 'login%' ORDER BY id").fetchall()
        opens = db.execute("SELECT count(*) FROM audit_log WHERE event = 'open_worry' AND worry_id = ?",
                           [worry_id]).fetchone()[0]
        every_detail = " ".join(str(row) for row in db.execute("SELECT * FROM audit_log"))
    finally:
        db.close()
    # Two wrong passwords, the right one, a wrong code, then the sign-in finished with the new app.
    assert events == [("login_failed", None), ("login_failed", "unknown email"), ("login_password_ok", None),
                      ("login_failed", "wrong two-factor code"), ("login", "second factor: enrolled")]
    assert opens == 2, "each opening of the worry is in the audit log"
    for secret_text in (CANARY, NOTE, DSL_PASSWORD, WRONG_PASSWORD, NEW_PASSWORD, secret, "nobody@school.example"):
        assert secret_text not in every_detail
