"""Request: method and URL, automatic headers, body loading, pickling."""

from __future__ import annotations

import pickle
import typing

import pytest

import rapidhttp


def test_repr_and_method() -> None:
    request = rapidhttp.Request("get", "https://example.org/path?q=1")
    assert request.method == "GET"
    assert repr(request) == "<Request('GET', 'https://example.org/path?q=1')>"
    assert rapidhttp.Request(b"post", "https://example.org").method == "POST"


def test_url_and_params() -> None:
    url = rapidhttp.URL("https://example.org/a")
    request = rapidhttp.Request("GET", url)
    assert request.url == url
    request = rapidhttp.Request("GET", "http://example.com?c=3", params={"a": "1", "b": "2"})
    assert str(request.url) == "http://example.com?a=1&b=2"
    request = rapidhttp.Request("GET", "http://example.com?a=1", params={})
    assert str(request.url) == "http://example.com"


def test_auto_headers_get() -> None:
    request = rapidhttp.Request("GET", "http://example.org:8080/")
    assert request.headers.raw == [(b"Host", b"example.org:8080")]
    assert request.content == b""


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_empty_body_methods_state_zero_length(method: str) -> None:
    request = rapidhttp.Request(method, "http://example.org")
    assert request.headers.raw == [(b"Host", b"example.org"), (b"Content-Length", b"0")]


def test_host_header_goes_first_and_user_headers_win() -> None:
    request = rapidhttp.Request(
        "POST",
        "http://example.org",
        headers={"X-A": "1", "Content-Type": "text/x-mine"},
        json={"a": 1},
    )
    assert request.headers.raw == [
        (b"Host", b"example.org"),
        (b"X-A", b"1"),
        (b"Content-Type", b"text/x-mine"),
        (b"Content-Length", b"7"),
    ]
    request = rapidhttp.Request("GET", "http://example.org", headers={"host": "1.2.3.4:80"})
    assert request.headers["Host"] == "1.2.3.4:80"


def test_explicit_content_length_suppresses_chunked() -> None:
    def body() -> typing.Iterator[bytes]:
        yield b"abcd"  # pragma: no cover

    request = rapidhttp.Request(
        "POST", "http://example.org", content=body(), headers={"Content-Length": "4"}
    )
    assert request.headers == {"Host": "example.org", "Content-Length": "4"}


def test_json_and_form_bodies() -> None:
    request = rapidhttp.Request("POST", "http://example.org", json={"test": 123, "é": [1.5]})
    assert request.content == '{"test":123,"é":[1.5]}'.encode()
    assert request.headers["Content-Type"] == "application/json"
    request = rapidhttp.Request("POST", "http://example.org", data={"a": ["1", 2], "b": None})
    assert request.content == b"a=1&a=2&b="
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_streaming_body_must_be_read() -> None:
    def body() -> typing.Iterator[bytes]:
        yield b"Hello, "
        yield b"world!"

    request = rapidhttp.Request("POST", "http://example.org", content=body())
    with pytest.raises(rapidhttp.RequestNotRead) as exc_info:
        request.content  # noqa: B018
    assert "without having called `read()`" in str(exc_info.value)
    assert request.read() == b"Hello, world!"
    # Once read, the body is replayable.
    assert b"".join(request.stream) == b"Hello, world!"  # type: ignore[arg-type]
    assert b"".join(request.stream) == b"Hello, world!"  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_async_streaming_body() -> None:
    async def body() -> typing.AsyncIterator[bytes]:
        yield b"Hello, "
        yield b"world!"

    request = rapidhttp.Request("POST", "http://example.org", content=body())
    assert request.headers["Transfer-Encoding"] == "chunked"
    with pytest.raises(RuntimeError, match="aread"):
        request.read()
    assert await request.aread() == b"Hello, world!"
    assert request.content == b"Hello, world!"
    assert b"".join([part async for part in request.stream]) == b"Hello, world!"  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_sync_body_read_asynchronously_is_an_error() -> None:
    request = rapidhttp.Request("POST", "http://example.org", content=iter([b"x"]))
    with pytest.raises(RuntimeError, match="request.read()"):
        await request.aread()


def test_stream_argument_adds_no_headers() -> None:
    stream = rapidhttp.ByteStream(b"abc")
    request = rapidhttp.Request("POST", "http://example.org", stream=stream)
    assert request.headers.raw == []
    assert request.stream is stream
    with pytest.raises(rapidhttp.RequestNotRead):
        request.content  # noqa: B018
    assert request.read() == b"abc"


def test_cookies_argument_sets_cookie_header() -> None:
    request = rapidhttp.Request("GET", "http://example.org", cookies={"a": "1", "b": "2"})
    assert request.headers["Cookie"] == "a=1; b=2"


def test_extensions_are_copied() -> None:
    extensions = {"timeout": {"connect": 1.0}}
    request = rapidhttp.Request("GET", "http://example.org", extensions=extensions)
    assert request.extensions == extensions
    request.extensions["x"] = 1
    assert "x" not in extensions
    assert rapidhttp.Request("GET", "http://example.org").extensions == {}


def test_pickle() -> None:
    request = rapidhttp.Request(
        "POST", "http://example.org", json={"test": 123}, extensions={"a": 1}
    )
    copy = pickle.loads(pickle.dumps(request))
    assert copy.method == "POST"
    assert copy.url == request.url
    assert copy.headers == request.headers
    assert copy.content == b'{"test":123}'
    assert copy.extensions == {}


def test_pickled_unread_stream_is_unusable() -> None:
    def body() -> typing.Iterator[bytes]:
        yield b"x"  # pragma: no cover

    request = rapidhttp.Request("POST", "http://example.org", content=body())
    copy = pickle.loads(pickle.dumps(request))
    with pytest.raises(rapidhttp.RequestNotRead):
        copy.content  # noqa: B018
    with pytest.raises(rapidhttp.StreamClosed):
        copy.read()


@pytest.mark.anyio
async def test_pickled_unread_stream_is_unusable_async() -> None:
    async def body() -> typing.AsyncIterator[bytes]:
        yield b"x"  # pragma: no cover

    request = rapidhttp.Request("POST", "http://example.org", content=body())
    copy = pickle.loads(pickle.dumps(request))
    with pytest.raises(rapidhttp.StreamClosed):
        await copy.aread()


def test_bad_content_types() -> None:
    with pytest.raises(TypeError, match="Unexpected type for 'content', <class 'int'>"):
        rapidhttp.Request("POST", "http://example.org", content=123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Unexpected type for 'content'"):
        rapidhttp.Request("POST", "http://example.org", content={"a": "b"})  # type: ignore[arg-type,dict-item]
