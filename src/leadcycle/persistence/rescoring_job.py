"""The background worker of every serving process: rescoring after activations.

Each round first re-reads the active model (so reads in this process judge by a model another
process activated), then works through the run in progress, if any, batch by batch. Several
processes may run it at once: the work left is the leads not yet on the run's version, and a lead
already done is skipped, so they only share the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from leadcycle.domain.rescoring import Rescoring
from leadcycle.domain.use_cases import LeadUseCases

log = logging.getLogger(__name__)


class RescoringJob:
    """Rescoring at start and then every `interval_seconds`, until stopped; a failure waits for the next round."""

    def __init__(self, rescoring: Rescoring, leads: LeadUseCases, interval_seconds: float) -> None:
        self._rescoring = rescoring
        self._leads = leads
        self._interval = interval_seconds
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Let the lead in progress finish, then end (each lead is one short transaction)."""
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._leads.refresh_policy()
                await self._rescoring.run_until_done(self._stopping.is_set)
            except Exception:  # e.g. the database is restarting: try again next round, never die
                log.exception("rescoring failed; trying again")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._stopping.wait()
