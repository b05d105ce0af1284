"""Turn the cells' raw results into bench/RESULTS.md and one PNG chart per scenario group."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matrix
import server

Row = dict[str, Any]
GB = 1e9

# kind -> (primary label, primary value, secondary label, secondary value); primary: lower is
# better, and it is what the ratios and the charts use.
METRICS: dict[str, tuple[str, Callable[[Row], float], str, Callable[[Row], float]]] = {
    "requests": ("CPU µs/req", lambda r: r["cpu"] / r["count"] * 1e6,
                 "req/s", lambda r: r["count"] / r["wall"]),
    "download": ("CPU s/GB", lambda r: r["cpu"] / (r["count"] * server.DOWNLOAD_SIZE / GB),
                 "MB/s", lambda r: r["count"] * server.DOWNLOAD_SIZE / r["wall"] / 1e6),
    "hold": ("RSS Δ KiB", lambda r: r["rss_kib"], "sockets held", lambda r: r["sockets"]),
    "import": ("CPU ms", lambda r: r["cpu"] * 1e3, "wall ms", lambda r: r["wall"] * 1e3),
    "construct": ("CPU µs/client", lambda r: r["cpu"] / r["count"] * 1e6,
                  "clients/s", lambda r: r["count"] / r["wall"]),
}
PACKAGES = ("rapidhttp", "httptools", "h2", "jh2", "httpx", "httpcore", "h11", "httpx2",
            "aiohttp", "uvloop", "trio", "anyio", "requests", "urllib3", "niquests",
            "urllib3-future", "pyreqwest", "pycurl")


class Stat:
    """Median and min-max of one cell's repetitions (or its error)."""

    def __init__(self, rows: list[Row], kind: str) -> None:
        ok = [r for r in rows if "error" not in r and r.get("count")]
        self.error = "" if ok else (rows[0].get("error", "no result") if rows else "")
        _, primary, _, secondary = METRICS[kind]
        self.primary = sorted(primary(r) for r in ok)
        self.secondary = sorted(secondary(r) for r in ok)

    @property
    def median(self) -> float:
        return statistics.median(self.primary)


def _num(x: float) -> str:
    if x == int(x) and x < 1000:
        return str(int(x))
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _spread(values: list[float]) -> str:
    return f"{_num(values[0])}–{_num(values[-1])}" if len(values) > 1 else ""


def _order(row: Row) -> tuple[int, int]:
    """Rows in the order of matrix.CLIENTS and their modes; the load tools last."""
    names = [c.name for c in matrix.CLIENTS] + list(matrix.TOOLS)
    modes = (matrix.SYNC, matrix.ASYNCIO, matrix.UVLOOP, matrix.TRIO, matrix.TOOL)
    return names.index(row["client"]), modes.index(row["mode"])


def _collect(rows: list[Row]) -> dict[str, dict[str, list[Row]]]:
    by: dict[str, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for r in sorted(rows, key=_order):
        by[r["scenario"]][r["label"]].append(r)
    return by


def _reference(stats: dict[str, Stat], label: str) -> Stat | None:
    """The rapidhttp row a row is compared with: the same I/O mode, else the first one."""
    mode = label[label.find("[") + 1:-1] if "[" in label else ""
    same = stats.get(matrix.variant("rapidhttp", mode))
    candidates = [same] if same else [s for k, s in stats.items() if k.startswith("rapidhttp")]
    return next((s for s in candidates if s and not s.error), None)


def _ratio(stat: Stat, ref: Stat | None) -> str:
    if stat.error or ref is None or ref.median == 0:
        return "–"
    ratio = stat.median / ref.median
    return f"{ratio:.1f}×" if ratio >= 9.95 else f"{ratio:.2f}×"


def _scenario_table(s: matrix.Scenario, stats: dict[str, Stat]) -> list[str]:
    primary, _, secondary, _ = METRICS[s.kind]
    lines = [f"| client | {primary} (median) | spread | {secondary} (median) | spread "
             "| vs rapidhttp |", "|---|---:|---:|---:|---:|---:|"]
    for label, st in stats.items():
        if st.error:
            lines.append(f"| {label} | error: {st.error.replace('|', '/')} | | | | – |")
            continue
        lines.append(
            f"| {label} | {_num(st.median)} | {_spread(st.primary)} "
            f"| {_num(statistics.median(st.secondary))} | {_spread(st.secondary)} "
            f"| {_ratio(st, _reference(stats, label))} |"
        )
    return lines


def _summary(by: dict[str, dict[str, Stat]], labels: list[str]) -> list[str]:
    """Variants x request scenarios, CPU per request (and per GB for the download)."""
    cols = [s for s in matrix.SCENARIOS if s.name in by and s.kind in ("requests", "download")]
    if not cols:
        return []
    labels = [label for label in labels if any(label in by[s.name] for s in cols)]
    head = " | ".join(f"{s.name} ({METRICS[s.kind][0]})" for s in cols)
    lines = [f"| client | {head} |", "|---|" + "---:|" * len(cols)]
    for label in labels:
        cells = []
        for s in cols:
            st = by[s.name].get(label)
            if st is None:
                cells.append("–")
            elif st.error:
                cells.append("error")
            elif label.startswith("rapidhttp"):
                cells.append(f"**{_num(st.median)}**")
            else:
                ratio = _ratio(st, _reference(by[s.name], label))
                cells.append(f"{_num(st.median)} ({ratio})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def write(rows: list[Row], meta: dict[str, Any], out: Path) -> None:
    by = {
        name: {label: Stat(rs, matrix.SCENARIO[name].kind) for label, rs in cells.items()}
        for name, cells in _collect(rows).items()
    }
    labels = list(dict.fromkeys(r["label"] for r in sorted(rows, key=_order)))
    charts = _charts(by, out.parent)
    md = [
        "# rapidhttp benchmark results",
        "",
        f"Made by `{meta['command']}` on {meta['date']} ({meta['duration']}).",
        "",
        "**Machine:** " + "; ".join(f"{k}: {v}" for k, v in meta["machine"].items()) + ".",
        "",
        "**Versions:** " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".",
        "",
        "## How to read this",
        "",
        "- The server is nginx on 127.0.0.1 (keep-alive HTTP/1.1, TLS 1.3, HTTP/2 by ALPN and "
        "by prior knowledge); "
        "every client runs in a fresh process, and every cell was repeated "
        f"{meta['reps']} times, interleaved with the other clients.",
        f"- {meta['placement']}",
        "- **CPU µs/req** is the client process's own user+sys CPU time (getrusage) around the "
        "measured loop, divided by the requests made: the robust figure on a shared machine. "
        "req/s depends on everything else the machine does.",
        "- Values are medians over the repetitions, *spread* is min–max. *vs rapidhttp* is the "
        "row's primary figure divided by rapidhttp's in the same I/O mode (below 1 = cheaper "
        "than rapidhttp).",
        "- `[sync]`, `[asyncio]`, `[uvloop]`, `[trio]` name the I/O mode; **wrk** and **h2load** "
        "rows are C load generators doing the same load: the machine's limit.",
        "- – : the client cannot do this scenario (e.g. no async API, no HTTP/2).",
        "- Every client gets the same configuration: a pool of up to 100 connections to the "
        "host, all kept alive, and certificate verification against the benchmark's CA; "
        "everything else is the library's default. *Client construction* uses the default TLS "
        "setup (no CA given), as `Client()` in an application does.",
        "- *Holding 100 open connections*: RSS growth while 100 requests to a 1-second endpoint "
        "run at once and leave their connections in the pool; *sockets held* checks that the "
        "pool really kept 100.",
        "",
        "## Summary: client CPU per request (lower is better)",
        "",
        *_summary(by, labels),
        "",
    ]
    for group in matrix.GROUPS:
        scenarios = [s for s in matrix.SCENARIOS if s.group == group and s.name in by]
        if not scenarios:
            continue
        md += [f"## {matrix.GROUPS[group]}", ""]
        if group in charts:
            md += [f"![{group}]({charts[group]})", ""]
        for s in scenarios:
            md += [f"### {s.title} (`{s.name}`)", "", *_scenario_table(s, by[s.name]), ""]
    out.write_text("\n".join(md))


def _charts(by: dict[str, dict[str, Stat]], folder: Path) -> dict[str, str]:
    """One PNG per scenario group: a horizontal bar per client, error bars = min–max."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = {}
    for group in matrix.GROUPS:
        scenarios = [s for s in matrix.SCENARIOS if s.group == group and s.name in by]
        if not scenarios:
            continue
        height = max(3.0, 0.28 * max(len(by[s.name]) for s in scenarios) + 1.2)
        cols = min(2, len(scenarios))
        rows = -(-len(scenarios) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, height * rows), squeeze=False)
        for ax in axes.flat[len(scenarios):]:
            ax.set_visible(False)
        for ax, s in zip(axes.flat, scenarios, strict=False):
            ok = [(label, st) for label, st in by[s.name].items() if not st.error]
            names = [label for label, _ in ok][::-1]
            med = [st.median for _, st in ok][::-1]
            err = [[st.median - st.primary[0] for _, st in ok][::-1],
                   [st.primary[-1] - st.median for _, st in ok][::-1]]
            colors = ["#d62728" if n.startswith("rapidhttp") else
                      "#7f7f7f" if n in matrix.TOOLS else "#1f77b4" for n in names]
            ax.barh(names, med, xerr=err, color=colors, capsize=2)
            tops = [st.primary[-1] for _, st in ok][::-1]
            for y, (value, top) in enumerate(zip(med, tops, strict=True)):
                ax.annotate(_num(value), (top, y), xytext=(4, -3), textcoords="offset points",
                            fontsize=7)
            ax.margins(x=0.12)
            failed = [label for label, st in by[s.name].items() if st.error]
            if failed:  # not drawn, but not silently missing either
                ax.text(0.99, 0.01, "error: " + ", ".join(failed), transform=ax.transAxes,
                        ha="right", va="bottom", fontsize=7, color="#d62728")
            if med and min(med) > 0 and max(med) / min(med) > 30:
                ax.set_xscale("log")
            ax.set_title(s.title, fontsize=10)
            ax.set_xlabel(METRICS[s.kind][0] + " (lower is better)", fontsize=9)
            ax.tick_params(labelsize=8)
            ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        name = f"chart-{group}.png"
        fig.savefig(folder / name, dpi=100)
        plt.close(fig)
        made[group] = name
    return made


def _first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except OSError:
        return "not found"
    return (done.stdout + done.stderr).strip().splitlines()[0]


def describe_machine(args: argparse.Namespace, started: float, ended: float) -> dict[str, Any]:
    import time

    cpu_model = next((line.split(":", 1)[1].strip() for line in
                      Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), platform.processor())
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    versions["nginx"] = _first_line(["nginx", "-v"]).split("/")[-1]
    versions["wrk"] = _first_line(["wrk", "-v"]).split()[1]
    versions["h2load"] = _first_line(["h2load", "--version"]).split("/")[-1]
    placement = (
        f"nginx and every client process were pinned to CPU {args.cpu} (same core: a "
        "sequential client never leaves the core idle, which on this VM would add a wake-up "
        "cost to every request); the other core runs everything else on the machine."
        if args.cpu is not None else "No CPU pinning."
    )
    return {
        "command": "bench/run " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "duration": f"{(ended - started) / 60:.1f} min",
        "reps": args.reps,
        "placement": placement,
        "machine": {
            "CPU": f"{cpu_model}, {os.cpu_count()} cores",
            "OS": f"{platform.system()} {platform.release()}",
            "Python": f"{platform.python_implementation()} {platform.python_version()}",
            "OpenSSL": ssl.OPENSSL_VERSION.split()[1],
        },
        "versions": versions,
    }


if __name__ == "__main__":
    # Re-render the report from the last run's raw results: `python bench/report.py [OUT]`.
    raw = json.loads((Path(__file__).parent / ".work" / "results.json").read_text())
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "RESULTS.md"
    write(raw["rows"], raw["meta"], target)
