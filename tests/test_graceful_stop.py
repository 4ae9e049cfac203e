"""SIGTERM in the middle of a push: `run` stops promptly, records what it sent, releases the rest,
and the next push delivers every remaining digest once."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.announcement import seed_day
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.postgres_server import query
from tests.support import run_cli, start_cli, subscribe_chats

pytestmark = pytest.mark.e2e

CHATS = range(1, 121)


def ledger(path: Path) -> dict[str, int]:
    return dict(query(path, "SELECT status, COUNT(*) FROM deliveries GROUP BY status"))


def test_sigterm_mid_push_loses_nothing_and_the_next_push_finishes(
    base_env: dict[str, str], arxiv: FakeArxiv, telegram: FakeTelegram, tmp_path: Path
):
    path = Path(base_env["DATABASE_PATH"])
    asyncio.run(subscribe_chats(path, CHATS, ["cs.IR"], datetime.now(UTC) - timedelta(hours=1)))
    seed_day(arxiv)
    env = {
        **base_env,
        **arxiv.env(),
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "CATEGORIES": "IR",
        "BROADCAST_RATE": "20",
        "LOG_LEVEL": "INFO",
    }
    fetch = run_cli(env, "fetch", cwd=tmp_path)
    assert fetch.returncode == 0, fetch.stderr

    with (tmp_path / "run.log").open("w") as log:
        run = start_cli(env, "run", cwd=tmp_path, log=log)
        try:
            telegram.wait_for_sync("sendMessage", count=30, timeout=30)
            run.send_signal(signal.SIGTERM)
            stopping = time.monotonic()
            assert run.wait(timeout=15) == 0
            assert time.monotonic() - stopping < 10, "stopping waited for the whole push"
        finally:
            if run.poll() is None:
                run.kill()
    interrupted = ledger(path)
    assert "claimed" not in interrupted, "a stopped push must hand its claims back"
    assert 0 < interrupted.get("sent", 0) < len(CHATS)

    push = run_cli(env, "push", cwd=tmp_path)
    assert push.returncode == 0, push.stderr
    assert ledger(path) == {"sent": len(CHATS)}
    received = {chat_id: len(telegram.sent_messages(chat_id)) for chat_id in CHATS}
    assert min(received.values()) == 1
    repeated = sum(count - 1 for count in received.values())
    assert repeated <= 20, "only messages in flight at the signal may repeat"
    assert "Traceback" not in (tmp_path / "run.log").read_text()
