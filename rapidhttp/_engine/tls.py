"""
TLS for the blocking driver.

The `SSLContext` itself comes from `rapidhttp._config.shared_ssl_context`: one default context
per process (it costs ~15 ms to build), with ALPN set once. This module adds:

- `TLSSessions`: per-origin TLS session reuse. A resumed handshake skips the certificate chain
  work on TLS 1.2 and saves a round trip; the last session seen per origin is offered again.
- `TLSInTLS`: TLS to an origin *through* a TLS connection to an https proxy. `ssl.SSLSocket`
  cannot wrap another SSLSocket, so the inner TLS runs on an `SSLObject` over memory BIOs and
  the ciphertext travels through the outer socket. It offers the subset of the socket API the
  driver uses.
"""

from __future__ import annotations

import socket
import ssl
import threading
import typing

__all__ = ["TLSInTLS", "TLSSessions"]

READ_SIZE = 65536


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

    def discard(self, key: typing.Hashable) -> None:
        self._sessions.pop(key, None)


class TLSInTLS:
    """TLS over an already encrypted socket (see the module docstring)."""

    def __init__(
        self,
        outer: ssl.SSLSocket,
        context: ssl.SSLContext,
        server_hostname: str,
        session: ssl.SSLSession | None = None,
    ) -> None:
        self._outer = outer
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.ssl_object = context.wrap_bio(
            self._incoming, self._outgoing, server_hostname=server_hostname, session=session
        )

    def _run(self, operation: typing.Callable[..., typing.Any], *args: typing.Any) -> typing.Any:
        """Run an SSLObject operation, moving ciphertext through the outer socket as needed."""
        while True:
            try:
                result = operation(*args)
            except ssl.SSLWantReadError:
                self._flush()
                data = self._outer.recv(READ_SIZE)
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
                continue
            self._flush()
            return result

    def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            self._outer.sendall(data)

    def do_handshake(self) -> None:
        self._run(self.ssl_object.do_handshake)

    def sendall(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            sent = self._run(self.ssl_object.write, view)
            view = view[sent:]

    def recv_into(self, buffer: memoryview | bytearray) -> int:
        try:
            return typing.cast(int, self._run(self.ssl_object.read, len(buffer), buffer))
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return 0  # a clean or ragged close, like SSLSocket(suppress_ragged_eofs=True)

    def recv(self, size: int) -> bytes:
        try:
            return typing.cast(bytes, self._run(self.ssl_object.read, size))
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""

    def pending(self) -> int:
        return self.ssl_object.pending()

    @property
    def session(self) -> ssl.SSLSession | None:
        return self.ssl_object.session

    def settimeout(self, timeout: float | None) -> None:
        self._outer.settimeout(timeout)

    def fileno(self) -> int:
        return self._outer.fileno()

    def getpeername(self) -> typing.Any:
        return self._outer.getpeername()

    def getsockname(self) -> typing.Any:
        return self._outer.getsockname()

    @property
    def raw_socket(self) -> socket.socket:
        return self._outer

    def close(self) -> None:
        self._outer.close()
