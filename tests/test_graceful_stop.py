"""SIGTERM in the middle of a push: `run` stops promptly, records what it sent, releases the rest,
and the next push delivers every remaining digest once."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import db as database
from storage.chats import ChatRepository
from storage.subscriptions import SubscriptionRepository
from tests.announcement import seed_day
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
CHATS = range(1, 121)


async def subscribe_chats(path: Path) -> None:
    before = datetime.now(UTC) - timedelta(hours=1)
    db = await database.connect(path)
    try:
        chats, subscriptions = ChatRepository(db), SubscriptionRepository(db)
        for chat_id in CHATS:
            await chats.register(chat_id, "private", None, None, before)
            await subscriptions.add(chat_id, ["cs.IR"], before)
    finally:
        await db.close()


def ledger(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall())


def test_sigterm_mid_push_loses_nothing_and_the_next_push_finishes(
    base_env: dict[str, str], arxiv: FakeArxiv, telegram: FakeTelegram, tmp_path: Path
):
    path = Path(base_env["DATABASE_PATH"])
    asyncio.run(subscribe_chats(path))
    seed_day(arxiv)
    env = {
        **os.environ,
        **base_env,
        **arxiv.env(),
        "PYTHONPATH": str(REPO),
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "CATEGORIES": "IR",
        "BROADCAST_RATE": "20",
        "LOG_LEVEL": "INFO",
    }
    fetch = subprocess.run([sys.executable, "-m", "bot", "fetch"], cwd=tmp_path, env=env, capture_output=True)
    assert fetch.returncode == 0, fetch.stderr

    with (tmp_path / "run.log").open("w") as log:
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, stdout=log, stderr=log
        )
        try:
            telegram.wait_for_sync("sendMessage", count=30, timeout=30)
            bot.send_signal(signal.SIGTERM)
            stopping = time.monotonic()
            assert bot.wait(timeout=15) == 0
            assert time.monotonic() - stopping < 10, "stopping waited for the whole push"
        finally:
            if bot.poll() is None:
                bot.kill()
    interrupted = ledger(path)
    assert "claimed" not in interrupted, "a stopped push must hand its claims back"
    assert 0 < interrupted.get("sent", 0) < len(CHATS)

    push = subprocess.run([sys.executable, "-m", "bot", "push"], cwd=tmp_path, env=env, capture_output=True)
    assert push.returncode == 0, push.stderr
    assert ledger(path) == {"sent": len(CHATS)}
    received = {chat_id: len(telegram.sent_messages(chat_id)) for chat_id in CHATS}
    assert min(received.values()) == 1
    repeated = sum(count - 1 for count in received.values())
    assert repeated <= 20, "only messages in flight at the signal may repeat"
    assert "Traceback" not in (tmp_path / "run.log").read_text()
