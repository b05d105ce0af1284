"""
The trio driver: HTTP/1.1 connections on native trio sockets (no anyio).

Plain connections call the stdlib socket under trio's directly: a request's bytes go out with one
non-blocking `send` (trio's `send` would add two context managers and a scheduling round trip),
and its response is read after one checkpoint with `recv_into` a preallocated per-connection
buffer. The checkpoint keeps every request cancellable and gives the server the time to answer,
so the response is usually there at once: no I/O wait and no cancel scope for the read timeout
(a deadline-carrying scope is the dearest part of a trio wait), which a request pays only when
it must wait. TLS connections go through `trio_tls.TLSStream` (which resumes sessions).

The request flow above this (pool, retries, response streams) is the one shared with asyncio, in
`aio.AsyncEngine`; this module only provides the connection and the primitives.

Unlike asyncio, trio has no callback telling us an idle connection was closed by the server, so
`is_reusable()` polls the socket once (no blocking, one syscall) when the pool hands it out again
after it idled (see `exchange.POLL_AFTER_IDLE`).
"""

from __future__ import annotations

import math
import socket
import ssl
import typing

import trio

from .._exceptions import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)
from .exchange import INITIAL_READ_BUFFER, POLL_AFTER_IDLE, grow_read_buffer, readable_probe
from .h1 import H1Connection
from .tls import TLSSessions
from .trio_tls import TLSStream

__all__ = ["TrioBackend", "TrioConnection", "open_trio_connection"]

BUFFER_SIZE = 64 * 1024

# Errors trio (or the OS under it) raises when a connection breaks or was closed under us.
_BROKEN = (OSError, trio.BrokenResourceError, trio.ClosedResourceError)


class TrioConnection:
    """One HTTP/1.1 connection (TCP, TLS or Unix socket) used by one trio task at a time."""

    def __init__(self, stream: trio.abc.Stream, h1: H1Connection, peer: str) -> None:
        self.h1 = h1
        self.peer = peer
        self.active = False
        self.got_response_bytes = False  # in this cycle (decides whether a retry is safe)
        self._stream = stream
        self._sock = _raw_socket(stream)
        # The stdlib socket under trio's (non-blocking): plain reads and writes call it
        # directly, skipping trio's per-call wrapper (context managers and checkpoints).
        self._os_sock: socket.socket = self._sock._sock  # type: ignore[attr-defined]
        self._pending: bytes | memoryview = b""  # left to send by `send_nowait`
        self._tls = isinstance(stream, TLSStream)
        # (TLS sessions of the engine, this origin's key) until the session is saved.
        self.tls_sessions: tuple[TLSSessions, typing.Hashable] | None = None
        self._buffer = memoryview(bytearray(INITIAL_READ_BUFFER))
        # False once closed, or once a write failed: part of a request may be unsent, so even a
        # complete response leaves the connection unusable (the server would read the rest as
        # the next request).
        self.usable = True
        self._probe: typing.Callable[[], typing.Any] | None = None  # see `is_reusable`
        self._leftover = b""  # received but not yet read (after a 101 head, or past max_bytes)

    def is_reusable(self, idle_for: float = math.inf) -> bool:
        """True if the connection can carry another request; `idle_for`: seconds since it
        went idle (see `exchange.POLL_AFTER_IDLE`)."""
        if not self.usable:
            return False
        if idle_for <= POLL_AFTER_IDLE:
            return True
        try:
            probe = self._probe
            if probe is None:
                # Made once: the socket stays the same while the connection is usable.
                probe = self._probe = readable_probe(self._sock.fileno())
            # Data or EOF on an idle connection: the server closed it (or sent a stray 408).
            return not probe()
        except (OSError, ValueError):
            return False

    def send_nowait(self, data: bytes) -> bool:
        """Send what the socket takes now, without a checkpoint (the read that follows is one);
        False when the caller must `await flush()` to send the rest."""
        if self._tls:
            self._pending = data
            return False
        try:
            sent = self._os_sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self.usable = False
            raise WriteError(
                f"Connection to {self.peer} broke while sending the request: {exc}"
            ) from exc
        if sent == len(data):
            return True
        self._pending = memoryview(data)[sent:]
        return False

    async def flush(self, timeout: float | None) -> None:
        """Send what `send_nowait` left."""
        data, self._pending = self._pending, b""
        await self.write(data, timeout)

    async def write(self, data: bytes | memoryview, timeout: float | None = None) -> None:
        try:
            if timeout is None:
                await self._send_all(data)
                return
            with trio.move_on_after(timeout) as scope:
                await self._send_all(data)
        except _BROKEN as exc:
            self.usable = False
            raise WriteError(f"Connection to {self.peer} broke while sending the request: {exc}")
        if scope.cancelled_caught:
            self.usable = False
            raise WriteTimeout(f"Timed out after {timeout} s sending the request to {self.peer}")

    async def _send_all(self, data: bytes | memoryview) -> None:
        if self._tls:
            await self._stream.send_all(data)
            return
        view = memoryview(data)
        sock = self._sock
        while view:
            sent = await sock.send(view)
            view = view[sent:]

    async def wait_data(self, timeout: float | None) -> None:
        """For a request task whose `h1.next_event()` returned NEED_DATA: read and feed more
        bytes (or the EOF) to `h1`."""
        data: bytes | memoryview | None
        if self._tls:
            data = await self._receive(timeout)
        else:
            # `_receive` for a plain socket, inlined: the request's wait for its response
            # then passes through one coroutine layer less.
            await trio.lowlevel.checkpoint()
            data = self._recv_now()
            if data is None:
                data = await self._receive_waiting(timeout)
        if data:
            self.got_response_bytes = True
            self.h1.receive_data(data)
        else:
            self.h1.receive_eof()  # completes a close-delimited body, or raises

    async def _receive(self, timeout: float | None) -> bytes | memoryview:
        """The next bytes received (b"" at EOF); ReadTimeout after `timeout` s without any."""
        if self._tls:
            return await self._receive_waiting(timeout)
        # One checkpoint first (cancellation, fairness), which also gives the server the time
        # to answer: then the bytes are usually there, read without a cancel scope (the costly
        # part of a trio timeout) or an I/O wait.
        await trio.lowlevel.checkpoint()
        data: bytes | memoryview | None = self._recv_now()
        if data is None:
            data = await self._receive_waiting(timeout)
        return data

    def _recv_now(self) -> memoryview | None:
        """What the plain socket has received (empty at EOF), None if nothing yet; a read that
        filled the buffer grows it."""
        buffer = self._buffer
        try:
            nbytes = self._os_sock.recv_into(buffer)
        except BlockingIOError:
            return None
        except OSError as exc:
            raise ReadError(
                f"Connection to {self.peer} broke while reading the response: {exc}"
            ) from exc
        if nbytes == len(buffer):
            self._buffer = grow_read_buffer(buffer)
        return buffer[:nbytes]

    async def _receive_waiting(self, timeout: float | None) -> bytes | memoryview:
        """`_receive` when nothing is there yet: wait for it under a cancel scope."""
        receive = self._receive_tls if self._tls else self._receive_plain
        try:
            if timeout is None:
                return await receive()
            with trio.move_on_after(timeout):
                return await receive()
        except _BROKEN as exc:
            raise ReadError(f"Connection to {self.peer} broke while reading the response: {exc}")
        raise ReadTimeout(f"Timed out after {timeout} s waiting for the response from {self.peer}")

    async def _receive_plain(self) -> memoryview:
        while True:
            await trio.lowlevel.wait_readable(self._os_sock)
            data = self._recv_now()
            if data is not None:
                return data

    async def _receive_tls(self) -> bytes:
        return bytes(await self._stream.receive_some(BUFFER_SIZE))

    async def read_raw(self, timeout: float | None, max_bytes: int = BUFFER_SIZE) -> bytes:
        """Up to `max_bytes` received outside HTTP/1.1 (proxy handshake, after a 101);
        b"" at EOF."""
        data = self._leftover
        if not data:
            data = bytes(await self._receive(timeout))
        self._leftover = data[max_bytes:]
        return data[:max_bytes]

    def end_raw(self) -> None:
        """The handshake is over (reads are never buffered here, so nothing to do)."""

    # The `network_stream` API of httpcore, for the new protocol after a 101 response.

    def upgrade(self, data: bytes) -> None:
        """HTTP/1.1 is over on this connection: `data` (and all that follows) is for `read`."""
        self._leftover = data

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.read_raw(timeout, max_bytes)

    async def aclose(self) -> None:
        self.close()
        await trio.lowlevel.checkpoint()

    def close(self) -> None:
        """Close at once, without awaiting: safe in `finally` and on cancellation."""
        self.usable = False
        self._sock.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str,
        timeout: float | None,
        session: ssl.SSLSession | None = None,
    ) -> None:
        """Upgrade this connection to TLS in place (TLS over a proxy tunnel, even TLS-in-TLS),
        offering `session` for resumption."""
        stream = TLSStream(self._stream, ssl_context, server_hostname, session)
        await _handshake(stream, self._sock, timeout, self.peer)
        self._stream = stream
        self._tls = True
        # From now on `TLSStream` reads (into its own buffer): the plain-socket read buffer
        # (`_recv_now`, never called on TLS) is let go (100 idle TLS connections: 1.6 MB).
        self._buffer = memoryview(b"")

    def get_extra_info(self, name: str) -> typing.Any:
        if name == "client_addr":
            return self._sock.getsockname()
        if name == "server_addr":
            return self._sock.getpeername()
        if name == "socket":
            return self._sock
        if name == "is_readable":
            return not self.is_reusable()
        if name == "ssl_object" and self._tls:
            return typing.cast(TLSStream, self._stream).ssl_object
        return None


def _raw_socket(stream: trio.abc.Stream) -> trio.socket.SocketType:
    while isinstance(stream, TLSStream):
        stream = stream.transport_stream
    return typing.cast(trio.SocketStream, stream).socket


async def _handshake(
    stream: TLSStream,
    sock: trio.socket.SocketType,
    timeout: float | None,
    peer: str,
) -> None:
    try:
        with trio.move_on_after(math.inf if timeout is None else timeout) as scope:
            await stream.do_handshake()
    except _BROKEN as exc:
        sock.close()
        cause = exc.__cause__ or exc
        raise ConnectError(f"TLS handshake with {peer} failed: {cause}") from exc
    except BaseException:
        sock.close()
        raise
    if scope.cancelled_caught:
        sock.close()
        raise ConnectTimeout(f"Timed out after {timeout} s during the TLS handshake with {peer}")


async def open_trio_connection(
    *,
    host: str,
    port: int,
    timeout: float | None,
    local_address: str | None = None,
    uds: str | None = None,
    socket_options: typing.Iterable[typing.Any] | None = None,
    h1_factory: typing.Callable[[], H1Connection] = H1Connection,
) -> TrioConnection:
    """Connect within `timeout` seconds (TLS comes after, with `TrioConnection.start_tls`)."""
    peer = uds if uds is not None else f"{host}:{port}"
    stream: trio.abc.Stream
    try:
        with trio.move_on_after(math.inf if timeout is None else timeout) as scope:
            if uds is not None:
                stream = await trio.open_unix_socket(uds)
            else:
                stream = await trio.open_tcp_stream(host, port, local_address=local_address)
    except OSError as exc:
        raise ConnectError(f"Could not connect to {peer}: {exc}") from exc
    if scope.cancelled_caught:
        raise ConnectTimeout(f"Timed out after {timeout} s connecting to {peer}")
    sock = _raw_socket(stream)
    try:
        for option in socket_options or ():  # as httpcore does, applied once connected
            sock.setsockopt(*option)
    except BaseException:
        sock.close()
        raise
    return TrioConnection(stream, h1_factory(), peer)


class TrioEvent:
    """A one-shot event a pool waiter is woken through (`set` is the pool's wake callback)."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = trio.Event()

    def set(self, _slot: typing.Any = None) -> None:
        self._event.set()

    async def wait(self, timeout: float | None) -> None:
        with trio.move_on_after(math.inf if timeout is None else timeout):
            await self._event.wait()


class TrioBackend:
    """The trio primitives `aio.AsyncEngine` needs."""

    name = "trio"
    open_connection = staticmethod(open_trio_connection)
    Event = TrioEvent
    sleep = staticmethod(trio.sleep)

    @staticmethod
    async def yield_to_loop() -> None:
        # Sockets close synchronously in trio; this only keeps aclose() a checkpoint.
        await trio.lowlevel.checkpoint()
