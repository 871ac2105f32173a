"""The counts that must read the table: `totalCount`, filtered `pipeline`, `channelFunnel`.

Issue 5 asks that they stay under 150 ms at 1,000,000 leads. Each query goes through our read
side (persistence/queries.py: the SQL the API sends), one client at a time, after one unmeasured
run; the table gives the median and the worst of `--runs`:

    uv run python -m bench.aggregates --leads 1000000
    uv run python -m bench.aggregates --leads 1000000 --database-url postgresql://postgres@127.0.0.1:5432/test

Counts with `search` read `lead_search`, a narrow table of the searched columns lower-cased
with each lead's source and stage (migration a4c7e9b2d5f8), instead of rechecking
the wide leads rows: with `search` and at most `sources` and `stages` only that table, with other
filters (`minScore: 50` here) the leads whose row matches. Where the server has `pg_trgm` a trigram
index serves it (and the pages' search on leads, e1f7a2b9c5d3); the embedded Postgres has not,
and there the counts read every row of `lead_search`. The output says which it was.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import uvloop
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.database import fresh_database, postgres_server
from bench.fill import fill
from leadcycle.domain.stages import Stage, Temperature
from leadcycle.persistence.database import create_engine, plain_url
from leadcycle.persistence.queries import LeadFilter, channel_counts, lead_count, stage_counts

Query = Callable[[], Awaitable[object]]


def queries(engine: AsyncEngine, now: datetime) -> dict[str, Query]:
    """What a pipeline board and a channel report ask, by the name the table gives them."""
    counts: dict[str, LeadFilter] = {
        "`totalCount`, no filter": LeadFilter(),
        "`totalCount`, `stages: [MQL]`": LeadFilter(stages=(Stage.MQL,)),
        '`totalCount`, `sources: ["seo"]`': LeadFilter(sources=("seo",)),
        "`totalCount`, `temperatures: [HOT], minScore: 50`": LeadFilter(temperatures=(Temperature.HOT,), min_score=50),
        '`totalCount`, `search: "tech"`': LeadFilter(search="tech"),
        '`totalCount`, `search: "sakura"`': LeadFilter(search="sakura"),
        '`totalCount`, `search: "システムズ"`': LeadFilter(search="システムズ"),
        '`totalCount`, `sources: ["seo"], search: "sakura"`': LeadFilter(sources=("seo",), search="sakura"),
        '`totalCount`, `stages: [MQL], search: "sakura"`': LeadFilter(stages=(Stage.MQL,), search="sakura"),
        '`totalCount`, `minScore: 50, search: "sakura"`': LeadFilter(min_score=50, search="sakura"),
    }
    boards: dict[str, LeadFilter] = {
        "`pipeline`, no filter": LeadFilter(),
        '`pipeline`, `sources: ["seo"]`': LeadFilter(sources=("seo",)),
        "`pipeline`, `temperatures: [HOT]`": LeadFilter(temperatures=(Temperature.HOT,)),
        '`pipeline`, `search: "sakura"`': LeadFilter(search="sakura"),
        '`pipeline`, `sources: ["seo"], search: "sakura"`': LeadFilter(sources=("seo",), search="sakura"),
    }
    found: dict[str, Query] = {name: functools.partial(lead_count, engine, where) for name, where in counts.items()}
    found |= {name: functools.partial(stage_counts, engine, where) for name, where in boards.items()}
    found["`channelFunnel`, all time"] = functools.partial(channel_counts, engine, None, None)
    found["`channelFunnel`, the last 30 days"] = functools.partial(
        channel_counts, engine, now - timedelta(days=30), None
    )
    return found


async def timed(query: Query, runs: int) -> list[float]:
    """Milliseconds of each of `runs` runs, after one that is not measured."""
    await query()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await query()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def main(options: argparse.Namespace) -> None:
    with postgres_server(options.database_url) as server:
        async with fresh_database(server) as url:
            print(f"filling {options.leads:,} leads")
            await fill(url, options.leads, log=print)
            connection = await asyncpg.connect(plain_url(url))
            trigrams = await connection.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")
            version = await connection.fetchval("SHOW server_version")
            await connection.close()
            engine = create_engine(url)
            try:
                print(f"\nPostgres {version}, {options.leads:,} leads, pg_trgm {'present' if trigrams else 'absent'}\n")
                print("| query | median ms | worst ms |\n|---|---:|---:|")
                for name, query in queries(engine, datetime.now(UTC)).items():
                    times = await timed(query, options.runs)
                    print(f"| {name} | {statistics.median(times):,.0f} | {max(times):,.0f} |", flush=True)
            finally:
                await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", help="Postgres server to create the database on (default: as the suite)")
    uvloop.run(main(parser.parse_args()))
