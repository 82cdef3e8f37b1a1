"""Schools for the benchmark, filled fast and directly through the core (no HTTP, no pauses).

Every worry is posted with worries.post_worry, so it is really sealed to the team key, with its
visit and any escalation; the history is then aged in bulk SQL: everything but the newest
OPEN_WORRIES is closed, opened by the DSL, and its escalations acknowledged and alerts delivered.
"""

import hashlib
import random
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from worrybox import escalation, roster, worries
from worrybox.config import Paths
from worrybox.db import connect, migrate, set_setting, write_transaction
from worrybox.new_school import init_school
from worrybox.school import open_school, pupil_keys
from worrybox.recipients import worry_recipients

DSL_EMAIL = "dsl@bench.example"
DSL_PASSWORD = "bench password for the DSL"
CLASSES = ["R", "1A", "1B", "2A", "2B", "3A", "3B", "4A", "4B", "5A", "5B", "6A"]
PUPILS_PER_CLASS = 25
POSTS_PER_DAY = 300  # a busy school: used to spread the history over realistic dates
OPEN_WORRIES = 150  # a school's current caseload: the rest of the history is closed
URGENT_EVERY = 25  # 4 % of worries are "I need help now"
NAMED_EVERY = 2  # half the children give their name

FEELINGS = ["sad", "worried", "scared", "angry", "lonely", "confused", "okay"]
TOPICS = ["friends", "family", "bullying", "schoolwork", "body", "online", "home", "other"]
PLACES = ["classroom", "playground", "toilets", "lunch", "corridor", "online", "home", "elsewhere"]
TALK_TO = ["teacher", "trusted_adult", "not_sure"]


def pupil_ids() -> list[str]:
    return ["BENCH%04d" % number for number in range(1, len(CLASSES) * PUPILS_PER_CLASS + 1)]


def create_school(data_dir: Path) -> None:
    """Set up a school with one DSL and a roster of made-up pupils with ids BENCH0001..."""
    paths = Paths(data_dir)
    init_school(paths, "Benchmark Primary", DSL_EMAIL, "Bench DSL", DSL_PASSWORD)
    db = open_school(paths)
    pupils = [roster.Pupil(pupil_id, "Pupil", pupil_id[-4:], CLASSES[(number - 1) // PUPILS_PER_CLASS])
              for number, pupil_id in enumerate(pupil_ids(), start=1)]
    roster.import_roster(db, pupil_keys(paths), pupils)
    # The bench signs in once, with a password; a second factor is paid once per sign-in, never per page.
    set_setting(db, "two_factor", "off")
    db.close()


def copy_school(source: Path, target: Path) -> None:
    shutil.copytree(source, target)


def seed_worries(data_dir: Path, count: int) -> None:
    """Post `count` worries through the core in one transaction, then age all but the newest into closed history."""
    paths = Paths(data_dir)
    db = open_school(paths)
    pkeys = pupil_keys(paths)
    recipients = worry_recipients(db)
    dsl_id = db.execute("SELECT id FROM staff WHERE email = ?", [DSL_EMAIL]).fetchone()[0]
    pupils = [roster.find_pupil(db, pkeys, pupil_id) for pupil_id in pupil_ids()]
    rng = random.Random(count)
    now = datetime.now(timezone.utc)
    spacing = timedelta(days=1) / POSTS_PER_DAY
    first = now - spacing * count
    text = "A worry from the benchmark's history. My friend said I can't sit with them any more at lunch."
    with write_transaction(db):
        for number in range(count):
            pupil = rng.choice(pupils) if number % NAMED_EVERY == 0 else None
            worries.post_worry(db, recipients, worries.NewWorry(
                submission_id="seed-%012d" % number,
                feeling=rng.choice(FEELINGS), topic=rng.choice(TOPICS), place=rng.choice(PLACES),
                talk_to=rng.choice(TALK_TO), urgent=number % URGENT_EVERY == 0, text=text,
                pupil=pupil, pupil_ref=pkeys.pupil_ref(pupil.pupil_id) if pupil else None,
            ), at=first + spacing * number)
        newest_closed = db.execute("SELECT max(id) FROM worries").fetchone()[0] - OPEN_WORRIES
        db.execute("UPDATE worries SET status = 'closed', first_opened_at = created_at, updated_at = created_at "
                   "WHERE id <= ?", [newest_closed])
        db.execute("UPDATE escalations SET status = 'acknowledged', acknowledged_at = created_at, acknowledged_by = ? "
                   "WHERE status = 'open' AND (worry_id IS NULL OR worry_id <= ?)", [dsl_id, newest_closed])
        db.execute("UPDATE outbox SET delivered_at = created_at WHERE delivered_at IS NULL")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _visit_ref(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


PROBE_PUPILS = 100
PROBE_VISITS_IN_WINDOW = 5  # under the default threshold of 6, so the check never escalates


def create_visits_db(path: Path, total: int, at: datetime) -> list[str]:
    """Fill a fresh database's visits table with `total` rows; return the probe pupils' refs.

    The probe pupils have the same recent history at every size (PROBE_VISITS_IN_WINDOW visits
    inside the window ending at `at`); at larger sizes they also have an older history, and the
    rest of the table is other pupils' visits spread over three years.
    """
    db = connect(path)
    migrate(db)
    _threshold, window_days = escalation.visit_rule(db)
    rng = random.Random(total)
    probes = [_visit_ref("probe-%d" % number) for number in range(PROBE_PUPILS)]
    others = [_visit_ref("pupil-%d" % number) for number in range(max(10, total // 100))]
    older_per_probe = 200 if total >= 100_000 else 0
    days = timedelta(days=1)

    def rows():
        made = 0
        for ref in probes:
            for _ in range(PROBE_VISITS_IN_WINDOW):
                yield ref, _iso(at - days * rng.uniform(0.1, window_days - 1)), "worry"
            for _ in range(older_per_probe):
                yield ref, _iso(at - days * rng.uniform(window_days + 1, 3 * 365)), "chat"
            made += PROBE_VISITS_IN_WINDOW + older_per_probe
        for _ in range(total - made):
            yield rng.choice(others), _iso(at - days * rng.uniform(0, 3 * 365)), rng.choice(("worry", "chat"))

    with write_transaction(db):
        db.conn.executemany("INSERT INTO visits (pupil_ref, at, kind) VALUES (?, ?, ?)", rows())
    db.close()
    return probes
