"""Several processes pushing for one bot on one database (instances on PostgreSQL, or `push` run twice
beside each other on SQLite): one of them plans, all of them send, each chat gets each part once and
in order, and together they stay within BROADCAST_RATE."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.telegram import FakeTelegram
from tests.pushes import CHATS, PARTS, Ledger, announced_database, push_environment, start_push

pytestmark = pytest.mark.e2e

RATE = 150  # PUSH_ENV's BROADCAST_RATE


@pytest.fixture(scope="module")
def announced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return announced_database(tmp_path_factory.mktemp("announced"))


def test_three_pushers_plan_once_send_each_part_once_in_order_within_the_rate_together(
    telegram: FakeTelegram, announced: Path, tmp_path: Path
):
    env = {**push_environment(tmp_path, announced, telegram), "PUSH_LEASE": "30"}
    pushers = [start_push(env, tmp_path, f"pusher-{number}") for number in range(3)]
    for number, pusher in enumerate(pushers):
        assert pusher.wait(timeout=120) == 0, (tmp_path / f"pusher-{number}.log").read_text()

    ledger = Ledger.read(tmp_path / "bot.sqlite3")
    assert ledger.plans == 1
    for chat_id in CHATS:
        parts = ledger.parts[chat_id]
        assert [part.status for part in parts] == ["sent"] * PARTS
        received = [message.text for message in telegram.sent_messages(chat_id)]
        assert received == [part.text for part in parts], f"chat {chat_id}: once each, in order"
    assert telegram.count("sendMessage") == len(CHATS) * PARTS
    assert telegram.peak_sends(1.0) <= RATE
