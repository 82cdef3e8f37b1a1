"""Prank floods: a tablet that sends far more worries than children write is marked, never silenced.

Every worry is kept. When one tablet posts more than FLOOD_POSTS worries within FLOOD_WINDOW, each
further one is marked `flood`, so the staff queue shows it after the others and a flood of taps cannot
bury a real worry. An urgent worry is never marked: it always comes first. Staff who open a worry can mark it "not a real worry"; both are counted.
"""

from datetime import datetime, timedelta, timezone

from .clock import utcnow
from .db import get_setting, write_transaction
from .audit import audit

FLOOD_POSTS = 6
FLOOD_WINDOW = timedelta(minutes=5)


def tablet_ref(pupil_keys, tablet_name: str | None, remote_addr: str | None) -> str:
    """A keyed pseudonym for the tablet a post came from: its name if staff named it, else its address."""
    source = "name:%s" % tablet_name if tablet_name else "address:%s" % (remote_addr or "unknown")
    # The NUL prefix keeps these apart from pupils' pseudonyms, made with the same key.
    return pupil_keys.pupil_ref("\0tablet\0" + source)


def flood_rule(db) -> tuple[int, timedelta]:
    """How many posts from one tablet, within how long, a school allows before marking a flood."""
    try:
        posts = max(1, int(get_setting(db, "flood_posts", str(FLOOD_POSTS))))
        minutes = max(1, int(get_setting(db, "flood_window_minutes", str(FLOOD_WINDOW.seconds // 60))))
    except ValueError:
        return FLOOD_POSTS, FLOOD_WINDOW
    return posts, timedelta(minutes=minutes)


def mark_if_flood(db, worry_id: int, source: str, now: datetime | None = None) -> bool:
    """Record which tablet posted a worry and mark it if that tablet is flooding; return whether it was marked."""
    now = now or datetime.now(timezone.utc)
    posts, window = flood_rule(db)
    since = (now - window).isoformat(timespec="microseconds")
    with write_transaction(db):
        db.execute("UPDATE worries SET posted_from = ? WHERE id = ?", [source, worry_id])
        # Counted only as far as the rule needs: in a flood the window holds thousands, and this runs while
        # every other tablet waits to write.
        recent = db.execute("SELECT count(*) FROM (SELECT 1 FROM worries WHERE posted_from = ? AND created_at >= ? "
                            "LIMIT ?)", [source, since, posts + 1]).fetchone()[0]
        # Urgent is never marked: "I need help now" always comes first, however many posts came before it.
        urgent = db.execute("SELECT urgent FROM worries WHERE id = ?", [worry_id]).fetchone()[0]
        flood = recent > posts and not urgent
        if flood:
            db.execute("UPDATE worries SET flood = 1 WHERE id = ?", [worry_id])
        # Where a post came from is needed only for the window: forget it after that (found by the index of
        # worries whose source is still kept, in time order, so only the ones to forget are read).
        db.execute("UPDATE worries SET posted_from = NULL WHERE posted_from IS NOT NULL AND created_at < ?", [since])
    return flood


def mark_not_real(db, worry_id: int, staff_id: int, not_real: bool = True) -> bool:
    """Mark a worry "not a real worry" (or undo it), in its chronology and the audit log; return if it changed."""
    now = utcnow()
    role = db.execute("SELECT role FROM staff WHERE id = ?", [staff_id]).fetchone()
    if role is not None and role[0] not in ("dsl", "deputy"):
        # Marked by a teacher or head: it stays in the DSL's queue, as it was, until a DSL or deputy confirms.
        from .casework import ask_for_review

        with write_transaction(db):
            if not_real:
                return ask_for_review(db, worry_id, staff_id, "not_real", now)
            changed = db.execute("UPDATE worries SET review_asked_for = NULL, review_asked_by = NULL, "
                                 "review_asked_at = NULL WHERE id = ? AND review_asked_for = 'not_real' "
                                 "AND review_asked_by = ?", [worry_id, staff_id]).rowcount
            if changed:
                db.execute("INSERT INTO actions (worry_id, staff_id, at, action) VALUES (?, ?, ?, 'real_after_all')",
                           [worry_id, staff_id, now])
                audit(db, "worry_marked_real_after_all", staff_id=staff_id, worry_id=worry_id)
            return bool(changed)
    with write_transaction(db):
        if not_real:
            changed = db.execute("UPDATE worries SET not_real_at = ?, not_real_by = ?, updated_at = ? "
                                 "WHERE id = ? AND not_real_at IS NULL", [now, staff_id, now, worry_id]).rowcount
        else:
            changed = db.execute("UPDATE worries SET not_real_at = NULL, not_real_by = NULL, updated_at = ? "
                                 "WHERE id = ? AND not_real_at IS NOT NULL", [now, worry_id]).rowcount
        if changed:
            action = "not_real" if not_real else "real_after_all"
            db.execute("INSERT INTO actions (worry_id, staff_id, at, action) VALUES (?, ?, ?, ?)",
                       [worry_id, staff_id, now, action])
            audit(db, "worry_marked_%s" % action, staff_id=staff_id, worry_id=worry_id)
    return bool(changed)


def prank_counts(db, since: datetime) -> dict[str, int]:
    """How many worries since a moment were marked as a flood, and how many staff marked not real."""
    since_text = since.isoformat(timespec="microseconds")
    flood, not_real = db.execute(
        "SELECT coalesce(sum(flood), 0), coalesce(sum(not_real_at IS NOT NULL), 0) FROM worries "
        "WHERE (flood = 1 OR not_real_at IS NOT NULL) AND created_at >= ?", [since_text]).fetchone()
    return {"flood": flood, "not_real": not_real}


def marks(db, worry_id: int) -> dict:
    """Whether a worry came in a flood, whether (and by whom) it was marked not real, and any review asked for."""
    row = db.execute("SELECT w.flood, w.not_real_at, s.name, w.review_asked_for, w.review_asked_at, r.name, r.role "
                     "FROM worries w LEFT JOIN staff s ON s.id = w.not_real_by "
                     "LEFT JOIN staff r ON r.id = w.review_asked_by WHERE w.id = ?", [worry_id]).fetchone()
    if row is None:
        return {"flood": False, "not_real_at": None, "not_real_by": None, "review": None}
    review = None if not row[3] else {"asked_for": row[3], "at": row[4], "by": row[5], "role": row[6]}
    return {"flood": bool(row[0]), "not_real_at": row[1], "not_real_by": row[2], "review": review}
