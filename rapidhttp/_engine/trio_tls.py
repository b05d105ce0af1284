"""
TLS for the trio driver: `TLSStream`, an `ssl.SSLObject` over memory BIOs on top of a trio
stream (a socket stream, or another `TLSStream` for TLS through an https proxy).

Why not `trio.SSLStream`: it cannot resume a TLS session (no `session=`), so every new
connection to an origin paid a full handshake; and it guards every call with locks and state
checks for uses a client does not have. This stream is what the driver needs: a handshake,
`send_all` and `receive_some`, and `aclose`.

One task may send while another receives (HTTP/2: a writer and the reading leader). Reading can
produce TLS output (a key update to answer); it is sent by the reader only when no send is in
progress, else it goes out with the next `send_all`, since every byte for the peer passes through
the same outgoing BIO, in order.

EOF: a close_notify or a TCP EOF, even in the middle of a record, reads as b"" (as
`ssl.SSLSocket(suppress_ragged_eofs=True)`; HTTP's own framing catches truncated bodies).
"""

from __future__ import annotations

import ssl

import trio

from .tls import ssl_over_memory

__all__ = ["TLSStream"]

READ_SIZE = 65536  # ciphertext per read from the stream below


class TLSStream(trio.abc.Stream):
    """TLS over `transport_stream`; call `do_handshake()` first."""

    def __init__(
        self,
        transport_stream: trio.abc.Stream,
        context: ssl.SSLContext,
        server_hostname: str,
        session: ssl.SSLSession | None = None,
    ) -> None:
        self.transport_stream = transport_stream
        self.ssl_object, self._incoming, self._outgoing = ssl_over_memory(
            context, server_hostname, session
        )
        self._sending = False
        self._eof = False  # the peer's close_notify (or EOF) has been read

    async def do_handshake(self) -> None:
        while True:
            try:
                self.ssl_object.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._flush()
                await self._fill()
        await self._flush()

    async def _fill(self) -> None:
        data = await self.transport_stream.receive_some(READ_SIZE)
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    async def _flush(self) -> None:
        """Send what the TLS engine has produced, unless a send is already under way (it
        takes it along: see the module docstring)."""
        outgoing = self._outgoing
        if self._sending or not outgoing.pending:
            return
        self._sending = True
        try:
            while outgoing.pending:
                await self.transport_stream.send_all(outgoing.read())
        finally:
            self._sending = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        # A memory BIO takes everything at once: only a renegotiation could interrupt.
        self.ssl_object.write(data)
        await self._flush()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """Up to `max_bytes` of plaintext: every record already received, or else the next
        one; b"" at EOF. Cancellation loses nothing: decrypted bytes are never held across an
        await."""
        size = max_bytes or READ_SIZE
        ssl_object = self.ssl_object
        incoming = self._incoming
        if self._outgoing.pending:
            await self._flush()  # e.g. a key update that an earlier read had to answer
        parts: list[bytes] = []
        received = 0
        while received < size and not self._eof:
            if not ssl_object.pending() and not incoming.pending:
                if parts:
                    break  # all that was received is taken
                await self._fill()
            try:
                data = ssl_object.read(size - received)
            except ssl.SSLWantReadError:  # only part of a record so far
                if parts:
                    break
                await self._fill()
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                data = b""
            if not data:  # (a close_notify reads as b"" too)
                self._eof = True
                break
            # One TLS record per read (16 KiB at most): the loop takes the others already
            # received, so that a download or a burst of HTTP/2 frames costs one call.
            parts.append(data)
            received += len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def wait_send_all_might_not_block(self) -> None:
        await self.transport_stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self.transport_stream.aclose()
