"""A throwaway PostgreSQL server on a loopback port, for running the suite on PostgreSQL.

`make test` runs the suite twice: on SQLite, then with TEST_DATABASE=postgres. On PostgreSQL each
test's database (named after the path its SQLite file would have had, so the same path is the same
database) is copied from a template migrated once, which takes milliseconds. The server runs from
the distribution's binaries (Debian's `postgresql` package) as the `postgres` user when the suite
runs as root, with durability off: it is thrown away with the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg

from storage import db as database

BACKEND = os.environ.get("TEST_DATABASE", "sqlite")
if BACKEND not in ("sqlite", "postgres"):
    raise RuntimeError(f"TEST_DATABASE must be sqlite or postgres, not {BACKEND!r}")

USER = "bot"
TEMPLATE = "bot_template"


def _binaries() -> Path:
    """Where initdb and pg_ctl are: on PATH, or Debian's versioned folder (newest first)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "pg_ctl").exists():
            return folder
    raise RuntimeError(
        "PostgreSQL is not installed: `apt-get install postgresql` (or set TEST_DATABASE=sqlite)"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """initdb in a temporary folder, pg_ctl start on a free loopback port, pg_ctl stop on exit."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="paper-digest-pg-"))
        self.port = _free_port()
        self._bin = _binaries()
        self._as_postgres = os.geteuid() == 0  # the server refuses to run as root
        self._created: set[str] = set()

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        if self._as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        data = self.folder / "data"
        self._run(
            str(self._bin / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=400"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self._bin / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )
        return self

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run(str(self._bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def prepare_template(self) -> None:
        """The template every test database copies: migrated by the bot's own code, once."""
        self._execute(f"CREATE DATABASE {TEMPLATE}")

        async def migrate() -> None:
            connection = await database.connect(self.url(TEMPLATE))
            await connection.close()

        asyncio.run(migrate())

    def database_for(self, path: Path) -> str:
        """The URL of the database standing for the SQLite file at `path`, created on first use."""
        name = _name_for(path)
        if name not in self._created:
            self._execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
            self._created.add(name)
        return self.url(name)

    def empty_database(self) -> str:
        """The URL of a new database with nothing in it, not even the bot's schema."""
        name = f"empty_{len(self._created)}"
        self._execute(f"CREATE DATABASE {name}")
        self._created.add(name)
        return self.url(name)

    def copy(self, source_name: str, target: Path) -> None:
        """A new database standing for `target`, copied from the database `source_name`."""
        name = _name_for(target)
        self._execute(f"CREATE DATABASE {name} TEMPLATE {source_name}")
        self._created.add(name)

    def _execute(self, sql: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(sql)  # type: ignore[arg-type]


def _name_for(path: Path) -> str:
    return "t_" + hashlib.sha256(str(path).encode()).hexdigest()[:24]


_server: PostgresServer | None = None


def start_server() -> PostgresServer:
    global _server
    if _server is None:
        _server = PostgresServer().start()
        _server.prepare_template()
    return _server


def stop_server() -> None:
    global _server
    if _server is not None:
        _server.stop()
        _server = None


def database_target(path: Path) -> Path | str:
    """Where a test's database at `path` lives on the backend under test."""
    if BACKEND == "sqlite":
        return path
    return start_server().database_for(path)


def database_env(path: Path) -> dict[str, str]:
    """The settings that point the bot at the database standing for `path`."""
    target = database_target(path)
    return {"DATABASE_PATH": str(path), **({"DATABASE_URL": str(target)} if BACKEND == "postgres" else {})}


def copy_database(source: Path, target: Path) -> None:
    """Copy the database at `source` (no process using it) to stand for `target`."""
    if BACKEND == "sqlite":
        with (
            contextlib.closing(sqlite3.connect(source)) as original,
            contextlib.closing(sqlite3.connect(target)) as copy,
        ):
            original.backup(copy)
        return
    server = start_server()
    name = server.database_for(source).rsplit("/", 1)[1]
    server.copy(name, target)


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of `sql` read directly from the database standing for `path` (a test's own look)."""
    if BACKEND == "sqlite":
        with contextlib.closing(sqlite3.connect(path)) as connection:
            return connection.execute(sql).fetchall()
    with psycopg.connect(str(database_target(path))) as connection:
        return connection.execute(sql).fetchall()  # type: ignore[arg-type]
