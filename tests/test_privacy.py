"""Nobody but the right staff can read a worry: not the database file, not the logs, not the kiosk."""

import logging
import json
import subprocess
import sys
import textwrap

import pytest

from helpers import DSL_PASSWORD, csrf_token

from worrybox import keys, opening, sealing, worries

TEXT_CANARY = "ZEBRA-CANARY-41 my brother hurts me"
NOTE_CANARY = "OTTER-CANARY-77 called the family"
PUPIL_NAME = ("Amira", "Qureshi")


def _post_named_worry_and_note(child, staff_member, console):
    posted = child.post(text=TEXT_CANARY, feeling="scared", pupil=child.name("P001"), **{"class": "4B"})
    assert posted.status_code == 303
    staff_member.login()
    page = console.get("/worries/1").get_data(as_text=True)
    assert TEXT_CANARY in page
    response = console.post("/worries/1", data={"csrf_token": csrf_token(page), "status": "in_progress",
                                                "note": NOTE_CANARY})
    assert response.status_code == 303


def _secrets_in(data: bytes):
    found = []
    for secret in (TEXT_CANARY, NOTE_CANARY, *PUPIL_NAME, "P001"):
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            if secret.encode(encoding) in data:
                found.append((secret, encoding))
    return found


def test_database_and_wal_never_hold_worry_text_pupil_name_or_note(child, staff_member, console, data_dir, db):
    _post_named_worry_and_note(child, staff_member, console)
    # The connection fixture stays open, so the WAL is not yet checkpointed into the main file.
    files = [path for path in data_dir.iterdir() if path.name.startswith("worrybox.db")]
    assert any(path.name.endswith("-wal") for path in files)
    for path in files:
        assert _secrets_in(path.read_bytes()) == [], path.name


def test_app_logs_never_hold_worry_text_pupil_name_or_note(child, staff_member, console, caplog):
    caplog.set_level(logging.DEBUG)
    _post_named_worry_and_note(child, staff_member, console)
    console.get("/worries/99")  # an error path is logged too
    assert caplog.records, "the console logs sign-ins, so there must be something to check"
    assert _secrets_in(caplog.text.encode()) == []


def test_kiosk_holds_no_private_key(kiosk_app, db, recovery_code):
    team_private = set(keys.unlock_team_with_recovery(db, recovery_code).values())
    dsl_private = set(keys.unlock_keyring(db, 1, DSL_PASSWORD).private_keys.values())
    reachable = []

    def collect(value, depth=0):
        if depth > 4:
            return
        if isinstance(value, (bytes, bytearray)):
            reachable.append(bytes(value))
        elif isinstance(value, dict):
            for item in value.values():
                collect(item, depth + 1)
        elif isinstance(value, (list, tuple, set)):
            for item in value:
                collect(item, depth + 1)
        elif hasattr(value, "__dict__"):
            collect(vars(value), depth + 1)

    collect(dict(kiosk_app.config))
    collect(kiosk_app.extensions)
    assert reachable, "the kiosk holds its cookie secret at least"
    assert not (set(reachable) & (team_private | dsl_private))


def test_kiosk_cannot_open_a_worry_with_anything_it_can_reach(child, data_dir, db):
    child.post(text=TEXT_CANARY, feeling="sad")
    body = db.execute("SELECT sealed_body FROM worries WHERE id = 1").fetchone()[0]
    sealed_keys = db.execute("SELECT key_id, sealed_key FROM worry_keys WHERE worry_id = 1").fetchall()
    # Everything the kiosk process can read: every file in the data directory and every value in the database.
    candidates = [path.read_bytes() for path in data_dir.rglob("*") if path.is_file()]
    for table in db.table_names():
        for row in db.execute("SELECT * FROM [%s]" % table):
            candidates.extend(value for value in row if isinstance(value, bytes))
    for candidate in candidates:
        windows = [candidate[i:i + sealing.PRIVATE_KEY_LEN]
                   for i in range(0, max(1, len(candidate) - sealing.PRIVATE_KEY_LEN + 1), 16)][:2000]
        for window in windows:
            for key_id, sealed_key in sealed_keys:
                try:
                    opening.open_sealed(body, key_id, sealed_key, window, worries.worry_aad(1))
                except opening.OpenError:
                    continue
                raise AssertionError("the kiosk could open a worry")


def test_no_kiosk_page_returns_worry_text(child, kiosk_app, kiosk):
    child.post(text=TEXT_CANARY, feeling="sad")
    for rule in kiosk_app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments:
            assert TEXT_CANARY not in kiosk.get(rule.rule).get_data(as_text=True), rule.rule


# What opens a worry or unwraps a key: none of it may be loaded in a kiosk process, by construction.
OPENING_MODULES = ("worrybox.opening", "worrybox.keys", "worrybox.certify", "worrybox.staff", "worrybox.two_factor",
                   "worrybox.casework", "worrybox.casefile", "worrybox.new_school", "staff_console")
OPENING_NAMES = ("open_sealed", "unwrap_with_private", "unwrap_with_passphrase", "unlock_keyring",
                 "unlock_team_with_recovery", "open_worry", "read_worry")
# Source that opens an HPKE seal or builds a private key from its bytes.
OPENING_CODE = ("SUITE.decrypt", "from_seed_bytes", "from_private_bytes", "hash_secret_raw")


@pytest.mark.slow  # a fresh Python process
def test_kiosk_process_cannot_unwrap_a_key_or_open_a_worry_after_serving_one(data_dir):
    script = textwrap.dedent("""
        import inspect, json, re, sys
        from kiosk import create_app
        app = create_app({"DATA_DIR": sys.argv[1], "TESTING": True})
        client = app.test_client()
        page = client.get("/worry").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        posted = client.post("/worry", data={"csrf_token": token, "text": "a worry", "feeling": "sad",
                                             "submission_id": "guard-test-submission-01"})
        ours = {name: module for name, module in sys.modules.items()
                if name.split(".")[0] in ("worrybox", "worrybox_web", "kiosk", "staff_console")}
        sources = {name: inspect.getsource(module) for name, module in ours.items()}
        print(json.dumps({"status": posted.status_code, "location": posted.headers.get("Location"),
                          "modules": sorted(ours),
                          "names": sorted("%s.%s" % (m, n) for m, mod in ours.items() for n in dir(mod)),
                          "sources": sources}))
    """)
    result = subprocess.run([sys.executable, "-c", script, str(data_dir)], capture_output=True, text=True, check=True)
    seen = json.loads(result.stdout)
    assert seen["status"] == 303 and seen["location"].endswith("/thanks"), "the kiosk served and stored a worry"
    assert "worrybox.sealing" in seen["modules"] and "kiosk.views" in seen["modules"]
    loaded = [name for name in seen["modules"] if name.startswith(OPENING_MODULES)]
    assert loaded == [], "the kiosk loaded code that opens worries"
    exposed = [name for name in seen["names"] if name.rsplit(".", 1)[1] in OPENING_NAMES]
    assert exposed == [], "a module the kiosk loaded can open a worry or unwrap a key"
    opening_code = [(name, code) for name, source in seen["sources"].items() for code in OPENING_CODE if code in source]
    assert opening_code == [], "a module the kiosk loaded holds code that opens a seal or builds a private key"


@pytest.mark.slow  # a fresh Python process
def test_core_imports_no_flask_wtforms_or_babel():
    script = textwrap.dedent("""
        import importlib, pkgutil, sys, worrybox
        for info in pkgutil.iter_modules(worrybox.__path__):
            if info.name != "__main__":
                importlib.import_module("worrybox." + info.name)
        print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in ("flask", "wtforms", "flask_wtf",
                                                                             "flask_babel", "werkzeug", "jinja2"))))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
