"""The demo school `make run` starts: every role signs in as printed, mediators at the kiosk with their PINs,
something to look at in every room, and Ctrl-C stops it cleanly."""

import html
import os
import re
import shutil
import signal
from datetime import datetime, timedelta, timezone

import pytest

from helpers import WORRYBOX, ConsoleHelper, free_port, port_is_closed, tap_name_and_pin
from kiosk import create_app as create_kiosk
from staff_console import create_app as create_console
from worrybox import clock, escalation, mediators
from worrybox.config import Paths
from worrybox.demo import NotADemoSchool, create_demo_school, sign_in_guide
from worrybox.school import open_school
from worrybox.staff import ROLES

KIOSK_URL, CONSOLE_URL = "http://127.0.0.1:8000", "http://127.0.0.1:8001"
STAFF_LINE = re.compile(r"^  (.+?):\s+(\S+@\S+)\s+password: (\S+)", re.M)
MEDIATOR_LINE = re.compile(r"^  (\w+ \w \(\w+\))\s+PIN: (\d+)", re.M)


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory):
    """The demo school, made once for this module (it sets up six members of staff); tests get copies."""
    data_dir = tmp_path_factory.mktemp("demo") / "demo-data"
    logins = create_demo_school(data_dir)
    return data_dir, sign_in_guide(logins, KIOSK_URL, CONSOLE_URL)


@pytest.fixture
def demo(demo_template, tmp_path):
    data_dir = tmp_path / "demo-data"
    shutil.copytree(demo_template[0], data_dir)
    return data_dir, demo_template[1]


@pytest.fixture
def demo_db(demo):
    db = open_school(Paths(demo[0]))
    yield db
    db.close()


def test_the_demo_school_has_every_role_and_prints_a_login_for_each(demo, demo_db):
    _, guide = demo
    roles = {row[0] for row in demo_db.execute("SELECT role FROM staff WHERE removed_at IS NULL")}
    assert roles == set(ROLES)
    printed = STAFF_LINE.findall(guide)
    assert len(printed) == len(ROLES)
    emails = {email: role for role, email in demo_db.execute("SELECT role, email FROM staff")}
    assert sorted(emails[email] for _, email, _ in printed) == sorted(ROLES)


def test_every_printed_staff_login_signs_in_to_the_console_and_opens_their_start_page(demo):
    data_dir, guide = demo
    app = create_console({"DATA_DIR": data_dir, "TESTING": True})
    for label, email, password in STAFF_LINE.findall(guide):
        client = app.test_client()
        signed_in = ConsoleHelper(client).login(email, password)
        assert signed_in.status_code == 303, label
        home = signed_in.headers["Location"]
        assert "/login" not in home, "%s was sent on to %s" % (label, home)
        assert client.get(home).status_code == 200, label


def test_the_printed_logins_read_what_their_role_should_and_nothing_more(demo):
    data_dir, guide = demo
    app = create_console({"DATA_DIR": data_dir, "TESTING": True})
    logins = {label: (email, password) for label, email, password in STAFF_LINE.findall(guide)}

    def queue_of(label):
        client = app.test_client()
        assert ConsoleHelper(client).login(*logins[label]).status_code == 303
        return client, client.get("/").get_data(as_text=True)

    dsl, queue = queue_of("DSL")
    worry_ids = sorted({int(found) for found in re.findall(r"/worries/(\d+)", queue)})
    assert len(worry_ids) >= 8 and 'tag-urgent">Urgent' in queue
    opened = html.unescape(dsl.get("/worries/%d" % worry_ids[-1]).get_data(as_text=True))
    assert "Please come and find me" in opened
    _, queue = queue_of("Deputy DSL")
    assert len(set(re.findall(r"/worries/(\d+)", queue))) == len(worry_ids)
    teacher, queue = queue_of("Class teacher 4B")
    mine = sorted({int(found) for found in re.findall(r"/worries/(\d+)", queue)})
    assert mine and len(mine) < len(worry_ids)
    assert any("Nobody wants to play with me" in html.unescape(teacher.get("/worries/%d" % worry_id).get_data(
        as_text=True)) for worry_id in mine)
    head, queue = queue_of("Head teacher")
    theirs = set(re.findall(r"/worries/(\d+)", queue))
    assert len(theirs) == 1
    assert "after-school club" in html.unescape(head.get("/worries/%s" % theirs.pop()).get_data(as_text=True))


def test_each_printed_mediator_pin_signs_them_in_at_the_kiosk_to_their_rota(demo):
    data_dir, guide = demo
    kiosk = create_kiosk({"DATA_DIR": data_dir, "TESTING": True})
    assert "%s/mediator" % KIOSK_URL in guide
    printed = MEDIATOR_LINE.findall(guide)
    assert len(printed) == 4
    page = html.unescape(kiosk.test_client().get("/mediator").get_data(as_text=True))
    for tile, pin in printed:
        # The name a mediator taps is the tile with these words; its value is what the form sends.
        value = re.search(r'value="([^"]+)">\s*<span class="tile-text">%s</span>' % re.escape(tile), page)
        assert value, "no tile says %s" % tile
        client = kiosk.test_client()
        signed_in = tap_name_and_pin(client, value.group(1), pin)
        assert signed_in.status_code == 303, tile
        duty = client.get(signed_in.headers["Location"]).get_data(as_text=True)
        assert "your chats this week" in duty and tile.split()[0] in duty
        wrong = tap_name_and_pin(kiosk.test_client(), value.group(1), "0000" if pin != "0000" else "1111")
        assert wrong.status_code == 401


def test_the_demo_has_a_rota_with_chats_to_book_chats_that_happened_and_every_kind_of_escalation(demo_db):
    now = datetime.now(timezone.utc)
    now_local = clock.school_time(demo_db, now)
    assert mediators.upcoming(demo_db, now_local), "nothing a child can book"
    monday = now_local.date() - timedelta(days=now_local.weekday())
    bookings = mediators.bookings_between(demo_db, monday - timedelta(days=7), monday + timedelta(days=13))
    assert any(booking["outcome"] == "pass_to_adult" for booking in bookings)
    # A chat still to come: later today (the demo made just after midnight books today's) or on a later day.
    assert any(booking["attended"] is None and (booking["date"], booking["start_time"]) > (
        now_local.date().isoformat(), now_local.strftime("%H:%M")) for booking in bookings)
    reasons = {row["reason"] for row in escalation.open_escalations(demo_db)}
    assert reasons == {"urgent", "repeat_visits", "pass_to_adult", "pattern"}  # pattern: two worries about home
    sealed = demo_db.execute("SELECT count(*) FROM worries WHERE length(sealed_body) > 0").fetchone()[0]
    assert sealed == demo_db.execute("SELECT count(*) FROM worries").fetchone()[0] >= 8


@pytest.mark.parametrize("now", [
    datetime(2026, 11, 30, 7, 30, tzinfo=timezone.utc),   # Monday before school: nothing this week is over yet
    datetime(2026, 12, 5, 22, 0, tzinfo=timezone.utc),    # Saturday night: every chat this week is over
], ids=["monday-morning", "saturday-night"])
def test_the_demo_can_be_made_on_any_day_with_chats_this_week_and_times_to_book(now, tmp_path):
    create_demo_school(tmp_path / "demo", now=now)
    db = open_school(Paths(tmp_path / "demo"))
    try:
        now_local = clock.school_time(db, now)
        assert mediators.upcoming(db, now_local)
        days = [booking["date"] for booking in mediators.bookings_between(
            db, now_local.date() - timedelta(days=7), now_local.date() + timedelta(days=7))]
        assert any(day <= now_local.date().isoformat() for day in days)
        assert any(day >= now_local.date().isoformat() for day in days)
    finally:
        db.close()


def test_a_data_directory_holding_something_else_is_never_made_into_a_demo(tmp_path):
    other = tmp_path / "school"
    other.mkdir()
    (other / "worrybox.db").write_bytes(b"someone's real school")
    with pytest.raises(NotADemoSchool, match="holds something other than a demo school"):
        create_demo_school(other)
    assert (other / "worrybox.db").read_bytes() == b"someone's real school"


@pytest.mark.slow
def test_ctrl_c_stops_the_demo_with_exit_code_0_and_frees_both_ports(servers, tmp_path):
    kiosk_port, console_port = free_port(), free_port()
    demo = servers([WORRYBOX, "demo", "--data-dir", tmp_path / "demo-data", "--kiosk-port", kiosk_port,
                    "--console-port", console_port])
    demo.wait_for_output(r"Press Ctrl-C to stop", timeout=60)
    demo.wait_until_healthy(kiosk_port, console_port)
    # Ctrl-C in a terminal (as under `make run`) signals the whole foreground process group: the demo and
    # every app it started. (SIGINT to `worrybox run` alone is tested in test_servers.py.)
    os.killpg(demo.process.pid, signal.SIGINT)
    exit_code = demo.stop(None)
    assert exit_code == 0, demo.output
    assert demo.group_is_gone(), "an app outlived `worrybox demo`"
    assert port_is_closed(kiosk_port) and port_is_closed(console_port)
    assert "Stopped." in demo.output and "Traceback" not in demo.output
    assert "%d/mediator" % kiosk_port in demo.output, "the printed kiosk address is not where it runs"
