"""Shared fixtures: settings for a temporary database, and an open database that is always closed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot.config import Settings, load_settings
from storage import db as database

TEST_TOKEN = "123456789:TEST-token-abcdefghijklmnopqrstuv"


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """Environment for the bot that touches nothing outside the test's temporary folder."""
    return {
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
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
