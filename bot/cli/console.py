"""Terminal output of the CLI commands: progress bars and summary tables (rich)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.core.render import affiliation_share

if TYPE_CHECKING:  # types only: `push` need not load the arXiv stack, nor `fetch` the push's
    from bot.arxiv.enrich import OnEnrichProgress
    from bot.arxiv.ingest import IngestProgress, IngestReport, OnIngestProgress
    from bot.push.planning import PushOutcome
    from bot.push.report import OnPushProgress, PushReport

console = Console()
errors = Console(stderr=True)


@contextmanager
def ingest_progress() -> Iterator[tuple[OnIngestProgress, OnEnrichProgress]]:
    """A progress bar per stage (feeds, metadata, affiliations), fed by the stages' callbacks."""
    with Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=errors,
        transient=False,
    ) as bar:
        tasks: dict[str, int] = {}

        def advance(stage: str, done: int, total: int, detail: str = "") -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total, detail="")
            bar.update(tasks[stage], completed=done, total=total, detail=detail)

        def on_ingest(progress: IngestProgress) -> None:
            advance(progress.stage, progress.done, progress.total, progress.category or "")

        def on_enrich(done: int, total: int) -> None:
            advance("affiliations", done, total)

        yield on_ingest, on_enrich


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


@contextmanager
def push_progress() -> Iterator[OnPushProgress]:
    """One bar over the messages due, fed by the Broadcaster's progress callback."""
    with Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
    ) as bar:
        task = bar.add_task("messages", total=None)

        def advance(report: PushReport) -> None:
            bar.update(task, completed=report.done, total=report.messages_due or None)

        yield advance


def push_table(outcome: PushOutcome) -> Table:
    delivered = outcome.delivered
    title = "push (dry run)" if delivered.dry_run else "push"
    table = Table(title=title)
    table.add_column("what")
    table.add_column("count", justify="right")
    if outcome.planned is not None:
        planned = outcome.planned
        verb = "would plan" if delivered.dry_run else "planned"
        table.add_row(f"announcement {planned.announced}: chats {verb}", str(planned.chats))
        table.add_row(f"announcement {planned.announced}: messages {verb}", str(planned.messages))
        share = affiliation_share(planned.featured, planned.featured_with_affiliations)
        table.add_row("featured papers with affiliations", share)
    rows = [
        ("chats due", delivered.chats_due),
        ("messages due", delivered.messages_due),
        ("sent", delivered.sent),
        ("skipped (chat gone)", delivered.skipped),
        ("chats deactivated", delivered.deactivated),
        ("chats migrated", delivered.migrated),
        ("failed", delivered.failed),
        ("left for the next push", delivered.released),
        ("taken over from a push that is gone", delivered.taken_over),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    return table
