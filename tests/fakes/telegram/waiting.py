"""Waiting for what the bot does: calls matching a method, chat or predicate, and the bot's long poll."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from tests.fakes.telegram.records import Call, ChatId

_POLL_INTERVAL = 0.005


class _CallMatcher:
    """Scans recorded calls incrementally, so waiting costs nothing per call already seen."""

    def __init__(
        self,
        fake: Waiting,
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


class Waiting:
    """The waits of FakeTelegram: wait_for, wait_for_sync, wait_until_polling(_sync)."""

    record_calls: bool
    _lock: threading.Lock
    _calls: list[Call]
    _calls_changed: threading.Condition
    _polling_changed: threading.Condition
    _waiting_polls: int
    _canonical_names: dict[str, str]

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
