"""The composition root: settings, engine, change feed, use cases, schema and the Starlette app."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.graph.context import ANONYMOUS, Context, Services
from leadcycle.graph.middleware import BodyLimit, RequestId
from leadcycle.graph.schema import build_schema
from leadcycle.graph.settings import Settings
from leadcycle.persistence.change_feed import ChangeFeed
from leadcycle.persistence.database import create_engine, is_ready, migrate, plain_url
from leadcycle.persistence.unit_of_work import unit_of_work_factory

log = logging.getLogger("leadcycle")


def utc_now() -> datetime:
    return datetime.now(UTC)


class LeadcycleGraphQL(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        actor = request.headers.get("x-actor") or ANONYMOUS
        return Context(request=request, response=response, services=request.app.state.services, actor=actor)


def create_app(settings: Settings, database_url: str) -> Starlette:
    """The ASGI app on `database_url`; its lifespan migrates, starts the change feed, and stops both."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(
            database_url,
            pool_size=settings.pool_size,
            lock_timeout_ms=settings.lock_timeout_ms,
            statement_timeout_ms=settings.statement_timeout_ms,
        )
        await migrate(engine)
        feed = ChangeFeed(plain_url(database_url))
        await feed.start()
        use_cases = LeadUseCases(unit_of_work_factory(engine, after_commit=feed.poke), utc_now)
        app.state.services = Services(engine=engine, leads=use_cases, feed=feed)
        try:
            yield
        finally:
            await feed.stop()
            await engine.dispose()

    graphql = LeadcycleGraphQL(
        build_schema(settings),
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
    )
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=[
            Middleware(RequestId),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["content-type", "x-actor"],
            ),
        ],
        lifespan=lifespan,
    )


async def healthz(_request: Request) -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The database answers and its schema is at the newest migration."""
    try:
        ready = await is_ready(request.app.state.services.engine)
    except Exception:  # any failure to reach the database means "not ready"
        log.exception("readiness check failed")
        ready = False
    return JSONResponse({"status": "ready" if ready else "unavailable"}, status_code=200 if ready else 503)
