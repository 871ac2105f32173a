"""The `leadcycle` command line: serve the API, apply migrations, fill a demo database.

Without a database URL (--database-url, LEADCYCLE_DATABASE_URL or DATABASE_URL) every command
starts an embedded Postgres keeping its data in --data-dir, and stops it on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import uvicorn
from sqlalchemy.engine import make_url
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

from leadcycle.graph.app import create_app
from leadcycle.graph.demo import DemoSummary, fill_demo
from leadcycle.graph.settings import Settings
from leadcycle.persistence.database import create_engine, current_revision, migrate

WORKER_APP = "leadcycle.graph.app:app_from_environment"
# uvicorn kills a worker that does not answer its health check in time, 5 s by default; a fresh
# interpreter on a busy machine can take longer than that just to start, so allow more.
WORKER_START_SECONDS = 30


@dataclass(frozen=True)
class Database:
    url: str
    description: str  # where the data lives, for people


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    # SIGTERM stops like Ctrl-C: by unwinding, so the embedded Postgres is stopped on the way out.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        args.command(args, Settings())
    except KeyboardInterrupt:
        sys.exit(130)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadcycle", description="The B2B lead lifecycle behind a GraphQL API.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the GraphQL API (migrates the database first)")
    serve.add_argument("--host", help="interface to listen on (default: settings, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: settings, 8000)")
    serve.add_argument(
        "--workers", type=_positive, default=1, help="server processes sharing the port and the database (default 1)"
    )
    serve.set_defaults(command=serve_command)
    migrate = commands.add_parser("migrate", help="bring the database schema to the newest migration")
    migrate.set_defaults(command=migrate_command)
    demo = commands.add_parser("demo", help="fill the database with sample leads in every stage")
    demo.add_argument("--leads", type=_positive, default=300, help="how many leads to create (default 300)")
    demo.add_argument("--seed", type=int, help="the same seed gives the same sample (default: a random one)")
    demo.set_defaults(command=demo_command)
    for command in (serve, migrate, demo):
        command.add_argument("--data-dir", type=Path, help="embedded Postgres data (default .leadcycle-data)")
        command.add_argument("--database-url", help="use this Postgres instead of the embedded one")
    return parser


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return number


@contextlib.contextmanager
def database(args: argparse.Namespace, settings: Settings) -> Iterator[Database]:
    """The configured database, else an embedded Postgres in the data dir, stopped on exit."""
    if args.database_url:
        yield Database(args.database_url, f"using --database-url {_safe(args.database_url)}")
    elif settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        yield Database(url, f"using DATABASE_URL {_safe(url)}")
    else:
        # Imported here: pgserver is only needed, and only warns about its runtime folder, without a URL.
        from leadcycle.persistence.embedded import embedded_postgres

        data_dir: Path = (args.data_dir or settings.data_dir).resolve()
        print(f"Starting the embedded Postgres in {data_dir} ...", flush=True)
        with embedded_postgres(data_dir) as url:
            try:
                yield Database(url, f"embedded Postgres in {data_dir}, kept between runs")
            finally:
                _ignore_interrupts()


def _ignore_interrupts() -> None:
    """Let the embedded Postgres stop: a second SIGINT must not cut that short.

    Outside a terminal `uv run` forwards a SIGINT its child already got from the process group
    (https://github.com/astral-sh/uv/pull/13925), so one Ctrl-C can arrive twice.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def serve_command(args: argparse.Namespace, settings: Settings) -> None:
    host, port = args.host or settings.host, args.port or settings.port
    with database(args, settings) as db:
        browser = " (open it in a browser for GraphiQL)" if settings.graphiql else ""
        print(f"GraphQL API: http://{host}:{port}/graphql{browser}", flush=True)
        print(f"Health:      http://{host}:{port}/healthz and /readyz", flush=True)
        print(f"Data:        {db.description}", flush=True)
        if args.workers > 1:
            print(f"Workers:     {args.workers} processes", flush=True)
        print("Stop with Ctrl-C.", flush=True)
        if not _serve(settings, db.url, host, port, args.workers):
            sys.exit("The server did not start; see the messages above.")
    print("Stopped.", flush=True)


def _serve(settings: Settings, database_url: str, host: str, port: int, workers: int) -> bool:
    if workers == 1:
        return _run(uvicorn.Server(uvicorn.Config(create_app(settings, database_url), host=host, port=port)))
    config = uvicorn.Config(
        WORKER_APP, factory=True, host=host, port=port, workers=workers, timeout_worker_healthcheck=WORKER_START_SECONDS
    )
    return _run_workers(database_url, config)


def _run(server: uvicorn.Server) -> bool:
    """Serve until Ctrl-C or SIGTERM; False when the server failed to start."""
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn shuts down gracefully, then re-raises the signal that stopped it
        return True
    return server.started


def _run_workers(database_url: str, config: uvicorn.Config) -> bool:
    """Serve with `config.workers` processes until Ctrl-C or SIGTERM; False when a worker failed to start.

    The workers are fresh interpreters (uvicorn spawns them): they find the database, the one this
    process started or was given, in the environment they inherit. Each migrates under the
    advisory lock (the first does the work) and runs its own change feed. uvicorn's supervisor
    takes over SIGINT and SIGTERM: it stops the workers gracefully, then returns here, and the
    embedded Postgres, if any, stops after them.
    """
    os.environ["LEADCYCLE_DATABASE_URL"] = database_url
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    return all(worker.exitcode != STARTUP_FAILURE for worker in supervisor.processes)


def migrate_command(args: argparse.Namespace, settings: Settings) -> None:
    with database(args, settings) as db:
        revision = asyncio.run(_migrate(db.url))
        print(f"Database at revision {revision} ({db.description})", flush=True)


async def _migrate(url: str) -> str | None:
    engine = create_engine(url)
    try:
        await migrate(engine)
        return await current_revision(engine)
    finally:
        await engine.dispose()


def demo_command(args: argparse.Namespace, settings: Settings) -> None:
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    with database(args, settings) as db:
        print(f"Creating {args.leads} demo leads with seed {seed} ({db.description}) ...", flush=True)
        started = time.monotonic()
        summary = asyncio.run(fill_demo(db.url, leads=args.leads, seed=seed))
        print(_report(summary, time.monotonic() - started), flush=True)


def _report(summary: DemoSummary, seconds: float) -> str:
    lines = [f"Created {summary.leads} leads in {seconds:.1f} s. Leads per stage:"]
    lines += [f"  {stage.value:<12} {count:>5}" for stage, count in summary.stages.items()]
    lines.append("Recorded " + ", ".join(f"{count} {kind}" for kind, count in summary.steps.items()) + ".")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
