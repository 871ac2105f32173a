"""The delivery worker: claims due deliveries, posts them signed, and records how each went.

Every process runs one; they share the work through the table. A claim is one short transaction
(FOR UPDATE SKIP LOCKED, so two workers never take the same row) that marks the rows IN_FLIGHT
with a lease until `now() + timeout + LEASE_MARGIN`; the post happens outside any transaction.
A process killed mid-post leaves its rows IN_FLIGHT: once the lease runs out any worker claims
them again, so nothing is lost and a receiver may see a delivery twice (at-least-once). The
outcome is recorded only if the row is still the claim this worker made (same attempt number).

Per endpoint and lead, a delivery is claimed only when no earlier one is pending or in flight,
so a receiver gets a lead's changes in log order; a dead-lettered one no longer holds later ones.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

import httpx
from sqlalchemy import bindparam, func, text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import Integer, Interval

from leadcycle.domain.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, DeliveryStatus, RetryPolicy, signatures
from leadcycle.persistence.tables import webhook_deliveries
from leadcycle.persistence.tasks import cancel, woken
from leadcycle.persistence.webhook_addresses import target

log = logging.getLogger(__name__)

LEASE_MARGIN = timedelta(seconds=5)
_MAX_ERROR = 500
CLAIM = text("""
    WITH due AS (
        SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.status IN ('PENDING', 'IN_FLIGHT') AND d.next_attempt_at <= now() AND NOT e.paused
          AND NOT EXISTS (
            SELECT 1 FROM webhook_deliveries earlier
            WHERE earlier.endpoint_id = d.endpoint_id AND earlier.lead_id = d.lead_id
              AND earlier.status IN ('PENDING', 'IN_FLIGHT')
              AND (earlier.change_xid, earlier.change_id) < (d.change_xid, d.change_id))
        ORDER BY d.next_attempt_at LIMIT :limit
        FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE webhook_deliveries d
    SET status = 'IN_FLIGHT', attempts = d.attempts + 1, next_attempt_at = now() + :lease
    FROM due, webhook_endpoints e
    WHERE d.id = due.id AND e.id = d.endpoint_id
    RETURNING d.id, d.attempts, d.body, e.url, e.secret,
        CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END AS previous_secret""").bindparams(
    bindparam("limit", type_=Integer), bindparam("lease", type_=Interval)
)


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds until its lease runs out: attempt number `attempts`."""

    id: UUID
    attempts: int
    body: str
    url: str
    secret: str
    previous_secret: str | None
    """The secret the last rotation replaced, while it still signs."""

    @property
    def secrets(self) -> list[str]:
        """The secrets that sign the post: the current one first."""
        return [self.secret] if self.previous_secret is None else [self.secret, self.previous_secret]


@dataclass(frozen=True)
class Outcome:
    """How one post went: delivered (2xx), or the error to show in the delivery log."""

    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class WorkerOptions:
    """How webhooks are delivered, from the settings; the mutations read the address guard and secret overlap."""

    concurrency: int = 16
    timeout_seconds: float = 10.0
    poll_seconds: float = 0.5
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    allow_private_addresses: bool = False
    secret_overlap: timedelta = timedelta(hours=24)

    @property
    def lease(self) -> timedelta:
        """How long a claim lasts: a post that is still running then has timed out."""
        return timedelta(seconds=self.timeout_seconds) + LEASE_MARGIN


async def claim(engine: AsyncEngine, limit: int, lease: timedelta) -> list[Claimed]:
    """Take up to `limit` due deliveries, each the earliest unfinished one of its endpoint and lead."""
    async with engine.begin() as connection:
        rows = await connection.execute(CLAIM, {"limit": limit, "lease": lease})
        return [Claimed(row.id, row.attempts, row.body, row.url, row.secret, row.previous_secret) for row in rows]


async def record(engine: AsyncEngine, claimed: Claimed, outcome: Outcome, retry: RetryPolicy) -> None:
    """Mark the delivery delivered, due again after a backoff, or dead; unless the claim was lost."""
    d = webhook_deliveries.c
    values: dict[str, object] = {"last_status_code": outcome.status_code, "last_error": outcome.error}
    if outcome.error is None:
        values |= {"status": DeliveryStatus.DELIVERED.value, "delivered_at": func.now()}
    elif retry.gives_up(claimed.attempts):
        values |= {"status": DeliveryStatus.DEAD.value}
    else:
        delay = timedelta(seconds=retry.delay(claimed.attempts, random.random()))
        values |= {"status": DeliveryStatus.PENDING.value, "next_attempt_at": func.now() + delay}
    statement = (
        update(webhook_deliveries)
        .where(d.id == claimed.id, d.attempts == claimed.attempts, d.status == DeliveryStatus.IN_FLIGHT.value)
        .values(values)
    )
    async with engine.begin() as connection:
        await connection.execute(statement)


async def _excerpt(response: httpx.Response) -> str:
    """The start of an answer's body, without reading a large one whole."""
    async for chunk in response.aiter_bytes():
        return chunk[:_MAX_ERROR].decode(errors="replace")
    return ""


def _failure(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:_MAX_ERROR] if str(error) else type(error).__name__


async def post(http: httpx.AsyncClient, claimed: Claimed, options: WorkerOptions) -> Outcome:
    """POST the delivery's body, signed, to a permitted address; a 2xx answer within the timeout delivers it."""
    body = claimed.body.encode()
    headers = {
        "content-type": "application/json",
        "user-agent": "leadcycle-webhooks",
        SIGNATURE_HEADER: signatures(claimed.secrets, body),
        DELIVERY_HEADER: str(claimed.id),
    }
    try:
        # A bound on the whole exchange (httpx's timeouts are per read): the claim outlives it.
        async with asyncio.timeout(options.timeout_seconds):
            to = await target(claimed.url, options.allow_private_addresses)
            async with http.stream(
                "POST", to.url, content=body, headers=headers | to.headers, extensions=to.extensions
            ) as answer:
                if answer.is_success:
                    return Outcome(answer.status_code, None)
                return Outcome(answer.status_code, f"HTTP {answer.status_code}: {await _excerpt(answer)}"[:_MAX_ERROR])
    except Exception as error:  # forbidden addresses, timeouts, refused connections, bad TLS ...: all failed attempts
        return Outcome(None, _failure(error))


class Worker:
    """Keeps up to `concurrency` posts going; claims more when woken, when one ends, or every poll."""

    def __init__(self, engine: AsyncEngine, options: WorkerOptions) -> None:
        # Claim and record are one statement each: autocommit saves BEGIN and COMMIT round trips.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._options = options
        self._wake = asyncio.Event()
        self._posting: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        limits = httpx.Limits(max_connections=self._options.concurrency)
        self._http = httpx.AsyncClient(timeout=self._options.timeout_seconds, limits=limits)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Claim nothing more and let the posts under way end (each within the timeout)."""
        await cancel(self._task)
        await asyncio.gather(*self._posting, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()

    async def _run(self) -> None:
        while True:
            free = self._options.concurrency - len(self._posting)
            if free and await self._claim_and_post(free) == free:
                continue  # more may be due already
            await woken(self._wake, self._options.poll_seconds)

    async def _claim_and_post(self, limit: int) -> int:
        try:
            claimed = await claim(self._engine, limit, self._options.lease)
        except Exception:  # e.g. the database is restarting: claim again next round
            log.exception("could not claim webhook deliveries")
            return 0
        for delivery in claimed:
            task = asyncio.create_task(self._deliver(delivery))
            self._posting.add(task)
            task.add_done_callback(self._posting.discard)
        return len(claimed)

    async def _deliver(self, claimed: Claimed) -> None:
        assert self._http is not None
        outcome = await post(self._http, claimed, self._options)
        try:
            await record(self._engine, claimed, outcome, self._options.retry)
        except Exception:  # the lease runs out and it is posted again: at-least-once holds
            log.exception("could not record the outcome of webhook delivery %s", claimed.id)
        self._wake.set()  # a later delivery of the same lead may be due now, and a slot is free
