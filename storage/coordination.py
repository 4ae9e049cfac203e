"""What processes sharing one database agree on: who does a job now, and how much each may send.

Both work the same on SQLite (processes on one host) and PostgreSQL (instances on several): a lease
row per job, and grants of sends recorded with their time, so that the grants any one second can
hold never add up to more than the bot-wide rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.db import Connection, is_postgres, transaction, write_statement

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
    A grant is one statement, so on SQLite it holds the write lock for one round trip (PostgreSQL,
    whose statements do not see each other's rows while both run, adds an advisory lock).
    """

    def __init__(self, db: Connection) -> None:
        self._db = db
        self._forget_after = -math.inf

    async def grant(self, wanted: int, rate: int, span: float, now: float) -> Grant:
        """Up to `wanted` sends at `now` (seconds since the epoch), within `rate` per second."""
        since = now - 1.0 - span
        parameters = {"now": now, "wanted": wanted, "rate": rate, "since": since}
        if is_postgres(self._db):
            async with transaction(self._db):
                await self._db.execute(f"SELECT pg_advisory_xact_lock({_BUDGET_LOCK})")
                rows = await self._db.execute_fetchall(_GRANT, parameters)
        else:
            rows = await write_statement(self._db, _GRANT, parameters)
        if now >= self._forget_after:
            self._forget_after = now + _FORGET_GRANTS
            await write_statement(self._db, _FORGET, {"before": now - _FORGET_GRANTS})
        if rows:
            return Grant(int(rows[0][0]), 0.0)
        oldest = (await self._db.execute_fetchall(_OLDEST, {"since": since}))[0][0]
        return Grant(0, max(oldest + 1.0 + span - now, 0.001) if oldest is not None else span)


_GRANT = """
INSERT INTO send_grants (granted, sends)
SELECT :now, CASE WHEN :wanted < :rate - used THEN :wanted ELSE :rate - used END
FROM (SELECT COALESCE(SUM(sends), 0) AS used FROM send_grants WHERE granted > :since) AS recent
WHERE used < :rate
RETURNING sends
"""
_OLDEST = "SELECT MIN(granted) FROM send_grants WHERE granted > :since"
_FORGET = "DELETE FROM send_grants WHERE granted < :before"
