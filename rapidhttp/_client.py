"""`Client` and `AsyncClient`: config merging, auth flows, redirects, cookies, hooks, mounts.

Layout: `BaseClient` holds the configuration and every decision (how a request is built, which
transport serves a URL, where a redirect goes, what a response is bound to). Those decisions do
no I/O and are shared; `Client` and `AsyncClient` are thin drivers that only differ in how they
call the transport, the hooks and the auth flow (`x()` versus `await x()`).

Hot path (a reused client, no auth, no cookies, no hooks, no redirect): the default headers are
merged when they are set, URL parsing and base_url joins are cached per URL string, the auth
flow generator, the cookie jar and the hook loops are skipped when unused, and logging costs one
`isEnabledFor` call.
"""

from __future__ import annotations

import enum
import logging
import typing
import warnings
from contextlib import asynccontextmanager, contextmanager
from time import perf_counter
from types import TracebackType

from .__version__ import __version__
from ._auth import Auth, BasicAuth, FunctionAuth
from ._config import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_TIMEOUT_CONFIG,
    Limits,
    Proxy,
    Timeout,
)
from ._decoders import SUPPORTED_DECODERS
from ._engine.h2 import require_h2
from ._exceptions import InvalidURL, RemoteProtocolError, RequestError, TooManyRedirects
from ._models import Cookies, Headers, Request, Response
from ._transports.asgi import ASGITransport
from ._transports.base import AsyncBaseTransport, BaseTransport
from ._transports.default import AsyncHTTPTransport, HTTPTransport
from ._transports.wsgi import WSGITransport
from ._types import (
    AsyncByteStream,
    AuthTypes,
    CertTypes,
    CookieTypes,
    HeaderTypes,
    ProxyTypes,
    QueryParamTypes,
    RequestContent,
    RequestData,
    RequestExtensions,
    RequestFiles,
    SyncByteStream,
    TimeoutTypes,
)
from ._urls import URL, QueryParams
from ._utils import URLPattern, get_environment_proxies

if typing.TYPE_CHECKING:  # pragma: no cover
    import ssl

__all__ = ["USE_CLIENT_DEFAULT", "AsyncClient", "Client"]

T = typing.TypeVar("T", bound="Client")
U = typing.TypeVar("U", bound="AsyncClient")
EventHook = typing.Callable[..., typing.Any]
# httpx 0.27's `proxies=`: one proxy for everything, or a mapping of mount patterns to proxies.
ProxiesTypes = ProxyTypes | typing.Mapping[URL | str, ProxyTypes | None]


class UseClientDefault:
    """The type of `USE_CLIENT_DEFAULT`: "use whatever the client is configured with".

    It differs from `None`, which for `auth=` or `timeout=` explicitly disables the feature for
    one request even when the client has it configured.
    """


USE_CLIENT_DEFAULT = UseClientDefault()

logger = logging.getLogger("rapidhttp")
_INFO = logging.INFO  # (a module global: one lookup less per response)

USER_AGENT = f"python-rapidhttp/{__version__}"
ACCEPT_ENCODING = ", ".join(key for key in SUPPORTED_DECODERS if key != "identity")

_DEFAULT_PORTS = {"http": 80, "https": 443}
# "No authentication": the base `Auth` flow sends the request unchanged. It is stateless, so one
# instance serves every client; `send` skips the flow altogether when it sees this one.
_NO_AUTH = Auth()
_REDIRECT_STATUS_CODES = frozenset((301, 302, 303, 307, 308))
# Bound on the per-client cache of parsed/joined URLs; a client that talks to endless distinct
# URLs just refills it.
_URL_CACHE_SIZE = 256


class ClientState(enum.Enum):
    UNOPENED = 1  # created, not used yet and not entered as a context manager
    OPENED = 2  # has sent a request, or is inside `with`
    CLOSED = 3  # closed, or its `with` block exited


# The states every send checks and sets, as module globals: a plain global lookup, not an
# attribute lookup on the enum class.
_OPENED = ClientState.OPENED
_CLOSED = ClientState.CLOSED


_REOPEN_ERRORS = {
    ClientState.OPENED: "Cannot open a client instance more than once.",
    ClientState.CLOSED: "Cannot reopen a client instance, once it has been closed.",
}


# --------------------------------------------------------------------------- redirect rules


def _port_or_default(url: URL) -> int | None:
    return url.port if url.port is not None else _DEFAULT_PORTS.get(url.scheme)


def _same_origin(url: URL, other: URL) -> bool:
    return (
        url.scheme == other.scheme
        and url.host == other.host
        and _port_or_default(url) == _port_or_default(other)
    )


def _is_https_redirect(url: URL, location: URL) -> bool:
    """True when `location` is the https upgrade of `url` (same host, default ports)."""
    return (
        url.host == location.host
        and url.scheme == "http"
        and _port_or_default(url) == 80
        and location.scheme == "https"
        and _port_or_default(location) == 443
    )


def _check_legacy_arguments(
    app: typing.Any, proxies: ProxiesTypes | None, proxy: ProxyTypes | None, transport: str
) -> None:
    """Warn about httpx 0.27's `app=` and `proxies=` (still accepted, as 0.27 did)."""
    if proxies:
        warnings.warn(
            "The 'proxies' argument is now deprecated. Use 'proxy' or 'mounts' instead.",
            DeprecationWarning,
            stacklevel=4,
        )
        if proxy:
            raise RuntimeError("Use either `proxy` or 'proxies', not both.")
    if app:
        warnings.warn(
            "The 'app' shortcut is now deprecated. "
            f"Use the explicit style 'transport={transport}(app=...)' instead.",
            DeprecationWarning,
            stacklevel=4,
        )


def _warn_per_request_cookies() -> None:
    warnings.warn(
        "Setting per-request cookies=<...> is being deprecated, because the expected "
        "behaviour on cookie persistence is ambiguous. Set cookies directly on the client "
        "instance instead.",
        DeprecationWarning,
        stacklevel=3,
    )


# --------------------------------------------------------------------------- shared client


class BaseClient:
    def __init__(
        self,
        *,
        auth: AuthTypes | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG,
        follow_redirects: bool = False,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        event_hooks: None | typing.Mapping[str, list[EventHook]] = None,
        base_url: URL | str = "",
        trust_env: bool = True,
        default_encoding: str | typing.Callable[[bytes], str] = "utf-8",
    ) -> None:
        self._url_cache: dict[str, URL] = {}
        self.base_url = base_url
        self.auth = auth
        self.params = params
        self.headers = headers
        self.cookies = cookies
        self.timeout = timeout
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects
        self.event_hooks = {} if event_hooks is None else event_hooks
        self._trust_env = trust_env
        self._default_encoding = default_encoding
        self._state = ClientState.UNOPENED
        # Routing, filled in by the subclasses: the default transport, and the mounts sorted
        # from the most to the least specific pattern.
        self._transport: typing.Any
        self._mounts: dict[URLPattern, typing.Any] = {}

    # ----------------------------------------------------------------------- properties

    @property
    def is_closed(self) -> bool:
        return self._state == ClientState.CLOSED

    @property
    def trust_env(self) -> bool:
        return self._trust_env

    @property
    def timeout(self) -> Timeout:
        return self._timeout

    @timeout.setter
    def timeout(self, timeout: TimeoutTypes) -> None:
        self._timeout = Timeout(timeout)
        self._timeout_dict = self._timeout.as_dict()

    @property
    def event_hooks(self) -> dict[str, list[EventHook]]:
        return self._event_hooks

    @event_hooks.setter
    def event_hooks(self, event_hooks: typing.Mapping[str, list[EventHook]]) -> None:
        self._event_hooks = {
            "request": list(event_hooks.get("request", [])),
            "response": list(event_hooks.get("response", [])),
        }

    @property
    def auth(self) -> Auth | None:
        """The authentication used by requests that do not pass their own `auth=`."""
        return self._auth

    @auth.setter
    def auth(self, auth: AuthTypes | None) -> None:
        self._auth = self._build_auth(auth)

    @property
    def base_url(self) -> URL:
        """The URL that relative request URLs are joined to; it always ends with "/"."""
        return self._base_url

    @base_url.setter
    def base_url(self, url: URL | str) -> None:
        self._base_url = self._enforce_trailing_slash(URL(url))
        self._url_cache.clear()

    @property
    def headers(self) -> Headers:
        """The headers sent with every request: the defaults merged with the client's own."""
        return self._headers

    @headers.setter
    def headers(self, headers: HeaderTypes | None) -> None:
        client_headers = Headers(
            {
                b"Accept": b"*/*",
                b"Accept-Encoding": ACCEPT_ENCODING.encode("ascii"),
                b"Connection": b"keep-alive",
                b"User-Agent": USER_AGENT.encode("ascii"),
            }
        )
        client_headers.update(headers)
        self._headers = client_headers

    @property
    def cookies(self) -> Cookies:
        """The cookie jar: sent with matching requests, updated from every response."""
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: CookieTypes | None) -> None:
        self._cookies = Cookies(cookies)

    @property
    def params(self) -> QueryParams:
        """Query parameters added to every request URL."""
        return self._params

    @params.setter
    def params(self, params: QueryParamTypes | None) -> None:
        self._params = QueryParams(params)

    # ----------------------------------------------------------------------- building requests

    def build_request(
        self,
        method: str,
        url: URL | str,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: typing.Any | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Request:
        """Build a request with the client's base_url, params, headers, cookies and timeout
        merged in. Per-request values win; per-request `params` replace a query string that
        the URL itself carries, as in httpx 0.28."""
        if extensions is None or "timeout" not in extensions:
            timeout_dict = (
                dict(self._timeout_dict)
                # (`is USE_CLIENT_DEFAULT` first: the usual case, decided without a call.)
                if timeout is USE_CLIENT_DEFAULT or isinstance(timeout, UseClientDefault)
                else Timeout(timeout).as_dict()
            )
            extensions = (
                {"timeout": timeout_dict}
                if extensions is None
                else {**extensions, "timeout": timeout_dict}
            )
        # The merges are only called for when there is something to merge: most requests
        # repeat a URL (cached) and carry no params, headers or cookies of their own.
        merged_url = self._url_cache.get(url) if type(url) is str else None
        # CookieJar keeps its cookies in the `_cookies` dict: looking at it directly is the
        # cheap "is the jar empty?" check (iterating the jar is not). It may hold emptied
        # domain dicts, which only costs an unneeded merge.
        if cookies or getattr(self._cookies.jar, "_cookies", True):
            cookies = self._merge_cookies(cookies)
        request = Request.__new__(Request)  # `Request(...)`, minus its keyword call (see _init)
        request._init(
            method,
            self._merge_url(url) if merged_url is None else merged_url,
            self._params.merge(params) if params or self._params._dict else params,
            # `Request` copies the headers it is given, so the client's own merged headers
            # are passed as they are when the request adds none.
            self._headers if headers is None else self._merge_headers(headers),
            cookies,
            content,
            data,
            files,
            json,
            None,
            extensions,
        )
        return request

    def _enforce_trailing_slash(self, url: URL) -> URL:
        if url.raw_path.endswith(b"/"):
            return url
        return url.copy_with(raw_path=url.raw_path + b"/")

    def _merge_url(self, url: URL | str) -> URL:
        """Join a relative URL to `base_url` (always appending to its path); absolute URLs are
        used as they are. Results for string URLs are cached: clients repeat their URLs."""
        if isinstance(url, str):
            merged = self._url_cache.get(url)
            if merged is None:
                merged = self._join_base_url(URL(url))
                if len(self._url_cache) >= _URL_CACHE_SIZE:
                    self._url_cache.clear()
                self._url_cache[url] = merged
            return merged
        return self._join_base_url(URL(url))

    def _join_base_url(self, url: URL) -> URL:
        if url.is_relative_url:
            # base_url ends with "/", so strip the leading "/" of the relative path: with
            # base_url "https://example.com/api/", "/users" gives "https://example.com/api/users".
            base = self._base_url
            return base.copy_with(raw_path=base.raw_path + url.raw_path.lstrip(b"/"))
        return url

    def _merge_headers(self, headers: HeaderTypes | None = None) -> Headers:
        merged_headers = Headers(self._headers)
        merged_headers.update(headers)
        return merged_headers

    def _merge_cookies(self, cookies: CookieTypes | None = None) -> Cookies:
        merged_cookies = Cookies(self._cookies)
        merged_cookies.update(cookies)
        return merged_cookies

    # ----------------------------------------------------------------------- auth

    def _build_auth(self, auth: AuthTypes | None) -> Auth | None:
        if auth is None:
            return None
        if isinstance(auth, tuple):
            return BasicAuth(username=auth[0], password=auth[1])
        if isinstance(auth, Auth):
            return auth
        if callable(auth):
            return FunctionAuth(func=auth)
        raise TypeError(f'Invalid "auth" argument: {auth!r}')

    # ----------------------------------------------------------------------- sending, shared

    def _prepare_send(
        self,
        request: Request,
        auth: AuthTypes | UseClientDefault | None,
        follow_redirects: bool | UseClientDefault,
    ) -> tuple[Auth, bool]:
        """The checks and defaults every send starts with. Returns the auth for the request
        (`_NO_AUTH` when there is none at all, which the client recognises to skip the auth
        flow machinery entirely) and the redirect policy."""
        if self._state is _CLOSED:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        self._state = _OPENED
        if "timeout" not in request.extensions:
            request.extensions = {**request.extensions, "timeout": dict(self._timeout_dict)}
        # (`is USE_CLIENT_DEFAULT` first: the usual case, decided without a call.)
        if follow_redirects is USE_CLIENT_DEFAULT or isinstance(
            follow_redirects, UseClientDefault
        ):
            follow_redirects = self.follow_redirects
        if auth is USE_CLIENT_DEFAULT or isinstance(auth, UseClientDefault):
            resolved = self._auth
        else:
            resolved = self._build_auth(auth)
        if resolved is not None:
            return resolved, follow_redirects
        url = request.url
        # The parsed userinfo is the cheap test; "http://:@host" has userinfo but no credentials.
        if url._uri_reference.userinfo and (url.username or url.password):
            return BasicAuth(username=url.username, password=url.password), follow_redirects
        return _NO_AUTH, follow_redirects

    @staticmethod
    def _too_many_redirects(request: Request) -> typing.NoReturn:
        raise TooManyRedirects("Exceeded maximum allowed redirects.", request=request)

    def _bind_response(self, request: Request, response: Response, start: float) -> None:
        """Attach what the client owns to a response fresh from the transport, `start` being
        when it was sent: closing the response stamps `elapsed` from it."""
        response._started = start
        response._request = request
        response.default_encoding = self._default_encoding
        # The jar is only walked when the server actually sets cookies. (The lowercased
        # names directly: this runs for every response.)
        if b"set-cookie" in response.headers._lower_keys():
            self._cookies.extract_cookies(response)
        if logger.isEnabledFor(_INFO):
            logger.info(
                'HTTP Request: %s %s "%s %d %s"',
                request.method,
                request.url,
                response.http_version,
                response.status_code,
                response.reason_phrase,
            )

    def _build_redirect_request(self, request: Request, response: Response) -> Request:
        method = self._redirect_method(request, response)
        url = self._redirect_url(request, response)
        return Request(
            method=method,
            url=url,
            headers=self._redirect_headers(request, url, method),
            # The Cookie header comes from the jar, which now holds what the redirect set.
            cookies=self._cookies,
            stream=self._redirect_stream(request, method),
            extensions=request.extensions,
        )

    def _redirect_method(self, request: Request, response: Response) -> str:
        method = request.method
        status_code = response.status_code
        # 303 See Other means GET (RFC 9110 15.4.4); browsers treat 302 the same way, and
        # a POST answered by 301 too (see requests issue 1704). 307/308 keep the method.
        if status_code in (302, 303) and method != "HEAD":
            return "GET"
        if status_code == 301 and method == "POST":
            return "GET"
        return method

    def _redirect_url(self, request: Request, response: Response) -> URL:
        location = response.headers["Location"]
        try:
            url = URL(location)
        except InvalidURL as exc:
            raise RemoteProtocolError(
                f"Invalid URL in location header: {exc}.", request=request
            ) from None

        # An absolute-form Location without a host ("https:///path") keeps the current host.
        if url.scheme and not url.host:
            url = url.copy_with(host=request.url.host)
        # A relative Location is resolved against the request URL.
        if url.is_relative_url:
            url = request.url.join(url)
        # The fragment carries over when the Location has none (RFC 9110 10.2.2).
        if request.url.fragment and not url.fragment:
            url = url.copy_with(fragment=request.url.fragment)
        return url

    def _redirect_headers(self, request: Request, url: URL, method: str) -> Headers:
        headers = Headers(request.headers)
        if not _same_origin(url, request.url):
            # Credentials never leave their origin, except for a plain http -> https upgrade.
            if not _is_https_redirect(request.url, url):
                headers.pop("Authorization", None)
            headers["Host"] = url.netloc.decode("ascii")
        if method != request.method and method == "GET":
            # The body is dropped, and with it the headers that describe it.
            headers.pop("Content-Length", None)
            headers.pop("Transfer-Encoding", None)
        headers.pop("Cookie", None)
        return headers

    def _redirect_stream(
        self, request: Request, method: str
    ) -> SyncByteStream | AsyncByteStream | None:
        if method != request.method and method == "GET":
            return None
        return request.stream

    # ----------------------------------------------------------------------- routing

    def _get_proxy_map(
        self, proxy: ProxiesTypes | None, allow_env_proxies: bool
    ) -> dict[str, Proxy | None]:
        if isinstance(proxy, typing.Mapping):  # the legacy `proxies={pattern: proxy}`
            return {
                str(key): Proxy(url=value) if isinstance(value, (str, URL)) else value
                for key, value in proxy.items()
            }
        if proxy is not None:
            return {"all://": Proxy(url=proxy) if isinstance(proxy, (str, URL)) else proxy}
        if allow_env_proxies:
            return {
                key: None if url is None else Proxy(url=url)
                for key, url in get_environment_proxies().items()
            }
        return {}

    def _setup_routing(
        self,
        transport_class: typing.Callable[..., typing.Any],
        app_transport_class: typing.Callable[..., typing.Any],
        *,
        transport: typing.Any,
        app: typing.Any,
        proxy: ProxyTypes | None,
        proxies: ProxiesTypes | None,
        mounts: typing.Mapping[str, typing.Any] | None,
        trust_env: bool,
        **transport_options: typing.Any,
    ) -> typing.Any:
        """Build the mounts (proxies, then the user's mounts, most specific first) and return
        the default transport. Shared by both clients: only the transport classes differ."""
        _check_legacy_arguments(app, proxies, proxy, app_transport_class.__name__)
        allow_env_proxies = trust_env and transport is None and app is None
        proxy_map = self._get_proxy_map(proxies or proxy, allow_env_proxies)
        routes: dict[URLPattern, typing.Any] = {
            URLPattern(key): None
            if value is None
            else transport_class(trust_env=trust_env, proxy=value, **transport_options)
            for key, value in proxy_map.items()
        }
        if mounts is not None:
            routes.update({URLPattern(key): mounted for key, mounted in mounts.items()})
        self._mounts = dict(sorted(routes.items()))

        if transport is not None:
            return transport
        if app is not None:
            return app_transport_class(app=app)
        return transport_class(trust_env=trust_env, **transport_options)

    def _route(self, url: URL) -> typing.Any:
        """The transport of the most specific mount matching `url`, else the default one.
        (The send loops call this only when there are mounts: `_transport_for_url`, inlined.)"""
        for pattern, transport in self._mounts.items():
            if pattern.matches(url):
                # A mount mapped to None means "use the default" (e.g. NO_PROXY hosts).
                return self._transport if transport is None else transport
        return self._transport


# --------------------------------------------------------------------------- sync driver


class Client(BaseClient):
    """An HTTP client with connection pooling, HTTP/2, redirects and cookie persistence.

    It can be shared between threads.

    ```python
    >>> client = rapidhttp.Client()
    >>> response = client.get("https://example.org")
    ```
    """

    def __init__(
        self,
        *,
        auth: AuthTypes | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        verify: ssl.SSLContext | str | bool = True,
        cert: CertTypes | None = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        proxy: ProxyTypes | None = None,
        mounts: None | typing.Mapping[str, BaseTransport | None] = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG,
        follow_redirects: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        event_hooks: None | typing.Mapping[str, list[EventHook]] = None,
        base_url: URL | str = "",
        transport: BaseTransport | None = None,
        default_encoding: str | typing.Callable[[bytes], str] = "utf-8",
        app: typing.Callable[..., typing.Any] | None = None,
        proxies: ProxiesTypes | None = None,
    ) -> None:
        super().__init__(
            auth=auth,
            params=params,
            headers=headers,
            cookies=cookies,
            timeout=timeout,
            follow_redirects=follow_redirects,
            max_redirects=max_redirects,
            event_hooks=event_hooks,
            base_url=base_url,
            trust_env=trust_env,
            default_encoding=default_encoding,
        )
        if http2:
            require_h2()
        self._transport: BaseTransport = self._setup_routing(
            HTTPTransport,
            WSGITransport,
            transport=transport,
            app=app,
            proxy=proxy,
            proxies=proxies,
            mounts=mounts,
            verify=verify,
            cert=cert,
            trust_env=trust_env,
            http1=http1,
            http2=http2,
            limits=limits,
        )

    def _transport_for_url(self, url: URL) -> BaseTransport:
        """The transport serving `url`: the most specific matching mount, else the default."""
        transport: BaseTransport = self._route(url) if self._mounts else self._transport
        return transport

    def request(
        self,
        method: str,
        url: URL | str,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: typing.Any | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Build and send a request: `client.send(client.build_request(...), ...)`."""
        if cookies is not None:
            _warn_per_request_cookies()
        request = self.build_request(
            method,
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            timeout=timeout,
            extensions=extensions,
        )
        return self.send(request, auth=auth, follow_redirects=follow_redirects)

    @contextmanager
    def stream(
        self,
        method: str,
        url: URL | str,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: typing.Any | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> typing.Iterator[Response]:
        """Send a request and yield the response with its body not yet read; the response is
        closed when the block exits."""
        request = self.build_request(
            method,
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            timeout=timeout,
            extensions=extensions,
        )
        response = self.send(request, auth=auth, follow_redirects=follow_redirects, stream=True)
        try:
            yield response
        finally:
            response.close()

    def send(
        self,
        request: Request,
        *,
        stream: bool = False,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> Response:
        """Send a request as it is. With `stream=True` the body is left for the caller to read
        (and the response to close)."""
        request_auth, follow = self._prepare_send(request, auth, follow_redirects)
        if request_auth is _NO_AUTH:
            response = self._send_handling_redirects(request, follow, [])
        else:
            response = self._send_handling_auth(request, request_auth, follow, [])
        try:
            if not stream:
                response.read()
            return response
        except BaseException:
            response.close()
            raise

    def _send_handling_auth(
        self, request: Request, auth: Auth, follow_redirects: bool, history: list[Response]
    ) -> Response:
        flow = auth.sync_auth_flow(request)
        try:
            request = next(flow)
            while True:
                response = self._send_handling_redirects(request, follow_redirects, history)
                try:
                    try:
                        next_request = flow.send(response)
                    except StopIteration:
                        return response
                    # The flow asked for another round: this response becomes history.
                    response.history = list(history)
                    response.read()
                    history.append(response)
                    request = next_request
                except BaseException:
                    response.close()
                    raise
        finally:
            flow.close()

    def _send_handling_redirects(
        self, request: Request, follow_redirects: bool, history: list[Response]
    ) -> Response:
        hooks = self._event_hooks
        # `history` may hold auth rounds already: the budget counts them too, as in httpx.
        while len(history) <= self.max_redirects:
            for hook in hooks["request"]:
                hook(request)
            # (What `_send_single_request` is in httpx, inlined: one call less per request.)
            transport = self._route(request.url) if self._mounts else self._transport
            start = perf_counter()
            if not isinstance(request.stream, SyncByteStream):
                raise RuntimeError(
                    "Attempted to send an async request with a sync Client instance."
                )
            try:
                response = transport.handle_request(request)
            except RequestError as exc:
                exc.request = request
                raise
            assert isinstance(response.stream, SyncByteStream)
            self._bind_response(request, response, start)
            try:
                for hook in hooks["response"]:
                    hook(response)
                if history:
                    response.history = list(history)
                if response.status_code not in _REDIRECT_STATUS_CODES or not (
                    response.has_redirect_location
                ):
                    return response
                next_request = self._build_redirect_request(request, response)
                history = history + [response]
                if not follow_redirects:
                    response.next_request = next_request
                    return response
                response.read()
                request = next_request
            except BaseException:
                response.close()
                raise
        self._too_many_redirects(request)

    def get(
        self,
        url: URL | str,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Send a `GET` request."""
        return self.request(
            "GET",
            url,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    def options(
        self,
        url: URL | str,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Send an `OPTIONS` request."""
        return self.request(
            "OPTIONS",
            url,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    def head(
        self,
        url: URL | str,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Send a `HEAD` request."""
        return self.request(
            "HEAD",
            url,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    def post(
        self,
        url: URL | str,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: typing.Any | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Send a `POST` request."""
        return self.request(
            "POST",
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    def put(
        self,
        url: URL | str,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: typing.Any | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Send a `PUT` request."""
        return self.request(
            "PUT",
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    def patch(
        self,
        url: URL | str,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: typing.Any | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Send a `PATCH` request."""
        return self.request(
            "PATCH",
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    def delete(
        self,
        url: URL | str,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Send a `DELETE` request."""
        return self.request(
            "DELETE",
            url,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    def _all_transports(self) -> list[BaseTransport]:
        return [self._transport, *(t for t in self._mounts.values() if t is not None)]

    def close(self) -> None:
        """Close the transport and every mounted transport."""
        if self._state != ClientState.CLOSED:
            self._state = ClientState.CLOSED
            for transport in self._all_transports():
                transport.close()

    def __enter__(self: T) -> T:
        if self._state != ClientState.UNOPENED:
            raise RuntimeError(_REOPEN_ERRORS[self._state])
        self._state = ClientState.OPENED
        for transport in self._all_transports():
            transport.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self._state = ClientState.CLOSED
        for transport in self._all_transports():
            transport.__exit__(exc_type, exc_value, traceback)


# --------------------------------------------------------------------------- async driver


class AsyncClient(BaseClient):
    """An asynchronous HTTP client with connection pooling, HTTP/2, redirects and cookie
    persistence. It can be shared between tasks.

    ```python
    >>> async with rapidhttp.AsyncClient() as client:
    >>>     response = await client.get("https://example.org")
    ```
    """

    def __init__(
        self,
        *,
        auth: AuthTypes | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        verify: ssl.SSLContext | str | bool = True,
        cert: CertTypes | None = None,
        http1: bool = True,
        http2: bool = False,
        proxy: ProxyTypes | None = None,
        mounts: None | typing.Mapping[str, AsyncBaseTransport | None] = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG,
        follow_redirects: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        event_hooks: None | typing.Mapping[str, list[EventHook]] = None,
        base_url: URL | str = "",
        transport: AsyncBaseTransport | None = None,
        trust_env: bool = True,
        default_encoding: str | typing.Callable[[bytes], str] = "utf-8",
        app: typing.Callable[..., typing.Any] | None = None,
        proxies: ProxiesTypes | None = None,
    ) -> None:
        super().__init__(
            auth=auth,
            params=params,
            headers=headers,
            cookies=cookies,
            timeout=timeout,
            follow_redirects=follow_redirects,
            max_redirects=max_redirects,
            event_hooks=event_hooks,
            base_url=base_url,
            trust_env=trust_env,
            default_encoding=default_encoding,
        )
        if http2:
            require_h2()
        self._transport: AsyncBaseTransport = self._setup_routing(
            AsyncHTTPTransport,
            ASGITransport,
            transport=transport,
            app=app,
            proxy=proxy,
            proxies=proxies,
            mounts=mounts,
            verify=verify,
            cert=cert,
            trust_env=trust_env,
            http1=http1,
            http2=http2,
            limits=limits,
        )

    def _transport_for_url(self, url: URL) -> AsyncBaseTransport:
        """The transport serving `url`: the most specific matching mount, else the default."""
        transport: AsyncBaseTransport = self._route(url) if self._mounts else self._transport
        return transport

    async def request(
        self,
        method: str,
        url: URL | str,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: typing.Any | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Build and send a request: `await client.send(client.build_request(...), ...)`."""
        if cookies is not None:
            _warn_per_request_cookies()
        request = self.build_request(
            method,
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            timeout=timeout,
            extensions=extensions,
        )
        return await self.send(request, auth=auth, follow_redirects=follow_redirects)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: URL | str,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: typing.Any | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> typing.AsyncIterator[Response]:
        """Send a request and yield the response with its body not yet read; the response is
        closed when the block exits."""
        request = self.build_request(
            method,
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            timeout=timeout,
            extensions=extensions,
        )
        response = await self.send(
            request, auth=auth, follow_redirects=follow_redirects, stream=True
        )
        try:
            yield response
        finally:
            await response.aclose()

    async def send(
        self,
        request: Request,
        *,
        stream: bool = False,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> Response:
        """Send a request as it is. With `stream=True` the body is left for the caller to read
        (and the response to close)."""
        request_auth, follow = self._prepare_send(request, auth, follow_redirects)
        if request_auth is _NO_AUTH:
            response = await self._send_handling_redirects(request, follow, [])
        else:
            response = await self._send_handling_auth(request, request_auth, follow, [])
        try:
            if not stream:
                await response.aread()
            return response
        except BaseException:
            await response.aclose()
            raise

    async def _send_handling_auth(
        self, request: Request, auth: Auth, follow_redirects: bool, history: list[Response]
    ) -> Response:
        flow = auth.async_auth_flow(request)
        try:
            request = await flow.__anext__()
            while True:
                response = await self._send_handling_redirects(request, follow_redirects, history)
                try:
                    try:
                        next_request = await flow.asend(response)
                    except StopAsyncIteration:
                        return response
                    # The flow asked for another round: this response becomes history.
                    response.history = list(history)
                    await response.aread()
                    history.append(response)
                    request = next_request
                except BaseException:
                    await response.aclose()
                    raise
        finally:
            await flow.aclose()

    async def _send_handling_redirects(
        self, request: Request, follow_redirects: bool, history: list[Response]
    ) -> Response:
        hooks = self._event_hooks
        # `history` may hold auth rounds already: the budget counts them too, as in httpx.
        while len(history) <= self.max_redirects:
            for hook in hooks["request"]:
                await hook(request)
            # (What `_send_single_request` is in httpx, inlined: one coroutine less per request.)
            transport = self._route(request.url) if self._mounts else self._transport
            start = perf_counter()
            if not isinstance(request.stream, AsyncByteStream):
                # (sic) httpx's exact wording.
                raise RuntimeError(
                    "Attempted to send an sync request with an AsyncClient instance."
                )
            try:
                response = await transport.handle_async_request(request)
            except RequestError as exc:
                exc.request = request
                raise
            assert isinstance(response.stream, AsyncByteStream)
            self._bind_response(request, response, start)
            try:
                for hook in hooks["response"]:
                    await hook(response)
                if history:
                    response.history = list(history)
                if response.status_code not in _REDIRECT_STATUS_CODES or not (
                    response.has_redirect_location
                ):
                    return response
                next_request = self._build_redirect_request(request, response)
                history = history + [response]
                if not follow_redirects:
                    response.next_request = next_request
                    return response
                await response.aread()
                request = next_request
            except BaseException:
                await response.aclose()
                raise
        self._too_many_redirects(request)

    async def get(
        self,
        url: URL | str,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Send a `GET` request."""
        return await self.request(
            "GET",
            url,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    async def options(
        self,
        url: URL | str,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Send an `OPTIONS` request."""
        return await self.request(
            "OPTIONS",
            url,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    async def head(
        self,
        url: URL | str,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Send a `HEAD` request."""
        return await self.request(
            "HEAD",
            url,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    async def post(
        self,
        url: URL | str,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: typing.Any | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Send a `POST` request."""
        return await self.request(
            "POST",
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    async def put(
        self,
        url: URL | str,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: typing.Any | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Send a `PUT` request."""
        return await self.request(
            "PUT",
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    async def patch(
        self,
        url: URL | str,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: typing.Any | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Send a `PATCH` request."""
        return await self.request(
            "PATCH",
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    async def delete(
        self,
        url: URL | str,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Send a `DELETE` request."""
        return await self.request(
            "DELETE",
            url,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    def _all_transports(self) -> list[AsyncBaseTransport]:
        return [self._transport, *(t for t in self._mounts.values() if t is not None)]

    async def aclose(self) -> None:
        """Close the transport and every mounted transport."""
        if self._state != ClientState.CLOSED:
            self._state = ClientState.CLOSED
            for transport in self._all_transports():
                await transport.aclose()

    async def __aenter__(self: U) -> U:
        if self._state != ClientState.UNOPENED:
            raise RuntimeError(_REOPEN_ERRORS[self._state])
        self._state = ClientState.OPENED
        for transport in self._all_transports():
            await transport.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self._state = ClientState.CLOSED
        for transport in self._all_transports():
            await transport.__aexit__(exc_type, exc_value, traceback)
