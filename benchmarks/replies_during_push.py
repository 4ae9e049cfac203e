"""/today response time while the bot plans and sends a 100,000-chat push in the same process.

The real application runs in this process exactly as under `python -m bot run`: its handlers, and its
push job (`run_push` with the Broadcaster the application builds) on the same event loop. The
database is `benchmarks/commands.py`'s cached seed (200,000 papers, 100,000 chats) with the latest
announcement's push forgotten (its `push_runs` row deleted once the measured chats are ready), so the
push job plans and sends it for every chat. The fake Telegram serves from a process of its own
(counters only) so its work, a few hundred requests a second, takes no turns of this process's CPU.

Measured chats (`commands.py`'s: same categories, follows and taps) send /today in turn at a steady
10 a second, each chat under the gateway's 30 updates a minute. A reply's time runs from the update
entering the fake's queue to the bot's sendMessage reaching the fake, both on the fake's clock
(time.monotonic): it includes the bot's getUpdates and any wait for the event loop. Replies are
grouped by phase: at rest (before the push), planning (until the push's `push_runs` row is written,
when `plan_push` returns) and sending (the Broadcaster at work, for `--sending-seconds`). A task that
sleeps 5 ms in a loop records the event loop's longest stall, its lateness beyond those 5 ms.

The CPU one /today costs is `benchmarks/today_cpu.py`'s to measure, at rest and alone.

With `--database postgres` the same database is moved into a throwaway PostgreSQL server first
(as `benchmarks/commands.py` does), and the bot runs on it.

Run from the repository root: `.venv/bin/python benchmarks/replies_during_push.py [--papers N
--chats N --rest-runs N --sending-seconds S --database sqlite|postgres]`. The push runs with
PAID_BROADCAST=true and BROADCAST_RATE=1000, the fastest the bot can be told to send.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._remote_telegram import RemoteTelegram, running_bot  # noqa: E402
from benchmarks._seed import cached_database, copy_database  # noqa: E402
from benchmarks.commands import (  # noqa: E402
    CHAT_ID,
    CHATS,
    FOLLOWS,
    SPACING,
    TODAY_CATEGORIES,
    TOKEN,
    percentile,
    start_up_poll_finished,
    tap_like_a_reader,
)
from bot.cli.migrate import migrate_to_postgres  # noqa: E402
from bot.jobs import CATCH_UP_JOB, request_push  # noqa: E402
from bot.reading import latest_announcement  # noqa: E402
from tests.harness import BotHarness  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402

GOAL_MS = 100.0
STALL_TICK = 0.005  # the stall monitor's sleep
PUSH_SETTINGS = {"PAID_BROADCAST": "true", "BROADCAST_RATE": "1000"}


class StallMonitor:
    """Sleeps STALL_TICK in a loop and keeps the longest lateness of a wake-up: how long the event
    loop was held by something else."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    def reset(self) -> float:
        """The longest stall since the last reset."""
        longest, self.longest = self.longest, 0.0
        return longest

    async def _watch(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(STALL_TICK)
            self.longest = max(self.longest, time.monotonic() - before - STALL_TICK)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class Phase:
    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: list[float] = []
        self.lost = 0
        self.stall = 0.0
        self.seconds = 0.0

    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1000 if self.latencies else float("inf")


class Reader:
    """Sends /today from the measured chats in turn, at most one every SPACING seconds."""

    def __init__(self, telegram: RemoteTelegram) -> None:
        self.telegram = telegram
        self._turn = 0
        self._last = 0.0

    async def today(self, phase: Phase) -> None:
        await asyncio.sleep(max(0.0, self._last + SPACING - time.monotonic()))
        self._last = time.monotonic()
        self._turn += 1
        latency = await self.telegram.exchange(CHAT_ID + self._turn % CHATS, "/today")
        if latency is None:
            phase.lost += 1
        else:
            phase.latencies.append(latency)


async def prepare_chat(harness: BotHarness, telegram: RemoteTelegram, chat_id: int) -> None:
    """As `commands.prepare_chat`, through the fake in its own process."""
    for text in ("/start", f"/subscribe {TODAY_CATEGORIES}", f"/follow {FOLLOWS}"):
        if await telegram.exchange(chat_id, text) is None:
            raise SystemExit(f"no reply to {text} in chat {chat_id}")
    await tap_like_a_reader(harness, chat_id)
    if await telegram.exchange(chat_id, "/today") is None:
        raise SystemExit(f"no reply to /today in chat {chat_id}")
    await harness.services.curation.settled()


async def background_work_finished(harness: BotHarness, timeout: float = 120.0) -> None:  # noqa: ASYNC109
    """The catch-up reads and enrichment the measured chats' subscriptions started are over: the bot
    is at rest."""
    jobs = harness.application.job_queue
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not jobs.get_jobs_by_name(CATCH_UP_JOB) and not harness.services.enrich_lock.locked():
            return
        await asyncio.sleep(0.1)
    raise SystemExit(f"the catch-up the measured chats started did not finish within {timeout:.0f} s")


async def measure(
    database: Path, rest_runs: int, sending_seconds: float, url: str | None
) -> tuple[list[Phase], int]:
    settings = {**PUSH_SETTINGS, **({"DATABASE_URL": url} if url else {})}
    async with running_bot(TOKEN, database, settings) as (harness, telegram):
        monitor = StallMonitor()
        try:
            phases = await _phases(harness, telegram, monitor, rest_runs, sending_seconds)
            sent = await telegram.sends()
        finally:
            await monitor.stop()
    return phases, sent


async def _phases(
    harness: BotHarness,
    telegram: RemoteTelegram,
    monitor: StallMonitor,
    rest_runs: int,
    sending_seconds: float,
) -> list[Phase]:
    await start_up_poll_finished(harness)
    for chat_id in range(CHAT_ID, CHAT_ID + CHATS):
        await prepare_chat(harness, telegram, chat_id)
    await background_work_finished(harness)
    services = harness.services
    announced = await latest_announcement(services.papers, await services.subscriptions.active_categories())
    if announced is None or await services.push_runs.get(announced) is None:
        raise SystemExit("the seeded database has no pushed announcement to push again")
    reader = Reader(telegram)
    rest, planning, sending = Phase("at rest"), Phase("planning"), Phase("sending")
    monitor.start()
    started = time.monotonic()
    for _ in range(rest_runs):
        await reader.today(rest)
    rest.stall, rest.seconds = monitor.reset(), time.monotonic() - started
    await services.db.execute("DELETE FROM push_runs WHERE announced = ?", (announced.isoformat(),))
    await services.db.execute("DELETE FROM deliveries WHERE announced = ?", (announced.isoformat(),))
    request_push(harness.application)
    started = time.monotonic()
    while await services.push_runs.get(announced) is None:
        await reader.today(planning)
    planning.stall, planning.seconds = monitor.reset(), time.monotonic() - started
    started = time.monotonic()
    while time.monotonic() < started + sending_seconds:
        await reader.today(sending)
    sending.stall, sending.seconds = monitor.reset(), time.monotonic() - started
    return [rest, planning, sending]


def report(phases: Sequence[Phase], sent: int, chats: int) -> None:
    print(f"/today while the bot pushes the latest announcement to {chats:,} chats in the same process")
    columns = ("runs", "lost", "p50", "p99", "max", "stall")
    print(f"{'update -> reply (ms)':<22} " + " ".join(f"{name:>6}" for name in columns))
    for phase in phases:
        millis = [value * 1000 for value in phase.latencies] or [float("nan")]
        print(
            f"/today {phase.name:<15} {len(phase.latencies):>6} {phase.lost:>6} "
            f"{statistics.median(millis):>6.1f} {percentile(millis, 0.99):>6.1f} {max(millis):>6.1f} "
            f"{phase.stall * 1000:>6.1f}  over {phase.seconds:.1f} s"
        )
    print(f"(stall: the event loop's longest hold in the phase; the push sent {sent:,} messages meanwhile)")
    busy = [phase for phase in phases if phase.name != "at rest"]
    worst = max(phase.p99_ms() for phase in busy)
    met = worst < GOAL_MS and not any(phase.lost for phase in busy)
    figures = ", ".join(f"{phase.name} {phase.p99_ms():.1f} ms" for phase in busy)
    longest = max(phase.stall for phase in busy) * 1000
    print(
        f"\ngoal /today p99 < {GOAL_MS:.0f} ms during planning and sending: {'met' if met else 'missed'}"
        f" ({figures}; longest stall {longest:.1f} ms)"
    )


async def run(arguments: argparse.Namespace) -> None:
    source, seeded, _ = await cached_database(arguments.papers, arguments.chats)
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "bench.sqlite3"
        copy_database(source, database)
        server = PostgresServer().start() if arguments.database == "postgres" else None
        try:
            url = None
            if server is not None:
                url = server.empty_database()
                await migrate_to_postgres(database, url)
            load_before = os.getloadavg()[0]
            phases, sent = await measure(database, arguments.rest_runs, arguments.sending_seconds, url)
        finally:
            if server is not None:
                server.stop()
    print(f"on {'PostgreSQL' if url else 'SQLite'}")
    report(phases, sent, seeded.chats)
    print(
        f"load average (1 min): {load_before:.1f} before, {os.getloadavg()[0]:.1f} after,"
        f" on {os.cpu_count()} CPUs shared with other work"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=200_000, help="papers in the database")
    parser.add_argument("--chats", type=int, default=100_000, help="chats, each following 1-4 categories")
    parser.add_argument("--rest-runs", type=int, default=200, help="/today runs before the push")
    parser.add_argument("--sending-seconds", type=float, default=60.0, help="seconds measured while sending")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
