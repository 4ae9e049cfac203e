"""`python -m bot console` (the handlers in a terminal chat) and `push --dry-run --show`, run as an
operator runs them, with scripted input."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.announcement import DAY, IR_NEW, seed_day
from tests.fakes.arxiv_server import FakeArxiv
from tests.support import bot_command, cli_env, run_cli, subscribe_chats

pytestmark = pytest.mark.e2e


def converse(env: dict[str, str], cwd: Path, *lines: str, offline: bool = False) -> str:
    arguments = ["console", "--offline"] if offline else ["console"]
    result = subprocess.run(
        bot_command(*arguments),
        input="\n".join(lines) + "\n",
        cwd=cwd,
        env=cli_env({**env, "COLUMNS": "200"}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_offline_console_holds_a_whole_conversation(base_env, tmp_path):
    env = {key: value for key, value in base_env.items() if key != "TELEGRAM_BOT_TOKEN"}
    transcript = converse(
        env,
        tmp_path,
        "/start",
        "/subscribe math-ph",
        "/today",
        "1",
        "/paper 2408.03981",
        "hello",
        "/quit",
        "/today",  # after /quit: never read
        offline=True,
    )
    assert "Offline: arXiv's math-ph announcement of Fri 9 Aug 2024 (16 papers)" in transcript
    assert "arXiv paper digest\nEvery evening arXiv announces new papers." in transcript
    assert "[5] ▫️ IR · Retrieval" in transcript
    assert "✅ Subscribed to math-ph (Mathematical Physics)." in transcript
    assert "arXiv digest · Fri 9 Aug 2024 · math-ph 6 (+10 cross)" in transcript
    assert "│ We prove that every unitary invertible quantum field" in transcript  # collapsed in Telegram
    assert "+6 more: tap “All math-ph” below.\n[1] All math-ph (16)" in transcript
    assert "you › 1\n  · math-ph\nbot\nmath-ph · Fri 9 Aug 2024 · page 2 of 2 · 16 papers" in transcript
    assert "arXiv:2408.03981v1 · PDF · HTML" in transcript
    assert "Send /today for the latest papers" in transcript
    assert transcript.count("you › /today") == 1


def test_live_console_reads_what_is_followed_from_arxiv(base_env, arxiv: FakeArxiv, tmp_path):
    seed_day(arxiv)
    transcript = converse(
        {**base_env, **arxiv.env()},
        tmp_path,
        "/subscribe IR",
        "/today",
        f"/paper {IR_NEW[0]}",
        "/search retrieval study",
        "2",
    )
    assert "· reading cs.IR from arXiv…\n  · cs.IR read" in transcript
    assert "arXiv digest · Tue 24 Nov 2026 · IR 16" in transcript
    entry = "Retrieval study number 0\nA Lovelace, A Turing\n[University of Oxford & Google DeepMind]"
    assert entry in transcript
    assert "Search “retrieval study” · page 1 of 3 · 14 papers, newest first" in transcript
    assert "bot (edited)\nSearch “retrieval study” · page 2 of 3" in transcript


def test_push_dry_run_shows_the_messages_without_a_token(base_env, arxiv: FakeArxiv, tmp_path):
    seed_day(arxiv)
    env = {key: value for key, value in base_env.items() if key != "TELEGRAM_BOT_TOKEN"}
    env = {**env, **arxiv.env(), "COLUMNS": "200", "LOG_LEVEL": "WARNING"}
    database = Path(env["DATABASE_PATH"])
    subscribed = datetime(2026, 11, 23, tzinfo=UTC)
    asyncio.run(subscribe_chats(database, [11, 12], ["cs.IR"], subscribed))
    assert run_cli(env, "fetch", "IR", cwd=tmp_path).returncode == 0

    result = run_cli(env, "push", "--dry-run", "--show", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "── to 2 chats (1 message), message 1\narXiv digest · Tue 24 Nov 2026 · IR 16" in result.stdout
    assert "[1] 1 · 👍" in result.stdout  # the featured entries' feedback buttons come first
    assert "[10] All IR (16)" in result.stdout
    assert "would plan" in result.stdout
    assert run_cli(env, "push", cwd=tmp_path).returncode == 2  # a real push still needs the token
    assert DAY.isoformat() in result.stdout
