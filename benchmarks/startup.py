"""Start-up CPU of `python -m bot push`, against a plain python-telegram-bot loop's, in the same run.

Each is a real process against the fake Telegram server (served from a thread of this process, so
its work is not counted) and counted whole with wait4(): interpreter start, imports, settings, the
database, getMe. Two pushes of the project: one with nothing due (an empty ledger: start-up alone),
and one to a single chat (its digest planned and sent, two messages), which bounds the CPU spent
before the first message; the naive loop (`benchmarks/_naive_push.py`) sends that same chat's
digest. Beside them, the floor: a process that only imports python-telegram-bot, which any push
with it pays. Each figure is the median of RUNS runs, on the project's cached bytecode
(`benchmarks/_bytecode.py`).

Run from the repository root: `.venv/bin/python benchmarks/startup.py`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._bytecode import compile_project  # noqa: E402
from benchmarks._seed import create_schema, seed  # noqa: E402
from benchmarks.push import TOKEN, environment  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

NAIVE = ROOT / "benchmarks" / "_naive_push.py"
RUNS = 5
GOAL_CPU = 0.3  # seconds


def cpu_of(command: Sequence[str], database: Path, base_url: str) -> float:
    """CPU seconds (user and system) of one process, start to exit; it must succeed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **environment(database, base_url, {})}
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=database.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{output.decode(errors='replace')[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def median_cpu(command: Callable[[Path], Sequence[str]], template: Path, base_url: str) -> float:
    """The median over RUNS runs, each on a fresh copy of `template`."""
    figures = []
    for run in range(RUNS):
        database = template.with_name(f"run{run}.sqlite3")
        shutil.copyfile(template, database)
        figures.append(cpu_of(command(database), database, base_url))
        database.unlink()
    return statistics.median(figures)


def main() -> None:
    compile_project()
    with tempfile.TemporaryDirectory() as folder, FakeTelegram(token=TOKEN, record_calls=False) as fake:
        empty = Path(folder) / "empty.sqlite3"
        one_chat = Path(folder) / "one-chat.sqlite3"
        asyncio.run(create_schema(empty))
        asyncio.run(create_schema(one_chat))
        seed(one_chat, papers=800, chats=1, latest_pushed=False)
        url = fake.base_url
        idle = median_cpu(lambda _: ["-m", "bot", "push"], empty, url)
        first = median_cpu(lambda _: ["-m", "bot", "push"], one_chat, url)
        naive = median_cpu(lambda database: [str(NAIVE), str(database), url, TOKEN], one_chat, url)
        floor = median_cpu(lambda _: ["-c", "import telegram"], empty, url)
    print(f"start-up CPU, median of {RUNS} runs, each process counted whole (wait4)")
    print(f"  python -m bot push, nothing due:             {idle:.3f} s")
    print(f"  python -m bot push, one chat (plan and send): {first:.3f} s")
    print(f"  plain python-telegram-bot loop, one chat:     {naive:.3f} s")
    print(f"  floor: python -c 'import telegram':           {floor:.3f} s")
    verdict = "met" if first < GOAL_CPU else "missed"
    print(
        f"goal push start-up under {GOAL_CPU} s CPU: {verdict} ({first:.3f} s, first message included; "
        f"importing python-telegram-bot alone takes {floor:.3f} s)"
    )


if __name__ == "__main__":
    main()
