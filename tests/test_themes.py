"""Themes for circle time: a class teacher sees their class's worries this half-term as topics and places only."""

import re
from datetime import datetime, timedelta, timezone

from helpers import OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD, PUPILS, TEACHER_EMAIL, TEACHER_PASSWORD
from worrybox import throttle, worries
from worrybox.config import Paths
from worrybox.recipients import worry_recipients
from worrybox.school import pupil_keys

CANARY = "THEME-CANARY words a child wrote"


def _post(db, data_dir, n, pupil, topic, place):
    ref = pupil_keys(Paths(data_dir)).pupil_ref(pupil.pupil_id)
    worry_id, _ = worries.post_worry(db, worry_recipients(db), worries.NewWorry(
        "theme-%02d-xxxxxxxxxxxxxxxx" % n, text=CANARY, topic=topic, place=place, pupil=pupil, pupil_ref=ref),
        at=datetime.now(timezone.utc) - timedelta(minutes=n))
    return worry_id


def _cell(page, label):
    match = re.search(r'<th scope="row">%s</th><td>([^<]+)</td>' % re.escape(label), page)
    return match.group(1) if match else None


def test_a_class_teacher_sees_their_classs_themes_disclosure_controlled_and_nothing_else(db, data_dir, staff_member,
                                                                                         console):
    amira, tomasz, harjit = PUPILS
    for n in range(6):
        _post(db, data_dir, n, amira if n % 2 else tomasz, "friends", "playground")
    _post(db, data_dir, 6, amira, "home", "home")
    _post(db, data_dir, 7, tomasz, "home", "home")
    _post(db, data_dir, 8, amira, "adult_at_school", "classroom")
    for n in range(9, 15):
        _post(db, data_dir, n, harjit, "schoolwork", "classroom")
    prank = _post(db, data_dir, 15, amira, "online", "online")
    for n in range(16, 21):
        throttle.mark_not_real(db, _post(db, data_dir, n, amira, "online", "online"), 1, not_real=True)
    throttle.mark_not_real(db, prank, 1, not_real=True)
    staff_member.login(TEACHER_EMAIL, TEACHER_PASSWORD)
    page = console.get("/themes").get_data(as_text=True)
    assert _cell(page, "Friends") == "5"  # 6, rounded
    assert _cell(page, "Home") == "fewer than 5"
    assert _cell(page, "Playground") == "5"
    assert _cell(page, "School work") == "0"  # class 5C's worries are not 4B's
    assert _cell(page, "Something online") == "0"  # marked not real
    assert "A grown-up at school" not in page
    for secret in (CANARY, "THEME-CANARY", *(p.first_name for p in PUPILS), *(p.last_name for p in PUPILS)):
        assert secret not in page
    staff_member.logout()
    staff_member.login(OTHER_TEACHER_EMAIL, OTHER_TEACHER_PASSWORD)
    assert _cell(console.get("/themes").get_data(as_text=True), "School work") == "5"


def test_only_a_class_teacher_has_themes_for_circle_time(staff_member, console):
    staff_member.login()
    assert console.get("/themes").status_code == 403
