"""Shared fixtures: settings for a temporary database, an open database that is always closed, the
fakes (`telegram`, `arxiv`), the bot running against them (`bot`, `start_bot`), the push's Bot
(`pusher`) and a virtual clock for the arXiv clients (`virtual_clock`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path

import aiosqlite
import pytest
from telegram import Bot

from bot.config import Settings, load_settings
from bot.push.transport import push_bot
from tests.clock import VirtualClock
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotHarness, StartBot, make_harness
from tests.postgres_server import BACKEND, database_target, start_server, stop_server
from tests.support import CLOSED_PORT, TEST_TOKEN, open_database


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each run leaves out the other engine's own tests: on PostgreSQL those of SQLite's file
    (backups, a damaged or full file), on SQLite those that need the PostgreSQL server."""
    other = "sqlite_only" if BACKEND == "postgres" else "postgres_only"
    kept = [item for item in items if item.get_closest_marker(other) is None]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


@pytest.fixture(scope="session", autouse=True)
def postgres_server() -> Iterator[None]:
    """The run's PostgreSQL server, when the suite runs on PostgreSQL."""
    if BACKEND != "postgres":
        yield
        return
    start_server()
    try:
        yield
    finally:
        stop_server()


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """CLI entry points configure logging for the process; undo it so later tests log normally."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    chatty = {name: logging.getLogger(name).level for name in ("httpx", "arxiv")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, chatty_level in chatty.items():
        logging.getLogger(name).setLevel(chatty_level)


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """Environment for the bot that touches nothing outside the test's temporary folder.

    Every URL points at a closed loopback port until a fixture points it at a fake, so a test that
    forgets a fake fails at once instead of reaching the internet.
    """
    return {
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_API_BASE_URL": f"{CLOSED_PORT}/bot",
        "ARXIV_LISTING_URL": f"{CLOSED_PORT}/list/",
        "ARXIV_FEED_URL": f"{CLOSED_PORT}/atom/",
        "ARXIV_API_URL": f"{CLOSED_PORT}/api/query",
        "ARXIV_HTML_URL": f"{CLOSED_PORT}/html/",
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        **({"DATABASE_URL": str(database_target(tmp_path / "bot.sqlite3"))} if BACKEND == "postgres" else {}),
        "ARXIV_REQUEST_DELAY": "0",
        "LOG_LEVEL": "DEBUG",
    }


@pytest.fixture
def settings(base_env: dict[str, str]) -> Settings:
    return load_settings(base_env, env_file=None)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    async with open_database(tmp_path / "test.sqlite3") as connection:
        yield connection


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TEST_TOKEN) as fake:
        yield fake


@pytest.fixture
def arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv() as fake:
        yield fake


@pytest.fixture
def bot_env(base_env: dict[str, str], telegram: FakeTelegram, arxiv: FakeArxiv) -> dict[str, str]:
    return {**base_env, "TELEGRAM_API_BASE_URL": telegram.base_url, **arxiv.env()}


@pytest.fixture
async def start_bot(telegram: FakeTelegram, bot_env: dict[str, str]) -> AsyncIterator[StartBot]:
    """Start the real bot against the fakes: `await start_bot(clock=..., SETTING="value")`, with
    settings on top of `bot_env` and an optional clock. Every bot started is stopped after the test."""
    started: list[BotHarness] = []

    async def start(clock: Callable[[], datetime] | None = None, **env: str) -> BotHarness:
        harness = make_harness(telegram, load_settings({**bot_env, **env}, env_file=None), clock=clock)
        await harness.start()
        started.append(harness)
        return harness

    yield start
    for harness in started:
        await harness.stop()


@pytest.fixture
async def bot(start_bot: StartBot) -> BotHarness:
    """The bot as `python -m bot run` builds it, on bot_env, polling the fake Telegram."""
    return await start_bot()


@pytest.fixture
async def pusher(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    """PTB's Bot as the push builds it (`push_bot`: JSON over pooled connections), on the fake."""
    async with push_bot(telegram.token, telegram.base_url, connections=8) as client:
        yield client


@pytest.fixture
def virtual_clock() -> VirtualClock:
    """Monotonic time that passes only when slept, for the arXiv pacer and retries."""
    return VirtualClock()
