"""
HTTP/1.1 response parsers behind one interface: `HttptoolsParser` (llhttp, the fast path) and
`PythonParser` (pure Python: the fallback when httptools is missing, e.g. on PyPy, and the oracle
the differential fuzz test compares httptools against).

Both turn received bytes into the events of `h1.py` (`Response`, `Data`, `EndOfMessage`,
`Upgrade`) appended to a deque owned by the `H1Connection`, and both implement the same framing
rules, which are the client's decisions, not the parser library's:

* the request method matters: a response to HEAD has no body whatever its headers say (llhttp
  cannot be told so: `H1Connection` hands HEAD cycles to a `PythonParser`);
* 1xx interim responses are skipped, except 101, which ends HTTP/1.1 on the connection: it
  yields `Response` then `Upgrade(bytes after the head)`; a 101 must carry `Upgrade` and
  `Connection: upgrade`;
* 204, 304 and 1xx have no body; otherwise Transfer-Encoding whose last coding is `chunked`
  means chunked, any other Transfer-Encoding or no length at all means the body runs until the
  server closes; Content-Length together with Transfer-Encoding, duplicate Content-Length
  fields and malformed lengths are rejected (request-smuggling hygiene, as llhttp);
* only HTTP/1.0 and HTTP/1.1 status lines are accepted; status codes below 100 are rejected;
* keep-alive needs HTTP/1.1, no `close` token in `Connection`, and a self-delimited body
  (h11's rule: an HTTP/1.0 response is never kept alive);
* bytes after a complete response are never parsed (this client does not pipeline, so they are
  a server bug or an attack): they only mark the connection as not reusable;
* the response head (status line + header fields, and so too the trailers) is bounded by
  `max_head_size` bytes and `max_header_count` fields: llhttp itself has no limits at all.

Leniencies, to tolerate broken servers without opening smuggling holes: LF-only line endings
in the head (h11 accepts them too), spaces after a chunk size, stray CR/LF between responses,
and any byte but CR/LF in the reason phrase. Header values are held to RFC 9110 as by h11
(HTAB, SP, visible ASCII and obs-text; no other control bytes) and obs-fold continuation lines
are rejected: h11 joins them, but llhttp's lenient mode that accepts them also accepts control
bytes, and its framing of a folded Transfer-Encoding differs from what it reports. Never lenient
on framing: CL+TE, duplicate CL, bad chunk sizes and CRLF after chunk data stay errors.
Trailing whitespace of header values is stripped (llhttp keeps it; h11 strips it).

The differential fuzz test (tests/engine/test_h1_fuzz.py) holds both parsers to the same events.
"""

from __future__ import annotations

import re
import typing
from collections import deque

from .._exceptions import RemoteProtocolError

__all__ = [
    "NEED_DATA",
    "Data",
    "EndOfMessage",
    "HttptoolsParser",
    "PythonParser",
    "Response",
    "Upgrade",
    "make_parser",
]

Headers = list[tuple[bytes, bytes]]


# ---------------------------------------------------------------------------------------------
# Events


class Response:
    """A final response head (or a 101 head, followed by `Upgrade`)."""

    __slots__ = ("status_code", "reason_phrase", "headers", "http_version")

    def __init__(
        self, status_code: int, reason_phrase: bytes, headers: Headers, http_version: bytes
    ) -> None:
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.headers = headers
        self.http_version = http_version

    def __repr__(self) -> str:
        return (
            f"<Response status_code={self.status_code} reason_phrase={self.reason_phrase!r}"
            f" http_version={self.http_version!r} headers={self.headers!r}>"
        )

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is Response
            and self.status_code == other.status_code
            and self.reason_phrase == other.reason_phrase
            and self.headers == other.headers
            and self.http_version == other.http_version
        )


class _BytesEvent:
    """An event that carries bytes (`Data`, `Upgrade`)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.data!r}>"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.data == other.data  # type: ignore[attr-defined]


class Data(_BytesEvent):
    """A piece of the response body (never empty)."""

    __slots__ = ()


class EndOfMessage:
    """The response is complete; `trailers` holds chunked trailer fields, if any."""

    __slots__ = ("trailers",)

    def __init__(self, trailers: Headers) -> None:
        self.trailers = trailers

    def __repr__(self) -> str:
        return f"<EndOfMessage trailers={self.trailers!r}>"

    def __eq__(self, other: object) -> bool:
        return type(other) is EndOfMessage and self.trailers == other.trailers


class Upgrade(_BytesEvent):
    """After a 101 response: the bytes that followed its head (the new protocol's first bytes)."""

    __slots__ = ()


class NeedData:
    """The type of `NEED_DATA`, the only instance: more bytes must be received first."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()

# The end of every response without trailers: one shared, read-only instance.
END_OF_MESSAGE = EndOfMessage([])

Event = Response | Data | EndOfMessage | Upgrade

HTTP_11 = b"HTTP/1.1"
HTTP_10 = b"HTTP/1.0"

# Parser states. HEAD: waiting for (the rest of) a response head; BODY: reading the body;
# UPGRADE: a 101 head was parsed, its leftover bytes come next; DONE: the response is complete;
# ERROR: a protocol error was raised, the connection is unusable.
HEAD, BODY, UPGRADE, DONE, ERROR = range(5)


# ---------------------------------------------------------------------------------------------
# Framing rules shared by both parsers

_LENGTH_RE = re.compile(rb"[0-9]+")


def _tokens(value: bytes) -> list[bytes]:
    return [token.strip(b" \t").lower() for token in value.split(b",")]


def _has_token(headers: Headers, name: bytes, token: bytes) -> bool:
    """Whether a comma-separated header (all its fields) contains `token`, case-insensitively."""
    for key, value in headers:
        if len(key) == len(name) and key.lower() == name and token in _tokens(value):
            return True
    return False


def check_upgrade(headers: Headers) -> None:
    """A 101 response must name the protocol it switches to, else it is a broken response."""
    if not (
        any(key.lower() == b"upgrade" for key, _ in headers)
        and _has_token(headers, b"connection", b"upgrade")
    ):
        raise RemoteProtocolError(
            "Received a 101 Switching Protocols response without 'Upgrade' and "
            "'Connection: upgrade' headers."
        )


def head_framing(headers: Headers) -> tuple[int | None, bool]:
    """What the framing headers of a response say, in one pass: the body's Content-Length, -1
    for chunked, or None when the body runs until the server closes the connection; and
    whether `Connection` says `close`. Raises on ambiguous framing."""
    length: int | None = None
    chunked: bool | None = None
    close = False
    for key, value in headers:
        size = len(key)
        if size == 14 and key.lower() == b"content-length":
            if length is not None:
                raise RemoteProtocolError("Response has more than one Content-Length header.")
            stripped = value.strip(b" \t")
            # (Bounded before int(): a huge digit string is an error, not a slow conversion.)
            if not _LENGTH_RE.fullmatch(stripped) or len(stripped.lstrip(b"0")) > 20:
                raise RemoteProtocolError(f"Response has an invalid Content-Length: {value!r}.")
            length = int(stripped)
            if length >= 1 << 64:  # llhttp's limit
                raise RemoteProtocolError(f"Response has an invalid Content-Length: {value!r}.")
        elif size == 17 and key.lower() == b"transfer-encoding":
            # Like llhttp: only the last coding of the last field decides.
            chunked = _tokens(value)[-1] == b"chunked"
        elif size == 10 and key.lower() == b"connection":
            close = close or b"close" in _tokens(value)
    if chunked is not None:
        if length is not None:
            raise RemoteProtocolError(
                "Response has both Content-Length and Transfer-Encoding headers."
            )
        return (-1 if chunked else None), close
    return length, close


def incomplete_body_error(framing: int | None, received: int) -> RemoteProtocolError:
    """The error for EOF in the middle of a self-delimited body (h11's wording)."""
    if framing == -1:
        detail = "incomplete chunked read"
    else:
        detail = f"received {received} bytes, expected {framing}"
    return RemoteProtocolError(
        f"peer closed connection without sending complete message body: {detail}"
    )


def is_extra_data(data: bytes | bytearray | memoryview) -> bool:
    """Whether bytes received after a complete response make the connection unusable: any but
    stray CR/LF, which llhttp skips between messages."""
    return bool(data) and bool(bytes(data).strip(b"\r\n"))


def _head_too_large(limit: int) -> RemoteProtocolError:
    return RemoteProtocolError(f"Response header section exceeds the limit of {limit} bytes.")


def _too_many_fields(limit: int) -> RemoteProtocolError:
    return RemoteProtocolError(f"Response has more than {limit} header fields.")


DISCONNECTED = "Server disconnected without sending a response."


class ResponseParser(typing.Protocol):
    """What `H1Connection` needs from a parser."""

    state: int
    keep_alive: bool
    extra_data: bool
    max_head_size: int
    max_header_count: int

    def feed(self, data: bytes | memoryview) -> None: ...
    def feed_eof(self) -> None: ...
    def reset(self) -> None: ...


# ---------------------------------------------------------------------------------------------
# httptools


class _Stop(Exception):
    """Raised from a callback to abort `feed_data` (llhttp cannot pause from Python)."""


class HttptoolsParser:
    """llhttp through httptools, wrapped so that the framing decisions above are ours.

    llhttp parses the head, Content-Length and chunked bodies. The wrapper handles what llhttp
    cannot know or do on the client side: bodies delimited by EOF (llhttp has no `feed_eof`),
    101 leftovers, trailers (they arrive through `on_header` after the head), limits, and extra
    data after the response. Responses to HEAD never come here: llhttp cannot be told that
    they have no body (MagicStack/httptools#47), so `H1Connection` gives those rare cycles to
    a `PythonParser`.

    The callbacks run for every response, so they do the least possible: `on_header` only
    appends (the trailers get a fresh list once the head is complete), and the HTTP version
    comes from the first bytes of the cycle when they are the common `HTTP/1.1 `, because
    httptools' `get_http_version()` costs as much as parsing three header fields.
    """

    def __init__(self, events: deque[Event], max_head_size: int, max_header_count: int) -> None:
        import httptools

        self._httptools = httptools
        self._events = events
        self.max_head_size = max_head_size
        self.max_header_count = max_header_count
        # llhttp hands the reason phrase over in pieces when it spans reads; collecting them
        # with a C method spares a Python call per response (httptools takes any callable).
        self._reason_parts: list[bytes] = []
        self.on_status = self._reason_parts.append
        self._parser = self._new_parser()
        self._head: Headers = []  # the final response's header fields
        self._feed_size = 0  # the size of the data being fed
        self._http_11 = False  # whether the cycle's bytes began with b"HTTP/1.1 "
        self.reset()

    def _new_parser(self) -> typing.Any:
        parser = self._httptools.HttpResponseParser(self)
        parser.set_dangerous_leniencies(
            lenient_optional_cr_before_lf=True,
            lenient_spaces_after_chunk_size=True,
        )
        return parser

    def reset(self) -> None:
        """Prepare for the next response on the same connection."""
        self.state = HEAD
        self.keep_alive = False
        self.extra_data = False
        self._headers: Headers = []  # header fields, then trailer fields
        self._reason_parts.clear()
        self._head_bytes = 0  # bytes fed while the head was incomplete, before this feed
        self._received = 0  # body bytes, for the incomplete-body message
        self._framing_bytes = 0  # bytes fed since the last body bytes

    # -- driving ---------------------------------------------------------------------------

    def feed(self, data: bytes | memoryview) -> None:
        state = self.state
        if state >= DONE:
            if state == ERROR:
                raise RemoteProtocolError("Cannot receive data: the connection is broken.")
            if is_extra_data(data):
                self.extra_data = True
            return
        if state == HEAD and not self._head_bytes:
            # The first bytes of the response (llhttp only skips leading CR/LF, so a b"H" here
            # starts b"HTTP/"): int compares are the cheapest test, on bytes and memoryviews.
            self._http_11 = len(data) > 8 and data[0] == 72 and data[5] == 49 and data[7] == 49
        self._feed_size = len(data)
        received = self._received
        try:
            self._parser.feed_data(data)
        except self._httptools.HttpParserUpgrade as exc:
            self._events.append(Upgrade(bytes(data[exc.args[0] :])))
            self.state = DONE
        except self._httptools.HttpParserCallbackError as exc:
            # A callback raised: either _Stop (data after the response) or a protocol error.
            # Either way the llhttp parser is not used again: a connection is only reused
            # after a clean response.
            error = exc.__context__
            if not isinstance(error, _Stop):
                self.state = ERROR
                if isinstance(error, RemoteProtocolError):
                    raise error from None
                raise  # a bug in a callback: let it surface
        except self._httptools.HttpParserError as exc:
            if self.state == DONE:
                # e.g. "Data after `Connection: close`": the response itself was complete.
                self.extra_data = True
            else:
                self.state = ERROR
                raise RemoteProtocolError(f"Invalid HTTP response: {exc}.") from None
        if self.state == HEAD:
            # Still inside a head: bound what llhttp is accumulating.
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_size:
                self.state = ERROR
                raise _head_too_large(self.max_head_size)
            if len(self._headers) > self.max_header_count:
                self.state = ERROR
                raise _too_many_fields(self.max_header_count)
        elif self.state == BODY:
            if self._received != received:
                self._framing_bytes = 0
                return
            # No body bytes in this read: chunk framing or trailers, which llhttp accumulates
            # without limit (a trailer that never ends), so they get the head's limits.
            self._framing_bytes += len(data)
            if self._framing_bytes > self.max_head_size:
                self.state = ERROR
                raise _head_too_large(self.max_head_size)
            if len(self._headers) > self.max_header_count:
                self.state = ERROR
                raise _too_many_fields(self.max_header_count)

    def feed_eof(self) -> None:
        state = self.state
        if state == BODY:
            framing = head_framing(self._head)[0]
            if framing is None:
                self._events.append(END_OF_MESSAGE)
                self.state = DONE
                self.keep_alive = False
                return
            self.state = ERROR
            raise incomplete_body_error(framing, self._received)
        if state == HEAD or state == UPGRADE:
            self.state = ERROR
            raise RemoteProtocolError(DISCONNECTED)
        self.keep_alive = False  # DONE: a closed connection is not reused; ERROR: reported

    # -- llhttp callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.state == DONE:
            # A second response in the same read: never parsed, see the module docstring.
            self.extra_data = True
            raise _Stop

    def on_header(self, name: bytes, value: bytes) -> None:
        if value and value[-1] <= 32:  # trailing whitespace (an int compare: cheapest test)
            value = value.rstrip(b" \t")
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        status_code = parser.get_status_code()
        headers = self._headers
        if self._http_11:
            http_version = HTTP_11
        else:
            http_version = self._http_version()
        reason = b"".join(self._reason_parts)  # (one part: returned as is, not copied)
        if (
            len(headers) > self.max_header_count
            or self._head_bytes + self._feed_size > self.max_head_size
        ):
            self._check_limits(reason, headers)
        if status_code < 200:
            self._interim(status_code, reason, http_version)
            return
        self._events.append(Response(status_code, reason, headers, http_version))
        self.state = BODY
        # llhttp knows whether the body is self-delimited; HTTP/1.0 never keeps alive (h11).
        self.keep_alive = http_version is HTTP_11 and parser.should_keep_alive()
        self._head = headers
        self._headers = []  # trailers, if any, arrive through on_header from now on

    def _http_version(self) -> bytes:
        version = self._parser.get_http_version()
        if version == "1.1":
            return HTTP_11
        if version == "1.0":
            return HTTP_10
        raise RemoteProtocolError(f"Unsupported HTTP version in response: HTTP/{version}.")

    def _check_limits(self, reason: bytes, headers: Headers) -> None:
        if len(headers) > self.max_header_count:
            raise _too_many_fields(self.max_header_count)
        # The head may end anywhere in this feed: only now is its exact size worth computing.
        size = len(reason) + 15 + sum(len(k) + len(v) + 4 for k, v in headers)
        if size > self.max_head_size:
            raise _head_too_large(self.max_head_size)

    def _interim(self, status_code: int, reason: bytes, http_version: bytes) -> None:
        if status_code < 100:
            raise RemoteProtocolError(f"Invalid status code in response: {status_code}.")
        if status_code == 101:
            check_upgrade(self._headers)
            self._events.append(Response(101, reason, self._headers, http_version))
            self.state = UPGRADE
        # Other 1xx: skipped; llhttp completes them and parses what follows. The final
        # response's version is not known from the first bytes any more.
        self._http_11 = False
        self._headers = []
        self._reason_parts.clear()

    def on_body(self, body: bytes) -> None:
        self._received += len(body)
        self._events.append(Data(body))

    def on_message_complete(self) -> None:
        if self.state == BODY:
            trailers = self._headers
            self._events.append(EndOfMessage(trailers) if trailers else END_OF_MESSAGE)
            self.state = DONE
        # Otherwise: the end of a skipped 1xx or a 101, already handled.


# ---------------------------------------------------------------------------------------------
# Pure Python

_STATUS_LINE_RE = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: ([^\r\n]*))?\r?\n")
# A header field line, at a line start: a token, then a value of visible ASCII and obs-text
# runs separated by SP/HTAB, without the whitespace around it; the line ends with CRLF or LF.
# No two parts of the pattern can match the same bytes, so matching stays linear even on
# hostile input (no catastrophic backtracking).
_FIELD_RE = re.compile(
    rb"^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*"
    rb"(?:([\x21-\x7e\x80-\xff]+(?:[ \t]+[\x21-\x7e\x80-\xff]+)*)[ \t]*)?\r?\n",
    re.MULTILINE,
)
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
# A chunk size line: the size, spaces (tolerated, as by llhttp with the leniency), extensions;
# like llhttp, the line may end with a bare LF only after an extension.
_CHUNK_LINE_RE = re.compile(
    rb"([0-9A-Fa-f]+)[ \t]*(?:\r\n|(?:;%b(?:=(?:%b|%b))?)+\r?\n)" % (_TOKEN, _TOKEN, _QUOTED)
)


class PythonParser:
    """A pure-Python parser with the same behaviour as `HttptoolsParser` (about 3x slower).

    Received bytes accumulate in one bytearray (deleting consumed bytes from its front is
    O(1) in CPython), searched only where they have not been searched yet; body bytes that
    arrive with nothing buffered go straight from the caller's data into the Data event.
    """

    def __init__(self, events: deque[Event], max_head_size: int, max_header_count: int) -> None:
        self._events = events
        self.max_head_size = max_head_size
        self.max_header_count = max_header_count
        self._buffer = bytearray()
        self.reset()

    def reset(self) -> None:
        self.head_request = False  # set by H1Connection for the cycle's request
        self.state = HEAD
        self.keep_alive = False
        self.extra_data = False
        self._buffer.clear()
        self._scanned = 0  # how far the buffer was searched for the end of the head
        self._lines = 0  # line feeds in the scanned part: bounds the field count early
        self._framing: int | None = None
        self._remaining = 0  # bytes left in the body (Content-Length) or the current chunk
        self._received = 0
        self._chunk_state = 0  # 0: size line, 1: data, 2: CRLF after data, 3: trailers

    def feed(self, data: bytes | memoryview) -> None:
        state = self.state
        if state >= DONE:
            if state == ERROR:
                raise RemoteProtocolError("Cannot receive data: the connection is broken.")
            if is_extra_data(data):
                self.extra_data = True
            return
        if state == BODY and self._framing != -1 and not self._buffer:
            self._feed_body(data)
            return
        self._buffer += data
        try:
            self._process()
        except RemoteProtocolError:
            self.state = ERROR
            raise

    def _feed_body(self, data: bytes | memoryview) -> None:
        """Content-Length or close-delimited body bytes, with nothing buffered: no buffering."""
        size = len(data)
        if self._framing is not None:
            size = min(size, self._remaining)
            self._remaining -= size
        if size:
            self._events.append(Data(bytes(data[:size])))
            self._received += size
        if self._framing is not None and not self._remaining:
            self._events.append(END_OF_MESSAGE)
            self.state = DONE
            if is_extra_data(data[size:]):
                self.extra_data = True

    def feed_eof(self) -> None:
        state = self.state
        if state == BODY:
            if self._framing is None:
                self._emit_data(len(self._buffer))
                self._events.append(END_OF_MESSAGE)
                self.state = DONE
                return
            self.state = ERROR
            raise incomplete_body_error(self._framing, self._received)
        if state == HEAD or state == UPGRADE:
            self.state = ERROR
            raise RemoteProtocolError(DISCONNECTED)
        self.keep_alive = False

    # -- parsing ---------------------------------------------------------------------------

    def _process(self) -> None:
        while True:
            state = self.state
            if state == HEAD:
                if not self._parse_head():
                    return
            elif state == BODY:
                framing = self._framing
                if framing is None:
                    self._emit_data(len(self._buffer))
                    return
                if framing == -1:
                    if not self._parse_chunked():
                        return
                else:
                    self._parse_length()
                    if self.state == BODY:
                        return
            elif state == UPGRADE:
                self._events.append(Upgrade(bytes(self._buffer)))
                self._buffer.clear()
                self.state = DONE
                return
            else:  # DONE
                if is_extra_data(self._buffer):
                    self.extra_data = True
                self._buffer.clear()
                return

    def _emit_data(self, size: int) -> None:
        if size:
            buffer = self._buffer
            with memoryview(buffer) as view:
                data = bytes(view[:size])  # one copy (a bytearray slice would make two)
            del buffer[:size]
            self._events.append(Data(data))
            self._received += size

    def _find_blank_line(self, start: int) -> int:
        """The end of the first blank line (CRLF CRLF, or LF-only variants), or -1."""
        buffer = self._buffer
        crlf = buffer.find(b"\n\r\n", start)
        lf = buffer.find(b"\n\n", start, None if crlf == -1 else crlf + 1)
        if lf != -1:
            return lf + 2
        return -1 if crlf == -1 else crlf + 3

    def _parse_head(self) -> bool:
        buffer = self._buffer
        if buffer[:1] in (b"\r", b"\n"):
            # Stray CR/LF before a response are skipped, as by llhttp.
            del buffer[: len(buffer) - len(buffer.lstrip(b"\r\n"))]
            self._scanned = self._lines = 0
        head = self._take_block(self.max_header_count + 1)
        if head is None:
            return False
        match = _STATUS_LINE_RE.match(head)
        if match is None:
            status_line = head.split(b"\n", 1)[0]
            raise RemoteProtocolError(f"Invalid HTTP response: bad status line {status_line!r}.")
        headers = _parse_fields(head, match.end(), self.max_header_count)
        # Validate the framing headers even when there is no body, as llhttp does.
        framing, close = head_framing(headers)
        http_version = HTTP_11 if match.group(1) == b"1" else HTTP_10
        status_code = int(match.group(2))
        reason = match.group(3) or b""
        if status_code < 200:
            if status_code < 100:
                raise RemoteProtocolError(f"Invalid status code in response: {status_code}.")
            if status_code == 101:
                check_upgrade(headers)
                self._events.append(Response(101, reason, headers, http_version))
                self.state = UPGRADE
            return True  # other 1xx: skipped
        self._events.append(Response(status_code, reason, headers, http_version))
        # h11's rule: an HTTP/1.0 response is never kept alive.
        keep_alive = http_version is HTTP_11 and not close
        if self.head_request or status_code == 204 or status_code == 304:
            self._events.append(END_OF_MESSAGE)
            self.state = DONE
            self.keep_alive = keep_alive
            return True
        self._framing = framing
        self.keep_alive = keep_alive and framing is not None
        self.state = BODY
        if framing is not None and framing >= 0:
            self._remaining = framing
        return True

    def _parse_length(self) -> None:
        size = min(self._remaining, len(self._buffer))
        self._emit_data(size)
        self._remaining -= size
        if self._remaining == 0:
            self._events.append(END_OF_MESSAGE)
            self.state = DONE

    def _parse_chunked(self) -> bool:
        """Consume what can be consumed; False when more data is needed."""
        buffer = self._buffer
        chunk_state = self._chunk_state
        if chunk_state == 0:
            end = buffer.find(b"\n") + 1
            if not end:
                if len(buffer) > self.max_head_size:
                    raise RemoteProtocolError("Invalid HTTP response: chunk size line too long.")
                return False
            match = _CHUNK_LINE_RE.fullmatch(buffer, 0, end)
            if match is None:
                raise RemoteProtocolError("Invalid HTTP response: bad chunk size line.")
            size = match.group(1).lstrip(b"0")  # copied before the buffer changes under it
            if len(size) > 16:
                raise RemoteProtocolError("Invalid HTTP response: chunk size too large.")
            del buffer[:end]
            self._remaining = int(size or b"0", 16)
            self._chunk_state = 1 if self._remaining else 3
        elif chunk_state == 1:
            size = min(self._remaining, len(buffer))
            self._emit_data(size)
            self._remaining -= size
            if self._remaining:
                return False
            self._chunk_state = 2
        elif chunk_state == 2:
            if len(buffer) < 2:
                if buffer and buffer[0] != 13:
                    raise RemoteProtocolError("Invalid HTTP response: no CRLF after chunk data.")
                return False
            if buffer[:2] != b"\r\n":
                raise RemoteProtocolError("Invalid HTTP response: no CRLF after chunk data.")
            del buffer[:2]
            self._chunk_state = 0
        else:
            return self._parse_trailers()
        return True

    def _parse_trailers(self) -> bool:
        buffer = self._buffer
        if buffer.startswith(b"\r\n") or buffer.startswith(b"\n"):
            del buffer[: 2 if buffer[0] == 13 else 1]
            trailers: Headers = []
        else:
            block = self._take_block(self.max_header_count)
            if block is None:
                return False
            trailers = _parse_fields(block, 0, self.max_header_count)
        self._events.append(EndOfMessage(trailers) if trailers else END_OF_MESSAGE)
        self.state = DONE
        return True

    def _take_block(self, max_lines: int) -> bytes | None:
        """Remove and return the buffered lines up to and including the first blank line
        (a head, or trailers), or None if it is not all here yet; enforces the limits."""
        buffer = self._buffer
        start = max(self._scanned - 2, 0)  # a blank line may straddle the previous search
        end = self._find_blank_line(start)
        if end == -1:
            self._lines += buffer.count(b"\n", self._scanned)
            self._scanned = len(buffer)
            if len(buffer) > self.max_head_size:
                raise _head_too_large(self.max_head_size)
            if self._lines > max_lines:
                raise _too_many_fields(self.max_header_count)
            return None
        if end > self.max_head_size:
            raise _head_too_large(self.max_head_size)
        with memoryview(buffer) as view:
            block = bytes(view[:end])
        del buffer[:end]
        self._scanned = self._lines = 0
        return block


def _parse_fields(block: bytes, start: int, max_count: int) -> Headers:
    """The header (or trailer) fields in `block[start:]`, which ends with the blank line.
    Obs-fold lines, bare CRs and control bytes in values are errors."""
    fields: Headers = _FIELD_RE.findall(block, start)
    # Each valid line matched once; any line that did not is invalid.
    if len(fields) != block.count(b"\n", start) - 1:
        for line in block[start:].splitlines(keepends=True)[:-1]:
            if not _FIELD_RE.fullmatch(line):
                raise RemoteProtocolError(f"Invalid HTTP response: bad header line {line!r}.")
        raise RemoteProtocolError("Invalid HTTP response: bad line ending in the head.")
    if len(fields) > max_count:
        raise _too_many_fields(max_count)
    return fields


def make_parser(
    name: str | None, events: deque[Event], max_head_size: int, max_header_count: int
) -> ResponseParser:
    """The parser called `name` ("httptools" or "python"); None picks httptools if installed."""
    if name is None:
        try:
            import httptools  # noqa: F401
        except ImportError:  # pragma: no cover - PyPy or a platform without wheels
            name = "python"
        else:
            name = "httptools"
    if name == "httptools":
        return HttptoolsParser(events, max_head_size, max_header_count)
    if name == "python":
        return PythonParser(events, max_head_size, max_header_count)
    raise ValueError(f"Unknown HTTP/1.1 parser {name!r}: expected 'httptools' or 'python'.")
