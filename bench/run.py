"""The orchestrator (started by `bench/run`): nginx up, every cell in its own process, report.

Repetitions are interleaved: each repetition runs every scenario once for every client, in a
rotating order, so a slow minute on the shared machine hits all clients alike.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matrix
import report
import server

BENCH = Path(__file__).resolve().parent
WORK = BENCH / ".work"
PORT_SCHEME = {"http": "http", "https": "https", "h2": "https", "h2c": "http"}
# Environment variables that would make a library leave its defaults (requests, for one, lets
# REQUESTS_CA_BUNDLE override the session's CA file): the cells run without them.
FOREIGN_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
               "NIX_SSL_CERT_FILE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
CELL_ENV = {k: v for k, v in os.environ.items() if k.upper() not in FOREIGN_ENV}


@dataclass(frozen=True)
class Cell:
    client: str  # a library, or a load tool (wrk, h2load)
    mode: str
    scenario: matrix.Scenario

    @property
    def label(self) -> str:
        if self.mode == matrix.TOOL or self.scenario.kind == "import":
            return self.client
        return matrix.variant(self.client, self.mode)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    p.add_argument("--quick", action="store_true",
                   help="small counts, short caps, 2 repetitions: the whole matrix in minutes")
    p.add_argument("--only", default="", help="comma-separated scenarios: "
                   + ",".join(s.name for s in matrix.SCENARIOS))
    p.add_argument("--clients", default="", help="comma-separated clients (and tools): "
                   + ",".join([c.name for c in matrix.CLIENTS] + list(matrix.TOOLS)))
    p.add_argument("--reps", type=int, help="repetitions (default: 3, --quick: 2)")
    p.add_argument("--cap", type=float,
                   help="seconds at most per measured loop (default: 5, --quick: 1)")
    p.add_argument("--cpu", default="0", help="CPU that nginx and every client process are "
                   "pinned to, or 'none' (default 0: the same core, see RESULTS.md)")
    p.add_argument("--out", default=str(BENCH / "RESULTS.md"), help="the Markdown report")
    args = p.parse_args(argv)
    args.reps = args.reps or (2 if args.quick else 3)
    args.cap = args.cap or (1.0 if args.quick else 5.0)
    args.cpu = None if args.cpu == "none" else int(args.cpu)
    for name, known in (("only", matrix.SCENARIO), ("clients", {**matrix.CLIENT, "wrk": 0,
                                                                "h2load": 0})):
        unknown = [x for x in _names(getattr(args, name)) if x not in known]
        if unknown:
            p.error(f"--{name}: unknown {', '.join(unknown)}")
    return args


def _names(csv: str) -> list[str]:
    return [x.strip() for x in csv.split(",") if x.strip()]


def plan(args: argparse.Namespace) -> list[Cell]:
    only, wanted = set(_names(args.only)), set(_names(args.clients))
    cells = []
    for s in matrix.SCENARIOS:
        if only and s.name not in only:
            continue
        for c in matrix.CLIENTS:
            if not wanted or c.name in wanted:
                cells += [Cell(c.name, m, s) for m in c.modes if matrix.supports(c, m, s)]
        tool = s.wrk.split()[0] if s.wrk else ""
        if tool and (not wanted or tool in wanted):
            cells.append(Cell(tool, matrix.TOOL, s))
    return cells


def job_for(cell: Cell, ports: dict[str, int], args: argparse.Namespace) -> dict[str, Any]:
    s = cell.scenario
    origin = f"{PORT_SCHEME[s.port]}://127.0.0.1:{ports[s.port]}"
    return {
        "client": cell.client, "mode": cell.mode, "scenario": s.name, "quick": args.quick,
        "cap": args.cap, "url": origin + s.path, "warm_url": origin + "/json",
        "ca_file": str(WORK / "ca.pem"), "wrk_upload_script": str(WORK / "upload.lua"),
        "upload_size": server.UPLOAD_SIZE if s.upload else 0,
    }


def run_cell(cell: Cell, ports: dict[str, int], args: argparse.Namespace) -> dict[str, Any]:
    python = sys.executable
    if cell.scenario.kind == "import":
        argv = [python, str(BENCH / "import_probe.py"), matrix.CLIENT[cell.client].module]
    else:
        argv = [python, str(BENCH / "cell.py"), json.dumps(job_for(cell, ports, args))]
    try:
        done = subprocess.run(argv, cwd=BENCH, env=CELL_ENV, capture_output=True, text=True,
                              timeout=args.cap + 90, preexec_fn=server.pin_to(args.cpu))
    except subprocess.TimeoutExpired:  # subprocess.run has killed it
        return {"error": f"no answer within {args.cap + 90:.0f} s"}
    lines = done.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        result = {"error": f"exit {done.returncode}: {tail[:200]}"}
    return result


def measure(cells: list[Cell], ports: dict[str, int], args: argparse.Namespace) -> list[dict]:
    rows: list[dict[str, Any]] = []
    scenarios = list(dict.fromkeys(c.scenario for c in cells))
    for rep in range(args.reps):
        for s in scenarios:
            group = [c for c in cells if c.scenario == s]
            k = rep % len(group)
            for cell in group[k:] + group[:k]:  # rotate: no client always goes first
                t0 = time.monotonic()
                result = run_cell(cell, ports, args)
                took = time.monotonic() - t0
                note = result.get("error") or f"{result['count']} in {result['wall']:.2f}s"
                print(f"[{rep + 1}/{args.reps}] {s.name:9} {cell.label:22} {took:5.1f}s  {note}",
                      file=sys.stderr, flush=True)
                rows.append({"scenario": s.name, "label": cell.label, "client": cell.client,
                             "mode": cell.mode, "rep": rep, **result})
    return rows


def _stop_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(f"bench: stopped by signal {signum}")  # `finally` then stops nginx


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    cells = plan(args)
    if not cells:
        raise SystemExit("bench: nothing to run for this --only/--clients selection")
    server.prepare(WORK)
    # Ctrl-C raises KeyboardInterrupt even where SIGINT was inherited ignored (a background
    # job); TERM and HUP stop the run the same way.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    nginx = server.Nginx(WORK, args.cpu)
    started = time.time()
    try:
        ports = nginx.start()
        print(f"bench: nginx on 127.0.0.1 {ports}; {len(cells)} cells x {args.reps} reps",
              file=sys.stderr)
        rows = measure(cells, ports, args)
    finally:
        nginx.stop()
    meta = report.describe_machine(args, started, time.time())
    (WORK / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    report.write(rows, meta, Path(args.out))
    print(f"bench: wrote {args.out} and its charts", file=sys.stderr)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        raise SystemExit("bench: interrupted (nginx was stopped)") from None
