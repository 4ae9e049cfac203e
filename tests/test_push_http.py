"""The push's HTTP/1.1 client against a loopback server that answers with scripted bytes: every way
HTTP/1.1 frames an answer, connection reuse, and the failures a push must tell apart."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from bot.push.http import ConnectionPool, ProtocolError
from tests.support import CLOSED_PORT

Answer = Callable[[bytes], list[bytes]]
"""The request's head and body in, the pieces to write back out (b"" closes the connection there)."""


def no_tls() -> ssl.SSLContext:
    raise AssertionError("these tests speak plain HTTP")


def answer(body: bytes = b'{"ok":true}', status: str = "200 OK", extra: bytes = b"") -> list[bytes]:
    return [b"HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n%s" % (status.encode(), len(body), extra, body)]


@dataclass
class Scripted:
    """A server answering each request with `script(request)`; it counts connections and requests."""

    script: Answer
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    url: str = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                for piece in self.script(request):
                    if not piece:
                        writer.close()
                        return
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.01)  # separate reads: the client must join the pieces
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


async def started(scripted: Scripted) -> asyncio.Server:
    listening = await asyncio.start_server(scripted.serve, "127.0.0.1", 0)
    scripted.url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}/bot123:abc/sendMessage"
    return listening


async def test_answers_with_a_length_reuse_one_connection():
    scripted = Scripted(lambda request: answer(b'{"ok":true,"result":1}'))
    async with await started(scripted):
        pool = ConnectionPool(4, 5.0, no_tls)
        for _ in range(3):
            assert await pool.request("POST", scripted.url, b"{}") == (200, b'{"ok":true,"result":1}')
        await pool.close()
    assert scripted.connections == 1
    head = scripted.requests[0].split(b"\r\n\r\n")[0].split(b"\r\n")
    assert head[0] == b"POST /bot123:abc/sendMessage HTTP/1.1"
    assert b"Content-Type: application/json" in head and b"Content-Length: 2" in head


async def test_a_chunked_answer_in_pieces_with_extensions_and_trailers():
    pieces = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhel",
        b"lo\r\n6\r\n world\r\n0\r\nExpires: never\r\n",
        b"\r\n",
    ]
    scripted = Scripted(lambda request: pieces)
    async with await started(scripted):
        pool = ConnectionPool(4, 5.0, no_tls)
        assert await pool.request("POST", scripted.url, b"{}") == (200, b"hello world")
        assert await pool.request("POST", scripted.url, b"{}") == (200, b"hello world")
        await pool.close()
    assert scripted.connections == 1


async def test_an_answer_without_a_length_ends_where_the_server_closes():
    scripted = Scripted(lambda request: [b"HTTP/1.1 200 OK\r\n\r\nall of ", b"it", b""])
    async with await started(scripted):
        pool = ConnectionPool(4, 5.0, no_tls)
        assert await pool.request("POST", scripted.url, b"{}") == (200, b"all of it")
        assert await pool.request("POST", scripted.url, b"{}") == (200, b"all of it")
        await pool.close()
    assert scripted.connections == 2


async def test_connection_close_and_http_1_0_are_not_reused():
    http_1_0 = [b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}"]
    answers = iter([answer(extra=b"Connection: close\r\n"), http_1_0, answer()])
    scripted = Scripted(lambda request: next(answers))
    async with await started(scripted):
        pool = ConnectionPool(4, 5.0, no_tls)
        for _ in range(3):
            status, _ = await pool.request("POST", scripted.url, b"{}")
            assert status == 200
        await pool.close()
    assert scripted.connections == 3


async def test_interim_answers_are_skipped_and_errors_keep_their_status():
    scripted = Scripted(
        lambda request: [b"HTTP/1.1 100 Continue\r\n\r\n", *answer(b'{"ok":false}', "429 Too Many Requests")]
    )
    async with await started(scripted):
        pool = ConnectionPool(4, 5.0, no_tls)
        assert await pool.request("POST", scripted.url, b"{}") == (429, b'{"ok":false}')
        await pool.close()


async def test_a_connection_the_server_closed_while_idle_is_replaced():
    scripted = Scripted(lambda request: [*answer(), b""])  # answers, then closes at once
    async with await started(scripted):
        pool = ConnectionPool(4, 5.0, no_tls)
        assert (await pool.request("POST", scripted.url, b"{}"))[0] == 200
        await asyncio.sleep(0.1)
        assert (await pool.request("POST", scripted.url, b"{}"))[0] == 200
        await pool.close()
    assert scripted.connections == 2


async def test_what_arrives_after_an_answer_is_never_taken_for_the_next_ones():
    parting = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"
    scripted = Scripted(lambda request: [*answer(b'{"n":1}'), parting])
    async with await started(scripted):
        pool = ConnectionPool(4, 5.0, no_tls)
        assert await pool.request("POST", scripted.url, b"{}") == (200, b'{"n":1}')
        await asyncio.sleep(0.1)
        assert await pool.request("POST", scripted.url, b"{}") == (200, b'{"n":1}')
        await pool.close()
    assert scripted.connections == 2


async def test_a_connection_lost_inside_an_answer_fails_the_request():
    scripted = Scripted(lambda request: [b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome", b""])
    async with await started(scripted):
        pool = ConnectionPool(4, 5.0, no_tls)
        with pytest.raises(ConnectionError, match="Content-Length"):
            await pool.request("POST", scripted.url, b"{}")
        await pool.close()


async def test_what_is_not_http_fails_the_request():
    scripted = Scripted(lambda request: [b"SSH-2.0-OpenSSH_9.6\r\n\r\n"])
    async with await started(scripted):
        pool = ConnectionPool(4, 5.0, no_tls)
        with pytest.raises(ProtocolError, match="status line"):
            await pool.request("POST", scripted.url, b"{}")
        await pool.close()


async def test_a_late_answer_times_out_and_its_connection_is_dropped():
    answers = iter([[], answer()])  # the first request is never answered
    scripted = Scripted(lambda request: next(answers))
    async with await started(scripted):
        pool = ConnectionPool(4, 0.2, no_tls)
        with pytest.raises(TimeoutError):
            await pool.request("POST", scripted.url, b"{}")
        assert (await pool.request("POST", scripted.url, b"{}"))[0] == 200
        await pool.close()
    assert scripted.connections == 2


async def test_a_user_in_the_url_signs_in_with_basic_authentication():
    scripted = Scripted(lambda request: answer())
    async with await started(scripted):
        pool = ConnectionPool(4, 5.0, no_tls)
        url = scripted.url.replace("http://", "http://bot:p%40ss@")
        await pool.request("POST", url, b"{}")
        await pool.close()
    head = scripted.requests[0].split(b"\r\n")
    port = scripted.url.split(":")[2].split("/")[0]
    assert b"Host: 127.0.0.1:%s" % port.encode() in head
    assert b"Authorization: Basic " + base64.b64encode(b"bot:p@ss") in head


async def test_no_more_connections_open_than_the_pool_allows():
    scripted = Scripted(lambda request: answer())
    async with await started(scripted):
        pool = ConnectionPool(2, 5.0, no_tls)
        results = await asyncio.gather(*(pool.request("POST", scripted.url, b"{}") for _ in range(10)))
        await pool.close()
    assert [status for status, _ in results] == [200] * 10
    assert scripted.connections <= 2


async def test_an_unreachable_host_says_where_it_tried():
    pool = ConnectionPool(2, 5.0, no_tls)
    with pytest.raises(ConnectionError, match=r"cannot connect to 127\.0\.0\.1:9 \(ConnectionRefusedError"):
        await pool.request("POST", f"{CLOSED_PORT}/bot1:x/getMe", b"{}")
