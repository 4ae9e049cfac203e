"""Two languages: the catalogues are complete and match the code, a chat's language is resolved from
/lang or the user's Telegram language, and Chinese chats are answered in Chinese."""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.core import categories_zh
from bot.core.categories import ARCHIVES, DEFAULT_CATEGORIES, TAXONOMY, parse_category
from bot.core.days import parse_day
from bot.core.follows import parse_follows
from bot.core.i18n import Language, Problem, language_of, parse_language
from bot.core.preferences import parse_delivery_time, parse_digest_size, parse_timezone
from bot.core.search import search_query
from bot.locales import CHINESE, ENGLISH, LOCALES, catalogue_path
from handlers.commands import COMMANDS
from tests.support import REPO

USER = 6006
GROUP = -1006006
ADMIN = 61
MEMBER = 62

_FIELDS = re.compile(r"\{(\w*)\}")
_TAGS = re.compile(r"</?\w+>")


def _catalogue(path):
    with path.open("rb") as source:
        return read_po(source)


def _ids(catalogue) -> set:
    return {message.id for message in catalogue if message.id}


# --- the catalogues --------------------------------------------------------------------------------


def test_every_string_in_the_template_has_a_confirmed_chinese_translation():
    template = _catalogue(LOCALES / "messages.pot")
    chinese = _catalogue(catalogue_path(Language.ZH))
    assert _ids(chinese) == _ids(template), "run `make messages` and translate what it adds"
    for message in chinese:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"not translated: {message.id!r}"
        assert not message.fuzzy, f"fuzzy, a translator has to confirm it: {message.id!r}"


def test_every_marked_string_in_the_code_is_in_the_template():
    with (REPO / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    marked = set()
    for _, _, message, _, _ in extract_from_dir(REPO, method_map, options_map, keywords=keywords):
        marked.add(message if isinstance(message, str) else tuple(message))
    assert marked == _ids(_catalogue(LOCALES / "messages.pot")), "run `make messages`"


def test_translations_keep_every_placeholder_and_tag():
    for message in _catalogue(catalogue_path(Language.ZH)):
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[-1]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            assert sorted(_FIELDS.findall(string)) == sorted(_FIELDS.findall(source)), message.id
            assert _TAGS.findall(string) == _TAGS.findall(source), message.id


def test_every_category_and_archive_has_a_chinese_name():
    assert set(categories_zh.TITLES) == set(TAXONOMY)
    assert set(categories_zh.ARCHIVES) == set(ARCHIVES)
    assert set(DEFAULT_CATEGORIES) <= set(categories_zh.TITLES)
    assert all(
        len(categories_zh.short_title(name, title)) <= 8 for name, title in categories_zh.TITLES.items()
    )
    assert [CHINESE.category_title(name) for name in ("cs.LG", "cs.CV", "cs.CL", "cs.AI", "stat.ML")] == [
        "机器学习",
        "计算机视觉",
        "计算与语言",
        "人工智能",
        "机器学习（统计）",
    ]
    assert ENGLISH.category_title("cs.LG") == "Machine Learning"


def test_dates_follow_the_language():
    day = date(2024, 8, 9)
    assert ENGLISH.date(day) == "Fri 9 Aug 2024"
    assert CHINESE.date(day) == "2024年8月9日 周五"


def test_plurals_and_untranslated_english():
    assert ENGLISH.ngettext("{count} paper", "{count} papers", 1) == "{count} paper"
    assert CHINESE.ngettext("{count} paper", "{count} papers", 5) == "{count} 篇论文"
    assert ENGLISH.gettext("Saved.") == "Saved."
    assert CHINESE.gettext("Saved.") == "已保存。"


# --- which language ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["zh", "zh-hans", "zh-cn", "zh-hk", "zh-tw", "zh-Hant", "ZH_CN"])
def test_every_chinese_telegram_language_gets_simplified_chinese(code):
    assert language_of(None, code) is Language.ZH


@pytest.mark.parametrize("code", [None, "", "en", "en-GB", "de", "ja", "zu"])
def test_other_languages_get_english(code):
    assert language_of(None, code) is Language.EN


def test_a_lang_choice_wins_over_the_telegram_language():
    assert language_of("en", "zh-hans") is Language.EN
    assert language_of("zh", "en") is Language.ZH
    assert [parse_language(text) for text in ("zh", "English", "中文", "fr")] == [
        Language.ZH,
        Language.EN,
        Language.ZH,
        None,
    ]


# --- through Telegram ----------------------------------------------------------------------------


async def test_a_chinese_user_gets_start_and_help_in_chinese(bot):
    start = await bot.send(USER, "/start", language_code="zh-hans")
    assert start.visible_text.startswith("arXiv 论文速递\narXiv 每天晚上公布新论文。")
    labels = [b["text"] for b in start.buttons]
    assert "▫️ LG · 机器学习" in labels and "▫️ AS · 音频与语音处理" in labels
    assert labels[-1] == "更多分类…"
    help_reply = await bot.send(USER, "/help", language_code="zh-hans")
    assert help_reply.visible_text.startswith("命令\n")
    assert "/today — 本聊天所关注分类的最新论文" in help_reply.visible_text
    assert "例如 /unsubscribe IR  或  /unsubscribe all" in help_reply.visible_text
    pressed = await bot.press(USER, start.message_id, start.buttons[0]["callback_data"], language_code="zh")
    assert pressed.params["text"].startswith("已关注 ")


async def test_an_english_user_is_answered_as_before(bot):
    reply = await bot.send(USER, "/settings", language_code="en-US")
    assert reply.visible_text.startswith("Settings of this chat\nDelivery: as soon as arXiv announces")


async def test_lang_switches_a_private_chat_both_ways(bot):
    offer = await bot.send(USER, "/lang")
    assert offer.visible_text == "Which language should I answer this chat in?"
    assert [b["text"] for b in offer.buttons] == ["✅ English", "中文"]
    chinese = next(b for b in offer.buttons if b["text"] == "中文")
    answer = await bot.press(USER, offer.message_id, chinese["callback_data"])
    assert answer.params["text"] == "中文"
    edited = bot.current(offer)
    assert edited.visible_text == "现在我在本聊天中用中文回答。/lang 可以更改。"
    assert [b["text"] for b in edited.buttons] == ["English", "✅ 中文"]
    assert (await bot.send(USER, "/mysubs")).visible_text.startswith("本聊天还没有关注任何分类。")
    back = await bot.send(USER, "/lang en")
    assert back.visible_text == "I answer this chat in English now. /lang changes it."
    assert (await bot.send(USER, "/mysubs", language_code="zh")).visible_text.startswith(
        "This chat follows no category yet."
    )
    assert (await bot.send(USER, "/lang klingon")).visible_text.startswith("Send /lang en for English")


async def test_only_group_admins_change_a_groups_language(bot):
    bot.telegram.set_admins(GROUP, [ADMIN])
    refused = await bot.send(GROUP, "/lang zh", user_id=MEMBER, chat_type="supergroup")
    assert refused.visible_text.startswith("Only this group's administrators")
    offer = await bot.send(GROUP, "/lang", user_id=ADMIN, chat_type="supergroup")
    chinese = next(b for b in offer.buttons if b["text"] == "中文")
    answer = await bot.press(GROUP, offer.message_id, chinese["callback_data"], user_id=MEMBER)
    assert answer.params["text"].startswith("Only this group's administrators")
    assert await bot.services.chats.languages(GROUP) == (None, "en")
    await bot.press(GROUP, offer.message_id, chinese["callback_data"], user_id=ADMIN)
    assert (await bot.services.chats.languages(GROUP))[0] == "zh"
    reply = await bot.send(GROUP, "/settings", user_id=MEMBER, chat_type="supergroup")
    assert reply.visible_text.startswith("本聊天的设置\n送达时间：arXiv 一公布就送达")


async def test_commands_and_descriptions_are_set_in_both_languages(bot):
    english = bot.telegram.commands()
    chinese = bot.telegram.commands(language_code="zh")
    menu = [command for command in COMMANDS if not command.admin_only]
    assert [c["command"] for c in english] == [c["command"] for c in chinese] == [c.name for c in menu]
    assert english[0]["description"] == "what this bot does"
    assert chinese[0]["description"] == "这个机器人能做什么"
    assert bot.telegram.description().startswith("Daily digests of new arXiv papers")
    assert bot.telegram.description("zh").startswith("arXiv 新论文每日速递")
    assert (
        bot.telegram.description(short=True)
        == "Daily arXiv digests with affiliations, paper lookup and search."
    )
    assert bot.telegram.description("zh", short=True).startswith("每日 arXiv 论文速递")
    assert bot.telegram.unknown_calls == []


# --- bad input, in the chat's language -------------------------------------------------------------


def _problem(parse, *arguments):
    with pytest.raises(Problem) as raised:
        parse(*arguments)
    return raised.value


def test_what_was_wrong_with_the_input_is_told_in_chinese_with_its_alternatives_joined_the_chinese_way():
    unknown = _problem(parse_category, "mathph")
    assert str(unknown) == "Unknown category “mathph”. Did you mean math-ph, math.SP or math.PR?"
    assert ENGLISH.problem(unknown) == str(unknown)
    assert CHINESE.problem(unknown) == "未知分类“mathph”。你是想要 math-ph、math.SP 或 math.PR 吗？"
    assert CHINESE.problem(_problem(parse_digest_size, "0")) == "篇数是 1 到 50 之间的数字，或“all”。"
    assert CHINESE.problem(_problem(parse_day, "2026-13-40", date(2026, 8, 20))).startswith(
        "“2026-13-40”不是日期。"
    )
    # A category inside a search keeps the category's message.
    assert CHINESE.problem(_problem(search_query, "cat:XX transformers")) == "未知分类“XX”。"


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_category, ""),
        (parse_category, "PR"),
        (parse_category, "cs"),
        (parse_category, "qwertyuiop"),
        (parse_delivery_time, "25:00"),
        (parse_timezone, "Europe/Berln"),
        (parse_timezone, "Mars/Base"),
        (parse_digest_size, "abc"),
        (parse_follows, ""),
        (parse_follows, "author:"),
        (parse_follows, "x" * 200),
        (parse_follows, "a.*b"),
        (parse_follows, "🦜"),
        (parse_follows, "author:" + " ".join(["Name"] * 9)),
        (parse_follows, ", ".join(f"topic{number}" for number in range(30))),
        (search_query, ""),
        (search_query, "x" * 300),
        (search_query, 'ti:"open'),
        (search_query, "(a b)"),
        (search_query, "OR"),
        (search_query, "a OR b"),
        (search_query, " ".join(f"w{number}" for number in range(20))),
        (search_query, "xx:word"),
        (search_query, "au:!!"),
    ],
)
def test_every_problem_with_input_reads_in_chinese(parse, text):
    problem = _problem(parse, text)
    chinese = CHINESE.problem(problem)
    assert chinese != str(problem)
    assert re.search(r"[\u4e00-\u9fff]", chinese), chinese
    assert "{" not in chinese and "}" not in chinese, chinese


async def test_a_chinese_chat_is_told_in_chinese_what_it_typed_wrong(bot):
    await bot.send(USER, "/lang zh")
    assert (await bot.send(USER, "/subscribe XX IR")).visible_text.startswith("✅ 已订阅 IR")
    assert "❓ 未知分类“XX”。" in (await bot.send(USER, "/subscribe XX")).visible_text
    assert (await bot.send(USER, "/cat mathph")).visible_text == (
        "未知分类“mathph”。你是想要 math-ph、math.SP 或 math.PR 吗？ /categories 列出所有分类。"
    )
    assert (await bot.send(USER, "/today someday")).visible_text.startswith("“someday”不是日期。")
    assert (await bot.send(USER, "/time 25:00")).visible_text.startswith("“25:00”不是一天中的时间。")
    assert (await bot.send(USER, "/size 99")).visible_text == "篇数是 1 到 50 之间的数字，或“all”。"
    assert (await bot.send(USER, "/follow author:")).visible_text.startswith("“author:”后面是空的")
    assert (await bot.send(USER, "/search (a b)")).visible_text == "不支持括号：你给出的所有词都必须匹配。"
