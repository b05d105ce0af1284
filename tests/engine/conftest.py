"""
Engine test servers, all on 127.0.0.1 with ephemeral ports, each connection served by a bounded
thread: `raw_server` (a handler gets the raw socket: faults on purpose), `fast_server` (minimal
keep-alive server for reuse counts and CPU measurements), and proxies: `http_proxy` (forwarding
and CONNECT, optional Basic auth, optionally TLS itself) and `socks5_proxy`.
"""

from __future__ import annotations

import base64
import select
import socket
import ssl
import sys
import threading
import types
import typing

import pytest
import trustme

Handler = typing.Callable[[socket.socket], None]

OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
IO_TIMEOUT = 10.0  # no server thread ever blocks longer than this


class RawServer:
    """A loopback TCP server running `handler(sock)` in one thread per accepted connection."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.connections = 0
        self._tls = tls
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}/"
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._accepter = threading.Thread(target=self._accept_loop, daemon=True)
        self._accepter.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
                self._socks.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            sock.settimeout(IO_TIMEOUT)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_side=True)
            self.handler(sock)
        except (OSError, ValueError):
            pass
        finally:
            sock.close()

    def close(self) -> None:
        self._stop.set()
        self._accepter.join(5)
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(5)
        for sock in socks:
            sock.close()
        self._listener.close()


def read_request(sock: socket.socket, data: bytes = b"") -> tuple[bytes, bytes, bytes] | None:
    """Read one request: (head, body, bytes after it). None on EOF before a complete head."""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lowered = head.lower()
    if b"content-length:" in lowered:
        length = int(lowered.split(b"content-length:")[1].split(b"\r\n")[0])
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            rest += chunk
        return head, rest[:length], rest[length:]
    if b"transfer-encoding: chunked" in lowered:
        while b"0\r\n\r\n" not in rest:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            rest += chunk
        end = rest.index(b"0\r\n\r\n") + 5
        return head, rest[:end], rest[end:]
    return head, b"", rest


def keep_alive_handler(response: bytes = OK_RESPONSE) -> Handler:
    def handler(sock: socket.socket) -> None:
        pending = b""
        while (request := read_request(sock, pending)) is not None:
            pending = request[2]
            sock.sendall(response)

    return handler


def close_on_second_request(sock: socket.socket) -> None:
    """Answer one request; on the next, close without answering (a keep-alive race)."""
    request = read_request(sock)
    sock.sendall(OK_RESPONSE)
    if request is not None:
        read_request(sock, request[2])


@pytest.fixture
def srv() -> types.ModuleType:
    """This module, for its helpers (`read_request`, `keep_alive_handler`, `OK_RESPONSE`...):
    test modules cannot import a conftest by name."""
    return _THIS_MODULE


# Taken at import: every conftest.py is a module named "conftest", so by the time a test runs,
# sys.modules["conftest"] may be another directory's conftest.
_THIS_MODULE = sys.modules[__name__]


@pytest.fixture
def raw_server() -> typing.Iterator[typing.Callable[..., RawServer]]:
    """Factory: `raw_server(handler, tls=None)` starts a RawServer, closed after the test."""
    servers: list[RawServer] = []

    def start(handler: Handler, tls: ssl.SSLContext | None = None) -> RawServer:
        server = RawServer(handler, tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def fast_server(raw_server: typing.Callable[..., RawServer]) -> RawServer:
    """Minimal keep-alive server answering every request with a 5-byte 200."""
    return raw_server(keep_alive_handler())


@pytest.fixture(scope="session")
def server_ssl_context(localhost_cert: trustme.LeafCert) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    localhost_cert.configure_cert(ctx)
    return ctx


# --------------------------------------------------------------------------- TLS layers


@pytest.fixture
def tls_server_context(localhost_cert: trustme.LeafCert) -> ssl.SSLContext:
    """A server context for the TLS layer tests, offering h2 and http/1.1 by ALPN."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    localhost_cert.configure_cert(context)
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


def echo_handler(sock: socket.socket) -> None:
    """Answer each received chunk with b"echo:" + the chunk."""
    while data := sock.recv(65536):
        sock.sendall(b"echo:" + data)


def memory_tls_handshake(
    sock: socket.socket, context: ssl.SSLContext
) -> tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]:
    """The server side of a TLS handshake done in memory over a plain socket, so that a
    handler can then send exactly what it wants (garbage, a close_notify without waiting)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_side=True)
    while True:
        incoming.write(sock.recv(65536))
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            sock.sendall(outgoing.read())
    return tls, incoming, outgoing


def tls_tunnel_handler(context: ssl.SSLContext) -> Handler:
    """For a server already speaking TLS: serve a second TLS layer inside the first (as a
    TLS origin behind an https proxy does), answering b"inner:" + what it receives."""

    def handler(sock: socket.socket) -> None:
        inner_in, inner_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        inner = context.wrap_bio(inner_in, inner_out, server_side=True)
        while data := sock.recv(65536):
            inner_in.write(data)
            try:
                inner.do_handshake()
                while True:
                    inner.write(b"inner:" + inner.read(65536))
            except ssl.SSLWantReadError:
                pass
            if inner_out.pending:
                sock.sendall(inner_out.read())

    return handler


# --------------------------------------------------------------------------- proxies


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes (or nothing moves for IO_TIMEOUT)."""
    socks = [a, b]
    while True:
        readable, _, _ = select.select(socks, [], [], IO_TIMEOUT)
        if not readable:
            return
        for sock in readable:
            try:
                data = sock.recv(65536)
            except (OSError, ssl.SSLWantReadError):
                return
            if not data:
                return
            (b if sock is a else a).sendall(data)


class ProxyInfo:
    def __init__(self, server: RawServer, log: list[bytes]) -> None:
        self.server = server
        self.url = server.url
        self.log = log  # request heads seen by the proxy, in order


def http_proxy_handler(log: list[bytes], auth: tuple[str, str] | None = None) -> Handler:
    """A forwarding proxy (absolute-form requests, one upstream exchange each, relayed until
    the upstream closes) that also opens CONNECT tunnels."""
    expected = None
    if auth is not None:
        expected = b"Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode())

    def handler(sock: socket.socket) -> None:
        pending = b""
        while (request := read_request(sock, pending)) is not None:
            head, body, pending = request
            log.append(head)
            lines = head.split(b"\r\n")
            method, target, _ = lines[0].split(b" ", 2)
            headers = [line.split(b":", 1) for line in lines[1:]]
            if expected is not None and not any(
                name.strip().lower() == b"proxy-authorization" and value.strip() == expected
                for name, value in headers
            ):
                sock.sendall(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
                )
                continue
            if method == b"CONNECT":
                host, _, port = target.rpartition(b":")
                try:
                    upstream = socket.create_connection((host.decode(), int(port)), IO_TIMEOUT)
                except OSError:
                    sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    return
                with upstream:
                    sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    _relay(sock, upstream)
                return
            # Forward: absolute-form target -> origin-form, upstream connection closes after.
            rest = target.split(b"://", 1)[1]
            authority, slash, path = rest.partition(b"/")
            host, _, port = authority.rpartition(b":")
            kept = [
                line
                for line in lines[1:]
                if not line.lower().startswith((b"proxy-", b"connection:"))
            ]
            upstream_request = (
                b"\r\n".join(
                    [method + b" " + slash + path + b" HTTP/1.1", *kept, b"Connection: close"]
                )
                + b"\r\n\r\n"
                + body
            )
            with socket.create_connection((host.decode(), int(port)), IO_TIMEOUT) as upstream:
                upstream.sendall(upstream_request)
                while data := upstream.recv(65536):
                    sock.sendall(data)
            return

    return handler


@pytest.fixture
def http_proxy(raw_server: typing.Callable[..., RawServer]) -> ProxyInfo:
    log: list[bytes] = []
    return ProxyInfo(raw_server(http_proxy_handler(log)), log)


@pytest.fixture
def auth_proxy(raw_server: typing.Callable[..., RawServer]) -> ProxyInfo:
    log: list[bytes] = []
    return ProxyInfo(raw_server(http_proxy_handler(log, ("user", "p@ss"))), log)


@pytest.fixture
def https_proxy(
    raw_server: typing.Callable[..., RawServer], server_ssl_context: ssl.SSLContext
) -> ProxyInfo:
    """The HTTP proxy, reached over TLS itself (certificate for 127.0.0.1/localhost)."""
    log: list[bytes] = []
    return ProxyInfo(raw_server(http_proxy_handler(log), server_ssl_context), log)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("EOF")
        data += chunk
    return data


def socks5_handler(log: list[bytes], auth: tuple[bytes, bytes] | None = None) -> Handler:
    def handler(sock: socket.socket) -> None:
        version, count = _recv_exact(sock, 2)
        methods = _recv_exact(sock, count)
        wanted = 0x02 if auth is not None else 0x00
        if version != 5 or wanted not in methods:
            sock.sendall(b"\x05\xff")
            return
        sock.sendall(bytes([5, wanted]))
        if auth is not None:
            _recv_exact(sock, 1)
            username = _recv_exact(sock, _recv_exact(sock, 1)[0])
            password = _recv_exact(sock, _recv_exact(sock, 1)[0])
            ok = (username, password) == auth
            sock.sendall(b"\x01\x00" if ok else b"\x01\x01")
            if not ok:
                return
        _, command, _, address_type = _recv_exact(sock, 4)
        if address_type == 1:
            host = socket.inet_ntoa(_recv_exact(sock, 4))
        elif address_type == 3:
            host = _recv_exact(sock, _recv_exact(sock, 1)[0]).decode()
        else:
            host = socket.inet_ntop(socket.AF_INET6, _recv_exact(sock, 16))
        port = int.from_bytes(_recv_exact(sock, 2), "big")
        log.append(f"{host}:{port}".encode())
        try:
            upstream = socket.create_connection((host, port), IO_TIMEOUT)
        except OSError:
            sock.sendall(b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")  # connection refused
            return
        with upstream:
            sock.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00")
            _relay(sock, upstream)

    return handler


@pytest.fixture
def socks5_proxy(raw_server: typing.Callable[..., RawServer]) -> ProxyInfo:
    log: list[bytes] = []
    server = raw_server(socks5_handler(log))
    info = ProxyInfo(server, log)
    info.url = f"socks5://127.0.0.1:{server.port}"
    return info
