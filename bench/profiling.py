"""Where the server's time goes: py-spy on the server process, summarised by library.

`record` samples the server while a scenario runs (py-spy must be on PATH: run the benchmark
with `uv run --with py-spy python -m bench --profile DIR ...`). `summarize` reads py-spy's raw
(collapsed) stacks and attributes each sample to the library that owns it: the innermost frame
that belongs to a known library, so the standard library's work (dataclasses, typing, json ...)
is charged to whoever called it. It also gives the share of samples with a library anywhere on
the stack (inclusive) and the hottest leaf functions. Standalone:

    python -m bench.profiling DIR/leads_page.txt
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

# Checked innermost-first along the stack; the first library found owns the sample.
LIBRARIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("json (stdlib)", ("/json/",)),
    ("leadcycle (ours)", ("/leadcycle/",)),
    ("strawberry", ("/strawberry/",)),
    ("graphql-core", ("/graphql/",)),
    ("SQLAlchemy", ("/sqlalchemy/",)),
    ("asyncpg", ("/asyncpg/",)),
    ("starlette", ("/starlette/",)),
    ("uvicorn, httptools, websockets", ("/uvicorn/", "/httptools/", "/websockets/")),
    ("transitions", ("/transitions/",)),
    ("pydantic", ("/pydantic",)),
    ("asyncio, uvloop", ("/asyncio/", "uvloop")),
)
# Where a request's time goes: the innermost frame that falls in one of these decides.
WORK: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("asyncpg (driver)", ("/asyncpg/",)),
    ("SQLAlchemy (Core, pool, dialect)", ("/sqlalchemy/",)),
    ("JSON encoding and decoding (stdlib json)", ("/json/",)),
    ("GraphQL validation (graphql-core rules, limiter extensions)", ("/graphql/validation/", "_limiter.py")),
    ("GraphQL parsing", ("/graphql/language/parser", "/graphql/language/lexer")),
    ("GraphQL execution (graphql-core executor)", ("/graphql/execution/",)),
    ("our code (resolvers, domain, mapping, middleware)", ("/leadcycle/",)),
    ("strawberry (view, extensions, field and type glue)", ("/strawberry/",)),
    ("HTTP (uvicorn, httptools, starlette)", ("/uvicorn/", "/httptools/", "/starlette/")),
    ("event loop (asyncio, uvloop)", ("/asyncio/", "uvloop")),
)
RATE = 250  # samples per second
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _path(frame: str) -> str:
    match = _FRAME.match(frame)
    return "/" + (match["file"] if match else frame)  # py-spy gives site-packages paths relative


def _first(paths: list[str], table: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
    for path in paths:
        for name, markers in table:
            if any(marker in path for marker in markers):
                return name
    return None


def work(paths: list[str]) -> str:
    """What a sample (its stack's file paths, root first) is doing, by WORK."""
    return _first(paths[::-1], WORK) or "other (interpreter, stdlib)"


def py_spy() -> str:
    found = shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy is not installed: run `uv run --with py-spy python -m bench --profile DIR ...`")
    return found


async def record(pid: int, seconds: float, output: Path) -> asyncio.subprocess.Process:
    """Start sampling `pid` for `seconds` (without pausing it) into `output` (raw stacks)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    return await asyncio.create_subprocess_exec(
        py_spy(),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        str(RATE),
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(output),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for anchor in ("site-packages/", "/src/", "/lib/python3"):
        if anchor in path:
            path = path.split(anchor, 1)[1]
            break
    return f"{match['function']} ({path})"


def summarize(raw: Path, top: int = 15) -> str:
    """Markdown: where the time goes, samples by owning library, and the hottest functions."""
    owners: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    doing: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count, frames = int(count_text), stack.split(";")
        paths = [_path(frame) for frame in frames]
        total += count
        doing[work(paths)] += count
        owners[_first(paths[::-1], LIBRARIES) or "other (stdlib, interpreter)"] += count
        for name in {_first([path], LIBRARIES) for path in paths} - {None}:
            inclusive[str(name)] += count
        leaves[_short(frames[-1])] += count
        for frame in {f for f, path in zip(frames, paths, strict=True) if "/leadcycle/" in path}:
            ours[_short(frame)] += count
    if not total:
        return "no samples\n"

    def share(count: int) -> str:
        return f"{100 * count / total:.1f}%"

    lines = [f"{total} samples ({RATE} Hz, CPU only).", "", "| where the time goes | share |", "|---|---:|"]
    lines += [f"| {name} | {share(count)} |" for name, count in doing.most_common()]
    lines += ["", "| library (innermost library frame) | self | on stack |", "|---|---:|---:|"]
    lines += [f"| {name} | {share(count)} | {share(inclusive[name])} |" for name, count in owners.most_common()]
    lines += ["", "| hottest leaf functions | self |", "|---|---:|"]
    lines += [f"| `{name}` | {share(count)} |" for name, count in leaves.most_common(top)]
    lines += ["", "| our functions on the stack | inclusive |", "|---|---:|"]
    lines += [f"| `{name}` | {share(count)} |" for name, count in ours.most_common(top)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(f"## {argument}\n\n{summarize(Path(argument))}")
