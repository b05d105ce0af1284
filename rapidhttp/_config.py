"""
Configuration objects: `Timeout`, `Limits`, `Proxy`, the SSL context factories, and the client
defaults (`DEFAULT_TIMEOUT_CONFIG`, `DEFAULT_LIMITS`, `DEFAULT_MAX_REDIRECTS`).

SSL contexts. Building a verified context costs ~15-20 ms (parsing certifi's bundle); httpx pays
that for every client. Two functions, two contracts:

- `create_ssl_context(verify, cert, trust_env)` is httpx's public function and returns a *new*
  context on every call, because callers customise what they get back
  (`ctx = create_ssl_context(); ctx.load_cert_chain(...)`). Sharing it would leak one caller's
  trust anchors or client certificate into every other client in the process.
- `shared_ssl_context(verify, cert, trust_env, http2=...)` is what transports use. When the
  context is fully determined by configuration (verify is True or False, no `cert`), it is built
  on first use and then shared, one per distinct (verify, CA source, key log file, ALPN) key:
  so in practice one HTTP/1.1 context and one h2-capable context per process. ALPN is set once
  at build time, never per connection, because a shared context must never be mutated after it
  is handed out. Anything else (a caller's own SSLContext, a CA path string, a client cert) goes
  through `create_ssl_context` and gets ALPN set on that context, as httpcore does.

Environment (only when `trust_env`): SSL_CERT_FILE, else SSL_CERT_DIR, replaces certifi's
bundle for verify=True; SSLKEYLOGFILE turns on TLS key logging for contexts built here.
"""

from __future__ import annotations

import os
import ssl
import threading
import typing
import warnings

from ._models import Headers
from ._types import CertTypes, HeaderTypes, TimeoutTypes
from ._urls import URL

__all__ = ["Limits", "Proxy", "Timeout", "create_ssl_context", "shared_ssl_context"]


class UnsetType:
    """The type of `UNSET`: "argument not given", where None means "no timeout"."""


UNSET = UnsetType()


def create_ssl_context(
    verify: ssl.SSLContext | str | bool = True,
    cert: CertTypes | None = None,
    trust_env: bool = True,
) -> ssl.SSLContext:
    """A new client SSLContext: certifi's CAs (verify=True), no verification (verify=False),
    a CA file or directory (verify=str, deprecated), or the given context itself."""
    if verify is True:
        cafile, capath = _ca_locations(trust_env)
        context = ssl.create_default_context(cafile=cafile, capath=capath)
    elif verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str):
        warnings.warn(
            "`verify=<str>` is deprecated. "
            "Use `verify=ssl.create_default_context(cafile=...)` "
            "or `verify=ssl.create_default_context(capath=...)` instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        if os.path.isdir(verify):
            context = ssl.create_default_context(capath=verify)
        else:
            context = ssl.create_default_context(cafile=verify)
    else:
        # The caller's own context (an ssl.SSLContext, or e.g. truststore.SSLContext).
        return _load_cert(verify, cert)

    # `ssl.create_default_context` reads SSLKEYLOGFILE by itself; apply the trust_env rule to
    # every context built here instead.
    keylog = _keylog_filename(trust_env)
    if getattr(context, "keylog_filename", keylog) != keylog:  # absent without OpenSSL 1.1.1
        context.keylog_filename = keylog  # type: ignore[assignment]
    return _load_cert(context, cert)


def _load_cert(context: ssl.SSLContext, cert: CertTypes | None) -> ssl.SSLContext:
    if cert:
        warnings.warn(
            "`cert=...` is deprecated. Use `verify=<ssl_context>` instead,"
            "with `.load_cert_chain()` to configure the certificate chain.",
            DeprecationWarning,
            stacklevel=3,
        )
        if isinstance(cert, str):
            context.load_cert_chain(cert)
        else:
            context.load_cert_chain(*cert)
    return context


def _ca_locations(trust_env: bool) -> tuple[str | None, str | None]:
    """(cafile, capath) for verify=True: the environment's, else certifi's bundle."""
    if trust_env:
        if os.environ.get("SSL_CERT_FILE"):
            return os.environ["SSL_CERT_FILE"], None
        if os.environ.get("SSL_CERT_DIR"):
            return None, os.environ["SSL_CERT_DIR"]
    import certifi

    return certifi.where(), None


def _keylog_filename(trust_env: bool) -> str | None:
    return (os.environ.get("SSLKEYLOGFILE") or None) if trust_env else None


def _alpn(http2: bool) -> list[str]:
    return ["http/1.1", "h2"] if http2 else ["http/1.1"]


_SharedKey = tuple[bool, str | None, str | None, str | None, bool]
_SHARED_CONTEXTS: dict[_SharedKey, ssl.SSLContext] = {}
_SHARED_LOCK = threading.Lock()


def shared_ssl_context(
    verify: ssl.SSLContext | str | bool = True,
    cert: CertTypes | None = None,
    trust_env: bool = True,
    *,
    http2: bool = False,
) -> ssl.SSLContext:
    """The client SSLContext a transport should use, with ALPN offering "http/1.1" (and "h2"
    when `http2`). Built once per process and shared whenever configuration alone determines
    it; the returned context must not be modified (see the module docstring)."""
    if isinstance(verify, bool) and not cert:
        cafile, capath = _ca_locations(trust_env) if verify else (None, None)
        key = (verify, cafile, capath, _keylog_filename(trust_env), http2)
        context = _SHARED_CONTEXTS.get(key)
        if context is None:
            with _SHARED_LOCK:  # two threads starting clients must not both pay ~15 ms
                context = _SHARED_CONTEXTS.get(key)
                if context is None:
                    context = create_ssl_context(verify=verify, trust_env=trust_env)
                    context.set_alpn_protocols(_alpn(http2))
                    _SHARED_CONTEXTS[key] = context
        return context

    context = create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)
    context.set_alpn_protocols(_alpn(http2))
    return context


class Timeout:
    """
    Timeout configuration, in seconds (None means no limit).

        Timeout(None)               # no timeouts
        Timeout(5.0)                # 5s on connect, read, write and pool
        Timeout(None, connect=5.0)  # 5s to connect, no other timeouts
        Timeout(5.0, connect=10.0)  # 10s to connect, 5s elsewhere
        Timeout(5.0, pool=None)     # no limit on waiting for a pooled connection, 5s elsewhere
        Timeout((5.0, 10.0))        # (connect, read[, write[, pool]]); missing ones are None
    """

    def __init__(
        self,
        timeout: TimeoutTypes | UnsetType = UNSET,
        *,
        connect: None | float | UnsetType = UNSET,
        read: None | float | UnsetType = UNSET,
        write: None | float | UnsetType = UNSET,
        pool: None | float | UnsetType = UNSET,
    ) -> None:
        self.connect: float | None
        self.read: float | None
        self.write: float | None
        self.pool: float | None
        if isinstance(timeout, Timeout):
            if not (connect is read is write is pool is UNSET):
                raise AssertionError("Cannot combine a Timeout instance with keyword timeouts.")
            self.connect, self.read = timeout.connect, timeout.read
            self.write, self.pool = timeout.write, timeout.pool
        elif isinstance(timeout, tuple):
            if len(timeout) < 2:
                raise ValueError(
                    f"A timeout tuple must be (connect, read[, write[, pool]]), got {timeout!r}."
                )
            self.connect, self.read = timeout[0], timeout[1]
            self.write = timeout[2] if len(timeout) > 2 else None
            self.pool = timeout[3] if len(timeout) > 3 else None
        elif not (
            isinstance(connect, UnsetType)
            or isinstance(read, UnsetType)
            or isinstance(write, UnsetType)
            or isinstance(pool, UnsetType)
        ):
            self.connect, self.read, self.write, self.pool = connect, read, write, pool
        else:
            if isinstance(timeout, UnsetType):
                raise ValueError(
                    "rapidhttp.Timeout must either include a default, or set all "
                    "four parameters explicitly."
                )
            self.connect = timeout if isinstance(connect, UnsetType) else connect
            self.read = timeout if isinstance(read, UnsetType) else read
            self.write = timeout if isinstance(write, UnsetType) else write
            self.pool = timeout if isinstance(pool, UnsetType) else pool

    def as_dict(self) -> dict[str, float | None]:
        return {"connect": self.connect, "read": self.read, "write": self.write, "pool": self.pool}

    def __eq__(self, other: typing.Any) -> bool:
        return (
            isinstance(other, self.__class__)
            and self.connect == other.connect
            and self.read == other.read
            and self.write == other.write
            and self.pool == other.pool
        )

    def __repr__(self) -> str:
        class_name = self.__class__.__name__
        if self.connect == self.read == self.write == self.pool:
            return f"{class_name}(timeout={self.connect})"
        return (
            f"{class_name}(connect={self.connect}, read={self.read}, "
            f"write={self.write}, pool={self.pool})"
        )


class Limits:
    """
    Connection pool limits.

    * max_connections: the most connections open at once (None: unlimited).
    * max_keepalive_connections: the most idle keep-alive connections kept (None: unlimited);
      should not exceed max_connections.
    * keepalive_expiry: seconds an idle keep-alive connection is kept (None: forever).
    """

    def __init__(
        self,
        *,
        max_connections: int | None = None,
        max_keepalive_connections: int | None = None,
        keepalive_expiry: float | None = 5.0,
    ) -> None:
        self.max_connections = max_connections
        self.max_keepalive_connections = max_keepalive_connections
        self.keepalive_expiry = keepalive_expiry

    def __eq__(self, other: typing.Any) -> bool:
        return (
            isinstance(other, self.__class__)
            and self.max_connections == other.max_connections
            and self.max_keepalive_connections == other.max_keepalive_connections
            and self.keepalive_expiry == other.keepalive_expiry
        )

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(max_connections={self.max_connections}, "
            f"max_keepalive_connections={self.max_keepalive_connections}, "
            f"keepalive_expiry={self.keepalive_expiry})"
        )


class Proxy:
    """
    A proxy: `url` with scheme http, https, socks5 or socks5h. Credentials in the URL move to
    `auth` (and out of `url`); `headers` are sent to the proxy; `ssl_context` is for TLS to an
    https proxy itself.
    """

    def __init__(
        self,
        url: URL | str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        auth: tuple[str, str] | None = None,
        headers: HeaderTypes | None = None,
    ) -> None:
        url = URL(url)
        if url.scheme not in ("http", "https", "socks5", "socks5h"):
            raise ValueError(f"Unknown scheme for proxy URL {url!r}")

        if url.username or url.password:
            auth = (url.username, url.password)
            url = url.copy_with(username=None, password=None)

        self.url = url
        self.auth = auth
        self.headers = Headers(headers)
        self.ssl_context = ssl_context

    @property
    def raw_auth(self) -> tuple[bytes, bytes] | None:
        """`auth` as UTF-8 bytes, or None."""
        if self.auth is None:
            return None
        return self.auth[0].encode("utf-8"), self.auth[1].encode("utf-8")

    def __repr__(self) -> str:
        # Mask the password, as URL's repr does.
        auth = f", auth={(self.auth[0], '********')!r}" if self.auth else ""
        headers = f", headers={dict(self.headers)!r}" if self.headers else ""
        return f"Proxy({str(self.url)!r}{auth}{headers})"


DEFAULT_TIMEOUT_CONFIG = Timeout(timeout=5.0)
DEFAULT_LIMITS = Limits(max_connections=100, max_keepalive_connections=20)
DEFAULT_MAX_REDIRECTS = 20
