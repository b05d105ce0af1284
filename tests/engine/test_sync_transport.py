"""
HTTPTransport (blocking driver) end to end against real loopback servers: the uvicorn `server`
fixture, and raw-socket servers that misbehave on purpose (tests/engine/conftest.py).
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
import typing

import pytest

import rapidhttp
from rapidhttp._transports.default import HTTPTransport

RawServer = typing.Any
RawServerFactory = typing.Callable[..., typing.Any]
OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"


def send(
    transport: HTTPTransport,
    method: str,
    url: str,
    *,
    timeout: float | None = 5.0,
    **kwargs: typing.Any,
) -> rapidhttp.Response:
    """One request through the transport, body read and response closed (like Client.send)."""
    extensions = kwargs.pop("extensions", {})
    extensions.setdefault(
        "timeout", {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    )
    request = rapidhttp.Request(method, url, extensions=extensions, **kwargs)
    response = transport.handle_request(request)
    try:
        response.read()
    finally:
        response.close()
    return response


# --------------------------------------------------------------------------- basics


def test_get(server: typing.Any) -> None:
    with HTTPTransport() as transport:
        response = send(transport, "GET", server.url)
    assert response.status_code == 200
    assert response.content == b"Hello, world!"
    assert response.headers["content-type"] == "text/plain"
    assert response.extensions["http_version"] == b"HTTP/1.1"
    assert response.extensions["reason_phrase"] == b"OK"


def test_post_bodies(server: typing.Any) -> None:
    big = os.urandom(300_000)

    def chunks() -> typing.Iterator[bytes]:
        yield b"streamed "
        yield b"body"

    with HTTPTransport() as transport:
        assert send(transport, "POST", server.url + "echo_body", content=b"small").content == (
            b"small"
        )
        assert send(transport, "POST", server.url + "echo_body", content=big).content == big
        assert send(transport, "POST", server.url + "echo_body", content=chunks()).content == (
            b"streamed body"
        )
        echoed = send(transport, "PUT", server.url + "echo_method")
        assert echoed.content == b"PUT"


def test_streamed_response_and_head(server: typing.Any) -> None:
    with HTTPTransport() as transport:
        request = rapidhttp.Request("GET", server.url + "stream/20")
        response = transport.handle_request(request)
        body = b"".join(response.stream)  # type: ignore[arg-type]
        response.close()
        assert body == b"".join(b"chunk %d\n" % i for i in range(20))
        big = send(transport, "GET", server.url + "bytes/1000000")
        assert big.content == bytes(range(256)) * (1000000 // 256) + bytes(range(1000000 % 256))
        head = send(transport, "HEAD", server.url)
        assert head.content == b""
        assert send(transport, "GET", server.url + "status/204").status_code == 204
        # Everything above went over one connection.
        assert transport._engine.pool.total == 1


def test_network_stream_extension(server: typing.Any) -> None:
    with HTTPTransport() as transport:
        response = send(transport, "GET", server.url)
        stream = response.extensions["network_stream"]
        assert stream.get_extra_info("server_addr")[1] == server.port
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
        assert isinstance(stream.get_extra_info("socket"), socket.socket)
        assert stream.get_extra_info("ssl_object") is None
        assert stream.get_extra_info("is_readable") is False


def test_keep_alive_reuse(fast_server: RawServer) -> None:
    with HTTPTransport() as transport:
        for _ in range(50):
            assert send(transport, "GET", fast_server.url).content == b"hello"
    assert fast_server.connections == 1


def test_connection_reused_at_once_is_not_polled(
    fast_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection handed out again within POLL_AFTER_IDLE of its last response is not
    polled (a syscall); one that idled longer is."""
    from rapidhttp._engine import sync

    with HTTPTransport() as transport:
        monkeypatch.setattr(sync, "POLL_AFTER_IDLE", 60.0)  # "at once", however slow the machine
        for _ in range(3):
            assert send(transport, "GET", fast_server.url).content == b"hello"
        conn = next(iter(transport._engine.pool._idle)).conn
        assert conn._probe is None  # never polled
        monkeypatch.setattr(sync, "POLL_AFTER_IDLE", 0.0)
        assert send(transport, "GET", fast_server.url).content == b"hello"
        assert conn._probe is not None
    assert fast_server.connections == 1


def test_unread_response_closes_the_connection(
    srv: typing.Any, raw_server: RawServerFactory
) -> None:
    body = b"x" * 200_000
    response_bytes = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)
    server = raw_server(srv.keep_alive_handler(response_bytes))
    with HTTPTransport() as transport:
        response = transport.handle_request(rapidhttp.Request("GET", server.url))
        next(iter(typing.cast(typing.Iterable[bytes], response.stream)))
        response.close()  # the rest of the body is still on the wire
        assert transport._engine.pool.total == 0
        assert send(transport, "GET", server.url).content == body
    assert server.connections == 2


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_large_body_then_small_on_the_same_connection(
    srv: typing.Any, raw_server: RawServerFactory, chunked: bool
) -> None:
    """A body far larger than the read buffer (which grows while it streams in, then shrinks
    back) arrives byte for byte, and the connection then carries a small exchange."""
    big = os.urandom(3_000_000)
    if chunked:
        framed = b"".join(
            b"%x\r\n%b\r\n" % (len(p), p) for p in (big[:1_000_000], big[1_000_000:])
        )
        big_response = (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + framed + b"0\r\n\r\n"
        )
    else:
        big_response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(big), big)
    answers = iter([big_response, OK_RESPONSE])

    def handler(sock: socket.socket) -> None:
        pending = b""
        while (request := srv.read_request(sock, pending)) is not None:
            pending = request[2]
            sock.sendall(next(answers))

    server = raw_server(handler)
    with HTTPTransport() as transport:
        request = rapidhttp.Request("GET", server.url)
        response = transport.handle_request(request)
        try:
            pieces = list(typing.cast(typing.Iterable[bytes], response.stream))
        finally:
            response.close()
        assert b"".join(pieces) == big
        assert max(map(len, pieces)) > 65536  # the buffer grew past its initial size
        assert send(transport, "GET", server.url).content == b"hello"
        idle = next(iter(transport._engine.pool._idle)).conn
        assert len(idle._view) == 65536  # and shrank back once the body was done
    assert server.connections == 1


def test_connection_close_is_not_reused(srv: typing.Any, raw_server: RawServerFactory) -> None:
    server = raw_server(
        srv.keep_alive_handler(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
        )
    )
    with HTTPTransport() as transport:
        for _ in range(3):
            assert send(transport, "GET", server.url).content == b"ok"
        assert transport._engine.pool.idle_count == 0
    assert server.connections == 3


def test_close_delimited_body(srv: typing.Any, raw_server: RawServerFactory) -> None:
    def handler(sock: socket.socket) -> None:
        srv.read_request(sock)
        sock.sendall(b"HTTP/1.0 200 OK\r\n\r\nuntil ")
        time.sleep(0.05)
        sock.sendall(b"close")

    server = raw_server(handler)
    with HTTPTransport() as transport:
        response = send(transport, "GET", server.url)
    assert response.content == b"until close"
    assert response.extensions["http_version"] == b"HTTP/1.0"


# --------------------------------------------------------------------------- idle connections


def test_idle_connection_closed_by_server_is_detected(
    srv: typing.Any, raw_server: RawServerFactory
) -> None:
    def handler(sock: socket.socket) -> None:
        srv.read_request(sock)
        sock.sendall(OK_RESPONSE)
        # ...and then the server drops the idle connection.

    server = raw_server(handler)
    with HTTPTransport() as transport:
        assert send(transport, "GET", server.url).content == b"hello"
        time.sleep(0.1)  # the FIN arrives while the connection is idle
        assert send(transport, "GET", server.url).content == b"hello"
    assert server.connections == 2


def test_idle_race_is_retried_once_when_safe(
    srv: typing.Any, raw_server: RawServerFactory
) -> None:
    server = raw_server(srv.close_on_second_request)
    with HTTPTransport() as transport:
        assert send(transport, "GET", server.url).content == b"hello"
        assert send(transport, "GET", server.url).content == b"hello"
        assert send(transport, "PUT", server.url, content=b"idempotent").content == b"hello"
    assert server.connections == 3


def test_idle_race_is_not_retried_for_post(srv: typing.Any, raw_server: RawServerFactory) -> None:
    server = raw_server(srv.close_on_second_request)
    with HTTPTransport() as transport:
        send(transport, "POST", server.url, content=b"once")
        with pytest.raises(rapidhttp.RemoteProtocolError) as info:
            send(transport, "POST", server.url, content=b"once")
    assert str(info.value) == "Server disconnected without sending a response."
    assert info.value.request.method == "POST"
    assert server.connections == 1


def test_idle_race_is_not_retried_for_a_streamed_body(
    srv: typing.Any, raw_server: RawServerFactory
) -> None:
    server = raw_server(srv.close_on_second_request)
    with HTTPTransport() as transport:
        send(transport, "GET", server.url)
        with pytest.raises(rapidhttp.RemoteProtocolError):
            send(transport, "PUT", server.url, content=iter([b"not ", b"replayable"]))
    assert server.connections == 1


def test_a_fresh_connection_is_not_retried(srv: typing.Any, raw_server: RawServerFactory) -> None:
    server = raw_server(lambda sock: srv.read_request(sock) and None)
    with HTTPTransport() as transport:
        with pytest.raises(rapidhttp.RemoteProtocolError):
            send(transport, "GET", server.url)
        assert transport._engine.pool.total == 0
    assert server.connections == 1


def test_keepalive_expiry(fast_server: RawServer) -> None:
    limits = rapidhttp.Limits(keepalive_expiry=0.05)
    with HTTPTransport(limits=limits) as transport:
        send(transport, "GET", fast_server.url)
        time.sleep(0.1)
        send(transport, "GET", fast_server.url)
        assert transport._engine.pool.total == 1
    assert fast_server.connections == 2


# --------------------------------------------------------------------------- faults


def test_garbage_response(srv: typing.Any, raw_server: RawServerFactory) -> None:
    def handler(sock: socket.socket) -> None:
        srv.read_request(sock)
        sock.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    server = raw_server(handler)
    with HTTPTransport() as transport:
        with pytest.raises(rapidhttp.RemoteProtocolError) as info:
            send(transport, "GET", server.url)
        assert info.value.request.url == server.url
        assert transport._engine.pool.total == 0


def test_truncated_body(srv: typing.Any, raw_server: RawServerFactory) -> None:
    def handler(sock: socket.socket) -> None:
        srv.read_request(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")

    server = raw_server(handler)
    with HTTPTransport() as transport:
        with pytest.raises(rapidhttp.RemoteProtocolError) as info:
            send(transport, "GET", server.url)
        assert "incomplete" in str(info.value) or "closed" in str(info.value)
        assert info.value.request.method == "GET"
        assert transport._engine.pool.total == 0


def test_huge_head(srv: typing.Any, raw_server: RawServerFactory) -> None:
    def handler(sock: socket.socket) -> None:
        srv.read_request(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\n" + b"X-Filler: " + b"a" * 100_000 + b"\r\n\r\n")

    server = raw_server(handler)
    with HTTPTransport() as transport:
        with pytest.raises(rapidhttp.RemoteProtocolError, match="exceeds the limit"):
            send(transport, "GET", server.url)


def test_stalled_response_read_timeout(srv: typing.Any, raw_server: RawServerFactory) -> None:
    stop = threading.Event()

    def handler(sock: socket.socket) -> None:
        srv.read_request(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
        stop.wait(5)

    server = raw_server(handler)
    with HTTPTransport() as transport:
        started = time.monotonic()
        with pytest.raises(rapidhttp.ReadTimeout) as info:
            send(transport, "GET", server.url, timeout=0.2)
        assert time.monotonic() - started < 2
        stop.set()
    assert str(info.value) == (
        f"Timed out after 0.2 s waiting for the response from 127.0.0.1:{server.port}"
    )


def test_server_that_never_answers(raw_server: RawServerFactory) -> None:
    stop = threading.Event()
    server = raw_server(lambda sock: stop.wait(5) and None)
    with HTTPTransport() as transport:
        with pytest.raises(rapidhttp.ReadTimeout):
            send(transport, "GET", server.url, timeout=0.1)
        stop.set()
        assert transport._engine.pool.total == 0


def test_write_timeout(raw_server: RawServerFactory) -> None:
    stop = threading.Event()
    server = raw_server(lambda sock: stop.wait(5) and None)  # never reads
    with HTTPTransport() as transport:
        with pytest.raises(rapidhttp.WriteTimeout, match="sending the request"):
            send(transport, "POST", server.url, content=b"x" * 50_000_000, timeout=0.2)
        stop.set()


def test_connect_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with HTTPTransport() as transport:
        with pytest.raises(rapidhttp.ConnectError) as info:
            send(transport, "GET", f"http://127.0.0.1:{port}/")
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "refused" in str(info.value).lower()
    assert info.value.request.url.port == port


def test_connect_timeout() -> None:
    # A listener whose accept queue is full drops further SYNs: connect() hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(listener.getsockname())
            fillers.append(filler)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        with HTTPTransport() as transport:
            with pytest.raises(rapidhttp.ConnectTimeout, match="Timed out after 0.2 s"):
                send(transport, "GET", url, timeout=0.2)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_connect_retries_with_backoff() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    events: list[str] = []

    def trace(name: str, info: dict[str, typing.Any]) -> None:
        events.append(name)

    with HTTPTransport(retries=2) as transport:
        started = time.monotonic()
        with pytest.raises(rapidhttp.ConnectError):
            send(transport, "GET", f"http://127.0.0.1:{port}/", extensions={"trace": trace})
        elapsed = time.monotonic() - started
    assert events.count("connection.connect_tcp.started") == 3
    assert events.count("connection.retry.started") == 2
    assert 0.4 < elapsed < 3  # delays 0 s then 0.5 s


def test_unsupported_protocol() -> None:
    with HTTPTransport() as transport:
        with pytest.raises(rapidhttp.UnsupportedProtocol) as info:
            send(transport, "GET", "ftp://example.org/")
        assert str(info.value) == "Request URL has an unsupported protocol 'ftp://'."
        assert info.value.request.url.scheme == "ftp"
        with pytest.raises(rapidhttp.UnsupportedProtocol) as info:
            send(transport, "GET", "/just/a/path")
        assert str(info.value) == "Request URL is missing an 'http://' or 'https://' protocol."


# --------------------------------------------------------------------------- pool


def test_pool_timeout_while_a_response_streams(
    srv: typing.Any, raw_server: RawServerFactory
) -> None:
    body = b"y" * 500_000
    server = raw_server(
        srv.keep_alive_handler(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)
        )
    )
    limits = rapidhttp.Limits(max_connections=1)
    with HTTPTransport(limits=limits) as transport:
        streaming = transport.handle_request(rapidhttp.Request("GET", server.url))
        started = time.monotonic()
        with pytest.raises(rapidhttp.PoolTimeout) as info:
            send(transport, "GET", server.url, timeout=0.1)
        assert 0.05 < time.monotonic() - started < 2
        assert str(info.value) == (
            f"Timed out after 0.1 s waiting for a connection to 127.0.0.1:{server.port} "
            "from the pool"
        )
        assert info.value.request.url == server.url
        assert transport._engine.pool.waiting == 0
        assert b"".join(streaming.stream) == body  # type: ignore[arg-type]
        streaming.close()
        # The waiter left cleanly: the connection is reusable at once.
        assert send(transport, "GET", server.url).content == body
    assert server.connections == 1


def test_waiting_request_gets_the_connection(
    srv: typing.Any, raw_server: RawServerFactory
) -> None:
    body = b"z" * 300_000
    server = raw_server(
        srv.keep_alive_handler(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)
        )
    )
    limits = rapidhttp.Limits(max_connections=1)
    with HTTPTransport(limits=limits) as transport:
        streaming = transport.handle_request(rapidhttp.Request("GET", server.url))
        result: list[bytes] = []
        thread = threading.Thread(
            target=lambda: result.append(send(transport, "GET", server.url).content)
        )
        thread.start()
        time.sleep(0.1)
        assert transport._engine.pool.waiting == 1
        assert b"".join(streaming.stream) == body  # type: ignore[arg-type]
        streaming.close()
        thread.join(5)
        assert result == [body]
    assert server.connections == 1


def test_close_while_a_request_waits_for_the_pool(
    srv: typing.Any, raw_server: RawServerFactory
) -> None:
    body = b"w" * 300_000
    server = raw_server(
        srv.keep_alive_handler(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)
        )
    )
    limits = rapidhttp.Limits(max_connections=1)
    transport = HTTPTransport(limits=limits)
    streaming = transport.handle_request(rapidhttp.Request("GET", server.url))
    result: list[bytes] = []
    thread = threading.Thread(
        target=lambda: result.append(send(transport, "GET", server.url).content)
    )
    thread.start()
    time.sleep(0.1)
    transport.close()  # the waiter moves on to the transport's fresh pool
    thread.join(5)
    assert result == [body]
    streaming.close()  # released into the closed pool: the connection is closed
    transport.close()


def test_threads_share_one_transport(server: typing.Any) -> None:
    errors: list[BaseException] = []
    limits = rapidhttp.Limits(max_connections=4)

    def worker(n: int) -> None:
        try:
            for i in range(25):
                payload = f"thread {n} request {i}".encode() * (i + 1)
                response = send(transport, "POST", server.url + "echo_body", content=payload)
                assert response.content == payload
        except BaseException as exc:  # reported below
            errors.append(exc)

    with HTTPTransport(limits=limits) as transport:
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        pool = transport._engine.pool
        assert pool.total <= 4 and pool.waiting == 0 and pool.total == pool.idle_count


def test_transport_reusable_after_close(fast_server: RawServer) -> None:
    transport = HTTPTransport()
    send(transport, "GET", fast_server.url)
    transport.close()
    assert send(transport, "GET", fast_server.url).content == b"hello"
    transport.close()


# --------------------------------------------------------------------------- options


def test_uds(srv: typing.Any, tmp_path: typing.Any) -> None:
    path = os.path.join(tempfile.mkdtemp(dir="/tmp"), "s.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            srv.keep_alive_handler()(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with HTTPTransport(uds=path) as transport:
            assert send(transport, "GET", "http://any.host/").content == b"hello"
            assert send(transport, "GET", "http://any.host/").content == b"hello"
    finally:
        thread.join(5)
        listener.close()
        os.unlink(path)


def test_local_address_and_socket_options(fast_server: RawServer) -> None:
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    with HTTPTransport(local_address="127.0.0.1", socket_options=options) as transport:
        response = send(transport, "GET", fast_server.url)
        sock = response.extensions["network_stream"].get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockname()[0] == "127.0.0.1"


def test_upgrade(srv: typing.Any, raw_server: RawServerFactory) -> None:
    def handler(sock: socket.socket) -> None:
        srv.read_request(sock)
        sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\n"
            b"early"
        )
        while data := sock.recv(100):
            sock.sendall(data.upper())

    server = raw_server(handler)
    with HTTPTransport() as transport:
        request = rapidhttp.Request(
            "GET", server.url, headers={"Upgrade": "echo", "Connection": "upgrade"}
        )
        response = transport.handle_request(request)
        assert response.status_code == 101
        stream = response.extensions["network_stream"]
        assert stream.read(100) == b"early"
        stream.write(b"ping")
        assert stream.read(100, timeout=5) == b"PING"
        response.close()
        assert transport._engine.pool.total == 0


def test_trace_events(server: typing.Any) -> None:
    events: list[tuple[str, dict[str, typing.Any]]] = []
    with HTTPTransport() as transport:
        for _ in range(2):
            send(
                transport,
                "GET",
                server.url + "json",
                extensions={"trace": lambda name, info: events.append((name, info))},
            )
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
    assert names == [
        "connection.connect_tcp.started",
        "connection.connect_tcp.complete",
        *exchange,
        *exchange,
    ]
    connect_info = events[0][1]
    assert connect_info["host"] == "127.0.0.1" and connect_info["port"] == server.port
    http_version, status, reason, headers = events[7][1]["return_value"]
    assert (http_version, status, reason) == (b"HTTP/1.1", 200, b"OK")


def test_impossible_port_is_a_connect_error() -> None:
    # httpx lets URL.copy_with(port=123456) through to the network layer, which must answer
    # ConnectError (the socket module raises OverflowError).
    from rapidhttp._engine.exchange import Route

    with HTTPTransport() as transport:
        engine = transport._engine
        route = Route(engine.config, "http", "127.0.0.1", 123456)
        with pytest.raises(rapidhttp.ConnectError, match="127.0.0.1:123456"):
            engine._connect_socket(route, 1.0)


def test_threads_share_one_client(server: typing.Any, fast_server: RawServer) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(20):
                payload = f"client thread {n}, request {i}".encode()
                response = client.post(server.url + "echo_body", content=payload)
                assert response.content == payload
                assert client.get(fast_server.url).text == "hello"
        except BaseException as exc:  # reported below
            errors.append(exc)

    with rapidhttp.Client() as client:
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert not errors, errors
    assert fast_server.connections <= 8


def test_unsolicited_bytes_on_an_idle_connection(
    srv: typing.Any, raw_server: RawServerFactory
) -> None:
    stop = threading.Event()

    def handler(sock: socket.socket) -> None:
        srv.read_request(sock)
        sock.sendall(OK_RESPONSE + b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")
        stop.wait(5)  # keeps the connection open: only the stray bytes betray it

    server = raw_server(handler)
    with HTTPTransport() as transport:
        assert send(transport, "GET", server.url).content == b"hello"
        # Extra bytes after a response already make the connection unusable.
        assert transport._engine.pool.idle_count == 0
        assert send(transport, "GET", server.url).content == b"hello"
        stop.set()
    assert server.connections == 2


def test_interim_responses_and_trailers(srv: typing.Any, raw_server: RawServerFactory) -> None:
    def handler(sock: socket.socket) -> None:
        while srv.read_request(sock) is not None:
            sock.sendall(
                b"HTTP/1.1 100 Continue\r\n\r\n"
                b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n"
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 42\r\n\r\n"
            )

    server = raw_server(handler)
    with HTTPTransport() as transport:
        for _ in range(2):
            response = send(transport, "GET", server.url)
            assert response.status_code == 200
            assert response.content == b"hello world"
    assert server.connections == 1


def test_failure_inside_a_request_releases_the_connection(fast_server: RawServer) -> None:
    def trace(name: str, info: dict[str, typing.Any]) -> None:
        if name == "http11.receive_response_headers.started":
            raise KeyboardInterrupt  # anything, anywhere: the slot must come back

    with HTTPTransport(limits=rapidhttp.Limits(max_connections=1)) as transport:
        send(transport, "GET", fast_server.url)
        with pytest.raises(KeyboardInterrupt):
            send(transport, "GET", fast_server.url, extensions={"trace": trace})
        pool = transport._engine.pool
        assert pool.total == 0 and pool.idle_count == 0
        assert send(transport, "GET", fast_server.url, timeout=1.0).content == b"hello"
