"""/start, /help, unknown commands and the error handler, through the fake Telegram server."""

from telegram.constants import ParseMode

from handlers.commands import COMMANDS

USER = 1001
GROUP = -100500


async def test_start_registers_the_chat_and_greets_with_the_keyboard_most_followed_first(bot):
    for chat_id, categories in ((2001, "RO CL"), (2002, "RO"), (2003, "stat.ML RO CL")):
        await bot.send(chat_id, f"/subscribe {categories}")
    reply = await bot.send(USER, "/start", user_id=USER)
    assert reply.visible_text.startswith("arXiv paper digest\nEvery evening arXiv announces new papers.")
    assert len(reply.visible_text.splitlines()) <= 4
    assert reply.parse_mode == ParseMode.HTML
    assert [b["text"] for b in reply.buttons[:4]] == [
        "▫️ RO · Robotics",
        "▫️ CL · Language (NLP)",
        "▫️ stat.ML · ML (stat)",
        "▫️ LG · Machine Learning",
    ]
    assert reply.buttons[-1]["text"] == "More categories…"
    assert all(len(b["text"]) <= 24 for b in reply.buttons)  # two side by side fit a phone
    await bot.press(USER, reply.message_id, reply.buttons[0]["callback_data"], user_id=USER)
    assert await bot.services.subscriptions.of_chat(USER) == ["cs.RO"]
    chat = await bot.services.chats.get(USER)
    assert chat is not None and chat.type == "private" and chat.active


async def test_menu_commands_are_registered_at_start(bot):
    names = [command["command"] for command in bot.telegram.commands()]
    assert names == [command.name for command in COMMANDS if not command.admin_only]


async def test_help_lists_every_command_with_an_example(bot):
    reply = await bot.send(USER, "/help")
    for command in COMMANDS:
        shown = f"/{command.name} — " in reply.visible_text
        assert shown is not command.admin_only
        if shown:
            assert command.example in reply.visible_text


async def test_commands_addressed_to_this_bot_work_in_groups(bot):
    username = bot.telegram.bot_username
    reply = await bot.send(GROUP, f"/help@{username}", chat_type="supergroup", title="Reading group")
    assert reply.chat_id == GROUP
    assert "Commands" in reply.visible_text


async def test_unknown_command_gets_a_hint(bot):
    reply = await bot.send(USER, "/frobnicate now")
    assert reply.visible_text == "I don't know /frobnicate. /help lists what I can do."


async def test_unknown_commands_in_groups_are_answered_only_when_addressed_to_us(bot):
    username = bot.telegram.bot_username
    assert await bot.quiet(GROUP, "/frobnicate", chat_type="group") == []
    assert await bot.quiet(GROUP, "/start@some_other_bot", chat_type="group") == []
    reply = await bot.send(GROUP, f"/frobnicate@{username}", chat_type="group")
    assert "/help" in reply.visible_text


async def test_a_failing_handler_is_answered_with_an_apology_and_the_bot_keeps_going(bot, caplog):
    await bot.services.db.execute("DROP TABLE subscriptions")
    reply = await bot.send(USER, "/mysubs")
    assert reply.visible_text.startswith("Sorry, something went wrong")
    assert "Error while handling an update" in caplog.text
    assert "/help" in (await bot.send(USER, "/frobnicate")).visible_text
