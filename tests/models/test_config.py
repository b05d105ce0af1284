"""Timeout, Limits, Proxy, the SSL context factories and the client defaults."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import typing
from pathlib import Path

import certifi
import pytest
import trustme

import rapidhttp
from rapidhttp import _config
from rapidhttp._config import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_TIMEOUT_CONFIG,
    UNSET,
    UnsetType,
    create_ssl_context,
    shared_ssl_context,
)

# --------------------------------------------------------------------------- Timeout


def test_timeout_forms() -> None:
    assert rapidhttp.Timeout(5.0).as_dict() == {
        "connect": 5.0,
        "read": 5.0,
        "write": 5.0,
        "pool": 5.0,
    }
    assert rapidhttp.Timeout(None).as_dict() == dict.fromkeys(("connect", "read", "write", "pool"))
    assert rapidhttp.Timeout(connect=1, read=2, write=3, pool=4).as_dict() == {
        "connect": 1,
        "read": 2,
        "write": 3,
        "pool": 4,
    }
    assert rapidhttp.Timeout(5.0, pool=60.0) == rapidhttp.Timeout((5.0, 5.0, 5.0, 60.0))
    assert rapidhttp.Timeout(None, read=5.0) == rapidhttp.Timeout((None, 5.0, None, None))
    assert rapidhttp.Timeout(None, read=None) == rapidhttp.Timeout(None)
    # Shorter tuples are accepted at runtime, though the type alias only names the 4-tuple.
    pair: typing.Any = (1.0, 2.0)
    triple: typing.Any = (1.0, 2.0, 3.0)
    assert rapidhttp.Timeout(pair) == rapidhttp.Timeout(
        connect=1.0, read=2.0, write=None, pool=None
    )
    assert rapidhttp.Timeout(triple).as_dict() == {
        "connect": 1.0,
        "read": 2.0,
        "write": 3.0,
        "pool": None,
    }
    original = rapidhttp.Timeout(1.0, connect=2.0)
    assert rapidhttp.Timeout(original) == original
    assert rapidhttp.Timeout(original) is not original


def test_timeout_errors() -> None:
    with pytest.raises(ValueError) as exc:
        rapidhttp.Timeout(pool=60.0)
    assert str(exc.value) == (
        "rapidhttp.Timeout must either include a default, or set all four parameters explicitly."
    )
    with pytest.raises(ValueError):
        rapidhttp.Timeout()
    with pytest.raises(ValueError, match=r"\(connect, read\[, write\[, pool\]\]\)"):
        rapidhttp.Timeout((1.0,))  # type: ignore[arg-type]
    with pytest.raises(AssertionError):
        rapidhttp.Timeout(rapidhttp.Timeout(1.0), read=2.0)


def test_timeout_eq_and_repr() -> None:
    assert rapidhttp.Timeout(timeout=5.0) == rapidhttp.Timeout(
        connect=5.0, read=5.0, write=5.0, pool=5.0
    )
    assert rapidhttp.Timeout(5.0) != rapidhttp.Timeout(6.0)
    assert rapidhttp.Timeout(5.0) != 5.0
    assert repr(rapidhttp.Timeout(timeout=5.0)) == "Timeout(timeout=5.0)"
    assert repr(rapidhttp.Timeout(None)) == "Timeout(timeout=None)"
    assert (
        repr(rapidhttp.Timeout(None, read=5.0))
        == "Timeout(connect=None, read=5.0, write=None, pool=None)"
    )
    with pytest.raises(TypeError):
        hash(rapidhttp.Timeout(1.0))


def test_unset_sentinel() -> None:
    assert isinstance(UNSET, UnsetType)


# --------------------------------------------------------------------------- Limits


def test_limits() -> None:
    limits = rapidhttp.Limits(max_connections=100)
    assert repr(limits) == (
        "Limits(max_connections=100, max_keepalive_connections=None, keepalive_expiry=5.0)"
    )
    assert limits == rapidhttp.Limits(max_connections=100)
    assert limits != rapidhttp.Limits(max_connections=100, keepalive_expiry=None)
    assert limits != "Limits"
    with pytest.raises(TypeError):
        rapidhttp.Limits(100)  # type: ignore[misc]


def test_defaults() -> None:
    assert DEFAULT_TIMEOUT_CONFIG == rapidhttp.Timeout(5.0)
    assert DEFAULT_LIMITS == rapidhttp.Limits(
        max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0
    )
    assert DEFAULT_MAX_REDIRECTS == 20


# --------------------------------------------------------------------------- Proxy


def test_proxy_from_url() -> None:
    proxy = rapidhttp.Proxy("https://example.com")
    assert str(proxy.url) == "https://example.com"
    assert proxy.auth is None and proxy.raw_auth is None
    assert proxy.headers == {}
    assert proxy.ssl_context is None
    assert repr(proxy) == "Proxy('https://example.com')"


def test_proxy_credentials_move_to_auth() -> None:
    proxy = rapidhttp.Proxy("http://us%40er:p%40ss@example.com:3128")
    assert str(proxy.url) == "http://example.com:3128"
    assert proxy.url.userinfo == b""
    assert proxy.auth == ("us@er", "p@ss")
    assert proxy.raw_auth == (b"us@er", b"p@ss")
    assert repr(proxy) == "Proxy('http://example.com:3128', auth=('us@er', '********'))"


def test_proxy_explicit_auth_headers_and_context() -> None:
    context = ssl.create_default_context()
    proxy = rapidhttp.Proxy(
        rapidhttp.URL("socks5://localhost:1080"),
        auth=("ü", "pw"),
        headers={"X-Proxy": "1"},
        ssl_context=context,
    )
    assert proxy.raw_auth == ("ü".encode(), b"pw")
    assert proxy.headers["x-proxy"] == "1"
    assert proxy.ssl_context is context
    assert (
        repr(proxy)
        == "Proxy('socks5://localhost:1080', auth=('ü', '********'), headers={'x-proxy': '1'})"
    )


@pytest.mark.parametrize("scheme", ["http", "https", "socks5", "socks5h"])
def test_proxy_schemes(scheme: str) -> None:
    assert rapidhttp.Proxy(f"{scheme}://proxy.local").url.scheme == scheme


@pytest.mark.parametrize("url", ["invalid://example.com", "socks4://example.com", "example.com"])
def test_proxy_unknown_scheme(url: str) -> None:
    with pytest.raises(ValueError) as exc:
        rapidhttp.Proxy(url)
    assert str(exc.value) == f"Unknown scheme for proxy URL {rapidhttp.URL(url)!r}"


def test_proxy_invalid_url() -> None:
    with pytest.raises(rapidhttp.InvalidURL):
        rapidhttp.Proxy("http://proxy:port")


# --------------------------------------------------------------------------- TLS helpers


def _handshake(port: int, context: ssl.SSLContext) -> str | None:
    """TLS-handshake with the server on 127.0.0.1:port as "localhost"; the ALPN choice."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        with context.wrap_socket(sock, server_hostname="localhost") as tls:
            return tls.selected_alpn_protocol()


@pytest.fixture
def alpn_server(localhost_cert: trustme.LeafCert) -> typing.Iterator[int]:
    """A one-connection TLS server offering h2 and http/1.1; yields its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    localhost_cert.configure_cert(context)
    context.set_alpn_protocols(["h2", "http/1.1"])
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(timeout=5)


@pytest.fixture
def client_cert_files(localhost_cert: trustme.LeafCert, tmp_path: Path) -> tuple[str, str]:
    cert = tmp_path / "client.pem"
    key = tmp_path / "client.key"
    localhost_cert.cert_chain_pems[0].write_to_path(str(cert))
    localhost_cert.private_key_pem.write_to_path(str(key))
    return str(cert), str(key)


@pytest.fixture
def ca_dir(ca_bundle: str, tmp_path: Path) -> str:
    """A CA directory in OpenSSL's hashed layout, holding the test CA."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to name a hashed CA directory")
    subject_hash = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", ca_bundle],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()
    folder = tmp_path / "cadir"
    folder.mkdir()
    shutil.copy(ca_bundle, folder / f"{subject_hash}.0")
    return str(folder)


# --------------------------------------------------------------------------- create_ssl_context


def test_default_context_verifies_with_certifi() -> None:
    assert rapidhttp.create_ssl_context is create_ssl_context
    context = rapidhttp.create_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.cert_store_stats()["x509_ca"] > 0
    assert context.keylog_filename is None


def test_default_context_is_new_on_every_call() -> None:
    # Callers customise the returned context; sharing it would leak that into other clients.
    first, second = rapidhttp.create_ssl_context(), rapidhttp.create_ssl_context()
    assert first is not second
    first.load_verify_locations(cafile=certifi.where())


def test_default_context_rejects_unknown_ca(tls_server: typing.Any) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(tls_server.port, rapidhttp.create_ssl_context())


def test_no_verify(tls_server: typing.Any) -> None:
    context = rapidhttp.create_ssl_context(verify=False)
    assert context.verify_mode == ssl.CERT_NONE
    assert context.check_hostname is False
    _handshake(tls_server.port, context)


def test_verify_path_is_deprecated(tls_server: typing.Any, ca_bundle: str, ca_dir: str) -> None:
    message = (
        "`verify=<str>` is deprecated. Use `verify=ssl.create_default_context(cafile=...)` "
        "or `verify=ssl.create_default_context(capath=...)` instead."
    )
    for location in (ca_bundle, ca_dir):
        with pytest.warns(DeprecationWarning) as record:
            context = rapidhttp.create_ssl_context(verify=location)
        assert str(record[0].message) == message
        assert context.verify_mode == ssl.CERT_REQUIRED
        _handshake(tls_server.port, context)


def test_verify_missing_path() -> None:
    with pytest.warns(DeprecationWarning), pytest.raises(FileNotFoundError):
        rapidhttp.create_ssl_context(verify="/path/to/nowhere")


def test_verify_context_is_returned_as_is(client_ssl_context: ssl.SSLContext) -> None:
    assert rapidhttp.create_ssl_context(verify=client_ssl_context) is client_ssl_context


def test_cert_is_deprecated_and_loaded(
    client_cert_files: tuple[str, str], localhost_cert: trustme.LeafCert, tmp_path: Path
) -> None:
    message = (
        "`cert=...` is deprecated. Use `verify=<ssl_context>` instead,"
        "with `.load_cert_chain()` to configure the certificate chain."
    )
    with pytest.warns(DeprecationWarning) as record:
        rapidhttp.create_ssl_context(cert=client_cert_files)
    assert str(record[0].message) == message

    combined = tmp_path / "combined.pem"
    localhost_cert.private_key_and_cert_chain_pem.write_to_path(str(combined))
    with pytest.warns(DeprecationWarning):
        rapidhttp.create_ssl_context(verify=False, cert=str(combined))

    with pytest.warns(DeprecationWarning), pytest.raises(ssl.SSLError):
        rapidhttp.create_ssl_context(cert=client_cert_files[0])  # a certificate without its key


def test_ssl_cert_file_and_dir_from_environment(
    monkeypatch: pytest.MonkeyPatch, tls_server: typing.Any, ca_bundle: str, ca_dir: str
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_bundle)
    _handshake(tls_server.port, rapidhttp.create_ssl_context())
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(tls_server.port, rapidhttp.create_ssl_context(trust_env=False))

    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.setenv("SSL_CERT_DIR", ca_dir)
    _handshake(tls_server.port, rapidhttp.create_ssl_context())


def test_keylog_file_follows_trust_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    keylog = str(tmp_path / "keys.log")
    monkeypatch.setenv("SSLKEYLOGFILE", keylog)
    assert rapidhttp.create_ssl_context().keylog_filename == keylog
    assert rapidhttp.create_ssl_context(verify=False).keylog_filename == keylog
    assert rapidhttp.create_ssl_context(trust_env=False).keylog_filename is None


def test_keylog_file_is_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tls_server: typing.Any
) -> None:
    keylog = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    _handshake(tls_server.port, rapidhttp.create_ssl_context(verify=False))
    assert "CLIENT_TRAFFIC_SECRET_0" in keylog.read_text() or "CLIENT_RANDOM" in keylog.read_text()


# --------------------------------------------------------------------------- shared_ssl_context


@pytest.fixture
def fresh_shared_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_config, "_SHARED_CONTEXTS", {})


@pytest.mark.usefixtures("fresh_shared_cache")
def test_shared_context_built_once_per_configuration() -> None:
    http1 = shared_ssl_context()
    assert shared_ssl_context() is http1
    assert shared_ssl_context(True, None, True, http2=False) is http1
    h2 = shared_ssl_context(http2=True)
    assert h2 is not http1 and shared_ssl_context(http2=True) is h2
    no_verify = shared_ssl_context(verify=False)
    assert no_verify.verify_mode == ssl.CERT_NONE and no_verify is not http1
    assert http1.verify_mode == ssl.CERT_REQUIRED and http1.check_hostname
    assert len(_config._SHARED_CONTEXTS) == 3


@pytest.mark.usefixtures("fresh_shared_cache")
def test_shared_context_offers_alpn(alpn_server: int) -> None:
    assert _handshake(alpn_server, shared_ssl_context(verify=False, http2=True)) == "h2"


@pytest.mark.usefixtures("fresh_shared_cache")
def test_shared_http1_context_offers_only_http1(alpn_server: int) -> None:
    assert _handshake(alpn_server, shared_ssl_context(verify=False)) == "http/1.1"


@pytest.mark.usefixtures("fresh_shared_cache")
def test_shared_context_follows_environment(
    monkeypatch: pytest.MonkeyPatch, tls_server: typing.Any, ca_bundle: str
) -> None:
    default = shared_ssl_context()
    monkeypatch.setenv("SSL_CERT_FILE", ca_bundle)
    with_env = shared_ssl_context()
    assert with_env is not default
    _handshake(tls_server.port, with_env)
    assert shared_ssl_context(trust_env=False) is default


@pytest.mark.usefixtures("fresh_shared_cache")
def test_unshareable_configurations_get_their_own_context(
    client_ssl_context: ssl.SSLContext, client_cert_files: tuple[str, str], ca_bundle: str
) -> None:
    own = ssl.create_default_context()
    assert shared_ssl_context(verify=own, http2=True) is own
    with pytest.warns(DeprecationWarning):
        first = shared_ssl_context(cert=client_cert_files)
    with pytest.warns(DeprecationWarning):
        second = shared_ssl_context(cert=client_cert_files)
    assert first is not second
    with pytest.warns(DeprecationWarning):
        shared_ssl_context(verify=ca_bundle)
    assert _config._SHARED_CONTEXTS == {}


@pytest.mark.usefixtures("fresh_shared_cache")
def test_shared_context_is_thread_safe() -> None:
    results: list[ssl.SSLContext] = []
    threads = [
        threading.Thread(target=lambda: results.append(shared_ssl_context())) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 4
    assert all(context is results[0] for context in results)
