"""The real `python -m bot run` process against the fakes: greeting, help, unknown command, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.support import TEST_TOKEN, run_cli, start_cli

pytestmark = pytest.mark.e2e

USER = 4242


@pytest.fixture
def bot_process(bot_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "bot.log").open("w+")
    process = start_cli(bot_env, "run", cwd=tmp_path, log=log)
    process.log_path = tmp_path / "bot.log"  # type: ignore[attr-defined]
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        log.close()


def stop(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=20)
    return code, process.log_path.read_text()  # type: ignore[attr-defined]


def test_the_bot_answers_and_stops_cleanly_on_sigterm(
    bot_process: subprocess.Popen[bytes], telegram: FakeTelegram, arxiv: FakeArxiv
):
    telegram.wait_until_polling_sync(timeout=20)
    names = [command["command"] for command in telegram.commands()]
    assert {"start", "help", "subscribe"} <= set(names)

    telegram.push_update(telegram.message_update(USER, "/start", user_id=USER))
    telegram.wait_for_sync("sendMessage", chat_id=USER, timeout=10)
    assert "arXiv paper digest" in telegram.sent_messages(USER)[-1].visible_text

    telegram.push_update(telegram.message_update(USER, "/help", user_id=USER))
    telegram.push_update(telegram.message_update(USER, "/nonsense", user_id=USER))
    telegram.wait_for_sync("sendMessage", chat_id=USER, count=3, timeout=10)
    help_reply, unknown_reply = telegram.sent_messages(USER)[1:3]
    assert "/subscribe" in help_reply.visible_text
    assert "/help" in unknown_reply.visible_text

    code, log = stop(bot_process)
    assert code == 0
    assert "database closed" in log
    assert "Traceback" not in log


def test_the_token_never_reaches_the_log_at_debug_level(
    bot_process: subprocess.Popen[bytes], telegram: FakeTelegram
):
    telegram.wait_until_polling_sync(timeout=20)
    telegram.push_update(telegram.message_update(USER, "/start", user_id=USER))
    telegram.wait_for_sync("sendMessage", chat_id=USER, timeout=10)
    code, log = stop(bot_process)
    assert code == 0
    assert "HTTP Request: POST" in log, "httpx request lines are logged at DEBUG, redacted"
    assert "/bot[TOKEN]/getUpdates" in log
    assert TEST_TOKEN not in log
    assert TEST_TOKEN.split(":")[1] not in log


def test_run_without_a_token_fails_with_one_line(tmp_path: Path):
    env = {key: value for key, value in os.environ.items() if key != "TELEGRAM_BOT_TOKEN"}
    result = run_cli(env, "run", cwd=tmp_path, timeout=30, inherit=False)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: TELEGRAM_BOT_TOKEN: not set; get a token from @BotFather")
