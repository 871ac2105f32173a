"""Rescoring runs in `rescoring_runs`, and the leads a run still has to do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from leadcycle.domain.scoring_models import RescoringRun, RunState
from leadcycle.persistence.tables import leads, rescoring_runs

_RUNNING = rescoring_runs.c.state == RunState.RUNNING.value


def _not_scored_by(model_version: int) -> Any:
    """Leads scored by another version, written as a range pair so the index on the column serves it."""
    column = leads.c.scoring_model_version
    return or_(column < model_version, column > model_version)


class SqlRescoringRuns:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def start(self, model_version: int, actor: str, at: datetime) -> RescoringRun:
        """Supersede the run in progress and begin one for `model_version`, counting the leads to do."""
        await self._connection.execute(
            update(rescoring_runs).where(_RUNNING).values(state=RunState.SUPERSEDED.value, finished_at=at)
        )
        total = select(func.count()).select_from(leads).where(_not_scored_by(model_version)).scalar_subquery()
        row = {"state": RunState.RUNNING.value, "rescored": 0, "changed": 0, "started_at": at, "started_by": actor}
        inserted = await self._connection.execute(
            insert(rescoring_runs).values(model_version=model_version, total=total, **row).returning(rescoring_runs)
        )
        return _run(inserted.mappings().one())

    async def running(self) -> RescoringRun | None:
        """The run in progress, if any."""
        row = (await self._connection.execute(select(rescoring_runs).where(_RUNNING))).mappings().first()
        return _run(row) if row else None

    async def pending(self, model_version: int, first: int) -> list[UUID]:
        """Up to `first` leads not yet scored by `model_version`, in id order."""
        query = select(leads.c.id).where(_not_scored_by(model_version)).order_by(leads.c.id).limit(first)
        return list((await self._connection.execute(query)).scalars())

    async def count(self, run_id: int, *, changed: bool) -> None:
        """One more lead done by the run."""
        await self._connection.execute(
            update(rescoring_runs)
            .where(rescoring_runs.c.id == run_id)
            .values(rescored=rescoring_runs.c.rescored + 1, changed=rescoring_runs.c.changed + int(changed))
        )

    async def finish(self, run_id: int, at: datetime) -> None:
        """Mark a run still in progress done."""
        await self._connection.execute(
            update(rescoring_runs)
            .where(rescoring_runs.c.id == run_id, _RUNNING)
            .values(state=RunState.DONE.value, finished_at=at)
        )

    async def latest_of(self, model_versions: Sequence[int]) -> dict[int, RescoringRun]:
        """The newest run of each of these versions that has one, in one statement."""
        version = rescoring_runs.c.model_version
        query = (
            select(rescoring_runs)
            .where(version.in_(model_versions))
            .ext(distinct_on(version))
            .order_by(version, rescoring_runs.c.id.desc())
        )
        runs = map(_run, (await self._connection.execute(query)).mappings())
        return {run.model_version: run for run in runs}


def _run(row: Mapping[Any, Any]) -> RescoringRun:
    return RescoringRun(
        id=row["id"],
        model_version=row["model_version"],
        state=RunState(row["state"]),
        total=row["total"],
        rescored=row["rescored"],
        changed=row["changed"],
        started_at=row["started_at"],
        started_by=row["started_by"],
        finished_at=row["finished_at"],
    )
