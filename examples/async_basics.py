"""Async support (docs/async.md): making requests, opening and closing clients."""

import asyncio

from local_server import serve

import rapidhttp as httpx


async def main(base: str) -> None:
    # The context-managed client closes its connections on exit.
    async with httpx.AsyncClient() as client:
        r = await client.get(base + "/json")
        print(r)
        print("json:", r.json())
        # Every request method is a coroutine.
        r = await client.post(base + "/anything", json={"hello": "world"})
        print("post:", r.json()["json"])
        r = await client.request("PUT", base + "/anything", content=b"data")
        print("request:", r.json()["method"], r.json()["data"])

    # Or close a client explicitly.
    client = httpx.AsyncClient()
    try:
        r = await client.get(base + "/")
        print("text:", r.text)
    finally:
        await client.aclose()
    print("closed:", client.is_closed)


with serve() as base_url:
    asyncio.run(main(base_url))
