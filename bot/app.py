"""build_application(settings): the PTB Application, its shared resources and its jobs.

This is the composition root: the one module of `bot/` that imports `handlers/`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from functools import partial
from typing import Any

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

import handlers
from bot.config import Settings, tls_context
from bot.core.clock import Clock, Sleep, utc_now
from bot.core.i18n import Language
from bot.gateway.limiter import SharedSendLimiter
from bot.gateway.polling import REJECTED_TOKEN, TolerantBot
from bot.gateway.updates import PerChatUpdateProcessor
from bot.jobs import catch_up, request_push, schedule_jobs
from bot.locales import translation
from bot.push.broadcaster import Broadcaster
from bot.push.limits import RATE_MARGIN, SendRate
from bot.push.planning import BROADCASTER_KEY, broadcaster_for
from bot.push.transport import PushRequest, push_bot
from bot.services import PUSH_SERVICES_KEY, SERVICES_KEY, BotContext, Services, stop_for_good
from handlers.commands import DESCRIPTION, SHORT_DESCRIPTION, menu

logger = logging.getLogger(__name__)

REPLY_CONNECTIONS = 64  # replies in flight at once, as many as updates handled at once
START_BACKOFF = (1.0, 60.0)
"""Seconds between tries to reach Telegram at start, doubling up to the second figure."""
# Every reply is Telegram HTML (handlers escape what they quote) and shows no link preview.
DEFAULTS = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))


async def introduce(bot: Bot) -> None:
    """The command menu and the bot's descriptions, in English for everyone and in Chinese for users
    whose Telegram speaks it (Telegram picks by the user's language_code)."""
    for language in Language:
        tr = translation(language)
        code = None if language is Language.EN else language.value
        await bot.set_my_commands(menu(tr), language_code=code)
        await bot.set_my_description(tr.gettext(DESCRIPTION), language_code=code)
        await bot.set_my_short_description(tr.gettext(SHORT_DESCRIPTION), language_code=code)


def build_application(
    settings: Settings, clock: Clock = utc_now, *, request: BaseRequest | None = None, background: bool = True
) -> Application:
    """The bot. `request` replaces the HTTP requests to Telegram (the terminal console answers
    them itself); without `background` there is no polling of arXiv and no push, only handlers."""
    # One budget for every message the process sends: replies (through the bot's limiter) and the
    # push (through the Broadcaster) draw on the same SendRate.
    send_rate = SendRate(settings.broadcast_rate * RATE_MARGIN, time.monotonic, asyncio.sleep)

    async def post_init(application: Application) -> None:
        services = await Services.create(settings, clock)
        services.push_soon = partial(request_push, application)
        application.bot_data[SERVICES_KEY] = services
        application.bot.when_token_rejected(lambda: stop_for_good(application, REJECTED_TOKEN))
        if background:
            services.catch_up = lambda categories: catch_up(application, categories)
            pushing = await services.on_own_connection()
            application.bot_data[PUSH_SERVICES_KEY] = pushing
            pusher = push_bot(settings.require_token(), settings.telegram_api_base_url)
            await pusher.initialize()
            application.bot_data[BROADCASTER_KEY] = broadcaster_for(pushing, pusher, send_rate)
        await introduce(application.bot)
        # Everything loaded so far lives as long as the process: keep it out of full collections,
        # which would otherwise pause a reply for tens of milliseconds every few hundred updates.
        gc.freeze()
        logger.info("Started as @%s", application.bot.username)

    async def post_shutdown(application: Application) -> None:
        broadcaster: Broadcaster | None = application.bot_data.pop(BROADCASTER_KEY, None)
        if broadcaster is not None:
            await broadcaster.bot.shutdown()
        pushing: Services | None = application.bot_data.pop(PUSH_SERVICES_KEY, None)
        if pushing is not None:
            await pushing.close()
        services: Services | None = application.bot_data.pop(SERVICES_KEY, None)
        if services is not None:
            await services.close()
            logger.info("Stopped; database closed")

    bot = TolerantBot(
        settings.require_token(),
        base_url=settings.telegram_api_base_url,
        request=request or PushRequest(REPLY_CONNECTIONS),
        get_updates_request=request or telegram_request(),
        rate_limiter=SharedSendLimiter(send_rate, time.monotonic),
        defaults=DEFAULTS,
    )
    application = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(PerChatUpdateProcessor(send_rate=send_rate))
        .context_types(ContextTypes(context=BotContext))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    handlers.register(application)
    if background:
        schedule_jobs(application, settings)
    return application


def telegram_request(**options: Any) -> HTTPXRequest:
    """PTB's request class on the process's one TLS context (each httpx client would load its own)."""
    return HTTPXRequest(**options, httpx_kwargs={"verify": tls_context()})


async def wait_for_telegram(settings: Settings, sleep: Sleep = asyncio.sleep) -> None:
    """Return once Telegram answers getMe with the token.

    A service started before the network is up, or during an outage, waits with backoff and one log
    line per try instead of failing; a rejected token (InvalidToken) ends the wait at once.
    """
    delay = START_BACKOFF[0]
    attempt = 1
    while True:
        try:
            request = telegram_request(connection_pool_size=1)
            async with Bot(
                settings.require_token(),
                base_url=settings.telegram_api_base_url,
                request=request,
                get_updates_request=request,
            ):
                return
        except NetworkError as error:
            if isinstance(error, BadRequest):
                raise
            logger.warning(
                "Telegram is unreachable at %s (%s); try %d failed, next in %.0f s",
                settings.telegram_api_base_url,
                error.message,
                attempt,
                delay,
            )
        await sleep(delay)
        delay = min(2 * delay, START_BACKOFF[1])
        attempt += 1
