"""Prank floods: every post is kept; a tablet's flood is marked and listed last; staff mark and count pranks."""

from datetime import datetime, timedelta, timezone

import pytest

from helpers import OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD, ConsoleHelper, csrf_token, sqlite_steps
from worrybox import throttle, worries
from worrybox.db import set_setting
from worrybox.config import Paths
from worrybox.recipients import worry_recipients
from worrybox.school import pupil_keys

START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


def _post(db, number, at, source, urgent=False):
    """What the kiosk does for one post: store the sealed worry, then the flood check."""
    worry_id, _ = worries.post_worry(db, worry_recipients(db), worries.NewWorry(
        submission_id="flood-test-%06d-xxxxxxxx" % number, feeling="sad", text="tap %d" % number, urgent=urgent),
        at=at)
    return worry_id, throttle.mark_if_flood(db, worry_id, source, now=at)


@pytest.fixture
def tablet(data_dir):
    return throttle.tablet_ref(pupil_keys(Paths(data_dir)), None, "10.0.4.21")


@pytest.fixture
def other_tablet(data_dir):
    return throttle.tablet_ref(pupil_keys(Paths(data_dir)), "Class 4B tablet", "10.0.4.21")


def test_the_seventh_post_from_one_tablet_within_five_minutes_is_marked_and_every_post_is_kept(db, tablet):
    marked = [_post(db, n, START + timedelta(seconds=20 * n), tablet)[1] for n in range(10)]
    assert marked == [False] * 6 + [True] * 4
    assert db.execute("SELECT count(*), sum(flood) FROM worries").fetchone() == (10, 4)


def test_a_flood_on_one_tablet_does_not_mark_another(db, tablet, other_tablet):
    for n in range(10):
        _post(db, n, START + timedelta(seconds=n), tablet)
    assert _post(db, 99, START + timedelta(seconds=11), other_tablet)[1] is False


def test_a_tablet_posting_at_a_childs_pace_is_never_marked(db, tablet):
    marked = [_post(db, n, START + timedelta(minutes=1) * n, tablet)[1] for n in range(20)]
    assert not any(marked)


def test_where_a_post_came_from_is_forgotten_once_the_window_has_passed(db, tablet):
    _post(db, 1, START, tablet)
    _post(db, 2, START + timedelta(minutes=10), tablet)
    assert db.execute("SELECT id FROM worries WHERE posted_from IS NOT NULL").fetchall() == [(2,)]


def test_the_tablet_pseudonym_names_neither_the_address_nor_the_tablet(tablet, other_tablet):
    assert "10.0.4.21" not in tablet and "4B" not in other_tablet and tablet != other_tablet


def test_a_school_can_change_the_flood_rule(db, tablet):
    set_setting(db, "flood_posts", "2")
    set_setting(db, "flood_window_minutes", "1")
    marked = [_post(db, n, START + timedelta(seconds=n), tablet)[1] for n in range(4)]
    assert marked == [False, False, True, True]


def test_the_queue_lists_a_flood_after_every_other_worry(db, tablet, other_tablet):
    for n in range(9):
        _post(db, n, START + timedelta(seconds=n), tablet, urgent=n == 8)
    real, _ = _post(db, 50, START + timedelta(seconds=30), other_tablet)
    items, _ = worries.queue(db, worry_recipients(db))
    order = [item["id"] for item in items]
    flooded = [item["id"] for item in items if item["flood"]]
    assert order.index(real) < min(order.index(worry_id) for worry_id in flooded)
    # The urgent one came ninth from the flooding tablet, and still comes first: urgent is never marked.
    assert order[:8] == [9, real, 6, 5, 4, 3, 2, 1]


# The console: "not a real worry", and the counts.

@pytest.fixture
def opened_worry(child, staff_member, console):
    assert child.post(text="PRANK-CANARY poo poo", feeling="okay").status_code == 303
    assert staff_member.login().status_code == 303
    page = console.get("/worries/1").get_data(as_text=True)
    return page


def _mark(console, undo=False):
    token = csrf_token(console.get("/worries/1").get_data(as_text=True))
    data = {"csrf_token": token, **({"undo": "y"} if undo else {})}
    return console.post("/worries/1/not-real", data=data)


def test_staff_mark_a_worry_not_real_and_it_shows_in_the_worry_its_chronology_and_the_queue(opened_worry, console, db):
    assert "Not a real worry" in opened_worry
    response = _mark(console)
    assert response.status_code == 303
    page = console.get("/worries/1").get_data(as_text=True)
    assert "Marked <strong>not a real worry</strong> by Dana Lewis" in page
    assert "marked it not a real worry" in page
    assert "It is a real worry after all" in page
    queue = console.get("/").get_data(as_text=True)
    assert "1 marked not a real worry by staff" in queue and '<span class="tag">Not a real worry</span>' in queue
    assert db.execute("SELECT count(*) FROM audit_log WHERE event = 'worry_marked_not_real' AND worry_id = 1"
                      ).fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM worries").fetchone()[0] == 1, "kept, never deleted"


def test_marking_can_be_undone(opened_worry, console, db):
    _mark(console)
    assert _mark(console, undo=True).status_code == 303
    assert db.execute("SELECT not_real_at FROM worries WHERE id = 1").fetchone()[0] is None
    assert "marked it a real worry after all" in console.get("/worries/1").get_data(as_text=True)


def test_marking_twice_records_it_once(opened_worry, console, db):
    _mark(console)
    _mark(console)
    assert db.execute("SELECT count(*) FROM actions WHERE action = 'not_real'").fetchone()[0] == 1


def test_only_staff_whose_key_opens_the_worry_can_mark_it(child, console_app, db):
    child.post(text="a worry for the safeguarding team", feeling="sad")
    teacher = console_app.test_client()
    assert ConsoleHelper(teacher).login(OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD).status_code == 303
    token = csrf_token(teacher.get("/").get_data(as_text=True))
    assert teacher.post("/worries/1/not-real", data={"csrf_token": token}).status_code == 403
    assert teacher.post("/worries/99/not-real", data={"csrf_token": token}).status_code == 404
    assert db.execute("SELECT not_real_at FROM worries WHERE id = 1").fetchone()[0] is None


def test_a_mark_without_a_valid_form_token_changes_nothing(opened_worry, console, db):
    response = console.post("/worries/1/not-real", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert db.execute("SELECT not_real_at FROM worries WHERE id = 1").fetchone()[0] is None


def test_prank_counts_count_floods_and_not_real_marks_since_a_moment(db, tablet):
    for n in range(8):
        _post(db, n, START + timedelta(seconds=n), tablet)
    throttle.mark_not_real(db, 1, staff_id=1)
    assert throttle.prank_counts(db, START - timedelta(days=1)) == {"flood": 2, "not_real": 1}
    assert throttle.prank_counts(db, START + timedelta(days=1)) == {"flood": 0, "not_real": 0}


def test_a_flood_of_taps_at_the_kiosk_is_kept_and_marked(child, db):
    for n in range(9):
        assert child.post(feeling="okay", text="tap %d" % n).status_code == 303
    assert db.execute("SELECT count(*), sum(flood) FROM worries").fetchone() == (9, 3)


def _steps_of_one_more_post(db, number, at, source):
    """How much work SQLite does for one more post's flood check (virtual machine steps, not time)."""
    worry_id, _ = worries.post_worry(db, worry_recipients(db), worries.NewWorry(
        submission_id="flood-test-%06d-xxxxxxxx" % number, feeling="sad", text="tap"), at=at)
    marked = []
    steps = sqlite_steps(db, lambda: marked.append(throttle.mark_if_flood(db, worry_id, source, now=at)))
    return marked[0], steps


def test_a_flood_does_not_make_each_further_post_slower(db, tablet):
    # A flood is when the kiosk is busiest, and the check runs while every other tablet waits to write: what it
    # costs must not grow with the flood. 40 posts, then 1,000, within one window from one tablet.
    at = START
    for number in range(40):
        _post(db, number, at, tablet)
    small = _steps_of_one_more_post(db, 40, at, tablet)
    for number in range(41, 1000):
        _post(db, number, at, tablet)
    large = _steps_of_one_more_post(db, 1000, at, tablet)
    assert small[0] and large[0]  # both marked
    assert large[1] < small[1] * 1.5, (small, large)
    # And when the window has passed, forgetting where 1,000 posts came from is done once, not on every post.
    later = START + throttle.FLOOD_WINDOW + timedelta(minutes=1)
    _post(db, 1001, later, tablet)
    assert db.execute("SELECT count(*) FROM worries WHERE posted_from IS NOT NULL").fetchone()[0] == 1
    after = _steps_of_one_more_post(db, 1002, later + timedelta(seconds=1), tablet)
    assert not after[0] and after[1] < small[1] * 1.5, (small, after)
