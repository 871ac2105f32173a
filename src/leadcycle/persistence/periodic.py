"""A background task that does a round of work at start and then every interval, until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

# One round of work; it should return soon after `stopping()` becomes true.
Work = Callable[[Callable[[], bool]], Awaitable[None]]


class PeriodicJob:
    """Runs `work` at start and then every `interval_seconds`, until stopped; a failure waits for the next round."""

    def __init__(self, name: str, work: Work, interval_seconds: float) -> None:
        self._name = name
        self._work = work
        self._interval = interval_seconds
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Let the round's transaction in progress finish, then end (each is short)."""
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._work(self._stopping.is_set)
            except Exception:  # e.g. the database is restarting: try again next round, never die
                log.exception("%s failed; trying again next round", self._name)
            self.rounds += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._stopping.wait()
