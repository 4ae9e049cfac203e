"""The few pieces of SQL that SQLite and PostgreSQL spell differently, in one place.

Repositories write everything else once, in the SQL both engines read (placeholders in SQLite's
spelling, rewritten for psycopg by `storage.postgres`). What differs: reading a JSON array bound as
one parameter (how lists of ids travel), string aggregation, the two-argument maximum and SQLite's
index hints.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection, is_postgres


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    ids_in: str  # a subquery of the integers in the JSON array bound as its one parameter
    texts_in: str  # the same for strings
    _concat: str
    _greatest: str
    _hints: bool
    _left_join_each: str

    def concat(self, expression: str, separator: str) -> str:
        """Aggregate `expression`'s values into one string, joined by `separator` (a SQL literal)."""
        return self._concat.format(expression=expression, separator=separator)

    def greatest(self, first: str, second: str) -> str:
        return self._greatest.format(first=first, second=second)

    def left_join_each(self, expression: str, alias: str) -> str:
        """Join each string of the JSON array in `expression` as `alias.value` (a row of NULL if empty)."""
        return self._left_join_each.format(expression=expression, alias=alias)

    def indexed_by(self, index: str) -> str:
        """SQLite's INDEXED BY hint where a plan needs it; PostgreSQL plans from its statistics."""
        return f"INDEXED BY {index}" if self._hints else ""


SQLITE = Dialect(
    name="sqlite",
    ids_in="SELECT value FROM json_each(?)",
    texts_in="SELECT value FROM json_each(?)",
    _concat="group_concat({expression}, {separator})",
    _greatest="max({first}, {second})",
    _hints=True,
    _left_join_each="LEFT JOIN json_each({expression}) AS {alias}",
)

POSTGRES = Dialect(
    name="postgres",
    ids_in="SELECT CAST(jsonb_array_elements_text(CAST(? AS jsonb)) AS bigint)",
    texts_in="SELECT jsonb_array_elements_text(CAST(? AS jsonb))",
    _concat="string_agg(CAST({expression} AS text), {separator})",
    _greatest="GREATEST({first}, {second})",
    _hints=False,
    _left_join_each=(
        "LEFT JOIN LATERAL jsonb_array_elements_text(CAST({expression} AS jsonb)) AS {alias} (value) ON true"
    ),
)


def dialect_of(db: Connection) -> Dialect:
    return POSTGRES if is_postgres(db) else SQLITE
