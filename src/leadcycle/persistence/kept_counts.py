"""Lead counts kept by the writes, so `pipeline` and the all-time `channelFunnel` read a few rows.

Leads are counted by key: (source, stage, reached MQL, reached opportunity). Every write that
changes a lead's key appends -1 for the old key and +1 for the new to `lead_count_deltas`, in the
lead's own transaction (repositories.py): append-only, so concurrent writers never queue on a
counter row. A key's count is its folded total in `lead_counts` plus its deltas, read in one
statement, hence from one snapshot: exact, and a committed write is in the next read. The fold
moves the committed deltas into the totals in one short transaction, which readers see whole or
not at all; it runs periodically in every serving process, one at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.model import Lead
from leadcycle.domain.stages import Stage
from leadcycle.persistence.periodic import PeriodicJob

log = logging.getLogger(__name__)


class CountKey(NamedTuple):
    """What a lead is counted under."""

    source: str
    stage: str
    reached_mql: bool
    reached_opportunity: bool


_KEY = ", ".join(CountKey._fields)
# Every key's count, as the folded totals plus the deltas since, in one statement.
_KEPT = f"(SELECT {_KEY}, count AS n FROM lead_counts UNION ALL SELECT {_KEY}, delta FROM lead_count_deltas) c"
_BY_STAGE = text(f"SELECT stage, sum(n) AS count FROM {_KEPT} GROUP BY stage")
_BY_SOURCE = text(
    f"""
    SELECT source, sum(n) AS leads, coalesce(sum(n) FILTER (WHERE reached_mql), 0) AS reached_mql,
        coalesce(sum(n) FILTER (WHERE reached_opportunity), 0) AS reached_opportunity,
        coalesce(sum(n) FILTER (WHERE stage = '{Stage.WON.value}'), 0) AS won
    FROM {_KEPT} GROUP BY source HAVING sum(n) > 0 ORDER BY sum(n) DESC, source"""
)
# Folds wait for each other, so each one's snapshot (taken after the lock) sees the previous one's totals.
_FOLD_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('leadcycle.lead_counts.fold', 0))")
_FOLD = text(
    f"""
    WITH folded AS (DELETE FROM lead_count_deltas RETURNING {_KEY}, delta),
    summed AS (SELECT {_KEY}, sum(delta) AS delta, count(*) AS deltas FROM folded GROUP BY {_KEY}),
    applied AS (
        INSERT INTO lead_counts ({_KEY}, count) SELECT {_KEY}, delta FROM summed
        ON CONFLICT ({_KEY}) DO UPDATE SET count = lead_counts.count + excluded.count
    )
    SELECT coalesce(sum(deltas), 0) FROM summed"""
)
# Totals recounted from the leads, deltas dropped, with writers of leads kept out meanwhile.
RECOUNT = f"""
    LOCK TABLE leads IN SHARE MODE;
    DELETE FROM lead_count_deltas;
    DELETE FROM lead_counts;
    INSERT INTO lead_counts ({_KEY}, count)
    SELECT source, stage, reached_mql_at IS NOT NULL, reached_opportunity_at IS NOT NULL, count(*)
    FROM leads GROUP BY 1, 2, 3, 4;"""


def key_of(lead: Lead) -> CountKey:
    return CountKey(
        lead.source, lead.stage.value, lead.reached_mql_at is not None, lead.reached_opportunity_at is not None
    )


async def counts(engine: AsyncEngine) -> dict[Stage, int]:
    """Leads per stage, every stage present, from one snapshot."""
    async with engine.connect() as connection:
        counted = {Stage(stage): int(count) for stage, count in (await connection.execute(_BY_STAGE)).all()}
    return {stage: counted.get(stage, 0) for stage in Stage}


async def funnel(engine: AsyncEngine) -> list[tuple[str, int, int, int, int]]:
    """Per source, most leads first: (source, leads, reached MQL, reached opportunity, won), from one snapshot."""
    async with engine.connect() as connection:
        rows = (await connection.execute(_BY_SOURCE)).all()
    return [(source, *map(int, counted)) for source, *counted in rows]


async def fold(engine: AsyncEngine) -> int:
    """Move every committed delta into the totals in one transaction; returns how many were folded."""
    async with engine.begin() as connection:
        await connection.execute(_FOLD_LOCK)
        return int((await connection.execute(_FOLD)).scalar_one())


class CountFoldJob(PeriodicJob):
    """Folds at start and then every `interval_seconds`, until stopped; a failure waits for the next round."""

    def __init__(self, engine: AsyncEngine, interval_seconds: float) -> None:
        super().__init__("lead count fold", self._fold, interval_seconds)
        self._engine = engine

    async def _fold(self, _stopping: Callable[[], bool]) -> None:
        folded = await fold(self._engine)
        log.debug("folded %d lead count deltas", folded)
