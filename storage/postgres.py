"""PostgreSQL behind the same small interface the repositories use on aiosqlite.

Repositories write their SQL once, with SQLite's `?` and `:name` placeholders; `PostgresConnection`
rewrites them to psycopg's and answers with rows that, like `sqlite3.Row`, are tuples that can also be
read by column name. Flags are 0/1 integers on both engines, so Python booleans are sent as integers;
sums and counts come back as plain ints. One connection per process, in autocommit mode with explicit
BEGIN/COMMIT, mirrors the SQLite connection: `storage.db.transaction` serializes writers on it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, ClassVar
from urllib.parse import urlsplit

import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.pq import TransactionStatus
from psycopg.types.string import StrDumperUnknown

# String literals and quoted names keep their text; `::type` casts are not parameters.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|::|\?|(?<![\w:]):([A-Za-z_]\w*)|%")

Params = Sequence[Any] | Mapping[str, Any]


def place(url: str) -> str:
    """host:port/database of a PostgreSQL URL, never its user or password: how messages name it."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"


@lru_cache(maxsize=1024)
def to_psycopg(sql: str) -> str:
    """SQLite placeholders (`?`, `:name`) in psycopg's spelling (`%s`, `%(name)s`), `%` escaped."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if match.group(1):
            return f"%({match.group(1)})s"
        return token.replace("%", "%%")  # psycopg reads % inside literals too

    return _TOKENS.sub(replace, sql)


class _IntegerFlagDumper(Dumper):
    """True and False as 1 and 0: flags are integer columns on both engines."""

    oid = psycopg.adapters.types["int4"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class _TextDumper(StrDumperUnknown):
    """Text without U+0000, which PostgreSQL's text cannot hold (SQLite's can): a NUL a user typed
    into a search or a follow would otherwise fail the statement."""

    def dump(self, obj: str) -> bytes:
        return super().dump(obj.replace("\x00", ""))


class _NumberLoader(Loader):
    """SUM over bigint gives numeric in PostgreSQL; SQLite gives an int. Whole numbers stay ints."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        try:
            return int(text)
        except ValueError:
            return float(text)


class Row(tuple):  # type: ignore[type-arg]
    """A result row read by position or by column name, as `sqlite3.Row` is."""

    __slots__ = ()
    _index: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_index": {name: i for i, name in enumerate(names)}})


def _row_factory(cursor: Any) -> Any:
    description = cursor.description
    if description is None:
        return tuple
    row_class = _row_class(tuple(column.name for column in description))
    return row_class


class Cursor:
    """The part of aiosqlite's cursor the repositories use: rows, and how many rows a write changed."""

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    async def fetchone(self) -> Row | None:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[Row]:
        return self._rows


class _Statement:
    """`await db.execute(...)` and `async with db.execute(...) as cursor`, as aiosqlite allows both."""

    def __init__(self, run: Any) -> None:
        self._run = run

    def __await__(self) -> Any:
        return self._run.__await__()

    async def __aenter__(self) -> Cursor:
        return await self._run

    async def __aexit__(self, *exc: object) -> None:
        return None


class PostgresConnection:
    """One psycopg connection shaped like the aiosqlite connection the repositories were written for."""

    dialect = "postgres"

    def __init__(self, connection: psycopg.AsyncConnection[Any], url: str, connect_timeout: float) -> None:
        self._connection = connection
        self._url = url
        self._timeout = connect_timeout
        self._open_transaction = False

    @classmethod
    async def open(cls, url: str, *, connect_timeout: float) -> PostgresConnection:
        return cls(await cls._connect(url, connect_timeout), url, connect_timeout)

    @staticmethod
    async def _connect(url: str, connect_timeout: float) -> psycopg.AsyncConnection[Any]:
        connection = await psycopg.AsyncConnection.connect(
            url, autocommit=True, connect_timeout=max(1, round(connect_timeout)), row_factory=_row_factory
        )
        connection.adapters.register_dumper(bool, _IntegerFlagDumper)
        connection.adapters.register_dumper(str, _TextDumper)
        connection.adapters.register_loader("numeric", _NumberLoader)
        return connection

    async def _usable(self) -> psycopg.AsyncConnection[Any]:
        """The connection, opened again if the server dropped it (a restart, a failover).

        Never inside a transaction: its earlier statements went with the old connection, so the
        caller's transaction fails whole and is retried, rather than half of it committing.
        """
        if self._connection.closed or self._connection.broken:
            if self._open_transaction:
                raise psycopg.OperationalError("the connection to PostgreSQL was lost inside a transaction")
            self._connection = await self._connect(self._url, self._timeout)
        return self._connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """BEGIN ... COMMIT, or ROLLBACK on any error (a lost connection has rolled back already).

        BEGIN is inside too: cancelled while in flight (a stopping bot), psycopg waits for the server's
        answer, so the transaction may be open when the cancellation arrives."""
        connection = await self._usable()
        try:
            self._open_transaction = True
            await connection.execute("BEGIN")
            yield
            await connection.execute("COMMIT")
        except BaseException:
            if not (connection.closed or connection.broken) and self.in_transaction:
                await connection.execute("ROLLBACK")
            raise
        finally:
            self._open_transaction = False

    @property
    def raw(self) -> psycopg.AsyncConnection[Any]:
        """The psycopg connection itself, for what only it can do (COPY)."""
        return self._connection

    @property
    def in_transaction(self) -> bool:
        return self._connection.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, params: Params | None = None) -> _Statement:
        return _Statement(self._run(sql, params))

    async def execute_fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        cursor = await self._run(sql, params)
        return await cursor.fetchall()

    def executemany(self, sql: str, rows: Iterable[Params]) -> _Statement:
        return _Statement(self._run_many(sql, list(rows)))

    async def close(self) -> None:
        await self._connection.close()

    async def _run(self, sql: str, params: Params | None) -> Cursor:
        async with (await self._usable()).cursor() as cursor:
            if params is None or (not params and not isinstance(params, Mapping)):
                await cursor.execute(sql)  # type: ignore[arg-type]
            else:
                await cursor.execute(to_psycopg(sql), params)  # type: ignore[arg-type]
            rows = await cursor.fetchall() if cursor.description is not None else []
            return Cursor(rows, cursor.rowcount)

    async def _run_many(self, sql: str, rows: list[Params]) -> Cursor:
        async with (await self._usable()).cursor() as cursor:
            if rows:
                await cursor.executemany(to_psycopg(sql), rows)  # type: ignore[arg-type]
            return Cursor([], max(cursor.rowcount, 0) if rows else 0)
