"""The results table (terminal and Markdown) and the machine it was measured on."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.load import Measurement

START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"


@dataclass
class Row:
    """One scenario at one concurrency (or subscriber count), for ours and both baselines."""

    scenario: str
    load: str
    ours: Measurement | None = None
    bare: Measurement | None = None
    raw: Measurement | None = None

    def failures(self) -> int:
        return sum(m.failures for m in (self.ours, self.bare, self.raw) if m is not None)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" (with uncommitted changes in src/)" if git("status", "--porcelain", "src") else "")


def machine(postgres: str, leads: int, settings: str) -> list[tuple[str, str]]:
    return [
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("git commit", git_commit()),
        ("machine", f"{os.cpu_count()} cores (nproc), {cpu_model()}"),
        ("Python, Postgres", f"{platform.python_version()}, {postgres}"),
        ("leads", f"{leads:,}"),
        ("run", settings),
    ]


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _cells(measurement: Measurement | None) -> list[str]:
    if measurement is None:
        return ["—", "—", "—"]
    mark = "*" if measurement.exhausted else ""
    return [f"{measurement.throughput:,.0f}{mark}", _ms(measurement.percentile(50)), _ms(measurement.percentile(99))]


def _ratio(ours: float, bare: float) -> str:
    return f"{ours / bare:.2f}" if bare else "—"


def _cpu(measurement: Measurement | None) -> float | None:
    return None if measurement is None else measurement.cpu_per_request


def cells(row: Row) -> list[str]:
    ratios = ["—", "—"]
    if row.ours is not None and row.bare is not None:
        ratios = [
            _ratio(row.ours.throughput, row.bare.throughput),
            _ratio(row.ours.percentile(99), row.bare.percentile(99)),
        ]
    ours_cpu, bare_cpu = _cpu(row.ours), _cpu(row.bare)
    cpu = [f"{value:,.0f}" if value is not None else "—" for value in (ours_cpu, bare_cpu)]
    cpu.append(_ratio(ours_cpu, bare_cpu) if ours_cpu is not None and bare_cpu is not None else "—")
    return [
        row.scenario,
        row.load,
        *_cells(row.ours),
        *_cells(row.bare),
        *_cells(row.raw),
        *ratios,
        *cpu,
        str(row.failures()),
    ]


HEADER = [
    "scenario",
    "C",
    "ours req/s",
    "ours p50 ms",
    "ours p99 ms",
    "bare req/s",
    "bare p50",
    "bare p99",
    "raw asyncpg /s",
    "raw p50",
    "raw p99",
    "ours/bare req/s",
    "ours/bare p99",
    "ours CPU µs/req",
    "bare CPU µs/req",
    "ours/bare CPU",
    "errors",
]


def markdown(rows: list[Row], about: list[tuple[str, str]]) -> str:
    lines = [f"- {name}: {value}" for name, value in about]
    lines += ["", "| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(HEADER) - 2)) + "|"]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    lines += [
        "",
        "Throughput is requests (or, for raw asyncpg, transactions and statements) per second; for the "
        "subscription rows it is changes per second delivered to every subscriber, and p50/p99 are the "
        "delivery latencies. CPU µs/req: the server process's CPU time (user and system, /proc) in the measured "
        "seconds per request answered, steadier than throughput when other work shares the cores. "
        "`*`: the scenario ran out of leads it may use before the time was up.",
    ]
    return "\n".join(lines) + "\n"


def terminal(rows: list[Row]) -> str:
    table = [HEADER, *(cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)) for line in table)


def write_results(path: Path, block: str) -> None:
    """Replace the generated block of `path` (between the markers), keeping the hand-written rest."""
    generated = f"{START}\n{block}{END}"
    if path.exists() and START in (text := path.read_text()) and END in text:
        before, rest = text.split(START, 1)
        path.write_text(before + generated + rest.split(END, 1)[1])
    else:
        path.write_text(f"# Benchmark results\n\nHow to run and read them: [README.md](README.md).\n\n{generated}\n")
