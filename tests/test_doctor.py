"""`python -m bot doctor` against the fakes: a healthy setup, and each broken part named in its own row."""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from rich.filesize import decimal
from telegram import WebhookInfo

from bot.__main__ import main
from bot.cli.checks import Verdict
from bot.cli.doctor import disk_space_check, schema_check, settings_check, write_verdict
from bot.cli.remote_checks import PROBE_ID, webhook_verdict
from bot.config import Settings, load_settings
from storage import db as database
from storage.models import AffiliationSource, AnnounceType, Author, Paper
from storage.papers import PaperRepository
from tests.fakes.arxiv_server import API, FEED, HTML, LISTING, FakeArxiv
from tests.fakes.telegram import DEFAULT_BOT_USERNAME, FakeTelegram
from tests.postgres_server import BACKEND
from tests.support import CLOSED_PORT, TEST_TOKEN, open_database, subscribe_chat

SECRET = TEST_TOKEN.partition(":")[2]
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ANNOUNCED = date(2026, 11, 24)
CATEGORY = "cs.IR"
OTHER_TOKEN = "987654321:OTHER-token-abcdefghijklmnopqrstu"
SETTING_VARIABLES = [field.name.upper() for field in fields(Settings)]
DATABASE_CHECKS = {
    "sqlite": [
        "database file",
        "database schema",
        "database writes",
        "disk space",
        "integrity",
        "journal mode",
    ],
    "postgres": ["database server", "database schema", "database writes", "connections"],
}
CHECKS = [
    "settings",
    "arxiv contact",
    *DATABASE_CHECKS[BACKEND],
    "contents",
    "announcements",
    "affiliations",
    "telegram",
    "arxiv listing",
    "arxiv feed",
    "arxiv api",
    "arxiv html",
    "language model",
]
WEBHOOK_URL = "https://bot.example.org/telegram/updates"
WEBHOOK_SECRET = "doctor-webhook-Secret_0123"
ARXIV_CHECKS = ["arxiv listing", "arxiv feed", "arxiv api", "arxiv html"]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Row:
    verdict: str
    detail: str


@dataclass(frozen=True)
class DoctorRun:
    code: int
    rows: dict[str, Row]
    out: str
    err: str

    def verdicts(self, names: list[str] | None = None) -> dict[str, str]:
        return {name: row.verdict for name, row in self.rows.items() if names is None or name in names}


def table_rows(out: str) -> dict[str, Row]:
    """The doctor's table as {check: Row}, in printed order; a detail folded over lines is rejoined."""
    cells: dict[str, tuple[str, list[str]]] = {}
    current = ""
    for line in _ANSI.sub("", out).splitlines():
        parts = line.split("│")
        if len(parts) != 5:
            continue
        name, verdict, detail = (part.strip() for part in parts[1:4])
        if name:
            current = name
            cells[name] = (verdict, [detail])
        else:
            cells[current][1].append(detail)
    return {name: Row(verdict, "\n".join(lines)) for name, (verdict, lines) in cells.items()}


@pytest.fixture
def doctor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str]):
    """Run `main(["doctor"])` with exactly `env` as settings, from a folder without `.env`.

    Every run is also checked for what must never be printed: a traceback, or the token's secret.
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")

    def run(env: dict[str, str]) -> DoctorRun:
        for variable in SETTING_VARIABLES:
            monkeypatch.delenv(variable, raising=False)
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        code = main(["doctor"])
        out, err = capfd.readouterr()
        assert "Traceback" not in out + err
        assert SECRET not in out + err
        return DoctorRun(code, table_rows(out), out, err)

    return run


async def seed(path: Path) -> None:
    """A database as a working bot leaves it: one subscribed chat and one stored announcement, its
    paper's affiliations read from the HTML author block and a note."""
    paper = Paper(PROBE_ID, 1, "A probe paper", "Its abstract.", (Author("Ada Lovelace"),), (CATEGORY,))
    async with open_database(path) as db:
        await subscribe_chat(db, 1, [CATEGORY], NOW, language="en")
        papers = PaperRepository(db, clock=lambda: NOW)
        await papers.store_announcement(CATEGORY, ANNOUNCED, [(paper, AnnounceType.NEW)])
        authors = [
            Author("Ada Lovelace", ("University of London",), (AffiliationSource.HTML_AUTHORS,)),
            Author("Alan Turing", ("Bletchley Park",), (AffiliationSource.HTML_NOTE,)),
        ]
        await papers.set_author_affiliations(PROBE_ID, authors)


async def fill_with_chats(path: Path, count: int) -> None:
    async with open_database(path) as db, database.transaction(db):
        await db.executemany(
            "INSERT INTO chats (id, type, title, created) VALUES (?, 'group', ?, ?)",
            [(chat_id, f"Reading group {chat_id}", NOW.isoformat()) for chat_id in range(1, count + 1)],
        )


@pytest.fixture
def database_path(base_env: dict[str, str]) -> Path:
    return Path(base_env["DATABASE_PATH"])


@pytest.fixture
def healthy_env(bot_env: dict[str, str], arxiv: FakeArxiv, database_path: Path) -> dict[str, str]:
    arxiv.add_paper(PROBE_ID, "A probe paper", categories=[CATEGORY])
    arxiv.set_announcement(CATEGORY, ANNOUNCED, [(PROBE_ID, "new")])
    arxiv.set_html(f"{PROBE_ID}v1", "<html><body><h1>A probe paper</h1></body></html>")
    asyncio.run(seed(database_path))
    return {**bot_env, "CATEGORIES": "IR", "ARXIV_CONTACT": "ops@example.org"}


@pytest.fixture
def stranger() -> Iterator[FakeTelegram]:
    """A Telegram that knows another bot: it answers the configured token with 401."""
    with FakeTelegram(token=OTHER_TOKEN) as fake:
        yield fake


def test_a_missing_arxiv_contact_is_a_warning(doctor, healthy_env):
    run = doctor({**healthy_env, "ARXIV_CONTACT": ""})
    assert run.code == 0
    assert run.rows["arxiv contact"].verdict == Verdict.WARN
    assert "ARXIV_CONTACT not set" in run.rows["arxiv contact"].detail


@pytest.mark.sqlite_only
def test_a_healthy_deployment_passes_every_check(
    doctor: Callable[[dict[str, str]], DoctorRun],
    healthy_env: dict[str, str],
    telegram: FakeTelegram,
    arxiv: FakeArxiv,
    database_path: Path,
):
    stored = database_path.read_bytes()
    run = doctor(healthy_env)
    assert run.code == 0
    assert list(run.rows) == CHECKS
    assert set(run.verdicts().values()) == {Verdict.OK}
    assert run.out.rstrip().endswith(f"Verdict: OK, all {len(CHECKS)} checks passed.")
    settings = run.rows["settings"].detail
    assert ".env: none" in settings
    assert "TELEGRAM_BOT_TOKEN: set, bot id 123456789" in settings
    assert "CATEGORIES=cs.IR" in settings
    assert run.rows["database schema"].detail == f"version {len(database.migrations())}, current"
    assert run.rows["journal mode"].detail == "wal"
    counts, _, size = run.rows["contents"].detail.partition("; ")
    assert counts == "chats: 1 (1 active), subscriptions: 1, papers: 1"
    assert re.fullmatch(r"database [\d.]+ kB, [\d.]+ (bytes|kB) of it free for new rows", size)
    assert run.rows["announcements"].detail == f"{CATEGORY} {ANNOUNCED}"
    assert run.rows["affiliations"].detail.splitlines() == [
        "papers with affiliations from the HTML author block: 1",
        "papers with affiliations from the HTML note: 1",
    ]
    assert "contact: ops@example.org" in run.rows["arxiv contact"].detail
    assert all("contact: ops@example.org" in request.user_agent for request in arxiv.requests)
    assert f"@{DEFAULT_BOT_USERNAME} (bot id 123456789)" in run.rows["telegram"].detail
    assert (
        f"{CATEGORY}: announcement of {ANNOUNCED}, 1 entries, current layout"
        in run.rows["arxiv listing"].detail
    )
    assert f"{CATEGORY}: announcement of {ANNOUNCED}, 1 entries" in run.rows["arxiv feed"].detail
    assert run.rows["arxiv html"].detail.startswith("reachable, HTTP 200")
    assert telegram.count("getMe") == 1
    assert "/bot[TOKEN]/getMe" in run.err
    assert [len(arxiv.requests_to(endpoint)) for endpoint in (LISTING, FEED, API, HTML)] == [1, 1, 1, 1]
    assert arxiv.requests_to(API)[0].ids == [PROBE_ID]
    assert database_path.read_bytes() == stored


def test_a_token_telegram_rejects_fails_the_telegram_row(
    doctor: Callable[[dict[str, str]], DoctorRun], healthy_env: dict[str, str], stranger: FakeTelegram
):
    run = doctor({**healthy_env, "TELEGRAM_API_BASE_URL": stranger.base_url})
    assert run.code == 1
    assert run.rows["telegram"].verdict == Verdict.FAIL
    assert f"token rejected by {stranger.base_url}" in run.rows["telegram"].detail
    assert {name: verdict for name, verdict in run.verdicts().items() if verdict != Verdict.OK} == {
        "telegram": Verdict.FAIL
    }
    assert "Verdict: FAIL, 1 failed and 0 with warnings" in run.out


def test_an_unreachable_telegram_fails_the_telegram_row(
    doctor: Callable[[dict[str, str]], DoctorRun], healthy_env: dict[str, str]
):
    base_url = f"{CLOSED_PORT}/bot"
    run = doctor({**healthy_env, "TELEGRAM_API_BASE_URL": base_url})
    assert run.code == 1
    assert run.rows["telegram"].verdict == Verdict.FAIL
    assert run.rows["telegram"].detail.startswith("unreachable: ")
    assert base_url in run.rows["telegram"].detail


def test_a_missing_token_fails_the_telegram_row_without_asking_telegram(
    doctor: Callable[[dict[str, str]], DoctorRun], healthy_env: dict[str, str], telegram: FakeTelegram
):
    env = {name: value for name, value in healthy_env.items() if name != "TELEGRAM_BOT_TOKEN"}
    run = doctor(env)
    assert run.code == 1
    assert run.rows["telegram"] == Row(Verdict.FAIL, "TELEGRAM_BOT_TOKEN not set; `run` and `push` need it")
    assert "TELEGRAM_BOT_TOKEN: not set" in run.rows["settings"].detail
    assert telegram.count("getMe") == 0


def test_arxiv_answering_503_fails_each_arxiv_row(
    doctor: Callable[[dict[str, str]], DoctorRun], healthy_env: dict[str, str], arxiv: FakeArxiv
):
    for endpoint in (LISTING, FEED, API, HTML):
        arxiv.fail(endpoint, 503, times=None)
    run = doctor(healthy_env)
    assert run.code == 1
    assert run.verdicts(ARXIV_CHECKS) == dict.fromkeys(ARXIV_CHECKS, Verdict.FAIL)
    for name in ARXIV_CHECKS:
        assert "HTTP 503" in run.rows[name].detail
        assert "arXiv is unavailable" in run.rows[name].detail
    assert [len(arxiv.requests_to(endpoint)) for endpoint in (LISTING, FEED, API, HTML)] == [1, 1, 1, 1]
    assert run.rows["telegram"].verdict == Verdict.OK


def test_a_malformed_feed_fails_only_the_feed_row(
    doctor: Callable[[dict[str, str]], DoctorRun], healthy_env: dict[str, str], arxiv: FakeArxiv
):
    arxiv.malformed(FEED)
    run = doctor(healthy_env)
    assert run.code == 1
    assert run.verdicts(ARXIV_CHECKS) == {
        "arxiv listing": Verdict.OK,
        "arxiv feed": Verdict.FAIL,
        "arxiv api": Verdict.OK,
        "arxiv html": Verdict.OK,
    }
    assert run.rows["arxiv feed"].detail.startswith("not a usable feed: ")


def test_a_listing_page_in_an_unknown_layout_warns(
    doctor: Callable[[dict[str, str]], DoctorRun], healthy_env: dict[str, str], arxiv: FakeArxiv
):
    arxiv.set_raw_listing(CATEGORY, b"<html><body><h1>A new look</h1></body></html>")
    run = doctor(healthy_env)
    assert run.code == 0
    assert run.rows["arxiv listing"].verdict == Verdict.WARN
    assert run.rows["arxiv listing"].detail.startswith("layout not understood, so digests wait for the feeds")


@pytest.mark.sqlite_only
def test_a_file_that_is_not_a_database_fails_the_database_row(
    doctor: Callable[[dict[str, str]], DoctorRun], healthy_env: dict[str, str], database_path: Path
):
    garbage = random.Random(7).randbytes(8192)
    database_path.write_bytes(garbage)
    run = doctor(healthy_env)
    assert run.code == 1
    assert run.rows["database file"].verdict == Verdict.FAIL
    assert "not a usable SQLite database" in run.rows["database file"].detail
    assert "integrity" not in run.rows
    assert database_path.read_bytes() == garbage


@pytest.mark.sqlite_only
def test_damaged_pages_fail_the_integrity_row(
    doctor: Callable[[dict[str, str]], DoctorRun], healthy_env: dict[str, str], database_path: Path
):
    database_path.unlink()
    asyncio.run(fill_with_chats(database_path, 2000))
    with closing(sqlite3.connect(database_path)) as connection:
        [(page_size,)] = connection.execute("PRAGMA page_size")
    data = database_path.read_bytes()
    table_leaf = 0x0D  # a b-tree page holding rows: damage there is what integrity_check reports
    [page, *_] = (
        start
        for start in range(0, len(data), page_size)
        if data[start] == table_leaf and b"Reading group 1000" in data[start : start + page_size]
    )
    with database_path.open("r+b") as file:
        file.seek(page + page_size // 2)
        file.write(b"\xff" * 64)
    run = doctor(healthy_env)
    assert run.code == 1
    assert run.rows["database file"].verdict == Verdict.OK
    assert run.rows["integrity"].verdict == Verdict.FAIL
    assert run.rows["integrity"].detail.startswith("integrity_check: ")


@pytest.mark.sqlite_only
def test_a_missing_database_is_a_warning_and_is_not_created(
    doctor: Callable[[dict[str, str]], DoctorRun], healthy_env: dict[str, str], tmp_path: Path
):
    missing = tmp_path / "data" / "bot.sqlite3"
    run = doctor({**healthy_env, "DATABASE_PATH": str(missing)})
    assert run.code == 0
    assert run.rows["database file"].verdict == Verdict.WARN
    assert "does not exist yet" in run.rows["database file"].detail
    assert "database schema" not in run.rows
    assert {verdict for name, verdict in run.verdicts().items() if name != "database file"} == {Verdict.OK}
    assert "Verdict: WARN, 0 failed and 1 with warnings" in run.out
    assert not missing.parent.exists()


def test_bad_settings_exit_2_with_one_line_and_check_nothing(
    doctor: Callable[[dict[str, str]], DoctorRun],
    healthy_env: dict[str, str],
    telegram: FakeTelegram,
    arxiv: FakeArxiv,
):
    run = doctor({**healthy_env, "ARXIV_REQUEST_DELAY": "fast"})
    assert run.code == 2
    assert run.out == ""
    assert run.err.count("\n") == 1
    assert run.err.startswith("error: ARXIV_REQUEST_DELAY: ")
    assert telegram.count("getMe") == 0
    assert arxiv.requests == []


@pytest.mark.parametrize(
    ("version", "available", "verdict"),
    [(6, 6, Verdict.OK), (4, 6, Verdict.WARN), (7, 6, Verdict.FAIL)],
)
def test_schema_versions_behind_are_warnings_and_ahead_are_failures(version, available, verdict):
    assert schema_check(version, available).verdict is verdict


# --- storage faults: a held lock, a read-only database, a full disk -------------------------------


@pytest.mark.sqlite_only
def test_a_write_lock_held_by_another_process_fails_the_writes_row(
    doctor: Callable[[dict[str, str]], DoctorRun], healthy_env: dict[str, str], database_path: Path
):
    holder = sqlite3.connect(database_path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        run = doctor(healthy_env)
    finally:
        holder.rollback()
        holder.close()
    assert run.code == 1
    assert run.rows["database writes"].verdict == Verdict.FAIL
    assert run.rows["database writes"].detail.startswith("locked: another process has held the write lock")
    assert run.rows["integrity"].verdict == Verdict.OK


@pytest.mark.sqlite_only
def test_a_read_only_database_fails_the_writes_row(database_path: Path, healthy_env: dict[str, str]):
    """SQLite's own answer when the bot may read but not write (here: opened read-only)."""
    connection = sqlite3.connect(f"{database_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        check = write_verdict(connection)
    finally:
        connection.close()
    assert check.verdict == Verdict.FAIL
    assert check.detail.startswith("read-only: the bot can read but not record anything")


@pytest.mark.parametrize(
    ("free", "verdict"),
    [(10 * 10**6, Verdict.FAIL), (300 * 10**6, Verdict.WARN), (20 * 10**9, Verdict.OK)],
)
def test_disk_space_is_judged_by_what_a_push_needs(free: int, verdict: Verdict):
    check = disk_space_check(free)
    assert check.verdict == verdict
    assert check.detail.startswith(f"{decimal(free)} free")


def test_webhook_settings_show_the_listen_address_and_never_the_secret():
    settings = load_settings(
        {
            "RUN_MODE": "webhook",
            "WEBHOOK_URL": "https://bot.example.org/telegram/updates",
            "WEBHOOK_LISTEN": "127.0.0.1:9000",
            "WEBHOOK_SECRET": "doctor-never-shows-this",
        },
        env_file=None,
    )
    detail = settings_check(settings).detail
    assert "RUN_MODE=webhook" in detail
    assert "WEBHOOK_URL=https://bot.example.org/telegram/updates" in detail
    assert "WEBHOOK_LISTEN=127.0.0.1:9000, WEBHOOK_SECRET set" in detail
    assert "doctor-never-shows-this" not in detail


@pytest.fixture
def webhook_env(healthy_env: dict[str, str]) -> dict[str, str]:
    return {
        **healthy_env,
        "RUN_MODE": "webhook",
        "WEBHOOK_URL": WEBHOOK_URL,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


def test_webhook_mode_reports_where_telegram_posts_and_fails_while_it_cannot_deliver(
    doctor: Callable[[dict[str, str]], DoctorRun], webhook_env: dict[str, str], telegram: FakeTelegram
):
    telegram.register_webhook(WEBHOOK_URL, secret_token=WEBHOOK_SECRET)
    run = doctor(webhook_env)
    assert run.code == 0
    at = CHECKS.index("telegram") + 1
    assert list(run.rows) == [*CHECKS[:at], "telegram webhook", *CHECKS[at:]]
    assert run.rows["telegram webhook"] == Row(
        Verdict.OK, f"Telegram posts updates to {WEBHOOK_URL}\n0 update(s) waiting"
    )

    telegram.push_update(telegram.message_update(42, "/start"))  # held while Telegram cannot deliver it
    telegram.webhook_delivery_failed("Connection refused")
    run = doctor(webhook_env)
    assert run.code == 1
    row = run.rows["telegram webhook"]
    assert row.verdict == Verdict.FAIL
    posts, waiting, error = row.detail.splitlines()
    assert (posts, waiting) == (f"Telegram posts updates to {WEBHOOK_URL}", "1 update(s) waiting")
    assert re.fullmatch(
        r"last delivery error \(\d{4}-\d\d-\d\d \d\d:\d\d UTC, \d+ s ago\): Connection refused", error
    )
    assert telegram.count("getWebhookInfo") == 2
    assert WEBHOOK_SECRET not in run.out + run.err


def test_a_webhook_registered_elsewhere_fails_and_its_password_is_not_shown(
    doctor: Callable[[dict[str, str]], DoctorRun], webhook_env: dict[str, str], telegram: FakeTelegram
):
    telegram.register_webhook("https://old:pa55-word@old.example.org/hook")
    run = doctor(webhook_env)
    assert run.code == 1
    row = run.rows["telegram webhook"]
    assert row.verdict == Verdict.FAIL
    assert row.detail.startswith(
        "Telegram posts updates to https://old:[TOKEN]@old.example.org/hook, not to WEBHOOK_URL"
    )
    assert "pa55-word" not in run.out + run.err


def test_no_webhook_registered_yet_is_a_warning(
    doctor: Callable[[dict[str, str]], DoctorRun], webhook_env: dict[str, str]
):
    run = doctor(webhook_env)
    assert run.code == 0
    assert run.rows["telegram webhook"] == Row(
        Verdict.WARN, "none registered: `run` registers WEBHOOK_URL when it starts; 0 update(s) waiting"
    )


@pytest.mark.parametrize(
    ("age", "pending", "verdict", "ago"),
    [
        (timedelta(minutes=5), 3, Verdict.FAIL, "5 min"),
        (timedelta(minutes=59), 0, Verdict.WARN, "59 min"),
        (timedelta(hours=2), 3, Verdict.OK, "2 h"),
        (timedelta(days=3), 0, Verdict.OK, "3 day(s)"),
    ],
)
def test_a_delivery_error_counts_while_recent_and_fails_while_updates_wait(
    age: timedelta, pending: int, verdict: Verdict, ago: str
):
    failed = NOW - age
    info = WebhookInfo(
        WEBHOOK_URL,
        False,
        pending,
        last_error_date=failed,
        last_error_message="Wrong response from the webhook: 502 Bad Gateway",
    )
    check = webhook_verdict(info, WEBHOOK_URL, NOW)
    assert check.verdict == verdict
    assert check.detail.splitlines()[-1] == (
        f"last delivery error ({failed:%Y-%m-%d %H:%M} UTC, {ago} ago): "
        "Wrong response from the webhook: 502 Bad Gateway"
    )
