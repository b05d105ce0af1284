"""
AsyncHTTPTransport end to end, under asyncio and trio (every test runs on both backends), against
real loopback servers: the shared uvicorn fixtures and small raw-socket servers that misbehave on
purpose (close, stall, send garbage, truncate).
"""

from __future__ import annotations

import socket
import threading
import time
import typing

import pytest

import rapidhttp

Handler = typing.Callable[[socket.socket], None]

# The servers are tests/engine/conftest.py's: `raw_server(handler)` runs `handler(sock)` per
# connection; the `srv` fixture gives its helpers (read_request, keep_alive_handler,
# OK_RESPONSE). The handlers below misbehave on purpose.


def serve_once_then_drop(srv: typing.Any) -> Handler:
    """Answer one request, then close the connection when the next request arrives: the race
    a server's keep-alive timeout causes (no FIN reaches the idle client in time)."""

    def handler(sock: socket.socket) -> None:
        if srv.read_request(sock) is None:
            return
        sock.sendall(srv.OK_RESPONSE)
        srv.read_request(sock)

    return handler


def respond_with(srv: typing.Any, data: bytes) -> Handler:
    def handler(sock: socket.socket) -> None:
        if srv.read_request(sock) is not None:
            sock.sendall(data)

    return handler


def stalling(answer: bytes = b"") -> Handler:
    """Read the request head, send `answer`, then never answer more (draining what comes)
    until the client closes."""

    def handler(sock: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
            data += chunk
        sock.sendall(answer)
        while sock.recv(65536):
            pass

    return handler


def not_reading(sock: socket.socket) -> None:
    """Accept, then neither read nor answer for a second: the client's writes back up."""
    time.sleep(1.0)


def engine_of(transport: rapidhttp.AsyncHTTPTransport) -> typing.Any:
    return transport._engine


def assert_pool_quiet(transport: rapidhttp.AsyncHTTPTransport) -> None:
    """No request holds a slot: every counted connection is idle, nobody waits."""
    pool = engine_of(transport).pool
    assert pool.waiting == 0
    assert pool.total == pool.idle_count


async def get(
    transport: rapidhttp.AsyncHTTPTransport, url: str, **extensions: typing.Any
) -> tuple[rapidhttp.Response, bytes]:
    request = rapidhttp.Request("GET", url, extensions=extensions)
    response = await transport.handle_async_request(request)
    try:
        body = await response.aread()
    finally:
        await response.aclose()
    return response, body


# --------------------------------------------------------------------------- the basics


@pytest.mark.anyio
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_large_body_then_small_on_the_same_connection(
    srv: typing.Any, raw_server: typing.Any, chunked: bool
) -> None:
    """A body far larger than the read buffer (which grows while it streams in, then shrinks
    back) arrives byte for byte, and the connection then carries a small exchange."""
    big = bytes(range(256)) * 12_000  # ~3 MB
    if chunked:
        framed = b"".join(
            b"%x\r\n%b\r\n" % (len(p), p) for p in (big[:1_000_000], big[1_000_000:])
        )
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        big_response = head + framed + b"0\r\n\r\n"
    else:
        big_response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(big), big)
    answers = iter([big_response, srv.OK_RESPONSE])

    def handler(sock: socket.socket) -> None:
        pending = b""
        while (request := srv.read_request(sock, pending)) is not None:
            pending = request[2]
            sock.sendall(next(answers))

    server = raw_server(handler)
    async with rapidhttp.AsyncHTTPTransport() as transport:
        assert (await get(transport, server.url))[1] == big
        conn = next(iter(transport._engine.pool._idle)).conn
        assert len(conn._buffer) == 65536  # grew while the body came, then shrank back
        assert (await get(transport, server.url))[1] == b"hello"
    assert server.connections == 1


@pytest.mark.anyio
async def test_get_and_keep_alive_reuse(raw_server: typing.Any, srv: typing.Any) -> None:
    server = raw_server(srv.keep_alive_handler())
    async with rapidhttp.AsyncHTTPTransport() as transport:
        for _ in range(3):
            response, body = await get(transport, server.url)
            assert response.status_code == 200
            assert body == b"hello"
            assert response.headers["content-type"] == "text/plain"
            assert response.extensions["http_version"] == b"HTTP/1.1"
            assert response.extensions["reason_phrase"] == b"OK"
        assert server.connections == 1
        assert_pool_quiet(transport)
        assert engine_of(transport).pool.idle_count == 1


@pytest.mark.anyio
async def test_uvicorn_routes(server: typing.Any) -> None:
    async with rapidhttp.AsyncHTTPTransport() as transport:
        response, body = await get(transport, server.url + "json")
        assert body == b'{"Hello": "world!"}'
        request = rapidhttp.Request("HEAD", server.url)
        response = await transport.handle_async_request(request)
        assert response.status_code == 200
        assert await response.aread() == b""
        response, body = await get(transport, server.url + "status/204")
        assert (response.status_code, body) == (204, b"")
        response, body = await get(transport, server.url + "bytes/200000")
        assert len(body) == 200000 and body[:3] == b"\x00\x01\x02"
        assert_pool_quiet(transport)


@pytest.mark.anyio
async def test_streamed_response_body(server: typing.Any) -> None:
    async with rapidhttp.AsyncHTTPTransport() as transport:
        request = rapidhttp.Request("GET", server.url + "stream/50")
        response = await transport.handle_async_request(request)
        chunks = [chunk async for chunk in response.aiter_raw()]
        await response.aclose()
        assert b"".join(chunks) == b"".join(b"chunk %d\n" % i for i in range(50))
        assert_pool_quiet(transport)
        assert engine_of(transport).pool.idle_count == 1  # released at the end of the body


@pytest.mark.anyio
async def test_streamed_request_body(server: typing.Any) -> None:
    async def body() -> typing.AsyncIterator[bytes]:
        for i in range(20):
            yield b"part %d;" % i

    async with rapidhttp.AsyncHTTPTransport() as transport:
        request = rapidhttp.Request("POST", server.url + "echo_body", content=body())
        response = await transport.handle_async_request(request)
        assert await response.aread() == b"".join(b"part %d;" % i for i in range(20))
        request = rapidhttp.Request("PUT", server.url + "echo_body", content=b"x" * 300000)
        response = await transport.handle_async_request(request)
        assert await response.aread() == b"x" * 300000


@pytest.mark.anyio
async def test_response_closed_early_closes_the_connection(server: typing.Any) -> None:
    async with rapidhttp.AsyncHTTPTransport() as transport:
        request = rapidhttp.Request("GET", server.url + "bytes/2000000")
        response = await transport.handle_async_request(request)
        chunks = response.aiter_raw()
        assert await chunks.__anext__()
        await chunks.aclose()  # type: ignore[attr-defined]
        await response.aclose()
        pool = engine_of(transport).pool
        assert pool.total == 0  # not reusable: the rest of the body was never read
        response, body = await get(transport, server.url)
        assert body == b"Hello, world!"


@pytest.mark.anyio
async def test_tls(tls_server: typing.Any, client_ssl_context: typing.Any) -> None:
    async with rapidhttp.AsyncHTTPTransport(verify=client_ssl_context) as transport:
        for _ in range(2):
            response, body = await get(transport, tls_server.url)
            assert body == b"Hello, world!"
        ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
        assert ssl_object is not None and ssl_object.version().startswith("TLS")
        assert engine_of(transport).pool.total == 1


@pytest.mark.anyio
async def test_tls_verification_failure(tls_server: typing.Any) -> None:
    async with rapidhttp.AsyncHTTPTransport() as transport:  # certifi does not know the test CA
        with pytest.raises(rapidhttp.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await get(transport, tls_server.url)
        assert engine_of(transport).pool.total == 0


@pytest.mark.anyio
async def test_sni_hostname_extension(
    tls_server: typing.Any, client_ssl_context: typing.Any
) -> None:
    url = tls_server.url  # an IP address: the certificate name comes from the extension
    async with rapidhttp.AsyncHTTPTransport(verify=client_ssl_context) as transport:
        response, body = await get(transport, url, sni_hostname="localhost")
        assert body == b"Hello, world!"
        ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
        assert ssl_object.server_hostname == "localhost"


# --------------------------------------------------------------------------- faults


@pytest.mark.anyio
async def test_connect_error_names_the_peer() -> None:
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with rapidhttp.AsyncHTTPTransport() as transport:
        with pytest.raises(rapidhttp.ConnectError, match=f"127.0.0.1:{port}") as info:
            await get(transport, f"http://127.0.0.1:{port}/")
        assert info.value.request.url == f"http://127.0.0.1:{port}/"
        assert engine_of(transport).pool.total == 0


@pytest.mark.anyio
async def test_connect_retries(raw_server: typing.Any, srv: typing.Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    events: list[str] = []

    async def trace(name: str, info: dict[str, typing.Any]) -> None:
        events.append(name)

    async with rapidhttp.AsyncHTTPTransport(retries=1) as transport:
        with pytest.raises(rapidhttp.ConnectError):
            await get(transport, f"http://127.0.0.1:{port}/", trace=trace)
    assert events == [
        "connection.connect_tcp.started",
        "connection.connect_tcp.failed",
        "connection.retry.started",
        "connection.retry.complete",
        "connection.connect_tcp.started",
        "connection.connect_tcp.failed",
    ]


@pytest.mark.anyio
async def test_connect_timeout() -> None:
    # A listener whose accept queue is full: further SYNs are dropped, connecting hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        timeout = {"connect": 0.2, "read": None, "write": None, "pool": None}
        async with rapidhttp.AsyncHTTPTransport() as transport:
            started = time.monotonic()
            message = f"0.2 s connecting to 127.0.0.1:{port}"
            with pytest.raises(rapidhttp.ConnectTimeout, match=message):
                await get(transport, f"http://127.0.0.1:{port}/", timeout=timeout)
            assert time.monotonic() - started < 3
            assert engine_of(transport).pool.total == 0
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@pytest.mark.anyio
async def test_read_timeout(raw_server: typing.Any, srv: typing.Any) -> None:
    server = raw_server(stalling())
    timeout = {"connect": 5.0, "read": 0.1, "write": 5.0, "pool": 5.0}
    async with rapidhttp.AsyncHTTPTransport() as transport:
        with pytest.raises(
            rapidhttp.ReadTimeout,
            match=f"Timed out after 0.1 s waiting for the response from 127.0.0.1:{server.port}",
        ) as info:
            await get(transport, server.url, timeout=timeout)
        assert info.value.request.method == "GET"
        assert engine_of(transport).pool.total == 0


@pytest.mark.anyio
async def test_read_timeout_mid_body(raw_server: typing.Any, srv: typing.Any) -> None:
    server = raw_server(stalling(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"))
    timeout = {"connect": 5.0, "read": 0.1, "write": 5.0, "pool": 5.0}
    async with rapidhttp.AsyncHTTPTransport() as transport:
        request = rapidhttp.Request("GET", server.url, extensions={"timeout": timeout})
        response = await transport.handle_async_request(request)
        with pytest.raises(rapidhttp.ReadTimeout) as info:
            await response.aread()
        assert info.value.request is request
        await response.aclose()
        assert engine_of(transport).pool.total == 0


@pytest.mark.anyio
async def test_write_timeout(raw_server: typing.Any, srv: typing.Any) -> None:
    server = raw_server(not_reading)
    timeout = {"connect": 5.0, "read": 5.0, "write": 0.1, "pool": 5.0}
    async with rapidhttp.AsyncHTTPTransport() as transport:
        request = rapidhttp.Request(
            "PUT", server.url, content=b"x" * 50_000_000, extensions={"timeout": timeout}
        )
        with pytest.raises(rapidhttp.WriteTimeout, match="0.1 s sending the request"):
            await transport.handle_async_request(request)
        assert engine_of(transport).pool.total == 0


@pytest.mark.anyio
async def test_server_disconnects_without_response(
    raw_server: typing.Any, srv: typing.Any
) -> None:
    server = raw_server(respond_with(srv, b""))
    async with rapidhttp.AsyncHTTPTransport() as transport:
        with pytest.raises(
            rapidhttp.RemoteProtocolError, match="Server disconnected without sending a response."
        ):
            await get(transport, server.url)
        assert engine_of(transport).pool.total == 0


@pytest.mark.anyio
async def test_garbage_response(raw_server: typing.Any, srv: typing.Any) -> None:
    server = raw_server(respond_with(srv, b"SSH-2.0-OpenSSH_9.6\r\n\r\n"))
    async with rapidhttp.AsyncHTTPTransport() as transport:
        with pytest.raises(rapidhttp.RemoteProtocolError):
            await get(transport, server.url)
        assert engine_of(transport).pool.total == 0


@pytest.mark.anyio
async def test_truncated_body(raw_server: typing.Any, srv: typing.Any) -> None:
    server = raw_server(respond_with(srv, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"))
    async with rapidhttp.AsyncHTTPTransport() as transport:
        request = rapidhttp.Request("GET", server.url)
        response = await transport.handle_async_request(request)
        with pytest.raises(rapidhttp.RemoteProtocolError, match="complete message body"):
            await response.aread()
        await response.aclose()
        assert engine_of(transport).pool.total == 0


@pytest.mark.anyio
async def test_close_delimited_body(raw_server: typing.Any, srv: typing.Any) -> None:
    server = raw_server(
        respond_with(srv, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil EOF")
    )
    async with rapidhttp.AsyncHTTPTransport() as transport:
        response, body = await get(transport, server.url)
        assert body == b"until EOF"
        assert engine_of(transport).pool.total == 0  # Connection: close


@pytest.mark.anyio
async def test_idle_connection_closed_by_server_is_not_reused(
    raw_server: typing.Any, srv: typing.Any
) -> None:
    # Keep-alive in appearance, then closed at once: the FIN reaches the idle connection.
    server = raw_server(respond_with(srv, srv.OK_RESPONSE))
    async with rapidhttp.AsyncHTTPTransport() as transport:
        await get(transport, server.url)
        time.sleep(0.05)  # let the FIN arrive
        response, body = await get(transport, server.url)
        assert body == b"hello"
        assert server.connections == 2


@pytest.mark.anyio
async def test_stale_keep_alive_connection_is_retried_once(
    raw_server: typing.Any, srv: typing.Any
) -> None:
    # The first connection dies exactly when it is reused (no FIN while idle): the race a
    # server's keep-alive timeout causes. An idempotent request is retried on a new connection.
    handlers = [serve_once_then_drop(srv), srv.keep_alive_handler()]
    server = raw_server(lambda sock: handlers.pop(0)(sock))
    async with rapidhttp.AsyncHTTPTransport() as transport:
        await get(transport, server.url)
        response, body = await get(transport, server.url)
        assert body == b"hello"
        assert server.connections == 2
        assert_pool_quiet(transport)


@pytest.mark.anyio
async def test_stale_connection_not_retried_for_streamed_post(
    raw_server: typing.Any, srv: typing.Any
) -> None:
    server = raw_server(serve_once_then_drop(srv))

    async def body() -> typing.AsyncIterator[bytes]:
        yield b"data"

    async with rapidhttp.AsyncHTTPTransport() as transport:
        await get(transport, server.url)
        request = rapidhttp.Request("POST", server.url, content=body())
        with pytest.raises(rapidhttp.RemoteProtocolError, match="Server disconnected"):
            await transport.handle_async_request(request)
        assert server.connections == 1
        assert engine_of(transport).pool.total == 0


# --------------------------------------------------------------------------- the pool


@pytest.mark.anyio
async def test_pool_timeout(raw_server: typing.Any, srv: typing.Any) -> None:
    endless = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    server = raw_server(srv.keep_alive_handler(endless))
    timeout = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 0.05}
    limits = rapidhttp.Limits(max_connections=1)
    async with rapidhttp.AsyncHTTPTransport(limits=limits) as transport:
        held = await transport.handle_async_request(rapidhttp.Request("GET", server.url))
        with pytest.raises(rapidhttp.PoolTimeout, match="0.05 s waiting for a connection"):
            await get(transport, "http://127.0.0.1:1/", timeout=timeout)
        await held.aclose()
        assert engine_of(transport).pool.total == 0
        assert engine_of(transport).pool.waiting == 0


@pytest.mark.anyio
async def test_unread_response_holds_its_connection_until_closed(
    raw_server: typing.Any, srv: typing.Any
) -> None:
    server = raw_server(srv.keep_alive_handler())
    timeout = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 0.05}
    limits = rapidhttp.Limits(max_connections=1)
    async with rapidhttp.AsyncHTTPTransport(limits=limits) as transport:
        held = await transport.handle_async_request(rapidhttp.Request("GET", server.url))
        with pytest.raises(rapidhttp.PoolTimeout):
            await get(transport, server.url, timeout=timeout)
        await held.aclose()  # whole response received: the connection goes back, reusable
        assert (await get(transport, server.url))[1] == b"hello"
        assert server.connections == 1


@pytest.mark.anyio
async def test_pool_waiters_are_served_in_turn(raw_server: typing.Any, srv: typing.Any) -> None:
    import anyio

    server = raw_server(srv.keep_alive_handler())
    limits = rapidhttp.Limits(max_connections=2)
    results: list[bytes] = []
    async with rapidhttp.AsyncHTTPTransport(limits=limits) as transport:

        async def worker() -> None:
            for _ in range(5):
                results.append((await get(transport, server.url))[1])

        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(worker)
        assert results == [b"hello"] * 40
        assert server.connections <= 2
        assert_pool_quiet(transport)


@pytest.mark.anyio
async def test_transport_is_usable_after_aclose(raw_server: typing.Any, srv: typing.Any) -> None:
    import anyio

    server = raw_server(srv.keep_alive_handler())
    limits = rapidhttp.Limits(max_connections=1)
    transport = rapidhttp.AsyncHTTPTransport(limits=limits)
    held = await transport.handle_async_request(rapidhttp.Request("GET", server.url))
    old_pool = engine_of(transport).pool
    results: list[bytes] = []

    async def waiting() -> None:  # queued on the full pool when aclose() comes
        results.append((await get(transport, server.url))[1])

    async with anyio.create_task_group() as group:
        group.start_soon(waiting)
        await anyio.sleep(0.05)
        await transport.aclose()  # as httpcore: idle connections close, the transport lives on
    await held.aclose()  # released into the old, closed pool: its connection is closed
    assert results == [b"hello"]  # the waiter started over on the new pool
    assert old_pool.total == 0
    assert (await get(transport, server.url))[1] == b"hello"
    await transport.aclose()
    assert engine_of(transport).pool.total == 0


# --------------------------------------------------------------------------- cancellation


def jittery_handler(srv: typing.Any) -> Handler:
    """Keep-alive server with random pauses before the head and inside the body, so that
    cancellations land at every stage of an exchange."""
    import random

    def handler(sock: socket.socket) -> None:
        rnd = random.Random()
        while srv.read_request(sock) is not None:
            time.sleep(rnd.random() * 0.002)
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
            time.sleep(rnd.random() * 0.002)
            sock.sendall(b"world")

    return handler


@pytest.mark.anyio
async def test_random_cancellations_leave_the_pool_consistent(
    raw_server: typing.Any, srv: typing.Any
) -> None:
    import random

    import anyio

    server = raw_server(jittery_handler(srv))
    rnd = random.Random(1234)
    limits = rapidhttp.Limits(max_connections=8, max_keepalive_connections=4)
    outcomes = {"ok": 0, "cancelled": 0, "timeout": 0}
    async with rapidhttp.AsyncHTTPTransport(limits=limits) as transport:
        pool = engine_of(transport).pool

        async def one(delay: float, read_timeout: float | None) -> None:
            extensions = {}
            if read_timeout is not None:
                timeout = {"connect": 5.0, "read": read_timeout, "write": 5.0, "pool": 5.0}
                extensions["timeout"] = timeout
            with anyio.move_on_after(delay) as scope:
                try:
                    request = rapidhttp.Request("GET", server.url, extensions=extensions)
                    response = await transport.handle_async_request(request)
                    try:
                        assert await response.aread() == b"helloworld"
                    finally:
                        await response.aclose()
                    outcomes["ok"] += 1
                except rapidhttp.TimeoutException:
                    outcomes["timeout"] += 1
            if scope.cancelled_caught:
                outcomes["cancelled"] += 1
            assert pool.total <= 8

        async def worker() -> None:
            for _ in range(12):
                read_timeout = rnd.choice([None, None, None, 0.001])
                await one(rnd.choice([0.002, 0.01, 0.03, 1.0]) * rnd.random(), read_timeout)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for _ in range(25):
                    group.start_soon(worker)
        assert sum(outcomes.values()) == 300
        assert outcomes["cancelled"] > 10 and outcomes["ok"] > 10
        assert_pool_quiet(transport)
        assert pool.idle_count <= 4
        # ...and the pool still serves requests normally.
        for _ in range(10):
            assert (await get(transport, server.url))[1] == b"helloworld"
        assert_pool_quiet(transport)


# --------------------------------------------------------------------------- options


@pytest.mark.anyio
async def test_unix_domain_socket(tmp_path: typing.Any, srv: typing.Any) -> None:
    path = str(tmp_path / "server.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)

    def serve() -> None:
        sock, _ = listener.accept()
        with sock:
            srv.keep_alive_handler()(sock)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        async with rapidhttp.AsyncHTTPTransport(uds=path) as transport:
            for _ in range(2):
                response, body = await get(transport, "http://localhost/")
                assert body == b"hello"
            assert engine_of(transport).pool.total == 1
    finally:
        listener.close()
        thread.join(5)


@pytest.mark.anyio
async def test_local_address_and_socket_options(raw_server: typing.Any, srv: typing.Any) -> None:
    server = raw_server(srv.keep_alive_handler())
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    async with rapidhttp.AsyncHTTPTransport(
        local_address="127.0.0.1", socket_options=options
    ) as transport:
        response, _ = await get(transport, server.url)
        stream = response.extensions["network_stream"]
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", server.port)
        sock = stream.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1


@pytest.mark.anyio
async def test_trace_events(server: typing.Any) -> None:
    events: list[tuple[str, list[str]]] = []

    async def trace(name: str, info: dict[str, typing.Any]) -> None:
        events.append((name, sorted(info)))

    async with rapidhttp.AsyncHTTPTransport() as transport:
        await get(transport, server.url, trace=trace)
        await get(transport, server.url, trace=trace)
    names = [name for name, _ in events]
    exchange = [
        "http11.send_request_headers.started",
        "http11.send_request_headers.complete",
        "http11.send_request_body.started",
        "http11.send_request_body.complete",
        "http11.receive_response_headers.started",
        "http11.receive_response_headers.complete",
        "http11.receive_response_body.started",
        "http11.receive_response_body.complete",
        "http11.response_closed.started",
        "http11.response_closed.complete",
    ]
    assert names == ["connection.connect_tcp.started", "connection.connect_tcp.complete"] + (
        exchange * 2
    )
    assert events[0][1] == ["host", "local_address", "port", "socket_options", "timeout"]
    assert events[1][1] == ["return_value"]


@pytest.mark.anyio
async def test_sync_trace_callback_is_rejected(server: typing.Any) -> None:
    def trace(name: str, info: dict[str, typing.Any]) -> None:
        pass

    async with rapidhttp.AsyncHTTPTransport() as transport:
        with pytest.raises(TypeError, match="you must use an async function"):
            await get(transport, server.url, trace=trace)
        assert engine_of(transport).pool.total == 0


@pytest.mark.anyio
async def test_unsupported_protocol() -> None:
    async with rapidhttp.AsyncHTTPTransport() as transport:
        with pytest.raises(rapidhttp.UnsupportedProtocol, match="unsupported protocol 'ftp://'"):
            await get(transport, "ftp://example.org/")


def test_runs_on_uvloop(server: typing.Any) -> None:
    uvloop = pytest.importorskip("uvloop")

    async def main() -> list[bytes]:
        async with rapidhttp.AsyncHTTPTransport() as transport:
            bodies = [(await get(transport, server.url))[1] for _ in range(3)]
            assert engine_of(transport).pool.total == 1
            return bodies

    assert uvloop.run(main()) == [b"Hello, world!"] * 3


def test_needs_a_running_loop() -> None:
    import asyncio

    transport = rapidhttp.AsyncHTTPTransport()
    coroutine = transport.handle_async_request(rapidhttp.Request("GET", "http://127.0.0.1:1/"))
    with pytest.raises(RuntimeError, match="running asyncio or trio event loop"):
        coroutine.send(None)
    coroutine.close()
    asyncio.run(transport.aclose())


@pytest.mark.anyio
async def test_trace_events_when_the_response_arrives_whole(
    raw_server: typing.Any, srv: typing.Any
) -> None:
    server = raw_server(srv.keep_alive_handler())
    names: list[str] = []

    async def trace(name: str, info: dict[str, typing.Any]) -> None:
        names.append(name)

    async with rapidhttp.AsyncHTTPTransport() as transport:
        for _ in range(2):
            assert (await get(transport, server.url, trace=trace))[1] == b"hello"
    assert names[-4:] == [
        "http11.receive_response_body.started",
        "http11.receive_response_body.complete",
        "http11.response_closed.started",
        "http11.response_closed.complete",
    ]
    assert server.connections == 1


# --------------------------------------------------------------------------- proxies


@pytest.mark.anyio
async def test_http_proxy_forwards_plain_http(
    http_proxy: typing.Any, raw_server: typing.Any, srv: typing.Any
) -> None:
    origin = raw_server(respond_with(srv, srv.OK_RESPONSE))  # the proxy reads until EOF
    async with rapidhttp.AsyncHTTPTransport(proxy=http_proxy.url) as transport:
        response, body = await get(transport, origin.url + "path?q=1")
        assert body == b"hello"
    assert http_proxy.log[0].startswith(b"GET " + origin.url.encode() + b"path?q=1 HTTP/1.1")


@pytest.mark.anyio
async def test_http_proxy_tunnels_https(
    http_proxy: typing.Any, tls_server: typing.Any, client_ssl_context: typing.Any
) -> None:
    async with rapidhttp.AsyncHTTPTransport(
        proxy=http_proxy.url, verify=client_ssl_context
    ) as transport:
        for _ in range(2):
            response, body = await get(transport, tls_server.url)
            assert body == b"Hello, world!"
        assert engine_of(transport).pool.total == 1
    assert http_proxy.log == [
        b"CONNECT 127.0.0.1:%d HTTP/1.1" % tls_server.port
        + b"\r\n"
        + b"Host: 127.0.0.1:%d\r\nAccept: */*" % tls_server.port
    ]


@pytest.mark.anyio
async def test_https_proxy_tls_in_tls(
    https_proxy: typing.Any, tls_server: typing.Any, client_ssl_context: typing.Any
) -> None:
    proxy = rapidhttp.Proxy(https_proxy.url, ssl_context=client_ssl_context)
    async with rapidhttp.AsyncHTTPTransport(proxy=proxy, verify=client_ssl_context) as transport:
        response, body = await get(transport, tls_server.url)
        assert body == b"Hello, world!"
    assert https_proxy.log[0].startswith(b"CONNECT 127.0.0.1:%d " % tls_server.port)


@pytest.mark.anyio
async def test_proxy_refusal_is_a_proxy_error(
    auth_proxy: typing.Any, tls_server: typing.Any, client_ssl_context: typing.Any
) -> None:
    async with rapidhttp.AsyncHTTPTransport(
        proxy=auth_proxy.url, verify=client_ssl_context
    ) as transport:
        with pytest.raises(rapidhttp.ProxyError, match="407 Proxy Authentication Required"):
            await get(transport, tls_server.url)
        assert engine_of(transport).pool.total == 0


@pytest.mark.anyio
async def test_socks5_proxy(
    socks5_proxy: typing.Any, raw_server: typing.Any, srv: typing.Any
) -> None:
    origin = raw_server(srv.keep_alive_handler())
    async with rapidhttp.AsyncHTTPTransport(proxy=socks5_proxy.url) as transport:
        for _ in range(2):
            response, body = await get(transport, origin.url)
            assert body == b"hello"
    assert socks5_proxy.log == [b"127.0.0.1:%d" % origin.port]


@pytest.mark.anyio
async def test_cancelled_while_connecting(raw_server: typing.Any, srv: typing.Any) -> None:
    import anyio

    listener = socket.socket()  # full accept queue: the connection attempt hangs
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        server = raw_server(srv.keep_alive_handler())
        limits = rapidhttp.Limits(max_connections=1)
        async with rapidhttp.AsyncHTTPTransport(limits=limits) as transport:
            with anyio.move_on_after(0.1) as scope:
                await get(transport, f"http://127.0.0.1:{port}/")
            assert scope.cancelled_caught
            assert engine_of(transport).pool.total == 0  # the only slot is free again
            assert (await get(transport, server.url))[1] == b"hello"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@pytest.mark.anyio
async def test_cancelled_during_tls_handshake(
    raw_server: typing.Any, srv: typing.Any, client_ssl_context: typing.Any
) -> None:
    import anyio

    silent = raw_server(stalling())  # accepts, never answers the ClientHello
    limits = rapidhttp.Limits(max_connections=1)
    async with rapidhttp.AsyncHTTPTransport(limits=limits, verify=client_ssl_context) as transport:
        with anyio.move_on_after(0.1) as scope:
            await get(transport, f"https://127.0.0.1:{silent.port}/")
        assert scope.cancelled_caught
        assert engine_of(transport).pool.total == 0
        server = raw_server(srv.keep_alive_handler())
        assert (await get(transport, server.url))[1] == b"hello"


@pytest.mark.anyio
async def test_cancelled_while_waiting_for_the_pool(
    raw_server: typing.Any, srv: typing.Any
) -> None:
    import anyio

    server = raw_server(srv.keep_alive_handler())
    limits = rapidhttp.Limits(max_connections=1)
    async with rapidhttp.AsyncHTTPTransport(limits=limits) as transport:
        held = await transport.handle_async_request(rapidhttp.Request("GET", server.url))
        with anyio.move_on_after(0.05) as scope:
            await get(transport, server.url)
        assert scope.cancelled_caught
        assert engine_of(transport).pool.waiting == 0
        await held.aclose()
        assert (await get(transport, server.url))[1] == b"hello"
        assert server.connections == 1


@pytest.mark.anyio
async def test_large_body_with_a_slow_consumer(server: typing.Any) -> None:
    import anyio

    size = 8_000_000
    async with rapidhttp.AsyncHTTPTransport() as transport:
        request = rapidhttp.Request("GET", server.url + f"bytes/{size}")
        response = await transport.handle_async_request(request)
        await anyio.sleep(0.2)  # the body piles up: reading pauses at the high-water mark
        conn = response.extensions["network_stream"]
        if hasattr(conn, "_reading_paused"):  # asyncio: flow control engaged
            assert conn._reading_paused
        received = bytearray()
        async for chunk in response.aiter_raw():
            received += chunk
        await response.aclose()
    expected = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    assert received == expected


@pytest.mark.anyio
async def test_101_hands_the_connection_over(raw_server: typing.Any, srv: typing.Any) -> None:
    def upgrade(sock: socket.socket) -> None:
        if srv.read_request(sock) is None:
            return
        sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"
            b"welcome"
        )
        while data := sock.recv(65536):
            sock.sendall(data.upper())

    server = raw_server(upgrade)
    async with rapidhttp.AsyncHTTPTransport() as transport:
        headers = {"Upgrade": "echo", "Connection": "Upgrade"}
        request = rapidhttp.Request("GET", server.url, headers=headers)
        response = await transport.handle_async_request(request)
        assert response.status_code == 101
        assert await response.aread() == b""
        stream = response.extensions["network_stream"]
        assert engine_of(transport).pool.total == 0  # no longer the pool's
        assert await stream.read(4) == b"welc"
        assert await stream.read(100) == b"ome"
        await stream.write(b"ping")
        assert await stream.read(2, timeout=5.0) == b"PI"  # never more than asked
        assert await stream.read(100, timeout=5.0) == b"NG"
        await stream.aclose()
        await response.aclose()


def test_asyncio_task_cancel_and_wait_for(raw_server: typing.Any, srv: typing.Any) -> None:
    import asyncio
    import random

    server = raw_server(jittery_handler(srv))
    rnd = random.Random(99)

    async def main() -> None:
        limits = rapidhttp.Limits(max_connections=4)
        async with rapidhttp.AsyncHTTPTransport(limits=limits) as transport:
            loop = asyncio.get_running_loop()
            tasks = [asyncio.create_task(get(transport, server.url)) for _ in range(60)]
            for task in tasks:
                loop.call_later(rnd.random() * 0.05, task.cancel)
            timed = [
                asyncio.wait_for(get(transport, server.url), rnd.random() * 0.02)
                for _ in range(30)
            ]
            results = await asyncio.gather(*tasks, *timed, return_exceptions=True)
            assert all(
                isinstance(result, (asyncio.CancelledError, asyncio.TimeoutError))
                or (isinstance(result, tuple) and result[1] == b"helloworld")
                for result in results
            )
            assert any(isinstance(result, asyncio.CancelledError) for result in results)
            assert_pool_quiet(transport)
            assert (await get(transport, server.url))[1] == b"helloworld"

    asyncio.run(asyncio.wait_for(main(), 30))


@pytest.mark.anyio
async def test_keepalive_expiry(raw_server: typing.Any, srv: typing.Any) -> None:
    import anyio

    server = raw_server(srv.keep_alive_handler())
    limits = rapidhttp.Limits(keepalive_expiry=0.05)
    async with rapidhttp.AsyncHTTPTransport(limits=limits) as transport:
        await get(transport, server.url)
        await get(transport, server.url)
        assert server.connections == 1
        await anyio.sleep(0.1)
        await get(transport, server.url)
        assert server.connections == 2  # the expired connection was closed, not reused
        assert engine_of(transport).pool.total == 1
