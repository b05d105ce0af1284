"""
The trio driver's own TLS layer (`rapidhttp._engine.trio_tls`), on its own against TLS servers on
loopback: handshake, data both ways, session resumption, certificate errors, the ways a TLS stream
ends, TLS in TLS, and a reader and a writer working at once.
"""

from __future__ import annotations

import socket
import ssl
import time
import typing

import pytest
import trio

from rapidhttp._engine.trio_tls import TLSStream

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "trio"  # the layer under test is trio's (asyncio has aio_tls)


async def open_tls(
    port: int, context: ssl.SSLContext, session: ssl.SSLSession | None = None
) -> TLSStream:
    tcp = await trio.open_tcp_stream("127.0.0.1", port)
    tls = TLSStream(tcp, context, "localhost", session)
    try:
        with trio.fail_after(5):
            await tls.do_handshake()
    except BaseException:
        await tcp.aclose()
        raise
    return tls


async def receive_exactly(stream: TLSStream, size: int) -> bytes:
    data = b""
    with trio.fail_after(5):
        while len(data) < size:
            chunk = await stream.receive_some(1000)
            assert chunk, "unexpected EOF"
            data += chunk
    return data


async def test_handshake_and_data_both_ways(
    raw_server: typing.Any,
    srv: typing.Any,
    tls_server_context: ssl.SSLContext,
    cert_authority: typing.Any,
) -> None:
    server = raw_server(srv.echo_handler, tls=tls_server_context)
    context = ssl.create_default_context()
    cert_authority.configure_trust(context)
    context.set_alpn_protocols(["http/1.1"])
    tls = await open_tls(server.port, context)
    try:
        assert tls.ssl_object.selected_alpn_protocol() == "http/1.1"
        payload = bytes(range(256)) * 40
        await tls.send_all(payload)
        assert await receive_exactly(tls, len(payload) + 5) == b"echo:" + payload
    finally:
        await tls.aclose()


async def test_session_resumption(
    raw_server: typing.Any,
    srv: typing.Any,
    tls_server_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
) -> None:
    server = raw_server(srv.echo_handler, tls=tls_server_context)
    first = await open_tls(server.port, client_ssl_context)
    await first.send_all(b"x")
    await receive_exactly(first, 6)  # TLS 1.3 tickets are in by now
    session = first.ssl_object.session
    await first.aclose()
    second = await open_tls(server.port, client_ssl_context, session)
    try:
        assert second.ssl_object.session_reused
    finally:
        await second.aclose()


async def test_untrusted_certificate(
    raw_server: typing.Any, srv: typing.Any, tls_server_context: ssl.SSLContext
) -> None:
    server = raw_server(srv.echo_handler, tls=tls_server_context)
    with pytest.raises(ssl.SSLCertVerificationError):
        await open_tls(server.port, ssl.create_default_context())


async def test_close_notify_then_eof(
    raw_server: typing.Any,
    srv: typing.Any,
    tls_server_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
) -> None:
    def say_and_close(sock: socket.socket) -> None:
        sock.recv(65536)
        sock.sendall(b"bye")
        typing.cast(ssl.SSLSocket, sock).unwrap()

    server = raw_server(say_and_close, tls=tls_server_context)
    tls = await open_tls(server.port, client_ssl_context)
    try:
        await tls.send_all(b"hello")
        assert await receive_exactly(tls, 3) == b"bye"
        with trio.fail_after(5):
            assert await tls.receive_some() == b""
    finally:
        await tls.aclose()


async def test_records_already_received_come_in_one_read(
    raw_server: typing.Any,
    srv: typing.Any,
    tls_server_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
) -> None:
    """Several TLS records (16 KiB each at most), then close_notify with the TCP connection
    left open: one read returns them all, and the next one the EOF without waiting."""
    body = bytes(range(256)) * 400  # 100 KiB: 7 records

    def burst(sock: socket.socket) -> None:
        # TLS in memory, so that close_notify goes out without waiting for the client's.
        tls, incoming, outgoing = srv.memory_tls_handshake(sock, tls_server_context)
        sock.sendall(outgoing.read())
        while True:  # the client's b"go"
            try:
                tls.read(65536)
                break
            except ssl.SSLWantReadError:
                incoming.write(sock.recv(65536))
        tls.write(body)
        try:
            tls.unwrap()
        except ssl.SSLWantReadError:
            pass  # close_notify sent; the client's is not awaited
        sock.sendall(outgoing.read())
        time.sleep(1)  # the TCP connection stays open meanwhile

    server = raw_server(burst)
    tls = await open_tls(server.port, client_ssl_context)
    try:
        await tls.send_all(b"go")
        with trio.fail_after(5):
            await trio.sleep(0.2)  # let the whole burst arrive
            data = await tls.receive_some(1 << 20)
            while len(data) < len(body):
                more = await tls.receive_some(1 << 20)
                assert more
                data += more
            assert data == body
            assert await tls.receive_some() == b""
    finally:
        await tls.aclose()


async def test_eof_during_the_handshake(
    raw_server: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    server = raw_server(lambda sock: sock.recv(65536))
    with pytest.raises(ssl.SSLError):
        await open_tls(server.port, client_ssl_context)


async def test_tls_in_tls(
    raw_server: typing.Any,
    srv: typing.Any,
    tls_server_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
) -> None:
    server = raw_server(srv.tls_tunnel_handler(tls_server_context), tls=tls_server_context)
    outer = await open_tls(server.port, client_ssl_context)
    inner = TLSStream(outer, client_ssl_context, "localhost")
    try:
        with trio.fail_after(5):
            await inner.do_handshake()
        await inner.send_all(b"ping")
        assert await receive_exactly(inner, 10) == b"inner:ping"
    finally:
        await inner.aclose()


async def test_a_reader_and_a_writer_at_once(
    raw_server: typing.Any,
    srv: typing.Any,
    tls_server_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
) -> None:
    """HTTP/2's pattern: one task keeps reading while others send."""
    server = raw_server(srv.echo_handler, tls=tls_server_context)
    tls = await open_tls(server.port, client_ssl_context)
    messages = [b"%03d" % i for i in range(100)]
    received = b""

    async def read_all() -> None:
        nonlocal received
        expected = sum(len(m) + 5 for m in messages)
        while len(received) < expected:
            chunk = await tls.receive_some()
            assert chunk
            received += chunk

    try:
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(read_all)
                for message in messages:
                    await tls.send_all(message)
                    await trio.sleep(0)
    finally:
        await tls.aclose()
    assert received.replace(b"echo:", b"") == b"".join(messages)
