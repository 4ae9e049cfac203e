"""A digest as the messages a chat is sent, the same from the push and from /today: the texts, 👍 👎 🔖
under each featured entry with the chat's counts, and under the last message the "All IR (41)"
buttons into the categories it cut short.

Everything but the counts depends only on the digest, the chat's size and its language, so chats
that share a ranking share one `DigestReply` (`bot.reading.SharedReplies` keeps it for /today).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.digest import Digest, select_for_push
from bot.core.keyboards import Tally, feedback_rows
from bot.core.navigation import more_buttons, rows
from bot.core.render import DigestWords, RenderedMessage, digest_messages

Keyboard = list[list[dict[str, str]]]  # inline keyboard rows, Bot API JSON


@dataclass(frozen=True, slots=True)
class DigestReply:
    messages: tuple[RenderedMessage, ...]
    more: tuple[tuple[dict[str, str], ...], ...]  # rows of "All IR (41)" buttons, Bot API JSON

    def keyboards(self, tallies: Mapping[str, Tally]) -> list[Keyboard]:
        """Each message's keyboard (empty: none) with the chat's counts of taps (`tallies`)."""
        last = len(self.messages) - 1
        more = [list(row) for row in self.more]
        return [
            feedback_rows(message.featured, tallies) + (more if index == last else [])
            for index, message in enumerate(self.messages)
        ]


def digest_reply(
    digest: Digest, limit: int | None, words: DigestWords, messages: Sequence[RenderedMessage] | None = None
) -> DigestReply:
    """The digest's messages showing `limit` entries (None: all) in the language of `words`.

    `messages`: those messages rendered already (a push renders them a block at a time).
    """
    more = [
        {"text": text, "callback_data": button.pack()}
        for text, button in more_buttons(digest, select_for_push(digest, limit), words)
    ]
    if messages is None:
        messages = digest_messages(digest, limit=limit, words=words)
    return DigestReply(tuple(messages), tuple(tuple(row) for row in rows(more)))
