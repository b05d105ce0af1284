from __future__ import annotations

from typing import Any, TypeVar

from pyreqwest.client import ClientBuilder, SyncClientBuilder

from adapters import Options, expect_200

B = TypeVar("B", ClientBuilder, SyncClientBuilder)


def _configure(builder: B, o: Options) -> B:
    builder = builder.max_connections(o.connections).http2(o.http2)
    if not o.http1:
        builder = builder.http2_prior_knowledge()
    if o.ca_file:
        with open(o.ca_file, "rb") as f:
            builder = builder.add_root_certificate_pem(f.read())
    return builder


class _Sync:
    def __init__(self, o: Options) -> None:
        self.client: Any = _configure(SyncClientBuilder(), o).build()

    def get(self, url: str) -> int:
        r = self.client.get(url).build().send()
        expect_200(r.status, url)
        return len(r.bytes())

    def post(self, url: str, body: bytes) -> int:
        r = self.client.post(url).body_bytes(body).build().send()
        expect_200(r.status, url)
        return len(r.bytes())

    def download(self, url: str) -> int:
        n = 0
        with self.client.get(url).build_streamed() as r:
            expect_200(r.status, url)
            while (chunk := r.body_reader.read_chunk()) is not None:
                n += len(chunk)
        return n

    def close(self) -> None:
        self.client.close()


class _Async:
    def __init__(self, o: Options) -> None:
        self.client: Any = _configure(ClientBuilder(), o).build()

    async def get(self, url: str) -> int:
        r = await self.client.get(url).build().send()
        expect_200(r.status, url)
        return len(await r.bytes())

    async def post(self, url: str, body: bytes) -> int:
        r = await self.client.post(url).body_bytes(body).build().send()
        expect_200(r.status, url)
        return len(await r.bytes())

    async def download(self, url: str) -> int:
        n = 0
        async with self.client.get(url).build_streamed() as r:
            expect_200(r.status, url)
            while (chunk := await r.body_reader.read_chunk()) is not None:
                n += len(chunk)
        return n

    async def aclose(self) -> None:
        await self.client.close()


def sync_session(o: Options) -> _Sync:
    return _Sync(o)


async def async_session(o: Options) -> _Async:
    return _Async(o)
