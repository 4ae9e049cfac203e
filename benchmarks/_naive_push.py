"""The loop a user would write instead of `python -m bot push`, for `benchmarks/push.py` to compare.

The same database, the same fake Telegram, the same messages: every subscribed chat's digest of the
latest announcement, rendered with the project's own functions (chats with the same choices share
one rendering and its ranking, in their language, as in the push), then sent one message after the
other with python-telegram-bot's `Bot.send_message`. No ledger, no concurrency, no rate limit:
`for chat: await bot.send_message(...)`.

Run as `python benchmarks/_naive_push.py DATABASE BASE_URL TOKEN`; prints how many messages it sent.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.core.digest import build_digest  # noqa: E402
from bot.core.i18n import Language  # noqa: E402
from bot.push.planning import PAGE, push_parts, subscriber_language  # noqa: E402
from bot.reading import latest_announcement  # noqa: E402
from bot.services import Services  # noqa: E402
from storage.deliveries import PlannedPart  # noqa: E402

CLOSED_PORT = "http://127.0.0.1:9"


async def naive_push(database: str, base_url: str, token: str) -> int:
    env = {
        "DATABASE_PATH": database,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_BASE_URL": base_url,
        "ARXIV_FEED_URL": f"{CLOSED_PORT}/atom/",
        "ARXIV_API_URL": f"{CLOSED_PORT}/api/query",
        "ARXIV_HTML_URL": f"{CLOSED_PORT}/html/",
    }
    settings = load_settings(env, env_file=None)
    sent = 0
    async with Services.open(settings) as services, Bot(token, base_url=base_url) as bot:
        announced = await latest_announcement(services.papers, settings.categories)
        ingested = await services.papers.first_ingested(announced)
        rendered: dict[tuple[tuple[str, ...], int | None, Language], list[PlannedPart]] = {}
        after = None
        while page := await services.subscriptions.subscribers(ingested, after, PAGE):
            after = page[-1].chat_id
            for chat in page:
                language = subscriber_language(chat)
                key = (chat.categories, chat.digest_size, language)
                if key not in rendered:
                    rows = await services.papers.listings(chat.categories, announced)
                    digest = build_digest(rows, chat.categories, announced)
                    if digest.entries:  # the order chats without follows or taps share, as in the push
                        digest = await services.curation.personalize(None, digest)
                    rendered[key] = push_parts(digest, chat.digest_size, language) if digest.entries else []
                for part in rendered[key]:
                    await bot.send_message(
                        chat.chat_id,
                        part.text,
                        parse_mode=ParseMode.HTML,
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                        reply_markup=InlineKeyboardMarkup.de_json(dict(part.markup), bot)
                        if part.markup
                        else None,
                    )
                    sent += 1
    return sent


if __name__ == "__main__":
    print(asyncio.run(naive_push(*sys.argv[1:4])))
