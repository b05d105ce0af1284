"""Response: properties, text encodings, streaming (sync and async), errors, pickling."""

from __future__ import annotations

import datetime
import json
import pickle
import typing

import anyio
import pytest

import rapidhttp
from rapidhttp._models import Headers

REQUEST = rapidhttp.Request("GET", "https://example.org/path")


def sync_body(*chunks: bytes) -> typing.Iterator[bytes]:
    yield from chunks


async def async_body(*chunks: bytes) -> typing.AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


class ClosingStream(rapidhttp.SyncByteStream, rapidhttp.AsyncByteStream):
    """A transport-like stream that records being closed, and can fail while read."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks = chunks
        self.error = error
        self.closed = 0

    def __iter__(self) -> typing.Iterator[bytes]:
        yield from self.chunks
        if self.error is not None:
            raise self.error

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.closed += 1

    async def aclose(self) -> None:
        self.closed += 1


def test_basic_properties() -> None:
    response = rapidhttp.Response(200, content=b"Hello, world!", request=REQUEST)
    assert response.status_code == 200
    assert response.reason_phrase == "OK"
    assert response.http_version == "HTTP/1.1"
    assert response.url == "https://example.org/path"
    assert response.text == "Hello, world!"
    assert response.headers == {"Content-Length": "13"}
    assert response.is_closed and response.is_stream_consumed
    assert repr(response) == "<Response [200 OK]>"
    assert response.history == [] and response.next_request is None


def test_extensions_give_version_and_reason() -> None:
    response = rapidhttp.Response(
        200, extensions={"http_version": b"HTTP/2", "reason_phrase": b"Fine"}
    )
    assert response.http_version == "HTTP/2"
    assert response.reason_phrase == "Fine"
    assert repr(response) == "<Response [200 Fine]>"
    assert rapidhttp.Response(600).reason_phrase == ""


def test_request_must_be_set() -> None:
    response = rapidhttp.Response(200)
    with pytest.raises(RuntimeError) as exc_info:
        response.request  # noqa: B018
    assert str(exc_info.value) == "The request instance has not been set on this response."
    response.request = REQUEST
    assert response.request is REQUEST


@pytest.mark.parametrize(
    "kwargs, content_type, body",
    [
        ({"text": "Hé"}, "text/plain; charset=utf-8", "Hé".encode()),
        ({"html": "<p>é</p>"}, "text/html; charset=utf-8", "<p>é</p>".encode()),
        ({"json": {"a": "é"}}, "application/json", '{"a":"é"}'.encode()),
    ],
)
def test_body_helpers(kwargs: dict[str, typing.Any], content_type: str, body: bytes) -> None:
    response = rapidhttp.Response(200, **kwargs)
    assert response.content == body
    assert response.headers == {"Content-Type": content_type, "Content-Length": str(len(body))}


def test_json_rejects_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        rapidhttp.Response(200, json={"x": float("nan")})


def test_status_classes() -> None:
    def flags(code: int) -> tuple[bool, ...]:
        r = rapidhttp.Response(code)
        return (
            r.is_informational,
            r.is_success,
            r.is_redirect,
            r.is_client_error,
            r.is_server_error,
            r.is_error,
        )

    assert flags(101) == (True, False, False, False, False, False)
    assert flags(204) == (False, True, False, False, False, False)
    assert flags(304) == (False, False, True, False, False, False)
    assert flags(404) == (False, False, False, True, False, True)
    assert flags(503) == (False, False, False, False, True, True)


def test_has_redirect_location() -> None:
    location = {"Location": "/next"}
    assert rapidhttp.Response(302, headers=location).has_redirect_location
    assert not rapidhttp.Response(302).has_redirect_location
    assert not rapidhttp.Response(304, headers=location).has_redirect_location


def test_raise_for_status() -> None:
    assert rapidhttp.Response(204, request=REQUEST).raise_for_status().status_code == 204

    response = rapidhttp.Response(404, request=REQUEST)
    with pytest.raises(rapidhttp.HTTPStatusError) as exc_info:
        response.raise_for_status()
    assert str(exc_info.value) == (
        "Client error '404 Not Found' for url 'https://example.org/path'\n"
        "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/404"
    )
    assert exc_info.value.response is response
    assert exc_info.value.request is REQUEST

    response = rapidhttp.Response(301, headers={"Location": "/x"}, request=REQUEST)
    with pytest.raises(rapidhttp.HTTPStatusError) as exc_info:
        response.raise_for_status()
    assert str(exc_info.value) == (
        "Redirect response '301 Moved Permanently' for url 'https://example.org/path'\n"
        "Redirect location: '/x'\n"
        "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/301"
    )

    with pytest.raises(rapidhttp.HTTPStatusError, match="^Invalid status code '600 '"):
        rapidhttp.Response(600, request=REQUEST).raise_for_status()

    with pytest.raises(RuntimeError, match="Cannot call `raise_for_status`"):
        rapidhttp.Response(500).raise_for_status()


@pytest.mark.parametrize(
    "content_type, encoding",
    [
        ("text/plain; charset=latin-1", "latin-1"),
        ('text/plain; charset="ISO-8859-1"', "iso-8859-1"),
        ("text/plain;charset=utf-8; format=flowed", "utf-8"),
        ("text/plain; format=flowed; CHARSET=koi8-r", "koi8-r"),
        ("application/json, charset=utf-16", None),  # no ";": no parameters
        ("text/plain", None),
    ],
)
def test_charset_encoding(content_type: str, encoding: str | None) -> None:
    response = rapidhttp.Response(200, headers={"Content-Type": content_type})
    assert response.charset_encoding == encoding


def test_encoding_priority() -> None:
    body = "Latin 1: ÿ".encode("latin-1")
    # The charset, when Python knows it.
    r = rapidhttp.Response(
        200, content=body, headers={"Content-Type": "text/plain; charset=latin-1"}
    )
    assert r.encoding == "latin-1" and r.text == "Latin 1: ÿ"
    # An unknown charset falls back to default_encoding.
    r = rapidhttp.Response(
        200,
        content=body,
        headers={"Content-Type": "text/plain; charset=nonsense"},
        default_encoding="cp1252",
    )
    assert r.encoding == "cp1252" and r.text == "Latin 1: ÿ"
    # default_encoding may be a callable given the body (charset autodetection).
    seen = []

    def detect(content: bytes) -> str:
        seen.append(content)
        return "latin-1"

    r = rapidhttp.Response(200, content=body, default_encoding=detect)
    assert r.encoding == "latin-1" and seen == [body]
    # An explicit encoding wins over everything.
    r = rapidhttp.Response(
        200, content=body, headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    r.encoding = "latin-1"
    assert r.text == "Latin 1: ÿ"
    # Without anything: utf-8, undecodable bytes replaced.
    r = rapidhttp.Response(200, content=b"ok \xff")
    assert r.encoding == "utf-8" and r.text == "ok \ufffd"


def test_encoding_cannot_change_after_text() -> None:
    response = rapidhttp.Response(200, content=b"Hello")
    assert response.text == "Hello"
    with pytest.raises(ValueError) as exc_info:
        response.encoding = "latin-1"
    assert str(exc_info.value) == "Setting encoding after `text` has been accessed is not allowed."


def test_callable_default_encoding_before_read_falls_back_to_utf8() -> None:
    response = rapidhttp.Response(
        200, content=sync_body("é".encode()), default_encoding=lambda b: "latin-1"
    )
    assert response.encoding == "utf-8"


def test_json() -> None:
    data = {"greeting": "hello", "amount": 1}
    for encoding in ("utf-8", "utf-16", "utf-32-be", "utf-8-sig"):
        response = rapidhttp.Response(200, content=json.dumps(data).encode(encoding))
        assert response.json() == data
    assert rapidhttp.Response(200, json=data).json(parse_int=str)["amount"] == "1"
    with pytest.raises(json.JSONDecodeError):
        rapidhttp.Response(200, content=b"not json").json()


def test_links() -> None:
    response = rapidhttp.Response(
        200, headers={"Link": '</hub>; rel="hub", </resource>; rel="self", <https://x.org>'}
    )
    assert response.links == {
        "hub": {"url": "/hub", "rel": "hub"},
        "self": {"url": "/resource", "rel": "self"},
        "https://x.org": {"url": "https://x.org"},
    }
    assert rapidhttp.Response(200).links == {}


def test_cookies() -> None:
    response = rapidhttp.Response(
        200,
        headers=[("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/")],
        request=REQUEST,
    )
    assert dict(response.cookies) == {"a": "1", "b": "2"}
    assert response.cookies is response.cookies
    # No Set-Cookie: no jar walk, and no request needed.
    assert dict(rapidhttp.Response(200).cookies) == {}


def test_elapsed() -> None:
    response = rapidhttp.Response(200, content=sync_body(b"x"))
    with pytest.raises(RuntimeError) as exc_info:
        response.elapsed  # noqa: B018
    assert str(exc_info.value) == (
        "'.elapsed' may only be accessed after the response has been read or closed."
    )
    response.elapsed = datetime.timedelta(seconds=1.5)
    assert response.elapsed.total_seconds() == 1.5


def test_streaming_read_and_close() -> None:
    stream = ClosingStream([b"Hello, ", b"world!"])
    response = rapidhttp.Response(200, stream=stream, request=REQUEST)
    assert response.headers.raw == [] and not response.is_closed
    with pytest.raises(rapidhttp.ResponseNotRead):
        response.content  # noqa: B018
    assert response.read() == b"Hello, world!"
    assert response.is_closed and response.is_stream_consumed and stream.closed == 1
    assert response.num_bytes_downloaded == 13
    assert response.read() == b"Hello, world!"  # cached
    response.close()  # idempotent
    assert stream.closed == 1
    assert list(response.iter_bytes(5)) == [b"Hello", b", wor", b"ld!"]


def test_stream_consumed_and_closed() -> None:
    response = rapidhttp.Response(200, content=sync_body(b"a", b"b"))
    assert list(response.iter_raw()) == [b"a", b"b"]
    with pytest.raises(rapidhttp.StreamConsumed):
        response.read()
    response = rapidhttp.Response(200, content=sync_body(b"a"))
    response.close()
    with pytest.raises(rapidhttp.StreamClosed):
        response.read()
    with pytest.raises(rapidhttp.StreamClosed):
        list(response.iter_bytes())


def test_iterators_rechunk() -> None:
    def make() -> rapidhttp.Response:
        return rapidhttp.Response(200, content=sync_body(b"Hello, ", b"", b"world!", b""))

    assert list(make().iter_raw()) == [b"Hello, ", b"world!"]  # no empty chunks
    assert list(make().iter_raw(chunk_size=5)) == [b"Hello", b", wor", b"ld!"]
    assert list(make().iter_bytes(chunk_size=7)) == [b"Hello, ", b"world!"]
    assert list(make().iter_bytes(chunk_size=20)) == [b"Hello, world!"]
    assert list(make().iter_text(chunk_size=5)) == ["Hello", ", wor", "ld!"]
    assert list(make().iter_text()) == ["Hello, ", "world!"]


def test_iter_bytes_of_read_content() -> None:
    response = rapidhttp.Response(200, content=b"abcdef")
    assert list(response.iter_bytes()) == [b"abcdef"]
    assert list(response.iter_bytes(4)) == [b"abcd", b"ef"]
    assert list(response.iter_bytes(0)) == [b"a", b"b", b"c", b"d", b"e", b"f"]
    assert list(rapidhttp.Response(200).iter_bytes()) == []


def test_iter_text_joins_split_multibyte_characters() -> None:
    body = "héllo ☃ wörld".encode()
    chunks = [body[i : i + 1] for i in range(len(body))]  # every byte on its own
    response = rapidhttp.Response(200, content=sync_body(*chunks))
    parts = list(response.iter_text())
    assert "".join(parts) == "héllo ☃ wörld"
    assert "\ufffd" not in "".join(parts)


def test_iter_text_with_declared_charset() -> None:
    response = rapidhttp.Response(
        200,
        headers={"Content-Type": "text/html; charset=shift-jis"},
        content=sync_body(b"\x83g", b"\x83", b"\x89\x83x\x83\x8b"),
    )
    assert "".join(response.iter_text()) == "トラベル"


def test_iter_text_undecodable_bytes_are_replaced() -> None:
    response = rapidhttp.Response(200, content=sync_body(b"ok\xff", b"\xfe"))
    assert "".join(response.iter_text()) == "ok\ufffd\ufffd"
    response = rapidhttp.Response(200, content=sync_body(b"cut \xe2\x98"))  # truncated ☃
    assert "".join(response.iter_text()) == "cut \ufffd"


@pytest.mark.parametrize(
    "chunks, lines",
    [
        ([b"a\nb\r\nc\rd"], ["a", "b", "c", "d"]),
        ([b"a\r", b"\nb"], ["a", "b"]),  # \r\n split across chunks
        ([b"a\r", b"\r", b"b"], ["a", "", "b"]),
        ([b"12345\n", b"foo ", b"bar ", b"baz\n"], ["12345", "foo bar baz"]),
        ([b"x\n\n"], ["x", ""]),
        ([b""], []),
        ([b"tail without newline"], ["tail without newline"]),
    ],
)
def test_iter_lines(chunks: list[bytes], lines: list[str]) -> None:
    assert list(rapidhttp.Response(200, content=sync_body(*chunks)).iter_lines()) == lines


def test_sync_and_async_mismatch() -> None:
    response = rapidhttp.Response(200, content=async_body(b"x"))
    with pytest.raises(RuntimeError) as exc_info:
        list(response.iter_raw())
    assert str(exc_info.value) == "Attempted to call a sync iterator on an async stream."
    with pytest.raises(RuntimeError, match="Attempted to call a sync iterator"):
        response.read()
    with pytest.raises(RuntimeError) as exc_info:
        response.close()
    assert str(exc_info.value) == "Attempted to call an sync close on an async stream."


@pytest.mark.anyio
async def test_async_mismatch() -> None:
    response = rapidhttp.Response(200, content=sync_body(b"x"))
    with pytest.raises(RuntimeError) as exc_info:
        await response.aread()
    assert str(exc_info.value) == "Attempted to call an async iterator on an sync stream."
    with pytest.raises(RuntimeError) as exc_info:
        await response.aclose()
    assert str(exc_info.value) == "Attempted to call an async close on an sync stream."


@pytest.mark.anyio
async def test_async_streaming() -> None:
    stream = ClosingStream([b"Hello, ", b"world!"])
    response = rapidhttp.Response(200, stream=stream)
    assert await response.aread() == b"Hello, world!"
    assert response.is_closed and stream.closed == 1 and response.num_bytes_downloaded == 13
    assert [c async for c in response.aiter_bytes(5)] == [b"Hello", b", wor", b"ld!"]
    with pytest.raises(rapidhttp.StreamConsumed):
        [c async for c in response.aiter_raw()]

    def make() -> rapidhttp.Response:
        return rapidhttp.Response(200, content=async_body(b"Hello,\n", b"", b"world!"))

    assert [c async for c in make().aiter_raw(chunk_size=5)] == [b"Hello", b",\nwor", b"ld!"]
    assert [c async for c in make().aiter_bytes()] == [b"Hello,\n", b"world!"]
    assert [c async for c in make().aiter_text(chunk_size=4)] == ["Hell", "o,\nw", "orld", "!"]
    assert [line async for line in make().aiter_lines()] == ["Hello,", "world!"]

    response = make()
    await response.aclose()
    with pytest.raises(rapidhttp.StreamClosed):
        await response.aread()


def test_num_bytes_downloaded_counts_raw_bytes() -> None:
    response = rapidhttp.Response(200, content=sync_body(b"abc", b"de"))
    seen = []
    for _ in response.iter_raw():
        seen.append(response.num_bytes_downloaded)
    assert seen == [3, 5]


def test_transport_errors_get_the_request_attached() -> None:
    error = rapidhttp.ReadTimeout("Timed out")
    stream = ClosingStream([b"partial"], error=error)
    response = rapidhttp.Response(200, stream=stream, request=REQUEST)
    with pytest.raises(rapidhttp.ReadTimeout) as exc_info:
        response.read()
    assert exc_info.value.request is REQUEST

    stream = ClosingStream([b"partial"], error=rapidhttp.ReadError("reset"))
    response = rapidhttp.Response(200, stream=stream, request=REQUEST)
    with pytest.raises(rapidhttp.ReadError) as exc_info2:
        list(response.iter_bytes())
    assert exc_info2.value.request is REQUEST


@pytest.mark.anyio
async def test_transport_errors_get_the_request_attached_async() -> None:
    stream = ClosingStream([b"partial"], error=rapidhttp.ReadError("reset"))
    response = rapidhttp.Response(200, stream=stream, request=REQUEST)
    with pytest.raises(rapidhttp.ReadError) as exc_info:
        await response.aread()
    assert exc_info.value.request is REQUEST


def test_pickle() -> None:
    response = rapidhttp.Response(
        200, content=b"Hello", request=REQUEST, extensions={"http_version": b"HTTP/2"}
    )
    copy = pickle.loads(pickle.dumps(response))
    assert copy.is_closed and copy.is_stream_consumed
    assert copy.content == b"Hello" and copy.status_code == 200
    assert copy.request.url == REQUEST.url
    assert copy.extensions == {} and copy.history == [] and copy.next_request is None


def test_pickle_unread_stream() -> None:
    response = rapidhttp.Response(200, content=sync_body(b"x"))
    copy = pickle.loads(pickle.dumps(response))
    with pytest.raises(rapidhttp.ResponseNotRead):
        copy.content  # noqa: B018
    with pytest.raises(rapidhttp.StreamClosed):
        copy.read()
    assert copy.headers == {"Transfer-Encoding": "chunked"}
    assert copy.num_bytes_downloaded == 0


def test_headers_passed_through_are_copied() -> None:
    headers = Headers._from_raw([(b"Content-Type", b"text/plain")])
    response = rapidhttp.Response(200, headers=headers)
    response.headers["X"] = "1"
    assert "X" not in headers


def test_generator_content_headers() -> None:
    response = rapidhttp.Response(200, content=sync_body(b"x"))
    assert response.headers == {"Transfer-Encoding": "chunked"}
    response = rapidhttp.Response(200, content=sync_body(b"x"), headers={"Content-Length": "1"})
    assert response.headers == {"Content-Length": "1"}


def test_bad_content() -> None:
    with pytest.raises(TypeError, match="Unexpected type for 'content', <class 'int'>"):
        rapidhttp.Response(200, content=123)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_breaking_out_of_async_iteration_leaves_nothing_behind() -> None:
    # Under trio an async generator left unexhausted is reported as a ResourceWarning
    # (a test error here): the response iterators are plain async iterators, and closing
    # the response finishes the body's generator.
    finished = []

    async def body() -> typing.AsyncIterator[bytes]:
        try:
            for i in range(100):
                yield b"line %d\n" % i
        finally:
            finished.append(True)

    for method in ("aiter_raw", "aiter_bytes", "aiter_text", "aiter_lines"):
        response = rapidhttp.Response(200, content=body())
        async for _ in getattr(response, method)():
            break
        await response.aclose()
    assert finished == [True] * 4


@pytest.mark.anyio
async def test_async_iterators_support_aclosing() -> None:
    import contextlib

    response = rapidhttp.Response(200, content=async_body(b"a\nb\n"))
    async with contextlib.aclosing(response.aiter_lines()) as lines:  # type: ignore[type-var]
        assert [line async for line in lines] == ["a", "b"]
    assert response.is_closed


def test_breaking_out_of_sync_iteration() -> None:
    finished = []

    def body() -> typing.Iterator[bytes]:
        try:
            yield from [b"a\n", b"b\n", b"c\n"]
        finally:
            finished.append(True)

    response = rapidhttp.Response(200, content=body())
    lines = response.iter_lines()
    assert next(lines) == "a"
    lines.close()  # type: ignore[attr-defined]
    response.close()
    assert finished == [True]
    with pytest.raises(StopIteration):
        next(lines)


def test_iterators_are_lazy_like_generators() -> None:
    # Nothing happens until the first item is asked for, as with httpx's generators.
    response = rapidhttp.Response(200, content=sync_body(b"x"))
    iterator = response.iter_bytes()
    assert not response.is_stream_consumed
    assert response.read() == b"x"
    assert list(iterator) == [b"x"]  # served from the content read meanwhile


@pytest.mark.anyio
async def test_streaming_lines_from_a_real_server(server: typing.Any) -> None:
    async with rapidhttp.AsyncClient() as client:
        async with client.stream("GET", server.url + "stream/5") as response:
            lines = [line async for line in response.aiter_lines()]
    assert lines == [f"chunk {i}" for i in range(5)]
    assert response.is_closed


def test_response_closes_after_the_last_chunk() -> None:
    # As httpx: the stream is closed once the last (re-chunked) piece has been handed out.
    response = rapidhttp.Response(200, content=sync_body(b"abcde"))
    seen = [(chunk, response.is_closed) for chunk in response.iter_raw(chunk_size=2)]
    assert seen == [(b"ab", False), (b"cd", False), (b"e", False)]
    assert response.is_closed


# In-memory bodies (`ByteStream`s, what network transports return for a body that came with
# its head) are read without iterating; how the response gets closed depends on what the
# stream has to release.


class HeldByteStream(rapidhttp.ByteStream):
    """A body in memory that holds something until closed (as a pooled connection)."""

    def __init__(self, content: bytes) -> None:
        super().__init__(content)
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class AsyncClosingByteStream(HeldByteStream):
    """A body in memory whose async closing is its own (not just `close`)."""

    async def aclose(self) -> None:
        self.closed += 10


def test_byte_stream_aclose_is_its_close() -> None:
    stream = HeldByteStream(b"abc")
    anyio.run(stream.aclose)
    assert stream.closed == 1


def test_read_closes_an_inert_byte_stream_without_calling_close() -> None:
    response = rapidhttp.Response(200, stream=rapidhttp.ByteStream(b"abc"), request=REQUEST)
    assert response.read() == b"abc"
    assert response.is_closed and response.is_stream_consumed
    assert response.num_bytes_downloaded == 3
    with pytest.raises(RuntimeError, match="'.elapsed' may only be accessed"):
        response.elapsed  # noqa: B018  (a response made outside a client has none)


def test_read_releases_a_holding_byte_stream_once() -> None:
    stream = HeldByteStream(b"abc")
    response = rapidhttp.Response(200, stream=stream, request=REQUEST)
    assert response.read() == b"abc"
    assert response.is_closed
    assert stream.closed == 1
    response.close()
    assert stream.closed == 1


@pytest.mark.anyio
async def test_aread_releases_a_holding_byte_stream_with_its_sync_close() -> None:
    stream = HeldByteStream(b"abc")
    response = rapidhttp.Response(200, stream=stream, request=REQUEST)
    assert await response.aread() == b"abc"
    assert response.is_closed
    assert stream.closed == 1
    await response.aclose()
    assert stream.closed == 1


@pytest.mark.anyio
async def test_aread_awaits_a_byte_stream_own_aclose() -> None:
    stream = AsyncClosingByteStream(b"abc")
    response = rapidhttp.Response(200, stream=stream, request=REQUEST)
    assert await response.aread() == b"abc"
    assert response.is_closed
    assert stream.closed == 10


def test_elapsed_is_from_send_to_close() -> None:
    response = rapidhttp.Response(200, stream=rapidhttp.ByteStream(b"abc"), request=REQUEST)
    response._started = 100.0  # as a client stamps it (`time.perf_counter()` at send)
    response._closed_at = 101.25
    assert response.elapsed == datetime.timedelta(seconds=1.25)
    restored = pickle.loads(pickle.dumps(response))
    assert restored.elapsed == datetime.timedelta(seconds=1.25)
