"""Configuring an AsyncClient: base_url, headers, Timeout, Limits, BasicAuth, and handling
errors with raise_for_status, HTTPStatusError and RequestError."""

import asyncio

from local_server import serve

import rapidhttp as httpx


async def main(base: str) -> None:
    timeout = httpx.Timeout(5.0, connect=2.0)
    limits = httpx.Limits(max_connections=10, max_keepalive_connections=5)
    async with httpx.AsyncClient(
        base_url=base,
        headers={"User-Agent": "examples/1.0"},
        timeout=timeout,
        limits=limits,
        auth=httpx.BasicAuth("alice", "secret"),
    ) as client:
        print("timeout:", client.timeout)
        r = await client.get("/basic-auth/alice/secret")
        print("auth:", r.status_code, r.json())
        r = await client.get("/anything")
        print("user-agent:", r.json()["headers"]["user-agent"])

        for path in ("/json", "/status/404", "/status/503", "/delay/1"):
            try:
                # A per-request timeout overrides the client's.
                response = await client.get(path, timeout=0.3)
                response.raise_for_status()
            except httpx.HTTPStatusError as exc:
                print(f"{path}: HTTP error {exc.response.status_code} for {exc.request.url.path}")
            except httpx.RequestError as exc:
                print(f"{path}: {type(exc).__name__} while requesting {exc.request.url.path}")
            else:
                print(f"{path}: ok {response.status_code}")


with serve() as base_url:
    asyncio.run(main(base_url))
