"""
The sans-I/O glue every driver shares: from a `Request` to where to connect and what to write,
and from parser events back to a `Response`.

- `EngineConfig`: the transport's settings, built once by `_transports/default.py`.
- `Route`: how to reach one origin (direct, TLS, through an HTTP proxy, a CONNECT tunnel or
  SOCKS5), computed once per origin and cached, so per request there is one dict lookup.
- `prepare()`: one request's pool key, route, method, target and headers.
- The trace helpers emit httpcore's event names (`connection.connect_tcp.started`, ...) and
  cost nothing when the request has no `trace` extension.
- `build_response()`, the idle-connection retry rule and the connect-retry backoff.

No I/O happens here; drivers (sync.py, aio.py, trio_driver.py) do it.
"""

from __future__ import annotations

import functools
import operator
import select
import ssl
import typing

from .._content import ByteStream
from .._exceptions import UnsupportedProtocol
from .._models import Headers, Response
from .._types import AsyncByteStream, SyncByteStream
from .proxy import ProxyConfig

if typing.TYPE_CHECKING:  # pragma: no cover
    from .._models import Request
    from .h1 import Response as H1Response

__all__ = [
    "CompleteStream",
    "EngineConfig",
    "Prepared",
    "Route",
    "TraceCallback",
    "build_response",
    "connect_delays",
    "prepare",
    "retry_is_safe",
    "timeouts_of",
]

TraceCallback = typing.Callable[[str, dict[str, typing.Any]], typing.Any]
Timeouts = tuple[float | None, float | None, float | None, float | None]
NO_TIMEOUTS: Timeouts = (None, None, None, None)
# The four values of a full timeout dict (what clients always send) in one C call.
_TIMEOUT_VALUES = operator.itemgetter("connect", "read", "write", "pool")

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
TLS_SCHEMES = frozenset(("https", "wss"))

# Methods that may be sent twice without changing the outcome (RFC 9110 §9.2.2).
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"))
# Known methods as bytes, to skip an encode per request.
_METHOD_BYTES = {m: m.encode("ascii") for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")}

# httpcore's connect backoff: 0 s, 0.5 s, 1 s, 2 s, 4 s...
RETRIES_BACKOFF_FACTOR = 0.5


class EngineConfig:
    """Everything a driver needs from the transport's constructor (see `_transports/default`)."""

    __slots__ = (
        "ssl_context",
        "http1",
        "http2",
        "max_connections",
        "max_keepalive_connections",
        "keepalive_expiry",
        "proxy",
        "uds",
        "local_address",
        "retries",
        "socket_options",
    )

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        http1: bool = True,
        http2: bool = False,
        max_connections: int | None = None,
        max_keepalive_connections: int | None = None,
        keepalive_expiry: float | None = None,
        proxy: ProxyConfig | None = None,
        uds: str | None = None,
        local_address: str | None = None,
        retries: int = 0,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> None:
        self.ssl_context = ssl_context
        self.http1 = http1
        self.http2 = http2
        self.max_connections = max_connections
        self.max_keepalive_connections = max_keepalive_connections
        self.keepalive_expiry = keepalive_expiry
        self.proxy = proxy
        self.uds = uds
        self.local_address = local_address
        self.retries = retries
        # Materialised once: a generator would be exhausted by the first connection.
        self.socket_options = list(socket_options) if socket_options is not None else None


class Route:
    """How to reach one origin. Steps, in order, each present only when needed:

    1. TCP to ``host:port`` (or the Unix socket ``uds``);
    2. ``proxy_tls``: TLS to an https proxy itself (context, server name);
    3. ``tunnel``: a CONNECT request (bytes) through an HTTP(S) proxy, or ``socks``: a SOCKS5
       handshake (target host, port, auth);
    4. ``tls``: TLS to the origin (over the tunnel: TLS in TLS for an https proxy).

    Requests then go out with ``forward`` (absolute-form target plus ``forward_headers`` for a
    plain-http origin through an HTTP proxy) or in origin form.
    """

    __slots__ = (
        "key",
        "origin",
        "scheme",
        "host",
        "port",
        "peer",
        "uds",
        "proxy_tls",
        "tunnel",
        "socks",
        "tls",
        "server_hostname",
        "forward",
        "forward_headers",
        "forward_prefix",
        "connect_trace",
        "tls_trace",
    )

    def __init__(self, config: EngineConfig, scheme: str, host: str, port: int) -> None:
        proxy = config.proxy
        self.scheme = scheme
        self.uds = config.uds if proxy is None else None
        self.proxy_tls: tuple[ssl.SSLContext, str] | None = None
        self.tunnel: bytes | None = None
        self.socks: tuple[str, int, tuple[bytes, bytes] | None] | None = None
        self.forward = False
        self.forward_headers: list[tuple[bytes, bytes]] = []
        self.forward_prefix = b""
        tls = scheme in TLS_SCHEMES
        self.tls = config.ssl_context if tls else None
        self.server_hostname = host
        if proxy is None:
            self.host, self.port = host, port
        else:
            self.host, self.port = proxy.host, proxy.port
            if proxy.kind in ("socks5", "socks5h"):
                self.socks = (host, port, proxy.auth)
            else:
                if proxy.kind == "https":
                    assert proxy.ssl_context is not None  # set by ProxyConfig for https
                    self.proxy_tls = (proxy.ssl_context, proxy.host)
                if tls:
                    self.tunnel = proxy.connect_request(host, port)
                else:
                    self.forward = True
                    self.forward_headers = proxy.headers
                    self.forward_prefix = _origin_bytes(scheme, host, port)
        self.peer = self.uds if self.uds is not None else _authority(self.host, self.port)
        self.origin = _authority(host, port)  # "host:port" of the origin, for messages
        # httpcore's trace-event prefixes (its logger names) for the connect and TLS steps.
        self.connect_trace = "socks" if self.socks else "connection"
        self.tls_trace = "proxy" if self.tunnel else self.connect_trace
        # Forwarded requests to any origin share the connections to the proxy.
        self.key: typing.Hashable = (
            ("proxy", self.host, self.port) if self.forward else (scheme, host, port)
        )

    def __repr__(self) -> str:
        return f"<Route {self.scheme}://{self.origin} via {self.peer}>"


def _authority(host: str, port: int) -> str:
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def _origin_bytes(scheme: str, host: str, port: int) -> bytes:
    default = DEFAULT_PORTS.get(scheme)
    authority = _authority(host, 0 if port == default else port)
    return f"{scheme}://{authority}".encode("ascii")


# One request, ready for a driver: (route, method, target, headers). A plain tuple: cheaper
# to build than a NamedTuple, and drivers unpack it.
Prepared = tuple[Route, bytes, bytes, list[tuple[bytes, bytes]]]


def route_for(routes: dict[typing.Any, Route], config: EngineConfig, request: Request) -> Route:
    """The cached `Route` for the request's origin; UnsupportedProtocol for a bad scheme."""
    url = request.url
    # The cache key: (scheme, userinfo, host, port) straight from the URL's parsed components,
    # one slice instead of three property calls per request.
    cache_key = url._uri_reference[:4]
    route = routes.get(cache_key)
    if route is not None:
        return route
    scheme, _, host, port = cache_key
    if scheme not in DEFAULT_PORTS:
        if not scheme:
            raise UnsupportedProtocol(
                "Request URL is missing an 'http://' or 'https://' protocol."
            )
        raise UnsupportedProtocol(f"Request URL has an unsupported protocol '{scheme}://'.")
    if not host:
        raise UnsupportedProtocol("Request URL is missing a host.")
    route = Route(config, scheme, host, port or DEFAULT_PORTS[scheme])
    if len(routes) >= 1024:  # bound the cache: a crawler visits endless origins
        routes.clear()
    routes[cache_key] = route
    return route


def prepare(routes: dict[typing.Any, Route], config: EngineConfig, request: Request) -> Prepared:
    """Route, method, request target and headers for one request."""
    route = route_for(routes, config, request)
    method = _METHOD_BYTES.get(request.method) or request.method.encode("ascii")
    url = request.url
    headers = request.headers._raw  # read only, never changed here: no copy
    if route.forward:
        target = route.forward_prefix + url.raw_path
        if route.forward_headers:
            headers = merge_headers(route.forward_headers, headers)
    else:
        target = url.raw_path
    return route, method, target, headers


def merge_headers(
    defaults: list[tuple[bytes, bytes]], overrides: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """`defaults` (proxy headers) whose names `overrides` (request headers) do not set, then
    `overrides`, as httpcore merges proxy headers."""
    names = {name.lower() for name, _ in overrides}
    return [item for item in defaults if item[0].lower() not in names] + list(overrides)


def timeouts_of(request: Request) -> Timeouts:
    """(connect, read, write, pool) from the request's `timeout` extension."""
    timeout = request.extensions.get("timeout")
    if not timeout:
        return NO_TIMEOUTS
    try:
        return _TIMEOUT_VALUES(timeout)  # type: ignore[no-any-return]
    except KeyError:  # a partial dict from the caller: missing means no timeout
        get = timeout.get
        return get("connect"), get("read"), get("write"), get("pool")


def request_body(request: Request) -> bytes | None:
    """The whole body when it is in memory (sent with the head in one write), else None."""
    stream = request.stream
    if type(stream) is ByteStream:
        return stream._stream  # the models' in-memory body (same package: no copy, no call)
    return None


# Read buffers, for every driver: a connection starts with a small one (an idle pool of 100
# connections then holds ~1-2 MB, not ~7); a read that fills it means more is coming, so it
# grows (x4 per full read) up to LARGE_READ_BUFFER, and when a response ends it shrinks back to
# KEPT_READ_BUFFER at most. Measured on a 100 MiB download from nginx: 64 KiB reads cost ~25%
# more CPU than larger ones; past glibc's mmap threshold (128 KiB) each body chunk parsed out of
# the buffer becomes an mmap'd allocation, and its page faults cost more than the larger reads
# save (256 KiB: 40-70k faults per GB; just under 128 KiB: ~1k).
INITIAL_READ_BUFFER = 16384
KEPT_READ_BUFFER = 65536
LARGE_READ_BUFFER = 124 * 1024


def grow_read_buffer(view: memoryview) -> memoryview:
    """The buffer for the next read after one that filled `view`."""
    size = len(view)
    if size >= LARGE_READ_BUFFER:
        return view
    return memoryview(bytearray(min(size * 4, LARGE_READ_BUFFER)))


def rest_read_buffer(view: memoryview) -> memoryview:
    """The buffer to keep once a response has ended."""
    if len(view) > KEPT_READ_BUFFER:
        return memoryview(bytearray(KEPT_READ_BUFFER))
    return view


# A keep-alive connection handed out again within this many seconds of going idle is not
# checked for a server's FIN or stray bytes (a poll() per request: a syscall, and under
# threads a release of the GIL): servers close idle connections after seconds, not within a
# millisecond, and one closing in this window races with the request either way (the
# idle-connection retry covers idempotent requests). After longer idling it is checked.
POLL_AFTER_IDLE = 0.001


def readable_probe(fd: int) -> typing.Callable[[], typing.Any]:
    """A call whose result is truthy when `fd` has data or EOF pending, without blocking.
    Made once per socket: a poll object with `fd` registered, so each probe is one C call."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return functools.partial(poller.poll, 0)
    return lambda: select.select([fd], [], [], 0)[0]  # pragma: no cover - Windows


def retry_is_safe(request: Request) -> bool:
    """Whether a request may be sent again on a fresh connection after the server closed an
    idle keep-alive connection under it: idempotent method and a replayable body."""
    return request.method in IDEMPOTENT_METHODS and type(request.stream) is ByteStream


def connect_delays() -> typing.Iterator[float]:
    """Sleeps between connection attempts: 0, 0.5, 1, 2, 4... seconds (httpcore's backoff)."""
    yield 0.0
    delay = RETRIES_BACKOFF_FACTOR
    while True:
        yield delay
        delay *= 2


# --------------------------------------------------------------------------- tracing


def trace_started(trace: TraceCallback, name: str, info: dict[str, typing.Any]) -> typing.Any:
    return trace(f"{name}.started", info)


def trace_complete(trace: TraceCallback, name: str, value: typing.Any = None) -> typing.Any:
    return trace(f"{name}.complete", {"return_value": value})


def trace_failed(trace: TraceCallback, name: str, exc: BaseException) -> typing.Any:
    return trace(f"{name}.failed", {"exception": exc})


# --------------------------------------------------------------------------- responses


class CompleteStream(ByteStream):
    """The body of a response that arrived whole with its head: the connection is already back
    in the pool, so reading it does no I/O (sync and async alike). A `ByteStream`, so that
    `Response.read`/`aread` take it without iterating. Made from the joined body chunks
    (`b"".join` of a single chunk returns it without a copy)."""


def build_response(
    head: H1Response,
    stream: SyncByteStream | AsyncByteStream,
    network_stream: typing.Any,
) -> Response:
    """A `rapidhttp.Response` from a parsed head; `headers` are taken over, not copied."""
    extensions = {
        "http_version": head.http_version,
        "reason_phrase": head.reason_phrase,
        "network_stream": network_stream,
    }
    return Response._from_transport(
        head.status_code, Headers._from_raw(head.headers), stream, extensions
    )
