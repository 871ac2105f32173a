"""Webhook endpoints and the delivery log: register, list, pause, delete, and retry by hand.

Each function is one short transaction on its own connection, like the read side (queries.py).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from sqlalchemy import ARRAY, RowMapping, Uuid, bindparam, delete, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.stages import ChangeKind, Stage
from leadcycle.domain.webhooks import Delivery, DeliveryStatus, Endpoint, NewEndpoint, WebhookFilter
from leadcycle.persistence.tables import webhook_deliveries, webhook_endpoints

_RETRIABLE = (DeliveryStatus.DEAD.value, DeliveryStatus.DELIVERED.value)
# Queued again by hand: due at once, with a fresh set of attempts.
_REQUEUED = {"status": DeliveryStatus.PENDING.value, "attempts": 0, "next_attempt_at": func.now(), "delivered_at": None}


class DeliveryUnfinished(Exception):
    """A delivery that is still pending or in flight cannot be retried by hand."""


def endpoint_from_row(row: RowMapping) -> Endpoint:
    """An endpoint from a row of `webhook_endpoints`."""
    kinds = frozenset(map(ChangeKind, row["kinds"]))
    stages = frozenset(map(Stage, row["stages"]))
    return Endpoint(
        row["id"],
        row["url"],
        WebhookFilter(kinds, stages),
        row["secret"],
        row["paused"],
        row["created_by"],
        row["created_at"],
        row["previous_secret_expires_at"],
    )


def _delivery(row: RowMapping) -> Delivery:
    return Delivery(
        row["id"],
        row["seq"],
        row["endpoint_id"],
        row["lead_id"],
        ChangeKind(row["kind"]),
        DeliveryStatus(row["status"]),
        row["attempts"],
        row["next_attempt_at"],
        row["last_error"],
        row["last_status_code"],
        row["created_at"],
        row["delivered_at"],
    )


async def register(engine: AsyncEngine, endpoint: NewEndpoint, actor: str) -> Endpoint:
    """Store a new endpoint; it receives the changes dispatched from now on."""
    values = {
        "id": uuid.uuid4(),
        "url": endpoint.url,
        "kinds": sorted(kind.value for kind in endpoint.filter.kinds),
        "stages": sorted(stage.value for stage in endpoint.filter.stages),
        "secret": endpoint.secret,
        "paused": False,
        "created_by": actor,
        "created_at": func.now(),
    }
    async with engine.begin() as connection:
        row = (await connection.execute(insert(webhook_endpoints).values(values).returning(webhook_endpoints))).one()
    return endpoint_from_row(row._mapping)


async def endpoints(engine: AsyncEngine) -> list[Endpoint]:
    """Every endpoint, oldest first."""
    query = select(webhook_endpoints).order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.id)
    async with engine.connect() as connection:
        return [endpoint_from_row(row) for row in (await connection.execute(query)).mappings()]


async def endpoint(engine: AsyncEngine, endpoint_id: UUID) -> Endpoint | None:
    """One endpoint; None when no endpoint has this id."""
    async with engine.connect() as connection:
        row = (await connection.execute(select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))).first()
    return endpoint_from_row(row._mapping) if row else None


async def set_paused(engine: AsyncEngine, endpoint_id: UUID, paused: bool) -> Endpoint | None:
    """Pause or resume an endpoint; None when no endpoint has this id."""
    statement = (
        update(webhook_endpoints)
        .where(webhook_endpoints.c.id == endpoint_id)
        .values(paused=paused)
        .returning(webhook_endpoints)
    )
    async with engine.begin() as connection:
        row = (await connection.execute(statement)).first()
    return endpoint_from_row(row._mapping) if row else None


async def rotate_secret(engine: AsyncEngine, endpoint_id: UUID, secret: str, overlap: timedelta) -> Endpoint | None:
    """Sign with `secret` from now on, and with the replaced one too for `overlap`; None when no endpoint has this id.

    A rotation during an overlap drops the oldest secret: only the current and the replaced one sign.
    """
    e = webhook_endpoints.c
    keeps_previous = overlap > timedelta(0)
    statement = (
        update(webhook_endpoints)
        .where(e.id == endpoint_id)
        .values(
            secret=secret,
            previous_secret=e.secret if keeps_previous else None,  # SET reads the row as it was
            previous_secret_expires_at=func.now() + overlap if keeps_previous else None,
        )
        .returning(webhook_endpoints)
    )
    async with engine.begin() as connection:
        row = (await connection.execute(statement)).first()
    return endpoint_from_row(row._mapping) if row else None


async def remove(engine: AsyncEngine, endpoint_id: UUID) -> bool:
    """Delete an endpoint with its deliveries, sent or not; False when no endpoint has this id."""
    statement = delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
    async with engine.begin() as connection:
        return (await connection.execute(statement)).rowcount == 1


@dataclass(frozen=True)
class DeliveryRange:
    """Which deliveries of an endpoint to read: newest first, `seq` below `before`, at most `first`."""

    status: DeliveryStatus | None
    before: int | None
    first: int


async def deliveries_of(
    engine: AsyncEngine, endpoint_ids: Sequence[UUID], wanted: DeliveryRange
) -> dict[UUID, list[Delivery]]:
    """The `wanted` deliveries of each endpoint, in one statement: a range scan of (endpoint, seq) each (LATERAL)."""
    d = webhook_deliveries.c
    endpoint = func.unnest(bindparam("ids", list(endpoint_ids), type_=ARRAY(Uuid))).table_valued("id").render_derived()
    newest = select(webhook_deliveries).where(d.endpoint_id == endpoint.c.id).order_by(d.seq.desc()).limit(wanted.first)
    if wanted.status is not None:
        newest = newest.where(d.status == wanted.status.value)
    if wanted.before is not None:
        newest = newest.where(d.seq < wanted.before)
    rows = newest.lateral()
    query = select(rows).select_from(endpoint.join(rows, true()))
    found: dict[UUID, list[Delivery]] = defaultdict(list)
    async with engine.connect() as connection:
        for row in (await connection.execute(query)).mappings():
            found[row["endpoint_id"]].append(_delivery(row))
    return found


async def deliveries(engine: AsyncEngine, endpoint_id: UUID, wanted: DeliveryRange) -> list[Delivery]:
    """The `wanted` deliveries of one endpoint."""
    return (await deliveries_of(engine, [endpoint_id], wanted)).get(endpoint_id, [])


async def delivery(engine: AsyncEngine, delivery_id: UUID) -> Delivery | None:
    """One delivery; None when no delivery has this id."""
    async with engine.connect() as connection:
        query = select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
        row = (await connection.execute(query)).mappings().first()
    return _delivery(row) if row else None


async def retry(engine: AsyncEngine, delivery_id: UUID) -> Delivery | None:
    """Queue a dead (or delivered) delivery again, due now with fresh attempts; None when it does not exist.

    Raises DeliveryUnfinished for one still pending or in flight: it is going to be tried anyway.
    """
    d = webhook_deliveries.c
    statement = (
        update(webhook_deliveries)
        .where(d.id == delivery_id, d.status.in_(_RETRIABLE))
        .values(_REQUEUED)
        .returning(webhook_deliveries)
    )
    async with engine.begin() as connection:
        row = (await connection.execute(statement)).mappings().first()
    if row is not None:
        return _delivery(row)
    if await delivery(engine, delivery_id) is not None:
        raise DeliveryUnfinished(delivery_id)
    return None


async def retry_dead(engine: AsyncEngine, endpoint_id: UUID) -> int | None:
    """Queue every DEAD delivery of the endpoint again, at once; how many, or None when no endpoint has this id.

    Workers take a lead's deliveries in the order of its changes, so the requeued ones go out in that order.
    """
    d = webhook_deliveries.c
    statement = (
        update(webhook_deliveries)
        .where(d.endpoint_id == endpoint_id, d.status == DeliveryStatus.DEAD.value)
        .values(_REQUEUED)
    )
    async with engine.begin() as connection:
        requeued = (await connection.execute(statement)).rowcount
    if requeued == 0 and await endpoint(engine, endpoint_id) is None:
        return None
    return requeued
