"""Commit-to-subscriber latency: N WebSocket subscribers, one change at a time.

The benchmark process opens N subscriptions (graphql-transport-ws `leadChanged` on ours, the bare
app's /changes socket on the baseline), then records one activity at a time over HTTP and waits
until every subscriber has that change (lead id and version) before sending the next. A
delivery's latency is its arrival time minus the change's `at`: the clock reading the mutation
takes before it writes, on the same machine's clock, so the figure is an upper bound of
commit-to-subscriber (it also holds the transaction's own writes and commit). Throughput is
changes per second delivered to all N.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Any

import orjson

from bench.client import Connection, WebSocket, graphql, post
from bench.load import Measurement, process_cpu_seconds
from bench.scenarios import RECORD_ACTIVITY, LeadPools

SUBSCRIPTION = "subscription Changes { leadChanged { kind at lead { id version } } }"
ROUND_TIMEOUT = 5.0
READY_WITHIN = 30.0
Key = tuple[str, int]


class Tally:
    """Deliveries per change; wakes the driver when all subscribers have one."""

    def __init__(self, subscribers: int, result: Measurement) -> None:
        self.subscribers = subscribers
        self.result = result
        self.measuring = False
        self._counts: dict[Key, int] = defaultdict(int)
        self._complete: dict[Key, asyncio.Event] = {}

    def complete(self, key: Key) -> asyncio.Event:
        return self._complete.setdefault(key, asyncio.Event())

    def arrived(self, key: Key, latency: float) -> None:
        if self.measuring:
            self.result.latencies.append(latency)
        self._counts[key] += 1
        if self._counts[key] == self.subscribers:
            self.complete(key).set()

    def missing(self, key: Key) -> int:
        return self.subscribers - self._counts[key]


def _reader(socket: WebSocket, tally: Tally) -> Callable[[bytes], None]:
    """What one subscriber does with each message, in the event loop's reading callback."""

    def read(message: bytes) -> None:
        received = time.time()
        frame: dict[str, Any] = orjson.loads(message)
        if frame.get("type") == "ping":
            socket.send_text('{"type":"pong"}')
            return
        change = (
            ((frame.get("payload") or {}).get("data") or {}).get("leadChanged") if frame.get("type") == "next" else None
        )
        if change is None:
            tally.result.fail(RuntimeError(f"unexpected message {message[:300]!r}"))
            return
        tally.arrived((change["lead"]["id"], change["lead"]["version"]), received - _seconds(change["at"]))

    return read


@functools.lru_cache(maxsize=64)
def _seconds(at: str) -> float:
    """A change's `at` as a timestamp, parsed once for all the subscribers it reaches."""
    return datetime.fromisoformat(at).timestamp()


async def _open_ours(port: int) -> WebSocket:
    socket = await WebSocket.open(port, "/graphql", "graphql-transport-ws")
    socket.send_text(json.dumps({"type": "connection_init"}))
    if json.loads(await socket.receive()).get("type") != "connection_ack":
        raise RuntimeError("the server did not acknowledge the WebSocket connection")
    socket.send_text(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
    return socket


async def _open_bare(port: int) -> WebSocket:
    return await WebSocket.open(port, "/changes")


@contextlib.asynccontextmanager
async def _subscribers(count: int, port: int, ours: bool, tally: Tally) -> AsyncIterator[None]:
    opening = asyncio.Semaphore(32)

    async def one() -> WebSocket:
        async with opening:
            socket = await (_open_ours(port) if ours else _open_bare(port))
            socket.on_message(_reader(socket, tally))
            return socket

    sockets = await asyncio.gather(*(one() for _ in range(count)))
    try:
        yield
    finally:
        for socket in sockets:
            socket.close()


def _key(body: bytes, field: str) -> Key:
    lead = json.loads(body)["data"][field]["lead"]
    return lead["id"], lead["version"]


async def measure(
    pools: LeadPools,
    subscribers: int,
    port: int,
    *,
    ours: bool,
    seconds: float,
    warmup: float,
    server_pid: int | None = None,
) -> Measurement:
    """Changes to `subscribers` subscribers, one at a time, for `seconds` after a warm-up.

    With `server_pid`, also the CPU time that process spends in the measured seconds.
    """
    result = Measurement()
    tally = Tally(subscribers, result)
    requests: Iterator[bytes] = itertools.cycle(
        [
            graphql(port, RECORD_ACTIVITY, {"input": {"leadId": str(lead), "kind": "email_open"}})
            if ours
            else post(port, "/record-activity", json.dumps({"leadId": str(lead), "kind": "email_open"}).encode())
            for lead in pools.ids["steady"][:2_000]
        ]
    )
    async with _subscribers(subscribers, port, ours, tally):
        connection = await Connection.open(port)
        try:
            if not await _all_subscribed(connection, requests, tally):
                result.fail(RuntimeError(f"no change reached all {subscribers} subscribers in {READY_WITHIN:.0f} s"))
                return result
            start = time.perf_counter()
            while time.perf_counter() < start + warmup:
                await _round(connection, next(requests), tally)
            tally.measuring = True
            cpu_before = process_cpu_seconds(server_pid) if server_pid is not None else 0.0
            start = time.perf_counter()
            changes = 0
            while time.perf_counter() < start + seconds:
                changes += await _round(connection, next(requests), tally)
            result.seconds = time.perf_counter() - start
            if server_pid is not None:
                result.cpu_seconds = process_cpu_seconds(server_pid) - cpu_before
        finally:
            connection.close()
    result.latencies.sort()
    result.completed = changes  # throughput: changes per second that reached every subscriber
    return result


async def _all_subscribed(connection: Connection, requests: Iterator[bytes], tally: Tally) -> bool:
    """Send changes until one reaches every subscriber: then all subscriptions are registered.

    A change committed before a subscription is registered never reaches it, so the first
    changes after connecting may miss some subscribers; that is not an error.
    """
    deadline = time.perf_counter() + READY_WITHIN
    while time.perf_counter() < deadline:
        if await _round(connection, next(requests), tally, within=2.0, strict=False):
            return True
    return False


async def _round(
    connection: Connection, request: bytes, tally: Tally, within: float = ROUND_TIMEOUT, strict: bool = True
) -> bool:
    """One change, and the wait until every subscriber has it; a miss is an error when `strict`."""
    status, body = await connection.request(request)
    if status != 200 or b'"LeadPayload"' not in body:
        tally.result.fail(RuntimeError(f"mutation failed: HTTP {status} {body[:300]!r}"))
        return False
    key = _key(body, "recordActivity")
    try:
        async with asyncio.timeout(within):
            await tally.complete(key).wait()
    except TimeoutError:
        if strict:
            tally.result.fail(RuntimeError(f"{tally.missing(key)} of {tally.subscribers} subscribers missed a change"))
        return False
    return True
