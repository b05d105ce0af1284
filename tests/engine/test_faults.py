"""
The engine's fault matrix (issue 4): raw loopback servers that misbehave in every way a real
server or middlebox can, each case run through all three drivers (blocking `Client`,
`AsyncClient` under asyncio, `AsyncClient` under trio). Every case must end in the right httpx
exception with an informative message (or in httpx's documented recovery), within its timeouts,
and without leaking a socket: the process's open file descriptors are counted around the client.

One test body serves the three drivers: `Driver.run` performs a list of requests with a fresh
client and returns each outcome (a `Result` or the exception), so the fault cases read as data.
The async drivers run their client inside `anyio.run(..., backend=...)`, which starts and closes
its own event loop: the loop's own descriptors are gone again before the count after.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import struct
import time
import typing

import anyio
import pytest

import rapidhttp

Handler = typing.Callable[[socket.socket], None]
Call = tuple[str, str, dict[str, typing.Any]]  # method, url, extra Client.request() kwargs

TIMEOUT = rapidhttp.Timeout(3.0)  # bounds every case that should not time out
SHORT = rapidhttp.Timeout(3.0, read=0.3)  # for the cases that must time out reading
DRIVERS = ["sync", "asyncio", "trio"]
IDLE = 0.05  # a pause between requests long enough for a server's FIN to arrive and be seen
PAUSE: Call = ("PAUSE", "", {})  # in a list of calls: the connection sits idle for IDLE s
# The same, but the async drivers' event loop is blocked meanwhile (CPU-bound application code
# between requests): only the socket itself can tell that the server closed the connection.
BLOCK: Call = ("BLOCK", "", {})
# A call with the method "STREAM" is a GET through `client.stream()`, its body read with
# `iter_raw()`: the errors then come out of the response stream, a path of their own.


# --------------------------------------------------------------------------- running a case


@dataclasses.dataclass
class Result:
    status_code: int
    http_version: str
    body: bytes


Outcome = Result | Exception


@dataclasses.dataclass
class Run:
    outcomes: list[Outcome]
    pool: tuple[int, int, int]  # total, idle, waiting: the pool after the calls, before close


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class Driver:
    """Runs requests through one of the three drivers, counting descriptors around it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, calls: list[Call], timeout: rapidhttp.Timeout = TIMEOUT) -> Run:
        before = open_fds()
        if self.name == "sync":
            run = self._sync(calls, timeout)
        else:
            run = anyio.run(self._async, calls, timeout, backend=self.name)
        assert_fds_return_to(before)
        return run

    @staticmethod
    def _sync(calls: list[Call], timeout: rapidhttp.Timeout) -> Run:
        outcomes: list[Outcome] = []
        with rapidhttp.Client(timeout=timeout) as client:
            for method, url, kwargs in calls:
                if method in ("PAUSE", "BLOCK"):
                    time.sleep(IDLE)
                    continue
                try:
                    if method == "STREAM":
                        with client.stream("GET", url, **kwargs) as response:
                            body = b"".join(response.iter_raw())
                    else:
                        response = client.request(method, url, **kwargs)
                        body = response.content
                    outcomes.append(Result(response.status_code, response.http_version, body))
                except rapidhttp.HTTPError as exc:
                    outcomes.append(exc)
            pool = client._transport._engine.pool  # type: ignore[attr-defined]
            counts = (pool.total, pool.idle_count, pool.waiting)
        return Run(outcomes, counts)

    @staticmethod
    async def _async(calls: list[Call], timeout: rapidhttp.Timeout) -> Run:
        outcomes: list[Outcome] = []
        async with rapidhttp.AsyncClient(timeout=timeout) as client:
            for method, url, kwargs in calls:
                if method == "PAUSE":
                    await anyio.sleep(IDLE)
                    continue
                if method == "BLOCK":
                    time.sleep(IDLE)  # on purpose: the event loop sees nothing meanwhile
                    continue
                try:
                    if method == "STREAM":
                        async with client.stream("GET", url, **kwargs) as response:
                            body = b"".join([chunk async for chunk in response.aiter_raw()])
                    else:
                        response = await client.request(method, url, **kwargs)
                        body = response.content
                    outcomes.append(Result(response.status_code, response.http_version, body))
                except rapidhttp.HTTPError as exc:
                    outcomes.append(exc)
            pool = client._transport._engine.pool  # type: ignore[attr-defined]
            counts = (pool.total, pool.idle_count, pool.waiting)
        return Run(outcomes, counts)


def assert_fds_return_to(before: int, within: float = 3.0) -> None:
    """The server's handler threads close their end on their own schedule: wait (bounded) for
    them; a descriptor the client leaked keeps the count up for good."""
    deadline = time.monotonic() + within
    while (now := open_fds()) != before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert now == before, f"open file descriptors: {before} before, {now} after"


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> Driver:
    return Driver(request.param)


def get(url: str, **kwargs: typing.Any) -> Call:
    return ("GET", url, kwargs)


def expect_error(outcome: Outcome, kind: type[Exception], *words: str) -> Exception:
    """The outcome is exactly `kind` (not a subclass standing in for it), with a message that
    says what happened (`words`, case-insensitive) and the request attached."""
    assert type(outcome) is kind, f"expected {kind.__name__}, got {outcome!r}"
    assert isinstance(outcome, rapidhttp.RequestError)
    message = str(outcome).lower()
    assert message, "empty exception message"
    for word in words:
        assert word.lower() in message, f"{word!r} not in {str(outcome)!r}"
    assert isinstance(outcome.request, rapidhttp.Request)
    return outcome


# --------------------------------------------------------------------------- misbehaving servers


def answer_with(srv: typing.Any, data: bytes, then: str = "close") -> Handler:
    """Read one request, send `data`, then `close`, `reset` (RST via SO_LINGER 0) or `stall`
    (drain until the client goes away, never answering more)."""

    def handler(sock: socket.socket) -> None:
        if srv.read_request(sock) is None:
            return
        if data:
            sock.sendall(data)
        if then == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif then == "stall":
            while sock.recv(65536):
                pass

    return handler


def never_answer(sock: socket.socket) -> None:
    """Accept, read whatever comes, never answer, until the client closes."""
    while sock.recv(65536):
        pass


def huge_head(srv: typing.Any) -> Handler:
    def handler(sock: socket.socket) -> None:
        if srv.read_request(sock) is None:
            return
        sock.sendall(b"HTTP/1.1 200 OK\r\nX-Big: ")
        block = b"a" * 65536
        for _ in range(160):  # 10 MB of one header value, never terminated
            sock.sendall(block)

    return handler


def answer_then_close_idle(srv: typing.Any) -> Handler:
    """Answer one request with a keep-alive response, then close the idle connection at once
    (the FIN reaches the client before its next request)."""

    def handler(sock: socket.socket) -> None:
        if srv.read_request(sock) is not None:
            sock.sendall(srv.OK_RESPONSE)

    return handler


# --------------------------------------------------------------------------- the matrix

CL_BODY_CUT = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
CHUNKED_CUT = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nwo"
HTTP2_LINE = b"HTTP/2.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"
HTTP09_LINE = b"HTTP/0.9 200 OK\r\nContent-Length: 5\r\n\r\nhello"

# (case id, response bytes, what the server does after, expected exception, message words)
PROTOCOL_FAULTS = [
    ("close-before-head", b"", "close", rapidhttp.RemoteProtocolError, ["disconnected"]),
    (
        "close-mid-status-line",
        b"HTTP/1.1 20",
        "close",
        rapidhttp.RemoteProtocolError,
        ["disconnected"],
    ),
    (
        "close-mid-head",
        b"HTTP/1.1 200 OK\r\nContent-Le",
        "close",
        rapidhttp.RemoteProtocolError,
        ["disconnected"],
    ),
    (
        "close-mid-body-content-length",
        CL_BODY_CUT,
        "close",
        rapidhttp.RemoteProtocolError,
        ["received 3 bytes, expected 10"],
    ),
    (
        "close-mid-body-chunked",
        CHUNKED_CUT,
        "close",
        rapidhttp.RemoteProtocolError,
        ["incomplete chunked"],
    ),
    ("reset-before-head", b"", "reset", rapidhttp.ReadError, ["127.0.0.1", "reset"]),
    ("reset-mid-body", CL_BODY_CUT, "reset", rapidhttp.ReadError, ["127.0.0.1", "reset"]),
    ("garbage", b"\x00\xffgarbage!\r\n\r\n", "close", rapidhttp.RemoteProtocolError, ["invalid"]),
    (
        "http-0.9-no-status-line",
        b"hello world\n",
        "close",
        rapidhttp.RemoteProtocolError,
        ["invalid"],
    ),
    # h11 would accept any `HTTP/d.d` version; the engine speaks 1.0 and 1.1 only, by design
    # (docs: research/protocol-measurements.md; tests/engine/test_h1.py agrees).
    ("http-2.0-status-line", HTTP2_LINE, "stall", rapidhttp.RemoteProtocolError, ["HTTP/2.0"]),
    ("http-0.9-status-line", HTTP09_LINE, "stall", rapidhttp.RemoteProtocolError, ["HTTP/0.9"]),
    (
        "stall-before-head",
        b"",
        "stall",
        rapidhttp.ReadTimeout,
        ["timed out after 0.3 s", "127.0.0.1"],
    ),
    (
        "stall-mid-head",
        b"HTTP/1.1 200 OK\r\n",
        "stall",
        rapidhttp.ReadTimeout,
        ["timed out after 0.3 s", "127.0.0.1"],
    ),
    (
        "stall-mid-body",
        CL_BODY_CUT,
        "stall",
        rapidhttp.ReadTimeout,
        ["timed out after 0.3 s", "127.0.0.1"],
    ),
    (
        "stall-mid-chunked-body",
        CHUNKED_CUT,
        "stall",
        rapidhttp.ReadTimeout,
        ["timed out after 0.3 s", "127.0.0.1"],
    ),
]


@pytest.mark.parametrize(
    "response, then, kind, words",
    [case[1:] for case in PROTOCOL_FAULTS],
    ids=[case[0] for case in PROTOCOL_FAULTS],
)
def test_misbehaving_response(
    driver: Driver,
    raw_server: typing.Any,
    srv: typing.Any,
    response: bytes,
    then: str,
    kind: type[Exception],
    words: list[str],
) -> None:
    server = raw_server(answer_with(srv, response, then))
    started = time.monotonic()
    run = driver.run([get(server.url)], timeout=SHORT)
    expect_error(run.outcomes[0], kind, *words)
    assert time.monotonic() - started < 2.5  # the 0.3 s read timeout, not a 3 s one or a hang
    assert run.pool == (0, 0, 0)  # the broken connection was not kept


BODY_FAULTS = [case for case in PROTOCOL_FAULTS if "body" in case[0]]


@pytest.mark.parametrize(
    "response, then, kind, words",
    [case[1:] for case in BODY_FAULTS],
    ids=[case[0] for case in BODY_FAULTS],
)
def test_misbehaving_streamed_body(
    driver: Driver,
    raw_server: typing.Any,
    srv: typing.Any,
    response: bytes,
    then: str,
    kind: type[Exception],
    words: list[str],
) -> None:
    server = raw_server(answer_with(srv, response, then))
    run = driver.run([("STREAM", server.url, {})], timeout=SHORT)
    expect_error(run.outcomes[0], kind, *words)
    assert run.pool == (0, 0, 0)


def test_accept_and_never_answer(driver: Driver, raw_server: typing.Any) -> None:
    server = raw_server(never_answer)
    run = driver.run([get(server.url)], timeout=SHORT)
    expect_error(run.outcomes[0], rapidhttp.ReadTimeout, "timed out")
    assert run.pool == (0, 0, 0)


def test_ten_megabyte_header(driver: Driver, raw_server: typing.Any, srv: typing.Any) -> None:
    server = raw_server(huge_head(srv))
    run = driver.run([get(server.url)])
    # Refused at the engine's head limit, long before 10 MB are buffered.
    expect_error(run.outcomes[0], rapidhttp.RemoteProtocolError, "exceeds the limit")
    assert run.pool == (0, 0, 0)


@pytest.mark.parametrize(
    "later, idle",
    [(False, PAUSE), (True, PAUSE), (True, BLOCK)],
    ids=["with-the-response", "while-idle", "while-the-loop-is-busy"],
)
def test_unsolicited_extra_response(
    driver: Driver, raw_server: typing.Any, srv: typing.Any, later: bool, idle: Call
) -> None:
    """A server that sends a second, unrequested response after a complete one (in the same
    packet, or while the connection sits idle): that connection must not be reused (the stray
    bytes would be read as the next request's answer)."""
    stray = b"HTTP/1.1 418 I'm a teapot\r\nContent-Length: 5\r\n\r\nstray"

    def handler(sock: socket.socket) -> None:
        pending = b""
        while (request := srv.read_request(sock, pending)) is not None:
            pending = request[2]
            if later:
                sock.sendall(srv.OK_RESPONSE)
                time.sleep(IDLE / 5)
                sock.sendall(stray)
            else:
                sock.sendall(srv.OK_RESPONSE + stray)

    server = raw_server(handler)
    run = driver.run([get(server.url), idle, get(server.url), idle, get(server.url)])
    assert run.outcomes == [Result(200, "HTTP/1.1", b"hello")] * 3
    assert server.connections == 3


@pytest.mark.parametrize("idle", [PAUSE, BLOCK], ids=["pause", "busy-loop"])
def test_idle_connection_closed_between_requests(
    driver: Driver, raw_server: typing.Any, srv: typing.Any, idle: Call
) -> None:
    """The server closes an idle keep-alive connection (its FIN arrives before the next
    request): the client notices and opens a fresh one, for any method."""
    server = raw_server(answer_then_close_idle(srv))
    post = ("POST", server.url, {"content": b"data"})
    calls = [get(server.url), idle, post, idle, get(server.url)]
    run = driver.run(calls)
    assert run.outcomes == [Result(200, "HTTP/1.1", b"hello")] * 3
    assert server.connections == 3


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_keep_alive_race_idempotent_is_retried(
    driver: Driver, raw_server: typing.Any, srv: typing.Any, method: str
) -> None:
    """The server closes the idle connection only when the next request arrives (no FIN in
    time): an idempotent request with a replayable body is sent again, once, on a fresh
    connection."""
    server = raw_server(srv.close_on_second_request)
    run = driver.run([get(server.url), (method, server.url, {"content": b"data"})])
    assert run.outcomes == [Result(200, "HTTP/1.1", b"hello")] * 2
    assert server.connections == 2
    assert run.pool == (1, 1, 0)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_keep_alive_race_non_idempotent_is_not_retried(
    driver: Driver, raw_server: typing.Any, srv: typing.Any, method: str
) -> None:
    """The same race for a non-idempotent request: the server may have acted on it, so the
    engine does not resend it; the caller gets the disconnection."""
    server = raw_server(srv.close_on_second_request)
    run = driver.run([get(server.url), (method, server.url, {"content": b"data"})])
    assert run.outcomes[0] == Result(200, "HTTP/1.1", b"hello")
    expect_error(run.outcomes[1], rapidhttp.RemoteProtocolError, "disconnect")
    assert server.connections == 1
    assert run.pool == (0, 0, 0)


def test_connection_refused(driver: Driver) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = driver.run([get(f"http://127.0.0.1:{port}/")])
    expect_error(run.outcomes[0], rapidhttp.ConnectError)
    assert run.pool == (0, 0, 0)


# --------------------------------------------------------------------------- uploads

BIG_UPLOAD = b"x" * (16 * 1024 * 1024)  # more than loopback socket buffers take in


def read_head_then(then: str) -> Handler:
    """Read a request's head only, then `reset` (RST while the body is still coming) or
    `ignore` (never read the body, never answer) for a while."""

    def handler(sock: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
            data += chunk
        if then == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            time.sleep(1.0)

    return handler


def test_upload_never_read_is_a_write_timeout(driver: Driver, raw_server: typing.Any) -> None:
    server = raw_server(read_head_then("ignore"))
    timeout = rapidhttp.Timeout(3.0, write=0.3)
    run = driver.run([("POST", server.url, {"content": BIG_UPLOAD})], timeout=timeout)
    expect_error(run.outcomes[0], rapidhttp.WriteTimeout, "0.3 s", "127.0.0.1")
    assert run.pool == (0, 0, 0)


def test_reset_during_upload(driver: Driver, raw_server: typing.Any) -> None:
    """The write fails; like httpcore, the engine then looks for an early response, and reports
    the broken connection when there is none: "disconnected" when the kernel reported the reset
    to the write (a later read sees EOF, as with httpx), a read error when the reset reaches the
    reader (asyncio's transport notices it itself)."""
    server = raw_server(read_head_then("reset"))
    run = driver.run([("POST", server.url, {"content": BIG_UPLOAD})])
    outcome = run.outcomes[0]
    if type(outcome) is rapidhttp.ReadError:
        expect_error(outcome, rapidhttp.ReadError, "127.0.0.1", "reset")
    else:
        expect_error(outcome, rapidhttp.RemoteProtocolError, "disconnected")
    assert run.pool == (0, 0, 0)


def test_early_response_during_upload(driver: Driver, raw_server: typing.Any) -> None:
    """A server that answers before reading the body (an early 413) and stops reading: the
    client's write fails, and the response the server sent is what the caller gets."""

    def handler(sock: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
            data += chunk
        sock.sendall(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 4\r\n\r\nbig!")
        sock.shutdown(socket.SHUT_WR)
        time.sleep(0.2)  # then close with the body unread: the client's next write fails

    server = raw_server(handler)
    run = driver.run([("POST", server.url, {"content": BIG_UPLOAD})])
    assert run.outcomes == [Result(413, "HTTP/1.1", b"big!")]
    assert run.pool == (0, 0, 0)
