"""Throughput, CPU and memory of `python -m bot push`, and the rate it keeps with the limit on.

Each push is a real `python -m bot push` process against the fake Telegram server, which serves
from a process of its own (counters only, record_calls=False) so its work is not counted against
the bot. The database is seeded with `benchmarks/_seed.py`: one announcement day of the followed
categories and N chats following 1-4 categories each, at the default digest size (two messages a
chat). The push is planned beforehand in this process, so the pushing process only sends. Its CPU
time comes from wait4(), its peak memory from /proc (VmHWM), messages per second from the arrival
at the fake of the first and the last sendMessage. Without the limit the push runs with
PAID_BROADCAST=true and BROADCAST_RATE=1000; one more run answers every sendMessage after a delay,
like a round trip to Telegram, so that many requests are in flight at once.

Run from the repository root: `.venv/bin/python benchmarks/push.py [--chats N ...]
[--slow-chats N] [--limited-chats N] [--profile]`. The defaults take about four minutes, most
of it the push to 100,000 chats (190,000 messages at up to 1,000 a second).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import multiprocessing
import os
import pstats
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._seed import create_schema, seed  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.push.planning import plan_push  # noqa: E402
from bot.reading import latest_announcement  # noqa: E402
from bot.services import Services  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

TOKEN = "123456789:BENCH-token-abcdefghijklmnopqrstuv"
CLOSED_PORT = "http://127.0.0.1:9"
PAPERS = 800  # one announcement day
UNLIMITED = {"PAID_BROADCAST": "true", "BROADCAST_RATE": "1000"}
FREE_RATE = 30
LIMITED = {"PAID_BROADCAST": "false", "BROADCAST_RATE": str(FREE_RATE)}
GOAL_RATE = 1000
GOAL_MEMORY_MB = 300
MEMORY_POLL = 0.1  # seconds between readings of the pushing process's peak memory


@dataclass(frozen=True, slots=True)
class FakeFigures:
    sends: int
    first: float  # time.monotonic() in the fake's process
    last: float
    peak_second: int  # most sendMessage requests that arrived within any one second
    tightest: float  # shortest time in which FREE_RATE + 1 requests arrived
    cpu: float  # the fake's own CPU seconds


@dataclass(frozen=True, slots=True)
class PushFigures:
    wall: float  # process start to exit
    cpu: float
    peak_mb: float
    fake: FakeFigures

    @property
    def rate(self) -> float:
        """Messages per second between the first and the last send."""
        span = self.fake.last - self.fake.first
        return (self.fake.sends - 1) / span if span > 0 else 0.0


def serve_telegram(commands: Connection, delay: float) -> None:
    """The fake Telegram server's process: answers "figures" over the pipe until told to stop."""
    with FakeTelegram(token=TOKEN, record_calls=False) as fake:
        fake.set_delay("sendMessage", delay)
        commands.send(fake.base_url)
        while commands.recv() == "figures":
            times = fake.send_times()
            spans = [later - earlier for earlier, later in zip(times, times[FREE_RATE:], strict=False)]
            usage = resource.getrusage(resource.RUSAGE_SELF)
            commands.send(
                FakeFigures(
                    sends=len(times),
                    first=times[0] if times else 0.0,
                    last=times[-1] if times else 0.0,
                    peak_second=fake.peak_sends(1.0),
                    tightest=min(spans, default=float("inf")),
                    cpu=usage.ru_utime + usage.ru_stime,
                )
            )


class TelegramProcess:
    """A FakeTelegram in a process of its own, answering sendMessage after `delay` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def __enter__(self) -> TelegramProcess:
        context = multiprocessing.get_context("spawn")
        self._commands, child = context.Pipe()
        self._process = context.Process(target=serve_telegram, args=(child, self.delay), daemon=True)
        self._process.start()
        self.base_url: str = self._commands.recv()
        return self

    def figures(self) -> FakeFigures:
        self._commands.send("figures")
        return self._commands.recv()

    def __exit__(self, *exc_info: object) -> None:
        self._commands.send("stop")
        self._process.join()


def environment(database: Path, base_url: str, limits: dict[str, str]) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": base_url,
        "DATABASE_PATH": str(database),
        "ARXIV_FEED_URL": f"{CLOSED_PORT}/atom/",
        "ARXIV_API_URL": f"{CLOSED_PORT}/api/query",
        "ARXIV_HTML_URL": f"{CLOSED_PORT}/html/",
        "LOG_LEVEL": "WARNING",
        **limits,
    }


async def prepare(database: Path, chats: int) -> tuple[int, int, float]:
    """Seed `chats` chats and plan the announcement's push; (chats, messages, seconds planning took)."""
    await create_schema(database)
    seed(database, papers=PAPERS, chats=chats, latest_pushed=False)
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("UPDATE chats SET digest_size = NULL")  # the default size for every chat
    settings = load_settings(environment(database, f"{CLOSED_PORT}/bot", {}), env_file=None)
    async with Services.open(settings) as services:
        announced = await latest_announcement(services.papers, settings.categories)
        if announced is None:
            raise SystemExit("the seeded database holds no announcement")
        started = time.perf_counter()
        planned = await plan_push(services, announced)
        return planned.chats, planned.messages, time.perf_counter() - started


def unsent(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return connection.execute("SELECT COUNT(*) FROM deliveries WHERE status != 'sent'").fetchone()[0]


def push(
    database: Path, limits: dict[str, str], delay: float = 0.0, profile: Path | None = None
) -> PushFigures:
    """Run `python -m bot push` to the end against a fresh fake; its figures and the fake's."""
    folder = database.parent
    profiler = ["-m", "cProfile", "-o", str(profile)] if profile else []
    with TelegramProcess(delay) as telegram, (folder / "push.log").open("w+") as log:
        env = {**os.environ, "PYTHONPATH": str(ROOT), **environment(database, telegram.base_url, limits)}
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, *profiler, "-m", "bot", "push"], cwd=folder, env=env, stdout=log, stderr=log
        )
        peak_kb = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak_kb = max(peak_kb, memory_high_water(process.pid))
            time.sleep(MEMORY_POLL)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        left = unsent(database)
        if process.returncode != 0 or left:
            log.seek(0)
            raise SystemExit(
                f"python -m bot push exited {process.returncode} and left {left} messages unsent:\n"
                + log.read()[-3000:]
            )
        fake = telegram.figures()
    return PushFigures(wall, usage.ru_utime + usage.ru_stime, peak_kb / 1024, fake)


def memory_high_water(pid: int) -> int:
    """The process's peak resident memory so far in kB (VmHWM), 0 once it has exited.

    wait4's ru_maxrss would not do: it includes the memory of this process, which the child was
    forked from before it started Python.
    """
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def idle_push() -> PushFigures:
    """A push with nothing due: what starting and stopping the process costs."""
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "push.sqlite3"
        asyncio.run(create_schema(database))
        return push(database, UNLIMITED)


def unlimited_push(chats: int, delay: float, idle: PushFigures, profile: bool) -> PushFigures:
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "push.sqlite3"
        planned, messages, planning = asyncio.run(prepare(database, chats))
        answer = f", Telegram answering after {delay * 1000:.0f} ms" if delay else ""
        print(f"\n{chats:,} chats{answer}")
        print(
            f"  planning (in this process): {planned:,} chats, {messages:,} messages in {planning:.1f} s, "
            f"{planned / planning:,.0f} chats/s"
        )
        figures = push(database, UNLIMITED, delay, Path(folder) / "push.prof" if profile else None)
        sends = figures.fake.sends
        sending_cpu = figures.cpu - idle.cpu
        print(
            f"  sent {sends:,} messages at {figures.rate:,.0f} messages/s "
            f"({figures.wall:.1f} s from process start to exit)"
        )
        print(
            f"  CPU: {figures.cpu:.1f} s, {1000 * figures.cpu / sends:.2f} s per 1,000 messages "
            f"({1000 * sending_cpu / sends:.2f} s without start-up), {figures.cpu / figures.wall:.0%} of a "
            f"core; one busy core would send {sends / sending_cpu:,.0f} messages/s"
        )
        print(f"  peak memory: {figures.peak_mb:.0f} MB (the fake used {figures.fake.cpu:.1f} CPU s)")
        if profile:
            print_profile(Path(folder) / "push.prof")
    return figures


def limited_push(chats: int) -> PushFigures:
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "push.sqlite3"
        _, messages, _ = asyncio.run(prepare(database, chats))
        figures = push(database, LIMITED)
    print(f"\nlimit on (BROADCAST_RATE={FREE_RATE}), {chats:,} chats, {messages:,} messages")
    print(
        f"  {figures.rate:.1f} messages/s; most arriving within any one second: {figures.fake.peak_second}; "
        f"{FREE_RATE + 1} in a row never arrived within less than {figures.fake.tightest:.3f} s"
    )
    return figures


def print_profile(path: Path, lines: int = 25) -> None:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats(lines)
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--chats", type=int, nargs="+", default=[10_000, 100_000], help="chats of each push without the limit"
    )
    parser.add_argument(
        "--slow-chats", type=int, default=2_000, help="chats of the push with a delayed Telegram (0: skip)"
    )
    parser.add_argument("--delay", type=float, default=0.05, help="seconds the delayed Telegram waits")
    parser.add_argument("--limited-chats", type=int, default=300, help="chats of the push at 30 messages/s")
    parser.add_argument("--profile", action="store_true", help="profile each unlimited push (cProfile)")
    arguments = parser.parse_args()

    idle = idle_push()
    print(f"idle push (nothing due): {idle.cpu:.2f} CPU s, {idle.peak_mb:.0f} MB, {idle.wall:.1f} s")
    runs = [unlimited_push(chats, 0.0, idle, arguments.profile) for chats in arguments.chats]
    if arguments.slow_chats:
        runs.append(unlimited_push(arguments.slow_chats, arguments.delay, idle, arguments.profile))
    limited = limited_push(arguments.limited_chats)

    slowest = min(run.rate for run in runs)
    capacity = min(run.fake.sends / (run.cpu - idle.cpu) for run in runs)
    largest = max(run.peak_mb for run in runs)
    print()
    print(
        f"goal >= {GOAL_RATE:,} messages/s on one core: {verdict(capacity >= GOAL_RATE)} "
        f"(slowest push {slowest:,.0f} messages/s; one busy core {capacity:,.0f} messages/s)"
    )
    print(f"goal peak memory < {GOAL_MEMORY_MB} MB: {verdict(largest < GOAL_MEMORY_MB)} ({largest:.0f} MB)")
    print(
        f"goal at most {FREE_RATE} in any second: {verdict(limited.fake.peak_second <= FREE_RATE)} "
        f"({limited.fake.peak_second})"
    )


def verdict(met: bool) -> str:
    return "met" if met else "missed"


if __name__ == "__main__":
    main()
