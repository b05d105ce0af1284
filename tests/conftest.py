"""
Shared fixtures: real servers on 127.0.0.1 (ephemeral ports), trustme TLS material, and the
anyio backends. Area-specific fixtures live in the conftest.py of each tests/ subfolder.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
import typing

import pytest
import trustme
import uvicorn

# --------------------------------------------------------------------------- async backends


@pytest.fixture(
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param("trio", id="trio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every `@pytest.mark.anyio` test runs under asyncio and under trio."""
    return typing.cast(str, request.param)


# --------------------------------------------------------------------------- test application


async def _body(receive: typing.Callable[[], typing.Awaitable[dict]]) -> bytes:
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def app(scope: dict, receive: typing.Any, send: typing.Any) -> None:
    """A small ASGI app behind the `server` and `tls_server` fixtures.

    Routes: /  /json  /echo_body  /echo_headers  /echo_method  /status/{code}
    /redirect_301  /redirect_to?url=...  /slow_response  /bytes/{n}  /stream/{chunks}
    """
    assert scope["type"] == "http"
    path: str = scope["path"]
    headers = [(b"content-type", b"text/plain")]
    status = 200
    body = b"Hello, world!"
    if path == "/json":
        headers = [(b"content-type", b"application/json")]
        body = json.dumps({"Hello": "world!"}).encode()
    elif path == "/echo_body":
        body = await _body(receive)
    elif path == "/echo_method":
        body = scope["method"].encode()
    elif path == "/echo_headers":
        headers = [(b"content-type", b"application/json")]
        body = json.dumps(
            {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        ).encode()
    elif path.startswith("/status/"):
        status = int(path.rsplit("/", 1)[1])
        body = b""
    elif path == "/redirect_301":
        status = 301
        headers = [(b"location", b"/")]
        body = b""
    elif path == "/redirect_to":
        from urllib.parse import parse_qs

        target = parse_qs(scope["query_string"].decode())["url"][0]
        status = 302
        headers = [(b"location", target.encode())]
        body = b""
    elif path == "/slow_response":
        import asyncio

        await asyncio.sleep(1.0)
    elif path.startswith("/bytes/"):
        n = int(path.rsplit("/", 1)[1])
        headers = [(b"content-type", b"application/octet-stream")]
        body = bytes(range(256)) * (n // 256) + bytes(range(n % 256))
    elif path.startswith("/stream/"):
        chunks = int(path.rsplit("/", 1)[1])
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i in range(chunks):
            chunk = b"chunk %d\n" % i
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --------------------------------------------------------------------------- uvicorn in a thread


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # must not touch signals from a thread
        pass


class ServerInfo:
    def __init__(self, scheme: str, port: int) -> None:
        self.scheme = scheme
        self.port = port
        self.url = f"{scheme}://127.0.0.1:{port}/"


def _serve(config: uvicorn.Config) -> typing.Iterator[ServerInfo]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _ThreadedServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield ServerInfo("https" if config.ssl_certfile else "http", port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def server() -> typing.Iterator[ServerInfo]:
    """Plain HTTP/1.1 uvicorn server on 127.0.0.1 serving `app`; `.url` ends with '/'."""
    config = uvicorn.Config(app=app, lifespan="off", loop="asyncio", log_level="error")
    yield from _serve(config)


# --------------------------------------------------------------------------- TLS material


@pytest.fixture(scope="session")
def cert_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def localhost_cert(cert_authority: trustme.CA) -> trustme.LeafCert:
    return cert_authority.issue_cert("localhost", "127.0.0.1", "::1")


@pytest.fixture(scope="session")
def ca_bundle(cert_authority: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Path of a PEM file holding the test CA: pass it to SSL_CERT_FILE or load it."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    cert_authority.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def client_ssl_context(cert_authority: trustme.CA) -> ssl.SSLContext:
    """An SSLContext that trusts the test CA (and nothing else)."""
    ctx = ssl.create_default_context()
    cert_authority.configure_trust(ctx)
    return ctx


@pytest.fixture(scope="session")
def tls_server(
    localhost_cert: trustme.LeafCert, tmp_path_factory: pytest.TempPathFactory
) -> typing.Iterator[ServerInfo]:
    """HTTPS uvicorn server on 127.0.0.1 with a certificate for localhost/127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    certfile = folder / "cert.pem"
    keyfile = folder / "key.pem"
    localhost_cert.cert_chain_pems[0].write_to_path(str(certfile))
    for pem in localhost_cert.cert_chain_pems[1:]:
        pem.write_to_path(str(certfile), append=True)
    localhost_cert.private_key_pem.write_to_path(str(keyfile))
    config = uvicorn.Config(
        app=app,
        lifespan="off",
        loop="asyncio",
        log_level="error",
        ssl_certfile=str(certfile),
        ssl_keyfile=str(keyfile),
    )
    yield from _serve(config)


# --------------------------------------------------------------------------- environment


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxy and TLS variables of the machine must not leak into tests."""
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "SSLKEYLOGFILE",
    ):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
