"""Fail closed: with a damaged key, a read-only database or a full disk the kiosk never says "thank you" and
never stores a child's words in clear."""

import shutil
import sqlite3
import subprocess

import pytest

import worrybox_web
from helpers import KioskHelper
from kiosk import create_app as create_kiosk
from worrybox.config import NotSetUp

CANARY = "FAIL-CLOSED-CANARY my uncle scares me"


def assert_no_success_and_no_plaintext(response, data_dir):
    body = response.get_data(as_text=True)
    assert response.status_code == 503, response.status_code
    assert "/thanks" not in response.headers.get("Location", "")
    assert "Traceback" not in body and CANARY not in body
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def stored_worries(data_dir) -> int:
    db = sqlite3.connect(data_dir / "worrybox.db")
    try:
        return db.execute("SELECT count(*) FROM worries").fetchone()[0]
    finally:
        db.close()


def post(child, form):
    return child.client.post("/worry", data=dict(form, text=CANARY, feeling="scared"))


# Damaged or missing keys.

def flip_one_bit(db):
    public = bytearray(db.execute("SELECT public_key FROM keys WHERE purpose = 'team'").fetchone()[0])
    public[10] ^= 1
    db.execute("UPDATE keys SET public_key = ? WHERE purpose = 'team'", [bytes(public)])


DAMAGE = {
    "one byte": "UPDATE keys SET public_key = X'00' WHERE purpose = 'team'",
    "truncated": "UPDATE keys SET public_key = substr(public_key, 1, 100) WHERE purpose = 'team'",
    # One flipped bit still parses as a key; worries sealed to it would open for nobody.
    "one bit flipped": flip_one_bit,
    "no fingerprint": "UPDATE keys SET fingerprint = NULL WHERE purpose = 'team'",
    "retired": "UPDATE keys SET retired_at = '2026-01-01' WHERE purpose = 'team'",
    "deleted": "DELETE FROM keys WHERE purpose = 'team'",
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_kiosk_with_a_damaged_or_missing_team_key_rests_and_stores_nothing(damage, child, db, data_dir):
    form = child.form()
    if callable(damage):
        damage(db)
    else:
        db.execute("PRAGMA foreign_keys=OFF")
        db.execute(damage)
    response = post(child, form)
    assert "resting" in response.get_data(as_text=True)
    assert_no_success_and_no_plaintext(response, data_dir)
    assert child.client.get("/healthz").status_code == 503
    assert stored_worries(data_dir) == 0


@pytest.mark.parametrize("secret", ["pupil.key", "kiosk.secret"])
@pytest.mark.parametrize("damage", ["missing", "too short"])
def test_a_kiosk_without_its_secrets_does_not_start(secret, damage, data_dir):
    path = data_dir / "secrets" / secret
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(b"short")
    with pytest.raises(NotSetUp):
        create_kiosk({"DATA_DIR": data_dir, "TESTING": True})


# A read-only database and a full disk, for real on a small tmpfs where this machine allows mounting one,
# and simulated inside SQLite everywhere.

@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs to put a school on; skipped where mounting is not allowed (not root, no CAP_SYS_ADMIN)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount_point)],
            capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here; the simulated versions of these tests still run")
    yield mount_point
    subprocess.run(["mount", "-o", "remount,rw", str(mount_point)], capture_output=True)
    subprocess.run(["umount", "-l", str(mount_point)], check=True)


@pytest.fixture
def school_on_small_disk(small_disk, data_dir):
    target = small_disk / "school"
    shutil.copytree(data_dir, target)
    app = create_kiosk({"DATA_DIR": target, "TESTING": True})
    return target, KioskHelper(app.test_client())


def fill(directory):
    """Write until the disk is full; return the file to delete to make room again."""
    filler = directory / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def test_on_a_full_disk_the_kiosk_says_resting_and_stores_nothing(school_on_small_disk, small_disk):
    school, child = school_on_small_disk
    form = child.form()
    filler = fill(small_disk)
    response = post(child, form)
    filler.unlink()
    assert_no_success_and_no_plaintext(response, school)
    assert stored_worries(school) == 0
    # With room again, the same child's next press works.
    assert child.post(text="after the disk was cleared", feeling="sad").status_code == 303
    assert stored_worries(school) == 1


def test_with_a_read_only_database_the_kiosk_says_resting_and_stores_nothing(school_on_small_disk, small_disk):
    school, child = school_on_small_disk
    form = child.form()
    # tmpfs refuses a remount while a file on it is open for writing (the kernel's own remount-ro after a
    # disk error does not wait), so close the worker's connection first: its next request opens the file again.
    child.client.application.extensions["worrybox_connections"].db.close()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        response = post(child, form)
        page = child.client.get("/worry")
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    assert_no_success_and_no_plaintext(response, school)
    assert page.status_code in (200, 503)
    assert stored_worries(school) == 0


@pytest.fixture
def sqlite_fault(monkeypatch):
    """Make every database connection the app opens fail its writes the way SQLite would ('full' or 'read-only')."""
    def install(kind):
        real_connect = worrybox_web.connect

        def connect(path=None):
            db = real_connect(path)
            if kind == "full":
                pages = db.execute("PRAGMA page_count").fetchone()[0]
                db.execute("PRAGMA max_page_count = %d" % pages)
            else:
                db.execute("PRAGMA query_only = ON")
            return db
        monkeypatch.setattr(worrybox_web, "connect", connect)
    return install


@pytest.mark.parametrize("kind", ["full", "read-only"])
def test_when_sqlite_cannot_write_the_kiosk_says_resting_and_stores_nothing(kind, sqlite_fault, child, data_dir):
    sqlite_fault(kind)  # before the first request: a worker keeps the connection it opens
    form = child.form()
    response = post(child, form)
    assert_no_success_and_no_plaintext(response, data_dir)
    assert stored_worries(data_dir) == 0
