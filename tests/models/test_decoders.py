"""Content decoders, chunkers, text and line decoders (rapidhttp._decoders)."""

from __future__ import annotations

import gzip
import threading
import typing
import zlib

import brotli
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

import rapidhttp
from rapidhttp import _decoders
from rapidhttp._decoders import (
    ACCEPT_ENCODING,
    SUPPORTED_DECODERS,
    ByteChunker,
    LineDecoder,
    TextChunker,
    TextDecoder,
    ZStandardDecoder,
)

BODY = b"The quick brown fox jumps over the lazy dog. " * 50
REQUEST = rapidhttp.Request("GET", "https://example.org")


def deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def response(encoding: str, body: bytes | typing.Iterable[bytes]) -> rapidhttp.Response:
    return rapidhttp.Response(200, headers={"Content-Encoding": encoding}, content=body)


def pieces(data: bytes, size: int = 7) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


ENCODERS: dict[str, typing.Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstandard.compress,
    "identity": lambda data: data,
}


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_decode_whole_and_in_pieces(encoding: str) -> None:
    encoded = ENCODERS[encoding](BODY)
    assert response(encoding, encoded).content == BODY
    # The same body arriving a few bytes at a time.
    assert response(encoding, iter(pieces(encoded))).read() == BODY


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_empty_body(encoding: str) -> None:
    assert response(encoding, b"").content == b""


def test_raw_deflate_fallback() -> None:
    assert response("deflate", deflate_raw(BODY)).content == BODY
    assert response("deflate", iter(pieces(deflate_raw(BODY)))).read() == BODY


def test_gzip_several_members() -> None:
    body = gzip.compress(b"first ") + gzip.compress(b"second")
    assert response("gzip", body).content == b"first second"
    assert response("gzip", iter(pieces(body, 5))).read() == b"first second"
    # Junk after a complete member is ignored, as gzip(1) does.
    assert response("gzip", gzip.compress(b"data") + b"\x00junk").content == b"data"


def test_zstd_several_frames_and_skippable_frames() -> None:
    skippable = bytes.fromhex("50 2A 4D 18 07 00 00 00 00 00 00 00 00 00 00")
    body = zstandard.compress(b"foo") + skippable + zstandard.compress(b"bar")
    assert response("zstd", body).content == b"foobar"
    assert response("zstd", iter(pieces(body, 3))).read() == b"foobar"


def test_stacked_encodings() -> None:
    body = gzip.compress(deflate_raw(BODY))
    assert response("deflate, gzip", body).content == BODY
    body = brotli.compress(gzip.compress(BODY))
    assert response("gzip, br", body).content == BODY
    assert response("br, identity", brotli.compress(BODY)).content == BODY
    assert response("IDENTITY ,  BR", brotli.compress(BODY)).content == BODY


def test_unknown_encoding_is_passed_through() -> None:
    assert response("compress", b"as is").content == b"as is"
    assert response("gzip, x-unknown", gzip.compress(b"data")).content == b"data"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_corrupt_data_raises_decoding_error(encoding: str) -> None:
    with pytest.raises(rapidhttp.DecodingError) as exc_info:
        response(encoding, b"this is not compressed data at all")
    with pytest.raises(RuntimeError):
        exc_info.value.request  # noqa: B018  (no request: none was set on the response)

    with pytest.raises(rapidhttp.DecodingError) as exc_info:
        rapidhttp.Response(
            200,
            headers={"Content-Encoding": encoding},
            content=b"this is not compressed data at all",
            request=REQUEST,
        )
    assert exc_info.value.request is REQUEST


def test_corrupt_data_mid_stream() -> None:
    body = gzip.compress(BODY)
    broken = body[:20] + b"\xff" * 40 + body[60:]
    with pytest.raises(rapidhttp.DecodingError):
        response("gzip", iter(pieces(broken))).read()


def test_truncated_zstd_raises() -> None:
    with pytest.raises(rapidhttp.DecodingError, match="incomplete"):
        response("zstd", zstandard.compress(BODY)[:-8])


@pytest.mark.anyio
async def test_async_decoding() -> None:
    async def body() -> typing.AsyncIterator[bytes]:
        for piece in pieces(gzip.compress(BODY)):
            yield piece

    r = rapidhttp.Response(200, headers={"Content-Encoding": "gzip"}, content=body())
    assert await r.aread() == BODY


@pytest.mark.anyio
async def test_async_decoding_error_has_request() -> None:
    async def body() -> typing.AsyncGenerator[bytes, None]:
        yield b"garbage garbage garbage"

    stream = body()
    r = rapidhttp.Response(
        200, headers={"Content-Encoding": "br"}, content=stream, request=REQUEST
    )
    with pytest.raises(rapidhttp.DecodingError) as exc_info:
        await r.aread()
    assert exc_info.value.request is REQUEST
    # Left unexhausted, the generator would be finalised whenever the GC finds it; trio warns
    # (ResourceWarning, an error here) when that happens while its loop still runs.
    await stream.aclose()


def test_iter_raw_is_not_decoded() -> None:
    encoded = gzip.compress(BODY)
    assert b"".join(response("gzip", iter([encoded])).iter_raw()) == encoded


def test_supported_decoders_and_accept_encoding() -> None:
    assert list(SUPPORTED_DECODERS) == ["identity", "gzip", "deflate", "br", "zstd"]
    assert ACCEPT_ENCODING == "gzip, deflate, br, zstd"


def test_zstd_contexts_are_reused_but_never_shared() -> None:
    _decoders._ZSTD_POOL.clear()
    first = ZStandardDecoder()
    second = ZStandardDecoder()  # alive at the same time: its own context
    assert first._context is not second._context
    frame_a, frame_b = zstandard.compress(b"a" * 1000), zstandard.compress(b"b" * 1000)
    # Interleaved decoding stays correct.
    out_a = first.decode(frame_a[:10])
    out_b = second.decode(frame_b[:10])
    out_a += first.decode(frame_a[10:])
    out_b += second.decode(frame_b[10:])
    assert (out_a, out_b) == (b"a" * 1000, b"b" * 1000)
    context = first._context
    first.flush()
    first.flush()  # a second flush must not hand the context back twice
    assert _decoders._ZSTD_POOL == [context]
    assert ZStandardDecoder()._context is context  # reused
    assert _decoders._ZSTD_POOL == []


def test_zstd_context_of_failed_stream_is_not_reused() -> None:
    _decoders._ZSTD_POOL.clear()
    decoder = ZStandardDecoder()
    with pytest.raises(rapidhttp.DecodingError):
        decoder.decode(b"not zstd data")
    assert _decoders._ZSTD_POOL == []


def test_zstd_from_several_threads() -> None:
    frames = {i: zstandard.compress(bytes([65 + i]) * 5000) for i in range(4)}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(50):
                r = response("zstd", iter(pieces(frames[i], 500)))
                assert r.read() == bytes([65 + i]) * 5000
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors


def test_byte_chunker() -> None:
    chunker = ByteChunker(chunk_size=4)
    assert chunker.decode(b"ab") == []
    assert chunker.decode(b"cdefghij") == [b"abcd", b"efgh"]
    assert chunker.decode(b"kl") == [b"ijkl"]
    assert chunker.flush() == []
    assert chunker.decode(b"xyz") == []
    assert chunker.flush() == [b"xyz"]
    passthrough = ByteChunker()
    assert passthrough.decode(b"") == [] and passthrough.decode(b"a") == [b"a"]


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=300),
    cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=12),
    size=st.one_of(st.none(), st.integers(min_value=1, max_value=64)),
)
def test_byte_chunker_any_split(data: bytes, cuts: list[int], size: int | None) -> None:
    """However the input is split, the output is the same bytes in pieces of exactly `size`
    (the last one shorter), all of them `bytes`."""
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    chunker = ByteChunker(chunk_size=size)
    output: list[bytes] = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        output += chunker.decode(data[start:end])
    output += chunker.flush()
    assert b"".join(output) == data
    assert all(type(piece) is bytes and piece for piece in output)
    if size is not None:
        assert all(len(piece) == size for piece in output[:-1])
        assert not output or len(output[-1]) <= size


def test_byte_chunker_passes_aligned_pieces_without_copy() -> None:
    chunker = ByteChunker(chunk_size=4)
    piece = b"abcd"
    assert chunker.decode(piece)[0] is piece


def test_text_chunker() -> None:
    chunker = TextChunker(chunk_size=3)
    assert chunker.decode("☃☃") == []
    assert chunker.decode("☃☃☃☃") == ["☃☃☃", "☃☃☃"]
    assert chunker.flush() == []


def test_text_decoder_keeps_split_characters() -> None:
    decoder = TextDecoder("utf-8")
    snowman = "☃".encode()
    assert decoder.decode(snowman[:1]) == ""
    assert decoder.decode(snowman[1:2]) == ""
    assert decoder.decode(snowman[2:] + b"!") == "☃!"
    assert decoder.decode(b"\xe2") == ""
    assert decoder.flush() == "\ufffd"  # incomplete at the end: replaced
    with pytest.raises(LookupError):
        TextDecoder("no-such-codec")


@pytest.mark.parametrize(
    "chunks, expected",
    [
        (["a\nb\n"], ["a", "b"]),
        (["a", "b\n", "c"], ["ab", "c"]),
        (["a\r", "\n", "b"], ["a", "b"]),
        (["a\r", "b"], ["a", "b"]),
        (["\r\n\r\n"], ["", ""]),
        (["x\x0by\u2028z"], ["x", "y", "z"]),  # every str.splitlines boundary
        (["\r"], [""]),
        ([], []),
    ],
)
def test_line_decoder(chunks: list[str], expected: list[str]) -> None:
    decoder = LineDecoder()
    lines = [line for chunk in chunks for line in decoder.decode(chunk)]
    assert lines + decoder.flush() == expected


def test_gzip_with_thousands_of_members() -> None:
    member = gzip.compress(b"x")
    body = member * 5000  # all in one chunk: must not recurse per member
    assert response("gzip", body).content == b"x" * 5000
