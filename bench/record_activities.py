"""recordActivities at volume: activities per second over HTTP, next to raw asyncpg doing the same SQL.

    uv run python -m bench.record_activities
    uv run python -m bench.record_activities --batches 50 --database-url postgresql://postgres@127.0.0.1:5432/test

It creates its own database (like `python -m bench`), fills a small one, starts our server in a
process of its own and sends it batches of `--batch-size` email_open activities spread round-robin
over `--leads-per-batch` SQL and WON leads (+1 point each, so no lead changes stage), one batch at a
time, with each response checked. Then, with our server stopped (SIGSTOP, as the suite does), raw
asyncpg writes the same rows for other leads of the same stages: per lead one transaction (writer
lock, row lock, one UPDATE of the lead, then one INSERT each for its activities, its timeline
entries and its change-log rows with a snapshot per version), at most as many leads at once as our
server runs (PARALLEL_LEADS). Both figures are activities per second over the same number of batches.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import asyncpg

from bench.__main__ import run_to_exit_code
from bench.baseline_sql import keep_as_is, locked_for_scoring, setup_connection, tally, temperature_of
from bench.client import Connection, graphql
from bench.database import fresh_database, postgres_server
from bench.fill import fill
from bench.processes import ServerProcess
from leadcycle.domain.scoring import DEFAULT_SCORING_MODEL
from leadcycle.domain.use_cases import PARALLEL_LEADS
from leadcycle.persistence.mapping import dumps

KIND, RULE, POINTS = "email_open", "activity.email_open", 1
ACTOR = "bench"
RECORD = (
    "mutation Record($inputs: [ActivityInput!]!) { recordActivities(inputs: $inputs) "
    "{ __typename ... on LeadPayload { lead { id version score } } ... on Problem { message } } }"
)
_UPDATE = """
    UPDATE leads SET version = $3, score = $4, temperature = $5, score_breakdown = $6, updated_at = $7
    WHERE id = $1 AND version = $2"""
_ACTIVITIES = """
    INSERT INTO activities (lead_id, kind, occurred_at, recorded_at, properties, points, cycle, rule)
    SELECT $1, $2, $3, $3, '{}'::jsonb, $4, $5, $6 FROM generate_series(1, $7)"""
_HISTORY = """
    INSERT INTO lead_history (lead_id, at, kind, actor, summary, data)
    SELECT $1, $2, h.kind, $3, h.summary, h.data::jsonb
    FROM unnest($4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS h(kind, summary, data, n) ORDER BY h.n"""
_CHANGES = """
    INSERT INTO lead_changes (lead_id, version, kind, at, actor, snapshot)
    SELECT $1, c.version, 'activity', $2, $3, c.snapshot::jsonb
    FROM unnest($4::int[], $5::text[]) WITH ORDINALITY AS c(version, snapshot, n) ORDER BY c.n"""


@dataclass(frozen=True)
class Options:
    leads: int
    rounds: int
    batches: int
    batch_size: int
    leads_per_batch: int
    database_url: str | None
    seed: int


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.record_activities", description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=2_000, help="leads to fill (default 2,000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each system in turn (default 5)")
    parser.add_argument("--batches", type=int, default=4, help="batches per system and round (default 4)")
    parser.add_argument("--batch-size", type=int, default=1_000, help="activities per batch (default 1,000)")
    parser.add_argument("--leads-per-batch", type=int, default=100, help="leads a batch spreads over (default 100)")
    parser.add_argument("--database-url", help="Postgres server to create the database on")
    parser.add_argument("--seed", type=int, default=7)
    return Options(**vars(parser.parse_args(argv)))


def batch_request(port: int, leads: Sequence[UUID], size: int) -> bytes:
    """One recordActivities call: `size` activities, round-robin over `leads`."""
    inputs = [{"leadId": str(lead), "kind": KIND} for lead in itertools.islice(itertools.cycle(leads), size)]
    return graphql(port, RECORD, {"inputs": inputs})


async def _checked(connection: Connection, request: bytes, size: int) -> None:
    status, body = await connection.request(request)
    results = json.loads(body).get("data", {}) or {}
    recorded = sum(r["__typename"] == "LeadPayload" for r in results.get("recordActivities") or [])
    if status != 200 or recorded != size:
        raise RuntimeError(f"recordActivities answered {status} with {recorded} of {size} recorded: {body[:300]!r}")


async def _raw_batch(pool: asyncpg.Pool, per_lead: dict[UUID, int]) -> None:
    await asyncio.gather(*(_raw_lead(pool, lead, count) for lead, count in per_lead.items() if count))


async def _timed(call: Callable[[], Awaitable[None]], times: int) -> float:
    started = time.perf_counter()
    for _ in range(times):
        await call()
    return time.perf_counter() - started


@dataclass
class Rounds:
    """Seconds per round for each system; a round is `batches` batches of each, ours first."""

    ours: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)


async def compare(server: ServerProcess, url: str, leads: Sequence[UUID], options: Options) -> Rounds:
    """Alternate ours and raw round by round, so that a change in the machine's load hits both."""
    half, size = options.leads_per_batch, options.batch_size
    per_lead = {lead: len(range(i, size, half)) for i, lead in enumerate(leads[half:])}
    connection = await Connection.open(server.port)
    pool = await asyncpg.create_pool(
        url, min_size=PARALLEL_LEADS, max_size=PARALLEL_LEADS, init=setup_connection, reset=keep_as_is
    )
    ours_call = functools.partial(_checked, connection, batch_request(server.port, leads[:half], size), size)
    raw_call = functools.partial(_raw_batch, pool, per_lead)
    rounds = Rounds()
    try:
        await ours_call()
        await raw_call()  # warm-up of both
        for _ in range(options.rounds):
            server.resume()
            await asyncio.sleep(1.0)  # its change feed reads the last round's raw rows now, not on our time
            rounds.ours.append(await _timed(ours_call, options.batches))
            server.pause()  # as in the suite: its change feed would otherwise read the raw rows on their time
            rounds.raw.append(await _timed(raw_call, options.batches))
    finally:
        connection.close()
        await pool.close()
    return rounds


async def _raw_lead(pool: asyncpg.Pool, lead_id: UUID, count: int) -> None:
    """One lead's activities of a batch: what the repository's save_all writes, in one transaction."""
    now = datetime.now(UTC)
    async with pool.acquire() as connection, locked_for_scoring(connection, lead_id) as locked:
        lead = dict(locked)
        first_version, history, snapshots = lead["version"], [], []
        for _ in range(count):
            before = lead["score"]
            breakdown = tally(lead["score_breakdown"], RULE, POINTS, KIND, now)
            score = sum(c["points"] for c in breakdown)
            temperature = temperature_of(score, lead["hot_signal"] is not None)
            lead |= {"version": lead["version"] + 1, "score": score, "temperature": temperature}
            lead |= {"score_breakdown": breakdown, "updated_at": now}
            activity = {"kind": KIND, "occurredAt": now.isoformat(), "points": POINTS, "rule": RULE, "properties": {}}
            score_data = {"from": before, "to": score, "modelVersion": DEFAULT_SCORING_MODEL.version}
            history += [
                ("activity", f"{KIND} ({POINTS:+d})", dumps(activity)),
                ("score", f"Score {before} -> {score} ({score - before:+d})", dumps(score_data)),
            ]
            snapshots.append(dumps(lead))
        await connection.execute(_UPDATE, lead_id, first_version, lead["version"], score, temperature, breakdown, now)
        await connection.execute(_ACTIVITIES, lead_id, KIND, now, POINTS, lead["cycle"], RULE, count)
        kinds, summaries, data = (list(column) for column in zip(*history, strict=True))
        await connection.execute(_HISTORY, lead_id, now, ACTOR, kinds, summaries, data)
        versions = list(range(first_version + 1, lead["version"] + 1))
        await connection.execute(_CHANGES, lead_id, now, ACTOR, versions, snapshots)


async def steady_leads(url: str, count: int) -> list[UUID]:
    """`count` SQL and WON leads: email_open never moves them to another stage."""
    connection = await asyncpg.connect(url)
    try:
        query = "SELECT id FROM leads WHERE stage IN ('SQL', 'WON') ORDER BY id LIMIT $1"
        found = [row["id"] for row in await connection.fetch(query, count)]
    finally:
        await connection.close()
    if len(found) < count:
        raise RuntimeError(f"only {len(found)} SQL and WON leads; fill more with --leads")
    return found


async def benchmark(options: Options, server_url: str) -> Rounds:
    async with fresh_database(server_url) as url:
        print(f"filling {options.leads:,} leads")
        await fill(url, options.leads, seed=options.seed, archetypes=100, log=print)
        leads = await steady_leads(url, 2 * options.leads_per_batch)
        with tempfile.TemporaryDirectory(prefix="leadcycle-bench-logs-") as logs:
            server = ServerProcess("leadcycle", url, Path(logs))
            try:
                await server.ready()
                return await compare(server, url, leads, options)
            finally:
                server.stop()


async def measure(options: Options, server_url: str) -> int:
    rounds = await benchmark(options, server_url)
    activities = options.rounds * options.batches * options.batch_size
    ours, raw = activities / sum(rounds.ours), activities / sum(rounds.raw)
    ratios = sorted(r / o for o, r in zip(rounds.ours, rounds.raw, strict=True))
    print(
        f"recordActivities: {options.rounds} rounds of {options.batches} batches of {options.batch_size:,} "
        f"activities over {options.leads_per_batch} leads, one batch at a time:\n"
        f"  ours (GraphQL over HTTP): {ours:,.0f} activities/s\n"
        f"  raw asyncpg, same rows:   {raw:,.0f} activities/s\n"
        f"  ours / raw: {ours / raw:.2f} (per round: min {ratios[0]:.2f}, median {statistics.median(ratios):.2f}, "
        f"max {ratios[-1]:.2f})"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    with postgres_server(options.database_url) as server:
        return run_to_exit_code(measure(options, server))


if __name__ == "__main__":
    raise SystemExit(main())
