"""
The rapidhttp demo (`./run-demo`): starts a local HTTP server on 127.0.0.1, then uses the
`rapidhttp` command and rapidhttp's sync and async clients to fetch JSON, follow redirects,
stream a download and make many requests, prints a summary, and stops the server. No internet
needed.
"""

import asyncio
import os
import subprocess
import sys
import tempfile
import time

from local_server import serve

import rapidhttp

DOWNLOAD_SIZE = 1_000_000
REPEAT = 200


def row(name: str, text: str) -> None:
    print(f"  {name:<14}{text}")


def cli_demo(base: str) -> None:
    """The command-line client, run as a user would (a progress bar shows on a terminal)."""
    command = [sys.executable, "-m", "rapidhttp"]
    base = base.rstrip("/") + "/"
    print(f"$ rapidhttp {base}json")
    subprocess.run([*command, f"{base}json"], check=True)
    print(f"\n$ rapidhttp {base}redirect/2 --follow-redirects --verbose")
    subprocess.run([*command, f"{base}redirect/2", "--follow-redirects", "--verbose"], check=True)
    with tempfile.TemporaryDirectory() as folder:
        target = os.path.join(folder, "download.bin")
        print(f"\n$ rapidhttp {base}bytes/50000000 --download download.bin")
        subprocess.run([*command, f"{base}bytes/50000000", "--download", target], check=True)
        print(f"saved {os.path.getsize(target):,} bytes")


def sync_demo(base: str) -> None:
    print("sync: rapidhttp.Client")
    with rapidhttp.Client(base_url=base) as client:
        r = client.get("/json")
        row("JSON", f"GET {r.url.path} -> {r.status_code} {r.reason_phrase}, {r.json()}")

        r = client.get("/redirect/3", follow_redirects=True)
        row("redirect", f"GET /redirect/3 -> {r.status_code} at {r.url.path} "
                        f"after {len(r.history)} redirects")

        with client.stream("GET", f"/bytes/{DOWNLOAD_SIZE}") as r:
            chunks = sum(1 for _ in r.iter_bytes())
            row("download", f"streamed {r.num_bytes_downloaded:,} bytes in {chunks} chunks")

        started = time.perf_counter()
        for _ in range(REPEAT):
            client.get("/")
        per_request = (time.perf_counter() - started) / REPEAT * 1e6
        row("sequential", f"{REPEAT} requests, {per_request:.0f} µs per request (incl. server)")


async def async_demo(base: str) -> None:
    print("async: rapidhttp.AsyncClient (asyncio)")
    async with rapidhttp.AsyncClient(base_url=base) as client:
        r = await client.get("/json")
        row("JSON", f"GET {r.url.path} -> {r.status_code} {r.reason_phrase}, {r.json()}")

        r = await client.get("/redirect/3", follow_redirects=True)
        row("redirect", f"GET /redirect/3 -> {r.status_code} at {r.url.path} "
                        f"after {len(r.history)} redirects")

        async with client.stream("GET", f"/bytes/{DOWNLOAD_SIZE}") as r:
            chunks = 0
            async for _ in r.aiter_bytes():
                chunks += 1
            row("download", f"streamed {r.num_bytes_downloaded:,} bytes in {chunks} chunks")

        started = time.perf_counter()
        responses = await asyncio.gather(*(client.get("/delay/0.2") for _ in range(20)))
        elapsed = time.perf_counter() - started
        ok = sum(r.status_code == 200 for r in responses)
        row("concurrent", f"{ok} requests of 0.2 s each, together in {elapsed:.2f} s")


def main() -> None:
    print(f"rapidhttp {rapidhttp.__version__} demo")
    with serve() as base:
        print(f"local server at {base}\n")
        cli_demo(base)
        print()
        sync_demo(base)
        print()
        asyncio.run(async_demo(base))
    print("\nserver stopped, done.")


if __name__ == "__main__":
    main()
