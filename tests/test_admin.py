"""Operator commands: /stats and /broadcast, only for ADMIN_IDS."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from bot.config import load_settings
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotHarness, StartBot, make_harness

OPERATOR = 7
USER = 8
BLOCKED = 9
JITTER = 0.05  # scheduling jitter between the rate letting a send go and its arrival at the fake


@pytest.fixture
async def bot(start_bot: StartBot) -> BotHarness:
    return await start_bot(ADMIN_IDS=str(OPERATOR))


async def test_admin_commands_refuse_everyone_else(bot):
    for text in ("/stats", "/broadcast hello"):
        reply = await bot.send(USER, text, user_id=USER)
        assert reply.visible_text == "This command is for the bot's operators."
    help_text = (await bot.send(USER, "/help", user_id=USER)).visible_text
    assert "/stats" not in help_text and "/broadcast" not in help_text
    assert "/stats" in (await bot.send(OPERATOR, "/help", user_id=OPERATOR)).visible_text


async def test_stats_counts_chats_and_subscriptions(bot):
    await bot.send(USER, "/subscribe IR LG", user_id=USER)
    await bot.send(OPERATOR, "/subscribe IR", user_id=OPERATOR)
    text = (await bot.send(OPERATOR, "/stats", user_id=OPERATOR)).visible_text
    assert "Chats: 2 (2 active)" in text
    assert "IR (cs.IR): 2" in text and "LG (cs.LG): 1" in text
    assert "Latest announcement ingested: none yet" in text
    assert "Last push\nnone yet" in text


async def test_stats_tell_how_many_featured_papers_went_out_with_affiliations(bot):
    planned = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
    await bot.services.push_runs.record(date(2026, 11, 23), planned, 3, 4)  # before featured were counted
    assert "Featured papers" not in (await bot.send(OPERATOR, "/stats", user_id=OPERATOR)).visible_text
    await bot.services.push_runs.record(date(2026, 11, 24), planned, 3, 4, featured=(27, 25))
    text = (await bot.send(OPERATOR, "/stats", user_id=OPERATOR)).visible_text
    assert "Last push (2026-11-24, planned 2026-11-24 01:30 UTC)" in text
    assert "Featured papers with affiliations: 25 of 27 (93%)" in text


async def test_broadcast_previews_then_sends_to_every_active_chat(bot):
    for chat_id in (USER, BLOCKED, OPERATOR):
        await bot.send(chat_id, "/start", user_id=chat_id)
    bot.telegram.block_chat(BLOCKED)
    preview = await bot.send(OPERATOR, "/broadcast Maintenance <tonight> & tomorrow", user_id=OPERATOR)
    assert "Maintenance <tonight> & tomorrow" in preview.visible_text
    send, cancel = preview.buttons
    assert send["text"] == "Send to 3 chats" and cancel["text"] == "Cancel"
    await bot.press(OPERATOR, preview.message_id, send["callback_data"], user_id=OPERATOR)
    await bot.telegram.wait_for(
        "sendMessage",
        chat_id=OPERATOR,
        predicate=lambda call: "Broadcast done" in call.params.get("text", ""),
    )
    report = bot.telegram.sent_messages(OPERATOR)[-1].visible_text
    assert report == "Broadcast done: 2 sent, 0 failed, 1 deactivated (bot blocked or removed)."
    assert bot.telegram.sent_messages(USER)[-1].visible_text == "Maintenance <tonight> & tomorrow"
    assert (await bot.services.chats.get(BLOCKED)).active is False
    again = await bot.press(OPERATOR, preview.message_id, send["callback_data"], user_id=OPERATOR)
    assert "out of date" in again.params["text"]


async def test_broadcast_can_be_cancelled_and_only_by_an_operator(bot):
    preview = await bot.send(OPERATOR, "/broadcast Hello", user_id=OPERATOR)
    send, cancel = preview.buttons
    refused = await bot.press(OPERATOR, preview.message_id, send["callback_data"], user_id=USER)
    assert refused.params["text"] == "This command is for the bot's operators."
    await bot.press(OPERATOR, preview.message_id, cancel["callback_data"], user_id=OPERATOR)
    assert bot.current(preview).visible_text == "Broadcast cancelled."
    assert bot.telegram.sent_messages(USER) == []


async def test_a_broadcast_goes_through_the_push_within_broadcast_rate(telegram: FakeTelegram, bot_env):
    settings = load_settings({**bot_env, "ADMIN_IDS": str(OPERATOR), "BROADCAST_RATE": "10"}, env_file=None)
    harness = make_harness(telegram, settings)
    await harness.start()
    try:
        for chat_id in range(1001, 1025):
            await harness.services.chats.register(chat_id, "private", None, None, harness.services.clock())
        preview = await harness.send(OPERATOR, "/broadcast Read the changelog", user_id=OPERATOR)
        assert preview.buttons[0]["text"] == "Send to 25 chats"
        send = preview.buttons[0]["callback_data"]
        await harness.press(OPERATOR, preview.message_id, send, user_id=OPERATOR)
        [report] = await telegram.wait_for(
            "sendMessage", chat_id=OPERATOR, predicate=lambda call: "done" in call.params["text"], timeout=15
        )
    finally:
        await harness.stop()
    assert report.params["text"].startswith("Broadcast done: 25 sent, 0 failed, 0 deactivated")
    moments = [call.time for call in telegram.calls if call.params.get("text") == "Read the changelog"]
    assert len(moments) == 25
    assert max(sum(1 for m in moments if start <= m < start + 1.0 - JITTER) for start in moments) <= 10


async def test_stats_show_the_database_size_and_how_long_sent_messages_are_kept(start_bot):
    bot = await start_bot(ADMIN_IDS=str(OPERATOR), LEDGER_RETENTION_DAYS="7")
    text = (await bot.send(OPERATOR, "/stats", user_id=OPERATOR)).visible_text
    assert re.search(
        r"Database\n[\d.]+ MB, [\d.]+ MB of it free for new rows; sent messages kept 7 days", text
    )
