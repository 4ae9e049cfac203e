"""The real `python -m bot run` in webhook mode: the fake Telegram registers its webhook and posts
updates to it, as Telegram does through a reverse proxy terminating TLS."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.fakes.telegram import FakeTelegram
from tests.support import CLOSED_PORT, TEST_TOKEN, run_cli, start_cli, wait_until_sync

pytestmark = pytest.mark.e2e

USER = 4242
SECRET = "webhook-Secret_for-tests-0123456789"
WEBHOOK_URL = "https://bot.example.test/telegram/updates"
"""Where Telegram posts; the proxy, modelled by `via`, forwards the path to WEBHOOK_LISTEN."""

StartBot = Callable[..., subprocess.Popen[bytes]]


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture
def webhook_bot(bot_env: dict[str, str], tmp_path: Path) -> Iterator[StartBot]:
    """Start `python -m bot run` in webhook mode (settings on top of bot_env); killed after the test
    if it is still running. The process gets `.via` (its listener) and `.log_path`."""
    started: list[tuple[subprocess.Popen[bytes], IO[str]]] = []

    def start(**env: str) -> subprocess.Popen[bytes]:
        port = free_loopback_port()
        log = (tmp_path / "bot.log").open("w+")
        process = start_cli(webhook_env(bot_env, port, **env), "run", cwd=tmp_path, log=log)
        started.append((process, log))
        process.via = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
        process.log_path = tmp_path / "bot.log"  # type: ignore[attr-defined]
        wait_until_sync(
            lambda: listening(port) or process.poll() is not None, "the webhook never listened", 30
        )
        assert process.poll() is None, (tmp_path / "bot.log").read_text()
        return process

    yield start
    for process, log in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        log.close()


def webhook_env(bot_env: dict[str, str], port: int, **env: str) -> dict[str, str]:
    return {
        **bot_env,
        "RUN_MODE": "webhook",
        "WEBHOOK_URL": WEBHOOK_URL,
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "WEBHOOK_SECRET": SECRET,
        **env,
    }


def stop(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=20)
    return code, process.log_path.read_text()  # type: ignore[attr-defined]


def test_updates_posted_with_the_secret_are_answered_and_sigterm_stops_cleanly(
    webhook_bot: StartBot, telegram: FakeTelegram
):
    bot = webhook_bot()  # at LOG_LEVEL=DEBUG: the secret must stay out of every line anyway
    assert telegram.webhook is not None
    assert (telegram.webhook.url, telegram.webhook.secret_token) == (WEBHOOK_URL, SECRET)

    assert telegram.deliver_update(telegram.message_update(USER, "/start", user_id=USER), via=bot.via) == 200
    telegram.wait_for_sync("sendMessage", chat_id=USER, timeout=10)
    assert "arXiv paper digest" in telegram.sent_messages(USER)[-1].visible_text

    code, log = stop(bot)
    assert code == 0
    assert "database closed" in log
    assert "Traceback" not in log
    assert telegram.count("getUpdates") == 0, "a webhook bot never polls"
    assert telegram.webhook is not None, "the webhook stays registered for the other instances"
    assert "/bot[TOKEN]/setWebhook" in log
    assert SECRET not in log
    assert TEST_TOKEN.partition(":")[2] not in log


def test_requests_not_from_telegram_are_refused_in_one_line_each_and_lose_nothing(
    webhook_bot: StartBot, telegram: FakeTelegram
):
    bot = webhook_bot(LOG_LEVEL="INFO")
    start = telegram.message_update(USER, "/start", user_id=USER)
    assert telegram.deliver_update(start, via=bot.via, secret=None) == 403
    assert telegram.deliver_update(start, via=bot.via, secret="not-the-secret") == 403
    assert telegram.post_to_webhook(b"{not json", via=bot.via) >= 400
    assert telegram.post_to_webhook(b"\xff\xfe", via=bot.via) >= 400
    assert (
        telegram.post_to_webhook(json.dumps({"update_id": "one", "message": 5}).encode(), via=bot.via) == 400
    )

    assert telegram.deliver_update(telegram.message_update(USER, "/help", user_id=USER), via=bot.via) == 200
    telegram.wait_for_sync("sendMessage", chat_id=USER, timeout=10)
    (reply,) = telegram.sent_messages(USER)  # the only reply: nothing refused was handled
    assert "/subscribe" in reply.visible_text

    code, log = stop(bot)
    assert code == 0
    refusals = [line for line in log.splitlines() if "webhook request from 127.0.0.1 refused" in line]
    assert len(refusals) == 5, log
    assert all(" WARNING " in line for line in refusals)
    assert "did not include the secret token (403)" in refusals[0]
    assert "wrong secret token (403)" in refusals[1]
    assert "not JSON" in refusals[2] and "not JSON" in refusals[3]
    assert "Update could not be processed" in refusals[4]
    assert "Traceback" not in log
    assert "not-the-secret" not in log
    assert SECRET not in log


def test_a_rejected_token_stops_webhook_mode_with_one_line(
    bot_env: dict[str, str], telegram: FakeTelegram, tmp_path: Path
):
    env = webhook_env(
        bot_env, free_loopback_port(), TELEGRAM_BOT_TOKEN="123456789:WRONG-token-abcdefghijklmnopqrst"
    )
    result = run_cli(env, "run", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized): check it with @BotFather"
    )
    assert telegram.webhook is None


def test_a_listen_address_in_use_stops_it_with_one_line_before_registering(
    bot_env: dict[str, str], telegram: FakeTelegram, tmp_path: Path
):
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        result = run_cli(webhook_env(bot_env, port), "run", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: WEBHOOK_LISTEN: cannot listen on 127.0.0.1:{port}: ")
    assert "Traceback" not in result.stderr
    assert telegram.webhook is None, "no webhook registered that nobody would serve"


def test_a_listen_address_taken_while_the_webhook_is_registered_stops_it_with_one_line(
    bot_env: dict[str, str], telegram: FakeTelegram, tmp_path: Path
):
    """Another process binds WEBHOOK_LISTEN after the bot's check: the bind that fails is PTB's."""
    port = free_loopback_port()
    with (tmp_path / "bot.log").open("w+") as log, socket.socket() as occupant:
        with telegram.holding("setWebhook") as registering:
            process = start_cli(webhook_env(bot_env, port), "run", cwd=tmp_path, log=log)
            assert registering.wait(timeout=30), "the bot never called setWebhook"
            occupant.bind(("127.0.0.1", port))
            occupant.listen()
        code = process.wait(timeout=60)
        output = (tmp_path / "bot.log").read_text()
    assert code == 2
    assert [line for line in output.splitlines() if line.startswith("error: ")] == [
        f"error: WEBHOOK_LISTEN: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
    assert "Traceback" not in output
    assert "database closed" in output
    assert telegram.webhook is not None, "registered, and left so as at every stop"


def test_a_webhook_url_telegram_refuses_stops_it_with_one_line(
    bot_env: dict[str, str], telegram: FakeTelegram, tmp_path: Path
):
    telegram.make_unresolvable("bot.example.test")
    result = run_cli(webhook_env(bot_env, free_loopback_port()), "run", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if line.startswith("error: ")] == [
        "error: Telegram refused WEBHOOK_URL: Bad webhook: failed to resolve host: name or service not known"
    ]
    assert "Traceback" not in result.stderr, result.stderr
    assert "database closed" in result.stderr
    assert SECRET not in result.stderr
    assert TEST_TOKEN.partition(":")[2] not in result.stderr
    assert telegram.webhook is None


def delivery_errors(log_path: Path) -> list[str]:
    return [
        line for line in log_path.read_text().splitlines() if "last delivery to the webhook failed" in line
    ]


def checked_again(telegram: FakeTelegram) -> None:
    """Wait until a check that asked after this call has ended: the first call the fake counts from now
    may have been answered before it, the second was not, and its check had ended when a third asks
    (checks run one after the other)."""
    seen = telegram.count("getWebhookInfo")
    wait_until_sync(lambda: telegram.count("getWebhookInfo") >= seen + 3, "the bot stopped checking", 30)


def test_each_new_delivery_error_telegram_reports_is_logged_once(
    webhook_bot: StartBot, telegram: FakeTelegram
):
    bot = webhook_bot(WEBHOOK_CHECK_INTERVAL="1", LOG_LEVEL="INFO")
    update = telegram.message_update(USER, "/start", user_id=USER)
    assert telegram.deliver_update(update, via=CLOSED_PORT) == 0  # the proxy is down: Telegram notes it
    wait_until_sync(lambda: delivery_errors(bot.log_path), "the delivery error was not logged", 30)
    assert telegram.deliver_update(update, via=CLOSED_PORT) == 0  # the same error again, later
    checked_again(telegram)
    [refused] = delivery_errors(bot.log_path)
    assert " WARNING " in refused and refused.endswith(" UTC): Connection refused")

    assert telegram.deliver_update(update, via=bot.via, secret="not-the-secret") == 403  # another error
    wait_until_sync(lambda: len(delivery_errors(bot.log_path)) == 2, "the new error was not logged", 30)
    assert delivery_errors(bot.log_path)[1].endswith(
        " UTC): Wrong response from the webhook: 403 Request had the wrong secret token"
    )
    code, log = stop(bot)
    assert code == 0
    assert "Traceback" not in log


def test_a_token_revoked_while_running_stops_webhook_mode_with_one_line(
    webhook_bot: StartBot, telegram: FakeTelegram
):
    """No update comes and nothing is sent: the periodic check is what notices."""
    bot = webhook_bot(WEBHOOK_CHECK_INTERVAL="1")
    telegram.revoke_token()
    code = bot.wait(timeout=30)
    log = bot.log_path.read_text()
    assert code == 1
    assert [line for line in log.splitlines() if line.startswith("error: ")] == [
        "error: Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized): check it with @BotFather"
    ]
    assert "Traceback" not in log
    assert "database closed" in log
    assert TEST_TOKEN.partition(":")[2] not in log
