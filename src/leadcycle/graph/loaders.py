"""Per-request DataLoaders: the children of many leads (scoring versions, webhook endpoints) in one statement per kind.

Each batch opens its own short-lived connection (in persistence.queries): graphql-core
resolves sibling fields concurrently, and one connection must never serve two at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.dataloader import DataLoader

from leadcycle.domain.model import Activity, HistoryEntry
from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.scoring_models import RescoringRun
from leadcycle.domain.webhooks import Delivery
from leadcycle.persistence import queries, webhooks
from leadcycle.persistence.webhooks import DeliveryRange

T = TypeVar("T")
A = TypeVar("A", bound=Hashable)
Key = tuple[UUID, int]  # (lead id, how many of the newest)
# The children of many parents that one argument (how many, which ones) selects, by parent id.
Fetch = Callable[[AsyncEngine, Sequence[UUID], A], Awaitable[dict[UUID, list[T]]]]


def _children(engine: AsyncEngine, fetch: Fetch[A, T], *, cache: bool = True) -> DataLoader[tuple[UUID, A], list[T]]:
    """Keys (parent id, argument): one fetch per distinct argument for all the parents asking it.

    Without `cache`, loads still share a batch but each batch reads afresh, for children that the
    mutations of the same request may change.
    """

    async def load(keys: Sequence[tuple[UUID, A]]) -> list[list[T]]:
        by_argument: dict[A, list[UUID]] = defaultdict(list)
        for parent_id, argument in keys:
            by_argument[argument].append(parent_id)
        found = {argument: await fetch(engine, ids, argument) for argument, ids in by_argument.items()}
        return [found[argument].get(parent_id, []) for parent_id, argument in keys]

    return DataLoader(load_fn=load, cache=cache)


def _rescorings(scoring: ScoringModelUseCases) -> DataLoader[int, RescoringRun | None]:
    """The newest rescoring run of each version listed, in one statement for the whole list."""

    async def load(versions: Sequence[int]) -> list[RescoringRun | None]:
        found = await scoring.rescorings_of(versions)
        return [found.get(version) for version in versions]

    return DataLoader(load_fn=load)


class Loaders:
    def __init__(self, engine: AsyncEngine, scoring: ScoringModelUseCases) -> None:
        self.activities: DataLoader[Key, list[Activity]] = _children(engine, queries.newest_activities)
        self.timeline: DataLoader[Key, list[HistoryEntry]] = _children(engine, queries.newest_history)
        # Retrying and deleting change deliveries: a mutation request listing them twice sees each change.
        self.deliveries: DataLoader[tuple[UUID, DeliveryRange], list[Delivery]] = _children(
            engine, webhooks.deliveries_of, cache=False
        )
        self.rescoring = _rescorings(scoring)
