"""The composition root: settings, engine, change feed, use cases, schema and the Starlette app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.http import process_result
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.parse_content_type import parse_content_type
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.rescoring import Rescoring
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.domain.webhooks import RetryPolicy
from leadcycle.graph.context import ANONYMOUS, Context, Services
from leadcycle.graph.fanout import Fanout, serve_shared
from leadcycle.graph.middleware import CORS, BodyLimit, RequestId
from leadcycle.graph.plans import Plan, Plans
from leadcycle.graph.schema import build_schema
from leadcycle.graph.settings import Settings
from leadcycle.persistence.change_feed import ChangeFeed
from leadcycle.persistence.database import create_engine, is_ready, migrate, plain_url
from leadcycle.persistence.rescoring_job import RescoringJob
from leadcycle.persistence.retention import Retention, RetentionJob
from leadcycle.persistence.stage_counts import StageCountFoldJob
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from leadcycle.persistence.webhook_delivery import WorkerOptions
from leadcycle.persistence.webhook_runtime import Webhooks

log = logging.getLogger("leadcycle")
JsonObject = dict[str, Any]
Planned = tuple[Plan, JsonObject | None, JsonObject | None]  # a plan with the request's variables and extensions


def utc_now() -> datetime:
    return datetime.now(UTC)


class KeepAliveHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with pings from the server every `keep_alive_interval` once acknowledged.

    strawberry's `keep_alive` drives only the legacy graphql-ws protocol; this does the same for
    graphql-transport-ws, whose `ping` clients answer with `pong`. A client that hears nothing for
    two intervals can take the connection for dead, reconnect, and resume from its last cursor.
    """

    _pinger: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        interval = self.view.keep_alive_interval
        if self.connection_acknowledged and self.view.keep_alive and interval and self._pinger is None:
            self._pinger = asyncio.create_task(self._ping_every(interval))

    async def _ping_every(self, interval: float) -> None:
        with contextlib.suppress(WebSocketDisconnected, RuntimeError):  # RuntimeError: socket already closed
            while True:
                await asyncio.sleep(interval)
                await self.send_message({"type": "ping"})

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        view = self.view
        assert isinstance(view, LeadcycleGraphQL)
        if not await serve_shared(view.fanout, operation, self.context):
            await super().run_operation(operation)

    async def shutdown(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
        await super().shutdown()


class LeadcycleGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = KeepAliveHandler

    def __init__(self, schema: Schema, *, plans: Plans, subscriber_buffer: int, **options: Any) -> None:
        super().__init__(schema, **options)
        self.plans = plans
        self.fanout = Fanout(schema, subscriber_buffer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A GET or POST whose document has a compiled plan is answered here (graph/plans.py); all else by strawberry.

        Planned, a request costs no Request, sub-response, Response or strawberry pipeline: the body is read,
        the plan run and its JSON sent. A body read here is handed on unchanged to strawberry if the plan declines.
        """
        if scope["type"] == "http" and scope["method"] in ("GET", "POST"):
            request = Request(scope)
            body = await _read_body(receive) if scope["method"] == "POST" and _is_json(request) else None
            if await self._answer_planned(request, body, send):
                return
            if body is not None:
                receive = _replaying(body, receive)
        await super().__call__(scope, receive, send)

    async def _answer_planned(self, request: Request, body: bytes | None, send: Send) -> bool:
        """Whether the request's plan answered it; False (nothing ran) leaves it to strawberry."""
        planned = self._planned(request, body)
        if planned is None:
            return False
        plan, variables, extensions = planned
        result = await plan.run(self._context(request), variables, extensions)
        if result is None:
            return False
        encoded = self.encode_json(process_result(plan.reported(result)))
        await _send_json(send, encoded if isinstance(encoded, bytes) else encoded.encode())
        return True

    def _planned(self, request: Request, body: bytes | None) -> Planned | None:
        """The plan of the request's one operation with its variables and extensions, if the request is that plain.

        Plain: a JSON body or GET parameters, read as strawberry reads them (orjson would turn integers beyond 64
        bits into floats), holding one operation whose fields have the types strawberry accepts, and no mutation
        over GET; anything else strawberry answers.
        """
        if self._stream_transport_map and self._get_stream_transport_from_headers(request.headers):
            return None
        data = self._request_data(request, body)
        if data is None:
            return None
        query, name = data.get("query"), data.get("operationName")
        variables, extensions = data.get("variables"), data.get("extensions")
        if not (isinstance(variables, dict | None) and isinstance(extensions, dict | None)):
            return None
        if not (isinstance(query, str) and isinstance(name, str | None)):
            return None
        plan = self.plans.get(query, name)
        if plan is None or (body is None and (plan.mutation or not self.allow_queries_via_get)):
            return None
        return plan, variables, extensions

    def _request_data(self, request: Request, body: bytes | None) -> JsonObject | None:
        """The request's parameters: its JSON body, or for a GET its query string (variables and extensions decoded)."""
        try:
            data = self.decode_json(body) if body is not None else self.parse_query_params(request.query_params)
        except (json.JSONDecodeError, HTTPException):
            return None
        return data if isinstance(data, dict) else None

    def encode_json(self, data: object) -> str | bytes:
        """orjson: a page of leads encodes several times faster than with the standard library.

        The standard library still answers what orjson refuses (integers beyond 64 bits in a JSON scalar).
        """
        try:
            return orjson.dumps(data)
        except TypeError:
            return super().encode_json(data)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return self._context(request, response)

    def _context(self, request: Request | WebSocket, response: Any = None) -> Context:
        actor = request.headers.get("x-actor") or ANONYMOUS
        return Context(request=request, response=response, services=request.app.state.services, actor=actor)


def _is_json(request: Request) -> bool:
    """strawberry's test of a JSON body, without its parse of the header for the usual exact value."""
    content_type = request.headers.get("content-type", "")
    return content_type == "application/json" or "application/json" in parse_content_type(content_type)[0]


async def _read_body(receive: Receive) -> bytes:
    """The whole request body, as Starlette's `Request.body` reads it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` with the body already read in front: strawberry reads it again as if it were the first time."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


async def _send_json(send: Send, body: bytes) -> None:
    """A 200 response with a JSON body: the messages, headers and order strawberry's Response sends."""
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings, database_url: str) -> Starlette:
    """The ASGI app on `database_url`; its lifespan migrates, starts the change feed and webhooks, and stops them."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(
            database_url,
            pool_size=settings.pool_size,
            lock_timeout_ms=settings.lock_timeout_ms,
            statement_timeout_ms=settings.statement_timeout_ms,
        )
        await migrate(engine)
        feed = ChangeFeed(plain_url(database_url), subscriber_capacity=settings.subscriber_buffer)
        await feed.start()
        uow_factory = unit_of_work_factory(engine, after_commit=feed.poke)
        use_cases = LeadUseCases(uow_factory, utc_now, parallel_leads=_parallel_leads(settings))
        await use_cases.refresh_policy()
        scoring = ScoringModelUseCases(uow_factory, utc_now)
        webhook_options = _webhook_options(settings)
        app.state.services = Services(
            engine=engine, leads=use_cases, feed=feed, scoring=scoring, webhooks=webhook_options
        )
        retention = RetentionJob(engine, _retention(settings), settings.retention_interval_seconds)
        retention.start()
        stage_count_fold = StageCountFoldJob(engine, settings.stage_count_fold_interval_seconds)
        stage_count_fold.start()
        rescoring = Rescoring(uow_factory, utc_now, settings.rescoring_batch_size)
        rescoring_job = RescoringJob(rescoring, use_cases, settings.rescoring_interval_seconds)
        rescoring_job.start()
        webhooks = Webhooks(engine, feed, webhook_options)
        webhooks.start()
        # What start-up built (modules, schema, engine) lives as long as the process: out of the collector's
        # sight, a full collection scans only what requests allocated, instead of stalling one request for
        # some 100 ms over the whole heap (bench/RESULTS.md).
        gc.freeze()
        try:
            yield
        finally:
            await webhooks.stop()
            await rescoring_job.stop()
            await stage_count_fold.stop()
            await retention.stop()
            await feed.stop()
            await engine.dispose()

    plans = Plans()
    graphql = LeadcycleGraphQL(
        build_schema(settings, plans),
        plans=plans,
        subscriber_buffer=settings.subscriber_buffer,
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        keep_alive=settings.ws_keep_alive_seconds > 0,
        keep_alive_interval=settings.ws_keep_alive_seconds,
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
                CORS,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["content-type", "x-actor"],
            ),
        ],
        lifespan=lifespan,
    )


def app_from_environment() -> Starlette:
    """The app on the database the environment names: what each `serve --workers` process runs.

    The parent process starts the embedded Postgres, if any, and hands its URL to the workers in
    LEADCYCLE_DATABASE_URL, so that every worker serves the one database.
    """
    settings = Settings()
    if settings.database_url is None:
        raise RuntimeError("A worker needs LEADCYCLE_DATABASE_URL (or DATABASE_URL): the database to serve.")
    return create_app(settings, settings.database_url.get_secret_value())


def _parallel_leads(settings: Settings) -> int:
    """recordActivities' transactions at a time: half the pool, the rest (and the overflow) for all else."""
    return max(1, settings.pool_size // 2)


def _retention(settings: Settings) -> Retention:
    return Retention(
        change_log=timedelta(days=settings.change_log_retention_days),
        idempotency_keys=timedelta(hours=settings.idempotency_key_retention_hours),
        batch=settings.retention_batch_size,
    )


def _webhook_options(settings: Settings) -> WorkerOptions:
    retry = RetryPolicy(
        max_attempts=settings.webhook_max_attempts,
        base_seconds=settings.webhook_backoff_base_seconds,
        max_delay_seconds=settings.webhook_backoff_max_seconds,
    )
    return WorkerOptions(
        concurrency=settings.webhook_concurrency,
        timeout_seconds=settings.webhook_timeout_seconds,
        poll_seconds=settings.webhook_poll_seconds,
        retry=retry,
        allow_private_addresses=settings.webhook_allow_private_addresses,
        secret_overlap=timedelta(hours=settings.webhook_secret_overlap_hours),
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
