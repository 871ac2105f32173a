"""The background worker of every serving process: rescoring after activations, and due leads.

Each round first re-reads the active model (so reads in this process judge by a model another
process activated), works through the rescoring run in progress, if any, batch by batch, then
refreshes the leads whose review time has come (decay). Several processes may run it at once:
work already done is skipped, so they only share it.
"""

from __future__ import annotations

from collections.abc import Callable

from leadcycle.domain.rescoring import Rescoring
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.persistence.periodic import PeriodicJob


class RescoringJob(PeriodicJob):
    """Rescoring at start and then every `interval_seconds`, until stopped; a failure waits for the next round."""

    def __init__(self, rescoring: Rescoring, leads: LeadUseCases, interval_seconds: float) -> None:
        super().__init__("rescoring", self._round, interval_seconds)
        self._rescoring = rescoring
        self._leads = leads

    async def _round(self, stopping: Callable[[], bool]) -> None:
        await self._leads.refresh_policy()
        await self._rescoring.run_until_done(stopping)
        await self._rescoring.refresh_due(stopping)
