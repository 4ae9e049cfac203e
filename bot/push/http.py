"""Keep-alive HTTP/1.1 connections on asyncio's own transports: the push's requests to Telegram.

A push sends thousands of small JSON POSTs to one host. aiohttp built request and response objects,
header maps and tracing hooks in Python around each of them, and made two TLS contexts at import;
here a request is one write, and its answer is read with a few `bytes` methods.
`benchmarks/push.py` prints the push's CPU per message.

Answers are framed as HTTP/1.1 says: by Content-Length, chunked, or up to the server closing.
Redirects, proxies, compression and uploads are not handled: the Bot API needs none of them.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from bot.push.claims import Slots

MAX_HEAD = 64 * 1024
"""Bytes an answer's status line and headers may take."""
_REQUEST = b"%s %s HTTP/1.1\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"


class ProtocolError(ConnectionError):
    """The server's answer is not HTTP/1.1 this client can read."""


@dataclass(frozen=True, slots=True)
class _Target:
    host: str
    port: int
    tls: bool
    path: bytes
    headers: bytes  # Host, and Authorization when the URL has a user


@dataclass(frozen=True, slots=True)
class _Head:
    status: int
    length: int | None  # None: chunked, or up to the server closing
    chunked: bool
    keep_alive: bool


class _Connection(asyncio.Protocol):
    """One connection: one request at a time, its answer read as the bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._answer: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self._head: _Head | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._answer is not None and not self._answer.done():
            try:
                self._read(ended=False)
            except ProtocolError as error:
                self._fail(error)

    def eof_received(self) -> None:
        """The server closed its side: an answer without a length ends here."""
        self.closed = True
        if self._answer is not None and not self._answer.done():
            try:
                self._read(ended=True)
            except ProtocolError as error:
                self._fail(error)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._answer is not None and not self._answer.done():
            self._fail(ConnectionError(f"the connection closed before the answer ended ({exc or 'EOF'})"))

    def exchange(self, request: bytes) -> asyncio.Future[tuple[int, bytes, bool]]:
        """Send `request`; the future gives (status, body, whether the connection may be reused)."""
        assert self.transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self._head = None
        self.transport.write(request)
        return self._answer

    def usable(self) -> bool:
        """Open, and nothing arrived since its last answer (a server's parting 408, say)."""
        transport = self.transport
        return not self.closed and not self._buffer and transport is not None and not transport.is_closing()

    def close(self) -> None:
        """Drop the connection at once: whatever it was doing is abandoned."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, error: Exception) -> None:
        assert self._answer is not None
        self._answer.set_exception(error)
        self.close()

    def _read(self, *, ended: bool) -> None:
        buffer = self._buffer
        while self._head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    raise ProtocolError("the answer's headers are too long")
                if ended:
                    raise ProtocolError("the connection closed inside the answer's headers")
                return
            head = _parse_head(bytes(buffer[:end]))
            del buffer[: end + 4]
            if head.status >= 200:  # 1xx answers are interim: the real one follows
                self._head = head
        head = self._head
        if head.chunked:
            found = _dechunked(buffer)
            if found is None:
                if ended:
                    raise ProtocolError("the connection closed inside a chunked answer")
                return
            body, used = found
        elif head.length is not None:
            if len(buffer) < head.length:
                if ended:
                    raise ProtocolError("the connection closed before the answer's Content-Length")
                return
            body, used = bytes(buffer[: head.length]), head.length
        else:
            if not ended:
                return
            body, used = bytes(buffer), len(buffer)
        del buffer[:used]
        assert self._answer is not None
        self._answer.set_result((head.status, body, head.keep_alive and not self.closed and not buffer))


def _parse_head(head: bytes) -> _Head:
    lines = head.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    if not version.startswith(b"HTTP/1.") or not rest[:3].isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    status = int(rest[:3])
    length = None
    chunked = False
    keep_alive = version == b"HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            if not value.strip().isdigit():
                raise ProtocolError(f"bad Content-Length: {value[:40]!r}")
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.strip().lower().endswith(b"chunked")
        elif name == b"connection":
            tokens = value.lower()
            if b"close" in tokens:
                keep_alive = False
            elif b"keep-alive" in tokens:
                keep_alive = True
    if status in (204, 304) or status < 200:
        length, chunked = 0, False
    return _Head(status, None if chunked else length, chunked, keep_alive)


def _dechunked(buffer: bytearray) -> tuple[bytes, int] | None:
    """The chunked body at the start of `buffer`: (the body, bytes it took), or None until it is whole."""
    pieces = []
    position = 0
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size_field = bytes(buffer[position:line_end]).partition(b";")[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size: {size_field[:40]!r}") from None
        position = line_end + 2
        if size == 0:
            if buffer[position : position + 2] == b"\r\n":
                return b"".join(pieces), position + 2
            trailers_end = buffer.find(b"\r\n\r\n", position)
            return None if trailers_end < 0 else (b"".join(pieces), trailers_end + 4)
        if len(buffer) < position + size + 2:
            return None
        pieces.append(bytes(buffer[position : position + size]))
        position += size + 2


class ConnectionPool:
    """Up to `size` keep-alive connections, reused request after request; a request beyond waits.

    `tls` gives the TLS context for https URLs, asked for when the first such connection opens.
    Each request, connecting included, must be answered within `timeout` seconds (TimeoutError).
    Connection failures raise OSError (ConnectionError, ssl.SSLError).
    """

    def __init__(self, size: int, timeout: float, tls: Callable[[], ssl.SSLContext]) -> None:
        self._slots = Slots(size)
        self._timeout = timeout
        self._tls = tls
        self._idle: dict[tuple[str, int, bool], list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._targets: dict[str, _Target] = {}

    async def request(self, method: str, url: str, body: bytes) -> tuple[int, bytes]:
        """POST (or `method`) a JSON `body` to `url`: (the status, the answer's body)."""
        target = self._targets.get(url) or self._target(url)
        request = _REQUEST % (method.encode("ascii"), target.path, target.headers, len(body))
        key = (target.host, target.port, target.tls)
        async with self._slots, asyncio.timeout(self._timeout):
            connection = self._take_idle(key) or await self._connect(target)
            try:
                status, answer, reusable = await connection.exchange(request + body)
            except BaseException:
                self._drop(connection)
                raise
        if reusable:
            self._idle.setdefault(key, []).append(connection)
        else:
            self._drop(connection)
        return status, answer

    async def close(self) -> None:
        for connection in list(self._open):
            self._drop(connection)
        self._idle.clear()

    def _target(self, url: str) -> _Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname
        shown = f"[{host}]" if ":" in host else host
        headers = b"Host: %s\r\n" % (shown if port == (443 if tls else 80) else f"{shown}:{port}").encode()
        if parts.username is not None:
            user = unquote(f"{parts.username}:{parts.password or ''}").encode()
            headers += b"Authorization: Basic %s\r\n" % base64.b64encode(user)
        target = _Target(host, port, tls, path.encode("ascii"), headers)
        self._targets[url] = target
        return target

    def _take_idle(self, key: tuple[str, int, bool]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if connection.usable():
                return connection
            self._open.discard(connection)
        return None

    async def _connect(self, target: _Target) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = {"ssl": self._tls(), "server_hostname": target.host} if target.tls else {}
        try:
            _, connection = await loop.create_connection(_Connection, target.host, target.port, **tls)
        except OSError as error:
            reason = f"{type(error).__name__}: {error}"
            raise ConnectionError(f"cannot connect to {target.host}:{target.port} ({reason})") from error
        self._open.add(connection)
        return connection

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)
