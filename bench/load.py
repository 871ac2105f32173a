"""Closed-loop load: C workers, each sending its next request as soon as the last one is answered.

Only requests that start after the warm-up count. Latency is measured by the load generator,
from just before the request is written to just after the whole response is read, so it includes
the time a request waits for the generator's own event loop: at 64 workers on 2 shared cores
that wait is part of every figure, for ours and the baselines alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench.client import Connection

Call = Callable[[], Awaitable[None]]
OpenWorker = Callable[[], contextlib.AbstractAsyncContextManager[Call]]
Check = Callable[[bytes], str | None]  # what is wrong with a response body, or None
RawCall = Callable[[asyncpg.Connection], Awaitable[Any]]


class Exhausted(Exception):
    """The scenario has no more leads it may use (each lead can take its transition once)."""


class Failure(Exception):
    """A request that was answered, wrongly: counted, and the worker goes on."""


@dataclass
class Measurement:
    latencies: list[float] = field(default_factory=list)  # seconds, sorted once finished
    seconds: float = 0.0
    failures: int = 0
    first_failure: str | None = None
    exhausted: bool = False
    completed: int | None = None  # operations done, when that is not the number of latency samples
    cpu_seconds: float | None = None  # CPU time the server process used while measured, when it was watched

    @property
    def cpu_per_request(self) -> float | None:
        """The server's CPU time per request in microseconds: steadier than throughput on a shared machine."""
        done = len(self.latencies) if self.completed is None else self.completed
        return None if self.cpu_seconds is None or not done else self.cpu_seconds / done * 1e6

    @property
    def throughput(self) -> float:
        done = len(self.latencies) if self.completed is None else self.completed
        return done / self.seconds if self.seconds else 0.0

    @classmethod
    def pooled(cls, measurements: list[Measurement]) -> Measurement:
        """Several runs of one system as one: requests over all measured seconds, percentiles over all requests."""
        completed = [m.completed for m in measurements]
        cpu = [m.cpu_seconds for m in measurements]
        return cls(
            latencies=sorted(latency for m in measurements for latency in m.latencies),
            seconds=sum(m.seconds for m in measurements),
            failures=sum(m.failures for m in measurements),
            first_failure=next((m.first_failure for m in measurements if m.first_failure), None),
            exhausted=any(m.exhausted for m in measurements),
            completed=None if None in completed else sum(c for c in completed if c is not None),
            cpu_seconds=None if None in cpu else sum(c for c in cpu if c is not None),
        )

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile in milliseconds (0.0 without samples)."""
        if not self.latencies:
            return 0.0
        rank = max(0, min(len(self.latencies) - 1, math.ceil(p / 100 * len(self.latencies)) - 1))
        return self.latencies[rank] * 1000

    def fail(self, error: BaseException) -> None:
        self.failures += 1
        if self.first_failure is None:
            self.first_failure = f"{type(error).__name__}: {error}"[:500]


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid` so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(
    open_worker: OpenWorker, *, concurrency: int, seconds: float, warmup: float, server_pid: int | None = None
) -> Measurement:
    """Drive `concurrency` workers for `warmup + seconds`; measure the last `seconds`.

    With `server_pid`, also the CPU time that process spends in the measured seconds.
    """
    result = Measurement()
    start = time.perf_counter()
    measure_from, stop = start + warmup, start + warmup + seconds
    last_end = measure_from

    async def worker() -> None:
        nonlocal last_end
        async with open_worker() as call:
            while (began := time.perf_counter()) < stop:
                try:
                    await call()
                except Exhausted:
                    result.exhausted = True
                    return
                except Failure as error:
                    if began >= measure_from:
                        result.fail(error)
                    continue
                ended = time.perf_counter()
                if began >= measure_from:
                    result.latencies.append(ended - began)
                    last_end = max(last_end, ended)

    async def watch_cpu() -> None:
        if server_pid is None:
            return
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        before = process_cpu_seconds(server_pid)
        await asyncio.sleep(max(0.0, stop - time.perf_counter()))
        result.cpu_seconds = process_cpu_seconds(server_pid) - before

    watcher = asyncio.create_task(watch_cpu())
    try:
        async with asyncio.timeout(warmup + seconds + 30):
            outcomes = await asyncio.gather(*(worker() for _ in range(concurrency)), return_exceptions=True)
    except TimeoutError as error:
        result.fail(TimeoutError(f"requests still unanswered 30 s after the end: {error}"))
        outcomes = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):  # a broken connection ends its worker
            result.fail(outcome)
    result.seconds = (last_end if result.exhausted else stop) - measure_from
    if result.exhausted:
        watcher.cancel()  # CPU over the full window would be charged to fewer requests
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    result.latencies.sort()
    return result


def http_worker(port: int, requests: Iterator[bytes], check: Check) -> OpenWorker:
    """Workers on keep-alive connections to `port`, sending the next of `requests` each time."""

    @contextlib.asynccontextmanager
    async def open_worker() -> AsyncIterator[Call]:
        connection = await Connection.open(port)

        async def call() -> None:
            request = next(requests, None)
            if request is None:
                raise Exhausted
            status, body = await connection.request(request)
            problem = f"HTTP {status}" if status != 200 else check(body)
            if problem is not None:
                raise Failure(f"{problem}: {body[:300]!r}")

        try:
            yield call
        finally:
            connection.close()

    return open_worker


def raw_worker(pool: asyncpg.Pool, operations: Iterator[RawCall]) -> OpenWorker:
    """Workers running the next of `operations` on a connection from `pool`, no HTTP."""

    @contextlib.asynccontextmanager
    async def open_worker() -> AsyncIterator[Call]:
        async def call() -> None:
            operation = next(operations, None)
            if operation is None:
                raise Exhausted
            try:
                async with pool.acquire() as connection:
                    await operation(connection)
            except asyncpg.PostgresError as error:
                raise Failure(str(error)) from error

        yield call

    return open_worker
