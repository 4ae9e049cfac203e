"""`python -m bot backup PATH`: a consistent copy of the live database, taken while the bot runs.

The copy uses SQLite's online backup API in small steps with a pause between them, so the bot keeps
its share of the disk. The source connection holds one read transaction for the whole copy: under
WAL that blocks no writer, and it pins the snapshot, so the copy is the database as it was at one
commit. Without it SQLite restarts the copy whenever another connection commits, and a bot that
writes all the time (a push updating its delivery ledger) would keep it from ever finishing.

The copy is written beside PATH under a temporary name, verified, switched to the rollback journal
(one self-contained file) and only then renamed onto PATH, so PATH never holds half a copy and
`--force` keeps the old file until the new one is known good.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.filesize import decimal
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.cli import console
from bot.config import Settings

PAGES_PER_STEP = 256
"""1 MiB with SQLite's default 4 KiB pages."""
PAUSE_BETWEEN_STEPS = 0.005
BUSY_TIMEOUT_MS = 10_000

OnBackupProgress = Callable[[int, int], None]
"""Called after each step with (pages copied, pages in all)."""


class BackupError(Exception):
    """The copy was refused or failed; the message says why in one line, and PATH is untouched."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    source: Path
    target: Path
    size: int
    """Bytes of the finished copy."""
    pages: int
    schema_version: int
    seconds: float


def backup_database(
    source: Path,
    target: Path,
    *,
    force: bool = False,
    pages_per_step: int = PAGES_PER_STEP,
    pause: float = PAUSE_BETWEEN_STEPS,
    on_progress: OnBackupProgress | None = None,
) -> BackupReport:
    """Copy the database at `source` to `target` and verify the copy; raises `BackupError`.

    Blocking (it sleeps between steps): from async code, run it in a worker thread.
    """
    started = time.monotonic()
    _check_paths(source, target, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(handle)
    partial = Path(temporary_name)
    try:
        pages, version = _copy(source, partial, pages_per_step, pause, on_progress)
        _verify(partial, version)
        if target.exists():
            _remove_stale_journals(target)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupReport(source, target, target.stat().st_size, pages, version, time.monotonic() - started)


def _check_paths(source: Path, target: Path, force: bool) -> None:
    if not source.is_file():
        raise BackupError(f"no database at {source} (DATABASE_PATH)")
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give the file name of the copy")
    if target.exists():
        if target.samefile(source):
            raise BackupError(f"{target} is the database itself; choose another path")
        if not force:
            raise BackupError(f"{target} exists; pass --force to replace it")


def _copy(
    source: Path, partial: Path, pages_per_step: int, pause: float, on_progress: OnBackupProgress | None
) -> tuple[int, int]:
    """Copy in steps from one read snapshot; returns (pages, schema version of that snapshot)."""

    def step(status: int, remaining: int, total: int) -> None:
        if on_progress is not None:
            on_progress(total - remaining, total)
        if remaining:
            time.sleep(pause)

    with (
        contextlib.closing(_open_read_only(source)) as reader,
        contextlib.closing(sqlite3.connect(partial)) as copy,
    ):
        try:
            reader.execute("BEGIN")
            version = reader.execute("PRAGMA user_version").fetchone()[0]
            pages = reader.execute("PRAGMA page_count").fetchone()[0]
            reader.backup(copy, pages=pages_per_step, progress=step)
            reader.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            raise BackupError(f"cannot read {source}: {error}") from None
    return pages, version


def _verify(partial: Path, version: int) -> None:
    """The copy must pass integrity_check and carry the snapshot's schema version."""
    with contextlib.closing(sqlite3.connect(partial, isolation_level=None)) as copy:
        try:
            copy.execute("PRAGMA journal_mode = DELETE")
            problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
            copied_version = copy.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise BackupError(f"the copy failed integrity_check: {error}") from None
    if problems != ["ok"]:
        lines = [line for problem in problems for line in problem.splitlines()]
        raise BackupError(f"the copy failed integrity_check: {'; '.join(lines[:3])}")
    if copied_version != version:
        raise BackupError(f"the copy has schema version {copied_version}, the database {version}")


def _remove_stale_journals(target: Path) -> None:
    """A WAL left beside a replaced file (the bot crashed) would be replayed into the new copy."""
    for suffix in ("-wal", "-shm", "-journal"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)


def _open_read_only(path: Path) -> sqlite3.Connection:
    """Read-only, so a mistyped path never creates an empty database."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return connection


def backup_command(settings: Settings, target: str | os.PathLike[str], *, force: bool) -> int:
    """The CLI edge: a progress bar on stderr, one summary line; exit 1 when the copy failed."""
    if settings.database_url:
        console.errors.print(
            "error: the database is PostgreSQL (DATABASE_URL); back it up with its own tool, e.g."
            " pg_dump --format=custom --file=PATH DATABASE_URL (see docs/operations.md)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return 1
    with Progress(
        TextColumn("backup"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("pages"),
        TimeElapsedColumn(),
        console=console.errors,
        transient=True,
        disable=not console.errors.is_terminal,
    ) as bar:
        task = bar.add_task("backup", total=None)
        try:
            report = backup_database(
                settings.database_path,
                Path(target),
                force=force,
                on_progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except BackupError as error:
            bar.stop()
            console.errors.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
            return 1
    console.console.print(
        f"Backed up {report.source} to {report.target}: {decimal(report.size)} in {report.seconds:.2f} s, "
        f"schema version {report.schema_version}, integrity ok.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return 0
