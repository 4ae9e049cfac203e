"""The HTTP side of the fake: requests decoded as Telegram decodes them, answers and API errors.

The server runs on its own threads and hands every API request to `FakeTelegram._answer`, with the
moment it arrived.
"""

from __future__ import annotations

import io
import json
import re
import socket
import socketserver
import struct
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.telegram.records import UploadedFile

if TYPE_CHECKING:
    from tests.fakes.telegram.server import FakeTelegram


class ApiError(Exception):
    """An error answer: raised by a method, or injected with fail_next."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(problem: str) -> ApiError:
    return ApiError(400, f"Bad Request: {problem}")


CHAT_NOT_FOUND = "chat not found"
MIGRATED_DESCRIPTION = "Bad Request: group chat was upgraded to a supergroup chat"
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

_TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "title",
        "description",
        "short_description",
        "name",
        "query",
        "username",
        "custom_title",
        "emoji",
        "action",
        "language_code",
        "secret_token",
        "ip_address",
    }
)
"""Parameters Telegram reads as strings; every other form value is JSON (numbers, booleans, objects)."""

_MULTIPART_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_PART_NAME = re.compile(r'\bname="([^"]*)"', re.IGNORECASE)
_PART_FILENAME = re.compile(r'\bfilename="([^"]*)"', re.IGNORECASE)
_PART_CONTENT_TYPE = re.compile(r"^content-type:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_API_PATH = re.compile(r"/bot([^/]+)/([^/]+)")
WELL_FORMED_TOKEN = re.compile(r"\d+:[\w-]{20,}")


def _decode_value(name: str, raw: str) -> Any:
    if name in _TEXT_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    boundary = _MULTIPART_BOUNDARY.search(content_type)
    if boundary is None:
        raise ValueError("multipart body without a boundary")
    params: dict[str, Any] = {}
    for part in body.split(b"--" + boundary.group(1).encode("ascii"))[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.partition(b"\r\n\r\n")
        headers = head.decode("utf-8", "replace")
        name = _PART_NAME.search(headers)
        if name is None:
            continue
        content = content.removesuffix(b"\r\n")
        filename = _PART_FILENAME.search(headers)
        if filename is None:
            params[name.group(1)] = _decode_value(name.group(1), content.decode("utf-8", "replace"))
        else:
            part_type = _PART_CONTENT_TYPE.search(headers)
            params[name.group(1)] = UploadedFile(
                filename.group(1), part_type.group(1) if part_type else "application/octet-stream", content
            )
    return params


def decode_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Query string plus body, form-encoded, JSON or multipart (the BibTeX export's document)."""
    params = {name: _decode_value(name, value) for name, value in parse_qsl(query, keep_blank_values=True)}
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == "application/json" and body:
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("JSON body is not an object")
        params.update(decoded)
    elif media_type == "multipart/form-data":
        params.update(_parse_multipart(body, content_type))
    elif body:
        form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        params.update((name, _decode_value(name, value)) for name, value in form)
    return params


_SO_TIMESTAMPNS = 35
"""Linux's SO_TIMESTAMPNS (also its control message's type), which Python's socket module lacks."""
_TIMESPEC = struct.Struct("@ll")


class _StampedReads(io.RawIOBase):
    """A connection's reads, with the time the kernel received the bytes read last (SO_TIMESTAMPNS).

    A request is timed when it reached the host: the thread that handles it may get there much later
    on a busy host, and then handle a backlog at once, bunching requests that came in evenly.
    """

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection
        self.received: float | None = None  # time.time()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size, ancillary, _, _ = self._connection.recvmsg_into([buffer], socket.CMSG_SPACE(_TIMESPEC.size))
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS:
                seconds, nanoseconds = _TIMESPEC.unpack(data[: _TIMESPEC.size])
                self.received = seconds + nanoseconds / 1e9
        return size


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host name, which may stall offline."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Server

    _reads: _StampedReads | None = None
    arrived = 0.0
    """time.monotonic() when the request being answered reached the host."""

    def setup(self) -> None:
        super().setup()
        if sys.platform == "linux":
            self.connection.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            self.rfile.close()
            self._reads = _StampedReads(self.connection)
            self.rfile = io.BufferedReader(self._reads)
        self.server.fake._connection_opened(self.connection)

    def parse_request(self) -> bool:
        """Called once the request line is read: its bytes came with the last read."""
        now = time.monotonic()
        received = self._reads.received if self._reads is not None else None
        self.arrived = now if received is None else now - max(0.0, time.time() - received)
        return super().parse_request()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._connection_closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; the fake records calls instead."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        route = _API_PATH.fullmatch(url.path)
        if route is None:
            self._reply(404, ApiError(404, "Not Found").payload())
            return
        try:
            params = decode_params(url.query, body, self.headers.get("Content-Type", ""))
        except ValueError:
            self._reply(400, bad_request("can't parse request body").payload())
            return
        answer = self.server.fake._answer(
            route.group(1), route.group(2), params, self._client_gone, self.arrived
        )
        if answer is None:
            self.close_connection = True
        else:
            self._reply(*answer)

    def _client_gone(self) -> bool:
        """Whether the client closed its end: peeking at the socket finds end-of-file or a reset."""
        try:
            return self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        )
        if self.close_connection:
            head += "Connection: close\r\n"
        try:
            self.wfile.write(head.encode("ascii") + b"\r\n" + body)
        except OSError:
            self.close_connection = True
