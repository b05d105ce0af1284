"""
HTTP/2 on the blocking driver: against hypercorn (TLS with ALPN, and h2c with prior knowledge)
and against a scripted HTTP/2 server (built on `h2` in server mode) for faults.
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
import threading
import time
import typing

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import hypercorn.asyncio
import hypercorn.config
import pytest
import trustme

import rapidhttp
from rapidhttp._engine import h2 as engine_h2

# --------------------------------------------------------------------------- hypercorn


async def h2_app(scope: dict[str, typing.Any], receive: typing.Any, send: typing.Any) -> None:
    """/ -> hello; /echo -> the request body; /bytes/N -> N bytes; /slow -> after 0.5 s."""
    if scope["type"] != "http":
        return
    body = bytearray()
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]
    if path == "/echo":
        out = bytes(body)
    elif path.startswith("/bytes/"):
        out = pattern(int(path[7:]))
    elif path == "/slow":
        await asyncio.sleep(0.5)
        out = b"slow"
    else:
        out = b"Hello, world!"
    headers = [
        (b"content-type", b"text/plain"),
        (b"x-http-version", scope["http_version"].encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": out})


def pattern(size: int) -> bytes:
    """A body whose every byte is checkable (not one repeated byte)."""
    block = bytes(range(256))
    return (block * (size // 256 + 1))[:size]


class Hypercorn:
    def __init__(self, certs: tuple[str, str] | None) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        port = self._sock.getsockname()[1]
        self.url = f"{'https' if certs else 'http'}://127.0.0.1:{port}/"
        config = hypercorn.config.Config()
        config.bind = [f"fd://{self._sock.fileno()}"]
        config.loglevel = "ERROR"
        config.h2_max_concurrent_streams = 200
        if certs:
            config.certfile, config.keyfile = certs
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(config,), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._ready(port):
            assert time.monotonic() < deadline, "hypercorn did not start"
            time.sleep(0.02)

    @staticmethod
    def _ready(port: int) -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
        except OSError:
            return False
        return True

    def _run(self, config: hypercorn.config.Config) -> None:
        asyncio.set_event_loop(self._loop)
        serve = hypercorn.asyncio.serve(h2_app, config, shutdown_trigger=self._stop.wait)  # type: ignore[arg-type]
        self._loop.run_until_complete(serve)
        self._loop.close()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._sock.detach()  # hypercorn owned the listening socket and has closed it


@pytest.fixture(scope="module")
def h2_tls_server(
    localhost_cert: trustme.LeafCert, tmp_path_factory: pytest.TempPathFactory
) -> typing.Iterator[Hypercorn]:
    folder = tmp_path_factory.mktemp("h2tls")
    certfile, keyfile = str(folder / "cert.pem"), str(folder / "key.pem")
    localhost_cert.cert_chain_pems[0].write_to_path(certfile)
    for pem in localhost_cert.cert_chain_pems[1:]:
        pem.write_to_path(certfile, append=True)
    localhost_cert.private_key_pem.write_to_path(keyfile)
    server = Hypercorn((certfile, keyfile))
    yield server
    server.close()


@pytest.fixture(scope="module")
def h2c_server() -> typing.Iterator[Hypercorn]:
    server = Hypercorn(None)
    yield server
    server.close()


# --------------------------------------------------------------------------- scripted server

Script = typing.Callable[["ScriptedConnection", int, dict[bytes, bytes], bytes], None]


class ScriptedConnection:
    """Server side of one HTTP/2 connection: calls `script(self, stream_id, headers, body)`
    for each complete request; the script answers (or misbehaves) through `self.h2`."""

    def __init__(self, sock: socket.socket, script: Script, settings: dict[int, int]) -> None:
        self.sock = sock
        config = h2.config.H2Configuration(client_side=False, header_encoding=None)
        self.h2 = h2.connection.H2Connection(config=config)
        self.h2.local_settings = h2.settings.Settings(
            client=False, initial_values=typing.cast(typing.Any, settings)
        )
        self.h2.initiate_connection()
        self.requests = 0
        self._script = script
        self._bodies: dict[int, bytearray] = {}
        self._headers: dict[int, dict[bytes, bytes]] = {}
        self.flush()

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def respond(self, stream_id: int, body: bytes = b"ok", status: bytes = b"200") -> None:
        self.h2.send_headers(
            stream_id, [(b":status", status), (b"content-length", str(len(body)).encode())]
        )
        self.h2.send_data(stream_id, body, end_stream=True)
        self.flush()

    def run(self) -> None:
        while True:
            data = self.sock.recv(65536)
            if not data:
                return
            for event in self.h2.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    self._headers[event.stream_id] = dict(event.headers)
                    self._bodies[event.stream_id] = bytearray()
                elif isinstance(event, h2.events.DataReceived):
                    self._bodies[event.stream_id] += event.data
                    self.h2.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id
                    )
                if getattr(event, "stream_ended", None) is not None or isinstance(
                    event, h2.events.StreamEnded
                ):
                    stream_id = typing.cast(typing.Any, event).stream_id
                    if stream_id in self._headers:
                        self.requests += 1
                        headers = self._headers.pop(stream_id)
                        self._script(self, stream_id, headers, bytes(self._bodies.pop(stream_id)))
            self.flush()


class ScriptedServer:
    def __init__(
        self, raw_server: typing.Callable[..., typing.Any], script: Script, **kw: typing.Any
    ) -> None:
        self.connections: list[ScriptedConnection] = []
        settings = kw.get("settings", {})

        def handler(sock: socket.socket) -> None:
            conn = ScriptedConnection(sock, script, settings)
            self.connections.append(conn)
            conn.run()

        self.raw = raw_server(handler)
        self.url = self.raw.url


def ok_script(
    conn: ScriptedConnection, stream_id: int, headers: dict[bytes, bytes], body: bytes
) -> None:
    conn.respond(stream_id, b"ok:" + headers[b":path"] + b":" + body)


def h2c_client(**kw: typing.Any) -> rapidhttp.Client:
    return rapidhttp.Client(http1=False, http2=True, **kw)


# --------------------------------------------------------------------------- basics


def test_alpn_negotiates_http2(
    h2_tls_server: Hypercorn, client_ssl_context: ssl.SSLContext
) -> None:
    with rapidhttp.Client(http2=True, verify=client_ssl_context) as client:
        response = client.get(h2_tls_server.url)
        assert response.status_code == 200
        assert response.http_version == "HTTP/2"
        assert response.extensions["http_version"] == b"HTTP/2"
        assert response.reason_phrase == "OK"
        assert response.text == "Hello, world!"
        assert response.headers["x-http-version"] == "2"
        assert repr(response) == "<Response [200 OK]>"


def test_http2_false_stays_on_http11(
    h2_tls_server: Hypercorn, client_ssl_context: ssl.SSLContext
) -> None:
    with rapidhttp.Client(verify=client_ssl_context) as client:
        response = client.get(h2_tls_server.url)
        assert response.http_version == "HTTP/1.1"


def test_http2_falls_back_to_http11_server(
    tls_server: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    with rapidhttp.Client(http2=True, verify=client_ssl_context) as client:
        response = client.get(tls_server.url)
        assert response.status_code == 200
        assert response.http_version == "HTTP/1.1"


def test_prior_knowledge_h2c(h2c_server: Hypercorn) -> None:
    with h2c_client() as client:
        response = client.get(h2c_server.url)
        assert response.http_version == "HTTP/2"
        assert response.text == "Hello, world!"


def test_cleartext_http2_true_uses_http11(h2c_server: Hypercorn) -> None:
    # http2=True alone over cleartext: HTTP/1.1, as in httpx (no upgrade, no prior knowledge).
    with rapidhttp.Client(http2=True) as client:
        assert client.get(h2c_server.url).http_version == "HTTP/1.1"


def test_missing_h2_raises_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_h2, "HTTP2_AVAILABLE", False)
    with pytest.raises(ImportError, match=r"pip install rapidhttp\[http2\]"):
        rapidhttp.HTTPTransport(http2=True)


def test_large_upload_and_download(
    h2_tls_server: Hypercorn, client_ssl_context: ssl.SSLContext
) -> None:
    body = pattern(3_000_000)  # beyond every default window: flow control both ways
    with rapidhttp.Client(http2=True, verify=client_ssl_context) as client:
        response = client.post(h2_tls_server.url + "echo", content=body)
        assert response.content == body
        response = client.get(h2_tls_server.url + "bytes/5000000")
        assert response.content == pattern(5_000_000)


def test_streaming_request_and_response(h2c_server: Hypercorn) -> None:
    def chunks() -> typing.Iterator[bytes]:
        for i in range(50):
            yield pattern(10_000 + i)

    expected = b"".join(pattern(10_000 + i) for i in range(50))
    with h2c_client() as client:
        response = client.post(h2c_server.url + "echo", content=chunks())
        assert response.content == expected
        with client.stream("GET", h2c_server.url + "bytes/3000000") as response:
            received = b"".join(response.iter_raw())
        assert received == pattern(3_000_000)


def test_abandoned_stream_leaves_connection_usable(h2c_server: Hypercorn) -> None:
    with h2c_client() as client:
        with client.stream("GET", h2c_server.url + "bytes/8000000") as response:
            next(response.iter_raw())
        # Closed half-read: only that stream was reset.
        assert client.get(h2c_server.url).text == "Hello, world!"
        assert client._transport._engine.pool.total == 1  # type: ignore[attr-defined]


def test_trace_events(h2c_server: Hypercorn) -> None:
    events: list[str] = []

    def trace(name: str, info: dict[str, typing.Any]) -> None:
        events.append(name)

    with h2c_client() as client:
        client.post(h2c_server.url + "echo", content=b"x", extensions={"trace": trace})
    http2 = [name for name in events if name.startswith("http2.")]
    assert http2 == [
        "http2.send_connection_init.started",
        "http2.send_connection_init.complete",
        "http2.send_request_headers.started",
        "http2.send_request_headers.complete",
        "http2.send_request_body.started",
        "http2.send_request_body.complete",
        "http2.receive_response_headers.started",
        "http2.receive_response_headers.complete",
        "http2.receive_response_body.started",
        "http2.receive_response_body.complete",
        "http2.response_closed.started",
        "http2.response_closed.complete",
    ]


def test_threads_share_one_connection(
    h2_tls_server: Hypercorn, client_ssl_context: ssl.SSLContext
) -> None:
    errors: list[BaseException] = []
    deadline = time.monotonic() + 30

    with rapidhttp.Client(http2=True, verify=client_ssl_context) as client:
        client.get(h2_tls_server.url)  # open the connection first: then every thread shares it

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            try:
                for _ in range(25):
                    if time.monotonic() > deadline:
                        return
                    size = rng.choice((0, 1, 1000, 70_000, 300_000))
                    if rng.random() < 0.5:
                        response = client.get(f"{h2_tls_server.url}bytes/{size}")
                        assert response.content == pattern(size)
                    else:
                        body = pattern(size)
                        assert (
                            client.post(h2_tls_server.url + "echo", content=body).content == body
                        )
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        assert client._transport._engine.pool.total == 1  # type: ignore[attr-defined]


def test_thread_timeouts_reset_only_their_stream(h2c_server: Hypercorn) -> None:
    """Requests timing out (random read timeouts against a slow route) while others go on."""
    errors: list[BaseException] = []
    timeouts = 0
    lock = threading.Lock()

    with h2c_client() as client:
        client.get(h2c_server.url)

        def worker(seed: int) -> None:
            nonlocal timeouts
            rng = random.Random(seed)
            try:
                for _ in range(6):
                    if rng.random() < 0.5:
                        try:
                            client.get(h2c_server.url + "slow", timeout=rng.choice((0.05, 2.0)))
                        except rapidhttp.ReadTimeout:
                            with lock:
                                timeouts += 1
                    else:
                        assert client.get(h2c_server.url + "bytes/20000").content == pattern(20000)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        assert client.get(h2c_server.url).text == "Hello, world!"
        assert client._transport._engine.pool.total == 1  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- faults


def test_rst_stream_fails_only_that_request(raw_server: typing.Any) -> None:
    def script(
        conn: ScriptedConnection, stream_id: int, headers: dict[bytes, bytes], body: bytes
    ) -> None:
        if headers[b":path"] == b"/reset":
            conn.h2.reset_stream(stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
            conn.flush()
        else:
            ok_script(conn, stream_id, headers, body)

    server = ScriptedServer(raw_server, script)
    with h2c_client() as client:
        with pytest.raises(
            rapidhttp.RemoteProtocolError, match="reset HTTP/2 stream 1 .INTERNAL_ERROR"
        ):
            client.get(server.url + "reset")
        assert client.get(server.url + "fine").text == "ok:/fine:"
    assert server.raw.connections == 1


def test_goaway_retries_unprocessed_streams(raw_server: typing.Any) -> None:
    """GOAWAY with last-stream-id 0: the request was not processed, so it is sent again on a
    new connection."""

    def script(
        conn: ScriptedConnection, stream_id: int, headers: dict[bytes, bytes], body: bytes
    ) -> None:
        if len(server.connections) == 1:
            conn.h2.close_connection(last_stream_id=0)
            conn.flush()
        else:
            ok_script(conn, stream_id, headers, body)

    server = ScriptedServer(raw_server, script)
    with h2c_client() as client:
        assert client.post(server.url + "again", content=b"body").text == "ok:/again:body"
    assert server.raw.connections == 2


def test_goaway_with_error_fails_processed_stream(raw_server: typing.Any) -> None:
    def script(
        conn: ScriptedConnection, stream_id: int, headers: dict[bytes, bytes], body: bytes
    ) -> None:
        conn.h2.close_connection(h2.errors.ErrorCodes.INTERNAL_ERROR, last_stream_id=stream_id)
        conn.flush()

    server = ScriptedServer(raw_server, script)
    with h2c_client() as client:
        with pytest.raises(rapidhttp.RemoteProtocolError, match="GOAWAY|INTERNAL_ERROR"):
            client.get(server.url)


def test_max_concurrent_streams_one_opens_more_connections(raw_server: typing.Any) -> None:
    settings = {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1}

    def script(
        conn: ScriptedConnection, stream_id: int, headers: dict[bytes, bytes], body: bytes
    ) -> None:
        time.sleep(0.05)  # keep the stream busy so that the threads overlap
        ok_script(conn, stream_id, headers, body)

    server = ScriptedServer(raw_server, script, settings=settings)
    errors: list[BaseException] = []
    with h2c_client() as client:
        client.get(server.url)

        def worker(i: int) -> None:
            try:
                for j in range(5):
                    assert client.get(f"{server.url}{i}-{j}").text == f"ok:/{i}-{j}:"
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert not errors, errors
    assert 1 < server.raw.connections <= 4


def test_tiny_flow_control_window_upload(raw_server: typing.Any) -> None:
    settings = {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 10}

    def script(
        conn: ScriptedConnection, stream_id: int, headers: dict[bytes, bytes], body: bytes
    ) -> None:
        conn.respond(stream_id, str(len(body)).encode() + b":" + body[-5:])

    server = ScriptedServer(raw_server, script, settings=settings)
    body = pattern(100_000)
    with h2c_client() as client:
        assert client.post(server.url, content=body).content == b"100000:" + body[-5:]


def test_server_that_stops_reading_times_out(raw_server: typing.Any) -> None:
    def handler(sock: socket.socket) -> None:
        conn = ScriptedConnection(sock, ok_script, {})
        conn.sock.recv(65536)  # the preface and headers, then nothing more is read
        conn.h2.receive_data(b"")
        time.sleep(3)

    server = raw_server(handler)
    with h2c_client() as client:
        with pytest.raises((rapidhttp.WriteTimeout, rapidhttp.ReadTimeout)):
            client.post(server.url, content=pattern(4_000_000), timeout=0.5)


def test_malformed_frames(raw_server: typing.Any) -> None:
    def handler(sock: socket.socket) -> None:
        sock.recv(65536)
        # A SETTINGS frame with a length that is not a multiple of 6: a connection error.
        sock.sendall(b"\x00\x00\x05\x04\x00\x00\x00\x00\x00garbage")
        time.sleep(1)

    server = raw_server(handler)
    with h2c_client() as client:
        with pytest.raises(rapidhttp.RemoteProtocolError):
            client.get(server.url, timeout=5)


def test_server_disconnects_mid_response(raw_server: typing.Any) -> None:
    def script(
        conn: ScriptedConnection, stream_id: int, headers: dict[bytes, bytes], body: bytes
    ) -> None:
        conn.h2.send_headers(stream_id, [(b":status", b"200"), (b"content-length", b"100")])
        conn.h2.send_data(stream_id, b"partial")
        conn.flush()
        conn.sock.shutdown(socket.SHUT_RDWR)

    server = ScriptedServer(raw_server, script)
    with h2c_client() as client:
        with pytest.raises(rapidhttp.RemoteProtocolError):
            client.get(server.url, timeout=5)
        # The next request gets a new connection.
        with pytest.raises(rapidhttp.RemoteProtocolError):
            client.get(server.url, timeout=5)
    assert server.raw.connections == 2


def test_read_timeout(raw_server: typing.Any) -> None:
    def script(
        conn: ScriptedConnection, stream_id: int, headers: dict[bytes, bytes], body: bytes
    ) -> None:
        if headers[b":path"] != b"/never":
            ok_script(conn, stream_id, headers, body)

    server = ScriptedServer(raw_server, script)
    with h2c_client() as client:
        started = time.monotonic()
        with pytest.raises(rapidhttp.ReadTimeout):
            client.get(server.url + "never", timeout=0.2)
        assert time.monotonic() - started < 2
        assert client.get(server.url + "after").text == "ok:/after:"
    assert server.raw.connections == 1


# --------------------------------------------------------------------------- async (asyncio, trio)


@pytest.mark.anyio
async def test_async_alpn_and_h2c(
    h2_tls_server: Hypercorn, h2c_server: Hypercorn, client_ssl_context: ssl.SSLContext
) -> None:
    async with rapidhttp.AsyncClient(http2=True, verify=client_ssl_context) as client:
        response = await client.get(h2_tls_server.url)
        assert response.http_version == "HTTP/2"
        assert response.reason_phrase == "OK"
        assert response.text == "Hello, world!"
    async with rapidhttp.AsyncClient(http1=False, http2=True) as client:
        response = await client.get(h2c_server.url)
        assert response.extensions["http_version"] == b"HTTP/2"


@pytest.mark.anyio
async def test_async_large_bodies_and_streaming(h2c_server: Hypercorn) -> None:
    body = pattern(3_000_000)

    async def chunks() -> typing.AsyncIterator[bytes]:
        for i in range(30):
            yield pattern(20_000 + i)

    async with rapidhttp.AsyncClient(http1=False, http2=True) as client:
        assert (await client.post(h2c_server.url + "echo", content=body)).content == body
        expected = b"".join(pattern(20_000 + i) for i in range(30))
        assert (await client.post(h2c_server.url + "echo", content=chunks())).content == expected
        async with client.stream("GET", h2c_server.url + "bytes/5000000") as response:
            received = b"".join([chunk async for chunk in response.aiter_raw()])
        assert received == pattern(5_000_000)
        async with client.stream("GET", h2c_server.url + "bytes/8000000") as response:
            async for _ in response.aiter_raw():
                break  # abandoned half-read: only this stream is reset
        assert (await client.get(h2c_server.url)).text == "Hello, world!"
        assert client._transport._engine.pool.total == 1  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_async_many_concurrent_streams_with_cancellations(
    h2_tls_server: Hypercorn, client_ssl_context: ssl.SSLContext
) -> None:
    """Hundreds of concurrent streams on one connection, some cancelled at random points;
    every completed body is checked byte for byte."""
    import anyio

    rng = random.Random(1234)
    completed = 0
    cancelled = 0
    async with rapidhttp.AsyncClient(http2=True, verify=client_ssl_context) as client:
        await client.get(h2_tls_server.url)

        async def one(size: int, cancel_after: float | None) -> None:
            nonlocal completed, cancelled
            with anyio.move_on_after(cancel_after if cancel_after is not None else 30) as scope:
                response = await client.get(f"{h2_tls_server.url}bytes/{size}")
                assert response.content == pattern(size)
                completed += 1
            if scope.cancelled_caught:
                cancelled += 1

        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for _ in range(300):
                    size = rng.choice((0, 10, 5000, 100_000))
                    cancel = rng.choice((None, None, None, 0.0, 0.001, 0.01))
                    group.start_soon(one, size, cancel)
        assert completed + cancelled == 300
        assert completed > 100
        # The connection survived the cancellations.
        assert (await client.get(h2_tls_server.url)).text == "Hello, world!"
        assert client._transport._engine.pool.total <= 3  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_async_faults(raw_server: typing.Any) -> None:
    def script(
        conn: ScriptedConnection, stream_id: int, headers: dict[bytes, bytes], body: bytes
    ) -> None:
        path = headers[b":path"]
        if path == b"/reset":
            conn.h2.reset_stream(stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
            conn.flush()
        elif path == b"/goaway" and len(server.connections) == 1:
            conn.h2.close_connection(last_stream_id=0)
            conn.flush()
        elif path != b"/never":
            ok_script(conn, stream_id, headers, body)

    server = ScriptedServer(raw_server, script)
    async with rapidhttp.AsyncClient(http1=False, http2=True) as client:
        with pytest.raises(rapidhttp.RemoteProtocolError, match="INTERNAL_ERROR"):
            await client.get(server.url + "reset")
        assert (await client.get(server.url + "fine")).text == "ok:/fine:"
        with pytest.raises(rapidhttp.ReadTimeout):
            await client.get(server.url + "never", timeout=0.2)
        assert (await client.get(server.url + "fine")).text == "ok:/fine:"
        # GOAWAY(last_stream_id=0): not processed, so retried on a new connection.
        assert (await client.post(server.url + "goaway", content=b"x")).text == "ok:/goaway:x"
    assert server.raw.connections == 2


@pytest.mark.anyio
async def test_async_tiny_window_and_disconnect(raw_server: typing.Any) -> None:
    settings = {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 10}

    def script(
        conn: ScriptedConnection, stream_id: int, headers: dict[bytes, bytes], body: bytes
    ) -> None:
        if headers[b":path"] == b"/drop":
            conn.h2.send_headers(stream_id, [(b":status", b"200")])
            conn.h2.send_data(stream_id, b"partial")
            conn.flush()
            conn.sock.shutdown(socket.SHUT_RDWR)
        else:
            conn.respond(stream_id, str(len(body)).encode())

    server = ScriptedServer(raw_server, script, settings=settings)
    async with rapidhttp.AsyncClient(http1=False, http2=True) as client:
        assert (await client.post(server.url, content=pattern(50_000))).text == "50000"
        with pytest.raises(rapidhttp.RemoteProtocolError):
            await client.get(server.url + "drop", timeout=5)


# --------------------------------------------------------------------------- proxies, pool


def test_http2_through_connect_tunnel(
    h2_tls_server: Hypercorn, http_proxy: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    with rapidhttp.Client(http2=True, verify=client_ssl_context, proxy=http_proxy.url) as client:
        response = client.get(h2_tls_server.url + "bytes/100000")
        assert response.http_version == "HTTP/2"
        assert response.content == pattern(100_000)
    assert http_proxy.log and http_proxy.log[0].startswith(b"CONNECT 127.0.0.1:")


@pytest.mark.anyio
async def test_async_http2_through_connect_tunnel(
    h2_tls_server: Hypercorn, http_proxy: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    async with rapidhttp.AsyncClient(
        http2=True, verify=client_ssl_context, proxy=http_proxy.url
    ) as client:
        response = await client.get(h2_tls_server.url)
        assert response.http_version == "HTTP/2"


@pytest.mark.anyio
async def test_concurrent_first_requests_share_one_connection(h2c_server: Hypercorn) -> None:
    """The first requests to an origin wait for the one connection being opened instead of
    each opening their own."""
    import anyio

    async with rapidhttp.AsyncClient(http1=False, http2=True) as client:
        results: list[bytes] = []

        async def one(i: int) -> None:
            results.append((await client.get(f"{h2c_server.url}bytes/{i}")).content)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for i in range(50):
                    group.start_soon(one, i)
        assert sorted(results, key=len) == [pattern(i) for i in range(50)]
        assert client._transport._engine.pool.total == 1  # type: ignore[attr-defined]


def test_http2_on_http11_origin_connects_in_parallel(
    tls_server: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    with rapidhttp.Client(http2=True, verify=client_ssl_context) as client:
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                for _ in range(5):
                    assert client.get(tls_server.url).http_version == "HTTP/1.1"
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors


def close_when_idle_script(
    conn: ScriptedConnection, stream_id: int, headers: dict[bytes, bytes], body: bytes
) -> None:
    """Answer, then close the connection as an idle-timeout would (GOAWAY, then EOF)."""
    ok_script(conn, stream_id, headers, body)
    time.sleep(0.05)
    conn.h2.close_connection(last_stream_id=stream_id)
    conn.flush()
    conn.sock.shutdown(socket.SHUT_RDWR)


def test_idle_connection_closed_by_server_is_replaced(raw_server: typing.Any) -> None:
    server = ScriptedServer(raw_server, close_when_idle_script)
    with h2c_client() as client:
        assert client.get(server.url + "one").text == "ok:/one:"
        time.sleep(0.3)
        assert client.post(server.url + "two", content=b"2").text == "ok:/two:2"
    assert server.raw.connections == 2


@pytest.mark.anyio
async def test_async_idle_connection_closed_by_server_is_replaced(raw_server: typing.Any) -> None:
    import anyio

    server = ScriptedServer(raw_server, close_when_idle_script)
    async with rapidhttp.AsyncClient(http1=False, http2=True) as client:
        assert (await client.get(server.url + "one")).text == "ok:/one:"
        await anyio.sleep(0.3)
        assert (await client.post(server.url + "two", content=b"2")).text == "ok:/two:2"
    assert server.raw.connections == 2


def test_response_trailers_do_not_disturb_the_body(raw_server: typing.Any) -> None:
    def script(
        conn: ScriptedConnection, stream_id: int, headers: dict[bytes, bytes], body: bytes
    ) -> None:
        conn.h2.send_headers(stream_id, [(b":status", b"200"), (b"te-test", b"1")])
        conn.h2.send_data(stream_id, b"body with trailers")
        conn.h2.send_headers(stream_id, [(b"grpc-status", b"0")], end_stream=True)
        conn.flush()

    server = ScriptedServer(raw_server, script)
    with h2c_client() as client:
        response = client.get(server.url)
        assert response.content == b"body with trailers"
        assert response.headers["te-test"] == "1"
        assert client.get(server.url).content == b"body with trailers"
    assert server.raw.connections == 1


@pytest.mark.anyio
async def test_async_trace_events(h2c_server: Hypercorn) -> None:
    events: list[str] = []

    async def trace(name: str, info: dict[str, typing.Any]) -> None:
        events.append(name)

    async with rapidhttp.AsyncClient(http1=False, http2=True) as client:
        response = await client.post(
            h2c_server.url + "echo", content=b"x", extensions={"trace": trace}
        )
        assert response.content == b"x"
    assert [name for name in events if name.startswith("http2.")] == [
        "http2.send_connection_init.started",
        "http2.send_connection_init.complete",
        "http2.send_request_headers.started",
        "http2.send_request_headers.complete",
        "http2.send_request_body.started",
        "http2.send_request_body.complete",
        "http2.receive_response_headers.started",
        "http2.receive_response_headers.complete",
        "http2.receive_response_body.started",
        "http2.receive_response_body.complete",
        "http2.response_closed.started",
        "http2.response_closed.complete",
    ]


# --------------------------------------------------------------------------- flow control, frames


def small_connection_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A receive window far smaller than the bodies below: if finished or abandoned streams
    did not give their bytes back to the connection window, the server would stall."""
    monkeypatch.setattr(engine_h2, "CONNECTION_WINDOW", 2**17)
    monkeypatch.setattr(engine_h2, "RELEASE_BATCH", 2**15)


def test_finished_streams_give_the_connection_window_back(
    h2c_server: Hypercorn, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_connection_window(monkeypatch)
    with h2c_client(timeout=10) as client:
        for i in range(300):  # 300 x 1 kB + abandoned streams: several times the window
            size = 1000 + i
            assert client.get(f"{h2c_server.url}bytes/{size}").content == pattern(size)
            if i % 100 == 0:
                with client.stream("GET", h2c_server.url + "bytes/300000") as response:
                    next(response.iter_raw())
        assert client._transport._engine.pool.total == 1  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_async_finished_streams_give_the_connection_window_back(
    h2c_server: Hypercorn, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio

    small_connection_window(monkeypatch)
    async with rapidhttp.AsyncClient(http1=False, http2=True, timeout=10) as client:

        async def one(size: int) -> None:
            response = await client.get(f"{h2c_server.url}bytes/{size}")
            assert response.content == pattern(size)

        async with anyio.create_task_group() as group:
            for i in range(30):  # concurrent: streams finish while others still receive
                group.start_soon(one, 40_000 + i)
        async with client.stream("GET", h2c_server.url + "bytes/300000") as response:
            async for _ in response.aiter_raw():
                break
        await one(200_000)
        assert client._transport._engine.pool.total == 1  # type: ignore[attr-defined]


def test_server_sends_frames_as_large_as_we_accept(raw_server: typing.Any) -> None:
    """We announce SETTINGS_MAX_FRAME_SIZE above the 16 KiB default, and honour it on receipt."""
    body = pattern(engine_h2.MAX_FRAME_SIZE)

    def script(
        conn: ScriptedConnection, stream_id: int, headers: dict[bytes, bytes], body_: bytes
    ) -> None:
        assert conn.h2.max_outbound_frame_size == engine_h2.MAX_FRAME_SIZE
        conn.h2.send_headers(stream_id, [(b":status", b"200")])
        conn.h2.send_data(stream_id, body, end_stream=True)  # one frame
        conn.flush()

    server = ScriptedServer(raw_server, script)
    with h2c_client(timeout=10) as client:
        assert client.get(server.url).content == body
        assert client.get(server.url).content == body
    assert server.raw.connections == 1


@pytest.mark.anyio
async def test_async_concurrent_requests_leave_in_few_writes(
    h2c_server: Hypercorn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The frames of requests started in the same loop turn leave in one write (asyncio: a
    callback at the end of the turn; trio: one writer that lets the others add theirs first).

    Tasks are woken in groups, by the reads that bring their responses; each group's next
    requests should leave together: about one write per read, not one per request."""
    import anyio

    counts = {"writes": 0, "reads": 0}
    data_to_send = engine_h2.H2Protocol.data_to_send
    receive_data = engine_h2.H2Protocol.receive_data

    def counting_send(self: engine_h2.H2Protocol) -> bytes:
        data = data_to_send(self)
        counts["writes"] += bool(data)
        return data

    def counting_receive(
        self: engine_h2.H2Protocol, data: bytes | memoryview
    ) -> list[engine_h2.H2Stream]:
        counts["reads"] += 1
        return receive_data(self, data)

    async with rapidhttp.AsyncClient(http1=False, http2=True, timeout=10) as client:
        assert (await client.get(h2c_server.url)).text == "Hello, world!"
        monkeypatch.setattr(engine_h2.H2Protocol, "data_to_send", counting_send)
        monkeypatch.setattr(engine_h2.H2Protocol, "receive_data", counting_receive)
        texts: list[str] = []

        async def four() -> None:
            for _ in range(4):
                texts.append((await client.get(h2c_server.url)).text)

        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(four)
        assert texts == ["Hello, world!"] * 200
        # Measured without load: ~10-30 writes for ~10-30 reads (one write per request
        # before trio's batching: ~100).
        assert counts["writes"] <= counts["reads"] + 5, counts
        assert client._transport._engine.pool.total == 1  # type: ignore[attr-defined]
