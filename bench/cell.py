"""One (client, mode, scenario) cell, run in a fresh process: `python cell.py JOB_JSON`.

Prints one JSON line: {"count", "wall", "cpu", ...} measured around the loop only, or
{"error": "..."}. CPU is this process's user+sys time (getrusage RUSAGE_SELF, all threads,
including a Rust client's runtime threads). The import-time scenario is import_probe.py's.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any

import matrix
from adapters import Options

Job = dict[str, Any]
HOLD_CAP = 30.0  # seconds for the hold scenario's 100 slow requests (about 1 s each)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def _sockets() -> int:
    fds = os.listdir("/proc/self/fd")
    return sum(1 for fd in fds if _readlink(f"/proc/self/fd/{fd}").startswith("socket:"))


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


class Meter:
    """Wall and CPU time around the measured part only."""

    def __enter__(self) -> Meter:
        self.wall, self.cpu = time.perf_counter(), _cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, _cpu() - self.cpu


# --- the loops: `n` operations by `workers` workers, stopping early at `deadline` ---------------


def sync_loop(op: Callable[[], object], n: int, workers: int, deadline: float) -> int:
    tickets = iter(range(n))  # shared by the threads: next() on it is atomic in CPython
    counts: list[int] = []

    def worker() -> None:
        k = 0
        for _ in tickets:
            op()
            k += 1
            if time.perf_counter() > deadline:
                break
        counts.append(k)

    if workers == 1:
        worker()
    else:
        import threading

        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return sum(counts)


Spawn = Callable[[Callable[[], Awaitable[None]], int], Awaitable[None]]


async def async_loop(
    op: Callable[[], Awaitable[object]], n: int, workers: int, deadline: float, spawn: Spawn
) -> int:
    tickets = iter(range(n))
    counts: list[int] = []

    async def worker() -> None:
        k = 0
        for _ in tickets:
            await op()
            k += 1
            if time.perf_counter() > deadline:
                break
        counts.append(k)

    await spawn(worker, workers)
    return sum(counts)


def run_async(
    mode: str, main: Callable[[Spawn], Coroutine[Any, Any, dict[str, Any]]]
) -> dict[str, Any]:
    """Run `main(spawn)` on the mode's event loop; `spawn(fn, k)` runs k copies of fn at once."""
    if mode == matrix.TRIO:
        import trio

        async def trio_spawn(fn: Callable[[], Awaitable[None]], k: int) -> None:
            async with trio.open_nursery() as nursery:
                for _ in range(k):
                    nursery.start_soon(fn)

        return trio.run(main, trio_spawn)

    import asyncio

    async def asyncio_spawn(fn: Callable[[], Awaitable[None]], k: int) -> None:
        await asyncio.gather(*(fn() for _ in range(k)))

    if mode == matrix.UVLOOP:
        import uvloop

        return uvloop.run(main(asyncio_spawn))
    return asyncio.run(main(asyncio_spawn))


# --- the scenarios ---------------------------------------------------------------------------


def _options(job: Job, scenario: matrix.Scenario) -> Options:
    if scenario.kind == "construct":
        return Options(ca_file=None)  # what `Client()` costs an application
    return Options(ca_file=job["ca_file"], http2=scenario.http2, http1=scenario.http1)


def _count(job: Job, scenario: matrix.Scenario) -> int:
    return scenario.quick_count if job["quick"] else scenario.count


@dataclass(frozen=True)
class Step:
    """Run operation `op` `n` times over `workers` workers, for at most `cap` seconds."""

    op: str  # construct | noop | warm (GET the small JSON) | request (the scenario's request)
    n: int
    workers: int
    cap: float


Script = Generator[Step, int, dict[str, Any]]


def script(job: Job, scenario: matrix.Scenario, sockets0: int) -> Script:
    """What a cell does, as steps for a driver to run (the same for sync and async).

    Each `yield` runs one loop and gives back how many operations it did, so a Meter around
    a `yield` measures that loop only.
    """
    n, cap = _count(job, scenario), job["cap"]
    if scenario.kind == "construct":
        yield Step("construct", 1, 1, cap)  # lazy imports and caches
        with Meter() as m:
            count = yield Step("construct", n, 1, cap)
        return {"count": count, "wall": m.wall, "cpu": m.cpu}

    # Enough warm-up requests to open the pool's connections and settle the caches.
    workers = min(scenario.concurrency, 100)
    yield Step("warm", max(workers, min(200, n // 10)), workers, cap)
    if scenario.kind == "hold":
        yield Step("noop", n, n, cap)  # the 100 workers' own memory (thread stacks), once
        rss0 = _rss_kib()
        with Meter() as m:
            yield Step("request", n, n, HOLD_CAP)
        # The pool should now hold 100 idle connections, one opened by the warm-up.
        return {"count": 1, "wall": m.wall, "cpu": m.cpu,
                "rss_kib": _rss_kib() - rss0, "sockets": _sockets() - sockets0}
    with Meter() as m:
        count = yield Step("request", n, scenario.concurrency, cap)
    return {"count": count, "wall": m.wall, "cpu": m.cpu}


def _session_ops(job: Job, scenario: matrix.Scenario, session: Any) -> dict[str, Any]:
    """The session's operations by step name (sync or async session: same calls)."""
    url, body = job["url"], job["body"]
    requests = {
        "download": lambda: session.download(url),
        "post": lambda: session.post(url, body),
        "get": lambda: session.get(url),
    }
    kind = "download" if scenario.kind == "download" else "post" if body else "get"
    return {"warm": lambda: session.get(job["warm_url"]), "request": requests[kind]}


def run_sync(job: Job, scenario: matrix.Scenario, adapter: Any) -> dict[str, Any]:
    options = _options(job, scenario)
    sockets0 = _sockets()
    session = None if scenario.kind == "construct" else adapter.sync_session(options)
    ops = {"construct": lambda: adapter.sync_session(options).close(), "noop": lambda: None}
    if session is not None:
        ops |= _session_ops(job, scenario, session)
    steps = script(job, scenario, sockets0)
    try:
        step = next(steps)
        while True:
            done = sync_loop(ops[step.op], step.n, step.workers, time.perf_counter() + step.cap)
            step = steps.send(done)
    except StopIteration as end:
        return end.value
    finally:
        if session is not None:
            session.close()


def run_async_cell(job: Job, scenario: matrix.Scenario, adapter: Any) -> dict[str, Any]:
    options = _options(job, scenario)

    async def construct() -> None:
        await (await adapter.async_session(options)).aclose()

    async def noop() -> None:
        pass

    async def main(spawn: Spawn) -> dict[str, Any]:
        sockets0 = _sockets()  # after the event loop's own sockets
        session = None
        if scenario.kind != "construct":
            session = await adapter.async_session(options)
        ops = {"construct": construct, "noop": noop}
        if session is not None:
            ops |= _session_ops(job, scenario, session)
        steps = script(job, scenario, sockets0)
        try:
            step = next(steps)
            while True:
                done = await async_loop(ops[step.op], step.n, step.workers,
                                        time.perf_counter() + step.cap, spawn)
                step = steps.send(done)
        except StopIteration as end:
            return end.value
        finally:
            if session is not None:
                await session.aclose()

    return run_async(job["mode"], main)


def run_tool(job: Job, scenario: matrix.Scenario) -> dict[str, Any]:
    """wrk / h2load doing the scenario's load; CPU is the tool's (RUSAGE_CHILDREN)."""
    import re
    import subprocess

    argv = scenario.wrk.split()
    if argv[0] == "wrk":
        argv += ["-d", f"{max(1, round(job['cap']))}s", job["url"]]
        if job["body"]:
            argv += ["-s", job["wrk_upload_script"]]
    else:
        argv += ["-n", str(_count(job, scenario)), job["url"]]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=job["cap"] + 60).stdout
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if argv[0] == "wrk":
        done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if not done or errors:
            raise RuntimeError(f"wrk: {out.strip()[-300:]}")
        seconds = float(done[2]) / (1000 if done[3] == "ms" else 1)
        return {"count": int(done[1]), "wall": seconds, "cpu": cpu}
    done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded", out)
    took = re.search(r"finished in ([\d.]+)(m?s)", out)
    if not done or not took or int(done[1]) == 0:
        raise RuntimeError(f"h2load: {out.strip()[-300:]}")
    seconds = float(took[1]) / (1000 if took[2] == "ms" else 1)
    return {"count": int(done[1]), "wall": seconds or wall, "cpu": cpu}


def run(job: Job) -> dict[str, Any]:
    scenario = matrix.SCENARIO[job["scenario"]]
    if job["mode"] == matrix.TOOL:
        return run_tool(job, scenario)
    adapter = importlib.import_module(f"adapters.{job['client']}")
    if job["mode"] == matrix.SYNC:
        return run_sync(job, scenario, adapter)
    return run_async_cell(job, scenario, adapter)


def _describe(e: BaseException) -> str:
    """One line: the exception, and where it was raised when it says nothing itself."""
    while getattr(e, "exceptions", None):  # an exception group (trio's nursery): its first
        e = e.exceptions[0]  # type: ignore[attr-defined]
    lines = str(e).strip().splitlines()
    text = f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__
    if not lines and e.__traceback__ is not None:
        import traceback

        where = traceback.extract_tb(e.__traceback__)[-1]
        text += f" at {os.path.basename(where.filename)}:{where.lineno} ({where.name})"
    return text[:200]


def main() -> None:
    job: Job = json.loads(sys.argv[1])
    job["body"] = os.urandom(job["upload_size"]) if job["upload_size"] else None
    try:
        result = run(job)
    except BaseException as e:  # the cell reports any failure as its result
        result = {"error": _describe(e)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
