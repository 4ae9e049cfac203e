"""The known ways a command ends early, each told in one line with an exit code, never a traceback.

Telegram rejecting the token, or refusing WEBHOOK_URL at setWebhook, is a configuration error (exit
2, like a bad setting: restarting would only repeat it); Telegram out of reach and a database that is
locked, full, read-only or damaged are exit 1. The caller redacts the line: exception messages can
quote the token (PTB's InvalidToken does).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from telegram.error import BadRequest, InvalidToken, NetworkError

from storage.db import StorageFault, StorageUnavailable, storage_fault

CONFIGURATION = 2
UNAVAILABLE = 1

_WEBHOOK_REFUSED = "bad webhook"
"""How Telegram begins its answer to a setWebhook whose URL it will not use (a host it cannot resolve,
a reserved address)."""

REJECTED_TOKEN = "Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized): check it with @BotFather"

_ADVICE = {
    StorageFault.BUSY: "try again once the other process is done",
    StorageFault.FULL: "free some space, then run the command again",
    StorageFault.READ_ONLY: "check the permissions of the file and of its folder",
    StorageFault.IO: "check the disk",
    StorageFault.UNREACHABLE: "check that DATABASE_URL's PostgreSQL server is up, with a connection free",
    StorageFault.CORRUPT: (
        "run `python -m bot doctor`, then restore the latest backup as docs/operations.md describes "
        "(Restoring a backup)"
    ),
}


@dataclass(frozen=True, slots=True)
class Failure:
    line: str
    exit_code: int


def explain(error: BaseException, telegram_url: str, database: Path | str) -> Failure | None:
    """One line for a failure the operator can act on; None for anything else (a bug)."""
    for cause in _causes(error):
        if isinstance(cause, InvalidToken):
            return Failure(REJECTED_TOKEN, CONFIGURATION)
        if isinstance(cause, BadRequest) and cause.message.casefold().startswith(_WEBHOOK_REFUSED):
            return Failure(f"Telegram refused WEBHOOK_URL: {cause.message}", CONFIGURATION)
        if isinstance(cause, NetworkError) and not isinstance(cause, BadRequest):
            return Failure(f"Telegram is unreachable at {telegram_url}: {cause.message}", UNAVAILABLE)
        fault = storage_fault(cause)
        if fault is not None:
            what = f"{fault} ({first_line(cause)})"
            if isinstance(cause, StorageUnavailable):
                what = f"{fault} ({cause.detail})" + (f"; {cause.consequence}" if cause.consequence else "")
            return Failure(f"database {database}: {what}; {_ADVICE[fault]}", UNAVAILABLE)
    return None


def first_line(error: BaseException) -> str:
    """psycopg's messages run over several lines (a hint after the error): the line is the error."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, then what it was raised from or during, without looping."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
