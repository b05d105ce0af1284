"""MockTransport: handlers called in process, sync and async."""

from __future__ import annotations

import typing

import pytest

import rapidhttp


def echo(request: rapidhttp.Request) -> rapidhttp.Response:
    # The body was read before the handler was called.
    return rapidhttp.Response(200, content=request.content, headers={"X-Method": request.method})


async def async_echo(request: rapidhttp.Request) -> rapidhttp.Response:
    return echo(request)


def streaming_request() -> rapidhttp.Request:
    def body() -> typing.Iterator[bytes]:
        yield b"Hello, "
        yield b"world!"

    return rapidhttp.Request("POST", "https://example.org", content=body())


def async_streaming_request() -> rapidhttp.Request:
    async def body() -> typing.AsyncIterator[bytes]:
        yield b"Hello, "
        yield b"world!"

    return rapidhttp.Request("POST", "https://example.org", content=body())


def test_sync_handler() -> None:
    with rapidhttp.MockTransport(echo) as transport:
        assert isinstance(transport, rapidhttp.BaseTransport)
        response = transport.handle_request(streaming_request())
    assert response.status_code == 200
    assert response.headers["X-Method"] == "POST"
    assert response.read() == b"Hello, world!"


@pytest.mark.anyio
async def test_sync_handler_from_async() -> None:
    async with rapidhttp.MockTransport(echo) as transport:
        assert isinstance(transport, rapidhttp.AsyncBaseTransport)
        response = await transport.handle_async_request(async_streaming_request())
    assert await response.aread() == b"Hello, world!"


@pytest.mark.anyio
async def test_async_handler() -> None:
    transport = rapidhttp.MockTransport(async_echo)
    response = await transport.handle_async_request(async_streaming_request())
    assert response.content == b"Hello, world!"


def test_async_handler_from_sync_is_an_error() -> None:
    transport = rapidhttp.MockTransport(async_echo)
    with pytest.raises(TypeError) as exc_info:
        transport.handle_request(rapidhttp.Request("GET", "https://example.org"))
    # (The coroutine is closed: no "never awaited" warning, which would fail this test.)
    assert str(exc_info.value) == "Cannot use an async handler in a sync Client"


@pytest.mark.anyio
async def test_handler_must_return_a_response() -> None:
    transport = rapidhttp.MockTransport(lambda request: "nope")  # type: ignore[arg-type,return-value]
    request = rapidhttp.Request("GET", "https://example.org")
    with pytest.raises(TypeError, match="must return a Response, not <class 'str'>"):
        transport.handle_request(request)
    with pytest.raises(TypeError, match="must return a Response"):
        await transport.handle_async_request(request)


def test_handler_exceptions_propagate() -> None:
    def handler(request: rapidhttp.Request) -> rapidhttp.Response:
        raise rapidhttp.ConnectError("refused", request=request)

    request = rapidhttp.Request("GET", "https://example.org")
    with pytest.raises(rapidhttp.ConnectError) as exc_info:
        rapidhttp.MockTransport(handler).handle_request(request)
    assert exc_info.value.request is request


def test_streaming_response_from_handler() -> None:
    def handler(request: rapidhttp.Request) -> rapidhttp.Response:
        return rapidhttp.Response(200, content=iter([b"a\n", b"b\n"]))

    response = rapidhttp.MockTransport(handler).handle_request(
        rapidhttp.Request("GET", "https://example.org")
    )
    assert not response.is_closed
    assert list(response.iter_lines()) == ["a", "b"]
    assert response.is_closed


def test_through_the_client() -> None:
    with rapidhttp.Client(transport=rapidhttp.MockTransport(echo)) as client:
        response = client.post("https://example.org/", content=b"body")
        assert response.status_code == 200
        assert response.content == b"body"
        assert response.request.url == "https://example.org/"
    with rapidhttp.Client(transport=rapidhttp.MockTransport(async_echo)) as client:
        with pytest.raises(TypeError, match="Cannot use an async handler in a sync Client"):
            client.get("https://example.org/")


@pytest.mark.anyio
async def test_through_the_async_client() -> None:
    for handler in (echo, async_echo):
        transport = rapidhttp.MockTransport(handler)
        async with rapidhttp.AsyncClient(transport=transport) as client:
            response = await client.put("https://example.org/", json={"a": 1})
        assert response.json() == {"a": 1}
        assert response.headers["X-Method"] == "PUT"


def test_multipart_through_the_client() -> None:
    with rapidhttp.Client(transport=rapidhttp.MockTransport(echo)) as client:
        response = client.post(
            "https://example.org/",
            data={"a": "1"},
            files={"f": ("a.txt", b"x")},
            headers={"Content-Type": "multipart/form-data; boundary=B"},
        )
    assert response.content == (
        b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
        b'--B\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nx\r\n--B--\r\n"
    )
