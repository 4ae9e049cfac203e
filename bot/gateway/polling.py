"""Long polling that survives what it cannot read, and stops for good when the token is rejected.

PTB parses a whole `getUpdates` answer at once: one update it cannot read (a new field, a string
where an object belongs) fails the call, the same batch comes back on the next one, and the bot
answers nobody again. Here such an update is logged once and replaced by an empty `Update` with
its id, so the offset moves past it. A 401 is not a network hiccup: it is reported to
`on_rejected_token`, and the process stops instead of polling nothing forever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import ExtBot

logger = logging.getLogger(__name__)

REJECTED_TOKEN = "Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized): check it with @BotFather"


class TolerantBot(ExtBot):
    """The application's Bot: skips unreadable updates; calls `on_rejected_token` on a 401."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_rejected_token: Callable[[], None] | None = None

    def when_token_rejected(self, callback: Callable[[], None]) -> None:
        """Call `callback` (which stops the application) when Telegram answers 401 to polling."""
        self._on_rejected_token = callback

    async def get_updates(self, offset: int | None = None, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        try:
            return await super().get_updates(offset, *args, **kwargs)
        except InvalidToken:
            if self._on_rejected_token is None:
                raise
            # Nothing to read, and no exception for PTB's polling task: the callback stops the
            # application, whose shutdown then awaits that task (and would re-raise from it).
            self._on_rejected_token()
            return ()
        except TelegramError:
            raise
        except Exception:  # the batch came back, but PTB could not read an update of it
            return await self._readable_updates(offset, kwargs.get("allowed_updates"))

    async def _readable_updates(
        self, offset: int | None, allowed: Sequence[str] | None
    ) -> tuple[Update, ...]:
        # Lower case: PTB would otherwise warn that get_updates exists. The batch is not confirmed
        # yet, so asking again with no wait returns the same updates.
        raw = await self.do_api_request(
            "getupdates", api_kwargs={"offset": offset, "timeout": 0, "allowed_updates": allowed}
        )
        return tuple(self._readable(item) for item in raw or () if isinstance(item, dict))

    def _readable(self, item: dict[str, Any]) -> Update:
        try:
            update = Update.de_json(item, self)
            self.insert_callback_data(update)
            return update
        except Exception as error:  # any shape Telegram may send must not stop polling
            update_id = item.get("update_id")
            kinds = ", ".join(sorted(key for key in item if key != "update_id")) or "nothing"
            logger.warning(
                "update %s skipped: it could not be read (%s: %s; it carried %s)",
                update_id,
                type(error).__name__,
                str(error)[:200],
                kinds,
            )
            return Update(update_id if isinstance(update_id, int) else 0)
