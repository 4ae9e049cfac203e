"""What the fake records for tests to read: every API call it answered, and the messages the bot sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ChatType = Literal["private", "group", "supergroup", "channel"]
ChatId = int | str


def _short(value: object, limit: int = 60) -> str:
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class Call:
    """One API request as the fake answered it; recorded once the answer is ready."""

    method: str
    params: dict[str, Any]
    time: float
    """time.monotonic() when the request reached the host."""
    unknown: bool
    """The fake does not model this method and answered `true`."""
    error_code: int | None = None
    description: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None

    @property
    def chat_id(self) -> ChatId | None:
        return self.params.get("chat_id")

    def summary(self) -> str:
        arguments = ", ".join(f"{name}={_short(value)}" for name, value in self.params.items())
        outcome = "ok" if self.ok else f"{self.error_code} {self.description}"
        flag = " [not modelled]" if self.unknown else ""
        return f"{self.method}({arguments}) -> {outcome}{flag}"


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request (sendDocument)."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class SentDocument:
    """A file the bot sent with sendDocument."""

    chat_id: ChatId
    message_id: int
    filename: str
    content: bytes
    caption: str | None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the bot sent, in its latest state (edits replace the record in `message()`)."""

    chat_id: ChatId
    message_id: int
    text: str
    """As the bot sent it: the HTML source when parse_mode is HTML."""
    visible_text: str
    entities: list[dict[str, Any]]
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    link_preview_options: dict[str, Any] | None
    allow_paid_broadcast: bool
    time: float
    message: dict[str, Any]
    """The Message JSON the fake answered with."""
    edit_count: int = 0

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline keyboard buttons, row by row, flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]
