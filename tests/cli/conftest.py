"""Fixtures for the command line client: a forward proxy and a server that breaks off a
download (both canned-response socket servers on 127.0.0.1), and a port nobody listens on."""

from __future__ import annotations

import socket
import typing

import pytest
from cli_helpers import BIG_CHUNK, BIG_REPEAT, CannedServer, canned


@pytest.fixture
def proxy_server() -> typing.Iterator[CannedServer]:
    """A forward proxy that answers every request itself."""
    body = b"via proxy"
    yield from canned(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n\r\n%s"
        % (len(body), body)
    )


@pytest.fixture
def truncating_server() -> typing.Iterator[CannedServer]:
    """Promises a 1 MB body, sends 1000 bytes of it and hangs up."""
    yield from canned(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n"
        b"content-length: 1000000\r\n\r\n" + b"x" * 1000
    )


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nobody listening (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def big_file_server() -> typing.Iterator[CannedServer]:
    """Sends a 5 MiB body (BIG_CHUNK repeated) without ever holding it whole in memory."""
    yield from canned(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n"
        b"content-length: %d\r\n\r\n" % (len(BIG_CHUNK) * BIG_REPEAT),
        BIG_CHUNK,
        BIG_REPEAT,
    )


@pytest.fixture
def stalling_server() -> typing.Iterator[CannedServer]:
    """Sends the head and 200 kB of a 1 MB body, then stalls (up to 20 s). 200 kB is more
    than any write buffer, so some of it reaches the download's file before the stall."""
    yield from canned(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n"
        b"content-length: 1000000\r\n\r\n" + b"x" * 200_000,
        hold=20.0,
    )
