"""How the push reaches Telegram: a Bot on pooled JSON requests, built for thousands of sends."""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

CONNECTIONS = 64
"""Requests in flight at once; `push_bot` gives the Bot this many connections."""
REQUEST_TIMEOUT = 5.0


class PushRequest(BaseRequest):
    """PTB's networking for pushes: aiohttp, JSON bodies, up to `connections` requests at once.

    Through httpx and httpcore (PTB's default) the requests took most of a push's CPU, in pure
    Python; aiohttp parses HTTP in C (`benchmarks/push.py` prints the push's CPU per message against
    a plain python-telegram-bot loop). JSON is encoded in C, where form encoding quotes each
    character of a 4 KB message in Python. Replies and long polling stay on PTB's own request class.
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
                connector=aiohttp.TCPConnector(limit=self._connections),
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
        await self.initialize()
        assert self._session is not None
        try:
            async with self._session.request(
                method, url, json=request_data.parameters if request_data else None
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def push_bot(token: str, base_url: str, connections: int = CONNECTIONS) -> Bot:
    """A Bot for pushes: `connections` requests at once, and no PTB rate limiter.

    Its getUpdates requests go the same way: a push never polls, and PTB's default for them would
    load a second HTTP stack with its own certificates.
    """
    request = PushRequest(connections)
    return Bot(token, base_url=base_url, request=request, get_updates_request=request)
