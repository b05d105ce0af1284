"""Streaming responses and requests with an AsyncClient (docs/async.md)."""

import asyncio

from local_server import serve

import rapidhttp as httpx


async def upload_bytes():
    for part in (b"streamed ", b"request ", b"body"):
        yield part


async def main(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        # A stream block: the body is read as it arrives, in chunks of a fixed size.
        async with client.stream("GET", "/bytes/10000") as response:
            sizes = [len(chunk) async for chunk in response.aiter_bytes(chunk_size=4096)]
            print("chunk sizes:", sizes)

        async with client.stream("GET", "/stream/3") as response:
            print("lines:", [line async for line in response.aiter_lines()])

        # Read the body only if it is worth it.
        async with client.stream("GET", "/json") as response:
            if response.headers["content-type"] == "application/json":
                await response.aread()
                print("read:", response.json()["message"])

        # "Manual mode": send(stream=True), then aclose() when done.
        request = client.build_request("GET", "/stream/2")
        response = await client.send(request, stream=True)
        try:
            # (How the text is cut into pieces depends on how it arrives: join them.)
            print("manual:", repr("".join([text async for text in response.aiter_text()])))
        finally:
            await response.aclose()

        # Streaming request bodies come from an async generator.
        response = await client.post("/anything", content=upload_bytes())
        print("uploaded:", response.json()["data"])


with serve() as base_url:
    asyncio.run(main(base_url))
