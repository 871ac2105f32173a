"""The scenarios: what each system is sent, on which leads, and what a right answer looks like.

Ours and the bare baseline answer with the same JSON, so one check serves both. Leads come from
pools drawn from the filled database by stage, so each scenario does what it says:
- recordActivity (score): email_open (+1) on SQL and WON leads, which never move by score;
- recordActivity (auto transition): demo_request on COLD leads, which moves each to MQL through
  the automatic WARM and MARK_HOT steps; a lead can do that once, so ours uses each lead once;
- transitionLead: RECYCLE (with a reason) on MQL, OPPORTUNITY and LOST leads, also once per lead.
The baselines do the same writes without deciding anything (baseline_sql.py), so they run on
leads of their own (WARM, RECYCLED) again and again, leaving ours' supply untouched.
"""

from __future__ import annotations

import functools
import itertools
import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from bench import baseline_sql as sql
from bench.client import graphql, post
from bench.load import Check, RawCall

POOL_SIZE = 50_000
GROUPS: dict[str, tuple[str, ...]] = {
    "steady": ("SQL", "WON"),
    "nurture": ("COLD",),
    "recyclable": ("MQL", "OPPORTUNITY", "LOST"),
    "warm": ("WARM",),
    "recycled": ("RECYCLED",),
    "any": ("COLD", "WARM", "MQL", "SQL", "OPPORTUNITY", "WON", "LOST", "RECYCLED"),
}
LEAD_FIELDS = "id stage temperature score version"
RESULT = f"__typename ... on LeadPayload {{ lead {{ {LEAD_FIELDS} }} }} ... on Problem {{ message }}"
RECORD_ACTIVITY = f"mutation Record($input: ActivityInput!) {{ recordActivity(input: $input) {{ {RESULT} }} }}"
TRANSITION = f"mutation Transition($input: TransitionInput!) {{ transitionLead(input: $input) {{ {RESULT} }} }}"
NODE = (
    "id source stage temperature score version ownerTeam owner createdAt updatedAt "
    "availableTransitions { event toStage allowed blockers { guard message } }"
)
PAGE = "leads(first: 50) {{ edges {{ node {{ {node} }} }} pageInfo {{ endCursor hasNextPage }} }}"
LEADS_PAGE = f"query Page {{ {PAGE.format(node=NODE)} }}"
LEADS_PAGE_ACTIVITIES = (
    f"query PageWithActivities {{ {PAGE.format(node=NODE + ' activities(first: 5) { id kind occurredAt points }')} }}"
)
PIPELINE = "query Pipeline { pipeline { total stages { stage count } } }"
CHANNEL_FUNNEL = (
    "query Funnel { channelFunnel { source leads reachedMql reachedOpportunity won mqlRate opportunityRate winRate } }"
)
LEAD_TIMELINE = (
    "query Lead($id: ID!) { lead(id: $id) { id stage temperature score version company { name } "
    "contact { name email } timeline { at kind actor summary data } } }"
)
RECYCLE_REASON = "予算凍結のため来期に再検討"


class LeadPools:
    """Lead ids by group, drawn at random from the database once; consumed or cycled by scenarios."""

    def __init__(self, ids: dict[str, list[UUID]]) -> None:
        self.ids = ids

    @classmethod
    async def load(cls, connection: asyncpg.Connection, seed: int) -> LeadPools:
        query = "SELECT id FROM leads WHERE stage = ANY($1::text[]) ORDER BY id LIMIT $2"
        ids = {}
        for group, stages in GROUPS.items():
            found = [row["id"] for row in await connection.fetch(query, list(stages), POOL_SIZE)]
            random.Random(f"{seed}{group}").shuffle(found)  # ids are random: ORDER BY id is a random sample
            ids[group] = found
        return cls(ids)

    def sizes(self) -> str:
        return ", ".join(f"{group} {len(ids):,}" for group, ids in self.ids.items())


def _expect(*needles: bytes) -> Check:
    def check(body: bytes) -> str | None:
        if body.startswith(b'{"errors"') or b'"errors":' in body[:200]:
            return "GraphQL errors"
        missing = [n.decode() for n in needles if n not in body]
        return f"expected {', '.join(missing)}" if missing else None

    return check


@dataclass(frozen=True)
class Requests:
    """What each system is sent, made once per scenario so that consumed leads stay consumed."""

    ours: Iterator[bytes]
    bare: Iterator[bytes]
    raw: Iterator[RawCall]


Prepare = Callable[[LeadPools, int, int], Requests]  # (pools, our port, bare port)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    prepare: Prepare
    check: Check


def _body(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _static(ours: bytes, bare: bytes, raw: RawCall) -> Requests:
    return Requests(itertools.repeat(ours), itertools.repeat(bare), itertools.repeat(raw))


def _apart(leads: Sequence[UUID]) -> tuple[Sequence[UUID], Sequence[UUID]]:
    """Leads for bare and for raw, none for both: where ours takes each of its leads once, so do they.

    Cycling over a set the other baseline (or an earlier pass) already wrote would find its pages
    dirty in shared buffers and its leads already moved, which spares Postgres the reads,
    full-page writes, evictions and stage changes that ours pays (RESULTS.md, session 8). They
    cycle only once the supply runs out.
    """
    return leads[::2], leads[1::2]


def _activity_requests(ours_group: str, baseline_groups: tuple[str, ...], kind: str, ours_once: bool) -> Prepare:
    def prepare(pools: LeadPools, port: int, bare_port: int) -> Requests:
        def ours(lead: UUID) -> bytes:
            return graphql(port, RECORD_ACTIVITY, {"input": {"leadId": str(lead), "kind": kind}})

        def bare(lead: UUID) -> bytes:
            return post(bare_port, "/record-activity", _body({"leadId": str(lead), "kind": kind}))

        theirs = [lead for group in baseline_groups for lead in pools.ids[group]]
        bare_leads, raw_leads = _apart(theirs) if ours_once else (theirs, theirs)
        ours_requests = [ours(lead) for lead in pools.ids[ours_group]]
        return Requests(
            iter(ours_requests) if ours_once else itertools.cycle(ours_requests),
            itertools.cycle([bare(lead) for lead in bare_leads]),
            itertools.cycle([functools.partial(_raw_activity, lead, kind) for lead in raw_leads]),
        )

    return prepare


async def _raw_activity(lead_id: UUID, kind: str, connection: asyncpg.Connection) -> None:
    await sql.record_activity(connection, lead_id, kind, "anonymous")


def _transition_requests(pools: LeadPools, port: int, bare_port: int) -> Requests:
    """Ours takes each recyclable lead once (a RECYCLED lead cannot be recycled again); so do the baselines,
    which check no guard: leads of any stage that ours does not take (`_apart`)."""
    ours = [
        graphql(port, TRANSITION, {"input": {"leadId": str(lead), "event": "RECYCLE", "reason": RECYCLE_REASON}})
        for lead in pools.ids["recyclable"]
    ]
    taken_by_ours = set(pools.ids["recyclable"])
    bare_leads, raw_leads = _apart([lead for lead in pools.ids["any"] if lead not in taken_by_ours])
    bare = [
        post(bare_port, "/transition", _body({"leadId": str(lead), "reason": RECYCLE_REASON})) for lead in bare_leads
    ]
    raws = [functools.partial(_raw_recycle, lead) for lead in raw_leads]
    return Requests(iter(ours), itertools.cycle(bare), itertools.cycle(raws))


async def _raw_recycle(lead_id: UUID, connection: asyncpg.Connection) -> None:
    await sql.recycle(connection, lead_id, RECYCLE_REASON, "anonymous")


def _page_requests(activities: int | None) -> Prepare:
    async def raw(connection: asyncpg.Connection) -> None:
        rows = await sql.leads_page(connection, 50)
        if activities is not None:
            await sql.newest(connection, sql.NEWEST_ACTIVITIES, [row["id"] for row in rows[:50]], activities)

    def prepare(_pools: LeadPools, port: int, bare_port: int) -> Requests:
        query = LEADS_PAGE if activities is None else LEADS_PAGE_ACTIVITIES
        body = {"first": 50} | ({"activities": activities} if activities is not None else {})
        return _static(graphql(port, query), post(bare_port, "/leads", _body(body)), raw)

    return prepare


def _aggregate_requests(query: str, path: str, statement: str) -> Prepare:
    async def raw(connection: asyncpg.Connection) -> None:
        await connection.fetch(statement)

    def prepare(_pools: LeadPools, port: int, bare_port: int) -> Requests:
        return _static(graphql(port, query), post(bare_port, path, b"{}"), raw)

    return prepare


def _lead_requests(pools: LeadPools, port: int, bare_port: int) -> Requests:
    leads: Sequence[UUID] = pools.ids["any"][:5_000]
    ours = [graphql(port, LEAD_TIMELINE, {"id": str(lead)}) for lead in leads]
    bare = [post(bare_port, "/lead", _body({"id": str(lead), "timeline": 100})) for lead in leads]
    raws = [functools.partial(_raw_lead, lead) for lead in leads]
    return Requests(itertools.cycle(ours), itertools.cycle(bare), itertools.cycle(raws))


async def _raw_lead(lead_id: UUID, connection: asyncpg.Connection) -> None:
    await sql.lead_with_timeline(connection, lead_id, 100)


PAYLOAD = b'"__typename":"LeadPayload"'
SCENARIOS = (
    Scenario(
        "activity_score",
        "recordActivity, score changes",
        _activity_requests("steady", ("steady",), "email_open", ours_once=False),
        _expect(PAYLOAD),
    ),
    Scenario(
        "activity_transition",
        "recordActivity, auto transition",
        _activity_requests("nurture", ("warm", "recycled"), "demo_request", ours_once=True),
        _expect(PAYLOAD, b'"stage":"MQL"'),
    ),
    Scenario("transition", "transitionLead RECYCLE", _transition_requests, _expect(PAYLOAD, b'"stage":"RECYCLED"')),
    Scenario(
        "leads_page", "leads(first: 50), 10 fields + availableTransitions", _page_requests(None), _expect(b'"edges":[{')
    ),
    Scenario(
        "leads_page_activities",
        "the same + activities(first: 5)",
        _page_requests(5),
        _expect(b'"edges":[{', b'"activities":['),
    ),
    Scenario("pipeline", "pipeline", _aggregate_requests(PIPELINE, "/pipeline", sql.PIPELINE), _expect(b'"total":')),
    Scenario(
        "channel_funnel",
        "channelFunnel",
        _aggregate_requests(CHANNEL_FUNNEL, "/channel-funnel", sql.CHANNEL_FUNNEL),
        _expect(b'"channelFunnel":[{'),
    ),
    Scenario("lead_timeline", "lead(id) with its timeline", _lead_requests, _expect(b'"lead":{', b'"timeline":[')),
)
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
