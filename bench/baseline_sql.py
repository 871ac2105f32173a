"""The baselines' SQL, on plain asyncpg: what our server's statements do, written by hand.

Both baselines call these functions: the raw one directly on a pool in the benchmark process,
the bare Starlette app (baseline_app.py) behind HTTP. A write has the round trips of
persistence/repositories.py: BEGIN with the writer lock (advisory lock) in one message, the row
locked with its current cycle's activities (none for RECYCLE, which starts a new cycle) and the
active scoring model's version (one SELECT ... FOR UPDATE), one statement that updates the lead
one version up and inserts the activity, the history rows, the change-log row with the lead's
snapshot and the stage count deltas when the stage changed (data-modifying WITH queries), COMMIT.
The Python around it does only what the SQL needs (the new score, breakdown and stage as our
domain would compute them for the scenario); it decides nothing: guards are the product's job,
and the baselines are the floor under it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from leadcycle.domain.scoring import DEFAULT_SCORING_MODEL

WARM, HOT = DEFAULT_SCORING_MODEL.warm_threshold, DEFAULT_SCORING_MODEL.hot_threshold
Row = dict[str, Any]

# BEGIN and the writer lock in one simple-protocol message, as persistence/transaction.py sends them.
_BEGIN_LOCKED = "BEGIN; SELECT pg_advisory_xact_lock(hashtextextended('{lead_id}', 0))"
# The locked row with its current cycle's activities and the active model's version, in one round trip (as
# persistence/repositories.py reads them); without the activities for a write that starts a new cycle (RECYCLE).
_CYCLE_ACTIVITIES = """ARRAY(SELECT a FROM activities a WHERE a.lead_id = l.id AND a.cycle = l.cycle
                      AND (l.cycle = 1 OR a.occurred_at >= l.cycle_started_at)) AS cycle_activities,"""
_LOCKED_LEAD = {
    with_activities: f"""
    SELECT l.*, {activities} (SELECT version FROM scoring_models WHERE status = 'ACTIVE') AS active_model_version
    FROM leads l WHERE l.id = $1 FOR UPDATE"""
    for with_activities, activities in ((True, _CYCLE_ACTIVITIES), (False, ""))
}
# A write is one statement, as ours is: the row (only the columns that change), then its records as
# data-modifying WITH queries; the change-log snapshot is the updated row, built by Postgres.
_RECORDS = """,
    history AS (
        INSERT INTO lead_history (lead_id, at, kind, actor, summary, data)
        SELECT id, updated_at, h.kind, $6, h.summary, h.data
        FROM written, unnest($7::text[], $8::text[], $9::jsonb[]) WITH ORDINALITY AS h(kind, summary, data, n)
        ORDER BY h.n),
    change AS (
        INSERT INTO lead_changes (lead_id, version, kind, from_stage, to_stage, at, actor, snapshot)
        SELECT id, version, $10, $11, $12, updated_at, $6, to_jsonb(written) FROM written),
    counted AS (
        INSERT INTO lead_count_deltas (source, stage, reached_mql, reached_opportunity, delta)
        SELECT r.source, r.stage, r.mql, r.opportunity, r.delta
        FROM unnest($13::varchar[], $14::varchar[], $15::bool[], $16::bool[], $17::int[]) WITH ORDINALITY
            AS r(source, stage, mql, opportunity, delta, n)
        ORDER BY n)
    SELECT count(*) FROM written"""
_SCORED = (
    """
    WITH written AS (
        UPDATE leads SET version = version + 1, score = $3, temperature = $4, score_breakdown = $5,
            stage = $18::varchar,
            stage_changed_at = CASE WHEN stage = $18::varchar THEN stage_changed_at ELSE $19 END,
            reached_mql_at = CASE WHEN $18::varchar = 'MQL' THEN coalesce(reached_mql_at, $19) ELSE reached_mql_at END,
            hot_signal = coalesce($20, hot_signal), updated_at = $19
        WHERE id = $1 AND version = $2 RETURNING *),
    activity AS (
        INSERT INTO activities (lead_id, kind, occurred_at, recorded_at, properties, points, cycle, rule)
        SELECT id, $21, updated_at, updated_at, '{}'::jsonb, $22, cycle, $23 FROM written)"""
    + _RECORDS
)
_RECYCLED = (
    """
    WITH written AS (
        UPDATE leads SET version = version + 1, score = $3, temperature = $4, score_breakdown = $5, stage = 'RECYCLED',
            stage_changed_at = $18, cycle = cycle + 1, cycle_started_at = $18, hot_signal = NULL, feedback = NULL,
            loss_reason = NULL, updated_at = $18
        WHERE id = $1 AND version = $2 RETURNING *)"""
    + _RECORDS
)
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


def _jsonb_in(value: Any) -> bytes:
    return b"\x01" + orjson.dumps(value)


def _jsonb_out(data: bytes) -> Any:
    return orjson.loads(data[1:])


async def setup_connection(connection: asyncpg.Connection) -> None:
    """jsonb as Python values through orjson, in the binary format (so that rows holding jsonb decode too)."""
    await connection.set_type_codec("json", encoder=orjson.dumps, decoder=orjson.loads, schema="pg_catalog")
    await connection.set_type_codec(
        "jsonb", encoder=_jsonb_in, decoder=_jsonb_out, schema="pg_catalog", format="binary"
    )


async def keep_as_is(connection: asyncpg.Connection) -> None:
    """The pools' reset on release: none. asyncpg's default costs a round trip per release, which our unit of work
    does not pay (every transaction here ends before its connection goes back), so the floor must not either."""


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


Change = tuple[str, str | None, str | None]  # the change-log entry's kind, from stage, to stage


def _records(actor: str, history: Sequence[tuple[str, str, Row]], change: Change, lead: asyncpg.Record) -> list[Any]:
    """Parameters $6 to $17 of a write: the actor, the history rows, the change-log entry, the lead count deltas."""
    kinds, summaries, data = zip(*history, strict=True)
    kind, left, entered = change
    if left is not None and entered is not None and left != entered:  # moved: -1 under the old key, +1 under the new
        source, mql = lead["source"], lead["reached_mql_at"] is not None
        opportunity = lead["reached_opportunity_at"] is not None
        deltas = [
            [source, source],
            [left, entered],
            [mql, mql or entered == "MQL"],
            [opportunity, opportunity],
            [-1, 1],
        ]
    else:
        deltas = [[], [], [], [], []]
    return [actor, list(kinds), list(summaries), list(data), kind, left, entered, *deltas]


@contextlib.asynccontextmanager
async def locked_for_scoring(
    connection: asyncpg.Connection, lead_id: UUID, *, cycle_activities: bool = True
) -> AsyncIterator[asyncpg.Record]:
    """A transaction holding the lead locked for writing, with what scoring reads: its cycle's activities (unless
    the write starts a new cycle) and the active model's version. It begins with the lock, commits when the block
    ends and rolls back if it raises."""
    try:
        await connection.execute(_BEGIN_LOCKED.format(lead_id=UUID(str(lead_id))))
        yield await connection.fetchrow(_LOCKED_LEAD[cycle_activities], lead_id)
    except BaseException:
        if connection.is_in_transaction():
            await connection.execute("ROLLBACK")
        raise
    await connection.execute("COMMIT")


async def record_activity(connection: asyncpg.Connection, lead_id: UUID, kind: str, actor: str) -> Written:
    """One activity: the score moves; an immediate-hot one takes the lead to MQL in two steps."""
    rule, points, hot = RULES[kind]
    now = datetime.now(UTC)
    async with locked_for_scoring(connection, lead_id) as lead:
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
        moved = stage != lead["stage"]
        change = ("activity", lead["stage"] if moved else None, stage if moved else None)
        await connection.fetchval(
            _SCORED,
            lead_id,
            lead["version"],
            score,
            temperature,
            breakdown,
            *_records(actor, history, change, lead),
            stage,
            now,
            rule if hot else None,
            kind,
            points,
            rule,
        )
    return Written(
        {"id": str(lead_id), "stage": stage, "temperature": temperature, "score": score, "version": version}, now
    )


async def recycle(connection: asyncpg.Connection, lead_id: UUID, reason: str, actor: str) -> Written:
    """RECYCLE: a new nurture cycle, behaviour points forgotten."""
    now = datetime.now(UTC)
    async with locked_for_scoring(connection, lead_id, cycle_activities=False) as lead:
        breakdown = [c for c in lead["score_breakdown"] if not c["behaviour"]]
        score, version = sum(c["points"] for c in breakdown), lead["version"] + 1
        temperature = temperature_of(score, False)
        transition = {"event": "RECYCLE", "from": lead["stage"], "to": "RECYCLED", "reason": reason}
        history: list[tuple[str, str, Row]] = [
            ("transition", f"{lead['stage']} -> RECYCLED (RECYCLE)", transition),
            ("score", f"Score {lead['score']} -> {score} ({score - lead['score']:+d})", {"from": lead["score"]}),
        ]
        change = ("transition", lead["stage"], "RECYCLED")
        await connection.fetchval(
            _RECYCLED,
            lead_id,
            lead["version"],
            score,
            temperature,
            breakdown,
            *_records(actor, history, change, lead),
            now,
        )
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
