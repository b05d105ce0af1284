"""
The sans-I/O HTTP/1.1 protocol (`rapidhttp._engine.h1`): request serialisation and response
parsing. Every receive-side test runs against both parsers (httptools and pure Python).
"""

from __future__ import annotations

import socket
import sys
import typing

import pytest

from rapidhttp._engine.h1 import (
    NEED_DATA,
    Data,
    EndOfMessage,
    H1Connection,
    NeedData,
    Response,
    Upgrade,
)
from rapidhttp._exceptions import LocalProtocolError, RemoteProtocolError

Event = Response | Data | EndOfMessage | Upgrade


@pytest.fixture(params=["httptools", "python"])
def parser(request: pytest.FixtureRequest) -> str:
    return typing.cast(str, request.param)


def connection(parser: str, method: bytes = b"GET", **kwargs: typing.Any) -> H1Connection:
    """A connection whose request was sent, ready to receive the response."""
    conn = H1Connection(parser=parser, **kwargs)
    conn.send_head(method, b"/", [(b"Host", b"example.org")])
    conn.send_end()
    return conn


def drain(conn: H1Connection) -> list[Event]:
    events = []
    while not isinstance(event := conn.next_event(), NeedData):
        events.append(event)
    return events


def merged(events: list[Event]) -> list[Event]:
    """Consecutive Data events joined: how many pieces a body arrives in is not behaviour."""
    out: list[Event] = []
    for event in events:
        if type(event) is Data and out and type(out[-1]) is Data:
            out[-1] = Data(out[-1].data + event.data)  # type: ignore[union-attr]
        else:
            out.append(event)
    return out


def receive(conn: H1Connection, data: bytes, *, split: int | None = None) -> list[Event]:
    """Feed `data` in one piece, or in pieces of `split` bytes, and return the merged events."""
    step = split or len(data) or 1
    events: list[Event] = []
    for start in range(0, len(data), step):
        conn.receive_data(data[start : start + step])
        events += drain(conn)
    return merged(events)


SIMPLE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
SIMPLE_EVENTS = [
    Response(
        200, b"OK", [(b"Content-Type", b"text/plain"), (b"Content-Length", b"5")], b"HTTP/1.1"
    ),
    Data(b"hello"),
    EndOfMessage([]),
]


# --------------------------------------------------------------------------- sending


def test_send_head_without_body() -> None:
    conn = H1Connection()
    head = conn.send_head(b"GET", b"/path?q=1", [(b"Host", b"example.org"), (b"Accept", b"*/*")])
    assert head == b"GET /path?q=1 HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\n\r\n"
    assert conn.send_end() == b""


def test_send_head_without_headers() -> None:
    conn = H1Connection()
    assert conn.send_head(b"GET", b"/", []) == b"GET / HTTP/1.1\r\n\r\n"


def test_send_head_with_content_length_body_is_one_buffer() -> None:
    conn = H1Connection()
    headers = [(b"Host", b"a"), (b"content-LENGTH", b"5")]
    data = conn.send_head(b"POST", b"/", headers, b"hello")
    assert data == b"POST / HTTP/1.1\r\nHost: a\r\ncontent-LENGTH: 5\r\n\r\nhello"
    assert conn.send_end() == b""


def test_send_content_length_body_in_pieces() -> None:
    conn = H1Connection()
    conn.send_head(b"PUT", b"/", [(b"Content-Length", b"6")])
    assert conn.send_body(b"abc") == b"abc"
    assert conn.send_body(b"") == b""
    assert conn.send_body(b"def") == b"def"
    assert conn.send_end() == b""


def test_send_too_much_body() -> None:
    conn = H1Connection()
    conn.send_head(b"PUT", b"/", [(b"Content-Length", b"2")])
    with pytest.raises(LocalProtocolError, match="Too much data for declared Content-Length"):
        conn.send_body(b"abc")


def test_send_too_little_body() -> None:
    conn = H1Connection()
    conn.send_head(b"PUT", b"/", [(b"Content-Length", b"4")], b"abc")
    with pytest.raises(LocalProtocolError, match="Too little data for declared Content-Length"):
        conn.send_end()


def test_send_body_without_framing_headers() -> None:
    conn = H1Connection()
    with pytest.raises(LocalProtocolError, match="Too much data"):
        conn.send_head(b"POST", b"/", [(b"Host", b"a")], b"x")


def test_send_invalid_content_length() -> None:
    conn = H1Connection()
    with pytest.raises(LocalProtocolError, match="Invalid Content-Length"):
        conn.send_head(b"POST", b"/", [(b"Content-Length", b"-1")])
    with pytest.raises(LocalProtocolError, match="Invalid Content-Length"):
        H1Connection().send_head(b"POST", b"/", [(b"Content-Length", b"abc")])


def test_send_chunked_body() -> None:
    conn = H1Connection()
    headers = [(b"Host", b"a"), (b"Transfer-Encoding", b"chunked")]
    data = conn.send_head(b"POST", b"/", headers, b"hello")
    assert (
        data == b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    )
    assert conn.send_body(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
    assert conn.send_body(b"") == b""  # an empty chunk would end the body early
    assert conn.send_end() == b"0\r\n\r\n"


def test_send_chunked_without_body() -> None:
    conn = H1Connection()
    conn.send_head(b"POST", b"/", [(b"transfer-encoding", b"chunked")])
    assert conn.send_end() == b"0\r\n\r\n"


@pytest.mark.parametrize(
    ("headers", "body", "expected_tail"),
    [
        ([(b"Host", b"a")], b"", b"\r\n\r\n"),
        ([(b"Content-Length", b"5")], b"hello", b"\r\n\r\nhello"),
        ([(b"Transfer-Encoding", b"chunked")], b"hello", b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ([(b"Transfer-Encoding", b"chunked")], b"", b"\r\n\r\n0\r\n\r\n"),
    ],
)
def test_send_head_with_end_is_the_whole_request(
    headers: list[tuple[bytes, bytes]], body: bytes, expected_tail: bytes
) -> None:
    conn = H1Connection()
    separate = H1Connection()
    data = conn.send_head(b"POST", b"/", headers, body, True)
    assert data == separate.send_head(b"POST", b"/", headers, body) + separate.send_end()
    assert data.endswith(expected_tail)
    with pytest.raises(LocalProtocolError, match="no request head"):
        conn.send_end()  # the request has ended
    # Once the response has ended too, the connection is reusable, with the cached head.
    receive(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert conn.next_cycle()
    assert conn.send_head(b"POST", b"/", headers, body, True) == data


def test_send_head_with_end_and_too_little_body() -> None:
    conn = H1Connection()
    with pytest.raises(LocalProtocolError, match="Too little data for declared Content-Length"):
        conn.send_head(b"PUT", b"/", [(b"Content-Length", b"4")], b"abc", True)


def test_send_out_of_order() -> None:
    conn = H1Connection()
    with pytest.raises(LocalProtocolError, match="no request head"):
        conn.send_body(b"x")
    with pytest.raises(LocalProtocolError, match="no request head"):
        conn.send_end()
    conn.send_head(b"GET", b"/", [])
    with pytest.raises(LocalProtocolError, match="in progress"):
        conn.send_head(b"GET", b"/", [])
    conn.send_end()
    with pytest.raises(LocalProtocolError, match="no request head"):
        conn.send_end()


def test_unknown_parser() -> None:
    with pytest.raises(ValueError, match="Unknown HTTP/1.1 parser 'h11'"):
        H1Connection(parser="h11")


def test_default_parser_is_httptools() -> None:
    from rapidhttp._engine.h1_parsers import HttptoolsParser

    assert isinstance(H1Connection()._parser, HttptoolsParser)


def test_pure_python_fallback_without_httptools(monkeypatch: pytest.MonkeyPatch) -> None:
    from rapidhttp._engine.h1_parsers import PythonParser

    monkeypatch.setitem(sys.modules, "httptools", None)  # as on PyPy: the import fails
    conn = H1Connection()
    assert isinstance(conn._parser, PythonParser)
    conn.send_head(b"GET", b"/", [])
    conn.send_end()
    assert receive(conn, SIMPLE) == SIMPLE_EVENTS


# --------------------------------------------------------------------------- receiving


@pytest.mark.parametrize("split", [None, 1, 7])
def test_content_length_response(parser: str, split: int | None) -> None:
    conn = connection(parser)
    assert conn.next_event() is NEED_DATA
    assert receive(conn, SIMPLE, split=split) == SIMPLE_EVENTS
    assert conn.keep_alive


def test_small_response_in_one_read_yields_all_events(parser: str) -> None:
    conn = connection(parser)
    conn.receive_data(SIMPLE)
    assert drain(conn) == SIMPLE_EVENTS
    assert conn.next_event() is NEED_DATA


def test_memoryview_input_is_not_retained(parser: str) -> None:
    conn = connection(parser)
    buffer = bytearray(SIMPLE)
    view = memoryview(buffer)
    conn.receive_data(view[:40])
    conn.receive_data(view[40:])
    view.release()
    buffer[:] = b"x" * len(buffer)  # the driver reuses its buffer
    assert merged(drain(conn)) == SIMPLE_EVENTS
    buffer.extend(b"resizable: no export is left")


def test_keep_alive_cycles(parser: str) -> None:
    conn = connection(parser)
    for _ in range(3):
        assert receive(conn, SIMPLE) == SIMPLE_EVENTS
        assert conn.keep_alive
        conn.start_next_cycle()
        conn.send_head(b"GET", b"/", [])
        conn.send_end()


def test_reason_phrase_split_across_reads(parser: str) -> None:
    conn = connection(parser)
    data = b"HTTP/1.1 404 Not Found Here\r\nContent-Length: 0\r\n\r\n"
    events = receive(conn, data, split=1)
    assert events == [
        Response(404, b"Not Found Here", [(b"Content-Length", b"0")], b"HTTP/1.1"),
        EndOfMessage([]),
    ]


def test_empty_reason_phrase(parser: str) -> None:
    conn = connection(parser)
    events = receive(conn, b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")
    assert events[0] == Response(200, b"", [(b"Content-Length", b"0")], b"HTTP/1.1")


@pytest.mark.parametrize("split", [None, 1, 5])
def test_chunked_response_with_extensions_and_trailers(parser: str, split: int | None) -> None:
    conn = connection(parser)
    data = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1A\r\n"
        + b"z" * 26
        + b"\r\n0\r\nChecksum: abc\r\nX-Other: 1\r\n\r\n"
    )
    assert receive(conn, data, split=split) == [
        Response(200, b"OK", [(b"Transfer-Encoding", b"chunked")], b"HTTP/1.1"),
        Data(b"hello" + b"z" * 26),
        EndOfMessage([(b"Checksum", b"abc"), (b"X-Other", b"1")]),
    ]
    assert conn.keep_alive


@pytest.mark.parametrize(
    "chunk",
    [
        b"3;a\nabc\r\n",  # a bare LF is tolerated after an extension (as llhttp does)
        b'3;a="x\\"y";b=c\r\nabc\r\n',
        b"003 \r\nabc\r\n",
        b"3\t\r\nabc\r\n",
    ],
)
def test_chunk_size_line_variants(parser: str, chunk: bytes) -> None:
    conn = connection(parser)
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + b"0\r\n\r\n"
    assert receive(conn, data)[1:] == [Data(b"abc"), EndOfMessage([])]


@pytest.mark.parametrize(
    "chunk",
    [b"3\nabc\r\n", b"3;\r\nabc\r\n", b"3; a\r\nabc\r\n", b'3;a="\x01"\r\nabc\r\n', b"-3\r\n"],
)
def test_bad_chunk_size_lines(parser: str, chunk: bytes) -> None:
    conn = connection(parser)
    with pytest.raises(RemoteProtocolError, match="Invalid HTTP response"):
        conn.receive_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk)


def test_chunked_response_without_trailers(parser: str) -> None:
    conn = connection(parser)
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    assert receive(conn, data)[1:] == [Data(b"abc"), EndOfMessage([])]
    assert conn.keep_alive


def test_close_delimited_response(parser: str) -> None:
    conn = connection(parser)
    events = receive(conn, b"HTTP/1.1 200 OK\r\nServer: old\r\n\r\nsome ", split=10)
    events += receive(conn, b"body")
    assert merged(events) == [
        Response(200, b"OK", [(b"Server", b"old")], b"HTTP/1.1"),
        Data(b"some body"),
    ]
    conn.receive_eof()
    assert drain(conn) == [EndOfMessage([])]
    assert not conn.keep_alive
    with pytest.raises(LocalProtocolError, match="Cannot reuse the connection"):
        conn.start_next_cycle()


def test_transfer_encoding_not_chunked_is_close_delimited(parser: str) -> None:
    conn = connection(parser)
    events = receive(conn, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n3\r\nabc\r\n")
    assert events[1:] == [Data(b"3\r\nabc\r\n")]
    conn.receive_eof()
    assert drain(conn) == [EndOfMessage([])]
    assert not conn.keep_alive


def test_http_10_response_is_not_keep_alive(parser: str) -> None:
    conn = connection(parser)
    data = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"
    events = receive(conn, data)
    assert events[0].http_version == b"HTTP/1.0"  # type: ignore[union-attr]
    assert events[1:] == [Data(b"ok"), EndOfMessage([])]
    assert not conn.keep_alive


@pytest.mark.parametrize("value", [b"close", b"Keep-Alive, CLOSE", b"upgrade,close"])
def test_connection_close_is_not_keep_alive(parser: str, value: bytes) -> None:
    conn = connection(parser)
    data = b"HTTP/1.1 200 OK\r\nConnection: " + value + b"\r\nContent-Length: 0\r\n\r\n"
    assert receive(conn, data)[-1] == EndOfMessage([])
    assert not conn.keep_alive


def test_head_response_has_no_body(parser: str) -> None:
    conn = connection(parser, b"HEAD")
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    assert receive(conn, head) == [
        Response(200, b"OK", [(b"Content-Length", b"5")], b"HTTP/1.1"),
        EndOfMessage([]),
    ]
    assert conn.keep_alive
    # The next response on the connection parses normally.
    conn.start_next_cycle()
    conn.send_head(b"GET", b"/", [])
    conn.send_end()
    assert receive(conn, SIMPLE) == SIMPLE_EVENTS
    assert conn.keep_alive


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",
    ],
)
def test_head_response_without_length_is_keep_alive(parser: str, head: bytes) -> None:
    conn = connection(parser, b"HEAD")
    assert receive(conn, head)[-1] == EndOfMessage([])
    assert conn.keep_alive


def test_head_response_followed_by_body_bytes_is_not_reused(parser: str) -> None:
    conn = connection(parser, b"HEAD")
    events = receive(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    assert events[-1] == EndOfMessage([])
    assert not conn.keep_alive


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(parser: str, status: int) -> None:
    conn = connection(parser)
    data = b"HTTP/1.1 %d X\r\nContent-Length: 7\r\n\r\n" % status
    events = receive(conn, data)
    assert [type(event) for event in events] == [Response, EndOfMessage]
    assert conn.keep_alive


@pytest.mark.parametrize("split", [None, 3])
def test_interim_responses_are_skipped(parser: str, split: int | None) -> None:
    conn = connection(parser)
    data = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + SIMPLE
    )
    assert receive(conn, data, split=split) == SIMPLE_EVENTS
    assert conn.keep_alive


def test_interim_response_then_http_10(parser: str) -> None:
    conn = connection(parser)
    data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"
    assert receive(conn, data)[0].http_version == b"HTTP/1.0"  # type: ignore[union-attr]


@pytest.mark.parametrize("split", [None, 4])
def test_switching_protocols(parser: str, split: int | None) -> None:
    conn = connection(parser)
    head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    events = receive(conn, head + b"\x81\x05hello", split=split)
    upgrade = b"".join(event.data for event in events[1:])  # type: ignore[union-attr]
    assert events[0] == Response(
        101,
        b"Switching Protocols",
        [(b"Upgrade", b"websocket"), (b"Connection", b"Upgrade")],
        b"HTTP/1.1",
    )
    assert all(type(event) is Upgrade for event in events[1:])
    assert upgrade == b"\x81\x05hello"[: len(upgrade)]
    assert not conn.keep_alive


def test_switching_protocols_leftover_in_one_read(parser: str) -> None:
    conn = connection(parser)
    head = b"HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n"
    assert receive(conn, head + b"PRI")[1:] == [Upgrade(b"PRI")]


def test_switching_protocols_without_upgrade_headers(parser: str) -> None:
    conn = connection(parser)
    with pytest.raises(RemoteProtocolError, match="101 Switching Protocols response without"):
        conn.receive_data(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")


@pytest.mark.parametrize("split", [None, SIMPLE.index(b"hello")])
def test_extra_data_after_response_in_the_same_read(parser: str, split: int | None) -> None:
    conn = connection(parser)
    assert receive(conn, SIMPLE + b"HTTP/1.1 200 OK\r\n", split=split) == SIMPLE_EVENTS
    assert not conn.keep_alive


def test_garbage_after_close_response(parser: str) -> None:
    conn = connection(parser)
    data = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nxyz"
    assert receive(conn, data)[1:] == [Data(b"x"), EndOfMessage([])]
    assert not conn.keep_alive


def test_extra_data_in_a_later_read(parser: str) -> None:
    conn = connection(parser)
    assert receive(conn, SIMPLE) == SIMPLE_EVENTS
    assert conn.keep_alive
    conn.receive_data(b"\r\nx")
    assert drain(conn) == []
    assert not conn.keep_alive


@pytest.mark.parametrize("method", [b"GET", b"HEAD"])
def test_stray_newlines_between_responses_are_tolerated(parser: str, method: bytes) -> None:
    conn = connection(parser, method)
    head, body = SIMPLE.split(b"\r\n\r\n")
    data = head + b"\r\n\r\n" + (body if method == b"GET" else b"")
    assert receive(conn, data + b"\r\n")[-1] == EndOfMessage([])
    conn.receive_data(b"\n")
    assert conn.keep_alive
    conn.start_next_cycle()
    conn.send_head(b"GET", b"/", [])
    conn.send_end()
    assert receive(conn, b"\r\n" + SIMPLE) == SIMPLE_EVENTS


def test_early_response_before_request_body_is_sent(parser: str) -> None:
    conn = H1Connection(parser=parser)
    conn.send_head(b"POST", b"/", [(b"Content-Length", b"10")], b"abc")
    events = receive(conn, b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n")
    assert events[-1] == EndOfMessage([])
    assert not conn.keep_alive  # the request is incomplete


def test_header_values_are_trimmed(parser: str) -> None:
    conn = connection(parser)
    data = (
        b"HTTP/1.1 200 OK\r\nX-A:   spaced \t \r\nX-Empty:\r\nX-Tab:\ta\tb\r\n"
        b"X-Bytes: \x80\xff\r\nContent-Length: 0\r\n\r\n"
    )
    assert receive(conn, data)[0].headers == [  # type: ignore[union-attr]
        (b"X-A", b"spaced"),
        (b"X-Empty", b""),
        (b"X-Tab", b"a\tb"),
        (b"X-Bytes", b"\x80\xff"),
        (b"Content-Length", b"0"),
    ]


@pytest.mark.parametrize(
    "line",
    [
        b"X-Fold: one\r\n two",  # obs-fold
        b"X-Fold: one\r\n\ttwo",
        b"X-Null: a\x00b",
        b"X-Control: a\x01b",
        b"X-Del: a\x7fb",
    ],
)
def test_folded_and_control_characters_in_header_values(parser: str, line: bytes) -> None:
    conn = connection(parser)
    with pytest.raises(RemoteProtocolError, match="Invalid HTTP response"):
        conn.receive_data(b"HTTP/1.1 200 OK\r\n" + line + b"\r\nContent-Length: 0\r\n\r\n")


def test_reason_phrase_bytes(parser: str) -> None:
    conn = connection(parser)
    events = receive(conn, b"HTTP/1.1 200 \xe7a va\x01 \r\nContent-Length: 0\r\n\r\n")
    assert events[0].reason_phrase == b"\xe7a va\x01 "  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\nContent-Length: 2\n\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\n",
        b"HTTP/1.1 200 OK\nContent-Length: 2\r\n\n",
        b"\r\n\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
    ],
)
@pytest.mark.parametrize("split", [None, 1])
def test_mixed_line_endings(parser: str, head: bytes, split: int | None) -> None:
    conn = connection(parser)
    events = receive(conn, head + b"ok", split=split)
    assert events == [
        Response(200, b"OK", [(b"Content-Length", b"2")], b"HTTP/1.1"),
        Data(b"ok"),
        EndOfMessage([]),
    ]


def test_largest_content_length(parser: str) -> None:
    conn = connection(parser)
    events = receive(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nab")
    assert events[1:] == [Data(b"ab")]


def test_lf_only_line_endings_in_the_head(parser: str) -> None:
    conn = connection(parser)
    data = b"HTTP/1.1 200 OK\nContent-Length: 2\nX: y\n\nok"
    assert receive(conn, data) == [
        Response(200, b"OK", [(b"Content-Length", b"2"), (b"X", b"y")], b"HTTP/1.1"),
        Data(b"ok"),
        EndOfMessage([]),
    ]


def test_head_size_limit(parser: str) -> None:
    conn = connection(parser, max_head_size=1000)
    big = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 2000 + b"\r\nContent-Length: 0\r\n\r\n"
    with pytest.raises(RemoteProtocolError, match="exceeds the limit of 1000 bytes"):
        conn.receive_data(big)


def test_head_size_limit_across_reads(parser: str) -> None:
    conn = connection(parser, max_head_size=1000)
    conn.receive_data(b"HTTP/1.1 200 OK\r\nX-Big: ")
    with pytest.raises(RemoteProtocolError, match="exceeds the limit of 1000 bytes"):
        for _ in range(100):
            conn.receive_data(b"a" * 100)


def test_head_just_within_the_size_limit(parser: str) -> None:
    head = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 900 + b"\r\nContent-Length: 0\r\n\r\n"
    conn = connection(parser, max_head_size=len(head))
    assert receive(conn, head)[-1] == EndOfMessage([])


def test_header_count_limit(parser: str) -> None:
    conn = connection(parser, max_header_count=10)
    data = b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 11 + b"Content-Length: 0\r\n\r\n"
    with pytest.raises(RemoteProtocolError, match="more than 10 header fields"):
        conn.receive_data(data)


def test_header_count_limit_across_reads(parser: str) -> None:
    conn = connection(parser, max_header_count=10)
    with pytest.raises(RemoteProtocolError, match="more than 10 header fields"):
        conn.receive_data(b"HTTP/1.1 200 OK\r\n")
        for _ in range(20):
            conn.receive_data(b"X: y\r\n")


def test_trailer_count_limit(parser: str) -> None:
    conn = connection(parser, max_header_count=5)
    conn.receive_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n")
    with pytest.raises(RemoteProtocolError, match="more than 5 header fields"):
        for _ in range(10):
            conn.receive_data(b"T: v\r\n")


def test_endless_trailer_is_bounded(parser: str) -> None:
    conn = connection(parser, max_head_size=1000)
    conn.receive_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n")
    conn.receive_data(b"Trailer: ")
    with pytest.raises(RemoteProtocolError, match="exceeds the limit of 1000 bytes"):
        for _ in range(100):
            conn.receive_data(b"v" * 100)


def test_long_chunked_body_in_small_reads(parser: str) -> None:
    conn = connection(parser, max_head_size=1000)
    chunks = b"".join(b"%x\r\n%s\r\n" % (n, b"y" * n) for n in range(1, 200))
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    events = receive(conn, data, split=3)
    assert events[1] == Data(b"y" * (199 * 200 // 2))
    assert conn.keep_alive


def test_header_count_at_the_limit(parser: str) -> None:
    conn = connection(parser, max_header_count=10)
    data = b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 9 + b"Content-Length: 0\r\n\r\n"
    assert receive(conn, data)[-1] == EndOfMessage([])


def test_eof_before_response(parser: str) -> None:
    conn = connection(parser)
    with pytest.raises(
        RemoteProtocolError, match="^Server disconnected without sending a response"
    ):
        conn.receive_eof()


def test_eof_in_the_middle_of_the_head(parser: str) -> None:
    conn = connection(parser)
    conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-")
    with pytest.raises(
        RemoteProtocolError, match="^Server disconnected without sending a response"
    ):
        conn.receive_eof()


def test_eof_in_the_middle_of_a_content_length_body(parser: str) -> None:
    conn = connection(parser)
    conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe")
    message = (
        "peer closed connection without sending complete message body: "
        "received 2 bytes, expected 5"
    )
    with pytest.raises(RemoteProtocolError, match=f"^{message}$"):
        conn.receive_eof()
    assert not conn.keep_alive


def test_eof_in_the_middle_of_a_chunked_body(parser: str) -> None:
    conn = connection(parser)
    conn.receive_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhe")
    message = "peer closed connection without sending complete message body: incomplete chunked"
    with pytest.raises(RemoteProtocolError, match=message):
        conn.receive_eof()


def test_eof_after_response_is_harmless(parser: str) -> None:
    conn = connection(parser)
    assert receive(conn, SIMPLE) == SIMPLE_EVENTS
    conn.receive_eof()
    assert drain(conn) == []
    assert not conn.keep_alive  # the server closed it


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/0.9 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"http/1.1 200 OK\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.2\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n",
    ],
)
def test_malformed_responses(parser: str, data: bytes) -> None:
    conn = connection(parser)
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(data)
        conn.receive_eof()  # for inputs that are only wrong once the server is gone
    # The error is sticky: the connection cannot be used any more.
    assert not conn.keep_alive
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(b"HTTP/1.1 200 OK\r\n\r\n")


def test_malformed_split_status_line(parser: str) -> None:
    conn = connection(parser)
    with pytest.raises(RemoteProtocolError, match="Invalid HTTP response"):
        for byte in b"HTTP/1.1 2x0 OK\r\n\r\n":
            conn.receive_data(bytes([byte]))


# --------------------------------------------------------------------------- a real server


def test_against_a_real_server(parser: str, server: typing.Any) -> None:
    """Two keep-alive exchanges with uvicorn over one socket: a chunked streamed body, a POST."""
    host, port = server.url.split("//")[1].rstrip("/").split(":")
    conn = H1Connection(parser=parser)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        exchanges = [
            (b"GET", b"/stream/3", b"", b"chunk 0\nchunk 1\nchunk 2\n"),
            (b"POST", b"/echo_body", b"ping", b"ping"),
        ]
        for method, path, body, expected in exchanges:
            headers = [(b"Host", f"{host}:{port}".encode())]
            if body:
                headers.append((b"Content-Length", b"%d" % len(body)))
            sock.sendall(conn.send_head(method, path, headers, body) + conn.send_end())
            events: list[Event] = []
            for _ in range(1000):
                events += drain(conn)
                if events and type(events[-1]) is EndOfMessage:
                    break
                data = sock.recv(65536)
                if not data:
                    conn.receive_eof()
                else:
                    conn.receive_data(data)
            response = events[0]
            assert type(response) is Response and response.status_code == 200
            assert b"".join(e.data for e in events if type(e) is Data) == expected  # type: ignore[union-attr]
            assert conn.keep_alive
            conn.start_next_cycle()
