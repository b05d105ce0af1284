"""
TLS for the asyncio driver, on an `ssl.SSLObject` over memory BIOs, between the loop's transport
and the connection's protocol: `TLSTransport` is the protocol of the transport below it and the
transport of the protocol above it.

Why not `loop.start_tls`: asyncio cannot resume a TLS session (its SSL layer never passes
`session=` to `wrap_bio`), so every new connection to an origin paid a full handshake; and its
SSL layer is a general state machine with several Python calls per read and write, where a
client only needs: handshake, then decrypt what arrives straight into the protocol's buffer and
encrypt what it writes. It also works over another `TLSTransport` (TLS to an origin through an
https proxy) and the same way on uvloop.

Closing is abrupt (`abort`, no close_notify), as the driver always closes connections; a server's
close_notify or a TCP EOF in the middle of a record both end the stream as EOF to the protocol,
as `ssl.SSLSocket(suppress_ragged_eofs=True)` does.
"""

from __future__ import annotations

import asyncio
import ssl
import typing

from .exchange import INITIAL_READ_BUFFER, grow_read_buffer
from .tls import ssl_over_memory

__all__ = ["TLSTransport", "start_tls"]


class TLSTransport(asyncio.Transport, asyncio.BufferedProtocol):
    """TLS over `transport` for `app`; see the module docstring."""

    def __init__(
        self,
        transport: asyncio.Transport,
        app: asyncio.BufferedProtocol,
        ssl_object: ssl.SSLObject,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
    ) -> None:
        self._transport = transport
        self._app = app
        self.ssl_object = ssl_object
        self._incoming = incoming
        self._outgoing = outgoing
        self._buffer = memoryview(bytearray(INITIAL_READ_BUFFER))  # for ciphertext
        self._handshake: asyncio.Future[None] | None = None
        self._eof = False
        self._error: Exception | None = None  # a TLS error that broke the connection

    # ------------------------------------------------------------ protocol of the transport below

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        buffer = self._buffer
        self._incoming.write(buffer[:nbytes])
        if nbytes == len(buffer):
            self._buffer = grow_read_buffer(buffer)
        if self._handshake is not None:
            self._step_handshake()
        else:
            self._decrypt()

    def eof_received(self) -> bool:
        self._incoming.write_eof()
        if self._handshake is not None:
            self._step_handshake()
        else:
            self._decrypt()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        handshake = self._handshake
        if handshake is not None and not handshake.done():
            handshake.set_exception(
                exc or ConnectionResetError("Connection lost during the TLS handshake")
            )
        self._app.connection_lost(exc or self._error)

    def pause_writing(self) -> None:
        self._app.pause_writing()

    def resume_writing(self) -> None:
        self._app.resume_writing()

    # ------------------------------------------------------------ handshake

    def _step_handshake(self) -> None:
        handshake = typing.cast("asyncio.Future[None]", self._handshake)
        try:
            self.ssl_object.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return
        except (ssl.SSLError, OSError) as exc:  # e.g. a certificate that does not verify
            self._handshake = None
            if not handshake.done():
                handshake.set_exception(exc)
            return
        self._flush()
        self._handshake = None
        if not handshake.done():
            handshake.set_result(None)
        if self._incoming.pending:  # application data that came with the last handshake flight
            self._decrypt()

    # ------------------------------------------------------------ data

    def _decrypt(self) -> None:
        """Hand every decrypted byte to the protocol above, straight into its buffer: as many
        records as it holds per `buffer_updated` (a read returns one record, 16 KiB at most)."""
        app = self._app
        ssl_object = self.ssl_object
        read = ssl_object.read
        incoming = self._incoming
        while not self._eof:
            buffer = typing.cast(memoryview, app.get_buffer(-1))
            size = len(buffer)
            filled = 0
            while filled < size:
                try:
                    nbytes: int = read(size - filled, buffer[filled:])  # type: ignore[assignment]
                except ssl.SSLWantReadError:
                    break
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    nbytes = 0
                except ssl.SSLError as exc:
                    # Garbage instead of TLS records: the connection is lost, with this error
                    # (what was decrypted before it is still delivered).
                    self._error = exc
                    self._eof = True
                    break
                if not nbytes:  # (a close_notify reads as 0 bytes too)
                    self._eof = True
                    break
                filled += nbytes
                if not incoming.pending and not ssl_object.pending():
                    break  # all consumed: spare the read that would raise SSLWantReadError
            if filled:
                app.buffer_updated(filled)
            if self._error is not None:
                self._transport.abort()
                return
            if self._eof:
                if not app.eof_received():
                    self._transport.close()
                break
            if filled < size:
                break  # nothing more decrypted for now
        if self._outgoing.pending:
            self._flush()  # e.g. a key update answered while reading

    def _flush(self) -> None:
        if self._outgoing.pending:
            self._transport.write(self._outgoing.read())

    # ------------------------------------------------------------ transport of the protocol above

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._error is not None:
            return  # the connection is being lost: the protocol hears of it in connection_lost
        try:
            # A memory BIO takes everything at once: only a renegotiation could interrupt.
            self.ssl_object.write(data)
        except ssl.SSLError as exc:  # the TLS stream already failed (e.g. a close_notify)
            self._error = exc
            self._transport.abort()
            return
        self._transport.write(self._outgoing.read())

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self._transport.close()

    def abort(self) -> None:
        self._transport.abort()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._app = typing.cast(asyncio.BufferedProtocol, protocol)

    def get_extra_info(self, name: str, default: typing.Any = None) -> typing.Any:
        if name == "ssl_object":
            return self.ssl_object
        return self._transport.get_extra_info(name, default)


async def start_tls(
    transport: asyncio.Transport,
    app: asyncio.BufferedProtocol,
    context: ssl.SSLContext,
    server_hostname: str,
    session: ssl.SSLSession | None,
    timeout: float | None,
) -> TLSTransport:
    """Handshake TLS over `transport` (offering `session` for resumption) and return the
    `TLSTransport` that `app` writes to from now on; `transport` now delivers to it.

    Raises `TimeoutError` after `timeout` seconds, `ssl.SSLError`/`OSError` if the handshake
    fails. On any failure the caller closes the connection.
    """
    ssl_object, incoming, outgoing = ssl_over_memory(context, server_hostname, session)
    tls = TLSTransport(transport, app, ssl_object, incoming, outgoing)
    loop = asyncio.get_running_loop()
    handshake = tls._handshake = loop.create_future()
    transport.set_protocol(tls)
    tls._step_handshake()  # sends the ClientHello
    if timeout is None:
        await handshake
    else:
        await asyncio.wait_for(handshake, timeout)
    return tls
