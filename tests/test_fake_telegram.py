"""The fake Telegram server, driven by PTB's real Bot over HTTP: every e2e test relies on its realism."""

from __future__ import annotations

import asyncio
import datetime as dtm
import http.client
import json
import socket
import time
import urllib.parse
from collections.abc import AsyncIterator

import pytest
from telegram import (
    Bot,
    BotCommand,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    MessageEntity,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import CommandHandler

from tests.fakes.telegram import (
    DEFAULT_BOT_USERNAME,
    EntityParseError,
    FakeTelegram,
    parse_html,
    utf16_length,
)
from tests.support import CLOSED_PORT


@pytest.fixture
async def telegram_bot(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    """PTB's Bot with its default networking (form-encoded requests), on the fake Telegram."""
    async with Bot(telegram.token, base_url=telegram.base_url) as client:
        yield client


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"button {item}", callback_data=item) for item in data]]
    )


async def test_get_me_describes_the_test_bot(telegram_bot: Bot, telegram: FakeTelegram) -> None:
    me = await telegram_bot.get_me()
    assert me.username == DEFAULT_BOT_USERNAME
    assert me.id == telegram.bot_id == int(telegram.token.split(":")[0])
    assert me.is_bot and me.can_join_groups
    assert telegram.base_url.startswith("http://127.0.0.1:") and telegram.base_url.endswith("/bot")


async def test_unknown_token_is_refused_like_telegram(telegram: FakeTelegram) -> None:
    stranger = Bot("123456789:SomeoneElsesTokenAbcdefghijklmnop", base_url=telegram.base_url)
    try:
        with pytest.raises(InvalidToken, match="rejected by the server"):
            await stranger.initialize()
    finally:
        await stranger.shutdown()
    assert telegram.count("getMe") == 0


async def test_send_message_roundtrip_records_what_the_bot_sent(
    telegram_bot: Bot, telegram: FakeTelegram
) -> None:
    html = '<b>[IR]</b> <a href="https://arxiv.org/abs/2501.00001">Q&amp;A 😀 <i>retrieval</i></a>'
    message = await telegram_bot.send_message(
        42,
        html,
        parse_mode="HTML",
        reply_markup=keyboard("more:IR"),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        allow_paid_broadcast=True,
    )
    assert (message.message_id, message.chat.id, message.chat.type) == (1, 42, "private")
    assert message.text == "[IR] Q&A 😀 retrieval"
    assert message.from_user is not None and message.from_user.username == DEFAULT_BOT_USERNAME
    assert message.entities == (
        MessageEntity("bold", 0, 4),
        MessageEntity("text_link", 5, 16, url="https://arxiv.org/abs/2501.00001"),
        MessageEntity("italic", 12, 9),
    )
    assert message.reply_markup == keyboard("more:IR")

    second = await telegram_bot.send_message(42, "plain")
    elsewhere = await telegram_bot.send_message(-1001234567890, "to a supergroup")
    assert (second.message_id, elsewhere.message_id, elsewhere.chat.type) == (2, 1, "supergroup")

    first, _ = telegram.sent_messages(42)
    assert first.text == html and first.visible_text == message.text
    assert first.parse_mode == "HTML"
    assert first.reply_markup == {
        "inline_keyboard": [[{"text": "button more:IR", "callback_data": "more:IR"}]]
    }
    assert first.buttons == [{"text": "button more:IR", "callback_data": "more:IR"}]
    assert first.link_preview_options == {"is_disabled": True}
    assert first.allow_paid_broadcast is True
    assert [sent.chat_id for sent in telegram.sent_messages()] == [42, 42, -1001234567890]


@pytest.mark.parametrize(
    ("html", "problem"),
    [
        ("<b>bold", 'can\'t find end tag corresponding to start tag "b"'),
        ("<p>paragraph</p>", 'unsupported start tag "p" at byte offset 0'),
        ("1 < 2", 'unsupported start tag "" at byte offset 2'),
        ("<b>x</i>", 'unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'tag "span" must have class "tg-spoiler"'),
    ],
)
async def test_invalid_html_is_a_bad_request(
    telegram_bot: Bot, telegram: FakeTelegram, html: str, problem: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        await telegram_bot.send_message(42, html, parse_mode="HTML")
    assert str(refused.value) == f"Can't parse entities: {problem}"
    assert telegram.sent_messages() == []
    assert telegram.calls[-1].error_code == 400


async def test_length_counts_visible_utf16_units(telegram_bot: Bot) -> None:
    await telegram_bot.send_message(42, "😀" * 2048)
    await telegram_bot.send_message(42, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is too long"):
        await telegram_bot.send_message(42, "😀" * 2048 + "a")


async def test_empty_text_is_a_bad_request(telegram_bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Message text is empty"):
        await telegram_bot.send_message(42, "<b> </b>\n", parse_mode="HTML")


async def test_injected_flood_error_raises_retry_after(
    telegram_bot: Bot, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    telegram.fail_next("sendMessage", error_code=429, retry_after=3)
    with pytest.raises(RetryAfter) as flood:
        await telegram_bot.send_message(42, "hello")
    assert flood.value.retry_after == dtm.timedelta(seconds=3)
    await telegram_bot.send_message(42, "hello again")
    assert [
        (call.error_code, call.description) for call in telegram.calls if call.method == "sendMessage"
    ] == [
        (429, "Too Many Requests: retry after 3"),
        (None, None),
    ]


async def test_blocked_chat_is_forbidden_for_every_send(telegram_bot: Bot, telegram: FakeTelegram) -> None:
    telegram.block_chat(42)
    for _ in range(2):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await telegram_bot.send_message(42, "digest")
    await telegram_bot.send_message(43, "another chat still works")


async def test_chat_specific_faults_hit_only_that_chat(telegram_bot: Bot, telegram: FakeTelegram) -> None:
    telegram.fail_next("sendMessage", error_code=403, times=2, chat_id=7)
    await telegram_bot.send_message(8, "chat 8 is not affected")
    for _ in range(2):
        with pytest.raises(Forbidden):
            await telegram_bot.send_message(7, "x")
    await telegram_bot.send_message(7, "the fault is used up")
    telegram.fail_next("sendMessage", error_code=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await telegram_bot.send_message(7, "y")


async def test_migrated_group_raises_chat_migrated(telegram_bot: Bot, telegram: FakeTelegram) -> None:
    telegram.add_chat(-555, "group", title="Reading group")
    telegram.migrate_chat(-555, -1000000000555)
    with pytest.raises(ChatMigrated) as moved:
        await telegram_bot.send_message(-555, "digest")
    assert moved.value.new_chat_id == -1000000000555
    message = await telegram_bot.send_message(moved.value.new_chat_id, "digest")
    assert (message.chat.type, message.chat.title) == ("supergroup", "Reading group")

    telegram.fail_next("sendMessage", error_code=400, migrate_to_chat_id=-1000000000777)
    with pytest.raises(ChatMigrated) as injected:
        await telegram_bot.send_message(-777, "digest")
    assert injected.value.new_chat_id == -1000000000777


async def test_long_poll_returns_an_update_pushed_while_waiting(
    telegram_bot: Bot, telegram: FakeTelegram
) -> None:
    poll = asyncio.create_task(telegram_bot.get_updates(timeout=5))
    await telegram.wait_until_polling()
    assert not poll.done()
    pushed = telegram.push_update(telegram.message_update(42, "/start"))
    updates = await poll
    assert [update.update_id for update in updates] == [pushed["update_id"]]
    assert updates[0].message is not None and updates[0].message.text == "/start"


async def test_get_updates_honours_offset_and_limit(telegram_bot: Bot, telegram: FakeTelegram) -> None:
    ids = [telegram.push_update(telegram.message_update(42, f"message {n}"))["update_id"] for n in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [update.update_id for update in await telegram_bot.get_updates(limit=2)] == ids[:2]
    assert [update.update_id for update in await telegram_bot.get_updates(offset=ids[1])] == ids[1:]
    assert [update["update_id"] for update in telegram.pending_updates] == ids[1:]
    assert await telegram_bot.get_updates(offset=ids[2] + 1) == ()
    assert telegram.pending_updates == []


async def test_get_updates_answers_empty_after_its_timeout(telegram_bot: Bot, telegram: FakeTelegram) -> None:
    poll = asyncio.create_task(telegram_bot.get_updates(timeout=1))
    await telegram.wait_until_polling()
    assert not poll.done()
    assert await poll == ()


async def test_a_second_bot_instance_terminates_the_first_poll(
    telegram_bot: Bot, telegram: FakeTelegram
) -> None:
    first = asyncio.create_task(telegram_bot.get_updates(timeout=5))
    await telegram.wait_until_polling()
    async with Bot(telegram.token, base_url=telegram.base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first


async def test_a_poll_abandoned_by_its_client_is_not_recorded(
    telegram_bot: Bot, telegram: FakeTelegram
) -> None:
    abandoned = asyncio.create_task(telegram_bot.get_updates(timeout=5))
    await telegram.wait_until_polling()
    abandoned.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abandoned
    async with Bot(telegram.token, base_url=telegram.base_url) as restarted:
        assert await restarted.get_updates(timeout=0) == ()
    assert [(call.method, call.error_code) for call in telegram.calls] == [("getMe", None)] * 2 + [
        ("getUpdates", None)
    ]


async def test_opt_in_updates_and_dropped_pending_updates(telegram_bot: Bot, telegram: FakeTelegram) -> None:
    telegram.push_update({"chat_member": {"chat": {"id": -1, "type": "group", "title": "g"}}})
    message = telegram.push_update(telegram.message_update(42, "hi"))
    assert [update.update_id for update in await telegram_bot.get_updates()] == [message["update_id"]]
    await telegram_bot.delete_webhook(drop_pending_updates=True)
    assert telegram.pending_updates == []


async def test_a_webhook_is_registered_with_its_secret_and_stops_get_updates(
    telegram_bot: Bot, telegram: FakeTelegram
) -> None:
    telegram.push_update(telegram.message_update(42, "waiting"))
    url = "https://bot.example.org:8443/telegram/updates"
    assert await telegram_bot.set_webhook(url, secret_token="s3cret_Value-1", allowed_updates=["message"])
    assert telegram.webhook is not None
    assert (telegram.webhook.url, telegram.webhook.secret_token) == (url, "s3cret_Value-1")
    info = await telegram_bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.allowed_updates) == (url, 1, ("message",))
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await telegram_bot.get_updates(timeout=0)
    await telegram_bot.delete_webhook()
    assert telegram.webhook is None
    assert (await telegram_bot.get_webhook_info()).url == ""
    assert len(await telegram_bot.get_updates(timeout=0)) == 1


@pytest.mark.parametrize(
    ("url", "secret", "problem"),
    [
        ("http://bot.example.org/hook", None, "An HTTPS URL must be provided"),
        ("https://bot.example.org:9000/hook", None, "only on ports 80, 88, 443 or 8443"),
        ("https://bot.example.org/hook", "no spaces", "secret token contains unallowed characters"),
    ],
)
async def test_set_webhook_refuses_what_telegram_refuses(
    telegram_bot: Bot, telegram: FakeTelegram, url: str, secret: str | None, problem: str
) -> None:
    with pytest.raises(BadRequest, match=f"(?i){problem}"):
        await telegram_bot.set_webhook(url, secret_token=secret)
    assert telegram.webhook is None


async def test_set_webhook_refuses_a_host_telegram_cannot_resolve(
    telegram_bot: Bot, telegram: FakeTelegram
) -> None:
    telegram.make_unresolvable("gone.example.org")
    with pytest.raises(BadRequest, match=r"(?i)^bad webhook: failed to resolve host"):
        await telegram_bot.set_webhook("https://gone.example.org/hook")
    assert telegram.webhook is None
    assert await telegram_bot.set_webhook("https://bot.example.org/hook")


async def test_get_webhook_info_reports_the_last_failed_delivery(
    telegram_bot: Bot, telegram: FakeTelegram
) -> None:
    url = "https://bot.example.org/hook"
    telegram.register_webhook(url, secret_token="s3cret")
    assert (await telegram_bot.get_webhook_info()).last_error_date is None
    update = telegram.message_update(42, "hi")
    assert await asyncio.to_thread(telegram.deliver_update, update, via=CLOSED_PORT) == 0
    info = await telegram_bot.get_webhook_info()
    assert info.last_error_message == "Connection refused"
    assert info.last_error_date is not None
    earlier = dtm.datetime(2026, 11, 1, 8, 30, tzinfo=dtm.UTC)
    telegram.webhook_delivery_failed("Wrong response from the webhook: 502 Bad Gateway", at=earlier)
    info = await telegram_bot.get_webhook_info()
    assert (info.last_error_date, info.last_error_message) == (
        earlier,
        "Wrong response from the webhook: 502 Bad Gateway",
    )
    await telegram_bot.set_webhook(url)
    assert (await telegram_bot.get_webhook_info()).last_error_message is not None, "the same URL keeps it"
    await telegram_bot.set_webhook("https://bot.example.org/elsewhere")
    assert (await telegram_bot.get_webhook_info()).last_error_message is None


async def test_delay_holds_the_answer(telegram_bot: Bot, telegram: FakeTelegram) -> None:
    telegram.set_delay("sendMessage", 0.5)
    with pytest.raises(TimedOut):
        await telegram_bot.send_message(42, "slow", read_timeout=0.05)
    telegram.set_delay("sendMessage", 0)
    assert (await telegram_bot.send_message(42, "fast")).text == "fast"


async def test_holding_keeps_a_method_unanswered_until_the_block_ends(
    telegram_bot: Bot, telegram: FakeTelegram
) -> None:
    with telegram.holding("setWebhook") as arrived:
        setting = asyncio.create_task(telegram_bot.set_webhook("https://bot.example.org/hook"))
        assert await asyncio.to_thread(arrived.wait, 10)
        assert telegram.count("setWebhook") == 0 and not setting.done()
    assert await setting
    assert telegram.count("setWebhook") == 1


async def test_edits_follow_telegram_rules(telegram_bot: Bot, telegram: FakeTelegram) -> None:
    sent = await telegram_bot.send_message(42, "page 1", reply_markup=keyboard("next"))
    edited = await telegram_bot.edit_message_text("<b>page 2</b>", 42, sent.message_id, parse_mode="HTML")
    assert edited.text == "page 2" and edited.edit_date is not None
    assert edited.reply_markup is None, "an edit without reply_markup drops the keyboard, as in Telegram"
    with pytest.raises(BadRequest, match="Message is not modified"):
        await telegram_bot.edit_message_text("<b>page 2</b>", 42, sent.message_id, parse_mode="HTML")
    assert telegram.sent_messages(42)[0].text == "page 1"

    with pytest.raises(BadRequest, match="Message to edit not found"):
        await telegram_bot.edit_message_text("x", 42, 99)
    users_message = telegram.push_update(telegram.message_update(42, "mine"))["message"]["message_id"]
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await telegram_bot.edit_message_text("x", 42, users_message)


async def test_callback_query_carries_the_bots_message_and_is_answered_once(
    telegram_bot: Bot, telegram: FakeTelegram
) -> None:
    sent = await telegram_bot.send_message(-1001, "digest", reply_markup=keyboard("more"))
    update = Update.de_json(
        telegram.push_update(telegram.callback_update(-1001, sent.message_id, "more", user_id=5)),
        telegram_bot,
    )
    query = update.callback_query
    assert query is not None and query.data == "more" and query.from_user.id == 5
    assert query.message is not None and query.message.text == "digest"
    assert await query.answer("ok")
    with pytest.raises(BadRequest, match="Query is too old"):
        await query.answer("again")

    invalid = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await telegram_bot.send_message(42, "too much data", reply_markup=invalid)


async def test_commands_are_stored_and_validated(telegram_bot: Bot, telegram: FakeTelegram) -> None:
    await telegram_bot.set_my_commands(
        [BotCommand("today", "Today's papers"), BotCommand("cat", "Papers in a category")]
    )
    assert telegram.commands()[0] == {"command": "today", "description": "Today's papers"}
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await telegram_bot.set_my_commands([BotCommand("Today", "capital letters are refused")])


async def test_members_and_administrators_are_configurable(telegram_bot: Bot, telegram: FakeTelegram) -> None:
    telegram.add_chat(-1002, "supergroup", title="Lab")
    telegram.set_admins(-1002, [5, telegram.bot_id], creator_id=6)
    assert isinstance(await telegram_bot.get_chat_member(-1002, 5), ChatMemberAdministrator)
    assert isinstance(await telegram_bot.get_chat_member(-1002, 6), ChatMemberOwner)
    assert isinstance(await telegram_bot.get_chat_member(-1002, 7), ChatMemberMember)


async def test_update_builders_satisfy_ptb(telegram_bot: Bot, telegram: FakeTelegram) -> None:
    handler = CommandHandler("start", lambda update, context: None)
    private = Update.de_json(telegram.push_update(telegram.message_update(42, "/start now")), telegram_bot)
    addressed = Update.de_json(
        telegram.push_update(
            telegram.message_update(-100, f"/start@{DEFAULT_BOT_USERNAME}", chat_type="group")
        ),
        telegram_bot,
    )
    other_bot = Update.de_json(
        telegram.push_update(telegram.message_update(-100, "/start@some_other_bot")), telegram_bot
    )
    assert handler.check_update(private) and handler.check_update(addressed)
    assert not handler.check_update(other_bot)
    assert private.effective_user is not None and private.effective_user.id == 42
    assert addressed.effective_chat is not None and addressed.effective_chat.type == "group"

    post = Update.de_json(
        telegram.push_update(telegram.channel_post_update(-1003, "hello", title="News")), telegram_bot
    )
    edited = Update.de_json(
        telegram.push_update(telegram.edited_message_update(42, 1, "/start edited")), telegram_bot
    )
    photo = Update.de_json(
        telegram.push_update(telegram.photo_message_update(42, caption="look")), telegram_bot
    )
    sticker = Update.de_json(telegram.push_update(telegram.sticker_message_update(42)), telegram_bot)
    joined = Update.de_json(
        telegram.push_update(
            telegram.my_chat_member_update(-100, "left", "member", user_id=5, chat_type="group")
        ),
        telegram_bot,
    )
    assert post.channel_post is not None and post.channel_post.sender_chat is not None
    assert edited.edited_message is not None and edited.edited_message.edit_date is not None
    assert photo.message is not None and photo.message.photo and photo.message.caption == "look"
    assert sticker.message is not None and sticker.message.sticker is not None
    assert joined.my_chat_member is not None and joined.my_chat_member.new_chat_member.status == "member"
    ids = [update["update_id"] for update in telegram.pending_updates]
    assert ids == sorted(ids) and len(ids) == 8


async def test_unmodelled_methods_answer_true_and_are_flagged(
    telegram_bot: Bot, telegram: FakeTelegram
) -> None:
    assert await telegram_bot.set_chat_title(-100, "New title")
    assert [call.method for call in telegram.unknown_calls] == ["setChatTitle"]
    assert telegram.calls[-1].params == {"chat_id": -100, "title": "New title"}


async def test_wait_for_returns_matches_or_explains_what_was_recorded(
    telegram_bot: Bot, telegram: FakeTelegram
) -> None:
    mark = telegram.mark()
    sending = asyncio.create_task(telegram_bot.send_message(42, "later"))
    [call] = await telegram.wait_for("sendMessage", chat_id=42, after=mark)
    assert call.params["text"] == "later"
    await sending
    with pytest.raises(
        AssertionError, match=r"(?s)matching method='sendMessage', chat_id=43.*sendMessage\(chat_id=42"
    ):
        await telegram.wait_for("sendMessage", chat_id=43, timeout=0.05)


def test_sync_clients_are_served_and_can_wait(telegram: FakeTelegram) -> None:
    port = urllib.parse.urlsplit(telegram.base_url).port
    connection = http.client.HTTPConnection("127.0.0.1", port)
    body = urllib.parse.urlencode(
        {"chat_id": 42, "text": "123", "reply_markup": json.dumps(keyboard("a").to_dict())}
    )
    connection.request(
        "POST",
        f"/bot{telegram.token}/sendMessage",
        body,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    answer = json.loads(connection.getresponse().read())
    connection.close()
    assert answer["ok"] and answer["result"]["text"] == "123"
    [call] = telegram.wait_for_sync("sendMessage", predicate=lambda call: call.params["text"] == "123")
    assert (
        call.params["chat_id"] == 42
        and call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
    )


async def test_send_times_show_the_rate_per_chat(telegram_bot: Bot, telegram: FakeTelegram) -> None:
    for text in ("a", "b", "c"):
        await telegram_bot.send_message(42, text)
    await telegram_bot.send_message(43, "d")
    assert len(telegram.send_times()) == 4 and len(telegram.send_times(42)) == 3
    assert telegram.peak_sends(window=3600, chat_id=42) == 3
    assert telegram.peak_sends(window=3600) == 4


def test_a_request_is_timed_when_it_reached_the_host_not_when_the_fake_got_to_it(
    telegram: FakeTelegram,
) -> None:
    """On a busy host the fake's threads get to requests late and then answer a backlog at once:
    timed then, evenly sent requests looked bunched, and a rate kept looked broken."""
    address = telegram.base_url.removeprefix("http://").removesuffix("/bot").split(":")

    def request(text: str) -> bytes:
        body = json.dumps({"chat_id": 42, "text": text}).encode()
        return (
            f"POST /bot{telegram.token}/sendMessage HTTP/1.1\r\nHost: fake\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    with socket.create_connection((address[0], int(address[1]))) as connection:
        with telegram.holding("sendMessage") as arrived:
            connection.sendall(request("first"))
            assert arrived.wait(5), "the first request did not arrive"
            connection.sendall(request("second"))  # waits in the connection while the first is held
            sent = time.monotonic()
        telegram.wait_for_sync("sendMessage", count=2)
    first, second = telegram.send_times(42)
    assert first < second <= sent
    assert [call.time for call in telegram.calls] == [first, second]
    assert telegram.sent_messages(42)[1].time == second


async def test_counters_only_mode_keeps_no_records() -> None:
    with FakeTelegram(record_calls=False) as telegram:
        async with Bot(telegram.token, base_url=telegram.base_url) as telegram_bot:
            sent = await telegram_bot.send_message(42, "x")
            await telegram_bot.edit_message_text("y", 42, sent.message_id)
            assert telegram.count("sendMessage") == 1 and telegram.count("editMessageText") == 1
            assert telegram.calls == [] and telegram.sent_messages() == []
            assert len(telegram.send_times(42)) == 1


def test_parse_html_reports_entities_in_utf16_units() -> None:
    parsed = parse_html("  😀 <b>bold</b> <pre><code class='language-python'>x = 1</code></pre>\n")
    assert parsed.text == "😀 bold x = 1"
    assert parsed.entities == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "pre", "language": "python", "offset": 8, "length": 5},
    ]
    assert utf16_length(parsed.text) == len(parsed.text) + 1 == 13


def test_parse_html_decodes_references_and_nested_tags() -> None:
    parsed = parse_html(
        "<blockquote expandable>&lt;&#65;&#x42;&quot;<tg-spoiler>s</tg-spoiler></blockquote>"
        '<a href="x?a=1&amp;b=2">l</a>'
    )
    assert parsed.text == '<AB"sl'
    assert parsed.entities == [
        {"type": "expandable_blockquote", "offset": 0, "length": 5},
        {"type": "spoiler", "offset": 4, "length": 1},
        {"type": "text_link", "url": "x?a=1&b=2", "offset": 5, "length": 1},
    ]


def test_bare_ampersand_is_refused_only_in_strict_mode() -> None:
    with pytest.raises(EntityParseError, match='Unescaped "&" at byte offset 1'):
        parse_html("Q&A")
    assert parse_html("Q&A &unknown; a > b", strict=False).text == "Q&A &unknown; a > b"
