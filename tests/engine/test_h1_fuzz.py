"""
Differential fuzzing of the two HTTP/1.1 response parsers: the same random responses (valid,
subtly broken, and mutated), cut at random points (independently for each parser), must give
the same events, the same keep-alive verdict, or an error from both.
"""

from __future__ import annotations

import os
import typing

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapidhttp._engine.h1 import NEED_DATA, Data, H1Connection, Upgrade
from rapidhttp._exceptions import RemoteProtocolError

# RAPIDHTTP_FUZZ_EXAMPLES=20000 for a deep run; the default keeps the suite fast.
FUZZ = settings(
    max_examples=int(os.environ.get("RAPIDHTTP_FUZZ_EXAMPLES", "300")),
    deadline=1000,  # ms per example: a hang or quadratic blow-up fails instead of stalling
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TOKEN = st.text("abcdefxyzABCXYZ-0123456789_.!#$%&'*+^`|~", min_size=1, max_size=12)
VALUE_BYTES = st.binary(max_size=20).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
SAFE_VALUE = st.text("abc XYZ\t012;=,./:-", max_size=20).map(lambda t: t.encode())


@st.composite
def header_lines(draw: st.DrawFn) -> tuple[list[bytes], str]:
    """Header lines and the body framing they announce."""
    lines: list[bytes] = []
    framing = draw(st.sampled_from(["length", "chunked", "close", "te-other", "none"]))
    if framing == "length":
        length = draw(st.sampled_from([b"0", b"3", b"10", b" 5 ", b"007", b"-1", b"1a", b""]))
        lines.append(b"Content-Length:" + draw(st.sampled_from([b"", b" "])) + length)
    elif framing == "chunked":
        name = draw(
            st.sampled_from([b"Transfer-Encoding", b"transfer-encoding", b"TRANSFER-ENCODING"])
        )
        value = draw(st.sampled_from([b"chunked", b"gzip, chunked", b"Chunked", b"chunked, gzip"]))
        lines.append(name + b": " + value)
    elif framing == "te-other":
        lines.append(b"Transfer-Encoding: " + draw(st.sampled_from([b"gzip", b"identity"])))
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            value = draw(
                st.sampled_from([b"close", b"keep-alive", b"Upgrade", b"keep-alive, close"])
            )
            lines.append(b"Connection: " + value)
        elif kind == 1:
            lines.append(b"Upgrade: websocket")
        elif kind == 2 and draw(st.booleans()):
            lines.append(b"Content-Length: " + draw(st.sampled_from([b"0", b"4"])))
        elif kind == 3:
            lines.append(draw(TOKEN).encode() + b":" + draw(VALUE_BYTES))
        elif kind == 4 and lines and lines[-1][:1] not in (b" ", b"\t"):
            lines.append(
                draw(st.sampled_from([b" ", b"\t", b"  "])) + draw(SAFE_VALUE)
            )  # obs-fold
        else:
            lines.append(draw(TOKEN).encode() + b": " + draw(SAFE_VALUE))
    draw(st.randoms()).shuffle(lines) if draw(st.booleans()) else None
    return lines, framing


@st.composite
def chunked_body(draw: st.DrawFn) -> bytes:
    out = b""
    for _ in range(draw(st.integers(0, 3))):
        data = draw(st.binary(min_size=1, max_size=20))
        size = draw(st.sampled_from([b"", b"0", b"00"])) + b"%x" % len(data)
        if draw(st.booleans()):
            size = size.upper()
        ext = draw(st.sampled_from([b"", b";a", b";a=b", b';q="x y"', b" "]))
        out += size + ext + b"\r\n" + data + b"\r\n"
    out += b"0" + draw(st.sampled_from([b"", b";end"])) + b"\r\n"
    for _ in range(draw(st.integers(0, 2))):
        value = draw(st.one_of(SAFE_VALUE, VALUE_BYTES))
        out += draw(TOKEN).encode() + b":" + draw(st.sampled_from([b" ", b"", b"\t"])) + value
        out += draw(st.sampled_from([b"\r\n", b"\r\n", b" \r\n", b"\n"]))
    return out + draw(st.sampled_from([b"\r\n", b"\r\n", b"\n"]))


@st.composite
def response(draw: st.DrawFn) -> bytes:
    version = draw(st.sampled_from([b"HTTP/1.1"] * 6 + [b"HTTP/1.0"] * 2 + [b"HTTP/2.0"]))
    status = draw(
        st.sampled_from([b"200", b"200", b"404", b"204", b"304", b"101", b"999", b"099"])
    )
    reason = draw(st.sampled_from([b" OK", b"", b" ", b" Not Found", b" caf\xe9"]))
    lines, framing = draw(header_lines())
    newline = draw(st.sampled_from([b"\r\n"] * 4 + [b"\n"]))
    head = newline.join([version + b" " + status + reason, *lines]) + newline + newline
    if framing == "chunked":
        body = draw(chunked_body())
    else:
        body = draw(st.binary(max_size=24))
    return head + body


@st.composite
def stream(draw: st.DrawFn) -> bytes:
    data = b""
    if draw(st.integers(0, 4)) == 0:
        data += b"HTTP/1.1 100 Continue\r\n" + draw(st.sampled_from([b"", b"X: y\r\n"])) + b"\r\n"
    data += draw(response())
    mutation = draw(st.integers(0, 5))
    if mutation == 0 and data:  # change one byte
        index = draw(st.integers(0, len(data) - 1))
        data = data[:index] + bytes([draw(st.integers(0, 255))]) + data[index + 1 :]
    elif mutation == 1:  # cut short
        data = data[: draw(st.integers(0, len(data)))]
    elif mutation == 2:  # something after it
        data += draw(st.sampled_from([b"HTTP/1.1 200 OK\r\n\r\n", b"\r\n", b"x"]))
    return data


def run(parser: str, method: bytes, data: bytes, cuts: list[int]) -> tuple[typing.Any, ...]:
    """Feed `data` cut at `cuts`, then EOF; the merged events and the verdict."""
    conn = H1Connection(parser=parser)
    conn.send_head(method, b"/", [(b"Host", b"a")])
    conn.send_end()
    events: list[typing.Any] = []
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    try:
        for index, piece in enumerate(pieces):
            conn.receive_data(piece)
            while (event := conn.next_event()) is not NEED_DATA:
                events.append(event)
            if events and type(events[-1]) is Upgrade:
                # The driver hands the rest of the stream to the new protocol.
                events.append(Upgrade(b"".join(pieces[index + 1 :])))
                return ("upgraded", merge(events))
        keep_alive_before_eof = conn.keep_alive
        conn.receive_eof()
        while (event := conn.next_event()) is not NEED_DATA:
            events.append(event)
    except RemoteProtocolError:
        return ("error",)
    return ("ok", merge(events), keep_alive_before_eof)


def merge(events: list[typing.Any]) -> list[typing.Any]:
    """Consecutive Data (or Upgrade) events joined: how a body is cut is not behaviour."""
    merged: list[typing.Any] = []
    for event in events:
        if type(event) in (Data, Upgrade) and merged and type(merged[-1]) is type(event):
            merged[-1] = type(event)(merged[-1].data + event.data)
        else:
            merged.append(event)
    return merged


@FUZZ
@given(
    data=stream(),
    method=st.sampled_from([b"GET", b"GET", b"HEAD"]),
    cuts_a=st.lists(st.integers(0, 400), max_size=6),
    cuts_b=st.lists(st.integers(0, 400), max_size=6),
)
def test_parsers_agree(data: bytes, method: bytes, cuts_a: list[int], cuts_b: list[int]) -> None:
    cuts_a = sorted({cut for cut in cuts_a if cut < len(data)})
    cuts_b = sorted({cut for cut in cuts_b if cut < len(data)})
    fast = run("httptools", method, data, cuts_a)
    oracle = run("python", method, data, cuts_b)
    assert fast == oracle, (data, method)


@FUZZ
@given(data=st.binary(max_size=200), cut=st.integers(0, 200))
def test_parsers_agree_on_random_bytes(data: bytes, cut: int) -> None:
    data = b"HTTP/1.1 200 OK\r\n" + data
    cuts = [cut] if cut < len(data) else []
    assert run("httptools", b"GET", data, cuts) == run("python", b"GET", data, [])
