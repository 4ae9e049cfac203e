"""`doctor`'s checks of the services the bot talks to: Telegram, arXiv and the optional model."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
from lxml import etree
from telegram import Bot, WebhookInfo
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.request import HTTPXRequest

from bot.arxiv.feed import ArxivFeedError, parse_feed
from bot.arxiv.http import REFUSAL_STATUSES, ArxivPacer, Pacers, is_transient_status, user_agent
from bot.arxiv.listing import ListingLayoutError, listing_url, parse_listing
from bot.cli.checks import Check, Verdict
from bot.config import Settings, tls_context
from bot.core.clock import Clock, utc_now
from bot.llm.client import LlmClient, LlmError

TELEGRAM_TIMEOUT = 5.0
ARXIV_TIMEOUT = 10.0
PROBE_ID = "2205.11728"
_ATOM_FEED = "{http://www.w3.org/2005/Atom}feed"
RECENT_DELIVERY_ERROR = timedelta(hours=1)
"""Telegram keeps retrying an update it could not deliver, so an error this recent is still happening."""


async def llm_check(settings: Settings) -> Check:
    """Optional: digests go out without generated lines when no model is configured or reachable."""
    if not settings.llm_configured:
        return Check("language model", Verdict.OK, "not configured: digests go out without generated lines")
    assert settings.llm_base_url is not None and settings.llm_model is not None
    client = LlmClient(
        settings.llm_base_url, settings.llm_model, settings.llm_api_key, min(settings.llm_timeout, 10)
    )
    try:
        served = await client.models()
    except LlmError as error:
        return Check(
            "language model",
            Verdict.WARN,
            f"{settings.llm_base_url} unreachable ({error}): no generated lines",
        )
    finally:
        await client.aclose()
    known = (
        "" if settings.llm_model in served or not served else f"; {settings.llm_model} not among those served"
    )
    budget = f"budget {settings.llm_daily_budget} requests a day"
    return Check(
        "language model",
        Verdict.WARN if known else Verdict.OK,
        f"{settings.llm_model} at {settings.llm_base_url}, {budget}{known}",
    )


# Telegram


async def telegram_checks(settings: Settings, clock: Clock = utc_now) -> list[Check]:
    """getMe through PTB with the bot's base URL, whose answer names the bot the token belongs to; in
    webhook mode also getWebhookInfo: where Telegram posts the updates, and whether it can."""
    if not settings.telegram_bot_token:
        return [Check("telegram", Verdict.FAIL, "TELEGRAM_BOT_TOKEN not set; `run` and `push` need it")]
    request = HTTPXRequest(
        connection_pool_size=1,
        connect_timeout=TELEGRAM_TIMEOUT,
        read_timeout=TELEGRAM_TIMEOUT,
        write_timeout=TELEGRAM_TIMEOUT,
        pool_timeout=TELEGRAM_TIMEOUT,
        httpx_kwargs={"verify": tls_context()},
    )
    bot = Bot(
        settings.telegram_bot_token,
        base_url=settings.telegram_api_base_url,
        request=request,
        get_updates_request=request,
    )
    started = time.monotonic()
    try:
        async with bot:
            me = bot.bot
            elapsed = time.monotonic() - started
            webhook = await _webhook_check(bot, settings, clock) if settings.run_mode == "webhook" else None
    except InvalidToken:
        return [Check("telegram", Verdict.FAIL, f"token rejected by {settings.telegram_api_base_url}")]
    except TimedOut:
        detail = f"no answer within {TELEGRAM_TIMEOUT:g} s from {settings.telegram_api_base_url}"
        return [Check("telegram", Verdict.FAIL, detail)]
    except NetworkError as error:
        detail = f"unreachable: {error} ({settings.telegram_api_base_url})"
        return [Check("telegram", Verdict.FAIL, detail)]
    except TelegramError as error:
        return [Check("telegram", Verdict.FAIL, f"getMe failed: {error}")]
    row = Check("telegram", Verdict.OK, f"@{me.username} (bot id {me.id}), getMe in {elapsed:.2f} s")
    return [row] if webhook is None else [row, webhook]


async def _webhook_check(bot: Bot, settings: Settings, clock: Clock) -> Check:
    assert settings.webhook_url is not None, "load_settings requires it in webhook mode"
    try:
        info = await bot.get_webhook_info()
    except TelegramError as error:
        return Check("telegram webhook", Verdict.FAIL, f"getWebhookInfo failed: {error}")
    return webhook_verdict(info, settings.webhook_url, clock())


def webhook_verdict(info: WebhookInfo, expected: str, now: datetime) -> Check:
    """FAIL when Telegram posts elsewhere than WEBHOOK_URL, or cannot deliver now (a recent error
    while updates wait); WARN when no webhook is registered yet, or after a recent error. A password
    in the URL is redacted with the rest of doctor's table."""
    waiting = f"{info.pending_update_count} update(s) waiting"
    if not info.url:
        return Check(
            "telegram webhook",
            Verdict.WARN,
            f"none registered: `run` registers WEBHOOK_URL when it starts; {waiting}",
        )
    if info.url != expected:
        verdict = Verdict.FAIL
        lines = [
            f"Telegram posts updates to {info.url}, not to WEBHOOK_URL: another deployment of this token "
            "registered it, or WEBHOOK_URL changed since the bot started (restart it)"
        ]
    else:
        verdict = Verdict.OK
        lines = [f"Telegram posts updates to {info.url}"]
    lines.append(waiting)
    if info.last_error_date is not None:
        age = now - info.last_error_date
        when = f"{info.last_error_date:%Y-%m-%d %H:%M} UTC, {_ago(age)} ago"
        lines.append(f"last delivery error ({when}): {info.last_error_message}")
        if age <= RECENT_DELIVERY_ERROR and verdict is Verdict.OK:
            verdict = Verdict.FAIL if info.pending_update_count else Verdict.WARN
    return Check("telegram webhook", verdict, "\n".join(lines))


def _ago(age: timedelta) -> str:
    seconds = max(0, int(age.total_seconds()))
    for unit, size in (("day(s)", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


# arXiv


async def arxiv_checks(settings: Settings) -> list[Check]:
    """The four arXiv services, one request each, spaced like every arXiv request of the bot."""
    pacers = Pacers()
    category = settings.categories[0]
    feed_url, api_url = settings.arxiv_feed_url, settings.arxiv_api_url
    async with httpx.AsyncClient(
        timeout=ARXIV_TIMEOUT,
        headers={"User-Agent": user_agent(settings.arxiv_contact)},
        follow_redirects=True,
        verify=tls_context(),
    ) as http:
        listing = await _probe(
            http,
            pacers.for_url(settings.arxiv_listing_url, settings.arxiv_page_delay),
            "arxiv listing",
            listing_url(settings.arxiv_listing_url, category),
        )
        feed = await _probe(
            http, pacers.for_url(feed_url, settings.arxiv_request_delay), "arxiv feed", feed_url + category
        )
        api = await _probe(
            http,
            pacers.for_url(api_url, settings.arxiv_request_delay),
            "arxiv api",
            api_url,
            {"id_list": PROBE_ID, "max_results": "1"},
        )
        html = await _probe(
            http,
            pacers.for_url(settings.arxiv_html_url, settings.arxiv_page_delay),
            "arxiv html",
            f"{settings.arxiv_html_url}{PROBE_ID}v1",
            body=False,
        )
    return [
        listing if isinstance(listing, Check) else listing_verdict(category, listing),
        feed if isinstance(feed, Check) else feed_verdict(category, feed),
        api if isinstance(api, Check) else api_verdict(api),
        html if isinstance(html, Check) else html_verdict(html),
    ]


async def _probe(
    http: httpx.AsyncClient,
    pacer: ArxivPacer,
    name: str,
    url: str,
    params: dict[str, str] | None = None,
    *,
    body: bool = True,
) -> httpx.Response | Check:
    """The closed response (with its body if asked), or a FAIL row when arXiv did not answer usefully.

    Without `body` only the status is read: an HTML paper can weigh megabytes.
    """
    await pacer.wait()
    try:
        async with http.stream("GET", url, params=params) as response:
            if body:
                await response.aread()
    except httpx.TimeoutException:
        return Check(name, Verdict.FAIL, f"no answer within {ARXIV_TIMEOUT:g} s from {url}")
    except httpx.HTTPError as error:
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return Check(name, Verdict.FAIL, f"unreachable: {reason} ({url})")
    if response.status_code in REFUSAL_STATUSES:
        return Check(name, Verdict.FAIL, f"HTTP {response.status_code} from {url}: arXiv refuses this client")
    if is_transient_status(response.status_code):
        return Check(name, Verdict.FAIL, f"HTTP {response.status_code} from {url}: arXiv is unavailable")
    return response


def _took(response: httpx.Response) -> str:
    return f"in {response.elapsed.total_seconds():.2f} s"


def listing_verdict(category: str, response: httpx.Response) -> Check:
    """A page the parser does not understand still lets the bot work (from the feeds, hours later)."""
    if response.status_code != httpx.codes.OK:
        return Check("arxiv listing", Verdict.FAIL, f"HTTP {response.status_code} from {response.url}")
    try:
        page = parse_listing(response.content, category, source=str(response.url))
    except ListingLayoutError as error:
        detail = f"layout not understood, so digests wait for the feeds' turnover: {error}"
        return Check("arxiv listing", Verdict.WARN, detail)
    found = f"{category}: announcement of {page.announced}, {len(page.entries)} entries, {page.layout} layout"
    return Check("arxiv listing", Verdict.OK, f"{found}, {_took(response)}")


def feed_verdict(category: str, response: httpx.Response) -> Check:
    if response.status_code != httpx.codes.OK:
        return Check("arxiv feed", Verdict.FAIL, f"HTTP {response.status_code} from {response.url}")
    try:
        announcement = parse_feed(response.content, category, source=str(response.url))
    except ArxivFeedError as error:
        return Check("arxiv feed", Verdict.FAIL, f"not a usable feed: {error}")
    if announcement.is_empty:
        found = f"{category}: no announcement in the feed now (weekend or holiday)"
    else:
        found = f"{category}: announcement of {announcement.announced}, {len(announcement.entries)} entries"
    return Check("arxiv feed", Verdict.OK, f"{found}, {_took(response)}")


def api_verdict(response: httpx.Response) -> Check:
    if response.status_code != httpx.codes.OK:
        return Check("arxiv api", Verdict.FAIL, f"HTTP {response.status_code} from {response.url}")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(response.content, parser)
    except etree.XMLSyntaxError:
        root = None
    if root is None or root.tag != _ATOM_FEED:
        return Check("arxiv api", Verdict.FAIL, f"answered, but not with an Atom feed ({response.url})")
    return Check("arxiv api", Verdict.OK, f"answered a query for {PROBE_ID} {_took(response)}")


def html_verdict(response: httpx.Response) -> Check:
    """A 404 proves the service answers too: many papers have no HTML version."""
    status = response.status_code
    if status < 400 or status == httpx.codes.NOT_FOUND:
        return Check("arxiv html", Verdict.OK, f"reachable, HTTP {status} {_took(response)}")
    return Check("arxiv html", Verdict.FAIL, f"HTTP {status} from {response.url}")
