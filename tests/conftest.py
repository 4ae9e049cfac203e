"""Shared fixtures: settings for a temporary database, and an open database that is always closed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiosqlite
import pytest

from bot.config import Settings, load_settings
from storage import db as database
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import BotHarness, make_harness

TEST_TOKEN = "123456789:TEST-token-abcdefghijklmnopqrstuv"
CLOSED_PORT = "http://127.0.0.1:9"


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
        "ARXIV_FEED_URL": f"{CLOSED_PORT}/atom/",
        "ARXIV_API_URL": f"{CLOSED_PORT}/api/query",
        "ARXIV_HTML_URL": f"{CLOSED_PORT}/html/",
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "ARXIV_REQUEST_DELAY": "0",
        "LOG_LEVEL": "DEBUG",
    }


@pytest.fixture
def settings(base_env: dict[str, str]) -> Settings:
    return load_settings(base_env, env_file=None)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await database.connect(tmp_path / "test.sqlite3")
    try:
        yield connection
    finally:
        await connection.close()


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
async def bot(telegram: FakeTelegram, bot_env: dict[str, str]) -> AsyncIterator[BotHarness]:
    harness = make_harness(telegram, load_settings(bot_env, env_file=None))
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
