"""Ingest a 2,000-entry announcement from the fake arXiv into a fresh database; print time and memory.

The fake serves from a forked child process, so the figures are the ingest's own: one listing page
request, 20 API requests of 100 ids, storage of papers, authors and listings. Pacing delay is 0.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.arxiv.clients import ArxivClients
from bot.arxiv.ingest import ingest
from bot.config import load_settings
from storage.db import connect
from storage.papers import PaperRepository
from tests.fakes.arxiv_server import FakeArxiv

ENTRIES = 2000
CATEGORY = "cs.LG"


def load(fake: FakeArxiv) -> None:
    entries = []
    for number in range(ENTRIES):
        arxiv_id = f"2508.{number:05d}"
        fake.add_paper(
            arxiv_id,
            f"A study of problem {number} in machine learning with a realistically long title",
            authors=[(f"Author {number}-{k}", ["Some University"] if k == 0 else []) for k in range(6)],
            categories=[CATEGORY, "cs.AI", "stat.ML"] if number % 3 else ["cs.CV", CATEGORY],
            abstract="We propose a method. " * 60,
            comment="12 pages, 4 figures" if number % 2 else None,
        )
        entries.append((arxiv_id, "new" if number % 3 else "cross"))
    fake.set_announcement(CATEGORY, date(2025, 8, 20), entries)


def serve(ready: multiprocessing.connection.Connection, stop: multiprocessing.synchronize.Event) -> None:
    with FakeArxiv() as fake:
        load(fake)
        ready.send(fake.env())
        stop.wait()


async def run(env: dict[str, str]) -> tuple[float, int]:
    settings = load_settings({"ARXIV_REQUEST_DELAY": "0", **env}, env_file=None)
    with tempfile.TemporaryDirectory() as folder:
        db = await connect(Path(folder) / "bench.sqlite3")
        try:
            async with ArxivClients(settings) as clients:
                started = time.perf_counter()
                report = await ingest([CATEGORY], clients, PaperRepository(db))
                elapsed = time.perf_counter() - started
        finally:
            await db.close()
    if report.errors or report.metadata_completed != ENTRIES:
        raise SystemExit(f"ingest did not complete: {report.errors}")
    return elapsed, report.categories[0].stored


def main() -> None:
    logging.disable(logging.WARNING)
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    stop = context.Event()
    server = context.Process(target=serve, args=(send, stop), daemon=True)
    server.start()
    try:
        env = receive.recv()
        elapsed, stored = asyncio.run(run(env))
    finally:
        stop.set()
        server.join()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ingest {ENTRIES} entries ({stored} listings, {ENTRIES} papers completed): {elapsed:.2f} s wall")
    print(f"peak RSS of the ingesting process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
