"""Pushers sharing one bot: messages per second, CPU per 1,000 messages, and the largest one-second
window Telegram sees, for PostgreSQL with 1 and 3 pushers against SQLite with one (the default).

The database is `_seed.py`'s announcement day with N chats at the default digest size (two messages
a chat), its push planned beforehand in this process; for PostgreSQL the same SQLite file is moved
with `migrate-to-postgres`'s own code into a throwaway server on a loopback port (the one the tests
start). Each pusher is a real `python -m bot push` process, all started at once against one fake
Telegram in a process of its own; CPU comes from wait4(), rates and windows from the fake's arrival
times. The bot's rate is BROADCAST_RATE=1000 with paid broadcasts, shared by the pushers through
the database's send grants, so more pushers share the ceiling rather than add to it.

Run from the repository root: `.venv/bin/python benchmarks/instances.py [--chats N]
[--database sqlite|postgres|both] [--pushers 1 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.push import UNLIMITED, TelegramProcess, environment, seeded  # noqa: E402
from bot.cli.migrate import migrate_to_postgres  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.push.planning import plan_push  # noqa: E402
from bot.reading import latest_announcement  # noqa: E402
from bot.services import Services  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402

RATE = int(UNLIMITED["BROADCAST_RATE"])


@dataclass(frozen=True, slots=True)
class Run:
    database: str
    pushers: int
    messages: int
    rate: float  # messages per second, first to last arrival
    cpu: list[float]  # seconds, per pusher
    peak_second: int


async def plan(env: dict[str, str]) -> int:
    settings = load_settings(env, env_file=None)
    async with Services.open(settings) as services:
        announced = await latest_announcement(services.papers, settings.categories)
        if announced is None:
            raise SystemExit("the seeded database holds no announcement")
        return (await plan_push(services, announced)).messages


def run_pushers(folder: Path, database_env: dict[str, str], pushers: int, label: str) -> Run:
    with TelegramProcess(0.0) as telegram:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            **environment(folder / "bot.sqlite3", telegram.base_url, UNLIMITED),
            **database_env,
        }
        messages = asyncio.run(plan(env))
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "bot", "push"],
                cwd=folder,
                env=env,
                stdout=(folder / f"push-{number}.log").open("w"),
                stderr=subprocess.STDOUT,
            )
            for number in range(pushers)
        ]
        cpu = []
        for number, process in enumerate(processes):
            _, status, usage = os.wait4(process.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit((folder / f"push-{number}.log").read_text()[-3000:])
            cpu.append(usage.ru_utime + usage.ru_stime)
        fake = telegram.figures()
    if fake.sends != messages:
        raise SystemExit(f"{label}: {fake.sends} messages reached Telegram, {messages} were planned")
    span = fake.last - fake.first
    return Run(label, pushers, messages, (messages - 1) / span if span else 0.0, cpu, fake.peak_second)


def measure(database: str, chats: int, pushers: int, server: PostgresServer | None) -> Run:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        source = folder / "bot.sqlite3"
        asyncio.run(seeded(source, chats))
        database_env: dict[str, str] = {}
        if server is not None:
            url = server.url(server.empty_database().rsplit("/", 1)[1])
            asyncio.run(migrate_to_postgres(source, url))
            database_env = {"DATABASE_URL": url}
        return run_pushers(folder, database_env, pushers, database)


def show(run: Run) -> None:
    per_thousand = 1000 * sum(run.cpu) / run.messages
    each = ", ".join(f"{seconds:.2f}" for seconds in run.cpu)
    print(
        f"  {run.database:<10} {run.pushers} pusher(s): {run.messages:,} messages, {run.rate:,.0f}/s,"
        f" CPU {per_thousand:.2f} s per 1,000 messages in all (each process: {each} s),"
        f" largest one-second window {run.peak_second} (rate {RATE})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=5_000, help="chats of the push (two messages each)")
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--pushers", type=int, nargs="+", default=[1, 3], help="pushers on PostgreSQL")
    args = parser.parse_args()
    print(f"{args.chats:,} chats, BROADCAST_RATE={RATE} (paid), pushers started together")
    if args.database in ("sqlite", "both"):
        show(measure("SQLite", args.chats, 1, None))
    if args.database in ("postgres", "both"):
        server = PostgresServer().start()
        try:
            for pushers in args.pushers:
                show(measure("PostgreSQL", args.chats, pushers, server))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
