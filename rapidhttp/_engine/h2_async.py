"""
HTTP/2 for the async drivers (asyncio and trio alike): many tasks' streams on one connection.

The connection is the driver's own (`aio.AioConnection` or `trio_driver.TrioConnection`) in raw
mode (`read_raw`/`write`); the HTTP/2 state is the sans-I/O `H2Protocol`; the only primitives
used are the backend's one-shot `Event` (and trio's cancel shielding for writes), so one class
serves both libraries.

Reading follows the leader/follower pattern: a task that needs something for its stream and
finds nobody reading becomes the reader; the others wait on their own event. Whatever way a
task leaves a wait (done, timeout, cancellation), if nobody reads it wakes one waiter to take
over, so reading never stalls. State changes happen between awaits only, so a task cancelled
or timed out at any await resets its own stream and nothing else.

Writes are batched: the frames every task produced in a loop turn leave in one write, in the
order the state machine produced them (HPACK depends on it). asyncio writes from a callback at
the end of the turn; under trio one task at a time writes (trio forbids concurrent sends on one
stream) for all the others. A write interrupted half-way breaks the connection (a partial frame).
"""

from __future__ import annotations

import collections
import time
import typing
import weakref

from .._exceptions import ReadError, ReadTimeout, RemoteProtocolError, RequestError, WriteTimeout
from .._types import AsyncByteStream
from .exchange import CompleteStream, build_response, request_body
from .h2 import Connecting, H2Protocol, H2Stream, speaks_h2

if typing.TYPE_CHECKING:  # pragma: no cover
    from .._models import Request, Response
    from .exchange import Prepared, Route, Timeouts, TraceCallback
    from .pool import ConnectionPool, Slot

__all__ = ["AsyncH2Connection", "connect_h2"]

READ_SIZE = 1 << 20
# trio: loop turns a writer waits at most for other tasks to add their frames (see `_flush`).
GATHER_TURNS = 4
_monotonic = time.monotonic


def _has_head(stream: H2Stream) -> bool:
    return stream.head is not None or stream.ended or stream.error is not None


def _ready(stream: H2Stream) -> bool:
    return stream.ready


def _raise(stream: H2Stream) -> typing.NoReturn:
    """Raise the stream's error as a fresh exception (one per request: see h2_sync)."""
    error = stream.error
    if error is None:
        raise RemoteProtocolError("The server ended the HTTP/2 stream without a response.")
    raise type(error)(str(error))


async def _trace(trace: TraceCallback, name: str, info: dict[str, typing.Any]) -> None:
    result = trace(name, info)
    if hasattr(result, "__await__"):
        await result


class AsyncH2Connection:
    """An HTTP/2 connection shared by tasks; see the module docstring."""

    def __init__(self, io: typing.Any, route: Route, backend: typing.Any) -> None:
        self.io = io
        self.h2 = H2Protocol()
        self._backend = backend
        self._scheme = route.scheme.encode("ascii")
        self._authority = route.origin.encode("ascii")
        self._reading = False
        self._waiters: dict[H2Stream, typing.Any] = {}
        self._writing = False  # trio: a task is writing (see `_flush`)
        self._shield: typing.Any = None
        self._checkpoint: typing.Any = None
        self._flush_scheduled = False
        # asyncio's transport (writes never block), else None (trio: awaited sends).
        self._transport: typing.Any = getattr(io, "transport", None)
        if self._transport is not None:
            self._loop = io._loop
        if backend.name == "trio":
            import trio

            self._shield = trio.CancelScope
            self._checkpoint = trio.lowlevel.cancel_shielded_checkpoint
        if getattr(io, "_raw", None) is None:  # else the preface came first (aio.buffer_updated)
            io.upgrade(b"")  # raw mode: from now on every byte received is for `read_raw`

    @property
    def capacity(self) -> int:
        return self.h2.max_streams

    def is_reusable(self) -> bool:
        return self.h2.usable

    def close(self) -> None:
        self.h2.close()
        self.io.close()

    async def aclose(self) -> None:
        self.close()

    def get_extra_info(self, name: str) -> typing.Any:
        return self.io.get_extra_info(name)

    # ------------------------------------------------------------------ I/O

    async def _flush(self, timeout: float | None) -> None:
        """Have every pending frame written, batched: one write for all the frames the tasks
        of this loop turn produced, in the order the state machine produced them."""
        if self._transport is not None:
            # asyncio: the transport takes the bytes at once, so a callback at the end of
            # this loop turn writes for every stream; wait only if the transport's buffer
            # is full.
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self._loop.call_soon(self._write_soon)
            if self.io._writing_paused:
                await self.io._drain(timeout)
            return
        # trio: one task writes at a time (trio forbids concurrent sends on a stream) and
        # keeps writing while frames are pending, so the others leave their frames to it.
        # Before its first write it lets the other runnable tasks add theirs (without this,
        # tasks woken together by one read each wrote their own request: ~2 writes per
        # request instead of a few per batch). It cannot be cancelled: a send cut short
        # leaves part of a frame on the wire, which would break every stream; the write
        # timeout bounds it instead.
        if self._writing:
            return
        self._writing = True
        try:
            with self._shield(shield=True):
                # (Alone on the connection, nobody else has frames to add.)
                for _ in range(GATHER_TURNS if len(self.h2.streams) > 1 else 0):
                    pending = self.h2.pending
                    await self._checkpoint()
                    if self.h2.pending == pending:
                        break  # a turn added no frame: the others are waiting, not sending
                while self.h2.pending:
                    await self.io.write(self.h2.data_to_send(), timeout)
        except RequestError as exc:
            self._wake(self.h2.fail(exc))
            self.io.close()
            raise
        finally:
            self._writing = False

    async def _read(self, timeout: float | None) -> None:
        try:
            data = await self.io.read_raw(timeout, READ_SIZE)
        except ReadError as exc:
            self._wake(self.h2.fail(exc))
            return
        if data:
            self._wake(self.h2.receive_data(data))
        else:
            self._wake(self.h2.receive_eof())
        if self.h2.pending:  # acknowledgements, PING answers
            try:
                await self._flush(timeout)
            except RequestError:
                pass  # the streams have been failed; each reports it

    def _wake(self, streams: list[H2Stream]) -> None:
        waiters = self._waiters
        if waiters:
            for stream in streams:
                event = waiters.get(stream)
                if event is not None:
                    event.set()

    async def _wait(
        self, stream: H2Stream, done: typing.Callable[[H2Stream], bool], timeout: float | None
    ) -> None:
        """Until ``done(stream)``, reading the connection when nobody else does."""
        deadline = None if timeout is None else _monotonic() + timeout
        try:
            while not done(stream):
                remaining = None if deadline is None else deadline - _monotonic()
                if remaining is not None and remaining <= 0:
                    raise ReadTimeout(
                        f"Timed out after {timeout} s waiting for the response from {self.io.peer}"
                    )
                if not self._reading:
                    self._reading = True
                    try:
                        await self._read(remaining)
                    finally:
                        self._reading = False
                else:
                    event = self._waiters[stream] = self._backend.Event()
                    try:
                        await event.wait(remaining)
                    finally:
                        del self._waiters[stream]
        finally:
            if not self._reading and self._waiters:
                # Hand the reading over: the woken task reads, or passes it on when it leaves.
                next(iter(self._waiters.values())).set()

    async def _take_in_idle(self) -> None:
        """Before using an idle connection, take in what the server sent meanwhile (a GOAWAY,
        a close): the request then goes to a new connection instead of failing."""
        io = self.io
        if getattr(io, "_raw", None) or not io.is_reusable():  # asyncio buffer; trio readable
            self._reading = True
            try:
                await self._read(None)  # something is there: this does not wait
            finally:
                self._reading = False

    async def start(self, timeout: float | None, trace: TraceCallback | None) -> None:
        """Send the preface and read the server's SETTINGS (its concurrent-stream limit)."""
        if trace is not None:
            await _trace(trace, "http2.send_connection_init.started", {})
        await self._flush(timeout)
        deadline = None if timeout is None else _monotonic() + timeout
        while not self.h2.settings_received and self.h2.usable:
            await self._read(None if deadline is None else deadline - _monotonic())
        if not self.h2.usable:
            raise typing.cast(Exception, self.h2.closed_reason)
        if trace is not None:
            await _trace(trace, "http2.send_connection_init.complete", {"return_value": None})

    # ------------------------------------------------------------------ requests

    async def handle(
        self,
        pool: ConnectionPool,
        slot: Slot,
        prepared: Prepared,
        request: Request,
        timeouts: Timeouts,
    ) -> Response:
        """One request on its own stream; the slot is released before any exception leaves."""
        trace = request.extensions.get("trace")
        stream: H2Stream | None = None
        try:
            if self.h2.idle and not self._reading:
                await self._take_in_idle()
            stream = await self._send(prepared, request, timeouts[2], trace)
            if trace is not None:
                await _trace(trace, "http2.receive_response_headers.started", {"request": request})
            await self._wait(stream, _has_head, timeouts[1])
            head: typing.Any = stream.head  # an H2Head, read like an HTTP/1.1 head
            if head is None:
                _raise(stream)
            if trace is not None:
                await _trace(
                    trace,
                    "http2.receive_response_headers.complete",
                    {"return_value": (head.status_code, head.headers)},
                )
            if stream.ended and stream.error is None and trace is None:
                chunks = self.h2.take_body(stream)
                self.finish(pool, slot, stream)
                return _response(head, CompleteStream(b"".join(chunks)), self.io)
            body = AsyncH2ResponseStream(self, pool, slot, stream, timeouts[1], request)
            return _response(head, body, self.io)
        except BaseException:
            self.finish(pool, slot, stream)
            raise

    async def _send(
        self,
        prepared: Prepared,
        request: Request,
        timeout: float | None,
        trace: TraceCallback | None,
    ) -> H2Stream:
        _, method, target, headers = prepared
        body = request_body(request)
        info = {"request": request}
        if trace is not None:
            await _trace(trace, "http2.send_request_headers.started", info)
        stream = self.h2.start_request(
            method, self._scheme, self._authority, target, headers, body == b""
        )
        try:
            await self._send_rest(stream, body, request, timeout, trace)
        except BaseException:
            self.h2.close_stream(stream)  # reset it: the caller only releases the slot
            raise
        return stream

    async def _send_rest(
        self,
        stream: H2Stream,
        body: bytes | None,
        request: Request,
        timeout: float | None,
        trace: TraceCallback | None,
    ) -> None:
        await self._flush(timeout)
        info = {"request": request}
        if trace is not None:
            await _trace(
                trace, "http2.send_request_headers.complete", {"return_value": stream.stream_id}
            )
        if body == b"":
            return
        if trace is not None:
            await _trace(trace, "http2.send_request_body.started", info)
        if body is not None:
            await self._send_chunk(stream, memoryview(body), timeout)
        else:
            async for chunk in typing.cast(AsyncByteStream, request.stream):
                if not await self._send_chunk(stream, memoryview(chunk), timeout):
                    break
        self.h2.end_request(stream)
        await self._flush(timeout)
        if trace is not None:
            await _trace(trace, "http2.send_request_body.complete", {"return_value": None})

    async def _send_chunk(self, stream: H2Stream, view: memoryview, timeout: float | None) -> bool:
        """Send one body chunk within the flow-control windows; False when the server has
        already ended its response (stop sending)."""
        h2 = self.h2
        while view:
            if stream.error is not None:
                _raise(stream)
            if stream.ended:
                return False
            sent = h2.send_body(stream, view)
            await self._flush(timeout)
            view = view[sent:]
            if view and not sent:
                try:
                    await self._wait(stream, self.h2.can_send, timeout)
                except ReadTimeout:
                    raise WriteTimeout(
                        f"Timed out after {timeout} s sending the request to {self.io.peer}"
                    ) from None
        return True

    def finish(self, pool: ConnectionPool, slot: Slot, stream: H2Stream | None) -> None:
        """Synchronous, so it also runs on cancellation: reset the stream if still open and
        release the slot. The frames go with the next write on the connection."""
        if stream is not None:
            if stream.stream_id not in self.h2.streams:
                return  # already finished
            self.h2.close_stream(stream)
        for dropped in pool.release(slot, _monotonic(), self.h2.usable):
            dropped.close()
        if self._transport is not None and not self._flush_scheduled and self.h2.pending:
            # asyncio: the RST_STREAM or acknowledgements leave with this loop turn's write
            # (trio: with the next write on the connection).
            self._flush_scheduled = True
            self._loop.call_soon(self._write_soon)

    def _write_soon(self) -> None:
        """asyncio: the batched write scheduled by `_flush`."""
        self._flush_scheduled = False
        data = self.h2.data_to_send()
        if data:
            transport = self._transport
            if transport.is_closing():
                self._wake(self.h2.fail(ReadError(f"Connection to {self.io.peer} was lost.")))
            else:
                transport.write(data)

    def __repr__(self) -> str:
        return f"<AsyncH2Connection {self.io.peer} streams={len(self.h2.streams)}>"


def _response(head: typing.Any, stream: typing.Any, io: typing.Any) -> Response:
    response = build_response(head, stream, io)
    del response.extensions["reason_phrase"]  # HTTP/2 has none: the standard one is used
    return response


class AsyncH2ResponseStream(AsyncByteStream):
    """A response body arriving on an HTTP/2 stream."""

    def __init__(
        self,
        conn: AsyncH2Connection,
        pool: ConnectionPool,
        slot: Slot,
        stream: H2Stream,
        timeout: float | None,
        request: Request,
    ) -> None:
        self._conn = conn
        self._pool = pool
        self._slot = slot
        self._stream = stream
        self._timeout = timeout
        self._request = request
        self._chunks: collections.deque[bytes] = collections.deque()
        self._traced = False

    def __aiter__(self) -> AsyncH2ResponseStream:
        return self

    async def __anext__(self) -> bytes:
        if self._chunks:
            return self._chunks.popleft()
        conn = self._conn
        stream = self._stream
        trace = self._request.extensions.get("trace")
        if trace is not None and not self._traced:
            self._traced = True
            await _trace(trace, "http2.receive_response_body.started", {"request": self._request})
        try:
            while not self._chunks:
                if stream.ended and not stream.chunks:
                    raise StopAsyncIteration
                if stream.error is not None and not stream.chunks:
                    _raise(stream)
                await conn._wait(stream, _ready, self._timeout)
                self._chunks.extend(conn.h2.take_body(stream))
                if conn.h2.pending:  # window updates for what was taken (h2 batches them)
                    await conn._flush(self._timeout)
        except StopAsyncIteration:
            conn.finish(self._pool, self._slot, stream)
            if trace is not None:
                await _trace(trace, "http2.receive_response_body.complete", {"return_value": None})
            raise
        except BaseException as exc:
            conn.finish(self._pool, self._slot, stream)
            if isinstance(exc, RequestError) and exc._request is None:
                exc.request = self._request
            raise
        return self._chunks.popleft()

    async def aclose(self) -> None:
        trace = self._request.extensions.get("trace")
        if trace is not None:
            await _trace(trace, "http2.response_closed.started", {})
        self._conn.finish(self._pool, self._slot, self._stream)
        if trace is not None:
            await _trace(trace, "http2.response_closed.complete", {"return_value": None})


# The `Connecting` registry of each pool (a transport's pool is replaced when it is closed).
_CONNECTING: weakref.WeakKeyDictionary[ConnectionPool, Connecting] = weakref.WeakKeyDictionary()


async def connect_h2(
    engine: typing.Any,
    pool: ConnectionPool,
    slot: Slot,
    route: Route,
    request: Request,
    timeout: float | None,
    trace: TraceCallback | None,
    backend: typing.Any,
) -> bool:
    """Open the slot's connection when it may turn out HTTP/2.

    True: the caller must acquire again. Either the connection speaks HTTP/2 and has been
    handed to the pool as a shared connection, or another request was already connecting to
    this origin and this one waited for it (its permit given back). False: ``slot.conn`` is a
    new HTTP/1.1 connection for the caller's exchange. On an exception the caller discards the
    slot, as for any failed connection.
    """
    connecting = _CONNECTING.get(pool)
    if connecting is None:
        connecting = _CONNECTING[pool] = Connecting()
    key = route.key
    if not connecting.begin(key):
        event = backend.Event()
        connecting.wait(key, event.set)
        try:
            await event.wait(timeout)
        finally:
            connecting.cancel(key, event.set)
        for dropped in pool.release(slot, _monotonic(), False):  # a permit only
            dropped.close()
        return True
    http2: bool | None = None
    try:
        slot.conn = await engine._connect(route, request, timeout, trace)
        http2 = speaks_h2(engine._config, route, slot.conn)
        if http2:
            conn = slot.conn = AsyncH2Connection(slot.conn, route, backend)
            await conn.start(timeout, trace)
            pool.set_capacity(slot, conn.capacity)
            for dropped in pool.release(slot, _monotonic(), True):
                dropped.close()
    except BaseException:
        http2 = None
        raise
    finally:
        connecting.end(key, http2)
    return http2
