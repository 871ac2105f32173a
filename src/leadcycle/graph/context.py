"""What every resolver receives: the request's actor, the use cases, the read side, loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.websockets import WebSocket

from leadcycle.domain.lifecycle import Policy
from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.graph.loaders import Loaders
from leadcycle.persistence.change_feed import ChangeFeed, Position
from leadcycle.persistence.webhook_delivery import WorkerOptions

ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Services:
    """Built once at start-up by the composition root."""

    engine: AsyncEngine
    leads: LeadUseCases
    feed: ChangeFeed
    scoring: ScoringModelUseCases
    webhooks: WorkerOptions = field(default_factory=WorkerOptions)

    @property
    def policy(self) -> Policy:
        return self.leads.policy


@dataclass
class Context:
    """`response` is strawberry's sub-response where its view answers; None where a compiled plan does."""

    request: Request | WebSocket
    services: Services
    actor: str
    response: Any = None
    change_position: Position | None = field(default=None, init=False)
    _loaders: Loaders | None = field(default=None, init=False, repr=False)

    @property
    def loaders(self) -> Loaders:
        """Built on first use: most operations (every mutation) never load children."""
        if self._loaders is None:
            self._loaders = Loaders(self.services.engine, self.services.scoring)
        return self._loaders

    def forget_loaded(self) -> None:
        """Children read so far may be stale (a mutation just ran): later fields read them again.

        A loader caches what it read, and the mutations of one request run one after the other:
        without this, the second of two `recordActivity` fields would answer its lead's activities
        as the first one left them.
        """
        self._loaders = None

    def answer_change(self, position: Position) -> None:
        """A subscription is about to answer the change at `position` on this long-lived context.

        Fresh loaders, as activities and timeline are read live for each change; the position
        labels a shared subscription's result (graph/fanout.py).
        """
        self.forget_loaded()
        self.change_position = position


Info = strawberry.Info[Context, None]
