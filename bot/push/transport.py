"""How the push reaches Telegram: a Bot on pooled JSON requests, built for thousands of sends."""

from __future__ import annotations

import math
from typing import Any

import httpx
from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

CONNECTIONS = 64
"""Requests in flight at once; `push_bot` gives the Bot this many connections."""
POOL_CONNECTIONS = 8
"""Connections per httpx pool (see `PooledRequest`)."""
REQUEST_TIMEOUT = 5.0


class PooledRequest(BaseRequest):
    """PTB's networking for pushes: JSON bodies over several small httpx connection pools.

    httpcore 1.0 scans every connection of a pool, and for each idle one every connection again,
    whenever a request starts or ends: with one pool of 64 that took most of a push's CPU. Each
    request goes to the pool with the fewest requests on their way. JSON is encoded in C, where
    form encoding quotes each character of a 4 KB message in Python.
    """

    def __init__(self, connections: int, per_pool: int = POOL_CONNECTIONS, timeout: float = REQUEST_TIMEOUT):
        pools = math.ceil(connections / per_pool)
        limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
        self._timeout = timeout
        self._clients = [
            httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(timeout, pool=1.0)) for _ in range(pools)
        ]
        self._in_flight = [0] * pools

    @property
    def read_timeout(self) -> float:
        return self._timeout

    async def initialize(self) -> None:
        """The clients connect on first use."""

    async def shutdown(self) -> None:
        for client in self._clients:
            await client.aclose()

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
        pool = min(range(len(self._clients)), key=self._in_flight.__getitem__)
        self._in_flight[pool] += 1
        try:
            response = await self._clients[pool].request(
                method, url, json=request_data.parameters if request_data else None
            )
        except httpx.TimeoutException as error:
            raise TimedOut from error
        except httpx.HTTPError as error:
            raise NetworkError(f"httpx.{type(error).__name__}: {error}") from error
        finally:
            self._in_flight[pool] -= 1
        return response.status_code, response.content


def push_bot(token: str, base_url: str, connections: int = CONNECTIONS) -> Bot:
    """A Bot for pushes: `connections` requests at once, and no PTB rate limiter."""
    return Bot(token, base_url=base_url, request=PooledRequest(connections))
