"""What is measured: the scenarios, the clients and which (client, scenario) cells exist.

Imported by the orchestrator and by every cell process, so it imports no HTTP library.
"""

from __future__ import annotations

from dataclasses import dataclass

SYNC, ASYNCIO, UVLOOP, TRIO, TOOL = "sync", "asyncio", "uvloop", "trio", "tool"
ASYNC_MODES = (ASYNCIO, UVLOOP, TRIO)


# Scenario groups, in report order: one section and one chart each.
GROUPS = {
    "latency": "Sequential requests",
    "concurrency": "Concurrency",
    "http2": "HTTP/2",
    "bulk": "Large bodies",
    "footprint": "Footprint",
}


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    group: str  # one chart per group
    kind: str  # how cell.py drives it: requests | download | hold | import | construct
    path: str = "/json"  # server path ("" for scenarios that send no request)
    port: str = "http"  # nginx listener: http | https | h2 (TLS, ALPN h2 only) | h2c
    modes: tuple[str, ...] = (SYNC, *ASYNC_MODES)
    concurrency: int = 1  # tasks (async modes) or threads (sync) doing the requests
    upload: bool = False  # POST the 1 MiB body instead of GET
    count: int = 20_000  # requests (downloads, clients, ...) per full-run repetition
    quick_count: int = 2_000
    http2: bool = False
    http1: bool = True  # False: HTTP/2 with prior knowledge (h2c), no HTTP/1.1 at all
    wrk: str = ""  # the load tool's arguments for the same load ("" = no tool row)


# The order here is the order of the report.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("seq", "Sequential small GET", "latency", "requests", wrk="wrk -t1 -c1"),
    Scenario("https", "HTTPS sequential small GET", "latency", "requests", port="https",
             wrk="wrk -t1 -c1"),
    Scenario("c10", "10 concurrent small GETs", "concurrency", "requests",
             modes=ASYNC_MODES, concurrency=10, wrk="wrk -t1 -c10"),
    Scenario("c100", "100 concurrent small GETs", "concurrency", "requests",
             modes=ASYNC_MODES, concurrency=100, count=40_000, quick_count=4_000,
             wrk="wrk -t1 -c100"),
    Scenario("t1000", "1000 tasks over a 100-connection pool", "concurrency", "requests",
             modes=ASYNC_MODES, concurrency=1000, count=40_000, quick_count=4_000),
    Scenario("threads8", "8 threads sharing one sync client", "concurrency", "requests",
             modes=(SYNC,), concurrency=8, wrk="wrk -t1 -c8"),
    Scenario("h2", "HTTP/2: 100 streams on one TLS connection", "http2", "requests",
             port="h2", modes=ASYNC_MODES, concurrency=100, http2=True,
             count=20_000, quick_count=2_000, wrk="h2load -c1 -m100"),
    Scenario("h2c", "HTTP/2 cleartext (prior knowledge): 100 streams on one connection",
             "http2", "requests", port="h2c", modes=ASYNC_MODES, concurrency=100, http2=True,
             http1=False, count=20_000, quick_count=2_000, wrk="h2load -c1 -m100"),
    Scenario("download", "100 MiB streamed download", "bulk", "download", path="/100m",
             count=10, quick_count=2, wrk="wrk -t1 -c1"),
    Scenario("h2download", "HTTP/2: 100 MiB streamed download over TLS", "http2", "download",
             path="/100m", port="h2", http2=True, count=10, quick_count=2,
             wrk="h2load -c1 -m1"),
    Scenario("upload", "1 MiB upload (POST)", "bulk", "requests", path="/upload",
             upload=True, count=1_000, quick_count=100, wrk="wrk -t1 -c1"),
    Scenario("hold100", "Holding 100 open connections", "footprint", "hold", path="/slow",
             count=100, quick_count=100),
    Scenario("import", "Import time", "footprint", "import", path="", count=1, quick_count=1),
    Scenario("construct", "Client construction (default TLS settings)", "footprint",
             "construct", path="", count=2_000, quick_count=500),
)
SCENARIO = {s.name: s for s in SCENARIOS}


@dataclass(frozen=True)
class Client:
    name: str  # library name; the adapter is adapters/<name>.py
    modes: tuple[str, ...]  # I/O modes its adapter supports
    module: str  # what "import time" imports
    http2: bool = False  # can do the HTTP/2 scenarios


CLIENTS: tuple[Client, ...] = (
    Client("rapidhttp", (SYNC, ASYNCIO, TRIO, UVLOOP), "rapidhttp", http2=True),
    Client("httpx", (SYNC, ASYNCIO, TRIO), "httpx", http2=True),
    Client("httpx2", (SYNC, ASYNCIO), "httpx2", http2=True),
    Client("aiohttp", (ASYNCIO, UVLOOP), "aiohttp"),
    Client("requests", (SYNC,), "requests"),
    Client("urllib3", (SYNC,), "urllib3"),
    Client("niquests", (SYNC, ASYNCIO), "niquests", http2=True),
    Client("pyreqwest", (SYNC, ASYNCIO), "pyreqwest.client", http2=True),
    Client("pycurl", (SYNC,), "pycurl"),
)
CLIENT = {c.name: c for c in CLIENTS}
TOOLS = ("wrk", "h2load")  # rows showing the machine's limit for the same load


def variant(client: str, mode: str) -> str:
    """The row label of one client in one I/O mode, e.g. "rapidhttp[asyncio]"."""
    return f"{client}[{mode}]"


def supports(client: Client, mode: str, scenario: Scenario) -> bool:
    if scenario.kind == "import":
        return mode == client.modes[0]  # one row per library
    if scenario.http2 and not client.http2:
        return False
    return mode in client.modes and mode in scenario.modes
