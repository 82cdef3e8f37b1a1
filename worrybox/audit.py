"""The append-only audit log: who did what, and when — never the content of a worry."""

from .clock import utcnow


def audit(db, event: str, staff_id: int | None = None, worry_id: int | None = None, detail: str | None = None) -> None:
    """Append a row to the audit log."""
    db.execute(
        "INSERT INTO audit_log (at, staff_id, event, worry_id, detail) VALUES (?, ?, ?, ?, ?)",
        [utcnow(), staff_id, event, worry_id, detail],
    )
