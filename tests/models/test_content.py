"""Body encoders and byte streams (rapidhttp._content)."""

from __future__ import annotations

import io
import typing

import pytest

import rapidhttp
from rapidhttp._content import (
    AsyncIteratorByteStream,
    IteratorByteStream,
    encode_request,
    encode_response,
    peek_filelike_length,
)

URL = "https://www.example.com"


async def aread_all(stream: typing.Any) -> bytes:
    return b"".join([part async for part in stream])


@pytest.mark.anyio
async def test_byte_stream_is_sync_async_and_replayable() -> None:
    stream = rapidhttp.ByteStream(b"abc")
    assert isinstance(stream, rapidhttp.SyncByteStream)
    assert isinstance(stream, rapidhttp.AsyncByteStream)
    for _ in range(2):
        assert list(stream) == [b"abc"]
        assert await aread_all(stream) == b"abc"


@pytest.mark.parametrize(
    "content, headers, body",
    [
        (b"Hello", {"Content-Length": "5"}, b"Hello"),
        ("Hé", {"Content-Length": "3"}, "Hé".encode()),
        (b"", {}, b""),
        (io.BytesIO(b"file body"), {"Content-Length": "9"}, b"file body"),
        ([b"a", b"b"], {"Transfer-Encoding": "chunked"}, b"ab"),  # size unknown up front
    ],
)
def test_encode_content(content: typing.Any, headers: dict[str, str], body: bytes) -> None:
    got_headers, stream = encode_request(content=content)
    assert got_headers == headers
    assert b"".join(stream) == body  # type: ignore[arg-type]


def test_real_file_content_length(tmp_path: typing.Any) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(b"x" * 100_000)
    with open(path, "rb") as f:
        request = rapidhttp.Request("POST", URL, content=f)
        assert request.headers["Content-Length"] == "100000"
        chunks = list(request.stream)  # type: ignore[arg-type]
    assert [len(c) for c in chunks] == [65536, 100_000 - 65536]  # read in bounded chunks


def test_generator_can_only_be_consumed_once() -> None:
    def gen() -> typing.Iterator[bytes]:
        yield b"Hello"

    stream = IteratorByteStream(gen())
    assert list(stream) == [b"Hello"]
    with pytest.raises(rapidhttp.StreamConsumed) as exc_info:
        list(stream)
    assert "already been streamed" in str(exc_info.value)
    # A re-iterable (a list) can be replayed.
    stream = IteratorByteStream([b"a", b"b"])
    assert list(stream) == list(stream) == [b"a", b"b"]


@pytest.mark.anyio
async def test_async_generator_can_only_be_consumed_once() -> None:
    async def gen() -> typing.AsyncIterator[bytes]:
        yield b"Hello"

    stream = AsyncIteratorByteStream(gen())
    assert await aread_all(stream) == b"Hello"
    with pytest.raises(rapidhttp.StreamConsumed):
        await aread_all(stream)


@pytest.mark.anyio
async def test_async_file_like_with_aread() -> None:
    class AsyncBytesIO:
        def __init__(self, content: bytes) -> None:
            self._content = content

        async def aread(self, size: int) -> bytes:
            chunk, self._content = self._content[:size], self._content[size:]
            return chunk

        def __aiter__(self) -> typing.AsyncIterator[bytes]:  # pragma: no cover
            raise AssertionError("aread() should be used")

    request = rapidhttp.Request("POST", URL, content=AsyncBytesIO(b"x" * 70_000))
    assert request.headers["Transfer-Encoding"] == "chunked"
    chunks = [c async for c in request.stream]  # type: ignore[union-attr]
    assert [len(c) for c in chunks] == [65536, 70_000 - 65536]


def test_urlencoded() -> None:
    headers, stream = encode_request(
        data={"a": "1 2", "b": ["x", 1, True, None], "c": False, "d": 1.5, "é": "/"}
    )
    body = b"".join(stream)  # type: ignore[arg-type]
    assert body == b"a=1+2&b=x&b=1&b=true&b=&c=false&d=1.5&%C3%A9=%2F"
    assert headers == {
        "Content-Length": str(len(body)),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def test_json_is_compact_and_utf8() -> None:
    headers, stream = encode_request(json={"clé": [1, 2], "n": None})
    assert b"".join(stream) == '{"clé":[1,2],"n":null}'.encode()  # type: ignore[arg-type]
    assert headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        encode_request(json=float("inf"))


def test_precedence() -> None:
    # content > files > data > json
    headers, stream = encode_request(content=b"raw", data={"a": "1"}, json={"b": 2})
    assert b"".join(stream) == b"raw"  # type: ignore[arg-type]
    headers, stream = encode_request(data={"a": "1"}, json={"b": 2})
    assert b"".join(stream) == b"a=1"  # type: ignore[arg-type]
    headers, stream = encode_request(data={}, json={"b": 2})
    assert b"".join(stream) == b'{"b":2}'  # type: ignore[arg-type]
    headers, stream = encode_request(data={"a": "1"}, files={"f": b"x"}, boundary=b"B")
    assert headers["Content-Type"] == "multipart/form-data; boundary=B"
    assert encode_request() == ({}, encode_request()[1])


def test_data_as_bytes_is_deprecated_but_works() -> None:
    with pytest.warns(DeprecationWarning) as record:
        request = rapidhttp.Request("POST", URL, data=b"Hello")  # type: ignore[arg-type]
    assert str(record[0].message) == "Use 'content=<...>' to upload raw bytes/text content."
    assert request.content == b"Hello"
    assert request.headers["Content-Length"] == "5"


@pytest.mark.parametrize("content", [123, 1.5, {"a": "b"}, object()])
def test_wrong_content_types(content: typing.Any) -> None:
    with pytest.raises(TypeError) as exc_info:
        encode_request(content=content)
    assert str(exc_info.value) == f"Unexpected type for 'content', {type(content)!r}"
    with pytest.raises(TypeError):
        encode_response(content=content)


@pytest.mark.parametrize(
    "kwargs, headers",
    [
        ({"content": b"abc"}, {"Content-Length": "3"}),
        ({"text": "abc"}, {"Content-Length": "3", "Content-Type": "text/plain; charset=utf-8"}),
        ({"html": "<a>"}, {"Content-Length": "3", "Content-Type": "text/html; charset=utf-8"}),
        ({"json": [1]}, {"Content-Length": "3", "Content-Type": "application/json"}),
        ({}, {}),
    ],
)
def test_encode_response(kwargs: dict[str, typing.Any], headers: dict[str, str]) -> None:
    assert encode_response(**kwargs)[0] == headers


def test_peek_filelike_length() -> None:
    buffer = io.BytesIO(b"0123456789")
    buffer.seek(3)
    assert peek_filelike_length(buffer) == 10
    assert buffer.tell() == 3  # position restored
    assert peek_filelike_length(iter([b"x"])) is None


@pytest.mark.anyio
async def test_unattached_stream_raises_stream_closed() -> None:
    from rapidhttp._content import UnattachedStream

    stream = UnattachedStream()
    with pytest.raises(rapidhttp.StreamClosed):
        list(stream)
    with pytest.raises(rapidhttp.StreamClosed):
        await aread_all(stream)


def test_pipe_content_is_sent_chunked() -> None:
    import os

    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as reader:
        with os.fdopen(write_fd, "wb") as writer:
            writer.write(b"from a pipe")
        request = rapidhttp.Request("POST", URL, content=reader)
        # fstat says 0 bytes for a pipe: its size is unknown, not zero.
        assert request.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in request.headers
        assert b"".join(request.stream) == b"from a pipe"  # type: ignore[arg-type]
