"""
Sans-I/O HTTP/2 client connection logic, on top of `jh2` (preferred: same API as `h2`, with
HPACK in Rust) or `h2`.

`H2Protocol` owns one connection's HTTP/2 state and the per-stream state (`H2Stream`) the
drivers wait on. It does no I/O: drivers feed it received bytes (`receive_data`,
`receive_eof`), call its request methods, and write `data_to_send()`: all frames pending
since the last write, in one buffer (asyncio writes once per loop turn whatever the number
of streams that produced frames; the threads of the sync driver write whatever is pending).

Header validation is ours: `Headers` validates names and values when they are set, so the
library's own validation and normalisation are switched off (they cost more than the rest of
the state machine together; see research/protocol-measurements.md §4). What HTTP/2 forbids
and HTTP/1.1 allows (connection-specific headers, upper-case names) is dealt with here, once.

Flow control: received DATA is acknowledged when the application takes it (`take_body`), so a
response read slowly stops its sender instead of filling memory; the bytes of finished streams
go back to the connection window in bulk (`_release`), and h2 itself sends a WINDOW_UPDATE only
once half a window is used, so small responses cost no flow-control frame at all. Request
bodies are sent up to the peer's window (`send_body` reports how much went) and the driver
waits for window updates.
"""

from __future__ import annotations

import importlib.util
import typing

from .._exceptions import LocalProtocolError, RemoteProtocolError

if typing.TYPE_CHECKING:  # pragma: no cover
    from jh2 import events as h2_events
    from jh2.config import H2Configuration
    from jh2.connection import H2Connection as _H2Connection
    from jh2.errors import ErrorCodes
    from jh2.exceptions import ProtocolError
    from jh2.settings import SettingCodes, Settings

__all__ = [
    "HTTP2_AVAILABLE",
    "H2Head",
    "H2Protocol",
    "H2Stream",
    "RetryableStreamError",
    "Connecting",
    "require_h2",
    "speaks_h2",
]

# jh2 (preferred: the same API as h2, several times faster) or h2 costs ~14 ms of CPU to import,
# so it is only looked for here (`find_spec` imports nothing) and imported by `_load_h2`, with the
# first HTTP/2 connection.
HTTP2_AVAILABLE = any(importlib.util.find_spec(name) is not None for name in ("jh2", "h2"))
_loaded = False

# Our receive windows: large enough to keep a fast download going on loopback and LANs,
# small enough that a few unread responses cannot pin much memory.
STREAM_WINDOW = 2**21  # 2 MiB per stream
CONNECTION_WINDOW = 2**24  # 16 MiB for the connection
# The largest frame we accept (SETTINGS_MAX_FRAME_SIZE; 16 KiB by default). A server that
# honours it sends a big body in 8x fewer frames, and each frame costs h2 the same Python work
# whatever its size. Larger frames stop paying: a frame is copied whole several times inside
# h2, and copies past the allocator's mmap threshold fault in fresh pages (measured, 100 MiB
# download over TLS: 16 KiB ~1.6 CPU s/GB, 128 KiB ~1.1, 256 KiB and more ~2.3).
MAX_FRAME_SIZE = 2**17
# Bytes of finished streams given back to the connection window at once (see `_release`):
# small against CONNECTION_WINDOW, so the window the server sees stays wide open.
RELEASE_BATCH = 2**20
# The peer's concurrent-stream limit before its SETTINGS arrive (RFC 9113 recommends >= 100),
# and a cap on what we use whatever it announces (it may say 2**31 - 1).
DEFAULT_MAX_STREAMS = 100
MAX_STREAMS_CAP = 1000

# Request headers HTTP/2 forbids (RFC 9113 §8.2.2) or carries as pseudo-headers (host).
_DROPPED_HEADERS = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade", b"host")
)


def _load_h2() -> None:
    """Import jh2 (or h2) into this module's globals; called once, by the first `H2Protocol`."""
    global h2_events, H2Configuration, ErrorCodes, ProtocolError, SettingCodes, Settings
    global _H2Connection, _loaded
    try:  # jh2 first: the same API as h2, several times faster
        from jh2 import events as h2_events
        from jh2.config import H2Configuration
        from jh2.connection import H2Connection
        from jh2.errors import ErrorCodes
        from jh2.exceptions import ProtocolError
        from jh2.settings import SettingCodes, Settings
    except ImportError:  # pragma: no cover - depends on the installed extras
        # `require_h2()` has already checked that one of the two is installed.
        from h2 import events as h2_events  # type: ignore[no-redef]
        from h2.config import H2Configuration  # type: ignore[no-redef]
        from h2.connection import H2Connection  # type: ignore[no-redef]
        from h2.errors import ErrorCodes  # type: ignore[no-redef]
        from h2.exceptions import ProtocolError  # type: ignore[no-redef]
        from h2.settings import SettingCodes, Settings  # type: ignore[no-redef]

    class _H2Connection(H2Connection):  # type: ignore[misc,valid-type]
        """h2's connection, counting open outbound streams in O(1).

        h2 scans every stream it knows on each new stream (`_open_streams`), quadratic in the
        concurrency; our pool already keeps the number of streams within the server's limit,
        so our own count (`ours`: the streams in use) answers. h2's scan, which also forgets
        closed streams, still runs once every `SWEEP` new streams.
        """

        SWEEP = 64
        ours: dict[int, typing.Any] = {}
        _sweep = 0

        @property
        def open_outbound_streams(self) -> int:
            self._sweep += 1
            if self._sweep < self.SWEEP:
                return len(self.ours)
            self._sweep = 0
            return int(super().open_outbound_streams)

    _loaded = True


def require_h2() -> None:
    """ImportError with httpx's install hint when neither h2 nor jh2 is installed."""
    if not HTTP2_AVAILABLE:
        raise ImportError(
            "Using http2=True, but the 'h2' package is not installed. "
            "Make sure to install rapidhttp using `pip install rapidhttp[http2]`."
        )


def speaks_h2(config: typing.Any, route: typing.Any, conn: typing.Any) -> bool:
    """Whether a new connection (of any driver) talks HTTP/2: "h2" chosen by ALPN over TLS,
    or prior knowledge over cleartext (``http1=False, http2=True``), as in httpx."""
    if route.tls is not None:
        ssl_object = conn.get_extra_info("ssl_object")
        return ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2"
    return not config.http1 and not route.forward


def may_speak_h2(config: typing.Any, route: typing.Any) -> bool:
    """Whether a connection about to be opened may turn out HTTP/2 (see `speaks_h2`)."""
    return config.http2 and (route.tls is not None or not config.http1 and not route.forward)


class Connecting:
    """The origins to which a connection that may turn out HTTP/2 is being opened.

    Without this, N concurrent first requests to an origin open N connections (each finds no
    connection to share yet). With it, one request connects and the others wait for it: an
    HTTP/2 connection is then shared by all; if it turned out HTTP/1.1, the origin is
    remembered as such and later requests connect in parallel as usual. Pure bookkeeping: the
    driver supplies the wake-up callbacks and does the locking (sync) or none (async).
    """

    def __init__(self) -> None:
        self._waiting: dict[typing.Hashable, list[typing.Callable[[], None]]] = {}
        self.http11: set[typing.Hashable] = set()

    def begin(self, key: typing.Hashable) -> bool:
        """True: the caller connects (and must call `end`); False: another request is
        connecting to this origin, so the caller should `wait`."""
        if key in self.http11 or key not in self._waiting:
            if key not in self.http11:
                self._waiting[key] = []
            return True
        return False

    def wait(self, key: typing.Hashable, wake: typing.Callable[[], None]) -> None:
        self._waiting[key].append(wake)

    def cancel(self, key: typing.Hashable, wake: typing.Callable[[], None]) -> None:
        waiting = self._waiting.get(key)
        if waiting is not None and wake in waiting:
            waiting.remove(wake)

    def end(self, key: typing.Hashable, http2: bool | None) -> None:
        """The connection attempt is over: HTTP/2 (True), HTTP/1.1 (False) or failed (None)."""
        if http2 is False:
            if len(self.http11) >= 1024:  # bounded, like the route cache
                self.http11.clear()
            self.http11.add(key)
        for wake in self._waiting.pop(key, ()):
            wake()


class RetryableStreamError(RemoteProtocolError):
    """The server refused a stream without processing it (GOAWAY above its last stream id, or
    RST_STREAM with REFUSED_STREAM): the request may be sent again on a new connection."""


class H2Head:
    """A response head, with the attributes `exchange.build_response` reads."""

    __slots__ = ("status_code", "headers")
    http_version = b"HTTP/2"
    reason_phrase = b""

    def __init__(self, status_code: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status_code
        self.headers = headers


class H2Stream:
    """One request/response exchange: what has arrived for it and not yet been taken."""

    __slots__ = (
        "stream_id",
        "head",
        "chunks",
        "unacked",
        "ended",
        "trailers",
        "error",
    )

    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id
        self.head: H2Head | None = None
        self.chunks: list[bytes] = []
        self.unacked = 0  # flow-controlled bytes received but not taken yet
        self.ended = False
        self.trailers: list[tuple[bytes, bytes]] | None = None
        self.error: Exception | None = None

    @property
    def ready(self) -> bool:
        """Something to act on: body data, the end, or an error."""
        return bool(self.chunks) or self.ended or self.error is not None


class H2Protocol:
    """The HTTP/2 state of one client connection; see the module docstring."""

    def __init__(self) -> None:
        require_h2()
        if not _loaded:
            _load_h2()
        config = H2Configuration(
            client_side=True,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            validate_inbound_headers=False,
            normalize_inbound_headers=False,
        )
        conn = _H2Connection(config=config)
        conn.local_settings = Settings(
            client=True,
            initial_values={
                SettingCodes.ENABLE_PUSH: 0,  # server push refused up front
                SettingCodes.MAX_CONCURRENT_STREAMS: 100,
                SettingCodes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
                SettingCodes.MAX_HEADER_LIST_SIZE: 65536,
                SettingCodes.MAX_FRAME_SIZE: MAX_FRAME_SIZE,
            },
        )
        # h2 would announce this setting, which only servers may use.
        conn.local_settings.pop(SettingCodes.ENABLE_CONNECT_PROTOCOL, None)
        # h2 applies our settings to itself when the server acknowledges them, and initial
        # values are never "changed" settings: this one must be set by hand.
        conn.max_inbound_frame_size = MAX_FRAME_SIZE
        conn.initiate_connection()
        conn.increment_flow_control_window(CONNECTION_WINDOW - 65535)
        self._conn = conn
        self.streams: dict[int, H2Stream] = {}
        conn.ours = self.streams
        self.max_streams = DEFAULT_MAX_STREAMS
        self.settings_received = False
        # Set once no new stream may start: GOAWAY received, connection error, EOF.
        self.closed_reason: Exception | None = None
        # Set once no frame may be sent: connection error, EOF, our GOAWAY (a server's
        # graceful GOAWAY still lets its remaining streams finish, with flow control).
        self._dead = False
        self._goaway_last = 2**31 - 1  # the lowest last-stream-id of the GOAWAYs received
        self._unreleased = 0  # connection-window bytes not yet given back (see `_release`)

    # ------------------------------------------------------------------ state

    @property
    def usable(self) -> bool:
        """Whether new streams may start on this connection."""
        return self.closed_reason is None

    @property
    def idle(self) -> bool:
        return not self.streams

    def data_to_send(self) -> bytes:
        return self._conn.data_to_send()

    @property
    def pending(self) -> int:
        """How many bytes of frames wait for `data_to_send` (counted without taking them)."""
        return len(self._conn._data_to_send)

    # ------------------------------------------------------------------ requests

    def start_request(
        self,
        method: bytes,
        scheme: bytes,
        authority: bytes,
        path: bytes,
        headers: list[tuple[bytes, bytes]],
        end_stream: bool,
    ) -> H2Stream:
        """Send a request's HEADERS (and END_STREAM for a bodiless request)."""
        if self.closed_reason is not None:
            raise RetryableStreamError(str(self.closed_reason))
        fields = [
            (b":method", method),
            (b":authority", authority),
            (b":scheme", scheme),
            (b":path", path),
        ]
        for name, value in headers:
            name = name.lower()
            if name in _DROPPED_HEADERS:
                if name == b"host":
                    fields[1] = (b":authority", value)
                continue
            if name == b"te" and value.lower() != b"trailers":
                continue
            fields.append((name, value))
        conn = self._conn
        stream_id = conn.get_next_available_stream_id()
        try:
            conn.send_headers(stream_id, fields, end_stream=end_stream)
        except ProtocolError as exc:
            raise LocalProtocolError(f"Could not start an HTTP/2 stream: {exc}") from exc
        stream = self.streams[stream_id] = H2Stream(stream_id)
        return stream

    def send_body(self, stream: H2Stream, data: memoryview) -> int:
        """Send as much of `data` as the flow-control windows allow; returns the byte count.

        Zero means: wait for a window update (or for the stream to end or fail).
        """
        conn = self._conn
        stream_id = stream.stream_id
        sent = 0
        try:
            window = conn.local_flow_control_window(stream_id)
            frame = conn.max_outbound_frame_size
            while sent < len(data) and window > 0:
                size = min(window, frame, len(data) - sent)
                conn.send_data(stream_id, data[sent : sent + size].tobytes())
                sent += size
                window -= size
        except ProtocolError as exc:
            # The stream closed under us (reset by the server, or the response ended early).
            if stream.error is None and not stream.ended:
                stream.error = RemoteProtocolError(f"HTTP/2 stream {stream_id} closed: {exc}")
            raise stream.error or RemoteProtocolError(str(exc)) from exc
        return sent

    def can_send(self, stream: H2Stream) -> bool:
        """Whether a request-body writer blocked on flow control may go on: the window
        opened, or the stream ended or failed (so there is nothing left to wait for)."""
        return self.send_window(stream) > 0 or stream.ended or stream.error is not None

    def send_window(self, stream: H2Stream) -> int:
        """How many body bytes the flow-control windows let this stream send now."""
        try:
            return int(self._conn.local_flow_control_window(stream.stream_id))
        except ProtocolError:  # the stream closed: nothing more goes (the caller sees why)
            return 0

    def end_request(self, stream: H2Stream) -> None:
        try:
            self._conn.end_stream(stream.stream_id)
        except ProtocolError:
            # The server already closed the stream (e.g. answered early and reset it): what
            # it sent, or its reset, is what the caller sees next.
            pass

    def close_stream(self, stream: H2Stream) -> None:
        """The caller is done with this stream: reset it if still open (a cancelled or
        abandoned request), and forget it."""
        stream_id = stream.stream_id
        if self.streams.pop(stream_id, None) is None:
            return
        if not self._dead and not (stream.ended and self._is_closed(stream_id)):
            try:
                self._conn.reset_stream(stream_id, ErrorCodes.CANCEL)
            except ProtocolError:  # already closed on the protocol level
                pass
        if stream.unacked:
            # Give the connection window back (the stream's own window no longer matters).
            self._release(stream.unacked, stream_id)
            stream.unacked = 0

    def _is_closed(self, stream_id: int) -> bool:
        h2_stream = self._conn.streams.get(stream_id)
        return h2_stream is None or h2_stream.closed

    def take_body(self, stream: H2Stream) -> list[bytes]:
        """The body chunks received so far, acknowledging them to the flow control."""
        chunks = stream.chunks
        stream.chunks = []
        if stream.unacked:
            if stream.ended:  # no more data comes on it: only the connection window matters
                self._release(stream.unacked, stream.stream_id)
            elif not self._dead:
                self._conn.acknowledge_received_data(stream.unacked, stream.stream_id)
            stream.unacked = 0
        return chunks

    def _release(self, size: int, stream_id: int) -> None:
        """Give `size` bytes of a stream that receives nothing more back to the connection
        window, in bulk: one acknowledgement per `RELEASE_BATCH` bytes instead of one per
        response (h2 sends the WINDOW_UPDATE later still, once half the window is used)."""
        self._unreleased += size
        if self._unreleased >= RELEASE_BATCH and not self._dead:
            # On a closed stream h2 only credits the connection window, which is the point.
            self._conn.acknowledge_received_data(self._unreleased, stream_id)
            self._unreleased = 0

    def close(self) -> None:
        """Say GOAWAY (the driver then writes `data_to_send()` and closes the socket)."""
        if not self._dead:
            self._dead = True
            if self.closed_reason is None:
                self.closed_reason = RemoteProtocolError("The HTTP/2 connection was closed.")
            try:
                self._conn.close_connection()
            except ProtocolError:  # pragma: no cover - already terminated
                pass

    # ------------------------------------------------------------------ receiving

    def receive_data(self, data: bytes | memoryview) -> list[H2Stream]:
        """Process received bytes; returns the streams that made progress (for the driver
        to wake), all of them when the connection failed."""
        try:
            events = self._conn.receive_data(data)  # h2 copies it into its frame buffer
        except ProtocolError as exc:
            return self._fail(RemoteProtocolError(f"HTTP/2 protocol error from the server: {exc}"))
        streams = self.streams
        touched: list[H2Stream] = []
        for event in events:
            stream_id = getattr(event, "stream_id", None)
            stream = streams.get(stream_id) if stream_id else None
            kind = type(event)
            if kind is h2_events.DataReceived:
                if stream is None:
                    # Data for a stream we gave up on: keep the connection window open.
                    self._release(event.flow_controlled_length, event.stream_id)
                    continue
                if event.data:
                    stream.chunks.append(event.data)
                stream.unacked += event.flow_controlled_length
                if event.stream_ended is not None:
                    stream.ended = True
            elif kind is h2_events.ResponseReceived:
                if stream is None:
                    continue
                try:
                    stream.head = _head(event.headers)
                except RemoteProtocolError as exc:
                    stream.error = exc
                if event.stream_ended is not None:
                    stream.ended = True
            elif kind is h2_events.StreamEnded:
                if stream is None:
                    continue
                stream.ended = True
            elif kind is h2_events.TrailersReceived:
                if stream is None:
                    continue
                stream.trailers = [(k, v) for k, v in event.headers if not k.startswith(b":")]
                if event.stream_ended is not None:
                    stream.ended = True
            elif kind is h2_events.StreamReset:
                if stream is None or stream.ended:
                    continue
                code = _error_name(event.error_code)
                message = f"The server reset HTTP/2 stream {stream_id} ({code})."
                if event.error_code == ErrorCodes.REFUSED_STREAM and stream.head is None:
                    stream.error = RetryableStreamError(message)
                else:
                    stream.error = RemoteProtocolError(message)
            elif kind is h2_events.ConnectionTerminated:
                touched.extend(self._goaway(event))
                continue
            elif kind is h2_events.RemoteSettingsChanged:
                self.settings_received = True
                changed = event.changed_settings.get(SettingCodes.MAX_CONCURRENT_STREAMS)
                if changed is not None:
                    self.max_streams = max(1, min(changed.new_value, MAX_STREAMS_CAP))
                touched.extend(streams.values())
                continue
            elif kind is h2_events.WindowUpdated:
                if stream_id:
                    if stream is not None:
                        touched.append(stream)
                else:
                    touched.extend(streams.values())
                continue
            elif kind is h2_events.PushedStreamReceived:  # pragma: no cover - push disabled
                self._conn.reset_stream(event.pushed_stream_id, ErrorCodes.REFUSED_STREAM)
                continue
            else:  # 1xx, pings (answered by h2), priority, settings acks, unknown frames
                continue
            touched.append(stream)
        return touched

    def receive_eof(self) -> list[H2Stream]:
        """The server closed the connection: every unfinished stream fails."""
        return self._fail(
            RemoteProtocolError("Server disconnected without sending a complete response.")
        )

    def fail(self, exc: Exception) -> list[H2Stream]:
        """The connection broke (read or write error): every unfinished stream fails."""
        return self._fail(exc)

    def _fail(self, exc: Exception) -> list[H2Stream]:
        self._dead = True
        if self.closed_reason is None:
            self.closed_reason = exc
        failed = []
        for stream in self.streams.values():
            if not stream.ended and stream.error is None:
                stream.error = exc
                failed.append(stream)
        return failed

    def _goaway(self, event: typing.Any) -> list[H2Stream]:
        last = event.last_stream_id if event.last_stream_id is not None else 2**31 - 1
        # A second GOAWAY cannot take back the first one's promise: streams above its last
        # stream id were not processed, whatever a later (e.g. error) GOAWAY says.
        last = self._goaway_last = min(last, self._goaway_last)
        code = _error_name(event.error_code)
        self.closed_reason = RetryableStreamError(
            f"The server closed the HTTP/2 connection (GOAWAY, {code})."
        )
        touched = []
        for stream in self.streams.values():
            if stream.ended or stream.error is not None:
                continue
            if stream.stream_id > last:
                # Never processed by the server: safe to send again elsewhere.
                stream.error = RetryableStreamError(
                    f"The server did not process HTTP/2 stream {stream.stream_id} (GOAWAY)."
                )
                touched.append(stream)
            elif event.error_code:
                stream.error = RemoteProtocolError(
                    f"The server closed the HTTP/2 connection ({code})."
                )
                touched.append(stream)
        return touched


def _head(headers: list[tuple[bytes, bytes]]) -> H2Head:
    status = 0
    fields = []
    for name, value in headers:
        if name.startswith(b":"):
            if name == b":status":
                try:
                    status = int(value)
                except ValueError:
                    status = 0
        else:
            fields.append((name, value))
    if not 100 <= status <= 999:
        raise RemoteProtocolError(f"Invalid HTTP/2 :status {status!r}.")
    return H2Head(status, fields)


def _error_name(code: typing.Any) -> str:
    try:
        return str(ErrorCodes(code).name)
    except ValueError:
        return f"error code {code}"
