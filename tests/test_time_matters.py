"""Time matters: worries not read in time stand out, and the queue shows how fast worries are read."""

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from worrybox import worries
from worrybox.recipients import worry_recipients

LONDON = ZoneInfo("Europe/London")


def test_an_urgent_worry_should_be_read_within_fifteen_minutes():
    posted = "2026-11-23T10:00:00.000000+00:00"
    assert worries.read_by(posted, True, LONDON) == datetime(2026, 11, 23, 10, 15, tzinfo=timezone.utc)


def test_a_worry_should_be_read_by_the_end_of_the_next_school_morning():
    monday_evening = datetime(2026, 11, 23, 18, 0, tzinfo=LONDON).isoformat()
    assert worries.read_by(monday_evening, False, LONDON) == datetime(2026, 11, 24, 12, 0, tzinfo=LONDON)


def test_a_worry_posted_on_friday_should_be_read_by_monday_lunchtime():
    friday = datetime(2026, 11, 27, 14, 0, tzinfo=LONDON).isoformat()
    assert worries.read_by(friday, False, LONDON) == datetime(2026, 11, 30, 12, 0, tzinfo=LONDON)


def _post(db, n, at, urgent=False):
    return worries.post_worry(db, worry_recipients(db), worries.NewWorry(
        submission_id="time-%02d-xxxxxxxxxxxxxx" % n, feeling="sad", urgent=urgent), at=at)[0]


def test_the_queue_marks_worries_nobody_read_in_time(db, staff_member, console):
    now = datetime.now(timezone.utc)
    late = _post(db, 1, now - timedelta(minutes=20), urgent=True)
    fresh = _post(db, 2, now - timedelta(minutes=2), urgent=True)
    staff_member.login()

    def row_of(worry_id):
        page = console.get("/").get_data(as_text=True)
        return re.search(r'<tr class="[^"]*">(?:(?!<tr).)*?/worries/%d"' % worry_id, page, re.S).group(0)

    assert "Not read in time" in row_of(late) and "Not read in time" not in row_of(fresh)
    console.get("/worries/%d" % late)  # opening it means it has been read
    assert "Not read in time" not in row_of(late)


def test_the_queue_shows_the_median_time_to_first_read_this_week(db, staff_member, console):
    now = datetime.now(timezone.utc)
    for n, minutes in enumerate((1, 3, 5)):
        worry_id = _post(db, n, now - timedelta(minutes=6))
        db.execute("UPDATE worries SET first_opened_at = ? WHERE id = ?",
                   [(now - timedelta(minutes=6 - minutes)).isoformat(timespec="microseconds"), worry_id])
    assert worries.median_minutes_to_first_read(db, now - timedelta(days=1)) == 3
    staff_member.login()
    assert "median of\n  3 minutes" in console.get("/").get_data(as_text=True)
