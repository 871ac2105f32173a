"""The bare baseline: Starlette JSON endpoints doing our server's SQL on asyncpg, no GraphQL, no ORM.

Each endpoint answers with the same JSON our GraphQL server gives for the scenario's query, so
both do the same work for the client: the computed fields (availableTransitions) come from the
same domain functions, over leads read with the same mapping. What differs is everything in
between: GraphQL parsing, validation and execution, strawberry's types, SQLAlchemy, the pool.
Run it with `python -m bench.server bare --port P --database-url URL`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bench import baseline_sql as sql
from leadcycle.domain.lifecycle import TRANSITIONS, Policy, blockers
from leadcycle.domain.model import Lead
from leadcycle.domain.stages import Stage
from leadcycle.persistence.mapping import lead_from_row
from leadcycle.persistence.queries import LeadOrder, encode_cursor

POLICY = Policy()
ORDER = LeadOrder()
ACTOR = "anonymous"


class JsonResponse(JSONResponse):
    """Encoded with orjson, as our server encodes its answers: the baseline is the floor, not a slower straw man."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _iso(value: datetime) -> str:
    return value.isoformat()


def _transitions(lead: Lead) -> list[dict[str, Any]]:
    options = []
    for transition in TRANSITIONS:
        failures = [{"guard": f.guard, "message": f.message} for f in blockers(lead, transition.event, POLICY)]
        options.append(
            {
                "event": transition.event.value,
                "toStage": transition.target.value,
                "allowed": not failures,
                "blockers": failures,
            }
        )
    return options


def _node(lead: Lead) -> dict[str, Any]:
    assert lead.updated_at is not None
    return {
        "id": str(lead.id),
        "source": lead.source,
        "stage": lead.stage.value,
        "temperature": lead.temperature.value,
        "score": lead.score,
        "version": lead.version,
        "ownerTeam": lead.owner_team,
        "owner": lead.owner,
        "createdAt": _iso(lead.created_at),
        "updatedAt": _iso(lead.updated_at),
        "availableTransitions": _transitions(lead),
    }


def _activity(row: asyncpg.Record) -> dict[str, Any]:
    return {"id": str(row["id"]), "kind": row["kind"], "occurredAt": _iso(row["occurred_at"]), "points": row["points"]}


def _entry(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "at": _iso(row["at"]),
        "kind": row["kind"],
        "actor": row["actor"],
        "summary": row["summary"],
        "data": row["data"],
    }


class Baseline:
    """The endpoints, on one asyncpg pool sized like our server's (20 connections at most, kept once opened)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.subscribers: set[WebSocket] = set()
        self._sending: set[asyncio.Task[None]] = set()
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None
        return self._pool

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self._pool = await asyncpg.create_pool(
            self.database_url, min_size=10, max_size=20, init=sql.setup_connection, reset=sql.keep_as_is
        )
        try:
            yield
        finally:
            await self._pool.close()

    async def record_activity(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        async with self.pool.acquire() as connection:
            written = await sql.record_activity(connection, UUID(body["leadId"]), body["kind"], ACTOR)
        self._publish("activity", written)
        return JsonResponse({"data": {"recordActivity": {"__typename": "LeadPayload", "lead": written.lead}}})

    async def transition(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        async with self.pool.acquire() as connection:
            written = await sql.recycle(connection, UUID(body["leadId"]), body["reason"], ACTOR)
        self._publish("transition", written)
        return JsonResponse({"data": {"transitionLead": {"__typename": "LeadPayload", "lead": written.lead}}})

    async def leads(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        first, activities = body["first"], body.get("activities")
        async with self.pool.acquire() as connection:
            rows = await sql.leads_page(connection, first)
            found = [lead_from_row(row) for row in rows[:first]]
            children: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
            if activities is not None:
                for row in await sql.newest(connection, sql.NEWEST_ACTIVITIES, [f.id for f in found], activities):
                    children[row["lead_id"]].append(_activity(row))
        edges = [{"node": _node(lead) | ({"activities": children[lead.id]} if activities else {})} for lead in found]
        page = {"endCursor": encode_cursor(found[-1], ORDER) if found else None, "hasNextPage": len(rows) > first}
        return JsonResponse({"data": {"leads": {"edges": edges, "pageInfo": page}}})

    async def lead(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        async with self.pool.acquire() as connection:
            row, timeline = await sql.lead_with_timeline(connection, UUID(body["id"]), body["timeline"])
        if row is None:
            return JsonResponse({"data": {"lead": None}})
        lead = lead_from_row(row)
        found = {
            "id": str(lead.id),
            "stage": lead.stage.value,
            "temperature": lead.temperature.value,
            "score": lead.score,
            "version": lead.version,
            "company": {"name": lead.company.name},
            "contact": {"name": lead.contact.name, "email": lead.contact.email},
            "timeline": [_entry(entry) for entry in timeline],
        }
        return JsonResponse({"data": {"lead": found}})

    async def pipeline(self, _request: Request) -> Response:
        async with self.pool.acquire() as connection:
            counted = {row["stage"]: row["count"] for row in await connection.fetch(sql.PIPELINE)}
        stages = [{"stage": stage.value, "count": counted.get(stage.value, 0)} for stage in Stage]
        return JsonResponse({"data": {"pipeline": {"total": sum(counted.values()), "stages": stages}}})

    async def channel_funnel(self, _request: Request) -> Response:
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(sql.CHANNEL_FUNNEL)

        def funnel(row: asyncpg.Record) -> dict[str, Any]:
            leads = row["leads"]
            rates = {
                f"{name}Rate": row[column] / leads if leads else 0.0
                for name, column in (("mql", "reached_mql"), ("opportunity", "reached_opportunity"), ("win", "won"))
            }
            counts = {"reachedMql": row["reached_mql"], "reachedOpportunity": row["reached_opportunity"]}
            return {"source": row["source"], "leads": leads, **counts, "won": row["won"], **rates}

        return JsonResponse({"data": {"channelFunnel": [funnel(row) for row in rows]}})

    async def changes(self, websocket: WebSocket) -> None:
        """Every committed change of this process, pushed as a graphql-transport-ws `next` message."""
        await websocket.accept()
        self.subscribers.add(websocket)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            self.subscribers.discard(websocket)

    def _publish(self, kind: str, written: sql.Written) -> None:
        """Push a committed change to every subscriber, after the response (like our change feed)."""
        if not self.subscribers:
            return
        change = {"kind": kind, "at": _iso(written.at), "lead": written.lead}
        message = orjson.dumps({"id": "1", "type": "next", "payload": {"data": {"leadChanged": change}}}).decode()
        task = asyncio.get_running_loop().create_task(self._send(message))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, message: str) -> None:
        for subscriber in list(self.subscribers):
            with contextlib.suppress(Exception):  # a subscriber that left meanwhile
                await subscriber.send_text(message)


async def healthz(_request: Request) -> Response:
    return JsonResponse({"status": "ok"})


def create_app(database_url: str) -> Starlette:
    baseline = Baseline(database_url)
    posts: dict[str, Handler] = {
        "/record-activity": baseline.record_activity,
        "/transition": baseline.transition,
        "/leads": baseline.leads,
        "/lead": baseline.lead,
        "/pipeline": baseline.pipeline,
        "/channel-funnel": baseline.channel_funnel,
    }
    routes = [Route(path, handler, methods=["POST"]) for path, handler in posts.items()]
    return Starlette(
        routes=[*routes, Route("/healthz", healthz), WebSocketRoute("/changes", baseline.changes)],
        lifespan=baseline.lifespan,
    )
