"""Migrations 0004, 0005 and 0007 (two-factor sign-in, prank floods, key fingerprints) upgrade a school in use."""

from helpers import DSL_PASSWORD
from worrybox import keys, sealing, worries
from worrybox.db import connect, migrations
from worrybox.config import Paths
from worrybox.new_school import init_school
from worrybox.recipients import worry_recipients

OURS = ("0004_staff_two_factor", "0005_prank_floods", "0007_public_key_fingerprints")


def test_a_school_from_before_two_factor_and_floods_upgrades_and_keeps_sealing(tmp_path):
    # A school as it was before these migrations: set up, with a worry in it.
    paths = Paths(tmp_path / "school")
    init_school(paths, "Old School", "dsl@old.example", "Old DSL", DSL_PASSWORD)
    db = connect(paths.database)
    worries.post_worry(db, worry_recipients(db), worries.NewWorry("before-the-upgrade-0001", text="kept"))
    db.execute("PRAGMA foreign_keys=OFF")
    # The queue-order indexes (0010) and the flood sources by time (0019) are built on the flood columns, so
    # they go first, and come back after.
    for statement in ("DROP INDEX worries_open_in_queue_order", "DROP INDEX worries_closed_in_queue_order",
                      "DROP INDEX worries_pranks_by_created", "DROP INDEX worries_source_kept_by_time",
                      "DROP TABLE staff_backup_codes", "DROP INDEX worries_by_source",
                      "ALTER TABLE staff DROP COLUMN totp_wrapped_secret", "ALTER TABLE staff DROP COLUMN totp_last_step",
                      "ALTER TABLE staff DROP COLUMN totp_enrolled_at", "ALTER TABLE worries DROP COLUMN posted_from",
                      "ALTER TABLE worries DROP COLUMN flood", "ALTER TABLE worries DROP COLUMN not_real_at",
                      "ALTER TABLE worries DROP COLUMN not_real_by", "ALTER TABLE keys DROP COLUMN fingerprint"):
        db.execute(statement)
    later = ["0010_queue_order_indexes", "0019_flood_sources_by_time"]
    db.execute("DELETE FROM _sqlite_migrations WHERE name IN (?, ?, ?, ?, ?)", [*OURS, *later])
    db.execute("PRAGMA foreign_keys=ON")
    assert [m.name for m in migrations.pending(db)] == [*OURS, *later]

    migrations.apply(db)

    assert migrations.pending(db) == []
    for public, fingerprint in db.execute("SELECT public_key, fingerprint FROM keys"):
        assert fingerprint == sealing.fingerprint(public)
    assert worry_recipients(db), "the kiosk can still seal after the upgrade"
    assert db.execute("SELECT flood, not_real_at, posted_from FROM worries").fetchall() == [(0, None, None)]
    assert db.execute("SELECT totp_wrapped_secret, totp_last_step FROM staff").fetchall() == [(None, None)]
    keyring = keys.unlock_keyring(db, 1, DSL_PASSWORD)
    items, _ = worries.queue(db, keyring.private_keys)
    assert [item["id"] for item in items] == [1]
    db.close()
