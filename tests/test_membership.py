"""my_chat_member updates: the bot blocked or removed, then added back."""

USER = 3003
GROUP = -100777


async def test_blocking_deactivates_and_start_reactivates_keeping_subscriptions(bot):
    await bot.send(USER, "/subscribe IR")
    update = bot.telegram.push_update(bot.telegram.my_chat_member_update(USER, "member", "kicked"))
    await bot.handled(update["update_id"])
    assert (await bot.services.chats.get(USER)).active is False
    await bot.send(USER, "/start")
    assert (await bot.services.chats.get(USER)).active is True
    assert await bot.services.subscriptions.of_chat(USER) == ["cs.IR"]


async def test_being_added_to_a_group_registers_it_and_says_hello(bot):
    update = bot.telegram.my_chat_member_update(GROUP, "left", "member", chat_type="supergroup", title="Lab")
    bot.telegram.push_update(update)
    await bot.telegram.wait_for("sendMessage", chat_id=GROUP)
    assert "/subscribe" in bot.telegram.sent_messages(GROUP)[0].visible_text
    chat = await bot.services.chats.get(GROUP)
    assert (chat.type, chat.title, chat.active) == ("supergroup", "Lab", True)
    removed = bot.telegram.push_update(bot.telegram.my_chat_member_update(GROUP, "member", "left"))
    await bot.handled(removed["update_id"])
    assert (await bot.services.chats.get(GROUP)).active is False
