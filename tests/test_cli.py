"""`python -m bot fetch` and `digest` against the fake arXiv, as an operator runs them."""

from __future__ import annotations

from datetime import date

import pytest

from tests.fakes.arxiv_server import API, FEED, FakeArxiv
from tests.support import run_cli

pytestmark = pytest.mark.e2e

DAY = date(2026, 11, 24)


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
