"""The read side: lead pages with keyset cursors, aggregates, and batched child lists.

Each function is one SQL statement on its own short-lived connection of the pool (driver.py), so
GraphQL resolvers running concurrently never share a connection. Statements are Core built from the
tables and compiled once (`driver.plain`), per filter where a filter shapes them.
"""

from __future__ import annotations

import base64
import functools
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Table,
    Text,
    and_,
    bindparam,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.model import Activity, HistoryEntry, Lead
from leadcycle.domain.stages import Stage, Temperature
from leadcycle.persistence import driver, kept_counts
from leadcycle.persistence.mapping import activity_from_row, lead_from_row
from leadcycle.persistence.tables import activities, lead_search, leads

T = TypeVar("T")
ORDER_COLUMNS = {"CREATED_AT": leads.c.created_at, "UPDATED_AT": leads.c.updated_at, "SCORE": leads.c.score}


@dataclass(frozen=True)
class LeadFilter:
    """None means "no condition"; an empty tuple matches nothing."""

    stages: tuple[Stage, ...] | None = None
    temperatures: tuple[Temperature, ...] | None = None
    sources: tuple[str, ...] | None = None
    owner_team: str | None = None
    min_score: int | None = None
    search: str | None = None
    going_cold: bool | None = None


@dataclass(frozen=True)
class LeadOrder:
    field: str = "CREATED_AT"
    descending: bool = True

    @property
    def name(self) -> str:
        return f"{self.field}:{'DESC' if self.descending else 'ASC'}"


class InvalidCursor(ValueError):
    """A cursor that is malformed or belongs to another order."""


def encode_cursor(lead: Lead, order: LeadOrder) -> str:
    value = {"CREATED_AT": lead.created_at, "UPDATED_AT": lead.updated_at, "SCORE": lead.score}[order.field]
    key = value.isoformat() if isinstance(value, datetime) else value
    return base64.urlsafe_b64encode(json.dumps([order.name, key, str(lead.id)]).encode()).decode()


def decode_cursor(cursor: str, order: LeadOrder) -> tuple[Any, UUID]:
    try:
        name, key, lead_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        value = datetime.fromisoformat(key) if order.field != "SCORE" else int(key)
        parsed = name, value, UUID(lead_id)
    except (ValueError, TypeError) as error:
        raise InvalidCursor("The cursor is malformed: pass back an endCursor you received") from error
    if parsed[0] != order.name:
        raise InvalidCursor("The cursor belongs to another order: page from the start with this order")
    return parsed[1], parsed[2]


SearchForm = Callable[[str], ColumnElement[bool]]


def _contains(term: str) -> str:
    """The LIKE pattern of `term` as a substring, its `%`, `_` and `\\` literal (ESCAPE '\\')."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_on_leads(term: str) -> ColumnElement[bool]:
    """`search` on the leads' own columns, as the page filters (served by leads' trigram index)."""
    pattern = _contains(term)
    searched = (leads.c.company_name, leads.c.contact_name, leads.c.contact_email)
    return or_(*(c.ilike(pattern, escape="\\") for c in searched))


def search_match(term: str) -> ColumnElement[bool]:
    """`search` on `lead_search`, whose columns are lower()ed: the same matches as `search_on_leads`.

    ILIKE in a UTF8 database is lower() on both sides, then LIKE; Postgres lowers the pattern here
    too (not Python, whose case rules differ).
    """
    pattern = func.lower(literal(_contains(term), Text))
    searched = (lead_search.c.company, lead_search.c.contact, lead_search.c.email)
    return or_(*(c.like(pattern, escape="\\") for c in searched))


def search_in_lead_search(term: str) -> ColumnElement[bool]:
    """`search` as the leads whose `lead_search` row matches: what counts use (no recheck of wide rows)."""
    return leads.c.id.in_(select(lead_search.c.lead_id).where(search_match(term)))


def _among(column: Any, values: Sequence[str] | None) -> list[ColumnElement[bool]]:
    """`column IN values`; none for None (no condition), false for an empty list (nothing matches)."""
    if values is None:
        return []
    return [column.in_(values) if values else false()]


def _values(members: tuple[Stage, ...] | tuple[Temperature, ...] | None) -> list[str] | None:
    return None if members is None else [member.value for member in members]


def filter_conditions(where: LeadFilter, *, search: SearchForm) -> list[ColumnElement[bool]]:
    """The filter's conditions on leads, `search` as the form given: `search_on_leads` or `search_in_lead_search`."""
    conditions = [
        *_among(leads.c.stage, _values(where.stages)),
        *_among(leads.c.temperature, _values(where.temperatures)),
        *_among(leads.c.source, where.sources),
    ]
    if where.owner_team is not None:
        conditions.append(leads.c.owner_team == where.owner_team)
    if where.min_score is not None:
        conditions.append(leads.c.score >= where.min_score)
    if where.going_cold is not None:
        cooling = and_(leads.c.stage == Stage.MQL.value, leads.c.temperature != Temperature.HOT.value)
        conditions.append(cooling if where.going_cold else not_(cooling))
    if where.search:
        conditions.append(search(where.search))
    return conditions


def lead_search_answers(where: LeadFilter) -> bool:
    """Whether `lead_search` alone can count `where`: a `search`, and besides it only `sources` and `stages`.

    Without a search the leads' own indexes on source and stage serve better.
    """
    return bool(where.search) and where == LeadFilter(search=where.search, sources=where.sources, stages=where.stages)


def lead_search_conditions(where: LeadFilter) -> list[ColumnElement[bool]]:
    """The conditions of a filter that `lead_search_answers`, on `lead_search`'s own columns."""
    if not (where.search and lead_search_answers(where)):
        raise ValueError(f"lead_search holds no column for some field of {where}")
    return [
        *_among(lead_search.c.stage, _values(where.stages)),
        *_among(lead_search.c.source, where.sources),
        search_match(where.search),
    ]


def _counted(where: LeadFilter) -> tuple[Table, ColumnElement[str], list[ColumnElement[bool]]]:
    """What a count of `where` reads (`lead_search` where it can, otherwise leads), its stage column and conditions."""
    if lead_search_answers(where):
        return lead_search, lead_search.c.stage, lead_search_conditions(where)
    return leads, leads.c.stage, filter_conditions(where, search=search_in_lead_search)


def _open(name: str, type_: Any) -> Any:
    """A bind parameter given at each execution (see `driver.Plain.arguments`)."""
    return bindparam(name, None, type_=type_)


_LEAD = driver.plain(select(leads).where(leads.c.id == _open("id", leads.c.id.type)))
# How many filters' compiled statements are kept (those asked last).
_COMPILED_FILTERS = 256


async def lead(engine: AsyncEngine, lead_id: UUID) -> Lead | None:
    async with driver.connection(engine) as connection:
        row = await connection.fetchrow(_LEAD.sql, *_LEAD.arguments(id=lead_id))
    return lead_from_row(row) if row else None


@functools.lru_cache(maxsize=_COMPILED_FILTERS)
def _page_statement(where: LeadFilter, order: LeadOrder, after: bool) -> driver.Plain:
    """The page's SELECT; open parameters `limit` and, `after` a cursor, its `key` and `after_id`."""
    column = ORDER_COLUMNS[order.field]
    conditions = filter_conditions(where, search=search_on_leads)
    if after:
        boundary = tuple_(_open("key", column.type), _open("after_id", leads.c.id.type))
        position = tuple_(column, leads.c.id)
        conditions.append(position < boundary if order.descending else position > boundary)
    ordering = [column.desc(), leads.c.id.desc()] if order.descending else [column.asc(), leads.c.id.asc()]
    query = select(leads).where(and_(True, *conditions)).order_by(*ordering).limit(_open("limit", Integer))
    return driver.plain(query)


async def lead_page(
    engine: AsyncEngine, where: LeadFilter, order: LeadOrder, first: int, after: str | None
) -> tuple[list[Lead], bool]:
    """Up to `first` leads after the cursor, and whether more follow."""
    statement = _page_statement(where, order, after is not None)
    given: dict[str, Any] = {"limit": first + 1}
    if after is not None:
        given["key"], given["after_id"] = decode_cursor(after, order)
    async with driver.connection(engine) as connection:
        rows = await connection.fetch(statement.sql, *statement.arguments(**given))
    return [lead_from_row(row) for row in rows[:first]], len(rows) > first


@functools.lru_cache(maxsize=_COMPILED_FILTERS)
def _count_statement(where: LeadFilter) -> driver.Plain:
    """The matching rows of `lead_search` (one per lead) where it holds the filter's fields; otherwise the leads."""
    table, _, conditions = _counted(where)
    return driver.plain(select(func.count()).select_from(table).where(and_(True, *conditions)))


async def lead_count(engine: AsyncEngine, where: LeadFilter) -> int:
    statement = _count_statement(where)
    async with driver.connection(engine) as connection:
        return int(await connection.fetchval(statement.sql, *statement.arguments()))


@functools.lru_cache(maxsize=_COMPILED_FILTERS)
def _stage_count_statement(where: LeadFilter) -> driver.Plain | None:
    """Per stage, as `_count_statement` counts; None for a filter without conditions (the kept counts answer)."""
    table, stage, conditions = _counted(where)
    if not conditions:
        return None
    return driver.plain(select(stage, func.count()).select_from(table).where(and_(*conditions)).group_by(stage))


async def stage_counts(engine: AsyncEngine, where: LeadFilter) -> dict[Stage, int]:
    """Leads per stage: unfiltered, the counts the writes keep; filtered, counted in the table."""
    statement = _stage_count_statement(where)
    if statement is None:
        return await kept_counts.counts(engine)
    async with driver.connection(engine) as connection:
        rows = await connection.fetch(statement.sql, *statement.arguments())
    counted = {Stage(stage): count for stage, count in rows}
    return {stage: counted.get(stage, 0) for stage in Stage}


@dataclass(frozen=True)
class ChannelCounts:
    source: str
    leads: int
    reached_mql: int
    reached_opportunity: int
    won: int


@functools.cache
def _channel_statement(since: bool, until: bool) -> driver.Plain:
    """Per source, most leads first; open parameters `since` and `until` where bounded."""
    conditions = []
    if since:
        conditions.append(leads.c.created_at >= _open("since", DateTime(timezone=True)))
    if until:
        conditions.append(leads.c.created_at < _open("until", DateTime(timezone=True)))
    count = func.count()
    query = (
        select(
            leads.c.source,
            count.label("leads"),
            func.count(leads.c.reached_mql_at).label("reached_mql"),
            func.count(leads.c.reached_opportunity_at).label("reached_opportunity"),
            count.filter(leads.c.stage == Stage.WON.value).label("won"),
        )
        .where(and_(True, *conditions))
        .group_by(leads.c.source)
        .order_by(count.desc(), leads.c.source)
    )
    return driver.plain(query)


async def channel_counts(engine: AsyncEngine, since: datetime | None, until: datetime | None) -> list[ChannelCounts]:
    """Leads created in [since, until) per source, most leads first: over all time, the counts the writes keep."""
    if since is None and until is None:
        return [ChannelCounts(*row) for row in await kept_counts.funnel(engine)]
    statement = _channel_statement(since is not None, until is not None)
    async with driver.connection(engine) as connection:
        rows = await connection.fetch(statement.sql, *statement.arguments(since=since, until=until))
    return [ChannelCounts(**row) for row in rows]


def _newest_children(table: str, time_column: str) -> str:
    """The newest $2 rows of `table` for each lead of the array $1: one index range scan per lead (LATERAL)."""
    return f"""SELECT c.* FROM unnest($1::uuid[]) AS l(id) CROSS JOIN LATERAL (
              SELECT * FROM {table} WHERE lead_id = l.id ORDER BY {time_column} DESC, id DESC LIMIT $2) c"""


_NEWEST_ACTIVITIES = _newest_children("activities", "occurred_at")
_NEWEST_HISTORY = _newest_children("lead_history", "at")


def _history_entry(row: Mapping[str, Any]) -> HistoryEntry:
    return HistoryEntry(row["at"], row["kind"], row["actor"], row["summary"], row["data"])


async def _grouped_by_lead(
    engine: AsyncEngine, sql: str, lead_ids: Sequence[UUID], first: int, build: Callable[[Mapping[str, Any]], T]
) -> dict[UUID, list[T]]:
    async with driver.connection(engine) as connection:
        rows = await connection.fetch(sql, list(lead_ids), first)
    grouped: dict[UUID, list[T]] = defaultdict(list)
    for row in rows:
        grouped[row["lead_id"]].append(build(row))
    return grouped


async def newest_activities(engine: AsyncEngine, lead_ids: Sequence[UUID], first: int) -> dict[UUID, list[Activity]]:
    """The newest `first` activities of each lead, newest first."""
    return await _grouped_by_lead(engine, _NEWEST_ACTIVITIES, lead_ids, first, activity_from_row)


async def newest_history(engine: AsyncEngine, lead_ids: Sequence[UUID], first: int) -> dict[UUID, list[HistoryEntry]]:
    """The newest `first` timeline entries of each lead, newest first."""
    return await _grouped_by_lead(engine, _NEWEST_HISTORY, lead_ids, first, _history_entry)


_SCORING_ACTIVITIES = driver.plain(
    select(activities)
    .where(
        activities.c.lead_id == _open("lead_id", activities.c.lead_id.type),
        activities.c.cycle == _open("cycle", Integer),
        activities.c.points > 0,
        activities.c.recorded_at <= _open("until", activities.c.recorded_at.type),
    )
    .order_by(activities.c.occurred_at.desc(), activities.c.id.desc())
    .limit(_open("first", Integer))
)


async def scoring_activities(
    engine: AsyncEngine, lead_id: UUID, cycle: int, until: datetime, first: int
) -> list[Activity]:
    """The newest `first` activities of the lead's `cycle` that earned points, recorded by `until`."""
    arguments = _SCORING_ACTIVITIES.arguments(lead_id=lead_id, cycle=cycle, until=until, first=first)
    async with driver.connection(engine) as connection:
        return [activity_from_row(row) for row in await connection.fetch(_SCORING_ACTIVITIES.sql, *arguments)]
