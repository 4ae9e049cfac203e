"""Every way a command ends early: one line, an exit code, no traceback and no secret anywhere.

The real `python -m bot` process against the fakes: Telegram rejecting the token (the fake answers
401 to getMe for a token not its own), Telegram unreachable (a closed loopback port), arXiv
unreachable, a database locked by another process, a truncated database file. After each, every
byte of stdout, stderr (the log, at DEBUG) and the database files is searched for the secrets.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli.failures import explain
from tests.announcement import seed_day
from tests.fakes.arxiv_server import API, FEED, FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.rivals import locked
from tests.support import CLOSED_PORT, TEST_TOKEN
from tests.test_storage_faults import disk_full

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
REVOKED = "987654321:REVOKED-token-abcdefghijklmnopqrs"
URL_PASSWORD = "hunter2-url-password"
REJECTED = "error: Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized): check it with @BotFather"
DAMAGED = (
    "run `python -m bot doctor`, then restore the latest backup as docs/operations.md describes "
    "(Restoring a backup)"
)


@dataclass(frozen=True)
class Ended:
    code: int
    stdout: bytes
    stderr: bytes

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.decode().splitlines() if line.startswith("error: ")]


def bot(env: dict[str, str], *args: str, cwd: Path) -> Ended:
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        timeout=60,
    )
    return Ended(result.returncode, result.stdout, result.stderr)


def assert_one_line_and_no_secret(ended: Ended, env: dict[str, str], line: str) -> None:
    """Exactly one error line, as expected; no traceback; no secret in the output or the database."""
    assert ended.error_lines == [line], ended.stderr.decode()[-3000:]
    assert b"Traceback" not in ended.stdout + ended.stderr
    assert_no_secret(ended.stdout + ended.stderr, env)


def assert_no_secret(output: bytes, env: dict[str, str]) -> None:
    token = env["TELEGRAM_BOT_TOKEN"]
    secrets = [token, token.partition(":")[2], URL_PASSWORD]
    database = Path(env["DATABASE_PATH"])
    files = [database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
    stored = b"".join(path.read_bytes() for path in files if path.exists())
    for secret in secrets:
        assert secret.encode() not in output, f"{secret!r} printed"
        assert secret.encode() not in stored, f"{secret!r} stored in the database"


@pytest.fixture
def env(base_env: dict[str, str], telegram: FakeTelegram, arxiv: FakeArxiv) -> dict[str, str]:
    seed_day(arxiv)
    return {**base_env, "TELEGRAM_API_BASE_URL": telegram.base_url, **arxiv.env(), "CATEGORIES": "IR"}


@pytest.fixture
def fetched(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A database holding the day's announcement."""
    assert bot(env, "fetch", cwd=tmp_path).code == 0
    return env


@pytest.mark.parametrize("command", ["run", "push", "doctor"])
def test_a_rejected_token_is_one_line_naming_the_setting(fetched, tmp_path: Path, command: str):
    env = {**fetched, "TELEGRAM_BOT_TOKEN": REVOKED}
    ended = bot(env, command, cwd=tmp_path)
    assert_no_secret(ended.stdout + ended.stderr, env)
    assert b"Traceback" not in ended.stdout + ended.stderr
    if command == "doctor":  # a table with a verdict per row, rather than an error line
        assert ended.code == 1
        assert "token rejected by" in ended.stdout.decode()
    else:
        assert ended.code == 2
        assert_one_line_and_no_secret(ended, env, REJECTED)


def test_push_with_telegram_unreachable_is_one_line(fetched, tmp_path: Path):
    env = {**fetched, "TELEGRAM_API_BASE_URL": f"http://bot:{URL_PASSWORD}@127.0.0.1:9/bot"}
    ended = bot(env, "push", cwd=tmp_path)
    assert ended.code == 1
    [line] = ended.error_lines
    assert line.startswith(
        "error: Telegram is unreachable at http://bot:[TOKEN]@127.0.0.1:9/bot: "
        "aiohttp.ClientConnectorError: Cannot connect to host 127.0.0.1:9"
    )
    assert_one_line_and_no_secret(ended, env, line)


@contextlib.contextmanager
def running(env: dict[str, str], cwd: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    log = cwd / "run.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(REPO), **env},
            stdout=output,
            stderr=output,
        )
    try:
        yield process, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_run_waits_for_an_unreachable_telegram_with_a_line_per_try_and_stops_on_sigterm(env, tmp_path: Path):
    """Under systemd the bot may start before the network, or during an outage: it keeps trying."""
    env = {**env, "TELEGRAM_API_BASE_URL": f"http://bot:{URL_PASSWORD}@127.0.0.1:9/bot", "LOG_LEVEL": "INFO"}
    with running(env, tmp_path) as (process, log):
        deadline = time.monotonic() + 30
        while log.read_text().count("Telegram is unreachable") < 2:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    text = log.read_text()
    tries = [line for line in text.splitlines() if "Telegram is unreachable" in line]
    assert tries[0].endswith(
        "Telegram is unreachable at http://bot:[TOKEN]@127.0.0.1:9/bot "
        "(httpx.ConnectError: All connection attempts failed); try 1 failed, next in 1 s"
    )
    assert tries[1].endswith("try 2 failed, next in 2 s")
    assert "Stopped before Telegram could be reached" in text
    assert "Traceback" not in text
    assert_no_secret(log.read_bytes(), env)


def test_fetch_with_arxiv_unreachable_keeps_the_secrets(env, arxiv: FakeArxiv, tmp_path: Path):
    arxiv.fail(FEED, 503, times=None)
    arxiv.fail(API, 503, times=None)
    env = {**env, "ARXIV_RETRIES": "1"}
    ended = bot(env, "fetch", cwd=tmp_path)
    assert ended.code == 1
    assert "arXiv could not be read completely" in ended.stderr.decode()
    assert b"Traceback" not in ended.stderr
    assert_no_secret(ended.stdout + ended.stderr, env)


@pytest.mark.parametrize("command", ["run", "push", "fetch"])
def test_a_database_locked_by_another_process_at_start_is_one_line(fetched, tmp_path: Path, command: str):
    env = {**fetched, "DATABASE_BUSY_TIMEOUT": "0.5"}
    with locked(Path(env["DATABASE_PATH"])):
        ended = bot(env, command, cwd=tmp_path)
    assert ended.code == 1
    line = (
        f"error: database {env['DATABASE_PATH']}: locked by another process (database is locked); "
        "try again once the other process is done"
    )
    assert_one_line_and_no_secret(ended, env, line)


@pytest.mark.parametrize("command", ["run", "push", "fetch"])
def test_a_truncated_database_is_one_line_pointing_at_doctor_and_the_restore(
    fetched, tmp_path: Path, command: str
):
    database = Path(fetched["DATABASE_PATH"])
    os.truncate(database, database.stat().st_size // 2)
    ended = bot(fetched, command, cwd=tmp_path)
    assert ended.code == 1
    [line] = ended.error_lines
    assert line.startswith(f"error: database {database}: damaged (") and line.endswith(DAMAGED)
    assert_one_line_and_no_secret(ended, fetched, line)
    doctor = bot(fetched, "doctor", cwd=tmp_path)
    assert doctor.code == 1 and b"Traceback" not in doctor.stdout + doctor.stderr
    assert "Verdict: FAIL" in doctor.stdout.decode()


def test_a_file_that_is_no_database_is_one_line(env, tmp_path: Path):
    Path(env["DATABASE_PATH"]).write_bytes(b"these are not the pages of a SQLite database " * 100)
    ended = bot(env, "push", cwd=tmp_path)
    assert ended.code == 1
    assert_one_line_and_no_secret(
        ended,
        env,
        f"error: database {env['DATABASE_PATH']}: damaged (file is not a database); {DAMAGED}",
    )


def test_backup_refusals_keep_the_secrets(fetched, tmp_path: Path):
    target = tmp_path / "copy.sqlite3"
    target.write_bytes(b"an older copy")
    ended = bot(fetched, "backup", str(target), cwd=tmp_path)
    assert ended.code == 1
    assert_one_line_and_no_secret(ended, fetched, f"error: {target} exists; pass --force to replace it")


def test_the_checks_read_a_real_sqlite_read_only_error(tmp_path: Path):
    """Read-only databases cannot be made by permissions here (tests may run as root): the driver's
    own SQLITE_READONLY, from a read-only connection, is classified instead."""
    path = tmp_path / "ro.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE t (x)")
    read_only = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    with contextlib.closing(read_only), pytest.raises(sqlite3.OperationalError) as refused:
        read_only.execute("INSERT INTO t VALUES (1)")
    failure = explain(refused.value, CLOSED_PORT, path)
    assert failure is not None and failure.exit_code == 1
    assert failure.line == (
        f"database {path}: read-only (attempt to write a readonly database); "
        "check the permissions of the file and of its folder"
    )


def test_the_checks_read_a_real_sqlite_disk_full_error(tmp_path: Path):
    path = tmp_path / "full.sqlite3"
    failure = explain(disk_full(path), CLOSED_PORT, path)
    assert failure is not None and failure.exit_code == 1
    assert failure.line == (
        f"database {path}: on a full disk (database or disk is full); "
        "free some space, then run the command again"
    )
    assert TEST_TOKEN not in failure.line
