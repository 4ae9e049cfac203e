"""The fake Telegram in a process of its own, for benchmarks that count the bot's CPU or time its replies.

Its work (pushing updates, looking for replies, a few hundred requests a second during a push) takes no
turns of the bot's process. A reply is timed on the fake's clock (time.monotonic), from the update
entering its queue to the bot's first sendMessage to the chat: it includes the bot's getUpdates and
any wait for the bot's event loop.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from multiprocessing.connection import Connection
from pathlib import Path

from bot.config import load_settings
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotHarness, make_harness

REPLY_TIMEOUT = 10.0  # seconds: a reply later than this counts as lost
POLL_REPLY = 0.0005  # seconds between the fake's looks for a reply


def _serve(commands: Connection, token: str) -> None:
    """The fake's process: sends updates as the pipe asks, alone or as a paced round."""
    with FakeTelegram(token=token, record_calls=False) as fake:
        commands.send(fake.base_url)
        while (command := commands.recv()) != "stop":
            if command == "sends":
                commands.send(len(fake.send_times()))
                continue
            chat_ids, text, spacing = command
            latencies, started = [], time.monotonic()
            for index, chat_id in enumerate(chat_ids):
                time.sleep(max(0.0, started + index * spacing - time.monotonic()))
                latencies.append(_exchange(fake, chat_id, text))
            commands.send(latencies)


def _exchange(fake: FakeTelegram, chat_id: int, text: str) -> float | None:
    before = len(fake.send_times(chat_id))
    pushed = time.monotonic()
    fake.push_update(fake.message_update(chat_id, text))
    while time.monotonic() < pushed + REPLY_TIMEOUT:
        times = fake.send_times(chat_id)
        if len(times) > before:
            return times[before] - pushed
        time.sleep(POLL_REPLY)
    return None


class RemoteTelegram:
    """The bot process's side of the fake Telegram in its own process."""

    def __init__(self, token: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs, token), daemon=True)
        self._process.start()
        self.base_url: str = self._pipe.recv()
        self._lock = asyncio.Lock()

    async def exchange(self, chat_id: int, text: str) -> float | None:
        """Seconds from the update to the bot's first sendMessage to the chat; None if none came
        within REPLY_TIMEOUT."""
        (latency,) = await self.round([chat_id], text, 0.0)
        return latency

    async def round(self, chat_ids: Sequence[int], text: str, spacing: float) -> list[float | None]:
        """Each chat sends `text` in turn, `spacing` seconds apart: the reply latencies (None: lost)."""
        return await self._ask((list(chat_ids), text, spacing))  # type: ignore[return-value]

    async def sends(self) -> int:
        """Messages the bot sent so far, to every chat."""
        return await self._ask("sends")  # type: ignore[return-value]

    async def _ask(self, command: object) -> object:
        async with self._lock:
            return await asyncio.to_thread(self._ask_now, command)

    def _ask_now(self, command: object) -> object:
        self._pipe.send(command)
        return self._pipe.recv()

    def close(self) -> None:
        self._pipe.send("stop")
        self._process.join(timeout=10)


@asynccontextmanager
async def running_bot(
    token: str, database: Path, settings: Mapping[str, str] | None = None
) -> AsyncIterator[tuple[BotHarness, RemoteTelegram]]:
    """The real application on `database` (as `python -m bot run` builds it, `settings` added), against
    this fake in its own process and a fake arXiv; stopped, and the fake's process ended, on leaving."""
    telegram = RemoteTelegram(token)
    try:
        with FakeArxiv() as arxiv:
            env = {
                "TELEGRAM_BOT_TOKEN": token,
                "TELEGRAM_API_BASE_URL": telegram.base_url,
                **arxiv.env(),
                "DATABASE_PATH": str(database),
                "ARXIV_REQUEST_DELAY": "0",
                **(settings or {}),
            }
            harness = make_harness(telegram, load_settings(env, env_file=None))  # type: ignore[arg-type]
            await harness.start()
            try:
                yield harness, telegram
            finally:
                await harness.stop()
    finally:
        telegram.close()
