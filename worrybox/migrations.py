"""The schema as an ordered list of named migrations, safe to apply again.

Frozen: a migration never imports live code, so an old migration means what it meant when it shipped.
"""

import hashlib

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("worrybox")


def _run(db: Database, *statements: str) -> None:
    # executescript() would commit the migration's transaction half-way; run statements one by one.
    for statement in statements:
        db.execute(statement)


@migrations(name="0001_initial")
def _m0001_initial(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE settings (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE staff (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE COLLATE NOCASE,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            class_name TEXT,
            password_hash TEXT NOT NULL,
            key_id TEXT NOT NULL,
            wrapped_private_key BLOB NOT NULL,
            created_at TEXT NOT NULL,
            removed_at TEXT
        )
        """,
        # Public keys: the kiosk seals to these and can read nothing else of use.
        """
        CREATE TABLE keys (
            key_id TEXT PRIMARY KEY,
            purpose TEXT NOT NULL CHECK (purpose IN ('team', 'staff')),
            staff_id INTEGER REFERENCES staff(id),
            public_key BLOB NOT NULL,
            created_at TEXT NOT NULL,
            retired_at TEXT
        )
        """,
        # A private key (the team key) wrapped to a holder: a member of staff or the recovery code.
        """
        CREATE TABLE key_wraps (
            id INTEGER PRIMARY KEY,
            key_id TEXT NOT NULL REFERENCES keys(key_id),
            holder TEXT NOT NULL CHECK (holder IN ('staff', 'recovery')),
            staff_id INTEGER REFERENCES staff(id),
            wrapped_key BLOB NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (key_id, holder, staff_id)
        )
        """,
        """
        CREATE TABLE pupils (
            pupil_ref TEXT PRIMARY KEY,
            class_name TEXT NOT NULL,
            sealed_identity BLOB NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        """
        CREATE INDEX pupils_by_class ON pupils (class_name)
        """,
        """
        CREATE TABLE worries (
            id INTEGER PRIMARY KEY,
            submission_id TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            feeling TEXT,
            topic TEXT,
            place TEXT,
            talk_to TEXT,
            urgent INTEGER NOT NULL DEFAULT 0,
            named INTEGER NOT NULL DEFAULT 0,
            pupil_ref TEXT,
            status TEXT NOT NULL DEFAULT 'new'
                CHECK (status IN ('new', 'seen', 'in_progress', 'closed')),
            format_version INTEGER NOT NULL,
            sealed_body BLOB NOT NULL,
            first_opened_at TEXT,
            updated_at TEXT NOT NULL
        )
        """,
        """
        CREATE INDEX worries_queue ON worries (urgent DESC, id DESC)
        """,
        """
        CREATE INDEX worries_by_pupil ON worries (pupil_ref, created_at)
        """,
        """
        CREATE TABLE worry_keys (
            worry_id INTEGER NOT NULL REFERENCES worries(id),
            key_id TEXT NOT NULL REFERENCES keys(key_id),
            sealed_key BLOB NOT NULL,
            PRIMARY KEY (worry_id, key_id)
        ) WITHOUT ROWID
        """,
        """
        CREATE INDEX worry_keys_by_key ON worry_keys (key_id, worry_id)
        """,
        # The chronology of a worry: what was done (in clear) and any note (sealed).
        """
        CREATE TABLE actions (
            id INTEGER PRIMARY KEY,
            worry_id INTEGER NOT NULL REFERENCES worries(id),
            staff_id INTEGER NOT NULL REFERENCES staff(id),
            at TEXT NOT NULL,
            action TEXT NOT NULL,
            sealed_note BLOB
        )
        """,
        """
        CREATE INDEX actions_by_worry ON actions (worry_id, id)
        """,
        """
        CREATE TABLE action_keys (
            action_id INTEGER NOT NULL REFERENCES actions(id),
            key_id TEXT NOT NULL REFERENCES keys(key_id),
            sealed_key BLOB NOT NULL,
            PRIMARY KEY (action_id, key_id)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            staff_id INTEGER,
            event TEXT NOT NULL,
            worry_id INTEGER,
            detail TEXT
        )
        """,
        """
        CREATE TRIGGER audit_log_is_append_only_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
        """,
        """
        CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
        """,
        """
        CREATE TABLE login_attempts (
            id INTEGER PRIMARY KEY,
            email_hash TEXT NOT NULL,
            at TEXT NOT NULL,
            succeeded INTEGER NOT NULL
        )
        """,
        """
        CREATE INDEX login_attempts_by_email ON login_attempts (email_hash, at)
        """,
        """
        CREATE TABLE staff_sessions (
            session_hash TEXT PRIMARY KEY,
            staff_id INTEGER NOT NULL REFERENCES staff(id),
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL
        )
        """,
    )


@migrations(name="0002_mediators_visits_alerts")
def _m0002_mediators_visits_alerts(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE mediators (
            pupil_ref TEXT PRIMARY KEY REFERENCES pupils(pupil_ref),
            pin_hash TEXT,
            failed_pins INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        )
        """,
        # A weekly duty slot; paused_until (a date, inclusive) pauses it for a holiday or a week off.
        """
        CREATE TABLE duty_slots (
            id INTEGER PRIMARY KEY,
            weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
            start_time TEXT NOT NULL,
            end_time TEXT NOT NULL,
            place TEXT NOT NULL,
            capacity INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 20),
            paused_until TEXT,
            removed_at TEXT,
            created_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE slot_mediators (
            slot_id INTEGER NOT NULL REFERENCES duty_slots(id),
            pupil_ref TEXT NOT NULL REFERENCES mediators(pupil_ref),
            PRIMARY KEY (slot_id, pupil_ref)
        ) WITHOUT ROWID
        """,
        # place_number is 1..capacity: the unique indexes make overbooking and double booking impossible.
        """
        CREATE TABLE bookings (
            id INTEGER PRIMARY KEY,
            slot_id INTEGER NOT NULL REFERENCES duty_slots(id),
            date TEXT NOT NULL,
            place_number INTEGER NOT NULL,
            pupil_ref TEXT NOT NULL REFERENCES pupils(pupil_ref),
            topic TEXT,
            created_at TEXT NOT NULL,
            attended INTEGER,
            outcome TEXT CHECK (outcome IN ('sorted', 'another_chat', 'pass_to_adult')),
            recorded_at TEXT,
            recorded_by TEXT
        )
        """,
        "CREATE UNIQUE INDEX bookings_one_place ON bookings (slot_id, date, place_number)",
        "CREATE UNIQUE INDEX bookings_once_per_child ON bookings (slot_id, date, pupil_ref)",
        """
        CREATE TABLE visits (
            id INTEGER PRIMARY KEY,
            pupil_ref TEXT NOT NULL,
            at TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('worry', 'chat')),
            worry_id INTEGER REFERENCES worries(id),
            booking_id INTEGER REFERENCES bookings(id)
        )
        """,
        "CREATE INDEX visits_by_pupil ON visits (pupil_ref, at)",
        """
        CREATE TABLE escalations (
            id INTEGER PRIMARY KEY,
            reason TEXT NOT NULL CHECK (reason IN ('repeat_visits', 'urgent', 'pass_to_adult')),
            pupil_ref TEXT,
            created_at TEXT NOT NULL,
            visit_count INTEGER,
            worry_id INTEGER REFERENCES worries(id),
            booking_id INTEGER REFERENCES bookings(id),
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged')),
            acknowledged_at TEXT,
            acknowledged_by INTEGER REFERENCES staff(id),
            sealed_note BLOB
        )
        """,
        # One open escalation per pupil per reason, so no alert storms; every urgent worry alerts.
        """
        CREATE UNIQUE INDEX escalations_one_open ON escalations (pupil_ref, reason)
            WHERE status = 'open' AND pupil_ref IS NOT NULL AND reason != 'urgent'
        """,
        "CREATE INDEX escalations_by_status ON escalations (status, id)",
        """
        CREATE TABLE escalation_keys (
            escalation_id INTEGER NOT NULL REFERENCES escalations(id),
            key_id TEXT NOT NULL REFERENCES keys(key_id),
            sealed_key BLOB NOT NULL,
            PRIMARY KEY (escalation_id, key_id)
        ) WITHOUT ROWID
        """,
        # Alerts wait here until the sender delivers them; they never carry a name or worry text.
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            escalation_id INTEGER REFERENCES escalations(id),
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            delivered_at TEXT
        )
        """,
        "CREATE INDEX outbox_pending ON outbox (delivered_at, next_attempt_at)",
    )


@migrations(name="0003_worry_language_and_tablets")
def _m0003_worry_language_and_tablets(db: Database) -> None:
    _run(
        db,
        # Which language the child wrote in, and which tablet they used: both in clear, neither names anyone.
        "ALTER TABLE worries ADD COLUMN language TEXT NOT NULL DEFAULT 'en'",
        "ALTER TABLE worries ADD COLUMN tablet TEXT",
        """
        CREATE TABLE tablets (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            created_at TEXT NOT NULL,
            removed_at TEXT
        )
        """,
    )


@migrations(name="0004_staff_two_factor")
def _m0004_staff_two_factor(db: Database) -> None:
    _run(
        db,
        # The TOTP secret is wrapped to the member of staff's own public key, so the database alone never
        # holds it in clear; it opens only with their password. last_step makes each code work once.
        "ALTER TABLE staff ADD COLUMN totp_wrapped_secret BLOB",
        "ALTER TABLE staff ADD COLUMN totp_last_step INTEGER",
        "ALTER TABLE staff ADD COLUMN totp_enrolled_at TEXT",
        # Backup codes for a lost phone: only a keyed hash of each, and each works once.
        """
        CREATE TABLE staff_backup_codes (
            id INTEGER PRIMARY KEY,
            staff_id INTEGER NOT NULL REFERENCES staff(id),
            code_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            used_at TEXT,
            UNIQUE (staff_id, code_hash)
        )
        """,
    )


@migrations(name="0005_prank_floods")
def _m0005_prank_floods(db: Database) -> None:
    _run(
        db,
        # posted_from: a keyed pseudonym of the tablet, kept only for the few minutes the flood check needs.
        "ALTER TABLE worries ADD COLUMN posted_from TEXT",
        # flood: posted while its tablet was sending far more than children write; kept, shown last, never dropped.
        "ALTER TABLE worries ADD COLUMN flood INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE worries ADD COLUMN not_real_at TEXT",
        "ALTER TABLE worries ADD COLUMN not_real_by INTEGER REFERENCES staff(id)",
        "CREATE INDEX worries_by_source ON worries (posted_from, created_at) WHERE posted_from IS NOT NULL",
    )


@migrations(name="0006_open_queue_indexes")
def _m0006_open_queue_indexes(db: Database) -> None:
    _run(
        db,
        # The queue page must cost the same at 100,000 worries as at 1,000 (make bench measures it).
        # Partial indexes hold only what it asks for every time (the open worries, and those nobody has
        # opened yet), and counts over recent days read only those days: without these SQLite walks or
        # scans every closed worry on every page.
        "CREATE INDEX worries_open_queue ON worries (urgent DESC, id DESC) WHERE status != 'closed'",
        "CREATE INDEX worries_unopened ON worries (urgent) WHERE first_opened_at IS NULL",
        "CREATE INDEX worries_by_created ON worries (created_at)",
    )


@migrations(name="0007_public_key_fingerprints")
def _m0007_public_key_fingerprints(db: Database) -> None:
    # A public key that a bit flip has damaged still parses, and worries sealed to it would open for nobody:
    # the kiosk checks each key against its fingerprint and rests instead.
    db.execute("ALTER TABLE keys ADD COLUMN fingerprint TEXT")
    for key_id, public_key in db.execute("SELECT key_id, public_key FROM keys").fetchall():
        # The fingerprint as it was defined when this migration shipped (frozen here on purpose).
        digest = hashlib.sha256(b"worrybox public key|" + public_key).hexdigest()
        db.execute("UPDATE keys SET fingerprint = ? WHERE key_id = ?", [digest, key_id])


@migrations(name="0008_retention_and_child_protection")
def _m0008_retention_and_child_protection(db: Database) -> None:
    _run(
        db,
        # When a worry was closed (cleared if it is reopened): retention counts from here.
        "ALTER TABLE worries ADD COLUMN closed_at TEXT",
        # A worry staff marked as a child-protection concern is never deleted automatically.
        "ALTER TABLE worries ADD COLUMN child_protection INTEGER NOT NULL DEFAULT 0",
        # Worries closed before this migration: the last time their status was set to closed, else their last change.
        """
        UPDATE worries SET closed_at = coalesce(
            (SELECT max(a.at) FROM actions a WHERE a.worry_id = worries.id AND a.action = 'status:closed'), updated_at)
        WHERE status = 'closed'
        """,
        "CREATE INDEX worries_closed ON worries (closed_at) WHERE status = 'closed'",
        # One child's picture gathers their chats and escalations by pseudonym.
        "CREATE INDEX bookings_by_pupil ON bookings (pupil_ref, date)",
        "CREATE INDEX escalations_by_pupil ON escalations (pupil_ref, created_at)",
    )


@migrations(name="0009_children_hear_back")
def _m0009_children_hear_back(db: Database) -> None:
    _run(
        db,
        # A keyed hash (HMAC under the pupil key) of the picture code a child chose: checkable, never the code.
        "ALTER TABLE worries ADD COLUMN code_hash TEXT",
        # What the child sees at the kiosk: a kind phrase by name, or staff's own few words encrypted under the
        # pupil key (the kiosk can read them; they are never the worry), and the school day a grown-up will
        # come and find the child.
        "ALTER TABLE worries ADD COLUMN reply_phrase TEXT",
        "ALTER TABLE worries ADD COLUMN reply_words BLOB",
        "ALTER TABLE worries ADD COLUMN reply_at TEXT",
        "ALTER TABLE worries ADD COLUMN find_child_on TEXT",
        "CREATE INDEX worries_by_code ON worries (code_hash, created_at) WHERE code_hash IS NOT NULL",
        # Wrong picture codes in a row from one tablet (a keyed pseudonym), and until when its checks rest.
        """
        CREATE TABLE code_checks (
            tablet_ref TEXT PRIMARY KEY,
            wrong_in_a_row INTEGER NOT NULL DEFAULT 0,
            paused_until TEXT,
            updated_at TEXT NOT NULL
        )
        """,
    )


@migrations(name="0010_queue_order_indexes")
def _m0010_queue_order_indexes(db: Database) -> None:
    _run(
        db,
        # The queue lists pranks last, then urgent first, then newest (worries.queue): indexes on exactly
        # that order let both the open and the closed view read one page instead of sorting every row.
        "CREATE INDEX worries_open_in_queue_order ON worries "
        "((flood OR not_real_at IS NOT NULL), urgent DESC, id DESC) WHERE status != 'closed'",
        "CREATE INDEX worries_closed_in_queue_order ON worries "
        "((flood OR not_real_at IS NOT NULL), urgent DESC, id DESC) WHERE status = 'closed'",
        # The queue's prank counts read only the pranks, not every worry of the last 30 days.
        "CREATE INDEX worries_pranks_by_created ON worries (created_at) WHERE flood = 1 OR not_real_at IS NOT NULL",
    )


@migrations(name="0011_certified_recipients_and_review")
def _m0011_certified_recipients_and_review(db: Database) -> None:
    _run(
        db,
        # The safeguarding team's signing key (ML-DSA-65 + Ed25519): it certifies every personal key that may
        # receive a worry, a note or a team key. Its private half is wrapped to the team key it was made with,
        # so it is held exactly where the team key is (each DSL and deputy, and the recovery code).
        """
        CREATE TABLE signing_keys (
            key_id TEXT PRIMARY KEY,
            team_key_id TEXT NOT NULL REFERENCES keys(key_id),
            public_key BLOB NOT NULL,
            wrapped_private_key BLOB NOT NULL,
            created_at TEXT NOT NULL,
            retired_at TEXT
        )
        """,
        # A certificate binds one account as approved (id, email, role, class) to its personal key.
        """
        CREATE TABLE certificates (
            id INTEGER PRIMARY KEY,
            staff_id INTEGER NOT NULL REFERENCES staff(id),
            key_id TEXT NOT NULL,
            signing_key_id TEXT NOT NULL REFERENCES signing_keys(key_id),
            body TEXT NOT NULL,
            signature BLOB NOT NULL,
            issued_at TEXT NOT NULL,
            issued_by INTEGER
        )
        """,
        "CREATE INDEX certificates_by_staff ON certificates (staff_id, id)",
        # A worry someone outside the DSL team closed or marked not real waits for a DSL or deputy to confirm.
        "ALTER TABLE worries ADD COLUMN review_asked_for TEXT",
        "ALTER TABLE worries ADD COLUMN review_asked_by INTEGER REFERENCES staff(id)",
        "ALTER TABLE worries ADD COLUMN review_asked_at TEXT",
    )


@migrations(name="0012_urgent_on_call_and_throttles")
def _m0012_urgent_on_call_and_throttles(db: Database) -> None:
    _run(
        db,
        # Urgent is never buried: flood marking never applies to an urgent worry (the queue lists floods last).
        "UPDATE worries SET flood = 0 WHERE urgent = 1 AND flood = 1",
        # A tablet is enrolled through a one-time link; its cookie holds a random token, stored here only hashed.
        "ALTER TABLE tablets ADD COLUMN device_token_hash TEXT",
        "ALTER TABLE tablets ADD COLUMN enrol_token_hash TEXT",
        "ALTER TABLE tablets ADD COLUMN enrol_expires_at TEXT",
        "CREATE UNIQUE INDEX tablets_by_device_token ON tablets (device_token_hash) WHERE device_token_hash IS NOT NULL",
        "CREATE UNIQUE INDEX tablets_by_enrol_token ON tablets (enrol_token_hash) WHERE enrol_token_hash IS NOT NULL",
        # Failed sign-ins are throttled per client address (a keyed hash of it) before any password hashing.
        "ALTER TABLE login_attempts ADD COLUMN address_hash TEXT",
        "CREATE INDEX login_attempts_by_address ON login_attempts (address_hash, at) WHERE succeeded = 0",
        # The on-call chain: how far up the on-call list an unacknowledged escalation has been sent, and when next.
        "ALTER TABLE escalations ADD COLUMN alert_level INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE escalations ADD COLUMN next_alert_at TEXT",
        "CREATE INDEX escalations_next_alert ON escalations (next_alert_at) WHERE status = 'open'",
        # Who an alert goes to (NULL: the school's alert recipients).
        "ALTER TABLE outbox ADD COLUMN recipients TEXT",
        # An escalation's own chronology: each alert sent, and who acknowledged it and how.
        """
        CREATE TABLE escalation_events (
            id INTEGER PRIMARY KEY,
            escalation_id INTEGER NOT NULL REFERENCES escalations(id),
            at TEXT NOT NULL,
            event TEXT NOT NULL,
            staff_id INTEGER REFERENCES staff(id),
            detail TEXT
        )
        """,
        "CREATE INDEX escalation_events_by_escalation ON escalation_events (escalation_id, id)",
        # Mediator sign-ins at the kiosk are server-side sessions (the cookie holds a token, stored hashed).
        """
        CREATE TABLE mediator_sessions (
            token_hash TEXT PRIMARY KEY,
            pupil_ref TEXT NOT NULL REFERENCES mediators(pupil_ref),
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL
        )
        """,
    )


@migrations(name="0013_settings_version")
def _m0013_settings_version(db: Database) -> None:
    _run(
        db,
        # One number that every change to the settings bumps, in the change's own transaction (triggers, so no
        # writer can forget): a web worker keeps the settings it read until the number moves.
        "CREATE TABLE settings_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)",
        "INSERT INTO settings_version (id, version) VALUES (1, 0)",
        "CREATE TRIGGER settings_version_on_insert AFTER INSERT ON settings "
        "BEGIN UPDATE settings_version SET version = version + 1; END",
        "CREATE TRIGGER settings_version_on_update AFTER UPDATE ON settings "
        "BEGIN UPDATE settings_version SET version = version + 1; END",
        "CREATE TRIGGER settings_version_on_delete AFTER DELETE ON settings "
        "BEGIN UPDATE settings_version SET version = version + 1; END",
    )


@migrations(name="0014_kiosk_tablet_age_group")
def _m0014_kiosk_tablet_age_group(db: Database) -> None:
    _run(
        db,
        # Which words and look a named tablet shows: 'primary' (up to 11) or 'secondary' (11 to 18).
        "ALTER TABLE tablets ADD COLUMN age_group TEXT NOT NULL DEFAULT 'primary'",
    )


@migrations(name="0015_staff_concerns")
def _m0015_staff_concerns(db: Database) -> None:
    _run(
        db,
        # A concern a member of staff logged about a child ("no threshold") is stored like a worry, sealed to
        # the safeguarding team key only: logged_by is who wrote it (NULL for a child's own worry), and the
        # category and when it happened stay in clear for counting, like a worry's topic and time.
        "ALTER TABLE worries ADD COLUMN logged_by INTEGER REFERENCES staff(id)",
        "ALTER TABLE worries ADD COLUMN concern_category TEXT",
        "ALTER TABLE worries ADD COLUMN happened_at TEXT",
        "CREATE INDEX worries_concerns_by_pupil ON worries (pupil_ref, created_at) WHERE logged_by IS NOT NULL",
    )


@migrations(name="0016_follow_ups_and_referrals")
def _m0016_follow_ups_and_referrals(db: Database) -> None:
    _run(
        db,
        # Something to be done about a worry or concern, by whom and by when. What to do is the sealed note of
        # its chronology entry (action_id); owner and due date stay in clear so overdue ones can be listed.
        """
        CREATE TABLE follow_ups (
            id INTEGER PRIMARY KEY,
            worry_id INTEGER REFERENCES worries(id),
            action_id INTEGER REFERENCES actions(id),
            owner_id INTEGER NOT NULL REFERENCES staff(id),
            due_on TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by INTEGER NOT NULL REFERENCES staff(id),
            done_at TEXT,
            done_by INTEGER REFERENCES staff(id)
        )
        """,
        "CREATE INDEX follow_ups_open_by_owner ON follow_ups (owner_id, due_on) WHERE done_at IS NULL",
        "CREATE INDEX follow_ups_by_worry ON follow_ups (worry_id)",
        # A referral to another agency. To whom and when stay in clear (the governors' report counts them by
        # type); the reference and the outcome are sealed notes in the worry's chronology.
        """
        CREATE TABLE referrals (
            id INTEGER PRIMARY KEY,
            worry_id INTEGER REFERENCES worries(id),
            action_id INTEGER REFERENCES actions(id),
            agency TEXT NOT NULL CHECK (agency IN ('early_help', 'social_care', 'police', 'lado')),
            referred_on TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by INTEGER NOT NULL REFERENCES staff(id),
            outcome_action_id INTEGER REFERENCES actions(id)
        )
        """,
        "CREATE INDEX referrals_by_date ON referrals (referred_on)",
        "CREATE INDEX referrals_by_worry ON referrals (worry_id)",
    )


@migrations(name="0017_pattern_rules")
def _m0017_pattern_rules(db: Database) -> None:
    import re

    _run(
        db,
        # Patterns the DSL chooses: at least `at_least` staff concerns, worries (about `topic`, if given) or
        # visits about one child within `window_days`. Crossing one escalates once (reason 'pattern').
        """
        CREATE TABLE pattern_rules (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('staff_concerns', 'worries', 'visits')),
            topic TEXT,
            at_least INTEGER NOT NULL CHECK (at_least BETWEEN 2 AND 100),
            window_days INTEGER NOT NULL CHECK (window_days BETWEEN 1 AND 366),
            created_at TEXT NOT NULL,
            created_by INTEGER REFERENCES staff(id),
            removed_at TEXT
        )
        """,
        # The rules the issue names as good practice, on from the start; the DSL can change or remove them.
        "INSERT INTO pattern_rules (kind, topic, at_least, window_days, created_at) "
        "VALUES ('staff_concerns', NULL, 3, 30, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))",
        "INSERT INTO pattern_rules (kind, topic, at_least, window_days, created_at) "
        "VALUES ('worries', 'home', 2, 14, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))",
    )
    # escalations.reason had a CHECK listing its reasons; SQLite cannot alter one, so the table is rebuilt
    # from its own stored definition without it (whatever columns it has by now), with a rule_id added.
    table_sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'escalations'").fetchone()[0]
    index_sql = [row[0] for row in db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'escalations' AND sql IS NOT NULL "
        "AND name != 'escalations_one_open'")]
    columns = [row[1] for row in db.execute("PRAGMA table_info(escalations)")]
    new_sql = re.sub(r"CHECK\s*\(\s*reason\s+IN\s*\([^)]*\)\s*\)", "", table_sql, count=1)
    listed = ", ".join(columns)
    # Deferred: other tables point at escalations(id) while it is swapped. Dropping it leaves their rows
    # orphaned for a moment; putting every row back under its own id settles them before the commit.
    db.execute("PRAGMA defer_foreign_keys = ON")
    _run(
        db,
        "CREATE TEMP TABLE escalations_copy AS SELECT %s FROM escalations" % listed,
        "DROP TABLE escalations",
        new_sql,
        "INSERT INTO escalations (%s) SELECT %s FROM escalations_copy" % (listed, listed),
        "DROP TABLE escalations_copy",
        "ALTER TABLE escalations ADD COLUMN rule_id INTEGER REFERENCES pattern_rules(id)",
        *index_sql,
        # One open escalation per child per reason, and per child per pattern rule.
        "CREATE UNIQUE INDEX escalations_one_open ON escalations (pupil_ref, reason) "
        "WHERE status = 'open' AND pupil_ref IS NOT NULL AND reason NOT IN ('urgent', 'pattern')",
        "CREATE UNIQUE INDEX escalations_one_open_per_rule ON escalations (pupil_ref, rule_id) "
        "WHERE status = 'open' AND reason = 'pattern'",
    )


@migrations(name="0018_pupil_safety_survey")
def _m0018_pupil_safety_survey(db: Database) -> None:
    _run(
        db,
        # When the "How safe do you feel?" survey is offered at the kiosk: school days, both ends included.
        """
        CREATE TABLE survey_windows (
            id INTEGER PRIMARY KEY,
            opens_on TEXT NOT NULL,
            closes_on TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by INTEGER REFERENCES staff(id),
            closed_early_at TEXT
        )
        """,
        # One child's answers, anonymous: no pseudonym, no tablet, no time finer than the day; only the class
        # or year group they chose, the language and the age group of the kiosk.
        """
        CREATE TABLE survey_responses (
            id INTEGER PRIMARY KEY,
            window_id INTEGER NOT NULL REFERENCES survey_windows(id),
            answered_on TEXT NOT NULL,
            class_name TEXT,
            year_group TEXT,
            language TEXT NOT NULL DEFAULT 'en'
        )
        """,
        """
        CREATE TABLE survey_answers (
            response_id INTEGER NOT NULL REFERENCES survey_responses(id),
            question TEXT NOT NULL,
            answer TEXT NOT NULL CHECK (answer IN ('yes', 'sometimes', 'no')),
            PRIMARY KEY (response_id, question)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX survey_responses_by_day ON survey_responses (answered_on)",
    )


@migrations(name="0019_flood_sources_by_time")
def _m0019_flood_sources_by_time(db: Database) -> None:
    _run(
        db,
        # The flood check forgets where posts came from once the window has passed. worries_by_source is by
        # tablet first, so finding the expired ones read every post still in the window (thousands in a flood).
        "CREATE INDEX worries_source_kept_by_time ON worries (created_at) WHERE posted_from IS NOT NULL",
    )


@migrations(name="0020_pupils_by_update")
def _m0020_pupils_by_update(db: Database) -> None:
    _run(
        db,
        # Whether the roster changed since a name tile was made is asked on every named post
        # (roster.roster_version); without this it read every pupil's row.
        "CREATE INDEX pupils_by_update ON pupils (updated_at)",
    )
