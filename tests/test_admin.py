"""Operator commands: /stats and /broadcast, only for ADMIN_IDS."""

from __future__ import annotations

import pytest

from tests.harness import BotHarness, StartBot

OPERATOR = 7
USER = 8
BLOCKED = 9


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
