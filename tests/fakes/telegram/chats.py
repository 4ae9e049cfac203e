"""Chats and chat members as the fake models them, in Telegram's JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes.telegram.records import ChatId

BLOCKED_DESCRIPTIONS = {
    "private": "Forbidden: bot was blocked by the user",
    "group": "Forbidden: bot was kicked from the group chat",
    "supergroup": "Forbidden: bot was kicked from the supergroup chat",
    "channel": "Forbidden: bot is not a member of the channel chat",
}


@dataclass(frozen=True, slots=True)
class Chat:
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


def infer_chat_type(chat_id: ChatId) -> str:
    """What Telegram's id ranges imply; an @username can only be addressed when it is a channel."""
    if isinstance(chat_id, str):
        return "channel"
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= -1_000_000_000_000 else "group"


ADMINISTRATOR_RIGHTS = {
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


def member_json(user: dict[str, Any], status: str) -> dict[str, Any]:
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "administrator":
        return {"status": "administrator", "user": user, **ADMINISTRATOR_RIGHTS}
    if status == "kicked":
        return {"status": "kicked", "user": user, "until_date": 0}
    if status in ("member", "left"):
        return {"status": status, "user": user}
    raise ValueError(f"unsupported member status {status!r}; use one of {MEMBER_STATUSES}")
