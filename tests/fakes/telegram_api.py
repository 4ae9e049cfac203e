"""A loopback fake of the Telegram Bot API: a real HTTP server that PTB, or a bot process, talks to.

Tests point the bot at `FakeTelegram.base_url` (the TELEGRAM_API_BASE_URL setting), inject updates,
inspect what the bot sent and inject faults. Validation follows Telegram where bots commonly trip
(HTML entities, message length, button data, command names, stale callback queries, unmodified
edits), so such a bug fails a test instead of a production push.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import socketserver
import sys
import threading
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count, islice
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:TEST-token-abcdefghijklmnopqrstuv"
DEFAULT_BOT_USERNAME = "paper_digest_test_bot"
DEFAULT_USER_ID = 4242
"""Sender of group, supergroup and callback updates when a test names no user."""
MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64

ChatType = Literal["private", "group", "supergroup", "channel"]
ChatId = int | str

# ---------------------------------------------------------------------------------------------
# HTML entity parsing, the way Telegram reads parse_mode=HTML
# ---------------------------------------------------------------------------------------------


class EntityParseError(ValueError):
    """Why Telegram would refuse a message's HTML, worded like Telegram's own error."""


class FormattedText(NamedTuple):
    text: str
    """The visible text, with surrounding whitespace stripped as Telegram strips it."""
    entities: list[dict[str, Any]]
    """MessageEntity JSON objects; offsets and lengths in UTF-16 code units."""


_TAG_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_MARKUP_CHARACTER = re.compile(r"[<>&]")
_CHARACTER_REFERENCE = re.compile(r"&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,8})|([a-zA-Z]{1,8}));")
_TAG_NAME = re.compile(r"[^\s>]*")
_START_TAG = re.compile(r"""<[^\s>]+((?:\s+[^\s=>]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*>""")
_ATTRIBUTE = re.compile(r"""([^\s=>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_END_TAG = re.compile(r"</([^\s>]*)\s*>")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_STRIPPED = " \t\r\n"


def utf16_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units, so an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_reference(match: re.Match[str]) -> str | None:
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return _NAMED_REFERENCES.get(name)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
        return chr(code)
    return None


def _decode_attribute(value: str) -> str:
    return _CHARACTER_REFERENCE.sub(lambda match: _decode_reference(match) or match.group(), value)


@dataclass(slots=True)
class _OpenTag:
    name: str
    start: int
    entity: dict[str, Any] | None


class _HtmlParser:
    """One pass over the source: visible text in chunks, entities with code-point offsets."""

    def __init__(self, source: str, strict: bool) -> None:
        self.source = source
        self.strict = strict
        self.chunks: list[str] = []
        self.length = 0
        self.open_tags: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def parse(self) -> FormattedText:
        source = self.source
        position = 0
        while (found := _MARKUP_CHARACTER.search(source, position)) is not None:
            start = found.start()
            self._append(source[position:start])
            character = source[start]
            if character == "<":
                position = self._end_tag(start) if source.startswith("</", start) else self._start_tag(start)
            elif character == "&":
                position = self._character_reference(start)
            else:
                self._reject_bare(">", start)
                self._append(">")
                position = start + 1
        self._append(source[position:])
        if self.open_tags:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.open_tags[-1].name}"'
            )
        return _strip_and_measure("".join(self.chunks), self.entities)

    def _append(self, piece: str) -> None:
        if piece:
            self.chunks.append(piece)
            self.length += len(piece)

    def _reject_bare(self, character: str, start: int) -> None:
        if self.strict:
            raise EntityParseError(
                f'Unescaped "{character}" at byte offset {_byte_offset(self.source, start)} '
                "(Telegram tolerates it, but the text was not HTML-escaped)"
            )

    def _character_reference(self, start: int) -> int:
        match = _CHARACTER_REFERENCE.match(self.source, start)
        decoded = _decode_reference(match) if match else None
        if match is None or decoded is None:
            self._reject_bare("&", start)
            self._append("&")
            return start + 1
        self._append(decoded)
        return match.end()

    def _start_tag(self, start: int) -> int:
        name_match = _TAG_NAME.match(self.source, start + 1)
        name = name_match.group().lower() if name_match else ""
        offset = _byte_offset(self.source, start)
        if name not in _TAG_ENTITY_TYPES:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        tag = _START_TAG.match(self.source, start)
        if tag is None:
            if ">" not in self.source[start:]:
                raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
            raise EntityParseError(f'Can\'t parse attributes of the tag "{name}" at byte offset {offset}')
        attributes = {
            match.group(1).lower(): _decode_attribute(
                match.group(2) or match.group(3) or match.group(4) or ""
            )
            for match in _ATTRIBUTE.finditer(tag.group(1))
        }
        self.open_tags.append(_OpenTag(name, self.length, self._entity_for(name, attributes)))
        return tag.end()

    def _entity_for(self, name: str, attributes: dict[str, str]) -> dict[str, Any] | None:
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError('Tag "span" must have class "tg-spoiler"')
        if name == "a":
            href = attributes.get("href")
            return {"type": "text_link", "url": href} if href else None
        if name == "tg-emoji":
            emoji_id = attributes.get("emoji-id")
            if not emoji_id:
                raise EntityParseError('Tag "tg-emoji" must have attribute "emoji-id"')
            return {"type": "custom_emoji", "custom_emoji_id": emoji_id}
        if name == "blockquote" and "expandable" in attributes:
            return {"type": "expandable_blockquote"}
        if name == "code" and self.open_tags and self.open_tags[-1].name == "pre":
            pre = self.open_tags[-1].entity
            language = attributes.get("class", "")
            if pre is not None and language.startswith("language-"):
                pre["language"] = language.removeprefix("language-")
            return None
        return {"type": _TAG_ENTITY_TYPES[name]}

    def _end_tag(self, start: int) -> int:
        offset = _byte_offset(self.source, start)
        tag = _END_TAG.match(self.source, start)
        if tag is None:
            raise EntityParseError(f"Unclosed end tag at byte offset {offset}")
        name = tag.group(1).lower()
        if not self.open_tags:
            raise EntityParseError(f"Unexpected end tag at byte offset {offset}")
        opened = self.open_tags.pop()
        if name != opened.name:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {offset}, expected "</{opened.name}>", found "</{name}>"'
            )
        if opened.entity is not None and self.length > opened.start:
            opened.entity["offset"] = opened.start
            opened.entity["length"] = self.length - opened.start
            self.entities.append(opened.entity)
        return tag.end()


def _strip_and_measure(text: str, entities: list[dict[str, Any]]) -> FormattedText:
    """Strip surrounding whitespace like Telegram, then move entity offsets to UTF-16 units."""
    stripped = text.strip(_STRIPPED)
    lead = len(text) - len(text.lstrip(_STRIPPED))
    astral = _ASTRAL.search(stripped) is not None
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, len(stripped))
        if end <= start:
            continue
        if astral:
            entity["offset"], entity["length"] = (
                utf16_length(stripped[:start]),
                utf16_length(stripped[start:end]),
            )
        else:
            entity["offset"], entity["length"] = start, end - start
        kept.append(entity)
    kept.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return FormattedText(stripped, kept)


def parse_html(source: str, *, strict: bool = True) -> FormattedText:
    """Parse Bot API HTML into visible text and entities, raising EntityParseError where Telegram would.

    With strict=True a bare "&" or ">" is refused too: Telegram shows it literally, but it means the
    bot forgot to escape text, which breaks as soon as that text contains "<".
    """
    return _HtmlParser(source, strict).parse()


# ---------------------------------------------------------------------------------------------
# Records the tests read
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UploadedFile:
    filename: str
    content_type: str
    content: bytes


def _short(value: object, limit: int = 60) -> str:
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class Call:
    """One API request as the fake answered it; recorded once the answer is ready."""

    method: str
    params: dict[str, Any]
    time: float
    """time.monotonic() when the request arrived."""
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
    disable_web_page_preview: bool | None
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


@dataclass(frozen=True, slots=True)
class SentDocument:
    """A file the bot sent with sendDocument."""

    chat_id: ChatId
    message_id: int
    filename: str
    content: bytes
    caption: str | None


# ---------------------------------------------------------------------------------------------
# Errors and request decoding
# ---------------------------------------------------------------------------------------------


class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(problem: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {problem}")


_CHAT_NOT_FOUND = "chat not found"
_MIGRATED_DESCRIPTION = "Bad Request: group chat was upgraded to a supergroup chat"
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_BLOCKED_DESCRIPTIONS = {
    "private": "Forbidden: bot was blocked by the user",
    "group": "Forbidden: bot was kicked from the group chat",
    "supergroup": "Forbidden: bot was kicked from the supergroup chat",
    "channel": "Forbidden: bot is not a member of the channel chat",
}

_TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "title",
        "description",
        "short_description",
        "name",
        "query",
        "username",
        "custom_title",
        "emoji",
        "action",
        "language_code",
    }
)
"""Parameters Telegram reads as strings; every other form value is JSON (numbers, booleans, objects)."""

_API_PATH = re.compile(r"/bot([^/]+)/([^/]+)")
_WELL_FORMED_TOKEN = re.compile(r"\d+:[\w-]{20,}")
_MULTIPART_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_PART_NAME = re.compile(r'\bname="([^"]*)"', re.IGNORECASE)
_PART_FILENAME = re.compile(r'\bfilename="([^"]*)"', re.IGNORECASE)
_PART_CONTENT_TYPE = re.compile(r"^content-type:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


def _decode_value(name: str, raw: str) -> Any:
    if name in _TEXT_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    boundary = _MULTIPART_BOUNDARY.search(content_type)
    if boundary is None:
        raise ValueError("multipart body without a boundary")
    params: dict[str, Any] = {}
    for part in body.split(b"--" + boundary.group(1).encode("ascii"))[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.partition(b"\r\n\r\n")
        headers = head.decode("utf-8", "replace")
        name = _PART_NAME.search(headers)
        if name is None:
            continue
        content = content.removesuffix(b"\r\n")
        filename = _PART_FILENAME.search(headers)
        if filename is None:
            params[name.group(1)] = _decode_value(name.group(1), content.decode("utf-8", "replace"))
        else:
            part_type = _PART_CONTENT_TYPE.search(headers)
            params[name.group(1)] = UploadedFile(
                filename.group(1), part_type.group(1) if part_type else "application/octet-stream", content
            )
    return params


def _decode_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Query string plus body, which Telegram accepts form-encoded, multipart or as JSON."""
    params = {name: _decode_value(name, value) for name, value in parse_qsl(query, keep_blank_values=True)}
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == "application/json" and body:
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("JSON body is not an object")
        params.update(decoded)
    elif media_type == "multipart/form-data":
        params.update(_parse_multipart(body, content_type))
    elif body:
        form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        params.update((name, _decode_value(name, value)) for name, value in form)
    return params


# ---------------------------------------------------------------------------------------------
# Chats, members, markup
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Chat:
    chat_id: ChatId
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None

    def json(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.chat_id, "type": self.type}
        if self.type == "private":
            chat["first_name"] = self.first_name or f"User{self.chat_id}"
        else:
            chat["title"] = self.title or f"Test {self.type} {self.chat_id}"
        if self.username:
            chat["username"] = self.username
        return chat


def _infer_chat_type(chat_id: ChatId) -> str:
    """What Telegram's id ranges imply; an @username can only be addressed when it is a channel."""
    if isinstance(chat_id, str):
        return "channel"
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= -1_000_000_000_000 else "group"


_ADMINISTRATOR_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
}
MEMBER_STATUSES = ("creator", "administrator", "member", "left", "kicked")


def _member_json(user: dict[str, Any], status: str) -> dict[str, Any]:
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "administrator":
        return {"status": "administrator", "user": user, **_ADMINISTRATOR_RIGHTS}
    if status == "kicked":
        return {"status": "kicked", "user": user, "until_date": 0}
    if status in ("member", "left"):
        return {"status": status, "user": user}
    raise ValueError(f"unsupported member status {status!r}; use one of {MEMBER_STATUSES}")


_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


def _checked_markup(markup: Any) -> dict[str, Any] | None:
    """Refuse inline keyboards Telegram refuses; other keyboards are accepted as they are."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
            raise _bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
        if len(_BUTTON_ACTIONS & button.keys()) != 1:
            raise _bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
            )
        data = button.get("callback_data")
        if "callback_data" in button and not (
            isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
        ):
            raise _bad_request("BUTTON_DATA_INVALID")
        url = button.get("url")
        if "url" in button and not (
            isinstance(url, str) and url.startswith(("http://", "https://", "tg://"))
        ):
            raise _bad_request("BUTTON_URL_INVALID")
    return markup


def _inline_keyboard(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The markup Telegram stores on a message: inline keyboards only."""
    return markup if markup is not None and "inline_keyboard" in markup else None


_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_BOT_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w@/])")
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
"""Update types Telegram only delivers when allowed_updates names them."""
_CHAT_RULE_EXEMPT = frozenset({"getChat", "getChatMember", "getChatAdministrators", "getChatMemberCount"})
_POLL_INTERVAL = 0.005


def _attach_text(message: dict[str, Any], text: str, text_key: str, entities_key: str) -> None:
    """Set a user's text or caption with the bot_command entities Telegram marks in it."""
    message[text_key] = text
    entities = [
        {
            "type": "bot_command",
            "offset": utf16_length(text[: match.start()]),
            "length": utf16_length(match.group()),
        }
        for match in _BOT_COMMAND.finditer(text)
    ]
    if entities:
        message[entities_key] = entities


def _update_type(update: dict[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


@dataclass(slots=True)
class _Fault:
    error: _ApiError
    chat_id: ChatId | None
    remaining: int | None


class _CallMatcher:
    """Scans recorded calls incrementally, so waiting costs nothing per call already seen."""

    def __init__(
        self,
        fake: FakeTelegram,
        method: str | None,
        chat_id: ChatId | None,
        predicate: Callable[[Call], bool] | None,
        after: int,
    ) -> None:
        self.fake = fake
        self.method = method
        self.chat_id = chat_id
        self.predicate = predicate
        self.position = after
        self.matches: list[Call] = []

    def advance(self) -> None:
        new = self.fake._calls_from(self.position)
        self.position += len(new)
        self.matches.extend(call for call in new if self._matches(call))

    def _matches(self, call: Call) -> bool:
        return (
            (self.method is None or call.method == self.method)
            and (self.chat_id is None or call.params.get("chat_id") == self.chat_id)
            and (self.predicate is None or self.predicate(call))
        )

    def describe(self) -> str:
        parts = [f"method={self.method!r}"] if self.method else []
        if self.chat_id is not None:
            parts.append(f"chat_id={self.chat_id!r}")
        if self.predicate is not None:
            parts.append(f"predicate={getattr(self.predicate, '__name__', self.predicate)}")
        return ", ".join(parts) or "anything"


# ---------------------------------------------------------------------------------------------
# The fake
# ---------------------------------------------------------------------------------------------


class FakeTelegram:
    """Bot API server on 127.0.0.1 (random port) with a test-facing API for updates, faults and records.

    Thread-safe: requests are served on their own threads, and the test API may be used from any
    thread or event loop. With record_calls=False only counters and send timestamps are kept, for
    benchmarks: `calls` and `sent_messages()` stay empty, and edits skip the "not modified" check.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_first_name: str = "Paper Digest Test",
        record_calls: bool = True,
        strict_html: bool = True,
        strict_chats: bool = False,
    ) -> None:
        """strict_chats=True answers "chat not found" for chats no builder or add_chat() introduced;
        otherwise an unknown numeric id is a private chat (positive), group or supergroup (-100...)."""
        self.token = token
        self.bot_id = int(token.partition(":")[0])
        self.bot_username = bot_username
        self.record_calls = record_calls
        self.strict_html = strict_html
        self.strict_chats = strict_chats
        self._bot_sender = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self._bot_user = {
            **self._bot_sender,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._lock = threading.Lock()
        self._calls_changed = threading.Condition(self._lock)
        self._updates_changed = threading.Condition(self._lock)
        self._polling_changed = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._counts: Counter[str] = Counter()
        self._sent: list[SentMessage] = []
        self._sent_by_chat: dict[ChatId, list[SentMessage]] = {}
        self._bot_messages: dict[tuple[ChatId, int], SentMessage] = {}
        self._send_times: list[float] = []
        self._send_times_by_chat: dict[ChatId, list[float]] = {}
        self._last_message_id: dict[ChatId, int] = {}
        self._chats: dict[ChatId, _Chat] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._members: dict[ChatId, dict[int, str]] = {}
        self._blocked: dict[ChatId, str] = {}
        self._migrated: dict[ChatId, int] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._open_callback_queries: set[str] = set()
        self._documents: list[SentDocument] = []
        self._callback_ids = count(7_000_000_000_000_001)
        self._file_ids = count(1)
        self._updates: deque[dict[str, Any]] = deque()
        self._last_update_id = 700_000_000
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._waiting_polls = 0
        self._stopping = False
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": lambda params: self._bot_user,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "sendDocument": self._send_document,
            "answerCallbackQuery": self._answer_callback_query,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "sendChatAction": self._send_chat_action,
            "close": lambda params: True,
            "logOut": lambda params: True,
        }
        self._canonical_names = {name.lower(): name for name in self._methods}

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeTelegram:
        if self._server is not None:
            raise RuntimeError("FakeTelegram is already running")
        self._stopping = False
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="fake-telegram",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Answer waiting long polls, close every connection and the listening socket."""
        if self._server is None or self._thread is None:
            return
        with self._lock:
            self._stopping = True
            self._updates_changed.notify_all()
            connections = list(self._connections)
        self._server.shutdown()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The value for TELEGRAM_API_BASE_URL / ApplicationBuilder().base_url(): ends in /bot."""
        if self._server is None:
            raise RuntimeError("start FakeTelegram before asking for its URL")
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    # -- configuring chats, members and faults --------------------------------------------------

    def add_chat(
        self,
        chat_id: ChatId,
        chat_type: ChatType,
        *,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
    ) -> dict[str, Any]:
        """Introduce (or redefine) a chat; returns its Chat JSON."""
        chat = _Chat(chat_id, chat_type, title, username, first_name)
        with self._lock:
            self._chats[chat_id] = chat
        return chat.json()

    def set_admins(self, chat_id: ChatId, admin_ids: Iterable[int], *, creator_id: int | None = None) -> None:
        """Who getChatMember/getChatAdministrators report as administrators (and creator) of a chat."""
        with self._lock:
            members = self._members.setdefault(chat_id, {})
            for user_id, status in list(members.items()):
                if status in ("creator", "administrator"):
                    members[user_id] = "member"
            members.update(dict.fromkeys(admin_ids, "administrator"))
            if creator_id is not None:
                members[creator_id] = "creator"

    def set_member_status(self, chat_id: ChatId, user_id: int, status: str) -> None:
        """One user's status in a chat; unnamed users are members. The bot's own id works too."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unsupported member status {status!r}; use one of {MEMBER_STATUSES}")
        with self._lock:
            self._members.setdefault(chat_id, {})[user_id] = status

    def block_chat(self, chat_id: ChatId, description: str | None = None) -> None:
        """Every request about this chat answers 403 (blocked by the user, kicked from the group...)."""
        chat_type = self._chat_type(chat_id)
        with self._lock:
            self._blocked[chat_id] = description or _BLOCKED_DESCRIPTIONS[chat_type]

    def unblock_chat(self, chat_id: ChatId) -> None:
        with self._lock:
            self._blocked.pop(chat_id, None)

    def migrate_chat(self, chat_id: ChatId, new_chat_id: int) -> None:
        """The group became a supergroup: requests about it answer 400 with migrate_to_chat_id."""
        with self._lock:
            old = self._chats.get(chat_id)
            self._migrated[chat_id] = new_chat_id
            self._chats[new_chat_id] = _Chat(new_chat_id, "supergroup", old.title if old else None)

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int | None = 1,
        chat_id: ChatId | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` (about `chat_id`, if given) with this error.

        times=None keeps failing until clear_faults(). The description defaults to Telegram's usual
        wording for the code; retry_after and migrate_to_chat_id go into `parameters` as Telegram does.
        """
        parameters: dict[str, Any] = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
            description = description or _MIGRATED_DESCRIPTION
        if description is None:
            description = _DEFAULT_DESCRIPTIONS.get(error_code) or HTTPStatus(error_code).phrase
        fault = _Fault(_ApiError(error_code, description, parameters or None), chat_id, times)
        with self._lock:
            self._faults.setdefault(self._canonical_names.get(method.lower(), method), []).append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def set_delay(self, method: str, seconds: float) -> None:
        """Hold every answer to `method` for `seconds` (0 removes the delay)."""
        name = self._canonical_names.get(method.lower(), method)
        with self._lock:
            if seconds > 0:
                self._delays[name] = seconds
            else:
                self._delays.pop(name, None)

    # -- updates ----------------------------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; an update_id is assigned unless the update has one."""
        with self._lock:
            if "update_id" in update:
                self._last_update_id = max(self._last_update_id, update["update_id"])
            else:
                self._last_update_id += 1
                update = {"update_id": self._last_update_id, **update}
            self._updates.append(update)
            self._updates_changed.notify_all()
        return update

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return list(self._updates)

    def message_update(
        self,
        chat_id: ChatId,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: ChatType | None = None,
        username: str | None = None,
        first_name: str | None = None,
        title: str | None = None,
    ) -> dict[str, Any]:
        """A user's text message (a channel post for channels), with bot_command entities for /commands."""
        message = self._incoming_message(chat_id, chat_type, user_id, username, first_name, title)
        _attach_text(message, text, "text", "entities")
        return {"channel_post" if message["chat"]["type"] == "channel" else "message": message}

    def channel_post_update(
        self, chat_id: ChatId, text: str, *, title: str | None = None, username: str | None = None
    ) -> dict[str, Any]:
        with self._lock:
            self._chats[chat_id] = _Chat(chat_id, "channel", title, username)
        return self.message_update(chat_id, text)

    def edited_message_update(
        self,
        chat_id: ChatId,
        message_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: ChatType | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """The user edited an earlier message of theirs."""
        message = self._incoming_message(
            chat_id, chat_type, user_id, username, None, None, message_id=message_id
        )
        message["date"] -= 60
        message["edit_date"] = int(time.time())
        _attach_text(message, text, "text", "entities")
        return {"edited_channel_post" if message["chat"]["type"] == "channel" else "edited_message": message}

    def photo_message_update(
        self,
        chat_id: ChatId,
        *,
        caption: str | None = None,
        user_id: int | None = None,
        chat_type: ChatType | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        message = self._incoming_message(chat_id, chat_type, user_id, username, None, None)
        file_number = next(self._file_ids)
        message["photo"] = [
            {
                "file_id": f"AgACAgIAAxkBAAI{file_number}s",
                "file_unique_id": f"AQAD{file_number}s",
                "width": 90,
                "height": 67,
                "file_size": 1_204,
            },
            {
                "file_id": f"AgACAgIAAxkBAAI{file_number}m",
                "file_unique_id": f"AQAD{file_number}m",
                "width": 800,
                "height": 600,
                "file_size": 61_337,
            },
        ]
        if caption is not None:
            _attach_text(message, caption, "caption", "caption_entities")
        return {"message": message}

    def sticker_message_update(
        self,
        chat_id: ChatId,
        *,
        emoji: str = "👍",
        user_id: int | None = None,
        chat_type: ChatType | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        message = self._incoming_message(chat_id, chat_type, user_id, username, None, None)
        file_number = next(self._file_ids)
        message["sticker"] = {
            "file_id": f"CAACAgIAAxkBAAI{file_number}",
            "file_unique_id": f"AgAD{file_number}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "PaperDigestTestStickers",
        }
        return {"message": message}

    def callback_update(
        self,
        chat_id: ChatId,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        username: str | None = None,
        chat_type: ChatType | None = None,
    ) -> dict[str, Any]:
        """A button press on message `message_id`; carries the bot's message as it currently is."""
        sender, chat = self._sender(self._chat_for_update(chat_id, chat_type, None), user_id, username, None)
        query_id = str(next(self._callback_ids))
        with self._lock:
            stored = self._bot_messages.get((chat_id, message_id))
            self._open_callback_queries.add(query_id)
        message = stored.message if stored else {"chat": chat.json(), "message_id": message_id, "date": 0}
        return {
            "callback_query": {
                "id": query_id,
                "from": sender,
                "message": message,
                "chat_instance": str(-(10**18) - zlib.crc32(str(chat_id).encode("utf-8"))),
                "data": data,
            }
        }

    def my_chat_member_update(
        self,
        chat_id: ChatId,
        old_status: str,
        new_status: str,
        *,
        user_id: int | None = None,
        chat_type: ChatType | None = None,
        title: str | None = None,
    ) -> dict[str, Any]:
        """The bot's own membership changed (added to a group, blocked, kicked...).

        Only builds the update: a test that blocks the bot also calls block_chat() so sends fail.
        """
        sender, chat = self._sender(self._chat_for_update(chat_id, chat_type, title), user_id, None, None)
        return {
            "my_chat_member": {
                "chat": chat.json(),
                "from": sender,
                "date": int(time.time()),
                "old_chat_member": _member_json(self._bot_sender, old_status),
                "new_chat_member": _member_json(self._bot_sender, new_status),
            }
        }

    # -- what the bot did -------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def unknown_calls(self) -> list[Call]:
        """Calls of methods the fake does not model (answered `true`): usually a sign of a gap."""
        return [call for call in self.calls if call.unknown]

    def mark(self) -> int:
        """The number of calls recorded so far; pass it as wait_for(after=...) to ignore older ones."""
        with self._lock:
            return len(self._calls)

    def count(self, method: str) -> int:
        """Requests of `method` answered so far (also with record_calls=False)."""
        with self._lock:
            return self._counts[self._canonical_names.get(method.lower(), method)]

    def sent_messages(self, chat_id: ChatId | None = None) -> list[SentMessage]:
        """Messages sendMessage delivered, in order, as they were sent (edits not applied)."""
        with self._lock:
            return list(self._sent if chat_id is None else self._sent_by_chat.get(chat_id, ()))

    def message(self, chat_id: ChatId, message_id: int) -> SentMessage | None:
        """A message the bot sent, with its edits applied."""
        with self._lock:
            return self._bot_messages.get((chat_id, message_id))

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, str]]:
        with self._lock:
            return list(self._commands.get(_commands_key(scope, language_code), ()))

    def send_times(self, chat_id: ChatId | None = None) -> list[float]:
        """time.monotonic() of every sendMessage request received (failed ones too), in order."""
        with self._lock:
            return list(self._send_times if chat_id is None else self._send_times_by_chat.get(chat_id, ()))

    def peak_sends(self, window: float = 1.0, chat_id: ChatId | None = None) -> int:
        """The most sendMessage requests received within any `window` seconds (half-open interval)."""
        times = self.send_times(chat_id)
        best = 0
        first = 0
        for last, moment in enumerate(times):
            while moment - times[first] >= window:
                first += 1
            best = max(best, last - first + 1)
        return best

    # -- waiting ----------------------------------------------------------------------------------

    async def wait_for(
        self,
        method: str | None = None,
        *,
        chat_id: ChatId | None = None,
        predicate: Callable[[Call], bool] | None = None,
        count: int = 1,
        after: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline is part of the assertion, as in wait_for_sync
    ) -> list[Call]:
        """Wait, without blocking the event loop, until `count` recorded calls match; return all matches.

        Raises AssertionError listing the recorded calls when the deadline passes first.
        """
        matcher = self._matcher(method, chat_id, predicate, after)
        deadline = time.monotonic() + timeout
        while True:
            matcher.advance()
            if len(matcher.matches) >= count:
                return matcher.matches
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_report(matcher, count, timeout))
            await asyncio.sleep(_POLL_INTERVAL)

    def wait_for_sync(
        self,
        method: str | None = None,
        *,
        chat_id: ChatId | None = None,
        predicate: Callable[[Call], bool] | None = None,
        count: int = 1,
        after: int = 0,
        timeout: float = 5.0,
    ) -> list[Call]:
        """wait_for for synchronous tests: blocks the calling thread."""
        matcher = self._matcher(method, chat_id, predicate, after)
        deadline = time.monotonic() + timeout
        while True:
            matcher.advance()
            if len(matcher.matches) >= count:
                return matcher.matches
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(self._timeout_report(matcher, count, timeout))
            with self._calls_changed:
                if len(self._calls) == matcher.position:
                    self._calls_changed.wait(remaining)

    async def wait_until_polling(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - as in wait_for
        """Wait until a getUpdates long poll is blocked inside the fake, i.e. the bot is listening."""
        deadline = time.monotonic() + timeout
        while not self._waiting_polls:
            if time.monotonic() >= deadline:
                raise AssertionError(f"no getUpdates long poll arrived within {timeout}s")
            await asyncio.sleep(_POLL_INTERVAL)

    def wait_until_polling_sync(self, timeout: float = 5.0) -> None:
        with self._polling_changed:
            if not self._polling_changed.wait_for(lambda: self._waiting_polls > 0, timeout):
                raise AssertionError(f"no getUpdates long poll arrived within {timeout}s")

    def _matcher(
        self,
        method: str | None,
        chat_id: ChatId | None,
        predicate: Callable[[Call], bool] | None,
        after: int,
    ) -> _CallMatcher:
        if not self.record_calls:
            raise RuntimeError("waiting for calls needs FakeTelegram(record_calls=True)")
        name = self._canonical_names.get(method.lower(), method) if method else None
        return _CallMatcher(self, name, chat_id, predicate, after)

    def _calls_from(self, position: int) -> list[Call]:
        with self._lock:
            return self._calls[position:]

    def _timeout_report(self, matcher: _CallMatcher, wanted: int, timeout: float) -> str:
        with self._lock:
            total = len(self._calls)
            recent = self._calls[-20:]
        listing = "\n".join(f"  {call.summary()}" for call in recent) or "  (none)"
        return (
            f"waited {timeout}s for {wanted} call(s) matching {matcher.describe()}, "
            f"got {len(matcher.matches)}; {total} call(s) recorded, the last {len(recent)}:\n{listing}"
        )

    # -- serving a request ------------------------------------------------------------------------

    def _answer(
        self, token: str, method: str, params: dict[str, Any], client_gone: Callable[[], bool]
    ) -> tuple[int, dict[str, Any]] | None:
        """Answer one API request and record it; runs on the server's request thread.

        None drops a long poll whose client hung up while it waited, unrecorded, as Telegram drops it:
        PTB hangs up on its poll at every shutdown, and a 409 nobody saw would only mislead tests.
        """
        if token != self.token:
            rejection = (
                _ApiError(401, "Unauthorized")
                if _WELL_FORMED_TOKEN.fullmatch(token)
                else _ApiError(404, "Not Found")
            )
            return rejection.code, rejection.payload()
        received = time.monotonic()
        name = self._canonical_names.get(method.lower(), method)
        handler = self._methods.get(name)
        chat_id = params.get("chat_id")
        if name == "sendMessage":
            self._note_send(chat_id)
        delay = self._delays.get(name)
        if delay:
            time.sleep(delay)
        error: _ApiError | None = None
        try:
            self._raise_injected_fault(name, chat_id)
            if chat_id is not None and name not in _CHAT_RULE_EXEMPT:
                self._raise_chat_rule(chat_id)
            if handler is None:
                logger.warning("fake Telegram: %s is not modelled; answered true", name)
                result = True
            else:
                result = handler(params)
        except _ApiError as refused:
            error = refused
        except Exception as crash:
            logger.exception("fake Telegram failed answering %s", name)
            error = _ApiError(500, f"Internal Server Error: the fake failed: {crash!r}")
        if name == "getUpdates" and client_gone():
            return None
        self._record(
            Call(
                name,
                params,
                received,
                handler is None,
                error.code if error else None,
                error.description if error else None,
            )
        )
        if error:
            return error.code, error.payload()
        return 200, {"ok": True, "result": result}

    def _record(self, call: Call) -> None:
        with self._lock:
            self._counts[call.method] += 1
            if self.record_calls:
                self._calls.append(call)
                self._calls_changed.notify_all()

    def _note_send(self, chat_id: ChatId | None) -> None:
        with self._lock:
            moment = time.monotonic()
            self._send_times.append(moment)
            if chat_id is not None:
                self._send_times_by_chat.setdefault(chat_id, []).append(moment)

    def _raise_injected_fault(self, method: str, chat_id: ChatId | None) -> None:
        with self._lock:
            faults = self._faults.get(method)
            if not faults:
                return
            fault = next((f for f in faults if f.chat_id is None or f.chat_id == chat_id), None)
            if fault is None:
                return
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    faults.remove(fault)
        raise fault.error

    def _raise_chat_rule(self, chat_id: ChatId) -> None:
        with self._lock:
            blocked = self._blocked.get(chat_id)
            migrated_to = self._migrated.get(chat_id)
        if blocked is not None:
            raise _ApiError(403, blocked)
        if migrated_to is not None:
            raise _ApiError(400, _MIGRATED_DESCRIPTION, {"migrate_to_chat_id": migrated_to})

    def _connection_opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _connection_closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    # -- chats and users --------------------------------------------------------------------------

    def _chat_type(self, chat_id: ChatId) -> str:
        with self._lock:
            known = self._chats.get(chat_id)
        return known.type if known is not None else _infer_chat_type(chat_id)

    def _chat_of(self, params: dict[str, Any]) -> _Chat:
        """The chat a request names, as Telegram resolves it (numeric id or @username)."""
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        with self._lock:
            known = self._chats.get(chat_id)
            if known is None and isinstance(chat_id, str):
                username = chat_id.removeprefix("@").lower()
                known = next(
                    (c for c in self._chats.values() if (c.username or "").lower() == username), None
                )
        if known is not None:
            return known
        if self.strict_chats or not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise _bad_request(_CHAT_NOT_FOUND)
        with self._lock:
            return self._chats.setdefault(chat_id, _Chat(chat_id, _infer_chat_type(chat_id)))

    def _chat_for_update(self, chat_id: ChatId, chat_type: ChatType | None, title: str | None) -> _Chat:
        with self._lock:
            known = self._chats.get(chat_id)
            if known is None or (chat_type and chat_type != known.type) or title:
                resolved_type = chat_type or (known.type if known else None) or _infer_chat_type(chat_id)
                known = _Chat(chat_id, resolved_type, title or (known.title if known else None))
                self._chats[chat_id] = known
            return known

    def _sender(
        self, chat: _Chat, user_id: int | None, username: str | None, first_name: str | None
    ) -> tuple[dict[str, Any], _Chat]:
        """The user behind an update, and the chat: a private chat takes the user's names."""
        if user_id is None:
            user_id = (
                chat.chat_id if chat.type == "private" and isinstance(chat.chat_id, int) else DEFAULT_USER_ID
            )
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"User{user_id}",
            "username": username or f"user{user_id}",
            "language_code": "en",
        }
        if chat.type == "private":
            chat = replace(chat, first_name=user["first_name"], username=user["username"])
        with self._lock:
            self._users[user_id] = user
            self._chats[chat.chat_id] = chat
        return user, chat

    def _user_json(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            return self._bot_sender
        with self._lock:
            known = self._users.get(user_id)
        return known or {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}

    def _incoming_message(
        self,
        chat_id: ChatId,
        chat_type: ChatType | None,
        user_id: int | None,
        username: str | None,
        first_name: str | None,
        title: str | None,
        *,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        chat = self._chat_for_update(chat_id, chat_type, title)
        message: dict[str, Any] = {
            "message_id": message_id or self._allocate_message_id(chat_id),
            "date": int(time.time()),
        }
        if chat.type == "channel":
            message["sender_chat"] = chat.json()
        else:
            message["from"], chat = self._sender(chat, user_id, username, first_name)
        message["chat"] = chat.json()
        return message

    def _allocate_message_id(self, chat_id: ChatId) -> int:
        with self._lock:
            message_id = self._last_message_id.get(chat_id, 0) + 1
            self._last_message_id[chat_id] = message_id
            return message_id

    # -- methods ----------------------------------------------------------------------------------

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        timeout = max(float(params.get("timeout", 0)), 0.0)
        allowed = params.get("allowed_updates")
        deadline = time.monotonic() + timeout
        with self._updates_changed:
            if isinstance(allowed, list):
                self._allowed_updates = frozenset(allowed) if allowed else None
            self._confirm_updates(offset)
            self._poll_generation += 1
            generation = self._poll_generation
            self._updates_changed.notify_all()
            self._waiting_polls += 1
            self._polling_changed.notify_all()
            try:
                while True:
                    if generation != self._poll_generation:
                        raise _ApiError(409, _DEFAULT_DESCRIPTIONS[409])
                    batch = list(islice(filter(self._is_allowed, self._updates), limit))
                    remaining = deadline - time.monotonic()
                    if batch or remaining <= 0 or self._stopping:
                        return batch
                    self._updates_changed.wait(remaining)
            finally:
                self._waiting_polls -= 1

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        update_type = _update_type(update)
        if self._allowed_updates is None:
            return update_type not in _OPT_IN_UPDATES
        return update_type in self._allowed_updates

    def _confirm_updates(self, offset: Any) -> None:
        """Forget confirmed updates: ids below a positive offset, or all but the last -offset."""
        if not isinstance(offset, int) or offset == 0:
            return
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        else:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            with self._lock:
                self._updates.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            pending = len(self._updates)
        return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise _bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        stored = [{"command": c["command"], "description": c["description"]} for c in commands]
        with self._lock:
            self._commands[_commands_key(params.get("scope"), params.get("language_code") or "")] = stored
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return self.commands(params.get("scope"), params.get("language_code") or "")

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self._commands.pop(_commands_key(params.get("scope"), params.get("language_code") or ""), None)
        return True

    def _formatted(self, text: Any, parse_mode: Any) -> FormattedText:
        if text is None or text == "":
            raise _bad_request("message text is empty")
        text = str(text)
        mode = str(parse_mode).lower() if parse_mode else None
        if mode == "html":
            try:
                formatted = parse_html(text, strict=self.strict_html)
            except EntityParseError as problem:
                raise _bad_request(f"can't parse entities: {problem}") from None
        elif mode in (None, "markdown", "markdownv2"):
            formatted = FormattedText(text.strip(_STRIPPED), [])
        else:
            raise _bad_request("unsupported parse_mode")
        if not formatted.text:
            raise _bad_request("message text is empty")
        if utf16_length(formatted.text) > MAX_MESSAGE_LENGTH:
            raise _bad_request("message is too long")
        return formatted

    def _bot_message_json(
        self,
        chat: _Chat,
        message_id: int,
        formatted: FormattedText | None,
        markup: dict[str, Any] | None,
        link_preview_options: Any,
        *,
        date: int | None = None,
        edited: bool = False,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"message_id": message_id}
        if chat.type == "channel":
            message["sender_chat"] = chat.json()
        else:
            message["from"] = self._bot_sender
        now = int(time.time())
        message["chat"] = chat.json()
        message["date"] = date or now
        if edited:
            message["edit_date"] = now
        if formatted is not None:
            message["text"] = formatted.text
            if formatted.entities:
                message["entities"] = formatted.entities
        if isinstance(link_preview_options, dict):
            message["link_preview_options"] = link_preview_options
        inline = _inline_keyboard(markup)
        if inline is not None:
            message["reply_markup"] = inline
        return message

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_of(params)
        parse_mode = params.get("parse_mode")
        formatted = self._formatted(params.get("text"), parse_mode)
        markup = _checked_markup(params.get("reply_markup"))
        link_preview_options = params.get("link_preview_options")
        message_id = self._allocate_message_id(chat.chat_id)
        message = self._bot_message_json(chat, message_id, formatted, markup, link_preview_options)
        if self.record_calls:
            sent = SentMessage(
                chat_id=chat.chat_id,
                message_id=message_id,
                text=str(params["text"]),
                visible_text=formatted.text,
                entities=formatted.entities,
                parse_mode=parse_mode,
                reply_markup=markup,
                link_preview_options=link_preview_options,
                disable_web_page_preview=params.get("disable_web_page_preview"),
                allow_paid_broadcast=bool(params.get("allow_paid_broadcast")),
                time=time.monotonic(),
                message=message,
            )
            with self._lock:
                self._sent.append(sent)
                self._sent_by_chat.setdefault(chat.chat_id, []).append(sent)
                self._bot_messages[(chat.chat_id, message_id)] = sent
        return message

    def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_of(params)
        document = params.get("document")
        if not isinstance(document, UploadedFile):
            raise _bad_request("there is no document in the request")
        message_id = self._allocate_message_id(chat.chat_id)
        caption = params.get("caption")
        formatted = self._formatted(caption, params.get("parse_mode")) if caption else None
        message = self._bot_message_json(chat, message_id, None, None, None)
        message["document"] = {
            "file_id": f"document-{message_id}",
            "file_unique_id": f"unique-{message_id}",
            "file_name": document.filename,
            "file_size": len(document.content),
        }
        if formatted is not None:
            message["caption"] = formatted.text
        with self._lock:
            self._documents.append(
                SentDocument(chat.chat_id, message_id, document.filename, document.content, caption)
            )
        return message

    def documents(self, chat_id: ChatId | None = None) -> list[SentDocument]:
        """Files sendDocument delivered, in order."""
        with self._lock:
            return [item for item in self._documents if chat_id is None or item.chat_id == chat_id]

    def _edit_target(self, params: dict[str, Any]) -> tuple[_Chat, int, SentMessage | None]:
        """The bot message an edit names; None in counters-only mode, where contents are not kept."""
        chat = self._chat_of(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            raise _bad_request("message identifier is not specified")
        with self._lock:
            stored = self._bot_messages.get((chat.chat_id, message_id))
            last = self._last_message_id.get(chat.chat_id, 0)
        if stored is None:
            if not 0 < message_id <= last:
                raise _bad_request("message to edit not found")
            if self.record_calls:
                raise _bad_request("message can't be edited")
        return chat, message_id, stored

    def _store_edit(self, stored: SentMessage | None, **changes: Any) -> None:
        if stored is None:
            return
        edited = replace(stored, edit_count=stored.edit_count + 1, **changes)
        with self._lock:
            self._bot_messages[(stored.chat_id, stored.message_id)] = edited

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        parse_mode = params.get("parse_mode")
        formatted = self._formatted(params.get("text"), parse_mode)
        markup = _checked_markup(params.get("reply_markup"))
        if params.get("inline_message_id") is not None:
            return True
        chat, message_id, stored = self._edit_target(params)
        if (
            stored is not None
            and stored.visible_text == formatted.text
            and stored.entities == formatted.entities
            and _inline_keyboard(stored.reply_markup) == _inline_keyboard(markup)
        ):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        link_preview_options = params.get("link_preview_options")
        message = self._bot_message_json(
            chat,
            message_id,
            formatted,
            markup,
            link_preview_options,
            date=stored.message["date"] if stored else None,
            edited=True,
        )
        self._store_edit(
            stored,
            text=str(params["text"]),
            visible_text=formatted.text,
            entities=formatted.entities,
            parse_mode=parse_mode,
            reply_markup=markup,
            link_preview_options=link_preview_options,
            message=message,
        )
        return message

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        markup = _checked_markup(params.get("reply_markup"))
        if params.get("inline_message_id") is not None:
            return True
        chat, message_id, stored = self._edit_target(params)
        if stored is not None and _inline_keyboard(stored.reply_markup) == _inline_keyboard(markup):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        formatted = FormattedText(stored.visible_text, stored.entities) if stored else None
        message = self._bot_message_json(
            chat,
            message_id,
            formatted,
            markup,
            stored.link_preview_options if stored else None,
            date=stored.message["date"] if stored else None,
            edited=True,
        )
        self._store_edit(stored, reply_markup=markup, message=message)
        return message

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        with self._lock:
            known = query_id in self._open_callback_queries
            self._open_callback_queries.discard(query_id)
        if not known:
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        return True

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_of(params)
        return {
            **chat.json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_of(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise _bad_request("invalid user_id specified")
        with self._lock:
            status = self._members.get(chat.chat_id, {}).get(user_id, "member")
        return _member_json(self._user_json(user_id), status)

    def _get_chat_administrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat = self._chat_of(params)
        if chat.type == "private":
            raise _bad_request("there are no administrators in the private chat")
        with self._lock:
            members = dict(self._members.get(chat.chat_id, {}))
        ranked = sorted(
            (status != "creator", user_id, status)
            for user_id, status in members.items()
            if status in ("creator", "administrator")
        )
        return [_member_json(self._user_json(user_id), status) for _, user_id, status in ranked]

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._chat_of(params)
        if not params.get("action"):
            raise _bad_request("wrong parameter action in request")
        return True


def _commands_key(scope: dict[str, Any] | None, language_code: str) -> tuple[str, str]:
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host name, which may stall offline."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._connection_closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; the fake records calls instead."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        route = _API_PATH.fullmatch(url.path)
        if route is None:
            self._reply(404, _ApiError(404, "Not Found").payload())
            return
        try:
            params = _decode_params(url.query, body, self.headers.get("Content-Type", ""))
        except ValueError:
            self._reply(400, _bad_request("can't parse request body").payload())
            return
        answer = self.server.fake._answer(route.group(1), route.group(2), params, self._client_gone)
        if answer is None:
            self.close_connection = True
        else:
            self._reply(*answer)

    def _client_gone(self) -> bool:
        """Whether the client closed its end: peeking at the socket finds end-of-file or a reset."""
        try:
            return self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        )
        if self.close_connection:
            head += "Connection: close\r\n"
        try:
            self.wfile.write(head.encode("ascii") + b"\r\n" + body)
        except OSError:
            self.close_connection = True
