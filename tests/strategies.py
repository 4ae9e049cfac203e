"""Hypothesis strategies for what users can send a Telegram bot: text, commands and button data.

Texts are what Telegram can deliver: any Unicode except lone surrogates (Telegram text is valid
UTF-16), at most 4096 UTF-16 units per message and 1 to 64 UTF-8 bytes per button's data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from hypothesis import strategies as st

T = TypeVar("T")

MAX_MESSAGE_UNITS = 4096
MAX_CALLBACK_DATA_BYTES = 64

TELEGRAM_TEXT = st.characters(exclude_categories=("Cs",))
"""Every character Telegram can carry in a message."""

EMOJI: tuple[str, ...] = ("🦜", "👩‍🔬", "🏳️‍🌈", "🇩🇪", "👍🏽", "▫️")
"""Astral (two UTF-16 units), ZWJ sequences, a flag, a skin tone, a variation selector."""

TRICKY_FRAGMENTS: tuple[str, ...] = (
    *EMOJI,
    # right-to-left text and direction overrides
    "مرحبا",
    "שלום",
    "\u202eevil\u202c",
    "\u200f",
    # zero-width and invisible characters
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u2060",
    "\u00a0",
    "\u3000",
    "\u2028",
    # what HTML parse mode must never see unescaped
    "<b>",
    "</b>",
    "<i>x</i>",
    "</code>",
    "<a href='https://example.org'>x</a>",
    "<tg-spoiler>",
    "&",
    "&amp;",
    "&lt;",
    "&#0;",
    "&#xD800;",
    "&nbsp;",
    "<",
    ">",
    '"',
    "'",
    # TeX, as in arXiv titles
    "$x<y$",
    "\\frac{a}{b}",
    "\\textbf{Bold}",
    "$\\mathcal{O}(n^2)$",
    # what the commands expect, and near misses
    "IR",
    "ir",
    "cs.IR",
    "cs.lg",
    "eess.AS",
    "IRR",
    "cs.",
    "quant-ph",
    "all",
    "ALL",
    "IR,CV",
    ",,",
    "08:30",
    "8.30",
    "20h15",
    "7pm",
    "25:99",
    "now",
    "Europe/Berlin",
    "europe/berlin",
    "America/Argentina/Buenos_Aires",
    "../../etc/passwd",
    "UTC",
    "0",
    "5",
    "51",
    "٥",
    "1e3",
    "-1",
    "99999999999999999999",
)

SEPARATORS: tuple[str, ...] = (" ",) * 6 + ("  ", "\n", "\t", "\u00a0", "\u3000", ",", ".", ":", "<", "")
"""What may follow a command: mostly a space, sometimes other spaces, punctuation or nothing at all."""


def weighted(*choices: tuple[int, st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """`one_of` with weights: each strategy is drawn with probability weight / total weight."""
    return st.sampled_from([strategy for weight, strategy in choices for _ in range(weight)]).flatmap(
        lambda strategy: strategy
    )


def fragments() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(TRICKY_FRAGMENTS),
        st.text(TELEGRAM_TEXT, min_size=1, max_size=24),
    )


def long_texts(min_size: int = 200, max_size: int = 4000) -> st.SearchStrategy[str]:
    """A fragment repeated to a length: long input without a huge hypothesis buffer."""
    return st.builds(
        lambda piece, size: (piece * (size // len(piece) + 1))[:size],
        fragments(),
        st.integers(min_size, max_size),
    )


def arguments() -> st.SearchStrategy[str]:
    """What users type after a command: nothing, a few words, or something very long."""
    words = st.lists(st.tuples(fragments(), st.sampled_from(SEPARATORS)), max_size=8).map(
        lambda pairs: "".join(word + separator for word, separator in pairs)
    )
    return weighted((1, st.just("")), (3, words), (1, long_texts()))


def fit_message(text: str, limit: int = MAX_MESSAGE_UNITS) -> str:
    """Cut to Telegram's message limit in UTF-16 units, never inside a surrogate pair."""
    return text.encode("utf-16-le")[: limit * 2].decode("utf-16-le", errors="ignore")


def random_case(word: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda upper: "".join(c.upper() if up else c.lower() for c, up in zip(word, upper, strict=True))
    )


def command_names(known: Sequence[str]) -> st.SearchStrategy[str]:
    """Mostly known commands, in any letter case; sometimes names the bot has never heard of."""
    return weighted(
        (2, st.sampled_from(known)),
        (1, st.sampled_from(known).flatmap(random_case)),
        (1, st.from_regex(r"[A-Za-z0-9_]{1,32}", fullmatch=True)),
    )


def addressees(bot_username: str) -> st.SearchStrategy[str]:
    """The `@bot` part of `/cmd@bot`: mostly absent, else this bot in any case, or another bot."""
    others = ["some_other_bot", "BotFather", bot_username + "x", bot_username[:-1]]
    return weighted(
        (4, st.just("")),
        (2, random_case(bot_username)),
        (1, st.sampled_from(others)),
        (1, st.from_regex(r"[A-Za-z0-9_]{3,32}", fullmatch=True)),
    )


def command_messages(known: Sequence[str], bot_username: str) -> st.SearchStrategy[str]:
    """`/name[@bot]<separator><arguments>`, within Telegram's message limit."""
    return st.builds(
        lambda name, addressee, separator, argument: fit_message(
            f"/{name}{'@' + addressee if addressee else ''}{separator}{argument}"
        ),
        command_names(known),
        addressees(bot_username),
        st.sampled_from(SEPARATORS),
        arguments(),
    )


def message_texts(known: Sequence[str], bot_username: str) -> st.SearchStrategy[str]:
    """Anything a user can send: commands, plain text, commands hidden after other text."""
    plain = st.builds(fit_message, st.one_of(fragments(), long_texts(), arguments().filter(bool)))
    return st.one_of(
        command_messages(known, bot_username),
        plain,
        st.builds(
            lambda head, tail: fit_message(head + tail), fragments(), command_messages(known, bot_username)
        ),
    )


def fit_callback_data(data: str) -> str:
    return data.encode("utf-8")[:MAX_CALLBACK_DATA_BYTES].decode("utf-8", errors="ignore")


def _segments(offered: Sequence[str]) -> st.SearchStrategy[str]:
    """Pieces of forged `prefix:category:date:page` data, each plausible on its own."""
    return st.one_of(
        st.sampled_from(offered),
        st.sampled_from(offered).flatmap(random_case),
        st.sampled_from(["", "cs.XX", "IR", "cs.IR ", "quant-ph"]),
        st.dates().map(lambda day: day.isoformat()),
        st.sampled_from(["2026-11-24", "20261124", "2026-W48-2", "2026-02-30", "2026-13-01", "0000-00-00"]),
        st.integers(-3, 10_003).map(str),
        st.sampled_from(["1_000", " 1", "+1", "٣", "1.0", "9" * 30, "0x1"]),
        st.text(TELEGRAM_TEXT, max_size=12),
    )


def callback_data(prefixes: Sequence[str], offered: Sequence[str]) -> st.SearchStrategy[str]:
    """Button data a modified client could send: real prefixes with forged segments, or noise."""
    forged = st.builds(
        lambda prefix, parts: prefix + ":".join(parts),
        st.sampled_from(prefixes),
        st.lists(_segments(offered), min_size=0, max_size=5),
    )
    noise = st.text(TELEGRAM_TEXT, min_size=1, max_size=MAX_CALLBACK_DATA_BYTES)
    return st.one_of(forged, noise).map(fit_callback_data).filter(bool)
