"""Fill the benchmark database fast: real stories as archetypes, cloned in bulk with COPY.

A few hundred leads live the demo's stories (`leadcycle demo`: marketing touches, sales actions,
transitions, back-dated over half a year) through the real use cases and repositories, so their
rows are exactly what the product writes. Every other lead is a copy of one of them, read back
from the tables: a new id, and every timestamp moved by one random shift that keeps the whole
story inside the demo's half year (timestamps inside jsonb values, such as a breakdown's `at`,
move too). Copies are written with binary COPY; secondary indexes are dropped during the load and
rebuilt after it, the stage counts recounted (COPY writes no deltas), then the tables are vacuumed
and analysed. COPY as a replica skips the triggers that keep `lead_search` (the searched columns
lower-cased, the source and the stage), so the copies' rows are added in one statement after the
load, before its trigram index is rebuilt with the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from leadcycle.graph.demo import fill_demo
from leadcycle.graph.demo_data import HISTORY_DAYS
from leadcycle.persistence.kept_counts import RECOUNT

ARCHETYPES = 300
CHUNK = 5_000
Record = tuple[Any, ...]
# (table, the column that holds the lead's id); identity columns are left to the database
TABLES = (("leads", "id"), ("activities", "lead_id"), ("lead_history", "lead_id"))
# Tables whose secondary indexes are dropped for the load: the copied ones, and what the load fills after.
INDEXED = [*(table for table, _ in TABLES), "lead_search"]
# The copies' rows of lead_search, as its trigger would have written them (the lived leads have theirs).
SEARCH_ROWS = """INSERT INTO lead_search (lead_id, company, contact, email, source, stage)
    SELECT id, lower(company_name), lower(contact_name), lower(contact_email), source, stage FROM leads
    ON CONFLICT (lead_id) DO NOTHING"""
_ISO = re.compile(r'"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:[+-]\d{2}:\d{2}|Z))"')


@dataclass(frozen=True)
class MovingJson:
    """jsonb text whose timestamps move with the copy: the literal parts between them, and them."""

    parts: tuple[str, ...]
    times: tuple[datetime, ...]

    @classmethod
    def of(cls, text: str) -> MovingJson:
        pieces = _ISO.split(text)
        return cls(tuple(pieces[0::2]), tuple(datetime.fromisoformat(t) for t in pieces[1::2]))

    def render(self, shift: timedelta) -> str:
        if not self.times:
            return self.parts[0]
        pieces = [self.parts[0]]
        for moment, part in zip(self.times, self.parts[1:], strict=True):
            pieces += [f'"{(moment + shift).isoformat()}"', part]
        return "".join(pieces)


@dataclass(frozen=True)
class RowTemplate:
    """One row of an archetype, with what changes in a copy: the lead's id, timestamps, jsonb."""

    values: tuple[Any, ...]
    ids: tuple[int, ...]
    times: tuple[int, ...]
    documents: tuple[tuple[int, MovingJson], ...]

    def render(self, lead_id: UUID, shift: timedelta) -> Record:
        row = list(self.values)
        for i in self.ids:
            row[i] = lead_id
        for i in self.times:
            row[i] += shift
        for i, document in self.documents:
            row[i] = document.render(shift)
        return tuple(row)

    def moments(self) -> list[datetime]:
        return [self.values[i] for i in self.times] + [t for _, d in self.documents for t in d.times]


@dataclass(frozen=True)
class Columns:
    """A table's columns to copy, and which hold the lead's id, timestamps and jsonb."""

    names: list[str]
    lead_id: str
    types: dict[str, str]

    def template(self, record: asyncpg.Record) -> RowTemplate:
        values = tuple(record[name] for name in self.names)
        kinds = [self.types[name] for name in self.names]
        return RowTemplate(
            values,
            tuple(i for i, name in enumerate(self.names) if name == self.lead_id),
            tuple(i for i, (v, k) in enumerate(zip(values, kinds, strict=True)) if k.startswith("timestamp") and v),
            tuple((i, MovingJson.of(v)) for i, (v, k) in enumerate(zip(values, kinds, strict=True)) if k == "jsonb"),
        )


@dataclass
class Story:
    """An archetype: the lead's row and its children, ready to copy."""

    lead: RowTemplate
    children: dict[str, list[RowTemplate]] = field(default_factory=dict)

    def span(self) -> tuple[datetime, datetime]:
        moments = [*self.lead.moments(), *(m for rows in self.children.values() for r in rows for m in r.moments())]
        return min(moments), max(moments)


async def _columns(connection: asyncpg.Connection, table: str, lead_id: str) -> Columns:
    rows = await connection.fetch(
        """SELECT column_name, data_type, is_identity FROM information_schema.columns
           WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position""",
        table,
    )
    names = [r["column_name"] for r in rows if r["is_identity"] != "YES"]
    return Columns(names, lead_id, {r["column_name"]: r["data_type"] for r in rows})


async def stories(connection: asyncpg.Connection) -> tuple[list[Story], dict[str, Columns]]:
    """The archetypes as written by the use cases, read back from the tables."""
    columns = {table: await _columns(connection, table, key) for table, key in TABLES}
    by_lead = {r["id"]: Story(columns["leads"].template(r)) for r in await connection.fetch("SELECT * FROM leads")}
    for table, _ in TABLES[1:]:
        for record in await connection.fetch(f"SELECT * FROM {table} ORDER BY id"):
            by_lead[record["lead_id"]].children.setdefault(table, []).append(columns[table].template(record))
    return list(by_lead.values()), columns


def copies(archetypes: Sequence[Story], total: int, seed: int, until: datetime) -> Iterator[dict[str, list[Record]]]:
    """`total` copies in chunks (rows by table); each moved at random within the window, never past `until`."""
    rng = random.Random(seed)
    window_start = until - timedelta(days=HISTORY_DAYS)
    spans = [story.span() for story in archetypes]
    made = 0
    while made < total:
        chunk: dict[str, list[Record]] = {table: [] for table, _ in TABLES}
        for _ in range(min(CHUNK, total - made)):
            index = rng.randrange(len(archetypes))
            (first, last), story = spans[index], archetypes[index]
            latest = (until - last).total_seconds()
            shift = timedelta(seconds=rng.uniform(min((window_start - first).total_seconds(), latest), latest))
            lead_id = uuid4()
            chunk["leads"].append(story.lead.render(lead_id, shift))
            for table, rows in story.children.items():
                chunk[table] += [row.render(lead_id, shift) for row in rows]
        made += len(chunk["leads"])
        yield chunk


_SECONDARY_INDEXES = """
    SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    WHERE t.relname = ANY($1::text[]) AND t.relnamespace = 'public'::regnamespace
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"""


async def fill(database_url: str, total: int, *, seed: int = 7, archetypes: int = ARCHETYPES, log: Any = print) -> None:
    """Write `total` leads with their activities and history into the migrated, empty database."""
    started = time.perf_counter()
    until = datetime.now(UTC).replace(microsecond=0)
    lived = min(total, archetypes)
    async with _without_synchronous_commit(database_url):
        await fill_demo(database_url, leads=lived, seed=seed, until=until)
    log(f"  {lived} leads lived the demo's stories through the use cases ({time.perf_counter() - started:.1f} s)")
    connections = [await asyncpg.connect(database_url) for _ in TABLES]
    try:
        main = connections[0]
        lived_stories, columns = await stories(main)
        for connection in connections:
            await _skip_foreign_key_checks(connection)
        indexes = await main.fetch(_SECONDARY_INDEXES, INDEXED)
        for index in indexes:
            await main.execute(f'DROP INDEX "{index["name"]}"')
        await _load(connections, columns, copies(lived_stories, total - lived, seed, until), log)
        await main.execute(SEARCH_ROWS)
        log(f"  copied ({time.perf_counter() - started:.1f} s); indexing")
        definitions = [index["definition"] for index in indexes]
        await asyncio.gather(_build(connections[1], definitions[0::2]), _build(connections[2], definitions[1::2]))
        async with main.transaction():  # COPY bypassed the writes' stage count deltas
            await main.execute(RECOUNT)
        await main.execute(f"VACUUM (ANALYZE) {', '.join(INDEXED)}")
    finally:
        for connection in connections:
            await connection.close()
    log(f"  filled in {time.perf_counter() - started:.1f} s")


async def _load(
    connections: list[asyncpg.Connection],
    columns: dict[str, Columns],
    chunks: Iterator[dict[str, list[Record]]],
    log: Any,
) -> None:
    counts = dict.fromkeys(columns, 0)
    pending = asyncio.create_task(asyncio.to_thread(next, chunks, None))
    while (chunk := await pending) is not None:
        # Make the next chunk in a thread while Postgres takes this one; leads first (foreign keys).
        pending = asyncio.create_task(asyncio.to_thread(next, chunks, None))
        await _copy(connections[0], "leads", chunk["leads"], columns["leads"].names)
        await asyncio.gather(
            *(
                _copy(c, table, chunk[table], columns[table].names)
                for c, (table, _) in zip(connections[1:], TABLES[1:], strict=True)
            )
        )
        counts = {table: counts[table] + len(chunk[table]) for table in counts}
    log("  copies: " + ", ".join(f"{count:,} {table}" for table, count in counts.items()))


async def _copy(connection: asyncpg.Connection, table: str, records: list[Record], names: list[str]) -> None:
    if records:
        await connection.copy_records_to_table(table, records=records, columns=names)


@contextlib.asynccontextmanager
async def _without_synchronous_commit(database_url: str) -> Any:
    """The archetypes' thousands of small transactions need not wait for the disk (new sessions only)."""
    connection = await asyncpg.connect(database_url)
    name = await connection.fetchval("SELECT current_database()")
    try:
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        yield
    finally:
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await connection.execute(f'ALTER DATABASE "{name}" RESET synchronous_commit')
        await connection.close()


async def _skip_foreign_key_checks(connection: asyncpg.Connection) -> None:
    """The copies are consistent by construction: let COPY skip the per-row foreign-key triggers.

    Needs a superuser; anyone else loads with the checks, only slower.
    """
    with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
        await connection.execute("SET session_replication_role = replica")


async def _build(connection: asyncpg.Connection, definitions: list[str]) -> None:
    """Rebuild indexes one after the other on this connection (two connections share the work)."""
    for definition in definitions:
        await connection.execute(definition)


def stage_mix(rows: Sequence[asyncpg.Record]) -> str:
    """'COLD 24%, WARM 20%, ...' from (stage, count) rows."""
    total = sum(r["count"] for r in rows) or 1
    return ", ".join(f"{r['stage']} {100 * r['count'] / total:.0f}%" for r in rows)
