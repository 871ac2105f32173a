"""The composition root: settings, engine, change feed, use cases, schema and the Starlette app."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.rescoring import Rescoring
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.domain.webhooks import RetryPolicy
from leadcycle.graph.context import Services
from leadcycle.graph.middleware import CORS, BodyLimit, RequestId
from leadcycle.graph.plans import Plans
from leadcycle.graph.schema import build_schema
from leadcycle.graph.settings import Settings
from leadcycle.graph.view import LeadcycleGraphQL
from leadcycle.persistence.change_feed import ChangeFeed
from leadcycle.persistence.database import create_engine, is_ready, migrate, plain_url
from leadcycle.persistence.kept_counts import CountFoldJob
from leadcycle.persistence.rescoring_job import RescoringJob
from leadcycle.persistence.retention import Retention, RetentionJob
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from leadcycle.persistence.webhook_delivery import WorkerOptions
from leadcycle.persistence.webhook_runtime import Webhooks

log = logging.getLogger("leadcycle")


def utc_now() -> datetime:
    return datetime.now(UTC)


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
        count_fold = CountFoldJob(engine, settings.stage_count_fold_interval_seconds)
        count_fold.start()
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
            await count_fold.stop()
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
    """recordActivities' transactions at a time: a quarter of the pool, the rest for all else."""
    return max(1, settings.pool_size // 4)


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
