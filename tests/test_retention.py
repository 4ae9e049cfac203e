"""Ledger retention: the running bot forgets sent messages older than LEDGER_RETENTION_DAYS once a day."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import UTC, date, datetime, time, timedelta

from bot.cli.main import main
from bot.config import Settings
from bot.jobs import PRUNE_JOB, prune_ledger
from storage.deliveries import PlannedPart, SentPart
from tests.clock import SteppingClock

ANNOUNCED = date(2026, 3, 2)
SENT_AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CHAT = 42


async def test_the_bot_prunes_once_a_day_what_was_sent_before_the_retention(start_bot):
    clock = SteppingClock(SENT_AT)
    bot = await start_bot(clock=clock, LEDGER_RETENTION_DAYS="30")
    (job,) = bot.application.job_queue.get_jobs_by_name(PRUNE_JOB)
    assert job.next_t.astimezone(UTC).time() == time(12, 0)
    services = bot.services
    await services.chats.register(CHAT, "private", None, None, SENT_AT)
    await services.ledger.plan(CHAT, ANNOUNCED, [PlannedPart("digest"), PlannedPart("more")], SENT_AT)
    (claimed,) = await services.ledger.claim("sender", SENT_AT, 10, timedelta(minutes=1))
    await services.ledger.mark_sent("sender", [SentPart(part.id, 1, SENT_AT) for part in claimed.parts])

    clock.set(SENT_AT + timedelta(days=30))
    assert (await prune_ledger(services)).parts == 0
    assert await services.ledger.delivered(CHAT, ANNOUNCED)

    clock.set(SENT_AT + timedelta(days=31))
    pruned = await prune_ledger(services)
    assert (pruned.parts, pruned.contents) == (2, 2)
    assert not await services.ledger.delivered(CHAT, ANNOUNCED)


def test_prune_on_the_command_line_says_what_it_forgot(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    for variable in (field.name.upper() for field in fields(Settings)):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "bot.sqlite3"))
    assert main(["prune"]) == 0
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(
        r"pruned 0 sent message\(s\) older than 30 days and 0 text\(s\) nothing refers to;"
        r" database [\d.]+ MB, [\d.]+ MB of it free for new rows",
        line,
    )
