"""Properties of the request hot path that its optimisations must keep: responses are freed by
reference counting (no cycle left for the GC), and `elapsed` is still a timedelta."""

from __future__ import annotations

import datetime
import gc
import typing
import weakref

import pytest

import rapidhttp


@pytest.fixture
def no_gc() -> typing.Iterator[None]:
    """The cyclic GC off: what it would have collected stays alive, for the test to see."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_read_response_is_freed_without_the_gc(server: typing.Any, no_gc: None) -> None:
    with rapidhttp.Client() as client:
        client.get(server.url)  # the connection is open: what follows is the hot path
        response = client.get(server.url)
        assert response.content == b"Hello, world!"
        ref = weakref.ref(response)
        del response
        assert ref() is None


@pytest.mark.anyio
async def test_async_read_response_is_freed_without_the_gc(
    server: typing.Any, no_gc: None
) -> None:
    async with rapidhttp.AsyncClient() as client:
        await client.get(server.url)
        response = await client.get(server.url)
        assert response.content == b"Hello, world!"
        ref = weakref.ref(response)
        del response
        assert ref() is None


def test_elapsed_is_a_timedelta_once_read_and_stays_settable(server: typing.Any) -> None:
    with rapidhttp.Client() as client:
        with client.stream("GET", server.url) as response:
            with pytest.raises(RuntimeError, match="may only be accessed after"):
                response.elapsed  # noqa: B018
            response.read()
        elapsed = response.elapsed
        assert isinstance(elapsed, datetime.timedelta)
        assert datetime.timedelta(0) <= elapsed < datetime.timedelta(seconds=10)
        assert response.elapsed is elapsed  # made once
        # Closing again does not stamp it again.
        response.close()
        assert response.elapsed is elapsed
        response.elapsed = datetime.timedelta(seconds=3)
        assert response.elapsed == datetime.timedelta(seconds=3)


def test_request_automatic_headers_come_first_in_order() -> None:
    request = rapidhttp.Request("POST", "http://example.org:8080/", headers={"X-A": "1"})
    assert request.headers.raw == [
        (b"Host", b"example.org:8080"),
        (b"Content-Length", b"0"),
        (b"X-A", b"1"),
    ]
    assert request.headers["content-length"] == "0"
    assert list(request.headers.keys()) == ["host", "content-length", "x-a"]
