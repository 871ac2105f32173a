"""Webhook deliveries per second: our server's worker next to raw asyncpg doing the same SQL.

    uv run python -m bench.webhooks                         # 2,000 deliveries, concurrency 16
    uv run python -m bench.webhooks --deliveries 5000 --concurrency 32

A receiver in a process of its own answers every post with 204. Each system drains a backlog of
`--deliveries` queued deliveries, one per lead (so per-lead order never makes one wait), to that
receiver, `--concurrency` posts at a time; the clock runs until the database shows every one
DELIVERED. Posts: as many posts from this process with httpx and no database (the ceiling). Raw:
this process claims with our claim statement (FOR UPDATE SKIP LOCKED), posts with httpx and
records each outcome, on plain asyncpg. Ours: `leadcycle` in its own process (bench.server) with
default settings but LEADCYCLE_WEBHOOK_CONCURRENCY and a 50 ms poll, its backlog queued while the
endpoint was paused and released by resuming it. The dispatch figure is how fast our dispatcher
turned the logged changes into deliveries once the server was up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.database import fresh_database, postgres_server
from bench.processes import ROOT, ServerProcess, free_port
from leadcycle.domain.commands import CreateLead
from leadcycle.domain.model import Company, Contact
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.domain.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, new_endpoint, sign
from leadcycle.persistence import webhooks
from leadcycle.persistence.database import create_engine
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from leadcycle.persistence.webhook_delivery import CLAIM, WorkerOptions
from leadcycle.persistence.webhook_dispatch import dispatch_batch

SECRET = "bench-secret-0123456789"
RAW_CLAIM = str(CLAIM).replace(":limit", "$1").replace(":lease", "$2")
RAW_DELIVERED = """UPDATE webhook_deliveries SET status = 'DELIVERED', delivered_at = now(), last_status_code = $3,
    last_error = NULL WHERE id = $1 AND attempts = $2 AND status = 'IN_FLIGHT'"""
DONE = "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'DELIVERED'"
QUEUED = "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1"


async def receiver_app(scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any) -> None:
    """The receiver: reads the body, answers 204 (ASGI, no framework: it must not be the bottleneck)."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def start_receiver(port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "bench.webhooks:receiver_app", "--port", str(port)]
    with log.open("wb") as output:
        return subprocess.Popen([*command, "--log-level", "warning", "--no-access-log"], cwd=ROOT, stdout=output)


async def receiver_ready(url: str, within: float = 30.0) -> None:
    async with asyncio.timeout(within), httpx.AsyncClient() as http:
        while True:
            try:
                await http.post(url, content=b"{}")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)


async def until(read: Callable[[], Awaitable[int]], target: int, within: float = 600.0) -> None:
    """Poll until `read()` reaches `target` (the work happens in other processes or tasks)."""
    async with asyncio.timeout(within):
        while await read() < target:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


class Bench:
    """The benchmark's database: leads written through the use cases, endpoints, counts."""

    def __init__(self, url: str, receiver: str, deliveries: int) -> None:
        self.url, self.receiver, self.deliveries = url, receiver, deliveries
        self.engine = create_engine(url)
        self.use_cases = LeadUseCases(unit_of_work_factory(self.engine), lambda: datetime.now(UTC))

    async def endpoint(self) -> uuid.UUID:
        endpoint = new_endpoint(self.receiver, (), (), SECRET)
        return (await webhooks.register(self.engine, endpoint, "bench")).id

    async def create_leads(self) -> None:
        """One change per lead: `deliveries` new leads, four writers at a time."""

        async def writer(count: int) -> None:
            for _ in range(count):
                company = Company(f"Hook bench {uuid.uuid4().hex[:8]}")
                await self.use_cases.create(CreateLead(company, Contact("C"), "bench"), "bench")

        share, rest = divmod(self.deliveries, 4)
        await asyncio.gather(*(writer(share + (n < rest)) for n in range(4)))

    async def count(self, sql: asyncpg.Connection, query: str, endpoint_id: uuid.UUID) -> int:
        counted: int = await sql.fetchval(query, endpoint_id)
        return counted


async def raw_worker(pool: asyncpg.Pool, http: httpx.AsyncClient, lease: timedelta) -> None:
    """Claim one due delivery at a time with our statement, post it signed, record it; until none is left."""
    while rows := await pool.fetch(RAW_CLAIM, 1, lease):
        for row in rows:
            body = row["body"].encode()
            headers = {SIGNATURE_HEADER: sign(row["secret"], body), DELIVERY_HEADER: str(row["id"])}
            response = await http.post(row["url"], content=body, headers=headers)
            await pool.execute(RAW_DELIVERED, row["id"], row["attempts"], response.status_code)


async def measure_posts(receiver: str, deliveries: int, concurrency: int) -> float:
    """The ceiling: the same number of signed posts to the receiver, no database at all."""
    body = b'{"deliveryId":"0","kind":"created"}'
    headers = {SIGNATURE_HEADER: sign(SECRET, body), DELIVERY_HEADER: "0"}
    left = iter(range(deliveries))

    async def poster(http: httpx.AsyncClient) -> None:
        for _ in left:
            await http.post(receiver, content=body, headers=headers)

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(poster(http) for _ in range(concurrency)))
        return deliveries / (time.perf_counter() - started)


async def measure_raw(bench: Bench, sql: asyncpg.Connection, concurrency: int) -> float:
    print(f"raw asyncpg: writing {bench.deliveries:,} changes ...", flush=True)
    endpoint_id = await bench.endpoint()
    await bench.create_leads()

    async def dispatched() -> int:  # no server runs yet: this process dispatches
        await dispatch_batch(bench.engine, 500)
        return await bench.count(sql, QUEUED, endpoint_id)

    await until(dispatched, bench.deliveries)
    print("raw asyncpg: draining ...", flush=True)
    lease = WorkerOptions().lease
    async with (
        asyncpg.create_pool(bench.url, min_size=concurrency, max_size=concurrency) as pool,
        httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as http,
    ):
        started = time.perf_counter()
        await asyncio.gather(*(raw_worker(pool, http, lease) for _ in range(concurrency)))
        await until(lambda: bench.count(sql, DONE, endpoint_id), bench.deliveries)
        elapsed = time.perf_counter() - started
    await webhooks.remove(bench.engine, endpoint_id)
    return bench.deliveries / elapsed


async def measure_ours(bench: Bench, sql: asyncpg.Connection, concurrency: int, logs: Path) -> tuple[float, float]:
    """(deliveries per second, changes dispatched per second)."""
    endpoint_id = await bench.endpoint()
    await webhooks.set_paused(bench.engine, endpoint_id, True)
    await bench.create_leads()
    os.environ |= {"LEADCYCLE_WEBHOOK_CONCURRENCY": str(concurrency), "LEADCYCLE_WEBHOOK_POLL_SECONDS": "0.05"}
    print("leadcycle: dispatching, then draining ...", flush=True)
    server = ServerProcess("leadcycle", bench.url, logs)
    try:
        await server.ready()
        started = time.perf_counter()
        await until(lambda: bench.count(sql, QUEUED, endpoint_id), bench.deliveries)
        dispatch = bench.deliveries / (time.perf_counter() - started)
        started = time.perf_counter()
        await webhooks.set_paused(bench.engine, endpoint_id, False)
        await until(lambda: bench.count(sql, DONE, endpoint_id), bench.deliveries)
        return bench.deliveries / (time.perf_counter() - started), dispatch
    finally:
        server.stop()


async def run(options: argparse.Namespace) -> None:
    with postgres_server(options.database_url) as server_url, tempfile.TemporaryDirectory() as folder:
        port = free_port()
        receiver = start_receiver(port, Path(folder) / "receiver.log")
        try:
            async with fresh_database(server_url) as url:
                bench = Bench(url, f"http://127.0.0.1:{port}/hook", options.deliveries)
                await receiver_ready(bench.receiver)
                sql = await asyncpg.connect(url)
                try:
                    posts = await measure_posts(bench.receiver, options.deliveries, options.concurrency)
                    raw = await measure_raw(bench, sql, options.concurrency)
                    ours, dispatch = await measure_ours(bench, sql, options.concurrency, Path(folder))
                finally:
                    await sql.close()
                    await bench.engine.dispose()
        finally:
            receiver.terminate()
    print(f"webhook deliveries, {options.deliveries:,} queued, concurrency {options.concurrency}:")
    print(f"  httpx posts, no database      {posts:8.0f} posts/s (the receiver's ceiling)")
    print(f"  raw asyncpg (same claim SQL)  {raw:8.0f} deliveries/s")
    print(f"  leadcycle worker              {ours:8.0f} deliveries/s  ({ours / raw:.2f} x raw)")
    print(f"  leadcycle dispatcher          {dispatch:8.0f} changes/s turned into deliveries")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=2000, help="queued deliveries each system drains")
    parser.add_argument("--concurrency", type=int, default=16, help="posts at a time (our default setting)")
    parser.add_argument("--database-url", help="Postgres server (default: DATABASE_URL, else embedded)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
