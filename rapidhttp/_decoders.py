"""
Content decoders (Content-Encoding), and the text, line and re-chunking helpers behind
`Response.iter_*`.

Every decoder is incremental: `decode(chunk)` returns whatever output the chunk completes and
`flush()` returns the rest at the end of the body. Malformed input raises `DecodingError`
without a request; `Response` attaches its request on the way out.

See https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Encoding
"""

from __future__ import annotations

import codecs
import importlib.util
import typing
import zlib

from ._exceptions import DecodingError

try:  # The C extension is 2x cheaper per response than the CFFI one; prefer it.
    import brotli
except ImportError:  # pragma: no cover
    try:  # PyPy and other platforms without the C extension.
        import brotlicffi as brotli
    except ImportError:
        brotli = None

# zstandard costs ~3 ms of CPU to import: it is only looked for here (`find_spec` imports
# nothing) and imported by the first `ZStandardDecoder` that builds a decompressor.
_ZSTANDARD_INSTALLED = importlib.util.find_spec("zstandard") is not None
zstandard: typing.Any = None  # the module, once `_import_zstandard` has run

__all__ = [
    "ACCEPT_ENCODING",
    "SUPPORTED_DECODERS",
    "BrotliDecoder",
    "ByteChunker",
    "ContentDecoder",
    "DeflateDecoder",
    "GZipDecoder",
    "IdentityDecoder",
    "LineDecoder",
    "MultiDecoder",
    "TextChunker",
    "TextDecoder",
    "ZStandardDecoder",
]


class ContentDecoder:
    def decode(self, data: bytes) -> bytes:
        raise NotImplementedError()  # pragma: no cover

    def flush(self) -> bytes:
        raise NotImplementedError()  # pragma: no cover


class IdentityDecoder(ContentDecoder):
    """Unencoded data: passed through as is."""

    def decode(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class DeflateDecoder(ContentDecoder):
    """'deflate': servers send either a zlib stream (as RFC 9110 says) or a raw deflate
    stream (as some old servers do). Try zlib first and fall back to raw deflate when the
    very first chunk does not parse as zlib."""

    def __init__(self) -> None:
        self._first_attempt = True
        self._decompressor = zlib.decompressobj()

    def decode(self, data: bytes) -> bytes:
        first_attempt = self._first_attempt
        self._first_attempt = False
        try:
            return self._decompressor.decompress(data)
        except zlib.error as exc:
            if first_attempt:
                self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(data)
            raise DecodingError(str(exc)) from exc

    def flush(self) -> bytes:
        try:
            return self._decompressor.flush()
        except zlib.error as exc:  # pragma: no cover - zlib's flush does not validate
            raise DecodingError(str(exc)) from exc


class GZipDecoder(ContentDecoder):
    """'gzip', including bodies made of several concatenated gzip members (valid gzip
    that some servers produce when they compress in pieces). Bytes after the last member
    that are not gzip are ignored, as gzip(1) and browsers do."""

    def __init__(self) -> None:
        self._decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._after_first_member = False
        self._trailing_garbage = False

    def decode(self, data: bytes) -> bytes:
        output = b""
        while data and not self._trailing_garbage:
            try:
                output += self._decompressor.decompress(data)
            except zlib.error as exc:
                if self._after_first_member:
                    self._trailing_garbage = True
                    break
                raise DecodingError(str(exc)) from exc
            data = b""
            # Rare: a member ended and more bytes follow it (a loop, not recursion: a body
            # may hold any number of members).
            if self._decompressor.eof and self._decompressor.unused_data:
                data = self._decompressor.unused_data
                self._decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
                self._after_first_member = True
        return output

    def flush(self) -> bytes:
        if self._trailing_garbage:
            return b""
        try:
            return self._decompressor.flush()
        except zlib.error as exc:  # pragma: no cover - zlib's flush does not validate
            raise DecodingError(str(exc)) from exc


class BrotliDecoder(ContentDecoder):
    """'br', with the `brotli` package (CPython) or `brotlicffi` (PyPy)."""

    def __init__(self) -> None:
        if brotli is None:  # pragma: no cover
            raise ImportError(
                "Using 'BrotliDecoder', but neither of the 'brotlicffi' or 'brotli' "
                "packages have been installed. "
                "Make sure to install rapidhttp using `pip install rapidhttp[brotli]`."
            ) from None
        self._decompressor = brotli.Decompressor()
        self._seen_data = False
        # `brotli` calls it `process`, `brotlicffi` calls it `decompress`.
        self._decompress: typing.Callable[[bytes], bytes] = (
            getattr(self._decompressor, "process", None) or self._decompressor.decompress
        )

    def decode(self, data: bytes) -> bytes:
        if not data:
            return b""
        self._seen_data = True
        try:
            return self._decompress(data)
        except brotli.error as exc:
            raise DecodingError(str(exc)) from exc

    def flush(self) -> bytes:
        if not self._seen_data:
            return b""
        finish = getattr(self._decompressor, "finish", None)
        if finish is not None:  # pragma: no cover - brotlicffi only
            # brotlicffi decompresses eagerly, so `finish` yields nothing, but it does
            # report a truncated or damaged stream.
            try:
                finish()
            except brotli.error as exc:
                raise DecodingError(str(exc)) from exc
        return b""


# A `ZstdDecompressor` costs ~15 us to build, more than a whole small request, while a
# decompression object made from an existing one costs ~1 us. Two live decompression objects
# of one `ZstdDecompressor` corrupt each other, so each decoder takes one for itself from
# this pool and puts it back only after a clean end of stream; one abandoned mid-stream is
# simply dropped. `list.pop`/`list.append` are atomic, so threads can share the pool.
_ZSTD_POOL: list[typing.Any] = []
_ZSTD_POOL_MAX = 16


def _import_zstandard() -> typing.Any:
    global zstandard
    if zstandard is None:
        import zstandard as module

        zstandard = module
    return zstandard


class ZStandardDecoder(ContentDecoder):
    """'zstd' (RFC 8878), with the `zstandard` package; several frames in one body are
    decoded one after the other (skippable frames yield nothing)."""

    def __init__(self) -> None:
        if not _ZSTANDARD_INSTALLED:  # pragma: no cover
            raise ImportError(
                "Using 'ZStandardDecoder', but the 'zstandard' package has not been "
                "installed. Make sure to install rapidhttp using `pip install rapidhttp[zstd]`."
            ) from None
        try:
            self._context = _ZSTD_POOL.pop()
        except IndexError:  # every context in the pool was built after the import below
            self._context = _import_zstandard().ZstdDecompressor()
        self._decompressor = self._context.decompressobj()
        self._seen_data = False

    def decode(self, data: bytes) -> bytes:
        if not data:
            return b""
        self._seen_data = True
        try:
            if self._decompressor.eof:
                # The previous frame ended exactly at the end of the previous chunk.
                self._decompressor = self._context.decompressobj()
            output = self._decompressor.decompress(data)
            while self._decompressor.eof and self._decompressor.unused_data:
                rest = self._decompressor.unused_data
                self._decompressor = self._context.decompressobj()
                output += self._decompressor.decompress(rest)
        except zstandard.ZstdError as exc:
            raise DecodingError(str(exc)) from exc
        return output

    def flush(self) -> bytes:
        if self._seen_data and not self._decompressor.eof:
            raise DecodingError("Zstandard data is incomplete")
        # Hand the context back once only: two owners would interleave on it.
        context, self._context = self._context, None
        if context is not None and len(_ZSTD_POOL) < _ZSTD_POOL_MAX:
            _ZSTD_POOL.append(context)
        return b""


class MultiDecoder(ContentDecoder):
    """Several encodings applied in turn (`Content-Encoding: gzip, br`)."""

    def __init__(self, children: typing.Sequence[ContentDecoder]) -> None:
        # `children` are in the order the encodings were applied; decode in reverse.
        self.children = list(reversed(children))

    def decode(self, data: bytes) -> bytes:
        for child in self.children:
            data = child.decode(data)
        return data

    def flush(self) -> bytes:
        data = b""
        for child in self.children:
            data = child.decode(data) + child.flush()
        return data


SUPPORTED_DECODERS: dict[str, type[ContentDecoder]] = {
    "identity": IdentityDecoder,
    "gzip": GZipDecoder,
    "deflate": DeflateDecoder,
    "br": BrotliDecoder,
    "zstd": ZStandardDecoder,
}
if brotli is None:  # pragma: no cover
    del SUPPORTED_DECODERS["br"]
if not _ZSTANDARD_INSTALLED:  # pragma: no cover
    del SUPPORTED_DECODERS["zstd"]

#: The default `Accept-Encoding` request header: every installed coding except identity,
#: e.g. "gzip, deflate, br, zstd" with both optional packages present.
ACCEPT_ENCODING = ", ".join(name for name in SUPPORTED_DECODERS if name != "identity")


_IDENTITY = IdentityDecoder()  # Stateless: one for every unencoded response.


def content_decoder(content_encoding: list[str]) -> ContentDecoder:
    """The decoder for a response's Content-Encoding values (already comma-split).
    Unknown codings are ignored, as httpx does: the body is passed on as it came."""
    if not content_encoding:
        return _IDENTITY
    decoders = []
    for value in content_encoding:
        decoder_cls = SUPPORTED_DECODERS.get(value.strip().lower())
        if decoder_cls is not None:
            decoders.append(decoder_cls())
    if not decoders:
        return _IDENTITY
    if len(decoders) == 1:
        return decoders[0]
    return MultiDecoder(children=decoders)


_Piece = typing.TypeVar("_Piece", bytes, str)


class _Chunker(typing.Generic[_Piece]):
    """Re-chunks a stream into pieces of exactly `chunk_size` items (the last one may be
    shorter); with `chunk_size=None` passes non-empty chunks through as they come. One logic
    for bytes and text: subclasses only name the empty value."""

    _empty: _Piece

    def __init__(self, chunk_size: int | None = None) -> None:
        self._chunk_size = chunk_size
        self._buffer: _Piece = self._empty

    def decode(self, content: _Piece) -> list[_Piece]:
        size = self._chunk_size
        if size is None:
            return [content] if content else []
        if self._buffer:
            content = self._buffer + content
        end = len(content) - len(content) % size
        self._buffer = content[end:]
        return [content[i : i + size] for i in range(0, end, size)]

    def flush(self) -> list[_Piece]:
        value, self._buffer = self._buffer, self._empty
        return [value] if value else []


class ByteChunker(_Chunker[bytes]):
    """Pieces of exactly `chunk_size` bytes, copying each byte once at most.

    Network reads rarely line up with `chunk_size`, and the simple way (join the leftover to
    each new piece, then slice) copies every byte twice: on a download that is two extra passes
    over the whole body. Here leftovers are kept as views and each output piece is assembled
    by one join; a piece that is already the right size is passed on without any copy.
    """

    _empty = b""

    def __init__(self, chunk_size: int | None = None) -> None:
        super().__init__(chunk_size)
        self._pending: list[bytes | memoryview] = []  # the leftover, as views of the inputs
        self._pending_size = 0

    def decode(self, content: bytes) -> list[bytes]:
        size = self._chunk_size
        if size is None:
            return [content] if content else []
        pending = self._pending
        total = self._pending_size + len(content)
        if total < size:
            if content:
                pending.append(content)
                self._pending_size = total
            return []
        if not pending and len(content) == size:
            return [content]  # lined up: no copy
        view = memoryview(content)
        start = 0
        output = []
        if pending:
            start = size - self._pending_size
            pending.append(view[:start])
            output.append(b"".join(pending))
            pending.clear()
        end = len(content)
        while end - start >= size:
            output.append(content[start : start + size])
            start += size
        if start < end:
            pending.append(view[start:])
        self._pending_size = end - start
        return output

    def flush(self) -> list[bytes]:
        value = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        return [value] if value else []


class TextChunker(_Chunker[str]):
    """Pieces of exactly `chunk_size` characters."""

    _empty = ""


class TextDecoder:
    """Incremental bytes -> text: a multi-byte character split across chunks is kept until
    it is complete; undecodable bytes become U+FFFD."""

    def __init__(self, encoding: str = "utf-8") -> None:
        self.decoder = codecs.getincrementaldecoder(encoding)(errors="replace")

    def decode(self, data: bytes) -> str:
        return self.decoder.decode(data)

    def flush(self) -> str:
        return self.decoder.decode(b"", True)


# The line boundaries of `str.splitlines`.
_NEWLINE_CHARS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


class LineDecoder:
    """Incremental `str.splitlines()`: lines without their endings, where "\\r\\n" split
    across two chunks still counts as one line ending."""

    def __init__(self) -> None:
        self._buffer: list[str] = []
        self._trailing_cr = False

    def decode(self, text: str) -> list[str]:
        # A chunk ending in "\r" may be followed by "\n" in the next one: hold the "\r" back.
        if self._trailing_cr:
            text = "\r" + text
            self._trailing_cr = False
        if text.endswith("\r"):
            self._trailing_cr = True
            text = text[:-1]
        if not text:
            return []

        lines = text.splitlines()
        ends_with_newline = text[-1] in _NEWLINE_CHARS
        # The last piece is incomplete unless the text ended on a line boundary.
        tail = None if ends_with_newline else lines.pop()
        if lines and self._buffer:
            self._buffer.append(lines[0])
            lines[0] = "".join(self._buffer)
            self._buffer = []
        if tail is not None:
            self._buffer.append(tail)
        return lines

    def flush(self) -> list[str]:
        if not self._buffer and not self._trailing_cr:
            return []
        line = "".join(self._buffer)
        self._buffer = []
        self._trailing_cr = False
        return [line]
