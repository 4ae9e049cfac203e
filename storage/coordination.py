"""What processes sharing one database agree on: who does a job now, and how much each may send.

Both work the same on SQLite (processes on one host) and PostgreSQL (instances on several): a lease
row per job, and grants of sends recorded with their time, so that the grants any one second can
hold never add up to more than the bot-wide rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.db import Connection, is_postgres, transaction

_BUDGET_LOCK = 0x62756467  # the advisory lock PostgreSQL processes take while granting sends
_FORGET_GRANTS = 60.0  # seconds after which a grant can no longer matter


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class LeaseRepository:
    """Job leases: `acquire` succeeds for one holder at a time until its lease runs out."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    async def acquire(self, name: str, holder: str, now: datetime, lease: timedelta) -> bool:
        """Take the job (or extend it, for its holder); False while another holds a live lease."""
        async with transaction(self._db):
            rows = await self._db.execute_fetchall(
                "INSERT INTO job_leases (name, holder, expires) VALUES (:name, :holder, :expires)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires"
                " WHERE job_leases.holder = excluded.holder OR job_leases.expires <= :now"
                " RETURNING holder",
                {"name": name, "holder": holder, "expires": _stamp(now + lease), "now": _stamp(now)},
            )
        return bool(rows)

    async def take_over(self, name: str, gone: str, holder: str, now: datetime, lease: timedelta) -> bool:
        """Take the job from `gone`, a holder known to be dead; False if someone else was quicker."""
        async with transaction(self._db):
            cursor = await self._db.execute(
                "UPDATE job_leases SET holder = ?, expires = ? WHERE name = ? AND holder = ?",
                (holder, _stamp(now + lease), name, gone),
            )
        return cursor.rowcount == 1

    async def release(self, name: str, holder: str) -> None:
        async with transaction(self._db):
            await self._db.execute("DELETE FROM job_leases WHERE name = ? AND holder = ?", (name, holder))

    async def holder(self, name: str, now: datetime) -> str | None:
        rows = await self._db.execute_fetchall(
            "SELECT holder FROM job_leases WHERE name = ? AND expires > ?", (name, _stamp(now))
        )
        return rows[0][0] if rows else None


@dataclass(frozen=True, slots=True)
class Grant:
    sends: int  # may be 0: the rate is used up for now
    retry_in: float  # seconds until a refused request could be granted (0 when sends > 0)


class SendBudget:
    """Grants of sends out of a bot-wide rate, shared by every process on the database.

    A grant's sends must start within `span` seconds of `now`. A grant is given only if, with the
    grants of the last 1 + `span` seconds, it stays within `rate`: so any one-second window, which
    can only meet grants made within 1 + `span` seconds of each other, holds at most `rate` sends.
    """

    def __init__(self, db: Connection) -> None:
        self._db = db
        self._lock = f"SELECT pg_advisory_xact_lock({_BUDGET_LOCK})" if is_postgres(db) else None

    async def grant(self, wanted: int, rate: int, span: float, now: float) -> Grant:
        """Up to `wanted` sends at `now` (seconds since the epoch), within `rate` per second."""
        async with transaction(self._db):
            if self._lock:
                await self._db.execute(self._lock)
            rows = await self._db.execute_fetchall(
                "SELECT COALESCE(SUM(sends), 0), MIN(granted) FROM send_grants WHERE granted > ?",
                (now - 1.0 - span,),
            )
            used, oldest = int(rows[0][0]), rows[0][1]
            sends = max(0, min(wanted, rate - used))
            if sends == 0:
                return Grant(0, max(oldest + 1.0 + span - now, 0.001) if oldest is not None else span)
            await self._db.execute("INSERT INTO send_grants (granted, sends) VALUES (?, ?)", (now, sends))
            await self._db.execute("DELETE FROM send_grants WHERE granted < ?", (now - _FORGET_GRANTS,))
        return Grant(sends, 0.0)
