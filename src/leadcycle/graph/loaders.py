"""Per-request DataLoaders: the children of many leads (or scoring versions) in one statement per kind.

Each batch opens its own short-lived connection (in persistence.queries): graphql-core
resolves sibling fields concurrently, and one connection must never serve two at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.dataloader import DataLoader

from leadcycle.domain.model import Activity, HistoryEntry
from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.scoring_models import RescoringRun
from leadcycle.persistence import queries

T = TypeVar("T")
Key = tuple[UUID, int]  # (lead id, how many of the newest)
Fetch = Callable[[AsyncEngine, Sequence[UUID], int], Awaitable[dict[UUID, list[T]]]]


def _newest(engine: AsyncEngine, fetch: Fetch[T]) -> DataLoader[Key, list[T]]:
    async def load(keys: Sequence[Key]) -> list[list[T]]:
        by_limit: dict[int, list[UUID]] = defaultdict(list)
        for lead_id, first in keys:
            by_limit[first].append(lead_id)
        found = {first: await fetch(engine, ids, first) for first, ids in by_limit.items()}
        return [found[first].get(lead_id, []) for lead_id, first in keys]

    return DataLoader(load_fn=load)


def _rescorings(scoring: ScoringModelUseCases) -> DataLoader[int, RescoringRun | None]:
    """The newest rescoring run of each version listed, in one statement for the whole list."""

    async def load(versions: Sequence[int]) -> list[RescoringRun | None]:
        found = await scoring.rescorings_of(versions)
        return [found.get(version) for version in versions]

    return DataLoader(load_fn=load)


class Loaders:
    def __init__(self, engine: AsyncEngine, scoring: ScoringModelUseCases) -> None:
        self.activities: DataLoader[Key, list[Activity]] = _newest(engine, queries.newest_activities)
        self.timeline: DataLoader[Key, list[HistoryEntry]] = _newest(engine, queries.newest_history)
        self.rescoring = _rescorings(scoring)
