"""
The cancellation storm (issue 4): thousands of requests interrupted at random points (waiting
for the pool, connecting, writing a streamed upload, waiting for the head, mid-body) by each
backend's own means (asyncio task cancel and `wait_for`, trio cancel scopes with deadlines and
cancelled from outside), against a server answering after random short delays. Afterwards the
pool's bookkeeping must be quiet and consistent, the client must still serve requests, and the
process's open file descriptors must be back to where they were. Also the blocking driver: eight
threads sharing one Client with random, very short read timeouts.

Every storm is bounded twice: by a request count and by a wall-clock cap (it stops early at the
cap, then requires a minimum count), so it stays well under its share of CI time.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import threading
import time
import typing

import anyio
import pytest

import rapidhttp

REQUESTS = 2000  # per async backend
CAP = 12.0  # seconds of storm per backend at most
MINIMUM = 400  # requests the storm must have got through even on a slow machine
CONCURRENCY = 40
LIMITS = rapidhttp.Limits(max_connections=16, max_keepalive_connections=8)
MAX_DELAY = 0.004  # the server's random pauses (before the head, mid-body)
# Deadlines from "at once" to longer than most requests take (one in four completes or so).
DEADLINES: list[typing.Callable[[random.Random], float]] = [
    lambda rng: 0.0,
    lambda rng: rng.uniform(0, 0.003),
    lambda rng: rng.uniform(0, 0.03),
    lambda rng: rng.uniform(0.03, 0.2),
]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def expected_body(path: bytes, uploaded: int | None) -> bytes:
    body = path * 40  # ~400 bytes, sent in two parts with a pause between
    return body if uploaded is None else body + b":%d" % uploaded


def delaying_handler(srv: typing.Any) -> typing.Callable[[socket.socket], None]:
    """Keep-alive server: each answer comes after a random pause, and its body in two parts
    with another pause between (so requests are caught waiting for the head and mid-body).
    POST bodies (chunked or sized) are read whole and their length reported."""

    def handler(sock: socket.socket) -> None:
        rng = random.Random()
        pending = b""
        while (request := srv.read_request(sock, pending)) is not None:
            head, body, pending = request
            method, path, _ = head.split(b" ", 2)
            uploaded = None
            if method == b"POST":
                uploaded = len(_dechunk(body)) if b"chunked" in head.lower() else len(body)
            payload = expected_body(path, uploaded)
            time.sleep(rng.uniform(0, MAX_DELAY))
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(payload))
            half = len(payload) // 2
            sock.sendall(payload[:half])
            time.sleep(rng.uniform(0, MAX_DELAY))
            sock.sendall(payload[half:])

    return handler


def _dechunk(data: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return out
        out += data[:size]
        data = data[size + 2 :]


def assert_pool_quiet(client: rapidhttp.Client | rapidhttp.AsyncClient) -> None:
    """No request holds a slot or waits; every counted connection is idle and within limits."""
    pool = client._transport._engine.pool  # type: ignore[union-attr]
    assert pool.waiting == 0
    assert pool.total == pool.idle_count, (pool.total, pool.idle_count)
    assert 0 <= pool.total <= 16
    assert pool.idle_count <= 8


# --------------------------------------------------------------------------- async backends


async def one_request(client: rapidhttp.AsyncClient, url: str, i: int, rng: random.Random) -> None:
    """One request of a random kind, its body checked; raises only if cancelled."""
    path = b"/r%d" % i
    kind = rng.randrange(3)
    if kind == 0:
        response = await client.get(url + path.decode())
        assert response.content == expected_body(path, None)
    elif kind == 1:  # a streamed (chunked) upload with pauses: cancelled while writing

        async def upload() -> typing.AsyncIterator[bytes]:
            for _ in range(4):
                await anyio.sleep(rng.uniform(0, 0.002))
                yield b"x" * 100

        response = await client.post(url + path.decode(), content=upload())
        assert response.content == expected_body(path, 400)
    else:  # a streamed response: cancelled between chunks
        async with client.stream("GET", url + path.decode()) as response:
            received = b""
            async for chunk in response.aiter_bytes():
                received += chunk
        assert received == expected_body(path, None)


async def interrupt_asyncio(coro: typing.Awaitable[None], delay: float, how: int) -> bool:
    """Run `coro` with a deadline: `asyncio.wait_for`, or a task cancelled from outside.
    Returns whether it completed."""
    if how:
        try:
            await asyncio.wait_for(coro, delay)
        except asyncio.TimeoutError:
            return False
        return True
    task = asyncio.ensure_future(coro)
    done, _ = await asyncio.wait([task], timeout=delay)
    if not done:
        task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return False
    return True


async def interrupt_trio(coro: typing.Awaitable[None], delay: float, how: int) -> bool:
    """Run `coro` in a cancel scope: with a deadline, or cancelled by a sibling task."""
    import trio

    if how:
        with trio.move_on_after(delay) as scope:
            await coro
        return not scope.cancelled_caught
    scope = trio.CancelScope()

    async def canceller() -> None:
        await trio.sleep(delay)
        scope.cancel()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(canceller)
        with scope:
            await coro
        nursery.cancel_scope.cancel()
    return not scope.cancelled_caught


@pytest.mark.anyio
async def test_async_cancellation_storm(
    anyio_backend: str, raw_server: typing.Any, srv: typing.Any
) -> None:
    server = raw_server(delaying_handler(srv))
    url = server.url.rstrip("/")
    interrupt = interrupt_asyncio if anyio_backend == "asyncio" else interrupt_trio
    rng = random.Random(4)
    baseline = open_fds()
    completed = interrupted = started = 0
    stop_at = time.monotonic() + CAP

    client = rapidhttp.AsyncClient(limits=LIMITS, timeout=rapidhttp.Timeout(10.0))
    async with client:

        async def worker(first: int) -> None:
            nonlocal completed, interrupted
            for i in range(first, REQUESTS, CONCURRENCY):
                if time.monotonic() > stop_at:
                    return
                delay = rng.choice(DEADLINES)(rng)
                coro = one_request(client, url, i, random.Random(i))
                if await interrupt(coro, delay, rng.randrange(2)):
                    completed += 1
                else:
                    interrupted += 1

        async with anyio.create_task_group() as group:
            for first in range(CONCURRENCY):
                group.start_soon(worker, first)
        started = completed + interrupted

        assert started >= MINIMUM, f"only {started} requests in {CAP} s"
        assert interrupted >= started // 10, (completed, interrupted)
        assert completed >= started // 25, (completed, interrupted)
        assert_pool_quiet(client)

        # The pool still works: a batch of plain requests, all answered correctly.
        results: dict[int, bytes] = {}

        async def fetch(i: int) -> None:
            response = await client.get(f"{url}/after{i}")
            results[i] = response.content

        async with anyio.create_task_group() as group:
            for i in range(48):
                group.start_soon(fetch, i)
        assert results == {i: expected_body(b"/after%d" % i, None) for i in range(48)}
        assert_pool_quiet(client)

    # asyncio closes transports' sockets on a later loop iteration: give it a few.
    deadline = time.monotonic() + 3.0
    while open_fds() != baseline and time.monotonic() < deadline:
        await anyio.sleep(0.01)
    assert open_fds() == baseline


# --------------------------------------------------------------------------- blocking driver


def test_threads_with_random_read_timeouts(raw_server: typing.Any, srv: typing.Any) -> None:
    """Eight threads share one Client; each request has a random read timeout around the
    server's pauses, so many time out waiting for the head or mid-body."""
    server = raw_server(delaying_handler(srv))
    url = server.url.rstrip("/")
    baseline = open_fds()
    stop_at = time.monotonic() + 8.0
    outcomes: list[str] = []
    failures: list[BaseException] = []

    with rapidhttp.Client(limits=LIMITS, timeout=rapidhttp.Timeout(5.0)) as client:

        def work(seed: int) -> None:
            rng = random.Random(seed)
            try:
                for n in range(150):
                    if time.monotonic() > stop_at:
                        return
                    path = b"/t%d-%d" % (seed, n)
                    timeout = rapidhttp.Timeout(5.0, read=rng.uniform(0.0005, 0.006))
                    try:
                        if rng.randrange(2):
                            response = client.get(url + path.decode(), timeout=timeout)
                            body = response.content
                        else:
                            with client.stream("GET", url + path.decode(), timeout=timeout) as r:
                                body = b"".join(r.iter_bytes())
                    except rapidhttp.ReadTimeout:
                        outcomes.append("timeout")
                        continue
                    assert body == expected_body(path, None)
                    outcomes.append("ok")
            except BaseException as exc:  # reported by the main thread
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert not any(thread.is_alive() for thread in threads)
        assert failures == []
        assert len(outcomes) >= 200, len(outcomes)
        assert outcomes.count("timeout") >= len(outcomes) // 20, outcomes.count("timeout")
        assert outcomes.count("ok") >= len(outcomes) // 20, outcomes.count("ok")
        assert_pool_quiet(client)

        for i in range(20):
            assert client.get(f"{url}/after{i}").content == expected_body(b"/after%d" % i, None)
        assert_pool_quiet(client)

    deadline = time.monotonic() + 3.0
    while open_fds() != baseline and time.monotonic() < deadline:
        time.sleep(0.01)
    assert open_fds() == baseline
