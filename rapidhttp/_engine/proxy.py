"""
Sans-I/O proxy handshakes, shared by every driver:

- `ProxyConfig`: a `rapidhttp.Proxy` digested once (kind, address, headers with
  Proxy-Authorization, TLS context for an https proxy).
- `ConnectHandshake`: the CONNECT request for an https origin through an HTTP(S) proxy, and the
  hand parsing of the proxy's answer head (the tunnel's bytes after the head belong to TLS, so
  no HTTP parser may look at them).
- `Socks5Handshake`: SOCKS5 (no auth or username/password) on top of `socksio`, as httpx does.

A driver runs a handshake like this::

    data = handshake.start()
    while data is not None:        # or: until handshake.done
        write(data)
        data = handshake.receive(read())    # None: need more bytes / done
"""

from __future__ import annotations

import base64
import ssl
import typing

from .._exceptions import ProxyError

if typing.TYPE_CHECKING:  # pragma: no cover
    from .._config import Proxy

__all__ = ["ConnectHandshake", "ProxyConfig", "Socks5Handshake"]

MAX_CONNECT_HEAD = 65536


class ProxyConfig:
    """A proxy as the engine uses it. ``kind`` is "http", "https", "socks5" or "socks5h"."""

    __slots__ = ("kind", "host", "port", "headers", "auth", "ssl_context")

    def __init__(self, proxy: Proxy, ssl_context: ssl.SSLContext | None) -> None:
        url = proxy.url
        self.kind = url.scheme
        self.host = url.raw_host.decode("ascii")
        default_port = {"http": 80, "https": 443}.get(self.kind, 1080)
        self.port = url.port or default_port
        self.auth = proxy.raw_auth
        headers = list(proxy.headers.raw)
        if self.auth is not None and self.kind in ("http", "https"):
            userpass = self.auth[0] + b":" + self.auth[1]
            headers.insert(0, (b"Proxy-Authorization", b"Basic " + base64.b64encode(userpass)))
        self.headers = headers
        # TLS to an https proxy: its own context if given, else the transport's.
        self.ssl_context = proxy.ssl_context or ssl_context

    def connect_request(self, host: str, port: int) -> bytes:
        """The CONNECT request head opening a tunnel to ``host:port``."""
        authority = (f"[{host}]:{port}" if ":" in host else f"{host}:{port}").encode("ascii")
        headers = [(b"Host", authority), (b"Accept", b"*/*")]
        names = {name.lower() for name, _ in self.headers}
        headers = [item for item in headers if item[0].lower() not in names] + self.headers
        lines = [b"CONNECT " + authority + b" HTTP/1.1"]
        lines += [name + b": " + value for name, value in headers]
        return b"\r\n".join(lines) + b"\r\n\r\n"


class ConnectHandshake:
    """Reads the proxy's answer to CONNECT. After `receive` returns True, the tunnel is open
    and `extra` holds any bytes received past the head (normally none)."""

    __slots__ = ("request", "_buffer", "extra", "status_code", "reason_phrase")

    def __init__(self, request: bytes) -> None:
        self.request = request
        self._buffer = b""
        self.extra = b""
        self.status_code = 0
        self.reason_phrase = b""

    def receive(self, data: bytes) -> bool:
        """Feed bytes; True once the head is complete. ProxyError for a refusal or garbage."""
        if not data:
            raise ProxyError("The proxy closed the connection without answering CONNECT.")
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_CONNECT_HEAD:
                raise ProxyError("The proxy's answer to CONNECT is too large.")
            return False
        head, self.extra = self._buffer[:end], self._buffer[end + 4 :]
        status_line = head.split(b"\r\n", 1)[0]
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ProxyError(f"Invalid answer from the proxy to CONNECT: {status_line[:100]!r}")
        self.status_code = int(parts[1])
        self.reason_phrase = parts[2] if len(parts) > 2 else b""
        if not 200 <= self.status_code <= 299:
            # httpcore's message: "<status> <reason>", e.g. "407 Proxy Authentication Required".
            reason = self.reason_phrase.decode("ascii", errors="ignore")
            raise ProxyError(f"{self.status_code} {reason}")
        return True


_AUTH_METHODS = {
    b"\x00": "NO AUTHENTICATION REQUIRED",
    b"\x01": "GSSAPI",
    b"\x02": "USERNAME/PASSWORD",
    b"\xff": "NO ACCEPTABLE METHODS",
}

_REPLY_CODES = {
    b"\x00": "Succeeded",
    b"\x01": "General SOCKS server failure",
    b"\x02": "Connection not allowed by ruleset",
    b"\x03": "Network unreachable",
    b"\x04": "Host unreachable",
    b"\x05": "Connection refused",
    b"\x06": "TTL expired",
    b"\x07": "Command not supported",
    b"\x08": "Address type not supported",
}


def _import_socksio() -> typing.Any:
    try:
        import socksio
    except ImportError:  # pragma: no cover - the `socks` extra is installed in tests
        raise ImportError(
            "Using SOCKS proxy, but the 'socksio' package is not installed. "
            "Make sure to install rapidhttp using `pip install rapidhttp[socks]`."
        ) from None
    return socksio


class Socks5Handshake:
    """SOCKS5 CONNECT to ``host:port``: `start()` gives the first bytes to send; then feed each
    read to `receive()`, which returns the next bytes to send, b"" to keep reading, or None
    when the tunnel is open. Raises ProxyError when the proxy refuses."""

    def __init__(self, host: str, port: int, auth: tuple[bytes, bytes] | None) -> None:
        socksio = _import_socksio()
        self._socks5 = socksio.socks5
        self._conn = socksio.socks5.SOCKS5Connection()
        self._host = host
        self._port = port
        self._auth = auth
        self._method = (
            self._socks5.SOCKS5AuthMethod.NO_AUTH_REQUIRED
            if auth is None
            else self._socks5.SOCKS5AuthMethod.USERNAME_PASSWORD
        )
        self._step = "method"

    def start(self) -> bytes:
        self._conn.send(self._socks5.SOCKS5AuthMethodsRequest([self._method]))
        return typing.cast(bytes, self._conn.data_to_send())

    def receive(self, data: bytes) -> bytes | None:
        if not data:
            raise ProxyError("The SOCKS proxy closed the connection during the handshake.")
        socks5 = self._socks5
        try:
            reply = self._conn.receive_data(data)
        except Exception as exc:  # socksio raises its own ProtocolError on garbage
            raise ProxyError(f"Invalid answer from the SOCKS proxy: {exc}") from exc
        if self._step == "method":
            if reply.method != self._method:
                requested = _AUTH_METHODS.get(self._method, "UNKNOWN")
                responded = _AUTH_METHODS.get(reply.method, "UNKNOWN")
                raise ProxyError(f"Requested {requested} from proxy server, but got {responded}.")
            if self._auth is not None:
                self._step = "auth"
                username, password = self._auth
                self._conn.send(socks5.SOCKS5UsernamePasswordRequest(username, password))
                return typing.cast(bytes, self._conn.data_to_send())
            return self._send_connect()
        if self._step == "auth":
            if not reply.success:
                raise ProxyError("Invalid username/password")
            return self._send_connect()
        if reply.reply_code != socks5.SOCKS5ReplyCode.SUCCEEDED:
            reply_code = _REPLY_CODES.get(reply.reply_code, "UNKNOWN")
            raise ProxyError(f"Proxy Server could not connect: {reply_code}.")
        return None

    def _send_connect(self) -> bytes:
        self._step = "connect"
        socks5 = self._socks5
        self._conn.send(
            socks5.SOCKS5CommandRequest.from_address(
                socks5.SOCKS5Command.CONNECT, (self._host, self._port)
            )
        )
        return typing.cast(bytes, self._conn.data_to_send())
