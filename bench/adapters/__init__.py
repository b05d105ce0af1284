"""The protocol every client adapter follows: one module per library, named after it.

An adapter module defines `sync_session(options)` (sync clients) and/or
`async async_session(options)` (async clients, called inside the running event loop) returning
an object with the methods of `SyncSession` / `AsyncSession`. Every method reads the whole body
and raises unless the status is 200, so an error can never pass for a fast request.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from functools import cache
from typing import Protocol


@dataclass(frozen=True)
class Options:
    ca_file: str | None  # the CA of the benchmark's server; None = the library's defaults
    http2: bool = False
    http1: bool = True  # False (with http2): HTTP/2 by prior knowledge on http:// URLs
    connections: int = 100  # pool size: connections opened to one host and kept alive


class SyncSession(Protocol):
    def get(self, url: str) -> int: ...  # -> body length
    def post(self, url: str, body: bytes) -> int: ...
    def download(self, url: str) -> int: ...  # streamed in chunks; -> bytes received
    def close(self) -> None: ...


class AsyncSession(Protocol):
    async def get(self, url: str) -> int: ...
    async def post(self, url: str, body: bytes) -> int: ...
    async def download(self, url: str) -> int: ...
    async def aclose(self) -> None: ...


CHUNK = 65_536  # read size for streamed downloads, where the library lets us choose


class BadStatus(Exception):
    pass


def expect_200(status: int, url: str) -> None:
    if status != 200:
        hint = " (HTTP/1.1 on the HTTP/2 listener)" if status == 505 else ""
        raise BadStatus(f"{url} answered {status}{hint}")


@cache
def ssl_context(ca_file: str) -> ssl.SSLContext:
    """One context per process for the libraries that take an SSLContext (built once, as a
    real application would; its ~15 ms are not a per-client cost in the request scenarios)."""
    return ssl.create_default_context(cafile=ca_file)
