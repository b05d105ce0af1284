"""
TLS for the blocking driver.

The `SSLContext` itself comes from `rapidhttp._config.shared_ssl_context`: one default context
per process (it costs ~15 ms to build), with ALPN set once. This module adds:

- `TLSSessions`: per-origin TLS session reuse. A resumed handshake skips the certificate chain
  work on TLS 1.2 and saves a round trip; the last session seen per origin is offered again.
- `TLSStream`: TLS on an `ssl.SSLObject` over memory BIOs, on top of a plain socket or of
  another `TLSStream` (TLS to an origin through an https proxy: TLS in TLS, which
  `ssl.SSLSocket` cannot do). On a plain socket it is also cheaper than `SSLSocket`: the socket
  stays in blocking mode with kernel timeouts (see `sync.SyncConnection`), where an `SSLSocket`
  with a timeout makes CPython poll() before every write and after every empty read, three
  extra syscalls per request; and a kernel timeout also bounds a server stalling in the middle
  of a TLS record. It offers the subset of the socket API the driver uses.
"""

from __future__ import annotations

import socket
import ssl
import threading
import typing

__all__ = ["TLSSessions", "TLSStream", "save_session", "ssl_over_memory"]

READ_SIZE = 65536
WRITE_SIZE = 262144  # plaintext encrypted per step: bounds the ciphertext held in memory


class TLSSessions:
    """The last TLS session per origin key, shared by the threads of one transport."""

    def __init__(self, max_size: int = 256) -> None:
        self._sessions: dict[typing.Hashable, ssl.SSLSession] = {}
        self._max_size = max_size
        self._lock = threading.Lock()

    def get(self, key: typing.Hashable) -> ssl.SSLSession | None:
        return self._sessions.get(key)

    def put(self, key: typing.Hashable, session: ssl.SSLSession | None) -> None:
        if session is None:
            return
        with self._lock:
            if key not in self._sessions and len(self._sessions) >= self._max_size:
                self._sessions.clear()  # origins come and go; a bounded, cheap reset suffices
            self._sessions[key] = session


def ssl_over_memory(
    context: ssl.SSLContext, server_hostname: str, session: ssl.SSLSession | None
) -> tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]:
    """The client side of a TLS connection in memory, for every driver's TLS layer: an
    `SSLObject` and its (incoming, outgoing) BIOs, offering `session` for resumption.

    A session made by another `SSLContext` (a saved session, after the context changed) cannot
    be offered (`wrap_bio` raises ValueError): then the handshake is a full one, and the new
    session replaces the old one when it is saved."""
    incoming = ssl.MemoryBIO()
    outgoing = ssl.MemoryBIO()
    try:
        ssl_object = context.wrap_bio(
            incoming, outgoing, server_hostname=server_hostname, session=session
        )
    except ValueError:
        if session is None:
            raise
        ssl_object = context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    return ssl_object, incoming, outgoing


def save_session(conn: typing.Any) -> None:
    """Keep the session of a new TLS connection (any driver's; its `tls_sessions` holds the
    engine's `TLSSessions` and the origin's key until then) for the next connection to its
    origin. Called when its first response ends, not after the handshake: TLS 1.3 sends the
    tickets that make a session resumable after the handshake, and they have been read by then.
    """
    sessions, key = conn.tls_sessions
    conn.tls_sessions = None
    ssl_object = conn.get_extra_info("ssl_object")
    if ssl_object is not None:
        sessions.put(key, ssl_object.session)


class TLSStream:
    """TLS over `transport`: a connected socket, or another TLSStream (see the module
    docstring). Call `do_handshake()` before anything else."""

    def __init__(
        self,
        transport: typing.Any,
        context: ssl.SSLContext,
        server_hostname: str,
        session: ssl.SSLSession | None = None,
    ) -> None:
        self._transport = transport
        self.ssl_object, self._incoming, self._outgoing = ssl_over_memory(
            context, server_hostname, session
        )

    def _fill(self) -> None:
        """One read from the transport into the TLS engine (EOF included)."""
        data = self._transport.recv(READ_SIZE)
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    def _flush(self) -> None:
        if self._outgoing.pending:
            self._transport.sendall(self._outgoing.read())

    def do_handshake(self) -> None:
        while True:
            try:
                self.ssl_object.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()
        self._flush()

    def sendall(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        write = self.ssl_object.write
        while view:
            # A memory BIO takes everything at once: only a renegotiation could interrupt.
            view = view[write(view[:WRITE_SIZE]) :]
            self._flush()

    def recv_into(self, buffer: memoryview | bytearray, nbytes: int = 0) -> int:
        ssl_object = self.ssl_object
        if not ssl_object.pending() and not self._incoming.pending:
            self._fill()  # the common case: nothing buffered, so read first, no exception
        while True:
            try:
                count = typing.cast(int, ssl_object.read(nbytes or len(buffer), buffer))
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return 0  # a clean or ragged close, like SSLSocket(suppress_ragged_eofs=True)
        self._flush()  # e.g. a key update answered while reading
        return count

    def recv(self, size: int) -> bytes:
        buffer = bytearray(size)
        return bytes(buffer[: self.recv_into(buffer)])

    def pending(self) -> int:
        """Bytes received but not read yet (decrypted, or still encrypted)."""
        return self.ssl_object.pending() + self._incoming.pending

    @property
    def session(self) -> ssl.SSLSession | None:
        return self.ssl_object.session

    @property
    def raw_socket(self) -> socket.socket:
        transport = self._transport
        return typing.cast(socket.socket, getattr(transport, "raw_socket", transport))

    def settimeout(self, timeout: float | None) -> None:
        self._transport.settimeout(timeout)

    def setsockopt(self, *args: typing.Any) -> None:
        self._transport.setsockopt(*args)

    def fileno(self) -> int:
        return typing.cast(int, self._transport.fileno())

    def getpeername(self) -> typing.Any:
        return self._transport.getpeername()

    def getsockname(self) -> typing.Any:
        return self._transport.getsockname()

    def close(self) -> None:
        self._transport.close()
