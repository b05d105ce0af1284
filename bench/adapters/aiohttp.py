from __future__ import annotations

import aiohttp

from adapters import CHUNK, Options, expect_200, ssl_context


class _Async:
    def __init__(self, o: Options) -> None:
        ssl = ssl_context(o.ca_file) if o.ca_file else True
        connector = aiohttp.TCPConnector(limit=o.connections, ssl=ssl)
        self.session = aiohttp.ClientSession(connector=connector)

    async def get(self, url: str) -> int:
        async with self.session.get(url) as r:
            expect_200(r.status, url)
            return len(await r.read())

    async def post(self, url: str, body: bytes) -> int:
        async with self.session.post(url, data=body) as r:
            expect_200(r.status, url)
            return len(await r.read())

    async def download(self, url: str) -> int:
        async with self.session.get(url) as r:
            expect_200(r.status, url)
            n = 0
            async for chunk in r.content.iter_chunked(CHUNK):
                n += len(chunk)
            return n

    async def aclose(self) -> None:
        await self.session.close()


async def async_session(o: Options) -> _Async:
    return _Async(o)
