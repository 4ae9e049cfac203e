"""`python -m bot push` stopped by a signal in the middle of a push, then run again at once.

A chat may get one message twice: the one Telegram had accepted but the ledger had not recorded
when the process stopped, the message in flight. The database and the processes are those of
`tests/pushes.py`.

The rate is a paid broadcast's 150 messages a second, to keep the test short with many chats in
flight; each chat waits a second between its two messages, so the first 300 sends are every chat's
first message and later sends their second.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage import db as database
from storage.chats import ChatRepository
from tests.fakes.telegram import FakeTelegram
from tests.postgres_server import database_target, query
from tests.pushes import (
    CHATS,
    PARTS,
    REPO,
    ROUND_TRIP,
    SUBSCRIBED,
    Ledger,
    announced_database,
    answered_everything_received,
    assert_resumed,
    finish,
    push_environment,
    stop_midway,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def announced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return announced_database(tmp_path_factory.mktemp("announced"))


@pytest.fixture
def push_env(tmp_path: Path, announced: Path, telegram: FakeTelegram) -> dict[str, str]:
    return push_environment(tmp_path, announced, telegram)


def test_a_push_run_right_after_a_sigkill_serves_every_chat_repeating_at_most_the_messages_in_flight(
    telegram: FakeTelegram, push_env: dict[str, str], tmp_path: Path
):
    """Killed while second messages go out, holding claims for a minute: the next push, started at
    once on the same host, finds the holder's process gone and takes its chats over."""
    push_env = {**push_env, "PUSH_LEASE": "60"}
    exit_code, at_stop = stop_midway(telegram, push_env, tmp_path, signal.SIGKILL, after=400)
    assert exit_code == -signal.SIGKILL
    assert at_stop.plans == 1 and set(at_stop.parts) == set(CHATS)
    assert all(len(parts) == PARTS for parts in at_stop.parts.values())
    assert at_stop.held(), "a killed push cannot release its claims"
    assert 400 <= telegram.count("sendMessage") < len(CHATS) * PARTS

    restarted = finish(push_env, tmp_path)

    in_flight = assert_resumed(telegram, at_stop, Ledger.read(tmp_path / "bot.sqlite3"), restarted)
    assert in_flight <= at_stop.held()


def test_sigterm_stops_a_push_cleanly_and_the_next_resumes_at_once(
    telegram: FakeTelegram, push_env: dict[str, str], tmp_path: Path
):
    """Stopped while first messages go out and chats wait for them to be recorded before their second."""
    telegram.set_delay("sendMessage", ROUND_TRIP)  # so that requests are on their way at the signal
    exit_code, at_stop = stop_midway(telegram, push_env, tmp_path, signal.SIGTERM, after=250)
    log = (tmp_path / "first.log").read_text()
    assert exit_code == 0, log
    assert "Traceback" not in log
    assert "push stopped: what was sent is recorded" in log
    assert at_stop.held() == set() and at_stop.lease_ends is None, "a stopped push hands its claims back"
    assert 250 <= telegram.count("sendMessage") < len(CHATS) * PARTS

    restarted = finish(push_env, tmp_path)

    assert_resumed(telegram, at_stop, Ledger.read(tmp_path / "bot.sqlite3"), restarted)


OPERATOR = 7
ANNOUNCEMENT = "Maintenance tonight at 22:00 UTC"
REACHED = range(2001, 2101)


async def register(path: Path) -> None:
    db = await database.connect(database_target(path))
    try:
        for chat_id in REACHED:
            await ChatRepository(db).register(chat_id, "private", None, None, SUBSCRIBED)
    finally:
        await db.close()


def bot_process(env: dict[str, str], folder: Path, name: str) -> subprocess.Popen[bytes]:
    with (folder / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=folder,
            env={**os.environ, "PYTHONPATH": str(REPO), **env},
            stdout=log,
            stderr=log,
        )


def broadcast_rows(path: Path) -> dict[int, str]:
    return dict(query(path, "SELECT chat_id, status FROM deliveries WHERE broadcast_id IS NOT NULL"))


def test_a_broadcast_cut_by_sigkill_is_finished_by_the_restarted_bot_and_reported_once(
    base_env: dict[str, str], telegram: FakeTelegram, tmp_path: Path
):
    path = Path(base_env["DATABASE_PATH"])
    asyncio.run(register(path))
    env = {
        **base_env,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "ADMIN_IDS": str(OPERATOR),
        "BROADCAST_RATE": "20",
        "PUSH_LEASE": "60",
        "LOG_LEVEL": "INFO",
    }
    first = bot_process(env, tmp_path, "first")
    try:
        telegram.wait_until_polling_sync(timeout=30)
        asked = telegram.message_update(OPERATOR, f"/broadcast {ANNOUNCEMENT}", user_id=OPERATOR)
        telegram.push_update(asked)
        telegram.wait_for_sync("sendMessage", chat_id=OPERATOR, timeout=10)
        [preview] = telegram.sent_messages(OPERATOR)
        send = preview.buttons[0]["callback_data"]
        telegram.push_update(telegram.callback_update(OPERATOR, preview.message_id, send, user_id=OPERATOR))
        telegram.wait_for_sync("sendMessage", predicate=lambda c: c.params["text"] == ANNOUNCEMENT, count=30)
        first.kill()
        first.wait(timeout=10)
    finally:
        first.kill()
    answered_everything_received(telegram)
    at_kill = broadcast_rows(path)
    assert "claimed" in at_kill.values(), "killed while holding chats"

    restarted = time.monotonic()
    second = bot_process(env, tmp_path, "second")
    try:
        [report] = telegram.wait_for_sync(
            "sendMessage", chat_id=OPERATOR, predicate=lambda call: "done" in call.params["text"], timeout=30
        )
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0
    finally:
        second.kill()
    reached = [*REACHED, OPERATOR]
    assert report.params["text"] == (
        f"Broadcast done: {len(reached)} sent, 0 failed, 0 deactivated (bot blocked or removed)."
    )
    in_flight = 0
    for chat_id in reached:
        moments = [m.time for m in telegram.sent_messages(chat_id) if m.text == ANNOUNCEMENT]
        before = sum(moment < restarted for moment in moments)
        recorded = at_kill[chat_id] == "sent"
        assert before - recorded in (0, 1) and len(moments) == 1 + before - recorded, f"chat {chat_id}"
        in_flight += before - recorded
    assert broadcast_rows(path) == dict.fromkeys(reached, "sent")
    assert in_flight <= 2 * 64
    log = (tmp_path / "second.log").read_text()
    assert "took over" in log and "Traceback" not in log
