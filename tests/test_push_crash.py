"""`python -m bot push` stopped by a signal in the middle of a push, then run again at once.

A chat may get one message twice: the one Telegram had accepted but the ledger had not recorded
when the process stopped, the message in flight. The database and the processes are those of
`tests/pushes.py`.

The rate is a paid broadcast's 150 messages a second, to keep the test short with many chats in
flight; each chat waits a second between its two messages, so the first 300 sends are every chat's
first message and later sends their second.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegram
from tests.pushes import (
    CHATS,
    PARTS,
    ROUND_TRIP,
    Ledger,
    announced_database,
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
    assert exit_code == 128 + signal.SIGTERM, log
    assert "Traceback" not in log
    assert "push stopped: what was sent is recorded" in log
    assert at_stop.held() == set() and at_stop.lease_ends is None, "a stopped push hands its claims back"
    assert 250 <= telegram.count("sendMessage") < len(CHATS) * PARTS

    restarted = finish(push_env, tmp_path)

    assert_resumed(telegram, at_stop, Ledger.read(tmp_path / "bot.sqlite3"), restarted)
