"""Fixtures of the scoring-model tests, which change what every lead of the run's database is scored by."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.rescoring import Rescoring
from leadcycle.persistence.unit_of_work import unit_of_work_factory


def utc_now() -> datetime:
    return datetime.now(UTC)


@pytest_asyncio.fixture
async def models(engine: AsyncEngine) -> AsyncIterator[ScoringModelUseCases]:
    """Model use cases; afterwards version 1 is in force again and every lead rescored by it.

    The run's tests share one database, one test at a time: restoring it keeps the others' scores.
    """
    cases = ScoringModelUseCases(unit_of_work_factory(engine), utc_now)
    yield cases
    if (await cases.active()).version != 1:
        await cases.activate(1, "test-teardown")
        await Rescoring(unit_of_work_factory(engine), utc_now, batch=500).run_until_done()
