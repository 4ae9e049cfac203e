"""What a push reports as it goes, and the ways it can end early."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from storage.db import StorageFault, StorageUnavailable

OnPushProgress = Callable[["PushReport"], None]


@dataclass(slots=True)
class PushReport:
    chats_due: int = 0  # chats with a part due when the push started
    messages_due: int = 0  # their parts due
    sent: int = 0
    skipped: int = 0  # not sent: the chat blocked the bot or no longer exists
    deactivated: int = 0
    migrated: int = 0  # groups that became supergroups, delivered under the new id
    failed: int = 0  # refused by Telegram (bad request): never retried
    retried: int = 0  # sends repeated after flood control or a network error
    released: int = 0  # parts left for a later push after repeated errors
    taken_over: int = 0  # parts held by a push whose process is gone, taken over at once
    elapsed: float = 0.0
    dry_run: bool = False

    @property
    def done(self) -> int:
        """Parts dealt with so far, against `messages_due` for a progress bar."""
        return self.sent + self.skipped + self.failed + self.released


class PushStopped(StorageUnavailable):
    """The ledger could not be written for as long as the push's claims lasted: it stopped sending."""

    def __init__(
        self, fault: StorageFault, error: BaseException, report: PushReport, unrecorded: int
    ) -> None:
        super().__init__(
            fault,
            str(error),
            f"the push stopped after {report.sent} messages, at most {unrecorded} of them sent but not "
            "recorded (the next push may send those again)",
        )
        self.report = report
        self.unrecorded = unrecorded


class SendGaveUp(Exception):
    """A part kept hitting flood control or network errors for this push."""


class ClaimsRanOut(Exception):
    """The lease ran out before it could be renewed: another push may hold these chats now."""


class StorageGaveUp(Exception):
    """The database kept refusing a write for as long as a lease."""

    def __init__(self, fault: StorageFault, error: BaseException) -> None:
        super().__init__(str(error))
        self.fault = fault
