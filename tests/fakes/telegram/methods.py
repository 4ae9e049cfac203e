"""The Bot API methods the bot uses, validated where bots commonly trip: HTML entities, message length,
button data, command names, stale callback queries, unmodified edits.

`BotApi` is mixed into `FakeTelegram`; `api_methods()` maps method names to the handlers.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from itertools import islice
from typing import Any

from tests.fakes.telegram.chats import Chat, infer_chat_type, member_json
from tests.fakes.telegram.entities import (
    EntityParseError,
    FormattedText,
    parse_html,
    plain_text,
    utf16_length,
)
from tests.fakes.telegram.records import ChatId, SentDocument, SentMessage, UploadedFile
from tests.fakes.telegram.requests import CHAT_NOT_FOUND, DEFAULT_DESCRIPTIONS, ApiError, bad_request

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64

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
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse reply keyboard markup JSON object")
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
            raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
        if len(_BUTTON_ACTIONS & button.keys()) != 1:
            raise bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
            )
        data = button.get("callback_data")
        if "callback_data" in button and not (
            isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
        ):
            raise bad_request("BUTTON_DATA_INVALID")
        url = button.get("url")
        if "url" in button and not (
            isinstance(url, str) and url.startswith(("http://", "https://", "tg://"))
        ):
            raise bad_request("BUTTON_URL_INVALID")
    return markup


def _inline_keyboard(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The markup Telegram stores on a message: inline keyboards only."""
    return markup if markup is not None and "inline_keyboard" in markup else None


_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
"""Update types Telegram only delivers when allowed_updates names them."""


def _update_type(update: dict[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


def commands_key(scope: dict[str, Any] | None, language_code: str) -> tuple[str, str]:
    """Where setMyCommands stores a command list: by scope and language, as Telegram does."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code


class BotApi:
    """The Bot API methods of FakeTelegram, and the chat lookups they need. Other methods are answered
    `true` and flagged as not modelled (see FakeTelegram.unknown_calls)."""

    bot_id: int
    record_calls: bool
    _lock: threading.Lock
    _request: threading.local
    _updates_changed: threading.Condition
    _polling_changed: threading.Condition
    _chats: dict[ChatId, Chat]
    _users: dict[int, dict[str, Any]]
    _members: dict[ChatId, dict[int, str]]
    _bot_user: dict[str, Any]
    _bot_sender: dict[str, Any]
    _sent: list[SentMessage]
    _sent_by_chat: dict[ChatId, list[SentMessage]]
    _documents: list[SentDocument]
    _bot_messages: dict[tuple[ChatId, int], SentMessage]
    _last_message_id: dict[ChatId, int]
    _commands: dict[tuple[str, str], list[dict[str, str]]]
    _descriptions: dict[tuple[str, str], str]
    _open_callback_queries: set[str]
    _updates: deque[dict[str, Any]]
    _allowed_updates: frozenset[str] | None
    _poll_generation: int
    _waiting_polls: int
    _stopping: bool
    _refuse_polling_while_webhook: Callable[[], None]

    def api_methods(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        """The modelled methods by name: what the bot calls through PTB, and nothing more."""
        return {
            "getMe": lambda params: self._bot_user,
            "getUpdates": self._get_updates,
            "setMyCommands": self._set_my_commands,
            "setMyDescription": partial(self._set_description, "description", 512),
            "setMyShortDescription": partial(self._set_description, "short_description", 120),
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "sendDocument": self._send_document,
            "answerCallbackQuery": self._answer_callback_query,
            "getChatMember": self._get_chat_member,
        }

    def _chat_of(self, params: dict[str, Any]) -> Chat:
        """The chat a request names, as Telegram resolves it (numeric id or @username)."""
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        with self._lock:
            known = self._chats.get(chat_id)
            if known is None and isinstance(chat_id, str):
                username = chat_id.removeprefix("@").lower()
                known = next(
                    (c for c in self._chats.values() if (c.username or "").lower() == username), None
                )
        if known is not None:
            return known
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise bad_request(CHAT_NOT_FOUND)
        with self._lock:
            return self._chats.setdefault(chat_id, Chat(chat_id, infer_chat_type(chat_id)))

    def _user_json(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            return self._bot_sender
        with self._lock:
            known = self._users.get(user_id)
        return known or {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}

    def _allocate_message_id(self, chat_id: ChatId) -> int:
        with self._lock:
            message_id = self._last_message_id.get(chat_id, 0) + 1
            self._last_message_id[chat_id] = message_id
            return message_id

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self._refuse_polling_while_webhook()
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
                        raise ApiError(409, DEFAULT_DESCRIPTIONS[409])
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

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        stored = [{"command": c["command"], "description": c["description"]} for c in commands]
        with self._lock:
            self._commands[commands_key(params.get("scope"), params.get("language_code") or "")] = stored
        return True

    def _set_description(self, kind: str, limit: int, params: dict[str, Any]) -> bool:
        """setMyDescription and setMyShortDescription: stored by language; empty removes it."""
        text = params.get(kind) or ""
        if not isinstance(text, str) or len(text) > limit:
            raise bad_request(f"{kind.upper()}_INVALID")
        with self._lock:
            self._descriptions[kind, params.get("language_code") or ""] = text
        return True

    def _formatted(self, text: Any, parse_mode: Any) -> FormattedText:
        if text is None or text == "":
            raise bad_request("message text is empty")
        text = str(text)
        mode = str(parse_mode).lower() if parse_mode else None
        if mode == "html":
            try:
                formatted = parse_html(text)
            except EntityParseError as problem:
                raise bad_request(f"can't parse entities: {problem}") from None
        elif mode in (None, "markdown", "markdownv2"):
            formatted = plain_text(text)
        else:
            raise bad_request("unsupported parse_mode")
        if not formatted.text:
            raise bad_request("message text is empty")
        if utf16_length(formatted.text) > MAX_MESSAGE_LENGTH:
            raise bad_request("message is too long")
        return formatted

    def _bot_message_json(
        self,
        chat: Chat,
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
                allow_paid_broadcast=bool(params.get("allow_paid_broadcast")),
                time=self._request.arrived,
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
            raise bad_request("there is no document in the request")
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

    def _edit_target(self, params: dict[str, Any]) -> tuple[Chat, int, SentMessage | None]:
        """The bot message an edit names; None in counters-only mode, where contents are not kept."""
        chat = self._chat_of(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            raise bad_request("message identifier is not specified")
        with self._lock:
            stored = self._bot_messages.get((chat.chat_id, message_id))
            last = self._last_message_id.get(chat.chat_id, 0)
        if stored is None:
            if not 0 < message_id <= last:
                raise bad_request("message to edit not found")
            if self.record_calls:
                raise bad_request("message can't be edited")
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
        chat, message_id, stored = self._edit_target(params)
        if (
            stored is not None
            and stored.visible_text == formatted.text
            and stored.entities == formatted.entities
            and _inline_keyboard(stored.reply_markup) == _inline_keyboard(markup)
        ):
            raise bad_request(
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

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = _checked_markup(params.get("reply_markup"))
        chat, message_id, stored = self._edit_target(params)
        if stored is not None and _inline_keyboard(stored.reply_markup) == _inline_keyboard(markup):
            raise bad_request(
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
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        return True

    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_of(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise bad_request("invalid user_id specified")
        with self._lock:
            status = self._members.get(chat.chat_id, {}).get(user_id, "member")
        return member_json(self._user_json(user_id), status)
