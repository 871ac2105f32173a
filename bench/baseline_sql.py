"""The baselines' SQL, on plain asyncpg: what our server's statements do, written by hand.

Both baselines call these functions: the raw one directly on a pool in the benchmark process,
the bare Starlette app (baseline_app.py) behind HTTP. A write is the transaction of
persistence/repositories.py: writer lock (advisory lock, then SELECT ... FOR UPDATE), SELECT of
the current cycle's activities and of the active scoring model's version, UPDATE of the lead one
version up, INSERT of the activity, INSERT of the history rows, INSERT of the
change-log row with the lead's snapshot, INSERT of the stage count deltas when the stage changed,
COMMIT. The Python around it does only what the SQL
needs (the new score, breakdown and stage as our domain would compute them for the scenario);
it decides nothing: guards are the product's job, and the baselines are the floor under it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from leadcycle.domain.scoring import DEFAULT_SCORING_MODEL

WARM, HOT = DEFAULT_SCORING_MODEL.warm_threshold, DEFAULT_SCORING_MODEL.hot_threshold
Row = dict[str, Any]

_WRITER_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))"
_LOCKED_LEAD = "SELECT * FROM leads WHERE id = $1 FOR UPDATE"
_CYCLE_ACTIVITIES = """
    SELECT a.* FROM activities a JOIN leads l ON l.id = a.lead_id
    WHERE a.lead_id = $1 AND a.cycle = l.cycle AND (l.cycle = 1 OR a.occurred_at >= l.cycle_started_at)"""
_ACTIVE_MODEL = "SELECT version FROM scoring_models WHERE status = 'ACTIVE'"
_SCORED = """
    UPDATE leads SET version = $3, score = $4, temperature = $5, score_breakdown = $6, stage = $7::varchar,
        stage_changed_at = CASE WHEN stage = $7::varchar THEN stage_changed_at ELSE $9 END,
        reached_mql_at = CASE WHEN $7::varchar = 'MQL' THEN coalesce(reached_mql_at, $9) ELSE reached_mql_at END,
        hot_signal = coalesce($8, hot_signal), updated_at = $9
    WHERE id = $1 AND version = $2"""
_RECYCLED = """
    UPDATE leads SET version = $3, score = $4, temperature = $5, score_breakdown = $6, stage = 'RECYCLED',
        stage_changed_at = $7, cycle = cycle + 1, cycle_started_at = $7, hot_signal = NULL, feedback = NULL,
        loss_reason = NULL, updated_at = $7
    WHERE id = $1 AND version = $2"""
_ACTIVITY = """
    INSERT INTO activities (lead_id, kind, occurred_at, recorded_at, properties, points, cycle, rule)
    VALUES ($1, $2, $3, $3, $4, $5, $6, $7)"""
_HISTORY = """
    INSERT INTO lead_history (lead_id, at, kind, actor, summary, data)
    SELECT $1, $2, h.kind, $3, h.summary, h.data
    FROM unnest($4::text[], $5::text[], $6::jsonb[]) AS h(kind, summary, data)"""
_CHANGE = """
    INSERT INTO lead_changes (lead_id, version, kind, from_stage, to_stage, at, actor, snapshot)
    SELECT id, version, $2, $3, $4, $5, $6, to_jsonb(leads) FROM leads WHERE id = $1"""
_STAGE_DELTAS = """
    INSERT INTO stage_count_deltas (stage, delta)
    SELECT stage, delta FROM unnest($1::varchar[], $2::int[]) WITH ORDINALITY AS r(stage, delta, n) ORDER BY n"""

PAGE = "SELECT * FROM leads ORDER BY created_at DESC, id DESC LIMIT $1"
LEAD = "SELECT * FROM leads WHERE id = $1"
PIPELINE = "SELECT stage, count(*) AS count FROM leads GROUP BY stage"
CHANNEL_FUNNEL = """
    SELECT source, count(*) AS leads, count(reached_mql_at) AS reached_mql,
           count(reached_opportunity_at) AS reached_opportunity, count(*) FILTER (WHERE stage = 'WON') AS won
    FROM leads GROUP BY source ORDER BY count(*) DESC, source"""
# The read side's one batched shape for "newest children of each lead" (persistence/queries.py).
NEWEST_ACTIVITIES = """
    SELECT c.* FROM unnest($1::uuid[]) AS l(id) CROSS JOIN LATERAL (
      SELECT * FROM activities WHERE lead_id = l.id ORDER BY occurred_at DESC, id DESC LIMIT $2) c"""
NEWEST_HISTORY = """
    SELECT c.* FROM unnest($1::uuid[]) AS l(id) CROSS JOIN LATERAL (
      SELECT * FROM lead_history WHERE lead_id = l.id ORDER BY at DESC, id DESC LIMIT $2) c"""

# (rule, points, immediate hot) of the activity kinds the scenarios record
RULES = {"email_open": ("activity.email_open", 1, False), "demo_request": ("activity.demo_request", 20, True)}


@dataclass(frozen=True)
class Written:
    """A committed write: the lead's fields the scenarios ask for, and the time the change carries."""

    lead: Row
    at: datetime


async def setup_connection(connection: asyncpg.Connection) -> None:
    """jsonb as Python values (the product's engine does the same through SQLAlchemy)."""
    for kind in ("json", "jsonb"):
        await connection.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


def temperature_of(score: int, hot: bool) -> str:
    return "HOT" if hot or score >= HOT else "WARM" if score >= WARM else "COLD"


def tally(breakdown: list[Row], rule: str, points: int, kind: str, at: datetime) -> list[Row]:
    previous = next((c for c in breakdown if c["rule"] == rule), None)
    count = previous["count"] + 1 if previous else 1
    entry = {
        "rule": rule,
        "points": points * count,
        "reason": f"{count} x {kind} at {points:+d}",
        "at": at.isoformat(),
        "count": count,
        "behaviour": True,
    }
    return [*(c for c in breakdown if c["rule"] != rule), entry]


async def _write(
    connection: asyncpg.Connection, lead_id: UUID, now: datetime, actor: str, history: Sequence[tuple[str, str, Row]]
) -> None:
    kinds, summaries, data = zip(*history, strict=True)
    await connection.execute(_HISTORY, lead_id, now, actor, list(kinds), list(summaries), list(data))


async def _count_move(connection: asyncpg.Connection, left: str, entered: str) -> None:
    """The stage count deltas of a lead moving from `left` to `entered`, if it moved."""
    if left != entered:
        await connection.execute(_STAGE_DELTAS, [left, entered], [-1, 1])


async def locked_for_scoring(connection: asyncpg.Connection, lead_id: UUID) -> asyncpg.Record:
    """The lead locked for writing, with what scoring reads: its cycle's activities and the active model."""
    await connection.execute(_WRITER_LOCK, str(lead_id))
    lead = await connection.fetchrow(_LOCKED_LEAD, lead_id)
    await connection.fetch(_CYCLE_ACTIVITIES, lead_id)
    await connection.fetchval(_ACTIVE_MODEL)
    return lead


async def record_activity(connection: asyncpg.Connection, lead_id: UUID, kind: str, actor: str) -> Written:
    """One activity: the score moves; an immediate-hot one takes the lead to MQL in two steps."""
    rule, points, hot = RULES[kind]
    now = datetime.now(UTC)
    async with connection.transaction():
        lead = await locked_for_scoring(connection, lead_id)
        breakdown = tally(lead["score_breakdown"], rule, points, kind, now)
        score, stage, version = (
            sum(c["points"] for c in breakdown),
            "MQL" if hot else lead["stage"],
            lead["version"] + 1,
        )
        temperature = temperature_of(score, hot or lead["hot_signal"] is not None)
        history: list[tuple[str, str, Row]] = [
            ("activity", f"{kind} ({points:+d})", {"kind": kind, "occurredAt": now.isoformat(), "points": points}),
            ("score", f"Score {lead['score']} -> {score} ({score - lead['score']:+d})", {"from": lead["score"]}),
        ]
        if hot:
            history += [
                ("transition", f"{lead['stage']} -> WARM (WARM)", {"event": "WARM", "rule": "score.warm_threshold"}),
                ("transition", "WARM -> MQL (MARK_HOT)", {"event": "MARK_HOT", "rule": rule}),
            ]
        await connection.execute(
            _SCORED, lead_id, lead["version"], version, score, temperature, breakdown, stage, rule if hot else None, now
        )
        await connection.execute(_ACTIVITY, lead_id, kind, now, {}, points, lead["cycle"], rule)
        await _write(connection, lead_id, now, actor, history)
        moved = stage != lead["stage"]
        await connection.execute(
            _CHANGE, lead_id, "activity", lead["stage"] if moved else None, stage if moved else None, now, actor
        )
        await _count_move(connection, lead["stage"], stage)
    return Written(
        {"id": str(lead_id), "stage": stage, "temperature": temperature, "score": score, "version": version}, now
    )


async def recycle(connection: asyncpg.Connection, lead_id: UUID, reason: str, actor: str) -> Written:
    """RECYCLE: a new nurture cycle, behaviour points forgotten."""
    now = datetime.now(UTC)
    async with connection.transaction():
        lead = await locked_for_scoring(connection, lead_id)
        breakdown = [c for c in lead["score_breakdown"] if not c["behaviour"]]
        score, version = sum(c["points"] for c in breakdown), lead["version"] + 1
        temperature = temperature_of(score, False)
        transition = {"event": "RECYCLE", "from": lead["stage"], "to": "RECYCLED", "reason": reason}
        history: list[tuple[str, str, Row]] = [
            ("transition", f"{lead['stage']} -> RECYCLED (RECYCLE)", transition),
            ("score", f"Score {lead['score']} -> {score} ({score - lead['score']:+d})", {"from": lead["score"]}),
        ]
        await connection.execute(_RECYCLED, lead_id, lead["version"], version, score, temperature, breakdown, now)
        await _write(connection, lead_id, now, actor, history)
        await connection.execute(_CHANGE, lead_id, "transition", lead["stage"], "RECYCLED", now, actor)
        await _count_move(connection, lead["stage"], "RECYCLED")
    lead = {"id": str(lead_id), "stage": "RECYCLED", "temperature": temperature, "score": score, "version": version}
    return Written(lead, now)


async def leads_page(connection: asyncpg.Connection, first: int) -> list[asyncpg.Record]:
    """Newest leads first, one more than asked for (is there a next page?)."""
    rows: list[asyncpg.Record] = await connection.fetch(PAGE, first + 1)
    return rows


async def newest(connection: asyncpg.Connection, query: str, lead_ids: list[UUID], first: int) -> list[asyncpg.Record]:
    """The newest `first` children (NEWEST_ACTIVITIES or NEWEST_HISTORY) of each lead."""
    rows: list[asyncpg.Record] = await connection.fetch(query, lead_ids, first)
    return rows


async def lead_with_timeline(
    connection: asyncpg.Connection, lead_id: UUID, first: int
) -> tuple[asyncpg.Record | None, list[asyncpg.Record]]:
    lead = await connection.fetchrow(LEAD, lead_id)
    return lead, await newest(connection, NEWEST_HISTORY, [lead_id], first) if lead else []
