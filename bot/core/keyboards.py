"""Feedback buttons under featured entries: 👍 (more like this), 👎 (less), 🔖 (save), with counts.

Rows are Bot API JSON (dicts), the form the push ledger stores and handlers turn into markup, so
the same keyboard goes out with a push, with /today, and comes back updated after a tap. In a group
the counts are the members' taps; in a private chat a count of 1 shows the reader's own choice.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.callbacks import Feedback, FeedbackAction

Tally = tuple[int, int, int]  # 👍, 👎 and 🔖 of one paper in one chat
NO_TAPS: Tally = (0, 0, 0)
_EMOJI = {FeedbackAction.LIKE: "👍", FeedbackAction.DISLIKE: "👎", FeedbackAction.SAVE: "🔖"}


def feedback_row(number: int, arxiv_id: str, tally: Tally = NO_TAPS) -> list[dict[str, str]]:
    """One featured entry's buttons: "3 · 👍 2", "👎", "🔖 1"."""
    row = []
    for action, count in zip(_EMOJI, tally, strict=True):
        label = _EMOJI[action] + (f" {count}" if count else "")
        if action is FeedbackAction.LIKE:
            label = f"{number} · {label}"
        row.append({"text": label, "callback_data": Feedback(action.value, arxiv_id, number).pack()})
    return row


def feedback_rows(
    featured: Sequence[tuple[int, str]], tallies: Mapping[str, Tally]
) -> list[list[dict[str, str]]]:
    return [feedback_row(number, arxiv_id, tallies.get(arxiv_id, NO_TAPS)) for number, arxiv_id in featured]


def featured_on(rows: Sequence[Sequence[Mapping[str, Any]]]) -> dict[str, int]:
    """The papers a keyboard has feedback buttons for, with their entry numbers."""
    found: dict[str, int] = {}
    for row in rows:
        for button in row:
            data = Feedback.parse(button.get("callback_data"))
            if data is not None:
                found.setdefault(data.arxiv_id, data.number)
    return found


def refreshed(
    rows: Sequence[Sequence[Mapping[str, Any]]], arxiv_id: str, tally: Tally
) -> list[list[dict[str, Any]]]:
    """The keyboard with one paper's buttons showing its new counts; every other button unchanged."""
    updated = []
    for row in rows:
        data = [Feedback.parse(button.get("callback_data")) for button in row]
        paper = next((item for item in data if item is not None), None)
        if paper is not None and paper.arxiv_id == arxiv_id:
            updated.append(feedback_row(paper.number, arxiv_id, tally))
        else:
            updated.append([dict(button) for button in row])
    return updated
