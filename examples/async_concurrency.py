"""Concurrent requests with asyncio.gather: one AsyncClient, many requests in flight."""

import asyncio
import time

from local_server import serve

import rapidhttp as httpx


async def main(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        started = time.perf_counter()
        # Ten requests that each take 0.2 s on the server run at the same time.
        responses = await asyncio.gather(*(client.get("/delay/0.2") for _ in range(10)))
        elapsed = time.perf_counter() - started
        print("statuses:", [r.status_code for r in responses])
        print(f"10 x 0.2 s requests took less than 1 s: {elapsed < 1.0}")

        async def fetch(i: int) -> str:
            r = await client.get("/anything", params={"i": i})
            return r.json()["args"]["i"]

        print("in order:", await asyncio.gather(*(fetch(i) for i in range(5))))


with serve() as base_url:
    asyncio.run(main(base_url))
