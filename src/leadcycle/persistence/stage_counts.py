"""Per-stage lead counts kept by the writes, so the unfiltered pipeline reads a handful of rows.

Every write that moves a lead in or out of a stage appends its deltas to `stage_count_deltas` in the
lead's own transaction (repositories.py): append-only, so concurrent writers never queue on a
counter row. A stage's count is its folded total in `stage_counts` plus its deltas, read in one
statement, hence from one snapshot: exact, and a committed write is in the next read. The fold
moves the committed deltas into the totals in one short transaction, which readers see whole or
not at all; it runs periodically in every serving process, one at a time.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.stages import Stage
from leadcycle.persistence.periodic import PeriodicJob

log = logging.getLogger(__name__)

_COUNTS = text(
    """
    SELECT stage, sum(n) AS count
    FROM (SELECT stage, count AS n FROM stage_counts UNION ALL SELECT stage, delta FROM stage_count_deltas) c
    GROUP BY stage"""
)
# Folds wait for each other, so each one's snapshot (taken after the lock) sees the previous one's totals.
_FOLD_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('leadcycle.stage_counts.fold', 0))")
_FOLD = text(
    """
    WITH folded AS (DELETE FROM stage_count_deltas RETURNING stage, delta),
    summed AS (SELECT stage, sum(delta) AS delta, count(*) AS deltas FROM folded GROUP BY stage),
    applied AS (
        INSERT INTO stage_counts (stage, count) SELECT stage, delta FROM summed
        ON CONFLICT (stage) DO UPDATE SET count = stage_counts.count + excluded.count
    )
    SELECT coalesce(sum(deltas), 0) FROM summed"""
)
# Totals recounted from the leads, deltas dropped, with writers of leads kept out meanwhile.
RECOUNT = """
    LOCK TABLE leads IN SHARE MODE;
    DELETE FROM stage_count_deltas;
    DELETE FROM stage_counts;
    INSERT INTO stage_counts (stage, count) SELECT stage, count(*) FROM leads GROUP BY stage;"""


def stage_deltas(moves: Iterable[tuple[Stage | None, Stage | None]]) -> list[tuple[str, int]]:
    """The net (stage, delta) of leads leaving `from` and entering `to` (None: no stage), zeros left out."""
    net: Counter[str] = Counter()
    for left, entered in moves:
        if left is not None:
            net[left.value] -= 1
        if entered is not None:
            net[entered.value] += 1
    return sorted((stage, delta) for stage, delta in net.items() if delta)


async def counts(engine: AsyncEngine) -> dict[Stage, int]:
    """Leads per stage, every stage present: the folded totals plus the deltas since, from one snapshot."""
    async with engine.connect() as connection:
        counted = {Stage(stage): int(count) for stage, count in (await connection.execute(_COUNTS)).all()}
    return {stage: counted.get(stage, 0) for stage in Stage}


async def fold(engine: AsyncEngine) -> int:
    """Move every committed delta into the totals in one transaction; returns how many were folded."""
    async with engine.begin() as connection:
        await connection.execute(_FOLD_LOCK)
        return int((await connection.execute(_FOLD)).scalar_one())


class StageCountFoldJob(PeriodicJob):
    """Folds at start and then every `interval_seconds`, until stopped; a failure waits for the next round."""

    def __init__(self, engine: AsyncEngine, interval_seconds: float) -> None:
        super().__init__("stage count fold", self._fold, interval_seconds)
        self._engine = engine

    async def _fold(self, _stopping: Callable[[], bool]) -> None:
        folded = await fold(self._engine)
        log.debug("folded %d stage count deltas", folded)
