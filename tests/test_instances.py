"""Several processes for one bot on one database (instances on PostgreSQL, or several on one host
with SQLite): one of them plans, all of them send, each chat gets each part once and in order,
together they stay within BROADCAST_RATE, and webhook instances share the updates."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.announcement import seed_day
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.pushes import CHATS, PARTS, Ledger, announced_database, push_environment, start_push
from tests.support import start_cli, wait_until_sync
from tests.test_e2e_webhook import free_loopback_port, listening

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


def test_two_webhook_instances_share_the_updates_and_the_push(
    telegram: FakeTelegram, arxiv: FakeArxiv, announced: Path, tmp_path: Path
):
    """Two `run` instances behind one proxy (the test plays it, handing updates to each in turn):
    one plans the push, each chat gets its digest once and in order within the rate, and every
    update is answered once, by the instance it was handed to."""
    seed_day(arxiv)
    env = {
        **push_environment(tmp_path, announced, telegram),
        **arxiv.env(),
        "ARXIV_REQUEST_DELAY": "0",
        "LOG_LEVEL": "INFO",
        "RUN_MODE": "webhook",
        "WEBHOOK_URL": "https://bot.example.test/telegram/updates",
        "WEBHOOK_SECRET": "two-instances-Secret_0123456789",
    }
    instances, logs = [], []
    try:
        for name in ("a", "b"):
            port = free_loopback_port()
            logs.append((tmp_path / f"{name}.log").open("w+"))
            process = start_cli(
                {**env, "WEBHOOK_LISTEN": f"127.0.0.1:{port}"}, "run", cwd=tmp_path, log=logs[-1]
            )
            instances.append((process, f"http://127.0.0.1:{port}"))
            wait_until_sync(lambda port=port: listening(port), f"instance {name} never listened", 30)
        telegram.wait_for_sync("sendMessage", count=len(CHATS) * PARTS, timeout=90)

        users = range(5001, 5011)
        for number, user in enumerate(users):
            via = instances[number % 2][1]
            assert (
                telegram.deliver_update(telegram.message_update(user, "/help", user_id=user), via=via) == 200
            )
        for user in users:
            telegram.wait_for_sync("sendMessage", chat_id=user, timeout=20)
        codes = []
        for process, _ in instances:
            process.send_signal(signal.SIGTERM)
            codes.append(process.wait(timeout=30))
    finally:
        for process, _ in instances:
            if process.poll() is None:
                process.kill()
        for log in logs:
            log.close()

    texts = [(tmp_path / f"{name}.log").read_text() for name in ("a", "b")]
    assert codes == [0, 0], texts
    assert all("Traceback" not in text for text in texts)
    assert sum(text.count("push planned") for text in texts) == 1, "one instance plans"
    ledger = Ledger.read(tmp_path / "bot.sqlite3")
    for chat_id in CHATS:
        received = [message.text for message in telegram.sent_messages(chat_id)]
        assert received == [part.text for part in ledger.parts[chat_id]], f"chat {chat_id}: once, in order"
    assert all(len(telegram.sent_messages(user)) == 1 for user in users), "each update answered once"
    assert telegram.peak_sends(1.0) <= RATE
