"""
Sans-I/O HTTP/1.1, client side: `H1Connection` turns a request into bytes to write and received
bytes into events, one request/response cycle at a time (no pipelining), like h11 but only what
a client needs, and fast: a typical request head serialises in under a microsecond and a
small response that arrives in one read yields Response, Data and EndOfMessage from one
`receive_data` call.

The drivers (sync.py, aio.py, trio_driver.py) own the sockets: they write what `send_*` return
and feed what they read to `receive_data` / `receive_eof`, then pull `next_event()` until
`EndOfMessage` (or `NEED_DATA`, meaning: read more). After a 101 response, `Upgrade` carries
the bytes that followed its head and the stream belongs to the new protocol: later bytes are
not fed here. Once the response has ended, `keep_alive` says whether the connection may be
reused (`start_next_cycle()`); anything else, an error included, means: close it. Response
parsing, framing decisions and limits live in h1_parsers.py.

Request framing comes from the request headers, which the models have already set (Host,
Content-Length or Transfer-Encoding) and validated (no CR/LF/NUL in names or values), so
nothing is added or re-validated here: Content-Length bodies are written as they are, bodies of
unknown length with `Transfer-Encoding: chunked` are framed in chunks, and a request with
neither header has no body.
"""

from __future__ import annotations

import typing
from collections import deque

from .._exceptions import LocalProtocolError
from .h1_parsers import (
    DONE,
    NEED_DATA,
    Data,
    EndOfMessage,
    Event,
    NeedData,
    PythonParser,
    Response,
    ResponseParser,
    Upgrade,
    make_parser,
)

__all__ = ["NEED_DATA", "Data", "EndOfMessage", "H1Connection", "NeedData", "Response", "Upgrade"]

# Sending states. IDLE: no request in progress; BODY: the head is written, the body may follow
# (`_remaining` is the Content-Length still owed, or _CHUNKED); SENT: the request is complete.
_IDLE, _BODY, _SENT = range(3)
_CHUNKED = -1
_FIELD = b": ".join


def _serialize_head(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]
) -> tuple[bytes, int]:
    """A request head as bytes, and the body length it announces (_CHUNKED, or 0 if none)."""
    remaining = 0
    for name, value in headers:
        # The framing headers, found without lower-casing every name.
        if len(name) >= 14:
            lowered = name.lower()
            if lowered == b"content-length":
                remaining = _content_length(value)
            elif lowered == b"transfer-encoding":
                remaining = _CHUNKED
    # C-level joins: `b": ".join((name, value))` serialises a field without a Python loop.
    fields = b"\r\n".join(map(_FIELD, headers))
    end = b"\r\n\r\n" if headers else b"\r\n"
    return b"".join((method, b" ", target, b" HTTP/1.1\r\n", fields, end)), remaining


def _content_length(value: bytes) -> int:
    try:
        length = int(value)
    except ValueError:
        length = -1
    if length < 0:
        raise LocalProtocolError(f"Invalid Content-Length header in request: {value!r}")
    return length


class H1Connection:
    """One HTTP/1.1 client connection's protocol state (see the module docstring)."""

    __slots__ = (
        "_events",
        "_parser",
        "_main_parser",
        "_head_parser",
        "_send_state",
        "_remaining",
        "_last_head",
        "receive_data",
        "receive_eof",
    )

    # Bound straight to the parser's methods: one call less per read.
    receive_data: typing.Callable[[bytes | memoryview], None]
    """Parse received bytes into events; RemoteProtocolError if they are not valid HTTP/1.1.
    A memoryview is not retained after the call, so the driver may reuse its buffer."""
    receive_eof: typing.Callable[[], None]
    """The server closed its side: completes a close-delimited body, else raises
    RemoteProtocolError if the response (or its body) was incomplete."""

    def __init__(
        self,
        *,
        max_head_size: int = 65536,
        max_header_count: int = 200,
        parser: str | None = None,
    ) -> None:
        self._events: deque[Event] = deque()
        main = make_parser(parser, self._events, max_head_size, max_header_count)
        self._main_parser = main
        # Responses to HEAD go to a PythonParser (created on first use): llhttp cannot be told
        # that they have no body.
        self._head_parser = main if isinstance(main, PythonParser) else None
        self._send_state = _IDLE
        self._remaining = 0
        # (method, target, headers, serialised head, body length): see `send_head`.
        self._last_head: tuple[typing.Any, ...] = (None, None, None, b"", 0)
        self._use(main)

    def _use(self, parser: ResponseParser) -> None:
        self._parser = parser
        self.receive_data = parser.feed
        self.receive_eof = parser.feed_eof

    # -- sending -------------------------------------------------------------------------------

    def send_head(
        self,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes = b"",
        end: bool = False,
    ) -> bytes:
        """The request head, plus `body` (framed) when given, as one buffer to write at once.
        With `end`, the request ends there too, as with `send_end()` (whose bytes are then
        included): one call for the usual request, whose body, if any, is in memory."""
        if self._send_state != _IDLE:
            raise LocalProtocolError(
                "Cannot send a request while another request is in progress on the connection."
            )
        # Clients repeat their requests: a connection keeps the last head it serialised and
        # sends it again when method, target and headers are the same (compared in C).
        last = self._last_head
        if headers == last[2] and target == last[1] and method == last[0]:
            head, remaining = last[3], last[4]
        else:
            head, remaining = _serialize_head(method, target, headers)
            self._last_head = (method, target, list(headers), head, remaining)
        if method == b"HEAD":
            self._start_head_cycle()
        elif self._parser is not self._main_parser:
            self._use(self._main_parser)  # after a HEAD cycle
        self._remaining = remaining
        self._send_state = _BODY
        if body:
            head += self.send_body(body)
        if end:
            if self._remaining:  # chunked, or too little body: `send_end` has the rules
                return head + self.send_end()
            self._send_state = _SENT
        return head

    def send_body(self, data: bytes) -> bytes:
        """`data` framed for the wire: as is for Content-Length, as one chunk for chunked."""
        if self._send_state != _BODY:
            raise LocalProtocolError("Cannot send request body data: no request head was sent.")
        remaining = self._remaining
        if remaining == _CHUNKED:
            if not data:
                return b""  # an empty chunk would end the body
            return b"%x\r\n%b\r\n" % (len(data), data)
        if len(data) > remaining:
            raise LocalProtocolError("Too much data for declared Content-Length")
        self._remaining = remaining - len(data)
        return data

    def send_end(self) -> bytes:
        """The end of the request body: the chunked terminator, or b""."""
        if self._send_state != _BODY:
            raise LocalProtocolError("Cannot end the request: no request head was sent.")
        self._send_state = _SENT
        if self._remaining == _CHUNKED:
            return b"0\r\n\r\n"
        if self._remaining:
            raise LocalProtocolError("Too little data for declared Content-Length")
        return b""

    def _start_head_cycle(self) -> None:
        parser = self._head_parser
        if parser is None:
            main = self._main_parser
            parser = self._head_parser = PythonParser(
                self._events, main.max_head_size, main.max_header_count
            )
        elif parser is not self._parser:
            parser.reset()
        self._use(parser)
        parser.head_request = True

    # -- receiving -----------------------------------------------------------------------------

    def next_event(self) -> Event | NeedData:
        """The next event, or `NEED_DATA` when more bytes must be received first."""
        events = self._events
        return events.popleft() if events else NEED_DATA

    def _keeps_alive(self) -> bool:
        parser = self._parser
        return (
            self._send_state == _SENT
            and parser.state == DONE
            and parser.keep_alive
            and not parser.extra_data
            and not self._events
        )

    # (A property over a method: `next_cycle`, once per request, calls the method, which is
    # cheaper than going through the property.)
    keep_alive = property(
        _keeps_alive,
        doc="""Whether the connection can carry another request once the response has ended:
        both messages complete, nothing extra received, and the server did not ask to close.""",
    )

    def start_next_cycle(self) -> None:
        """Reset for the next request on a keep-alive connection."""
        if not self.next_cycle():
            raise LocalProtocolError(
                "Cannot reuse the connection: the previous exchange is not complete or the "
                "connection is not keep-alive."
            )

    def next_cycle(self) -> bool:
        """Reset for the next request if the connection may carry one (see `keep_alive`);
        False, changing nothing, if not. (What drivers call when a response ends.)"""
        if not self._keeps_alive():
            return False
        self._send_state = _IDLE
        self._parser.reset()
        return True
