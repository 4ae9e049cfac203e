"""`python -m bot doctor`: is this deployment able to work? One table row per check, never a traceback.

Checks the settings, the database (read-only: doctor never creates or migrates it), Telegram
(getMe through PTB, as the bot itself connects) and arXiv (feed, export API, HTML pages, through
httpx and paced like every arXiv request). Each row is OK, WARN (works, but worth a look) or FAIL
(the bot cannot do its job); the exit code is 1 when any row fails. Settings that do not load never
get here: the CLI names the variable in one line and exits 2, like every other command.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import time
from collections.abc import Awaitable
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosqlite
import httpx
from lxml import etree
from rich.filesize import decimal
from rich.markup import escape
from rich.table import Table
from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.request import HTTPXRequest

from bot.arxiv.feed import ArxivFeedError, parse_feed
from bot.arxiv.http import USER_AGENT, ArxivPacer, is_transient_status
from bot.cli import console
from bot.config import Settings, load_settings
from bot.log import REDACTED
from storage import db as database
from storage.papers import PaperRepository

TELEGRAM_TIMEOUT = 5.0
ARXIV_TIMEOUT = 10.0
"""The export API often takes several seconds to answer even a tiny query."""
LOCK_PROBE_SECONDS = 2.0
MIN_FREE_BYTES = 50 * 10**6
LOW_FREE_BYTES = 1000 * 10**6
PROBE_ID = "2205.11728"
"""A paper known to exist, for the export API and HTML checks."""
ENV_FILE = Path(".env")
"""The file `load_settings` reads by default, relative to the working directory."""
_ATOM_FEED = "{http://www.w3.org/2005/Atom}feed"


class Verdict(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    verdict: Verdict
    detail: str


async def diagnose(settings: Settings) -> list[Check]:
    """Every check, in a fixed order; the network checks run concurrently with the database ones."""
    database_rows, telegram_row, arxiv_rows = await asyncio.gather(
        _guarded("database", database_checks(settings.database_path, settings.categories)),
        _guarded("telegram", _single(telegram_check(settings))),
        _guarded("arxiv", arxiv_checks(settings)),
    )
    checks = [settings_check(settings), *database_rows, *telegram_row, *arxiv_rows]
    return [redacted(check, settings.telegram_bot_token) for check in checks]


def worst(checks: list[Check]) -> Verdict:
    verdicts = {check.verdict for check in checks}
    return next((v for v in (Verdict.FAIL, Verdict.WARN) if v in verdicts), Verdict.OK)


def summary(checks: list[Check]) -> str:
    failed = sum(check.verdict is Verdict.FAIL for check in checks)
    warned = sum(check.verdict is Verdict.WARN for check in checks)
    if not failed and not warned:
        return f"Verdict: OK, all {len(checks)} checks passed."
    return f"Verdict: {worst(checks)}, {failed} failed and {warned} with warnings of {len(checks)} checks."


def redacted(check: Check, token: str | None) -> Check:
    """Library error messages may quote the token (PTB's InvalidToken does); none reaches the screen."""
    if not token or token not in check.detail:
        return check
    return Check(check.name, check.verdict, check.detail.replace(token, REDACTED))


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
        if field.name != "telegram_bot_token"
        and getattr(settings, field.name) != getattr(defaults, field.name)
    ]
    lines.extend(changed or ["every other setting at its default"])
    return Check("settings", Verdict.OK, "\n".join(lines))


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


async def _contents(db: aiosqlite.Connection, categories: tuple[str, ...]) -> list[Check]:
    try:
        async with db.execute(
            "SELECT (SELECT COUNT(*) FROM chats), (SELECT COALESCE(SUM(active), 0) FROM chats),"
            " (SELECT COUNT(*) FROM subscriptions), (SELECT COUNT(*) FROM papers)"
        ) as cursor:
            chats, active, subscriptions, papers = await cursor.fetchone()
        latest = await PaperRepository(db).latest_announcements(categories)
    except sqlite3.OperationalError as error:
        return [Check("contents", Verdict.WARN, f"not readable with this schema: {error}")]
    counts = f"chats: {chats} ({active} active), subscriptions: {subscriptions}, papers: {papers}"
    return [Check("contents", Verdict.OK, counts), announcements_check(categories, latest)]


def announcements_check(categories: tuple[str, ...], latest: dict[str, date]) -> Check:
    if not latest:
        return Check("announcements", Verdict.WARN, "none stored yet: run `python -m bot fetch`")
    lines = [f"{category} {latest[category]}" for category in categories if category in latest]
    never = [category for category in categories if category not in latest]
    if never:
        lines.append("never: " + ", ".join(never))
    return Check("announcements", Verdict.OK, "\n".join(lines))


# Telegram


async def telegram_check(settings: Settings) -> Check:
    """getMe through PTB with the bot's base URL; the answer names the bot the token belongs to."""
    if not settings.telegram_bot_token:
        return Check("telegram", Verdict.FAIL, "TELEGRAM_BOT_TOKEN not set; `run` and `push` need it")
    request = HTTPXRequest(
        connection_pool_size=1,
        connect_timeout=TELEGRAM_TIMEOUT,
        read_timeout=TELEGRAM_TIMEOUT,
        write_timeout=TELEGRAM_TIMEOUT,
        pool_timeout=TELEGRAM_TIMEOUT,
    )
    bot = Bot(
        settings.telegram_bot_token,
        base_url=settings.telegram_api_base_url,
        request=request,
    )
    started = time.monotonic()
    try:
        async with bot:
            me = bot.bot
    except InvalidToken:
        return Check("telegram", Verdict.FAIL, f"token rejected by {settings.telegram_api_base_url}")
    except TimedOut:
        return Check(
            "telegram",
            Verdict.FAIL,
            f"no answer within {TELEGRAM_TIMEOUT:g} s from {settings.telegram_api_base_url}",
        )
    except NetworkError as error:
        return Check("telegram", Verdict.FAIL, f"unreachable: {error} ({settings.telegram_api_base_url})")
    except TelegramError as error:
        return Check("telegram", Verdict.FAIL, f"getMe failed: {error}")
    elapsed = time.monotonic() - started
    return Check("telegram", Verdict.OK, f"@{me.username} (bot id {me.id}), getMe in {elapsed:.2f} s")


# arXiv


async def arxiv_checks(settings: Settings) -> list[Check]:
    """The three arXiv services, one request each, spaced like every arXiv request of the bot."""
    pacer = ArxivPacer(settings.arxiv_request_delay)
    category = settings.categories[0]
    async with httpx.AsyncClient(
        timeout=ARXIV_TIMEOUT, headers={"User-Agent": USER_AGENT}, follow_redirects=True
    ) as http:
        feed = await _probe(http, pacer, "arxiv feed", settings.arxiv_feed_url + category)
        api = await _probe(
            http, pacer, "arxiv api", settings.arxiv_api_url, {"id_list": PROBE_ID, "max_results": "1"}
        )
        html = await _probe(http, pacer, "arxiv html", f"{settings.arxiv_html_url}{PROBE_ID}v1", body=False)
    return [
        feed if isinstance(feed, Check) else feed_verdict(category, feed),
        api if isinstance(api, Check) else api_verdict(api),
        html if isinstance(html, Check) else html_verdict(html),
    ]


async def _probe(
    http: httpx.AsyncClient,
    pacer: ArxivPacer,
    name: str,
    url: str,
    params: dict[str, str] | None = None,
    *,
    body: bool = True,
) -> httpx.Response | Check:
    """The closed response (with its body if asked), or a FAIL row when arXiv did not answer usefully.

    Without `body` only the status is read: an HTML paper can weigh megabytes.
    """
    await pacer.wait()
    try:
        async with http.stream("GET", url, params=params) as response:
            if body:
                await response.aread()
    except httpx.TimeoutException:
        return Check(name, Verdict.FAIL, f"no answer within {ARXIV_TIMEOUT:g} s from {url}")
    except httpx.HTTPError as error:
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return Check(name, Verdict.FAIL, f"unreachable: {reason} ({url})")
    if is_transient_status(response.status_code):
        return Check(name, Verdict.FAIL, f"HTTP {response.status_code} from {url}: arXiv is unavailable")
    return response


def _took(response: httpx.Response) -> str:
    return f"in {response.elapsed.total_seconds():.2f} s"


def feed_verdict(category: str, response: httpx.Response) -> Check:
    if response.status_code != httpx.codes.OK:
        return Check("arxiv feed", Verdict.FAIL, f"HTTP {response.status_code} from {response.url}")
    try:
        announcement = parse_feed(response.content, category, source=str(response.url))
    except ArxivFeedError as error:
        return Check("arxiv feed", Verdict.FAIL, f"not a usable feed: {error}")
    if announcement.is_empty:
        found = f"{category}: no announcement in the feed now (weekend or holiday)"
    else:
        found = f"{category}: announcement of {announcement.announced}, {len(announcement.entries)} entries"
    return Check("arxiv feed", Verdict.OK, f"{found}, {_took(response)}")


def api_verdict(response: httpx.Response) -> Check:
    if response.status_code != httpx.codes.OK:
        return Check("arxiv api", Verdict.FAIL, f"HTTP {response.status_code} from {response.url}")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(response.content, parser)
    except etree.XMLSyntaxError:
        root = None
    if root is None or root.tag != _ATOM_FEED:
        return Check("arxiv api", Verdict.FAIL, f"answered, but not with an Atom feed ({response.url})")
    return Check("arxiv api", Verdict.OK, f"answered a query for {PROBE_ID} {_took(response)}")


def html_verdict(response: httpx.Response) -> Check:
    """A 404 proves the service answers too: many papers have no HTML version."""
    status = response.status_code
    if status < 400 or status == httpx.codes.NOT_FOUND:
        return Check("arxiv html", Verdict.OK, f"reachable, HTTP {status} {_took(response)}")
    return Check("arxiv html", Verdict.FAIL, f"HTTP {status} from {response.url}")


# Running the checks


async def _guarded(name: str, rows: Awaitable[list[Check]]) -> list[Check]:
    """An unforeseen error becomes a FAIL row: the doctor reports problems rather than crashing."""
    try:
        return await rows
    except Exception as error:
        return [Check(name, Verdict.FAIL, f"unexpected {type(error).__name__}: {error}")]


async def _single(check: Awaitable[Check]) -> list[Check]:
    return [await check]


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
