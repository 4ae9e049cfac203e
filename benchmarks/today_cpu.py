"""The bot's CPU time for one /today at rest, for a chat without personal signals and for one with
follows and a trained model.

The real application runs in this process on `benchmarks/commands.py`'s cached seed (200,000 papers,
100,000 chats). The fake Telegram serves from a process of its own (counters only), which pushes the
updates and waits for the replies, so its work is not counted against the bot; one pipe message starts
a whole round. Measured chats follow commands.py's categories: the plain ones only that, the personal
ones also commands.py's follows and taps (their model ranks /today).

A round sends `--runs` /today from chats of one kind in turn, 5 a second (each chat well under the
gateway's 30 updates a minute, every message under the send limiter's rate), then waits a moment for
the last reply's work to end. Its CPU is this process's (getrusage: every thread, the database's
included, user and system time) over the round, less what the same process spends idle over the
same wall time right after (long polling, the job queue); divided by the runs. The event loop's
thread alone (time.thread_time) is shown too, and the system time: sending to a server on loopback
costs the sender the kernel's work of both ends, more than a send to Telegram would. Rounds
alternate between the kinds; the median round of each kind is printed, with the spread of the
rounds, since other work on shared CPUs makes single rounds noisy.

Run from the repository root: `.venv/bin/python benchmarks/today_cpu.py [--papers N --chats N
--runs N --rounds N --profile]`. `--profile` prints cProfile's view of one more round of each
kind, on the CPU clock of the event loop's thread.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._remote_telegram import RemoteTelegram, running_bot  # noqa: E402
from benchmarks._seed import cached_database, copy_database  # noqa: E402
from benchmarks.commands import (  # noqa: E402
    CHAT_ID,
    CHATS,
    TODAY_CATEGORIES,
    TOKEN,
    start_up_poll_finished,
)
from benchmarks.replies_during_push import background_work_finished, prepare_chat  # noqa: E402
from tests.harness import BotHarness  # noqa: E402

GOAL_MS = 5.0
PLAIN_CHAT_ID = CHAT_ID + CHATS  # plain chats follow the personal ones: 82, 83, ...
# A /today is a few messages (four at the default size): 5 a second stay under the 30 messages a
# second the bot's send limiter keeps, so replies seldom wait for a slot.
SPACING = 0.2
SETTLE = 0.3  # seconds after a round's last reply, for the work that follows a sendMessage
PROFILE_LINES = 40


@dataclass
class Kind:
    name: str
    first_chat: int
    per_request_ms: list[float] = field(default_factory=list)
    loop_ms: list[float] = field(default_factory=list)  # the event loop's thread alone
    system_ms: list[float] = field(default_factory=list)  # in the kernel: sockets, wake-ups
    latencies: list[float] = field(default_factory=list)
    lost: int = 0

    def chats(self, runs: int, turn: int) -> list[int]:
        return [self.first_chat + (turn * runs + index) % CHATS for index in range(runs)]


async def measured_round(telegram: RemoteTelegram, kind: Kind, runs: int, turn: int) -> None:
    """One round of `kind`: its CPU per /today, above what the idle process spends in the same time."""
    cpu, loop, wall = _cpu(), time.thread_time(), time.monotonic()
    latencies = await telegram.round(kind.chats(runs, turn), "/today", SPACING)
    await asyncio.sleep(SETTLE)
    busy, busy_loop = _cpu() - cpu, time.thread_time() - loop
    wall = time.monotonic() - wall
    cpu, loop = _cpu(), time.thread_time()
    await asyncio.sleep(wall)
    idle, idle_loop = _cpu() - cpu, time.thread_time() - loop
    kind.per_request_ms.append((busy.total - idle.total) / runs * 1000)
    kind.system_ms.append((busy.system - idle.system) / runs * 1000)
    kind.loop_ms.append((busy_loop - idle_loop) / runs * 1000)
    kind.latencies += [latency for latency in latencies if latency is not None]
    kind.lost += sum(latency is None for latency in latencies)


class Usage(NamedTuple):
    user: float
    system: float

    def __sub__(self, other: Usage) -> Usage:  # type: ignore[override]
        return Usage(self.user - other.user, self.system - other.system)

    @property
    def total(self) -> float:
        return self.user + self.system


def _cpu() -> Usage:
    """This process's CPU seconds so far, every thread: in Python and C, and in the kernel."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return Usage(usage.ru_utime, usage.ru_stime)


async def prepare(harness: BotHarness, telegram: RemoteTelegram) -> None:
    await start_up_poll_finished(harness)
    for chat_id in range(CHAT_ID, CHAT_ID + CHATS):
        await prepare_chat(harness, telegram, chat_id)  # type: ignore[arg-type]
    for chat_id in range(PLAIN_CHAT_ID, PLAIN_CHAT_ID + CHATS):
        for text in ("/start", f"/subscribe {TODAY_CATEGORIES}", "/today"):
            if await telegram.exchange(chat_id, text) is None:
                raise SystemExit(f"no reply to {text} in chat {chat_id}")
    await background_work_finished(harness)
    await harness.services.curation.settled()


async def measure(database: Path, runs: int, rounds: int, profile: bool) -> list[Kind]:
    kinds = [Kind("no personal signals", PLAIN_CHAT_ID), Kind("follows and model", CHAT_ID)]
    async with running_bot(TOKEN, database) as (harness, telegram):
        await prepare(harness, telegram)
        for kind in kinds:  # warm-up: every chat once more
            await telegram.round(kind.chats(CHATS, 0), "/today", SPACING)
        for turn in range(rounds):
            for kind in kinds:
                await measured_round(telegram, kind, runs, turn)
        if profile:
            for kind in kinds:
                await profiled_round(telegram, kind, runs)
    return kinds


async def profiled_round(telegram: RemoteTelegram, kind: Kind, runs: int) -> None:
    """cProfile of the event loop's thread over one round, on that thread's CPU clock (time spent
    waiting is left out; the database's thread is not seen, only the waits for it)."""
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    await telegram.round(kind.chats(runs, 0), "/today", SPACING)
    await asyncio.sleep(SETTLE)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
    print(f"--- /today, {kind.name}: {runs} runs, CPU of the event loop's thread")
    print(out.getvalue())


def report(kinds: Sequence[Kind], runs: int) -> None:
    print(f"CPU of one /today at rest (ms, this process less its idle CPU; {runs} runs a round)")
    print(
        f"{'chat':<22} {'rounds':>6} {'median':>7} {'min':>6} {'max':>6} {'loop':>6} {'kernel':>6}"
        "  reply p50 ms  lost"
    )
    for kind in kinds:
        figures = kind.per_request_ms
        print(
            f"{kind.name:<22} {len(figures):>6} {statistics.median(figures):>7.2f} {min(figures):>6.2f} "
            f"{max(figures):>6.2f} {statistics.median(kind.loop_ms):>6.2f}"
            f" {statistics.median(kind.system_ms):>6.2f}"
            f"  {statistics.median(kind.latencies) * 1000:>11.1f}  {kind.lost:>4}"
        )
    print(
        "(medians of the rounds. loop: the event loop's thread, the rest is the database's thread;"
        " kernel: of the whole, system time, mostly loopback sockets and thread wake-ups)"
    )
    for kind in kinds:
        median = statistics.median(kind.per_request_ms)
        verdict = "met" if median < GOAL_MS else "missed"
        print(f"goal /today CPU < {GOAL_MS:.0f} ms ({kind.name}): {verdict} (median {median:.2f} ms)")


async def run(arguments: argparse.Namespace) -> None:
    source, seeded, _ = await cached_database(arguments.papers, arguments.chats)
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "bench.sqlite3"
        copy_database(source, database)
        load_before = os.getloadavg()[0]
        kinds = await measure(database, arguments.runs, arguments.rounds, arguments.profile)
    print(f"database: {seeded.papers:,} papers, {seeded.chats:,} chats; chats follow {TODAY_CATEGORIES}")
    report(kinds, arguments.runs)
    print(
        f"load average (1 min): {load_before:.1f} before, {os.getloadavg()[0]:.1f} after,"
        f" on {os.cpu_count()} CPUs shared with other work"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=200_000, help="papers in the database")
    parser.add_argument("--chats", type=int, default=100_000, help="chats, each following 1-4 categories")
    parser.add_argument("--runs", type=int, default=60, help="/today in each measured round")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds of each kind of chat")
    parser.add_argument("--profile", action="store_true", help="profile one more round of each kind")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
