"""Button data as small typed values: every inline button's `callback_data`, written and read here.

Each kind of button is a frozen dataclass with its own prefix. `pack()` writes it as
`prefix` + fields joined by ":" (a date as YYYY-MM-DD, None as nothing, trailing defaults left
out, which keeps data under Telegram's 64 bytes); `parse()` reads data back,
or gives None for data that is stale, forged or of another kind, so no handler splits strings by
hand. Trailing fields with defaults may be absent, which keeps buttons sent by older versions
readable. Handlers register with `Kind.matches` as the CallbackQueryHandler pattern.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import ClassVar, Self

from telegram.constants import InlineKeyboardButtonLimit

from bot.core.i18n import Language

SEPARATOR = ":"
LANGUAGES = frozenset(Language)
MAX_PAGE = 1_000  # 8,000 papers of one category in one announcement: more than arXiv ever had
ARXIV_ID = re.compile(r"^(?:\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})$")


@dataclass(frozen=True, slots=True)
class ButtonData:
    """Base of every kind of button data; subclasses set `prefix` and declare their fields."""

    prefix: ClassVar[str]

    def pack(self) -> str:
        """The data, without trailing fields that hold their default (they may be absent)."""
        fields = list(dataclasses.fields(self))
        while fields and fields[-1].default is not dataclasses.MISSING:
            if getattr(self, fields[-1].name) != fields[-1].default:
                break
            fields.pop()
        data = self.prefix + SEPARATOR.join(_pack(getattr(self, item.name)) for item in fields)
        if len(data.encode()) > InlineKeyboardButtonLimit.MAX_CALLBACK_DATA:
            raise ValueError(f"callback data over Telegram's 64 bytes: {data!r}")
        return data

    @classmethod
    def matches(cls, data: object) -> bool:
        """For PTB's `CallbackQueryHandler(pattern=...)`: data of this kind, valid or not."""
        return isinstance(data, str) and data.startswith(cls.prefix)

    @classmethod
    def parse(cls, data: object) -> Self | None:
        if not cls.matches(data):
            return None
        parts = typing.cast(str, data)[len(cls.prefix) :].split(SEPARATOR)
        declared = dataclasses.fields(cls)
        required = sum(
            item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING
            for item in declared
        )
        if not required <= len(parts) <= len(declared):
            return None
        hints = typing.get_type_hints(cls)
        try:
            values = {
                item.name: _parse(hints[item.name], raw) for item, raw in zip(declared, parts, strict=False)
            }
            return cls(**values)
        except (ValueError, TypeError, OverflowError):
            return None


def _pack(value: object) -> str:
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, date) else str(value)
    if SEPARATOR in text:
        raise ValueError(f"a button field cannot hold {SEPARATOR!r}: {text!r}")
    return text


def _parse(kind: object, raw: str) -> object:
    optional = typing.get_origin(kind) is not None and type(None) in typing.get_args(kind)
    if optional:
        if raw == "":
            return None
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    if kind is date:
        return date.fromisoformat(raw)
    if kind is int:
        if not raw.isdecimal() or len(raw) > 12:
            raise ValueError(f"not a small whole number: {raw!r}")
        return int(raw)
    if kind is str:
        return raw
    raise TypeError(f"unsupported button field type {kind!r}")


@dataclass(frozen=True, slots=True)
class CategoryPage(ButtonData):
    """A page of one category's papers (`/cat`); no date means the latest announcement."""

    prefix: ClassVar[str] = "cat:"
    category: str
    announced: date | None = None
    page: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.page <= MAX_PAGE:
            raise ValueError(f"page out of range: {self.page}")


@dataclass(frozen=True, slots=True)
class OpenCategory(ButtonData):
    """Opens a category's papers of one announcement in a new message, below a digest, at the
    page of the first paper the digest did not show."""

    prefix: ClassVar[str] = "more:"
    category: str
    announced: date
    page: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.page <= MAX_PAGE:
            raise ValueError(f"page out of range: {self.page}")


@dataclass(frozen=True, slots=True)
class DigestDay(ButtonData):
    """Shows the chat's digest of one stored announcement, as `/today <date>` does."""

    prefix: ClassVar[str] = "day:"
    announced: date


@dataclass(frozen=True, slots=True)
class ToggleSubscription(ButtonData):
    """Follows or unfollows one category from the subscribe keyboard, or from an archive's page of
    `/categories` (then `archive` names it, so the page is shown again)."""

    prefix: ClassVar[str] = "sub:"
    category: str
    archive: str | None = None


@dataclass(frozen=True, slots=True)
class BrowseArchive(ButtonData):
    """`/categories`: one archive's categories, or (no archive) the list of archives."""

    prefix: ClassVar[str] = "arc:"
    archive: str | None = None


@dataclass(frozen=True, slots=True)
class SearchPage(ButtonData):
    """A page of a /search's results; the query is stored under `search` (storage.searches)."""

    prefix: ClassVar[str] = "find:"
    search: int
    page: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.page <= MAX_PAGE:
            raise ValueError(f"page out of range: {self.page}")


@dataclass(frozen=True, slots=True)
class BroadcastChoice(ButtonData):
    """Sends or cancels a previewed operator broadcast."""

    prefix: ClassVar[str] = "bc:"
    action: str  # "send" or "cancel"
    key: str

    def __post_init__(self) -> None:
        if self.action not in ("send", "cancel"):
            raise ValueError(f"unknown broadcast action {self.action!r}")


class FeedbackAction(StrEnum):
    LIKE = "up"
    DISLIKE = "down"
    SAVE = "save"


@dataclass(frozen=True, slots=True)
class Feedback(ButtonData):
    """👍, 👎 or 🔖 on the featured entry `number` of a digest; a second tap undoes it."""

    prefix: ClassVar[str] = "fb:"
    action: str
    arxiv_id: str
    number: int = 1

    def __post_init__(self) -> None:
        FeedbackAction(self.action)
        if not ARXIV_ID.match(self.arxiv_id):
            raise ValueError(f"not an arXiv id: {self.arxiv_id!r}")
        if not 1 <= self.number <= MAX_PAGE:
            raise ValueError(f"entry number out of range: {self.number}")


@dataclass(frozen=True, slots=True)
class RemoveFollow(ButtonData):
    """Removes one of the chat's follows from the /follows list."""

    prefix: ClassVar[str] = "unf:"
    follow_id: int


@dataclass(frozen=True, slots=True)
class SavedPage(ButtonData):
    """A page of /saved, or the BibTeX export of every saved paper (page 0)."""

    prefix: ClassVar[str] = "sv:"
    page: int

    def __post_init__(self) -> None:
        if not 0 <= self.page <= MAX_PAGE:
            raise ValueError(f"page out of range: {self.page}")


@dataclass(frozen=True, slots=True)
class ChooseLanguage(ButtonData):
    """Sets the chat's language from `/lang`: "en" or "zh"."""

    prefix: ClassVar[str] = "lang:"
    language: str

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"unknown language {self.language!r}")


BUTTON_KINDS: tuple[type[ButtonData], ...] = (
    CategoryPage,
    OpenCategory,
    DigestDay,
    ToggleSubscription,
    BrowseArchive,
    SearchPage,
    BroadcastChoice,
    Feedback,
    RemoveFollow,
    SavedPage,
    ChooseLanguage,
)
