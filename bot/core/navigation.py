"""The buttons that move through papers, the same wherever a digest or a page is shown. Pure.

A digest (pushed or `/today`) that leaves papers out carries "All IR (41)" buttons, each opening
its category at the page of the first paper the digest did not show. A `/cat` page carries
previous and next, and on long categories jumps to the first and last page and by five; search
results page the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from bot.core.callbacks import ButtonData, OpenCategory
from bot.core.digest import Digest, Selection, cut_categories, first_unshown_page
from bot.core.render import tag_label

T = TypeVar("T")
B = TypeVar("B", bound=ButtonData)

JUMP = 5
JUMPS_FROM = 6  # pages from which a category gets first/last and ±5 buttons


def rows(buttons: Sequence[T], width: int = 2) -> list[list[T]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def more_buttons(digest: Digest, selection: Selection) -> list[tuple[str, OpenCategory]]:
    """One button per category the selection cut short: "All IR (41)", opening where it left off."""
    return [
        (
            f"All {tag_label(name)} ({digest.entries_in(name)})",
            OpenCategory(name, digest.announced, first_unshown_page(digest, selection, name)),
        )
        for name in cut_categories(digest, selection)
    ]


def page_buttons(number: int, count: int, at: Callable[[int], B]) -> list[list[tuple[str, B]]]:
    """Previous, "n / count" and next, each button made by `at(page)`; with jumps to the ends and
    by five on long lists."""
    if count <= 1:
        return []
    steps = []
    if number > 1:
        steps.append(("◀ Previous", at(number - 1)))
    steps.append((f"{number} / {count}", at(number)))
    if number < count:
        steps.append(("Next ▶", at(number + 1)))
    if count < JUMPS_FROM:
        return [steps]
    jumps = []
    if number > 1:
        jumps.append(("« 1", at(1)))
    if number - JUMP >= 1:
        jumps.append((f"−{JUMP}", at(number - JUMP)))
    if number + JUMP <= count:
        jumps.append((f"+{JUMP}", at(number + JUMP)))
    if number < count:
        jumps.append((f"{count} »", at(count)))
    return [steps, jumps]
