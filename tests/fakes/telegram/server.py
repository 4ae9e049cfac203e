"""FakeTelegram: the server's lifecycle and state, the test-facing API for chats, faults and updates,
what the bot did, and the answering of one request (faults, chat rules, then the method)."""

from __future__ import annotations

import bisect
import contextlib
import logging
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from itertools import count
from typing import Any

from tests.fakes.telegram.chats import BLOCKED_DESCRIPTIONS, Chat, infer_chat_type
from tests.fakes.telegram.methods import BotApi, commands_key
from tests.fakes.telegram.records import Call, ChatId, ChatType, SentDocument, SentMessage
from tests.fakes.telegram.requests import (
    DEFAULT_DESCRIPTIONS,
    MIGRATED_DESCRIPTION,
    WELL_FORMED_TOKEN,
    ApiError,
    Server,
)
from tests.fakes.telegram.updates import UpdateBuilders
from tests.fakes.telegram.waiting import Waiting
from tests.fakes.telegram.webhook import Webhook, Webhooks

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:TEST-token-abcdefghijklmnopqrstuv"
DEFAULT_BOT_USERNAME = "paper_digest_test_bot"
_CHAT_RULE_EXEMPT = frozenset({"getChatMember"})
"""Methods a blocked or migrated chat does not refuse."""


@dataclass(slots=True)
class _Fault:
    error: ApiError
    chat_id: ChatId | None
    remaining: int | None


class FakeTelegram(UpdateBuilders, BotApi, Webhooks, Waiting):
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
    ) -> None:
        """An unknown numeric chat id is a private chat (positive), group or supergroup (-100...)."""
        self.token = token
        self.bot_id = int(token.partition(":")[0])
        self.bot_username = bot_username
        self.record_calls = record_calls
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
        self._request = threading.local()  # the request this thread answers: `arrived`
        self._calls_changed = threading.Condition(self._lock)
        self._updates_changed = threading.Condition(self._lock)
        self._polling_changed = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._counts: Counter[str] = Counter()
        self._sent: list[SentMessage] = []
        self._sent_by_chat: dict[ChatId, list[SentMessage]] = {}
        self._documents: list[SentDocument] = []
        self._bot_messages: dict[tuple[ChatId, int], SentMessage] = {}
        self._send_times: list[float] = []
        self._send_times_by_chat: dict[ChatId, list[float]] = {}
        self._last_message_id: dict[ChatId, int] = {}
        self._chats: dict[ChatId, Chat] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._members: dict[ChatId, dict[int, str]] = {}
        self._blocked: dict[ChatId, str] = {}
        self._migrated: dict[ChatId, int] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._holds: dict[str, tuple[threading.Event, threading.Event]] = {}
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._descriptions: dict[tuple[str, str], str] = {}
        self._open_callback_queries: set[str] = set()
        self._callback_ids = count(7_000_000_000_000_001)
        self._file_ids = count(1)
        self._updates: deque[dict[str, Any]] = deque()
        self._last_update_id = 700_000_000
        self._allowed_updates: frozenset[str] | None = None
        self._webhook: Webhook | None = None
        self._unresolvable: set[str] = set()
        self._webhook_error: tuple[int, str] | None = None
        self._poll_generation = 0
        self._waiting_polls = 0
        self._stopping = False
        self._revoked = False
        self._connections: set[socket.socket] = set()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._methods = {**self.api_methods(), **self.webhook_methods()}
        self._canonical_names = {name.lower(): name for name in self._methods}

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeTelegram:
        if self._server is not None:
            raise RuntimeError("FakeTelegram is already running")
        self._stopping = False
        self._server = Server(self)
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
        chat = Chat(chat_id, chat_type, title, username, first_name)
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

    def revoke_token(self) -> None:
        """The owner revoked the token with @BotFather: from now on every request with it answers 401."""
        with self._lock:
            self._revoked = True

    def block_chat(self, chat_id: ChatId, description: str | None = None) -> None:
        """Every request about this chat answers 403 (blocked by the user, kicked from the group...)."""
        chat_type = self._chat_type(chat_id)
        with self._lock:
            self._blocked[chat_id] = description or BLOCKED_DESCRIPTIONS[chat_type]

    def migrate_chat(self, chat_id: ChatId, new_chat_id: int) -> None:
        """The group became a supergroup: requests about it answer 400 with migrate_to_chat_id."""
        with self._lock:
            old = self._chats.get(chat_id)
            self._migrated[chat_id] = new_chat_id
            self._chats[new_chat_id] = Chat(new_chat_id, "supergroup", old.title if old else None)

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
            description = description or MIGRATED_DESCRIPTION
        if description is None:
            description = DEFAULT_DESCRIPTIONS.get(error_code) or HTTPStatus(error_code).phrase
        fault = _Fault(ApiError(error_code, description, parameters or None), chat_id, times)
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

    @contextlib.contextmanager
    def holding(self, method: str) -> Iterator[threading.Event]:
        """Hold every request of `method` unanswered until the block ends, so a test can act at that
        moment of the bot's work; the event yielded is set once such a request has arrived."""
        name = self._canonical_names.get(method.lower(), method)
        arrived, released = threading.Event(), threading.Event()
        with self._lock:
            self._holds[name] = (arrived, released)
        try:
            yield arrived
        finally:
            with self._lock:
                del self._holds[name]
            released.set()

    # -- updates ----------------------------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; an update_id is assigned unless the update has one."""
        update = self._assign_update_id(update)
        with self._lock:
            self._updates.append(update)
            self._updates_changed.notify_all()
        return update

    def _assign_update_id(self, update: dict[str, Any]) -> dict[str, Any]:
        """The update with the next update_id, unless it has one (which later ids then follow)."""
        with self._lock:
            if "update_id" in update:
                self._last_update_id = max(self._last_update_id, update["update_id"])
                return update
            self._last_update_id += 1
            return {"update_id": self._last_update_id, **update}

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return list(self._updates)

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

    def documents(self, chat_id: ChatId | None = None) -> list[SentDocument]:
        """Files sendDocument delivered, in order."""
        with self._lock:
            return [item for item in self._documents if chat_id is None or item.chat_id == chat_id]

    def message(self, chat_id: ChatId, message_id: int) -> SentMessage | None:
        """A message the bot sent, with its edits applied."""
        with self._lock:
            return self._bot_messages.get((chat_id, message_id))

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, str]]:
        with self._lock:
            return list(self._commands.get(commands_key(scope, language_code), ()))

    def description(self, language_code: str = "", *, short: bool = False) -> str:
        """What setMyDescription (or setMyShortDescription) set for `language_code` ("" for everyone)."""
        kind = "short_description" if short else "description"
        with self._lock:
            return self._descriptions.get((kind, language_code), "")

    def send_times(self, chat_id: ChatId | None = None) -> list[float]:
        """time.monotonic() of every sendMessage request received (failed ones too), in order of arrival
        at the host (the kernel's time, not the fake's, whose threads may get to a request late)."""
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

    # -- serving a request ------------------------------------------------------------------------

    def _answer(
        self,
        token: str,
        method: str,
        params: dict[str, Any],
        client_gone: Callable[[], bool],
        arrived: float,
    ) -> tuple[int, dict[str, Any]] | None:
        """Answer one API request and record it; runs on the server's request thread.

        None drops a long poll whose client hung up while it waited, unrecorded, as Telegram drops it:
        PTB hangs up on its poll at every shutdown, and a 409 nobody saw would only mislead tests.
        """
        with self._lock:
            revoked = self._revoked
        if token != self.token or revoked:
            rejection = (
                ApiError(401, "Unauthorized")
                if WELL_FORMED_TOKEN.fullmatch(token)
                else ApiError(404, "Not Found")
            )
            return rejection.code, rejection.payload()
        received = self._request.arrived = arrived
        name = self._canonical_names.get(method.lower(), method)
        handler = self._methods.get(name)
        chat_id = params.get("chat_id")
        if name == "sendMessage":
            self._note_send(chat_id, received)
        delay = self._delays.get(name)
        if delay:
            time.sleep(delay)
        with self._lock:
            hold = self._holds.get(name)
        if hold is not None:
            arrived, released = hold
            arrived.set()
            released.wait()
        error: ApiError | None = None
        try:
            self._raise_injected_fault(name, chat_id)
            if chat_id is not None and name not in _CHAT_RULE_EXEMPT:
                self._raise_chat_rule(chat_id)
            if handler is None:
                logger.warning("fake Telegram: %s is not modelled; answered true", name)
                result = True
            else:
                result = handler(params)
        except ApiError as refused:
            error = refused
        except Exception as crash:
            logger.exception("fake Telegram failed answering %s", name)
            error = ApiError(500, f"Internal Server Error: the fake failed: {crash!r}")
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

    def _note_send(self, chat_id: ChatId | None, moment: float) -> None:
        """Kept in order of arrival: threads may answer requests in another order."""
        with self._lock:
            bisect.insort(self._send_times, moment)
            if chat_id is not None:
                bisect.insort(self._send_times_by_chat.setdefault(chat_id, []), moment)

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
            raise ApiError(403, blocked)
        if migrated_to is not None:
            raise ApiError(400, MIGRATED_DESCRIPTION, {"migrate_to_chat_id": migrated_to})

    def _connection_opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _connection_closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _chat_type(self, chat_id: ChatId) -> str:
        with self._lock:
            known = self._chats.get(chat_id)
        return known.type if known is not None else infer_chat_type(chat_id)
