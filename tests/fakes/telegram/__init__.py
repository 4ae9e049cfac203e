"""A loopback fake of the Telegram Bot API: a real HTTP server that PTB, or a bot process, talks to.

Tests point the bot at `FakeTelegram.base_url` (the TELEGRAM_API_BASE_URL setting), inject updates,
inspect what the bot sent and inject faults. Validation follows Telegram where bots commonly trip
(HTML entities, message length, button data, command names, stale callback queries, unmodified
edits), so such a bug fails a test instead of a production push. Only the methods the bot calls are
modelled (see `methods.py`); any other is answered `true` and listed in `unknown_calls`.

Modules: `server` (FakeTelegram), `methods` (the Bot API methods), `updates` (incoming updates),
`webhook` (setWebhook, and updates posted to the bot's webhook), `waiting` (waiting for calls),
`records` (what tests read), `chats`, `requests` (HTTP and errors), `entities` (Telegram's HTML
parser).
"""

from tests.fakes.telegram.chats import MEMBER_STATUSES
from tests.fakes.telegram.entities import EntityParseError, FormattedText, parse_html, utf16_length
from tests.fakes.telegram.methods import MAX_CALLBACK_DATA_BYTES, MAX_MESSAGE_LENGTH
from tests.fakes.telegram.records import Call, ChatId, ChatType, SentDocument, SentMessage
from tests.fakes.telegram.server import DEFAULT_BOT_USERNAME, DEFAULT_TOKEN, FakeTelegram
from tests.fakes.telegram.updates import DEFAULT_USER_ID
from tests.fakes.telegram.webhook import REGISTERED, SECRET_HEADER, Webhook

__all__ = [
    "DEFAULT_BOT_USERNAME",
    "DEFAULT_TOKEN",
    "DEFAULT_USER_ID",
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_MESSAGE_LENGTH",
    "MEMBER_STATUSES",
    "REGISTERED",
    "SECRET_HEADER",
    "Call",
    "ChatId",
    "ChatType",
    "EntityParseError",
    "FakeTelegram",
    "FormattedText",
    "SentDocument",
    "SentMessage",
    "Webhook",
    "parse_html",
    "utf16_length",
]
