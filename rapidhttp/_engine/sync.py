"""
The blocking-socket driver: `SyncEngine` sends requests over pooled HTTP/1.1 connections.

Thread safety: one `threading.Lock` guards the pool's bookkeeping and is never held during I/O;
each connection is used by one request at a time, so any number of threads can share a client.

The hot path for a keep-alive request: one pool call under the lock, one poll() to check the
idle socket is still open (skipped when it went idle less than `POLL_AFTER_IDLE` ago), one
`sendall` (head and small body together), one `recv_into` the per-connection buffer, and, when
the whole response came with that read, the connection goes back to the pool before the
Response is returned.

Cleanup: any exception between taking a slot and handing the connection back (including
KeyboardInterrupt) closes the connection and releases the slot synchronously, in `except
BaseException` blocks, so the pool can never leak a slot.
"""

from __future__ import annotations

import math
import socket
import ssl
import struct
import sys
import threading
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
from .._types import SyncByteStream
from . import exchange
from .exchange import (
    INITIAL_READ_BUFFER,
    POLL_AFTER_IDLE,
    CompleteStream,
    EngineConfig,
    Route,
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
from .h2 import RetryableStreamError, may_speak_h2
from .h2_sync import H2SyncConnection, connect_h2
from .pool import ConnectionPool, Slot
from .proxy import ConnectHandshake, Socks5Handshake
from .tls import TLSSessions, TLSStream, save_session

if typing.TYPE_CHECKING:  # pragma: no cover
    from .._models import Request, Response

__all__ = ["SyncConnection", "SyncEngine"]

# Proxy handshakes and the network_stream API read this much at most.
BUFFER_SIZE = 65536
# Bodies up to this size are written together with the head, in one sendall.
SMALL_BODY = 65536

_monotonic = time.monotonic
_UNSET: typing.Any = object()

# Kernel socket timeouts need SO_RCVTIMEO/SO_SNDTIMEO taking a struct timeval (POSIX).
_KERNEL_TIMEOUTS = hasattr(socket, "SO_RCVTIMEO") and sys.platform != "win32"
_TIMEVAL = struct.Struct("@ll")


def _timeval(timeout: float | None) -> bytes:
    """A struct timeval for SO_RCVTIMEO/SO_SNDTIMEO; zero means no timeout, so a zero
    timeout becomes the smallest non-zero one."""
    if timeout is None:
        return _TIMEVAL.pack(0, 0)
    seconds = int(timeout)
    microseconds = max(int((timeout - seconds) * 1e6), 0 if seconds else 1)
    return _TIMEVAL.pack(seconds, microseconds)


class SyncConnection:
    """One HTTP/1.1 connection on a blocking socket (TCP, TLS, TLS-in-TLS or Unix socket).

    Timeouts are kernel timeouts (SO_RCVTIMEO / SO_SNDTIMEO) on a socket left in blocking mode:
    a Python-level socket timeout makes CPython poll() before every send and recv, two extra
    syscalls per request; the kernel timeout costs nothing until it changes. TLS runs in memory
    on top of the same socket (`tls.TLSStream`), so it gets the same timeouts.

    It is also the response's ``network_stream`` extension: `read`, `write`, `close` and
    `get_extra_info` as httpcore's network streams offer them.
    """

    __slots__ = (
        "sock",
        "h1",
        "peer",
        "received",
        "_view",
        "_kernel_timeouts",
        "_read_timeout",
        "_write_timeout",
        "_probe",
        "_pending",
        "_closed",
        "tls_sessions",
    )

    def __init__(self, sock: typing.Any, peer: str, h1: H1Connection) -> None:
        self.sock = sock
        self.h1 = h1
        self.peer = peer
        self.received = False  # any byte of the current response received
        self._view = memoryview(bytearray(INITIAL_READ_BUFFER))
        plain = sock.__class__ is socket.socket
        raw = sock if plain else sock.raw_socket  # under TLS (even TLS in TLS): the TCP socket
        self._kernel_timeouts = _KERNEL_TIMEOUTS and raw.__class__ is socket.socket
        if self._kernel_timeouts:
            sock.settimeout(None)  # blocking; the kernel enforces the timeouts
        # The timeouts in force, as last set (_UNSET: unknown, set at first use).
        self._read_timeout: typing.Any = _UNSET
        self._write_timeout: typing.Any = _UNSET
        self._probe: typing.Callable[[], typing.Any] | None = None  # see `is_reusable`
        self._pending = getattr(sock, "pending", None)
        self._closed = False
        # (TLS sessions of the engine, this origin's key) until the session is saved.
        self.tls_sessions: tuple[TLSSessions, typing.Hashable] | None = None

    # ------------------------------------------------------------------ request path

    def _set_timeout(self, timeout: float | None, option: int) -> None:
        """Apply a read (SO_RCVTIMEO) or write (SO_SNDTIMEO) timeout."""
        if self._kernel_timeouts:
            self.sock.setsockopt(socket.SOL_SOCKET, option, _timeval(timeout))
        else:
            # One Python timeout covers both directions.
            self.sock.settimeout(timeout)
            self._read_timeout = self._write_timeout = timeout
        if option == socket.SO_RCVTIMEO:
            self._read_timeout = timeout
        else:
            self._write_timeout = timeout

    def write(self, data: bytes, timeout: float | None = None) -> None:
        if timeout != self._write_timeout:
            self._set_timeout(timeout, socket.SO_SNDTIMEO)
        try:
            self.sock.sendall(data)
        except (TimeoutError, BlockingIOError):  # BlockingIOError: the kernel timeout
            raise WriteTimeout(f"Timed out after {timeout} s sending the request to {self.peer}")
        except OSError as exc:
            raise WriteError(f"Could not send the request to {self.peer}: {exc}") from exc

    def _recv_into(self, view: memoryview, timeout: float | None, doing: str) -> int:
        if timeout != self._read_timeout:
            self._set_timeout(timeout, socket.SO_RCVTIMEO)
        try:
            nbytes: int = self.sock.recv_into(view)
            return nbytes
        except (TimeoutError, BlockingIOError):
            raise ReadTimeout(f"Timed out after {timeout} s {doing} {self.peer}")
        except OSError as exc:
            raise ReadError(f"Could not read the response from {self.peer}: {exc}") from exc

    def receive(self, timeout: float | None) -> None:
        """Read once from the socket into the parser (EOF included)."""
        view = self._view
        nbytes = self._recv_into(view, timeout, "waiting for the response from")
        if nbytes:
            self.received = True
            self.h1.receive_data(view[:nbytes])
            if nbytes == len(view):
                self._view = grow_read_buffer(view)
        else:
            self.h1.receive_eof()

    def is_reusable(self, idle_for: float = math.inf) -> bool:
        """An idle connection is reusable if the server has sent nothing: readable means EOF
        (the server closed it) or garbage, either way it must not carry a request. `idle_for`:
        seconds since it went idle; within `POLL_AFTER_IDLE` the socket is not polled."""
        if self._closed:
            return False
        if idle_for <= POLL_AFTER_IDLE:
            return True
        try:
            probe = self._probe
            if probe is None:
                probe = self._probe = readable_probe(self.sock.fileno())
            if probe():
                return False
        except (OSError, ValueError):
            return False
        # TLS: decrypted bytes already buffered in the SSL object are garbage too.
        pending = self._pending
        return pending is None or not pending()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self.sock.close()
            except OSError:  # pragma: no cover - closing a broken socket
                pass

    # ------------------------------------------------------------------ network_stream API

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        view = self._view[: min(max_bytes, BUFFER_SIZE)]
        return bytes(view[: self._recv_into(view, timeout, "reading from")])

    def get_extra_info(self, name: str) -> typing.Any:
        if name == "is_readable":
            return not self.is_reusable()
        return _socket_extra_info(self.sock, name)

    def __repr__(self) -> str:
        return f"<SyncConnection {self.peer}{' closed' if self._closed else ''}>"


def _socket_extra_info(sock: typing.Any, name: str) -> typing.Any:
    """httpcore's `get_extra_info(name)` for a blocking socket or a `TLSStream` over one, except
    "is_readable" (the caller's to answer)."""
    if name == "ssl_object":
        return getattr(sock, "ssl_object", None)
    if name == "client_addr":
        return sock.getsockname()
    if name == "server_addr":
        return sock.getpeername()
    if name == "socket":
        return getattr(sock, "raw_socket", sock)
    return None


class _SocketStream:
    """The network stream that connect and start_tls `.complete` trace events return, as
    httpcore's do: the `SyncConnection` only exists once the whole route is established."""

    __slots__ = ("sock",)

    def __init__(self, sock: typing.Any) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> typing.Any:
        if name == "is_readable":
            sock = self.sock
            pending = getattr(sock, "pending", None)
            if pending is not None and pending():
                return True
            try:
                return bool(readable_probe(sock.fileno())())
            except (OSError, ValueError):  # closed
                return True
        return _socket_extra_info(self.sock, name)

    def __repr__(self) -> str:
        return f"<_SocketStream {self.sock!r}>"


class _UpgradeStream:
    """``network_stream`` of a 101 response: the bytes that followed the head come first."""

    def __init__(self, conn: SyncConnection, leading: bytes) -> None:
        self._conn = conn
        self._leading = leading

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._leading:
            data, self._leading = self._leading[:max_bytes], self._leading[max_bytes:]
            return data
        return self._conn.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._conn.write(buffer, timeout)

    def close(self) -> None:
        self._conn.close()

    def get_extra_info(self, name: str) -> typing.Any:
        return self._conn.get_extra_info(name)


class _ClosingStream(SyncByteStream):
    """Empty body of a 101 response: closing the response closes the upgraded connection."""

    def __init__(self, conn: SyncConnection) -> None:
        self._conn = conn

    def __iter__(self) -> typing.Iterator[bytes]:
        return iter(())

    def close(self) -> None:
        self._conn.close()


class _Lease:
    """One request's hold on a pool slot, released exactly once (see `SyncEngine.release`)."""

    __slots__ = ("pool", "slot", "conn", "done")

    def __init__(self, pool: ConnectionPool, slot: Slot) -> None:
        self.pool = pool
        self.slot = slot
        self.conn: SyncConnection | None = None
        self.done = False


class SyncResponseStream(SyncByteStream):
    """A response body still on the wire: hands the connection back at its end."""

    __slots__ = ("_engine", "_lease", "_conn", "_chunks", "_event", "_timeout", "_request")

    def __init__(
        self,
        engine: SyncEngine,
        lease: _Lease,
        conn: SyncConnection,
        chunks: list[bytes],
        event: typing.Any,
        timeout: float | None,
        request: Request,
    ) -> None:
        self._engine = engine
        self._lease = lease
        self._conn = conn
        self._chunks = chunks  # body received with the head
        self._event = event  # the event that followed them: NEED_DATA or EndOfMessage
        self._timeout = timeout
        self._request = request

    def __iter__(self) -> typing.Iterator[bytes]:
        trace = self._request.extensions.get("trace")
        if trace is not None:
            info = {"request": self._request}
            exchange.trace_started(trace, "http11.receive_response_body", info)
        try:
            chunks, self._chunks = self._chunks, []
            yield from chunks
            conn = self._conn
            h1 = conn.h1
            timeout = self._timeout
            lease = self._lease
            event = self._event
            while not lease.done:
                if event is NEED_DATA:
                    conn.receive(timeout)
                elif type(event) is Data:
                    yield event.data
                else:  # EndOfMessage
                    self._engine.release(lease, True)  # kept only if keep-alive
                    break
                event = h1.next_event()
        except BaseException as exc:
            self._engine.release(self._lease, False)
            if trace is not None:
                exchange.trace_failed(trace, "http11.receive_response_body", exc)
            if isinstance(exc, RequestError) and exc._request is None:
                exc.request = self._request
            raise
        if trace is not None:
            exchange.trace_complete(trace, "http11.receive_response_body")

    def close(self) -> None:
        trace = self._request.extensions.get("trace")
        if trace is not None:
            exchange.trace_started(trace, "http11.response_closed", {})
        # A body not read to its end leaves the connection unusable.
        self._engine.release(self._lease, False)
        if trace is not None:
            exchange.trace_complete(trace, "http11.response_closed")


class SyncEngine:
    """Pooled HTTP/1.1 over blocking sockets; `HTTPTransport`'s engine."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self._routes: dict[typing.Any, Route] = {}
        self._lock = threading.Lock()
        self._pool = self._new_pool()
        self._sessions = TLSSessions()

    def _new_pool(self) -> ConnectionPool:
        config = self.config
        return ConnectionPool(
            config.max_connections, config.max_keepalive_connections, config.keepalive_expiry
        )

    @property
    def pool(self) -> ConnectionPool:
        return self._pool

    # ------------------------------------------------------------------ request

    def handle_request(self, request: Request) -> Response:
        try:
            prepared = prepare(self._routes, self.config, request)
            route = prepared[0]
        except RequestError as exc:
            exc.request = request
            raise
        timeouts = timeouts_of(request)
        retried = False
        while True:
            try:
                lease = self._acquire(route, timeouts[3])
            except RequestError as exc:
                exc.request = request
                raise
            reused = False
            conn: SyncConnection | None = None
            try:
                conn = lease.slot.conn
                if conn.__class__ is H2SyncConnection:  # a multiplexed connection: a stream
                    return conn.handle(self, lease, prepared, request, timeouts)  # type: ignore[union-attr]
                idle_for = _monotonic() - lease.slot.idle_since
                if conn is not None and (retried or not conn.is_reusable(idle_for)):
                    # Dead (or, when retrying, suspect): connect afresh into the same slot.
                    conn.close()
                    conn = lease.slot.conn = None
                if conn is None:
                    if may_speak_h2(self.config, route):
                        opened = connect_h2(self, lease, route, prepared, request, timeouts)
                        if opened is None:
                            continue  # another request opened a connection here: share it
                        if opened.__class__ is not SyncConnection:
                            return typing.cast("Response", opened)  # from a new HTTP/2 connection
                        conn = typing.cast(SyncConnection, opened)
                    else:
                        conn = lease.slot.conn = self._connect(route, request, timeouts[0])
                else:
                    reused = True
                lease.conn = conn
                return self._exchange(lease, conn, prepared, request, timeouts)
            except (ReadError, WriteError, RemoteProtocolError) as exc:
                self.release(lease, False)
                if not retried and (
                    reused
                    and conn is not None
                    and not conn.received
                    and retry_is_safe(request)
                    # An HTTP/2 stream the server did not process (GOAWAY, REFUSED_STREAM).
                    or isinstance(exc, RetryableStreamError)
                    and request_body(request) is not None
                ):
                    # The server closed this idle keep-alive connection as we reused it.
                    retried = True
                    continue
                if exc._request is None:
                    exc.request = request
                raise
            except BaseException as exc:
                self.release(lease, False)
                if isinstance(exc, RequestError) and exc._request is None:
                    exc.request = request
                raise

    def _acquire(self, route: Route, timeout: float | None) -> _Lease:
        """A slot for `route`'s origin, waiting up to `timeout` s for room in the pool."""
        while True:
            waiter = None
            with self._lock:
                pool = self._pool  # close() swaps in a fresh pool: the transport stays usable
                slot, to_close = pool.acquire(route.key, _monotonic())
                if slot is None:
                    event = threading.Event()
                    waiter = pool.enqueue(route.key, _waker(event))
            for conn in to_close:
                conn.close()
            if waiter is None:
                return _Lease(pool, slot)  # type: ignore[arg-type]  # a slot when no waiter
            try:
                event.wait(timeout)
            except BaseException:
                # Interrupted: return whatever the pool may have granted meanwhile.
                with self._lock:
                    to_close = pool.cancel(waiter, _monotonic())
                for conn in to_close:
                    conn.close()
                raise
            with self._lock:
                slot = waiter.slot
                if slot is None:  # timed out (or the pool closed): leave the queue
                    pool.cancel(waiter, _monotonic())
            if slot is not None:
                return _Lease(pool, slot)
            if not pool.closed:
                raise PoolTimeout(
                    f"Timed out after {timeout} s waiting for a connection to {route.peer} "
                    "from the pool"
                )
            # The transport was closed while we waited: start over on its new pool.

    def release(self, lease: _Lease, reusable: bool) -> None:
        """Hand a slot back, once; the connection is kept only if `reusable` and its exchange
        is complete and keep-alive."""
        if lease.done:
            return
        lease.done = True
        conn = lease.conn
        slot = lease.slot
        if conn is not None:
            if conn.tls_sessions is not None:
                save_session(conn)
            if reusable:
                if conn.h1.next_cycle():
                    conn.received = False
                    conn._view = rest_read_buffer(conn._view)
                else:
                    reusable = False
        with self._lock:
            to_close = lease.pool.release(slot, _monotonic(), reusable)
        for dropped in to_close:
            dropped.close()

    def _exchange(
        self,
        lease: _Lease,
        conn: SyncConnection,
        prepared: exchange.Prepared,
        request: Request,
        timeouts: exchange.Timeouts,
    ) -> Response:
        h1 = conn.h1
        trace = request.extensions.get("trace")
        _, method, target, headers = prepared
        body = request_body(request)
        try:
            if trace is None and body is not None and len(body) <= SMALL_BODY:
                # The common case: head and body in one write.
                conn.write(h1.send_head(method, target, headers, body, True), timeouts[2])
            else:
                self._send(conn, prepared, request, body, trace, timeouts[2])
        except WriteError:
            # Servers may answer before reading the whole request (an early 413, 401): read
            # what they said, as httpcore does; a dead connection shows up as a read error.
            pass

        read_timeout = timeouts[1]
        if trace is not None:
            exchange.trace_started(trace, "http11.receive_response_headers", {"request": request})
        # The first event of a response is always its head (`Response`).
        head: typing.Any = h1.next_event()
        while head is NEED_DATA:
            conn.receive(read_timeout)
            head = h1.next_event()
        if trace is not None:
            exchange.trace_complete(
                trace,
                "http11.receive_response_headers",
                (head.http_version, head.status_code, head.reason_phrase, head.headers),
            )

        # Fast path: the whole body came with the head. Hand the connection back first.
        # (With a trace callback the streaming path runs, which emits the body events.)
        chunks: list[bytes] = []
        event = h1.next_event()
        while type(event) is Data:
            chunks.append(event.data)
            event = h1.next_event()
        if type(event) is EndOfMessage and trace is None:
            self.release(lease, True)  # kept only if keep-alive
            return build_response(head, CompleteStream(b"".join(chunks)), conn)
        if type(event) is Upgrade:
            # 101 Switching Protocols: the connection leaves the pool for the new protocol.
            lease.slot.conn = lease.conn = None
            self.release(lease, False)
            upgraded = _UpgradeStream(conn, bytes(event.data))
            return build_response(head, _ClosingStream(conn), upgraded)
        stream = SyncResponseStream(self, lease, conn, chunks, event, read_timeout, request)
        return build_response(head, stream, conn)

    def _send(
        self,
        conn: SyncConnection,
        prepared: exchange.Prepared,
        request: Request,
        body: bytes | None,
        trace: exchange.TraceCallback | None,
        timeout: float | None,
    ) -> None:
        """Send a request with a streamed or big body, or with tracing on."""
        h1 = conn.h1
        _, method, target, headers = prepared
        info = {"request": request}
        if trace is not None:
            exchange.trace_started(trace, "http11.send_request_headers", info)
        conn.write(h1.send_head(method, target, headers), timeout)
        if trace is not None:
            exchange.trace_complete(trace, "http11.send_request_headers")
            exchange.trace_started(trace, "http11.send_request_body", info)
        chunks = (body,) if body is not None else typing.cast(SyncByteStream, request.stream)
        for chunk in chunks:
            if chunk:
                conn.write(h1.send_body(chunk), timeout)
        end = h1.send_end()
        if end:
            conn.write(end, timeout)
        if trace is not None:
            exchange.trace_complete(trace, "http11.send_request_body")

    # ------------------------------------------------------------------ connecting

    def _connect(self, route: Route, request: Request, timeout: float | None) -> SyncConnection:
        """Open a connection along `route`, retrying connect failures `config.retries` times."""
        retries = self.config.retries
        delays = connect_delays()
        trace = request.extensions.get("trace")
        while True:
            try:
                return self._open(route, request, timeout, trace)
            except (ConnectError, ConnectTimeout) as exc:
                if retries <= 0:
                    raise
                retries -= 1
                delay = next(delays)
                if trace is not None:
                    exchange.trace_started(trace, "connection.retry", {"exception": exc})
                time.sleep(delay)
                if trace is not None:
                    exchange.trace_complete(trace, "connection.retry")

    def _open(
        self,
        route: Route,
        request: Request,
        timeout: float | None,
        trace: exchange.TraceCallback | None,
    ) -> SyncConnection:
        config = self.config
        peer = route.peer
        if trace is None:
            sock = self._connect_socket(route, timeout)
        else:
            if route.uds is not None:
                name = f"{route.connect_trace}.connect_unix_socket"
                info: dict[str, typing.Any] = {"path": route.uds}
            else:
                name = f"{route.connect_trace}.connect_tcp"
                info = {"host": route.host, "port": route.port}
                info["local_address"] = config.local_address
            info["timeout"] = timeout
            info["socket_options"] = config.socket_options
            sock = _traced(trace, name, info, self._connect_socket, route, timeout)
        try:
            if route.proxy_tls is not None:
                context, hostname = route.proxy_tls
                sock = self._start_tls(sock, context, hostname, None, timeout, peer, trace)
            if route.tunnel is not None:
                if trace is None:
                    self._tunnel(sock, route, timeout)
                else:
                    _traced(
                        trace,
                        "proxy.connect",  # httpcore traces CONNECT as a request; one event here
                        {"request": request},
                        self._tunnel,
                        sock,
                        route,
                        timeout,
                    )
            elif route.socks is not None:
                if trace is None:
                    self._socks(sock, route, timeout)
                else:
                    _traced(
                        trace,
                        "socks.setup_socks5_connection",
                        {"host": route.socks[0], "port": route.socks[1]},
                        self._socks,
                        sock,
                        route,
                        timeout,
                    )
            if route.tls is not None:
                hostname = request.extensions.get("sni_hostname") or route.server_hostname
                key = route.key
                name = f"{route.tls_trace}.start_tls"
                sock = self._start_tls(
                    sock, route.tls, hostname, key, timeout, route.origin, trace, name
                )
        except BaseException:
            sock.close()
            raise
        conn = SyncConnection(sock, peer, H1Connection())
        if route.tls is not None:
            conn.tls_sessions = (self._sessions, route.key)  # saved at the first release
        return conn

    def _connect_socket(self, route: Route, timeout: float | None) -> socket.socket:
        config = self.config
        peer = route.peer
        try:
            if route.uds is not None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.settimeout(timeout)
                    sock.connect(route.uds)
                except BaseException:
                    sock.close()
                    raise
            else:
                source = (config.local_address, 0) if config.local_address else None
                sock = socket.create_connection((route.host, route.port), timeout, source)
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:  # pragma: no cover - not every platform/socket supports it
                    pass
        except TimeoutError:
            raise ConnectTimeout(f"Timed out after {timeout} s connecting to {peer}")
        except (OSError, OverflowError) as exc:  # OverflowError: a port beyond 65535
            raise ConnectError(f"Could not connect to {peer}: {exc}") from exc
        try:
            for option in config.socket_options or ():
                sock.setsockopt(*option)
        except BaseException:
            sock.close()
            raise
        return sock

    def _start_tls(
        self,
        sock: typing.Any,
        context: ssl.SSLContext,
        hostname: str,
        session_key: typing.Hashable | None,
        timeout: float | None,
        peer: str,
        trace: exchange.TraceCallback | None,
        trace_name: str = "connection.start_tls",
    ) -> typing.Any:
        if trace is None:
            return self._handshake(sock, context, hostname, session_key, timeout, peer)
        info = {"ssl_context": context, "server_hostname": hostname, "timeout": timeout}
        return _traced(
            trace,
            trace_name,
            info,
            self._handshake,
            sock,
            context,
            hostname,
            session_key,
            timeout,
            peer,
        )

    def _handshake(
        self,
        sock: typing.Any,
        context: ssl.SSLContext,
        hostname: str,
        session_key: typing.Hashable | None,
        timeout: float | None,
        peer: str,
    ) -> typing.Any:
        session = self._sessions.get(session_key) if session_key is not None else None
        sock.settimeout(timeout)
        try:
            tls = TLSStream(sock, context, hostname, session)  # over TCP, or TLS in TLS
            tls.do_handshake()
            return tls
        except TimeoutError:
            raise ConnectTimeout(
                f"Timed out after {timeout} s during the TLS handshake with {peer}"
            )
        except OSError as exc:
            raise ConnectError(f"TLS handshake with {peer} failed: {exc}") from exc

    def _tunnel(self, sock: typing.Any, route: Route, timeout: float | None) -> None:
        handshake = ConnectHandshake(typing.cast(bytes, route.tunnel))
        sock.settimeout(timeout)
        try:
            sock.sendall(handshake.request)
            while not handshake.receive(sock.recv(BUFFER_SIZE)):
                pass
        except TimeoutError:
            raise ConnectTimeout(
                f"Timed out after {timeout} s opening a tunnel through the proxy {route.peer}"
            )
        except OSError as exc:
            raise ProxyError(f"Could not open a tunnel through the proxy {route.peer}: {exc}")

    def _socks(self, sock: typing.Any, route: Route, timeout: float | None) -> None:
        host, port, auth = typing.cast("tuple[str, int, tuple[bytes, bytes] | None]", route.socks)
        handshake = Socks5Handshake(host, port, auth)
        sock.settimeout(timeout)
        try:
            data: bytes | None = handshake.start()
            while data is not None:
                if data:
                    sock.sendall(data)
                data = handshake.receive(sock.recv(BUFFER_SIZE))
        except TimeoutError:
            raise ConnectTimeout(
                f"Timed out after {timeout} s in the SOCKS5 handshake with {route.peer}"
            )
        except OSError as exc:
            raise ProxyError(f"SOCKS5 handshake with {route.peer} failed: {exc}")

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        with self._lock:
            pool = self._pool
            to_close = pool.close()
            self._pool = self._new_pool()
        for conn in to_close:
            conn.close()


def _waker(event: threading.Event) -> typing.Callable[[Slot | None], None]:
    """The pool's wake-up callback for a thread blocked on `event`."""

    def wake(slot: Slot | None) -> None:
        event.set()

    return wake


def _traced(
    trace: exchange.TraceCallback,
    name: str,
    info: dict[str, typing.Any],
    function: typing.Callable[..., typing.Any],
    *args: typing.Any,
) -> typing.Any:
    """Run `function(*args)` between `name`'s started and complete/failed events; a socket it
    returns (connect, start_tls) is reported as a network stream with `get_extra_info`."""
    exchange.trace_started(trace, name, info)
    try:
        result = function(*args)
    except BaseException as exc:
        exchange.trace_failed(trace, name, exc)
        raise
    exchange.trace_complete(trace, name, None if result is None else _SocketStream(result))
    return result
