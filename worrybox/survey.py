"""The "How safe do you feel?" survey: windows the DSL opens, anonymous answers from the kiosk, results in numbers.

A response keeps only the day, the class or year group the child chose and the kiosk's language: no
pseudonym, no tablet, no time of day. Results are counted with the governors' report's rules (1 to 4
hidden, the rest rounded to 5), so a class's answers cannot be traced to a child either.
The kiosk imports this module: it only writes and counts, never opens anything.
"""

from dataclasses import dataclass
from datetime import date

from .clock import utcnow
from .db import write_transaction
from .languages import N_

# The questions, in order: (words, picture in static/pictures). A child answers each with a face.
QUESTIONS = {
    "safe_in_class": (N_("I feel safe in my classroom"), "place-classroom"),
    "safe_in_playground": (N_("I feel safe in the playground"), "place-playground"),
    "safe_in_toilets": (N_("I feel safe in the toilets"), "place-toilets"),
    "safe_online": (N_("I feel safe online"), "place-online"),
    "know_a_grown_up": (N_("I know a grown-up I can tell"), "talk-trusted_adult"),
    "grown_ups_listen": (N_("Grown-ups listen to me"), "heard-name"),
    "would_use_the_box": (N_("I would use the worry box"), "start-worry"),
}
ANSWERS = {
    "yes": (N_("Yes"), "feeling-okay"),
    "sometimes": (N_("Sometimes"), "feeling-confused"),
    "no": (N_("No"), "feeling-sad"),
}
MAX_DAYS_OPEN = 31


@dataclass(frozen=True)
class Window:
    id: int
    opens_on: date
    closes_on: date


def open_window(db, opens_on: date, closes_on: date, staff_id: int) -> int:
    """Open the survey for some school days (both ends included); ValueError with a plain message if it makes no sense."""
    if closes_on < opens_on:
        raise ValueError("The last day comes before the first.")
    if (closes_on - opens_on).days >= MAX_DAYS_OPEN:
        raise ValueError("A survey can be open for up to %d days at a time." % MAX_DAYS_OPEN)
    return db.execute("INSERT INTO survey_windows (opens_on, closes_on, created_at, created_by) VALUES (?, ?, ?, ?)",
                      [opens_on.isoformat(), closes_on.isoformat(), utcnow(), staff_id]).lastrowid


def close_window(db, window_id: int) -> bool:
    return bool(db.execute("UPDATE survey_windows SET closed_early_at = ? WHERE id = ? AND closed_early_at IS NULL",
                           [utcnow(), window_id]).rowcount)


def window_open_on(db, day: date) -> Window | None:
    """The survey window open on a school day, if any."""
    row = db.execute("SELECT id, opens_on, closes_on FROM survey_windows WHERE opens_on <= ? AND closes_on >= ? "
                     "AND closed_early_at IS NULL ORDER BY id DESC LIMIT 1", [day.isoformat()] * 2).fetchone()
    return Window(row[0], date.fromisoformat(row[1]), date.fromisoformat(row[2])) if row else None


def windows(db, limit: int = 10) -> list[dict]:
    columns = ("id", "opens_on", "closes_on", "closed_early_at")
    return [dict(zip(columns, row)) for row in db.execute(
        "SELECT id, opens_on, closes_on, closed_early_at FROM survey_windows ORDER BY opens_on DESC, id DESC LIMIT ?",
        [limit])]


def record_response(db, day: date, answers: dict[str, str], class_name: str | None = None,
                    year_group: str | None = None, language: str = "en") -> int | None:
    """Store one child's answers if the survey is open today; None if it is not. Unanswered questions are skipped."""
    chosen = {question: answer for question, answer in answers.items() if answer}
    if any(question not in QUESTIONS or answer not in ANSWERS for question, answer in chosen.items()):
        raise ValueError("unknown question or answer")
    with write_transaction(db):
        window = window_open_on(db, day)
        if window is None:
            return None
        response_id = db.execute(
            "INSERT INTO survey_responses (window_id, answered_on, class_name, year_group, language) "
            "VALUES (?, ?, ?, ?, ?)", [window.id, day.isoformat(), class_name, year_group, language]).lastrowid
        for question, answer in chosen.items():
            db.execute("INSERT INTO survey_answers (response_id, question, answer) VALUES (?, ?, ?)",
                       [response_id, question, answer])
    return response_id


def counts(db, start: date, end: date, class_name: str | None = None) -> dict[str, dict[str, int]]:
    """Answers to each question between two days (both included), for the school or one class: {question: {answer: n}}."""
    sql = ("SELECT a.question, a.answer, count(*) FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id "
           "WHERE r.answered_on >= ? AND r.answered_on <= ?")
    params = [start.isoformat(), end.isoformat()]
    if class_name is not None:
        sql += " AND r.class_name = ?"
        params.append(class_name)
    found = {question: {answer: 0 for answer in ANSWERS} for question in QUESTIONS}
    for question, answer, n in db.execute(sql + " GROUP BY 1, 2", params):
        if question in found and answer in ANSWERS:
            found[question][answer] = n
    return found


def responses(db, start: date, end: date) -> dict[str | None, int]:
    """How many children answered, by class (None: no class chosen), between two days."""
    return {class_name: n for class_name, n in db.execute(
        "SELECT class_name, count(*) FROM survey_responses WHERE answered_on >= ? AND answered_on <= ? GROUP BY 1",
        [start.isoformat(), end.isoformat()])}
