"""The httpx API, shared by the rapidhttp, httpx and httpx2 adapters (same code, three modules)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

from adapters import CHUNK, AsyncSession, Options, SyncSession, expect_200, ssl_context


def _client_kwargs(lib: Any, o: Options) -> dict[str, Any]:
    limits = lib.Limits(max_connections=o.connections, max_keepalive_connections=o.connections)
    verify: Any = ssl_context(o.ca_file) if o.ca_file else True
    return {"verify": verify, "http1": o.http1, "http2": o.http2, "limits": limits}


class _Sync:
    def __init__(self, lib: Any, o: Options) -> None:
        self.client = lib.Client(**_client_kwargs(lib, o))

    def get(self, url: str) -> int:
        r = self.client.get(url)
        expect_200(r.status_code, url)
        return len(r.content)

    def post(self, url: str, body: bytes) -> int:
        r = self.client.post(url, content=body)
        expect_200(r.status_code, url)
        return len(r.content)

    def download(self, url: str) -> int:
        with self.client.stream("GET", url) as r:
            expect_200(r.status_code, url)
            return sum(len(chunk) for chunk in r.iter_bytes(CHUNK))

    def close(self) -> None:
        self.client.close()


class _Async:
    def __init__(self, lib: Any, o: Options) -> None:
        self.client = lib.AsyncClient(**_client_kwargs(lib, o))

    async def get(self, url: str) -> int:
        r = await self.client.get(url)
        expect_200(r.status_code, url)
        return len(r.content)

    async def post(self, url: str, body: bytes) -> int:
        r = await self.client.post(url, content=body)
        expect_200(r.status_code, url)
        return len(r.content)

    async def download(self, url: str) -> int:
        async with self.client.stream("GET", url) as r:
            expect_200(r.status_code, url)
            n = 0
            async for chunk in r.aiter_bytes(CHUNK):
                n += len(chunk)
            return n

    async def aclose(self) -> None:
        await self.client.aclose()


def bind(
    lib: ModuleType,
) -> tuple[Callable[[Options], SyncSession], Callable[[Options], Awaitable[AsyncSession]]]:
    """The adapter functions for one module with the httpx API."""

    def sync_session(o: Options) -> SyncSession:
        return _Sync(lib, o)

    async def async_session(o: Options) -> AsyncSession:
        return _Async(lib, o)

    return sync_session, async_session
