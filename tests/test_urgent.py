"""Urgent means now: an urgent worry is never buried, and nobody can pose as a named tablet."""

from helpers import KioskHelper, csrf_token
from worrybox import tablets, worries
from worrybox.recipients import worry_recipients

ATTACKER = {"REMOTE_ADDR": "10.0.9.9"}
FROGS = {"first_animal": "frog", "second_animal": "frog", "third_animal": "frog"}


def _enrolled(kiosk_app, db, name):
    tablet = kiosk_app.test_client()
    assert tablet.get("/enrol/" + tablets.new_enrolment_link_token(db, name)).status_code == 303
    return tablet


def _queue_ids(db):
    return [item["id"] for item in worries.queue(db, worry_recipients(db))[0]]


def test_urgent_worry_posted_after_a_flood_from_the_same_tablet_is_first_in_the_queue(child, db):
    for n in range(8):
        assert child.post(feeling="okay", text="tap %d" % n).status_code == 303
    form = child.form("/help")
    assert child.client.post("/worry", data=dict(form, urgent="y", text="help me now")).status_code == 303
    urgent_id = db.execute("SELECT id FROM worries WHERE urgent = 1").fetchone()[0]
    assert _queue_ids(db)[0] == urgent_id
    assert db.execute("SELECT flood FROM worries WHERE id = ?", [urgent_id]).fetchone()[0] == 0
    assert db.execute("SELECT sum(flood) FROM worries").fetchone()[0] == 2  # the ordinary taps are still marked


def test_a_tablet_name_without_its_token_neither_floods_nor_pauses_the_named_tablet(kiosk_app, db):
    tablet = _enrolled(kiosk_app, db, "Class 4 tablet")
    prankster = KioskHelper(kiosk_app.test_client())
    prankster.client.environ_base.update(ATTACKER)
    for n in range(7):
        form = prankster.form("/worry?tablet=Class 4 tablet")
        assert prankster.client.post("/worry?tablet=Class 4 tablet",
                                     data=dict(form, feeling="okay", text="junk %d" % n)).status_code == 303
    for _ in range(12):
        page = prankster.client.get("/heard/animals?tablet=Class 4 tablet").get_data(as_text=True)
        prankster.client.post("/heard/animals?tablet=Class 4 tablet", data={
            "csrf_token": csrf_token(page), **FROGS})
    # The junk was not posted as the named tablet...
    assert db.execute("SELECT count(*) FROM worries WHERE tablet IS NOT NULL").fetchone()[0] == 0
    # ...so the named tablet's own worry is not marked as a flood, and its checks are not paused.
    real = KioskHelper(tablet)
    assert real.post(feeling="sad", text="a real worry").status_code == 303
    assert db.execute("SELECT tablet, flood FROM worries ORDER BY id DESC LIMIT 1").fetchone() == ("Class 4 tablet", 0)
    page = tablet.get("/heard/animals").get_data(as_text=True)
    response = tablet.post("/heard/animals", data={"csrf_token": csrf_token(page), **FROGS})
    assert response.status_code == 200


def test_an_enrolment_link_works_once_and_the_cookie_holds_a_token_not_the_name(kiosk_app, db):
    token = tablets.new_enrolment_link_token(db, "Library tablet")
    first = kiosk_app.test_client()
    assert first.get("/enrol/" + token).status_code == 303
    assert "Library tablet" in first.get("/").get_data(as_text=True)
    cookie = first.get_cookie("worrybox_tablet").value
    assert "Library" not in cookie and len(cookie) >= 40
    assert db.execute("SELECT count(*) FROM tablets WHERE device_token_hash = ?", [cookie]).fetchone()[0] == 0
    second = kiosk_app.test_client()
    assert second.get("/enrol/" + token).status_code == 404
    assert "Library tablet" not in second.get("/").get_data(as_text=True)


def test_a_removed_or_re_enrolled_tablet_is_no_longer_recognised(kiosk_app, db):
    old = _enrolled(kiosk_app, db, "Library tablet")
    new = _enrolled(kiosk_app, db, "Library tablet")
    assert "Library tablet" not in old.get("/").get_data(as_text=True)
    assert "Library tablet" in new.get("/").get_data(as_text=True)
    tablets.remove_tablet(db, "Library tablet")
    assert "Library tablet" not in new.get("/").get_data(as_text=True)
