"""
The asyncio driver's own TLS layer (`rapidhttp._engine.aio_tls`), on its own against TLS servers
on loopback: handshake, data both ways, session resumption, certificate errors, a stalled
handshake, TLS in TLS, and the ways a TLS stream can end.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import typing

import pytest

from rapidhttp._engine.aio_tls import TLSTransport, start_tls

RawServer = typing.Any
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the layer under test is asyncio's (trio has its own SSLStream)


class Recorder(asyncio.BufferedProtocol):
    """A protocol that keeps what it receives and wakes a waiter on every event."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.eof = False
        self.lost: list[Exception | None] = []
        self._buffer = memoryview(bytearray(1024))  # small: decryption must loop over it
        self._changed = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        pass

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data += self._buffer[:nbytes]
        self._changed.set()

    def eof_received(self) -> bool:
        self.eof = True
        self._changed.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)
        self._changed.set()

    async def wait_for(self, condition: typing.Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while not condition():
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), max(deadline - loop.time(), 0))


async def connect(port: int) -> tuple[asyncio.Transport, Recorder]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(Recorder, "127.0.0.1", port)
    return transport, protocol


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
    transport, app = await connect(server.port)
    tls = await start_tls(transport, app, context, "localhost", None, 5)
    try:
        assert tls.get_extra_info("ssl_object").selected_alpn_protocol() == "http/1.1"
        assert tls.get_extra_info("socket") is transport.get_extra_info("socket")
        payload = bytes(range(256)) * 40  # 10 KiB: several reads into the 1 KiB buffer
        tls.write(payload)
        await app.wait_for(lambda: len(app.data) >= len(payload) + 5)
        assert bytes(app.data) == b"echo:" + payload
    finally:
        tls.abort()
    await app.wait_for(lambda: bool(app.lost))


async def test_session_resumption(
    raw_server: typing.Any,
    srv: typing.Any,
    tls_server_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
) -> None:
    server = raw_server(srv.echo_handler, tls=tls_server_context)
    sessions: list[ssl.SSLSession | None] = []
    for _ in range(2):
        transport, app = await connect(server.port)
        session = sessions[-1] if sessions else None
        tls = await start_tls(transport, app, client_ssl_context, "localhost", session, 5)
        tls.write(b"x")
        await app.wait_for(lambda: bool(app.data))  # noqa: B023  (TLS 1.3 tickets are in by now)
        sessions.append(tls.ssl_object.session)
        reused = tls.ssl_object.session_reused
        tls.abort()
    assert reused  # the second connection resumed the first one's session
    assert server.connections == 2


async def test_untrusted_certificate(
    raw_server: typing.Any, srv: typing.Any, tls_server_context: ssl.SSLContext
) -> None:
    server = raw_server(srv.echo_handler, tls=tls_server_context)
    transport, app = await connect(server.port)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            await start_tls(transport, app, ssl.create_default_context(), "localhost", None, 5)
    finally:
        transport.abort()


async def test_handshake_timeout(
    raw_server: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    def silent(sock: socket.socket) -> None:
        sock.recv(65536)  # the ClientHello, never answered
        sock.recv(65536)

    server = raw_server(silent)
    transport, app = await connect(server.port)
    try:
        with pytest.raises(TimeoutError):
            await start_tls(transport, app, client_ssl_context, "localhost", None, 0.2)
    finally:
        transport.abort()


async def test_connection_closed_during_handshake(
    raw_server: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    def hang_up(sock: socket.socket) -> None:
        sock.recv(65536)

    server = raw_server(hang_up)
    transport, app = await connect(server.port)
    try:
        with pytest.raises((ssl.SSLError, OSError)):
            await start_tls(transport, app, client_ssl_context, "localhost", None, 5)
    finally:
        transport.abort()


async def test_close_notify_and_eof_end_the_stream(
    raw_server: typing.Any,
    srv: typing.Any,
    tls_server_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
) -> None:
    def say_and_close(sock: socket.socket) -> None:
        sock.recv(65536)
        sock.sendall(b"bye")
        typing.cast(ssl.SSLSocket, sock).unwrap()  # close_notify, then the TCP close

    server = raw_server(say_and_close, tls=tls_server_context)
    transport, app = await connect(server.port)
    tls = await start_tls(transport, app, client_ssl_context, "localhost", None, 5)
    tls.write(b"hello")
    await app.wait_for(lambda: bool(app.lost))
    assert bytes(app.data) == b"bye"
    assert app.eof


async def test_garbage_after_the_handshake_loses_the_connection(
    raw_server: typing.Any,
    srv: typing.Any,
    tls_server_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
) -> None:
    def garbage(sock: socket.socket) -> None:
        _, _, outgoing = srv.memory_tls_handshake(sock, tls_server_context)
        sock.sendall(outgoing.read() + b"\x17\x03\x03\x00\x05hello" * 10)  # not a record
        sock.recv(1)

    server = raw_server(garbage)
    transport, app = await connect(server.port)
    tls = await start_tls(transport, app, client_ssl_context, "localhost", None, 5)
    tls.write(b"hello")
    await app.wait_for(lambda: bool(app.lost))
    assert isinstance(app.lost[0], ssl.SSLError)
    assert not app.data
    assert tls.is_closing()
    tls.write(b"more")  # writing to a failed TLS stream is dropped, as after a transport's close


async def test_tls_in_tls(
    raw_server: typing.Any,
    srv: typing.Any,
    tls_server_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
) -> None:
    """TLS to an origin inside TLS to a proxy: the inner layer runs over the outer one."""

    server = raw_server(srv.tls_tunnel_handler(tls_server_context), tls=tls_server_context)
    transport, app = await connect(server.port)
    outer = await start_tls(transport, app, client_ssl_context, "localhost", None, 5)
    inner = await start_tls(
        typing.cast(asyncio.Transport, outer), app, client_ssl_context, "localhost", None, 5
    )
    assert isinstance(inner, TLSTransport)
    inner.write(b"ping")
    await app.wait_for(lambda: bool(app.data))
    assert bytes(app.data) == b"inner:ping"
    inner.abort()
    await app.wait_for(lambda: bool(app.lost))
