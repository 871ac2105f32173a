"""CPU per write on both sides of the socket, ours next to raw asyncpg, without HTTP.

The suite measures throughput over real HTTP with the load generator on the same two cores, where
runs of the same code differ by a third. To decide a change to the write path, two figures say
more: this process's CPU per request, and Postgres' (all its processes, from /proc). Postgres runs
on the same cores, so CPU it spends on our statements costs throughput as much as our own does
(RESULTS.md, session 5: our JSON document cost Postgres more than it saved us).

Our app is driven in this process over ASGI (its lifespan runs: change feed, webhooks), on a
freshly filled database; raw asyncpg then runs the baseline's SQL (baseline_sql.py) on the same
kind of leads. Compare versions by running it on each, alternating, on a quiet machine:

    uv run python -m bench.inprocess --leads 20000 --requests 3000 --concurrency 8 --rounds 3

The write is recordActivity (email_open on SQL and WON leads, which it never moves) or, with
`--write transition`, transitionLead RECYCLE on MQL, OPPORTUNITY and LOST leads: ours takes each
such lead once (a recycled lead cannot be recycled again), raw asyncpg takes each of the other
leads once, as in the suite (it checks no guard). Each round needs `--requests` recyclable leads
of its own: about 30% of `--leads`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import uvloop

from bench import baseline_sql
from bench.database import fresh_database, postgres_server
from bench.fill import fill
from bench.scenarios import RECORD_ACTIVITY, RECYCLE_REASON, TRANSITION
from leadcycle.graph.app import create_app
from leadcycle.graph.settings import Settings
from leadcycle.persistence.database import plain_url

LEADS = "SELECT id FROM leads WHERE stage = ANY($1::text[]) ORDER BY id LIMIT $2"


@dataclass(frozen=True)
class Write:
    """One kind of write: the leads ours writes to and raw's, our request for a lead, raw's SQL."""

    ours_stages: tuple[str, ...]
    raw_stages: tuple[str, ...]
    request: Callable[[UUID], bytes]
    raw: Callable[[asyncpg.Connection, UUID], Awaitable[object]]


def _record_activity(lead: UUID) -> bytes:
    variables = {"input": {"leadId": str(lead), "kind": "email_open"}}
    return orjson.dumps({"query": RECORD_ACTIVITY, "variables": variables})


def _recycle(lead: UUID) -> bytes:
    variables = {"input": {"leadId": str(lead), "event": "RECYCLE", "reason": RECYCLE_REASON}}
    return orjson.dumps({"query": TRANSITION, "variables": variables})


STEADY = ("SQL", "WON")  # leads a score change never moves
WRITES = {
    "activity": Write(
        STEADY,
        STEADY,
        _record_activity,
        lambda c, lead: baseline_sql.record_activity(c, lead, "email_open", "anonymous"),
    ),
    "transition": Write(
        ("MQL", "OPPORTUNITY", "LOST"),
        ("COLD", "WARM", "SQL", "WON", "RECYCLED"),  # raw checks no guard: any lead ours does not take
        _recycle,
        lambda c, lead: baseline_sql.recycle(c, lead, RECYCLE_REASON, "anonymous"),
    ),
}


def postgres_cpu_seconds() -> float:
    """User and system CPU of every process named postgres (a backend that exits takes its share with it)."""
    total = 0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().startswith("postgres"):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        except OSError:  # gone meanwhile
            continue
    return total / os.sysconf("SC_CLK_TCK")


async def measured(label: str, call: Callable[[], Awaitable[None]], requests: int, concurrency: int) -> None:
    """Run `call` `requests` times from `concurrency` tasks (after a warm-up); print the CPU per request."""

    async def worker(count: int) -> None:
        for _ in range(count):
            await call()

    await asyncio.gather(*(worker(20) for _ in range(concurrency)))
    wall, ours, postgres = time.perf_counter(), time.process_time(), postgres_cpu_seconds()
    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
    done = requests // concurrency * concurrency
    wall, ours, postgres = (
        time.perf_counter() - wall,
        time.process_time() - ours,
        postgres_cpu_seconds() - postgres,
    )
    print(
        f"{label:>10}: {done / wall:6.0f}/s, CPU µs per request: this process {ours / done * 1e6:6.0f},"
        f" postgres {postgres / done * 1e6:6.0f}"
    )


def asgi_caller(app: Any, bodies: Iterator[bytes]) -> Callable[[], Awaitable[None]]:
    """One POST /graphql of the next body, straight to the ASGI app; raises unless the lead came back."""

    async def call() -> None:
        body, answer = next(bodies), bytearray()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"bench"), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            answer.extend(message.get("body", b""))

        await app(scope, receive, send)
        if b'"LeadPayload"' not in answer:
            raise RuntimeError(f"unexpected answer {bytes(answer[:300])!r}")

    return call


async def main(options: argparse.Namespace) -> None:
    with postgres_server(options.database_url) as server:
        async with fresh_database(server) as url:
            await fill(url, options.leads, log=lambda *_: None)
            write = WRITES[options.write]
            connection = await asyncpg.connect(plain_url(url))
            ours: list[UUID] = [row["id"] for row in await connection.fetch(LEADS, write.ours_stages, 100_000)]
            raws: list[UUID] = [row["id"] for row in await connection.fetch(LEADS, write.raw_stages, 100_000)]
            await connection.close()
            bodies = map(write.request, itertools.cycle(ours))
            raw_leads = itertools.cycle(raws)  # shared by the rounds, as ours' are
            app = create_app(Settings(), url)
            async with app.router.lifespan_context(app), raw_pool(url) as pool:
                for _ in range(options.rounds):  # alternating, so that neither side always runs on a fresher database
                    await measured("ours", asgi_caller(app, bodies), options.requests, options.concurrency)
                    await measured("raw", raw_caller(pool, raw_leads, write), options.requests, options.concurrency)


@contextlib.asynccontextmanager
async def raw_pool(url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool of raw asyncpg connections, as the suite's raw baseline has."""
    pool = await asyncpg.create_pool(
        plain_url(url), min_size=10, max_size=20, init=baseline_sql.setup_connection, reset=baseline_sql.keep_as_is
    )
    try:
        yield pool
    finally:
        await pool.close()


def raw_caller(pool: asyncpg.Pool, leads: Iterator[UUID], write: Write) -> Callable[[], Awaitable[None]]:
    """The baseline's SQL for the next lead, as the suite's raw baseline runs it."""

    async def call() -> None:
        async with pool.acquire() as connection:
            await write.raw(connection, next(leads))

    return call


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=3_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--write", choices=sorted(WRITES), default="activity")
    parser.add_argument("--rounds", type=int, default=1, help="ours then raw, this many times")
    parser.add_argument("--database-url", help="Postgres server to create the database on (default: as the suite)")
    uvloop.run(main(parser.parse_args()))  # the event loop uvicorn serves ours on
