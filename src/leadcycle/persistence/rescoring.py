"""Rescoring runs in `rescoring_runs`, and the leads a run still has to do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from leadcycle.domain.scoring_models import RescoringRun, RunState
from leadcycle.persistence.transaction import Transaction

_RUNNING = f"state = '{RunState.RUNNING.value}'"
# Leads scored by another version than $1, written as a range pair so the index on the column serves it.
_SCORED_BY_ANOTHER = "(scoring_model_version < $1 OR scoring_model_version > $1)"
_SUPERSEDE = f"UPDATE rescoring_runs SET state = '{RunState.SUPERSEDED.value}', finished_at = $1 WHERE {_RUNNING}"
_START = f"""
    INSERT INTO rescoring_runs (model_version, total, state, rescored, changed, started_at, started_by)
    SELECT $1, count(*), '{RunState.RUNNING.value}', 0, 0, $2, $3 FROM leads WHERE {_SCORED_BY_ANOTHER}
    RETURNING *
"""
_RUNNING_RUN = f"SELECT * FROM rescoring_runs WHERE {_RUNNING}"
_PENDING = f"SELECT id FROM leads WHERE {_SCORED_BY_ANOTHER} ORDER BY id LIMIT $2"
_COUNT = "UPDATE rescoring_runs SET rescored = rescored + 1, changed = changed + $2 WHERE id = $1"
_FINISH = f"UPDATE rescoring_runs SET state = '{RunState.DONE.value}', finished_at = $2 WHERE id = $1 AND {_RUNNING}"
_LATEST_OF = """
    SELECT DISTINCT ON (model_version) * FROM rescoring_runs WHERE model_version = ANY($1::int[])
    ORDER BY model_version, id DESC
"""


class SqlRescoringRuns:
    def __init__(self, connection: Transaction) -> None:
        self._connection = connection

    async def start(self, model_version: int, actor: str, at: datetime) -> RescoringRun:
        """Supersede the run in progress and begin one for `model_version`, counting the leads to do."""
        await self._connection.execute(_SUPERSEDE, at)
        return _run(await self._connection.fetchrow(_START, model_version, at, actor))

    async def running(self) -> RescoringRun | None:
        """The run in progress, if any."""
        row = await self._connection.fetchrow(_RUNNING_RUN)
        return _run(row) if row else None

    async def pending(self, model_version: int, first: int) -> list[UUID]:
        """Up to `first` leads not yet scored by `model_version`, in id order."""
        return [row["id"] for row in await self._connection.fetch(_PENDING, model_version, first)]

    async def count(self, run_id: int, *, changed: bool) -> None:
        """One more lead done by the run."""
        await self._connection.execute(_COUNT, run_id, int(changed))

    async def finish(self, run_id: int, at: datetime) -> None:
        """Mark a run still in progress done."""
        await self._connection.execute(_FINISH, run_id, at)

    async def latest_of(self, model_versions: Sequence[int]) -> dict[int, RescoringRun]:
        """The newest run of each of these versions that has one, in one statement."""
        runs = map(_run, await self._connection.fetch(_LATEST_OF, list(model_versions)))
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
