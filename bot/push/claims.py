"""Who holds a push's claims, whether that holder is provably gone, and the push's connection slots."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket


class Slots:
    """At most `count` holders at once, served first come first served.

    Like asyncio.Semaphore, but waking the next waiter costs the same however many wait: the
    semaphore looks at every waiter on each acquire, and in a large push thousands of chats wait for
    one of the connections.
    """

    def __init__(self, count: int) -> None:
        self._free: asyncio.Queue[None] = asyncio.Queue()
        for _ in range(count):
            self._free.put_nowait(None)

    async def __aenter__(self) -> None:
        await self._free.get()

    async def __aexit__(self, *exc_info: object) -> None:
        self._free.put_nowait(None)


def default_owner() -> str:
    """Who holds a claim: host and process, plus a random part so a restarted process is new."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def owner_is_gone(owner: str) -> bool:
    """True when `owner` (from `default_owner`) is a process of this host that no longer exists.

    A holder on another host, or a pid that exists (possibly reused), is not provably gone: its
    claims are left to run out.
    """
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
