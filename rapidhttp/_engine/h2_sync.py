"""
HTTP/2 for the blocking-socket driver: one connection carries the requests of many threads.

httpx's HTTP/2 breaks when threads share a client (encode/httpx#3072, #3324); here the sharing
is designed in, with two locks per connection, always taken in this order:

- ``io_lock`` orders writes (frames leave in the order the state machine produced them: HPACK
  depends on it) and serialises every use of the TLS object (an SSL object must not be used by
  two threads at once). It is held only for a write or for one read of a socket known to be
  readable, never while waiting for the network.
- ``lock`` guards the sans-I/O `H2Protocol` and the streams; it is never held during I/O.

Reading follows the leader/follower pattern: a thread that needs something for its stream and
finds nobody reading becomes the reader; it waits for the socket to become readable (its own
read timeout), feeds what arrived to the protocol and wakes the streams that made progress. The
others wait on their stream's condition and one of them takes over reading when the reader is
done. So no background thread exists, and a thread that times out or is interrupted only resets
its own stream.
"""

from __future__ import annotations

import select
import threading
import time
import typing
import weakref

from .._exceptions import (
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    RequestError,
    WriteError,
    WriteTimeout,
)
from .._types import SyncByteStream
from . import exchange
from .exchange import CompleteStream, build_response, request_body
from .h2 import Connecting, H2Protocol, H2Stream, RetryableStreamError, speaks_h2
from .tls import save_session

if typing.TYPE_CHECKING:  # pragma: no cover
    from .._models import Request, Response
    from .pool import ConnectionPool
    from .sync import SyncConnection, SyncEngine, _Lease

__all__ = ["H2SyncConnection", "connect_h2"]

# One read takes in up to this much (several TLS records: see `_read`), so a download feeds h2
# a few big frames per call instead of one 16 KiB record at a time.
BUFFER_SIZE = 2**18
_monotonic = time.monotonic


def _has_head(stream: H2Stream) -> bool:
    return stream.head is not None or stream.ended or stream.error is not None


def _ready(stream: H2Stream) -> bool:
    return stream.ready


def _response(head: typing.Any, stream: typing.Any, io: SyncConnection) -> Response:
    response = build_response(head, stream, io)
    # HTTP/2 has no reason phrase: `Response.reason_phrase` falls back to the standard one.
    del response.extensions["reason_phrase"]
    return response


def _raise(stream: H2Stream) -> typing.NoReturn:
    """Raise the stream's error as a fresh exception: a connection failure is shared by all its
    streams, and each request gets its own exception object (with its own request)."""
    error = stream.error
    if error is None:
        raise RemoteProtocolError("The server ended the HTTP/2 stream without a response.")
    raise type(error)(str(error))


class H2SyncConnection:
    """An HTTP/2 connection over a `SyncConnection`'s socket, shared by threads."""

    # Stands in for HTTP/1.1's "bytes of this response received": the engine's stale
    # keep-alive retry does not apply to HTTP/2 (GOAWAY tells what may be retried).
    received = True

    def __init__(self, io: SyncConnection, scheme: str, authority: str) -> None:
        self.io = io
        self.h2 = H2Protocol()
        self.lock = threading.Lock()
        self.io_lock = threading.Lock()
        self._scheme = scheme.encode("ascii")
        self._authority = authority.encode("ascii")
        self._reading = False
        self._waiters: dict[H2Stream, threading.Condition] = {}
        self._buffer = bytearray(BUFFER_SIZE)
        self._view = memoryview(self._buffer)
        sock = io.sock
        raw = getattr(sock, "raw_socket", sock)
        self._poll = select.poll()
        self._poll.register(raw.fileno(), select.POLLIN)
        self._pending = getattr(sock, "pending", None)

    @property
    def capacity(self) -> int:
        return self.h2.max_streams

    def start(self, timeout: float | None, trace: exchange.TraceCallback | None) -> None:
        """Send the connection preface and read the server's SETTINGS, so the pool knows the
        concurrent-stream limit before a second request shows up."""
        if trace is not None:
            exchange.trace_started(trace, "http2.send_connection_init", {})
        with self.io_lock:
            self._flush(timeout)
        deadline = None if timeout is None else _monotonic() + timeout
        while not self.h2.settings_received and self.h2.usable:
            remaining = None if deadline is None else deadline - _monotonic()
            self._read(remaining)
        if trace is not None:
            exchange.trace_complete(trace, "http2.send_connection_init")
        if not self.h2.usable:
            raise typing.cast(Exception, self.h2.closed_reason)

    # ------------------------------------------------------------------ I/O

    def _flush(self, timeout: float | None) -> None:
        """Write everything the protocol has pending. Call with ``io_lock`` held."""
        with self.lock:
            data = self.h2.data_to_send()
        if data:
            try:
                self.io.write(data, timeout)
            except (WriteError, WriteTimeout) as exc:
                self._broken(exc)
                raise

    def _read(self, timeout: float | None) -> None:
        """Wait up to `timeout` s for the socket, read once, feed the protocol, wake the
        streams that progressed and answer what needs answering (acks, pings)."""
        pending = self._pending
        if not (pending is not None and pending()):
            ready = self._poll.poll(None if timeout is None else max(timeout, 0.0) * 1000)
            if not ready:
                raise ReadTimeout(
                    f"Timed out after {timeout} s waiting for the response from {self.io.peer}"
                )
        with self.io_lock:
            try:
                nbytes = self._recv(timeout)
            except ReadError as exc:
                self._broken(exc)
                return
            with self.lock:
                if nbytes:
                    touched = self.h2.receive_data(self._view[:nbytes])
                else:
                    touched = self.h2.receive_eof()
                self._wake(touched)
            if self.h2.pending:  # acknowledgements, PING answers
                try:
                    self._flush(timeout)
                except (WriteError, WriteTimeout):
                    pass  # the streams have been failed; each reports it

    def _recv(self, timeout: float | None) -> int:
        """Read what has arrived, up to the buffer's size: a TLS socket returns one record
        (16 KiB at most) per call, so go on while more is there without waiting."""
        view = self._view
        recv_into = self.io._recv_into
        nbytes = recv_into(view, timeout, "reading from")
        pending = self._pending
        while (
            nbytes
            and nbytes < BUFFER_SIZE
            and ((pending is not None and pending()) or self._poll.poll(0))
        ):
            more = recv_into(view[nbytes:], timeout, "reading from")
            if not more:
                break  # EOF: the next read sees it again, after these bytes are used
            nbytes += more
        return nbytes

    def _broken(self, exc: Exception) -> None:
        with self.lock:
            self._wake(self.h2.fail(exc))

    def _wake(self, streams: list[H2Stream]) -> None:
        """Wake the waiting threads of `streams`. Call with ``lock`` held."""
        waiters = self._waiters
        if waiters:
            for stream in streams:
                condition = waiters.get(stream)
                if condition is not None:
                    condition.notify()

    def _wait(
        self,
        stream: H2Stream,
        done: typing.Callable[[H2Stream], bool],
        timeout: float | None,
    ) -> None:
        """Block until ``done(stream)``, reading the socket when nobody else is."""
        deadline = None if timeout is None else _monotonic() + timeout
        lock = self.lock
        with lock:
            while not done(stream):
                remaining = None if deadline is None else deadline - _monotonic()
                if remaining is not None and remaining <= 0:
                    raise ReadTimeout(
                        f"Timed out after {timeout} s waiting for the response from {self.io.peer}"
                    )
                if not self._reading:
                    self._reading = True
                    lock.release()
                    try:
                        self._read(remaining)
                    finally:
                        lock.acquire()
                        self._reading = False
                        # Hand the reading over: every waiter re-checks, one of them reads.
                        for condition in self._waiters.values():
                            condition.notify()
                else:
                    condition = self._waiters[stream] = threading.Condition(lock)
                    try:
                        condition.wait(remaining)
                    finally:
                        del self._waiters[stream]

    # ------------------------------------------------------------------ requests

    def handle(
        self,
        engine: SyncEngine,
        lease: _Lease,
        prepared: exchange.Prepared,
        request: Request,
        timeouts: exchange.Timeouts,
    ) -> Response:
        """One request on its own stream. The lease is released before any exception leaves
        (a failed stream does not make the connection unusable)."""
        trace = request.extensions.get("trace")
        stream: H2Stream | None = None
        try:
            if not self.is_usable():
                raise RetryableStreamError(str(self.h2.closed_reason))
            stream = self._send(prepared, request, timeouts[2], trace)
            if trace is not None:
                exchange.trace_started(
                    trace, "http2.receive_response_headers", {"request": request}
                )
            self._wait(stream, _has_head, timeouts[1])
            head: typing.Any = stream.head  # an H2Head, read like an HTTP/1.1 head
            if head is None:
                _raise(stream)
            if trace is not None:
                exchange.trace_complete(
                    trace,
                    "http2.receive_response_headers",
                    (head.status_code, head.headers),
                )
            if stream.ended and stream.error is None and trace is None:
                with self.lock:
                    chunks = self.h2.take_body(stream)
                self.finish(engine, lease, stream)
                return _response(head, CompleteStream(b"".join(chunks)), self.io)
            body = H2SyncResponseStream(self, engine, lease, stream, timeouts[1], request)
            return _response(head, body, self.io)
        except BaseException as exc:
            self.finish(engine, lease, stream)
            if isinstance(exc, RequestError) and exc._request is None:
                exc.request = request
            raise

    def _send(
        self,
        prepared: exchange.Prepared,
        request: Request,
        timeout: float | None,
        trace: exchange.TraceCallback | None,
    ) -> H2Stream:
        _, method, target, headers = prepared
        body = request_body(request)
        info = {"request": request}
        if trace is not None:
            exchange.trace_started(trace, "http2.send_request_headers", info)
        with self.io_lock:
            with self.lock:
                stream = self.h2.start_request(
                    method, self._scheme, self._authority, target, headers, body == b""
                )
            try:
                self._flush(timeout)
            except BaseException:
                self._abandon(stream)
                raise
        try:
            self._send_rest(stream, body, request, timeout, trace)
        except BaseException:
            self._abandon(stream)
            raise
        return stream

    def _abandon(self, stream: H2Stream) -> None:
        """Reset a stream whose request could not be sent (the caller releases the slot)."""
        with self.lock:
            self.h2.close_stream(stream)

    def _send_rest(
        self,
        stream: H2Stream,
        body: bytes | None,
        request: Request,
        timeout: float | None,
        trace: exchange.TraceCallback | None,
    ) -> None:
        info = {"request": request}
        if trace is not None:
            exchange.trace_complete(trace, "http2.send_request_headers", stream.stream_id)
        if body == b"":
            return
        if trace is not None:
            exchange.trace_started(trace, "http2.send_request_body", info)
        chunks = (body,) if body is not None else typing.cast(SyncByteStream, request.stream)
        # On any failure the caller's `finish` resets the stream.
        for chunk in chunks:
            if not self._send_chunk(stream, memoryview(chunk), timeout):
                break  # the response came (and ended) first: stop sending
        with self.io_lock:
            with self.lock:
                self.h2.end_request(stream)
            self._flush(timeout)
        if trace is not None:
            exchange.trace_complete(trace, "http2.send_request_body")

    def _send_chunk(self, stream: H2Stream, view: memoryview, timeout: float | None) -> bool:
        """Send one body chunk within the flow-control windows, waiting for window updates;
        False when the server has already ended its response."""
        h2 = self.h2
        while view:
            with self.io_lock:
                with self.lock:
                    if stream.error is not None:
                        _raise(stream)
                    if stream.ended:
                        return False
                    sent = h2.send_body(stream, view)
                self._flush(timeout)
            view = view[sent:]
            if view and not sent:
                try:
                    self._wait(stream, self.h2.can_send, timeout)
                except ReadTimeout:
                    raise WriteTimeout(
                        f"Timed out after {timeout} s sending the request to {self.io.peer}"
                    ) from None
        return True

    def finish(self, engine: SyncEngine, lease: _Lease, stream: H2Stream | None) -> None:
        """The request is over: reset its stream if still open, and release its pool slot."""
        if lease.done:
            return
        lease.done = True
        if stream is not None:
            with self.io_lock:
                with self.lock:
                    self.h2.close_stream(stream)
                try:
                    self._flush(None)
                except (WriteError, WriteTimeout):
                    pass
        if self.io.tls_sessions is not None:
            save_session(self.io)
        with engine._lock:
            to_close = lease.pool.release(lease.slot, _monotonic(), self.h2.usable)
        for conn in to_close:
            conn.close()

    def is_usable(self) -> bool:
        """Whether new streams may start; an idle connection first takes in what the server
        sent meanwhile (a GOAWAY, a close) without waiting."""
        if self.h2.usable and not self._reading and self.h2.idle:
            with self.lock:
                if self._reading:
                    return True
                self._reading = True
            try:
                if self._poll.poll(0):
                    self._read(0)
            except ReadTimeout:
                pass
            finally:
                with self.lock:
                    self._reading = False
        return self.h2.usable

    def close(self) -> None:
        with self.io_lock:
            with self.lock:
                self.h2.close()
            try:
                self._flush(0.1)
            except (WriteError, WriteTimeout):
                pass
            self.io.close()

    def __repr__(self) -> str:
        return f"<H2SyncConnection {self.io.peer} streams={len(self.h2.streams)}>"


class H2SyncResponseStream(SyncByteStream):
    """A response body arriving on an HTTP/2 stream."""

    __slots__ = ("_conn", "_engine", "_lease", "_stream", "_timeout", "_request")

    def __init__(
        self,
        conn: H2SyncConnection,
        engine: SyncEngine,
        lease: _Lease,
        stream: H2Stream,
        timeout: float | None,
        request: Request,
    ) -> None:
        self._conn = conn
        self._engine = engine
        self._lease = lease
        self._stream = stream
        self._timeout = timeout
        self._request = request

    def __iter__(self) -> typing.Iterator[bytes]:
        trace = self._request.extensions.get("trace")
        if trace is not None:
            exchange.trace_started(
                trace, "http2.receive_response_body", {"request": self._request}
            )
        conn = self._conn
        stream = self._stream
        try:
            while True:
                conn._wait(stream, _ready, self._timeout)
                with conn.lock:
                    chunks = conn.h2.take_body(stream)
                    ended = stream.ended
                if not ended and conn.h2.pending:  # window updates for what was taken
                    with conn.io_lock:
                        conn._flush(self._timeout)
                yield from chunks
                if ended:
                    break
                if stream.error is not None:
                    _raise(stream)
        except BaseException as exc:
            conn.finish(self._engine, self._lease, stream)
            if trace is not None:
                exchange.trace_failed(trace, "http2.receive_response_body", exc)
            if isinstance(exc, RequestError) and exc._request is None:
                exc.request = self._request
            raise
        conn.finish(self._engine, self._lease, stream)
        if trace is not None:
            exchange.trace_complete(trace, "http2.receive_response_body")

    def close(self) -> None:
        trace = self._request.extensions.get("trace")
        if trace is not None:
            exchange.trace_started(trace, "http2.response_closed", {})
        self._conn.finish(self._engine, self._lease, self._stream)
        if trace is not None:
            exchange.trace_complete(trace, "http2.response_closed")


# The `Connecting` registry of each pool (a transport's pool is replaced when it is closed).
_CONNECTING: weakref.WeakKeyDictionary[ConnectionPool, Connecting] = weakref.WeakKeyDictionary()


def connect_h2(
    engine: SyncEngine,
    lease: _Lease,
    route: exchange.Route,
    prepared: exchange.Prepared,
    request: Request,
    timeouts: exchange.Timeouts,
) -> Response | SyncConnection | None:
    """Open the lease's connection when it may turn out HTTP/2.

    Returns the response when the new connection speaks HTTP/2 (it is shared through the pool
    from then on); the new connection when it speaks HTTP/1.1, for the caller's exchange; or
    None when another request was already connecting to this origin: the lease has been
    released after waiting for that connection, and the caller acquires again (a stream on it).
    """
    pool = lease.pool
    key = route.key
    with engine._lock:
        connecting = _CONNECTING.get(pool)
        if connecting is None:
            connecting = _CONNECTING[pool] = Connecting()
        first = connecting.begin(key)
        if not first:
            event = threading.Event()
            connecting.wait(key, event.set)
    if not first:
        try:
            event.wait(timeouts[0])
        finally:
            with engine._lock:
                connecting.cancel(key, event.set)
        engine.release(lease, False)  # a permit only: nothing was connected
        return None
    http2: bool | None = None
    try:
        io = lease.slot.conn = engine._connect(route, request, timeouts[0])
        http2 = speaks_h2(engine.config, route, io)
        if not http2:
            return io
        conn = H2SyncConnection(io, route.scheme, route.origin)
        lease.slot.conn = conn
        conn.start(timeouts[0], request.extensions.get("trace"))
    except BaseException:
        http2 = None
        raise
    finally:
        with engine._lock:
            if http2:
                pool.set_capacity(lease.slot, conn.capacity)
            connecting.end(key, http2)
    return conn.handle(engine, lease, prepared, request, timeouts)
