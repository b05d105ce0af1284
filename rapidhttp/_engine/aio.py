"""
The asyncio driver: HTTP/1.1 connections on `loop.create_connection` + `asyncio.BufferedProtocol`.

Why a BufferedProtocol: the selector transport's `Protocol` path allocates a 256 KiB `bytes` per
read (mmap + mremap + munmap and a page fault each time); `recv_into` a preallocated per-connection
buffer halves the per-request cost (protocol-measurements.md §3). The bytes received are fed to the
connection's sans-I/O `H1Connection` straight from the loop's callback, and the request task pulls
events from it, waiting on one future only when the parser needs more data. Nothing here uses
StreamReader or anyio, so it runs unchanged on uvloop.

This module also holds `AsyncEngine`, the request flow shared by the asyncio and trio drivers
(pool slot, connect, send, receive, response stream, release): the two differ only in their
connection class and a few primitives (`AsyncioBackend` here, `trio_driver.TrioBackend`). The
sans-I/O decisions come from exchange.py (routes, retry rule, backoff, responses) and pool.py.

The common request (body in memory, no tracing) awaits exactly once: the head and body are
handed to the connection without awaiting (`send_nowait`; only a full send buffer makes it
wait), the task waits for the response once, and a response that came whole with its head is a
`ReceivedStream`, which `Response.aread` takes without iterating. A keep-alive connection handed
out again within `exchange.POLL_AFTER_IDLE` of its last response is not polled for a FIN.

Cancellation safety: every await leaves the connection in a state that `close()` can finish
synchronously, and the pool is only touched by synchronous calls. Whatever interrupts a request
(an error, a timeout, a task or cancel-scope cancellation) runs `except BaseException` handlers
that close the connection and release its pool slot *before* anything else is awaited.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import ssl
import sys
import time
import typing

from .._exceptions import (
    ConnectError,
    ConnectTimeout,
    PoolTimeout,
    ProxyError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    RequestError,
    WriteError,
    WriteTimeout,
)
from .._types import AsyncByteStream
from . import aio_tls
from .exchange import (
    INITIAL_READ_BUFFER,
    KEPT_READ_BUFFER,
    POLL_AFTER_IDLE,
    CompleteStream,
    EngineConfig,
    Prepared,
    Route,
    TraceCallback,
    build_response,
    connect_delays,
    grow_read_buffer,
    prepare,
    readable_probe,
    request_body,
    rest_read_buffer,
    retry_is_safe,
    timeouts_of,
)
from .h1 import NEED_DATA, Data, EndOfMessage, H1Connection, Upgrade
from .h1 import Response as H1Response
from .h2 import RetryableStreamError, may_speak_h2
from .h2_async import AsyncH2Connection, connect_h2
from .pool import ConnectionPool, Slot, Waiter
from .proxy import ConnectHandshake, Socks5Handshake
from .tls import TLSSessions, save_session

if typing.TYPE_CHECKING:  # pragma: no cover
    from .._models import Request, Response

    H1Event = H1Response | Data | EndOfMessage

__all__ = ["AioConnection", "AsyncEngine", "AsyncioBackend", "open_aio_connection"]

# Received bytes the request task has not pulled yet, above which the socket stops being read:
# flow control for big bodies consumed slower than they arrive.
READ_HIGH_WATER = 256 * 1024
BUFFER_SIZE = 64 * 1024


def _wake(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


class AioConnection(asyncio.BufferedProtocol):
    """One HTTP/1.1 connection (TCP, TLS or Unix socket) owned by an event loop.

    The loop's callbacks feed `h1`; a request task calls `write()` and `wait_data()`. Data that
    arrives while no request is active means the server is closing the idle connection (or
    misbehaving), so the connection becomes unusable without any polling on reuse.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, h1: H1Connection, peer: str) -> None:
        self.h1 = h1
        self.peer = peer  # "host:port" (or the socket path) for error messages
        self.active = False  # a request cycle owns the connection
        self.got_response_bytes = False  # in this cycle (decides whether a retry is safe)
        self._loop = loop
        # The loop's clock, for read deadlines: asyncio's own loops implement `time()` as a
        # Python method returning `time.monotonic()`, so call that C function directly.
        self._time = time.monotonic if type(loop).time is asyncio.BaseEventLoop.time else loop.time
        self._buffer = memoryview(bytearray(INITIAL_READ_BUFFER))
        self.transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[bool] | None = None
        self._drain_waiter: asyncio.Future[bool] | None = None
        self._eof = False
        self._lost_exc: BaseException | None = None
        self._parse_error: Exception | None = None
        # False once the connection can carry no further request (closed, EOF, stray bytes);
        # True from `connection_made`.
        self.usable = False
        self._probe: typing.Callable[[], typing.Any] | None = None  # see `is_reusable`
        self._unread = 0
        self._reading_paused = False
        self._writing_paused = False
        self._raw: bytearray | None = None  # bytes outside HTTP/1.1: proxy handshake, 101
        self._deadline: float | None = None  # of the current wait for data
        self._timer: asyncio.TimerHandle | None = None
        # (TLS sessions of the engine, this origin's key) until the session is saved.
        self.tls_sessions: tuple[TLSSessions, typing.Hashable] | None = None
        self._timer_at = math.inf  # when `_timer` fires
        self._timeout: float | None = None  # of the current wait for data, for its message

    # ---------------------------------------------------------------- loop callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)
        self.usable = True

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        if self._raw is not None or not self.active:
            self._outside_http(nbytes)
            return
        self.got_response_bytes = True
        buffer = self._buffer
        try:
            self.h1.receive_data(buffer[:nbytes])
        except Exception as exc:  # raised to the request task, never into the loop
            self._parse_error = exc
        if nbytes == len(buffer):
            self._buffer = grow_read_buffer(buffer)
        self._unread += nbytes
        if self._unread > READ_HIGH_WATER and not self._reading_paused:
            self._reading_paused = True
            typing.cast(asyncio.Transport, self.transport).pause_reading()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def _outside_http(self, nbytes: int) -> None:
        """Bytes for raw mode (proxy handshake, HTTP/2, after a 101), or that arrived while no
        request was active."""
        if self._raw is not None:
            buffer = self._buffer
            self._raw += buffer[:nbytes]
            if nbytes == len(buffer):
                self._buffer = grow_read_buffer(buffer)  # e.g. an HTTP/2 download
            if self._waiter is not None:
                _wake(self._waiter, True)
            return
        if not self.got_response_bytes:
            # A new connection's first bytes, before any request: an HTTP/2 server's preface
            # (ALPN "h2" or prior knowledge) that came before the switch to raw mode
            # (`h2_async`); for HTTP/1.1 they are an error at the first read.
            self._raw = bytearray(self._buffer[:nbytes])
            self._parse_error = RemoteProtocolError("The server sent data before a request.")
            return
        # Nothing was asked: a server closing an idle connection may send a 408 first.
        self.usable = False
        if self.transport is not None:
            self.transport.abort()

    def eof_received(self) -> bool:
        self._eof = True
        self.usable = False
        if self._waiter is not None:
            _wake(self._waiter, True)
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self.usable = False
        self._lost_exc = exc
        if self._waiter is not None:
            _wake(self._waiter, True)
        if self._drain_waiter is not None:
            _wake(self._drain_waiter, True)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._drain_waiter is not None:
            _wake(self._drain_waiter, True)

    # ---------------------------------------------------------------- used by the request task

    def is_reusable(self, idle_for: float = math.inf) -> bool:
        """True if the connection can carry another request; `idle_for`: seconds since it
        went idle (when the pool hands it out again)."""
        if not self.usable:
            return False
        if idle_for <= POLL_AFTER_IDLE or self._raw is not None:
            # Just used (a response ending, or handed out again at once) or in HTTP/2 / raw
            # mode: the flags suffice.
            return True
        # Handed out again after idling: the callbacks above only see a server's FIN (or stray
        # bytes) if the loop ran since it arrived; application code may have kept the loop
        # busy. So ask the socket too, once (one poll(), as the other drivers and httpcore).
        try:
            probe = self._probe
            if probe is None:
                sock = typing.cast(asyncio.Transport, self.transport).get_extra_info("socket")
                if sock is None:
                    return True
                # Made once: the socket stays the same while the connection is usable.
                probe = self._probe = readable_probe(sock.fileno())
            return not probe()
        except (OSError, ValueError):
            return False

    def send_nowait(self, data: bytes) -> bool:
        """Hand `data` to the transport, which never refuses it; False when its buffer is
        above the high-water mark and the caller must `await flush()` before writing more."""
        transport = self.transport
        if self._eof or transport is None:
            raise WriteError(f"Connection to {self.peer} was closed before the request was sent.")
        transport.write(data)
        return not self._writing_paused

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        if not self.send_nowait(data):
            await self.flush(timeout)

    async def flush(self, timeout: float | None) -> None:
        """Wait until the transport's buffer drains below its low-water mark."""
        while self._writing_paused and not self._eof:
            waiter = self._loop.create_future()
            self._drain_waiter = waiter
            timer = (
                None if timeout is None else self._loop.call_later(timeout, _wake, waiter, False)
            )
            try:
                in_time = await waiter
            finally:
                self._drain_waiter = None
                if timer is not None:
                    timer.cancel()
            if not in_time:
                raise WriteTimeout(
                    f"Timed out after {timeout} s sending the request to {self.peer}"
                )
        if self._eof:
            raise WriteError(self._lost_message("sending the request"))

    def wait_data(self, timeout: float | None) -> asyncio.Future[bool]:
        """For a request task whose `h1.next_event()` returned NEED_DATA: raises what the loop's
        callbacks recorded (a parse error, a lost connection), else returns a future to await
        (done when more bytes were fed to `h1`; ReadTimeout after `timeout` s without any).

        A plain method returning the future, not a coroutine: the request task awaits the future
        itself, with no coroutine layer to create and to pass through on the wake-up."""
        if self._parse_error is not None:
            raise self._parse_error
        if self._eof:
            if self._lost_exc is not None:
                raise ReadError(self._lost_message("reading the response"))
            self.h1.receive_eof()  # completes a close-delimited body, or raises
            done = self._loop.create_future()
            done.set_result(True)
            return done
        self._unread = 0
        if self._reading_paused:
            self._reading_paused = False
            typing.cast(asyncio.Transport, self.transport).resume_reading()
        return self._new_waiter(timeout)

    def _new_waiter(self, timeout: float | None) -> asyncio.Future[bool]:
        """The future the loop's callbacks complete on progress; the timer sets ReadTimeout on
        it after `timeout` s.

        The read timeout uses one lazily re-armed timer per connection instead of a timer per
        wait: a wait only records its deadline; the timer, when it fires, times the current wait
        out if its deadline has passed, else re-arms itself for that deadline, else (nothing
        waits) lapses. A busy keep-alive connection so costs one timer per `timeout` seconds.
        """
        loop = self._loop
        # `Future(loop=)` rather than `loop.create_future()`: the same object without a Python
        # call (any loop accepts a plain asyncio future).
        waiter = self._waiter = asyncio.Future(loop=loop)
        if timeout is None:
            self._deadline = None
        else:
            self._deadline = deadline = self._time() + timeout
            self._timeout = timeout
            # Re-armed when this wait's timeout is shorter than the armed one's (a per-request
            # timeout after a longer one on the same keep-alive connection).
            if deadline < self._timer_at:
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = loop.call_at(deadline, self._on_timer)
                self._timer_at = deadline
        return waiter

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        deadline = self._deadline
        waiter = self._waiter
        if deadline is None or waiter is None or waiter.done():
            return
        if self._time() >= deadline:
            waiter.set_exception(
                ReadTimeout(
                    f"Timed out after {self._timeout} s waiting for the response from {self.peer}"
                )
            )
        else:
            self._timer = self._loop.call_at(deadline, self._on_timer)
            self._timer_at = deadline

    async def read_raw(self, timeout: float | None, max_bytes: int = BUFFER_SIZE) -> bytes:
        """Up to `max_bytes` received outside HTTP/1.1 (proxy handshake, after a 101);
        b"" at EOF."""
        raw = self._raw
        if raw is None:
            raw = self._raw = bytearray()
        while not raw:
            if self._eof:
                if self._lost_exc is not None:
                    raise ReadError(self._lost_message("reading"))
                return b""
            await self._new_waiter(timeout)
        if len(raw) <= max_bytes:  # the usual case (HTTP/2 reads up to 1 MiB): one copy
            self._raw = bytearray()
            return bytes(raw)
        with memoryview(raw) as view:
            data = bytes(view[:max_bytes])  # one copy (a bytearray slice would make two)
        del raw[:max_bytes]
        return data

    def end_raw(self) -> None:
        """The handshake is over: what arrives next is HTTP/1.1 (or TLS) again."""
        self._raw = None

    # The `network_stream` API of httpcore, for the new protocol after a 101 response.

    def upgrade(self, data: bytes) -> None:
        """HTTP/1.1 is over on this connection: `data` (and all that follows) is for `read`."""
        self._raw = bytearray(data)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.read_raw(timeout, max_bytes)

    async def aclose(self) -> None:
        self.close()

    def _lost_message(self, doing: str) -> str:
        reason = f": {self._lost_exc}" if self._lost_exc is not None else ""
        return f"Connection to {self.peer} was lost while {doing}{reason}"

    def close(self) -> None:
        """Close at once, without awaiting: safe in `finally` and on cancellation."""
        self.usable = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = math.inf
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str,
        timeout: float | None,
        session: ssl.SSLSession | None = None,
    ) -> None:
        """Upgrade this connection to TLS in place (TLS over a proxy tunnel, even TLS-in-TLS),
        offering `session` for resumption."""
        transport = typing.cast(asyncio.Transport, self.transport)
        try:
            new = await aio_tls.start_tls(
                transport, self, ssl_context, server_hostname, session, timeout
            )
        except (TimeoutError, asyncio.TimeoutError):
            self.close()
            raise ConnectTimeout(
                f"Timed out after {timeout} s during the TLS handshake with {self.peer}"
            ) from None
        except (OSError, ssl.SSLError) as exc:
            self.close()
            raise ConnectError(f"TLS handshake with {self.peer} failed: {exc}") from exc
        self.transport = new

    def get_extra_info(self, name: str) -> typing.Any:
        transport = self.transport
        if transport is None:
            return None
        if name == "client_addr":
            return transport.get_extra_info("sockname")
        if name == "server_addr":
            return transport.get_extra_info("peername")
        if name == "is_readable":
            return not self.usable
        return transport.get_extra_info(name)


async def open_aio_connection(
    *,
    host: str,
    port: int,
    timeout: float | None,
    local_address: str | None = None,
    uds: str | None = None,
    socket_options: typing.Iterable[typing.Any] | None = None,
    h1_factory: typing.Callable[[], H1Connection] = H1Connection,
) -> AioConnection:
    """Connect within `timeout` seconds (TLS comes after, with `AioConnection.start_tls`)."""
    loop = asyncio.get_running_loop()
    peer = uds if uds is not None else f"{host}:{port}"

    def factory() -> AioConnection:
        return AioConnection(loop, h1_factory(), peer)

    try:
        if uds is not None:
            coro = loop.create_unix_connection(factory, uds)
        else:
            coro = loop.create_connection(
                factory, host, port, local_addr=(local_address, 0) if local_address else None
            )
        if timeout is None:
            transport, protocol = await coro
        else:
            transport, protocol = await asyncio.wait_for(coro, timeout)
    except (TimeoutError, asyncio.TimeoutError):
        raise ConnectTimeout(f"Timed out after {timeout} s connecting to {peer}") from None
    except (OSError, ssl.SSLError) as exc:
        raise ConnectError(f"Could not connect to {peer}: {exc}") from exc
    if socket_options:
        # As httpcore does, options are applied once connected.
        sock = transport.get_extra_info("socket")
        try:
            for option in socket_options:
                sock.setsockopt(*option)
        except BaseException:
            protocol.close()
            raise
    return protocol


# ==================================================================== backend primitives


class AsyncioEvent:
    """A one-shot event a pool waiter is woken through (`set` is the pool's wake callback)."""

    __slots__ = ("_future",)

    def __init__(self) -> None:
        self._future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def set(self, _slot: typing.Any = None) -> None:
        _wake(self._future, True)

    async def wait(self, timeout: float | None) -> None:
        future = self._future
        timer = (
            None
            if timeout is None
            else asyncio.get_running_loop().call_later(timeout, _wake, future, False)
        )
        try:
            await future
        finally:
            if timer is not None:
                timer.cancel()


class AsyncioBackend:
    """The asyncio primitives `AsyncEngine` needs."""

    name = "asyncio"
    open_connection = staticmethod(open_aio_connection)
    Event = AsyncioEvent
    sleep = staticmethod(asyncio.sleep)

    @staticmethod
    async def yield_to_loop() -> None:
        """Let the loop run the `connection_lost` callbacks that closing just scheduled."""
        await asyncio.sleep(0)


def current_backend() -> typing.Any:
    """The backend of the running async library: asyncio (any loop, uvloop included) or trio.
    Called once per engine, at its first request."""
    try:
        asyncio.get_running_loop()
        return AsyncioBackend
    except RuntimeError:
        pass
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            from .trio_driver import TrioBackend

            return TrioBackend
    raise RuntimeError(
        "The async transport needs a running asyncio or trio event loop "
        "(call it from a coroutine run by asyncio or trio)."
    )


# ==================================================================== the shared request flow


async def _atrace(trace: TraceCallback, name: str, info: dict[str, typing.Any]) -> None:
    # httpcore awaits async trace callbacks and rejects sync ones in async clients.
    coroutine = trace(name, info)
    if not inspect.iscoroutine(coroutine):
        raise TypeError(
            "If you are using an asynchronous client "
            "you must use an async function for the 'trace' extension."
        )
    await coroutine


async def _atrace_done(trace: TraceCallback, name: str, value: typing.Any = None) -> None:
    await _atrace(trace, f"{name}.complete", {"return_value": value})


async def _wait_for_slot(
    pool: ConnectionPool, route: Route, timeout: float | None, backend: typing.Any
) -> Slot | None:
    """Wait as a pool waiter: the slot granted, or None if the pool was closed meanwhile."""
    event = backend.Event()
    waiter = pool.enqueue(route.key, event.set)
    try:
        await event.wait(timeout)
    except BaseException:
        _cancel_waiter(pool, waiter)
        raise
    slot = waiter.slot
    if slot is None:
        _cancel_waiter(pool, waiter)
        if pool.closed:
            return None
        raise PoolTimeout(
            f"Timed out after {timeout} s waiting for a connection to {route.peer} from the pool"
        )
    return slot


def _cancel_waiter(pool: ConnectionPool, waiter: Waiter) -> None:
    for conn in pool.cancel(waiter, time.monotonic()):
        conn.close()


def _release(pool: ConnectionPool, slot: Slot, conn: typing.Any) -> None:
    """The response ended: keep the connection for the next request, or close it."""
    if conn.tls_sessions is not None:
        save_session(conn)
    # (`is_reusable(0.0)` inlined: just used, so no need to poll and its flag is the whole
    # test. The next cycle starts only if the connection is kept.)
    reusable = conn.usable and conn.h1.next_cycle()
    conn.active = False
    if reusable:
        buffer = conn._buffer
        if len(buffer) > KEPT_READ_BUFFER:  # (tested first: only a big body grew it)
            conn._buffer = rest_read_buffer(buffer)
    else:
        conn.close()
    for dropped in pool.release(slot, time.monotonic(), reusable):
        dropped.close()


def _discard(pool: ConnectionPool, slot: Slot) -> None:
    """Synchronous, first thing on any failure: close the slot's connection, free the slot."""
    if slot.conn is not None:
        slot.conn.close()
    for dropped in pool.release(slot, time.monotonic(), False):
        dropped.close()


class AsyncEngine:
    """Connection pool and request flow of `AsyncHTTPTransport`, for asyncio and trio.

    Per request: a pool slot (waiting as a pool waiter if the pool is full), a connection from
    the slot or a new one, the request written, the response head read, and a body stream that
    gives the connection back when the body ends or the response is closed. A response that
    arrived whole with its head is served from memory, and closing it unread still returns its
    connection to the pool.
    """

    def __init__(self, config: EngineConfig) -> None:
        self._config = config
        self._pool = self._new_pool()
        self._routes: dict[typing.Any, Route] = {}
        self._sessions = TLSSessions()
        self._backend: typing.Any = None

    def _new_pool(self) -> ConnectionPool:
        config = self._config
        return ConnectionPool(
            config.max_connections, config.max_keepalive_connections, config.keepalive_expiry
        )

    @property
    def pool(self) -> ConnectionPool:
        return self._pool

    async def handle(self, request: Request) -> Response:
        """Send `request`, return its response; errors carry the request (`exc.request`).

        The HTTP/1.1 exchange itself is inline here rather than a coroutine of its own: every
        coroutine layer costs its creation, and each wake-up passes through all of them."""
        try:
            backend = self._backend
            if backend is None:
                backend = self._backend = current_backend()
            prepared = prepare(self._routes, self._config, request)
            route, method, target, headers = prepared
            timeouts = timeouts_of(request)
            _, read_timeout, write_timeout, _ = timeouts
            trace = request.extensions.get("trace")
            retried = False
            while True:
                # A slot goes back to the pool it came from, even if aclose() replaced it.
                pool = self._pool
                now = time.monotonic()
                slot, to_close = pool.acquire(route.key, now)
                for dropped in to_close:
                    dropped.close()
                if slot is None:
                    slot = await _wait_for_slot(pool, route, timeouts[3], backend)
                    if slot is None:  # the transport was closed: start over on its new pool
                        continue
                reused = slot.conn
                if reused.__class__ is AsyncH2Connection:  # a stream on a shared connection
                    try:
                        return await reused.handle(pool, slot, prepared, request, timeouts)
                    except RetryableStreamError:  # not processed by the server (GOAWAY)
                        if retried or request_body(request) is None:
                            raise
                        retried = True
                        continue
                if reused is not None and not (
                    # (`is_reusable`'s first tests inlined: one just used needs no call.)
                    (reused.usable and now - slot.idle_since <= POLL_AFTER_IDLE)
                    or reused.is_reusable()
                ):
                    reused.close()  # closed by the server while idle: connect afresh instead
                    slot.conn = reused = None
                try:
                    if reused is None:
                        if not may_speak_h2(self._config, route):
                            slot.conn = await self._connect(route, request, timeouts[0], trace)
                        elif await connect_h2(
                            self, pool, slot, route, request, timeouts[0], trace, backend
                        ):
                            continue  # HTTP/2, shared through the pool: take a stream on it
                    conn = slot.conn
                    h1 = conn.h1
                    conn.active = True
                    conn.got_response_bytes = False
                    body = request_body(request)
                    if body is None or trace is not None:
                        await _send(conn, prepared, body, request, write_timeout, trace)
                    else:
                        # The common case: head and body in memory go out in one write, without
                        # awaiting unless the connection's send buffer is full.
                        data = h1.send_head(method, target, headers, body, True)
                        try:
                            if not conn.send_nowait(data):
                                await conn.flush(write_timeout)
                        except WriteError:
                            pass  # (as in `_send`: the response, or a read error, tells)
                    # (`_receive_event`, inlined: no coroutine layer for the common one wait.)
                    head = h1.next_event()
                    while head is NEED_DATA:
                        await conn.wait_data(read_timeout)
                        head = h1.next_event()
                    if trace is not None:
                        value = (
                            head.http_version,
                            head.status_code,
                            head.reason_phrase,
                            head.headers,
                        )
                        await _atrace_done(trace, "http11.receive_response_headers", value)
                    return _response(pool, slot, conn, head, request, read_timeout, trace)
                except BaseException as exc:
                    _discard(pool, slot)
                    if (
                        reused is not None  # a reused keep-alive connection
                        and not retried
                        and isinstance(exc, _STALE_ERRORS)
                        and not reused.got_response_bytes
                        and retry_is_safe(request)
                    ):
                        # The server closed the idle connection just as we reused it.
                        retried = True
                        continue
                    raise
        except RequestError as exc:
            if exc._request is None:
                exc.request = request
            raise

    async def aclose(self) -> None:
        """Close the idle connections; busy ones close when their responses end. As httpcore's
        pool, the transport stays usable: later requests start a new pool."""
        pool, self._pool = self._pool, self._new_pool()
        for conn in pool.close():
            conn.close()
        if self._backend is not None:
            await self._backend.yield_to_loop()

    # ---------------------------------------------------------------- connecting

    async def _connect(
        self, route: Route, request: Request, timeout: float | None, trace: TraceCallback | None
    ) -> typing.Any:
        config = self._config
        backend = self._backend
        retries = config.retries
        delays = None
        while True:
            try:
                conn = await self._open(route, timeout, trace, backend)
                break
            except (ConnectError, ConnectTimeout):
                if retries <= 0:
                    raise
                retries -= 1
                if delays is None:
                    delays = connect_delays()
                delay = next(delays)
                if trace is None:
                    await backend.sleep(delay)
                else:
                    await _atrace(trace, "connection.retry.started", {"delay": delay})
                    await backend.sleep(delay)
                    await _atrace_done(trace, "connection.retry")
        try:
            if route.proxy_tls is not None:
                context, name = route.proxy_tls
                await self._start_tls(conn, context, name, timeout, trace)
            if route.tunnel is not None or route.socks is not None:
                await proxy_handshake(conn, route, timeout)
            if route.tls is not None:
                name = request.extensions.get("sni_hostname") or route.server_hostname
                session = self._sessions.get(route.key)
                await self._start_tls(conn, route.tls, name, timeout, trace, session)
                conn.tls_sessions = (self._sessions, route.key)  # saved at the first release
        except BaseException:
            conn.close()
            raise
        return conn

    async def _open(
        self, route: Route, timeout: float | None, trace: TraceCallback | None, backend: typing.Any
    ) -> typing.Any:
        config = self._config
        if trace is None:
            return await backend.open_connection(
                host=route.host,
                port=route.port,
                timeout=timeout,
                local_address=config.local_address,
                uds=route.uds,
                socket_options=config.socket_options,
            )
        if route.uds is None:
            name = "connection.connect_tcp"
            info = {
                "host": route.host,
                "port": route.port,
                "local_address": config.local_address,
                "timeout": timeout,
                "socket_options": config.socket_options,
            }
        else:
            name = "connection.connect_unix_socket"
            info = {"path": route.uds, "timeout": timeout, "socket_options": config.socket_options}
        await _atrace(trace, f"{name}.started", info)
        try:
            conn = await self._open(route, timeout, None, backend)
        except BaseException as exc:
            await _atrace(trace, f"{name}.failed", {"exception": exc})
            raise
        await _atrace_done(trace, name, conn)
        return conn

    @staticmethod
    async def _start_tls(
        conn: typing.Any,
        context: ssl.SSLContext,
        server_hostname: str,
        timeout: float | None,
        trace: TraceCallback | None,
        session: ssl.SSLSession | None = None,
    ) -> None:
        if trace is None:
            await conn.start_tls(context, server_hostname, timeout, session)
            return
        info = {"ssl_context": context, "server_hostname": server_hostname, "timeout": timeout}
        await _atrace(trace, "connection.start_tls.started", info)
        try:
            await conn.start_tls(context, server_hostname, timeout, session)
        except BaseException as exc:
            await _atrace(trace, "connection.start_tls.failed", {"exception": exc})
            raise
        await _atrace_done(trace, "connection.start_tls", conn)


# ==================================================================== one exchange


async def _send(
    conn: typing.Any,
    prepared: Prepared,
    body: bytes | None,
    request: Request,
    timeout: float | None,
    trace: TraceCallback | None,
) -> None:
    """Send a request with a streamed body, or with tracing on (httpcore's events, up to the
    start of the wait for the response head)."""
    _, method, target, headers = prepared
    h1 = conn.h1
    info = {"request": request}
    if trace is not None:
        await _atrace(trace, "http11.send_request_headers.started", info)
    try:
        if body is not None:  # in memory: head and body still go out in one write
            await conn.write(h1.send_head(method, target, headers, body, True), timeout)
            if trace is not None:
                await _atrace_done(trace, "http11.send_request_headers")
                await _atrace(trace, "http11.send_request_body.started", info)
                await _atrace_done(trace, "http11.send_request_body")
        else:
            await conn.write(h1.send_head(method, target, headers), timeout)
            if trace is not None:
                await _atrace_done(trace, "http11.send_request_headers")
                await _atrace(trace, "http11.send_request_body.started", info)
            stream = typing.cast(AsyncByteStream, request.stream)
            async for chunk in stream:
                if chunk:
                    await conn.write(h1.send_body(chunk), timeout)
            end = h1.send_end()
            if end:
                await conn.write(end, timeout)
            if trace is not None:
                await _atrace_done(trace, "http11.send_request_body")
    except WriteError:
        # Servers may answer before reading the whole request (an early 413, 401): read what
        # they said, as httpcore (and the sync driver) do; a dead connection shows up as a
        # read error.
        pass
    if trace is not None:
        await _atrace(trace, "http11.receive_response_headers.started", info)


def _response(
    pool: ConnectionPool,
    slot: Slot,
    conn: typing.Any,
    head: H1Event,
    request: Request,
    read_timeout: float | None,
    trace: TraceCallback | None,
) -> Response:
    """The `Response` to `head`, with the body events already received."""
    if type(head) is not H1Response:  # pragma: no cover - H1Connection yields heads first
        raise RemoteProtocolError("Expected a response head.")
    h1 = conn.h1
    # The whole response often arrives with its head: then it is served from memory, and
    # closing it, read or not, returns the connection instead of dropping it.
    chunks: list[bytes] = []
    while True:
        event = h1.next_event()
        if type(event) is Data:
            chunks.append(event.data)
        elif type(event) is EndOfMessage:
            if trace is None:
                return build_response(head, ReceivedStream(chunks, pool, slot, conn), conn)
            ended = True  # (traced: the streaming path emits httpcore's body events)
            break
        elif event is NEED_DATA:
            ended = False
            break
        else:  # Upgrade
            # 101: the connection leaves the pool and belongs to the response's
            # `network_stream` from now on.
            conn.upgrade(typing.cast(Upgrade, event).data)
            slot.conn = None
            _discard(pool, slot)
            return build_response(head, CompleteStream(b""), conn)
    stream = AsyncResponseStream(pool, slot, conn, request, chunks, ended, read_timeout, trace)
    return build_response(head, stream, conn)


async def _receive_event(conn: typing.Any, timeout: float | None) -> H1Event:
    """The next `Response`/`Data`/`EndOfMessage` event of `conn`, waiting for bytes as needed:
    the loop every driver's connection serves with `h1` and `wait_data`."""
    h1 = conn.h1
    event = h1.next_event()
    while event is NEED_DATA:
        await conn.wait_data(timeout)
        event = h1.next_event()
    return event  # type: ignore[no-any-return]  # not NEED_DATA


class ReceivedStream(CompleteStream):
    """A body that arrived whole with its head: read without I/O and, being a `ByteStream`,
    without iterating. It still holds its connection until the response is closed (`aread`
    closes it), as in httpx a streamed response counts against the pool limits."""

    def __init__(
        self, chunks: list[bytes], pool: ConnectionPool, slot: Slot, conn: typing.Any
    ) -> None:
        self._stream = b"".join(chunks)
        self._held: tuple[ConnectionPool, Slot, typing.Any] | None = (pool, slot, conn)

    def close(self) -> None:
        # Also the sync `close`: a `ByteStream` can be read with `Response.read()` too, which
        # must not keep the connection from the pool.
        held = self._held
        if held is not None:
            self._held = None
            _release(*held)

    # (No `aclose`: `ByteStream.aclose` calls `close`, and `Response.aread` relies on a
    # `ByteStream` that does not override it to close the response without a coroutine.)


class AsyncResponseStream(AsyncByteStream):
    """A response body still arriving: gives the connection back to the pool at its end, or
    closes it (synchronously) if the response is closed early or anything interrupts it.

    An async iterator rather than an async generator: nothing is left for the garbage collector
    to finalize when a consumer stops early, and each chunk costs one call, not a generator
    resumption.
    """

    __slots__ = (
        "_pool",
        "_slot",
        "_conn",
        "_request",
        "_chunks",
        "_ended",
        "_timeout",
        "_trace",
        "_started",
        "_done",
    )

    def __init__(
        self,
        pool: ConnectionPool,
        slot: Slot,
        conn: typing.Any,
        request: Request,
        chunks: list[bytes],
        ended: bool,
        timeout: float | None,
        trace: TraceCallback | None,
    ) -> None:
        self._pool = pool
        self._slot = slot
        self._conn = conn
        self._request = request
        self._chunks = chunks  # body bytes that arrived with the head
        self._ended = ended  # ...and the end of the body too
        self._timeout = timeout
        self._trace = trace
        self._started = False
        self._done = False

    def __aiter__(self) -> AsyncResponseStream:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        try:
            trace = self._trace
            if trace is not None and not self._started:
                self._started = True
                info = {"request": self._request}
                await _atrace(trace, "http11.receive_response_body.started", info)
            if self._chunks:
                return self._chunks.pop(0)
            if not self._ended:
                event = await _receive_event(self._conn, self._timeout)
                if type(event) is Data:
                    return event.data
            if trace is not None:
                await _atrace_done(trace, "http11.receive_response_body")
        except BaseException as exc:
            self._abort()
            if isinstance(exc, RequestError) and exc._request is None:
                exc.request = self._request
            raise
        self._done = True
        _release(self._pool, self._slot, self._conn)
        raise StopAsyncIteration

    def _abort(self) -> None:
        if not self._done:
            self._done = True
            _discard(self._pool, self._slot)

    async def aclose(self) -> None:
        trace = self._trace
        if trace is not None:
            await _atrace(trace, "http11.response_closed.started", {})
        if self._ended and not self._done:  # all received: the connection is still good
            self._done = True
            _release(self._pool, self._slot, self._conn)
        else:
            self._abort()
        if trace is not None:
            await _atrace_done(trace, "http11.response_closed")


# A reused keep-alive connection that fails like this, before any response byte, was most
# likely closed by the server while idle: the request is retried once on a new connection.
_STALE_ERRORS = (RemoteProtocolError, ReadError, WriteError)


async def proxy_handshake(conn: typing.Any, route: Route, timeout: float | None) -> None:
    """Open the route's CONNECT tunnel or SOCKS5 connection on a freshly connected `conn`.
    Errors as the sync driver's: ConnectTimeout, or ProxyError naming the proxy."""
    try:
        if route.tunnel is not None:
            doing = f"opening a tunnel through the proxy {route.peer}"
            connect = ConnectHandshake(route.tunnel)
            await conn.write(route.tunnel, timeout)
            while not connect.receive(await conn.read_raw(timeout)):
                pass
        else:
            doing = f"in the SOCKS5 handshake with {route.peer}"
            host, port, auth = typing.cast(tuple[str, int, typing.Any], route.socks)
            socks = Socks5Handshake(host, port, auth)
            data: bytes | None = socks.start()
            while data is not None:
                if data:
                    await conn.write(data, timeout)
                data = socks.receive(await conn.read_raw(timeout))
    except (ReadTimeout, WriteTimeout):
        raise ConnectTimeout(f"Timed out after {timeout} s {doing}") from None
    except (ReadError, WriteError) as exc:
        raise ProxyError(f"Failed {doing}: {exc}") from exc
    conn.end_raw()
