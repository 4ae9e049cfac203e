"""How the push and the replies reach Telegram: pooled JSON requests, built for thousands of sends."""

from __future__ import annotations

import json
import logging
import ssl
from http import HTTPStatus
from typing import Any

import aiohttp
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest, RequestData

from bot.config import tls_context, trusts_openssl_defaults

logger = logging.getLogger(__name__)

CONNECTIONS = 64
"""Requests in flight at once; `push_bot` gives the Bot this many connections."""
REQUEST_TIMEOUT = 5.0


class PushRequest(BaseRequest):
    """PTB's networking for sends: aiohttp, JSON bodies (multipart with files), up to `connections`
    requests at once. The push sends through it, and so do the application's replies (`bot.app`,
    with a pool of their own), so a reply is not queued behind the push's requests.

    Through httpx and httpcore (PTB's default) the requests took most of a push's CPU, in pure
    Python; aiohttp parses HTTP in C (`benchmarks/push.py` prints the push's CPU per message against
    a plain python-telegram-bot loop; `benchmarks/today_cpu.py` a /today's CPU). JSON is encoded in C,
    where form encoding quotes each character of a 4 KB message in Python. Long polling stays on
    PTB's own request class, which honours its long timeouts.
    """

    def __init__(self, connections: int, timeout: float = REQUEST_TIMEOUT) -> None:
        self._connections = connections
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._timeout

    async def initialize(self) -> None:
        """aiohttp wants its session made inside the running event loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, ssl=_tls()),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is not None and request_data.contains_files:
            return await self._exchange(method, url, _form(request_data))
        return await self._exchange(method, url, json.dumps(request_data.parameters if request_data else {}))

    async def post_json(self, url: str, body: bytes) -> Any:
        """POST a body encoded beforehand to a Bot API method: its result, or the error PTB raises.

        The push's sends take this way: `Bot.do_api_request` converts every argument and looks up
        every default again on each send, for a body that differs from the last one in its chat id.
        """
        code, payload = await self._exchange("POST", url, body)
        if HTTPStatus.OK <= code <= 299:
            return self.parse_json_payload(payload)["result"]
        raise self._error(code, payload)

    async def _exchange(
        self, method: str, url: str, body: bytes | str | aiohttp.FormData
    ) -> tuple[int, bytes]:
        await self.initialize()
        assert self._session is not None
        headers = None if isinstance(body, aiohttp.FormData) else {"Content-Type": "application/json"}
        try:
            async with self._session.request(method, url, data=body, headers=headers) as response:
                # As httpx logs PTB's requests: with the URL (the token redacted by bot.log), when debugging.
                logger.debug("HTTP Request: %s %s %d", method, url, response.status)
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error

    def _error(self, code: int, payload: bytes) -> TelegramError:
        """The exception for an error answer, as PTB's own requests raise it."""
        try:
            message = f"{HTTPStatus(code).phrase} ({code})"
        except ValueError:
            message = f"Unknown HTTPError ({code})"
        try:
            answer = self.parse_json_payload(payload)
        except TelegramError:
            answer = {}
        message = answer.get("description") or message
        parameters = answer.get("parameters") or {}
        if parameters.get("migrate_to_chat_id"):
            return ChatMigrated(parameters["migrate_to_chat_id"])
        if parameters.get("retry_after"):
            return RetryAfter(parameters["retry_after"])
        if code == HTTPStatus.FORBIDDEN:
            return Forbidden(message)
        if code in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
            return InvalidToken(message)
        if code == HTTPStatus.BAD_REQUEST:
            return BadRequest(message)
        if code == HTTPStatus.CONFLICT:
            return Conflict(message)
        return NetworkError(message)


def _tls() -> ssl.SSLContext | bool:
    """True (aiohttp's own verifying context) when the process trusts OpenSSL's default authorities:
    aiohttp loaded them into that context when it was imported, and another context would load them
    again (a tenth of a push's start-up CPU). Else the process's context, on certifi's authorities."""
    return True if trusts_openssl_defaults() else tls_context()


def _form(request_data: RequestData) -> aiohttp.FormData:
    """A request with files (a BibTeX export) as multipart form data, as PTB's own requests post it."""
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


def push_bot(token: str, base_url: str, connections: int = CONNECTIONS) -> Bot:
    """A Bot for pushes: `connections` requests at once, and no PTB rate limiter.

    Its getUpdates requests go the same way: a push never polls, and PTB's default for them would
    load a second HTTP stack with its own certificates.
    """
    request = PushRequest(connections)
    return Bot(token, base_url=base_url, request=request, get_updates_request=request)
