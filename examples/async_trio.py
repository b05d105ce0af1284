"""The same AsyncClient under trio: the running library is detected automatically."""

import trio
from local_server import serve

import rapidhttp as httpx


async def main(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        results = {}

        async def fetch(path: str) -> None:
            results[path] = (await client.get(path)).status_code

        async with trio.open_nursery() as nursery:
            for path in ("/", "/json", "/status/204"):
                nursery.start_soon(fetch, path)
        print("trio results:", dict(sorted(results.items())))


with serve() as base_url:
    trio.run(main, base_url)
