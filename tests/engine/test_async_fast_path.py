"""
The async drivers' fast path (aio.py, trio_driver.py), under asyncio and trio: what it skips must
not change what a request sees. A request whose response is already there costs no I/O wait, yet
stays a checkpoint; a connection reused at once is not polled, one that idled is; timeouts that
change between requests on one connection still hold; a request body too big for the socket's
buffer still goes out whole.
"""

from __future__ import annotations

import socket
import time
import typing

import anyio
import pytest

import rapidhttp
from rapidhttp._engine import aio, trio_driver

TIMEOUT = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


async def get(
    transport: rapidhttp.AsyncHTTPTransport, url: str, timeout: dict[str, float] = TIMEOUT
) -> bytes:
    request = rapidhttp.Request("GET", url, extensions={"timeout": timeout})
    response = await transport.handle_async_request(request)
    try:
        return await response.aread()
    finally:
        await response.aclose()


@pytest.mark.anyio
async def test_requests_answered_at_once_stay_cancellable(
    raw_server: typing.Any, srv: typing.Any
) -> None:
    """Even when every response is there by the time it is read (no I/O wait at all), each
    request is a checkpoint: a deadline around a loop of requests ends it."""
    server = raw_server(srv.keep_alive_handler())
    done = 0
    async with rapidhttp.AsyncHTTPTransport() as transport:
        with anyio.move_on_after(0.3) as scope:
            while done < 1_000_000:  # bound: the deadline must end the loop long before
                assert await get(transport, server.url) == b"hello"
                done += 1
        assert scope.cancelled_caught
        assert done > 0
        # The interrupted request closed its connection and freed its slot; the pool serves
        # the next request on a new connection.
        assert await get(transport, server.url) == b"hello"
        pool = transport._engine.pool  # type: ignore[attr-defined]
        assert (pool.total, pool.idle_count, pool.waiting) == (1, 1, 0)
    assert server.connections == 2


@pytest.fixture
def polls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The descriptors the drivers poll for a FIN before reusing an idle connection."""
    calls: list[int] = []

    def counting_probe(fd: int) -> typing.Callable[[], typing.Any]:
        probe = make_probe(fd)

        def counted() -> typing.Any:
            calls.append(fd)
            return probe()

        return counted

    make_probe = aio.readable_probe
    monkeypatch.setattr(aio, "readable_probe", counting_probe)
    monkeypatch.setattr(trio_driver, "readable_probe", counting_probe)
    return calls


def set_poll_after_idle(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    monkeypatch.setattr(aio, "POLL_AFTER_IDLE", seconds)
    monkeypatch.setattr(trio_driver, "POLL_AFTER_IDLE", seconds)


@pytest.mark.anyio
async def test_connection_reused_at_once_is_not_polled(
    raw_server: typing.Any, srv: typing.Any, polls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A generous window, so that a slow test machine cannot make the reuse look idle.
    set_poll_after_idle(monkeypatch, 60.0)
    server = raw_server(srv.keep_alive_handler())
    async with rapidhttp.AsyncHTTPTransport() as transport:
        for _ in range(3):
            assert await get(transport, server.url) == b"hello"
    assert polls == []
    assert server.connections == 1


@pytest.mark.anyio
async def test_connection_reused_after_idling_is_polled(
    raw_server: typing.Any, srv: typing.Any, polls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    set_poll_after_idle(monkeypatch, 0.0)
    server = raw_server(srv.keep_alive_handler())
    async with rapidhttp.AsyncHTTPTransport() as transport:
        for _ in range(3):
            assert await get(transport, server.url) == b"hello"
    assert len(polls) == 2  # once per reuse, never when the response ends
    assert server.connections == 1


@pytest.mark.anyio
async def test_fin_after_idling_with_the_loop_blocked_is_seen(
    raw_server: typing.Any, srv: typing.Any
) -> None:
    """The server closes the idle connection while application code blocks the event loop
    (no callback can see the FIN): the poll on reuse does, and a POST, which would not be
    retried, goes to a new connection."""

    def answer_then_close(sock: socket.socket) -> None:
        if srv.read_request(sock) is not None:
            sock.sendall(srv.OK_RESPONSE)

    server = raw_server(answer_then_close)
    async with rapidhttp.AsyncHTTPTransport() as transport:
        assert await get(transport, server.url) == b"hello"
        time.sleep(0.05)  # on purpose: blocks the loop, the FIN arrives meanwhile
        request = rapidhttp.Request("POST", server.url, content=b"data")
        response = await transport.handle_async_request(request)
        assert await response.aread() == b"hello"
        await response.aclose()
    assert server.connections == 2


@pytest.mark.anyio
async def test_shorter_read_timeout_after_a_longer_one(
    raw_server: typing.Any, srv: typing.Any
) -> None:
    """The asyncio driver arms one timer per connection for the longest-lived deadline; a
    later request on the same connection with a shorter read timeout still times out on
    time."""

    def answer_once_then_stall(sock: socket.socket) -> None:
        request = srv.read_request(sock)
        if request is None:
            return
        sock.sendall(srv.OK_RESPONSE)
        srv.read_request(sock, request[2])
        while sock.recv(65536):  # no answer: wait for the client to give up and close
            pass

    server = raw_server(answer_once_then_stall)
    async with rapidhttp.AsyncHTTPTransport() as transport:
        assert await get(transport, server.url, dict(TIMEOUT, read=30.0)) == b"hello"
        started = time.monotonic()
        with pytest.raises(rapidhttp.ReadTimeout, match="after 0.2 s waiting for the response"):
            await get(transport, server.url, dict(TIMEOUT, read=0.2))
        assert time.monotonic() - started < 5.0
        assert transport._engine.pool.total == 0  # type: ignore[attr-defined]
    assert server.connections == 1


@pytest.mark.anyio
async def test_body_bigger_than_the_socket_buffer(raw_server: typing.Any, srv: typing.Any) -> None:
    """The one non-blocking write of head and body takes only part of a big body: the rest
    follows, and the connection stays usable."""
    body = bytes(range(256)) * 32768  # 8 MiB: far beyond a loopback socket's send buffer

    def echo_length(sock: socket.socket) -> None:
        pending = b""
        while (request := srv.read_request(sock, pending)) is not None:
            pending = request[2]
            size = str(len(request[1])).encode()
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(size), size))

    server = raw_server(echo_length)
    async with rapidhttp.AsyncHTTPTransport() as transport:
        for _ in range(2):
            request = rapidhttp.Request("POST", server.url, content=body)
            response = await transport.handle_async_request(request)
            assert await response.aread() == str(len(body)).encode()
            await response.aclose()
    assert server.connections == 1


@pytest.mark.anyio
async def test_whole_response_releases_its_connection_when_read_or_closed(
    raw_server: typing.Any, srv: typing.Any
) -> None:
    """A response that arrived whole with its head is read from memory, but holds its
    connection until it is read to the end or closed; then the connection is reused."""
    server = raw_server(srv.keep_alive_handler())
    limits = rapidhttp.Limits(max_connections=1)
    async with rapidhttp.AsyncClient(limits=limits, timeout=TIMEOUT["read"]) as client:
        pool = client._transport._engine.pool  # type: ignore[attr-defined]
        response = await client.get(server.url)  # read (`aread`), hence closed
        assert response.content == b"hello"
        assert (pool.total, pool.idle_count) == (1, 1)
        async with client.stream("GET", server.url) as response:
            assert (pool.total, pool.idle_count) == (1, 0)  # held while open
            assert [chunk async for chunk in response.aiter_raw()] == [b"hello"]
            assert (pool.total, pool.idle_count) == (1, 1)  # the end of the body closes it
        async with client.stream("GET", server.url) as response:
            assert (pool.total, pool.idle_count) == (1, 0)
        assert (pool.total, pool.idle_count) == (1, 1)  # closed unread: still reusable
    assert server.connections == 1


@pytest.mark.anyio
async def test_whole_response_read_with_sync_read_releases_its_connection(
    raw_server: typing.Any, srv: typing.Any
) -> None:
    """The body of a whole response is in memory, so even the sync `read()` works on it; it
    must still give the connection back."""
    server = raw_server(srv.keep_alive_handler())
    async with rapidhttp.AsyncClient() as client:
        pool = client._transport._engine.pool  # type: ignore[attr-defined]
        async with client.stream("GET", server.url) as response:
            assert response.read() == b"hello"
            assert (pool.total, pool.idle_count) == (1, 1)
    assert server.connections == 1
