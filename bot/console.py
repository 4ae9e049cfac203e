"""Terminal output of the CLI commands: progress bars and summary tables (rich)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.ingest import IngestReport, ProgressCallback
from bot.ingest import Progress as IngestProgress

console = Console()
errors = Console(stderr=True)


@contextmanager
def ingest_progress() -> Iterator[ProgressCallback]:
    """A progress bar per ingest stage (feeds, metadata), fed by `bot.ingest`'s callback."""
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=errors,
        transient=False,
    ) as bar:
        tasks: dict[str, int] = {}

        def update(progress: IngestProgress) -> None:
            if progress.stage not in tasks:
                tasks[progress.stage] = bar.add_task(progress.stage, total=progress.total, detail="")
            bar.update(
                tasks[progress.stage],
                completed=progress.done,
                total=progress.total,
                detail=progress.category or "",
            )

        yield update


def ingest_table(report: IngestReport) -> Table:
    table = Table(title="arXiv ingest")
    for heading in ("category", "announcement", "new", "cross", "replacements", "stored", "metadata"):
        table.add_column(heading, justify="left" if heading in ("category", "announcement") else "right")
    for item in report.categories:
        announced = str(item.announced) if item.announced else ("failed" if item.errors else "none")
        table.add_row(
            item.category,
            announced,
            str(item.new),
            str(item.cross),
            str(item.replaced_skipped),
            str(item.stored),
            str(item.metadata_completed),
        )
    return table
