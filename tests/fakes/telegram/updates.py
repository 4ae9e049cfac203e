"""Incoming updates built the way Telegram delivers them: messages with bot_command entities, channel
posts, edits, photos, stickers, button presses and membership changes.

`UpdateBuilders` is mixed into `FakeTelegram`: building an update introduces its chat and sender to
the fake, so the bot's answers about them are consistent.
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from tests.fakes.telegram.chats import Chat, infer_chat_type, member_json
from tests.fakes.telegram.entities import utf16_length
from tests.fakes.telegram.records import ChatId, ChatType, SentMessage

DEFAULT_USER_ID = 4242
"""Sender of group, supergroup and callback updates when a test names no user."""
_BOT_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w@/])")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![\w@])")


def _attach_text(message: dict[str, Any], text: str, text_key: str, entities_key: str) -> None:
    """Set a user's text or caption with the bot_command and mention entities Telegram marks in it."""
    message[text_key] = text
    commands = list(_BOT_COMMAND.finditer(text))
    mentions = [
        match
        for match in _MENTION.finditer(text)
        if not any(command.start() <= match.start() < command.end() for command in commands)
    ]
    found = [("bot_command", match) for match in commands] + [("mention", match) for match in mentions]
    entities = [
        {
            "type": kind,
            "offset": utf16_length(text[: match.start()]),
            "length": utf16_length(match.group()),
        }
        for kind, match in sorted(found, key=lambda item: item[1].start())
    ]
    if entities:
        message[entities_key] = entities


class UpdateBuilders:
    """The update builders of FakeTelegram, and the chats and users they introduce."""

    _lock: threading.Lock
    _chats: dict[ChatId, Chat]
    _users: dict[int, dict[str, Any]]
    _bot_messages: dict[tuple[ChatId, int], SentMessage]
    _open_callback_queries: set[str]
    _callback_ids: Iterator[int]
    _file_ids: Iterator[int]
    _bot_sender: dict[str, Any]
    _allocate_message_id: Callable[[ChatId], int]

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
        language_code: str = "en",
    ) -> dict[str, Any]:
        """A user's text message (a channel post for channels), with bot_command entities for /commands;
        the user's Telegram speaks `language_code`."""
        message = self._incoming_message(
            chat_id, chat_type, user_id, username, first_name, title, language_code=language_code
        )
        _attach_text(message, text, "text", "entities")
        return {"channel_post" if message["chat"]["type"] == "channel" else "message": message}

    def channel_post_update(
        self, chat_id: ChatId, text: str, *, title: str | None = None, username: str | None = None
    ) -> dict[str, Any]:
        with self._lock:
            self._chats[chat_id] = Chat(chat_id, "channel", title, username)
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
        language_code: str = "en",
    ) -> dict[str, Any]:
        """A button press on message `message_id`; carries the bot's message as it currently is."""
        sender, chat = self._sender(
            self._chat_for_update(chat_id, chat_type, None), user_id, username, None, language_code
        )
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
                "old_chat_member": member_json(self._bot_sender, old_status),
                "new_chat_member": member_json(self._bot_sender, new_status),
            }
        }

    def _chat_for_update(self, chat_id: ChatId, chat_type: ChatType | None, title: str | None) -> Chat:
        with self._lock:
            known = self._chats.get(chat_id)
            if known is None or (chat_type and chat_type != known.type) or title:
                resolved_type = chat_type or (known.type if known else None) or infer_chat_type(chat_id)
                known = Chat(chat_id, resolved_type, title or (known.title if known else None))
                self._chats[chat_id] = known
            return known

    def _sender(
        self,
        chat: Chat,
        user_id: int | None,
        username: str | None,
        first_name: str | None,
        language_code: str = "en",
    ) -> tuple[dict[str, Any], Chat]:
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
            "language_code": language_code,
        }
        if chat.type == "private":
            chat = replace(chat, first_name=user["first_name"], username=user["username"])
        with self._lock:
            self._users[user_id] = user
            self._chats[chat.chat_id] = chat
        return user, chat

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
        language_code: str = "en",
    ) -> dict[str, Any]:
        chat = self._chat_for_update(chat_id, chat_type, title)
        message: dict[str, Any] = {
            "message_id": message_id or self._allocate_message_id(chat_id),
            "date": int(time.time()),
        }
        if chat.type == "channel":
            message["sender_chat"] = chat.json()
        else:
            message["from"], chat = self._sender(chat, user_id, username, first_name, language_code)
        message["chat"] = chat.json()
        return message
