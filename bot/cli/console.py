"""Terminal output of the CLI commands: progress bars, summary tables, and chat messages (rich)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import TYPE_CHECKING, ClassVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.style import Style
from rich.table import Table
from rich.text import Text

from bot.core.render import affiliation_share

if TYPE_CHECKING:  # types only: `push` need not load the arXiv stack, nor `fetch` the push's
    from bot.arxiv.enrich import OnEnrichProgress
    from bot.arxiv.ingest import IngestProgress, IngestReport, OnIngestProgress
    from bot.push.planning import PushOutcome
    from bot.push.report import OnPushProgress, PushReport

# Without rich's emoji codes (and progress columns without markup): a paper titled "Scaling :rocket:
# laws" prints as it is titled, and no command loads rich's table of emoji names (a push did, for
# its progress bar and summary table).
console = Console(emoji=False)
errors = Console(stderr=True, emoji=False)


@contextmanager
def ingest_progress() -> Iterator[tuple[OnIngestProgress, OnEnrichProgress]]:
    """A progress bar per stage (feeds, metadata, affiliations), fed by the stages' callbacks."""
    with Progress(
        TextColumn("{task.description:<12}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}", markup=False),
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
        TextColumn("{task.description:<12}", markup=False),
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


# --- chat messages in a terminal ---------------------------------------------------------------


class _TerminalText(HTMLParser):
    """Telegram's HTML as rich Text: bold, italic, links (clickable where the terminal can), code,
    and blockquotes as indented lines."""

    _STYLES: ClassVar[dict[str, str]] = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = Text()
        self._styles: list[Style] = []
        self._quoted = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._styles.append(Style(underline=True, link=dict(attrs).get("href") or None))
        elif tag in ("code", "pre"):
            self._styles.append(Style(color="cyan"))
        elif tag == "blockquote":
            self._quoted = True
            self.text.append("│ ", "dim")
            self._styles.append(Style(dim=True))
        else:
            self._styles.append(Style.parse(self._STYLES.get(tag, "none")))

    def handle_endtag(self, tag: str) -> None:
        if self._styles:
            self._styles.pop()
        if tag == "blockquote":
            self._quoted = False

    def handle_data(self, data: str) -> None:
        if self._quoted:
            data = data.replace("\n", "\n│ ")
        self.text.append(data, Style.combine(self._styles) if self._styles else None)


def terminal_text(html: str) -> Text:
    parser = _TerminalText()
    parser.feed(html)
    parser.close()
    return parser.text


def print_message(text: str, buttons: list[list[str]], *, heading: str) -> None:
    """A message as a chat shows it: its text, then its buttons numbered in reading order."""
    console.print(Text(heading, style="dim"))
    console.print(terminal_text(text), soft_wrap=True)
    number = 0
    for row in buttons:
        labels = []
        for label in row:
            number += 1
            labels.append(f"[{number}] {label}")
        console.print(Text("   ".join(labels), style="bold cyan"))
