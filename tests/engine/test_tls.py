"""TLS in the blocking driver (and session reuse in the async ones): verification, SNI, ALPN,
session reuse, key logging, failures."""

from __future__ import annotations

import socket
import ssl
import threading
import typing

import pytest

import rapidhttp
from rapidhttp._engine.tls import ssl_over_memory
from rapidhttp._transports.default import AsyncHTTPTransport, HTTPTransport


def get(
    transport: HTTPTransport, url: str, timeout: float = 5.0, **extensions: typing.Any
) -> rapidhttp.Response:
    extensions["timeout"] = dict.fromkeys(("connect", "read", "write", "pool"), timeout)
    response = transport.handle_request(rapidhttp.Request("GET", url, extensions=extensions))
    try:
        response.read()
    finally:
        response.close()
    return response


def test_verified_tls(tls_server: typing.Any, client_ssl_context: ssl.SSLContext) -> None:
    with HTTPTransport(verify=client_ssl_context) as transport:
        response = get(transport, tls_server.url)
        assert response.content == b"Hello, world!"
        stream = response.extensions["network_stream"]
        ssl_object = stream.get_extra_info("ssl_object")
        assert ssl_object is not None
        assert ssl_object.version() in ("TLSv1.2", "TLSv1.3")
        # Only http/1.1 is offered until the engine speaks HTTP/2.
        assert ssl_object.selected_alpn_protocol() in (None, "http/1.1")
        assert get(transport, tls_server.url + "json").status_code == 200
        assert transport._engine.pool.total == 1


def test_default_verification_rejects_an_unknown_ca(tls_server: typing.Any) -> None:
    with HTTPTransport() as transport:
        with pytest.raises(rapidhttp.ConnectError) as info:
            get(transport, tls_server.url)
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    assert f"127.0.0.1:{tls_server.port}" in str(info.value)
    assert info.value.request.url == tls_server.url
    assert isinstance(info.value.__cause__, ssl.SSLError)


def test_verify_false(tls_server: typing.Any) -> None:
    with HTTPTransport(verify=False) as transport:
        assert get(transport, tls_server.url).status_code == 200


def test_verify_path_is_deprecated(tls_server: typing.Any, ca_bundle: str) -> None:
    with pytest.warns(DeprecationWarning, match="verify=<str>"):
        transport = HTTPTransport(verify=ca_bundle)
    with transport:
        assert get(transport, tls_server.url).status_code == 200


def test_ssl_cert_file_and_keylog(
    tls_server: typing.Any,
    ca_bundle: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: typing.Any,
) -> None:
    keylog = tmp_path / "keys.log"
    monkeypatch.setenv("SSL_CERT_FILE", ca_bundle)
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    with HTTPTransport() as transport:
        assert get(transport, tls_server.url).status_code == 200
    assert "CLIENT_" in keylog.read_text() or "SECRET" in keylog.read_text()


def test_trust_env_false_ignores_ssl_cert_file(
    tls_server: typing.Any, ca_bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_bundle)
    with HTTPTransport(trust_env=False) as transport:
        with pytest.raises(rapidhttp.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            get(transport, tls_server.url)


class TLSServer:
    """A raw TLS server recording SNI names and resumed sessions; one response per
    connection (Connection: close), so every request makes a new handshake."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.server_names: list[str | None] = []
        self.resumed: list[bool | None] = []
        context.sni_callback = self._sni
        self._context = context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(5)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._count = 0

    def _sni(self, sslobj: typing.Any, name: str | None, context: ssl.SSLContext) -> None:
        self.server_names.append(name)

    def start(self, connections: int) -> None:
        self._count = connections
        self._thread.start()

    def _serve(self) -> None:
        for _ in range(self._count):
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            raw.settimeout(5)
            try:
                with self._context.wrap_socket(raw, server_side=True) as tls:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = tls.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    # Recorded before answering: once the client has its response, the test
                    # may look at `resumed`.
                    self.resumed.append(tls.session_reused)
                    tls.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    )
            except OSError:
                raw.close()

    def close(self) -> None:
        self._thread.join(5)
        self._listener.close()


@pytest.fixture
def tls12_server(localhost_cert: typing.Any) -> typing.Iterator[TLSServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    localhost_cert.configure_cert(context)
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # session IDs: resumption is immediate
    server = TLSServer(context)
    yield server
    server.close()


def test_sni_and_session_reuse(
    tls12_server: TLSServer, client_ssl_context: ssl.SSLContext
) -> None:
    tls12_server.start(3)
    url = f"https://localhost:{tls12_server.port}/"
    with HTTPTransport(verify=client_ssl_context) as transport:
        for _ in range(2):
            assert get(transport, url).content == b"ok"
        # sni_hostname overrides the name sent (and verified): the cert covers 127.0.0.1 too.
        ip_url = f"https://127.0.0.1:{tls12_server.port}/"
        assert get(transport, ip_url, sni_hostname="localhost").content == b"ok"
    assert tls12_server.server_names == ["localhost", "localhost", "localhost"]
    assert tls12_server.resumed[:2] == [False, True]


def test_session_of_another_context_means_a_full_handshake(
    tls12_server: TLSServer, ca_bundle: str
) -> None:
    """A saved session that the transport's SSLContext cannot take (another context made it)
    is not offered: the handshake is a full one, and the new session replaces it."""
    tls12_server.start(3)
    url = f"https://localhost:{tls12_server.port}/"
    with HTTPTransport(verify=ssl.create_default_context(cafile=ca_bundle)) as first:
        assert get(first, url).content == b"ok"
        saved = dict(first._engine._sessions._sessions)
    assert len(saved) == 1
    with HTTPTransport(verify=ssl.create_default_context(cafile=ca_bundle)) as second:
        sessions = second._engine._sessions._sessions
        sessions.update(saved)
        assert get(second, url).content == b"ok"
        assert get(second, url).content == b"ok"
        assert sessions.keys() == saved.keys()
        assert list(sessions.values()) != list(saved.values())
    assert tls12_server.resumed == [False, False, True]


def test_ssl_over_memory_offers_only_a_session_of_its_context(
    localhost_cert: typing.Any, cert_authority: typing.Any
) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    localhost_cert.configure_cert(server_context)
    server_context.maximum_version = ssl.TLSVersion.TLSv1_2  # the session exists at once

    def client_context() -> ssl.SSLContext:
        context = ssl.create_default_context()
        cert_authority.configure_trust(context)
        return context

    def handshake(context: ssl.SSLContext, session: ssl.SSLSession | None) -> ssl.SSLObject:
        client, c_in, c_out = ssl_over_memory(context, "localhost", session)
        s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        server = server_context.wrap_bio(s_in, s_out, server_side=True)
        for _ in range(10):  # bounded: a TLS 1.2 handshake takes two round trips
            done = True
            for side in (client, server):
                try:
                    side.do_handshake()
                except ssl.SSLWantReadError:
                    done = False
            s_in.write(c_out.read())
            c_in.write(s_out.read())
            if done:
                return client
        raise AssertionError("the in-memory handshake did not finish")

    context = client_context()
    first = handshake(context, None)
    assert not first.session_reused
    assert handshake(context, first.session).session_reused
    # Another context cannot take the session: a full handshake instead of a ValueError.
    assert not handshake(client_context(), first.session).session_reused


@pytest.mark.anyio
@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
async def test_async_session_reuse(
    localhost_cert: typing.Any, client_ssl_context: ssl.SSLContext, version: str
) -> None:
    """The async drivers resume TLS sessions too (asyncio and trio): with TLS 1.3 the session
    is kept once the first response has been read, after the server's session tickets."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    localhost_cert.configure_cert(context)
    context.minimum_version = context.maximum_version = ssl.TLSVersion[version]
    server = TLSServer(context)
    server.start(3)
    url = f"https://localhost:{server.port}/"
    timeouts = {"timeout": dict.fromkeys(("connect", "read", "write", "pool"), 5.0)}
    try:
        async with AsyncHTTPTransport(verify=client_ssl_context) as transport:
            for _ in range(3):
                request = rapidhttp.Request("GET", url, extensions=timeouts)
                response = await transport.handle_async_request(request)
                try:
                    assert await response.aread() == b"ok"
                finally:
                    await response.aclose()
                ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
                assert ssl_object.version() == version.replace("_", ".")
    finally:
        server.close()
    assert server.resumed == [False, True, True]


def test_handshake_timeout(raw_server: typing.Any) -> None:
    stop = threading.Event()
    server = raw_server(lambda sock: stop.wait(5) and None)  # accepts, never speaks TLS
    with HTTPTransport(verify=False) as transport:
        with pytest.raises(rapidhttp.ConnectTimeout) as info:
            get(transport, f"https://127.0.0.1:{server.port}/", timeout=0.2)
        stop.set()
    assert str(info.value) == (
        f"Timed out after 0.2 s during the TLS handshake with 127.0.0.1:{server.port}"
    )


def test_tls_to_a_plain_server(server: typing.Any) -> None:
    with HTTPTransport(verify=False) as transport:
        with pytest.raises(rapidhttp.ConnectError, match="TLS handshake with"):
            get(transport, f"https://127.0.0.1:{server.port}/")
        assert transport._engine.pool.total == 0


def test_client_certificate(
    raw_server: typing.Any,
    cert_authority: typing.Any,
    localhost_cert: typing.Any,
    srv: typing.Any,
    tmp_path: typing.Any,
    ca_bundle: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    localhost_cert.configure_cert(server_context)
    cert_authority.configure_trust(server_context)
    server_context.verify_mode = ssl.CERT_REQUIRED
    seen: list[typing.Any] = []

    def handler(sock: ssl.SSLSocket) -> None:
        while srv.read_request(sock) is not None:
            seen.append(sock.getpeercert())
            sock.sendall(srv.OK_RESPONSE)

    server = raw_server(handler, tls=server_context)
    client_cert = cert_authority.issue_cert("client@example.org")
    pem = tmp_path / "client.pem"
    client_cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    context = ssl.create_default_context()  # not the session-scoped one: it gains a cert
    cert_authority.configure_trust(context)
    context.load_cert_chain(str(pem))
    with HTTPTransport(verify=context) as transport:
        assert get(transport, server.url).content == b"hello"
    # The deprecated `cert=` argument does the same.
    monkeypatch.setenv("SSL_CERT_FILE", ca_bundle)
    with pytest.warns(DeprecationWarning, match="cert=..."):
        transport = HTTPTransport(cert=str(pem))
    with transport:
        assert get(transport, server.url).content == b"hello"
    assert len(seen) == 2 and seen[0]["subject"]


def test_http2_flag_still_speaks_http11(
    tls_server: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    # Until the engine speaks HTTP/2, http2=True must work and only offer http/1.1 in ALPN.
    with HTTPTransport(verify=client_ssl_context, http2=True) as transport:
        response = get(transport, tls_server.url)
        assert response.extensions["http_version"] == b"HTTP/1.1"
        ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
        assert ssl_object.selected_alpn_protocol() in (None, "http/1.1")


def test_tls_read_timeout(
    raw_server: typing.Any,
    server_ssl_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
    srv: typing.Any,
) -> None:
    stop = threading.Event()

    def handler(sock: ssl.SSLSocket) -> None:
        srv.read_request(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
        stop.wait(5)

    server = raw_server(handler, tls=server_ssl_context)
    with HTTPTransport(verify=client_ssl_context) as transport:
        with pytest.raises(rapidhttp.ReadTimeout) as info:
            get(transport, server.url, timeout=0.2)
        stop.set()
        assert transport._engine.pool.total == 0
    assert str(info.value) == (
        f"Timed out after 0.2 s waiting for the response from 127.0.0.1:{server.port}"
    )
