"""`python -m bot fetch`, `digest` and `push` against the fakes, as an operator runs them."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.fakes.arxiv_server import API, FEED, FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.support import run_cli, subscribe_chats

pytestmark = pytest.mark.e2e

DAY = date(2026, 11, 24)

NOT_FOR_A_PUSH = (
    "telegram.ext",  # PTB's application layer, with its scheduler and webhook server
    "apscheduler",
    "tornado",
    "arxiv",  # arXiv's clients and parsers
    "lxml",
    "bot.arxiv",
    "sklearn",  # ranking models: only for chats with enough taps
    "numpy",
    "scipy",
    "openai",  # the language model: only when one is configured
    "bot.llm.writer",
    "bot.core.generated",
    "babel",  # dates and catalogues: only for chats in Chinese
    "dotenv",  # only where a .env file is used
    "handlers",
    "bot.app",
    "bot.jobs",
    "bot.gateway",
    "rich._emoji_codes",  # rich's emoji names: the CLI prints colons as they are
)
"""What a push never loads: each costs its start-up CPU, and another command or chat needs it."""


@pytest.fixture
def env(base_env: dict[str, str], arxiv: FakeArxiv) -> dict[str, str]:
    arxiv.add_paper(
        "2611.00001",
        "Dense <Retrieval> & Friends",
        authors=[("Ada Lovelace", ["University of Oxford"]), "Alan Turing"],
        categories=["cs.IR"],
        comment="Accepted at SIGIR 2026",
    )
    arxiv.add_paper("2611.00002", "Cross-listed learning", categories=["cs.LG", "cs.IR"])
    arxiv.add_paper("2601.00009", "Revised", categories=["cs.IR"], version=2)
    arxiv.set_announcement(
        "cs.IR", DAY, [("2611.00001", "new"), ("2611.00002", "cross"), ("2601.00009", "replace")]
    )
    arxiv.set_announcement("cs.LG", DAY, [("2611.00002", "new")])
    return {**base_env, **arxiv.env(), "CATEGORIES": "IR,LG,CV", "LOG_LEVEL": "WARNING", "COLUMNS": "120"}


def test_the_cli_prints_emoji_codes_as_they_are_written():
    """A paper titled with `:rocket:` in it keeps its colons in `digest` and the push's summary."""
    from bot.cli import console

    for output in (console.console, console.errors):
        with output.capture() as captured:
            output.print("Scaling :rocket: laws", markup=False, highlight=False)
        assert captured.get() == "Scaling :rocket: laws\n"


def test_fetch_stores_the_announcement_and_prints_a_summary(env, tmp_path):
    result = run_cli(env, "fetch", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 5}
    assert [cell.strip() for cell in rows["cs.IR"].split("│")[2:7]] == ["2026-11-24", "1", "1", "1", "2"]
    assert [cell.strip() for cell in rows["cs.LG"].split("│")[2:7]] == ["2026-11-24", "1", "0", "0", "1"]
    assert rows["cs.CV"].split("│")[2].strip() == "none"
    assert "affiliations" in result.stderr


def test_digest_prints_the_entries_like_the_chat(env, tmp_path):
    assert run_cli(env, "fetch", "IR", cwd=tmp_path).returncode == 0
    result = run_cli(env, "digest", "IR", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("arXiv digest · Tue 24 Nov 2026 · IR 1 (+1 cross)")
    assert (
        "1. [IR] Dense <Retrieval> & Friends\nA Lovelace, A Turing\n[University of Oxford]" in result.stdout
    )
    assert "Accepted at SIGIR 2026" in result.stdout
    assert "https://arxiv.org/abs/2611.00001" in result.stdout
    assert "Revised" not in result.stdout
    older = run_cli(env, "digest", "cs.IR", "--date", "2026-11-23", cwd=tmp_path)
    assert older.returncode == 1
    assert "No announcement of cs.IR is stored for 2026-11-23." in older.stderr


def test_digest_before_any_fetch_says_what_to_do(env, tmp_path):
    result = run_cli(env, "digest", "LG", cwd=tmp_path)
    assert result.returncode == 1
    assert "run `python -m bot fetch`" in result.stderr


def test_fetch_exits_1_with_a_clear_message_when_arxiv_is_down(env, arxiv, tmp_path):
    arxiv.fail(FEED, 503, times=None)
    arxiv.fail(API, 503, times=None)
    result = run_cli({**env, "CATEGORIES": "IR", "ARXIV_RETRIES": "2"}, "fetch", cwd=tmp_path)
    assert result.returncode == 1
    assert "error: cs.IR:" in result.stderr
    assert "arXiv could not be read completely" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_category_and_bad_date_are_usage_errors(env, tmp_path):
    result = run_cli(env, "fetch", "IRR", cwd=tmp_path)
    assert (result.returncode, result.stderr.strip()) == (
        2,
        "error: Unknown category “IRR”. Did you mean IR?",
    )
    result = run_cli(env, "digest", "IR", "--date", "yesterday", cwd=tmp_path)
    assert result.returncode == 2
    assert "expected a date as YYYY-MM-DD" in result.stderr


def test_a_dry_run_push_says_how_many_featured_papers_have_affiliations(env, arxiv, telegram, tmp_path):
    arxiv.set_html(
        "2611.00001v1",
        '<article class="ltx_document"><div class="ltx_authors"><span class="ltx_creator ltx_role_author">'
        '<span class="ltx_personname">Alan Turing</span><span class="ltx_contact ltx_role_affiliation">'
        "University of Manchester</span></span></div></article>",
    )
    asyncio.run(
        subscribe_chats(Path(env["DATABASE_PATH"]), [1], ["cs.IR"], datetime(2026, 11, 1, tzinfo=UTC))
    )
    assert run_cli(env, "fetch", cwd=tmp_path).returncode == 0
    result = run_cli({**env, "TELEGRAM_API_BASE_URL": telegram.base_url}, "push", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (row,) = [line for line in result.stdout.splitlines() if "featured papers with affiliations" in line]
    assert "1 of 2 (50%)" in row  # 2611.00002's page is missing


def test_a_push_loads_none_of_what_only_other_commands_need(env, telegram: FakeTelegram, tmp_path):
    """The real process, sending to a chat: an import anywhere on its path fails this (psycopg too, on
    SQLite), rather than only a slower start-up nobody measures."""
    asyncio.run(
        subscribe_chats(Path(env["DATABASE_PATH"]), [1], ["cs.IR"], datetime(2026, 11, 1, tzinfo=UTC))
    )
    assert run_cli(env, "fetch", cwd=tmp_path).returncode == 0
    # Python names every module the process imports on stderr, one line each.
    env = {**env, "TELEGRAM_API_BASE_URL": telegram.base_url, "PYTHONPROFILEIMPORTTIME": "1"}
    result = run_cli(env, "push", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert telegram.sent_messages(1)
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    imported = [line.rsplit("|", 1)[1].strip() for line in lines]
    assert "aiohttp" in imported
    unwanted = [*NOT_FOR_A_PUSH, *([] if "DATABASE_URL" in env else ["psycopg"])]
    loaded = [name for name in imported if any(name == m or name.startswith(f"{m}.") for m in unwanted)]
    assert loaded == []
