"""Throughput, CPU and memory of `python -m bot push`, against a naive loop, and the rate it keeps.

Each push is a real `python -m bot push` process against the fake Telegram server, which serves
from a process of its own (counters only, record_calls=False) so its work is not counted against
the bot. The database is seeded with `benchmarks/_seed.py`: one announcement day of the followed
categories and N chats following 1-4 categories each, at the default digest size (two messages a
chat). CPU time comes from wait4(), peak memory from /proc (VmHWM), messages per second from the
arrival at the fake of the first and the last sendMessage.

Every run first compares, on the same seeded chats and each against a fresh fake, the CPU per
message of `python -m bot push` planning and sending, and of the loop a user would write with
python-telegram-bot (`benchmarks/_naive_push.py`: the same messages, rendered once per distinct
choice, sent one after another with `Bot.send_message`). Both processes are counted whole, start-up
included, on the project's cached bytecode (`benchmarks/_bytecode.py`). The other pushes are
planned beforehand in this process, so the pushing process only sends. Without the limit a push
runs with PAID_BROADCAST=true and BROADCAST_RATE=1000; one more run answers every sendMessage after
a delay, like a round trip to Telegram, so that many requests are in flight at once.

The realistic push is last: `_seed.py`'s year (200,000 papers, 100,000 chats, a tenth of them with a
digest size of their own, `all` among them), planned and sent by one `python -m bot push`. It prints
the process's peak resident memory (VmHWM), what the day adds to the ledger (its tables' and
indexes' pages, from SQLite's dbstat) per message, and what is left of it once pruned.

Run from the repository root: `.venv/bin/python benchmarks/push.py [--compared-chats N]
[--chats N ...] [--slow-chats N] [--limited-chats N] [--realistic also|only|no] [--profile]`. The
defaults take about twenty minutes, ten of them the realistic push (350,000 messages, the last
chats' long digests paced at a message a second, 20 a minute in groups).
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._bytecode import compile_project  # noqa: E402
from benchmarks._seed import cached_database, copy_database, create_schema, seed  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.push.planning import plan_push  # noqa: E402
from bot.reading import latest_announcement  # noqa: E402
from bot.services import Services  # noqa: E402
from storage.db import connect  # noqa: E402
from storage.deliveries import DeliveryLedger  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

TOKEN = "123456789:BENCH-token-abcdefghijklmnopqrstuv"
CLOSED_PORT = "http://127.0.0.1:9"
PAPERS = 800  # one announcement day
UNLIMITED = {"PAID_BROADCAST": "true", "BROADCAST_RATE": "1000"}
FREE_RATE = 30
LIMITED = {"PAID_BROADCAST": "false", "BROADCAST_RATE": str(FREE_RATE)}
GOAL_RATE = 1000
GOAL_MEMORY_MB = 300
AIM_MEMORY_MB = 200
GOAL_CPU_MS = 1.0  # per message, planning included, and no more than the naive loop's
NAIVE = ROOT / "benchmarks" / "_naive_push.py"
MEMORY_POLL = 0.1  # seconds between readings of the pushing process's peak memory
REALISTIC = (200_000, 100_000)  # papers (a year), chats: _seed's mix of digest sizes, `all` included
LEDGER = ("deliveries", "delivery_contents", "broadcasts")  # tables; their indexes are counted with them


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


async def seeded(database: Path, chats: int) -> None:
    """`chats` chats following the latest announcement, whose push is not planned yet."""
    await create_schema(database)
    seed(database, papers=PAPERS, chats=chats, latest_pushed=False)
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("UPDATE chats SET digest_size = NULL")  # the default size for every chat


async def prepare(database: Path, chats: int) -> tuple[int, int, float]:
    """Seed `chats` chats and plan the announcement's push; (chats, messages, seconds planning took)."""
    await seeded(database, chats)
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


def bot_push(base_url: str) -> Sequence[str]:
    return ["-m", "bot", "push"]


def push(
    database: Path,
    limits: dict[str, str],
    delay: float = 0.0,
    profile: Path | None = None,
    command: Callable[[str], Sequence[str]] = bot_push,
) -> PushFigures:
    """Run `python -m bot push` (or `command`, given the fake's URL) to the end against a fresh fake."""
    folder = database.parent
    profiler = ["-m", "cProfile", "-o", str(profile)] if profile else []
    with TelegramProcess(delay) as telegram, (folder / "push.log").open("w+") as log:
        env = {**os.environ, "PYTHONPATH": str(ROOT), **environment(database, telegram.base_url, limits)}
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, *profiler, *command(telegram.base_url)],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=log,
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


def ledger_bytes(database: Path) -> int:
    """Bytes of the pages the ledger's tables and indexes use (SQLite's dbstat)."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        indexes = [
            row[0]
            for row in connection.execute(
                f"SELECT name FROM sqlite_master WHERE tbl_name IN {LEDGER} AND type = 'index'"
            )
        ]
        names = ", ".join("?" * (len(LEDGER) + len(indexes)))
        query = f"SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN ({names})"
        return connection.execute(query, (*LEDGER, *indexes)).fetchone()[0]


def file_bytes(database: Path) -> tuple[int, int]:
    """(the database's size, its free pages) in bytes."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, free, size = connection.execute(
            "SELECT * FROM pragma_page_count, pragma_freelist_count, pragma_page_size"
        ).fetchone()
    return pages * size, free * size


async def prune_all(database: Path, before: date) -> int:
    connection = await connect(database)
    try:
        return (await DeliveryLedger(connection).prune(before)).parts
    finally:
        await connection.close()


def realistic_push(profile: bool) -> PushFigures:
    """The 100,000-chat push of `_seed.py`'s year: digest sizes as chats set them (10% their own, `all`
    among them); the peak memory of the pushing process, and what a day of it adds to the ledger."""
    papers, chats = REALISTIC
    source, _, _ = asyncio.run(cached_database(papers, chats, latest_pushed=False))
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "push.sqlite3"
        copy_database(source, database)
        before = ledger_bytes(database)
        figures = push(database, UNLIMITED, profile=Path(folder) / "push.prof" if profile else None)
        after = ledger_bytes(database)
        with contextlib.closing(sqlite3.connect(database)) as connection:
            planned, announced = connection.execute(
                "SELECT COUNT(DISTINCT chat_id), MAX(announced) FROM deliveries"
            ).fetchone()
        sends = figures.fake.sends
        print(
            f"\nrealistic push: {papers:,} papers, {chats:,} chats ({planned:,} with news), "
            "their own digest sizes"
        )
        print(
            f"  python -m bot push planned and sent {sends:,} messages in {figures.wall:.1f} s, "
            f"{figures.cpu:.1f} CPU s ({1000 * figures.cpu / sends:.2f} ms per message)"
        )
        print(f"  peak memory of the push process: {figures.peak_mb:.0f} MB (VmHWM, its peak resident set)")
        growth = after - before
        print(
            f"  ledger growth for the day: {growth / 1e6:.1f} MB, {growth / sends:.0f} bytes per message "
            "(tables and indexes, dbstat)"
        )
        later = date.fromisoformat(announced) + timedelta(days=1)
        pruned = asyncio.run(prune_all(database, later))
        kept = ledger_bytes(database)
        total, free = file_bytes(database)
        print(
            f"  after pruning that day ({pruned:,} messages): the ledger uses {kept / 1e6:.2f} MB, "
            f"{(kept - before) / sends:.1f} bytes per message sent; {free / 1e6:.1f} MB of the "
            f"{total / 1e6:.1f} MB file is free pages the next day's rows fill"
        )
        if profile:
            print_profile(Path(folder) / "push.prof")
    return figures


def compare_with_naive(chats: int, profile: bool) -> tuple[float, float]:
    """CPU ms per message of `python -m bot push` (planning and sending) and of the naive loop."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "seeded.sqlite3"
        asyncio.run(seeded(source, chats))
        figures = {}
        for name in ("project", "naive"):
            database = Path(folder) / name / "push.sqlite3"
            database.parent.mkdir()
            with (
                contextlib.closing(sqlite3.connect(source)) as origin,
                contextlib.closing(sqlite3.connect(database)) as copy,
            ):
                origin.backup(copy)
            if name == "project":
                figures[name] = push(
                    database, UNLIMITED, profile=database.with_suffix(".prof") if profile else None
                )
                if profile:
                    print_profile(database.with_suffix(".prof"))
            else:
                figures[name] = push(
                    database, UNLIMITED, command=lambda url, db=database: [str(NAIVE), str(db), url, TOKEN]
                )
    project, naive = figures["project"], figures["naive"]
    if project.fake.sends != naive.fake.sends:
        raise SystemExit(
            f"the push sent {project.fake.sends:,} messages, the naive loop {naive.fake.sends:,}"
        )
    per_message = {name: 1000 * run.cpu / run.fake.sends for name, run in figures.items()}
    print(f"python -m bot push against a plain python-telegram-bot loop, {chats:,} chats, planning included")
    print(
        f"  push:       {project.fake.sends:,} messages, {project.cpu:.2f} CPU s, "
        f"{per_message['project']:.2f} ms per message, {project.peak_mb:.0f} MB, {project.wall:.1f} s"
    )
    print(
        f"  naive loop: {naive.fake.sends:,} messages, {naive.cpu:.2f} CPU s, "
        f"{per_message['naive']:.2f} ms per message, {naive.peak_mb:.0f} MB, {naive.wall:.1f} s"
    )
    print(f"  push / naive loop CPU per message: {per_message['project'] / per_message['naive']:.2f}")
    return per_message["project"], per_message["naive"]


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
        "--compared-chats", type=int, default=1_500, help="chats of the push compared with the naive loop"
    )
    parser.add_argument(
        "--chats", type=int, nargs="+", default=[10_000, 100_000], help="chats of each push without the limit"
    )
    parser.add_argument(
        "--slow-chats", type=int, default=2_000, help="chats of the push with a delayed Telegram (0: skip)"
    )
    parser.add_argument("--delay", type=float, default=0.05, help="seconds the delayed Telegram waits")
    parser.add_argument("--limited-chats", type=int, default=300, help="chats of the push at 30 messages/s")
    parser.add_argument("--profile", action="store_true", help="profile each unlimited push (cProfile)")
    parser.add_argument(
        "--realistic",
        choices=("also", "only", "no"),
        default="also",
        help="the push of _seed's 200,000 papers and 100,000 chats: with the others, alone, or not",
    )
    arguments = parser.parse_args()
    compile_project()

    if arguments.realistic == "only":
        peak = realistic_push(arguments.profile).peak_mb
        print(f"\n{memory_verdict(peak)}")
        return
    project, naive = compare_with_naive(arguments.compared_chats, arguments.profile)
    idle = idle_push()
    print(f"idle push (nothing due): {idle.cpu:.2f} CPU s, {idle.peak_mb:.0f} MB, {idle.wall:.1f} s")
    runs = [unlimited_push(chats, 0.0, idle, arguments.profile) for chats in arguments.chats]
    if arguments.slow_chats:
        runs.append(unlimited_push(arguments.slow_chats, arguments.delay, idle, arguments.profile))
    limited = limited_push(arguments.limited_chats)
    realistic = [] if arguments.realistic == "no" else [realistic_push(arguments.profile)]

    slowest = min(run.rate for run in runs)
    capacity = min(run.fake.sends / (run.cpu - idle.cpu) for run in runs)
    largest = max(run.peak_mb for run in [*runs, *realistic])
    print()
    print(
        f"goal >= {GOAL_RATE:,} messages/s on one core: {verdict(capacity >= GOAL_RATE)} "
        f"(slowest push {slowest:,.0f} messages/s; one busy core {capacity:,.0f} messages/s)"
    )
    print(memory_verdict(largest))
    print(
        f"goal at most {GOAL_CPU_MS:g} ms CPU per message and at most the naive loop's: "
        f"{verdict(project <= GOAL_CPU_MS and project <= naive)} ({project:.2f} ms against {naive:.2f} ms)"
    )
    print(
        f"goal at most {FREE_RATE} in any second: {verdict(limited.fake.peak_second <= FREE_RATE)} "
        f"({limited.fake.peak_second})"
    )


def memory_verdict(peak_mb: float) -> str:
    aim = "within" if peak_mb < AIM_MEMORY_MB else "above"
    return (
        f"goal peak memory < {GOAL_MEMORY_MB} MB: {verdict(peak_mb < GOAL_MEMORY_MB)} "
        f"({peak_mb:.0f} MB, {aim} the aim of {AIM_MEMORY_MB} MB)"
    )


def verdict(met: bool) -> str:
    return "met" if met else "missed"


if __name__ == "__main__":
    main()
