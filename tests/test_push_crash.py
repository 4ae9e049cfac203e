"""`python -m bot push` stopped by a signal in the middle of a push, then run again.

The database holds a real announcement (ingested with `python -m bot fetch` from the fake arXiv) and
300 private chats subscribed before it, each getting a digest of two messages. The first push is
stopped once a number of messages reached the fake Telegram, and a second push finishes the job.
A chat may get one message twice: the one Telegram had accepted but the ledger had not recorded
when the process stopped, the message in flight. What the first push sent is told from what the
second sent by the fake having answered it before the second process started.

The rate is a paid broadcast's 150 messages a second, to keep the test short with many chats in
flight; each chat waits a second between its two messages, so the first 300 sends are every chat's
first message and later sends their second.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.chats import ChatRepository
from tests.announcement import seed_day
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.support import open_database, run_cli, start_cli, subscribe_chat, wait_until_sync

pytestmark = pytest.mark.e2e

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
        with contextlib.closing(sqlite3.connect(path)) as connection:
            rows = connection.execute(
                "SELECT d.chat_id, c.text, d.status, d.message_id FROM deliveries AS d"
                " JOIN delivery_contents AS c ON c.id = d.content_id ORDER BY d.chat_id, d.announced, d.part"
            ).fetchall()
            (lease_ends,) = connection.execute(
                "SELECT max(due) FROM deliveries WHERE status = 'claimed'"
            ).fetchone()
            (plans,) = connection.execute("SELECT COUNT(*) FROM push_runs").fetchone()
        parts: dict[int, list[Planned]] = {}
        for chat_id, text, status, message_id in rows:
            parts.setdefault(chat_id, []).append(Planned(text, status, message_id))
        return cls(parts, datetime.fromisoformat(lease_ends) if lease_ends else None, plans)

    def sent(self, chat_id: int) -> int:
        return sum(part.status == "sent" for part in self.parts[chat_id])

    def held(self) -> set[int]:
        return {chat_id for chat_id, parts in self.parts.items() if any(p.status == "claimed" for p in parts)}


async def subscribe(path: Path) -> None:
    async with open_database(path) as connection:
        for index, chat_id in enumerate(CHATS):
            categories, size = CHOICES[index % len(CHOICES)]
            await subscribe_chat(connection, chat_id, categories, SUBSCRIBED, language="en")
            await ChatRepository(connection).set_digest_size(chat_id, size)


@pytest.fixture(scope="module")
def announced_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the seeded announcement and the subscribed chats, built once for the module."""
    folder = tmp_path_factory.mktemp("announced")
    path = folder / "bot.sqlite3"
    with FakeArxiv() as arxiv:
        seed_day(arxiv)
        env = {**arxiv.env(), "DATABASE_PATH": str(path), **PUSH_ENV, "ARXIV_REQUEST_DELAY": "0"}
        fetched = run_cli(env, "fetch", cwd=folder)
    assert fetched.returncode == 0, fetched.stderr
    asyncio.run(subscribe(path))
    return path


@pytest.fixture
def push_env(base_env: dict[str, str], announced_database: Path, telegram: FakeTelegram) -> dict[str, str]:
    """Settings for `python -m bot push` on a copy of the announced database, talking to the fake."""
    with (
        contextlib.closing(sqlite3.connect(announced_database)) as source,
        contextlib.closing(sqlite3.connect(base_env["DATABASE_PATH"])) as copy,
    ):
        source.backup(copy)
    return {**base_env, "TELEGRAM_API_BASE_URL": telegram.base_url, **PUSH_ENV}


def start_push(env: dict[str, str], folder: Path, name: str) -> subprocess.Popen[bytes]:
    with (folder / f"{name}.log").open("wb") as log:
        return start_cli(env, "push", cwd=folder, log=log)


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
    wait_until_sync(
        lambda: telegram.count("sendMessage") >= len(telegram.send_times()),
        "the fake Telegram did not finish the requests it received",
        within,
    )


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


def test_a_killed_push_resumes_after_its_lease_repeating_at_most_the_messages_in_flight(
    telegram: FakeTelegram, push_env: dict[str, str], tmp_path: Path
):
    """Killed while second messages go out: its claims stand until the lease the ledger records."""
    exit_code, at_stop = stop_midway(telegram, push_env, tmp_path, signal.SIGKILL, after=400)
    assert exit_code == -signal.SIGKILL
    assert at_stop.plans == 1 and set(at_stop.parts) == set(CHATS)
    assert all(len(parts) == PARTS for parts in at_stop.parts.values())
    assert at_stop.lease_ends is not None, "a killed push cannot release its claims"
    assert 400 <= telegram.count("sendMessage") < len(CHATS) * PARTS

    # Until then the chats are not claimable: the wait is read from the ledger, not guessed.
    time.sleep(max(0.0, (at_stop.lease_ends - datetime.now(UTC)).total_seconds()) + 0.01)
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
