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
from bot.core.digest import Digest, Selection, cut_categories, unshown
from bot.core.i18n import N_
from bot.core.render import ENGLISH_WORDS, DigestWords, tag_label

T = TypeVar("T")
B = TypeVar("B", bound=ButtonData)

JUMP = 5
JUMPS_FROM = 6  # pages from which a category gets first/last and ±5 buttons
PREVIOUS = N_("◀ Previous")
NEXT = N_("Next ▶")


def rows(buttons: Sequence[T], width: int = 2) -> list[list[T]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def more_buttons(
    digest: Digest, selection: Selection, words: DigestWords = ENGLISH_WORDS
) -> list[tuple[str, OpenCategory]]:
    """One button per category the selection cut short: "All IR (41)", opening where it left off."""
    cut = cut_categories(digest, selection)
    rest = unshown(digest, selection, cut)
    return [
        (
            words.all_button.format(label=tag_label(name), count=rest[name].papers),
            OpenCategory(name, digest.announced, rest[name].page),
        )
        for name in cut
    ]


def page_buttons(
    number: int, count: int, at: Callable[[int], B], steps: tuple[str, str] = (PREVIOUS, NEXT)
) -> list[list[tuple[str, B]]]:
    """Previous, "n / count" and next, each button made by `at(page)`; with jumps to the ends and
    by five on long lists. `steps` are the previous and next labels in the chat's language."""
    previous, following = steps
    if count <= 1:
        return []
    moves = []
    if number > 1:
        moves.append((previous, at(number - 1)))
    moves.append((f"{number} / {count}", at(number)))
    if number < count:
        moves.append((following, at(number + 1)))
    if count < JUMPS_FROM:
        return [moves]
    jumps = []
    if number > 1:
        jumps.append(("« 1", at(1)))
    if number - JUMP >= 1:
        jumps.append((f"−{JUMP}", at(number - JUMP)))
    if number + JUMP <= count:
        jumps.append((f"+{JUMP}", at(number + JUMP)))
    if number < count:
        jumps.append((f"{count} »", at(count)))
    return [moves, jumps]
