"""
The network transports: `HTTPTransport` (blocking sockets) and `AsyncHTTPTransport` (asyncio or
trio), with httpx 0.28's constructor, on rapidhttp's own engine (`rapidhttp/_engine/`).

    # Connection retries, Unix sockets, a source address:
    transport = rapidhttp.HTTPTransport(retries=1, uds="socket.uds", local_address="0.0.0.0")
    client = rapidhttp.Client(transport=transport)

Both transports digest their arguments with `engine_config()` into one `EngineConfig`; the
drivers do the rest. Exceptions are raised as rapidhttp's classes where they happen, with the
request attached on the way out.
"""

from __future__ import annotations

import typing

from .._config import DEFAULT_LIMITS, Limits, Proxy, shared_ssl_context
from .._engine.exchange import EngineConfig
from .._engine.h2 import require_h2
from .._engine.proxy import ProxyConfig, _import_socksio
from .._engine.sync import SyncEngine
from .._urls import URL
from .base import AsyncBaseTransport, BaseTransport

if typing.TYPE_CHECKING:  # pragma: no cover
    import ssl

    from .._engine.aio import AsyncEngine
    from .._models import Request, Response
    from .._types import CertTypes, ProxyTypes

__all__ = ["AsyncHTTPTransport", "HTTPTransport"]

SOCKET_OPTION = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


def engine_config(
    verify: ssl.SSLContext | str | bool = True,
    cert: CertTypes | None = None,
    trust_env: bool = True,
    http1: bool = True,
    http2: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    proxy: ProxyTypes | None = None,
    uds: str | None = None,
    local_address: str | None = None,
    retries: int = 0,
    socket_options: typing.Iterable[SOCKET_OPTION] | None = None,
) -> EngineConfig:
    """The constructor logic shared by `HTTPTransport` and `AsyncHTTPTransport`."""
    if http2:
        require_h2()
    if isinstance(proxy, (str, URL)):
        proxy = Proxy(url=proxy)
    # ALPN offers "h2" next to "http/1.1" with http2=True (the drivers speak both).
    ssl_context = shared_ssl_context(verify=verify, cert=cert, trust_env=trust_env, http2=http2)
    proxy_config = None
    if proxy is not None:
        scheme = proxy.url.scheme
        if scheme in ("socks5", "socks5h"):
            _import_socksio()
        elif scheme not in ("http", "https"):  # pragma: no cover - Proxy() rejects these
            raise ValueError(
                "Proxy protocol must be either 'http', 'https', 'socks5', or 'socks5h',"
                f" but got {scheme!r}."
            )
        # TLS to an https proxy uses the proxy's own context, else a default one, as httpcore.
        proxy_tls = (
            shared_ssl_context(trust_env=trust_env)
            if scheme == "https" and proxy.ssl_context is None
            else None
        )
        proxy_config = ProxyConfig(proxy, proxy_tls)
    return EngineConfig(
        ssl_context=ssl_context,
        http1=http1,
        http2=http2,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        proxy=proxy_config,
        uds=uds,
        local_address=local_address,
        retries=retries,
        socket_options=socket_options,
    )


class HTTPTransport(BaseTransport):
    def __init__(
        self,
        verify: ssl.SSLContext | str | bool = True,
        cert: CertTypes | None = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        proxy: ProxyTypes | None = None,
        uds: str | None = None,
        local_address: str | None = None,
        retries: int = 0,
        socket_options: typing.Iterable[SOCKET_OPTION] | None = None,
    ) -> None:
        config = engine_config(
            verify=verify,
            cert=cert,
            trust_env=trust_env,
            http1=http1,
            http2=http2,
            limits=limits,
            proxy=proxy,
            uds=uds,
            local_address=local_address,
            retries=retries,
            socket_options=socket_options,
        )
        self._engine = SyncEngine(config)
        # Bound once: the client calls handle_request for every request.
        self._handle = self._engine.handle_request

    def handle_request(self, request: Request) -> Response:
        return self._handle(request)

    def close(self) -> None:
        self._engine.close()


class AsyncHTTPTransport(AsyncBaseTransport):
    """The network transport for `AsyncClient`, on asyncio (any loop, uvloop included) or trio:
    the running library is detected at the first request (see `_engine/aio.py`)."""

    def __init__(
        self,
        verify: ssl.SSLContext | str | bool = True,
        cert: CertTypes | None = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        proxy: ProxyTypes | None = None,
        uds: str | None = None,
        local_address: str | None = None,
        retries: int = 0,
        socket_options: typing.Iterable[SOCKET_OPTION] | None = None,
    ) -> None:
        config = engine_config(
            verify=verify,
            cert=cert,
            trust_env=trust_env,
            http1=http1,
            http2=http2,
            limits=limits,
            proxy=proxy,
            uds=uds,
            local_address=local_address,
            retries=retries,
            socket_options=socket_options,
        )
        # Imported here, once per transport: the asyncio driver (and asyncio itself) costs
        # ~30 ms of CPU to import, which a program that never goes async should not pay.
        from .._engine.aio import AsyncEngine

        self._engine: AsyncEngine = AsyncEngine(config)
        # Bound once: the client calls handle_async_request for every request.
        self._handle = self._engine.handle

    async def handle_async_request(self, request: Request) -> Response:
        return await self._handle(request)

    async def aclose(self) -> None:
        await self._engine.aclose()
