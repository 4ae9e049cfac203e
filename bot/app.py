"""build_application(settings): the PTB Application, its shared resources and its jobs.

This is the composition root: the one module of `bot/` that imports `handlers/`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import HTTPXRequest

import handlers
from bot.config import Settings
from bot.core.clock import Clock, utc_now
from bot.gateway.limiter import SharedSendLimiter
from bot.gateway.polling import REJECTED_TOKEN, TolerantBot
from bot.gateway.updates import PerChatUpdateProcessor
from bot.jobs import BROADCASTER_KEY, schedule_jobs
from bot.push.broadcaster import Broadcaster
from bot.push.limits import RATE_MARGIN, SendRate
from bot.push.planning import broadcaster_for
from bot.push.transport import push_bot
from bot.services import SERVICES_KEY, BotContext, Services, stop_for_good
from handlers.commands import menu

logger = logging.getLogger(__name__)

REPLY_CONNECTIONS = 64  # replies in flight at once, as many as updates handled at once
# Every reply is Telegram HTML (handlers escape what they quote) and shows no link preview.
DEFAULTS = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))


def build_application(settings: Settings, clock: Clock = utc_now) -> Application:
    # One budget for every message the process sends: replies (through the bot's limiter) and the
    # push (through the Broadcaster) draw on the same SendRate.
    send_rate = SendRate(settings.broadcast_rate * RATE_MARGIN, time.monotonic, asyncio.sleep)

    async def post_init(application: Application) -> None:
        services = await Services.create(settings, clock)
        application.bot_data[SERVICES_KEY] = services
        application.bot.when_token_rejected(lambda: stop_for_good(application, REJECTED_TOKEN))
        pusher = push_bot(settings.require_token(), settings.telegram_api_base_url)
        await pusher.initialize()
        application.bot_data[BROADCASTER_KEY] = broadcaster_for(services, pusher, send_rate)
        await application.bot.set_my_commands(menu())
        # Everything loaded so far lives as long as the process: keep it out of full collections,
        # which would otherwise pause a reply for tens of milliseconds every few hundred updates.
        gc.freeze()
        logger.info("Started as @%s", application.bot.username)

    async def post_shutdown(application: Application) -> None:
        broadcaster: Broadcaster | None = application.bot_data.pop(BROADCASTER_KEY, None)
        if broadcaster is not None:
            await broadcaster.bot.shutdown()
        services: Services | None = application.bot_data.pop(SERVICES_KEY, None)
        if services is not None:
            await services.close()
        logger.info("Stopped; database closed")

    bot = TolerantBot(
        settings.require_token(),
        base_url=settings.telegram_api_base_url,
        request=HTTPXRequest(connection_pool_size=REPLY_CONNECTIONS),
        get_updates_request=HTTPXRequest(),
        rate_limiter=SharedSendLimiter(send_rate, time.monotonic),
        defaults=DEFAULTS,
    )
    application = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(PerChatUpdateProcessor())
        .context_types(ContextTypes(context=BotContext))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    handlers.register(application)
    schedule_jobs(application)
    return application
