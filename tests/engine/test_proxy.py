"""HTTPTransport through proxies: HTTP forwarding, CONNECT tunnels, https proxies (TLS in TLS),
SOCKS5; against the loopback proxies of tests/engine/conftest.py."""

from __future__ import annotations

import socket
import ssl
import sys
import typing

import pytest

import rapidhttp
from rapidhttp._engine.proxy import ConnectHandshake, ProxyConfig, Socks5Handshake
from rapidhttp._transports.default import HTTPTransport


def get(
    transport: HTTPTransport, url: str, extensions: dict[str, typing.Any] | None = None
) -> rapidhttp.Response:
    extensions = dict(extensions or {})
    extensions["timeout"] = dict.fromkeys(("connect", "read", "write", "pool"), 5.0)
    request = rapidhttp.Request("GET", url, extensions=extensions)
    response = transport.handle_request(request)
    try:
        response.read()
    finally:
        response.close()
    return response


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return typing.cast(int, sock.getsockname()[1])


# --------------------------------------------------------------------------- HTTP proxies


def test_forwarding_proxy(http_proxy: typing.Any, server: typing.Any) -> None:
    with HTTPTransport(proxy=http_proxy.url) as transport:
        response = get(transport, server.url + "echo_headers?a=1")
    assert response.status_code == 200
    assert http_proxy.log[0].startswith(
        f"GET http://127.0.0.1:{server.port}/echo_headers?a=1 HTTP/1.1\r\n".encode()
    )
    assert response.json()["host"] == f"127.0.0.1:{server.port}"


def test_forwarding_proxy_auth_and_headers(auth_proxy: typing.Any, server: typing.Any) -> None:
    proxy = rapidhttp.Proxy(auth_proxy.url, auth=("user", "p@ss"), headers={"X-Via": "test"})
    with HTTPTransport(proxy=proxy) as transport:
        assert get(transport, server.url).content == b"Hello, world!"
    head = auth_proxy.log[0].lower()
    assert b"proxy-authorization: basic dxnlcjpwqhnz" in head
    assert b"x-via: test" in head


def test_proxy_credentials_in_the_url(auth_proxy: typing.Any, server: typing.Any) -> None:
    url = auth_proxy.url.replace("http://", "http://user:p%40ss@")
    with HTTPTransport(proxy=url) as transport:
        assert get(transport, server.url).status_code == 200


def test_forwarding_proxy_refusal_is_a_response(
    auth_proxy: typing.Any, server: typing.Any
) -> None:
    with HTTPTransport(proxy=auth_proxy.url) as transport:
        assert get(transport, server.url).status_code == 407


def test_connect_tunnel(
    http_proxy: typing.Any, tls_server: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    with HTTPTransport(proxy=http_proxy.url, verify=client_ssl_context) as transport:
        for _ in range(3):
            response = get(transport, tls_server.url)
            assert response.content == b"Hello, world!"
        assert response.extensions["network_stream"].get_extra_info("ssl_object") is not None
    # One tunnel, reused: one CONNECT with the authority form and a Host header.
    assert len(http_proxy.log) == 1
    lines = http_proxy.log[0].split(b"\r\n")
    assert lines[0] == f"CONNECT 127.0.0.1:{tls_server.port} HTTP/1.1".encode()
    assert f"Host: 127.0.0.1:{tls_server.port}".encode() in lines


def test_connect_refused_by_the_proxy(
    auth_proxy: typing.Any, tls_server: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    with HTTPTransport(proxy=auth_proxy.url, verify=client_ssl_context) as transport:
        with pytest.raises(rapidhttp.ProxyError) as info:
            get(transport, tls_server.url)
        assert transport._engine.pool.total == 0
    assert str(info.value) == "407 Proxy Authentication Required"
    assert info.value.request.url == tls_server.url


def test_connect_with_credentials(
    auth_proxy: typing.Any, tls_server: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    proxy = rapidhttp.Proxy(auth_proxy.url, auth=("user", "p@ss"))
    with HTTPTransport(proxy=proxy, verify=client_ssl_context) as transport:
        assert get(transport, tls_server.url).status_code == 200


def test_connect_to_an_unreachable_origin(
    http_proxy: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    with HTTPTransport(proxy=http_proxy.url, verify=client_ssl_context) as transport:
        with pytest.raises(rapidhttp.ProxyError, match="502 Bad Gateway"):
            get(transport, f"https://127.0.0.1:{closed_port()}/")


def test_unreachable_proxy() -> None:
    with HTTPTransport(proxy=f"http://127.0.0.1:{closed_port()}") as transport:
        with pytest.raises(rapidhttp.ConnectError):
            get(transport, "http://example.org/")


def test_https_proxy_forwarding_and_tls_in_tls(
    https_proxy: typing.Any,
    server: typing.Any,
    tls_server: typing.Any,
    client_ssl_context: ssl.SSLContext,
) -> None:
    proxy = rapidhttp.Proxy(https_proxy.url, ssl_context=client_ssl_context)
    with HTTPTransport(proxy=proxy, verify=client_ssl_context) as transport:
        assert get(transport, server.url).content == b"Hello, world!"
        for _ in range(2):
            response = get(transport, tls_server.url + "json")
            assert response.json() == {"Hello": "world!"}
        ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
        assert isinstance(ssl_object, ssl.SSLObject)  # the inner TLS session
        big = get(transport, tls_server.url + "bytes/300000").content
        assert len(big) == 300000
    assert https_proxy.log[0].startswith(b"GET http://")
    assert https_proxy.log[1].startswith(b"CONNECT ")
    assert len(https_proxy.log) == 2


def test_https_proxy_is_verified_with_the_default_context(
    https_proxy: typing.Any, server: typing.Any
) -> None:
    with HTTPTransport(proxy=https_proxy.url) as transport:
        with pytest.raises(rapidhttp.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            get(transport, server.url)


# --------------------------------------------------------------------------- SOCKS5


def test_socks5(socks5_proxy: typing.Any, server: typing.Any) -> None:
    with HTTPTransport(proxy=socks5_proxy.url) as transport:
        assert get(transport, server.url).content == b"Hello, world!"
        assert get(transport, server.url + "json").status_code == 200
    assert socks5_proxy.log == [f"127.0.0.1:{server.port}".encode()]


def test_socks5_tls(
    socks5_proxy: typing.Any, tls_server: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    url = f"https://localhost:{tls_server.port}/"
    with HTTPTransport(proxy=socks5_proxy.url, verify=client_ssl_context) as transport:
        assert get(transport, url).content == b"Hello, world!"
    assert socks5_proxy.log == [f"localhost:{tls_server.port}".encode()]


def test_socks5_auth(raw_server: typing.Any, srv: typing.Any, server: typing.Any) -> None:
    log: list[bytes] = []
    proxy_server = raw_server(srv.socks5_handler(log, (b"user", b"pass")))
    good = rapidhttp.Proxy(f"socks5h://user:pass@127.0.0.1:{proxy_server.port}")
    with HTTPTransport(proxy=good) as transport:
        assert get(transport, server.url).status_code == 200
    bad = rapidhttp.Proxy(f"socks5://user:wrong@127.0.0.1:{proxy_server.port}")
    with HTTPTransport(proxy=bad) as transport:
        with pytest.raises(rapidhttp.ProxyError, match="Invalid username/password"):
            get(transport, server.url)
    no_auth = rapidhttp.Proxy(f"socks5://127.0.0.1:{proxy_server.port}")
    with HTTPTransport(proxy=no_auth) as transport:
        with pytest.raises(rapidhttp.ProxyError) as info:
            get(transport, server.url)
    assert str(info.value) == (
        "Requested NO AUTHENTICATION REQUIRED from proxy server, but got NO ACCEPTABLE METHODS."
    )


def test_socks5_unreachable_origin(socks5_proxy: typing.Any) -> None:
    with HTTPTransport(proxy=socks5_proxy.url) as transport:
        with pytest.raises(rapidhttp.ProxyError) as info:
            get(transport, f"http://127.0.0.1:{closed_port()}/")
        assert transport._engine.pool.total == 0
    assert str(info.value) == "Proxy Server could not connect: Connection refused."


# --------------------------------------------------------------------------- sans-I/O parts


def test_connect_handshake_parsing() -> None:
    handshake = ConnectHandshake(b"CONNECT example.org:443 HTTP/1.1\r\n\r\n")
    assert handshake.receive(b"HTTP/1.1 200 Connection established\r\n") is False
    assert handshake.receive(b"Via: x\r\n\r\n\x16\x03") is True
    assert handshake.status_code == 200
    assert handshake.extra == b"\x16\x03"
    with pytest.raises(rapidhttp.ProxyError, match="Invalid answer"):
        ConnectHandshake(b"").receive(b"garbage\r\n\r\n")
    with pytest.raises(rapidhttp.ProxyError, match="closed the connection"):
        ConnectHandshake(b"").receive(b"")
    with pytest.raises(rapidhttp.ProxyError, match="too large"):
        ConnectHandshake(b"").receive(b"HTTP/1.1 200 OK\r\n" + b"x" * 70000)


def test_proxy_config_and_connect_request() -> None:
    proxy = rapidhttp.Proxy("http://u:p@proxy.local:3128", headers={"Host": "override"})
    config = ProxyConfig(proxy, None)
    assert (config.kind, config.host, config.port) == ("http", "proxy.local", 3128)
    request = config.connect_request("::1", 443)
    assert request.startswith(b"CONNECT [::1]:443 HTTP/1.1\r\n")
    assert b"Proxy-Authorization: Basic dTpw\r\n" in request
    # Proxy headers override the defaults, as in httpcore.
    assert b"Host: override\r\n" in request and b"Host: [::1]:443" not in request
    assert request.endswith(b"\r\n\r\n")
    assert ProxyConfig(rapidhttp.Proxy("https://proxy.local"), None).port == 443
    assert ProxyConfig(rapidhttp.Proxy("socks5://proxy.local"), None).port == 1080


def test_socks5_handshake_bytes() -> None:
    handshake = Socks5Handshake("example.org", 80, None)
    assert handshake.start() == b"\x05\x01\x00"
    request = handshake.receive(b"\x05\x00")
    assert request == b"\x05\x01\x00\x03\x0bexample.org\x00\x50"
    assert handshake.receive(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00") is None
    with pytest.raises(rapidhttp.ProxyError, match="closed the connection"):
        Socks5Handshake("example.org", 80, None).receive(b"")


def test_trace_names_through_proxies(
    http_proxy: typing.Any,
    socks5_proxy: typing.Any,
    tls_server: typing.Any,
    client_ssl_context: ssl.SSLContext,
) -> None:
    # httpcore's event names: its logger name ("connection", "proxy", "socks") is the prefix.
    for proxy, expected in (
        (http_proxy.url, ["connection.connect_tcp", "proxy.connect", "proxy.start_tls"]),
        (
            socks5_proxy.url,
            ["socks.connect_tcp", "socks.setup_socks5_connection", "socks.start_tls"],
        ),
    ):
        names: list[str] = []
        with HTTPTransport(proxy=proxy, verify=client_ssl_context) as transport:
            get(
                transport,
                f"https://localhost:{tls_server.port}/",
                extensions={"trace": lambda name, info, names=names: names.append(name)},
            )
        steps = [name.rsplit(".", 1)[0] for name in names if name.endswith(".started")]
        assert steps[:3] == expected


def test_socks_without_socksio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "socksio", None)  # makes `import socksio` fail
    with pytest.raises(ImportError) as info:
        HTTPTransport(proxy="socks5://127.0.0.1:1080")
    assert str(info.value) == (
        "Using SOCKS proxy, but the 'socksio' package is not installed. "
        "Make sure to install rapidhttp using `pip install rapidhttp[socks]`."
    )
