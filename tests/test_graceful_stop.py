"""SIGTERM in the middle of a push: `run` stops promptly, records what it sent, releases the rest,
and the next push delivers every remaining digest once."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.jobs import cancelled_on_stop
from bot.services import BotContext
from tests.announcement import seed_day
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotHarness
from tests.postgres_server import query
from tests.support import run_cli, start_cli, subscribe_chats, wait_until_sync

pytestmark = pytest.mark.e2e

CHATS = range(1, 121)


def ledger(path: Path) -> dict[str, int]:
    return dict(query(path, "SELECT status, COUNT(*) FROM deliveries GROUP BY status"))


def test_sigterm_mid_push_loses_nothing_and_the_next_push_finishes(
    base_env: dict[str, str], arxiv: FakeArxiv, telegram: FakeTelegram, tmp_path: Path
):
    path = Path(base_env["DATABASE_PATH"])
    asyncio.run(subscribe_chats(path, CHATS, ["cs.IR"], datetime.now(UTC) - timedelta(hours=1)))
    seed_day(arxiv)
    env = {
        **base_env,
        **arxiv.env(),
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "CATEGORIES": "IR",
        "BROADCAST_RATE": "20",
        "LOG_LEVEL": "INFO",
    }
    fetch = run_cli(env, "fetch", cwd=tmp_path)
    assert fetch.returncode == 0, fetch.stderr

    with (tmp_path / "run.log").open("w") as log:
        run = start_cli(env, "run", cwd=tmp_path, log=log)
        try:
            telegram.wait_for_sync("sendMessage", count=30, timeout=30)
            run.send_signal(signal.SIGTERM)
            stopping = time.monotonic()
            assert run.wait(timeout=15) == 0
            assert time.monotonic() - stopping < 10, "stopping waited for the whole push"
        finally:
            if run.poll() is None:
                run.kill()
    interrupted = ledger(path)
    assert "claimed" not in interrupted, "a stopped push must hand its claims back"
    assert 0 < interrupted.get("sent", 0) < len(CHATS)

    push = run_cli(env, "push", cwd=tmp_path)
    assert push.returncode == 0, push.stderr
    assert ledger(path) == {"sent": len(CHATS)}
    received = {chat_id: len(telegram.sent_messages(chat_id)) for chat_id in CHATS}
    assert min(received.values()) == 1
    repeated = sum(count - 1 for count in received.values())
    assert repeated <= 20, "only messages in flight at the signal may repeat"
    assert "Traceback" not in (tmp_path / "run.log").read_text()


class _Logged(logging.Handler):
    """Sets `event` once `message` is logged."""

    def __init__(self, message: str, event: asyncio.Event) -> None:
        super().__init__(logging.DEBUG)
        self.message, self.event = message, event

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == self.message:
            self.event.set()


async def test_a_job_due_while_the_stopping_bot_waits_for_its_jobs_never_starts(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
):
    """PTB's stop waits for the jobs running at that moment, then its scheduler cancels those started
    since: such a job logged a traceback, and ran on (PTB shields it) against a closed database."""
    application = bot.application
    entered, cut_short, wound_down = asyncio.Event(), asyncio.Event(), asyncio.Event()
    late_ran: list[str] = []

    async def long_job(context: BotContext) -> None:
        with cancelled_on_stop(context):
            entered.set()
            try:
                await asyncio.Event().wait()
            finally:
                cut_short.set()
                await wound_down.wait()  # handing back what it held, as a cancelled push does

    async def late_job(context: BotContext) -> None:
        late_ran.append(context.job.name)
        await asyncio.Event().wait()  # a push, say: still running when the scheduler shuts down

    waiting_for_jobs = asyncio.Event()
    ptb_log = logging.getLogger("telegram.ext.Application")
    logged = _Logged("Waiting for running jobs to finish", waiting_for_jobs)
    ptb_log.addHandler(logged)
    level = ptb_log.level
    ptb_log.setLevel(logging.DEBUG)
    try:
        application.job_queue.run_once(long_job, when=0, name="long")
        await entered.wait()
        stopping = asyncio.create_task(bot.stop())
        await cut_short.wait()
        await waiting_for_jobs.wait()  # PTB's stop now waits for the long job to wind down
        application.job_queue.run_once(late_job, when=0, name="late")
        # The scheduler looks at its jobs in a callback the line above queued: let it run first.
        loop = asyncio.get_running_loop()
        looked = loop.create_future()
        loop.call_soon(looked.set_result, None)
        await looked
        wound_down.set()
        await stopping
    finally:
        ptb_log.removeHandler(logged)
        ptb_log.setLevel(level)
    assert late_ran == []
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR], caplog.text


def test_sigterm_while_the_updater_starts_stops_the_bot(
    base_env: dict[str, str], arxiv: FakeArxiv, telegram: FakeTelegram, tmp_path: Path
):
    """Between PTB's last look at an early stop (after post_init) and its start, a stop asked for
    was lost: the bot ran on until killed."""
    env = {**base_env, **arxiv.env(), "TELEGRAM_API_BASE_URL": telegram.base_url, "LOG_LEVEL": "INFO"}
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        with telegram.holding("deleteWebhook") as starting:  # polling starts by deleting any webhook
            run = start_cli(env, "run", cwd=tmp_path, log=log)
            try:
                assert starting.wait(30), "the updater never started"
                run.send_signal(signal.SIGTERM)
                wait_until_sync(
                    lambda: "SIGTERM: stopping" in log_path.read_text(), "the signal was not handled", 15
                )
            except BaseException:
                run.kill()
                raise
        try:
            assert run.wait(timeout=15) == 0
        finally:
            if run.poll() is None:
                run.kill()
    text = log_path.read_text()
    assert "SIGTERM: stopping" in text
    assert "Traceback" not in text, text
