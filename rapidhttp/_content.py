"""
Request and response bodies: the byte streams, and the encoders that turn `content=`,
`data=`, `files=`, `json=`, `text=` and `html=` into (headers, stream).

The encoders return the headers they imply (Content-Length or Transfer-Encoding, and
Content-Type) as a dict; `Request`/`Response` add those the user did not set.
"""

from __future__ import annotations

import inspect
import os
import stat
import typing
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from json import JSONEncoder
from urllib.parse import urlencode

from ._exceptions import StreamClosed, StreamConsumed
from ._types import (
    AsyncByteStream,
    RequestContent,
    RequestData,
    RequestFiles,
    ResponseContent,
    SyncByteStream,
)
from ._urls import primitive_value_to_str

if typing.TYPE_CHECKING:  # pragma: no cover
    from ._multipart import MultipartStream

__all__ = ["ByteStream"]


class SyncToAsyncIterator:
    """Runs a sync iterator of bytes as an async iterator (for bodies in memory or read
    from regular files, which do not block for long).

    A plain object, not an async generator: an async generator left unexhausted is
    finalized by the event loop later, which trio reports as a ResourceWarning."""

    __slots__ = ("_iterator",)

    def __init__(self, iterator: Iterator[bytes]) -> None:
        self._iterator = iterator

    def __aiter__(self) -> SyncToAsyncIterator:
        return self

    async def __anext__(self) -> bytes:
        try:
            return next(self._iterator)
        except StopIteration:
            raise StopAsyncIteration from None


class ByteStream(AsyncByteStream, SyncByteStream):
    """A body held in memory: replayable, and usable by both sync and async transports."""

    def __init__(self, stream: bytes) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        return iter((self._stream,))

    def __aiter__(self) -> AsyncIterator[bytes]:
        return SyncToAsyncIterator(iter((self._stream,)))

    async def aclose(self) -> None:
        # A body in memory has nothing to await: `close` (a no-op here) is all of its
        # closing, for sync and async code alike, and subclasses that hold something (a pooled
        # connection) release it there. `Response.aread` relies on this to close a
        # `ByteStream` without a coroutine.
        self.close()


# Bodies without content all share one stream; a ByteStream is immutable.
_EMPTY_STREAM = ByteStream(b"")


class IteratorByteStream(SyncByteStream):
    """A body from a sync iterable of bytes or a binary file-like object. A generator can
    be consumed once only: iterating it again raises `StreamConsumed`."""

    CHUNK_SIZE = 65_536

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream
        self._is_stream_consumed = False
        self._is_generator = inspect.isgenerator(stream)

    def __iter__(self) -> Iterator[bytes]:
        if self._is_stream_consumed and self._is_generator:
            raise StreamConsumed()
        self._is_stream_consumed = True
        read = getattr(self._stream, "read", None)
        if read is not None:
            # File-like: read in bounded chunks rather than by lines.
            return _read_chunks(read, self.CHUNK_SIZE)
        return iter(self._stream)

    def close(self) -> None:
        # A body abandoned part-way (a response closed early): finish its generator now.
        if self._is_generator and not self._stream.gi_running:  # type: ignore[attr-defined]
            self._stream.close()  # type: ignore[attr-defined]


def _read_chunks(read: typing.Callable[[int], bytes], size: int) -> Iterator[bytes]:
    chunk = read(size)
    while chunk:
        yield chunk
        chunk = read(size)


class AsyncIteratorByteStream(AsyncByteStream):
    """A body from an async iterable of bytes, or an object with `async def aread(n)`.
    An async generator can be consumed once only."""

    CHUNK_SIZE = 65_536

    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream
        self._is_stream_consumed = False
        self._is_generator = inspect.isasyncgen(stream)

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._is_stream_consumed and self._is_generator:
            raise StreamConsumed()
        self._is_stream_consumed = True
        aread = getattr(self._stream, "aread", None)
        if aread is not None:
            return _AsyncReadChunks(aread, self.CHUNK_SIZE)
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        # A body abandoned part-way (a response closed early): finish its generator now,
        # rather than leave it to the event loop's finalizer (which trio warns about).
        # (Not while another task is suspended inside it: that task will finish it.)
        if self._is_generator and not self._stream.ag_running:  # type: ignore[attr-defined]
            await self._stream.aclose()  # type: ignore[attr-defined]


class _AsyncReadChunks:
    """An async file-like object (`aread(n)`), read in bounded chunks until empty."""

    __slots__ = ("_aread", "_size")

    def __init__(self, aread: typing.Callable[[int], typing.Awaitable[bytes]], size: int) -> None:
        self._aread = aread
        self._size = size

    def __aiter__(self) -> _AsyncReadChunks:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._aread(self._size)
        if not chunk:
            raise StopAsyncIteration
        return chunk


class UnattachedStream(AsyncByteStream, SyncByteStream):
    """The stream of an unpickled request or response: no longer connected to any I/O,
    so reading it raises `StreamClosed`."""

    def __iter__(self) -> Iterator[bytes]:
        raise StreamClosed()

    def __aiter__(self) -> AsyncIterator[bytes]:
        raise StreamClosed()


def peek_filelike_length(stream: typing.Any) -> int | None:
    """The size in bytes of a file-like object, found without reading it, or None."""
    try:
        file_stat = os.fstat(stream.fileno())
    except (AttributeError, OSError):
        pass
    else:
        # A regular file: the OS knows its size. (A pipe or socket reports 0 whatever
        # it will deliver, so it is treated as of unknown size.)
        if stat.S_ISREG(file_stat.st_mode):
            return file_stat.st_size
    try:
        # Random access (io.BytesIO and friends): seek to the end and back.
        offset = stream.tell()
        length: int = stream.seek(0, os.SEEK_END)
        stream.seek(offset)
    except (AttributeError, OSError):
        return None
    return length


def encode_content(
    content: str | bytes | Iterable[bytes] | AsyncIterable[bytes],
) -> tuple[dict[str, str], SyncByteStream | AsyncByteStream]:
    if isinstance(content, (bytes, str)):
        body = content.encode("utf-8") if isinstance(content, str) else content
        headers = {"Content-Length": str(len(body))} if body else {}
        return headers, ByteStream(body)

    # A dict is iterable (over its keys), but passing one here is always a mistake
    # (`data=` was meant), so reject it rather than send the keys.
    if isinstance(content, Iterable) and not isinstance(content, dict):
        length = peek_filelike_length(content)
        if length is None:
            headers = {"Transfer-Encoding": "chunked"}
        else:
            headers = {"Content-Length": str(length)}
        return headers, IteratorByteStream(content)

    if isinstance(content, AsyncIterable):
        return {"Transfer-Encoding": "chunked"}, AsyncIteratorByteStream(content)

    raise TypeError(f"Unexpected type for 'content', {type(content)!r}")


def encode_urlencoded_data(data: RequestData) -> tuple[dict[str, str], ByteStream]:
    plain_data = []
    for key, value in data.items():
        if isinstance(value, (list, tuple)):
            plain_data.extend([(key, primitive_value_to_str(item)) for item in value])
        else:
            plain_data.append((key, primitive_value_to_str(value)))
    body = urlencode(plain_data, doseq=True).encode("utf-8")
    headers = {
        "Content-Length": str(len(body)),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return headers, ByteStream(body)


def encode_multipart_data(
    data: RequestData, files: RequestFiles, boundary: bytes | None
) -> tuple[dict[str, str], MultipartStream]:
    # Imported here: multipart builds on this module, and most requests never need it.
    from ._multipart import MultipartStream

    multipart = MultipartStream(data=data, files=files, boundary=boundary)
    return multipart.get_headers(), multipart


def _encode_text_body(text: str, content_type: str) -> tuple[dict[str, str], ByteStream]:
    body = text.encode("utf-8")
    return {"Content-Length": str(len(body)), "Content-Type": content_type}, ByteStream(body)


def encode_text(text: str) -> tuple[dict[str, str], ByteStream]:
    return _encode_text_body(text, "text/plain; charset=utf-8")


def encode_html(html: str) -> tuple[dict[str, str], ByteStream]:
    return _encode_text_body(html, "text/html; charset=utf-8")


# Compact, UTF-8 and strict (no NaN/Infinity), as httpx 0.28 sends JSON. Built once:
# `json.dumps` with options builds a new encoder on every call.
_json_encode = JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def encode_json(json: typing.Any) -> tuple[dict[str, str], ByteStream]:
    body = _json_encode(json).encode("utf-8")
    headers = {"Content-Length": str(len(body)), "Content-Type": "application/json"}
    return headers, ByteStream(body)


def encode_request(
    content: RequestContent | None = None,
    data: RequestData | None = None,
    files: RequestFiles | None = None,
    json: typing.Any | None = None,
    boundary: bytes | None = None,
) -> tuple[dict[str, str], SyncByteStream | AsyncByteStream]:
    """The (headers, stream) of a request body. Precedence: content, files (+ data),
    data, json."""
    if data is not None and not isinstance(data, Mapping):
        # requests-style `data=<bytes|str|iterator>`: still accepted, as raw content.
        message = "Use 'content=<...>' to upload raw bytes/text content."
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        return encode_content(data)

    if content is not None:
        return encode_content(content)
    elif files:
        return encode_multipart_data(data or {}, files, boundary)
    elif data:
        return encode_urlencoded_data(data)
    elif json is not None:
        return encode_json(json)
    return {}, _EMPTY_STREAM


def encode_response(
    content: ResponseContent | None = None,
    text: str | None = None,
    html: str | None = None,
    json: typing.Any | None = None,
) -> tuple[dict[str, str], SyncByteStream | AsyncByteStream]:
    """The (headers, stream) of a response body. Precedence: content, text, html, json."""
    if content is not None:
        return encode_content(content)
    elif text is not None:
        return encode_text(text)
    elif html is not None:
        return encode_html(html)
    elif json is not None:
        return encode_json(json)
    return {}, _EMPTY_STREAM
