"""`python -m bot push` processes on a real announced database, and what the ledger says after them.

The database holds a real announcement (ingested with `python -m bot fetch` from the fake arXiv) and
300 private chats subscribed before it, each getting a digest of two messages. Tests stop a push (a
signal, a storage fault) and run another; what the first push sent is told from what the second
sent by the fake having answered it before the second process started.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage import db as database
from storage.chats import ChatRepository
from storage.subscriptions import SubscriptionRepository
from tests.announcement import seed_day
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.postgres_server import copy_database, database_env, database_target, query
from tests.support import CLOSED_PORT

REPO = Path(__file__).resolve().parent.parent
CHATS = range(1001, 1301)
# (categories, digest size): each gives a digest of two messages on the seeded day.
CHOICES = ((["cs.LG"], 0), (["cs.IR", "cs.LG"], 30))
SUBSCRIBED = datetime(2026, 1, 1, tzinfo=UTC)
PARTS = 2
ROUND_TRIP = 0.05  # seconds, as to Telegram
PUSH_ENV = {
    "CATEGORIES": "IR,LG",
    "PAID_BROADCAST": "true",
    "BROADCAST_RATE": "150",
    "PUSH_LEASE": "2",
    "LOG_LEVEL": "WARNING",
}


@dataclass(frozen=True)
class Planned:
    text: str
    status: str
    message_id: int | None


@dataclass(frozen=True)
class Ledger:
    """The deliveries table read directly, with the push process stopped."""

    parts: dict[int, list[Planned]]  # by chat, in sending order
    lease_ends: datetime | None  # when the last claim held by a stopped push runs out
    plans: int  # push_runs rows

    @classmethod
    def read(cls, path: Path) -> Ledger:
        rows = query(
            path,
            "SELECT d.chat_id, c.text, d.status, d.message_id FROM deliveries AS d"
            " JOIN delivery_contents AS c ON c.id = d.content_id ORDER BY d.chat_id, d.announced, d.part",
        )
        ((lease_ends,),) = query(path, "SELECT max(due) FROM deliveries WHERE status = 'claimed'")
        ((plans,),) = query(path, "SELECT COUNT(*) FROM push_runs")
        parts: dict[int, list[Planned]] = {}
        for chat_id, text, status, message_id in rows:
            parts.setdefault(chat_id, []).append(Planned(text, status, message_id))
        return cls(parts, datetime.fromisoformat(lease_ends) if lease_ends else None, plans)

    def sent(self, chat_id: int) -> int:
        return sum(part.status == "sent" for part in self.parts[chat_id])

    def held(self) -> set[int]:
        return {chat_id for chat_id, parts in self.parts.items() if any(p.status == "claimed" for p in parts)}


async def subscribe(path: Path) -> None:
    connection = await database.connect(database_target(path))
    try:
        chats, subscriptions = ChatRepository(connection), SubscriptionRepository(connection)
        for index, chat_id in enumerate(CHATS):
            categories, size = CHOICES[index % len(CHOICES)]
            await chats.register(chat_id, "private", None, "en", SUBSCRIBED)
            await subscriptions.add(chat_id, categories, SUBSCRIBED)
            await chats.set_digest_size(chat_id, size)
    finally:
        await connection.close()


def announced_database(folder: Path) -> Path:
    """A database with the seeded announcement and the subscribed chats (build it once per module)."""
    path = folder / "bot.sqlite3"
    with FakeArxiv() as arxiv:
        seed_day(arxiv)
        env = {**os.environ, "PYTHONPATH": str(REPO), **arxiv.env(), **database_env(path), **PUSH_ENV}
        env["ARXIV_REQUEST_DELAY"] = "0"
        fetched = subprocess.run(
            [sys.executable, "-m", "bot", "fetch"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert fetched.returncode == 0, fetched.stderr
    asyncio.run(subscribe(path))
    return path


def push_environment(tmp_path: Path, announced_database: Path, telegram: FakeTelegram) -> dict[str, str]:
    """Settings for `python -m bot push` on a copy of the announced database, talking to the fake."""
    path = tmp_path / "bot.sqlite3"
    copy_database(announced_database, path)
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        **database_env(path),
        "ARXIV_FEED_URL": f"{CLOSED_PORT}/atom/",
        "ARXIV_API_URL": f"{CLOSED_PORT}/api/query",
        "ARXIV_HTML_URL": f"{CLOSED_PORT}/html/",
        **PUSH_ENV,
    }


def start_push(
    env: dict[str, str], folder: Path, name: str, python: Sequence[str] = ("-m", "bot", "push")
) -> subprocess.Popen[bytes]:
    """`python -m bot push` (or the Python arguments given), its output in `name`.log."""
    with (folder / f"{name}.log").open("wb") as log:
        return subprocess.Popen([sys.executable, *python], cwd=folder, env=env, stdout=log, stderr=log)


def stop_midway(
    telegram: FakeTelegram, env: dict[str, str], folder: Path, stop: signal.Signals, after: int
) -> tuple[int, Ledger]:
    """Start a push, send it `stop` once `after` messages arrived; its exit code and the ledger then."""
    first = start_push(env, folder, "first")
    try:
        telegram.wait_for_sync("sendMessage", count=after, timeout=30)
        first.send_signal(stop)
        exit_code = first.wait(timeout=10)
    finally:
        first.kill()
    answered_everything_received(telegram)
    return exit_code, Ledger.read(Path(env["DATABASE_PATH"]))


def answered_everything_received(telegram: FakeTelegram, within: float = 5.0) -> None:
    """Wait until the fake has answered every request that reached it (it does so for a dead client too)."""
    deadline = time.monotonic() + within
    while telegram.count("sendMessage") < len(telegram.send_times()):
        assert time.monotonic() < deadline, "the fake Telegram did not finish the requests it received"
        time.sleep(0.01)


def finish(env: dict[str, str], folder: Path) -> float:
    """Run the second push to the end; returns the moment it started (time.monotonic)."""
    started = time.monotonic()
    second = start_push(env, folder, "second")
    assert second.wait(timeout=60) == 0, (folder / "second.log").read_text()
    return started


def assert_resumed(telegram: FakeTelegram, at_stop: Ledger, done: Ledger, restarted: float) -> set[int]:
    """Every chat got every part in order, repeating at most the one in flight; returns those chats."""
    assert done.plans == 1, "the second push planned the announcement again"
    in_flight = set()
    for chat_id in CHATS:
        planned = [part.text for part in at_stop.parts[chat_id]]
        messages = telegram.sent_messages(chat_id)
        before = sum(message.time < restarted for message in messages)  # sent by the stopped push
        recorded = at_stop.sent(chat_id)
        assert before - recorded in (0, 1), f"chat {chat_id}: {before} sent, {recorded} recorded"
        if before > recorded:
            in_flight.add(chat_id)
        assert [m.text for m in messages] == planned[:before] + planned[recorded:], f"chat {chat_id}"
        assert [part.status for part in done.parts[chat_id]] == ["sent"] * PARTS
        last_copies = {message.text: message.message_id for message in messages}
        assert [part.message_id for part in done.parts[chat_id]] == [last_copies[text] for text in planned]
    # Delivered messages, not requests: a request cut short by the stopping process may reach the
    # fake without its body, and the fake counts the refusal.
    repeats = len(telegram.sent_messages()) - len(CHATS) * PARTS
    assert repeats == len(in_flight)
    return in_flight
