"""This process's share of webhook work: a dispatcher and a worker, woken by the change feed."""

from __future__ import annotations

import contextlib

from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.persistence.change_feed import ChangeFeed, ChangeRecord
from leadcycle.persistence.webhook_delivery import Worker, WorkerOptions
from leadcycle.persistence.webhook_dispatch import Dispatcher


class Webhooks:
    """Started and stopped by the app's lifespan; safe to run in every process at once."""

    def __init__(self, engine: AsyncEngine, feed: ChangeFeed, options: WorkerOptions) -> None:
        self._feed = feed
        self._worker = Worker(engine, options)
        self._dispatcher = Dispatcher(
            engine, self._worker.wake, self._follow_changes, poll_seconds=options.poll_seconds
        )
        self._subscription: contextlib.ExitStack | None = None

    def start(self) -> None:
        self._worker.start()
        self._dispatcher.start()
        self._follow_changes(endpoints=True)  # until a dispatch finds none

    async def stop(self) -> None:
        """Dispatch no more, then let the posts under way end."""
        self._follow_changes(endpoints=False)
        await self._dispatcher.stop()
        await self._worker.stop()

    def _follow_changes(self, endpoints: bool) -> None:
        """Subscribe to the feed while an endpoint exists: without one the feed need not read the log for us."""
        if endpoints and self._subscription is None:
            self._subscription = contextlib.ExitStack()
            self._subscription.enter_context(self._feed.subscribe(self._on_change))
        elif not endpoints and self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    def _on_change(self, _record: ChangeRecord) -> bool:
        """The feed published a change, so it is final and can be dispatched; nothing is buffered."""
        self._dispatcher.wake()
        return False
