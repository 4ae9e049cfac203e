"""Subscribing, /today and /cat as a user meets them, through the fake Telegram and arXiv servers."""

from __future__ import annotations

import pytest

from tests.announcement import seed_day
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram import SentMessage, parse_html
from tests.support import followed

USER = 5005
GROUP = -1001234
ADMIN = 77
MEMBER = 78


@pytest.fixture
def arxiv(arxiv: FakeArxiv) -> FakeArxiv:
    seed_day(arxiv)
    return arxiv


def button(message: SentMessage, text_part: str) -> dict:
    for candidate in message.buttons:
        if text_part in candidate["text"]:
            return candidate
    raise AssertionError(f"no button with {text_part!r} in {[b['text'] for b in message.buttons]}")


# --- subscribing ------------------------------------------------------------------------------


async def test_keyboard_toggles_in_place(bot):
    reply = await bot.send(USER, "/subscribe")
    assert "nothing yet" in reply.visible_text
    answer = await bot.press(USER, reply.message_id, button(reply, "IR ·")["callback_data"])
    assert answer.params["text"] == "Following IR"
    edited = bot.current(reply)
    assert edited.edit_count == 1
    assert "Following: IR" in edited.visible_text
    assert button(edited, "IR ·")["text"].startswith("✅")
    await bot.press(USER, reply.message_id, button(edited, "IR ·")["callback_data"])
    assert "nothing yet" in bot.current(reply).visible_text
    assert await bot.services.subscriptions.of_chat(USER) == []


async def test_subscribe_by_code_then_list_and_unsubscribe(bot):
    reply = await bot.send(USER, "/subscribe IR cs.lg,AS")
    assert reply.visible_text.startswith(
        "✅ Subscribed to IR (Information Retrieval), LG (Machine Learning), AS"
    )
    assert "starts with the next arXiv announcement" in reply.visible_text
    assert "Already following IR." in (await bot.send(USER, "/subscribe ir")).visible_text
    mysubs = (await bot.send(USER, "/mysubs")).visible_text
    assert "cs.IR — Information Retrieval" in mysubs and "eess.AS" in mysubs
    reply = await bot.send(USER, "/unsubscribe IR")
    assert reply.visible_text.startswith("Unsubscribed from IR.")
    assert "Still following: LG, AS." in reply.visible_text
    reply = await bot.send(USER, "/unsubscribe all")
    assert reply.visible_text.startswith("Unsubscribed from LG, AS.")
    assert await bot.services.subscriptions.of_chat(USER) == []


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("IRR", "Unknown category “IRR”. Did you mean IR?"),
        ("CO", "“CO” is ambiguous: did you mean astro-ph.CO, math.CO or stat.CO?"),
        ("cs.XY", "Unknown category “cs.XY”."),
        ("🦜", "Unknown category “🦜”."),
        ("x" * 500, "Unknown category “" + "x" * 40 + "…”."),
    ],
)
async def test_bad_categories_get_a_clear_answer_and_change_nothing(bot, argument, expected):
    reply = await bot.send(USER, f"/subscribe {argument}")
    assert expected in reply.visible_text
    assert len(reply.text) < 1000
    assert await bot.services.subscriptions.of_chat(USER) == []


async def test_categories_browses_the_whole_taxonomy_and_follows_from_it(bot):
    reply = await bot.send(USER, "/categories")
    assert "Every one can be followed" in reply.visible_text
    assert len(reply.buttons) == 20
    await bot.press(USER, reply.message_id, button(reply, "Statistics")["callback_data"])
    statistics = bot.current(reply)
    assert "stat.ML — Machine Learning (Statistics)" in statistics.visible_text
    answer = await bot.press(USER, reply.message_id, button(statistics, "stat.ML ·")["callback_data"])
    assert answer.params["text"] == "Following stat.ML"
    assert button(bot.current(reply), "stat.ML ·")["text"].startswith("✅")
    assert await bot.services.subscriptions.of_chat(USER) == ["stat.ML"]
    await bot.press(USER, reply.message_id, button(bot.current(reply), "All archives")["callback_data"])
    assert len(bot.current(reply).buttons) == 20


async def test_any_arxiv_category_can_be_followed(bot):
    reply = await bot.send(USER, "/subscribe stat.ML math.OC q-bio.NC quant-ph")
    assert reply.visible_text.startswith("✅ Subscribed to stat.ML (Machine Learning (Statistics)), math.OC")
    assert await bot.services.subscriptions.of_chat(USER) == ["math.OC", "q-bio.NC", "quant-ph", "stat.ML"]
    keyboard = await bot.send(USER, "/subscribe")
    assert any(b["text"] == "✅ stat.ML · ML (stat)" for b in keyboard.buttons)  # on the operator's set
    assert [b["text"] for b in keyboard.buttons[-4:]] == [  # beyond it: what the chat follows
        "✅ math.OC · Optimization",
        "✅ q-bio.NC · Neuroscience",
        "✅ quant-ph · Quantum Physics",
        "More categories…",
    ]


async def test_only_group_admins_change_group_subscriptions(bot):
    bot.telegram.set_admins(GROUP, [ADMIN])
    refused = await bot.send(GROUP, "/subscribe IR", user_id=MEMBER, chat_type="supergroup")
    assert "Only this group's administrators" in refused.visible_text
    assert await bot.services.subscriptions.of_chat(GROUP) == []
    accepted = await bot.send(GROUP, "/subscribe IR", user_id=ADMIN, chat_type="supergroup")
    assert accepted.visible_text.startswith("✅ Subscribed to IR")
    keyboard = await bot.send(GROUP, "/subscribe", user_id=ADMIN, chat_type="supergroup")
    answer = await bot.press(
        GROUP, keyboard.message_id, button(keyboard, "LG ·")["callback_data"], user_id=MEMBER
    )
    assert "Only this group's administrators" in answer.params["text"]
    assert await bot.services.subscriptions.of_chat(GROUP) == ["cs.IR"]


async def test_forged_buttons_get_a_notice(bot):
    reply = await bot.send(USER, "/subscribe")
    forged = ["sub:cs.XX", "sub:", "cat:cs.IR:notadate:1", "cat:cs.IR:2026-11-24:0", "cat:zz", "garbage"]
    forged += ["cat:cs.IR:2026-11-24:9999", "cat:cs.IR:9999-01-05:1", "more:cs.IR:9999-01-05"]
    for data in forged:
        answer = await bot.press(USER, reply.message_id, data)
        assert "out of date" in answer.params["text"], data
    assert bot.current(reply).edit_count == 0


# --- /today -----------------------------------------------------------------------------------


async def test_today_without_subscriptions_offers_the_keyboard(bot):
    reply = await bot.send(USER, "/today")
    assert "follows no category yet" in reply.visible_text
    assert any(b["callback_data"] == "sub:cs.IR" for b in reply.buttons)


async def test_today_shows_the_latest_announcement_with_shared_papers_once(bot):
    await followed(bot, "cs.IR", "cs.LG")
    await bot.send(USER, "/subscribe IR LG")
    replies = await bot.exchange(USER, "/today")
    digest = replies[0]
    assert digest.visible_text.startswith("arXiv digest · Tue 24 Nov 2026 · IR 16 · LG 25 (+1 cross)")
    assert digest.visible_text.count("ItemSage") == 1
    assert "1. [IR, LG] ItemSage" in digest.visible_text
    assert "[Pinterest]" in digest.visible_text
    assert "Accepted at KDD 2022" in digest.visible_text
    assert "+31 more: tap “All IR” or “All LG” below." in digest.visible_text
    more = [b["text"] for b in digest.buttons if not b["callback_data"].startswith("fb:")]
    assert more == ["All IR (16)", "All LG (26)"]  # as the push has them, after the feedback buttons
    assert digest.link_preview_options == {"is_disabled": True}
    parse_html(digest.text)


async def test_today_before_any_announcement_says_so(bot):
    await bot.send(USER, "/subscribe AS")
    reply = await bot.send(USER, "/today")
    assert reply.visible_text.startswith("No arXiv announcement is stored yet for your categories.")


# --- /cat -------------------------------------------------------------------------------------


async def test_cat_pages_through_a_category_in_place(bot):
    await followed(bot)
    first = await bot.send(USER, "/cat IR")
    assert first.visible_text.startswith("cs.IR · Tue 24 Nov 2026 · page 1 of 2 · 16 papers")
    next_button = button(first, "Next")
    await bot.press(USER, first.message_id, next_button["callback_data"])
    second = bot.current(first)
    assert "page 2 of 2" in second.visible_text
    assert [b["text"] for b in second.buttons] == ["◀ Previous", "2 / 2"]
    await bot.press(USER, first.message_id, button(second, "Previous")["callback_data"])
    assert "page 1 of 2" in bot.current(first).visible_text


async def test_cat_without_argument_shows_categories_and_a_tap_opens_one(bot):
    await followed(bot)
    reply = await bot.send(USER, "/cat")
    assert "Which category?" in reply.visible_text
    await bot.press(USER, reply.message_id, button(reply, "IR ·")["callback_data"])
    assert bot.current(reply).visible_text.startswith("cs.IR · Tue 24 Nov 2026 · page 1 of 2")


async def test_cat_of_a_category_nobody_follows_says_how_to_have_it_read(bot):
    reply = await bot.send(USER, "/cat stat.ML")
    assert reply.visible_text == (
        "The bot reads only categories someone follows, and nobody follows stat.ML yet. "
        "Send /subscribe stat.ML and it is read at once."
    )


async def test_cat_unknown_category_suggests_close_matches(bot):
    reply = await bot.send(USER, "/cat IRR")
    assert reply.visible_text.startswith("Unknown category “IRR”. Did you mean IR?")


async def test_cat_entries_escape_titles(bot):
    await followed(bot)
    reply = await bot.send(USER, "/cat IR")
    pages = [reply.visible_text]
    await bot.press(USER, reply.message_id, button(reply, "Next")["callback_data"])
    pages.append(bot.current(reply).visible_text)
    assert sum("When <b>bold</b> & x<y meet" in page for page in pages) == 1
    assert sum("ItemSage" in page for page in pages) == 1


async def test_a_button_on_a_message_deleted_since_still_works(bot, caplog):
    answer = await bot.press(USER, 99, "sub:cs.IR")
    assert answer.params["text"] == "Following IR"
    assert await bot.services.subscriptions.of_chat(USER) == ["cs.IR"]
    assert "Error while handling an update" not in caplog.text


async def test_commands_work_in_channels(bot):
    channel = -1009999
    bot.telegram.push_update(bot.telegram.channel_post_update(channel, "/subscribe IR", title="Papers"))
    await bot.telegram.wait_for("sendMessage", chat_id=channel)
    assert bot.telegram.sent_messages(channel)[-1].visible_text.startswith("✅ Subscribed to IR")
    assert await bot.services.subscriptions.of_chat(channel) == ["cs.IR"]
