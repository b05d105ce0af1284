from __future__ import annotations

from typing import Any

import niquests

from adapters import CHUNK, Options, expect_200


def _session_kwargs(o: Options) -> dict[str, Any]:
    # niquests negotiates HTTP/2 by ALPN on its own; only the h2 listener offers it.
    return {"pool_connections": 4, "pool_maxsize": o.connections, "verify": o.ca_file or True,
            "disable_http1": not o.http1}


class _Sync:
    def __init__(self, o: Options) -> None:
        self.session = niquests.Session(**_session_kwargs(o))

    def get(self, url: str) -> int:
        r = self.session.get(url)
        expect_200(r.status_code or 0, url)
        return len(r.content or b"")

    def post(self, url: str, body: bytes) -> int:
        r = self.session.post(url, data=body)
        expect_200(r.status_code or 0, url)
        return len(r.content or b"")

    def download(self, url: str) -> int:
        with self.session.get(url, stream=True) as r:
            expect_200(r.status_code or 0, url)
            return sum(len(chunk) for chunk in r.iter_content(CHUNK))

    def close(self) -> None:
        self.session.close()


class _Async:
    def __init__(self, o: Options) -> None:
        self.session = niquests.AsyncSession(**_session_kwargs(o))

    async def get(self, url: str) -> int:
        r = await self.session.get(url)
        expect_200(r.status_code or 0, url)
        return len(r.content or b"")

    async def post(self, url: str, body: bytes) -> int:
        r = await self.session.post(url, data=body)
        expect_200(r.status_code or 0, url)
        return len(r.content or b"")

    async def download(self, url: str) -> int:
        r = await self.session.get(url, stream=True)
        expect_200(r.status_code or 0, url)
        n = 0
        async for chunk in await r.iter_content(CHUNK):
            n += len(chunk)
        return n

    async def aclose(self) -> None:
        await self.session.close()


def sync_session(o: Options) -> _Sync:
    return _Sync(o)


async def async_session(o: Options) -> _Async:
    return _Async(o)
