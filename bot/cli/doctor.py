"""`python -m bot doctor`: is this deployment able to work? One table row per check, never a traceback.

Checks the settings, the database (read-only but for a write probe rolled back: doctor never creates
or migrates it), then, in `remote_checks`, Telegram (getMe through PTB, as the bot itself connects,
and getWebhookInfo in webhook mode), arXiv (feed, export API, HTML pages, through httpx and paced
like every arXiv request) and the optional language model. Each row is OK, WARN (works, but worth a
look) or FAIL (the bot cannot do its job); the exit code is 1 when any row fails. Settings that do
not load never get here: the CLI names the variable in one line and exits 2, like every other command.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from collections.abc import Awaitable
from dataclasses import fields
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosqlite
import psycopg
from rich.filesize import decimal
from rich.markup import escape
from rich.table import Table

from bot.arxiv.http import user_agent
from bot.cli import console
from bot.cli.checks import Check, Verdict, redacted, summary, worst
from bot.cli.failures import first_line
from bot.cli.remote_checks import arxiv_checks, llm_check, telegram_checks
from bot.config import Settings, load_settings
from bot.log import settings_secrets
from storage import db as database
from storage.models import AffiliationSource
from storage.papers import PaperRepository
from storage.postgres import PostgresConnection, place

LOCK_PROBE_SECONDS = 2.0
MIN_FREE_BYTES = 50 * 10**6
LOW_FREE_BYTES = 1000 * 10**6
ENV_FILE = Path(".env")


async def diagnose(settings: Settings) -> list[Check]:
    """Every check, in a fixed order; the network checks run concurrently with the database ones."""
    database_rows, telegram_rows, arxiv_rows = await asyncio.gather(
        _guarded(
            "database",
            postgres_checks(settings.database_url, settings.categories)
            if settings.database_url
            else database_checks(settings.database_path, settings.categories),
        ),
        _guarded("telegram", telegram_checks(settings)),
        _guarded("arxiv", arxiv_checks(settings)),
    )
    checks = [settings_check(settings), contact_check(settings), *database_rows, *telegram_rows, *arxiv_rows]
    checks.append(await llm_check(settings))
    return [redacted(check, *settings_secrets(settings)) for check in checks]


# Settings


def settings_check(settings: Settings) -> Check:
    """What was configured: the token only as its public bot id, other values that differ from defaults."""
    defaults = load_settings({}, env_file=None)
    lines = [f".env: {'read' if ENV_FILE.is_file() else 'none'} in {Path.cwd()}"]
    token = settings.telegram_bot_token
    lines.append(f"TELEGRAM_BOT_TOKEN: {'set, bot id ' + token.partition(':')[0] if token else 'not set'}")
    changed = [
        f"{field.name.upper()}={_shown(getattr(settings, field.name))}"
        for field in fields(Settings)
        if field.name not in ("telegram_bot_token", "webhook_listen", "webhook_secret")
        and getattr(settings, field.name) != getattr(defaults, field.name)
    ]
    if settings.run_mode == "webhook":
        host, port = settings.webhook_listen
        changed.append(
            f"WEBHOOK_LISTEN={host}:{port}, WEBHOOK_SECRET {'set' if settings.webhook_secret else 'not set'}"
        )
    lines.extend(changed or ["every other setting at its default"])
    return Check("settings", Verdict.OK, "\n".join(lines))


def contact_check(settings: Settings) -> Check:
    """arXiv asks automated clients to say who runs them; the User-Agent carries ARXIV_CONTACT."""
    if settings.arxiv_contact is None:
        return Check(
            "arxiv contact",
            Verdict.WARN,
            "ARXIV_CONTACT not set: requests to arXiv carry no way to reach you; set your e-mail address",
        )
    return Check("arxiv contact", Verdict.OK, f"User-Agent: {user_agent(settings.arxiv_contact)}")


def _shown(value: object) -> str:
    if isinstance(value, ZoneInfo):
        return value.key
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, frozenset):
        return ",".join(map(str, sorted(value)))
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


# Database


async def database_checks(path: Path, categories: tuple[str, ...]) -> list[Check]:
    file_row, uri = database_file(path)
    if uri is None:
        return [file_row]
    try:
        db = await aiosqlite.connect(uri, uri=True)
    except sqlite3.Error as error:
        return [Check("database file", Verdict.FAIL, f"cannot open {path}: {error}")]
    try:
        version = await database.schema_version(db)
    except sqlite3.DatabaseError as error:
        await db.close()
        return [Check("database file", Verdict.FAIL, f"not a usable SQLite database: {error} ({path})")]
    rows = [file_row, schema_check(version, len(database.migrations()))]
    rows.extend(await asyncio.to_thread(storage_checks, path))
    try:
        rows.append(await _integrity(db))
        rows.append(await _journal_mode(db))
        rows.extend(await _contents(db, categories))
    except sqlite3.DatabaseError as error:
        rows.append(Check("database read", Verdict.FAIL, f"reading failed: {error}"))
    finally:
        await db.close()
    return rows


async def postgres_checks(url: str, categories: tuple[str, ...]) -> list[Check]:
    """The PostgreSQL database: reachable, its schema, writable (not a standby), room for connections.

    Opened without migrating, like the SQLite file, so the doctor changes nothing.
    """
    where = place(url)
    try:
        db = await PostgresConnection.open(url, connect_timeout=LOCK_PROBE_SECONDS)
    except psycopg.Error as error:
        return [Check("database server", Verdict.FAIL, f"cannot connect to {where}: {first_line(error)}")]
    try:
        server = (await db.execute_fetchall("SELECT current_setting('server_version')"))[0][0]
        rows = [Check("database server", Verdict.OK, f"PostgreSQL {server} at {where}")]
        rows.append(schema_check(await database.schema_version(db), database.migrations()[-1][0]))
        rows.append(await _postgres_writes(db))
        rows.append(await _postgres_connections(db))
        rows.extend(await _contents(db, categories))
    except psycopg.Error as error:
        rows.append(Check("database read", Verdict.FAIL, f"reading failed: {first_line(error)}"))
    finally:
        await db.close()
    return rows


async def _postgres_writes(db: PostgresConnection) -> Check:
    rows = await db.execute_fetchall(
        "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')"
    )
    standby, read_only = rows[0]
    if standby:
        return Check(
            "database writes", Verdict.FAIL, "a standby (in recovery): point DATABASE_URL at the primary"
        )
    if read_only == "on":
        return Check("database writes", Verdict.FAIL, "read-only: default_transaction_read_only is on")
    return Check("database writes", Verdict.OK, "the primary, accepting writes")


async def _postgres_connections(db: PostgresConnection) -> Check:
    rows = await db.execute_fetchall(
        "SELECT (SELECT COUNT(*) FROM pg_stat_activity), CAST(current_setting('max_connections') AS integer)"
    )
    used, limit = rows[0]
    shown = f"{used} of {limit} in use"
    if used >= limit * 0.9:
        return Check("connections", Verdict.WARN, f"{shown}: another instance may be refused")
    return Check("connections", Verdict.OK, shown)


def database_file(path: Path) -> tuple[Check, str | None]:
    """The file's row, and the URI that opens it read-only (None when there is no file to open).

    Read-only, so the doctor never creates a database at a mistyped path nor migrates one.
    """
    if not path.exists():
        return _missing_database(path), None
    wal = path.with_name(path.name + "-wal")
    wal_size = f" (+ {decimal(wal.stat().st_size)} WAL)" if wal.exists() else ""
    row = Check("database file", Verdict.OK, f"{path}, {decimal(path.stat().st_size)}{wal_size}")
    return row, f"{path.resolve().as_uri()}?mode=ro"


def _missing_database(path: Path) -> Check:
    folder = next(parent for parent in path.absolute().parents if parent.exists())
    if not os.access(folder, os.W_OK | os.X_OK):
        return Check("database file", Verdict.FAIL, f"{path} does not exist and {folder} is not writable")
    return Check("database file", Verdict.WARN, f"{path} does not exist yet; `run` or `fetch` creates it")


def storage_checks(path: Path) -> list[Check]:
    return [write_check(path), disk_space_check(shutil.disk_usage(path.absolute().parent).free)]


def write_check(path: Path) -> Check:
    """Can the bot record anything? Takes the write lock for a moment and gives it back unchanged."""
    try:
        connection = sqlite3.connect(path, timeout=LOCK_PROBE_SECONDS)
    except sqlite3.Error as error:
        return Check("database writes", Verdict.FAIL, f"cannot open for writing: {error}")
    try:
        return write_verdict(connection)
    finally:
        connection.close()


def write_verdict(connection: sqlite3.Connection) -> Check:
    try:
        # A write that changes nothing, rolled back: SQLite admits a read-only connection to a
        # transaction and refuses only its first write.
        connection.execute("BEGIN IMMEDIATE")
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        connection.execute(f"PRAGMA user_version = {int(version)}")
        connection.rollback()
    except sqlite3.OperationalError as error:
        problem = str(error).casefold()
        if "locked" in problem or "busy" in problem:
            detail = (
                f"locked: another process has held the write lock for over {LOCK_PROBE_SECONDS:g} s"
                " (the bot waits for it; see `fuser` or `lsof` on the file)"
            )
        elif "readonly" in problem or "read-only" in problem:
            detail = "read-only: the bot can read but not record anything (file, folder or mount permissions)"
        else:
            detail = f"cannot write: {error}"
        return Check("database writes", Verdict.FAIL, detail)
    return Check("database writes", Verdict.OK, "the write lock can be taken")


def disk_space_check(free: int) -> Check:
    """Free space on the database's file system: the ledger and WAL grow during a push."""
    shown = f"{decimal(free)} free"
    if free < MIN_FREE_BYTES:
        return Check("disk space", Verdict.FAIL, f"{shown}: writes will fail (disk full); free some space")
    if free < LOW_FREE_BYTES:
        return Check("disk space", Verdict.WARN, f"{shown}: a push to many chats may fill it")
    return Check("disk space", Verdict.OK, shown)


def schema_check(version: int, available: int) -> Check:
    if version == available:
        return Check("database schema", Verdict.OK, f"version {version}, current")
    if version < available:
        pending = available - version
        return Check(
            "database schema",
            Verdict.WARN,
            f"version {version}: {pending} migration(s) apply at the next start",
        )
    return Check(
        "database schema",
        Verdict.FAIL,
        f"version {version} is newer than this code knows ({available}): run the release that wrote it",
    )


async def _integrity(db: aiosqlite.Connection) -> Check:
    try:
        async with db.execute("PRAGMA integrity_check") as cursor:
            problems = [row[0] for row in await cursor.fetchall()]
    except sqlite3.DatabaseError as error:
        problems = [str(error)]
    if problems == ["ok"]:
        return Check("integrity", Verdict.OK, "integrity_check: ok")
    return Check("integrity", Verdict.FAIL, "integrity_check: " + "; ".join(problems[:3]))


async def _journal_mode(db: aiosqlite.Connection) -> Check:
    async with db.execute("PRAGMA journal_mode") as cursor:
        (mode,) = await cursor.fetchone()
    if mode == "wal":
        return Check("journal mode", Verdict.OK, "wal")
    return Check("journal mode", Verdict.WARN, f"{mode}: the bot switches it to wal when it starts")


async def _contents(db: database.Connection, categories: tuple[str, ...]) -> list[Check]:
    try:
        async with db.execute(
            "SELECT (SELECT COUNT(*) FROM chats), (SELECT COALESCE(SUM(active), 0) FROM chats),"
            " (SELECT COUNT(*) FROM subscriptions), (SELECT COUNT(*) FROM papers)"
        ) as cursor:
            chats, active, subscriptions, papers = await cursor.fetchone()
        latest = await PaperRepository(db).latest_announcements(categories)
    except (sqlite3.OperationalError, psycopg.errors.UndefinedTable) as error:
        return [Check("contents", Verdict.WARN, f"not readable with this schema: {first_line(error)}")]
    size = await database.database_size(db)
    counts = (
        f"chats: {chats} ({active} active), subscriptions: {subscriptions}, papers: {papers};"
        f" database {decimal(size.total)}, {decimal(size.free)} of it free for new rows"
    )
    return [
        Check("contents", Verdict.OK, counts),
        announcements_check(categories, latest),
        await _affiliations(db),
    ]


async def _affiliations(db: database.Connection) -> Check:
    try:
        by_source = await PaperRepository(db).papers_with_affiliations_by_source()
    except (sqlite3.OperationalError, psycopg.errors.UndefinedColumn):
        return Check("affiliations", Verdict.WARN, "sources not recorded by this schema yet")
    return affiliations_check(by_source)


def affiliations_check(by_source: dict[str, int]) -> Check:
    """How many papers have affiliations, by where they were read (a paper may count under several)."""
    if not by_source:
        return Check("affiliations", Verdict.OK, "no paper has affiliations yet")
    labels = {
        AffiliationSource.API: "export API",
        AffiliationSource.HTML_AUTHORS: "HTML author block",
        AffiliationSource.HTML_NOTE: "HTML note",
        "": "source not recorded",
    }
    lines = [f"papers with affiliations from the {labels[key]}: {count}" for key, count in by_source.items()]
    return Check("affiliations", Verdict.OK, "\n".join(sorted(lines)))


def announcements_check(categories: tuple[str, ...], latest: dict[str, date]) -> Check:
    if not latest:
        return Check("announcements", Verdict.WARN, "none stored yet: run `python -m bot fetch`")
    lines = [f"{category} {latest[category]}" for category in categories if category in latest]
    never = [category for category in categories if category not in latest]
    if never:
        lines.append("never: " + ", ".join(never))
    return Check("announcements", Verdict.OK, "\n".join(lines))


# Running the checks


async def _guarded(name: str, rows: Awaitable[list[Check]]) -> list[Check]:
    """An unforeseen error becomes a FAIL row: the doctor reports problems rather than crashing."""
    try:
        return await rows
    except Exception as error:
        return [Check(name, Verdict.FAIL, f"unexpected {type(error).__name__}: {error}")]


def report_table(checks: list[Check]) -> Table:
    styles = {Verdict.OK: "green", Verdict.WARN: "yellow", Verdict.FAIL: "bold red"}
    table = Table(title="paper-digest-bot doctor")
    table.add_column("check", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for check in checks:
        table.add_row(check.name, f"[{styles[check.verdict]}]{check.verdict}[/]", escape(check.detail))
    return table


def doctor_command(settings: Settings) -> int:
    """The CLI edge: the table and the verdict line on stdout; exit 1 when a check failed."""
    checks = asyncio.run(diagnose(settings))
    console.console.print(report_table(checks))
    console.console.print(summary(checks), highlight=False, markup=False, soft_wrap=True)
    return 1 if worst(checks) is Verdict.FAIL else 0
